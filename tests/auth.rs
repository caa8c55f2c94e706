//! `herossh auth login|logout|whoami|status` against the in-process Platform API, storing in a
//! real gnome-keyring (read back with `secret-tool`, as the Heroku CLI reads it) or in netrc
//! (byte-for-byte checks of everything outside the Heroku entries).

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::credentials::{
    TOKEN_MARK, herossh, netrc_entry, run, run_printing_token, status_json, tok, write_login_json,
    write_netrc,
};
use crate::support::fake_api::FakeApi;
use crate::support::keyring::Keyring;
use crate::support::{TestEnv, mode, out};

const EMAIL: &str = "dev@example.com";

/// A netrc the user cares about: comments, odd spacing, tabs, a macdef, other machines and a
/// `default` entry that must stay last, no final newline after the default line.
const USER_NETRC: &str = "# personal netrc -- do not lose me\n\
machine ftp.example.org   login  alice\tpassword \"s3cret with space\"\n\
\n\
macdef init\n\
cd /pub\n\
machine api.fake.invalid\n\
\n\
machine\tgithub.com\n\t\tlogin bob\n\t\tpassword ghp_notatoken # trailing comment\n\
default login anonymous password guest";

fn api_with_token(token: &str) -> FakeApi {
    let api = FakeApi::start();
    api.add_token(token, EMAIL);
    api
}

fn netrc_path(env: &TestEnv) -> std::path::PathBuf {
    env.home().join(".netrc")
}

/// A git host of its own (HEROKU_GIT_HOST), so tests see two netrc machines as with the real
/// `HEROKU_HOST=heroku.com`; with a URL-form HEROKU_HOST alone both are the URL's authority.
const GIT_HOST: &str = "git.fake.test";

/// The API host herossh derives from the fake API's URL, and [`GIT_HOST`].
fn hosts(api: &FakeApi) -> (String, String) {
    let authority = api.url().trim_start_matches("http://").to_string();
    (authority, GIT_HOST.to_string())
}

#[test]
fn login_without_keychain_writes_both_netrc_machines_in_heroku_layout_and_logout_restores_bytes() {
    let env = TestEnv::new();
    let token = tok("login-netrc");
    let api = api_with_token(&token);
    let p = write_netrc(&env, USER_NETRC);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();

    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_GIT_HOST", GIT_HOST)
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(format!("{token}\n")));
    let (so, se) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{se}");
    assert_eq!(so, format!("Logged in as {EMAIL}\n"));
    let (api_host, git_host) = hosts(&api);
    assert_eq!(
        se,
        format!("Token stored in ~/.netrc (machines {api_host} and {git_host})\n")
    );
    let written = std::fs::read_to_string(&p).unwrap();
    // The new entries go before `default`, which must stay last; everything else is as it was.
    let (before_default, _) = USER_NETRC.rsplit_once("default ").unwrap();
    assert_eq!(
        written,
        format!(
            "{before_default}{}{}default login anonymous password guest",
            netrc_entry(&api_host, EMAIL, &token),
            netrc_entry(&git_host, EMAIL, &token)
        )
    );
    assert_eq!(mode(&p), 0o600);
    // No keychain, so no login.json.
    assert!(!env.home().join(".local/share/heroku/login.json").exists());
    // The token was verified with GET /account before anything was stored.
    assert_eq!(api.request_lines(), ["GET /account"]);

    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_GIT_HOST", GIT_HOST)
        .args(["auth", "logout"]));
    let (_, se) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{se}");
    assert_eq!(
        se,
        format!("Removed the {api_host} and {git_host} entries of ~/.netrc\n")
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), USER_NETRC);
    assert_eq!(mode(&p), 0o600);
}

