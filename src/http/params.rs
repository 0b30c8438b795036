//! Query parameters, parsed and validated once: the `deleted` flag, pagination and `filter`.
use super::error::ApiError;
use crate::domain::status::Filter;
use crate::domain::subresources::SubKind;
use crate::store::Page;

pub const DEFAULT_PER_PAGE: i64 = 50;
pub const MAX_PER_PAGE: i64 = 200;

/// One `key[=value]` of a query string, decoded; `has_value` keeps `?deleted` apart from
/// `?deleted=` when the pair is written back into a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub key: String,
    pub value: String,
    pub has_value: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub pairs: Vec<Pair>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|piece| !piece.is_empty())
            .filter_map(|piece| {
                let has_value = piece.contains('=');
                let (key, value) = form_urlencoded::parse(piece.as_bytes()).next()?;
                Some(Pair {
                    key: key.into_owned(),
                    value: value.into_owned(),
                    has_value,
                })
            })
            .collect();
        Query { pairs }
    }

    /// The last value given for `key` (later parameters win, as in Rails).
    pub fn get(&self, key: &str) -> Option<&Pair> {
        self.pairs.iter().rev().find(|p| p.key == key)
    }

    /// `?deleted`, `?deleted=true`, `?deleted=1` (anything but `false`/`0`) ask for deleted jobs.
    pub fn deleted(&self) -> bool {
        self.get("deleted")
            .is_some_and(|p| !matches!(p.value.to_ascii_lowercase().as_str(), "false" | "0"))
    }

    /// This query with `page` set to `number`, keys sorted: the href of a prev/next link.
    pub fn with_page(&self, number: i64) -> String {
        let mut pairs: Vec<Pair> = self
            .pairs
            .iter()
            .filter(|p| p.key != "page")
            .cloned()
            .collect();
        pairs.push(Pair {
            key: "page".into(),
            value: number.to_string(),
            has_value: true,
        });
        pairs.sort_by(|a, b| a.key.cmp(&b.key));
        let mut seen = std::collections::HashSet::new();
        pairs
            .iter()
            .rev()
            .filter(|p| seen.insert(p.key.clone()))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(encode_pair)
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn encode_pair(pair: &Pair) -> String {
    let key: String = form_urlencoded::byte_serialize(pair.key.as_bytes()).collect();
    if pair.has_value {
        let value: String = form_urlencoded::byte_serialize(pair.value.as_bytes()).collect();
        format!("{key}={value}")
    } else {
        key
    }
}

impl Query {
    /// `expand=tasks,assets` (commas raw or as `%2C`): the lists to nest in each job, in the
    /// order of the job's links; unknown names are ignored.
    pub fn expand(&self) -> Vec<SubKind> {
        let wanted: Vec<&str> = self
            .pairs
            .iter()
            .filter(|p| p.key == "expand")
            .flat_map(|p| p.value.split(','))
            .map(str::trim)
            .collect();
        SubKind::ALL
            .into_iter()
            .filter(|k| wanted.contains(&k.plural()))
            .collect()
    }
}

/// The `prev` and `next` links of a page of a list at `base` with `total` entries: absolute,
/// every other parameter kept; none before the first page or after the last.
pub fn page_links(
    base: &str,
    query: &Query,
    page: Page,
    total: i64,
) -> (Option<String>, Option<String>) {
    let prev = (page.number > 1).then(|| format!("{base}?{}", query.with_page(page.number - 1)));
    let next = (page.offset().saturating_add(page.per_page) < total)
        .then(|| format!("{base}?{}", query.with_page(page.number + 1)));
    (prev, next)
}

/// What a jobs list asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    pub deleted: bool,
    pub filter: Option<Filter>,
    pub page: Option<Page>,
}

