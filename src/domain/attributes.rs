//! Typed reads of a request's attributes, with one validation message per bad value.
//!
//! The body reader (`http/body.rs`) turns XML and JSON into the neutral `Attributes` map defined
//! here; the accessors below are where "what did the client mean by this value" is decided,
//! identically for both formats.
use super::dates;
use chrono::NaiveDate;
use std::collections::hash_map::{Entry, HashMap};

/// The value of one field, before any type checking.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// XML `nil="true"`; JSON `null`.
    Null,
    /// XML text without a known type (or `type="string"`); JSON string.
    Text(String),
    /// XML text with a recognised `type` attribute, raw (not yet parsed).
    Typed { kind: TypeHint, text: String },
    /// JSON integer that fits an `i64`.
    Integer(i64),
    /// Any other JSON number.
    Float(f64),
    /// JSON `true`/`false`.
    Bool(bool),
    /// JSON array/object, or an XML field element that has child elements.
    Composite,
}

/// The XML `type` attributes that announce a scalar the caller will parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeHint {
    Integer,
    Boolean,
    Date,
    DateTime,
    Float,
}

impl TypeHint {
    /// Maps a Rails `type` attribute; `None` means "treat as plain text", which
    /// is how `string` and every unknown type (`yaml`, `symbol`…) are handled:
    /// those are never interpreted, as that is where Rails had its exploits.
    pub(crate) fn from_xml_type(value: &str) -> Option<Self> {
        match value {
            "integer" => Some(Self::Integer),
            "boolean" => Some(Self::Boolean),
            "date" => Some(Self::Date),
            "datetime" | "dateTime" => Some(Self::DateTime),
            "float" | "decimal" => Some(Self::Float),
            _ => None,
        }
    }
}

/// The fields and links of one request body.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Attributes {
    pub(crate) root: Option<String>,
    pub(crate) fields: OrderedMap<Value>,
    pub(crate) links: OrderedMap<String>,
}

impl Attributes {
    /// XML root element name (`"job"`), or the key of a wrapping JSON object
    /// (`{"job": {...}}`); `None` for an unwrapped JSON object.
    pub fn root(&self) -> Option<&str> {
        self.root.as_deref()
    }

    /// The value of a field, by its snake_case name (`"begins_at"`).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// Whether the body has this field (links are not fields).
    pub fn contains(&self, name: &str) -> bool {
        self.fields.get(name).is_some()
    }

    /// The href of `<link rel=".." href=".."/>` or of JSON `"<rel>_link"`.
    pub fn link(&self, rel: &str) -> Option<&str> {
        self.links.get(rel).map(String::as_str)
    }

    /// Field names in document order (links excluded).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(name, _)| name)
    }

    /// `(rel, href)` pairs in document order.
    pub fn links(&self) -> impl Iterator<Item = (&str, &str)> {
        self.links.iter().map(|(rel, href)| (rel, href.as_str()))
    }
}

/// Insertion-ordered map where re-inserting a key replaces the value in place.
/// The hash index keeps bodies with many repeated fields linear, not quadratic.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderedMap<V> {
    entries: Vec<(String, V)>,
    positions: HashMap<String, usize>,
}

// Written by hand because the derive would require `V: Default`.
impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            positions: HashMap::new(),
        }
    }
}

impl<V> OrderedMap<V> {
    pub(crate) fn insert(&mut self, key: String, value: V) {
        match self.positions.entry(key) {
            Entry::Occupied(slot) => {
                if let Some(entry) = self.entries.get_mut(*slot.get()) {
                    entry.1 = value;
                }
            }
            Entry::Vacant(slot) => {
                self.entries.push((slot.key().clone(), value));
                slot.insert(self.entries.len() - 1);
            }
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        let position = *self.positions.get(key)?;
        self.entries.get(position).map(|(_, value)| value)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value))
    }
}

/// What a request said about one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given<T> {
    Absent,
    Null,
    Value(T),
}

impl<T> Given<T> {
    pub fn into_option(self) -> Option<T> {
        match self {
            Given::Value(v) => Some(v),
            Given::Absent | Given::Null => None,
        }
    }

    /// `None` when absent (leave as is), `Some(None)` when null (clear), `Some(Some(v))` to set.
    pub fn into_change(self) -> Option<Option<T>> {
        match self {
            Given::Absent => None,
            Given::Null => Some(None),
            Given::Value(v) => Some(Some(v)),
        }
    }
}

