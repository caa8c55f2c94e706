//! fix-config against its oracles: the real `ssh -G` after every edit (a real `ssh-agent` for
//! `.pub` identities), exact file bytes and modes, backups and their rotation, the lock under
//! parallel runs, a writer that ignores the lock, and the usage errors that must come before
//! any side effect.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use herossh::sshconfig::syntax;

use crate::sshconfig::{HOSTS, corpus_dir, fixtures, ssh_g};
use crate::support::{self, TestEnv};
use crate::validate::Agent;

/// A real key pair made by ssh-keygen at `~/.ssh/NAME` (or anywhere under home).
fn keypair(env: &TestEnv, rel: &str) -> PathBuf {
    let p = env.home().join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let st = env
        .program("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(&p)
        .status()
        .unwrap();
    assert!(st.success());
    p
}

/// `ssh -G`'s first identityfile and its identitiesonly for `host`.
fn ssh_pin(env: &TestEnv, config: &Path, host: &str, extra: &[(&str, &str)]) -> (String, String) {
    let mut cmd = env.program("ssh");
    cmd.arg("-G").arg("-F").arg(config).arg(host);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "ssh -G failed on {}", config.display());
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or("")
            .to_string()
    };
    (get("identityfile "), get("identitiesonly "))
}

/// `~/.ssh/.herossh-backups`, where every backup goes.
fn backups_dir(env: &TestEnv) -> PathBuf {
    env.home().join(".ssh/.herossh-backups")
}

/// The backups of `file` (its real path, a symlink resolved), oldest first: named after the
/// file's absolute path with `%` and `/` encoded, then `.YYYYMMDDTHHMMSS.ffffffZ.bak`.
fn backups_of(env: &TestEnv, file: &Path) -> Vec<PathBuf> {
    let stem = file
        .to_string_lossy()
        .trim_start_matches('/')
        .replace('%', "%25")
        .replace('/', "%2F");
    let Ok(rd) = std::fs::read_dir(backups_dir(env)) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let Some(rest) = name
                .strip_prefix(&format!("{stem}."))
                .and_then(|r| r.strip_suffix(".bak"))
            else {
                return false;
            };
            let b = rest.as_bytes();
            b.len() == 23
                && b.iter().enumerate().all(|(i, c)| match i {
                    8 => *c == b'T',
                    15 => *c == b'.',
                    22 => *c == b'Z',
                    _ => c.is_ascii_digit(),
                })
        })
        .collect();
    v.sort();
    v
}

/// Lines of `before` that are missing from `after` (in order): what the edit changed.
fn removed_lines(before: &[u8], after: &[u8]) -> Vec<String> {
    let b = syntax::parse(before);
    let a = syntax::parse(after);
    let mut j = 0;
    let mut removed = Vec::new();
    for l in &b.lines {
        match a.lines[j..].iter().position(|x| x.raw == l.raw) {
            Some(k) => j += k + 1,
            None => removed.push(String::from_utf8_lossy(&l.raw).into_owned()),
        }
    }
    removed
}

fn fix(env: &TestEnv, args: &[&str], config: Option<&Path>) -> std::process::Output {
    let mut cmd = env.herossh();
    cmd.arg("fix-config").args(args);
    if let Some(c) = config {
        cmd.arg("-F").arg(c);
    }
    cmd.output().unwrap()
}

/// fix-config on every fixture: ssh -G then offers the identity first with IdentitiesOnly
/// yes, every other host of the test list resolves exactly as before, the original lines are
/// all still there (bar an IdentitiesOnly value), the backup holds the original, and a second
/// run is a no-op.
#[test]
fn fix_config_pins_every_fixture() {
    let files = fixtures();
    assert!(files.len() >= 9);
    fix_config_pins_every(&files);
}

/// The same over every corpus config ssh -G accepts (SOURCES.tsv says which; Match exec
/// files are left out, they need --allow-exec).
#[test]
#[ignore = "needs HEROSSH_CORPUS or ../shared/corpus/ssh_config"]
fn corpus_fix_config_pins_every_file() {
    let corpus = corpus_dir();
    let sources = std::fs::read_to_string(corpus.join("SOURCES.tsv"))
        .unwrap_or_else(|e| panic!("{}/SOURCES.tsv: {e}", corpus.display()));
    let mut files = Vec::new();
    for row in sources.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols[5] == "yes" && !cols[9].contains("exec") {
            files.push(corpus.join(cols[0]));
        }
    }
    assert!(files.len() > 60, "{} corpus files", files.len());
    fix_config_pins_every(&files);
    eprintln!("corpus fix-config: {} files covered", files.len());
}

