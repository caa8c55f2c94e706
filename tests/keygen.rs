//! `herossh keygen` against the real `ssh-keygen` as oracle: every type and size, with and
//! without a passphrase, the files' bytes and modes, fingerprints, randomart, the refusals,
//! and the interactive flow through a real pseudo-terminal.

use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{Cipher, Kdf, PrivateKey};

use crate::support::pty::Pty;
use crate::support::{TestEnv, mode, out};

const PASS: &str = "correct horse 42";

/// `ssh-keygen ARGS` in the test environment; returns (exit code, stdout, stderr).
fn ssh_keygen(env: &TestEnv, args: &[&str]) -> (i32, String, String) {
    let o = env
        .program("ssh-keygen")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ssh-keygen");
    let (so, se) = out(&o);
    (o.status.code().unwrap_or(-1), so, se)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 test path")
}

/// The key's fingerprint line and randomart as `ssh-keygen -lv -E hash` prints them:
/// ("BITS FP COMMENT (TYPE)", the 11-line box).
fn oracle_fingerprint(env: &TestEnv, key: &Path, hash: &str) -> (String, String) {
    let (code, so, se) = ssh_keygen(env, &["-lv", "-E", hash, "-f", s(key)]);
    assert_eq!(code, 0, "ssh-keygen -lv failed: {se}");
    let mut lines = so.lines();
    let first = lines.next().unwrap_or_default().to_string();
    let art: Vec<&str> = lines.collect();
    (first, art.join("\n"))
}

struct Case {
    args: &'static [&'static str],
    /// `ssh-keygen -l`'s bits and type column for this key.
    bits: u32,
    label: &'static str,
    type_field: &'static str,
}

const CASES: &[Case] = &[
    Case {
        args: &["-t", "rsa", "-b", "2048"],
        bits: 2048,
        label: "RSA",
        type_field: "ssh-rsa",
    },
    Case {
        args: &["-t", "rsa"],
        bits: 3072,
        label: "RSA",
        type_field: "ssh-rsa",
    },
    Case {
        args: &["-t", "rsa", "-b", "4096"],
        bits: 4096,
        label: "RSA",
        type_field: "ssh-rsa",
    },
    Case {
        args: &["-t", "rsa", "-b", "3001"],
        bits: 3001,
        label: "RSA",
        type_field: "ssh-rsa",
    },
    Case {
        args: &["-t", "dsa"],
        bits: 1024,
        label: "DSA",
        type_field: "ssh-dss",
    },
    Case {
        args: &["-t", "ed25519"],
        bits: 256,
        label: "ED25519",
        type_field: "ssh-ed25519",
    },
    Case {
        args: &["-t", "ecdsa"],
        bits: 256,
        label: "ECDSA",
        type_field: "ecdsa-sha2-nistp256",
    },
    Case {
        args: &["-t", "ecdsa", "-b", "384"],
        bits: 384,
        label: "ECDSA",
        type_field: "ecdsa-sha2-nistp384",
    },
    Case {
        args: &["-t", "ecdsa", "-b", "521"],
        bits: 521,
        label: "ECDSA",
        type_field: "ecdsa-sha2-nistp521",
    },
];

