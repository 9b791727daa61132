//! Shared by tests/serve.rs and tests/browser.rs: the demo (business date 2024-03-22)
//! with its `[serve]` block switched on, run once, served on a free loopback port; and
//! a small HTTP/1.1 client over a plain TcpStream with a cookie jar.
#![allow(dead_code)]

use crate::common::*;
use chrono::NaiveDate;
use fundrecon::config::Config;
use fundrecon::job::daily::{self, Options};
use fundrecon::serve::App;
use fundrecon::store::Store;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The hostile narrative planted on bank entry BK24032100501 when asked.
pub const HOSTILE: &str = "<script>alert(1)</script>";
pub const FISCAL: &str = "450012345678901234";

/// The demo users of ops/demo.toml (demo-only passwords documented there).
pub const REVIEWER: (&str, &str) = ("张三", "demo-zhangsan");
pub const VIEWER: (&str, &str) = ("王五", "demo-wangwu");

pub struct Demo {
    pub _tmp: tempfile::TempDir,
    pub cfg: Config,
    pub store: Arc<Store>,
    pub addr: SocketAddr,
    pub server: tokio::task::JoinHandle<()>,
}

impl Demo {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Uncomments the `[serve]` block at the end of the demo config (its "# " prefixes).
fn enable_serve(cfg_path: &Path) {
    let text = std::fs::read_to_string(cfg_path).unwrap();
    let (head, block) = text.split_once("# [serve]\n").expect("ops/demo.toml has a commented [serve] block");
    let block: String = block.lines().map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l))).collect();
    std::fs::write(cfg_path, format!("{head}[serve]\n{block}")).unwrap();
}

/// The demo, run for 2024-03-22 on SQLite, served on 127.0.0.1:<free port>.
pub async fn start(lifetime: Option<Duration>, hostile: bool) -> Demo {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg_path = demo_copy(dir, &format!("sqlite://{}", dir.join("serve.db").display()));
    enable_serve(&cfg_path);
    if hostile {
        let sta = dir.join("demo/boc/BOC_MT940_20240321.sta");
        let text = std::fs::read_to_string(&sta).unwrap().replace("/REMI/收入户归集", &format!("/REMI/{HOSTILE}"));
        std::fs::write(&sta, text).unwrap();
    }
    let cfg = Config::load(&cfg_path).unwrap();
    assert_eq!(cfg.serve.users.len(), 3, "the demo's users");
    let store = Arc::new(Store::open(&cfg.database_url()).await.unwrap());
    let date = NaiveDate::from_ymd_opt(2024, 3, 22).unwrap();
    daily::run(&cfg, &store, &Options { date, rerun: None, progress: false }).await.expect("daily run");
    let app = App::new(cfg.clone(), store.clone(), lifetime).unwrap();
    let (addr, server) = fundrecon::serve::spawn(app, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    Demo { _tmp: tmp, cfg, store, addr, server }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.as_str()).collect()
    }

    /// The value of the first `name="csrf"` field on the page.
    pub fn csrf(&self) -> String {
        let i = self.body.find("name=\"csrf\" value=\"").expect("a form with a CSRF token");
        let rest = &self.body[i + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

/// A client with a cookie jar (no redirects followed: tests look at them).
pub struct Client {
    pub addr: SocketAddr,
    pub cookies: BTreeMap<String, String>,
    /// The Host header (default: the address).
    pub host: Option<String>,
}

pub fn enc(s: &str) -> String {
    fundrecon::serve::html::url(s)
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client { addr, cookies: BTreeMap::new(), host: None }
    }

    pub async fn request(&mut self, method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let host = self.host.clone().unwrap_or_else(|| self.addr.to_string());
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if !self.cookies.is_empty() {
            let c: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            head.push_str(&format!("Cookie: {}\r\n", c.join("; ")));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if method == "POST" {
            head.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        // A server may answer (413) before reading all of a big body.
        let _ = s.write_all(body).await;
        let mut raw = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut raw)).await.expect("response in time");
        let text = String::from_utf8(raw).expect("UTF-8 response");
        let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
        let mut lines = head.lines();
        let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
        let body = if chunked { dechunk(body) } else { body.to_string() };
        let r = Resp { status, headers, body };
        for c in r.set_cookies() {
            let first = c.split(';').next().unwrap();
            let (k, v) = first.split_once('=').unwrap();
            if c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        r
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.request("GET", path, &[], b"").await
    }

    /// POSTs `fields` url-encoded.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        self.post_with(path, fields, &[]).await
    }

    pub async fn post_with(&mut self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Resp {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        self.request("POST", path, headers, body.join("&").as_bytes()).await
    }

    /// Logs in through the form; the response to the POST.
    pub async fn login(&mut self, user: &str, password: &str) -> Resp {
        let form = self.get("/login").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        self.post("/login", &[("csrf", &csrf), ("user", user), ("password", password)]).await
    }
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}
