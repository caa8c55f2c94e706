//! The installed `ssh`: which program, which version and vendor, which keywords and `Match`
//! criteria it accepts, its defaults and the algorithms it supports.
//!
//! herossh predicts this program, so it asks the program itself rather than a table keyed on a
//! version number: `ssh -V`, `ssh -G -F none` (every default, in the order `ssh -G` prints
//! them), `ssh -Q cipher|mac|kex|key|key-sig|sig` (what it supports), and one `ssh -G` over a
//! throwaway config that names every keyword and criterion herossh knows (which ones it
//! refuses). Vendor patches (Debian's GSSAPI key exchange, Apple's `UseKeychain`), build
//! options and backports show up there as they are. The answers are cached under
//! `$XDG_CACHE_HOME/herossh/` keyed by the binary's path, inode, size and mtime, so only the
//! first run after an install or upgrade pays for the probes (a few milliseconds); every
//! evaluation after that is in-process.
//!
//! With no ssh installed (or one that cannot be run), the built-in profile describes upstream
//! OpenSSH 10.2p1's defaults, and [`Client::source`] says so, so reports can say the answer is
//! for "a current OpenSSH", not for this machine.
//!
//! `HEROSSH_SSH_PROGRAM` names the ssh to predict (absolute path), e.g. the one
//! `core.sshCommand` runs; otherwise the first `ssh` on `PATH`, as a shell or git would run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::grammar::{self, Avail, MATCH_CRITERIA, Op};

/// Where the profile came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Probed now.
    Probed,
    /// From the cache of an earlier probe of the same binary.
    Cached,
    /// No usable ssh: upstream OpenSSH 10.2p1's documented defaults.
    Builtin,
}

/// Whose build of OpenSSH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Vendor {
    Upstream,
    /// Debian or a derivative (the version string says `Debian-…`).
    Debian,
    Ubuntu,
    /// Apple's build (it knows `UseKeychain`).
    Apple,
    /// Microsoft's Win32-OpenSSH.
    Windows,
}

/// Every algorithm the client supports, as `ssh -Q` lists them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Supported {
    pub cipher: Vec<String>,
    pub mac: Vec<String>,
    pub kex: Vec<String>,
    /// Key types, certificates included (`ssh -Q key`).
    pub key: Vec<String>,
    /// Key types plus signature-only algorithms (`ssh -Q key-sig`): what HostKeyAlgorithms and
    /// PubkeyAcceptedAlgorithms patterns expand against.
    pub key_sig: Vec<String>,
    /// Plain key types and signature algorithms (`ssh -Q sig`): CASignatureAlgorithms.
    pub sig: Vec<String>,
}

/// The model of one ssh client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Client {
    /// The program (None for the built-in profile).
    pub program: Option<PathBuf>,
    /// `ssh -V`'s line, e.g. `OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19 27 Jan 2026`.
    pub version_text: String,
    pub major: u32,
    pub minor: u32,
    pub vendor: Vendor,
    /// Keywords of herossh's grammar this ssh refuses ("Bad configuration option"). Private,
    /// as is the next set: fixed once the client is made, since [`Client::op`] memoizes them.
    unknown_keywords: BTreeSet<String>,
    /// Keywords it accepts with an "Unsupported option" error that is not fatal.
    unsupported_keywords: BTreeSet<String>,
    /// `Match` criteria it refuses.
    pub unknown_criteria: BTreeSet<String>,
    /// `ssh -G -F none`: every line, in order (keyword, value).
    pub defaults: Vec<(String, String)>,
    pub supported: Supported,
    /// ServerAliveInterval when BatchMode is on and nothing sets it: Debian's keepalive patch
    /// makes it 300 (`ssh -G -F none -oBatchMode=yes`); None when BatchMode changes nothing.
    pub batchmode_keepalive: Option<i64>,
    /// OpenSSH 10.3's ProxyJump rules (backported by distributions with CVE-2026-35386, e.g.
    /// Debian 12's 9.2p1-2+deb12u10): a `ProxyJump none` no longer hides a later
    /// ProxyCommand, and `-J` hops must be valid host and user names. Probed by behaviour
    /// (`-oProxyJump=none -oProxyCommand=...`), since the version number does not say.
    pub strict_jump: bool,
    pub source: Source,
    /// [`Client::op`]'s answers, by position in the grammar table.
    #[serde(skip)]
    ops: OnceLock<Box<[Option<Op>]>>,
}

/// The client herossh predicts in this process (probed or cached once).
pub fn installed() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(detect)
}

