//! A job's sub-resources — tasks, assets, notes and problems — and the rules for writing them.
//! Their statuses feed the job's derived statuses through the store's counters.
use super::attributes::{self as attr, collect, Attributes, Given};
use super::events;
use super::ValidationErrors;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubKind {
    Tasks,
    Assets,
    Notes,
    Problems,
    Hooks,
}

impl SubKind {
    pub const ALL: [SubKind; 5] = [
        SubKind::Tasks,
        SubKind::Assets,
        SubKind::Notes,
        SubKind::Problems,
        SubKind::Hooks,
    ];

    /// The path segment and collection name: `tasks`.
    pub fn plural(self) -> &'static str {
        match self {
            SubKind::Tasks => "tasks",
            SubKind::Assets => "assets",
            SubKind::Notes => "notes",
            SubKind::Problems => "problems",
            SubKind::Hooks => "hooks",
        }
    }

    /// The element name of one: `task`.
    pub fn singular(self) -> &'static str {
        match self {
            SubKind::Tasks => "task",
            SubKind::Assets => "asset",
            SubKind::Notes => "note",
            SubKind::Problems => "problem",
            SubKind::Hooks => "hook",
        }
    }

    pub fn parse(plural: &str) -> Option<SubKind> {
        SubKind::ALL.into_iter().find(|k| k.plural() == plural)
    }
}

/// Far above any real job, and far enough below `i32::MAX` that "after the last" never
/// overflows.
pub const MAX_POSITION: i32 = 1_000_000;

pub const TASK_STATUSES: [&str; 2] = ["pending", "completed"];
pub const ASSET_STATUSES: [&str; 3] = ["pending", "received", "claimed"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: i64,
    pub job_id: i64,
    pub name: String,
    pub status: String,
    pub requires_duration: bool,
    pub duration: Option<String>,
    pub position: i32,
    pub responsible_email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub id: i64,
    pub job_id: i64,
    pub type_name: String,
    pub status: String,
    pub progress: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: i64,
    pub job_id: i64,
    pub body: String,
    pub creator: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub id: i64,
    pub job_id: i64,
    pub description: String,
    pub dismissed: bool,
    pub reporter: String,
}

/// A callback registered on a job: the server POSTs matching events to `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub id: i64,
    pub job_id: i64,
    pub url: String,
    /// Comma-separated event types; empty means every event of the job and its sub-resources.
    pub events: String,
    /// `xml` or `json`.
    pub format: String,
    pub active: bool,
    /// The HMAC key of the signature header; shown to the client once, at creation.
    pub secret: String,
}

pub const HOOK_FORMATS: [&str; 2] = ["xml", "json"];

/// One sub-resource of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    Task(Task),
    Asset(Asset),
    Note(Note),
    Problem(Problem),
    Hook(Hook),
}

impl Sub {
    pub fn kind(&self) -> SubKind {
        match self {
            Sub::Task(_) => SubKind::Tasks,
            Sub::Asset(_) => SubKind::Assets,
            Sub::Note(_) => SubKind::Notes,
            Sub::Problem(_) => SubKind::Problems,
            Sub::Hook(_) => SubKind::Hooks,
        }
    }

    pub fn id(&self) -> i64 {
        match self {
            Sub::Task(t) => t.id,
            Sub::Asset(a) => a.id,
            Sub::Note(n) => n.id,
            Sub::Problem(p) => p.id,
            Sub::Hook(h) => h.id,
        }
    }

    pub fn job_id(&self) -> i64 {
        match self {
            Sub::Task(t) => t.job_id,
            Sub::Asset(a) => a.job_id,
            Sub::Note(n) => n.job_id,
            Sub::Problem(p) => p.job_id,
            Sub::Hook(h) => h.job_id,
        }
    }
}

/// Where a new task goes in its job's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    At(i32),
    AfterLast,
}

/// Who is writing and when: notes and problems record it.
#[derive(Debug, Clone)]
pub struct Author<'a> {
    pub login: &'a str,
    pub now: DateTime<Utc>,
}

