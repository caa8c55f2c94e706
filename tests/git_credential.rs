//! `herossh git-credential`: the helper protocol answered from the resolver, and install /
//! uninstall checked with a real `git credential fill` in the temporary home.

use std::io::Write;
use std::process::Stdio;

use crate::credentials::{herossh, netrc_entry, run, run_printing_token, tok, write_netrc};
use crate::support::keyring;
use crate::support::{TestEnv, herossh_bin, out};

const KEY: &str = "credential.https://git.heroku.com.helper";

/// herossh with the production host names (`git.heroku.com`, netrc `api.heroku.com`). No
/// command used here makes an API call, so nothing leaves the machine.
fn herossh_default_hosts(env: &TestEnv) -> assert_cmd::Command {
    let mut c = herossh(env);
    c.env_remove("HEROKU_HOST");
    c
}

fn logged_in(env: &TestEnv, token: &str) {
    write_netrc(env, &netrc_entry("api.heroku.com", "g@example.com", token));
}

/// `git ARGS` in the test's home (global config = `$HOME/.gitconfig`), no bus.
fn git(env: &TestEnv) -> std::process::Command {
    let mut c = env.program("git");
    c.env_remove("HEROKU_HOST").env("GIT_TERMINAL_PROMPT", "0");
    keyring::no_bus(env, &mut c);
    c
}

