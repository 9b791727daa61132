//! `type = "sftp"`: a folder on an SFTP server (the bank's or ours), over russh +
//! russh-sftp. The server's host key is pinned in the config (`host_key`) and checked in
//! [`Handler::check_server_key`]: an unknown or changed key refuses the connection. Login
//! is by private key only (`key_file`, a path: the key is never in the config or a log).
//!
//! One pull = one connection: list `remote_dir`, select, download each new file through
//! [`super::download`] (hash + size check, temporary file), hand it to the sink, then
//! `after_pull`. Each request is bounded by `read_timeout_secs`, the login by
//! `connect_timeout_secs`. Errors are classified transient or permanent for
//! [`super::Channel::pull`]'s retry loop.

use super::retry::Policy;
use super::seen::Seen;
use super::{AfterPull, DownloadError, Downloaded, FetchError, Listed, Pull, Sink, download, select};
use crate::config::{Channel as ChannelConfig, Config};
use russh::client;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh_sftp::client::SftpSession;
use russh_sftp::protocol::StatusCode;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The pinned server key: the key itself, or its SHA-256 fingerprint.
#[derive(Debug, Clone)]
pub enum HostKeyPin {
    Key(Box<PublicKey>),
    Fingerprint(String),
}

impl HostKeyPin {
    /// Accepts a known_hosts line (`[host]:port ssh-ed25519 AAAA…`), a public key line
    /// (`ssh-ed25519 AAAA… comment`) or a fingerprint (`SHA256:…`, as `ssh-keygen -lf`
    /// prints it). Messages never repeat the text (it may be a pasted secret by mistake).
    pub fn parse(text: &str) -> Result<HostKeyPin, String> {
        let t = text.trim();
        if t.contains("PRIVATE KEY") {
            return Err("this is a private key: give the server's public key or its SHA256 fingerprint".into());
        }
        if let Some(b64) = t.strip_prefix("SHA256:") {
            let ok = b64.len() == 43 && b64.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
            return if ok {
                Ok(HostKeyPin::Fingerprint(t.to_string()))
            } else {
                Err("a SHA256 fingerprint is `SHA256:` and 43 base64 characters".into())
            };
        }
        if t.lines().count() != 1 {
            return Err("give one known_hosts line, one public key line or one SHA256 fingerprint".into());
        }
        let fields: Vec<&str> = t.split_whitespace().collect();
        if fields.first().is_some_and(|f| f.starts_with('@')) {
            return Err("known_hosts markers (@cert-authority, @revoked) are not supported: pin the host key".into());
        }
        for w in fields.windows(2) {
            if is_key_type(w[0]) {
                return match russh::keys::parse_public_key_base64(w[1]) {
                    Ok(k) if k.algorithm().as_str() == w[0] => Ok(HostKeyPin::Key(Box::new(k))),
                    Ok(_) => Err(format!("the key data is not a {} key", w[0])),
                    Err(e) => Err(format!("the {} key does not decode: {e}", w[0])),
                };
            }
        }
        Err("not a known_hosts line, public key or SHA256 fingerprint".into())
    }

    pub fn fingerprint(&self) -> String {
        match self {
            HostKeyPin::Key(k) => k.fingerprint(HashAlg::Sha256).to_string(),
            HostKeyPin::Fingerprint(f) => f.clone(),
        }
    }

    fn accepts(&self, key: &PublicKey) -> bool {
        match self {
            HostKeyPin::Key(k) => k.key_data() == key.key_data(),
            HostKeyPin::Fingerprint(f) => key.fingerprint(HashAlg::Sha256).to_string() == *f,
        }
    }
}

fn is_key_type(s: &str) -> bool {
    s.starts_with("ssh-") || s.starts_with("ecdsa-sha2-") || s.starts_with("sk-") || s.starts_with("rsa-sha2-")
}

/// Checks the server key against the pin; remembers what was offered for the message.
struct Pinned {
    pin: HostKeyPin,
    offered: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Pinned {
    type Error = russh::Error;

    async fn check_server_key(&mut self, server: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let (ok, offered) = match server {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                (self.pin.accepts(key), key.fingerprint(HashAlg::Sha256).to_string())
            }
            // A certificate is not the pinned key, even if signed by someone we know.
            PublicKeyOrCertificate::Certificate(c) => {
                (false, format!("a certificate for {}", c.public_key().fingerprint(HashAlg::Sha256)))
            }
        };
        *self.offered.lock().expect("not poisoned") = Some(offered);
        Ok(ok)
    }
}