fn fix_config_pins_every(files: &[PathBuf]) {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let key_s = key.to_str().unwrap().to_string();
    let scratch = env.scratch();
    let agent = scratch.join("agent.sock");
    let extra = [
        ("HEROSSH_FIXTURE_AGENT", agent.to_str().unwrap()),
        ("HEROSSH_FIXTURE_DIR", scratch.to_str().unwrap()),
    ];
    let mut failures = Vec::new();
    for (n, src) in files.iter().enumerate() {
        let dir = scratch.join(format!("c{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("config");
        let original = std::fs::read(src).unwrap();
        std::fs::write(&cfg, &original).unwrap();
        // Every other host must resolve exactly as before (ssh -G is the judge).
        let others_before: Vec<(bool, String)> = HOSTS
            .iter()
            .filter(|h| **h != "heroku.com")
            .map(|h| ssh_g(&env, &cfg, h, &extra))
            .collect();
        let mut cmd = env.herossh();
        cmd.args(["fix-config", "-i", &key_s, "-F"]).arg(&cfg);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        let (_, err) = support::out(&o);
        if !o.status.success() {
            failures.push(format!(
                "{}: exit {:?}: {err}",
                src.display(),
                o.status.code()
            ));
            continue;
        }
        let after = std::fs::read(&cfg).unwrap();
        if err.contains("already pinned") {
            // basic.conf pins heroku.com already: nothing may change.
            if after != original || !backups_of(&env, &cfg).is_empty() {
                failures.push(format!("{}: changed although pinned", src.display()));
            }
            continue;
        }
        let others_after: Vec<(bool, String)> = HOSTS
            .iter()
            .filter(|h| **h != "heroku.com")
            .map(|h| ssh_g(&env, &cfg, h, &extra))
            .collect();
        for ((h, b), a) in HOSTS
            .iter()
            .filter(|h| **h != "heroku.com")
            .zip(&others_before)
            .zip(&others_after)
        {
            if a != b {
                failures.push(format!("{}: ssh -G {h} changed", src.display()));
            }
        }
        let pin = ssh_pin(&env, &cfg, "heroku.com", &extra);
        if pin != ("~/.ssh/id_heroku".to_string(), "yes".to_string()) {
            failures.push(format!("{}: ssh -G gives {pin:?}", src.display()));
        }
        let removed = removed_lines(&original, &after);
        if removed.len() > 1
            || removed
                .iter()
                .any(|l| !l.to_lowercase().contains("identitiesonly"))
        {
            failures.push(format!("{}: lines changed: {removed:?}", src.display()));
        }
        let added = syntax::parse(&after).lines.len() - syntax::parse(&original).lines.len();
        if added > 7 {
            failures.push(format!("{}: {added} lines added", src.display()));
        }
        let b = backups_of(&env, &cfg);
        if b.len() != 1 || std::fs::read(&b[0]).unwrap() != original {
            failures.push(format!("{}: backup {b:?}", src.display()));
        }
        let mut again = env.herossh();
        again.args(["fix-config", "-i", &key_s, "-F"]).arg(&cfg);
        for (k, v) in extra {
            again.env(k, v);
        }
        let o2 = again.output().unwrap();
        let (_, err2) = support::out(&o2);
        if !o2.status.success()
            || !err2.contains("already pinned")
            || std::fs::read(&cfg).unwrap() != after
        {
            failures.push(format!("{}: second run: {err2}", src.display()));
        }
        if backups_of(&env, &cfg).len() != 1 {
            failures.push(format!("{}: second run made a backup", src.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fix_config_updates_the_hosts_block_in_its_style() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let cfg = env.write(
        "cfg",
        "# mine\r\nHost heroku.com\r\n\tHostName=heroku.com\r\n\tIdentitiesOnly=no # was off\r\n\r\nHost *\r\n\tUser me",
    );
    let o = fix(&env, &["-i", key.to_str().unwrap()], Some(&cfg));
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert_eq!(
        std::fs::read(&cfg).unwrap(),
        b"# mine\r\nHost heroku.com\r\n\tIdentityFile=~/.ssh/id_heroku\r\n\tHostName=heroku.com\r\n\tIdentitiesOnly=yes # was off\r\n\r\nHost *\r\n\tUser me"
    );
    assert_eq!(
        ssh_pin(&env, &cfg, "heroku.com", &[]),
        ("~/.ssh/id_heroku".into(), "yes".into())
    );
}

#[test]
fn fix_config_dry_run_prints_a_diff_and_writes_nothing() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let original = "Host *\n  IdentityFile ~/.ssh/id_default\n  IdentitiesOnly yes\n";
    let cfg = env.write("d/config", original);
    let o = fix(
        &env,
        &["--dry-run", "-i", key.to_str().unwrap()],
        Some(&cfg),
    );
    assert!(o.status.success());
    let (out, err) = support::out(&o);
    assert_eq!(
        out,
        "--- a/config\n+++ b/config\n@@ -1,3 +1,8 @@\n+Host heroku.com\n+  HostName heroku.com\n+  IdentityFile ~/.ssh/id_heroku\n+  IdentitiesOnly yes\n+\n Host *\n   IdentityFile ~/.ssh/id_default\n   IdentitiesOnly yes\n"
    );
    assert!(err.contains("dry run"), "{err}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), original);
    // No side effect at all: not even the backups directory or its lock.
    assert!(!backups_dir(&env).exists());
    assert_eq!(std::fs::read_dir(env.home().join("d")).unwrap().count(), 1);
}

#[test]
fn fix_config_edits_a_symlinked_config_at_its_target() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let target = env.write("dotfiles/ssh_config", "Host github.com\n  User git\n");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = env.ssh_dir().join("config");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = fix(&env, &["-i", key.to_str().unwrap()], None);
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "Host github.com\n  User git\n\nHost heroku.com\n  HostName heroku.com\n  IdentityFile ~/.ssh/id_heroku\n  IdentitiesOnly yes\n"
    );
    assert_eq!(support::mode(&target), 0o640);
    // The backup is named after the file really edited, and kept away from it.
    let b = backups_of(&env, &target);
    assert_eq!(b.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&b[0]).unwrap(),
        "Host github.com\n  User git\n"
    );
    assert_eq!(support::mode(&b[0]), 0o640);
    assert_eq!(support::mode(&backups_dir(&env)), 0o700);
    assert_eq!(
        std::fs::read_dir(env.home().join("dotfiles"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn fix_config_creates_a_missing_config_0600_and_ssh_dir_0700() {
    let env = TestEnv::new();
    let key = keypair(&env, "keys/id_work");
    assert!(!env.home().join(".ssh").exists());
    let o = fix(
        &env,
        &["-i", key.to_str().unwrap(), "--host", "git.example.com"],
        None,
    );
    assert!(o.status.success(), "{:?}", support::out(&o));
    let cfg = env.home().join(".ssh/config");
    assert_eq!(support::mode(&env.home().join(".ssh")), 0o700);
    assert_eq!(support::mode(&cfg), 0o600);
    assert_eq!(
        std::fs::read_to_string(&cfg).unwrap(),
        "Host git.example.com\n  HostName git.example.com\n  IdentityFile ~/keys/id_work\n  IdentitiesOnly yes\n"
    );
    assert_eq!(
        ssh_pin(&env, &cfg, "git.example.com", &[]),
        ("~/keys/id_work".into(), "yes".into())
    );
}

#[test]
fn fix_config_keeps_a_missing_final_newline() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let cfg = env.write("cfg", "Host other\n  User x");
    let o = fix(&env, &["-i", key.to_str().unwrap()], Some(&cfg));
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(&cfg).unwrap(),
        "Host other\n  User x\n\nHost heroku.com\n  HostName heroku.com\n  IdentityFile ~/.ssh/id_heroku\n  IdentitiesOnly yes"
    );
}

#[test]
fn fix_config_moves_above_global_pins_without_changing_other_hosts() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let original = "# top\nIdentitiesOnly no\nIdentityFile ~/.ssh/id_global\n\nHost x\n  User y\n";
    let cfg = env.write("cfg", original);
    let before_x = ssh_g(&env, &cfg, "x", &[]);
    let o = fix(&env, &["-i", key.to_str().unwrap()], Some(&cfg));
    let (_, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("above global lines"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&cfg).unwrap(),
        "# top\nHost heroku.com\n  HostName heroku.com\n  IdentityFile ~/.ssh/id_heroku\n  IdentitiesOnly yes\nHost *\nIdentitiesOnly no\nIdentityFile ~/.ssh/id_global\n\nHost x\n  User y\n"
    );
    assert_eq!(ssh_g(&env, &cfg, "x", &[]), before_x);
    assert_eq!(
        ssh_pin(&env, &cfg, "heroku.com", &[]),
        ("~/.ssh/id_heroku".into(), "yes".into())
    );
}

#[test]
fn fix_config_never_rewrites_a_config_that_does_not_parse() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let original = "Host heroku.com\n  Bogus yes\n";
    let cfg = env.write("d/cfg", original);
    let o = fix(&env, &["-i", key.to_str().unwrap()], Some(&cfg));
    assert_eq!(o.status.code(), Some(1));
    let (out, err) = support::out(&o);
    assert_eq!(out, "");
    assert!(
        err.contains("does not parse, so it was left untouched"),
        "{err}"
    );
    assert!(err.contains("Bad configuration option: bogus"), "{err}");
    assert!(
        err.contains("no ssh knows `bogus`: correct or remove that line"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), original);
    // No side effect at all: not even the backups directory or its lock.
    assert!(!backups_dir(&env).exists());
    assert_eq!(std::fs::read_dir(env.home().join("d")).unwrap().count(), 1);
    // A keyword of another ssh build: the fix that makes this one ignore it.
    let original = "Host heroku.com\n  UseKeychain yes\n";
    std::fs::write(&cfg, original).unwrap();
    let o = fix(&env, &["-i", key.to_str().unwrap()], Some(&cfg));
    assert_eq!(o.status.code(), Some(1));
    let err = support::out(&o).1;
    assert!(
        err.contains("`herossh fix-config --ignore-unknown usekeychain` makes this one ignore it"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), original);
}

#[test]
fn fix_config_chooses_the_identity_or_explains() {
    let env = TestEnv::new();
    // No key at all.
    let o = fix(&env, &[], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        support::out(&o).1.contains("no key pair"),
        "{:?}",
        support::out(&o)
    );
    // -i that does not exist, and a .pub given instead of the private key.
    let o = fix(&env, &["-i", "/nonexistent/id"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        support::out(&o)
            .1
            .contains("identity /nonexistent/id does not exist")
    );
    let one = keypair(&env, ".ssh/id_one");
    let o = fix(&env, &["-i", &format!("{}.pub", one.display())], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(support::out(&o).1.contains("is a public key"));
    // The only key pair is used.
    let o = fix(&env, &["--dry-run"], None);
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert!(
        support::out(&o)
            .0
            .contains("+  IdentityFile ~/.ssh/id_one\n")
    );
    // Two: no terminal, so a usage error listing both.
    keypair(&env, ".ssh/id_two");
    let o = fix(&env, &[], None);
    assert_eq!(o.status.code(), Some(2));
    let (_, err) = support::out(&o);
    assert!(err.contains("~/.ssh/id_one, ~/.ssh/id_two"), "{err}");
    assert!(!env.ssh_dir().join("config").exists());
    // A private key without its .pub works, with a warning.
    std::fs::remove_file(env.ssh_dir().join("id_two.pub")).unwrap();
    let o = fix(
        &env,
        &["-i", env.ssh_dir().join("id_two").to_str().unwrap()],
        None,
    );
    assert!(o.status.success());
    assert!(
        support::out(&o).1.contains("has no"),
        "{:?}",
        support::out(&o)
    );
}

/// With working credentials, the key that is on the Heroku account is the one pinned, even
/// among several local pairs (where otherwise fix-config would have to ask).
#[test]
fn fix_config_defaults_to_the_key_on_the_account() {
    let env = TestEnv::new();
    keypair(&env, ".ssh/id_github");
    let heroku = keypair(&env, ".ssh/id_heroku");
    let api = support::fake_api::FakeApi::start();
    api.add_token("tok-fix-config-account", "dev@example.com");
    let public = std::fs::read_to_string(format!("{}.pub", heroku.display())).unwrap();
    api.add_key("dev@example.com", public.trim());
    let o = env
        .herossh()
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_API_KEY", "tok-fix-config-account")
        .args(["fix-config", "--dry-run"])
        .output()
        .unwrap();
    let (stdout, stderr) = support::out(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("+  IdentityFile ~/.ssh/id_heroku\n"),
        "{stdout}"
    );
    assert_eq!(
        api.request_lines()
            .iter()
            .filter(|l| l.starts_with("GET /account/keys"))
            .count(),
        1
    );
    // A token the API refuses is only a missing hint: the local rules decide, and with two
    // pairs and no terminal that is a usage error listing both, not an auth failure.
    let o = env
        .herossh()
        .env("HEROKU_HOST", api.url())
        .env("HEROKU_API_KEY", "tok-not-valid")
        .args(["fix-config", "--dry-run"])
        .output()
        .unwrap();
    let (_, stderr) = support::out(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("~/.ssh/id_github, ~/.ssh/id_heroku"),
        "{stderr}"
    );
}

#[test]
fn fix_config_edits_the_included_file_where_the_host_lives() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let dir = env.scratch();
    let inc = dir.join("inc.conf");
    std::fs::write(
        &inc,
        "Host heroku.com\n    HostName heroku.com\n    User git\n",
    )
    .unwrap();
    let main_text = format!("Include {}\n\nHost *\n  User u\n", inc.display());
    let main = dir.join("main");
    std::fs::write(&main, &main_text).unwrap();
    let o = fix(&env, &["-i", key.to_str().unwrap()], Some(&main));
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert_eq!(std::fs::read_to_string(&main).unwrap(), main_text);
    assert_eq!(
        std::fs::read_to_string(&inc).unwrap(),
        "Host heroku.com\n    IdentityFile ~/.ssh/id_heroku\n    IdentitiesOnly yes\n    HostName heroku.com\n    User git\n"
    );
    let b = backups_of(&env, &inc);
    assert_eq!(b.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&b[0]).unwrap(),
        "Host heroku.com\n    HostName heroku.com\n    User git\n"
    );
    // Nothing beside the edited files.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    assert_eq!(
        ssh_pin(&env, &main, "heroku.com", &[]),
        ("~/.ssh/id_heroku".into(), "yes".into())
    );
}

/// Makes a directory unwritable for the test's lifetime: chmod for a normal user; root
/// ignores modes, so `chattr +i` there (undone on drop, even when the test fails).
struct ReadOnlyDir(PathBuf);

impl ReadOnlyDir {
    fn new(dir: &Path) -> Self {
        use std::os::unix::fs::PermissionsExt;
        if unsafe { libc::geteuid() } == 0 {
            let st = std::process::Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .status()
                .unwrap();
            assert!(st.success(), "chattr +i {} failed", dir.display());
        } else {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        ReadOnlyDir(dir.to_path_buf())
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if unsafe { libc::geteuid() } == 0 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.0)
                .status();
        } else {
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
fn fix_config_in_a_read_only_directory_fails_clearly_and_keeps_the_original() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let original = "Host other\n  User x\n";
    let cfg = env.write("ro/config", original);
    let dir = env.home().join("ro");
    let guard = ReadOnlyDir::new(&dir);
    let o = fix(&env, &["-i", key.to_str().unwrap()], Some(&cfg));
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    drop(guard);
    assert_eq!(o.status.code(), Some(1));
    let (out, err) = support::out(&o);
    assert_eq!(out, "");
    // One line naming the directory (chattr +i gives EPERM as root, a 0555 dir EACCES).
    let prefix = format!(
        "herossh: cannot create a temporary file in {}: ",
        dir.display()
    );
    assert!(err.starts_with(&prefix), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), original);
    assert_eq!(entries.len(), 1, "something was left in the directory");
}

#[test]
fn fix_config_says_when_the_answer_depends_on_match_exec() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let marker = env.scratch().join("ran");
    let cfg = env.write(
        "cfg",
        format!(
            "Match exec \"touch {}\"\n  IdentityFile ~/.ssh/other\n",
            marker.display()
        ),
    );
    let o = fix(&env, &["-i", key.to_str().unwrap()], Some(&cfg));
    let (_, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert!(!marker.exists(), "fix-config ran a Match exec command");
    assert!(
        err.contains("was not run and counted as not matching"),
        "{err}"
    );
    // The stanza goes before the Match block, which might win when its command succeeds.
    assert!(
        std::fs::read_to_string(&cfg)
            .unwrap()
            .starts_with("Host heroku.com\n  HostName heroku.com\n  IdentityFile ~/.ssh/id_heroku\n  IdentitiesOnly yes\n\nMatch exec")
    );
    assert_eq!(
        ssh_pin(&env, &cfg, "heroku.com", &[]),
        ("~/.ssh/id_heroku".into(), "yes".into())
    );
}

// ---------------------------------------------------------------------------------------
// Helpers for the tests below

/// `ssh -G -F config host`: (success, stdout, stderr).
fn ssh_full(env: &TestEnv, config: &Path, host: &str) -> (bool, String, String) {
    let o = env
        .program("ssh")
        .arg("-G")
        .arg("-F")
        .arg(config)
        .arg(host)
        .output()
        .unwrap();
    let (out, err) = support::out(&o);
    (o.status.success(), out, err)
}

/// One key of `ssh -G` (the first line for it), failing the test when ssh -G fails.
fn ssh_key(env: &TestEnv, config: &Path, host: &str, key: &str) -> String {
    let (ok, out, err) = ssh_full(env, config, host);
    assert!(ok, "ssh -G {host} failed: {err}");
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} ")))
        .unwrap_or("")
        .to_string()
}

/// The files `ssh -G` reads, in order (its `-vvv` "Reading configuration data" lines).
fn files_ssh_reads(env: &TestEnv, config: &Path, host: &str) -> Vec<PathBuf> {
    let o = env
        .program("ssh")
        .args(["-G", "-vvv", "-F"])
        .arg(config)
        .arg(host)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", support::out(&o));
    support::out(&o)
        .1
        .lines()
        .filter_map(|l| l.strip_prefix("debug1: Reading configuration data "))
        .map(PathBuf::from)
        .collect()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

// ---------------------------------------------------------------------------------------
// Targets, -F and -i: usage errors before any side effect

#[test]
fn fix_config_reads_the_target_like_ssh_and_refuses_ports_before_any_side_effect() {
    let env = TestEnv::new();
    let key = keypair(&env, "keys/id_k");
    let k = key.to_str().unwrap();
    for (arg, says) in [
        ("heroku.com:22", "ssh takes no port after a colon"),
        ("git@heroku.com:22", "--set 'Port 22'"),
        ("ssh://git@heroku.com:2222", "names port 2222"),
        ("ssh://heroku.com/path", "a path is not allowed"),
        ("bad;host", "hostname contains invalid characters"),
        ("*.heroku.com", "not a host name"),
        ("a,b", "hostname contains invalid characters"),
        ("-oProxyCommand=x", "hostname contains invalid characters"),
        ("@heroku.com", "empty user name"),
    ] {
        let o = fix(&env, &[&format!("--host={arg}"), "-i", k], None);
        let (out, err) = support::out(&o);
        assert_eq!(o.status.code(), Some(2), "{arg}: {err}");
        assert_eq!(out, "", "{arg}");
        assert!(err.contains(says), "{arg}: {err}");
    }
    assert!(
        !env.home().join(".ssh").exists(),
        "a refused run touched ~/.ssh"
    );

    // user@host edits host's settings; ssh -G for user@host then sees the pin.
    let o = fix(&env, &["--host", "git@git.example.com", "-i", k], None);
    assert!(o.status.success(), "{:?}", support::out(&o));
    let cfg = env.home().join(".ssh/config");
    assert_eq!(
        read(&cfg),
        "Host git.example.com\n  HostName git.example.com\n  IdentityFile ~/keys/id_k\n  IdentitiesOnly yes\n"
    );
    assert_eq!(
        ssh_pin(&env, &cfg, "git@git.example.com", &[]),
        ("~/keys/id_k".into(), "yes".into())
    );
}

#[test]
fn keygen_pin_checks_the_host_before_generating_the_key() {
    let env = TestEnv::new();
    let file = env.home().join("k/id_new");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    for bad in ["heroku.com:22", "ssh://h:22", "*.x", ""] {
        let o = env
            .herossh()
            .args(["keygen", "-t", "ed25519", "--no-passphrase", "-f"])
            .arg(&file)
            .args(["--pin", bad])
            .output()
            .unwrap();
        let (_, err) = support::out(&o);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(err.starts_with("herossh: --pin: "), "{bad}: {err}");
        assert!(!file.exists(), "{bad}: the key was generated");
    }
}

#[test]
fn fix_config_f_must_be_in_an_existing_directory() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let missing = env.home().join("nope/deeper/config");
    let o = fix(&env, &["-i", key.to_str().unwrap()], Some(&missing));
    let (_, err) = support::out(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("does not exist (fix-config does not create directories for -F)"),
        "{err}"
    );
    assert!(!env.home().join("nope").exists());
    let o = fix(&env, &["-i", key.to_str().unwrap()], Some(&env.ssh_dir()));
    assert_eq!(o.status.code(), Some(2));
    assert!(support::out(&o).1.contains("is a directory"));
    assert!(!backups_dir(&env).exists());
}

#[test]
fn fix_config_identity_must_be_a_key_ssh_can_use() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_one");
    let random = env.write("notes.txt", "hello\n");
    let putty = env.write(
        "key.ppk",
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n",
    );
    let public = format!("{}.pub", key.display());
    let cfg = env.write("cfg", "Host other\n  User x\n");
    let original = read(&cfg);
    for (identity, says) in [
        (random.display().to_string(), "is not a key ssh can load"),
        (
            env.home().join("keys-dir").display().to_string(),
            "does not exist",
        ),
        (
            env.ssh_dir().display().to_string(),
            "is a directory, not a key",
        ),
        (putty.display().to_string(), "is a PuTTY key"),
        (public.clone(), "is a public key, and no agent is available"),
    ] {
        let o = fix(&env, &["-i", &identity], Some(&cfg));
        let (_, err) = support::out(&o);
        assert_eq!(o.status.code(), Some(2), "{identity}: {err}");
        assert!(err.contains(says), "{identity}: {err}");
    }
    // An agent that does not hold the key: still refused, naming `ssh-add`.
    let agent = Agent::start(&env);
    let o = env
        .herossh()
        .env("SSH_AUTH_SOCK", &agent.sock)
        .args(["fix-config", "-i", &public, "-F"])
        .arg(&cfg)
        .output()
        .unwrap();
    let (_, err) = support::out(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("does not hold its private key"), "{err}");
    assert!(err.contains("ssh-add ~/.ssh/id_one"), "{err}");
    assert_eq!(read(&cfg), original);
    assert!(!backups_dir(&env).exists());
    // Once the agent holds it, `IdentityFile X.pub` selects that agent key: pinned as given.
    agent.add(&env, &key);
    let o = env
        .herossh()
        .env("SSH_AUTH_SOCK", &agent.sock)
        .args(["fix-config", "-i", &public, "-F"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert_eq!(
        ssh_pin(&env, &cfg, "heroku.com", &[]),
        ("~/.ssh/id_one.pub".into(), "yes".into())
    );
}

/// `-i` is judged by ssh's loader with the host's own settings: an RSA key under the host's
/// RequiredRSASize is refused as ssh refuses it; a key ssh refuses only for its mode is
/// pinned, with the chmod that makes ssh take it.
#[test]
fn fix_config_identity_is_judged_with_the_hosts_settings() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let small = env.ssh_dir().join("id_small");
    let st = env
        .program("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "1024", "-N", "", "-f"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(st.success());
    let cfg = env.write("cfg", "Host strict\n  RequiredRSASize 2048\n");
    let original = read(&cfg);
    let o = fix(
        &env,
        &["--host", "strict", "-i", small.to_str().unwrap()],
        Some(&cfg),
    );
    let (_, err) = support::out(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is a 1024-bit RSA key; this ssh refuses RSA keys under 2048 bits"),
        "{err}"
    );
    assert_eq!(read(&cfg), original);
    // Elsewhere 1024 bits are enough; a mode ssh refuses gets a warning with its fix.
    std::fs::set_permissions(&small, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = fix(
        &env,
        &["--host", "other", "-i", small.to_str().unwrap()],
        Some(&cfg),
    );
    let (_, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(
            "ssh refuses ~/.ssh/id_small as it is (mode 0644: \"UNPROTECTED PRIVATE KEY FILE\"); \
             make it private with `chmod 600 ~/.ssh/id_small`"
        ),
        "{err}"
    );
    assert_eq!(
        ssh_pin(&env, &cfg, "other", &[]),
        ("~/.ssh/id_small".into(), "yes".into())
    );
}

// ---------------------------------------------------------------------------------------
// Concurrency, read-only files, backups

/// Ten runs at once for ten hosts: every one succeeds and every stanza is there (the lock
/// orders them; each plans again on top of the previous one's edit).
#[test]
fn fix_config_parallel_runs_never_lose_an_edit() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let original = "# shared\nHost *\n  ServerAliveInterval 30\n";
    let cfg = env.write(".ssh/config", original);
    let children: Vec<_> = (0..10)
        .map(|i| {
            env.program(support::herossh_bin())
                .args(["fix-config", "-i"])
                .arg(&key)
                .args(["--host", &format!("h{i}.example.com")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "run {i}: {:?}", support::out(&o));
    }
    let after = read(&cfg);
    assert!(after.starts_with(original), "{after}");
    for i in 0..10 {
        let h = format!("h{i}.example.com");
        assert_eq!(
            after.matches(&format!("Host {h}\n")).count(),
            1,
            "{h}:\n{after}"
        );
        assert_eq!(
            ssh_pin(&env, &cfg, &h, &[]),
            ("~/.ssh/id_heroku".into(), "yes".into()),
            "{h}"
        );
    }
    // One backup per run, each a distinct earlier state, the first the original.
    let b = backups_of(&env, &cfg);
    assert_eq!(b.len(), 10, "{b:?}");
    let states: Vec<String> = b.iter().map(|p| read(p)).collect();
    assert_eq!(states[0], original);
    for w in states.windows(2) {
        assert!(w[1].starts_with(&w[0]) && w[1].len() > w[0].len());
    }
}

/// A run that plans while another holds the lock plans again once it gets it: the other
/// run's edit (simulated here) is kept and this one lands on top.
#[test]
fn fix_config_waiting_for_the_lock_plans_again_on_top() {
    use std::os::fd::AsRawFd;
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let cfg = env.write(".ssh/config", "Host a\n  User x\n");
    std::fs::create_dir_all(backups_dir(&env)).unwrap();
    let lock_path = backups_dir(&env).join(".lock");
    let lock = std::fs::File::create(&lock_path).unwrap();
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let child = env
        .program(support::herossh_bin())
        .args(["-v", "fix-config", "-i"])
        .arg(&key)
        .args(["--host", "h1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it has planned and opened the lock file.
    let fds = PathBuf::from(format!("/proc/{}/fd", child.id()));
    let waiting = (0..1000).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::read_dir(&fds)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == lock_path))
    });
    assert!(waiting, "herossh never opened the lock file");
    std::fs::write(&cfg, "Host a\n  User x\n\nHost other\n  User o\n").unwrap();
    drop(lock);
    let o = child.wait_with_output().unwrap();
    let (_, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("planning again"), "{err}");
    assert_eq!(
        read(&cfg),
        "Host a\n  User x\n\nHost other\n  User o\n\nHost h1\n  HostName h1\n  IdentityFile ~/.ssh/id_heroku\n  IdentitiesOnly yes\n"
    );
    assert_eq!(ssh_key(&env, &cfg, "other", "user"), "o");
}

/// A program that ignores the lock and writes between herossh's read and its rename (held
/// there by a delayed fsync): herossh fails loudly and that program's bytes stay.
#[test]
fn fix_config_fails_loudly_when_another_program_wrote_the_file_meanwhile() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let cfg = env.write(".ssh/config", "Host a\n  User x\n");
    let mut cmd = env.program("strace");
    cmd.args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync"])
        .args(["-e", "inject=fsync:delay_enter=700000"])
        .arg(support::herossh_bin())
        .args(["fix-config", "-i"])
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    // The first fsync is the backup's: by then the config was read and planned on.
    let staged = (0..1000).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::read_dir(backups_dir(&env))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
    });
    assert!(staged, "herossh never started its backup");
    let theirs = "# edited by hand meanwhile\nHost a\n  User x\n";
    std::fs::write(&cfg, theirs).unwrap();
    let o = child.wait_with_output().unwrap();
    let (_, err) = support::out(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("changed while herossh was editing it"),
        "{err}"
    );
    assert_eq!(read(&cfg), theirs);
    assert_eq!(backups_of(&env, &cfg), Vec::<PathBuf>::new());
    let temps: Vec<_> = std::fs::read_dir(env.ssh_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
}

