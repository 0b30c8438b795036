//! `cargo bench --bench api`: the HTTP benchmark of issue 6, on PostgreSQL.
//!
//! For each size in `SEQUENCE_BENCH_SIZES` (default `10000,100000,1000000`) it
//! 1. loads a fresh database `sequence_bench_<size>` with `sequence fixtures generate --jobs N`,
//! 2. measures the ceiling with `pgbench -S` (select-only, simple protocol, same client count),
//! 3. starts the release server as a subprocess and records start-up time and RSS,
//! 4. streams the unpaginated list (XML, JSON), then drives every scenario with
//!    Digest-authenticated keep-alive clients that reuse the nonce as Python `requests` does,
//!
//! and rewrites `BENCHMARKS.md` after every size (so a long run that dies keeps what it measured).
//! Everything is bounded in time, and every child process is killed on exit, panic or Ctrl-C.
//!
//! Settings (environment): `SEQUENCE_BENCH_SIZES`, `SEQUENCE_BENCH_SECONDS` (per scenario,
//! default 10), `SEQUENCE_BENCH_WARMUP` (default 1), `SEQUENCE_BENCH_CLIENTS` (default 8),
//! `SEQUENCE_BENCH_REUSE=1` (keep a database that already holds the size),
//! `SEQUENCE_BENCH_QUIET_WAIT` (seconds to wait for an idle machine before each measurement,
//! default 30), `SEQUENCE_BENCH_PG` (default `postgres://postgres@127.0.0.1:5432`),
//! `SEQUENCE_BENCH_PGBENCH` (path of pgbench), `SEQUENCE_BENCH_STREAM_TIMEOUT` (seconds,
//! default 600), `SEQUENCE_BENCH_OUT` (default `BENCHMARKS.md` at the repository root).
use http_auth::PasswordClient;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::Method;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The server binary cargo built for this bench (the release profile: benches use `bench`,
/// which inherits `release`).
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_sequence");
const WORK_AREA: i64 = 10;
const USER: &str = "robot_user";
const PASSWORD: &str = "password";
const PER_PAGE: u64 = 50;
const DEEP_PAGE: u64 = 2000;
/// Jobs the create scenario makes carry this licensor, so they can be removed afterwards and a
/// reused database keeps its size.
const BENCH_LICENSOR: &str = "sequence-bench";
/// Everything after this line in BENCHMARKS.md is kept across runs.
const HAND_NOTES_MARKER: &str = "<!-- Notes by hand: the driver keeps everything below. -->";
const PGBENCH_DB: &str = "sequence_bench_pgbench";

fn main() {
    // `cargo test --all-targets` runs harness-less benches without `--bench`: do nothing then,
    // so a test run never turns into a half-hour benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("benches/api.rs: run it with `cargo bench --bench api` (or scripts/bench)");
        return;
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    // Two workers, as pgbench gets `-j 2`: the load generator shares the two cores with the
    // server and PostgreSQL either way, and its CPU share is reported per scenario.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(async {
        tokio::spawn(kill_children_on_signal());
        run(settings).await
    });
    if let Err(e) = outcome {
        eprintln!("bench failed: {e}");
        kill_registered_children();
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Settings and the machine
// ---------------------------------------------------------------------------------------------

struct Settings {
    sizes: Vec<u64>,
    seconds: f64,
    warmup: f64,
    clients: usize,
    reuse: bool,
    pg: String,
    stream_timeout: Duration,
    quiet_wait: Duration,
    out: PathBuf,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        let sizes = env_string("SEQUENCE_BENCH_SIZES", "10000,100000,1000000")
            .split(',')
            .map(|s| s.trim().replace('_', ""))
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u64>().map_err(|_| format!("bad size {s:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        if sizes.is_empty() {
            return Err("SEQUENCE_BENCH_SIZES is empty".into());
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        Ok(Settings {
            sizes,
            seconds: env_parse("SEQUENCE_BENCH_SECONDS", 10.0)?,
            warmup: env_parse("SEQUENCE_BENCH_WARMUP", 1.0)?,
            clients: env_parse("SEQUENCE_BENCH_CLIENTS", 8)?,
            reuse: matches!(
                env_string("SEQUENCE_BENCH_REUSE", "").as_str(),
                "1" | "true" | "yes"
            ),
            pg: env_string("SEQUENCE_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
                .trim_end_matches('/')
                .to_string(),
            quiet_wait: Duration::from_secs_f64(env_parse("SEQUENCE_BENCH_QUIET_WAIT", 30.0)?),
            stream_timeout: Duration::from_secs_f64(env_parse(
                "SEQUENCE_BENCH_STREAM_TIMEOUT",
                600.0,
            )?),
            out: std::env::var("SEQUENCE_BENCH_OUT")
                .map(PathBuf::from)
                .unwrap_or_else(|_| root.join("BENCHMARKS.md")),
        })
    }

    fn database_url(&self, database: &str) -> String {
        format!("{}/{database}", self.pg)
    }
}

fn env_string(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn env_parse<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().map_err(|_| format!("bad {name}: {v:?}")),
        Err(_) => Ok(default),
    }
}

/// Where logs of the children go (cargo's scratch folder for benches).
fn log_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

struct Machine {
    cpus: usize,
    cpu_model: String,
    memory: String,
    kernel: String,
    postgres: String,
    rustc: String,
    commit: String,
    pgbench: String,
}

impl Machine {
    async fn probe(settings: &Settings, pgbench: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let memory = proc_field("/proc/meminfo", "MemTotal:")
            .map(|kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0))
            .unwrap_or_else(|| "unknown".into());
        let postgres = match connect(&settings.database_url("postgres")).await {
            Ok(pool) => {
                let v: Result<String, _> = sqlx::query_scalar("SHOW server_version")
                    .fetch_one(&pool)
                    .await;
                pool.close().await;
                v.map(|v| format!("PostgreSQL {v}"))
                    .unwrap_or_else(|e| e.to_string())
            }
            Err(e) => e,
        };
        let dirty = command_output("git", &["status", "--porcelain"])
            .map(|s| !s.trim().is_empty())
            .unwrap_or(false);
        Machine {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            cpu_model,
            memory,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
            postgres,
            rustc: command_output("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
            commit: command_output("git", &["rev-parse", "--short", "HEAD"])
                .map(|c| {
                    if dirty {
                        format!("{c} (+ local changes)")
                    } else {
                        c
                    }
                })
                .unwrap_or_else(|| "unknown".into()),
            pgbench: command_output(&pgbench.to_string_lossy(), &["--version"])
                .unwrap_or_else(|| "unknown".into()),
        }
    }
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A `kB` field of a /proc file such as `/proc/<pid>/status` (VmRSS, VmHWM) or /proc/meminfo.
fn proc_field(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Child processes: registered so that Ctrl-C, SIGTERM and panics never leave one behind
// ---------------------------------------------------------------------------------------------

static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn register_child(pid: u32) {
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
}

fn unregister_child(pid: u32) {
    CHILDREN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| *p != pid);
}

fn kill_registered_children() {
    let pids: Vec<u32> = CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for pid in pids {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

async fn kill_children_on_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
    eprintln!("bench: interrupted; killing the server and helpers");
    kill_registered_children();
    std::process::exit(130);
}

/// Runs a command to completion within `limit`, its output in `<log>.out` / `<log>.err` (files,
/// not pipes, so a chatty child can never block on a full pipe). Returns its standard output.
async fn run_logged(mut cmd: Command, log: &str, limit: Duration) -> Result<String, String> {
    let out_path = log_dir().join(format!("{log}.out"));
    let err_path = log_dir().join(format!("{log}.err"));
    let out = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let err = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    register_child(child.id());
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("{log}: still running after {limit:?}; killed"));
            }
            Ok(None) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => break Err(e.to_string()),
        }
    };
    unregister_child(child.id());
    let status = status?;
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        Err(format!(
            "{log} failed ({status}): {}",
            tail(&format!("{stdout}\n{stderr}"), 1500)
        ))
    }
}

fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    let start = text.len().saturating_sub(max);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

// ---------------------------------------------------------------------------------------------
// The server subprocess
// ---------------------------------------------------------------------------------------------

/// One running server; killed when dropped.
struct Server {
    child: Child,
    pid: u32,
    base: String,
    database_url: String,
    /// From spawn to the first HTTP answer (any status).
    startup: Duration,
}

