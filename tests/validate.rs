//! `herossh validate` against the REAL sshd (tests/support/sshd.rs), a real ssh-agent, real
//! ssh-keygen keys, and loopback listeners for the network failures.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::fake_api::FakeApi;
use crate::support::sshd::{HostCertificate, Sshd, SshdOptions, free_port, ssh_command};
use crate::support::{TestEnv, out};

/// `ssh-keygen -t TYPE` into `~/.ssh/NAME` (passphrase optional). Returns the private path.
pub fn keygen(env: &TestEnv, name: &str, key_type: &str, passphrase: &str) -> PathBuf {
    let p = env.ssh_dir().join(name);
    let st = env
        .program("ssh-keygen")
        .args(["-q", "-t", key_type, "-N", passphrase, "-C", name, "-f"])
        .arg(&p)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "ssh-keygen -t {key_type} {name}");
    p
}

pub fn pub_line(private: &Path) -> String {
    std::fs::read_to_string(format!("{}.pub", private.display())).unwrap()
}

/// `~/.ssh/known_hosts` holding the server's key.
pub fn trust(env: &TestEnv, sshd: &Sshd) -> PathBuf {
    let kh = env.ssh_dir().join("known_hosts");
    std::fs::write(&kh, format!("{}\n", sshd.known_hosts_line())).unwrap();
    kh
}

/// `ssh-keygen -l` fingerprint of a key file (the oracle for ours).
pub fn fingerprint(path: &Path) -> String {
    let o = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

/// Run `herossh --json validate ARGS` and return (exit code, JSON, stderr).
pub fn validate_json(env: &TestEnv, args: &[&str], agent: Option<&Path>) -> (i32, Value, String) {
    let mut cmd = env.herossh();
    cmd.arg("--json").arg("validate").args(args);
    if let Some(sock) = agent {
        cmd.env("SSH_AUTH_SOCK", sock);
    }
    let o = cmd.output().unwrap();
    let (stdout, stderr) = out(&o);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (o.status.code().unwrap(), v, stderr)
}

pub fn codes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

pub fn finding<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no finding {code} in {v:#}"))
}

fn accepted(v: &Value) -> Vec<Value> {
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["accepted"].clone())
        .collect()
}

/// A real ssh-agent on a socket in the test's scratch dir, killed on drop.
pub struct Agent {
    pub sock: PathBuf,
    child: Child,
}

impl Agent {
    pub fn start(env: &TestEnv) -> Agent {
        let sock = env.scratch().join("agent.sock");
        let child = env
            .program("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The socket file appears at bind(), before listen(): wait until it accepts.
        for _ in 0..200 {
            if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(sock.exists(), "ssh-agent did not create its socket");
        Agent { sock, child }
    }

    pub fn add(&self, env: &TestEnv, key: &Path) {
        let o = env
            .program("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.sock)
            .output()
            .unwrap();
        assert!(o.status.success(), "ssh-add: {}", out(&o).1);
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Killed, the agent leaves its socket file, which a next agent could not bind.
        let _ = std::fs::remove_file(&self.sock);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn authenticated_with_the_authorized_key() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "good", "ed25519", "");
    sshd.authorize(&pub_line(&k));
    trust(&env, &sshd);
    let (code, v, err) =
        validate_json(&env, &[&sshd.target(), "-i", s(&k), "--timeout", "5"], None);
    assert_eq!(code, 0, "{v:#}\n{err}\n{}", sshd.log());
    assert_eq!(v["authenticated"], true);
    assert_eq!(v["target"], sshd.target());
    assert_eq!(v["server"]["host_key"]["known"], true);
    assert_eq!(
        v["server"]["host_key"]["fingerprint"],
        sshd.host_key_fingerprint()
    );
    assert!(
        v["server"]["version"]
            .as_str()
            .unwrap()
            .starts_with("SSH-2.0-OpenSSH_")
    );
    let key = &v["keys"][0];
    assert_eq!(key["path"], s(&k));
    assert_eq!(key["type"], "ssh-ed25519");
    assert_eq!(key["fingerprint"], fingerprint(&k));
    assert_eq!(key["source"], "command-line");
    assert_eq!(key["offered_order"], 1);
    assert_eq!(key["accepted"], true);
    assert_eq!(codes(&v), ["authenticated"]);
    // The proof was a real signed login, seen by sshd.
    assert!(
        sshd.log().contains("Accepted publickey for"),
        "{}",
        sshd.log()
    );
}

#[test]
fn wrong_key_offered_first_names_the_fix() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let other = keygen(&env, "github_rsa", "ed25519", "");
    let good = keygen(&env, "heroku", "ed25519", "");
    sshd.authorize(&pub_line(&good));
    let kh = trust(&env, &sshd);
    let (code, v, _) = validate_json(
        &env,
        &[
            &sshd.target(),
            "-i",
            s(&other),
            "-i",
            s(&good),
            "--timeout",
            "5",
        ],
        None,
    );
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(accepted(&v), [Value::Bool(false), Value::Bool(true)]);
    let f = finding(&v, "wrong-key-offered-first");
    assert_eq!(
        f["fix"],
        "herossh fix-config --host 127.0.0.1 -i ~/.ssh/heroku"
    );
    assert!(
        f["message"].as_str().unwrap().contains("~/.ssh/github_rsa"),
        "{f}"
    );
    // What the fix pins (that key, IdentitiesOnly) logs in with the real ssh.
    let o = ssh_command(&sshd, &kh, &[&good])
        .arg("true")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
}

#[test]
fn encrypted_key_gets_a_verdict_without_passphrase_and_no_signature() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "enc", "ed25519", "correct horse");
    sshd.authorize(&pub_line(&k));
    trust(&env, &sshd);
    let (code, v, err) =
        validate_json(&env, &[&sshd.target(), "-i", s(&k), "--timeout", "5"], None);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["authenticated"], false);
    assert_eq!(v["keys"][0]["accepted"], true);
    assert_eq!(v["keys"][0]["skipped_reason"], "encrypted-not-in-agent");
    // The outcome (ssh cannot ask for the passphrase) carries the plan's fix; the plan's
    // own encrypted-not-in-agent would say the same again.
    assert_eq!(
        finding(&v, "passphrase-needed")["fix"],
        "ssh-add ~/.ssh/enc"
    );
    assert!(!codes(&v).contains(&"encrypted-not-in-agent".to_string()));
    // sshd found the key (the PK_OK answer) but no login happened: no signature was sent.
    let log = sshd.log();
    assert!(
        log.contains(&format!(
            "Accepted key ED25519 {} found at",
            fingerprint(&k)
        )),
        "{log}"
    );
    assert!(!log.contains("Accepted publickey"), "{log}");
    assert!(!err.contains("correct horse"));

    let with_passphrase = |stdin: &str| {
        env.herossh()
            .args(["--json", "validate", &sshd.target(), "-i", s(&k)])
            .arg("--passphrase-stdin")
            .write_stdin(stdin)
            .output()
            .unwrap()
    };

    // With the passphrase on stdin, the key is proven with a real signature.
    let o = with_passphrase("correct horse\n");
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("correct horse") && !stderr.contains("correct horse"));
    assert!(sshd.log().contains("Accepted publickey"));

    // A wrong passphrase is a clear failure, not a panic, and is not echoed.
    let o = with_passphrase("wrong horse\n");
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("wrong passphrase"), "{stdout}");
    assert!(!stdout.contains("wrong horse") && !stderr.contains("wrong horse"));
}

