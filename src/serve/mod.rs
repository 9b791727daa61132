//! `fundrecon serve`: the review web page. Treasury staff log in, see the batches and
//! the open items (filtered by type, bank, age, amount), open an item to read why it is
//! open (the same `explain` lines and audit rows as the CLI) and, with the reviewer role,
//! confirm, reject, match by hand (from bounded candidates), unmatch or annotate. Every
//! action goes through `job::review::decide` with the logged-in user as `by`, so the web
//! page writes exactly the audit rows the CLI writes.
//!
//! Server-rendered HTML (`html`, no JavaScript), axum on tokio, bound to loopback by
//! default. Security: argon2 password hashes and server-side sessions behind random
//! HttpOnly/SameSite=Strict/Secure cookies (`auth`); a CSRF token in every form, checked
//! with the Origin header on every POST; the reviewer role for every action; limits on
//! body size, field lengths and login attempts; a CSP that allows no script at all.

pub mod auth;
pub mod candidates;
pub mod html;
mod pages;

use crate::config::{Config, ServeRole};
use crate::store::Store;
use auth::{Auth, LOGIN_COOKIE, SESSION_COOKIE, Session};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body (forms are small; a match names at most a few dozen items).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most fields in one form or query.
pub const MAX_FIELDS: usize = 200;
/// Longest field value, in characters (a reason may have `review::MAX_REASON_CHARS`).
pub const MAX_FIELD_CHARS: usize = crate::review::MAX_REASON_CHARS;

/// What the server needs: the config (accounts, users), the store, the sessions.
pub struct App {
    pub cfg: Config,
    pub store: Arc<Store>,
    pub auth: Auth,
    /// One decision at a time from this server: each re-matches its account.
    decide_lock: tokio::sync::Mutex<()>,
}

impl App {
    /// Users and the session lifetime from `cfg.serve` unless `lifetime` overrides it.
    pub fn new(cfg: Config, store: Arc<Store>, lifetime: Option<Duration>) -> anyhow::Result<Arc<App>> {
        let lifetime = lifetime.unwrap_or(Duration::from_secs(u64::from(cfg.serve.session_minutes) * 60));
        let auth = Auth::new(&cfg.serve.users, lifetime)?;
        Ok(Arc::new(App { cfg, store, auth, decide_lock: tokio::sync::Mutex::new(()) }))
    }

    /// The live session of a request's cookie, with its token.
    fn current(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let t = cookie_of(headers, SESSION_COOKIE)?;
        self.auth.session(&t).map(|s| (t, s))
    }
}

fn cookie_of(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| auth::cookie(h, name).map(str::to_string))
}

/// Form or query fields in order, with repeats (a match names several items).
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses `application/x-www-form-urlencoded` text within [`MAX_FIELDS`] and
    /// [`MAX_FIELD_CHARS`]; the error says which limit.
    pub fn parse(bytes: &[u8]) -> Result<Fields, String> {
        let mut v = Vec::new();
        for (k, val) in form_urlencoded::parse(bytes) {
            if v.len() >= MAX_FIELDS {
                return Err(format!("more than {MAX_FIELDS} fields"));
            }
            if k.len() > 32 {
                return Err("a field name is longer than 32 bytes".into());
            }
            if val.chars().count() > MAX_FIELD_CHARS {
                return Err(format!("field {k:?} is longer than {MAX_FIELD_CHARS} characters"));
            }
            v.push((k.into_owned(), val.into_owned()));
        }
        Ok(Fields(v))
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
    }

    /// A field's value, trimmed, empty counted as absent.
    pub fn opt(&self, k: &str) -> Option<&str> {
        self.get(k).map(str::trim).filter(|s| !s.is_empty())
    }

    pub fn all(&self, k: &str) -> Vec<String> {
        self.0.iter().filter(|(key, _)| key == k).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty()).collect()
    }
}

/// Bound to loopback (no `allow_remote`), the Host a browser names must be a loopback
/// name: a page of another site that rebinds its DNS name to 127.0.0.1 is refused.
async fn loopback_host(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !app.cfg.serve.allow_remote {
        let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        if !is_loopback_host(host) {
            tracing::warn!(host, path = req.uri().path(), "web: refused a request for another host name");
            return message(
                StatusCode::MISDIRECTED_REQUEST,
                None,
                "error",
                "主机名不对",
                "Wrong host",
                "use http://127.0.0.1 or http://localhost",
            );
        }
    }
    next.run(req).await
}

