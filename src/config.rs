//! The TOML configuration: banks, accounts, channels, book sources, storage, output.
//!
//! Loading is two steps: serde reads the shape (unknown keys are errors, so a typo never
//! silently disables a channel), then [`Config::check`] reports every semantic problem at
//! once, each with its TOML path (`channels[2].bank`). Relative paths are relative to the
//! config file, so the demo runs from any working directory.

use crate::money::Currency;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub general: General,
    #[serde(default)]
    pub matching: Matching,
    /// Bounds on what one input file may make the parsers do (see `parse::Limits`).
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub banks: Vec<Bank>,
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub books: Vec<BookSource>,
    /// Deposit agreements (存款优惠协议), each naming its `account`; see `interest::terms`.
    #[serde(default)]
    pub agreements: Vec<crate::interest::Agreement>,
    /// `[report]`: language and formats of the report files.
    #[serde(default)]
    pub report: ReportConfig,
    /// `[worker]`: the scheduled service (`fundrecon worker`).
    #[serde(default)]
    pub worker: WorkerConfig,
    /// `[serve]`: the review web page (`fundrecon serve`).
    #[serde(default)]
    pub serve: Serve,
    /// Folder of the config file; set by [`Config::load`], used to resolve relative paths.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct General {
    /// Where the embedded database and the raw-file archive live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Where each run's reports are written (one sub-folder per run).
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty = `sqlite://<data_dir>/fundrecon.db`.
    /// Prefer the `FUNDRECON_DATABASE_URL` environment variable for anything with a password.
    #[serde(default)]
    pub database_url: String,
    /// IANA time zone that business dates are counted in.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// A folder of extra bank layouts (`*.toml`, the schema of `formats/README.md`): a
    /// site's own exports, or corrections of shipped layouts (same name replaces).
    #[serde(default)]
    pub formats_dir: Option<PathBuf>,
}

