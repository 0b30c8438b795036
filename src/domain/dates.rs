//! Calendar rules: how dates are read from clients and the dates a job derives.
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime};

/// Reads `2010-12-31` or an ISO 8601 datetime (`2010-12-31T00:00:00+02:00`, `...Z`, or no
/// offset). For a datetime the calendar date *as written* is kept: a client in UTC+2 that sends
/// midnight means that day, not the day before in UTC.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if text.len() == 10 {
        return parse_plain_date(text);
    }
    if text.len() < 19 || text.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    // The date part must itself be a strict YYYY-MM-DD, so that chrono's lenient parsing
    // (one-digit months, signed years) never widens what we accept.
    let date = parse_plain_date(&text[..10])?;
    let time_ok = DateTime::parse_from_rfc3339(text).is_ok()
        || NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok();
    time_ok.then_some(date)
}

fn parse_plain_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) {
        return None;
    }
    if !digits(8..10) {
        return None;
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    // Year 0 is valid for chrono but not for ISO 8601 calendars in practice.
    (text[..4] != *"0000").then_some(date)
}

/// `begins-at` moved by the template's offset in days (negative = before); `None` when that
/// leaves the years 0001–9999 that every representation (and `parse_date`) can carry.
pub fn due_date(begins_at: NaiveDate, offset_days: i32) -> Option<NaiveDate> {
    let days = Days::new(u64::from(offset_days.unsigned_abs()));
    let due = if offset_days >= 0 {
        begins_at.checked_add_days(days)
    } else {
        begins_at.checked_sub_days(days)
    };
    due.filter(in_range)
}

/// A job created without `ends-at` ends two calendar months after its due date.
pub fn default_ends_at(due_date: NaiveDate) -> Option<NaiveDate> {
    due_date.checked_add_months(Months::new(2)).filter(in_range)
}

fn in_range(date: &NaiveDate) -> bool {
    (1..=9999).contains(&date.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn accepts_dates_and_datetimes_keeping_the_written_day() {
        assert_eq!(parse_date("2010-12-31"), Some(d("2010-12-31")));
        assert_eq!(
            parse_date("2010-12-31T00:00:00+02:00"),
            Some(d("2010-12-31"))
        );
        assert_eq!(
            parse_date("2010-12-31T23:30:00-05:00"),
            Some(d("2010-12-31"))
        );
        assert_eq!(parse_date("2010-12-31T00:00:00Z"), Some(d("2010-12-31")));
        assert_eq!(parse_date("2010-12-31T00:00:00"), Some(d("2010-12-31")));
        assert_eq!(
            parse_date("2010-12-31T00:00:00.123Z"),
            Some(d("2010-12-31"))
        );
    }

    #[test]
    fn refuses_what_is_not_a_calendar_date() {
        for bad in [
            "2010-02-30",
            "2010-12",
            "31/12/2010",
            "",
            "2010-1-05",
            "+2010-12-31",
            "0000-01-01",
            "2010-12-31T25:00:00Z",
            "2010-12-31 00:00:00",
            "2010-12-31Tnonsense",
            "２０１０-12-31",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn due_date_applies_the_offset_both_ways() {
        assert_eq!(due_date(d("2010-12-31"), 0), Some(d("2010-12-31")));
        assert_eq!(due_date(d("2010-12-31"), -10), Some(d("2010-12-21")));
        assert_eq!(due_date(d("2010-12-31"), 1), Some(d("2011-01-01")));
    }

    #[test]
    fn derived_dates_stay_within_four_digit_years() {
        assert_eq!(due_date(d("0001-01-05"), -10), None);
        assert_eq!(default_ends_at(d("9999-12-31")), None);
        assert_eq!(default_ends_at(d("9999-10-31")), Some(d("9999-12-31")));
    }

    #[test]
    fn ends_at_defaults_to_two_calendar_months_after_due() {
        assert_eq!(default_ends_at(d("2010-12-31")), Some(d("2011-02-28")));
        assert_eq!(default_ends_at(d("2010-05-05")), Some(d("2010-07-05")));
    }
}
