//! The review web page over real HTTP on a loopback port (issue 8): login right and
//! wrong, the viewer cannot act, forged POSTs (no or wrong CSRF token, foreign Origin) are
//! refused and write no audit row, sessions expire on the server and end at logout,
//! hostile text is escaped, filters, limits, and the `[serve]` config checks.

mod common;
mod serve_common;

use fundrecon::config::Config;
use serve_common::*;
use std::time::Duration;

const ITEM: &str = "/item?account=450012345678901234&entry=BK24032100501%231";

async fn decisions(d: &Demo) -> usize {
    d.store.decisions(None).await.unwrap().len()
}

#[tokio::test]
async fn login_right_and_wrong() {
    let d = start(None, false).await;
    let mut c = Client::new(d.addr);
    let r = c.get("/").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")), "no session: to the login page");

    let bad = c.login(REVIEWER.0, "wrong password").await;
    assert_eq!(bad.status, 401);
    assert!(bad.body.contains("用户名或密码错误"), "{}", bad.body);
    assert!(!c.cookies.contains_key("fr_session"));
    let unknown = c.login("nobody", "x").await;
    assert_eq!(unknown.status, 401);

    // The login form's one-time token is required (login CSRF).
    let mut c2 = Client::new(d.addr);
    let r = c2.post("/login", &[("user", REVIEWER.0), ("password", REVIEWER.1)]).await;
    assert_eq!(r.status, 403);
    assert!(!c2.cookies.contains_key("fr_session"));

    let ok = c.login(REVIEWER.0, REVIEWER.1).await;
    assert_eq!((ok.status, ok.header("location")), (303, Some("/")));
    let cookie = ok.set_cookies().into_iter().find(|c| c.starts_with("fr_session=")).expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    let main = c.get("/").await;
    assert_eq!(main.status, 200);
    assert!(main.body.contains("张三") && main.body.contains("共 8 项"), "{}", main.body);
    assert!(main.header("content-security-policy").unwrap().contains("default-src 'none'"));
    assert!(!main.body.contains("<script"), "no JavaScript");

    // Five attempts a minute per user: the sixth is refused even with the right password.
    let mut c3 = Client::new(d.addr);
    for _ in 0..3 {
        assert_eq!(c3.login(REVIEWER.0, "guess").await.status, 401);
    }
    let limited = c3.login(REVIEWER.0, REVIEWER.1).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(!c3.cookies.contains_key("fr_session"));
}

#[tokio::test]
async fn a_viewer_sees_no_action_and_cannot_act() {
    let d = start(None, false).await;
    let mut v = Client::new(d.addr);
    assert_eq!(v.login(VIEWER.0, VIEWER.1).await.status, 303);
    let page = v.get(ITEM).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("BK24032100501#1"));
    assert!(!page.body.contains("action=\"/action\""), "a viewer gets no action form");
    let csrf = page.csrf(); // the logout form's token: a valid token of this session
    let r = v
        .post(
            "/action",
            &[
                ("csrf", &csrf),
                ("account", FISCAL),
                ("action", "reject"),
                ("entry", "BK24032100501#1"),
                ("why", "viewer tries"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("only a reviewer"));
    assert_eq!(decisions(&d).await, 0, "no audit row");
}

#[tokio::test]
async fn forged_posts_are_refused_and_write_nothing() {
    let d = start(None, false).await;
    let mut c = Client::new(d.addr);
    assert_eq!(c.login(REVIEWER.0, REVIEWER.1).await.status, 303);
    let page = c.get(ITEM).await;
    assert!(page.body.contains("id=\"form-reject\""), "a reviewer gets the actions");
    let csrf = page.csrf();
    let fields = |token: Option<&str>| {
        let mut f = vec![
            ("account", FISCAL.to_string()),
            ("action", "reject".to_string()),
            ("entry", "BK24032100501#1".to_string()),
            ("why", "forged".to_string()),
        ];
        if let Some(t) = token {
            f.push(("csrf", t.to_string()));
        }
        f
    };
    let as_refs = |f: &Vec<(&'static str, String)>| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    for (what, token, origin) in [
        ("no CSRF token", None, None),
        ("a wrong CSRF token", Some("0".repeat(64)), None),
        ("another session's length but wrong", Some(csrf.chars().rev().collect::<String>()), None),
        ("the right token from a foreign Origin", Some(csrf.clone()), Some("http://evil.example")),
    ] {
        let f = as_refs(&fields(token.as_deref()));
        let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let headers: Vec<(&str, &str)> = origin.map(|o| vec![("Origin", o)]).unwrap_or_default();
        let r = c.post_with("/action", &refs, &headers).await;
        assert_eq!(r.status, 403, "{what}: {}", r.body);
        assert_eq!(decisions(&d).await, 0, "{what}: no audit row");
    }
    // Without a session cookie at all.
    let mut stranger = Client::new(d.addr);
    let f = as_refs(&fields(Some(&csrf)));
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(stranger.post("/action", &refs).await.status, 403);
    assert_eq!(decisions(&d).await, 0);

    // The same form with the right token and this site's Origin is recorded, as 张三.
    let origin = d.base();
    let r = c.post_with("/action", &refs, &[("Origin", origin.as_str())]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let all = d.store.decisions(None).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].new.by.as_str(), all[0].new.action.as_str()), ("张三", "reject"));
    assert_eq!(all[0].new.records, ["receipt:R20240321-01"], "the whole automatic match is judged");
}

