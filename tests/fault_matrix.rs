//! The fault matrix: every command that talks to the network, run against every way the
//! network and the Platform API fail — DNS failure, refused connection, a peer that never
//! answers, a peer that hangs up mid-exchange (over HTTP, or mid TLS handshake), an untrusted
//! TLS certificate, and each API answer that is not a success (302, 307, 400, 401, 403, 404,
//! 422, 429 then success, 429 exhausted, 500, 503, an HTML page with 200, truncated JSON).
//! Each cell runs twice, for people and with `--json`, and must end within its timeout with
//! the exit code the one documented HTTP mapping gives, one clear `herossh:` error (no panic,
//! no backtrace), with `--json` exactly one JSON document on stdout (the `{"error": ...}`
//! object with the documented code, or the command's own report), and leave every file as it
//! was — or, for the commands whose file write does not depend on the API, exactly as a
//! healthy run leaves it.
//!
//! Also here: output faults (stdout on `/dev/full`, a closed pipe, stderr on `/dev/full`) for
//! the commands that print, and every local failure of every command under `--json`.

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
    Status302,
    Status307,
    Status400,
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
            Status400 | Status404 | Status422 => 1,
            RateLimitedThenOk => 0,
            _ => 3,
        }
    }

    /// The `--json` error code the documented HTTP mapping gives this fault.
    fn code(self) -> &'static str {
        match self {
            Dns | Refused | Silent | HangUp | TlsHangUp | UntrustedTls => "network",
            Status302 | Status307 => "redirect",
            Status400 | Status404 | Status422 => "api_refused",
            Status401 => "unauthorized",
            Status403 => "forbidden",
            RateLimitExhausted => "rate_limited",
            Status500 | Status503 | Garbage | TruncatedJson => "server_error",
            RateLimitedThenOk => "",
        }
    }

    /// What the error line must say (a substring, the part that tells the person what happened).
    fn says(self) -> String {
        match self {
            Dns => format!(
                "cannot connect to the Platform API at https://{}: failed to lookup address",
                api_unresolvable_host()
            ),
            Refused => "Connection refused".into(),
            Silent => format!("did not answer within {TIMEOUT_SECS} s"),
            HangUp => "connection closed before message completed".into(),
            TlsHangUp => "the connection closed during the TLS handshake".into(),
            UntrustedTls => "its TLS certificate is not trusted (issued by an authority this \
                             system does not trust)"
                .into(),
            Status302 | Status307 => format!(
                "unexpected response from the Platform API (HTTP {}): it redirects elsewhere",
                if self == Status302 { 302 } else { 307 }
            ),
            Status400 => "Bad request.\nError ID: bad_request".into(),
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
        let redirect = |status: u16| Fault::Respond {
            status,
            headers: vec![("Location".into(), "https://login.example.invalid/".into())],
            body: "<html><body>Moved</body></html>".into(),
        };
        let faults: Vec<Fault> = match self {
            // A captive portal or proxy: the same redirect for every try of an idempotent call.
            Status302 => vec![redirect(302); 3],
            Status307 => vec![redirect(307); 3],
            Status400 => vec![respond(400, "bad_request", "Bad request.")],
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

/// A name no resolver knows that is still a valid TLS server name (labels of 63 bytes at
/// most: [`unresolvable_host`]'s is longer, which rustls refuses before any lookup).
fn api_unresolvable_host() -> String {
    format!("{}.invalid", "a".repeat(40))
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
    /// `fix-config` reports an unreachable API and carries on (exit 0).
    tolerant: bool,
    /// Prints its report on stdout even when it fails (`auth status`: the report says what is
    /// stored, the exit code and the error line say the token could not be used).
    reports: bool,
    writes: Writes,
}

const API_COMMANDS: &[Cmd] = &[
    Cmd {
        name: "keys",
        args: &["keys"],
        fault_at: "GET /account/keys",
        token_on_stdin: false,
        tolerant: false,
        reports: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "keys add",
        args: &["keys", "add", "new_key.pub", "-y"],
        fault_at: "POST /account/keys",
        token_on_stdin: false,
        tolerant: false,
        reports: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "keys:remove",
        args: &["keys:remove", "old@laptop", "-y"],
        fault_at: "DELETE /account/keys/",
        token_on_stdin: false,
        tolerant: false,
        reports: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "keys clear",
        args: &["keys", "clear", "-y"],
        fault_at: "DELETE /account/keys/",
        token_on_stdin: false,
        tolerant: false,
        reports: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "auth whoami",
        args: &["auth", "whoami"],
        fault_at: "GET /account",
        token_on_stdin: false,
        tolerant: false,
        reports: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "auth status",
        args: &["auth", "status"],
        fault_at: "GET /account",
        token_on_stdin: false,
        tolerant: false,
        reports: true,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "auth login",
        args: &["auth", "login", "--token-stdin"],
        fault_at: "GET /account",
        token_on_stdin: true,
        tolerant: false,
        reports: false,
        writes: Writes::OnlyOnSuccess,
    },
    Cmd {
        name: "fix-config",
        args: &["fix-config"],
        fault_at: "GET /account/keys",
        token_on_stdin: false,
        tolerant: true,
        reports: false,
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
        reports: false,
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

    /// Run `herossh [--json] ARGS` with `HEROKU_HOST=host_url`; killed past [`HANG_GUARD`].
    fn run(&self, cmd: &Cmd, host_url: &str, json: bool) -> Outcome {
        let mut c = self.env.herossh();
        if json {
            c.arg("--json");
        }
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
            // https: plain http to a host that is not loopback is refused before any lookup.
            Dns => Broken::Url(format!("https://{}", api_unresolvable_host())),
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
    let o = cell.run(cmd, &cell.api.url(), false);
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

/// What is wrong with a `--json` cell's document, if anything: on success no error; on failure
/// an error object `{code, message, exit}` with the fault's documented code, the process's
/// exit code and the message of the stderr line — in the error document itself, in `auth
/// status`'s report, or (keys remove/clear) the per-key failure of the report.
fn json_outcome_problem(v: &Value, code: i32, expected: &str, stderr: &str) -> Option<String> {
    let error = &v["error"];
    if code == 0 {
        return (!error.is_null()).then(|| format!("exit 0 but an error in the JSON: {v}"));
    }
    if let Some(failed) = v["failed"].as_array() {
        // keys remove/clear: the report lists what failed, with the message of the line.
        let message = failed.first().and_then(|f| f["error"].as_str());
        return match message {
            Some(m) if stderr.contains(&m.replace('\n', " ")) => None,
            _ => Some(format!("the report's failure is not the stderr line: {v}")),
        };
    }
    let message = error["message"].as_str().unwrap_or_default();
    if error["code"] != expected || error["exit"] != code || message.is_empty() {
        return Some(format!(
            "expected an error with code {expected} and exit {code}, got {v}"
        ));
    }
    (!stderr.contains(&format!("herossh: {message}")))
        .then(|| format!("the JSON message is not the stderr line: {message:?}"))
}

/// Check one cell; returns the problems found (empty when it behaves).
fn check_cell(
    cmd: &Cmd,
    fault: FaultKind,
    json: bool,
    keys: &Keys,
    healthy: &BTreeMap<PathBuf, (u32, Vec<u8>)>,
) -> Vec<String> {
    let cell = Cell::new(keys);
    let before = tree_snapshot(&cell.env.home());
    let broken = Broken::for_fault(fault, &cell.env.scratch());
    let url = broken.as_ref().map_or_else(|| cell.api.url(), Broken::url);
    fault.queue(&cell.api, cmd.fault_at);
    let o = cell.run(cmd, &url, json);
    let mut problems = Vec::new();
    let mode = if json { " --json" } else { "" };
    let mut bad = |what: String| problems.push(format!("{}{mode} × {fault:?}: {what}", cmd.name));

    let Some(code) = o.code else {
        bad(format!("no exit within {HANG_GUARD:?}: {o:#?}"));
        return problems;
    };
    if o.stderr.contains("panicked") || o.stderr.contains("RUST_BACKTRACE") {
        bad(format!("panicked: {}", o.stderr));
    }
    // auth status: any answer but a refusal (401/403) means "could not be verified": 3.
    let expected_code = match (cmd.tolerant, cmd.reports, fault.exit_code()) {
        (true, ..) => 0,
        (_, true, 1) => 3,
        (_, _, code) => code,
    };
    if code != expected_code {
        bad(format!("exit {code}, expected {expected_code}: {o:#?}"));
    }
    let says = fault.says();
    if fault != RateLimitedThenOk {
        if cmd.tolerant {
            // Carried on, and warned why the account could not be used, on one line.
            let warning = "Warning: could not ask the Platform API which key is on your account (";
            let line = o.stderr.lines().find(|l| l.contains(warning));
            let why = says.lines().next().unwrap();
            if !line.is_some_and(|l| l.contains(why)) {
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
            let said = o.stderr.contains(&says)
                || o.stderr.contains(&says.replace('\n', " "))
                // auth status quotes the first line of the failure in its own sentence.
                || (cmd.reports && o.stderr.contains(says.lines().next().unwrap()));
            if errors != 1 || !said {
                bad(format!(
                    "expected one `herossh:` error saying {says:?}: {o:#?}"
                ));
            }
        }
    }
    if json {
        // Exactly one JSON document; on failure it carries the documented code and exit.
        match serde_json::from_str::<Value>(&o.stdout) {
            Err(e) => bad(format!("stdout is not one JSON document ({e}): {o:#?}")),
            Ok(v) => {
                let expected = match (cmd.reports, fault.code()) {
                    (true, "api_refused") => "server_error",
                    (_, code) => code,
                };
                if let Some(problem) = json_outcome_problem(&v, code, expected, &o.stderr) {
                    bad(format!("{problem}: {o:#?}"));
                }
            }
        }
    } else if code != 0
        && cmd.writes == Writes::OnlyOnSuccess
        && !cmd.reports
        && !o.stdout.is_empty()
    {
        // A failed command prints no half result on stdout (keygen's report is of the key it
        // saved, which stays; auth status's report is the point).
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
        // Every fault, for people and with --json.
        let cells: Vec<(FaultKind, bool)> = ALL_FAULTS
            .iter()
            .flat_map(|&f| [(f, false), (f, true)])
            .collect();
        let results: Vec<Vec<String>> = std::thread::scope(|s| {
            cells
                .chunks(2)
                .flat_map(|pair| {
                    let handles: Vec<_> = pair
                        .iter()
                        .map(|&(f, json)| {
                            let (keys, healthy) = (&keys, &healthy);
                            s.spawn(move || check_cell(cmd, f, json, keys, healthy))
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
                // doctor probes git@<platform host>: HEROKU_HOST names it, a config sets the port.
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
                &v["probes"][0]
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

/// Where a stream of a run goes, for the output-fault cells.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sink {
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
    /// A pipe whose reading end is closed before herossh starts: every write is EPIPE.
    ClosedPipe,
}

fn sink(s: Sink) -> Stdio {
    match s {
        Sink::Full => Stdio::from(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        ),
        Sink::ClosedPipe => {
            let mut fds = [0; 2];
            // SAFETY: pipe fills two new descriptors; the read end is closed at once and the
            // write end is owned by the Stdio.
            unsafe {
                assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
                libc::close(fds[0]);
                Stdio::from(std::os::fd::OwnedFd::from_raw_fd(fds[1]))
            }
        }
    }
}

use std::os::fd::FromRawFd;

/// Writing to a full disk or a closed pipe: a full stdout is an error with a message (never an
/// exit 0 with the token unwritten, never a panic), a closed pipe ends quietly, and a full or
/// closed stderr changes nothing but what can be said.
#[test]
fn output_to_a_full_disk_or_a_closed_pipe() {
    let env = TestEnv::new();
    let api = FakeApi::start();
    api.add_token(TOKEN, EMAIL);
    let keys = Keys::make();
    let key = env.write("k.pub", keys.read("new_key.pub"));
    // One key on the account, so `keys` has a list to print.
    api.add_key(
        EMAIL,
        String::from_utf8(keys.read("id_ed25519.pub"))
            .unwrap()
            .trim(),
    );
    let full = "herossh: cannot write to standard output: No space left on device (os error 28)\n";
    // (args, with the token, stdout, stderr, expected exit, expected stderr when visible)
    type Case<'a> = (
        Vec<&'a str>,
        bool,
        Option<Sink>,
        Option<Sink>,
        i32,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            vec!["completions", "bash"],
            false,
            Some(Sink::Full),
            None,
            1,
            Some(full),
        ),
        (
            vec!["completions", "zsh"],
            false,
            Some(Sink::ClosedPipe),
            None,
            0,
            Some(""),
        ),
        (vec!["--help"], false, Some(Sink::Full), None, 1, Some(full)),
        (
            vec!["auth", "token"],
            true,
            Some(Sink::Full),
            None,
            1,
            Some(full),
        ),
        (
            vec!["auth", "token"],
            true,
            Some(Sink::ClosedPipe),
            None,
            0,
            Some(""),
        ),
        (vec!["keys"], true, Some(Sink::Full), None, 1, Some(full)),
        (
            vec!["--json", "keys"],
            true,
            Some(Sink::Full),
            None,
            1,
            Some(full),
        ),
        (
            vec!["keys"],
            true,
            Some(Sink::ClosedPipe),
            None,
            0,
            Some(""),
        ),
        // Not logged in: the exit code still says so when the message cannot be written.
        (
            vec!["auth", "token"],
            false,
            None,
            Some(Sink::Full),
            4,
            None,
        ),
        (
            vec!["auth", "token"],
            false,
            None,
            Some(Sink::ClosedPipe),
            4,
            None,
        ),
        // The upload happens; the report on stderr cannot be written: that is an error too.
        (
            vec!["keys", "add", key.to_str().unwrap()],
            true,
            None,
            Some(Sink::Full),
            1,
            None,
        ),
        (
            vec!["-vv", "auth", "whoami"],
            true,
            None,
            Some(Sink::Full),
            0,
            None,
        ),
    ];
    for (args, token, stdout, stderr, code, says) in cases {
        let mut c = Command::new(crate::support::herossh_bin());
        env.apply(&mut c);
        c.current_dir(env.home())
            .env("HEROKU_HOST", api.url())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(stdout.map_or_else(Stdio::piped, sink))
            .stderr(stderr.map_or_else(Stdio::piped, sink));
        if token {
            c.env("HEROKU_API_KEY", TOKEN);
        }
        let o = c.output().unwrap();
        let what = format!("{args:?} stdout {stdout:?} stderr {stderr:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{what}: {err}");
        if let Some(says) = says {
            assert_eq!(err, says, "{what}");
        }
    }
    // The key went up although its report could not be written.
    assert_eq!(
        api.request_lines()
            .iter()
            .filter(|l| *l == "POST /account/keys")
            .count(),
        1
    );
}

/// Every command under `--json`, made to fail locally in each way it can (no network fault
/// needed): stdout is exactly one JSON document, the `{"error": ...}` object with the
/// documented code and the process's exit code, and its message is the stderr line's.
#[test]
fn every_command_under_json_fails_with_one_parseable_error_object() {
    let keys = Keys::make();
    let env = TestEnv::new();
    let api = FakeApi::start();
    api.add_token(TOKEN, EMAIL);
    let old = String::from_utf8(keys.read("id_ed25519.pub")).unwrap();
    api.add_key(EMAIL, old.trim());
    api.add_key(
        EMAIL,
        String::from_utf8(keys.read("new_key.pub")).unwrap().trim(),
    );
    let existing = env.write("existing", "precious\n");
    let fifo = env.scratch().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let private = env.write("private_key", keys.read("id_ed25519"));
    let broken_git = env.home().join(".gitconfig");
    std::fs::create_dir_all(&broken_git).unwrap();
    let p = |p: &Path| p.to_str().unwrap().to_string();

    // (args, env, stdin, code, exit)
    type Case = (
        Vec<String>,
        Vec<(&'static str, String)>,
        &'static str,
        &'static str,
        i32,
    );
    let token = || vec![("HEROKU_API_KEY", TOKEN.to_string())];
    let a = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        (a(&["keygen", "-t", "ed25519", "--no-passphrase", "-f", &p(&existing)]), vec![], "", "file_exists", 2),
        (a(&["keygen", "-t", "ed25519", "--no-passphrase", "--force", "-f", &p(&fifo)]), vec![], "", "not_a_regular_file", 1),
        (a(&["keygen", "-t", "ecdsa", "-b", "7", "--no-passphrase"]), vec![], "", "usage", 2),
        (a(&["keys"]), vec![], "", "not_logged_in", 4),
        (a(&["keys:list"]), vec![("HEROSSH_TIMEOUT", "0".into())], "", "not_logged_in", 4),
        (a(&["keys"]), [token(), vec![("HEROSSH_TIMEOUT", "0".into())]].concat(), "", "usage", 2),
        (a(&["keys"]), [token(), vec![("HEROKU_HOST", "http://api.example.invalid".into())]].concat(), "", "insecure_transport", 2),
        (a(&["keys", "add", "/nonexistent/k.pub"]), token(), "", "file_error", 1),
        (a(&["keys:add", &p(&private)]), token(), "", "invalid_key", 1),
        (a(&["keys", "add", &p(&fifo)]), token(), "", "file_error", 1),
        (a(&["keys", "remove", "no-such-key"]), token(), "", "key_not_found", 1),
        (a(&["keys:remove", "AAAA"]), token(), "", "ambiguous_key", 1),
        (a(&["keys", "clear"]), token(), "", "usage", 2),
        (a(&["auth", "whoami"]), vec![], "", "not_logged_in", 4),
        (a(&["auth:whoami"]), vec![], "", "not_logged_in", 4),
        (a(&["auth", "token"]), vec![], "", "not_logged_in", 4),
        (a(&["auth:token"]), vec![], "", "not_logged_in", 4),
        (a(&["auth", "login", "--token-stdin"]), vec![], "\n", "usage", 2),
        (a(&["auth:login", "--token-stdin"]), token(), "x\n", "usage", 2),
        (a(&["auth", "login", "--token-stdin"]), vec![], "wrong-token\n", "unauthorized", 4),
        (a(&["git-credential", "install"]), vec![], "", "failed", 1),
        (a(&["validate", "git@bad host"]), vec![], "", "usage", 2),
        (a(&["validate", "--timeout", "0"]), vec![], "", "usage", 2),
        (a(&["config", "resolve", "h", "-F", "/nonexistent/config"]), vec![], "", "usage", 2),
        (a(&["fix-config", "-i", "/nonexistent/key"]), vec![], "", "usage", 2),
        (a(&["fix-config", "-F", &p(&fifo), "-i", &p(&private)]), vec![], "", "not_a_regular_file", 1),
        (a(&["doctor", "--timeout", "0"]), vec![], "", "usage", 2),
        (a(&["completions", "nosuch-shell"]), vec![], "", "usage", 2),
        (a(&["no-such-command"]), vec![], "", "usage", 2),
        (a(&["keys", "--no-such-flag"]), vec![], "", "usage", 2),
    ];
    let mut problems = Vec::new();
    for (args, envs, stdin, code, exit) in cases {
        let mut c = env.herossh();
        c.env("HEROKU_HOST", api.url()).arg("--json").args(&args);
        for (k, v) in &envs {
            c.env(k, v);
        }
        let o = c.write_stdin(stdin).timeout(HANG_GUARD).output().unwrap();
        let (so, se) = (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        );
        let mut bad =
            |what: String| problems.push(format!("{args:?}: {what}\nstdout: {so}\nstderr: {se}"));
        if o.status.code() != Some(exit) {
            bad(format!("exit {:?}, expected {exit}", o.status.code()));
            continue;
        }
        let v: Value = match serde_json::from_str(&so) {
            Ok(v) => v,
            Err(e) => {
                bad(format!("stdout is not one JSON document: {e}"));
                continue;
            }
        };
        let e = &v["error"];
        if e["code"] != code || e["exit"] != exit {
            bad(format!("expected code {code} and exit {exit}"));
            continue;
        }
        let message = e["message"].as_str().unwrap_or_default();
        // clap words its own usage errors: its first line is the message.
        if message.is_empty()
            || !(se.contains(&format!("herossh: {message}")) || se.contains(message))
        {
            bad(format!("the message {message:?} is not what stderr says"));
        }
        if se.contains("panicked") {
            bad("panicked".into());
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The other half of the `--json` contract: every command's success path prints one JSON
/// document on stdout and nothing else (human lines, if any, go to stderr).
#[test]
fn every_command_under_json_prints_only_json_when_it_succeeds() {
    let env = TestEnv::new();
    let api = FakeApi::start();
    api.add_token(TOKEN, EMAIL);
    let key = env.ssh_dir().join("id_ed25519");
    let k = key.to_str().unwrap().to_string();
    let pubk = format!("{k}.pub");
    #[rustfmt::skip]
    let steps: Vec<(Vec<&str>, bool, &str)> = vec![
        (vec!["keygen", "-t", "ed25519", "--no-passphrase", "-C", "json@laptop", "-f", &k], false, ""),
        (vec!["keys", "add", &pubk], true, ""),
        (vec!["keys"], true, ""),
        (vec!["keys:list", "--long"], true, ""),
        (vec!["auth", "status"], true, ""),
        (vec!["auth", "whoami"], true, ""),
        (vec!["auth:whoami"], true, ""),
        (vec!["auth", "token"], true, ""),
        (vec!["auth:token"], true, ""),
        (vec!["auth", "login", "--token-stdin"], false, "TOKEN"),
        (vec!["auth:logout"], false, ""),
        (vec!["git-credential", "install"], false, ""),
        (vec!["git-credential", "uninstall"], false, ""),
        (vec!["config", "resolve", "heroku.com"], false, ""),
        (vec!["fix-config", "--dry-run", "-i", &k], false, ""),
        (vec!["fix-config", "-i", &k], false, ""),
        (vec!["validate", "--plan", "-F", "none", "-i", &k, "git@127.0.0.1"], false, ""),
        (vec!["doctor", "--offline"], false, ""),
        (vec!["completions", "bash"], false, ""),
        (vec!["keys", "remove", "json@laptop"], true, ""),
        (vec!["keys", "clear", "-y"], true, ""),
    ];
    let mut problems = Vec::new();
    for (args, token, stdin) in steps {
        let mut c = env.herossh();
        c.env("HEROKU_HOST", api.url()).arg("--json").args(&args);
        if token {
            c.env("HEROKU_API_KEY", TOKEN);
        }
        let stdin = if stdin == "TOKEN" {
            format!("{TOKEN}\n")
        } else {
            String::new()
        };
        let o = c.write_stdin(stdin).timeout(HANG_GUARD).output().unwrap();
        let (so, se) = (
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        );
        match serde_json::from_str::<Value>(&so) {
            Ok(v) if o.status.code() == Some(0) && v.get("error").is_none_or(Value::is_null) => {}
            r => problems.push(format!(
                "{args:?}: exit {:?}, {r:?}\nstdout: {so}\nstderr: {se}",
                o.status.code()
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