#[test]
fn relogin_replaces_the_entries_in_place_and_follows_a_symlinked_netrc() {
    let env = TestEnv::new();
    let (old, new) = (tok("old"), tok("new"));
    let api = api_with_token(&new);
    let (api_host, git_host) = hosts(&api);
    let real = env.scratch().join("dotfiles-netrc");
    let original = format!(
        "machine a.example login x password y\n{}machine b.example login q password r\n{}",
        netrc_entry(&api_host, "old@example.com", &old),
        netrc_entry(&git_host, "old@example.com", &old)
    );
    std::fs::write(&real, &original).unwrap();
    std::os::unix::fs::symlink(&real, netrc_path(&env)).unwrap();

    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_GIT_HOST", GIT_HOST)
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(new.clone()));
    assert_eq!(o.status.code(), Some(0), "{:?}", out(&o));
    assert!(
        std::fs::symlink_metadata(netrc_path(&env))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        format!(
            "machine a.example login x password y\n{}machine b.example login q password r\n{}",
            netrc_entry(&api_host, EMAIL, &new),
            netrc_entry(&git_host, EMAIL, &new)
        )
    );
    assert_eq!(mode(&real), 0o600);
}

#[test]
fn login_with_keychain_stores_the_item_the_heroku_cli_reads_and_logout_removes_it() {
    let env = TestEnv::new();
    let token = tok("login-keychain");
    let api = api_with_token(&token);
    let k = Keyring::start(&env);
    write_netrc(&env, USER_NETRC);

    let o = run(k
        .herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(token.clone()));
    let (so, se) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{se}");
    assert_eq!(so, format!("Logged in as {EMAIL}\n"));
    assert_eq!(
        se,
        format!(
            "Token stored in the Secret Service (account {EMAIL}, ~/.local/share/heroku/login.json)\n"
        )
    );
    assert_eq!(k.lookup(&env, EMAIL), Some(token.clone()));
    assert_eq!(k.label(&env, EMAIL).as_deref(), Some("Heroku CLI"));
    let login_json = env.home().join(".local/share/heroku/login.json");
    assert_eq!(
        std::fs::read_to_string(&login_json).unwrap(),
        format!(r#"{{"account":"{EMAIL}"}}"#)
    );
    assert_eq!(mode(&login_json), 0o600);
    assert_eq!(mode(login_json.parent().unwrap()), 0o700);
    // The netrc is not touched when the keychain takes the token.
    assert_eq!(
        std::fs::read_to_string(netrc_path(&env)).unwrap(),
        USER_NETRC
    );
    let (_, v) = status_json(k.herossh(&env).env("HEROKU_HOST", api.url()));
    assert_eq!(v["source"], "keychain");
    assert_eq!(v["account"], EMAIL);
    assert_eq!(v["verified"], true);
    assert_eq!(v["warnings"], Value::Array(vec![]));

    let o = run(k
        .herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "logout"]));
    let (_, se) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{se}");
    assert_eq!(
        se,
        format!("Removed the keychain item for {EMAIL}, ~/.local/share/heroku/login.json\n")
    );
    assert_eq!(k.lookup(&env, EMAIL), None);
    assert!(!login_json.exists());
    assert_eq!(
        std::fs::read_to_string(netrc_path(&env)).unwrap(),
        USER_NETRC
    );
    let (code, v) = status_json(&mut k.herossh(&env));
    assert_eq!((code, &v["source"]), (4, &Value::Null));
}

#[test]
fn netrc_write_true_stores_in_netrc_even_with_a_keychain() {
    let env = TestEnv::new();
    let token = tok("forced-netrc");
    let api = api_with_token(&token);
    let k = Keyring::start(&env);
    let o = run(k
        .herossh(&env)
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_GIT_HOST", GIT_HOST)
        .env("HEROKU_NETRC_WRITE", "TRUE")
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(token.clone()));
    assert_eq!(o.status.code(), Some(0), "{:?}", out(&o));
    let (api_host, git_host) = hosts(&api);
    assert_eq!(
        std::fs::read_to_string(netrc_path(&env)).unwrap(),
        format!(
            "{}{}",
            netrc_entry(&api_host, EMAIL, &token),
            netrc_entry(&git_host, EMAIL, &token)
        )
    );
    assert_eq!(mode(&netrc_path(&env)), 0o600);
    assert_eq!(k.lookup(&env, EMAIL), None);
    assert!(!env.home().join(".local/share/heroku/login.json").exists());
}

