//! `PubkeyAcceptedAlgorithms` as `ssh -G` prints it: OpenSSH's `kex_assemble_names` applied
//! to the default and supported lists of the OpenSSH 9.2 client (`+` appends to the default,
//! `-` removes from it, `^` puts first; patterns expand against the supported list).

use super::pattern::{self, ListMatch};

/// The client's default `PubkeyAcceptedAlgorithms` (OpenSSH 9.2).
pub const DEFAULT_PUBKEY: &str = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";

/// Every signature algorithm the client supports, in `ssh -Q PubkeyAcceptedAlgorithms` order.
pub const ALL_PUBKEY: &str = "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-dss-cert-v01@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com";

fn cat(a: &mut Vec<String>, b: impl IntoIterator<Item = String>) {
    for n in b {
        if !n.is_empty() && !a.contains(&n) {
            a.push(n);
        }
    }
}

/// The effective list for a configured value.
pub fn assemble(value: &str) -> String {
    let names = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
    let list = if let Some(rest) = value.strip_prefix('+') {
        let mut l = names(DEFAULT_PUBKEY);
        cat(&mut l, names(rest));
        l
    } else if let Some(rest) = value.strip_prefix('-') {
        return DEFAULT_PUBKEY
            .split(',')
            .filter(|n| pattern::match_list(n, rest, false) != ListMatch::Yes)
            .collect::<Vec<_>>()
            .join(",");
    } else if let Some(rest) = value.strip_prefix('^') {
        let mut l = names(rest);
        cat(&mut l, names(DEFAULT_PUBKEY));
        l
    } else {
        names(value)
    };
    let mut out = Vec::new();
    for pat in list {
        cat(
            &mut out,
            ALL_PUBKEY
                .split(',')
                .filter(|n| pattern::match_list(n, &pat, false) == ListMatch::Yes)
                .map(str::to_string),
        );
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(assemble("+ssh-rsa"), format!("{DEFAULT_PUBKEY},ssh-rsa"));
        assert_eq!(assemble("ssh-ed25519,bogus"), "ssh-ed25519");
        assert_eq!(
            assemble("rsa-sha2-*"),
            "rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com"
        );
        assert!(!assemble("-*cert*").contains("cert"));
        assert!(assemble("^ssh-rsa").starts_with("ssh-rsa,ssh-ed25519-cert"));
    }
}
