//! The command-line surface, and nothing else: clap definitions that `commands/` dispatches on
//! and that `generate-man` / `completions` render. Behaviour lives in the command modules.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Why does my SSH key not work, and how do I fix it?
///
/// herossh generates keys, manages the SSH keys on your Heroku account, resolves your Heroku
/// credentials exactly as the Heroku CLI does, evaluates and pins your ~/.ssh/config, and
/// probes any SSH server to tell you which key works and what to change when it does not.
#[derive(Debug, Parser)]
#[command(
    name = "herossh",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Exit codes: 0 success, 1 the check failed, 2 usage error, 3 network or server error, 4 authentication.",
    after_long_help = format!("{}\n\n{ENVIRONMENT_HELP}", crate::error::long_help())
)]
pub struct Cli {
    /// Print machine-readable JSON on stdout instead of the human report.
    #[arg(long, global = true)]
    pub json: bool,

    /// Debug logs on stderr (-v, -vv for more). Secrets are redacted.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Never use colour (also honoured: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Allow sending the API token over plain http:// to a host that is not loopback
    /// (HEROKU_HOST=http://...). Without it herossh refuses: anyone on the way could read it.
    #[arg(long, global = true)]
    pub insecure: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// `--help`'s (and the man page's) closing section, after the exit codes: the environment.
const ENVIRONMENT_HELP: &str = "\
Environment:
  HEROKU_API_KEY         the API token; wins over every stored login
  HEROKU_HOST            the API host, or a full http(s):// URL
                         (default api.heroku.com)
  HEROKU_GIT_HOST        the git HTTPS host (default git.<host>)
  HEROKU_NETRC_WRITE     true: keep the token in ~/.netrc, never in the
                         keychain
  HEROKU_DATA_DIR        where login.json lives (default
                         $XDG_DATA_HOME/heroku, ~/.local/share/heroku)
  NETRC                  the netrc file to use instead of ~/.netrc
  HEROSSH_KEYCHAIN       the keychain: auto (the default: the macOS
                         keychain on macOS, the Secret Service
                         elsewhere), secret-service, macos, or none
                         (~/.netrc only)
  HEROSSH_SECURITY_PROGRAM
                         the `security` program for the macOS keychain,
                         an absolute path (default /usr/bin/security;
                         never looked up on PATH)
  HEROSSH_TIMEOUT        seconds to wait for the Platform API (default
                         10 to connect, 30 per request)
  HEROSSH_SSH_PROGRAM    the ssh whose behaviour herossh predicts, an
                         absolute path (default: the first ssh on PATH)
  NO_COLOR               never use colour";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an SSH key pair (RSA, DSA, Ed25519, ECDSA) in OpenSSH format.
    #[command(
        after_long_help = "With --json: {path, public_path, type, bits, fingerprint_sha256, fingerprint_md5, comment, encrypted, uploaded, pinned, error: {code, message, exit} | null (--upload or --pin failed after the key was saved)}."
    )]
    Keygen(KeygenArgs),

    /// List the SSH keys on your Heroku account, or add/remove/clear them.
    ///
    /// The Heroku CLI spellings keys:list, keys:add, keys:remove and keys:clear work too.
    #[command(
        after_long_help = "With --json: list prints the API key objects [{id, comment, email, fingerprint (MD5), public_key, created_at, updated_at, fingerprint_sha256}]; add prints {added, already_present}; remove and clear print {removed: [key], failed: [{key, error}]}."
    )]
    Keys(KeysArgs),

    /// Alias of `keys list` (Heroku CLI spelling).
    #[command(name = "keys:list", hide = true)]
    KeysList(KeysListArgs),
    /// Alias of `keys add` (Heroku CLI spelling).
    #[command(name = "keys:add", hide = true)]
    KeysAdd(KeysAddArgs),
    /// Alias of `keys remove` (Heroku CLI spelling).
    #[command(name = "keys:remove", hide = true)]
    KeysRemove(KeysRemoveArgs),
    /// Alias of `keys clear` (Heroku CLI spelling).
    #[command(name = "keys:clear", hide = true)]
    KeysClear(KeysClearArgs),

    /// Show, check, store or remove your Heroku API credentials.
    ///
    /// The Heroku CLI spellings auth:whoami, auth:token, auth:login and auth:logout work too.
    #[command(
        after_long_help = "With --json, status prints {source: \"env\"|\"netrc\"|\"keychain\"|null, account, api_host, keychain: \"available\"|\"unavailable: <why>\", login_json_account, netrc, stored, verified, warnings: [..], error: {code, message, exit} | null}. status exits 0 when the token works, 4 when there is none or the Platform API rejects it (401, 403), 3 when it could not be checked, 2 when HEROSSH_TIMEOUT or HEROKU_HOST is unusable.\n\nThe keychain is the macOS keychain on macOS and the Secret Service elsewhere; HEROSSH_KEYCHAIN=auto|secret-service|macos|none chooses another, HEROSSH_SECURITY_PROGRAM the macOS `security` program (see `herossh --help`)."
    )]
    Auth(AuthArgs),

    /// Alias of `auth whoami` (Heroku CLI spelling).
    #[command(name = "auth:whoami", hide = true)]
    AuthWhoami,
    /// Alias of `auth token` (Heroku CLI spelling).
    #[command(name = "auth:token", hide = true)]
    AuthToken,
    /// Alias of `auth login` (Heroku CLI spelling).
    #[command(name = "auth:login", hide = true)]
    AuthLogin(LoginArgs),
    /// Alias of `auth logout` (Heroku CLI spelling).
    #[command(name = "auth:logout", hide = true)]
    AuthLogout,

    /// Git credential helper for Heroku's git HTTPS host (git's helper protocol).
    #[command(
        after_long_help = "With --json: install and uninstall print {key, value, changed}; get, store and erase speak git's protocol and ignore --json."
    )]
    GitCredential(GitCredentialArgs),

    /// Probe SSH authentication to a host and explain what to fix.
    #[command(
        after_long_help = "herossh predicts the installed ssh (`HEROSSH_SSH_PROGRAM`, else the first ssh on PATH): its config reading, its route (ProxyJump hops, ProxyCommand with --allow-exec), its algorithm lists and negotiation, the host key it checks, the keys it offers in its order and the signatures it makes, the server's MaxAuthTries; it also asks the server about keys ssh would not offer (at most --max-extra), to say which one to pin. Where the probe cannot speak an algorithm ssh negotiates with the server (hmac-md5, umac, ...), herossh runs the installed `ssh -v -N -o BatchMode=yes` for the same destination (no command, no forwarding; not when that would run a ProxyCommand or Match exec without --allow-exec) and reports its answer (finding probe-cannot-negotiate; ssh-fails when it is denied).\n\nWith --json: {target, authenticated (ssh logs in, as you run it), outcome: {outcome: logged-in|fails|unknown, ...}, interactive, client, control_master (the running master connection's socket ssh goes through, or null), attempts: {connections, failed_logins}, negotiation: {kex, host_key, cipher, mac} | {failed, their_offer} | null, server: {version, kex, cipher, host_key: {type, fingerprint, known, status, certificate_authority (the @cert-authority file:line that vouched for its host certificate), certificate_refused (why ssh set the host certificate aside)}, methods} | null, keys: [{path, type, fingerprint, source, in_agent, agent_comment, offered_order, skipped_reason, accepted}], route: {via: {kind: direct|proxy-jump|proxy-command, ..}, jump, steps: [{type: \"jump\", host, jump, report: {this document, for the jump host}, forward: {host, port, error, prohibited}} | {type: \"proxy-command\", host, command, runs, status, stderr, spawn_error}], failure} | null, findings: [{code, message, fix}]}. A fix is a command that runs as printed, or starts with `manual:`.\n\nExit 0 only when ssh, run as you run it (a terminal may answer a host-key or passphrase prompt; --batch or no terminal: it may not), logs in and no finding is an error; 1 when it would not (denied, config refused, negotiation, host key changed, a jump host refuses); 3 when the host or a jump host cannot be reached."
    )]
    Validate(ValidateArgs),

    /// Evaluate ~/.ssh/config the way ssh does.
    Config(ConfigArgs),

    /// Pin a key or set any keyword for a host in ~/.ssh/config, or fix a config ssh refuses,
    /// changing nothing else.
    ///
    /// Without --set, pins IdentityFile (first) and IdentitiesOnly yes for --host. --set
    /// 'KEYWORD VALUE' (repeatable) makes any keyword resolve to VALUE for --host, written as
    /// given. The edit is the smallest that makes the value win (ssh keeps the first value it
    /// reads): the host's own block, in the file or Include'd file where it lives, else a new
    /// stanza before the first block that would otherwise win. --ignore-unknown and
    /// --remove-bom fix a config ssh refuses to read. Every edit is verified before it is
    /// written, under a lock, atomically, with a backup in ~/.ssh/.herossh-backups/ (the
    /// newest 10 per file are kept); a second run changes nothing and says so.
    #[command(
        after_long_help = "With --json, a host edit prints {host, identity, set: [..], file, changed, already, already_pinned (with a key), dry_run, action, diff, backup, also_changed: [keys ssh -G prints differently as a consequence]}; --ignore-unknown and --remove-bom print {fix, file, keywords (ignore-unknown), changed, already, dry_run, action (when already), edits: [{file, action, diff, backup}]}."
    )]
    FixConfig(FixConfigArgs),

    /// Check this machine and every SSH host you use, all at once, and fix what can be fixed.
    #[command(
        after_long_help = "With --json: {ok, errors, warnings, local: [{section, code, severity, message, fix}], hosts: [validate report + {label, verdict, sources, user, key, connections, auth_attempts, elapsed_ms}], notes: [..], stats: {hosts, connections, auth_attempts, elapsed_ms, jobs, timeout, deadline, deadline_passed}}; with --fix also fixes: [{command, argv, finding, host, result, error}], manual: [{host, finding, fix, why}], changes: [{target, before, after}]. --json-lines prints each host's object on one line as it finishes. Verdicts: ok, denied, host-key-changed, host-key-revoked, unresolved, refused, timeout, handshake-failed, config-error, probe-failed, not-checked. Exit 1 when any finding is an error."
    )]
    Doctor(DoctorArgs),

    /// Print a shell completion script.
    #[command(after_long_help = "With --json: {shell, script}.")]
    Completions(CompletionsArgs),

    /// Write the man pages (maintainers: keeps man/ in step with this file).
    #[command(hide = true)]
    GenerateMan(GenerateManArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyType {
    Rsa,
    Dsa,
    Ed25519,
    Ecdsa,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FingerprintHash {
    #[default]
    Sha256,
    Md5,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Key type.
    #[arg(short = 't', long = "type", value_enum, default_value_t = KeyType::Rsa)]
    pub key_type: KeyType,

    /// Key size in bits: RSA 2048-16384 (default 3072), DSA 1024, ECDSA 256, 384 or 521.
    #[arg(short = 'b', long)]
    pub bits: Option<u32>,

    /// Where to write the private key (the public key goes to FILE.pub).
    /// Default: ~/.ssh/id_<type>, asked for on a terminal.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Comment stored in the key (default: user@hostname).
    #[arg(short = 'C', long)]
    pub comment: Option<String>,

    /// Passphrase (ssh-keygen compatible; prefer the prompt or --passphrase-stdin, since
    /// argv is visible to other local users). -N '' means no passphrase.
    #[arg(short = 'N', long = "new-passphrase", value_name = "PASSPHRASE",
          conflicts_with_all = ["no_passphrase", "passphrase_stdin"])]
    pub passphrase: Option<String>,

    /// Read the passphrase from the first line of standard input.
    #[arg(long, conflicts_with = "no_passphrase")]
    pub passphrase_stdin: bool,

    /// Write the private key unencrypted without asking.
    #[arg(long)]
    pub no_passphrase: bool,

    /// Fingerprint hash to print.
    #[arg(short = 'E', long = "hash", value_enum, default_value_t = FingerprintHash::Sha256)]
    pub hash: FingerprintHash,

    /// Overwrite an existing key file without asking.
    #[arg(long)]
    pub force: bool,

    /// Add the new public key to your Heroku account.
    #[arg(long)]
    pub upload: bool,

    /// Pin the new key for HOST in ~/.ssh/config (like `fix-config --host HOST -i FILE`);
    /// HOST is checked before the key is generated.
    #[arg(long, value_name = "HOST")]
    pub pin: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub action: Option<KeysAction>,

    /// Show the full public keys (when no action is given).
    #[arg(short, long)]
    pub long: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// List the SSH keys on your account.
    List(KeysListArgs),
    /// Add a public key to your account (finds one in ~/.ssh when FILE is omitted).
    Add(KeysAddArgs),
    /// Remove a key by comment, fingerprint (SHA256 or MD5), id, or a unique part of the key.
    Remove(KeysRemoveArgs),
    /// Remove every key from your account.
    Clear(KeysClearArgs),
}

