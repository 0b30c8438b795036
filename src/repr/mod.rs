//! Representations: one description per resource (`Resource`), rendered as XML or JSON.
//!
//! Builders (`job`, `work_area`, …) turn domain records into a `Resource`; the writers in
//! `xml.rs` and `json.rs` are the only places that know each format's conventions.
pub mod errors;
pub mod json;
pub mod resources;
pub mod xml;

use chrono::{DateTime, NaiveDate, Utc};

/// The two formats every resource is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Xml,
    Json,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "application/xml; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
        }
    }
}

/// One attribute value; its variant decides the XML `type` attribute and the JSON type.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    Int(i64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Null,
}

impl From<Option<String>> for Scalar {
    fn from(value: Option<String>) -> Self {
        value.map_or(Scalar::Null, Scalar::Str)
    }
}

impl From<Option<NaiveDate>> for Scalar {
    fn from(value: Option<NaiveDate>) -> Self {
        value.map_or(Scalar::Null, Scalar::Date)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub rel: &'static str,
    pub href: String,
    /// Links to a page for people (`web`) carry `type="text/html"`.
    pub html: bool,
    /// What the link points to, nested in place when the client asked to `expand` it.
    pub expanded: Option<Expanded>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expanded {
    /// A list (`tasks`): `<link …><tasks type="array">…</tasks></link>` / `"tasks": […]`.
    List(Vec<Resource>),
    /// One resource (an event's `subject`): `<link …><job>…</job></link>` / `"subject": {…}`.
    One(Box<Resource>),
}

impl Link {
    pub fn new(rel: &'static str, href: String) -> Self {
        Link {
            rel,
            href,
            html: false,
            expanded: None,
        }
    }
}

/// A resource as every format sees it: kind, attributes in order, then links (`self` first).
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Singular snake_case name: `job`, `work_area`, `sequence`.
    pub kind: &'static str,
    pub fields: Vec<(&'static str, Scalar)>,
    pub links: Vec<Link>,
}

/// A list. Only the jobs list is paginated; the others leave the page fields empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    /// Plural snake_case name: `jobs`, `work_areas`.
    pub kind: &'static str,
    pub total_entries: Option<i64>,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub items: Vec<Resource>,
}

pub fn render_resource(format: Format, resource: &Resource) -> String {
    match format {
        Format::Xml => xml::resource_document(resource),
        Format::Json => json::resource_document(resource),
    }
}

pub fn render_collection(format: Format, collection: &Collection) -> String {
    let (mut writer, mut out) = CollectionWriter::start(format, collection);
    for item in &collection.items {
        out.push_str(&writer.item(item));
    }
    out.push_str(&writer.finish());
    out
}

/// Writes a collection piece by piece — opening, items, closing — so that a list of any length
/// can be streamed with the same bytes a whole rendering would produce.
pub struct CollectionWriter {
    format: Format,
    kind: &'static str,
    written: usize,
}

impl CollectionWriter {
    /// The writer and the opening text (declaration, total, prev/next links). The collection's
    /// own items are not written.
    pub fn start(format: Format, collection: &Collection) -> (CollectionWriter, String) {
        let opening = match format {
            Format::Xml => xml::collection_opening(collection),
            Format::Json => json::collection_opening(collection),
        };
        let writer = CollectionWriter {
            format,
            kind: collection.kind,
            written: 0,
        };
        (writer, opening)
    }

    pub fn item(&mut self, resource: &Resource) -> String {
        self.written += 1;
        match self.format {
            Format::Xml => xml::collection_item(resource),
            Format::Json => json::collection_item(resource, self.written == 1),
        }
    }

    pub fn finish(self) -> String {
        match self.format {
            Format::Xml => xml::collection_closing(self.kind),
            Format::Json => json::collection_closing(self.written == 0),
        }
    }
}

/// `2010-12-21T19:31:16+00:00`: UTC, no fractions, as clients of the real service parse it.
pub fn format_datetime(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}