#[test]
fn seven_agent_keys_all_get_verdicts_and_too_many_auth_failures() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let agent = Agent::start(&env);
    let keys: Vec<PathBuf> = (1..=7)
        .map(|i| keygen(&env, &format!("agentkey{i}"), "ed25519", ""))
        .collect();
    for k in &keys {
        agent.add(&env, k);
    }
    // Only the agent offers them: move the files out of ~/.ssh's default names' way.
    sshd.authorize(&pub_line(&keys[6]));
    trust(&env, &sshd);
    let (code, v, err) =
        validate_json(&env, &[&sshd.target(), "--timeout", "5"], Some(&agent.sock));
    // The real ssh fails (below): so does the verdict, though every key got an answer.
    assert_eq!(code, 1, "{v:#}\n{err}\n{}", sshd.log());
    assert_eq!(v["authenticated"], false);
    let verdicts = accepted(&v);
    assert_eq!(verdicts.len(), 7, "{v:#}");
    assert_eq!(&verdicts[..6], vec![Value::Bool(false); 6].as_slice());
    assert_eq!(verdicts[6], true);
    for (i, key) in v["keys"].as_array().unwrap().iter().enumerate() {
        assert_eq!(key["source"], "agent");
        assert_eq!(key["offered_order"], i + 1);
        assert_eq!(key["fingerprint"], fingerprint(&keys[i]));
    }
    let f = finding(&v, "too-many-auth-failures");
    assert!(f["message"].as_str().unwrap().contains("key #7"), "{f}");
    // The real ssh agrees: with these agent keys it never gets to the 7th.
    let o = Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes"])
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            env.ssh_dir().join("known_hosts").display()
        ))
        .args(["-o", "GlobalKnownHostsFile=/dev/null", "-p"])
        .arg(sshd.port().to_string())
        .arg(format!("{}@127.0.0.1", sshd.user()))
        .arg("true")
        .env("SSH_AUTH_SOCK", &agent.sock)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(255));
    assert!(
        out(&o).1.contains("Too many authentication failures"),
        "{}",
        out(&o).1
    );
}

#[test]
fn low_max_auth_tries_reconnects_until_every_key_has_a_verdict() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions {
        max_auth_tries: Some(2),
        ..Default::default()
    });
    let keys: Vec<PathBuf> = (1..=5)
        .map(|i| keygen(&env, &format!("k{i}"), "ed25519", ""))
        .collect();
    sshd.authorize(&pub_line(&keys[4]));
    trust(&env, &sshd);
    let mut args = vec![sshd.target(), "--timeout".into(), "5".into()];
    for k in &keys {
        args.push("-i".into());
        args.push(s(k).into());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, v, _) = validate_json(&env, &argv, None);
    // k5 is the fifth key and the server allows two attempts: ssh fails, so does validate.
    assert_eq!(code, 1, "{v:#}\n{}", sshd.log());
    assert_eq!(v["authenticated"], false);
    assert_eq!(
        accepted(&v),
        [false, false, false, false, true].map(Value::Bool)
    );
    let f = finding(&v, "too-many-auth-failures");
    assert!(
        f["message"].as_str().unwrap().contains("allows 2 attempts"),
        "{f}"
    );
    assert_eq!(f["fix"], "herossh fix-config --host 127.0.0.1 -i ~/.ssh/k5");
}

#[test]
fn unprotected_private_key_is_accepted_but_ignored_by_ssh() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "loose", "ed25519", "");
    std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o644)).unwrap();
    sshd.authorize(&pub_line(&k));
    let kh = trust(&env, &sshd);
    let (code, v, _) = validate_json(&env, &[&sshd.target(), "-i", s(&k)], None);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["keys"][0]["accepted"], true);
    assert_eq!(v["keys"][0]["skipped_reason"], "unprotected-private-key");
    // The server does accept the key: the one finding is the key's own, not "no key accepted".
    assert_eq!(codes(&v), ["unprotected-private-key"], "{v:#}");
    let f = finding(&v, "unprotected-private-key");
    assert_eq!(f["fix"], "chmod 600 ~/.ssh/loose");
    assert!(f["message"].as_str().unwrap().contains("0644"));
    // The oracle: ssh refuses the key for the same reason.
    let o = ssh_command(&sshd, &kh, &[&k]).arg("true").output().unwrap();
    assert_eq!(o.status.code(), Some(255));
    assert!(
        out(&o).1.contains("UNPROTECTED PRIVATE KEY FILE"),
        "{}",
        out(&o).1
    );
    // After the fix, validate authenticates.
    std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, _, _) = validate_json(&env, &[&sshd.target(), "-i", s(&k)], None);
    assert_eq!(code, 0);
}

#[test]
fn dsa_key_is_disabled_on_both_sides_by_default() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "id_dsa", "dsa", "");
    sshd.authorize(&pub_line(&k));
    trust(&env, &sshd);
    let (code, v, _) = validate_json(&env, &[&sshd.target(), "-i", s(&k)], None);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["keys"][0]["type"], "ssh-dss");
    assert_eq!(v["keys"][0]["skipped_reason"], "key-type-disabled");
    assert_eq!(v["keys"][0]["offered_order"], Value::Null);
    // The server's default algorithms refuse ssh-dss too.
    assert_eq!(v["keys"][0]["accepted"], false);
    assert_eq!(
        finding(&v, "key-type-disabled")["fix"],
        "herossh keygen -t ed25519"
    );
    assert!(codes(&v).contains(&"no-key-accepted".to_string()));
}

#[test]
fn pub_mismatch_is_reported() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "mixed", "ed25519", "");
    let other = keygen(&env, "other", "ed25519", "");
    std::fs::copy(
        format!("{}.pub", other.display()),
        format!("{}.pub", k.display()),
    )
    .unwrap();
    sshd.authorize(&pub_line(&k));
    trust(&env, &sshd);
    let (code, v, _) = validate_json(&env, &[&sshd.target(), "-i", s(&k)], None);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["keys"][0]["skipped_reason"], "pub-mismatch");
    assert_eq!(
        finding(&v, "pub-mismatch")["fix"],
        "ssh-keygen -y -f ~/.ssh/mixed > ~/.ssh/mixed.pub"
    );
}

