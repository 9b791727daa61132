//! The SFTP channel against a real OpenSSH server on 127.0.0.1 (tests/common/sshd.rs):
//! pulls through the daily job and through the channel alone, skipping what was fetched,
//! host and user key refusal, a server killed mid-transfer, hostile names, size limits,
//! after-pull move and delete, retries. Nothing connects anywhere but 127.0.0.1.

mod common;

use common::sshd::{Sshd, available};
use common::*;
use fundrecon::archive::{Archive, sha256_hex};
use fundrecon::config::Config;
use fundrecon::fetch::{self, FetchError, Pull, Sink};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Archives like the daily job, remembers what it kept.
struct TestSink {
    archive: Archive,
    tmp: PathBuf,
    kept: Vec<(String, String)>,
}

impl TestSink {
    fn new(data: &Path) -> TestSink {
        let archive = Archive::open(&data.join("archive")).unwrap();
        TestSink { archive, tmp: data.join("archive/tmp"), kept: Vec::new() }
    }
    fn names(&self) -> Vec<&str> {
        self.kept.iter().map(|(n, _)| n.as_str()).collect()
    }
}

impl Sink for TestSink {
    fn tmp_dir(&self) -> &Path {
        &self.tmp
    }
    async fn keep(&mut self, file: fetch::Downloaded) -> anyhow::Result<bool> {
        let (name, sha) = (file.name.clone(), file.sha256.clone());
        let new = fetch::into_archive(&self.archive, file)?;
        self.kept.push((name, sha));
        Ok(new)
    }
}

/// A config with one sftp channel on `srv` (extra TOML lines appended to the channel).
fn config(dir: &Path, srv: &Sshd, remote: &Path, extra: &str) -> Config {
    let text = format!(
        r#"
[general]
data_dir = "{data}"
[[banks]]
id = "boc"
name = "BOC"
[[channels]]
name = "boc-sftp"
type = "sftp"
bank = "boc"
{channel}pattern = "*.sta"
retry_delay_ms = 10
{extra}
"#,
        data = dir.join("data").display(),
        channel = srv.channel_toml(remote),
    );
    let mut cfg = Config::parse(&text).unwrap();
    cfg.base_dir = dir.to_path_buf();
    let problems = cfg.check();
    assert!(problems.is_empty(), "{problems:?}");
    cfg
}

async fn pull(cfg: &Config, sink: &mut TestSink) -> Result<Pull, FetchError> {
    fetch::open(cfg, &cfg.channels[0]).pull(sink).await
}

fn refused_names(p: &Pull) -> Vec<String> {
    let mut v: Vec<String> = p
        .refused
        .iter()
        .map(|r| match r {
            FetchError::Refused { name, .. } => name.clone(),
            other => panic!("{other}"),
        })
        .collect();
    v.sort();
    v
}

fn tmp_is_empty(data: &Path) -> bool {
    std::fs::read_dir(data.join("archive/tmp")).unwrap().next().is_none()
}

