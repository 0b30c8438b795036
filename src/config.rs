//! Every setting, from flags and the environment, with its default, in one struct.
use chrono::NaiveDate;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database to serve from: `postgres://…` or `sqlite://…`; created if missing, migrations
    /// applied at start-up. Default: a SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Where the default SQLite database lives (created on first start).
    #[arg(
        long,
        env = "SEQUENCE_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Address to listen on.
    #[arg(
        long,
        env = "SEQUENCE_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Base of every link (e.g. https://sequence.example.com). Default: from the request's Host.
    #[arg(long, env = "SEQUENCE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Digest realm offered in challenges.
    #[arg(
        long,
        env = "SEQUENCE_REALM",
        default_value = "Production Sequence",
        global = true
    )]
    pub realm: String,

    /// Key for Digest nonces; share it between replicas. Default: random per process.
    #[arg(long, env = "SEQUENCE_SECRET", hide_env_values = true, global = true)]
    pub secret: Option<String>,

    /// Fixtures file (accounts, users, work areas, templates). Default: the built-in demo data.
    #[arg(long, env = "SEQUENCE_FIXTURES", global = true)]
    pub fixtures: Option<PathBuf>,

    /// Let hooks call loopback, private and link-local addresses (tests, local use).
    #[arg(long, env = "SEQUENCE_HOOKS_ALLOW_PRIVATE", global = true)]
    pub hooks_allow_private: bool,

    /// First retry delay of a failed hook delivery, in milliseconds; it doubles per attempt.
    #[arg(
        long,
        env = "SEQUENCE_HOOKS_RETRY_BASE_MS",
        default_value_t = 30_000,
        global = true
    )]
    pub hooks_retry_base_ms: u64,

    /// Seconds a client has to send a request's headers (idle keep-alive included).
    #[arg(
        long,
        env = "SEQUENCE_HEADER_READ_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub header_read_timeout_secs: u64,

    /// Fixed date (YYYY-MM-DD) used as "today" by the derived statuses. Default: the UTC date.
    #[arg(long, env = "SEQUENCE_TODAY", global = true)]
    pub today: Option<NaiveDate>,
}

impl Config {
    /// The database URL to open: the configured one, or the default SQLite file in the data
    /// directory (which is created).
    pub fn database_url(&self) -> Result<String, String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir).map_err(|e| {
            format!(
                "cannot create the data directory {}: {e}",
                self.data_dir.display()
            )
        })?;
        Ok(sqlite_url(&self.data_dir.join("sequence.db")))
    }

    /// Settings for tests and embedding: everything at its default except the database.
    pub fn for_database(database_url: &str) -> Self {
        Config {
            database_url: Some(database_url.to_string()),
            data_dir: PathBuf::from("./data"),
            listen: "127.0.0.1:0".parse().expect("valid address"),
            public_url: None,
            realm: "Production Sequence".to_string(),
            secret: None,
            fixtures: None,
            hooks_allow_private: false,
            hooks_retry_base_ms: 30_000,
            header_read_timeout_secs: 30,
            today: None,
        }
    }
}

/// A `sqlite://` URL for a file path.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}", path.display())
}
