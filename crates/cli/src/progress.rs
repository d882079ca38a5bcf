//! indicatif progress bars for the `case::Progress` trait.

use std::cell::RefCell;

use indicatif::{ProgressBar, ProgressStyle};

/// Draws one bar per phase on stderr; hidden with `--quiet`/`--json`.
pub struct Bars {
    hidden: bool,
    bar: RefCell<Option<ProgressBar>>,
}

impl Bars {
    pub fn new(hidden: bool) -> Self {
        Bars { hidden, bar: RefCell::new(None) }
    }
}

impl case::Progress for Bars {
    fn start(&self, what: &str, len: u64) {
        if self.hidden {
            return;
        }
        let bar = ProgressBar::new(len);
        if let Ok(style) = ProgressStyle::with_template("{msg:>11} [{bar:40}] {pos}/{len} ({per_sec}, {eta})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        *self.bar.borrow_mut() = Some(bar);
    }

    fn inc(&self, n: u64) {
        if let Some(b) = self.bar.borrow().as_ref() {
            b.inc(n);
        }
    }

    fn set(&self, pos: u64, len: u64) {
        if let Some(b) = self.bar.borrow().as_ref() {
            b.set_length(len);
            b.set_position(pos);
        }
    }

    fn finish(&self) {
        if let Some(b) = self.bar.borrow_mut().take() {
            b.finish_and_clear();
        }
    }
}
