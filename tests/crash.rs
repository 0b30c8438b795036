//! A server killed with SIGKILL in the middle of a burst of job creations leaves every job
//! whole — all of its template's tasks and assets — or absent.
#[macro_use]
mod common;

use common::{fixtures_path, Client, TestDatabase};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Starts the real binary on `database_url` and returns it with its base URL.
fn spawn_server(database_url: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sequence"))
        .env("DATABASE_URL", database_url)
        .env("SEQUENCE_LISTEN", "127.0.0.1:0")
        .env("SEQUENCE_FIXTURES", fixtures_path())
        .env("SEQUENCE_SECRET", "test secret")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sequence binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("ready line");
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    (child, base)
}

/// A script that reads the ready line and closes the pipe (`sequence serve | head -1`) must
/// not bring the server down: it once died writing the rest of that line.
#[test]
fn a_closed_stdout_does_not_stop_the_server() {
    let dir = std::env::temp_dir().join(format!("sequence-stdout-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_sequence"))
        .args(["serve", "--ephemeral"])
        .env_remove("DATABASE_URL")
        .env("SEQUENCE_DATA_DIR", &dir)
        .env("SEQUENCE_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sequence binary");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .expect("ready line");
    // The reader is gone now; the server must keep answering.
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    std::thread::sleep(Duration::from_millis(300));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reply = runtime.block_on(async {
        Client::new(&base, "robot_user", "password")
            .get("/api")
            .await
    });
    let alive = child.try_wait().unwrap().is_none();
    child.kill().ok();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(alive, "the server exited after its stdout closed");
    reply.assert_status(200);
}

contract_tests! {
    async fn sigkill_during_a_burst_of_creations_leaves_no_partial_job() {
        let database = TestDatabase::new();
        let (mut child, base) = spawn_server(&database.url);
        let burst: Vec<_> = (0..8)
            .map(|n| {
                let client = Client::new(&base, "robot_user", "password");
                tokio::spawn(async move {
                    let mut created = 0;
                    for i in 0..10_000 {
                        let body = format!(
                            r#"{{"name": "B{n}-{i}", "begins_at": "2011-01-01", "licensor_name": "L", "template": "Basic"}}"#
                        );
                        match client.try_send("POST", "/api/work_areas/10/jobs", &[("Content-Type", "application/json")], Some(&body)).await {
                            Some(reply) if reply.status == 200 => created += 1,
                            _ => break,
                        }
                    }
                    created
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(700)).await;
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let mut acknowledged = 0;
        for b in burst {
            acknowledged += b.await.unwrap();
        }

        // A transaction whose COMMIT was already sent can still finish after the kill (the
        // database only notices the dead client later): wait until the count stops moving.
        let mut jobs = database.count("SELECT count(*) FROM jobs").await;
        let mut steady = 0;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = database.count("SELECT count(*) FROM jobs").await;
            steady = if now == jobs { steady + 1 } else { 0 };
            jobs = now;
            if steady == 3 {
                break;
            }
        }
        assert!(jobs > 0, "the burst created nothing before the kill");
        assert!(jobs >= acknowledged, "{acknowledged} acknowledged but only {jobs} stored");
        // Template Basic has three tasks and three assets: every stored job has exactly those.
        let partial = database
            .count(
                "SELECT count(*) FROM jobs j WHERE \
                 (SELECT count(*) FROM tasks t WHERE t.job_id = j.id) <> 3 \
                 OR (SELECT count(*) FROM assets a WHERE a.job_id = j.id) <> 3 \
                 OR tasks_count <> 3 OR assets_count <> 3",
            )
            .await;
        assert_eq!(partial, 0, "{partial} of {jobs} jobs are incomplete");

        // The database still serves after a restart.
        let (mut child, base) = spawn_server(&database.url);
        let client = Client::new(&base, "robot_user", "password");
        let list = client.get_json("/api/work_areas/10/jobs?pagination=true&per_page=1").await;
        child.kill().ok();
        let _ = child.wait();
        list.assert_status(200);
        assert_eq!(list.json()["total_entries"], jobs);
    }
}
