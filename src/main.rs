//! The `sequence` command: `serve` (the default), `migrate`, `fixtures load FILE`.
use clap::{Parser, Subcommand};
use sequence::config::Config;
use sequence::fixtures::Fixtures;
use sequence::{bulk, server, store};
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
    /// Bulk-generate jobs (template `Eight`: 8 tasks, 4 assets; a spread of statuses, some
    /// problems, 5% deleted) after loading the fixtures, for benchmarks and trials at scale.
    Generate {
        /// How many jobs to add.
        #[arg(long)]
        jobs: u64,
        /// The work area that receives them.
        #[arg(long, default_value_t = 10)]
        work_area: i64,
    },
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
            tracing::info!(%addr, database = %prepared.database, "sequence is ready");
            announce(addr, prepared.demo_credentials);
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
        Command::Fixtures {
            action: FixturesAction::Generate { jobs, work_area },
        } => generate(&config, jobs, work_area).await,
    }
}

/// The ready line on stdout, for people and for scripts waiting on it. One write, and a closed
/// stdout (`| head -1`) is no reason to stop serving.
fn announce(addr: std::net::SocketAddr, demo_credentials: bool) {
    use std::io::Write;
    let hint = if demo_credentials {
        format!("curl --digest -u robot_user:password 'http://{addr}/api/work_areas/10/jobs?pagination=true'")
    } else {
        format!("curl --digest -u USER:PASSWORD 'http://{addr}/api/work_areas'")
    };
    let line = format!("sequence listening on http://{addr}\n  try: {hint}\n");
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(line.as_bytes());
    let _ = stdout.flush();
}

/// Jobs generated and stored per transaction.
const GENERATE_BATCH: u64 = 10_000;

async fn generate(config: &Config, jobs: u64, work_area: i64) -> Result<(), String> {
    let started = std::time::Instant::now();
    let fixtures = match &config.fixtures {
        Some(path) => Fixtures::from_file(path)?,
        None => Fixtures::demo(),
    };
    let repo = store::open(&config.database_url()?)
        .await
        .map_err(|e| e.to_string())?;
    repo.load_fixtures(&bulk::with_template(fixtures), &config.realm)
        .await
        .map_err(|e| e.to_string())?;
    let mut done = 0;
    while done < jobs {
        let batch: Vec<_> = (done..jobs.min(done + GENERATE_BATCH))
            .map(bulk::job)
            .collect();
        repo.bulk_insert(work_area, bulk::TEMPLATE, &batch)
            .await
            .map_err(|e| format!("bulk insert into work area {work_area}: {e}"))?;
        done += batch.len() as u64;
        tracing::info!(done, of = jobs, "generated");
    }
    repo.optimize().await.map_err(|e| e.to_string())?;
    println!(
        "generated {jobs} jobs in work area {work_area} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