#[test]
fn changed_host_key_stops_before_any_authentication() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "good", "ed25519", "");
    sshd.authorize(&pub_line(&k));
    let imposter = keygen(&env, "imposter_host", "ed25519", "");
    let (t, b64) = {
        let l = pub_line(&imposter);
        let mut it = l.split_whitespace();
        (
            it.next().unwrap().to_string(),
            it.next().unwrap().to_string(),
        )
    };
    let kh = env.ssh_dir().join("known_hosts");
    let line = format!("[127.0.0.1]:{}\t{t} {b64}", sshd.port());
    std::fs::write(&kh, format!("# pinned\n{line}\n")).unwrap();
    let (code, v, _) = validate_json(&env, &[&sshd.target(), "-i", s(&k)], None);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["authenticated"], false);
    assert_eq!(v["server"]["host_key"]["status"], "changed");
    let f = finding(&v, "host-key-changed");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains(&sshd.host_key_fingerprint()), "{msg}");
    assert!(msg.contains(&fingerprint(&imposter)), "{msg}");
    assert!(
        msg.contains(&format!("~/.ssh/known_hosts:2: {line}")),
        "{msg}"
    );
    assert_eq!(v["keys"][0]["accepted"], Value::Null);
    // Nothing was offered to the server.
    assert!(!sshd.log().contains("publickey"), "{}", sshd.log());
    // known_hosts untouched.
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        format!("# pinned\n{line}\n")
    );
}

/// `ssh -O exit` for a master connection a test started (also when the test fails).
struct Master<'a> {
    env: &'a TestEnv,
    cfg: PathBuf,
    host: &'static str,
}

impl Master<'_> {
    fn exit(&self) {
        let _ = self
            .env
            .program("ssh")
            .args(["-F", s(&self.cfg), "-O", "exit", self.host])
            .stdin(Stdio::null())
            .output();
    }
}

impl Drop for Master<'_> {
    fn drop(&mut self) {
        self.exit();
    }
}

/// With ControlMaster auto and a master connection running at the ControlPath, ssh sends the
/// session through it: no new connection, no login. herossh says so, and what a new
/// connection would meet (here: the key was removed from the server) is only a warning until
/// the master exits. A stale socket file with nothing behind it changes nothing.
#[test]
fn a_running_master_connection_is_what_ssh_uses() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "id_ed25519", "ed25519", "");
    sshd.authorize(&pub_line(&k));
    trust(&env, &sshd);
    let socket = env
        .scratch()
        .join(format!("cm-{}@127.0.0.1:{}", sshd.user(), sshd.port()));
    let cfg = env.write(
        "cfg",
        format!(
            "Host mux\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  \
             IdentitiesOnly yes\n  ControlMaster auto\n  ControlPath {}/cm-%r@%h:%p\n  \
             ControlPersist 120\n",
            sshd.port(),
            sshd.user(),
            k.display(),
            env.scratch().display()
        ),
    );
    let ssh = |args: &[&str]| {
        env.program("ssh")
            .args(["-F", s(&cfg), "-o", "BatchMode=yes"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let master = Master {
        env: &env,
        cfg: cfg.clone(),
        host: "mux",
    };
    let o = ssh(&["-fN", "mux"]);
    assert!(o.status.success(), "ssh -fN: {}", out(&o).1);
    std::fs::write(sshd.authorized_keys_path(), "").unwrap();

    let o = ssh(&["mux", "true"]);
    assert!(o.status.success(), "ssh through the master: {}", out(&o).1);
    let (code, v, err) = validate_json(&env, &["--batch", "-F", s(&cfg), "mux"], None);
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert_eq!(v["authenticated"], true, "{v:#}");
    assert_eq!(v["control_master"], s(&socket), "{v:#}");
    assert_eq!(codes(&v), ["control-master", "no-key-accepted"], "{v:#}");

    master.exit();
    let o = ssh(&["mux", "true"]);
    assert!(!o.status.success(), "ssh without the master logs in");
    let (code, v, err) = validate_json(&env, &["--batch", "-F", s(&cfg), "mux"], None);
    assert_eq!(code, 1, "{v:#}\n{err}");
    assert_eq!(v["control_master"], Value::Null, "{v:#}");
    assert_eq!(codes(&v), ["no-key-accepted"], "{v:#}");

    // A socket file nothing listens on (a master that died).
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    let o = ssh(&["mux", "true"]);
    assert!(!o.status.success(), "ssh with a stale socket logs in");
    let (code, v, _) = validate_json(&env, &["--batch", "-F", s(&cfg), "mux"], None);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["control_master"], Value::Null, "{v:#}");
}

/// A FIDO security-key file (`sk-ssh-ed25519@openssh.com`, as `ssh-keygen -t ed25519-sk`
/// writes it) for a device this machine does not have: the key handle is random bytes.
fn security_key(env: &TestEnv, name: &str) -> PathBuf {
    use russh::keys::ssh_key::{LineEnding, PrivateKey, private, public};
    let public = public::SkEd25519::new(public::Ed25519PublicKey([7u8; 32]), "ssh:");
    let keypair = private::SkEd25519::new(public, 0x01, vec![42u8; 64]).unwrap();
    let key = PrivateKey::new(private::KeypairData::SkEd25519(keypair), name).unwrap();
    let path = env.ssh_dir().join(name);
    std::fs::write(&path, key.to_openssh(LineEnding::LF).unwrap().as_bytes()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(
        format!("{}.pub", path.display()),
        format!("{}\n", key.public_key().to_openssh().unwrap()),
    )
    .unwrap();
    path
}

/// ssh signs with a security key only through the device (plugged in, touched): herossh
/// cannot, so where that key decides it says it cannot tell (never "the server refused the
/// signature", and no signature is attempted); where a later key gets in, ssh logs in either
/// way. The real ssh, without the device, is the oracle.
#[test]
fn a_security_key_leaves_the_verdict_to_the_device() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let sk = security_key(&env, "id_ed25519_sk");
    sshd.authorize(&pub_line(&sk));
    let kh = trust(&env, &sshd);
    let o = ssh_command(&sshd, &kh, &[&sk])
        .arg("true")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(255), "ssh: {}", out(&o).1);
    assert!(
        out(&o).1.contains("signing failed for ED25519-SK"),
        "{}",
        out(&o).1
    );
    let (code, v, err) = validate_json(&env, &[&sshd.target(), "-i", s(&sk)], None);
    assert_ne!(code, 0, "{v:#}\n{err}");
    assert_eq!(v["outcome"]["outcome"], "unknown", "{v:#}");
    assert_eq!(v["keys"][0]["accepted"], true, "{v:#}");
    assert_eq!(codes(&v), ["outcome-unknown"], "{v:#}");
    assert!(
        finding(&v, "outcome-unknown")["message"]
            .as_str()
            .unwrap()
            .contains("FIDO security key"),
        "{v:#}"
    );
    assert_eq!(v["attempts"]["failed_logins"], 0, "{v:#}");
    assert!(!sshd.log().contains("Failed publickey"), "{}", sshd.log());

    // A plain key after it: ssh logs in with that one when the device is absent.
    let k = keygen(&env, "id_ed25519", "ed25519", "");
    sshd.authorize(&pub_line(&k));
    let o = ssh_command(&sshd, &kh, &[&sk, &k])
        .arg("true")
        .output()
        .unwrap();
    assert!(o.status.success(), "ssh: {}", out(&o).1);
    let (code, v, err) = validate_json(&env, &[&sshd.target(), "-i", s(&sk), "-i", s(&k)], None);
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert_eq!(codes(&v), ["authenticated"], "{v:#}");
}