#[test]
fn logout_with_a_locked_keychain_keeps_login_json_and_says_why() {
    let env = TestEnv::new();
    let k = Keyring::start(&env);
    k.store_like_heroku_cli(&env, EMAIL, &tok("locked"));
    let login_json = write_login_json(&env, EMAIL);
    k.lock(&env);
    let o = run(k.herossh(&env).args(["auth", "logout"]));
    let (_, se) = out(&o);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        se,
        format!(
            " \u{203a}   Warning: could not remove the keychain item for {EMAIL} (the keyring is locked); kept ~/.local/share/heroku/login.json so a later logout can\n"
        )
    );
    assert!(login_json.exists());
}

#[test]
fn login_refusals_store_nothing() {
    let env = TestEnv::new();
    let api = api_with_token(&tok("good"));
    // HEROKU_API_KEY set: refused before reading anything.
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_API_KEY", tok("env"))
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(tok("good")));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        out(&o).1,
        "herossh: Cannot log in with HEROKU_API_KEY set: unset it first (it would override the stored login)\n"
    );
    // A token the API rejects: exit 4, nothing stored.
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(tok("bad")));
    assert_eq!(o.status.code(), Some(4));
    let se = out(&o).1;
    assert!(
        se.starts_with(
            "herossh: verifying the token (GET /account): Invalid credentials provided."
        ),
        "{se}"
    );
    // Empty input; no terminal and no flag.
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "login", "--token-stdin"])
        .write_stdin("\n"));
    assert_eq!(
        (o.status.code(), out(&o).1.as_str()),
        (Some(2), "herossh: the token is empty\n")
    );
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "login"])
        .write_stdin(""));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        out(&o)
            .1
            .contains("needs a terminal to ask; pass the token with --token-stdin")
    );
    // The API cannot be reached: exit 3, nothing stored.
    let o = run(herossh(&env)
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(tok("good")));
    assert_eq!(o.status.code(), Some(3));
    assert!(!netrc_path(&env).exists());
    assert!(!env.home().join(".local/share/heroku").exists());
}

#[test]
fn whoami_prints_the_account_or_fails_with_exit_4() {
    let env = TestEnv::new();
    let token = tok("whoami");
    let api = api_with_token(&token);
    let (api_host, _) = hosts(&api);
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "whoami"]));
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(
        out(&o).1,
        "herossh: not logged in: run `herossh auth login` (or `heroku login`), or set HEROKU_API_KEY\n"
    );
    write_netrc(&env, &netrc_entry(&api_host, "ignored@example.com", &token));
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "whoami"]));
    assert_eq!(out(&o), (format!("{EMAIL}\n"), String::new()));
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_API_KEY", tok("revoked"))
        .args(["auth", "whoami"]));
    assert_eq!(o.status.code(), Some(4));
    let se = out(&o).1;
    assert!(
        se.starts_with(
            "herossh: GET /account: Invalid credentials provided.\nError ID: unauthorized"
        ),
        "{se}"
    );
    assert!(se.contains("herossh auth login"), "{se}");
}

#[test]
fn status_reports_a_rejected_token() {
    let env = TestEnv::new();
    let api = api_with_token(&tok("valid"));
    let (api_host, _) = hosts(&api);
    write_netrc(
        &env,
        &netrc_entry(&api_host, "n@example.com", &tok("stale")),
    );
    // `herossh auth status || herossh auth login` must log in again: exit 4, the report on
    // stdout with the error in it, and one error line.
    let (code, v) = status_json(herossh(&env).env("HEROKU_HOST", api.url()));
    assert_eq!(code, 4);
    assert_eq!(v["source"], "netrc");
    assert_eq!(v["account"], "n@example.com");
    assert_eq!(v["verified"], false);
    assert_eq!(v["warnings"], serde_json::json!([]));
    let message = "the Platform API rejected this token (Invalid credentials provided.): log in \
                   again with `herossh auth login`";
    assert_eq!(
        v["error"],
        serde_json::json!({"code": "unauthorized", "message": message, "exit": 4})
    );
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "status"]));
    assert_eq!(o.status.code(), Some(4));
    let (so, se) = out(&o);
    assert!(so.contains("(token rejected by the Platform API)"), "{so}");
    assert_eq!(se, format!("herossh: {message}\n"));
}