#[tokio::test]
async fn daily_job_pulls_two_banks_then_nothing_new() {
    if !available("daily_job_pulls_two_banks_then_nothing_new") {
        return;
    }
    let srv = Sshd::start();
    let tmp = tempfile::tempdir().unwrap();
    let date = chrono::NaiveDate::from_ymd_opt(2024, 3, 22).unwrap();
    let opts = fundrecon::job::daily::Options { date, rerun: None, progress: false };
    // The reference: the same demo through its drop folders.
    let reference = {
        let dir = tmp.path().join("ref");
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("ref.db").display());
        let cfg = Config::load(&demo_copy(&dir, &url)).unwrap();
        let store = fundrecon::store::Store::open(&cfg.database_url()).await.unwrap();
        let out = fundrecon::job::daily::run(&cfg, &store, &opts).await.unwrap();
        store.close().await;
        (read(&out.report_dir.join("matches.csv")), read(&out.report_dir.join("discrepancies.csv")))
    };
    for b in backends(tmp.path(), "sftp").await {
        let dir = tmp.path().join(b.name);
        let cfg_path = demo_copy(&dir, &b.url);
        // The demo's drop folders, served over SFTP instead.
        let text = read(&cfg_path);
        let (head, rest) = text.split_once("\n[[channels]]\n").unwrap();
        let books = &rest[rest.find("[[books]]").unwrap()..];
        let mut channels = String::new();
        // ICBC also sends its two statements again zipped: the zip's members are the same
        // files, counted once.
        for (bank, pattern) in [("boc", "*.sta"), ("icbc", "*")] {
            let remote = srv.folder(&format!("{}-{bank}", b.name));
            copy_dir(&dir.join("demo").join(bank), &remote);
            if bank == "icbc" {
                std::fs::copy(Path::new(ROOT).join("fixtures/zip/ICBC_20240322.zip"), remote.join("ICBC_20240322.zip"))
                    .unwrap();
            }
            channels.push_str(&format!(
                "[[channels]]\nname = \"{bank}-sftp\"\ntype = \"sftp\"\nbank = \"{bank}\"\nhost = \"127.0.0.1\"\n\
                 port = {}\nuser = \"{}\"\nkey_file = \"{}\"\nhost_key = \"{}\"\nremote_dir = \"{}\"\n\
                 pattern = \"{pattern}\"\n\n",
                srv.port,
                srv.user,
                srv.client_key.display(),
                srv.known_hosts,
                remote.display()
            ));
        }
        std::fs::write(&cfg_path, format!("{head}\n{channels}{books}")).unwrap();
        let cfg = Config::load(&cfg_path).unwrap();
        let store = fundrecon::store::Store::open(&cfg.database_url()).await.unwrap();
        let first = fundrecon::job::daily::run(&cfg, &store, &opts).await.unwrap();
        for r in &first.runs {
            assert_eq!(r.state, "done", "{}: {:?}\n{}", b.name, r.error, srv.log());
            let s: serde_json::Value = serde_json::from_str(r.summary.as_deref().unwrap()).unwrap();
            let files = if r.channel == "icbc-sftp" { 3 } else { 2 };
            assert_eq!(s["files_fetched"], files, "{}: {s}", r.channel);
        }
        let m = read(&first.report_dir.join("matches.csv"));
        let d = read(&first.report_dir.join("discrepancies.csv"));
        assert_eq!((&m, &d), (&reference.0, &reference.1), "{}: same reports as through drop folders", b.name);
        let counts = store.table_counts().await.unwrap();
        // Second pull: nothing new is downloaded; reports and rows unchanged.
        let again = fundrecon::job::daily::run(&cfg, &store, &opts).await.unwrap();
        for r in &again.runs {
            assert_eq!(r.state, "done", "{:?}", r.error);
            let s: serde_json::Value = serde_json::from_str(r.summary.as_deref().unwrap()).unwrap();
            let files = if r.channel == "icbc-sftp" { 3 } else { 2 };
            assert_eq!((s["files_fetched"].as_u64(), s["files_known"].as_u64()), (Some(0), Some(files)), "{s}");
        }
        assert_eq!(read(&again.report_dir.join("matches.csv")), m);
        assert_eq!(store.table_counts().await.unwrap(), counts);
        store.close().await;
    }
}

#[tokio::test]
async fn pulls_skip_known_files_and_refetch_changed_ones() {
    if !available("pulls_skip_known_files_and_refetch_changed_ones") {
        return;
    }
    let srv = Sshd::start();
    let tmp = tempfile::tempdir().unwrap();
    let remote = srv.folder("boc");
    for i in 0..5 {
        std::fs::write(remote.join(format!("f{i}.sta")), format!("statement {i}\n")).unwrap();
    }
    std::fs::write(remote.join("notes.txt"), "not matched by the pattern").unwrap();
    let cfg = config(tmp.path(), &srv, &remote, "");
    let mut sink = TestSink::new(&tmp.path().join("data"));
    let p = pull(&cfg, &mut sink).await.unwrap();
    assert_eq!(sink.names(), ["f0.sta", "f1.sta", "f2.sta", "f3.sta", "f4.sta"]);
    assert_eq!((p.kept.len(), p.new_content, p.known, p.attempts), (5, 5, 0, 1));
    for (name, sha) in &sink.kept {
        assert_eq!(sink.archive.get(sha).unwrap(), std::fs::read(remote.join(name)).unwrap());
    }
    assert!(remote.join("f0.sta").exists(), "after_pull defaults to leave");

    // Second pull: nothing new.
    let p = pull(&cfg, &mut sink).await.unwrap();
    assert_eq!((p.kept.len(), p.known), (0, 5));

    // The same name with new content: a new size, and (same size) a new mtime.
    std::fs::write(remote.join("f1.sta"), "statement 1, corrected\n").unwrap();
    std::fs::write(remote.join("f2.sta"), "statement X\n").unwrap();
    let f2 = std::fs::File::options().write(true).open(remote.join("f2.sta")).unwrap();
    f2.set_modified(std::time::SystemTime::now() + Duration::from_secs(5)).unwrap();
    let p = pull(&cfg, &mut sink).await.unwrap();
    assert_eq!(p.kept, ["f1.sta", "f2.sta"]);
    assert_eq!(p.new_content, 2);
    assert_eq!(sink.archive.get(&sink.kept[6].1).unwrap(), b"statement X\n");

    // The same bytes under a new name are downloaded (new name) but are no new content.
    std::fs::copy(remote.join("f3.sta"), remote.join("f3-resend.sta")).unwrap();
    let p = pull(&cfg, &mut sink).await.unwrap();
    assert_eq!((p.kept.len(), p.new_content), (1, 0));
    assert!(tmp_is_empty(&tmp.path().join("data")));
}

