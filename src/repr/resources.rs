//! Builders: domain records → `Resource`, with their absolute links.
use super::{Expanded, Link, Resource, Scalar};
use crate::domain::events::{Attempt, Event};
use crate::domain::job::Job;
use crate::domain::subresources::{Sub, SubKind};
use crate::domain::WorkArea;
use chrono::{DateTime, NaiveDate, Utc};

/// Where links point: the public base URL (`https://host[:port]`, no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    pub base: String,
}

impl Urls {
    pub fn new(base: &str) -> Self {
        Urls {
            base: base.trim_end_matches('/').to_string(),
        }
    }

    pub fn api(&self) -> String {
        format!("{}/api", self.base)
    }

    pub fn events(&self) -> String {
        format!("{}/api/events", self.base)
    }

    pub fn event(&self, id: i64) -> String {
        format!("{}/api/events/{id}", self.base)
    }

    pub fn work_areas(&self) -> String {
        format!("{}/api/work_areas", self.base)
    }

    pub fn work_area(&self, id: i64) -> String {
        format!("{}/api/work_areas/{id}", self.base)
    }

    pub fn jobs(&self, work_area_id: i64) -> String {
        format!("{}/api/work_areas/{work_area_id}/jobs", self.base)
    }

    pub fn job(&self, work_area_id: i64, id: i64) -> String {
        format!("{}/api/work_areas/{work_area_id}/jobs/{id}", self.base)
    }

    pub fn subs(&self, work_area_id: i64, job_id: i64, kind: SubKind) -> String {
        format!("{}/{}", self.job(work_area_id, job_id), kind.plural())
    }

    pub fn sub(&self, work_area_id: i64, job_id: i64, kind: SubKind, id: i64) -> String {
        format!("{}/{id}", self.subs(work_area_id, job_id, kind))
    }
}

pub fn root(urls: &Urls) -> Resource {
    Resource {
        kind: "sequence",
        fields: vec![],
        links: vec![
            Link::new("work_areas", urls.work_areas()),
            Link::new("events", urls.events()),
        ],
    }
}

/// An event of the change feed; `subject` links to what changed (`?deleted` once its job is
/// deleted), and nests it when given.
pub fn event(urls: &Urls, event: &Event, subject: Option<Resource>) -> Resource {
    let flag = if event.job_deleted { "?deleted" } else { "" };
    let subject_href = match SubKind::ALL
        .iter()
        .find(|k| k.singular() == event.subject_kind)
    {
        Some(kind) => urls.sub(event.work_area_id, event.job_id, *kind, event.subject_id),
        None => urls.job(event.work_area_id, event.job_id),
    };
    let mut fields = vec![
        ("id", Scalar::Int(event.id)),
        ("event_type", Scalar::Str(event.event_type.clone())),
    ];
    if let Some(changes) = &event.changes {
        fields.push(("changes", Scalar::Str(changes.clone())));
    }
    fields.push(("timestamp", Scalar::DateTime(event.timestamp)));
    let mut subject_link = Link::new("subject", format!("{subject_href}{flag}"));
    subject_link.expanded = subject.map(|s| Expanded::One(Box::new(s)));
    Resource {
        kind: "event",
        fields,
        links: vec![Link::new("self", urls.event(event.id)), subject_link],
    }
}

/// One attempt at delivering an event to a hook.
pub fn delivery(urls: &Urls, attempt: &Attempt) -> Resource {
    let next_retry = attempt
        .next_retry_ms
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map_or(Scalar::Null, Scalar::DateTime);
    Resource {
        kind: "delivery",
        fields: vec![
            ("event_id", Scalar::Int(attempt.event_id)),
            ("attempt", Scalar::Int(i64::from(attempt.attempt))),
            ("attempted_at", Scalar::DateTime(attempt.attempted_at)),
            (
                "response_status",
                attempt
                    .response_status
                    .map_or(Scalar::Null, |s| Scalar::Int(i64::from(s))),
            ),
            ("error", attempt.error.clone().into()),
            ("latency_ms", Scalar::Int(attempt.latency_ms)),
            ("next_retry_at", next_retry),
        ],
        links: vec![Link::new("event", urls.event(attempt.event_id))],
    }
}

pub fn work_area(urls: &Urls, area: &WorkArea) -> Resource {
    Resource {
        kind: "work_area",
        fields: vec![
            ("id", Scalar::Int(area.id)),
            ("name", Scalar::Str(area.name.clone())),
        ],
        links: vec![
            Link::new("self", urls.work_area(area.id)),
            Link::new("jobs", urls.jobs(area.id)),
        ],
    }
}

