//! The fault matrix: every command that talks to the network, run against every way the
//! network and the Platform API fail — DNS failure, refused connection, a peer that never
//! answers, a peer that hangs up mid-exchange (over HTTP, or mid TLS handshake), an untrusted
//! TLS certificate, and each API fault (401, 403, 404, 422, 429 then success, 429 exhausted,
//! 500, 503, garbage, truncated JSON). Each cell must end within its timeout with the documented exit code and one clear
//! `herossh:` error (no panic, no backtrace), and leave every file as it was — or, for the
//! commands whose file write does not depend on the API, exactly as a healthy run leaves it.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::fake_api::{FakeApi, Fault, error_body};
use crate::support::faults::{Peer, UntrustedTls, closed_port, unresolvable_host};
use crate::support::{TestEnv, tree_snapshot};

const TOKEN: &str = "tok-matrix-7c1f";
const EMAIL: &str = "dev@example.com";
/// `HEROSSH_TIMEOUT` for every cell: the silent peer must be given up on after this.
const TIMEOUT_SECS: u64 = 1;
/// A cell still running after this is a hang (the longest legitimate cell waits one timeout).
const HANG_GUARD: Duration = Duration::from_secs(30);

/// The fault kinds, listed once: the enum and the array the matrix iterates over.
macro_rules! fault_kinds {
    ($($kind:ident),* $(,)?) => {
        /// How the network or the API fails in one cell.
        #[derive(Debug, Clone, Copy, PartialEq)]
        enum FaultKind {
            $($kind),*
        }
        const ALL_FAULTS: &[FaultKind] = &[$(FaultKind::$kind),*];
    };
}

fault_kinds!(
    Dns,
    Refused,
    Silent,
    HangUp,
    TlsHangUp,
    UntrustedTls,
    Status401,
    Status403,
    Status404,
    Status422,
    RateLimitedThenOk,
    RateLimitExhausted,
    Status500,
    Status503,
    Garbage,
    TruncatedJson,
);

use FaultKind::*;

impl FaultKind {
    /// The exit code DESIGN.md documents for a command that fails because of this fault.
    fn exit_code(self) -> i32 {
        match self {
            Status401 | Status403 => 4,
            Status404 | Status422 => 1,
            RateLimitedThenOk => 0,
            _ => 3,
        }
    }

    /// What the error line must say (a substring, the part that tells the person what happened).
    fn says(self, host: &str) -> String {
        match self {
            Dns => format!(
                "cannot connect to the Platform API at http://{host}: failed to lookup address"
            ),
            Refused => "Connection refused".into(),
            Silent => format!("did not answer within {TIMEOUT_SECS} s"),
            HangUp => "connection closed before message completed".into(),
            TlsHangUp => "the connection closed during the TLS handshake".into(),
            UntrustedTls => "its TLS certificate is not trusted (issued by an authority this \
                             system does not trust)"
                .into(),
            Status401 => "Invalid credentials provided.\nError ID: unauthorized".into(),
            Status403 => "This account is suspended.\nError ID: suspended".into(),
            Status404 => "Not here.\nError ID: not_found".into(),
            Status422 => "Unprocessable.\nError ID: invalid_params".into(),
            RateLimitedThenOk => String::new(),
            RateLimitExhausted => {
                "Your account reached the API rate limit\nError ID: rate_limit\nTry again in 0 s."
                    .into()
            }
            Status500 => "Internal server error.\nError ID: internal_server_error".into(),
            Status503 => "Service unavailable.\nError ID: unavailable".into(),
            // HTTP 200, or 201 for a POST: the status the real answer had.
            Garbage | TruncatedJson => "unexpected response from the Platform API (HTTP 20".into(),
        }
    }

