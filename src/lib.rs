//! fintechctl: the FinTech AI platform's operations runbook as one binary.
//!
//! `main.rs` parses, `settings` resolves every flag, variable and file
//! into one settings struct per command before anything runs, `commands`
//! run their operation and present the result, `ops` orchestrate (taking
//! settings, a reporter and a confirmer, returning typed results), and the
//! domain modules (`environment`, `render`, `release`, `secrets`,
//! `cluster`, `cloud`, `redact`) never print: they return values or report
//! through traits that `ui` implements.

pub mod backup;
pub mod canary;
pub mod checks;
pub mod cli;
pub mod cloud;
pub mod cluster;
pub mod commands;
pub mod envfile;
pub mod environment;
pub mod exit;
pub mod files;
pub mod human;
pub mod identity;
pub mod interrupt;
pub mod migration_lint;
pub mod names;
pub mod ops;
pub mod quantity;
pub mod redact;
pub mod release;
pub mod render;
pub mod secrets;
pub mod settings;
pub mod ui;
pub mod yaml;