/// Reads a create request for a sub-resource of `kind` (ids are assigned by the store).
pub fn new_sub(
    kind: SubKind,
    job_id: i64,
    attrs: &Attributes,
    author: &Author<'_>,
) -> Result<(Sub, Placement), ValidationErrors> {
    let mut errors = Vec::new();
    let mut placement = Placement::AfterLast;
    let mut sub = match kind {
        SubKind::Tasks => {
            let name = attr::required_string(attrs, "name", &mut errors).unwrap_or_default();
            let requires_duration = collect(attr::boolean(attrs, "requires_duration"), &mut errors)
                .into_option()
                .unwrap_or(false);
            if let Given::Value(position) = read_position(attrs, &mut errors) {
                placement = Placement::At(position);
            }
            Sub::Task(Task {
                id: 0,
                job_id,
                name,
                status: "pending".into(),
                requires_duration,
                duration: None,
                position: 0,
                responsible_email: None,
            })
        }
        SubKind::Assets => Sub::Asset(Asset {
            id: 0,
            job_id,
            type_name: attr::required_string(attrs, "type_name", &mut errors).unwrap_or_default(),
            status: "pending".into(),
            progress: None,
        }),
        SubKind::Notes => Sub::Note(Note {
            id: 0,
            job_id,
            body: attr::required_string(attrs, "body", &mut errors).unwrap_or_default(),
            creator: author.login.to_string(),
            created_at: author.now,
        }),
        SubKind::Problems => Sub::Problem(Problem {
            id: 0,
            job_id,
            description: attr::required_string(attrs, "description", &mut errors)
                .unwrap_or_default(),
            dismissed: false,
            reporter: author.login.to_string(),
        }),
        SubKind::Hooks => {
            if !attrs.contains("url") {
                errors.push("Url can't be blank".into());
            }
            Sub::Hook(Hook {
                id: 0,
                job_id,
                url: String::new(),
                events: String::new(),
                format: "xml".into(),
                active: true,
                secret: String::new(),
            })
        }
    };
    // The rest of the attributes are read exactly as an update would read them.
    if let Err(more) = apply(&mut sub, attrs) {
        for message in more {
            if !errors.contains(&message) {
                errors.push(message);
            }
        }
    }
    if errors.is_empty() {
        Ok((sub, placement))
    } else {
        Err(errors)
    }
}

