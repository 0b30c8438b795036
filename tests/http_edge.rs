//! The HTTP edge, black-box over real HTTP: Digest authentication (challenge, verification over
//! the raw request target, staleness, replay, malformed headers, keep-alive), content
//! negotiation, request bodies (content types, malformed and hostile input, size limit), methods
//! and paths, and the base of every link.
#[macro_use]
mod common;

use common::{create_job, curl, job_xml, Reply, TestServer};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sequence::http::digest::DigestAuth;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const REALM: &str = "Production Sequence";
const XML_TYPE: &str = "application/xml; charset=utf-8";
const JSON_TYPE: &str = "application/json; charset=utf-8";
const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
const JOBS: &str = "/api/work_areas/10/jobs";
const CNONCE: &str = "0a4f113b";

// ---------------------------------------------------------------------------------------------
// Digest by hand
// ---------------------------------------------------------------------------------------------

fn md5_hex(text: &str) -> String {
    use md5::{Digest as _, Md5};
    format!("{:x}", Md5::digest(text.as_bytes()))
}

/// HA1 of the test fixtures' robot user.
fn ha1() -> String {
    md5_hex(&format!("robot_user:{REALM}:password"))
}

/// `qop=auth` response: `MD5(HA1:nonce:nc:cnonce:auth:MD5(method:uri))`.
fn qop_response(ha1: &str, nonce: &str, nc: &str, method: &str, uri: &str) -> String {
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    md5_hex(&format!("{ha1}:{nonce}:{nc}:{CNONCE}:auth:{ha2}"))
}

/// A nonce and opaque handed out by the server.
#[derive(Debug, Clone)]
struct Challenge {
    nonce: String,
    opaque: String,
}

impl Challenge {
    /// A well-formed `Authorization` header, the way curl writes it.
    fn authorization(&self, method: &str, uri: &str, nc: &str) -> String {
        let response = qop_response(&ha1(), &self.nonce, nc, method, uri);
        format!(
            "Digest username=\"robot_user\", realm=\"{REALM}\", nonce=\"{}\", uri=\"{uri}\", \
             cnonce=\"{CNONCE}\", nc={nc}, qop=auth, response=\"{response}\", opaque=\"{}\", \
             algorithm=MD5",
            self.nonce, self.opaque
        )
    }
}

const CHALLENGE_PREFIX: &str =
    "Digest realm=\"Production Sequence\", qop=\"auth\", algorithm=MD5, nonce=\"";

/// Checks the exact shape of a challenge and returns its nonce and opaque.
#[track_caller]
fn parse_challenge(value: &str, stale: bool) -> Challenge {
    let rest = value
        .strip_prefix(CHALLENGE_PREFIX)
        .unwrap_or_else(|| panic!("challenge does not start as expected: {value}"));
    let (nonce, rest) = rest
        .split_once("\", opaque=\"")
        .unwrap_or_else(|| panic!("no opaque right after the nonce: {value}"));
    let (opaque, tail) = rest
        .split_once('"')
        .unwrap_or_else(|| panic!("unterminated opaque: {value}"));
    let expected_tail = if stale { ", stale=true" } else { "" };
    assert_eq!(tail, expected_tail, "challenge tail: {value}");
    for (name, token) in [("nonce", nonce), ("opaque", opaque)] {
        assert!(
            !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{name} should be a plain token: {value}"
        );
    }
    Challenge {
        nonce: nonce.to_string(),
        opaque: opaque.to_string(),
    }
}

/// A 401 with exactly one Digest challenge of the exact expected shape.
#[track_caller]
fn assert_challenged(reply: &Reply, stale: bool) -> Challenge {
    assert_eq!(reply.status, 401, "body: {}", reply.body);
    let values: Vec<&str> = reply
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().expect("ASCII challenge"))
        .collect();
    assert_eq!(values.len(), 1, "WWW-Authenticate headers: {values:?}");
    parse_challenge(values[0], stale)
}

/// A fresh nonce from the server.
async fn challenge(server: &TestServer) -> Challenge {
    let reply = server.client().anonymous("GET", "/api", &[]).await;
    assert_challenged(&reply, false)
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---------------------------------------------------------------------------------------------
// Error bodies
// ---------------------------------------------------------------------------------------------

/// `<error><message>…</message></error>` in XML, short; returns the message.
#[track_caller]
fn assert_xml_error(reply: &Reply) -> String {
    assert_eq!(reply.header("content-type"), Some(XML_TYPE), "{reply:?}");
    let body = reply.body.as_str();
    assert!(body.len() < 400, "error body is not short: {body}");
    let inner = body
        .strip_prefix(XML_DECLARATION)
        .map(str::trim)
        .and_then(|b| b.strip_prefix("<error>"))
        .and_then(|b| b.strip_suffix("</error>"))
        .map(str::trim)
        .and_then(|b| b.strip_prefix("<message>"))
        .and_then(|b| b.strip_suffix("</message>"))
        .unwrap_or_else(|| panic!("not an <error><message> body: {body}"));
    assert!(!inner.is_empty() && !inner.contains('<'), "message: {body}");
    inner.to_string()
}

/// `{"error": {"message": "…"}}` and nothing else; returns the message.
#[track_caller]
fn assert_json_error(reply: &Reply) -> String {
    assert_eq!(reply.header("content-type"), Some(JSON_TYPE), "{reply:?}");
    assert!(
        reply.body.len() < 400,
        "error body is not short: {}",
        reply.body
    );
    let value = reply.json();
    let object = value.as_object().expect("an object");
    assert_eq!(object.len(), 1, "{}", reply.body);
    let error = object["error"].as_object().expect("error object");
    assert_eq!(error.len(), 1, "{}", reply.body);
    let message = error["message"].as_str().expect("message string");
    assert!(!message.is_empty());
    message.to_string()
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over one TCP connection (exact request targets, keep-alive)
// ---------------------------------------------------------------------------------------------

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_string()
}

struct RawConnection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl RawConnection {
    fn open(addr: &str) -> RawConnection {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        RawConnection {
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// Sends one request and reads its response; an error means the connection broke.
    fn exchange(&mut self, request: &[u8], head: bool) -> std::io::Result<Reply> {
        self.writer.write_all(request)?;
        self.writer.flush()?;
        self.read_reply(head)
    }

    fn read_line(&mut self) -> std::io::Result<String> {
        let mut line = Vec::new();
        let read = self.reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed by the server",
            ));
        }
        Ok(String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_string())
    }

    fn read_reply(&mut self, head: bool) -> std::io::Result<Reply> {
        let status_line = self.read_line()?;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = HeaderMap::new();
        loop {
            let line = self.read_line()?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("header line");
            headers.append(
                HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                HeaderValue::from_str(value.trim()).unwrap(),
            );
        }
        let mut body = Vec::new();
        let no_body = head || status == 204 || status == 304 || (100..200).contains(&status);
        if !no_body {
            let chunked = headers
                .get("transfer-encoding")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
            if chunked {
                loop {
                    let size_line = self.read_line()?;
                    let size = usize::from_str_radix(size_line.split(';').next().unwrap(), 16)
                        .expect("chunk size");
                    if size == 0 {
                        while !self.read_line()?.is_empty() {}
                        break;
                    }
                    let mut chunk = vec![0; size];
                    self.reader.read_exact(&mut chunk)?;
                    body.extend_from_slice(&chunk);
                    self.read_line()?;
                }
            } else if let Some(length) = headers
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok())
            {
                body = vec![0; length];
                self.reader.read_exact(&mut body)?;
            } else {
                self.reader.read_to_end(&mut body)?;
            }
        }
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).to_string(),
        })
    }
}

