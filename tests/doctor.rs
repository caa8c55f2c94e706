//! `herossh doctor`: local checks offline, and the probes of the platform host and the
//! repository's SSH remotes against the real sshd, with the fake Platform API.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::support::fake_api::FakeApi;
use crate::support::sshd::{Sshd, SshdOptions};
use crate::support::{TestEnv, out};
use crate::validate::{codes, finding, keygen, pub_line, trust};

fn git(env: &TestEnv, dir: &std::path::Path, args: &[&str]) {
    let o = env
        .program("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", out(&o).1);
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
        codes(&v),
        [
            "not-logged-in",
            "no-agent",
            "ssh-dir-permissions",
            "config-permissions",
            "unprotected-private-key",
            "heroku-ssh-git-ended",
            "offline",
        ]
    );
    assert_eq!(
        finding(&v, "ssh-dir-permissions")["fix"],
        "chmod 700 ~/.ssh"
    );
    assert_eq!(
        finding(&v, "config-permissions")["fix"],
        "chmod 600 ~/.ssh/config"
    );
    assert_eq!(
        finding(&v, "unprotected-private-key")["fix"],
        "chmod 600 ~/.ssh/id_ed25519"
    );
    assert_eq!(
        finding(&v, "heroku-ssh-git-ended")["fix"],
        "git remote set-url heroku https://git.heroku.com/my-app.git && herossh git-credential install"
    );
    assert!(
        finding(&v, "offline")["message"]
            .as_str()
            .unwrap()
            .contains("git@127.0.0.1"),
        "{v:#}"
    );
    assert_eq!(v["probes"], Value::Array(vec![]));
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
    assert!(stdout.ends_with("0 error(s), 2 warning(s)\n"), "{stdout}");
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
    let probes = v["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 2, "{v:#}");
    // git@platform: the key is not on the account and the server refuses user git.
    assert_eq!(
        probes[0]["target"],
        format!("git@127.0.0.1:{}", sshd.port())
    );
    assert_eq!(probes[0]["authenticated"], false);
    assert_eq!(probes[0]["server"]["host_key"]["known"], true);
    assert_eq!(
        finding(&probes[0], "key-not-on-account")["fix"],
        "herossh keys add ~/.ssh/id_ed25519.pub"
    );
    // The repository's own SSH remote authenticates.
    assert_eq!(
        probes[1]["target"],
        format!("{}@127.0.0.1:{}", sshd.user(), sshd.port())
    );
    assert_eq!(probes[1]["authenticated"], true);
    assert_eq!(codes(&probes[1]), ["authenticated"]);
    assert!(codes(&v).contains(&"logged-in".to_string()));
    assert_eq!(api.request_lines(), ["GET /account/keys"]);
}
