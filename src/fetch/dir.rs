//! `type = "dir"`: a local or mounted drop folder. Lists the folder (not recursive),
//! keeps names matching the pattern, copies each new file into the archive's `tmp`
//! folder through [`super::download`], then `after_pull` (leave, move, delete).
//! Local I/O failures are not retried: a missing or unreadable folder fails at once.

use super::retry::Policy;
use super::seen::Seen;
use super::{AfterPull, DownloadError, Downloaded, FetchError, Listed, Pull, Sink, download, select};
use crate::config::{Channel as ChannelConfig, Config};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

pub struct DirChannel {
    name: String,
    path: PathBuf,
    pattern: glob::Pattern,
    max_bytes: u64,
    after: AfterPull,
    data_dir: PathBuf,
}

impl DirChannel {
    pub fn new(cfg: &Config, ch: &ChannelConfig) -> DirChannel {
        DirChannel {
            name: ch.name.clone(),
            path: cfg.resolve(ch.path.as_deref().unwrap_or_else(|| Path::new("."))),
            // Checked by `Config::check`.
            pattern: glob::Pattern::new(&ch.pattern)
                .unwrap_or_else(|_| glob::Pattern::new("*").expect("static pattern")),
            max_bytes: ch.max_file_bytes,
            after: AfterPull::from_config(ch),
            data_dir: cfg.data_dir(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn retry_policy(&self) -> Policy {
        Policy { retries: 0, base: Duration::ZERO }
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + use<> {
        let channel = self.name.clone();
        let path = path.display().to_string();
        move |source| FetchError::Io { channel, path, source }
    }

    fn list(&self) -> Result<Vec<Listed>, FetchError> {
        let mut out = Vec::new();
        for ent in std::fs::read_dir(&self.path).map_err(self.io(&self.path))? {
            let ent = ent.map_err(self.io(&self.path))?;
            // Not following symlinks: `DirEntry::metadata` is lstat.
            let meta = ent.metadata().map_err(self.io(&ent.path()))?;
            if meta.is_dir() {
                continue;
            }
            let os = ent.file_name();
            let (name, raw) = match os.to_str() {
                Some(n) => (n.to_string(), None),
                None => (super::display_name(os.as_encoded_bytes()), Some(os)),
            };
            out.push(Listed {
                name,
                raw,
                size: meta.len(),
                mtime_ns: meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos() as u64),
                regular: meta.is_file(),
            });
        }
        // A decoded name that another file has as its own name keeps its bytes visible.
        let own: HashSet<String> = out.iter().filter(|l| l.raw.is_none()).map(|l| l.name.clone()).collect();
        for l in &mut out {
            if let Some(raw) = &l.raw
                && own.contains(&l.name)
            {
                let bytes = raw.as_encoded_bytes();
                l.name = bytes.iter().map(|b| format!("%{b:02X}")).collect();
            }
        }
        Ok(out)
    }

    /// The file's path at the source: by its own bytes when its name is not UTF-8.
    fn source(&self, l: &Listed) -> PathBuf {
        match &l.raw {
            Some(raw) => self.path.join(raw),
            None => self.path.join(&l.name),
        }
    }

    pub async fn pull_once<S: Sink + Send>(&self, sink: &mut S, pull: &mut Pull) -> Result<(), FetchError> {
        let listing = self.list()?;
        let present: Vec<String> = listing.iter().map(|l| l.name.clone()).collect();
        let (take, refused) = select(&self.name, listing, &self.pattern, self.max_bytes)?;
        pull.refused.extend(refused);
        let mut seen = Seen::load(&self.data_dir, &self.name).map_err(self.io(&self.data_dir))?;
        let mut gone = HashSet::new();
        for l in take {
            let p = self.source(&l);
            let known = seen.known(&l.name, l.size, l.mtime_ns).map(str::to_string);
            let sha = match known {
                // A delete is only ever done on bytes this pull hashed.
                Some(sha) if self.after != AfterPull::Delete => {
                    pull.known += 1;
                    sha
                }
                _ => {
                    let mut f = match tokio::fs::File::open(&p).await {
                        Ok(f) => f,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            // Gone between listing and open (taken by someone else): said, not hidden.
                            tracing::warn!(channel = %self.name, file = %l.name, "listed but gone before it was read");
                            continue;
                        }
                        Err(e) => return Err(self.io(&p)(e)),
                    };
                    let timeout = Duration::from_secs(3600);
                    let (tmp, sha, size) = match download(&mut f, sink.tmp_dir(), l.size, self.max_bytes, timeout).await
                    {
                        Ok(x) => x,
                        Err(DownloadError::Refuse(why)) => {
                            pull.refused.push(FetchError::Refused { channel: self.name.clone(), name: l.name, why });
                            continue;
                        }
                        Err(DownloadError::Read(e)) => return Err(self.io(&p)(e)),
                        Err(DownloadError::Local(e)) => return Err(self.io(sink.tmp_dir())(e)),
                    };
                    let d = Downloaded { name: l.name.clone(), size, mtime_ns: l.mtime_ns, sha256: sha.clone(), tmp };
                    let new = sink.keep(d).await.map_err(|e| FetchError::Keep {
                        channel: self.name.clone(),
                        name: l.name.clone(),
                        message: format!("{e:#}"),
                    })?;
                    pull.kept.push(l.name.clone());
                    pull.new_content += usize::from(new);
                    seen.add(&l.name, size, l.mtime_ns, &sha).map_err(self.io(&self.data_dir))?;
                    sha
                }
            };
            match self.act(&l, &sha) {
                Ok(true) => {
                    gone.insert(l.name);
                }
                Ok(false) => {}
                Err(why) => {
                    tracing::warn!(channel = %self.name, file = %l.name, error = %why, "after_pull failed");
                    pull.after_pull_failed.push(format!("{}: {why}", l.name));
                }
            }
        }
        let present: HashSet<&str> = present.iter().map(String::as_str).filter(|n| !gone.contains(*n)).collect();
        seen.retain(&present).map_err(self.io(&self.data_dir))?;
        Ok(())
    }

    /// `after_pull` on a file that is archived and recorded. Returns whether it left the
    /// folder. A move never overwrites: an existing target gets the hash in its name.
    fn act(&self, l: &Listed, sha: &str) -> Result<bool, String> {
        let src = self.source(l);
        let name = l.raw.clone().unwrap_or_else(|| l.name.clone().into());
        match &self.after {
            AfterPull::Leave => Ok(false),
            AfterPull::Delete => std::fs::remove_file(&src).map(|_| true).map_err(|e| format!("delete: {e}")),
            AfterPull::Move(to) => {
                let folder = self.path.join(to);
                let mut last = String::new();
                let mut hashed = std::ffi::OsString::from(format!("{}.", &sha[..12]));
                hashed.push(&name);
                for target in [folder.join(&name), folder.join(hashed)] {
                    // hard_link + remove: unlike rename, never replaces an existing file.
                    match std::fs::hard_link(&src, &target) {
                        Ok(()) => {
                            return std::fs::remove_file(&src).map(|_| true).map_err(|e| format!("move: {e}"));
                        }
                        Err(e) => last = format!("move to {}: {e}", target.display()),
                    }
                }
                Err(last)
            }
        }
    }
}