impl Default for General {
    fn default() -> Self {
        General {
            data_dir: default_data_dir(),
            output_dir: default_output_dir(),
            database_url: String::new(),
            timezone: default_timezone(),
            formats_dir: None,
        }
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
fn default_output_dir() -> PathBuf {
    PathBuf::from("reports")
}
fn default_timezone() -> String {
    "Asia/Shanghai".into()
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Matching {
    /// The matching window: a bank booking up to this many business days after the book
    /// date, or (a receipt booked on the bank's notice) before it. Also the age after
    /// which an unmatched book record stops being `in_transit` and becomes
    /// `missing_in_bank`.
    #[serde(default = "default_window")]
    pub date_window_days: u32,
    /// The cascade, in order (`classify` always runs last). Absent: the default
    /// `reversal, reference, batch, return, amount_counterparty_date, amount_name_date,
    /// kind_amount_date, split`.
    #[serde(default)]
    pub rules: Option<Vec<String>>,
    /// `amount_tolerance`, when listed: the largest difference it accepts, in fen
    /// (whole cents: never a float). 0 turns it off.
    #[serde(default)]
    pub tolerance_fen: u32,
}

impl Default for Matching {
    fn default() -> Self {
        Matching { date_window_days: default_window(), rules: None, tolerance_fen: 0 }
    }
}

/// The largest `tolerance_fen` accepted: 100 yuan. A bigger tolerance is no longer a
/// fee deducted from a transfer but a different payment.
pub const MAX_TOLERANCE_FEN: u32 = 10_000;

impl Matching {
    /// The rule set this section (or an account's override of it) configures.
    pub fn rule_set(&self, rules: Option<&[String]>) -> Result<crate::matching::RuleSet, String> {
        match rules.or(self.rules.as_deref()) {
            None if self.tolerance_fen == 0 => Ok(crate::matching::RuleSet::default()),
            None => Ok(crate::matching::RuleSet::with_tolerance(self.tolerance_fen)),
            Some(names) => crate::matching::RuleSet::from_names(names, self.tolerance_fen),
        }
    }
}

fn default_window() -> u32 {
    3
}

/// `[limits]`: every key optional; the defaults are `parse::Limits::default()`. A channel's
/// `max_file_bytes` (default 1 GiB) applies on top of `max_file_bytes` here.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_file_bytes: Option<u64>,
    pub max_line_bytes: Option<usize>,
    pub max_statements: Option<usize>,
    pub max_entries_per_statement: Option<usize>,
    pub max_xml_depth: Option<usize>,
    pub max_text_bytes: Option<usize>,
}

impl LimitsConfig {
    pub fn limits(&self) -> crate::parse::Limits {
        let d = crate::parse::Limits::default();
        crate::parse::Limits {
            max_file_bytes: self.max_file_bytes.unwrap_or(d.max_file_bytes),
            max_line_bytes: self.max_line_bytes.unwrap_or(d.max_line_bytes),
            max_statements: self.max_statements.unwrap_or(d.max_statements),
            max_entries_per_statement: self.max_entries_per_statement.unwrap_or(d.max_entries_per_statement),
            max_xml_depth: self.max_xml_depth.unwrap_or(d.max_xml_depth),
            max_text_bytes: self.max_text_bytes.unwrap_or(d.max_text_bytes),
        }
    }

    /// (key, value, lowest, highest): values outside are configuration mistakes.
    fn ranges(&self) -> [(&'static str, Option<u64>, u64, u64); 6] {
        let u = |v: Option<usize>| v.map(|x| x as u64);
        [
            ("max_file_bytes", self.max_file_bytes, 1, 64 << 30),
            ("max_line_bytes", u(self.max_line_bytes), 80, 16 << 20),
            ("max_statements", u(self.max_statements), 1, 10_000_000),
            ("max_entries_per_statement", u(self.max_entries_per_statement), 1, 100_000_000),
            ("max_xml_depth", u(self.max_xml_depth), 8, 256),
            ("max_text_bytes", u(self.max_text_bytes), 64, 16 << 20),
        ]
    }
}

/// `[report]`: `language = "zh"` (default) or `"en"` for the XLSX and HTML reports (CSV
/// and JSON keep their stable English columns); `formats`, any of `csv`, `json`, `xlsx`,
/// `html` (default all). An unknown value is a TOML error naming the key.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    #[serde(default)]
    pub language: crate::report::labels::Lang,
    #[serde(default = "default_formats")]
    pub formats: Vec<crate::report::Format>,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig { language: Default::default(), formats: default_formats() }
    }
}

fn default_formats() -> Vec<crate::report::Format> {
    crate::report::Format::ALL.to_vec()
}

impl ReportConfig {
    pub fn options(&self) -> crate::report::Options {
        crate::report::Options { lang: self.language, formats: self.formats.clone() }
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Bank {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub bic: Option<String>,
}

/// The role of a special account (财社〔2017〕144号).
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 收入户
    Income,
    /// 支出户
    Expenditure,
    /// 财政专户
    Fiscal,
}

impl Role {
    pub fn label(&self) -> &'static str {
        match self {
            Role::Income => "收入户",
            Role::Expenditure => "支出户",
            Role::Fiscal => "财政专户",
        }
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The account number as text, as the books write it.
    pub number: String,
    pub name: String,
    pub currency: String,
    pub bank: String,
    pub role: Role,
    /// Other ways statements write this account (IBAN, old number, with BIC…).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The ledger (银行存款日记账) balance at the end of a date; book records after it
    /// roll it forward to the book balance shown in summaries.
    #[serde(default)]
    pub book_opening: Option<BookOpening>,
    /// This account's matching cascade, when it differs from `[matching] rules`.
    #[serde(default)]
    pub rules: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct BookOpening {
    /// `YYYY-MM-DD`, end of day.
    pub date: String,
    /// Decimal text, e.g. `"80000000.00"`.
    pub amount: String,
}

impl BookOpening {
    /// Both fields parsed; `Config::check` has reported them if they do not parse.
    pub fn parsed(&self) -> Option<(chrono::NaiveDate, rust_decimal::Decimal)> {
        Some((self.date.parse().ok()?, crate::money::parse_plain(&self.amount)?))
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub name: String,
    /// Registered channel type: `dir` or `sftp` (see `fetch::open`).
    #[serde(rename = "type")]
    pub kind: String,
    pub bank: String,
    /// `dir`: the drop folder.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Glob on the file name, e.g. `*.sta`.
    #[serde(default = "default_pattern")]
    pub pattern: String,
    /// A parser name (`mt940`, `camt`) or `auto` to detect from content.
    #[serde(default = "default_format")]
    pub format: String,
    /// Files larger than this are refused (bytes).
    #[serde(default = "default_max_file")]
    pub max_file_bytes: u64,
    /// What to do with the source copy once it is archived and recorded: `leave`
    /// (default), `move` (to `move_to`) or `delete`.
    #[serde(default = "default_after_pull")]
    pub after_pull: String,
    /// `after_pull = "move"`: the folder processed files go to; relative to the channel's
    /// folder (`path` or `remote_dir`) unless absolute. Must exist.
    #[serde(default)]
    pub move_to: Option<String>,
    /// `sftp`: server name or address.
    #[serde(default)]
    pub host: Option<String>,
    /// `sftp`: TCP port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// `sftp`: login name.
    #[serde(default)]
    pub user: Option<String>,
    /// `sftp`: path of the private key file (OpenSSH format, unencrypted, readable only by
    /// the service). The key itself never goes into the config or the log.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// `sftp`: the pinned server key: a known_hosts line, a public key
    /// (`ssh-ed25519 AAAA…`) or a fingerprint `SHA256:…`. Any other key is refused.
    #[serde(default)]
    pub host_key: Option<String>,
    /// `sftp`: the folder on the server (absolute, or relative to the login folder).
    #[serde(default)]
    pub remote_dir: Option<String>,
    /// `sftp`: seconds for connect + key exchange + login + SFTP start.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// `sftp`: seconds any one request (list, read) may take before the pull is
    /// treated as failed (and retried).
    #[serde(default = "default_read_timeout")]
    pub read_timeout_secs: u64,
    /// Transient failures (refused, reset, timeout, closed mid-transfer) are retried this
    /// many times, with exponential backoff and jitter from `retry_delay_ms`.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// When the bank's statement of a business date must be here: `HH:MM` local time (the
    /// general time zone) on the next business day. Default `07:00`. A statement still
    /// missing then is listed as late by the run summary and `fundrecon status`.
    #[serde(default = "default_deadline")]
    pub deadline: String,
    /// First backoff delay; doubles per attempt (capped at 60 s), ±50 % jitter.
    #[serde(default = "default_retry_delay")]
    pub retry_delay_ms: u64,
    /// When `fundrecon worker` enqueues this channel's batch: a cron expression with six
    /// fields, seconds first (`"0 30 6 * * Mon-Fri"`), in `worker.timezone`. Day-of-week
    /// must be names: in this syntax 1 is Sunday. None: the channel is only run by hand.
    #[serde(default)]
    pub schedule: Option<String>,
}

fn default_after_pull() -> String {
    "leave".into()
}
fn default_port() -> u16 {
    22
}
fn default_connect_timeout() -> u64 {
    30
}
fn default_read_timeout() -> u64 {
    60
}
fn default_retries() -> u32 {
    3
}
fn default_retry_delay() -> u64 {
    2000
}

fn default_deadline() -> String {
    "07:00".into()
}

impl Channel {
    /// The delivery deadline as a time of day (checked by `Config::check`).
    pub fn deadline_time(&self) -> chrono::NaiveTime {
        chrono::NaiveTime::parse_from_str(&self.deadline, "%H:%M")
            .unwrap_or(chrono::NaiveTime::from_hms_opt(7, 0, 0).expect("valid time"))
    }
}

fn default_pattern() -> String {
    "*".into()
}
fn default_format() -> String {
    "auto".into()
}
fn default_max_file() -> u64 {
    1 << 30
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct BookSource {
    pub name: String,
    /// The plain book CSV: `disbursement` (拨付, money out) or `receipt` (收款, money in).
    /// Not used with `layout`, where the file's own direction column decides.
    #[serde(default)]
    pub kind: Option<String>,
    /// A book layout (`formats/book-*.toml`) for a finance system's own export.
    #[serde(default)]
    pub layout: Option<String>,
    pub path: PathBuf,
    /// What each delivery of this source holds: `incremental` (default: only what is new
    /// or changed; vouchers leave the books only by a 作废 row or a negating record) or
    /// `full` (the source's whole books each time: a voucher missing from the latest
    /// delivery has left them too).
    #[serde(default)]
    pub delivery: BookDeliveryKind,
}

/// `books[].delivery`.
#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BookDeliveryKind {
    #[default]
    Incremental,
    Full,
}

/// `[worker]`: every key optional. See `ops/fundrecon-production.toml` for a commented one.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// IANA zone the schedules are evaluated in; default `general.timezone`
    /// (itself `Asia/Shanghai` by default).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Holiday calendar TOML (the shape of `ops/calendar/cn.toml`); default: that file,
    /// compiled in.
    #[serde(default)]
    pub calendar: Option<PathBuf>,
    /// How long a worker's claim on a batch lasts without renewal; renewed every third of
    /// it while the worker works. A batch whose worker died is taken over after this.
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
    /// How often an idle worker looks for work and due schedules.
    #[serde(default = "default_poll")]
    pub poll_secs: u64,
    /// Tries of one stage before the batch fails with the cause (transient failures).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Wait before the first retry of a stage; doubles per try up to `backoff_max_secs`.
    #[serde(default = "default_backoff")]
    pub backoff_secs: u64,
    #[serde(default = "default_backoff_max")]
    pub backoff_max_secs: u64,
    /// On SIGTERM/SIGINT the current stage may finish within this; past it the stage is
    /// rolled back (its transaction dropped, the lease released) and the worker exits 0.
    #[serde(default = "default_shutdown")]
    pub shutdown_secs: u64,
    /// At start, schedule fires this far back are enqueued if their batch is missing
    /// (a worker that was down at 06:30 still runs the day's batches).
    #[serde(default = "default_catch_up")]
    pub catch_up_hours: u64,
    /// `host:port` for `/metrics` (Prometheus text) and `/healthz`; none = no HTTP port.
    /// Keep it on 127.0.0.1 unless a firewall guards it: it is unauthenticated.
    #[serde(default)]
    pub metrics_listen: Option<String>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            timezone: None,
            calendar: None,
            lease_secs: default_lease(),
            poll_secs: default_poll(),
            max_attempts: default_max_attempts(),
            backoff_secs: default_backoff(),
            backoff_max_secs: default_backoff_max(),
            shutdown_secs: default_shutdown(),
            catch_up_hours: default_catch_up(),
            metrics_listen: None,
        }
    }
}

fn default_lease() -> u64 {
    60
}
fn default_poll() -> u64 {
    5
}
fn default_max_attempts() -> u32 {
    5
}
fn default_backoff() -> u64 {
    30
}
fn default_backoff_max() -> u64 {
    1800
}
fn default_shutdown() -> u64 {
    30
}
fn default_catch_up() -> u64 {
    24
}

/// One problem in a config, with its TOML path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    #[error("{path}: {} problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid { path: String, problems: Vec<Problem> },
}

