//! Hook deliveries: a worker per server process takes due deliveries from the queue in the
//! database (claimed with a lease, so processes sharing a database never send the same attempt
//! twice), POSTs each event to its hook, and records the attempt. Failures are retried with
//! exponential backoff for about a day; a 4xx other than 429 ends them.
use crate::domain::events::{Attempt, DeliveryState, DueDelivery};
use crate::domain::subresources::SubKind;
use crate::repr::resources::{self, Urls};
use crate::repr::{render_resource, Format, Resource};
use crate::store::SharedRepository;
use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How hooks behave; from the configuration.
#[derive(Debug, Clone)]
pub struct HookSettings {
    /// Let hooks call loopback, private and link-local addresses.
    pub allow_private: bool,
    /// The first retry delay; each further one doubles it.
    pub retry_base: Duration,
}

const POLL_EVERY: Duration = Duration::from_millis(250);
const TIMEOUT: Duration = Duration::from_secs(10);
/// A claim outlives the slowest attempt, so a live worker never loses its delivery.
const LEASE: Duration = Duration::from_secs(60);
const CLAIM_AT_ONCE: i64 = 16;
/// With the default 30 s base and the 6 h cap, 13 tries span about a day.
const MAX_ATTEMPTS: i32 = 13;
const MAX_DELAY: Duration = Duration::from_secs(6 * 3600);

/// Refuses URLs that resolve to this machine or a private network (unless allowed): a hook
/// must not become a way to reach what only the server can reach.
pub async fn check_destination(url: &str, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| "Url is not a valid URL".to_string())?;
    let host = parsed
        .host_str()
        .ok_or_else(|| "Url has no host".to_string())?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| "Url host cannot be resolved".to_string())?
            .map(|a| a.ip())
            .collect(),
    };
    if addresses.is_empty() || addresses.iter().any(|ip| !is_public(*ip)) {
        return Err("Url must not point to a loopback, private or link-local address".into());
    }
    Ok(())
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, the value of `X-Sequence-Signature`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delay before try number `attempt + 1`, after `attempt` failed ones.
pub fn backoff(base: Duration, attempt: i32) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    base.saturating_mul(1 << doublings).min(MAX_DELAY)
}

/// Stops the worker when the server that owns it goes away.
pub struct Worker(JoinHandle<()>);

impl Drop for Worker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts this process's delivery worker; `urls` is where the payload's links point.
pub fn start(repo: SharedRepository, settings: HookSettings, urls: Urls) -> Worker {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        // A redirect could lead anywhere, past the destination check.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    Worker(tokio::spawn(async move {
        loop {
            let now = Utc::now().timestamp_millis();
            let lease = LEASE.as_millis() as i64;
            match repo.claim_deliveries(now, lease, CLAIM_AT_ONCE).await {
                Ok(due) if !due.is_empty() => {
                    let sends = due
                        .into_iter()
                        .map(|d| deliver(&client, &repo, &settings, &urls, d));
                    futures_util::future::join_all(sends).await;
                }
                Ok(_) => tokio::time::sleep(POLL_EVERY).await,
                Err(error) => {
                    tracing::warn!(%error, "claiming hook deliveries failed");
                    tokio::time::sleep(POLL_EVERY * 4).await;
                }
            }
        }
    }))
}

async fn deliver(
    client: &reqwest::Client,
    repo: &SharedRepository,
    settings: &HookSettings,
    urls: &Urls,
    due: DueDelivery,
) {
    let attempt_number = due.attempts + 1;
    let started = Instant::now();
    let attempted_at = Utc::now();
    let result = send(client, repo, settings, urls, &due).await;
    let latency_ms = started.elapsed().as_millis() as i64;
    let (response_status, error) = match &result {
        Ok(status) => (Some(i32::from(*status)), None),
        Err(error) => (None, Some(error.clone())),
    };
    let state = match result {
        Ok(status) if (200..300).contains(&status) => DeliveryState::Delivered,
        Ok(status) if (400..500).contains(&status) && status != 429 => DeliveryState::Failed,
        Err(ref e) if e.starts_with("Url ") => DeliveryState::Failed,
        _ if attempt_number >= MAX_ATTEMPTS => DeliveryState::Failed,
        _ => DeliveryState::Pending,
    };
    let next_retry_ms = (state == DeliveryState::Pending).then(|| {
        let delay = backoff(settings.retry_base, attempt_number);
        Utc::now().timestamp_millis() + delay.as_millis() as i64
    });
    let attempt = Attempt {
        event_id: due.event.id,
        attempt: attempt_number,
        attempted_at,
        response_status,
        error,
        latency_ms,
        next_retry_ms,
    };
    if let Err(error) = repo.record_attempt(due.id, &attempt, state).await {
        tracing::warn!(%error, delivery = due.id, "recording a hook delivery failed");
    }
}

/// One POST of the event, subject expanded, in the hook's format: the response status, or why
/// there was none.
async fn send(
    client: &reqwest::Client,
    repo: &SharedRepository,
    settings: &HookSettings,
    urls: &Urls,
    due: &DueDelivery,
) -> Result<u16, String> {
    check_destination(&due.hook.url, settings.allow_private).await?;
    let format = if due.hook.format == "json" {
        Format::Json
    } else {
        Format::Xml
    };
    let subject = subject(repo, urls, due).await;
    let body = render_resource(format, &resources::event(urls, &due.event, subject));
    let response = client
        .post(&due.hook.url)
        .header("Content-Type", format.content_type())
        .header("X-Sequence-Event", due.event.id.to_string())
        .header(
            "X-Sequence-Signature",
            signature(&due.hook.secret, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_string()
            } else {
                format!("connection failed: {}", e.without_url())
            }
        })?;
    Ok(response.status().as_u16())
}

/// The event's subject as it is now; `None` once it is gone (a deleted task).
async fn subject(repo: &SharedRepository, urls: &Urls, due: &DueDelivery) -> Option<Resource> {
    let event = &due.event;
    if event.subject_kind == "job" {
        let job = repo
            .job(event.work_area_id, event.job_id, event.job_deleted)
            .await
            .ok()??;
        return Some(resources::job(urls, &job, Utc::now().date_naive()));
    }
    let kind = SubKind::ALL
        .into_iter()
        .find(|k| k.singular() == event.subject_kind)?;
    let sub = repo
        .sub(kind, event.job_id, event.subject_id)
        .await
        .ok()??;
    Some(resources::sub(
        urls,
        event.work_area_id,
        &sub,
        event.job_deleted,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_local_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), Duration::from_secs(30));
        assert_eq!(backoff(base, 2), Duration::from_secs(60));
        assert_eq!(backoff(base, 5), Duration::from_secs(480));
        assert_eq!(backoff(base, 40), MAX_DELAY);
        let total: Duration = (1..MAX_ATTEMPTS).map(|a| backoff(base, a)).sum();
        assert!(
            total > Duration::from_secs(18 * 3600) && total < Duration::from_secs(36 * 3600),
            "{total:?}"
        );
    }

    #[test]
    fn signatures_are_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[tokio::test]
    async fn destinations_on_private_networks_are_refused() {
        assert!(check_destination("http://127.0.0.1:9/x", false)
            .await
            .is_err());
        assert!(check_destination("http://localhost/x", false)
            .await
            .is_err());
        assert!(check_destination("http://[::1]/x", false).await.is_err());
        assert!(check_destination("http://10.0.0.1/x", false).await.is_err());
        assert!(check_destination("http://127.0.0.1:9/x", true)
            .await
            .is_ok());
    }
}