#[test]
fn fix_config_refuses_a_read_only_file_unless_forced_and_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let original = "Host other\n  User x\n";
    let cfg = env.write("ro/config", original);
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o444)).unwrap();
    let k = key.to_str().unwrap();
    let o = fix(&env, &["-i", k], Some(&cfg));
    let (out, err) = support::out(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!(
            "herossh: ~/ro/config is read-only (mode 0444): not editing it; pass --force to edit it anyway (its mode is kept)\n"
        )
    );
    assert_eq!(read(&cfg), original);
    assert_eq!(support::mode(&cfg), 0o444);
    assert!(!backups_dir(&env).exists());
    // A dry run shows the edit and says it would be refused.
    let o = fix(&env, &["--dry-run", "-i", k], Some(&cfg));
    assert!(o.status.success());
    assert!(support::out(&o).1.contains("is read-only"));
    // Forced: edited, mode kept, original backed up.
    let o = fix(&env, &["--force", "-i", k], Some(&cfg));
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert_eq!(
        read(&cfg),
        "Host other\n  User x\n\nHost heroku.com\n  HostName heroku.com\n  IdentityFile ~/.ssh/id_heroku\n  IdentitiesOnly yes\n"
    );
    assert_eq!(support::mode(&cfg), 0o444);
    let b = backups_of(&env, &cfg);
    assert_eq!(b.len(), 1);
    assert_eq!(read(&b[0]), original);
}

