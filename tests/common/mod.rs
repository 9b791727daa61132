//! Shared test support: backends (SQLite always, PostgreSQL when `FUNDRECON_TEST_PG` is
//! set), demo copies in temp folders, golden-file comparison.
#![allow(dead_code)]
pub mod sshd;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `FUNDRECON_BLESS=1` rewrites golden files instead of comparing.
pub fn bless() -> bool {
    std::env::var_os("FUNDRECON_BLESS").is_some()
}

/// Compares `got` with the golden file (path relative to the crate root).
pub fn golden(rel: &str, got: &str) {
    let path = Path::new(ROOT).join(rel);
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (FUNDRECON_BLESS=1 creates it)", path.display()));
    if want != got {
        panic!(
            "{} differs from what the code produced:\n--- want\n{want}\n--- got\n{got}\n(FUNDRECON_BLESS=1 rewrites it after an intended change)",
            path.display()
        );
    }
}

/// A database for one test. SQLite: a file in `dir`. PostgreSQL: a fresh schema in the
/// server named by `FUNDRECON_TEST_PG`, selected through the connection's search_path.
pub struct Backend {
    pub name: &'static str,
    pub url: String,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

pub fn pg_base() -> Option<String> {
    std::env::var("FUNDRECON_TEST_PG").ok().filter(|s| !s.is_empty())
}

/// The backends to run a test on. Prints a line when PostgreSQL is skipped.
pub async fn backends(dir: &Path, test: &str) -> Vec<Backend> {
    let mut v = vec![Backend { name: "sqlite", url: format!("sqlite://{}", dir.join("test.db").display()) }];
    match pg_base() {
        Some(base) => {
            let schema = format!("fr_{}_{}_{}", test, std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
            let out = std::process::Command::new("psql")
                .args([
                    base.as_str(),
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"),
                ])
                .output()
                .expect("psql runs");
            assert!(out.status.success(), "creating schema: {}", String::from_utf8_lossy(&out.stderr));
            let sep = if base.contains('?') { '&' } else { '?' };
            v.push(Backend { name: "postgres", url: format!("{base}{sep}options[search_path]={schema}") });
        }
        None => eprintln!("{test}: PostgreSQL part skipped (FUNDRECON_TEST_PG not set)"),
    }
    v
}

/// Copies the demo inputs into `dir/demo` and writes a config there pointing at them.
/// Returns the config path.
pub fn demo_copy(dir: &Path, database_url: &str) -> PathBuf {
    let src = Path::new(ROOT).join("fixtures/demo");
    copy_dir(&src, &dir.join("demo"));
    let text = std::fs::read_to_string(Path::new(ROOT).join("ops/demo.toml")).unwrap();
    let text = text
        .replace("../fixtures/demo/", &format!("{}/demo/", dir.display()))
        .replace("data_dir = \"demo-data\"", &format!("data_dir = \"{}/data\"", dir.display()))
        .replace("output_dir = \"demo-reports\"", &format!("output_dir = \"{}/reports\"", dir.display()))
        .replace("# database_url = \"\"", &format!("database_url = \"{database_url}\""));
    let cfg = dir.join("fundrecon.toml");
    std::fs::write(&cfg, text).unwrap();
    cfg
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &dst.join(e.file_name()));
        } else {
            std::fs::copy(&p, dst.join(e.file_name())).unwrap();
        }
    }
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Writes a zip of `members` (name, bytes; deflate) at `path`.
pub fn write_zip(path: &Path, members: &[(&str, &[u8])]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (n, bytes) in members {
        w.start_file(*n, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut w, bytes).unwrap();
    }
    w.finish().unwrap();
}

/// The binary with `args`, with none of the environment that would point it elsewhere
/// (config, database URL, user).
pub fn fundrecon_bin(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fundrecon"))
        .args(args)
        .env_remove("FUNDRECON_CONFIG")
        .env_remove("FUNDRECON_DATABASE_URL")
        .env_remove("FUNDRECON_USER")
        .output()
        .expect("binary runs")
}

/// `fundrecon review <action> --config cfg --account a [--entry e]… [--voucher v]… --why … --by …`.
pub fn review_cli(
    cfg: &str,
    action: &str,
    account: &str,
    entries: &[&str],
    vouchers: &[&str],
    why: &str,
    by: &str,
) -> std::process::Output {
    let mut args = vec!["review", action, "--config", cfg, "--account", account];
    for e in entries {
        args.extend(["--entry", e]);
    }
    for v in vouchers {
        args.extend(["--voucher", v]);
    }
    args.extend(["--why", why, "--by", by]);
    fundrecon_bin(&args)
}
