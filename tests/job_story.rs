//! A job's whole life driven through the API: sub-resources, the status roll-up, the filters
//! and `expand`.
#[macro_use]
mod common;

use common::{create_job, Client, TestServer};
use serde_json::Value;

const JOBS: &str = "/api/work_areas/10/jobs";

async fn job_json(client: &Client, id: i64) -> Value {
    let reply = client.get_json(&format!("{JOBS}/{id}")).await;
    reply.assert_status(200);
    reply.json()
}

async fn statuses(client: &Client, id: i64) -> (String, String, String) {
    let job = job_json(client, id).await;
    let s = |k: &str| job[k].as_str().unwrap().to_string();
    (s("status"), s("tasks_status"), s("assets_status"))
}

/// Ids of the unpaginated list for a filter.
async fn filtered(client: &Client, filter: &str) -> Vec<i64> {
    let reply = client.get_json(&format!("{JOBS}?filter={filter}")).await;
    reply.assert_status(200);
    reply.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect()
}

/// Self links of a sub-resource list, in order.
async fn self_links(client: &Client, path: &str) -> Vec<String> {
    let reply = client.get_json(path).await;
    reply.assert_status(200);
    reply.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["self_link"].as_str().unwrap().to_string())
        .collect()
}

fn path_of(link: &str) -> String {
    let start = link.find("/api/").unwrap();
    link[start..].to_string()
}

