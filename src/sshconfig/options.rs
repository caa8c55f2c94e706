//! One directive at a time, the way `readconf.c` `process_config_line_depth` reads it: the
//! option store (`Options`, OpenSSH's struct of "unset" values filled first-value-wins), the
//! value syntax of every keyword with ssh's own error messages, and the quirks that decide
//! what `ssh -G` prints (`SyslogFacility` and `StreamLocalBindMask` ignore `Host` blocks,
//! `SendEnv` accumulates and `-PATTERN` removes, list keywords keep their first whole line,
//! `ProxyJump` and `ProxyCommand` exclude each other, ...).
//!
//! The driver (`eval`) decides which block is active and handles `Host`, `Match` and
//! `Include`; this module owns the meaning of every other keyword.

use std::path::Path;

use super::eval::Origin;
use super::pattern;
use super::tokens;
use crate::openssh::algorithms::{self, ListKind};
use crate::openssh::client::Client;
use crate::openssh::grammar::Op;

/// A value and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At<T> {
    pub v: T,
    pub origin: Origin,
}

pub type Slot<T> = Option<At<T>>;

/// A `LocalForward`/`RemoteForward`/`DynamicForward` after OpenSSH's `parse_forward`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub listen_host: Option<String>,
    pub listen_port: i32,
    pub listen_path: Option<String>,
    pub connect_host: Option<String>,
    pub connect_port: i32,
    pub connect_path: Option<String>,
}

/// `PORT_STREAMLOCAL`.
pub const STREAMLOCAL: i32 = -2;

/// ProxyJump as parsed: the hop connected to first, and the rest ("extra").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    pub extra: Option<String>,
    pub user: Option<String>,
    pub host: String,
    pub port: i32,
}

impl Jump {
    /// `ProxyJump none` (port 0 marks it, as in readconf.c), not a hop that happens to be
    /// named "none" (`none # comment` is one).
    pub fn is_none(&self) -> bool {
        self.host == "none" && self.port == 0 && self.user.is_none()
    }
}

/// The options read so far. `None` is OpenSSH's "unset" (-1 / NULL): the first active line
/// that sets a value wins.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Flags and multistate options, by op: the value as OpenSSH stores it.
    pub ints: std::collections::BTreeMap<Op, At<i64>>,
    /// String options, by op.
    pub strings: std::collections::BTreeMap<Op, At<String>>,
    pub forward_agent_sock: Slot<String>,
    pub add_keys_lifespan: i64,
    pub control_persist_timeout: i64,
    pub rekey_limit: Slot<i64>,
    pub rekey_interval: Slot<i64>,
    pub tun_local: Slot<i64>,
    pub tun_remote: i64,
    pub ipqos: Slot<(i64, i64)>,
    pub stream_local_bind_mask: Slot<i64>,
    pub identity_files: Vec<At<(String, bool)>>,
    pub certificate_files: Vec<At<(String, bool)>>,
    pub local_forwards: Vec<At<Forward>>,
    pub remote_forwards: Vec<At<Forward>>,
    pub send_env: Vec<At<String>>,
    pub set_env: Vec<At<String>>,
    pub system_hostfiles: Vec<At<String>>,
    pub user_hostfiles: Vec<At<String>>,
    pub canonical_domains: Vec<At<String>>,
    pub permitted_cnames: Vec<At<(String, String)>>,
    pub log_verbose: Vec<At<String>>,
    pub permitted_remote_opens: Vec<At<String>>,
    pub channel_timeouts: Vec<At<String>>,
    pub revoked_host_keys: Vec<At<String>>,
    pub jump: Slot<Jump>,
    /// ProxyCommand was set from a ProxyJump ("none"): it blocks later ProxyCommand lines.
    pub proxy_command_from_jump: bool,
    /// Later lines that applied to the host but lost to an earlier value (first value wins),
    /// for the settings where that surprises people (User, Port, HostName, IdentitiesOnly,
    /// IdentityAgent, ProxyJump, ProxyCommand).
    pub shadowed: Vec<Shadowed>,
}

/// A value ssh ignores because an earlier line set the keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadowed {
    pub keyword: &'static str,
    pub winner: At<String>,
    pub ignored: At<String>,
}

/// The settings whose shadowing is worth a finding.
fn watched(op: Op) -> Option<&'static str> {
    Some(match op {
        Op::User => "User",
        Op::Port => "Port",
        Op::Hostname => "HostName",
        Op::IdentitiesOnly => "IdentitiesOnly",
        Op::IdentityAgent => "IdentityAgent",
        Op::ProxyCommand => "ProxyCommand",
        _ => return None,
    })
}

/// The line being read.
pub struct Line<'a> {
    pub file: &'a Path,
    pub lineno: usize,
    /// The keyword as lower-cased by ssh.
    pub keyword: &'a str,
    /// The text after the keyword and its separator (for the command keywords).
    pub rest: &'a str,
    /// The arguments after argv_split.
    pub args: super::syntax::Args<'a>,
    /// Read from a user config (`~` allowed in Include, identity files marked user-provided).
    pub user_conf: bool,
}

/// Why a line failed: a bad option (counted; ssh reads on and stops at the end of the file
/// with "terminating, N bad configuration options") or a `fatal()` that stops at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    Bad(String),
    Fatal(String),
}

impl LineError {
    pub fn message(&self) -> &str {
        match self {
            LineError::Bad(m) | LineError::Fatal(m) => m,
        }
    }
}

impl Line<'_> {
    fn err(&self, msg: impl std::fmt::Display) -> LineError {
        LineError::Bad(format!(
            "{} line {}: {msg}",
            self.file.display(),
            self.lineno
        ))
    }
    fn fatal(&self, msg: impl std::fmt::Display) -> LineError {
        LineError::Fatal(format!(
            "{} line {}: {msg}",
            self.file.display(),
            self.lineno
        ))
    }
    fn origin(&self) -> Origin {
        Origin {
            file: self.file.to_path_buf(),
            line: self.lineno,
        }
    }
}

/// Keywords whose value is the rest of the line after the keyword, verbatim (a `#` included):
/// readconf.c takes the commands and ProxyJump from the line itself, not from its arguments.
/// An editor replacing such a value must replace all of it.
pub fn value_is_rest_of_line(op: Op) -> bool {
    matches!(
        op,
        Op::KnownHostsCommand
            | Op::LocalCommand
            | Op::RemoteCommand
            | Op::ProxyCommand
            | Op::ProxyJump
    )
}

/// The outcome of a line that parsed: nothing more to say, or a non-fatal message ssh prints
/// (e.g. "Unsupported option").
pub type Outcome = Result<Option<String>, LineError>;

// Multistate tables: (accepted word, stored value); ssh prints the first word of a value.
pub const FLAG: &[(&str, i64)] = &[("true", 1), ("false", 0), ("yes", 1), ("no", 0)];
pub const YESNOASK: &[(&str, i64)] =
    &[("true", 1), ("false", 0), ("yes", 1), ("no", 0), ("ask", 2)];
