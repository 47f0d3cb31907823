//! The syslog header of a received datagram: where the sender's tag is and where the line
//! it would have written to a file starts.
//!
//! A web server logging to logwarden's socket puts a header before each line: nginx always
//! RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MSG`, or `<PRI>Mmm dd hh:mm:ss TAG: MSG`
//! with `nohostname`), HAProxy RFC 3164 (its default, `[HOSTNAME ]TAG[PID]: `), RFC 5424
//! (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`) or `timed` (`<PRI>TIMESTAMP MSG`). The
//! header and the one blank after it are removed; the rest is the message, byte for byte.
//!
//! What it must never do: call something a header that does not have a header's exact shape
//! from the datagram's first byte (a line that is not syslog is written as it came, whole),
//! change a byte of the message (trailing blanks, a final newline, NUL, invalid UTF-8 and
//! RFC 5424's BOM all stay), read past the datagram, allocate or panic.
//!
//! Not stripped, on purpose: a `<PRI>` followed by no timestamp (HAProxy's `short` and
//! `priority` formats). Nothing tells such a header from a line that starts with `<6>`, and
//! a kept `<6>` is visible and harmless while a removed one is lost; an admin chooses
//! HAProxy's default format or `rfc5424` instead. HAProxy's `iso` and `raw` formats have no
//! `<PRI>`, so their datagrams are messages as they stand (`iso`'s stamp stays in the line).
//! An RFC 3164 header without a tag (HAProxy with an empty `log-tag`) cannot be told from a
//! hostname followed by the message, so it is not stripped either.

use crate::syslog;

/// A received datagram split into its syslog tag and its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The sender's tag (RFC 3164 TAG without `[pid]` and `:`; RFC 5424 APP-NAME; None when
    /// the datagram has no syslog header or the header has no tag, e.g. RFC 5424's `-`).
    pub tag: Option<&'a [u8]>,
    /// The message: what the server would have written to a file, without a header.
    pub message: &'a [u8],
}

/// Splits `datagram` into its tag and message; a datagram without a header of the exact
/// shape is all message.
#[must_use]
pub fn split(datagram: &[u8]) -> Frame<'_> {
    match header(datagram) {
        Some((tag, message)) => Frame {
            tag,
            message: &datagram[message..],
        },
        None => Frame {
            tag: None,
            message: datagram,
        },
    }
}

