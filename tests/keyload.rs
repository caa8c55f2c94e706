//! Keys as the installed ssh loads them, checked case by case against the real ssh.
//!
//! Every case puts one identity file (made by ssh-keygen, openssl or puttygen, then damaged,
//! re-permissioned or paired as the case says) into a temporary `~/.ssh`, writes a
//! `~/.ssh/config` block for it (`Host h`, IdentitiesOnly, BatchMode, the real sshd's port),
//! authorizes the key's public half on a real sshd, and then asks both sides:
//! - the real `ssh -vv h true` (it reads the test home's config: nss_wrapper gives it the test
//!   home as the passwd entry's home, see tests/support/mod.rs): did it log in, did it send a
//!   publickey packet ("we sent a publickey packet"), what did it print;
//! - `herossh validate h --plan --json`: the identity's `skipped_reason` and `offered_order`.
//!
//! The assertions: the case's documented expectation holds for ssh; herossh says usable
//! (offered, nothing skipped) exactly when ssh logs in and offered exactly when ssh sends
//! something; the finding's quoted ssh line ("(ssh: ...)") is in ssh's output word for word;
//! the full `herossh validate h` exits 0 exactly when ssh logs in; and a printed fix that is
//! not a manual step, run as printed with `sh -c`, makes the real ssh log in.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::sshd::{Sshd, SshdOptions};
use crate::support::{TestEnv, out};
use crate::validate::{Agent, codes, finding, keygen};

/// The sshd all cases of a test talk to: it trusts two user CAs (Ed25519 and RSA).
struct Lab {
    sshd: Sshd,
    ca_dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        let ca_dir = tempfile::tempdir().unwrap();
        for (name, t) in [("ca", "ed25519"), ("rsaca", "rsa")] {
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", t, "-N", "", "-C", name, "-f"])
                    .arg(ca_dir.path().join(name)),
            );
        }
        let trusted = ca_dir.path().join("trusted");
        let mut text = std::fs::read_to_string(ca_dir.path().join("ca.pub")).unwrap();
        text.push_str(&std::fs::read_to_string(ca_dir.path().join("rsaca.pub")).unwrap());
        std::fs::write(&trusted, text).unwrap();
        let sshd = Sshd::start(SshdOptions {
            extra: vec![format!("TrustedUserCAKeys {}", trusted.display())],
            ..Default::default()
        });
        Lab { sshd, ca_dir }
    }

    fn ca(&self, name: &str) -> PathBuf {
        self.ca_dir.path().join(name)
    }

    /// A fresh home with known_hosts for this sshd and `~/.ssh/config`'s `Host h` for `key`.
    fn env(&self) -> TestEnv {
        let env = TestEnv::new();
        let kh = env.ssh_dir().join("known_hosts");
        std::fs::write(&kh, format!("{}\n", self.sshd.known_hosts_line())).unwrap();
        env
    }

    fn config(&self, env: &TestEnv, identity: &Path, extra: &str) {
        let text = format!(
            "Host h\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  IdentitiesOnly yes\n  BatchMode yes\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n{extra}",
            self.sshd.port(),
            self.sshd.user(),
            identity.display()
        );
        std::fs::write(env.ssh_dir().join("config"), text).unwrap();
    }
}

fn run_ok(c: &mut Command) {
    let o = c.stdin(Stdio::null()).output().unwrap();
    assert!(o.status.success(), "{c:?}: {}", out(&o).1);
}

/// What the real ssh did.
struct SshRun {
    ok: bool,
    sent: bool,
    hung: bool,
    stderr: String,
}

/// `ssh -vv h true` in the test home (no agent unless given), killed after 5 s.
fn ssh(env: &TestEnv, agent: Option<&Path>) -> SshRun {
    ssh_as(env, agent, None)
}

fn ssh_as(env: &TestEnv, agent: Option<&Path>, uid: Option<u32>) -> SshRun {
    let mut c = env.program("timeout");
    c.args(["5", "ssh", "-vv", "h", "true"])
        .stdin(Stdio::null());
    if let Some(a) = agent {
        c.env("SSH_AUTH_SOCK", a);
    }
    if let Some(u) = uid {
        std::os::unix::process::CommandExt::uid(&mut c, u);
        std::os::unix::process::CommandExt::gid(&mut c, u);
    }
    let o = c.output().unwrap();
    let stderr = out(&o).1;
    SshRun {
        ok: o.status.success(),
        sent: stderr.contains("we sent a publickey packet"),
        hung: o.status.code() == Some(124),
        stderr,
    }
}

/// `herossh --json validate h ARGS`.
fn validate(
    env: &TestEnv,
    args: &[&str],
    agent: Option<&Path>,
    stdin: Option<&str>,
) -> (i32, Value) {
    let mut c = env.herossh();
    c.args(["--json", "validate", "h", "--timeout", "5"])
        .args(args);
    if let Some(a) = agent {
        c.env("SSH_AUTH_SOCK", a);
    }
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let o = c.output().unwrap();
    let (stdout, stderr) = out(&o);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    (o.status.code().unwrap(), v)
}

/// The plan entry for `path` (the key entry, not a certificate beside it).
fn entry<'a>(v: &'a Value, path: &Path) -> &'a Value {
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["path"] == path.to_str().unwrap() && k["source"] != "certificate")
        .unwrap_or_else(|| panic!("no plan entry for {}: {v:#}", path.display()))
}

fn cert_entry(v: &Value) -> &Value {
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["source"] == "certificate")
        .unwrap_or_else(|| panic!("no certificate in the plan: {v:#}"))
}

/// The ssh line a finding quotes: "... (ssh: LINE)".
fn quoted_ssh_line(f: &Value) -> Option<String> {
    let m = f["message"].as_str()?;
    let i = m.find("(ssh: ")?;
    let rest = &m[i + 6..];
    Some(rest[..rest.rfind(')')?].to_string())
}

/// `ssh-keygen -y` of a key (its public line), before a case damages it.
fn public_line(key: &Path, pass: &str) -> String {
    let o = Command::new("ssh-keygen")
        .args(["-y", "-P", pass, "-f"])
        .arg(key)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ssh-keygen -y {}: {}",
        key.display(),
        out(&o).1
    );
    out(&o).0
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// An openssl command writing `out` (mode 0600 afterwards).
fn openssl(args: &[&str], out_path: &Path) {
    let mut c = Command::new("openssl");
    c.args(args).arg("-out").arg(out_path);
    run_ok(&mut c);
    chmod(out_path, 0o600);
}

/// The outcome of one case, for further checks.
struct Checked {
    plan: Value,
    ssh: SshRun,
}