/// KnownHostsCommand adds lines to the known_hosts files, and herossh does not run it: where
/// the files alone would stop ssh, the verdict is "cannot say", never "fails", since the real
/// ssh logs in here.
#[test]
fn known_hosts_command_leaves_the_host_key_verdict_open() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "id_ed25519", "ed25519", "");
    sshd.authorize(&pub_line(&k));
    let cfg = env.write(
        "cfg",
        format!(
            "Host khc\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  \
             KnownHostsCommand /bin/echo {}\n",
            sshd.port(),
            sshd.user(),
            sshd.known_hosts_line()
        ),
    );
    let o = env
        .program("ssh")
        .args(["-F", s(&cfg), "-o", "BatchMode=yes", "khc", "true"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "ssh: {}", out(&o).1);
    let (code, v, err) = validate_json(&env, &["--batch", "-F", s(&cfg), "khc"], None);
    assert_ne!(code, 0, "{v:#}\n{err}");
    assert_eq!(v["outcome"]["outcome"], "unknown", "{v:#}");
    assert_eq!(codes(&v), ["host-key-unknown", "outcome-unknown"], "{v:#}");
    assert!(
        finding(&v, "outcome-unknown")["message"]
            .as_str()
            .unwrap()
            .contains("KnownHostsCommand `/bin/echo "),
        "{v:#}"
    );
    // With the key in known_hosts the command does not matter.
    trust(&env, &sshd);
    let (code, v, err) = validate_json(&env, &["--batch", "-F", s(&cfg), "khc"], None);
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert_eq!(codes(&v), ["authenticated"], "{v:#}");
}

/// Host certificates, judged as ssh judges them (sshconnect.c `check_host_key`): an
/// `@cert-authority` line for the host (or the host without its port) vouches for a valid
/// certificate; an invalid one is set aside in ssh's words and the plain key decides; a
/// revoked CA ends it. The real ssh is the oracle for every case.
#[test]
fn host_certificates_are_judged_as_ssh_judges_them() {
    let env = TestEnv::new();
    let (ed_ca, ed_ca_pub) = env.scratch_key("ed_ca", "ed25519");
    let (rsa_ca, rsa_ca_pub) = env.scratch_key("rsa_ca", "rsa");
    let k = keygen(&env, "id_ed25519", "ed25519", "");
    struct Case {
        name: &'static str,
        ca: PathBuf,
        args: &'static [&'static str],
        /// known_hosts; `PLAIN` stands for the server's own plain-key line.
        known_hosts: String,
        ssh_ok: bool,
        status: &'static str,
        /// known_hosts line number of the vouching @cert-authority line.
        authority_line: Option<usize>,
        refused: Option<&'static str>,
    }
    let ed = &ed_ca_pub;
    let cases = vec![
        Case {
            name: "a valid certificate, CA trusted for [127.0.0.1]:*",
            ca: ed_ca.clone(),
            args: &["-n", "127.0.0.1"],
            known_hosts: format!("# CA\n@cert-authority [127.0.0.1]:* {ed}\n"),
            ssh_ok: true,
            status: "known",
            authority_line: Some(2),
            refused: None,
        },
        Case {
            name: "a valid certificate, CA trusted for the host without its port",
            ca: ed_ca.clone(),
            args: &["-n", "127.0.0.1"],
            known_hosts: format!("@cert-authority 127.0.0.1 {ed}\n"),
            ssh_ok: true,
            status: "known",
            authority_line: Some(1),
            refused: None,
        },
        Case {
            name: "an expired certificate",
            ca: ed_ca.clone(),
            args: &["-n", "127.0.0.1", "-V", "20200101:20200102"],
            known_hosts: format!("@cert-authority * {ed}\n"),
            ssh_ok: false,
            status: "unknown",
            authority_line: None,
            refused: Some("Certificate invalid: expired"),
        },
        Case {
            name: "a certificate for another name; the plain key is known",
            ca: ed_ca.clone(),
            args: &["-n", "other.example"],
            known_hosts: format!("@cert-authority * {ed}\nPLAIN\n"),
            ssh_ok: true,
            status: "known",
            authority_line: None,
            refused: Some("Certificate invalid: name is not a listed principal"),
        },
        Case {
            name: "a certificate from an unknown CA; the plain key is known",
            ca: rsa_ca.clone(),
            args: &["-n", "127.0.0.1"],
            known_hosts: format!("@cert-authority * {ed}\nPLAIN\n"),
            ssh_ok: true,
            status: "known",
            authority_line: None,
            refused: None,
        },
        Case {
            name: "an RSA CA signing with rsa-sha2-512",
            ca: rsa_ca.clone(),
            args: &["-n", "127.0.0.1", "-t", "rsa-sha2-512"],
            known_hosts: format!("@cert-authority * {rsa_ca_pub}\n"),
            ssh_ok: true,
            status: "known",
            authority_line: Some(1),
            refused: None,
        },
        Case {
            name: "an RSA CA signing with ssh-rsa (SHA-1)",
            ca: rsa_ca.clone(),
            args: &["-n", "127.0.0.1", "-t", "ssh-rsa"],
            known_hosts: format!("@cert-authority * {rsa_ca_pub}\n"),
            ssh_ok: false,
            status: "unknown",
            authority_line: None,
            refused: Some("Certificate signed with disallowed algorithm"),
        },
        Case {
            name: "the CA is @revoked",
            ca: ed_ca.clone(),
            args: &["-n", "127.0.0.1"],
            known_hosts: format!("@cert-authority * {ed}\n@revoked * {ed}\nPLAIN\n"),
            ssh_ok: false,
            status: "revoked",
            authority_line: None,
            refused: None,
        },
    ];
    for c in cases {
        let sshd = Sshd::start(SshdOptions {
            host_certificate: Some(HostCertificate {
                ca: c.ca.clone(),
                args: c.args.iter().map(|a| a.to_string()).collect(),
            }),
            ..Default::default()
        });
        sshd.authorize(&pub_line(&k));
        let kh = env.ssh_dir().join("known_hosts");
        std::fs::write(
            &kh,
            c.known_hosts.replace("PLAIN", &sshd.known_hosts_line()),
        )
        .unwrap();
        let o = ssh_command(&sshd, &kh, &[&k]).arg("true").output().unwrap();
        let ssh_err = out(&o).1;
        assert_eq!(o.status.success(), c.ssh_ok, "{}: ssh: {ssh_err}", c.name);
        if let Some(why) = c.refused {
            assert!(ssh_err.contains(why), "{}: ssh: {ssh_err}", c.name);
        }
        let (code, v, err) = validate_json(&env, &[&sshd.target(), "-i", s(&k)], None);
        assert_eq!(code == 0, c.ssh_ok, "{}: {v:#}\n{err}", c.name);
        let hk = &v["server"]["host_key"];
        assert_eq!(hk["status"], c.status, "{}: {v:#}", c.name);
        assert_eq!(
            hk["certificate_authority"],
            match c.authority_line {
                Some(n) => Value::from(format!("{}:{n}", kh.display())),
                None => Value::Null,
            },
            "{}: {v:#}",
            c.name
        );
        assert_eq!(
            hk["certificate_refused"],
            c.refused.map_or(Value::Null, Value::from),
            "{}: {v:#}",
            c.name
        );
        match (c.ssh_ok, c.status) {
            (true, _) => assert_eq!(codes(&v), ["authenticated"], "{}: {v:#}", c.name),
            (false, "revoked") => {
                let msg = finding(&v, "host-key-revoked")["message"].as_str().unwrap();
                assert!(msg.contains("the CA key"), "{}: {msg}", c.name);
                assert!(!sshd.log().contains("publickey"), "{}", sshd.log());
            }
            (false, _) => {
                let msg = finding(&v, "host-key-unknown")["message"].as_str().unwrap();
                assert!(msg.contains(c.refused.unwrap()), "{}: {msg}", c.name);
            }
        }
    }
}

