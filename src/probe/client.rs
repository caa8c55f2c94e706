//! The russh side of the probe: connect with distinct failure kinds, check the host key
//! against our known_hosts reader, learn the allowed methods with `none`, ask the server about
//! each public key WITHOUT signing, and prove one key with a real signature.
//!
//! The query trick (RESEARCH.md): `authenticate_publickey_with` calls the signer only after the
//! server's SSH_MSG_USERAUTH_PK_OK, so a signer that records the call and refuses tells us
//! "accepted" while no signature ever leaves the machine, and only the public key is needed.
//! Every rejection counts toward the server's MaxAuthTries and russh reports the resulting
//! disconnect as a plain failure, so we reconnect before the default limit and whenever the
//! server hangs up, and every key gets a verdict.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::MethodKind;
use russh::client::{self, AuthResult, Handle};
use russh::keys::PrivateKeyWithHashAlg;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::{Algorithm, Certificate, HashAlg, PrivateKey, PublicKey};

use super::cert_auth::{self, CertOutcome, CertSigner};
use super::kexinit::{self, ServerOffer};
use super::known_hosts::{self, KnownHosts, Status};
use super::negotiate::Proposal;
use super::route::{ChannelFailure, Connector};
use super::transport::Recorder;

/// Rejections we allow on one connection before reconnecting: one below OpenSSH's default
/// MaxAuthTries (6), so the server's limit is never what ends a connection by default.
const REJECTIONS_PER_CONNECTION: usize = 5;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub hostname: String,
    pub port: u16,
    pub user: String,
    pub timeout: Duration,
    pub known_hosts: Arc<KnownHosts>,
    /// The names to look the host key up under (`[host]:port`, or `HostKeyAlias`).
    pub known_hosts_lookup: crate::probe::known_hosts::Lookup,
    /// StrictHostKeyChecking no: ssh warns about a changed or revoked host key and goes on
    /// (without password or keyboard-interactive authentication), so the probe goes on too;
    /// NoHostAuthenticationForLocalhost on a loopback address: ssh does not check it at all.
    pub host_key_mismatch_continues: bool,
    /// ssh's proposal for this host: russh is set up to negotiate the same host key.
    pub proposal: Proposal,
    /// PubkeyAcceptedAlgorithms for this host: an RSA key is asked about with the signature
    /// algorithm ssh would sign with (its first RSA entry the server supports).
    pub pubkey_accepted: Vec<String>,
    /// The way there (direct, through jump hosts, a ProxyCommand).
    pub route: Arc<Connector>,
}

/// Why no SSH session could be set up.
#[derive(Debug, Clone)]
pub enum ConnectFailure {
    Dns(String),
    Refused(String),
    Timeout,
    /// The peer closed or reset the connection during the handshake.
    Closed(String),
    /// The handshake failed for another reason (not SSH, no common algorithm...).
    Handshake(String),
    /// The host key differs from the one known_hosts holds: we stopped.
    HostKeyChanged {
        server: Box<ServerInfo>,
    },
    /// The host key is marked `@revoked`: we stopped.
    HostKeyRevoked {
        server: Box<ServerInfo>,
    },
    /// ssh finds nothing in common with the server's offer ("Unable to negotiate"): it stops,
    /// and so does the probe.
    Negotiation {
        what: super::negotiate::Category,
        their_offer: Vec<String>,
        /// Their algorithms this ssh could enable (for the fix).
        supported: Vec<String>,
        server: Box<ServerInfo>,
    },
}

impl ConnectFailure {
    /// The server answered, and ssh stops on what it said (a changed or revoked host key, no
    /// algorithm in common): a verdict about the server, not a host that cannot be reached.
    pub fn server_answered(&self) -> bool {
        self.server().is_some()
    }

    /// What the server said about itself, when it answered.
    pub fn server(&self) -> Option<&ServerInfo> {
        match self {
            ConnectFailure::HostKeyChanged { server }
            | ConnectFailure::HostKeyRevoked { server }
            | ConnectFailure::Negotiation { server, .. } => Some(server),
            _ => None,
        }
    }
}

