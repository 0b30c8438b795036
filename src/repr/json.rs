//! The JSON writer: `resource_type` first, snake_case attributes in the XML order, then one
//! `<rel>_link` per link.
use super::{format_datetime, Collection, Expanded, Resource, Scalar};
use serde_json::{Map, Value};

pub fn resource_document(resource: &Resource) -> String {
    pretty(&Value::Object(resource_object(resource)))
}

/// `{`, the keys before `entries`, and `"entries": [` — laid out as `to_string_pretty` would.
pub fn collection_opening(collection: &Collection) -> String {
    let mut out = String::from("{\n");
    for (key, value) in collection_head(collection) {
        out.push_str(&format!("  {}: {},\n", Value::String(key), value));
    }
    out.push_str("  \"entries\": [");
    out
}

/// One entry, indented inside the `entries` array.
pub fn collection_item(resource: &Resource, first: bool) -> String {
    let text = serde_json::to_string_pretty(&Value::Object(resource_object(resource)))
        .unwrap_or_else(|_| "{}".into());
    let mut out = String::with_capacity(text.len() + 256);
    out.push_str(if first { "\n" } else { ",\n" });
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("    ");
        out.push_str(line);
    }
    out
}

pub fn collection_closing(empty: bool) -> String {
    if empty {
        "]\n}\n".into()
    } else {
        "\n  ]\n}\n".into()
    }
}

/// The keys before `entries`, each only when present.
pub fn collection_head(collection: &Collection) -> Map<String, Value> {
    let mut root = Map::new();
    if let Some(total) = collection.total_entries {
        root.insert("total_entries".into(), total.into());
    }
    if let Some(prev) = &collection.prev {
        root.insert("prev_link".into(), prev.clone().into());
    }
    if let Some(next) = &collection.next {
        root.insert("next_link".into(), next.clone().into());
    }
    root
}

pub fn resource_object(resource: &Resource) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("resource_type".into(), resource.kind.into());
    for (name, value) in &resource.fields {
        object.insert((*name).into(), scalar(value));
    }
    for link in &resource.links {
        object.insert(format!("{}_link", link.rel), link.href.clone().into());
        match &link.expanded {
            None => {}
            Some(Expanded::List(items)) => {
                let list = items.iter().map(|i| Value::Object(resource_object(i)));
                object.insert(link.rel.to_string(), Value::Array(list.collect()));
            }
            Some(Expanded::One(resource)) => {
                object.insert(
                    link.rel.to_string(),
                    Value::Object(resource_object(resource)),
                );
            }
        }
    }
    object
}

fn scalar(value: &Scalar) -> Value {
    match value {
        Scalar::Str(s) => Value::String(s.clone()),
        Scalar::Int(i) => (*i).into(),
        Scalar::Bool(b) => (*b).into(),
        Scalar::Date(d) => d.format("%Y-%m-%d").to_string().into(),
        Scalar::DateTime(t) => format_datetime(t).into(),
        Scalar::Null => Value::Null,
    }
}

pub fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}