/// Applies an update: only what is sent changes; read-only attributes (`creator`,
/// `created-at`, `reporter`) and `requires-duration` (fixed at creation) are ignored.
pub fn apply(sub: &mut Sub, attrs: &Attributes) -> Result<(), ValidationErrors> {
    let mut errors = Vec::new();
    match sub {
        Sub::Task(task) => apply_task(task, attrs, &mut errors),
        Sub::Asset(asset) => apply_asset(asset, attrs, &mut errors),
        Sub::Hook(hook) => apply_hook(hook, attrs, &mut errors),
        Sub::Note(note) => {
            if let Some(body) = non_blank(attrs, "body", &mut errors) {
                note.body = body;
            }
        }
        Sub::Problem(problem) => {
            if let Some(description) = non_blank(attrs, "description", &mut errors) {
                problem.description = description;
            }
            match collect(attr::boolean(attrs, "dismissed"), &mut errors) {
                Given::Value(dismissed) => problem.dismissed = dismissed,
                Given::Null => errors.push("Dismissed must be true or false".into()),
                Given::Absent => {}
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn apply_hook(hook: &mut Hook, attrs: &Attributes, errors: &mut Vec<String>) {
    if let Some(url) = non_blank(attrs, "url", errors) {
        let url = url.trim();
        let absolute = url.starts_with("http://") || url.starts_with("https://");
        if absolute && !url.contains(char::is_whitespace) && url.len() > "https://".len() {
            hook.url = url.to_string();
        } else {
            errors.push("Url must be an absolute http or https URL".into());
        }
    }
    match collect(attr::string(attrs, "events"), errors) {
        Given::Value(list) => {
            let types: Vec<&str> = list
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect();
            if types.iter().all(|t| events::is_event_type(t)) {
                hook.events = types.join(",");
            } else {
                errors.push("Events must be a comma-separated list of event types".into());
            }
        }
        Given::Null => hook.events = String::new(),
        Given::Absent => {}
    }
    if let Some(format) = one_of(attrs, "format", &HOOK_FORMATS, errors) {
        hook.format = format;
    }
    match collect(attr::boolean(attrs, "active"), errors) {
        Given::Value(active) => hook.active = active,
        Given::Null => errors.push("Active must be true or false".into()),
        Given::Absent => {}
    }
}

fn apply_task(task: &mut Task, attrs: &Attributes, errors: &mut Vec<String>) {
    if let Some(name) = non_blank(attrs, "name", errors) {
        task.name = name;
    }
    if let Some(status) = one_of(attrs, "status", &TASK_STATUSES, errors) {
        task.status = status;
    }
    if task.requires_duration {
        match collect(attr::string(attrs, "duration"), errors) {
            Given::Value(d) if d.trim().is_empty() => task.duration = None,
            Given::Value(d) if is_duration(d.trim()) => task.duration = Some(d.trim().into()),
            Given::Value(_) => errors.push("Duration must be in the format hh:mm:ss".into()),
            Given::Null => task.duration = None,
            Given::Absent => {}
        }
    }
    if let Given::Value(position) = read_position(attrs, errors) {
        task.position = position;
    }
    match collect(attr::string(attrs, "responsible_email"), errors) {
        Given::Value(email) if email.trim().is_empty() => task.responsible_email = None,
        Given::Value(email) => task.responsible_email = Some(email),
        Given::Null => task.responsible_email = None,
        Given::Absent => {}
    }
    if task.status == "completed" && task.requires_duration && task.duration.is_none() {
        errors.push("Duration can't be blank when completing a task that requires it".into());
    }
}

fn apply_asset(asset: &mut Asset, attrs: &Attributes, errors: &mut Vec<String>) {
    if let Some(type_name) = non_blank(attrs, "type_name", errors) {
        asset.type_name = type_name;
    }
    if let Some(status) = one_of(attrs, "status", &ASSET_STATUSES, errors) {
        asset.status = status;
    }
    match collect(attr::integer(attrs, "progress"), errors) {
        Given::Value(p) if (0..=100).contains(&p) => asset.progress = Some(p as i32),
        Given::Value(_) => errors.push("Progress must be between 0 and 100".into()),
        Given::Null => asset.progress = None,
        Given::Absent => {}
    }
}

fn read_position(attrs: &Attributes, errors: &mut Vec<String>) -> Given<i32> {
    match collect(attr::integer(attrs, "position"), errors) {
        Given::Value(p) => match i32::try_from(p) {
            Ok(p) if (1..=MAX_POSITION).contains(&p) => Given::Value(p),
            _ => {
                errors.push(format!("Position must be between 1 and {MAX_POSITION}"));
                Given::Absent
            }
        },
        Given::Null => Given::Absent,
        Given::Absent => Given::Absent,
    }
}

/// A string attribute that, when sent, may not be blank.
fn non_blank(attrs: &Attributes, name: &str, errors: &mut Vec<String>) -> Option<String> {
    match collect(attr::string(attrs, name), errors) {
        Given::Absent => None,
        Given::Value(s) if !s.trim().is_empty() => Some(s),
        _ => {
            let message = format!("{} can't be blank", attr::human_name(name));
            if !errors.contains(&message) {
                errors.push(message);
            }
            None
        }
    }
}

fn one_of(
    attrs: &Attributes,
    name: &str,
    allowed: &[&str],
    errors: &mut Vec<String>,
) -> Option<String> {
    match collect(attr::string(attrs, name), errors) {
        Given::Absent => None,
        Given::Value(s) if allowed.contains(&s.as_str()) => Some(s),
        _ => {
            errors.push(format!(
                "{} must be one of {}",
                attr::human_name(name),
                allowed.join(", ")
            ));
            None
        }
    }
}

/// `hh:mm:ss`: hours of two or more digits, minutes and seconds below 60.
pub fn is_duration(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    let [h, m, s] = parts.as_slice() else {
        return false;
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let below_60 = |p: &str| p.len() == 2 && digits(p) && p < "60";
    h.len() >= 2 && h.len() <= 6 && digits(h) && below_60(m) && below_60(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::body::parse_json;

    fn author() -> Author<'static> {
        Author {
            login: "robot_user",
            now: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
        }
    }

    fn new(kind: SubKind, json: &str) -> Result<(Sub, Placement), ValidationErrors> {
        new_sub(kind, 1, &parse_json(json.as_bytes()).unwrap(), &author())
    }

    #[test]
    fn durations_are_hh_mm_ss() {
        for good in ["00:00:00", "01:30:59", "123:00:00"] {
            assert!(is_duration(good), "{good}");
        }
        for bad in [
            "1:30:00",
            "01:60:00",
            "01:00:60",
            "01:00",
            "aa:bb:cc",
            "",
            "01:00:00:00",
        ] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn a_task_needs_a_name_and_a_known_status() {
        assert_eq!(
            new(SubKind::Tasks, r#"{"status": "done"}"#).unwrap_err(),
            vec![
                "Name can't be blank".to_string(),
                "Status must be one of pending, completed".to_string()
            ]
        );
    }

    #[test]
    fn a_task_requiring_a_duration_cannot_complete_without_one() {
        let err = new(
            SubKind::Tasks,
            r#"{"name": "QC", "requires_duration": true, "status": "completed"}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            vec!["Duration can't be blank when completing a task that requires it".to_string()]
        );
        let (sub, placement) = new(
            SubKind::Tasks,
            r#"{"name": "QC", "requires_duration": true, "status": "completed", "duration": "01:02:03", "position": 4}"#,
        )
        .unwrap();
        let Sub::Task(task) = sub else { panic!() };
        assert_eq!(task.duration.as_deref(), Some("01:02:03"));
        assert_eq!(placement, Placement::At(4));
    }

    #[test]
    fn requires_duration_is_fixed_at_creation() {
        let (mut sub, _) = new(SubKind::Tasks, r#"{"name": "Encode"}"#).unwrap();
        apply(
            &mut sub,
            &parse_json(br#"{"requires_duration": true, "duration": "01:00:00"}"#).unwrap(),
        )
        .unwrap();
        let Sub::Task(task) = sub else { panic!() };
        assert!(!task.requires_duration);
        assert_eq!(task.duration, None);
    }

    #[test]
    fn assets_check_status_and_progress() {
        let err = new(
            SubKind::Assets,
            r#"{"type_name": "trailer", "status": "lost", "progress": 101}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            vec![
                "Status must be one of pending, received, claimed".to_string(),
                "Progress must be between 0 and 100".to_string()
            ]
        );
        assert!(new(
            SubKind::Assets,
            r#"{"type_name": "trailer", "progress": 3.5}"#
        )
        .is_err());
    }

    #[test]
    fn notes_and_problems_record_their_author() {
        let (note, _) = new(
            SubKind::Notes,
            r#"{"body": "Hi", "creator": "someone else"}"#,
        )
        .unwrap();
        assert!(matches!(note, Sub::Note(ref n) if n.creator == "robot_user"));
        let (problem, _) = new(SubKind::Problems, r#"{"description": "Broken"}"#).unwrap();
        assert!(
            matches!(problem, Sub::Problem(ref p) if p.reporter == "robot_user" && !p.dismissed)
        );
        assert_eq!(
            new(SubKind::Problems, r#"{"dismissed": "maybe"}"#).unwrap_err(),
            vec![
                "Description can't be blank".to_string(),
                "Dismissed must be true or false".to_string()
            ]
        );
    }
}
