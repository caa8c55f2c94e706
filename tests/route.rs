//! The route ssh takes: `ProxyJump` (single, chained, a hop with its own ProxyJump, `-J`),
//! `ProxyCommand` (with and without `--allow-exec`), and hops that fail in each way ssh can
//! fail at them, each against REAL sshds (one per host, each with its own host key and
//! authorized_keys) and checked against the REAL `ssh -o BatchMode=yes -F CONFIG TARGET true`:
//! herossh exits 0 exactly when ssh logs in, and otherwise names the finding.
//!
//! How ssh is made to read the test's files: `-F CONFIG` for the config, and the test home as
//! the passwd entry's home (nss_wrapper, see `TestEnv::apply`) for `~` inside it — which is
//! also what the second ssh (the one ProxyJump and `ProxyCommand ssh -W` start) reads, since
//! it inherits the environment and `-F`. Every ssh and herossh runs in a new session (setsid):
//! with no controlling terminal nothing can prompt, as under BatchMode, even when the test
//! itself runs at a terminal (the second ssh does not get `-o BatchMode=yes`).
//!
//! The final host names are ones only the last jump host can resolve (its sshd runs under
//! nss_wrapper with its own hosts file): a probe that connected directly instead of through
//! the route could not get there.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::sshd::{Sshd, SshdOptions, free_port};
use crate::support::{TestEnv, herossh_bin, out};
use crate::validate::{codes, finding, keygen, pub_line};

/// The name the target has on the jump host's network (unknown here).
const INTERNAL: &str = "target.internal.invalid";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Detach from any controlling terminal (see the module doc).
fn no_tty(cmd: &mut Command) {
    // SAFETY: setsid(2) is async-signal-safe and touches no memory.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
}

/// The real `ssh -o BatchMode=yes -F CONFIG ARGS... true`: (exit code, stderr).
fn ssh(env: &TestEnv, cfg: &Path, args: &[&str]) -> (i32, String) {
    let mut c = env.program("ssh");
    c.args(["-o", "BatchMode=yes", "-F"])
        .arg(cfg)
        .args(args)
        .arg("true")
        .stdin(Stdio::null());
    no_tty(&mut c);
    let o = c.output().unwrap();
    (o.status.code().unwrap_or(-1), out(&o).1)
}

/// `herossh --json validate -F CONFIG ARGS...`: (exit code, JSON, stderr).
fn validate(env: &TestEnv, cfg: &Path, args: &[&str]) -> (i32, Value, String) {
    let mut c = Command::new(herossh_bin());
    env.apply(&mut c);
    c.current_dir(env.home())
        .args(["--json", "validate", "-F"])
        .arg(cfg)
        .args(["--timeout", "5"])
        .args(args)
        .stdin(Stdio::null());
    no_tty(&mut c);
    let o = c.output().unwrap();
    let (stdout, stderr) = out(&o);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (o.status.code().unwrap(), v, stderr)
}

/// A printed fix, run as printed by the shell in the test environment (the built herossh
/// first on PATH).
fn run_fix(env: &TestEnv, fix: &str) -> String {
    let bin_dir = herossh_bin().parent().unwrap().to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let mut c = env.program("sh");
    c.arg("-c").arg(fix).env("PATH", path).stdin(Stdio::null());
    no_tty(&mut c);
    let o = c.output().unwrap();
    let (stdout, stderr) = out(&o);
    assert!(
        o.status.success(),
        "the fix `{fix}` failed: {stdout}\n{stderr}"
    );
    format!("{stdout}{stderr}")
}

