//! Finds the time of a log record in its line.
//!
//! Retention and the full-IP window are promises about records, so every decision that
//! deletes or masks data rests on this module. A stamp is read only where the format puts
//! it, never as "the first date-like text in the line": a Basic-auth user name, a query
//! string or a JSON field is client-controlled, and must not become a record's time. With
//! `format: auto` each line is read by its shape:
//!
//! - `{…}`: JSON; the time is the value of the first present top-level key of
//!   [`JSON_TIME_FIELDS`] (RFC 3339, CLF, or epoch seconds/ms/µs/ns, number or string);
//! - `2000/10/10 13:55:36` at the line start: nginx error log (local time);
//! - `[Tue Oct 10 13:55:36.123456 2000]` at the line start: Apache error log (local time);
//! - `2000-10-10T13:55:36Z` at the line start: ISO 8601 / RFC 3339;
//! - otherwise CLF: the last `[10/Oct/2000:13:55:36 -0700]` before the first unescaped `"`.
//!   Client, ident and user come before the time field and the request after it; servers
//!   escape `"` in the user name (`\x22`, `\"`), so text a client sends can only stand
//!   *before* the real stamp, never between it and the request.
//!
//! A stamp before 1990 or more than a day after the pass's `now` is no stamp. It must never
//! guess: a line it cannot read has no stamp (and belongs to the record above it).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::syslog::HeaderTime;

mod civil;
mod json;

use civil::{clf, iso8601, month, num, valid_civil};
use json::{json_path, json_top_level, json_value};

/// An instant as logwarden's messages, reports, deadlines and losses record spell it:
/// RFC 3339 in UTC, whole seconds (`2026-11-21T00:00:00Z`). The losses record is read back
/// in this spelling.
pub(crate) fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// How far into a line a stamp is looked for. nginx escapes every non-ASCII byte of a
/// user name as `\xHH`, so the CLF time field can sit tens of kilobytes into a line; a
/// stamp beyond this leaves the record undated (fail safe), never misdated.
pub const SEARCH_WINDOW: usize = 64 * 1024;

/// JSON keys that hold a record's time, in order of preference.
pub const JSON_TIME_FIELDS: [&str; 7] = [
    "time",
    "timestamp",
    "@timestamp",
    "ts",
    "time_iso8601",
    "time_local",
    "msec",
];

/// Where a log's records carry their time: the policy's `format:`. Each names the one place
/// a stamp is read; only `Auto` tells formats apart by a line's shape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// CLF, JSON, ISO 8601, nginx error or Apache error, told apart by each line's shape.
    #[default]
    Auto,
    /// The bracketed time field after client, ident and user (nginx, Apache, Traefik access).
    Clf,
    /// One object per line; the time is the value at `time_field` (a dotted path into nested
    /// objects), or the first present top-level key of [`JSON_TIME_FIELDS`]. `client_field`
    /// names the client address field for `scope: client` (see `anonymize::Clients`).
    Json {
        time_field: Option<String>,
        client_field: Option<String>,
    },
    /// HAProxy's `[01/Nov/2026:12:00:00.123]` accept date, local time, after an optional
    /// syslog header and the client's `address:port`.
    Haproxy,
    /// `2026/11/01 12:00:00` at the line start, local time.
    NginxError,
    /// `[Sun Nov 01 12:00:00.123456 2026]` at the line start, local time.
    ApacheError,
    /// An RFC 5424 or RFC 3164 header (with or without `<PRI>`), or the RFC 3339 stamp that
    /// rsyslog writes in its place; without a usable header stamp the message is read as
    /// `Auto`.
    Syslog,
}

