//! Shared by the examples: the real API when `OPX_TOKEN` is set, the built-in mock otherwise.
#![allow(dead_code)]

use opx::Client;
use opx::mock::MockServer;

/// Where an example runs.
pub struct Target {
    pub client: Client,
    /// `Some` when running on the built-in mock (kept alive for the example's duration).
    pub mock: Option<MockServer>,
}

impl Target {
    /// The real API (`OPX_TOKEN`, optional `OPX_BASE_URL`) or, without a token, the mock.
    pub async fn connect() -> opx::Result<Target> {
        if std::env::var_os(opx::ClientBuilder::TOKEN_ENV).is_some() {
            let client = Client::from_env()?;
            eprintln!("Using the API at {} (OPX_TOKEN is set).", client.base_url());
            return Ok(Target { client, mock: None });
        }
        let mock = MockServer::start().await;
        eprintln!(
            "OPX_TOKEN is not set: running on the built-in mock at {} (no real money involved).",
            mock.base_url()
        );
        // The mock's own client: it runs on the mock's clock.
        let client = mock.client();
        Ok(Target {
            client,
            mock: Some(mock),
        })
    }

    pub fn is_mock(&self) -> bool {
        self.mock.is_some()
    }
}