pub const STRICT_HOSTKEY: &[(&str, i64)] = &[
    ("true", 2),
    ("false", 0),
    ("yes", 2),
    ("no", 0),
    ("ask", 3),
    ("off", 0),
    ("accept-new", 1),
];
pub const YESNOASKCONFIRM: &[(&str, i64)] = &[
    ("true", 1),
    ("false", 0),
    ("yes", 1),
    ("no", 0),
    ("ask", 2),
    ("confirm", 3),
];
pub const ADDRESS_FAMILY: &[(&str, i64)] = &[("inet", 2), ("inet6", 10), ("any", 0)];
pub const CONTROL_MASTER: &[(&str, i64)] = &[
    ("true", 1),
    ("yes", 1),
    ("false", 0),
    ("no", 0),
    ("auto", 2),
    ("ask", 3),
    ("autoask", 4),
];
pub const TUNNEL: &[(&str, i64)] = &[
    ("ethernet", 2),
    ("point-to-point", 1),
    ("true", 1),
    ("yes", 1),
    ("false", 0),
    ("no", 0),
];
pub const REQUEST_TTY: &[(&str, i64)] = &[
    ("true", 1),
    ("yes", 1),
    ("false", 0),
    ("no", 0),
    ("force", 3),
    ("auto", 2),
];
pub const SESSION_TYPE: &[(&str, i64)] = &[("none", 0), ("subsystem", 1), ("default", 2)];
pub const CANONICALIZE: &[(&str, i64)] = &[
    ("true", 1),
    ("false", 0),
    ("yes", 1),
    ("no", 0),
    ("always", 2),
];
pub const PUBKEY_AUTH: &[(&str, i64)] = &[
    ("true", 3),
    ("false", 0),
    ("yes", 3),
    ("no", 0),
    ("unbound", 1),
    ("host-bound", 2),
];
pub const COMPRESSION: &[(&str, i64)] = &[("yes", 1), ("no", 0)];
pub const WARN_WEAK_CRYPTO: &[(&str, i64)] = &[
    ("true", 1),
    ("false", 0),
    ("yes", 1),
    ("no", 0),
    ("no-pq-kex", 0),
];

/// The table an int-valued op is parsed with (None: not a multistate op).
pub fn table(op: Op) -> Option<&'static [(&'static str, i64)]> {
    Some(match op {
        Op::VerifyHostKeyDns | Op::UpdateHostKeys => YESNOASK,
        Op::StrictHostKeyChecking => STRICT_HOSTKEY,
        Op::AddKeysToAgent => YESNOASKCONFIRM,
        Op::AddressFamily => ADDRESS_FAMILY,
        Op::ControlMaster => CONTROL_MASTER,
        Op::Tunnel => TUNNEL,
        Op::RequestTty => REQUEST_TTY,
        Op::SessionType => SESSION_TYPE,
        Op::CanonicalizeHostname => CANONICALIZE,
        Op::PubkeyAuthentication => PUBKEY_AUTH,
        Op::Compression => COMPRESSION,
        Op::WarnWeakCrypto => WARN_WEAK_CRYPTO,
        Op::ForwardX11
        | Op::ForwardX11Trusted
        | Op::GatewayPorts
        | Op::ExitOnForwardFailure
        | Op::PasswordAuthentication
        | Op::KbdInteractiveAuthentication
        | Op::HostbasedAuthentication
        | Op::GssAuthentication
        | Op::GssKeyEx
        | Op::GssDelegateCreds
        | Op::GssTrustDns
        | Op::GssRenewalRekey
        | Op::BatchMode
        | Op::CheckHostIp
        | Op::TcpKeepAlive
        | Op::NoHostAuthenticationForLocalhost
        | Op::ClearAllForwardings
        | Op::EnableSshKeysign
        | Op::IdentitiesOnly
        | Op::HashKnownHosts
        | Op::PermitLocalCommand
        | Op::VisualHostKey
        | Op::StdinNull
        | Op::ForkAfterAuthentication
        | Op::ProxyUseFdpass
        | Op::CanonicalizeFallbackLocal
        | Op::StreamLocalBindUnlink
        | Op::EnableEscapeCommandline
        | Op::UseKeychain
        | Op::AppleMultipath
        | Op::NoHostAuthenticationForProxyCommand
        | Op::ForwardAgent => FLAG,
        _ => return None,
    })
}

/// How `ssh -G` prints a stored multistate value (`fmt_intarg`).
pub fn format_int(op: Op, v: i64) -> String {
    match op {
        Op::AddressFamily
        | Op::VerifyHostKeyDns
        | Op::UpdateHostKeys
        | Op::StrictHostKeyChecking
        | Op::ControlMaster
        | Op::Tunnel
        | Op::RequestTty
        | Op::SessionType
        | Op::CanonicalizeHostname
        | Op::AddKeysToAgent
        | Op::PubkeyAuthentication => {
            let t = table(op).unwrap_or(FLAG);
            t.iter()
                .find(|(_, x)| *x == v)
                .map(|(k, _)| k.to_string())
                .unwrap_or_else(|| "UNKNOWN".into())
        }
        Op::FingerprintHash => DIGESTS
            .iter()
            .find(|(_, x)| *x == v)
            .map(|(k, _)| k.to_string())
            .unwrap_or_else(|| "UNKNOWN".into()),
        _ => match v {
            0 => "no".into(),
            1 => "yes".into(),
            _ => "UNKNOWN".into(),
        },
    }
}

/// `ssh_digest_alg_by_name` names.
pub const DIGESTS: &[(&str, i64)] = &[
    ("MD5", 0),
    ("SHA1", 1),
    ("SHA256", 2),
    ("SHA384", 3),
    ("SHA512", 4),
];

pub const LOG_LEVELS: &[(&str, i64)] = &[
    ("QUIET", 0),
    ("FATAL", 1),
    ("ERROR", 2),
    ("INFO", 3),
    ("VERBOSE", 4),
    ("DEBUG", 5),
    ("DEBUG1", 5),
    ("DEBUG2", 6),
    ("DEBUG3", 7),
];

pub const LOG_FACILITIES: &[&str] = &[
    "DAEMON", "USER", "AUTH", "AUTHPRIV", "LOCAL0", "LOCAL1", "LOCAL2", "LOCAL3", "LOCAL4",
    "LOCAL5", "LOCAL6", "LOCAL7",
];

/// misc.c `ipqos[]`, in table order (the first name of a value is the one printed).
pub const IPQOS: &[(&str, i64)] = &[
    ("none", i32::MAX as i64),
    ("af11", 0x28),
    ("af12", 0x30),
    ("af13", 0x38),
    ("af21", 0x48),
    ("af22", 0x50),
    ("af23", 0x58),
    ("af31", 0x68),
    ("af32", 0x70),
    ("af33", 0x78),
    ("af41", 0x88),
    ("af42", 0x90),
    ("af43", 0x98),
    ("cs0", 0x00),
    ("cs1", 0x20),
    ("cs2", 0x40),
    ("cs3", 0x60),
    ("cs4", 0x80),
    ("cs5", 0xa0),
    ("cs6", 0xc0),
    ("cs7", 0xe0),
    ("ef", 0xb8),
    ("le", 0x04),
    ("lowdelay", 0x10),
    ("throughput", 0x08),
    ("reliability", 0x04),
];

pub fn iptos_name(v: i64) -> String {
    IPQOS
        .iter()
        .find(|(_, x)| *x == v)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("0x{v:02x}"))
}

/// `SSH_TUNID_ANY`.
pub const TUNID_ANY: i64 = 0x7fff_ffff;
const TUNID_ERR: i64 = TUNID_ANY - 1;
const TUNID_MAX: i64 = TUNID_ANY - 2;
/// `SSH_ESCAPECHAR_NONE`.
pub const ESCAPE_NONE: i64 = -2;

impl Options {
    fn set_int(&mut self, op: Op, v: i64, active: bool, line: &Line) {
        if active
            && let Some(keyword) = watched(op)
            && let Some(w) = self.ints.get(&op)
            && w.v != v
        {
            let table = table(op);
            let show = |x: i64| match table {
                Some(_) => format_int(op, x),
                None => x.to_string(),
            };
            self.shadowed.push(Shadowed {
                keyword,
                winner: At {
                    v: show(w.v),
                    origin: w.origin.clone(),
                },
                ignored: At {
                    v: show(v),
                    origin: line.origin(),
                },
            });
        }
        if active && !self.ints.contains_key(&op) {
            self.ints.insert(
                op,
                At {
                    v,
                    origin: line.origin(),
                },
            );
        }
    }

