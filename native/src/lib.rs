//! Skiff native host (being written).