/// The config file for a test (0600, in the test's ~/.ssh).
fn config(env: &TestEnv, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = env.ssh_dir().join("route_config");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

/// `NAME:PORT`'s known_hosts line for `sshd`.
fn known_line(name: &str, sshd: &Sshd) -> String {
    let (t, b64) = sshd.host_key();
    format!("[{name}]:{} {t} {b64}\n", sshd.port())
}

fn trust(env: &TestEnv, lines: &[String]) {
    std::fs::write(env.ssh_dir().join("known_hosts"), lines.concat()).unwrap();
}

/// A jump host that resolves `INTERNAL` (and any `names`) to 127.0.0.1.
fn jump_host(names: &[&str], extra: &[&str]) -> Sshd {
    let mut hosts = vec![(INTERNAL.to_string(), "127.0.0.1".to_string())];
    hosts.extend(
        names
            .iter()
            .map(|n| (n.to_string(), "127.0.0.1".to_string())),
    );
    // sshd's default, said explicitly unless the test says otherwise (first value wins).
    let forwarding = (!extra.iter().any(|l| l.starts_with("AllowTcpForwarding")))
        .then_some("AllowTcpForwarding yes");
    Sshd::start(SshdOptions {
        extra: forwarding
            .into_iter()
            .chain(extra.iter().copied())
            .map(str::to_string)
            .collect(),
        hosts,
        ..Default::default()
    })
}

/// The stanza of a host reached at 127.0.0.1:PORT with its own key.
fn stanza(name: &str, port: u16, user: &str, key: &str, more: &str) -> String {
    format!(
        "Host {name}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  \
         IdentityFile ~/.ssh/{key}\n  IdentitiesOnly yes\n{more}"
    )
}

/// One jump host in front of one target, each with its own key; the target is known to the
/// jump host only as `INTERNAL`.
struct Pair {
    env: TestEnv,
    jump: Sshd,
    target: Sshd,
}

impl Pair {
    fn new(jump_extra: &[&str]) -> Pair {
        let env = TestEnv::new();
        let jump = jump_host(&[], jump_extra);
        let target = Sshd::start(SshdOptions::default());
        let jk = keygen(&env, "jump_key", "ed25519", "");
        let tk = keygen(&env, "target_key", "ed25519", "");
        jump.authorize(&pub_line(&jk));
        target.authorize(&pub_line(&tk));
        trust(
            &env,
            &[
                known_line("127.0.0.1", &jump),
                known_line(INTERNAL, &target),
            ],
        );
        Pair { env, jump, target }
    }

    /// `Host jump` + `Host target` (ProxyJump jump), with `jump_more` in the jump stanza.
    fn config(&self, jump_more: &str) -> PathBuf {
        let user = self.jump.user();
        let text = format!(
            "{}Host target\n  HostName {INTERNAL}\n  Port {}\n  User {user}\n  ProxyJump jump\n  \
             IdentityFile ~/.ssh/target_key\n  IdentitiesOnly yes\n",
            stanza("jump", self.jump.port(), user, "jump_key", jump_more),
            self.target.port()
        );
        config(&self.env, &text)
    }

    fn logs(&self) -> String {
        format!(
            "--- jump sshd:\n{}\n--- target sshd:\n{}",
            self.jump.log(),
            self.target.log()
        )
    }
}

#[test]
fn proxyjump_through_one_hop_logs_in_like_ssh() {
    let p = Pair::new(&[]);
    let cfg = p.config("");
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 0, "ssh: {err}\n{}", p.logs());
    // The target's name means nothing here: only the route gets there.
    let direct = Command::new("getent")
        .args(["hosts", INTERNAL])
        .output()
        .unwrap();
    assert!(!direct.status.success());

    let (code, v, err) = validate(&p.env, &cfg, &["target"]);
    assert_eq!(code, 0, "{v:#}\n{err}\n{}", p.logs());
    assert_eq!(v["authenticated"], true);
    assert_eq!(v["server"]["host_key"]["status"], "known");
    assert_eq!(
        v["server"]["host_key"]["fingerprint"],
        p.target.host_key_fingerprint()
    );
    let route = &v["route"];
    assert_eq!(route["via"]["kind"], "proxy-jump", "{route:#}");
    assert_eq!(route["via"]["hops"][0]["host"], "jump");
    assert_eq!(route["failure"], Value::Null);
    let steps = route["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{route:#}");
    let hop = &steps[0];
    assert_eq!(hop["type"], "jump");
    assert_eq!(hop["host"], "jump");
    assert_eq!(hop["report"]["authenticated"], true, "{hop:#}");
    assert_eq!(hop["report"]["server"]["host_key"]["status"], "known");
    assert_eq!(
        hop["report"]["server"]["host_key"]["fingerprint"],
        p.jump.host_key_fingerprint()
    );
    // The hop offered its own key, not the target's.
    assert_eq!(
        hop["report"]["keys"][0]["path"],
        s(&p.env.ssh_dir().join("jump_key"))
    );
    assert_eq!(hop["report"]["keys"][0]["accepted"], true);
    assert_eq!(hop["forward"]["host"], INTERNAL);
    assert_eq!(hop["forward"]["port"], p.target.port());
    assert_eq!(hop["forward"]["error"], Value::Null);
    assert_eq!(v["keys"][0]["path"], s(&p.env.ssh_dir().join("target_key")));
    // Both logins were real, each with its own key.
    assert!(p.jump.log().contains("Accepted publickey"), "{}", p.logs());
    assert!(
        p.target.log().contains("Accepted publickey"),
        "{}",
        p.logs()
    );

    // `-J` as ssh takes it replaces the config's route: the same hop, named by address.
    let j = format!("{}@127.0.0.1:{}", p.jump.user(), p.jump.port());
    let cfg2 = config(
        &p.env,
        &format!(
            "Host 127.0.0.1\n  IdentityFile ~/.ssh/jump_key\n  IdentitiesOnly yes\n\
             Host target\n  HostName {INTERNAL}\n  Port {}\n  ProxyJump nowhere.invalid\n  \
             IdentityFile ~/.ssh/target_key\n  IdentitiesOnly yes\n",
            p.target.port()
        ),
    );
    let (code, err) = ssh(&p.env, &cfg2, &["-J", &j, "target"]);
    assert_eq!(code, 0, "ssh -J: {err}");
    let (code, v, err) = validate(&p.env, &cfg2, &["-J", &j, "target"]);
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert_eq!(v["route"]["jump"], j);
    assert_eq!(v["route"]["steps"][0]["host"], j);
}

