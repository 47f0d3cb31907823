//! Calendar arithmetic and the stamp shapes every format is built from (CLF, ISO 8601,
//! epoch numbers), checked: no input can make it panic or overflow, and a date that does not
//! exist (February 30, hour 24) is no stamp. Plain arithmetic rather than a time library,
//! because this runs once per log line.

use std::cell::Cell;

use jiff::Timestamp;

pub(super) const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Epoch time as a number or numeric string: seconds, milliseconds, microseconds or
/// nanoseconds, told apart by magnitude (seconds up to 10^11, i.e. the year 5138; ms up to
/// 10^14; µs up to 10^17; ns beyond). A fraction is allowed (`1793534400.123`); an exponent
/// or a sign is not.
pub(super) fn epoch(text: &[u8]) -> Option<Timestamp> {
    let (int, frac) = match memchr::memchr(b'.', text) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &b""[..]),
    };
    if int.is_empty() || int.len() > 19 || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(int).ok()?.parse().ok()?;
    let secs = match n {
        0..100_000_000_000 => n,
        100_000_000_000..100_000_000_000_000 => n / 1_000,
        100_000_000_000_000..100_000_000_000_000_000 => n / 1_000_000,
        _ => n / 1_000_000_000,
    };
    Timestamp::from_second(i64::try_from(secs).ok()?).ok()
}

/// `10/Oct/2000:13:55:36 -0700`
pub(super) fn clf(s: &[u8]) -> Option<Timestamp> {
    // Consecutive records of a busy log share their second: the last stamp read on this
    // thread is remembered, which saves most of the parsing an audit does.
    // The key is the stamp's 26 bytes as two integers (read straight from the line: copying
    // them through a byte array stalled on store forwarding, a third of this function).
    type Remembered = Option<((u128, u128), Option<Timestamp>)>;
    thread_local! {
        static LAST: Cell<Remembered> = const { Cell::new(None) };
    }
    let s = s.get(..26)?;
    let word = |r: std::ops::Range<usize>| -> u128 {
        let mut b = [0u8; 16];
        b[..r.len()].copy_from_slice(&s[r]);
        u128::from_le_bytes(b)
    };
    let key = (word(0..16), word(16..26));
    LAST.with(|last| {
        if let Some((k, t)) = last.get() {
            if k == key {
                return t;
            }
        }
        let t = clf_uncached(s);
        last.set(Some((key, t)));
        t
    })
}

fn clf_uncached(s: &[u8]) -> Option<Timestamp> {
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
pub(super) fn iso8601(s: &[u8]) -> Option<Timestamp> {
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

pub(super) fn month(s: &[u8]) -> Option<i64> {
    MONTHS
        .iter()
        .position(|m| m.as_slice() == s)
        .map(|i| i as i64 + 1)
}

pub(super) fn num(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        s.iter()
            .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0')),
    )
}

pub(super) fn valid_civil(year: i64, month: i64, day: i64, h: i64, m: i64, s: i64) -> bool {
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
pub(super) fn utc(
    year: i64,
    month: i64,
    day: i64,
    h: i64,
    m: i64,
    s: i64,
    offset: i64,
) -> Option<Timestamp> {
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
