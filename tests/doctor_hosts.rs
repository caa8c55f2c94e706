//! `herossh doctor` over every host the user has: targets found in the ssh config (wildcards,
//! negations, Match blocks, Include) and in the repository's remotes, probed concurrently
//! against REAL sshds; the JSON and JSON-lines shapes; the alias hints; `--fix`, after which
//! the real `ssh -o BatchMode=yes` (reading the test home through nss_wrapper, see
//! support::TestEnv) logs in to every host.
//!
//! Every doctor here runs with `HEROKU_GIT_HOST=git.heroku.invalid`, so the platform's SSH
//! host is `heroku.invalid` (never heroku.com, never the loopback sshds).

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::doctor::local_codes;
use crate::support::sshd::{Sshd, SshdOptions, free_port};
use crate::support::{TestEnv, mode, out, tree_snapshot};
use crate::validate::{codes, keygen, pub_line};

/// `git ARGS` in `dir`; its stdout. The test fails with git's stderr when git does.
pub(crate) fn git(env: &TestEnv, dir: &Path, args: &[&str]) -> String {
    let o = env
        .program("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", out(&o).1);
    out(&o).0
}

fn repo(env: &TestEnv, remotes: &[(&str, &str)]) -> PathBuf {
    let dir = env.home().join("app");
    std::fs::create_dir_all(&dir).unwrap();
    git(env, &dir, &["init", "-q"]);
    for (name, url) in remotes {
        git(env, &dir, &["remote", "add", name, url]);
    }
    dir
}

fn doctor(env: &TestEnv, dir: &Path) -> assert_cmd::Command {
    let mut c = env.herossh();
    c.current_dir(dir)
        .env("HEROKU_GIT_HOST", "git.heroku.invalid");
    c
}

fn doctor_json(env: &TestEnv, dir: &Path, args: &[&str]) -> (i32, Value) {
    let o = doctor(env, dir)
        .arg("--json")
        .arg("doctor")
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = out(&o);
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (o.status.code().unwrap(), v)
}

fn host<'a>(v: &'a Value, label: &str) -> &'a Value {
    v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["label"] == label)
        .unwrap_or_else(|| panic!("no host {label} in {v:#}"))
}

fn labels(v: &Value) -> Vec<String> {
    v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["label"].as_str().unwrap().to_string())
        .collect()
}

/// `~/.ssh/known_hosts` trusting every sshd given.
fn trust_all(env: &TestEnv, sshds: &[&Sshd]) {
    let text: String = sshds
        .iter()
        .map(|s| format!("{}\n", s.known_hosts_line()))
        .collect();
    std::fs::write(env.ssh_dir().join("known_hosts"), text).unwrap();
}

