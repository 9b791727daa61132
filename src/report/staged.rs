//! Report folders and files replaced whole (issue 15, point 11): a report set is written
//! into a temporary folder beside its target (same file system), every file and the folder
//! are synced, and only then is the folder renamed into place; the previous folder is
//! renamed away first and removed after. A write that fails (a full disk) removes the
//! temporary folder and leaves the previous folder as it was: a report folder always holds
//! one whole run.

use crate::archive::sync_dir;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A name beside `target` no other writer uses: `.<kind>-<name>-<pid>-<n>`.
fn sibling(target: &Path, kind: &str) -> io::Result<PathBuf> {
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{}: not a folder or file name", target.display())))?;
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    Ok(parent.join(format!(".{kind}-{}-{}-{n}", name.to_string_lossy(), std::process::id())))
}

/// A report folder being written: [`Staged::path`] is the temporary folder to write into,
/// [`Staged::commit`] puts it in place of the target. Dropped without a commit, the
/// temporary folder is removed and the target is untouched.
pub struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staged {
    /// Creates the temporary folder beside `target` (and `target`'s parent if needed).
    pub fn new(target: &Path) -> io::Result<Staged> {
        let tmp = sibling(target, "tmp")?;
        if let Some(parent) = tmp.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::create_dir(&tmp)?;
        Ok(Staged { tmp, target: target.to_path_buf(), committed: false })
    }

    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Syncs every file written and the folder, then renames it into place: the previous
    /// folder (if any) is renamed away first and removed once the new one is in place. If
    /// the new folder cannot be put in place, the previous one is put back.
    pub fn commit(mut self) -> io::Result<()> {
        for e in std::fs::read_dir(&self.tmp)? {
            let e = e?;
            if e.file_type()?.is_file() {
                std::fs::File::open(e.path())?.sync_all()?;
            }
        }
        sync_dir(&self.tmp)?;
        let old = if self.target.exists() {
            let old = sibling(&self.target, "old")?;
            std::fs::rename(&self.target, &old)?;
            Some(old)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(&self.tmp, &self.target) {
            if let Some(old) = &old {
                let _ = std::fs::rename(old, &self.target);
            }
            return Err(e);
        }
        self.committed = true;
        if let Some(parent) = self.target.parent() {
            let _ = sync_dir(parent);
        }
        if let Some(old) = old
            && let Err(e) = std::fs::remove_dir_all(&old)
        {
            tracing::warn!(folder = %old.display(), error = %e, "previous report folder not removed");
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Writes one file whole: a temporary file beside it, synced, then renamed over it (a
/// failure leaves the previous file as it was; the temporary file is removed on drop).
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    fail_point(path)?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
    io::Write::write_all(&mut tmp, bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    let _ = sync_dir(parent);
    Ok(())
}

/// Test hook, honoured only in debug builds (the test suite's):
/// `FUNDRECON_TEST_REPORT_FAIL=<file name>` makes writing a report file of that name fail
/// as a full disk does, after the files written before it.
pub fn fail_point(path: &Path) -> io::Result<()> {
    if !cfg!(debug_assertions) {
        return Ok(());
    }
    match std::env::var_os("FUNDRECON_TEST_REPORT_FAIL") {
        Some(name) if path.file_name() == Some(name.as_os_str()) => Err(io::Error::new(
            io::ErrorKind::StorageFull,
            format!("{}: no space left on device (test hook)", path.display()),
        )),
        _ => Ok(()),
    }
}
