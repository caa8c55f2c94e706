//! `herossh doctor`: local checks offline, and the probes of the platform host and the
//! repository's SSH remotes against the real sshd, with the fake Platform API.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::doctor_hosts::git;
use crate::support::fake_api::FakeApi;
use crate::support::sshd::{Sshd, SshdOptions};
use crate::support::{TestEnv, out};
use crate::validate::{Agent, codes, finding, keygen, pub_line, trust};

/// The codes of the local checks in a `doctor --json` document.
pub(crate) fn local_codes(v: &Value) -> Vec<String> {
    v["local"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn local<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["local"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {v:#}"))
}

fn doctor_json(env: &TestEnv, dir: &std::path::Path, args: &[&str]) -> (i32, Value) {
    let o = env
        .herossh()
        .current_dir(dir)
        .arg("--json")
        .arg("doctor")
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = out(&o);
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (o.status.code().unwrap(), v)
}

#[test]
fn offline_doctor_reports_every_local_problem_with_its_fix() {
    let env = TestEnv::new();
    let key = keygen(&env, "id_ed25519", "ed25519", "");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cfg = env.write(".ssh/config", "Host *\n  IdentitiesOnly yes\n");
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(env.ssh_dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let repo = env.home().join("app");
    std::fs::create_dir_all(&repo).unwrap();
    git(&env, &repo, &["init", "-q"]);
    git(
        &env,
        &repo,
        &["remote", "add", "heroku", "git@heroku.com:my-app.git"],
    );
    git(
        &env,
        &repo,
        &["remote", "add", "origin", "https://github.com/me/app.git"],
    );

    let (code, v) = doctor_json(&env, &repo, &["--offline"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(
        local_codes(&v),
        [
            "not-logged-in",
            "no-agent",
            "ssh-dir-permissions",
            "config-permissions",
            "unprotected-private-key",
            "heroku-ssh-git-ended",
            "remote-uses-https",
            "offline",
        ]
    );
    // A heroku remote is Heroku context: missing credentials matter.
    assert_eq!(local(&v, "not-logged-in")["severity"], "warning");
    assert_eq!(local(&v, "ssh-dir-permissions")["fix"], "chmod 700 ~/.ssh");
    assert_eq!(
        local(&v, "config-permissions")["fix"],
        "chmod 600 ~/.ssh/config"
    );
    assert_eq!(
        local(&v, "unprotected-private-key")["fix"],
        "chmod 600 ~/.ssh/id_ed25519"
    );
    assert_eq!(
        local(&v, "heroku-ssh-git-ended")["fix"],
        "git remote set-url heroku https://git.heroku.com/my-app.git && herossh git-credential install"
    );
    assert_eq!(local(&v, "remote-uses-https")["severity"], "ok");
    assert!(
        local(&v, "offline")["message"]
            .as_str()
            .unwrap()
            .contains("git@127.0.0.1"),
        "{v:#}"
    );
    assert_eq!(v["hosts"], Value::Array(vec![]));
    assert_eq!(v["errors"], 3);
}

#[test]
fn clean_home_outside_a_repo_is_quiet_offline() {
    let env = TestEnv::new();
    keygen(&env, "id_ed25519", "ed25519", "");
    let o = env
        .herossh()
        .args(["doctor", "--offline"])
        .output()
        .unwrap();
    let (stdout, _) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("== ~/.ssh\n ✓ no problems\n"), "{stdout}");
    assert!(
        stdout.contains("== Git remotes\n ✓ no problems\n"),
        "{stdout}"
    );
    // No Heroku context: no credentials is not a warning; --offline is the only one.
    assert!(
        stdout.contains(" ✓ not-logged-in: no Heroku credentials (HEROKU_API_KEY, keychain or ~/.netrc): not needed, nothing here uses Heroku\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("0 error(s), 1 warning(s)\n"), "{stdout}");
}

#[test]
fn doctor_probes_the_platform_host_and_the_repos_ssh_remote() {
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions::default());
    let api = FakeApi::start();
    api.add_token("tok-doctor", "dev@example.com");
    let key = keygen(&env, "id_ed25519", "ed25519", "");
    sshd.authorize(&pub_line(&key));
    trust(&env, &sshd);
    // The fake API's host is 127.0.0.1, so the platform's SSH host is 127.0.0.1 too; the
    // config points it at the test sshd's port.
    let cfg = env.write("cfg", format!("Host 127.0.0.1\n  Port {}\n", sshd.port()));
    let repo = env.home().join("app");
    std::fs::create_dir_all(&repo).unwrap();
    git(&env, &repo, &["init", "-q"]);
    git(
        &env,
        &repo,
        &[
            "remote",
            "add",
            "origin",
            &format!(
                "ssh://{}@127.0.0.1:{}/srv/app.git",
                sshd.user(),
                sshd.port()
            ),
        ],
    );
    let o = env
        .herossh()
        .current_dir(&repo)
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_API_KEY", "tok-doctor")
        .args(["--json", "doctor", "-F"])
        .arg(&cfg)
        .output()
        .unwrap();
    let (stdout, stderr) = out(&o);
    assert!(!stdout.contains("tok-doctor") && !stderr.contains("tok-doctor"));
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(o.status.code(), Some(1), "{v:#}");
    let hosts = v["hosts"].as_array().unwrap();
    // The config's alias `127.0.0.1` and the remote `ssh://USER@127.0.0.1:PORT/...` are the
    // same connection, checked once; the platform's host comes with the credentials.
    let labels: Vec<&str> = hosts.iter().map(|h| h["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["127.0.0.1", "git@127.0.0.1"], "{v:#}");
    let (own, platform) = (&hosts[0], &hosts[1]);
    assert_eq!(
        own["sources"],
        serde_json::json!(["~/cfg:1", "git remote origin"])
    );
    assert_eq!(
        platform["sources"],
        serde_json::json!(["Heroku (credentials)"])
    );
    // git@platform: the key is not on the account and the server refuses user git.
    assert_eq!(platform["target"], format!("git@127.0.0.1:{}", sshd.port()));
    assert_eq!(platform["authenticated"], false);
    assert_eq!(platform["verdict"], "denied", "{platform:#}");
    assert_eq!(platform["server"]["host_key"]["known"], true);
    assert_eq!(
        finding(platform, "key-not-on-account")["fix"],
        "herossh keys add ~/.ssh/id_ed25519.pub"
    );
    // The repository's own SSH remote authenticates.
    assert_eq!(
        own["target"],
        format!("{}@127.0.0.1:{}", sshd.user(), sshd.port())
    );
    assert_eq!(own["authenticated"], true);
    assert_eq!(own["verdict"], "ok", "{own:#}");
    assert_eq!(codes(own), ["authenticated"]);
    assert!(local_codes(&v).contains(&"logged-in".to_string()));
    assert_eq!(api.request_lines(), ["GET /account/keys"]);
}

#[test]
fn no_key_in_ssh_dir_nor_in_the_agent_is_said_with_its_fix() {
    let env = TestEnv::new();
    // No ~/.ssh at all, no agent.
    let (code, v) = doctor_json(&env, &env.home(), &["--offline"]);
    let f = local(&v, "no-ssh-dir");
    assert_eq!(f["severity"], "warning", "{v:#}");
    assert_eq!(
        f["message"],
        "~/.ssh does not exist and no ssh-agent holds a key: ssh has no key to offer unless \
         the config names one elsewhere (IdentityFile)",
        "{v:#}"
    );
    assert_eq!(f["fix"], "herossh keygen", "{v:#}");
    assert_eq!(code, 0, "a warning: {v:#}");
    // An empty ~/.ssh, no agent.
    std::fs::create_dir_all(env.ssh_dir()).unwrap();
    std::fs::set_permissions(env.ssh_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    env.write(".ssh/config", "Host *\n  ServerAliveInterval 30\n");
    let (code, v) = doctor_json(&env, &env.home(), &["--offline"]);
    let f = local(&v, "no-private-key");
    assert_eq!(f["severity"], "warning", "{v:#}");
    assert_eq!(
        f["message"],
        "no private key in ~/.ssh and none in an ssh-agent: ssh has no key to offer unless \
         the config names one elsewhere (IdentityFile)",
        "{v:#}"
    );
    assert_eq!(f["fix"], "herossh keygen", "{v:#}");
    assert_eq!(code, 0, "a warning: {v:#}");

    // The real ssh agrees: it offers no key at all. The fix, run as printed (on a terminal,
    // taking the defaults), gives it one that the server then takes.
    let sshd = Sshd::start(SshdOptions::default());
    let kh = trust(&env, &sshd);
    let real_ssh = || {
        env.program("ssh")
            .args(["-v", "-o", "BatchMode=yes", "-o"])
            .arg(format!("UserKnownHostsFile={}", kh.display()))
            .args(["-o", "GlobalKnownHostsFile=/dev/null", "-p"])
            .arg(sshd.port().to_string())
            .arg(format!("{}@127.0.0.1", sshd.user()))
            .arg("true")
            .env_remove("SSH_AUTH_SOCK")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let o = real_ssh();
    let (_, err) = out(&o);
    assert_eq!(o.status.code(), Some(255), "{err}");
    assert!(err.contains("Permission denied (publickey)"), "{err}");
    assert!(!err.contains("Offering public key"), "{err}");
    let fix = f["fix"].as_str().unwrap();
    let argv: Vec<&str> = fix.split(' ').collect();
    assert_eq!(argv[0], "herossh", "{fix}");
    let mut pty = crate::keygen::herossh_on_pty(&env, &argv[1..]);
    pty.expect("Enter file in which to save the key (~/.ssh/id_rsa):");
    pty.send("\r");
    pty.expect("Enter passphrase (empty for no passphrase):");
    pty.send_hidden("\r");
    pty.expect("Enter same passphrase again:");
    pty.send_hidden("\r");
    let (status, _, transcript) = pty.finish();
    assert!(status.success(), "{transcript}");
    let made = env.ssh_dir().join("id_rsa");
    sshd.authorize(&pub_line(&made));
    let o = real_ssh();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o).1);
    let (_, v) = doctor_json(&env, &env.home(), &["--offline"]);
    assert!(
        !local_codes(&v).contains(&"no-private-key".to_string()),
        "{v:#}"
    );
    std::fs::remove_file(&made).unwrap();
    std::fs::remove_file(env.ssh_dir().join("id_rsa.pub")).unwrap();

    // The key lives only in an agent (its file elsewhere): ssh offers it, nothing to say.
    let key = keygen(&env, "id_ed25519", "ed25519", "");
    let away = env.scratch().join("away_key");
    std::fs::rename(&key, &away).unwrap();
    std::fs::remove_file(format!("{}.pub", key.display())).unwrap();
    let agent = Agent::start(&env);
    agent.add(&env, &away);
    let with_agent = || {
        let o = env
            .herossh()
            .env("SSH_AUTH_SOCK", &agent.sock)
            .args(["--json", "doctor", "--offline"])
            .output()
            .unwrap();
        serde_json::from_str::<Value>(&out(&o).0).unwrap()
    };
    let v = with_agent();
    assert!(local_codes(&v).contains(&"agent-keys".to_string()), "{v:#}");
    assert!(
        !local_codes(&v).contains(&"no-private-key".to_string()),
        "{v:#}"
    );
    // Nor without a ~/.ssh at all, as long as the agent holds a key.
    let parked = env.scratch().join("parked-ssh");
    std::fs::rename(env.ssh_dir(), &parked).unwrap();
    let v = with_agent();
    let codes = local_codes(&v);
    assert!(
        !codes.contains(&"no-ssh-dir".to_string())
            && !codes.contains(&"no-private-key".to_string()),
        "{v:#}"
    );
    std::fs::rename(&parked, env.ssh_dir()).unwrap();

    // A private key in ~/.ssh under any name (no agent): nothing to say either.
    keygen(&env, "work_github", "ed25519", "");
    let (_, v) = doctor_json(&env, &env.home(), &["--offline"]);
    assert!(
        !local_codes(&v).contains(&"no-private-key".to_string()),
        "{v:#}"
    );
}

#[test]
fn a_home_that_is_not_the_passwd_home_is_said_even_with_no_host_to_check() {
    // $HOME holds a config with a host; ssh reads the passwd home, which has nothing: doctor
    // finds no host to check, and says why.
    let env = TestEnv::with_passwd_home("real-home");
    let ssh_dir = env.home().join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    std::fs::write(ssh_dir.join("config"), "Host box\n  HostName 127.0.0.1\n").unwrap();
    let (code, v) = doctor_json(&env, &env.home(), &["--offline"]);
    let f = local(&v, "home-mismatch");
    assert_eq!(f["severity"], "warning", "{v:#}");
    assert_eq!(
        f["message"],
        format!(
            "$HOME is {} but ssh takes ~ from the passwd entry: it reads {}, not {} (which has files ssh will not see)",
            env.home().display(),
            env.passwd_home().join(".ssh").display(),
            ssh_dir.display()
        ),
        "{v:#}"
    );
    assert_eq!(code, 0, "warnings only: {v:#}");
    // Where $HOME is the passwd home, nothing is said.
    let env = TestEnv::new();
    let (_, v) = doctor_json(&env, &env.home(), &["--offline"]);
    assert!(
        !local_codes(&v).contains(&"home-mismatch".to_string()),
        "{v:#}"
    );
}