    fn set_string(&mut self, op: Op, v: &str, active: bool, line: &Line) {
        if active
            && let Some(keyword) = watched(op)
            && let Some(w) = self.strings.get(&op)
            && w.v != v
        {
            self.shadowed.push(Shadowed {
                keyword,
                winner: w.clone(),
                ignored: At {
                    v: v.to_string(),
                    origin: line.origin(),
                },
            });
        }
        if active && !self.strings.contains_key(&op) {
            self.strings.insert(
                op,
                At {
                    v: v.to_string(),
                    origin: line.origin(),
                },
            );
        }
    }

    /// The line whose value of `op` ssh uses — for a keyword that accumulates, the line of
    /// its first value — whether or not `ssh -G` prints it (`ProxyCommand none`, Apple's
    /// `UseKeychain`). None: no line set it.
    pub fn origin(&self, op: Op) -> Option<&Origin> {
        fn first<T>(l: &[At<T>]) -> Option<&Origin> {
            l.first().map(|a| &a.origin)
        }
        match op {
            Op::IdentityFile => first(&self.identity_files),
            Op::CertificateFile => first(&self.certificate_files),
            Op::LocalForward | Op::DynamicForward => self
                .local_forwards
                .iter()
                .find(|f| f.v.dynamic() == (op == Op::DynamicForward))
                .map(|a| &a.origin),
            Op::RemoteForward => first(&self.remote_forwards),
            Op::SendEnv => first(&self.send_env),
            Op::SetEnv => first(&self.set_env),
            Op::GlobalKnownHostsFile => first(&self.system_hostfiles),
            Op::UserKnownHostsFile => first(&self.user_hostfiles),
            Op::CanonicalDomains => first(&self.canonical_domains),
            Op::CanonicalizePermittedCnames => first(&self.permitted_cnames),
            Op::LogVerbose => first(&self.log_verbose),
            Op::PermitRemoteOpen => first(&self.permitted_remote_opens),
            Op::ChannelTimeout => first(&self.channel_timeouts),
            Op::RevokedHostKeys if !self.revoked_host_keys.is_empty() => {
                first(&self.revoked_host_keys)
            }
            Op::ProxyJump => self.jump.as_ref().map(|a| &a.origin),
            Op::RekeyLimit => self
                .rekey_limit
                .as_ref()
                .or(self.rekey_interval.as_ref())
                .map(|a| &a.origin),
            Op::IpQos => self.ipqos.as_ref().map(|a| &a.origin),
            Op::TunnelDevice => self.tun_local.as_ref().map(|a| &a.origin),
            Op::StreamLocalBindMask => self.stream_local_bind_mask.as_ref().map(|a| &a.origin),
            _ => self
                .ints
                .get(&op)
                .map(|a| &a.origin)
                .or_else(|| self.strings.get(&op).map(|a| &a.origin)),
        }
    }

    pub fn int(&self, op: Op) -> Option<i64> {
        self.ints.get(&op).map(|a| a.v)
    }

    pub fn string(&self, op: Op) -> Option<&str> {
        self.strings.get(&op).map(|a| a.v.as_str())
    }

