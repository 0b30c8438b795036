//! A short-lived memory of who the robot users are and which work areas their accounts own.
//! Every request needs both and they change only when fixtures are loaded, so reading them from
//! the database each time would double the queries of a simple GET.
use crate::domain::{User, WorkArea};
use crate::store::{SharedRepository, StoreResult};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How stale an answer may be: a password or work area changed by `fixtures load` on a running
/// server takes effect within this time.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; past this the memory starts over (a flood of unknown logins cannot
/// grow it without bound).
const CAPACITY: usize = 10_000;

/// Answers with the time they were read.
type Memory<K, V> = Mutex<HashMap<K, (Instant, Option<V>)>>;

pub struct Directory {
    repo: SharedRepository,
    users: Memory<String, User>,
    /// By (account, work area id).
    work_areas: Memory<(i64, i64), WorkArea>,
}

impl Directory {
    pub fn new(repo: SharedRepository) -> Self {
        Directory {
            repo,
            users: Mutex::new(HashMap::new()),
            work_areas: Mutex::new(HashMap::new()),
        }
    }

    pub async fn user(&self, login: &str) -> StoreResult<Option<User>> {
        if let Some(user) = fresh(&self.users, login) {
            return Ok(user);
        }
        let user = self.repo.user_by_login(login).await?;
        remember(&self.users, login.to_string(), user.clone());
        Ok(user)
    }

    /// A work area of the account; `None` for one that does not exist or is another account's.
    pub async fn work_area(&self, account_id: i64, id: i64) -> StoreResult<Option<WorkArea>> {
        if let Some(area) = fresh(&self.work_areas, &(account_id, id)) {
            return Ok(area);
        }
        let area = self.repo.work_area(account_id, id).await?;
        remember(&self.work_areas, (account_id, id), area.clone());
        Ok(area)
    }
}

fn fresh<K, Q, V>(map: &Mutex<HashMap<K, (Instant, V)>>, key: &Q) -> Option<V>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
    V: Clone,
{
    let map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.get(key)
        .filter(|(at, _)| at.elapsed() < TTL)
        .map(|(_, value)| value.clone())
}

fn remember<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, (Instant, V)>>, key: K, value: V) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= CAPACITY {
        map.clear();
    }
    map.insert(key, (Instant::now(), value));
}
