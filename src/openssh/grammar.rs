//! The ssh_config grammar: every keyword any OpenSSH client herossh models knows (upstream
//! `readconf.c` from 8.x to 10.x, Debian's and Ubuntu's patches, Apple's build), what it
//! means, and in which builds it exists.
//!
//! Which of them the *installed* ssh accepts is not guessed from its version number: the
//! client model ([`super::client`]) asks the binary once (a throwaway config with every
//! keyword, read by `ssh -G`) and caches the answer, so a keyword is refused exactly when this
//! ssh refuses it ("Bad configuration option"), whatever vendor patches it carries. The
//! availability recorded here is what the built-in profile (no ssh installed) and that probe
//! start from.

/// What a keyword does (OpenSSH's opcode, under one name per meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Host,
    Match,
    Include,
    // Flags and multistate options.
    ForwardAgent,
    ForwardX11,
    ForwardX11Trusted,
    ForwardX11Timeout,
    GatewayPorts,
    ExitOnForwardFailure,
    PasswordAuthentication,
    KbdInteractiveAuthentication,
    KbdInteractiveDevices,
    PubkeyAuthentication,
    HostbasedAuthentication,
    GssAuthentication,
    GssKeyEx,
    GssDelegateCreds,
    GssTrustDns,
    GssClientIdentity,
    GssServerIdentity,
    GssRenewalRekey,
    GssKexAlgorithms,
    BatchMode,
    CheckHostIp,
    VerifyHostKeyDns,
    StrictHostKeyChecking,
    Compression,
    TcpKeepAlive,
    NoHostAuthenticationForLocalhost,
    NumberOfPasswordPrompts,
    RekeyLimit,
    IdentityFile,
    CertificateFile,
    XAuthLocation,
    User,
    GlobalKnownHostsFile,
    UserKnownHostsFile,
    Hostname,
    HostKeyAlias,
    PreferredAuthentications,
    BindAddress,
    BindInterface,
    Pkcs11Provider,
    SecurityKeyProvider,
    KnownHostsCommand,
    ProxyCommand,
    ProxyJump,
    Port,
    ConnectionAttempts,
    Ciphers,
    Macs,
    KexAlgorithms,
    HostKeyAlgorithms,
    CaSignatureAlgorithms,
    LogLevel,
    LogFacility,
    LogVerbose,
    LocalForward,
    RemoteForward,
    DynamicForward,
    PermitRemoteOpen,
    ClearAllForwardings,
    EscapeChar,
    AddressFamily,
    EnableSshKeysign,
    IdentitiesOnly,
    ServerAliveInterval,
    ServerAliveCountMax,
    SendEnv,
    SetEnv,
    ControlPath,
    ControlMaster,
    ControlPersist,
    HashKnownHosts,
    Tunnel,
    TunnelDevice,
    LocalCommand,
    PermitLocalCommand,
    RemoteCommand,
    VisualHostKey,
    IpQos,
    RequestTty,
    SessionType,
    StdinNull,
    ForkAfterAuthentication,
    IgnoreUnknown,
    ProxyUseFdpass,
    CanonicalDomains,
    CanonicalizeHostname,
    CanonicalizeMaxDots,
    CanonicalizeFallbackLocal,
    CanonicalizePermittedCnames,
    StreamLocalBindMask,
    StreamLocalBindUnlink,
    RevokedHostKeys,
    FingerprintHash,
    UpdateHostKeys,
    HostbasedAcceptedAlgorithms,
    PubkeyAcceptedAlgorithms,
    AddKeysToAgent,
    IdentityAgent,
    ConnectTimeout,
    RequiredRsaSize,
    EnableEscapeCommandline,
    // Newer upstream keywords.
    Tag,
    ObscureKeystrokeTiming,
    ChannelTimeout,
    VersionAddendum,
    RefuseConnection,
    WarnWeakCrypto,
    // Apple's build.
    UseKeychain,
    AppleMultipath,
    NoHostAuthenticationForProxyCommand,
    // Accepted without effect.
    /// `Protocol`: silently ignored.
    Ignore,
    /// A debug message ("Deprecated option"), no effect.
    Deprecated,
    /// "Unsupported option" printed, no effect, not fatal.
    Unsupported,
}

/// In which clients a keyword exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Avail {
    /// Every client herossh models (OpenSSH ≥ 8.x).
    Always,
    /// Upstream since this version.
    Since(u32, u32),
    /// Only with Debian's/Ubuntu's patches.
    Debian,
    /// Only in Apple's build.
    Apple,
}