/// `begins_at` → `Begins at`, the way validation messages name an attribute.
pub fn human_name(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

/// A string attribute. Text may only hold characters XML 1.0 can carry: every stored value
/// must be servable in both formats, and no database stores NUL faithfully.
pub fn string(attrs: &Attributes, name: &str) -> Result<Given<String>, String> {
    match attrs.get(name) {
        None => Ok(Given::Absent),
        Some(Value::Null) => Ok(Given::Null),
        Some(Value::Text(text)) | Some(Value::Typed { text, .. }) => {
            if text.chars().count() > MAX_TEXT_CHARS {
                Err(format!(
                    "{} is too long (maximum is {MAX_TEXT_CHARS} characters)",
                    human_name(name)
                ))
            } else if text.chars().any(is_unservable) {
                Err(format!(
                    "{} must not contain control characters",
                    human_name(name)
                ))
            } else {
                Ok(Given::Value(text.clone()))
            }
        }
        Some(_) => Err(format!("{} must be a string", human_name(name))),
    }
}

/// Longer text than any title, note or URL needs; keeps every representation small enough to
/// build, send and store without surprises.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Characters outside the XML 1.0 `Char` production (NUL and the other C0 controls but tab,
/// line feed and carriage return; U+FFFE and U+FFFF).
fn is_unservable(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// A date attribute: `YYYY-MM-DD` or an ISO 8601 datetime, as text or typed XML.
pub fn date(attrs: &Attributes, name: &str) -> Result<Given<NaiveDate>, String> {
    let invalid = || format!("{} is not a valid date", human_name(name));
    match attrs.get(name) {
        None => Ok(Given::Absent),
        Some(Value::Null) => Ok(Given::Null),
        Some(Value::Text(text))
        | Some(Value::Typed {
            kind: TypeHint::Date | TypeHint::DateTime,
            text,
        }) => {
            if text.trim().is_empty() {
                return Ok(Given::Null);
            }
            dates::parse_date(text)
                .map(Given::Value)
                .ok_or_else(invalid)
        }
        Some(_) => Err(invalid()),
    }
}

/// A boolean attribute: JSON `true`/`false`, XML `true`/`false` (typed or not; `1`/`0` too, as
/// Rails reads them).
pub fn boolean(attrs: &Attributes, name: &str) -> Result<Given<bool>, String> {
    let invalid = || format!("{} must be true or false", human_name(name));
    match attrs.get(name) {
        None => Ok(Given::Absent),
        Some(Value::Null) => Ok(Given::Null),
        Some(Value::Bool(b)) => Ok(Given::Value(*b)),
        Some(Value::Text(text))
        | Some(Value::Typed {
            kind: TypeHint::Boolean,
            text,
        }) => match text.trim() {
            "true" | "1" => Ok(Given::Value(true)),
            "false" | "0" => Ok(Given::Value(false)),
            "" => Ok(Given::Null),
            _ => Err(invalid()),
        },
        Some(_) => Err(invalid()),
    }
}

/// An integer attribute: a JSON integer, or XML digits (typed `integer` or untyped). Fractions
/// and text are refused rather than rounded.
pub fn integer(attrs: &Attributes, name: &str) -> Result<Given<i64>, String> {
    let invalid = || format!("{} must be an integer", human_name(name));
    match attrs.get(name) {
        None => Ok(Given::Absent),
        Some(Value::Null) => Ok(Given::Null),
        Some(Value::Integer(i)) => Ok(Given::Value(*i)),
        Some(Value::Text(text))
        | Some(Value::Typed {
            kind: TypeHint::Integer,
            text,
        }) => {
            let text = text.trim();
            if text.is_empty() {
                return Ok(Given::Null);
            }
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            text.parse().map(Given::Value).map_err(|_| invalid())
        }
        Some(_) => Err(invalid()),
    }
}

/// A string attribute that is required to be present and not blank when `required`.
pub fn required_string(attrs: &Attributes, name: &str, errors: &mut Vec<String>) -> Option<String> {
    match string(attrs, name) {
        Ok(Given::Value(s)) if !s.trim().is_empty() => Some(s),
        Ok(_) => {
            errors.push(format!("{} can't be blank", human_name(name)));
            None
        }
        Err(message) => {
            errors.push(message);
            None
        }
    }
}

/// Collects the error of a fallible read into `errors`, yielding `Given::Absent` in its place.
pub fn collect<T>(result: Result<Given<T>, String>, errors: &mut Vec<String>) -> Given<T> {
    result.unwrap_or_else(|message| {
        errors.push(message);
        Given::Absent
    })
}

/// An external reference given as a link (`<link rel="scheduling" href=".."/>` or
/// `"scheduling_link"`). Clients crash on relative hrefs, so only absolute http(s) URLs are kept.
pub fn external_link(attrs: &Attributes, rel: &str) -> Result<Option<Option<String>>, String> {
    let href = match attrs.link(rel) {
        Some(href) => href.trim(),
        None => return Ok(None),
    };
    if href.is_empty() {
        return Ok(Some(None));
    }
    let absolute = href.starts_with("http://") || href.starts_with("https://");
    if !absolute || href.contains(char::is_control) || href.contains(' ') {
        return Err(format!(
            "{} link must be an absolute http or https URL",
            human_name(rel)
        ));
    }
    Ok(Some(Some(href.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_by_name() {
        let attrs = crate::http::body::parse_json(
            br#"{"name": "a\u0000b", "tag_list": "x\u0007", "title": "tab\tok"}"#,
        )
        .unwrap();
        assert_eq!(
            string(&attrs, "name"),
            Err("Name must not contain control characters".into())
        );
        assert!(string(&attrs, "tag_list").is_err());
        assert_eq!(string(&attrs, "title"), Ok(Given::Value("tab\tok".into())));
    }

    #[test]
    fn integers_and_booleans_refuse_what_they_are_not() {
        let attrs = crate::http::body::parse_json(
            br#"{"a": 3, "b": 3.2, "c": "12", "d": "1x", "e": true, "f": "false", "g": "yes", "h": [1]}"#,
        )
        .unwrap();
        assert_eq!(integer(&attrs, "a"), Ok(Given::Value(3)));
        assert_eq!(integer(&attrs, "b"), Err("B must be an integer".into()));
        assert_eq!(integer(&attrs, "c"), Ok(Given::Value(12)));
        assert!(integer(&attrs, "d").is_err());
        assert!(integer(&attrs, "h").is_err());
        assert_eq!(boolean(&attrs, "e"), Ok(Given::Value(true)));
        assert_eq!(boolean(&attrs, "f"), Ok(Given::Value(false)));
        assert_eq!(boolean(&attrs, "g"), Err("G must be true or false".into()));
        assert_eq!(integer(&attrs, "zz"), Ok(Given::Absent));
    }

    #[test]
    fn human_names_read_like_the_reference_messages() {
        assert_eq!(human_name("name"), "Name");
        assert_eq!(human_name("begins_at"), "Begins at");
        assert_eq!(human_name("licensor_name"), "Licensor name");
    }
}
