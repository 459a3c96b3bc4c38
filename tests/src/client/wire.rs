//! Just enough of the NATS wire to judge a client: its operations parsed from the bytes the
//! tap recorded, and a raw connection the kit uses to publish into Skiff directly.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One operation a client sent.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientOp {
    /// `CONNECT {json}`.
    Connect(serde_json::Value),
    /// `PUB` (`headers` false) or `HPUB` (true), with the subject and total size.
    Pub {
        /// The subject.
        subject: String,
        /// Whether it was HPUB.
        headers: bool,
        /// The total size (headers and payload).
        size: usize,
    },
    /// `SUB subject [queue] sid`.
    Sub {
        /// The subject.
        subject: String,
        /// The sid.
        sid: String,
    },
    /// `UNSUB sid [max]`.
    Unsub {
        /// The sid.
        sid: String,
    },
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// Anything else, as its control line.
    Other(String),
}

/// Parses a client's byte stream into operations (an incomplete tail is ignored).
pub fn parse_client_ops(bytes: &[u8]) -> Vec<ClientOp> {
    let mut ops = Vec::new();
    let mut rest = bytes;
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = &rest[end + 2..];
        let mut words = line.split_ascii_whitespace();
        let verb = words.next().unwrap_or("").to_ascii_uppercase();
        let args: Vec<&str> = words.collect();
        let op = match verb.as_str() {
            "CONNECT" => {
                let json = line.split_once(' ').map_or("{}", |(_, json)| json);
                ClientOp::Connect(serde_json::from_str(json).unwrap_or(serde_json::Value::Null))
            }
            "PUB" | "HPUB" => {
                let size: usize = args.last().and_then(|s| s.parse().ok()).unwrap_or(0);
                if rest.len() < size + 2 {
                    break;
                }
                rest = &rest[size + 2..];
                ClientOp::Pub {
                    subject: args.first().unwrap_or(&"").to_string(),
                    headers: verb == "HPUB",
                    size,
                }
            }
            "SUB" => ClientOp::Sub {
                subject: args.first().unwrap_or(&"").to_string(),
                sid: args.last().unwrap_or(&"").to_string(),
            },
            "UNSUB" => ClientOp::Unsub {
                sid: args.first().unwrap_or(&"").to_string(),
            },
            "PING" => ClientOp::Ping,
            "PONG" => ClientOp::Pong,
            _ => ClientOp::Other(line),
        };
        ops.push(op);
    }
    ops
}

/// The subjects a client's operations leave subscribed (SUBs minus UNSUBs, by sid).
pub fn subscribed_subjects(ops: &[ClientOp]) -> Vec<String> {
    let mut subs: Vec<(String, String)> = Vec::new();
    for op in ops {
        match op {
            ClientOp::Sub { subject, sid } => subs.push((sid.clone(), subject.clone())),
            ClientOp::Unsub { sid } => subs.retain(|(s, _)| s != sid),
            _ => {}
        }
    }
    subs.into_iter().map(|(_, subject)| subject).collect()
}