/// The real ssh, reading the test home's ~/.ssh (config, keys, known_hosts) as a user's.
fn ssh_batch(env: &TestEnv, alias: &str) -> std::process::Output {
    env.program("ssh")
        .args(["-o", "BatchMode=yes", alias, "true"])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn targets_come_from_concrete_aliases_includes_and_remotes() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let key = keygen(&env, "id_ed25519", "ed25519", "");
    sshd.authorize(&pub_line(&key));
    trust_all(&env, &[&sshd]);
    let p = sshd.port();
    env.write(
        ".ssh/config",
        format!(
            "Host web web2 !web3 *.corp\n  HostName 127.0.0.1\n  Port {p}\n\
             Host * !web\n  ServerAliveInterval 30\n\
             Include conf.d/*.conf\n\
             Match host special,*.lab\n  User nobody\n\
             Match originalhost elsewhere\n  Include ghost.conf\n\
             Host bastion\n  HostName 127.0.0.1\n  Port {p}\n  Include bastion.d/*\n"
        ),
    );
    env.write(
        ".ssh/conf.d/10-db.conf",
        format!("Host db\n  HostName 127.0.0.1\n  Port {p}\n"),
    );
    // Read only for `elsewhere`, so its alias is never ssh's for the name `ghost`.
    env.write(".ssh/ghost.conf", "Host ghost\n  HostName 127.0.0.1\n");
    // Read only while resolving `bastion`: its `Host` lines apply to bastion alone.
    env.write(
        ".ssh/bastion.d/inner",
        "Host bastion inner-only\n  User root\n",
    );
    let dir = repo(
        &env,
        &[
            (
                "origin",
                &format!("ssh://{}@127.0.0.1:{p}/srv/app.git", sshd.user()),
            ),
            ("mirror", "web:srv/app.git"),
            ("heroku", "git@heroku.com:my-app.git"),
            ("site", "https://github.com/me/site.git"),
        ],
    );
    let (code, v) = doctor_json(&env, &dir, &["--timeout", "5"]);
    assert_eq!(code, 1, "{v:#}"); // heroku.invalid does not resolve
    assert_eq!(
        labels(&v),
        [
            "web",
            "web2",
            "db",
            "bastion",
            &format!("{}@127.0.0.1:{p}", sshd.user()),
            "git@heroku.invalid"
        ],
        "{v:#}"
    );
    for ok in ["web", "web2", "db", "bastion"] {
        assert_eq!(host(&v, ok)["verdict"], "ok", "{ok}: {v:#}");
    }
    assert_eq!(host(&v, "web")["sources"][0], "~/.ssh/config:1");
    // The scp-like remote names the alias `web`: one host, two reasons to check it.
    assert_eq!(host(&v, "web")["sources"][1], "git remote mirror");
    assert_eq!(host(&v, "db")["sources"][0], "~/.ssh/conf.d/10-db.conf:1");
    let heroku = host(&v, "git@heroku.invalid");
    assert_eq!(heroku["sources"][0], "Heroku (a heroku remote)");
    assert_eq!(heroku["verdict"], "unresolved");
    assert_eq!(
        v["notes"],
        serde_json::json!([
            "`special` appears only in a Match line (~/.ssh/config:7), not as a Host alias: not checked (check it with `herossh doctor special`)",
            "`elsewhere` appears only in a Match line (~/.ssh/config:9), not as a Host alias: not checked (check it with `herossh doctor elsewhere`)"
        ])
    );
    assert_eq!(
        local_codes(&v),
        [
            "not-logged-in",
            "no-agent",
            "heroku-ssh-git-ended",
            "remote-uses-https"
        ]
    );
    let stats = &v["stats"];
    assert_eq!(stats["hosts"], 6);
    assert!(stats["connections"].as_u64().unwrap() >= 5, "{stats}");
    assert!(stats["auth_attempts"].as_u64().unwrap() >= 5, "{stats}");
}

#[test]
fn without_heroku_context_heroku_is_not_probed_and_credentials_are_not_a_warning() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let key = keygen(&env, "id_ed25519", "ed25519", "");
    sshd.authorize(&pub_line(&key));
    trust_all(&env, &[&sshd]);
    env.write(
        ".ssh/config",
        format!("Host box\n  HostName 127.0.0.1\n  Port {}\n", sshd.port()),
    );
    let (code, v) = doctor_json(&env, &env.home(), &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(labels(&v), ["box"]);
    assert_eq!(v["local"][0]["code"], "not-logged-in");
    assert_eq!(v["local"][0]["severity"], "ok");
    assert_eq!(v["warnings"], 0);
    assert_eq!(host(&v, "box")["key"], "~/.ssh/id_ed25519");
}

