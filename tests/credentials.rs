//! The credential resolver's tiers and their precedence, each in a temporary home, with the
//! keychain tier against a real gnome-keyring holding an item written by `secret-tool` exactly
//! as the Heroku CLI writes it. Also the shared helpers of the credential suites (auth,
//! git_credential): every herossh run goes through [`run`], which greps its stdout and stderr
//! for the test tokens.

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use serde_json::Value;

use crate::support::keyring::{self, Keyring};
use crate::support::{TestEnv, herossh_bin, out};

/// Every token in these suites starts with this, so one substring check finds any leak.
pub const TOKEN_MARK: &str = "HRKU-SECRET-";

pub fn tok(name: &str) -> String {
    format!("{TOKEN_MARK}{name}")
}

/// herossh in `env` with no reachable session bus (so no test can see a real keychain).
pub fn herossh(env: &TestEnv) -> assert_cmd::Command {
    let mut cmd = std::process::Command::new(herossh_bin());
    env.apply(&mut cmd);
    keyring::no_bus(env, &mut cmd);
    cmd.current_dir(env.home());
    assert_cmd::Command::from_std(cmd)
}

/// Run a herossh command and assert that no token appears in its stdout or stderr. Only
/// `auth token` and `git-credential get` may print one: use [`run_printing_token`] for those.
pub fn run(cmd: &mut assert_cmd::Command) -> Output {
    let o = cmd.output().unwrap();
    let (so, se) = out(&o);
    assert!(
        !so.contains(TOKEN_MARK) && !se.contains(TOKEN_MARK),
        "a token leaked:\nstdout: {so}\nstderr: {se}"
    );
    o
}

/// Run a command whose job is to print the token (`auth token`, `git-credential get`); its
/// stderr must still never carry one.
pub fn run_printing_token(cmd: &mut assert_cmd::Command) -> Output {
    let o = cmd.output().unwrap();
    let (_, se) = out(&o);
    assert!(!se.contains(TOKEN_MARK), "a token leaked on stderr: {se}");
    o
}

/// `auth token`: (exit code, stdout, stderr).
pub fn token_of(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let o = run_printing_token(cmd.args(["auth", "token"]));
    let (so, se) = out(&o);
    (o.status.code().unwrap(), so, se)
}

/// `auth status --json` as JSON, with the exit code.
pub fn status_json(cmd: &mut assert_cmd::Command) -> (i32, Value) {
    let o = run(cmd.args(["--json", "auth", "status"]));
    let (so, se) = out(&o);
    let v = serde_json::from_str(&so).unwrap_or_else(|e| panic!("{e}: {so} / {se}"));
    (o.status.code().unwrap(), v)
}

/// A netrc entry for the loopback API host the harness sets (`HEROKU_HOST=http://127.0.0.1:9`).
pub const LOOPBACK_MACHINE: &str = "127.0.0.1:9";

