//! `skiff --signal <cmd>[=<pid|pidfile>]`: send a signal to a running server.

use std::process::ExitCode;

use crate::cli::{Signal, SignalTarget};

/// Sends `signal` to the target process with the system's `kill` command.
pub(super) fn send(signal: Signal, target: &SignalTarget) -> ExitCode {
    let pid = match resolve(target) {
        Ok(pid) => pid,
        Err(e) => {
            eprintln!("skiff: {e}");
            return ExitCode::FAILURE;
        }
    };
    let name = signal.unix_name().trim_start_matches("SIG");
    match std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
    {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!("skiff: could not signal process {pid}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("skiff: could not run kill: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The pid to signal.
fn resolve(target: &SignalTarget) -> Result<u32, String> {
    match target {
        SignalTarget::Pid(pid) => Ok(*pid),
        SignalTarget::PidFile(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("could not read pid file {}: {e}", path.display()))?
            .trim()
            .parse()
            .map_err(|_| format!("invalid pid in {}", path.display())),
        SignalTarget::Unspecified => find_running(),
    }
}

/// The one running `skiff` process, as nats-server finds its own with `pgrep`.
fn find_running() -> Result<u32, String> {
    let out = std::process::Command::new("pgrep")
        .args(["-x", "skiff"])
        .output()
        .map_err(|e| format!("unable to resolve pid, try providing one: {e}"))?;
    let own = std::process::id();
    let pids: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|&p| p != own)
        .collect();
    match pids.as_slice() {
        [pid] => Ok(*pid),
        [] => Err("no skiff processes running".to_owned()),
        _ => Err("multiple skiff processes running, provide a pid".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_pid_and_pid_file() {
        assert_eq!(resolve(&SignalTarget::Pid(42)), Ok(42));
        let path = std::env::temp_dir().join(format!("skiff-sigcmd-{}", std::process::id()));
        std::fs::write(&path, "123\n").unwrap();
        assert_eq!(resolve(&SignalTarget::PidFile(path.clone())), Ok(123));
        std::fs::remove_file(path).unwrap();
    }
}