contract_tests! {
    async fn a_job_is_driven_from_late_to_live_through_the_api() {
        // Today is inside the window of a job beginning 2010-05-01 and ending 2010-07-01 … once
        // everything is finished. Before that, its due date (begins-at, template Basic) passes.
        let server = TestServer::start_with(|c| c.today = Some("2010-05-10".parse().unwrap())).await;
        let client = server.client();
        let body = "<job><name>Story</name><begins-at>2010-05-01</begins-at>\
            <ends-at>2010-07-01</ends-at><licensor-name>Miramax</licensor-name>\
            <template>Basic</template></job>";
        let created = client.post_xml(JOBS, body).await;
        created.assert_status(200);
        let id: i64 = created
            .header("location")
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            statuses(&client, id).await,
            ("late".into(), "pending".into(), "not_received".into())
        );

        // The template's three tasks and three assets were copied, in order.
        let tasks = self_links(&client, &format!("{JOBS}/{id}/tasks")).await;
        let assets = self_links(&client, &format!("{JOBS}/{id}/assets")).await;
        assert_eq!((tasks.len(), assets.len()), (3, 3));

        // Complete the first task (XML) → in progress.
        let reply = client
            .put_xml(
                &path_of(&tasks[0]),
                "<task><status>completed</status></task>",
            )
            .await;
        reply.assert_status(200);
        assert!(
            reply.body.contains("<status>completed</status>"),
            "{}",
            reply.body
        );
        assert_eq!(statuses(&client, id).await.1, "in_progress");
        assert!(filtered(&client, "not_completed").await.contains(&id));

        // The second requires a duration: completing it blank is refused, with one message.
        let refused = client
            .put_json(&path_of(&tasks[1]), r#"{"status": "completed"}"#)
            .await;
        refused.assert_status(422);
        assert_eq!(
            refused.json(),
            serde_json::json!({"errors": ["Duration can't be blank when completing a task that requires it"]})
        );
        let bad_duration = client
            .put_json(
                &path_of(&tasks[1]),
                r#"{"status": "completed", "duration": "1h"}"#,
            )
            .await;
        bad_duration.assert_status(422);
        assert_eq!(
            bad_duration.json()["errors"][0],
            "Duration must be in the format hh:mm:ss"
        );
        let done = client
            .put_json(
                &path_of(&tasks[1]),
                r#"{"status": "completed", "duration": "01:32:10"}"#,
            )
            .await;
        done.assert_status(200);
        assert_eq!(done.json()["duration"], "01:32:10");
        client
            .put_json(&path_of(&tasks[2]), r#"{"status": "completed"}"#)
            .await
            .assert_status(200);
        assert_eq!(
            statuses(&client, id).await,
            ("late".into(), "completed".into(), "not_received".into())
        );
        assert!(filtered(&client, "completed").await.contains(&id));
        assert!(filtered(&client, "not_received").await.contains(&id));

        // Receive the assets one by one; a claimed asset is not received.
        client
            .put_xml(
                &path_of(&assets[0]),
                "<asset><status>received</status><progress type=\"integer\">100</progress></asset>",
            )
            .await
            .assert_status(200);
        assert_eq!(statuses(&client, id).await.2, "partly_received");
        client
            .put_json(&path_of(&assets[1]), r#"{"status": "claimed"}"#)
            .await
            .assert_status(200);
        assert_eq!(statuses(&client, id).await.2, "partly_received");
        for asset in &assets[1..] {
            client
                .put_json(&path_of(asset), r#"{"status": "received"}"#)
                .await
                .assert_status(200);
        }
        assert_eq!(
            statuses(&client, id).await,
            ("live".into(), "completed".into(), "received".into())
        );
        assert!(filtered(&client, "ready").await.contains(&id));
        assert!(!filtered(&client, "pending").await.contains(&id));

        // Report a problem, then dismiss it.
        let problem = client
            .post_xml(
                &format!("{JOBS}/{id}/problems"),
                "<problem><description>Audio out of sync</description></problem>",
            )
            .await;
        problem.assert_status(200);
        assert!(
            problem.body.contains("<reporter>robot_user</reporter>"),
            "{}",
            problem.body
        );
        assert!(problem
            .body
            .contains("<dismissed type=\"boolean\">false</dismissed>"));
        assert_eq!(filtered(&client, "problematic").await, vec![id]);
        let problem_path = path_of(problem.header("location").unwrap());
        client
            .put_xml(
                &problem_path,
                "<problem><dismissed type=\"boolean\">true</dismissed></problem>",
            )
            .await
            .assert_status(200);
        assert!(filtered(&client, "problematic").await.is_empty());
        assert!(filtered(&client, "not_problematic").await.contains(&id));

        // Notes record who wrote them and when.
        let note = client
            .post_json(
                &format!("{JOBS}/{id}/notes"),
                r#"{"body": "Delivered early", "creator": "someone else"}"#,
            )
            .await;
        note.assert_status(200);
        let note = note.json();
        assert_eq!(note["resource_type"], "note");
        assert_eq!(note["creator"], "robot_user");
        assert!(note["created_at"].as_str().unwrap().ends_with("+00:00"));
        assert!(
            note.get("id").is_none(),
            "sub-resources carry their id in the self link only"
        );

        // Reopening a task rolls the job back.
        client
            .put_json(&path_of(&tasks[0]), r#"{"status": "pending"}"#)
            .await
            .assert_status(200);
        assert_eq!(
            statuses(&client, id).await,
            ("late".into(), "in_progress".into(), "received".into())
        );
    }

    async fn statuses_reach_done_and_passed_with_the_calendar() {
        for (today, expected) in [
            ("2010-04-01", "done"),
            ("2010-05-10", "live"),
            ("2010-08-01", "passed"),
        ] {
            let server = TestServer::start_with(|c| c.today = Some(today.parse().unwrap())).await;
            let client = server.client();
            let body =
                "<job><name>Empty</name><begins-at>2010-05-01</begins-at><ends-at>2010-07-01</ends-at>\
                <licensor-name>Miramax</licensor-name><template>Empty</template></job>";
            let created = client.post_xml(JOBS, body).await;
            created.assert_status(200);
            // No tasks and no assets count as all completed and all received.
            assert!(
                created
                    .body
                    .contains(&format!("<status>{expected}</status>")),
                "{today}: {}",
                created.body
            );
            assert!(created
                .body
                .contains("<tasks-status>completed</tasks-status>"));
            assert!(created
                .body
                .contains("<assets-status>received</assets-status>"));
        }
    }

    async fn every_filter_returns_exactly_the_right_jobs_on_a_mixed_set() {
        let server = TestServer::start().await;
        let client = server.client();
        let untouched = create_job(&client, "Untouched", "2011-01-01", "Ten Days Before").await;
        let tasks_done = create_job(&client, "Tasks done", "2011-01-01", "Ten Days Before").await;
        let assets_done = create_job(&client, "Assets done", "2011-01-01", "Ten Days Before").await;
        let ready = create_job(&client, "Ready", "2011-01-01", "Ten Days Before").await;
        let empty = create_job(&client, "Empty", "2011-01-01", "Empty").await;
        let troubled = create_job(&client, "Troubled", "2011-01-01", "Ten Days Before").await;
        let deleted = create_job(&client, "Deleted ready", "2011-01-01", "Empty").await;

        let complete_all = |id: i64, kind: &'static str, status: &'static str| {
            let client = &client;
            async move {
                for link in self_links(client, &format!("{JOBS}/{id}/{kind}")).await {
                    client
                        .put_json(&path_of(&link), &format!(r#"{{"status": "{status}"}}"#))
                        .await
                        .assert_status(200);
                }
            }
        };
        complete_all(tasks_done, "tasks", "completed").await;
        complete_all(assets_done, "assets", "received").await;
        complete_all(ready, "tasks", "completed").await;
        complete_all(ready, "assets", "received").await;
        client
            .post_json(
                &format!("{JOBS}/{troubled}/problems"),
                r#"{"description": "No audio"}"#,
            )
            .await
            .assert_status(200);
        client
            .delete(&format!("{JOBS}/{deleted}"))
            .await
            .assert_status(204);

        let expectations: [(&str, Vec<i64>); 8] = [
            ("ready", vec![ready, empty]),
            (
                "pending",
                vec![untouched, tasks_done, assets_done, troubled],
            ),
            ("completed", vec![tasks_done, ready, empty]),
            ("not_completed", vec![untouched, assets_done, troubled]),
            ("received", vec![assets_done, ready, empty]),
            ("not_received", vec![untouched, tasks_done, troubled]),
            ("problematic", vec![troubled]),
            (
                "not_problematic",
                vec![untouched, tasks_done, assets_done, ready, empty],
            ),
        ];
        for (filter, expected) in &expectations {
            assert_eq!(
                &filtered(&client, filter).await,
                expected,
                "filter={filter}"
            );
            // The paginated list agrees, total included.
            let page = client
                .get_json(&format!(
                    "{JOBS}?pagination=true&per_page=2&filter={filter}"
                ))
                .await
                .json();
            assert_eq!(page["total_entries"], expected.len(), "filter={filter}");
        }
        // With ?deleted the filters apply to deleted jobs only.
        let reply = client
            .get_json(&format!("{JOBS}?deleted&filter=ready"))
            .await
            .json();
        let ids: Vec<i64> = reply["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![deleted]);
        let reply = client
            .get_json(&format!("{JOBS}?deleted&filter=pending"))
            .await
            .json();
        assert!(reply["entries"].as_array().unwrap().is_empty());
    }

    async fn sub_resources_validate_and_answer_in_both_formats() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Job", "2011-01-01", "Empty").await;

        // Tasks: position after the last when not given; list by position then id.
        let a = client
            .post_json(&format!("{JOBS}/{id}/tasks"), r#"{"name": "A"}"#)
            .await;
        a.assert_status(200);
        assert_eq!(a.json()["position"], 1);
        assert!(
            a.json().get("duration").is_none(),
            "duration only when required"
        );
        let b = client
            .post_xml(&format!("{JOBS}/{id}/tasks"), "<task><name>B</name><requires-duration type=\"boolean\">true</requires-duration></task>")
            .await;
        b.assert_status(200);
        assert!(
            b.body.contains("<position type=\"integer\">2</position>"),
            "{}",
            b.body
        );
        assert!(b.body.contains("<duration nil=\"true\"/>"), "{}", b.body);
        assert!(!b.body.contains("<id"), "{}", b.body);
        let c = client
            .post_json(
                &format!("{JOBS}/{id}/tasks"),
                r#"{"name": "C", "position": 1}"#,
            )
            .await;
        c.assert_status(200);
        let names: Vec<String> = client.get_json(&format!("{JOBS}/{id}/tasks")).await.json()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["A", "C", "B"]);
        // requires-duration is fixed at creation.
        let a_path = path_of(a.header("location").unwrap());
        let changed = client
            .put_json(&a_path, r#"{"requires_duration": true}"#)
            .await;
        changed.assert_status(200);
        assert_eq!(changed.json()["requires_duration"], false);

        // Validation: one message per problem, in the negotiated format.
        let bad = client
            .post_xml(
                &format!("{JOBS}/{id}/tasks"),
                "<task><status>done</status><position type=\"integer\">x</position></task>",
            )
            .await;
        bad.assert_status(422);
        assert!(bad.body.contains("<errors>"), "{}", bad.body);
        assert!(bad.body.contains("<error>Name can't be blank</error>"));
        assert!(bad
            .body
            .contains("<error>Status must be one of pending, completed</error>"));
        assert!(bad
            .body
            .contains("<error>Position must be an integer</error>"));
        let bad = client
            .post_json(
                &format!("{JOBS}/{id}/assets"),
                r#"{"type_name": "trailer", "progress": 101, "status": "lost"}"#,
            )
            .await;
        bad.assert_status(422);
        assert_eq!(bad.json()["errors"].as_array().unwrap().len(), 2);
        let bad = client
            .post_json(
                &format!("{JOBS}/{id}/assets"),
                r#"{"type_name": "trailer", "progress": 3.5}"#,
            )
            .await;
        bad.assert_status(422);
        assert_eq!(bad.json()["errors"][0], "Progress must be an integer");
        client
            .post_json(&format!("{JOBS}/{id}/notes"), r#"{"body": ""}"#)
            .await
            .assert_status(422);
        client
            .post_json(&format!("{JOBS}/{id}/problems"), r#"{}"#)
            .await
            .assert_status(422);
        let count = server.count("SELECT count(*) FROM assets").await;
        assert_eq!(count, 0, "failed requests write nothing");

        // Assets: progress null and 0–100.
        let asset = client
            .post_xml(
                &format!("{JOBS}/{id}/assets"),
                "<asset><type-name>box_art</type-name></asset>",
            )
            .await;
        asset.assert_status(200);
        assert!(
            asset.body.contains("<progress nil=\"true\"/>"),
            "{}",
            asset.body
        );
        assert!(asset.body.contains("<status>pending</status>"));

        // Delete a task: 204, then 404.
        client.delete(&a_path).await.assert_status(204);
        client.get(&a_path).await.assert_status(404);
        client.delete(&a_path).await.assert_status(404);

        // Other verbs: 405 with Allow.
        let patch = client
            .send("PATCH", &format!("{JOBS}/{id}/tasks"), &[], None)
            .await;
        patch.assert_status(405);
        assert_eq!(patch.header("allow"), Some("GET, HEAD, POST"));
        // Hooks arrive with the events feed; nothing else is a sub-resource.
        client
            .get(&format!("{JOBS}/{id}/bogus"))
            .await
            .assert_status(404);
    }

    async fn sub_resources_of_other_jobs_areas_and_accounts_are_not_found() {
        let server = TestServer::start().await;
        let client = server.client();
        let one = create_job(&client, "One", "2011-01-01", "Basic").await;
        let two = create_job(&client, "Two", "2011-01-01", "Basic").await;
        let task_of_one = path_of(&self_links(&client, &format!("{JOBS}/{one}/tasks")).await[0]);
        let task_id = task_of_one.rsplit('/').next().unwrap();

        // The id under another job, another work area, or for another account.
        client
            .get(&format!("{JOBS}/{two}/tasks/{task_id}"))
            .await
            .assert_status(404);
        client
            .put_json(
                &format!("{JOBS}/{two}/tasks/{task_id}"),
                r#"{"status": "completed"}"#,
            )
            .await
            .assert_status(404);
        client
            .delete(&format!("{JOBS}/{two}/tasks/{task_id}"))
            .await
            .assert_status(404);
        client
            .get(&format!("/api/work_areas/11/jobs/{one}/tasks/{task_id}"))
            .await
            .assert_status(404);
        client
            .get(&format!("/api/work_areas/11/jobs/{one}/tasks"))
            .await
            .assert_status(404);
        let other = server.client_as("other_user", "other secret");
        other.get(&task_of_one).await.assert_status(404);
        other
            .put_json(&task_of_one, r#"{"status": "completed"}"#)
            .await
            .assert_status(404);
        other
            .post_json(&format!("{JOBS}/{one}/notes"), r#"{"body": "x"}"#)
            .await
            .assert_status(404);
        client
            .get(&format!("{JOBS}/99999999999999999999/tasks"))
            .await
            .assert_status(404);
        client
            .get(&format!("{JOBS}/{one}/tasks/abc"))
            .await
            .assert_status(404);
        // Nothing changed.
        assert_eq!(
            client.get_json(&task_of_one).await.json()["status"],
            "pending"
        );
    }

    async fn sub_resources_of_a_deleted_job_are_read_only_with_the_flag() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Gone", "2011-01-01", "Basic").await;
        client
            .post_json(
                &format!("{JOBS}/{id}/notes"),
                r#"{"body": "Before deletion"}"#,
            )
            .await
            .assert_status(200);
        client
            .delete(&format!("{JOBS}/{id}"))
            .await
            .assert_status(204);

        client
            .get(&format!("{JOBS}/{id}/tasks"))
            .await
            .assert_status(404);
        let list = client.get_json(&format!("{JOBS}/{id}/tasks?deleted")).await;
        list.assert_status(200);
        let entries = list.json()["entries"].as_array().unwrap().clone();
        assert_eq!(entries.len(), 3);
        let link = entries[0]["self_link"].as_str().unwrap();
        assert!(link.ends_with("?deleted"), "{link}");
        assert!(entries[0]["job_link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/jobs/{id}?deleted")));
        // Following the link works; writes with the flag are 405, without it 404.
        client.get(&path_of(link)).await.assert_status(200);
        let task = path_of(link).replace("?deleted", "");
        client.get(&task).await.assert_status(404);
        let put = client
            .put_json(&format!("{task}?deleted"), r#"{"status": "completed"}"#)
            .await;
        put.assert_status(405);
        assert_eq!(put.header("allow"), Some("GET, HEAD"));
        client
            .delete(&format!("{task}?deleted"))
            .await
            .assert_status(405);
        client
            .post_json(&format!("{JOBS}/{id}/notes?deleted"), r#"{"body": "x"}"#)
            .await
            .assert_status(405);
        client
            .put_json(&task, r#"{"status": "completed"}"#)
            .await
            .assert_status(404);
        client
            .post_json(&format!("{JOBS}/{id}/notes"), r#"{"body": "x"}"#)
            .await
            .assert_status(404);
        let notes = client.get(&format!("{JOBS}/{id}/notes?deleted")).await;
        notes.assert_status(200);
        assert!(
            notes.body.contains("<body>Before deletion</body>"),
            "{}",
            notes.body
        );
    }

    async fn expand_nests_the_lists_in_the_jobs_links() {
        let server = TestServer::start().await;
        let client = server.client();
        let first = create_job(&client, "First", "2011-01-01", "Ten Days Before").await;
        let second = create_job(&client, "Second", "2011-01-01", "Empty").await;
        client
            .post_json(&format!("{JOBS}/{second}/notes"), r#"{"body": "Hello"}"#)
            .await
            .assert_status(200);

        // One job, XML: the list sits inside its link.
        let xml = client
            .get(&format!("{JOBS}/{first}?expand=tasks,assets"))
            .await;
        xml.assert_status(200);
        assert!(xml.body.contains(&format!(
            "<link rel=\"tasks\" href=\"{}{JOBS}/{first}/tasks\">\n    <tasks type=\"array\">\n      <task>",
            server.base
        )), "{}", xml.body);
        assert_eq!(xml.body.matches("<task>").count(), 2);
        assert_eq!(xml.body.matches("<asset>").count(), 2);
        assert!(xml.body.contains(&format!(
            "<link rel=\"notes\" href=\"{}{JOBS}/{first}/notes\"/>",
            server.base
        )));

        // JSON: the list follows its link key; percent-encoded commas work too.
        let json = client
            .get_json(&format!("{JOBS}/{first}?expand=tasks%2Cproblems%2Cbogus"))
            .await
            .json();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let tasks_link = keys.iter().position(|k| *k == "tasks_link").unwrap();
        assert_eq!(keys[tasks_link + 1], "tasks");
        assert_eq!(json["tasks"].as_array().unwrap().len(), 2);
        assert_eq!(json["problems"], serde_json::json!([]));
        assert!(json.get("assets").is_none());

        // The list: each job gets its own; pagination links keep expand.
        let page = client
            .get_json(&format!("{JOBS}?pagination=true&per_page=1&expand=notes"))
            .await
            .json();
        assert_eq!(page["entries"][0]["notes"], serde_json::json!([]));
        let next = page["next_link"].as_str().unwrap();
        assert!(next.contains("expand=notes"), "{next}");
        let page2 = client.get_json(&path_of(next)).await.json();
        assert_eq!(page2["entries"][0]["notes"][0]["body"], "Hello");

        // The create response expands too.
        let created = client
            .post_json(
                &format!("{JOBS}?expand=tasks"),
                r#"{"name": "N", "begins_at": "2011-01-01", "licensor_name": "L", "template": "Basic"}"#,
            )
            .await;
        created.assert_status(200);
        assert_eq!(created.json()["tasks"].as_array().unwrap().len(), 3);
    }

    async fn nil_clears_optional_attributes_of_a_job() {
        let server = TestServer::start().await;
        let client = server.client();
        let created = client
            .post_xml(
                JOBS,
                "<job><name>N</name><begins-at>2011-01-01</begins-at><licensor-name>L</licensor-name>\
                 <template>Basic</template><tag-list>Drama</tag-list>\
                 <title-external-id>X-1</title-external-id></job>",
            )
            .await;
        created.assert_status(200);
        let id = created.header("location").unwrap().rsplit('/').next().unwrap().to_string();
        let cleared = client
            .put_xml(
                &format!("{JOBS}/{id}"),
                "<job><tag-list nil=\"true\"/><title-external-id nil=\"true\"/></job>",
            )
            .await;
        cleared.assert_status(200);
        assert!(cleared.body.contains("<tag-list></tag-list>"), "{}", cleared.body);
        assert!(cleared.body.contains("<title-external-id nil=\"true\"/>"), "{}", cleared.body);
        let json = client.get_json(&format!("{JOBS}/{id}")).await.json();
        assert_eq!(json["tag_list"], "");
        assert_eq!(json["title_external_id"], serde_json::Value::Null);
        // A required attribute cannot be cleared.
        let refused = client
            .put_xml(&format!("{JOBS}/{id}"), "<job><name nil=\"true\"/></job>")
            .await;
        refused.assert_status(422);
        assert!(refused.body.contains("<error>Name can't be blank</error>"), "{}", refused.body);
    }
}
