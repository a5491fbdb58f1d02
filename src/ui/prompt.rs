//! Questions asked at the terminal. Every one answers "no" without a
//! terminal unless `--yes` was given: CI never hangs on a prompt.

use std::io::IsTerminal;

use crate::exit::Failure;

/// A yes/no question, default no. Without a terminal and without `--yes`
/// it refuses with `unattended` (exit 4); a "no" refuses with `declined`.
pub fn yes_no(yes: bool, question: &str, unattended: &str, declined: &str) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::refused(unattended));
    }
    let answer = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| Failure::refused(format!("no confirmation: {e}")))?;
    if answer {
        Ok(())
    } else {
        Err(Failure::refused(declined))
    }
}

/// Asks for `word` to be typed, as production changes need.
pub fn type_to_confirm(prompt: &str, word: &str) -> Result<(), Failure> {
    let typed: String = dialoguer::Input::new()
        .with_prompt(prompt)
        .allow_empty(true)
        .interact_text()
        .map_err(|e| Failure::refused(format!("no confirmation: {e}")))?;
    if typed.trim() != word {
        return Err(Failure::refused(format!(
            "not confirmed (typed `{}`, expected `{word}`)",
            typed.trim()
        )));
    }
    Ok(())
}
