//! The jobs API, black box: real HTTP with Digest against a real server over its own database,
//! every test once per backend (PostgreSQL and SQLite). Tasks, assets and problems are moved
//! through their sub-resource endpoints; the database is only read, with portable counts.
#[macro_use]
mod common;

use common::doc::*;
use common::{create_job, Client, Reply, TestServer};
use serde_json::{json, Value};

const JOBS: &str = "/api/work_areas/10/jobs";

fn job_path(id: i64) -> String {
    format!("{JOBS}/{id}")
}

// ------------------------------------------------------------------------------------------
// Reading XML: a tiny tree, enough to assert on elements, attributes and their order.
// ------------------------------------------------------------------------------------------

fn xml_ids(list: &Node) -> Vec<i64> {
    list.items("job")
        .iter()
        .map(|j| j.text_of("id").parse().unwrap())
        .collect()
}

#[track_caller]
fn json_ids(list: &Value) -> Vec<i64> {
    list["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries: {list}"))
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect()
}

// ------------------------------------------------------------------------------------------
// Stored state: portable counts, and sub-resources moved through their endpoints.
// ------------------------------------------------------------------------------------------

async fn assert_nothing_stored(server: &TestServer) {
    assert_eq!(server.count("SELECT count(*) FROM jobs").await, 0, "jobs");
    assert_eq!(server.count("SELECT count(*) FROM tasks").await, 0, "tasks");
    assert_eq!(
        server.count("SELECT count(*) FROM assets").await,
        0,
        "assets"
    );
}

/// The `/api/...` path of an absolute link (a sub-resource's `self_link`), for the client.
#[track_caller]
fn path_of(link: &str) -> &str {
    let start = link
        .find("/api/")
        .unwrap_or_else(|| panic!("not an API link: {link}"));
    &link[start..]
}

/// The id a sub-resource carries at the end of its self link (`?deleted` aside).
#[track_caller]
fn sub_id(entry: &Value) -> i64 {
    let link = entry["self_link"]
        .as_str()
        .unwrap_or_else(|| panic!("no self_link: {entry}"));
    let path = link.split('?').next().unwrap();
    path.rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{link}: {e}"))
}

/// The entries of one of a live job's sub-resource lists (`tasks`, `assets`, …), as listed.
async fn sub_entries(client: &Client, job: i64, kind: &str) -> Vec<Value> {
    let list = get_json_ok(client, &format!("{}/{kind}", job_path(job))).await;
    assert_eq!(keys(&list), ["entries"], "{list}");
    list["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries: {list}"))
        .clone()
}

/// PUTs `body` (JSON) to a sub-resource and checks it answers with `status` set.
async fn put_sub_status(client: &Client, entry: &Value, body: Value, status: &str) {
    let link = entry["self_link"].as_str().unwrap();
    let reply = client.put_json(path_of(link), &body.to_string()).await;
    let changed = json_ok(&reply);
    assert_eq!(changed["status"], status, "PUT {link} {body}");
}

/// Marks the job's first `completed` tasks (by position, then id) completed and the rest
/// pending. A task that requires a duration is completed with one.
async fn set_tasks(client: &Client, job: i64, completed: i64) {
    let mut tasks = sub_entries(client, job, "tasks").await;
    tasks.sort_by_key(|t| (t["position"].as_i64().unwrap(), sub_id(t)));
    assert!(
        completed as usize <= tasks.len(),
        "job {job} has {} tasks, not {completed}",
        tasks.len()
    );
    for (n, task) in tasks.iter().enumerate() {
        if (n as i64) < completed {
            let body = if task["requires_duration"] == json!(true) {
                json!({"status": "completed", "duration": "01:00:00"})
            } else {
                json!({"status": "completed"})
            };
            put_sub_status(client, task, body, "completed").await;
        } else {
            put_sub_status(client, task, json!({"status": "pending"}), "pending").await;
        }
    }
}

/// The job's first `received` assets (by id) received, the next `claimed` claimed, the rest
/// pending.
async fn set_assets(client: &Client, job: i64, received: i64, claimed: i64) {
    let mut assets = sub_entries(client, job, "assets").await;
    assets.sort_by_key(sub_id);
    assert!(
        (received + claimed) as usize <= assets.len(),
        "job {job} has {} assets, not {received} + {claimed}",
        assets.len()
    );
    for (n, asset) in assets.iter().enumerate() {
        let n = n as i64;
        let status = if n < received {
            "received"
        } else if n < received + claimed {
            "claimed"
        } else {
            "pending"
        };
        put_sub_status(client, asset, json!({ "status": status }), status).await;
    }
}

/// Reports a problem on the job, dismissed or not, as robot_user.
async fn add_problem(client: &Client, job: i64, dismissed: bool) {
    let body = json!({"description": "Broken master", "dismissed": dismissed});
    let reply = client
        .post_json(&format!("{}/problems", job_path(job)), &body.to_string())
        .await;
    let problem = json_ok(&reply);
    assert_eq!(
        (
            &problem["description"],
            &problem["dismissed"],
            &problem["reporter"]
        ),
        (
            &json!("Broken master"),
            &json!(dismissed),
            &json!("robot_user")
        ),
        "{problem}"
    );
}

/// Dismisses every problem of the job.
async fn dismiss_problems(client: &Client, job: i64) {
    for problem in sub_entries(client, job, "problems").await {
        let link = problem["self_link"].as_str().unwrap();
        let reply = client
            .put_json(path_of(link), &json!({"dismissed": true}).to_string())
            .await;
        assert_eq!(json_ok(&reply)["dismissed"], true, "PUT {link}");
    }
}

// ------------------------------------------------------------------------------------------
// API helpers.
// ------------------------------------------------------------------------------------------

async fn create_json(client: &Client, work_area: i64, body: Value) -> Value {
    let reply = client
        .post_json(
            &format!("/api/work_areas/{work_area}/jobs"),
            &body.to_string(),
        )
        .await;
    json_ok(&reply)
}

async fn put_json_ok(client: &Client, id: i64, body: Value) -> Value {
    json_ok(&client.put_json(&job_path(id), &body.to_string()).await)
}

async fn get_json_ok(client: &Client, path: &str) -> Value {
    json_ok(&client.get_json(path).await)
}

/// `(status, tasks-status, assets-status)` of a job, read in both formats (which must agree).
async fn statuses(client: &Client, id: i64) -> (String, String, String) {
    let json = get_json_ok(client, &job_path(id)).await;
    let xml = xml_ok(&client.get(&job_path(id)).await);
    let from_json = (
        json["status"].as_str().unwrap().to_string(),
        json["tasks_status"].as_str().unwrap().to_string(),
        json["assets_status"].as_str().unwrap().to_string(),
    );
    let from_xml = (
        xml.text_of("status").to_string(),
        xml.text_of("tasks-status").to_string(),
        xml.text_of("assets-status").to_string(),
    );
    assert_eq!(from_json, from_xml, "job {id}: XML and JSON disagree");
    from_json
}

fn triple(status: &str, tasks: &str, assets: &str) -> (String, String, String) {
    (status.into(), tasks.into(), assets.into())
}

/// The links a job in work area `wa` carries, `flag` appended to its own ones.
fn expected_links(base: &str, wa: i64, id: i64, flag: &str) -> Vec<(String, String)> {
    let own = format!("{base}/api/work_areas/{wa}/jobs/{id}");
    let mut links = vec![
        ("self".to_string(), format!("{own}{flag}")),
        (
            "work_area".to_string(),
            format!("{base}/api/work_areas/{wa}"),
        ),
    ];
    for rel in ["assets", "tasks", "notes", "problems", "hooks"] {
        links.push((rel.to_string(), format!("{own}/{rel}{flag}")));
    }
    links.push((
        "web".to_string(),
        format!("{base}/video_services/{wa}/scheduled_titles/{id}/workflow{flag}"),
    ));
    links
}

/// The `*_link` members of a JSON job as `(rel, href)`, in order.
fn json_links(job: &Value) -> Vec<(String, String)> {
    job.as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| {
            k.strip_suffix("_link")
                .map(|rel| (rel.to_string(), v.as_str().unwrap_or("").to_string()))
        })
        .collect()
}

async fn create_many(client: &Client, n: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(create_job(client, &format!("Job {i}"), "2010-06-01", "Basic").await);
    }
    ids
}

/// Strips the server's base so that an absolute link can be followed with the test client.
#[track_caller]
fn relative<'a>(server: &TestServer, href: &'a str) -> &'a str {
    href.strip_prefix(server.base.as_str())
        .unwrap_or_else(|| panic!("link is not absolute on {}: {href}", server.base))
}

const JOB_FIELDS_XML: [&str; 11] = [
    "id",
    "name",
    "due-date",
    "begins-at",
    "ends-at",
    "licensor-name",
    "status",
    "tasks-status",
    "assets-status",
    "tag-list",
    "title-external-id",
];

// ==========================================================================================
// 1. Create
// ==========================================================================================

