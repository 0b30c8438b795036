//! Server-side HTTP Digest access authentication (RFC 2617 / RFC 7616), MD5 only.
//!
//! Typical use from a request handler:
//!
//! 1. No `Authorization` header, or [`parse_authorization`] fails: answer `401`
//!    with `WWW-Authenticate: <DigestAuth::challenge(false)>`.
//! 2. Look up the stored HA1 for `creds.username` (see [`ha1_md5`]) and call
//!    [`DigestAuth::verify`] with the method and the *raw* request target.
//! 3. [`Verdict::Stale`]: answer `401` with `challenge(true)` so the client
//!    silently retries with a fresh nonce; [`Verdict::Rejected`]: `401` with
//!    `challenge(false)`.
//!
//! Nonces are stateless (an HMAC over their issue time), so any process that
//! shares the secret accepts them. Replay protection of `(nonce, nc)` pairs is
//! kept in memory and is therefore per process.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Bytes in a decoded nonce: 8 (issue time) + 8 (random) + 16 (truncated MAC).
const NONCE_RAW_LEN: usize = 32;
/// Length of the part of the nonce covered by the MAC (time + random).
const NONCE_SIGNED_LEN: usize = 16;
/// How far in the future a nonce's issue time may be before it counts as stale.
/// Tolerates small clock differences between processes sharing the secret.
const MAX_CLOCK_SKEW_SECS: u64 = 5;
/// The replay cache is never pruned while it holds fewer nonces than this.
const PRUNE_MIN_ENTRIES: usize = 1024;

/// Issues Digest challenges and verifies the credentials sent back.
pub struct DigestAuth {
    realm: String,
    opaque: String,
    /// Keyed once with the secret; cloned per use so the key schedule is not redone.
    mac: HmacSha256,
    nonce_ttl_secs: u64,
    replay: Mutex<ReplayCache>,
}

/// Credentials from an `Authorization: Digest ...` header, quoted values unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Option<String>,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub cnonce: Option<String>,
    pub opaque: Option<String>,
}

/// Outcome of [`DigestAuth::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Authenticated,
    /// The password was right but the nonce expired: re-challenge with `stale=true`.
    Stale,
    /// Authentication failed; the reason is for logs, not for the client.
    Rejected(&'static str),
}

/// Why an `Authorization` header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Another scheme (e.g. `Basic`) or an empty header.
    NotDigest,
    Malformed(&'static str),
    /// A required directive is absent; carries its name.
    Missing(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotDigest => f.write_str("not a Digest authorization"),
            ParseError::Malformed(why) => write!(f, "malformed Digest authorization: {why}"),
            ParseError::Missing(name) => write!(f, "Digest authorization lacks {name}"),
        }
    }
}

impl std::error::Error for ParseError {}

impl fmt::Debug for DigestAuth {
    // Hand-written so the keyed MAC (i.e. the secret) never ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestAuth")
            .field("realm", &self.realm)
            .field("nonce_ttl_secs", &self.nonce_ttl_secs)
            .finish_non_exhaustive()
    }
}