/// What the server told us about itself.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub version: String,
    pub kex: String,
    pub cipher: String,
    pub host_key: Option<PublicKey>,
    pub host_key_status: Option<Status>,
    /// The server presented a host certificate from a CA known_hosts trusts, and ssh set it
    /// aside for this reason (its words) before looking the plain key up.
    pub host_certificate_refused: Option<String>,
    /// The server's identification and KEXINIT, as it sent them.
    pub offer: Option<ServerOffer>,
    /// What `server-sig-algs` says about RSA signatures: None, no extension (ssh then signs
    /// RSA only with `ssh-rsa`); Some(None), the extension lists no `rsa-sha2-*`; Some(Some(h)),
    /// the best SHA-2 hash it takes.
    pub rsa_sig: Option<Option<HashAlg>>,
}

impl ServerInfo {
    pub fn host_key_type(&self) -> Option<String> {
        self.host_key.as_ref().map(|k| k.algorithm().to_string())
    }
    pub fn host_key_fingerprint(&self) -> Option<String> {
        self.host_key
            .as_ref()
            .map(crate::sshkeys::fingerprint_sha256)
    }
}

/// The server's answer about one public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Rejected,
    /// No answer (the server kept hanging up, or an error): reason.
    Unknown(String),
}

/// How a real (signed) login ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// The server let us in.
    Success,
    /// The key was accepted, but the server requires more methods (`AuthenticationMethods
    /// publickey,password`): what it still allows.
    Partial(Vec<String>),
    /// The signature was refused.
    Refused,
}

#[derive(Debug, Default)]
struct Shared {
    version: String,
    kex: String,
    cipher: String,
    host_key: Option<PublicKey>,
    status: Option<Status>,
    certificate_refused: Option<String>,
    disconnect: Option<String>,
    /// The first bytes the server sent (identification and KEXINIT).
    recorded: Option<Arc<Mutex<Vec<u8>>>>,
    /// The server's words when it last refused to open a channel.
    channel_refusal: Option<String>,
}

struct ProbeHandler {
    shared: Arc<Mutex<Shared>>,
    known: Arc<KnownHosts>,
    lookup: crate::probe::known_hosts::Lookup,
    mismatch_continues: bool,
}

impl client::Handler for ProbeHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let (key, certificate) = match server_public_key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => (key.clone(), None),
            russh::keys::PublicKeyOrCertificate::Certificate(c) => {
                (PublicKey::from(c.public_key().clone()), Some(c))
            }
        };
        let checked = self.known.check_presented(
            &self.lookup,
            known_hosts::Presented {
                key: &key,
                certificate,
            },
            crate::openssh::keys::cert::now(),
        );
        let ok = self.mismatch_continues
            || !matches!(checked.status, Status::Changed(_) | Status::Revoked(_));
        if let Ok(mut s) = self.shared.lock() {
            s.host_key = Some(key);
            s.status = Some(checked.status);
            s.certificate_refused = checked.certificate_refused;
        }
        Ok(ok)
    }

    async fn kex_done(
        &mut self,
        _shared_secret: Option<&[u8]>,
        names: &russh::Names,
        session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        if let Ok(mut s) = self.shared.lock() {
            s.version = String::from_utf8_lossy(session.remote_sshid())
                .trim()
                .to_string();
            s.kex = names.kex.as_ref().to_string();
            s.cipher = names.cipher.as_ref().to_string();
        }
        Ok(())
    }

    async fn channel_open_failure(
        &mut self,
        _channel: russh::ChannelId,
        _reason: russh::ChannelOpenFailure,
        description: &str,
        _language: &str,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        if let Ok(mut s) = self.shared.lock() {
            s.channel_refusal = Some(description.to_string());
        }
        Ok(())
    }

    async fn disconnected(
        &mut self,
        reason: client::DisconnectReason<Self::Error>,
    ) -> Result<(), Self::Error> {
        let text = match &reason {
            client::DisconnectReason::ReceivedDisconnect(info) => format!("{info:?}"),
            client::DisconnectReason::Error(e) => e.to_string(),
        };
        if let Ok(mut s) = self.shared.lock() {
            s.disconnect = Some(text);
        }
        match reason {
            client::DisconnectReason::ReceivedDisconnect(_) => Ok(()),
            client::DisconnectReason::Error(e) => Err(e),
        }
    }
}

