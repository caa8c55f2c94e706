//! The SSH probe: russh client, known_hosts, agent, and the key plan.
//!
//! `plan` decides offline which keys ssh would offer and which it would skip (through
//! `openssh::keys`, ssh's loader); `client` asks the server about each of them; `cert_auth`
//! offers a certificate on a connection; `unoffered` lists the keys ssh would not offer, for
//! the probe to ask about; `known_hosts` and `agent` are the local state all of them need;
//! `route` (with `hop` and `proxy_command`) is the way ssh goes to the server, and `settings`
//! how ssh resolves each host on it.

pub mod agent;
pub mod cert_auth;
pub mod client;
pub mod hop;
pub mod kexinit;
pub mod known_hosts;
pub mod negotiate;
pub mod plan;
pub mod proxy_command;
pub mod report;
pub mod route;
pub mod settings;
pub mod transport;
pub mod unoffered;
pub mod verdict;
