//! Which format a response is written in (`Accept`, or a `.json`/`.xml` suffix that wins), and
//! which reader a request body needs (`Content-Type`).
use crate::repr::Format;

/// The client accepts neither XML nor JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAcceptable;

/// Picks the response format from an `Accept` header. Missing, empty or malformed headers mean
/// "anything", which is XML; q-values order the choices and `q=0` rules a type out.
pub fn from_accept(accept: Option<&str>) -> Result<Format, NotAcceptable> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(Format::Xml);
    };
    let Some(mut ranges) = parse_accept(accept) else {
        return Ok(Format::Xml);
    };
    // Stable sort: among equal q-values the client's order decides.
    ranges.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranges
        .iter()
        .filter(|(_, q)| *q > 0.0)
        .find_map(|(range, _)| format_for_range(range))
        .ok_or(NotAcceptable)
}

fn format_for_range(range: &str) -> Option<Format> {
    match range {
        "application/json" => Some(Format::Json),
        "application/xml" | "text/xml" | "*/*" | "application/*" | "text/*" => Some(Format::Xml),
        _ => None,
    }
}

/// `type/subtype;q=…` items, lower-cased, or `None` when any item is not a media range.
fn parse_accept(accept: &str) -> Option<Vec<(String, f32)>> {
    let mut ranges = Vec::new();
    for item in accept.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let mut parts = item.split(';').map(str::trim);
        let range = parts.next()?.to_ascii_lowercase();
        let (kind, sub) = range.split_once('/')?;
        if kind.is_empty() || sub.is_empty() || sub.contains('/') {
            return None;
        }
        let mut q = 1.0_f32;
        for param in parts {
            if let Some((name, value)) = param.split_once('=') {
                if name.trim().eq_ignore_ascii_case("q") {
                    q = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|q: &f32| (0.0..=1.0).contains(q))?;
                }
            }
        }
        ranges.push((range, q));
    }
    (!ranges.is_empty()).then_some(ranges)
}

/// Splits a `.json`/`.xml` suffix off a path: `/api/work_areas/10/jobs/3.json` →
/// (`/api/work_areas/10/jobs/3`, JSON).
pub fn split_suffix(path: &str) -> (&str, Option<Format>) {
    for (suffix, format) in [(".json", Format::Json), (".xml", Format::Xml)] {
        if let Some(stripped) = path.strip_suffix(suffix) {
            if !stripped.ends_with('/') && !stripped.is_empty() {
                return (stripped, Some(format));
            }
        }
    }
    (path, None)
}

/// The reader a request body needs, from its `Content-Type` (parameters such as charset are
/// ignored; the body must be UTF-8 either way).
pub fn body_format(content_type: Option<&str>) -> Option<Format> {
    let essence = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Some(Format::Json),
        "application/xml" | "text/xml" => Some(Format::Xml),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_pick_the_format() {
        let cases = [
            (None, Ok(Format::Xml)),
            (Some(""), Ok(Format::Xml)),
            (Some("*/*"), Ok(Format::Xml)),
            (Some("application/json"), Ok(Format::Json)),
            (Some("application/json, text/plain, */*"), Ok(Format::Json)),
            (Some("application/xml"), Ok(Format::Xml)),
            (Some("text/xml"), Ok(Format::Xml)),
            (Some("APPLICATION/JSON"), Ok(Format::Json)),
            (
                Some("application/xml;q=0.5, application/json"),
                Ok(Format::Json),
            ),
            (Some("application/json;q=0, */*"), Ok(Format::Xml)),
            (Some("text/csv"), Err(NotAcceptable)),
            (Some("text/plain, image/png"), Err(NotAcceptable)),
            (Some("garbage"), Ok(Format::Xml)),
            (Some("application/json;q=abc"), Ok(Format::Xml)),
            (Some(",,,"), Ok(Format::Xml)),
        ];
        for (accept, expected) in cases {
            assert_eq!(from_accept(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn suffixes_are_split_off() {
        assert_eq!(
            split_suffix("/api/jobs/3.json"),
            ("/api/jobs/3", Some(Format::Json))
        );
        assert_eq!(
            split_suffix("/api/jobs.xml"),
            ("/api/jobs", Some(Format::Xml))
        );
        assert_eq!(split_suffix("/api/jobs/3"), ("/api/jobs/3", None));
        assert_eq!(split_suffix("/.json"), ("/.json", None));
    }

    #[test]
    fn body_types_ignore_parameters() {
        assert_eq!(
            body_format(Some("application/xml; charset=utf-8")),
            Some(Format::Xml)
        );
        assert_eq!(
            body_format(Some("application/xml;charset=UTF-8")),
            Some(Format::Xml)
        );
        assert_eq!(body_format(Some("text/xml")), Some(Format::Xml));
        assert_eq!(
            body_format(Some("application/json; charset=utf-8")),
            Some(Format::Json)
        );
        assert_eq!(body_format(Some("application/x-www-form-urlencoded")), None);
        assert_eq!(body_format(Some("undefined")), None);
        assert_eq!(body_format(None), None);
    }
}
