//! fintechctl: the FinTech AI platform's operations runbook as one binary.
//!
//! `main.rs` parses and dispatches; the domain modules (`environment`,
//! `render`, `cluster`) never print: they return values or report through
//! traits that `ui` implements.

pub mod cluster;
pub mod render;
pub mod environment;
pub mod secrets;
