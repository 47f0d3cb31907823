//! The header a syslog daemon puts before each message in a file: where its time is and
//! where the message (the line the server wrote) starts.
//!
//! Two readers need it: the record time (`format: syslog`, and HAProxy behind rsyslog) and
//! the masker under `scope: client`, whose client field is the message's first field, not
//! the line's. Keeping the grammar here gives both the same idea of where the header ends.
//! It recognises RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`), RFC 3164
//! (`<PRI>Mmm dd hh:mm:ss HOST TAG: MSG`, `<PRI>` optional, as rsyslog's traditional file
//! format writes it) and rsyslog's RFC 3339 file format (`TIMESTAMP HOST TAG: MSG`). It must
//! never read past the line it is given, and never call something a header that does not
//! have a header's shape from its first byte: a line it does not recognise has none.

/// The time field of a header, as text (not parsed here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderTime<'a> {
    /// RFC 5424 or RFC 3339 text: `2026-11-01T12:00:00.123456+01:00`.
    Rfc3339(&'a [u8]),
    /// RFC 3164: `Nov  1 12:00:00` (15 bytes, no year, local time).
    Rfc3164(&'a [u8]),
    /// RFC 5424's `-`: the sender gave no time.
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub time: HeaderTime<'a>,
    /// Offset of the message in the line (past the blanks that follow the header).
    pub message: usize,
}

/// The syslog header at the start of `line`, if it has one.
#[must_use]
pub fn parse(line: &[u8]) -> Option<Header<'_>> {
    let mut p = 0;
    if line.first() == Some(&b'<') {
        let close = line.iter().take(5).position(|&b| b == b'>')?;
        if close < 2 || !line[1..close].iter().all(u8::is_ascii_digit) {
            return None;
        }
        p = close + 1;
    }
    let rest = &line[p..];
    if rest.starts_with(b"1 ") {
        return rfc5424(line, p + 2);
    }
    if rest.len() >= 5 && rest[..4].iter().all(u8::is_ascii_digit) && rest[4] == b'-' {
        let (stamp, after) = token(line, p)?;
        if !(stamp.len() >= 20 && stamp[10] == b'T') {
            return None;
        }
        let message = host_and_tag(line, after)?;
        return Some(Header {
            time: HeaderTime::Rfc3339(stamp),
            message,
        });
    }
    if rfc3164_shape(rest) {
        let message = host_and_tag(line, p + 16)?;
        return Some(Header {
            time: HeaderTime::Rfc3164(&rest[..15]),
            message,
        });
    }
    None
}

/// `Mmm dd hh:mm:ss ` (the day padded with a blank or a zero).
pub(crate) fn rfc3164_shape(s: &[u8]) -> bool {
    s.len() >= 16
        && s[..3].iter().all(u8::is_ascii_alphabetic)
        && s[3] == b' '
        && (s[4] == b' ' || s[4].is_ascii_digit())
        && s[5].is_ascii_digit()
        && s[6] == b' '
        && s[9] == b':'
        && s[12] == b':'
        && [7, 8, 10, 11, 13, 14]
            .iter()
            .all(|&i| s[i].is_ascii_digit())
        && s[15] == b' '
}

/// The blank-delimited token at `p` and the offset past the blank after it.
pub(crate) fn token(line: &[u8], p: usize) -> Option<(&[u8], usize)> {
    let rest = line.get(p..)?;
    let end = memchr::memchr(b' ', rest)?;
    (end > 0).then(|| (&rest[..end], p + end + 1))
}

fn skip_blanks(line: &[u8], mut p: usize) -> usize {
    while line.get(p) == Some(&b' ') {
        p += 1;
    }
    p
}

/// After the time of an RFC 3164 or RFC 3339 header: `HOST TAG: MSG`. A tag ends with `:`
/// (`haproxy[812]:`, `nginx:`); without one, the message starts after the host.
fn host_and_tag(line: &[u8], p: usize) -> Option<usize> {
    let (_, after_host) = token(line, p)?;
    match token(line, after_host) {
        Some((tag, after_tag)) if tag.ends_with(b":") => Some(skip_blanks(line, after_tag)),
        _ => Some(after_host),
    }
}