/// `127.0.0.1:8080`, `localhost:8080`, `[::1]:8080` (with or without a port).
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host
            .rsplit_once(':')
            .map_or(host, |(n, port)| if port.chars().all(|c| c.is_ascii_digit()) { n } else { host }),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The routes (for tests and `serve`).
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(pages::open_items))
        .route("/runs", get(pages::runs))
        .route("/item", get(pages::item))
        .route("/decisions", get(pages::decisions))
        .route("/login", get(pages::login_form).post(login))
        .route("/logout", post(logout))
        .route("/action", post(action))
        .route("/app.css", get(css))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(app.clone(), loopback_host))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address of each connection (login forms are bounded per client).
    axum::serve(listener, router(app).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `addr` and serves in a task (tests: `127.0.0.1:0`); the bound address.
pub async fn spawn(app: Arc<App>, addr: SocketAddr) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let h = tokio::spawn(async move {
        if let Err(e) = serve(listener, app, std::future::pending()).await {
            tracing::error!(error = %e, "web: server stopped");
        }
    });
    Ok((bound, h))
}

/// `fundrecon serve`: the config's `[serve]`, until Ctrl-C or SIGTERM.
pub async fn run(cfg: Config, store: Arc<Store>) -> anyhow::Result<()> {
    use anyhow::Context;
    if cfg.serve.users.is_empty() {
        anyhow::bail!("serve.users: no user may log in; add [[serve.users]] (see `fundrecon serve hash-password`)");
    }
    let addr: SocketAddr = cfg.serve.listen.parse().context("serve.listen")?;
    let app = App::new(cfg, store, None)?;
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("serve.listen: cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    println!("review page: http://{bound}/  (Ctrl-C stops)");
    tracing::info!(%bound, "web: listening");
    serve(listener, app, async {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    })
    .await?;
    Ok(())
}

async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    // Not "no-referrer": with it browsers send `Origin: null` on the page's own forms.
    set(h, header::REFERRER_POLICY, "same-origin");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    r
}

/// An HTML response.
fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// 303 to `location` (a path on this site), with optional Set-Cookie headers.
fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string())]).into_response();
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// A page with a message (errors, refusals), in the frame of the viewer if logged in.
fn message(status: StatusCode, who: Option<&Session>, class: &str, zh: &str, en: &str, detail: &str) -> Response {
    let viewer = who.map(|s| html::Viewer { name: &s.user, role: s.role, csrf: &s.csrf });
    let body = format!(
        "<h1>{}</h1><div class=\"{class}\" id=\"message\">{}</div><p><a href=\"/\">返回待处理事项 <small>Back to open items</small></a></p>",
        html::label(zh, en),
        html::esc(detail)
    );
    html(status, html::page(zh, "", viewer.as_ref(), &body))
}

fn forbidden(who: Option<&Session>, why: &str) -> Response {
    message(StatusCode::FORBIDDEN, who, "error", "拒绝", "Forbidden", why)
}

async fn css() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")],
        html::CSS,
    )
        .into_response()
}

async fn not_found(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let s = app.current(&headers).map(|x| x.1);
    message(StatusCode::NOT_FOUND, s.as_ref(), "error", "没有这个页面", "Not found", "")
}

/// A POST's Origin, when sent, must be this site (the Host it was sent to); so must the
/// browser's `Sec-Fetch-Site`, when sent.
fn origin_ok(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str(), Ok("same-origin" | "none"))
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    origin.to_str().is_ok_and(|o| o == format!("http://{host}") || o == format!("https://{host}"))
}

