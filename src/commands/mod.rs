//! One module per command: each takes its resolved settings (see
//! [`crate::settings`]), runs its operation (see [`crate::ops`]) with the
//! terminal's reporter and confirmer, and presents the result through the
//! [`Printer`](crate::ui::Printer).

pub mod backup;
pub mod canary;
pub mod completions;
pub mod debug;
pub mod deploy;
pub mod diff;
pub mod health;
pub mod history;
pub mod migrate;
pub mod render;
pub mod restore;
pub mod rollback;
pub mod verify;

/// A multi-threaded runtime for one command. Signals are not wired here:
/// a command that can be stopped calls `Stop::on_signals` inside it.
pub fn runtime() -> Result<tokio::runtime::Runtime, crate::exit::Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::exit::Failure::failed(format!("starting the async runtime: {e}")))
}
