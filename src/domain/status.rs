//! The derived statuses of a job: `status`, `tasks-status` and `assets-status`.
//!
//! They are computed on every read from the job's counters and today's date and never stored,
//! because `late`, `live` and `passed` change with the calendar alone.
use chrono::NaiveDate;
use std::fmt;

/// What a job's sub-resources add up to; maintained by the store alongside every change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tasks: i64,
    pub tasks_completed: i64,
    pub assets: i64,
    pub assets_received: i64,
    pub active_problems: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TasksStatus {
    Pending,
    InProgress,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetsStatus {
    NotReceived,
    PartlyReceived,
    Received,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Late,
    Pending,
    Done,
    Live,
    Passed,
}

/// The dates of a job that its status depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub due_date: NaiveDate,
    pub begins_at: NaiveDate,
    pub ends_at: Option<NaiveDate>,
}

impl Counts {
    /// A job with no tasks counts as having completed them all.
    pub fn tasks_status(&self) -> TasksStatus {
        if self.tasks_completed >= self.tasks {
            TasksStatus::Completed
        } else if self.tasks_completed == 0 {
            TasksStatus::Pending
        } else {
            TasksStatus::InProgress
        }
    }

    /// A job with no assets counts as having received them all.
    pub fn assets_status(&self) -> AssetsStatus {
        if self.assets_received >= self.assets {
            AssetsStatus::Received
        } else if self.assets_received == 0 {
            AssetsStatus::NotReceived
        } else {
            AssetsStatus::PartlyReceived
        }
    }

    /// All tasks completed and all assets received (the `ready` filter).
    pub fn is_finished(&self) -> bool {
        self.tasks_status() == TasksStatus::Completed
            && self.assets_status() == AssetsStatus::Received
    }

    pub fn job_status(&self, schedule: &Schedule, today: NaiveDate) -> JobStatus {
        if !self.is_finished() {
            return if schedule.due_date < today {
                JobStatus::Late
            } else {
                JobStatus::Pending
            };
        }
        if today < schedule.begins_at {
            JobStatus::Done
        } else if schedule.ends_at.is_some_and(|ends| today > ends) {
            JobStatus::Passed
        } else {
            JobStatus::Live
        }
    }
}

impl TasksStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TasksStatus::Pending => "pending",
            TasksStatus::InProgress => "in_progress",
            TasksStatus::Completed => "completed",
        }
    }
}

impl AssetsStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetsStatus::NotReceived => "not_received",
            AssetsStatus::PartlyReceived => "partly_received",
            AssetsStatus::Received => "received",
        }
    }
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Late => "late",
            JobStatus::Pending => "pending",
            JobStatus::Done => "done",
            JobStatus::Live => "live",
            JobStatus::Passed => "passed",
        }
    }
}

/// The `filter` values of the jobs list. Each one is a condition on the counters, so the store
/// can evaluate it in its query; `matches` is the same rule for code and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Ready,
    Pending,
    Completed,
    NotCompleted,
    Received,
    NotReceived,
    Problematic,
    NotProblematic,
}

