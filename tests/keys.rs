//! `herossh keys`, `keys add|remove|clear` against the in-process Platform API stand-in, with
//! real ssh-keygen keys and ssh-keygen as the fingerprint oracle. Every flow asserts stdout,
//! stderr, the exit code and the request log (what was sent, and what was not).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::fake_api::*;
use crate::support::pty::Pty;
use crate::support::{TestEnv, mode, out};

const TOKEN: &str = "tok-keys-5f1e2d3c4b5a";
const EMAIL: &str = "dev@example.com";

struct World {
    env: TestEnv,
    api: FakeApi,
}

impl World {
    fn new() -> World {
        let api = FakeApi::start();
        api.add_token(TOKEN, EMAIL);
        World {
            env: TestEnv::new(),
            api,
        }
    }

    /// `herossh ARGS` pointed at the stand-in with the account's token.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
        let mut cmd = self.env.herossh();
        cmd.env("HEROKU_HOST", self.api.url())
            .env("HEROKU_API_KEY", TOKEN);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let o = cmd.args(args).output().unwrap();
        let (so, se) = out(&o);
        assert!(!so.contains(TOKEN) && !se.contains(TOKEN), "token leaked");
        (o.status.code().unwrap(), so, se)
    }

    /// A real key in `~/.ssh/NAME` (+ .pub); returns the .pub path and its line.
    fn ssh_key(&self, name: &str, kind: &str, comment: &str) -> (PathBuf, String) {
        let (p, line) = ssh_keygen(&self.env.ssh_dir(), name, kind, comment);
        (pub_of(&p), line)
    }

    /// A real key in the scratch directory (outside ~/.ssh).
    fn scratch_key(&self, name: &str, comment: &str) -> (PathBuf, String) {
        let (p, line) = ssh_keygen(&self.env.scratch(), name, "ed25519", comment);
        (pub_of(&p), line)
    }
}

fn pub_of(private: &Path) -> PathBuf {
    PathBuf::from(format!("{}.pub", private.display()))
}

/// The list line herossh prints: TYPE first10...last10 [COMMENT]  SHA256 (from ssh-keygen).
fn expected_line(pub_path: &Path, line: &str) -> String {
    let f: Vec<&str> = line.split_whitespace().collect();
    let data = f[1];
    let mut s = format!("{} {}...{}", f[0], &data[..10], &data[data.len() - 10..]);
    if f.len() > 2 {
        s.push(' ');
        s.push_str(&f[2..].join(" "));
    }
    s.push_str("  ");
    s.push_str(&ssh_keygen_fingerprint(pub_path, "sha256"));
    s
}

fn md5_of(pub_path: &Path) -> String {
    ssh_keygen_fingerprint(pub_path, "md5")
        .trim_start_matches("MD5:")
        .to_string()
}

// ---------------------------------------------------------------- list

#[test]
fn list_shows_account_header_abbreviated_keys_and_sha256() {
    let w = World::new();
    let (p1, l1) = w.scratch_key("work", "work@laptop");
    let (p2, l2) = w.scratch_key("bare", "");
    w.api.add_key(EMAIL, &l1);
    w.api.add_key(EMAIL, &l2);
    let (code, so, se) = w.run(&["keys"]);
    assert_eq!(code, 0, "{se}");
    assert_eq!(
        so,
        format!(
            "=== {EMAIL} keys\n{}\n{}\n",
            expected_line(&p1, &l1),
            expected_line(&p2, &l2)
        )
    );
    assert!(!so.contains("undefined"));
    assert_eq!(se, "");
    // Both requests go out at once; their arrival order is not fixed.
    let mut sent = w.api.request_lines();
    sent.sort();
    assert_eq!(sent, ["GET /account", "GET /account/keys"]);

    // The Heroku spelling and the explicit subcommand say the same.
    assert_eq!(w.run(&["keys:list"]).1, so);
    assert_eq!(w.run(&["keys", "list"]).1, so);
}

#[test]
fn list_long_prints_full_keys_and_json_the_api_objects() {
    let w = World::new();
    let (p1, l1) = w.scratch_key("work", "work@laptop");
    let stored = w.api.add_key(EMAIL, &l1);
    let sha = ssh_keygen_fingerprint(&p1, "sha256");
    let (code, so, _) = w.run(&["keys", "--long"]);
    assert_eq!(code, 0);
    assert_eq!(so, format!("=== {EMAIL} keys\n{l1}  {sha}\n"));

    let (code, so, se) = w.run(&["keys", "--json"]);
    assert_eq!((code, se.as_str()), (0, ""));
    assert_eq!(
        serde_json::from_str::<Value>(&so).unwrap(),
        json!([{
            "id": stored.id,
            "comment": "work@laptop",
            "email": "work@laptop",
            "fingerprint": md5_of(&p1),
            "public_key": l1,
            "created_at": CREATED_AT,
            "updated_at": CREATED_AT,
            "fingerprint_sha256": sha,
        }])
    );
}

#[test]
fn list_with_no_keys_says_so_on_stderr() {
    let w = World::new();
    let (code, so, se) = w.run(&["keys"]);
    assert_eq!(
        (code, so.as_str(), se.as_str()),
        (0, "", "You have no SSH keys.\n")
    );
    let (code, so, _) = w.run(&["keys", "--json"]);
    assert_eq!((code, so.as_str()), (0, "[]\n"));
}