fn accept_new(hash: bool) {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "good", "ed25519", "");
    sshd.authorize(&pub_line(&k));
    let cfg = env.write(
        "ssh_config",
        format!(
            "Host *\n  HashKnownHosts {}\n",
            if hash { "yes" } else { "no" }
        ),
    );
    let kh = env.ssh_dir().join("known_hosts");
    let base = [
        sshd.target(),
        "-i".into(),
        s(&k).into(),
        "-F".into(),
        s(&cfg).into(),
    ];
    let base: Vec<&str> = base.iter().map(String::as_str).collect();
    let (_, v, _) = validate_json(&env, &base, None);
    assert_eq!(v["server"]["host_key"]["known"], false);
    // validate ran with -F: the fix reads the same config.
    assert_eq!(
        finding(&v, "host-key-unknown")["fix"],
        format!(
            "herossh validate --accept-new -F {} {}",
            cfg.display(),
            sshd.target()
        )
    );
    assert!(!kh.exists());

    let mut args = base.clone();
    args.push("--accept-new");
    let (code, v, _) = validate_json(&env, &args, None);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["server"]["host_key"]["status"], "added");
    let (t, b64) = sshd.host_key();
    let written = std::fs::read_to_string(&kh).unwrap();
    let name = format!("[127.0.0.1]:{}", sshd.port());
    if hash {
        assert!(written.starts_with("|1|"), "{written}");
        assert!(written.ends_with(&format!(" {t} {b64}\n")), "{written}");
        assert_eq!(written.lines().count(), 1);
        // ssh-keygen finds the hashed entry under the host's name.
        let o = Command::new("ssh-keygen")
            .args(["-F", &name, "-f"])
            .arg(&kh)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", out(&o).0);
    } else {
        assert_eq!(written, format!("{name} {t} {b64}\n"));
    }
    // The real ssh trusts the line we wrote (StrictHostKeyChecking=yes).
    let o = ssh_command(&sshd, &kh, &[&k]).arg("true").output().unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
    let (_, v, _) = validate_json(&env, &base, None);
    assert_eq!(v["server"]["host_key"]["status"], "known");
}

#[test]
fn unknown_host_is_reported_then_accept_new_adds_a_line_ssh_trusts() {
    accept_new(false);
}

#[test]
fn accept_new_hashes_the_line_with_hash_known_hosts() {
    accept_new(true);
}

#[test]
fn known_hosts_with_only_an_rsa_line_is_honoured() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions {
        host_key_types: vec!["rsa".into(), "ed25519".into()],
        ..Default::default()
    });
    let k = keygen(&env, "good", "ed25519", "");
    sshd.authorize(&pub_line(&k));
    let (t, _) = sshd.host_key();
    assert_eq!(t, "ssh-rsa");
    trust(&env, &sshd);
    let (code, v, _) = validate_json(&env, &[&sshd.target(), "-i", s(&k)], None);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["server"]["host_key"]["type"], "ssh-rsa");
    assert_eq!(v["server"]["host_key"]["status"], "known");
}

#[test]
fn refused_port_is_a_network_failure() {
    let env = TestEnv::new();
    let k = keygen(&env, "good", "ed25519", "");
    let port = free_port();
    let target = format!("me@127.0.0.1:{port}");
    let (code, v, _) = validate_json(&env, &[&target, "-i", s(&k)], None);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(codes(&v), ["connection-refused"]);
    assert_eq!(v["server"], Value::Null);
    assert_eq!(v["keys"][0]["accepted"], Value::Null);
}

#[test]
fn silent_listener_times_out() {
    let env = TestEnv::new();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("me@127.0.0.1:{}", l.local_addr().unwrap().port());
    let (code, v, _) = validate_json(&env, &[&target, "--timeout", "1"], None);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(codes(&v), ["connection-timeout"]);
    drop(l);
}

#[test]
fn listener_that_closes_at_once_is_a_handshake_failure() {
    let env = TestEnv::new();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            drop(s);
        }
    });
    let (code, v, _) = validate_json(
        &env,
        &[&format!("me@127.0.0.1:{port}"), "--timeout", "5"],
        None,
    );
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(codes(&v), ["handshake-failed"]);
    assert!(
        finding(&v, "handshake-failed")["message"]
            .as_str()
            .unwrap()
            .contains("closed"),
        "{v:#}"
    );
    t.join().unwrap();
}

#[test]
fn unresolvable_name_is_a_dns_failure() {
    let env = TestEnv::new();
    // A name whose lookup fails without a packet leaving the machine (see support::faults).
    let target = format!("git@{}", crate::support::faults::unresolvable_host());
    let (code, v, _) = validate_json(&env, &[&target, "--timeout", "5"], None);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(codes(&v), ["dns-failure"]);
}

#[test]
fn no_key_accepted_says_how_to_authorize() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "id_ed25519", "ed25519", "");
    trust(&env, &sshd);
    // Default identities: ~/.ssh/id_ed25519 exists, the others are skipped silently.
    let (code, v, _) = validate_json(&env, &[&sshd.target()], None);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["keys"].as_array().unwrap().len(), 1);
    assert_eq!(v["keys"][0]["source"], "default");
    assert_eq!(v["keys"][0]["path"], s(&k));
    let f = finding(&v, "no-key-accepted");
    assert!(
        f["fix"].as_str().unwrap().contains("~/.ssh/id_ed25519.pub"),
        "{f}"
    );
    assert_eq!(codes(&v), ["no-key-accepted"]);
}