    /// Queue this fault on `api` for requests starting with `at`.
    fn queue(self, api: &FakeApi, at: &str) {
        let respond = |status: u16, id: &str, message: &str| Fault::Respond {
            status,
            headers: vec![],
            body: error_body(id, message),
        };
        let rate_limited = || Fault::Respond {
            status: 429,
            headers: vec![("Retry-After".into(), "0".into())],
            body: error_body("rate_limit", "Your account reached the API rate limit"),
        };
        let faults: Vec<Fault> = match self {
            Status401 => vec![respond(
                401,
                "unauthorized",
                "Invalid credentials provided.",
            )],
            Status403 => vec![respond(403, "suspended", "This account is suspended.")],
            Status404 => vec![respond(404, "not_found", "Not here.")],
            Status422 => vec![respond(422, "invalid_params", "Unprocessable.")],
            RateLimitedThenOk => vec![rate_limited()],
            RateLimitExhausted => vec![rate_limited(); 3],
            // Three: enough for the retries of an idempotent call; a POST uses only one.
            Status500 => vec![respond(500, "internal_server_error", "Internal server error."); 3],
            Status503 => vec![respond(503, "unavailable", "Service unavailable."); 3],
            Garbage => vec![Fault::Garbage],
            TruncatedJson => vec![Fault::TruncatedJson],
            Dns | Refused | Silent | HangUp | TlsHangUp | UntrustedTls => vec![],
        };
        for f in faults {
            api.fail_next_for(at, f);
        }
    }
}

/// What a command does to files, which decides what "no partial write" means for it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Writes {
    /// Nothing on failure; on success possibly the files a healthy run writes.
    OnlyOnSuccess,
    /// Its file write does not depend on the API (fix-config falls back to the local key;
    /// keygen --upload saves the key before uploading): the files must equal a healthy run's.
    Regardless,
}

/// One command of the matrix.
struct Cmd {
    name: &'static str,
    args: &'static [&'static str],
    /// Where API faults are injected: the request prefix that matters for this command.
    fault_at: &'static str,
    /// Token on stdin instead of HEROKU_API_KEY (auth login).
    token_on_stdin: bool,
    /// `auth status` and `fix-config` report an unreachable API and carry on (exit 0).
    tolerant: bool,
    writes: Writes,
}

const API_COMMANDS: &[Cmd] = &[
    Cmd {
        name: "keys",
        args: &["keys"],
        fault_at: "GET /account/keys",
        token_on_stdin: false,
        tolerant: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "keys add",
        args: &["keys", "add", "new_key.pub", "-y"],
        fault_at: "POST /account/keys",
        token_on_stdin: false,
        tolerant: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "keys:remove",
        args: &["keys:remove", "old@laptop", "-y"],
        fault_at: "DELETE /account/keys/",
        token_on_stdin: false,
        tolerant: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "keys clear",
        args: &["keys", "clear", "-y"],
        fault_at: "DELETE /account/keys/",
        token_on_stdin: false,
        tolerant: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "auth whoami",
        args: &["auth", "whoami"],
        fault_at: "GET /account",
        token_on_stdin: false,
        tolerant: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "auth status",
        args: &["auth", "status"],
        fault_at: "GET /account",
        token_on_stdin: false,
        tolerant: true,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "auth login",
        args: &["auth", "login", "--token-stdin"],
        fault_at: "GET /account",
        token_on_stdin: true,
        tolerant: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "fix-config",
        args: &["fix-config"],
        fault_at: "GET /account/keys",
        token_on_stdin: false,
        tolerant: true,
        writes: Writes::Regardless,
    },
    Cmd {
        name: "keygen --upload",
        args: &[
            "keygen",
            "-t",
            "ed25519",
            "-f",
            "fresh_key",
            "-C",
            "fresh@laptop",
            "--no-passphrase",
            "--upload",
        ],
        fault_at: "POST /account/keys",
        token_on_stdin: false,
        tolerant: false,
        writes: Writes::Regardless,
    },
];

/// One home with a token on a fake account holding one key, two local key pairs (the one on
/// the account as `~/.ssh/id_ed25519`, a new one to add), and nothing else.
struct Cell {
    env: TestEnv,
    api: FakeApi,
}

/// Two key pairs made once by ssh-keygen and copied into each cell's home.
struct Keys {
    dir: tempfile::TempDir,
}

impl Keys {
    fn make() -> Keys {
        let dir = tempfile::tempdir().unwrap();
        for (name, comment) in [("id_ed25519", "old@laptop"), ("new_key", "new@laptop")] {
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
                .arg(dir.path().join(name))
                .stdin(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success());
        }
        Keys { dir }
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(name)).unwrap()
    }
}