#[derive(Debug, Args)]
pub struct KeysListArgs {
    /// Show the full public keys.
    #[arg(short, long)]
    pub long: bool,
}

#[derive(Debug, Args)]
pub struct KeysAddArgs {
    /// The public key file (default: discovered in ~/.ssh).
    pub file: Option<PathBuf>,
    /// Answer yes to every question.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct KeysRemoveArgs {
    /// Comment, SHA256:... or MD5 fingerprint, key id, or a unique substring of the public key.
    pub key: String,
    /// Remove every key sharing that comment without asking.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct KeysClearArgs {
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct AuthArgs {
    #[command(subcommand)]
    pub action: AuthAction,
}

#[derive(Debug, Subcommand)]
pub enum AuthAction {
    /// Which credential tier supplied the token, for which account, stored where.
    Status,
    /// Print the email of the account the token belongs to.
    Whoami,
    /// Print the resolved API token (the only command that prints it).
    Token,
    /// Verify a token and store it where the Heroku CLI would.
    Login(LoginArgs),
    /// Remove what login stored.
    Logout,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read the token from the first line of standard input.
    #[arg(long, conflicts_with = "token")]
    pub token_stdin: bool,
    /// The token (visible to other local users in the process list: prefer --token-stdin).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct GitCredentialArgs {
    /// get, store, erase (git's protocol, on stdin), or install / uninstall (global git config).
    /// Other operations are ignored, as git's helper protocol asks.
    #[arg(value_name = "OPERATION")]
    pub operation: String,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// [USER@]HOST[:PORT] to probe.
    #[arg(default_value = "git@heroku.com", value_name = "[USER@]HOST[:PORT]")]
    pub target: String,

