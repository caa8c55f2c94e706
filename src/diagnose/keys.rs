//! Findings for the keys ssh cannot use, one per identity the plan marks: what ssh says
//! (its exact words where it prints any), why, and a fix that runs as printed on the real
//! path, or a step labelled "manual:" when no command can do it (a new certificate from a
//! CA, a key restored from a backup).
//!
//! Severity: a refused identity is an error, unless another identity in the same plan is
//! usable and the server accepted it (ssh then logs in anyway, after complaining), where it
//! is a warning.

use super::{Finding, Severity, sh_quote};
use crate::openssh::keys::cert::{self, CertProblem};
use crate::openssh::keys::damage::Damage;
use crate::openssh::keys::{IdentityLoad, PrivateState, PublicFrom, Refusal};
use crate::paths::display_tilde;
use crate::probe::client::Verdict;
use crate::probe::plan::{Identity, SkipReason, Source};
use crate::probe::report::Report;

/// The command that puts an encrypted key in the agent, so ssh signs without asking (on
/// Apple's ssh, with the passphrase kept in the keychain). ssh cannot match a key it knows
/// only after decrypting it (a PEM key without its .pub) with the agent's: the .pub is
/// written first, or the agent key stays unused under IdentitiesOnly.
pub fn add_to_agent(id: &Identity) -> String {
    let Some(p) = &id.path else {
        return String::new();
    };
    let path = sh_quote(&display_tilde(p));
    let add = crate::openssh::installed().ssh_add(&path);
    match &id.detail.load {
        Some(l) if l.public.is_none() => format!("ssh-keygen -y -f {path} > {path}.pub && {add}"),
        _ => add,
    }
}

/// Per-key problems found by the plan (no network needed).
pub fn plan_findings(r: &Report) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, id) in r.plan.iter().enumerate() {
        let Some(reason) = id.skipped else { continue };
        if reason == SkipReason::Missing && r.settings.identity_source == Source::Default {
            continue;
        }
        let ctx = Ctx { r, id, index: i };
        if let Some(f) = finding(&ctx, reason) {
            out.push(f);
        }
        out.extend(cert_extra(&ctx, reason));
    }
    out
}

struct Ctx<'a> {
    r: &'a Report,
    id: &'a Identity,
    index: usize,
}

