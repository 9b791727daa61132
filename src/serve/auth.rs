//! Who may use the review page: users and argon2 hashes from `[serve]`, server-side
//! sessions behind random cookie tokens, the per-session CSRF token, one-time tokens of
//! the login form, and a per-user limit on login attempts. All in memory: a restart logs
//! everybody out, which is the safe direction.

use crate::config::{ServeRole, ServeUser};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Session cookie name.
pub const SESSION_COOKIE: &str = "fr_session";
/// Cookie of the login form's one-time token (the login form's CSRF token).
pub const LOGIN_COOKIE: &str = "fr_login";
/// Sessions held at once; logins beyond it first drop expired ones, then are refused.
pub const MAX_SESSIONS: usize = 10_000;
/// Login-form tokens held at once (each lives [`LOGIN_FORM_TTL`]); past it the oldest
/// form is dropped, so a flood costs its sender's forms, never everyone's page.
pub const MAX_LOGIN_FORMS: usize = 10_000;
/// Login-form tokens held per client (IPv4 address, IPv6 /64); past it the client's
/// oldest form is dropped.
pub const MAX_LOGIN_FORMS_PER_CLIENT: usize = 32;
pub const LOGIN_FORM_TTL: Duration = Duration::from_secs(15 * 60);
/// Login attempts per user name per minute (right or wrong); more are refused unchecked.
pub const LOGIN_ATTEMPTS_PER_MINUTE: usize = 5;
/// Longest password accepted (argon2 takes any length; this bounds the work).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A logged-in person.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    pub role: ServeRole,
    /// Every form of this session carries it; every POST must.
    pub csrf: String,
    expires: Instant,
}

/// Why a login was refused (the page says the same for every reason but the rate limit).
#[derive(Debug, PartialEq, Eq)]
pub enum LoginError {
    BadCredentials,
    TooManyAttempts,
    TooManySessions,
}

pub struct Auth {
    users: HashMap<String, (ServeRole, String)>,
    lifetime: Duration,
    sessions: Mutex<HashMap<String, Session>>,
    login_forms: Mutex<LoginForms>,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// Hash checked for unknown names, so they take as long as known ones.
    dummy_hash: String,
}

/// Pending login-form tokens: when each was issued and to whom, in issue order overall
/// and per client, so that both bounds drop the oldest in constant time.
#[derive(Default)]
struct LoginForms {
    forms: HashMap<String, (Instant, IpAddr)>,
    /// Issue order; tokens taken since stay here until they reach the front (or a compaction).
    order: VecDeque<String>,
    /// Each client's pending tokens, oldest first (exact: at most the per-client bound).
    by_client: HashMap<IpAddr, VecDeque<String>>,
}

impl LoginForms {
    fn issue(&mut self, client: IpAddr, now: Instant) -> String {
        let q = self.by_client.entry(client).or_default();
        while q.len() >= MAX_LOGIN_FORMS_PER_CLIENT {
            if let Some(old) = q.pop_front() {
                self.forms.remove(&old);
            }
        }
        while self.forms.len() >= MAX_LOGIN_FORMS {
            let Some(old) = self.order.pop_front() else { break };
            self.remove(&old);
        }
        if self.order.len() >= 2 * MAX_LOGIN_FORMS {
            let forms = &self.forms;
            self.order.retain(|t| forms.contains_key(t));
        }
        let t = token();
        self.forms.insert(t.clone(), (now, client));
        self.order.push_back(t.clone());
        self.by_client.entry(client).or_default().push_back(t.clone());
        t
    }

    fn remove(&mut self, t: &str) -> Option<Instant> {
        let (at, client) = self.forms.remove(t)?;
        if let Some(q) = self.by_client.get_mut(&client) {
            q.retain(|x| x != t);
            if q.is_empty() {
                self.by_client.remove(&client);
            }
        }
        Some(at)
    }
}

/// The client a login form is counted against: an IPv4 address, or an IPv6 /64 (one
/// host commonly holds a whole /64).
pub fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(v6.to_bits() & !((1u128 << 64) - 1))),
        },
        v4 => v4,
    }
}

