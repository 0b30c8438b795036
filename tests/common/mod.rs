//! The test harness: a real server on 127.0.0.1:0 over its own database — PostgreSQL or
//! SQLite — and a Digest client built on the independent `http-auth` crate.
//!
//! `contract_tests!` declares tests that run once per backend (`name::postgres`,
//! `name::sqlite`): the same HTTP behaviour is proven on both.
#![allow(dead_code)]

pub mod doc;

use http_auth::PasswordClient;
use reqwest::header::{HeaderMap, AUTHORIZATION, WWW_AUTHENTICATE};
use sequence::config::{sqlite_url, Config};
use sequence::server;
use std::cell::Cell;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Declares async tests that run against every backend.
#[allow(unused_macros)]
macro_rules! contract_tests {
    ($( $(#[$meta:meta])* async fn $name:ident() $body:block )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[test]
                fn postgres() {
                    crate::common::run(crate::common::Backend::Postgres, async $body)
                }

                #[test]
                fn sqlite() {
                    crate::common::run(crate::common::Backend::Sqlite, async $body)
                }
            }
        )*
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Postgres) };
}

/// The backend servers started by the current test use.
pub fn backend() -> Backend {
    BACKEND.with(Cell::get)
}

/// Runs one test body against `backend` on a two-worker runtime.
pub fn run(backend: Backend, test: impl Future<Output = ()>) {
    BACKEND.with(|b| b.set(backend));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(test);
}

/// Where PostgreSQL test databases are created; `TEST_DATABASE_URL` points elsewhere.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
        .trim_end_matches('/')
        .to_string()
}

pub fn fixtures_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test.toml")
}

/// The "today" tests run at unless they say otherwise: every reference example is pending.
pub const TODAY: &str = "2010-05-01";

/// A test's own database on the current backend, removed when dropped.
pub struct TestDatabase {
    pub url: String,
    scratch: Scratch,
}

enum Scratch {
    Postgres { database: String },
    Sqlite { path: PathBuf },
}

impl TestDatabase {
    /// Names a fresh database; the server creates it on start.
    pub fn new() -> TestDatabase {
        let name = scratch_name();
        match backend() {
            Backend::Postgres => TestDatabase {
                url: format!("{}/{name}", server_url()),
                scratch: Scratch::Postgres { database: name },
            },
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                TestDatabase {
                    url: sqlite_url(&path),
                    scratch: Scratch::Sqlite { path },
                }
            }
        }
    }

    /// The single integer a portable query returns (e.g. `SELECT count(*) FROM jobs`).
    pub async fn count(&self, sql: &str) -> i64 {
        match &self.scratch {
            Scratch::Postgres { .. } => {
                let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
                let n = sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await;
                pool.close().await;
                n.expect("count query")
            }
            Scratch::Sqlite { .. } => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.expect("open");
                let n = sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await;
                pool.close().await;
                n.expect("count query")
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.scratch {
            Scratch::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Scratch::Postgres { database } => drop_postgres_database(database.clone()),
        }
    }
}