/// The tag and the offset of the message, when `d` starts with a header.
fn header(d: &[u8]) -> Option<(Option<&[u8]>, usize)> {
    let p = pri_end(d)?;
    let rest = &d[p..];
    if rest.starts_with(b"1 ") {
        return rfc5424(d, p + 2);
    }
    if syslog::rfc3164_shape(rest) && MONTHS.contains(&&rest[..3]) {
        return rfc3164(d, p + 16);
    }
    // HAProxy's `timed`: `<PRI>TIMESTAMP MSG`.
    let (stamp, message) = syslog::token(d, p)?;
    rfc3339(stamp).then_some((None, message))
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The offset past `<PRI>`: 1 to 3 digits, at most 191 (facility 23, severity 7).
fn pri_end(d: &[u8]) -> Option<usize> {
    if d.first() != Some(&b'<') {
        return None;
    }
    let digits = d[1..]
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if !(1..=3).contains(&digits) || d.get(1 + digits) != Some(&b'>') {
        return None;
    }
    let pri = d[1..=digits]
        .iter()
        .fold(0u16, |v, &b| v * 10 + u16::from(b - b'0'));
    (pri <= 191).then_some(digits + 2)
}

/// After the time of an RFC 3164 header: `TAG: MSG` or `HOSTNAME TAG: MSG`. The first token
/// is the tag when it ends with `:` (a hostname never does), else the hostname, and then the
/// next one must be the tag.
fn rfc3164(d: &[u8], p: usize) -> Option<(Option<&[u8]>, usize)> {
    let (first, after) = syslog::token(d, p)?;
    if !printable(first) {
        return None;
    }
    if first.ends_with(b":") {
        return Some((Some(tag_name(first)?), after));
    }
    let (second, after) = syslog::token(d, after)?;
    (printable(second) && second.ends_with(b":")).then_some(())?;
    Some((Some(tag_name(second)?), after))
}

/// `nginx:` → `nginx`, `haproxy[812]:` → `haproxy`; an empty name is no tag.
fn tag_name(token: &[u8]) -> Option<&[u8]> {
    let name = token.strip_suffix(b":")?;
    let without_pid = name.strip_suffix(b"]").and_then(|n| {
        let open = memchr::memrchr(b'[', n)?;
        let pid = &n[open + 1..];
        (!pid.is_empty() && pid.iter().all(u8::is_ascii_digit)).then_some(&n[..open])
    });
    let name = without_pid.unwrap_or(name);
    (!name.is_empty()).then_some(name)
}

/// RFC 5424 after `1 `: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA, then the
/// end of the datagram (no MSG) or one blank and MSG.
fn rfc5424(d: &[u8], p: usize) -> Option<(Option<&[u8]>, usize)> {
    let (stamp, p) = syslog::token(d, p)?;
    if stamp != b"-" && !rfc3339(stamp) {
        return None;
    }
    let (_host, p) = field(d, p)?;
    let (app, p) = field(d, p)?;
    let (_procid, p) = field(d, p)?;
    let (_msgid, p) = field(d, p)?;
    let end = syslog::structured_data_end(d, p)?;
    let message = match d.get(end) {
        None => end,
        Some(b' ') => end + 1,
        Some(_) => return None,
    };
    Some(((app != b"-").then_some(app), message))
}

/// An RFC 5424 header field: printable ASCII up to a blank (`-` when absent).
fn field(d: &[u8], p: usize) -> Option<(&[u8], usize)> {
    syslog::token(d, p).filter(|(f, _)| printable(f))
}

/// RFC 5424's PRINTUSASCII: what a hostname, a tag or an ID is made of.
fn printable(s: &[u8]) -> bool {
    s.iter().all(|b| (33..=126).contains(b))
}

/// `YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)`, the fraction 1 to 6 digits (RFC 5424's
/// TIMESTAMP; HAProxy sends microseconds).
fn rfc3339(s: &[u8]) -> bool {
    fn digits(s: &[u8], at: &[usize]) -> bool {
        at.iter().all(|&i| s.get(i).is_some_and(u8::is_ascii_digit))
    }
    if !(digits(s, &[0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
        && s[4] == b'-'
        && s[7] == b'-'
        && s[10] == b'T'
        && s[13] == b':'
        && s[16] == b':')
    {
        return false;
    }
    let mut zone = &s[19..];
    if let Some(frac) = zone.strip_prefix(b".") {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=6).contains(&n) {
            return false;
        }
        zone = &frac[n..];
    }
    zone == b"Z"
        || (zone.len() == 6
            && (zone[0] == b'+' || zone[0] == b'-')
            && digits(zone, &[1, 2, 4, 5])
            && zone[3] == b':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parts(datagram: &[u8]) -> (Option<&str>, &[u8]) {
        let f = split(datagram);
        (f.tag.map(|t| std::str::from_utf8(t).unwrap()), f.message)
    }

    fn whole(datagram: &[u8]) -> bool {
        split(datagram)
            == Frame {
                tag: None,
                message: datagram,
            }
    }

    const LINE: &str =
        r#"203.0.113.9 - - [01/Dec/2026:10:16:50 +0000] "GET / HTTP/1.1" 200 3 "-" "-""#;

    #[test]
    fn nginx_headers_with_and_without_hostname_and_tag() {
        for (datagram, tag) in [
            (format!("<190>Dec  1 10:16:50 web-1 nginx: {LINE}"), "nginx"),
            (format!("<190>Dec  1 10:16:50 nginx: {LINE}"), "nginx"),
            (
                format!("<158>Nov 30 23:59:59 web-1 main_site: {LINE}"),
                "main_site",
            ),
            (
                format!("<187>Jan 01 00:00:00 main_error: {LINE}"),
                "main_error",
            ),
            (format!("<0>May  9 01:02:03 x: {LINE}"), "x"),
        ] {
            assert_eq!(
                parts(datagram.as_bytes()),
                (Some(tag), LINE.as_bytes()),
                "{datagram}"
            );
        }
    }

    #[test]
    fn haproxy_rfc3164_tags_lose_their_pid() {
        for (datagram, tag) in [
            (
                format!("<134>Dec  1 16:00:15 haproxy[3826]: {LINE}\n"),
                "haproxy",
            ),
            (
                format!("<134>Dec  1 16:00:23 web-1.example edge_lb[4120]: {LINE}\n"),
                "edge_lb",
            ),
            // Only `[digits]` is a pid; anything else in brackets is the tag's own.
            (format!("<134>Dec  1 16:00:15 lb[a1]: {LINE}\n"), "lb[a1]"),
            (format!("<134>Dec  1 16:00:15 lb[]: {LINE}\n"), "lb[]"),
            (format!("<134>Dec  1 16:00:15 a[1][2]: {LINE}\n"), "a[1]"),
        ] {
            assert_eq!(
                parts(datagram.as_bytes()),
                (Some(tag), format!("{LINE}\n").as_bytes()),
                "{datagram}"
            );
        }
    }

    #[test]
    fn rfc5424_headers_with_and_without_structured_data() {
        let msg = LINE.as_bytes();
        for (datagram, tag) in [
            (
                format!("<134>1 2026-12-01T16:00:15.121143+00:00 - haproxy 3826 - - {LINE}"),
                Some("haproxy"),
            ),
            (
                format!(
                    r#"<134>1 2026-12-01T16:00:23.423752+00:00 web-1.example edge_lb 4120 - [req@32473 path="/x\]\"y\\" xff="[2001:db8::1\]:443"][meta@32473 v="a]b"] {LINE}"#
                ),
                Some("edge_lb"),
            ),
            (format!("<13>1 - - - - - - {LINE}"), None),
            (
                format!("<13>1 2026-12-01T16:00:23Z h app - ID47 [a] {LINE}"),
                Some("app"),
            ),
            (
                format!("<13>1 2026-12-01T16:00:23.1-05:30 h app 1 m - {LINE}"),
                Some("app"),
            ),
        ] {
            assert_eq!(parts(datagram.as_bytes()), (tag, msg), "{datagram}");
        }
        // No MSG at all is allowed (RFC 5424: `[SP MSG]`).
        assert_eq!(
            parts(b"<13>1 - h app - - [a b=\"c\"]"),
            (Some("app"), &b""[..])
        );
        assert_eq!(parts(b"<13>1 - h app - - -"), (Some("app"), &b""[..]));
    }

    #[test]
    fn the_bom_and_every_byte_after_the_one_blank_stay() {
        let bom = b"\xEF\xBB\xBFmsg";
        assert_eq!(parts(&[&b"<13>1 - h app - - - "[..], bom].concat()).1, bom);
        for msg in [
            &b" leading blank"[..],
            b"trailing blanks  ",
            b"line\n",
            b"\n",
            b"",
            b"nul\0inside\0",
            b"invalid \xff\xfe utf-8 \xc3",
            b"crlf\r\n",
            b"two\nlines\n",
        ] {
            for header in [
                &b"<190>Dec  1 10:16:50 web nginx: "[..],
                b"<190>Dec  1 10:16:50 nginx: ",
                b"<134>Dec  1 10:16:50 haproxy[1]: ",
                b"<134>1 2026-12-01T16:00:15.121143+00:00 - haproxy 1 - - ",
                b"<6>2026-12-01T16:00:15.121204+00:00 ",
            ] {
                let datagram = [header, msg].concat();
                assert_eq!(split(&datagram).message, msg, "{datagram:?}");
            }
        }
    }

    #[test]
    fn a_64_kib_message_passes_whole() {
        let msg: Vec<u8> = (0..65_536u32)
            .map(|i| b"ab \0\xff\n"[i as usize % 6])
            .collect();
        let datagram = [&b"<190>Dec  1 10:16:50 web nginx: "[..], &msg].concat();
        assert_eq!(parts(&datagram), (Some("nginx"), &msg[..]));
        let datagram = [&b"<134>1 - h haproxy 7 - [a x=\"]\"] "[..], &msg].concat();
        assert_eq!(parts(&datagram), (Some("haproxy"), &msg[..]));
        assert!(whole(&msg));
    }

    #[test]
    fn haproxy_timed_loses_its_stamp_and_has_no_tag() {
        assert_eq!(
            parts(format!("<6>2026-12-01T16:00:15.121204+00:00 {LINE}\n").as_bytes()),
            (None, format!("{LINE}\n").as_bytes())
        );
        assert_eq!(
            parts(format!("<6>2026-12-01T16:00:15Z {LINE}").as_bytes()),
            (None, LINE.as_bytes())
        );
    }

    /// HAProxy's `short` and `priority` (`<PRI>MSG`), `iso` (`TIMESTAMP MSG`) and `raw`:
    /// nothing tells their header from a line's own text, so the line stays as it came.
    #[test]
    fn pri_only_iso_and_raw_datagrams_are_written_whole() {
        for datagram in [
            format!("<6>{LINE}\n"),
            format!("<134>{LINE}\n"),
            format!("2026-12-01T16:00:15.121204+00:00 {LINE}\n"),
            format!("{LINE}\n"),
            "<190>".into(),
            "<6>".into(),
            "<12> Dec  1 10:16:50 nginx: x".into(),
        ] {
            assert!(whole(datagram.as_bytes()), "{datagram}");
        }
    }

    #[test]
    fn lines_that_only_look_like_syslog_are_written_whole() {
        for datagram in [
            // <PRI> itself
            &b"<192>Dec  1 10:16:50 nginx: x"[..],
            b"<999>Dec  1 10:16:50 nginx: x",
            b"<1234>Dec  1 10:16:50 nginx: x",
            b"<>Dec  1 10:16:50 nginx: x",
            b"<1x>Dec  1 10:16:50 nginx: x",
            b"<-1>Dec  1 10:16:50 nginx: x",
            b"Dec  1 10:16:50 nginx: x",
            b" <13>Dec  1 10:16:50 nginx: x",
            // RFC 3164
            b"<13>Foo  1 10:16:50 nginx: x",
            b"<13>dec  1 10:16:50 nginx: x",
            b"<13>Dec  1 10:16:50  nginx: x",
            b"<13>Dec  1 10:16:5 nginx: x",
            b"<13>Dec  1 10-16-50 nginx: x",
            b"<13>Dec  1 10:16:50 host no tag here",
            b"<13>Dec  1 10:16:50 host tag:",
            b"<13>Dec  1 10:16:50 nginx:",
            b"<13>Dec  1 10:16:50 nginx:x",
            b"<13>Dec  1 10:16:50 : x",
            b"<13>Dec  1 10:16:50 [12]: x",
            b"<13>Dec  1 10:16:50 host : x",
            b"<13>Dec  1 10:16:50 ho\x01st tag: x",
            b"<13>Dec  1 10:16:50 host t\xc3\xa4g: x",
            b"<13>Dec  1 10:16:50 ",
            // RFC 5424
            b"<13>1 2026-12-01t16:00:15Z h a - - - x",
            b"<13>1 2026-12-01T16:00:15z h a - - - x",
            b"<13>1 2026-12-01T16:00:15.1234567Z h a - - - x",
            b"<13>1 2026-12-01T16:00:15. h a - - - x",
            b"<13>1 2026-12-01T16:00:15+0100 h a - - - x",
            b"<13>1 2026-12-01 16:00:15Z h a - - - x",
            b"<13>1 Dec  1 10:16:50 h a - - - x",
            b"<13>1 - h a - - x",
            b"<13>1 - h a - -",
            b"<13>1 - h a - - [unterminated x=\"]\"",
            b"<13>1 - h a - - [a]x",
            b"<13>1 - h a - - -x",
            b"<13>1 - h\x7f a - - - x",
            b"<13>1  - h a - - - x",
            b"<13>2 - h a - - - x",
            b"<13>1",
            // timed
            b"<6>2026-12-01T16:00:15Z",
            b"<6>2026-12-01T16:00:15",
            b"<6>2026-12-01T16:00:15 x",
        ] {
            assert!(whole(datagram), "{}", String::from_utf8_lossy(datagram));
        }
    }

    /// A header cut anywhere before its separator blank is no header; cut right after it,
    /// the message is empty.
    #[test]
    fn truncated_headers_are_written_whole() {
        for full in [
            &b"<190>Dec  1 10:16:50 web-1 nginx: m"[..],
            b"<190>Dec  1 10:16:50 nginx: m",
            b"<134>Dec  1 10:16:50 web haproxy[12]: m",
            b"<6>2026-12-01T16:00:15.121204+00:00 m",
        ] {
            let header = full.len() - 1;
            for end in 0..header {
                assert!(
                    whole(&full[..end]),
                    "{}",
                    String::from_utf8_lossy(&full[..end])
                );
            }
            assert_eq!(split(&full[..header]).message, b"");
            assert_eq!(split(full).message, b"m");
        }
        // RFC 5424 may end with its STRUCTURED-DATA (no MSG): a cut inside an element is no
        // header, a cut after one is a header without a message.
        let full = b"<134>1 2026-12-01T16:00:15.121143+00:00 web haproxy 12 - [a b=\"\\]\"][c] m";
        let sd_end = full.len() - 2;
        for end in 0..sd_end {
            let cut = &full[..end];
            let after_element = end == 67 && split(cut).message.is_empty();
            assert!(
                whole(cut) || after_element,
                "{}",
                String::from_utf8_lossy(cut)
            );
        }
        assert_eq!(split(&full[..sd_end]).message, b"");
        assert_eq!(split(&full[..=sd_end]).message, b"");
        assert_eq!(split(full).message, b"m");
    }

    #[test]
    fn never_reads_past_the_datagram() {
        let full = b"<134>1 2026-12-01T16:00:15.1+01:00 vm haproxy 1 - [x@1 a=\"]\\\"]\"] <13>Dec  1 10:16:50 h t[1]: <6>2026-12-01T16:00:15Z m";
        for start in 0..full.len() {
            for end in start..=full.len() {
                let d = &full[start..end];
                let f = split(d);
                assert!(is_suffix(d, f.message));
            }
        }
    }

    fn is_suffix(d: &[u8], message: &[u8]) -> bool {
        message.len() <= d.len() && std::ptr::eq(&d[d.len() - message.len()..], message)
    }

    /// `<len>\n<bytes>\n`, as tests/fixtures/regenerate.sh stores each datagram.
    fn datagrams(mut capture: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        while !capture.is_empty() {
            let nl = capture.iter().position(|&b| b == b'\n').unwrap();
            let len: usize = std::str::from_utf8(&capture[..nl])
                .unwrap()
                .parse()
                .unwrap();
            out.push(&capture[nl + 1..nl + 1 + len]);
            assert_eq!(capture[nl + 1 + len], b'\n');
            capture = &capture[nl + 2 + len..];
        }
        out
    }

    macro_rules! real {
        ($name:literal) => {
            include_bytes!(concat!(
                "../../tests/fixtures/real/syslog-datagrams/",
                $name
            ))
            .as_slice()
        };
    }

    /// The real nginx 1.22 and HAProxy 2.6 (tests/fixtures/regenerate.sh): each datagram's
    /// message is the line the same server wrote to its file for the same request, in
    /// order. nginx sends the line without its newline, HAProxy with it.
    #[test]
    fn real_datagrams_become_the_servers_file_lines() {
        let nginx_access = real!("nginx-access.log");
        let nginx_error = real!("nginx-error.log");
        let haproxy = real!("haproxy-default.log");
        let haproxy_hostname = real!("haproxy-hostname.log");
        for (name, capture, file, tag, newline_sent, header_words) in [
            (
                "nginx",
                real!("nginx.dgrams"),
                nginx_access,
                "nginx",
                false,
                5,
            ),
            (
                "nginx-nohostname",
                real!("nginx-nohostname.dgrams"),
                nginx_access,
                "nginx",
                false,
                4,
            ),
            (
                "nginx-tag",
                real!("nginx-tag.dgrams"),
                nginx_access,
                "main_site",
                false,
                5,
            ),
            (
                "nginx-error",
                real!("nginx-error.dgrams"),
                nginx_error,
                "main_error",
                false,
                4,
            ),
            (
                "haproxy-3164",
                real!("haproxy-default-rfc3164.dgrams"),
                haproxy,
                "haproxy",
                true,
                4,
            ),
            (
                "haproxy-5424",
                real!("haproxy-default-rfc5424.dgrams"),
                haproxy,
                "haproxy",
                true,
                7,
            ),
            (
                "hostname-3164",
                real!("haproxy-hostname-rfc3164.dgrams"),
                haproxy_hostname,
                "edge_lb",
                true,
                5,
            ),
            (
                "hostname-5424",
                real!("haproxy-hostname-rfc5424.dgrams"),
                haproxy_hostname,
                "edge_lb",
                true,
                0,
            ),
        ] {
            let lines: Vec<&[u8]> = file.split_inclusive(|&b| b == b'\n').collect();
            let datagrams = datagrams(capture);
            assert_eq!(datagrams.len(), lines.len(), "{name}: one datagram a line");
            assert!(lines.len() >= 20, "{name}: {} lines", lines.len());
            for (datagram, line) in datagrams.iter().zip(&lines) {
                let f = split(datagram);
                assert_eq!(f.tag, Some(tag.as_bytes()), "{name}");
                let written = [f.message, if newline_sent { b"" } else { b"\n" }].concat();
                assert_eq!(
                    String::from_utf8_lossy(&written),
                    String::from_utf8_lossy(line),
                    "{name}"
                );
                assert_eq!(&written, line, "{name}");
                // The capture holds the header form its name says.
                let header = &datagram[..datagram.len() - f.message.len()];
                if header_words > 0 {
                    let words = header.split(|&b| b == b' ').filter(|w| !w.is_empty());
                    assert_eq!(words.count(), header_words, "{name}: {header:?}");
                } else {
                    assert!(header.starts_with(b"<134>1 "), "{name}: {header:?}");
                }
            }
            if header_words == 0 {
                assert!(capture.windows(2).any(|w| w == b"\\]"), "{name}: no `\\]`");
            }
        }
    }

    fn nginx_header(pri: u8, month: usize, day: u8, host: Option<&str>, tag: &str) -> Vec<u8> {
        let host = host.map(|h| format!("{h} ")).unwrap_or_default();
        let month = std::str::from_utf8(MONTHS[month]).unwrap();
        format!("<{pri}>{month} {day:>2} 23:59:07 {host}{tag}: ").into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// nginx's header (ngx_syslog_add_header: any PRI, `%2d` day, hostname or not, a
        /// `tag=` of 1 to 32 of `[A-Za-z0-9_]`) before any bytes: the bytes come back.
        #[test]
        fn prop_nginx_header_comes_off_any_message(
            m in prop::collection::vec(any::<u8>(), 0..300),
            tag in "[A-Za-z0-9_]{1,32}",
            host in prop::option::of("[a-z0-9][a-z0-9.-]{0,30}"),
            pri in 0u8..=191,
            month in 0usize..12,
            day in 1u8..=31,
        ) {
            let datagram = [nginx_header(pri, month, day, host.as_deref(), &tag), m.clone()].concat();
            let f = split(&datagram);
            prop_assert_eq!(f.message, &m[..]);
            prop_assert_eq!(f.tag, Some(tag.as_bytes()));
        }

        /// HAProxy's RFC 3164 and RFC 5424 headers with any printable tag.
        #[test]
        fn prop_haproxy_headers_come_off_any_message(
            m in prop::collection::vec(any::<u8>(), 0..300),
            tag in "[!-Z^-~]{1,40}",
            host in prop::option::of("[a-z0-9][a-z0-9.-]{0,30}"),
            pid in 1u32..4_000_000,
        ) {
            prop_assume!(tag != "-"); // RFC 5424's APP-NAME `-` is no tag
            let host3164 = host.as_ref().map(|h| format!("{h} ")).unwrap_or_default();
            let host5424 = host.as_deref().unwrap_or("-");
            for header in [
                format!("<134>Dec  1 16:00:15 {host3164}{tag}[{pid}]: "),
                format!("<134>1 2026-12-01T16:00:15.121143+00:00 {host5424} {tag} {pid} - - "),
                format!("<134>1 - {host5424} {tag} - - [a@1 p=\"\\]{tag}\\\"\"] "),
            ] {
                let datagram = [header.as_bytes(), &m].concat();
                let f = split(&datagram);
                prop_assert_eq!(f.message, &m[..]);
                prop_assert_eq!(f.tag, Some(tag.as_bytes()));
            }
        }

        /// Any bytes: no panic, the message is the input's own tail, the tag lies before it.
        #[test]
        fn prop_any_bytes_split_into_a_suffix(
            d in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..200),
                ("<[0-9]{1,3}>(1 |[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} )[ -~]{0,80}")
                    .prop_map(String::into_bytes),
            ]
        ) {
            let f = split(&d);
            prop_assert!(is_suffix(&d, f.message));
            let header = d.len() - f.message.len();
            prop_assert!(header == 0 || d[0] == b'<');
            if let Some(tag) = f.tag {
                let at = tag.as_ptr() as usize - d.as_ptr() as usize;
                prop_assert!(at + tag.len() < header);
            }
        }
    }
}
