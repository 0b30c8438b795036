//! Starting the server: open the store, load fixtures, bind, serve until asked to stop.
use crate::app::{build_app, AppState};
use crate::config::Config;
use crate::delivery::{self, Worker};
use crate::fixtures::Fixtures;
use crate::repr::resources::Urls;
use crate::store::{self, SharedRepository};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rand::RngCore;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// A server ready to accept connections.
pub struct Prepared {
    pub listener: TcpListener,
    pub app: Router,
    pub repo: SharedRepository,
    pub addr: SocketAddr,
    /// The hook delivery worker; it stops when the server does.
    pub worker: Worker,
    /// The database served, password hidden, for the start-up log.
    pub database: String,
    /// Whether `robot_user` / `password` can log in (whatever fixtures loaded it).
    pub demo_credentials: bool,
    pub header_read_timeout: Duration,
}

/// Loads the configured fixtures (or the demo set) into the store.
pub async fn load_fixtures(repo: &SharedRepository, config: &Config) -> Result<(), String> {
    let fixtures = match &config.fixtures {
        Some(path) => Fixtures::from_file(path)?,
        None => Fixtures::demo(),
    };
    repo.load_fixtures(&fixtures, &config.realm)
        .await
        .map_err(|e| format!("loading fixtures: {e}"))
}

/// Fixtures only add and update users, so the demo user can outlive the demo fixtures: ask the
/// database, not the file.
async fn demo_credentials_active(repo: &SharedRepository, realm: &str) -> Result<bool, String> {
    let user = repo
        .user_by_login("robot_user")
        .await
        .map_err(|e| e.to_string())?;
    Ok(user.is_some_and(|u| {
        u.ha1_md5 == crate::http::digest::ha1_md5("robot_user", realm, "password")
    }))
}

fn secret(config: &Config) -> Vec<u8> {
    match &config.secret {
        Some(secret) if !secret.is_empty() => secret.as_bytes().to_vec(),
        _ => {
            tracing::warn!(
                "SEQUENCE_SECRET is not set: using a random nonce key; replicas of this server \
                 will not accept each other's Digest nonces"
            );
            let mut key = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            key
        }
    }
}

pub async fn prepare(config: &Config) -> Result<Prepared, String> {
    let database_url = config.database_url()?;
    let repo = store::open(&database_url)
        .await
        .map_err(|e| format!("opening {}: {e}", store::redact(&database_url)))?;
    load_fixtures(&repo, config).await?;
    let demo_credentials = demo_credentials_active(&repo, &config.realm).await?;
    if demo_credentials {
        tracing::warn!(
            "DEMO CREDENTIALS ACTIVE: robot_user/password can use this server; load fixtures \
             that give robot_user another password (or use other fixtures on a fresh database) \
             for anything but local use"
        );
    }
    let state = AppState::new(repo.clone(), config, &secret(config));
    let hooks = state.hooks.clone();
    let app = build_app(state, config.public_url.clone());
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Payloads are sent outside any request, so their links need a base of their own.
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let worker = delivery::start(repo.clone(), hooks, Urls::new(&base));
    Ok(Prepared {
        listener,
        app,
        repo,
        addr,
        worker,
        database: store::redact(&database_url),
        demo_credentials,
        header_read_timeout: Duration::from_secs(config.header_read_timeout_secs.max(1)),
    })
}

/// Connections served at once; more wait in the listen backlog, so a flood of idle sockets
/// cannot exhaust file descriptors.
const MAX_CONNECTIONS: usize = 1024;
/// How long in-flight requests get to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves until `shutdown` completes, then lets in-flight requests finish. HTTP/1.1 with
/// keep-alive; slow or idle clients are cut off after the configured header-read timeout.
pub async fn serve(
    prepared: Prepared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let _worker = prepared.worker;
    let listener = prepared.listener;
    let service = TowerToHyperService::new(prepared.app);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(prepared.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(|e| e.to_string())?,
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown: connections still open after the drain timeout");
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// A throw-away SQLite database for `serve --ephemeral`: removed (with its WAL files) on drop.
pub struct EphemeralDatabase {
    path: std::path::PathBuf,
}

impl EphemeralDatabase {
    pub fn create() -> EphemeralDatabase {
        let mut nonce = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut nonce);
        let name = format!(
            "sequence-ephemeral-{}-{}.db",
            std::process::id(),
            hex::encode(nonce)
        );
        EphemeralDatabase {
            path: std::env::temp_dir().join(name),
        }
    }

    pub fn url(&self) -> String {
        crate::config::sqlite_url(&self.path)
    }
}

impl Drop for EphemeralDatabase {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = self.path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
}