impl Server {
    async fn start(database_url: &str) -> Result<Server, String> {
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let probe = http_client(Duration::from_secs(1))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_dir().join("server.log"))
            .map_err(|e| e.to_string())?;
        let mut cmd = Command::new(SERVER_BIN);
        cmd.env("DATABASE_URL", database_url)
            .env("SEQUENCE_LISTEN", format!("127.0.0.1:{port}"))
            .env("SEQUENCE_SECRET", "bench")
            .env("RUST_LOG", "warn")
            .env_remove("SEQUENCE_FIXTURES")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {SERVER_BIN}: {e}"))?;
        let pid = child.id();
        register_child(pid);
        let mut server = Server {
            child,
            pid,
            base,
            database_url: database_url.to_string(),
            startup: Duration::ZERO,
        };
        server.startup = server.wait_for_first_answer(&probe, started).await?;
        Ok(server)
    }

    /// Polls `GET /api` (unauthenticated: a 401 is an answer) every 5 ms, for at most 60 s.
    async fn wait_for_first_answer(
        &mut self,
        probe: &reqwest::Client,
        started: Instant,
    ) -> Result<Duration, String> {
        let url = format!("{}/api", self.base);
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the server exited ({status}) before answering; see {}",
                    log_dir().join("server.log").display()
                ));
            }
            if probe.get(&url).send().await.is_ok() {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err("the server did not answer within 60 s".into())
    }

    /// A fresh process on the same database (resets its peak RSS).
    async fn restart(self) -> Result<Server, String> {
        let url = self.database_url.clone();
        drop(self);
        Server::start(&url).await
    }

    fn status_kb(&self, field: &str) -> Option<u64> {
        proc_field(&format!("/proc/{}/status", self.pid), field)
    }

    fn rss_kb(&self) -> Option<u64> {
        self.status_kb("VmRSS:")
    }

    fn peak_kb(&self) -> Option<u64> {
        self.status_kb("VmHWM:")
    }

    /// VmHWM only grows; writing 5 to clear_refs resets it to the current RSS (Linux ≥ 4.0).
    fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    fn cpu_ticks(&self) -> u64 {
        process_cpu_ticks(&format!("/proc/{}/stat", self.pid))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        unregister_child(self.pid);
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Gives `reset_peak` a fallback: when clear_refs cannot be written, restart the server.
async fn with_fresh_peak(server: Server) -> Result<(Server, &'static str), String> {
    if server.reset_peak() {
        Ok((server, "VmHWM reset through /proc/<pid>/clear_refs"))
    } else {
        Ok((server.restart().await?, "server restarted to reset VmHWM"))
    }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting, to tell whose cores a scenario used
// ---------------------------------------------------------------------------------------------

/// Fields 14 to 17 of a /proc/<pid>/stat text: utime, stime, cutime, cstime, in clock ticks
/// (USER_HZ: 100 per second on Linux). The `c` pair is the CPU of children already waited for.
fn stat_times(text: &str) -> [u64; 4] {
    // The command name may hold spaces; the fields after it start at field 3.
    let after_name = text.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    std::array::from_fn(|i| fields.get(i).copied().unwrap_or(0))
}

/// utime + stime of a process.
fn stat_cpu_ticks(text: &str) -> u64 {
    let [user, system, _, _] = stat_times(text);
    user + system
}

fn process_cpu_ticks(stat_path: &str) -> u64 {
    stat_cpu_ticks(&std::fs::read_to_string(stat_path).unwrap_or_default())
}

/// This process and its reaped children (pgbench, while the ceiling is measured).
fn bench_cpu_ticks() -> u64 {
    stat_times(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
        .iter()
        .sum()
}

#[derive(Clone, Copy, Default)]
struct CpuSnap {
    server: u64,
    bench: u64,
    postgres: u64,
    busy: u64,
}

/// CPU ticks of every PostgreSQL process (the postmaster, backends, WAL writer, checkpointer),
/// found by their command name.
fn postgres_cpu_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        // With reaped children: the postmaster collects the time of backends that exited
        // (pgbench's, at the end of its run).
        .map(|stat| stat_times(&stat).iter().sum::<u64>())
        .sum()
}

/// A snapshot of CPU time; `server` is None while no server runs (the pgbench ceiling).
fn cpu_snap(server: Option<&Server>) -> CpuSnap {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy is everything but idle and iowait.
    let busy = cpu
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
        .map(|(_, v)| v)
        .sum();
    CpuSnap {
        server: server.map_or(0, Server::cpu_ticks),
        bench: bench_cpu_ticks(),
        postgres: postgres_cpu_ticks(),
        busy,
    }
}

/// Machine-wide busy CPU over `window`, in percent of one core.
async fn busy_percent(window: Duration) -> f64 {
    let before = cpu_snap(None);
    tokio::time::sleep(window).await;
    cpu_use(before, cpu_snap(None), window.as_secs_f64()).total()
}

/// Waits, up to `limit`, for the machine to be quiet (nothing but noise running) before a
/// measurement: the bench shares two cores with whatever else runs, such as a build. Returns
/// how long it waited; the measurement itself still records what else ran meanwhile.
async fn wait_for_quiet(limit: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < limit {
        if busy_percent(Duration::from_millis(500)).await < QUIET_PERCENT {
            break;
        }
    }
    started.elapsed()
}

/// Busy CPU below this share of one core, with no measurement running, counts as quiet.
const QUIET_PERCENT: f64 = 15.0;

/// CPU used between two snapshots, in percent of one core: the server, this load generator,
/// PostgreSQL, and the rest (kernel work not charged to a process, and anything else running,
/// such as a build: a large `other` means the machine was not quiet and the numbers suffer).
#[derive(Clone, Copy, Default)]
struct CpuUse {
    server: f64,
    bench: f64,
    postgres: f64,
    other: f64,
    server_seconds: f64,
}

/// `other` above this share of one core marks a measurement as disturbed.
const DISTURBED_OTHER_PERCENT: f64 = 30.0;

impl CpuUse {
    fn total(&self) -> f64 {
        self.server + self.bench + self.postgres + self.other
    }

    fn disturbed(&self) -> bool {
        self.other > DISTURBED_OTHER_PERCENT
    }

    fn cells(&self) -> String {
        format!(
            "{:.0} / {:.0} / {:.0} / {}{:.0}{}",
            self.server,
            self.bench,
            self.postgres,
            if self.disturbed() { "**" } else { "" },
            self.other,
            if self.disturbed() { "**" } else { "" }
        )
    }
}

fn cpu_use(a: CpuSnap, b: CpuSnap, seconds: f64) -> CpuUse {
    let pct = |ticks: u64| ticks as f64 / 100.0 / seconds.max(1e-9) * 100.0;
    let server = b.server.saturating_sub(a.server);
    let bench = b.bench.saturating_sub(a.bench);
    let postgres = b.postgres.saturating_sub(a.postgres);
    let busy = b.busy.saturating_sub(a.busy);
    CpuUse {
        server: pct(server),
        bench: pct(bench),
        postgres: pct(postgres),
        other: pct(busy.saturating_sub(server + bench + postgres)),
        server_seconds: server as f64 / 100.0,
    }
}

// ---------------------------------------------------------------------------------------------
// The Digest client: one keep-alive connection, nonce reused, nc counting up
// ---------------------------------------------------------------------------------------------

fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy() // the target is always loopback; a proxy from the environment would lie
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())
}

/// One request, with its target exactly as sent (the Digest `uri`).
#[derive(Clone)]
struct Req {
    method: Method,
    target: String,
    json: bool,
    body: Option<String>,
}

impl Req {
    fn get(target: String, json: bool) -> Req {
        Req {
            method: Method::GET,
            target,
            json,
            body: None,
        }
    }
}

/// A client as Python `requests` with `HTTPDigestAuth` behaves: it answers the first challenge,
/// then keeps the nonce and counts `nc` up on every request, taking a new challenge on a 401.
struct Session {
    http: reqwest::Client,
    base: String,
    digest: Option<PasswordClient>,
}

impl Session {
    fn new(base: &str, timeout: Duration) -> Result<Session, String> {
        Ok(Session {
            http: http_client(timeout)?,
            base: base.to_string(),
            digest: None,
        })
    }

    /// Sends and reads the whole body; returns the status and the body's length.
    async fn send(&mut self, req: &Req) -> Result<(u16, usize), String> {
        let response = self.open(req).await?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        Ok((status, body.len()))
    }

    /// Sends and reads the whole body as text (for the few requests whose answer we inspect).
    async fn text(&mut self, req: &Req) -> Result<(u16, String), String> {
        let response = self.open(req).await?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|e| e.to_string())?;
        Ok((status, body))
    }

    /// Sends, answering one fresh challenge if the server sends a 401; the body is left unread.
    async fn open(&mut self, req: &Req) -> Result<reqwest::Response, String> {
        let first = self.attempt(req).await?;
        if first.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(first);
        }
        let Some(challenge) = first
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        else {
            return Ok(first);
        };
        // Read the 401's body so its connection goes back to the pool and is reused.
        let _ = first.bytes().await;
        self.digest = Some(PasswordClient::try_from(challenge.as_str())?);
        self.attempt(req).await
    }

    async fn attempt(&mut self, req: &Req) -> Result<reqwest::Response, String> {
        let mut builder = self
            .http
            .request(req.method.clone(), format!("{}{}", self.base, req.target));
        if req.json {
            builder = builder.header(ACCEPT, "application/json");
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(digest) = self.digest.as_mut() {
            let authorization = digest.respond(&http_auth::PasswordParams {
                username: USER,
                password: PASSWORD,
                uri: &req.target,
                method: req.method.as_str(),
                body: Some(req.body.as_deref().unwrap_or("").as_bytes()),
            })?;
            builder = builder.header(AUTHORIZATION, authorization);
        }
        builder.send().await.map_err(|e| e.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// The database: creation, loading, and what the scenarios pick from
// ---------------------------------------------------------------------------------------------

async fn connect(url: &str) -> Result<PgPool, String> {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))
}

async fn recreate_database(settings: &Settings, name: &str) -> Result<(), String> {
    let admin = connect(&settings.database_url("postgres")).await?;
    for sql in [
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{name}\""),
    ] {
        sqlx::query(&sql)
            .execute(&admin)
            .await
            .map_err(|e| format!("{sql}: {e}"))?;
    }
    admin.close().await;
    Ok(())
}

