//! Strict schema validation of rendered objects (in progress).