impl DigestAuth {
    /// `secret` is used directly as the HMAC-SHA256 key; every process that
    /// must accept the same nonces needs the same secret (use >= 32 random bytes).
    pub fn new(realm: &str, secret: &[u8], nonce_ttl: Duration) -> Self {
        // HMAC takes keys of any length (long ones are hashed), so this cannot fail.
        let mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
        let opaque = hex::encode(&mac_bytes(&mac, &[b"opaque:", realm.as_bytes()])[..16]);
        DigestAuth {
            realm: realm.to_owned(),
            opaque,
            mac,
            nonce_ttl_secs: nonce_ttl.as_secs(),
            replay: Mutex::new(ReplayCache::default()),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    pub fn opaque(&self) -> &str {
        &self.opaque
    }

    /// Value for one `WWW-Authenticate` header, with a nonce issued now.
    pub fn challenge(&self, stale: bool) -> String {
        let mut out = format!(
            "Digest realm=\"{}\", qop=\"auth\", algorithm=MD5, nonce=\"{}\", opaque=\"{}\"",
            escape_quoted(&self.realm),
            self.nonce_issued_at(now_unix_secs()),
            self.opaque
        );
        if stale {
            out.push_str(", stale=true");
        }
        out
    }

    /// A nonce as if issued at `issued_unix_secs`:
    /// `hex(time u64 BE) + hex(8 random bytes) + hex(HMAC(time || random)[..16])`.
    pub fn nonce_issued_at(&self, issued_unix_secs: u64) -> String {
        let mut raw = [0u8; NONCE_RAW_LEN];
        raw[..8].copy_from_slice(&issued_unix_secs.to_be_bytes());
        raw[8..NONCE_SIGNED_LEN].copy_from_slice(&rand::random::<[u8; 8]>());
        let tag = mac_bytes(&self.mac, &[&raw[..NONCE_SIGNED_LEN]]);
        raw[NONCE_SIGNED_LEN..].copy_from_slice(&tag[..NONCE_RAW_LEN - NONCE_SIGNED_LEN]);
        hex::encode(raw)
    }

    /// Checks credentials for a request.
    ///
    /// `raw_uri` is the request target exactly as received (path and query,
    /// not decoded); `ha1` is the stored hex MD5 of `user:realm:password` for
    /// `creds.username` — looking the user up is the caller's job.
    pub fn verify(&self, creds: &Credentials, method: &str, raw_uri: &str, ha1: &str) -> Verdict {
        self.verify_at(creds, method, raw_uri, ha1, now_unix_secs())
    }

    /// [`Self::verify`] with an explicit clock, so tests can move time.
    fn verify_at(
        &self,
        creds: &Credentials,
        method: &str,
        raw_uri: &str,
        ha1: &str,
        now: u64,
    ) -> Verdict {
        // Cheap equality checks first; all of these are visible to the client anyway.
        if creds.realm != self.realm() {
            return Verdict::Rejected("realm mismatch");
        }
        if creds.opaque.as_deref() != Some(self.opaque()) {
            return Verdict::Rejected("opaque mismatch");
        }
        // The response hashes the uri directive, so it must be the target this
        // request really asked for; otherwise a captured header could be
        // replayed against another resource.
        if creds.uri != raw_uri {
            return Verdict::Rejected("uri mismatch");
        }
        let Some(issued) = self.nonce_issue_time(&creds.nonce) else {
            return Verdict::Rejected("invalid nonce");
        };
        let (expected, nc) = match expected_response(creds, method, ha1) {
            Ok(found) => found,
            Err(why) => return Verdict::Rejected(why),
        };
        if !hex_eq_constant_time(&expected, &creds.response) {
            // Checked before freshness: a wrong password must never earn a
            // "stale" hint, which would tell the client its password was right.
            return Verdict::Rejected("wrong response");
        }
        if !self.is_fresh(issued, now) {
            return Verdict::Stale;
        }
        match nc {
            Some(nc) => self.record_nc(&creds.nonce, issued, nc, now),
            // RFC 2069 clients send no nc, so there is nothing to track.
            None => Verdict::Authenticated,
        }
    }

    /// Issue time of a nonce this secret produced, or `None` for anything else.
    fn nonce_issue_time(&self, nonce: &str) -> Option<u64> {
        // Only our own lowercase-hex form is accepted, so there is exactly one
        // spelling per nonce and the replay cache cannot be dodged via case.
        if nonce.len() != NONCE_RAW_LEN * 2 || !nonce.bytes().all(is_lower_hex) {
            return None;
        }
        let mut raw = [0u8; NONCE_RAW_LEN];
        hex::decode_to_slice(nonce, &mut raw).ok()?;
        let (signed, tag) = raw.split_at(NONCE_SIGNED_LEN);
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.verify_truncated_left(tag).ok()?;
        let mut time = [0u8; 8];
        time.copy_from_slice(&signed[..8]);
        Some(u64::from_be_bytes(time))
    }

    fn is_fresh(&self, issued: u64, now: u64) -> bool {
        if issued > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
            return false;
        }
        now.saturating_sub(issued) <= self.nonce_ttl_secs
    }

    fn record_nc(&self, nonce: &str, issued: u64, nc: u32, now: u64) -> Verdict {
        let expiry = issued.saturating_add(self.nonce_ttl_secs);
        if self.replay_cache().record(nonce, expiry, nc, now) {
            Verdict::Authenticated
        } else {
            Verdict::Rejected("replayed nc")
        }
    }

    fn replay_cache(&self) -> MutexGuard<'_, ReplayCache> {
        // A panic elsewhere while holding the lock leaves at worst a few
        // missing entries; refusing all logins from then on would be worse.
        self.replay
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `(nonce, nc)` pairs already accepted, so each can be used only once.
///
/// Memory bound: only requests with a valid nonce MAC *and* a correct
/// response are recorded, so only authenticated clients can grow this. A
/// nonce's entry can be dropped once it expires, because from then on
/// `verify` answers `Stale` before it looks here. Pruning runs when a new
/// nonce arrives and the map has reached `prune_at`, which is then reset to
/// twice the surviving size (amortised O(1) per insert). Hence the map holds
/// at most `max(PRUNE_MIN_ENTRIES, 2 × distinct nonces used within one TTL)`
/// entries, each with one `u32` per authenticated request on that nonce.
#[derive(Debug)]
struct ReplayCache {
    used: HashMap<String, (u64, HashSet<u32>)>,
    prune_at: usize,
}

impl Default for ReplayCache {
    fn default() -> Self {
        ReplayCache {
            used: HashMap::new(),
            prune_at: PRUNE_MIN_ENTRIES,
        }
    }
}

impl ReplayCache {
    /// Records the pair; `false` if it was already there (a replay).
    fn record(&mut self, nonce: &str, expiry: u64, nc: u32, now: u64) -> bool {
        if let Some((_, seen)) = self.used.get_mut(nonce) {
            return seen.insert(nc);
        }
        self.prune_if_due(now);
        self.used
            .insert(nonce.to_owned(), (expiry, HashSet::from([nc])));
        true
    }

    fn prune_if_due(&mut self, now: u64) {
        if self.used.len() < self.prune_at {
            return;
        }
        self.used.retain(|_, (expiry, _)| *expiry >= now);
        self.prune_at = (self.used.len() * 2).max(PRUNE_MIN_ENTRIES);
    }
}

/// The response the client should have sent, and the nc to record for replay
/// protection (`None` for RFC 2069 requests).
fn expected_response(
    creds: &Credentials,
    method: &str,
    ha1: &str,
) -> Result<(String, Option<u32>), &'static str> {
    let ha1 = session_ha1(creds, &ha1.to_ascii_lowercase())?;
    match creds.qop.as_deref() {
        // RFC 2069 (no qop) has no nc, so a captured header could be replayed for the nonce's
        // whole life; only qop="auth" is offered, and only it is accepted.
        None => Err("no qop"),
        Some(qop) if qop.eq_ignore_ascii_case("auth") => {
            let nc_text = creds.nc.as_deref().ok_or("missing nc")?;
            let nc = parse_nc(nc_text).ok_or("invalid nc")?;
            let cnonce = non_empty_cnonce(creds)?;
            let qop_fields = QopFields {
                nc: nc_text,
                cnonce,
                qop,
            };
            let response = response_auth(&ha1, &creds.nonce, &qop_fields, method, &creds.uri);
            Ok((response, Some(nc)))
        }
        // auth-int would need the request body, which this layer never sees.
        Some(_) => Err("unsupported qop"),
    }
}

/// HA1 to use in the response, honouring `algorithm`.
fn session_ha1(creds: &Credentials, ha1: &str) -> Result<String, &'static str> {
    match creds.algorithm.as_deref() {
        None => Ok(ha1.to_owned()),
        Some(alg) if alg.eq_ignore_ascii_case("MD5") => Ok(ha1.to_owned()),
        Some(alg) if alg.eq_ignore_ascii_case("MD5-sess") => {
            let cnonce = non_empty_cnonce(creds)?;
            Ok(md5_hex_joined(&[ha1, &creds.nonce, cnonce]))
        }
        Some(_) => Err("unsupported algorithm"),
    }
}