/// The kit's own connection to Skiff (not through the tap), for publishing.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl RawClient {
    /// Connects and completes the handshake.
    ///
    /// # Errors
    /// The connection failed or the server did not answer.
    pub fn connect(addr: SocketAddr) -> Result<Self, String> {
        let stream = TcpStream::connect(addr).map_err(|e| format!("kit connect: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
        let mut raw = Self { stream, reader };
        raw.send(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1,\"name\":\"kit-publisher\"}\r\n")?;
        raw.sync()?;
        Ok(raw)
    }

    /// Writes raw protocol bytes.
    ///
    /// # Errors
    /// The write failed.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("kit write: {e}"))
    }

    /// Publishes `payload` on `subject`.
    ///
    /// # Errors
    /// The write failed.
    pub fn publish(&mut self, subject: &str, payload: &[u8]) -> Result<(), String> {
        let mut op = format!("PUB {subject} {}\r\n", payload.len()).into_bytes();
        op.extend_from_slice(payload);
        op.extend_from_slice(b"\r\n");
        self.send(&op)
    }

    /// Publishes `payload` on `subject` with the header `X-Kit: value`.
    ///
    /// # Errors
    /// The write failed.
    pub fn publish_with_header(
        &mut self,
        subject: &str,
        value: &str,
        payload: &[u8],
    ) -> Result<(), String> {
        let headers = format!("NATS/1.0\r\nX-Kit: {value}\r\n\r\n");
        let mut op = format!(
            "HPUB {subject} {} {}\r\n{headers}",
            headers.len(),
            headers.len() + payload.len()
        )
        .into_bytes();
        op.extend_from_slice(payload);
        op.extend_from_slice(b"\r\n");
        self.send(&op)
    }

    /// Subscribes to `subject` (sid 1) and waits until the server has it.
    ///
    /// # Errors
    /// The write failed or no PONG came.
    pub fn subscribe(&mut self, subject: &str) -> Result<(), String> {
        self.send(format!("SUB {subject} 1\r\n").as_bytes())?;
        self.sync()
    }

    /// Reads until a MSG with `payload` arrives (within the read timeout).
    ///
    /// # Errors
    /// The connection ended or timed out first.
    pub fn expect_payload(&mut self, payload: &[u8]) -> Result<(), String> {
        let mut line = String::new();
        loop {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => return Err("kit connection closed".into()),
                Ok(_) if line.starts_with("MSG ") => {
                    let size: usize = line
                        .split_ascii_whitespace()
                        .last()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0u8; size + 2];
                    std::io::Read::read_exact(&mut self.reader, &mut body)
                        .map_err(|e| format!("kit read: {e}"))?;
                    if &body[..size] == payload {
                        return Ok(());
                    }
                }
                Ok(_) if line.starts_with("PING") => self.send(b"PONG\r\n")?,
                Ok(_) => {}
                Err(_) => {
                    return Err(format!(
                        "the message {:?} never reached the server",
                        String::from_utf8_lossy(payload)
                    ));
                }
            }
        }
    }

    /// Sends PING and waits for its PONG (everything before it was processed).
    ///
    /// # Errors
    /// No PONG came.
    pub fn sync(&mut self) -> Result<(), String> {
        self.send(b"PING\r\n")?;
        let mut line = String::new();
        loop {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => return Err("kit connection closed".into()),
                Ok(_) if line.starts_with("PONG") => return Ok(()),
                Ok(_) if line.starts_with("-ERR") => {
                    return Err(format!("kit got {}", line.trim()));
                }
                Ok(_) => {}
                Err(e) => return Err(format!("kit read: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_client_stream_skipping_payloads() {
        let ops = parse_client_ops(
            b"CONNECT {\"verbose\":false}\r\nSUB a.> 1\r\nPUB x 5\r\nhello\r\nPING\r\nHPUB y 12 14\r\nNATS/1.0\r\n\r\nhi\r\nUNSUB 1\r\nPONG\r\nPUB z 3\r\nab",
        );
        assert_eq!(
            ops,
            vec![
                ClientOp::Connect(serde_json::json!({"verbose": false})),
                ClientOp::Sub {
                    subject: "a.>".into(),
                    sid: "1".into()
                },
                ClientOp::Pub {
                    subject: "x".into(),
                    headers: false,
                    size: 5
                },
                ClientOp::Ping,
                ClientOp::Pub {
                    subject: "y".into(),
                    headers: true,
                    size: 14
                },
                ClientOp::Unsub { sid: "1".into() },
                ClientOp::Pong,
            ]
        );
    }

    #[test]
    fn subscribed_subjects_follow_unsubs() {
        let ops = parse_client_ops(b"SUB a 1\r\nSUB b q 2\r\nUNSUB 1\r\n");
        assert_eq!(subscribed_subjects(&ops), vec!["b".to_string()]);
    }
}