/// The differential core: herossh's plan against ssh's behaviour for `key`.
fn check(lab: &Lab, env: &TestEnv, key: &Path, code: Option<&str>, logs_in: bool) -> Checked {
    check_with(lab, env, key, code, logs_in, None)
}

fn check_with(
    lab: &Lab,
    env: &TestEnv,
    key: &Path,
    code: Option<&str>,
    logs_in: bool,
    agent: Option<&Path>,
) -> Checked {
    let name = key.file_name().unwrap().to_string_lossy().into_owned();
    let (_, plan) = validate(env, &["--plan"], agent, None);
    let e = entry(&plan, key);
    assert_eq!(
        e["skipped_reason"].as_str(),
        code,
        "{name}: herossh's reason\n{plan:#}"
    );
    let run = ssh(env, agent);
    assert_eq!(
        run.ok,
        logs_in,
        "{name}: ssh's outcome is not the documented one\n{}\n{}",
        run.stderr,
        lab.sshd.log()
    );
    let usable = !e["offered_order"].is_null() && e["skipped_reason"].is_null();
    assert_eq!(
        usable, run.ok,
        "{name}: herossh usable ⇔ ssh logs in\n{plan:#}\n{}",
        run.stderr
    );
    if !run.hung {
        assert_eq!(
            !e["offered_order"].is_null(),
            run.sent,
            "{name}: herossh offered ⇔ ssh sent a publickey packet\n{plan:#}\n{}",
            run.stderr
        );
    }
    if let Some(c) = code
        && let Some(line) = plan["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == c)
            .and_then(quoted_ssh_line)
    {
        assert!(
            run.stderr.contains(&line),
            "{name}: herossh quotes ssh as {line:?}, ssh said:\n{}",
            run.stderr
        );
    }
    if !run.hung {
        let (exit, v) = validate(env, &[], agent, None);
        assert_eq!(
            exit == 0,
            run.ok,
            "{name}: validate's exit ⇔ ssh logs in\n{v:#}"
        );
    }
    Checked { plan, ssh: run }
}

/// Run the fix printed for `code` exactly as printed, then the real ssh must log in and
/// validate must exit 0.
fn fix_makes_ssh_log_in(env: &TestEnv, c: &Checked, code: &str) {
    let fix = finding(&c.plan, code)["fix"]
        .as_str()
        .unwrap_or_else(|| panic!("{code}: no fix\n{:#}", c.plan))
        .to_string();
    assert!(!fix.starts_with("manual:"), "{code}: {fix}");
    // `herossh` in a printed fix is this build.
    let bin_dir = crate::support::herossh_bin()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = env
        .program("sh")
        .arg("-c")
        .arg(&fix)
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{code}: `{fix}` failed: {}", out(&o).1);
    let run = ssh(env, None);
    assert!(
        run.ok,
        "{code}: after `{fix}` ssh still fails:\n{}",
        run.stderr
    );
    let (exit, v) = validate(env, &[], None, None);
    assert_eq!(exit, 0, "{code}: after `{fix}`\n{v:#}");
}

fn assert_manual(c: &Checked, code: &str) {
    let fix = finding(&c.plan, code)["fix"].as_str().unwrap_or_default();
    assert!(fix.starts_with("manual: "), "{code}: {fix}");
}

fn installed_at_least(major: u32, minor: u32) -> bool {
    let o = Command::new("ssh").arg("-V").output().unwrap();
    let v = out(&o).1;
    let num = v.trim_start_matches("OpenSSH_");
    let mut it = num.split(|c: char| !c.is_ascii_digit());
    let ma: u32 = it.next().unwrap().parse().unwrap();
    let mi: u32 = it.next().unwrap().parse().unwrap();
    (ma, mi) >= (major, minor)
}

/// A case: make the key, authorize what it holds, write the config.
fn setup(lab: &Lab, env: &TestEnv, key: &Path, pass: &str) {
    lab.sshd.authorize(&public_line(key, pass));
    lab.config(env, key, "");
}

/// (name, ssh-keygen -t, then `ssh-keygen -p -m` format or "", keep the .pub, expected
/// reason, ssh logs in).
type KeygenCase<'a> = (&'a str, &'a str, &'a str, bool, Option<&'a str>, bool);

/// (name, principals, validity, more ssh-keygen -s arguments, expected reason, what sshd logs).
type CertCase<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    &'a [&'a str],
    &'a str,
    &'a str,
);

#[test]
fn every_key_format_loads_exactly_when_ssh_loads_it() {
    let lab = Lab::new();
    let keygen_cases: &[KeygenCase] = &[
        ("ed_openssh", "ed25519", "", true, None, true),
        ("ed_openssh_nopub", "ed25519", "", false, None, true),
        ("ecdsa_openssh", "ecdsa", "", true, None, true),
        ("rsa_openssh", "rsa", "", true, None, true),
        ("rsa_pem_pub", "rsa", "PEM", true, None, true),
        ("rsa_pem_nopub", "rsa", "PEM", false, None, true),
        ("ec_pem_nopub", "ecdsa", "PEM", false, None, true),
        ("rsa_pkcs8_nopub", "rsa", "PKCS8", false, None, true),
        ("ec_pkcs8_nopub", "ecdsa", "PKCS8", false, None, true),
        // DSA: never offered by ssh ≥ 7.0 (with or without a .pub: without one ssh loads it
        // and then finds "no mutual signature supported").
        (
            "dsa_openssh",
            "dsa",
            "",
            true,
            Some("key-type-disabled"),
            false,
        ),
        (
            "dsa_pem_nopub",
            "dsa",
            "PEM",
            false,
            Some("key-type-disabled"),
            false,
        ),
    ];
    for &(name, t, m, keep_pub, code, logs_in) in keygen_cases {
        let env = lab.env();
        let k = keygen(&env, name, t, "");
        lab.sshd.authorize(&public_line(&k, ""));
        if !m.is_empty() {
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-q", "-p", "-N", "", "-P", "", "-m", m, "-f"])
                    .arg(&k),
            );
        }
        if !keep_pub {
            std::fs::remove_file(format!("{}.pub", k.display())).unwrap();
        }
        lab.config(&env, &k, "");
        check(&lab, &env, &k, code, logs_in);
    }

    // openssl's own forms.
    let ed_pem_ok = installed_at_least(9, 6);
    let openssl_cases: &[(&str, &[&str], Option<&str>, bool)] = &[
        (
            "rsa_traditional",
            &["genrsa", "-traditional", "2048"],
            None,
            true,
        ),
        (
            "rsa_pkcs8",
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ],
            None,
            true,
        ),
        (
            "ec_sec1",
            &["ecparam", "-name", "prime256v1", "-genkey", "-noout"],
            None,
            true,
        ),
        (
            "ec_pkcs8",
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
            ],
            None,
            true,
        ),
        // Ed25519 in PKCS#8: OpenSSH reads it from 9.6 on ("invalid format" before).
        (
            "ed_pkcs8",
            &["genpkey", "-algorithm", "ed25519"],
            if ed_pem_ok {
                None
            } else {
                Some("key-format-unsupported")
            },
            ed_pem_ok,
        ),
        // Under 1024 bits: "Invalid key length" whatever RequiredRSASize says.
        (
            "rsa_512",
            &["genrsa", "-traditional", "512"],
            Some("rsa-key-too-small"),
            false,
        ),
    ];
    for &(name, args, code, logs_in) in openssl_cases {
        let env = lab.env();
        let k = env.ssh_dir().join(name);
        let mut a: Vec<&str> = args.to_vec();
        // genrsa takes the size last; move -out before it.
        let size = (a[0] == "genrsa").then(|| a.pop().unwrap());
        let mut c = Command::new("openssl");
        c.args(&a).arg("-out").arg(&k);
        if let Some(sz) = size {
            c.arg(sz);
        }
        run_ok(&mut c);
        chmod(&k, 0o600);
        if logs_in {
            setup(&lab, &env, &k, "");
        } else {
            lab.config(&env, &k, "");
        }
        let checked = check(&lab, &env, &k, code, logs_in);
        if let Some(code) = code {
            assert_manual(&checked, code);
        }
    }
}