#[tokio::test]
async fn wrong_host_key_and_wrong_user_key_are_refused_at_once() {
    if !available("wrong_host_key_and_wrong_user_key_are_refused_at_once") {
        return;
    }
    let srv = Sshd::start();
    let tmp = tempfile::tempdir().unwrap();
    let remote = srv.folder("boc");
    std::fs::write(remote.join("a.sta"), "x").unwrap();
    let mut sink = TestSink::new(&tmp.path().join("data"));

    let mut cfg = config(tmp.path(), &srv, &remote, "retries = 5");
    cfg.channels[0].retry_delay_ms = 2000;
    cfg.channels[0].host_key = Some(srv.other_host_key.clone());
    let t = Instant::now();
    let e = pull(&cfg, &mut sink).await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("host key mismatch") && msg.contains("SHA256:"), "{msg}");
    assert!(!e.is_transient(), "{msg}");
    assert!(t.elapsed() < Duration::from_secs(2), "not retried");

    // The same, pinned by fingerprint; and the right fingerprint works.
    let other = fetch::sftp::HostKeyPin::parse(&srv.other_host_key).unwrap().fingerprint();
    cfg.channels[0].host_key = Some(other);
    assert!(pull(&cfg, &mut sink).await.unwrap_err().to_string().contains("host key mismatch"));
    let right = fetch::sftp::HostKeyPin::parse(&srv.known_hosts).unwrap().fingerprint();
    cfg.channels[0].host_key = Some(right);
    assert_eq!(pull(&cfg, &mut sink).await.unwrap().kept, ["a.sta"]);

    let mut cfg = config(tmp.path(), &srv, &remote, "retries = 5");
    cfg.channels[0].retry_delay_ms = 2000;
    cfg.channels[0].key_file = Some(srv.stranger_key.clone());
    let t = Instant::now();
    let e = pull(&cfg, &mut sink).await.unwrap_err();
    assert!(e.to_string().contains("refused the login"), "{e}");
    assert!(!e.to_string().contains("PRIVATE"), "{e}");
    assert!(!e.is_transient() && t.elapsed() < Duration::from_secs(2));

    // A missing remote folder is permanent too.
    let mut cfg = config(tmp.path(), &srv, &remote.join("nope"), "retries = 5");
    cfg.channels[0].retry_delay_ms = 2000;
    let t = Instant::now();
    let e = pull(&cfg, &mut sink).await.unwrap_err();
    assert!(e.to_string().contains("list") && !e.is_transient(), "{e}");
    assert!(t.elapsed() < Duration::from_secs(2), "not retried");
    assert_eq!(sink.names(), ["a.sta"]);
}

#[tokio::test]
async fn connection_refused_is_retried_with_backoff_then_fails() {
    if !available("connection_refused_is_retried_with_backoff_then_fails") {
        return;
    }
    let srv = Sshd::start();
    let tmp = tempfile::tempdir().unwrap();
    let remote = srv.folder("boc");
    let mut cfg = config(tmp.path(), &srv, &remote, "retries = 2");
    // A port nobody listens on.
    cfg.channels[0].port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut sink = TestSink::new(&tmp.path().join("data"));
    let e = pull(&cfg, &mut sink).await.unwrap_err();
    match &e {
        FetchError::GaveUp { attempts, last, .. } => {
            assert_eq!(*attempts, 3);
            assert!(last.to_string().to_lowercase().contains("refused"), "{last}");
        }
        other => panic!("{other}"),
    }
}