pub struct TestServer {
    pub base: String,
    pub database_url: String,
    // Dropped after the server is stopped (fields drop in order, after `Drop::drop`); `None`
    // for a second server on a database another `TestServer` owns.
    database: Option<TestDatabase>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn scratch_name() -> String {
    format!(
        "sequence_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        rand_suffix()
    )
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts a server on a fresh database of the current backend, after `customize` has
    /// adjusted its configuration.
    pub async fn start_with(customize: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_on_with(TestDatabase::new(), customize).await
    }

    /// Starts a server on a database a test has already filled.
    pub async fn start_on(database: TestDatabase) -> TestServer {
        TestServer::start_on_with(database, |_| {}).await
    }

    /// Starts a server on a database a test has already filled, after `customize`.
    pub async fn start_on_with(
        database: TestDatabase,
        customize: impl FnOnce(&mut Config),
    ) -> TestServer {
        let url = database.url.clone();
        TestServer::start_url(url, Some(database), customize).await
    }

    /// A second in-process server on this server's database (its own pool and background
    /// work); it does not own the database, which goes when `self` is dropped.
    pub async fn another_on_same_database(
        &self,
        customize: impl FnOnce(&mut Config),
    ) -> TestServer {
        TestServer::start_url(self.database_url.clone(), None, customize).await
    }

    /// A second server as a real OS process (the `sequence` binary) on this server's database,
    /// configured through `env`; killed when dropped, never owning the database.
    pub fn another_process_on_same_database(&self, env: &[(&str, &str)]) -> ServerProcess {
        ServerProcess::spawn(&self.database_url, env)
    }

    async fn start_url(
        database_url: String,
        database: Option<TestDatabase>,
        customize: impl FnOnce(&mut Config),
    ) -> TestServer {
        let mut config = Config::for_database(&database_url);
        config.fixtures = Some(fixtures_path());
        config.today = Some(TODAY.parse().unwrap());
        config.secret = Some("test secret".into());
        customize(&mut config);
        let prepared = server::prepare(&config).await.unwrap_or_else(|e| {
            panic!(
                "cannot start the test server on {:?} (is PostgreSQL up?): {e}",
                backend()
            )
        });
        let base = format!("http://{}", prepared.addr);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = server::serve(prepared, async {
                let _ = rx.await;
            })
            .await;
        });
        TestServer {
            base,
            database_url,
            database,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base, "robot_user", "password")
    }

    pub fn client_as(&self, user: &str, password: &str) -> Client {
        Client::new(&self.base, user, password)
    }

    /// A direct PostgreSQL connection to the server's database (PostgreSQL-only tests).
    pub async fn db(&self) -> sqlx::PgPool {
        assert_eq!(backend(), Backend::Postgres, "db() is for PostgreSQL tests");
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&self.database_url)
            .await
            .expect("connect to the test database")
    }

    /// The single integer a portable query returns, read straight from the server's database.
    pub async fn count(&self, sql: &str) -> i64 {
        count_on(&self.database_url, sql).await
    }
}

/// The single integer a portable query returns from the database at `url`.
pub async fn count_on(url: &str, sql: &str) -> i64 {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        let n = sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await;
        pool.close().await;
        n.expect("count query")
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("open");
        let n = sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await;
        pool.close().await;
        n.expect("count query")
    }
}

/// The real `sequence` binary serving a database, with the test fixtures and `TODAY`; killed
/// (SIGKILL) when dropped. It never owns the database.
pub struct ServerProcess {
    child: std::process::Child,
    pub base: String,
    /// The process's log (stderr, `RUST_LOG=warn` unless `env` says otherwise); kept after a
    /// failed test, removed otherwise.
    pub log: PathBuf,
}

impl ServerProcess {
    /// Starts the binary on `database_url` with `env` on top of the test settings, and waits
    /// for its ready line.
    pub fn spawn(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let log = std::env::temp_dir().join(format!("{}.log", scratch_name()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_sequence"));
        command
            .env("DATABASE_URL", database_url)
            .env("SEQUENCE_LISTEN", "127.0.0.1:0")
            .env("SEQUENCE_FIXTURES", fixtures_path())
            .env("SEQUENCE_SECRET", "test secret")
            .env("SEQUENCE_TODAY", TODAY)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(&log).expect("create the server log"),
            ));
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start the sequence binary");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        lines.read_line(&mut first).expect("ready line");
        let Some(base) = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(str::to_string)
        else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("the sequence binary did not start on {database_url}: {first:?}\n{log}");
        };
        // Keep draining stdout so that the process never blocks or fails writing to it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while matches!(lines.read_line(&mut sink), Ok(n) if n > 0) {
                sink.clear();
            }
        });
        ServerProcess { child, base, log }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base, "robot_user", "password")
    }

    pub fn client_as(&self, user: &str, password: &str) -> Client {
        Client::new(&self.base, user, password)
    }

    /// SIGKILL, and wait until the process is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("log of the server at {}: {}", self.base, self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Dropping the database needs its own runtime: Drop may run inside the test's runtime.
fn drop_postgres_database(database: String) {
    let admin = format!("{}/postgres", server_url());
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                let sql = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
                let _ = sqlx::query(&sql).execute(&pool).await;
                pool.close().await;
            }
        });
    })
    .join();
}

/// One HTTP answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "body: {}", self.body);
        self
    }
}

/// A Digest client that behaves like Python `requests`: it keeps the nonce of the last
/// challenge and counts `nc` up, answering a new challenge when the server sends one.
pub struct Client {
    base: String,
    http: reqwest::Client,
    user: String,
    password: String,
    digest: Mutex<Option<PasswordClient>>,
}