#[test]
fn not_logged_in_is_exit_4_without_any_request() {
    let w = World::new();
    let o = w
        .env
        .herossh()
        .env("HEROKU_HOST", w.api.url())
        .args(["keys"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4));
    assert!(
        out(&o).1.starts_with("herossh: not logged in"),
        "{}",
        out(&o).1
    );
    assert!(w.api.requests().is_empty());
}

// ---------------------------------------------------------------- faults

#[test]
fn refused_token_is_exit_4_with_error_id() {
    let w = World::new();
    let o = w
        .env
        .herossh()
        .env("HEROKU_HOST", w.api.url())
        .env("HEROKU_API_KEY", "not-a-valid-token-xyz")
        .args(["keys"])
        .output()
        .unwrap();
    let (so, se) = out(&o);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(so, "");
    assert_eq!(
        se,
        format!(
            "herossh: {MSG_UNAUTHORIZED}\nError ID: unauthorized\nThe Platform API refused your \
             token: log in again with `herossh auth login`, or check HEROKU_API_KEY.\n"
        )
    );
    assert!(!se.contains("not-a-valid-token-xyz"));
}

#[test]
fn forbidden_is_exit_4() {
    let w = World::new();
    w.api
        .fail_next(403, &error_body("suspended", "This account is suspended."));
    let (code, _, se) = w.run(&["keys"]);
    assert_eq!(code, 4);
    assert_eq!(
        se,
        "herossh: This account is suspended.\nError ID: suspended\n"
    );
}

#[test]
fn rate_limit_then_success_is_retried() {
    let w = World::new();
    let (_, l1) = w.scratch_key("a", "a");
    w.api.add_key(EMAIL, &l1);
    w.api.fail_next_for(
        "GET /account/keys",
        Fault::Respond {
            status: 429,
            headers: vec![("Retry-After".into(), "0".into())],
            body: error_body("rate_limit", MSG_RATE_LIMIT),
        },
    );
    let (code, so, se) = w.run(&["keys"]);
    assert_eq!(code, 0, "{se}");
    assert!(so.starts_with(&format!("=== {EMAIL} keys\n")));
    let mut sent = w.api.request_lines();
    sent.sort();
    assert_eq!(
        sent,
        ["GET /account", "GET /account/keys", "GET /account/keys"]
    );
}

#[test]
fn server_errors_exhaust_three_tries_then_exit_3() {
    let w = World::new();
    for _ in 0..3 {
        w.api.fail_next_for(
            "GET /account/keys",
            Fault::Respond {
                status: 503,
                headers: vec![],
                body: error_body("unavailable", "Heroku is down."),
            },
        );
    }
    let (code, so, se) = w.run(&["keys"]);
    assert_eq!((code, so.as_str()), (3, ""));
    assert_eq!(se, "herossh: Heroku is down.\nError ID: unavailable\n");
    let keys_gets = w
        .api
        .request_lines()
        .iter()
        .filter(|l| *l == "GET /account/keys")
        .count();
    assert_eq!(keys_gets, 3);
}

#[test]
fn garbage_and_truncated_bodies_are_unexpected_responses() {
    for fault in [Fault::Garbage, Fault::TruncatedJson, Fault::ShortBody] {
        let w = World::new();
        w.api.fail_next_with(fault.clone());
        let (code, so, se) = w.run(&["keys"]);
        assert_eq!((code, so.as_str()), (3, ""), "{fault:?}");
        assert_eq!(
            se, "herossh: unexpected response from the Platform API (HTTP 200)\n",
            "{fault:?}"
        );
    }
}

#[test]
fn slow_response_times_out_per_herossh_timeout() {
    let w = World::new();
    w.api.fail_next_with(Fault::Slow(Duration::from_secs(5)));
    let (code, _, se) = w.run_with(&["keys"], &[("HEROSSH_TIMEOUT", "0.5")]);
    assert_eq!(code, 3);
    assert_eq!(
        se,
        format!(
            "herossh: the Platform API at {} did not answer within 0.5 s (set HEROSSH_TIMEOUT \
             to the number of seconds to wait)\n",
            w.api.url()
        )
    );
    let (code, _, se) = w.run_with(&["keys"], &[("HEROSSH_TIMEOUT", "soon")]);
    assert_eq!(code, 2);
    assert_eq!(
        se,
        "herossh: HEROSSH_TIMEOUT must be a number of seconds greater than 0 and at most 86400 \
         (fractions allowed, e.g. 2.5), not \"soon\"\n"
    );
}

// ---------------------------------------------------------------- add

#[test]
fn add_file_uploads_it() {
    let w = World::new();
    let (p, line) = w.scratch_key("deploy", "deploy@ci");
    let (code, so, se) = w.run(&["keys", "add", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{se}");
    assert_eq!(so, "");
    assert_eq!(se, format!("Uploading {} SSH key... done\n", p.display()));
    let keys = w.api.keys(EMAIL);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].fingerprint, md5_of(&p));
    assert_eq!(keys[0].public_key, line);
    let reqs = w.api.requests();
    assert_eq!(
        w.api.request_lines(),
        ["GET /account/keys", "POST /account/keys"]
    );
    assert_eq!(
        serde_json::from_str::<Value>(&reqs[1].body).unwrap(),
        json!({ "public_key": line })
    );
}