#[test]
fn a_silent_host_does_not_hold_up_the_others() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let key = keygen(&env, "id_ed25519", "ed25519", "");
    sshd.authorize(&pub_line(&key));
    trust_all(&env, &[&sshd]);
    // Accepts TCP connections (the kernel's backlog) and never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let sp = silent.local_addr().unwrap().port();
    let p = sshd.port();
    env.write(
        ".ssh/config",
        format!(
            "Host silent\n  HostName 127.0.0.1\n  Port {sp}\n\
             Host a b c\n  HostName 127.0.0.1\n  Port {p}\n\
             Host refused\n  HostName 127.0.0.1\n  Port {}\n",
            free_port()
        ),
    );
    // The silent host is first in the list: it starts first and must finish last.
    let o = doctor(&env, &env.home())
        .args([
            "doctor",
            "--json-lines",
            "--timeout",
            "4",
            "silent",
            "a",
            "b",
            "c",
            "refused",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    // No terminal: no progress bar, nothing on stderr.
    assert_eq!(stderr, "");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert_eq!(lines[4]["label"], "silent", "{stdout}");
    assert_eq!(lines[4]["verdict"], "timeout");
    let mut first: Vec<(&str, &str)> = lines[..4]
        .iter()
        .map(|l| (l["label"].as_str().unwrap(), l["verdict"].as_str().unwrap()))
        .collect();
    first.sort();
    assert_eq!(
        first,
        [
            ("a", "ok"),
            ("b", "ok"),
            ("c", "ok"),
            ("refused", "refused")
        ]
    );
    // Each line is one host's whole validate report.
    for l in &lines {
        for k in [
            "target",
            "authenticated",
            "server",
            "keys",
            "findings",
            "verdict",
            "sources",
        ] {
            assert!(l.get(k).is_some(), "{k} missing: {l}");
        }
    }
    drop(silent);
}

#[test]
fn the_run_deadline_reports_the_hosts_it_cut_off() {
    let env = TestEnv::new();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("127.0.0.1:{}", silent.local_addr().unwrap().port());
    let refused = format!("127.0.0.1:{}", free_port());
    let (code, v) = doctor_json(
        &env,
        &env.home(),
        &["--timeout", "30", "--deadline", "1", &target, &refused],
    );
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(host(&v, &target)["verdict"], "not-checked");
    assert_eq!(codes(host(&v, &target)), ["not-checked"]);
    assert_eq!(host(&v, &refused)["verdict"], "refused");
    assert_eq!(v["stats"]["deadline_passed"], true);
    assert_eq!(v["stats"]["deadline"], 1);
    drop(silent);
}

#[test]
fn json_document_and_json_lines_carry_the_same_host_reports() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let key = keygen(&env, "id_ed25519", "ed25519", "");
    sshd.authorize(&pub_line(&key));
    trust_all(&env, &[&sshd]);
    env.write(
        ".ssh/config",
        format!(
            "Host one two\n  HostName 127.0.0.1\n  Port {}\n",
            sshd.port()
        ),
    );
    let (code, v) = doctor_json(&env, &env.home(), &[]);
    assert_eq!(code, 0, "{v:#}");
    let keys = |o: &Value| {
        let mut k: Vec<String> = o.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&v),
        [
            "errors", "hosts", "local", "notes", "ok", "stats", "warnings"
        ]
    );
    assert_eq!(
        keys(&v["stats"]),
        [
            "auth_attempts",
            "connections",
            "deadline",
            "deadline_passed",
            "elapsed_ms",
            "hosts",
            "jobs",
            "timeout"
        ]
    );
    assert_eq!(v["stats"]["jobs"], 16);
    assert_eq!(v["stats"]["timeout"], 10);
    for l in v["local"].as_array().unwrap() {
        assert_eq!(keys(l), ["code", "fix", "message", "section", "severity"]);
    }
    let host_keys = [
        "attempts",
        "auth_attempts",
        "authenticated",
        "client",
        "connections",
        "control_master",
        "elapsed_ms",
        "findings",
        "interactive",
        "key",
        "keys",
        "label",
        "negotiation",
        "outcome",
        "route",
        "server",
        "sources",
        "target",
        "user",
        "verdict",
    ];
    let one = host(&v, "one");
    assert_eq!(keys(one), host_keys);
    assert_eq!(
        one["target"],
        format!("{}@one:{}", sshd.user(), sshd.port())
    );
    assert_eq!(one["authenticated"], true);
    assert_eq!(one["connections"], 1);
    assert_eq!(one["auth_attempts"], 2);
    assert_eq!(one["findings"][0]["code"], "authenticated");
    assert_eq!(one["findings"][0]["severity"], "ok");

    let o = doctor(&env, &env.home())
        .args(["doctor", "--json-lines"])
        .output()
        .unwrap();
    let (stdout, _) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert_eq!(keys(l), host_keys);
    }
}

