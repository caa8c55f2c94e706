//! A model of the installed OpenSSH client: what `ssh` itself would do on this machine.
//!
//! herossh predicts OpenSSH: every verdict, key plan, config value and fix must be what the
//! installed `ssh` would do, so the knowledge of how that client behaves lives here, in one
//! place, and the config evaluator, the key plan, the probe and the diagnosis consult it:
//! - `client`: which ssh, its version and vendor, its grammar, defaults and algorithms;
//! - `grammar`: every keyword and `Match` criterion, and what each means;
//! - `algorithms`: how configured algorithm lists become the effective ones;
//! - `home`: the home directory ssh uses (the passwd entry, not `$HOME`);
//! - `keys`: identity files and certificates as ssh loads them;
//! - `destination`: the `[user@]host` / `ssh://` argument, parsed like ssh;
//! - `login`: the installed ssh itself, asked where the probe cannot speak what it negotiates.

pub mod algorithms;
pub mod client;
pub mod destination;
pub mod grammar;
pub mod home;
pub mod keys;
pub mod login;

pub use client::{Client, installed};
pub use destination::Destination;