/// With `SEQUENCE_BENCH_REUSE=1`: a database that already holds exactly `size` jobs in the work
/// area and the `Eight` template is kept as it is.
async fn reusable(url: &str, size: u64) -> bool {
    let Ok(pool) = connect(url).await else {
        return false;
    };
    let jobs: Result<i64, _> =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE work_area_id = $1")
            .bind(WORK_AREA)
            .fetch_one(&pool)
            .await;
    let eight: Result<i64, _> =
        sqlx::query_scalar("SELECT count(*) FROM templates WHERE name = 'Eight'")
            .fetch_one(&pool)
            .await;
    pool.close().await;
    matches!((jobs, eight), (Ok(j), Ok(1)) if j as u64 == size)
}

fn loader_available() -> bool {
    Command::new(SERVER_BIN)
        .args(["fixtures", "generate", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// How a size's database was filled, and how long it took.
struct Loaded {
    how: String,
    seconds: f64,
}

/// Creates and fills `sequence_bench_<size>` with the bulk loader (or keeps it, see
/// `reusable`), then `VACUUM ANALYZE`s it so that every size is measured in the steady state
/// autovacuum reaches soon after a load.
async fn prepare_database(settings: &Settings, size: u64) -> Result<(String, Loaded), String> {
    let name = format!("sequence_bench_{size}");
    let url = settings.database_url(&name);
    if settings.reuse && reusable(&url, size).await {
        eprintln!("bench: reusing {name}");
        let how = "reused (SEQUENCE_BENCH_REUSE=1)".to_string();
        return Ok((url, Loaded { how, seconds: 0.0 }));
    }
    if !loader_available() {
        return Err(format!(
            "{SERVER_BIN} has no `fixtures generate` subcommand (the bulk loader)"
        ));
    }
    recreate_database(settings, &name).await?;
    eprintln!("bench: loading {size} jobs with `sequence fixtures generate`");
    let started = Instant::now();
    let mut cmd = Command::new(SERVER_BIN);
    cmd.args(["fixtures", "generate", "--jobs", &size.to_string()])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn");
    run_logged(cmd, &format!("load-{size}"), Duration::from_secs(3 * 3600)).await?;
    let pool = connect(&url).await?;
    sqlx::query("VACUUM (ANALYZE)")
        .execute(&pool)
        .await
        .map_err(|e| format!("VACUUM ANALYZE: {e}"))?;
    pool.close().await;
    let how = format!("`sequence fixtures generate --jobs {size}` (and VACUUM ANALYZE)");
    let seconds = started.elapsed().as_secs_f64();
    Ok((url, Loaded { how, seconds }))
}

/// What the scenarios pick from: every live job id, and tasks that can be completed without a
/// duration (a task that requires one would answer 422 to `{"status":"completed"}`).
struct Sample {
    live_ids: Vec<i64>,
    tasks: Vec<(i64, i64)>,
}

async fn sample(pool: &PgPool) -> Result<Sample, String> {
    let live_ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM jobs WHERE work_area_id = $1 AND deleted_at IS NULL ORDER BY id",
    )
    .bind(WORK_AREA)
    .fetch_all(pool)
    .await
    .map_err(|e| e.to_string())?;
    if live_ids.is_empty() {
        return Err("no live jobs in work area 10".into());
    }
    let mut rng = StdRng::seed_from_u64(6);
    let picked: Vec<i64> = (0..5000)
        .map(|_| live_ids[rng.gen_range(0..live_ids.len())])
        .collect();
    let tasks = sqlx::query(
        "SELECT job_id, id FROM tasks WHERE job_id = ANY($1) AND NOT requires_duration",
    )
    .bind(&picked)
    .fetch_all(pool)
    .await
    .map_err(|e| e.to_string())?
    .iter()
    .map(|row| (row.get::<i64, _>(0), row.get::<i64, _>(1)))
    .collect::<Vec<_>>();
    if tasks.is_empty() {
        return Err("no task without a required duration among the sampled jobs".into());
    }
    Ok(Sample { live_ids, tasks })
}

/// The exact totals, from the base tables (tasks, assets, problems) rather than the counters
/// the server keeps, so that `total-entries` is checked against the truth.
struct Truth {
    live: i64,
    ready: i64,
    problematic: i64,
}

impl Truth {
    fn expected(&self, filter: Option<&str>) -> i64 {
        match filter {
            None => self.live,
            Some("ready") => self.ready,
            Some("pending") => self.live - self.ready,
            Some("problematic") => self.problematic,
            Some(other) => unreachable!("no truth for filter {other}"),
        }
    }
}

async fn truth(pool: &PgPool) -> Result<Truth, String> {
    let row = sqlx::query(
        "SELECT count(*), \
           sum(CASE WHEN NOT EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id \
                                      AND t.status <> 'completed') \
                     AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.job_id = j.id \
                                      AND a.status <> 'received') THEN 1 ELSE 0 END), \
           sum(CASE WHEN EXISTS (SELECT 1 FROM problems p WHERE p.job_id = j.id \
                                  AND NOT p.dismissed) THEN 1 ELSE 0 END) \
         FROM jobs j WHERE j.work_area_id = $1 AND j.deleted_at IS NULL",
    )
    .bind(WORK_AREA)
    .fetch_one(pool)
    .await
    .map_err(|e| format!("counting the truth: {e}"))?;
    Ok(Truth {
        live: row.get(0),
        ready: row.get::<Option<i64>, _>(1).unwrap_or(0),
        problematic: row.get::<Option<i64>, _>(2).unwrap_or(0),
    })
}

// ---------------------------------------------------------------------------------------------
// Scenarios and the closed-loop load runner
// ---------------------------------------------------------------------------------------------

const FILTERS: [Option<&str>; 4] = [None, Some("pending"), Some("ready"), Some("problematic")];

#[derive(Clone)]
enum Work {
    GetJob {
        json: bool,
    },
    List {
        filter: Option<&'static str>,
        page: u64,
    },
    Create,
    UpdateTask,
}

fn list_target(filter: Option<&str>, page: u64) -> String {
    let mut target =
        format!("/api/work_areas/{WORK_AREA}/jobs?pagination=true&per_page={PER_PAGE}");
    if let Some(f) = filter {
        let _ = write!(target, "&filter={f}");
    }
    if page > 1 {
        let _ = write!(target, "&page={page}");
    }
    target
}

impl Work {
    /// The `n`-th request of one client.
    fn request(&self, sample: &Sample, rng: &mut StdRng, n: u64) -> Req {
        match self {
            Work::GetJob { json } => {
                let id = sample.live_ids[rng.gen_range(0..sample.live_ids.len())];
                Req::get(format!("/api/work_areas/{WORK_AREA}/jobs/{id}"), *json)
            }
            Work::List { filter, page } => Req::get(list_target(*filter, *page), false),
            Work::Create => Req {
                method: Method::POST,
                target: format!("/api/work_areas/{WORK_AREA}/jobs"),
                json: true,
                body: Some(format!(
                    r#"{{"name":"Bench job {n}","begins_at":"2030-01-01","licensor_name":"{BENCH_LICENSOR}","template":"Eight"}}"#
                )),
            },
            Work::UpdateTask => {
                let (job, task) = sample.tasks[rng.gen_range(0..sample.tasks.len())];
                let status = if n % 2 == 0 { "completed" } else { "pending" };
                Req {
                    method: Method::PUT,
                    target: format!("/api/work_areas/{WORK_AREA}/jobs/{job}/tasks/{task}"),
                    json: true,
                    body: Some(format!(r#"{{"status":"{status}"}}"#)),
                }
            }
        }
    }
}

struct Scenario {
    key: String,
    label: String,
    work: Work,
}

/// What one run of a scenario measured.
#[derive(Default)]
struct Measured {
    key: String,
    label: String,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    seconds: f64,
    /// Microseconds per successful request, sorted.
    latencies: Vec<u32>,
    cpu: CpuUse,
    waits: Waits,
}

impl Measured {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds.max(1e-9)
    }

    /// Nearest-rank percentile, in milliseconds.
    fn percentile_ms(&self, q: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        Some(self.latencies[rank - 1] as f64 / 1000.0)
    }

    fn p50(&self) -> Option<f64> {
        self.percentile_ms(0.50)
    }

    fn p99(&self) -> Option<f64> {
        self.percentile_ms(0.99)
    }

    fn valid(&self) -> bool {
        self.errors == 0 && self.ok > 0
    }

    fn server_us_per_request(&self) -> f64 {
        self.cpu.server_seconds * 1e6 / (self.ok.max(1) as f64)
    }
}

/// One client's share of a run.
#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Vec<u32>,
}

/// What PostgreSQL's backends for the bench database were doing during a scenario, sampled
/// from `pg_stat_activity` every 50 ms: `CPU` (running, no wait event), a wait event such as
/// `Lock:transactionid` or `IO:WALSync`, or `idle in transaction` (waiting for the server's next
/// statement: a round trip inside a transaction). Tells a lock queue from a busy CPU.
#[derive(Default, Clone)]
struct Waits {
    samples: u64,
    /// (what, backend-samples), most frequent first.
    counts: Vec<(String, u64)>,
}

impl Waits {
    /// Busy backends on average.
    fn busy(&self) -> f64 {
        let total: u64 = self.counts.iter().map(|(_, n)| n).sum();
        total as f64 / self.samples.max(1) as f64
    }

    fn summary(&self) -> String {
        let total: u64 = self.counts.iter().map(|(_, n)| n).sum();
        if total == 0 {
            return "idle".into();
        }
        let top: Vec<String> = self
            .counts
            .iter()
            .take(3)
            .map(|(what, n)| format!("{what} {:.0}%", *n as f64 * 100.0 / total as f64))
            .collect();
        format!("{:.1} busy: {}", self.busy(), top.join(", "))
    }
}

async fn sample_waits(pool: PgPool, from: Instant, until: Instant) -> Waits {
    tokio::time::sleep_until(from.into()).await;
    let mut counts: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut samples = 0;
    while Instant::now() < until {
        let rows = sqlx::query(
            "SELECT CASE WHEN state = 'active' \
                         THEN coalesce(wait_event_type || ':' || wait_event, 'CPU') \
                         ELSE state END \
               FROM pg_stat_activity \
              WHERE datname = current_database() AND pid <> pg_backend_pid() \
                AND backend_type = 'client backend' AND state <> 'idle'",
        )
        .fetch_all(&pool)
        .await;
        if let Ok(rows) = rows {
            samples += 1;
            for row in rows {
                let what: Option<String> = row.get(0);
                *counts
                    .entry(what.unwrap_or_else(|| "?".into()))
                    .or_default() += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Waits { samples, counts }
}

/// Runs one scenario: `clients` closed-loop clients, each on its own keep-alive connection,
/// for `warmup` (not recorded: it includes connecting and the first Digest challenge) and then
/// `seconds` (recorded). A request counts if it started inside the recorded window.
async fn run_scenario(
    settings: &Settings,
    server: &Server,
    pool: &PgPool,
    sample: &Arc<Sample>,
    scenario: &Scenario,
) -> Measured {
    eprintln!("bench:   {}", scenario.label);
    let start = Instant::now();
    let warm_end = start + Duration::from_secs_f64(settings.warmup);
    let end = warm_end + Duration::from_secs_f64(settings.seconds);
    let waits = tokio::spawn(sample_waits(pool.clone(), warm_end, end));
    let mut handles = Vec::new();
    for c in 0..settings.clients {
        let sample = sample.clone();
        let work = scenario.work.clone();
        let session = Session::new(&server.base, Duration::from_secs(30));
        handles.push(tokio::spawn(async move {
            let mut session = session?;
            let mut rng = StdRng::seed_from_u64(c as u64 * 7919 + 1);
            let mut tally = Tally::default();
            let mut n = c as u64;
            while Instant::now() < end {
                let req = work.request(&sample, &mut rng, n);
                n += 1;
                let t0 = Instant::now();
                let outcome = session.send(&req).await;
                let micros = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
                if t0 < warm_end {
                    continue;
                }
                match outcome {
                    Ok((status, _)) if (200..300).contains(&status) => {
                        tally.ok += 1;
                        tally.latencies.push(micros);
                    }
                    other => {
                        tally.errors += 1;
                        if tally.first_error.is_none() {
                            tally.first_error = Some(match other {
                                Ok((status, _)) => format!("HTTP {status} on {}", req.target),
                                Err(e) => format!("{e} on {}", req.target),
                            });
                        }
                    }
                }
            }
            Ok::<Tally, String>(tally)
        }));
    }
    // CPU is sampled at the edges of the recorded window.
    tokio::time::sleep_until(warm_end.into()).await;
    let cpu_start = cpu_snap(Some(server));
    tokio::time::sleep_until(end.into()).await;
    let cpu_end = cpu_snap(Some(server));
    let mut measured = Measured {
        key: scenario.key.clone(),
        label: scenario.label.clone(),
        seconds: settings.seconds,
        cpu: cpu_use(cpu_start, cpu_end, settings.seconds),
        waits: waits.await.unwrap_or_default(),
        ..Measured::default()
    };
    // Requests time out after 30 s, so the clients end by then; the bound is a second fence.
    let collect = async {
        let mut tallies = Vec::new();
        for handle in handles {
            tallies.push(handle.await);
        }
        tallies
    };
    match tokio::time::timeout(Duration::from_secs(60), collect).await {
        Ok(tallies) => {
            for tally in tallies {
                match tally {
                    Ok(Ok(t)) => {
                        measured.ok += t.ok;
                        measured.errors += t.errors;
                        measured.first_error = measured.first_error.or(t.first_error);
                        measured.latencies.extend(t.latencies);
                    }
                    Ok(Err(e)) => {
                        measured.errors += 1;
                        measured.first_error.get_or_insert(e);
                    }
                    Err(e) => {
                        measured.errors += 1;
                        measured.first_error.get_or_insert(e.to_string());
                    }
                }
            }
        }
        Err(_) => {
            measured.errors += 1;
            measured.first_error = Some("clients still running 60 s after the end".into());
        }
    }
    measured.latencies.sort_unstable();
    measured
}

/// A page-1 answer's `total_entries`, compared with the truth; picks the deep page to measure.
struct ListCheck {
    filter: Option<&'static str>,
    reported: Option<i64>,
    expected: i64,
    deep_page: u64,
}

impl ListCheck {
    fn exact(&self) -> bool {
        self.reported == Some(self.expected)
    }
}

async fn check_lists(server: &Server, truth: &Truth) -> Result<Vec<ListCheck>, String> {
    let mut session = Session::new(&server.base, Duration::from_secs(120))?;
    let mut checks = Vec::new();
    for filter in FILTERS {
        let (status, body) = session
            .text(&Req::get(list_target(filter, 1), true))
            .await?;
        let reported = (status == 200)
            .then(|| serde_json::from_str::<serde_json::Value>(&body).ok())
            .flatten()
            .and_then(|v| v["total_entries"].as_i64());
        let expected = truth.expected(filter);
        // Page 2,000 where it exists; otherwise the last page, which costs the most to reach.
        let last_page = (reported.unwrap_or(expected).max(1) as u64).div_ceil(PER_PAGE);
        checks.push(ListCheck {
            filter,
            reported,
            expected,
            deep_page: last_page.min(DEEP_PAGE),
        });
    }
    Ok(checks)
}

fn filter_name(filter: Option<&str>) -> &str {
    filter.unwrap_or("no filter")
}

fn scenarios(checks: &[ListCheck]) -> Vec<Scenario> {
    let mut list = vec![
        Scenario {
            key: "get_xml".into(),
            label: "GET one job (XML)".into(),
            work: Work::GetJob { json: false },
        },
        Scenario {
            key: "get_json".into(),
            label: "GET one job (JSON)".into(),
            work: Work::GetJob { json: true },
        },
    ];
    for check in checks {
        list.push(Scenario {
            key: format!("p1_{}", filter_name(check.filter)),
            label: format!("list page 1, {}", filter_name(check.filter)),
            work: Work::List {
                filter: check.filter,
                page: 1,
            },
        });
    }
    for check in checks {
        list.push(Scenario {
            key: format!("deep_{}", filter_name(check.filter)),
            label: format!(
                "list page {}{}, {}",
                check.deep_page,
                if check.deep_page < DEEP_PAGE {
                    " (last)"
                } else {
                    ""
                },
                filter_name(check.filter)
            ),
            work: Work::List {
                filter: check.filter,
                page: check.deep_page,
            },
        });
    }
    // Writes last, so that every read sees the database as loaded.
    list.push(Scenario {
        key: "create".into(),
        label: "create a job (template Eight)".into(),
        work: Work::Create,
    });
    list.push(Scenario {
        key: "update".into(),
        label: "PUT a task's status".into(),
        work: Work::UpdateTask,
    });
    list
}

// ---------------------------------------------------------------------------------------------
// Streaming the unpaginated list
// ---------------------------------------------------------------------------------------------

struct StreamRun {
    format: &'static str,
    status: u16,
    headers_ms: f64,
    first_byte_ms: f64,
    seconds: f64,
    bytes: u64,
    jobs: u64,
    expected: u64,
    rss_before_kb: Option<u64>,
    peak_kb: Option<u64>,
    error: Option<String>,
    peak_method: &'static str,
    cpu: CpuUse,
}

impl StreamRun {
    fn jobs_per_second(&self) -> f64 {
        self.jobs as f64 / self.seconds.max(1e-9)
    }

    fn valid(&self) -> bool {
        self.error.is_none() && self.status == 200 && self.jobs == self.expected
    }
}

/// Counts a marker in a byte stream that arrives in chunks (a match may straddle two).
struct MarkerCounter {
    finder: memchr::memmem::Finder<'static>,
    carry: Vec<u8>,
    count: u64,
}

impl MarkerCounter {
    fn new(marker: &'static [u8]) -> MarkerCounter {
        MarkerCounter {
            finder: memchr::memmem::Finder::new(marker),
            carry: Vec::new(),
            count: 0,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let keep = self.finder.needle().len() - 1;
        // The seam is the bytes carried from before plus the head of this chunk. Both parts are
        // shorter than the marker, so every match in it straddles the two and is new.
        let mut seam = std::mem::take(&mut self.carry);
        seam.extend_from_slice(&chunk[..chunk.len().min(keep)]);
        self.count += self.finder.find_iter(&seam).count() as u64;
        self.count += self.finder.find_iter(chunk).count() as u64;
        // Carry the last `keep` bytes seen.
        if chunk.len() >= keep {
            self.carry = chunk[chunk.len() - keep..].to_vec();
        } else {
            seam.drain(..seam.len().saturating_sub(keep));
            self.carry = seam;
        }
    }
}

/// GETs `/api/work_areas/10/jobs` once, reading it as it comes: time to the headers and to the
/// first body byte, total time, jobs counted in the body, and the server's peak RSS meanwhile.
async fn stream_list(
    settings: &Settings,
    server: &Server,
    json: bool,
    expected: u64,
    peak_method: &'static str,
) -> StreamRun {
    let format = if json { "JSON" } else { "XML" };
    eprintln!("bench:   streaming the whole list ({format})");
    let marker: &'static [u8] = if json { b"\"resource_type\"" } else { b"<job>" };
    let mut run = StreamRun {
        format,
        status: 0,
        headers_ms: 0.0,
        first_byte_ms: 0.0,
        seconds: 0.0,
        bytes: 0,
        jobs: 0,
        expected,
        rss_before_kb: server.rss_kb(),
        peak_kb: None,
        error: None,
        peak_method,
        cpu: CpuUse::default(),
    };
    let cpu_before = cpu_snap(Some(server));
    let outcome = tokio::time::timeout(
        settings.stream_timeout,
        read_stream(server, json, marker, &mut run),
    )
    .await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => run.error = Some(e),
        Err(_) => {
            run.error = Some(format!(
                "still streaming after {:?}",
                settings.stream_timeout
            ))
        }
    }
    run.peak_kb = server.peak_kb();
    run.cpu = cpu_use(cpu_before, cpu_snap(Some(server)), run.seconds);
    run
}

async fn read_stream(
    server: &Server,
    json: bool,
    marker: &'static [u8],
    run: &mut StreamRun,
) -> Result<(), String> {
    let mut session = Session::new(&server.base, Duration::from_secs(24 * 3600))?;
    // Take the challenge first, so that the timed request is the list alone.
    session.send(&Req::get("/api".into(), json)).await?;
    let target = format!("/api/work_areas/{WORK_AREA}/jobs");
    let started = Instant::now();
    let mut response = session.open(&Req::get(target, json)).await?;
    run.headers_ms = started.elapsed().as_secs_f64() * 1000.0;
    run.status = response.status().as_u16();
    let mut counter = MarkerCounter::new(marker);
    let mut first = true;
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if first && !chunk.is_empty() {
            run.first_byte_ms = started.elapsed().as_secs_f64() * 1000.0;
            first = false;
        }
        run.bytes += chunk.len() as u64;
        counter.feed(&chunk);
        // Keep the partial results current in case the overall timeout fires.
        run.jobs = counter.count;
        run.seconds = started.elapsed().as_secs_f64();
    }
    run.jobs = counter.count;
    run.seconds = started.elapsed().as_secs_f64();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// pgbench: the ceiling
// ---------------------------------------------------------------------------------------------

fn find_pgbench() -> Result<PathBuf, String> {
    if let Ok(path) = std::env::var("SEQUENCE_BENCH_PGBENCH") {
        return Ok(PathBuf::from(path));
    }
    if let Some(path) = command_output("which", &["pgbench"]).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.flatten()
                .map(|e| e.path().join("bin/pgbench"))
                .filter(|p| p.exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().ok_or_else(|| {
        "pgbench not found: `apt-get install postgresql-contrib` (or the postgresql-client \
         package matching the server) provides it"
            .to_string()
    })
}

struct Ceiling {
    tps: f64,
    latency_ms: Option<f64>,
    cpu: CpuUse,
}

async fn pgbench_init(settings: &Settings, pgbench: &Path) -> Result<(), String> {
    recreate_database(settings, PGBENCH_DB).await?;
    let mut cmd = Command::new(pgbench);
    cmd.args(["-i", "-q", &settings.database_url(PGBENCH_DB)]);
    run_logged(cmd, "pgbench-init", Duration::from_secs(300)).await?;
    Ok(())
}

/// `pgbench -S -n -c <clients> -j 2 -T <seconds> --protocol=simple`, over loopback TCP as the
/// server connects.
async fn pgbench_ceiling(
    settings: &Settings,
    pgbench: &Path,
    size: u64,
) -> Result<Ceiling, String> {
    eprintln!("bench:   pgbench -S (the ceiling)");
    let seconds = (settings.seconds.round() as u64).max(1).to_string();
    let clients = settings.clients.to_string();
    let mut cmd = Command::new(pgbench);
    cmd.args(["-S", "-n", "-c", &clients, "-j", "2", "-T", &seconds])
        .arg("--protocol=simple")
        .arg(settings.database_url(PGBENCH_DB));
    let limit = Duration::from_secs_f64(settings.seconds + 120.0);
    let (before, started) = (cpu_snap(None), Instant::now());
    let out = run_logged(cmd, &format!("pgbench-{size}"), limit).await?;
    let cpu = cpu_use(before, cpu_snap(None), started.elapsed().as_secs_f64());
    let tps = pgbench_number(&out, "tps = ").ok_or_else(|| format!("no tps in: {out}"))?;
    Ok(Ceiling {
        tps,
        latency_ms: pgbench_number(&out, "latency average = "),
        cpu,
    })
}

/// How fast this machine commits: a one-row UPDATE per transaction (`synchronous_commit` as
/// configured), with one client (the commit latency: one WAL flush each) and with the bench's
/// clients (commits that share a flush). Every write scenario commits once per request, so this
/// is its ceiling, whatever the server does.
struct WriteCeiling {
    one_client_tps: f64,
    clients_tps: f64,
    synchronous_commit: String,
}

async fn pgbench_write_ceiling(
    settings: &Settings,
    pgbench: &Path,
) -> Result<WriteCeiling, String> {
    eprintln!("bench: pgbench one-row UPDATE (the commit ceiling)");
    let script = log_dir().join("pgbench-write.sql");
    std::fs::write(
        &script,
        "\\set aid random(1, 100000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n",
    )
    .map_err(|e| e.to_string())?;
    let seconds = settings.seconds.clamp(1.0, 5.0).round().to_string();
    let mut tps = Vec::new();
    for (clients, threads) in [(1, 1), (settings.clients, 2)] {
        let mut cmd = Command::new(pgbench);
        cmd.args(["-n", "-c", &clients.to_string(), "-j", &threads.to_string()])
            .args(["-T", &seconds, "--protocol=simple", "-f"])
            .arg(&script)
            .arg(settings.database_url(PGBENCH_DB));
        let out = run_logged(
            cmd,
            &format!("pgbench-write-{clients}"),
            Duration::from_secs(120),
        )
        .await?;
        tps.push(pgbench_number(&out, "tps = ").ok_or_else(|| format!("no tps in: {out}"))?);
    }
    let pool = connect(&settings.database_url(PGBENCH_DB)).await?;
    let synchronous_commit: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(&pool)
        .await
        .map_err(|e| e.to_string())?;
    pool.close().await;
    Ok(WriteCeiling {
        one_client_tps: tps[0],
        clients_tps: tps[1],
        synchronous_commit,
    })
}

fn pgbench_number(out: &str, prefix: &str) -> Option<f64> {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
}

// ---------------------------------------------------------------------------------------------
// One size, start to end
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct SizeRun {
    size: u64,
    error: Option<String>,
    load_how: String,
    load_seconds: f64,
    live: i64,
    ceiling: Option<Ceiling>,
    ceiling_error: Option<String>,
    startups: Vec<Duration>,
    idle_rss_kb: Option<u64>,
    idle_rss_after_kb: Option<u64>,
    load_peak_kb: Option<u64>,
    streams: Vec<StreamRun>,
    lists: Vec<ListCheck>,
    results: Vec<Measured>,
    seconds: f64,
    /// /proc/loadavg when the size started (after loading): was the machine quiet?
    load_average: String,
    /// Time spent waiting for a quiet machine before measurements.
    quiet_waited: Duration,
}

impl SizeRun {
    fn result(&self, key: &str) -> Option<&Measured> {
        self.results.iter().find(|m| m.key == key)
    }

    /// Measurements during which something else used the machine.
    fn disturbed(&self) -> usize {
        self.results.iter().filter(|m| m.cpu.disturbed()).count()
            + self.streams.iter().filter(|s| s.cpu.disturbed()).count()
            + self.ceiling.iter().filter(|c| c.cpu.disturbed()).count()
    }

    fn slowest_startup(&self) -> Option<Duration> {
        self.startups.iter().max().copied()
    }
}

async fn bench_size(settings: &Settings, pgbench: &Path, size: u64) -> SizeRun {
    let started = Instant::now();
    let mut run = SizeRun {
        size,
        ..SizeRun::default()
    };
    if let Err(e) = bench_size_into(settings, pgbench, &mut run).await {
        eprintln!("bench: size {size} failed: {e}");
        run.error = Some(e);
    }
    run.seconds = started.elapsed().as_secs_f64();
    run
}

async fn bench_size_into(
    settings: &Settings,
    pgbench: &Path,
    run: &mut SizeRun,
) -> Result<(), String> {
    let size = run.size;
    eprintln!("bench: size {size}");
    let (url, loaded) = prepare_database(settings, size).await?;
    run.load_how = loaded.how;
    run.load_seconds = loaded.seconds;
    run.load_average = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let pool = connect(&url).await?;
    let truth = truth(&pool).await?;
    run.live = truth.live;
    let sample = Arc::new(sample(&pool).await?);

    // The ceiling, with no server running to compete with it.
    run.quiet_waited += wait_for_quiet(settings.quiet_wait).await;
    match pgbench_ceiling(settings, pgbench, size).await {
        Ok(ceiling) => run.ceiling = Some(ceiling),
        Err(e) => run.ceiling_error = Some(e),
    }

    // Start-up on the existing database, three times; the last server stays up.
    let mut server = None;
    for _ in 0..3 {
        drop(server.take());
        let started = Server::start(&url).await?;
        run.startups.push(started.startup);
        server = Some(started);
    }
    let mut server = server.expect("started");
    // Idle: after one authenticated request has warmed the whole path, then a quiet second.
    let mut session = Session::new(&server.base, Duration::from_secs(30))?;
    let probe = format!("/api/work_areas/{WORK_AREA}/jobs/{}", sample.live_ids[0]);
    session.send(&Req::get(probe, false)).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    run.idle_rss_kb = server.rss_kb();

    // Streaming first, each with its own peak (VmHWM only grows).
    let expected = u64::try_from(truth.live).unwrap_or(0);
    for json in [false, true] {
        let (fresh, how) = with_fresh_peak(server).await?;
        server = fresh;
        run.quiet_waited += wait_for_quiet(settings.quiet_wait).await;
        let stream = stream_list(settings, &server, json, expected, how).await;
        let failed = stream.error.is_some();
        run.streams.push(stream);
        if failed {
            // An unfinished stream may leave the server busy: start afresh.
            server = server.restart().await?;
        }
    }

    run.lists = check_lists(&server, &truth).await?;
    let (fresh, _) = with_fresh_peak(server).await?;
    server = fresh;
    for scenario in scenarios(&run.lists) {
        run.quiet_waited += wait_for_quiet(settings.quiet_wait).await;
        let measured = run_scenario(settings, &server, &pool, &sample, &scenario).await;
        if !measured.valid() {
            eprintln!(
                "bench:     {} errors (first: {})",
                measured.errors,
                measured.first_error.as_deref().unwrap_or("none recorded")
            );
        }
        run.results.push(measured);
    }
    run.load_peak_kb = server.peak_kb();
    tokio::time::sleep(Duration::from_secs(2)).await;
    run.idle_rss_after_kb = server.rss_kb();
    drop(server);

    // Give a reused database its size back.
    sqlx::query("DELETE FROM jobs WHERE work_area_id = $1 AND licensor_name = $2")
        .bind(WORK_AREA)
        .bind(BENCH_LICENSOR)
        .execute(&pool)
        .await
        .map_err(|e| format!("removing the created jobs: {e}"))?;
    pool.close().await;
    Ok(())
}

async fn run(settings: Settings) -> Result<(), String> {
    let began = Instant::now();
    let pgbench = find_pgbench()?;
    let machine = Machine::probe(&settings, &pgbench).await;
    eprintln!(
        "bench: sizes {:?}, {} s per scenario (+{} s warm-up), {} clients; writing {}",
        settings.sizes,
        settings.seconds,
        settings.warmup,
        settings.clients,
        settings.out.display()
    );
    pgbench_init(&settings, &pgbench).await?;
    let writes = pgbench_write_ceiling(&settings, &pgbench).await;
    let mut runs = Vec::new();
    for &size in &settings.sizes {
        runs.push(bench_size(&settings, &pgbench, size).await);
        // After every size, so that a long run that dies later keeps what it measured.
        let report = render_report(&settings, &machine, &writes, &runs, began.elapsed());
        write_report(&settings.out, &report)?;
        print_summary(runs.last().expect("pushed"));
    }
    eprintln!(
        "bench: done in {:.0} s; wrote {}",
        began.elapsed().as_secs_f64(),
        settings.out.display()
    );
    Ok(())
}

fn print_summary(run: &SizeRun) {
    eprintln!("bench: size {} took {:.0} s", run.size, run.seconds);
    for m in &run.results {
        eprintln!(
            "bench:   {:<40} {:>9.0} req/s  p50 {:>8}  p99 {:>8}  errors {}",
            m.label,
            m.rps(),
            fmt_ms(m.p50()),
            fmt_ms(m.p99()),
            m.errors
        );
    }
}

// ---------------------------------------------------------------------------------------------
// BENCHMARKS.md
// ---------------------------------------------------------------------------------------------

fn fmt_ms(ms: Option<f64>) -> String {
    match ms {
        Some(ms) if ms < 10.0 => format!("{ms:.2}"),
        Some(ms) => format!("{ms:.1}"),
        None => "n/a".into(),
    }
}

fn fmt_mb(kb: Option<u64>) -> String {
    kb.map(|kb| format!("{:.1} MB", kb as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn yes_no(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "n/a",
    }
}

fn write_report(path: &Path, report: &str) -> Result<(), String> {
    // Keep the hand-written notes from the previous file.
    let kept = std::fs::read_to_string(path)
        .ok()
        .and_then(|old| old.find(HAND_NOTES_MARKER).map(|at| old[at..].to_string()))
        .unwrap_or_else(|| {
            format!("{HAND_NOTES_MARKER}\n\n_(Analysis written by hand goes here.)_\n")
        });
    std::fs::write(path, format!("{report}\n{kept}")).map_err(|e| e.to_string())
}

fn render_report(
    settings: &Settings,
    machine: &Machine,
    writes: &Result<WriteCeiling, String>,
    runs: &[SizeRun],
    took: Duration,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Generated by `cargo bench --bench api` (benches/api.rs) for issue 6, at commit {}, \
         on {} UTC; the run took {:.0} s. Everything above the hand-written notes at the end is \
         rewritten by each run.\n",
        machine.commit,
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        took.as_secs_f64()
    );
    render_machine(&mut md, settings, machine, writes);
    render_reproduce(&mut md, settings);
    render_targets(&mut md, runs, writes);
    for run in runs {
        render_size(&mut md, run);
    }
    render_notes(&mut md, settings);
    md
}

fn render_machine(
    md: &mut String,
    settings: &Settings,
    machine: &Machine,
    writes: &Result<WriteCeiling, String>,
) {
    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| CPUs (nproc) | {} |", machine.cpus);
    let _ = writeln!(md, "| CPU model | {} |", machine.cpu_model);
    let _ = writeln!(md, "| memory | {} |", machine.memory);
    let _ = writeln!(md, "| kernel | Linux {} |", machine.kernel);
    let _ = writeln!(
        md,
        "| database | {} (on the same machine, loopback TCP) |",
        machine.postgres
    );
    let _ = writeln!(md, "| pgbench | {} |", machine.pgbench);
    let _ = match writes {
        Ok(w) => writeln!(
            md,
            "| commit ceiling | one-row UPDATE per transaction (`synchronous_commit = {}`): {:.0} \
             tps with 1 client ({:.2} ms a commit), {:.0} tps with {} clients |",
            w.synchronous_commit,
            w.one_client_tps,
            1000.0 / w.one_client_tps.max(1e-9),
            w.clients_tps,
            settings.clients
        ),
        Err(e) => writeln!(md, "| commit ceiling | pgbench failed: {e} |"),
    };
    let _ = writeln!(md, "| rustc | {} |", machine.rustc);
    let _ = writeln!(
        md,
        "| load | {} clients, {} s per scenario after {} s of warm-up |\n",
        settings.clients, settings.seconds, settings.warmup
    );
}

fn render_reproduce(md: &mut String, settings: &Settings) {
    let sizes: Vec<String> = settings.sizes.iter().map(u64::to_string).collect();
    let _ = writeln!(md, "## How to reproduce\n");
    let _ = writeln!(
        md,
        "PostgreSQL must listen on `127.0.0.1:5432` with user `postgres` (trust), and `pgbench` \
         must be installed (`apt-get install postgresql-contrib`, or the client package matching \
         the server). Then:\n"
    );
    let _ = writeln!(
        md,
        "```sh\nscripts/bench                                   # all sizes: 10k, 100k, 1M\n\
         SEQUENCE_BENCH_SIZES=10000 SEQUENCE_BENCH_SECONDS=3 scripts/bench   # a quick run\n\
         # which is the same as: cargo bench --bench api\n```\n"
    );
    let _ = writeln!(
        md,
        "This file came from `SEQUENCE_BENCH_SIZES={} SEQUENCE_BENCH_SECONDS={} \
         SEQUENCE_BENCH_WARMUP={} SEQUENCE_BENCH_CLIENTS={} cargo bench --bench api`. \
         `SEQUENCE_BENCH_REUSE=1` keeps a database `sequence_bench_<size>` that already holds \
         the size instead of reloading it; `SEQUENCE_BENCH_QUIET_WAIT=0` skips waiting for an \
         idle machine; the other settings are listed at the top of `benches/api.rs`. Logs of \
         the server, loader and pgbench go to `target/tmp/bench/`.\n",
        sizes.join(","),
        settings.seconds,
        settings.warmup,
        settings.clients
    );
}

/// The largest of some numbers, if any.
fn worst(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.fold(None, |a, b| Some(a.map_or(b, |a: f64| a.max(b))))
}

/// A target's verdict, from the largest size run when the target names 1M and it was not run.
fn render_targets(md: &mut String, runs: &[SizeRun], writes: &Result<WriteCeiling, String>) {
    let done: Vec<&SizeRun> = runs.iter().filter(|r| r.error.is_none()).collect();
    let _ = writeln!(md, "## Targets\n");
    let Some(big) = done.iter().max_by_key(|r| r.size).copied() else {
        let _ = writeln!(md, "No size completed.\n");
        return;
    };
    let small = done.iter().min_by_key(|r| r.size).copied().unwrap_or(big);
    let at = |r: &SizeRun| format!("at {}", fmt_count(r.size));
    let disturbed: usize = done.iter().map(|r| r.disturbed()).sum();
    if disturbed > 0 {
        let _ = writeln!(
            md,
            "**{disturbed} measurement(s) were disturbed by other work on the machine** (see \
             the sizes below).\n"
        );
    }
    if big.size < 1_000_000 {
        let _ = writeln!(
            md,
            "1M was not run: targets stated at 1M are judged at {} jobs here.\n",
            fmt_count(big.size)
        );
    }
    let _ = writeln!(md, "| target | measured | met? |\n|---|---|---|");
    let mut row = |target: &str, measured: String, met: Option<bool>| {
        let _ = writeln!(md, "| {target} | {measured} | {} |", yes_no(met));
    };

    for key in ["get_xml", "get_json"] {
        let (measured, met) = match (big.result(key), &big.ceiling) {
            (Some(m), Some(c)) => {
                let ratio = m.rps() / c.tps;
                (
                    format!(
                        "{:.0} req/s = {:.0}% of {:.0} tps {}",
                        m.rps(),
                        ratio * 100.0,
                        c.tps,
                        at(big)
                    ),
                    Some(m.valid() && ratio >= 0.5),
                )
            }
            _ => ("n/a".into(), None),
        };
        let format = if key == "get_xml" { "XML" } else { "JSON" };
        row(
            &format!("GET one job ({format}) ≥ 50% of pgbench -S tps"),
            measured,
            met,
        );
    }

    let p1: Vec<&Measured> = FILTERS
        .iter()
        .filter_map(|f| big.result(&format!("p1_{}", filter_name(*f))))
        .collect();
    let worst_p1 = worst(p1.iter().filter_map(|m| m.p50()));
    let exact = big.lists.iter().all(ListCheck::exact) && !big.lists.is_empty();
    row(
        "list page 1, any filter, at 1M: p50 ≤ 20 ms with exact total-entries",
        format!(
            "worst p50 {} ms, totals {} {}",
            fmt_ms(worst_p1),
            if exact { "exact" } else { "NOT exact" },
            at(big)
        ),
        worst_p1.map(|p| p <= 20.0 && exact && p1.iter().all(|m| m.valid())),
    );

    let deep_ratios: Vec<(String, f64)> = big
        .lists
        .iter()
        .filter_map(|c| {
            let name = filter_name(c.filter);
            let first = big.result(&format!("p1_{name}"))?.p50()?;
            let deep = big.result(&format!("deep_{name}"))?.p50()?;
            Some((format!("{name} (page {})", c.deep_page), deep / first))
        })
        .collect();
    let worst_deep = worst(deep_ratios.iter().map(|(_, r)| *r));
    row(
        "page 2,000 ≤ 3× page 1 (p50)",
        format!(
            "worst {}× {}: {}",
            worst_deep.map_or("n/a".into(), |r| format!("{r:.2}")),
            at(big),
            deep_ratios
                .iter()
                .map(|(n, r)| format!("{n} {r:.2}×"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        worst_deep.map(|r| r <= 3.0),
    );

    let growth: Vec<(&str, f64)> = FILTERS
        .iter()
        .filter_map(|f| {
            let key = format!("p1_{}", filter_name(*f));
            let ratio = big.result(&key)?.p50()? / small.result(&key)?.p50()?;
            Some((filter_name(*f), ratio))
        })
        .collect();
    let worst_growth = worst(growth.iter().map(|(_, g)| *g));
    let two_sizes = big.size > small.size;
    row(
        "list page 1 at 1M ≤ 2× page 1 at 10k (p50)",
        if two_sizes {
            format!(
                "worst {}× ({} vs {}): {}",
                worst_growth.map_or("n/a".into(), |g| format!("{g:.2}")),
                fmt_count(big.size),
                fmt_count(small.size),
                growth
                    .iter()
                    .map(|(n, g)| format!("{n} {g:.2}×"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            "n/a (needs two sizes)".into()
        },
        worst_growth.filter(|_| two_sizes).map(|g| g <= 2.0),
    );

    let ceiling = writes.as_ref().map_or(String::new(), |w| {
        format!(" (commit ceiling {:.0} tps)", w.clients_tps)
    });
    for (key, target, floor) in [
        ("create", "create ≥ 1,000/s", 1000.0),
        ("update", "task update ≥ 3,000/s", 3000.0),
    ] {
        let (measured, met) = match big.result(key) {
            Some(m) => (
                format!(
                    "{:.0}/s {}{}{ceiling}",
                    m.rps(),
                    at(big),
                    if m.valid() { "" } else { " (errors)" }
                ),
                Some(m.valid() && m.rps() >= floor),
            ),
            None => ("n/a".into(), None),
        };
        row(target, measured, met);
    }

    for stream in &big.streams {
        let f = stream.format;
        row(
            &format!("stream all ({f}): first byte ≤ 200 ms"),
            format!("{:.0} ms {}", stream.first_byte_ms, at(big)),
            Some(stream.valid() && stream.first_byte_ms <= 200.0),
        );
        row(
            &format!("stream all ({f}): ≥ 100,000 jobs/s"),
            format!("{:.0} jobs/s {}", stream.jobs_per_second(), at(big)),
            Some(stream.valid() && stream.jobs_per_second() >= 100_000.0),
        );
        row(
            &format!("stream all ({f}): server peak RSS ≤ 100 MB"),
            format!("{} {}", fmt_mb(stream.peak_kb), at(big)),
            stream.peak_kb.map(|kb| kb <= 100 * 1024),
        );
    }
    row(
        "idle server RSS ≤ 30 MB",
        format!("{} {}", fmt_mb(big.idle_rss_kb), at(big)),
        big.idle_rss_kb.map(|kb| kb <= 30 * 1024),
    );
    let slowest = big.slowest_startup();
    row(
        "start-up to first answer ≤ 1 s (existing database)",
        format!(
            "{} ms (slowest of {}) {}",
            slowest.map_or("n/a".into(), |d| format!("{:.0}", d.as_secs_f64() * 1000.0)),
            big.startups.len(),
            at(big)
        ),
        slowest.map(|d| d <= Duration::from_secs(1)),
    );
    let _ = writeln!(md);
}

fn render_size(md: &mut String, run: &SizeRun) {
    let _ = writeln!(md, "## {} jobs\n", fmt_count(run.size));
    if let Some(e) = &run.error {
        let _ = writeln!(md, "**This size failed:** {e}\n");
    }
    let disturbed = run.disturbed();
    if disturbed > 0 {
        let _ = writeln!(
            md,
            "**Disturbed:** during {disturbed} measurement(s) something other than the server, \
             the bench and PostgreSQL used more than {DISTURBED_OTHER_PERCENT:.0}% of a core \
             (bold in the `other` column); rerun on a quiet machine before trusting them.\n"
        );
    }
    let _ = writeln!(
        md,
        "Loaded {} in {:.0} s; {} live jobs in work area 10; this size took {:.0} s, of which \
         {:.0} s waiting for a quiet machine; load average after loading {}.\n",
        run.load_how,
        run.load_seconds,
        fmt_count(u64::try_from(run.live).unwrap_or(0)),
        run.seconds,
        run.quiet_waited.as_secs_f64(),
        run.load_average
    );
    match (&run.ceiling, &run.ceiling_error) {
        (Some(c), _) => {
            let get = run.result("get_xml").map(Measured::rps);
            let _ = writeln!(
                md,
                "Ceiling: `pgbench -S` {:.0} tps (average latency {} ms; CPU % server / bench / \
                 PostgreSQL / other: {}). GET one job (XML) is {}% of it{}.\n",
                c.tps,
                fmt_ms(c.latency_ms),
                c.cpu.cells(),
                get.map_or("n/a".into(), |g| format!("{:.0}", g / c.tps * 100.0)),
                run.result("get_json").map_or(String::new(), |j| format!(
                    ", JSON {:.0}%",
                    j.rps() / c.tps * 100.0
                ))
            );
        }
        (None, Some(e)) => {
            let _ = writeln!(md, "Ceiling: pgbench failed: {e}\n");
        }
        _ => {}
    }
    render_results(md, run);
    render_lists(md, run);
    render_streams(md, run);
    let startups: Vec<String> = run
        .startups
        .iter()
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
        .collect();
    let _ = writeln!(
        md,
        "Server: start-up to first answer {} ms (three starts); idle RSS {} after start-up, {} \
         after the scenarios; peak RSS during the request scenarios {}.\n",
        startups.join(" / "),
        fmt_mb(run.idle_rss_kb),
        fmt_mb(run.idle_rss_after_kb),
        fmt_mb(run.load_peak_kb)
    );
}

fn render_results(md: &mut String, run: &SizeRun) {
    if run.results.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "| scenario | req/s | p50 ms | p99 ms | errors | server CPU µs/req | CPU % server / bench / PostgreSQL / other | PostgreSQL backends |\n\
         |---|---:|---:|---:|---:|---:|---|---|"
    );
    for m in &run.results {
        let errors = if m.errors == 0 {
            "0".to_string()
        } else {
            format!(
                "**{}** ({})",
                m.errors,
                m.first_error.as_deref().unwrap_or("").replace('|', "/")
            )
        };
        let _ = writeln!(
            md,
            "| {} | {:.0} | {} | {} | {} | {:.0} | {} | {} |",
            m.label,
            m.rps(),
            fmt_ms(m.p50()),
            fmt_ms(m.p99()),
            errors,
            m.server_us_per_request(),
            m.cpu.cells(),
            m.waits.summary()
        );
    }
    let ratios: Vec<String> = run
        .lists
        .iter()
        .filter_map(|c| {
            let name = filter_name(c.filter);
            let first = run.result(&format!("p1_{name}"))?.p50()?;
            let deep = run.result(&format!("deep_{name}"))?.p50()?;
            Some(format!("{name} {:.2}×", deep / first))
        })
        .collect();
    let _ = writeln!(
        md,
        "\nDeep page / page 1 (p50): {}.\n",
        if ratios.is_empty() {
            "n/a".into()
        } else {
            ratios.join(", ")
        }
    );
}

fn render_lists(md: &mut String, run: &SizeRun) {
    if run.lists.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "| list | total-entries | exact count | exact? | deep page measured |\n|---|---:|---:|---|---:|"
    );
    for c in &run.lists {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            filter_name(c.filter),
            c.reported.map_or("missing".into(), |r| r.to_string()),
            c.expected,
            yes_no(Some(c.exact())),
            c.deep_page
        );
    }
    let _ = writeln!(md);
}

fn render_streams(md: &mut String, run: &SizeRun) {
    if run.streams.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "| unpaginated list | status | headers ms | first byte ms | total s | jobs | jobs/s | MB | RSS before | peak RSS | CPU % server / bench / PostgreSQL / other |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for s in &run.streams {
        let jobs = if s.jobs == s.expected {
            fmt_count(s.jobs)
        } else {
            format!("**{} of {}**", fmt_count(s.jobs), fmt_count(s.expected))
        };
        let _ = writeln!(
            md,
            "| {}{} | {} | {:.0} | {:.0} | {:.2} | {} | {:.0} | {:.1} | {} | {} | {} |",
            s.format,
            s.error
                .as_deref()
                .map_or(String::new(), |e| format!(" (**{e}**)")),
            s.status,
            s.headers_ms,
            s.first_byte_ms,
            s.seconds,
            jobs,
            s.jobs_per_second(),
            s.bytes as f64 / 1e6,
            fmt_mb(s.rss_before_kb),
            fmt_mb(s.peak_kb),
            s.cpu.cells()
        );
    }
    let methods: Vec<&str> = run.streams.iter().map(|s| s.peak_method).collect();
    let _ = writeln!(md, "\nPeak RSS per stream: {}.\n", methods.join("; "));
}

fn render_notes(md: &mut String, settings: &Settings) {
    let _ = writeln!(md, "## Notes\n");
    let notes = [
        format!(
            "**Load generator.** In-process tokio clients (a 2-thread runtime, as pgbench gets \
             `-j 2`), {} of them, each with one keep-alive HTTP/1.1 connection. Each answers the \
             first Digest challenge and then reuses the nonce with `nc` counting up, as Python \
             `requests` does, taking a new challenge on a 401. Closed loop: a client sends its \
             next request when the previous answer has been read whole.",
            settings.clients
        ),
        format!(
            "**Numbers.** The first {} s of each scenario are warm-up (connecting, the first \
             challenge) and not recorded. Latency is from sending to the last body byte, a 401 \
             round trip included. req/s counts 2xx answers to requests started in the {} s \
             window; any other status or a transport error is an error, and a scenario with \
             errors is not a valid number. p50 and p99 are nearest-rank over every request.",
            settings.warmup, settings.seconds
        ),
        "**CPU columns.** Shares of one core over the recorded window (the machine has \
         `nproc`×100%): the server process, this load generator, and everything else busy on \
         the machine, which during a run is PostgreSQL. They tell whether a number is bound by \
         the server, the database or the client sharing the same two cores."
            .to_string(),
        format!(
            "**A quiet machine.** Before each measurement the driver waits, up to {} s \
             (`SEQUENCE_BENCH_QUIET_WAIT`), until the machine is below {QUIET_PERCENT:.0}% of a \
             core busy; a measurement during which other work still used more than \
             {DISTURBED_OTHER_PERCENT:.0}% of a core is marked as disturbed.",
            settings.quiet_wait.as_secs_f64()
        ),
        "**PostgreSQL backends.** `pg_stat_activity` for the bench database, sampled every \
         50 ms: how many backends were busy on average, and what they were doing: `CPU` \
         (running), a wait event (`Lock:transactionid` / `Lock:tuple`: queued behind another \
         transaction's row lock; `IO:WALSync` / `LWLock:WALWrite`: waiting for a commit to \
         reach the disk), or `idle in transaction` (waiting for the server's next statement \
         inside a transaction, i.e. round trips)."
            .to_string(),
        "**Commit ceiling.** `pgbench` running a one-row UPDATE per transaction against the \
         scratch database, with one client and with the bench's clients. Each create and each \
         task update commits once, so with durable commits (`synchronous_commit = on`) no \
         server can exceed this rate with the same number of closed-loop clients; a write \
         scenario well below it is losing time elsewhere (for example waiting for locks that \
         serialise commits, which then cannot share a WAL flush)."
            .to_string(),
        "**Ceiling.** `pgbench -i` (scale 1: 100,000 accounts, in memory) on a scratch \
         database, then `pgbench -S -n -c <clients> -j 2 -T <seconds> --protocol=simple` over \
         the same loopback TCP the server uses, with no server running. GET one job is one \
         authenticated HTTP request that also reads the user and the work area, so 50% of the \
         tps of a bare primary-key SELECT is the target."
            .to_string(),
        "**Scenarios.** GET one job picks a random live job per request. Page 2,000 is \
         `pagination=true&per_page=50&page=2000`; where a list has fewer than 2,000 pages the \
         last page is measured instead (the table says which), being the most expensive to \
         reach. `total-entries` of each page 1 is compared with a count over the base tables \
         (tasks, assets, problems), not over the counters the server keeps. Writes run last: \
         create POSTs JSON jobs from template `Eight` (removed after the size, so a reused \
         database keeps its size), and task update PUTs `completed`/`pending` alternately to \
         random tasks of live jobs that do not require a duration."
            .to_string(),
        "**Streaming.** One GET of `/api/work_areas/10/jobs` (unpaginated) per format, right \
         after start-up and before the other scenarios, after an authenticated request has \
         taken the challenge. Headers and first byte are timed from sending; jobs are counted \
         in the body (`<job>` / `\"resource_type\"`) and must equal the live count. The server's \
         VmHWM only grows, so it is reset before each stream by writing 5 to \
         `/proc/<pid>/clear_refs` (the server is restarted instead where that is refused); peak \
         RSS is VmHWM after the stream."
            .to_string(),
        "**Server.** The release binary cargo builds for the bench, started with \
         `DATABASE_URL`, `SEQUENCE_LISTEN=127.0.0.1:<free port>`, `SEQUENCE_SECRET=bench`, \
         `RUST_LOG=warn`. Start-up is from spawning to the first HTTP answer (a 401 to `GET \
         /api`), three times on the loaded database. Idle RSS is VmRSS one second after one \
         authenticated request."
            .to_string(),
        "**Database.** Each size gets `sequence_bench_<size>`, dropped and loaded with \
         `sequence fixtures generate --jobs N`, then `VACUUM (ANALYZE)` so every size is measured \
         in the state autovacuum reaches shortly after a load."
            .to_string(),
    ];
    for note in notes {
        let _ = writeln!(md, "- {note}");
    }
    let _ = writeln!(md);
}