#[test]
fn hosts_from_a_file_or_stdin() {
    let env = TestEnv::new();
    let refused = free_port();
    let list = env.write(
        "inventory",
        format!("# fleet\n\nroot@127.0.0.1:{refused}\n  nobody@127.0.0.1:{refused}\n"),
    );
    let (_, v) = doctor_json(&env, &env.home(), &["--hosts-from", list.to_str().unwrap()]);
    assert_eq!(
        labels(&v),
        [
            format!("root@127.0.0.1:{refused}"),
            format!("nobody@127.0.0.1:{refused}")
        ]
    );
    assert_eq!(
        host(&v, &format!("nobody@127.0.0.1:{refused}"))["sources"][0],
        format!("{}:4", list.display())
    );
    let o = doctor(&env, &env.home())
        .args(["--json", "doctor", "--hosts-from", "-"])
        .write_stdin(format!("me@127.0.0.1:{refused}\n"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(labels(&v), [format!("me@127.0.0.1:{refused}")]);
    assert_eq!(v["hosts"][0]["sources"][0], "stdin:1");
    // A bad entry is a usage error naming it; nothing is probed.
    let bad = env.write("bad", "good.invalid\nno good\n");
    let o = doctor(&env, &env.home())
        .args(["doctor", "--hosts-from", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        out(&o).1.contains(&format!("{}:2", bad.display())),
        "{}",
        out(&o).1
    );
}

#[test]
fn aliases_are_suggested_for_a_host_name_and_for_a_typo() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    // Only the key the `platform` stanza pins is authorized: the bare address fails.
    let key = keygen(&env, "platform_key", "ed25519", "");
    sshd.authorize(&pub_line(&key));
    trust_all(&env, &[&sshd]);
    let p = sshd.port();
    env.write(
        ".ssh/config",
        format!(
            "Host platform\n  HostName 127.0.0.1\n  Port {p}\n  IdentityFile ~/.ssh/platform_key\n\
             Host *\n  IdentitiesOnly yes\n"
        ),
    );
    let direct = format!("127.0.0.1:{p}");
    let (code, v) = doctor_json(&env, &env.home(), &[&direct, "plat"]);
    assert_eq!(code, 1, "{v:#}");
    let h = host(&v, &direct);
    assert_eq!(h["verdict"], "denied", "{h:#}");
    let hint = h["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "use-host-alias")
        .unwrap_or_else(|| panic!("{h:#}"));
    assert_eq!(hint["severity"], "warning");
    assert_eq!(
        hint["message"],
        "127.0.0.1 matches no Host stanza, so ssh does not apply the settings written for `platform` (whose HostName is 127.0.0.1); connect as `platform` instead"
    );
    let h = host(&v, "plat");
    assert_eq!(h["verdict"], "unresolved");
    assert_eq!(codes(h), ["dns-failure", "did-you-mean-alias"]);
    assert_eq!(
        h["findings"][1]["message"],
        "no Host stanza is named `plat` and the name does not resolve; did you mean `platform`?"
    );
    // A name that is not close to any alias gets no suggestion.
    let (_, v) = doctor_json(&env, &env.home(), &["zzz.invalid"]);
    assert_eq!(codes(&v["hosts"][0]), ["dns-failure"]);
}

#[test]
fn remotes_are_read_as_git_reads_them() {
    let env = TestEnv::new();
    let dir = repo(
        &env,
        &[
            ("origin", "ssh://git@github.com:me/app.git"),
            ("heroku", "git@heroku.com:my-app.git"),
            ("alice", "alice@github.com:me/app.git"),
            ("site", "https://github.com/me/site.git"),
            ("local", "../other:repo"),
        ],
    );
    git(
        &env,
        &dir,
        &["config", "core.sshCommand", "ssh -i ~/.ssh/work"],
    );
    let (_, v) = doctor_json(&env, &dir, &["--offline"]);
    let remote_findings: Vec<&Value> = v["local"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["section"] == "git-remotes")
        .collect();
    let got: Vec<(&str, &str, &str)> = remote_findings
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["fix"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("git-ssh-command", "ok", ""),
            (
                "malformed-ssh-url",
                "error",
                "git remote set-url origin git@github.com:me/app.git"
            ),
            (
                "heroku-ssh-git-ended",
                "error",
                "git remote set-url heroku https://git.heroku.com/my-app.git && herossh git-credential install"
            ),
            (
                "wrong-ssh-user-for-git-host",
                "warning",
                "git remote set-url alice git@github.com:me/app.git"
            ),
            (
                "remote-uses-https",
                "ok",
                "to use SSH: git remote set-url site git@github.com:me/site.git"
            ),
        ],
        "{v:#}"
    );
    assert!(
        remote_findings[1]["message"]
            .as_str()
            .unwrap()
            .contains("git asks ssh for the host `git@github.com:me`"),
        "{v:#}"
    );
    // git itself reads the malformed URL that way: the host ssh would be given.
    let diag = git(
        &env,
        &dir,
        &[
            "fetch-pack",
            "--diag-url",
            "ssh://git@github.com:me/app.git",
        ],
    );
    assert!(
        diag.contains("Diag: userandhost=git@github.com:me\n"),
        "{diag}"
    );
    // The printed fix runs as printed and gives the URL git reads as meant.
    git(
        &env,
        &dir,
        &["remote", "set-url", "origin", "git@github.com:me/app.git"],
    );
    let diag = git(
        &env,
        &dir,
        &["fetch-pack", "--diag-url", "git@github.com:me/app.git"],
    );
    assert!(
        diag.contains("Diag: userandhost=git@github.com\n"),
        "{diag}"
    );
    assert!(diag.contains("Diag: path=me/app.git\n"), "{diag}");
}

#[test]
fn insteadof_rewrites_are_followed_and_named() {
    let env = TestEnv::new();
    let dir = repo(&env, &[("origin", "work:team/app.git")]);
    git(
        &env,
        &dir,
        &[
            "config",
            "url.ssh://git@gitlab.example.invalid:team/.insteadOf",
            "work:team/",
        ],
    );
    let (_, v) = doctor_json(&env, &dir, &["--offline"]);
    let f = v["local"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "malformed-ssh-url")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("ssh://git@gitlab.example.invalid:team/app.git (rewritten from work:team/app.git by url.*.insteadOf)"),
        "{f}"
    );
    // Changing the remote would not change the rule: a manual step.
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .starts_with("change the url.*.insteadOf rule"),
        "{f}"
    );
}

