//! The byte parser for client operations. (Being written: see the parser helper's task.)

use bytes::BytesMut;

use super::{ClientOp, ParseError};

/// Limits the parser enforces while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserLimits {
    /// Longest control line accepted (nats-server `max_control_line`, default 4096).
    pub max_control_line: usize,
    /// Largest PUB/HPUB size accepted (nats-server `max_payload`, default 1 MiB).
    pub max_payload: usize,
}

impl Default for ParserLimits {
    fn default() -> Self {
        Self {
            max_control_line: 4096,
            max_payload: 1024 * 1024,
        }
    }
}

/// Incremental parser for one connection's byte stream.
#[derive(Debug, Default)]
pub struct Parser {
    limits: ParserLimits,
}

impl Parser {
    /// A parser enforcing `limits`.
    pub fn new(limits: ParserLimits) -> Self {
        Self { limits }
    }

    /// Changes the limits (config reload); they apply from the next control line.
    pub fn set_limits(&mut self, limits: ParserLimits) {
        self.limits = limits;
    }

    /// Parses the next complete operation from the front of `buf`, removing its bytes.
    ///
    /// Returns `Ok(None)` when `buf` holds only part of an operation (those bytes stay in
    /// `buf`; call again after appending more). After an error the connection must be closed.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ParseError> {
        let _ = buf;
        todo!("parser")
    }
}
