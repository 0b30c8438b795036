//! Jobs: what a client may send to create or change one, and how a job's dates follow.
use super::attributes::{self as attr, collect, Attributes, Given};
use super::dates;
use super::status::{Counts, Schedule};
use super::{Template, ValidationErrors};
use chrono::NaiveDate;

/// References into the Movida product, kept as the absolute hrefs the client gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExternalRefs {
    pub scheduling: Option<String>,
    pub metadata: Option<String>,
    pub title: Option<String>,
}

/// A stored job, as the store reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub work_area_id: i64,
    pub name: String,
    pub due_date: NaiveDate,
    pub begins_at: NaiveDate,
    pub ends_at: Option<NaiveDate>,
    pub licensor_name: String,
    pub tag_list: String,
    pub title_external_id: Option<String>,
    pub external: ExternalRefs,
    pub due_date_offset_days: i32,
    pub deleted: bool,
    pub counts: Counts,
}

impl Job {
    pub fn schedule(&self) -> Schedule {
        Schedule {
            due_date: self.due_date,
            begins_at: self.begins_at,
            ends_at: self.ends_at,
        }
    }
}

/// A validated create request; the template is still only a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub name: String,
    pub begins_at: NaiveDate,
    pub ends_at: Option<NaiveDate>,
    pub licensor_name: String,
    pub template: String,
    pub tag_list: String,
    pub title_external_id: Option<String>,
    pub external: ExternalRefs,
}

/// Everything the store writes for a new job, dates already derived from the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPlan {
    pub job: NewJob,
    pub template_id: i64,
    pub due_date: NaiveDate,
    pub ends_at: Option<NaiveDate>,
    pub due_date_offset_days: i32,
}

/// A partial update: `None` leaves an attribute as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobChanges {
    pub name: Option<String>,
    pub begins_at: Option<NaiveDate>,
    pub ends_at: Option<Option<NaiveDate>>,
    pub licensor_name: Option<String>,
    pub tag_list: Option<String>,
    pub title_external_id: Option<Option<String>>,
    pub scheduling: Option<Option<String>>,
    pub metadata: Option<Option<String>>,
    pub title: Option<Option<String>>,
}

