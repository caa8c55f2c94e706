//! From options read to what `ssh -G` prints: `fill_default_options` with the installed
//! client's own defaults, the checks and token expansions `ssh.c` applies before printing
//! (ProxyJump loop, ConnectionAttempts, ForkAfterAuthentication without a command, `~`, `%`
//! and `${}` in ControlPath, IdentityAgent, known_hosts files and forward paths), and
//! `dump_client_config`'s lines, in the client's order, with the line each value came from.
//!
//! The order is the client's own: every line `ssh -G -F none` prints (learned from the
//! binary, vendor lines included) plus the lines it prints only when set, slotted where
//! OpenSSH's `dump_client_config` prints them.

use super::eval::{ErrorKind, Failure, Origin, Parts, Resolved, Val};
use super::options::{self, At, Forward, Options};
use super::tokens::{self, Tokens};
use crate::openssh::algorithms;
use crate::openssh::client::Client;
use crate::openssh::grammar::Op;

/// How a keyword of `dump_client_config` is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Always printed (a default exists).
    Always,
    /// Printed only when set.
    WhenSet,
}

/// Every line `dump_client_config` can print, in its order across versions and vendors.
const MASTER: &[(&str, Kind)] = &[
    ("host", Kind::Always),
    ("user", Kind::Always),
    ("hostname", Kind::Always),
    ("port", Kind::Always),
    ("addressfamily", Kind::Always),
    ("batchmode", Kind::Always),
    ("canonicalizefallbacklocal", Kind::Always),
    ("canonicalizehostname", Kind::Always),
    ("checkhostip", Kind::Always),
    ("compression", Kind::Always),
    ("controlmaster", Kind::Always),
    ("enablesshkeysign", Kind::Always),
    ("clearallforwardings", Kind::Always),
    ("exitonforwardfailure", Kind::Always),
    ("fingerprinthash", Kind::Always),
    ("forwardx11", Kind::Always),
    ("forwardx11trusted", Kind::Always),
    ("gatewayports", Kind::Always),
    ("gssapiauthentication", Kind::Always),
    ("gssapikeyexchange", Kind::Always),
    ("gssapidelegatecredentials", Kind::Always),
    ("gssapitrustdns", Kind::Always),
    ("gssapirenewalforcesrekey", Kind::Always),
    ("gssapiclientidentity", Kind::WhenSet),
    ("gssapiserveridentity", Kind::WhenSet),
    ("gssapikexalgorithms", Kind::Always),
    ("hashknownhosts", Kind::Always),
    ("hostbasedauthentication", Kind::Always),
    ("identitiesonly", Kind::Always),
    ("kbdinteractiveauthentication", Kind::Always),
    ("nohostauthenticationforlocalhost", Kind::Always),
    ("passwordauthentication", Kind::Always),
    ("permitlocalcommand", Kind::Always),
    ("proxyusefdpass", Kind::Always),
    ("pubkeyauthentication", Kind::Always),
    ("requesttty", Kind::Always),
    ("sessiontype", Kind::Always),
    ("stdinnull", Kind::Always),
    ("forkafterauthentication", Kind::Always),
    ("streamlocalbindunlink", Kind::Always),
    ("stricthostkeychecking", Kind::Always),
    ("tcpkeepalive", Kind::Always),
    ("tunnel", Kind::Always),
    ("verifyhostkeydns", Kind::Always),
    ("visualhostkey", Kind::Always),
    ("updatehostkeys", Kind::Always),
    ("enableescapecommandline", Kind::Always),
    ("warnweakcrypto", Kind::Always),
    ("canonicalizemaxdots", Kind::Always),
    ("connectionattempts", Kind::Always),
    ("forwardx11timeout", Kind::Always),
    ("numberofpasswordprompts", Kind::Always),
    ("serveralivecountmax", Kind::Always),
    ("serveraliveinterval", Kind::Always),
    ("requiredrsasize", Kind::Always),
    ("obscurekeystroketiming", Kind::Always),
    ("bindaddress", Kind::WhenSet),
    ("bindinterface", Kind::WhenSet),
    ("ciphers", Kind::Always),
    ("controlpath", Kind::WhenSet),
    ("hostkeyalgorithms", Kind::Always),
    ("hostkeyalias", Kind::WhenSet),
    ("hostbasedacceptedalgorithms", Kind::Always),
    ("identityagent", Kind::WhenSet),
    ("ignoreunknown", Kind::WhenSet),
    ("kbdinteractivedevices", Kind::WhenSet),
    ("kexalgorithms", Kind::Always),
    ("casignaturealgorithms", Kind::Always),
    ("localcommand", Kind::WhenSet),
    ("remotecommand", Kind::WhenSet),
    ("loglevel", Kind::Always),
    ("macs", Kind::Always),
    ("pkcs11provider", Kind::WhenSet),
    ("securitykeyprovider", Kind::Always),
    ("preferredauthentications", Kind::WhenSet),
    ("pubkeyacceptedalgorithms", Kind::Always),
    // Up to 10.2 a string here; 10.3 moved it to the list section (below, as
    // "revokedhostkeys+").
    ("revokedhostkeys", Kind::WhenSet),
    ("xauthlocation", Kind::Always),
    ("knownhostscommand", Kind::WhenSet),
    ("tag", Kind::WhenSet),
    ("versionaddendum", Kind::WhenSet),
    ("dynamicforward", Kind::WhenSet),
    ("localforward", Kind::WhenSet),
    ("remoteforward", Kind::WhenSet),
    ("identityfile", Kind::Always),
    ("canonicaldomains", Kind::Always),
    ("certificatefile", Kind::WhenSet),
    ("globalknownhostsfile", Kind::Always),
    ("userknownhostsfile", Kind::Always),
    ("sendenv", Kind::WhenSet),
    ("setenv", Kind::WhenSet),
    ("logverbose", Kind::Always),
    ("channeltimeout", Kind::Always),
    ("revokedhostkeys+", Kind::WhenSet),
    ("permitremoteopen", Kind::Always),
    ("addkeystoagent", Kind::Always),
    ("forwardagent", Kind::Always),
    ("connecttimeout", Kind::Always),
    ("tunneldevice", Kind::Always),
    ("canonicalizePermittedcnames", Kind::Always),
    ("controlpersist", Kind::Always),
    ("escapechar", Kind::Always),
    ("ipqos", Kind::Always),
    ("rekeylimit", Kind::Always),
    ("streamlocalbindmask", Kind::Always),
    ("syslogfacility", Kind::Always),
    ("proxycommand", Kind::WhenSet),
    ("proxyjump", Kind::WhenSet),
];

