//! Keys as the installed ssh loads them: which identity files it can read, what it offers
//! before reading the private key, what it refuses and with which words, and the
//! certificates it offers with them.
//!
//! herossh never uses a key ssh would not load, and never calls a key unusable that ssh uses,
//! so the probe, the plan and the findings all ask this module instead of asking russh
//! whether it can parse a file:
//! - `load`: one `IdentityFile`, in ssh's two steps (the public key before connecting, the
//!   private key when signing), with ssh's refusals and their exact messages;
//! - `envelope`: ssh's own private key format, read as strictly as ssh reads it;
//! - `pem`: PEM keys as OpenSSL reads them for ssh, and their decryption;
//! - `text`: public-key lines and PuTTY `.ppk` headers;
//! - `damage`: what is wrong with a refused file, and a repair checked before it is offered;
//! - `cert`: user certificates (`KEY-cert.pub`, `CertificateFile`);
//! - `scan`: the private keys in `~/.ssh` that ssh is not told about.

pub mod cert;
pub mod damage;
pub mod envelope;
pub mod load;
pub mod pem;
pub mod scan;
pub mod text;

pub use load::{
    IdentityLoad, PrivateState, PubFile, PublicFrom, Refusal, Rules, SignKeyError, load_identity,
    load_private,
};