/// One keyword: its name (lower case, as ssh matches it), meaning, availability, and a value
/// every client that knows it accepts (for the grammar probe).
#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    pub name: &'static str,
    pub op: Op,
    pub avail: Avail,
    pub sample: &'static str,
}

const fn kw(name: &'static str, op: Op, avail: Avail, sample: &'static str) -> Keyword {
    Keyword {
        name,
        op,
        avail,
        sample,
    }
}

use Avail::*;

/// Every keyword, in the order of OpenSSH's table: when several names share an op, the first
/// is the one `ssh -G` prints (`lookup_opcode_name`).
pub static KEYWORDS: &[Keyword] = &[
    kw("protocol", Op::Ignore, Always, "2"),
    kw("cipher", Op::Deprecated, Always, "x"),
    kw("fallbacktorsh", Op::Deprecated, Always, "no"),
    kw("globalknownhostsfile2", Op::Deprecated, Always, "x"),
    kw("rhostsauthentication", Op::Deprecated, Always, "no"),
    kw("useblacklistedkeys", Op::Deprecated, Debian, "no"),
    kw("userknownhostsfile2", Op::Deprecated, Always, "x"),
    kw("useroaming", Op::Deprecated, Always, "no"),
    kw("usersh", Op::Deprecated, Always, "no"),
    kw("useprivilegedport", Op::Deprecated, Always, "no"),
    kw("afstokenpassing", Op::Unsupported, Always, "no"),
    kw("kerberosauthentication", Op::Unsupported, Always, "no"),
    kw("kerberostgtpassing", Op::Unsupported, Always, "no"),
    kw("rsaauthentication", Op::Unsupported, Always, "no"),
    kw("rhostsrsaauthentication", Op::Unsupported, Always, "no"),
    kw("compressionlevel", Op::Unsupported, Always, "6"),
    kw("gssapiauthentication", Op::GssAuthentication, Always, "no"),
    kw("gssapikeyexchange", Op::GssKeyEx, Debian, "no"),
    kw(
        "gssapidelegatecredentials",
        Op::GssDelegateCreds,
        Always,
        "no",
    ),
    kw("gssapitrustdns", Op::GssTrustDns, Debian, "no"),
    kw("gssapiclientidentity", Op::GssClientIdentity, Debian, "x"),
    kw("gssapiserveridentity", Op::GssServerIdentity, Debian, "x"),
    kw(
        "gssapirenewalforcesrekey",
        Op::GssRenewalRekey,
        Debian,
        "no",
    ),
    kw(
        "gssapikexalgorithms",
        Op::GssKexAlgorithms,
        Debian,
        "gss-group14-sha256-",
    ),
    kw("pkcs11provider", Op::Pkcs11Provider, Always, "none"),
    kw("smartcarddevice", Op::Pkcs11Provider, Always, "none"),
    kw("forwardagent", Op::ForwardAgent, Always, "no"),
    kw("forwardx11", Op::ForwardX11, Always, "no"),
    kw("forwardx11trusted", Op::ForwardX11Trusted, Always, "no"),
    kw("forwardx11timeout", Op::ForwardX11Timeout, Always, "1"),
    kw(
        "exitonforwardfailure",
        Op::ExitOnForwardFailure,
        Always,
        "no",
    ),
    kw("xauthlocation", Op::XAuthLocation, Always, "x"),
    kw("gatewayports", Op::GatewayPorts, Always, "no"),
    kw(
        "passwordauthentication",
        Op::PasswordAuthentication,
        Always,
        "no",
    ),
    kw(
        "kbdinteractiveauthentication",
        Op::KbdInteractiveAuthentication,
        Always,
        "no",
    ),
    kw(
        "kbdinteractivedevices",
        Op::KbdInteractiveDevices,
        Always,
        "x",
    ),
    kw(
        "challengeresponseauthentication",
        Op::KbdInteractiveAuthentication,
        Always,
        "no",
    ),
    kw(
        "skeyauthentication",
        Op::KbdInteractiveAuthentication,
        Since(8, 7),
        "no",
    ),
    kw(
        "tisauthentication",
        Op::KbdInteractiveAuthentication,
        Always,
        "no",
    ),
    kw(
        "pubkeyauthentication",
        Op::PubkeyAuthentication,
        Always,
        "no",
    ),
    kw("dsaauthentication", Op::PubkeyAuthentication, Always, "no"),
    kw(
        "hostbasedauthentication",
        Op::HostbasedAuthentication,
        Always,
        "no",
    ),
    kw("identityfile", Op::IdentityFile, Always, "x"),
    kw("identityfile2", Op::IdentityFile, Always, "x"),
    kw("identitiesonly", Op::IdentitiesOnly, Always, "no"),
    kw("certificatefile", Op::CertificateFile, Always, "x"),
    kw("addkeystoagent", Op::AddKeysToAgent, Always, "no"),
    kw("identityagent", Op::IdentityAgent, Always, "none"),
    kw("hostname", Op::Hostname, Always, "x"),
    kw("hostkeyalias", Op::HostKeyAlias, Always, "x"),
    kw("proxycommand", Op::ProxyCommand, Always, "none"),
    kw("port", Op::Port, Always, "22"),
    kw("ciphers", Op::Ciphers, Always, "aes128-ctr"),
    kw("macs", Op::Macs, Always, "hmac-sha2-256"),
    kw("remoteforward", Op::RemoteForward, Always, "1 h:1"),
    kw("localforward", Op::LocalForward, Always, "1 h:1"),
    kw("permitremoteopen", Op::PermitRemoteOpen, Since(8, 5), "any"),
    kw("user", Op::User, Always, "x"),
    kw("host", Op::Host, Always, "x"),
    kw("match", Op::Match, Always, "all"),
    kw("tag", Op::Tag, Since(9, 4), "x"),
    kw("escapechar", Op::EscapeChar, Always, "~"),
    kw(
        "globalknownhostsfile",
        Op::GlobalKnownHostsFile,
        Always,
        "x",
    ),
    kw("userknownhostsfile", Op::UserKnownHostsFile, Always, "x"),
    kw("connectionattempts", Op::ConnectionAttempts, Always, "1"),
    kw("batchmode", Op::BatchMode, Always, "no"),
    kw("checkhostip", Op::CheckHostIp, Always, "no"),
    kw(
        "stricthostkeychecking",
        Op::StrictHostKeyChecking,
        Always,
        "ask",
    ),
    kw("compression", Op::Compression, Always, "no"),
    kw("tcpkeepalive", Op::TcpKeepAlive, Always, "no"),
    kw("keepalive", Op::TcpKeepAlive, Always, "no"),
    kw(
        "numberofpasswordprompts",
        Op::NumberOfPasswordPrompts,
        Always,
        "3",
    ),
    kw("syslogfacility", Op::LogFacility, Always, "USER"),
    kw("loglevel", Op::LogLevel, Always, "INFO"),
    kw("logverbose", Op::LogVerbose, Since(8, 5), "none"),
    kw("dynamicforward", Op::DynamicForward, Always, "1"),
    kw(
        "preferredauthentications",
        Op::PreferredAuthentications,
        Always,
        "publickey",
    ),
    kw(
        "hostkeyalgorithms",
        Op::HostKeyAlgorithms,
        Always,
        "ssh-ed25519",
    ),
    kw(
        "casignaturealgorithms",
        Op::CaSignatureAlgorithms,
        Always,
        "ssh-ed25519",
    ),
    kw("bindaddress", Op::BindAddress, Always, "x"),
    kw("bindinterface", Op::BindInterface, Always, "x"),
    kw("clearallforwardings", Op::ClearAllForwardings, Always, "no"),
    kw("enablesshkeysign", Op::EnableSshKeysign, Always, "no"),
    kw("verifyhostkeydns", Op::VerifyHostKeyDns, Always, "no"),
    kw(
        "nohostauthenticationforlocalhost",
        Op::NoHostAuthenticationForLocalhost,
        Always,
        "no",
    ),
    kw("rekeylimit", Op::RekeyLimit, Always, "default"),
    kw("connecttimeout", Op::ConnectTimeout, Always, "1"),
    kw("addressfamily", Op::AddressFamily, Always, "any"),
    kw("serveraliveinterval", Op::ServerAliveInterval, Always, "0"),
    kw("serveralivecountmax", Op::ServerAliveCountMax, Always, "3"),
    kw("sendenv", Op::SendEnv, Always, "x"),
    kw("setenv", Op::SetEnv, Always, "x=y"),
    kw("controlpath", Op::ControlPath, Always, "none"),
    kw("controlmaster", Op::ControlMaster, Always, "no"),
    kw("controlpersist", Op::ControlPersist, Always, "no"),
    kw("hashknownhosts", Op::HashKnownHosts, Always, "no"),
    kw("include", Op::Include, Always, "/nonexistent/herossh-probe"),
    kw("tunnel", Op::Tunnel, Always, "no"),
    kw("tunneldevice", Op::TunnelDevice, Always, "any:any"),
    kw("localcommand", Op::LocalCommand, Always, "x"),
    kw("permitlocalcommand", Op::PermitLocalCommand, Always, "no"),
    kw("remotecommand", Op::RemoteCommand, Always, "x"),
    kw("visualhostkey", Op::VisualHostKey, Always, "no"),
    kw(
        "kexalgorithms",
        Op::KexAlgorithms,
        Always,
        "curve25519-sha256",
    ),
    kw("ipqos", Op::IpQos, Always, "af21"),
    kw("requesttty", Op::RequestTty, Always, "auto"),
    kw("sessiontype", Op::SessionType, Since(8, 7), "default"),
    kw("stdinnull", Op::StdinNull, Since(8, 7), "no"),
    kw(
        "forkafterauthentication",
        Op::ForkAfterAuthentication,
        Since(8, 7),
        "no",
    ),
    kw("proxyusefdpass", Op::ProxyUseFdpass, Always, "no"),
    kw("canonicaldomains", Op::CanonicalDomains, Always, "none"),
    kw(
        "canonicalizefallbacklocal",
        Op::CanonicalizeFallbackLocal,
        Always,
        "yes",
    ),
    kw(
        "canonicalizehostname",
        Op::CanonicalizeHostname,
        Always,
        "no",
    ),
    kw("canonicalizemaxdots", Op::CanonicalizeMaxDots, Always, "1"),
    kw(
        "canonicalizepermittedcnames",
        Op::CanonicalizePermittedCnames,
        Always,
        "none",
    ),
    kw(
        "streamlocalbindmask",
        Op::StreamLocalBindMask,
        Always,
        "0177",
    ),
    kw(
        "streamlocalbindunlink",
        Op::StreamLocalBindUnlink,
        Always,
        "no",
    ),
    kw("revokedhostkeys", Op::RevokedHostKeys, Always, "none"),
    kw("fingerprinthash", Op::FingerprintHash, Always, "sha256"),
    kw("updatehostkeys", Op::UpdateHostKeys, Always, "no"),
    kw(
        "hostbasedacceptedalgorithms",
        Op::HostbasedAcceptedAlgorithms,
        Since(8, 7),
        "ssh-ed25519",
    ),
    kw(
        "hostbasedkeytypes",
        Op::HostbasedAcceptedAlgorithms,
        Always,
        "ssh-ed25519",
    ),
    kw(
        "pubkeyacceptedalgorithms",
        Op::PubkeyAcceptedAlgorithms,
        Since(8, 5),
        "ssh-ed25519",
    ),
    kw(
        "pubkeyacceptedkeytypes",
        Op::PubkeyAcceptedAlgorithms,
        Always,
        "ssh-ed25519",
    ),
    kw("ignoreunknown", Op::IgnoreUnknown, Always, "x"),
    kw("proxyjump", Op::ProxyJump, Always, "none"),
    kw(
        "securitykeyprovider",
        Op::SecurityKeyProvider,
        Since(8, 2),
        "internal",
    ),
    kw(
        "knownhostscommand",
        Op::KnownHostsCommand,
        Since(8, 5),
        "none",
    ),
    kw("requiredrsasize", Op::RequiredRsaSize, Since(9, 1), "1024"),
    kw(
        "enableescapecommandline",
        Op::EnableEscapeCommandline,
        Since(9, 2),
        "no",
    ),
    kw(
        "obscurekeystroketiming",
        Op::ObscureKeystrokeTiming,
        Since(9, 5),
        "no",
    ),
    kw("channeltimeout", Op::ChannelTimeout, Since(9, 6), "none"),
    kw("versionaddendum", Op::VersionAddendum, Since(10, 0), "none"),
    kw(
        "refuseconnection",
        Op::RefuseConnection,
        Since(10, 1),
        "herossh-probe",
    ),
    kw("warnweakcrypto", Op::WarnWeakCrypto, Since(10, 1), "no"),
    kw("protocolkeepalives", Op::ServerAliveInterval, Debian, "0"),
    kw("setuptimeout", Op::ServerAliveInterval, Debian, "0"),
    kw("usekeychain", Op::UseKeychain, Apple, "no"),
    kw("applemultipath", Op::AppleMultipath, Apple, "no"),
    kw(
        "nohostauthenticationforproxycommand",
        Op::NoHostAuthenticationForProxyCommand,
        Apple,
        "no",
    ),
];