contract_tests! {
    async fn create_in_xml_returns_the_full_job_with_a_location_header() {
        let server = TestServer::start().await;
        let client = server.client();
        let body = "<job>\n  <name>Mulholland Drive</name>\n  \
                    <begins-at type=\"date\">2010-12-31</begins-at>\n  \
                    <licensor-name>Miramax</licensor-name>\n  <template>Basic</template>\n  \
                    <tag-list>Drama, Surreal</tag-list>\n  \
                    <title-external-id>EXT-ID-1234</title-external-id>\n</job>";
        let reply = client.post_xml(JOBS, body).await;
        let job = xml_ok(&reply);
        assert_eq!(job.name, "job");
        let self_href = format!("{}/api/work_areas/10/jobs/1", server.base);
        assert_eq!(reply.header("location"), Some(self_href.as_str()));
        assert_eq!(job.link("self"), Some(self_href.as_str()));

        let mut names = JOB_FIELDS_XML.to_vec();
        names.extend(["link"; 8]);
        assert_eq!(job.child_names(), names, "{}", reply.body);
        let typed = |name: &str, kind: &str, value: &str| {
            let field = job.child(name);
            assert_eq!(field.attr("type"), Some(kind), "{name}: {}", reply.body);
            assert_eq!(field.text, value, "{name}");
        };
        typed("id", "integer", "1");
        typed("due-date", "date", "2010-12-31");
        typed("begins-at", "date", "2010-12-31");
        // No ends-at given: the due date plus two calendar months (no 31 February).
        typed("ends-at", "date", "2011-02-28");
        for (name, value) in [
            ("name", "Mulholland Drive"),
            ("licensor-name", "Miramax"),
            ("status", "pending"),
            ("tasks-status", "pending"),
            ("assets-status", "not_received"),
            ("tag-list", "Drama,Surreal"),
            ("title-external-id", "EXT-ID-1234"),
        ] {
            let field = job.child(name);
            assert_eq!(field.text, value, "{name}");
            assert!(field.attrs.is_empty(), "{name} is a string, untyped");
        }
        assert_eq!(job.links(), expected_links(&server.base, 10, 1, ""));
        let web = job.items("link").into_iter().last().unwrap();
        assert_eq!(web.attr("type"), Some("text/html"));

        // The template's tasks and assets were copied into the job: every stored row is
        // listed, tasks by position (then id), assets by id.
        assert_eq!(
            server
                .count("SELECT count(*) FROM tasks WHERE job_id = 1")
                .await,
            3
        );
        assert_eq!(
            server
                .count("SELECT count(*) FROM assets WHERE job_id = 1")
                .await,
            3
        );
        let tasks = sub_entries(&client, 1, "tasks").await;
        let described: Vec<_> = tasks
            .iter()
            .map(|t| {
                let email = match t.get("responsible_email") {
                    Some(Value::Null) => None,
                    Some(Value::String(email)) => Some(email.as_str()),
                    other => panic!("responsible_email: {other:?} in {t}"),
                };
                (
                    t["name"].as_str().unwrap(),
                    t["status"].as_str().unwrap(),
                    t["requires_duration"].as_bool().unwrap(),
                    email,
                )
            })
            .collect();
        assert_eq!(
            described,
            [
                ("Request materials", "pending", false, None),
                ("Quality check", "pending", true, None),
                ("Publish", "pending", false, Some("publishing@example.com")),
            ]
        );
        let positions: Vec<i64> = tasks
            .iter()
            .map(|t| t["position"].as_i64().unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        let assets = sub_entries(&client, 1, "assets").await;
        let asset_ids: Vec<i64> = assets.iter().map(sub_id).collect();
        assert!(asset_ids.windows(2).all(|w| w[0] < w[1]), "{asset_ids:?}");
        let assets: Vec<_> = assets
            .iter()
            .map(|a| {
                (
                    a["type_name"].as_str().unwrap(),
                    a["status"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            assets,
            [
                ("feature_film", "pending"),
                ("trailer", "pending"),
                ("box_art", "pending")
            ]
        );

        // What the create answered is what the job's URL serves.
        let shown = client.get(&job_path(1)).await;
        shown.assert_status(200);
        assert_eq!(shown.body, reply.body);
    }
}

contract_tests! {
    async fn create_in_json_returns_the_full_job_with_a_location_header() {
        let server = TestServer::start().await;
        let client = server.client();
        let reply = client
            .post_json(
                JOBS,
                r#"{"name": "Lost Highway", "begins_at": "2011-02-01",
                    "licensor_name": "October Films", "template": "Ten Days Before",
                    "tag_list": "Drama, Surreal"}"#,
            )
            .await;
        let job = json_ok(&reply);
        let base = &server.base;
        assert_eq!(
            keys(&job),
            [
                "resource_type",
                "id",
                "name",
                "due_date",
                "begins_at",
                "ends_at",
                "licensor_name",
                "status",
                "tasks_status",
                "assets_status",
                "tag_list",
                "title_external_id",
                "self_link",
                "work_area_link",
                "assets_link",
                "tasks_link",
                "notes_link",
                "problems_link",
                "hooks_link",
                "web_link",
            ]
        );
        let mut expected = json!({
            "resource_type": "job",
            "id": 1,
            "name": "Lost Highway",
            "due_date": "2011-01-22",
            "begins_at": "2011-02-01",
            "ends_at": "2011-03-22",
            "licensor_name": "October Films",
            "status": "pending",
            "tasks_status": "pending",
            "assets_status": "not_received",
            "tag_list": "Drama,Surreal",
            "title_external_id": null,
        });
        for (rel, href) in expected_links(base, 10, 1, "") {
            expected[format!("{rel}_link")] = Value::String(href);
        }
        assert_eq!(job, expected);
        assert_eq!(reply.header("location"), job["self_link"].as_str());

        assert_eq!(
            server
                .count("SELECT count(*) FROM tasks WHERE job_id = 1")
                .await,
            2
        );
        assert_eq!(
            server
                .count("SELECT count(*) FROM assets WHERE job_id = 1")
                .await,
            2
        );
        assert_eq!(
            server
                .count("SELECT count(*) FROM tasks WHERE job_id = 1 AND status = 'pending'")
                .await,
            2
        );
    }
}

contract_tests! {
    async fn due_date_follows_the_template_offset_and_ends_at_defaults_to_two_months_later() {
        let server = TestServer::start().await;
        let client = server.client();
        // (template, begins-at, due-date, default ends-at, tasks, assets)
        let cases = [
            ("Basic", "2010-12-31", "2010-12-31", "2011-02-28", 3, 3),
            ("Basic", "2011-12-31", "2011-12-31", "2012-02-29", 3, 3),
            ("Day Before", "2010-03-01", "2010-02-28", "2010-04-28", 1, 1),
            ("Day Before", "2011-03-01", "2011-02-28", "2011-04-28", 1, 1),
            (
                "Two Months Before",
                "2011-01-01",
                "2010-10-31",
                "2010-12-31",
                1,
                1,
            ),
            (
                "Ten Days Before",
                "2010-05-15",
                "2010-05-05",
                "2010-07-05",
                2,
                2,
            ),
            ("Empty", "2012-02-29", "2012-02-29", "2012-04-29", 0, 0),
        ];
        for (template, begins, due, ends, tasks, assets) in cases {
            let id = create_job(&client, template, begins, template).await;
            let job = get_json_ok(&client, &job_path(id)).await;
            assert_eq!(
                (
                    job["begins_at"].as_str(),
                    job["due_date"].as_str(),
                    job["ends_at"].as_str()
                ),
                (Some(begins), Some(due), Some(ends)),
                "{template} from {begins}"
            );
            let stored_tasks = server
                .count(&format!("SELECT count(*) FROM tasks WHERE job_id = {id}"))
                .await;
            let stored_assets = server
                .count(&format!("SELECT count(*) FROM assets WHERE job_id = {id}"))
                .await;
            assert_eq!((stored_tasks, stored_assets), (tasks, assets), "{template}");
        }

        // An explicit ends-at is kept as given, even with a negative offset.
        let job = create_json(
            &client,
            10,
            json!({"name": "Explicit", "begins_at": "2011-01-01", "ends_at": "2011-01-31",
                   "licensor_name": "Miramax", "template": "Two Months Before"}),
        )
        .await;
        assert_eq!(job["due_date"], "2010-10-31");
        assert_eq!(job["ends_at"], "2011-01-31");
    }
}

contract_tests! {
    async fn read_only_and_unknown_attributes_are_ignored_on_create() {
        let server = TestServer::start().await;
        let client = server.client();
        let body = "<job>\
            <id type=\"integer\">999</id>\
            <name>Mulholland Drive</name>\
            <due-date type=\"date\">1999-01-01</due-date>\
            <begins-at type=\"date\">2010-06-01</begins-at>\
            <licensor-name>Miramax</licensor-name>\
            <status>passed</status>\
            <tasks-status>completed</tasks-status>\
            <assets-status>received</assets-status>\
            <template>Basic</template>\
            <colour>red</colour>\
            <extra><deep type=\"integer\">1</deep></extra>\
            </job>";
        let reply = client.post_xml(JOBS, body).await;
        let job = xml_ok(&reply);
        assert_eq!(job.text_of("id"), "1");
        assert_eq!(job.text_of("due-date"), "2010-06-01");
        assert_eq!(job.text_of("status"), "pending");
        assert_eq!(job.text_of("tasks-status"), "pending");
        assert_eq!(job.text_of("assets-status"), "not_received");
        assert!(!reply.body.contains("colour") && !reply.body.contains("deep"));
        assert_eq!(
            reply.header("location"),
            Some(format!("{}/api/work_areas/10/jobs/1", server.base).as_str())
        );

        let job = create_json(
            &client,
            10,
            json!({
                "resource_type": "job",
                "id": 999,
                "name": "Lost Highway",
                "due_date": "1999-01-01",
                "begins_at": "2010-06-01",
                "licensor_name": "October Films",
                "status": "passed",
                "tasks_status": "completed",
                "assets_status": "received",
                "template": "Basic",
                "colour": {"r": [1, 2, 3]},
                "self_link": "http://example.com/api/work_areas/10/jobs/999",
            }),
        )
        .await;
        assert_eq!(job["id"], 2);
        assert_eq!(job["due_date"], "2010-06-01");
        assert_eq!(
            (&job["status"], &job["tasks_status"], &job["assets_status"]),
            (&json!("pending"), &json!("pending"), &json!("not_received"))
        );
        assert_eq!(
            job["self_link"],
            format!("{}/api/work_areas/10/jobs/2", server.base)
        );
        assert!(job.get("colour").is_none());

        assert_eq!(server.count("SELECT count(*) FROM jobs").await, 2);
        assert_eq!(
            server
                .count("SELECT count(*) FROM jobs WHERE id = 999")
                .await,
            0
        );
        assert_eq!(
            server
                .count("SELECT count(*) FROM jobs WHERE due_date = '1999-01-01'")
                .await,
            0
        );
        // … where the derived one is stored, as written (the count above can see dates).
        assert_eq!(
            server
                .count("SELECT count(*) FROM jobs WHERE due_date = '2010-06-01'")
                .await,
            2
        );
    }
}

contract_tests! {
    async fn datetimes_with_offsets_keep_the_written_calendar_date() {
        let server = TestServer::start().await;
        let client = server.client();
        let body = "<job><name>Mulholland Drive</name>\
            <begins-at type=\"datetime\">2010-12-31T00:00:00+02:00</begins-at>\
            <ends-at type=\"dateTime\">2011-01-31T23:30:00-05:00</ends-at>\
            <licensor-name>Miramax</licensor-name><template>Basic</template></job>";
        let job = xml_ok(&client.post_xml(JOBS, body).await);
        let xml_first_id: i64 = job.text_of("id").parse().unwrap();
        assert_eq!(job.text_of("begins-at"), "2010-12-31");
        assert_eq!(job.text_of("due-date"), "2010-12-31");
        assert_eq!(job.text_of("ends-at"), "2011-01-31");
        assert_eq!(job.child("begins-at").attr("type"), Some("date"));

        let job = create_json(
            &client,
            10,
            json!({"name": "Lost Highway", "begins_at": "2011-03-01T23:59:59-10:00",
                   "ends_at": "2011-06-30T00:00:00Z", "licensor_name": "October Films",
                   "template": "Day Before"}),
        )
        .await;
        assert_eq!(job["begins_at"], "2011-03-01");
        assert_eq!(job["due_date"], "2011-02-28");
        assert_eq!(job["ends_at"], "2011-06-30");

        // Stored as the calendar dates written, read back as such: exactly these two rows.
        assert_eq!(server.count("SELECT count(*) FROM jobs").await, 2);
        let (first, second) = (xml_first_id, job["id"].as_i64().unwrap());
        assert!(first < second, "{first} {second}");
        for (id, begins, ends) in [
            (first, "2010-12-31", "2011-01-31"),
            (second, "2011-03-01", "2011-06-30"),
        ] {
            let sql = format!(
                "SELECT count(*) FROM jobs WHERE id = {id} \
                 AND begins_at = '{begins}' AND ends_at = '{ends}'"
            );
            assert_eq!(server.count(&sql).await, 1, "{sql}");
            let shown = get_json_ok(&client, &job_path(id)).await;
            assert_eq!(
                (shown["begins_at"].as_str(), shown["ends_at"].as_str()),
                (Some(begins), Some(ends)),
                "job {id}"
            );
        }
    }
}

// ==========================================================================================
// 2. Create validation
// ==========================================================================================

contract_tests! {
    async fn an_empty_job_gets_one_message_per_required_attribute() {
        let server = TestServer::start().await;
        let client = server.client();
        let expected = set(&[
            "Name can't be blank",
            "Begins at can't be blank",
            "Licensor name can't be blank",
            "Template can't be blank",
        ]);
        for body in ["<job></job>", "<job/>", "<job>\n</job>"] {
            let messages = validation_errors(&client.post_xml(JOBS, body).await);
            assert_eq!(messages.len(), 4, "{body}: {messages:?}");
            assert_eq!(set(&messages), expected, "{body}");
        }
        let messages = validation_errors(&client.post_json(JOBS, "{}").await);
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert_eq!(set(&messages), expected);

        // Blank values are as good as none.
        let messages = validation_errors(
            &client
                .post_json(
                    JOBS,
                    r#"{"name": "  ", "begins_at": "", "licensor_name": "", "template": ""}"#,
                )
                .await,
        );
        assert_eq!(set(&messages), expected, "{messages:?}");
        assert_nothing_stored(&server).await;
    }
}

contract_tests! {
    async fn an_unknown_template_cannot_be_found() {
        let server = TestServer::start().await;
        let client = server.client();
        let messages = validation_errors(
            &client
                .post_xml(JOBS, &common::job_xml("X", "2010-12-31", "Nope"))
                .await,
        );
        assert_eq!(messages, ["Template can't be found"]);
        let messages = validation_errors(
            &client
                .post_json(
                    JOBS,
                    r#"{"name": "X", "begins_at": "2010-12-31", "licensor_name": "M", "template": "Nope"}"#,
                )
                .await,
        );
        assert_eq!(messages, ["Template can't be found"]);

        // Combined with other problems, every one is reported.
        let messages = validation_errors(
            &client
                .post_xml(
                    JOBS,
                    "<job><begins-at type=\"date\">2010-12-31</begins-at>\
                     <licensor-name>M</licensor-name><template>Nope</template></job>",
                )
                .await,
        );
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert_eq!(
            set(&messages),
            set(&["Name can't be blank", "Template can't be found"])
        );
        let messages = validation_errors(
            &client
                .post_json(
                    JOBS,
                    r#"{"name": "X", "begins_at": "2010-02-30", "licensor_name": "M", "template": "Nope"}"#,
                )
                .await,
        );
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert_eq!(
            set(&messages),
            set(&["Begins at is not a valid date", "Template can't be found"])
        );
        assert_nothing_stored(&server).await;
    }
}

contract_tests! {
    async fn dates_that_are_not_calendar_dates_are_refused() {
        let server = TestServer::start().await;
        let client = server.client();
        for bad in [
            "2010-02-30",
            "2010-12",
            "31/12/2010",
            "2010-13-01",
            "tomorrow",
        ] {
            let xml = format!(
                "<job><name>X</name><begins-at type=\"date\">{bad}</begins-at>\
                 <licensor-name>M</licensor-name><template>Basic</template></job>"
            );
            let messages = validation_errors(&client.post_xml(JOBS, &xml).await);
            assert_eq!(messages, ["Begins at is not a valid date"], "XML {bad}");
            let body =
                json!({"name": "X", "begins_at": bad, "licensor_name": "M", "template": "Basic"});
            let messages = validation_errors(&client.post_json(JOBS, &body.to_string()).await);
            assert_eq!(messages, ["Begins at is not a valid date"], "JSON {bad}");
            let body = json!({"name": "X", "begins_at": "2010-12-31", "ends_at": bad,
                              "licensor_name": "M", "template": "Basic"});
            let messages = validation_errors(&client.post_json(JOBS, &body.to_string()).await);
            assert_eq!(
                messages,
                ["Ends at is not a valid date"],
                "JSON ends_at {bad}"
            );
        }
        // A number is not a date either.
        let messages = validation_errors(
            &client
                .post_json(
                    JOBS,
                    r#"{"name": "X", "begins_at": 20101231, "licensor_name": "M", "template": "Basic"}"#,
                )
                .await,
        );
        assert_eq!(messages, ["Begins at is not a valid date"]);
        assert_nothing_stored(&server).await;
    }
}

contract_tests! {
    async fn values_of_the_wrong_json_type_are_refused_naming_the_attribute() {
        let server = TestServer::start().await;
        let client = server.client();
        let valid = json!({"name": "X", "begins_at": "2010-12-31", "licensor_name": "M",
                           "template": "Basic"});
        for (attribute, human) in [
            ("name", "Name"),
            ("licensor_name", "Licensor name"),
            ("template", "Template"),
            ("tag_list", "Tag list"),
            ("title_external_id", "Title external id"),
        ] {
            for wrong in [
                json!(42),
                json!(4.5),
                json!(true),
                json!([1, 2]),
                json!(["X"]),
                json!({"first": "X"}),
            ] {
                let mut body = valid.clone();
                body[attribute] = wrong.clone();
                let messages = validation_errors(&client.post_json(JOBS, &body.to_string()).await);
                assert_eq!(messages.len(), 1, "{attribute}={wrong}: {messages:?}");
                assert!(
                    messages[0].starts_with(&format!("{human} ")),
                    "{attribute}={wrong}: {messages:?}"
                );
            }
        }
        let mut body = valid.clone();
        body["name"] = Value::Null;
        let messages = validation_errors(&client.post_json(JOBS, &body.to_string()).await);
        assert_eq!(messages, ["Name can't be blank"]);
        assert_nothing_stored(&server).await;
    }
}

contract_tests! {
    async fn a_nul_character_is_refused_naming_the_attribute() {
        let server = TestServer::start().await;
        let client = server.client();
        for (attribute, human) in [
            ("name", "Name"),
            ("licensor_name", "Licensor name"),
            ("tag_list", "Tag list"),
            ("title_external_id", "Title external id"),
        ] {
            let mut body = json!({"name": "X", "begins_at": "2010-12-31", "licensor_name": "M",
                                  "template": "Basic"});
            body[attribute] = json!("Mulholland\u{0}Drive");
            let text = body.to_string();
            assert!(text.contains("\\u0000"), "{text}");
            let messages = validation_errors(&client.post_json(JOBS, &text).await);
            assert_eq!(messages.len(), 1, "{attribute}: {messages:?}");
            assert!(
                messages[0].starts_with(&format!("{human} ")),
                "{attribute}: {messages:?}"
            );
        }
        assert_nothing_stored(&server).await;
    }
}

// ==========================================================================================
// 3. Show, update, delete
// ==========================================================================================

contract_tests! {
    async fn a_partial_put_changes_only_what_is_sent() {
        let server = TestServer::start().await;
        let client = server.client();
        let created = xml_ok(
            &client
                .post_xml(
                    JOBS,
                    "<job><name>Mulholland Drive</name>\
                     <begins-at type=\"date\">2010-12-31</begins-at>\
                     <ends-at type=\"date\">2011-01-31</ends-at>\
                     <licensor-name>Miramax</licensor-name><template>Day Before</template>\
                     <tag-list>Drama,Surreal</tag-list>\
                     <title-external-id>EXT-ID-1234</title-external-id>\
                     <link rel=\"scheduling\" href=\"https://movida.bebanjo.net/api/schedulings/123\"/>\
                     </job>",
                )
                .await,
        );
        let id: i64 = created.text_of("id").parse().unwrap();
        let mut expected = get_json_ok(&client, &job_path(id)).await;
        assert_eq!(expected["due_date"], "2010-12-30");

        // XML, one attribute.
        let reply = client
            .put_xml(&job_path(id), "<job><name>Mulholland Dr.</name></job>")
            .await;
        let updated = xml_ok(&reply);
        assert_eq!(updated.text_of("name"), "Mulholland Dr.");
        expected["name"] = json!("Mulholland Dr.");
        assert_eq!(get_json_ok(&client, &job_path(id)).await, expected);
        // The PUT answers with the full job, as GET serves it.
        assert_eq!(client.get(&job_path(id)).await.body, reply.body);

        // JSON, one attribute at a time.
        for (change, key, value) in [
            (
                json!({"licensor_name": "Universal"}),
                "licensor_name",
                json!("Universal"),
            ),
            (
                json!({"tag_list": " Noir , ,Mystery "}),
                "tag_list",
                json!("Noir,Mystery"),
            ),
            (
                json!({"title_external_id": "EXT-2"}),
                "title_external_id",
                json!("EXT-2"),
            ),
            (
                json!({"ends_at": "2011-03-31"}),
                "ends_at",
                json!("2011-03-31"),
            ),
        ] {
            let answer = put_json_ok(&client, id, change.clone()).await;
            expected[key] = value;
            assert_eq!(answer, expected, "after {change}");
            assert_eq!(get_json_ok(&client, &job_path(id)).await, expected);
        }

        // An empty update and read-only attributes change nothing.
        assert_eq!(put_json_ok(&client, id, json!({})).await, expected);
        let answer = put_json_ok(
            &client,
            id,
            json!({"id": 77, "due_date": "2000-01-01", "status": "done", "unknown": 1}),
        )
        .await;
        assert_eq!(answer, expected);
        assert_eq!(
            server
                .count("SELECT count(*) FROM jobs WHERE id = 77")
                .await,
            0
        );
    }
}

contract_tests! {
    async fn put_begins_at_moves_the_due_date_by_the_template_offset() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Ironman 2", "2010-05-15", "Ten Days Before").await;
        let before = get_json_ok(&client, &job_path(id)).await;
        assert_eq!(
            (&before["due_date"], &before["ends_at"]),
            (&json!("2010-05-05"), &json!("2010-07-05"))
        );
        let reply = client
            .put_xml(
                &job_path(id),
                "<job><begins-at type=\"date\">2011-01-01</begins-at></job>",
            )
            .await;
        let job = xml_ok(&reply);
        assert_eq!(job.text_of("begins-at"), "2011-01-01");
        assert_eq!(job.text_of("due-date"), "2010-12-22");
        // ends-at is not derived again once the job exists.
        assert_eq!(job.text_of("ends-at"), "2010-07-05");

        let id = create_job(
            &client,
            "Lord of The Rings",
            "2011-01-01",
            "Two Months Before",
        )
        .await;
        let job = put_json_ok(&client, id, json!({"begins_at": "2011-03-01"})).await;
        assert_eq!(job["begins_at"], "2011-03-01");
        assert_eq!(job["due_date"], "2010-12-29");

        // A due-date sent with the PUT is ignored: it only ever follows begins-at.
        let job = put_json_ok(
            &client,
            id,
            json!({"due_date": "2000-01-01", "begins_at": "2011-01-01"}),
        )
        .await;
        assert_eq!(job["due_date"], "2010-10-31");
        let stored =
            format!("SELECT count(*) FROM jobs WHERE id = {id} AND due_date = '2010-10-31'");
        assert_eq!(server.count(&stored).await, 1);
        assert_eq!(
            get_json_ok(&client, &job_path(id)).await["due_date"],
            "2010-10-31"
        );
    }
}

contract_tests! {
    async fn put_ends_at_nil_clears_it() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Open ended", "2010-06-01", "Basic").await;
        let reply = client
            .put_xml(&job_path(id), "<job><ends-at nil=\"true\"/></job>")
            .await;
        let job = xml_ok(&reply);
        assert!(
            reply.body.contains("<ends-at nil=\"true\"/>"),
            "{}",
            reply.body
        );
        assert_eq!(job.child("ends-at").attrs, [("nil".into(), "true".into())]);
        assert!(client
            .get(&job_path(id))
            .await
            .body
            .contains("<ends-at nil=\"true\"/>"));
        let shown = get_json_ok(&client, &job_path(id)).await;
        assert!(shown["ends_at"].is_null(), "{shown}");
        assert_eq!(shown["begins_at"], "2010-06-01");
        assert_eq!(
            server
                .count("SELECT count(*) FROM jobs WHERE ends_at IS NULL")
                .await,
            1
        );

        let job = put_json_ok(&client, id, json!({"ends_at": "2011-05-05"})).await;
        assert_eq!(job["ends_at"], "2011-05-05");
        let job = put_json_ok(&client, id, json!({"ends_at": null})).await;
        assert!(job["ends_at"].is_null(), "{job}");
        assert!(get_json_ok(&client, &job_path(id)).await["ends_at"].is_null());
    }
}

contract_tests! {
    async fn a_put_with_a_blank_or_bad_value_is_refused_and_changes_nothing() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Mulholland Drive", "2010-06-01", "Basic").await;
        let before = get_json_ok(&client, &job_path(id)).await;
        for body in [
            "<job><name></name></job>",
            "<job><name>   </name></job>",
            "<job><name nil=\"true\"/></job>",
        ] {
            let messages = validation_errors(&client.put_xml(&job_path(id), body).await);
            assert_eq!(messages, ["Name can't be blank"], "{body}");
        }
        for (body, message) in [
            (json!({"name": ""}), "Name can't be blank"),
            (json!({"name": null}), "Name can't be blank"),
            (
                json!({"licensor_name": " "}),
                "Licensor name can't be blank",
            ),
            (
                json!({"begins_at": "2010-02-30"}),
                "Begins at is not a valid date",
            ),
            (
                json!({"ends_at": "31/12/2010"}),
                "Ends at is not a valid date",
            ),
        ] {
            let reply = client.put_json(&job_path(id), &body.to_string()).await;
            assert_eq!(validation_errors(&reply), [message], "{body}");
        }
        // A good change next to a bad one is not applied either.
        let reply = client
            .put_json(
                &job_path(id),
                &json!({"name": "Changed", "begins_at": "2010-12"}).to_string(),
            )
            .await;
        assert_eq!(validation_errors(&reply), ["Begins at is not a valid date"]);
        assert_eq!(get_json_ok(&client, &job_path(id)).await, before);
    }
}

