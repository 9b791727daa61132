//! The raw-file archive: every fetched file, byte for byte, under its SHA-256.
//!
//! Layout: `<root>/<aa>/<bb>/<sha256>` where `aa`,`bb` are the first hex pairs. A file is
//! written to `<root>/tmp/`, flushed to disk, then renamed into place, so a crash leaves
//! either no archived file or a complete one, never a half file under a real name.
//! Content addressing makes a second delivery of the same bytes a no-op.

use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Archive {
    root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archive {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("archive {path}: content hash is {actual}, expected {expected}: the archived file is damaged")]
    Corrupt { path: String, expected: String, actual: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io { path: path.display().to_string(), source }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Archive {
    pub fn open(root: &Path) -> Result<Archive, ArchiveError> {
        fs::create_dir_all(root.join("tmp")).map_err(io(root))?;
        Ok(Archive { root: root.to_path_buf() })
    }

    /// Where temporary files go before they are renamed into place (same file system).
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn path_of(&self, sha: &str) -> PathBuf {
        // Hashes are produced by `sha256_hex` (64 lowercase hex digits); anything else is a
        // programming error, not input.
        assert!(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()), "not a sha256: {sha:?}");
        self.root.join(&sha[0..2]).join(&sha[2..4]).join(sha)
    }

    /// Stores `bytes`; returns the hash and whether this call wrote it (false: already there).
    pub fn put(&self, bytes: &[u8]) -> Result<(String, bool), ArchiveError> {
        let sha = sha256_hex(bytes);
        let dest = self.path_of(&sha);
        if let Ok(meta) = fs::metadata(&dest)
            && meta.len() == bytes.len() as u64
        {
            return Ok((sha, false));
        }
        let dir = dest.parent().expect("archive paths have a parent");
        fs::create_dir_all(dir).map_err(io(dir))?;
        let tmp = self.root.join("tmp").join(format!("{sha}.{}.part", std::process::id()));
        {
            let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(bytes).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &dest).map_err(io(&dest))?;
        // Make the rename itself durable.
        let _ = sync_dir(dir);
        Ok((sha, true))
    }

    /// The path of an archived file after verifying its hash by streaming it (for readers
    /// that stream the file themselves; nothing is held in memory).
    pub fn verified_path(&self, sha: &str) -> Result<PathBuf, ArchiveError> {
        let p = self.path_of(sha);
        let mut f = fs::File::open(&p).map_err(io(&p))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = std::io::Read::read(&mut f, &mut buf).map_err(io(&p))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let actual = hex::encode(h.finalize());
        if actual != sha {
            return Err(ArchiveError::Corrupt { path: p.display().to_string(), expected: sha.into(), actual });
        }
        Ok(p)
    }

    /// Reads an archived file back and verifies its hash.
    pub fn get(&self, sha: &str) -> Result<Vec<u8>, ArchiveError> {
        let p = self.path_of(sha);
        let bytes = fs::read(&p).map_err(io(&p))?;
        let actual = sha256_hex(&bytes);
        if actual != sha {
            return Err(ArchiveError::Corrupt { path: p.display().to_string(), expected: sha.into(), actual });
        }
        Ok(bytes)
    }
}

/// Makes the entries of a folder (a rename into it) durable: fsync of the folder itself.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_idempotent_and_get_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let a = Archive::open(dir.path()).unwrap();
        let (sha, new) = a.put(b"hello").unwrap();
        assert!(new);
        assert_eq!(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        let (sha2, new2) = a.put(b"hello").unwrap();
        assert_eq!((sha2.as_str(), new2), (sha.as_str(), false));
        assert_eq!(a.get(&sha).unwrap(), b"hello");
        std::fs::write(a.path_of(&sha), b"hellO").unwrap();
        assert!(matches!(a.get(&sha), Err(ArchiveError::Corrupt { .. })));
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
