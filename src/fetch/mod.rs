//! Fetching statement files from where banks deliver them. A channel is a config section
//! (`[[channels]]`, `type = "…"`) plus one module here, registered by name in [`open`].
//!
//! A channel only lists and reads; archiving and recording happen in the job layer, in
//! that order, so that nothing counts as fetched before its bytes are safe.

pub mod dir;

use crate::config::Channel as ChannelConfig;
use crate::config::Config;

/// One delivered file.
#[derive(Debug)]
pub struct Fetched {
    /// The file's name at the source (never a path: names are validated).
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("channel {channel}: {path}: {source}")]
    Io { channel: String, path: String, source: std::io::Error },
    #[error("channel {channel}: {name:?} refused: {why}")]
    Refused { channel: String, name: String, why: String },
}

/// A configured channel. Closed set, dispatched by match: adding a type = one module +
/// one arm here + its name in `config::CHANNEL_TYPES`.
pub enum Channel {
    Dir(dir::DirChannel),
}

/// Registry: the channel type named in the config.
pub fn open(cfg: &Config, ch: &ChannelConfig) -> Channel {
    match ch.kind.as_str() {
        "dir" => Channel::Dir(dir::DirChannel::new(cfg, ch)),
        // `Config::check` refuses unknown types before any channel is opened.
        other => unreachable!("channel type {other:?} passed config check"),
    }
}

/// What a pull brought: files, and files refused (each with why), which the job reports.
#[derive(Debug, Default)]
pub struct Pull {
    pub files: Vec<Fetched>,
    pub refused: Vec<FetchError>,
}

impl Channel {
    pub async fn pull(&self) -> Result<Pull, FetchError> {
        match self {
            Channel::Dir(d) => d.pull().await,
        }
    }
}

/// Remote names are data, not paths: refuse anything that could escape a folder or
/// confuse a terminal or log.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." {
        return Err("empty or dot name".into());
    }
    if name.len() > 255 {
        return Err(format!("name is {} bytes, over 255", name.len()));
    }
    if name.contains('/') || name.contains('\\') {
        return Err("name contains a path separator".into());
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("name contains control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("boc_20240321.sta").is_ok());
        assert!(check_name("中行对账单.xml").is_ok());
        for bad in ["", "..", "../etc/passwd", "/abs", "a\\b", "a\nb", "x\u{1b}[31m"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"a".repeat(256)).is_err());
    }
}
