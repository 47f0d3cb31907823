//! Streaming IP-address truncation: the one place where logwarden turns client addresses in
//! log text into network prefixes (`203.0.113.195` → `203.0.113.0`, `2001:db8:1234::1` →
//! `2001:db8:1200::`), both for the `anonymize` filter that sits in a live log pipe and for
//! the rewriter of archived files.
//!
//! It must never alter anything but the text of a valid address (bytes, line endings, invalid
//! UTF-8, line count and over-long lines pass through exactly), never panic, never stop part
//! way through its input, and never need memory proportional to a line: a 1 GB line without a
//! newline streams through in bounded memory. Masking is idempotent, so re-running it over an
//! already processed archive is harmless and verifiable.
//!
//! What counts as an address is decided per *run*: a maximal sequence of hex digits, `.` and
//! `:` that is not glued to a letter, digit or `_` on either side. The run (or, with the
//! exceptions below, a part of it) must parse exactly as `std::net` parses an address.
//! Exceptions that keep the surrounding text intact: a `:port` after an IPv4 address, one
//! trailing `.` or `:` (sentence punctuation, `from 1.2.3.4: refused`), a repeated one
//! (`Trying 1.2.3.4:443...`, `1.2.3.4::`), one leading `:`, a `label:` glued on the left
//! (`ip:1.2.3.4`) or read into the run (`ec2:1.2.3.4`, when the rest is an address on its
//! own), the port that ends an Apache `[client 2001:db8::1:51234]`, and a 5-digit port after
//! IPv6 (`2001:db8::1:51234`, HAProxy). An escape before a run (`\x22`, `\t`, `\u0022`,
//! HAProxy's `#22`) bounds it like the byte it stands for. Runs longer than [`MAX_RUN`] bytes
//! are never addresses; that bound is what lets the stream hold back only a short tail.
//!
//! Runs are read one percent-decoding deep, because query strings and URLs inside them are
//! encoded (`?ip=2001%3Adb8%3A%3A1`, `?next=%2Fb%3Fip%3D203.0.113.5`): a `%XY` counts as the
//! byte it stands for, both inside a run (`%3A` is a `:`) and beside one (`%3D` is the `=`
//! that bounds it, `%41` an `A` that glues to it). A replaced address keeps its encoding
//! (`2001%3Adb8%3A1200%3A%3A`). Runs with no `%` at their edges, nearly all of them, take the
//! byte-wise path.
//!
//! Output text of a changed address is canonical: dotted decimal for IPv4, RFC 5952 (std's
//! `Display`) for IPv6, IPv4-mapped IPv6 as `::ffff:a.b.c.d` masked with the IPv4 prefix.
//! A valid IPv6 address whose text is not canonical (upper case, uncompressed zeros) is
//! rewritten to canonical text even if no bit changed; that rewrite counts as "masked", because
//! the count is the number of addresses whose text changed. Other dotted IPv6 forms
//! (IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) are plain IPv6 addresses: with any
//! IPv6 prefix up to /96 their embedded IPv4 part is removed entirely.

mod decode;
mod forms;
mod markers;
mod parallel;
mod parse;
mod scan;
mod seps;
mod writer;

pub use parallel::mask_bulk;
pub use writer::{MaskingWriter, mask_stream};

use memchr::{memchr, memchr3};

use markers::CLIENT_MARKERS;
use scan::scan;

/// Which part of a line is searched for addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every valid address anywhere in the line.
    All,
    /// Only the record's client address: the first field (the bytes before the line's first
    /// space or tab; none in a JSON record), and the run right after a marker of
    /// `CLIENT_MARKERS` (nginx and Apache error logs, JSON client fields).
    Client,
}

/// How many leading bits of an address survive, and where addresses are looked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mask {
    pub ipv4_prefix: u8,
    pub ipv6_prefix: u8,
    pub scope: Scope,
}