/// Tags are stored trimmed, without empties, in the order given, and rendered joined by `,`.
pub fn normalize_tag_list(raw: &str) -> String {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads a create request. Read-only attributes (`id`, `due-date`, the statuses) and unknown
/// ones are ignored; every problem found is reported, not just the first.
pub fn new_job(attrs: &Attributes) -> Result<NewJob, ValidationErrors> {
    let mut errors = Vec::new();
    let name = attr::required_string(attrs, "name", &mut errors);
    let begins_at = match attr::date(attrs, "begins_at") {
        Ok(Given::Value(d)) => Some(d),
        Ok(_) => {
            errors.push("Begins at can't be blank".to_string());
            None
        }
        Err(message) => {
            errors.push(message);
            None
        }
    };
    let ends_at = collect(attr::date(attrs, "ends_at"), &mut errors).into_option();
    let licensor_name = attr::required_string(attrs, "licensor_name", &mut errors);
    let template = attr::required_string(attrs, "template", &mut errors);
    let tag_list = collect(attr::string(attrs, "tag_list"), &mut errors)
        .into_option()
        .map(|t| normalize_tag_list(&t))
        .unwrap_or_default();
    let title_external_id =
        collect(attr::string(attrs, "title_external_id"), &mut errors).into_option();
    let external = external_refs(attrs, &mut errors);

    match (name, begins_at, licensor_name, template) {
        (Some(name), Some(begins_at), Some(licensor_name), Some(template)) if errors.is_empty() => {
            Ok(NewJob {
                name,
                begins_at,
                ends_at,
                licensor_name,
                template,
                tag_list,
                title_external_id,
                external: ExternalRefs {
                    scheduling: external.scheduling.flatten(),
                    metadata: external.metadata.flatten(),
                    title: external.title.flatten(),
                },
            })
        }
        _ => Err(errors),
    }
}

struct ExternalChanges {
    scheduling: Option<Option<String>>,
    metadata: Option<Option<String>>,
    title: Option<Option<String>>,
}

fn external_refs(attrs: &Attributes, errors: &mut Vec<String>) -> ExternalChanges {
    let mut read = |rel| {
        attr::external_link(attrs, rel).unwrap_or_else(|message| {
            errors.push(message);
            None
        })
    };
    ExternalChanges {
        scheduling: read("scheduling"),
        metadata: read("metadata"),
        title: read("title"),
    }
}

/// Reads a create request against the template it names (`None`: no such template), deriving
/// the new job's dates from it. Every problem is reported, the unknown template included.
pub fn plan(attrs: &Attributes, template: Option<&Template>) -> Result<JobPlan, ValidationErrors> {
    let read = new_job(attrs);
    let template_named =
        matches!(attr::string(attrs, "template"), Ok(Given::Value(ref t)) if !t.trim().is_empty());
    let (job, template) = match (read, template) {
        (Ok(job), Some(template)) => (job, template),
        (Ok(_), None) => return Err(vec!["Template can't be found".to_string()]),
        (Err(mut errors), None) if template_named => {
            errors.push("Template can't be found".to_string());
            return Err(errors);
        }
        (Err(errors), _) => return Err(errors),
    };
    let offset = template.due_date_offset_days;
    let out_of_range = || vec!["Begins at is out of range".to_string()];
    let due_date = dates::due_date(job.begins_at, offset).ok_or_else(out_of_range)?;
    let ends_at = match job.ends_at {
        Some(ends) => ends,
        None => dates::default_ends_at(due_date).ok_or_else(out_of_range)?,
    };
    Ok(JobPlan {
        job,
        template_id: template.id,
        due_date,
        ends_at: Some(ends_at),
        due_date_offset_days: offset,
    })
}

/// Reads an update request: only what is sent changes.
pub fn changes(attrs: &Attributes) -> Result<JobChanges, ValidationErrors> {
    let mut errors = Vec::new();
    let non_blank = |name: &str, errors: &mut Vec<String>| -> Option<String> {
        match collect(attr::string(attrs, name), errors) {
            Given::Absent => None,
            Given::Value(s) if !s.trim().is_empty() => Some(s),
            _ => {
                errors.push(format!("{} can't be blank", attr::human_name(name)));
                None
            }
        }
    };
    let name = non_blank("name", &mut errors);
    let licensor_name = non_blank("licensor_name", &mut errors);
    let begins_at = match collect(attr::date(attrs, "begins_at"), &mut errors) {
        Given::Absent => None,
        Given::Value(d) => Some(d),
        Given::Null => {
            errors.push("Begins at can't be blank".to_string());
            None
        }
    };
    let ends_at = collect(attr::date(attrs, "ends_at"), &mut errors).into_change();
    let tag_list = collect(attr::string(attrs, "tag_list"), &mut errors)
        .into_change()
        .map(|t| normalize_tag_list(t.as_deref().unwrap_or("")));
    let title_external_id =
        collect(attr::string(attrs, "title_external_id"), &mut errors).into_change();
    let external = external_refs(attrs, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(JobChanges {
        name,
        begins_at,
        ends_at,
        licensor_name,
        tag_list,
        title_external_id,
        scheduling: external.scheduling,
        metadata: external.metadata,
        title: external.title,
    })
}

impl Job {
    /// Applies a partial update; `due-date` follows `begins-at` by the job's template offset.
    pub fn apply(&mut self, c: &JobChanges) -> Result<(), ValidationErrors> {
        if let Some(begins_at) = c.begins_at {
            self.due_date = dates::due_date(begins_at, self.due_date_offset_days)
                .ok_or_else(|| vec!["Begins at is out of range".to_string()])?;
            self.begins_at = begins_at;
        }
        set(&mut self.name, &c.name);
        set(&mut self.ends_at, &c.ends_at);
        set(&mut self.licensor_name, &c.licensor_name);
        set(&mut self.tag_list, &c.tag_list);
        set(&mut self.title_external_id, &c.title_external_id);
        set(&mut self.external.scheduling, &c.scheduling);
        set(&mut self.external.metadata, &c.metadata);
        set(&mut self.external.title, &c.title);
        Ok(())
    }
}

fn set<T: Clone>(field: &mut T, change: &Option<T>) {
    if let Some(value) = change {
        *field = value.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_lists_are_trimmed_and_empties_dropped() {
        assert_eq!(normalize_tag_list("Drama, Surreal"), "Drama,Surreal");
        assert_eq!(normalize_tag_list(" , Action,,"), "Action");
        assert_eq!(normalize_tag_list(""), "");
    }
}