impl LogFormat {
    /// The policy's name for the format.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            LogFormat::Auto => "auto",
            LogFormat::Clf => "clf",
            LogFormat::Json { .. } => "json",
            LogFormat::Haproxy => "haproxy",
            LogFormat::NginxError => "nginx-error",
            LogFormat::ApacheError => "apache-error",
            LogFormat::Syslog => "syslog",
        }
    }

    /// The format the policy names `name`, its JSON fields unset; `None` for no format.
    #[must_use]
    pub fn named(name: &str) -> Option<LogFormat> {
        std::iter::once(LogFormat::Auto)
            .chain(LogFormat::candidates())
            .find(|f| f.name() == name)
    }

    /// Every name the policy accepts, for a message: "auto, clf, …, apache-error or syslog".
    #[must_use]
    pub fn names() -> String {
        let names: Vec<&str> = std::iter::once(LogFormat::Auto)
            .chain(LogFormat::candidates())
            .map(|f| f.name())
            .collect();
        match names.split_last() {
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// Every format `validate` may suggest, in the order it tries them.
    #[must_use]
    pub fn candidates() -> [LogFormat; 6] {
        [
            LogFormat::Clf,
            LogFormat::Json {
                time_field: None,
                client_field: None,
            },
            LogFormat::NginxError,
            LogFormat::ApacheError,
            LogFormat::Haproxy,
            LogFormat::Syslog,
        ]
    }
}

/// 1990-01-01T00:00:00Z: nothing a web server wrote is older; an RTC reset writes 1970.
const EARLIEST_SECOND: i64 = 631_152_000;

/// A record's time. A local stamp in the hour that repeats when daylight saving time ends
/// names two instants an hour apart: `early` decides masking (never late), `late` decides
/// retention (never early). Every other stamp names one instant, and the two are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub early: Timestamp,
    pub late: Timestamp,
}

impl From<Timestamp> for Stamp {
    fn from(t: Timestamp) -> Stamp {
        Stamp { early: t, late: t }
    }
}

/// Reads record times. Holds the time zone used for stamps written in local time and the
/// latest instant a stamp may name.
#[derive(Clone, Debug)]
pub struct StampReader {
    tz: TimeZone,
    earliest: Timestamp,
    latest: Timestamp,
    format: LogFormat,
    // The instant an RFC 3164 stamp (no year) is read against: the file's mtime, else now.
    year_reference: Option<Timestamp>,
}

impl Default for StampReader {
    fn default() -> Self {
        StampReader::new(TimeZone::system()).at(Timestamp::now())
    }
}

impl StampReader {
    /// A reader that accepts any stamp from 1990 on; call [`StampReader::at`] to bound it
    /// by the pass's clock.
    pub fn new(tz: TimeZone) -> StampReader {
        StampReader {
            tz,
            earliest: Timestamp::from_second(EARLIEST_SECOND).expect("1990 is representable"),
            latest: Timestamp::MAX,
            format: LogFormat::Auto,
            year_reference: None,
        }
    }

    /// The same reader for the log format `format`.
    #[must_use]
    pub fn with_format(&self, format: &LogFormat) -> StampReader {
        StampReader {
            format: format.clone(),
            ..self.clone()
        }
    }

    /// The same reader for a file last written at `mtime`: a syslog stamp without a year
    /// gets the year that puts it nearest at or before that instant.
    #[must_use]
    pub fn for_file(&self, mtime: Option<Timestamp>) -> StampReader {
        StampReader {
            year_reference: mtime,
            ..self.clone()
        }
    }

    /// The format this reader reads.
    #[must_use]
    pub fn format(&self) -> &LogFormat {
        &self.format
    }

    /// The same reader for a pass at `now`: a stamp more than one day ahead is no stamp.
    #[must_use]
    pub fn at(&self, now: Timestamp) -> StampReader {
        StampReader {
            latest: now
                .checked_add(SignedDuration::from_hours(24))
                .unwrap_or(Timestamp::MAX),
            ..self.clone()
        }
    }

    /// The time of the record that starts on this line, if the line carries a stamp where
    /// its format puts one (the earlier instant of an ambiguous local time).
    pub fn find(&self, line: &[u8]) -> Option<Timestamp> {
        self.find_stamp(line).map(|s| s.early)
    }

