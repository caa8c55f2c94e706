//! File safety: every command that rewrites a file people cannot afford to lose
//! (`~/.ssh/config`, `~/.netrc`, a private key) is made to fail at each step of the write —
//! the write itself (a file-size limit, a full tmpfs), the fsync, the rename (real syscalls
//! failed by `strace --inject`), a SIGKILL at spread-out moments and exactly on the rename —
//! and is pointed at read-only directories, files of another user, symlink loops,
//! directories, and real devices (`mknod` in a temp dir), FIFOs and sockets in place of the
//! file. Each time the original must be intact (bytes and mode; a special file its kind and
//! device number), nothing may be left behind except, after a SIGKILL, herossh's own temp file
//! (which `doctor` then names), and the error must be one clear `herossh:` line. fix-config's
//! backups directory and its lock file are not leftovers: they are created (0700, and an empty
//! 0600 file) before its first write and persist by design; the backup made for a failed write
//! is removed. Readers get the same treatment: FIFOs, endless devices and a 2 GiB file as keys,
//! configs, Includes, netrc and login.json must end quickly, in little memory (measured), with
//! a clear answer.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use crate::support::fake_api::FakeApi;
use crate::support::{TestEnv, herossh_bin, tree_snapshot};

const TOKEN: &str = "tok-safety-5e2a";
const EMAIL: &str = "dev@example.com";
const CONFIG: &[u8] = b"# my precious config\r\nHost *\n\tServerAliveInterval 30 # keep\n";
/// `nobody`, the other user the permission cells run herossh as (when the tests run as root).
const NOBODY: u32 = 65534;

/// A command that rewrites one file.
#[derive(Clone, Copy, Debug)]
enum Writer {
    FixConfig,
    Login,
    Logout,
    KeygenForce,
}

const WRITERS: [Writer; 4] = [
    Writer::FixConfig,
    Writer::Login,
    Writer::Logout,
    Writer::KeygenForce,
];

impl Writer {
    /// The file it rewrites, relative to the home.
    fn target(self) -> &'static str {
        match self {
            Writer::FixConfig => ".ssh/config",
            Writer::Login | Writer::Logout => ".netrc",
            Writer::KeygenForce => ".ssh/id_ed25519",
        }
    }
}

/// A home with an ssh config, a key pair, and a netrc holding other machines plus this API's
/// entries (so logout has something to remove and login something to replace).
struct Cell {
    env: TestEnv,
    api: FakeApi,
    /// Set when the home is a tmpfs mounted for the full-disk cell.
    _mount: Option<Mount>,
}

impl Cell {
    fn new() -> Cell {
        Cell::build(None)
    }

    /// A home on a tmpfs of `kib` KiB (root only).
    fn on_tmpfs(kib: u32) -> Option<Cell> {
        let env = TestEnv::new();
        let mount = Mount::tmpfs(&env.home(), kib)?;
        for sub in [".local/share", ".config", ".cache", "tmp"] {
            std::fs::create_dir_all(env.home().join(sub)).unwrap();
        }
        Some(Cell::populate(env, Some(mount)))
    }

    fn build(mount: Option<Mount>) -> Cell {
        Cell::populate(TestEnv::new(), mount)
    }

    fn populate(env: TestEnv, mount: Option<Mount>) -> Cell {
        let api = FakeApi::start();
        api.add_token(TOKEN, EMAIL);
        let ssh = env.ssh_dir();
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "old@laptop", "-f"])
            .arg(ssh.join("id_ed25519"))
            .stdin(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::write(ssh.join("config"), CONFIG).unwrap();
        std::fs::set_permissions(ssh.join("config"), PermissionsExt::from_mode(0o640)).unwrap();
        let host = api.url().trim_start_matches("http://").to_string();
        let netrc = format!(
            "# mine\nmachine example.org login me password secret-not-heroku\n\n\
             machine {host}\n  login {EMAIL}\n  password {TOKEN}\n\
             machine git.127.0.0.1\n  login {EMAIL}\n  password {TOKEN}\n"
        );
        let p = env.write(".netrc", netrc);
        std::fs::set_permissions(&p, PermissionsExt::from_mode(0o600)).unwrap();
        // herossh caches what the installed ssh is on first use (an atomic write of its
        // own): warm it, so every failure injected below lands on the writer under test.
        let warm = env
            .herossh()
            .args(["config", "resolve", "-F", "none", "warm.invalid"])
            .output()
            .unwrap();
        assert!(warm.status.success(), "{warm:?}");
        Cell {
            env,
            api,
            _mount: mount,
        }
    }

    fn home(&self) -> PathBuf {
        self.env.home()
    }

    /// The command line of `w` (without the program).
    fn command(&self, w: Writer, program: &Path) -> Command {
        let mut c = Command::new(program);
        self.env.apply(&mut c);
        c.current_dir(self.home())
            .env("HEROKU_HOST", self.api.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::piped());
        let key = self.home().join(".ssh/id_ed25519");
        match w {
            Writer::FixConfig => {
                c.args(["fix-config", "-i"]).arg(&key);
            }
            Writer::Login => {
                c.args(["auth", "login", "--token-stdin"]);
            }
            Writer::Logout => {
                c.args(["auth", "logout"]);
            }
            Writer::KeygenForce => {
                c.args(["keygen", "-t", "ed25519", "--no-passphrase", "--force"])
                    .args(["-C", "new@laptop", "-f"])
                    .arg(&key);
            }
        }
        c
    }
}