    /// Process one directive whose keyword this ssh knows as `op` (Host, Match and Include
    /// are the driver's). `active`: does the current block apply to the host?
    pub fn apply(&mut self, op: Op, line: &Line, active: bool, client: &Client) -> Outcome {
        let mut av = line.args.iter();
        let args = line.args;
        let missing = || line.err("Missing argument.");
        // Most keywords take one argument: anything after it is an error, checked at the end.
        let mut consumed_all = false;
        let mut note = None;
        match op {
            Op::Host | Op::Match | Op::Include => unreachable!("handled by the driver"),
            Op::Ignore => consumed_all = true,
            Op::Deprecated => consumed_all = true,
            Op::Unsupported => {
                consumed_all = true;
                note = Some(
                    line.err(format!("Unsupported option \"{}\"", line.keyword))
                        .message()
                        .to_string(),
                );
            }
            Op::ConnectTimeout | Op::ForwardX11Timeout | Op::ServerAliveInterval => {
                let v = parse_time(av.next(), line)?;
                if let Some(v) = v {
                    self.set_int(op, v, active, line);
                }
            }
            Op::ForwardAgent => {
                let arg = av
                    .next()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| line.err("missing argument."))?;
                match lookup_ci(FLAG, arg) {
                    Some(v) => self.set_int(op, v, active, line),
                    None => {
                        // Not yes/no: a socket path.
                        self.set_int(op, 1, active, line);
                        check_agent_path(arg, line)?;
                        if active && self.forward_agent_sock.is_none() {
                            self.forward_agent_sock = Some(At {
                                v: arg.to_string(),
                                origin: line.origin(),
                            });
                        }
                    }
                }
            }
            Op::IdentityAgent => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                check_agent_path(arg, line)?;
                self.set_string(op, arg, active, line);
            }
            Op::GssKexAlgorithms => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                if !arg.split(',').all(|n| {
                    [
                        "gss-gex-sha1-",
                        "gss-group1-sha1-",
                        "gss-group14-sha1-",
                        "gss-group14-sha256-",
                        "gss-group16-sha512-",
                        "gss-nistp256-sha256-",
                        "gss-curve25519-sha256-",
                    ]
                    .contains(&n)
                }) {
                    return Err(line.err(format!("Bad GSSAPI KexAlgorithms '{arg}'.")));
                }
                self.set_string(op, arg, active, line);
            }
            Op::RekeyLimit => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                let val = if arg == "default" {
                    0
                } else {
                    let v = scan_scaled(arg)
                        .map_err(|e| line.err(format!("Bad number '{arg}': {e}")))?;
                    if v != 0 && v < 16 {
                        return Err(line.err("RekeyLimit too small"));
                    }
                    v
                };
                if active && self.rekey_limit.is_none() {
                    self.rekey_limit = Some(At {
                        v: val,
                        origin: line.origin(),
                    });
                }
                if let Some(next) = av.next() {
                    if next != "none" {
                        let t = parse_time(Some(next), line)?;
                        if active
                            && self.rekey_interval.is_none()
                            && let Some(t) = t
                        {
                            self.rekey_interval = Some(At {
                                v: t,
                                origin: line.origin(),
                            });
                        }
                    }
                }
            }
            Op::IdentityFile | Op::CertificateFile => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                if active {
                    let list = if op == Op::IdentityFile {
                        &mut self.identity_files
                    } else {
                        &mut self.certificate_files
                    };
                    let (max, what) = if op == Op::IdentityFile {
                        (100, "identity files")
                    } else {
                        (100, "certificate files")
                    };
                    if list.len() >= max {
                        return Err(line.err(format!("Too many {what} specified (max {max}).")));
                    }
                    if !list.iter().any(|a| a.v.1 == line.user_conf && a.v.0 == arg) {
                        list.push(At {
                            v: (arg.to_string(), line.user_conf),
                            origin: line.origin(),
                        });
                    }
                }
            }
            Op::XAuthLocation
            | Op::User
            | Op::Hostname
            | Op::Tag
            | Op::HostKeyAlias
            | Op::PreferredAuthentications
            | Op::BindAddress
            | Op::BindInterface
            | Op::Pkcs11Provider
            | Op::SecurityKeyProvider
            | Op::ControlPath
            | Op::KbdInteractiveDevices
            | Op::GssClientIdentity
            | Op::GssServerIdentity
            | Op::IgnoreUnknown => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                self.set_string(op, arg, active, line);
            }
            Op::RevokedHostKeys => {
                if client.at_least(10, 3) {
                    self.string_array(op, line, active, &mut consumed_all)?;
                } else {
                    let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                    self.set_string(op, arg, active, line);
                }
            }
            Op::GlobalKnownHostsFile
            | Op::UserKnownHostsFile
            | Op::CanonicalDomains
            | Op::LogVerbose => {
                self.string_array(op, line, active, &mut consumed_all)?;
            }
            Op::KnownHostsCommand | Op::LocalCommand | Op::RemoteCommand | Op::ProxyCommand => {
                if line.rest.is_empty() {
                    return Err(missing());
                }
                let value = line.rest.trim_start_matches([' ', '\t', '\r', '\n', '=']);
                // Before 10.3 a ProxyJump (even `none`) hid every later ProxyCommand; since,
                // the two are first-match-wins against each other only through the
                // `ProxyCommand none` a real ProxyJump stores.
                let blocked = op == Op::ProxyCommand && self.jump.is_some() && !client.strict_jump;
                if !blocked {
                    self.set_string(op, value, active, line);
                }
                consumed_all = true;
            }
            Op::ProxyJump => {
                let value = line.rest.trim_start_matches([' ', '\t', '\r', '\n', '=']);
                let jump = parse_jump(value)
                    .ok_or_else(|| line.err(format!("Invalid ProxyJump \"{value}\"")))?;
                // 10.3: `ProxyJump none` takes the slot whatever ProxyCommand holds.
                let none_first = client.strict_jump && jump.is_none();
                let still = active
                    && self.jump.is_none()
                    && (none_first || !self.strings.contains_key(&Op::ProxyCommand));
                if still {
                    if !jump.is_none() {
                        self.strings.insert(
                            Op::ProxyCommand,
                            At {
                                v: "none".into(),
                                origin: line.origin(),
                            },
                        );
                        self.proxy_command_from_jump = true;
                    }
                    self.jump = Some(At {
                        v: jump,
                        origin: line.origin(),
                    });
                }
                consumed_all = true;
            }
            Op::Port => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                let v = a2port(arg);
                if v <= 0 {
                    return Err(line.err(format!("Bad port '{arg}'.")));
                }
                self.set_int(op, v, active, line);
            }
            Op::ConnectionAttempts
            | Op::NumberOfPasswordPrompts
            | Op::ServerAliveCountMax
            | Op::CanonicalizeMaxDots
            | Op::RequiredRsaSize => {
                let v = atoi_err(av.next()).map_err(|e| line.err(format!("integer value {e}.")))?;
                self.set_int(op, v, active, line);
            }
            Op::Ciphers | Op::Macs | Op::KexAlgorithms => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                let (kind, names, what) = match op {
                    Op::Ciphers => (
                        ListKind::Cipher,
                        &client.supported.cipher,
                        "Bad SSH2 cipher spec",
                    ),
                    Op::Macs => (ListKind::Mac, &client.supported.mac, "Bad SSH2 MAC spec"),
                    _ => (
                        ListKind::Kex,
                        &client.supported.kex,
                        "Bad SSH2 KexAlgorithms",
                    ),
                };
                if !algorithms::valid(kind, arg, names) {
                    return Err(line.err(format!("{what} '{arg}'.")));
                }
                self.set_string(op, arg, active, line);
            }
            Op::HostKeyAlgorithms
            | Op::CaSignatureAlgorithms
            | Op::HostbasedAcceptedAlgorithms
            | Op::PubkeyAcceptedAlgorithms => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                if !algorithms::valid(ListKind::Key, arg, &client.supported.key_sig) {
                    return Err(line.err(format!("Bad key types '{arg}'.")));
                }
                self.set_string(op, arg, active, line);
            }
            Op::LogLevel => {
                let arg = av.next();
                let v = arg.and_then(|a| lookup_ci(LOG_LEVELS, a)).ok_or_else(|| {
                    line.err(format!(
                        "unsupported log level '{}'",
                        arg.unwrap_or("<NONE>")
                    ))
                })?;
                self.set_int(op, v, active, line);
            }
            Op::LogFacility => {
                let arg = av.next();
                let v = arg
                    .and_then(|a| {
                        LOG_FACILITIES
                            .iter()
                            .position(|f| f.eq_ignore_ascii_case(a))
                    })
                    .ok_or_else(|| {
                        line.err(format!(
                            "unsupported log facility '{}'",
                            arg.unwrap_or("<NONE>")
                        ))
                    })?;
                // OpenSSH sets it whether or not the block applies.
                self.set_int(op, v as i64, true, line);
            }
            Op::LocalForward | Op::RemoteForward | Op::DynamicForward => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                let remote = op == Op::RemoteForward;
                let mut dynamic = op == Op::DynamicForward;
                let spec = if dynamic {
                    arg.to_string()
                } else {
                    match av.next() {
                        Some(a2) if !a2.is_empty() => format!("{arg}:{a2}"),
                        _ if remote => {
                            dynamic = true;
                            arg.to_string()
                        }
                        _ => return Err(line.err("Missing target argument.")),
                    }
                };
                // fwdarg is a 256-byte buffer in ssh.
                let spec: String = truncate_bytes(&spec, 255);
                let fwd = parse_forward(&spec, dynamic, remote)
                    .ok_or_else(|| line.err("Bad forwarding specification."))?;
                if active {
                    let list = if remote {
                        &mut self.remote_forwards
                    } else {
                        &mut self.local_forwards
                    };
                    if !list.iter().any(|f| f.v == fwd) {
                        list.push(At {
                            v: fwd,
                            origin: line.origin(),
                        });
                    }
                }
            }
            Op::PermitRemoteOpen => {
                let empty = self.permitted_remote_opens.is_empty();
                let n = args.len();
                for (i, arg) in args.iter().enumerate() {
                    if arg.eq_ignore_ascii_case("none") || arg.eq_ignore_ascii_case("any") {
                        if i > 0 || i + 1 < n {
                            return Err(line.err(format!(
                                "keyword {} \"{arg}\" argument must appear alone.",
                                line.keyword
                            )));
                        }
                    } else {
                        let (host, port) = hpdelim(arg);
                        if host.is_none() {
                            return Err(line.fatal("missing host in permitremoteopen"));
                        }
                        match port {
                            Some(p) if p == "*" || a2port(p) > 0 => {}
                            _ => return Err(line.fatal("bad port number in permitremoteopen")),
                        }
                    }
                    if active && empty {
                        self.permitted_remote_opens.push(At {
                            v: arg.to_owned(),
                            origin: line.origin(),
                        });
                    }
                }
                if n == 0 {
                    return Err(line.fatal("missing permitremoteopen specification"));
                }
                consumed_all = true;
            }
            Op::EscapeChar => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                let b = arg.as_bytes();
                let v = if arg == "none" {
                    ESCAPE_NONE
                } else if b.len() == 1 {
                    i64::from(b[0])
                } else if b.len() == 2 && b[0] == b'^' && (64..128).contains(&b[1]) {
                    i64::from(b[1] & 31)
                } else {
                    return Err(line.err("Bad escape character."));
                };
                self.set_int(op, v, active, line);
            }
            Op::SendEnv => {
                for arg in args {
                    if arg.is_empty() || arg.contains('=') {
                        return Err(line.err("Invalid environment name."));
                    }
                    if !active {
                        continue;
                    }
                    if let Some(pat) = arg.strip_prefix('-') {
                        self.send_env.retain(|v| !pattern::matches(&v.v, pat));
                        continue;
                    }
                    self.send_env.push(At {
                        v: arg.to_owned(),
                        origin: line.origin(),
                    });
                }
                consumed_all = true;
            }
            Op::SetEnv => {
                let was_empty = self.set_env.is_empty();
                for arg in args {
                    if !arg.contains('=') {
                        return Err(line.err("Invalid SetEnv."));
                    }
                    if !active || !was_empty {
                        continue;
                    }
                    let name = arg.split('=').next().unwrap_or("");
                    if self
                        .set_env
                        .iter()
                        .any(|v| v.v.split('=').next() == Some(name))
                    {
                        continue;
                    }
                    self.set_env.push(At {
                        v: arg.to_owned(),
                        origin: line.origin(),
                    });
                }
                consumed_all = true;
            }
            Op::ControlPersist => {
                let arg = av
                    .next()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| line.err("Missing ControlPersist argument."))?;
                let (v, timeout) = match arg {
                    "no" | "false" => (0, 0),
                    "yes" | "true" => (1, 0),
                    _ => match convtime(arg) {
                        Some(t) => (1, t),
                        None => return Err(line.err("Bad ControlPersist argument.")),
                    },
                };
                if active && !self.ints.contains_key(&op) {
                    self.set_int(op, v, active, line);
                    self.control_persist_timeout = timeout;
                }
            }
            Op::TunnelDevice => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                let (local, remote) = a2tun(arg);
                if local == TUNID_ERR {
                    return Err(line.err("Bad tun device."));
                }
                if active && self.tun_local.is_none() {
                    self.tun_local = Some(At {
                        v: local,
                        origin: line.origin(),
                    });
                    self.tun_remote = remote;
                }
            }
            Op::IpQos => {
                let arg = av.next();
                let v = arg.and_then(parse_ipqos).ok_or_else(|| {
                    line.err(format!("Bad IPQoS value: {}", arg.unwrap_or("(null)")))
                })?;
                let v2 = match av.next() {
                    None => v,
                    Some(a) => {
                        parse_ipqos(a).ok_or_else(|| line.err(format!("Bad IPQoS value: {a}")))?
                    }
                };
                if active && self.ipqos.is_none() {
                    self.ipqos = Some(At {
                        v: (v, v2),
                        origin: line.origin(),
                    });
                }
            }
            Op::CanonicalizePermittedCnames => {
                let was_set = !self.permitted_cnames.is_empty();
                let n = args.len();
                for (i, arg) in args.iter().enumerate() {
                    let pair = if arg.eq_ignore_ascii_case("none") {
                        if i > 0 || i + 1 < n {
                            return Err(line.err(format!(
                                "keyword {} \"none\" argument must appear alone.",
                                line.keyword
                            )));
                        }
                        (arg.to_owned(), String::new())
                    } else if arg == "*" {
                        (arg.to_owned(), arg.to_owned())
                    } else {
                        let lower = arg.to_ascii_lowercase();
                        match lower.split_once(':') {
                            Some((a, b)) if !b.is_empty() => (a.to_string(), b.to_string()),
                            _ => {
                                return Err(
                                    line.err(format!("Invalid permitted CNAME \"{lower}\""))
                                );
                            }
                        }
                    };
                    if !active || was_set {
                        continue;
                    }
                    self.permitted_cnames.push(At {
                        v: pair,
                        origin: line.origin(),
                    });
                }
                consumed_all = true;
            }
            Op::StreamLocalBindMask => {
                let arg = av
                    .next()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| line.err("Missing StreamLocalBindMask argument."))?;
                let v = strtol_prefix(arg, 8)
                    .filter(|v| (0..=0o777).contains(v))
                    .ok_or_else(|| line.err("Bad mask."))?;
                // OpenSSH sets it unconditionally: the last line read wins.
                self.stream_local_bind_mask = Some(At {
                    v,
                    origin: line.origin(),
                });
            }
            Op::FingerprintHash => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                let v = lookup_ci(DIGESTS, arg)
                    .ok_or_else(|| line.err(format!("Invalid hash algorithm \"{arg}\".")))?;
                self.set_int(op, v, active, line);
            }
            Op::AddKeysToAgent => {
                let arg = av.next();
                let arg2 = av.next();
                let value = arg.and_then(|a| lookup_ci(YESNOASKCONFIRM, a));
                if arg.is_none_or(str::is_empty) {
                    return Err(line.err("missing argument."));
                }
                let (v, life) = match (value, arg2) {
                    (Some(3), Some(t)) => (
                        3,
                        convtime(t).ok_or_else(|| line.err("invalid time value."))?,
                    ),
                    (None, None) => (
                        1,
                        convtime(arg.unwrap_or(""))
                            .ok_or_else(|| line.err("unsupported option"))?,
                    ),
                    (None, _) | (_, Some(_)) => return Err(line.err("unsupported option")),
                    (Some(v), None) => (v, 0),
                };
                if active && !self.ints.contains_key(&op) {
                    self.set_int(op, v, active, line);
                    self.add_keys_lifespan = life;
                }
            }
            Op::ObscureKeystrokeTiming => {
                let mut value: Option<i64> = None;
                for arg in args {
                    if value.is_some() {
                        return Err(line.err("invalid arguments"));
                    }
                    value = Some(match arg {
                        "yes" | "true" => 20,
                        "no" | "false" => 0,
                        a if a.starts_with("interval:") => {
                            let v = atoi_err(Some(&a[9..]))
                                .map_err(|e| line.err(format!("integer value {e}.")))?;
                            if v <= 0 || v > 1000 {
                                return Err(line.err("value out of range."));
                            }
                            v
                        }
                        a => return Err(line.err(format!("unsupported argument \"{a}\""))),
                    });
                }
                let v = value.ok_or_else(|| line.err("missing argument"))?;
                self.set_int(op, v, active, line);
                consumed_all = true;
            }
            Op::ChannelTimeout => {
                let was_empty = self.channel_timeouts.is_empty();
                let n = args.len();
                let mut vals = Vec::new();
                for (i, arg) in args.iter().enumerate() {
                    if arg.eq_ignore_ascii_case("none") {
                        if i > 0 || i + 1 < n {
                            return Err(line.err(format!(
                                "keyword {} \"none\" argument must appear alone.",
                                line.keyword
                            )));
                        }
                    } else {
                        let ok = arg
                            .split_once('=')
                            .is_some_and(|(t, v)| !t.is_empty() && convtime(v).is_some());
                        if !ok {
                            return Err(line.fatal(format!("invalid channel timeout {arg}")));
                        }
                    }
                    vals.push(arg.to_owned());
                }
                if vals.is_empty() {
                    return Err(line.fatal(format!("no {} specified", line.keyword)));
                }
                if was_empty && active {
                    self.channel_timeouts = vals
                        .into_iter()
                        .map(|v| At {
                            v,
                            origin: line.origin(),
                        })
                        .collect();
                }
                consumed_all = true;
            }
            Op::VersionAddendum => {
                let value = line.rest.split('#').next().unwrap_or("").trim_end();
                if value.is_empty() {
                    return Err(line.fatal(format!("{} missing argument.", line.keyword)));
                }
                let v = if value.eq_ignore_ascii_case("none") {
                    ""
                } else {
                    value
                };
                self.set_string(op, v, active, line);
                consumed_all = true;
            }
            Op::RefuseConnection => {
                let arg = av.next().filter(|a| !a.is_empty()).ok_or_else(missing)?;
                if active {
                    return Err(line.fatal(format!("RefuseConnection: {arg}")));
                }
            }
            _ => {
                let Some(t) = table(op) else {
                    return Err(line.err(format!("Unimplemented opcode {op:?}")));
                };
                let arg = av.next();
                let v = match arg {
                    None | Some("") => return Err(line.err("missing argument.")),
                    Some(a) => lookup_ci(t, a)
                        .ok_or_else(|| line.err(format!("unsupported option \"{a}\".")))?,
                };
                self.set_int(op, v, active, line);
            }
        }
        if !consumed_all && av.next().is_some() {
            return Err(line.err(format!(
                "keyword {} extra arguments at end of line",
                line.keyword
            )));
        }
        Ok(note)
    }

    /// GlobalKnownHostsFile, UserKnownHostsFile, CanonicalDomains, LogVerbose and (10.3+)
    /// RevokedHostKeys: the first line that sets the list keeps it whole.
    fn string_array(
        &mut self,
        op: Op,
        line: &Line,
        active: bool,
        consumed_all: &mut bool,
    ) -> Result<(), LineError> {
        let list_empty = match op {
            Op::GlobalKnownHostsFile => self.system_hostfiles.is_empty(),
            Op::UserKnownHostsFile => self.user_hostfiles.is_empty(),
            Op::CanonicalDomains => self.canonical_domains.is_empty(),
            Op::LogVerbose => self.log_verbose.is_empty(),
            _ => self.revoked_host_keys.is_empty(),
        };
        let n = line.args.len();
        let mut vals = Vec::new();
        for (i, arg) in line.args.iter().enumerate() {
            if arg.is_empty() {
                return Err(line.err(format!("keyword {} empty argument", line.keyword)));
            }
            if arg.eq_ignore_ascii_case("none") && (i > 0 || i + 1 < n) {
                return Err(line.err(format!(
                    "keyword {} \"none\" argument must appear alone.",
                    line.keyword
                )));
            }
            let v = if op == Op::CanonicalDomains {
                valid_domain(arg).map_err(|e| line.err(e))?
            } else {
                arg.to_owned()
            };
            vals.push(v);
        }
        if active && list_empty {
            let list = match op {
                Op::GlobalKnownHostsFile => &mut self.system_hostfiles,
                Op::UserKnownHostsFile => &mut self.user_hostfiles,
                Op::CanonicalDomains => &mut self.canonical_domains,
                Op::LogVerbose => &mut self.log_verbose,
                _ => &mut self.revoked_host_keys,
            };
            if vals.len() > 16 && matches!(op, Op::GlobalKnownHostsFile | Op::UserKnownHostsFile) {
                return Err(line.err(format!("too many {} entries.", line.keyword)));
            }
            for v in vals {
                list.push(At {
                    v,
                    origin: line.origin(),
                });
            }
        }
        *consumed_all = true;
        Ok(())
    }
}