/// A URL-form HEROKU_HOST names one netrc machine, its `host:port`, for the API and git alike
/// (the Heroku CLI's `apiHost` and `httpGitHost` are both `url.parse(HEROKU_HOST).host`), and
/// the git credential helper answers for it.
#[test]
fn url_form_heroku_host_is_one_netrc_machine_like_the_heroku_cli() {
    let env = TestEnv::new();
    let token = tok("one-machine");
    let api = api_with_token(&token);
    let authority = api.url().trim_start_matches("http://").to_string();
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(format!("{token}\n")));
    assert_eq!(o.status.code(), Some(0), "{:?}", out(&o));
    assert_eq!(
        out(&o).1,
        format!("Token stored in ~/.netrc (machine {authority})\n")
    );
    assert_eq!(
        std::fs::read_to_string(netrc_path(&env)).unwrap(),
        netrc_entry(&authority, EMAIL, &token)
    );
    let o = run_printing_token(
        herossh(&env)
            .env("HEROKU_HOST", api.url())
            .args(["git-credential", "get"])
            .write_stdin(format!("protocol=https\nhost={authority}\n\n")),
    );
    assert_eq!(
        out(&o).0,
        format!("protocol=https\nhost={authority}\nusername=heroku\npassword={token}\n")
    );
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "logout"]));
    assert_eq!(
        out(&o).1,
        format!("Removed the {authority} entry of ~/.netrc\n")
    );
    assert_eq!(std::fs::read_to_string(netrc_path(&env)).unwrap(), "");
}

/// `user:password@` in HEROKU_HOST is never printed, logged or sent: the request carries the
/// bearer token only, and one warning says the userinfo is ignored.
#[test]
fn heroku_host_userinfo_is_redacted_everywhere() {
    let env = TestEnv::new();
    let token = tok("userinfo");
    let api = api_with_token(&token);
    let with_userinfo = api.url().replacen("http://", "http://bob:hunter2pw@", 1);
    for args in [
        &["-vv", "auth", "whoami"][..],
        &["-vv", "--json", "auth", "status"],
        &["-vv", "keys"],
    ] {
        let o = run(herossh(&env)
            .env("HEROKU_HOST", &with_userinfo)
            .env("HEROKU_API_KEY", &token)
            .args(args));
        let (so, se) = out(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {se}");
        assert!(
            !so.contains("hunter2pw") && !se.contains("hunter2pw"),
            "{args:?}: {so}{se}"
        );
        assert!(!se.contains("bob"), "{args:?}: {se}");
        assert_eq!(
            se.matches("HEROKU_HOST holds a user name or password (not shown)")
                .count(),
            1,
            "{se}"
        );
    }
    for r in api.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
    }
    // An unreachable one is redacted in the error too.
    let o = run(herossh(&env)
        .env("HEROKU_HOST", "http://bob:hunter2pw@127.0.0.1:9")
        .env("HEROKU_API_KEY", &token)
        .args(["auth", "whoami"]));
    let se = out(&o).1;
    assert_eq!(o.status.code(), Some(3));
    assert!(se.contains("http://127.0.0.1:9"), "{se}");
    assert!(!se.contains("hunter2pw") && !se.contains("bob"), "{se}");
}

/// A token never goes over plain http to a host that is not loopback without --insecure.
#[test]
fn plain_http_to_another_host_needs_insecure() {
    let env = TestEnv::new();
    let o = run(herossh(&env)
        .env("HEROKU_HOST", "http://api.example.invalid")
        .env("HEROKU_API_KEY", tok("plain"))
        .args(["--json", "keys"]));
    assert_eq!(o.status.code(), Some(2));
    let (so, se) = out(&o);
    let v: Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v["error"]["code"], "insecure_transport");
    assert_eq!(
        se,
        "herossh: refusing to send your Heroku API token over plain http to \
         http://api.example.invalid: anyone on the way could read it. Use https://, or pass \
         --insecure if you mean it\n"
    );
    // With --insecure it warns and tries (and fails to resolve the .invalid name).
    let o = run(herossh(&env)
        .env("HEROKU_HOST", "http://api.example.invalid")
        .env("HEROKU_API_KEY", tok("plain"))
        .args(["--insecure", "keys"]));
    assert_eq!(o.status.code(), Some(3));
    let se = out(&o).1;
    assert!(
        se.starts_with(
            " ›   Warning: --insecure: sending your Heroku API token over plain http to \
             http://api.example.invalid\n"
        ),
        "{se}"
    );
}