/// Spawn, feed the token (login reads it from stdin), collect.
fn finish(c: Command) -> Output {
    assert_cmd::Command::from_std(c)
        .write_stdin(format!("{TOKEN}\n"))
        .output()
        .unwrap()
}

/// fix-config's lasting infrastructure, exactly as it must look: `~/.ssh/.herossh-backups`
/// (0700) holding only its empty lock file (0600).
fn is_fix_config_infrastructure(path: &Path, entry: &(u32, Vec<u8>)) -> bool {
    (path == Path::new(".ssh/.herossh-backups") && *entry == (0o700, b"<dir>".to_vec()))
        || (path == Path::new(".ssh/.herossh-backups/.lock") && *entry == (0o600, Vec::new()))
}

fn differences(
    a: &BTreeMap<PathBuf, (u32, Vec<u8>)>,
    b: &BTreeMap<PathBuf, (u32, Vec<u8>)>,
) -> Vec<String> {
    let mut keys: Vec<&PathBuf> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .filter(|k| {
            !(a.get(*k).is_none()
                && b.get(*k)
                    .is_some_and(|e| is_fix_config_infrastructure(k, e)))
        })
        .map(|k| k.display().to_string())
        .collect()
}

/// The failure contract: exit 1, one `herossh:` line that names `mentions`, no panic, and
/// every file exactly as before.
fn expect_clean_failure(
    what: &str,
    o: &Output,
    mentions: &str,
    before: &BTreeMap<PathBuf, (u32, Vec<u8>)>,
    after: &BTreeMap<PathBuf, (u32, Vec<u8>)>,
) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("herossh: "))
        .collect();
    assert_eq!(o.status.code(), Some(1), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert!(
        errors.len() == 1 && errors[0].contains(mentions),
        "{what}: expected one herossh: error naming {mentions:?}, got:\n{stderr}"
    );
    assert_eq!(
        differences(before, after),
        Vec::<String>::new(),
        "{what}: files changed\n{stderr}"
    );
}

/// The error text names the cause (`File too large`, `Permission denied`, ...).
fn stderr_says(o: &Output, cause: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(cause),
        "{what}: expected {cause:?} in:\n{stderr}"
    );
}

/// Which file name the error must name for `w`.
fn named(w: Writer) -> &'static str {
    match w {
        Writer::FixConfig => ".ssh/config",
        Writer::Login | Writer::Logout => ".netrc",
        Writer::KeygenForce => "id_ed25519",
    }
}

#[test]
fn a_failed_write_leaves_the_original() {
    // RLIMIT_FSIZE: the kernel refuses (EFBIG) any write past 16 bytes into any file.
    for w in WRITERS {
        let cell = Cell::new();
        let before = tree_snapshot(&cell.home());
        let mut c = cell.command(w, &herossh_bin());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            c.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let lim = libc::rlimit {
                    rlim_cur: 16,
                    rlim_max: 16,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let o = finish(c);
        let after = tree_snapshot(&cell.home());
        expect_clean_failure(&format!("{w:?} EFBIG"), &o, named(w), &before, &after);
        stderr_says(&o, "File too large", &format!("{w:?}"));
    }
}

/// A mounted tmpfs, unmounted on drop.
struct Mount {
    at: PathBuf,
}

impl Mount {
    /// None when this process may not mount (not root, or no CAP_SYS_ADMIN).
    fn tmpfs(at: &Path, kib: u32) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let st = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=0755"),
                "tmpfs",
            ])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        st.success().then(|| Mount {
            at: at.to_path_buf(),
        })
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

