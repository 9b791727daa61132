//! Issue 15, the edges through the binary: a closed pipe (`| head`), file names that are
//! not UTF-8 (drop folder and SFTP), a book row in another currency, secrets in the
//! config, a login-form flood, two `run`s at once on one SQLite database.

mod common;
mod serve_common;

use common::*;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fundrecon"));
    c.env_remove("FUNDRECON_CONFIG").env_remove("FUNDRECON_DATABASE_URL").env("FUNDRECON_LOG", "error");
    c
}

fn fundrecon(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The demo copied into `dir` on SQLite; the config's path.
fn demo(dir: &Path) -> PathBuf {
    demo_copy(dir, &format!("sqlite://{}", dir.join("demo.db").display()))
}

fn run_demo(cfg: &Path) -> Output {
    fundrecon(&["run", "--config", cfg.to_str().unwrap(), "--date", "2024-03-22"])
}

// ---- 6. a broken pipe ----------------------------------------------------------------

/// An MT940 statement of `n` entries (far more JSON than a pipe holds).
fn big_mt940(n: usize) -> String {
    let mut s = String::from(":20:BIG\r\n:25:450012345678901234\r\n:28C:1/1\r\n:60F:C240321CNY0,00\r\n");
    for i in 0..n {
        s.push_str(&format!(":61:2403220322C1,00NTRFREF{i:06}\r\n:86:/REMI/收入 {i}\r\n"));
    }
    s.push_str(&format!(":62F:C240322CNY{n},00\r\n"));
    s
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("big.sta");
    std::fs::write(&file, big_mt940(20_000)).unwrap();
    let mut child = bin()
        .args(["parse", file.to_str().unwrap(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(!line.is_empty(), "the command printed something first");
    drop(out); // `| head -1`
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked") && !err.contains("Broken pipe") && !err.contains("RUST_BACKTRACE"), "{err}");
    // Ended by SIGPIPE, as `cat` is, or done before it wrote again.
    use std::os::unix::process::ExitStatusExt;
    assert!(status.signal() == Some(libc_sigpipe()) || status.success(), "{status:?}: {err}");
}

fn libc_sigpipe() -> i32 {
    13
}

// ---- 9. names that are not UTF-8 --------------------------------------------------------

/// `gbk-对账.sta` in GBK bytes.
fn gbk_name() -> std::ffi::OsString {
    let mut b = b"gbk-".to_vec();
    b.extend_from_slice(&[0xB6, 0xD4, 0xD5, 0xCB]);
    b.extend_from_slice(b".sta");
    std::ffi::OsStr::from_bytes(&b).to_os_string()
}

#[test]
fn a_gbk_file_name_in_the_drop_folder_is_fetched_by_its_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = demo(&tmp.path().join("plain"));
    let gbk = demo(&tmp.path().join("gbk"));
    let boc = tmp.path().join("gbk/demo/boc");
    std::fs::rename(boc.join("BOC_MT940_20240322.sta"), boc.join(gbk_name())).unwrap();
    let a = run_demo(&plain);
    let b = run_demo(&gbk);
    assert_eq!(a.status.code(), Some(1), "{}", text(&a.stderr));
    assert_eq!(b.status.code(), Some(1), "{}{}", text(&b.stdout), text(&b.stderr));
    for f in ["matches.csv", "discrepancies.csv", "reconciliation.csv"] {
        let day = |root: &str| read(&tmp.path().join(root).join("reports/2024-03-22").join(f));
        assert_eq!(day("plain"), day("gbk"), "{f}: the GBK-named statement was imported like the plain one");
    }
    // The batch names the file readably.
    let stdout = text(&b.stdout);
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("batch ").filter(|l| l.contains(" boc-drop ")))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("a boc batch: {stdout}"))
        .to_string();
    let show = fundrecon(&["runs", "show", &id, "--config", gbk.to_str().unwrap()]);
    let show = text(&show.stdout);
    assert!(show.lines().any(|l| l.contains("imported") && l.ends_with("gbk-对账.sta")), "{show}");
    // Pulled again: known, not fetched twice, nothing refused.
    let again = run_demo(&gbk);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stdout));
}

