//! Unix signals, translated once each into a core request.
//!
//! `SIGINT` and `SIGTERM` ask for a graceful shutdown (a second one closes without flushing;
//! `SIGTERM` is ignored during lame duck mode so it can finish), `SIGUSR2` enters lame duck mode,
//! `SIGHUP` reloads the configuration through the injected reload function. The library never
//! exits the process: the daemon exits once the server has stopped.

use std::io;
use std::sync::Arc;

use async_signal::Signal;
use futures_lite::StreamExt;

use crate::server::ReloadFn;
use crate::server::driver::Request;
use crate::server::shared::Shared;

/// The installed handlers; dropping them restores the previous dispositions.
#[derive(Debug)]
pub(crate) struct Signals(async_signal::Signals);

impl Signals {
    /// Starts catching the signals the server handles.
    pub(crate) fn install() -> io::Result<Self> {
        async_signal::Signals::new([
            Signal::Int,
            Signal::Term,
            Signal::Hup,
            Signal::Usr1,
            Signal::Usr2,
        ])
        .map(Self)
    }
}

/// What one signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Shutdown,
    ShutdownNow,
    LameDuck,
    Reload,
    ReopenLog,
    Ignore,
}

/// What earlier signals did, for the ones whose meaning depends on it.
#[derive(Debug, Default)]
struct History {
    stopping: bool,
    lame_duck: bool,
}

impl History {
    /// Translates one signal, updating the history.
    fn translate(&mut self, signal: Signal) -> Action {
        match signal {
            Signal::Term if self.lame_duck => Action::Ignore,
            Signal::Int | Signal::Term => {
                let action = if self.stopping {
                    Action::ShutdownNow
                } else {
                    Action::Shutdown
                };
                self.stopping = true;
                action
            }
            Signal::Usr2 => {
                self.lame_duck = true;
                Action::LameDuck
            }
            Signal::Hup => Action::Reload,
            Signal::Usr1 => Action::ReopenLog,
            _ => Action::Ignore,
        }
    }
}

/// nats-server's name for a signal in `Trapped "<name>" signal`.
fn name(signal: Signal) -> &'static str {
    match signal {
        Signal::Int => "interrupt",
        Signal::Term => "terminated",
        Signal::Hup => "hangup",
        Signal::Usr1 => "user defined signal 1",
        Signal::Usr2 => "user defined signal 2",
        _ => "unknown",
    }
}

/// Handles signals until the task is dropped.
pub(crate) async fn run(signals: Signals, shared: Arc<Shared>, reload: Option<ReloadFn>) {
    let mut signals = signals.0;
    let mut history = History::default();
    while let Some(Ok(signal)) = signals.next().await {
        let action = history.translate(signal);
        tracing::info!("Trapped \"{}\" signal", name(signal));
        match action {
            Action::Shutdown => shared.request(Request::Shutdown),
            Action::ShutdownNow => shared.request(Request::ShutdownNow),
            Action::LameDuck => shared.request(Request::LameDuck),
            Action::Reload => reload_config(&shared, reload.as_ref()).await,
            Action::ReopenLog => tracing::debug!("Log file reopening is not supported"),
            Action::Ignore => tracing::debug!("Ignoring signal"),
        }
    }
}

/// Builds the new configuration and hands it to the driver.
async fn reload_config(shared: &Shared, reload: Option<&ReloadFn>) {
    let Some(reload) = reload else {
        tracing::error!("Failed to reload server configuration: no configuration file");
        return;
    };
    // A reload function that panics (a bug) must not take the running server down with it.
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reload()))
        .unwrap_or_else(|_| Err("the configuration reader panicked".to_owned()));
    match built {
        Ok(config) => {
            let (tx, rx) = async_channel::bounded(1);
            shared.request(Request::Reload(Box::new(config), tx));
            let _ = rx.recv().await;
        }
        Err(e) => tracing::error!("Failed to reload server configuration: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupt_twice_hurries_the_shutdown() {
        let mut h = History::default();
        assert_eq!(h.translate(Signal::Int), Action::Shutdown);
        assert_eq!(h.translate(Signal::Int), Action::ShutdownNow);
        assert_eq!(h.translate(Signal::Term), Action::ShutdownNow);
    }

    #[test]
    fn term_is_ignored_in_lame_duck_mode() {
        let mut h = History::default();
        assert_eq!(h.translate(Signal::Usr2), Action::LameDuck);
        assert_eq!(h.translate(Signal::Term), Action::Ignore);
        assert_eq!(h.translate(Signal::Int), Action::Shutdown);
    }

    #[test]
    fn hup_reloads_and_usr1_reopens() {
        let mut h = History::default();
        assert_eq!(h.translate(Signal::Hup), Action::Reload);
        assert_eq!(h.translate(Signal::Usr1), Action::ReopenLog);
        assert_eq!(name(Signal::Int), "interrupt");
        assert_eq!(name(Signal::Term), "terminated");
    }
}