/// `[serve]`: where the review web page listens, who may log in, how long a session lasts.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    /// `host:port`; a loopback address unless `allow_remote` (then put it behind a TLS proxy).
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default)]
    pub allow_remote: bool,
    /// A session ends this many minutes after login (checked on the server).
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u32,
    #[serde(default)]
    pub users: Vec<ServeUser>,
}

impl Default for Serve {
    fn default() -> Self {
        Serve {
            listen: default_listen(),
            allow_remote: false,
            session_minutes: default_session_minutes(),
            users: vec![],
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_session_minutes() -> u32 {
    480
}

/// The longest session: one day.
pub const MAX_SESSION_MINUTES: u32 = 24 * 60;

/// One person who may log in to the review web page.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ServeUser {
    /// The name recorded as `decided_by` in the audit rows.
    pub name: String,
    pub role: ServeRole,
    /// An argon2 PHC string (`fundrecon serve hash-password` prints one); never a password.
    pub password_hash: String,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ServeRole {
    /// Reads everything, decides nothing.
    Viewer,
    /// Reads and records decisions.
    Reviewer,
}

impl ServeRole {
    pub fn as_str(&self) -> &'static str {
        match self {
            ServeRole::Viewer => "viewer",
            ServeRole::Reviewer => "reviewer",
        }
    }
}

/// Why `s` is not an argon2 PHC string, if it is not one.
pub fn check_password_hash(s: &str) -> Result<(), String> {
    let h = argon2::password_hash::phc::PasswordHash::new(s)
        .map_err(|e| format!("not a PHC string ({e}); `fundrecon serve hash-password` prints one"))?;
    if !h.algorithm.as_str().starts_with("argon2") {
        return Err(format!("algorithm {:?} is not argon2 (use argon2id)", h.algorithm.as_str()));
    }
    if h.hash.is_none() || h.salt.is_none() {
        return Err("the PHC string has no salt or no hash".into());
    }
    Ok(())
}

pub const CHANNEL_TYPES: [&str; 2] = ["dir", "sftp"];

/// A TOML error as `line L, column C: message`. Never toml's own Display: it quotes the
/// source line, which may hold a password; quoted values in the message are left out too.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = redact_quoted(e.message().trim_end());
    match e.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
            let start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let column = 1 + String::from_utf8_lossy(&before[start..]).chars().count();
            // The key of a `key = value` line (its name only: the value may be a secret).
            let rest = &text.as_bytes()[start..];
            let line_text =
                String::from_utf8_lossy(&rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())]);
            let key = line_text.split_once('=').map(|(k, _)| k.trim()).filter(|k| {
                !k.is_empty()
                    && k.len() <= 64
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | ' '))
            });
            match key {
                Some(k) => format!("line {line}, column {column}, key {k}: {message}"),
                None => format!("line {line}, column {column}: {message}"),
            }
        }
        None => message,
    }
}

