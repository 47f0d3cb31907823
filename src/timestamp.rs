//! Finds the time of a log record in its line.
//!
//! Retention and the full-IP window are promises about records, so every decision that
//! deletes or masks data rests on this module. It recognises the four stamps web servers
//! write: CLF `10/Oct/2000:13:55:36 -0700` (bracketed in access logs, bare in nginx JSON
//! logs), ISO 8601 / RFC 3339, nginx error `2000/10/10 13:55:36` and Apache error
//! `[Tue Oct 10 13:55:36.123456 2000]` (the last two in local time). It must never guess: a
//! line it cannot read has no stamp (and belongs to the record above it), it never invents
//! one.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// How far into a line a stamp is looked for. Every supported format puts it near the
/// start; looking further would only find dates inside request paths.
const SEARCH_WINDOW: usize = 512;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Reads record times. Holds the time zone used for stamps written in local time.
#[derive(Clone, Debug)]
pub struct StampReader {
    tz: TimeZone,
}

impl Default for StampReader {
    fn default() -> Self {
        StampReader::new(TimeZone::system())
    }
}

impl StampReader {
    pub fn new(tz: TimeZone) -> StampReader {
        StampReader { tz }
    }

    /// The time of the record that starts on this line, if the line carries a stamp.
    pub fn find(&self, line: &[u8]) -> Option<Timestamp> {
        let window = &line[..line.len().min(SEARCH_WINDOW)];
        let mut i = 0;
        while i < window.len() {
            let b = window[i];
            if b.is_ascii_digit() {
                // Only the first digit of a run can start a stamp.
                if i == 0 || !window[i - 1].is_ascii_digit() {
                    if let Some(t) = self.at_digit(window, i) {
                        return Some(t);
                    }
                }
            } else if b == b'[' {
                if let Some(t) = self.apache_error(&window[i + 1..]) {
                    return Some(t);
                }
            }
            i += 1;
        }
        None
    }

    fn at_digit(&self, s: &[u8], i: usize) -> Option<Timestamp> {
        let rest = &s[i..];
        if rest.len() >= 3 && rest[2] == b'/' {
            return clf(rest);
        }
        if rest.len() >= 5 && rest[..4].iter().all(u8::is_ascii_digit) {
            match rest[4] {
                b'-' => return iso8601(rest),
                b'/' => return self.nginx_error(rest),
                _ => {}
            }
        }
        None
    }

    /// `2000/10/10 13:55:36`, local time.
    fn nginx_error(&self, s: &[u8]) -> Option<Timestamp> {
        if s.len() < 19 || s[7] != b'/' || s[10] != b' ' || s[13] != b':' || s[16] != b':' {
            return None;
        }
        let year = num(&s[0..4])?;
        let month = num(&s[5..7])?;
        let day = num(&s[8..10])?;
        let (h, m, sec) = (num(&s[11..13])?, num(&s[14..16])?, num(&s[17..19])?);
        self.local(year, month, day, h, m, sec)
    }

    /// `Tue Oct 10 13:55:36.123456 2000]` (after the `[`), local time.
    fn apache_error(&self, s: &[u8]) -> Option<Timestamp> {
        if s.len() < 24
            || s[3] != b' '
            || s[7] != b' '
            || !s[..3].iter().all(u8::is_ascii_alphabetic)
        {
            return None;
        }
        let month = month(&s[4..7])?;
        let day_field = &s[8..10];
        let day = if day_field[0] == b' ' {
            num(&day_field[1..])?
        } else {
            num(day_field)?
        };
        if s[10] != b' ' || s[13] != b':' || s[16] != b':' {
            return None;
        }
        let (h, m, sec) = (num(&s[11..13])?, num(&s[14..16])?, num(&s[17..19])?);
        let mut p = 19;
        if s.get(p) == Some(&b'.') {
            p += 1;
            while s.get(p).is_some_and(u8::is_ascii_digit) {
                p += 1;
            }
        }
        if s.get(p) != Some(&b' ') {
            return None;
        }
        let year = num(s.get(p + 1..p + 5)?)?;
        if s.get(p + 5) != Some(&b']') {
            return None;
        }
        self.local(year, month, day, h, m, sec)
    }

    fn local(&self, year: i64, month: i64, day: i64, h: i64, m: i64, s: i64) -> Option<Timestamp> {
        if !valid_civil(year, month, day, h, m, s) {
            return None;
        }
        let dt = DateTime::new(
            year as i16,
            month as i8,
            day as i8,
            h as i8,
            m as i8,
            s as i8,
            0,
        )
        .ok()?;
        self.tz.to_ambiguous_timestamp(dt).compatible().ok()
    }
}

/// `10/Oct/2000:13:55:36 -0700`
fn clf(s: &[u8]) -> Option<Timestamp> {
    if s.len() < 26
        || s[6] != b'/'
        || s[11] != b':'
        || s[14] != b':'
        || s[17] != b':'
        || s[20] != b' '
    {
        return None;
    }
    let day = num(&s[0..2])?;
    let month = month(&s[3..6])?;
    let year = num(&s[7..11])?;
    let (h, m, sec) = (num(&s[12..14])?, num(&s[15..17])?, num(&s[18..20])?);
    let offset = offset_hhmm(&s[21..26])?;
    utc(year, month, day, h, m, sec, offset)
}