/// An HTTP/1.1 request with the target written exactly as given.
fn raw_request(
    method: &str,
    target: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    } else {
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// One request on its own connection, the target untouched by any URL library.
async fn raw_once(server: &TestServer, request: Vec<u8>) -> Reply {
    let addr = addr(server);
    tokio::task::spawn_blocking(move || {
        RawConnection::open(&addr)
            .exchange(&request, false)
            .expect("a response")
    })
    .await
    .unwrap()
}

/// GET of a raw target with a hand-made `Authorization` header.
async fn raw_get(server: &TestServer, target: &str, authorization: &str) -> Reply {
    let request = raw_request(
        "GET",
        target,
        &addr(server),
        &[("Authorization", authorization)],
        None,
    );
    raw_once(server, request).await
}

/// A GET through reqwest with exactly the given headers (no Digest dance).
async fn get_with(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Reply {
    server.client().anonymous("GET", path, headers).await
}

async fn job_count(server: &TestServer) -> i64 {
    server.count("SELECT count(*) FROM jobs").await
}

fn job_json(name: &str) -> String {
    serde_json::json!({
        "name": name,
        "begins_at": "2010-12-31",
        "licensor_name": "Miramax",
        "template": "Basic",
    })
    .to_string()
}

/// The id at the end of a create's `Location` header.
#[track_caller]
fn created_id(reply: &Reply) -> i64 {
    reply.assert_status(200);
    let location = reply.header("location").expect("Location header");
    location.rsplit('/').next().unwrap().parse().unwrap()
}

// =============================================================================================
// 1. Digest
// =============================================================================================

contract_tests! {
    async fn no_credentials_get_exactly_one_challenge_and_an_error_in_the_negotiated_format() {
        let server = TestServer::start().await;
        let client = server.client();

        let xml = client.anonymous("GET", JOBS, &[]).await;
        let first = assert_challenged(&xml, false);
        let message = assert_xml_error(&xml);
        assert!(!message.contains("robot_user"));

        let json = client
            .anonymous("GET", JOBS, &[("Accept", "application/json")])
            .await;
        let second = assert_challenged(&json, false);
        assert_json_error(&json);
        // Every challenge carries a nonce of its own; the opaque is the server's.
        assert_ne!(first.nonce, second.nonce);
        assert_eq!(first.opaque, second.opaque);

        // A `.json` suffix negotiates the 401 body too.
        let suffixed = client
            .anonymous("GET", "/api/work_areas/10.json", &[])
            .await;
        assert_challenged(&suffixed, false);
        assert_json_error(&suffixed);
    }
}

contract_tests! {
    async fn curl_digest_works_for_get_with_a_query_and_for_post_with_a_body() {
        let server = TestServer::start().await;
        let base = &server.base;
        let (status, body) = curl(&[
            "--digest",
            "-u",
            "robot_user:password",
            &format!("{base}{JOBS}?pagination=true&page=1"),
        ])
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("<jobs type=\"array\">") && body.contains("<total-entries>0</total-entries>"),
            "{body}"
        );

        let (status, body) = curl(&[
            "--digest",
            "-u",
            "robot_user:password",
            "-H",
            "Content-Type: application/xml",
            "-X",
            "POST",
            "-d",
            &job_xml("Curl Job", "2010-12-31", "Basic"),
            &format!("{base}{JOBS}"),
        ])
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<name>Curl Job</name>"), "{body}");
        assert_eq!(job_count(&server).await, 1);

        let (status, _) = curl(&[
            "--digest",
            "-u",
            "robot_user:wrong",
            &format!("{base}{JOBS}"),
        ])
        .await;
        assert_eq!(status, 401);
    }
}

contract_tests! {
    async fn http_auth_client_reuses_one_nonce_with_increasing_nc() {
        let server = TestServer::start().await;
        let first = server.client().anonymous("GET", "/api", &[]).await;
        assert_challenged(&first, false);
        let mut digest =
            http_auth::PasswordClient::try_from(first.header("www-authenticate").unwrap()).unwrap();
        let http = reqwest::Client::new();
        for i in 0..30 {
            let (method, path, body) = if i % 5 == 4 {
                (
                    "POST",
                    JOBS.to_string(),
                    job_xml(&format!("Job {i}"), "2010-12-31", "Basic"),
                )
            } else {
                (
                    "GET",
                    format!("{JOBS}?pagination=true&per_page={}", i + 1),
                    String::new(),
                )
            };
            let authorization = digest
                .respond(&http_auth::PasswordParams {
                    username: "robot_user",
                    password: "password",
                    uri: &path,
                    method,
                    body: Some(body.as_bytes()),
                })
                .unwrap();
            let mut request = http
                .request(method.parse().unwrap(), format!("{}{path}", server.base))
                .header("Authorization", authorization);
            if method == "POST" {
                request = request.header("Content-Type", "application/xml").body(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert_eq!(
                status, 200,
                "request {i} ({method} {path}) on the same nonce: {text}"
            );
        }
        assert_eq!(job_count(&server).await, 6);
    }
}

contract_tests! {
    async fn digest_uri_is_the_raw_request_target() {
        let server = TestServer::start().await;
        let id = create_job(&server.client(), "O'Brien", "2010-12-31", "Basic").await;
        let targets = [
            format!("{JOBS}?pagination=true&per_page=2"),
            format!("{JOBS}?"),
            format!("{JOBS}?expand=tasks,assets"),
            format!("{JOBS}?expand=tasks%2Cassets"),
            format!("{JOBS}?name=O'Brien"),
            format!("{JOBS}/{id}?expand=tasks%2Cassets"),
        ];
        let challenge = challenge(&server).await;
        for (i, target) in targets.iter().enumerate() {
            let nc = format!("{:08x}", i + 1);
            let reply = raw_get(
                &server,
                target,
                &challenge.authorization("GET", target, &nc),
            )
            .await;
            assert_eq!(reply.status, 200, "{target}: {}", reply.body);
        }
        // Decoding is not equivalence: a uri that differs from the raw target only by
        // percent-encoding does not authenticate it.
        let target = format!("{JOBS}?expand=tasks%2Cassets");
        let decoded = format!("{JOBS}?expand=tasks,assets");
        let reply = raw_get(
            &server,
            &target,
            &challenge.authorization("GET", &decoded, "00000100"),
        )
        .await;
        assert_challenged(&reply, false);
    }
}

/// Writes an `Authorization` header from an nc and a response.
type HeaderMaker<'a> = Box<dyn Fn(&str, &str) -> String + 'a>;

contract_tests! {
    async fn directive_syntax_variants_are_accepted() {
        let server = TestServer::start().await;
        let c = challenge(&server).await;
        let (nonce, opaque) = (c.nonce.as_str(), c.opaque.as_str());
        let path = "/api/work_areas/10";
        let variants: Vec<(&str, HeaderMaker<'_>)> = vec![
            (
                "all quoted",
                Box::new(move |nc, r| {
                    format!(
                        "Digest username=\"robot_user\", realm=\"{REALM}\", nonce=\"{nonce}\", \
                         uri=\"{path}\", algorithm=\"MD5\", qop=\"auth\", nc=\"{nc}\", \
                         cnonce=\"{CNONCE}\", response=\"{r}\", opaque=\"{opaque}\""
                    )
                }),
            ),
            (
                "minimal quoting, shuffled",
                Box::new(move |nc, r| {
                    format!(
                        "Digest opaque={opaque}, nc={nc}, response={r}, qop=auth, cnonce={CNONCE}, \
                         uri=\"{path}\", algorithm=MD5, nonce={nonce}, realm=\"{REALM}\", \
                         username=robot_user"
                    )
                }),
            ),
            (
                "extra spaces and tabs",
                Box::new(move |nc, r| {
                    format!(
                        "Digest   username = \"robot_user\" ,\trealm=\"{REALM}\" ,  nonce= \"{nonce}\", \
                         uri =\"{path}\"  ,qop = auth , nc = {nc} , cnonce = \"{CNONCE}\" , \
                         response = \"{r}\" , opaque = \"{opaque}\"  "
                    )
                }),
            ),
            (
                "unknown directive with commas and escaped quotes",
                Box::new(move |nc, r| {
                    format!(
                        "Digest username=\"robot_user\", x-extra=\"a, \\\"b\\\", c=d\", \
                         realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{path}\", userhash=false, \
                         qop=auth, nc={nc}, cnonce=\"{CNONCE}\", response=\"{r}\", \
                         opaque=\"{opaque}\""
                    )
                }),
            ),
            (
                "lower-case scheme, no spaces",
                Box::new(move |nc, r| {
                    format!(
                        "digest username=\"robot_user\",realm=\"{REALM}\",nonce=\"{nonce}\",\
                         uri=\"{path}\",qop=auth,nc={nc},cnonce=\"{CNONCE}\",response=\"{r}\",\
                         opaque=\"{opaque}\""
                    )
                }),
            ),
            (
                "upper-case scheme, upper-case response hex",
                Box::new(move |nc, r| {
                    format!(
                        "DIGEST username=\"robot_user\", realm=\"{REALM}\", nonce=\"{nonce}\", \
                         uri=\"{path}\", qop=auth, nc={nc}, cnonce=\"{CNONCE}\", \
                         response=\"{}\", opaque=\"{opaque}\"",
                        r.to_ascii_uppercase()
                    )
                }),
            ),
        ];
        for (i, (label, make)) in variants.iter().enumerate() {
            let nc = format!("{:08x}", i + 1);
            let response = qop_response(&ha1(), nonce, &nc, "GET", path);
            let header = make(&nc, &response);
            let reply = get_with(&server, path, &[("Authorization", &header)]).await;
            assert_eq!(reply.status, 200, "{label}: {header}\n{}", reply.body);
            assert!(
                reply.body.contains("<work-area>"),
                "{label}: {}",
                reply.body
            );
        }
    }
}

contract_tests! {
    async fn wrong_password_is_rejected_without_stale() {
        let server = TestServer::start().await;
        let c = challenge(&server).await;
        let wrong_ha1 = md5_hex(&format!("robot_user:{REALM}:passw0rd"));
        let response = qop_response(&wrong_ha1, &c.nonce, "00000001", "GET", JOBS);
        let header = format!(
            "Digest username=\"robot_user\", realm=\"{REALM}\", nonce=\"{}\", uri=\"{JOBS}\", \
             qop=auth, nc=00000001, cnonce=\"{CNONCE}\", response=\"{response}\", opaque=\"{}\"",
            c.nonce, c.opaque
        );
        let reply = get_with(&server, JOBS, &[("Authorization", &header)]).await;
        assert_challenged(&reply, false);
        assert_xml_error(&reply);
        // The same request with the right password passes: only the password was wrong.
        let right = c.authorization("GET", JOBS, "00000001");
        get_with(&server, JOBS, &[("Authorization", &right)])
            .await
            .assert_status(200);
    }
}

contract_tests! {
    async fn expired_nonce_with_the_right_password_is_stale() {
        let server = TestServer::start().await;
        let ours = DigestAuth::new(REALM, b"test secret", Duration::from_secs(300));
        let fresh = challenge(&server).await;
        assert_eq!(ours.opaque(), fresh.opaque, "same secret, same opaque");
        let expired = Challenge {
            nonce: ours.nonce_issued_at(now_unix() - 3600),
            opaque: ours.opaque().to_string(),
        };
        let reply = get_with(
            &server,
            JOBS,
            &[(
                "Authorization",
                &expired.authorization("GET", JOBS, "00000001"),
            )],
        )
        .await;
        let renewed = assert_challenged(&reply, true);
        assert_ne!(renewed.nonce, expired.nonce);
        // The fresh nonce from the stale challenge works.
        get_with(
            &server,
            JOBS,
            &[(
                "Authorization",
                &renewed.authorization("GET", JOBS, "00000001"),
            )],
        )
        .await
        .assert_status(200);
        // A nonce issued a little under five minutes ago is still valid.
        let recent = Challenge {
            nonce: ours.nonce_issued_at(now_unix() - 240),
            opaque: ours.opaque().to_string(),
        };
        get_with(
            &server,
            JOBS,
            &[(
                "Authorization",
                &recent.authorization("GET", JOBS, "00000001"),
            )],
        )
        .await
        .assert_status(200);
    }
}

contract_tests! {
    async fn expired_nonce_with_a_wrong_password_is_not_stale() {
        let server = TestServer::start().await;
        let ours = DigestAuth::new(REALM, b"test secret", Duration::from_secs(300));
        let nonce = ours.nonce_issued_at(now_unix() - 3600);
        let wrong_ha1 = md5_hex(&format!("robot_user:{REALM}:wrong"));
        let response = qop_response(&wrong_ha1, &nonce, "00000001", "GET", JOBS);
        let header = format!(
            "Digest username=\"robot_user\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{JOBS}\", \
             qop=auth, nc=00000001, cnonce=\"{CNONCE}\", response=\"{response}\", opaque=\"{}\"",
            ours.opaque()
        );
        let reply = get_with(&server, JOBS, &[("Authorization", &header)]).await;
        assert_challenged(&reply, false);
    }
}

contract_tests! {
    async fn nc_may_arrive_out_of_order_but_never_twice() {
        let server = TestServer::start().await;
        let c = challenge(&server).await;
        let nc5 = c.authorization("GET", JOBS, "00000005");
        get_with(&server, JOBS, &[("Authorization", &nc5)])
            .await
            .assert_status(200);
        let nc4 = c.authorization("GET", JOBS, "00000004");
        get_with(&server, JOBS, &[("Authorization", &nc4)])
            .await
            .assert_status(200);
        let replay = get_with(&server, JOBS, &[("Authorization", &nc5)]).await;
        assert_eq!(replay.status, 401, "replayed nc=5: {}", replay.body);
        assert_eq!(replay.headers.get_all("www-authenticate").iter().count(), 1);
        assert!(replay
            .header("www-authenticate")
            .unwrap()
            .starts_with(CHALLENGE_PREFIX));
        // A later nc on the same nonce still works.
        let nc6 = c.authorization("GET", JOBS, "00000006");
        get_with(&server, JOBS, &[("Authorization", &nc6)])
            .await
            .assert_status(200);
    }
}

contract_tests! {
    async fn basic_authorization_gets_the_digest_challenge() {
        let server = TestServer::start().await;
        // base64("robot_user:password")
        let reply = get_with(
            &server,
            JOBS,
            &[("Authorization", "Basic cm9ib3RfdXNlcjpwYXNzd29yZA==")],
        )
        .await;
        assert_challenged(&reply, false);
        assert_xml_error(&reply);
    }
}

contract_tests! {
    async fn opaque_realm_nonce_and_uri_must_match() {
        let server = TestServer::start().await;
        let c = challenge(&server).await;
        let header = |nonce: &str, realm: &str, uri: &str, opaque: Option<&str>, nc: &str| {
            let response = qop_response(&ha1(), nonce, nc, "GET", uri);
            let opaque = opaque
                .map(|o| format!(", opaque=\"{o}\""))
                .unwrap_or_default();
            format!(
                "Digest username=\"robot_user\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
                 qop=auth, nc={nc}, cnonce=\"{CNONCE}\", response=\"{response}\"{opaque}"
            )
        };
        let mut altered_nonce = c.nonce.clone();
        let last = altered_nonce.pop().unwrap();
        altered_nonce.push(if last == '0' { '1' } else { '0' });
        let mut altered_opaque = c.opaque.clone();
        let last = altered_opaque.pop().unwrap();
        altered_opaque.push(if last == '0' { '1' } else { '0' });
        let cases = [
            (
                "missing opaque",
                header(&c.nonce, REALM, JOBS, None, "00000001"),
            ),
            (
                "altered opaque",
                header(&c.nonce, REALM, JOBS, Some(&altered_opaque), "00000002"),
            ),
            (
                "realm in another case",
                header(
                    &c.nonce,
                    "production sequence",
                    JOBS,
                    Some(&c.opaque),
                    "00000003",
                ),
            ),
            (
                "altered nonce",
                header(&altered_nonce, REALM, JOBS, Some(&c.opaque), "00000004"),
            ),
            (
                "uri of another resource",
                header(
                    &c.nonce,
                    REALM,
                    "/api/work_areas/10",
                    Some(&c.opaque),
                    "00000005",
                ),
            ),
            (
                "uri without the query",
                header(&c.nonce, REALM, JOBS, Some(&c.opaque), "00000006"),
            ),
        ];
        for (i, (label, value)) in cases.iter().enumerate() {
            let path = if i == 5 {
                format!("{JOBS}?pagination=true")
            } else {
                JOBS.to_string()
            };
            let reply = get_with(&server, &path, &[("Authorization", value)]).await;
            assert_eq!(reply.status, 401, "{label}: {value}\n{}", reply.body);
            assert_challenged(&reply, false);
        }
        // Control: the same construction with everything right is accepted.
        let good = header(&c.nonce, REALM, JOBS, Some(&c.opaque), "00000007");
        get_with(&server, JOBS, &[("Authorization", &good)])
            .await
            .assert_status(200);
    }
}

contract_tests! {
    async fn garbage_authorization_headers_are_401_never_500() {
        let server = TestServer::start().await;
        let junk: String = (0..10 * 1024)
            .map(|i| b"ab=\", \\Zq"[i % 9] as char)
            .collect();
        let headers = [
            "Digest username=\"robot_user, realm=\"Production Sequence".to_string(),
            "Digest username=\"robot_user\", realm=\"Production Sequence\", nonce=\"abc".to_string(),
            String::new(),
            "Digest".to_string(),
            "Digest ,,,,".to_string(),
            "Digest username=".to_string(),
            "Digest =".to_string(),
            "Digest username=\"robot_user\", username=\"robot_user\"".to_string(),
            "Bearer abc.def.ghi".to_string(),
            format!("Digest {junk}"),
            junk.clone(),
        ];
        for value in &headers {
            let reply = get_with(&server, JOBS, &[("Authorization", value)]).await;
            let shown: String = value.chars().take(80).collect();
            assert_eq!(reply.status, 401, "{shown:?}: {}", reply.body);
            assert_challenged(&reply, false);
            assert_xml_error(&reply);
        }
        // Bytes that are not UTF-8 (obs-text), through a raw socket.
        let mut request = format!("GET {JOBS} HTTP/1.1\r\nHost: {}\r\n", addr(&server)).into_bytes();
        request
            .extend_from_slice(b"Authorization: Digest username=\"r\xf6bot\xff\", realm=\"x\"\r\n\r\n");
        let reply = raw_once(&server, request).await;
        assert_challenged(&reply, false);
    }
}

contract_tests! {
    async fn md5_sess_is_verified() {
        let server = TestServer::start().await;
        let c = challenge(&server).await;
        let make = |session_ha1: &str, nc: &str| {
            let response = qop_response(session_ha1, &c.nonce, nc, "GET", JOBS);
            format!(
                "Digest username=\"robot_user\", realm=\"{REALM}\", nonce=\"{}\", uri=\"{JOBS}\", \
                 algorithm=MD5-sess, qop=auth, nc={nc}, cnonce=\"{CNONCE}\", \
                 response=\"{response}\", opaque=\"{}\"",
                c.nonce, c.opaque
            )
        };
        let session = md5_hex(&format!("{}:{}:{CNONCE}", ha1(), c.nonce));
        get_with(
            &server,
            JOBS,
            &[("Authorization", &make(&session, "00000001"))],
        )
        .await
        .assert_status(200);
        // Claiming MD5-sess but hashing as plain MD5 is wrong.
        let reply = get_with(
            &server,
            JOBS,
            &[("Authorization", &make(&ha1(), "00000002"))],
        )
        .await;
        assert_challenged(&reply, false);
    }
}

contract_tests! {
    /// RFC 2069 (no qop, no nc) cannot be protected against replay, so even a correct one gets
    /// a fresh challenge (which offers qop="auth").
    async fn legacy_rfc2069_without_qop_is_refused() {
        let server = TestServer::start().await;
        let c = challenge(&server).await;
        let make = |ha1: &str| {
            let ha2 = md5_hex(&format!("GET:{JOBS}"));
            let response = md5_hex(&format!("{ha1}:{}:{ha2}", c.nonce));
            format!(
                "Digest username=\"robot_user\", realm=\"{REALM}\", nonce=\"{}\", uri=\"{JOBS}\", \
                 response=\"{response}\", opaque=\"{}\"",
                c.nonce, c.opaque
            )
        };
        let reply = get_with(&server, JOBS, &[("Authorization", &make(&ha1()))]).await;
        assert_challenged(&reply, false);
        let wrong = md5_hex(&format!("robot_user:{REALM}:nope"));
        let reply = get_with(&server, JOBS, &[("Authorization", &make(&wrong))]).await;
        assert_challenged(&reply, false);
    }
}

contract_tests! {
    async fn unknown_user_is_rejected() {
        let server = TestServer::start().await;
        let c = challenge(&server).await;
        let their_ha1 = md5_hex(&format!("nobody:{REALM}:password"));
        let response = qop_response(&their_ha1, &c.nonce, "00000001", "GET", JOBS);
        let header = format!(
            "Digest username=\"nobody\", realm=\"{REALM}\", nonce=\"{}\", uri=\"{JOBS}\", qop=auth, \
             nc=00000001, cnonce=\"{CNONCE}\", response=\"{response}\", opaque=\"{}\"",
            c.nonce, c.opaque
        );
        let reply = get_with(&server, JOBS, &[("Authorization", &header)]).await;
        assert_challenged(&reply, false);
        assert_xml_error(&reply);
        // Through the http-auth client as well.
        let reply = server.client_as("nobody", "password").get(JOBS).await;
        assert_challenged(&reply, false);
    }
}

contract_tests! {
    async fn head_and_options_without_credentials_are_challenged() {
        let server = TestServer::start().await;
        let client = server.client();
        for method in ["HEAD", "OPTIONS"] {
            for path in [JOBS, "/api/work_areas/10/jobs/1", "/api"] {
                let reply = client.anonymous(method, path, &[]).await;
                assert_eq!(reply.status, 401, "{method} {path}");
                assert_challenged(&reply, false);
                assert!(
                    reply.header("allow").is_none(),
                    "{method} {path} leaks Allow"
                );
            }
        }
    }
}

contract_tests! {
    async fn authenticated_options_lists_the_allowed_methods() {
        let server = TestServer::start().await;
        let client = server.client();
        create_job(&client, "Options", "2010-12-31", "Basic").await;
        let cases = [
            ("/api/work_areas/10/jobs/1", "GET, HEAD, PUT, DELETE"),
            (JOBS, "GET, HEAD, POST"),
            ("/api/work_areas/10", "GET, HEAD"),
        ];
        for (path, allow) in cases {
            let reply = client.send("OPTIONS", path, &[], None).await;
            assert_eq!(reply.status, 204, "OPTIONS {path}: {}", reply.body);
            assert_eq!(reply.header("allow"), Some(allow), "OPTIONS {path}");
            assert_eq!(reply.body, "");
        }
    }
}

contract_tests! {
    async fn authenticated_head_mirrors_get() {
        let server = TestServer::start().await;
        let client = server.client();
        create_job(&client, "Head", "2010-12-31", "Basic").await;
        for (path, status) in [
            ("/api/work_areas/10/jobs/1", 200),
            ("/api/work_areas/10/jobs/1.json", 200),
            (JOBS, 200),
            ("/api/work_areas/10", 200),
            ("/api/work_areas/10/jobs/999", 404),
        ] {
            let get = client.get(path).await;
            let head = client.send("HEAD", path, &[], None).await;
            assert_eq!(get.status, status, "GET {path}");
            assert_eq!(head.status, status, "HEAD {path}");
            assert!(!get.body.is_empty());
            assert_eq!(head.body, "", "HEAD {path} has a body");
            assert_eq!(
                head.header("content-type"),
                get.header("content-type"),
                "HEAD {path}"
            );
            if let Some(length) = head.header("content-length") {
                assert_eq!(length, get.body.len().to_string(), "HEAD {path}");
            }
        }
    }
}

contract_tests! {
    async fn a_401_keeps_the_connection_alive_even_with_an_unread_body() {
        let server = TestServer::start().await;
        let addr = addr(&server);
        let replies = tokio::task::spawn_blocking(move || {
            let mut connection = RawConnection::open(&addr);
            let mut replies = Vec::new();
            let step = |connection: &mut RawConnection, request: Vec<u8>, label: &str| {
                connection
                    .exchange(&request, false)
                    .unwrap_or_else(|e| panic!("{label}: connection broken: {e}"))
            };
            // GET: 401, then the same request with credentials on the same connection.
            let first = step(
                &mut connection,
                raw_request("GET", JOBS, &addr, &[], None),
                "first GET",
            );
            let c = parse_challenge(first.header("www-authenticate").unwrap(), false);
            replies.push(first);
            let authorization = c.authorization("GET", JOBS, "00000001");
            replies.push(step(
                &mut connection,
                raw_request(
                    "GET",
                    JOBS,
                    &addr,
                    &[("Authorization", &authorization)],
                    None,
                ),
                "authenticated GET",
            ));
            // POST with a body: 401 (the body unread by the handler), then again with credentials.
            let body = job_xml("Keep Alive", "2010-12-31", "Basic");
            let xml = ("Content-Type", "application/xml");
            replies.push(step(
                &mut connection,
                raw_request("POST", JOBS, &addr, &[xml], Some(&body)),
                "first POST",
            ));
            let authorization = c.authorization("POST", JOBS, "00000002");
            replies.push(step(
                &mut connection,
                raw_request(
                    "POST",
                    JOBS,
                    &addr,
                    &[xml, ("Authorization", &authorization)],
                    Some(&body),
                ),
                "authenticated POST",
            ));
            replies
        })
        .await
        .unwrap();
        let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [401, 200, 401, 200], "{replies:#?}");
        for reply in &replies {
            assert_ne!(
                reply.header("connection").map(str::to_ascii_lowercase),
                Some("close".to_string()),
                "{reply:?}"
            );
        }
        assert!(replies[3].body.contains("<name>Keep Alive</name>"));
        assert_eq!(job_count(&server).await, 1);
    }
}

// =============================================================================================
// 2. Negotiation
// =============================================================================================

contract_tests! {
    async fn accept_header_picks_the_response_format() {
        let server = TestServer::start().await;
        let client = server.client();
        let cases: [(Option<&str>, &str); 10] = [
            (Some("application/json, text/plain, */*"), JSON_TYPE),
            (Some("application/json"), JSON_TYPE),
            (Some("*/*"), XML_TYPE),
            (None, XML_TYPE),
            (Some(""), XML_TYPE),
            (Some("application/xml"), XML_TYPE),
            (Some("text/xml"), XML_TYPE),
            (Some("application/xml;q=0.5, application/json"), JSON_TYPE),
            (Some("application/json;q=0, */*"), XML_TYPE),
            (Some("this is ;; not/an/accept, header"), XML_TYPE),
        ];
        for (accept, content_type) in cases {
            let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
            let reply = client
                .send("GET", "/api/work_areas/10", &headers, None)
                .await;
            assert_eq!(reply.status, 200, "Accept {accept:?}: {}", reply.body);
            assert_eq!(
                reply.header("content-type"),
                Some(content_type),
                "Accept {accept:?}"
            );
            if content_type == JSON_TYPE {
                assert_eq!(reply.json()["resource_type"], "work_area", "{accept:?}");
            } else {
                assert!(
                    reply
                        .body
                        .starts_with(&format!("{XML_DECLARATION}\n<work-area>")),
                    "Accept {accept:?}: {}",
                    reply.body
                );
            }
        }
    }
}

contract_tests! {
    async fn unsupported_accept_is_406_with_an_xml_error() {
        let server = TestServer::start().await;
        let client = server.client();
        for accept in ["text/csv", "text/plain, image/png"] {
            let reply = client
                .send("GET", "/api/work_areas/10", &[("Accept", accept)], None)
                .await;
            assert_eq!(reply.status, 406, "Accept {accept}: {}", reply.body);
            assert_xml_error(&reply);
        }
    }
}

contract_tests! {
    async fn path_suffix_wins_over_accept() {
        let server = TestServer::start().await;
        let client = server.client();
        let json = client
            .send(
                "GET",
                "/api/work_areas/10.json",
                &[("Accept", "application/xml")],
                None,
            )
            .await;
        json.assert_status(200);
        assert_eq!(json.header("content-type"), Some(JSON_TYPE));
        let value = json.json();
        assert_eq!(value["resource_type"], "work_area");
        assert_eq!(value["id"], 10);

        let xml = client
            .send(
                "GET",
                "/api/work_areas/10.xml",
                &[("Accept", "application/json")],
                None,
            )
            .await;
        xml.assert_status(200);
        assert_eq!(xml.header("content-type"), Some(XML_TYPE));
        assert!(
            xml.body
                .starts_with(&format!("{XML_DECLARATION}\n<work-area>"))
                && xml.body.contains("<id type=\"integer\">10</id>"),
            "{}",
            xml.body
        );
        // A suffix also wins over an Accept the server could not satisfy.
        let csv = client
            .send(
                "GET",
                "/api/work_areas/10.json",
                &[("Accept", "text/csv")],
                None,
            )
            .await;
        csv.assert_status(200);
        assert_eq!(csv.header("content-type"), Some(JSON_TYPE));
    }
}

// =============================================================================================
// 3. Request bodies
// =============================================================================================

contract_tests! {
    async fn xml_and_json_content_types_with_parameters_are_accepted() {
        let server = TestServer::start().await;
        let client = server.client();
        let cases = [
            (
                "application/xml; charset=utf-8",
                job_xml("A", "2010-12-31", "Basic"),
            ),
            (
                "application/xml;charset=UTF-8",
                job_xml("B", "2010-12-31", "Basic"),
            ),
            ("text/xml", job_xml("C", "2010-12-31", "Basic")),
            ("application/json; charset=utf-8", job_json("D")),
            ("APPLICATION/JSON", job_json("E")),
        ];
        for (i, (content_type, body)) in cases.iter().enumerate() {
            let reply = client
                .send("POST", JOBS, &[("Content-Type", content_type)], Some(body))
                .await;
            assert_eq!(reply.status, 200, "{content_type}: {}", reply.body);
            // The response format follows Accept (none: XML), not the body's type.
            assert_eq!(
                reply.header("content-type"),
                Some(XML_TYPE),
                "{content_type}"
            );
            let name = ["A", "B", "C", "D", "E"][i];
            assert!(
                reply.body.contains(&format!("<name>{name}</name>")),
                "{content_type}: {}",
                reply.body
            );
        }
        assert_eq!(job_count(&server).await, 5);
    }
}

contract_tests! {
    async fn unsupported_or_missing_content_type_is_415_and_creates_nothing() {
        let server = TestServer::start().await;
        let client = server.client();
        let body = job_xml("Nope", "2010-12-31", "Basic");
        let cases: [Option<&str>; 4] = [
            None,
            Some("application/x-www-form-urlencoded"),
            Some("undefined"),
            Some("text/plain"),
        ];
        for content_type in cases {
            let headers: Vec<(&str, &str)> = content_type
                .map(|t| ("Content-Type", t))
                .into_iter()
                .collect();
            let reply = client.send("POST", JOBS, &headers, Some(&body)).await;
            assert_eq!(reply.status, 415, "{content_type:?}: {}", reply.body);
            let message = assert_xml_error(&reply);
            assert!(
                message.contains("application/xml") && message.contains("application/json"),
                "{content_type:?}: {message}"
            );
        }
        let json = client
            .send(
                "POST",
                JOBS,
                &[
                    ("Content-Type", "text/plain"),
                    ("Accept", "application/json"),
                ],
                Some(&job_json("Nope")),
            )
            .await;
        assert_eq!(json.status, 415);
        let message = assert_json_error(&json);
        assert!(message.contains("application/json"), "{message}");
        // PUT refuses the same way.
        let id = create_job(&client, "Kept", "2010-12-31", "Basic").await;
        let put = client
            .send(
                "PUT",
                &format!("{JOBS}/{id}"),
                &[("Content-Type", "application/x-www-form-urlencoded")],
                Some("name=Changed"),
            )
            .await;
        assert_eq!(put.status, 415, "{}", put.body);
        assert_eq!(job_count(&server).await, 1);
        assert!(client
            .get(&format!("{JOBS}/{id}"))
            .await
            .body
            .contains("<name>Kept</name>"));
    }
}

contract_tests! {
    async fn malformed_bodies_are_400_with_a_fixed_message() {
        let server = TestServer::start().await;
        let client = server.client();
        let cases = [
            (
                "application/xml",
                "<job><name>ZQXMARKER</name><licensor-name>Miramax",
            ),
            ("application/xml", "<job><name>ZQXMARKER</nam></job>"),
            ("application/xml", "just ZQXMARKER text"),
            (
                "application/json",
                "{\"name\": \"ZQXMARKER\", \"begins_at\": \"2010-",
            ),
            ("application/json", "1234"),
            ("application/json", "\"text\""),
            ("application/json", "[\"ZQXMARKER\"]"),
        ];
        let mut messages = Vec::new();
        for (content_type, body) in cases {
            let reply = client
                .send("POST", JOBS, &[("Content-Type", content_type)], Some(body))
                .await;
            assert_eq!(reply.status, 400, "{body}: {}", reply.body);
            let message = assert_xml_error(&reply);
            for echoed in [
                "ZQXMARKER",
                "1234",
                "\"text\"",
                "&quot;text&quot;",
                "Miramax",
            ] {
                assert!(
                    !reply.body.contains(echoed),
                    "{body} echoed: {}",
                    reply.body
                );
            }
            messages.push(message);
        }
        // Fixed sentences: the two unclosed-tag bodies get the same one.
        assert_eq!(messages[0], messages[1]);
        // The JSON error shape when asked for.
        let reply = client
            .send(
                "POST",
                JOBS,
                &[
                    ("Content-Type", "application/json"),
                    ("Accept", "application/json"),
                ],
                Some("{\"name\": \"ZQXMARKER\""),
            )
            .await;
        assert_eq!(reply.status, 400);
        assert!(!assert_json_error(&reply).contains("ZQXMARKER"));
        assert_eq!(job_count(&server).await, 0);
    }
}

contract_tests! {
    async fn a_utf8_bom_before_the_xml_declaration_is_accepted() {
        let server = TestServer::start().await;
        let body = format!(
            "\u{FEFF}{XML_DECLARATION}\n{}",
            job_xml("With BOM", "2010-12-31", "Basic")
        );
        let reply = server.client().post_xml(JOBS, &body).await;
        reply.assert_status(200);
        assert!(
            reply.body.contains("<name>With BOM</name>"),
            "{}",
            reply.body
        );
    }
}

contract_tests! {
    async fn cdata_and_character_references_are_stored_exactly() {
        let server = TestServer::start().await;
        let client = server.client();
        let body = "<job><name><![CDATA[Tom & Jerry <HD>]]></name>\
                    <begins-at type=\"date\">2010-12-31</begins-at>\
                    <licensor-name>&#x1F3AC; Films</licensor-name><template>Basic</template>\
                    <tag-list><![CDATA[]]></tag-list></job>";
        let id = created_id(&client.post_xml(JOBS, body).await);
        let job = client.get_json(&format!("{JOBS}/{id}")).await;
        job.assert_status(200);
        let job = job.json();
        assert_eq!(job["name"], "Tom & Jerry <HD>");
        assert_eq!(job["licensor_name"], "\u{1F3AC} Films");
        assert_eq!(job["tag_list"], serde_json::json!(""));
        let xml = client.get(&format!("{JOBS}/{id}")).await;
        assert!(
            xml.body.contains("<name>Tom &amp; Jerry &lt;HD&gt;</name>")
                && xml.body.contains("<tag-list></tag-list>"),
            "{}",
            xml.body
        );
        // A character reference as the whole name.
        let id = created_id(
            &client
                .post_xml(JOBS, &job_xml("&#x1F3AC;", "2010-12-31", "Basic"))
                .await,
        );
        assert_eq!(
            client.get_json(&format!("{JOBS}/{id}")).await.json()["name"],
            "\u{1F3AC}"
        );
    }
}

contract_tests! {
    async fn doctypes_are_refused_quickly() {
        let server = TestServer::start().await;
        let client = server.client();
        let external =
            "<?xml version=\"1.0\"?>\n<!DOCTYPE job [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n\
                        <job><name>&xxe;</name><begins-at>2010-12-31</begins-at>\
                        <licensor-name>Miramax</licensor-name><template>Basic</template></job>";
        let mut bomb =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
        bomb.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
        for i in 2..10 {
            let prev = i - 1;
            let refs = format!("&lol{prev};").repeat(10);
            bomb.push_str(&format!("<!ENTITY lol{i} \"{refs}\">\n"));
        }
        bomb.push_str(
            "]>\n<job><name>&lol9;</name><begins-at>2010-12-31</begins-at>\
                       <licensor-name>Miramax</licensor-name><template>Basic</template></job>",
        );
        for (label, body) in [
            ("external entity", external.to_string()),
            ("billion laughs", bomb),
        ] {
            let started = Instant::now();
            let reply = client.post_xml(JOBS, &body).await;
            let elapsed = started.elapsed();
            assert_eq!(reply.status, 400, "{label}: {}", reply.body);
            assert_xml_error(&reply);
            assert!(!reply.body.contains("root:"), "{label}: {}", reply.body);
            assert!(elapsed < Duration::from_secs(3), "{label} took {elapsed:?}");
        }
        assert_eq!(job_count(&server).await, 0);
    }
}

contract_tests! {
    async fn fifty_thousand_nested_elements_are_refused() {
        let server = TestServer::start().await;
        let depth = 50_000;
        let body = format!(
            "<job><name>Deep</name><begins-at>2010-12-31</begins-at>\
             <licensor-name>Miramax</licensor-name><template>Basic</template><extra>{}{}</extra></job>",
            "<a>".repeat(depth),
            "</a>".repeat(depth)
        );
        let started = Instant::now();
        let reply = server.client().post_xml(JOBS, &body).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_xml_error(&reply);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(job_count(&server).await, 0);
    }
}

contract_tests! {
    async fn type_attributes_on_string_fields_are_plain_text() {
        let server = TestServer::start().await;
        let client = server.client();
        let yaml = "--- !ruby/object:Gem::Installer\ni: x";
        let body = format!(
            "<job><name type=\"yaml\">{yaml}</name><begins-at type=\"date\">2010-12-31</begins-at>\
             <licensor-name type=\"integer\">abc</licensor-name><template>Basic</template>\
             <title-external-id type=\"symbol\">ruby</title-external-id></job>"
        );
        let id = created_id(&client.post_xml(JOBS, &body).await);
        let job = client.get_json(&format!("{JOBS}/{id}")).await.json();
        assert_eq!(job["name"], yaml);
        assert_eq!(job["licensor_name"], "abc");
        assert_eq!(job["title_external_id"], "ruby");
    }
}

contract_tests! {
    async fn a_body_over_one_mebibyte_is_413() {
        let server = TestServer::start().await;
        let client = server.client();
        let padding = "a".repeat(1024 * 1024);
        let body = format!(
            "<job><name>Big</name><begins-at>2010-12-31</begins-at>\
             <licensor-name>Miramax</licensor-name><template>Basic</template>\
             <padding>{padding}</padding></job>"
        );
        let reply = client.post_xml(JOBS, &body).await;
        assert_eq!(
            reply.status,
            413,
            "{}",
            reply.body.chars().take(200).collect::<String>()
        );
        assert_xml_error(&reply);
        let json = job_json(&"b".repeat(1024 * 1024 + 10));
        let reply = client.post_json(JOBS, &json).await;
        assert_eq!(reply.status, 413);
        assert_json_error(&reply);
        assert_eq!(job_count(&server).await, 0);
    }
}

contract_tests! {
    async fn empty_bodies_are_400() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Untouched", "2010-12-31", "Basic").await;
        for content_type in ["application/xml", "application/json"] {
            let post = client
                .send("POST", JOBS, &[("Content-Type", content_type)], Some(""))
                .await;
            assert_eq!(post.status, 400, "POST {content_type}: {}", post.body);
            assert_xml_error(&post);
            let put = client
                .send(
                    "PUT",
                    &format!("{JOBS}/{id}"),
                    &[("Content-Type", content_type)],
                    Some(""),
                )
                .await;
            assert_eq!(put.status, 400, "PUT {content_type}: {}", put.body);
            assert_xml_error(&put);
        }
        // Also with an explicit Content-Length: 0 on the wire.
        let c = challenge(&server).await;
        let authorization = c.authorization("POST", JOBS, "00000001");
        let request = raw_request(
            "POST",
            JOBS,
            &addr(&server),
            &[
                ("Content-Type", "application/xml"),
                ("Authorization", &authorization),
            ],
            Some(""),
        );
        let reply = raw_once(&server, request).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert_eq!(job_count(&server).await, 1);
        assert!(client
            .get(&format!("{JOBS}/{id}"))
            .await
            .body
            .contains("<name>Untouched</name>"));
    }
}

contract_tests! {
    async fn nul_characters_are_refused_never_500() {
        let server = TestServer::start().await;
        let client = server.client();
        let xml = client
            .post_xml(JOBS, &job_xml("Bad&#0;Name", "2010-12-31", "Basic"))
            .await;
        assert!(
            xml.status == 400 || xml.status == 422,
            "{}: {}",
            xml.status,
            xml.body
        );
        let json = client.post_json(JOBS, &job_json("Bad\u{0}Name")).await;
        assert!(
            json.status == 400 || json.status == 422,
            "{}: {}",
            json.status,
            json.body
        );
        assert_eq!(job_count(&server).await, 0);
    }
}

// =============================================================================================
// 4. Methods and paths
// =============================================================================================

contract_tests! {
    async fn patch_on_a_job_is_405_with_allow_in_the_negotiated_format() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Patched", "2010-12-31", "Basic").await;
        let path = format!("{JOBS}/{id}");
        let body = "<job><name>Changed</name></job>";
        let xml = client
            .send(
                "PATCH",
                &path,
                &[("Content-Type", "application/xml")],
                Some(body),
            )
            .await;
        assert_eq!(xml.status, 405, "{}", xml.body);
        assert_eq!(xml.header("allow"), Some("GET, HEAD, PUT, DELETE"));
        assert_xml_error(&xml);
        let json = client
            .send(
                "PATCH",
                &path,
                &[
                    ("Content-Type", "application/xml"),
                    ("Accept", "application/json"),
                ],
                Some(body),
            )
            .await;
        assert_eq!(json.status, 405);
        assert_eq!(json.header("allow"), Some("GET, HEAD, PUT, DELETE"));
        assert_json_error(&json);
        assert!(client
            .get(&path)
            .await
            .body
            .contains("<name>Patched</name>"));
    }
}

