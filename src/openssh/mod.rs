//! A model of the installed OpenSSH client: what `ssh` itself would do on this machine.
//!
//! herossh predicts OpenSSH: every verdict, key plan, config value and fix must be what the
//! installed `ssh` would do, so the knowledge of how that client behaves lives here, in one
//! place, and the config evaluator, the key plan, the probe and the diagnosis consult it.

pub mod destination;

pub use destination::Destination;
