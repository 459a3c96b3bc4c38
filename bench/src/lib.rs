//! Skiff load generator (being written).
