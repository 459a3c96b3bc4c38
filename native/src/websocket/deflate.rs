//! permessage-deflate (RFC 7692) without context takeover, as nats-server negotiates it:
//! every message is compressed and inflated on its own.

use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The bytes a sync flush ends with; stripped by the sender, restored by the receiver
/// (RFC 7692 §7.2.1).
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Why a message could not be inflated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// It inflates to more than the limit.
    TooBig,
    /// It is not valid deflate data.
    Corrupt(String),
}

/// Inflates client messages.
#[derive(Debug)]
pub(crate) struct Inflater {
    inner: Decompress,
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Inflater {
    /// A raw-deflate inflater.
    pub(crate) fn new() -> Self {
        Self {
            inner: Decompress::new(false),
        }
    }

    /// Inflates one whole message of at most `limit` bytes.
    ///
    /// # Errors
    /// The message is bigger than `limit` or is not valid deflate data.
    pub(crate) fn inflate(
        &mut self,
        compressed: &[u8],
        limit: usize,
    ) -> Result<BytesMut, InflateError> {
        self.inner.reset(false);
        let mut input = Vec::with_capacity(compressed.len() + SYNC_TAIL.len());
        input.extend_from_slice(compressed);
        input.extend_from_slice(&SYNC_TAIL);
        let mut out: Vec<u8> = Vec::new();
        loop {
            if out.capacity() - out.len() < 1024 {
                // Grow geometrically, never much past the limit.
                let want = out.len().max(4096).min(limit + 1 - out.len().min(limit));
                out.reserve(want.max(1));
            }
            let (in_before, out_before) = (self.inner.total_in(), out.len());
            let consumed_before = in_before as usize;
            let status = self
                .inner
                .decompress_vec(&input[consumed_before..], &mut out, FlushDecompress::Sync)
                .map_err(|e| InflateError::Corrupt(e.to_string()))?;
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            let consumed = self.inner.total_in() as usize;
            let room_left = out.len() < out.capacity();
            if matches!(status, Status::StreamEnd) || (consumed == input.len() && room_left) {
                return Ok(BytesMut::from(&out[..]));
            }
            if self.inner.total_in() == in_before && out.len() == out_before && room_left {
                return Err(InflateError::Corrupt("truncated deflate data".into()));
            }
        }
    }
}

/// Compresses server messages.
#[derive(Debug)]
pub(crate) struct Deflater {
    inner: Compress,
}

impl Default for Deflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Deflater {
    /// A raw-deflate compressor at nats-server's level (best speed).
    pub(crate) fn new() -> Self {
        Self {
            inner: Compress::new(Compression::fast(), false),
        }
    }

    /// Compresses one whole message, without the trailing sync marker.
    pub(crate) fn deflate(&mut self, message: &[u8]) -> Vec<u8> {
        self.inner.reset();
        let mut out = Vec::with_capacity(message.len() / 2 + 64);
        let mut consumed = 0;
        loop {
            if out.len() == out.capacity() {
                out.reserve(out.capacity().max(64));
            }
            let before = self.inner.total_in();
            self.inner
                .compress_vec(&message[consumed..], &mut out, FlushCompress::Sync)
                .expect("compressing into memory cannot fail");
            consumed += (self.inner.total_in() - before) as usize;
            // A sync flush is complete once all input is taken and there was room to spare.
            if consumed == message.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&SYNC_TAIL) {
            out.truncate(out.len() - SYNC_TAIL.len());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_messages_of_every_size() {
        let (mut d, mut i) = (Deflater::new(), Inflater::new());
        for size in [0, 1, 63, 64, 1000, 70_000, 300_000] {
            let message: Vec<u8> = (0..size).map(|n| (n % 251) as u8).collect();
            let compressed = d.deflate(&message);
            assert!(!compressed.ends_with(&SYNC_TAIL) || size == 0);
            assert_eq!(
                i.inflate(&compressed, 1 << 20).unwrap(),
                &message[..],
                "{size}"
            );
        }
    }

    #[test]
    fn rfc_7692_example_inflates() {
        // RFC 7692 §7.2.3.1: "Hello" compressed without context takeover.
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(Inflater::new().inflate(&hello, 100).unwrap(), &b"Hello"[..]);
    }

    #[test]
    fn limits_and_garbage_are_refused() {
        let compressed = Deflater::new().deflate(&vec![b'z'; 100_000]);
        assert!(compressed.len() < 1000);
        assert_eq!(
            Inflater::new().inflate(&compressed, 99_999),
            Err(InflateError::TooBig)
        );
        assert_eq!(
            Inflater::new().inflate(&compressed, 100_000).unwrap().len(),
            100_000
        );
        assert!(matches!(
            Inflater::new().inflate(&[0xFF, 0xFF, 0xFF, 0xFF], 100),
            Err(InflateError::Corrupt(_))
        ));
    }
}