contract_tests! {
    async fn post_on_work_areas_is_405_with_allow() {
        let server = TestServer::start().await;
        let reply = server
            .client()
            .send(
                "POST",
                "/api/work_areas",
                &[("Content-Type", "application/xml")],
                Some("<work-area><name>New</name></work-area>"),
            )
            .await;
        assert_eq!(reply.status, 405, "{}", reply.body);
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));
        assert_xml_error(&reply);
    }
}

contract_tests! {
    async fn unknown_paths_are_404() {
        let server = TestServer::start().await;
        let client = server.client();
        for path in [
            "/API/work_areas",
            "/api/nothing",
            "/api/work_areas/10/nothing",
            "/api/work_areas/abc",
        ] {
            let reply = client.get(path).await;
            assert_eq!(reply.status, 404, "{path}: {}", reply.body);
            assert_xml_error(&reply);
        }
    }
}

contract_tests! {
    async fn a_trailing_slash_names_the_same_resource() {
        let server = TestServer::start().await;
        let client = server.client();
        create_job(&client, "Slash", "2010-12-31", "Basic").await;
        for path in ["/api/work_areas/10", JOBS, "/api/work_areas/10/jobs/1"] {
            let plain = client.get(path).await;
            let slashed = client.get(&format!("{path}/")).await;
            plain.assert_status(200);
            slashed.assert_status(200);
            assert_eq!(slashed.header("content-type"), plain.header("content-type"));
            assert_eq!(slashed.body, plain.body, "{path}/");
        }
    }
}