/// A home with four broken hosts and a broken remote; returns the sshds (kept running) and
/// the repository.
struct Broken {
    env: TestEnv,
    sshds: Vec<Sshd>,
    repo: PathBuf,
}

fn broken_home() -> Broken {
    let env = TestEnv::new();
    // `open`: the only key it takes is ~/.ssh/id_ed25519, whose mode is 0644.
    let open = Sshd::start(SshdOptions::default());
    let key = keygen(&env, "id_ed25519", "ed25519", "");
    open.authorize(&pub_line(&key));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    // `pinned`: two wrong keys come before the right one and the server allows 2 attempts.
    let pinned = Sshd::start(SshdOptions {
        max_auth_tries: Some(2),
        ..Default::default()
    });
    let wrong1 = keygen(&env, "old_work", "ed25519", "");
    let wrong2 = keygen(&env, "old_laptop", "ed25519", "");
    let right = keygen(&env, "deploy", "ed25519", "");
    pinned.authorize(&pub_line(&right));
    // `newkey`: never connected to, so its host key is unknown.
    let newkey = Sshd::start(SshdOptions::default());
    newkey.authorize(&pub_line(&key));
    trust_all(&env, &[&open, &pinned]);
    env.write(
        ".ssh/config",
        format!(
            "Host open\n  HostName 127.0.0.1\n  Port {}\n\n\
             Host pinned\n  HostName 127.0.0.1\n  Port {}\n  IdentityFile {}\n  IdentityFile {}\n  IdentityFile {}\n\n\
             Host newkey\n  HostName 127.0.0.1\n  Port {}\n",
            open.port(),
            pinned.port(),
            wrong1.display(),
            wrong2.display(),
            right.display(),
            newkey.port()
        ),
    );
    let repo = repo(&env, &[("origin", "ssh://root@open:srv/app.git")]);
    Broken {
        env,
        sshds: vec![open, pinned, newkey],
        repo,
    }
}

#[test]
fn fix_yes_repairs_every_host_and_then_ssh_logs_in() {
    let b = broken_home();
    let env = &b.env;
    for alias in ["open", "pinned", "newkey"] {
        let o = ssh_batch(env, alias);
        assert_eq!(o.status.code(), Some(255), "{alias} works before the fix");
    }
    let (code, v) = doctor_json(env, &b.repo, &["--fix", "-y", "--timeout", "5"]);
    assert_eq!(code, 0, "{v:#}");
    let fixes: Vec<(&str, &str)> = v["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["finding"].as_str().unwrap(),
                f["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fixes,
        [
            ("unprotected-private-key", "applied"),
            ("too-many-auth-failures", "applied"),
            ("malformed-ssh-url", "applied"),
            ("host-key-unknown", "applied"),
        ],
        "{v:#}"
    );
    // Each fix is argv, printed as run.
    let chmod = &v["fixes"][0];
    let key = env.ssh_dir().join("id_ed25519");
    assert_eq!(
        chmod["argv"],
        serde_json::json!([["chmod", "600", key.to_str().unwrap()]])
    );
    assert_eq!(chmod["command"], format!("chmod 600 {}", key.display()));
    let pin = v["fixes"][1]["argv"][0].as_array().unwrap();
    assert_eq!(
        pin[1..],
        [
            "fix-config",
            "--host",
            "pinned",
            "-i",
            env.ssh_dir().join("deploy").to_str().unwrap()
        ]
    );
    assert_eq!(mode(&key), 0o600);
    assert_eq!(
        git(env, &b.repo, &["remote", "get-url", "origin"]),
        "root@open:srv/app.git\n"
    );
    let changes: Vec<(&str, &str, &str)> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["target"].as_str().unwrap(),
                c["before"].as_str().unwrap(),
                c["after"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("open", "denied", "ok"),
            ("pinned", "denied", "ok"),
            ("newkey", "denied", "ok")
        ]
    );
    assert_eq!(v["errors"], 0, "{v:#}");
    for alias in ["open", "pinned", "newkey", "root@open"] {
        let o = ssh_batch(env, alias);
        assert!(o.status.success(), "{alias}: {}", out(&o).1);
    }
    drop(b.sshds);
}

