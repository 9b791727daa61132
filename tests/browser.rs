//! The review page end to end in a real headless Chromium, driven through chromedriver
//! (WebDriver, fantoccini) on loopback (issue 8): log in, filter the open items, open
//! one, match it by hand (after rejecting the automatic match of voucher R20240321-01),
//! see the audit row, log out; a viewer sees no action and its POST is refused; forged
//! POSTs without the CSRF token (same page, and from another origin) are refused.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian's `chromium` and
//! `chromium-driver`; .ci/run installs them). Without them the test says it is skipped,
//! unless `CI` or `FUNDRECON_REQUIRE_BROWSER=1` is set: then it fails.
//! `FUNDRECON_SCREENSHOT=<file.png>` saves a screenshot of the main page (the open items),
//! and `<file>-item.png` of the item page after the match by hand.

mod common;
mod serve_common;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use serve_common::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver, killed (by its own pid) when the test ends, pass or fail.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into(), "--log-level=SEVERE".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let d = Driver { child, port };
    let t0 = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(t0.elapsed() < Duration::from_secs(20), "chromedriver did not listen on port {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

fn skip_or_fail() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if present {
        return false;
    }
    let required = std::env::var_os("CI").is_some() || std::env::var("FUNDRECON_REQUIRE_BROWSER").as_deref() == Ok("1");
    assert!(
        !required,
        "{CHROMIUM} or {CHROMEDRIVER} missing, and CI / FUNDRECON_REQUIRE_BROWSER=1 requires the browser test"
    );
    eprintln!(
        "browser test skipped: {CHROMIUM} or {CHROMEDRIVER} not installed (apt-get install chromium chromium-driver)"
    );
    true
}

async fn wait(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => panic!("no {css} on {}: {e}\n{}", path(c).await, c.source().await.unwrap_or_default()),
    }
}

async fn text(c: &Client, css: &str) -> String {
    wait(c, css).await.text().await.unwrap()
}

async fn login(c: &Client, base: &str, user: (&str, &str)) {
    c.goto(&format!("{base}/login")).await.unwrap();
    wait(c, "#user").await.send_keys(user.0).await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys(user.1).await.unwrap();
    c.find(Locator::Id("login")).await.unwrap().click().await.unwrap();
    let who = text(c, "header .who").await;
    assert!(who.contains(user.0), "logged in as {}: {who}", user.0);
}

async fn path(c: &Client) -> String {
    let u = c.current_url().await.unwrap();
    format!("{}{}", u.path(), u.query().map(|q| format!("?{q}")).unwrap_or_default())
}

/// Builds a form in the page's DOM and submits it: a POST the page itself never offers.
/// (WebDriver's script runs outside the page's CSP, which forbids every script.)
async fn forge(c: &Client, fields: serde_json::Value, with_csrf: bool) {
    let script = r#"
        const [fields, withCsrf] = arguments;
        const f = document.createElement('form');
        f.method = 'post'; f.action = '/action';
        const add = (k, v) => { const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); };
        for (const [k, v] of Object.entries(fields)) add(k, v);
        if (withCsrf) add('csrf', document.querySelector('input[name=csrf]').value);
        document.body.appendChild(f);
        f.submit();
    "#;
    c.execute(script, vec![fields, json!(with_csrf)]).await.unwrap();
    // The old page may hold a #message too: wait for the answer to the POST.
    wait_path(c, |p| p == "/action").await;
}