/// Generate one key with herossh and check everything ssh-keygen can tell about it.
fn check_case(env: &TestEnv, case: &Case, index: usize, passphrase: Option<&str>) {
    let key = env
        .ssh_dir()
        .join(format!("k{index}_{}", passphrase.is_some()));
    let comment = format!("case {index} {}", case.label);
    // Passphrase runs print the MD5 form, plain runs the SHA256 form: both pictures get checked.
    let hash = if passphrase.is_some() {
        "md5"
    } else {
        "sha256"
    };
    let mut cmd = env.herossh();
    cmd.arg("keygen")
        .args(case.args)
        .args(["-f", s(&key), "-C", &comment, "-E", hash]);
    match passphrase {
        Some(p) => cmd.arg("--passphrase-stdin").write_stdin(format!("{p}\n")),
        None => cmd.arg("--no-passphrase"),
    };
    let o = cmd.output().unwrap();
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{:?}: {stderr}", case.args);
    assert!(
        !stdout.contains(PASS) && !stderr.contains(PASS),
        "passphrase leaked"
    );
    // Off a terminal stderr carries the banner and the type's warning, no spinner residue.
    let type_name = case.args[1];
    let warning = match type_name {
        "dsa" => {
            " ›   Warning: DSA: OpenSSH 7.0+ clients do not offer ssh-dss keys by default \
                  and OpenSSH 10 removed DSA; GitHub rejects DSA. Prefer -t ed25519 or -t rsa.\n"
        }
        "ecdsa" => {
            " ›   Warning: ECDSA: Heroku does not accept ECDSA keys. Prefer -t ed25519 or \
                    -t rsa for Heroku.\n"
        }
        _ => "",
    };
    assert_eq!(
        stderr,
        format!("Generating public/private {type_name} key pair.\n{warning}")
    );

    // Files: bytes of the .pub are what ssh-keygen derives from the private key; modes.
    let public = PathBuf::from(format!("{}.pub", key.display()));
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&public), 0o644);
    let pub_text = std::fs::read_to_string(&public).unwrap();
    let (code, derived, se) =
        ssh_keygen(env, &["-y", "-P", passphrase.unwrap_or(""), "-f", s(&key)]);
    assert_eq!(code, 0, "ssh-keygen -y {:?}: {se}", case.args);
    assert_eq!(derived, pub_text);
    assert!(pub_text.starts_with(&format!("{} ", case.type_field)));
    assert!(pub_text.ends_with(&format!(" {comment}\n")));

    // Encryption exactly as ssh-keygen does it, and ssh-keygen refuses a wrong passphrase.
    let parsed = PrivateKey::from_openssh(std::fs::read(&key).unwrap()).unwrap();
    if passphrase.is_some() {
        assert_eq!(parsed.cipher(), Cipher::Aes256Ctr);
        assert!(matches!(parsed.kdf(), Kdf::Bcrypt { rounds: 16, .. }));
        let (code, _, se) = ssh_keygen(env, &["-y", "-P", "wrong passphrase", "-f", s(&key)]);
        assert_ne!(code, 0);
        assert!(se.contains("incorrect passphrase"), "{se}");
    } else {
        assert_eq!(parsed.cipher(), Cipher::None);
        assert!(!parsed.is_encrypted());
    }

    // The private half really belongs to the public half: OpenSSH signs with it and verifies
    // the signature against the .pub.
    if passphrase.is_none() {
        sign_and_verify(env, &key, &pub_text);
    }
    // RSA: every CRT component is right (OpenSSL's RSA_check_key, via a PEM copy).
    if case.label == "RSA" {
        let copy = env.scratch().join(format!("pem{index}"));
        std::fs::copy(&key, &copy).unwrap();
        let pass = passphrase.unwrap_or("");
        let (code, _, se) = ssh_keygen(
            env,
            &[
                "-q",
                "-p",
                "-P",
                pass,
                "-N",
                "",
                "-m",
                "PEM",
                "-f",
                s(&copy),
            ],
        );
        assert_eq!(code, 0, "{se}");
        let o = env
            .program("openssl")
            .args(["rsa", "-check", "-noout", "-in"])
            .arg(&copy)
            .output()
            .unwrap();
        assert_eq!(out(&o).0, "RSA key ok\n", "{}", out(&o).1);
    }

    // What herossh printed equals ssh-keygen's fingerprint and randomart.
    let (line, art) = oracle_fingerprint(env, &key, hash);
    let fp = line.split(' ').nth(1).unwrap().to_string();
    assert_eq!(
        line,
        format!("{} {fp} {comment} ({})", case.bits, case.label)
    );
    let expected = format!(
        "Your identification has been saved in {}\nYour public key has been saved in {}\n\
         The key fingerprint is:\n{fp} {comment}\nThe key's randomart image is:\n{art}\n",
        key.display(),
        public.display()
    );
    assert_eq!(stdout, expected, "{:?}", case.args);
}

/// `ssh-keygen -Y sign` with the private key, `-Y verify` against the public line.
fn sign_and_verify(env: &TestEnv, key: &Path, pub_line: &str) {
    let dir = env.scratch();
    let msg = dir.join("message");
    std::fs::write(&msg, b"signed by a herossh key\n").unwrap();
    let sig = dir.join("message.sig");
    let _ = std::fs::remove_file(&sig);
    let (code, _, se) = ssh_keygen(env, &["-Y", "sign", "-f", s(key), "-n", "file", s(&msg)]);
    assert_eq!(code, 0, "sign: {se}");
    let mut fields = pub_line.split(' ');
    let allowed = dir.join("allowed_signers");
    std::fs::write(
        &allowed,
        format!(
            "signer {} {}\n",
            fields.next().unwrap(),
            fields.next().unwrap()
        ),
    )
    .unwrap();
    let o = env
        .program("ssh-keygen")
        .args(["-Y", "verify", "-I", "signer", "-n", "file", "-f"])
        .arg(&allowed)
        .arg("-s")
        .arg(&sig)
        .stdin(std::fs::File::open(&msg).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "verify: {}", out(&o).1);
    assert!(out(&o).0.starts_with("Good \"file\" signature for signer"));
}