impl Client {
    /// `OpenSSH_9.2p1 Debian-2+deb12u6 (/usr/bin/ssh)`, or the built-in profile's name.
    pub fn describe(&self) -> String {
        let v = self
            .version_text
            .split(',')
            .next()
            .unwrap_or(&self.version_text);
        match &self.program {
            Some(p) => format!("{v} ({})", p.display()),
            None => format!("{v} (built-in defaults: no usable ssh found)"),
        }
    }

    /// At least this upstream version.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// How this ssh reads a (lower-case) keyword: None when it refuses it.
    pub fn keyword(&self, name: &str) -> Option<Op> {
        self.op(grammar::lookup(name)?)
    }

    /// [`Client::keyword`] for a grammar entry. Asked for every line of every config file
    /// read, so the answers are worked out once per client, one per entry.
    pub fn op(&self, k: &'static grammar::Keyword) -> Option<Op> {
        let ops = self.ops.get_or_init(|| {
            grammar::KEYWORDS
                .iter()
                .map(|k| {
                    if self.unknown_keywords.contains(k.name) {
                        None
                    } else if self.unsupported_keywords.contains(k.name) {
                        Some(Op::Unsupported)
                    } else {
                        Some(k.op)
                    }
                })
                .collect()
        });
        ops[k.position()]
    }

    /// Does this ssh know the `Match` criterion?
    pub fn knows_criterion(&self, name: &str) -> bool {
        matches!(name, "all" | "canonical" | "final")
            || (MATCH_CRITERIA.iter().any(|(c, _)| *c == name)
                && !self.unknown_criteria.contains(name))
    }

    /// The first default value `ssh -G -F none` prints for a keyword.
    pub fn default(&self, keyword: &str) -> Option<&str> {
        self.defaults
            .iter()
            .find(|(k, _)| k == keyword)
            .map(|(_, v)| v.as_str())
    }