contract_tests! {
    async fn a_deleted_job_is_read_back_only_with_the_deleted_flag() {
        let server = TestServer::start().await;
        let client = server.client();
        let base = server.base.clone();
        let gone = create_job(&client, "Mulholland Drive", "2010-06-01", "Basic").await;
        let live = create_job(&client, "Lost Highway", "2010-06-01", "Basic").await;

        let reply = client.delete(&job_path(gone)).await;
        reply.assert_status(204);
        assert_eq!(reply.body, "");
        client.get(&job_path(gone)).await.assert_status(404);
        client.get_json(&job_path(gone)).await.assert_status(404);

        for flag in ["deleted", "deleted=true", "deleted=1"] {
            let reply = client.get(&format!("{}?{flag}", job_path(gone))).await;
            let job = xml_ok(&reply);
            assert_eq!(job.text_of("name"), "Mulholland Drive", "?{flag}");
            assert_eq!(
                job.links(),
                expected_links(&base, 10, gone, "?deleted"),
                "?{flag}"
            );
            let json = get_json_ok(&client, &format!("{}?{flag}", job_path(gone))).await;
            assert_eq!(
                json_links(&json),
                expected_links(&base, 10, gone, "?deleted"),
                "?{flag}"
            );
            // Its own links lead back to it.
            let own = json["self_link"].as_str().unwrap();
            assert_eq!(get_json_ok(&client, relative(&server, own)).await, json);
        }
        // Stored still, tasks and assets included.
        assert_eq!(
            server
                .count(&format!("SELECT count(*) FROM tasks WHERE job_id = {gone}"))
                .await,
            3
        );

        // A live job asked for with the flag is not found.
        client
            .get(&format!("{}?deleted", job_path(live)))
            .await
            .assert_status(404);
        // Deleting twice: the second one finds nothing.
        client.delete(&job_path(gone)).await.assert_status(404);

        // Lists: the flag shows only deleted jobs, no flag only live ones.
        assert_eq!(xml_ids(&xml_ok(&client.get(JOBS).await)), [live]);
        for flag in ["deleted", "deleted=true", "deleted=1"] {
            let path = format!("{JOBS}?{flag}");
            assert_eq!(xml_ids(&xml_ok(&client.get(&path).await)), [gone], "{flag}");
            assert_eq!(
                json_ids(&get_json_ok(&client, &path).await),
                [gone],
                "{flag}"
            );
            let list = xml_ok(&client.get(&format!("{path}&pagination=true")).await);
            assert_eq!(list.text_of("total-entries"), "1");
            assert_eq!(xml_ids(&list), [gone]);
            let listed = &list.items("job")[0];
            assert_eq!(listed.links(), expected_links(&base, 10, gone, "?deleted"));
        }
        assert_eq!(
            json_ids(&get_json_ok(&client, &format!("{JOBS}?deleted=false")).await),
            [live]
        );
    }
}