pub struct SftpChannel {
    name: String,
    host: String,
    port: u16,
    user: String,
    key_file: PathBuf,
    host_key: String,
    remote_dir: String,
    pattern: glob::Pattern,
    max_bytes: u64,
    after: AfterPull,
    connect_timeout: Duration,
    read_timeout: Duration,
    policy: Policy,
    data_dir: PathBuf,
}

struct Conn {
    handle: client::Handle<Pinned>,
    sftp: SftpSession,
}

impl SftpChannel {
    pub fn new(cfg: &Config, ch: &ChannelConfig) -> SftpChannel {
        SftpChannel {
            name: ch.name.clone(),
            host: ch.host.clone().unwrap_or_default(),
            port: ch.port,
            user: ch.user.clone().unwrap_or_default(),
            key_file: cfg.resolve(ch.key_file.as_deref().unwrap_or_else(|| std::path::Path::new(""))),
            host_key: ch.host_key.clone().unwrap_or_default(),
            remote_dir: ch.remote_dir.clone().unwrap_or_else(|| ".".into()),
            pattern: glob::Pattern::new(&ch.pattern)
                .unwrap_or_else(|_| glob::Pattern::new("*").expect("static pattern")),
            max_bytes: ch.max_file_bytes,
            after: AfterPull::from_config(ch),
            connect_timeout: Duration::from_secs(ch.connect_timeout_secs.max(1)),
            read_timeout: Duration::from_secs(ch.read_timeout_secs.max(1)),
            policy: Policy { retries: ch.retries, base: Duration::from_millis(ch.retry_delay_ms) },
            data_dir: cfg.data_dir(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn retry_policy(&self) -> Policy {
        self.policy
    }

    fn err(&self, message: String, transient: bool) -> FetchError {
        FetchError::Remote { channel: self.name.clone(), message, transient }
    }

    fn at(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }

    async fn connect(&self) -> Result<Conn, FetchError> {
        let pin = HostKeyPin::parse(&self.host_key).map_err(|e| self.err(format!("host_key: {e}"), false))?;
        // Read before connecting: a missing key file is a configuration error.
        let key = russh::keys::load_secret_key(&self.key_file, None).map_err(|e| {
            self.err(format!("cannot load the private key file {}: {e}", self.key_file.display()), false)
        })?;
        let offered = Arc::new(Mutex::new(None));
        let handler = Pinned { pin: pin.clone(), offered: offered.clone() };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(self.read_timeout.max(self.connect_timeout)),
            nodelay: true,
            ..Default::default()
        });
        tracing::info!(channel = %self.name, host = %self.host, port = self.port, user = %self.user, remote_dir = %self.remote_dir, "connecting");
        let work = async {
            let mut handle = match client::connect(config, (self.host.as_str(), self.port), handler).await {
                Ok(h) => h,
                Err(russh::Error::UnknownKey) => {
                    let got = offered.lock().expect("not poisoned").clone().unwrap_or_default();
                    return Err(self.err(
                        format!(
                            "{}: host key mismatch: the server offered {got}, the config pins {}; \
                             refused by the pinned host key (permanent, not retried): if the bank changed its key, \
                             confirm the new fingerprint with them out of band, update host_key and rerun the batch",
                            self.at(),
                            pin.fingerprint()
                        ),
                        false,
                    ));
                }
                Err(e) => return Err(self.ssh_err("connect", e)),
            };
            let hash = handle.best_supported_rsa_hash().await.map_err(|e| self.ssh_err("login", e))?.flatten();
            let auth = handle
                .authenticate_publickey(self.user.clone(), PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                .await
                .map_err(|e| self.ssh_err("login", e))?;
            if !auth.success() {
                return Err(self.err(format!("{}: the server refused the login with this key", self.at()), false));
            }
            let channel = handle.channel_open_session().await.map_err(|e| self.ssh_err("open session", e))?;
            channel.request_subsystem(true, "sftp").await.map_err(|e| self.ssh_err("start sftp", e))?;
            let cfg =
                russh_sftp::client::Config { request_timeout_secs: self.read_timeout.as_secs(), ..Default::default() };
            let sftp = SftpSession::new_with_config(channel.into_stream(), cfg)
                .await
                .map_err(|e| self.sftp_err("start sftp", &self.remote_dir, e))?;
            Ok(Conn { handle, sftp })
        };
        match tokio::time::timeout(self.connect_timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(self.err(
                format!("{}: no login within {} s (connect_timeout_secs)", self.at(), self.connect_timeout.as_secs()),
                true,
            )),
        }
    }

    fn ssh_err(&self, what: &str, e: russh::Error) -> FetchError {
        let transient = ssh_transient(&e);
        self.err(format!("{}: {what}: {e}", self.at()), transient)
    }

    fn sftp_err(&self, what: &str, path: &str, e: russh_sftp::client::error::Error) -> FetchError {
        let transient = sftp_transient(&e);
        self.err(format!("{}: {what} {path:?}: {e}", self.at()), transient)
    }

    fn path(&self, name: &str) -> String {
        join(&self.remote_dir, name)
    }

    async fn list(&self, c: &Conn) -> Result<Vec<Listed>, FetchError> {
        let dir = c.sftp.read_dir(self.remote_dir.as_str()).await.map_err(|e| {
            let mut f = self.sftp_err("list", &self.remote_dir, e);
            if let FetchError::Remote { message, transient: false, .. } = &mut f {
                message.push_str(" (is remote_dir right and readable by this user?)");
            }
            f
        })?;
        Ok(dir
            .map(|e| {
                let m = e.metadata();
                Listed {
                    // russh-sftp decodes names lossily: a non-UTF-8 name arrives with
                    // U+FFFD, which `check_name` refuses out loud.
                    name: e.file_name(),
                    raw: None,
                    size: m.len(),
                    mtime_ns: m.mtime.map(|s| u64::from(s) * 1_000_000_000),
                    regular: m.is_regular(),
                }
            })
            .collect())
    }

    pub async fn pull_once<S: Sink + Send>(&self, sink: &mut S, pull: &mut Pull) -> Result<(), FetchError> {
        let conn = self.connect().await?;
        let r = self.pull_on(&conn, sink, pull).await;
        let _ = conn.sftp.close().await;
        let _ = conn.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
        r
    }

    async fn pull_on<S: Sink + Send>(&self, c: &Conn, sink: &mut S, pull: &mut Pull) -> Result<(), FetchError> {
        let listing = self.list(c).await?;
        let present: Vec<String> = listing.iter().map(|l| l.name.clone()).collect();
        let (take, refused) = select(&self.name, listing, &self.pattern, self.max_bytes)?;
        pull.refused.extend(refused);
        let local = |e: std::io::Error| FetchError::Io {
            channel: self.name.clone(),
            path: self.data_dir.display().to_string(),
            source: e,
        };
        let mut seen = Seen::load(&self.data_dir, &self.name).map_err(local)?;
        let mut gone = HashSet::new();
        tracing::info!(channel = %self.name, files = take.len(), "listed");
        for l in take {
            let known = seen.known(&l.name, l.size, l.mtime_ns).map(str::to_string);
            let sha = match known {
                // A delete is only ever done on bytes this pull hashed.
                Some(sha) if self.after != AfterPull::Delete => {
                    pull.known += 1;
                    sha
                }
                _ => {
                    let Some(d) = self.fetch_one(c, &l, sink.tmp_dir(), pull).await? else { continue };
                    let (size, sha) = (d.size, d.sha256.clone());
                    let new = sink.keep(d).await.map_err(|e| FetchError::Keep {
                        channel: self.name.clone(),
                        name: l.name.clone(),
                        message: format!("{e:#}"),
                    })?;
                    tracing::info!(channel = %self.name, file = %l.name, bytes = size, new_content = new, "fetched");
                    pull.kept.push(l.name.clone());
                    pull.new_content += usize::from(new);
                    seen.add(&l.name, size, l.mtime_ns, &sha).map_err(local)?;
                    sha
                }
            };
            match self.act(c, &l.name, &sha).await {
                Ok(true) => {
                    gone.insert(l.name);
                }
                Ok(false) => {}
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    tracing::warn!(channel = %self.name, file = %l.name, error = %e, "after_pull failed");
                    pull.after_pull_failed.push(format!("{}: {e}", l.name));
                }
            }
        }
        let present: HashSet<&str> = present.iter().map(String::as_str).filter(|n| !gone.contains(*n)).collect();
        seen.retain(&present).map_err(local)?;
        Ok(())
    }

    /// Downloads one file; `None` when it is refused (reported in `pull`) or vanished.
    async fn fetch_one(
        &self,
        c: &Conn,
        l: &Listed,
        tmp_dir: &std::path::Path,
        pull: &mut Pull,
    ) -> Result<Option<Downloaded>, FetchError> {
        let path = self.path(&l.name);
        let refuse = |pull: &mut Pull, why: String| {
            pull.refused.push(FetchError::Refused { channel: self.name.clone(), name: l.name.clone(), why });
        };
        let mut file = match c.sftp.open(path.as_str()).await {
            Ok(f) => f,
            Err(russh_sftp::client::error::Error::Status(s)) if s.status_code == StatusCode::NoSuchFile => {
                return Ok(None);
            }
            Err(russh_sftp::client::error::Error::Status(s)) if s.status_code == StatusCode::PermissionDenied => {
                refuse(pull, "permission denied".into());
                return Ok(None);
            }
            Err(e) => return Err(self.sftp_err("open", &path, e)),
        };
        // The handle's own attributes: a file replaced between listing and open (by a
        // symlink, or a new version) is not what was selected.
        let attrs = file.metadata().await.map_err(|e| self.sftp_err("stat", &path, e))?;
        if !attrs.is_regular()
            || attrs.len() != l.size
            || attrs.mtime.map(|s| u64::from(s) * 1_000_000_000) != l.mtime_ns
        {
            refuse(pull, "changed between listing and download: fetched next time".into());
            return Ok(None);
        }
        let (tmp, sha, size) = match download(&mut file, tmp_dir, l.size, self.max_bytes, self.read_timeout).await {
            Ok(x) => x,
            Err(DownloadError::Refuse(why)) => {
                refuse(pull, why);
                return Ok(None);
            }
            Err(DownloadError::Read(e)) => {
                return Err(self.err(format!("{}: reading {path:?}: {e}", self.at()), io_transient(&e)));
            }
            Err(DownloadError::Local(e)) => {
                return Err(FetchError::Io {
                    channel: self.name.clone(),
                    path: tmp_dir.display().to_string(),
                    source: e,
                });
            }
        };
        // Still the same file after reading (a bank still writing it changes size or mtime).
        let after = file.metadata().await.map_err(|e| self.sftp_err("stat", &path, e))?;
        let _ = file.close().await;
        if after.len() != attrs.len() || after.mtime != attrs.mtime {
            refuse(pull, "changed while it was read: fetched next time".into());
            return Ok(None);
        }
        Ok(Some(Downloaded { name: l.name.clone(), size, mtime_ns: l.mtime_ns, sha256: sha, tmp }))
    }

    /// `after_pull` on a file that is archived and recorded. Returns whether it left the
    /// folder. SFTP rename never overwrites; an existing target gets the hash in its name.
    async fn act(&self, c: &Conn, name: &str, sha: &str) -> Result<bool, FetchError> {
        let src = self.path(name);
        match &self.after {
            AfterPull::Leave => Ok(false),
            AfterPull::Delete => {
                c.sftp.remove_file(src.as_str()).await.map_err(|e| self.sftp_err("delete", &src, e))?;
                tracing::info!(channel = %self.name, file = %name, "deleted at the source");
                Ok(true)
            }
            AfterPull::Move(to) => {
                let folder = if to.starts_with('/') { to.clone() } else { join(&self.remote_dir, to) };
                let mut last = None;
                for target in [join(&folder, name), join(&folder, &format!("{}.{name}", &sha[..12]))] {
                    match c.sftp.rename(src.as_str(), target.as_str()).await {
                        Ok(()) => {
                            tracing::info!(channel = %self.name, file = %name, to = %target, "moved at the source");
                            return Ok(true);
                        }
                        Err(e) => last = Some(self.sftp_err("move to", &target, e)),
                    }
                }
                Err(last.expect("two attempts"))
            }
        }
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn io_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | NotConnected
            | BrokenPipe
            | TimedOut
            | UnexpectedEof
            | Interrupted
            | HostUnreachable
            | NetworkUnreachable
            | NetworkDown
            | AddrNotAvailable
            | WouldBlock
            | Other
    )
}

/// Connection-level trouble is worth another try; what the server decided (key, login,
/// algorithms) is not.
pub fn ssh_transient(e: &russh::Error) -> bool {
    use russh::Error::*;
    match e {
        IO(io) => io_transient(io),
        HUP | Disconnect | ConnectionTimeout | KeepaliveTimeout | InactivityTimeout | Elapsed(_) | SendError
        | RecvError | Pending => true,
        _ => false,
    }
}

/// A status from the server about a path (no such file, permission denied) is permanent;
/// a lost connection, an I/O error on the channel or a timeout is transient.
pub fn sftp_transient(e: &russh_sftp::client::error::Error) -> bool {
    use russh_sftp::client::error::Error::*;
    match e {
        Status(s) => matches!(s.status_code, StatusCode::ConnectionLost | StatusCode::NoConnection),
        IO(_) | Timeout | UnexpectedPacket | UnexpectedBehavior(_) => true,
        Limited(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUB: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";

    #[test]
    fn host_key_forms() {
        let k = HostKeyPin::parse(&format!("ssh-ed25519 {PUB} root@bank")).unwrap();
        let fp = k.fingerprint();
        assert!(fp.starts_with("SHA256:") && fp.len() == 50, "{fp}");
        let kh = HostKeyPin::parse(&format!("[sftp.bank.example]:2222 ssh-ed25519 {PUB}")).unwrap();
        assert_eq!(kh.fingerprint(), fp);
        let hashed = HostKeyPin::parse(&format!("|1|abc=|def= ssh-ed25519 {PUB}")).unwrap();
        assert_eq!(hashed.fingerprint(), fp);
        assert_eq!(HostKeyPin::parse(&fp).unwrap().fingerprint(), fp);
        for bad in [
            "SHA256:short",
            "ssh-ed25519 AAAAnotbase64!",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "hello",
            &format!("@cert-authority * ssh-ed25519 {PUB}"),
            &format!("ssh-rsa {PUB}"),
        ] {
            let e = HostKeyPin::parse(bad).unwrap_err();
            assert!(!e.contains("BEGIN"), "{e}");
        }
    }

    #[test]
    fn errors_are_classified() {
        use std::io::{Error, ErrorKind};
        assert!(ssh_transient(&russh::Error::IO(Error::from(ErrorKind::ConnectionRefused))));
        assert!(ssh_transient(&russh::Error::IO(Error::from(ErrorKind::ConnectionReset))));
        assert!(ssh_transient(&russh::Error::HUP));
        assert!(ssh_transient(&russh::Error::InactivityTimeout));
        assert!(!ssh_transient(&russh::Error::UnknownKey));
        assert!(!ssh_transient(&russh::Error::NotAuthenticated));
        assert!(!ssh_transient(&russh::Error::IO(Error::from(ErrorKind::PermissionDenied))));
        use russh_sftp::client::error::Error as E;
        assert!(sftp_transient(&E::Timeout));
        assert!(sftp_transient(&E::IO("closed".into())));
        let status = |c| {
            E::Status(russh_sftp::protocol::Status {
                id: 0,
                status_code: c,
                error_message: String::new(),
                language_tag: String::new(),
            })
        };
        assert!(!sftp_transient(&status(StatusCode::NoSuchFile)));
        assert!(!sftp_transient(&status(StatusCode::PermissionDenied)));
        assert!(sftp_transient(&status(StatusCode::ConnectionLost)));
    }

    #[test]
    fn remote_paths() {
        assert_eq!(join("/out/", "a"), "/out/a");
        assert_eq!(join("/out", "a"), "/out/a");
        assert_eq!(join(".", "a"), "a");
        assert_eq!(join("outbox", "a"), "outbox/a");
    }
}
