//! The command-line surface: help, version, aliases, exit codes of usage errors, man pages and
//! completions.

use crate::support::{TestEnv, out};

#[test]
fn version_prints_name_and_version() {
    let o = TestEnv::new().herossh().arg("--version").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("herossh {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_every_command() {
    let o = TestEnv::new().herossh().arg("--help").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let (stdout, _) = out(&o);
    for cmd in [
        "keygen",
        "keys",
        "auth",
        "git-credential",
        "validate",
        "config",
        "fix-config",
        "doctor",
        "completions",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{cmd} "))),
            "--help does not list {cmd}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("--json") && stdout.contains("--verbose") && stdout.contains("--no-color")
    );
}

/// `--help` (and so herossh.1) lists the environment, the keychain variables included;
/// `-h` stays short.
#[test]
fn long_help_documents_the_environment() {
    let env = TestEnv::new();
    let (long, _) = out(&env.herossh().arg("--help").output().unwrap());
    let vars = [
        "HEROKU_API_KEY",
        "HEROKU_HOST",
        "HEROKU_GIT_HOST",
        "HEROKU_NETRC_WRITE",
        "HEROKU_DATA_DIR",
        "NETRC",
        "HEROSSH_KEYCHAIN",
        "HEROSSH_SECURITY_PROGRAM",
        "HEROSSH_TIMEOUT",
        "NO_COLOR",
    ];
    let section = long.split_once("\nEnvironment:\n").unwrap().1;
    for var in vars {
        assert!(
            section.lines().any(|l| l.trim_start().starts_with(var)),
            "--help does not document {var}:\n{section}"
        );
    }
    assert!(
        section.contains("auto (the default: the macOS\n"),
        "{section}"
    );
    let (short, _) = out(&env.herossh().arg("-h").output().unwrap());
    assert!(!short.contains("Environment:"));
}

#[test]
fn heroku_spellings_are_aliases_with_help() {
    let env = TestEnv::new();
    for (alias, usage) in [
        ("keys:add", "Usage: herossh keys:add [OPTIONS] [FILE]"),
        ("keys:remove", "Usage: herossh keys:remove [OPTIONS] <KEY>"),
        ("keys:clear", "Usage: herossh keys:clear [OPTIONS]"),
        ("keys:list", "Usage: herossh keys:list [OPTIONS]"),
    ] {
        let o = env.herossh().args([alias, "--help"]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{alias} --help");
        assert!(out(&o).0.contains(usage), "{alias}: {}", out(&o).0);
    }
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    let o = env.herossh().arg("no-such-command").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = env
        .herossh()
        .args(["keygen", "-t", "rsa1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).1.contains("invalid value 'rsa1'"), "{}", out(&o).1);
}

#[test]
fn man_pages_are_current() {
    let env = TestEnv::new();
    let fresh = env.scratch().join("man");
    let o = env
        .herossh()
        .args(["generate-man", "--out"])
        .arg(&fresh)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", out(&o).1);
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let names = |d: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let regen = "regenerate with `cargo run -- generate-man --out man`";
    assert_eq!(names(&fresh), names(&committed), "man/ is stale: {regen}");
    for name in names(&fresh) {
        assert!(
            std::fs::read(fresh.join(&name)).unwrap()
                == std::fs::read(committed.join(&name)).unwrap(),
            "man/{name} is stale: {regen}"
        );
    }
    assert!(names(&fresh).contains(&"herossh-keys-add.1".to_string()));
}

#[test]
fn completions_generate_for_each_shell() {
    let env = TestEnv::new();
    for (shell, marker) in [
        ("bash", "_herossh()"),
        ("zsh", "#compdef herossh"),
        ("fish", "complete -c herossh"),
    ] {
        let o = env.herossh().args(["completions", shell]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let (stdout, _) = out(&o);
        assert!(stdout.contains(marker), "{shell} completion lacks {marker}");
        assert!(
            stdout.contains("fix-config"),
            "{shell} completion lacks subcommands"
        );
    }
    // bash really parses the script.
    let o = env
        .herossh()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    let script = env.scratch().join("herossh.bash");
    std::fs::write(&script, &o.stdout).unwrap();
    let st = env.program("bash").arg("-n").arg(&script).status().unwrap();
    assert!(st.success(), "bash -n rejects the completion script");
}