#[test]
fn putty_keys_are_named_and_the_printed_conversion_makes_ssh_log_in() {
    let lab = Lab::new();
    for (name, extra) in [("work.ppk", None), ("old.ppk", Some("version=2"))] {
        let env = lab.env();
        let src = keygen(&env, "source", "ed25519", "");
        lab.sshd.authorize(&public_line(&src, ""));
        let ppk = env.ssh_dir().join(name);
        let mut c = Command::new("puttygen");
        c.arg(&src).args(["-O", "private", "-o"]).arg(&ppk);
        if let Some(p) = extra {
            c.args(["--ppk-param", p]);
        }
        run_ok(&mut c);
        std::fs::remove_file(&src).unwrap();
        std::fs::remove_file(format!("{}.pub", src.display())).unwrap();
        lab.config(&env, &ppk, "");
        let checked = check(&lab, &env, &ppk, Some("putty-private-key"), false);
        let f = finding(&checked.plan, "putty-private-key");
        let stem = name.trim_end_matches(".ppk");
        assert_eq!(
            f["fix"],
            format!(
                "puttygen ~/.ssh/{name} -O private-openssh -o ~/.ssh/{stem} && herossh fix-config --host h -i ~/.ssh/{stem}"
            )
        );
        assert!(checked.ssh.stderr.contains(&format!(
            "Load key \"{}\": error in libcrypto",
            ppk.display()
        )));
        fix_makes_ssh_log_in(&env, &checked, "putty-private-key");
    }
}

#[test]
fn encrypted_keys_need_their_passphrase_and_herossh_decrypts_every_form_ssh_keygen_writes() {
    let lab = Lab::new();
    let pass = "correct horse";
    // (name, how to make it, herossh decrypts it)
    type Make = fn(&TestEnv, &Path, &str);
    let cases: &[(&str, Make, bool)] = &[
        (
            "openssh",
            |env, k, p| {
                let made = keygen(env, "tmp", "ed25519", p);
                std::fs::rename(&made, k).unwrap();
            },
            true,
        ),
        (
            "rsa_pem_aes128",
            |env, k, p| keygen_then(env, k, "rsa", "PEM", p),
            true,
        ),
        (
            "ec_pem_aes128",
            |env, k, p| keygen_then(env, k, "ecdsa", "PEM", p),
            true,
        ),
        (
            "rsa_pkcs8_pbes2",
            |env, k, p| keygen_then(env, k, "rsa", "PKCS8", p),
            true,
        ),
        (
            "rsa_traditional_aes256",
            |_, k, p| {
                openssl(
                    &[
                        "genrsa",
                        "-traditional",
                        "-aes256",
                        "-passout",
                        &format!("pass:{p}"),
                    ],
                    k,
                )
            },
            true,
        ),
        (
            "rsa_traditional_des3",
            |_, k, p| {
                openssl(
                    &[
                        "genrsa",
                        "-traditional",
                        "-des3",
                        "-passout",
                        &format!("pass:{p}"),
                    ],
                    k,
                )
            },
            true,
        ),
        (
            "ec_sec1_aes256",
            |_, k, p| {
                let plain = k.with_extension("plain");
                openssl(
                    &["ecparam", "-name", "prime256v1", "-genkey", "-noout"],
                    &plain,
                );
                openssl(
                    &[
                        "ec",
                        "-in",
                        plain.to_str().unwrap(),
                        "-aes256",
                        "-passout",
                        &format!("pass:{p}"),
                    ],
                    k,
                );
                std::fs::remove_file(plain).unwrap();
            },
            true,
        ),
        (
            "pkcs8_scrypt",
            |_, k, p| {
                let plain = k.with_extension("plain");
                openssl(
                    &[
                        "genpkey",
                        "-algorithm",
                        "RSA",
                        "-pkeyopt",
                        "rsa_keygen_bits:2048",
                    ],
                    &plain,
                );
                openssl(
                    &[
                        "pkcs8",
                        "-topk8",
                        "-scrypt",
                        "-in",
                        plain.to_str().unwrap(),
                        "-passout",
                        &format!("pass:{p}"),
                    ],
                    k,
                );
                std::fs::remove_file(plain).unwrap();
            },
            true,
        ),
        // PBES1 with 3DES: ssh (OpenSSL) reads it, herossh's decoder cannot, and says so.
        (
            "pkcs8_pbes1_3des",
            |_, k, p| {
                let plain = k.with_extension("plain");
                openssl(
                    &[
                        "genpkey",
                        "-algorithm",
                        "RSA",
                        "-pkeyopt",
                        "rsa_keygen_bits:2048",
                    ],
                    &plain,
                );
                openssl(
                    &[
                        "pkcs8",
                        "-topk8",
                        "-v1",
                        "PBE-SHA1-3DES",
                        "-in",
                        plain.to_str().unwrap(),
                        "-passout",
                        &format!("pass:{p}"),
                    ],
                    k,
                );
                std::fs::remove_file(plain).unwrap();
            },
            false,
        ),
    ];
    for &(name, make, decrypts) in cases {
        let env = lab.env();
        let k = env.ssh_dir().join(name);
        make(&env, &k, pass);
        let _ = std::fs::remove_file(format!("{}.pub", k.display()));
        setup(&lab, &env, &k, pass);
        // BatchMode: ssh cannot ask, so it does not use the key; herossh agrees.
        check(&lab, &env, &k, Some("encrypted-not-in-agent"), false);
        // At a terminal ssh asks and logs in (SSH_ASKPASS stands in for the person typing).
        let askpass = env.scratch().join("askpass");
        std::fs::write(&askpass, format!("#!/bin/sh\necho '{pass}'\n")).unwrap();
        chmod(&askpass, 0o700);
        let o = env
            .program("ssh")
            .args(["-o", "BatchMode=no", "h", "true"])
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", ":0")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name}: ssh with the passphrase: {}",
            out(&o).1
        );
        // herossh with the passphrase on stdin, for a user who types it (BatchMode yes would
        // rightly make validate fail: ssh itself could not ask).
        let cfg = env.ssh_dir().join("config");
        let text = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(&cfg, text.replace("  BatchMode yes\n", "")).unwrap();
        let (exit, v) = validate(
            &env,
            &["--passphrase-stdin"],
            None,
            Some(&format!("{pass}\n")),
        );
        if decrypts {
            assert_eq!(exit, 0, "{name}: validate --passphrase-stdin\n{v:#}");
            assert_eq!(v["authenticated"], true);
        } else {
            assert_eq!(exit, 1, "{name}\n{v:#}");
            let m = finding(&v, "encrypted-not-in-agent")["message"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(
                m.contains("herossh cannot decrypt PKCS#8 encrypted with PBES1")
                    && m.contains(&format!("ssh-keygen -p -f ~/.ssh/{name}")),
                "{m}"
            );
        }
        let (_, v) = validate(&env, &["--passphrase-stdin"], None, Some("wrong horse\n"));
        assert!(!v.to_string().contains("wrong horse"));
        // The printed fix, `ssh-add KEY` (the passphrase typed once, into the agent): then
        // ssh logs in in BatchMode through the agent, and validate agrees.
        let agent = Agent::start(&env);
        let (_, plan) = validate(&env, &["--plan"], None, None);
        let fix = finding(&plan, "encrypted-not-in-agent")["fix"]
            .as_str()
            .unwrap()
            .to_string();
        // (a key whose public half ssh cannot know without the passphrase gets its .pub
        // first, or ssh could not match it with the agent's key)
        let expected = if name == "openssh" {
            format!("ssh-add ~/.ssh/{name}")
        } else {
            format!("ssh-keygen -y -f ~/.ssh/{name} > ~/.ssh/{name}.pub && ssh-add ~/.ssh/{name}")
        };
        assert_eq!(fix, expected);
        let o = env
            .program("sh")
            .arg("-c")
            .arg(&fix)
            .env("SSH_AUTH_SOCK", &agent.sock)
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {fix}: {}", out(&o).1);
        let run = ssh(&env, Some(&agent.sock));
        assert!(run.ok, "{name}: {}", run.stderr);
        let (exit, v) = validate(&env, &[], Some(&agent.sock), None);
        assert_eq!(exit, 0, "{name}\n{v:#}");
    }
}