/// A prefix length outside the address width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MaskError {
    #[error("IPv4 prefix length {0} is out of range (0..=32)")]
    Ipv4Prefix(u8),
    #[error("IPv6 prefix length {0} is out of range (0..=128)")]
    Ipv6Prefix(u8),
}

impl Mask {
    pub fn new(ipv4_prefix: u8, ipv6_prefix: u8, scope: Scope) -> Result<Mask, MaskError> {
        if ipv4_prefix > 32 {
            return Err(MaskError::Ipv4Prefix(ipv4_prefix));
        }
        if ipv6_prefix > 128 {
            return Err(MaskError::Ipv6Prefix(ipv6_prefix));
        }
        Ok(Mask {
            ipv4_prefix,
            ipv6_prefix,
            scope,
        })
    }

    // The fields are public, so an out-of-range value can arrive without `new`; clamping
    // (rather than a shift overflow panic) keeps the "never panics" promise.
    fn v4_bits(&self) -> u32 {
        match self.ipv4_prefix.min(32) {
            0 => 0,
            p => u32::MAX << (32 - u32::from(p)),
        }
    }

    fn v6_bits(&self) -> u128 {
        match self.ipv6_prefix.min(128) {
            0 => 0,
            p => u128::MAX << (128 - u32::from(p)),
        }
    }
}

impl Default for Mask {
    /// /24 and /40: a /40 holds 256 customer /48s, roughly the crowd of an IPv4 /24.
    fn default() -> Self {
        Mask {
            ipv4_prefix: 24,
            ipv6_prefix: 40,
            scope: Scope::All,
        }
    }
}

/// Counters of one masking pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaskStats {
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Newlines seen, plus one for a non-empty final line without a newline.
    pub lines: u64,
    /// Addresses whose text changed.
    pub masked: u64,
}

/// A run of address characters longer than this is never an address. The longest address
/// form accepted is a label tail, `:`, 45 bytes of IPv6, a port and a punctuation byte; 128
/// leaves room for long hex labels while bounding what a stream has to hold back.
pub const MAX_RUN: usize = 128;

/// Input is taken in slices of at most this size, which bounds the writer's buffers.
const CHUNK: usize = 128 * 1024;

const ADDR: u8 = 1;
const WORD: u8 = 2;

// A table lookup per byte is the cheapest way to walk a run's extent; computed at compile time.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        if b.is_ascii_hexdigit() || b == b'.' || b == b':' {
            c |= ADDR;
        }
        if b.is_ascii_alphanumeric() || b == b'_' {
            c |= WORD;
        }
        t[i] = c;
        i += 1;
    }
    t
};

#[inline]
fn is_addr(b: u8) -> bool {
    CLASS[b as usize] & ADDR != 0
}

#[inline]
fn is_word(b: u8) -> bool {
    CLASS[b as usize] & WORD != 0
}

/// Masks one line (may or may not include its trailing '\n'); appends to `out`; returns the
/// number of addresses whose text changed. Several lines at once are fine too: the result is
/// the same as masking them one by one.
pub fn mask_line(mask: &Mask, line: &[u8], out: &mut Vec<u8>) -> usize {
    out.reserve(line.len());
    let mut copied = 0;
    let changed = match mask.scope {
        Scope::All => scan(mask, line, (0, line.len()), b'\n', (out, &mut copied), &[]),
        Scope::Client => {
            let mut changed = 0;
            let mut i = 0;
            while i < line.len() {
                let line_end = memchr(b'\n', &line[i..]).map_or(line.len(), |k| i + k);
                // A JSON record's first field is no client field.
                let field_end = if line[i] == b'{' {
                    i
                } else {
                    memchr3(b' ', b'\t', b'\n', &line[i..]).map_or(line.len(), |k| i + k)
                };
                changed += scan(mask, line, (i, field_end), b'\n', (out, &mut copied), &[]);
                if field_end < line_end {
                    let span = (field_end, line_end);
                    changed += scan(mask, line, span, b'\n', (out, &mut copied), CLIENT_MARKERS);
                }
                i = line_end + 1;
            }
            changed
        }
    };
    out.extend_from_slice(&line[copied..]);
    usize::try_from(changed).unwrap_or(usize::MAX)
}

