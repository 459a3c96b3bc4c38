//! Server-to-client encoding: INFO, MSG, HMSG, PING, PONG, +OK, -ERR.

use bytes::{BufMut, BytesMut};

/// `PING\r\n`.
pub const PING: &[u8] = b"PING\r\n";
/// `PONG\r\n`.
pub const PONG: &[u8] = b"PONG\r\n";
/// `+OK\r\n`.
pub const OK: &[u8] = b"+OK\r\n";
/// The line terminator.
pub const CRLF: &[u8] = b"\r\n";

/// Appends `INFO <json> \r\n` (with nats-server's space before CRLF).
pub fn info(out: &mut BytesMut, json: &[u8]) {
    out.reserve(json.len() + 8);
    out.put_slice(b"INFO ");
    out.put_slice(json);
    out.put_slice(b" \r\n");
}

/// Appends `-ERR '<text>'\r\n`.
pub fn err(out: &mut BytesMut, text: &str) {
    out.reserve(text.len() + 9);
    out.put_slice(b"-ERR '");
    out.put_slice(text.as_bytes());
    out.put_slice(b"'\r\n");
}

/// Appends the control line `MSG <subject> <sid> [reply] <size>\r\n`.
pub fn msg_line(out: &mut BytesMut, subject: &[u8], sid: &[u8], reply: Option<&[u8]>, size: usize) {
    let mut digits = itoa_buf();
    let size = fmt_usize(&mut digits, size);
    out.reserve(subject.len() + sid.len() + reply.map_or(0, |r| r.len() + 1) + size.len() + 8);
    out.put_slice(b"MSG ");
    put_args(out, subject, sid, reply);
    out.put_slice(size);
    out.put_slice(CRLF);
}

/// Appends the control line `HMSG <subject> <sid> [reply] <hdr size> <total size>\r\n`.
pub fn hmsg_line(
    out: &mut BytesMut,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    header_len: usize,
    total_len: usize,
) {
    let mut d1 = itoa_buf();
    let mut d2 = itoa_buf();
    let h = fmt_usize(&mut d1, header_len);
    let t = fmt_usize(&mut d2, total_len);
    out.reserve(
        subject.len() + sid.len() + reply.map_or(0, |r| r.len() + 1) + h.len() + t.len() + 10,
    );
    out.put_slice(b"HMSG ");
    put_args(out, subject, sid, reply);
    out.put_slice(h);
    out.put_u8(b' ');
    out.put_slice(t);
    out.put_slice(CRLF);
}

/// Appends a leafnode message line: `LMSG <subject> [reply] <size>\r\n`, or with headers
/// `HMSG <subject> [reply] <hdr> <size>\r\n`; for a queue group,
/// `LMSG <subject> + <reply> <queue> <size>` or `LMSG <subject> | <queue> <size>`
/// (nats-server's `msgHeaderForRouteOrLeaf`).
pub fn leaf_msg_line(
    out: &mut BytesMut,
    subject: &[u8],
    reply: Option<&[u8]>,
    queue: Option<&[u8]>,
    header_len: Option<usize>,
    total_len: usize,
) {
    let mut d1 = itoa_buf();
    let mut d2 = itoa_buf();
    let t = fmt_usize(&mut d2, total_len);
    out.reserve(
        subject.len()
            + reply.map_or(0, |r| r.len() + 3)
            + queue.map_or(0, |q| q.len() + 3)
            + t.len()
            + 20,
    );
    out.put_slice(if header_len.is_some() {
        b"HMSG "
    } else {
        b"LMSG "
    });
    out.put_slice(subject);
    out.put_u8(b' ');
    match (queue, reply) {
        (Some(queue), Some(reply)) => {
            out.put_slice(b"+ ");
            out.put_slice(reply);
            out.put_u8(b' ');
            out.put_slice(queue);
            out.put_u8(b' ');
        }
        (Some(queue), None) => {
            out.put_slice(b"| ");
            out.put_slice(queue);
            out.put_u8(b' ');
        }
        (None, Some(reply)) => {
            out.put_slice(reply);
            out.put_u8(b' ');
        }
        (None, None) => {}
    }
    if let Some(h) = header_len {
        out.put_slice(fmt_usize(&mut d1, h));
        out.put_u8(b' ');
    }
    out.put_slice(t);
    out.put_slice(CRLF);
}

fn put_args(out: &mut BytesMut, subject: &[u8], sid: &[u8], reply: Option<&[u8]>) {
    out.put_slice(subject);
    out.put_u8(b' ');
    out.put_slice(sid);
    out.put_u8(b' ');
    if let Some(reply) = reply {
        out.put_slice(reply);
        out.put_u8(b' ');
    }
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// Formats `n` in decimal into the tail of `buf`, returning the digits.
fn fmt_usize(buf: &mut [u8; 20], mut n: usize) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_nats_server() {
        let mut out = BytesMut::new();
        info(&mut out, b"{}");
        err(&mut out, "Stale Connection");
        msg_line(&mut out, b"foo", b"1", None, 0);
        msg_line(&mut out, b"foo", b"22", Some(b"_INBOX.x"), 1234567890);
        hmsg_line(&mut out, b"a.b", b"9", None, 12, 14);
        assert_eq!(
            &out[..],
            &b"INFO {} \r\n-ERR 'Stale Connection'\r\nMSG foo 1 0\r\nMSG foo 22 _INBOX.x 1234567890\r\nHMSG a.b 9 12 14\r\n"[..]
        );
    }

    #[test]
    fn leaf_lines_match_nats_server() {
        let mut out = BytesMut::new();
        leaf_msg_line(&mut out, b"a", None, None, None, 2);
        leaf_msg_line(&mut out, b"a", Some(b"r"), None, None, 2);
        leaf_msg_line(&mut out, b"a", Some(b"r"), Some(b"q"), None, 2);
        leaf_msg_line(&mut out, b"a", None, Some(b"q"), None, 2);
        leaf_msg_line(&mut out, b"a", Some(b"r"), None, Some(12), 14);
        assert_eq!(
            &out[..],
            &b"LMSG a 2\r\nLMSG a r 2\r\nLMSG a + r q 2\r\nLMSG a | q 2\r\nHMSG a r 12 14\r\n"[..]
        );
    }
}