#[test]
fn every_type_and_size_agrees_with_ssh_keygen() {
    let env = TestEnv::new();
    for (i, case) in CASES.iter().enumerate() {
        check_case(&env, case, i, None);
        check_case(&env, case, i, Some(PASS));
    }
}

#[test]
fn json_report_matches_ssh_keygen_fingerprints() {
    let env = TestEnv::new();
    let key = env.ssh_dir().join("id_json");
    let o = env
        .herossh()
        .args([
            "--json", "keygen", "-t", "ed25519", "-C", "j@son", "-N", PASS, "-f",
        ])
        .arg(&key)
        .output()
        .unwrap();
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is one JSON document");
    let (sha_line, _) = oracle_fingerprint(&env, &key, "sha256");
    let (md5_line, _) = oracle_fingerprint(&env, &key, "md5");
    let sha = sha_line.split(' ').nth(1).unwrap();
    let md5 = md5_line
        .split(' ')
        .nth(1)
        .unwrap()
        .strip_prefix("MD5:")
        .unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "path": key,
            "public_path": format!("{}.pub", key.display()),
            "type": "ssh-ed25519",
            "bits": 256,
            "fingerprint_sha256": sha,
            "fingerprint_md5": md5,
            "comment": "j@son",
            "encrypted": true,
            "uploaded": false,
            "pinned": null,
            "error": null,
        })
    );
}

#[test]
fn default_path_creates_private_ssh_dir_and_default_comment() {
    let env = TestEnv::new();
    let ssh = env.home().join(".ssh");
    assert!(!ssh.exists());
    let o = env
        .herossh()
        .args(["keygen", "-t", "ed25519", "--no-passphrase"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o).1);
    assert_eq!(mode(&ssh), 0o700);
    let pub_text = std::fs::read_to_string(ssh.join("id_ed25519.pub")).unwrap();
    let host = std::process::Command::new("hostname").output().unwrap();
    let host = String::from_utf8_lossy(&host.stdout).trim().to_string();
    let user = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let user = String::from_utf8_lossy(&user.stdout).trim().to_string();
    assert!(
        pub_text.ends_with(&format!(" {user}@{host}\n")),
        "{pub_text}"
    );
    assert_eq!(mode(&ssh.join("id_ed25519")), 0o600);
}

#[test]
fn refuses_to_overwrite_without_force() {
    let env = TestEnv::new();
    let key = env.write(".ssh/id_rsa", "precious private key\n");
    let o = env
        .herossh()
        .args(["keygen", "--no-passphrase", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "Generating public/private rsa key pair.\nherossh: {} already exists; pass --force to overwrite it\n",
            key.display()
        )
    );
    assert_eq!(std::fs::read(&key).unwrap(), b"precious private key\n");
    assert!(!env.home().join(".ssh/id_rsa.pub").exists());

    // A lone .pub counts too: it would be silently replaced otherwise.
    let lone = env.write(".ssh/lone.pub", "ssh-ed25519 AAAA old\n");
    let o = env
        .herossh()
        .args(["keygen", "-t", "ed25519", "--no-passphrase", "-f"])
        .arg(env.home().join(".ssh/lone"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).1.contains("lone.pub already exists"));
    assert_eq!(std::fs::read(&lone).unwrap(), b"ssh-ed25519 AAAA old\n");

    let o = env
        .herossh()
        .args([
            "keygen",
            "-t",
            "ed25519",
            "--no-passphrase",
            "--force",
            "-f",
        ])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o).1);
    let (code, derived, _) = ssh_keygen(&env, &["-y", "-P", "", "-f", s(&key)]);
    assert_eq!(code, 0);
    assert_eq!(
        derived,
        std::fs::read_to_string(env.home().join(".ssh/id_rsa.pub")).unwrap()
    );
    assert_eq!(mode(&key), 0o600);
}