contract_tests! {
    async fn writes_with_the_deleted_flag_are_not_allowed() {
        let server = TestServer::start().await;
        let client = server.client();
        let gone = create_job(&client, "Mulholland Drive", "2010-06-01", "Basic").await;
        let live = create_job(&client, "Lost Highway", "2010-06-01", "Basic").await;
        client.delete(&job_path(gone)).await.assert_status(204);

        #[track_caller]
        fn assert_405(reply: &Reply, refused: &str) {
            assert_eq!(reply.status, 405, "{}", reply.body);
            let allow = reply.header("allow").expect("an Allow header");
            let methods: Vec<&str> = allow.split(',').map(str::trim).collect();
            assert!(methods.contains(&"GET"), "Allow: {allow}");
            assert!(!methods.contains(&refused), "Allow: {allow}");
        }
        for id in [gone, live] {
            let path = format!("{}?deleted", job_path(id));
            assert_405(
                &client
                    .put_xml(&path, "<job><name>Changed</name></job>")
                    .await,
                "PUT",
            );
            assert_405(
                &client.put_json(&path, r#"{"name": "Changed"}"#).await,
                "PUT",
            );
            assert_405(&client.delete(&path).await, "DELETE");
        }
        let reply = client
            .post_xml(
                &format!("{JOBS}?deleted"),
                &common::job_xml("Wild at Heart", "2010-06-01", "Basic"),
            )
            .await;
        assert_405(&reply, "POST");
        let reply = client
            .post_json(
                &format!("{JOBS}?deleted=true"),
                r#"{"name": "Wild at Heart", "begins_at": "2010-06-01", "licensor_name": "M", "template": "Basic"}"#,
            )
            .await;
        assert_405(&reply, "POST");

        assert_eq!(server.count("SELECT count(*) FROM jobs").await, 2);
        assert_eq!(
            server
                .count("SELECT count(*) FROM jobs WHERE name = 'Changed'")
                .await,
            0
        );
        assert_eq!(
            server
                .count("SELECT count(*) FROM jobs WHERE deleted_at IS NULL")
                .await,
            1
        );
        client.get(&job_path(live)).await.assert_status(200);
    }
}

// ==========================================================================================
// 4. Lists and pagination
// ==========================================================================================

contract_tests! {
    async fn the_unpaginated_list_returns_every_live_job_ordered_by_id() {
        let server = TestServer::start().await;
        let client = server.client();
        let ids = create_many(&client, 60).await;
        assert_eq!(ids, (1..=60).collect::<Vec<i64>>());
        // Rewritten rows move to the end of the table: the order must still be by id.
        put_json_ok(&client, 1, json!({"name": "First, renamed"})).await;
        put_json_ok(&client, 2, json!({"name": "Second, renamed"})).await;
        client.delete(&job_path(3)).await.assert_status(204);
        let expected: Vec<i64> = ids.iter().copied().filter(|id| *id != 3).collect();
        // With fresh statistics the planner reads the table in its physical order, where the
        // rewritten rows now come last: only an explicit order keeps the list by id.
        // On SQLite `jobs` is a rowid table: it is always stored, and scanned, in id order, so
        // there is no other physical order to provoke.
        if common::backend() == common::Backend::Postgres {
            sqlx::query("ANALYZE jobs")
                .execute(&server.db().await)
                .await
                .unwrap();
        }

        let list = xml_ok(&client.get(JOBS).await);
        assert_eq!(list.name, "jobs");
        assert_eq!(list.attr("type"), Some("array"));
        assert_eq!(xml_ids(&list), expected);
        assert!(list.link("prev").is_none() && list.link("next").is_none());
        assert!(
            list.children
                .iter()
                .all(|c| c.name == "job" || c.name == "total-entries"),
            "{:?}",
            list.child_names()
        );
        assert_eq!(list.items("job")[0].text_of("name"), "First, renamed");

        let json = get_json_ok(&client, JOBS).await;
        assert_eq!(json_ids(&json), expected);
        assert!(json.get("next_link").is_none() && json.get("prev_link").is_none());
        // Items are the full representation, the same as the single view.
        assert_eq!(json["entries"][0], get_json_ok(&client, &job_path(1)).await);
    }
}

contract_tests! {
    async fn pagination_defaults_to_fifty_a_page_with_exact_totals_and_links() {
        let server = TestServer::start().await;
        let client = server.client();
        create_many(&client, 60).await;
        let base = format!("{}/api/work_areas/10/jobs", server.base);

        let reply = client.get(&format!("{JOBS}?pagination=true")).await;
        let page = xml_ok(&reply);
        assert_eq!(page.name, "jobs");
        assert_eq!(page.attr("type"), Some("array"));
        assert_eq!(page.text_of("total-entries"), "60");
        assert!(page.child("total-entries").attrs.is_empty());
        assert_eq!(xml_ids(&page), (1..=50).collect::<Vec<i64>>());
        assert_eq!(page.link("prev"), None);
        let next = format!("{base}?page=2&pagination=true");
        assert_eq!(page.link("next"), Some(next.as_str()));
        assert!(
            reply
                .body
                .contains(&format!("href=\"{base}?page=2&amp;pagination=true\"")),
            "{}",
            &reply.body[..400]
        );

        let page = xml_ok(&client.get(relative(&server, &next)).await);
        assert_eq!(page.text_of("total-entries"), "60");
        assert_eq!(xml_ids(&page), (51..=60).collect::<Vec<i64>>());
        assert_eq!(
            page.link("prev"),
            Some(format!("{base}?page=1&pagination=true").as_str())
        );
        assert_eq!(page.link("next"), None);

        // A middle page has both links; the collection's children are in the contract's order.
        let page = xml_ok(
            &client
                .get(&format!("{JOBS}?pagination=true&per_page=20&page=2"))
                .await,
        );
        assert_eq!(xml_ids(&page), (21..=40).collect::<Vec<i64>>());
        let mut order = vec!["total-entries", "link", "link"];
        order.extend(["job"; 20]);
        assert_eq!(page.child_names(), order);
        let rels: Vec<String> = page.links().into_iter().map(|(rel, _)| rel).collect();
        assert_eq!(rels, ["prev", "next"]);
        assert_eq!(
            page.link("prev"),
            Some(format!("{base}?page=1&pagination=true&per_page=20").as_str())
        );
        assert_eq!(
            page.link("next"),
            Some(format!("{base}?page=3&pagination=true&per_page=20").as_str())
        );

        // JSON: the same page, keys only when present, in order.
        let json = get_json_ok(
            &client,
            &format!("{JOBS}?pagination=true&per_page=20&page=2"),
        )
        .await;
        assert_eq!(
            keys(&json),
            ["total_entries", "prev_link", "next_link", "entries"]
        );
        assert_eq!(json["total_entries"], 60);
        assert_eq!(json_ids(&json), (21..=40).collect::<Vec<i64>>());
        let json = get_json_ok(&client, &format!("{JOBS}?pagination=true")).await;
        assert_eq!(keys(&json), ["total_entries", "next_link", "entries"]);
        assert_eq!(json["next_link"], next);
        let json = get_json_ok(&client, &format!("{JOBS}?pagination=true&page=2")).await;
        assert_eq!(keys(&json), ["total_entries", "prev_link", "entries"]);

        // The last page ends exactly on the last job: no next link.
        let page = xml_ok(
            &client
                .get(&format!("{JOBS}?pagination=true&per_page=20&page=3"))
                .await,
        );
        assert_eq!(xml_ids(&page), (41..=60).collect::<Vec<i64>>());
        assert_eq!(
            page.link("prev"),
            Some(format!("{base}?page=2&pagination=true&per_page=20").as_str())
        );
        assert_eq!(page.link("next"), None);
        let json = get_json_ok(
            &client,
            &format!("{JOBS}?pagination=true&per_page=30&page=2"),
        )
        .await;
        assert_eq!(keys(&json), ["total_entries", "prev_link", "entries"]);

        // Past the end: an empty page with the right total and a way back.
        let page = xml_ok(
            &client
                .get(&format!("{JOBS}?pagination=true&per_page=20&page=4"))
                .await,
        );
        assert_eq!(page.text_of("total-entries"), "60");
        assert!(xml_ids(&page).is_empty());
        assert_eq!(
            page.link("prev"),
            Some(format!("{base}?page=3&pagination=true&per_page=20").as_str())
        );
        assert_eq!(page.link("next"), None);
        let json = get_json_ok(&client, &format!("{JOBS}?pagination=true&page=7")).await;
        assert_eq!(json["total_entries"], 60);
        assert_eq!(json["entries"], json!([]));
        assert!(json.get("prev_link").is_some() && json.get("next_link").is_none());

        // per_page up to 200 is fine.
        let page = xml_ok(
            &client
                .get(&format!("{JOBS}?pagination=true&per_page=200"))
                .await,
        );
        assert_eq!(xml_ids(&page).len(), 60);
        assert_eq!((page.link("prev"), page.link("next")), (None, None));
    }
}

contract_tests! {
    async fn page_links_repeat_every_other_parameter_with_keys_sorted() {
        let server = TestServer::start().await;
        let client = server.client();
        create_many(&client, 10).await;
        for id in 6..=10 {
            client.delete(&job_path(id)).await.assert_status(204);
        }
        let base = format!("{}/api/work_areas/10/jobs", server.base);

        let reply = client
            .get(&format!(
                "{JOBS}?per_page=2&pagination=true&filter=pending&page=2"
            ))
            .await;
        let page = xml_ok(&reply);
        assert_eq!(xml_ids(&page), [3, 4]);
        assert_eq!(
            page.link("prev"),
            Some(format!("{base}?filter=pending&page=1&pagination=true&per_page=2").as_str())
        );
        assert_eq!(
            page.link("next"),
            Some(format!("{base}?filter=pending&page=3&pagination=true&per_page=2").as_str())
        );
        assert!(reply.body.contains(&format!(
            "<link rel=\"next\" href=\"{base}?filter=pending&amp;page=3&amp;pagination=true&amp;per_page=2\"/>"
        )));

        let page = xml_ok(
            &client
                .get(&format!("{JOBS}?deleted&pagination=true&per_page=2"))
                .await,
        );
        assert_eq!(page.text_of("total-entries"), "5");
        assert_eq!(xml_ids(&page), [6, 7]);
        assert_eq!(
            page.link("next"),
            Some(format!("{base}?deleted&page=2&pagination=true&per_page=2").as_str())
        );
        let json = get_json_ok(
            &client,
            &format!("{JOBS}?pagination=true&per_page=3&filter=not_problematic&deleted=true"),
        )
        .await;
        assert_eq!(json_ids(&json), [6, 7, 8]);
        assert_eq!(
            json["next_link"],
            format!("{base}?deleted=true&filter=not_problematic&page=2&pagination=true&per_page=3")
        );
        let json = get_json_ok(
            &client,
            relative(&server, json["next_link"].as_str().unwrap()),
        )
        .await;
        assert_eq!(json_ids(&json), [9, 10]);
        assert_eq!(
            json["prev_link"],
            format!("{base}?deleted=true&filter=not_problematic&page=1&pagination=true&per_page=3")
        );
    }
}

contract_tests! {
    async fn following_next_and_prev_links_walks_every_job_once() {
        let server = TestServer::start().await;
        let client = server.client();
        let ids = create_many(&client, 23).await;

        let mut pages = Vec::new();
        let mut path = format!("{JOBS}?pagination=true&per_page=5");
        loop {
            let page = xml_ok(&client.get(&path).await);
            assert_eq!(page.text_of("total-entries"), "23");
            pages.push(xml_ids(&page));
            match page.link("next") {
                Some(next) => path = relative(&server, next).to_string(),
                None => break,
            }
            assert!(pages.len() <= 5, "too many pages: {pages:?}");
        }
        assert_eq!(pages.len(), 5);
        assert_eq!(pages.concat(), ids);

        // And back again from the last page, in JSON.
        let mut back = Vec::new();
        loop {
            let page = get_json_ok(&client, &path).await;
            back.push(json_ids(&page));
            match page.get("prev_link").and_then(Value::as_str) {
                Some(prev) => path = relative(&server, prev).to_string(),
                None => break,
            }
            assert!(back.len() <= 5, "too many pages: {back:?}");
        }
        back.reverse();
        assert_eq!(back, pages);
    }
}

contract_tests! {
    async fn bad_list_parameters_are_refused_naming_them() {
        let server = TestServer::start().await;
        let client = server.client();
        create_many(&client, 3).await;

        let path = format!("{JOBS}?pagination=true&per_page=201");
        let reply = client.get(&path).await;
        assert_eq!(parameter_error(&reply), "per_page maximum value is 200");
        assert_eq!(
            reply.body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  \
             <message>per_page maximum value is 200</message>\n</error>\n"
        );
        let reply = client.get_json(&path).await;
        assert_eq!(parameter_error(&reply), "per_page maximum value is 200");
        assert_eq!(
            reply.json(),
            json!({"error": {"message": "per_page maximum value is 200"}})
        );

        for key in ["page", "per_page"] {
            for bad in ["0", "-1", "abc", "1.5", "3abc", "", "99999999999999999999"] {
                let path = format!("{JOBS}?pagination=true&{key}={bad}");
                let message = parameter_error(&client.get(&path).await);
                assert!(names_parameter(&message, key), "{key}={bad}: {message}");
                let message = parameter_error(&client.get_json(&path).await);
                assert!(names_parameter(&message, key), "{key}={bad}: {message}");
            }
        }
        for bad in ["nope", "READY", "", "ready,pending"] {
            let path = format!("{JOBS}?pagination=true&filter={bad}");
            let message = parameter_error(&client.get(&path).await);
            assert!(names_parameter(&message, "filter"), "{bad}: {message}");
            let message = parameter_error(&client.get_json(&format!("{JOBS}?filter={bad}")).await);
            assert!(names_parameter(&message, "filter"), "{bad}: {message}");
        }
    }
}

contract_tests! {
    async fn a_huge_page_number_is_never_a_server_error() {
        let server = TestServer::start().await;
        let client = server.client();
        create_many(&client, 3).await;
        for query in [
            "pagination=true&page=9223372036854775807",
            "pagination=true&per_page=200&page=46116860184273879",
            "pagination=true&page=184467440737095516",
        ] {
            let reply = client.get(&format!("{JOBS}?{query}")).await;
            match reply.status {
                200 => {
                    let page = xml_ok(&reply);
                    assert_eq!(page.text_of("total-entries"), "3", "{query}");
                    assert!(xml_ids(&page).is_empty(), "{query}");
                    assert!(page.link("next").is_none(), "{query}: {}", reply.body);
                }
                422 => {
                    let message = parameter_error(&reply);
                    assert!(names_parameter(&message, "page"), "{query}: {message}");
                }
                other => panic!("{query}: {other} {}", reply.body),
            }
        }
    }
}

contract_tests! {
    async fn an_empty_work_area_still_renders_the_collection() {
        let server = TestServer::start().await;
        let client = server.client();
        create_many(&client, 2).await; // in work area 10, not 11

        let reply = client.get("/api/work_areas/11/jobs?pagination=true").await;
        let list = xml_ok(&reply);
        assert!(
            reply.body.contains("<jobs type=\"array\">"),
            "{}",
            reply.body
        );
        assert_eq!(list.child_names(), ["total-entries"]);
        assert_eq!(list.text_of("total-entries"), "0");
        let json = get_json_ok(&client, "/api/work_areas/11/jobs?pagination=true").await;
        assert_eq!(json, json!({"total_entries": 0, "entries": []}));

        let list = xml_ok(&client.get("/api/work_areas/11/jobs").await);
        assert_eq!(
            (list.name.as_str(), list.attr("type")),
            ("jobs", Some("array"))
        );
        assert!(list.items("job").is_empty());
        let json = get_json_ok(&client, "/api/work_areas/11/jobs").await;
        assert_eq!(json["entries"], json!([]));
        // Nothing deleted yet either.
        let json = get_json_ok(&client, &format!("{JOBS}?deleted&pagination=true")).await;
        assert_eq!(json, json!({"total_entries": 0, "entries": []}));
    }
}

// ==========================================================================================
// 5. Derived statuses and filters
// ==========================================================================================

contract_tests! {
    async fn a_job_walks_through_every_status() {
        let server = TestServer::start().await; // today is 2010-05-01
        let client = server.client();
        let id = create_job(&client, "Walker", "2010-06-01", "Basic").await;
        let path = job_path(id);

        assert_eq!(
            statuses(&client, id).await,
            triple("pending", "pending", "not_received")
        );
        set_tasks(&client, id, 1).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("pending", "in_progress", "not_received")
        );
        set_assets(&client, id, 0, 3).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("pending", "in_progress", "not_received"),
            "claimed assets are not received"
        );
        set_assets(&client, id, 1, 2).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("pending", "in_progress", "partly_received")
        );
        set_tasks(&client, id, 3).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("pending", "completed", "partly_received")
        );
        set_assets(&client, id, 3, 0).await;
        // Finished before it begins.
        assert_eq!(
            statuses(&client, id).await,
            triple("done", "completed", "received")
        );
        // Finished and inside the window (begins 2010-04-01, ends 2010-08-01).
        put_json_ok(&client, id, json!({"begins_at": "2010-04-01"})).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("live", "completed", "received")
        );
        // Finished and the window is over.
        put_json_ok(&client, id, json!({"ends_at": "2010-04-30"})).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("passed", "completed", "received")
        );
        // An open end never passes.
        client
            .put_xml(&path, "<job><ends-at nil=\"true\"/></job>")
            .await
            .assert_status(200);
        assert_eq!(
            statuses(&client, id).await,
            triple("live", "completed", "received")
        );
        // One task reopened: not finished, due 2010-04-01 is in the past.
        set_tasks(&client, id, 2).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("late", "in_progress", "received")
        );
        // Due today is not late yet.
        put_json_ok(&client, id, json!({"begins_at": "2010-05-01"})).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("pending", "in_progress", "received")
        );
        set_tasks(&client, id, 0).await;
        set_assets(&client, id, 2, 1).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("pending", "pending", "partly_received")
        );
        put_json_ok(&client, id, json!({"begins_at": "2010-04-30"})).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("late", "pending", "partly_received")
        );

        // A negative offset can make a job late from the start (due 2010-04-30).
        let id = create_job(&client, "Late", "2010-05-10", "Ten Days Before").await;
        assert_eq!(
            statuses(&client, id).await,
            triple("late", "pending", "not_received")
        );
        // A job with no tasks and no assets is finished from the start.
        let id = create_job(&client, "Nothing to do", "2010-06-01", "Empty").await;
        assert_eq!(
            statuses(&client, id).await,
            triple("done", "completed", "received")
        );
        put_json_ok(&client, id, json!({"begins_at": "2010-05-01"})).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("live", "completed", "received")
        );
        put_json_ok(
            &client,
            id,
            json!({"begins_at": "2010-03-01", "ends_at": "2010-05-01"}),
        )
        .await;
        assert_eq!(
            statuses(&client, id).await,
            triple("live", "completed", "received"),
            "the last day of the window is still live"
        );
        put_json_ok(&client, id, json!({"ends_at": "2010-04-30"})).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("passed", "completed", "received")
        );
        // Problems do not change the statuses.
        add_problem(&client, id, false).await;
        assert_eq!(
            statuses(&client, id).await,
            triple("passed", "completed", "received")
        );
    }
}

