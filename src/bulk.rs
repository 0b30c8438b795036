//! Generated data in bulk, for benchmarks and for trying the server at scale:
//! `sequence fixtures generate --jobs N` fills a work area with jobs that have a realistic spread
//! of task and asset statuses, some problems and some deleted jobs.
use crate::fixtures::{AccountFixture, Fixtures, TaskFixture, TemplateFixture};
use chrono::{Days, Months, NaiveDate};

/// The template every generated job follows: eight tasks and four assets.
pub const TEMPLATE: &str = "Eight";
const TASKS: [&str; 8] = [
    "Request materials",
    "Ingest",
    "Encode",
    "Subtitle",
    "Artwork",
    "Metadata",
    "Quality check",
    "Publish",
];
const ASSETS: [&str; 4] = ["feature_film", "trailer", "box_art", "subtitles"];

/// One job as it will be stored, with its sub-resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedJob {
    pub name: String,
    pub begins_at: NaiveDate,
    pub ends_at: NaiveDate,
    pub licensor_name: &'static str,
    pub tag_list: &'static str,
    /// `(name, completed)` by position.
    pub tasks: Vec<(&'static str, bool)>,
    /// `(type name, status)`.
    pub assets: Vec<(&'static str, &'static str)>,
    /// One entry per problem: `true` when dismissed.
    pub problems: Vec<bool>,
    pub deleted: bool,
}

/// The `Eight` template, added to the first account of `fixtures` (the demo account).
pub fn with_template(mut fixtures: Fixtures) -> Fixtures {
    let template = TemplateFixture {
        name: TEMPLATE.into(),
        due_date_offset_days: 0,
        tasks: TASKS
            .iter()
            .map(|name| TaskFixture {
                name: (*name).into(),
                requires_duration: false,
                responsible_email: None,
            })
            .collect(),
        assets: ASSETS.iter().map(|a| (*a).into()).collect(),
    };
    match fixtures.accounts.first_mut() {
        Some(account) => account.templates.push(template),
        None => fixtures.accounts.push(AccountFixture {
            name: "Demo".into(),
            users: vec![],
            work_areas: vec![],
            templates: vec![template],
        }),
    }
    fixtures
}

/// A fast, stable pseudo-random number for job `n` and a purpose (splitmix64), so that the
/// same command always generates the same data.
fn roll(n: u64, purpose: u64) -> u64 {
    let mut z = n
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(purpose.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Job number `n` (0-based): 30% of jobs have every task completed, 40% some; 35% every asset
/// received, 35% some (a few claimed); 3% an active problem, 2% a dismissed one; 5% deleted.
pub fn job(n: u64) -> GeneratedJob {
    let percent = |purpose| roll(n, purpose) % 100;
    let completed = match percent(1) {
        0..=29 => 8,
        30..=69 => 1 + (roll(n, 2) % 7) as usize,
        _ => 0,
    };
    let received = match percent(3) {
        0..=34 => 4,
        35..=69 => 1 + (roll(n, 4) % 3) as usize,
        _ => 0,
    };
    let problems = match percent(5) {
        0..=2 => vec![false],
        3..=4 => vec![true],
        _ => vec![],
    };
    let base = NaiveDate::from_ymd_opt(2010, 1, 1).expect("a valid date");
    let begins_at = base + Days::new(roll(n, 6) % 1095);
    GeneratedJob {
        name: format!("Generated job {}", n + 1),
        begins_at,
        ends_at: begins_at + Months::new(2),
        licensor_name: ["Miramax", "Warner", "Universal", "Fox"][(roll(n, 7) % 4) as usize],
        tag_list: ["Drama", "Action,Thriller", "Comedy", ""][(roll(n, 8) % 4) as usize],
        tasks: TASKS
            .iter()
            .enumerate()
            .map(|(i, name)| (*name, i < completed))
            .collect(),
        assets: ASSETS
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                let status = if i < received {
                    "received"
                } else if i == 3 && percent(9) < 10 {
                    "claimed"
                } else {
                    "pending"
                };
                (*kind, status)
            })
            .collect(),
        problems,
        deleted: percent(10) < 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_is_close_to_what_it_promises() {
        let jobs: Vec<GeneratedJob> = (0..10_000).map(job).collect();
        let share = |f: &dyn Fn(&GeneratedJob) -> bool| {
            jobs.iter().filter(|j| f(j)).count() as f64 / jobs.len() as f64
        };
        let all_tasks = share(&|j| j.tasks.iter().all(|t| t.1));
        let deleted = share(&|j| j.deleted);
        let problematic = share(&|j| j.problems.contains(&false));
        assert!((0.27..0.33).contains(&all_tasks), "{all_tasks}");
        assert!((0.04..0.06).contains(&deleted), "{deleted}");
        assert!((0.02..0.04).contains(&problematic), "{problematic}");
        assert_eq!(job(42), job(42), "generation is deterministic");
    }
}
