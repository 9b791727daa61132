//! A throwaway OpenSSH server for SFTP tests (rust-notes §4): its own host key, an
//! authorized client key and a second, unauthorized one, all in a temp folder; listens on
//! a free port of 127.0.0.1 only; `Subsystem sftp internal-sftp`; killed on drop.
//! Needs `/usr/sbin/sshd` (package openssh-server) and, as root, `/run/sshd`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

pub const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// Login name (the user running the tests and the server).
    pub user: String,
    /// Authorized private key.
    pub client_key: PathBuf,
    /// A valid key the server does not accept.
    pub stranger_key: PathBuf,
    /// `[127.0.0.1]:port ssh-ed25519 AAAA…`
    pub known_hosts: String,
    /// A host key line of another server (for the mismatch test).
    pub other_host_key: String,
    log: Arc<Mutex<String>>,
    child: Child,
}

/// Whether the tests can run here; prints why not.
pub fn available(test: &str) -> bool {
    if Path::new(SSHD).exists() {
        return true;
    }
    eprintln!("{test}: skipped: {SSHD} missing (apt-get install -y openssh-server; install -d -m 0755 /run/sshd)");
    false
}

fn keygen(path: &Path) {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(st.success(), "ssh-keygen failed");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Sshd {
    pub fn start() -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for k in ["host_ed25519", "client_ed25519", "stranger_ed25519", "other_host_ed25519"] {
            keygen(&d.join(k));
        }
        std::fs::copy(d.join("client_ed25519.pub"), d.join("authorized_keys")).unwrap();
        let user =
            String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap().trim().to_string();
        let pubkey = |f: &str| {
            let t = std::fs::read_to_string(d.join(f)).unwrap();
            t.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
        };
        let (host_pub, other_pub) = (pubkey("host_ed25519.pub"), pubkey("other_host_ed25519.pub"));
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let conf = format!(
                "ListenAddress 127.0.0.1:{port}\nHostKey {d}/host_ed25519\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nPubkeyAuthentication yes\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n\
                 AllowTcpForwarding no\nX11Forwarding no\nPrintMotd no\nLogLevel VERBOSE\n\
                 Subsystem sftp internal-sftp\n",
                d = d.display()
            );
            std::fs::write(d.join("sshd_config"), conf).unwrap();
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(d.join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("sshd starts");
            let log = Arc::new(Mutex::new(String::new()));
            let (tx, rx) = mpsc::channel();
            let stderr = child.stderr.take().unwrap();
            let log2 = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains("Server listening") {
                        let _ = tx.send(());
                    }
                    let mut l = log2.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
            if rx.recv_timeout(Duration::from_secs(10)).is_ok() {
                return Sshd {
                    port,
                    user,
                    client_key: d.join("client_ed25519"),
                    stranger_key: d.join("stranger_ed25519"),
                    known_hosts: format!("[127.0.0.1]:{port} {host_pub}"),
                    other_host_key: other_pub,
                    log,
                    child,
                    dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last = log.lock().unwrap().clone();
        }
        panic!("sshd did not start:\n{last}");
    }

    /// A folder served by the server (created under the temp folder).
    pub fn folder(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join("srv").join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// The TOML lines of an sftp channel on this server reading `remote` (after `bank = …`).
    pub fn channel_toml(&self, remote: &Path) -> String {
        format!(
            "host = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nkey_file = \"{}\"\nhost_key = \"{}\"\nremote_dir = \"{}\"\n",
            self.port,
            self.user,
            self.client_key.display(),
            self.known_hosts,
            remote.display()
        )
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Kills (SIGKILL) every process serving a connection: open transfers break off as if
    /// the server died; the listener stays, so the next connection works.
    pub fn kill_sessions(&self) -> usize {
        let mut parents: Vec<(u32, u32)> = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
            // pid (comm) state ppid …; comm may contain spaces and parentheses.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
                parents.push((pid, ppid));
            }
        }
        let mut tree = vec![self.child.id()];
        let mut i = 0;
        while i < tree.len() {
            let p = tree[i];
            tree.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
            i += 1;
        }
        let victims: Vec<String> = tree[1..].iter().map(u32::to_string).collect();
        if !victims.is_empty() {
            let _ = Command::new("kill").arg("-KILL").args(&victims).status();
        }
        victims.len()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill_sessions();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