    /// Identity file to try (repeatable); replaces the config's IdentityFile list.
    #[arg(short = 'i', long = "identity", value_name = "IDENTITY")]
    pub identities: Vec<PathBuf>,

    /// ssh_config file to evaluate instead of ~/.ssh/config and /etc/ssh/ssh_config.
    #[arg(short = 'F', long = "config", value_name = "CONFIG")]
    pub config: Option<PathBuf>,

    /// Print the key plan only (which keys ssh would offer, in order); no network.
    #[arg(long)]
    pub plan: bool,

    /// Add an unknown host key to known_hosts.
    #[arg(long)]
    pub accept_new: bool,

    /// Read a passphrase for an encrypted key from stdin, to prove it with a real signature.
    #[arg(long)]
    pub passphrase_stdin: bool,

    /// Connection timeout in seconds.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,

    /// Predict `ssh -o BatchMode=yes` (scripts, cron, CI, git in an IDE): no host-key or
    /// passphrase prompts. Default: as ssh runs here, prompting only when stdin is a terminal.
    #[arg(long)]
    pub batch: bool,

    /// At most N queries about keys ssh would not offer (each rejected one is a failed login
    /// in the server's log, and failed-login bans count them).
    #[arg(long, default_value_t = crate::probe::report::DEFAULT_MAX_EXTRA, value_name = "N")]
    pub max_extra: usize,

