//! The secrets audit (issue 8): the whole command set, run with `-vv`, a recognisable token and
//! a recognisable passphrase, in one temporary home against the in-process Platform API and a
//! real sshd. Neither secret may appear on any stdout/stderr (except the stdout of the two
//! commands whose job is to print the token), on the argv or in the environment of the `git`
//! children herossh spawns, or in any file except the intended store: `~/.netrc` when there is
//! no session bus, the Secret Service (a real gnome-keyring, whose files live under
//! `~/.local/share/keyrings`) when there is one, the macOS keychain file of the `security`
//! stand-in when herossh is pointed at it (whose argv log, a file like any other, must then
//! show the token on no command line). Private keys and netrc stay 0600. After logout, the
//! `HEROKU_API_KEY` tier gets the same checks.

use std::path::{Path, PathBuf};

use crate::credentials::herossh;
use crate::support::fake_api::FakeApi;
use crate::support::keyring::Keyring;
use crate::support::security::Security;
use crate::support::sshd::{Sshd, SshdOptions};
use crate::support::{TestEnv, mode, out};

const TOKEN: &str = "HRKU-AUDIT-TOKEN-7f3c9a1e5b2d4c6e";
const PASS: &str = "audit-passphrase-Qz9xW4";
const EMAIL: &str = "audit@example.com";
const COMMENT: &str = "audit@laptop";

/// One herossh run of the audit.
struct Step {
    args: Vec<String>,
    stdin: Option<String>,
    /// `auth token` / `git-credential get`: the token on stdout is the answer, not a leak.
    prints_token: bool,
    /// Run with `HEROKU_API_KEY=<token>` (the environment tier of the resolver).
    api_key_env: bool,
    code: i32,
}

fn step(args: &[&str], code: i32) -> Step {
    Step {
        args: args.iter().map(|a| a.to_string()).collect(),
        stdin: None,
        prints_token: false,
        api_key_env: false,
        code,
    }
}

impl Step {
    fn stdin(mut self, s: impl Into<String>) -> Step {
        self.stdin = Some(s.into());
        self
    }
    fn prints_token(mut self) -> Step {
        self.prints_token = true;
        self
    }
    fn api_key_env(mut self) -> Step {
        self.api_key_env = true;
        self
    }
}

/// A `git` earlier on PATH that appends its argv and its environment to `log`, then runs the
/// real git: herossh's git children (`git-credential install/uninstall`, `doctor`) are
/// recorded without changing what they do.
fn git_recorder(env: &TestEnv, log: &Path) -> PathBuf {
    let real = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("git"))
        .find(|p| p.is_file())
        .expect("git on PATH");
    let bin = env.scratch().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             {{ printf 'argv:'; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo; env; }} >> '{}'\n\
             exec '{}' \"$@\"\n",
            log.display(),
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Every regular file under `root` (symlinks not followed), with its bytes.
fn files_under(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                todo.push(p);
            } else if meta.is_file() {
                let bytes = std::fs::read(&p).unwrap();
                found.push((p, bytes));
            }
        }
    }
    found
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Where `auth login` is meant to put the token.
#[derive(Clone, Copy, PartialEq)]
enum Store {
    Netrc,
    Keychain,
    MacKeychain,
}

