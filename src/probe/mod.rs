//! The SSH probe: russh client, known_hosts, agent, and the key plan.
//!
//! `plan` decides offline which keys ssh would offer and which it would skip; `client` asks
//! the server about each of them; `known_hosts` and `agent` are the local state both need.

pub mod agent;
pub mod cert_auth;
pub mod client;
pub mod known_hosts;
pub mod plan;
pub mod report;
pub mod unoffered;
