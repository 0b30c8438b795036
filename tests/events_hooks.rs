//! The change feed and web hooks of issue 7, black box: `/api/events` (newer_than, pagination,
//! expand=subject, account isolation, no gaps under concurrent writers) and the hooks of a job
//! (CRUD, validation, the private-address guard) with their deliveries to a real receiver on
//! 127.0.0.1: signatures, formats, filters, retries with backoff, give-up, a restart with a
//! pending delivery and two server processes on one database.
#[macro_use]
mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use common::doc::*;
use common::{Client, ServerProcess, TestDatabase, TestServer};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const JOBS: &str = "/api/work_areas/10/jobs";
const EVENTS: &str = "/api/events";
/// The retry base the delivery tests run with.
const RETRY_BASE_MS: u64 = 150;
/// How long a test waits for something the server does in the background.
const PATIENCE: Duration = Duration::from_secs(10);

// ------------------------------------------------------------------------------------------
// Reading XML: a tiny tree, enough to assert on elements, attributes and their order.
// ------------------------------------------------------------------------------------------

/// The `/api/...` path of an absolute link, for the client.
#[track_caller]
fn path_of(link: &str) -> String {
    let start = link
        .find("/api/")
        .unwrap_or_else(|| panic!("not an API link: {link}"));
    link[start..].to_string()
}

/// The query parameters of a link, as a sorted map.
fn query_of(link: &str) -> BTreeMap<String, String> {
    let query = link.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `2010-12-21T19:31:16+00:00`, and not far from now.
#[track_caller]
fn assert_recent_datetime(text: &str) {
    let parsed = chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%:z")
        .unwrap_or_else(|e| panic!("not a datetime ({e}): {text:?}"));
    assert!(
        text.len() == 25 && text.ends_with("+00:00"),
        "not YYYY-MM-DDTHH:MM:SS+00:00: {text:?}"
    );
    let skew = (chrono::Utc::now() - parsed.with_timezone(&chrono::Utc))
        .num_seconds()
        .abs();
    assert!(skew < 600, "{text} is {skew} s away from now");
}

// ------------------------------------------------------------------------------------------
// Jobs, sub-resources and events through the API.
// ------------------------------------------------------------------------------------------

fn start_with_hooks() -> impl FnOnce(&mut sequence::config::Config) {
    |c| {
        c.hooks_allow_private = true;
        c.hooks_retry_base_ms = RETRY_BASE_MS;
    }
}

/// The environment that configures a `sequence` process like `start_with_hooks`.
fn hooks_env(retry_base_ms: u64) -> Vec<(&'static str, String)> {
    vec![
        ("SEQUENCE_HOOKS_ALLOW_PRIVATE", "true".to_string()),
        ("SEQUENCE_HOOKS_RETRY_BASE_MS", retry_base_ms.to_string()),
    ]
}

fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn job_path(id: i64) -> String {
    format!("{JOBS}/{id}")
}

fn hooks_path(job: i64) -> String {
    format!("{JOBS}/{job}/hooks")
}

/// Creates a job in `work_area` (JSON) and returns its id.
async fn new_job_in(client: &Client, work_area: i64, name: &str, template: &str) -> i64 {
    let body = json!({"name": name, "begins_at": "2011-01-01", "ends_at": "2011-06-30",
                      "licensor_name": "Miramax", "template": template});
    let reply = client
        .post_json(
            &format!("/api/work_areas/{work_area}/jobs"),
            &body.to_string(),
        )
        .await;
    reply.assert_status(200);
    reply.json()["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {}", reply.body))
}

async fn new_job(client: &Client, name: &str, template: &str) -> i64 {
    new_job_in(client, 10, name, template).await
}

async fn rename(client: &Client, job: i64, name: &str) {
    client
        .put_json(&job_path(job), &json!({ "name": name }).to_string())
        .await
        .assert_status(200);
}

/// The self links of a job's sub-resources of one kind, in order.
async fn sub_links(client: &Client, job: i64, kind: &str) -> Vec<String> {
    let reply = client.get_json(&format!("{JOBS}/{job}/{kind}")).await;
    entries(&json_ok(&reply))
        .iter()
        .map(|e| e["self_link"].as_str().unwrap().to_string())
        .collect()
}

/// POSTs a sub-resource in JSON; its self link.
async fn post_sub(client: &Client, job: i64, kind: &str, body: Value) -> String {
    let reply = client
        .post_json(&format!("{JOBS}/{job}/{kind}"), &body.to_string())
        .await;
    reply.assert_status(200);
    reply
        .header("location")
        .unwrap_or_else(|| panic!("no Location: {}", reply.body))
        .to_string()
}

/// Every event the client can see, in the list's order (JSON, unpaginated).
async fn all_events(client: &Client) -> Vec<Value> {
    entries(&json_ok(&client.get_json(EVENTS).await))
}

/// The events after `id` (JSON, unpaginated).
async fn events_after(client: &Client, id: i64) -> Vec<Value> {
    entries(&json_ok(
        &client.get_json(&format!("{EVENTS}?newer_than={id}")).await,
    ))
}

fn ids(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| {
            e["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("no integer id: {e}"))
        })
        .collect()
}

/// The id of the last event the client can see, 0 when there is none.
async fn last_event_id(client: &Client) -> i64 {
    ids(&all_events(client).await).last().copied().unwrap_or(0)
}

/// The set of names in an event's `changes`; empty when it has none (absent or null).
fn changes_of(event: &Value) -> BTreeSet<String> {
    match event.get("changes") {
        None | Some(Value::Null) => BTreeSet::new(),
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        Some(other) => panic!("changes is neither a string nor null: {other}"),
    }
}

/// Whether an event's subject is job `job` or one of its sub-resources.
fn about_job(event: &Value, job: i64) -> bool {
    let link = event["subject_link"].as_str().unwrap_or("");
    let marker = format!("/jobs/{job}");
    match link.find(&marker) {
        Some(at) => matches!(
            link[at + marker.len()..].chars().next(),
            None | Some('/') | Some('?')
        ),
        None => false,
    }
}

