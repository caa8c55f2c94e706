//! The macOS keychain for one test: the `security` stand-in ([`super::security_standin`],
//! Apple's documented behaviour of the commands herossh and the Heroku CLI use) with its
//! keychain file and argv log in the test's scratch directory. herossh reaches it through
//! `HEROSSH_KEYCHAIN=macos` and `HEROSSH_SECURITY_PROGRAM`, which is exactly the macOS code
//! path with another program path; the helpers here drive it the way the Heroku CLI does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use super::TestEnv;
use super::keyring;

pub use super::security_standin::Fault;

pub struct Security {
    dir: PathBuf,
    program: PathBuf,
}

/// The stand-in, compiled once per source version into Cargo's scratch directory for
/// integration tests.
///
/// Why `rustc` at test time and not a Cargo target: a `[[bin]]` would be installed with the
/// product by `cargo install` (and `required-features` would keep it out of a plain `cargo
/// test`, which then cannot run these tests); an `[[example]]` is not built by `cargo test
/// --test it`, and tests have no `CARGO_BIN_EXE_` for examples; a second package needs a
/// workspace and still gives tests no path to its binary. One std-only file compiled by the
/// toolchain that is already running the tests works on a fresh clone with nothing extra,
/// and the same file is a module of this test crate, so fmt, clippy and its unit tests cover
/// it.
pub fn standin_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let source =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/security_standin.rs");
        let text = std::fs::read(&source).expect("read the stand-in's source");
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let bin = dir.join(format!("security-standin-{:016x}", h.finish()));
        if bin.exists() {
            return bin;
        }
        // Build beside the final name and rename: parallel test binaries never see half a file.
        let tmp = dir.join(format!("security-standin.{}.tmp", std::process::id()));
        let out = Command::new(rustc())
            .args(["--edition", "2024", "--crate-name", "security_standin"])
            .args(["-C", "debuginfo=0", "--cap-lints", "allow", "-o"])
            .arg(&tmp)
            .arg(&source)
            .output()
            .expect("run rustc for the security stand-in");
        assert!(
            out.status.success(),
            "building the security stand-in failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::rename(&tmp, &bin).unwrap();
        bin
    })
}

/// The compiler of the toolchain running the tests: `$RUSTC`, else the `rustc` beside the
/// `cargo` that started them (`$CARGO`), else `rustc` on PATH.
fn rustc() -> PathBuf {
    if let Some(r) = std::env::var_os("RUSTC") {
        return r.into();
    }
    std::env::var_os("CARGO")
        .map(|c| PathBuf::from(c).with_file_name("rustc"))
        .filter(|r| r.is_file())
        .unwrap_or_else(|| "rustc".into())
}

impl Security {
    /// An empty keychain behind a fresh `security` in `env`'s scratch directory.
    pub fn start(env: &TestEnv) -> Security {
        let dir = env.scratch().join("macos-keychain");
        std::fs::create_dir_all(&dir).unwrap();
        let program = dir.join("security");
        if !program.exists() {
            std::os::unix::fs::symlink(standin_binary(), &program).unwrap();
        }
        Security { dir, program }
    }