#[test]
fn without_a_terminal_a_passphrase_flag_is_required() {
    let env = TestEnv::new();
    let o = env
        .herossh()
        .args(["keygen", "-t", "ed25519"])
        .output()
        .unwrap();
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "Generating public/private ed25519 key pair.\nherossh: no terminal to ask for a \
         passphrase; pass --passphrase-stdin (passphrase on the first line of stdin), or \
         --no-passphrase (or -N '') for an unencrypted key\n"
    );
    assert!(!env.home().join(".ssh").exists(), "nothing may be written");

    // -N '' is ssh-keygen's spelling of "no passphrase".
    let o = env
        .herossh()
        .args(["keygen", "-t", "ed25519", "-N", ""])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o).1);
    let parsed =
        PrivateKey::from_openssh(std::fs::read(env.home().join(".ssh/id_ed25519")).unwrap())
            .unwrap();
    assert!(!parsed.is_encrypted());
}

#[test]
fn upload_without_credentials_fails_before_generating() {
    let env = TestEnv::new();
    let o = env
        .herossh()
        .args(["keygen", "-t", "ed25519", "--no-passphrase", "--upload"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4), "{}", out(&o).1);
    assert_eq!(
        out(&o),
        (
            String::new(),
            "herossh: not logged in: run `herossh auth login` (or `heroku login`), or set HEROKU_API_KEY\n"
                .to_string()
        )
    );
    assert!(
        !env.home().join(".ssh").exists(),
        "nothing may be generated"
    );
}

