//! A REAL OpenSSH server for tests: `/usr/sbin/sshd -D -e -f <generated config>` listening on
//! 127.0.0.1 at a free port, with its own host key (made by ssh-keygen), an
//! `AuthorizedKeysFile` in its own temp dir, and per-test `MaxAuthTries`,
//! `PubkeyAcceptedAlgorithms` and extra config lines. It logs in as the user running the tests
//! (root on the CI machine; `UsePAM no` and `StrictModes no` keep the temp files usable), waits
//! until the server speaks SSH, keeps its log for failure messages, and is killed on drop.
//!
//! Why the real sshd and not russh's server: the point of the probe is to agree with what
//! OpenSSH does (MaxAuthTries disconnects, disabled key types, PK_OK without a signature), and
//! only OpenSSH itself is an honest oracle for that.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// What to put in the generated sshd_config.
#[derive(Debug, Clone, Default)]
pub struct SshdOptions {
    /// `MaxAuthTries` (sshd's default, 6, when None).
    pub max_auth_tries: Option<u32>,
    /// `PubkeyAcceptedAlgorithms` (sshd's default when None), e.g. `+ssh-dss`.
    pub pubkey_accepted_algorithms: Option<String>,
    /// Host key types to generate, in the order sshd offers them (default: just `ed25519`).
    pub host_key_types: Vec<String>,
    /// Further sshd_config lines, placed FIRST (sshd keeps the first value of a keyword, so
    /// these override the harness's own defaults, e.g. `PubkeyAuthentication no`).
    pub extra: Vec<String>,
    /// Host names only this server resolves, as (name, address): it runs under nss_wrapper
    /// with them in its hosts file (a jump host's view of an internal network).
    pub hosts: Vec<(String, String)>,
    /// A host certificate for the first host key, which sshd then presents.
    pub host_certificate: Option<HostCertificate>,
}

/// `ssh-keygen -s CA -h -I host ARGS KEY.pub` for the server's first host key.
#[derive(Debug, Clone)]
pub struct HostCertificate {
    /// The CA's private key file.
    pub ca: PathBuf,
    /// Further ssh-keygen arguments: `-n` principals, `-V` validity, `-t` signature type...
    pub args: Vec<String>,
}

/// A running sshd; stopped (SIGKILL + wait) when dropped.
pub struct Sshd {
    dir: TempDir,
    port: u16,
    child: Child,
    user: String,
}