/// `Include conf.d/*` and an edit of a file in conf.d: the backup lands in
/// ~/.ssh/.herossh-backups, so ssh still reads exactly the same files (a backup beside the
/// file used to be read as live config). Same for --remove-bom, where a backup in conf.d
/// would bring the byte-order mark back.
#[test]
fn fix_config_backups_are_out_of_reach_of_include_globs() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let confd = env.ssh_dir().join("conf.d");
    std::fs::create_dir_all(&confd).unwrap();
    let work = confd.join("work");
    std::fs::write(&work, "Host work.example.com\n  User git\n").unwrap();
    // Absolute: ssh takes a relative Include from the passwd home, herossh from $HOME.
    let main = env.write(
        ".ssh/config",
        format!("Include {}/*\n\nHost *\n  User u\n", confd.display()),
    );
    let reads = vec![main.clone(), work.clone()];
    assert_eq!(files_ssh_reads(&env, &main, "work.example.com"), reads);
    let o = fix(
        &env,
        &["--host", "work.example.com", "-i", key.to_str().unwrap()],
        Some(&main),
    );
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert_eq!(
        read(&work),
        "Host work.example.com\n  IdentityFile ~/.ssh/id_heroku\n  IdentitiesOnly yes\n  User git\n"
    );
    assert_eq!(files_ssh_reads(&env, &main, "work.example.com"), reads);
    assert_eq!(std::fs::read_dir(&confd).unwrap().count(), 1);
    assert_eq!(backups_of(&env, &work).len(), 1);
    assert_eq!(support::mode(&backups_dir(&env)), 0o700);

    let other = confd.join("zz-windows");
    std::fs::write(&other, b"\xef\xbb\xbfHost win\r\n  User w\r\n").unwrap();
    let (ok, _, err) = ssh_full(&env, &main, "win");
    assert!(!ok && err.contains("Bad configuration option"), "{err}");
    let o = fix(&env, &["--remove-bom"], Some(&main));
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert_eq!(std::fs::read(&other).unwrap(), b"Host win\r\n  User w\r\n");
    assert_eq!(ssh_key(&env, &main, "win", "user"), "w");
    assert_eq!(
        files_ssh_reads(&env, &main, "win"),
        vec![main.clone(), work.clone(), other.clone()]
    );
    assert_eq!(backups_of(&env, &other).len(), 1);
}

