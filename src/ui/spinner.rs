//! A spinner that exists only on a terminal. Off a TTY it is a no-op so logs and pipes never
//! receive carriage-return animation.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Spinner {
    bar: Option<ProgressBar>,
    message: String,
}

impl Spinner {
    pub(crate) fn start(visible: bool, message: String) -> Self {
        let bar = visible.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(message.clone());
            // Draw only after ~100 ms: quick work should not flash a spinner.
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Spinner { bar, message }
    }

    /// Replace the spinner by `<message>... <outcome>` (e.g. "done"); silent off a TTY.
    pub fn finish(self, outcome: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            super::output::stderr_line(&format!("{}... {outcome}", self.message));
        }
    }

    /// Remove the spinner without a trace (the caller reports the result itself).
    pub fn clear(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    pub fn is_visible(&self) -> bool {
        self.bar.is_some()
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.finish_and_clear();
            }
        }
    }
}