impl Cell {
    fn new(keys: &Keys) -> Cell {
        let env = TestEnv::new();
        let ssh = env.ssh_dir();
        for name in ["id_ed25519", "id_ed25519.pub"] {
            std::fs::write(ssh.join(name), keys.read(name)).unwrap();
        }
        std::fs::set_permissions(
            ssh.join("id_ed25519"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        env.write("new_key.pub", keys.read("new_key.pub"));
        let api = FakeApi::start();
        api.add_token(TOKEN, EMAIL);
        let old = String::from_utf8(keys.read("id_ed25519.pub")).unwrap();
        api.add_key(EMAIL, old.trim());
        Cell { env, api }
    }

    /// Run `herossh ARGS` with `HEROKU_HOST=host_url`; killed past [`HANG_GUARD`].
    fn run(&self, cmd: &Cmd, host_url: &str) -> Outcome {
        let mut c = self.env.herossh();
        c.args(cmd.args)
            .env("HEROKU_HOST", host_url)
            .env("HEROSSH_TIMEOUT", TIMEOUT_SECS.to_string())
            .timeout(HANG_GUARD);
        if cmd.token_on_stdin {
            c.write_stdin(format!("{TOKEN}\n"));
        } else {
            c.env("HEROKU_API_KEY", TOKEN).write_stdin("");
        }
        let started = Instant::now();
        let o = c.output().unwrap();
        Outcome {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }
}

#[derive(Debug)]
struct Outcome {
    /// None: killed by the hang guard (or by a signal).
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// The broken endpoint for a network fault, kept alive for the cell.
enum Broken {
    Peer(Peer),
    /// A broken peer reached over `https://`.
    TlsPeer(Peer),
    Tls(UntrustedTls),
    Url(String),
}

impl Broken {
    fn for_fault(fault: FaultKind, scratch: &Path) -> Option<Broken> {
        Some(match fault {
            Dns => Broken::Url(format!("http://{}", unresolvable_host())),
            Refused => Broken::Url(format!("http://127.0.0.1:{}", closed_port())),
            Silent => Broken::Peer(Peer::silent()),
            HangUp => Broken::Peer(Peer::hangup(None)),
            // Reads the TLS ClientHello, then hangs up: closed mid-handshake.
            TlsHangUp => Broken::TlsPeer(Peer::hangup(None)),
            UntrustedTls => Broken::Tls(UntrustedTls::start(scratch)),
            _ => return None,
        })
    }

    fn url(&self) -> String {
        match self {
            Broken::Peer(p) => p.url(),
            Broken::TlsPeer(p) => p.url().replacen("http://", "https://", 1),
            Broken::Tls(t) => t.url(),
            Broken::Url(u) => u.clone(),
        }
    }
}

/// Files a healthy run of `cmd` leaves, relative to the home, with private keys reduced to
/// their mode (they are random).
fn healthy_files(keys: &Keys, cmd: &Cmd) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    let cell = Cell::new(keys);
    let o = cell.run(cmd, &cell.api.url());
    assert_eq!(o.code, Some(0), "{}: healthy run failed: {o:#?}", cmd.name);
    normalise(tree_snapshot(&cell.env.home()), &cell.api)
}

/// Generated key files are random: keep their mode and their shape, not their bytes.
fn normalise(
    mut files: BTreeMap<PathBuf, (u32, Vec<u8>)>,
    api: &FakeApi,
) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    // Each cell has its own API port, which login writes into ~/.netrc.
    let addr = api.url().trim_start_matches("http://").to_string();
    for (path, (_, bytes)) in files.iter_mut() {
        let text = String::from_utf8_lossy(bytes);
        if text.contains(&addr) {
            *bytes = text.replace(&addr, "API").into_bytes();
        }
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with("fresh_key") {
            let text = String::from_utf8_lossy(bytes).into_owned();
            *bytes = if name.ends_with(".pub") {
                let f: Vec<&str> = text.split_whitespace().collect();
                format!("{} <key> {}", f[0], f[2..].join(" ")).into_bytes()
            } else {
                let first = text.lines().next().unwrap_or_default();
                let last = text.lines().last().unwrap_or_default();
                format!("{first} .. {last}").into_bytes()
            };
        }
    }
    files
}

/// Check one cell; returns the problems found (empty when it behaves).
fn check_cell(
    cmd: &Cmd,
    fault: FaultKind,
    keys: &Keys,
    healthy: &BTreeMap<PathBuf, (u32, Vec<u8>)>,
) -> Vec<String> {
    let cell = Cell::new(keys);
    let before = tree_snapshot(&cell.env.home());
    let broken = Broken::for_fault(fault, &cell.env.scratch());
    let url = broken.as_ref().map_or_else(|| cell.api.url(), Broken::url);
    fault.queue(&cell.api, cmd.fault_at);
    let o = cell.run(cmd, &url);
    let mut problems = Vec::new();
    let mut bad = |what: String| problems.push(format!("{} × {fault:?}: {what}", cmd.name));

    let Some(code) = o.code else {
        bad(format!("no exit within {HANG_GUARD:?}: {o:#?}"));
        return problems;
    };
    if o.stderr.contains("panicked") || o.stderr.contains("RUST_BACKTRACE") {
        bad(format!("panicked: {}", o.stderr));
    }
    let host = unresolvable_host();
    let expected_code = if cmd.tolerant { 0 } else { fault.exit_code() };
    if code != expected_code {
        bad(format!("exit {code}, expected {expected_code}: {o:#?}"));
    }
    let says = fault.says(&host);
    if fault != RateLimitedThenOk {
        if cmd.tolerant {
            // Carried on, and warned why the account could not be used, on one line.
            let warning = match (cmd.name, fault) {
                ("auth status", Status401 | Status403) => {
                    "Warning: the Platform API rejected this token".to_string()
                }
                ("auth status", _) => "Warning: could not confirm the account: ".to_string(),
                _ => "Warning: could not ask the Platform API which key is on your account ("
                    .to_string(),
            };
            let line = o.stderr.lines().find(|l| l.contains(&warning));
            let why = says.lines().next().unwrap();
            if !line.is_some_and(|l| l.contains(why) || warning.contains("rejected")) {
                bad(format!("does not warn {warning:?} with {why:?}: {o:#?}"));
            }
        } else {
            // One `herossh:` error saying what happened (keys remove/clear report per key, on
            // one line, so the API's message lines are joined there).
            let errors = o
                .stderr
                .lines()
                .filter(|l| l.starts_with("herossh: "))
                .count();
            let said = o.stderr.contains(&says) || o.stderr.contains(&says.replace('\n', " "));
            if errors != 1 || !said {
                bad(format!(
                    "expected one `herossh:` error saying {says:?}: {o:#?}"
                ));
            }
        }
    }
    // A failed command prints no half result on stdout (keygen's report is of the key it
    // saved, which stays).
    if code != 0 && cmd.writes == Writes::OnlyOnSuccess && !o.stdout.is_empty() {
        bad(format!("failed but printed on stdout: {o:#?}"));
    }
    // The silent peer is given up on after the timeout, not after the hang guard.
    let bound = Duration::from_secs(TIMEOUT_SECS * 3 + 5);
    if o.elapsed > bound {
        bad(format!("took {:?}, more than {bound:?}", o.elapsed));
    }
    // Files: untouched on failure; a healthy run's files on success or when the write does
    // not depend on the API.
    let after = normalise(tree_snapshot(&cell.env.home()), &cell.api);
    let expected = if code == 0 || cmd.writes == Writes::Regardless {
        healthy.clone()
    } else {
        normalise(before, &cell.api)
    };
    if after != expected {
        let diff: Vec<String> = after
            .keys()
            .chain(expected.keys())
            .filter(|k| after.get(*k) != expected.get(*k))
            .map(|k| k.display().to_string())
            .collect();
        bad(format!("files differ from what they must be: {diff:?}"));
    }
    drop(broken);
    problems
}

#[test]
fn every_api_command_against_every_fault() {
    let keys = Keys::make();
    let mut problems = Vec::new();
    for cmd in API_COMMANDS {
        let healthy = healthy_files(&keys, cmd);
        // Two cells at a time: each is mostly waiting on sockets and child processes.
        let results: Vec<Vec<String>> = std::thread::scope(|s| {
            ALL_FAULTS
                .chunks(2)
                .flat_map(|pair| {
                    let handles: Vec<_> = pair
                        .iter()
                        .map(|&f| {
                            let (keys, healthy) = (&keys, &healthy);
                            s.spawn(move || check_cell(cmd, f, keys, healthy))
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap())
                        .collect::<Vec<_>>()
                })
                .collect()
        });
        problems.extend(results.into_iter().flatten());
    }
    assert!(
        problems.is_empty(),
        "{} cells misbehave:\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// Makes a broken `HOST[:PORT]` (and keeps its listener alive while the cell runs).
type MakeTarget = Box<dyn Fn() -> (String, Option<Peer>)>;

/// SSH-side faults for the commands that probe a host: validate and doctor.
#[test]
fn probing_commands_against_every_network_fault() {
    let banner: &'static [u8] = b"SSH-2.0-OpenSSH_9.6 matrix\r\n";
    let mut problems = Vec::new();
    let cases: Vec<(&str, MakeTarget, &str)> = vec![
        (
            "dns",
            Box::new(|| (unresolvable_host(), None)),
            "dns-failure",
        ),
        (
            "refused",
            Box::new(|| (format!("127.0.0.1:{}", closed_port()), None)),
            "connection-refused",
        ),
        (
            "silent",
            Box::new(|| {
                let p = Peer::silent();
                (format!("127.0.0.1:{}", p.port()), Some(p))
            }),
            "connection-timeout",
        ),
        (
            "closed before the banner",
            Box::new(|| {
                let p = Peer::hangup(None);
                (format!("127.0.0.1:{}", p.port()), Some(p))
            }),
            "handshake-failed",
        ),
        (
            "closed after the banner",
            Box::new(move || {
                let p = Peer::hangup(Some(banner));
                (format!("127.0.0.1:{}", p.port()), Some(p))
            }),
            "handshake-failed",
        ),
    ];
    for (name, make, code) in &cases {
        for command in ["validate", "doctor"] {
            let env = TestEnv::new();
            let (target, peer) = make();
            let (host, port) = target
                .rsplit_once(':')
                .map_or((target.clone(), None), |(h, p)| (h.to_string(), Some(p)));
            let mut args: Vec<String> = vec!["--json".into(), command.into()];
            if command == "validate" {
                args.push(format!("git@{target}"));
            } else {
                // doctor probes the config's alias (and git@<platform host>: HEROKU_HOST names
                // it, and a Host stanza for it is Heroku context); the config sets the port.
                let cfg = env.write(
                    "cfg",
                    format!("Host {host}\n  Port {}\n", port.unwrap_or("22")),
                );
                args.extend(["-F".into(), cfg.display().to_string()]);
            }
            args.extend(["--timeout".into(), TIMEOUT_SECS.to_string()]);
            let started = Instant::now();
            let o = env
                .herossh()
                .args(&args)
                .env("HEROKU_HOST", format!("http://{host}"))
                .timeout(HANG_GUARD)
                .output()
                .unwrap();
            let elapsed = started.elapsed();
            drop(peer);
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            let mut bad = |what: String| problems.push(format!("{command} × {name}: {what}"));
            let v: Value = match serde_json::from_str(&stdout) {
                Ok(v) => v,
                Err(e) => {
                    bad(format!("not JSON ({e}): {stdout}\n{stderr}"));
                    continue;
                }
            };
            let expected_exit = if command == "validate" { 3 } else { 1 };
            if o.status.code() != Some(expected_exit) {
                bad(format!(
                    "exit {:?}, expected {expected_exit}",
                    o.status.code()
                ));
            }
            if stderr.contains("panicked") {
                bad(format!("panicked: {stderr}"));
            }
            let report = if command == "validate" {
                &v
            } else {
                &v["hosts"][0]
            };
            let codes: Vec<&str> = report["findings"]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f["code"].as_str()).collect())
                .unwrap_or_default();
            if codes.first() != Some(code) {
                bad(format!("findings {codes:?}, expected {code} first: {v:#}"));
            }
            if elapsed > Duration::from_secs(TIMEOUT_SECS * 3 + 5) {
                bad(format!("took {elapsed:?}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} cells misbehave:\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}