fn keygen_then(env: &TestEnv, k: &Path, t: &str, m: &str, p: &str) {
    let made = keygen(env, "tmp", t, "");
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-p", "-N", p, "-P", "", "-m", m, "-f"])
            .arg(&made),
    );
    std::fs::rename(&made, k).unwrap();
}

/// Damage a key file's bytes.
fn damage(k: &Path, f: impl FnOnce(Vec<u8>) -> Vec<u8>) {
    let b = std::fs::read(k).unwrap();
    std::fs::write(k, f(b)).unwrap();
}

fn text_edit(k: &Path, f: impl FnOnce(String) -> String) {
    damage(k, |b| f(String::from_utf8(b).unwrap()).into_bytes());
}

#[test]
fn damaged_key_files_are_refused_as_ssh_refuses_them_and_the_repairs_work() {
    let lab = Lab::new();
    type Edit = fn(&Path);
    // ssh's own format is strict: every one of these is refused; the repairable ones get a
    // perl repair that the test runs.
    let openssh: &[(&str, Edit, bool)] = &[
        ("crlf", |k| text_edit(k, |t| t.replace('\n', "\r\n")), true),
        (
            "no_final_newline",
            |k| text_edit(k, |t| t.trim_end().to_string()),
            true,
        ),
        (
            "bom",
            |k| damage(k, |b| [b"\xEF\xBB\xBF".as_slice(), &b].concat()),
            true,
        ),
        (
            "leading_blank_line",
            |k| text_edit(k, |t| format!("\n{t}")),
            true,
        ),
        (
            "begin_trailing_space",
            |k| text_edit(k, |t| t.replacen("KEY-----\n", "KEY----- \n", 1)),
            true,
        ),
        (
            "one_line",
            |k| text_edit(k, |t| t.trim_end().replace('\n', " ")),
            true,
        ),
        (
            "footer_mismatch",
            |k| text_edit(k, |t| t.replace("END OPENSSH PRIVATE", "END RSA PRIVATE")),
            true,
        ),
        (
            "utf16",
            |k| {
                damage(k, |b| {
                    let mut v = vec![0xFF, 0xFE];
                    for c in b {
                        v.extend([c, 0]);
                    }
                    v
                })
            },
            true,
        ),
        (
            "truncated",
            |k| damage(k, |b| b[..b.len() / 2].to_vec()),
            false,
        ),
        (
            "base64_damage",
            |k| {
                text_edit(k, |t| {
                    let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
                    lines[2].replace_range(10..11, "*");
                    lines.join("\n") + "\n"
                })
            },
            false,
        ),
    ];
    for &(name, edit, repairable) in openssh {
        let env = lab.env();
        let k = keygen(&env, name, "ed25519", "");
        setup(&lab, &env, &k, "");
        std::fs::remove_file(format!("{}.pub", k.display())).unwrap();
        edit(&k);
        let c = check(&lab, &env, &k, Some("key-invalid-format"), false);
        assert!(
            c.ssh
                .stderr
                .contains(&format!("Load key \"{}\": error in libcrypto", k.display())),
            "{name}: {}",
            c.ssh.stderr
        );
        if repairable {
            fix_makes_ssh_log_in(&env, &c, "key-invalid-format");
            assert_eq!(
                crate::support::mode(&k),
                0o600,
                "{name}: the repair keeps the mode"
            );
        } else {
            assert_manual(&c, "key-invalid-format");
        }
    }

    // OpenSSL's PEM reader forgives most of the same damage; herossh must not refuse what ssh
    // uses.
    let pem: &[(&str, Edit, Option<&str>, bool)] = &[
        (
            "pem_crlf",
            |k| text_edit(k, |t| t.replace('\n', "\r\n")),
            None,
            true,
        ),
        (
            "pem_bom",
            |k| damage(k, |b| [b"\xEF\xBB\xBF".as_slice(), &b].concat()),
            None,
            true,
        ),
        (
            "pem_no_final_newline",
            |k| text_edit(k, |t| t.trim_end().to_string()),
            None,
            true,
        ),
        (
            "pem_text_before",
            |k| text_edit(k, |t| format!("my work key\n\n{t}")),
            None,
            true,
        ),
        (
            "pem_leading_spaces",
            |k| text_edit(k, |t| format!("  {t}")),
            Some("key-invalid-format"),
            false,
        ),
        (
            "pem_one_line",
            |k| text_edit(k, |t| t.trim_end().replace('\n', " ")),
            Some("key-invalid-format"),
            false,
        ),
        (
            "pem_footer_mismatch",
            |k| text_edit(k, |t| t.replace("END RSA PRIVATE", "END PRIVATE")),
            Some("key-invalid-format"),
            false,
        ),
        (
            "pem_truncated",
            |k| damage(k, |b| b[..b.len() / 2].to_vec()),
            Some("key-invalid-format"),
            false,
        ),
    ];
    for &(name, edit, code, logs_in) in pem {
        let env = lab.env();
        let k = keygen(&env, name, "rsa", "");
        setup(&lab, &env, &k, "");
        run_ok(
            Command::new("ssh-keygen")
                .args(["-q", "-p", "-N", "", "-P", "", "-m", "PEM", "-f"])
                .arg(&k),
        );
        std::fs::remove_file(format!("{}.pub", k.display())).unwrap();
        edit(&k);
        let c = check(&lab, &env, &k, code, logs_in);
        if code.is_some() && name != "pem_truncated" {
            fix_makes_ssh_log_in(&env, &c, "key-invalid-format");
        }
    }

    // Not keys at all: a public key in SSH2 form, an empty file.
    for (name, bytes) in [("ssh2_public", None), ("empty", Some(Vec::new()))] {
        let env = lab.env();
        let k = env.ssh_dir().join(name);
        match bytes {
            Some(b) => std::fs::write(&k, b).unwrap(),
            None => {
                let src = keygen(&env, "src", "ed25519", "");
                let o = Command::new("ssh-keygen")
                    .args(["-e", "-f"])
                    .arg(format!("{}.pub", src.display()))
                    .output()
                    .unwrap();
                std::fs::write(&k, o.stdout).unwrap();
            }
        }
        chmod(&k, 0o600);
        lab.config(&env, &k, "");
        let c = check(&lab, &env, &k, Some("key-invalid-format"), false);
        assert_manual(&c, "key-invalid-format");
    }
}

