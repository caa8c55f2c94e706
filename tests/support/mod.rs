//! Test harness shared by every integration test. Each test gets a [`TestEnv`]: its own
//! temporary `HOME` and XDG directories, with every variable that could make herossh see the
//! real user's files or credentials removed, so no test can read or touch the real home.

#![allow(dead_code)]

pub mod fake_api;
pub mod faults;
pub mod keyring;
pub mod pty;
pub mod sshd;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// Variables removed from every herossh invocation (on top of the HEROKU_* family).
const SCRUBBED: &[&str] = &[
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "NO_COLOR",
    "DBUS_SESSION_BUS_ADDRESS",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "RUST_LOG",
];

pub struct TestEnv {
    dir: TempDir,
}

impl TestEnv {
    /// A fresh home with `.local/share`, `.config` and `.cache` (no `~/.ssh`: tests that need
    /// one create it, so "no ~/.ssh" stays testable).
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("herossh-test-")
            .tempdir()
            .expect("create temp dir");
        let env = TestEnv { dir };
        for sub in [".local/share", ".config", ".cache", "tmp"] {
            std::fs::create_dir_all(env.home().join(sub)).unwrap();
        }
        env
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `~/.ssh`, created 0700 on first use.
    pub fn ssh_dir(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let d = self.home().join(".ssh");
        if !d.exists() {
            std::fs::create_dir_all(&d).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        d
    }

    /// A scratch directory outside the home (for sshd files, fake servers, ...).
    pub fn scratch(&self) -> PathBuf {
        let d = self.dir.path().join("scratch");
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The environment every child process of a test gets (herossh, git, ssh-keygen...).
    pub fn apply(&self, cmd: &mut std::process::Command) {
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("HEROKU_") || SCRUBBED.contains(&k.as_str()) {
                cmd.env_remove(&k);
            }
        }
        let home = self.home();
        cmd.env("HOME", &home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("TMPDIR", home.join("tmp"))
            // A loopback address nothing listens on: any accidental API call fails fast
            // instead of ever reaching heroku.com.
            .env("HEROKU_HOST", "http://127.0.0.1:9")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LC_ALL", "C");
    }

    /// `herossh ARGS...` in this environment.
    pub fn herossh(&self) -> Command {
        let mut std_cmd = std::process::Command::new(herossh_bin());
        self.apply(&mut std_cmd);
        std_cmd.current_dir(self.home());
        Command::from_std(std_cmd)
    }

    /// Any other program (ssh-keygen, ssh, git...) in this environment.
    pub fn program(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        self.apply(&mut cmd);
        cmd.current_dir(self.home());
        cmd
    }

    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.home().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }
}

pub fn herossh_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_herossh"))
}

/// Everything under `dir`, for "nothing changed" assertions: relative path → (mode, bytes);
/// a directory is `<dir>`, a symlink its target (mode 0), a device, FIFO or socket its kind
/// and device number (never read). Unreadable entries count as empty.
pub fn tree_snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, (u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            let mode = md.permissions().mode() & 0o7777;
            if md.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(rel, (0, t.into_os_string().into_encoded_bytes()));
            } else if md.is_dir() {
                out.insert(rel, (mode, b"<dir>".to_vec()));
                stack.push(p);
            } else if md.is_file() {
                out.insert(rel, (mode, std::fs::read(&p).unwrap_or_default()));
            } else {
                // A device, FIFO or socket: its kind and device number (reading a FIFO would
                // block, a device may never end).
                use std::os::unix::fs::{FileTypeExt, MetadataExt};
                let t = md.file_type();
                let kind = if t.is_char_device() {
                    "char"
                } else if t.is_block_device() {
                    "block"
                } else if t.is_fifo() {
                    "fifo"
                } else {
                    "socket"
                };
                let marker = format!("<{kind} {:x}>", md.rdev());
                out.insert(rel, (mode, marker.into_bytes()));
            }
        }
    }
    out
}

/// Mode bits of a path.
pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// stdout/stderr of an assert_cmd output as strings.
pub fn out(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn test_env_isolates_home_and_heroku_vars() {
    let env = TestEnv::new();
    let mut cmd = env.program("sh");
    cmd.arg("-c").arg(
        "echo \"$HOME|$XDG_DATA_HOME|${HEROKU_API_KEY-unset}|${SSH_AUTH_SOCK-unset}|$HEROKU_HOST\"",
    );
    let o = cmd.output().unwrap();
    let line = String::from_utf8(o.stdout).unwrap();
    let home = env.home();
    assert_eq!(
        line.trim(),
        format!(
            "{}|{}|unset|unset|http://127.0.0.1:9",
            home.display(),
            home.join(".local/share").display()
        )
    );
    assert_ne!(Some(home.into_os_string()), std::env::var_os("HOME"));
}
