//! Reaching an ssh-agent. On Unix (Linux, and macOS, whose launchd agent is also a Unix
//! socket named by `SSH_AUTH_SOCK`) the agent is a Unix-domain socket. Windows OpenSSH's agent
//! is a named pipe and Pageant is something else again, and russh only offers those on
//! Windows (PLATFORMS.md §4): this is the one place that picks the transport, and the boxed
//! client it returns is the same type whatever the transport.

use std::path::Path;

use russh::keys::agent::client::{AgentClient, AgentStream};

/// A connected agent client.
pub type Agent = AgentClient<Box<dyn AgentStream + Send + Unpin + 'static>>;

/// Connect to the agent at `socket` (the `SSH_AUTH_SOCK` / `IdentityAgent` path).
pub async fn connect(socket: &Path) -> Result<Agent, russh::keys::Error> {
    Ok(AgentClient::connect_uds(socket).await?.dynamic())
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    #[test]
    fn connects_to_a_real_agent_and_lists_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let mut agent = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ssh-agent");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let keys = rt.block_on(async {
            let mut client = super::connect(&socket).await.unwrap();
            client.request_identities().await.unwrap()
        });
        assert!(keys.is_empty());
        let missing = rt
            .block_on(super::connect(&dir.path().join("none.sock")))
            .err()
            .expect("no agent there");
        assert!(missing.to_string().contains("No such file"), "{missing}");
        agent.kill().unwrap();
        agent.wait().unwrap();
    }
}