/// Each write backs up the previous state; the newest 10 per file are kept.
#[test]
fn fix_config_backups_rotate_per_file() {
    let env = TestEnv::new();
    let cfg = env.write("c/config", "Host h\n  User u0\n");
    let neighbour = env.write("c/config.d", "Host n\n  User n0\n");
    let o = fix(&env, &["--host", "n", "--set", "User n1"], Some(&neighbour));
    assert!(o.status.success(), "{:?}", support::out(&o));
    for i in 1..=12 {
        let o = fix(
            &env,
            &["--host", "h", "--set", &format!("User u{i}")],
            Some(&cfg),
        );
        assert!(o.status.success(), "{i}: {:?}", support::out(&o));
        assert_eq!(read(&cfg), format!("Host h\n  User u{i}\n"));
    }
    let kept: Vec<String> = backups_of(&env, &cfg).iter().map(|p| read(p)).collect();
    let want: Vec<String> = (2..=11).map(|i| format!("Host h\n  User u{i}\n")).collect();
    assert_eq!(kept, want);
    // Another file's backups (even one whose name extends this one's) are its own.
    assert_eq!(backups_of(&env, &neighbour).len(), 1);
    assert_eq!(
        std::fs::read_dir(backups_dir(&env)).unwrap().count(),
        10 + 1 + 1
    );
}

