//! Progress on a terminal: one self-overwriting line on stderr. Silent when stderr is not
//! a terminal (cron, systemd, CI), so logs stay clean.

use std::io::{IsTerminal, Write};

pub struct Progress {
    on: bool,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress { on: enabled && std::io::stderr().is_terminal() }
    }

    pub fn stage(&self, what: &str, stage: &str, detail: &str) {
        if self.on {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K[{what}] {stage} {detail}");
            let _ = e.flush();
        }
    }

    pub fn done(&self) {
        if self.on {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}
