//! The NATS client protocol on the wire: client operations, the byte parser and the encoder.

pub mod encode;
mod op;
mod parser;

pub use op::{ClientOp, ParseError};
pub use parser::{Parser, ParserLimits};