// ---------------------------------------------------------------------------------------
// --set

#[test]
fn fix_config_set_writes_the_value_as_given_and_is_idempotent() {
    let env = TestEnv::new();
    let original = "Host legacy\n\tHostName legacy.example.com\n\tUser git\n\nHost *\n\tServerAliveInterval 30\n";
    let cfg = env.write("d/config", original);
    let other_before = ssh_g(&env, &cfg, "other", &[]);
    let before = ssh_key(&env, &cfg, "legacy", "pubkeyacceptedalgorithms");
    assert!(!before.split(',').any(|a| a == "ssh-rsa"), "{before}");
    let set = [
        "--host",
        "legacy",
        "--set",
        "PubkeyAcceptedAlgorithms +ssh-rsa",
    ];

    let o = fix(&env, &[&["--dry-run"][..], &set].concat(), Some(&cfg));
    let (out, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        out,
        "--- a/config\n+++ b/config\n@@ -1,4 +1,5 @@\n Host legacy\n+\tPubkeyAcceptedAlgorithms +ssh-rsa\n \tHostName legacy.example.com\n \tUser git\n \n"
    );
    assert_eq!(read(&cfg), original);

    let o = fix(&env, &set, Some(&cfg));
    let (_, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("updated the `Host legacy` block"), "{err}");
    assert_eq!(
        read(&cfg),
        "Host legacy\n\tPubkeyAcceptedAlgorithms +ssh-rsa\n\tHostName legacy.example.com\n\tUser git\n\nHost *\n\tServerAliveInterval 30\n"
    );
    assert_eq!(
        ssh_key(&env, &cfg, "legacy", "pubkeyacceptedalgorithms"),
        format!("{before},ssh-rsa")
    );
    assert_eq!(ssh_g(&env, &cfg, "other", &[]), other_before);
    let after = read(&cfg);

    let o = fix(&env, &set, Some(&cfg));
    let (_, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("already set: ssh -G legacy prints pubkeyacceptedalgorithms"),
        "{err}"
    );
    assert!(err.contains("nothing changed"), "{err}");
    assert_eq!(read(&cfg), after);
    assert_eq!(backups_of(&env, &cfg).len(), 1);
}

/// The explain-which-line-won fix: `Host *` at the top gives every host `User alice`, so the
/// later `User bob` for web is ignored. --set puts a stanza above `Host *`.
#[test]
fn fix_config_set_wins_over_an_earlier_broader_block() {
    let env = TestEnv::new();
    let original = "Host *\n  User alice\n\nHost web\n  User bob\n  Port 2222\n";
    let cfg = env.write("cfg", original);
    assert_eq!(ssh_key(&env, &cfg, "web", "user"), "alice");
    let o = fix(&env, &["--host", "web", "--set", "User bob"], Some(&cfg));
    let (_, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("before the first block that would otherwise win"),
        "{err}"
    );
    assert_eq!(
        read(&cfg),
        "Host web\n  User bob\n\nHost *\n  User alice\n\nHost web\n  User bob\n  Port 2222\n"
    );
    assert_eq!(ssh_key(&env, &cfg, "web", "user"), "bob");
    assert_eq!(ssh_key(&env, &cfg, "web", "port"), "2222");
    assert_eq!(ssh_key(&env, &cfg, "other", "user"), "alice");
    let o = fix(&env, &["--host", "web", "--set", "User=bob"], Some(&cfg));
    assert!(
        support::out(&o)
            .1
            .contains("already set: ssh -G web prints user bob")
    );
    assert_eq!(backups_of(&env, &cfg).len(), 1);
}

#[test]
fn fix_config_set_edits_the_included_file_where_the_host_lives_with_a_pin() {
    let env = TestEnv::new();
    let key = keypair(&env, ".ssh/id_heroku");
    let dir = env.scratch();
    let inc = dir.join("inc.conf");
    std::fs::write(
        &inc,
        "Host api\n    HostName api.internal\n    User deploy\n",
    )
    .unwrap();
    let main_text = format!("Include {}\n\nHost *\n  User u\n", inc.display());
    let main = dir.join("main");
    std::fs::write(&main, &main_text).unwrap();
    let o = fix(
        &env,
        &[
            "--host",
            "api",
            "-i",
            key.to_str().unwrap(),
            "--set",
            "User ops",
            "--set",
            "Port 2200",
        ],
        Some(&main),
    );
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert_eq!(read(&main), main_text);
    assert_eq!(
        read(&inc),
        "Host api\n    IdentityFile ~/.ssh/id_heroku\n    IdentitiesOnly yes\n    Port 2200\n    HostName api.internal\n    User ops\n"
    );
    assert_eq!(ssh_key(&env, &main, "api", "user"), "ops");
    assert_eq!(ssh_key(&env, &main, "api", "port"), "2200");
    assert_eq!(
        ssh_pin(&env, &main, "api", &[]),
        ("~/.ssh/id_heroku".into(), "yes".into())
    );
    assert_eq!(ssh_key(&env, &main, "other", "user"), "u");
}