pub fn write_netrc(env: &TestEnv, text: &str) -> std::path::PathBuf {
    let p = env.write(".netrc", text);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

pub fn netrc_entry(machine: &str, login: &str, token: &str) -> String {
    format!("machine {machine}\n  login {login}\n  password {token}\n")
}

/// login.json in the default data dir (`$XDG_DATA_HOME/heroku`).
pub fn write_login_json(env: &TestEnv, email: &str) -> std::path::PathBuf {
    env.write(
        ".local/share/heroku/login.json",
        format!(r#"{{"account":"{email}"}}"#),
    )
}

#[test]
fn nothing_anywhere_is_not_logged_in_exit_4() {
    let env = TestEnv::new();
    let (code, so, se) = token_of(&mut herossh(&env));
    assert_eq!((code, so.as_str()), (4, ""));
    assert_eq!(
        se,
        "herossh: not logged in: run `herossh auth login` (or `heroku login`), or set HEROKU_API_KEY\n"
    );
    let (code, v) = status_json(&mut herossh(&env));
    assert_eq!(code, 4);
    assert_eq!(v["source"], Value::Null);
    assert_eq!(v["account"], Value::Null);
    assert_eq!(v["api_host"], "127.0.0.1:9");
    assert!(
        v["keychain"].as_str().unwrap().starts_with("unavailable: "),
        "{v}"
    );
}

#[test]
fn env_tier_wins_over_netrc_and_an_empty_key_is_ignored() {
    let env = TestEnv::new();
    write_netrc(
        &env,
        &netrc_entry(LOOPBACK_MACHINE, "n@example.com", &tok("netrc")),
    );
    let (code, so, _) = token_of(herossh(&env).env("HEROKU_API_KEY", tok("env")));
    assert_eq!((code, so), (0, format!("{}\n", tok("env"))));
    let (_, v) = status_json(herossh(&env).env("HEROKU_API_KEY", tok("env")));
    assert_eq!(v["source"], "env");
    assert_eq!(v["stored"], "the HEROKU_API_KEY environment variable");
    assert_eq!(
        v["warnings"][0],
        "HEROKU_API_KEY is set and overrides the login stored in ~/.netrc"
    );
    let (code, so, _) = token_of(herossh(&env).env("HEROKU_API_KEY", ""));
    assert_eq!((code, so), (0, format!("{}\n", tok("netrc"))));
}

#[test]
fn heroku_api_token_alone_warns_and_is_not_used() {
    let env = TestEnv::new();
    write_netrc(
        &env,
        &netrc_entry(LOOPBACK_MACHINE, "n@example.com", &tok("netrc")),
    );
    let (code, so, se) = token_of(herossh(&env).env("HEROKU_API_TOKEN", "typo-value"));
    assert_eq!(code, 0);
    assert_eq!(so, format!("{}\n", tok("netrc")));
    assert_eq!(
        se,
        " ›   Warning: HEROKU_API_TOKEN is set but you probably meant HEROKU_API_KEY\n"
    );
}

#[test]
fn netrc_machine_follows_heroku_host() {
    let env = TestEnv::new();
    write_netrc(
        &env,
        &format!(
            "{}{}{}",
            netrc_entry("api.heroku.com", "a@example.com", &tok("default")),
            netrc_entry("api.example.heroku.com", "b@example.com", &tok("example")),
            netrc_entry("git.heroku.com", "a@example.com", &tok("git-only")),
        ),
    );
    let (_, so, _) = token_of(herossh(&env).env_remove("HEROKU_HOST"));
    assert_eq!(so, format!("{}\n", tok("default")));
    let (_, so, _) = token_of(herossh(&env).env("HEROKU_HOST", "example.heroku.com"));
    assert_eq!(so, format!("{}\n", tok("example")));
    // The loopback host has no entry: the git.heroku.com entry is never used for the API.
    let (code, so, _) = token_of(&mut herossh(&env));
    assert_eq!((code, so.as_str()), (4, ""));
}

#[test]
fn netrc_env_var_points_at_another_file_and_default_entry_is_not_a_token() {
    let env = TestEnv::new();
    write_netrc(&env, "default login anonymous password guest-password\n");
    let (code, so, _) = token_of(&mut herossh(&env));
    assert_eq!((code, so.as_str()), (4, ""));
    let other = env.scratch().join("netrc-elsewhere");
    std::fs::write(
        &other,
        netrc_entry(LOOPBACK_MACHINE, "o@example.com", &tok("other")),
    )
    .unwrap();
    let (_, so, _) = token_of(herossh(&env).env("NETRC", &other));
    assert_eq!(so, format!("{}\n", tok("other")));
}

#[test]
fn netrc_status_reports_source_account_and_loose_mode() {
    let env = TestEnv::new();
    let p = write_netrc(
        &env,
        &netrc_entry(LOOPBACK_MACHINE, "n@example.com", &tok("netrc")),
    );
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Offline (nothing listens on the harness's API port): the token could not be verified,
    // so exit 3, and the account is the netrc login.
    let (code, v) = status_json(&mut herossh(&env));
    assert_eq!(code, 3);
    assert_eq!(v["source"], "netrc");
    assert_eq!(v["account"], "n@example.com");
    assert_eq!(v["verified"], Value::Null);
    assert_eq!(v["stored"], "~/.netrc (machine 127.0.0.1:9)");
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        warnings,
        ["~/.netrc is readable or writable by other users (mode 0644): run `chmod 600 ~/.netrc`"]
    );
    let unconfirmed = "could not confirm the account: cannot connect to the Platform API at \
                       http://127.0.0.1:9: Connection refused (os error 111)";
    assert_eq!(
        v["error"],
        serde_json::json!({"code": "network", "message": unconfirmed, "exit": 3})
    );
    // Human form: same facts, warnings on stderr.
    let o = run(herossh(&env).args(["auth", "status"]));
    let (so, se) = out(&o);
    assert_eq!(
        so,
        "Source:    netrc\nAccount:   n@example.com\nStored in: ~/.netrc (machine 127.0.0.1:9)\n\
         API host:  127.0.0.1:9\nKeychain:  unavailable: no Secret Service on the session bus\n"
    );
    assert!(
        se.contains(" ›   Warning: ~/.netrc is readable or writable by other users (mode 0644)")
    );
    assert!(se.ends_with(&format!("herossh: {unconfirmed}\n")), "{se}");
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn keychain_tier_reads_the_item_secret_tool_stored_like_the_heroku_cli() {
    let env = TestEnv::new();
    let k = Keyring::start(&env);
    k.store_like_heroku_cli(&env, "k@example.com", &tok("keychain"));
    // Without login.json the keychain is not asked (the account is unknown).
    let (code, _, _) = token_of(&mut k.herossh(&env));
    assert_eq!(code, 4);
    write_login_json(&env, "k@example.com");
    let (code, so, se) = token_of(&mut k.herossh(&env));
    assert_eq!(
        (code, so, se),
        (0, format!("{}\n", tok("keychain")), String::new())
    );
    // Nothing answers on the harness's API port: stored, but not verified (exit 3).
    let (code, v) = status_json(&mut k.herossh(&env));
    assert_eq!(code, 3);
    assert_eq!(v["source"], "keychain");
    assert_eq!(v["account"], "k@example.com");
    assert_eq!(v["keychain"], "available");
    assert_eq!(v["login_json_account"], "k@example.com");
    assert_eq!(
        v["stored"],
        "the Secret Service (service heroku-cli, account k@example.com)"
    );
    // The default on Linux, and what `HEROSSH_KEYCHAIN` selects by name; `none` skips it.
    for backend in ["auto", "secret-service", "Secret-Service"] {
        let (_, so, _) = token_of(k.herossh(&env).env("HEROSSH_KEYCHAIN", backend));
        assert_eq!(so, format!("{}\n", tok("keychain")), "{backend}");
    }
    let (code, _, _) = token_of(k.herossh(&env).env("HEROSSH_KEYCHAIN", "none"));
    assert_eq!(code, 4);
}

#[test]
fn login_json_location_follows_heroku_data_dir_then_xdg() {
    let env = TestEnv::new();
    let k = Keyring::start(&env);
    k.store_like_heroku_cli(&env, "d@example.com", &tok("datadir"));
    let data = env.scratch().join("heroku-data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("login.json"), r#"{"account":"d@example.com"}"#).unwrap();
    let (_, so, _) = token_of(k.herossh(&env).env("HEROKU_DATA_DIR", &data));
    assert_eq!(so, format!("{}\n", tok("datadir")));
    // Without HEROKU_DATA_DIR, $XDG_DATA_HOME/heroku is read (empty here).
    let (code, _, _) = token_of(&mut k.herossh(&env));
    assert_eq!(code, 4);
    // Without XDG_DATA_HOME, ~/.local/share/heroku.
    write_login_json(&env, "d@example.com");
    let (_, so, _) = token_of(k.herossh(&env).env_remove("XDG_DATA_HOME"));
    assert_eq!(so, format!("{}\n", tok("datadir")));
}

#[test]
fn keychain_beats_netrc_unless_netrc_write_is_true() {
    let env = TestEnv::new();
    let k = Keyring::start(&env);
    k.store_like_heroku_cli(&env, "k@example.com", &tok("keychain"));
    write_login_json(&env, "k@example.com");
    write_netrc(
        &env,
        &netrc_entry(LOOPBACK_MACHINE, "n@example.com", &tok("netrc")),
    );
    let (_, so, _) = token_of(&mut k.herossh(&env));
    assert_eq!(so, format!("{}\n", tok("keychain")));
    let (_, v) = status_json(&mut k.herossh(&env));
    assert_eq!(v["source"], "keychain");
    assert_eq!(
        v["warnings"][0],
        "~/.netrc holds a different, unused plaintext token for machine 127.0.0.1:9 (the keychain wins): remove that entry"
    );
    for truthy in ["true", "TRUE", "True"] {
        let (_, so, _) = token_of(k.herossh(&env).env("HEROKU_NETRC_WRITE", truthy));
        assert_eq!(so, format!("{}\n", tok("netrc")), "{truthy}");
    }
    let (_, so, _) = token_of(k.herossh(&env).env("HEROKU_NETRC_WRITE", "false"));
    assert_eq!(so, format!("{}\n", tok("keychain")));
    let (_, v) = status_json(k.herossh(&env).env("HEROKU_NETRC_WRITE", "true"));
    assert_eq!(v["source"], "netrc");
    assert_eq!(
        v["warnings"][0],
        "the plaintext token in ~/.netrc (machine 127.0.0.1:9) shadows a different token in the keychain"
    );
    // The env tier beats both.
    let (_, so, _) = token_of(k.herossh(&env).env("HEROKU_API_KEY", tok("env")));
    assert_eq!(so, format!("{}\n", tok("env")));
    let (_, v) = status_json(k.herossh(&env).env("HEROKU_API_KEY", tok("env")));
    assert_eq!(
        v["warnings"][0],
        "HEROKU_API_KEY is set and overrides the login stored in the keychain and ~/.netrc"
    );
}

#[test]
fn a_plaintext_copy_of_the_keychain_token_is_reported() {
    let env = TestEnv::new();
    let k = Keyring::start(&env);
    k.store_like_heroku_cli(&env, "k@example.com", &tok("same"));
    write_login_json(&env, "k@example.com");
    write_netrc(
        &env,
        &netrc_entry(LOOPBACK_MACHINE, "k@example.com", &tok("same")),
    );
    let (_, v) = status_json(&mut k.herossh(&env));
    assert_eq!(
        v["warnings"][0],
        "~/.netrc holds a plaintext copy of the keychain token (machine 127.0.0.1:9): remove that entry"
    );
}

/// Locked keyring, a bus without any Secret Service, no bus at all, no item for the account:
/// each falls back to netrc silently (a reason only at -v) and keeps login.json.
#[test]
fn unusable_keychain_falls_back_to_netrc_quietly_and_keeps_login_json() {
    let env = TestEnv::new();
    write_netrc(
        &env,
        &netrc_entry(LOOPBACK_MACHINE, "n@example.com", &tok("netrc")),
    );
    let login_json = write_login_json(&env, "k@example.com");
    let expected = format!("{}\n", tok("netrc"));

    let check = |mut cmd: assert_cmd::Command, why: &str| {
        let (code, so, se) = token_of(&mut cmd);
        assert_eq!(
            (code, so.as_str(), se.as_str()),
            (0, expected.as_str(), ""),
            "{why}"
        );
        // The same `auth token` run again with -v (it prints the token on stdout by design).
        let o = run_printing_token(cmd.arg("-v"));
        let (_, se) = out(&o);
        assert!(se.contains(why), "{se}");
        assert!(login_json.exists());
    };

    check(
        herossh(&env),
        "keychain unavailable (no Secret Service on the session bus), trying netrc",
    );
    {
        let bus = Keyring::bus_only(&env);
        check(bus.herossh(&env), "keychain unavailable (");
        let (_, v) = status_json(&mut bus.herossh(&env));
        assert!(v["keychain"].as_str().unwrap().starts_with("unavailable: "));
    }
    let k = Keyring::start(&env);
    check(
        k.herossh(&env),
        "no keychain item for k@example.com, trying netrc",
    );
    k.store_like_heroku_cli(&env, "k@example.com", &tok("locked-away"));
    k.lock(&env);
    check(
        k.herossh(&env),
        "keychain unavailable (the keyring is locked), trying netrc",
    );
    let (_, v) = status_json(&mut k.herossh(&env));
    assert_eq!(v["keychain"], "unavailable: the keyring is locked");
    assert_eq!(v["source"], "netrc");
}

#[test]
fn unreadable_netrc_is_a_clear_error() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.home().join(".netrc")).unwrap();
    let (code, so, se) = token_of(&mut herossh(&env));
    assert_eq!((code, so.as_str()), (1, ""));
    assert!(
        se.starts_with(&format!(
            "herossh: cannot read {}",
            env.home().join(".netrc").display()
        )),
        "{se}"
    );
}

/// A keychain that never answers costs at most herossh's keychain timeout, then netrc.
#[test]
fn a_hung_keychain_times_out_into_netrc() {
    let env = TestEnv::new();
    write_netrc(
        &env,
        &netrc_entry(LOOPBACK_MACHINE, "n@example.com", &tok("netrc")),
    );
    write_login_json(&env, "k@example.com");
    let k = Keyring::start(&env);
    k.store_like_heroku_cli(&env, "k@example.com", &tok("frozen"));
    k.freeze();
    let o = run_printing_token(k.herossh(&env).args(["-v", "auth", "token"]));
    let (so, se) = out(&o);
    assert_eq!(so, format!("{}\n", tok("netrc")));
    assert!(
        se.contains("keychain unavailable (no answer from the keychain within 5 s), trying netrc"),
        "{se}"
    );
}