#[test]
fn human_report_shows_the_route() {
    let p = Pair::new(&[]);
    let cfg = p.config("");
    let mut c = Command::new(herossh_bin());
    p.env.apply(&mut c);
    c.current_dir(p.env.home())
        .args(["validate", "-F"])
        .arg(&cfg)
        .args(["--timeout", "5", "target"])
        .stdin(Stdio::null());
    no_tty(&mut c);
    let o = c.output().unwrap();
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    let user = p.jump.user();
    let expected = format!(
        "Route: ProxyJump jump\n  1. {user}@jump (127.0.0.1:{}): host key known, ✓ ssh logs in \
         with ~/.ssh/jump_key; forwards to {INTERNAL}:{}\n",
        p.jump.port(),
        p.target.port()
    );
    assert!(stdout.contains(&expected), "{stdout}");
}

#[test]
fn chained_and_nested_jumps_each_use_their_own_config() {
    let env = TestEnv::new();
    // j1 resolves `j2.internal.invalid`; j2 resolves the target's name.
    let j1 = jump_host(&["j2.internal.invalid"], &[]);
    let j2 = jump_host(&[], &[]);
    let target = Sshd::start(SshdOptions::default());
    let user = target.user().to_string();
    // j1 is reached by its default identity file, j2 and the target by their own.
    let k1 = keygen(&env, "id_ed25519", "ed25519", "");
    let k2 = keygen(&env, "j2_key", "ed25519", "");
    let kt = keygen(&env, "target_key", "ed25519", "");
    j1.authorize(&pub_line(&k1));
    j2.authorize(&pub_line(&k2));
    target.authorize(&pub_line(&kt));
    trust(
        &env,
        &[
            known_line("127.0.0.1", &j1),
            known_line("j2.internal.invalid", &j2),
            known_line(INTERNAL, &target),
        ],
    );
    let target_stanza = |route: &str| {
        format!(
            "Host target\n  HostName {INTERNAL}\n  Port {}\n  {route}\n  \
             IdentityFile ~/.ssh/target_key\n  IdentitiesOnly yes\n",
            target.port()
        )
    };
    let j2_stanza = |more: &str| {
        format!(
            "Host j2\n  HostName j2.internal.invalid\n  Port {}\n  \
             IdentityFile ~/.ssh/j2_key\n  IdentitiesOnly yes\n{more}",
            j2.port()
        )
    };
    let logs = || {
        format!(
            "--- j1:\n{}\n--- j2:\n{}\n--- target:\n{}",
            j1.log(),
            j2.log(),
            target.log()
        )
    };

    // A chain with the user@host:port form for the first hop.
    let first = format!("{user}@127.0.0.1:{}", j1.port());
    let cfg = config(
        &env,
        &format!(
            "{}{}",
            target_stanza(&format!("ProxyJump {first},j2")),
            j2_stanza("")
        ),
    );
    let (code, err) = ssh(&env, &cfg, &["target"]);
    assert_eq!(code, 0, "ssh: {err}\n{}", logs());
    let (code, v, err) = validate(&env, &cfg, &["target"]);
    assert_eq!(code, 0, "{v:#}\n{err}\n{}", logs());
    let steps = v["route"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{:#}", v["route"]);
    assert_eq!(steps[0]["host"], first);
    assert_eq!(steps[0]["jump"], Value::Null);
    assert_eq!(steps[0]["report"]["keys"][0]["path"], s(&k1));
    assert_eq!(steps[0]["forward"]["host"], "j2.internal.invalid");
    assert_eq!(steps[1]["host"], "j2");
    // ssh hands the hops before it to the second hop's ssh as `-J`.
    assert_eq!(steps[1]["jump"], first);
    assert_eq!(steps[1]["report"]["keys"][0]["path"], s(&k2));
    assert_eq!(steps[1]["forward"]["host"], INTERNAL);
    for st in steps {
        assert_eq!(st["report"]["authenticated"], true, "{st:#}");
        assert_eq!(st["report"]["server"]["host_key"]["status"], "known");
    }

    // The hop's own stanza sends it through the first hop (its own ProxyJump).
    let cfg = config(
        &env,
        &format!(
            "{}{}",
            target_stanza("ProxyJump j2"),
            j2_stanza(&format!("  ProxyJump {first}\n"))
        ),
    );
    let (code, err) = ssh(&env, &cfg, &["target"]);
    assert_eq!(code, 0, "ssh: {err}\n{}", logs());
    let (code, v, err) = validate(&env, &cfg, &["target"]);
    assert_eq!(code, 0, "{v:#}\n{err}\n{}", logs());
    let steps = v["route"]["steps"].as_array().unwrap();
    let hosts: Vec<&str> = steps.iter().map(|s| s["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, [first.as_str(), "j2"], "{:#}", v["route"]);
    assert_eq!(steps[1]["jump"], Value::Null);
}

#[test]
fn proxycommand_runs_only_with_allow_exec() {
    let p = Pair::new(&[]);
    let cfg_path = p.env.ssh_dir().join("route_config");
    let user = p.jump.user();
    // Every token ssh 9.2 expands there, the others in a shell comment.
    let text = format!(
        "{}Host target\n  HostName {INTERNAL}\n  Port {}\n  User {user}\n  \
         ProxyCommand ssh -F {} -W %h:%p jump # %n %k %r %%\n  \
         IdentityFile ~/.ssh/target_key\n  IdentitiesOnly yes\n",
        stanza("jump", p.jump.port(), user, "jump_key", ""),
        p.target.port(),
        cfg_path.display()
    );
    let cfg = config(&p.env, &text);
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 0, "ssh: {err}\n{}", p.logs());
    let connections_before = p.target.log().matches("Connection from").count();

    // Without --allow-exec: not followed, not replaced by a direct connection.
    let (code, v, err) = validate(&p.env, &cfg, &["target"]);
    assert_eq!(code, 1, "{v:#}\n{err}");
    assert_eq!(v["authenticated"], false);
    assert_eq!(codes(&v), ["route-not-followed"], "{v:#}");
    let f = finding(&v, "route-not-followed");
    let fix = format!(
        "herossh validate --allow-exec -F {} {user}@target:{}",
        cfg.display(),
        p.target.port()
    );
    assert_eq!(f["fix"], fix);
    let expanded = format!(
        "ssh -F {} -W {INTERNAL}:{} jump # target target {user} %",
        cfg_path.display(),
        p.target.port()
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains(&format!("`{expanded}`")),
        "{f}"
    );
    assert_eq!(v["route"]["steps"][0]["runs"], 0);
    assert_eq!(v["server"], Value::Null);
    assert_eq!(
        p.target.log().matches("Connection from").count(),
        connections_before,
        "herossh connected to the target: {}",
        p.logs()
    );

    // The fix, as printed: the command runs and the route is followed.
    let printed = run_fix(&p.env, &format!("{fix} >/dev/null"));
    assert!(printed.is_empty(), "{printed}");
    let (code, v, err) = validate(&p.env, &cfg, &["--allow-exec", "target"]);
    assert_eq!(code, 0, "{v:#}\n{err}\n{}", p.logs());
    let step = &v["route"]["steps"][0];
    assert_eq!(step["type"], "proxy-command");
    assert_eq!(step["command"], expanded);
    assert!(step["runs"].as_u64().unwrap() >= 1, "{step:#}");
    assert_eq!(v["server"]["host_key"]["status"], "known");
}

#[test]
fn proxycommand_that_fails_says_what_it_printed() {
    // The jump host takes no key of ours: the `ssh -W` in the ProxyCommand is denied.
    let p = Pair::new(&[]);
    std::fs::write(p.jump.authorized_keys_path(), "").unwrap();
    let cfg_path = p.env.ssh_dir().join("route_config");
    let user = p.jump.user();
    let text = format!(
        "{}Host target\n  HostName {INTERNAL}\n  Port {}\n  \
         ProxyCommand ssh -F {} -W %h:%p %r@jump\n  IdentityFile ~/.ssh/target_key\n",
        stanza("jump", p.jump.port(), user, "jump_key", "  BatchMode yes\n"),
        p.target.port(),
        cfg_path.display()
    );
    let cfg = config(&p.env, &text);
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 255, "ssh: {err}");
    let (code, v, err) = validate(&p.env, &cfg, &["--allow-exec", "target"]);
    assert_eq!(code, 1, "{v:#}\n{err}");
    assert_eq!(v["authenticated"], false);
    assert_eq!(v["outcome"]["reason"], "route", "{v:#}");
    assert_eq!(v["outcome"]["cause"], "proxy-command");
    let f = finding(&v, "proxy-command-failed");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains("exited with status 255"), "{msg}");
    assert!(msg.contains("Permission denied (publickey)"), "{msg}");
    // %r is the target's user.
    assert!(
        msg.contains(&format!("-W {INTERNAL}:{} {user}@jump", p.target.port())),
        "{msg}"
    );
}

#[test]
fn hop_that_denies_is_named_and_its_pin_fixes_ssh() {
    // The jump host allows 2 attempts; ssh offers it three wrong keys before the right one.
    let p = Pair::new(&["MaxAuthTries 2"]);
    for n in ["w1", "w2", "w3"] {
        keygen(&p.env, n, "ed25519", "");
    }
    let user = p.jump.user();
    let text = format!(
        "Host jump\n  HostName 127.0.0.1\n  Port {}\n  User {user}\n  IdentityFile ~/.ssh/w1\n  \
         IdentityFile ~/.ssh/w2\n  IdentityFile ~/.ssh/w3\n  IdentityFile ~/.ssh/jump_key\n  \
         IdentitiesOnly yes\n\
         Host target\n  HostName {INTERNAL}\n  Port {}\n  ProxyJump jump\n  \
         IdentityFile ~/.ssh/target_key\n  IdentitiesOnly yes\n",
        p.jump.port(),
        p.target.port()
    );
    let cfg = config(&p.env, &text);
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 255, "ssh: {err}");
    assert!(err.contains("Too many authentication failures"), "{err}");
    let target_connections = p.target.log().matches("Connection from").count();

    let (code, v, err) = validate(&p.env, &cfg, &["target"]);
    assert_eq!(code, 1, "{v:#}\n{err}\n{}", p.logs());
    assert_eq!(v["authenticated"], false);
    assert_eq!(v["outcome"]["reason"], "route");
    assert_eq!(v["outcome"]["hop"], "jump");
    assert_eq!(v["outcome"]["cause"], "denied");
    assert_eq!(codes(&v), ["jump-host-denied"], "{v:#}");
    let f = finding(&v, "jump-host-denied");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("Too many authentication failures"),
        "{f}"
    );
    let fix = format!(
        "herossh fix-config --host jump -F {} -i ~/.ssh/jump_key",
        cfg.display()
    );
    assert_eq!(f["fix"], fix);
    // The target itself was never contacted.
    assert_eq!(
        p.target.log().matches("Connection from").count(),
        target_connections,
        "{}",
        p.logs()
    );
    assert_eq!(
        v["route"]["steps"][0]["report"]["outcome"]["reason"],
        "too-many-auth-failures"
    );

    run_fix(&p.env, &fix);
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 0, "ssh after the fix: {err}\n{}", p.logs());
    let (code, v, err) = validate(&p.env, &cfg, &["target"]);
    assert_eq!(code, 0, "{v:#}\n{err}");
}