fn global_values(env: &TestEnv) -> Vec<String> {
    let o = git(env)
        .args(["config", "--global", "--get-all", KEY])
        .output()
        .unwrap();
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn ours() -> String {
    format!("!{} git-credential", herossh_bin().display())
}

#[test]
fn get_answers_only_https_on_the_git_host() {
    let env = TestEnv::new();
    let token = tok("git-get");
    logged_in(&env, &token);
    let o = run_printing_token(
        herossh_default_hosts(&env)
            .args(["git-credential", "get"])
            .write_stdin("protocol=https\nhost=git.heroku.com\npath=app.git\n\n"),
    );
    assert_eq!(
        out(&o),
        (
            format!("protocol=https\nhost=git.heroku.com\nusername=heroku\npassword={token}\n"),
            String::new()
        )
    );
    // The default port written out is the same host; the answer names it as git sent it.
    let o = run_printing_token(
        herossh_default_hosts(&env)
            .args(["git-credential", "get"])
            .write_stdin("protocol=https\nhost=git.heroku.com:443\n\n"),
    );
    assert_eq!(
        out(&o).0,
        format!("protocol=https\nhost=git.heroku.com:443\nusername=heroku\npassword={token}\n")
    );
    for other in [
        "protocol=https\nhost=git.heroku.com:8443\n",
        "protocol=http\nhost=git.heroku.com\n",
        "protocol=https\nhost=github.com\n",
        "protocol=https\nhost=api.heroku.com\n",
        "host=git.heroku.com\n",
        "",
    ] {
        let o = run(herossh_default_hosts(&env)
            .args(["git-credential", "get"])
            .write_stdin(other));
        assert_eq!(
            (o.status.code(), out(&o)),
            (Some(0), (String::new(), String::new())),
            "{other:?}"
        );
    }
    // HEROKU_GIT_HOST moves the host it answers for.
    let o = run_printing_token(
        herossh_default_hosts(&env)
            .env("HEROKU_GIT_HOST", "git.staging.example")
            .args(["git-credential", "get"])
            .write_stdin("protocol=https\nhost=git.staging.example\n"),
    );
    assert_eq!(
        out(&o).0,
        format!("protocol=https\nhost=git.staging.example\nusername=heroku\npassword={token}\n")
    );
}

#[test]
fn get_without_a_token_is_exit_4_and_other_operations_are_silent() {
    let env = TestEnv::new();
    let o = run(herossh_default_hosts(&env)
        .args(["git-credential", "get"])
        .write_stdin("protocol=https\nhost=git.heroku.com\n\n"));
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(
        out(&o),
        (
            String::new(),
            "herossh: not logged in: run `herossh auth login` (or `heroku login`), or set HEROKU_API_KEY\n"
                .to_string()
        )
    );
    logged_in(&env, &tok("silent"));
    for op in ["store", "erase", "frobnicate"] {
        let o = run(herossh_default_hosts(&env)
            .args(["git-credential", op])
            .write_stdin("protocol=https\nhost=git.heroku.com\nusername=heroku\npassword=x\n\n"));
        assert_eq!(
            (o.status.code(), out(&o)),
            (Some(0), (String::new(), String::new())),
            "{op}"
        );
    }
}

#[test]
fn install_is_idempotent_and_a_real_git_credential_fill_gets_the_token() {
    let env = TestEnv::new();
    let token = tok("fill");
    logged_in(&env, &token);
    // An inherited helper that must not answer first.
    std::fs::write(
        env.home().join(".gitconfig"),
        "[credential]\n\thelper = store\n",
    )
    .unwrap();
    std::fs::write(
        env.home().join(".git-credentials"),
        "https://heroku:stale-password@git.heroku.com\n",
    )
    .unwrap();

    let o = run(herossh_default_hosts(&env).args(["git-credential", "install"]));
    assert_eq!(
        out(&o),
        (
            String::new(),
            format!("Installed in the global git config: {KEY} = {}\n", ours())
        )
    );
    assert_eq!(global_values(&env), ["".to_string(), ours()]);
    let o = run(herossh_default_hosts(&env).args(["git-credential", "install"]));
    assert_eq!(
        out(&o).1,
        format!("Already installed: {KEY} = {}\n", ours())
    );
    assert_eq!(global_values(&env), ["".to_string(), ours()]);

    let mut fill = git(&env)
        .args(["credential", "fill"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    fill.stdin
        .take()
        .unwrap()
        .write_all(b"protocol=https\nhost=git.heroku.com\n\n")
        .unwrap();
    let o = fill.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("protocol=https\nhost=git.heroku.com\nusername=heroku\npassword={token}\n"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A remote URL with the explicit default port: git sends `host=git.heroku.com:443` (and
    // still picks this helper); it is the same server, so it gets the token.
    let mut fill = git(&env)
        .args(["credential", "fill"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    fill.stdin
        .take()
        .unwrap()
        .write_all(b"url=https://git.heroku.com:443/app.git\n\n")
        .unwrap();
    let o = fill.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("protocol=https\nhost=git.heroku.com:443\nusername=heroku\npassword={token}\n"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // --json: one document, the human line stays on stderr.
    let o = run(herossh_default_hosts(&env).args(["--json", "git-credential", "install"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"key": KEY, "value": ours(), "changed": false})
    );
    assert_eq!(
        out(&o).1,
        format!("Already installed: {KEY} = {}\n", ours())
    );

    // Other hosts still go to the inherited helper.
    let mut fill = git(&env)
        .args(["credential", "fill"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    fill.stdin
        .take()
        .unwrap()
        .write_all(b"protocol=https\nhost=example.com\n\n")
        .unwrap();
    let o = fill.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&o.stdout).contains(&token));

    let o = run(herossh_default_hosts(&env).args(["git-credential", "uninstall"]));
    assert_eq!(out(&o).1, format!("Removed herossh's {KEY} entries\n"));
    assert!(global_values(&env).is_empty());
    // The user's own helper is untouched.
    let o = git(&env)
        .args(["config", "--global", "--get", "credential.helper"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "store\n");
    let o = run(herossh_default_hosts(&env).args(["git-credential", "uninstall"]));
    assert_eq!(
        out(&o).1,
        format!("Not installed: no herossh entry under {KEY}\n")
    );
}

#[test]
fn logout_removes_the_helper_it_installed_but_not_a_foreign_one() {
    let env = TestEnv::new();
    logged_in(&env, &tok("logout-helper"));
    run(herossh_default_hosts(&env).args(["git-credential", "install"]));
    git(&env)
        .args([
            "config",
            "--global",
            "--add",
            KEY,
            "!heroku git:credentials",
        ])
        .status()
        .unwrap();
    let o = run(herossh_default_hosts(&env).args(["auth", "logout"]));
    assert_eq!(
        out(&o).1,
        format!(
            "Removed the api.heroku.com and git.heroku.com entries of ~/.netrc, the git credential helper ({KEY})\n"
        )
    );
    assert_eq!(global_values(&env), ["!heroku git:credentials"]);
    assert_eq!(
        std::fs::read_to_string(env.home().join(".netrc")).unwrap(),
        ""
    );
}

#[test]
fn install_follows_heroku_git_host() {
    let env = TestEnv::new();
    let o = run(herossh_default_hosts(&env)
        .env("HEROKU_GIT_HOST", "git.staging.example")
        .args(["git-credential", "install"]));
    assert_eq!(o.status.code(), Some(0), "{:?}", out(&o));
    let o = git(&env)
        .args(["config", "--global", "--get-regexp", r"^credential\."])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!(
            "credential.https://git.staging.example.helper \ncredential.https://git.staging.example.helper {}\n",
            ours()
        )
    );
}