/// `valid_domain(name, makelower=1)`: the lower-cased name, or ssh's reason.
pub fn valid_domain(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("empty domain name".into());
    }
    let first = name.as_bytes()[0];
    if !first.is_ascii_alphanumeric() {
        return Err(format!(
            "domain name \"{}\" starts with invalid character",
            truncate_bytes(name, 100)
        ));
    }
    let lower = name.to_ascii_lowercase();
    let mut last = 0u8;
    for &c in lower.as_bytes() {
        if last == b'.' && c == b'.' {
            return Err(format!(
                "domain name \"{}\" contains consecutive separators",
                truncate_bytes(&lower, 100)
            ));
        }
        if c != b'.' && c != b'-' && !c.is_ascii_alphanumeric() && c != b'_' {
            return Err(format!(
                "domain name \"{}\" contains invalid characters",
                truncate_bytes(&lower, 100)
            ));
        }
        last = c;
    }
    Ok(lower.strip_suffix('.').unwrap_or(&lower).to_string())
}

fn truncate_bytes(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// IdentityAgent / ForwardAgent paths: `${VAR}` must expand, `$NAME` must be a valid name.
fn check_agent_path(arg: &str, line: &Line) -> Result<(), LineError> {
    if let Err(e) = tokens::dollar(arg) {
        let LineError::Bad(m) = line.err(format!("Invalid environment expansion {arg}.")) else {
            unreachable!()
        };
        return Err(LineError::Bad(format!("{}\n{m}", e.message)));
    }
    if let Some(name) = arg.strip_prefix('$')
        && !name.starts_with('{')
        && !valid_env_name(name)
    {
        return Err(line.err(format!("Invalid environment name {arg}.")));
    }
    Ok(())
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.as_bytes()[0].is_ascii_digit()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Case-insensitive lookup in a multistate table.
pub fn lookup_ci(table: &[(&str, i64)], arg: &str) -> Option<i64> {
    table
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(arg))
        .map(|(_, v)| *v)
}

/// `parse_time` with "none" meaning unset (None) and convtime's errors.
fn parse_time(arg: Option<&str>, line: &Line) -> Result<Option<i64>, LineError> {
    let arg = arg
        .filter(|a| !a.is_empty())
        .ok_or_else(|| line.err("missing time value."))?;
    if arg == "none" {
        return Ok(None);
    }
    convtime(arg)
        .map(Some)
        .ok_or_else(|| line.err("invalid time value."))
}

/// `strtol(s, &end, base)` that must consume the whole string (leading whitespace and a sign
/// allowed, as in C).
fn strtol_prefix(s: &str, base: u32) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if base == 0 {
        if let Some(h) = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            (16, h)
        } else if digits.len() > 1 && digits.starts_with('0') {
            (8, &digits[1..])
        } else {
            (10, digits)
        }
    } else {
        (base, digits)
    };
    if digits.is_empty() {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// `strtonum(s, 0, INT_MAX)` with atoi_err's messages.
pub fn atoi_err(arg: Option<&str>) -> Result<i64, &'static str> {
    let s = match arg {
        None | Some("") => return Err("missing"),
        Some(s) => s,
    };
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid");
    }
    let v: i128 = digits.parse().map_err(|_| "too large")?;
    let v = if neg { -v } else { v };
    if v < 0 {
        Err("too small")
    } else if v > i128::from(i32::MAX) {
        Err("too large")
    } else {
        Ok(v as i64)
    }
}