#[test]
fn hop_with_an_unknown_host_key_stops_ssh_until_accepted() {
    let p = Pair::new(&[]);
    // known_hosts holds the target's key only.
    trust(&p.env, &[known_line(INTERNAL, &p.target)]);
    let cfg = p.config("");
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 255, "ssh: {err}");
    assert!(err.contains("Host key verification failed"), "{err}");

    let (code, v, err) = validate(&p.env, &cfg, &["target"]);
    assert_eq!(code, 1, "{v:#}\n{err}");
    assert_eq!(v["outcome"]["cause"], "host-key-unknown");
    assert_eq!(codes(&v), ["jump-host-key-unknown"], "{v:#}");
    let f = finding(&v, "jump-host-key-unknown");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains(&p.jump.host_key_fingerprint()),
        "{f}"
    );
    let fix = format!("herossh validate --accept-new -F {} jump", cfg.display());
    assert_eq!(f["fix"], fix);
    let hop = &v["route"]["steps"][0]["report"];
    assert_eq!(hop["server"]["host_key"]["status"], "unknown");
    // ssh stops at the host key: no key was offered to the hop.
    assert_eq!(hop["attempts"]["failed_logins"], 0);
    assert!(
        !p.jump.log().contains("Accepted publickey"),
        "{}",
        p.jump.log()
    );

    run_fix(&p.env, &fix);
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 0, "ssh after the fix: {err}");
    let (code, v, err) = validate(&p.env, &cfg, &["target"]);
    assert_eq!(code, 0, "{v:#}\n{err}");

    // With StrictHostKeyChecking accept-new for the hop, ssh adds its key and goes on.
    let p = Pair::new(&[]);
    trust(&p.env, &[known_line(INTERNAL, &p.target)]);
    let cfg = p.config("  StrictHostKeyChecking accept-new\n");
    let known_hosts = p.env.ssh_dir().join("known_hosts");
    let before = std::fs::read(&known_hosts).unwrap();
    let (code, v, err) = validate(&p.env, &cfg, &["target"]);
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert!(
        !codes(&v).iter().any(|c| c.starts_with("jump-host")),
        "{v:#}"
    );
    // herossh predicts it and leaves the file to ssh.
    assert_eq!(std::fs::read(&known_hosts).unwrap(), before);
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 0, "ssh: {err}");
    assert_ne!(std::fs::read(&known_hosts).unwrap(), before);
}