#[test]
fn a_gbk_file_name_over_sftp_is_refused_out_loud() {
    if !common::sshd::available("a_gbk_file_name_over_sftp_is_refused_out_loud") {
        return;
    }
    let srv = common::sshd::Sshd::start();
    let tmp = tempfile::tempdir().unwrap();
    let remote = srv.folder("boc");
    let fixture = Path::new(ROOT).join("fixtures/demo/boc/BOC_MT940_20240321.sta");
    std::fs::copy(&fixture, remote.join("BOC_MT940_20240321.sta")).unwrap();
    std::fs::copy(Path::new(ROOT).join("fixtures/demo/boc/BOC_MT940_20240322.sta"), remote.join(gbk_name())).unwrap();
    let cfg = tmp.path().join("sftp.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[general]
data_dir = "{data}"
output_dir = "{out}"
[[banks]]
id = "boc"
name = "BOC"
[[accounts]]
number = "450012345678901234"
name = "fiscal"
currency = "CNY"
bank = "boc"
role = "fiscal"
[[channels]]
name = "boc-sftp"
type = "sftp"
bank = "boc"
{channel}pattern = "*.sta"
format = "mt940"
"#,
            data = tmp.path().join("data").display(),
            out = tmp.path().join("reports").display(),
            channel = srv.channel_toml(&remote),
        ),
    )
    .unwrap();
    let out = fundrecon(&["run", "--config", cfg.to_str().unwrap(), "--date", "2024-03-22"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "a refused file fails its batch: {stdout}{}", text(&out.stderr));
    let line = stdout.lines().find(|l| l.contains("boc-sftp")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("failed") && line.contains("gbk-") && line.contains("is not UTF-8"), "{line}");
    assert!(line.contains("rename the file at the source"), "{line}");
}

// ---- 10. a book row in another currency --------------------------------------------------

const USD_ROW: &str = "USD1,450012345678901234,2024-03-22,100.00,USD,6222000000000001,Vendor,purchase,";

fn add_usd_row(csv: &Path) -> usize {
    let mut t = read(csv);
    if !t.ends_with('\n') {
        t.push('\n');
    }
    t.push_str(USD_ROW);
    t.push('\n');
    std::fs::write(csv, &t).unwrap();
    t.lines().count()
}