/// Checks a POST of a logged-in session: Origin, session, CSRF token. The session, or
/// the refusal (403, logged).
// The refusal is the response itself, made once per request: boxing it gains nothing.
#[allow(clippy::result_large_err)]
fn guard(app: &App, headers: &HeaderMap, f: &Fields, path: &str) -> Result<(String, Session), Response> {
    let current = app.current(headers);
    let who = current.as_ref().map(|c| c.1.user.clone()).unwrap_or_default();
    let refuse = |why: &str, s: Option<&Session>| {
        tracing::warn!(user = %who, path, reason = why, "web: POST refused");
        forbidden(s, why)
    };
    if !origin_ok(headers) {
        return Err(refuse("the request comes from another site (Origin)", current.as_ref().map(|c| &c.1)));
    }
    let Some((t, s)) = current.clone() else { return Err(refuse("not logged in (or the session expired)", None)) };
    match f.get("csrf") {
        Some(c) if auth::same(c, &s.csrf) => Ok((t, s)),
        Some(_) => Err(refuse("wrong CSRF token: reload the page and try again", Some(&s))),
        None => Err(refuse("no CSRF token: reload the page and try again", Some(&s))),
    }
}

async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = match Fields::parse(&body) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, None, "error", "请求无效", "Bad request", &e),
    };
    // Bounded in the log too (a password typed into the name field stays short there).
    let user: String = f.get("user").unwrap_or("").trim().chars().take(crate::review::MAX_NAME_CHARS).collect();
    let form_token = cookie_of(&headers, LOGIN_COOKIE);
    let token_ok = match (f.get("csrf"), form_token.as_deref()) {
        (Some(a), Some(b)) if auth::same(a, b) => app.auth.take_login_form(b),
        _ => false,
    };
    if !origin_ok(&headers) || !token_ok {
        let why = if origin_ok(&headers) { "missing, used or wrong login-form token" } else { "foreign Origin" };
        tracing::warn!(user = %user, reason = why, "web: login refused");
        return forbidden(None, "the login form expired or came from elsewhere: open the login page again");
    }
    let password = f.get("password").unwrap_or("");
    match app.auth.login(&user, password).await {
        Ok((t, s)) => {
            tracing::info!(user = %s.user, role = s.role.as_str(), "web: login");
            see_other(
                "/",
                &[auth::set_cookie(SESSION_COOKIE, &t, app.auth.lifetime()), auth::clear_cookie(LOGIN_COOKIE)],
            )
        }
        Err(e) => {
            // Never the password; the name only (it is what the limit counts).
            tracing::warn!(user = %user, reason = ?e, "web: login failed");
            let why = match e {
                auth::LoginError::TooManyAttempts => "登录尝试过多，请一分钟后再试 (too many attempts: wait a minute)",
                auth::LoginError::TooManySessions => "会话过多 (too many sessions): try later",
                auth::LoginError::BadCredentials => "用户名或密码错误 (wrong user name or password)",
            };
            let status = match e {
                auth::LoginError::TooManyAttempts | auth::LoginError::TooManySessions => StatusCode::TOO_MANY_REQUESTS,
                auth::LoginError::BadCredentials => StatusCode::UNAUTHORIZED,
            };
            pages::login_page(&app, peer.ip(), status, Some(why))
        }
    }
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let f = match Fields::parse(&body) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::BAD_REQUEST, None, "error", "请求无效", "Bad request", &e),
    };
    match guard(&app, &headers, &f, "/logout") {
        Ok((t, s)) => {
            app.auth.logout(&t);
            tracing::info!(user = %s.user, "web: logout");
            see_other("/login", &[auth::clear_cookie(SESSION_COOKIE)])
        }
        Err(r) => r,
    }
}

/// The item page a form came from (`item_kind` entry|record, `item_key`), as a path.
fn item_path(account: &str, kind: &str, key: &str) -> Option<String> {
    let kind = match kind {
        "entry" | "record" => kind,
        _ => return None,
    };
    if key.is_empty() || key.chars().count() > 200 {
        return None;
    }
    Some(format!("/item?account={}&{kind}={}", html::url(account), html::url(key)))
}