/// 32 random bytes from the OS as hex.
pub fn token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the OS random source works");
    hex::encode(b)
}

/// Constant-time equality of two tokens.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An argon2id PHC string of `password` with a random salt (default parameters).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("random salt: {e}"))?;
    let h = Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(h.to_string())
}

fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

impl Auth {
    pub fn new(users: &[ServeUser], lifetime: Duration) -> anyhow::Result<Auth> {
        Ok(Auth {
            users: users.iter().map(|u| (u.name.clone(), (u.role, u.password_hash.clone()))).collect(),
            lifetime,
            sessions: Mutex::new(HashMap::new()),
            login_forms: Mutex::new(LoginForms::default()),
            attempts: Mutex::new(HashMap::new()),
            dummy_hash: hash_password(&token())?,
        })
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A fresh one-time token for a login form asked for by `peer`. Never refused: past
    /// the bounds the oldest forms (the client's own first) are dropped.
    pub fn login_form(&self, peer: IpAddr) -> String {
        let mut forms = self.login_forms.lock().unwrap_or_else(|e| e.into_inner());
        forms.issue(client_of(peer), Instant::now())
    }

    /// Takes a login-form token (valid once, within its lifetime).
    pub fn take_login_form(&self, t: &str) -> bool {
        let mut forms = self.login_forms.lock().unwrap_or_else(|e| e.into_inner());
        forms.remove(t).is_some_and(|at| at.elapsed() < LOGIN_FORM_TTL)
    }

    /// Counts an attempt for `user`; false when the minute's budget is spent. Unknown
    /// names share one budget so the map cannot grow with made-up names.
    fn attempt(&self, user: &str) -> bool {
        let key = if self.users.contains_key(user) { user.to_string() } else { "\u{0}unknown".to_string() };
        let now = Instant::now();
        let mut a = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let q = a.entry(key).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
            q.pop_front();
        }
        if q.len() >= LOGIN_ATTEMPTS_PER_MINUTE {
            return false;
        }
        q.push_back(now);
        true
    }

    /// Checks a password (in a blocking thread: argon2 is slow on purpose) and opens a
    /// session: its cookie token.
    pub async fn login(&self, user: &str, password: &str) -> Result<(String, Session), LoginError> {
        if !self.attempt(user) {
            return Err(LoginError::TooManyAttempts);
        }
        let (role, phc) = match self.users.get(user) {
            Some((r, h)) => (Some(*r), h.clone()),
            None => (None, self.dummy_hash.clone()),
        };
        let pw = password.to_string();
        let ok = password.len() <= MAX_PASSWORD_BYTES
            && tokio::task::spawn_blocking(move || verify(&pw, &phc)).await.unwrap_or(false);
        let Some(role) = role.filter(|_| ok) else { return Err(LoginError::BadCredentials) };
        let now = Instant::now();
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if s.len() >= MAX_SESSIONS {
            s.retain(|_, x| x.expires > now);
            if s.len() >= MAX_SESSIONS {
                return Err(LoginError::TooManySessions);
            }
        }
        let session = Session { user: user.to_string(), role, csrf: token(), expires: now + self.lifetime };
        let t = token();
        s.insert(t.clone(), session.clone());
        Ok((t, session))
    }

    /// The live session of a cookie token; an expired one is dropped.
    pub fn session(&self, t: &str) -> Option<Session> {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match s.get(t) {
            Some(x) if x.expires > Instant::now() => Some(x.clone()),
            Some(_) => {
                s.remove(t);
                None
            }
            None => None,
        }
    }

    pub fn logout(&self, t: &str) -> Option<Session> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(t)
    }
}

/// A cookie's value from a `Cookie:` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.trim())
}

/// `Set-Cookie` for a token: HttpOnly, SameSite=Strict, Secure (browsers accept Secure
/// cookies from http://127.0.0.1 and localhost), whole site.
pub fn set_cookie(name: &str, value: &str, max_age: Duration) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age={}", max_age.as_secs())
}

