//! Typed reads of a request's attributes, with one validation message per bad value.
//!
//! The body reader (`http/body.rs`) turns XML and JSON into one neutral map; these accessors are
//! where "what did the client mean by this value" is decided, identically for both formats.
use super::dates;
pub use crate::http::body::{Attributes, TypeHint, Value};
use chrono::NaiveDate;

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
            if text.chars().any(is_unservable) {
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
    fn human_names_read_like_the_reference_messages() {
        assert_eq!(human_name("name"), "Name");
        assert_eq!(human_name("begins_at"), "Begins at");
        assert_eq!(human_name("licensor_name"), "Licensor name");
    }
}
