//! Every setting, from flags and the environment, with its default, in one struct.
use chrono::NaiveDate;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/sequence";

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database to serve from; created if missing, migrations applied at start-up.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "SEQUENCE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Base of every link (e.g. https://sequence.example.com). Default: from the request's Host.
    #[arg(long, env = "SEQUENCE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Digest realm offered in challenges.
    #[arg(long, env = "SEQUENCE_REALM", default_value = "Production Sequence")]
    pub realm: String,

    /// Key for Digest nonces; share it between replicas. Default: random per process.
    #[arg(long, env = "SEQUENCE_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// Fixtures file (accounts, users, work areas, templates). Default: the built-in demo data.
    #[arg(long, env = "SEQUENCE_FIXTURES")]
    pub fixtures: Option<PathBuf>,

    /// Fixed date (YYYY-MM-DD) used as "today" by the derived statuses. Default: the UTC date.
    #[arg(long, env = "SEQUENCE_TODAY")]
    pub today: Option<NaiveDate>,
}

impl Config {
    /// Settings for tests and embedding: everything at its default except the database.
    pub fn for_database(database_url: &str) -> Self {
        Config {
            database_url: database_url.to_string(),
            listen: "127.0.0.1:0".parse().expect("valid address"),
            public_url: None,
            realm: "Production Sequence".to_string(),
            secret: None,
            fixtures: None,
            today: None,
        }
    }
}
