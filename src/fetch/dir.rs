//! `type = "dir"`: a local or mounted drop folder. Lists the folder (not recursive),
//! keeps names matching the pattern, reads each file (refusing those over the size limit).
//! Files are left in place: the archive's content hash makes re-reading them harmless.

use super::{FetchError, Fetched, Pull, check_name};
use crate::config::{Channel as ChannelConfig, Config};
use std::path::PathBuf;

pub struct DirChannel {
    name: String,
    path: PathBuf,
    pattern: glob::Pattern,
    max_bytes: u64,
}

/// More files than this in one drop folder is a misconfiguration, not a delivery.
const MAX_FILES: usize = 100_000;

impl DirChannel {
    pub fn new(cfg: &Config, ch: &ChannelConfig) -> DirChannel {
        DirChannel {
            name: ch.name.clone(),
            path: cfg.resolve(ch.path.as_deref().unwrap_or_else(|| std::path::Path::new("."))),
            // Checked by `Config::check`.
            pattern: glob::Pattern::new(&ch.pattern)
                .unwrap_or_else(|_| glob::Pattern::new("*").expect("static pattern")),
            max_bytes: ch.max_file_bytes,
        }
    }

    pub async fn pull(&self) -> Result<Pull, FetchError> {
        let io = |path: &std::path::Path| {
            let channel = self.name.clone();
            let path = path.display().to_string();
            move |source| FetchError::Io { channel, path, source }
        };
        let mut names = Vec::new();
        let mut pull = Pull::default();
        for ent in std::fs::read_dir(&self.path).map_err(io(&self.path))? {
            let ent = ent.map_err(io(&self.path))?;
            let name = ent.file_name().to_string_lossy().to_string();
            if !ent.file_type().map_err(io(&ent.path()))?.is_file() || !self.pattern.matches(&name) {
                continue;
            }
            if let Err(why) = check_name(&name) {
                pull.refused.push(FetchError::Refused { channel: self.name.clone(), name, why });
                continue;
            }
            names.push(name);
            if names.len() > MAX_FILES {
                return Err(FetchError::Refused {
                    channel: self.name.clone(),
                    name: self.path.display().to_string(),
                    why: format!("more than {MAX_FILES} files"),
                });
            }
        }
        names.sort();
        for name in names {
            let p = self.path.join(&name);
            let len = std::fs::metadata(&p).map_err(io(&p))?.len();
            if len > self.max_bytes {
                pull.refused.push(FetchError::Refused {
                    channel: self.name.clone(),
                    name,
                    why: format!("{len} bytes, over the channel limit of {} bytes", self.max_bytes),
                });
                continue;
            }
            let bytes = tokio::fs::read(&p).await.map_err(io(&p))?;
            pull.files.push(Fetched { name, bytes });
        }
        Ok(pull)
    }
}