#[test]
fn plan_only_lists_agent_then_files_without_network() {
    let env = TestEnv::new();
    let agent = Agent::start(&env);
    let named = keygen(&env, "named", "ed25519", "");
    let loose = keygen(&env, "agent_only", "ed25519", "");
    let file_only = keygen(&env, "file_only", "ecdsa", "");
    agent.add(&env, &loose);
    agent.add(&env, &named);
    let (code, v, _) = validate_json(
        &env,
        &[
            "nobody@192.0.2.1",
            "--plan",
            "-i",
            s(&file_only),
            "-i",
            s(&named),
        ],
        Some(&agent.sock),
    );
    assert_eq!(code, 0, "{v:#}");
    let keys = v["keys"].as_array().unwrap();
    let got: Vec<(String, String)> = keys
        .iter()
        .map(|k| {
            (
                k["fingerprint"].as_str().unwrap().to_string(),
                k["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // OpenSSH's order: agent keys the config names, other agent keys, file-only keys.
    assert_eq!(
        got,
        vec![
            (fingerprint(&named), "command-line".into()),
            (fingerprint(&loose), "agent".into()),
            (fingerprint(&file_only), "command-line".into()),
        ]
    );
    assert_eq!(keys[0]["in_agent"], true);
    assert_eq!(v["server"], Value::Null);
    assert!(keys.iter().all(|k| k["accepted"].is_null()));
}

#[test]
fn agent_unreachable_is_reported() {
    let env = TestEnv::new();
    let (code, v, _) = validate_json(
        &env,
        &["nobody@192.0.2.1", "--plan"],
        Some(&env.scratch().join("no-agent.sock")),
    );
    assert_eq!(code, 0);
    assert_eq!(codes(&v), ["agent-unreachable"]);
}

#[test]
fn human_report_shows_plan_verdicts_and_fixes() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let other = keygen(&env, "first", "ed25519", "");
    let good = keygen(&env, "second", "ed25519", "");
    sshd.authorize(&pub_line(&good));
    trust(&env, &sshd);
    let o = env
        .herossh()
        .args(["validate", &sshd.target(), "-i", s(&other), "-i", s(&good)])
        .output()
        .unwrap();
    let (stdout, _) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    let first = stdout.lines().find(|l| l.contains("~/.ssh/first")).unwrap();
    assert!(
        first.starts_with("  1  ~/.ssh/first   ssh-ed25519  SHA256:"),
        "{first}"
    );
    assert!(first.ends_with("✗ rejected"), "{first}");
    let second = stdout
        .lines()
        .find(|l| l.contains("~/.ssh/second"))
        .unwrap();
    assert!(second.ends_with("✓ accepted (signed login OK)"), "{second}");
    assert!(
        stdout.contains("     fix: herossh fix-config --host 127.0.0.1 -i ~/.ssh/second"),
        "{stdout}"
    );
}

#[test]
fn bad_targets_are_usage_errors() {
    let env = TestEnv::new();
    for t in ["host:notaport", "@host", "user@"] {
        let o = env.herossh().args(["validate", t]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{t}");
        assert!(out(&o).1.starts_with("herossh: invalid"), "{}", out(&o).1);
    }
}

#[test]
fn config_alias_order_and_identities_only_come_from_ssh_config() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let agent = Agent::start(&env);
    let stray = keygen(&env, "stray_agent_key", "ed25519", "");
    agent.add(&env, &stray);
    let github = keygen(&env, "github_rsa", "ed25519", "");
    let heroku = keygen(&env, "heroku", "ed25519", "");
    sshd.authorize(&pub_line(&heroku));
    trust(&env, &sshd);
    let cfg = env.write(
        "cfg",
        format!(
            "Host myapp\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile ~/.ssh/github_rsa\n  IdentityFile ~/.ssh/heroku\n  IdentitiesOnly yes\n",
            sshd.port(),
            sshd.user()
        ),
    );
    let (code, v, _) = validate_json(&env, &["myapp", "-F", s(&cfg)], Some(&agent.sock));
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        v["target"],
        format!("{}@myapp:{}", sshd.user(), sshd.port())
    );
    let keys = v["keys"].as_array().unwrap();
    let offered: Vec<&Value> = keys
        .iter()
        .filter(|k| !k["offered_order"].is_null())
        .collect();
    let paths: Vec<&str> = offered
        .iter()
        .map(|k| k["path"].as_str().unwrap())
        .collect();
    // IdentitiesOnly drops the agent's unlisted key from what ssh offers (it is still listed,
    // as not offered); the config's order is kept.
    assert_eq!(paths, [s(&github), s(&heroku)]);
    assert!(offered.iter().all(|k| k["source"] == "config"));
    let hidden: Vec<&Value> = keys
        .iter()
        .filter(|k| k["offered_order"].is_null())
        .collect();
    assert_eq!(hidden.len(), 1, "{v:#}");
    assert_eq!(hidden[0]["skipped_reason"], "hidden-by-identities-only");
    assert_eq!(hidden[0]["fingerprint"], fingerprint(&stray));
    let fix = finding(&v, "wrong-key-offered-first")["fix"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        fix,
        format!(
            "herossh fix-config --host myapp -F {} -i ~/.ssh/heroku",
            cfg.display()
        )
    );

    // Run the fix exactly as printed (the shell expands `~`; it names this config file).
    let bin_dir = crate::support::herossh_bin()
        .parent()
        .unwrap()
        .to_path_buf();
    let o = env
        .program("sh")
        .arg("-c")
        .arg(fix.replacen("herossh", "\"$BIN\"", 1))
        .env("BIN", bin_dir.join("herossh"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", out(&o).0, out(&o).1);
    let fixed = std::fs::read_to_string(&cfg).unwrap();
    // Now the accepted key is offered first, and the real ssh logs in with the config as
    // written (absolute paths: ssh expands `~` from the passwd home, not $HOME).
    let (code, v, _) = validate_json(&env, &["myapp", "-F", s(&cfg)], Some(&agent.sock));
    assert_eq!(code, 0, "{v:#}\n{fixed}");
    assert_eq!(v["keys"][0]["path"], s(&heroku), "{fixed}");
    assert!(
        !codes(&v).contains(&"wrong-key-offered-first".to_string()),
        "{v:#}"
    );
    let ssh_fixed = fixed.replace("~/", &format!("{}/", env.home().display()));
    let cfg_abs = env.write("cfg-abs", &ssh_fixed);
    let o = env
        .program("ssh")
        .arg("-F")
        .arg(&cfg_abs)
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "PreferredAuthentications=publickey",
        ])
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            env.ssh_dir().join("known_hosts").display()
        ))
        .args(["myapp", "echo", "fixed"])
        .env("SSH_AUTH_SOCK", &agent.sock)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out(&o).0, "fixed\n", "{}\n{fixed}", out(&o).1);
}

/// `herossh --json validate` with the fake Platform API as HEROKU_HOST and a token for it.
fn validate_with_api(env: &TestEnv, api: &FakeApi, args: &[&str]) -> (i32, Value) {
    let o = env
        .herossh()
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_API_KEY", "tok-validate")
        .arg("--json")
        .arg("validate")
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = out(&o);
    assert!(!stdout.contains("tok-validate") && !stderr.contains("tok-validate"));
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (o.status.code().unwrap(), v)
}