// =============================================================================================
// 5. Links
// =============================================================================================

contract_tests! {
    async fn links_use_the_request_host() {
        let server = TestServer::start().await;
        let client = server.client();
        let host = [("Host", "example.test:9999")];
        let base = "http://example.test:9999";

        let area = client.send("GET", "/api/work_areas/10", &host, None).await;
        area.assert_status(200);
        assert!(
            area.body.contains(&format!(
                "<link rel=\"self\" href=\"{base}/api/work_areas/10\"/>"
            )) && area.body.contains(&format!(
                "<link rel=\"jobs\" href=\"{base}/api/work_areas/10/jobs\"/>"
            )),
            "{}",
            area.body
        );
        assert!(!area.body.contains(&server.base), "{}", area.body);

        let created = client
            .send(
                "POST",
                JOBS,
                &[
                    host[0],
                    ("Content-Type", "application/xml"),
                    ("Accept", "application/json"),
                ],
                Some(&job_xml("Hosted", "2010-12-31", "Basic")),
            )
            .await;
        created.assert_status(200);
        assert_eq!(
            created.header("location"),
            Some(&*format!("{base}{JOBS}/1"))
        );
        let job = created.json();
        assert_eq!(job["self_link"], format!("{base}{JOBS}/1"));
        assert_eq!(
            job["web_link"],
            format!("{base}/video_services/10/scheduled_titles/1/workflow")
        );

        let root = client
            .send(
                "GET",
                "/api",
                &[host[0], ("Accept", "application/json")],
                None,
            )
            .await;
        assert_eq!(
            root.json()["work_areas_link"],
            format!("{base}/api/work_areas")
        );
    }
}