/// The table entry for a lower-case keyword, known to any build. Every line of every config
/// file is looked up, so the table is indexed once per process.
pub fn lookup(name: &str) -> Option<&'static Keyword> {
    type Index = std::collections::HashMap<&'static str, &'static Keyword, NameHash>;
    static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    INDEX
        .get_or_init(|| {
            let mut index = Index::with_capacity_and_hasher(KEYWORDS.len(), NameHash);
            for k in KEYWORDS {
                // The first entry of a name is the one that counts (as in readconf.c's table).
                index.entry(k.name).or_insert(k);
            }
            index
        })
        .get(name)
        .copied()
}

/// FNV-1a for the keyword index: its keys are a fixed table of short names, not input an
/// attacker chooses, so the DoS-resistant default hasher only costs time on every line.
#[derive(Clone, Copy, Default)]
struct NameHash;

impl std::hash::BuildHasher for NameHash {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl Keyword {
    /// This entry's position in [`KEYWORDS`], for tables indexed by keyword.
    pub fn position(&'static self) -> usize {
        let base = KEYWORDS.as_ptr() as usize;
        let i =
            (self as *const Keyword as usize).wrapping_sub(base) / std::mem::size_of::<Keyword>();
        assert!(std::ptr::eq(&KEYWORDS[i], self), "not an entry of KEYWORDS");
        i
    }
}

/// [`lookup`] for a keyword as written, in any case.
pub fn lookup_ci(name: &str) -> Option<&'static Keyword> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        lookup(&name.to_ascii_lowercase())
    } else {
        lookup(name)
    }
}

