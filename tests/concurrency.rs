//! Concurrent writers: no 500, no "database is locked", and counters that still add up.
#[macro_use]
mod common;

use common::TestServer;
use std::time::{Duration, Instant};

const JOBS: &str = "/api/work_areas/10/jobs";

/// Creates a job, renames it and completes its first task, over and over until `deadline`;
/// returns every status code seen.
async fn writer(client: common::Client, n: usize, deadline: Instant) -> Vec<u16> {
    let mut seen = Vec::new();
    let mut round = 0;
    while Instant::now() < deadline {
        round += 1;
        let body = format!(
            r#"{{"name": "W{n}-{round}", "begins_at": "2011-01-01", "licensor_name": "L", "template": "Basic"}}"#
        );
        let created = client.post_json(JOBS, &body).await;
        seen.push(created.status);
        if created.status != 200 {
            continue;
        }
        let job = created.json();
        let id = job["id"].as_i64().unwrap();
        let renamed = client
            .put_json(
                &format!("{JOBS}/{id}"),
                &format!(r#"{{"name": "W{n}-{round}b"}}"#),
            )
            .await;
        seen.push(renamed.status);
        let tasks = client.get_json(&format!("{JOBS}/{id}/tasks")).await;
        seen.push(tasks.status);
        if let Some(link) = tasks.json()["entries"][0]["self_link"].as_str() {
            let path = &link[link.find("/api/").unwrap()..];
            let done = client.put_json(path, r#"{"status": "completed"}"#).await;
            seen.push(done.status);
        }
    }
    seen
}

contract_tests! {
    async fn eight_writers_for_ten_seconds_get_no_errors() {
        let server = TestServer::start().await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let writers: Vec<_> = (0..8)
            .map(|n| tokio::spawn(writer(server.client(), n, deadline)))
            .collect();
        let mut statuses = Vec::new();
        for w in writers {
            statuses.extend(w.await.unwrap());
        }
        let failures: Vec<&u16> = statuses.iter().filter(|s| **s != 200).collect();
        assert!(failures.is_empty(), "non-200 answers: {failures:?}");
        assert!(statuses.len() > 100, "only {} requests in 10 s", statuses.len());

        // The trigger-kept counters agree with the rows.
        let drift = server
            .count(
                "SELECT count(*) FROM jobs j WHERE tasks_count <> \
                 (SELECT count(*) FROM tasks t WHERE t.job_id = j.id) \
                 OR tasks_completed_count <> \
                 (SELECT count(*) FROM tasks t WHERE t.job_id = j.id AND t.status = 'completed')",
            )
            .await;
        assert_eq!(drift, 0);
    }

    async fn twenty_concurrent_updates_of_one_job_all_succeed_and_one_wins() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = common::create_job(&client, "Contended", "2011-01-01", "Basic").await;
        let updates: Vec<_> = (0..20)
            .map(|n| {
                let client = server.client();
                tokio::spawn(async move {
                    client
                        .put_json(&format!("{JOBS}/{id}"), &format!(r#"{{"name": "Name {n}"}}"#))
                        .await
                        .status
                })
            })
            .collect();
        for u in updates {
            assert_eq!(u.await.unwrap(), 200);
        }
        let name = client.get_json(&format!("{JOBS}/{id}")).await.json()["name"]
            .as_str()
            .unwrap()
            .to_string();
        assert!((0..20).any(|n| name == format!("Name {n}")), "{name}");
    }
}