#[test]
fn add_discovers_the_single_key_with_yes() {
    let w = World::new();
    let (p, _) = w.ssh_key("id_ed25519", "ed25519", "me@box");
    let (code, _, se) = w.run(&["keys:add", "-y"]);
    assert_eq!(code, 0, "{se}");
    assert_eq!(
        se,
        "Found an SSH public key at ~/.ssh/id_ed25519.pub\n\
         Uploading ~/.ssh/id_ed25519.pub SSH key... done\n"
    );
    assert_eq!(w.api.keys(EMAIL)[0].fingerprint, md5_of(&p));
}

#[test]
fn add_without_terminal_or_yes_asks_nothing_and_sends_nothing() {
    let w = World::new();
    w.ssh_key("id_ed25519", "ed25519", "me@box");
    let (code, _, se) = w.run(&["keys", "add"]);
    assert_eq!(code, 2);
    assert_eq!(
        se,
        "Found an SSH public key at ~/.ssh/id_ed25519.pub\nherossh: cannot ask without a \
         terminal; pass -y to upload it, or give the FILE to upload\n"
    );
    assert!(w.api.requests().is_empty());
}

#[test]
fn add_with_several_candidates_off_a_terminal_lists_them() {
    let w = World::new();
    w.ssh_key("zz_other", "ed25519", "o");
    w.ssh_key("id_rsa", "ed25519", "r");
    w.ssh_key("id_ed25519", "ed25519", "e");
    let (code, _, se) = w.run(&["keys", "add", "-y"]);
    assert_eq!(code, 2);
    assert_eq!(
        se,
        "herossh: several SSH public keys found; say which one to upload: herossh keys add \
         FILE\n  ~/.ssh/id_ed25519.pub\n  ~/.ssh/id_rsa.pub\n  ~/.ssh/zz_other.pub\n"
    );
    assert!(w.api.requests().is_empty());
}

#[test]
fn add_with_no_ssh_dir_refuses_without_yes() {
    let w = World::new();
    let (code, _, se) = w.run(&["keys", "add"]);
    assert_eq!(code, 2);
    assert_eq!(
        se,
        "Could not find an SSH public key in ~/.ssh.\nherossh: no SSH public key to upload; pass \
         -y to generate a 3072-bit RSA key without passphrase at ~/.ssh/id_rsa, or make one \
         yourself with `herossh keygen` and run `herossh keys add FILE.pub`\n"
    );
    assert!(!w.env.home().join(".ssh").exists());
    assert!(w.api.requests().is_empty());
}

#[test]
fn add_with_no_ssh_dir_and_yes_generates_and_uploads() {
    let w = World::new();
    let (code, _, se) = w.run(&["keys", "add", "-y"]);
    assert_eq!(code, 0, "{se}");
    assert_eq!(
        se,
        "Could not find an SSH public key in ~/.ssh.\n\
         Generating a 3072-bit RSA key without passphrase at ~/.ssh/id_rsa\n\
         Uploading ~/.ssh/id_rsa.pub SSH key... done\n"
    );
    let ssh = w.env.home().join(".ssh");
    assert_eq!(mode(&ssh), 0o700);
    assert_eq!(mode(&ssh.join("id_rsa")), 0o600);
    assert_eq!(mode(&ssh.join("id_rsa.pub")), 0o644);
    // ssh-keygen agrees the private key is an unencrypted 3072-bit RSA key matching the .pub.
    let y = std::process::Command::new("ssh-keygen")
        .args(["-y", "-P", "", "-f"])
        .arg(ssh.join("id_rsa"))
        .output()
        .unwrap();
    assert!(y.status.success());
    let pub_line = std::fs::read_to_string(ssh.join("id_rsa.pub")).unwrap();
    let derived = String::from_utf8(y.stdout).unwrap();
    assert_eq!(
        derived.split_whitespace().take(2).collect::<Vec<_>>(),
        pub_line.split_whitespace().take(2).collect::<Vec<_>>()
    );
    let l = std::process::Command::new("ssh-keygen")
        .args(["-l", "-f"])
        .arg(ssh.join("id_rsa.pub"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&l.stdout).starts_with("3072 SHA256:"));
    assert_eq!(
        w.api.keys(EMAIL)[0].fingerprint,
        md5_of(&ssh.join("id_rsa.pub"))
    );
}

#[test]
fn add_rejects_private_empty_and_malformed_files_before_any_request() {
    let w = World::new();
    let (p, _) = w.scratch_key("secret", "c");
    let private = p.with_extension("");
    let empty = w.env.write("empty.pub", "");
    let bad = w
        .env
        .write("bad.pub", "# my key\nssh-ed25519 AAAA!!notbase64 me\n");
    let cases = [
        (
            private.clone(),
            format!(
                "{}: this is a private key, not a public key; use the matching .pub file (or \
                 recreate it with `ssh-keygen -y -f PRIVATE_KEY`)",
                private.display()
            ),
        ),
        (
            empty.clone(),
            format!("{}: empty, no public key in it", empty.display()),
        ),
        (
            bad.clone(),
            format!(
                "{} line 2: malformed `ssh-ed25519` key data (invalid base64 character '!')",
                bad.display()
            ),
        ),
    ];
    for (file, expected) in cases {
        let (code, so, se) = w.run(&["keys", "add", file.to_str().unwrap()]);
        assert_eq!((code, so.as_str()), (1, ""), "{se}");
        assert!(
            se.starts_with(&format!("herossh: {expected}")),
            "{se}\nexpected: {expected}"
        );
        assert!(!se.contains("PRIVATE KEY-----"), "private key text echoed");
    }
    assert!(w.api.requests().is_empty());
    // The private key is untouched.
    assert_eq!(mode(&private), 0o600);
}

