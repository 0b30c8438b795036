//! Reading answers in tests: a tiny XML tree (enough to assert on elements, attributes and
//! their order) and checks of the error shapes, in either format.
use super::Reply;
use serde_json::Value;
use std::collections::BTreeSet;

pub const XML_TYPE: &str = "application/xml; charset=utf-8";
pub const JSON_TYPE: &str = "application/json; charset=utf-8";
pub const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn find(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn link_node(&self, rel: &str) -> Option<&Node> {
        self.items("link")
            .into_iter()
            .find(|l| l.attr("rel") == Some(rel))
    }

    pub fn rels(&self) -> Vec<&str> {
        self.items("link")
            .iter()
            .map(|l| l.attr("rel").unwrap_or(""))
            .collect()
    }

    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    pub fn child(&self, name: &str) -> &Node {
        match self.children.iter().find(|c| c.name == name) {
            Some(child) => child,
            None => panic!(
                "no <{name}> in <{}>; children: {:?}",
                self.name,
                self.child_names()
            ),
        }
    }

    #[track_caller]
    pub fn text_of(&self, name: &str) -> &str {
        &self.child(name).text
    }

    pub fn child_names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }

    pub fn items(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    pub fn link(&self, rel: &str) -> Option<&str> {
        self.children
            .iter()
            .find(|c| c.name == "link" && c.attr("rel") == Some(rel))
            .and_then(|c| c.attr("href"))
    }

    /// The `(rel, href)` of every `<link>` child, in document order.
    pub fn links(&self) -> Vec<(String, String)> {
        self.items("link")
            .iter()
            .map(|l| {
                (
                    l.attr("rel").unwrap_or("").to_string(),
                    l.attr("href").unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

pub fn node_from(start: &quick_xml::events::BytesStart) -> Node {
    Node {
        name: String::from_utf8(start.name().as_ref().to_vec()).unwrap(),
        attrs: start
            .attributes()
            .map(|a| {
                let a = a.expect("attribute");
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().expect("attribute value").into_owned(),
                )
            })
            .collect(),
        ..Node::default()
    }
}

/// Parses a whole document and returns its root element.
#[track_caller]
pub fn parse_xml(body: &str) -> Node {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(body);
    let mut stack = vec![Node::default()];
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => panic!("not XML ({e}): {body}"),
        };
        match event {
            Event::Start(start) => stack.push(node_from(&start)),
            Event::Empty(start) => {
                let node = node_from(&start);
                stack.last_mut().unwrap().children.push(node);
            }
            Event::End(_) => {
                let node = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(node);
            }
            Event::Text(text) => stack
                .last_mut()
                .unwrap()
                .text
                .push_str(&text.decode().unwrap()),
            Event::CData(text) => stack
                .last_mut()
                .unwrap()
                .text
                .push_str(&text.decode().unwrap()),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => {
                        let name = reference.decode().unwrap();
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .unwrap_or_else(|| panic!("unknown entity {name}: {body}"))
                            .to_string()
                    }
                };
                stack.last_mut().unwrap().text.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack.pop().unwrap();
    assert_eq!(document.children.len(), 1, "one root element: {body}");
    document.children.remove(0)
}

/// A reply that must be a 200 XML document; its root element.
#[track_caller]
pub fn xml_ok(reply: &Reply) -> Node {
    reply.assert_status(200);
    assert_eq!(
        reply.header("content-type"),
        Some(XML_TYPE),
        "{}",
        reply.body
    );
    assert!(reply.body.starts_with(DECLARATION), "{}", reply.body);
    parse_xml(&reply.body)
}

/// A reply that must be a 200 JSON document.
#[track_caller]
pub fn json_ok(reply: &Reply) -> Value {
    reply.assert_status(200);
    assert_eq!(
        reply.header("content-type"),
        Some(JSON_TYPE),
        "{}",
        reply.body
    );
    reply.json()
}

pub fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// The messages of a 422 validation error, in either format, checking the body's shape.
#[track_caller]
pub fn validation_errors(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 422, "body: {}", reply.body);
    if reply.header("content-type") == Some(JSON_TYPE) {
        let value = reply.json();
        assert_eq!(keys(&value), ["errors"], "{}", reply.body);
        value["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("errors is not an array: {}", reply.body))
            .iter()
            .map(|m| m.as_str().expect("a string message").to_string())
            .collect()
    } else {
        assert_eq!(reply.header("content-type"), Some(XML_TYPE));
        let root = parse_xml(&reply.body);
        assert_eq!(root.name, "errors", "{}", reply.body);
        root.children
            .iter()
            .map(|c| {
                assert_eq!(c.name, "error", "{}", reply.body);
                assert!(c.children.is_empty(), "{}", reply.body);
                c.text.clone()
            })
            .collect()
    }
}

/// The message of a 422 parameter error, in either format, checking the body's shape.
#[track_caller]
pub fn parameter_error(reply: &Reply) -> String {
    assert_eq!(reply.status, 422, "body: {}", reply.body);
    if reply.header("content-type") == Some(JSON_TYPE) {
        let value = reply.json();
        assert_eq!(keys(&value), ["error"], "{}", reply.body);
        assert_eq!(keys(&value["error"]), ["message"], "{}", reply.body);
        value["error"]["message"].as_str().unwrap().to_string()
    } else {
        assert_eq!(reply.header("content-type"), Some(XML_TYPE));
        let root = parse_xml(&reply.body);
        assert_eq!(root.name, "error", "{}", reply.body);
        assert_eq!(root.child_names(), ["message"], "{}", reply.body);
        root.text_of("message").to_string()
    }
}

/// Whether `message` mentions `key` as a whole word (`per_page` does not name `page`).
pub fn names_parameter(message: &str, key: &str) -> bool {
    message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| word == key)
}

pub fn set<S: AsRef<str>>(items: &[S]) -> BTreeSet<String> {
    items.iter().map(|s| s.as_ref().to_string()).collect()
}

#[track_caller]
pub fn entries(list: &Value) -> Vec<Value> {
    list["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries: {list}"))
        .clone()
}