/// `convtime`: `90`, `10m`, `1h30m`... in seconds; None when ssh would refuse it.
pub fn convtime(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    while i < b.len() {
        // strtol: optional whitespace and sign, then digits.
        let start = i;
        while i < b.len() && (b[i] == b' ' || (9..=13).contains(&b[i])) {
            i += 1;
        }
        let mut neg = false;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            neg = b[i] == b'-';
            i += 1;
        }
        let ds = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if ds == i {
            let _ = start;
            return None;
        }
        let secs: i64 = std::str::from_utf8(&b[ds..i]).ok()?.parse().ok()?;
        if neg && secs != 0 {
            return None;
        }
        let mult: i64 = match b.get(i) {
            None => 1,
            Some(c) => {
                i += 1;
                match c.to_ascii_lowercase() {
                    b's' => 1,
                    b'm' => 60,
                    b'h' => 3600,
                    b'd' => 86400,
                    b'w' => 604800,
                    _ => return None,
                }
            }
        };
        if secs > i64::from(i32::MAX) / mult {
            return None;
        }
        let secs = secs * mult;
        if total > i64::from(i32::MAX) - secs {
            return None;
        }
        total += secs;
    }
    Some(total)
}

/// `scan_scaled`: a number with an optional fraction and a B/K/M/G/T/P/E suffix (×1024).
fn scan_scaled(s: &str) -> Result<i64, &'static str> {
    let t = s.trim();
    let (num, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let scale: i64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        "P" => 1 << 50,
        "E" => 1 << 60,
        _ => return Err("Invalid argument"),
    };
    let (whole, frac) = match num.split_once('.') {
        Some((w, f)) => (w, f),
        None => (num, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return Err("Invalid argument");
    }
    let neg = whole.starts_with('-');
    let wdigits = whole.trim_start_matches(['-', '+']);
    if !wdigits.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Invalid argument");
    }
    let w: i64 = if wdigits.is_empty() {
        0
    } else {
        wdigits
            .parse()
            .map_err(|_| "Numerical result out of range")?
    };
    let mut v = w
        .checked_mul(scale)
        .ok_or("Numerical result out of range")?;
    if !frac.is_empty() && scale > 1 {
        // Fractions of a unit, truncated like scan_scaled (decimal digits of the unit).
        let mut f = 0i64;
        let mut div = 1i64;
        for d in frac.bytes().take(18) {
            f = f * 10 + i64::from(d - b'0');
            div *= 10;
        }
        v += (f as i128 * scale as i128 / div as i128) as i64;
    }
    Ok(if neg { -v } else { v })
}

