//! Inputs found by trying to break the server, each with the answer it must get now.
#[macro_use]
mod common;

use common::{create_job, TestServer};
use std::io::{Read, Write};
use std::time::Duration;

const JOBS: &str = "/api/work_areas/10/jobs";

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Sends raw bytes on a fresh connection and returns everything the server writes before it
/// stops answering (or closes).
fn raw(server: &TestServer, request: &[u8]) -> String {
    let mut stream = std::net::TcpStream::connect(addr(server)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.windows(4).any(|w| w == b"\r\n\r\n") && out.len() > 20 {
            // One full answer is enough for these checks.
            std::thread::sleep(Duration::from_millis(100));
            if let Ok(n) = stream.read(&mut buf) {
                out.extend_from_slice(&buf[..n]);
            }
            break;
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

contract_tests! {
    async fn a_task_at_the_last_position_never_overflows_the_next_one() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "J", "2011-01-01", "Empty").await;
        let too_far = client
            .post_json(&format!("{JOBS}/{id}/tasks"), r#"{"name": "last", "position": 2147483647}"#)
            .await;
        too_far.assert_status(422);
        assert_eq!(too_far.json()["errors"][0], "Position must be between 1 and 1000000");
        client
            .post_json(&format!("{JOBS}/{id}/tasks"), r#"{"name": "last", "position": 1000000}"#)
            .await
            .assert_status(200);
        let next = client.post_json(&format!("{JOBS}/{id}/tasks"), r#"{"name": "next"}"#).await;
        next.assert_status(200);
        assert_eq!(next.json()["position"], 1_000_001);
    }

    async fn overlong_text_is_refused_naming_the_attribute() {
        let server = TestServer::start().await;
        let name = "x".repeat(10_001);
        let reply = server
            .client()
            .post_json(JOBS, &format!(r#"{{"name": "{name}", "begins_at": "2011-01-01", "licensor_name": "L", "template": "Basic"}}"#))
            .await;
        reply.assert_status(422);
        assert_eq!(reply.json()["errors"][0], "Name is too long (maximum is 10000 characters)");
        assert_eq!(server.count("SELECT count(*) FROM jobs").await, 0);
    }

    async fn a_carriage_return_reads_back_the_same_in_xml_and_json() {
        let server = TestServer::start().await;
        let client = server.client();
        let created = client
            .post_json(JOBS, r#"{"name": "a\rb\r\nc", "begins_at": "2011-01-01", "licensor_name": "L", "template": "Basic"}"#)
            .await;
        created.assert_status(200);
        let id = created.json()["id"].as_i64().unwrap();
        let xml = client.get(&format!("{JOBS}/{id}")).await;
        assert!(xml.body.contains("<name>a&#13;b&#13;\nc</name>"), "{}", xml.body);
        // Written back as XML, the value survives unchanged.
        let put = client
            .put_xml(&format!("{JOBS}/{id}"), "<job><name>a&#13;b&#13;\nc</name></job>")
            .await;
        put.assert_status(200);
        assert_eq!(client.get_json(&format!("{JOBS}/{id}")).await.json()["name"], "a\rb\r\nc");
    }

    async fn derived_dates_outside_four_digit_years_are_refused() {
        let server = TestServer::start().await;
        let client = server.client();
        for (begins, template) in [("9999-12-31", "Basic"), ("0001-01-05", "Ten Days Before")] {
            let reply = client
                .post_json(JOBS, &format!(r#"{{"name": "N", "begins_at": "{begins}", "licensor_name": "L", "template": "{template}"}}"#))
                .await;
            reply.assert_status(422);
            assert_eq!(reply.json()["errors"][0], "Begins at is out of range");
        }
    }

    async fn unknown_sub_resources_are_not_routes() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "J", "2011-01-01", "Basic").await;
        for method in ["GET", "OPTIONS", "DELETE", "PATCH"] {
            let reply = client.anonymous(method, &format!("{JOBS}/{id}/foo"), &[]).await;
            assert_eq!(reply.status, 404, "{method}");
            let reply = client.anonymous(method, &format!("{JOBS}/{id}/foo/1"), &[]).await;
            assert_eq!(reply.status, 404, "{method}");
        }
        client.get(&format!("{JOBS}/{id}/hooks")).await.assert_status(200);
    }

    async fn a_json_object_where_a_string_belongs_is_refused_not_unwrapped() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "Kept", "2011-01-01", "Basic").await;
        let reply = client.put_json(&format!("{JOBS}/{id}"), r#"{"name": {"name": "X"}}"#).await;
        reply.assert_status(422);
        assert_eq!(reply.json()["errors"][0], "Name must be a string");
        let wrapped = client.put_json(&format!("{JOBS}/{id}"), r#"{"job": {"name": "Wrapped"}}"#).await;
        wrapped.assert_status(200);
        assert_eq!(wrapped.json()["name"], "Wrapped");
    }

    async fn a_declared_oversized_body_is_413_at_once_and_bad_chunking_is_400() {
        let server = TestServer::start().await;
        let client = server.client();
        let id = create_job(&client, "J", "2011-01-01", "Basic").await;
        // Authenticate the raw requests below with a fresh Digest exchange each.
        let target = format!("{JOBS}/{id}");
        let header = client.authorization_for("PUT", &target).await;
        let answer = raw(&server, format!(
            "PUT {target} HTTP/1.1\r\nHost: h\r\nAuthorization: {header}\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
        ).as_bytes());
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        let header = client.authorization_for("PUT", &target).await;
        let answer = raw(&server, format!(
            "PUT {target} HTTP/1.1\r\nHost: h\r\nAuthorization: {header}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n"
        ).as_bytes());
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }

    async fn a_401_to_a_large_body_keeps_the_connection_for_the_retry() {
        let server = TestServer::start().await;
        let body = format!(r#"{{"name": "{}", "begins_at": "2011-01-01", "licensor_name": "L", "template": "Basic"}}"#, "x".repeat(9_000));
        let padding = " ".repeat(60_000);
        let body = format!("{body}{padding}");
        let request = format!(
            "POST {JOBS} HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}GET /api HTTP/1.1\r\nHost: h\r\n\r\n",
            body.len()
        );
        let mut stream = std::net::TcpStream::connect(addr(&server)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut seen = String::new();
        let mut buf = [0u8; 65536];
        while seen.matches("HTTP/1.1 401").count() < 2 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        assert_eq!(seen.matches("HTTP/1.1 401").count(), 2, "the second request got no answer: {seen}");
    }

    async fn idle_and_half_sent_requests_are_cut_off() {
        let server = TestServer::start_with(|c| c.header_read_timeout_secs = 1).await;
        let started = std::time::Instant::now();
        let half = raw(&server, b"GET /api HTTP/1.1\r\nHost: x\r\n");
        // Closed by the server (no answer, or a 408), well before the reader's own 3 s limit.
        assert!(!half.contains("200 OK"), "{half}");
        assert!(started.elapsed() < Duration::from_millis(2900), "{:?}", started.elapsed());
        // Many idle connections do not stop a normal request.
        let idle: Vec<_> = (0..50).map(|_| std::net::TcpStream::connect(addr(&server)).unwrap()).collect();
        server.client().get("/api").await.assert_status(200);
        drop(idle);
    }
}