#[test]
fn a_full_disk_leaves_the_original() {
    for w in WRITERS {
        let Some(cell) = Cell::on_tmpfs(256) else {
            // Not root: the write failure above (EFBIG) is the simulated full disk.
            eprintln!(
                "full disk: cannot mount a tmpfs here; covered by a_failed_write_leaves_the_original"
            );
            return;
        };
        // Fill the disk to the last block.
        let filler = cell.home().join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![b'x'; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.write_all(b"x");
        drop(f);
        let before = tree_snapshot(&cell.home());
        let o = finish(cell.command(w, &herossh_bin()));
        let after = tree_snapshot(&cell.home());
        expect_clean_failure(&format!("{w:?} ENOSPC"), &o, named(w), &before, &after);
        stderr_says(&o, "No space left on device", &format!("{w:?}"));
    }
}

/// Run `w` under `strace`, failing every call of `syscalls` with `errno` (the kernel's real
/// error path, in herossh and in every thread it starts).
fn with_injected_failure(cell: &Cell, w: Writer, syscalls: &str, errno: &str) -> Output {
    with_injection(cell, w, syscalls, &format!("error={errno}"))
}

/// Run `w` under `strace` with `inject=SYSCALLS:WHAT` (`error=EIO`, `signal=KILL`, ...).
fn with_injection(cell: &Cell, w: Writer, syscalls: &str, what: &str) -> Output {
    let herossh = cell.command(w, &herossh_bin());
    let mut c = Command::new("strace");
    for (k, v) in herossh.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.current_dir(cell.home())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::piped())
        .args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("trace={syscalls}"))
        .arg("-e")
        .arg(format!("inject={syscalls}:{what}"))
        .arg(herossh.get_program())
        .args(herossh.get_args());
    finish(c)
}

#[test]
fn a_failed_fsync_or_rename_leaves_the_original() {
    let probe = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "true"])
        .status()
        .expect("strace is installed by scripts/test");
    assert!(probe.success(), "strace cannot trace processes here");
    for (syscalls, errno, says) in [
        ("fsync,fdatasync", "EIO", "Input/output error"),
        ("rename,renameat,renameat2", "EIO", "Input/output error"),
        ("rename,renameat,renameat2", "EXDEV", "cross-device"),
    ] {
        for w in WRITERS {
            let cell = Cell::new();
            let before = tree_snapshot(&cell.home());
            let o = with_injected_failure(&cell, w, syscalls, errno);
            let after = tree_snapshot(&cell.home());
            let what = format!("{w:?} {syscalls}={errno}");
            expect_clean_failure(&what, &o, named(w), &before, &after);
            stderr_says(&o, says, &what);
        }
    }
}

/// The exact moment the issue names: killed after the new content is written and synced,
/// before the rename (strace delivers SIGKILL on entry to the rename). The original survives,
/// the temp file is the only trace, `doctor` names it with the command that removes it, and
/// stops naming it once that command ran.
#[test]
fn killed_between_write_and_rename_the_original_survives_and_doctor_names_the_leftover() {
    for w in WRITERS {
        let cell = Cell::new();
        let target = cell.home().join(w.target());
        let before = tree_snapshot(&cell.home());
        // fix-config first puts its backup in place with renameat2(RENAME_NOREPLACE); the
        // config itself is replaced with a plain rename: kill there.
        let calls = if matches!(w, Writer::FixConfig) {
            "rename,renameat"
        } else {
            "rename,renameat,renameat2"
        };
        let o = with_injection(&cell, w, calls, "signal=KILL");
        // strace dies of the same signal as its tracee.
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(o.status.signal(), Some(libc::SIGKILL), "{w:?}: {o:?}");
        let after = tree_snapshot(&cell.home());
        // New files: the temp(s) — keygen stages the private key and the .pub together — and,
        // for fix-config, its complete backup, already in place.
        let leftovers: Vec<PathBuf> = differences(&before, &after)
            .into_iter()
            .filter(|p| !p.ends_with(".bak"))
            .map(|p| cell.home().join(p))
            .collect();
        let expected = if matches!(w, Writer::KeygenForce) {
            2
        } else {
            1
        };
        assert_eq!(leftovers.len(), expected, "{w:?}: {leftovers:?}");
        assert_eq!(
            std::fs::read(&target).ok(),
            before.get(Path::new(w.target())).map(|(_, b)| b.clone()),
            "{w:?}: original changed"
        );
        let of = target.file_name().unwrap().to_string_lossy().into_owned();

        let found = offline_doctor(&cell.env, "interrupted-write").1;
        assert_eq!(found.len(), leftovers.len(), "{w:?}: {found:?}");
        for (leftover, finding) in leftovers.iter().zip(&found) {
            let name = leftover.file_name().unwrap().to_string_lossy().into_owned();
            // `.NAME.XXXXXX.tmp`, NAME being the target or (keygen) its `.pub`.
            let stands_for = &name[1..name.len() - ".XXXXXX.tmp".len()];
            assert!(stands_for.starts_with(&of), "{w:?}: {name}");
            let shown = format!(
                "~/{}",
                leftover.strip_prefix(cell.home()).unwrap().display()
            );
            assert_eq!(finding["fix"], format!("rm {shown}"), "{w:?}");
            assert_eq!(
                finding["message"],
                format!(
                    "{shown} is left over from an interrupted write of {stands_for} (the \
                     original was not changed)"
                )
            );
            std::fs::remove_file(leftover).unwrap();
        }
        assert_eq!(
            offline_doctor(&cell.env, "interrupted-write").1,
            Vec::<serde_json::Value>::new(),
            "{w:?}"
        );
    }
}