impl Ctx<'_> {
    fn label(&self) -> String {
        self.id.label()
    }
    /// The path as a shell argument (`~/...` under $HOME).
    fn path(&self) -> String {
        self.id
            .path
            .as_ref()
            .map(|p| sh_quote(&display_tilde(p)))
            .unwrap_or_default()
    }
    fn load(&self) -> Option<&IdentityLoad> {
        self.id.detail.load.as_ref()
    }
    /// ssh's own line for the refusal, quoted for a message.
    fn ssh_says(&self) -> String {
        match self.load().and_then(|l| match &l.private {
            PrivateState::Refused(rf) => rf.ssh_message(&l.path),
            _ => None,
        }) {
            Some(m) => format!(" (ssh: {m})"),
            None => String::new(),
        }
    }
    /// Error, or Warning when ssh gets in with another key the server accepted.
    fn severity(&self) -> Severity {
        let other_works = self.r.plan.iter().enumerate().any(|(j, other)| {
            j != self.index && other.usable() && self.r.verdict(j) == Some(&Verdict::Accepted)
        });
        if other_works {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
    fn pin_fix(&self, key: &str) -> String {
        super::fix_config(&self.r.settings, &format!("-i {key}"))
    }
}

fn finding(c: &Ctx, reason: SkipReason) -> Option<Finding> {
    let label = c.label();
    let path = c.path();
    let sev = c.severity();
    Some(match reason {
        SkipReason::UnprotectedPrivateKey => Finding::new(
            "unprotected-private-key",
            sev,
            format!(
                "{label} has mode {:04o}: ssh says \"UNPROTECTED PRIVATE KEY FILE\" and ignores it \
                 (\"Permissions {:04o} for '{}' are too open.\"){}",
                c.id.mode.unwrap_or(0),
                c.id.mode.unwrap_or(0) & 0o777,
                c.load().map(|l| l.path.display().to_string()).unwrap_or_default(),
                c.ssh_says()
            ),
        )
        .fix(format!("chmod 600 {path}")),
        SkipReason::PubMismatch => Finding::new(
            "pub-mismatch",
            sev,
            format!(
                "{label}.pub does not match the private key: ssh offers the .pub key ({}) and, when the \
                 server takes it, fails with \"private key {} contents do not match public\"",
                c.id.fingerprint().unwrap_or_default(),
                c.load().map(|l| l.path.display().to_string()).unwrap_or_default()
            ),
        )
        .fix(format!("ssh-keygen -y -f {path} > {path}.pub")),
        SkipReason::KeyTypeDisabled => Finding::new(
            "key-type-disabled",
            sev,
            format!(
                "{label} is {}: not in the client's PubkeyAcceptedAlgorithms (OpenSSH ≥ 7.0 disables ssh-dss), so ssh never offers it",
                c.id.key_type().unwrap_or_default()
            ),
        )
        .fix("herossh keygen -t ed25519"),
        SkipReason::EncryptedNotInAgent => Finding::new(
            "encrypted-not-in-agent",
            Severity::Warning,
            format!(
                "{label} is encrypted and not in the agent: ssh must ask for its passphrase (BatchMode and git fail){}",
                c.load()
                    .and_then(|l| l.decrypt_error.as_ref())
                    .map(|e| format!("; with the passphrase given: {e}"))
                    .unwrap_or_default()
            ),
        )
        .fix(add_to_agent(c.id)),
        SkipReason::HiddenByIdentitiesOnly | SkipReason::NotConfigured => return None,
        SkipReason::Missing => Finding::new(
            "identity-missing",
            Severity::Warning,
            format!("{label} does not exist"),
        ),
        SkipReason::Unreadable => Finding::new(
            "identity-unreadable",
            Severity::Warning,
            if c.id.path.as_ref().is_some_and(|p| p.exists()) {
                format!("{label} holds no certificate ssh can read, so ssh skips it")
            } else {
                format!("{label} does not exist, so ssh skips it")
            },
        ),
        SkipReason::KeyPermissionDenied => permission_denied(c, sev),
        SkipReason::NotAFile => Finding::new(
            "identity-not-a-file",
            sev,
            format!("{label} is not a regular file{}", c.ssh_says()),
        )
        .fix(format!(
            "manual: point IdentityFile (or -i) for {} at the key file itself, not {label}",
            c.r.settings.alias
        )),
        SkipReason::Blocks => {
            let at = c
                .load()
                .and_then(|l| l.blocks_at.clone())
                .map(|p| display_tilde(&p))
                .unwrap_or_else(|| label.clone());
            Finding::new(
                "identity-blocks",
                Severity::Error,
                format!(
                    "{at} is a named pipe (FIFO): ssh opens it while preparing its keys (before the SSH handshake) and waits forever for a writer"
                ),
            )
            .fix(format!(
                "manual: start the program that writes the key into {at}, or replace it with the key file"
            ))
        }
        SkipReason::InvalidFormat => invalid_format(c, sev),
        SkipReason::PuttyKey => putty(c, sev),
        SkipReason::PublicKeyOnly => public_only(c, sev),
        SkipReason::FormatUnsupported => {
            let what = match c.load().map(|l| &l.private) {
                Some(PrivateState::Refused(Refusal::Unsupported(w))) => w.clone(),
                _ => "a key form this ssh does not read".into(),
            };
            Finding::new(
                "key-format-unsupported",
                sev,
                format!(
                    "{label} is {what}; the installed ssh ({}) cannot load it{}",
                    crate::openssh::installed().describe(),
                    c.ssh_says()
                ),
            )
            .fix("manual: create a key this ssh reads (herossh keygen -t ed25519) and register its .pub with the server")
        }
        SkipReason::RsaTooSmall => {
            let bits = c.id.key.as_ref().map(crate::sshkeys::key_bits).unwrap_or(0);
            let min = c.r.settings.required_rsa_size.max(1024);
            let said = match c.load() {
                Some(l) if l.public_dropped_rsa_bits.is_some() => {
                    format!(" (ssh: load pubkey \"{}\": Invalid key length)", l.path.display())
                }
                _ => c.ssh_says(),
            };
            Finding::new(
                "rsa-key-too-small",
                sev,
                format!(
                    "{label} is a {bits}-bit RSA key; this ssh uses RSA keys of at least {min} bits (RequiredRSASize), so it ignores it{said}"
                ),
            )
            .fix("manual: create a stronger key (herossh keygen -t ed25519) and register its .pub with the server")
        }
        SkipReason::CertificateExpired
        | SkipReason::CertificateNotYetValid
        | SkipReason::CertificatePrincipalMissing
        | SkipReason::CertificateNoPrincipals
        | SkipReason::CertificateCaSignatureRefused
        | SkipReason::CertificateNotUser => return cert_finding(c, reason),
        SkipReason::CertificateNoPrivateKey => Finding::new(
            "certificate-no-private-key",
            sev,
            format!(
                "ssh has no private key to sign with for the certificate {}: no identity file or agent key holds its key {}",
                cert_file(c),
                c.id.fingerprint().unwrap_or_default()
            ),
        )
        .fix(format!(
            "manual: put the certificate's private key beside it or in the agent (ssh-add KEY), or name it with IdentityFile for {}",
            c.r.settings.alias
        )),
        SkipReason::CertificateKeyMismatch => Finding::new(
            "certificate-key-mismatch",
            sev,
            format!(
                "the certificate {} certifies {} but the private key ssh signs with for it is another key: \
                 ssh fails with \"private key contents do not match public\"",
                cert_file(c),
                c.id.fingerprint().unwrap_or_default()
            ),
        )
        .fix(format!(
            "manual: get a certificate for the key itself (inspect this one: ssh-keygen -L -f {})",
            sh_quote(&cert_file(c))
        )),
    })
}

fn permission_denied(c: &Ctx, sev: Severity) -> Finding {
    let label = c.label();
    let path = c.path();
    let uid = crate::os::user::uid();
    let owner = c.load().and_then(|l| l.owner);
    let fix = match owner {
        Some(o) if o != uid => format!(
            "sudo chown {} {path} && chmod 600 {path}",
            sh_quote(&crate::paths::local_user())
        ),
        _ => format!("chmod 600 {path}"),
    };
    let whose = match owner {
        Some(o) if o != uid => format!(" (it belongs to uid {o})"),
        _ => String::new(),
    };
    Finding::new(
        "key-permission-denied",
        sev,
        format!(
            "{label} cannot be read by you{whose}, so ssh cannot load it{}",
            c.ssh_says()
        ),
    )
    .fix(fix)
}

fn invalid_format(c: &Ctx, sev: Severity) -> Finding {
    let label = c.label();
    let path = c.path();
    let (damage, repair) = match c.load().map(|l| &l.private) {
        Some(PrivateState::Refused(Refusal::InvalidFormat { damage, repair, .. })) => {
            (damage.clone(), repair.clone())
        }
        _ => (Vec::new(), None),
    };
    let why = if damage.is_empty() {
        "it is not a private key in a format ssh reads".to_string()
    } else {
        damage
            .iter()
            .map(|d| d.describe())
            .collect::<Vec<_>>()
            .join(", and ")
    };
    let offered = match c.load() {
        Some(l) if l.public.is_some() => " (ssh still offers its public key, then cannot sign)",
        _ => "",
    };
    let f = Finding::new(
        "key-invalid-format",
        sev,
        format!("ssh cannot load {label}: {why}{}{offered}", c.ssh_says()),
    );
    match repair {
        Some(prog) => f.fix(format!("perl -0777 -pi -e '{prog}' {path}")),
        None if damage.contains(&Damage::NotAPrivateKey) || damage.contains(&Damage::Empty) => f.fix(format!(
            "manual: point IdentityFile for {} at the private key file",
            c.r.settings.alias
        )),
        None => f.fix(format!(
            "manual: restore {label} from a backup, or create a new key (herossh keygen -t ed25519) and register its .pub"
        )),
    }
}

fn putty(c: &Ctx, sev: Severity) -> Finding {
    let label = c.label();
    let path = c.path();
    let (encrypted, fp) = match c.load().map(|l| &l.private) {
        Some(PrivateState::Refused(Refusal::Putty(p))) => (p.encrypted, p.public.clone()),
        _ => (false, None),
    };
    let out =
        c.id.path
            .as_ref()
            .map(|p| converted_name(p))
            .unwrap_or_default();
    let out_arg = sh_quote(&display_tilde(&out));
    let asks = if encrypted {
        " (puttygen asks for its passphrase)"
    } else {
        ""
    };
    Finding::new(
        "putty-private-key",
        sev,
        format!(
            "{label} is a PuTTY private key (.ppk{}), which ssh cannot read{}; convert it to OpenSSH format{asks}",
            fp.map(|f| format!(", {f}")).unwrap_or_default(),
            c.ssh_says()
        ),
    )
    .fix(format!(
        "puttygen {path} -O private-openssh -o {out_arg} && {}",
        c.pin_fix(&out_arg)
    ))
}

/// Where to write the converted key: `KEY` for `KEY.ppk`, never over an existing file.
fn converted_name(ppk: &std::path::Path) -> std::path::PathBuf {
    let base = match ppk.extension() {
        Some(e) if e.eq_ignore_ascii_case("ppk") => ppk.with_extension(""),
        _ => {
            let mut s = ppk.as_os_str().to_owned();
            s.push("-openssh");
            std::path::PathBuf::from(s)
        }
    };
    let mut candidate = base.clone();
    let mut n = 1;
    while candidate.exists() || crate::openssh::keys::load::pub_path(&candidate).exists() {
        let mut s = base.as_os_str().to_owned();
        s.push(format!(
            "-openssh{}",
            if n == 1 { String::new() } else { n.to_string() }
        ));
        candidate = std::path::PathBuf::from(s);
        n += 1;
    }
    candidate
}

fn public_only(c: &Ctx, sev: Severity) -> Finding {
    let label = c.label();
    let Some(l) = c.load() else {
        return Finding::new(
            "identity-is-public-key",
            sev,
            format!("{label} is a public key"),
        );
    };
    let fp = c.id.fingerprint().unwrap_or_default();
    // The private half next to it, when one is there and ssh can load it.
    let private = match l.public_from {
        Some(PublicFrom::File) => l
            .path
            .to_str()
            .and_then(|s| s.strip_suffix(".pub"))
            .map(std::path::PathBuf::from),
        _ => None,
    }
    .filter(|p| {
        let pl = crate::openssh::keys::load_identity(p, &c.r.settings.rules());
        pl.private == PrivateState::Loads
            && pl.own_public.as_ref().map(|k| k.key_data())
                == c.id.key.as_ref().map(|k| k.key_data())
    });
    let agent = match &c.r.agent {
        crate::probe::agent::AgentState::Keys { .. } => "the agent does not hold it",
        crate::probe::agent::AgentState::Unreachable { .. } => "the agent does not answer",
        crate::probe::agent::AgentState::None => "no agent is set (SSH_AUTH_SOCK / IdentityAgent)",
    };
    let what = match l.public_from {
        Some(PublicFrom::File) => format!("{label} is a public key"),
        _ => format!("{label} does not exist, only its .pub"),
    };
    let f = Finding::new(
        "identity-is-public-key",
        sev,
        format!(
            "{what} ({fp}): ssh offers it and can sign only through an agent holding the private half \
             (a hardware key, 1Password, Secretive...), but {agent}{}",
            c.ssh_says()
        ),
    );
    match private {
        Some(p) => f.fix(c.pin_fix(&sh_quote(&display_tilde(&p)))),
        None => f.fix(
            "manual: unlock or start the agent that holds this key (or point IdentityAgent at it), then check with: ssh-add -l"
                .to_string(),
        ),
    }
}

fn cert_file(c: &Ctx) -> String {
    c.id.detail
        .cert
        .as_ref()
        .map(|e| display_tilde(&e.load.path))
        .unwrap_or_else(|| c.label())
}

/// The finding for the decisive certificate problem.
fn cert_finding(c: &Ctx, reason: SkipReason) -> Option<Finding> {
    let entry = c.id.detail.cert.as_ref()?;
    let file = cert_file(c);
    let inspect = format!("ssh-keygen -L -f {}", sh_quote(&file));
    let sum = entry.load.summary();
    let window = format!(
        "valid from {} to {}",
        cert::format_time(sum.valid_after),
        cert::format_time(sum.valid_before)
    );
    let user = &c.r.settings.user;
    let (code, sev, msg, fix) = match reason {
        SkipReason::CertificateExpired => (
            "certificate-expired",
            c.severity(),
            format!(
                "the certificate {file} expired ({window}): the server refuses it (\"Certificate invalid: expired\")"
            ),
            format!("manual: have your CA issue a new certificate (inspect it: {inspect})"),
        ),
        SkipReason::CertificateNotYetValid => (
            "certificate-not-yet-valid",
            c.severity(),
            format!(
                "the certificate {file} is not valid yet ({window}; this machine's clock says {}): the server refuses it (\"Certificate invalid: not yet valid\")",
                cert::format_time(cert::now())
            ),
            format!(
                "manual: wait until it is valid, fix this machine's clock, or have your CA issue one valid now (inspect it: {inspect})"
            ),
        ),
        SkipReason::CertificatePrincipalMissing => (
            "certificate-principal-missing",
            Severity::Warning,
            format!(
                "the certificate {file} is for {} but you log in as {user}: a server that trusts the CA with TrustedUserCAKeys refuses it (\"name is not a listed principal\") unless it maps principals",
                sum.principals.join(", ")
            ),
            format!(
                "manual: log in as one of its principals, or have your CA add {user} (inspect it: {inspect})"
            ),
        ),
        SkipReason::CertificateNoPrincipals => (
            "certificate-no-principals",
            Severity::Warning,
            format!(
                "the certificate {file} lists no principals: a server trusting its CA with TrustedUserCAKeys refuses it (\"Certificate lacks principal list\")"
            ),
            format!("manual: have your CA issue it with -n {user} (inspect it: {inspect})"),
        ),
        SkipReason::CertificateCaSignatureRefused => (
            "certificate-ca-signature-refused",
            Severity::Warning,
            format!(
                "the certificate {file} is signed with {}, which OpenSSH's default CASignatureAlgorithms refuses (since 8.2): the server says \"signature algorithm not supported\"",
                sum.signature_algorithm
            ),
            format!(
                "manual: have your CA re-sign it with rsa-sha2-512 (ssh-keygen -s CA_KEY -t rsa-sha2-512 ...) (inspect it: {inspect})"
            ),
        ),
        SkipReason::CertificateNotUser => (
            "certificate-not-user",
            c.severity(),
            format!("{file} is a host certificate, not a user certificate: ssh ignores it"),
            format!("manual: use a user certificate (inspect this one: {inspect})"),
        ),
        _ => return None,
    };
    Some(Finding::new(code, sev, msg).fix(fix))
}

/// The certificate's other problems (the decisive one already has its finding).
fn cert_extra(c: &Ctx, reason: SkipReason) -> Vec<Finding> {
    let Some(entry) = &c.id.detail.cert else {
        return Vec::new();
    };
    entry
        .problems
        .iter()
        .filter_map(|p| match p {
            CertProblem::Expired { .. } => Some(SkipReason::CertificateExpired),
            CertProblem::NotYetValid { .. } => Some(SkipReason::CertificateNotYetValid),
            CertProblem::PrincipalMissing { .. } => Some(SkipReason::CertificatePrincipalMissing),
            CertProblem::NoPrincipals => Some(SkipReason::CertificateNoPrincipals),
            CertProblem::CaSignatureRefused { .. } => {
                Some(SkipReason::CertificateCaSignatureRefused)
            }
            _ => None,
        })
        .filter(|s| *s != reason)
        .filter_map(|s| cert_finding(c, s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converted_names_never_clobber() {
        let dir = tempfile::tempdir().unwrap();
        let ppk = dir.path().join("work.ppk");
        assert_eq!(converted_name(&ppk), dir.path().join("work"));
        std::fs::write(dir.path().join("work"), "x").unwrap();
        assert_eq!(converted_name(&ppk), dir.path().join("work-openssh"));
        let odd = dir.path().join("key");
        assert_eq!(converted_name(&odd), dir.path().join("key-openssh"));
    }
}