contract_tests! {
    async fn links_use_the_configured_public_url() {
        let server =
            TestServer::start_with(|c| c.public_url = Some("https://seq.example.com".into())).await;
        let client = server.client();
        let base = "https://seq.example.com";
        let created = client
            .send(
                "POST",
                JOBS,
                &[
                    ("Host", "example.test:9999"),
                    ("Content-Type", "application/xml"),
                    ("Accept", "application/json"),
                ],
                Some(&job_xml("Public", "2010-12-31", "Basic")),
            )
            .await;
        created.assert_status(200);
        assert_eq!(
            created.header("location"),
            Some(&*format!("{base}{JOBS}/1"))
        );
        let job = created.json();
        for key in ["self_link", "work_area_link", "tasks_link", "web_link"] {
            let link = job[key].as_str().unwrap();
            assert!(link.starts_with(&format!("{base}/")), "{key}: {link}");
        }
        let page = client
            .get(&format!("{JOBS}?pagination=true&per_page=1"))
            .await;
        page.assert_status(200);
        assert!(
            page.body
                .contains(&format!("<link rel=\"self\" href=\"{base}{JOBS}/1\"/>")),
            "{}",
            page.body
        );
        assert!(!page.body.contains("http://"), "{}", page.body);
    }
}

contract_tests! {
    async fn forwarded_headers_are_not_trusted_by_default() {
        let server = TestServer::start().await;
        let reply = server
            .client()
            .send(
                "GET",
                "/api/work_areas/10",
                &[
                    ("Host", "example.test:9999"),
                    ("X-Forwarded-Host", "evil.test"),
                    ("X-Forwarded-Proto", "https"),
                ],
                None,
            )
            .await;
        reply.assert_status(200);
        assert!(
            reply
                .body
                .contains("<link rel=\"self\" href=\"http://example.test:9999/api/work_areas/10\"/>"),
            "{}",
            reply.body
        );
        assert!(!reply.body.contains("evil.test"), "{}", reply.body);
    }
}