/// Waits until the browser's path (with query) satisfies `ok`.
async fn wait_path(c: &Client, ok: impl Fn(&str) -> bool) {
    let t0 = Instant::now();
    loop {
        let p = path(c).await;
        if ok(&p) {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "still on {p}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_in_headless_chromium() {
    if skip_or_fail() {
        return;
    }
    // FUNDRECON_LOG=fundrecon=info shows the server's log (who did what, refusals).
    if let Ok(filter) = std::env::var("FUNDRECON_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
    let demo = start(None, false).await;
    let base = demo.base();
    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    // In a task, so the browser session is closed (and Chromium exits) even when an
    // assertion fails; then the failure is passed on.
    let demo = std::sync::Arc::new(demo);
    let (c2, d2) = (c.clone(), demo.clone());
    let outcome = tokio::spawn(async move { run(&c2, &d2, &base).await }).await;
    let _ = c.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn run(c: &Client, demo: &Demo, base: &str) {
    // A reviewer logs in and sees the open items (the main page).
    login(c, base, REVIEWER).await;
    assert_eq!(path(c).await, "/");
    assert!(text(c, "#count").await.starts_with("共 8 项"));
    assert_eq!(c.find_all(Locator::Css("#open-items tbody tr")).await.unwrap().len(), 8);
    if let Ok(file) = std::env::var("FUNDRECON_SCREENSHOT") {
        std::fs::write(&file, c.screenshot().await.unwrap()).unwrap();
    }

    // The automatic match of voucher R20240321-01 is wrong: reject it from the record's page.
    c.goto(&format!("{base}/item?account={FISCAL}&record=receipt%3AR20240321-01")).await.unwrap();
    wait(c, "#why-reject").await.send_keys("付款人不对 wrong payer").await.unwrap();
    c.find(Locator::Id("do-reject")).await.unwrap().click().await.unwrap();
    assert!(text(c, "#message").await.contains("#1"));

    // Filter: type 银已记企未记 at exactly ¥1,200,000.00 leaves the entry the rejection freed.
    c.goto(base).await.unwrap();
    wait(c, "#f-kind").await.select_by_value("missing_in_books").await.unwrap();
    c.find(Locator::Id("f-bank")).await.unwrap().select_by_value("boc").await.unwrap();
    c.find(Locator::Id("f-min-amount")).await.unwrap().send_keys("1200000").await.unwrap();
    c.find(Locator::Id("f-max-amount")).await.unwrap().send_keys("1,200,000.00").await.unwrap();
    c.find(Locator::Id("filter")).await.unwrap().click().await.unwrap();
    wait_path(c, |p| p.contains("kind=missing_in_books")).await;
    assert!(text(c, "#count").await.starts_with("共 1 项"), "{}", text(c, "#count").await);
    let row = text(c, "#open-items tbody tr").await;
    assert!(row.contains("BK24032100501") && row.contains("1,200,000.00"), "{row}");

    // Open it; the voucher is a candidate; match by hand.
    c.find(Locator::Css("#open-items a.open-item")).await.unwrap().click().await.unwrap();
    assert_eq!(text(c, "#item-key").await, "BK24032100501#1");
    assert!(text(c, "#open").await.contains("rejected by 张三"));
    let cand = wait(c, "#cand-0").await;
    assert_eq!(cand.attr("value").await.unwrap().as_deref(), Some("receipt:R20240321-01"));
    cand.click().await.unwrap();
    c.find(Locator::Id("why-match")).await.unwrap().send_keys("电话确认付款人 payer confirmed by phone").await.unwrap();
    c.find(Locator::Id("do-match")).await.unwrap().click().await.unwrap();
    assert!(text(c, "#message").await.contains("#2"), "the decision is recorded");
    assert!(text(c, "#match").await.contains("matched by hand by 张三"));
    if let Ok(file) = std::env::var("FUNDRECON_SCREENSHOT") {
        std::fs::write(file.replace(".png", "-item.png"), c.screenshot().await.unwrap()).unwrap();
    }
    let audit = text(c, "#item-decisions").await;
    assert!(audit.contains("手工勾对") && audit.contains("张三") && audit.contains("电话确认付款人"), "{audit}");
    let rows = demo.store.decisions(None).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[1].new.by.as_str(), rows[1].new.action.as_str()), ("张三", "match"));
    assert_eq!(rows[1].new.records, ["receipt:R20240321-01"]);

    // A forged POST without the CSRF token, from the reviewer's own page: refused, nothing written.
    forge(c, json!({"account": FISCAL, "action": "annotate", "entry": "BK24032200077", "why": "forged"}), false).await;
    assert!(text(c, "#message").await.contains("no CSRF token"));
    // … and a cross-origin form (an attacker's page posting to the review page): refused.
    let evil = format!(
        "data:text/html;charset=utf-8,<form method=post action='{base}/action'><input name=account value={FISCAL}><input name=action value=annotate><input name=entry value=BK24032200077><input name=why value=evil><button id=go>go</button></form>"
    );
    c.goto(&evil).await.unwrap();
    wait(c, "#go").await.click().await.unwrap();
    wait(c, "#message").await;
    assert!(c.source().await.unwrap().contains("拒绝"), "refused: {}", c.source().await.unwrap());
    assert_eq!(demo.store.decisions(None).await.unwrap().len(), 2, "forged POSTs wrote no audit row");

    // The decisions page shows both rows; log out.
    c.goto(&format!("{base}/decisions")).await.unwrap();
    assert!(text(c, "#chain").await.contains("2 decisions"));
    assert_eq!(c.find_all(Locator::Css("#decisions tr.decision")).await.unwrap().len(), 2);
    c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
    wait(c, "#login").await;
    assert_eq!(path(c).await, "/login");
    c.goto(base).await.unwrap();
    wait(c, "#login").await;
    assert_eq!(path(c).await, "/login", "logged out: back to the login page");

    // A viewer sees the item but no action, and a POST (even with its session's token) is refused.
    login(c, base, VIEWER).await;
    c.goto(&format!("{base}/item?account={FISCAL}&entry=BK24032200077%231")).await.unwrap();
    wait(c, "#item-key").await;
    assert!(c.find_all(Locator::Css("form[action='/action']")).await.unwrap().is_empty());
    assert!(c.find_all(Locator::Css("textarea, input[type=checkbox]")).await.unwrap().is_empty());
    forge(c, json!({"account": FISCAL, "action": "annotate", "entry": "BK24032200077", "why": "viewer"}), true).await;
    assert!(text(c, "#message").await.contains("only a reviewer"));
    assert_eq!(demo.store.decisions(None).await.unwrap().len(), 2);
}