    /// Run the commands the configuration names, as ssh would: `ProxyCommand` (to follow the
    /// route through it) and `Match exec`. Without it, a route through a ProxyCommand is not
    /// followed (finding route-not-followed) and `Match exec` does not match.
    #[arg(long)]
    pub allow_exec: bool,

    /// Jump hosts, as `ssh -J`: `[USER@]HOST[:PORT]`, comma-separated, in the order they are
    /// connected; replaces the configuration's ProxyJump and ProxyCommand for the target.
    #[arg(short = 'J', long = "jump", value_name = "JUMP")]
    pub jump: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration for HOST, like `ssh -G HOST`.
    #[command(
        after_long_help = "With --json: {host, options: {keyword: value}, origins: [{keyword, value, file, line}] (file and line null for defaults), pending_exec: [..]}."
    )]
    Resolve(ResolveArgs),
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The host as you would type it after `ssh`.
    pub host: String,
    /// Configuration file (default: ~/.ssh/config then /etc/ssh/ssh_config).
    #[arg(short = 'F', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Login user, as `ssh -l`.
    #[arg(short = 'l', long = "login", value_name = "USER")]
    pub user: Option<String>,
    /// Port, as `ssh -p`.
    #[arg(short = 'p', long)]
    pub port: Option<u16>,
    /// Show the file:line each value came from.
    #[arg(long)]
    pub explain: bool,
    /// Run `Match exec` commands (otherwise the result says it depends on them).
    #[arg(long)]
    pub allow_exec: bool,
}