#[test]
fn dead_hops_cost_one_timeout() {
    let p = Pair::new(&[]);
    let user = p.jump.user();
    // Nothing listens: refused at once, for ssh and for herossh.
    let refused = free_port();
    let text = format!(
        "{}Host target\n  HostName {INTERNAL}\n  Port {}\n  ProxyJump jump\n",
        stanza("jump", refused, user, "jump_key", ""),
        p.target.port()
    );
    let cfg = config(&p.env, &text);
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 255, "ssh: {err}");
    assert!(err.contains("Connection refused"), "{err}");
    let (code, v, err) = validate(&p.env, &cfg, &["target"]);
    assert_eq!(code, 3, "{v:#}\n{err}");
    assert_eq!(v["outcome"]["cause"], "unreachable");
    assert_eq!(codes(&v), ["jump-host-unreachable"], "{v:#}");
    let f = finding(&v, "jump-host-unreachable");
    assert!(f["message"].as_str().unwrap().contains("refused"), "{f}");
    assert_eq!(
        f["fix"],
        format!("herossh validate -F {} jump", cfg.display())
    );

    // A host that accepts and never speaks: one timeout (ssh: its ConnectTimeout).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let text = format!(
        "{}Host target\n  HostName {INTERNAL}\n  Port {}\n  ProxyJump jump\n",
        stanza(
            "jump",
            silent.local_addr().unwrap().port(),
            user,
            "jump_key",
            "  ConnectTimeout 2\n"
        ),
        p.target.port()
    );
    let cfg = config(&p.env, &text);
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 255, "ssh: {err}");
    let mut c = Command::new(herossh_bin());
    p.env.apply(&mut c);
    c.args(["--json", "validate", "-F"])
        .arg(&cfg)
        .args(["--timeout", "2", "target"])
        .stdin(Stdio::null());
    no_tty(&mut c);
    let t = Instant::now();
    let o = c.output().unwrap();
    let took = t.elapsed();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(3), "{v:#}");
    assert_eq!(codes(&v), ["jump-host-unreachable"], "{v:#}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "took {took:?}"
    );
}

