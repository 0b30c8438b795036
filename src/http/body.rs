//! Request bodies (XML or JSON) turned into one neutral attribute map.
//!
//! The API accepts the same resource either as a Rails-style XML document
//! (`<job><begins-at type="date">…</begins-at></job>`) or as a JSON object
//! (`{"begins_at": "…"}`). Both parsers produce an [`Attributes`] value so
//! that the handlers validate one shape, whatever the wire format was.
//!
//! What callers must know:
//! - Field names are stored in snake_case (`begins-at` → `begins_at`), in
//!   the order they first appear; a repeated field keeps its first position
//!   and takes the last value.
//! - XML values are never interpreted here: `type="integer"` with `abc`
//!   yields [`Value::Typed`] and the caller decides it is invalid. Empty typed
//!   elements are `Typed` with an empty text as well.
//! - Text is kept as written (no trimming). Line ends are normalised to `\n`
//!   as XML 1.0 requires of every parser; `&#13;` still yields `\r`.
//! - Character references to control characters, NUL included, are kept
//!   in the text: the caller must reject NUL per field.
//! - [`BodyError::message`] is a fixed sentence that never repeats any part of
//!   the body, so it is safe to send back to the client and to log.
//! - A JSON body made of a single key whose value is an object, such as
//!   `{"job": {...}}`, is read as that wrapped object and `root()` returns the
//!   key (`"job"`). Any other object is read as the resource itself and
//!   `root()` is `None`. A resource with a single object-valued field is
//!   therefore indistinguishable from a wrapped one; callers that care should
//!   compare `root()` with the resource name.
//! - The XML root name and JSON wrapper key go through the same snake_case
//!   normalisation as field names; link `rel`s from XML are kept verbatim,
//!   while JSON ones come from normalised keys (`media-file_link` → `media_file`).

use std::fmt;

use crate::domain::attributes::{Attributes, TypeHint, Value};

use quick_xml::errors::{Error as XmlError, IllFormedError, SyntaxError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde_json::{Map as JsonMap, Value as JsonValue};

/// Deepest element nesting accepted, the root counting as 1. Real resources
/// use 2 or 3 levels; the limit exists so that hostile input fails early.
const MAX_DEPTH: usize = 32;

const UTF8_BOM: &str = "\u{FEFF}";

/// The resources a client may send, as JSON wrapper keys (`{"job": {…}}`).
const RESOURCE_NAMES: [&str; 6] = ["job", "task", "asset", "note", "problem", "hook"];

/// Attributes one element may carry (`type`, `nil`, `rel`, `href`, namespace declarations…).
const MAX_ATTRIBUTES: usize = 32;

/// Suffix of JSON keys that carry a link (`"scheduling_link": "https://…"`).
const JSON_LINK_SUFFIX: &str = "_link";

/// Why a body could not be read. None of these carries any of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    Empty,
    Malformed,
    Doctype,
    TooDeep,
    NotAnObject,
}