/// A signer that never signs: being asked means the server sent PK_OK.
struct QuerySigner;

#[derive(Debug)]
enum QueryError {
    Asked,
    Gone,
}

impl From<russh::SendError> for QueryError {
    fn from(_: russh::SendError) -> Self {
        QueryError::Gone
    }
}

impl russh::Signer for QuerySigner {
    type Error = QueryError;
    async fn auth_sign(
        &mut self,
        _key: &russh::keys::agent::AgentIdentity,
        _hash_alg: Option<HashAlg>,
        _to_sign: Vec<u8>,
    ) -> Result<Vec<u8>, Self::Error> {
        Err(QueryError::Asked)
    }
}

/// One live, authenticated-or-not SSH connection.
struct Conn {
    handle: Handle<ProbeHandler>,
    rejections: usize,
    rsa_hash: Option<HashAlg>,
}

/// What [`Prober::ask`] asks about.
#[derive(Clone, Copy)]
enum Asked<'a> {
    /// A public key, with an explicit RSA hash when given (`Some(None)`: ssh-rsa, SHA-1).
    Key(&'a PublicKey, Option<Option<HashAlg>>),
    Cert(&'a Certificate),
}

/// The server's answer to one question.
enum Answer {
    Accepted,
    /// Refused, with methods left to try.
    Rejected,
    /// No methods left, or the connection went: the server hung up (MaxAuthTries).
    HungUp,
}

/// How to prove a key with a real signature.
pub enum Proof<'a> {
    Agent(&'a std::path::Path),
    Key(Box<PrivateKey>),
}

/// The probe session: reconnects as needed and remembers what it learned.
pub struct Prober {
    cfg: ProbeConfig,
    conn: Option<Conn>,
    shared: Arc<Mutex<Shared>>,
    pub server: ServerInfo,
    /// Methods the server allows (from the `none` attempt).
    pub methods: Vec<String>,
    /// The lowest MaxAuthTries the server showed by hanging up, if it did.
    pub observed_max_auth_tries: Option<usize>,
    pub connections: usize,
    /// The server let us in with `none` (no key needed at all).
    pub none_accepted: bool,
    /// Authentication requests the server counted as failures (rejected keys), over every
    /// connection: what a failed-login ban (fail2ban) sees.
    pub failed_attempts: usize,
}

impl Prober {
    /// A prober for `cfg`, not connected yet (see [`Prober::reconnect`]).
    pub fn new(cfg: ProbeConfig) -> Prober {
        Prober {
            cfg,
            conn: None,
            shared: Arc::new(Mutex::new(Shared::default())),
            server: ServerInfo {
                version: String::new(),
                kex: String::new(),
                cipher: String::new(),
                host_key: None,
                host_key_status: None,
                host_certificate_refused: None,
                offer: None,
                rsa_sig: None,
            },
            methods: Vec::new(),
            observed_max_auth_tries: None,
            connections: 0,
            none_accepted: false,
            failed_attempts: 0,
        }
    }

    /// Connect (TCP, handshake, host key) and try `none`.
    pub async fn connect(cfg: ProbeConfig) -> Result<Prober, ConnectFailure> {
        let mut p = Prober::new(cfg);
        p.reconnect().await?;
        Ok(p)
    }

    /// What the server told us so far (also after a failed handshake).
    pub fn server_info(&self) -> ServerInfo {
        self.snapshot()
    }

    fn snapshot(&self) -> ServerInfo {
        let s = self.shared.lock().map(|s| ServerInfo {
            version: s.version.clone(),
            kex: s.kex.clone(),
            cipher: s.cipher.clone(),
            host_key: s.host_key.clone(),
            host_key_status: s.status.clone(),
            host_certificate_refused: s.certificate_refused.clone(),
            offer: s
                .recorded
                .as_ref()
                .and_then(|r| r.lock().ok().and_then(|b| kexinit::parse(&b))),
            rsa_sig: self.server.rsa_sig,
        });
        s.unwrap_or_else(|_| self.server.clone())
    }

    /// The server's offer as recorded so far (also after a failed handshake).
    pub fn offer(&self) -> Option<ServerOffer> {
        self.snapshot().offer
    }

    /// (Re)open the connection: TCP or the route, the handshake, the host key, `none`.
    pub async fn reconnect(&mut self) -> Result<(), ConnectFailure> {
        if let Some(old) = self.conn.take() {
            let _ = old
                .handle
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
        let t = self.cfg.timeout;
        let handle = match tokio::time::timeout(t, self.open()).await {
            Ok(r) => r?,
            Err(_) => return Err(ConnectFailure::Timeout),
        };
        self.connections += 1;
        tracing::debug!(
            "probe: connection {} to {}:{} established",
            self.connections,
            self.cfg.hostname,
            self.cfg.port
        );
        self.server = self.snapshot();
        let mut conn = Conn {
            handle,
            rejections: 0,
            rsa_hash: Some(HashAlg::Sha256),
        };
        let rsa = conn.handle.best_supported_rsa_hash().await.ok().flatten();
        self.server.rsa_sig = rsa;
        conn.rsa_hash = ssh_rsa_hash(rsa, &self.cfg.pubkey_accepted);
        let none = tokio::time::timeout(t, conn.handle.authenticate_none(self.cfg.user.clone()))
            .await
            .map_err(|_| ConnectFailure::Timeout)?
            .map_err(|e| ConnectFailure::Closed(e.to_string()))?;
        match none {
            AuthResult::Success => self.none_accepted = true,
            AuthResult::Failure {
                remaining_methods, ..
            } => {
                if self.methods.is_empty() {
                    self.methods = remaining_methods
                        .iter()
                        .map(|m: &MethodKind| <&str>::from(m).to_string())
                        .collect();
                }
            }
        }
        self.conn = Some(conn);
        Ok(())
    }

    /// The route (DNS and TCP, or a channel through a jump host, or a ProxyCommand) and the
    /// SSH handshake, each failure told apart. The server's first bytes are recorded (see
    /// [`Recorder`]).
    async fn open(&self) -> Result<Handle<ProbeHandler>, ConnectFailure> {
        let stream = self
            .cfg
            .route
            .open(&self.cfg.hostname, self.cfg.port, self.cfg.timeout)
            .await?;
        let (stream, recorded) = Recorder::new(stream);
        if let Ok(mut s) = self.shared.lock() {
            s.recorded = Some(recorded);
        }
        let config = client::Config {
            preferred: self.cfg.proposal.for_russh(),
            inactivity_timeout: Some(self.cfg.timeout),
            ..Default::default()
        };
        let handler = ProbeHandler {
            shared: self.shared.clone(),
            known: self.cfg.known_hosts.clone(),
            lookup: self.cfg.known_hosts_lookup.clone(),
            mismatch_continues: self.cfg.host_key_mismatch_continues,
        };
        match client::connect_stream(Arc::new(config), stream, handler).await {
            Ok(h) => Ok(h),
            Err(e) => Err(self.classify(e)),
        }
    }

    fn classify(&self, e: russh::Error) -> ConnectFailure {
        let server = Box::new(self.snapshot());
        match &server.host_key_status {
            _ if self.cfg.host_key_mismatch_continues => {}
            Some(Status::Changed(_)) => return ConnectFailure::HostKeyChanged { server },
            Some(Status::Revoked(_)) => return ConnectFailure::HostKeyRevoked { server },
            _ => {}
        }
        match e {
            russh::Error::HUP | russh::Error::Disconnect => {
                ConnectFailure::Closed("connection closed by the server".into())
            }
            russh::Error::IO(io) => match io.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    ConnectFailure::Closed("connection closed by the server".into())
                }
                std::io::ErrorKind::ConnectionReset => {
                    ConnectFailure::Closed("connection reset by the server".into())
                }
                _ => ConnectFailure::Closed(io.to_string()),
            },
            russh::Error::NoCommonAlgo { kind, ours, theirs } => ConnectFailure::Handshake(
                format!(
                    "no common {kind:?} algorithm; ours: {}; theirs: {}",
                    ours.join(","),
                    theirs.join(",")
                )
                .to_lowercase(),
            ),
            russh::Error::Version => {
                ConnectFailure::Handshake("the server did not send an SSH version string".into())
            }
            russh::Error::ConnectionTimeout | russh::Error::InactivityTimeout => {
                ConnectFailure::Timeout
            }
            other => ConnectFailure::Handshake(other.to_string()),
        }
    }

    /// Ask whether the server accepts `key` for the user, without signing, with the RSA
    /// signature algorithm ssh would use.
    pub async fn query(&mut self, key: &PublicKey) -> Verdict {
        self.query_as(key, None).await
    }

    /// [`Prober::query`] with an explicit RSA hash (`None`: `ssh-rsa`, SHA-1).
    pub async fn query_with_hash(&mut self, key: &PublicKey, hash: Option<HashAlg>) -> Verdict {
        self.query_as(key, Some(hash)).await
    }

    /// Would the server take this certificate (ssh offers certificates as their own
    /// identities)? Asked like [`Prober::query`]: the server answers before any signature.
    pub async fn query_cert(&mut self, cert: &Certificate) -> Verdict {
        self.ask(Asked::Cert(cert)).await
    }

    /// The server hung up after a rejection: MaxAuthTries reached (this query was its last
    /// failure), or it went away. Records it; true when the query may be asked again on a
    /// fresh connection (once).
    fn hung_up(&mut self, retried: bool) -> bool {
        let limit = self.conn.as_ref().map_or(0, |c| c.rejections) + 1;
        self.failed_attempts += 1;
        tracing::debug!("probe: server closed the connection after {limit} failures");
        self.observed_max_auth_tries = Some(
            self.observed_max_auth_tries
                .map_or(limit, |o: usize| o.min(limit)),
        );
        self.conn = None;
        !retried
    }

    /// Log in for real with a certificate, signing with the agent or its private key.
    pub async fn prove_cert(
        &mut self,
        cert: &Certificate,
        proof: Proof<'_>,
    ) -> Result<Login, String> {
        if self.needs_reconnect() {
            self.reconnect().await.map_err(|e| describe(&e))?;
        }
        let user = self.cfg.user.clone();
        let conn = self.conn.as_mut().ok_or("no connection")?;
        let signer = match proof {
            Proof::Agent(socket) => CertSigner::Agent(socket),
            Proof::Key(private) => CertSigner::Key(Arc::new(*private)),
        };
        let fut =
            cert_auth::offer_certificate(&mut conn.handle, &user, cert, conn.rsa_hash, signer);
        match tokio::time::timeout(self.cfg.timeout, fut).await {
            Err(_) => Err("timed out".into()),
            Ok(CertOutcome::LoggedIn) => Ok(Login::Success),
            Ok(CertOutcome::Rejected {
                partial_success: true,
                remaining,
            }) => Ok(Login::Partial(remaining)),
            Ok(CertOutcome::Rejected { .. }) => {
                self.failed_attempts += 1;
                Ok(Login::Refused)
            }
            Ok(CertOutcome::Accepted) => Err("the server asked for no signature".into()),
            Ok(CertOutcome::Failed(m)) => Err(m),
        }
    }

    async fn query_as(&mut self, key: &PublicKey, force: Option<Option<HashAlg>>) -> Verdict {
        self.ask(Asked::Key(key, force)).await
    }

    /// One question to the server (reconnecting when the connection is spent), counted as
    /// the server counts it; asked again once on a fresh connection when the server hangs up
    /// on it (MaxAuthTries reached).
    async fn ask(&mut self, what: Asked<'_>) -> Verdict {
        let mut retried = false;
        loop {
            if self.needs_reconnect()
                && let Err(e) = self.reconnect().await
            {
                return Verdict::Unknown(describe(&e));
            }
            let Some(conn) = self.conn.as_mut() else {
                return Verdict::Unknown("no connection".into());
            };
            let user = self.cfg.user.clone();
            let asked = async {
                match what {
                    Asked::Key(key, force) => {
                        let hash = match force {
                            Some(h) => rsa_hash_for(key, h),
                            None => rsa_hash_for(key, conn.rsa_hash),
                        };
                        let mut signer = QuerySigner;
                        match conn
                            .handle
                            .authenticate_publickey_with(user, key.clone(), hash, &mut signer)
                            .await
                        {
                            Err(QueryError::Asked) | Ok(AuthResult::Success) => Answer::Accepted,
                            Ok(AuthResult::Failure {
                                remaining_methods, ..
                            }) if !remaining_methods.is_empty() => Answer::Rejected,
                            Ok(AuthResult::Failure { .. }) | Err(QueryError::Gone) => {
                                Answer::HungUp
                            }
                        }
                    }
                    Asked::Cert(cert) => {
                        let rsa_hash = conn.rsa_hash;
                        match cert_auth::offer_certificate(
                            &mut conn.handle,
                            &user,
                            cert,
                            rsa_hash,
                            CertSigner::Query,
                        )
                        .await
                        {
                            CertOutcome::Accepted | CertOutcome::LoggedIn => Answer::Accepted,
                            CertOutcome::Rejected { remaining, .. } if !remaining.is_empty() => {
                                Answer::Rejected
                            }
                            CertOutcome::Rejected { .. } | CertOutcome::Failed(_) => Answer::HungUp,
                        }
                    }
                }
            };
            let answer = match tokio::time::timeout(self.cfg.timeout, asked).await {
                Ok(a) => a,
                Err(_) => return Verdict::Unknown("timed out waiting for the server".into()),
            };
            match answer {
                Answer::Accepted => return Verdict::Accepted,
                Answer::Rejected if !conn.handle.is_closed() => {
                    conn.rejections += 1;
                    self.failed_attempts += 1;
                    return Verdict::Rejected;
                }
                Answer::Rejected | Answer::HungUp => {
                    if !self.hung_up(retried) {
                        return Verdict::Unknown("the server closed the connection".into());
                    }
                    retried = true;
                }
            }
        }
    }

    fn needs_reconnect(&self) -> bool {
        match &self.conn {
            None => true,
            Some(c) => {
                c.handle.is_closed()
                    || c.rejections
                        >= self
                            .observed_max_auth_tries
                            .map_or(REJECTIONS_PER_CONNECTION, |m| {
                                m.saturating_sub(1).clamp(1, REJECTIONS_PER_CONNECTION)
                            })
            }
        }
    }

    /// Log in for real with `key`, signing with the agent or the private key.
    pub async fn prove(&mut self, key: &PublicKey, proof: Proof<'_>) -> Result<Login, String> {
        if self.needs_reconnect() {
            self.reconnect().await.map_err(|e| describe(&e))?;
        }
        let user = self.cfg.user.clone();
        let t = self.cfg.timeout;
        let conn = self.conn.as_mut().ok_or("no connection")?;
        let hash = rsa_hash_for(key, conn.rsa_hash);
        let res = match proof {
            Proof::Agent(socket) => {
                let mut agent = AgentClient::connect_uds(socket)
                    .await
                    .map_err(|e| format!("cannot reach the agent: {e}"))?;
                tokio::time::timeout(
                    t,
                    conn.handle
                        .authenticate_publickey_with(user, key.clone(), hash, &mut agent),
                )
                .await
                .map_err(|_| "timed out".to_string())?
                .map_err(|e| format!("the agent did not sign: {e}"))?
            }
            Proof::Key(private) => tokio::time::timeout(
                t,
                conn.handle.authenticate_publickey(
                    user,
                    PrivateKeyWithHashAlg::new(Arc::new(*private), hash),
                ),
            )
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| e.to_string())?,
        };
        Ok(match res {
            AuthResult::Success => Login::Success,
            AuthResult::Failure {
                partial_success: true,
                remaining_methods,
            } => Login::Partial(
                remaining_methods
                    .iter()
                    .map(|m: &MethodKind| <&str>::from(m).to_string())
                    .collect(),
            ),
            AuthResult::Failure { .. } => {
                self.failed_attempts += 1;
                Login::Refused
            }
        })
    }

    /// A `direct-tcpip` channel to `host:port` through this logged-in connection, as
    /// `ssh -W host:port` opens one: the stream of the next connection on a route.
    pub async fn open_direct_tcpip(
        &self,
        host: &str,
        port: u16,
    ) -> Result<russh::Channel<client::Msg>, ChannelFailure> {
        let conn = self.conn.as_ref().ok_or_else(|| ChannelFailure {
            prohibited: false,
            message: "no connection".into(),
        })?;
        if let Ok(mut s) = self.shared.lock() {
            s.channel_refusal = None;
        }
        match conn
            .handle
            .channel_open_direct_tcpip(host, u32::from(port), "127.0.0.1", 0)
            .await
        {
            Ok(ch) => Ok(ch),
            Err(e) => {
                let said = self
                    .shared
                    .lock()
                    .ok()
                    .and_then(|s| s.channel_refusal.clone());
                let (prohibited, what) = match &e {
                    russh::Error::ChannelOpenFailure(r) => (
                        matches!(r, russh::ChannelOpenFailure::AdministrativelyProhibited),
                        format!("{r:?}"),
                    ),
                    other => (false, other.to_string()),
                };
                Err(ChannelFailure {
                    prohibited,
                    message: match said.filter(|s| !s.is_empty()) {
                        Some(words) => format!("{words} ({what})"),
                        None => what,
                    },
                })
            }
        }
    }

    pub async fn close(mut self) {
        if let Some(c) = self.conn.take() {
            let _ = c
                .handle
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }
}