/// Helpers shared by the tests of every part: whole-line and streamed masking, log-like
/// input, and the properties every output must have.
#[cfg(test)]
mod test_support {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    pub(super) fn masked(mask: &Mask, s: &[u8]) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let n = mask_line(mask, s, &mut out);
        (out, n)
    }

    pub(super) fn m(s: &str) -> String {
        String::from_utf8(masked(&Mask::default(), s.as_bytes()).0).unwrap()
    }

    pub(super) fn stream(mask: &Mask, input: &[u8], splits: &[usize]) -> (Vec<u8>, MaskStats) {
        let mut w = MaskingWriter::new(*mask, Vec::new());
        let mut rest = input;
        for &s in splits {
            let k = s.min(rest.len());
            w.write_all(&rest[..k]).unwrap();
            rest = &rest[k..];
        }
        w.write_all(rest).unwrap();
        w.finish().unwrap()
    }

    /// Log-like text: addresses of all forms among the separators they are found next to.
    pub(super) fn loglike() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            any::<[u8; 4]>().prop_map(|a| Ipv4Addr::from(a).to_string()),
            any::<u128>().prop_map(|a| Ipv6Addr::from_bits(a).to_string()),
            any::<u128>().prop_map(|a| Ipv6Addr::from_bits(a).to_string().to_uppercase()),
            any::<u64>().prop_map(|a| Ipv6Addr::from_bits(u128::from(a)).to_string()),
            any::<[u8; 4]>().prop_map(|a| Ipv4Addr::from(a).to_ipv6_mapped().to_string()),
            "[0-9a-fA-F]{1,4}",
            "[0-9]{1,3}",
            prop::sample::select(vec![
                ".",
                ":",
                "::",
                " ",
                "\n",
                "\r\n",
                "[",
                "]",
                "%eth0",
                "%3A",
                "%3a",
                "%3D",
                "%2C",
                "%2E",
                "%5B",
                "%5D",
                "%20",
                "%25",
                "%",
                "%3",
                "/24",
                "\"",
                ",",
                "=",
                "x",
                "_",
                "Chrome/120.0.0.0",
                "-",
                "\t",
                "\u{e9}",
            ])
            .prop_map(str::to_string),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat().into_bytes())
    }

    pub(super) fn any_mask() -> impl Strategy<Value = Mask> {
        (0u8..=32, 0u8..=128, prop::bool::ANY).prop_map(|(a, b, c)| {
            Mask::new(a, b, if c { Scope::All } else { Scope::Client }).unwrap()
        })
    }

    /// `%XY` decoded once, independently of the engine's unit walkers.
    /// The text as the engine reads it: `%XY` decoded, and a backslash or HAProxy `#XX`
    /// escape decoded when it stands for a byte that is no address character.
    fn percent_decoded(text: &[u8]) -> Vec<u8> {
        let hex = |k: usize, n: usize| -> Option<u32> {
            let h = std::str::from_utf8(text.get(k..k + n)?).ok()?;
            (h.bytes().all(|b| b.is_ascii_hexdigit())).then(|| u32::from_str_radix(h, 16).ok())?
        };
        let non_addr = |v: u32| {
            let b = u8::try_from(v).ok().filter(u8::is_ascii).unwrap_or(0x80);
            (!is_addr(b)).then_some(b)
        };
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let (len, b) = match (text[i], text.get(i + 1)) {
                (b'%', _) if hex(i + 1, 2).is_some() => (3, hex(i + 1, 2).unwrap() as u8),
                (b'#', _) => match hex(i + 1, 2).and_then(non_addr) {
                    Some(b) => (3, b),
                    None => (1, b'#'),
                },
                (b'\\', Some(b'x' | b'X')) => match hex(i + 2, 2).and_then(non_addr) {
                    Some(b) => (4, b),
                    None => (1, b'\\'),
                },
                (b'\\', Some(b'u')) => match hex(i + 2, 4).and_then(non_addr) {
                    Some(b) => (6, b),
                    None => (1, b'\\'),
                },
                (b'\\', Some(b't' | b'n' | b'r' | b'b' | b'f' | b'v')) => (2, b'\t'),
                (b, _) => (1, b),
            };
            out.push(b);
            i += len;
        }
        out
    }

    pub(super) fn check_props(mask: &Mask, input: &[u8]) -> Result<(), TestCaseError> {
        let (once, n) = masked(mask, input);
        let (twice, n2) = masked(mask, &once);
        prop_assert_eq!(&twice, &once, "not idempotent");
        prop_assert_eq!(n2, 0);
        let nl = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
        prop_assert_eq!(nl(&once), nl(input));
        if n == 0 {
            prop_assert_eq!(&once, input);
        }
        if mask.scope == Scope::All {
            // every whole token (a run of address characters not glued to a word character)
            // of the text decoded once (`%3A` is `:`), as the engine reads it, that parses
            // as an address has no bits beyond the prefix
            let once = percent_decoded(&once);
            let mut i = 0;
            while i < once.len() {
                let e = once[i..]
                    .iter()
                    .position(|&b| !is_addr(b))
                    .map_or(once.len(), |k| i + k);
                let glued = (i > 0 && is_word(once[i - 1])) || (e < once.len() && is_word(once[e]));
                let tok = std::str::from_utf8(&once[i..e]).ok().filter(|_| !glued);
                match tok.and_then(|t| t.parse::<IpAddr>().ok()) {
                    Some(IpAddr::V4(a)) => prop_assert_eq!(u32::from(a) & !mask.v4_bits(), 0),
                    Some(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
                        Some(v4) => prop_assert_eq!(u32::from(v4) & !mask.v4_bits(), 0),
                        None => prop_assert_eq!(a.to_bits() & !mask.v6_bits(), 0),
                    },
                    None => {}
                }
                i = e + 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{any_mask, check_props, loglike, m, masked};
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const CASES: &[(&str, &str)] = &[
        // IPv4
        ("203.0.113.195", "203.0.113.0"),
        ("203.0.113.0", "203.0.113.0"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.0"),
        ("1.2.3.4:443", "1.2.3.0:443"),
        ("1.2.3.4:65535x", "1.2.3.4:65535x"),
        ("1.2.3.4:123456", "1.2.3.4:123456"),
        ("(1.2.3.4)", "(1.2.3.0)"),
        ("seen from 1.2.3.4.", "seen from 1.2.3.0."),
        ("seen from 1.2.3.4. Then", "seen from 1.2.3.0. Then"),
        ("from 1.2.3.4: refused", "from 1.2.3.0: refused"),
        ("1.2.3.4..", "1.2.3.0.."),
        ("10.1.2.3/8", "10.1.2.0/8"),
        ("10.0.0.1234", "10.0.0.1234"),
        ("1.2.3.4.5", "1.2.3.4.5"),
        ("01.2.3.4", "01.2.3.4"),
        ("1.2.3.04", "1.2.3.04"),
        ("256.1.1.1", "256.1.1.1"),
        ("1.2.3", "1.2.3"),
        ("v1.2.3.4", "v1.2.3.4"),
        ("1.2.3.4x", "1.2.3.4x"),
        ("_1.2.3.4", "_1.2.3.4"),
        ("1.2.3.4.example.com", "1.2.3.4.example.com"),
        ("ip:1.2.3.4", "ip:1.2.3.0"),
        ("id:1.2.3.4 x", "id:1.2.3.0 x"),
        ("-", "-"),
        ("example.com", "example.com"),
        // user agents and versions
        (
            "Chrome/120.0.0.0 Safari/537.36",
            "Chrome/120.0.0.0 Safari/537.36",
        ),
        ("Safari/537.36", "Safari/537.36"),
        ("Version/17.2.1", "Version/17.2.1"),
        ("HTTP/1.1", "HTTP/1.1"),
        // IPv6
        ("2001:DB8:1234:5678::1", "2001:db8:1200::"),
        ("2001:db8:1200::", "2001:db8:1200::"),
        ("2001:DB8::", "2001:db8::"),
        ("2001:0db8:0000:0000:0000:0000:0000:0000", "2001:db8::"),
        ("::", "::"),
        ("::1", "::"),
        ("a :: b", "a :: b"),
        ("fe80::1%eth0", "fe80::%eth0"),
        ("[2001:db8::1]:443", "[2001:db8::]:443"),
        ("[2001:db8:abcd:12::1]", "[2001:db8:ab00::]"),
        ("dead:beef::", "dead:beef::"),
        ("dead:beef:cafe::", "dead:beef:ca00::"),
        ("dead:beef::1", "dead:beef::"),
        ("cafe:babe", "cafe:babe"),
        ("2001:db8::1: refused", "2001:db8::: refused"),
        ("1:2:3:4:5:6:7:8", "1:2::"),
        ("1:2:ff03:4:5:6:7:8", "1:2:ff00::"),
        ("1:2:3:4:5:6:7:8:9", "1:2:3:0:0:0:0:0:0"),
        ("2001:db8::1::2", "2001:db8::1::2"),
        ("12:34:56", "12:34:56"),
        (
            "[10/Oct/2000:13:55:36 +0000]",
            "[10/Oct/2000:13:55:36 +0000]",
        ),
        ("2024-01-01T13:55:36Z", "2024-01-01T13:55:36Z"),
        ("00:1a:2b:3c:4d:5e", "00:1a:2b:3c:4d:5e"),
        ("00-1A-2B-3C-4D-5E", "00-1A-2B-3C-4D-5E"),
        ("std::vector<int>", "std::vector<int>"),
        ("crate::anonymize::mask", "crate::anonymize::mask"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("2001:db8:ffff::/48", "2001:db8:ff00::/48"),
        // IPv4 inside IPv6
        ("::ffff:198.51.100.7", "::ffff:198.51.100.0"),
        ("::FFFF:198.51.100.7", "::ffff:198.51.100.0"),
        ("::ffff:c633:6407", "::ffff:198.51.100.0"),
        ("[::ffff:198.51.100.7]:80", "[::ffff:198.51.100.0]:80"),
        ("::1.2.3.4", "::"),
        ("64:ff9b::192.0.2.33", "64:ff9b::"),
        // surrounding syntax
        (
            "X-Forwarded-For: 1.2.3.4, 10.0.0.1",
            "X-Forwarded-For: 1.2.3.0, 10.0.0.0",
        ),
        ("\"1.2.3.4,5.6.7.8\"", "\"1.2.3.0,5.6.7.0\""),
        (
            "Forwarded: for=\"[2001:db8:cafe::17]:4711\"",
            "Forwarded: for=\"[2001:db8:ca00::]:4711\"",
        ),
        ("for=192.0.2.60;proto=http", "for=192.0.2.0;proto=http"),
        (
            "GET /x?ip=1.2.3.4&x=1 HTTP/1.1",
            "GET /x?ip=1.2.3.0&x=1 HTTP/1.1",
        ),
        ("\"http://1.2.3.4/path\"", "\"http://1.2.3.0/path\""),
        ("http://[2001:db8::1]:8080/", "http://[2001:db8::]:8080/"),
        (
            "{\"remote_addr\":\"1.2.3.4\",\"x\":1}",
            "{\"remote_addr\":\"1.2.3.0\",\"x\":1}",
        ),
        (
            "*1 connect() failed, client: 1.2.3.4, server: example.com, request: \"GET /\"",
            "*1 connect() failed, client: 1.2.3.0, server: example.com, request: \"GET /\"",
        ),
        (
            "[client 1.2.3.4:5678] AH01630",
            "[client 1.2.3.0:5678] AH01630",
        ),
        ("[client 2001:db8::7:5678]", "[client 2001:db8:::5678]"),
        // percent-encoded, one decoding deep (query strings, encoded URLs inside them)
        (
            "GET /a?ip=2001%3Adb8%3A1234%3A%3A1 HTTP/1.1",
            "GET /a?ip=2001%3Adb8%3A1200%3A%3A HTTP/1.1",
        ),
        ("?ip=%3a%3a1 x", "?ip=%3a%3a x"),
        (
            "?next=%2Fb%3Fip%3D203.0.113.5",
            "?next=%2Fb%3Fip%3D203.0.113.0",
        ),
        (
            "?xff=198.51.100.7%2C203.0.113.9",
            "?xff=198.51.100.0%2C203.0.113.0",
        ),
        (
            "u=http%3A%2F%2F%5B2001%3Adb8%3A%3A1%5D%3A8080%2F",
            "u=http%3A%2F%2F%5B2001%3Adb8%3A%3A%5D%3A8080%2F",
        ),
        ("m=%3A%3Affff%3A192.0.2.7", "m=%3A%3Affff%3A192.0.2.0"),
        ("1.2.3.4%3A8080", "1.2.3.0%3A8080"),
        ("1.2.3.4%20x", "1.2.3.0%20x"),
        ("fe80::1%25eth0", "fe80::%25eth0"),
        ("%31.%32.%33.%34", "1.2.3.0"),
        // glued in the decoded text, as `1.2.3.4::` and `x1.2.3.4` are
        ("1.2.3.4%3A%3A", "1.2.3.0%3A%3A"),
        ("%781.2.3.4", "%781.2.3.4"),
        // not units: a `%` without two hex digits after it
        ("load 100% 1.2.3.4%", "load 100% 1.2.3.0%"),
        ("%3 1.2.3.4%3", "%3 1.2.3.0%3"),
        ("2001%3", "2001%3"),
        // backslash escapes bound a run like the byte they stand for (nginx, Apache, JSON)
        (r#"?q=\x22203.0.113.9\x22"#, r#"?q=\x22203.0.113.0\x22"#),
        (
            r#""203.0.113.195,\x09198.51.100.7""#,
            r#""203.0.113.0,\x09198.51.100.0""#,
        ),
        (
            r#"for=\x22198.51.100.17:47011\x22"#,
            r#"for=\x22198.51.100.0:47011\x22"#,
        ),
        (
            r#"\x222a02:8108:1234:5600::789a\x22"#,
            r#"\x222a02:8108:1200::\x22"#,
        ),
        (
            r#"\x222a02:8108:1234:5600:a1b2:c3d4:e5f6:789a\x22"#,
            r#"\x222a02:8108:1200::\x22"#,
        ),
        (
            r#""203.0.113.1,\t198.51.100.7""#,
            r#""203.0.113.0,\t198.51.100.0""#,
        ),
        (r#"\"203.0.113.1\""#, r#"\"203.0.113.0\""#),
        (r#"\u0022203.0.113.9\u0022"#, r#"\u0022203.0.113.0\u0022"#),
        (r#"\u00e92001:db8:abcd::1"#, r#"\u00e92001:db8:ab00::"#),
        (r#"\xC3\xA9203.0.113.9"#, r#"\xC3\xA9203.0.113.0"#),
        (
            r#"\f1.2.3.4 \n1.2.3.4 \r1.2.3.4"#,
            r#"\f1.2.3.0 \n1.2.3.0 \r1.2.3.0"#,
        ),
        (r#"\\x22203.0.113.9"#, r#"\\x22203.0.113.0"#),
        ("?q=#22203.0.113.9#22", "?q=#22203.0.113.0#22"),
        // an escape of an address byte is not read as one (no server writes it)
        (r#"\x31.2.3.4 \x3a1.2.3.4"#, r#"\x31.2.3.4 \x3a1.2.3.4"#),
        ("\\x1", "\\x1"),
        // Apache error log: the last `:N` of `[client …]` is the port, and is kept
        (
            "[client 2001:db8:abcd:12::1:51234]",
            "[client 2001:db8:ab00:::51234]",
        ),
        (
            "[client 2a02:8108:1234:5600:a1b2:c3d4:e5f6:789a:443]",
            "[client 2a02:8108:1200:::443]",
        ),
        (
            "[client ::ffff:203.0.113.195:51234]",
            "[client ::ffff:203.0.113.0:51234]",
        ),
        ("[client 203.0.113.195:51234]", "[client 203.0.113.0:51234]"),
        ("[client 2001:db8::1]", "[client 2001:db8::]"),
        ("[remote 2001:db8::7:5678]", "[remote 2001:db8::]"),
        // HAProxy's client field, and any IPv6 with a 5-digit port (never a group)
        (
            "2001:db8:abcd:12::1:56177 [30/Nov/2026:22:10:56.352] fe",
            "2001:db8:ab00:::56177 [30/Nov/2026:22:10:56.352] fe",
        ),
        // labels before `:` (their hex letters or digits are read into the run)
        ("a:203.0.113.195", "a:203.0.113.0"),
        (
            "c:203.0.113.195 dc:203.0.113.195",
            "c:203.0.113.0 dc:203.0.113.0",
        ),
        ("ec2:203.0.113.195:443", "ec2:203.0.113.0:443"),
        ("80:203.0.113.195", "80:203.0.113.0"),
        (
            "ec2:2a02:8108:1234:5600:a1b2:c3d4:e5f6:789a",
            "ec2:2a02:8108:1200:0:0:0:0:0",
        ),
        ("a:2001:db8::1", "a:2001:d00::"),
        ("a:::ffff:203.0.113.195", "a:0:0:0:0:0:ffff:203.0.113.0"),
        ("12:34:56 13:55:36.123", "12:34:56 13:55:36.123"),
        // repeated punctuation after an address is text
        ("Trying 203.0.113.195:443...", "Trying 203.0.113.0:443..."),
        (
            "Connecting to 198.51.100.7... connected.",
            "Connecting to 198.51.100.0... connected.",
        ),
        ("2001:db8:abcd::1...", "2001:db8:ab00::..."),
        ("1.2.3.4::", "1.2.3.0::"),
        ("1:2:3:4:5:6:7:8::", "1:2::::"),
        // privacy wins over fidelity: valid by the grammar, so masked
        ("Firefox/115.0.1.2", "Firefox/115.0.1.0"),
        ("/a::b", "/a::"),
        // line structure
        ("1.2.3.4\r\n", "1.2.3.0\r\n"),
        ("1.2.3.4   \n", "1.2.3.0   \n"),
        ("", ""),
        ("\n\n", "\n\n"),
    ];

    #[test]
    fn edge_case_table() {
        let mut failures = Vec::new();
        for &(input, want) in CASES {
            let got = m(input);
            if got != want {
                failures.push(format!("{input:?}: got {got:?}, want {want:?}"));
            }
            assert_eq!(m(&got), got, "not idempotent on {input:?}");
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn masked_count_counts_text_changes() {
        let mask = Mask::default();
        assert_eq!(masked(&mask, b"1.2.3.4 1.2.3.0 2001:db8:: 2001:DB8::").1, 2);
        assert_eq!(masked(&mask, b"Chrome/120.0.0.0").1, 0);
    }

    #[test]
    fn prefixes_are_honoured() {
        let mk = |v4, v6| Mask::new(v4, v6, Scope::All).unwrap();
        let f = |mask: Mask, s: &str| String::from_utf8(masked(&mask, s.as_bytes()).0).unwrap();
        assert_eq!(f(mk(16, 40), "203.0.113.195"), "203.0.0.0");
        assert_eq!(f(mk(20, 40), "10.1.255.7"), "10.1.240.0");
        assert_eq!(f(mk(0, 0), "203.0.113.195 2001:db8::1"), "0.0.0.0 ::");
        assert_eq!(
            f(mk(32, 128), "203.0.113.195 2001:db8::1"),
            "203.0.113.195 2001:db8::1"
        );
        assert_eq!(f(mk(32, 128), "2001:DB8::1"), "2001:db8::1");
        assert_eq!(f(mk(8, 48), "2001:db8:1234:5678::1"), "2001:db8:1234::");
        assert_eq!(f(mk(16, 128), "::ffff:198.51.100.7"), "::ffff:198.51.0.0");
    }

    #[test]
    fn mask_new_validates_and_names_the_value() {
        assert_eq!(
            Mask::new(33, 40, Scope::All),
            Err(MaskError::Ipv4Prefix(33))
        );
        assert_eq!(
            Mask::new(24, 129, Scope::All),
            Err(MaskError::Ipv6Prefix(129))
        );
        assert!(
            Mask::new(24, 129, Scope::All)
                .unwrap_err()
                .to_string()
                .contains("129")
        );
        assert_eq!(Mask::new(24, 40, Scope::All), Ok(Mask::default()));
        // out-of-range values set directly on the public fields clamp instead of panicking
        let wild = Mask {
            ipv4_prefix: 200,
            ipv6_prefix: 255,
            scope: Scope::All,
        };
        assert_eq!(
            masked(&wild, b"1.2.3.4 2001:db8::1").0,
            b"1.2.3.4 2001:db8::1"
        );
    }

    #[test]
    fn client_scope_masks_only_the_first_field() {
        let mask = Mask::new(24, 40, Scope::Client).unwrap();
        let line =
            b"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] \"GET /?ip=5.6.7.8 HTTP/1.1\" 200 1\n\
                     2001:db8::1 - - \"http://9.9.9.9/\"\n\
                     -\n\
                     [2001:db8::1]:443\tx 1.1.1.1\n\
                     \x20lead 1.2.3.4\n";
        let (out, n) = masked(&mask, line);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1.2.3.0 - - [10/Oct/2000:13:55:36 +0000] \"GET /?ip=5.6.7.8 HTTP/1.1\" 200 1\n\
             2001:db8:: - - \"http://9.9.9.9/\"\n\
             -\n\
             [2001:db8::]:443\tx 1.1.1.1\n\
             \x20lead 1.2.3.4\n"
        );
        assert_eq!(n, 3);
    }

    #[test]
    fn invalid_utf8_and_binary_pass_through() {
        let input = b"\xff\xfe1.2.3.4\x00\xc3(\r\n\xff";
        let (out, n) = masked(&Mask::default(), input);
        assert_eq!(out, b"\xff\xfe1.2.3.0\x00\xc3(\r\n\xff");
        assert_eq!(n, 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn prop_arbitrary_bytes(mask in any_mask(), input in prop::collection::vec(any::<u8>(), 0..300)) {
            check_props(&mask, &input)?;
        }

        #[test]
        fn prop_loglike(mask in any_mask(), input in loglike()) {
            check_props(&mask, &input)?;
        }

        #[test]
        fn prop_addresses_are_masked(a in any::<u32>(), b in any::<u128>()) {
            let line = format!("{} x {} y\n", Ipv4Addr::from(a), Ipv6Addr::from_bits(b));
            let (out, _) = masked(&Mask::default(), line.as_bytes());
            let out = String::from_utf8(out).unwrap();
            let v6 = Ipv6Addr::from_bits(b);
            let want6 = match v6.to_ipv4_mapped() {
                Some(v4) => (u32::from(v4) & 0xffff_ff00).to_string(),
                None => Ipv6Addr::from_bits(b & !(u128::MAX >> 40)).to_string(),
            };
            let want6 = if v6.to_ipv4_mapped().is_some() {
                format!("::ffff:{}", Ipv4Addr::from(want6.parse::<u32>().unwrap()))
            } else {
                want6
            };
            prop_assert_eq!(out, format!("{} x {} y\n", Ipv4Addr::from(a & 0xffff_ff00), want6));
        }
    }
}
