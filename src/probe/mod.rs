//! The SSH probe: russh client, known_hosts, agent, and the key plan.
//!
//! `plan` decides offline which keys ssh would offer and which it would skip; `client` asks
//! the server about each of them; `known_hosts` and `agent` are the local state both need;
//! `route` (with `hop` and `proxy_command`) is the way ssh goes to the server, and `settings`
//! how ssh resolves each host on it.

pub mod agent;
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
pub mod verdict;