#[test]
fn account_cross_check_against_the_fake_api() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let api = FakeApi::start();
    api.add_token("tok-validate", "dev@example.com");
    let foreign = keygen(&env, "foreign", "ed25519", "");
    let mine = keygen(&env, "mine", "ed25519", "");
    let fresh = keygen(&env, "fresh", "ed25519", "");
    // The server knows `foreign` (another account's key); the account holds `mine`, which
    // the server has not picked up.
    sshd.authorize(&pub_line(&foreign));
    api.add_key("dev@example.com", pub_line(&mine).trim());
    trust(&env, &sshd);

    let (code, v) = validate_with_api(
        &env,
        &api,
        &[&sshd.target(), "-i", s(&foreign), "-i", s(&mine)],
    );
    assert_eq!(code, 0, "{v:#}");
    let f = finding(&v, "key-in-use-by-another-account");
    assert!(
        f["message"].as_str().unwrap().contains("~/.ssh/foreign"),
        "{f}"
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains(&fingerprint(&foreign)),
        "{f}"
    );
    let f = finding(&v, "key-on-account-not-accepted");
    assert!(
        f["message"].as_str().unwrap().contains("~/.ssh/mine"),
        "{f}"
    );
    assert!(!codes(&v).contains(&"key-not-on-account".to_string()));

    let (code, v) = validate_with_api(&env, &api, &[&sshd.target(), "-i", s(&fresh)]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(
        finding(&v, "key-not-on-account")["fix"],
        "herossh keys add ~/.ssh/fresh.pub"
    );
    assert_eq!(
        finding(&v, "no-key-accepted")["fix"],
        "herossh keys add ~/.ssh/fresh.pub"
    );
    assert_eq!(
        api.request_lines(),
        ["GET /account/keys", "GET /account/keys"]
    );

    // Run the suggested fix (the shell expands `~`): the key lands on the account, and the
    // next probe says it is on the account but the server does not have it yet.
    let fix = finding(&v, "key-not-on-account")["fix"]
        .as_str()
        .unwrap()
        .to_string();
    let o = env
        .program("sh")
        .arg("-c")
        .arg(fix.replacen("herossh", "\"$BIN\"", 1))
        .env("BIN", crate::support::herossh_bin())
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_API_KEY", "tok-validate")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", out(&o).0, out(&o).1);
    assert_eq!(
        api.keys("dev@example.com")
            .iter()
            .map(|k| k.public_key.clone())
            .collect::<Vec<_>>(),
        [
            pub_line(&mine).trim().to_string(),
            pub_line(&fresh).trim().to_string()
        ]
    );
    let (_, v) = validate_with_api(&env, &api, &[&sshd.target(), "-i", s(&fresh)]);
    assert!(
        !codes(&v).contains(&"key-not-on-account".to_string()),
        "{v:#}"
    );
    assert!(
        codes(&v).contains(&"key-on-account-not-accepted".to_string()),
        "{v:#}"
    );
}

#[test]
fn account_check_failure_is_a_warning_not_a_crash() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let api = FakeApi::start();
    // No token registered: the API answers 401.
    let k = keygen(&env, "k", "ed25519", "");
    sshd.authorize(&pub_line(&k));
    trust(&env, &sshd);
    let (code, v) = validate_with_api(&env, &api, &[&sshd.target(), "-i", s(&k)]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(codes(&v), ["authenticated", "account-check-failed"]);
}

#[test]
fn no_common_cipher_is_a_handshake_failure_listing_both_sides() {
    let env = TestEnv::new();
    // 3des-cbc: still in OpenSSH 9.2, never offered by russh.
    let sshd = Sshd::start(SshdOptions {
        extra: vec!["Ciphers 3des-cbc".into()],
        ..Default::default()
    });
    trust(&env, &sshd);
    let (code, v, _) = validate_json(&env, &[&sshd.target(), "--timeout", "5"], None);
    // ssh stops at negotiation ("Unable to negotiate"): exit 1, ssh's words, the per-host fix.
    assert_eq!(code, 1, "{v:#}");
    let f = finding(&v, "no-matching-cipher");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!(
            "Unable to negotiate with 127.0.0.1 port {}: no matching cipher found. Their offer: 3des-cbc",
            sshd.port()
        )),
        "{msg}"
    );
    assert_eq!(
        f["fix"],
        "herossh fix-config --host 127.0.0.1 --set 'Ciphers +3des-cbc'"
    );
    let o = ssh_command(&sshd, &trust(&env, &sshd), &[])
        .arg("true")
        .output()
        .unwrap();
    assert!(
        out(&o)
            .1
            .contains("no matching cipher found. Their offer: 3des-cbc"),
        "{}",
        out(&o).1
    );
}

#[test]
fn certificate_files_come_first_in_the_plan() {
    let env = TestEnv::new();
    let ca = keygen(&env, "ca", "ed25519", "");
    let k = keygen(&env, "signed", "ed25519", "");
    let st = env
        .program("ssh-keygen")
        .args(["-q", "-s"])
        .arg(&ca)
        .args(["-I", "test", "-n", "me"])
        .arg(format!("{}.pub", k.display()))
        .status()
        .unwrap();
    assert!(st.success());
    let cert = env.ssh_dir().join("signed-cert.pub");
    let other = keygen(&env, "other", "ed25519", "");
    let cfg = env.write(
        "cfg",
        "Host h\n  CertificateFile ~/.ssh/signed-cert.pub\n  IdentityFile ~/.ssh/other\n",
    );
    let (code, v, _) = validate_json(&env, &["me@h", "--plan", "-F", s(&cfg)], None);
    assert_eq!(code, 0, "{v:#}");
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{v:#}");
    assert_eq!(keys[0]["path"], s(&cert));
    assert_eq!(keys[0]["source"], "certificate");
    assert_eq!(keys[0]["fingerprint"], fingerprint(&k));
    assert_eq!(keys[0]["offered_order"], 1);
    assert_eq!(keys[1]["path"], s(&other));
    assert_eq!(keys[1]["offered_order"], 2);
}

#[test]
fn host_key_alias_names_the_known_hosts_entry() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "k", "ed25519", "");
    sshd.authorize(&pub_line(&k));
    let (t, b64) = sshd.host_key();
    let kh = env.ssh_dir().join("known_hosts");
    std::fs::write(&kh, format!("myserver {t} {b64}\n")).unwrap();
    let cfg = env.write(
        "cfg",
        format!(
            "Host h\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  HostKeyAlias myserver\n  UserKnownHostsFile {}\n  IdentityFile {}\n",
            sshd.port(),
            sshd.user(),
            kh.display(),
            k.display()
        ),
    );
    let (code, v, _) = validate_json(&env, &["h", "-F", s(&cfg)], None);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["server"]["host_key"]["status"], "known");
    // The oracle: ssh finds the key under the alias too.
    let o = env
        .program("ssh")
        .arg("-F")
        .arg(&cfg)
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "h",
            "true",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
}