#[test]
fn hop_that_does_not_forward_or_cannot_reach_the_target() {
    let p = Pair::new(&["AllowTcpForwarding no"]);
    let cfg = p.config("");
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 255, "ssh: {err}");
    assert!(err.contains("administratively prohibited"), "{err}");
    let (code, v, err) = validate(&p.env, &cfg, &["target"]);
    assert_eq!(code, 1, "{v:#}\n{err}");
    assert_eq!(v["outcome"]["cause"], "forward");
    assert_eq!(codes(&v), ["jump-host-forwarding-refused"], "{v:#}");
    let hop = &v["route"]["steps"][0];
    assert_eq!(hop["report"]["authenticated"], true);
    assert_eq!(hop["forward"]["prohibited"], true);

    // A name the jump host cannot resolve either.
    let p = Pair::new(&[]);
    let user = p.jump.user();
    let text = format!(
        "{}Host target\n  HostName nowhere.internal.invalid\n  Port {}\n  ProxyJump jump\n",
        stanza("jump", p.jump.port(), user, "jump_key", ""),
        p.target.port()
    );
    let cfg = config(&p.env, &text);
    let (code, err) = ssh(&p.env, &cfg, &["target"]);
    assert_eq!(code, 255, "ssh: {err}");
    assert!(err.contains("open failed"), "{err}");
    let (code, v, err) = validate(&p.env, &cfg, &["target"]);
    assert_eq!(code, 3, "{v:#}\n{err}");
    assert_eq!(codes(&v), ["jump-host-cannot-reach"], "{v:#}");
    let f = finding(&v, "jump-host-cannot-reach");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("nowhere.internal.invalid"),
        "{f}"
    );
}

