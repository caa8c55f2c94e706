//! The differential table (issue 12): real-world causes of "Permission denied (publickey)"
//! and its relatives, each set up for real — files in the test home, a real sshd on loopback
//! with the scenario's server options, agents — and for each row the real
//! `ssh -o BatchMode=yes HOST true` against `herossh validate --batch HOST`:
//! - herossh exits 0 if and only if ssh logs in (never "✓ authenticated" while ssh fails);
//! - otherwise herossh names the expected finding;
//! - where the row says so, the finding's fix is run exactly as printed (a shell, with
//!   `herossh` on PATH) and then the real ssh must log in.
//!
//! Both programs read the same files: ssh takes `~` from the passwd entry, and the harness
//! (nss_wrapper, see support::TestEnv) makes the passwd home the test home, so `ssh lab` reads
//! the test's `~/.ssh/config`, keys and known_hosts and never the real ones.
//!
//! The table is printed (`--nocapture`) as scenario | ssh | herossh | finding.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::faults::unresolvable_host;
use crate::support::sshd::{Sshd, SshdOptions, free_port};
use crate::support::{TestEnv, herossh_bin, out};
use crate::validate::Agent;

/// One scenario's world: a test home, a server, maybe an agent.
struct Lab {
    env: TestEnv,
    sshd: Sshd,
    agent: Option<Agent>,
    /// Overrides SSH_AUTH_SOCK (e.g. a socket that never answers).
    agent_sock: Option<PathBuf>,
    /// What `~/.ssh/config` says about `lab` (and anything before or after it).
    prefix: String,
    host_lines: String,
    suffix: String,
    hostname: String,
    port: u16,
}

impl Lab {
    fn new(opts: SshdOptions) -> Lab {
        Lab::in_env(TestEnv::new(), opts)
    }

    fn in_env(env: TestEnv, opts: SshdOptions) -> Lab {
        let sshd = Sshd::start(opts);
        let port = sshd.port();
        let lab = Lab {
            env,
            sshd,
            agent: None,
            agent_sock: None,
            prefix: String::new(),
            host_lines: String::new(),
            suffix: String::new(),
            hostname: "127.0.0.1".into(),
            port,
        };
        lab.write_config();
        lab
    }