/// The key a converted file must give: `ssh-keygen -i -f FILE`'s output (type and base64).
fn ssh_keygen_import(file: &Path) -> String {
    let o = std::process::Command::new("ssh-keygen")
        .args(["-i", "-f"])
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim_end().to_string()
}

fn puttygen(args: &[&str]) -> std::process::Output {
    let o = std::process::Command::new("puttygen")
        .args(args)
        .output()
        .expect("puttygen (putty-tools) is installed by scripts/test");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// `keys add` takes what people paste or save: an authorized_keys line with options (the key
/// is uploaded, the options are dropped and it says so), an RFC 4716 key from `ssh-keygen -e`
/// and PuTTYgen's public key file (converted as `ssh-keygen -i` does), and a file with a BOM,
/// CRLF and trailing blanks. What reaches the API is the plain OpenSSH line each time.
#[test]
fn add_accepts_options_ssh2_putty_and_sloppy_files() {
    let w = World::new();
    let upload = |file: &Path| -> (String, String) {
        let (code, so, se) = w.run(&["keys", "add", file.to_str().unwrap()]);
        assert_eq!((code, so.as_str()), (0, ""), "{se}");
        let sent = w.api.requests().last().unwrap().body.clone();
        let v: Value = serde_json::from_str(&sent).unwrap();
        (v["public_key"].as_str().unwrap().to_string(), se)
    };

    // An authorized_keys line: quoted options with a blank and an escaped quote inside.
    let (_, line) = w.scratch_key("opts", "opts@laptop");
    let options = r#"from="10.0.0.1,192.168.0.0/16",command="echo \"hi there\"",no-pty"#;
    let f = w.env.write("authorized.pub", format!("{options} {line}\n"));
    let (sent, se) = upload(&f);
    assert_eq!(sent, line);
    assert_eq!(
        se,
        "~/authorized.pub: the authorized_keys options `from=\"10.0.0.1,192.168.0.0/16\",\
         command=\"echo \\\"hi there\\\"\",no-pty` were dropped: Heroku stores the key only\n\
         Uploading ~/authorized.pub SSH key... done\n"
    );

    // RFC 4716 as `ssh-keygen -e` writes it: the same key as `ssh-keygen -i` reads back, with
    // the Comment header as its comment.
    let (p, _) = w.scratch_key("ssh2", "ssh2@laptop");
    let e = std::process::Command::new("ssh-keygen")
        .args(["-e", "-f"])
        .arg(&p)
        .output()
        .unwrap();
    let f = w.env.write("ssh2.pub", &e.stdout);
    let header = String::from_utf8_lossy(&e.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("Comment: \"")
                .map(|c| c.trim_end_matches('"').to_string())
        })
        .unwrap();
    let (sent, se) = upload(&f);
    assert_eq!(sent, format!("{} {header}", ssh_keygen_import(&f)));
    assert!(
        se.starts_with(&format!(
            "~/ssh2.pub: converted from the SSH2 (RFC 4716) format, as `ssh-keygen -i` does; \
             its Comment header \"{header}\" is the key's comment\n"
        )),
        "{se}"
    );

    // PuTTYgen's public key file (RFC 4716, quoted comment with escapes), RSA and Ed25519:
    // the same line PuTTYgen itself exports in OpenSSH form.
    for kind in ["ed25519", "rsa"] {
        let ppk = w.env.scratch().join(format!("putty-{kind}.ppk"));
        let ppk_s = ppk.to_str().unwrap();
        puttygen(&[
            "-t",
            kind,
            "-o",
            ppk_s,
            "--new-passphrase",
            "/dev/null",
            "-C",
            r#"putty "key""#,
        ]);
        let pubf = w.env.scratch().join(format!("putty-{kind}.pub"));
        puttygen(&[ppk_s, "-O", "public", "-o", pubf.to_str().unwrap()]);
        let openssh = String::from_utf8(puttygen(&[ppk_s, "-O", "public-openssh"]).stdout).unwrap();
        let (sent, _) = upload(&pubf);
        assert_eq!(sent, openssh.trim_end(), "{kind}");
        assert!(sent.starts_with(&format!("{} ", ssh_keygen_import(&pubf))));
    }

    // A byte-order mark, CRLF, trailing blanks and a tab between the fields.
    let (_, line) = w.scratch_key("sloppy", "sloppy@laptop");
    let fields: Vec<&str> = line.split(' ').collect();
    let f = w.env.write(
        "sloppy.pub",
        format!(
            "\u{feff}{}\t{}  {}  \r\n\r\n",
            fields[0], fields[1], fields[2]
        ),
    );
    let (sent, se) = upload(&f);
    assert_eq!(sent, line);
    assert_eq!(se, "Uploading ~/sloppy.pub SSH key... done\n");
    assert_eq!(w.api.keys(EMAIL).len(), 5);
}

