//! Skiff conformance suite (being written).
