//! Algorithm negotiation as the installed ssh does it (`sshconnect2.c` `ssh_kex2`,
//! `order_hostkeyalgs`; `kex.c` `kex_choose_conf`): ssh's proposal for this host, the server's
//! offer, and the outcome ssh reaches — the algorithms it agrees on, or the exact failure it
//! stops with ("Unable to negotiate with HOST port N: no matching host key type found. Their
//! offer: ssh-rsa"). russh is then told to negotiate the same host key algorithm, so the key
//! herossh checks against known_hosts is the one ssh would check.

use std::borrow::Cow;

use russh::keys::ssh_key::Algorithm;
use serde::Serialize;

use super::kexinit::ServerOffer;
use super::known_hosts::{KnownHosts, Marker};
use crate::sshconfig::Resolved;

/// ssh's side of the handshake for one host.
#[derive(Debug, Clone, Default)]
pub struct Proposal {
    pub kex: Vec<String>,
    /// HostKeyAlgorithms, reordered by known_hosts unless the config fixes the order.
    pub host_key: Vec<String>,
    pub cipher: Vec<String>,
    pub mac: Vec<String>,
    pub compression: Vec<String>,
}

/// What is negotiated, named as ssh names it in its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Kex,
    HostKey,
    Cipher,
    Mac,
    Compression,
}

impl Category {
    /// ssh's words: "no matching {this} found".
    pub fn words(self) -> &'static str {
        match self {
            Category::Kex => "key exchange method",
            Category::HostKey => "host key type",
            Category::Cipher => "cipher",
            Category::Mac => "MAC",
            Category::Compression => "compression method",
        }
    }

    /// The ssh_config keyword that changes ssh's side of it.
    pub fn keyword(self) -> &'static str {
        match self {
            Category::Kex => "KexAlgorithms",
            Category::HostKey => "HostKeyAlgorithms",
            Category::Cipher => "Ciphers",
            Category::Mac => "MACs",
            Category::Compression => "Compression",
        }
    }
}

/// The outcome of negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Agreed {
        kex: String,
        host_key: String,
        cipher: String,
        mac: Option<String>,
    },
    /// ssh stops: nothing in common. `their_offer` is the server's list as ssh prints it;
    /// `supported` are the algorithms of that offer this ssh could enable per host.
    NoMatch {
        what: Category,
        their_offer: Vec<String>,
        supported: Vec<String>,
    },
}

impl Outcome {
    /// An algorithm ssh agrees on with the server where the probe (russh) can speak nothing
    /// the server offers in that category: the probe's handshake then fails where ssh's
    /// succeeds.
    pub fn probe_lacks(&self, offer: &super::kexinit::ServerOffer) -> Option<String> {
        let Outcome::Agreed {
            kex,
            host_key,
            cipher,
            mac,
        } = self
        else {
            return None;
        };
        let none =
            |names: &[String], speaks: &dyn Fn(&str) -> bool| !names.iter().any(|n| speaks(n));
        if none(&offer.kex, &|n| russh::kex::Name::try_from(n).is_ok()) {
            return Some(kex.clone());
        }
        let host_keys = |n: &str| {
            !is_cert(n)
                && n.parse::<Algorithm>().is_ok_and(|a| {
                    !matches!(a, Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256)
                })
        };
        if none(&offer.host_key, &host_keys) {
            return Some(host_key.clone());
        }
        let ciphers = |n: &str| russh::cipher::Name::try_from(n).is_ok();
        if none(&offer.cipher_ctos, &ciphers) || none(&offer.cipher_stoc, &ciphers) {
            return Some(cipher.clone());
        }
        let macs = |n: &str| russh::mac::Name::try_from(n).is_ok();
        if let Some(m) = mac
            && (none(&offer.mac_ctos, &macs) || none(&offer.mac_stoc, &macs))
        {
            return Some(m.clone());
        }
        None
    }
}

/// The key type a host key algorithm name stands for, plain (certificates and signature
/// variants folded), as `sshkey_type_plain(sshkey_type_from_name())` plus the ECDSA curve.
pub fn key_class(name: &str) -> Option<&'static str> {
    let n = name.strip_suffix("-cert-v01@openssh.com").unwrap_or(name);
    Some(match n {
        "ssh-ed25519" => "ed25519",
        "sk-ssh-ed25519@openssh.com" | "sk-ssh-ed25519" => "sk-ed25519",
        "ecdsa-sha2-nistp256" => "ecdsa-p256",
        "ecdsa-sha2-nistp384" => "ecdsa-p384",
        "ecdsa-sha2-nistp521" => "ecdsa-p521",
        "sk-ecdsa-sha2-nistp256@openssh.com" | "sk-ecdsa-sha2-nistp256" => "sk-ecdsa",
        "ssh-rsa" | "rsa-sha2-256" | "rsa-sha2-512" => "rsa",
        "ssh-dss" => "dsa",
        _ => return None,
    })
}