pub fn clear_cookie(name: &str) -> String {
    format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<ServeUser> {
        vec![ServeUser {
            name: "张三".into(),
            role: ServeRole::Reviewer,
            password_hash: hash_password("pw-zhang").unwrap(),
        }]
    }

    #[tokio::test]
    async fn login_checks_the_password_and_limits_attempts() {
        let a = Auth::new(&users(), Duration::from_secs(60)).unwrap();
        assert!(crate::config::check_password_hash(&a.users["张三"].1).is_ok());
        let (t, s) = a.login("张三", "pw-zhang").await.unwrap();
        assert_eq!((s.user.as_str(), s.role), ("张三", ServeRole::Reviewer));
        assert_eq!(a.session(&t).unwrap().csrf, s.csrf);
        assert_ne!(t, s.csrf);
        assert_eq!(a.login("张三", "wrong").await.unwrap_err(), LoginError::BadCredentials);
        assert_eq!(a.login("nobody", "pw-zhang").await.unwrap_err(), LoginError::BadCredentials);
        for _ in 0..3 {
            let _ = a.login("张三", "wrong").await;
        }
        // Five attempts this minute: even the right password is refused now.
        assert_eq!(a.login("张三", "pw-zhang").await.unwrap_err(), LoginError::TooManyAttempts);
        assert!(a.logout(&t).is_some());
        assert!(a.session(&t).is_none());
    }

    #[tokio::test]
    async fn sessions_expire_on_the_server() {
        let a = Auth::new(&users(), Duration::from_millis(50)).unwrap();
        let (t, _) = a.login("张三", "pw-zhang").await.unwrap();
        assert!(a.session(&t).is_some());
        std::thread::sleep(Duration::from_millis(80));
        assert!(a.session(&t).is_none());
    }

    #[test]
    fn login_form_tokens_are_single_use() {
        let a = Auth::new(&users(), Duration::from_secs(60)).unwrap();
        let me: IpAddr = "127.0.0.1".parse().unwrap();
        let t = a.login_form(me);
        assert!(a.take_login_form(&t));
        assert!(!a.take_login_form(&t));
        assert!(!a.take_login_form("made-up"));
    }

    #[test]
    fn a_flood_of_login_forms_costs_only_its_sender_and_the_oldest() {
        let a = Auth::new(&users(), Duration::from_secs(60)).unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let kept = a.login_form(other);
        let flooder: IpAddr = "10.0.0.1".parse().unwrap();
        let first = a.login_form(flooder);
        let mut last = String::new();
        for _ in 0..1000 {
            last = a.login_form(flooder);
        }
        assert!(!a.take_login_form(&first), "the flooder's oldest form was dropped");
        assert!(a.take_login_form(&last));
        assert!(a.take_login_form(&kept), "another client's form survives the flood");
        // Many clients: the global bound drops the oldest forms, new ones are still issued.
        for i in 0..(MAX_LOGIN_FORMS as u32 + 10) {
            a.login_form(IpAddr::V4(std::net::Ipv4Addr::from(0x0b00_0000 + i)));
        }
        let forms = a.login_forms.lock().unwrap();
        assert_eq!(forms.forms.len(), MAX_LOGIN_FORMS);
        assert!(forms.by_client.len() <= MAX_LOGIN_FORMS && forms.order.len() <= 2 * MAX_LOGIN_FORMS);
        drop(forms);
        let six = |s: &str| client_of(s.parse().unwrap());
        assert_eq!(six("2001:db8::1"), six("2001:db8::ffff:1"));
        assert_ne!(six("2001:db8::1"), six("2001:db8:0:1::1"));
        assert_eq!(six("::ffff:10.0.0.1"), flooder);
    }

    #[test]
    fn cookies_and_tokens() {
        assert_eq!(cookie("a=1; fr_session=abc ; b=2", "fr_session"), Some("abc"));
        assert_eq!(cookie("fr_session_x=1", "fr_session"), None);
        assert!(set_cookie("x", "y", Duration::from_secs(5)).contains("HttpOnly; SameSite=Strict; Secure; Max-Age=5"));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        assert_eq!(token().len(), 64);
        assert_ne!(token(), token());
    }
}