/// The print order for a client: its `ssh -G -F none` lines, with the lines printed only
/// when set slotted after their predecessor in [`MASTER`].
fn order(client: &Client) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (k, _) in &client.defaults {
        if !out.contains(k) {
            out.push(k.clone());
        }
    }
    for (i, (k, kind)) in MASTER.iter().enumerate() {
        if *kind != Kind::WhenSet {
            continue;
        }
        let name = match *k {
            "revokedhostkeys" if client.at_least(10, 3) => continue,
            "revokedhostkeys+" if !client.at_least(10, 3) => continue,
            "revokedhostkeys+" => "revokedhostkeys",
            other => other,
        };
        if out.iter().any(|o| o == name) {
            continue;
        }
        // After the nearest earlier MASTER entry already placed.
        let pos = MASTER[..i]
            .iter()
            .rev()
            .find_map(|(p, _)| {
                let p = p.trim_end_matches('+');
                out.iter().position(|o| o == p)
            })
            .map_or(0, |p| p + 1);
        out.insert(pos, name.to_string());
    }
    out
}

fn cached_order(client: &'static Client) -> &'static [String] {
    static ORDER: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    ORDER.get_or_init(|| order(client))
}

/// The op behind a printed keyword (the name `lookup_opcode_name` gives it).
fn op_of(keyword: &str) -> Option<Op> {
    crate::openssh::grammar::lookup(keyword).map(|k| k.op)
}

/// `ssh.c` after the last pass, then `dump_client_config`.
pub(crate) fn finish(p: Parts) -> Result<Resolved, Failure> {
    let fatal = |m: String| Failure::fatal_kind(m, ErrorKind::Fatal);
    let client = p.client;
    let o = &p.opts;
    let user = o
        .string(Op::User)
        .map(str::to_string)
        .unwrap_or_else(|| p.local_user.clone());
    let user_origin = o.strings.get(&Op::User).map(|a| a.origin.clone());
    let port = o.int(Op::Port).filter(|v| *v > 0).unwrap_or_else(|| {
        let p = options::a2port("ssh");
        if p > 0 { p } else { 22 }
    });

    // ProxyJump: a jump back to the very host, port and user is ssh's "jumphost loop".
    let jump = o.jump.as_ref().filter(|j| !j.v.is_none());
    if let Some(j) = jump {
        let jport = if j.v.port <= 0 {
            22
        } else {
            i64::from(j.v.port)
        };
        let juser = j.v.user.as_deref().unwrap_or(&user);
        if j.v.host == p.host && jport == port && juser == user {
            return Err(fatal(format!("jumphost loop via {}", j.v.host)));
        }
    }
    let cleared = |op: Op| -> Option<&At<String>> {
        o.strings
            .get(&op)
            .filter(|a| !a.v.eq_ignore_ascii_case("none"))
    };
    if o.int(Op::ConnectionAttempts).is_some_and(|v| v <= 0) {
        return Err(fatal("Invalid number of ConnectionAttempts".into()));
    }
    let remote_command = cleared(Op::RemoteCommand);
    if o.int(Op::ForkAfterAuthentication) == Some(1)
        && remote_command.is_none()
        && o.int(Op::SessionType) != Some(0)
    {
        return Err(fatal(
            "Cannot fork into background without a command to execute.".into(),
        ));
    }

    let thishost = super::eval::this_host();
    let key_alias = o
        .string(Op::HostKeyAlias)
        .map(str::to_lowercase)
        .unwrap_or_else(|| p.host_arg.clone());
    let mut t = Tokens::new();
    t.set(
        'C',
        super::eval::conn_hash(&thishost, &p.host, &port.to_string(), &user),
    );
    t.set('L', thishost.split('.').next().unwrap_or("").to_string());
    t.set('i', crate::os::user::uid().to_string());
    t.set('k', key_alias);
    t.set('l', thishost);
    t.set('n', p.host_arg.clone());
    t.set('p', port.to_string());
    t.set('d', p.home.display().to_string());
    t.set('h', p.host.clone());
    t.set('r', user.clone());
    t.set('u', p.local_user.clone());
    let pd = |s: &str| -> Result<String, Failure> {
        t.percent_dollar(&tokens::tilde(s))
            .map_err(|e| fatal(e.message))
    };
    let pct = |s: &str| -> Result<String, Failure> { t.percent(s).map_err(|e| fatal(e.message)) };

    let mut lines: Vec<(String, String, Option<Origin>)> = Vec::new();
    let mut push = |k: &str, v: String, origin: Option<&Origin>| {
        lines.push((k.to_string(), v, origin.cloned()));
    };
    let default = |k: &str| client.default(k).unwrap_or("").to_string();

    for key in cached_order(client) {
        let k = key.as_str();
        match k {
            "host" => push(k, p.host_arg.clone(), None),
            "user" => push(k, user.clone(), user_origin.as_ref()),
            "hostname" => push(
                k,
                p.host.clone(),
                o.strings.get(&Op::Hostname).map(|a| &a.origin),
            ),
            "port" => push(
                k,
                port.to_string(),
                o.ints.get(&Op::Port).map(|a| &a.origin),
            ),
            "serveraliveinterval" => match o.ints.get(&Op::ServerAliveInterval) {
                Some(a) => push(k, a.v.to_string(), Some(&a.origin)),
                None => match (o.ints.get(&Op::BatchMode), client.batchmode_keepalive) {
                    (Some(b), Some(v)) if b.v == 1 => push(k, v.to_string(), Some(&b.origin)),
                    _ => push(k, default(k), None),
                },
            },
            "updatehostkeys" => match o.ints.get(&Op::UpdateHostKeys) {
                Some(a) => {
                    let mut v = a.v;
                    if v == 2 && ask_incompatible(o, remote_command.is_some()) {
                        v = 0;
                    }
                    push(
                        k,
                        options::format_int(Op::UpdateHostKeys, v),
                        Some(&a.origin),
                    )
                }
                None => {
                    let dns = o.int(Op::VerifyHostKeyDns).unwrap_or(0);
                    let files = &o.user_hostfiles;
                    let plain = files.is_empty()
                        || (files.len() == 1 && files[0].v == "~/.ssh/known_hosts");
                    let v = if dns <= 0 && plain { "true" } else { "false" };
                    push(k, v.into(), None)
                }
            },
            "obscurekeystroketiming" => match o.ints.get(&Op::ObscureKeystrokeTiming) {
                Some(a) => {
                    let v = match a.v {
                        0 => "no".to_string(),
                        20 => "yes".to_string(),
                        n => n.to_string(),
                    };
                    push(k, v, Some(&a.origin))
                }
                None => push(k, default(k), None),
            },
            "ciphers"
            | "macs"
            | "kexalgorithms"
            | "hostkeyalgorithms"
            | "hostbasedacceptedalgorithms"
            | "pubkeyacceptedalgorithms"
            | "casignaturealgorithms" => {
                let op = op_of(k).unwrap_or(Op::Ciphers);
                let all = match op {
                    Op::Ciphers => &client.supported.cipher,
                    Op::Macs => &client.supported.mac,
                    Op::KexAlgorithms => &client.supported.kex,
                    Op::CaSignatureAlgorithms => &client.supported.sig,
                    _ => &client.supported.key_sig,
                };
                let set = o.strings.get(&op);
                let v = algorithms::assemble(set.map(|a| a.v.as_str()), &default(k), all)
                    .ok_or_else(|| {
                        fatal(format!(
                            "{}: {} has no valid algorithm left",
                            k,
                            set.map(|a| a.v.as_str()).unwrap_or("")
                        ))
                    })?;
                push(k, v, set.map(|a| &a.origin));
            }
            "loglevel" => match o.ints.get(&Op::LogLevel) {
                Some(a) => push(
                    k,
                    options::LOG_LEVELS
                        .iter()
                        .find(|(_, v)| *v == a.v)
                        .map(|(n, _)| n.to_string())
                        .unwrap_or_default(),
                    Some(&a.origin),
                ),
                None => push(k, default(k), None),
            },
            "syslogfacility" => match o.ints.get(&Op::LogFacility) {
                Some(a) => push(
                    k,
                    options::LOG_FACILITIES[a.v as usize].to_string(),
                    Some(&a.origin),
                ),
                None => push(k, default(k), None),
            },
            "controlpath" => {
                if let Some(a) = cleared(Op::ControlPath) {
                    push(k, pd(&a.v)?, Some(&a.origin));
                }
            }
            "identityagent" => {
                if let Some(a) = o.strings.get(&Op::IdentityAgent) {
                    push(k, pd(&a.v)?, Some(&a.origin));
                }
            }
            "remotecommand" => {
                if let Some(a) = remote_command {
                    push(k, pct(&a.v)?, Some(&a.origin));
                }
            }
            "localcommand"
            | "pkcs11provider"
            | "knownhostscommand"
            | "securitykeyprovider"
            | "revokedhostkeys"
                if !(k == "revokedhostkeys" && client.at_least(10, 3)) =>
            {
                let op = op_of(k).unwrap_or(Op::LocalCommand);
                match o.strings.get(&op) {
                    Some(a) if a.v.eq_ignore_ascii_case("none") => {}
                    Some(a) => push(k, a.v.clone(), Some(&a.origin)),
                    None if k == "securitykeyprovider" => push(k, default(k), None),
                    None => {}
                }
            }
            "hostkeyalias" => {
                if let Some(a) = o.strings.get(&Op::HostKeyAlias) {
                    push(k, a.v.to_lowercase(), Some(&a.origin));
                }
            }
            "dynamicforward" | "localforward" => {
                for a in &o.local_forwards {
                    // ssh -G's own filter: a forward without a connect host (socket to
                    // socket) is printed under both keywords.
                    let shown = if k == "dynamicforward" {
                        a.v.connect_host.is_none() || a.v.dynamic()
                    } else {
                        !a.v.dynamic()
                    };
                    if shown {
                        let f = expand_paths(&a.v, &pct)?;
                        push(k, f.render(k == "localforward"), Some(&a.origin));
                    }
                }
            }
            "remoteforward" => {
                for a in &o.remote_forwards {
                    let f = expand_paths(&a.v, &pct)?;
                    push(k, f.render(true), Some(&a.origin));
                }
            }
            "identityfile" => {
                if o.identity_files.is_empty() {
                    for d in client.defaults_of("identityfile") {
                        push(k, d.to_string(), None);
                    }
                }
                for a in &o.identity_files {
                    push(k, a.v.0.clone(), Some(&a.origin));
                }
            }
            "certificatefile" => {
                for a in &o.certificate_files {
                    push(k, a.v.0.clone(), Some(&a.origin));
                }
            }
            "canonicaldomains" | "logverbose" | "channeltimeout" | "revokedhostkeys" => {
                let list = match k {
                    "canonicaldomains" => &o.canonical_domains,
                    "logverbose" => &o.log_verbose,
                    "channeltimeout" => &o.channel_timeouts,
                    _ => &o.revoked_host_keys,
                };
                if k == "revokedhostkeys" && list.is_empty() {
                    continue;
                }
                push(k, oneline(list), list.first().map(|a| &a.origin));
            }
            "globalknownhostsfile" => {
                if o.system_hostfiles
                    .first()
                    .is_some_and(|a| a.v.eq_ignore_ascii_case("none"))
                {
                    push(
                        k,
                        "none".into(),
                        o.system_hostfiles.first().map(|a| &a.origin),
                    );
                } else if o.system_hostfiles.is_empty() {
                    push(k, default(k), None);
                } else {
                    push(
                        k,
                        oneline(&o.system_hostfiles),
                        o.system_hostfiles.first().map(|a| &a.origin),
                    );
                }
            }
            "userknownhostsfile" => {
                let first = o.user_hostfiles.first();
                if first.is_some_and(|a| a.v.eq_ignore_ascii_case("none")) {
                    push(k, "none".into(), first.map(|a| &a.origin));
                } else {
                    let raw: Vec<String> = if o.user_hostfiles.is_empty() {
                        vec!["~/.ssh/known_hosts".into(), "~/.ssh/known_hosts2".into()]
                    } else {
                        o.user_hostfiles.iter().map(|a| a.v.clone()).collect()
                    };
                    let files: Result<Vec<String>, Failure> = raw.iter().map(|f| pd(f)).collect();
                    push(k, files?.join(" "), first.map(|a| &a.origin));
                }
            }
            "sendenv" => {
                for a in &o.send_env {
                    push(k, a.v.clone(), Some(&a.origin));
                }
            }
            "setenv" => {
                for a in &o.set_env {
                    push(k, a.v.clone(), Some(&a.origin));
                }
            }
            "permitremoteopen" => {
                if o.permitted_remote_opens.is_empty() {
                    push(k, "any".into(), None);
                } else {
                    push(
                        k,
                        oneline(&o.permitted_remote_opens),
                        o.permitted_remote_opens.first().map(|a| &a.origin),
                    );
                }
            }
            "addkeystoagent" => match o.ints.get(&Op::AddKeysToAgent) {
                Some(a) if o.add_keys_lifespan > 0 => push(
                    if a.v == 3 {
                        "addkeystoagent confirm"
                    } else {
                        k
                    },
                    o.add_keys_lifespan.to_string(),
                    Some(&a.origin),
                ),
                Some(a) => push(
                    k,
                    options::format_int(Op::AddKeysToAgent, a.v),
                    Some(&a.origin),
                ),
                None => push(k, default(k), None),
            },
            "forwardagent" => match (&o.forward_agent_sock, o.ints.get(&Op::ForwardAgent)) {
                (Some(s), _) => push(k, pd(&s.v)?, Some(&s.origin)),
                (None, Some(a)) => push(
                    k,
                    options::format_int(Op::ForwardAgent, a.v),
                    Some(&a.origin),
                ),
                (None, None) => push(k, default(k), None),
            },
            "connecttimeout" => match o.ints.get(&Op::ConnectTimeout) {
                Some(a) => push(k, a.v.to_string(), Some(&a.origin)),
                None => push(k, "none".into(), None),
            },
            "tunneldevice" => match &o.tun_local {
                Some(a) => {
                    let f = |v: i64| {
                        if v == options::TUNID_ANY {
                            "any".to_string()
                        } else {
                            v.to_string()
                        }
                    };
                    push(
                        k,
                        format!("{}:{}", f(a.v), f(o.tun_remote)),
                        Some(&a.origin),
                    )
                }
                None => push(k, default(k), None),
            },
            "canonicalizePermittedcnames" => {
                let real = !(o.permitted_cnames.len() == 1
                    && o.permitted_cnames[0].v.0.eq_ignore_ascii_case("none")
                    && o.permitted_cnames[0].v.1.is_empty());
                if o.permitted_cnames.is_empty() || !real {
                    push(
                        k,
                        "none".into(),
                        o.permitted_cnames.first().map(|a| &a.origin),
                    );
                } else {
                    let v: Vec<String> = o
                        .permitted_cnames
                        .iter()
                        .map(|a| format!("{}:{}", a.v.0, a.v.1))
                        .collect();
                    push(
                        k,
                        v.join(" "),
                        o.permitted_cnames.first().map(|a| &a.origin),
                    );
                }
            }
            "controlpersist" => match o.ints.get(&Op::ControlPersist) {
                Some(a) if a.v != 0 && o.control_persist_timeout != 0 => {
                    push(k, o.control_persist_timeout.to_string(), Some(&a.origin))
                }
                Some(a) => push(
                    k,
                    options::format_int(Op::ControlPersist, a.v),
                    Some(&a.origin),
                ),
                None => push(k, default(k), None),
            },
            "escapechar" => match o.ints.get(&Op::EscapeChar) {
                Some(a) if a.v == options::ESCAPE_NONE => push(k, "none".into(), Some(&a.origin)),
                Some(a) => push(k, vis_char(a.v as u8), Some(&a.origin)),
                None => push(k, default(k), None),
            },
            "ipqos" => match &o.ipqos {
                Some(a) => push(
                    k,
                    format!(
                        "{} {}",
                        options::iptos_name(a.v.0),
                        options::iptos_name(a.v.1)
                    ),
                    Some(&a.origin),
                ),
                None => push(k, default(k), None),
            },
            "rekeylimit" => {
                if o.rekey_limit.is_none() && o.rekey_interval.is_none() {
                    push(k, default(k), None);
                } else {
                    let l = o.rekey_limit.as_ref().map_or(0, |a| a.v);
                    let i = o.rekey_interval.as_ref().map_or(0, |a| a.v);
                    let origin = o
                        .rekey_limit
                        .as_ref()
                        .or(o.rekey_interval.as_ref())
                        .map(|a| &a.origin);
                    push(k, format!("{l} {i}"), origin);
                }
            }
            "streamlocalbindmask" => match &o.stream_local_bind_mask {
                Some(a) => push(k, format!("0{:o}", a.v), Some(&a.origin)),
                None => push(k, default(k), None),
            },
            "proxycommand" => {
                if jump.is_none()
                    && let Some(a) = cleared(Op::ProxyCommand)
                {
                    push(k, a.v.clone(), Some(&a.origin));
                }
            }
            "proxyjump" => {
                if let Some(j) = jump {
                    let numeric = j.v.host.contains(':')
                        || j.v.host.chars().all(|c| c.is_ascii_digit() || c == '.');
                    let mut s = String::new();
                    if let Some(e) = &j.v.extra {
                        s.push_str(e);
                        s.push(',');
                    }
                    if let Some(u) = &j.v.user {
                        s.push_str(u);
                        s.push('@');
                    }
                    if numeric {
                        s.push_str(&format!("[{}]", j.v.host));
                    } else {
                        s.push_str(&j.v.host);
                    }
                    if j.v.port > 0 {
                        s.push_str(&format!(":{}", j.v.port));
                    }
                    push(k, s, Some(&j.origin));
                }
            }
            _ => match op_of(k) {
                // A flag or number the config may set, formatted like fmt_intarg / %d.
                Some(op) => {
                    if let Some(a) = o.ints.get(&op) {
                        let v = if options::table(op).is_some() || matches!(op, Op::FingerprintHash)
                        {
                            options::format_int(op, a.v)
                        } else {
                            a.v.to_string()
                        };
                        push(k, v, Some(&a.origin));
                    } else if let Some(a) = o.strings.get(&op) {
                        push(k, a.v.clone(), Some(&a.origin));
                    } else if client.always_printed(k) {
                        push(k, default(k), None);
                    }
                }
                // A line of this build that herossh does not model: its default.
                None => {
                    if client.always_printed(k) {
                        push(k, default(k), None);
                    }
                }
            },
        }
    }

    let identity_files = p
        .opts
        .identity_files
        .iter()
        .map(|a| Val {
            value: a.v.0.clone(),
            origin: a.origin.clone(),
        })
        .collect();
    let certificate_files = p
        .opts
        .certificate_files
        .iter()
        .map(|a| Val {
            value: a.v.0.clone(),
            origin: a.origin.clone(),
        })
        .collect();
    Ok(Resolved {
        host_arg: p.host_arg,
        hostname: p.host,
        user,
        port: u16::try_from(port).unwrap_or(22),
        lines,
        identity_files,
        certificate_files,
        tokens: t,
        pending_exec: p.pending_exec,
        unreadable: p.unreadable,
        notes: p.notes,
        skipped: p.skipped,
        shadowed: p.opts.shadowed.clone(),
        configured: [
            ("ciphers", Op::Ciphers),
            ("macs", Op::Macs),
            ("kexalgorithms", Op::KexAlgorithms),
            ("hostkeyalgorithms", Op::HostKeyAlgorithms),
            ("pubkeyacceptedalgorithms", Op::PubkeyAcceptedAlgorithms),
            ("casignaturealgorithms", Op::CaSignatureAlgorithms),
        ]
        .into_iter()
        .filter_map(|(k, op)| p.opts.string(op).map(|v| (k, v.to_string())))
        .collect(),
        opts: p.opts,
    })
}

/// UpdateHostKeys=ask is turned off where ssh cannot ask (ssh.c).
fn ask_incompatible(o: &Options, remote_command: bool) -> bool {
    (o.int(Op::ControlPersist).unwrap_or(0) != 0
        && o.string(Op::ControlPath)
            .is_some_and(|p| !p.eq_ignore_ascii_case("none")))
        || remote_command
        || o.int(Op::RequestTty) == Some(0)
        || o.int(Op::LogLevel).is_some_and(|l| l < 3)
}

/// Forward socket paths get `%` tokens (no `~`) before printing.
fn expand_paths(
    f: &Forward,
    pct: &dyn Fn(&str) -> Result<String, Failure>,
) -> Result<Forward, Failure> {
    let mut f = f.clone();
    if let Some(p) = &f.listen_path {
        f.listen_path = Some(pct(p)?);
    }
    if let Some(p) = &f.connect_path {
        f.connect_path = Some(pct(p)?);
    }
    Ok(f)
}

fn oneline(list: &[At<String>]) -> String {
    if list.is_empty() {
        return "none".into();
    }
    list.iter()
        .map(|a| a.v.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `vis(c, VIS_WHITE)` for the escape character.
fn vis_char(c: u8) -> String {
    match c {
        b'\\' => "\\\\".into(),
        0x21..=0x7e => (c as char).to_string(),
        b' ' => "\\040".into(),
        b'\t' => "\\t".into(),
        b'\n' => "\\n".into(),
        0..=0x1f => format!("\\^{}", (c + 64) as char),
        0x7f => "\\^?".into(),
        _ => format!("\\{:03o}", c),
    }
}

impl Failure {
    pub(crate) fn fatal_kind(message: String, kind: ErrorKind) -> Failure {
        Failure {
            errors: vec![super::eval::ConfigError {
                file: None,
                line: 0,
                message: message.clone(),
                kind,
            }],
            message,
        }
    }
}
