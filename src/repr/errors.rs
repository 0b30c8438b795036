//! Error bodies, in the two shapes real clients read: a list of validation messages
//! (`<errors><error>`) and a single message (`<error><message>`).
use super::{json::pretty, xml::dasherize, Format};
use quick_xml::escape::partial_escape;
use serde_json::json;

pub fn validation_errors(format: Format, messages: &[String]) -> String {
    match format {
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<errors>\n");
            for message in messages {
                out.push_str("  <error>");
                out.push_str(&partial_escape(message.as_str()));
                out.push_str("</error>\n");
            }
            out.push_str("</errors>\n");
            out
        }
        Format::Json => pretty(&json!({ "errors": messages })),
    }
}

pub fn message(format: Format, message: &str) -> String {
    match format {
        Format::Xml => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <{tag}>{}</{tag}>\n</error>\n",
            partial_escape(message),
            tag = dasherize("message"),
        ),
        Format::Json => pretty(&json!({ "error": { "message": message } })),
    }
}