/// The offset past RFC 5424's STRUCTURED-DATA at `p`: `-`, or SD-ELEMENTs (`[id k="v"]`,
/// one after another with nothing between them). None when `p` holds neither or an element
/// is not closed before the end of `line`.
pub(crate) fn structured_data_end(line: &[u8], mut p: usize) -> Option<usize> {
    match line.get(p)? {
        b'-' => p += 1,
        b'[' => {
            // `]` ends an element unless it is inside a quoted value (where `\]` and `\"`
            // are escapes).
            while line.get(p) == Some(&b'[') {
                let mut quoted = false;
                p += 1;
                loop {
                    match *line.get(p)? {
                        b'\\' if quoted => p += 1,
                        b'"' => quoted = !quoted,
                        b']' if !quoted => break,
                        _ => {}
                    }
                    p += 1;
                }
                p += 1;
            }
        }
        _ => return None,
    }
    Some(p)
}

/// RFC 5424 after `1 `: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG.
fn rfc5424(line: &[u8], p: usize) -> Option<Header<'_>> {
    let (stamp, mut p) = token(line, p)?;
    for _ in 0..4 {
        p = token(line, p)?.1;
    }
    let p = structured_data_end(line, p)?;
    let mut message = skip_blanks(line, p);
    if line[message..].starts_with("\u{feff}".as_bytes()) {
        message += 3;
    }
    let time = if stamp == b"-" {
        HeaderTime::Missing
    } else {
        HeaderTime::Rfc3339(stamp)
    };
    Some(Header { time, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(line: &str) -> Option<&str> {
        parse(line.as_bytes()).map(|h| &line[h.message..])
    }

    #[test]
    fn finds_the_message_after_each_header_form() {
        let msg = "203.0.113.195:36755 [01/Dec/2026:10:16:50.677] fe be/nginx 200";
        for line in [
            format!("Dec  1 10:16:50 vm haproxy[14978]: {msg}"),
            format!("<134>Dec 01 10:16:50 vm haproxy: {msg}"),
            format!("2026-12-01T10:16:50.678604+00:00 vm haproxy[14978]: {msg}"),
            format!("<134>1 2026-12-01T10:16:50.678604+00:00 vm haproxy 14978 - -  {msg}"),
            format!("<134>1 - vm haproxy - - [x@1 a=\"]\\\"]\"][y@2 b=\"c\"] {msg}"),
            format!("<134>1 2026-12-01T10:16:50Z vm nginx - - - \u{feff}{msg}"),
            format!("Dec  1 10:16:50 vm {msg}"),
        ] {
            assert_eq!(message(&line), Some(msg), "{line}");
        }
        let h = parse(b"<134>1 2026-12-01T10:16:50Z vm nginx - - - x").unwrap();
        assert_eq!(h.time, HeaderTime::Rfc3339(b"2026-12-01T10:16:50Z"));
        let h = parse(b"Dec  1 10:16:50 vm nginx: x").unwrap();
        assert_eq!(h.time, HeaderTime::Rfc3164(b"Dec  1 10:16:50"));
        assert_eq!(
            parse(b"<13>1 - h a p m - x").unwrap().time,
            HeaderTime::Missing
        );
    }

    #[test]
    fn lines_without_a_header_have_none() {
        for line in [
            "203.0.113.9 - - [01/Dec/2026:10:16:50 +0000] \"GET / HTTP/1.1\" 200 1",
            "2026/12/01 10:16:50 [error] 7#7: *1 open() failed, client: 203.0.113.9",
            "[Tue Dec 01 10:16:50.123456 2026] [core:error] [client 203.0.113.9:5]",
            "{\"time\":\"2026-12-01T10:16:50Z\"}",
            "2001:db8::1 - - [01/Dec/2026:10:16:50 +0000] \"GET /\"",
            "<134>",
            "<>1 x",
            "<1x>Dec  1 10:16:50 vm t: x",
            "Dec  1 10:16:50",
            "1 2026-12-01T10:16:50Z vm",
            "<134>1 2026-12-01T10:16:50Z vm a p m [unterminated",
            "",
        ] {
            assert_eq!(parse(line.as_bytes()), None, "{line}");
        }
    }

    #[test]
    fn never_reads_past_the_line() {
        let full = "<134>1 - vm haproxy 1 - [x@1 a=\"]\\\"]\"] Dec  1 10:16:50 h t: 2026-12-01T10:16:50Z h t: m";
        for end in 0..full.len() {
            for start in 0..end {
                if let Some(h) = parse(&full.as_bytes()[start..end]) {
                    assert!(h.message <= end - start);
                }
            }
        }
    }
}
