//! The keywords OpenSSH 9.x's client knows (`readconf.c`), with their aliases, so that an
//! unknown keyword is reported exactly when `ssh` would report it ("Bad configuration
//! option"), and deprecated or unsupported ones are accepted as `ssh` accepts them.

/// How `ssh` treats a keyword it recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// A live option, under its canonical (lower-case) name.
    Option(&'static str),
    /// Accepted and ignored (deprecated, unsupported in this build, or `Protocol`).
    Ignored,
}

/// Look up a lower-case keyword. `None`: "Bad configuration option" unless IgnoreUnknown
/// covers it.
pub fn lookup(keyword: &str) -> Option<Known> {
    let canonical = match keyword {
        // Aliases and obsolete spellings that still work.
        "challengeresponseauthentication" | "skeyauthentication" | "tisauthentication" => {
            "kbdinteractiveauthentication"
        }
        "dsaauthentication" => "pubkeyauthentication",
        "identityfile2" => "identityfile",
        "keepalive" => "tcpkeepalive",
        "hostbasedkeytypes" => "hostbasedacceptedalgorithms",
        "pubkeyacceptedkeytypes" => "pubkeyacceptedalgorithms",
        "smartcarddevice" => "pkcs11provider",
        // Debian's keepalive patch.
        "protocolkeepalives" | "setuptimeout" => "serveraliveinterval",
        // Deprecated / unsupported: a debug message in ssh, never an error.
        "protocol"
        | "cipher"
        | "fallbacktorsh"
        | "globalknownhostsfile2"
        | "rhostsauthentication"
        | "userknownhostsfile2"
        | "useroaming"
        | "usersh"
        | "useprivilegedport"
        | "afstokenpassing"
        | "kerberosauthentication"
        | "kerberostgtpassing"
        | "rsaauthentication"
        | "rhostsrsaauthentication"
        | "compressionlevel" => return Some(Known::Ignored),
        k => return OPTIONS.iter().find(|o| **o == k).map(|o| Known::Option(o)),
    };
    Some(Known::Option(canonical))
}

/// Every live client option of OpenSSH 9.2 (Debian builds include the GSSAPI key-exchange
/// patch, hence the gssapi* family).
const OPTIONS: &[&str] = &[
    "addkeystoagent",
    "addressfamily",
    "batchmode",
    "bindaddress",
    "bindinterface",
    "canonicaldomains",
    "canonicalizefallbacklocal",
    "canonicalizehostname",
    "canonicalizemaxdots",
    "canonicalizepermittedcnames",
    "casignaturealgorithms",
    "certificatefile",
    "checkhostip",
    "ciphers",
    "clearallforwardings",
    "compression",
    "connectionattempts",
    "connecttimeout",
    "controlmaster",
    "controlpath",
    "controlpersist",
    "dynamicforward",
    "enableescapecommandline",
    "enablesshkeysign",
    "escapechar",
    "exitonforwardfailure",
    "fingerprinthash",
    "forkafterauthentication",
    "forwardagent",
    "forwardx11",
    "forwardx11timeout",
    "forwardx11trusted",
    "gatewayports",
    "globalknownhostsfile",
    "gssapiauthentication",
    "gssapiclientidentity",
    "gssapidelegatecredentials",
    "gssapikeyexchange",
    "gssapikexalgorithms",
    "gssapirenewalforcesrekey",
    "gssapiserveridentity",
    "gssapitrustdns",
    "hashknownhosts",
    "host",
    "hostbasedacceptedalgorithms",
    "hostbasedauthentication",
    "hostkeyalgorithms",
    "hostkeyalias",
    "hostname",
    "identitiesonly",
    "identityagent",
    "identityfile",
    "ignoreunknown",
    "include",
    "ipqos",
    "kbdinteractiveauthentication",
    "kbdinteractivedevices",
    "kexalgorithms",
    "knownhostscommand",
    "localcommand",
    "localforward",
    "loglevel",
    "logverbose",
    "macs",
    "match",
    "nohostauthenticationforlocalhost",
    "numberofpasswordprompts",
    "passwordauthentication",
    "permitlocalcommand",
    "permitremoteopen",
    "pkcs11provider",
    "port",
    "preferredauthentications",
    "proxycommand",
    "proxyjump",
    "proxyusefdpass",
    "pubkeyacceptedalgorithms",
    "pubkeyauthentication",
    "rekeylimit",
    "remotecommand",
    "remoteforward",
    "requesttty",
    "requiredrsasize",
    "revokedhostkeys",
    "securitykeyprovider",
    "sendenv",
    "serveralivecountmax",
    "serveraliveinterval",
    "sessiontype",
    "setenv",
    "stdinnull",
    "streamlocalbindmask",
    "streamlocalbindunlink",
    "stricthostkeychecking",
    "syslogfacility",
    "tcpkeepalive",
    "tunnel",
    "tunneldevice",
    "updatehostkeys",
    "user",
    "userknownhostsfile",
    "verifyhostkeydns",
    "visualhostkey",
    "xauthlocation",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(lookup("hostname"), Some(Known::Option("hostname")));
        assert_eq!(
            lookup("pubkeyacceptedkeytypes"),
            Some(Known::Option("pubkeyacceptedalgorithms"))
        );
        assert_eq!(lookup("protocol"), Some(Known::Ignored));
        assert_eq!(lookup("usekeychain"), None);
    }
}
