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

/// Gives freed heap memory back to the system, so that the resident figure after
/// dropping the generator's rows is what is really still in use.
fn trim_heap() {
    crate::alloc::release_free_memory();
}

/// `fundrecon bench-match --delivery KIND`: a delivery of the independent generator
/// (`bankgen`, written from the banks' published guides, not from this matcher) in
/// `dir`, through the whole one-shot `reconcile` (parse, ledger, matching, reports), scored
/// against its truth: precision, recall per class, every planted discrepancy type.
pub async fn delivery(
    cfg: &crate::bankgen::Config,
    holdout: bool,
    dir: &Path,
) -> anyhow::Result<(crate::bankgen::Score, String)> {
    use std::fmt::Write;
    let t = Instant::now();
    let (files, entries, records, groups, opens, accounts) = if holdout {
        // The third generator (src/holdout), written by another hand again, in its own
        // dialects; scored the same way.
        use crate::holdout::{self, Kind};
        let kind = match cfg.kind {
            crate::bankgen::Delivery::Mt940 => Kind::Mt940,
            crate::bankgen::Delivery::Camt053 => Kind::Camt053,
            crate::bankgen::Delivery::Gbk => Kind::Cn,
            crate::bankgen::Delivery::Mixed => Kind::Mixed,
        };
        let c = holdout::Config {
            seed: cfg.seed,
            accounts: cfg.accounts,
            days: cfg.days as usize,
            per_day: cfg.per_day,
            kind,
        };
        let s = holdout::write(dir, &c).context("writing the delivery")?;
        (s.files, s.entries, s.vouchers, s.groups, s.opens, s.dialects.len())
    } else {
        let s = crate::bankgen::write(dir, cfg).context("writing the delivery")?;
        (s.files, s.entries, s.records, s.groups, s.open_items, s.accounts.len())
    };
    let written = t.elapsed();
    let opts = super::reconcile::Options {
        statements: vec![dir.join("statements")],
        disbursements: vec![dir.join("books/disbursements.csv")],
        receipts: vec![dir.join("books/receipts.csv")],
        out: dir.join("out"),
        window_days: cfg.window_days,
    };
    let t = Instant::now();
    super::reconcile::run(&opts).await?;
    let reconciled = t.elapsed();
    let score = crate::bankgen::score(&dir.join("truth.jsonl"), &dir.join("out")).context("scoring")?;
    let mut r = String::new();
    let _ = writeln!(
        r,
        "{} {:?} delivery, seed {}: {} accounts, {} files, {} entries, {} vouchers, {} true groups, {} planted open items (written in {:.2} s; reconcile {:.2} s)",
        if holdout { "holdout" } else { "bankgen" },
        cfg.kind,
        cfg.seed,
        accounts,
        files,
        entries,
        records,
        groups,
        opens,
        written.as_secs_f64(),
        reconciled.as_secs_f64()
    );
    r.push_str(&score.table());
    Ok((score, r))
}