    fn write_config(&self) {
        let text = format!(
            "{}Host lab\n  HostName {}\n  Port {}\n  User {}\n{}{}",
            self.prefix,
            self.hostname,
            self.port,
            self.sshd.user(),
            self.host_lines,
            self.suffix
        );
        let p = self.env.ssh_dir().join("config");
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// Lines inside `Host lab`.
    fn host(&mut self, lines: &str) -> &mut Self {
        self.host_lines.push_str(lines);
        self.write_config();
        self
    }

    /// Lines before `Host lab` (global options, earlier blocks).
    fn before(&mut self, lines: &str) -> &mut Self {
        self.prefix.push_str(lines);
        self.write_config();
        self
    }

    /// A server that takes the test's `id_ed25519` (known_hosts left empty). Returns the
    /// key's path too.
    fn authorized(opts: SshdOptions) -> (Lab, PathBuf) {
        let lab = Lab::new(opts);
        let k = lab.key("id_ed25519", "ed25519", "");
        lab.authorize(&k);
        (lab, k)
    }

    /// [`Lab::authorized`], and known_hosts holds the server's host key: where most rows
    /// start.
    fn serving(opts: SshdOptions) -> (Lab, PathBuf) {
        let (lab, k) = Lab::authorized(opts);
        lab.trust();
        (lab, k)
    }

    fn key(&self, name: &str, key_type: &str, passphrase: &str) -> PathBuf {
        crate::validate::keygen(&self.env, name, key_type, passphrase)
    }

    fn authorize(&self, key: &Path) {
        self.sshd.authorize(&crate::validate::pub_line(key));
    }

    /// A known_hosts line for this server's name with a new key of `key_type`, which the
    /// server does not hold (the "changed" key).
    fn another_host_key(&self, key_type: &str) -> String {
        let (_, key) = self
            .env
            .scratch_key(&format!("other_host_key_{key_type}"), key_type);
        format!("[127.0.0.1]:{} {key}", self.port)
    }

    /// `~/.ssh/known_hosts` holds exactly `text`.
    fn known_hosts(&self, text: &str) {
        std::fs::write(self.env.ssh_dir().join("known_hosts"), text).unwrap();
    }

    /// known_hosts holds the server's key, as ssh writes it.
    fn trust(&self) {
        crate::validate::trust(&self.env, &self.sshd);
    }

    fn agent(&mut self, keys: &[&Path]) {
        let agent = Agent::start(&self.env);
        for k in keys {
            agent.add(&self.env, k);
        }
        self.agent = Some(agent);
    }

    fn sock(&self) -> Option<PathBuf> {
        self.agent_sock
            .clone()
            .or_else(|| self.agent.as_ref().map(|a| a.sock.clone()))
    }

    fn with_agent(&self, c: &mut Command) {
        c.env_remove("SSH_AUTH_SOCK");
        if let Some(s) = self.sock() {
            c.env("SSH_AUTH_SOCK", s);
        }
    }

    /// The real ssh, as a script runs it. A hung ssh (a silent agent) counts as a failure.
    fn ssh(&self) -> (bool, String) {
        let mut c = self.env.program("timeout");
        c.args(["20", "ssh", "-v", "-o", "BatchMode=yes", "lab", "true"])
            .stdin(Stdio::null());
        self.with_agent(&mut c);
        let o = c.output().unwrap();
        (o.status.success(), out(&o).1)
    }

    /// `herossh --json validate --batch lab`.
    fn herossh(&self) -> (i32, Value, String) {
        let mut c = Command::new(herossh_bin());
        self.env.apply(&mut c);
        c.current_dir(self.env.home())
            .args(["--json", "validate", "--batch", "--timeout", "5", "lab"])
            .stdin(Stdio::null());
        self.with_agent(&mut c);
        let o = c.output().unwrap();
        let (stdout, stderr) = out(&o);
        let v: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
        (o.status.code().unwrap_or(-1), v, stderr)
    }

    /// Run a printed fix exactly as printed, in a shell, with this herossh first on PATH.
    fn run_fix(&self, fix: &str) -> (bool, String) {
        let bin_dir = herossh_bin().parent().unwrap().to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = self.env.program("sh");
        c.arg("-c").arg(fix).env("PATH", path).stdin(Stdio::null());
        self.with_agent(&mut c);
        let o = c.output().unwrap();
        (o.status.success(), format!("{}{}", out(&o).0, out(&o).1))
    }
}

/// What a row expects.
struct Expect {
    /// Does the real ssh log in? (Asserted: the row must be the situation it claims.)
    ssh_ok: bool,
    /// The finding herossh must name (for failures; or a warning on success).
    code: Option<&'static str>,
    /// Run that finding's fix as printed; then ssh must log in.
    fix_works: bool,
}

fn ok() -> Expect {
    Expect {
        ssh_ok: true,
        code: None,
        fix_works: false,
    }
}

fn fails(code: &'static str) -> Expect {
    Expect {
        ssh_ok: false,
        code: Some(code),
        fix_works: false,
    }
}

fn fixed_by(code: &'static str) -> Expect {
    Expect {
        ssh_ok: false,
        code: Some(code),
        fix_works: true,
    }
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Run one row; None when it holds, else what went wrong. Appends to the printed table.
fn check(name: &str, lab: &Lab, e: &Expect, table: &mut Vec<String>) -> Option<String> {
    let (ssh_ok, ssh_err) = lab.ssh();
    let (code, v, stderr) = lab.herossh();
    let found = codes(&v);
    let ssh_line = ssh_err
        .lines()
        .rev()
        .find(|l| {
            !l.trim().is_empty()
                && !l.starts_with("Warning: Permanently")
                && !l.starts_with("debug1: ")
        })
        .unwrap_or("")
        .trim()
        .to_string();
    table.push(format!(
        "| {name} | {} | exit {code}{} | {} |",
        if ssh_ok {
            "logs in".to_string()
        } else {
            format!("fails: `{}`", ssh_line.replace('|', "/"))
        },
        if v["authenticated"] == true {
            " ✓ authenticated"
        } else {
            ""
        },
        found
            .iter()
            .filter(|c| *c != "authenticated")
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut problems = Vec::new();
    if ssh_ok != e.ssh_ok {
        problems.push(format!(
            "the scenario is not what it claims: ssh {} ({ssh_err})",
            if ssh_ok { "logs in" } else { "fails" }
        ));
    }
    // The one rule that never bends.
    if (code == 0) != ssh_ok {
        problems.push(format!(
            "herossh exit {code} while ssh {}",
            if ssh_ok { "logs in" } else { "fails" }
        ));
    }
    if (v["authenticated"] == true) != ssh_ok {
        problems.push(format!(
            "JSON authenticated={} while ssh_ok={ssh_ok}",
            v["authenticated"]
        ));
    }
    // "The server accepts none of the keys" is false when it accepted one ssh offered (ssh
    // then could not sign with it): the fix is the key's own, not another key for the server.
    if !ssh_ok
        && ssh_err.contains("debug1: Server accepts key:")
        && found.iter().any(|f| f == "no-key-accepted")
    {
        problems.push(format!(
            "no-key-accepted while the server accepted a key ssh offered: {found:?}"
        ));
    }
    if let Some(c) = e.code
        && !found.iter().any(|f| f == c)
    {
        problems.push(format!("expected finding {c}, got {found:?}"));
    }
    if e.fix_works
        && problems.is_empty()
        && let Some(c) = e.code
    {
        let fix = v["findings"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["code"] == c))
            .and_then(|f| f["fix"].as_str())
            .unwrap_or("")
            .to_string();
        if fix.is_empty() || fix.starts_with("manual:") {
            problems.push(format!("{c} has no runnable fix: {fix:?}"));
        } else {
            let (ran, output) = lab.run_fix(&fix);
            let (after, after_err) = lab.ssh();
            if !ran || !after {
                problems.push(format!(
                    "fix `{fix}` (ran: {ran}: {output}) did not make ssh log in: {after_err}"
                ));
            } else {
                let (code2, v2, _) = lab.herossh();
                if code2 != 0 {
                    problems.push(format!(
                        "after the fix ssh logs in but herossh exits {code2}: {:?}",
                        codes(&v2)
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        None
    } else {
        Some(format!(
            "{name}:\n  {}\n  herossh stderr: {stderr}\n  report: {}\n  sshd log:\n{}",
            problems.join("\n  "),
            serde_json::to_string_pretty(&v).unwrap_or_default(),
            lab.sshd.log()
        ))
    }
}

/// A socket that accepts connections and never answers (a hung agent).
fn silent_socket(env: &TestEnv) -> PathBuf {
    let path = env.scratch().join("hung-agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    path
}

fn opts() -> SshdOptions {
    SshdOptions::default()
}

#[test]
fn herossh_says_ok_exactly_when_ssh_logs_in() {
    let mut table = vec![
        "| scenario | ssh -o BatchMode=yes | herossh validate --batch | findings |".to_string(),
        "|---|---|---|---|".to_string(),
    ];
    let mut failures = Vec::new();
    let mut rows = 0;
    let mut run = |name: &str, lab: &Lab, e: Expect, table: &mut Vec<String>| {
        rows += 1;
        if let Some(f) = check(name, lab, &e, table) {
            failures.push(f);
        }
    };

    // Keys and the account.
    {
        let (lab, _) = Lab::serving(opts());
        run("authorized default key", &lab, ok(), &mut table);
    }
    {
        let lab = Lab::new(opts());
        lab.trust();
        run("no key at all", &lab, fails("no-key-accepted"), &mut table);
    }
    {
        let lab = Lab::new(opts());
        lab.key("id_ed25519", "ed25519", "");
        lab.trust();
        run(
            "key not authorized",
            &lab,
            fails("no-key-accepted"),
            &mut table,
        );
    }
    {
        let (lab, k) = Lab::serving(opts());
        std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o644)).unwrap();
        run(
            "private key mode 0644 (UNPROTECTED PRIVATE KEY FILE)",
            &lab,
            fixed_by("unprotected-private-key"),
            &mut table,
        );
    }
    {
        // Saved by a Windows editor: ssh still offers the .pub, the server accepts it, and the
        // private key does not load.
        let (lab, k) = Lab::serving(opts());
        let text = std::fs::read_to_string(&k).unwrap();
        std::fs::write(&k, text.replace('\n', "\r\n")).unwrap();
        run(
            "private key with Windows (CRLF) line endings",
            &lab,
            fixed_by("key-invalid-format"),
            &mut table,
        );
    }
    {
        let lab = Lab::new(opts());
        let a = lab.key("id_rsa", "rsa", "");
        let b = lab.key("id_ed25519", "ed25519", "");
        let _ = a;
        lab.authorize(&b);
        lab.trust();
        let e = Expect {
            ssh_ok: true,
            code: Some("wrong-key-offered-first"),
            fix_works: false,
        };
        run("right key second in ssh's order", &lab, e, &mut table);
    }
    {
        let mut lab = Lab::new(opts());
        let keys: Vec<PathBuf> = (1..=7)
            .map(|i| lab.key(&format!("agent{i}"), "ed25519", ""))
            .collect();
        lab.authorize(&keys[6]);
        let refs: Vec<&Path> = keys.iter().map(PathBuf::as_path).collect();
        lab.agent(&refs);
        lab.host("  IdentityFile ~/.ssh/none-such\n");
        lab.trust();
        run(
            "seven agent keys, the seventh authorized (Too many authentication failures)",
            &lab,
            fixed_by("too-many-auth-failures"),
            &mut table,
        );
    }
    {
        let mut lab = Lab::new(SshdOptions {
            max_auth_tries: Some(2),
            ..opts()
        });
        let keys: Vec<PathBuf> = (1..=3)
            .map(|i| lab.key(&format!("k{i}"), "ed25519", ""))
            .collect();
        lab.authorize(&keys[2]);
        lab.host("  IdentityFile ~/.ssh/k1\n  IdentityFile ~/.ssh/k2\n  IdentityFile ~/.ssh/k3\n");
        lab.trust();
        run(
            "MaxAuthTries 2, the right key third",
            &lab,
            fixed_by("too-many-auth-failures"),
            &mut table,
        );
    }
    {
        let lab = Lab::new(opts());
        let k = lab.key("id_ed25519", "ed25519", "secret words");
        lab.authorize(&k);
        lab.trust();
        run(
            "encrypted key, no agent, BatchMode",
            &lab,
            fails("passphrase-needed"),
            &mut table,
        );
    }
    {
        let (mut lab, k) = Lab::authorized(opts());
        lab.agent(&[&k]);
        // The file is now encrypted; the agent holds the key.
        let st = lab
            .env
            .program("ssh-keygen")
            .args(["-q", "-p", "-N", "later", "-P", "", "-f"])
            .arg(&k)
            .status()
            .unwrap();
        assert!(st.success());
        lab.trust();
        run("encrypted key loaded in the agent", &lab, ok(), &mut table);
    }
    {
        let (mut lab, _) = Lab::authorized(opts());
        lab.agent_sock = Some(silent_socket(&lab.env));
        lab.trust();
        run(
            "an agent socket that never answers",
            &lab,
            fails("agent-unreachable"),
            &mut table,
        );
    }
    {
        let mut lab = Lab::new(opts());
        let hidden = lab.key("hidden", "ed25519", "");
        let other = lab.key("other", "ed25519", "");
        let _ = other;
        lab.authorize(&hidden);
        lab.agent(&[&hidden]);
        lab.host("  IdentityFile ~/.ssh/other\n  IdentitiesOnly yes\n");
        lab.trust();
        run(
            "IdentitiesOnly hides the agent key the server takes",
            &lab,
            fixed_by("key-not-offered"),
            &mut table,
        );
    }
    {
        let lab = Lab::new(opts());
        let k = lab.key("id_ed25519", "ed25519", "");
        let other = lab.key("other", "ed25519", "");
        lab.authorize(&k);
        std::fs::copy(
            format!("{}.pub", other.display()),
            format!("{}.pub", k.display()),
        )
        .unwrap();
        lab.trust();
        run(
            "id_ed25519.pub belongs to another key",
            &lab,
            fixed_by("pub-mismatch"),
            &mut table,
        );
    }

    // Host keys.
    {
        let (lab, _) = Lab::authorized(opts());
        run(
            "unknown host key, BatchMode",
            &lab,
            fixed_by("host-key-unknown"),
            &mut table,
        );
    }
    {
        let (mut lab, _) = Lab::authorized(opts());
        lab.host("  StrictHostKeyChecking yes\n");
        run(
            "unknown host key, StrictHostKeyChecking yes",
            &lab,
            fails("host-key-unknown"),
            &mut table,
        );
    }
    {
        let (mut lab, _) = Lab::authorized(opts());
        lab.host("  StrictHostKeyChecking accept-new\n");
        run(
            "unknown host key, StrictHostKeyChecking accept-new",
            &lab,
            ok(),
            &mut table,
        );
    }
    {
        let (lab, _) = Lab::authorized(opts());
        lab.known_hosts(&format!("{}\n", lab.another_host_key("ed25519")));
        run(
            "host key changed (REMOTE HOST IDENTIFICATION HAS CHANGED)",
            &lab,
            fails("host-key-changed"),
            &mut table,
        );
    }
    {
        // The server dropped the key type known_hosts holds (only an ECDSA line; it serves
        // Ed25519 now): ssh calls any other recorded key a change, not a new host.
        let (lab, _) = Lab::authorized(opts());
        lab.known_hosts(&format!("{}\n", lab.another_host_key("ecdsa")));
        run(
            "known_hosts holds only an ECDSA key; the server now serves Ed25519",
            &lab,
            fails("host-key-changed"),
            &mut table,
        );
    }
    {
        let (lab, _) = Lab::authorized(opts());
        let (t, b64) = lab.sshd.host_key();
        lab.known_hosts(&format!(
            "{}\n@revoked * {t} {b64}\n",
            lab.sshd.known_hosts_line()
        ));
        run(
            "host key @revoked",
            &lab,
            fails("host-key-revoked"),
            &mut table,
        );
    }
    {
        // Nowhere to record a new key: ssh refuses it even with StrictHostKeyChecking no.
        let (mut lab, _) = Lab::authorized(opts());
        lab.host("  UserKnownHostsFile none\n  StrictHostKeyChecking no\n");
        run(
            "UserKnownHostsFile none, StrictHostKeyChecking no",
            &lab,
            fixed_by("host-key-unknown"),
            &mut table,
        );
    }
    {
        // A loopback address with NoHostAuthenticationForLocalhost: ssh checks no host key.
        let (mut lab, _) = Lab::authorized(opts());
        lab.host("  NoHostAuthenticationForLocalhost yes\n");
        lab.known_hosts(&format!("{}\n", lab.another_host_key("ecdsa")));
        let e = Expect {
            ssh_ok: true,
            code: Some("host-key-not-checked"),
            fix_works: false,
        };
        run(
            "host key changed, NoHostAuthenticationForLocalhost yes",
            &lab,
            e,
            &mut table,
        );
    }
    {
        // An expired host certificate from a trusted CA: ssh sets it aside, and the plain key
        // is unknown. The printed fix (accept the plain key) makes ssh log in.
        let env = TestEnv::new();
        let (ca, ca_pub) = env.scratch_key("host_ca", "ed25519");
        let lab = Lab::in_env(
            env,
            SshdOptions {
                host_certificate: Some(crate::support::sshd::HostCertificate {
                    ca,
                    args: vec![
                        "-n".into(),
                        "127.0.0.1".into(),
                        "-V".into(),
                        "20200101:20200102".into(),
                    ],
                }),
                ..opts()
            },
        );
        let k = lab.key("id_ed25519", "ed25519", "");
        lab.authorize(&k);
        lab.known_hosts(&format!("@cert-authority * {ca_pub}\n"));
        run(
            "expired host certificate from a trusted CA",
            &lab,
            fixed_by("host-key-unknown"),
            &mut table,
        );
    }
    // GlobalKnownHostsFile under ~ (ssh expands it after what ssh -G prints), the only file.
    for (name, right_key, expect) in [
        ("GlobalKnownHostsFile ~/... holds the key", true, ok()),
        (
            "GlobalKnownHostsFile ~/... holds another key, StrictHostKeyChecking accept-new",
            false,
            fails("host-key-changed"),
        ),
    ] {
        let (mut lab, _) = Lab::authorized(opts());
        lab.host(
            "  UserKnownHostsFile /dev/null\n  GlobalKnownHostsFile ~/.ssh/team_known_hosts\n  \
             StrictHostKeyChecking accept-new\n",
        );
        let line = if right_key {
            lab.sshd.known_hosts_line()
        } else {
            lab.another_host_key("ed25519")
        };
        std::fs::write(
            lab.env.ssh_dir().join("team_known_hosts"),
            format!("{line}\n"),
        )
        .unwrap();
        run(name, &lab, expect, &mut table);
    }
    // StrictHostKeyChecking no: ssh warns about a changed or revoked key and logs in anyway.
    for (name, revoked) in [
        ("host key changed, StrictHostKeyChecking no", false),
        ("host key @revoked, StrictHostKeyChecking no", true),
    ] {
        let (mut lab, _) = Lab::authorized(opts());
        lab.host("  StrictHostKeyChecking no\n");
        lab.known_hosts(&if revoked {
            let (t, b64) = lab.sshd.host_key();
            format!("{}\n@revoked * {t} {b64}\n", lab.sshd.known_hosts_line())
        } else {
            format!("{}\n", lab.another_host_key("ed25519"))
        });
        let e = Expect {
            ssh_ok: true,
            code: Some(if revoked {
                "host-key-revoked"
            } else {
                "host-key-changed"
            }),
            fix_works: false,
        };
        run(name, &lab, e, &mut table);
    }
    {
        // Recorded without the port (e.g. from when the server listened on 22): ssh takes the
        // same key under the plain name ("found matching key w/out port").
        let (lab, _) = Lab::authorized(opts());
        let (t, b64) = lab.sshd.host_key();
        lab.known_hosts(&format!("127.0.0.1 {t} {b64}\n"));
        run(
            "host key recorded for 127.0.0.1 without the port",
            &lab,
            ok(),
            &mut table,
        );
    }
    {
        // known_hosts lists the RSA key first: ssh checks the ed25519 one it negotiates.
        let (lab, _) = Lab::serving(SshdOptions {
            host_key_types: vec!["ed25519".into(), "rsa".into()],
            ..opts()
        });
        run(
            "two host keys, known_hosts holds the first",
            &lab,
            ok(),
            &mut table,
        );
    }

    // Algorithms.
    {
        let (lab, _) = Lab::serving(SshdOptions {
            extra: vec!["Ciphers 3des-cbc".into()],
            ..opts()
        });
        run(
            "server offers only 3des-cbc",
            &lab,
            fixed_by("no-matching-cipher"),
            &mut table,
        );
    }
    {
        let (lab, _) = Lab::serving(SshdOptions {
            extra: vec!["KexAlgorithms diffie-hellman-group14-sha1".into()],
            ..opts()
        });
        run(
            "server offers only diffie-hellman-group14-sha1",
            &lab,
            fixed_by("no-matching-kex"),
            &mut table,
        );
    }
    {
        let (lab, _) = Lab::serving(SshdOptions {
            extra: vec!["Ciphers aes128-ctr".into(), "MACs hmac-md5".into()],
            ..opts()
        });
        // After the printed fix (`--set 'MACs +hmac-md5'`) ssh logs in with hmac-md5, which
        // herossh's probe (russh) cannot speak: herossh asks the installed ssh instead.
        run(
            "server offers only hmac-md5",
            &lab,
            fixed_by("no-matching-mac"),
            &mut table,
        );
    }
    {
        let (lab, _) = Lab::serving(SshdOptions {
            host_key_types: vec!["rsa".into()],
            extra: vec!["HostKeyAlgorithms ssh-rsa".into()],
            ..opts()
        });
        run(
            "server's only host key algorithm is ssh-rsa",
            &lab,
            fixed_by("no-matching-host-key-type"),
            &mut table,
        );
    }
    {
        let lab = Lab::new(SshdOptions {
            pubkey_accepted_algorithms: Some("ssh-rsa".into()),
            ..opts()
        });
        let k = lab.key("id_rsa", "rsa", "");
        lab.authorize(&k);
        lab.trust();
        run(
            "server takes RSA keys only with ssh-rsa (SHA-1) signatures",
            &lab,
            fixed_by("server-wants-ssh-rsa"),
            &mut table,
        );
    }
    {
        let lab = Lab::new(SshdOptions {
            pubkey_accepted_algorithms: Some("+ssh-dss".into()),
            ..opts()
        });
        let k = lab.key("id_dsa", "dsa", "");
        lab.authorize(&k);
        lab.trust();
        run(
            "only a DSA key (ssh-dss disabled in the client)",
            &lab,
            fails("key-type-disabled"),
            &mut table,
        );
    }

    // Key files ssh does not read, or reads its own way.
    {
        let lab = Lab::new(opts());
        let k = lab.key("github_work", "ed25519", "");
        lab.authorize(&k);
        lab.trust();
        run(
            "the authorized key has a name ssh does not try (~/.ssh/github_work)",
            &lab,
            fixed_by("key-not-offered"),
            &mut table,
        );
    }
    {
        let mut lab = Lab::new(opts());
        let k = lab.key("work", "ed25519", "");
        lab.authorize(&k);
        lab.trust();
        let ppk = lab.env.ssh_dir().join("work.ppk");
        let o = lab
            .env
            .program("puttygen")
            .arg(&k)
            .args(["-O", "private", "-o"])
            .arg(&ppk)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "puttygen: {}", out(&o).1);
        std::fs::remove_file(&k).unwrap();
        std::fs::remove_file(format!("{}.pub", k.display())).unwrap();
        lab.host(&format!("  IdentityFile {}\n", ppk.display()));
        run(
            "IdentityFile names a PuTTY .ppk key",
            &lab,
            fixed_by("putty-private-key"),
            &mut table,
        );
    }
    {
        let mut lab = Lab::new(opts());
        let k = lab.env.ssh_dir().join("id_rsa");
        let o = lab
            .env
            .program("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "1024", "-N", "", "-f"])
            .arg(&k)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "ssh-keygen: {}", out(&o).1);
        lab.authorize(&k);
        lab.trust();
        lab.host("  RequiredRSASize 2048\n");
        run(
            "a 1024-bit RSA key under RequiredRSASize 2048",
            &lab,
            fails("rsa-key-too-small"),
            &mut table,
        );
    }

    // Certificates (sshd trusts a CA; the key itself is not in authorized_keys).
    for (name, validity, principal, expect) in [
        (
            "a valid certificate beside the key (id_ed25519-cert.pub)",
            "-5m:+1h",
            None,
            ok(),
        ),
        (
            "an expired certificate",
            "20200101:20200102",
            None,
            fails("certificate-expired"),
        ),
        (
            "a certificate for another principal",
            "-5m:+1h",
            Some("someone-else"),
            fails("certificate-principal-missing"),
        ),
    ] {
        let ca_dir = tempfile::tempdir().unwrap();
        let ca = ca_dir.path().join("ca");
        let o = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f"])
            .arg(&ca)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "ssh-keygen (CA): {}", out(&o).1);
        let lab = Lab::new(SshdOptions {
            extra: vec![format!("TrustedUserCAKeys {}.pub", ca.display())],
            ..opts()
        });
        let k = lab.key("id_ed25519", "ed25519", "");
        let user = lab.sshd.user().to_string();
        let o = Command::new("ssh-keygen")
            .arg("-s")
            .arg(&ca)
            .args([
                "-q",
                "-I",
                "lab",
                "-n",
                principal.unwrap_or(&user),
                "-V",
                validity,
            ])
            .arg(format!("{}.pub", k.display()))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "ssh-keygen -s: {}", out(&o).1);
        lab.trust();
        run(name, &lab, expect, &mut table);
    }

    // The route: a bastion (a second sshd) that alone resolves the target's name.
    for (name, bastion_takes_the_key, expect) in [
        (
            "ProxyJump through a bastion that alone resolves the target's name",
            true,
            ok(),
        ),
        (
            "ProxyJump through a bastion that refuses the key",
            false,
            fails("jump-host-denied"),
        ),
    ] {
        let bastion = Sshd::start(SshdOptions {
            extra: vec!["AllowTcpForwarding yes".into()],
            hosts: vec![("internal.lab".into(), "127.0.0.1".into())],
            ..opts()
        });
        let (mut lab, k) = Lab::authorized(opts());
        if bastion_takes_the_key {
            bastion.authorize(&crate::validate::pub_line(&k));
        }
        let (bt, bk) = bastion.host_key();
        let (tt, tk) = lab.sshd.host_key();
        std::fs::write(
            lab.env.ssh_dir().join("known_hosts"),
            format!(
                "[127.0.0.1]:{} {bt} {bk}\n[internal.lab]:{} {tt} {tk}\n",
                bastion.port(),
                lab.port
            ),
        )
        .unwrap();
        lab.hostname = "internal.lab".into();
        lab.host("  ProxyJump bastion\n");
        lab.suffix = format!(
            "Host bastion\n  HostName 127.0.0.1\n  Port {}\n  User {}\n",
            bastion.port(),
            bastion.user()
        );
        lab.write_config();
        run(name, &lab, expect, &mut table);
        drop(bastion);
    }

    // What the server allows.
    {
        let (lab, _) = Lab::serving(SshdOptions {
            extra: vec![
                "PubkeyAuthentication no".into(),
                "PasswordAuthentication yes".into(),
            ],
            ..opts()
        });
        run(
            "server does not take public keys",
            &lab,
            fails("publickey-not-offered"),
            &mut table,
        );
    }
    {
        let (lab, _) = Lab::serving(SshdOptions {
            extra: vec![
                "AuthenticationMethods publickey,password".into(),
                "PasswordAuthentication yes".into(),
            ],
            ..opts()
        });
        run(
            "server requires publickey and password",
            &lab,
            fails("partial-success"),
            &mut table,
        );
    }

    // The configuration.
    {
        let (lab, _) = Lab::serving(opts());
        let cfg = lab.env.ssh_dir().join("config");
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o666)).unwrap();
        run(
            "~/.ssh/config writable by others (Bad owner or permissions)",
            &lab,
            fixed_by("config-bad-permissions"),
            &mut table,
        );
    }
    {
        let (mut lab, _) = Lab::serving(opts());
        lab.host("  UseKeychain yes\n");
        run(
            "Apple's UseKeychain on this ssh",
            &lab,
            fixed_by("config-unknown-keyword"),
            &mut table,
        );
    }
    {
        let (lab, _) = Lab::serving(opts());
        let cfg = lab.env.ssh_dir().join("config");
        let mut bytes = b"\xef\xbb\xbf".to_vec();
        bytes.extend(std::fs::read(&cfg).unwrap());
        std::fs::write(&cfg, bytes).unwrap();
        run(
            "config saved with a UTF-8 byte-order mark",
            &lab,
            fixed_by("config-bom"),
            &mut table,
        );
    }
    {
        let (mut lab, _) = Lab::serving(opts());
        lab.before("Host *\n  User nobody\n");
        run(
            "Host * above sets User; the host's own User is ignored",
            &lab,
            fixed_by("setting-shadowed"),
            &mut table,
        );
    }
    {
        let (mut lab, k) = Lab::authorized(opts());
        lab.agent(&[&k]);
        std::fs::remove_file(&k).unwrap();
        lab.host("  IdentityAgent none\n");
        lab.trust();
        run(
            "IdentityAgent none; the key lives only in the agent",
            &lab,
            fails("identity-is-public-key"),
            &mut table,
        );
    }

    {
        // $HOME is not the passwd home (sudo -E, containers): everything is in $HOME/.ssh,
        // ssh reads the passwd home's .ssh and never sees the config or the key.
        let lab = Lab::in_env(TestEnv::with_passwd_home("elsewhere"), opts());
        let k = lab.key("id_ed25519", "ed25519", "");
        lab.authorize(&k);
        lab.trust();
        run(
            "$HOME is not the passwd home ssh reads",
            &lab,
            fails("home-mismatch"),
            &mut table,
        );
    }

    // The network.
    {
        let mut lab = Lab::new(opts());
        lab.hostname = unresolvable_host();
        lab.write_config();
        run(
            "HostName does not resolve",
            &lab,
            fails("dns-failure"),
            &mut table,
        );
    }
    // AddressFamily: ssh asks for addresses of that family only.
    for (family, expect) in [("inet", ok()), ("inet6", fails("dns-failure"))] {
        let (mut lab, _) = Lab::serving(opts());
        lab.host(&format!("  AddressFamily {family}\n"));
        run(
            &format!("AddressFamily {family}, HostName 127.0.0.1"),
            &lab,
            expect,
            &mut table,
        );
    }
    {
        let mut lab = Lab::new(opts());
        lab.port = free_port();
        lab.write_config();
        run(
            "nothing listens on the port",
            &lab,
            fails("connection-refused"),
            &mut table,
        );
    }

    eprintln!("\n{}\n", table.join("\n"));
    assert!(rows >= 30, "only {rows} rows");
    assert!(
        failures.is_empty(),
        "{} of {rows} rows disagree:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// A small deterministic generator (xorshift64*): the random setups are the same on every
/// run, so a disagreement is reproducible by its case number.
struct Rng(u64);

impl Rng {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let n = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33;
        &items[(n % items.len() as u64) as usize]
    }
}

/// Random combinations of what the table's rows vary one at a time: the key file (missing,
/// fine, mode 0644, CRLF, encrypted, only its .pub), whether the server takes it, an agent
/// (with other keys ahead of it), IdentitiesOnly, known_hosts (known, unknown, another key,
/// another type, recorded without the port, a host CA, revoked), StrictHostKeyChecking,
/// UserKnownHostsFile and one more option that changes the host key check or the keys. For
/// each, herossh says OK exactly when the real ssh logs in, and never claims that the server
/// accepts no key when ssh saw it accept one. `HEROSSH_DIFF_CASES` runs more of them.
#[test]
fn random_setups_agree_with_ssh() {
    let cases: usize = std::env::var("HEROSSH_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let env = TestEnv::new();
    let (ca, ca_pub) = env.scratch_key("host_ca", "ed25519");
    let mut lab = Lab::in_env(
        env,
        SshdOptions {
            host_certificate: Some(crate::support::sshd::HostCertificate {
                ca,
                args: vec!["-n".into(), "127.0.0.1".into()],
            }),
            ..opts()
        },
    );
    let other = lab.another_host_key("ed25519");
    let other_type = lab.another_host_key("ecdsa");
    let extras: Vec<PathBuf> = (0..6)
        .map(|i| lab.env.scratch_key(&format!("extra{i}"), "ed25519").0)
        .collect();
    let (t, b64) = lab.sshd.host_key();
    let known = lab.sshd.known_hosts_line();
    let ssh_dir = lab.env.ssh_dir();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut failures = Vec::new();
    let mut logged_in = 0;
    for case in 0..cases {
        let key = *rng.pick(&[
            "ok",
            "ok",
            "ok",
            "none",
            "mode 0644",
            "CRLF",
            "encrypted",
            "only .pub",
        ]);
        let authorized = *rng.pick(&[true, true, true, false]);
        let agent = *rng.pick(&[false, true]);
        let ahead = *rng.pick(&[0usize, 0, 2, 6]);
        let only = *rng.pick(&[false, true]);
        let kh = *rng.pick(&[
            "known",
            "known",
            "unknown",
            "another key",
            "another type",
            "without port",
            "host CA",
            "host CA + another key",
            "revoked",
        ]);
        let strict = *rng.pick(&["", "no", "accept-new", "yes"]);
        let user_kh = *rng.pick(&["", "none", "/dev/null"]);
        let option = *rng.pick(&[
            "",
            "",
            "",
            "NoHostAuthenticationForLocalhost yes",
            "HostKeyAlias lab-alias",
            "HostKeyAlgorithms ssh-ed25519",
            "PubkeyAcceptedAlgorithms -ssh-ed25519",
            "IdentityAgent none",
            "PreferredAuthentications password",
            "CASignatureAlgorithms rsa-sha2-512",
        ]);
        let name = format!(
            "case {case}: key {key}, authorized {authorized}, agent {agent} ({ahead} ahead), \
             IdentitiesOnly {only}, known_hosts {kh}, StrictHostKeyChecking {strict:?}, \
             UserKnownHostsFile {user_kh:?}, {option:?}"
        );

        lab.agent = None;
        std::fs::remove_dir_all(&ssh_dir).unwrap();
        std::fs::create_dir_all(&ssh_dir).unwrap();
        std::fs::set_permissions(&ssh_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let (plain, _) = lab.env.scratch_key(&format!("case{case}"), "ed25519");
        let k = ssh_dir.join("id_ed25519");
        let public = std::fs::read_to_string(format!("{}.pub", plain.display())).unwrap();
        if key != "none" {
            std::fs::copy(&plain, &k).unwrap();
            std::fs::write(format!("{}.pub", k.display()), &public).unwrap();
            std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        match key {
            "mode 0644" => {
                std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o644)).unwrap()
            }
            "CRLF" => {
                let text = std::fs::read_to_string(&k).unwrap();
                std::fs::write(&k, text.replace('\n', "\r\n")).unwrap();
            }
            "encrypted" => {
                let o = lab
                    .env
                    .program("ssh-keygen")
                    .args(["-q", "-p", "-N", "secret words", "-P", "", "-f"])
                    .arg(&k)
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                assert!(o.status.success(), "ssh-keygen -p: {}", out(&o).1);
            }
            "only .pub" => std::fs::remove_file(&k).unwrap(),
            _ => {}
        }
        std::fs::write(
            lab.sshd.authorized_keys_path(),
            if authorized { public.as_str() } else { "" },
        )
        .unwrap();
        if agent {
            let mut keys: Vec<&Path> = extras[..ahead].iter().map(PathBuf::as_path).collect();
            keys.push(&plain);
            lab.agent(&keys);
        }
        lab.known_hosts(&match kh {
            "known" => format!("{known}\n"),
            "unknown" => String::new(),
            "another key" => format!("{other}\n"),
            "another type" => format!("{other_type}\n"),
            "without port" => format!("127.0.0.1 {t} {b64}\n"),
            "host CA" => format!("@cert-authority * {ca_pub}\n"),
            "host CA + another key" => {
                format!("@cert-authority * {ca_pub}\n{other}\n")
            }
            _ => format!("{known}\n@revoked * {t} {b64}\n"),
        });
        lab.host_lines.clear();
        let mut lines = String::new();
        if only {
            lines.push_str(&format!(
                "  IdentityFile {}\n  IdentitiesOnly yes\n",
                k.display()
            ));
        }
        if !strict.is_empty() {
            lines.push_str(&format!("  StrictHostKeyChecking {strict}\n"));
        }
        if !user_kh.is_empty() {
            lines.push_str(&format!("  UserKnownHostsFile {user_kh}\n"));
        }
        if !option.is_empty() {
            lines.push_str(&format!("  {option}\n"));
        }
        lab.host(&lines);

        let (ssh_ok, ssh_err) = lab.ssh();
        let (code, v, stderr) = lab.herossh();
        logged_in += usize::from(ssh_ok);
        let found = codes(&v);
        let mut problems = Vec::new();
        if (code == 0) != ssh_ok || (v["authenticated"] == true) != ssh_ok {
            problems.push(format!(
                "herossh exit {code} (authenticated {}) while ssh {}",
                v["authenticated"],
                if ssh_ok { "logs in" } else { "fails" }
            ));
        }
        if !ssh_ok
            && ssh_err.contains("debug1: Server accepts key:")
            && found.iter().any(|f| f == "no-key-accepted")
        {
            problems.push(format!(
                "no-key-accepted while the server accepted a key: {found:?}"
            ));
        }
        if !problems.is_empty() {
            let last = ssh_err
                .lines()
                .rev()
                .find(|l| !l.starts_with("debug1: "))
                .unwrap_or("");
            failures.push(format!(
                "{name}:\n  {}\n  ssh: {last}\n  findings: {found:?}\n  herossh stderr: {stderr}",
                problems.join("\n  ")
            ));
        }
    }
    eprintln!("{cases} random setups, ssh logged in {logged_in} times");
    assert!(
        logged_in > 0 && logged_in < cases,
        "the setups do not vary the verdict"
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} random setups disagree:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