#[derive(Debug, Args)]
pub struct FixConfigArgs {
    /// The host to edit, as you would type it after `ssh` (`user@host` edits `host`; a port is
    /// not a host: use --set 'Port N').
    #[arg(long, default_value = "heroku.com", value_name = "HOST")]
    pub host: String,
    /// The identity to pin: a private key, or a .pub (or certificate) whose key the agent
    /// holds. Default without --set: the key on your account, else the only key pair.
    #[arg(short = 'i', long = "identity", value_name = "IDENTITY")]
    pub identity: Option<PathBuf>,
    /// Make KEYWORD resolve to VALUE for the host (repeatable), e.g. --set 'User git',
    /// --set 'PubkeyAcceptedAlgorithms +ssh-rsa'. Pins no key unless -i is given too.
    #[arg(long = "set", value_name = "'KEYWORD VALUE'")]
    pub set: Vec<String>,
    /// Configuration file to edit (default: ~/.ssh/config). Its directory must exist.
    #[arg(short = 'F', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// HostName to set when a new stanza is written for a pin (default: the host).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Print the unified diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Edit the file even when it is read-only (its mode is kept).
    #[arg(long)]
    pub force: bool,
    /// Make ssh ignore KEYWORD, a keyword it does not know (e.g. Apple's UseKeychain on any
    /// other ssh), with an IgnoreUnknown that takes effect before every use (repeatable).
    #[arg(long, value_name = "KEYWORD",
          conflicts_with_all = ["host", "identity", "set", "hostname", "remove_bom"])]
    pub ignore_unknown: Vec<String>,
    /// Rewrite the config and every file it includes without a byte-order mark (UTF-16 is
    /// converted to UTF-8).
    #[arg(long, conflicts_with_all = ["host", "identity", "set", "hostname"])]
    pub remove_bom: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Hosts to check ([USER@]HOST[:PORT] or ssh://...), instead of the ones doctor finds:
    /// every concrete Host alias in your ssh config, the SSH hosts of the current
    /// repository's remotes, and git@heroku.com when you use Heroku.
    #[arg(value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Read the hosts to check from FILE, one [USER@]HOST[:PORT] per line (# comments and
    /// blank lines skipped); `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub hosts_from: Option<PathBuf>,
    /// Skip the network probes (local checks only).
    #[arg(long)]
    pub offline: bool,
    /// ssh_config file to evaluate instead of ~/.ssh/config.
    #[arg(short = 'F', long = "config", value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// Connection timeout in seconds for each probed host.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub timeout: u64,
    /// How many hosts to probe at the same time.
    #[arg(short = 'j', long, default_value_t = 16, value_name = "N")]
    pub jobs: usize,
    /// Stop the whole run after this many seconds; hosts not checked by then are reported as
    /// such. Default: 60, or twice the time the hosts would take if each timed out once
    /// (2 x timeout x hosts / jobs, with at most 4 probes at a time to one server), whichever
    /// is longer.
    #[arg(long, value_name = "SECONDS")]
    pub deadline: Option<u64>,
    /// Print one JSON validate report per host as each finishes (one line each), for
    /// pipelines. The local checks are in --json's document only.
    #[arg(long, conflicts_with_all = ["fix", "offline"])]
    pub json_lines: bool,
    /// Apply the fixes of errors and warnings that are herossh commands or safe local
    /// commands (chmod of your own files, fix-config, ssh-add, adding an unknown host key,
    /// git remote set-url), one at a time with a confirmation; then check again and show
    /// before -> after. Without a terminal and without -y it only lists them.
    #[arg(long, conflicts_with = "offline")]
    pub fix: bool,
    /// With --fix: apply every fix without asking.
    #[arg(short = 'y', long, requires = "fix")]
    pub yes: bool,
    /// Predict `ssh -o BatchMode=yes` (scripts, cron, CI, git in an IDE): no host-key or
    /// passphrase prompts. Default: as ssh runs here, prompting only when stdin is a terminal.
    #[arg(long)]
    pub batch: bool,
    /// Run the commands the configuration names, as ssh would: `ProxyCommand` (to follow the
    /// route through it) and `Match exec`. Without it, a route through a ProxyCommand is not
    /// followed (finding route-not-followed) and `Match exec` does not match.
    #[arg(long)]
    pub allow_exec: bool,
    /// Per host, at most N queries about keys ssh would not offer (each rejected one is a
    /// failed login in the server's log, and failed-login bans count them).
    #[arg(long, default_value_t = crate::probe::report::DEFAULT_MAX_EXTRA, value_name = "N")]
    pub max_extra: usize,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct GenerateManArgs {
    /// Directory to write herossh.1 and one page per subcommand into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}