fn non_empty_cnonce(creds: &Credentials) -> Result<&str, &'static str> {
    match creds.cnonce.as_deref() {
        Some(cnonce) if !cnonce.is_empty() => Ok(cnonce),
        _ => Err("missing cnonce"),
    }
}

/// `nc` is exactly 8 hex digits (checked by hand because `from_str_radix`
/// would also take a leading `+`).
fn parse_nc(nc: &str) -> Option<u32> {
    if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(nc, 16).ok()
}

/// The per-request values that `qop=auth` mixes into the response.
struct QopFields<'a> {
    nc: &'a str,
    cnonce: &'a str,
    qop: &'a str,
}

/// RFC 2617 `qop=auth`: `MD5(HA1:nonce:nc:cnonce:qop:HA2)`.
fn response_auth(ha1: &str, nonce: &str, q: &QopFields<'_>, method: &str, uri: &str) -> String {
    let ha2 = md5_hex_joined(&[method, uri]);
    md5_hex_joined(&[ha1, nonce, q.nc, q.cnonce, q.qop, &ha2])
}

/// Lowercase hex MD5 of `user:realm:password`, the value to store per user.
pub fn ha1_md5(username: &str, realm: &str, password: &str) -> String {
    md5_hex_joined(&[username, realm, password])
}