async fn action(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let f = match Fields::parse(&body) {
        Ok(f) => f,
        Err(e) => return message(StatusCode::PAYLOAD_TOO_LARGE, None, "error", "请求过大", "Request too large", &e),
    };
    let (_, s) = match guard(&app, &headers, &f, "/action") {
        Ok(x) => x,
        Err(r) => return r,
    };
    if s.role != ServeRole::Reviewer {
        tracing::warn!(user = %s.user, role = s.role.as_str(), "web: action refused: not a reviewer");
        return forbidden(Some(&s), "only a reviewer may record decisions (your role: viewer)");
    }
    let account = f.opt("account").unwrap_or("").to_string();
    let Some(action) = f.opt("action").and_then(crate::review::Action::parse) else {
        return message(StatusCode::BAD_REQUEST, Some(&s), "error", "请求无效", "Bad request", "unknown action");
    };
    let back = item_path(&account, f.opt("item_kind").unwrap_or(""), f.opt("item_key").unwrap_or(""));
    let req = crate::job::review::Request {
        account: account.clone(),
        action,
        entries: f.all("entry"),
        vouchers: f.all("voucher"),
        reason: f.get("why").unwrap_or("").to_string(),
        by: s.user.clone(),
    };
    let items = req.entries.iter().chain(&req.vouchers).cloned().collect::<Vec<_>>().join(", ");
    let result = {
        let _one = app.decide_lock.lock().await;
        crate::job::review::decide(&app.cfg, &app.store, &req).await
    };
    match result {
        Ok(d) => {
            tracing::info!(user = %s.user, decision = d.id, action = action.as_str(), account = %account, items = %items, "web: decision recorded");
            let to = back.map(|b| format!("{b}&done={}", d.id)).unwrap_or_else(|| "/decisions".into());
            see_other(&to, &[])
        }
        Err(e) => {
            tracing::warn!(user = %s.user, action = action.as_str(), account = %account, items = %items, error = %format!("{e:#}"), "web: decision refused");
            let viewer = html::Viewer { name: &s.user, role: s.role, csrf: &s.csrf };
            let link = back.unwrap_or_else(|| "/".into());
            let body = format!(
                "<h1>{}</h1><div class=\"error\" id=\"message\">{}</div><p><a href=\"{}\">返回 <small>Back</small></a></p>",
                html::label("未记录", "Not recorded"),
                html::esc(&format!("{e:#}")),
                html::esc(&link)
            );
            html(StatusCode::UNPROCESSABLE_ENTITY, html::page("未记录", "", Some(&viewer), &body))
        }
    }
}

/// GET guard: the session, or a redirect to the login page.
#[allow(clippy::result_large_err)]
fn viewer_or_login(app: &App, headers: &HeaderMap) -> Result<Session, Response> {
    app.current(headers).map(|x| x.1).ok_or_else(|| see_other("/login", &[]))
}

fn query(q: Option<String>) -> Result<Fields, String> {
    Fields::parse(q.unwrap_or_default().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_repeats_and_enforce_limits() {
        let f = Fields::parse(b"voucher=a&voucher=b&why=%E5%BC%A0+x&empty=").unwrap();
        assert_eq!(f.all("voucher"), ["a", "b"]);
        assert_eq!(f.get("why"), Some("张 x"));
        assert_eq!(f.opt("empty"), None);
        let long = format!("why={}", "x".repeat(MAX_FIELD_CHARS + 1));
        assert!(Fields::parse(long.as_bytes()).unwrap_err().contains("longer"));
        let many = "a=1&".repeat(MAX_FIELDS + 1);
        assert!(Fields::parse(many.as_bytes()).unwrap_err().contains("fields"));
    }

    #[test]
    fn origin_must_be_this_site_when_sent() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(origin_ok(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(origin_ok(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!origin_ok(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!origin_ok(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!origin_ok(&h), "another port of the same host is another origin");
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(origin_ok(&h));
    }

    #[test]
    fn loopback_host_names() {
        for h in ["127.0.0.1:8080", "127.0.0.1", "localhost:1", "LOCALHOST", "[::1]:8080", "127.1.2.3:80"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["evil.example:8080", "10.0.0.1:8080", "", "localhost.evil.example", "[::2]:80", "127.0.0.1.nip.io"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn item_paths_stay_on_this_site() {
        assert_eq!(item_path("45", "entry", "BK1#1").unwrap(), "/item?account=45&entry=BK1%231");
        assert_eq!(item_path("45", "record", "//evil.example").unwrap(), "/item?account=45&record=%2F%2Fevil.example");
        assert!(item_path("45", "other", "x").is_none());
        assert!(item_path("45", "entry", "").is_none());
    }
}
