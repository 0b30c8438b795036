//! The `sequence` command: `serve` (the default), `migrate`, `fixtures load FILE`.
use clap::{Parser, Subcommand};
use sequence::config::Config;
use sequence::fixtures::Fixtures;
use sequence::{server, store};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sequence",
    version,
    about = "An API-compatible server for BeBanjo's Sequence jobs API"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve {
        /// Serve from a throw-away SQLite database, removed at exit (for test suites).
        #[arg(long)]
        ephemeral: bool,
    },
    /// Create the database if needed and apply migrations, then exit.
    Migrate,
    /// Manage fixtures.
    Fixtures {
        #[command(subcommand)]
        action: FixturesAction,
    },
}

#[derive(Subcommand)]
enum FixturesAction {
    /// Load a fixtures file (idempotent).
    Load { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr; stdout carries only the ready line, for scripts to read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut config = cli.config;
    match cli.command.unwrap_or(Command::Serve { ephemeral: false }) {
        Command::Serve { ephemeral } => {
            let scratch = ephemeral.then(server::EphemeralDatabase::create);
            if let Some(scratch) = &scratch {
                config.database_url = Some(scratch.url());
            }
            let prepared = server::prepare(&config).await?;
            let addr = prepared.addr;
            tracing::info!(%addr, "sequence is ready");
            println!(
                "sequence listening on http://{addr}\n  try: curl --digest -u robot_user:password http://{addr}/api/work_areas/10/jobs?pagination=true"
            );
            let served = server::serve(prepared, server::shutdown_signal()).await;
            drop(scratch);
            served
        }
        Command::Migrate => {
            store::open(&config.database_url()?)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!("database is migrated");
            Ok(())
        }
        Command::Fixtures {
            action: FixturesAction::Load { file },
        } => {
            let fixtures = Fixtures::from_file(&file)?;
            let repo = store::open(&config.database_url()?)
                .await
                .map_err(|e| e.to_string())?;
            repo.load_fixtures(&fixtures, &config.realm)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(file = %file.display(), "fixtures loaded");
            Ok(())
        }
    }
}