contract_tests! {
    /// RFC 9112 §3.2: a request with an invalid `Host`, with two `Host` lines, or an HTTP/1.1
    /// request without one, is answered 400. Links are built from `Host`, so a lenient server
    /// writes whatever the client sent into every href.
    async fn an_invalid_missing_or_duplicate_host_is_400() {
        let server = TestServer::start().await;
        let c = challenge(&server).await;
        let target = "/api/work_areas/10";
        let own = addr(&server);
        let cases = [
            ("quote and angle brackets", vec!["example.test\"><x"]),
            ("a path in the host", vec!["example.test:9999/evil"]),
            ("a port that is not a number", vec!["example.test:99x"]),
            ("two Host lines", vec![own.as_str(), "other.test"]),
            ("no Host at all", vec![]),
        ];
        let mut wrong = Vec::new();
        for (i, (label, hosts)) in cases.iter().enumerate() {
            let authorization = c.authorization("GET", target, &format!("{:08x}", i + 1));
            let mut request = format!("GET {target} HTTP/1.1\r\n");
            for host in hosts {
                request.push_str(&format!("Host: {host}\r\n"));
            }
            request.push_str(&format!("Authorization: {authorization}\r\n\r\n"));
            let reply = raw_once(&server, request.into_bytes()).await;
            if reply.status != 400 {
                let self_link = reply.body.lines().find(|l| l.contains("rel=\"self\""));
                wrong.push(format!(
                    "{label} ({hosts:?}): {} {self_link:?}",
                    reply.status
                ));
            }
        }
        assert!(wrong.is_empty(), "should be 400:\n{}", wrong.join("\n"));
    }
}
