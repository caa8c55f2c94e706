//! A real Secret Service for one test: a private D-Bus session bus (no service activation, so
//! nothing on it starts by itself) and `gnome-keyring-daemon --foreground --unlock
//! --components=secrets` whose login keyring lives in the test's temporary home. herossh,
//! `secret-tool` and `dbus-send` reach it through `DBUS_SESSION_BUS_ADDRESS`; everything is
//! killed when the [`Keyring`] is dropped.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TestEnv;

/// The login keyring's password (gnome-keyring reads it on stdin with `--unlock`).
const KEYRING_PASSWORD: &str = "herossh-test-keyring";

pub struct Keyring {
    bus: Child,
    daemon: Option<Child>,
    address: String,
    runtime_dir: PathBuf,
}

/// Point `cmd` at a bus address where nothing listens (and a private runtime dir), so a test
/// that wants "no keychain" can never reach the real user's session bus.
pub fn no_bus(env: &TestEnv, cmd: &mut Command) {
    let dir = runtime_dir(env);
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}/no-bus-here", dir.display()),
    )
    .env("XDG_RUNTIME_DIR", dir);
}

fn runtime_dir(env: &TestEnv) -> PathBuf {
    let dir = env.scratch().join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

impl Keyring {
    /// A bus with gnome-keyring's Secret Service and an unlocked, empty login keyring.
    pub fn start(env: &TestEnv) -> Keyring {
        let mut k = Self::bus_only(env);
        let mut cmd = env.program("gnome-keyring-daemon");
        k.apply(&mut cmd);
        let mut daemon = cmd
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        {
            let mut stdin = daemon.stdin.take().unwrap();
            stdin.write_all(KEYRING_PASSWORD.as_bytes()).unwrap();
        }
        k.daemon = Some(daemon);
        k.wait_ready(env);
        k
    }

    /// A bus with no Secret Service on it ("keychain missing").
    pub fn bus_only(env: &TestEnv) -> Keyring {
        let dir = runtime_dir(env);
        let config = env.scratch().join("session-bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.display()
            ),
        )
        .unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon said {address:?}");
        Keyring {
            bus,
            daemon: None,
            address,
            runtime_dir: dir,
        }
    }

    /// Give `cmd` this bus.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_RUNTIME_DIR", &self.runtime_dir);
    }

    /// `herossh` on this bus.
    pub fn herossh(&self, env: &TestEnv) -> assert_cmd::Command {
        let mut cmd = Command::new(super::herossh_bin());
        env.apply(&mut cmd);
        self.apply(&mut cmd);
        cmd.current_dir(env.home());
        assert_cmd::Command::from_std(cmd)
    }

    /// Any program on this bus (secret-tool, dbus-send).
    pub fn program(&self, env: &TestEnv, program: &str) -> Command {
        let mut cmd = env.program(program);
        self.apply(&mut cmd);
        cmd
    }

    /// Store a token exactly as the Heroku CLI does on Linux:
    /// `secret-tool store --label='Heroku CLI' service heroku-cli account EMAIL`, token on stdin.
    pub fn store_like_heroku_cli(&self, env: &TestEnv, email: &str, token: &str) {
        let mut child = self
            .program(env, "secret-tool")
            .args([
                "store",
                "--label=Heroku CLI",
                "service",
                "heroku-cli",
                "account",
                email,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(token.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "secret-tool store: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `secret-tool lookup service heroku-cli account EMAIL`: what the Heroku CLI would read.
    pub fn lookup(&self, env: &TestEnv, email: &str) -> Option<String> {
        let out = self
            .program(env, "secret-tool")
            .args(["lookup", "service", "heroku-cli", "account", email])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap())
    }

    /// The label of the Heroku item, via `secret-tool search` (its "label = ..." line).
    pub fn label(&self, env: &TestEnv, email: &str) -> Option<String> {
        let out = self
            .program(env, "secret-tool")
            .args(["search", "service", "heroku-cli", "account", email])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("label = ").map(str::to_string))
    }

    /// Lock the login keyring through the Secret Service's own `Lock` method (`secret-tool
    /// lock --collection=login` crashes in libsecret 0.20 here).
    pub fn lock(&self, env: &TestEnv) {
        let out = self.call_service(
            env,
            "Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        );
        assert!(
            out.status.success(),
            "Secret Service Lock: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stop (SIGSTOP) the keyring daemon: it keeps its bus name but never answers again, like
    /// a provider stuck behind an unlock dialog. Drop still kills it (SIGKILL works on it).
    pub fn freeze(&self) {
        let pid = self.daemon.as_ref().expect("a keyring daemon").id();
        let st = Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// `org.freedesktop.Secret.Service.METHOD(ARG)` on this bus through `dbus-send`.
    fn call_service(&self, env: &TestEnv, method: &str, arg: &str) -> std::process::Output {
        self.program(env, "dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                &format!("org.freedesktop.Secret.Service.{method}"),
                arg,
            ])
            .output()
            .unwrap()
    }

    /// Wait until the daemon owns org.freedesktop.secrets and has a default collection.
    fn wait_ready(&self, env: &TestEnv) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.call_service(env, "ReadAlias", "string:default");
            let text = String::from_utf8_lossy(&out.stdout);
            if out.status.success() && text.contains("/org/freedesktop/secrets/collection/") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring did not come up on {}: {text}",
                self.address
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        if let Some(d) = self.daemon.as_mut() {
            let _ = d.kill();
            let _ = d.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

#[test]
fn keyring_self_test_store_and_lookup_like_the_heroku_cli() {
    let env = TestEnv::new();
    let k = Keyring::start(&env);
    assert_eq!(k.lookup(&env, "u@example.com"), None);
    k.store_like_heroku_cli(&env, "u@example.com", "tok-from-secret-tool");
    assert_eq!(
        k.lookup(&env, "u@example.com").as_deref(),
        Some("tok-from-secret-tool")
    );
    assert_eq!(
        k.label(&env, "u@example.com").as_deref(),
        Some("Heroku CLI")
    );
    assert_eq!(k.lookup(&env, "other@example.com"), None);
    // The keyring lives in the test's home, nowhere else.
    assert!(
        env.home()
            .join(".local/share/keyrings/login.keyring")
            .exists()
    );
}