/// Things that are not a key to upload are refused before any request, with what to do:
/// a certificate names the key it certifies, a PuTTY private key gets the puttygen command
/// (which, run as told, gives a file `keys add` takes).
#[test]
fn add_refuses_certificates_and_putty_private_keys_with_the_fix() {
    let w = World::new();
    let (key_pub, _) = w.scratch_key("user", "user@laptop");
    let (ca, _) = w.scratch_key("ca", "ca");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-s"])
        .arg(ca.with_extension(""))
        .args(["-I", "id", "-n", "user"])
        .arg(&key_pub)
        .status()
        .unwrap();
    assert!(st.success());
    let cert = w.env.scratch().join("user-cert.pub");
    let (code, so, se) = w.run(&["keys", "add", cert.to_str().unwrap()]);
    assert_eq!((code, so.as_str()), (1, ""));
    assert_eq!(
        se,
        format!(
            "herossh: {} line 1: an OpenSSH certificate, not a key: Heroku stores plain public keys. \
             Upload the key it certifies ({}) instead: herossh keys add {}\n",
            cert.display(),
            ssh_keygen_fingerprint(&key_pub, "sha256"),
            key_pub.display()
        )
    );

    let ppk = w.env.scratch().join("putty.ppk");
    puttygen(&[
        "-t",
        "ed25519",
        "-o",
        ppk.to_str().unwrap(),
        "--new-passphrase",
        "/dev/null",
    ]);
    let (code, so, se) = w.run(&["--json", "keys", "add", ppk.to_str().unwrap()]);
    assert_eq!(code, 1);
    let advice = format!(
        "puttygen {} -O public-openssh -o {}",
        ppk.display(),
        ppk.with_extension("pub").display()
    );
    assert_eq!(
        se,
        format!(
            "herossh: {}: a PuTTY private key (.ppk), not a public key; export its public half \
             in OpenSSH form and upload that: {advice}\n",
            ppk.display()
        )
    );
    let v: Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v["error"]["code"], "invalid_key");
    assert_eq!(v["error"]["exit"], 1);
    assert!(w.api.requests().is_empty());
    // The advice works.
    let args: Vec<&str> = advice.split(' ').skip(1).collect();
    puttygen(&args);
    let (code, _, se) = w.run(&["keys", "add", ppk.with_extension("pub").to_str().unwrap()]);
    assert_eq!(code, 0, "{se}");
}

/// An ECDSA or DSA upload carries the warning keygen gives for that type, word for word.
#[test]
fn add_of_ecdsa_or_dsa_warns_like_keygen() {
    let w = World::new();
    for (kind, flag) in [("ecdsa", "ecdsa"), ("dsa", "dsa")] {
        let (p, _) = ssh_keygen(&w.env.scratch(), &format!("k-{kind}"), kind, "c");
        let (code, _, se) = w.run(&["keys", "add", pub_of(&p).to_str().unwrap()]);
        assert_eq!(code, 0, "{se}");
        let warning = se.lines().next().unwrap().to_string();
        assert!(warning.starts_with(" ›   Warning: "), "{se}");
        let (_, _, keygen_se) = w.run(&[
            "keygen",
            "-t",
            flag,
            "--no-passphrase",
            "-f",
            w.env
                .scratch()
                .join(format!("new-{kind}"))
                .to_str()
                .unwrap(),
        ]);
        assert!(
            keygen_se.lines().any(|l| l == warning),
            "{warning}\n{keygen_se}"
        );
    }
}