#[test]
fn none_means_direct_and_loops_are_refused() {
    let env = TestEnv::new();
    let target = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "target_key", "ed25519", "");
    target.authorize(&pub_line(&k));
    trust(&env, &[known_line("127.0.0.1", &target)]);
    let user = target.user();
    // First value wins: `ProxyCommand none` makes a later ProxyJump or ProxyCommand
    // inactive, `ProxyJump none` a later ProxyJump.
    for (first, later) in [
        (
            "ProxyCommand none",
            "  ProxyJump nowhere.invalid\n  ProxyCommand false\n",
        ),
        ("ProxyJump none", "  ProxyJump nowhere.invalid\n"),
    ] {
        let cfg = config(
            &env,
            &format!(
                "{}Host *\n{later}",
                stanza(
                    "target",
                    target.port(),
                    user,
                    "target_key",
                    &format!("  {first}\n")
                )
            ),
        );
        let (code, err) = ssh(&env, &cfg, &["target"]);
        assert_eq!(code, 0, "{first}: ssh: {err}");
        let (code, v, err) = validate(&env, &cfg, &["target"]);
        assert_eq!(code, 0, "{first}: {v:#}\n{err}");
        assert_eq!(v["route"]["via"]["kind"], "direct");
    }

    // ssh's own check: the jump host is the host itself.
    let cfg = config(
        &env,
        "Host loop\n  HostName loop.invalid\n  ProxyJump loop.invalid\n",
    );
    let (code, err) = ssh(&env, &cfg, &["loop"]);
    assert_eq!(code, 255, "ssh: {err}");
    assert!(err.contains("jumphost loop via loop.invalid"), "{err}");
    // The config resolver stops on it as ssh does (before any probe).
    let mut c = Command::new(herossh_bin());
    env.apply(&mut c);
    c.args(["validate", "-F"])
        .arg(&cfg)
        .arg("loop")
        .stdin(Stdio::null());
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(out(&o).1, "herossh: jumphost loop via loop.invalid\n");
    // Two stanzas that send each other through each other (ssh would start ssh after ssh).
    let cfg = config(&env, "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n");
    let t = Instant::now();
    let (code, v, err) = validate(&env, &cfg, &["a"]);
    assert_eq!(code, 1, "{v:#}\n{err}");
    assert_eq!(codes(&v), ["jump-host-loop"], "{v:#}");
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn match_exec_runs_with_allow_exec() {
    let env = TestEnv::new();
    let target = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "target_key", "ed25519", "");
    target.authorize(&pub_line(&k));
    trust(&env, &[known_line("127.0.0.1", &target)]);
    // The right port only comes from the `Match exec` block; the stanza's is a dead one.
    let cfg = config(
        &env,
        &format!(
            "Match exec true\n  Port {}\n{}",
            target.port(),
            stanza("target", free_port(), target.user(), "target_key", "")
        ),
    );
    let (code, err) = ssh(&env, &cfg, &["target"]);
    assert_eq!(code, 0, "ssh: {err}");
    let (code, v, err) = validate(&env, &cfg, &["--allow-exec", "target"]);
    assert_eq!(code, 0, "{v:#}\n{err}");
    // Without it the block does not match, and herossh does not say OK.
    let (code, v, _) = validate(&env, &cfg, &["target"]);
    assert_ne!(code, 0, "{v:#}");
    assert_eq!(v["authenticated"], false);
}

