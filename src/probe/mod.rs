//! The SSH probe: russh client, known_hosts, agent, and the key plan.
