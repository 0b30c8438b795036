//! `sequence fixtures generate`: bulk-loaded jobs are indistinguishable from jobs written
//! through the API — counters, tallies, statuses and filters all agree with the rows.
#[macro_use]
mod common;

use common::{TestDatabase, TestServer};
use std::process::Command;

const JOBS: &str = "/api/work_areas/10/jobs";

fn generate(database_url: &str, jobs: u64) {
    let output = Command::new(env!("CARGO_BIN_EXE_sequence"))
        .args(["fixtures", "generate", "--jobs", &jobs.to_string()])
        .env("DATABASE_URL", database_url)
        .env("SEQUENCE_FIXTURES", common::fixtures_path())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the generator");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains(&format!("generated {jobs} jobs")), "{said}");
}

contract_tests! {
    async fn generated_jobs_agree_with_their_rows_and_the_filters() {
        let database = TestDatabase::new();
        let url = database.url.clone();
        // Two runs: the second appends after the first (ids continue, tallies add up).
        tokio::task::spawn_blocking(move || {
            generate(&url, 1_200);
            generate(&url, 300);
        })
        .await
        .unwrap();
        let drift = database
            .count(
                "SELECT count(*) FROM jobs j WHERE \
                 tasks_count <> (SELECT count(*) FROM tasks t WHERE t.job_id = j.id) \
                 OR tasks_completed_count <> (SELECT count(*) FROM tasks t WHERE t.job_id = j.id AND t.status = 'completed') \
                 OR assets_count <> (SELECT count(*) FROM assets a WHERE a.job_id = j.id) \
                 OR assets_received_count <> (SELECT count(*) FROM assets a WHERE a.job_id = j.id AND a.status = 'received') \
                 OR active_problems_count <> (SELECT count(*) FROM problems p WHERE p.job_id = j.id AND NOT p.dismissed)",
            )
            .await;
        assert_eq!(drift, 0, "counters disagree with rows");
        assert_eq!(database.count("SELECT count(*) FROM jobs").await, 1_500);
        assert_eq!(database.count("SELECT CAST(SUM(n) AS BIGINT) FROM job_tallies").await, 1_500);

        let server = TestServer::start_on(database).await;
        let client = server.client();
        for filter in ["ready", "pending", "completed", "not_completed", "received", "not_received", "problematic", "not_problematic"] {
            for deleted in ["", "&deleted"] {
                let total = client
                    .get_json(&format!("{JOBS}?pagination=true&per_page=1&filter={filter}{deleted}"))
                    .await
                    .json()["total_entries"]
                    .as_i64()
                    .unwrap();
                let all = client.get_json(&format!("{JOBS}?filter={filter}{deleted}")).await.json();
                let listed = all["entries"].as_array().unwrap();
                assert_eq!(total, listed.len() as i64, "filter={filter}{deleted}");
                assert!(total > 0, "the spread covers filter={filter}{deleted}");
            }
        }
        // A generated job reads like any other, and its tasks can be driven through the API.
        let first = client.get_json(&format!("{JOBS}?pagination=true&per_page=1")).await.json();
        let id = first["entries"][0]["id"].as_i64().unwrap();
        let tasks = client.get_json(&format!("{JOBS}/{id}/tasks")).await.json();
        assert_eq!(tasks["entries"].as_array().unwrap().len(), 8);
        let created = client
            .post_json(JOBS, r#"{"name": "After", "begins_at": "2011-01-01", "licensor_name": "L", "template": "Eight"}"#)
            .await;
        created.assert_status(200);
        assert_eq!(created.json()["id"], 1_501);
    }
}