#[test]
fn sigkill_at_any_moment_leaves_the_old_or_the_new_file_whole() {
    const POINTS: u32 = 24;
    for w in WRITERS {
        // The file a healthy run leaves, and how long that run takes.
        let healthy = Cell::new();
        let started = Instant::now();
        let o = finish(healthy.command(w, &herossh_bin()));
        let took = started.elapsed();
        assert_eq!(o.status.code(), Some(0), "{w:?}: {o:?}");
        let new_state = std::fs::read(healthy.home().join(w.target())).ok();

        for i in 0..=POINTS {
            let cell = Cell::new();
            let target = cell.home().join(w.target());
            let old = std::fs::read(&target).ok();
            let old_mode = std::fs::metadata(&target).map(|m| m.mode() & 0o7777).ok();
            let mut child = cell.command(w, &herossh_bin()).spawn().unwrap();
            let _ = writeln!(child.stdin.take().unwrap(), "{TOKEN}");
            std::thread::sleep(took * i / POINTS);
            let _ = child.kill();
            let _ = child.wait();

            let now = std::fs::read(&target).ok();
            let whole = now == old
                || now == new_state
                || matches!(w, Writer::KeygenForce) && now.as_deref().is_some_and(is_whole_key);
            assert!(
                whole,
                "{w:?} killed after {:?}: {} is neither the old nor a complete new file:\n{:?}",
                took * i / POINTS,
                w.target(),
                now.map(|b| String::from_utf8_lossy(&b).into_owned())
            );
            if now == old {
                let mode = std::fs::metadata(&target).map(|m| m.mode() & 0o7777).ok();
                assert_eq!(mode, old_mode, "{w:?}: mode of the untouched original");
            }
            // Nothing else appears next to it but herossh's own `.NAME.*.tmp` (a SIGKILL
            // cannot be cleaned up after), always private.
            let dir = target.parent().unwrap();
            let name = target.file_name().unwrap().to_string_lossy().into_owned();
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with(&format!(".{name}.")) {
                    assert!(n.ends_with(".tmp"), "{w:?}: stray {n}");
                    // A leftover copy of a private file is as private as the file.
                    let public = n.starts_with(&format!(".{name}.pub."));
                    let mode = e.metadata().unwrap().mode() & 0o777;
                    if !public && old_mode.is_some_and(|m| m & 0o077 == 0) {
                        assert_eq!(mode & 0o077, 0, "{w:?}: {n} has mode {mode:o}");
                    }
                }
            }
        }
    }
}