    /// [`StampReader::find`], with both instants of an ambiguous local time.
    pub fn find_stamp(&self, line: &[u8]) -> Option<Stamp> {
        let window = &line[..line.len().min(SEARCH_WINDOW)];
        let utc = |t: Option<Timestamp>| t.map(Stamp::from);
        let t = match &self.format {
            LogFormat::Auto => self.auto(window),
            LogFormat::Clf => utc(clf_field(window)),
            LogFormat::Json { time_field, .. } => utc(self.json_at(window, time_field.as_deref())),
            LogFormat::Haproxy => self.haproxy(window),
            LogFormat::NginxError => self.nginx_error(window),
            LogFormat::ApacheError => self.apache_error(window.strip_prefix(b"[")?),
            LogFormat::Syslog => self.syslog(window),
        }?;
        (t.early >= self.earliest && t.late <= self.latest).then_some(t)
    }

    /// `format: auto`: the line's shape says where its stamp is.
    fn auto(&self, window: &[u8]) -> Option<Stamp> {
        let utc = |t: Option<Timestamp>| t.map(Stamp::from);
        match window.first()? {
            b'{' => utc(self.json(window)),
            b'[' => self
                .apache_error(&window[1..])
                .or_else(|| utc(clf_field(window))),
            b'0'..=b'9' => {
                let start = if window.len() >= 5 && window[..4].iter().all(u8::is_ascii_digit) {
                    match window[4] {
                        b'-' => utc(iso8601(window)),
                        b'/' => self.nginx_error(window),
                        _ => None,
                    }
                } else {
                    None
                };
                start.or_else(|| utc(clf_field(window)))
            }
            _ => utc(clf_field(window)),
        }
    }

    /// `format: json`: the value at `path` (dotted into nested objects), else the preferred
    /// top-level time key.
    fn json_at(&self, line: &[u8], path: Option<&str>) -> Option<Timestamp> {
        if line.first() != Some(&b'{') {
            return None;
        }
        match path {
            None => self.json(line),
            Some(path) => json_value(json_path(line, path)?),
        }
    }

    /// HAProxy: `[01/Nov/2026:12:00:00.123]`, the first bracket opened after a blank in the
    /// message (past any syslog header). What precedes it is written by the server
    /// (`address:port`); client text (captured headers, the request) comes after it.
    fn haproxy(&self, line: &[u8]) -> Option<Stamp> {
        let mut from = crate::syslog::parse(line).map_or(0, |h| h.message);
        while let Some(i) = memchr::memchr(b'[', &line[from..]) {
            let b = from + i;
            from = b + 1;
            if b > 0 && line[b - 1] != b' ' {
                continue;
            }
            let s = &line[b + 1..];
            if s.len() < 21 || s[2] != b'/' || s[6] != b'/' || s[11] != b':' {
                continue;
            }
            if s[14] != b':' || s[17] != b':' {
                return None;
            }
            let day = num(&s[0..2])?;
            let month = month(&s[3..6])?;
            let year = num(&s[7..11])?;
            let (h, m, sec) = (num(&s[12..14])?, num(&s[15..17])?, num(&s[18..20])?);
            let mut p = 20;
            if s.get(p) == Some(&b'.') {
                p += 1;
                while s.get(p).is_some_and(u8::is_ascii_digit) {
                    p += 1;
                }
            }
            return (s.get(p) == Some(&b']'))
                .then(|| self.local(year, month, day, h, m, sec))
                .flatten();
        }
        None
    }

    /// A syslog line as a daemon writes it to a file: the time of its header (RFC 5424,
    /// rsyslog's RFC 3339, RFC 3164 with local time and no year), or, where the header has
    /// none, the message read as `format: auto`.
    fn syslog(&self, line: &[u8]) -> Option<Stamp> {
        let header = crate::syslog::parse(line)?;
        match header.time {
            HeaderTime::Rfc3339(t) => iso8601(t).map(Stamp::from),
            HeaderTime::Rfc3164(t) => self.rfc3164(t),
            HeaderTime::Missing => self.auto(&line[header.message..]),
        }
    }