/// `"…"` for every double-quoted text in a message (serde quotes the values it refuses).
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            out.push('…');
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
            out.push('"');
        }
    }
    out
}

/// Query parameters of a database URL that name no secret although they sound like one.
const URL_PATHS: [&str; 4] = ["passfile", "sslkey", "sslcert", "sslrootcert"];

/// Why a database URL holds a secret, if it does: a password before `@`, or a query
/// parameter such as `password`, `sslpassword`, `token`. Never repeats a value.
pub fn url_secret(url: &str) -> Option<String> {
    if url.contains('@') && url.split('@').next().is_some_and(|u| u.matches(':').count() >= 2) {
        return Some("contains a password (user:password@)".into());
    }
    let query = url.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    for pair in query.split(['&', ';']) {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        let key: String = form_urlencoded::parse(format!("{key}=").as_bytes())
            .next()
            .map(|(k, _)| k.to_lowercase())
            .unwrap_or_default();
        let key = key.trim();
        if URL_PATHS.contains(&key) {
            continue;
        }
        let secret = ["pass", "pwd", "secret", "token", "auth", "credential", "apikey", "api_key", "private"]
            .iter()
            .any(|w| key.contains(w));
        if secret {
            // The name alone, and only a plain one (`?hunter2password` would be the secret).
            let plain =
                pair.contains('=') && key.len() <= 32 && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            return Some(if plain {
                format!("the query parameter `{key}` holds a secret")
            } else {
                "a query parameter holds a secret".into()
            });
        }
    }
    None
}

