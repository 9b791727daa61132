//! Data-driven parser tests: every file in `fixtures/parse/<format>/` is parsed with its
//! format forced, and the result compared with the file beside it:
//! - `NAME.json`: the expected `parse --json` output (a good file);
//! - `NAME.err`: the expected error text, exactly (a bad file).
//!
//! `FUNDRECON_BLESS=1 cargo test --test parse_fixtures` rewrites the expectations after an
//! intended change; review the diff before committing.

use fundrecon::parse::{self, Format, Limits};
use std::path::{Path, PathBuf};

fn bless() -> bool {
    std::env::var_os("FUNDRECON_BLESS").is_some()
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            p.is_file() && ext != "json" && ext != "err" && ext != "md"
        })
        .collect();
    v.sort();
    v
}

fn check_format(format: Format) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/parse").join(format.name());
    let files = inputs(&dir);
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    let mut failures = Vec::new();
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let json_path = path.with_extension(format!("{}.json", path.extension().unwrap().to_string_lossy()));
        let err_path = path.with_extension(format!("{}.err", path.extension().unwrap().to_string_lossy()));
        let got = match parse::parse(&name, &bytes, Some(format), &Limits::default()) {
            Ok(stmts) => {
                (json_path.clone(), serde_json::to_string_pretty(&parse::json::statements(&stmts)).unwrap() + "\n")
            }
            Err(e) => (err_path.clone(), e.to_string() + "\n"),
        };
        if bless() {
            let _ = std::fs::remove_file(&json_path);
            let _ = std::fs::remove_file(&err_path);
            std::fs::write(&got.0, &got.1).unwrap();
            continue;
        }
        match std::fs::read_to_string(&got.0) {
            Ok(want) if want == got.1 => {}
            Ok(want) => failures.push(format!("{}: differs\n--- want\n{want}\n--- got\n{}", got.0.display(), got.1)),
            Err(_) => failures.push(format!(
                "{}: no expectation {} (parse gave: {})",
                path.display(),
                got.0.display(),
                got.1.lines().next().unwrap_or("")
            )),
        }
    }
    assert!(failures.is_empty(), "{} fixture(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn mt940_fixtures() {
    check_format(Format::Mt940);
}

#[test]
fn camt_fixtures() {
    check_format(Format::Camt);
}

#[test]
fn bai2_fixtures() {
    check_format(Format::Bai2);
}