#[test]
fn proxycommand_pipes_and_passed_sockets() {
    let env = TestEnv::new();
    let target = Sshd::start(SshdOptions::default());
    let k = keygen(&env, "target_key", "ed25519", "");
    target.authorize(&pub_line(&k));
    trust(&env, &[known_line("127.0.0.1", &target)]);
    // `nc` (netcat-openbsd, installed by scripts/test) as a plain pipe, and with `-F` as
    // the dialer ProxyUseFdpass expects: it passes its connected socket back and exits.
    for (command, fdpass) in [("nc %h %p", "no"), ("nc -F %h %p", "yes")] {
        let cfg = config(
            &env,
            &stanza(
                "target",
                target.port(),
                target.user(),
                "target_key",
                &format!("  ProxyCommand {command}\n  ProxyUseFdpass {fdpass}\n"),
            ),
        );
        let (code, err) = ssh(&env, &cfg, &["target"]);
        assert_eq!(code, 0, "{command}: ssh: {err}");
        let (code, v, err) = validate(&env, &cfg, &["--allow-exec", "target"]);
        assert_eq!(code, 0, "{command}: {v:#}\n{err}\n{}", target.log());
        let step = &v["route"]["steps"][0];
        assert_eq!(step["type"], "proxy-command");
        assert_eq!(
            step["command"],
            command
                .replace("%h", "127.0.0.1")
                .replace("%p", &target.port().to_string())
        );
        assert!(step["runs"].as_u64().unwrap() >= 1, "{step:#}");
        assert_eq!(v["route"]["via"]["fdpass"], fdpass == "yes");
    }
    // A dialer that passes nothing back.
    let cfg = config(
        &env,
        &stanza(
            "target",
            target.port(),
            target.user(),
            "target_key",
            "  ProxyCommand echo no socket here >&2\n  ProxyUseFdpass yes\n",
        ),
    );
    let (code, err) = ssh(&env, &cfg, &["target"]);
    assert_eq!(code, 255, "ssh: {err}");
    assert!(
        err.contains("proxy dialer did not pass back a connection"),
        "{err}"
    );
    let (code, v, err) = validate(&env, &cfg, &["--allow-exec", "target"]);
    assert_eq!(code, 1, "{v:#}\n{err}");
    assert_eq!(codes(&v), ["proxy-command-failed"], "{v:#}");
    let msg = finding(&v, "proxy-command-failed")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("exited with status 0"), "{msg}");
    assert!(msg.contains("it said: no socket here"), "{msg}");
}
