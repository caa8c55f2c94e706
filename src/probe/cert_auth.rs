//! Offering a user certificate on a connected russh session, the way ssh does
//! (`publickey` with a `*-cert-v01@openssh.com` algorithm): first without a signature, so the
//! server says whether it takes the certificate (its CA trusted, valid now, the user a
//! principal) before anything is signed; then, when asked to, with a real signature from the
//! agent or the private key.
//!
//! RSA certificates are signed with the SHA-2 hash the server supports, as ssh does
//! (`rsa-sha2-512-cert-v01@openssh.com`); russh's own `authenticate_openssh_cert` would send
//! the SHA-1 name with a SHA-2 signature, which sshd refuses.

use std::path::Path;
use std::sync::Arc;

use russh::client::{AuthResult, Handle, Handler};
use russh::keys::agent::AgentIdentity;
use russh::keys::ssh_encoding::Encode;
use russh::keys::ssh_key::private::KeypairData;
use russh::keys::ssh_key::{Algorithm, Certificate, HashAlg, PrivateKey};

/// Who signs for the certificate.
pub enum CertSigner<'a> {
    /// Ask only: never sign (the verdict comes from the server's PK_OK).
    Query,
    /// The ssh-agent at this socket holds the private key.
    Agent(&'a Path),
    /// The private key itself (loaded as ssh would: [`crate::openssh::keys::load_private`]).
    Key(Arc<PrivateKey>),
}

/// What the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertOutcome {
    /// The server would take it (PK_OK to the unsigned offer; nothing was signed).
    Accepted,
    /// Signed, and the server let the user in.
    LoggedIn,
    /// The server refused it (untrusted CA, expired, wrong principal...); the methods that
    /// can continue, and whether it was a partial success (another method is also needed).
    Rejected {
        remaining: Vec<String>,
        partial_success: bool,
    },
    /// Could not be tried (signing failed, the connection went away...).
    Failed(String),
}

/// Offer `cert` for `user` on `handle`, signed by `signer`. For RSA certificates `rsa_hash`
/// is the SHA-2 hash to sign with (`Handle::best_supported_rsa_hash`); None sends ssh-rsa.
pub async fn offer_certificate<H: Handler>(
    handle: &mut Handle<H>,
    user: &str,
    cert: &Certificate,
    rsa_hash: Option<HashAlg>,
    signer: CertSigner<'_>,
) -> CertOutcome {
    let hash = match cert.public_key().algorithm() {
        Algorithm::Rsa { .. } => rsa_hash,
        _ => None,
    };
    let res = match signer {
        CertSigner::Query => {
            let mut s = AskOnly;
            handle
                .authenticate_certificate_with(user, cert.clone(), hash, &mut s)
                .await
                .map_err(|e| match e {
                    SignError::Asked => None,
                    SignError::Failed(m) => Some(m),
                })
        }
        CertSigner::Agent(socket) => match crate::os::agent::connect(socket).await {
            Ok(mut agent) => handle
                .authenticate_certificate_with(user, cert.clone(), hash, &mut agent)
                .await
                .map_err(|e| Some(format!("the agent did not sign: {e}"))),
            Err(e) => return CertOutcome::Failed(format!("cannot reach the agent: {e}")),
        },
        CertSigner::Key(key) => {
            let mut s = KeySigner { key };
            handle
                .authenticate_certificate_with(user, cert.clone(), hash, &mut s)
                .await
                .map_err(|e| match e {
                    SignError::Asked => Some("signing failed".to_string()),
                    SignError::Failed(m) => Some(m),
                })
        }
    };
    match res {
        // The query signer was asked: the server sent PK_OK.
        Err(None) => CertOutcome::Accepted,
        Err(Some(m)) => CertOutcome::Failed(m),
        Ok(AuthResult::Success) => CertOutcome::LoggedIn,
        Ok(AuthResult::Failure {
            remaining_methods,
            partial_success,
        }) => CertOutcome::Rejected {
            remaining: remaining_methods
                .iter()
                .map(|m| <&str>::from(m).to_string())
                .collect(),
            partial_success,
        },
    }
}

#[derive(Debug)]
enum SignError {
    /// The server accepted the offer and asked for a signature (query mode).
    Asked,
    Failed(String),
}

impl From<russh::SendError> for SignError {
    fn from(_: russh::SendError) -> Self {
        SignError::Failed("the connection went away".into())
    }
}

/// Never signs: being asked means the server sent PK_OK.
struct AskOnly;

impl russh::Signer for AskOnly {
    type Error = SignError;
    async fn auth_sign(
        &mut self,
        _key: &AgentIdentity,
        _hash_alg: Option<HashAlg>,
        _to_sign: Vec<u8>,
    ) -> Result<Vec<u8>, Self::Error> {
        Err(SignError::Asked)
    }
}

/// Signs with a private key held in memory; returns the data with the signature appended,
/// as russh's agent signer does.
struct KeySigner {
    key: Arc<PrivateKey>,
}

impl russh::Signer for KeySigner {
    type Error = SignError;
    async fn auth_sign(
        &mut self,
        _key: &AgentIdentity,
        hash_alg: Option<HashAlg>,
        mut to_sign: Vec<u8>,
    ) -> Result<Vec<u8>, Self::Error> {
        use russh::keys::signature::Signer;
        let fail =
            |e: russh::keys::signature::Error| SignError::Failed(format!("signing failed: {e}"));
        let sig = match self.key.key_data() {
            KeypairData::Rsa(rsa) => (rsa, hash_alg).try_sign(&to_sign).map_err(fail)?,
            other => other.try_sign(&to_sign).map_err(fail)?,
        };
        let mut blob = Vec::new();
        sig.encode(&mut blob)
            .map_err(|e| SignError::Failed(e.to_string()))?;
        blob.encode(&mut to_sign)
            .map_err(|e| SignError::Failed(e.to_string()))?;
        Ok(to_sign)
    }
}