contract_tests! {
    async fn the_status_follows_the_servers_today() {
        // One job begins 2010-06-01 (due the same day), ends 2010-06-30; one of its twins is
        // finished. (today, status of the unfinished, status of the finished)
        let cases = [
            ("2010-05-31", "pending", "done"),
            ("2010-06-01", "pending", "live"),
            ("2010-06-02", "late", "live"),
            ("2010-06-30", "late", "live"),
            ("2010-07-01", "late", "passed"),
        ];
        for (today, unfinished, finished) in cases {
            let server = TestServer::start_with(|c| c.today = Some(today.parse().unwrap())).await;
            let client = server.client();
            let body = json!({"name": "Twin", "begins_at": "2010-06-01", "ends_at": "2010-06-30",
                              "licensor_name": "Miramax", "template": "Basic"});
            let open = create_json(&client, 10, body.clone()).await["id"]
                .as_i64()
                .unwrap();
            let done = create_json(&client, 10, body).await["id"].as_i64().unwrap();
            set_tasks(&client, done, 3).await;
            set_assets(&client, done, 3, 0).await;
            assert_eq!(
                statuses(&client, open).await,
                triple(unfinished, "pending", "not_received"),
                "today {today}"
            );
            assert_eq!(
                statuses(&client, done).await,
                triple(finished, "completed", "received"),
                "today {today}"
            );
        }
    }
}