/// `fundrecon bench-match`: a generated scenario of about `entries` bank entries, matched
/// with the default rule set; time per step, peak RSS of the matching (the peak is reset
/// after the inputs are in matching's compact form and the generator's rows are gone, so
/// it counts the inputs matching holds plus its own working memory and result) and the
/// score against the scenario's truth.
pub fn matching(entries: usize) -> (crate::scenario::Score, String) {
    use crate::matching::{self, Items, RuleSet};
    use crate::scenario;
    use std::fmt::Write;
    let t = Instant::now();
    let s = scenario::generate(&scenario::Config { entries, ..scenario::Config::default() });
    let generated = t.elapsed();
    let (ne, nr) = (s.entries.len(), s.records.len());
    let rss_rows = status_kib("VmRSS:");
    let t = Instant::now();
    let items = match Items::new(&s.entries, &s.records) {
        Ok(items) => items,
        Err(e) => return (scenario::Score::default(), format!("cannot load the scenario: {e}\n")),
    };
    let loaded = t.elapsed();
    // The rows are the generator's; matching holds only `items` from here on. What the
    // benchmark keeps (the truth, the batch details) is copied into fresh blocks first, so
    // that the rows' pages can go back to the system whole.
    let truth = s.truth.flatten();
    let (account_no, params) = (s.account_no.clone(), s.params.clone());
    let mut s = s;
    let details = std::mem::take(&mut s.batch_details);
    drop(s);
    trim_heap();
    // Copied again now that the freed space is in one piece: the copy is compact, and the
    // originals' pages go back too.
    let batch_details = details.clone();
    drop(details);
    trim_heap();
    let rss_inputs = status_kib("VmRSS:");
    // Reset the peak so that VmHWM below is the matching's own peak over the inputs.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let t = Instant::now();
    let (found, steps) = matching::match_items_timed(&account_no, &items, &batch_details, &RuleSet::default(), &params);
    let took = t.elapsed();
    let peak = peak_rss_kib();
    let t = Instant::now();
    let out = found.outcome(&items);
    let rendered = t.elapsed();
    let s = scenario::Scenario {
        account_no,
        entries: Vec::new(),
        records: Vec::new(),
        batch_details,
        params,
        truth: truth.expand(),
    };
    let score = scenario::score(&s, &out);
    let mut r = format!(
        "{ne} entries, {nr} records (generated in {generated:.2?}, rows {} MiB; loaded into the compact form in {loaded:.2?}: {} MiB held, RSS {} MiB)\n\
         matching {took:.3?}, peak RSS {} MiB (inputs included); {} matches, {} discrepancies (result {} MiB); precision {:.4}\n",
        rss_rows / 1024,
        items.heap_bytes() >> 20,
        rss_inputs / 1024,
        peak / 1024,
        found.match_count(),
        found.discrepancy_count(),
        found.heap_bytes() >> 20,
        score.precision()
    );
    for (step, d) in steps {
        let _ = writeln!(r, "  {step:<28} {d:.3?}");
    }
    let _ = writeln!(r, "  (details of all matches and discrepancies in words, for reports: {rendered:.3?})");
    r.push_str(&score.table());
    (score, r)
}

/// What `bench-reconcile` measured.
pub struct ReconcileFigures {
    pub set: crate::generate::SetSummary,
    pub generated_s: f64,
    pub seconds: f64,
    pub peak_rss_kib: u64,
    pub exit_code: i32,
    pub summary: String,
    /// The child's own account of its phases (one line each, with seconds).
    pub phases: String,
    /// Pairs against the delivery's truth (`truth.csv`).
    pub pairs: PairScore,
}

/// `reconcile`'s matches against the pairs a generated delivery holds.
#[derive(Clone, Debug, Default)]
pub struct PairScore {
    /// Entries that have their record (true pairs).
    pub truth: u64,
    /// Of them, matched to exactly their voucher.
    pub found: u64,
    /// Matched entries paired with something else than their truth (or that have none).
    pub wrong: u64,
}

/// Scores `out/matches.csv` against `truth.csv` (`account,bank_ref,voucher`).
pub fn score_pairs(truth: &Path, matches: &Path) -> anyhow::Result<PairScore> {
    let mut want: std::collections::HashMap<(String, String), String> = std::collections::HashMap::new();
    let mut r = csv::Reader::from_path(truth).with_context(|| truth.display().to_string())?;
    for row in r.records() {
        let row = row?;
        want.insert((row[0].to_string(), row[1].to_string()), row[2].to_string());
    }
    let text = std::fs::read_to_string(matches).with_context(|| matches.display().to_string())?;
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut score = PairScore { truth: want.len() as u64, ..PairScore::default() };
    for row in r.records() {
        let row = row?;
        match want.get(&(row[0].to_string(), row[1].to_string())) {
            Some(v) if v == &row[4] => score.found += 1,
            _ => score.wrong += 1,
        }
    }
    Ok(score)
}