/// The hash of the RSA signature ssh makes on this server (`verdict::signature_algorithm`:
/// `PubkeyAcceptedAlgorithms ^ssh-rsa` signs with SHA-1 even where the server knows SHA-2).
/// When ssh has none in common with the server it skips RSA keys; the probe still asks, with
/// the server's best.
fn ssh_rsa_hash(server: Option<Option<HashAlg>>, accepted: &[String]) -> Option<HashAlg> {
    let rsa = Algorithm::Rsa { hash: None };
    match super::verdict::signature_algorithm(&rsa, server, accepted).as_deref() {
        Some("rsa-sha2-512") => Some(HashAlg::Sha512),
        Some("rsa-sha2-256") => Some(HashAlg::Sha256),
        Some(_) => None,
        None => server.unwrap_or(Some(HashAlg::Sha256)),
    }
}

fn rsa_hash_for(key: &PublicKey, server: Option<HashAlg>) -> Option<HashAlg> {
    matches!(key.algorithm(), Algorithm::Rsa { .. })
        .then_some(server)
        .flatten()
}

/// One line for a connection failure.
pub fn describe(e: &ConnectFailure) -> String {
    match e {
        ConnectFailure::Dns(m) => format!("cannot resolve the host name: {m}"),
        ConnectFailure::Refused(m) => format!("connection refused: {m}"),
        ConnectFailure::Timeout => "connection timed out".into(),
        ConnectFailure::Closed(m) => format!("connection closed during the handshake: {m}"),
        ConnectFailure::Handshake(m) => format!("SSH handshake failed: {m}"),
        ConnectFailure::HostKeyChanged { .. } => "the host key has changed".into(),
        ConnectFailure::HostKeyRevoked { .. } => "the host key is revoked".into(),
        ConnectFailure::Negotiation {
            what, their_offer, ..
        } => format!(
            "no matching {} found. Their offer: {}",
            what.words(),
            their_offer.join(",")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_keys_are_asked_about_with_the_signature_ssh_makes() {
        let list = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
        let default = list("ssh-ed25519,rsa-sha2-512,rsa-sha2-256");
        let sha512 = Some(Some(HashAlg::Sha512));
        assert_eq!(ssh_rsa_hash(sha512, &default), Some(HashAlg::Sha512));
        // `PubkeyAcceptedAlgorithms ^ssh-rsa`: ssh signs with SHA-1 though the server knows SHA-2.
        let sha1_first = list("ssh-rsa,ssh-ed25519,rsa-sha2-512,rsa-sha2-256");
        assert_eq!(ssh_rsa_hash(sha512, &sha1_first), None);
        assert_eq!(
            ssh_rsa_hash(sha512, &list("ssh-ed25519,rsa-sha2-256,rsa-sha2-512")),
            Some(HashAlg::Sha256)
        );
        // Nothing in common (ssh skips RSA keys): the server's best, as before.
        assert_eq!(ssh_rsa_hash(Some(None), &default), None);
        assert_eq!(ssh_rsa_hash(None, &default), Some(HashAlg::Sha256));
        // No server-sig-algs: ssh signs with the key's own name, when it is accepted.
        assert_eq!(ssh_rsa_hash(None, &sha1_first), None);
    }
}