/// `2000-10-10T13:55:36[.frac](Z|+hh:mm|+hhmm)`; a space may stand for the `T`.
fn iso8601(s: &[u8]) -> Option<Timestamp> {
    if s.len() < 20
        || s[7] != b'-'
        || !(s[10] == b'T' || s[10] == b' ')
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    let year = num(&s[0..4])?;
    let month = num(&s[5..7])?;
    let day = num(&s[8..10])?;
    let (h, m, sec) = (num(&s[11..13])?, num(&s[14..16])?, num(&s[17..19])?);
    let mut p = 19;
    if s.get(p) == Some(&b'.') || s.get(p) == Some(&b',') {
        p += 1;
        while s.get(p).is_some_and(u8::is_ascii_digit) {
            p += 1;
        }
    }
    let offset = match s.get(p)? {
        b'Z' | b'z' => 0,
        b'+' | b'-' => {
            let sign = if s[p] == b'-' { -1 } else { 1 };
            let hh = num(s.get(p + 1..p + 3)?)?;
            let mm = if s.get(p + 3) == Some(&b':') {
                num(s.get(p + 4..p + 6)?)?
            } else {
                num(s.get(p + 3..p + 5)?)?
            };
            if hh > 23 || mm > 59 {
                return None;
            }
            sign * (hh * 3600 + mm * 60)
        }
        // Without a zone the instant is unknown; refusing beats guessing.
        _ => return None,
    };
    utc(year, month, day, h, m, sec, offset)
}

fn offset_hhmm(s: &[u8]) -> Option<i64> {
    let sign = match s[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hh = num(&s[1..3])?;
    let mm = num(&s[3..5])?;
    if hh > 23 || mm > 59 {
        return None;
    }
    Some(sign * (hh * 3600 + mm * 60))
}

fn month(s: &[u8]) -> Option<i64> {
    MONTHS
        .iter()
        .position(|m| m.as_slice() == s)
        .map(|i| i as i64 + 1)
}

fn num(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        s.iter()
            .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0')),
    )
}

fn valid_civil(year: i64, month: i64, day: i64, h: i64, m: i64, s: i64) -> bool {
    (1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && h <= 23
        && m <= 59
        && s <= 60
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Seconds since the epoch of a civil UTC time minus its offset. Plain arithmetic
/// (Howard Hinnant's days-from-civil) because this runs once per log line.
fn utc(year: i64, month: i64, day: i64, h: i64, m: i64, s: i64, offset: i64) -> Option<Timestamp> {
    if !valid_civil(year, month, day, h, m, s) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // A leap second is read as the second before it.
    let secs = days * 86_400 + h * 3600 + m * 60 + s.min(59) - offset;
    Timestamp::from_second(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc_reader() -> StampReader {
        StampReader::new(TimeZone::UTC)
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn reads_the_four_formats() {
        let r = utc_reader();
        let cases: &[(&str, &str)] = &[
            (
                r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326"#,
                "2000-10-10T20:55:36Z",
            ),
            (
                r#"{"remote_addr":"1.2.3.4","time_local":"29/Nov/2026:01:02:03 +0000","x":1}"#,
                "2026-11-29T01:02:03Z",
            ),
            (
                r#"{"time":"2026-11-29T01:02:03.5+01:00","ip":"1.2.3.4"}"#,
                "2026-11-29T00:02:03Z",
            ),
            (r#"{"time":"2026-11-29T01:02:03Z"}"#, "2026-11-29T01:02:03Z"),
            (
                "2026/11/29 01:02:03 [error] 123#0: *1 open() failed, client: 1.2.3.4, server: x",
                "2026-11-29T01:02:03Z",
            ),
            (
                "[Tue Oct 10 13:55:36.123456 2000] [core:error] [pid 1] [client 1.2.3.4:5] x",
                "2000-10-10T13:55:36Z",
            ),
            (
                "[Tue Oct  3 13:55:36 2000] [error] x",
                "2000-10-03T13:55:36Z",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(r.find(line.as_bytes()), Some(at(want)), "{line}");
        }
    }

    #[test]
    fn local_formats_use_the_time_zone() {
        let r = StampReader::new(TimeZone::get("Europe/Berlin").unwrap());
        assert_eq!(
            r.find(b"2026/07/01 12:00:00 [warn] x"),
            Some(at("2026-07-01T10:00:00Z"))
        );
    }

    #[test]
    fn refuses_what_is_not_a_stamp() {
        let r = utc_reader();
        for line in [
            "",
            "    at java.lang.Thread.run(Thread.java:750)",
            "32/Oct/2000:13:55:36 -0700",
            "10/Foo/2000:13:55:36 -0700",
            "2026-02-30T01:02:03Z",
            "2026-11-29T01:02:03",
            "GET /2026/11/29/post.html",
            "12:34:56",
        ] {
            assert_eq!(r.find(line.as_bytes()), None, "{line}");
        }
    }

    #[test]
    fn never_panics_on_truncated_stamps() {
        let r = utc_reader();
        let full = b"[Tue Oct 10 13:55:36.123456 2000] 10/Oct/2000:13:55:36 -0700 2000/10/10 13:55:36 2000-10-10T13:55:36+01:00";
        for end in 0..full.len() {
            for start in 0..end {
                let _ = r.find(&full[start..end]);
            }
        }
    }
}