#[test]
fn permissions_owners_and_file_types_as_ssh_checks_them() {
    let lab = Lab::new();
    // sshkey_perm_ok: any group/other bit on a file the user owns.
    for (mode, code) in [
        (0o644, Some("unprotected-private-key")),
        (0o640, Some("unprotected-private-key")),
        (0o604, Some("unprotected-private-key")),
        (0o400, None),
        (0o700, None),
    ] {
        let env = lab.env();
        let k = keygen(&env, &format!("mode_{mode:o}"), "ed25519", "");
        setup(&lab, &env, &k, "");
        chmod(&k, mode);
        let c = check(&lab, &env, &k, code, code.is_none());
        if code.is_some() {
            assert!(c.ssh.stderr.contains(&format!(
                "Permissions 0{mode:o} for '{}' are too open.",
                k.display()
            )));
            assert_eq!(
                finding(&c.plan, "unprotected-private-key")["fix"],
                format!("chmod 600 ~/.ssh/mode_{mode:o}")
            );
            fix_makes_ssh_log_in(&env, &c, "unprotected-private-key");
        }
    }

    // Another user's file is not checked (ssh only checks files the user owns): as root,
    // a 0644 key of nobody's is used.
    let env = lab.env();
    let k = keygen(&env, "nobodys", "ed25519", "");
    setup(&lab, &env, &k, "");
    chmod(&k, 0o644);
    std::os::unix::fs::chown(&k, Some(65534), None).unwrap();
    if is_root() {
        check(&lab, &env, &k, None, true);
    }

    // A directory: "Is a directory" (0700), "bad permissions" (0755).
    for mode in [0o700, 0o755] {
        let env = lab.env();
        let d = env.ssh_dir().join(format!("keydir{mode:o}"));
        std::fs::create_dir(&d).unwrap();
        chmod(&d, mode);
        lab.config(&env, &d, "");
        let c = check(&lab, &env, &d, Some("identity-not-a-file"), false);
        let said = if mode == 0o700 {
            "Is a directory"
        } else {
            "bad permissions"
        };
        assert!(
            c.ssh
                .stderr
                .contains(&format!("Load key \"{}\": {said}", d.display())),
            "{}",
            c.ssh.stderr
        );
        assert_manual(&c, "identity-not-a-file");
    }

    // A FIFO: ssh blocks opening it, before it even connects; herossh answers at once.
    let env = lab.env();
    let fifo = env.ssh_dir().join("pipe");
    let cpath = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) }, 0);
    lab.config(&env, &fifo, "");
    let started = Instant::now();
    let c = check(&lab, &env, &fifo, Some("identity-blocks"), false);
    assert!(
        c.ssh.hung,
        "ssh did not hang on the FIFO:\n{}",
        c.ssh.stderr
    );
    let (exit, _) = validate(&env, &[], None, None);
    assert_eq!(exit, 1);
    assert!(started.elapsed() < Duration::from_secs(30));
    // ssh got as far as the TCP connection and no further.
    assert!(
        !c.ssh.stderr.contains("Remote protocol version"),
        "{}",
        c.ssh.stderr
    );

    // A FIFO where ssh looks for the key's certificate (KEY-cert.pub) hangs it just the same.
    let env = lab.env();
    let k = keygen(&env, "withpipe", "ed25519", "");
    setup(&lab, &env, &k, "");
    let cpath = std::ffi::CString::new(format!("{}-cert.pub", k.display())).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) }, 0);
    let c = check(&lab, &env, &k, Some("identity-blocks"), false);
    assert!(c.ssh.hung, "{}", c.ssh.stderr);
    assert!(
        finding(&c.plan, "identity-blocks")["message"]
            .as_str()
            .unwrap()
            .starts_with("~/.ssh/withpipe-cert.pub is a named pipe"),
        "{:#}",
        c.plan
    );

    // RequiredRSASize: a 1024-bit key under `RequiredRSASize 2048` ("load pubkey ...:
    // Invalid key length", then skipped).
    let env = lab.env();
    let k = env.ssh_dir().join("rsa1024");
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "1024", "-N", "", "-f"])
            .arg(&k),
    );
    lab.sshd.authorize(&public_line(&k, ""));
    lab.config(&env, &k, "  RequiredRSASize 2048\n");
    let c = check(&lab, &env, &k, Some("rsa-key-too-small"), false);
    assert!(c.ssh.stderr.contains(&format!(
        "load pubkey \"{}\": Invalid key length",
        k.display()
    )));
    assert_manual(&c, "rsa-key-too-small");

    // The same key in the agent is ignored before anything is offered ("ignoring ssh-rsa agent
    // key"): listed, never offered, and ssh does not get in.
    let agent = Agent::start(&env);
    agent.add(&env, &k);
    std::fs::write(
        env.ssh_dir().join("config"),
        format!(
            "Host h\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile ~/.ssh/absent\n  BatchMode yes\n  GlobalKnownHostsFile /dev/null\n  RequiredRSASize 2048\n",
            lab.sshd.port(),
            lab.sshd.user()
        ),
    )
    .unwrap();
    let (_, plan) = validate(&env, &["--plan"], Some(&agent.sock), None);
    let agent_entry = plan["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["source"] == "agent")
        .unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(
        agent_entry["skipped_reason"], "rsa-key-too-small",
        "{plan:#}"
    );
    assert_eq!(agent_entry["offered_order"], Value::Null);
    let run = ssh(&env, Some(&agent.sock));
    assert!(!run.ok && !run.sent, "{}", run.stderr);
    assert!(
        run.stderr.contains("ignoring ssh-rsa agent key"),
        "{}",
        run.stderr
    );
}

fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

const NOBODY: u32 = 65534;

/// A key ssh cannot open (another user's, mode 0600) only exists for a user who is not root:
/// herossh and ssh both run as nobody with the test home handed to them.
#[test]
fn another_users_key_is_permission_denied_and_the_fix_hands_it_back() {
    if !is_root() {
        return;
    }
    let lab = Lab::new();
    let env = lab.env();
    env.give_passwd_home_to(NOBODY);
    let k = keygen(&env, "rootowned", "ed25519", "");
    setup(&lab, &env, &k, "");
    let home = env.home();
    for a in home.ancestors().skip(1) {
        if a == Path::new("/") || a == Path::new("/tmp") {
            break;
        }
        let m = std::fs::metadata(a).unwrap().permissions().mode() & 0o7777;
        chmod(a, m | 0o011);
    }
    let mut stack = vec![home.clone()];
    while let Some(p) = stack.pop() {
        if p != k {
            std::os::unix::fs::lchown(&p, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    let bin_dir = tempfile::tempdir().unwrap();
    chmod(bin_dir.path(), 0o755);
    let bin = bin_dir.path().join("herossh");
    if std::fs::hard_link(crate::support::herossh_bin(), &bin).is_err() {
        std::fs::copy(crate::support::herossh_bin(), &bin).unwrap();
    }
    chmod(&bin, 0o755);
    let herossh = |args: &[&str]| {
        let mut c = Command::new(&bin);
        env.apply(&mut c);
        std::os::unix::process::CommandExt::uid(&mut c, NOBODY);
        std::os::unix::process::CommandExt::gid(&mut c, NOBODY);
        c.current_dir(&home)
            .args(["--json", "validate", "h", "--timeout", "5"])
            .args(args);
        let o = c.output().unwrap();
        let v: Value =
            serde_json::from_str(&out(&o).0).unwrap_or_else(|e| panic!("{e}: {:?}", out(&o)));
        (o.status.code().unwrap(), v)
    };
    let (_, plan) = herossh(&["--plan"]);
    assert_eq!(
        entry(&plan, &k)["skipped_reason"],
        "key-permission-denied",
        "{plan:#}"
    );
    // The .pub is readable: ssh still offers the key, then cannot open the private file.
    assert_eq!(entry(&plan, &k)["offered_order"], 1);
    let run = ssh_as(&env, None, Some(NOBODY));
    assert!(!run.ok && run.sent, "{}", run.stderr);
    let f = finding(&plan, "key-permission-denied");
    let line = quoted_ssh_line(f).unwrap();
    assert_eq!(
        line,
        format!("Load key \"{}\": Permission denied", k.display())
    );
    assert!(run.stderr.contains(&line), "{}", run.stderr);
    assert_eq!(
        f["fix"],
        "sudo chown nobody ~/.ssh/rootowned && chmod 600 ~/.ssh/rootowned"
    );
    let (exit, _) = herossh(&[]);
    assert_eq!(exit, 1);
    // The fix, as printed, by an administrator (there is no sudo here: root runs it, as sudo
    // would), then ssh as nobody logs in.
    let fix = f["fix"].as_str().unwrap().trim_start_matches("sudo ");
    let o = env.program("sh").arg("-c").arg(fix).output().unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
    let run = ssh_as(&env, None, Some(NOBODY));
    assert!(run.ok, "{}", run.stderr);
    let (exit, v) = herossh(&[]);
    assert_eq!(exit, 0, "{v:#}");
}

#[test]
fn pub_files_and_agent_keys_as_ssh_pairs_them() {
    let lab = Lab::new();

    // The .pub holds another key (the private key is authorized): ssh offers the .pub's key,
    // is refused, and never tries the private key's own.
    let env = lab.env();
    let k = keygen(&env, "mixed", "ed25519", "");
    let other = keygen(&env, "other", "ed25519", "");
    setup(&lab, &env, &k, "");
    std::fs::copy(
        format!("{}.pub", other.display()),
        format!("{}.pub", k.display()),
    )
    .unwrap();
    let c = check(&lab, &env, &k, Some("pub-mismatch"), false);
    assert_eq!(
        entry(&c.plan, &k)["fingerprint"],
        crate::validate::fingerprint(&other),
        "the plan offers the .pub's key, as ssh does"
    );
    fix_makes_ssh_log_in(&env, &c, "pub-mismatch");

    // The .pub's key is the authorized one: the server takes it and ssh cannot sign.
    let env = lab.env();
    let k = keygen(&env, "mixed2", "ed25519", "");
    let authorized = keygen(&env, "authorized", "ed25519", "");
    lab.sshd.authorize(&public_line(&authorized, ""));
    lab.config(&env, &k, "");
    std::fs::copy(
        format!("{}.pub", authorized.display()),
        format!("{}.pub", k.display()),
    )
    .unwrap();
    let c = check(&lab, &env, &k, Some("pub-mismatch"), false);
    assert!(
        c.ssh.stderr.contains(&format!(
            "private key {} contents do not match public",
            k.display()
        )),
        "{}",
        c.ssh.stderr
    );

    // A damaged .pub is ignored: the key comes from the envelope (OpenSSH format) or from
    // the private key itself (PEM, "Trying private key").
    for m in ["", "PEM"] {
        let env = lab.env();
        let k = keygen(&env, &format!("badpub{m}"), "rsa", "");
        setup(&lab, &env, &k, "");
        if !m.is_empty() {
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-q", "-p", "-N", "", "-P", "", "-m", m, "-f"])
                    .arg(&k),
            );
        }
        std::fs::write(format!("{}.pub", k.display()), "ssh-rsa AAAAjunk\n").unwrap();
        check(&lab, &env, &k, None, true);
    }

    // IdentityFile KEY.pub with the private key only in the agent (a hardware key, 1Password,
    // Secretive): ssh selects the agent key, even with IdentitiesOnly.
    let env = lab.env();
    let agent = Agent::start(&env);
    let k = keygen(&env, "hw", "ed25519", "");
    setup(&lab, &env, &k, "");
    agent.add(&env, &k);
    let hidden = env.scratch().join("hw-private");
    std::fs::rename(&k, &hidden).unwrap();
    let pubfile = PathBuf::from(format!("{}.pub", k.display()));
    lab.config(&env, &pubfile, "");
    let c = check_with(&lab, &env, &pubfile, None, true, Some(&agent.sock));
    assert_eq!(entry(&c.plan, &pubfile)["in_agent"], true);
    // Named without .pub (the file is gone, its .pub remains): the same.
    lab.config(&env, &k, "");
    let c = check_with(&lab, &env, &k, None, true, Some(&agent.sock));
    assert_eq!(entry(&c.plan, &k)["in_agent"], true);
    // No agent: ssh offers the .pub, cannot sign, fails; herossh says why, not "no key".
    lab.config(&env, &pubfile, "");
    let c = check(&lab, &env, &pubfile, Some("identity-is-public-key"), false);
    assert_manual(&c, "identity-is-public-key");
    let (_, v) = validate(&env, &[], None, None);
    assert!(
        !codes(&v).contains(&"no-key-accepted".to_string())
            || finding(&v, "no-key-accepted")["fix"] != "herossh keygen",
        "{v:#}"
    );
    // With the private key back beside it, the fix pins it.
    std::fs::rename(&hidden, &k).unwrap();
    let c = check(&lab, &env, &pubfile, Some("identity-is-public-key"), false);
    assert_eq!(
        finding(&c.plan, "identity-is-public-key")["fix"],
        "herossh fix-config --host h -i ~/.ssh/hw"
    );
    fix_makes_ssh_log_in(&env, &c, "identity-is-public-key");

    // A PEM key without its .pub cannot be matched with the agent (ssh does not know its
    // public half before connecting): with IdentitiesOnly ssh loads the file itself.
    let env = lab.env();
    let agent = Agent::start(&env);
    let k = keygen(&env, "pemagent", "rsa", "");
    setup(&lab, &env, &k, "");
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-p", "-N", "", "-P", "", "-m", "PEM", "-f"])
            .arg(&k),
    );
    agent.add(&env, &k);
    std::fs::remove_file(format!("{}.pub", k.display())).unwrap();
    let c = check_with(&lab, &env, &k, None, true, Some(&agent.sock));
    assert_eq!(entry(&c.plan, &k)["in_agent"], false);
    assert!(
        c.ssh
            .stderr
            .contains(&format!("Trying private key: {}", k.display())),
        "{}",
        c.ssh.stderr
    );
}

/// `ssh-keygen -s CA -I ID [-n PRINCIPALS] [-V WINDOW] [extra] KEY.pub`.
fn sign(ca: &Path, key: &Path, principals: Option<&str>, window: Option<&str>, extra: &[&str]) {
    let mut c = Command::new("ssh-keygen");
    c.arg("-q").arg("-s").arg(ca).args(["-I", "test"]);
    if let Some(p) = principals {
        c.args(["-n", p]);
    }
    if let Some(w) = window {
        c.args(["-V", w]);
    }
    c.args(extra).arg(format!("{}.pub", key.display()));
    run_ok(&mut c);
}

#[test]
fn certificates_are_offered_in_ssh_order_and_checked_before_anything_is_sent() {
    let lab = Lab::new();
    let user = lab.sshd.user().to_string();

    // KEY-cert.pub beside the key (the key itself is not authorized): ssh offers the key,
    // then the certificate, which gets in.
    let env = lab.env();
    let k = keygen(&env, "u", "ed25519", "");
    sign(&lab.ca("ca"), &k, Some(&user), Some("-5m:+1h"), &[]);
    lab.config(&env, &k, "");
    let (_, plan) = validate(&env, &["--plan"], None, None);
    assert_eq!(entry(&plan, &k)["offered_order"], 1, "{plan:#}");
    let ce = cert_entry(&plan);
    assert_eq!(ce["offered_order"], 2, "{plan:#}");
    assert_eq!(ce["skipped_reason"], Value::Null, "{plan:#}");
    assert_eq!(ce["type"], "ssh-ed25519-cert-v01@openssh.com");
    let run = ssh(&env, None);
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stderr.contains(&format!(
        "Offering public key: {} ED25519-CERT",
        k.display()
    )));

    // CertificateFile: first of all; the key named by IdentityFile signs.
    let env = lab.env();
    let k = keygen(&env, "cf", "ed25519", "");
    sign(&lab.ca("ca"), &k, Some(&user), None, &[]);
    let certs = env.ssh_dir().join("certs");
    std::fs::create_dir(&certs).unwrap();
    let cert = certs.join("mine.pub");
    std::fs::rename(format!("{}-cert.pub", k.display()), &cert).unwrap();
    lab.config(&env, &k, &format!("  CertificateFile {}\n", cert.display()));
    let (_, plan) = validate(&env, &["--plan"], None, None);
    let ce = cert_entry(&plan);
    assert_eq!(ce["offered_order"], 1, "{plan:#}");
    assert_eq!(ce["path"], cert.to_str().unwrap());
    assert_eq!(ce["skipped_reason"], Value::Null);
    assert_eq!(entry(&plan, &k)["offered_order"], 2);
    let run = ssh(&env, None);
    assert!(run.ok, "{}", run.stderr);
    // Without a private key for it: ssh offers it, then fails to sign.
    lab.config(
        &env,
        &env.ssh_dir().join("nothing-here"),
        &format!("  CertificateFile {}\n", cert.display()),
    );
    let (_, plan) = validate(&env, &["--plan"], None, None);
    assert_eq!(
        cert_entry(&plan)["skipped_reason"],
        "certificate-no-private-key",
        "{plan:#}"
    );
    let run = ssh(&env, None);
    assert!(!run.ok, "{}", run.stderr);
    assert!(run.stderr.contains(&format!(
        "no separate private key for certificate \"{}\"",
        cert.display()
    )));

    // What the server checks, known beforehand: each refused by the real sshd.
    let cases: &[CertCase] = &[
        (
            "expired",
            Some(&user),
            Some("20200101:20200102"),
            &[],
            "certificate-expired",
            "Certificate invalid: expired",
        ),
        (
            "future",
            Some(&user),
            Some("20990101:20990102"),
            &[],
            "certificate-not-yet-valid",
            "Certificate invalid: not yet valid",
        ),
        (
            "alice",
            Some("alice,bob"),
            None,
            &[],
            "certificate-principal-missing",
            "name is not a listed principal",
        ),
        (
            "noprincipals",
            None,
            None,
            &[],
            "certificate-no-principals",
            "Certificate lacks principal list",
        ),
    ];
    for &(name, principals, window, extra, code, sshd_says) in cases {
        let env = lab.env();
        let k = keygen(&env, name, "ed25519", "");
        sign(&lab.ca("ca"), &k, principals, window, extra);
        lab.config(&env, &k, "");
        let (_, plan) = validate(&env, &["--plan"], None, None);
        let ce = cert_entry(&plan);
        assert_eq!(ce["skipped_reason"], code, "{plan:#}");
        assert_eq!(
            ce["offered_order"], 2,
            "ssh still sends it: the server decides\n{plan:#}"
        );
        let f = finding(&plan, code);
        assert!(
            f["fix"]
                .as_str()
                .unwrap()
                .contains(&format!("ssh-keygen -L -f ~/.ssh/{name}-cert.pub")),
            "{f}"
        );
        let run = ssh(&env, None);
        assert!(!run.ok, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(&format!(
            "Offering public key: {} ED25519-CERT",
            k.display()
        )));
        let log = lab.sshd.log_with(sshd_says);
        assert!(log.contains(sshd_says), "{name}: {log}");
    }

    // A CA signature with ssh-rsa (SHA-1): outside the default CASignatureAlgorithms.
    let env = lab.env();
    let k = keygen(&env, "sha1ca", "ed25519", "");
    sign(&lab.ca("rsaca"), &k, Some(&user), None, &["-t", "ssh-rsa"]);
    lab.config(&env, &k, "");
    let (_, plan) = validate(&env, &["--plan"], None, None);
    assert_eq!(
        cert_entry(&plan)["skipped_reason"],
        "certificate-ca-signature-refused",
        "{plan:#}"
    );
    assert!(!ssh(&env, None).ok);
    let refused = "certificate signature algorithm ssh-rsa: signature algorithm not supported";
    let log = lab.sshd.log_with(refused);
    assert!(log.contains(refused), "{log}");
    // The same CA signing with rsa-sha2-512 gets in.
    sign(&lab.ca("rsaca"), &k, Some(&user), None, &[]);
    let (_, plan) = validate(&env, &["--plan"], None, None);
    assert_eq!(cert_entry(&plan)["skipped_reason"], Value::Null, "{plan:#}");
    assert!(ssh(&env, None).ok);

    // A host certificate beside a user's key: ssh ignores it, and so does the plan.
    let env = lab.env();
    let k = keygen(&env, "hostcert", "ed25519", "");
    sign(&lab.ca("ca"), &k, Some(&user), None, &["-h"]);
    lab.config(&env, &k, "");
    let (_, plan) = validate(&env, &["--plan"], None, None);
    assert_eq!(
        cert_entry(&plan)["skipped_reason"],
        "certificate-not-user",
        "{plan:#}"
    );
    assert_eq!(cert_entry(&plan)["offered_order"], Value::Null);
    let run = ssh(&env, None);
    assert!(
        run.stderr.contains("not a user certificate"),
        "{}",
        run.stderr
    );
}