/// `herossh --json doctor --offline` in `env`: the whole report, and its findings with `code`.
fn offline_doctor(env: &TestEnv, code: &str) -> (serde_json::Value, Vec<serde_json::Value>) {
    let o = env
        .herossh()
        .args(["--json", "doctor", "--offline"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let found = v["local"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["code"] == code)
        .cloned()
        .collect();
    (v, found)
}

/// An OpenSSH private key file written to the end.
fn is_whole_key(b: &[u8]) -> bool {
    let t = String::from_utf8_lossy(b);
    t.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n")
        && t.ends_with("-----END OPENSSH PRIVATE KEY-----\n")
}

/// A copy of the herossh binary another user can execute (the build directory may sit in a
/// private home): a hard link when it can be, else one copy for the whole test.
struct SharedBinary {
    dir: tempfile::TempDir,
}

impl SharedBinary {
    fn new() -> SharedBinary {
        let dir = tempfile::Builder::new()
            .prefix("herossh-bin-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755)).unwrap();
        let p = dir.path().join("herossh");
        if std::fs::hard_link(herossh_bin(), &p).is_err() {
            std::fs::copy(herossh_bin(), &p).unwrap();
        }
        std::fs::set_permissions(&p, PermissionsExt::from_mode(0o755)).unwrap();
        SharedBinary { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("herossh")
    }
}

/// Make `cell` usable by `nobody`: the path to the home traversable, the home theirs.
fn hand_home_to_nobody(cell: &Cell) {
    cell.env.give_passwd_home_to(NOBODY);
    let home = cell.home();
    for a in home.ancestors().skip(1) {
        if a == Path::new("/") || a == Path::new("/tmp") {
            break;
        }
        let m = std::fs::metadata(a).unwrap().mode() & 0o7777;
        std::fs::set_permissions(a, PermissionsExt::from_mode(m | 0o011)).unwrap();
    }
    let mut stack = vec![home];
    while let Some(p) = stack.pop() {
        std::os::unix::fs::lchown(&p, Some(NOBODY), Some(NOBODY)).unwrap();
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
}

/// Run `w` as `nobody` (only called as root).
fn as_nobody(cell: &Cell, w: Writer, bin: &SharedBinary) -> Output {
    let mut c = cell.command(w, &bin.path());
    // std drops root's supplementary groups itself when it changes the uid.
    c.uid(NOBODY).gid(NOBODY);
    finish(c)
}

fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn read_only_directories_and_other_users_files_are_refused_cleanly() {
    if !is_root() {
        // Permissions bind this user directly: a read-only directory is enough.
        for w in WRITERS {
            let cell = Cell::new();
            let target = cell.home().join(w.target());
            let dir = target.parent().unwrap().to_path_buf();
            let mode = std::fs::metadata(&dir).unwrap().mode() & 0o7777;
            std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o555)).unwrap();
            let before = tree_snapshot(&cell.home());
            let o = finish(cell.command(w, &herossh_bin()));
            let after = tree_snapshot(&cell.home());
            std::fs::set_permissions(&dir, PermissionsExt::from_mode(mode)).unwrap();
            let dir_name = dir.display().to_string();
            expect_clean_failure(&format!("{w:?} read-only"), &o, &dir_name, &before, &after);
        }
        return;
    }
    let bin = SharedBinary::new();
    for w in WRITERS {
        // The directory holding the file is read-only for its owner, nobody.
        let cell = Cell::new();
        hand_home_to_nobody(&cell);
        let target = cell.home().join(w.target());
        let dir = target.parent().unwrap().to_path_buf();
        std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o555)).unwrap();
        let before = tree_snapshot(&cell.home());
        let o = as_nobody(&cell, w, &bin);
        let after = tree_snapshot(&cell.home());
        let dir_name = dir.display().to_string();
        expect_clean_failure(
            &format!("{w:?} read-only dir"),
            &o,
            &dir_name,
            &before,
            &after,
        );
        stderr_says(&o, "Permission denied", &format!("{w:?}"));

        // The file belongs to root (readable by all, or private): never taken over.
        let cell = Cell::new();
        hand_home_to_nobody(&cell);
        let target = cell.home().join(w.target());
        std::os::unix::fs::chown(&target, Some(0), Some(0)).unwrap();
        if matches!(w, Writer::FixConfig) {
            // World-readable, as configs usually are: herossh could read and "replace" it.
            std::fs::set_permissions(&target, PermissionsExt::from_mode(0o644)).unwrap();
        }
        let before = tree_snapshot(&cell.home());
        let o = as_nobody(&cell, w, &bin);
        let after = tree_snapshot(&cell.home());
        expect_clean_failure(&format!("{w:?} root's file"), &o, named(w), &before, &after);
        let stderr = String::from_utf8_lossy(&o.stderr);
        // netrc must be read first (private to root: cannot be); a config or key would be
        // replaced by a rename, which herossh refuses for another user's file.
        let says = match w {
            Writer::Login | Writer::Logout => "Permission denied",
            Writer::FixConfig | Writer::KeygenForce => {
                "belongs to another user (uid 0): not replacing it"
            }
        };
        assert!(stderr.contains(says), "{w:?}: {stderr}");
    }
}

#[test]
fn symlink_loops_and_directories_in_place_of_files_are_refused_cleanly() {
    for w in WRITERS {
        for case in ["symlink loop", "directory"] {
            let cell = Cell::new();
            let target = cell.home().join(w.target());
            std::fs::remove_file(&target).unwrap();
            if case == "directory" {
                std::fs::create_dir(&target).unwrap();
                std::fs::write(target.join("inside"), b"kept").unwrap();
            } else {
                let dir = target.parent().unwrap();
                std::os::unix::fs::symlink("loop-b", dir.join("loop-a")).unwrap();
                std::os::unix::fs::symlink("loop-a", dir.join("loop-b")).unwrap();
                std::os::unix::fs::symlink("loop-a", &target).unwrap();
            }
            let before = tree_snapshot(&cell.home());
            let o = finish(cell.command(w, &herossh_bin()));
            let after = tree_snapshot(&cell.home());
            let what = format!("{w:?} {case}");
            expect_clean_failure(&what, &o, named(w), &before, &after);
            let stderr = String::from_utf8_lossy(&o.stderr);
            let says = if case == "directory" {
                "directory"
            } else {
                "symbolic links"
            };
            assert!(stderr.contains(says), "{what}: {stderr}");
        }
    }
}

/// The full-disk cell's tmpfs must not outlive a failed assertion: checked by Drop, and here
/// that a mount really fills up (so the test above cannot pass vacuously).
#[test]
fn the_tmpfs_fills_up() {
    let Some(cell) = Cell::on_tmpfs(256) else {
        eprintln!("the_tmpfs_fills_up: cannot mount a tmpfs here (not root)");
        return;
    };
    let mut f = std::fs::File::create(cell.home().join("filler")).unwrap();
    let block = vec![0u8; 4096];
    let mut written = 0;
    let err = loop {
        match f.write_all(&block) {
            Ok(()) => written += block.len(),
            Err(e) => break e,
        }
        assert!(written <= 512 * 1024, "tmpfs did not fill");
    };
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
}

/// Reading is as forgiving as ssh: an unreadable `~/.ssh/config` (a directory, a symlink loop)
/// is skipped by `ssh -G` without a word; `config resolve` gives the same answer as without the
/// file, and says why it skipped it.
#[test]
fn config_resolve_skips_an_unreadable_config_like_ssh_and_says_so() {
    let reference = TestEnv::new();
    let expected = reference
        .herossh()
        .args(["config", "resolve", "heroku.com"])
        .output()
        .unwrap();
    assert_eq!(expected.status.code(), Some(0));
    for case in ["directory", "symlink loop"] {
        let env = TestEnv::new();
        let ssh = env.ssh_dir();
        if case == "directory" {
            std::fs::create_dir(ssh.join("config")).unwrap();
        } else {
            std::os::unix::fs::symlink("config", ssh.join("config")).unwrap();
        }
        let oracle = env
            .program("ssh")
            .args(["-G", "heroku.com"])
            .output()
            .unwrap();
        assert_eq!(oracle.status.code(), Some(0), "{case}: ssh -G skips it");
        let o = env
            .herossh()
            .args(["config", "resolve", "heroku.com"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{case}: {stderr}");
        // The same answer as with no config (the home differs only in its path).
        let strip = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .lines()
                .filter(|l| !l.contains("/tmp/"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&o.stdout), strip(&expected.stdout), "{case}");
        let why = if case == "directory" {
            "it is a directory"
        } else {
            "Too many levels of symbolic links"
        };
        assert_eq!(
            stderr,
            format!(
                " ›   Warning: ~/.ssh/config cannot be read ({why}{}); ssh skips it too, and so \
                 does this answer\n",
                if case == "directory" {
                    ""
                } else {
                    " (os error 40)"
                }
            ),
            "{case}"
        );
        // doctor says the same as an error: every setting in that file is off.
        let (v, found) = offline_doctor(&env, "config-unreadable");
        assert_eq!(found.len(), 1, "{case}: {v:#}");
        assert_eq!(v["errors"], 1, "{case}: counted as an error: {v:#}");
        assert_eq!(
            found[0]["message"],
            format!(
                "~/.ssh/config cannot be read ({why}{}): ssh ignores it, so none of its settings \
                 apply",
                if case == "directory" {
                    ""
                } else {
                    " (os error 40)"
                }
            )
        );
    }
}

/// A special file at `path`, made for real: `mknod` for devices (root only), `mkfifo`, or a
/// bound Unix socket (kept open by the returned listener).
fn make_special(path: &Path, kind: &str) -> Option<std::os::unix::net::UnixListener> {
    let status = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
    match kind {
        // The kernel's /dev/null and /dev/zero, as new device nodes in the temp dir.
        "null" => status(Command::new("mknod").arg(path).args(["c", "1", "3"])),
        "zero" => status(Command::new("mknod").arg(path).args(["c", "1", "5"])),
        "fifo" => status(Command::new("mkfifo").arg(path)),
        "socket" => return Some(std::os::unix::net::UnixListener::bind(path).unwrap()),
        _ => unreachable!("{kind}"),
    }
    None
}

fn file_kind(path: &Path) -> String {
    use std::os::unix::fs::FileTypeExt;
    let md = std::fs::symlink_metadata(path).unwrap();
    let t = md.file_type();
    let kind = if t.is_char_device() {
        "char"
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_socket() {
        "socket"
    } else if t.is_file() {
        "file"
    } else {
        "other"
    };
    format!("{kind} {:x}", md.rdev())
}

/// `keygen --force -f /dev/null` as root once replaced the system's /dev/null with a private
/// key. No writer replaces a device, FIFO or socket: a clear error naming it, and the special
/// file (and everything else) as it was. Reads of them never hang.
#[test]
fn devices_fifos_and_sockets_in_place_of_files_are_never_replaced() {
    let kinds: &[&str] = if is_root() {
        &["null", "zero", "fifo", "socket"]
    } else {
        eprintln!("devices_fifos_and_sockets...: not root, no mknod: FIFOs and sockets only");
        &["fifo", "socket"]
    };
    for w in WRITERS {
        for &kind in kinds {
            let cell = Cell::new();
            let target = cell.home().join(w.target());
            std::fs::remove_file(&target).unwrap();
            let _listener = make_special(&target, kind);
            let made = file_kind(&target);
            let before = tree_snapshot(&cell.home());
            let started = Instant::now();
            let o = assert_cmd::Command::from_std(cell.command(w, &herossh_bin()))
                .write_stdin(format!("{TOKEN}\n"))
                .timeout(std::time::Duration::from_secs(30))
                .output()
                .unwrap();
            let after = tree_snapshot(&cell.home());
            let what = format!("{w:?} on {kind}");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "{what}: hung"
            );
            assert_eq!(file_kind(&target), made, "{what}: the special file changed");
            let stderr = String::from_utf8_lossy(&o.stderr);
            // Logout reads a /dev/null netrc as empty: nothing to remove is a success.
            if matches!(w, Writer::Logout) && kind == "null" {
                assert_eq!(o.status.code(), Some(0), "{what}: {stderr}");
                assert_eq!(differences(&before, &after), Vec::<String>::new(), "{what}");
                continue;
            }
            expect_clean_failure(&what, &o, named(w), &before, &after);
            // Readers refuse what a netrc cannot be; /dev/zero as a config is too long; the
            // rest is the writers' refusal.
            let says = match (w, kind) {
                (Writer::Login | Writer::Logout, "fifo") => {
                    "it is a FIFO (named pipe), not a regular file"
                }
                (Writer::Login | Writer::Logout, "socket") => "it is a socket, not a regular file",
                (Writer::Login | Writer::Logout, "zero") => {
                    "larger than 16 MiB, the limit for netrc files"
                }
                (Writer::FixConfig, "zero") => "larger than 16 MiB, the limit for ssh_config files",
                (Writer::FixConfig, "socket") => "it is a socket, not a regular file",
                (_, "null" | "zero") => {
                    "is a character device, not a regular file: refusing to replace it"
                }
                (_, "fifo") => "is a FIFO (named pipe), not a regular file: refusing to replace it",
                _ => "is a socket, not a regular file: refusing to replace it",
            };
            assert!(
                stderr.contains(says),
                "{what}: expected {says:?} in:\n{stderr}"
            );
        }
    }
}

/// The peak resident memory (KiB) and the output of a herossh run, as GNU time reports it.
///
/// Not from this process's own wait4: a child spawned here (vfork, or fork) starts with this
/// test process's memory, and Linux carries that high-water mark into the child's maxrss at
/// exec, so wait4 would report the test binary's peak (hundreds of MiB after other tests),
/// not herossh's. GNU time forks herossh from its own small process.
fn run_measured(env: &TestEnv, args: &[&str]) -> (Output, i64) {
    run_measured_with(env, args, Stdio::null(), true)
}

/// [`run_measured`] with `stdin`, and with or without the token in HEROKU_API_KEY.
fn run_measured_with(env: &TestEnv, args: &[&str], stdin: Stdio, token: bool) -> (Output, i64) {
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut c = Command::new("/usr/bin/time");
    env.apply(&mut c);
    // A token, so `keys add` gets as far as the file (which it refuses before any request).
    if token {
        c.env("HEROKU_API_KEY", TOKEN);
    }
    let o = c
        .current_dir(env.home())
        .args(["-f", "%M", "-o"])
        .arg(report.path())
        .arg(herossh_bin())
        .args(args)
        .stdin(stdin)
        .output()
        .unwrap();
    // GNU time writes "Command exited with non-zero status N" first when it is not 0.
    let text = std::fs::read_to_string(report.path()).unwrap();
    let max_rss_kib = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time said: {text:?}"));
    (o, max_rss_kib)
}

/// Keys, configs (and their Includes), netrc and login.json are read without blocking on a
/// FIFO and without reading an endless device or a huge file into memory: each of these runs
/// ends quickly, in little memory, with the documented answer.
#[test]
fn readers_never_hang_on_fifos_nor_read_devices_or_huge_files() {
    let env = TestEnv::new();
    let d = env.scratch();
    let fifo = d.join("fifo");
    make_special(&fifo, "fifo");
    let zero = if is_root() {
        make_special(&d.join("zero"), "zero");
        d.join("zero")
    } else {
        PathBuf::from("/dev/zero")
    };
    // 2 GiB, sparse: reading it whole would take seconds and gigabytes.
    let huge = d.join("huge.pub");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let include_zero = env.write("include-zero", format!("Include {}\n", zero.display()));
    let include_fifo = env.write(
        "include-fifo",
        format!("Include {}\nHost x\n  User u\n", fifo.display()),
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, i32, String)> = vec![
        (
            vec!["keys".into(), "add".into(), s(&fifo)],
            1,
            format!(
                "herossh: cannot read {}: it is a FIFO (named pipe), not a regular file",
                fifo.display()
            ),
        ),
        (
            vec!["keys".into(), "add".into(), s(&zero)],
            1,
            format!(
                "herossh: cannot read {}: it is a character device, not a regular file",
                zero.display()
            ),
        ),
        (
            vec!["keys".into(), "add".into(), s(&huge)],
            1,
            format!(
                "herossh: cannot read {}: larger than 1 MiB, the limit for public key files",
                huge.display()
            ),
        ),
        (
            vec![
                "config".into(),
                "resolve".into(),
                "h".into(),
                "-F".into(),
                s(&include_zero),
            ],
            2,
            format!(
                "herossh: Can't open user config file {}: larger than 16 MiB, the limit for \
                 ssh_config files",
                zero.display()
            ),
        ),
        (
            vec![
                "config".into(),
                "resolve".into(),
                "h".into(),
                "-F".into(),
                s(&zero),
            ],
            2,
            "larger than 16 MiB, the limit for ssh_config files".into(),
        ),
        // A FIFO nobody writes to reads as empty, as a config (`-F <(...)` is a pipe too).
        (
            vec![
                "config".into(),
                "resolve".into(),
                "x".into(),
                "-F".into(),
                s(&include_fifo),
            ],
            0,
            String::new(),
        ),
        (
            vec![
                "validate".into(),
                "--plan".into(),
                "-F".into(),
                "none".into(),
                "-i".into(),
                s(&fifo),
                "git@127.0.0.1".into(),
            ],
            0,
            String::new(),
        ),
        (
            vec![
                "validate".into(),
                "--plan".into(),
                "-F".into(),
                "none".into(),
                "-i".into(),
                s(&zero),
                "git@127.0.0.1".into(),
            ],
            0,
            String::new(),
        ),
        (
            vec![
                "validate".into(),
                "--plan".into(),
                "-F".into(),
                "none".into(),
                "-i".into(),
                s(&huge),
                "git@127.0.0.1".into(),
            ],
            0,
            String::new(),
        ),
    ];
    for (args, code, says) in cases {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let started = Instant::now();
        let (o, max_rss_kib) = run_measured(&env, &argv);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{args:?}: took {:?}",
            started.elapsed()
        );
        assert!(
            max_rss_kib < 150 * 1024,
            "{args:?}: peak RSS {max_rss_kib} KiB"
        );
        assert_eq!(o.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&says),
            "{args:?}: expected {says:?} in\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }

    // Tokens, passphrases and git's request on stdin are read up to a limit too.
    for (args, code, says) in [
        (
            &["auth", "login", "--token-stdin"][..],
            2,
            "cannot read the token from stdin: its first line is longer than 65536 bytes",
        ),
        (
            &["keygen", "--passphrase-stdin", "-f", "never"],
            2,
            "cannot read the passphrase from stdin: its first line is longer than 65536 bytes",
        ),
        (
            &[
                "validate",
                "--plan",
                "--passphrase-stdin",
                "-F",
                "none",
                "x",
            ],
            2,
            "cannot read the passphrase from stdin: its first line is longer than 65536 bytes",
        ),
        (&["git-credential", "get"], 0, ""),
    ] {
        let zero = std::fs::File::open("/dev/zero").unwrap();
        let started = Instant::now();
        // login refuses to run with HEROKU_API_KEY set; the others do not need it.
        let (o, max_rss_kib) = run_measured_with(&env, args, Stdio::from(zero), false);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{args:?}"
        );
        assert!(
            max_rss_kib < 150 * 1024,
            "{args:?}: peak RSS {max_rss_kib} KiB"
        );
        assert_eq!(o.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }

    // ~/.netrc and login.json as FIFOs: no hang; the netrc is refused, login.json ignored.
    std::fs::rename(&fifo, env.home().join(".netrc")).unwrap();
    let data = env.home().join(".local/share/heroku");
    std::fs::create_dir_all(&data).unwrap();
    make_special(&data.join("login.json"), "fifo");
    let started = Instant::now();
    let o = env
        .herossh()
        .args(["auth", "token"])
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "herossh: cannot read {}: it is a FIFO (named pipe), not a regular file\n",
            env.home().join(".netrc").display()
        )
    );
}
