//! Terminal escapes: every command that prints text from outside herossh — key comments from
//! the Platform API (`comment`, `public_key`), the account email, key comments from files and
//! from an agent, a server's version string, file names — is fed text with ESC sequences (an
//! OSC that retitles the window, a CSI that recolours), BEL and the C1 CSI (U+009B, which a
//! UTF-8 terminal also obeys). None of it may reach the terminal raw: it must appear as the
//! `\ooo` octal escapes ssh-keygen prints (`\033`, `\007`, `\302\233`).

use std::path::Path;

use crate::support::fake_api::{FakeApi, ssh_keygen};
use crate::support::sshd::{Sshd, SshdOptions};
use crate::support::{TestEnv, out};
use crate::validate::{Agent, keygen, pub_line, trust};

const TOKEN: &str = "tok-escapes-9d8c";
/// What a hostile field holds: retitle the window, turn the text red, ring the bell, C1 CSI.
const EVIL: &str = "\x1b]0;pwned\x07\x1b[31m\u{9b}2J";
/// How it must be printed.
const SHOWN: &str = "\\033]0;pwned\\007\\033[31m\\302\\2332J";

/// No raw control character from `EVIL` anywhere in the output, and its escaped form there.
fn assert_escaped(what: &str, o: &std::process::Output) {
    for (stream, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let raw = bytes
            .windows(2)
            .any(|w| w[0] == 0x1b || w[0] == 0x07 || w == [0xc2, 0x9b])
            || bytes.last().is_some_and(|&b| b == 0x1b || b == 0x07);
        assert!(
            !raw,
            "{what}: a raw control character on {stream}: {:?}",
            out(o)
        );
    }
    let (so, se) = out(o);
    assert!(
        so.contains(SHOWN) || se.contains(SHOWN),
        "{what}: the escaped text is not shown:\nstdout: {so}\nstderr: {se}"
    );
}

/// The Platform API's fields: the account email and key comments (and so `public_key`).
#[test]
fn api_fields_are_escaped_in_every_command_that_prints_them() {
    let env = TestEnv::new();
    let api = FakeApi::start();
    let email = format!("dev{EVIL}@example.com");
    api.add_token(TOKEN, &email);
    let (_, line) = ssh_keygen(&env.scratch(), "k1", "ed25519", "plain");
    let fields: Vec<&str> = line.split(' ').collect();
    api.add_key(&email, &format!("{} {} evil{EVIL}", fields[0], fields[1]));
    let (_, line2) = ssh_keygen(&env.scratch(), "k2", "ed25519", "other");
    api.add_key(&email, &line2);
    let run = |args: &[&str]| {
        env.herossh()
            .env("HEROKU_HOST", api.url())
            .env("HEROKU_API_KEY", TOKEN)
            .args(args)
            .output()
            .unwrap()
    };
    for args in [
        &["keys"][..],
        &["keys", "--long"],
        &["keys:list"],
        &["auth", "whoami"],
        &["auth", "status"],
        // Not found: the error lists the account's keys (and quotes what was asked for).
        &["keys", "remove", "nothing-like-this"],
        // Ambiguous: lists the candidates.
        &["keys", "remove", "AAAA"],
        &["keys", "clear", "-y"],
    ] {
        let o = run(args);
        assert_escaped(&format!("{args:?}"), &o);
    }
    // What was asked for is quoted escaped too.
    let o = run(&["keys", "remove", &format!("x{EVIL}")]);
    assert_escaped("keys remove <evil argument>", &o);
}

/// File names, key comments in files and in an agent, and the server's version string, through
/// `keys add`, `keygen`, `validate` (plan and probe) and `doctor`.
#[test]
fn files_agents_and_servers_are_escaped() {
    let env = TestEnv::new();
    let ssh = env.ssh_dir();
    // A key whose file name and comment are hostile, with loose permissions (doctor names it).
    let evil_name = format!("id_{EVIL}");
    let k = keygen(&env, &evil_name, "ed25519", "");
    std::fs::set_permissions(&k, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    // An agent holding a key whose comment is hostile (ssh-add reads it from the file).
    let agent_key = env.scratch().join("agent_key");
    let st = std::process::Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            &format!("agent{EVIL}"),
            "-f",
        ])
        .arg(&agent_key)
        .status()
        .unwrap();
    assert!(st.success());
    let agent = Agent::start(&env);
    agent.add(&env, &agent_key);
    // A server whose version string is hostile (sshd's VersionAddendum).
    let sshd = Sshd::start(SshdOptions {
        extra: vec![format!("VersionAddendum evil{EVIL}")],
        ..SshdOptions::default()
    });
    sshd.authorize(&pub_line(&agent_key));
    trust(&env, &sshd);
    let cfg = env.write(
        "cfg",
        format!(
            "Host 127.0.0.1\n  Port {}\n  User {}\n",
            sshd.port(),
            sshd.user()
        ),
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let run = |args: &[String]| {
        env.herossh()
            .env("SSH_AUTH_SOCK", &agent.sock)
            .args(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let a = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    // validate: the plan lists the file by name and the agent key by comment; the probe
    // prints the server's version.
    let target = sshd.target();
    for args in [
        a(&["validate", "--plan", &target, "-i", &s(&k)]),
        a(&["validate", &target, "-i", &s(&k), "--timeout", "5"]),
    ] {
        let o = run(&args);
        assert_escaped(&format!("{args:?}"), &o);
    }
    let o = run(&a(&["validate", &target, "--timeout", "5"]));
    assert_escaped("validate (server version)", &o);
    assert!(
        out(&o).0.contains(&format!("evil{SHOWN}")),
        "the version is shown: {}",
        out(&o).0
    );

    // doctor: the unprotected key by name, the agent's keys, the probe of the platform host.
    let o = run(&a(&["doctor", "-F", &s(&cfg), "--timeout", "5"]));
    assert_escaped("doctor", &o);

    // keygen: the file name in its report.
    let new_key = env.scratch().join(format!("new{EVIL}"));
    let o = run(&a(&[
        "keygen",
        "-t",
        "ed25519",
        "--no-passphrase",
        "-f",
        &s(&new_key),
    ]));
    assert_eq!(o.status.code(), Some(0), "{:?}", out(&o));
    assert_escaped("keygen -f <evil name>", &o);

    // keys add: the file name in its messages (a refused file and an uploaded one).
    let api = FakeApi::start();
    api.add_token(TOKEN, "dev@example.com");
    let evil_pub = env.scratch().join(format!("up{EVIL}.pub"));
    std::fs::write(
        &evil_pub,
        std::fs::read(format!("{}.pub", k.display())).unwrap(),
    )
    .unwrap();
    let bad_pub = env.scratch().join(format!("bad{EVIL}.pub"));
    std::fs::write(&bad_pub, format!("ssh-ed25519 {EVIL}\n")).unwrap();
    for f in [&evil_pub, &bad_pub] {
        let o = env
            .herossh()
            .env("HEROKU_HOST", api.url())
            .env("HEROKU_API_KEY", TOKEN)
            .args(["keys", "add"])
            .arg(f)
            .output()
            .unwrap();
        assert_escaped(&format!("keys add {f:?}"), &o);
    }
    assert_eq!(api.keys("dev@example.com").len(), 1);
    let _ = ssh;
}