/// A `Host *` above sets the keyword: the stanza goes above it, and wins for HOST only (the
/// real ssh -G is the judge).
#[test]
fn fix_config_set_places_a_keyword_above_the_block_that_would_win() {
    let env = TestEnv::new();
    let cfg = env.write("cfg", "Host *\n  ServerAliveCountMax 3\nHost h\n  User x\n");
    let o = fix(
        &env,
        &["--host", "h", "--set", "ServerAliveCountMax 5"],
        Some(&cfg),
    );
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert_eq!(
        read(&cfg),
        "Host h\n  ServerAliveCountMax 5\n\nHost *\n  ServerAliveCountMax 3\nHost h\n  User x\n"
    );
    assert_eq!(ssh_key(&env, &cfg, "h", "serveralivecountmax"), "5");
    assert_eq!(ssh_key(&env, &cfg, "other", "serveralivecountmax"), "3");
    let o = fix(
        &env,
        &["--host", "h", "--set", "ServerAliveCountMax 5"],
        Some(&cfg),
    );
    assert!(
        support::out(&o).1.contains("already set"),
        "{:?}",
        support::out(&o)
    );
    assert_eq!(backups_of(&env, &cfg).len(), 1);
}

/// `ssh -G` prints nothing for `ProxyCommand none`: the edit is still verified by evaluation
/// (which line's value ssh uses), placed where it wins, and the message says what ssh -G
/// cannot show.
#[test]
fn fix_config_set_verifies_a_value_ssh_g_does_not_print() {
    let env = TestEnv::new();
    let cfg = env.write("cfg", "Host *\n  ProxyCommand nc %h %p\nHost h\n  User x\n");
    let o = fix(
        &env,
        &["--host", "h", "--set", "ProxyCommand none"],
        Some(&cfg),
    );
    let (_, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        read(&cfg),
        "Host h\n  ProxyCommand none\n\nHost *\n  ProxyCommand nc %h %p\nHost h\n  User x\n"
    );
    assert!(
        err.contains("h now takes `ProxyCommand none` from line 2 (ssh -G does not print it)"),
        "{err}"
    );
    assert_eq!(ssh_key(&env, &cfg, "h", "proxycommand"), "");
    assert_eq!(ssh_key(&env, &cfg, "other", "proxycommand"), "nc %h %p");
    let o = fix(
        &env,
        &["--host", "h", "--set", "ProxyCommand none"],
        Some(&cfg),
    );
    let (_, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("already set: h takes `ProxyCommand none` from ")
            && err.contains("cfg:2 (ssh -G does not print it); nothing changed"),
        "{err}"
    );
    assert_eq!(backups_of(&env, &cfg).len(), 1);
}