/// The token as `security -i` receives it (`-X HEX`).
fn token_hex() -> String {
    TOKEN.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Neither secret in any file under `root`, except the token under `store` (when given).
fn assert_no_secret_in_files(root: &Path, store: Option<&Path>, when: &str) {
    let files = files_under(root);
    assert!(!files.is_empty());
    for (p, bytes) in files {
        assert!(
            !contains(&bytes, PASS),
            "{when}: the passphrase is in {p:?}"
        );
        if !store.is_some_and(|s| p.starts_with(s)) {
            assert!(!contains(&bytes, TOKEN), "{when}: the token is in {p:?}");
            // The macOS backend hands the token to `security` as hex: not a way around this.
            assert!(
                !contains(&bytes, &token_hex()),
                "{when}: the token's hex is in {p:?}"
            );
        }
    }
}

#[test]
fn no_secret_leaks_from_any_command_at_vv_with_the_token_in_netrc() {
    audit(Store::Netrc);
}

#[test]
fn no_secret_leaks_from_any_command_at_vv_with_the_token_in_the_keychain() {
    audit(Store::Keychain);
}

#[test]
fn no_secret_leaks_from_any_command_at_vv_with_the_token_in_the_macos_keychain() {
    audit(Store::MacKeychain);
}

fn audit(store: Store) {
    let env = TestEnv::new();
    let keyring = (store == Store::Keychain).then(|| Keyring::start(&env));
    let security = (store == Store::MacKeychain).then(|| Security::start(&env));
    let api = FakeApi::start();
    api.add_token(TOKEN, EMAIL);
    let sshd = Sshd::start(SshdOptions::default());
    let git_log = env.scratch().join("git-argv.log");
    let path = format!(
        "{}:{}",
        git_recorder(&env, &git_log).display(),
        std::env::var("PATH").unwrap()
    );

    let home = env.home();
    let key = env.ssh_dir().join("id_audit");
    let key_s = key.to_str().unwrap().to_string();
    let pub_s = format!("{key_s}.pub");
    let netrc = home.join(".netrc");
    let login_json = home.join(".local/share/heroku/login.json");
    let store_path = match &security {
        Some(s) => s.keychain_file(),
        None if store == Store::Netrc => netrc.clone(),
        None => home.join(".local/share/keyrings"),
    };
    // A URL-form HEROKU_HOST: git's host is the URL's host:port, as for the Heroku CLI.
    let git_host = api.url().trim_start_matches("http://").to_string();
    let target = sshd.target();
    let cred_request = format!("protocol=https\nhost={git_host}\npath=app.git\n\n");

    let steps = vec![
        step(
            &[
                "keygen",
                "-t",
                "ed25519",
                "-f",
                &key_s,
                "-C",
                COMMENT,
                "--passphrase-stdin",
            ],
            0,
        )
        .stdin(format!("{PASS}\n")),
        step(&["auth", "status"], 4),
        // Rejected secrets contain the real ones, so echoing them in an error is caught too.
        step(&["auth", "login", "--token-stdin"], 4).stdin(format!("{TOKEN}-revoked\n")),
        step(&["auth", "login", "--token-stdin"], 0).stdin(format!("{TOKEN}\n")),
        step(&["auth", "status"], 0),
        step(&["--json", "auth", "status"], 0),
        step(&["auth", "whoami"], 0),
        step(&["auth", "token"], 0).prints_token(),
        step(&["keys"], 0),
        step(&["keys", "add", &pub_s, "--yes"], 0),
        step(&["--json", "keys", "--long"], 0),
        step(&["keys", "remove", COMMENT, "--yes"], 0),
        step(&["keys", "add", &pub_s, "--yes"], 0),
        step(&["keys", "clear", "--yes"], 0),
        step(&["git-credential", "install"], 0),
        step(&["git-credential", "get"], 0)
            .stdin(cred_request.clone())
            .prints_token(),
        step(&["git-credential", "store"], 0).stdin(format!(
            "protocol=https\nhost={git_host}\nusername=heroku\npassword={TOKEN}\n\n"
        )),
        step(&["git-credential", "uninstall"], 0),
        step(
            &[
                "validate",
                &target,
                "-i",
                &key_s,
                "--accept-new",
                "--passphrase-stdin",
                "--timeout",
                "10",
            ],
            0,
        )
        .stdin(format!("{PASS}\n")),
        step(
            &[
                "--json",
                "validate",
                &target,
                "-i",
                &key_s,
                "--passphrase-stdin",
            ],
            0,
        )
        .stdin(format!("{PASS}\n")),
        step(
            &["validate", &target, "-i", &key_s, "--passphrase-stdin"],
            1,
        )
        .stdin(format!("{PASS}-wrong\n")),
        step(&["config", "resolve", "heroku.com"], 0),
        step(&["fix-config", "-i", &key_s], 0),
        step(&["config", "resolve", "heroku.com"], 0),
        step(&["doctor", "--offline"], 0),
        step(&["--json", "doctor", "--offline"], 0),
        step(&["auth", "logout"], 0),
        step(&["auth", "status"], 4),
        // Logged out, the token now comes from the environment (these spawn no git, whose
        // environment would inherit it from the user, not from herossh).
        step(&["auth", "status"], 0).api_key_env(),
        step(&["auth", "whoami"], 0).api_key_env(),
        step(&["keys", "add", &pub_s, "--yes"], 0).api_key_env(),
        step(&["--json", "keys", "--long"], 0).api_key_env(),
        step(&["auth", "token"], 0).api_key_env().prints_token(),
        step(&["git-credential", "get"], 0)
            .stdin(cred_request.clone())
            .api_key_env()
            .prints_token(),
        step(&["config", "resolve", "heroku.com"], 0).api_key_env(),
    ];

    let mut all_stderr = String::new();
    for (i, st) in steps.iter().enumerate() {
        let mut cmd = match (&keyring, &security) {
            (Some(k), _) => k.herossh(&env),
            (_, Some(s)) => s.herossh(&env),
            _ => herossh(&env),
        };
        cmd.env("HEROKU_HOST", api.url())
            .env("PATH", &path)
            .arg("-vv")
            .args(&st.args);
        if st.api_key_env {
            cmd.env("HEROKU_API_KEY", TOKEN);
        }
        if let Some(input) = &st.stdin {
            cmd.write_stdin(input.clone());
        }
        let o = cmd.output().unwrap();
        let (so, se) = out(&o);
        let what = format!("step {i}: herossh -vv {}", st.args.join(" "));
        assert_eq!(o.status.code(), Some(st.code), "{what}\n{so}\n{se}");
        assert!(!se.contains(TOKEN), "{what}: token on stderr:\n{se}");
        assert!(
            !se.contains(&token_hex()),
            "{what}: token as hex on stderr:\n{se}"
        );
        assert!(!se.contains(PASS), "{what}: passphrase on stderr:\n{se}");
        assert!(!so.contains(PASS), "{what}: passphrase on stdout:\n{so}");
        if st.prints_token {
            assert!(so.contains(TOKEN), "{what}: the answer is the token:\n{so}");
        } else {
            assert!(!so.contains(TOKEN), "{what}: token on stdout:\n{so}");
        }
        all_stderr.push_str(&se);
        if st.args[0] == "keygen" {
            // The server accepts the new (encrypted) key, so validate must sign with it.
            sshd.authorize_file(Path::new(&pub_s));
        }

        // Login really stored the token where this audit exempts it.
        if st.args.starts_with(&["auth".into(), "login".into()]) && st.code == 0 {
            match (&keyring, &security) {
                (Some(k), _) => {
                    assert_eq!(k.lookup(&env, EMAIL).as_deref(), Some(TOKEN));
                    assert!(!netrc.exists(), "{what}");
                    assert!(login_json.exists(), "{what}");
                }
                (_, Some(s)) => {
                    assert_eq!(s.read_like_heroku_cli(EMAIL).as_deref(), Some(TOKEN));
                    assert!(!netrc.exists(), "{what}");
                    assert!(login_json.exists(), "{what}");
                }
                _ => assert!(contains(&std::fs::read(&netrc).unwrap(), TOKEN)),
            }
        }
        // The token lives in its store only; netrc stays 0600.
        assert_no_secret_in_files(home.parent().unwrap(), Some(&store_path), &what);
        if netrc.exists() {
            assert_eq!(mode(&netrc), 0o600, "{what}");
        }
        if key.exists() {
            assert_eq!(mode(&key), 0o600, "{what}");
        }
        // login.json (keychain logins) names the account only, and is private too.
        if login_json.exists() {
            assert_eq!(mode(&login_json), 0o600, "{what}");
        }
    }

    // -vv really logged (so the audit covered the debug output): herossh's own, the HTTP
    // stack's, and russh's `log` records bridged in.
    for target in ["herossh::", "reqwest::", "russh::"] {
        assert!(
            all_stderr.contains(&format!("DEBUG {target}")),
            "no {target} debug lines:\n{all_stderr}"
        );
    }
    // The audit exercised what it claims: a real login, signed proofs, git children.
    assert!(sshd.log().contains("Accepted publickey"), "{}", sshd.log());
    let git_seen = std::fs::read_to_string(&git_log).unwrap();
    // git-credential install/uninstall and doctor all ran git through the recorder.
    let helper_key = format!(
        "credential.https://{}.helper",
        api.url().trim_start_matches("http://")
    );
    for call in [
        format!("argv: [config] [--global] [--add] [{helper_key}]"),
        format!("argv: [config] [--global] [--fixed-value] [--unset-all] [{helper_key}]"),
        "argv: [remote] [-v]".to_string(),
    ] {
        assert!(git_seen.contains(&call), "{call}\n{git_seen}");
    }
    assert!(!git_seen.contains(TOKEN), "{git_seen}");
    assert!(!git_seen.contains(PASS), "{git_seen}");
    // After logout no file holds the token (the keyring's own files are encrypted with its
    // password, so they are still exempt), and the keychain item is gone.
    let exempt = (store != Store::Netrc).then_some(store_path.as_path());
    assert_no_secret_in_files(home.parent().unwrap(), exempt, "after logout");
    if let Some(k) = &keyring {
        assert_eq!(k.lookup(&env, EMAIL), None);
        assert!(!netrc.exists());
    }
    if let Some(s) = &security {
        assert_eq!(s.read_like_heroku_cli(EMAIL), None);
        assert!(!netrc.exists());
        // The keychain was really used: written through `security -i` (the token as hex on
        // stdin), read with find-generic-password, deleted at logout.
        let log = s.log();
        for call in [
            "argv: [-i]\nstdin: [add-generic-password] [-U] [-a] [audit@example.com] [-s] [heroku-cli] [-X] [<secret>]\n",
            "argv: [find-generic-password] [-a] [audit@example.com] [-s] [heroku-cli] [-w]\n",
            "argv: [delete-generic-password] [-a] [audit@example.com] [-s] [heroku-cli]\n",
        ] {
            assert!(log.contains(call), "{call}\n{log}");
        }
    }
}