/// `a2port`: 0..=65535 numerically, else a service name from /etc/services; -1 if neither.
pub fn a2port(s: &str) -> i64 {
    if let Ok(v) = atoi_range(s, 0, 65535) {
        return v;
    }
    let Ok(c) = std::ffi::CString::new(s) else {
        return -1;
    };
    // SAFETY: both strings are valid NUL-terminated C strings; getservbyname returns NULL or
    // a pointer into static storage, read immediately.
    let se = unsafe { libc::getservbyname(c.as_ptr(), c"tcp".as_ptr()) };
    if se.is_null() {
        return -1;
    }
    i64::from(u16::from_be(unsafe { (*se).s_port } as u16))
}

fn atoi_range(s: &str, min: i64, max: i64) -> Result<i64, ()> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    let v: i128 = digits.parse().map_err(|_| ())?;
    let v = if neg { -v } else { v };
    if v < i128::from(min) || v > i128::from(max) {
        return Err(());
    }
    Ok(v as i64)
}

/// `a2tun`: `any`, `N`, or `N:M` (local, remote).
fn a2tun(s: &str) -> (i64, i64) {
    let one = |x: &str| -> i64 {
        if x.eq_ignore_ascii_case("any") {
            TUNID_ANY
        } else {
            atoi_range(x, 0, TUNID_MAX).unwrap_or(TUNID_ERR)
        }
    };
    match s.split_once(':') {
        None => (one(s), TUNID_ANY),
        Some((l, r)) => {
            let remote = one(r);
            let local = one(l);
            if remote == TUNID_ERR {
                (TUNID_ERR, remote)
            } else {
                (local, remote)
            }
        }
    }
}

fn parse_ipqos(s: &str) -> Option<i64> {
    if let Some(v) = lookup_ci(IPQOS, s) {
        return Some(v);
    }
    if s.is_empty() {
        return None;
    }
    strtol_prefix(s, 0).filter(|v| (0..=255).contains(v))
}

/// `hpdelim`: host and the rest after `:` (or `/`), `[v6]` allowed.
fn hpdelim(s: &str) -> (Option<&str>, Option<&str>) {
    if let Some(rest) = s.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return (None, None);
        };
        let after = &rest[end + 1..];
        return match after.as_bytes().first() {
            None => (Some(&rest[..end]), None),
            Some(b':') | Some(b'/') => (Some(&rest[..end]), Some(&after[1..])),
            _ => (None, None),
        };
    }
    match s.find([':', '/']) {
        Some(i) => (Some(&s[..i]), Some(&s[i + 1..])),
        None => (Some(s), None),
    }
}

fn a2port_i32(s: &str) -> i32 {
    a2port(s) as i32
}

/// `parse_forward` for the `[listen_host:]port:host:hostport` and socket-path forms.
pub fn parse_forward(spec: &str, dynamic: bool, remote: bool) -> Option<Forward> {
    let mut fields: Vec<(String, bool)> = Vec::new();
    let b: Vec<char> = spec.trim_start().chars().collect();
    let mut i = 0;
    while i < b.len() && fields.len() < 4 {
        if b[i] == '[' {
            let mut j = i + 1;
            let mut is_path = false;
            while j < b.len() && b[j] != ']' {
                if b[j] == '/' {
                    is_path = true;
                }
                j += 1;
            }
            if j >= b.len() || (j + 1 < b.len() && b[j + 1] != ':') {
                return None;
            }
            fields.push((b[i + 1..j].iter().collect(), is_path));
            i = j + 2;
            continue;
        }
        let mut arg = String::new();
        let mut is_path = false;
        while i < b.len() {
            match b[i] {
                '\\' => {
                    i += 1;
                    arg.push(*b.get(i)?);
                }
                '/' => {
                    is_path = true;
                    arg.push('/');
                }
                ':' => {
                    i += 1;
                    break;
                }
                c => arg.push(c),
            }
            i += 1;
        }
        fields.push((arg, is_path));
    }
    if i < b.len() {
        return None;
    }
    let mut f = Forward {
        listen_host: None,
        listen_port: 0,
        listen_path: None,
        connect_host: None,
        connect_port: 0,
        connect_path: None,
    };
    match fields.len() {
        1 => {
            if fields[0].1 {
                f.listen_path = Some(fields[0].0.clone());
                f.listen_port = STREAMLOCAL;
            } else {
                f.listen_port = a2port_i32(&fields[0].0);
            }
            f.connect_host = Some("socks".into());
        }
        2 => {
            if fields[0].1 && fields[1].1 {
                f.listen_path = Some(fields[0].0.clone());
                f.listen_port = STREAMLOCAL;
                f.connect_path = Some(fields[1].0.clone());
                f.connect_port = STREAMLOCAL;
            } else if fields[1].1 {
                f.listen_port = a2port_i32(&fields[0].0);
                f.connect_path = Some(fields[1].0.clone());
                f.connect_port = STREAMLOCAL;
            } else {
                f.listen_host = Some(fields[0].0.clone());
                f.listen_port = a2port_i32(&fields[1].0);
                f.connect_host = Some("socks".into());
            }
        }
        3 => {
            if fields[0].1 {
                f.listen_path = Some(fields[0].0.clone());
                f.listen_port = STREAMLOCAL;
                f.connect_host = Some(fields[1].0.clone());
                f.connect_port = a2port_i32(&fields[2].0);
            } else if fields[2].1 {
                f.listen_host = Some(fields[0].0.clone());
                f.listen_port = a2port_i32(&fields[1].0);
                f.connect_path = Some(fields[2].0.clone());
                f.connect_port = STREAMLOCAL;
            } else {
                f.listen_port = a2port_i32(&fields[0].0);
                f.connect_host = Some(fields[1].0.clone());
                f.connect_port = a2port_i32(&fields[2].0);
            }
        }
        4 => {
            f.listen_host = Some(fields[0].0.clone());
            f.listen_port = a2port_i32(&fields[1].0);
            f.connect_host = Some(fields[2].0.clone());
            f.connect_port = a2port_i32(&fields[3].0);
        }
        _ => return None,
    }
    if dynamic {
        if !(fields.len() == 1 || fields.len() == 2) {
            return None;
        }
    } else {
        if !(fields.len() == 3 || fields.len() == 4)
            && f.connect_path.is_none()
            && f.listen_path.is_none()
        {
            return None;
        }
        if f.connect_port <= 0 && f.connect_path.is_none() {
            return None;
        }
    }
    if (f.listen_port < 0 && f.listen_path.is_none()) || (!remote && f.listen_port == 0) {
        return None;
    }
    Some(f)
}