/// The library's certificate offer against the real sshd: a query that signs nothing, a
/// refusal, and real logins signed by the key (Ed25519, and RSA with rsa-sha2-512).
#[test]
fn cert_auth_offers_certificates_to_a_real_sshd() {
    use herossh::probe::cert_auth::{CertOutcome, CertSigner, offer_certificate};
    use russh::keys::ssh_key::Certificate;
    use std::sync::Arc;

    let lab = Lab::new();
    let user = lab.sshd.user().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mk = |name: &str, t: &str, window: Option<&str>| {
        let k = dir.path().join(name);
        run_ok(
            Command::new("ssh-keygen")
                .args(["-q", "-t", t, "-N", "", "-f"])
                .arg(&k),
        );
        sign(&lab.ca("ca"), &k, Some(&user), window, &[]);
        let cert =
            Certificate::read_file(&PathBuf::from(format!("{}-cert.pub", k.display()))).unwrap();
        let key = russh::keys::load_secret_key(&k, None).unwrap();
        (cert, Arc::new(key))
    };
    let (good, good_key) = mk("good", "ed25519", None);
    let (expired, expired_key) = mk("expired", "ed25519", Some("20200101:20200102"));
    let (rsa, rsa_key) = mk("rsa", "rsa", None);

    let port = lab.sshd.port();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut h = connect_any(port).await;
        assert_eq!(
            offer_certificate(&mut h, &user, &good, None, CertSigner::Query).await,
            CertOutcome::Accepted
        );
        assert!(matches!(
            offer_certificate(&mut h, &user, &expired, None, CertSigner::Key(expired_key)).await,
            CertOutcome::Rejected { .. }
        ));
        assert_eq!(
            offer_certificate(&mut h, &user, &good, None, CertSigner::Key(good_key)).await,
            CertOutcome::LoggedIn
        );
        let mut h = connect_any(port).await;
        let hash = h.best_supported_rsa_hash().await.unwrap().flatten();
        assert_eq!(
            offer_certificate(&mut h, &user, &rsa, hash, CertSigner::Key(rsa_key)).await,
            CertOutcome::LoggedIn
        );
    });
    let log = lab.sshd.log_with("Certificate invalid: expired");
    assert!(log.contains("Accepted certificate ID \"test\""), "{log}");
    assert!(log.contains("Certificate invalid: expired"), "{log}");
    assert!(log.contains("RSA-CERT"), "{log}");
}

/// A russh client that takes any host key (the test's own sshd).
struct AnyHost;

impl russh::client::Handler for AnyHost {
    type Error = russh::Error;
    async fn check_server_key(
        &mut self,
        _: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

async fn connect_any(port: u16) -> russh::client::Handle<AnyHost> {
    russh::client::connect(
        std::sync::Arc::new(russh::client::Config::default()),
        ("127.0.0.1", port),
        AnyHost,
    )
    .await
    .unwrap()
}