#[tokio::test]
async fn sessions_expire_on_the_server_and_end_at_logout() {
    let d = start(Some(Duration::from_millis(1500)), false).await;
    let mut c = Client::new(d.addr);
    assert_eq!(c.login(REVIEWER.0, REVIEWER.1).await.status, 303);
    assert_eq!(c.get("/").await.status, 200);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    // The browser would have dropped the cookie (Max-Age); the server refuses it anyway.
    let r = c.get("/").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")), "expired on the server");

    let mut c = Client::new(d.addr);
    assert_eq!(c.login(REVIEWER.0, REVIEWER.1).await.status, 303);
    let page = c.get("/runs").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("boc-drop") && page.body.contains("2024-03-22"), "{}", page.body);
    let token = c.cookies["fr_session"].clone();
    assert_eq!(c.post("/logout", &[]).await.status, 403, "logout is a POST with the CSRF token too");
    let r = c.post("/logout", &[("csrf", &page.csrf())]).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    assert!(!c.cookies.contains_key("fr_session"), "the cookie is cleared");
    // Replaying the old cookie: the server ended the session.
    c.cookies.insert("fr_session".into(), token);
    assert_eq!(c.get("/").await.status, 303);
}

#[tokio::test]
async fn hostile_text_is_escaped_everywhere() {
    let d = start(None, true).await;
    let mut c = Client::new(d.addr);
    assert_eq!(c.login(REVIEWER.0, REVIEWER.1).await.status, 303);
    let page = c.get(ITEM).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", page.body);
    assert!(!page.body.contains(HOSTILE));
    let csrf = page.csrf();
    let r = c
        .post(
            "/action",
            &[
                ("csrf", &csrf),
                ("account", FISCAL),
                ("action", "annotate"),
                ("item_kind", "entry"),
                ("item_key", "BK24032100501#1"),
                ("entry", "BK24032100501#1"),
                ("why", "\"><img src=x onerror=alert(2)><script>alert(1)</script>"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/item?account=450012345678901234&entry=BK24032100501%231&done=1"));
    for path in [ITEM, "/decisions"] {
        let p = c.get(path).await;
        assert!(!p.body.contains("<script") && !p.body.contains("<img"), "{path}: {}", p.body);
        assert!(p.body.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&lt;script&gt;"), "{path}");
    }
    // A hostile query string comes back escaped in the filter form.
    let p = c.get("/?min_amount=%22%3E%3Cscript%3E").await;
    assert!(!p.body.contains("<script") && p.body.contains("&quot;&gt;&lt;script&gt;"), "{}", p.body);
}

#[tokio::test]
async fn filters_actions_and_limits() {
    let d = start(None, false).await;
    let mut c = Client::new(d.addr);
    assert_eq!(c.login(REVIEWER.0, REVIEWER.1).await.status, 303);
    let count = |body: &str| -> usize {
        let i = body.find("共 ").unwrap();
        body[i + "共 ".len()..].split(' ').next().unwrap().parse().unwrap()
    };
    for (q, n) in [
        ("", 8),
        ("?kind=missing_in_books", 1),
        ("?bank=icbc", 2),
        ("?account=450012345678901234", 6),
        ("?min_amount=1000000", 3),
        ("?max_amount=50", 2),
        ("?min_age=1", 4),
        ("?max_age=0", 4),
        ("?min_age=1&max_age=1", 3),
        ("?kind=bank_fee&bank=boc", 1),
    ] {
        let p = c.get(&format!("/{q}")).await;
        assert_eq!((q, count(&p.body)), (q, n), "{}", p.body);
    }
    let p = c.get("/?min_age=abc").await;
    assert!(p.body.contains("not a whole number"), "bad filters are named");

    // An amount_mismatch (the demo's 3,000,000.00 paid against 3,300,000.00 booked) offers
    // its other half first among the candidates, as matching's suggested pair.
    let p = c.get("/item?account=450012345678901234&entry=BK24032200102%231").await;
    assert_eq!(p.status, 200);
    let table = &p.body[p.body.find("id=\"candidates\"").expect("candidates")..];
    let first_row = &table[table.find("<tr><td>").expect("a candidate")..];
    let first_row = &first_row[..first_row.find("</tr>").unwrap()];
    assert!(first_row.contains("disbursement:20240322-0011") && first_row.contains("建议配对"), "{first_row}");

    // Reject the automatic match of voucher R20240321-01, then match it by hand from the
    // candidates: the audit rows show on the item page, on /decisions, and match the CLI's.
    let page = c.get(ITEM).await;
    let csrf = page.csrf();
    let act = |action: &'static str, extra: Vec<(&'static str, &'static str)>, why: &'static str| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("account", FISCAL.to_string()),
            ("action", action.to_string()),
            ("item_kind", "entry".to_string()),
            ("item_key", "BK24032100501#1".to_string()),
            ("entry", "BK24032100501#1".to_string()),
            ("why", why.to_string()),
        ];
        f.extend(extra.into_iter().map(|(k, v)| (k, v.to_string())));
        f
    };
    let send = async |c: &mut Client, f: Vec<(&'static str, String)>| {
        let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        c.post("/action", &refs).await
    };
    assert_eq!(send(&mut c, act("reject", vec![], "wrong payer")).await.status, 303);
    let held = c.get(ITEM).await;
    assert!(held.body.contains("value=\"receipt:R20240321-01\""), "the voucher is a candidate: {}", held.body);
    let refused = send(&mut c, act("match", vec![("voucher", "20240318-0003")], "looks like it")).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("must agree to the fen"), "{}", refused.body);
    let r = send(&mut c, act("match", vec![("voucher", "receipt:R20240321-01")], "payer confirmed by phone")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let after = c.get(r.header("location").unwrap()).await;
    assert!(after.body.contains("decision #2 recorded"));
    assert!(after.body.contains("matched by hand by 张三"), "{}", after.body);
    assert!(after.body.contains("id=\"form-unmatch\""), "a match by hand can be withdrawn");
    // Withdraw it again (unmatch): the item is open once more, held by the rejection.
    let r = send(&mut c, act("unmatch", vec![], "matched too early")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let again = c.get(r.header("location").unwrap()).await;
    assert!(again.body.contains("rejected by 张三"), "{}", again.body);
    let r = send(&mut c, act("match", vec![("voucher", "receipt:R20240321-01")], "payer confirmed by phone")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let all = c.get("/decisions").await;
    assert!(all.body.contains("audit trail intact: 4 decisions"), "{}", all.body);
    assert!(all.body.contains("payer confirmed by phone"));
    let rows = d.store.decisions(None).await.unwrap();
    assert_eq!(fundrecon::review::verify(&rows), Ok(()));
    assert_eq!(rows[1].new.entries, ["BK24032100501#1"]);
    assert_eq!(rows[1].new.records, ["receipt:R20240321-01"]);
    assert_eq!((rows[2].new.action.as_str(), rows[2].new.undoes), ("unmatch", Some(2)));

    // Limits: a body over 64 KiB, a reason over the limit, an unknown action.
    let big = vec![b'a'; 100 * 1024];
    let r = c.request("POST", "/action", &[], &big).await;
    assert_eq!(r.status, 413);
    let long = "长".repeat(fundrecon::review::MAX_REASON_CHARS + 1);
    let r = c.post("/action", &[("csrf", &csrf), ("why", &long)]).await;
    assert_eq!(r.status, 413);
    let r = c.post("/action", &[("csrf", &csrf), ("account", FISCAL), ("action", "delete")]).await;
    assert_eq!(r.status, 400);
    assert_eq!(d.store.decisions(None).await.unwrap().len(), 4);
    assert_eq!(c.get("/nowhere").await.status, 404);

    // A page of another site whose DNS name points at 127.0.0.1 (DNS rebinding) is refused.
    c.host = Some(format!("evil.example:{}", d.addr.port()));
    assert_eq!(c.get("/login").await.status, 421);
    c.host = Some(format!("localhost:{}", d.addr.port()));
    assert_eq!(c.get("/").await.status, 200);
}

#[test]
fn serve_config_is_checked_with_toml_paths() {
    let good = fundrecon::serve::auth::hash_password("pw").unwrap();
    let cfg = Config::parse(&format!(
        r#"
[serve]
listen = "0.0.0.0:8080"
session_minutes = 0
[[serve.users]]
name = "张三"
role = "reviewer"
password_hash = "{good}"
[[serve.users]]
name = "张三"
role = "viewer"
password_hash = "secret-in-clear"
[[serve.users]]
name = ""
role = "viewer"
password_hash = "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA"
"#
    ))
    .unwrap();
    let problems: Vec<String> = cfg.check().into_iter().map(|p| p.to_string()).collect();
    let paths: Vec<&str> = problems.iter().map(|p| p.split(':').next().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "serve.listen",
            "serve.session_minutes",
            "serve.users[1].name",
            "serve.users[1].password_hash",
            "serve.users[2].name",
            "serve.users[2].password_hash"
        ],
        "{problems:#?}"
    );
    assert!(problems[0].contains("allow_remote"), "{}", problems[0]);
    assert!(!problems.iter().any(|p| p.contains("secret-in-clear")), "a clear-text password is never echoed");
    let remote = Config::parse("[serve]\nlisten = \"0.0.0.0:8080\"\nallow_remote = true\n").unwrap();
    assert!(remote.check().is_empty());
    assert!(Config::parse("[serve]\nrole = \"admin\"\n").is_err(), "unknown keys are errors");
    let bad_role = format!("[[serve.users]]\nname = \"a\"\nrole = \"admin\"\npassword_hash = \"{good}\"\n");
    assert!(Config::parse(&bad_role).unwrap_err().contains("admin"));
    assert_eq!(Config::parse("").unwrap().serve.listen, "127.0.0.1:8080", "loopback by default");
}

/// `fundrecon serve hash-password` reads stdin and prints an argon2id PHC string the
/// config accepts and that verifies the password.
#[test]
fn hash_password_command() {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fundrecon"))
        .args(["serve", "hash-password"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all("口令 pass\n".as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap();
    let hash = hash.trim();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert_eq!(fundrecon::config::check_password_hash(hash), Ok(()));
    assert!(!hash.contains("口令"));
}