#[test]
fn a_book_row_in_another_currency_is_refused_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = demo(tmp.path());
    let csv = tmp.path().join("demo/books/disbursements.csv");
    let line = add_usd_row(&csv);
    let out = run_demo(&cfg);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "a refused book file fails the run: {stdout}");
    let want = format!(
        "books: {}: line {line}: field currency (column 5): \"USD\" is not the currency of account 450012345678901234 (CNY)",
        csv.display()
    );
    assert!(stdout.contains(&want), "want {want}\n{stdout}");
    // Not one record of the file entered the books (all or nothing).
    let db = tmp.path().join("demo.db");
    let count = Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT count(*) FROM book_records WHERE voucher_no = 'USD1'")
        .output()
        .map(|o| text(&o.stdout).trim().to_string());
    if let Ok(c) = count
        && !c.is_empty()
    {
        assert_eq!(c, "0");
    }

    // The one-shot reconcile: the account's currency is its first record's.
    let out = fundrecon(&[
        "reconcile",
        "--statements",
        tmp.path().join("demo/boc").to_str().unwrap(),
        "--disbursements",
        csv.to_str().unwrap(),
        "--out",
        tmp.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let want = format!(
        "{}: line {line}: field currency: \"USD\" is not the currency of account 450012345678901234 (CNY",
        csv.display()
    );
    assert!(err.contains(&want), "want {want}\n{err}");
}

// ---- 12. secrets in the config -------------------------------------------------------------

const SECRET: &str = "Hunter2-s3cret";

fn check(toml: &str) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("fundrecon.toml");
    std::fs::write(&p, toml).unwrap();
    let out = fundrecon(&["config", "check", "--config", p.to_str().unwrap()]);
    (out.status.code(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn config_check_never_prints_a_secret() {
    let key = format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ{SECRET}\\n-----END OPENSSH PRIVATE KEY-----"
    );
    let sftp = |key_file: &str| {
        format!(
            "[[banks]]\nid = \"boc\"\nname = \"BOC\"\n[[channels]]\nname = \"s\"\ntype = \"sftp\"\nbank = \"boc\"\nhost = \"h\"\n\
             user = \"u\"\nremote_dir = \"/out\"\nhost_key = \"SHA256:{}\"\nkey_file = \"{key_file}\"\n",
            "A".repeat(43)
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (format!("[general]\ndatabase_url = \"postgres://u@h/db?password={SECRET}\"\n"), "general.database_url"),
        (
            format!("[general]\ndatabase_url = \"postgres://u@h/db?sslmode=require&sslpassword={SECRET}\"\n"),
            "general.database_url",
        ),
        (format!("[general]\ndatabase_url = \"postgresql://u@h/db?PassWord={SECRET}\"\n"), "general.database_url"),
        (format!("[general]\ndatabase_url = \"postgres://u:{SECRET}@h/db\"\n"), "general.database_url"),
        (sftp(&key), "channels[0].key_file"),
        (sftp(&format!("/no/such/{SECRET}")), "channels[0].key_file"),
        // Syntax errors: a key the config does not know, a value of the wrong type, a
        // string left open: line and column, never the line's text.
        (format!("[general]\npassword = \"{SECRET}\"\n"), "line 2, column 1"),
        (format!("[general]\ntimezone = \"Asia/Shanghai\"\ndatabase_url = [\"{SECRET}\"]\n"), "line 3"),
        (
            format!(
                "[[banks]]\nid = \"boc\"\nname = \"BOC\"\n[[channels]]\nname = \"c\"\ntype = \"dir\"\nbank = \"boc\"\nport = \"{SECRET}\"\n"
            ),
            "line 8",
        ),
        (format!("[general]\ndatabase_url = \"postgres://h/db?password={SECRET}\n"), "line 2"),
    ];
    for (toml, place) in cases {
        let (code, out) = check(&toml);
        assert_eq!(code, Some(2), "{toml}\n{out}");
        assert!(out.contains(place), "{place} named:\n{toml}\n{out}");
        assert!(!out.contains(SECRET) && !out.contains("b3BlbnNzaC1rZXkt"), "secret printed:\n{toml}\n{out}");
    }
    // What names no secret still passes.
    let (code, out) = check(
        "[general]\ndatabase_url = \"postgres://u@h/db?sslmode=verify-full&sslkey=/etc/k.pem&passfile=/etc/pgpass\"\n",
    );
    assert_eq!(code, Some(0), "{out}");
}

// ---- 13. a login-form flood ------------------------------------------------------------------

/// `n` pipelined `GET /login` on one connection from `from`; the status of each answer.
async fn flood(addr: std::net::SocketAddr, from: &str, n: usize) -> Vec<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let stream = sock.connect(addr).await.unwrap();
    let (mut r, mut w) = stream.into_split();
    let writer = tokio::spawn(async move {
        for i in 0..n {
            let close = if i + 1 == n { "Connection: close\r\n" } else { "" };
            w.write_all(format!("GET /login HTTP/1.1\r\nHost: {addr}\r\n{close}\r\n").as_bytes()).await.unwrap();
        }
    });
    let mut raw = Vec::new();
    r.read_to_end(&mut raw).await.unwrap();
    writer.await.unwrap();
    let t = String::from_utf8_lossy(&raw);
    t.match_indices("HTTP/1.1 ").map(|(i, _)| t[i + 9..i + 12].parse().unwrap()).collect()
}

/// GET /login then POST it from `from` (a loopback address); the POST's status.
async fn login_from(addr: std::net::SocketAddr, from: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = |req: String| async move {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(format!("{from}:0").parse().unwrap()).unwrap();
        let mut s = sock.connect(addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.unwrap();
        String::from_utf8_lossy(&raw).into_owned()
    };
    let page = exchange(format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")).await;
    assert!(page.starts_with("HTTP/1.1 200"), "{}", &page[..page.len().min(300)]);
    let i = page.find("name=\"csrf\" value=\"").expect("a login form") + 19;
    let token = &page[i..i + page[i..].find('"').unwrap()];
    let (user, pw) = serve_common::REVIEWER;
    let body = format!("csrf={token}&user={}&password={}", serve_common::enc(user), serve_common::enc(pw));
    let resp = exchange(format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nCookie: {}={token}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        fundrecon::serve::auth::LOGIN_COOKIE,
        body.len()
    ))
    .await;
    resp[9..12].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_form_flood_from_one_client_locks_nobody_out() {
    let d = serve_common::start(None, false).await;
    let n = fundrecon::serve::auth::MAX_LOGIN_FORMS + 200;
    let statuses = flood(d.addr, "127.0.0.1", n).await;
    // More forms than the whole bound (the old code answered 429 to everyone past it).
    assert!(statuses.len() > fundrecon::serve::auth::MAX_LOGIN_FORMS + 100, "{} answers", statuses.len());
    assert!(statuses.iter().all(|s| *s == 200), "every form is served: {:?}", statuses.iter().find(|s| **s != 200));
    assert_eq!(login_from(d.addr, "127.0.0.2").await, 303, "another client logs in during the flood");
    assert_eq!(login_from(d.addr, "127.0.0.1").await, 303, "the flooding address's newest form still works");
}

// ---- 18. two runs on one SQLite database -----------------------------------------------------

#[test]
fn two_runs_at_once_on_one_sqlite_database_one_refuses_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = demo(tmp.path());
    let start = || {
        bin()
            .args(["run", "--config", cfg.to_str().unwrap(), "--date", "2024-03-22"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // On a new database (both create its tables), then on the one they made.
    for round in ["new database", "existing database"] {
        let (a, b) = (start(), start());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let all = format!("{round}:\n{}{}{}{}", text(&a.stdout), text(&a.stderr), text(&b.stdout), text(&b.stderr));
        assert!(!all.contains("database is locked") && !all.contains("already exists"), "{all}");
        let codes = [a.status.code(), b.status.code()];
        let refused: Vec<&Output> = [&a, &b].into_iter().filter(|o| o.status.code() == Some(2)).collect();
        match refused[..] {
            // One ran (the demo has discrepancies: 1), the other refused at once in one line.
            [r] => {
                assert!(codes.contains(&Some(1)), "{codes:?}: {all}");
                let err = text(&r.stderr);
                assert_eq!(err.lines().count(), 1, "{all}");
                let holder = "error: another fundrecon run holds ";
                assert!(err.starts_with(holder) && err.contains("demo.db (pid ") && err.contains(", since "), "{all}");
                assert!(err.contains("wait for it to finish or stop it"), "{all}");
            }
            // Or they did not overlap at all: both ran.
            [] => assert_eq!(codes, [Some(1), Some(1)], "{all}"),
            _ => panic!("both failed: {all}"),
        }
    }
    // The lock was given back and the data is whole: one more run gives the demo's reports.
    let again = run_demo(&cfg);
    assert_eq!(again.status.code(), Some(1), "{}{}", text(&again.stdout), text(&again.stderr));
    golden("fixtures/demo/expected/matches.csv", &read(&tmp.path().join("reports/2024-03-22/matches.csv")));
}