fn is_cert(name: &str) -> bool {
    name.ends_with("-cert-v01@openssh.com")
}

fn csv(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

impl Proposal {
    /// ssh's proposal for `r` (the host as `ssh -G` resolves it), with known_hosts `known`
    /// looked up under `known_name`.
    pub fn for_host(r: &Resolved, known: &KnownHosts, known_name: &str) -> Proposal {
        let mut kex = csv(r.get("kexalgorithms").unwrap_or_default());
        for extra in ["ext-info-c", "kex-strict-c-v00@openssh.com"] {
            if !kex.iter().any(|k| k == extra) {
                kex.push(extra.to_string());
            }
        }
        let configured = r.configured("hostkeyalgorithms");
        let use_known_hosts_order =
            configured.is_none_or(|c| c.starts_with('-') || c.starts_with('+'));
        let host_key = csv(r.get("hostkeyalgorithms").unwrap_or_default());
        let host_key = if use_known_hosts_order {
            order_host_key_algs(&host_key, known, known_name)
        } else {
            host_key
        };
        let compression = if r.get("compression") == Some("yes") {
            csv("zlib@openssh.com,zlib,none")
        } else {
            csv("none,zlib@openssh.com,zlib")
        };
        Proposal {
            kex,
            host_key,
            cipher: csv(r.get("ciphers").unwrap_or_default()),
            mac: csv(r.get("macs").unwrap_or_default()),
            compression,
        }
    }

    /// `kex_choose_conf`: first kex, then host key, then per direction cipher, MAC (unless
    /// the cipher authenticates), compression.
    pub fn negotiate(&self, s: &ServerOffer) -> Outcome {
        let pick = |ours: &[String], theirs: &[String]| -> Option<String> {
            ours.iter().find(|a| theirs.contains(a)).cloned()
        };
        let fail = |what: Category, theirs: &[String]| {
            let ours = crate::openssh::installed();
            let all: &[String] = match what {
                Category::Kex => &ours.supported.kex,
                Category::HostKey => &ours.supported.key_sig,
                Category::Cipher => &ours.supported.cipher,
                Category::Mac => &ours.supported.mac,
                Category::Compression => &[],
            };
            Outcome::NoMatch {
                what,
                their_offer: theirs.to_vec(),
                supported: theirs.iter().filter(|t| all.contains(t)).cloned().collect(),
            }
        };
        let Some(kex) = pick(&self.kex, &s.kex) else {
            return fail(Category::Kex, &s.kex);
        };
        let Some(host_key) = pick(&self.host_key, &s.host_key) else {
            return fail(Category::HostKey, &s.host_key);
        };
        let mut cipher = None;
        let mut mac = None;
        for (enc, macs, comp) in [
            (&s.cipher_stoc, &s.mac_stoc, &s.comp_stoc),
            (&s.cipher_ctos, &s.mac_ctos, &s.comp_ctos),
        ] {
            let Some(c) = pick(&self.cipher, enc) else {
                return fail(Category::Cipher, enc);
            };
            let aead = c.contains("gcm@") || c.starts_with("chacha20-poly1305");
            if !aead {
                match pick(&self.mac, macs) {
                    Some(m) => {
                        mac.get_or_insert(m);
                    }
                    None => return fail(Category::Mac, macs),
                }
            }
            if pick(&self.compression, comp).is_none() {
                return fail(Category::Compression, comp);
            }
            cipher.get_or_insert(c);
        }
        Outcome::Agreed {
            kex,
            host_key,
            cipher: cipher.unwrap_or_default(),
            mac,
        }
    }

    /// russh's preferences that reproduce ssh's choices where russh can: the same host key
    /// algorithm (so the key checked against known_hosts is ssh's), and ssh's kex, cipher and
    /// MAC order over everything russh implements.
    pub fn for_russh(&self) -> russh::Preferred {
        let mut p = russh::Preferred::default();
        let keys: Vec<Algorithm> = self
            .host_key
            .iter()
            .filter(|a| !is_cert(a))
            .filter_map(|a| a.parse::<Algorithm>().ok())
            .filter(|a| !matches!(a, Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256))
            .collect();
        if !keys.is_empty() {
            p.key = Cow::Owned(keys);
        }
        // Host certificates: russh advertises them all ahead of the plain keys, so only the
        // certificate algorithms that lead ssh's list (the default list, or the one reordered
        // for the key types known_hosts holds) keep ssh's order. A server with a certificate
        // then presents it to the probe as it does to ssh, and known_hosts judges it as ssh
        // does (`@cert-authority`, then the plain key).
        let certificates: Vec<Algorithm> = self
            .host_key
            .iter()
            .take_while(|a| is_cert(a))
            .filter_map(|a| Algorithm::new_certificate(a).ok())
            .filter(|a| {
                !matches!(
                    a,
                    Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256 | Algorithm::Other(_)
                )
            })
            .collect();
        p.host_key_certificates = Cow::Owned(certificates);
        let kex: Vec<russh::kex::Name> = self
            .kex
            .iter()
            .filter_map(|k| russh::kex::Name::try_from(k.as_str()).ok())
            .chain(
                ALL_KEX
                    .iter()
                    .filter_map(|k| russh::kex::Name::try_from(*k).ok()),
            )
            // Extension markers are not key exchanges to russh: add them by name, or the
            // server sends no EXT_INFO (server-sig-algs) and no strict kex.
            .chain([
                russh::kex::EXTENSION_SUPPORT_AS_CLIENT,
                russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
            ])
            .fold(Vec::new(), |mut v, n| {
                if !v.contains(&n) {
                    v.push(n);
                }
                v
            });
        p.kex = Cow::Owned(kex);
        let cipher: Vec<russh::cipher::Name> = self
            .cipher
            .iter()
            .filter_map(|c| russh::cipher::Name::try_from(c.as_str()).ok())
            .chain(
                ALL_CIPHERS
                    .iter()
                    .filter_map(|c| russh::cipher::Name::try_from(*c).ok()),
            )
            .fold(Vec::new(), |mut v, n| {
                if !v.contains(&n) {
                    v.push(n);
                }
                v
            });
        p.cipher = Cow::Owned(cipher);
        let mac: Vec<russh::mac::Name> = self
            .mac
            .iter()
            .filter_map(|m| russh::mac::Name::try_from(m.as_str()).ok())
            .chain(
                ALL_MACS
                    .iter()
                    .filter_map(|m| russh::mac::Name::try_from(*m).ok()),
            )
            .fold(Vec::new(), |mut v, n| {
                if !v.contains(&n) {
                    v.push(n);
                }
                v
            });
        p.mac = Cow::Owned(mac);
        p
    }
}

/// Everything russh implements, so the probe can still connect where ssh can (russh's own
/// defaults leave out ECDH and the SHA-1 groups that ssh may still use).
const ALL_KEX: &[&str] = &[
    "mlkem768x25519-sha256",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group1-sha1",
];
const ALL_CIPHERS: &[&str] = &[
    "chacha20-poly1305@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "3des-cbc",
];
const ALL_MACS: &[&str] = &[
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
];

/// `order_hostkeyalgs`: when known_hosts holds a key of the first preference's type, the list
/// as is; otherwise the algorithms whose key type known_hosts holds (and certificate types,
/// when a `@cert-authority` line applies) first, in list order, then the rest.
pub fn order_host_key_algs(list: &[String], known: &KnownHosts, name: &str) -> Vec<String> {
    let name = name.to_ascii_lowercase();
    let held: Vec<&'static str> = known
        .entries
        .iter()
        .filter(|e| e.marker.is_none() && e.matches(&name))
        .filter_map(|e| key_class(e.key.algorithm().as_ref()))
        .collect();
    let ca = known
        .entries
        .iter()
        .any(|e| e.marker == Some(Marker::CertAuthority) && e.matches(&name));
    let Some(best) = list.first() else {
        return Vec::new();
    };
    if key_class(best).is_some_and(|c| held.contains(&c)) {
        return list.to_vec();
    }
    let (mut first, mut last) = (Vec::new(), Vec::new());
    for alg in list {
        let preferred = (is_cert(alg) && ca) || key_class(alg).is_some_and(|c| held.contains(&c));
        if preferred {
            first.push(alg.clone());
        } else {
            last.push(alg.clone());
        }
    }
    first.extend(last);
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::ssh_key::HashAlg;

    fn offer(kex: &str, hk: &str, c: &str, m: &str) -> ServerOffer {
        ServerOffer {
            ident: "SSH-2.0-test".into(),
            kex: csv(kex),
            host_key: csv(hk),
            cipher_ctos: csv(c),
            cipher_stoc: csv(c),
            mac_ctos: csv(m),
            mac_stoc: csv(m),
            comp_ctos: csv("none"),
            comp_stoc: csv("none"),
        }
    }

    fn proposal() -> Proposal {
        Proposal {
            kex: csv("curve25519-sha256,ext-info-c"),
            host_key: csv("ssh-ed25519,rsa-sha2-512,rsa-sha2-256"),
            cipher: csv("chacha20-poly1305@openssh.com,aes128-ctr"),
            mac: csv("hmac-sha2-256"),
            compression: csv("none,zlib@openssh.com"),
        }
    }

    /// russh puts every certificate algorithm ahead of the plain ones: only those leading
    /// ssh's list keep ssh's order (here reordered for an RSA line in known_hosts).
    #[test]
    fn russh_advertises_the_certificates_that_lead_the_list() {
        let p = Proposal {
            host_key: csv("rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-512,\
                 ssh-ed25519-cert-v01@openssh.com,ssh-ed25519"),
            ..proposal()
        };
        let r = p.for_russh();
        assert_eq!(
            r.host_key_certificates.as_ref(),
            [Algorithm::Rsa {
                hash: Some(HashAlg::Sha512)
            }]
        );
        assert_eq!(
            r.key.as_ref(),
            [
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512)
                },
                Algorithm::Ed25519
            ]
        );
        let p = Proposal {
            host_key: csv("ssh-ed25519,ssh-ed25519-cert-v01@openssh.com"),
            ..proposal()
        };
        assert!(p.for_russh().host_key_certificates.is_empty());
    }

    #[test]
    fn agree_and_fail_like_ssh() {
        let p = proposal();
        assert_eq!(
            p.negotiate(&offer(
                "curve25519-sha256",
                "rsa-sha2-512,ssh-ed25519",
                "aes128-ctr",
                "hmac-sha2-256"
            )),
            Outcome::Agreed {
                kex: "curve25519-sha256".into(),
                host_key: "ssh-ed25519".into(),
                cipher: "aes128-ctr".into(),
                mac: Some("hmac-sha2-256".into()),
            }
        );
        match p.negotiate(&offer(
            "curve25519-sha256",
            "ssh-rsa",
            "aes128-ctr",
            "hmac-sha2-256",
        )) {
            Outcome::NoMatch {
                what, their_offer, ..
            } => {
                assert_eq!(what, Category::HostKey);
                assert_eq!(their_offer, vec!["ssh-rsa"]);
            }
            o => panic!("{o:?}"),
        }
        // An AEAD cipher needs no MAC.
        assert!(matches!(
            p.negotiate(&offer(
                "curve25519-sha256",
                "ssh-ed25519",
                "chacha20-poly1305@openssh.com",
                "hmac-md5"
            )),
            Outcome::Agreed { mac: None, .. }
        ));
        assert!(matches!(
            p.negotiate(&offer(
                "diffie-hellman-group1-sha1",
                "ssh-ed25519",
                "aes128-ctr",
                "hmac-sha2-256"
            )),
            Outcome::NoMatch {
                what: Category::Kex,
                ..
            }
        ));
    }

    #[test]
    fn known_hosts_order() {
        let kh = KnownHosts {
            entries: super::super::known_hosts::parse(
                "[h]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK/YhoWMsAbX6199cUtHknWa++NbhVucphkMAirgeCja\n",
                std::path::Path::new("kh"),
            ),
        };
        let list = csv("ecdsa-sha2-nistp256,rsa-sha2-512,ssh-ed25519,rsa-sha2-256");
        assert_eq!(
            order_host_key_algs(&list, &kh, "[h]:2222"),
            csv("ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256")
        );
        // The first preference is held: the list as is.
        let list2 = csv("ssh-ed25519,rsa-sha2-512");
        assert_eq!(order_host_key_algs(&list2, &kh, "[h]:2222"), list2);
        assert_eq!(
            order_host_key_algs(&list, &KnownHosts::default(), "x"),
            list
        );
    }
}
