//! Test harness shared by every integration test. Each test gets a [`TestEnv`]: its own
//! temporary `HOME` and XDG directories, with every variable that could make herossh see the
//! real user's files or credentials removed, so no test can read or touch the real home.
//!
//! ssh (and herossh, which predicts it) takes `~` from the passwd entry, not from `$HOME`.
//! So every child process also runs under nss_wrapper (`LD_PRELOAD=libnss_wrapper.so`) with a
//! copy of the system's passwd and group files in which the current user's home is the test
//! home: the real `ssh`, `ssh -G` and herossh then all read the test's `~/.ssh`, and never
//! the real one. [`TestEnv::with_passwd_home`] makes the two homes differ on purpose.

#![allow(dead_code)]

pub mod fake_api;
pub mod faults;
pub mod keyring;
pub mod pty;
pub mod security;
pub mod security_standin;
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
    /// The home directory the passwd entry names (normally the test home).
    passwd_home: PathBuf,
}

impl TestEnv {
    /// A fresh home with `.local/share`, `.config` and `.cache` (no `~/.ssh`: tests that need
    /// one create it, so "no ~/.ssh" stays testable).
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("herossh-test-")
            .tempdir()
            .expect("create temp dir");
        let home = dir.path().join("home");
        let env = TestEnv {
            dir,
            passwd_home: home,
        };
        for sub in [".local/share", ".config", ".cache", "tmp"] {
            std::fs::create_dir_all(env.home().join(sub)).unwrap();
        }
        env.write_nss_files(&[]);
        env
    }

    /// Give `uid` (e.g. `nobody`, for tests that run herossh as another user) the test home
    /// in the passwd entries the child processes see.
    pub fn give_passwd_home_to(&self, uid: u32) {
        self.write_nss_files(&[uid]);
    }

    /// A test environment whose passwd entry names another home than `$HOME` (as under
    /// `sudo -E`, or with a `HOME` exported by a script): `rel` under the test directory.
    pub fn with_passwd_home(rel: &str) -> Self {
        let mut env = TestEnv::new();
        let other = env.dir.path().join(rel);
        std::fs::create_dir_all(&other).unwrap();
        env.passwd_home = other;
        env.write_nss_files(&[]);
        env
    }

    /// The home the passwd entry names: where ssh looks for `~/.ssh`.
    pub fn passwd_home(&self) -> PathBuf {
        self.passwd_home.clone()
    }

    /// passwd and group files for nss_wrapper: the system's, with the current user's home
    /// replaced by the test's.
    fn write_nss_files(&self, also: &[u32]) {
        let me = unsafe { libc::getuid() };
        let uid = me.to_string();
        let redirect = |u: &str| u == uid || also.iter().any(|a| a.to_string() == u);
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let mut out = String::new();
        let mut found = false;
        for line in passwd.lines() {
            let mut f: Vec<&str> = line.split(':').collect();
            if f.len() >= 7 && redirect(f[2]) {
                found |= f[2] == uid;
                let home = self.passwd_home.display().to_string();
                f[5] = &home;
                out.push_str(&f.join(":"));
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        if !found {
            let gid = unsafe { libc::getgid() };
            out.push_str(&format!(
                "herossh-test:x:{uid}:{gid}::{}:/bin/sh\n",
                self.passwd_home.display()
            ));
        }
        std::fs::write(self.dir.path().join("passwd"), out).unwrap();
        let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
        std::fs::write(self.dir.path().join("group"), group).unwrap();
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

    /// A key made by `ssh-keygen -t TYPE` in the scratch directory, outside `~/.ssh` (a CA, a
    /// host key of another server): its private path and its `TYPE BASE64` public words.
    pub fn scratch_key(&self, name: &str, key_type: &str) -> (PathBuf, String) {
        let p = self.scratch().join(name);
        let o = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", key_type, "-N", "", "-C", name, "-f"])
            .arg(&p)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "ssh-keygen -t {key_type}: {}",
            out(&o).1
        );
        let public = std::fs::read_to_string(format!("{}.pub", p.display())).unwrap();
        let words: Vec<&str> = public.split_whitespace().take(2).collect();
        (p, words.join(" "))
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
            .env("LC_ALL", "C")
            .env("LD_PRELOAD", nss_wrapper())
            .env("NSS_WRAPPER_PASSWD", self.dir.path().join("passwd"))
            .env("NSS_WRAPPER_GROUP", self.dir.path().join("group"));
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

/// libnss_wrapper.so (Debian's libnss-wrapper, installed by scripts/test). Without it no test
/// could keep ssh away from the real home, so its absence is a hard failure.
pub fn nss_wrapper() -> &'static str {
    static LIB: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LIB.get_or_init(|| {
        for dir in [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64",
            "/usr/lib",
        ] {
            let p = Path::new(dir).join("libnss_wrapper.so");
            if p.exists() {
                return p.display().to_string();
            }
        }
        panic!("libnss_wrapper.so not found: install libnss-wrapper (./scripts/test does)");
    })
}

pub fn herossh_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_herossh"))
}

/// Everything under `dir`, for "nothing changed" assertions: relative path → (mode, bytes);
/// a directory is `<dir>`, a symlink its target (mode 0), a device, FIFO or socket its kind
/// and device number (never read). Unreadable entries count as empty. herossh's cache of
/// what the installed ssh is (`.cache/herossh`, written on first use by any command) is not
/// user data and is left out.
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
            if rel.starts_with(".cache/herossh") {
                continue;
            }
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