impl Client {
    pub fn new(base: &str, user: &str, password: &str) -> Client {
        Client {
            base: base.to_string(),
            http: reqwest::Client::new(),
            user: user.into(),
            password: password.into(),
            digest: Mutex::new(None),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], None).await
    }

    pub async fn get_json(&self, path: &str) -> Reply {
        self.send("GET", path, &[("Accept", "application/json")], None)
            .await
    }

    pub async fn post_xml(&self, path: &str, body: &str) -> Reply {
        self.send(
            "POST",
            path,
            &[("Content-Type", "application/xml")],
            Some(body),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: &str) -> Reply {
        let headers = [
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ];
        self.send("POST", path, &headers, Some(body)).await
    }

    pub async fn put_xml(&self, path: &str, body: &str) -> Reply {
        self.send(
            "PUT",
            path,
            &[("Content-Type", "application/xml")],
            Some(body),
        )
        .await
    }

    pub async fn put_json(&self, path: &str, body: &str) -> Reply {
        let headers = [
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ];
        self.send("PUT", path, &headers, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, &[], None).await
    }

    /// Sends with the current Digest state; on a 401 answers the fresh challenge once.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        self.try_send(method, path, headers, body)
            .await
            .expect("request sent")
    }

    /// Like `send`, but `None` when the connection fails (a server that was killed).
    pub async fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Option<Reply> {
        let first = self.attempt(method, path, headers, body, true).await?;
        if first.status != 401 {
            return Some(first);
        }
        let Some(challenge) = first.header(WWW_AUTHENTICATE.as_str()) else {
            return Some(first);
        };
        match PasswordClient::try_from(challenge) {
            Ok(client) => *self.digest.lock().unwrap() = Some(client),
            Err(_) => return Some(first),
        }
        self.attempt(method, path, headers, body, true).await
    }

    /// A Digest `Authorization` value for a request the test sends itself (after a fresh
    /// challenge), e.g. over a raw socket.
    pub async fn authorization_for(&self, method: &str, uri: &str) -> String {
        let first = self.anonymous("GET", "/api", &[]).await;
        let challenge = first
            .header(WWW_AUTHENTICATE.as_str())
            .expect("a challenge");
        let mut client = PasswordClient::try_from(challenge).expect("a Digest challenge");
        client
            .respond(&http_auth::PasswordParams {
                username: &self.user,
                password: &self.password,
                uri,
                method,
                body: Some(b""),
            })
            .expect("a response")
    }

    /// Sends without credentials.
    pub async fn anonymous(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.attempt(method, path, headers, None, false)
            .await
            .expect("request sent")
    }

    async fn attempt(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
        with_credentials: bool,
    ) -> Option<Reply> {
        let url = reqwest::Url::parse(&format!("{}{}", self.base, path)).expect("url");
        let uri = match url.query() {
            Some(q) => format!("{}?{}", url.path(), q),
            None => url.path().to_string(),
        };
        let method_value = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method_value, url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let authorization = {
            let mut digest = self.digest.lock().unwrap();
            match digest.as_mut() {
                Some(client) if with_credentials => client
                    .respond(&http_auth::PasswordParams {
                        username: &self.user,
                        password: &self.password,
                        uri: &uri,
                        method,
                        body: Some(body.unwrap_or("").as_bytes()),
                    })
                    .ok(),
                _ => None,
            }
        };
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.ok()?;
        Some(Reply {
            status,
            headers,
            body,
        })
    }
}

/// Runs curl with Digest credentials; returns (status, body).
pub async fn curl(args: &[&str]) -> (u16, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}"])
            .args(&args)
            .output()
            .expect("curl is installed");
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (status.trim().parse().unwrap_or(0), body.to_string())
    })
    .await
    .unwrap()
}

/// A job body in XML with the given template and dates.
pub fn job_xml(name: &str, begins_at: &str, template: &str) -> String {
    format!(
        "<job><name>{name}</name><begins-at type=\"date\">{begins_at}</begins-at>\
         <licensor-name>Miramax</licensor-name><template>{template}</template></job>"
    )
}

/// Creates a job and returns its id.
pub async fn create_job(client: &Client, name: &str, begins_at: &str, template: &str) -> i64 {
    let reply = client
        .post_xml(
            "/api/work_areas/10/jobs",
            &job_xml(name, begins_at, template),
        )
        .await;
    reply.assert_status(200);
    let location = reply.header("location").expect("Location header");
    location.rsplit('/').next().unwrap().parse().unwrap()
}
