//! The change feed: what an event says, and which attributes an update changed.
use super::job::Job;
use super::subresources::Sub;
use chrono::{DateTime, Utc};

/// Resources whose changes are events, by their singular API name.
pub const SUBJECTS: [&str; 6] = ["job", "task", "asset", "note", "problem", "hook"];
pub const ACTIONS: [&str; 3] = ["created", "updated", "deleted"];

/// `task` + `updated` → `task_updated`.
pub fn event_type(subject: &str, action: &str) -> String {
    format!("{subject}_{action}")
}

pub fn is_event_type(name: &str) -> bool {
    SUBJECTS
        .iter()
        .any(|s| ACTIONS.iter().any(|a| event_type(s, a) == name))
}

/// A stored event, with what its subject link needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub work_area_id: i64,
    pub job_id: i64,
    pub event_type: String,
    pub subject_kind: String,
    pub subject_id: i64,
    /// Only on `*_updated`: the changed attributes, as the API spells them, comma-separated.
    pub changes: Option<String>,
    pub timestamp: DateTime<Utc>,
    /// Whether the subject's job is deleted now (its links then carry `?deleted`).
    pub job_deleted: bool,
}

/// A delivery a worker has claimed: what to send, where, and how many tries came before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub id: i64,
    pub attempts: i32,
    pub hook: super::subresources::Hook,
    pub event: Event,
}

/// One try at delivering an event to a hook, as recorded and listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub event_id: i64,
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status, or `None` when no answer came (connection error, timeout).
    pub response_status: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
    /// When the next try is due, unix milliseconds; `None` once delivered or given up.
    pub next_retry_ms: Option<i64>,
}

/// What became of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Delivered,
    /// Tried again at the attempt's `next_retry_ms`.
    Pending,
    /// Given up (a 4xx other than 429, or too many tries).
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Delivered => "delivered",
            DeliveryState::Pending => "pending",
            DeliveryState::Failed => "failed",
        }
    }
}

/// What a write tells the store to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub event_type: String,
    pub subject_kind: &'static str,
    pub subject_id: i64,
    pub changes: Option<String>,
}

/// The job attributes a PUT changed, dasherized as in XML (`begins-at`), in representation
/// order; `due-date` follows `begins-at`.
pub fn job_changes(before: &Job, after: &Job) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut note = |name, differs: bool| {
        if differs {
            changed.push(name);
        }
    };
    note("name", before.name != after.name);
    note("due-date", before.due_date != after.due_date);
    note("begins-at", before.begins_at != after.begins_at);
    note("ends-at", before.ends_at != after.ends_at);
    note("licensor-name", before.licensor_name != after.licensor_name);
    note("tag-list", before.tag_list != after.tag_list);
    note(
        "title-external-id",
        before.title_external_id != after.title_external_id,
    );
    note(
        "scheduling",
        before.external.scheduling != after.external.scheduling,
    );
    note(
        "metadata",
        before.external.metadata != after.external.metadata,
    );
    note("title", before.external.title != after.external.title);
    changed
}

/// The attributes of a task, asset, note, problem or hook an update changed.
pub fn sub_changes(before: &Sub, after: &Sub) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut note = |name, differs: bool| {
        if differs {
            changed.push(name);
        }
    };
    match (before, after) {
        (Sub::Task(b), Sub::Task(a)) => {
            note("name", b.name != a.name);
            note("status", b.status != a.status);
            note("duration", b.duration != a.duration);
            note("position", b.position != a.position);
            note(
                "responsible-email",
                b.responsible_email != a.responsible_email,
            );
        }
        (Sub::Asset(b), Sub::Asset(a)) => {
            note("type-name", b.type_name != a.type_name);
            note("status", b.status != a.status);
            note("progress", b.progress != a.progress);
        }
        (Sub::Note(b), Sub::Note(a)) => note("body", b.body != a.body),
        (Sub::Problem(b), Sub::Problem(a)) => {
            note("description", b.description != a.description);
            note("dismissed", b.dismissed != a.dismissed);
        }
        (Sub::Hook(b), Sub::Hook(a)) => {
            note("url", b.url != a.url);
            note("events", b.events != a.events);
            note("format", b.format != a.format);
            note("active", b.active != a.active);
        }
        _ => {}
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_subject_and_action() {
        assert!(is_event_type("job_created"));
        assert!(is_event_type("hook_deleted"));
        assert!(!is_event_type("job_renamed"));
        assert!(!is_event_type(""));
    }
}