impl Sshd {
    /// Start sshd and wait until it answers with an SSH identification line.
    /// Panics (with sshd's log) when it cannot start: a test without its server cannot say
    /// anything true.
    pub fn start(opts: SshdOptions) -> Sshd {
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd (sshd privilege separation)");
        let dir = tempfile::Builder::new()
            .prefix("herossh-sshd-")
            .tempdir()
            .expect("sshd temp dir");
        let types = if opts.host_key_types.is_empty() {
            vec!["ed25519".to_string()]
        } else {
            opts.host_key_types.clone()
        };
        let mut host_key_lines = String::new();
        for t in &types {
            let key = dir.path().join(format!("ssh_host_{t}_key"));
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", t, "-N", "", "-C", "herossh-test-host", "-f"])
                .arg(&key)
                .stdin(Stdio::null())
                .status()
                .expect("run ssh-keygen for the host key");
            assert!(
                st.success(),
                "ssh-keygen -t {t} for the sshd host key failed"
            );
            host_key_lines.push_str(&format!("HostKey {}\n", key.display()));
        }
        if let Some(hc) = &opts.host_certificate {
            let key = dir.path().join(format!("ssh_host_{}_key.pub", types[0]));
            let o = Command::new("ssh-keygen")
                .arg("-q")
                .arg("-s")
                .arg(&hc.ca)
                .args(["-h", "-I", "herossh-test-host"])
                .args(&hc.args)
                .arg(&key)
                .stdin(Stdio::null())
                .output()
                .expect("run ssh-keygen -s for the host certificate");
            assert!(
                o.status.success(),
                "ssh-keygen -s (host certificate): {}",
                String::from_utf8_lossy(&o.stderr)
            );
            host_key_lines.push_str(&format!(
                "HostCertificate {}\n",
                dir.path()
                    .join(format!("ssh_host_{}_key-cert.pub", types[0]))
                    .display()
            ));
        }
        let authorized = dir.path().join("authorized_keys");
        std::fs::write(&authorized, "").unwrap();
        let user = current_user();
        let port = free_port();
        let mut config = String::new();
        for line in &opts.extra {
            config.push_str(line);
            config.push('\n');
        }
        if let Some(n) = opts.max_auth_tries {
            config.push_str(&format!("MaxAuthTries {n}\n"));
        }
        if let Some(a) = &opts.pubkey_accepted_algorithms {
            config.push_str(&format!("PubkeyAcceptedAlgorithms {a}\n"));
        }
        config.push_str(&format!(
            "ListenAddress 127.0.0.1:{port}\n\
             {host_key_lines}\
             PidFile none\n\
             UsePAM no\n\
             StrictModes no\n\
             PermitRootLogin prohibit-password\n\
             AllowUsers {user}\n\
             AuthorizedKeysFile {authorized}\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             HostbasedAuthentication no\n\
             LogLevel VERBOSE\n\
             Subsystem sftp internal-sftp\n",
            authorized = authorized.display()
        ));
        let config_path = dir.path().join("sshd_config");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("sshd.log")).unwrap();
        let mut cmd = Command::new("/usr/sbin/sshd");
        if !opts.hosts.is_empty() {
            let hosts = dir.path().join("hosts");
            let lines: String = opts
                .hosts
                .iter()
                .map(|(name, addr)| format!("{addr} {name}\n"))
                .collect();
            std::fs::write(&hosts, lines).unwrap();
            cmd.env("LD_PRELOAD", super::nss_wrapper())
                .env("NSS_WRAPPER_HOSTS", &hosts);
        }
        let child = cmd
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn /usr/sbin/sshd");
        let mut sshd = Sshd {
            dir,
            port,
            child,
            user,
        };
        sshd.wait_ready();
        sshd
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "sshd exited with {status} before accepting connections:\n{}",
                    self.log()
                );
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 8];
                if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"SSH-2.0") {
                    let _ = s.write_all(b"SSH-2.0-herossh-readiness\r\n");
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not accept connections within 10 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user the server lets in (the one running the tests).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// `USER@127.0.0.1:PORT`, the target form herossh takes.
    pub fn target(&self) -> String {
        format!("{}@127.0.0.1:{}", self.user, self.port)
    }

    /// Append a public key line (as in a `.pub` file) to the server's authorized_keys.
    pub fn authorize(&self, pubkey_line: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.authorized_keys_path())
            .unwrap();
        writeln!(f, "{}", pubkey_line.trim_end()).unwrap();
    }

    /// Authorize the key in a `.pub` file.
    pub fn authorize_file(&self, pub_path: &Path) {
        let line = std::fs::read_to_string(pub_path).unwrap();
        self.authorize(&line);
    }

    pub fn authorized_keys_path(&self) -> PathBuf {
        self.dir.path().join("authorized_keys")
    }

    /// Everything sshd has logged so far (for assertion messages and log checks).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// The log once it contains `needle`, or as it stands after 10 s. The pre-auth child's
    /// messages reach the file through the monitor process, possibly after the client already
    /// has its answer and has exited, so a check made the moment the client returns can miss a
    /// line sshd is about to write. The caller still asserts that `needle` is there.
    pub fn log_with(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(needle) || std::time::Instant::now() >= deadline {
                return log;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The known_hosts line for this server with its first host key, exactly as `ssh` would
    /// write it for a non-default port: `[127.0.0.1]:PORT TYPE BASE64`.
    pub fn known_hosts_line(&self) -> String {
        let (t, b64) = self.host_key();
        format!("[127.0.0.1]:{} {t} {b64}", self.port)
    }

    /// The first host key as (type, base64).
    pub fn host_key(&self) -> (String, String) {
        let pubs = self.host_key_pub_paths();
        let text = std::fs::read_to_string(&pubs[0]).unwrap();
        let mut it = text.split_whitespace();
        (
            it.next().unwrap().to_string(),
            it.next().unwrap().to_string(),
        )
    }

    /// The SHA256 fingerprint of the first host key, as `ssh-keygen -l` prints it.
    pub fn host_key_fingerprint(&self) -> String {
        let o = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(&self.host_key_pub_paths()[0])
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        s.split_whitespace().nth(1).unwrap().to_string()
    }

    fn host_key_pub_paths(&self) -> Vec<PathBuf> {
        let cfg = std::fs::read_to_string(self.dir.path().join("sshd_config")).unwrap();
        cfg.lines()
            .filter_map(|l| l.strip_prefix("HostKey "))
            .map(|p| PathBuf::from(format!("{p}.pub")))
            .collect()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (bind :0, read it, release it).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn current_user() -> String {
    let o = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// `ssh` with only `identity` fails to log in: exit 255, "Permission denied (publickey)".
pub fn assert_ssh_refused(sshd: &Sshd, known_hosts: &Path, identity: &Path) {
    let o = ssh_command(sshd, known_hosts, &[identity])
        .arg("true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(255), "{stderr}");
    assert!(stderr.contains("Permission denied (publickey)"), "{stderr}");
}

/// The system `ssh` client aimed at `sshd` with nothing from the real home: no config file,
/// only the given known_hosts file and identities, batch mode.
pub fn ssh_command(sshd: &Sshd, known_hosts: &Path, identities: &[&Path]) -> Command {
    let mut c = Command::new("ssh");
    c.args([
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
    ])
    .arg("-o")
    .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
    .args(["-o", "GlobalKnownHostsFile=/dev/null"])
    .args(["-o", "StrictHostKeyChecking=yes"])
    .arg("-p")
    .arg(sshd.port().to_string());
    for i in identities {
        c.arg("-i").arg(i);
    }
    c.arg(format!("{}@127.0.0.1", sshd.user()));
    c.env_remove("SSH_AUTH_SOCK");
    c.stdin(Stdio::null());
    c
}

#[cfg(test)]
mod self_test {
    use super::*;

    fn keygen(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&p)
            .status()
            .unwrap();
        assert!(st.success());
        p
    }

    /// The harness works end to end: the system ssh logs in with an authorized key, checks
    /// the host key through `known_hosts_line`, and is refused with another key.
    #[test]
    fn system_ssh_logs_in_with_authorized_key_only() {
        let sshd = Sshd::start(SshdOptions::default());
        let tmp = tempfile::tempdir().unwrap();
        let good = keygen(tmp.path(), "good");
        let bad = keygen(tmp.path(), "bad");
        sshd.authorize_file(&good.with_extension("pub"));
        let kh = tmp.path().join("known_hosts");
        std::fs::write(&kh, format!("{}\n", sshd.known_hosts_line())).unwrap();

        let o = ssh_command(&sshd, &kh, &[&good])
            .args(["echo", "logged-in"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "ssh failed: {}\nsshd log:\n{}",
            String::from_utf8_lossy(&o.stderr),
            sshd.log()
        );
        assert_eq!(String::from_utf8_lossy(&o.stdout), "logged-in\n");

        assert_ssh_refused(&sshd, &kh, &bad);
        assert!(sshd.log().contains("Accepted publickey"), "{}", sshd.log());
    }

    #[test]
    fn max_auth_tries_is_applied() {
        let sshd = Sshd::start(SshdOptions {
            max_auth_tries: Some(2),
            ..Default::default()
        });
        let tmp = tempfile::tempdir().unwrap();
        let keys: Vec<PathBuf> = (0..3)
            .map(|i| keygen(tmp.path(), &format!("k{i}")))
            .collect();
        let kh = tmp.path().join("known_hosts");
        std::fs::write(&kh, format!("{}\n", sshd.known_hosts_line())).unwrap();
        let refs: Vec<&Path> = keys.iter().map(PathBuf::as_path).collect();
        let o = ssh_command(&sshd, &kh, &refs).arg("true").output().unwrap();
        assert_eq!(o.status.code(), Some(255));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("Too many authentication failures"),
            "{err}\n{}",
            sshd.log()
        );
    }
}
