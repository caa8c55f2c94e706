//! Prompts on the terminal. Each one refuses cleanly (a usage error naming the flag to use)
//! when there is no terminal, instead of blocking on a pipe or reading a script's input as
//! an answer. Secrets are read hidden and never echoed.

use std::io::IsTerminal;

use dialoguer::{Confirm, Input, Password, Select, theme::SimpleTheme};

use crate::error::{Error, Result};

fn tty_or(flag_hint: &str) -> Result<()> {
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "cannot ask without a terminal; {flag_hint}"
        )))
    }
}

fn prompt_error(e: dialoguer::Error) -> Error {
    Error::usage(format!("prompt failed: {e}"))
}

/// Yes/no question; `default` is what Enter means.
pub fn confirm(question: &str, default: bool, flag_hint: &str) -> Result<bool> {
    tty_or(flag_hint)?;
    Confirm::with_theme(&SimpleTheme)
        .with_prompt(question)
        .default(default)
        .interact()
        .map_err(prompt_error)
}

/// Hidden input; with `confirm_prompt`, asks twice until both entries agree.
pub fn password(prompt: &str, confirm_prompt: Option<&str>, flag_hint: &str) -> Result<String> {
    tty_or(flag_hint)?;
    let mut p = Password::with_theme(&SimpleTheme);
    p = p.with_prompt(prompt).allow_empty_password(true);
    if let Some(again) = confirm_prompt {
        p = p.with_confirmation(again, "Passphrases do not match.  Try again.");
    }
    p.interact().map_err(prompt_error)
}

/// Free text with a default shown in the prompt (Enter keeps it).
pub fn text(prompt: &str, default: &str, flag_hint: &str) -> Result<String> {
    tty_or(flag_hint)?;
    Input::<String>::with_theme(&SimpleTheme)
        .with_prompt(prompt)
        .default(default.to_string())
        .show_default(false)
        .interact_text()
        .map_err(prompt_error)
}

/// Pick one of `items`; returns its index.
pub fn select(prompt: &str, items: &[String], flag_hint: &str) -> Result<usize> {
    tty_or(flag_hint)?;
    Select::with_theme(&SimpleTheme)
        .with_prompt(prompt)
        .items(items)
        .default(0)
        .interact()
        .map_err(prompt_error)
}
