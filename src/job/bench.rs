//! `fundrecon bench`: parser throughput on generated files, beside the raw read speed of
//! the same bytes, and each parser's peak memory (measured in a child process so that the
//! generator's and other runs' memory does not count). One core: parsing is sequential.

use crate::generate;
use crate::parse::{self, Format, Limits};
use anyhow::Context;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct Figures {
    pub format: &'static str,
    pub bytes: u64,
    pub entries: u64,
    pub read_mb_s: f64,
    pub parse_mb_s: f64,
    pub entries_per_s: f64,
    pub peak_rss_mib: f64,
}

/// A `/proc/self/status` figure in KiB (`VmHWM:` peak, `VmRSS:` current); 0 elsewhere.
fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// Peak resident set size of this process so far (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// `fundrecon bench-match`: a generated scenario of about `entries` bank entries, matched
/// with the default rule set; time per step, peak RSS of the matching alone (the peak is
/// reset after generating the inputs) and the score against the scenario's truth.
pub fn matching(entries: usize) -> (crate::scenario::Score, String) {
    use crate::scenario;
    use std::fmt::Write;
    let t = Instant::now();
    let s = scenario::generate(&scenario::Config { entries, ..scenario::Config::default() });
    let generated = t.elapsed();
    let rss_inputs = status_kib("VmRSS:");
    // Reset the peak so that VmHWM below is the matching's own peak over the inputs.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let t = Instant::now();
    let (out, steps) =
        crate::matching::match_with_timings(&s.account_no, &s.input(), &crate::matching::RuleSet::default(), &s.params);
    let took = t.elapsed();
    let peak = peak_rss_kib();
    let score = scenario::score(&s, &out);
    let mut r = format!(
        "{} entries, {} records (generated in {:.2?}): matching {:.3?}, peak RSS {} MiB (inputs {} MiB); {} matches, {} discrepancies; precision {:.4}\n",
        s.entries.len(),
        s.records.len(),
        generated,
        took,
        peak / 1024,
        rss_inputs / 1024,
        out.matches.len(),
        out.discrepancies.len(),
        score.precision()
    );
    for (step, d) in steps {
        let _ = writeln!(r, "  {step:<28} {d:.3?}");
    }
    r.push_str(&score.table());
    (score, r)
}

/// Streams and parses one file to the full entry model, as the import does, returning
/// (bytes, entries, seconds). Used by the child process.
pub fn parse_file(path: &Path, format: Format) -> anyhow::Result<(u64, u64, f64)> {
    let t = Instant::now();
    let f = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let bytes = f.metadata()?.len();
    let mut input = std::io::BufReader::with_capacity(1 << 16, f);
    let limits = Limits { max_file_bytes: u64::MAX, ..Limits::default() };
    let mut entries = 0u64;
    let name = if format == Format::Table { "icbc-corporate" } else { format.name() };
    parse::stream(&path.display().to_string(), &mut input, Some(name), None, &limits, &mut |s| {
        entries += s.entries.len() as u64;
        std::hint::black_box(&s);
        Ok(())
    })?;
    Ok((bytes, entries, t.elapsed().as_secs_f64()))
}

fn raw_read(path: &Path) -> anyhow::Result<f64> {
    let t = Instant::now();
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    std::hint::black_box(lines);
    Ok(t.elapsed().as_secs_f64())
}

pub fn run(size_mb: u64, formats: &[Format], dir: Option<PathBuf>) -> anyhow::Result<Vec<Figures>> {
    let tmp = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let exe = std::env::current_exe()?;
    let mut out = Vec::new();
    for &f in formats {
        let path = dir.join(format!("bench.{}", f.name()));
        let target = size_mb << 20;
        if std::fs::metadata(&path).map(|m| m.len() < target).unwrap_or(true) {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
            match f {
                Format::Mt940 => generate::mt940(&mut w, target, 1000, 42)?,
                Format::Camt => generate::camt053(&mut w, target, 1000, 42)?,
                Format::Table => generate::gbk_csv(&mut w, target, 42)?,
                other => anyhow::bail!("no generator for {}", other.name()),
            };
        }
        // Warm the page cache so both measurements read from memory.
        raw_read(&path)?;
        let read_s = raw_read(&path)?;
        let child = std::process::Command::new(&exe).args(["bench-parse", "--format", f.name()]).arg(&path).output()?;
        anyhow::ensure!(child.status.success(), "bench-parse failed: {}", String::from_utf8_lossy(&child.stderr));
        let line = String::from_utf8_lossy(&child.stdout).to_string();
        let nums: Vec<f64> = line.split_whitespace().filter_map(|x| x.split('=').nth(1)?.parse().ok()).collect();
        anyhow::ensure!(nums.len() == 4, "unexpected bench-parse output {line:?}");
        let (bytes, entries, secs, rss_kib) = (nums[0], nums[1], nums[2], nums[3]);
        out.push(Figures {
            format: f.name(),
            bytes: bytes as u64,
            entries: entries as u64,
            read_mb_s: bytes / 1048576.0 / read_s,
            parse_mb_s: bytes / 1048576.0 / secs,
            entries_per_s: entries / secs,
            peak_rss_mib: rss_kib / 1024.0,
        });
    }
    Ok(out)
}