#[test]
fn heroku_probe_failures_explain_that_ssh_git_ended() {
    let env = TestEnv::new();
    let k = keygen(&env, "id_ed25519", "ed25519", "");
    // heroku.com pointed at loopback: a refused port, then a real sshd that knows no key.
    let refused = free_port();
    let cfg = env.write(
        "cfg",
        format!("Host heroku.com\n  HostName 127.0.0.1\n  Port {refused}\n"),
    );
    let (code, v, _) = validate_json(&env, &["git@heroku.com", "-F", s(&cfg)], None);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(codes(&v), ["connection-refused", "heroku-ssh-git-ended"]);
    assert_eq!(
        finding(&v, "heroku-ssh-git-ended")["fix"],
        "git remote set-url heroku https://git.heroku.com/APP.git && herossh git-credential install"
    );

    let sshd = Sshd::start(SshdOptions::default());
    let cfg = env.write(
        "cfg",
        format!(
            "Host heroku.com\n  HostName 127.0.0.1\n  Port {}\n  HostKeyAlias heroku.com\n",
            sshd.port()
        ),
    );
    let (t, b64) = sshd.host_key();
    std::fs::write(
        env.ssh_dir().join("known_hosts"),
        format!("heroku.com {t} {b64}\n"),
    )
    .unwrap();
    let (code, v, _) = validate_json(&env, &["git@heroku.com", "-F", s(&cfg)], None);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["keys"][0]["path"], s(&k));
    assert_eq!(codes(&v), ["no-key-accepted", "heroku-ssh-git-ended"]);
    assert_eq!(
        finding(&v, "no-key-accepted")["fix"],
        "herossh keys add ~/.ssh/id_ed25519.pub"
    );
}

#[test]
fn revoked_host_key_stops_like_a_changed_one() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "good", "ed25519", "");
    sshd.authorize(&pub_line(&k));
    let (t, b64) = sshd.host_key();
    std::fs::write(
        env.ssh_dir().join("known_hosts"),
        format!("{}\n@revoked *\t{t} {b64}\n", sshd.known_hosts_line()),
    )
    .unwrap();
    let (code, v, _) = validate_json(&env, &[&sshd.target(), "-i", s(&k)], None);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["server"]["host_key"]["status"], "revoked");
    assert!(
        finding(&v, "host-key-revoked")["message"]
            .as_str()
            .unwrap()
            .contains(&sshd.host_key_fingerprint())
    );
    assert!(!sshd.log().contains("publickey"), "{}", sshd.log());
}

#[test]
fn rsa_key_is_queried_and_proven_with_a_sha2_signature() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let p = env.ssh_dir().join("id_rsa");
    let st = env
        .program("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
        .arg(&p)
        .status()
        .unwrap();
    assert!(st.success());
    sshd.authorize(&pub_line(&p));
    trust(&env, &sshd);
    let (code, v, _) = validate_json(&env, &[&sshd.target(), "-i", s(&p)], None);
    assert_eq!(code, 0, "{v:#}\n{}", sshd.log());
    // OpenSSH 9.2 refuses ssh-rsa (SHA-1) signatures: acceptance means rsa-sha2-*.
    assert_eq!(v["keys"][0]["type"], "ssh-rsa");
    assert_eq!(v["keys"][0]["accepted"], true);
    assert!(
        sshd.log().contains("Accepted publickey for") && sshd.log().contains(" RSA SHA256:"),
        "{}",
        sshd.log()
    );
}

#[test]
fn missing_identity_is_reported_not_fatal() {
    let env = TestEnv::new();
    let missing = env.ssh_dir().join("nope");
    let (code, v, _) = validate_json(&env, &["me@192.0.2.1", "--plan", "-i", s(&missing)], None);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["keys"][0]["skipped_reason"], "missing");
    assert_eq!(v["keys"][0]["offered_order"], Value::Null);
    assert_eq!(
        finding(&v, "identity-missing")["message"],
        "~/.ssh/nope does not exist"
    );
}

/// A server whose only MAC is hmac-md5, which ssh speaks (once the config enables it) and the
/// probe (russh) does not: herossh asks the installed ssh and reports its answer, login or
/// denial, never the probe's own handshake failure. With a ProxyCommand and no --allow-exec
/// it does not run ssh (ssh would run the command).
#[test]
fn where_the_probe_cannot_negotiate_the_installed_ssh_answers() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions {
        extra: vec!["Ciphers aes128-ctr".into(), "MACs hmac-md5".into()],
        ..Default::default()
    });
    let k = keygen(&env, "id_ed25519", "ed25519", "");
    let other = keygen(&env, "other", "ed25519", "");
    sshd.authorize(&pub_line(&k));
    trust(&env, &sshd);
    let cfg = env.write(
        "cfg",
        format!(
            "Host old\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  MACs +hmac-md5\n  \
             IdentityFile {}\n  IdentitiesOnly yes\n\
             Host old-denied\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  MACs +hmac-md5\n  \
             IdentityFile {}\n  IdentitiesOnly yes\n\
             Host old-proxied\n  HostName 127.0.0.1\n  Port {}\n  MACs +hmac-md5\n  \
             ProxyCommand nc %h %p\n",
            sshd.port(),
            sshd.user(),
            k.display(),
            sshd.port(),
            sshd.user(),
            other.display(),
            sshd.port(),
        ),
    );
    let (code, v, err) = validate_json(&env, &["--batch", "-F", s(&cfg), "old"], None);
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert_eq!(v["authenticated"], true);
    assert_eq!(
        codes(&v),
        ["probe-cannot-negotiate", "authenticated"],
        "{v:#}"
    );
    assert!(
        finding(&v, "probe-cannot-negotiate")["message"]
            .as_str()
            .unwrap()
            .contains("cannot speak hmac-md5"),
        "{v:#}"
    );
    assert!(sshd.log().contains("Accepted publickey"), "{}", sshd.log());

    let (code, v, err) = validate_json(&env, &["--batch", "-F", s(&cfg), "old-denied"], None);
    assert_eq!(code, 1, "{v:#}\n{err}");
    assert_eq!(v["authenticated"], false);
    assert_eq!(v["outcome"]["reason"], "ssh-fails", "{v:#}");
    let f = finding(&v, "ssh-fails");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .ends_with("Permission denied (publickey)."),
        "{f}"
    );

    // Without --allow-exec ssh is not run (it would run the ProxyCommand): no verdict, and no
    // connection reaches the server. Connections are counted, not log lines: sshd may still be
    // logging the end of the previous run's connection after that run returned.
    let connections = || sshd.log().matches("Connection from ").count();
    let before = connections();
    let (code, v, _) = validate_json(&env, &["--batch", "-F", s(&cfg), "old-proxied"], None);
    assert_ne!(code, 0, "{v:#}");
    assert!(!codes(&v).contains(&"authenticated".to_string()), "{v:#}");
    assert_eq!(connections(), before, "{}", sshd.log());
}