/// The name `ssh -G` prints for an op: the first table entry with it.
pub fn printed_name(op: Op) -> &'static str {
    KEYWORDS
        .iter()
        .find(|k| k.op == op)
        .map(|k| k.name)
        .unwrap_or("unknown")
}

/// Whether every active line of the keyword adds a value (readconf.c appends IdentityFile,
/// CertificateFile, the forwards and SendEnv to a list), where for every other keyword the
/// first value read wins and later lines are ignored.
pub fn accumulates(op: Op) -> bool {
    matches!(
        op,
        Op::IdentityFile
            | Op::CertificateFile
            | Op::LocalForward
            | Op::RemoteForward
            | Op::DynamicForward
            | Op::SendEnv
    )
}

/// Whether ssh accepts the keyword without any effect (`Protocol`, deprecated and unsupported
/// options): setting it changes nothing.
pub fn is_inert(op: Op) -> bool {
    matches!(op, Op::Ignore | Op::Deprecated | Op::Unsupported)
}

/// `Match` criteria (besides `all`, `canonical` and `final`), with the version that added
/// them upstream.
pub const MATCH_CRITERIA: &[(&str, (u32, u32))] = &[
    ("host", (0, 0)),
    ("originalhost", (0, 0)),
    ("user", (0, 0)),
    ("localuser", (0, 0)),
    ("exec", (0, 0)),
    ("localnetwork", (9, 4)),
    ("tagged", (9, 4)),
    ("command", (10, 0)),
    ("version", (10, 0)),
    ("sessiontype", (10, 0)),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_case_and_unique() {
        for (i, k) in KEYWORDS.iter().enumerate() {
            assert_eq!(k.name, k.name.to_ascii_lowercase());
            assert!(
                KEYWORDS[..i].iter().all(|o| o.name != k.name),
                "{} twice",
                k.name
            );
        }
    }

    #[test]
    fn printed_names_are_the_first_alias() {
        assert_eq!(
            printed_name(Op::KbdInteractiveAuthentication),
            "kbdinteractiveauthentication"
        );
        assert_eq!(
            printed_name(Op::PubkeyAuthentication),
            "pubkeyauthentication"
        );
        assert_eq!(printed_name(Op::ServerAliveInterval), "serveraliveinterval");
        assert_eq!(printed_name(Op::LogFacility), "syslogfacility");
        assert_eq!(printed_name(Op::Pkcs11Provider), "pkcs11provider");
        assert_eq!(
            printed_name(Op::PubkeyAcceptedAlgorithms),
            "pubkeyacceptedalgorithms"
        );
    }
}