    /// Every default line of an accumulating keyword (`identityfile`).
    pub fn defaults_of(&self, keyword: &str) -> Vec<&str> {
        self.defaults
            .iter()
            .filter(|(k, _)| k == keyword)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Does `ssh -G` print this keyword on every run (a default exists)?
    pub fn always_printed(&self, keyword: &str) -> bool {
        self.defaults.iter().any(|(k, _)| k == keyword)
    }

    pub fn is_apple(&self) -> bool {
        self.vendor == Vendor::Apple
    }

    /// The command that loads `key` into the agent: on Apple's ssh with
    /// `--apple-use-keychain`, so the passphrase is kept in the keychain and the key comes
    /// back after a reboot (PLATFORMS.md §2.2); plain `ssh-add` elsewhere.
    pub fn ssh_add(&self, key: &str) -> String {
        if self.is_apple() {
            format!("/usr/bin/ssh-add --apple-use-keychain {key}")
        } else {
            format!("ssh-add {key}")
        }
    }

    /// Debian's `user-group-modes` patch: a file may be group-writable when the group is the
    /// user's own private group (see `fsutil`-side checks in the config reader).
    pub fn has_user_group_modes(&self) -> bool {
        matches!(self.vendor, Vendor::Debian | Vendor::Ubuntu)
    }
}

fn detect() -> Client {
    let Some(program) = find_program() else {
        tracing::debug!("openssh: no ssh program found; using the built-in profile");
        return builtin();
    };
    let key = match CacheKey::of(&program) {
        Some(k) => k,
        None => return builtin(),
    };
    if let Some(mut c) = cache_read(&key) {
        tracing::debug!("openssh: {} (cached)", c.describe());
        c.source = Source::Cached;
        return c;
    }
    match probe(&program) {
        Some(c) => {
            tracing::debug!("openssh: probed {}", c.describe());
            cache_write(&key, &c);
            c
        }
        None => {
            tracing::debug!(
                "openssh: {} did not answer the probes; using the built-in profile",
                program.display()
            );
            builtin()
        }
    }
}

/// `HEROSSH_SSH_PROGRAM`, else the first executable `ssh` on PATH.
fn find_program() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HEROSSH_SSH_PROGRAM").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return (p.is_absolute() && is_executable(&p)).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("ssh"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Run one probe command with a deadline; its stdout and stderr.
fn run(program: &Path, args: &[&str]) -> Option<(String, String)> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // No agent, no ssh_askpass: the probes read no keys and open no connection.
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("SSH_ASKPASS")
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    Some((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Ask the program everything at once (the probes run in parallel).
fn probe(program: &Path) -> Option<Client> {
    let grammar_file = tempfile::Builder::new()
        .prefix("herossh-grammar-")
        .tempfile()
        .ok()?;
    let (text, lines) = grammar_probe_config();
    std::fs::write(grammar_file.path(), text).ok()?;
    let gpath = grammar_file.path().to_string_lossy().into_owned();

    let queries = ["cipher", "mac", "kex", "key", "key-sig", "sig"];
    let (version, defaults, grammar, lists, batch, jump) = std::thread::scope(|s| {
        let v = s.spawn(|| run(program, &["-V"]));
        let d = s.spawn(|| run(program, &["-G", "-F", "none", "herossh.invalid"]));
        let b = s.spawn(|| {
            run(
                program,
                &["-G", "-F", "none", "-oBatchMode=yes", "herossh.invalid"],
            )
        });
        let g = s.spawn(|| run(program, &["-G", "-F", &gpath, "herossh.invalid"]));
        let j = s.spawn(|| {
            run(
                program,
                &[
                    "-G",
                    "-F",
                    "none",
                    "-oProxyJump=none",
                    "-oProxyCommand=herossh-probe",
                    "herossh.invalid",
                ],
            )
        });
        let q: Vec<_> = queries
            .iter()
            .map(|q| s.spawn(move || run(program, &["-Q", q])))
            .collect();
        (
            v.join().ok().flatten(),
            d.join().ok().flatten(),
            g.join().ok().flatten(),
            q.into_iter()
                .map(|h| h.join().ok().flatten())
                .collect::<Vec<_>>(),
            b.join().ok().flatten(),
            j.join().ok().flatten(),
        )
    });
    let strict_jump =
        jump.is_some_and(|(o, _)| o.lines().any(|l| l == "proxycommand herossh-probe"));
    let (vout, verr) = version?;
    let version_text = verr
        .lines()
        .chain(vout.lines())
        .find(|l| l.contains("OpenSSH"))?
        .trim()
        .to_string();
    let (major, minor) = parse_version(&version_text)?;
    let (dout, _) = defaults?;
    let defaults: Vec<(String, String)> = dout
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect();
    if !defaults.iter().any(|(k, _)| k == "hostname") {
        return None;
    }
    let interval = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("serveraliveinterval "))
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    let batchmode_keepalive = batch
        .and_then(|(o, _)| interval(&o))
        .filter(|v| Some(*v) != interval(&dout));
    let list = |i: usize| -> Vec<String> {
        lists
            .get(i)
            .cloned()
            .flatten()
            .map(|(o, _)| o.lines().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let supported = Supported {
        cipher: list(0),
        mac: list(1),
        kex: list(2),
        key: list(3),
        key_sig: list(4),
        sig: list(5),
    };
    let (_, gerr) = grammar?;
    let mut unknown_keywords = BTreeSet::new();
    let mut unsupported_keywords = BTreeSet::new();
    let mut unknown_criteria = BTreeSet::new();
    for l in gerr.lines() {
        let Some(n) = line_number(l) else { continue };
        let Some(item) = lines.get(n) else { continue };
        match item {
            ProbeLine::Keyword(k) if l.contains("Bad configuration option") => {
                unknown_keywords.insert(k.to_string());
            }
            ProbeLine::Keyword(k) if l.contains("Unsupported option") => {
                unsupported_keywords.insert(k.to_string());
            }
            ProbeLine::Criterion(c) => {
                unknown_criteria.insert(c.to_string());
            }
            _ => {}
        }
    }
    // A criterion error names no line ("Unsupported Match attribute X"), then the line fails.
    for l in gerr.lines() {
        if let Some(attr) = l.trim().strip_prefix("Unsupported Match attribute ") {
            unknown_criteria.insert(attr.trim().to_ascii_lowercase());
        }
    }
    let vendor = if !unknown_keywords.contains("usekeychain") {
        Vendor::Apple
    } else if version_text.contains("Ubuntu") {
        Vendor::Ubuntu
    } else if version_text.contains("Debian") {
        Vendor::Debian
    } else if version_text.contains("Windows") {
        Vendor::Windows
    } else {
        Vendor::Upstream
    };
    Some(Client {
        program: Some(program.to_path_buf()),
        version_text,
        major,
        minor,
        vendor,
        unknown_keywords,
        unsupported_keywords,
        unknown_criteria,
        defaults,
        supported,
        batchmode_keepalive,
        strict_jump,
        source: Source::Probed,
        ops: OnceLock::new(),
    })
}

/// What each line of the grammar probe config tests (index = line number).
enum ProbeLine {
    Other,
    Keyword(&'static str),
    Criterion(&'static str),
}

/// A config whose every line names one keyword (with a value every build accepts) inside a
/// block that never applies, then one `Match` per criterion behind a criterion that fails
/// (so `exec` never runs). ssh reports each refused line and exits; nothing else happens.
fn grammar_probe_config() -> (String, Vec<ProbeLine>) {
    let mut text = String::new();
    let mut lines = vec![ProbeLine::Other]; // line numbers start at 1
    text.push_str("Host herossh-probe-never-matches\n");
    lines.push(ProbeLine::Other);
    for k in grammar::KEYWORDS {
        if matches!(k.op, Op::Host | Op::Match | Op::Include) {
            continue;
        }
        text.push_str(&format!("{} {}\n", k.name, k.sample));
        lines.push(ProbeLine::Keyword(k.name));
    }
    for (c, _) in MATCH_CRITERIA {
        let arg = match *c {
            "exec" => "true",
            "localnetwork" => "10.0.0.0/8",
            "sessiontype" => "default",
            _ => "herossh-probe",
        };
        text.push_str(&format!(
            "Match host herossh-probe-never-matches {c} {arg}\n"
        ));
        lines.push(ProbeLine::Criterion(c));
    }
    (text, lines)
}

/// `FILE line N: ...` or `FILE: line N: ...` → N.
fn line_number(l: &str) -> Option<usize> {
    let i = l.find(" line ")?;
    let rest = &l[i + 6..];
    let end = rest.find(':')?;
    rest[..end].trim().parse().ok()
}

/// `OpenSSH_9.2p1 …` / `OpenSSH_for_Windows_9.5p1 …` → (9, 2).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let i = text.find("OpenSSH_")?;
    let rest = &text[i + 8..];
    let start = rest.find(|c: char| c.is_ascii_digit())?;
    let digits = &rest[start..];
    let mut parts = digits.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

// ---------------------------------------------------------------------------------------
// Cache

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CacheKey {
    path: PathBuf,
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    /// herossh's own version: a newer herossh may probe more.
    herossh: String,
}

/// Bumped whenever the probe learns something new about a client, so cached entries from an
/// older herossh build are probed again.
const PROBE_MODEL: u32 = 2;

impl CacheKey {
    fn of(program: &Path) -> Option<CacheKey> {
        use std::os::unix::fs::MetadataExt;
        let md = std::fs::metadata(program).ok()?;
        Some(CacheKey {
            path: program.to_path_buf(),
            dev: md.dev(),
            ino: md.ino(),
            size: md.size(),
            mtime_ns: i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec()),
            herossh: format!("{}+{PROBE_MODEL}", env!("CARGO_PKG_VERSION")),
        })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    entries: Vec<(CacheKey, Client)>,
}

fn cache_path() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::paths::home_dir().join(".cache"));
    base.join("herossh").join("openssh-client.json")
}

fn cache_read(key: &CacheKey) -> Option<Client> {
    let bytes = std::fs::read(cache_path()).ok()?;
    let file: CacheFile = serde_json::from_slice(&bytes).ok()?;
    file.entries
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, c)| c)
}

/// Best effort: a cache that cannot be written only costs the next run a probe.
fn cache_write(key: &CacheKey, client: &Client) {
    let path = cache_path();
    let mut file: CacheFile = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    file.entries.retain(|(k, _)| k.path != key.path);
    file.entries.insert(0, (key.clone(), client.clone()));
    file.entries.truncate(4);
    let Ok(json) = serde_json::to_vec(&file) else {
        return;
    };
    if let Some(dir) = path.parent()
        && crate::fsutil::ensure_dir(dir, 0o700).is_ok()
        && let Err(e) =
            crate::fsutil::atomic_write(&path, &json, crate::fsutil::Mode::Exactly(0o600))
    {
        tracing::debug!("openssh: cannot write the cache {}: {e}", path.display());
    }
}

// ---------------------------------------------------------------------------------------
// The built-in profile

/// Upstream OpenSSH 10.2p1 as `ssh -G -F none` prints it for an OpenSSL build with GSSAPI
/// (readconf.c `fill_default_options` and `dump_client_config`, myproposal.h), with the
/// host-dependent lines (user, host, hostname, userknownhostsfile) as placeholders that the
/// evaluator never uses.
const BUILTIN_DEFAULTS: &str = "host herossh.invalid
user nobody
hostname herossh.invalid
port 22
addressfamily any
batchmode no
canonicalizefallbacklocal yes
canonicalizehostname false
checkhostip no
compression no
controlmaster false
enablesshkeysign no
clearallforwardings no
exitonforwardfailure no
fingerprinthash SHA256
forwardx11 no
forwardx11trusted no
gatewayports no
gssapiauthentication no
gssapidelegatecredentials no
hashknownhosts no
hostbasedauthentication no
identitiesonly no
kbdinteractiveauthentication yes
nohostauthenticationforlocalhost no
passwordauthentication yes
permitlocalcommand no
proxyusefdpass no
pubkeyauthentication true
requesttty auto
sessiontype default
stdinnull no
forkafterauthentication no
streamlocalbindunlink no
stricthostkeychecking ask
tcpkeepalive yes
tunnel false
verifyhostkeydns false
visualhostkey no
updatehostkeys true
enableescapecommandline no
warnweakcrypto yes
canonicalizemaxdots 1
connectionattempts 1
forwardx11timeout 1200
numberofpasswordprompts 3
serveralivecountmax 3
serveraliveinterval 0
requiredrsasize 1024
obscurekeystroketiming yes
ciphers chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr
hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
hostbasedacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
kexalgorithms mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
loglevel INFO
macs umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1
securitykeyprovider internal
pubkeyacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256
xauthlocation /usr/X11R6/bin/xauth
identityfile ~/.ssh/id_rsa
identityfile ~/.ssh/id_ecdsa
identityfile ~/.ssh/id_ecdsa_sk
identityfile ~/.ssh/id_ed25519
identityfile ~/.ssh/id_ed25519_sk
canonicaldomains none
globalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2
userknownhostsfile ~/.ssh/known_hosts ~/.ssh/known_hosts2
logverbose none
channeltimeout none
permitremoteopen any
addkeystoagent false
forwardagent no
connecttimeout none
tunneldevice any:any
canonicalizePermittedcnames none
controlpersist no
escapechar ~
ipqos ef cs0
rekeylimit 0 0
streamlocalbindmask 0177
syslogfacility USER";

fn csv(s: &str) -> Vec<String> {
    s.split(',').map(str::to_string).collect()
}

pub(crate) fn builtin() -> Client {
    let defaults: Vec<(String, String)> = BUILTIN_DEFAULTS
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let unknown_keywords = grammar::KEYWORDS
        .iter()
        .filter(|k| match k.avail {
            Avail::Always => false,
            Avail::Since(a, b) => (a, b) > (10, 2),
            Avail::Debian | Avail::Apple => true,
        })
        .map(|k| k.name.to_string())
        .collect();
    let keys = "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com";
    let key_sig = "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com";
    Client {
        program: None,
        version_text: "OpenSSH_10.2p1".to_string(),
        major: 10,
        minor: 2,
        vendor: Vendor::Upstream,
        unknown_keywords,
        unsupported_keywords: BTreeSet::new(),
        unknown_criteria: BTreeSet::new(),
        defaults,
        supported: Supported {
            cipher: csv(
                "3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com",
            ),
            mac: csv(
                "hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,umac-128-etm@openssh.com",
            ),
            kex: csv(
                "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,mlkem768x25519-sha256",
            ),
            key: csv(keys),
            key_sig: csv(key_sig),
            sig: csv(
                "ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-rsa,rsa-sha2-256,rsa-sha2-512",
            ),
        },
        batchmode_keepalive: None,
        strict_jump: false,
        source: Source::Builtin,
        ops: OnceLock::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19 27 Jan 2026"),
            Some((9, 2))
        );
        assert_eq!(
            parse_version("OpenSSH_10.0p2, LibreSSL 3.3.6"),
            Some((10, 0))
        );
        assert_eq!(
            parse_version("OpenSSH_for_Windows_9.5p1, LibreSSL 3.8.2"),
            Some((9, 5))
        );
        assert_eq!(parse_version("Sun_SSH_1.1"), None);
    }

    #[test]
    fn probe_lines() {
        assert_eq!(
            line_number("/tmp/x line 12: Bad configuration option: tag"),
            Some(12)
        );
        assert_eq!(
            line_number("/tmp/x: line 12: Bad configuration option: tag"),
            Some(12)
        );
        assert_eq!(
            line_number("/tmp/x line 7: Unsupported option \"gssapikeyexchange\""),
            Some(7)
        );
    }

    #[test]
    fn builtin_profile_is_complete() {
        let c = builtin();
        assert_eq!(c.default("ipqos"), Some("ef cs0"));
        assert_eq!(c.defaults_of("identityfile").len(), 5);
        assert!(c.keyword("usekeychain").is_none());
        assert_eq!(c.keyword("tag"), Some(Op::Tag));
        assert!(c.knows_criterion("version"));
        assert_eq!(c.ssh_add("~/.ssh/k"), "ssh-add ~/.ssh/k");
        let apple = Client {
            vendor: Vendor::Apple,
            ..c
        };
        assert_eq!(
            apple.ssh_add("~/.ssh/k"),
            "/usr/bin/ssh-add --apple-use-keychain ~/.ssh/k"
        );
    }
}
