//! The client conformance kit's adapter for async-nats: connects to the URL given as its only
//! argument, follows line commands on stdin and prints events on stdout, as
//! `tests/clients/README.md` describes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_nats::{Event, HeaderMap, Message, client::RequestErrorKind};
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Prints one line of the adapter protocol.
fn emit(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn describe(message: &Message) -> String {
    let header = message
        .headers
        .as_ref()
        .and_then(|h: &HeaderMap| h.get("X-Kit"))
        .map_or("-".to_owned(), |v| v.to_string());
    format!(
        "msg {} {} {} {}",
        message.subject,
        message.reply.as_ref().map_or("-", |r| r.as_str()),
        header,
        String::from_utf8_lossy(&message.payload)
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: skiff-kit-async-nats URL");
        std::process::exit(2);
    };
    let connects = Arc::new(AtomicUsize::new(0));
    let events = connects.clone();
    let options = async_nats::ConnectOptions::new()
        .name("kit")
        .ping_interval(Duration::from_millis(500))
        .max_reconnects(None)
        .reconnect_delay_callback(|_| Duration::from_millis(100))
        .event_callback(move |event| {
            let connects = events.clone();
            async move {
                match event {
                    Event::Connected => {
                        if connects.fetch_add(1, Ordering::SeqCst) > 0 {
                            emit("reconnected");
                        }
                    }
                    Event::Disconnected => emit("disconnected"),
                    Event::LameDuckMode => emit("lame_duck"),
                    Event::Closed => emit("closed"),
                    other => emit(&format!("error {other}")),
                }
            }
        });
    let client = match options.connect(url.as_str()).await {
        Ok(client) => client,
        Err(e) => {
            emit(&format!("fatal {e}"));
            std::process::exit(1);
        }
    };
    emit("connected");
    let mut subs: HashMap<String, tokio::sync::oneshot::Sender<()>> = HashMap::new();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let words: Vec<&str> = line.splitn(4, ' ').collect();
        let verb = words[0];
        let arg = |i: usize| words.get(i).copied().unwrap_or("");
        let answer = match verb {
            "sub" => match client.subscribe(arg(1).to_owned()).await {
                Ok(mut sub) => {
                    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
                    tokio::spawn(async move {
                        loop {
                            tokio::select! {
                                message = sub.next() => match message {
                                    Some(m) => emit(&describe(&m)),
                                    None => break,
                                },
                                _ = &mut stopped => {
                                    let _ = sub.unsubscribe().await;
                                    break;
                                }
                            }
                        }
                    });
                    subs.insert(arg(1).to_owned(), stop);
                    Ok(String::new())
                }
                Err(e) => Err(e.to_string()),
            },
            "unsub" => match subs.remove(arg(1)) {
                Some(stop) => {
                    let _ = stop.send(());
                    Ok(String::new())
                }
                None => Err("no such subscription".into()),
            },
            "pub" => client
                .publish(arg(1).to_owned(), arg(2).to_owned().into())
                .await
                .map(|()| String::new())
                .map_err(|e| e.to_string()),
            "pubsize" => {
                let size: usize = arg(2).parse().unwrap_or(0);
                client
                    .publish(arg(1).to_owned(), "x".repeat(size).into())
                    .await
                    .map(|()| String::new())
                    .map_err(|e| e.to_string())
            }
            "burst" => {
                let count: usize = arg(2).parse().unwrap_or(0);
                let mut result = Ok(String::new());
                for i in 0..count {
                    if let Err(e) = client
                        .publish(arg(1).to_owned(), i.to_string().into())
                        .await
                    {
                        result = Err(e.to_string());
                        break;
                    }
                }
                result
            }
            "request" => {
                let timeout = Duration::from_millis(arg(3).parse().unwrap_or(2000));
                let request = async_nats::Request::new()
                    .payload(arg(2).to_owned().into())
                    .timeout(Some(timeout));
                match client.send_request(arg(1).to_owned(), request).await {
                    Ok(reply) => Ok(String::from_utf8_lossy(&reply.payload).into_owned()),
                    Err(e) if e.kind() == RequestErrorKind::NoResponders => {
                        Err("no_responders".into())
                    }
                    Err(e) if e.kind() == RequestErrorKind::TimedOut => Err("timeout".into()),
                    Err(e) => Err(e.to_string()),
                }
            }
            "flush" => client
                .flush()
                .await
                .map(|()| String::new())
                .map_err(|e| e.to_string()),
            "drain" => {
                let result = client
                    .drain()
                    .await
                    .map(|()| String::new())
                    .map_err(|e| e.to_string());
                // drain() returns once the work is queued; wait for the connection to close.
                for _ in 0..100 {
                    if client.connection_state() == async_nats::connection::State::Disconnected {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                result
            }
            "close" => {
                emit("ok close");
                return;
            }
            _ => Err(format!("unknown command {verb:?}")),
        };
        match answer {
            Ok(detail) if detail.is_empty() => emit(&format!("ok {verb}")),
            Ok(detail) => emit(&format!("ok {verb} {detail}")),
            Err(e) => emit(&format!("err {verb} {e}")),
        }
    }
}
