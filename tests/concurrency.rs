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
    /// Jobs moving between the same two tallies in opposite directions at once (one task
    /// completed here, reopened there) once deadlocked on the tally rows: a 500.
    async fn opposite_status_changes_on_many_jobs_never_deadlock() {
        let server = TestServer::start().await;
        let client = server.client();
        let mut tasks = Vec::new();
        for n in 0..8 {
            let id = common::create_job(&client, &format!("T{n}"), "2011-01-01", "Day Before").await;
            let list = client.get_json(&format!("{JOBS}/{id}/tasks")).await.json();
            let link = list["entries"][0]["self_link"].as_str().unwrap().to_string();
            tasks.push(link[link.find("/api/").unwrap()..].to_string());
        }
        let togglers: Vec<_> = tasks
            .into_iter()
            .enumerate()
            .map(|(n, task)| {
                let client = server.client();
                tokio::spawn(async move {
                    let mut statuses = Vec::new();
                    for round in 0..30 {
                        // Half the jobs start by completing, the other half by reopening.
                        let status = if (round + n) % 2 == 0 { "completed" } else { "pending" };
                        let reply = client
                            .put_json(&task, &format!(r#"{{"status": "{status}"}}"#))
                            .await;
                        statuses.push(reply.status);
                    }
                    statuses
                })
            })
            .collect();
        for t in togglers {
            let statuses = t.await.unwrap();
            assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        }
        let total: i64 = server.count("SELECT CAST(SUM(n) AS BIGINT) FROM job_tallies").await;
        assert_eq!(total, 8);
    }

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

    async fn totals_agree_with_their_page_while_writers_run() {
        let server = TestServer::start().await;
        let seed = server.client();
        for n in 0..30 {
            common::create_job(&seed, &format!("Seed {n}"), "2011-01-01", "Ten Days Before").await;
        }
        let deadline = Instant::now() + Duration::from_secs(4);
        let writers: Vec<_> = (0..3)
            .map(|n| tokio::spawn(churn(server.client(), n, deadline)))
            .collect();
        // With fewer than 200 jobs a page of 200 holds the whole list: in one snapshot the
        // total and the entries must agree exactly, whatever the writers are doing.
        let reader = server.client();
        let mut reads = 0;
        while Instant::now() < deadline {
            for filter in ["ready", "pending", "completed", "not_received", "problematic"] {
                let page = reader
                    .get_json(&format!("{JOBS}?pagination=true&per_page=200&filter={filter}"))
                    .await;
                page.assert_status(200);
                let page = page.json();
                let entries = page["entries"].as_array().unwrap().len() as i64;
                assert_eq!(page["total_entries"].as_i64(), Some(entries), "filter={filter}");
                reads += 1;
            }
        }
        for w in writers {
            w.await.unwrap();
        }
        assert!(reads > 10, "only {reads} reads");
        // At rest, every total equals the length of the streamed list.
        for filter in ["ready", "pending", "completed", "not_completed", "received", "not_received", "problematic", "not_problematic"] {
            for deleted in ["", "&deleted"] {
                let total = reader
                    .get_json(&format!("{JOBS}?pagination=true&per_page=1&filter={filter}{deleted}"))
                    .await
                    .json()["total_entries"]
                    .as_i64()
                    .unwrap();
                let all = reader.get_json(&format!("{JOBS}?filter={filter}{deleted}")).await.json();
                assert_eq!(total, all["entries"].as_array().unwrap().len() as i64, "filter={filter}{deleted}");
            }
        }
    }

    async fn the_unpaginated_list_streams_across_batches_in_order() {
        let server = TestServer::start().await;
        let client = server.client();
        // More than two streaming batches (500), with deleted jobs and a filter in between.
        let mut ids = Vec::new();
        for n in 0..1_050 {
            let template = if n % 2 == 0 { "Empty" } else { "Basic" };
            ids.push(common::create_job(&client, &format!("J{n}"), "2011-01-01", template).await);
        }
        for id in ids.iter().step_by(100) {
            client.delete(&format!("{JOBS}/{id}")).await.assert_status(204);
        }
        let live: Vec<i64> = ids.iter().enumerate().filter(|(i, _)| i % 100 != 0).map(|(_, id)| *id).collect();
        let json = client.get_json(JOBS).await;
        json.assert_status(200);
        let listed: Vec<i64> = json.json()["entries"].as_array().unwrap().iter().map(|j| j["id"].as_i64().unwrap()).collect();
        assert_eq!(listed, live);
        let xml = client.get(JOBS).await;
        assert_eq!(xml.body.matches("<job>").count(), live.len());
        assert!(xml.body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<jobs type=\"array\">\n  <job>"));
        assert!(xml.body.ends_with("  </job>\n</jobs>\n"));
        let ready = client.get_json(&format!("{JOBS}?filter=ready")).await.json();
        let expected: Vec<i64> = ids.iter().enumerate().filter(|(i, _)| i % 2 == 0 && i % 100 != 0).map(|(_, id)| *id).collect();
        let got: Vec<i64> = ready["entries"].as_array().unwrap().iter().map(|j| j["id"].as_i64().unwrap()).collect();
        assert_eq!(got, expected);
        let deleted = client.get_json(&format!("{JOBS}?deleted")).await.json();
        assert_eq!(deleted["entries"].as_array().unwrap().len(), 11);
    }
}

/// Creates, completes, reports problems on and deletes jobs until `deadline`, at most 40 jobs
/// (so that, with the 30 seeds, every list still fits one page of 200).
async fn churn(client: common::Client, n: usize, deadline: Instant) {
    let mut round = 0;
    while Instant::now() < deadline && round < 40 {
        round += 1;
        let template = if round % 3 == 0 {
            "Empty"
        } else {
            "Ten Days Before"
        };
        let id =
            common::create_job(&client, &format!("C{n}-{round}"), "2011-01-01", template).await;
        if round % 2 == 0 {
            let tasks = client.get_json(&format!("{JOBS}/{id}/tasks")).await.json();
            for task in tasks["entries"].as_array().unwrap() {
                let link = task["self_link"].as_str().unwrap();
                let path = &link[link.find("/api/").unwrap()..];
                client
                    .put_json(path, r#"{"status": "completed"}"#)
                    .await
                    .assert_status(200);
            }
        }
        if round % 4 == 1 {
            client
                .post_json(&format!("{JOBS}/{id}/problems"), r#"{"description": "x"}"#)
                .await
                .assert_status(200);
        }
        if round % 5 == 0 {
            client
                .delete(&format!("{JOBS}/{id}"))
                .await
                .assert_status(204);
        }
    }
}
