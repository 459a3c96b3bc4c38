//! Skiff native host (being written).

pub mod cli;
pub mod conf;
pub mod options;