/// The grep test: every auth command in every tier, quiet, -v and -vv, must keep the token out
/// of stdout and stderr (`auth token` only on stdout).
#[test]
fn no_auth_command_prints_the_token_even_at_vv() {
    let env = TestEnv::new();
    let token = tok("grep-me");
    let api = api_with_token(&token);
    let k = Keyring::start(&env);
    let (api_host, _) = hosts(&api);
    let mut seen_debug = false;
    for tier in ["env", "keychain", "netrc"] {
        for v in [None, Some("-v"), Some("-vv")] {
            for (args, stdin) in [
                (vec!["auth", "login", "--token-stdin"], token.as_str()),
                (vec!["auth", "status"], ""),
                (vec!["--json", "auth", "status"], ""),
                (vec!["auth", "whoami"], ""),
                (vec!["auth", "logout"], ""),
            ] {
                let mut cmd = k.herossh(&env);
                cmd.env("HEROKU_HOST", api.url())
                    .args(&args)
                    .write_stdin(stdin);
                match tier {
                    "env" if args[1] != "login" => {
                        cmd.env("HEROKU_API_KEY", &token);
                    }
                    "netrc" => {
                        cmd.env("HEROKU_NETRC_WRITE", "true");
                    }
                    _ => {}
                }
                if let Some(v) = v {
                    cmd.arg(v);
                }
                let o = run(&mut cmd);
                seen_debug |= out(&o).1.contains("DEBUG");
                if tier != "netrc" && args[1] == "login" {
                    assert_eq!(o.status.code(), Some(0));
                }
            }
            // `auth token` prints it on stdout, never on stderr.
            write_netrc(&env, &netrc_entry(&api_host, EMAIL, &token));
            let mut cmd = herossh(&env);
            cmd.env("HEROKU_HOST", api.url()).args(["auth", "token"]);
            if let Some(v) = v {
                cmd.arg(v);
            }
            let o = run_printing_token(&mut cmd);
            assert_eq!(out(&o).0, format!("{token}\n"));
        }
    }
    assert!(seen_debug, "the -v runs produced no debug log at all");
    assert!(token.starts_with(TOKEN_MARK));
}

#[test]
fn login_with_the_token_flag_and_logout_when_nothing_is_stored() {
    let env = TestEnv::new();
    let token = tok("flag");
    let api = api_with_token(&token);
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_GIT_HOST", GIT_HOST)
        .args(["--json", "auth", "login", "--token", &token]));
    assert_eq!(o.status.code(), Some(0), "{:?}", out(&o));
    let (api_host, git_host) = hosts(&api);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["account"], EMAIL);
    assert_eq!(v["stored"], "netrc");
    assert_eq!(
        v["location"],
        format!("~/.netrc (machines {api_host} and {git_host})")
    );
    let o = run_printing_token(
        herossh(&env)
            .env("HEROKU_HOST", api.url())
            .env("HEROKU_GIT_HOST", GIT_HOST)
            .args(["--json", "auth", "token"]),
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["token"].as_str(), v["source"].as_str()),
        (Some(token.as_str()), Some("netrc"))
    );

    let logout = |env: &TestEnv| {
        let o = run(herossh(env)
            .env("HEROKU_HOST", api.url())
            .env("HEROKU_GIT_HOST", GIT_HOST)
            .args(["auth", "logout"]));
        (o.status.code(), out(&o).1)
    };
    assert_eq!(logout(&env).0, Some(0));
    assert_eq!(
        logout(&env),
        (Some(0), "Nothing to remove: not logged in\n".to_string())
    );
    assert_eq!(std::fs::read_to_string(netrc_path(&env)).unwrap(), "");
}

