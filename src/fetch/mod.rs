//! Fetching statement files from where banks deliver them. A channel is a config section
//! (`[[channels]]`, `type = "…"`) plus one module here, registered by name in [`open`].
//!
//! A pull lists the source folder, skips files already fetched (name + size + mtime, see
//! [`seen`]), downloads each new file to a temporary file in the archive's `tmp` folder
//! while hashing it, checks its size, and hands it to a [`Sink`], which archives and
//! records it. Only when the sink returns does the channel remember the file and act on
//! the source copy (`after_pull`: leave, move, delete). A crash at any point leaves
//! either no record or a complete archived file; a half download is only ever a `.part`
//! file in `tmp`, never counted as fetched.
//!
//! Transient failures (connection refused or reset, timeouts, the server closing
//! mid-transfer) are retried with exponential backoff and jitter ([`retry`]); permanent
//! ones (authentication refused, host key mismatch, missing folder) fail at once.

pub mod dir;
pub mod retry;
pub mod seen;
pub mod sftp;

use crate::archive::Archive;
use crate::config::Channel as ChannelConfig;
use crate::config::Config;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// One complete download, hashed, in a temporary file (deleted if dropped).
#[derive(Debug)]
pub struct Downloaded {
    /// The file's name at the source (never a path: names are validated).
    pub name: String,
    pub size: u64,
    /// Source modification time in nanoseconds since the epoch (SFTP: whole seconds).
    pub mtime_ns: Option<u64>,
    pub sha256: String,
    pub tmp: tempfile::NamedTempFile,
}

/// Where downloads go. The channel calls [`Sink::keep`] once per complete download and
/// acts on the source copy only after it returned `Ok`.
pub trait Sink {
    /// Folder for temporary downloads; must be on the archive's file system.
    fn tmp_dir(&self) -> &Path;
    /// Makes the file durable and recorded (archive, then database). Returns whether
    /// the content was new.
    fn keep(&mut self, file: Downloaded) -> impl Future<Output = anyhow::Result<bool>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("channel {channel}: {path}: {source}")]
    Io { channel: String, path: String, source: std::io::Error },
    #[error("channel {channel}: {name:?} refused: {why}")]
    Refused { channel: String, name: String, why: String },
    /// A failure talking to the source. `transient` ones are retried.
    #[error("channel {channel}: {message}")]
    Remote { channel: String, message: String, transient: bool },
    #[error("channel {channel}: gave up after {attempts} attempts: {last}")]
    GaveUp { channel: String, attempts: u32, last: Box<FetchError> },
    #[error("channel {channel}: {name}: keeping the download failed: {message}")]
    Keep { channel: String, name: String, message: String },
}

impl FetchError {
    pub fn is_transient(&self) -> bool {
        matches!(self, FetchError::Remote { transient: true, .. })
    }
}

/// A configured channel. Closed set, dispatched by match: adding a type = one module +
/// one arm here + its name in `config::CHANNEL_TYPES`.
pub enum Channel {
    Dir(dir::DirChannel),
    Sftp(sftp::SftpChannel),
}

/// Registry: the channel type named in the config.
pub fn open(cfg: &Config, ch: &ChannelConfig) -> Channel {
    match ch.kind.as_str() {
        "dir" => Channel::Dir(dir::DirChannel::new(cfg, ch)),
        "sftp" => Channel::Sftp(sftp::SftpChannel::new(cfg, ch)),
        // `Config::check` refuses unknown types before any channel is opened.
        other => unreachable!("channel type {other:?} passed config check"),
    }
}

/// What a pull brought. Files kept are in the sink; this is the account of it.
#[derive(Debug, Default)]
pub struct Pull {
    /// Names handed to the sink, in order.
    pub kept: Vec<String>,
    /// Of those, how many had content the archive did not know yet.
    pub new_content: usize,
    /// Files skipped because this channel fetched them before (same name, size, mtime).
    pub known: usize,
    /// Files refused (bad name, too big, empty, changed while read, not a regular file…).
    pub refused: Vec<FetchError>,
    /// `after_pull` actions that failed: the file is safe; the next pull tries again.
    pub after_pull_failed: Vec<String>,
    /// Attempts the pull took (1 = no retry).
    pub attempts: u32,
}