/// Writes `n` bytes of varied content.
fn big_file(path: &Path, n: usize) -> String {
    let mut data = Vec::with_capacity(n);
    let mut x: u64 = 0x9e3779b97f4a7c15;
    while data.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(n);
    std::fs::write(path, &data).unwrap();
    sha256_hex(&data)
}

/// Runs a pull, and kills the server's session processes once a partial download of at
/// least `at` bytes exists in the archive's tmp folder.
async fn pull_and_kill(cfg: &Config, sink: &mut TestSink, srv: &Sshd, at: u64) -> (Result<Pull, FetchError>, bool) {
    let tmp = sink.tmp.clone();
    let watch = async {
        loop {
            let grown = std::fs::read_dir(&tmp).unwrap().flatten().any(|e| e.metadata().is_ok_and(|m| m.len() >= at));
            if grown {
                return srv.kill_sessions() > 0;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let job = pull(cfg, sink);
    tokio::pin!(job);
    tokio::select! {
        r = &mut job => (r, false),
        killed = watch => (job.await, killed),
    }
}

#[tokio::test]
async fn server_killed_mid_transfer_records_nothing_and_the_next_pull_gets_it_whole() {
    if !available("server_killed_mid_transfer") {
        return;
    }
    let srv = Sshd::start();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let remote = srv.folder("boc");
    let sha = big_file(&remote.join("big.sta"), 96 << 20);
    let mut sink = TestSink::new(&data);

    let cfg = config(tmp.path(), &srv, &remote, "retries = 0");
    let (r, killed) = pull_and_kill(&cfg, &mut sink, &srv, 8 << 20).await;
    assert!(killed, "the transfer finished before the kill: make the file bigger");
    let e = r.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(sink.kept.is_empty(), "nothing recorded");
    assert!(tmp_is_empty(&data), "no half file left");
    assert!(!sink.archive.path_of(&sha).exists());

    // The next pull gets it whole.
    let p = pull(&cfg, &mut sink).await.unwrap();
    assert_eq!(p.kept, ["big.sta"]);
    assert_eq!(sink.kept[0].1, sha);
    assert_eq!(sha256_hex(&std::fs::read(sink.archive.path_of(&sha)).unwrap()), sha);

    // With retries, the same pull recovers by itself.
    std::fs::rename(remote.join("big.sta"), remote.join("big2.sta")).unwrap();
    let cfg = config(tmp.path(), &srv, &remote, "retries = 3");
    let (r, killed) = pull_and_kill(&cfg, &mut sink, &srv, 8 << 20).await;
    let p = r.unwrap();
    assert!(killed);
    assert_eq!((p.kept.as_slice(), p.attempts), (["big2.sta".to_string()].as_slice(), 2));
    assert_eq!(sink.kept[1].1, sha);
    assert!(tmp_is_empty(&data));
}

#[tokio::test]
async fn hostile_names_empty_and_oversize_files_are_refused() {
    if !available("hostile_names_empty_and_oversize_files_are_refused") {
        return;
    }
    let srv = Sshd::start();
    let tmp = tempfile::tempdir().unwrap();
    let remote = srv.folder("boc");
    std::fs::write(remote.join("good.sta"), "ok").unwrap();
    std::fs::write(remote.join("esc\u{1b}[31mred.sta"), "x").unwrap();
    std::fs::write(remote.join("tab\there.sta"), "x").unwrap();
    std::fs::write(remote.join("back\\slash.sta"), "x").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", remote.join("passwd.sta")).unwrap();
    std::os::unix::fs::symlink("..", remote.join("up.sta")).unwrap();
    std::fs::write(remote.join("empty.sta"), "").unwrap();
    std::fs::write(remote.join("big.sta"), vec![b'x'; 2000]).unwrap();
    let cfg = config(tmp.path(), &srv, &remote, "max_file_bytes = 1000");
    let mut sink = TestSink::new(&tmp.path().join("data"));
    let p = pull(&cfg, &mut sink).await.unwrap();
    assert_eq!(sink.names(), ["good.sta"]);
    assert_eq!(
        refused_names(&p),
        ["back\\slash.sta", "big.sta", "empty.sta", "esc\u{1b}[31mred.sta", "passwd.sta", "tab\there.sta", "up.sta"]
    );
    for r in &p.refused {
        assert!(!r.to_string().contains('\u{1b}'), "names are quoted escaped in messages: {r}");
    }
    assert!(remote.join("empty.sta").exists() && remote.join("big.sta").exists(), "refused files stay");
    // Once the empty file has content it is fetched.
    std::fs::write(remote.join("empty.sta"), "now written").unwrap();
    let p = pull(&cfg, &mut sink).await.unwrap();
    assert_eq!(p.kept, ["empty.sta"]);
}

#[tokio::test]
async fn after_pull_move_and_delete() {
    if !available("after_pull_move_and_delete") {
        return;
    }
    let srv = Sshd::start();
    let tmp = tempfile::tempdir().unwrap();
    let remote = srv.folder("boc");
    let done = srv.folder("boc/processed");
    for n in ["a.sta", "b.sta"] {
        std::fs::write(remote.join(n), format!("content of {n}")).unwrap();
    }
    // An older a.sta is already in processed/: never overwritten.
    std::fs::write(done.join("a.sta"), "older").unwrap();
    let cfg = config(tmp.path(), &srv, &remote, "after_pull = \"move\"\nmove_to = \"processed\"");
    let mut sink = TestSink::new(&tmp.path().join("data"));
    let p = pull(&cfg, &mut sink).await.unwrap();
    assert_eq!(p.kept, ["a.sta", "b.sta"]);
    assert!(p.after_pull_failed.is_empty(), "{:?}", p.after_pull_failed);
    assert!(!remote.join("a.sta").exists() && !remote.join("b.sta").exists());
    assert_eq!(std::fs::read(done.join("a.sta")).unwrap(), b"older");
    let a_sha = &sink.kept[0].1;
    assert_eq!(std::fs::read(done.join(format!("{}.a.sta", &a_sha[..12]))).unwrap(), b"content of a.sta");
    assert_eq!(std::fs::read(done.join("b.sta")).unwrap(), b"content of b.sta");
    let p = pull(&cfg, &mut sink).await.unwrap();
    assert_eq!((p.kept.len(), p.known), (0, 0));

    let remote = srv.folder("icbc");
    std::fs::write(remote.join("c.sta"), "c").unwrap();
    let cfg = config(tmp.path(), &srv, &remote, "after_pull = \"delete\"");
    let p = pull(&cfg, &mut sink).await.unwrap();
    assert_eq!(p.kept, ["c.sta"]);
    assert!(!remote.join("c.sta").exists());
    assert_eq!(sink.archive.get(&sink.kept[2].1).unwrap(), b"c");
}

#[test]
fn config_check_names_sftp_problems() {
    let cfg = Config::parse(
        r#"
[[banks]]
id = "boc"
name = "BOC"
[[channels]]
name = "a"
type = "sftp"
bank = "boc"
host_key = "SHA256:nope"
after_pull = "move"
[[channels]]
name = "b"
type = "dir"
bank = "boc"
path = "."
host = "example.org"
after_pull = "shred"
"#,
    )
    .unwrap();
    let got: Vec<String> = cfg.check().into_iter().map(|p| p.to_string()).collect();
    let paths: Vec<&str> = got.iter().map(|p| p.split(':').next().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "channels[0].host",
            "channels[0].user",
            "channels[0].remote_dir",
            "channels[0].key_file",
            "channels[0].host_key",
            "channels[0].move_to",
            "channels[1].host",
            "channels[1].after_pull",
        ],
        "{got:#?}"
    );
}

/// Throughput over loopback: 1,000 small files, then one 200 MB file. Prints; asserts
/// only completeness. `cargo test --release --test sftp -- --ignored --nocapture throughput`
#[tokio::test]
#[ignore = "benchmark, not a test: run in release with --ignored --nocapture"]
async fn throughput() {
    if !available("throughput") {
        return;
    }
    let srv = Sshd::start();
    let tmp = tempfile::tempdir().unwrap();
    let remote = srv.folder("many");
    for i in 0..1000 {
        std::fs::write(remote.join(format!("s{i:04}.sta")), format!("{:0>2000}\n", i)).unwrap();
    }
    let cfg = config(tmp.path(), &srv, &remote, "");
    let mut sink = TestSink::new(&tmp.path().join("data"));
    let t = Instant::now();
    let p = pull(&cfg, &mut sink).await.unwrap();
    let s = t.elapsed().as_secs_f64();
    assert_eq!(p.kept.len(), 1000);
    println!("1000 small files (2 KB): {s:.2} s, {:.0} files/s", 1000.0 / s);
    let t = Instant::now();
    let p = pull(&cfg, &mut sink).await.unwrap();
    println!("second pull, 1000 known: {:.3} s ({} known)", t.elapsed().as_secs_f64(), p.known);

    let remote = srv.folder("big");
    let sha = big_file(&remote.join("big.sta"), 200 << 20);
    let cfg = config(tmp.path(), &srv, &remote, "");
    let t = Instant::now();
    let p = pull(&cfg, &mut sink).await.unwrap();
    let s = t.elapsed().as_secs_f64();
    assert_eq!(p.kept, ["big.sta"]);
    assert_eq!(sink.kept.last().unwrap().1, sha);
    println!("one 200 MiB file: {s:.2} s, {:.1} MiB/s (connect, download, hash, fsync, archive)", 200.0 / s);
}

/// Issue 15, point 5, through the binary: a worker's batch whose server offers another
/// host key than the pinned one fails at its fetch, with the refusal named as permanent
/// (not "connection refused", which reads as transient); no later stage runs or shows done,
/// and a rerun from `parse` is refused for the plain rerun.
#[tokio::test]
async fn a_refused_host_key_fails_the_worker_batch_at_its_fetch() {
    if !available("a_refused_host_key_fails_the_worker_batch_at_its_fetch") {
        return;
    }
    const BIN: &str = env!("CARGO_BIN_EXE_fundrecon");
    let srv = Sshd::start();
    let tmp = tempfile::tempdir().unwrap();
    for b in backends(tmp.path(), "hostkey").await {
        let dir = tmp.path().join(b.name);
        let cfg_path = demo_copy(&dir, &b.url);
        let text = read(&cfg_path);
        let (head, rest) = text.split_once("\n[[channels]]\n").unwrap();
        let books = &rest[rest.find("[[books]]").unwrap()..];
        let remote = srv.folder(&format!("{}-hostkey", b.name));
        copy_dir(&dir.join("demo/boc"), &remote);
        let channels = format!(
            "[[channels]]\nname = \"boc-sftp\"\ntype = \"sftp\"\nbank = \"boc\"\nhost = \"127.0.0.1\"\nport = {}\n\
             user = \"{}\"\nkey_file = \"{}\"\nhost_key = \"{}\"\nremote_dir = \"{}\"\npattern = \"*.sta\"\n\
             retry_delay_ms = 10\n\n[[channels]]\nname = \"icbc-drop\"\ntype = \"dir\"\nbank = \"icbc\"\npath = \"{}\"\npattern = \"*.xml\"\n\n",
            srv.port,
            srv.user,
            srv.client_key.display(),
            srv.other_host_key,
            remote.display(),
            dir.join("demo/icbc").display()
        );
        let worker = "\n[worker]\nlease_secs = 3\npoll_secs = 1\nbackoff_secs = 0\nmax_attempts = 3\n";
        std::fs::write(&cfg_path, format!("{head}\n{channels}{books}{worker}")).unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new(BIN)
                .args(args)
                .args(["--config", cfg_path.to_str().unwrap()])
                .env("FUNDRECON_LOG", "warn")
                .output()
                .unwrap();
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
        };
        let (code, out, err) = run(&["runs", "queue", "--date", "2024-03-22", "--channel", "boc-sftp"]);
        assert_eq!(code, 0, "{out}{err}");
        let id = out.split_whitespace().nth(1).unwrap().to_string();
        let (code, out, err) = run(&["worker", "--drain", "--id", "hk"]);
        assert_eq!(code, 0, "{out}{err}");

        let (_, show, _) = run(&["runs", "show", &id]);
        assert!(show.contains("state: failed\n"), "{}: {show}", b.name);
        assert!(
            show.contains("host key mismatch: the server offered SHA256:")
                && show.contains("refused by the pinned host key (permanent, not retried)"),
            "{}: {show}",
            b.name
        );
        assert!(!show.to_lowercase().contains("connection refused"), "{}: {show}", b.name);
        let stages: Vec<&str> = show.lines().filter(|l| l.starts_with("  ") && l.contains(" try ")).collect();
        assert_eq!(stages.len(), 1, "{}: only the fetch ran: {show}", b.name);
        assert!(
            stages[0].trim_start().starts_with("fetching  try 1 by hk")
                && stages[0].contains("failed: fetching: channel boc-sftp: ")
                && stages[0].contains("host key mismatch"),
            "{}: {show}",
            b.name
        );
        let (code, _, err) = run(&["runs", "rerun", &id, "--from-stage", "parse"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(&format!("`fundrecon runs rerun {id}`")) && err.contains("host key mismatch"), "{err}");
    }
}
