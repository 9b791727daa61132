//! What a channel has fetched before: `<data_dir>/fetch-state/<channel>.tsv`, one line
//! per file (`name TAB size TAB mtime_ns TAB sha256`), appended only after
//! the file is archived and recorded. A file listed again with the same name, size and
//! mtime is not downloaded again. The state is only a shortcut: losing it costs a
//! re-download, which the content hash makes harmless (`raw_files` dedups). A torn last
//! line (crash while appending) is ignored.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    size: u64,
    mtime_ns: u64,
    sha256: String,
}

pub struct Seen {
    path: PathBuf,
    map: HashMap<String, Entry>,
    lines: usize,
}

impl Seen {
    /// Loads the state of channel `channel` (missing file: nothing seen).
    pub fn load(data_dir: &Path, channel: &str) -> std::io::Result<Seen> {
        let safe: String =
            channel.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        let tag = &crate::archive::sha256_hex(channel.as_bytes())[..8];
        let path = data_dir.join("fetch-state").join(format!("{safe}.{tag}.tsv"));
        let mut map = HashMap::new();
        let mut lines = 0;
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for line in text.split_terminator('\n') {
                    lines += 1;
                    let f: Vec<&str> = line.split('\t').collect();
                    if let [name, size, mtime, sha] = f[..]
                        && let (Ok(size), Ok(mtime_ns)) = (size.parse(), mtime.parse())
                        && sha.len() == 64
                    {
                        map.insert(name.to_string(), Entry { size, mtime_ns, sha256: sha.to_string() });
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(Seen { path, map, lines })
    }

    /// The content hash of a file fetched before with this name, size and mtime.
    pub fn known(&self, name: &str, size: u64, mtime_ns: Option<u64>) -> Option<&str> {
        let m = mtime_ns?;
        self.map.get(name).filter(|e| e.size == size && e.mtime_ns == m).map(|e| e.sha256.as_str())
    }

    /// Remembers a file (call only once it is archived and recorded). Without an mtime
    /// nothing is remembered: such a source is always re-read and deduplicated by hash.
    pub fn add(&mut self, name: &str, size: u64, mtime_ns: Option<u64>, sha256: &str) -> std::io::Result<()> {
        let Some(mtime_ns) = mtime_ns else { return Ok(()) };
        debug_assert!(super::check_name(name).is_ok());
        let e = Entry { size, mtime_ns, sha256: sha256.to_string() };
        if self.map.get(name) == Some(&e) {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        // No fsync: a line lost in a crash only costs a re-download (deduplicated by hash).
        f.write_all(format!("{name}\t{size}\t{mtime_ns}\t{sha256}\n").as_bytes())?;
        self.map.insert(name.to_string(), e);
        self.lines += 1;
        Ok(())
    }

    /// Forgets files no longer at the source (moved, deleted, removed by the bank);
    /// rewrites the file atomically when that removed something or it has grown well
    /// beyond what it holds.
    pub fn retain(&mut self, present: &HashSet<&str>) -> std::io::Result<()> {
        let before = self.map.len();
        self.map.retain(|k, _| present.contains(k.as_str()));
        if self.map.len() == before && self.lines <= 2 * self.map.len() + 64 {
            return Ok(());
        }
        let dir = self.path.parent().expect("state path has a parent");
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        let mut names: Vec<&String> = self.map.keys().collect();
        names.sort();
        for n in names {
            let e = &self.map[n];
            writeln!(tmp, "{n}\t{}\t{}\t{}", e.size, e.mtime_ns, e.sha256)?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        self.lines = self.map.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_survives_torn_lines_and_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let sha = "a".repeat(64);
        let mut s = Seen::load(dir.path(), "boc/sftp").unwrap();
        assert_eq!(s.known("x.sta", 3, Some(7)), None);
        s.add("x.sta", 3, Some(7), &sha).unwrap();
        s.add("nomtime.sta", 3, None, &sha).unwrap();
        assert_eq!(s.known("x.sta", 3, Some(7)), Some(sha.as_str()));
        assert_eq!(s.known("x.sta", 4, Some(7)), None, "new size");
        assert_eq!(s.known("x.sta", 3, Some(8)), None, "new mtime");
        assert_eq!(s.known("x.sta", 3, None), None);
        // A crash while appending leaves a torn line: ignored.
        let mut f = std::fs::OpenOptions::new().append(true).open(&s.path).unwrap();
        f.write_all(b"y.sta\t3\t9\tabc").unwrap();
        let mut s = Seen::load(dir.path(), "boc/sftp").unwrap();
        assert_eq!(s.known("x.sta", 3, Some(7)), Some(sha.as_str()));
        assert_eq!(s.known("y.sta", 3, Some(9)), None);
        for i in 0..200 {
            s.add(&format!("f{i}"), 1, Some(i), &sha).unwrap();
        }
        s.retain(&["x.sta", "f3"].into_iter().collect()).unwrap();
        let s = Seen::load(dir.path(), "boc/sftp").unwrap();
        assert_eq!(s.map.len(), 2);
        assert_eq!(s.known("f3", 1, Some(3)), Some(sha.as_str()));
    }
}