impl ListParams {
    pub fn from_query(query: &Query) -> Result<ListParams, ApiError> {
        let paginate = query.get("pagination").is_some_and(|p| p.value == "true");
        let per_page = positive(query, "per_page")?.unwrap_or(DEFAULT_PER_PAGE);
        if per_page > MAX_PER_PAGE {
            return Err(ApiError::Parameter(format!(
                "per_page maximum value is {MAX_PER_PAGE}"
            )));
        }
        let number = positive(query, "page")?.unwrap_or(1);
        let filter = match query.get("filter") {
            None => None,
            Some(p) => Some(Filter::parse(&p.value).ok_or_else(|| {
                let names: Vec<_> = Filter::ALL.iter().map(|f| f.as_str()).collect();
                ApiError::Parameter(format!("filter must be one of {}", names.join(", ")))
            })?),
        };
        Ok(ListParams {
            deleted: query.deleted(),
            filter,
            page: paginate.then_some(Page { number, per_page }),
        })
    }
}

/// A positive integer parameter; zero, negatives, fractions and text are refused by name.
fn positive(query: &Query, key: &str) -> Result<Option<i64>, ApiError> {
    let Some(pair) = query.get(key) else {
        return Ok(None);
    };
    let digits = !pair.value.is_empty() && pair.value.bytes().all(|b| b.is_ascii_digit());
    match pair.value.parse::<i64>() {
        Ok(n) if digits && n > 0 => Ok(Some(n)),
        _ => Err(ApiError::Parameter(format!(
            "{key} must be a positive integer"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(raw: &str) -> Result<ListParams, ApiError> {
        ListParams::from_query(&Query::parse(Some(raw)))
    }

    #[test]
    fn pagination_is_off_unless_asked_for() {
        assert_eq!(params("").unwrap().page, None);
        assert_eq!(params("per_page=20").unwrap().page, None);
        let page = params("pagination=true&per_page=20&page=3")
            .unwrap()
            .page
            .unwrap();
        assert_eq!((page.number, page.per_page, page.offset()), (3, 20, 40));
        let default = params("pagination=true").unwrap().page.unwrap();
        assert_eq!((default.number, default.per_page), (1, 50));
    }

    #[test]
    fn bad_pagination_values_name_the_parameter() {
        assert_eq!(
            params("pagination=true&per_page=201"),
            Err(ApiError::Parameter("per_page maximum value is 200".into()))
        );
        assert!(params("per_page=200").is_ok());
        for bad in ["0", "-1", "abc", "1.5", "3abc", "", "99999999999999999999"] {
            for key in ["page", "per_page"] {
                match params(&format!("pagination=true&{key}={bad}")) {
                    Err(ApiError::Parameter(m)) => assert!(m.starts_with(key), "{m}"),
                    other => panic!("{key}={bad}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn filters_are_checked() {
        assert_eq!(params("filter=ready").unwrap().filter, Some(Filter::Ready));
        assert!(
            matches!(params("filter=nope"), Err(ApiError::Parameter(m)) if m.starts_with("filter"))
        );
    }

    #[test]
    fn the_deleted_flag_takes_several_spellings() {
        for raw in ["deleted", "deleted=true", "deleted=1", "deleted="] {
            assert!(Query::parse(Some(raw)).deleted(), "{raw}");
        }
        for raw in ["", "deleted=false", "deleted=0"] {
            assert!(!Query::parse(Some(raw)).deleted(), "{raw}");
        }
    }

    #[test]
    fn expand_names_known_lists_only() {
        let q = Query::parse(Some("expand=problems,tasks%2Cbogus&expand=notes"));
        assert_eq!(
            q.expand(),
            vec![SubKind::Tasks, SubKind::Notes, SubKind::Problems]
        );
        assert!(Query::parse(Some("expand=")).expand().is_empty());
    }

    #[test]
    fn page_links_repeat_every_other_parameter_sorted() {
        let q = Query::parse(Some("pagination=true"));
        assert_eq!(q.with_page(2), "page=2&pagination=true");
        let q = Query::parse(Some(
            "pagination=true&filter=ready&page=1&deleted&expand=tasks,assets",
        ));
        assert_eq!(
            q.with_page(2),
            "deleted&expand=tasks%2Cassets&filter=ready&page=2&pagination=true"
        );
    }
}