/// One job of the mixed set the filters are checked against.
struct Spec {
    template: &'static str,
    tasks_done: i64,
    received: i64,
    claimed: i64,
    problems: &'static [bool], // dismissed?
    deleted: bool,
}

fn template_size(template: &str) -> (i64, i64) {
    match template {
        "Basic" => (3, 3),
        "Ten Days Before" => (2, 2),
        "Day Before" | "Two Months Before" => (1, 1),
        "Empty" => (0, 0),
        other => panic!("unknown template {other}"),
    }
}

impl Spec {
    fn matches(&self, filter: &str) -> bool {
        let (tasks, assets) = template_size(self.template);
        let completed = self.tasks_done == tasks;
        let received = self.received == assets;
        let problematic = self.problems.iter().any(|dismissed| !dismissed);
        match filter {
            "ready" => completed && received,
            "pending" => !(completed && received),
            "completed" => completed,
            "not_completed" => !completed,
            "received" => received,
            "not_received" => !received,
            "problematic" => problematic,
            "not_problematic" => !problematic,
            other => panic!("unknown filter {other}"),
        }
    }
}

const FILTERS: [&str; 8] = [
    "ready",
    "pending",
    "completed",
    "not_completed",
    "received",
    "not_received",
    "problematic",
    "not_problematic",
];