#[test]
fn fix_without_a_terminal_lists_and_changes_nothing() {
    let b = broken_home();
    let env = &b.env;
    let before = tree_snapshot(&env.home());
    let o = doctor(env, &b.repo)
        .args(["doctor", "--fix", "--timeout", "5"])
        .output()
        .unwrap();
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(tree_snapshot(&env.home()), before, "{stdout}");
    let key = env.ssh_dir().join("id_ed25519");
    assert!(
        stdout.contains(&format!(
            "== Fixes doctor would run (nothing changed: no terminal to confirm; -y applies them)\n chmod 600 {}\n",
            key.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(" git remote set-url origin root@open:srv/app.git\n"),
        "{stdout}"
    );
    let (_, v) = doctor_json(env, &b.repo, &["--fix", "--timeout", "5"]);
    assert_eq!(tree_snapshot(&env.home()), before);
    let results: Vec<&str> = v["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["not-run"; 4], "{v:#}");
    assert_eq!(v["changes"], serde_json::json!([]));
    drop(b.sshds);
}

/// Our reading of remote URLs against git's own (`git fetch-pack --diag-url`, which prints
/// what git hands to ssh): the same user@host, port and path for every URL form git knows.
#[test]
fn git_urls_are_read_exactly_as_git_reads_them() {
    use herossh::git::url::{Transport, classify};
    let env = TestEnv::new();
    let dir = repo(&env, &[]);
    let urls = [
        "git@github.com:owner/repo.git",
        "ssh://git@github.com:owner/repo.git",
        "ssh://git@ssh.github.com:443/owner/repo.git",
        "ssh://host/~user/repo",
        "host:~user/repo",
        "host:/~user/repo",
        "host:path",
        "host:",
        "git+ssh://h/p",
        "ssh+git://u@h:22/p",
        "ssh://[::1]:22/x",
        "ssh://git@[::1]:2222/p",
        "git@[::1]:x",
        "[git@::1]:x",
        "[::1]:x",
        "[host:22]:path",
        "ssh://host:/p",
        "ssh://host:99999/p",
        "ssh://u%40x@h/p",
        "ssh://a@b@c/p",
        "alice@bitbucket.org:team/repo.git",
        "ssh://h:+22/p",
    ];
    for url in urls {
        let diag = git(&env, &dir, &["fetch-pack", "--diag-url", url]);
        let field = |name: &str| {
            diag.lines()
                .find_map(|l| l.strip_prefix(&format!("Diag: {name}=")))
                .unwrap_or_else(|| panic!("{url}: no {name} in {diag}"))
                .to_string()
        };
        assert_eq!(field("protocol"), "ssh", "{url}");
        let Transport::Ssh(s) = classify(url) else {
            panic!("{url}: not ssh to us");
        };
        assert_eq!(s.user_and_host, field("userandhost"), "{url}");
        assert_eq!(
            s.port.clone().unwrap_or_else(|| "NONE".into()),
            field("port"),
            "{url}"
        );
        assert_eq!(s.path.clone().unwrap_or_default(), field("path"), "{url}");
    }
    for url in ["./a:b", "dir/x:y", "/srv/x.git", "file:///srv/x"] {
        let diag = git(&env, &dir, &["fetch-pack", "--diag-url", url]);
        assert!(diag.contains("Diag: protocol=file\n"), "{url}: {diag}");
        assert_eq!(classify(url), Transport::Local, "{url}");
    }
}

/// On a terminal, `--fix` asks before each fix (No is the default) and runs only the ones
/// answered yes; the report then shows each host before → after.
#[test]
fn fix_on_a_terminal_asks_for_each_fix() {
    use crate::support::pty::Pty;
    let b = broken_home();
    let env = &b.env;
    let config_before = std::fs::read(env.ssh_dir().join("config")).unwrap();
    let known_before = std::fs::read(env.ssh_dir().join("known_hosts")).unwrap();
    let mut cmd = std::process::Command::new(crate::support::herossh_bin());
    env.apply(&mut cmd);
    cmd.current_dir(&b.repo)
        .env("HEROKU_GIT_HOST", "git.heroku.invalid")
        .args(["--no-color", "doctor", "--fix", "--timeout", "5"]);
    let mut pty = Pty::spawn(cmd);
    let key = env.ssh_dir().join("id_ed25519");
    pty.expect(&format!("Run `chmod 600 {}`? [y/N]", key.display()));
    pty.send("y\r");
    pty.expect("fix-config --host pinned -i ");
    pty.expect("? [y/N]");
    pty.send("\r");
    pty.expect("Run `git remote set-url origin root@open:srv/app.git`? [y/N]");
    pty.send("n\r");
    pty.expect("validate --accept-new ");
    pty.expect("? [y/N]");
    pty.send("n\r");
    pty.expect("== Before → after");
    let (status, rest, _) = pty.finish();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(rest.contains(" open    denied → ok\n"), "{rest}");
    assert!(rest.contains(" pinned  denied → denied\n"), "{rest}");
    assert!(rest.contains(" newkey  denied → ok\n"), "{rest}");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(
        std::fs::read(env.ssh_dir().join("config")).unwrap(),
        config_before
    );
    assert_eq!(
        std::fs::read(env.ssh_dir().join("known_hosts")).unwrap(),
        known_before
    );
    assert_eq!(
        git(env, &b.repo, &["remote", "get-url", "origin"]),
        "ssh://root@open:srv/app.git\n"
    );
    drop(b.sshds);
}

/// A progress bar with done/total and the hosts still running, on a terminal only.
#[test]
fn progress_shows_on_a_terminal_with_the_pending_hosts() {
    use crate::support::pty::Pty;
    let env = TestEnv::new();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let slow = format!("127.0.0.1:{}", silent.local_addr().unwrap().port());
    let refused = format!("127.0.0.1:{}", free_port());
    let mut cmd = std::process::Command::new(crate::support::herossh_bin());
    env.apply(&mut cmd);
    cmd.current_dir(env.home())
        .env("HEROKU_GIT_HOST", "git.heroku.invalid")
        .args(["--no-color", "doctor", "--timeout", "3", &slow, &refused]);
    let mut pty = Pty::spawn(cmd);
    pty.expect(&format!("1/2 hosts waiting for {slow}"));
    let (status, _, _) = pty.finish();
    assert_eq!(status.code(), Some(1));
    drop(silent);
}

/// The pin itself is wrong: `IdentitiesOnly yes` with a key the server does not take, while
/// the right key sits in ~/.ssh. Only a probe that also asks about the keys ssh would not
/// offer can name the key to pin (issue 12); doctor then runs that fix-config like any other.
#[test]
fn fix_pins_the_right_key_on_disk_when_a_wrong_one_is_pinned() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let wrong = keygen(&env, "old_work", "ed25519", "");
    let right = keygen(&env, "work", "ed25519", "");
    sshd.authorize(&pub_line(&right));
    trust_all(&env, &[&sshd]);
    env.write(
        ".ssh/config",
        format!(
            "Host work\n  HostName 127.0.0.1\n  Port {}\n  IdentityFile {}\n  IdentitiesOnly yes\n",
            sshd.port(),
            wrong.display()
        ),
    );
    assert_eq!(ssh_batch(&env, "work").status.code(), Some(255));
    let (code, v) = doctor_json(&env, &env.home(), &["--fix", "-y"]);
    assert_eq!(code, 0, "{v:#}");
    let pin = v["fixes"][0]["argv"][0].as_array().unwrap();
    assert_eq!(
        pin[1..],
        [
            "fix-config",
            "--host",
            "work",
            "-i",
            right.to_str().unwrap()
        ]
    );
    let o = ssh_batch(&env, "work");
    assert!(o.status.success(), "{}", out(&o).1);
}