/// A private key (or a piece of one) where a path belongs.
fn looks_like_key(p: &Path) -> bool {
    let s = p.to_string_lossy();
    s.contains("PRIVATE KEY") || s.contains("-----") || s.contains('\n') || s.contains('\r') || s.len() > 1024
}

impl Config {
    /// `general.timezone` as a zone (`Config::check` refused one that does not parse;
    /// Asia/Shanghai, its default, otherwise).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.general.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// Reads, parses and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        let mut cfg = Config::parse(&text)
            .map_err(|message| ConfigError::Syntax { path: path.display().to_string(), message })?;
        cfg.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if let Some(dir) = &cfg.general.formats_dir {
            let dir = cfg.resolve(dir);
            crate::parse::table::install(&dir).map_err(|message| ConfigError::Syntax {
                path: path.display().to_string(),
                message: format!("general.formats_dir: {}: {message}", dir.display()),
            })?;
        }
        let problems = cfg.check();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid { path: path.display().to_string(), problems });
        }
        Ok(cfg)
    }

    /// Parses TOML text (no semantic checks). The error names line, column and key.
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| toml_error(text, &e))
    }

    /// Resolves a path from the config against the config file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() { p.to_path_buf() } else { self.base_dir.join(p) }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.resolve(&self.general.data_dir)
    }

    pub fn output_dir(&self) -> PathBuf {
        self.resolve(&self.general.output_dir)
    }

    /// The database URL: env `FUNDRECON_DATABASE_URL`, else the config, else embedded SQLite.
    pub fn database_url(&self) -> String {
        if let Ok(u) = std::env::var("FUNDRECON_DATABASE_URL")
            && !u.is_empty()
        {
            return u;
        }
        if !self.general.database_url.is_empty() {
            return self.general.database_url.clone();
        }
        format!("sqlite://{}", self.data_dir().join("fundrecon.db").display())
    }

    /// The zone schedules and business dates are counted in (checked by `check`).
    pub fn worker_timezone(&self) -> chrono_tz::Tz {
        self.worker.timezone.as_deref().unwrap_or(&self.general.timezone).parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// The holiday calendar: `worker.calendar`, else the compiled-in mainland China one.
    pub fn calendar(&self) -> Result<crate::calendar::Calendar, String> {
        match &self.worker.calendar {
            Some(p) => crate::calendar::Calendar::load(&self.resolve(p)),
            None => Ok(crate::calendar::Calendar::china()),
        }
    }

    pub fn account(&self, number: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.number == number)
    }

    /// Every semantic problem, in file order.
    pub fn check(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        let mut add = |path: String, message: String| p.push(Problem { path, message });
        if self.general.timezone.parse::<chrono_tz::Tz>().is_err() {
            add(
                "general.timezone".into(),
                format!("{:?} is not a supported time zone (use e.g. \"Asia/Shanghai\")", self.general.timezone),
            );
        }
        let url = &self.general.database_url;
        if !url.is_empty() {
            if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                add("general.database_url".into(), "must start with sqlite: or postgres://".into());
            }
            if let Some(why) = url_secret(url) {
                add(
                    "general.database_url".into(),
                    format!("{why}: put it in FUNDRECON_DATABASE_URL or ~/.pgpass, never in a config file"),
                );
            }
        }
        if self.matching.date_window_days > 31 {
            add(
                "matching.date_window_days".into(),
                format!("{} is over the limit of 31 days", self.matching.date_window_days),
            );
        }
        if self.matching.tolerance_fen > MAX_TOLERANCE_FEN {
            add(
                "matching.tolerance_fen".into(),
                format!("{} is over the limit of {MAX_TOLERANCE_FEN} fen", self.matching.tolerance_fen),
            );
        }
        if let Err(e) = self.matching.rule_set(None) {
            add("matching.rules".into(), e);
        }
        for (key, v, lo, hi) in self.limits.ranges() {
            if let Some(v) = v
                && !(lo..=hi).contains(&v)
            {
                add(format!("limits.{key}"), format!("{v} is outside {lo}..={hi}"));
            }
        }
        let mut bank_ids = HashSet::new();
        for (i, b) in self.banks.iter().enumerate() {
            if b.id.trim().is_empty() {
                add(format!("banks[{i}].id"), "empty".into());
            } else if !bank_ids.insert(b.id.as_str()) {
                add(format!("banks[{i}].id"), format!("duplicate bank id {:?}", b.id));
            }
        }
        let mut numbers = HashSet::new();
        for (i, a) in self.accounts.iter().enumerate() {
            let n = a.number.trim();
            if n.is_empty() {
                add(format!("accounts[{i}].number"), "empty".into());
            } else if !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ') {
                add(
                    format!("accounts[{i}].number"),
                    format!("{:?}: only letters, digits, spaces and dashes", a.number),
                );
            } else if !numbers.insert(crate::account::normalize(n)) {
                add(format!("accounts[{i}].number"), format!("duplicate account {:?}", a.number));
            }
            if Currency::parse(&a.currency).is_none() {
                add(format!("accounts[{i}].currency"), format!("{:?} is not a three-letter currency code", a.currency));
            }
            if let Some(r) = &a.rules
                && let Err(e) = self.matching.rule_set(Some(r))
            {
                add(format!("accounts[{i}].rules"), e);
            }
            if let Some(o) = &a.book_opening {
                if o.date.parse::<chrono::NaiveDate>().is_err() {
                    add(format!("accounts[{i}].book_opening.date"), format!("{:?} is not a date (YYYY-MM-DD)", o.date));
                }
                if crate::money::parse_plain(&o.amount).is_none() {
                    add(
                        format!("accounts[{i}].book_opening.amount"),
                        format!("{:?} is not a decimal amount", o.amount),
                    );
                }
            }
            if !bank_ids.contains(a.bank.as_str()) {
                add(format!("accounts[{i}].bank"), format!("unknown bank {:?} (banks: {})", a.bank, self.bank_list()));
            }
        }
        let mut channel_names = HashSet::new();
        for (i, c) in self.channels.iter().enumerate() {
            if !channel_names.insert(c.name.as_str()) {
                add(format!("channels[{i}].name"), format!("duplicate channel name {:?}", c.name));
            }
            if !CHANNEL_TYPES.contains(&c.kind.as_str()) {
                add(
                    format!("channels[{i}].type"),
                    format!("unknown channel type {:?} (known: {})", c.kind, CHANNEL_TYPES.join(", ")),
                );
            }
            if !bank_ids.contains(c.bank.as_str()) {
                add(format!("channels[{i}].bank"), format!("unknown bank {:?} (banks: {})", c.bank, self.bank_list()));
            }
            if !crate::parse::known_format(&c.format) {
                add(
                    format!("channels[{i}].format"),
                    format!(
                        "unknown format {:?} (known: auto, mt940, camt, bai2, table, or a layout name from formats/)",
                        c.format
                    ),
                );
            }
            if chrono::NaiveTime::parse_from_str(&c.deadline, "%H:%M").is_err() {
                add(format!("channels[{i}].deadline"), format!("{:?} is not a time of day (HH:MM)", c.deadline));
            }
            if glob::Pattern::new(&c.pattern).is_err() {
                add(format!("channels[{i}].pattern"), format!("{:?} is not a valid file pattern", c.pattern));
            }
            if c.max_file_bytes == 0 {
                add(format!("channels[{i}].max_file_bytes"), "must be above 0".into());
            }
            if c.kind == "dir" {
                match &c.path {
                    None => add(format!("channels[{i}].path"), "a dir channel needs a path".into()),
                    Some(p) if !self.resolve(p).is_dir() => {
                        add(format!("channels[{i}].path"), format!("{} is not a folder", self.resolve(p).display()))
                    }
                    Some(p) => {
                        if let Some(m) = c.move_to.as_deref().filter(|_| c.after_pull == "move") {
                            let target = self.resolve(p).join(m);
                            if !target.is_dir() {
                                add(format!("channels[{i}].move_to"), format!("{} is not a folder", target.display()));
                            }
                        }
                    }
                }
                let sftp_only = [
                    ("host", c.host.is_some()),
                    ("user", c.user.is_some()),
                    ("key_file", c.key_file.is_some()),
                    ("host_key", c.host_key.is_some()),
                    ("remote_dir", c.remote_dir.is_some()),
                ];
                for (key, set) in sftp_only {
                    if set {
                        add(format!("channels[{i}].{key}"), "only for sftp channels".into());
                    }
                }
            }
            if c.kind == "sftp" {
                let mut need = |key: &str, v: Option<&str>| match v {
                    None => add(format!("channels[{i}].{key}"), format!("an sftp channel needs `{key}`")),
                    Some(s) if s.trim().is_empty() => add(format!("channels[{i}].{key}"), "empty".into()),
                    Some(_) => {}
                };
                need("host", c.host.as_deref());
                need("user", c.user.as_deref());
                need("remote_dir", c.remote_dir.as_deref());
                need("host_key", c.host_key.as_deref());
                if c.port == 0 {
                    add(format!("channels[{i}].port"), "must be above 0".into());
                }
                if c.path.is_some() {
                    add(format!("channels[{i}].path"), "an sftp channel uses `remote_dir`, not `path`".into());
                }
                match &c.key_file {
                    None => add(format!("channels[{i}].key_file"), "an sftp channel needs `key_file` (a path)".into()),
                    // The value is never repeated: a key pasted in place of its path is a secret.
                    Some(k) if looks_like_key(k) => add(
                        format!("channels[{i}].key_file"),
                        "holds key text, not a path: save the private key in a file (mode 0600) and give its path"
                            .into(),
                    ),
                    Some(k) if !self.resolve(k).is_file() => add(
                        format!("channels[{i}].key_file"),
                        "names no file (relative paths start at the config's folder; the value is not repeated here)"
                            .into(),
                    ),
                    Some(_) => {}
                }
                if let Some(h) = c.host_key.as_deref().filter(|h| !h.trim().is_empty())
                    && let Err(e) = crate::fetch::sftp::HostKeyPin::parse(h)
                {
                    add(format!("channels[{i}].host_key"), e);
                }
                if c.connect_timeout_secs == 0 {
                    add(format!("channels[{i}].connect_timeout_secs"), "must be above 0".into());
                }
                if c.read_timeout_secs == 0 {
                    add(format!("channels[{i}].read_timeout_secs"), "must be above 0".into());
                }
            }
            match (c.after_pull.as_str(), &c.move_to) {
                ("move", None) => add(format!("channels[{i}].move_to"), "after_pull = \"move\" needs `move_to`".into()),
                ("move", Some(m)) if m.trim().is_empty() => add(format!("channels[{i}].move_to"), "empty".into()),
                ("leave" | "delete", Some(_)) => {
                    add(format!("channels[{i}].move_to"), "only with after_pull = \"move\"".into())
                }
                ("leave" | "delete" | "move", _) => {}
                (other, _) => add(
                    format!("channels[{i}].after_pull"),
                    format!("{other:?}: use \"leave\", \"move\" or \"delete\""),
                ),
            }
            if c.retries > 10 {
                add(format!("channels[{i}].retries"), format!("{} is over the limit of 10", c.retries));
            }
            if c.retry_delay_ms > 600_000 {
                add(format!("channels[{i}].retry_delay_ms"), "over the limit of 600000 (10 minutes)".into());
            }
            if let Some(s) = &c.schedule
                && let Err(e) = crate::worker::schedule::Schedule::parse(s)
            {
                add(format!("channels[{i}].schedule"), e);
            }
        }
        let w = &self.worker;
        if let Some(tz) = &w.timezone
            && tz.parse::<chrono_tz::Tz>().is_err()
        {
            add("worker.timezone".into(), format!("{tz:?} is not a supported time zone (use e.g. \"Asia/Shanghai\")"));
        }
        if let Some(c) = &w.calendar
            && let Err(e) = crate::calendar::Calendar::load(&self.resolve(c))
        {
            add("worker.calendar".into(), e);
        }
        for (key, v, lo, hi) in [
            ("lease_secs", w.lease_secs, 2, 3600),
            ("poll_secs", w.poll_secs, 1, 600),
            ("max_attempts", u64::from(w.max_attempts), 1, 100),
            ("backoff_secs", w.backoff_secs, 0, 86_400),
            ("backoff_max_secs", w.backoff_max_secs, 0, 86_400),
            ("shutdown_secs", w.shutdown_secs, 1, 3600),
            ("catch_up_hours", w.catch_up_hours, 0, 24 * 31),
        ] {
            if !(lo..=hi).contains(&v) {
                add(format!("worker.{key}"), format!("{v} is outside {lo}..={hi}"));
            }
        }
        if let Some(l) = &w.metrics_listen
            && l.parse::<std::net::SocketAddr>().is_err()
        {
            add("worker.metrics_listen".into(), format!("{l:?} is not an address:port (e.g. \"127.0.0.1:9187\")"));
        }
        if self.report.formats.is_empty() {
            add("report.formats".into(), "empty: list at least one of \"csv\", \"json\", \"xlsx\", \"html\"".into());
        }
        for p2 in crate::interest::terms::check_set(&self.agreements) {
            add(p2.path.clone(), p2.message.clone());
        }
        for (i, a) in self.agreements.iter().enumerate() {
            if let Some(acct) = &a.account
                && self.account(acct).is_none()
            {
                add(format!("agreements[{i}].account"), format!("{acct:?} is not a configured account"));
            }
        }
        self.check_serve(&mut add);
        for (i, b) in self.books.iter().enumerate() {
            match (&b.kind, &b.layout) {
                (_, Some(l))
                    if crate::parse::table::layouts()
                        .get(l)
                        .is_none_or(|l| l.kind != crate::parse::table::LayoutKind::Book) =>
                {
                    add(format!("books[{i}].layout"), format!("{l:?} is not a book layout in formats/"))
                }
                (Some(_), Some(_)) => {
                    add(format!("books[{i}].kind"), "a layout book's direction comes from the file; drop `kind`".into())
                }
                (Some(k), None) if crate::book::Direction::parse(k).is_none() => {
                    add(format!("books[{i}].kind"), format!("{k:?}: use \"disbursement\" or \"receipt\""))
                }
                (None, None) => add(
                    format!("books[{i}].kind"),
                    "missing: \"disbursement\" or \"receipt\" (or give a `layout`)".into(),
                ),
                _ => {}
            }
            if !self.resolve(&b.path).is_file() {
                add(format!("books[{i}].path"), format!("{} is not a file", self.resolve(&b.path).display()));
            }
        }
        p
    }

    fn check_serve(&self, add: &mut impl FnMut(String, String)) {
        let s = &self.serve;
        match s.listen.parse::<std::net::SocketAddr>() {
            Err(_) => {
                add("serve.listen".into(), format!("{:?} is not an address:port (e.g. \"127.0.0.1:8080\")", s.listen))
            }
            Ok(a) if !a.ip().is_loopback() && !s.allow_remote => add(
                "serve.listen".into(),
                format!(
                    "{} is not a loopback address; set `allow_remote = true` (behind a TLS proxy) to allow it",
                    s.listen
                ),
            ),
            Ok(_) => {}
        }
        if !(1..=MAX_SESSION_MINUTES).contains(&s.session_minutes) {
            add("serve.session_minutes".into(), format!("{} is outside 1..={MAX_SESSION_MINUTES}", s.session_minutes));
        }
        let mut names = HashSet::new();
        for (i, u) in s.users.iter().enumerate() {
            let n = u.name.trim();
            if n.is_empty() {
                add(format!("serve.users[{i}].name"), "empty".into());
            } else if n != u.name
                || n.chars().count() > crate::review::MAX_NAME_CHARS
                || n.chars().any(char::is_control)
            {
                add(
                    format!("serve.users[{i}].name"),
                    format!(
                        "{:?}: at most {} characters, no control characters or outer spaces",
                        u.name,
                        crate::review::MAX_NAME_CHARS
                    ),
                );
            } else if !names.insert(n) {
                add(format!("serve.users[{i}].name"), format!("duplicate user {n:?}"));
            }
            if let Err(e) = check_password_hash(&u.password_hash) {
                add(format!("serve.users[{i}].password_hash"), e);
            }
        }
    }

    fn bank_list(&self) -> String {
        let mut ids: Vec<&str> = self.banks.iter().map(|b| b.id.as_str()).collect();
        ids.dedup();
        ids.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_position() {
        let e = Config::parse("[general]\ndata_dri = \"x\"\n").unwrap_err();
        assert!(e.contains("data_dri"), "{e}");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn report_section() {
        use crate::report::{Format, labels::Lang};
        let c = Config::parse("").unwrap();
        assert_eq!((c.report.language, c.report.formats.len()), (Lang::Zh, 4));
        let c = Config::parse("[report]\nlanguage = \"en\"\nformats = [\"xlsx\", \"csv\"]\n").unwrap();
        assert_eq!((c.report.language, c.report.formats), (Lang::En, vec![Format::Xlsx, Format::Csv]));
        let e = Config::parse("[report]\nlanguage = \"fr\"\n").unwrap_err();
        assert!(e.contains("language") && e.contains("line 2"), "{e}");
        let e = Config::parse("[report]\nformats = [\"pdf\"]\n").unwrap_err();
        assert!(e.contains("pdf"), "{e}");
        let c = Config::parse("[report]\nformats = []\n").unwrap();
        assert!(c.check().iter().any(|p| p.path == "report.formats"));
    }

    #[test]
    fn every_problem_has_its_path() {
        let cfg = Config::parse(
            r#"
[general]
timezone = "Mars/Olympus"
database_url = "postgres://u:secret@db/x"
[[banks]]
id = "boc"
name = "BOC"
[[banks]]
id = "boc"
name = "again"
[[accounts]]
number = "4500"
name = "a"
currency = "RMB1"
bank = "icbc"
role = "fiscal"
[[channels]]
name = "c"
type = "ftp"
bank = "boc"
format = "pdf"
"#,
        )
        .unwrap();
        let paths: Vec<String> = cfg.check().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "general.timezone",
                "general.database_url",
                "banks[1].id",
                "accounts[0].currency",
                "accounts[0].bank",
                "channels[0].type",
                "channels[0].format",
            ]
        );
    }
}