contract_tests! {
    async fn each_filter_returns_exactly_the_right_jobs() {
        let server = TestServer::start().await;
        let client = server.client();
        let spec = |template, tasks_done, received, claimed, problems, deleted| Spec {
            template,
            tasks_done,
            received,
            claimed,
            problems,
            deleted,
        };
        let specs = [
            spec("Basic", 0, 0, 0, &[], false),      // untouched
            spec("Basic", 3, 0, 0, &[], false),      // tasks done
            spec("Basic", 0, 3, 0, &[], false),      // assets in
            spec("Basic", 3, 3, 0, &[], false),      // ready
            spec("Empty", 0, 0, 0, &[], false),      // nothing to do: ready
            spec("Basic", 1, 1, 0, &[false], false), // half way, with a problem
            spec("Basic", 3, 3, 0, &[true], false),  // ready, problem dismissed
            spec("Basic", 3, 0, 3, &[], false),      // all claimed: not received
            spec("Ten Days Before", 2, 2, 0, &[true, false], false), // ready but problematic
            spec("Basic", 2, 1, 2, &[true, true], false), // claimed and dismissed
            spec("Basic", 3, 3, 0, &[], true),       // deleted, ready
            spec("Basic", 0, 0, 0, &[false], true),  // deleted, problematic
            spec("Day Before", 1, 0, 1, &[true], true), // deleted, completed, claimed
            spec("Empty", 0, 0, 0, &[false, true], true), // deleted, ready, problematic
        ];
        let mut ids = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            let id = create_job(&client, &format!("Job {i}"), "2010-06-01", s.template).await;
            set_tasks(&client, id, s.tasks_done).await;
            set_assets(&client, id, s.received, s.claimed).await;
            for dismissed in s.problems {
                add_problem(&client, id, *dismissed).await;
            }
            if s.deleted {
                client.delete(&job_path(id)).await.assert_status(204);
            }
            ids.push(id);
        }

        for deleted in [false, true] {
            let flag = if deleted { "&deleted" } else { "" };
            for filter in FILTERS {
                let expected: Vec<i64> = specs
                    .iter()
                    .zip(&ids)
                    .filter(|(s, _)| s.deleted == deleted && s.matches(filter))
                    .map(|(_, id)| *id)
                    .collect();
                let all = specs.iter().filter(|s| s.deleted == deleted).count();
                // The set is mixed enough for every filter to tell jobs apart.
                assert!(
                    !expected.is_empty() && expected.len() < all,
                    "{filter}{flag}"
                );
                let context = format!("filter={filter}{flag}");

                let path = format!("{JOBS}?filter={filter}{flag}");
                assert_eq!(
                    xml_ids(&xml_ok(&client.get(&path).await)),
                    expected,
                    "{context}"
                );
                let list = get_json_ok(&client, &path).await;
                assert_eq!(json_ids(&list), expected, "{context}");
                // Listed jobs are the full job, as the single view shows it.
                for (item, id) in list["entries"].as_array().unwrap().iter().zip(&expected) {
                    let single = if deleted {
                        format!("{}?deleted", job_path(*id))
                    } else {
                        job_path(*id)
                    };
                    assert_eq!(item, &get_json_ok(&client, &single).await, "{context}");
                }

                // Paginated, two a page, following the links.
                let mut path = format!("{JOBS}?pagination=true&per_page=2&filter={filter}{flag}");
                let mut seen = Vec::new();
                let mut pages = 0;
                for _ in 0..10 {
                    pages += 1;
                    let page = xml_ok(&client.get(&path).await);
                    assert_eq!(
                        page.text_of("total-entries"),
                        expected.len().to_string(),
                        "{context}"
                    );
                    seen.extend(xml_ids(&page));
                    match page.link("next") {
                        Some(next) => path = relative(&server, next).to_string(),
                        None => break,
                    }
                }
                assert_eq!(seen, expected, "{context} paginated");
                assert_eq!(pages, expected.len().div_ceil(2), "{context}: pages");
            }
        }
    }
}

contract_tests! {
    async fn dismissed_problems_are_not_active() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Troubled", "2010-06-01", "Basic").await;
        let listed = |filter: &'static str| {
            let client = &client;
            async move { json_ids(&get_json_ok(client, &format!("{JOBS}?filter={filter}")).await) }
        };
        assert_eq!(listed("problematic").await, Vec::<i64>::new());
        add_problem(&client, id, true).await;
        assert_eq!(listed("problematic").await, Vec::<i64>::new());
        assert_eq!(listed("not_problematic").await, [id]);
        add_problem(&client, id, false).await;
        assert_eq!(listed("problematic").await, [id]);
        assert_eq!(listed("not_problematic").await, Vec::<i64>::new());
        dismiss_problems(&client, id).await;
        assert_eq!(listed("problematic").await, Vec::<i64>::new());
        assert_eq!(listed("not_problematic").await, [id]);
    }
}

// ==========================================================================================
// 6. Accounts
// ==========================================================================================

contract_tests! {
    async fn another_account_cannot_see_or_touch_work_area_10() {
        let server = TestServer::start().await;
        let robot = server.client();
        let other = server.client_as("other_user", "other secret");
        let id = create_job(&robot, "Mulholland Drive", "2010-06-01", "Basic").await;
        let gone = create_job(&robot, "Lost Highway", "2010-06-01", "Basic").await;
        robot.delete(&job_path(gone)).await.assert_status(204);

        // What other_user gets for work area 10 is exactly what a work area that does not exist
        // gives: nothing to tell them apart.
        let for_area = |wa: i64| {
            let other = &other;
            async move {
                let jobs = format!("/api/work_areas/{wa}/jobs");
                let job = format!("{jobs}/{id}");
                vec![
                    other.get(&format!("/api/work_areas/{wa}")).await,
                    other.get(&jobs).await,
                    other.get(&format!("{jobs}?pagination=true")).await,
                    other.get(&format!("{jobs}?deleted")).await,
                    other.get(&job).await,
                    other.get_json(&job).await,
                    other.get(&format!("{jobs}/{gone}?deleted")).await,
                    other.put_xml(&job, "<job><name>Stolen</name></job>").await,
                    other.put_json(&job, r#"{"name": "Stolen"}"#).await,
                    other.delete(&job).await,
                    other
                        .post_xml(&jobs, &common::job_xml("Planted", "2010-06-01", "Basic"))
                        .await,
                ]
            }
        };
        let visible = for_area(10).await;
        let missing = for_area(999).await;
        for (i, (seen, absent)) in visible.iter().zip(&missing).enumerate() {
            assert_eq!(seen.status, 404, "request {i}: {}", seen.body);
            assert_eq!(seen.body, absent.body, "request {i}");
        }

        assert_eq!(server.count("SELECT count(*) FROM jobs").await, 2);
        assert_eq!(
            server
                .count("SELECT count(*) FROM jobs WHERE name IN ('Stolen', 'Planted')")
                .await,
            0
        );
        assert_eq!(
            server
                .count("SELECT count(*) FROM jobs WHERE deleted_at IS NULL")
                .await,
            1
        );
        robot.get(&job_path(id)).await.assert_status(200);

        // Each account uses its own templates and sees its own work areas only.
        let theirs = create_json(
            &other,
            20,
            json!({"name": "Theirs", "begins_at": "2010-06-01", "licensor_name": "M",
                   "template": "Basic"}),
        )
        .await;
        let theirs_id = theirs["id"].as_i64().unwrap();
        assert_eq!(theirs["tasks_status"], "completed"); // their Basic has no tasks
        assert_eq!(
            server
                .count(&format!(
                    "SELECT count(*) FROM assets WHERE job_id = {theirs_id}"
                ))
                .await,
            1
        );
        let reply = other
            .post_json(
                "/api/work_areas/20/jobs",
                r#"{"name": "X", "begins_at": "2010-06-01", "licensor_name": "M", "template": "Empty"}"#,
            )
            .await;
        assert_eq!(validation_errors(&reply), ["Template can't be found"]);
        robot
            .get(&format!("/api/work_areas/20/jobs/{theirs_id}"))
            .await
            .assert_status(404);
        robot
            .get("/api/work_areas/20/jobs")
            .await
            .assert_status(404);
        robot
            .post_xml(
                "/api/work_areas/20/jobs",
                &common::job_xml("Planted", "2010-06-01", "Basic"),
            )
            .await
            .assert_status(404);
        assert_eq!(
            json_ids(&get_json_ok(&other, "/api/work_areas/20/jobs").await),
            [theirs_id]
        );
    }
}

contract_tests! {
    async fn work_areas_lists_only_the_callers_areas() {
        let server = TestServer::start().await;
        let base = &server.base;
        let reply = server.client().get("/api/work_areas").await;
        let list = xml_ok(&reply);
        assert!(
            reply.body.contains("<work-areas type=\"array\">"),
            "{}",
            reply.body
        );
        assert_eq!(list.name, "work-areas");
        assert_eq!(list.child_names(), ["work-area", "work-area"]);
        for (area, (id, name)) in list
            .items("work-area")
            .iter()
            .zip([(10, "Video Services"), (11, "Trailers")])
        {
            assert_eq!(area.child_names(), ["id", "name", "link", "link"]);
            assert_eq!(area.child("id").attr("type"), Some("integer"));
            assert_eq!(area.text_of("id"), id.to_string());
            assert_eq!(area.text_of("name"), name);
            assert_eq!(
                area.links(),
                [
                    ("self".to_string(), format!("{base}/api/work_areas/{id}")),
                    (
                        "jobs".to_string(),
                        format!("{base}/api/work_areas/{id}/jobs")
                    ),
                ]
            );
        }
        let json = get_json_ok(&server.client(), "/api/work_areas").await;
        let area = |id: i64, name: &str| {
            json!({"resource_type": "work_area", "id": id, "name": name,
                   "self_link": format!("{base}/api/work_areas/{id}"),
                   "jobs_link": format!("{base}/api/work_areas/{id}/jobs")})
        };
        assert_eq!(
            json,
            json!({"entries": [area(10, "Video Services"), area(11, "Trailers")]})
        );

        let other = server.client_as("other_user", "other secret");
        let list = xml_ok(&other.get("/api/work_areas").await);
        assert_eq!(list.items("work-area").len(), 1);
        assert_eq!(list.items("work-area")[0].text_of("id"), "20");
        assert_eq!(
            get_json_ok(&other, "/api/work_areas").await,
            json!({"entries": [area(20, "Other Services")]})
        );
        // The single view agrees with the list.
        assert_eq!(
            get_json_ok(&other, "/api/work_areas/20").await,
            area(20, "Other Services")
        );
    }
}

contract_tests! {
    async fn a_job_asked_for_under_another_work_area_is_not_found() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Mulholland Drive", "2010-06-01", "Basic").await;
        let elsewhere = format!("/api/work_areas/11/jobs/{id}");
        client.get(&elsewhere).await.assert_status(404);
        client
            .put_xml(&elsewhere, "<job><name>Moved</name></job>")
            .await
            .assert_status(404);
        client.delete(&elsewhere).await.assert_status(404);
        assert_eq!(
            json_ids(&get_json_ok(&client, "/api/work_areas/11/jobs").await),
            Vec::<i64>::new()
        );
        let job = get_json_ok(&client, &job_path(id)).await;
        assert_eq!(job["name"], "Mulholland Drive");

        client.delete(&job_path(id)).await.assert_status(204);
        client
            .get(&format!("{elsewhere}?deleted"))
            .await
            .assert_status(404);
        assert_eq!(
            json_ids(&get_json_ok(&client, "/api/work_areas/11/jobs?deleted").await),
            Vec::<i64>::new()
        );
    }
}