impl BodyError {
    /// A fixed, human-readable sentence; it never echoes the body.
    pub fn message(&self) -> &'static str {
        match self {
            Self::Empty => "Request body has no root element",
            Self::Malformed => "Request body is not well-formed",
            Self::Doctype => "Request body must not contain a DOCTYPE",
            Self::TooDeep => "Request body is nested too deeply",
            Self::NotAnObject => "Request body must be a JSON object",
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for BodyError {}

/// Rails dasherizes XML names and JSON clients may do the same; the handlers
/// only ever see snake_case.
fn normalize_name(name: &str) -> String {
    name.replace('-', "_")
}

// ---------------------------------------------------------------------------
// XML
// ---------------------------------------------------------------------------

/// Reads a Rails-style XML resource: the root's child elements are fields,
/// its `<link rel href/>` children are links.
pub fn parse_xml(bytes: &[u8]) -> Result<Attributes, BodyError> {
    // Validating the whole body up front means every later slice is a `str`,
    // whatever encoding the declaration claims.
    let text = std::str::from_utf8(bytes).map_err(|_| BodyError::Malformed)?;
    let text = text.strip_prefix(UTF8_BOM).unwrap_or(text);
    let mut reader = Reader::from_str(text);
    configure(&mut reader);
    let mut document = XmlDocument::default();
    loop {
        match reader.read_event().map_err(classify_xml_error)? {
            Event::Eof => return document.finish(),
            event => document.apply(event)?,
        }
    }
}

/// Spells out the strict settings we rely on rather than trusting defaults.
fn configure(reader: &mut Reader<&[u8]>) {
    let config = reader.config_mut();
    config.check_end_names = true;
    config.allow_unmatched_ends = false;
    config.allow_dangling_amp = false;
    config.expand_empty_elements = false;
    config.trim_text(false);
}

/// An unterminated DOCTYPE is still a DOCTYPE: answer that, not "malformed",
/// so that a truncated entity bomb gets the same reply as a complete one.
fn classify_xml_error(error: XmlError) -> BodyError {
    match error {
        XmlError::Syntax(SyntaxError::UnclosedDoctype)
        | XmlError::IllFormed(IllFormedError::MissingDoctypeName) => BodyError::Doctype,
        _ => BodyError::Malformed,
    }
}

/// Streaming state: only the root's current child is buffered, so memory is
/// bounded by the body size and the depth limit, never by the nesting.
#[derive(Default)]
struct XmlDocument {
    attributes: Attributes,
    /// Number of elements currently open; 1 inside the root, 2 inside a field.
    depth: usize,
    root_seen: bool,
    child: Option<Child>,
}

impl XmlDocument {
    fn apply(&mut self, event: Event<'_>) -> Result<(), BodyError> {
        match event {
            Event::Start(element) => self.open(&element),
            Event::Empty(element) => {
                self.open(&element)?;
                self.close()
            }
            Event::End(_) => self.close(),
            Event::Text(text) => {
                let text = text.xml10_content().map_err(|_| BodyError::Malformed)?;
                self.text(&text)
            }
            Event::CData(data) => {
                let data = data.xml10_content().map_err(|_| BodyError::Malformed)?;
                self.character_data(&data)
            }
            Event::GeneralRef(reference) => {
                let name = std::str::from_utf8(&reference).map_err(|_| BodyError::Malformed)?;
                let character = resolve_reference(name)?;
                self.character_data(character.encode_utf8(&mut [0; 4]))
            }
            Event::DocType(_) => Err(BodyError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::Eof => Ok(()),
        }
    }

    fn open(&mut self, element: &BytesStart<'_>) -> Result<(), BodyError> {
        // Checked before anything else so that deep input fails in O(limit).
        if self.depth >= MAX_DEPTH {
            return Err(BodyError::TooDeep);
        }
        // Attributes of every element are read, so that a bad one anywhere
        // (even inside an ignored composite) makes the body malformed.
        let attributes = ElementAttributes::read(element)?;
        let name = local_name(element)?;
        match self.depth {
            0 if self.root_seen => return Err(BodyError::Malformed),
            0 => {
                self.root_seen = true;
                self.attributes.root = Some(normalize_name(name));
            }
            1 => self.child = Some(Child::new(name, attributes)),
            2 => {
                if let Some(Child::Field(field)) = &mut self.child {
                    field.mark_composite();
                }
            }
            _ => {}
        }
        self.depth += 1;
        Ok(())
    }

    fn close(&mut self) -> Result<(), BodyError> {
        // The reader already rejects stray end tags; this is a second guard.
        self.depth = self.depth.checked_sub(1).ok_or(BodyError::Malformed)?;
        if self.depth == 1 {
            if let Some(child) = self.child.take() {
                child.store(&mut self.attributes);
            }
        }
        Ok(())
    }

    /// Plain text: whitespace may surround the root, nothing else may.
    fn text(&mut self, text: &str) -> Result<(), BodyError> {
        if self.depth == 0 {
            return if is_xml_whitespace(text) {
                Ok(())
            } else {
                Err(BodyError::Malformed)
            };
        }
        self.append(text);
        Ok(())
    }

    /// CDATA and references are content, which has no place outside the root.
    fn character_data(&mut self, text: &str) -> Result<(), BodyError> {
        if self.depth == 0 {
            return Err(BodyError::Malformed);
        }
        self.append(text);
        Ok(())
    }

    /// Only text directly inside a field element is its value; text in the
    /// root, in links or in composites is ignored.
    fn append(&mut self, text: &str) {
        if self.depth == 2 {
            if let Some(Child::Field(field)) = &mut self.child {
                field.push_text(text);
            }
        }
    }

    fn finish(self) -> Result<Attributes, BodyError> {
        if self.depth != 0 {
            return Err(BodyError::Malformed);
        }
        if !self.root_seen {
            return Err(BodyError::Empty);
        }
        Ok(self.attributes)
    }
}

fn is_xml_whitespace(text: &str) -> bool {
    text.bytes()
        .all(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Element name without its namespace prefix (`<m:job>` → `job`).
fn local_name<'a>(element: &'a BytesStart<'_>) -> Result<&'a str, BodyError> {
    let name =
        std::str::from_utf8(element.local_name().into_inner()).map_err(|_| BodyError::Malformed)?;
    if name.is_empty() {
        return Err(BodyError::Malformed);
    }
    Ok(name)
}

/// The few attributes this API gives meaning to, decoded.
#[derive(Default)]
struct ElementAttributes {
    nil: bool,
    type_hint: Option<TypeHint>,
    rel: Option<String>,
    href: Option<String>,
}

impl ElementAttributes {
    fn read(element: &BytesStart<'_>) -> Result<Self, BodyError> {
        let mut read = Self::default();
        // The library's duplicate check compares every pair (quadratic: a hostile element with
        // 100,000 attributes took minutes), so it is off; real resources carry at most a few
        // attributes per element, and more than MAX_ATTRIBUTES is refused outright.
        let mut seen: Vec<Vec<u8>> = Vec::new();
        for attribute in element.attributes().with_checks(false) {
            let attribute = attribute.map_err(|_| BodyError::Malformed)?;
            let key = attribute.key.as_ref().to_vec();
            if seen.len() >= MAX_ATTRIBUTES || seen.contains(&key) {
                return Err(BodyError::Malformed);
            }
            seen.push(key);
            // `xmlns:type="…"` declares a prefix; it is not a `type` attribute.
            if attribute.key.as_namespace_binding().is_some() {
                continue;
            }
            let raw = std::str::from_utf8(&attribute.value).map_err(|_| BodyError::Malformed)?;
            let value = decode_attribute_value(raw)?;
            match attribute.key.local_name().into_inner() {
                b"nil" => read.nil = value == "true",
                b"type" => read.type_hint = TypeHint::from_xml_type(&value),
                b"rel" => read.rel = Some(value),
                b"href" => read.href = Some(value),
                _ => {}
            }
        }
        Ok(read)
    }
}

/// A child element of the root, being read.
enum Child {
    Field(FieldBuilder),
    /// `None` when `rel` or `href` is missing: such a link is dropped.
    Link(Option<(String, String)>),
}

impl Child {
    fn new(name: &str, attributes: ElementAttributes) -> Self {
        if name == "link" {
            return Self::Link(attributes.rel.zip(attributes.href));
        }
        Self::Field(FieldBuilder {
            name: normalize_name(name),
            nil: attributes.nil,
            type_hint: attributes.type_hint,
            text: String::new(),
            composite: false,
        })
    }

    fn store(self, attributes: &mut Attributes) {
        match self {
            Self::Field(field) => {
                let (name, value) = field.build();
                attributes.fields.insert(name, value);
            }
            Self::Link(Some((rel, href))) => attributes.links.insert(rel, href),
            Self::Link(None) => {}
        }
    }
}

struct FieldBuilder {
    name: String,
    nil: bool,
    type_hint: Option<TypeHint>,
    text: String,
    composite: bool,
}

impl FieldBuilder {
    fn mark_composite(&mut self) {
        self.composite = true;
        // The text of a composite is never used: free it now.
        self.text = String::new();
    }

    fn push_text(&mut self, text: &str) {
        if !self.composite {
            self.text.push_str(text);
        }
    }

    fn build(self) -> (String, Value) {
        let value = if self.nil {
            Value::Null
        } else if self.composite {
            Value::Composite
        } else if let Some(kind) = self.type_hint {
            Value::Typed {
                kind,
                text: self.text,
            }
        } else {
            Value::Text(self.text)
        };
        (self.name, value)
    }
}

/// Decodes an attribute value: references are resolved and, as XML requires,
/// literal tabs and line ends become spaces (referenced ones are kept).
fn decode_attribute_value(raw: &str) -> Result<String, BodyError> {
    let mut decoded = String::with_capacity(raw.len());
    let mut rest = raw.chars();
    while let Some(character) = rest.next() {
        match character {
            '&' => {
                let (name, after) = rest.as_str().split_once(';').ok_or(BodyError::Malformed)?;
                decoded.push(resolve_reference(name)?);
                rest = after.chars();
            }
            '<' => return Err(BodyError::Malformed),
            '\r' => {
                // `\r\n` is one line end, hence one space.
                let after = rest.as_str();
                rest = after.strip_prefix('\n').unwrap_or(after).chars();
                decoded.push(' ');
            }
            '\t' | '\n' => decoded.push(' '),
            other => decoded.push(other),
        }
    }
    Ok(decoded)
}

/// Resolves `&name;` (the part between `&` and `;`). Only the five predefined
/// entities exist, since DOCTYPEs (and so entity declarations) are refused.
fn resolve_reference(name: &str) -> Result<char, BodyError> {
    match name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => character_reference(name)
            .and_then(char::from_u32)
            .ok_or(BodyError::Malformed),
    }
}

/// The code point of `#123` or `#x7B`. Digits are checked by hand because
/// `from_str_radix` would also accept a sign.
fn character_reference(name: &str) -> Option<u32> {
    let number = name.strip_prefix('#')?;
    let (digits, radix) = match number.strip_prefix('x') {
        Some(hex) => (hex, 16),
        None => (number, 10),
    };
    if digits.is_empty() || !digits.chars().all(|digit| digit.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

/// Reads a JSON object, optionally wrapped as `{"job": {...}}` (see the
/// module documentation for how the wrapper is recognised).
pub fn parse_json(bytes: &[u8]) -> Result<Attributes, BodyError> {
    // Some clients prefix a BOM; it carries no meaning, so accept it.
    let bytes = bytes.strip_prefix(UTF8_BOM.as_bytes()).unwrap_or(bytes);
    if bytes
        .iter()
        .all(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
    {
        return Err(BodyError::Empty);
    }
    // serde_json's recursion limit (128) turns hostile nesting into an error.
    let document: JsonValue = serde_json::from_slice(bytes).map_err(|_| BodyError::Malformed)?;
    let JsonValue::Object(object) = document else {
        return Err(BodyError::NotAnObject);
    };
    let (root, object) = unwrap_root(object);
    let mut attributes = Attributes {
        root,
        ..Attributes::default()
    };
    for (key, value) in object {
        add_json_member(&mut attributes, normalize_name(&key), value);
    }
    Ok(attributes)
}

/// `{"job": {...}}` → (`Some("job")`, the inner object); anything else is
/// returned unchanged with no root.
fn unwrap_root(object: JsonMap<String, JsonValue>) -> (Option<String>, JsonMap<String, JsonValue>) {
    // Only a resource's own name wraps it: `{"name": {…}}` is a (bad) name, not a wrapper.
    let wrapped = object.len() == 1
        && matches!(object.iter().next(), Some((key, JsonValue::Object(_)))
            if RESOURCE_NAMES.contains(&normalize_name(key).as_str()));
    if !wrapped {
        return (None, object);
    }
    match object.into_iter().next() {
        Some((key, JsonValue::Object(inner))) => (Some(normalize_name(&key)), inner),
        // Unreachable after the check above; an empty result is a safe answer.
        _ => (None, JsonMap::new()),
    }
}

fn add_json_member(attributes: &mut Attributes, key: String, value: JsonValue) {
    match (link_rel(&key), value) {
        (Some(rel), JsonValue::String(href)) => attributes.links.insert(rel.to_owned(), href),
        (_, value) => attributes.fields.insert(key, json_value(value)),
    }
}

/// `scheduling_link` → `scheduling`; a bare `_link` has no rel, so it is a field.
fn link_rel(key: &str) -> Option<&str> {
    key.strip_suffix(JSON_LINK_SUFFIX)
        .filter(|rel| !rel.is_empty())
}

fn json_value(value: JsonValue) -> Value {
    match value {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(flag) => Value::Bool(flag),
        JsonValue::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(integer), _) => Value::Integer(integer),
            (None, Some(float)) => Value::Float(float),
            // Only reachable if another crate enables serde_json's
            // arbitrary precision: keep the digits for the caller to judge.
            (None, None) => Value::Text(number.to_string()),
        },
        JsonValue::String(text) => Value::Text(text),
        JsonValue::Array(_) | JsonValue::Object(_) => Value::Composite,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(body: &str) -> Result<Attributes, BodyError> {
        parse_xml(body.as_bytes())
    }

    fn json(body: &str) -> Result<Attributes, BodyError> {
        parse_json(body.as_bytes())
    }

    fn text(value: &str) -> Value {
        Value::Text(value.to_owned())
    }

    fn typed(kind: TypeHint, value: &str) -> Value {
        Value::Typed {
            kind,
            text: value.to_owned(),
        }
    }

    /// Parses `<job><field>…</field></job>` and returns the field's value.
    fn xml_field(element: &str) -> Option<Value> {
        let attributes = xml(&format!("<job>{element}</job>")).expect("well-formed");
        let name = attributes.names().next()?;
        attributes.get(name).cloned()
    }

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<job>
  <name>Mulholland Drive</name>
  <begins-at type='date'>2010-12-31</begins-at>
  <ends-at nil="true"/>
  <licensor-name>Miramax</licensor-name>
  <tag-list>Drama,Surreal</tag-list>
  <link rel="scheduling" href="https://movida.example/api/schedulings/789"/>
</job>
"#;

    // --- XML: the sample and basic structure --------------------------------

    #[test]
    fn xml_sample_document() {
        let attributes = xml(SAMPLE).expect("sample parses");
        assert_eq!(attributes.root(), Some("job"));
        assert_eq!(
            attributes.names().collect::<Vec<_>>(),
            ["name", "begins_at", "ends_at", "licensor_name", "tag_list"]
        );
        assert_eq!(attributes.get("name"), Some(&text("Mulholland Drive")));
        assert_eq!(
            attributes.get("begins_at"),
            Some(&typed(TypeHint::Date, "2010-12-31"))
        );
        assert_eq!(attributes.get("ends_at"), Some(&Value::Null));
        assert_eq!(attributes.get("licensor_name"), Some(&text("Miramax")));
        assert_eq!(attributes.get("tag_list"), Some(&text("Drama,Surreal")));
        assert_eq!(
            attributes.link("scheduling"),
            Some("https://movida.example/api/schedulings/789")
        );
        assert!(attributes.contains("ends_at"));
        assert!(!attributes.contains("begins-at"));
        assert!(!attributes.contains("link"));
        assert!(!attributes.contains("scheduling"));
        assert_eq!(attributes.get("missing"), None);
        assert_eq!(attributes.link("missing"), None);
    }

    #[test]
    fn xml_utf8_bom_is_accepted() {
        let body = format!("\u{FEFF}{SAMPLE}");
        let attributes = parse_xml(body.as_bytes()).expect("BOM accepted");
        assert_eq!(attributes.get("name"), Some(&text("Mulholland Drive")));
        let attributes = xml("\u{FEFF}<job><a>1</a></job>").expect("BOM without declaration");
        assert_eq!(attributes.get("a"), Some(&text("1")));
    }

    #[test]
    fn xml_declaration_comments_and_processing_instructions_are_skipped() {
        let body = "<?xml version=\"1.0\"?>\n<!-- before -->\n<?pi data?>\n<job>\
                    <!-- inside --><?pi x?><name>Mul<!-- c -->hol<?pi?>land</name></job>\n\
                    <!-- after --><?pi after?>\n";
        let attributes = xml(body).expect("parses");
        assert_eq!(attributes.get("name"), Some(&text("Mulholland")));
        assert_eq!(attributes.names().count(), 1);
    }

    #[test]
    fn xml_invalid_utf8_is_malformed() {
        assert_eq!(
            parse_xml(b"<job><name>\xff\xfe</name></job>"),
            Err(BodyError::Malformed)
        );
        assert_eq!(parse_xml(b"<jo\xc3b></jo\xc3b>"), Err(BodyError::Malformed));
        assert_eq!(parse_xml(b"\xef\xbb"), Err(BodyError::Malformed));
    }

    #[test]
    fn xml_root_without_fields() {
        let attributes = xml("<job/>").expect("parses");
        assert_eq!(attributes.root(), Some("job"));
        assert_eq!(attributes.names().count(), 0);
        let attributes = xml("<job>\n  \n</job>").expect("parses");
        assert_eq!(attributes.names().count(), 0);
    }

    #[test]
    fn xml_root_name_is_normalised_and_its_text_ignored() {
        let attributes = xml("<media-job id=\"1\">stray<a>x</a>text</media-job>").expect("parses");
        assert_eq!(attributes.root(), Some("media_job"));
        assert_eq!(attributes.names().collect::<Vec<_>>(), ["a"]);
        assert_eq!(attributes.get("a"), Some(&text("x")));
    }

    // --- XML: DOCTYPE ---------------------------------------------------------

    #[test]
    fn xml_any_doctype_is_refused() {
        let bodies = [
            "<!DOCTYPE job><job/>",
            "<?xml version=\"1.0\"?>\n<!DOCTYPE job [<!ELEMENT job ANY>]>\n<job/>",
            "<!doctype job><job/>",
            "<job/><!DOCTYPE job>",
            "<job><name><!DOCTYPE x></name></job>",
            "<!DOCTYPE",
            "<!DOCTYPE job [<!ENTITY x \"y\">",
        ];
        for body in bodies {
            assert_eq!(xml(body), Err(BodyError::Doctype), "{body:?}");
        }
    }

    #[test]
    fn xml_external_entity_is_refused_without_access() {
        let body = r#"<?xml version="1.0"?>
<!DOCTYPE job [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<job><name>&xxe;</name></job>"#;
        assert_eq!(xml(body), Err(BodyError::Doctype));
        let body = r#"<!DOCTYPE job SYSTEM "http://attacker.example/evil.dtd"><job/>"#;
        assert_eq!(xml(body), Err(BodyError::Doctype));
    }

    #[test]
    fn xml_billion_laughs_is_refused_without_expansion() {
        let mut body = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n");
        body.push_str(" <!ENTITY lol \"lol\">\n");
        for level in 1..=9 {
            let previous = if level == 1 {
                "lol".to_owned()
            } else {
                format!("lol{}", level - 1)
            };
            let reference = format!("&{previous};").repeat(10);
            body.push_str(&format!(" <!ENTITY lol{level} \"{reference}\">\n"));
        }
        body.push_str("]>\n<lolz>&lol9;</lolz>");
        let started = std::time::Instant::now();
        assert_eq!(xml(&body), Err(BodyError::Doctype));
        eprintln!("billion laughs refused in {:?}", started.elapsed());
    }

    // --- XML: document structure errors ----------------------------------------

    #[test]
    fn xml_without_root_is_empty() {
        let bodies = [
            "",
            "   \n\t\r\n",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<?xml version=\"1.0\"?>\n<!-- only a comment -->\n",
            "<!-- c -->",
            "<?pi?>",
            "\u{FEFF}",
        ];
        for body in bodies {
            assert_eq!(xml(body), Err(BodyError::Empty), "{body:?}");
        }
    }

    #[test]
    fn xml_structure_errors_are_malformed() {
        let bodies = [
            "text",
            "text<job/>",
            "<job/>text",
            "<job/><job/>",
            "<job><name>x</name>",
            "<job><name>x</job>",
            "<job><name>x</nam></job>",
            "<job></job></job>",
            "</job>",
            "<job",
            "<job><name>x</na",
            "<job><name>x</name></job",
            "<job><!-- never closed",
            "<job><![CDATA[never closed</job>",
            "<job><?pi never closed</job>",
            "<![CDATA[x]]><job/>",
            "<job/><![CDATA[x]]>",
            "&amp;<job/>",
            "<job/>&#65;",
            "<job><a b></a></job>",
            "<job><a b=\"1\" b=\"2\"></a></job>",
            "<job><a b=1></a></job>",
            "<job><a>&</a></job>",
            "<job><a>& b</a></job>",
            "<job><a b=\"&\"/></job>",
            "<job><a b=\"<\"/></job>",
            "<job><a b=\"&amp\"/></job>",
            "<job><composite><inner></composite></job>",
            "<job><composite><inner>&bogus;</inner></composite></job>",
            "<job><composite><inner x=\"&bogus;\"/></composite></job>",
        ];
        for body in bodies {
            assert_eq!(xml(body), Err(BodyError::Malformed), "{body:?}");
        }
    }

    #[test]
    fn xml_every_truncation_of_the_sample_fails_cleanly() {
        let end = SAMPLE.find("</job>").expect("sample has an end tag");
        for cut in (0..end + 5).filter(|cut| SAMPLE.is_char_boundary(*cut)) {
            let result = xml(&SAMPLE[..cut]);
            assert!(
                matches!(result, Err(BodyError::Empty | BodyError::Malformed)),
                "cut at {cut}: {result:?}"
            );
        }
    }

    #[test]
    fn xml_duplicate_field_last_wins() {
        let attributes =
            xml("<job><name>first</name><x>1</x><name>second</name></job>").expect("parses");
        assert_eq!(attributes.get("name"), Some(&text("second")));
        assert_eq!(attributes.names().collect::<Vec<_>>(), ["name", "x"]);
        // Dashed and underscored spellings are the same field.
        let attributes =
            xml("<job><ends-at>a</ends-at><ends_at>b</ends_at></job>").expect("parses");
        assert_eq!(attributes.get("ends_at"), Some(&text("b")));
        assert_eq!(attributes.names().count(), 1);
    }

    // --- XML: values -----------------------------------------------------------

    #[test]
    fn xml_nil_wins_over_type_and_content() {
        assert_eq!(
            xml_field("<ends-at type=\"datetime\" nil=\"true\"/>"),
            Some(Value::Null)
        );
        assert_eq!(
            xml_field("<n nil=\"true\" type=\"integer\">12</n>"),
            Some(Value::Null)
        );
        assert_eq!(xml_field("<n nil=\"true\"></n>"), Some(Value::Null));
        assert_eq!(xml_field("<n nil=\"false\">12</n>"), Some(text("12")));
        assert_eq!(xml_field("<n nil=\"TRUE\">12</n>"), Some(text("12")));
    }

    #[test]
    fn xml_cdata_is_concatenated_with_text() {
        assert_eq!(
            xml_field("<name><![CDATA[Tom & Jerry <HD>]]></name>"),
            Some(text("Tom & Jerry <HD>"))
        );
        assert_eq!(
            xml_field("<name>a <![CDATA[<b>]]> &amp; <![CDATA[c]]>d</name>"),
            Some(text("a <b> & cd"))
        );
        assert_eq!(xml_field("<name><![CDATA[]]></name>"), Some(text("")));
        assert_eq!(
            xml_field("<name><![CDATA[&amp;]]></name>"),
            Some(text("&amp;"))
        );
    }

    #[test]
    fn xml_empty_elements_are_empty_text() {
        assert_eq!(xml_field("<tag-list/>"), Some(text("")));
        assert_eq!(xml_field("<tag-list></tag-list>"), Some(text("")));
        assert_eq!(xml_field("<tag-list type=\"string\"/>"), Some(text("")));
        assert_eq!(
            xml_field("<n type=\"integer\"/>"),
            Some(typed(TypeHint::Integer, ""))
        );
    }

    #[test]
    fn xml_entities_and_character_references_are_decoded() {
        assert_eq!(
            xml_field("<name>&lt;&gt;&amp;&apos;&quot;</name>"),
            Some(text("<>&'\""))
        );
        assert_eq!(
            xml_field("<name>&#65;&#x42;&#x063;</name>"),
            Some(text("ABc"))
        );
        assert_eq!(
            xml_field("<name>Take &#x1F3AC;!</name>"),
            Some(text("Take 🎬!"))
        );
        assert_eq!(xml_field("<name>&#127916;</name>"), Some(text("🎬")));
        assert_eq!(
            xml_field("<name>Tom &amp; Jerry</name>"),
            Some(text("Tom & Jerry"))
        );
    }

    #[test]
    fn xml_bad_references_are_malformed() {
        let bodies = [
            "<job><a>&nbsp;</a></job>",
            "<job><a>&eacute;</a></job>",
            "<job><a>&;</a></job>",
            "<job><a>&#;</a></job>",
            "<job><a>&#x;</a></job>",
            "<job><a>&#X41;</a></job>",
            "<job><a>&#+65;</a></job>",
            "<job><a>&#xD800;</a></job>",
            "<job><a>&#x110000;</a></job>",
            "<job><a>&#99999999999999999999;</a></job>",
            "<job><a>&#12a;</a></job>",
        ];
        for body in bodies {
            assert_eq!(xml(body), Err(BodyError::Malformed), "{body:?}");
        }
    }

    #[test]
    fn xml_control_character_references_are_kept() {
        assert_eq!(xml_field("<name>a&#0;b</name>"), Some(text("a\0b")));
        assert_eq!(
            xml_field("<name>&#x1;&#x7F;</name>"),
            Some(text("\u{1}\u{7F}"))
        );
        assert_eq!(xml_field("<name>&#13;</name>"), Some(text("\r")));
    }

    #[test]
    fn xml_text_is_not_trimmed_but_line_ends_are_normalised() {
        assert_eq!(
            xml_field("<name>  spaced\tout  </name>"),
            Some(text("  spaced\tout  "))
        );
        assert_eq!(
            xml_field("<name>\n  multi\n  line\n</name>"),
            Some(text("\n  multi\n  line\n"))
        );
        assert_eq!(xml_field("<name>a\r\nb\rc</name>"), Some(text("a\nb\nc")));
        assert_eq!(xml_field("<name> </name>"), Some(text(" ")));
    }

    #[test]
    fn xml_unicode_text_and_names() {
        let attributes = xml("<job><título>Amélie — 天使 🎬</título></job>").expect("parses");
        assert_eq!(attributes.get("título"), Some(&text("Amélie — 天使 🎬")));
    }

    #[test]
    fn xml_type_attribute() {
        let cases = [
            ("integer", TypeHint::Integer),
            ("boolean", TypeHint::Boolean),
            ("date", TypeHint::Date),
            ("datetime", TypeHint::DateTime),
            ("dateTime", TypeHint::DateTime),
            ("float", TypeHint::Float),
            ("decimal", TypeHint::Float),
        ];
        for (attribute, kind) in cases {
            let element = format!("<v type=\"{attribute}\"> raw </v>");
            assert_eq!(
                xml_field(&element),
                Some(typed(kind, " raw ")),
                "{attribute}"
            );
        }
    }

    #[test]
    fn xml_type_integer_with_garbage_is_typed_for_the_caller_to_judge() {
        assert_eq!(
            xml_field("<duration type=\"integer\">abc</duration>"),
            Some(typed(TypeHint::Integer, "abc"))
        );
    }

    #[test]
    fn xml_unknown_types_are_plain_text_never_interpreted() {
        let yaml = "--- !ruby/object:Gem::Installer\ni: x\n";
        assert_eq!(
            xml_field(&format!("<name type=\"yaml\">{yaml}</name>")),
            Some(text(yaml))
        );
        assert_eq!(
            xml_field("<name type=\"symbol\">foo</name>"),
            Some(text("foo"))
        );
        assert_eq!(
            xml_field("<name type=\"string\">42</name>"),
            Some(text("42"))
        );
        assert_eq!(
            xml_field("<name type=\"Integer\">42</name>"),
            Some(text("42"))
        );
        assert_eq!(xml_field("<name type=\"array\">x</name>"), Some(text("x")));
        assert_eq!(xml_field("<name type=\"\">x</name>"), Some(text("x")));
    }

    #[test]
    fn xml_elements_with_children_are_composite() {
        assert_eq!(
            xml_field("<tags type=\"array\"><tag>a</tag><tag>b</tag></tags>"),
            Some(Value::Composite)
        );
        assert_eq!(
            xml_field("<meta>before<x/>after</meta>"),
            Some(Value::Composite)
        );
        assert_eq!(
            xml_field("<meta><deeper><link rel=\"r\" href=\"h\"/></deeper></meta>"),
            Some(Value::Composite)
        );
        // Links inside a composite are not the resource's links.
        let attributes =
            xml("<job><meta><link rel=\"r\" href=\"h\"/></meta></job>").expect("parses");
        assert_eq!(attributes.link("r"), None);
        assert_eq!(attributes.get("meta"), Some(&Value::Composite));
    }

    #[test]
    fn xml_attribute_values_are_decoded() {
        let attributes = xml(
            "<job><link rel=\"search\" href=\"https://x.example/?a=1&amp;b=&#x32;\"/>\
             <link rel='tab' href='a&#9;b\tc'/></job>",
        )
        .expect("parses");
        assert_eq!(
            attributes.link("search"),
            Some("https://x.example/?a=1&b=2")
        );
        assert_eq!(attributes.link("tab"), Some("a\tb c"));
        assert_eq!(
            xml_field("<n type=\"&#105;nteger\">1</n>"),
            Some(typed(TypeHint::Integer, "1"))
        );
        assert_eq!(xml_field("<n nil=\"tru&#101;\">1</n>"), Some(Value::Null));
    }

    #[test]
    fn xml_links() {
        let attributes = xml("<job>\
               <link rel=\"scheduling\" href=\"https://a.example/1\"/>\
               <link rel=\"no-href\"/>\
               <link href=\"https://no-rel.example\"/>\
               <link rel=\"media-file\" href=\"https://a.example/2\"></link>\
               <link rel=\"scheduling\" href=\"https://a.example/3\"/>\
               <scheduling-link>https://field.example</scheduling-link>\
             </job>")
        .expect("parses");
        assert_eq!(attributes.link("scheduling"), Some("https://a.example/3"));
        assert_eq!(attributes.link("media-file"), Some("https://a.example/2"));
        assert_eq!(attributes.link("no-href"), None);
        assert_eq!(
            attributes.links().collect::<Vec<_>>(),
            [
                ("scheduling", "https://a.example/3"),
                ("media-file", "https://a.example/2")
            ]
        );
        assert!(!attributes.contains("link"));
        assert_eq!(
            attributes.get("scheduling_link"),
            Some(&text("https://field.example"))
        );
    }

    #[test]
    fn xml_namespaced_names_use_the_local_name() {
        let body = r#"<m:job xmlns:m="urn:movida" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:type="urn:t">
  <m:name>Lost Highway</m:name>
  <m:ends-at xsi:nil="true"/>
  <m:count m:type="integer">3</m:count>
  <m:link rel="scheduling" href="https://a.example"/>
</m:job>"#;
        let attributes = xml(body).expect("parses");
        assert_eq!(attributes.root(), Some("job"));
        assert_eq!(attributes.get("name"), Some(&text("Lost Highway")));
        assert_eq!(attributes.get("ends_at"), Some(&Value::Null));
        assert_eq!(
            attributes.get("count"),
            Some(&typed(TypeHint::Integer, "3"))
        );
        assert_eq!(attributes.link("scheduling"), Some("https://a.example"));
    }

    // --- XML: depth ------------------------------------------------------------

    fn nested(depth: usize) -> String {
        format!("{}x{}", "<a>".repeat(depth), "</a>".repeat(depth))
    }

    #[test]
    fn xml_depth_limit_is_exact() {
        assert!(xml(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(xml(&nested(MAX_DEPTH + 1)), Err(BodyError::TooDeep));
        // A self-closing element counts as a level too.
        let body = format!(
            "{}<b/>{}",
            "<a>".repeat(MAX_DEPTH),
            "</a>".repeat(MAX_DEPTH)
        );
        assert_eq!(xml(&body), Err(BodyError::TooDeep));
        let body = format!(
            "{}<b/>{}",
            "<a>".repeat(MAX_DEPTH - 1),
            "</a>".repeat(MAX_DEPTH - 1)
        );
        assert!(xml(&body).is_ok());
    }

    #[test]
    fn xml_fifty_thousand_nested_elements_fail_fast() {
        let body = "<a>".repeat(50_000);
        let started = std::time::Instant::now();
        assert_eq!(xml(&body), Err(BodyError::TooDeep));
        let elapsed = started.elapsed();
        eprintln!("50,000 nested elements refused in {elapsed:?}");
        // Deliberately loose: the point is "not quadratic, not a crash".
        assert!(elapsed < std::time::Duration::from_secs(5), "{elapsed:?}");
        let body = nested(50_000);
        assert_eq!(xml(&body), Err(BodyError::TooDeep));
    }

    // --- JSON ------------------------------------------------------------------

    #[test]
    fn json_sample_document() {
        let attributes = json(
            r#"{"name": "Mulholland Drive", "begins_at": "2010-12-31", "ends_at": null,
                "scheduling_link": "https://movida.example/api/schedulings/789"}"#,
        )
        .expect("parses");
        assert_eq!(attributes.root(), None);
        assert_eq!(
            attributes.names().collect::<Vec<_>>(),
            ["name", "begins_at", "ends_at"]
        );
        assert_eq!(attributes.get("name"), Some(&text("Mulholland Drive")));
        assert_eq!(attributes.get("begins_at"), Some(&text("2010-12-31")));
        assert_eq!(attributes.get("ends_at"), Some(&Value::Null));
        assert_eq!(
            attributes.link("scheduling"),
            Some("https://movida.example/api/schedulings/789")
        );
        assert!(!attributes.contains("scheduling_link"));
    }

    #[test]
    fn json_value_kinds() {
        let attributes = json(
            r#"{"i": -42, "big": 18446744073709551615, "f": 1.5, "e": 1e3, "t": true,
                "no": false, "s": "", "a": [1, 2], "o": {"k": "v"}, "n": null}"#,
        )
        .expect("parses");
        assert_eq!(attributes.get("i"), Some(&Value::Integer(-42)));
        assert_eq!(
            attributes.get("big"),
            Some(&Value::Float(18446744073709551615.0))
        );
        assert_eq!(attributes.get("f"), Some(&Value::Float(1.5)));
        assert_eq!(attributes.get("e"), Some(&Value::Float(1000.0)));
        assert_eq!(attributes.get("t"), Some(&Value::Bool(true)));
        assert_eq!(attributes.get("no"), Some(&Value::Bool(false)));
        assert_eq!(attributes.get("s"), Some(&text("")));
        assert_eq!(attributes.get("a"), Some(&Value::Composite));
        assert_eq!(attributes.get("o"), Some(&Value::Composite));
        assert_eq!(attributes.get("n"), Some(&Value::Null));
    }

    #[test]
    fn json_keys_are_snake_cased_and_last_wins() {
        let attributes = json(r#"{"begins-at": "a", "x": 1, "begins_at": "b"}"#).expect("parses");
        assert_eq!(attributes.names().collect::<Vec<_>>(), ["begins_at", "x"]);
        assert_eq!(attributes.get("begins_at"), Some(&text("b")));
        let attributes = json(r#"{"a": 1, "a": 2}"#).expect("parses");
        assert_eq!(attributes.get("a"), Some(&Value::Integer(2)));
    }

    #[test]
    fn json_links() {
        let attributes = json(
            r#"{"scheduling_link": "https://a.example/1", "media-file_link": "https://a.example/2",
                "other_link": null, "count_link": 3, "_link": "x", "listed_link": ["x"]}"#,
        )
        .expect("parses");
        assert_eq!(attributes.link("scheduling"), Some("https://a.example/1"));
        assert_eq!(attributes.link("media_file"), Some("https://a.example/2"));
        assert_eq!(attributes.get("other_link"), Some(&Value::Null));
        assert_eq!(attributes.get("count_link"), Some(&Value::Integer(3)));
        assert_eq!(attributes.get("_link"), Some(&text("x")));
        assert_eq!(attributes.get("listed_link"), Some(&Value::Composite));
        assert_eq!(attributes.link("other"), None);
        assert_eq!(attributes.links().count(), 2);
    }

    #[test]
    fn json_wrapped_object_is_unwrapped() {
        let attributes = json(r#"{"job": {"name": "X", "scheduling_link": "https://a.example"}}"#)
            .expect("parses");
        assert_eq!(attributes.root(), Some("job"));
        assert_eq!(attributes.get("name"), Some(&text("X")));
        assert_eq!(attributes.link("scheduling"), Some("https://a.example"));
        assert!(!attributes.contains("job"));

        // Only resource names wrap: any other lone object is a field with a wrong type.
        let attributes = json(r#"{"name": {"name": "X"}}"#).expect("parses");
        assert_eq!(attributes.root(), None);
        assert_eq!(attributes.get("name"), Some(&Value::Composite));
    }

    #[test]
    fn json_other_objects_are_not_unwrapped() {
        let attributes = json(r#"{"job": {"name": "X"}, "other": 1}"#).expect("parses");
        assert_eq!(attributes.root(), None);
        assert_eq!(attributes.get("job"), Some(&Value::Composite));
        let attributes = json(r#"{"name": "X"}"#).expect("parses");
        assert_eq!(attributes.root(), None);
        assert_eq!(attributes.get("name"), Some(&text("X")));
        let attributes = json(r#"{"tags": ["a"]}"#).expect("parses");
        assert_eq!(attributes.root(), None);
        assert_eq!(attributes.get("tags"), Some(&Value::Composite));
        let attributes = json("{}").expect("parses");
        assert_eq!(attributes.root(), None);
        assert_eq!(attributes.names().count(), 0);
    }

    #[test]
    fn json_bare_values_are_not_objects() {
        for body in [
            "1234",
            "\"text\"",
            "[]",
            "[{\"a\": 1}]",
            "null",
            "true",
            " 1.5 ",
        ] {
            assert_eq!(json(body), Err(BodyError::NotAnObject), "{body:?}");
        }
    }

    #[test]
    fn json_empty_body() {
        for body in ["", " ", "\n\t\r ", "\u{FEFF}", "\u{FEFF}  "] {
            assert_eq!(json(body), Err(BodyError::Empty), "{body:?}");
        }
    }

    #[test]
    fn json_syntax_errors_are_malformed() {
        let bodies = [
            "{",
            "{\"name\": ",
            "{\"name\": \"Mulholland",
            "{\"name\": \"x\",}",
            "{name: 1}",
            "{'name': 1}",
            "{} {}",
            "{}x",
            "nope",
            "{\"a\": 1e400}",
            "{\"a\": \"\\ud800\"}",
            "\u{0c}{}",
        ];
        for body in bodies {
            assert_eq!(json(body), Err(BodyError::Malformed), "{body:?}");
        }
        assert_eq!(parse_json(b"{\"a\": \"\xff\"}"), Err(BodyError::Malformed));
    }

    #[test]
    fn json_every_truncation_fails_cleanly() {
        let body = r#"{"job": {"name": "Amélie 🎬", "n": [1, {"x": null}], "t": true}}"#;
        for cut in (0..body.len()).filter(|cut| body.is_char_boundary(*cut)) {
            let result = json(&body[..cut]);
            assert!(
                matches!(result, Err(BodyError::Empty | BodyError::Malformed)),
                "cut at {cut}: {result:?}"
            );
        }
    }

    #[test]
    fn json_deep_nesting_is_malformed() {
        let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(json(&deep_array), Err(BodyError::Malformed));
        let deep_field = format!("{{\"a\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(json(&deep_field), Err(BodyError::Malformed));
        let deep_objects = format!("{}{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
        assert_eq!(json(&deep_objects), Err(BodyError::Malformed));
        // Unterminated deep nesting as well.
        assert_eq!(json(&"[".repeat(100_000)), Err(BodyError::Malformed));
        // Moderate nesting inside the limit is fine.
        let moderate = format!("{{\"a\": {}{}}}", "[".repeat(50), "]".repeat(50));
        assert_eq!(
            json(&moderate).map(|a| a.get("a").cloned()),
            Ok(Some(Value::Composite))
        );
    }

    #[test]
    fn json_unicode() {
        let attributes =
            json(r#"{"título": "Amélie 天使 🎬", "e": "\u00e9\ud83c\udfac", "z": "a\u0000b"}"#)
                .expect("parses");
        assert_eq!(attributes.get("título"), Some(&text("Amélie 天使 🎬")));
        assert_eq!(attributes.get("e"), Some(&text("é🎬")));
        assert_eq!(attributes.get("z"), Some(&text("a\0b")));
    }

    #[test]
    fn json_bom_is_accepted() {
        let attributes = json("\u{FEFF}{\"a\": 1}").expect("parses");
        assert_eq!(attributes.get("a"), Some(&Value::Integer(1)));
    }

    // --- Errors ----------------------------------------------------------------

    #[test]
    fn error_messages_are_fixed() {
        let cases = [
            (BodyError::Empty, "Request body has no root element"),
            (BodyError::Malformed, "Request body is not well-formed"),
            (
                BodyError::Doctype,
                "Request body must not contain a DOCTYPE",
            ),
            (BodyError::TooDeep, "Request body is nested too deeply"),
            (BodyError::NotAnObject, "Request body must be a JSON object"),
        ];
        for (error, message) in cases {
            assert_eq!(error.message(), message);
            assert_eq!(error.to_string(), message);
        }
    }

    // --- Robustness ------------------------------------------------------------

    /// Small deterministic generator (xorshift64*), enough for fuzz-style tests
    /// without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, bound: usize) -> usize {
            usize::try_from(self.next() % bound as u64).unwrap_or(0)
        }
    }

    const XML_PIECES: &[&str] = &[
        "<",
        ">",
        "</",
        "/>",
        "job",
        "a",
        "link",
        " rel=\"r\"",
        " href=\"h\"",
        " nil=\"true\"",
        " type=\"integer\"",
        "=",
        "\"",
        "'",
        "&",
        ";",
        "&amp;",
        "&#",
        "x",
        "0",
        "1F3AC",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "<?",
        "?>",
        "<!DOCTYPE",
        "[",
        "]",
        " ",
        "\n",
        "\r",
        "é",
        "🎬",
        "\0",
        "xmlns:m=\"u\"",
        "m:",
        "-",
    ];

    const JSON_PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "\"a\"",
        "\"job\"",
        "\"x_link\"",
        "1",
        "-",
        ".",
        "e",
        "1e999",
        "true",
        "null",
        "\\",
        "\\u",
        "d83c",
        " ",
        "\n",
        "é",
        "🎬",
        "\0",
    ];

    fn random_bytes(rng: &mut Rng) -> Vec<u8> {
        let length = rng.below(64);
        (0..length).map(|_| (rng.next() & 0xFF) as u8).collect()
    }

    fn random_pieces(rng: &mut Rng, pieces: &[&str]) -> Vec<u8> {
        let count = rng.below(40);
        (0..count)
            .flat_map(|_| pieces[rng.below(pieces.len())].bytes())
            .collect()
    }

    fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
        let mut bytes = seed.to_vec();
        for _ in 0..=rng.below(4) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = (rng.next() & 0xFF) as u8,
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(at),
            }
        }
        bytes
    }

    #[test]
    fn parsers_never_panic_on_random_or_truncated_input() {
        let json_seed =
            br#"{"job": {"name": "A\u00e9", "n": [1, 2.5, {"x": null}], "s_link": "h"}}"#;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let inputs = [
                random_bytes(&mut rng),
                random_pieces(&mut rng, XML_PIECES),
                random_pieces(&mut rng, JSON_PIECES),
                mutate(&mut rng, SAMPLE.as_bytes()),
                mutate(&mut rng, json_seed),
            ];
            for input in &inputs {
                let _ = parse_xml(input);
                let _ = parse_json(input);
            }
        }
        for cut in 0..=SAMPLE.len() {
            let _ = parse_xml(&SAMPLE.as_bytes()[..cut]);
        }
        for cut in 0..=json_seed.len() {
            let _ = parse_json(&json_seed[..cut]);
        }
    }

    #[test]
    fn elements_with_many_attributes_are_refused_fast() {
        let attributes: String = (0..100_000).map(|i| format!(" a{i}=\"\"")).collect();
        let body = format!("<job><name{attributes}>N</name></job>");
        let started = std::time::Instant::now();
        assert_eq!(parse_xml(body.as_bytes()), Err(BodyError::Malformed));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let few: String = (0..20).map(|i| format!(" a{i}=\"\"")).collect();
        assert!(parse_xml(format!("<job><name{few}>N</name></job>").as_bytes()).is_ok());
    }
}