/// Checks that exactly the `expected` events — (type, changed attributes, subject link) — were
/// written after `*last`, in order, and moves `*last` past them.
async fn expect_new_events(
    client: &Client,
    last: &mut i64,
    step: &str,
    expected: &[(&str, &[&str], &str)],
) {
    let events = events_after(client, *last).await;
    let seen: Vec<(String, BTreeSet<String>, String)> = events
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap_or("?").to_string(),
                changes_of(e),
                e["subject_link"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    let wanted: Vec<(String, BTreeSet<String>, String)> = expected
        .iter()
        .map(|(t, c, s)| (t.to_string(), set(c), s.to_string()))
        .collect();
    assert_eq!(seen, wanted, "{step}: events written");
    for event in &events {
        let id = event["id"].as_i64().unwrap();
        assert!(id > *last, "{step}: id {id} after {last}");
        *last = id;
    }
}

// ------------------------------------------------------------------------------------------
// Hooks and deliveries through the API.
// ------------------------------------------------------------------------------------------

struct Hook {
    /// The hook's `/api/...` path.
    path: String,
    secret: String,
}

/// Creates a hook in JSON; checks the 200, the Location and the one-time secret.
async fn create_hook(client: &Client, job: i64, body: Value) -> Hook {
    let reply = client.post_json(&hooks_path(job), &body.to_string()).await;
    reply.assert_status(200);
    let hook = reply.json();
    let location = reply
        .header("location")
        .unwrap_or_else(|| panic!("no Location: {}", reply.body));
    assert_eq!(hook["self_link"], location, "{hook}");
    let secret = hook["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("the create response has no secret: {hook}"));
    assert!(!secret.is_empty(), "{hook}");
    Hook {
        path: path_of(location),
        secret: secret.to_string(),
    }
}

/// A hook's delivery attempts (JSON), sorted by event id and attempt.
async fn deliveries(client: &Client, hook: &Hook) -> Vec<Value> {
    let reply = client.get_json(&format!("{}/deliveries", hook.path)).await;
    let mut list = entries(&json_ok(&reply));
    list.sort_by_key(|d| (d["event_id"].as_i64(), d["attempt"].as_i64()));
    list
}

/// Polls `probe` every 50 ms until it answers, for at most `timeout`.
struct Patience {
    what: String,
    until: Instant,
}

impl Patience {
    fn new(what: impl Into<String>) -> Patience {
        Patience::for_(what, PATIENCE)
    }

    fn for_(what: impl Into<String>, timeout: Duration) -> Patience {
        Patience {
            what: what.into(),
            until: Instant::now() + timeout,
        }
    }

    /// Sleeps a little, or fails the test once the time is up, showing `state`.
    async fn wait(&self, state: &dyn std::fmt::Debug) {
        assert!(
            Instant::now() < self.until,
            "timed out waiting for {}; last seen: {state:#?}",
            self.what
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ------------------------------------------------------------------------------------------
// The receiver: a real HTTP server on 127.0.0.1 that records every request.
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
    at: Instant,
    answered: u16,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }

    /// The `X-Sequence-Event` header.
    #[track_caller]
    fn event_id(&self) -> i64 {
        let header = self
            .header("x-sequence-event")
            .unwrap_or_else(|| panic!("no X-Sequence-Event: {self:?}"));
        header
            .parse()
            .unwrap_or_else(|e| panic!("X-Sequence-Event {header:?}: {e}"))
    }

    /// The event type, read from the body in either format.
    fn event_type(&self) -> String {
        let text = self.text();
        if text.trim_start().starts_with('{') {
            serde_json::from_str::<Value>(&text).expect("JSON")["event_type"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        } else {
            parse_xml(&text).text_of("event-type").to_string()
        }
    }

    /// The signature header is the HMAC-SHA256 of the raw body under `secret`.
    #[track_caller]
    fn assert_signed(&self, secret: &str) {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(&self.body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(
            self.header("x-sequence-signature"),
            Some(expected.as_str()),
            "signature of {}",
            self.text()
        );
    }
}

#[derive(Default)]
struct ReceiverState {
    requests: Mutex<Vec<Received>>,
    /// Answers for a path, used up one per request before its usual answer.
    scripts: Mutex<HashMap<String, VecDeque<u16>>>,
    /// A path's usual answer, replacing the one its first segment gives.
    answers: Mutex<HashMap<String, u16>>,
}

/// Answers by path: `/gone/…` 404, `/fail/…` 500, `/slow/…` 200 after 50 ms, anything else
/// 200 — unless a script or an override says otherwise.
struct Receiver {
    base: String,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

async fn record(
    State(state): State<Arc<ReceiverState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let path = uri.path().to_string();
    let scripted = state
        .scripts
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    let overridden = state.answers.lock().unwrap().get(&path).copied();
    let answer = scripted
        .or(overridden)
        .unwrap_or(if path.starts_with("/gone") {
            404
        } else if path.starts_with("/fail") {
            500
        } else {
            200
        });
    state.requests.lock().unwrap().push(Received {
        method: method.to_string(),
        path: path.clone(),
        headers,
        body: body.to_vec(),
        at: Instant::now(),
        answered: answer,
    });
    if path.starts_with("/slow") {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    StatusCode::from_u16(answer).unwrap()
}

impl Receiver {
    async fn start() -> Receiver {
        let state = Arc::new(ReceiverState::default());
        let app = axum::Router::new()
            .fallback(record)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { base, state, task }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The next requests to `path` get these answers, one each, then the usual one.
    fn script(&self, path: &str, answers: &[u16]) {
        self.state
            .scripts
            .lock()
            .unwrap()
            .insert(path.to_string(), answers.iter().copied().collect());
    }

    /// From now on `path` answers `status`.
    fn answer(&self, path: &str, status: u16) {
        self.state
            .answers
            .lock()
            .unwrap()
            .insert(path.to_string(), status);
    }

    fn requests_to(&self, path: &str) -> Vec<Received> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// The requests to `path` that carried event `event`.
    fn deliveries_of(&self, path: &str, event: i64) -> Vec<Received> {
        self.requests_to(path)
            .into_iter()
            .filter(|r| r.header("x-sequence-event") == Some(event.to_string().as_str()))
            .collect()
    }

    /// Waits until `path` has received event `event`; the first such request.
    async fn first_delivery_of(&self, path: &str, event: i64) -> Received {
        let patience = Patience::new(format!("event {event} at {path}"));
        loop {
            if let Some(first) = self.deliveries_of(path, event).into_iter().next() {
                return first;
            }
            let seen: Vec<String> = self
                .requests_to(path)
                .iter()
                .map(|r| format!("{:?} -> {}", r.header("x-sequence-event"), r.answered))
                .collect();
            patience.wait(&seen).await;
        }
    }

    /// The event ids `path` received, in arrival order.
    fn event_ids(&self, path: &str) -> Vec<i64> {
        self.requests_to(path)
            .iter()
            .map(Received::event_id)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ------------------------------------------------------------------------------------------
// The entry point and the events feed.
// ------------------------------------------------------------------------------------------

contract_tests! {
    /// `GET /api` links the work areas and the events, in both formats.
    async fn the_entry_point_links_work_areas_and_events() {
        let server = TestServer::start().await;
        let client = server.client();
        let base = &server.base;

        let root = xml_ok(&client.get("/api").await);
        assert_eq!(root.name, "sequence");
        assert_eq!(root.link("work_areas"), Some(format!("{base}/api/work_areas").as_str()));
        assert_eq!(root.link("events"), Some(format!("{base}/api/events").as_str()));

        let root = json_ok(&client.get_json("/api").await);
        assert_eq!(root["resource_type"], "sequence");
        assert_eq!(root["work_areas_link"], format!("{base}/api/work_areas"));
        assert_eq!(root["events_link"], format!("{base}/api/events"));

        // The link leads somewhere.
        let events = xml_ok(&client.get(&path_of(root["events_link"].as_str().unwrap())).await);
        assert_eq!(events.name, "events");
    }
}

contract_tests! {
    /// Each create, update and delete of a job, task, asset, note, problem and hook writes
    /// exactly one event of its type, with the changed attributes (dasherized) on updates and the
    /// resource as its subject.
    async fn every_change_writes_exactly_one_event_of_its_type() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let receiver = Receiver::start().await;
        let client = server.client();
        let mut last = 0;
        assert!(all_events(&client).await.is_empty(), "a fresh database has no events");

        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let job_url = format!("{}{}", server.base, job_path(job));
        expect_new_events(&client, &mut last, "create job", &[("job_created", &[], &job_url)]).await;

        client
            .put_json(&job_path(job), r#"{"name": "Mulholland Dr.", "begins_at": "2011-02-01"}"#)
            .await
            .assert_status(200);
        expect_new_events(
            &client,
            &mut last,
            "rename and move a job",
            &[("job_updated", &["name", "begins-at", "due-date"], &job_url)],
        )
        .await;
        client
            .put_json(&job_path(job), r#"{"licensor_name": "Universal"}"#)
            .await
            .assert_status(200);
        expect_new_events(
            &client,
            &mut last,
            "change the licensor",
            &[("job_updated", &["licensor-name"], &job_url)],
        )
        .await;

        let tasks = sub_links(&client, job, "tasks").await;
        client
            .put_json(&path_of(&tasks[0]), r#"{"status": "completed"}"#)
            .await
            .assert_status(200);
        expect_new_events(&client, &mut last, "complete a task", &[("task_updated", &["status"], &tasks[0])]).await;
        client
            .put_json(&path_of(&tasks[1]), r#"{"status": "completed", "duration": "01:32:10"}"#)
            .await
            .assert_status(200);
        expect_new_events(
            &client,
            &mut last,
            "complete a task with its duration",
            &[("task_updated", &["status", "duration"], &tasks[1])],
        )
        .await;
        let task = post_sub(&client, job, "tasks", json!({"name": "Extra"})).await;
        expect_new_events(&client, &mut last, "add a task", &[("task_created", &[], &task)]).await;
        client.delete(&path_of(&task)).await.assert_status(204);
        expect_new_events(&client, &mut last, "delete a task", &[("task_deleted", &[], &task)]).await;

        let assets = sub_links(&client, job, "assets").await;
        client
            .put_json(&path_of(&assets[0]), r#"{"status": "received", "progress": 100}"#)
            .await
            .assert_status(200);
        expect_new_events(
            &client,
            &mut last,
            "receive an asset",
            &[("asset_updated", &["status", "progress"], &assets[0])],
        )
        .await;
        let asset = post_sub(&client, job, "assets", json!({"type_name": "poster"})).await;
        expect_new_events(&client, &mut last, "add an asset", &[("asset_created", &[], &asset)]).await;
        client.delete(&path_of(&asset)).await.assert_status(204);
        expect_new_events(&client, &mut last, "delete an asset", &[("asset_deleted", &[], &asset)]).await;

        let note = post_sub(&client, job, "notes", json!({"body": "Delivered early"})).await;
        expect_new_events(&client, &mut last, "add a note", &[("note_created", &[], &note)]).await;
        client
            .put_json(&path_of(&note), r#"{"body": "Delivered very early"}"#)
            .await
            .assert_status(200);
        expect_new_events(&client, &mut last, "edit a note", &[("note_updated", &["body"], &note)]).await;
        client.delete(&path_of(&note)).await.assert_status(204);
        expect_new_events(&client, &mut last, "delete a note", &[("note_deleted", &[], &note)]).await;

        let problem = post_sub(&client, job, "problems", json!({"description": "Audio out of sync"})).await;
        expect_new_events(&client, &mut last, "report a problem", &[("problem_created", &[], &problem)]).await;
        client
            .put_json(&path_of(&problem), r#"{"dismissed": true}"#)
            .await
            .assert_status(200);
        expect_new_events(
            &client,
            &mut last,
            "dismiss a problem",
            &[("problem_updated", &["dismissed"], &problem)],
        )
        .await;
        client.delete(&path_of(&problem)).await.assert_status(204);
        expect_new_events(&client, &mut last, "delete a problem", &[("problem_deleted", &[], &problem)]).await;

        let hook = create_hook(
            &client,
            job,
            json!({"url": receiver.url("/ok/feed"), "events": "job_deleted"}),
        )
        .await;
        let hook_url = format!("{}{}", server.base, hook.path);
        expect_new_events(&client, &mut last, "add a hook", &[("hook_created", &[], &hook_url)]).await;
        client
            .put_json(&hook.path, r#"{"active": false}"#)
            .await
            .assert_status(200);
        expect_new_events(&client, &mut last, "deactivate a hook", &[("hook_updated", &["active"], &hook_url)]).await;
        client
            .put_json(&hook.path, r#"{"events": "job_updated,task_updated", "format": "json"}"#)
            .await
            .assert_status(200);
        expect_new_events(
            &client,
            &mut last,
            "refilter a hook",
            &[("hook_updated", &["events", "format"], &hook_url)],
        )
        .await;
        client.delete(&hook.path).await.assert_status(204);
        expect_new_events(&client, &mut last, "delete a hook", &[("hook_deleted", &[], &hook_url)]).await;

        client.delete(&job_path(job)).await.assert_status(204);
        expect_new_events(
            &client,
            &mut last,
            "delete the job",
            &[("job_deleted", &[], &format!("{job_url}?deleted"))],
        )
        .await;

        // Ids strictly increase along the list.
        let all = ids(&all_events(&client).await);
        assert_eq!(all.len(), 21, "{all:?}");
        assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
    }
}

contract_tests! {
    /// A PUT that changes nothing, a refused write and a write to something missing leave the
    /// feed as it was.
    async fn no_change_and_failed_writes_write_no_event() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let client = server.client();
        let job = new_job(&client, "Lost Highway", "Basic").await;
        let tasks = sub_links(&client, job, "tasks").await;
        let note = post_sub(&client, job, "notes", json!({"body": "Hello"})).await;
        let before = all_events(&client).await;
        assert_eq!(before.len(), 2, "{before:?}");

        // The same values again.
        for body in [
            json!({"name": "Lost Highway"}),
            json!({"name": "Lost Highway", "begins_at": "2011-01-01", "licensor_name": "Miramax"}),
            json!({}),
        ] {
            client
                .put_json(&job_path(job), &body.to_string())
                .await
                .assert_status(200);
        }
        client
            .put_xml(&job_path(job), "<job><name>Lost Highway</name></job>")
            .await
            .assert_status(200);
        client
            .put_json(&path_of(&tasks[0]), r#"{"status": "pending"}"#)
            .await
            .assert_status(200);
        client
            .put_json(&path_of(&note), r#"{"body": "Hello"}"#)
            .await
            .assert_status(200);
        // Refused writes.
        for reply in [
            client.put_json(&job_path(job), r#"{"name": ""}"#).await,
            client.put_json(&job_path(job), r#"{"name": "X", "begins_at": "2011-02-31"}"#).await,
            client.put_json(&path_of(&tasks[1]), r#"{"status": "completed"}"#).await,
            client.post_json(&format!("{JOBS}/{job}/notes"), r#"{"body": ""}"#).await,
            client.post_json(&format!("{JOBS}/{job}/hooks"), r#"{"url": "ftp://example.com/x"}"#).await,
            client
                .post_json(JOBS, r#"{"name": "Nope", "begins_at": "2011-01-01", "licensor_name": "M", "template": "Missing"}"#)
                .await,
        ] {
            assert_eq!(reply.status, 422, "{}", reply.body);
        }
        // Writes to what does not exist.
        client.put_json(&job_path(job + 1000), r#"{"name": "Ghost"}"#).await.assert_status(404);
        client.delete(&format!("{JOBS}/{job}/notes/99999")).await.assert_status(404);

        let after = all_events(&client).await;
        assert_eq!(after, before, "only the creations are in the feed");
        // The name is what it was: the refused PUT with a good name and a bad date changed nothing.
        let current = json_ok(&client.get_json(&job_path(job)).await);
        assert_eq!(current["name"], "Lost Highway");
    }
}

contract_tests! {
    /// A job created from a template is one `job_created` event: the copied tasks and assets
    /// write none of their own.
    async fn a_job_from_a_template_is_one_job_created_event() {
        let server = TestServer::start().await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        assert_eq!(sub_links(&client, job, "tasks").await.len(), 3);
        assert_eq!(sub_links(&client, job, "assets").await.len(), 3);
        let events = all_events(&client).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["event_type"], "job_created");
        assert_eq!(events[0]["subject_link"], format!("{}{}", server.base, job_path(job)));

        // An XML creation likewise.
        let id = common::create_job(&client, "Lost Highway", "2011-01-01", "Ten Days Before").await;
        let events = events_after(&client, ids(&events)[0]).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["event_type"], "job_created");
        assert!(about_job(&events[0], id), "{}", events[0]);
    }
}

contract_tests! {
    /// One event in XML and JSON: the elements, their types, the datetime, the links; the same
    /// event alone at its self link; ids that name no event of the caller are 404.
    async fn an_event_reads_the_same_in_xml_and_json() {
        let server = TestServer::start().await;
        let client = server.client();
        let base = &server.base;
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        client
            .put_json(&job_path(job), r#"{"name": "Mulholland Dr.", "begins_at": "2011-02-01"}"#)
            .await
            .assert_status(200);
        let job_url = format!("{base}{}", job_path(job));

        let reply = client.get(EVENTS).await;
        let list = xml_ok(&reply);
        assert_eq!(list.name, "events");
        assert_eq!(list.attr("type"), Some("array"), "{}", reply.body);
        assert_eq!(list.child_names(), ["event", "event"], "{}", reply.body);
        assert!(list.find("total-entries").is_none(), "unpaginated: {}", reply.body);
        let (created, updated) = (&list.children[0], &list.children[1]);

        let created_id: i64 = created.text_of("id").parse().unwrap();
        let updated_id: i64 = updated.text_of("id").parse().unwrap();
        assert!(created_id < updated_id);
        for event in [created, updated] {
            assert_eq!(event.child("id").attr("type"), Some("integer"));
            assert_eq!(event.child("timestamp").attr("type"), Some("datetime"));
            assert_recent_datetime(event.text_of("timestamp"));
            assert_eq!(event.rels(), ["self", "subject"], "{}", reply.body);
            assert_eq!(event.link("subject"), Some(job_url.as_str()));
            let id = event.text_of("id");
            assert_eq!(event.link("self"), Some(format!("{base}/api/events/{id}").as_str()));
        }
        assert_eq!(created.text_of("event-type"), "job_created");
        assert_eq!(updated.text_of("event-type"), "job_updated");
        // `changes` only on updates (an absent or nil element elsewhere).
        if let Some(changes) = created.find("changes") {
            assert_eq!(changes.attr("nil"), Some("true"), "{}", reply.body);
        }
        let changes: BTreeSet<String> = updated.text_of("changes").split(',').map(str::to_string).collect();
        assert_eq!(changes, set(&["name", "begins-at", "due-date"]), "{}", reply.body);
        let order: Vec<&str> = updated.child_names().into_iter().filter(|n| *n != "link").collect();
        assert_eq!(order, ["id", "event-type", "changes", "timestamp"], "{}", reply.body);

        // JSON: the same events, keys in order.
        let list = json_ok(&client.get_json(EVENTS).await);
        assert_eq!(keys(&list), ["entries"], "unpaginated: {list}");
        let events = entries(&list);
        assert_eq!(ids(&events), [created_id, updated_id]);
        let updated_json = &events[1];
        assert_eq!(
            keys(updated_json),
            ["resource_type", "id", "event_type", "changes", "timestamp", "self_link", "subject_link"],
            "{updated_json}"
        );
        assert_eq!(updated_json["resource_type"], "event");
        assert_eq!(updated_json["event_type"], "job_updated");
        assert_eq!(changes_of(updated_json), set(&["name", "begins-at", "due-date"]));
        assert_eq!(updated_json["timestamp"], updated.text_of("timestamp"));
        assert_eq!(updated_json["subject_link"], job_url);
        assert_eq!(updated_json["self_link"], format!("{base}/api/events/{updated_id}"));
        let created_json = &events[0];
        let created_keys: Vec<&str> = keys(created_json).into_iter().filter(|k| *k != "changes").collect();
        assert_eq!(
            created_keys,
            ["resource_type", "id", "event_type", "timestamp", "self_link", "subject_link"],
            "{created_json}"
        );
        assert!(changes_of(created_json).is_empty(), "{created_json}");

        // One event at its self link: the same representation as in the list.
        let one = json_ok(&client.get_json(&format!("{EVENTS}/{updated_id}")).await);
        assert_eq!(&one, updated_json);
        let one = xml_ok(&client.get(&format!("{EVENTS}/{updated_id}")).await);
        assert_eq!(one.name, "event");
        assert_eq!(one.text_of("id"), updated_id.to_string());
        assert_eq!(one.text_of("changes"), updated.text_of("changes"));
        assert_eq!(one.link("self"), updated.link("self"));

        for missing in [format!("{}", updated_id + 1), "0".into(), "-1".into(), "abc".into(), "99999999999999999999".into()] {
            let reply = client.get(&format!("{EVENTS}/{missing}")).await;
            assert_eq!(reply.status, 404, "/api/events/{missing}: {}", reply.body);
        }
    }
}

contract_tests! {
    /// After a job is deleted, the subject links of its events and of its sub-resources' events
    /// carry `?deleted`, and following them works.
    async fn events_of_a_deleted_job_link_with_the_deleted_flag() {
        let server = TestServer::start().await;
        let client = server.client();
        let base = &server.base;
        let job = new_job(&client, "Lost Highway", "Basic").await;
        let tasks = sub_links(&client, job, "tasks").await;
        client
            .put_json(&path_of(&tasks[0]), r#"{"status": "completed"}"#)
            .await
            .assert_status(200);
        client.delete(&job_path(job)).await.assert_status(204);
        let job_url = format!("{base}{}", job_path(job));

        let events = all_events(&client).await;
        let summary: Vec<(String, String)> = events
            .iter()
            .map(|e| (e["event_type"].as_str().unwrap().to_string(), e["subject_link"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            summary,
            [
                ("job_created".to_string(), format!("{job_url}?deleted")),
                ("task_updated".to_string(), format!("{}?deleted", tasks[0])),
                ("job_deleted".to_string(), format!("{job_url}?deleted")),
            ]
        );
        for (_, link) in &summary {
            client.get(&path_of(link)).await.assert_status(200);
        }

        // Expanded, the deleted job is the one its `?deleted` link reads.
        let deleted = &events[2];
        let id = deleted["id"].as_i64().unwrap();
        let expanded = json_ok(&client.get_json(&format!("{EVENTS}/{id}?expand=subject")).await);
        assert_eq!(expanded["subject"]["resource_type"], "job", "{expanded}");
        assert_eq!(expanded["subject"]["id"], job);
        assert_eq!(expanded["subject"]["self_link"], format!("{job_url}?deleted"));
    }
}

contract_tests! {
    /// `expand=subject` nests the subject inside the subject link: an element of the link in
    /// XML, a `subject` key right after `subject_link` in JSON; on the list and on one event.
    async fn expand_subject_nests_the_resource_inside_its_link() {
        let server = TestServer::start().await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let tasks = sub_links(&client, job, "tasks").await;
        client
            .put_json(&path_of(&tasks[0]), r#"{"status": "completed"}"#)
            .await
            .assert_status(200);
        let note = post_sub(&client, job, "notes", json!({"body": "Soon gone"})).await;
        client.delete(&path_of(&note)).await.assert_status(204);

        // XML list.
        let reply = client.get(&format!("{EVENTS}?expand=subject")).await;
        let list = xml_ok(&reply);
        let kinds: Vec<&str> = list.children.iter().map(|e| e.text_of("event-type")).collect();
        assert_eq!(kinds, ["job_created", "task_updated", "note_created", "note_deleted"]);
        for (event, nested, href) in [
            (&list.children[0], "job", format!("{}{}", server.base, job_path(job))),
            (&list.children[1], "task", tasks[0].clone()),
        ] {
            let link = event.link_node("subject").expect("a subject link");
            assert_eq!(link.attr("href"), Some(href.as_str()));
            assert_eq!(link.child_names(), [nested], "{}", reply.body);
            assert_eq!(link.child(nested).link("self"), Some(href.as_str()), "{}", reply.body);
        }
        let job_inside = list.children[0].link_node("subject").unwrap().child("job");
        assert_eq!(job_inside.text_of("id"), job.to_string());
        assert_eq!(job_inside.text_of("name"), "Mulholland Drive");
        let task_inside = list.children[1].link_node("subject").unwrap().child("task");
        assert_eq!(task_inside.text_of("status"), "completed");

        // JSON list: `subject` right after `subject_link`.
        let events = entries(&json_ok(&client.get_json(&format!("{EVENTS}?expand=subject")).await));
        for (event, kind) in events.iter().zip(["job", "task"]) {
            let order = keys(event);
            let at = order.iter().position(|k| *k == "subject_link").expect("subject_link");
            assert_eq!(order.get(at + 1), Some(&"subject"), "{event}");
            assert_eq!(event["subject"]["resource_type"], kind, "{event}");
            assert_eq!(event["subject"]["self_link"], event["subject_link"], "{event}");
        }
        // The deleted note cannot be nested, but its events still list.
        assert_eq!(events.len(), 4);
        assert_eq!(events[2]["subject_link"], note.as_str());
        assert_eq!(events[3]["subject_link"], note.as_str());

        // One event, both formats.
        let id = events[1]["id"].as_i64().unwrap();
        let one = json_ok(&client.get_json(&format!("{EVENTS}/{id}?expand=subject")).await);
        assert_eq!(one["subject"]["status"], "completed", "{one}");
        let one = xml_ok(&client.get(&format!("{EVENTS}/{id}?expand=subject")).await);
        assert_eq!(one.link_node("subject").unwrap().child("task").text_of("status"), "completed");

        // Without expand, nothing is nested.
        let plain = entries(&json_ok(&client.get_json(EVENTS).await));
        assert!(plain.iter().all(|e| e.get("subject").is_none()), "{plain:?}");
        let plain = xml_ok(&client.get(EVENTS).await);
        assert!(plain
            .children
            .iter()
            .all(|e| e.link_node("subject").unwrap().children.is_empty()));
    }
}

contract_tests! {
    /// `newer_than=<id>` returns exactly the events after that id, in order.
    async fn newer_than_returns_only_later_events() {
        let server = TestServer::start().await;
        let client = server.client();
        for n in 0..5 {
            new_job(&client, &format!("Job {n}"), "Empty").await;
        }
        let all = ids(&all_events(&client).await);
        assert_eq!(all.len(), 5);
        for (i, id) in all.iter().enumerate() {
            assert_eq!(ids(&events_after(&client, *id).await), all[i + 1..], "newer_than={id}");
            let xml = xml_ok(&client.get(&format!("{EVENTS}?newer_than={id}")).await);
            let xml_ids: Vec<i64> = xml.items("event").iter().map(|e| e.text_of("id").parse().unwrap()).collect();
            assert_eq!(xml_ids, all[i + 1..], "XML newer_than={id}");
        }
        assert_eq!(ids(&events_after(&client, 0).await), all);
        assert_eq!(ids(&events_after(&client, all[0] - 1).await), all);
        assert!(events_after(&client, all[4] + 100).await.is_empty());
        // A new event shows up after the last one seen.
        let last = all[4];
        new_job(&client, "Later", "Empty").await;
        let later = events_after(&client, last).await;
        assert_eq!(later.len(), 1);
        assert!(later[0]["id"].as_i64().unwrap() > last);

        // What cannot be an id is refused, naming the parameter.
        for bad in ["abc", "1.5", "", "3abc"] {
            let reply = client.get(&format!("{EVENTS}?newer_than={bad}")).await;
            let message = parameter_error(&reply);
            assert!(names_parameter(&message, "newer_than"), "newer_than={bad}: {message}");
        }
    }
}

contract_tests! {
    /// `pagination=true&per_page=N&page=M` pages the feed like the jobs list: totals, prev and
    /// next links that keep the other parameters, and the same limits.
    async fn events_paginate_like_the_jobs_list() {
        let server = TestServer::start().await;
        let client = server.client();
        for n in 0..7 {
            new_job(&client, &format!("Job {n}"), "Empty").await;
        }
        let all = ids(&all_events(&client).await);
        assert_eq!(all.len(), 7);
        let base = format!("{}{EVENTS}", server.base);

        let reply = client.get(&format!("{EVENTS}?pagination=true&per_page=3")).await;
        let page = xml_ok(&reply);
        assert_eq!(page.name, "events");
        assert_eq!(page.text_of("total-entries"), "7", "{}", reply.body);
        assert!(page.link("prev").is_none());
        let next = page.link("next").expect("a next link").to_string();
        assert!(next.starts_with(&format!("{base}?")), "{next}");
        assert_eq!(
            query_of(&next),
            BTreeMap::from([("page".into(), "2".into()), ("pagination".into(), "true".into()), ("per_page".into(), "3".into())])
        );
        let page_ids: Vec<i64> = page.items("event").iter().map(|e| e.text_of("id").parse().unwrap()).collect();
        assert_eq!(page_ids, all[..3]);

        let page2 = json_ok(&client.get_json(&path_of(&next)).await);
        assert_eq!(keys(&page2), ["total_entries", "prev_link", "next_link", "entries"]);
        assert_eq!(page2["total_entries"], 7);
        assert_eq!(ids(&entries(&page2)), all[3..6]);
        assert_eq!(query_of(page2["prev_link"].as_str().unwrap())["page"], "1");
        let page3 = json_ok(&client.get_json(&path_of(page2["next_link"].as_str().unwrap())).await);
        assert_eq!(keys(&page3), ["total_entries", "prev_link", "entries"]);
        assert_eq!(ids(&entries(&page3)), all[6..]);

        // newer_than and expand survive in the links; the total counts what newer_than leaves.
        let query = format!("pagination=true&per_page=2&newer_than={}&expand=subject", all[1]);
        let first = json_ok(&client.get_json(&format!("{EVENTS}?{query}")).await);
        assert_eq!(first["total_entries"], 5, "{first}");
        assert_eq!(ids(&entries(&first)), all[2..4]);
        assert!(entries(&first)[0].get("subject").is_some(), "expanded: {first}");
        let next = first["next_link"].as_str().expect("next_link").to_string();
        assert_eq!(
            query_of(&next),
            BTreeMap::from([
                ("expand".into(), "subject".into()),
                ("newer_than".into(), all[1].to_string()),
                ("page".into(), "2".into()),
                ("pagination".into(), "true".into()),
                ("per_page".into(), "2".into()),
            ])
        );
        // Following next links walks every later event once.
        let mut walked = ids(&entries(&first));
        let mut link = Some(next);
        while let Some(href) = link {
            let page = json_ok(&client.get_json(&path_of(&href)).await);
            walked.extend(ids(&entries(&page)));
            link = page.get("next_link").and_then(Value::as_str).map(str::to_string);
        }
        assert_eq!(walked, all[2..]);

        // Limits.
        let big = xml_ok(&client.get(&format!("{EVENTS}?pagination=true&per_page=200")).await);
        assert_eq!(big.items("event").len(), 7);
        assert!(big.link("next").is_none() && big.link("prev").is_none());
        let reply = client.get(&format!("{EVENTS}?pagination=true&per_page=201")).await;
        assert_eq!(parameter_error(&reply), "per_page maximum value is 200");
        for (key, bad) in [("per_page", "0"), ("per_page", "abc"), ("page", "0"), ("page", "-1")] {
            let reply = client.get_json(&format!("{EVENTS}?pagination=true&{key}={bad}")).await;
            let message = parameter_error(&reply);
            assert!(names_parameter(&message, key), "{key}={bad}: {message}");
        }
        // Past the end: an empty page with the total.
        let beyond = json_ok(&client.get_json(&format!("{EVENTS}?pagination=true&per_page=3&page=9")).await);
        assert_eq!(beyond["total_entries"], 7);
        assert!(entries(&beyond).is_empty());
    }
}

contract_tests! {
    /// Another account sees none of Demo's events or hooks and cannot touch the hooks; its own
    /// events are its own.
    async fn another_account_sees_neither_events_nor_hooks() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let receiver = Receiver::start().await;
        let robot = server.client();
        let other = server.client_as("other_user", "other secret");
        let job = new_job(&robot, "Mulholland Drive", "Basic").await;
        let hook = create_hook(&robot, job, json!({"url": receiver.url("/ok/mine")})).await;
        let theirs = new_job_in(&other, 20, "Theirs", "Basic").await;

        let ours = all_events(&robot).await;
        let their_events = all_events(&other).await;
        assert_eq!(ours.len(), 2, "{ours:?}"); // job_created, hook_created
        assert_eq!(their_events.len(), 1, "{their_events:?}");
        assert_eq!(their_events[0]["event_type"], "job_created");
        assert!(about_job(&their_events[0], theirs));
        let their_id = their_events[0]["id"].as_i64().unwrap();
        assert!(!ids(&ours).contains(&their_id));
        // Also through newer_than, pagination and expand.
        assert_eq!(ids(&events_after(&other, 0).await), [their_id]);
        let page = json_ok(&other.get_json(&format!("{EVENTS}?pagination=true&expand=subject")).await);
        assert_eq!(page["total_entries"], 1);
        assert_eq!(ids(&entries(&page)), [their_id]);

        for id in ids(&ours) {
            let reply = other.get(&format!("{EVENTS}/{id}")).await;
            assert_eq!(reply.status, 404, "other_user reads Demo's event {id}: {}", reply.body);
            other.get_json(&format!("{EVENTS}/{id}?expand=subject")).await.assert_status(404);
        }
        robot.get(&format!("{EVENTS}/{their_id}")).await.assert_status(404);

        // The hooks of a Demo job: 404 for everything, like a work area that does not exist.
        let hooks = hooks_path(job);
        let requests = [
            other.get(&hooks).await,
            other.get(&hook.path).await,
            other.get_json(&hook.path).await,
            other.get(&format!("{}/deliveries", hook.path)).await,
            other.put_json(&hook.path, r#"{"url": "http://127.0.0.1:1/stolen", "active": false}"#).await,
            other.post_json(&hooks, r#"{"url": "http://127.0.0.1:1/planted"}"#).await,
            other.delete(&hook.path).await,
        ];
        for (i, reply) in requests.iter().enumerate() {
            assert_eq!(reply.status, 404, "request {i}: {}", reply.body);
        }
        let shown = json_ok(&robot.get_json(&hook.path).await);
        assert_eq!(shown["url"], receiver.url("/ok/mine"));
        assert_eq!(shown["active"], true);
        assert_eq!(entries(&json_ok(&robot.get_json(&hooks).await)).len(), 1);
        // Nothing they tried wrote an event.
        assert_eq!(all_events(&robot).await, ours);
        // The feed is the account's: Demo's other work area is in it, and still not theirs.
        let trailer = new_job_in(&robot, 11, "Trailer", "Empty").await;
        let latest = all_events(&robot).await.pop().unwrap();
        assert!(about_job(&latest, trailer), "{latest}");
        assert_eq!(latest["subject_link"], format!("{}/api/work_areas/11/jobs/{trailer}", server.base));
        assert_eq!(ids(&all_events(&other).await), [their_id]);
    }
}

contract_tests! {
    /// Several writers change things concurrently while a poller follows the feed with
    /// `newer_than=<last id seen>`: it collects every event exactly once, and every
    /// acknowledged change has its event.
    async fn a_poller_with_newer_than_misses_nothing_under_concurrent_writers() {
        let server = TestServer::start().await;
        let done = Arc::new(AtomicBool::new(false));

        let poller = {
            let client = server.client();
            let done = done.clone();
            tokio::spawn(async move {
                let mut collected: Vec<i64> = Vec::new();
                let mut last = 0;
                let mut polls = 0;
                loop {
                    // Read the flag first: a poll started after the writers finished sees all.
                    let finished = done.load(Ordering::SeqCst);
                    let reply = client.get_json(&format!("{EVENTS}?newer_than={last}")).await;
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    polls += 1;
                    for id in ids(&entries(&reply.json())) {
                        assert!(id > last, "poll {polls}: id {id} after {last}");
                        collected.push(id);
                        last = id;
                    }
                    if finished {
                        return (collected, polls);
                    }
                }
            })
        };

        let writers: Vec<_> = (0..6)
            .map(|n| {
                let client = server.client();
                tokio::spawn(async move {
                    let (mut jobs, mut updates, mut notes) = (0, 0, 0);
                    for round in 0..12 {
                        let body = json!({"name": format!("W{n}-{round}"), "begins_at": "2011-01-01",
                                          "licensor_name": "L", "template": "Basic"});
                        let created = client.post_json(JOBS, &body.to_string()).await;
                        assert_eq!(created.status, 200, "{}", created.body);
                        jobs += 1;
                        let id = created.json()["id"].as_i64().unwrap();
                        let renamed = client
                            .put_json(&job_path(id), &json!({"name": format!("W{n}-{round}b")}).to_string())
                            .await;
                        assert_eq!(renamed.status, 200, "{}", renamed.body);
                        updates += 1;
                        let note = client
                            .post_json(&format!("{JOBS}/{id}/notes"), r#"{"body": "Concurrent"}"#)
                            .await;
                        assert_eq!(note.status, 200, "{}", note.body);
                        notes += 1;
                    }
                    (jobs, updates, notes)
                })
            })
            .collect();
        let (mut jobs, mut updates, mut notes) = (0, 0, 0);
        for writer in writers {
            let (j, u, n) = writer.await.expect("writer");
            jobs += j;
            updates += u;
            notes += n;
        }
        done.store(true, Ordering::SeqCst);
        let (collected, polls) = poller.await.expect("poller");

        let all = all_events(&server.client()).await;
        let all_ids = ids(&all);
        assert!(all_ids.windows(2).all(|w| w[0] < w[1]), "the list is ordered by id");
        let unique: BTreeSet<i64> = collected.iter().copied().collect();
        assert_eq!(unique.len(), collected.len(), "the poller saw an event twice");
        let missed: Vec<i64> = all_ids.iter().filter(|id| !unique.contains(id)).copied().collect();
        assert!(missed.is_empty(), "the poller ({polls} polls) missed events {missed:?}");
        assert_eq!(collected, all_ids);
        assert!(polls > 3, "the poller polled only {polls} times: the test proved nothing");

        // Every acknowledged change has exactly its event.
        let count = |kind: &str| all.iter().filter(|e| e["event_type"] == kind).count();
        assert_eq!(count("job_created"), jobs);
        assert_eq!(count("job_updated"), updates);
        assert_eq!(count("note_created"), notes);
        assert_eq!(all.len(), jobs + updates + notes);
        assert_eq!(server.count("SELECT count(*) FROM jobs").await, jobs as i64);
        assert_eq!(server.count("SELECT count(*) FROM notes").await, notes as i64);
    }
}

// ------------------------------------------------------------------------------------------
// Hooks: the resource.
// ------------------------------------------------------------------------------------------

contract_tests! {
    /// A hook is created (XML and JSON: 200, Location, the secret once), listed, shown, updated
    /// partially and deleted (204, then 404), with its defaults and links.
    async fn hooks_are_created_read_updated_and_deleted() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let receiver = Receiver::start().await;
        let client = server.client();
        let base = &server.base;
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let job_url = format!("{base}{}", job_path(job));
        let list_path = hooks_path(job);

        // An empty list first.
        let reply = client.get(&list_path).await;
        let empty = xml_ok(&reply);
        assert_eq!(empty.name, "hooks");
        assert_eq!(empty.attr("type"), Some("array"), "{}", reply.body);
        assert!(empty.items("hook").is_empty());
        assert!(entries(&json_ok(&client.get_json(&list_path).await)).is_empty());

        // XML, with only the URL: the defaults.
        let url_a = receiver.url("/ok/a");
        let reply = client
            .post_xml(&list_path, &format!("<hook><url>{url_a}</url></hook>"))
            .await;
        let created = xml_ok(&reply);
        assert_eq!(created.name, "hook");
        let location = reply.header("location").expect("Location").to_string();
        assert!(location.starts_with(&format!("{job_url}/hooks/")), "{location}");
        assert_eq!(created.link("self"), Some(location.as_str()));
        assert_eq!(created.link("job"), Some(job_url.as_str()));
        assert_eq!(created.link("deliveries"), Some(format!("{location}/deliveries").as_str()));
        assert_eq!(created.text_of("url"), url_a);
        assert_eq!(created.text_of("events"), "", "{}", reply.body);
        assert_eq!(created.text_of("format"), "xml");
        assert_eq!(created.child("active").attr("type"), Some("boolean"));
        assert_eq!(created.text_of("active"), "true");
        let secret_a = created.text_of("secret").to_string();
        assert!(!secret_a.is_empty(), "{}", reply.body);

        // JSON, with everything.
        let url_b = receiver.url("/ok/b");
        let reply = client
            .post_json(
                &list_path,
                &json!({"url": url_b, "events": "job_updated,task_updated", "format": "json", "active": false})
                    .to_string(),
            )
            .await;
        let hook_b = json_ok(&reply);
        assert_eq!(hook_b["resource_type"], "hook");
        assert_eq!(hook_b["url"], url_b);
        assert_eq!(hook_b["events"], "job_updated,task_updated");
        assert_eq!(hook_b["format"], "json");
        assert_eq!(hook_b["active"], false);
        assert_eq!(hook_b["job_link"], job_url);
        let location_b = reply.header("location").expect("Location").to_string();
        assert_eq!(hook_b["self_link"], location_b);
        assert_eq!(hook_b["deliveries_link"], format!("{location_b}/deliveries"));
        let secret_b = hook_b["secret"].as_str().expect("secret").to_string();
        assert_ne!(secret_a, secret_b, "each hook has its own secret");
        assert_ne!(location, location_b);

        // Shown and listed: the same, without the secret.
        let shown = json_ok(&client.get_json(&path_of(&location_b)).await);
        assert!(shown.get("secret").is_none(), "the secret is shown only once: {shown}");
        let mut without_secret = hook_b.clone();
        without_secret.as_object_mut().unwrap().remove("secret");
        assert_eq!(shown, without_secret);
        let reply = client.get(&path_of(&location)).await;
        let shown_xml = xml_ok(&reply);
        assert!(shown_xml.find("secret").is_none(), "{}", reply.body);
        assert_eq!(shown_xml.text_of("url"), url_a);
        let listed = entries(&json_ok(&client.get_json(&list_path).await));
        let links: Vec<&str> = listed.iter().map(|h| h["self_link"].as_str().unwrap()).collect();
        assert_eq!(links, [location.as_str(), location_b.as_str()]);
        assert!(listed.iter().all(|h| h.get("secret").is_none()), "{listed:?}");
        let reply = client.get(&list_path).await;
        assert!(!reply.body.contains(&secret_a) && !reply.body.contains(&secret_b), "{}", reply.body);

        // A partial update changes only what it is sent, and never shows the secret.
        let reply = client
            .put_json(&path_of(&location_b), r#"{"active": true, "events": ""}"#)
            .await;
        let updated = json_ok(&reply);
        assert_eq!(updated["active"], true);
        assert!(updated["events"] == "" || updated["events"].is_null(), "{updated}");
        assert_eq!(updated["url"], url_b);
        assert_eq!(updated["format"], "json");
        assert!(updated.get("secret").is_none(), "{updated}");
        let reply = client
            .put_xml(&path_of(&location), "<hook><format>json</format><events>note_created</events></hook>")
            .await;
        let updated = xml_ok(&reply);
        assert_eq!(updated.text_of("format"), "json");
        assert_eq!(updated.text_of("events"), "note_created");
        assert_eq!(updated.text_of("url"), url_a);
        assert!(updated.find("secret").is_none(), "{}", reply.body);
        let shown = json_ok(&client.get_json(&path_of(&location)).await);
        assert_eq!((shown["format"].as_str(), shown["events"].as_str()), (Some("json"), Some("note_created")));

        // Deleted: 204, then gone.
        let reply = client.delete(&path_of(&location)).await;
        reply.assert_status(204);
        assert!(reply.body.is_empty());
        client.get(&path_of(&location)).await.assert_status(404);
        client.put_json(&path_of(&location), r#"{"active": false}"#).await.assert_status(404);
        client.delete(&path_of(&location)).await.assert_status(404);
        let listed = entries(&json_ok(&client.get_json(&list_path).await));
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["self_link"], location_b);

        // Hooks of a job that does not exist, or under the wrong work area.
        client.get(&hooks_path(job + 1000)).await.assert_status(404);
        client
            .get(&format!("/api/work_areas/11/jobs/{job}/hooks"))
            .await
            .assert_status(404);
    }
}

contract_tests! {
    /// Missing, relative and non-http URLs, unknown event types, a bad format or `active` are
    /// refused with 422 in the usual shape, on create and update, and nothing is stored.
    async fn invalid_hooks_are_refused_with_422() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let list_path = hooks_path(job);
        let good = "http://127.0.0.1:9/ok";

        let bad_bodies = [
            json!({}),
            json!({"events": "job_updated"}),
            json!({"url": ""}),
            json!({"url": null}),
            json!({"url": "/relative/path"}),
            json!({"url": "127.0.0.1:9/ok"}),
            json!({"url": "ftp://127.0.0.1/ok"}),
            json!({"url": "file:///etc/passwd"}),
            json!({"url": "http://"}),
            json!({"url": "not a url"}),
            json!({"url": good, "events": "job_exploded"}),
            json!({"url": good, "events": "job_updated,nope"}),
            json!({"url": good, "events": "JOB_UPDATED"}),
            json!({"url": good, "format": "yaml"}),
            json!({"url": good, "format": ""}),
            json!({"url": good, "active": "maybe"}),
            json!({"url": 42}),
        ];
        for body in &bad_bodies {
            let reply = client.post_json(&list_path, &body.to_string()).await;
            let errors = validation_errors(&reply);
            assert!(!errors.is_empty(), "{body}: {}", reply.body);
        }
        // The messages name what is wrong.
        let reply = client.post_json(&list_path, "{}").await;
        assert!(validation_errors(&reply).iter().any(|m| m.starts_with("Url")), "{}", reply.body);
        let reply = client
            .post_json(&list_path, &json!({"url": good, "events": "job_exploded"}).to_string())
            .await;
        assert!(validation_errors(&reply).iter().any(|m| m.starts_with("Events")), "{}", reply.body);
        let reply = client
            .post_json(&list_path, &json!({"url": good, "format": "yaml"}).to_string())
            .await;
        assert!(validation_errors(&reply).iter().any(|m| m.starts_with("Format")), "{}", reply.body);
        // XML too.
        for body in [
            "<hook></hook>".to_string(),
            "<hook><url>ftp://127.0.0.1/x</url></hook>".to_string(),
            format!("<hook><url>{good}</url><format>yaml</format></hook>"),
            format!("<hook><url>{good}</url><events>job_updated,bogus</events></hook>"),
        ] {
            let reply = client.post_xml(&list_path, &body).await;
            assert!(!validation_errors(&reply).is_empty(), "{body}");
        }
        assert!(entries(&json_ok(&client.get_json(&list_path).await)).is_empty(), "nothing stored");

        // Every event type is accepted, alone or together.
        let mut all_types = Vec::new();
        for subject in ["job", "task", "asset", "note", "problem", "hook"] {
            for action in ["created", "updated", "deleted"] {
                all_types.push(format!("{subject}_{action}"));
            }
        }
        let hook = create_hook(&client, job, json!({"url": good, "events": all_types.join(",")})).await;
        for event_type in &all_types {
            client
                .put_json(&hook.path, &json!({"events": event_type}).to_string())
                .await
                .assert_status(200);
        }
        client
            .put_json(&hook.path, &json!({"format": "xml"}).to_string())
            .await
            .assert_status(200);

        // An update is validated the same way and changes nothing when refused.
        for body in [
            json!({"url": "ftp://127.0.0.1/x"}),
            json!({"url": ""}),
            json!({"url": "/relative"}),
            json!({"events": "everything"}),
            json!({"format": "csv"}),
            json!({"active": null}),
        ] {
            let reply = client.put_json(&hook.path, &body.to_string()).await;
            assert!(!validation_errors(&reply).is_empty(), "{body}");
        }
        let shown = json_ok(&client.get_json(&hook.path).await);
        assert_eq!(shown["url"], good);
        assert_eq!(shown["format"], "xml");
        assert_eq!(shown["active"], true);
        assert_eq!(entries(&json_ok(&client.get_json(&list_path).await)).len(), 1);
    }
}

contract_tests! {
    /// By default a hook URL naming a loopback, private or link-local address is refused;
    /// `hooks_allow_private` lets such URLs through.
    async fn private_addresses_are_refused_unless_allowed() {
        let server = TestServer::start().await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let list_path = hooks_path(job);
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://127.1.2.3/hook",
            "http://localhost:8080/hook",
            "https://localhost/hook",
            "http://10.1.2.3/hook",
            "http://172.16.0.1/hook",
            "http://172.31.255.254/hook",
            "http://192.168.1.10/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/hook",
            "http://[fe80::1]/hook",
            "http://[fd00::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
        ] {
            let reply = client.post_json(&list_path, &json!({ "url": url }).to_string()).await;
            assert_eq!(reply.status, 422, "POST hook url {url}: {}", reply.body);
            assert!(!validation_errors(&reply).is_empty());
        }
        assert!(entries(&json_ok(&client.get_json(&list_path).await)).is_empty());

        // Public addresses are fine, and an update to a private one is refused too.
        let hook = create_hook(&client, job, json!({"url": "http://93.184.216.34/hook", "active": false})).await;
        create_hook(&client, job, json!({"url": "https://[2606:4700:4700::1111]/hook", "active": false})).await;
        let reply = client
            .put_json(&hook.path, r#"{"url": "http://127.0.0.1:8080/hook"}"#)
            .await;
        assert_eq!(reply.status, 422, "PUT hook url 127.0.0.1: {}", reply.body);
        assert_eq!(json_ok(&client.get_json(&hook.path).await)["url"], "http://93.184.216.34/hook");
        drop(server);

        // With the setting, the same URLs are accepted.
        let server = TestServer::start_with(|c| c.hooks_allow_private = true).await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        for url in ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://10.1.2.3/hook", "http://[::1]:9/hook"] {
            let reply = client
                .post_json(&hooks_path(job), &json!({"url": url, "active": false}).to_string())
                .await;
            assert_eq!(reply.status, 200, "POST hook url {url} with hooks_allow_private: {}", reply.body);
        }
    }
}

// ------------------------------------------------------------------------------------------
// Deliveries.
// ------------------------------------------------------------------------------------------

contract_tests! {
    /// An XML hook receives the event POSTed as XML, its subject expanded, with the event id and
    /// a valid HMAC-SHA256 signature of the raw body; the attempt is listed as delivered.
    async fn an_xml_delivery_is_signed_and_carries_the_expanded_subject() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let receiver = Receiver::start().await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let hook = create_hook(&client, job, json!({"url": receiver.url("/ok/xml")})).await;
        let last = last_event_id(&client).await;
        rename(&client, job, "Mulholland Dr.").await;
        let events = events_after(&client, last).await;
        assert_eq!(events.len(), 1);
        let event_id = events[0]["id"].as_i64().unwrap();

        let got = receiver.first_delivery_of("/ok/xml", event_id).await;
        assert_eq!(got.method, "POST");
        let content_type = got.header("content-type").unwrap_or("");
        assert!(content_type.starts_with("application/xml"), "Content-Type {content_type:?}");
        got.assert_signed(&hook.secret);
        let body = got.text();
        let event = parse_xml(&body);
        assert_eq!(event.name, "event", "{body}");
        assert_eq!(event.text_of("id"), event_id.to_string());
        assert_eq!(event.text_of("event-type"), "job_updated");
        assert_eq!(event.text_of("changes"), "name");
        assert_recent_datetime(event.text_of("timestamp"));
        let job_url = format!("{}{}", server.base, job_path(job));
        assert_eq!(event.link("self"), Some(format!("{}/api/events/{event_id}", server.base).as_str()));
        let subject = event.link_node("subject").expect("a subject link");
        assert_eq!(subject.attr("href"), Some(job_url.as_str()));
        let nested = subject.child("job");
        assert_eq!(nested.text_of("id"), job.to_string(), "{body}");
        assert_eq!(nested.text_of("name"), "Mulholland Dr.", "{body}");
        // A signature under another key does not match.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"not the secret").unwrap();
        mac.update(&got.body);
        let forged = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_ne!(got.header("x-sequence-signature"), Some(forged.as_str()));

        // The attempt, as listed.
        let patience = Patience::new("the attempt to be listed");
        let attempts = loop {
            let list = deliveries(&client, &hook).await;
            if list.iter().any(|d| d["event_id"] == event_id) {
                break list;
            }
            patience.wait(&list).await;
        };
        let ours: Vec<&Value> = attempts.iter().filter(|d| d["event_id"] == event_id).collect();
        assert_eq!(ours.len(), 1, "{attempts:?}");
        let attempt = ours[0];
        assert_eq!(
            keys(attempt),
            ["resource_type", "event_id", "attempt", "attempted_at", "response_status", "error",
             "latency_ms", "next_retry_at", "event_link"],
            "{attempt}"
        );
        assert_eq!(attempt["resource_type"], "delivery");
        assert_eq!(attempt["attempt"], 1);
        assert_eq!(attempt["response_status"], 200);
        assert!(attempt["error"].is_null(), "{attempt}");
        assert!(attempt["latency_ms"].as_i64().is_some_and(|ms| ms >= 0), "{attempt}");
        assert!(attempt["next_retry_at"].is_null(), "{attempt}");
        assert_recent_datetime(attempt["attempted_at"].as_str().expect("attempted_at"));
        assert_eq!(attempt["event_link"], format!("{}/api/events/{event_id}", server.base));
        // Delivered once: no second request for the same event.
        tokio::time::sleep(Duration::from_millis(4 * RETRY_BASE_MS)).await;
        assert_eq!(receiver.deliveries_of("/ok/xml", event_id).len(), 1);
    }
}

contract_tests! {
    /// A JSON hook receives the event as JSON with `subject` right after `subject_link`, signed.
    async fn a_json_delivery_is_signed_and_carries_the_expanded_subject() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let receiver = Receiver::start().await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let hook = create_hook(
            &client,
            job,
            json!({"url": receiver.url("/ok/json"), "format": "json", "events": "task_updated"}),
        )
        .await;
        let tasks = sub_links(&client, job, "tasks").await;
        client
            .put_json(&path_of(&tasks[0]), r#"{"status": "completed"}"#)
            .await
            .assert_status(200);
        let event = all_events(&client).await.pop().unwrap();
        assert_eq!(event["event_type"], "task_updated");
        let event_id = event["id"].as_i64().unwrap();

        let got = receiver.first_delivery_of("/ok/json", event_id).await;
        assert_eq!(got.method, "POST");
        let content_type = got.header("content-type").unwrap_or("");
        assert!(content_type.starts_with("application/json"), "Content-Type {content_type:?}");
        got.assert_signed(&hook.secret);
        let body: Value = serde_json::from_slice(&got.body).expect("a JSON body");
        assert_eq!(body["resource_type"], "event", "{body}");
        assert_eq!(body["id"], event_id);
        assert_eq!(body["event_type"], "task_updated");
        assert_eq!(body["changes"], "status");
        assert_eq!(body["subject_link"], tasks[0].as_str());
        assert_eq!(body["self_link"], format!("{}/api/events/{event_id}", server.base));
        let order = keys(&body);
        let at = order.iter().position(|k| *k == "subject_link").unwrap();
        assert_eq!(order.get(at + 1), Some(&"subject"), "{body}");
        assert_eq!(body["subject"]["resource_type"], "task");
        assert_eq!(body["subject"]["status"], "completed");
        assert_eq!(body["subject"]["self_link"], tasks[0].as_str());
        // Only the matching event came.
        tokio::time::sleep(Duration::from_millis(4 * RETRY_BASE_MS)).await;
        assert_eq!(receiver.event_ids("/ok/json"), [event_id]);
    }
}

contract_tests! {
    /// Deleting a job is delivered to its hooks: the `job_deleted` event with the deleted job
    /// nested, every link of it carrying `?deleted`.
    async fn the_deletion_of_a_job_is_delivered_to_its_hooks() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let receiver = Receiver::start().await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let hook = create_hook(
            &client,
            job,
            json!({"url": receiver.url("/ok/deleted"), "events": "job_deleted", "format": "json"}),
        )
        .await;
        client.delete(&job_path(job)).await.assert_status(204);
        let event = all_events(&client).await.pop().unwrap();
        assert_eq!(event["event_type"], "job_deleted");
        let event_id = event["id"].as_i64().unwrap();
        let job_url = format!("{}{}", server.base, job_path(job));

        let got = receiver.first_delivery_of("/ok/deleted", event_id).await;
        got.assert_signed(&hook.secret);
        let body: Value = serde_json::from_slice(&got.body).expect("a JSON body");
        assert_eq!(body["event_type"], "job_deleted", "{body}");
        assert_eq!(body["subject_link"], format!("{job_url}?deleted"), "{body}");
        assert_eq!(body["subject"]["resource_type"], "job", "{body}");
        assert_eq!(body["subject"]["id"], job, "{body}");
        assert_eq!(body["subject"]["self_link"], format!("{job_url}?deleted"), "{body}");
        assert_eq!(body["subject"]["tasks_link"], format!("{job_url}/tasks?deleted"), "{body}");
    }
}

contract_tests! {
    /// A hook with an `events` filter receives only those types; one without receives every
    /// event of its job and its sub-resources; neither receives another job's events.
    async fn an_events_filter_delivers_only_matching_types_of_its_own_job() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let receiver = Receiver::start().await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let other_job = new_job(&client, "Lost Highway", "Basic").await;
        create_hook(&client, job, json!({"url": receiver.url("/ok/all")})).await;
        create_hook(
            &client,
            job,
            json!({"url": receiver.url("/ok/some"), "events": "task_updated,note_created", "format": "json"}),
        )
        .await;
        let start = last_event_id(&client).await;

        rename(&client, job, "Mulholland Dr.").await;
        let tasks = sub_links(&client, job, "tasks").await;
        client.put_json(&path_of(&tasks[0]), r#"{"status": "completed"}"#).await.assert_status(200);
        post_sub(&client, job, "notes", json!({"body": "Noted"})).await;
        let other_tasks = sub_links(&client, other_job, "tasks").await;
        client.put_json(&path_of(&other_tasks[0]), r#"{"status": "completed"}"#).await.assert_status(200);
        post_sub(&client, other_job, "notes", json!({"body": "Elsewhere"})).await;
        rename(&client, other_job, "Lost Highway 2").await;
        post_sub(&client, job, "problems", json!({"description": "Audio out of sync"})).await;

        let written = events_after(&client, start).await;
        assert_eq!(written.len(), 7, "{written:?}");
        let ours: Vec<&Value> = written.iter().filter(|e| about_job(e, job)).collect();
        let ours_ids: BTreeSet<i64> = ours.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        let matching: BTreeSet<i64> = ours
            .iter()
            .filter(|e| e["event_type"] == "task_updated" || e["event_type"] == "note_created")
            .map(|e| e["id"].as_i64().unwrap())
            .collect();
        assert_eq!((ours_ids.len(), matching.len()), (4, 2));

        let patience = Patience::new("every event of the job at both hooks");
        loop {
            let all: BTreeSet<i64> = receiver.event_ids("/ok/all").into_iter().collect();
            let some: BTreeSet<i64> = receiver.event_ids("/ok/some").into_iter().collect();
            if ours_ids.is_subset(&all) && matching.is_subset(&some) {
                break;
            }
            patience.wait(&(all, some)).await;
        }
        // Anything late or wrong would arrive within a few retry periods.
        tokio::time::sleep(Duration::from_millis(6 * RETRY_BASE_MS)).await;
        let some = receiver.event_ids("/ok/some");
        let mut sorted = some.clone();
        sorted.sort();
        assert_eq!(sorted, matching.iter().copied().collect::<Vec<_>>(), "the filtered hook got {some:?}");
        for got in receiver.requests_to("/ok/some") {
            let kind = got.event_type();
            assert!(kind == "task_updated" || kind == "note_created", "{kind}");
        }
        let all: Vec<i64> = receiver.event_ids("/ok/all").into_iter().filter(|id| *id > start).collect();
        let unique: BTreeSet<i64> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len(), "an event came twice: {all:?}");
        assert_eq!(unique, ours_ids, "the unfiltered hook got events of another job or missed some");
    }
}

contract_tests! {
    /// An inactive hook receives nothing and lists no deliveries; activated, it receives what
    /// happens from then on; deactivated again, nothing more.
    async fn an_inactive_hook_delivers_nothing() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let receiver = Receiver::start().await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let off = create_hook(&client, job, json!({"url": receiver.url("/ok/off"), "active": false})).await;
        create_hook(&client, job, json!({"url": receiver.url("/ok/control"), "events": "job_updated"})).await;

        let last = last_event_id(&client).await;
        rename(&client, job, "One").await;
        let first = events_after(&client, last).await[0]["id"].as_i64().unwrap();
        receiver.first_delivery_of("/ok/control", first).await;
        tokio::time::sleep(Duration::from_millis(4 * RETRY_BASE_MS)).await;
        assert!(receiver.requests_to("/ok/off").is_empty(), "{:?}", receiver.event_ids("/ok/off"));
        assert!(deliveries(&client, &off).await.is_empty());

        client.put_json(&off.path, r#"{"active": true, "events": "job_updated"}"#).await.assert_status(200);
        let last = last_event_id(&client).await;
        rename(&client, job, "Two").await;
        let second = events_after(&client, last).await[0]["id"].as_i64().unwrap();
        receiver.first_delivery_of("/ok/off", second).await;

        client.put_json(&off.path, r#"{"active": false}"#).await.assert_status(200);
        let last = last_event_id(&client).await;
        rename(&client, job, "Three").await;
        let third = events_after(&client, last).await[0]["id"].as_i64().unwrap();
        receiver.first_delivery_of("/ok/control", third).await;
        tokio::time::sleep(Duration::from_millis(4 * RETRY_BASE_MS)).await;
        assert_eq!(receiver.event_ids("/ok/off"), [second], "only the event while active");
        let listed: Vec<i64> = deliveries(&client, &off).await.iter().map(|d| d["event_id"].as_i64().unwrap()).collect();
        assert_eq!(listed, [second]);
    }
}

contract_tests! {
    /// 500, 502, 503 and 429 are retried with exponential backoff until a 200; the deliveries
    /// list shows every attempt, in XML and JSON.
    async fn failed_deliveries_are_retried_with_backoff_until_they_succeed() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let receiver = Receiver::start().await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        receiver.script("/flaky/a", &[500, 503, 500, 502]);
        receiver.script("/flaky/b", &[429]);
        let flaky = create_hook(&client, job, json!({"url": receiver.url("/flaky/a"), "events": "job_updated"})).await;
        let busy = create_hook(
            &client,
            job,
            json!({"url": receiver.url("/flaky/b"), "events": "job_updated", "format": "json"}),
        )
        .await;
        rename(&client, job, "Mulholland Dr.").await;
        let event_id = last_event_id(&client).await;

        let patience = Patience::new("a 200 after the retries");
        let (a, b) = loop {
            let a = deliveries(&client, &flaky).await;
            let b = deliveries(&client, &busy).await;
            let delivered = |list: &[Value]| list.iter().any(|d| d["response_status"] == 200);
            if delivered(&a) && delivered(&b) {
                break (a, b);
            }
            patience.wait(&(a, b)).await;
        };
        let summary = |list: &[Value]| -> Vec<(i64, i64, Value, bool)> {
            list.iter()
                .map(|d| {
                    (
                        d["event_id"].as_i64().unwrap(),
                        d["attempt"].as_i64().unwrap(),
                        d["response_status"].clone(),
                        d["next_retry_at"].is_string(),
                    )
                })
                .collect()
        };
        assert_eq!(
            summary(&a),
            [
                (event_id, 1, json!(500), true),
                (event_id, 2, json!(503), true),
                (event_id, 3, json!(500), true),
                (event_id, 4, json!(502), true),
                (event_id, 5, json!(200), false),
            ],
            "{a:?}"
        );
        assert_eq!(summary(&b), [(event_id, 1, json!(429), true), (event_id, 2, json!(200), false)], "{b:?}");
        for d in a.iter().chain(&b) {
            assert_recent_datetime(d["attempted_at"].as_str().unwrap());
            if let Some(next) = d["next_retry_at"].as_str() {
                assert_recent_datetime(next);
                assert!(next >= d["attempted_at"].as_str().unwrap(), "{d}");
            }
        }

        // Each attempt reached the receiver once, signed, with the same event; the waits grew.
        let got = receiver.deliveries_of("/flaky/a", event_id);
        assert_eq!(got.iter().map(|r| r.answered).collect::<Vec<_>>(), [500, 503, 500, 502, 200]);
        for r in &got {
            r.assert_signed(&flaky.secret);
            assert_eq!(r.body, got[0].body, "a retry sends the same body");
        }
        // Waits of at least base, 2 base, 4 base, 8 base (less a quarter for timer slack); load
        // can only lengthen them. The first is not some other, much longer base.
        let waits: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
        let base = Duration::from_millis(RETRY_BASE_MS);
        for (i, wait) in waits.iter().enumerate() {
            let floor = base * 3 / 4 * 2u32.pow(i as u32);
            assert!(*wait >= floor, "retry {} after {wait:?}, less than {floor:?}: {waits:?}", i + 1);
        }
        assert!(waits[0] < Duration::from_secs(2), "the first retry came only after {:?}", waits[0]);
        assert_eq!(receiver.deliveries_of("/flaky/b", event_id).len(), 2);

        // The same list in XML.
        let reply = client.get(&format!("{}/deliveries", flaky.path)).await;
        let list = xml_ok(&reply);
        assert_eq!(list.name, "deliveries");
        assert_eq!(list.attr("type"), Some("array"));
        let items = list.items("delivery");
        assert_eq!(items.len(), 5, "{}", reply.body);
        for item in &items {
            assert_eq!(item.text_of("event-id"), event_id.to_string());
            assert_eq!(item.child("event-id").attr("type"), Some("integer"));
            assert_eq!(item.child("attempt").attr("type"), Some("integer"));
            assert_eq!(item.child("attempted-at").attr("type"), Some("datetime"));
            assert_eq!(item.child("response-status").attr("type"), Some("integer"));
            assert_eq!(item.child("latency-ms").attr("type"), Some("integer"));
            assert!(item.find("error").is_some(), "{}", reply.body);
            assert_eq!(item.link("event"), Some(format!("{}/api/events/{event_id}", server.base).as_str()));
        }
        let last = items.iter().find(|i| i.text_of("attempt") == "5").expect("attempt 5");
        assert_eq!(last.text_of("response-status"), "200");
        assert_eq!(last.child("next-retry-at").attr("nil"), Some("true"), "{}", reply.body);
        assert_eq!(last.child("error").attr("nil"), Some("true"), "{}", reply.body);
        let first = items.iter().find(|i| i.text_of("attempt") == "1").expect("attempt 1");
        assert_eq!(first.child("next-retry-at").attr("type"), Some("datetime"), "{}", reply.body);

        // Delivered: no more attempts.
        tokio::time::sleep(Duration::from_millis(8 * RETRY_BASE_MS)).await;
        assert_eq!(receiver.deliveries_of("/flaky/a", event_id).len(), 5);
        assert_eq!(deliveries(&client, &flaky).await.len(), 5);
    }
}

contract_tests! {
    /// When nothing listens, the attempt has no status, an error, a next retry, and is retried.
    async fn a_connection_error_is_recorded_and_retried() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let client = server.client();
        // A port nothing listens on.
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let hook = create_hook(
            &client,
            job,
            json!({"url": format!("http://127.0.0.1:{closed}/nobody"), "events": "job_updated"}),
        )
        .await;
        rename(&client, job, "Mulholland Dr.").await;
        let event_id = last_event_id(&client).await;

        let patience = Patience::new("two attempts at a closed port");
        let attempts = loop {
            let list = deliveries(&client, &hook).await;
            if list.len() >= 2 {
                break list;
            }
            patience.wait(&list).await;
        };
        for (n, attempt) in attempts.iter().take(2).enumerate() {
            assert_eq!(attempt["event_id"], event_id);
            assert_eq!(attempt["attempt"], n as i64 + 1);
            assert!(attempt["response_status"].is_null(), "{attempt}");
            let error = attempt["error"].as_str().unwrap_or_else(|| panic!("no error: {attempt}"));
            assert!(!error.is_empty());
            assert!(attempt["next_retry_at"].is_string(), "{attempt}");
            assert!(attempt["latency_ms"].is_i64(), "{attempt}");
        }
        let reply = client.get(&format!("{}/deliveries", hook.path)).await;
        let list = xml_ok(&reply);
        let first = list.items("delivery")[0];
        assert_eq!(first.child("response-status").attr("nil"), Some("true"), "{}", reply.body);
        assert!(!first.text_of("error").is_empty(), "{}", reply.body);
    }
}

contract_tests! {
    /// A 404 (a 4xx other than 429) ends the delivery after exactly one attempt, with no next
    /// retry; other hooks keep receiving.
    async fn a_4xx_answer_stops_retrying() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let receiver = Receiver::start().await;
        let client = server.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        receiver.script("/ok/bad-request", &[400]);
        let gone = create_hook(&client, job, json!({"url": receiver.url("/gone/x"), "events": "job_updated"})).await;
        let bad = create_hook(&client, job, json!({"url": receiver.url("/ok/bad-request"), "events": "job_updated"})).await;
        rename(&client, job, "Mulholland Dr.").await;
        let event_id = last_event_id(&client).await;

        receiver.first_delivery_of("/gone/x", event_id).await;
        receiver.first_delivery_of("/ok/bad-request", event_id).await;
        // Retries would have come several times over by now.
        tokio::time::sleep(Duration::from_millis(12 * RETRY_BASE_MS)).await;
        assert_eq!(receiver.deliveries_of("/gone/x", event_id).len(), 1);
        assert_eq!(receiver.deliveries_of("/ok/bad-request", event_id).len(), 1, "400 is not retried");
        for (hook, status) in [(&gone, 404), (&bad, 400)] {
            let list = deliveries(&client, hook).await;
            assert_eq!(list.len(), 1, "{list:?}");
            assert_eq!(list[0]["attempt"], 1);
            assert_eq!(list[0]["response_status"], status);
            assert!(list[0]["next_retry_at"].is_null(), "given up: {}", list[0]);
        }

        // The hook itself still works for the next event.
        let last = last_event_id(&client).await;
        rename(&client, job, "Again").await;
        let next = events_after(&client, last).await[0]["id"].as_i64().unwrap();
        let got = receiver.first_delivery_of("/ok/bad-request", next).await;
        assert_eq!(got.answered, 200);
    }
}

contract_tests! {
    /// A delivery still failing when its server dies is delivered by the next server started on
    /// the same database.
    async fn a_pending_delivery_survives_a_restart() {
        let database = TestDatabase::new();
        let receiver = Receiver::start().await;
        receiver.answer("/down/restart", 503);
        // A long first wait: the server dies between attempts, never in the middle of one.
        let env = hooks_env(2_000);
        let mut first = ServerProcess::spawn(&database.url, &env_refs(&env));
        let client = first.client();
        let job = new_job(&client, "Mulholland Drive", "Basic").await;
        let hook = create_hook(&client, job, json!({"url": receiver.url("/down/restart"), "events": "job_updated"})).await;
        rename(&client, job, "Mulholland Dr.").await;
        let event_id = last_event_id(&client).await;

        let patience = Patience::new("the first failed attempt to be recorded");
        loop {
            let list = deliveries(&client, &hook).await;
            if let Some(attempt) = list.first() {
                assert_eq!(attempt["response_status"], 503, "{attempt}");
                assert!(attempt["next_retry_at"].is_string(), "{attempt}");
                break;
            }
            patience.wait(&list).await;
        }
        first.kill();
        let before_restart = receiver.deliveries_of("/down/restart", event_id).len();
        assert_eq!(before_restart, 1);

        // While no server runs, the receiver recovers; a new server picks the delivery up.
        receiver.answer("/down/restart", 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.deliveries_of("/down/restart", event_id).len(), 1, "a dead server delivered");
        let env = hooks_env(RETRY_BASE_MS);
        let second = ServerProcess::spawn(&database.url, &env_refs(&env));
        let client = second.client();
        let patience = Patience::new("the pending delivery after the restart");
        let got = loop {
            let got = receiver.deliveries_of("/down/restart", event_id);
            if got.iter().any(|r| r.answered == 200) {
                break got;
            }
            patience.wait(&got.iter().map(|r| r.answered).collect::<Vec<_>>()).await;
        };
        assert_eq!(got.iter().map(|r| r.answered).collect::<Vec<_>>(), [503, 200]);
        got[1].assert_signed(&hook.secret);

        let patience = Patience::new("the second attempt to be listed");
        let list = loop {
            let list = deliveries(&client, &hook).await;
            if list.len() >= 2 {
                break list;
            }
            patience.wait(&list).await;
        };
        let statuses: Vec<(i64, Value, bool)> = list
            .iter()
            .map(|d| (d["attempt"].as_i64().unwrap(), d["response_status"].clone(), d["next_retry_at"].is_null()))
            .collect();
        assert_eq!(statuses, [(1, json!(503), false), (2, json!(200), true)]);
        tokio::time::sleep(Duration::from_millis(4 * RETRY_BASE_MS)).await;
        assert_eq!(receiver.deliveries_of("/down/restart", event_id).len(), 2);
        drop(second);
    }
}

contract_tests! {
    /// Two server processes on one database, both delivering: each of 30 events reaches the
    /// hook exactly once and is listed as one attempt; at a hook that fails 45 times first,
    /// every attempt is made once, numbered 1, 2, … per event, until one 200 each.
    async fn two_server_processes_deliver_each_event_once() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let env = hooks_env(RETRY_BASE_MS);
        let other = server.another_process_on_same_database(&env_refs(&env));
        let receiver = Receiver::start().await;
        let job = new_job(&server.client(), "Mulholland Drive", "Basic").await;
        let hook = create_hook(
            &server.client(),
            job,
            json!({"url": receiver.url("/slow/two"), "events": "note_created", "format": "json"}),
        )
        .await;
        receiver.script("/flaky/two", &[500; 45]);
        let flaky = create_hook(
            &server.client(),
            job,
            json!({"url": receiver.url("/flaky/two"), "events": "note_created"}),
        )
        .await;
        let start = last_event_id(&server.client()).await;

        let writers: Vec<_> = (0..3)
            .map(|n| {
                // Writes through both processes wake both delivery workers.
                let clients = [server.client(), other.client()];
                tokio::spawn(async move {
                    for i in 0..10 {
                        let reply = clients[i % 2]
                            .post_json(&format!("{JOBS}/{job}/notes"), &json!({"body": format!("N{n}-{i}")}).to_string())
                            .await;
                        assert_eq!(reply.status, 200, "note {n}-{i}: {}", reply.body);
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer");
        }
        let written: BTreeSet<i64> = ids(&events_after(&server.client(), start).await).into_iter().collect();
        assert_eq!(written.len(), 30);

        let patience = Patience::for_("30 deliveries", Duration::from_secs(20));
        loop {
            let got: BTreeSet<i64> = receiver.event_ids("/slow/two").into_iter().collect();
            if written.is_subset(&got) {
                break;
            }
            patience.wait(&written.difference(&got).collect::<Vec<_>>()).await;
        }
        let patience = Patience::for_("a 200 for each of 30 events after the failures", Duration::from_secs(20));
        loop {
            let got: BTreeSet<i64> = receiver
                .requests_to("/flaky/two")
                .iter()
                .filter(|r| r.answered == 200)
                .map(Received::event_id)
                .collect();
            if written.is_subset(&got) {
                break;
            }
            patience.wait(&written.difference(&got).collect::<Vec<_>>()).await;
        }
        // A duplicate would show up within a few retry periods.
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
        for id in receiver.event_ids("/slow/two") {
            *counts.entry(id).or_default() += 1;
        }
        let twice: Vec<(&i64, &usize)> = counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "delivered more than once (event, times): {twice:?}");
        assert_eq!(counts.keys().copied().collect::<BTreeSet<_>>(), written);
        for got in receiver.requests_to("/slow/two") {
            got.assert_signed(&hook.secret);
        }
        let listed = deliveries(&other.client(), &hook).await;
        assert_eq!(listed.len(), 30, "{listed:?}");
        assert!(listed.iter().all(|d| d["attempt"] == 1 && d["response_status"] == 200), "{listed:?}");

        // The flaky hook: per event, attempts 1..k listed once each, k requests, one 200 (last).
        let requests = receiver.requests_to("/flaky/two");
        assert_eq!(requests.iter().filter(|r| r.answered == 500).count(), 45);
        let listed = deliveries(&server.client(), &flaky).await;
        assert_eq!(listed.len(), requests.len(), "attempts listed against requests received");
        for event in &written {
            let attempts: Vec<(i64, Value)> = listed
                .iter()
                .filter(|d| d["event_id"] == *event)
                .map(|d| (d["attempt"].as_i64().unwrap(), d["response_status"].clone()))
                .collect();
            let numbers: Vec<i64> = attempts.iter().map(|(n, _)| *n).collect();
            let expected: Vec<i64> = (1..=attempts.len() as i64).collect();
            assert_eq!(numbers, expected, "attempts of event {event}: {attempts:?}");
            let oks = attempts.iter().filter(|(_, s)| *s == 200).count();
            assert_eq!(oks, 1, "event {event}: {attempts:?}");
            assert_eq!(attempts.last().unwrap().1, 200, "event {event}: {attempts:?}");
            let received: Vec<u16> = requests
                .iter()
                .filter(|r| r.event_id() == *event)
                .map(|r| r.answered)
                .collect();
            assert_eq!(received.len(), attempts.len(), "event {event}: received {received:?}");
        }
        drop(other);
    }
}

contract_tests! {
    /// Two server processes on one database, both delivering, take writes at the same time:
    /// every write succeeds, and a poller following one of them with `newer_than` sees every
    /// event of both exactly once, in id order.
    async fn two_server_processes_take_concurrent_writes_and_the_feed_has_no_gaps() {
        let server = TestServer::start_with(start_with_hooks()).await;
        let env = hooks_env(RETRY_BASE_MS);
        let other = server.another_process_on_same_database(&env_refs(&env));
        // Deliveries keep both processes' workers writing too.
        let receiver = Receiver::start().await;
        let shared = new_job(&server.client(), "Shared", "Empty").await;
        create_hook(&server.client(), shared, json!({"url": receiver.url("/ok/both"), "events": "note_created"})).await;
        let start = last_event_id(&server.client()).await;
        let done = Arc::new(AtomicBool::new(false));
        let poller = {
            let client = other.client();
            let done = done.clone();
            tokio::spawn(async move {
                let (mut collected, mut last) = (Vec::new(), start);
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let reply = client.get_json(&format!("{EVENTS}?newer_than={last}")).await;
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    for id in ids(&entries(&reply.json())) {
                        assert!(id > last, "id {id} after {last}");
                        collected.push(id);
                        last = id;
                    }
                    if finished {
                        return collected;
                    }
                }
            })
        };
        let writers: Vec<_> = (0..4)
            .map(|n| {
                let (client, which) = if n % 2 == 0 {
                    (server.client(), "in-process")
                } else {
                    (other.client(), "second process")
                };
                tokio::spawn(async move {
                    for round in 0..10 {
                        let body = json!({"name": format!("P{n}-{round}"), "begins_at": "2011-01-01",
                                          "licensor_name": "L", "template": "Basic"});
                        let created = client.post_json(JOBS, &body.to_string()).await;
                        assert_eq!(created.status, 200, "POST {JOBS} on the {which} server: {}", created.body);
                        let note = client
                            .post_json(&format!("{JOBS}/{shared}/notes"), r#"{"body": "Both"}"#)
                            .await;
                        assert_eq!(note.status, 200, "POST {JOBS}/{shared}/notes on the {which} server: {}", note.body);
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer");
        }
        done.store(true, Ordering::SeqCst);
        let collected = poller.await.expect("poller");
        let all = ids(&events_after(&server.client(), start).await);
        assert_eq!(all.len(), 80);
        let seen: BTreeSet<i64> = collected.iter().copied().collect();
        let missed: Vec<&i64> = all.iter().filter(|id| !seen.contains(id)).collect();
        assert!(missed.is_empty(), "the poller missed events {missed:?}");
        assert_eq!(collected, all, "what the poller saw against the final list");
        // Every note reached the hook.
        let patience = Patience::new("40 deliveries");
        loop {
            let got: BTreeSet<i64> = receiver.event_ids("/ok/both").into_iter().collect();
            if got.len() >= 40 {
                break;
            }
            patience.wait(&got.len()).await;
        }
    }
}

/// The job id a job's subject link names.
#[track_caller]
fn job_id_of(link: &str) -> i64 {
    let path = link.split('?').next().unwrap();
    path.rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{link}: {e}"))
}

contract_tests! {
    /// A server killed with SIGKILL in the middle of a burst of creations and renames leaves
    /// every stored change with its event and every event with its change.
    async fn a_killed_server_leaves_no_change_without_its_event() {
        let database = TestDatabase::new();
        let mut first = ServerProcess::spawn(&database.url, &[]);
        let burst: Vec<_> = (0..6)
            .map(|n| {
                let client = first.client();
                tokio::spawn(async move {
                    let mut acknowledged = Vec::new();
                    for i in 0..10_000 {
                        let body = json!({"name": format!("K{n}-{i}"), "begins_at": "2011-01-01",
                                          "licensor_name": "L", "template": "Basic"});
                        let headers = [("Content-Type", "application/json"), ("Accept", "application/json")];
                        let Some(created) = client.try_send("POST", JOBS, &headers, Some(&body.to_string())).await else {
                            break;
                        };
                        if created.status != 200 {
                            break;
                        }
                        let id = created.json()["id"].as_i64().unwrap();
                        acknowledged.push((id, false));
                        let rename = json!({"name": format!("K{n}-{i} renamed")}).to_string();
                        match client.try_send("PUT", &job_path(id), &headers, Some(&rename)).await {
                            Some(reply) if reply.status == 200 => acknowledged.last_mut().unwrap().1 = true,
                            _ => break,
                        }
                    }
                    acknowledged
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        first.kill();
        let mut acknowledged = Vec::new();
        for b in burst {
            acknowledged.extend(b.await.expect("writer"));
        }
        assert!(!acknowledged.is_empty(), "the burst wrote nothing before the kill");

        let second = ServerProcess::spawn(&database.url, &[]);
        let client = second.client();
        let jobs = entries(&json_ok(&client.get_json(JOBS).await));
        let names: BTreeMap<i64, String> = jobs
            .iter()
            .map(|j| (j["id"].as_i64().unwrap(), j["name"].as_str().unwrap().to_string()))
            .collect();
        let events = all_events(&client).await;
        let event_ids = ids(&events);
        assert!(event_ids.windows(2).all(|w| w[0] < w[1]), "{event_ids:?}");
        let of_type = |kind: &str| -> Vec<i64> {
            events
                .iter()
                .filter(|e| e["event_type"] == kind)
                .map(|e| job_id_of(e["subject_link"].as_str().unwrap()))
                .collect()
        };
        let created = of_type("job_created");
        let updated = of_type("job_updated");
        assert_eq!(created.len() + updated.len(), events.len(), "only job events were written");
        let created_set: BTreeSet<i64> = created.iter().copied().collect();
        let updated_set: BTreeSet<i64> = updated.iter().copied().collect();
        assert_eq!(created_set.len(), created.len(), "a job created twice");
        assert_eq!(updated_set.len(), updated.len(), "a job renamed twice");
        let stored: BTreeSet<i64> = names.keys().copied().collect();
        assert_eq!(created_set, stored, "job_created events against stored jobs");
        let renamed: BTreeSet<i64> = names
            .iter()
            .filter(|(_, name)| name.ends_with("renamed"))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(updated_set, renamed, "job_updated events against renamed jobs");
        for (id, was_renamed) in &acknowledged {
            assert!(stored.contains(id), "acknowledged job {id} is missing");
            if *was_renamed {
                assert!(renamed.contains(id), "acknowledged rename of job {id} is missing");
            }
        }
    }
}