// ==========================================================================================
// 7. Ids and paths
// ==========================================================================================

contract_tests! {
    async fn ids_that_cannot_name_a_job_are_not_found() {
        let server = TestServer::start().await;
        let client = server.client();
        create_job(&client, "Mulholland Drive", "2010-06-01", "Basic").await;
        for path in [
            "/api/work_areas/10/jobs/99999999999999999999",
            "/api/work_areas/10/jobs/9223372036854775807",
            "/api/work_areas/10/jobs/abc",
            "/api/work_areas/10/jobs/0",
            "/api/work_areas/10/jobs/-1",
            "/api/work_areas/10/jobs/1abc",
            "/api/work_areas/99999999999999999999/jobs/1",
            "/api/work_areas/abc/jobs/1",
        ] {
            let reply = client.get(path).await;
            assert_eq!(reply.status, 404, "GET {path}: {}", reply.body);
            assert_eq!(parse_xml(&reply.body).name, "error", "{path}");
            let reply = client.get_json(path).await;
            assert_eq!(reply.status, 404, "GET {path}");
            assert!(reply.json()["error"]["message"].is_string(), "{path}");
            let reply = client
                .put_xml(path, "<job><name>Changed</name></job>")
                .await;
            assert_eq!(reply.status, 404, "PUT {path}: {}", reply.body);
            let reply = client.delete(path).await;
            assert_eq!(reply.status, 404, "DELETE {path}: {}", reply.body);
        }
        // Lists of work areas that cannot exist.
        for path in [
            "/api/work_areas/0/jobs",
            "/api/work_areas/-10/jobs",
            "/api/work_areas/abc/jobs",
            "/api/work_areas/99999999999999999999/jobs",
        ] {
            let reply = client.get(path).await;
            assert_eq!(reply.status, 404, "GET {path}: {}", reply.body);
            let reply = client
                .post_xml(path, &common::job_xml("Planted", "2010-06-01", "Basic"))
                .await;
            assert_eq!(reply.status, 404, "POST {path}: {}", reply.body);
        }
        assert_eq!(server.count("SELECT count(*) FROM jobs").await, 1);
        let live = "SELECT count(*) FROM jobs \
                    WHERE name = 'Mulholland Drive' AND deleted_at IS NULL";
        assert_eq!(server.count(live).await, 1);
    }
}

contract_tests! {
    async fn a_trailing_slash_and_a_format_suffix_name_the_same_job() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Mulholland Drive", "2010-06-01", "Basic").await;
        let plain = client.get(&job_path(id)).await;
        plain.assert_status(200);
        let slashed = client.get(&format!("{}/", job_path(id))).await;
        slashed.assert_status(200);
        assert_eq!(slashed.body, plain.body);
        let list = client.get(JOBS).await;
        assert_eq!(client.get(&format!("{JOBS}/")).await.body, list.body);

        let as_json = client
            .send(
                "GET",
                &format!("{}.json", job_path(id)),
                &[("Accept", "application/xml")],
                None,
            )
            .await;
        let job = json_ok(&as_json);
        assert_eq!(job["id"], id);
        assert_eq!(job["self_link"], format!("{}{}", server.base, job_path(id)));
        assert_eq!(job, get_json_ok(&client, &job_path(id)).await);

        let as_xml = client
            .send(
                "GET",
                &format!("{}.xml", job_path(id)),
                &[("Accept", "application/json")],
                None,
            )
            .await;
        assert_eq!(xml_ok(&as_xml).text_of("id"), id.to_string());
        assert_eq!(as_xml.body, plain.body);

        let list = client
            .send(
                "GET",
                &format!("{JOBS}.json"),
                &[("Accept", "application/xml")],
                None,
            )
            .await;
        assert_eq!(json_ids(&json_ok(&list)), [id]);
    }
}

// ==========================================================================================
// 8. Concurrency
// ==========================================================================================

contract_tests! {
    async fn concurrent_puts_all_succeed_and_one_of_them_wins() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Original", "2010-06-01", "Basic").await;
        let before = get_json_ok(&client, &job_path(id)).await;

        let mut handles = Vec::new();
        for i in 0..20 {
            let base = server.base.clone();
            handles.push(tokio::spawn(async move {
                let client = Client::new(&base, "robot_user", "password");
                let name = format!("Name {i}");
                let reply = client
                    .put_json(&job_path(id), &json!({ "name": name }).to_string())
                    .await;
                (name, reply)
            }));
        }
        let mut names = Vec::new();
        for handle in handles {
            let (name, reply) = handle.await.unwrap();
            let job = json_ok(&reply);
            assert_eq!(job["name"], name.as_str());
            names.push(name);
        }
        let after = get_json_ok(&client, &job_path(id)).await;
        let final_name = after["name"].as_str().unwrap().to_string();
        assert!(names.contains(&final_name), "{final_name}");
        let mut expected = before.clone();
        expected["name"] = json!(final_name);
        assert_eq!(after, expected);
        let stored = format!("SELECT count(*) FROM jobs WHERE id = {id} AND name = '{final_name}'");
        assert_eq!(server.count(&stored).await, 1, "{stored}");
        assert_eq!(server.count("SELECT count(*) FROM jobs").await, 1);
        assert_eq!(server.count("SELECT count(*) FROM tasks").await, 3);
    }
}

contract_tests! {
    async fn a_delete_racing_puts_leaves_a_deleted_job() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Original", "2010-06-01", "Basic").await;

        let mut handles = Vec::new();
        for i in 0..12 {
            let base = server.base.clone();
            handles.push(tokio::spawn(async move {
                let client = Client::new(&base, "robot_user", "password");
                if i == 6 {
                    ("DELETE".to_string(), client.delete(&job_path(id)).await)
                } else {
                    let name = format!("Name {i}");
                    let reply = client
                        .put_json(&job_path(id), &json!({ "name": name }).to_string())
                        .await;
                    (name, reply)
                }
            }));
        }
        let mut names = vec!["Original".to_string()];
        for handle in handles {
            let (what, reply) = handle.await.unwrap();
            if what == "DELETE" {
                assert_eq!((reply.status, reply.body.as_str()), (204, ""));
            } else {
                assert!(
                    matches!(reply.status, 200 | 404),
                    "PUT: {} {}",
                    reply.status,
                    reply.body
                );
                if reply.status == 200 {
                    assert_eq!(reply.json()["name"], what.as_str());
                }
                names.push(what);
            }
        }
        client.get(&job_path(id)).await.assert_status(404);
        let deleted = get_json_ok(&client, &format!("{}?deleted", job_path(id))).await;
        assert!(
            names.iter().any(|n| deleted["name"] == n.as_str()),
            "{deleted}"
        );

        // Several DELETEs at once: exactly one deletes.
        let id = create_job(&client, "Target", "2010-06-01", "Basic").await;
        let mut handles = Vec::new();
        for _ in 0..6 {
            let base = server.base.clone();
            handles.push(tokio::spawn(async move {
                Client::new(&base, "robot_user", "password")
                    .delete(&job_path(id))
                    .await
                    .status
            }));
        }
        let mut statuses = Vec::new();
        for handle in handles {
            statuses.push(handle.await.unwrap());
        }
        statuses.sort();
        assert_eq!(statuses, [204, 404, 404, 404, 404, 404]);
    }
}