    /// `Nov  1 12:00:00` (the day padded with a blank or a zero), local time; the year is
    /// the one that puts the stamp nearest at or before the file's mtime (else now).
    fn rfc3164(&self, s: &[u8]) -> Option<Stamp> {
        if s.len() < 15 || s[3] != b' ' || s[6] != b' ' || s[9] != b':' || s[12] != b':' {
            return None;
        }
        let month = month(&s[0..3])?;
        let day = if s[4] == b' ' {
            num(&s[5..6])?
        } else {
            num(&s[4..6])?
        };
        let (h, m, sec) = (num(&s[7..9])?, num(&s[10..12])?, num(&s[13..15])?);
        let reference = self
            .year_reference
            .or_else(|| self.latest.checked_sub(SignedDuration::from_hours(24)).ok())
            .filter(|t| *t < Timestamp::MAX)
            .unwrap_or_else(Timestamp::now);
        let year = i64::from(self.tz.to_datetime(reference).year());
        // The latest reading at or before the reference (a day of clock skew allowed, as for
        // every stamp), so a file that crosses New Year reads right on both sides.
        let skew = SignedDuration::from_hours(24);
        for y in [year + 1, year, year - 1] {
            if let Some(t) = self.local(y, month, day, h, m, sec) {
                if t.early <= reference.checked_add(skew).unwrap_or(Timestamp::MAX) {
                    return Some(t);
                }
            }
        }
        None
    }

    /// The value of the preferred time key of a JSON object.
    fn json(&self, line: &[u8]) -> Option<Timestamp> {
        let (_, value) = json_top_level(line, &JSON_TIME_FIELDS)?;
        json_value(value)
    }