impl Filter {
    pub const ALL: [Filter; 8] = [
        Filter::Ready,
        Filter::Pending,
        Filter::Completed,
        Filter::NotCompleted,
        Filter::Received,
        Filter::NotReceived,
        Filter::Problematic,
        Filter::NotProblematic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Filter::Ready => "ready",
            Filter::Pending => "pending",
            Filter::Completed => "completed",
            Filter::NotCompleted => "not_completed",
            Filter::Received => "received",
            Filter::NotReceived => "not_received",
            Filter::Problematic => "problematic",
            Filter::NotProblematic => "not_problematic",
        }
    }

    pub fn parse(value: &str) -> Option<Filter> {
        Filter::ALL.into_iter().find(|f| f.as_str() == value)
    }

    pub fn matches(self, counts: &Counts) -> bool {
        let all_tasks = counts.tasks_completed >= counts.tasks;
        let all_assets = counts.assets_received >= counts.assets;
        match self {
            Filter::Ready => all_tasks && all_assets,
            Filter::Pending => !(all_tasks && all_assets),
            Filter::Completed => all_tasks,
            Filter::NotCompleted => !all_tasks,
            Filter::Received => all_assets,
            Filter::NotReceived => !all_assets,
            Filter::Problematic => counts.active_problems > 0,
            Filter::NotProblematic => counts.active_problems == 0,
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn counts(tasks: (i64, i64), assets: (i64, i64)) -> Counts {
        Counts {
            tasks: tasks.0,
            tasks_completed: tasks.1,
            assets: assets.0,
            assets_received: assets.1,
            active_problems: 0,
        }
    }

    #[test]
    fn tasks_status_covers_every_value() {
        assert_eq!(counts((3, 0), (0, 0)).tasks_status(), TasksStatus::Pending);
        assert_eq!(
            counts((3, 1), (0, 0)).tasks_status(),
            TasksStatus::InProgress
        );
        assert_eq!(
            counts((3, 3), (0, 0)).tasks_status(),
            TasksStatus::Completed
        );
        assert_eq!(
            counts((0, 0), (0, 0)).tasks_status(),
            TasksStatus::Completed
        );
    }

    #[test]
    fn assets_status_covers_every_value() {
        assert_eq!(
            counts((0, 0), (2, 0)).assets_status(),
            AssetsStatus::NotReceived
        );
        assert_eq!(
            counts((0, 0), (2, 1)).assets_status(),
            AssetsStatus::PartlyReceived
        );
        assert_eq!(
            counts((0, 0), (2, 2)).assets_status(),
            AssetsStatus::Received
        );
        assert_eq!(
            counts((0, 0), (0, 0)).assets_status(),
            AssetsStatus::Received
        );
    }

    #[test]
    fn job_status_covers_every_value() {
        let schedule = Schedule {
            due_date: date("2011-01-10"),
            begins_at: date("2011-01-15"),
            ends_at: Some(date("2011-02-15")),
        };
        let unfinished = counts((2, 1), (1, 1));
        let finished = counts((2, 2), (1, 1));
        let status = |c: Counts, today: &str| c.job_status(&schedule, date(today));

        assert_eq!(status(unfinished, "2011-01-10"), JobStatus::Pending);
        assert_eq!(status(unfinished, "2011-01-11"), JobStatus::Late);
        assert_eq!(status(finished, "2011-01-14"), JobStatus::Done);
        assert_eq!(status(finished, "2011-01-15"), JobStatus::Live);
        assert_eq!(status(finished, "2011-02-15"), JobStatus::Live);
        assert_eq!(status(finished, "2011-02-16"), JobStatus::Passed);
    }

    #[test]
    fn an_open_ended_finished_job_stays_live() {
        let schedule = Schedule {
            due_date: date("2011-01-10"),
            begins_at: date("2011-01-15"),
            ends_at: None,
        };
        let today = date("2099-01-01");
        assert_eq!(
            counts((0, 0), (0, 0)).job_status(&schedule, today),
            JobStatus::Live
        );
    }

    #[test]
    fn filters_agree_with_the_statuses() {
        let mixed = counts((2, 1), (2, 2));
        assert!(Filter::Pending.matches(&mixed));
        assert!(Filter::NotCompleted.matches(&mixed));
        assert!(Filter::Received.matches(&mixed));
        assert!(!Filter::Ready.matches(&mixed));
        assert!(!Filter::Completed.matches(&mixed));
        assert!(!Filter::NotReceived.matches(&mixed));
        let empty = Counts::default();
        assert!(Filter::Ready.matches(&empty));
        assert!(Filter::NotProblematic.matches(&empty));
        let troubled = Counts {
            active_problems: 1,
            ..empty
        };
        assert!(Filter::Problematic.matches(&troubled));
    }

    #[test]
    fn filter_names_round_trip() {
        for f in Filter::ALL {
            assert_eq!(Filter::parse(f.as_str()), Some(f));
        }
        assert_eq!(Filter::parse("bogus"), None);
    }
}
