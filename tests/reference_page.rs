//! The reference page, end to end: its example jobs rendered byte for byte in XML and JSON, and
//! its curl commands run with `curl --digest` against a live server.
#[macro_use]
mod common;

use common::{curl, Client, TestServer};

/// Creates the page's three example jobs (ids 1, 2, 3) through the API.
async fn create_reference_jobs(client: &Client) {
    let jobs = [
        (
            "Mulholland Drive",
            "2011-01-01",
            "2011-01-31",
            "Miramax",
            "Day Before",
            "Drama,Surreal",
            "YOUR_OWN_EXTERNAL_ID_1",
            "123",
            "999",
        ),
        (
            "Lord of The Rings",
            "2011-01-01",
            "2011-01-31",
            "Miramax",
            "Two Months Before",
            "Action",
            "YOUR_OWN_EXTERNAL_ID_2",
            "456",
            "888",
        ),
        (
            "Ironman 2",
            "2010-05-15",
            "2010-12-31",
            "Warner",
            "Ten Days Before",
            "Crackle &gt; CA",
            "1332028",
            "789",
            "777",
        ),
    ];
    for (name, begins, ends, licensor, template, tags, external, scheduling, title) in jobs {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<job>\n  <name>{name}</name>\n  \
             <begins-at type='date'>{begins}</begins-at>\n  <ends-at type='date'>{ends}</ends-at>\n  \
             <licensor-name>{licensor}</licensor-name>\n  <template>{template}</template>\n  \
             <tag-list>{tags}</tag-list>\n  <title-external-id>{external}</title-external-id>\n  \
             <link rel=\"scheduling\" href=\"https://movida.bebanjo.net/api/schedulings/{scheduling}\"/>\n  \
             <link rel=\"metadata\" href=\"https://movida.bebanjo.net/api/schedulings/{scheduling}/metadata\"/>\n  \
             <link rel=\"title\" href=\"https://movida.bebanjo.net/api/titles/{title}\"/>\n</job>\n"
        );
        client
            .post_xml("/api/work_areas/10/jobs", &body)
            .await
            .assert_status(200);
    }
}

fn golden(name: &str, base: &str) -> String {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .replace("{base}", base)
}