/// One command from nothing to working: generate, upload to the account, pin in ~/.ssh/config.
#[test]
fn upload_and_pin_take_the_new_key_all_the_way() {
    let env = TestEnv::new();
    let api = crate::support::fake_api::FakeApi::start();
    api.add_token("tok-keygen-upload-123", "dev@example.com");
    let o = env
        .herossh()
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_API_KEY", "tok-keygen-upload-123")
        .args([
            "--json",
            "keygen",
            "-t",
            "ed25519",
            "-C",
            "dev@laptop",
            "--no-passphrase",
            "--upload",
            "--pin",
            "heroku.com",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(report["uploaded"], true);
    assert_eq!(report["pinned"], "heroku.com");
    let public = std::fs::read_to_string(env.home().join(".ssh/id_ed25519.pub")).unwrap();
    let on_account = api.keys("dev@example.com");
    assert_eq!(on_account.len(), 1);
    assert_eq!(on_account[0].public_key.trim(), public.trim());
    assert!(
        stderr.contains("Uploading ~/.ssh/id_ed25519.pub SSH key... done"),
        "{stderr}"
    );
    assert!(!stdout.contains("tok-keygen-upload-123") && !stderr.contains("tok-keygen-upload-123"));

    // The pinned config, as the real ssh evaluates it.
    let config = env.home().join(".ssh/config");
    assert_eq!(crate::support::mode(&config), 0o600);
    let g = env
        .program("ssh")
        .args(["-G", "-F"])
        .arg(&config)
        .arg("heroku.com")
        .output()
        .unwrap();
    let g = String::from_utf8_lossy(&g.stdout).into_owned();
    let ids: Vec<&str> = g
        .lines()
        .filter(|l| l.starts_with("identityfile "))
        .collect();
    assert_eq!(ids.first(), Some(&"identityfile ~/.ssh/id_ed25519"), "{g}");
    assert!(g.lines().any(|l| l == "identitiesonly yes"), "{g}");
}

#[test]
fn bad_sizes_are_usage_errors() {
    let env = TestEnv::new();
    for (args, needle) in [
        (
            &["-t", "rsa", "-b", "1024"][..],
            "RSA keys must be 2048 to 16384 bits, not 1024",
        ),
        (
            &["-t", "rsa", "-b", "32768"][..],
            "RSA keys must be 2048 to 16384 bits, not 32768",
        ),
        (
            &["-t", "dsa", "-b", "2048"][..],
            "DSA keys are always 1024 bits in OpenSSH, not 2048",
        ),
        (
            &["-t", "ecdsa", "-b", "512"][..],
            "ECDSA keys must be 256, 384 or 521 bits, not 512",
        ),
        (
            &["-t", "ed25519", "-b", "4096"][..],
            "Ed25519 keys have a fixed size (256 bits), not 4096",
        ),
    ] {
        let o = env
            .herossh()
            .arg("keygen")
            .args(args)
            .arg("--no-passphrase")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let (stdout, stderr) = out(&o);
        assert_eq!(stdout, "");
        assert!(
            stderr.starts_with(&format!("herossh: {needle}")),
            "{stderr}"
        );
    }
    assert!(!env.home().join(".ssh").exists());
}

#[test]
fn group_or_world_writable_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let shared = env.scratch().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o775)).unwrap();
    let o = env
        .herossh()
        .args(["keygen", "-t", "ed25519", "--no-passphrase", "-f"])
        .arg(shared.join("id"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stderr = out(&o).1;
    assert!(
        stderr.contains(&format!(
            "herossh: refusing to write a key into {}: the directory is writable by its group (mode 775)",
            shared.display()
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0);
}

#[test]
fn type_warnings_are_given_but_do_not_refuse() {
    let env = TestEnv::new();
    for (t, needle) in [
        (
            "dsa",
            "OpenSSH 7.0+ clients do not offer ssh-dss keys by default and OpenSSH 10 removed DSA; GitHub rejects DSA",
        ),
        ("ecdsa", "Heroku does not accept ECDSA keys"),
    ] {
        let o = env
            .herossh()
            .args(["keygen", "-t", t, "--no-passphrase"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        let stderr = out(&o).1;
        assert!(stderr.contains(" ›   Warning: "), "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
        assert!(env.home().join(format!(".ssh/id_{t}")).exists());
    }
}

/// herossh on a pty, in the test environment.
pub fn herossh_on_pty(env: &TestEnv, args: &[&str]) -> Pty {
    let mut cmd = std::process::Command::new(crate::support::herossh_bin());
    env.apply(&mut cmd);
    cmd.current_dir(env.home()).args(args);
    Pty::spawn(cmd)
}

#[test]
fn terminal_prompt_flow_like_ssh_keygen() {
    let env = TestEnv::new();
    let mut pty = herossh_on_pty(&env, &["keygen", "-t", "ed25519", "-C", "tty@test"]);
    pty.expect("Generating public/private ed25519 key pair.");
    pty.expect("Enter file in which to save the key (~/.ssh/id_ed25519):");
    pty.send("\r");
    pty.expect("Enter passphrase (empty for no passphrase):");
    pty.send_hidden("first try\r");
    pty.expect("Enter same passphrase again:");
    pty.send_hidden("a typo\r");
    pty.expect("Passphrases do not match.  Try again.");
    pty.expect("Enter passphrase (empty for no passphrase):");
    pty.send_hidden(&format!("{PASS}\r"));
    pty.expect("Enter same passphrase again:");
    pty.send_hidden(&format!("{PASS}\r"));
    pty.expect("The key's randomart image is:");
    let (status, _, transcript) = pty.finish();
    let key = env.home().join(".ssh/id_ed25519");
    assert!(status.success(), "{status:?}");
    // Hidden input: nothing typed at the passphrase prompts was echoed.
    for typed in [PASS, "first try", "a typo"] {
        assert!(
            !transcript.contains(typed),
            "{typed:?} echoed:\n{transcript}"
        );
    }
    let (code, derived, se) = ssh_keygen(&env, &["-y", "-P", PASS, "-f", s(&key)]);
    assert_eq!(code, 0, "{se}");
    assert_eq!(
        derived,
        std::fs::read_to_string(env.home().join(".ssh/id_ed25519.pub")).unwrap()
    );
    assert!(derived.ends_with(" tty@test\n"));
}

#[test]
fn terminal_overwrite_question() {
    let env = TestEnv::new();
    let key = env.write(".ssh/mykey", "keep me\n");
    let path = s(&key).to_string();

    // "n": nothing changes, exit 1.
    let mut pty = herossh_on_pty(&env, &["keygen", "-t", "ed25519", "-f", &path]);
    pty.expect(&format!("{path} already exists."));
    pty.expect("Overwrite");
    pty.send("n");
    let (status, rest, _) = pty.finish();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(rest.contains(&format!(
        "herossh: kept the existing {path}; nothing was written"
    )));
    assert_eq!(std::fs::read(&key).unwrap(), b"keep me\n");

    // "y": the prompt flow continues and the key is replaced.
    let mut pty = herossh_on_pty(&env, &["keygen", "-t", "ed25519", "-f", &path]);
    pty.expect("Overwrite");
    pty.send("y");
    pty.expect("Enter passphrase (empty for no passphrase):");
    pty.send_hidden("\r");
    pty.expect("Enter same passphrase again:");
    pty.send_hidden("\r");
    let (status, rest, _) = pty.finish();
    assert!(status.success(), "{rest}");
    assert!(rest.contains(&format!("Your identification has been saved in {path}\n")));
    let (code, derived, _) = ssh_keygen(&env, &["-y", "-P", "", "-f", &path]);
    assert_eq!(code, 0);
    assert_eq!(
        derived,
        std::fs::read_to_string(format!("{path}.pub")).unwrap()
    );
}

#[test]
fn tilde_in_file_answer_and_flag_is_expanded() {
    let env = TestEnv::new();
    let mut pty = herossh_on_pty(&env, &["keygen", "-t", "ed25519"]);
    pty.expect("Enter file in which to save the key (~/.ssh/id_ed25519):");
    pty.send("~/.ssh/answered\r");
    pty.expect("Enter passphrase (empty for no passphrase):");
    pty.send_hidden("\r");
    pty.expect("Enter same passphrase again:");
    pty.send_hidden("\r");
    let (status, rest, _) = pty.finish();
    assert!(status.success(), "{rest}");
    let answered = env.home().join(".ssh/answered");
    assert!(rest.contains(&format!(
        "Your identification has been saved in {}\n",
        answered.display()
    )));
    assert_eq!(mode(&answered), 0o600);

    let o = env
        .herossh()
        .args([
            "keygen",
            "-t",
            "ed25519",
            "--no-passphrase",
            "-f",
            "~/.ssh/flagged",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o).1);
    assert_eq!(mode(&env.home().join(".ssh/flagged")), 0o600);
}

#[test]
fn passphrase_stdin_on_a_terminal_is_refused_rather_than_echoed() {
    let env = TestEnv::new();
    let pty = herossh_on_pty(
        &env,
        &[
            "keygen",
            "-t",
            "ed25519",
            "-f",
            "~/.ssh/k",
            "--passphrase-stdin",
        ],
    );
    let (status, rest, _) = pty.finish();
    assert_eq!(status.code(), Some(2), "{rest}");
    assert!(
        rest.ends_with(
            "herossh: --passphrase-stdin reads a pipe, but standard input is a terminal; leave \
             the flag out to be asked with hidden input\n"
        ),
        "{rest}"
    );
    assert!(!env.home().join(".ssh/k").exists());
}

/// Keys herossh generates are usable for real: the system `ssh` logs in with each of them to
/// the real sshd. DSA works only when both sides re-enable ssh-dss, which is exactly what the
/// keygen warning says; with the default algorithms the same key is refused.
#[test]
fn generated_keys_log_in_to_a_real_sshd() {
    use crate::support::sshd::{Sshd, SshdOptions, assert_ssh_refused, ssh_command};
    let env = TestEnv::new();
    let sshd = Sshd::start(SshdOptions {
        pubkey_accepted_algorithms: Some("+ssh-dss".to_string()),
        ..Default::default()
    });
    let known_hosts = env.scratch().join("known_hosts");
    std::fs::write(&known_hosts, format!("{}\n", sshd.known_hosts_line())).unwrap();
    for (kind, bits) in [
        ("ed25519", None),
        ("rsa", Some("2048")),
        ("ecdsa", Some("384")),
        ("dsa", None),
    ] {
        let key = env.ssh_dir().join(format!("id_login_{kind}"));
        let mut cmd = env.herossh();
        cmd.args(["keygen", "-t", kind, "--no-passphrase", "-f"])
            .arg(&key);
        if let Some(b) = bits {
            cmd.args(["-b", b]);
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", out(&o).1);
        sshd.authorize_file(&key.with_file_name(format!("id_login_{kind}.pub")));

        let mut ssh = ssh_command(&sshd, &known_hosts, &[key.as_path()]);
        if kind == "dsa" {
            ssh.args(["-o", "PubkeyAcceptedAlgorithms=+ssh-dss"]);
        }
        let o = ssh.arg("echo logged-in").output().unwrap();
        assert_eq!(
            (
                o.status.code(),
                String::from_utf8_lossy(&o.stdout).into_owned()
            ),
            (Some(0), "logged-in\n".to_string()),
            "{kind}: ssh refused the herossh key: {}\nsshd log:\n{}",
            String::from_utf8_lossy(&o.stderr),
            sshd.log()
        );
    }
    // The DSA key with the client's default algorithms: ssh will not even offer it.
    let dsa = env.ssh_dir().join("id_login_dsa");
    assert_ssh_refused(&sshd, &known_hosts, &dsa);
}