#[test]
fn fix_config_set_rejects_bad_input_before_any_side_effect() {
    let env = TestEnv::new();
    for (args, says) in [
        (vec!["--set", "Bogus 1"], "Bad configuration option: bogus"),
        (vec!["--set", "Port banana"], "Bad port 'banana'"),
        (vec!["--set", "User"], "no value for User"),
        (vec!["--set", "Host x"], "starts a block"),
        (
            vec!["--set", "User a", "--set", "User b"],
            "gives User twice",
        ),
        (
            vec!["--set", "IgnoreUnknown UseKeychain"],
            "--ignore-unknown",
        ),
        (
            vec!["--set", "User a", "--ignore-unknown", "Foo"],
            "cannot be used with",
        ),
    ] {
        let o = fix(&env, &args, None);
        let (_, err) = support::out(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(!env.home().join(".ssh").exists());
}

// ---------------------------------------------------------------------------------------
// --ignore-unknown and --remove-bom: configs ssh refuses

#[test]
fn fix_config_ignore_unknown_makes_ssh_accept_usekeychain() {
    let env = TestEnv::new();
    let original = "# from my Mac\nHost *\n  UseKeychain yes\n  AddKeysToAgent yes\n";
    let cfg = env.write("cfg", original);
    let (ok, _, err) = ssh_full(&env, &cfg, "x");
    assert!(
        !ok && err.contains("Bad configuration option: usekeychain"),
        "{err}"
    );
    let o = fix(
        &env,
        &["--ignore-unknown", "UseKeychain", "--dry-run"],
        Some(&cfg),
    );
    assert_eq!(
        support::out(&o).0,
        "--- a/cfg\n+++ b/cfg\n@@ -1,4 +1,5 @@\n # from my Mac\n+IgnoreUnknown UseKeychain\n Host *\n   UseKeychain yes\n   AddKeysToAgent yes\n"
    );
    assert_eq!(read(&cfg), original);
    let o = fix(&env, &["--ignore-unknown", "UseKeychain"], Some(&cfg));
    let (_, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("ssh now ignores UseKeychain"), "{err}");
    assert_eq!(
        read(&cfg),
        "# from my Mac\nIgnoreUnknown UseKeychain\nHost *\n  UseKeychain yes\n  AddKeysToAgent yes\n"
    );
    assert_eq!(ssh_key(&env, &cfg, "x", "addkeystoagent"), "true");
    let o = fix(&env, &["--ignore-unknown", "UseKeychain"], Some(&cfg));
    let (_, err) = support::out(&o);
    assert!(o.status.success());
    assert!(
        err.contains("already done: `IgnoreUnknown UseKeychain` at"),
        "{err}"
    );
    assert_eq!(backups_of(&env, &cfg).len(), 1);
    // A keyword this ssh knows is not for IgnoreUnknown.
    let o = fix(&env, &["--ignore-unknown", "User"], Some(&cfg));
    assert_eq!(o.status.code(), Some(2));
    assert!(support::out(&o).1.contains("this ssh knows `User`"));
}

/// The first IgnoreUnknown ssh reads sits in a file included at the top: it is extended
/// there (a new line in the main file would come after it and be ignored).
#[test]
fn fix_config_ignore_unknown_extends_the_first_one_ssh_reads() {
    let env = TestEnv::new();
    let dir = env.scratch();
    let inc = dir.join("common.conf");
    std::fs::write(&inc, "IgnoreUnknown Foo # shared\n").unwrap();
    let main_text = format!("Include {}\nHost *\n  UseKeychain yes\n", inc.display());
    let main = dir.join("main");
    std::fs::write(&main, &main_text).unwrap();
    let (ok, _, err) = ssh_full(&env, &main, "x");
    assert!(
        !ok && err.contains("Bad configuration option: usekeychain"),
        "{err}"
    );
    let o = fix(&env, &["--ignore-unknown", "UseKeychain"], Some(&main));
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert_eq!(read(&main), main_text);
    assert_eq!(read(&inc), "IgnoreUnknown Foo,UseKeychain # shared\n");
    assert!(ssh_full(&env, &main, "x").0);
}

/// The keyword is used in a file included later and the only IgnoreUnknown is inside a Host
/// block: a new first line for every host, keeping that block's pattern.
#[test]
fn fix_config_ignore_unknown_precedes_uses_in_included_files() {
    let env = TestEnv::new();
    let dir = env.scratch();
    let inc = dir.join("mac.conf");
    std::fs::write(&inc, "Host *\n  UseKeychain yes\n").unwrap();
    let main = dir.join("main");
    std::fs::write(
        &main,
        format!(
            "Host special\n  IgnoreUnknown Bar\n\nInclude {}\n",
            inc.display()
        ),
    )
    .unwrap();
    for h in ["special", "other"] {
        assert!(!ssh_full(&env, &main, h).0, "{h}");
    }
    let o = fix(&env, &["--ignore-unknown", "UseKeychain"], Some(&main));
    assert!(o.status.success(), "{:?}", support::out(&o));
    assert_eq!(
        read(&main),
        format!(
            "IgnoreUnknown Bar,UseKeychain\nHost special\n  IgnoreUnknown Bar\n\nInclude {}\n",
            inc.display()
        )
    );
    for h in ["special", "other"] {
        assert!(ssh_full(&env, &main, h).0, "{h}");
    }
}

#[test]
fn fix_config_remove_bom_fixes_the_config_and_its_includes() {
    let env = TestEnv::new();
    let dir = env.scratch();
    let inc = dir.join("b.conf");
    std::fs::write(&inc, b"\xef\xbb\xbfHost b\r\n  User bee\r\n").unwrap();
    let main = dir.join("main");
    let main_text = format!("Include {}\nHost a\n  User ay\n", inc.display());
    std::fs::write(&main, format!("\u{feff}{main_text}")).unwrap();
    let (ok, _, err) = ssh_full(&env, &main, "a");
    assert!(!ok && err.contains("Bad configuration option"), "{err}");
    // Any other edit refuses the file and names the fix.
    let o = fix(&env, &["--host", "a", "--set", "User z"], Some(&main));
    let (_, err) = support::out(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`herossh fix-config --remove-bom` removes it"),
        "{err}"
    );
    let o = fix(&env, &["--remove-bom"], Some(&main));
    let (_, err) = support::out(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        err.matches("removed the UTF-8 byte-order mark").count(),
        2,
        "{err}"
    );
    assert_eq!(read(&main), main_text);
    assert_eq!(std::fs::read(&inc).unwrap(), b"Host b\r\n  User bee\r\n");
    assert_eq!(ssh_key(&env, &main, "a", "user"), "ay");
    assert_eq!(ssh_key(&env, &main, "b", "user"), "bee");
    assert_eq!(backups_of(&env, &main).len(), 1);
    assert_eq!(
        std::fs::read(&backups_of(&env, &inc)[0]).unwrap(),
        b"\xef\xbb\xbfHost b\r\n  User bee\r\n"
    );
    let o = fix(&env, &["--remove-bom"], Some(&main));
    let (_, err) = support::out(&o);
    assert!(o.status.success());
    assert!(err.contains("already done: no byte-order mark in"), "{err}");
    assert!(err.contains("or the 1 file(s) it includes"), "{err}");
}

/// A block shared with another name is not edited (that would change the other host too):
/// HOST gets a stanza of its own, whatever the keyword.
#[test]
fn fix_config_set_leaves_a_block_shared_with_another_host_alone() {
    let env = TestEnv::new();
    for (set, key, was, want) in [
        // The shared block sets User: the stanza goes above it.
        (
            "User y",
            "user",
            "x",
            "Host web\n  User y\n\nHost web web2\n  User x\n",
        ),
        // Set by no line: editing the shared block would change web2, so web gets its own.
        (
            "ServerAliveCountMax 5",
            "serveralivecountmax",
            "3",
            "Host web web2\n  User x\n\nHost web\n  ServerAliveCountMax 5\n",
        ),
    ] {
        let cfg = env.write("cfg", "Host web web2\n  User x\n");
        let o = fix(&env, &["--host", "web", "--set", set], Some(&cfg));
        assert!(o.status.success(), "{:?}", support::out(&o));
        assert_eq!(read(&cfg), want);
        assert_eq!(
            ssh_key(&env, &cfg, "web", key),
            set.split(' ').nth(1).unwrap()
        );
        assert_eq!(ssh_key(&env, &cfg, "web2", key), was);
    }
}

// ---------------------------------------------------------------------------------------
// $HOME is not the passwd home

/// Under `sudo -E` or in a container `$HOME` may not be the passwd entry's home, which is
/// where ssh takes `~` from. fix-config edits the config ssh reads (the passwd home's), and a
/// key it pins is written so that ssh finds it: `~/...` only under the passwd home, the full
/// path for a key under `$HOME`. The real ssh then logs in with the pinned key.
#[test]
fn fix_config_writes_paths_as_ssh_reads_them_when_home_is_not_the_passwd_home() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::with_passwd_home("elsewhere");
    let ssh_home = env.passwd_home().join(".ssh");
    std::fs::create_dir_all(&ssh_home).unwrap();
    std::fs::set_permissions(&ssh_home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let in_home = keypair(&env, ".ssh/id_home");
    let in_passwd_home = ssh_home.join("id_pw");
    let st = env
        .program("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "pw", "-f"])
        .arg(&in_passwd_home)
        .status()
        .unwrap();
    assert!(st.success());
    let sshd = crate::support::sshd::Sshd::start(Default::default());
    sshd.authorize(&crate::validate::pub_line(&in_home));
    let config = ssh_home.join("config");
    let stanza = |name: &str| {
        format!(
            "Host {name}\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  \
             StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n",
            sshd.port(),
            sshd.user()
        )
    };
    std::fs::write(&config, format!("{}{}", stanza("lab"), stanza("other"))).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ssh = |host: &str| {
        let o = env
            .program("ssh")
            .args(["-o", "BatchMode=yes", host, "true"])
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (o.status.success(), support::out(&o).1)
    };
    // No key ssh loads by default is authorized: it fails before the pin.
    assert!(!ssh("lab").0);

    for (host, key) in [("lab", &in_home), ("other", &in_passwd_home)] {
        let o = env
            .herossh()
            .args(["fix-config", "--host", host, "-i"])
            .arg(key)
            .output()
            .unwrap();
        assert!(o.status.success(), "{:?}", support::out(&o));
    }
    let text = read(&config);
    assert!(
        text.contains(&format!("  IdentityFile {}\n", in_home.display())),
        "{text}"
    );
    assert!(text.contains("  IdentityFile ~/.ssh/id_pw\n"), "{text}");
    assert!(!env.home().join(".ssh/config").exists());
    // fix-config's backups live beside the config ssh reads.
    assert_eq!(
        std::fs::read_dir(ssh_home.join(".herossh-backups"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name() != ".lock")
            .count(),
        2
    );
    let (ok, err) = ssh("lab");
    assert!(ok, "ssh with the pinned key: {err}");
    // `~/.ssh/id_pw` means the passwd home's key to ssh: it offers that one (not authorized).
    let o = env
        .program("ssh")
        .args(["-v", "-o", "BatchMode=yes", "other", "true"])
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = support::out(&o).1;
    assert!(
        err.contains(&format!("Will attempt key: {} ", in_passwd_home.display())),
        "{err}"
    );
}