/// Peak RSS of the largest child process waited for, in KiB (0 where unknown).
fn children_peak_kib() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is a valid, writable rusage; getrusage only writes into it.
        if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) } == 0 {
            return ru.ru_maxrss.max(0) as u64; // KiB on Linux
        }
    }
    0
}

/// `fundrecon bench-reconcile`: writes (or reuses) a delivery of `files` statement files
/// of `size_mb` MiB together in three formats with its books ([`generate::write_set`])
/// under `dir`, then runs `fundrecon reconcile` on it in a child process and reports its
/// wall time and peak RSS: the whole path, parse → import → match → reports.
pub fn reconcile(files: u64, size_mb: u64, dir: &Path) -> anyhow::Result<ReconcileFigures> {
    anyhow::ensure!((1..=100_000).contains(&files), "--files must be 1..=100000");
    anyhow::ensure!((1..=100_000).contains(&size_mb), "--size-mb must be 1..=100000");
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let stamp = dir.join("set.txt");
    let want = format!("files={files} size_mb={size_mb} seed=42 generator=5\n");
    let t = Instant::now();
    let set = match std::fs::read_to_string(&stamp) {
        Ok(s) if s.starts_with(&want) => {
            let num =
                |k: &str| -> u64 { s.split_whitespace().find_map(|w| w.strip_prefix(k)?.parse().ok()).unwrap_or(0) };
            generate::SetSummary { files, bytes: num("bytes="), entries: num("entries="), records: num("records=") }
        }
        _ => {
            for sub in ["statements", "books"] {
                let p = dir.join(sub);
                if p.exists() {
                    std::fs::remove_dir_all(&p).with_context(|| p.display().to_string())?;
                }
            }
            let set = generate::write_set(dir, files, size_mb << 20, 42)?;
            std::fs::write(
                &stamp,
                format!("{want}bytes={} entries={} records={}\n", set.bytes, set.entries, set.records),
            )?;
            set
        }
    };
    let generated_s = t.elapsed().as_secs_f64();
    let mut books: Vec<PathBuf> =
        std::fs::read_dir(dir.join("books"))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    books.sort();
    let of = |prefix: &str| -> Vec<PathBuf> {
        books
            .iter()
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix)))
            .cloned()
            .collect()
    };
    let out = dir.join("out");
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.env("FUNDRECON_LOG", "warn,fundrecon::job::reconcile=info");
    cmd.arg("reconcile").arg("--statements").arg(dir.join("statements")).arg("--out").arg(&out);
    let (d, r) = (of("disbursements"), of("receipts"));
    if !d.is_empty() {
        cmd.arg("--disbursements").args(&d);
    }
    if !r.is_empty() {
        cmd.arg("--receipts").args(&r);
    }
    let t = Instant::now();
    let child = cmd.output()?;
    let seconds = t.elapsed().as_secs_f64();
    let code = child.status.code().unwrap_or(-1);
    anyhow::ensure!(
        code == crate::job::EXIT_CLEAN || code == crate::job::EXIT_DISCREPANCIES,
        "reconcile failed ({code}): {}",
        String::from_utf8_lossy(&child.stderr)
    );
    let pairs = score_pairs(&dir.join("truth.csv"), &out.join("matches.csv"))?;
    Ok(ReconcileFigures {
        pairs,
        set,
        generated_s,
        seconds,
        peak_rss_kib: children_peak_kib(),
        exit_code: code,
        summary: String::from_utf8_lossy(&child.stdout).to_string(),
        phases: String::from_utf8_lossy(&child.stderr)
            .lines()
            .filter_map(|l| {
                let (_, rest) = l.split_once("reconcile phase ")?;
                let what = rest.split(" phase=").next().unwrap_or(rest);
                let secs: f64 = l.split_whitespace().find_map(|w| w.strip_prefix("seconds=")?.parse().ok())?;
                Some(format!("  {secs:>8.2} s  {what}\n"))
            })
            .collect(),
    })
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