contract_tests! {
    async fn example_jobs_render_exactly_as_the_reference_page_shows() {
        let server = TestServer::start().await;
        let client = server.client();
        create_reference_jobs(&client).await;

        let xml = client.get("/api/work_areas/10/jobs/3").await;
        xml.assert_status(200);
        assert_eq!(
            xml.header("content-type"),
            Some("application/xml; charset=utf-8")
        );
        assert_eq!(xml.body, golden("job_3.xml", &server.base));

        let json = client.get_json("/api/work_areas/10/jobs/3").await;
        assert_eq!(
            json.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(json.body, golden("job_3.json", &server.base));

        let page = "/api/work_areas/10/jobs?pagination=true&per_page=2";
        assert_eq!(
            client.get(page).await.body,
            golden("jobs_page_1.xml", &server.base)
        );
        assert_eq!(
            client.get_json(page).await.body,
            golden("jobs_page_1.json", &server.base)
        );
    }

    async fn the_pages_curl_commands_work_with_curl_digest() {
        let server = TestServer::start().await;
        create_reference_jobs(&server.client()).await;
        let base = &server.base;
        let auth = ["--digest", "-u", "robot_user:password"];
        let run = |extra: Vec<String>| {
            let mut args: Vec<String> = auth.iter().map(|s| s.to_string()).collect();
            args.extend(extra);
            async move {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                curl(&refs).await
            }
        };
        let json = "Accept: application/json".to_string();

        // Getting a list of jobs, both formats, with and without a filter.
        let (status, body) = run(vec![format!(
            "{base}/api/work_areas/10/jobs?pagination=true"
        )])
        .await;
        assert_eq!(status, 200);
        assert!(
            body.contains("<jobs type=\"array\">") && body.contains("<total-entries>3</total-entries>")
        );
        let (status, body) = run(vec![
            "-H".into(),
            json.clone(),
            format!("{base}/api/work_areas/10/jobs?pagination=true"),
        ])
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["total_entries"],
            3
        );
        let (status, body) = run(vec![format!(
            "{base}/api/work_areas/10/jobs?pagination=true&filter=problematic"
        )])
        .await;
        assert_eq!(status, 200);
        assert!(body.contains("<total-entries>0</total-entries>"), "{body}");

        // Creating a job from job.xml and job.json.
        let dir = std::env::temp_dir().join(format!(
            "sequence-curl-{}-{:?}",
            std::process::id(),
            common::backend()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let job_xml = dir.join("job.xml");
        std::fs::write(&job_xml, "<job>\n  <name>Mulholland Drive</name>\n  <begins-at type='date'>2010-12-31</begins-at>\n  <ends-at type='date'>2011-01-31</ends-at>\n  <licensor-name>Miramax</licensor-name>\n  <template>Basic</template>\n  <tag-list>Drama,Surreal</tag-list>\n  <title-external-id>EXT-ID-1234</title-external-id>\n</job>\n").unwrap();
        let job_json = dir.join("job.json");
        std::fs::write(&job_json, r#"{"name": "Mulholland Drive", "begins_at": "2010-12-31", "ends_at": "2011-01-31", "licensor_name": "Miramax", "template": "Basic", "tag_list": "Drama,Surreal", "title_external_id": "EXT-ID-1234"}"#).unwrap();
        let jobs_url = format!("{base}/api/work_areas/10/jobs");
        let (status, body) = run(vec![
            "-H".into(),
            "Content-Type: application/xml".into(),
            "-X".into(),
            "POST".into(),
            "-d".into(),
            format!("@{}", job_xml.display()),
            jobs_url.clone(),
        ])
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("<id type=\"integer\">4</id>")
                && body.contains("<due-date type=\"date\">2010-12-31</due-date>"),
            "{body}"
        );
        let (status, body) = run(vec![
            "-H".into(),
            "Content-Type: application/json".into(),
            "-H".into(),
            json.clone(),
            "-X".into(),
            "POST".into(),
            "-d".into(),
            format!("@{}", job_json.display()),
            jobs_url.clone(),
        ])
        .await;
        assert_eq!(status, 200, "{body}");
        let created: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(created["id"], 5);
        assert_eq!(created["ends_at"], "2011-01-31");

        // Updating job 4 with job_update.xml / job_update.json.
        let update_xml = dir.join("job_update.xml");
        std::fs::write(&update_xml, "<job>\n  <name>Mulholland Dr.</name>\n  <begins-at type='date'>2011-01-01</begins-at>\n</job>\n").unwrap();
        let (status, body) = run(vec![
            "-H".into(),
            "Content-Type: application/xml".into(),
            "-X".into(),
            "PUT".into(),
            "-d".into(),
            format!("@{}", update_xml.display()),
            format!("{jobs_url}/4"),
        ])
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("<name>Mulholland Dr.</name>")
                && body.contains("<due-date type=\"date\">2011-01-01</due-date>"),
            "{body}"
        );
        let update_json = dir.join("job_update.json");
        std::fs::write(
            &update_json,
            r#"{"name": "Mulholland Dr.", "begins_at": "2011-01-01"}"#,
        )
        .unwrap();
        let (status, body) = run(vec![
            "-H".into(),
            "Content-Type: application/json".into(),
            "-H".into(),
            json.clone(),
            "-X".into(),
            "PUT".into(),
            "-d".into(),
            format!("@{}", update_json.display()),
            format!("{jobs_url}/5"),
        ])
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["begins_at"],
            "2011-01-01"
        );

        // Deleting, then reading the deleted job and the deleted list with the flag.
        let (status, body) = run(vec!["-X".into(), "DELETE".into(), format!("{jobs_url}/4")]).await;
        assert_eq!((status, body.as_str()), (204, ""));
        let (status, _) = run(vec![
            "-H".into(),
            json.clone(),
            "-X".into(),
            "DELETE".into(),
            format!("{jobs_url}/5"),
        ])
        .await;
        assert_eq!(status, 204);
        let (status, _) = run(vec![format!("{jobs_url}/4")]).await;
        assert_eq!(status, 404);
        let (status, body) = run(vec![format!("{jobs_url}/4?deleted")]).await;
        assert_eq!(status, 200);
        assert!(
            body.contains(&format!(
                "<link rel=\"self\" href=\"{jobs_url}/4?deleted\"/>"
            )),
            "{body}"
        );
        let (status, body) = run(vec![
            "-H".into(),
            json.clone(),
            format!("{jobs_url}/5?deleted"),
        ])
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["tasks_link"],
            format!("{jobs_url}/5/tasks?deleted")
        );
        let (status, body) = run(vec![format!("{jobs_url}?deleted")]).await;
        assert_eq!(status, 200);
        assert_eq!(body.matches("<job>").count(), 2, "{body}");
        let (status, body) = run(vec!["-H".into(), json, format!("{jobs_url}?deleted")]).await;
        assert_eq!(status, 200);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["entries"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