/// Lowercase hex MD5 of the parts joined by `:`.
fn md5_hex_joined(parts: &[&str]) -> String {
    let mut hasher = Md5::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b":");
        }
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn mac_bytes(keyed: &HmacSha256, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = keyed.clone();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Case-insensitive comparison whose time does not depend on where the
/// strings differ. `expected` is lowercase hex; lengths are public (always 32).
fn hex_eq_constant_time(expected: &str, given: &str) -> bool {
    if expected.len() != given.len() {
        return false;
    }
    let diff = expected
        .bytes()
        .zip(given.bytes())
        .fold(0u8, |acc, (e, g)| acc | (e ^ g.to_ascii_lowercase()));
    diff == 0
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

fn now_unix_secs() -> u64 {
    // A clock before 1970 is a broken host; treating it as time 0 only makes
    // nonces look stale, which fails safe.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Escapes `"` and `\` for use inside a quoted-string.
fn escape_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Parses an `Authorization` header value of the Digest scheme.
pub fn parse_authorization(value: &str) -> Result<Credentials, ParseError> {
    let trimmed = value.trim_start_matches(is_ows);
    let scheme_end = trimmed.find(is_ows).unwrap_or(trimmed.len());
    let (scheme, params) = trimmed.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(ParseError::NotDigest);
    }
    credentials_from(parse_params(params)?)
}

fn credentials_from(params: Vec<(String, String)>) -> Result<Credentials, ParseError> {
    let mut found: HashMap<String, String> = params.into_iter().collect();
    let mut required = |name: &'static str| found.remove(name).ok_or(ParseError::Missing(name));
    let username = required("username")?;
    let realm = required("realm")?;
    let nonce = required("nonce")?;
    let uri = required("uri")?;
    let response = required("response")?;
    Ok(Credentials {
        username,
        realm,
        nonce,
        uri,
        response,
        algorithm: found.remove("algorithm"),
        qop: found.remove("qop"),
        nc: found.remove("nc"),
        cnonce: found.remove("cnonce"),
        opaque: found.remove("opaque"),
    })
}

/// Parses `name=value` pairs separated by commas (RFC 7235 auth-params).
/// Names come back lowercased, quoted values unescaped; a repeated name is an
/// error because RFC 7235 forbids it and it would make the meaning ambiguous.
fn parse_params(input: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut cursor = Cursor::new(input);
    let mut params: Vec<(String, String)> = Vec::new();
    loop {
        // RFC 7230 list syntax tolerates empty elements, e.g. "a=1,,b=2".
        cursor.skip_while(|c| is_ows(c) || c == ',');
        if cursor.at_end() {
            return Ok(params);
        }
        let (name, value) = parse_one_param(&mut cursor)?;
        if params.iter().any(|(seen, _)| *seen == name) {
            return Err(ParseError::Malformed("duplicate directive"));
        }
        params.push((name, value));
        cursor.skip_while(is_ows);
        if !cursor.at_end() && !cursor.eat(',') {
            return Err(ParseError::Malformed("expected ',' between directives"));
        }
    }
}

fn parse_one_param(cursor: &mut Cursor<'_>) -> Result<(String, String), ParseError> {
    let name = cursor.take_while(is_tchar);
    if name.is_empty() {
        return Err(ParseError::Malformed("expected a directive name"));
    }
    cursor.skip_while(is_ows);
    if !cursor.eat('=') {
        return Err(ParseError::Malformed("expected '=' after directive name"));
    }
    cursor.skip_while(is_ows);
    let value = if cursor.eat('"') {
        parse_quoted_rest(cursor)?
    } else {
        // Lenient about the exact token grammar: anything up to the next
        // separator, so e.g. `uri=/a?b=c` from sloppy clients still parses.
        let token = cursor.take_while(|c| !is_ows(c) && c != ',' && c != '"');
        if token.is_empty() {
            return Err(ParseError::Malformed("empty unquoted value"));
        }
        token.to_owned()
    };
    Ok((name.to_ascii_lowercase(), value))
}

/// Reads a quoted-string after its opening quote, resolving `\x` escapes.
fn parse_quoted_rest(cursor: &mut Cursor<'_>) -> Result<String, ParseError> {
    let mut out = String::new();
    loop {
        match cursor.next() {
            None => return Err(ParseError::Malformed("unterminated quoted string")),
            Some('"') => return Ok(out),
            Some('\\') => match cursor.next() {
                Some(escaped) => out.push(escaped),
                None => return Err(ParseError::Malformed("unterminated quoted string")),
            },
            Some(c) if c.is_control() && c != '\t' => {
                return Err(ParseError::Malformed("control character in quoted string"))
            }
            Some(c) => out.push(c),
        }
    }
}

/// Optional whitespace (RFC 7230 OWS).
fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// RFC 7230 token character.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// A position in a string that only ever moves by whole chars, so slicing at
/// it can never split a UTF-8 sequence (and therefore never panics).
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn new(input: &'a str) -> Self {
        Cursor { rest: input }
    }

    fn at_end(&self) -> bool {
        self.rest.is_empty()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.rest.chars().next()?;
        self.rest = &self.rest[c.len_utf8()..];
        Some(c)
    }

    fn eat(&mut self, expected: char) -> bool {
        match self.rest.strip_prefix(expected) {
            Some(after) => {
                self.rest = after;
                true
            }
            None => false,
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c| !keep(c)).unwrap_or(self.rest.len());
        let (taken, after) = self.rest.split_at(end);
        self.rest = after;
        taken
    }

    fn skip_while(&mut self, skip: impl Fn(char) -> bool) {
        self.take_while(skip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test secret, 32 bytes or more!!!";
    const REALM: &str = "sequence@example.com";
    const USER: &str = "Mufasa";
    const PASSWORD: &str = "Circle Of Life";
    const TTL: Duration = Duration::from_secs(300);

    fn auth() -> DigestAuth {
        DigestAuth::new(REALM, SECRET, TTL)
    }

    fn ha1() -> String {
        ha1_md5(USER, REALM, PASSWORD)
    }

    /// Independent client-side computation, written out longhand with md-5.
    fn md5_hex(text: &str) -> String {
        hex::encode(Md5::digest(text.as_bytes()))
    }

    fn client_response(
        ha1: &str,
        nonce: &str,
        nc: &str,
        cnonce: &str,
        method: &str,
        uri: &str,
    ) -> String {
        let ha2 = md5_hex(&format!("{method}:{uri}"));
        md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
    }

    fn nonce_from_challenge(challenge: &str) -> String {
        let params =
            parse_params(challenge.strip_prefix("Digest ").expect("scheme")).expect("parses");
        params
            .into_iter()
            .find(|(name, _)| name == "nonce")
            .map(|(_, value)| value)
            .expect("nonce present")
    }

    /// Credentials a correct client would send for `GET uri` with qop=auth.
    fn creds_for(auth: &DigestAuth, nonce: &str, nc: &str, uri: &str) -> Credentials {
        let cnonce = "0a4f113b";
        Credentials {
            username: USER.to_owned(),
            realm: auth.realm().to_owned(),
            nonce: nonce.to_owned(),
            uri: uri.to_owned(),
            response: client_response(&ha1(), nonce, nc, cnonce, "GET", uri),
            algorithm: Some("MD5".to_owned()),
            qop: Some("auth".to_owned()),
            nc: Some(nc.to_owned()),
            cnonce: Some(cnonce.to_owned()),
            opaque: Some(auth.opaque().to_owned()),
        }
    }

    fn fresh_creds(auth: &DigestAuth, uri: &str) -> Credentials {
        let nonce = nonce_from_challenge(&auth.challenge(false));
        creds_for(auth, &nonce, "00000001", uri)
    }

    fn header(creds: &Credentials) -> String {
        format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", algorithm=MD5, \
             qop=auth, nc={}, cnonce=\"{}\", response=\"{}\", opaque=\"{}\"",
            escape_quoted(&creds.username),
            escape_quoted(&creds.realm),
            creds.nonce,
            escape_quoted(&creds.uri),
            creds.nc.as_deref().unwrap_or_default(),
            creds.cnonce.as_deref().unwrap_or_default(),
            creds.response,
            creds.opaque.as_deref().unwrap_or_default(),
        )
    }

    // ---- response computation ----

    #[test]
    fn rfc2617_section_3_5_worked_example() {
        let ha1 = ha1_md5("Mufasa", "testrealm@host.com", "Circle Of Life");
        assert_eq!(ha1, "939e7578ed9e3c518a452acee763bce9");
        let fields = QopFields {
            nc: "00000001",
            cnonce: "0a4f113b",
            qop: "auth",
        };
        let response = response_auth(
            &ha1,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            &fields,
            "GET",
            "/dir/index.html",
        );
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn ha1_is_md5_of_user_realm_password() {
        assert_eq!(ha1_md5("u", "r", "p"), md5_hex("u:r:p"));
    }

    // ---- challenge / nonce / opaque ----

    #[test]
    fn challenge_has_expected_shape() {
        let auth = auth();
        let challenge = auth.challenge(false);
        let nonce = nonce_from_challenge(&challenge);
        assert_eq!(
            challenge,
            format!(
                "Digest realm=\"{REALM}\", qop=\"auth\", algorithm=MD5, nonce=\"{nonce}\", opaque=\"{}\"",
                auth.opaque()
            )
        );
        assert!(auth.challenge(true).ends_with(", stale=true"));
        assert!(!challenge.contains("stale"));
    }

    #[test]
    fn nonces_are_lowercase_hex_and_unique() {
        let auth = auth();
        let a = auth.nonce_issued_at(1_700_000_000);
        let b = auth.nonce_issued_at(1_700_000_000);
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(is_lower_hex));
        assert!(a.starts_with(&format!("{:016x}", 1_700_000_000u64)));
        assert_eq!(auth.nonce_issue_time(&a), Some(1_700_000_000));
    }

    #[test]
    fn opaque_is_32_hex_and_depends_on_realm_and_secret() {
        let auth = auth();
        assert_eq!(auth.opaque().len(), 32);
        assert!(auth.opaque().bytes().all(is_lower_hex));
        assert_eq!(auth.opaque(), DigestAuth::new(REALM, SECRET, TTL).opaque());
        assert_ne!(
            auth.opaque(),
            DigestAuth::new("other", SECRET, TTL).opaque()
        );
        assert_ne!(
            auth.opaque(),
            DigestAuth::new(REALM, b"other", TTL).opaque()
        );
    }

    #[test]
    fn realm_with_quotes_is_escaped_in_challenge() {
        let auth = DigestAuth::new(r#"a "q" \ realm"#, SECRET, TTL);
        assert!(auth
            .challenge(false)
            .starts_with(r#"Digest realm="a \"q\" \\ realm", "#));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let shown = format!("{:?}", auth());
        assert!(shown.contains(REALM));
        assert!(!shown.contains("mac"));
    }

    // ---- round trips ----

    #[test]
    fn round_trip_challenge_header_verify() {
        let auth = auth();
        let creds = fresh_creds(&auth, "/api/jobs");
        let parsed = parse_authorization(&header(&creds)).expect("parses");
        assert_eq!(parsed, creds);
        assert_eq!(
            auth.verify(&parsed, "GET", "/api/jobs", &ha1()),
            Verdict::Authenticated
        );
    }

    #[test]
    fn nonce_verifies_on_another_instance_with_the_same_secret() {
        let creds = fresh_creds(&auth(), "/x");
        assert_eq!(
            auth().verify(&creds, "GET", "/x", &ha1()),
            Verdict::Authenticated
        );
        let other = DigestAuth::new(REALM, b"another secret", TTL);
        let mut creds = creds;
        creds.opaque = Some(other.opaque().to_owned());
        assert_eq!(
            other.verify(&creds, "GET", "/x", &ha1()),
            Verdict::Rejected("invalid nonce")
        );
    }

    #[test]
    fn uris_with_queries_round_trip_raw() {
        let uris = [
            "/api/jobs?pagination=true&page=2",
            "/api/jobs?expand=tasks,assets",
            "/api/jobs?name=O'Brien",
            "/api/jobs?",
            "/api/jobs?expand=tasks%2Cassets",
            "/api/jobs?q=%22quoted%22&x=a\"b",
        ];
        for uri in uris {
            let auth = auth();
            let creds = fresh_creds(&auth, uri);
            let parsed = parse_authorization(&header(&creds)).expect("parses");
            assert_eq!(parsed.uri, uri);
            assert_eq!(
                auth.verify(&parsed, "GET", uri, &ha1()),
                Verdict::Authenticated,
                "{uri}"
            );
        }
    }

    #[test]
    fn uri_mismatch_is_rejected() {
        let auth = auth();
        let cases = [
            ("/api/jobs?page=2", "/api/jobs?page=3"),
            ("/api/jobs?", "/api/jobs"),
            (
                "/api/jobs?expand=tasks,assets",
                "/api/jobs?expand=tasks%2Cassets",
            ),
            ("/api/jobs", "/API/jobs"),
        ];
        for (signed, requested) in cases {
            let creds = fresh_creds(&auth, signed);
            assert_eq!(
                auth.verify(&creds, "GET", requested, &ha1()),
                Verdict::Rejected("uri mismatch")
            );
        }
    }

    #[test]
    fn method_is_part_of_the_response() {
        let auth = auth();
        let creds = fresh_creds(&auth, "/x");
        assert_eq!(
            auth.verify(&creds, "DELETE", "/x", &ha1()),
            Verdict::Rejected("wrong response")
        );
    }

    #[test]
    fn wrong_password_is_rejected() {
        let auth = auth();
        let creds = fresh_creds(&auth, "/x");
        let wrong = ha1_md5(USER, REALM, "wrong");
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &wrong),
            Verdict::Rejected("wrong response")
        );
    }

    #[test]
    fn response_comparison_ignores_case() {
        let auth = auth();
        let mut creds = fresh_creds(&auth, "/x");
        creds.response = creds.response.to_ascii_uppercase();
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &ha1()),
            Verdict::Authenticated
        );
    }

    #[test]
    fn realm_must_match_exactly() {
        let auth = auth();
        let mut creds = fresh_creds(&auth, "/x");
        creds.realm = REALM.to_ascii_uppercase();
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &ha1()),
            Verdict::Rejected("realm mismatch")
        );
    }

    #[test]
    fn opaque_missing_or_altered_is_rejected() {
        let auth = auth();
        let mut creds = fresh_creds(&auth, "/x");
        creds.opaque = None;
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &ha1()),
            Verdict::Rejected("opaque mismatch")
        );
        creds.opaque = Some(flip_first_char(auth.opaque()));
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &ha1()),
            Verdict::Rejected("opaque mismatch")
        );
    }

    fn flip_first_char(s: &str) -> String {
        let replacement = if s.starts_with('0') { "1" } else { "0" };
        format!("{replacement}{}", &s[1..])
    }

    #[test]
    fn altered_or_foreign_nonces_are_rejected() {
        let auth = auth();
        let good = nonce_from_challenge(&auth.challenge(false));
        let mut last_char_flipped = good.clone();
        let last = if good.ends_with('0') { "1" } else { "0" };
        last_char_flipped.replace_range(63.., last);
        let bad_nonces = [
            flip_first_char(&good),
            last_char_flipped,
            good.to_ascii_uppercase(),
            good[..62].to_owned(),
            format!("{good}00"),
            "dcd98b7102dd2f0e8b11d0f600bfb0c093".to_owned(),
            String::new(),
            format!("{}zz", &good[..62]),
        ];
        for nonce in bad_nonces {
            // The client signs whatever nonce it holds, so only the MAC can catch this.
            let creds = creds_for(&auth, &nonce, "00000001", "/x");
            assert_eq!(
                auth.verify(&creds, "GET", "/x", &ha1()),
                Verdict::Rejected("invalid nonce"),
                "{nonce}"
            );
        }
    }

    #[test]
    fn md5_sess_uses_session_key() {
        let auth = auth();
        let mut creds = fresh_creds(&auth, "/x");
        let cnonce = creds.cnonce.clone().unwrap_or_default();
        let sess_ha1 = md5_hex(&format!("{}:{}:{cnonce}", ha1(), creds.nonce));
        creds.algorithm = Some("MD5-sess".to_owned());
        creds.response = client_response(&sess_ha1, &creds.nonce, "00000001", &cnonce, "GET", "/x");
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &ha1()),
            Verdict::Authenticated
        );

        // Without cnonce the session key cannot be formed.
        creds.cnonce = None;
        creds.nc = Some("00000002".to_owned());
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &ha1()),
            Verdict::Rejected("missing cnonce")
        );
    }

    #[test]
    fn md5_sess_response_with_plain_ha1_is_rejected() {
        let auth = auth();
        let mut creds = fresh_creds(&auth, "/x");
        creds.algorithm = Some("md5-SESS".to_owned());
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &ha1()),
            Verdict::Rejected("wrong response")
        );
    }

    #[test]
    fn algorithm_absent_or_any_case_md5_accepted_others_rejected() {
        for algorithm in [None, Some("md5"), Some("MD5")] {
            let auth = auth();
            let mut creds = fresh_creds(&auth, "/x");
            creds.algorithm = algorithm.map(str::to_owned);
            assert_eq!(
                auth.verify(&creds, "GET", "/x", &ha1()),
                Verdict::Authenticated
            );
        }
        for algorithm in ["SHA-256", "SHA-256-sess", ""] {
            let auth = auth();
            let mut creds = fresh_creds(&auth, "/x");
            creds.algorithm = Some(algorithm.to_owned());
            assert_eq!(
                auth.verify(&creds, "GET", "/x", &ha1()),
                Verdict::Rejected("unsupported algorithm")
            );
        }
    }

    #[test]
    fn legacy_rfc2069_without_qop_is_refused() {
        let auth = auth();
        let nonce = nonce_from_challenge(&auth.challenge(false));
        let ha2 = md5_hex("GET:/x?y=1");
        let header = format!(
            "Digest username=\"{USER}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"/x?y=1\", \
             response=\"{}\", opaque=\"{}\"",
            md5_hex(&format!("{}:{nonce}:{ha2}", ha1())),
            auth.opaque()
        );
        let creds = parse_authorization(&header).expect("parses");
        assert_eq!(creds.qop, None);
        // Even with the right password: without nc it could be replayed at will.
        assert_eq!(
            auth.verify(&creds, "GET", "/x?y=1", &ha1()),
            Verdict::Rejected("no qop")
        );
    }

    #[test]
    fn qop_auth_int_and_unknown_are_rejected() {
        for qop in ["auth-int", "bogus", ""] {
            let auth = auth();
            let mut creds = fresh_creds(&auth, "/x");
            creds.qop = Some(qop.to_owned());
            assert_eq!(
                auth.verify(&creds, "GET", "/x", &ha1()),
                Verdict::Rejected("unsupported qop")
            );
        }
    }

    #[test]
    fn qop_auth_needs_well_formed_nc_and_cnonce() {
        let auth = auth();
        let nonce = nonce_from_challenge(&auth.challenge(false));
        for nc in [
            "1",
            "0000001",
            "000000001",
            "+0000001",
            "0000000g",
            " 0000001",
        ] {
            let creds = creds_for(&auth, &nonce, nc, "/x");
            assert_eq!(
                auth.verify(&creds, "GET", "/x", &ha1()),
                Verdict::Rejected("invalid nc"),
                "{nc}"
            );
        }
        let mut creds = creds_for(&auth, &nonce, "00000001", "/x");
        creds.nc = None;
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &ha1()),
            Verdict::Rejected("missing nc")
        );
        let mut creds = creds_for(&auth, &nonce, "00000001", "/x");
        creds.cnonce = Some(String::new());
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &ha1()),
            Verdict::Rejected("missing cnonce")
        );
    }

    // ---- expiry ----

    #[test]
    fn expired_nonce_with_right_password_is_stale() {
        let auth = auth();
        let now = now_unix_secs();
        let nonce = auth.nonce_issued_at(now - TTL.as_secs() - 1);
        let creds = creds_for(&auth, &nonce, "00000001", "/x");
        assert_eq!(auth.verify(&creds, "GET", "/x", &ha1()), Verdict::Stale);
    }

    #[test]
    fn expired_nonce_with_wrong_password_is_rejected() {
        let auth = auth();
        let nonce = auth.nonce_issued_at(now_unix_secs() - TTL.as_secs() - 1);
        let creds = creds_for(&auth, &nonce, "00000001", "/x");
        let wrong = ha1_md5(USER, REALM, "wrong");
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &wrong),
            Verdict::Rejected("wrong response")
        );
    }

    #[test]
    fn freshness_boundaries() {
        let auth = auth();
        let issued = 1_000_000;
        let nonce = auth.nonce_issued_at(issued);
        let at = |now: u64, nc: &str| {
            let creds = creds_for(&auth, &nonce, nc, "/x");
            auth.verify_at(&creds, "GET", "/x", &ha1(), now)
        };
        assert_eq!(
            at(issued + TTL.as_secs(), "00000001"),
            Verdict::Authenticated
        );
        assert_eq!(at(issued + TTL.as_secs() + 1, "00000002"), Verdict::Stale);
        // Small clock skew between processes is tolerated, a far-future nonce is not.
        assert_eq!(
            at(issued - MAX_CLOCK_SKEW_SECS, "00000003"),
            Verdict::Authenticated
        );
        assert_eq!(
            at(issued - MAX_CLOCK_SKEW_SECS - 1, "00000004"),
            Verdict::Stale
        );
    }

    #[test]
    fn far_future_nonce_is_stale() {
        let auth = auth();
        let nonce = auth.nonce_issued_at(now_unix_secs() + 3600);
        let creds = creds_for(&auth, &nonce, "00000001", "/x");
        assert_eq!(auth.verify(&creds, "GET", "/x", &ha1()), Verdict::Stale);
    }

    // ---- replay protection ----

    #[test]
    fn nc_may_arrive_out_of_order_but_not_twice() {
        let auth = auth();
        let nonce = nonce_from_challenge(&auth.challenge(false));
        let verify =
            |nc: &str| auth.verify(&creds_for(&auth, &nonce, nc, "/x"), "GET", "/x", &ha1());
        assert_eq!(verify("00000005"), Verdict::Authenticated);
        assert_eq!(verify("00000004"), Verdict::Authenticated);
        assert_eq!(verify("0000000a"), Verdict::Authenticated);
        assert_eq!(verify("00000005"), Verdict::Rejected("replayed nc"));
        // Same number spelled in upper case is the same nc.
        assert_eq!(verify("0000000A"), Verdict::Rejected("replayed nc"));
    }

    #[test]
    fn failed_attempt_does_not_burn_the_nc() {
        let auth = auth();
        let nonce = nonce_from_challenge(&auth.challenge(false));
        let creds = creds_for(&auth, &nonce, "00000007", "/x");
        let wrong = ha1_md5(USER, REALM, "wrong");
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &wrong),
            Verdict::Rejected("wrong response")
        );
        assert_eq!(
            auth.verify(&creds, "GET", "/x", &ha1()),
            Verdict::Authenticated
        );
    }

    #[test]
    fn same_nc_on_different_nonces_is_fine() {
        let auth = auth();
        for _ in 0..3 {
            let creds = fresh_creds(&auth, "/x");
            assert_eq!(
                auth.verify(&creds, "GET", "/x", &ha1()),
                Verdict::Authenticated
            );
        }
    }

    #[test]
    fn replay_cache_prunes_expired_nonces() {
        let mut cache = ReplayCache::default();
        let now = 10_000;
        for i in 0..PRUNE_MIN_ENTRIES * 3 {
            // Every nonce is already expired, so each prune empties the map.
            assert!(cache.record(&format!("n{i}"), now - 1, 1, now));
            assert!(cache.used.len() <= PRUNE_MIN_ENTRIES);
        }
        // Live nonces survive pruning and keep their history.
        let mut cache = ReplayCache::default();
        assert!(cache.record("live", now + 100, 1, now));
        for i in 0..PRUNE_MIN_ENTRIES * 2 {
            cache.record(&format!("dead{i}"), now - 1, 1, now);
        }
        assert!(cache.used.len() <= PRUNE_MIN_ENTRIES);
        assert!(!cache.record("live", now + 100, 1, now));
    }

    #[test]
    fn replay_cache_grows_past_minimum_when_all_live() {
        let mut cache = ReplayCache::default();
        let now = 10_000;
        for i in 0..PRUNE_MIN_ENTRIES * 3 {
            assert!(cache.record(&format!("n{i}"), now + 1, 1, now));
        }
        assert_eq!(cache.used.len(), PRUNE_MIN_ENTRIES * 3);
        assert!(cache.prune_at > cache.used.len());
    }

    // ---- parsing ----

    fn expect_parsed(header: &str) -> Credentials {
        match parse_authorization(header) {
            Ok(creds) => creds,
            Err(e) => panic!("{header:?} did not parse: {e}"),
        }
    }

    #[test]
    fn parses_rfc_example_header() {
        let creds = expect_parsed(
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", qop=auth, \
             nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        );
        assert_eq!(creds.username, "Mufasa");
        assert_eq!(creds.realm, "testrealm@host.com");
        assert_eq!(creds.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
        assert_eq!(creds.uri, "/dir/index.html");
        assert_eq!(creds.qop.as_deref(), Some("auth"));
        assert_eq!(creds.nc.as_deref(), Some("00000001"));
        assert_eq!(creds.cnonce.as_deref(), Some("0a4f113b"));
        assert_eq!(creds.response, "6629fae49393a05397450978507c4ef1");
        assert_eq!(
            creds.opaque.as_deref(),
            Some("5ccc069c403ebaf9f0171e9517f40e41")
        );
        assert_eq!(creds.algorithm, None);
    }

    #[test]
    fn quoting_order_spacing_and_case_do_not_matter() {
        let canonical = expect_parsed(
            r#"Digest username="u", realm="r", nonce="n", uri="/a?b=c,d", response="abc", algorithm=MD5, qop=auth, nc=00000001, cnonce="c", opaque="o""#,
        );
        let variants = [
            // everything quoted
            r#"Digest username="u", realm="r", nonce="n", uri="/a?b=c,d", response="abc", algorithm="MD5", qop="auth", nc="00000001", cnonce="c", opaque="o""#,
            // minimal quoting, shuffled
            r#"Digest opaque=o, cnonce=c, nc=00000001, qop=auth, algorithm=MD5, response=abc, uri="/a?b=c,d", nonce=n, realm=r, username=u"#,
            // lower-case scheme, upper-case names, no spaces
            r#"digest USERNAME="u",Realm="r",NONCE="n",Uri="/a?b=c,d",Response="abc",Algorithm=MD5,QOP=auth,NC=00000001,CNonce="c",Opaque="o""#,
            // upper-case scheme, whitespace everywhere, empty list elements
            "  DIGEST \t username = \"u\" ,  realm=\"r\",,nonce =n , uri= \"/a?b=c,d\"\t, response=\"abc\" , \
             algorithm = MD5 , qop = auth , nc = 00000001 , cnonce = \"c\" , opaque = \"o\" , ",
            // unknown directives (quoted and unquoted) are ignored
            r#"Digest username="u", realm="r", userhash=false, nonce="n", uri="/a?b=c,d", response="abc", algorithm=MD5, qop=auth, nc=00000001, cnonce="c", opaque="o", x-extra="a, \"b\"""#,
        ];
        for variant in variants {
            assert_eq!(expect_parsed(variant), canonical, "{variant}");
        }
    }

    #[test]
    fn quoted_strings_handle_commas_and_escapes() {
        let creds = expect_parsed(
            r#"Digest username="O\"Brien\\x", realm="a,b", nonce="n", uri="/j?expand=tasks,assets&name=O'Brien", response="r""#,
        );
        assert_eq!(creds.username, r#"O"Brien\x"#);
        assert_eq!(creds.realm, "a,b");
        assert_eq!(creds.uri, "/j?expand=tasks,assets&name=O'Brien");
    }

    #[test]
    fn non_ascii_in_quoted_values_is_kept() {
        let creds = expect_parsed(
            r#"Digest username="Jörg", realm="r", nonce="n", uri="/é", response="r""#,
        );
        assert_eq!(creds.username, "Jörg");
        assert_eq!(creds.uri, "/é");
    }

    #[test]
    fn other_schemes_are_not_digest() {
        for header in [
            "Basic dXNlcjpwYXNz",
            "Bearer abc",
            "",
            "   ",
            "Digestusername=\"u\"",
            "Dígest a=b",
        ] {
            assert_eq!(
                parse_authorization(header),
                Err(ParseError::NotDigest),
                "{header:?}"
            );
        }
    }

    #[test]
    fn missing_required_directives_are_named() {
        let all = [
            ("username", "username=\"u\""),
            ("realm", "realm=\"r\""),
            ("nonce", "nonce=\"n\""),
            ("uri", "uri=\"/\""),
            ("response", "response=\"x\""),
        ];
        for (missing, _) in all {
            let header = all
                .iter()
                .filter(|(name, _)| *name != missing)
                .map(|(_, directive)| *directive)
                .collect::<Vec<_>>()
                .join(", ");
            assert_eq!(
                parse_authorization(&format!("Digest {header}")),
                Err(ParseError::Missing(missing))
            );
        }
        assert_eq!(
            parse_authorization("Digest"),
            Err(ParseError::Missing("username"))
        );
    }

    #[test]
    fn malformed_headers_are_errors() {
        let cases = [
            r#"Digest username="u", username="v", realm="r", nonce="n", uri="/", response="x""#,
            r#"Digest username="u", USERNAME="u", realm="r", nonce="n", uri="/", response="x""#,
            r#"Digest x=1, X=2, username="u", realm="r", nonce="n", uri="/", response="x""#,
            r#"Digest username="u, realm="r""#,
            r#"Digest username="u\"#,
            r#"Digest username"#,
            r#"Digest username="#,
            r#"Digest username=, realm="r""#,
            r#"Digest =u"#,
            r#"Digest username="u" realm="r""#,
            r#"Digest username=u"x", realm=r"#,
            r#"Digest username="u"x, realm=r"#,
            "Digest username=\"a\u{7}b\"",
            "Digest usérname=\"u\"",
        ];
        for header in cases {
            assert!(
                matches!(parse_authorization(header), Err(ParseError::Malformed(_))),
                "{header:?} -> {:?}",
                parse_authorization(header)
            );
        }
    }

    #[test]
    fn random_and_truncated_input_never_panics() {
        use rand::{Rng, SeedableRng};

        let auth = auth();
        let valid = header(&fresh_creds(&auth, "/a?b=c,d"));
        for end in 0..=valid.len() {
            if let Some(prefix) = valid.get(..end) {
                check_no_panic(&auth, prefix);
            }
        }
        let alphabet: Vec<char> = "Digest usernam=\"\\, \t\rré€\u{0}\u{1F600}abc01"
            .chars()
            .collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        for _ in 0..20_000 {
            let len = rng.gen_range(0..48);
            let mut input: String = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            if rng.gen_bool(0.5) {
                input.insert_str(0, "Digest ");
            }
            check_no_panic(&auth, &input);
            let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            check_no_panic(&auth, &String::from_utf8_lossy(&bytes));
        }
    }

    fn check_no_panic(auth: &DigestAuth, input: &str) {
        if let Ok(creds) = parse_authorization(input) {
            let _ = auth.verify(&creds, "GET", &creds.uri, &ha1());
        }
    }
}