/// A job with its derived statuses as of `today`. A deleted job's own links carry `?deleted`
/// so that following them keeps working.
pub fn job(urls: &Urls, job: &Job, today: NaiveDate) -> Resource {
    let counts = &job.counts;
    let fields = vec![
        ("id", Scalar::Int(job.id)),
        ("name", Scalar::Str(job.name.clone())),
        ("due_date", Scalar::Date(job.due_date)),
        ("begins_at", Scalar::Date(job.begins_at)),
        ("ends_at", job.ends_at.into()),
        ("licensor_name", Scalar::Str(job.licensor_name.clone())),
        (
            "status",
            Scalar::Str(counts.job_status(&job.schedule(), today).as_str().into()),
        ),
        (
            "tasks_status",
            Scalar::Str(counts.tasks_status().as_str().into()),
        ),
        (
            "assets_status",
            Scalar::Str(counts.assets_status().as_str().into()),
        ),
        ("tag_list", Scalar::Str(job.tag_list.clone())),
        ("title_external_id", job.title_external_id.clone().into()),
    ];
    let flag = if job.deleted { "?deleted" } else { "" };
    let own = urls.job(job.work_area_id, job.id);
    let mut links = vec![
        Link::new("self", format!("{own}{flag}")),
        Link::new("work_area", urls.work_area(job.work_area_id)),
    ];
    for rel in ["assets", "tasks", "notes", "problems", "hooks"] {
        links.push(Link::new(rel, format!("{own}/{rel}{flag}")));
    }
    let external = [
        ("scheduling", &job.external.scheduling),
        ("metadata", &job.external.metadata),
        ("title", &job.external.title),
    ];
    for (rel, href) in external {
        if let Some(href) = href {
            links.push(Link::new(rel, href.clone()));
        }
    }
    links.push(Link {
        expanded: None,
        rel: "web",
        href: format!(
            "{}/video_services/{}/scheduled_titles/{}/workflow{flag}",
            urls.base, job.work_area_id, job.id
        ),
        html: true,
    });
    Resource {
        kind: "job",
        fields,
        links,
    }
}

/// A task, asset, note or problem. They have no `<id>` element: the id is in the self link.
/// Sub-resources of a deleted job link with `?deleted`, as the job does.
pub fn sub(urls: &Urls, work_area_id: i64, sub: &Sub, job_deleted: bool) -> Resource {
    let flag = if job_deleted { "?deleted" } else { "" };
    let (kind, id, job_id) = (sub.kind(), sub.id(), sub.job_id());
    let fields = match sub {
        Sub::Task(t) => {
            let mut fields = vec![
                ("name", Scalar::Str(t.name.clone())),
                ("status", Scalar::Str(t.status.clone())),
                ("requires_duration", Scalar::Bool(t.requires_duration)),
            ];
            if t.requires_duration {
                fields.push(("duration", t.duration.clone().into()));
            }
            fields.push(("position", Scalar::Int(i64::from(t.position))));
            fields.push(("responsible_email", t.responsible_email.clone().into()));
            fields
        }
        Sub::Asset(a) => vec![
            ("type_name", Scalar::Str(a.type_name.clone())),
            ("status", Scalar::Str(a.status.clone())),
            (
                "progress",
                a.progress
                    .map_or(Scalar::Null, |p| Scalar::Int(i64::from(p))),
            ),
        ],
        Sub::Note(n) => vec![
            ("body", Scalar::Str(n.body.clone())),
            ("creator", Scalar::Str(n.creator.clone())),
            ("created_at", Scalar::DateTime(n.created_at)),
        ],
        Sub::Problem(p) => vec![
            ("description", Scalar::Str(p.description.clone())),
            ("dismissed", Scalar::Bool(p.dismissed)),
            ("reporter", Scalar::Str(p.reporter.clone())),
        ],
        Sub::Hook(h) => vec![
            ("url", Scalar::Str(h.url.clone())),
            ("events", Scalar::Str(h.events.clone())),
            ("format", Scalar::Str(h.format.clone())),
            ("active", Scalar::Bool(h.active)),
        ],
    };
    let own = urls.sub(work_area_id, job_id, kind, id);
    let mut links = vec![
        Link::new("self", format!("{own}{flag}")),
        Link::new("job", format!("{}{flag}", urls.job(work_area_id, job_id))),
    ];
    if kind == SubKind::Hooks {
        links.push(Link::new("deliveries", format!("{own}/deliveries{flag}")));
    }
    Resource {
        kind: kind.singular(),
        fields,
        links,
    }
}

/// Nests each expanded list inside the job's link of the same name.
pub fn expand(job: &mut Resource, lists: Vec<(SubKind, Vec<Resource>)>) {
    for (kind, items) in lists {
        if let Some(link) = job.links.iter_mut().find(|l| l.rel == kind.plural()) {
            link.expanded = Some(Expanded::List(items));
        }
    }
}