impl Forward {
    /// The `ssh -G` rendering (`8080 [localhost]:80`).
    pub fn render(&self, with_connect: bool) -> String {
        let mut s = match (&self.listen_path, &self.listen_host) {
            (Some(p), _) if self.listen_port == STREAMLOCAL => p.clone(),
            (_, None) => self.listen_port.to_string(),
            (_, Some(h)) => format!("[{h}]:{}", self.listen_port),
        };
        if with_connect {
            s.push(' ');
            s.push_str(&match (&self.connect_path, &self.connect_host) {
                (Some(p), _) if self.connect_port == STREAMLOCAL => p.clone(),
                (_, None) => self.connect_port.to_string(),
                (_, Some(h)) => format!("[{h}]:{}", self.connect_port),
            });
        }
        s
    }

    pub fn dynamic(&self) -> bool {
        self.connect_host.as_deref() == Some("socks")
    }
}

/// `parse_jump`: `[user@]host[:port]` or `ssh://` hops separated by commas; the last hop is
/// the one connected to first, the rest is kept as "extra". Comments and trailing space go.
pub fn parse_jump(s: &str) -> Option<Jump> {
    // `none` is recognised on the raw value: `none # comment` is a hop named "none".
    let raw_none = s.eq_ignore_ascii_case("none");
    let s = s.split('#').next().unwrap_or("").trim_end();
    if raw_none {
        return Some(Jump {
            extra: None,
            user: None,
            host: "none".into(),
            port: 0,
        });
    }
    let (extra, last) = match s.rfind(',') {
        Some(i) => (Some(&s[..i]), &s[i + 1..]),
        None => (None, s),
    };
    if let Some(extra) = extra {
        for hop in extra.split(',') {
            parse_hop(hop)?;
        }
    }
    let (user, host, port) = parse_hop(last)?;
    Some(Jump {
        extra: extra.filter(|e| !e.is_empty()).map(str::to_string),
        user,
        host,
        port,
    })
}

/// One hop: `ssh://` URI (no path) or `parse_user_host_port`; port -1 when none is given.
pub fn parse_hop(s: &str) -> Option<(Option<String>, String, i32)> {
    if s.starts_with("ssh://") {
        let d = crate::openssh::Destination::parse(s).ok()?;
        return Some((d.user, d.host, d.port.map_or(-1, i32::from)));
    }
    parse_user_host_port(s)
}

/// misc.c `parse_user_host_port`: a user before the last `@` (not empty), then `hpdelim`: a
/// `[...]` host or one up to the first `:` (a `/` there refuses the whole), then an optional
/// port (`a2port`: a number or a service name, above 0); an empty port is no port.
pub fn parse_user_host_port(s: &str) -> Option<(Option<String>, String, i32)> {
    let (user, hp) = match s.rfind('@') {
        Some(0) => return None,
        Some(i) => (Some(s[..i].to_string()), &s[i + 1..]),
        None => (None, s),
    };
    let (host, port) = if hp.starts_with('[') {
        let end = hp.find(']')? + 1;
        match hp.as_bytes().get(end) {
            None => (&hp[..end], None),
            Some(b':') => (&hp[..end], Some(&hp[end + 1..])),
            Some(_) => return None,
        }
    } else {
        match hp.find([':', '/']) {
            Some(i) if hp.as_bytes()[i] == b'/' => return None,
            Some(i) => (&hp[..i], Some(&hp[i + 1..])),
            None => (hp, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    // cleanhostname: `[addr]` loses its brackets.
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = match port.filter(|p| !p.is_empty()) {
        Some(p) => {
            let n = a2port_i32(p);
            if n <= 0 {
                return None;
            }
            n
        }
        None => -1,
    };
    Some((user, host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ProxyJump none` then `ProxyCommand`: the command is taken only by a client with
    /// 10.3's rules; a hop named "none" (`none # c`) blocks it under both.
    #[test]
    fn proxy_jump_none_and_a_later_proxy_command_follow_the_clients_rules() {
        let read = |strict: bool, jump: &str| {
            let mut client = crate::openssh::client::builtin();
            client.strict_jump = strict;
            let mut o = Options::default();
            let file = Path::new("t");
            for (n, (kw, op, rest)) in [
                ("proxyjump", Op::ProxyJump, jump),
                ("proxycommand", Op::ProxyCommand, "nc %h %p"),
            ]
            .into_iter()
            .enumerate()
            {
                let line = Line {
                    file,
                    lineno: n + 1,
                    keyword: kw,
                    rest,
                    args: crate::sshconfig::syntax::Args::EMPTY,
                    user_conf: true,
                };
                let _ = o.apply(op, &line, true, &client);
            }
            (
                o.string(Op::ProxyCommand).map(str::to_string),
                o.jump.map(|j| j.v.is_none()),
            )
        };
        assert_eq!(read(true, "none"), (Some("nc %h %p".into()), Some(true)));
        assert_eq!(read(false, "none"), (None, Some(true)));
        for strict in [true, false] {
            assert_eq!(read(strict, "none # c"), (Some("none".into()), Some(false)));
            assert_eq!(read(strict, "j1"), (Some("none".into()), Some(false)));
        }
    }

    #[test]
    fn times() {
        assert_eq!(convtime("90"), Some(90));
        assert_eq!(convtime("10m"), Some(600));
        assert_eq!(convtime("1h30m"), Some(5400));
        assert_eq!(convtime("x"), None);
        assert_eq!(convtime(""), None);
        assert_eq!(convtime("-5"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(atoi_err(Some("-1")), Err("too small"));
        assert_eq!(atoi_err(Some("x")), Err("invalid"));
        assert_eq!(atoi_err(None), Err("missing"));
        assert_eq!(atoi_err(Some("99999999999")), Err("too large"));
        assert_eq!(a2port("ssh"), 22);
        assert_eq!(a2port("0"), 0);
        assert_eq!(a2port("nope-service"), -1);
        assert_eq!(scan_scaled("1.5G"), Ok(1_610_612_736));
        assert_eq!(scan_scaled("500k"), Ok(512_000));
        assert_eq!(parse_ipqos("0x10"), Some(0x10));
        assert_eq!(iptos_name(12), "0x0c");
        assert_eq!(iptos_name(4), "le");
        assert_eq!(a2tun("3"), (3, TUNID_ANY));
        assert_eq!(a2tun("1:2"), (1, 2));
    }

    #[test]
    fn forwards() {
        let f = parse_forward("localhost:8080:127.0.0.1:80", false, false).unwrap();
        assert_eq!(f.render(true), "[localhost]:8080 [127.0.0.1]:80");
        let f = parse_forward("8080:localhost:80", false, false).unwrap();
        assert_eq!(f.render(true), "8080 [localhost]:80");
        let f = parse_forward("9000:/tmp/sock", false, true).unwrap();
        assert_eq!(f.render(true), "9000 /tmp/sock");
        let f = parse_forward("1080", true, false).unwrap();
        assert_eq!(f.render(false), "1080");
        assert!(parse_forward("x:y", false, false).is_none());
    }

    #[test]
    fn jumps() {
        let j = parse_jump("a@b:2222").unwrap();
        assert_eq!(
            (j.user.as_deref(), j.host.as_str(), j.port),
            (Some("a"), "b", 2222)
        );
        let j = parse_jump("x,y,z").unwrap();
        assert_eq!(j.extra.as_deref(), Some("x,y"));
        assert!(parse_jump("a:0").is_none());
        let j = parse_jump("ssh://u@h:2200").unwrap();
        assert_eq!((j.user.as_deref(), j.port), (Some("u"), 2200));
    }

    #[test]
    fn domains() {
        assert_eq!(valid_domain("Example.COM"), Ok("example.com".into()));
        assert!(valid_domain("a..b").is_err());
        assert!(valid_domain("-a").is_err());
    }
}
