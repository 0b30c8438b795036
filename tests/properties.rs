//! Property tests ("fuzzing" on stable Rust) for every parser that reads untrusted input: the XML
//! and JSON body readers, the `Authorization` parser, the `Accept` parser and the query parser.
//! Each gets arbitrary input (must never panic) and well-formed input (must read back exactly).
//!
//! The case count comes from `PROPTEST_CASES` (proptest's own variable); CI runs the default,
//! longer runs are documented in docs/BAD_INPUT.md. Failures are saved by proptest in
//! `tests/properties.proptest-regressions` and are committed, so that they replay on every run.
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use sequence::domain::attributes::Value;
use sequence::http::body::{parse_json, parse_xml};
use sequence::http::digest::parse_authorization;
use sequence::http::negotiate::from_accept;
use sequence::http::params::{ListParams, Query};
use sequence::repr::Format;

/// Field names as clients write them: lower-case words joined by dashes.
fn field_name() -> impl Strategy<Value = String> {
    "[a-z]{1,8}(-[a-z]{1,8}){0,2}"
}

/// Any text XML 1.0 can carry (no control characters other than tab and newline).
fn xml_text() -> impl Strategy<Value = String> {
    "[\\t\\n\\PC]{0,40}".prop_filter("no carriage returns", |s| !s.contains('\r'))
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/properties.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]


    #[test]
    fn xml_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_xml(&bytes);
    }

    #[test]
    fn xml_reader_never_panics_on_tag_soup(soup in "(<[a-z-]{0,4}( [a-z]+=\"[^\"]{0,5}\")?/?>|</[a-z-]{0,4}>|&[a-z#0-9]{0,5};|<!\\[CDATA\\[|\\]\\]>|<!DOCTYPE|<\\?xml|[a-z <>&]){0,40}") {
        let _ = parse_xml(soup.as_bytes());
    }

    #[test]
    fn xml_fields_read_back_exactly(fields in proptest::collection::btree_map(field_name(), xml_text(), 0..6)) {
        let mut doc = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<job>\n");
        for (name, text) in &fields {
            doc.push_str(&format!("  <{name}>{}</{name}>\n", escape_xml(text)));
        }
        doc.push_str("</job>\n");
        let attrs = parse_xml(doc.as_bytes()).expect("well-formed XML is read");
        for (name, text) in &fields {
            prop_assert_eq!(attrs.get(&name.replace('-', "_")), Some(&Value::Text(text.clone())));
        }
    }

    #[test]
    fn json_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_json(&bytes);
    }

    #[test]
    fn json_fields_read_back_exactly(fields in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{0,30}", 0..6)) {
        let object: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .filter(|(k, _)| !k.ends_with("_link"))
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let text = serde_json::to_string(&object).unwrap();
        let attrs = parse_json(text.as_bytes()).expect("a JSON object is read");
        for (name, value) in &object {
            prop_assert_eq!(attrs.get(name), Some(&Value::Text(value.as_str().unwrap().to_string())));
        }
    }

    #[test]
    fn authorization_parser_never_panics(header in "\\PC{0,200}") {
        let _ = parse_authorization(&header);
        let _ = parse_authorization(&format!("Digest {header}"));
    }

    #[test]
    fn authorization_reads_back_what_a_client_wrote(
        username in "[^\"\\\\\\p{C}]{1,20}",
        uri in "/[a-zA-Z0-9/?&=,'%._-]{0,40}",
        nonce in "[0-9a-f]{8,64}",
        cnonce in "[A-Za-z0-9+/=]{1,20}",
        nc in "[0-9a-f]{8}",
        quote_all in any::<bool>(),
    ) {
        let q = |v: &str| if quote_all { format!("\"{v}\"") } else { v.to_string() };
        let header = format!(
            "Digest username=\"{username}\", realm=\"Production Sequence\", nonce=\"{nonce}\", \
             uri=\"{uri}\", response=\"0123456789abcdef0123456789abcdef\", algorithm={}, \
             qop={}, nc={}, cnonce=\"{cnonce}\", opaque=\"abc\"",
            q("MD5"), q("auth"), q(&nc)
        );
        let credentials = parse_authorization(&header).expect("a well-formed header parses");
        prop_assert_eq!(credentials.username, username);
        prop_assert_eq!(credentials.uri, uri);
        prop_assert_eq!(credentials.nonce, nonce);
        prop_assert_eq!(credentials.nc, Some(nc));
        prop_assert_eq!(credentials.cnonce, Some(cnonce));
        prop_assert_eq!(credentials.qop.as_deref(), Some("auth"));
    }

    #[test]
    fn accept_parser_never_panics(header in "\\PC{0,120}") {
        let _ = from_accept(Some(&header));
    }

    #[test]
    fn accept_prefers_json_when_it_ranks_first(
        others in proptest::collection::vec("(text|image|application)/[a-z]{1,8}", 0..4),
    ) {
        let mut ranges = vec!["application/json".to_string()];
        ranges.extend(others.iter().map(|o| format!("{o};q=0.5")));
        prop_assert_eq!(from_accept(Some(&ranges.join(", "))), Ok(Format::Json));
    }

    #[test]
    fn query_parser_never_panics(raw in "\\PC{0,120}") {
        let query = Query::parse(Some(&raw));
        let _ = ListParams::from_query(&query);
        let _ = query.with_page(2);
        let _ = query.expand();
    }

    #[test]
    fn page_links_keep_every_other_parameter(
        pairs in proptest::collection::btree_map("[a-z_]{1,10}", "[\\PC]{0,12}", 0..5),
        page in 1i64..10_000,
    ) {
        let raw: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()))
            .collect();
        let query = Query::parse(Some(&raw.join("&")));
        let linked = Query::parse(Some(&query.with_page(page)));
        prop_assert_eq!(linked.get("page").map(|p| p.value.clone()), Some(page.to_string()));
        for (key, value) in pairs.iter().filter(|(k, _)| k.as_str() != "page") {
            prop_assert_eq!(linked.get(key).map(|p| p.value.clone()), Some(value.clone()));
        }
    }
}