/// On a terminal (a pty from util-linux `script`), login asks for the token with echo off.
#[test]
fn login_prompts_for_the_token_without_echo_on_a_terminal() {
    use std::io::{Read, Write};
    use std::process::Stdio;

    let env = TestEnv::new();
    let token = tok("typed");
    let api = api_with_token(&token);
    let mut cmd = env.program("script");
    crate::support::keyring::no_bus(&env, &mut cmd);
    cmd.env("HEROKU_HOST", api.url())
        .env("TERM", "dumb")
        .args([
            "-qec",
            &format!("{} auth login", crate::support::herossh_bin().display()),
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("Heroku API token:") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    // The prompt is printed just before echo is switched off: give herossh a moment to get
    // there, so the terminal cannot echo what is typed (this is not a timing assertion).
    std::thread::sleep(std::time::Duration::from_millis(300));
    stdin.write_all(format!("{token}\r").as_bytes()).unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    let text = String::from_utf8_lossy(&seen);
    assert!(status.success(), "{text}");
    assert!(text.contains(&format!("Logged in as {EMAIL}")), "{text}");
    assert!(!text.contains(TOKEN_MARK), "the token was echoed: {text}");
    let (api_host, _) = hosts(&api);
    assert!(
        std::fs::read_to_string(netrc_path(&env))
            .unwrap()
            .starts_with(&netrc_entry(&api_host, EMAIL, &token))
    );
}

/// A CRLF `~/.netrc` (edited on Windows, or by a tool that writes CRLF) stays CRLF: the lines
/// login adds end like the file's own, and logout gives back every byte.
#[test]
fn login_and_logout_keep_a_crlf_netrc_crlf() {
    let env = TestEnv::new();
    let token = tok("crlf");
    let api = api_with_token(&token);
    let original = "machine ftp.example.org\r\n  login alice\r\n  password s3cret\r\n";
    let p = write_netrc(&env, original);
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_GIT_HOST", GIT_HOST)
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(format!("{token}\n")));
    assert_eq!(o.status.code(), Some(0), "{:?}", out(&o));
    let (api_host, git_host) = hosts(&api);
    let crlf = |e: String| e.replace('\n', "\r\n");
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        format!(
            "{original}{}{}",
            crlf(netrc_entry(&api_host, EMAIL, &token)),
            crlf(netrc_entry(&git_host, EMAIL, &token))
        )
    );
    let o = run(herossh(&env)
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_GIT_HOST", GIT_HOST)
        .args(["auth", "logout"]));
    assert_eq!(o.status.code(), Some(0), "{:?}", out(&o));
    assert_eq!(std::fs::read_to_string(&p).unwrap(), original);
}

/// The Heroku CLI's `auth:*` spellings do what `auth *` does, like the `keys:*` ones.
#[test]
fn heroku_cli_auth_spellings_work() {
    let env = TestEnv::new();
    let token = tok("spelling");
    let api = api_with_token(&token);
    let with = |args: &[&str]| {
        let mut c = herossh(&env);
        c.env("HEROKU_HOST", api.url()).args(args);
        c
    };
    let o = run(with(&["auth:login", "--token-stdin"]).write_stdin(format!("{token}\n")));
    assert_eq!(o.status.code(), Some(0), "{:?}", out(&o));
    assert_eq!(out(&o).0, format!("Logged in as {EMAIL}\n"));
    for (alias, plain) in [("auth:whoami", "whoami"), ("auth:token", "token")] {
        let a = run_printing_token(&mut with(&[alias]));
        let b = run_printing_token(&mut with(&["auth", plain]));
        assert_eq!(a.status.code(), Some(0), "{alias}: {:?}", out(&a));
        assert_eq!(out(&a), out(&b), "{alias}");
    }
    assert_eq!(
        out(&run_printing_token(&mut with(&["auth:token"]))).0,
        format!("{token}\n")
    );
    let o = run(&mut with(&["auth:logout"]));
    assert_eq!(o.status.code(), Some(0), "{:?}", out(&o));
    let (code, _, _) = crate::credentials::token_of(&mut with(&[]));
    assert_eq!(code, 4, "logged out");
}