    /// `2000/10/10 13:55:36`, local time.
    fn nginx_error(&self, s: &[u8]) -> Option<Stamp> {
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
    fn apache_error(&self, s: &[u8]) -> Option<Stamp> {
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

    fn local(&self, year: i64, month: i64, day: i64, h: i64, m: i64, s: i64) -> Option<Stamp> {
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
        let ambiguous = self.tz.to_ambiguous_timestamp(dt);
        Some(Stamp {
            early: ambiguous.earlier().ok()?,
            late: ambiguous.later().ok()?,
        })
    }
}

/// The CLF time field: the last `[10/Oct/2000:13:55:36 -0700]` that opens the line or
/// follows a space, before the first `"` that no backslash escapes.
fn clf_field(line: &[u8]) -> Option<Timestamp> {
    // The combined formats' shape, `… [stamp] "request" …`, is decided with one search: the
    // first `[` or `"` is a `[` that opens the line or follows a space, and `] "` closes the
    // stamp. No quote comes before it and a stamp holds neither `[` nor `"` (each of its
    // bytes is checked, the one `clf` skips here), so it is the field the search below
    // would find.
    if let Some(b) = memchr::memchr2(b'[', b'"', line) {
        if line[b] == b'['
            && (b == 0 || line[b - 1] == b' ')
            && line.get(b + 27..b + 30) == Some(b"] \"")
            && line[b + 3] == b'/'
        {
            if let Some(t) = clf(&line[b + 1..b + 27]) {
                return Some(t);
            }
        }
    }
    clf_field_searched(line)
}

/// [`clf_field`] by the general search: the first unescaped quote, then the `[`s before it.
fn clf_field_searched(line: &[u8]) -> Option<Timestamp> {
    let mut end = line.len();
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'"', &line[from..]) {
        let q = from + i;
        let backslashes = line[..q].iter().rev().take_while(|&&b| b == b'\\').count();
        if backslashes % 2 == 0 {
            end = q;
            break;
        }
        from = q + 1;
    }
    let head = &line[..end];
    let mut to = head.len();
    while let Some(b) = memchr::memrchr(b'[', &head[..to]) {
        to = b;
        if b > 0 && head[b - 1] != b' ' {
            continue;
        }
        let field = &head[b + 1..];
        if field.get(26) == Some(&b']') {
            if let Some(t) = clf(&field[..26]) {
                return Some(t);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

        /// The combined formats' shortcut finds the field the general search finds, on
        /// lines made of the pieces that matter: brackets, quotes, escapes, spaces and
        /// stamps whole or damaged.
        #[test]
        fn prop_the_clf_shortcut_finds_what_the_search_finds(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "[", "]", "\"", "\\", " ", "] \"", "x", "1.2.3.4", "-",
                "[10/Oct/2000:13:55:36 -0700", "[10/Oct/2000:13:55:36 -0700] \"",
                "[10\"Oct/2000:13:55:36 -0700] \"", "[29/Feb/2001:00:00:00 +0000] \"",
                "10/Oct/2000:13:55:36 +0100]", "[31/Dec/2025:23:59:60 +0000]",
            ]), 0..12)
        ) {
            let line = pieces.concat();
            proptest::prop_assert_eq!(
                clf_field(line.as_bytes()),
                clf_field_searched(line.as_bytes()),
                "{:?}", line
            );
        }
    }

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
    fn the_hour_that_repeats_when_dst_ends_is_early_for_masking_and_late_for_retention() {
        let r = StampReader::new(TimeZone::get("Europe/Berlin").unwrap());
        // 2026-10-25 02:30 happens twice in Berlin: 00:30Z (CEST) and 01:30Z (CET).
        for line in [
            "2026/10/25 02:30:00 [error] 1#0: x",
            "[Sun Oct 25 02:30:00.000001 2026] [core:error] x",
        ] {
            assert_eq!(
                r.find_stamp(line.as_bytes()),
                Some(Stamp {
                    early: at("2026-10-25T00:30:00Z"),
                    late: at("2026-10-25T01:30:00Z")
                }),
                "{line}"
            );
            assert_eq!(r.find(line.as_bytes()), Some(at("2026-10-25T00:30:00Z")));
        }
        let plain = r.find_stamp(b"2026/07/01 12:00:00 [warn] x").unwrap();
        assert_eq!(plain.early, plain.late);
    }

    #[test]
    fn a_user_name_cannot_become_the_record_time() {
        let r = utc_reader().at(at("2026-11-30T12:00:00Z"));
        let real = Some(at("2026-11-30T10:00:00Z"));
        for line in [
            // nginx combined: $remote_user precedes $time_local; `"` is written as \x22.
            r#"203.0.113.9 - x [30/Dec/9999:20:00:00 +0000] [30/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
            r#"203.0.113.9 - [01/Jan/2020:00:00:00 +0000] [30/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1"#,
            r#"203.0.113.9 - a\x22b\x20[01/Jan/2020:00:00:00 +0000] [30/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1"#,
            // Apache escapes `"` in %u as \".
            r#"203.0.113.9 - a\" [01/Jan/2020:00:00:00 +0000] \" [30/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 401 1"#,
            // A date in the request or the referrer is after the first quote.
            r#"203.0.113.9 - - [30/Nov/2026:10:00:00 +0000] "GET /?t=[01/Jan/2020:00:00:00 +0000] HTTP/1.1" 200 1 "[01/Jan/2020:00:00:00 +0000]" "-""#,
            // JSON: only the named top-level key counts, whatever the order of fields.
            r#"{"remote_user":"2020-01-01T00:00:00Z","req":{"time":"2020-01-01T00:00:00Z"},"ua":"\"time\":\"2020-01-01T00:00:00Z\"","time":"2026-11-30T10:00:00Z"}"#,
            r#"{"ts":"2020-01-01T00:00:00Z","time":"2026-11-30T10:00:00+00:00"}"#,
        ] {
            assert_eq!(r.find(line.as_bytes()), real, "{line}");
        }
    }

