//! The committed shell completions under `completions/` match the CLI.
//! Regenerate with `UPDATE_COMPLETIONS=1 cargo nextest run --test it -E 'test(/^completions::/)'`.

use clap_complete::Shell;
use fintechctl::commands::completions::{file_name, script};

#[test]
fn committed_completions_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("UPDATE_COMPLETIONS").is_some();
    let mut stale = Vec::new();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        let path = dir.join(file_name(shell));
        let expected = script(shell);
        if update {
            std::fs::write(&path, &expected).unwrap();
            continue;
        }
        match std::fs::read(&path) {
            Ok(actual) if actual == expected => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    assert!(
        stale.is_empty(),
        "stale completions: {stale:?}; run `UPDATE_COMPLETIONS=1 cargo nextest run --test it -E 'test(/^completions::/)'`"
    );
}

#[test]
fn clap_definition_is_consistent() {
    fintechctl::cli::command().debug_assert();
}