#[test]
fn add_of_a_key_already_on_the_account_sends_no_post() {
    let w = World::new();
    let (p, line) = w.scratch_key("k", "c");
    w.api.add_key(EMAIL, &line);
    let sha = ssh_keygen_fingerprint(&p, "sha256");
    let (code, so, se) = w.run(&["keys", "add", p.to_str().unwrap()]);
    assert_eq!((code, so.as_str()), (0, ""));
    assert_eq!(
        se,
        format!(
            "The SSH key {} ({sha}) is already on your account; nothing to do.\n",
            p.display()
        )
    );
    assert_eq!(w.api.request_lines(), ["GET /account/keys"]);
    let (code, so, _) = w.run(&["keys", "add", p.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v["added"], Value::Null);
    assert_eq!(v["already_present"]["fingerprint_sha256"], sha);
}

#[test]
fn add_of_a_key_of_another_account_explains_one_key_one_account() {
    let w = World::new();
    w.api.add_token("other", "other@example.com");
    let (p, line) = w.scratch_key("k", "c");
    w.api.add_key("other@example.com", &line);
    let (code, _, se) = w.run(&["keys", "add", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        se,
        format!(
            "Uploading {path} SSH key... failed\nherossh: {MSG_KEY_IN_USE}\nError ID: \
             invalid_params\nThe key {path} is already on another Heroku account. One SSH key \
             can belong to only one Heroku account, so this account needs its own key:\n  \
             herossh keygen -t ed25519 -f ~/.ssh/id_ed25519_heroku\n  herossh keys add \
             ~/.ssh/id_ed25519_heroku.pub\nThen make ssh offer it for Heroku: herossh fix-config \
             --host heroku.com -i ~/.ssh/id_ed25519_heroku\n",
            path = p.display()
        )
    );
    assert_eq!(
        w.api.request_lines(),
        ["GET /account/keys", "POST /account/keys"]
    );
    assert!(w.api.keys(EMAIL).is_empty());
}

#[test]
fn add_refused_as_invalid_by_the_api_is_exit_1_and_not_retried() {
    let w = World::new();
    let (p, _) = w.scratch_key("k", "c");
    w.api.fail_next_for(
        "POST",
        Fault::Respond {
            status: 422,
            headers: vec![],
            body: error_body("invalid_params", MSG_INVALID_KEY),
        },
    );
    let (code, _, se) = w.run(&["keys", "add", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        se,
        format!(
            "Uploading {} SSH key... failed\nherossh: {MSG_INVALID_KEY}\nError ID: invalid_params\n",
            p.display()
        )
    );
    // A 503 on POST is not retried either.
    w.api.fail_next_for(
        "POST",
        Fault::Respond {
            status: 503,
            headers: vec![],
            body: error_body("unavailable", "down"),
        },
    );
    let (code, _, _) = w.run(&["keys", "add", p.to_str().unwrap()]);
    assert_eq!(code, 3);
    let posts = w
        .api
        .request_lines()
        .iter()
        .filter(|l| l.starts_with("POST"))
        .count();
    assert_eq!(posts, 2);
}

#[test]
fn add_json_prints_the_added_key() {
    let w = World::new();
    let (p, line) = w.scratch_key("k", "c");
    let (code, so, _) = w.run(&["--json", "keys", "add", p.to_str().unwrap()]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v["added"]["public_key"], line);
    assert_eq!(
        v["added"]["fingerprint_sha256"],
        ssh_keygen_fingerprint(&p, "sha256")
    );
    assert_eq!(v["already_present"], Value::Null);
}

// ---------------------------------------------------------------- remove

/// Three keys: "work", and two sharing the comment "laptop".
fn three_keys(w: &World) -> Vec<(PathBuf, String, FakeKey)> {
    [("a", "work"), ("b", "laptop"), ("c", "laptop")]
        .iter()
        .map(|(n, c)| {
            let (p, l) = w.scratch_key(n, c);
            let k = w.api.add_key(EMAIL, &l);
            (p, l, k)
        })
        .collect()
}

#[test]
fn remove_by_comment_sha256_md5_id_or_unique_substring() {
    let w = World::new();
    let keys = three_keys(&w);
    let (pa, la, ka) = &keys[0];
    let sha = ssh_keygen_fingerprint(pa, "sha256");
    let md5 = ssh_keygen_fingerprint(pa, "md5");
    let data = la.split_whitespace().nth(1).unwrap();
    let piece = &data[data.len() - 16..];
    for query in ["work", sha.as_str(), md5.as_str(), &ka.id, piece] {
        // Put key a back (same key, new id) before each removal.
        let current = w
            .api
            .keys(EMAIL)
            .into_iter()
            .find(|k| k.public_key == *la)
            .unwrap_or_else(|| w.api.add_key(EMAIL, la));
        let query = if query == ka.id {
            current.id.clone()
        } else {
            query.to_string()
        };
        let (code, so, se) = w.run(&["keys", "remove", &query]);
        assert_eq!((code, so.as_str()), (0, ""), "{query}: {se}");
        assert_eq!(
            se,
            format!("Removed {}\n", expected_line(pa, la)),
            "{query}"
        );
        assert!(
            w.api.request_lines().last().unwrap()
                == &format!("DELETE /account/keys/{}", current.id),
            "{query}"
        );
        assert_eq!(w.api.keys(EMAIL).len(), 2, "{query}");
    }
}

#[test]
fn remove_of_a_shared_comment_needs_yes() {
    let w = World::new();
    let keys = three_keys(&w);
    let (code, _, se) = w.run(&["keys:remove", "laptop"]);
    assert_eq!(code, 2);
    assert_eq!(
        se,
        format!(
            "2 SSH keys have the comment \"laptop\":\n  {}\n  {}\nherossh: cannot ask without a \
             terminal; pass -y to remove them all, or name one by its SHA256 fingerprint\n",
            expected_line(&keys[1].0, &keys[1].1),
            expected_line(&keys[2].0, &keys[2].1)
        )
    );
    assert!(
        !w.api
            .request_lines()
            .iter()
            .any(|l| l.starts_with("DELETE"))
    );
    assert_eq!(w.api.keys(EMAIL).len(), 3);

    let (code, so, se) = w.run(&["keys", "remove", "laptop", "-y", "--json"]);
    assert_eq!(code, 0, "{se}");
    let v: Value = serde_json::from_str(&so).unwrap();
    let removed: Vec<&str> = v["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(removed, [keys[1].2.id.as_str(), keys[2].2.id.as_str()]);
    assert_eq!(v["failed"], json!([]));
    assert_eq!(w.api.keys(EMAIL), vec![keys[0].2.clone()]);
}

#[test]
fn remove_of_an_ambiguous_substring_deletes_nothing() {
    let w = World::new();
    let keys = three_keys(&w);
    // Every ed25519 key line contains this prefix.
    let (code, _, se) = w.run(&["keys", "remove", "AAAAC3NzaC1lZDI1NTE5"]);
    assert_eq!(code, 1);
    let lines: Vec<String> = keys.iter().map(|(p, l, _)| expected_line(p, l)).collect();
    assert_eq!(
        se,
        format!(
            "herossh: \"AAAAC3NzaC1lZDI1NTE5\" matches 3 SSH keys; nothing removed. Name one by \
             its comment, SHA256 fingerprint or id:\n  {}\n",
            lines.join("\n  ")
        )
    );
    assert_eq!(w.api.request_lines(), ["GET /account/keys"]);
}

#[test]
fn remove_of_an_unknown_key_lists_what_is_there() {
    let w = World::new();
    let keys = three_keys(&w);
    let (code, _, se) = w.run(&["keys", "remove", "nosuchkey"]);
    assert_eq!(code, 1);
    let lines: Vec<String> = keys.iter().map(|(p, l, _)| expected_line(p, l)).collect();
    assert_eq!(
        se,
        format!(
            "herossh: SSH key nosuchkey not found. Your SSH keys:\n  {}\n",
            lines.join("\n  ")
        )
    );
    assert_eq!(w.api.request_lines(), ["GET /account/keys"]);
}

#[test]
fn remove_of_a_key_gone_meanwhile_reports_the_404() {
    let w = World::new();
    let keys = three_keys(&w);
    w.api.fail_next_for(
        "DELETE",
        Fault::Respond {
            status: 404,
            headers: vec![],
            body: error_body("not_found", MSG_KEY_NOT_FOUND),
        },
    );
    let (code, _, se) = w.run(&["keys", "remove", "work"]);
    assert_eq!(code, 1);
    assert_eq!(
        se,
        format!(
            "herossh: could not remove {}: {MSG_KEY_NOT_FOUND} Error ID: not_found\n",
            expected_line(&keys[0].0, &keys[0].1)
        )
    );
}

// ---------------------------------------------------------------- clear

#[test]
fn clear_without_yes_off_a_terminal_removes_nothing() {
    let w = World::new();
    let keys = three_keys(&w);
    let (code, _, se) = w.run(&["keys", "clear"]);
    assert_eq!(code, 2);
    let lines: Vec<String> = keys.iter().map(|(p, l, _)| expected_line(p, l)).collect();
    assert_eq!(
        se,
        format!(
            "This removes 3 SSH keys from your Heroku account:\n  {}\nherossh: nothing removed: \
             `keys clear` needs a terminal to confirm; pass -y to remove them all\n",
            lines.join("\n  ")
        )
    );
    assert_eq!(w.api.request_lines(), ["GET /account/keys"]);
    assert_eq!(w.api.keys(EMAIL).len(), 3);
}

#[test]
fn clear_with_yes_deletes_every_key_and_reports_each() {
    let w = World::new();
    let keys = three_keys(&w);
    let (code, so, se) = w.run(&["keys:clear", "-y"]);
    assert_eq!((code, so.as_str()), (0, ""), "{se}");
    let lines: Vec<String> = keys.iter().map(|(p, l, _)| expected_line(p, l)).collect();
    let removed: Vec<String> = lines.iter().map(|l| format!("Removed {l}\n")).collect();
    assert_eq!(
        se,
        format!(
            "This removes 3 SSH keys from your Heroku account:\n  {}\n{}",
            lines.join("\n  "),
            removed.concat()
        )
    );
    assert!(w.api.keys(EMAIL).is_empty());
    let mut deletes: Vec<String> = w
        .api
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("DELETE"))
        .collect();
    deletes.sort();
    let mut expected: Vec<String> = keys
        .iter()
        .map(|(_, _, k)| format!("DELETE /account/keys/{}", k.id))
        .collect();
    expected.sort();
    assert_eq!(deletes, expected);
}

#[test]
fn clear_reports_a_failed_delete_and_exits_with_its_class() {
    let w = World::new();
    let keys = three_keys(&w);
    let target = format!("DELETE /account/keys/{}", keys[1].2.id);
    for _ in 0..3 {
        w.api.fail_next_for(
            &target,
            Fault::Respond {
                status: 503,
                headers: vec![],
                body: error_body("unavailable", "down"),
            },
        );
    }
    let (code, so, se) = w.run(&["keys", "clear", "-y", "--json"]);
    assert_eq!(code, 3);
    let v: Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v["removed"].as_array().unwrap().len(), 2);
    assert_eq!(v["failed"][0]["key"]["id"], keys[1].2.id.as_str());
    assert_eq!(v["failed"][0]["error"], "down\nError ID: unavailable");
    assert!(
        se.contains(&format!(
            "herossh: could not remove {}: down Error ID: unavailable\n",
            expected_line(&keys[1].0, &keys[1].1)
        )),
        "{se}"
    );
    assert_eq!(w.api.keys(EMAIL), vec![keys[1].2.clone()]);
}

#[test]
fn clear_with_no_keys_says_so() {
    let w = World::new();
    let (code, _, se) = w.run(&["keys", "clear"]);
    assert_eq!((code, se.as_str()), (0, "You have no SSH keys.\n"));
}

// ---------------------------------------------------------------- prompts on a terminal

impl World {
    /// `herossh ARGS` on a pseudo-terminal, pointed at the stand-in with the account's token.
    fn on_tty(&self, args: &[&str]) -> Pty {
        let mut cmd = std::process::Command::new(crate::support::herossh_bin());
        self.env.apply(&mut cmd);
        cmd.current_dir(self.env.home())
            .env("HEROKU_HOST", self.api.url())
            .env("HEROKU_API_KEY", TOKEN)
            .args(args);
        Pty::spawn(cmd)
    }
}

/// Ends the session: exit code and the rest of the transcript without escape sequences,
/// checking the token never reached the terminal.
fn finish(pty: Pty) -> (i32, String) {
    let (status, rest, transcript) = pty.finish();
    assert!(!transcript.contains(TOKEN), "token leaked");
    (status.code().unwrap(), strip_ansi(&rest))
}

/// The text of terminal output without colour and cursor escape sequences.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn clear_on_a_terminal_asks_and_yes_removes_all() {
    let w = World::new();
    let keys = three_keys(&w);
    let lines: Vec<String> = keys.iter().map(|(p, l, _)| expected_line(p, l)).collect();
    let mut pty = w.on_tty(&["keys", "clear"]);
    let listed = pty.expect("Remove them all? [y/N]");
    assert_eq!(
        strip_ansi(&listed),
        format!(
            "This removes 3 SSH keys from your Heroku account:\n  {}\nRemove them all? [y/N]",
            lines.join("\n  ")
        )
    );
    pty.send("y");
    let (code, rest) = finish(pty);
    assert_eq!(code, 0, "{rest}");
    assert!(rest.contains("Remove them all? yes\n"), "{rest:?}");
    // The spinner's frames may precede the report; the report lines are whole.
    for l in &lines {
        assert!(rest.contains(&format!("Removed {l}\n")), "{rest}");
    }
    assert!(w.api.keys(EMAIL).is_empty());
}

#[test]
fn clear_on_a_terminal_defaults_to_no() {
    let w = World::new();
    three_keys(&w);
    let mut pty = w.on_tty(&["keys", "clear"]);
    pty.expect("Remove them all? [y/N]");
    pty.send("\r");
    let (code, rest) = finish(pty);
    assert_eq!(code, 1, "{rest}");
    assert!(
        rest.ends_with("Remove them all? no\nherossh: nothing removed\n"),
        "{rest}"
    );
    assert_eq!(w.api.keys(EMAIL).len(), 3);
    assert_eq!(w.api.request_lines(), ["GET /account/keys"]);
}

#[test]
fn add_on_a_terminal_confirms_the_found_key_default_yes() {
    let w = World::new();
    let (p, _) = w.ssh_key("id_ed25519", "ed25519", "me@box");
    let mut pty = w.on_tty(&["keys", "add"]);
    pty.expect("Found an SSH public key at ~/.ssh/id_ed25519.pub");
    pty.expect("Would you like to upload it to Heroku? [Y/n]");
    pty.send("\r");
    let (code, rest) = finish(pty);
    assert_eq!(code, 0, "{rest}");
    assert!(
        rest.ends_with("Uploading ~/.ssh/id_ed25519.pub SSH key... done\n"),
        "{rest}"
    );
    assert_eq!(w.api.keys(EMAIL)[0].fingerprint, md5_of(&p));

    let w = World::new();
    w.ssh_key("id_ed25519", "ed25519", "me@box");
    let mut pty = w.on_tty(&["keys", "add"]);
    pty.expect("Would you like to upload it to Heroku? [Y/n]");
    pty.send("n");
    let (code, rest) = finish(pty);
    assert_eq!(code, 1, "{rest}");
    assert!(rest.ends_with("herossh: nothing uploaded\n"), "{rest}");
    assert!(w.api.requests().is_empty());
}

#[test]
fn add_on_a_terminal_lets_you_choose_among_several() {
    let w = World::new();
    w.ssh_key("id_ed25519", "ed25519", "e");
    let (p_rsa, _) = w.ssh_key("id_rsa", "ed25519", "r");
    let mut pty = w.on_tty(&["keys", "add"]);
    pty.expect("Which SSH key would you like to upload?");
    pty.expect("~/.ssh/id_rsa.pub");
    // Arrow down once, then Enter: the second candidate.
    pty.send("\u{1b}[B");
    pty.send("\r");
    let (code, rest) = finish(pty);
    assert_eq!(code, 0, "{rest}");
    assert!(
        rest.ends_with("Uploading ~/.ssh/id_rsa.pub SSH key... done\n"),
        "{rest}"
    );
    let keys = w.api.keys(EMAIL);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].fingerprint, md5_of(&p_rsa));
}