impl Channel {
    /// Pulls every new file into `sink`, retrying transient failures.
    pub async fn pull<S: Sink + Send>(&self, sink: &mut S) -> Result<Pull, FetchError> {
        let (name, policy) = match self {
            Channel::Dir(d) => (d.name(), d.retry_policy()),
            Channel::Sftp(s) => (s.name(), s.retry_policy()),
        };
        let mut pull = Pull::default();
        loop {
            pull.attempts += 1;
            pull.refused.clear();
            pull.after_pull_failed.clear();
            let r = match self {
                Channel::Dir(d) => d.pull_once(sink, &mut pull).await,
                Channel::Sftp(s) => s.pull_once(sink, &mut pull).await,
            };
            match r {
                Ok(()) => return Ok(pull),
                Err(e) if e.is_transient() && pull.attempts <= policy.retries => {
                    let wait = policy.delay(pull.attempts);
                    tracing::warn!(channel = %name, attempt = pull.attempts, error = %e, wait_ms = wait.as_millis() as u64, "transient failure, retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) if e.is_transient() && pull.attempts > 1 => {
                    return Err(FetchError::GaveUp {
                        channel: name.to_string(),
                        attempts: pull.attempts,
                        last: Box::new(e),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// What to do with the source copy after it is archived and recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterPull {
    Leave,
    /// To this folder (relative to the channel's folder unless absolute).
    Move(String),
    Delete,
}

impl AfterPull {
    pub fn from_config(ch: &ChannelConfig) -> AfterPull {
        match (ch.after_pull.as_str(), &ch.move_to) {
            ("move", Some(m)) => AfterPull::Move(m.clone()),
            ("delete", _) => AfterPull::Delete,
            // Anything else was refused by `Config::check`.
            _ => AfterPull::Leave,
        }
    }
}

/// One entry of a source listing, before any checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The name as reported and remembered: the file's own name, or for a name that is not
    /// UTF-8 its [`display_name`].
    pub name: String,
    /// The name's own bytes when they are not UTF-8 (a GBK name from a Chinese Windows
    /// share): the file is opened, moved and deleted by these.
    pub raw: Option<std::ffi::OsString>,
    pub size: u64,
    pub mtime_ns: Option<u64>,
    pub regular: bool,
}

/// More files than this in one folder is a misconfiguration, not a delivery.
pub const MAX_FILES: usize = 100_000;

/// Chooses what to download from a listing: names matching the pattern, checked as data
/// ([`check_name`]), regular files only, within the size limit, not empty. Sorted by name.
/// Everything matching the pattern but refused is reported, never followed.
pub fn select(
    channel: &str,
    listing: Vec<Listed>,
    pattern: &glob::Pattern,
    max_bytes: u64,
) -> Result<(Vec<Listed>, Vec<FetchError>), FetchError> {
    let mut take = Vec::new();
    let mut refused = Vec::new();
    let mut refuse = |name: String, why: String| {
        refused.push(FetchError::Refused { channel: channel.to_string(), name, why });
    };
    for l in listing {
        if let Err(why) = check_name(&l.name) {
            // A bad name is reported whatever the pattern: it is an anomaly at the source.
            if l.name != "." && l.name != ".." {
                refuse(l.name, why);
            }
            continue;
        }
        if !pattern.matches(&l.name) {
            continue;
        }
        if !l.regular {
            refuse(l.name, "not a regular file (symlink, folder or device): not followed".into());
        } else if l.size > max_bytes {
            refuse(l.name, format!("{} bytes, over the channel limit of {max_bytes} bytes", l.size));
        } else if l.size == 0 {
            refuse(l.name, "empty file (an upload in progress?): left in place, fetched once it has content".into());
        } else {
            take.push(l);
        }
        if take.len() > MAX_FILES {
            return Err(FetchError::Refused {
                channel: channel.to_string(),
                name: "(folder)".into(),
                why: format!("more than {MAX_FILES} files"),
            });
        }
    }
    take.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((take, refused))
}

/// Why a download did not produce a file.
#[derive(Debug)]
pub enum DownloadError {
    /// The file itself is at fault (too big, changed while read): refuse it, go on.
    Refuse(String),
    /// Reading failed (connection dropped, timeout…).
    Read(std::io::Error),
    /// Writing the temporary file failed.
    Local(std::io::Error),
}

/// Copies `reader` into a new temporary file in `tmp_dir`, hashing as it goes. Refuses
/// more than `max_bytes`, and a length different from the listed `expected` size (the
/// file changed while it was read). The temporary file is fsynced; it is deleted if the
/// result is dropped.
pub async fn download<R: AsyncRead + Unpin>(
    reader: &mut R,
    tmp_dir: &Path,
    expected: u64,
    max_bytes: u64,
    read_timeout: Duration,
) -> Result<(tempfile::NamedTempFile, String, u64), DownloadError> {
    let mut tmp =
        tempfile::Builder::new().prefix("fetch-").suffix(".part").tempfile_in(tmp_dir).map_err(DownloadError::Local)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut len = 0u64;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        loop {
            let n = match tokio::time::timeout(read_timeout, reader.read(&mut buf)).await {
                Ok(r) => r.map_err(DownloadError::Read)?,
                Err(_) => {
                    return Err(DownloadError::Read(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no data for {} s", read_timeout.as_secs()),
                    )));
                }
            };
            if n == 0 {
                break;
            }
            len += n as u64;
            if len > max_bytes {
                return Err(DownloadError::Refuse(format!(
                    "over the channel limit of {max_bytes} bytes while reading"
                )));
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(DownloadError::Local)?;
        }
        out.flush().map_err(DownloadError::Local)?;
    }
    if len != expected {
        return Err(DownloadError::Refuse(format!(
            "read {len} bytes but the listing said {expected}: changed while read, fetched next time"
        )));
    }
    tmp.as_file().sync_all().map_err(DownloadError::Local)?;
    Ok((tmp, hex::encode(hasher.finalize()), len))
}

/// Moves a complete download into the archive under its hash (rename, then fsync of the
/// folder), like [`Archive::put`] but without holding the file in memory. Returns whether
/// the archive did not have it yet.
pub fn into_archive(archive: &Archive, file: Downloaded) -> std::io::Result<bool> {
    let dest = archive.path_of(&file.sha256);
    if std::fs::metadata(&dest).is_ok_and(|m| m.len() == file.size) {
        return Ok(false);
    }
    let dir = dest.parent().expect("archive paths have a parent");
    std::fs::create_dir_all(dir)?;
    file.tmp.persist(&dest).map_err(|e| e.error)?;
    let _ = crate::archive::sync_dir(dir);
    Ok(true)
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
    if name.contains('\u{FFFD}') {
        // What a listing that decoded a non-UTF-8 name (SFTP) leaves: the bytes are lost,
        // so the file cannot be asked for by name.
        return Err("name is not UTF-8 (a GBK name?) and the listing lost its bytes: rename the file at the source with a UTF-8 name".into());
    }
    Ok(())
}

/// A readable form of a file name that is not UTF-8: decoded as GB18030 (GBK is its
/// subset) when every byte decodes, else the valid UTF-8 parts with each other byte as
/// `%XX`.
pub fn display_name(raw: &[u8]) -> String {
    if let Some(s) = encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(raw) {
        return s.into_owned();
    }
    let mut out = String::new();
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
        assert!(check_name("gbk-\u{FFFD}\u{FFFD}.sta").unwrap_err().contains("not UTF-8"));
        // 对账 in GBK; then bytes no encoding reads.
        assert_eq!(display_name(b"gbk-\xB6\xD4\xD5\xCB.sta"), "gbk-对账.sta");
        assert_eq!(display_name(b"x-\xFF\xFF.sta"), "x-%FF%FF.sta");
    }

    fn l(name: &str, size: u64, regular: bool) -> Listed {
        Listed { name: name.into(), raw: None, size, mtime_ns: Some(1), regular }
    }

    #[test]
    fn a_hostile_listing_is_refused_never_followed() {
        // What a malicious or broken server could send in a listing: names that are paths.
        let listing = vec![
            l("b.sta", 10, true),
            l("../../etc/passwd.sta", 10, true),
            l("/etc/shadow.sta", 10, true),
            l("sub/inner.sta", 10, true),
            l("x\u{1b}[2J.sta", 10, true),
            l(&format!("{}.sta", "a".repeat(300)), 10, true),
            l("link.sta", 10, false),
            l("big.sta", 101, true),
            l("empty.sta", 0, true),
            l("a.sta", 10, true),
            l("other.txt", 10, true),
            l(".", 0, false),
            l("..", 0, false),
        ];
        let pat = glob::Pattern::new("*.sta").unwrap();
        let (take, refused) = select("c", listing, &pat, 100).unwrap();
        assert_eq!(take.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["a.sta", "b.sta"]);
        let names: Vec<String> = refused
            .iter()
            .map(|r| match r {
                FetchError::Refused { name, .. } => name.clone(),
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(names.len(), 8, "{names:?}");
        for r in &refused {
            let text = r.to_string();
            assert!(!text.contains('\u{1b}'), "the message quotes names escaped: {text}");
        }
    }

    #[tokio::test]
    async fn download_checks_size_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let t = Duration::from_secs(5);
        let (tmp, sha, len) = download(&mut &b"hello"[..], dir.path(), 5, 100, t).await.unwrap();
        assert_eq!((sha.as_str(), len), (crate::archive::sha256_hex(b"hello").as_str(), 5));
        assert_eq!(std::fs::read(tmp.path()).unwrap(), b"hello");
        drop(tmp);
        assert!(matches!(download(&mut &b"hello"[..], dir.path(), 4, 100, t).await, Err(DownloadError::Refuse(_))));
        assert!(matches!(download(&mut &b"hello"[..], dir.path(), 5, 4, t).await, Err(DownloadError::Refuse(_))));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "failed downloads leave nothing");
    }
}
