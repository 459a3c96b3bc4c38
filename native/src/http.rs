//! A small HTTP/1.1 server side for the monitoring endpoints and the WebSocket upgrade: reads
//! request heads (and `Content-Length` bodies, for the fault control surface), answers with
//! keep-alive and `Content-Length` bodies, nothing else.
//!
//! The request head is parsed by `httparse` (the parser under hyper). A full HTTP crate was
//! not worth it here: hyper needs an adapter layer and its own executor glue to run on smol's
//! single-threaded executor next to the broker, and the smol-native servers (async-h1) are no
//! longer maintained. Monitoring needs a request line, a few headers and a JSON answer, which
//! is this module.

use std::io;
use std::time::{Duration, SystemTime};

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, FutureExt};

use crate::monitor::gofmt;

/// The largest request head we read.
const MAX_HEAD: usize = 16 * 1024;
/// The largest request body we read.
const MAX_BODY: usize = 64 * 1024;
/// Headers parsed per request.
const MAX_HEADERS: usize = 64;
/// How long an idle keep-alive connection (or a slow request) is kept.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// `GET`, `HEAD`, ...
    pub(crate) method: String,
    /// The path without the query.
    pub(crate) path: String,
    /// The decoded query parameters, in order.
    pub(crate) query: Vec<(String, String)>,
    /// Whether the connection stays open after the response.
    pub(crate) keep_alive: bool,
    /// The headers: names in lower case, values as sent.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes; empty without one).
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The first value of query parameter `name`.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// `200`, `400`, ...
    pub(crate) status: u16,
    /// `Content-Type`.
    pub(crate) content_type: &'static str,
    /// The body.
    pub(crate) body: Vec<u8>,
    /// More header lines, each ending in CRLF.
    pub(crate) extra_headers: &'static str,
    /// Send `Access-Control-Allow-Origin: *` (monitoring does; the WebSocket upgrade not).
    pub(crate) cors: bool,
}

impl Response {
    /// `200` with a JSON body.
    pub(crate) fn json(body: String) -> Self {
        Self::with_status(200, "application/json", body)
    }

    /// Any status with a body.
    pub(crate) fn with_status(status: u16, content_type: &'static str, body: String) -> Self {
        Self {
            status,
            content_type,
            body: body.into_bytes(),
            extra_headers: "",
            cors: true,
        }
    }

    /// A 400 for a bad query value: the text alone, as nats-server's handlers write it.
    pub(crate) fn bad_request(text: &str) -> Self {
        Self::with_status(400, "text/plain; charset=utf-8", text.to_owned())
    }

    /// A plain-text error, as Go's `http.Error` writes it (the text and a newline).
    pub(crate) fn error(status: u16, text: &str) -> Self {
        Self::with_status(status, "text/plain; charset=utf-8", format!("{text}\n"))
    }
}

/// What reading a request head produced.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A complete request.
    Request(Request),
    /// The peer closed (or idled out) between requests.
    Closed,
    /// A malformed or oversized request: answer it and close.
    Bad(Response),
}