#[test]
fn add_on_a_terminal_offers_to_generate_a_key_when_there_is_none() {
    let w = World::new();
    let mut pty = w.on_tty(&["keys", "add"]);
    let asked = pty.expect("[Y/n]");
    assert_eq!(
        strip_ansi(&asked),
        "Could not find an SSH public key in ~/.ssh.\nWould you like to generate a 3072-bit RSA \
         key without passphrase at ~/.ssh/id_rsa? [Y/n]"
    );
    pty.send("\r");
    let (code, rest) = finish(pty);
    assert_eq!(code, 0, "{rest}");
    assert!(
        rest.ends_with("Uploading ~/.ssh/id_rsa.pub SSH key... done\n"),
        "{rest}"
    );
    let pub_path = w.env.home().join(".ssh/id_rsa.pub");
    assert_eq!(w.api.keys(EMAIL)[0].fingerprint, md5_of(&pub_path));
}

#[test]
fn remove_on_a_terminal_confirms_a_shared_comment() {
    let w = World::new();
    let keys = three_keys(&w);
    let mut pty = w.on_tty(&["keys", "remove", "laptop"]);
    pty.expect("Remove all 2 of them? [y/N]");
    pty.send("y");
    let (code, rest) = finish(pty);
    assert_eq!(code, 0, "{rest}");
    assert_eq!(w.api.keys(EMAIL), vec![keys[0].2.clone()]);
}

#[test]
fn debug_logs_show_requests_but_never_the_token() {
    let w = World::new();
    let (_, l1) = w.scratch_key("a", "a");
    w.api.add_key(EMAIL, &l1);
    // `run` fails the test if the token appears anywhere in stdout or stderr.
    let (code, _, se) = w.run(&["-vv", "keys"]);
    assert_eq!(code, 0, "{se}");
    assert!(se.contains("TRACE hyper_util"), "{se}");
    let (code, _, se) = w.run(&["-v", "keys"]);
    assert_eq!(code, 0, "{se}");
    assert!(
        se.contains("DEBUG credentials: token from HEROKU_API_KEY"),
        "{se}"
    );
    assert!(se.contains("GET /account/keys -> HTTP 200"), "{se}");
    assert!(se.contains("GET /account -> HTTP 200"), "{se}");
}
