//! fintechctl: the FinTech AI platform's operations runbook as one binary.
//!
//! `main.rs` parses and dispatches; `commands` read their arguments and
//! resolve settings; the domain modules (`environment`, `render`, `release`,
//! `secrets`, `cluster`) never print: they return values or report through
//! traits that `ui` implements.

pub mod cli;
pub mod cloud;
pub mod cluster;
pub mod commands;
pub mod envfile;
pub mod environment;
pub mod exit;
pub mod release;
pub mod render;
pub mod secrets;
pub mod ui;
