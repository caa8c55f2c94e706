//! A progress bar for work over many items (doctor's hosts): done/total and the items still
//! running. Like the spinner it exists only on a terminal, so pipes and logs never receive
//! carriage-return animation.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub(crate) fn start(visible: bool, total: u64, what: &str) -> Self {
        let bar = visible.then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{bar:24}} {{pos}}/{{len}} {what} {{wide_msg}}"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Progress { bar }
    }

    /// One more item finished; `pending` names those still running.
    pub fn advance(&self, pending: &[String]) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            self.set_pending(pending);
        }
    }

    /// Show which items are still running (the first few, then how many more).
    pub fn set_pending(&self, pending: &[String]) {
        if let Some(bar) = &self.bar {
            const SHOWN: usize = 4;
            let mut msg = pending
                .iter()
                .take(SHOWN)
                .map(|p| super::untrusted(p).into_owned())
                .collect::<Vec<_>>()
                .join(", ");
            if pending.len() > SHOWN {
                msg.push_str(&format!(" (+{})", pending.len() - SHOWN));
            }
            if !msg.is_empty() {
                msg = format!("waiting for {msg}");
            }
            bar.set_message(msg);
        }
    }

    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