/// Reads one request head from `stream`; `buf` keeps bytes read past it (pipelining).
pub(crate) async fn read_request(
    stream: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
) -> io::Result<Incoming> {
    let read = async {
        loop {
            if let Some(end) = find_head_end(buf) {
                let head: Vec<u8> = buf.drain(..end).collect();
                let mut incoming = parse_head(&head);
                if let Incoming::Request(request) = &mut incoming {
                    let length = request.header("content-length").map(str::parse::<usize>);
                    match length {
                        None => {}
                        Some(Ok(n)) if n <= MAX_BODY => {
                            while buf.len() < n {
                                let mut chunk = [0u8; 4096];
                                let got = stream.read(&mut chunk).await?;
                                if got == 0 {
                                    return Ok(Incoming::Bad(Response::error(
                                        400,
                                        "400 Bad Request",
                                    )));
                                }
                                buf.extend_from_slice(&chunk[..got]);
                            }
                            request.body = buf.drain(..n).collect();
                        }
                        Some(Ok(_)) => {
                            return Ok(Incoming::Bad(Response::error(
                                413,
                                "413 Request Entity Too Large",
                            )));
                        }
                        Some(Err(_)) => {
                            return Ok(Incoming::Bad(Response::error(400, "400 Bad Request")));
                        }
                    }
                }
                return Ok(incoming);
            }
            if buf.len() > MAX_HEAD {
                return Ok(Incoming::Bad(Response::error(
                    431,
                    "431 Request Header Fields Too Large",
                )));
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(if buf.is_empty() {
                    Incoming::Closed
                } else {
                    Incoming::Bad(Response::error(400, "400 Bad Request"))
                });
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    read.or(async {
        smol::Timer::after(IDLE_TIMEOUT).await;
        Ok(Incoming::Closed)
    })
    .await
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn parse_head(head: &[u8]) -> Incoming {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Incoming::Bad(Response::error(400, "400 Bad Request")),
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Incoming::Bad(Response::error(400, "400 Bad Request"));
    };
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
    };
    // A `Content-Length` body is read with the head; a chunked one is not supported.
    let has_body = header("transfer-encoding").is_some();
    let keep_alive = match header("connection").as_deref() {
        Some(v) if v.contains("close") => false,
        Some(v) if v.contains("keep-alive") => true,
        _ => version == 1,
    } && !has_body; // a body we do not read would be taken for the next request
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Incoming::Request(Request {
        method: method.to_owned(),
        path: percent_decode(path),
        query: parse_query(query),
        keep_alive,
        headers: req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).trim().to_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
    })
}

/// `a=1&b=x%20y` → `[("a","1"),("b","x y")]`; `+` is a space, as Go's `ParseQuery` reads it.
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes `response` (headers only for `HEAD`).
pub(crate) async fn write_response(
    stream: &mut (impl AsyncWrite + Unpin),
    response: &Response,
    head_only: bool,
    keep_alive: bool,
) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n{}Content-Type: {}\r\nDate: {}\r\nContent-Length: {}\r\n",
        response.status,
        reason(response.status),
        if response.cors {
            "Access-Control-Allow-Origin: *\r\n"
        } else {
            ""
        },
        response.content_type,
        gofmt::http_date(SystemTime::now()),
        response.body.len()
    )
    .into_bytes();
    out.extend_from_slice(response.extra_headers.as_bytes());
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(&response.body);
    }
    stream.write_all(&out).await?;
    stream.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> (Incoming, Vec<u8>) {
        smol::block_on(async {
            let mut stream = futures_lite::io::Cursor::new(bytes.to_vec());
            let mut buf = Vec::new();
            let incoming = read_request(&mut stream, &mut buf).await.unwrap();
            (incoming, buf)
        })
    }

    #[test]
    fn reads_a_get_with_a_query_and_keeps_pipelined_bytes() {
        let (incoming, rest) = read(
            b"GET /connz?subs=detail&sort=bytes_to&x=a%20b+c HTTP/1.1\r\nHost: x\r\n\r\nGET /",
        );
        let Incoming::Request(req) = incoming else {
            panic!("{incoming:?}")
        };
        assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/connz"));
        assert_eq!(req.param("subs"), Some("detail"));
        assert_eq!(req.param("sort"), Some("bytes_to"));
        assert_eq!(req.param("x"), Some("a b c"));
        assert!(req.keep_alive);
        assert_eq!(rest, b"GET /");
    }

    #[test]
    fn content_length_bodies_are_read_and_keep_the_connection() {
        let (incoming, rest) =
            read(b"POST /skiff/faults HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /");
        let Incoming::Request(req) = incoming else {
            panic!("{incoming:?}")
        };
        assert_eq!((req.body.as_slice(), req.keep_alive), (&b"abc"[..], true));
        assert_eq!(rest, b"GET /");
        let too_big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(matches!(read(too_big.as_bytes()).0, Incoming::Bad(r) if r.status == 413));
        assert!(
            matches!(read(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nab").0, Incoming::Bad(r) if r.status == 400)
        );
    }

    #[test]
    fn connection_close_http_1_0_and_chunked_bodies_end_keep_alive() {
        for head in [
            &b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"[..],
            b"GET / HTTP/1.0\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            let (Incoming::Request(req), _) = read(head) else {
                panic!()
            };
            assert!(!req.keep_alive, "{}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn bad_and_truncated_requests_get_400_and_eof_is_a_close() {
        assert!(matches!(read(b"NOT HTTP\r\n\r\n").0, Incoming::Bad(r) if r.status == 400));
        assert!(matches!(read(b"GET / HT").0, Incoming::Bad(r) if r.status == 400));
        assert!(matches!(read(b"").0, Incoming::Closed));
        let huge = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; MAX_HEAD + 10]].concat();
        assert!(matches!(read(&huge).0, Incoming::Bad(r) if r.status == 431));
    }

    #[test]
    fn responses_carry_cors_type_and_length() {
        let mut out = Vec::new();
        smol::block_on(write_response(
            &mut out,
            &Response::json("{}".into()),
            false,
            true,
        ))
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Access-Control-Allow-Origin: *\r\n"));
        assert!(text.contains("Content-Type: application/json\r\n"));
        assert!(text.ends_with("Content-Length: 2\r\n\r\n{}"), "{text}");
        let mut head = Vec::new();
        smol::block_on(write_response(
            &mut head,
            &Response::error(404, "404 page not found"),
            true,
            false,
        ))
        .unwrap();
        let text = String::from_utf8(head).unwrap();
        assert!(text.contains("Connection: close\r\n") && text.ends_with("\r\n\r\n"));
    }
}
