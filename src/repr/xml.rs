//! The XML writer, following the Rails conventions real clients parse: dasherized names, a
//! `type` on every non-string value, `nil="true"` (never with a type) for null.
use super::{format_datetime, Collection, Expanded, Link, Resource, Scalar};
use quick_xml::escape::{escape, partial_escape};
use std::fmt::Write;

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

pub fn resource_document(resource: &Resource) -> String {
    let mut out = String::with_capacity(2048);
    out.push_str(DECLARATION);
    write_resource(&mut out, resource, 0);
    out
}

pub fn collection_opening(collection: &Collection) -> String {
    let mut out = String::from(DECLARATION);
    write_collection_head(&mut out, collection);
    out
}

pub fn collection_item(resource: &Resource) -> String {
    let mut out = String::with_capacity(2048);
    write_resource(&mut out, resource, 1);
    out
}

pub fn collection_closing(kind: &str) -> String {
    let mut out = String::new();
    write_collection_tail(&mut out, kind);
    out
}

/// Opens a collection: only `total-entries`, `prev` and `next` may precede the items, because
/// clients treat any other child as an item.
pub fn write_collection_head(out: &mut String, collection: &Collection) {
    let _ = writeln!(out, "<{} type=\"array\">", dasherize(collection.kind));
    if let Some(total) = collection.total_entries {
        let _ = writeln!(out, "  <total-entries>{total}</total-entries>");
    }
    for (rel, href) in [("prev", &collection.prev), ("next", &collection.next)] {
        if let Some(href) = href {
            let _ = writeln!(
                out,
                "  <link rel=\"{rel}\" href=\"{}\"/>",
                escape(href.as_str())
            );
        }
    }
}

pub fn write_collection_tail(out: &mut String, kind: &str) {
    let _ = writeln!(out, "</{}>", dasherize(kind));
}

pub fn write_resource(out: &mut String, resource: &Resource, depth: usize) {
    let pad = "  ".repeat(depth);
    let root = dasherize(resource.kind);
    let _ = writeln!(out, "{pad}<{root}>");
    for (name, value) in &resource.fields {
        out.push_str(&pad);
        out.push_str("  ");
        write_field(out, &dasherize(name), value);
        out.push('\n');
    }
    for link in &resource.links {
        out.push_str(&pad);
        out.push_str("  ");
        write_link(out, link, depth + 1);
        out.push('\n');
    }
    let _ = writeln!(out, "{pad}</{root}>");
}

fn write_field(out: &mut String, name: &str, value: &Scalar) {
    let (type_attr, text) = match value {
        Scalar::Null => {
            let _ = write!(out, "<{name} nil=\"true\"/>");
            return;
        }
        // A raw carriage return would be read back as a line feed by every XML parser.
        Scalar::Str(s) => (None, partial_escape(s.as_str()).replace('\r', "&#13;")),
        Scalar::Int(i) => (Some("integer"), i.to_string()),
        Scalar::Bool(b) => (Some("boolean"), b.to_string()),
        Scalar::Date(d) => (Some("date"), d.format("%Y-%m-%d").to_string()),
        Scalar::DateTime(t) => (Some("datetime"), format_datetime(t)),
    };
    match type_attr {
        Some(t) => {
            let _ = write!(out, "<{name} type=\"{t}\">{text}</{name}>");
        }
        None => {
            let _ = write!(out, "<{name}>{text}</{name}>");
        }
    }
}

/// A link; an expanded one wraps its list: `<link rel="tasks" href=".."><tasks type="array">…`.
fn write_link(out: &mut String, link: &Link, depth: usize) {
    if link.html {
        out.push_str("<link type=\"text/html\" ");
    } else {
        out.push_str("<link ");
    }
    let _ = write!(
        out,
        "rel=\"{}\" href=\"{}\"",
        link.rel,
        escape(link.href.as_str())
    );
    let pad = "  ".repeat(depth);
    match &link.expanded {
        None => out.push_str("/>"),
        Some(Expanded::List(items)) => {
            let list = dasherize(link.rel);
            let _ = writeln!(out, ">\n{pad}  <{list} type=\"array\">");
            for item in items {
                write_resource(out, item, depth + 2);
            }
            let _ = write!(out, "{pad}  </{list}>\n{pad}</link>");
        }
        Some(Expanded::One(resource)) => {
            out.push_str(">\n");
            write_resource(out, resource, depth + 1);
            let _ = write!(out, "{pad}</link>");
        }
    }
}

/// `work_area` → `work-area`.
pub fn dasherize(name: &str) -> String {
    name.replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn null_has_no_type_and_strings_are_escaped() {
        let resource = Resource {
            kind: "work_area",
            fields: vec![
                ("tag_list", Scalar::Str("Crackle > CA & <co>".into())),
                ("ends_at", Scalar::Null),
                (
                    "due_date",
                    Scalar::Date(NaiveDate::from_ymd_opt(2010, 5, 5).unwrap()),
                ),
                ("empty", Scalar::Str(String::new())),
            ],
            links: vec![Link::new("self", "http://h/a?x=1&y=2".into())],
        };
        let xml = resource_document(&resource);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<work-area>\n  \
             <tag-list>Crackle &gt; CA &amp; &lt;co&gt;</tag-list>\n  <ends-at nil=\"true\"/>\n  \
             <due-date type=\"date\">2010-05-05</due-date>\n  <empty></empty>\n  \
             <link rel=\"self\" href=\"http://h/a?x=1&amp;y=2\"/>\n</work-area>\n"
        );
    }
}