    /// What `HEROSSH_SECURITY_PROGRAM` points at.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The keychain file (the only place the stand-in keeps secrets).
    pub fn keychain_file(&self) -> PathBuf {
        self.dir.join("login.keychain-db")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Select the macOS backend on this stand-in, with no session bus (so the Secret Service
    /// could not answer even if herossh asked it).
    pub fn apply(&self, env: &TestEnv, cmd: &mut Command) {
        keyring::no_bus(env, cmd);
        cmd.env("HEROSSH_KEYCHAIN", "macos")
            .env("HEROSSH_SECURITY_PROGRAM", &self.program);
    }

    /// `herossh` using this keychain.
    pub fn herossh(&self, env: &TestEnv) -> assert_cmd::Command {
        let mut cmd = Command::new(super::herossh_bin());
        env.apply(&mut cmd);
        self.apply(env, &mut cmd);
        cmd.current_dir(env.home());
        assert_cmd::Command::from_std(cmd)
    }

    /// What a Mac would decide about dialogs from now on (None: nothing in the way).
    pub fn set_fault(&self, fault: Option<Fault>) {
        let path = self.dir.join("fault");
        match fault {
            None => {
                let _ = std::fs::remove_file(path);
            }
            Some(f) => {
                let word = match f {
                    Fault::Locked => "locked",
                    Fault::Refuse => "refuse",
                    Fault::Hang => "hang",
                };
                std::fs::write(path, word).unwrap();
            }
        }
    }

    /// `security ARGS` with `stdin`.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Store a token exactly as the Heroku CLI does on macOS (macos-handler.ts `saveAuth`):
    /// ``execSync(`security add-generic-password -U -a "${account}" -s "${service}" -w
    /// "${token}"`)``, i.e. through `/bin/sh -c`, token on argv.
    pub fn store_like_heroku_cli(&self, email: &str, token: &str) {
        let line = format!(
            "'{}' add-generic-password -U -a \"{email}\" -s \"heroku-cli\" -w \"{token}\"",
            self.program.display()
        );
        let out = Command::new("sh").arg("-c").arg(line).output().unwrap();
        assert!(
            out.status.success(),
            "Heroku-CLI-shaped add-generic-password: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Read the token as the Heroku CLI does (`getAuth`): `security find-generic-password -a
    /// "EMAIL" -s "heroku-cli" -w`, output `.trim()`ed; a failure is None.
    pub fn read_like_heroku_cli(&self, email: &str) -> Option<String> {
        let line = format!(
            "'{}' find-generic-password -a \"{email}\" -s \"heroku-cli\" -w",
            self.program.display()
        );
        let out = Command::new("sh").arg("-c").arg(line).output().unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The accounts the Heroku CLI lists without a login.json (`listAccounts`): `security
    /// dump-keychain`, split at `^keychain:`, entries with `class: "genp"` whose
    /// `"svce"<blob>="…"` is heroku-cli, their `"acct"<blob>="…"`.
    pub fn accounts_like_heroku_cli(&self) -> Vec<String> {
        let out = self.run(&["dump-keychain"], b"");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let quoted = |entry: &str, tag: &str| {
            let key = format!("\"{tag}\"<blob>=\"");
            let start = entry.find(&key)? + key.len();
            let len = entry[start..].find('"')?;
            (len > 0).then(|| entry[start..start + len].to_string())
        };
        text.split("keychain:")
            .filter(|e| e.contains("class: \"genp\""))
            .filter(|e| quoted(e, "svce").as_deref() == Some("heroku-cli"))
            .filter_map(|e| quoted(e, "acct"))
            .collect()
    }

    /// Everything the stand-in logged: `argv:` (verbatim), `stdin:` (secrets hidden),
    /// `exit:` and `hang:` lines.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("argv.log")).unwrap_or_default()
    }

    pub fn clear_log(&self) {
        let _ = std::fs::remove_file(self.dir.join("argv.log"));
    }
}

#[test]
fn security_standin_self_test_heroku_cli_round_trip() {
    let env = TestEnv::new();
    let s = Security::start(&env);
    assert_eq!(s.read_like_heroku_cli("u@example.com"), None);
    s.store_like_heroku_cli("u@example.com", "tok-1");
    assert_eq!(
        s.read_like_heroku_cli("u@example.com").as_deref(),
        Some("tok-1")
    );
    s.store_like_heroku_cli("u@example.com", "tok-2");
    assert_eq!(
        s.read_like_heroku_cli("u@example.com").as_deref(),
        Some("tok-2")
    );
    assert_eq!(s.accounts_like_heroku_cli(), ["u@example.com"]);
    // The argv log holds what ps would have shown: the Heroku CLI's token included.
    assert!(s.log().contains(
        "argv: [add-generic-password] [-U] [-a] [u@example.com] [-s] [heroku-cli] [-w] [tok-2]\n"
    ));
}