    #[test]
    fn the_clf_stamp_is_found_behind_a_user_name_of_any_escaped_length() {
        let r = utc_reader();
        let user = "\\xC3\\xA9".repeat(6000);
        let line =
            format!(r#"203.0.113.9 - {user} [30/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1"#);
        assert!(line.len() > 40_000);
        assert_eq!(r.find(line.as_bytes()), Some(at("2026-11-30T10:00:00Z")));
    }

    #[test]
    fn stamps_before_1990_or_more_than_a_day_ahead_are_no_stamps() {
        let r = utc_reader().at(at("2026-11-30T12:00:00Z"));
        for line in [
            r#"1.2.3.4 - - [30/Dec/9999:20:00:00 +0000] "GET / HTTP/1.1" 200 1"#,
            r#"1.2.3.4 - - [01/Dec/2026:12:00:01 +0000] "GET / HTTP/1.1" 200 1"#,
            r#"1.2.3.4 - - [01/Jan/1971:00:00:00 +0000] "GET / HTTP/1.1" 200 1"#,
            "1989/12/31 23:59:59 [error] 1#0: x",
            r#"{"ts":99999999999}"#,
        ] {
            assert_eq!(r.find(line.as_bytes()), None, "{line}");
        }
        assert_eq!(
            r.find(br#"1.2.3.4 - - [01/Dec/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 1"#),
            Some(at("2026-12-01T12:00:00Z"))
        );
    }

    #[test]
    fn json_epoch_times_in_every_unit() {
        let r = utc_reader();
        let want = Some(at("2026-11-01T12:00:00Z"));
        for line in [
            r#"{"level":"info","ts":1793534400.123,"msg":"handled request"}"#,
            r#"{"msec":"1793534400.123","remote_addr":"203.0.113.9"}"#,
            r#"{"timestamp":1793534400123}"#,
            r#"{"timestamp":1793534400123456}"#,
            r#"{"timestamp":"1793534400123456789"}"#,
            r#"{ "time" : "01/Nov/2026:12:00:00 +0000" }"#,
        ] {
            assert_eq!(r.find(line.as_bytes()), want, "{line}");
        }
        for line in [
            r#"{"ts":-5}"#,
            r#"{"ts":1.7e9}"#,
            r#"{"ts":"soon"}"#,
            r#"{"msg":"no time here"}"#,
            r#"{"ts":"#,
        ] {
            assert_eq!(r.find(line.as_bytes()), None, "{line}");
        }
    }

    fn berlin() -> StampReader {
        StampReader::new(TimeZone::get("Europe/Berlin").unwrap())
    }

    #[test]
    fn each_format_reads_its_stamp_and_only_its_own() {
        let lines: &[(LogFormat, &str, &str)] = &[
            (
                LogFormat::Clf,
                r#"203.0.113.9 - - [01/Nov/2026:12:00:00 +0100] "GET / HTTP/1.1" 200 1"#,
                "2026-11-01T11:00:00Z",
            ),
            (
                LogFormat::Json {
                    time_field: None,
                    client_field: None,
                },
                r#"{"level":"info","ts":1793534400.123,"msg":"handled request"}"#,
                "2026-11-01T12:00:00Z",
            ),
            (
                LogFormat::NginxError,
                "2026/11/01 12:00:00 [error] 7#7: *1 open() failed, client: 203.0.113.9",
                "2026-11-01T11:00:00Z",
            ),
            (
                LogFormat::ApacheError,
                "[Sun Nov 01 12:00:00.123456 2026] [core:error] [pid 7] [client 203.0.113.9:5]",
                "2026-11-01T11:00:00Z",
            ),
            (
                LogFormat::Haproxy,
                "203.0.113.195:50231 [01/Nov/2026:12:00:00.347] fe be/nginx 0/0/0/0/0 200 200 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"",
                "2026-11-01T11:00:00Z",
            ),
            (
                LogFormat::Syslog,
                "<134>1 2026-11-01T12:00:00.123456+01:00 web1 nginx - - - 203.0.113.9 - -",
                "2026-11-01T11:00:00Z",
            ),
        ];
        let r = berlin();
        for (format, line, want) in lines {
            let own = r.with_format(format);
            assert_eq!(
                own.find(line.as_bytes()),
                Some(at(want)),
                "{format:?} {line}"
            );
            for (other, line, _) in lines {
                if other != format {
                    assert_eq!(own.find(line.as_bytes()), None, "{format:?} read {line}");
                }
            }
        }
    }

    #[test]
    fn haproxy_reads_its_accept_date_behind_a_syslog_header_not_a_date_in_the_request() {
        let r = berlin().with_format(&LogFormat::Haproxy);
        let want = Some(at("2026-11-01T11:00:00Z"));
        for line in [
            "Nov  1 12:00:03 localhost haproxy[812]: 203.0.113.195:50231 [01/Nov/2026:12:00:00.347] fe be/nginx 0/0/0/0/0 200 200 - - ---- 1/1/0/0/0 0/0 \"GET /?t=[01/Jan/2020:00:00:00.000] HTTP/1.1\"",
            "2026-11-01T12:00:03.1+01:00 web1 haproxy[812]: [2001:db8::1]:4711 [01/Nov/2026:12:00:00.347] fe fe/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 \"<BADREQ>\"",
            "203.0.113.195:50231 [01/Nov/2026:12:00:00] fe be/nginx 0/0/0/0/0 200",
        ] {
            assert_eq!(r.find(line.as_bytes()), want, "{line}");
        }
        assert_eq!(r.find(b"203.0.113.195:50231 [01/Nov/2026:12:00] fe"), None);
        assert_eq!(
            r.find(b"Connect from 203.0.113.195:50231 to 10.0.0.1:80 (fe/HTTP)"),
            None
        );
    }

    #[test]
    fn syslog_reads_rfc5424_rfc3339_and_rfc3164_headers() {
        let r = berlin()
            .with_format(&LogFormat::Syslog)
            .for_file(Some(at("2026-11-02T00:00:00Z")));
        let want = Some(at("2026-11-01T11:00:00Z"));
        for line in [
            "<134>1 2026-11-01T11:00:00Z web1 nginx 7 - - 203.0.113.9 - - x",
            "2026-11-01T12:00:00.123456+01:00 web1 nginx: 203.0.113.9 - - x",
            "Nov  1 12:00:00 web1 nginx: 203.0.113.9 - - x",
            "Nov 01 12:00:00 web1 nginx: 203.0.113.9 - - x",
            "<190>Nov  1 12:00:00 web1 nginx: 203.0.113.9 - - x",
            // No time in the header: the message is read as `format: auto`.
            r#"<134>1 - web1 nginx - - [x@1 a="]\"]"] 203.0.113.9 - - [01/Nov/2026:12:00:00 +0100] "GET / HTTP/1.1" 200 1"#,
        ] {
            assert_eq!(r.find(line.as_bytes()), want, "{line}");
        }
        for line in [
            "Foo  1 12:00:00 web1 x: y",
            "Nov 31 12:00:00 web1 x: y",
            "1 - - - - - - -",
        ] {
            assert_eq!(r.find(line.as_bytes()), None, "{line}");
        }
    }

    #[test]
    fn an_rfc3164_stamp_gets_the_year_nearest_at_or_before_the_file_time_across_new_year() {
        let r = StampReader::new(TimeZone::UTC).with_format(&LogFormat::Syslog);
        let new_year = r.for_file(Some(at("2027-01-01T00:10:00Z")));
        assert_eq!(
            new_year.find(b"Dec 31 23:59:59 web1 nginx: x"),
            Some(at("2026-12-31T23:59:59Z"))
        );
        assert_eq!(
            new_year.find(b"Jan  1 00:05:00 web1 nginx: x"),
            Some(at("2027-01-01T00:05:00Z"))
        );
        // A file last written on New Year's Eve, a few seconds behind the clock that
        // stamped its last line.
        let eve = r.for_file(Some(at("2026-12-31T23:59:50Z")));
        assert_eq!(
            eve.find(b"Jan  1 00:00:05 web1 nginx: x"),
            Some(at("2027-01-01T00:00:05Z"))
        );
        assert_eq!(
            eve.find(b"Jun 10 10:00:00 web1 nginx: x"),
            Some(at("2026-06-10T10:00:00Z"))
        );
        // A live file is read against the pass's clock.
        let live = r.at(at("2027-03-01T00:00:00Z"));
        assert_eq!(
            live.find(b"Dec 24 18:00:00 web1 nginx: x"),
            Some(at("2026-12-24T18:00:00Z"))
        );
        // February 29 exists only in some years: the nearest earlier one that has it.
        let leap = r.for_file(Some(at("2027-03-01T00:00:00Z")));
        assert_eq!(leap.find(b"Feb 29 12:00:00 web1 x: y"), None);
        let leap = r.for_file(Some(at("2028-03-01T00:00:00Z")));
        assert_eq!(
            leap.find(b"Feb 29 12:00:00 web1 x: y"),
            Some(at("2028-02-29T12:00:00Z"))
        );
    }

    #[test]
    fn json_time_field_is_a_path_into_nested_objects() {
        let r = utc_reader();
        let at_path = |p: &str| {
            r.with_format(&LogFormat::Json {
                time_field: Some(p.into()),
                client_field: None,
            })
        };
        let line = br#"{"t":"2020-01-01T00:00:00Z","x":{"t":"2021-01-01T00:00:00Z"},"list":[{"t":1}],"request":{"ua":""t":"2022-01-01T00:00:00Z"","when":{"t":1793534400}},"s":"a.b"}"#;
        assert_eq!(at_path("t").find(line), Some(at("2020-01-01T00:00:00Z")));
        assert_eq!(at_path("x.t").find(line), Some(at("2021-01-01T00:00:00Z")));
        assert_eq!(
            at_path("request.when.t").find(line),
            Some(at("2026-11-01T12:00:00Z"))
        );
        for missing in [
            "request.t",
            "request.ua",
            "list.t",
            "when.t",
            "nothing",
            "x.t.u",
        ] {
            assert_eq!(at_path(missing).find(line), None, "{missing}");
        }
        assert_eq!(at_path("t").find(b"t=2020-01-01T00:00:00Z"), None);
    }

    #[test]
    fn never_panics_on_truncated_stamps() {
        let r = utc_reader();
        let full = b"[Tue Oct 10 13:55:36.123456 2000] 10/Oct/2000:13:55:36 -0700 2000/10/10 13:55:36 2000-10-10T13:55:36+01:00";
        let formats = LogFormat::candidates().map(|f| r.with_format(&f));
        let header = b"<134>1 - h a p m [s@1 k=\"v\"] Nov  1 12:00:00 h t: [01/Nov/2026:12:00:00.1] {\"a\":{\"t\":\"2026-11-01T12:00:00Z\"}}";
        for text in [&full[..], &header[..]] {
            for end in 0..text.len() {
                for start in 0..end {
                    let _ = r.find(&text[start..end]);
                    for f in &formats {
                        let _ = f.find(&text[start..end]);
                    }
                }
            }
        }
        let nested = r.with_format(&LogFormat::Json {
            time_field: Some("a.t".into()),
            client_field: None,
        });
        for end in 0..header.len() {
            let _ = nested.find(&header[..end]);
        }
    }
}
