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

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

use memchr::{memchr, memchr2, memchr3};

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

/// Replacement text of one address; fixed size so that masking never allocates.
struct Repl {
    buf: [u8; 64],
    len: usize,
}

impl Repl {
    fn new() -> Self {
        Repl {
            buf: [0; 64],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, b: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    fn v4(a: u32) -> Self {
        let mut r = Repl::new();
        let mut n = 0;
        for (i, o) in a.to_be_bytes().into_iter().enumerate() {
            if i > 0 {
                r.buf[n] = b'.';
                n += 1;
            }
            if o >= 100 {
                r.buf[n] = b'0' + o / 100;
                n += 1;
            }
            if o >= 10 {
                r.buf[n] = b'0' + o / 10 % 10;
                n += 1;
            }
            r.buf[n] = b'0' + o % 10;
            n += 1;
        }
        r.len = n;
        r
    }

    fn push_hex(&mut self, g: u16) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let d = (g >> shift) & 0xf;
            if d != 0 || started || shift == 0 {
                self.push(HEX[usize::from(d)]);
                started = true;
            }
        }
    }

    /// All eight groups, lower case, without leading zeros: text that cannot be read
    /// together with a label before it as one IPv6 address.
    fn v6_full(a: Ipv6Addr) -> Self {
        let mut r = Repl::new();
        if let Some(v4) = a.to_ipv4_mapped() {
            for &b in b"0:0:0:0:0:ffff:"
                .iter()
                .chain(Repl::v4(u32::from(v4)).as_bytes())
            {
                r.push(b);
            }
            return r;
        }
        for (i, g) in a.segments().into_iter().enumerate() {
            if i > 0 {
                r.push(b':');
            }
            r.push_hex(g);
        }
        r
    }

    /// RFC 5952 text, the same as std's `Display` (a property test holds them equal), without
    /// going through the formatting machinery, which dominated the cost of IPv6 lines.
    fn v6(a: Ipv6Addr) -> Self {
        let mut r = Repl::new();
        if let Some(v4) = a.to_ipv4_mapped() {
            r.buf[..7].copy_from_slice(b"::ffff:");
            r.len = 7;
            let v4 = Repl::v4(u32::from(v4));
            r.buf[7..7 + v4.len].copy_from_slice(v4.as_bytes());
            r.len += v4.len;
            return r;
        }
        let g = a.segments();
        // longest run of at least two zero groups; the first one wins a tie
        let (mut best, mut best_len, mut i) = (0, 0, 0);
        while i < 8 {
            if g[i] == 0 {
                let start = i;
                while i < 8 && g[i] == 0 {
                    i += 1;
                }
                if i - start > best_len && i - start >= 2 {
                    (best, best_len) = (start, i - start);
                }
            } else {
                i += 1;
            }
        }
        let mut i = 0;
        while i < 8 {
            if best_len > 0 && i == best {
                r.push(b':');
                if i == 0 {
                    r.push(b':');
                }
                i += best_len;
                continue;
            }
            r.push_hex(g[i]);
            if i < 7 {
                r.push(b':');
            }
            i += 1;
        }
        r
    }
}

enum Outcome {
    Same,
    New(Repl),
}

/// Strict dotted quad as `std::net::Ipv4Addr` accepts it: four decimal octets, no leading
/// zeros, each at most 255. Hand-written because it runs for every dotted run in the input.
fn parse_v4(c: &[u8]) -> Option<u32> {
    if c.len() < 7 || c.len() > 15 {
        return None;
    }
    let mut acc = 0u32;
    let mut i = 0;
    for octet in 0..4 {
        if octet > 0 {
            if c[i] != b'.' {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v = 0u32;
        while i < c.len() && i - start < 3 && c[i].is_ascii_digit() {
            v = v * 10 + u32::from(c[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || v > 255 || (digits > 1 && c[start] == b'0') || i == c.len() && octet < 3 {
            return None;
        }
        acc = acc << 8 | v;
    }
    (i == c.len()).then_some(acc)
}

fn mask_v4(mask: &Mask, a: u32) -> Outcome {
    let m = a & mask.v4_bits();
    // parse_v4 only accepts canonical text, so an unchanged value means unchanged text.
    if m == a {
        Outcome::Same
    } else {
        Outcome::New(Repl::v4(m))
    }
}

/// IPv6 text exactly as `std::net::Ipv6Addr` accepts it (a property test holds the two
/// equal): 1-4 hex digits a group, at most one `::` standing for at least one zero group,
/// an optional trailing dotted quad for the last two groups. Hand-written because std's
/// parser was the largest single cost of masking IPv6 clients.
fn parse_v6(c: &[u8]) -> Option<Ipv6Addr> {
    let n = c.len();
    let mut groups = [0u16; 8];
    let mut count = 0;
    // where "::" stood (index into `groups`), once seen
    let mut gap = None;
    let mut i = 0;
    if c.starts_with(b"::") {
        gap = Some(0);
        i = 2;
    } else if c.first() == Some(&b':') {
        return None;
    }
    // One pass: each group's digits are read until the byte that ends them, which decides
    // what comes next (a digit table, because random hex digits defeat branch prediction).
    while i < n {
        let start = i;
        let mut g = 0u16;
        while i < n && i - start < 5 {
            let v = HEX_VALUE[usize::from(c[i])];
            if v == NOT_HEX {
                break;
            }
            g = g << 4 | u16::from(v);
            i += 1;
        }
        if c.get(i) == Some(&b'.') {
            // a trailing dotted quad: the rest must be exactly that
            if count > 6 {
                return None;
            }
            let [a, b, x, y] = parse_v4(&c[start..])?.to_be_bytes();
            groups[count] = u16::from_be_bytes([a, b]);
            groups[count + 1] = u16::from_be_bytes([x, y]);
            count += 2;
            break;
        }
        let digits = i - start;
        if digits == 0 || digits > 4 || count == 8 {
            return None;
        }
        groups[count] = g;
        count += 1;
        if i == n {
            break;
        }
        if c[i] != b':' {
            return None;
        }
        i += 1;
        if c.get(i) == Some(&b':') {
            if gap.is_some() {
                return None;
            }
            gap = Some(count);
            i += 1;
        } else if i == n {
            return None;
        }
    }
    match gap {
        None if count == 8 => Some(Ipv6Addr::from(groups)),
        Some(at) if count <= 7 => {
            let mut full = [0u16; 8];
            full[..at].copy_from_slice(&groups[..at]);
            let tail = count - at;
            full[8 - tail..].copy_from_slice(&groups[at..count]);
            Some(Ipv6Addr::from(full))
        }
        _ => None,
    }
}

const NOT_HEX: u8 = 0xff;

static HEX_VALUE: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => NOT_HEX,
        };
        i += 1;
    }
    t
};

fn mask_v6(mask: &Mask, c: &[u8], full: bool) -> Option<Outcome> {
    let a = parse_v6(c)?;
    let m = match a.to_ipv4_mapped() {
        Some(v4) => Ipv4Addr::from(u32::from(v4) & mask.v4_bits()).to_ipv6_mapped(),
        None => Ipv6Addr::from_bits(a.to_bits() & mask.v6_bits()),
    };
    let r = if full { Repl::v6_full(m) } else { Repl::v6(m) };
    Some(if r.as_bytes() == c {
        Outcome::Same
    } else {
        Outcome::New(r)
    })
}

/// If `c` starts with an address (the whole of `c`, or an IPv4 address followed by `:port`),
/// returns the address length and what becomes of it. `labelled`: the address follows a
/// label (`ec2:`), and IPv6 is written with all eight groups, because `label:` and a
/// compressed text would together parse as one IPv6 address on a second pass.
fn mask_addr(mask: &Mask, c: &[u8], labelled: bool) -> Option<(usize, Outcome)> {
    if c.len() < 2 {
        return None;
    }
    let (mut dots, mut colons) = (0usize, 0usize);
    for &b in c {
        dots += usize::from(b == b'.');
        colons += usize::from(b == b':');
    }
    if colons == 0 {
        if dots != 3 {
            return None;
        }
        return Some((c.len(), mask_v4(mask, parse_v4(c)?)));
    }
    // Every valid IPv6 text has `::` or at least six colons: clock times and MAC addresses
    // are turned away here without parsing them.
    if c.len() <= 45 && (colons >= 6 || c.windows(2).any(|w| w == b"::")) {
        if let Some(o) = mask_v6(mask, c, labelled) {
            return Some((c.len(), o));
        }
    }
    if colons == 1 && dots == 3 {
        let colon = memchr(b':', c)?;
        let port = &c[colon + 1..];
        if !port.is_empty() && port.len() <= 5 && port.iter().all(u8::is_ascii_digit) {
            return Some((colon, mask_v4(mask, parse_v4(&c[..colon])?)));
        }
    }
    None
}

/// Decides whether the run `run` (maximal, so its neighbours are not address characters)
/// holds an address; returns the replaced span within the run and its new text. `port_last`:
/// the run is the address of an Apache error log's `[client …]`, whose last `:N` is a port.
fn try_mask(
    mask: &Mask,
    run: &[u8],
    left_word: bool,
    right_word: bool,
    port_last: bool,
) -> Option<(usize, usize, Repl)> {
    let first = try_mask_once(mask, run, left_word, right_word, port_last)?;
    if !port_last || left_word {
        return Some(first);
    }
    // After Apache's `[client `, a masked run's last group can read as a port where the
    // original's could not (`::1:f` becomes `::1:0`, then `::` and port 0): mask until the
    // text is what a second pass leaves alone (fuzzer find). Rare, so it may allocate.
    let mut text = [&run[..first.0], first.2.as_bytes(), &run[first.1..]].concat();
    for _ in 0..4 {
        match try_mask_once(mask, &text, false, right_word, true) {
            Some((a, b, r)) => text = [&text[..a], r.as_bytes(), &text[b..]].concat(),
            None => break,
        }
    }
    if text.len() > 64 {
        return Some(first);
    }
    let mut r = Repl::new();
    text.iter().for_each(|&b| r.push(b));
    Some((0, run.len(), r))
}

fn try_mask_once(
    mask: &Mask,
    run: &[u8],
    left_word: bool,
    right_word: bool,
    port_last: bool,
) -> Option<(usize, usize, Repl)> {
    if run.len() < 2 || run.len() > MAX_RUN || right_word {
        return None;
    }
    if !left_word {
        // The commonest run of all, a whole dotted quad, is the first form tried below (it
        // has no `:`, so no port rule applies): decided before anything else is measured.
        if let Some(a) = parse_v4(run) {
            return match mask_v4(mask, a) {
                Outcome::Same => None,
                Outcome::New(r) => Some((0, run.len(), r)),
            };
        }
    }
    // Every form tried below needs three dots (IPv4, alone or inside IPv6), a `::` or seven
    // colons (IPv6) in the run: clock times (`2024:00:00:01`) and versions are turned away
    // with one look at their bytes.
    let (mut dots, mut colons, mut double) = (0u32, 0u32, false);
    let mut last = 0;
    for &b in run {
        dots += u32::from(b == b'.');
        colons += u32::from(b == b':');
        double |= b == b':' && last == b':';
        last = b;
    }
    if dots < 3 && colons < 7 && !double {
        return None;
    }
    if port_last && !left_word {
        // Apache writes IPv6 clients without brackets (`2001:db8::7:5678`): a 4-digit port
        // would otherwise be read as a group. Without a port it is an ordinary run.
        if let Some(colon) = memchr::memrchr(b':', run) {
            let port = &run[colon + 1..];
            if (1..=5).contains(&port.len()) && port.iter().all(u8::is_ascii_digit) {
                if let Some((len, o)) = mask_addr(mask, &run[..colon], false) {
                    if len == colon {
                        return match o {
                            Outcome::Same => None,
                            Outcome::New(r) => Some((0, len, r)),
                        };
                    }
                }
            }
        }
    }
    // Version numbers ("HTTP/1.1", "Mozilla/5.0", "537.36") are the most common runs: too
    // short for a dotted quad and without the `:` every other accepted form has.
    if run.len() < 7 && !run.contains(&b':') {
        return None;
    }
    if !left_word {
        // The whole run is the first form tried (see `try_variants`): a whole IPv6 text is
        // taken here without measuring the other forms.
        let whole = if colons > 0 && run.len() <= 45 {
            mask_v6(mask, run, false)
        } else {
            None
        };
        match whole {
            Some(Outcome::Same) => return None,
            Some(Outcome::New(r)) => return Some((0, run.len(), r)),
            None => {}
        }
    }
    let mut base = 0;
    if left_word {
        // Only `label:address` escapes the glue rule: the label's tail in the run must be
        // plain (no `.`/`:`), and `::` after it would be C++/Rust path syntax, not a separator.
        let colon = memchr2(b':', b'.', run)?;
        if run[colon] != b':' || run.get(colon + 1).is_none_or(|&b| b == b':') {
            return None;
        }
        base = colon + 1;
    }
    if let Some(found) = try_variants(mask, &run[base..], false) {
        return found.map(|(a, b, r)| (base + a, base + b, r));
    }
    if left_word {
        return None;
    }
    // A label glued on the left with its hex letters or digits (`a:`, `ec2:`, `80:`) is read
    // into the run; it is never part of the address when the rest is one on its own. Only
    // tried when the whole run is no address, so a valid IPv6 text keeps its first group.
    let colon = memchr(b':', run)?;
    let rest = &run[colon + 1..];
    // The rest may start with `::` (`a:::ffff:1.2.3.4`), but not be `::` alone or with a
    // third colon: `80:::` is what a masked `a3::3:` becomes, and must stay as it is.
    let compressed = rest.starts_with(b"::") && rest.get(2).is_some_and(|&b| b != b':');
    if colon == 0 || run[..colon].contains(&b'.') || rest.first() == Some(&b':') && !compressed {
        return None;
    }
    try_variants(mask, rest, true)?.map(|(a, b, r)| (colon + 1 + a, colon + 1 + b, r))
}

/// The address forms of `c` in the order they are tried: whole, without one trailing `.`
/// or `:` (sentence punctuation), without one leading `:`, without a trailing `...` or
/// `::`. `None`: no address; `Some(None)`: an address that stays as it is. The first form
/// that is an address decides, even when it needs no change: trying further forms after
/// that could pick a different token on a second pass. `labelled`: see [`mask_addr`].
#[allow(clippy::type_complexity)]
fn try_variants(mask: &Mask, c: &[u8], labelled: bool) -> Option<Option<(usize, usize, Repl)>> {
    let n = c.len();
    if n < 2 {
        return None;
    }
    let trail = matches!(c[n - 1], b'.' | b':') && c[n - 2] != c[n - 1];
    let lead = c[0] == b':' && c[1] != b':';
    // `Trying 203.0.113.195:443...`, `1.2.3.4::`: the repeated punctuation is text.
    let repeated = if matches!(c[n - 1], b'.' | b':') {
        c.iter().rev().take_while(|&&b| b == c[n - 1]).count()
    } else {
        0
    };
    let cut = n - repeated;
    // A 5-digit `:port` cannot be an IPv6 group: HAProxy and Apache write IPv6 clients with
    // their (ephemeral, 5-digit) port and no brackets, `2001:db8::1:51234`.
    let port5 = n > 6 && c[n - 6] == b':' && c[n - 5..].iter().all(u8::is_ascii_digit);
    let variants = [
        (true, 0, n),
        (trail, 0, n - 1),
        (lead, 1, n),
        (lead && trail && n > 2, 1, n - 1),
        (repeated >= 2 && cut >= 2, 0, cut),
        (repeated >= 2 && lead && cut > 2, 1, cut),
        (port5, 0, n.saturating_sub(6)),
    ];
    for (applies, a, b) in variants {
        if !applies {
            continue;
        }
        if let Some((len, o)) = mask_addr(mask, &c[a..b], labelled) {
            return Some(match o {
                Outcome::Same => None,
                Outcome::New(r) => Some((a, a + len, r)),
            });
        }
    }
    None
}

/// Bit `k` set when `d[k]` is `.`, `:` or `%`, for the first 64 bytes of `d` (fewer at its end):
/// every byte at which [`scan`] stops. Separators are only ~10 bytes apart in log lines, so
/// the scanner takes them from a block mask rather than searching again after each one.
#[inline]
fn sep_bits(d: &[u8]) -> u64 {
    match d.first_chunk::<64>() {
        Some(block) => sep_bits_block(block),
        None => sep_bits_bytewise(d),
    }
}

/// [`sep_bits`] a byte at a time: the tail of the input, other targets, and the reference
/// the property test holds the block version to.
fn sep_bits_bytewise(d: &[u8]) -> u64 {
    d.iter()
        .take(64)
        .enumerate()
        .filter(|(_, b)| matches!(b, b'.' | b':' | b'%'))
        .fold(0, |m, (k, _)| m | 1 << k)
}

const LO: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// High bit set in exactly the zero bytes of `t` (no carries between bytes, so no false hits).
#[inline]
fn zero_bytes(t: u64) -> u64 {
    !(((t & LOW7).wrapping_add(LOW7)) | t) & HIGH
}

/// [`sep_bits`] of a whole block, eight bytes at a time with plain integer arithmetic
/// (no `unsafe` SIMD): each word's hits are found with [`zero_bytes`] and their high bits
/// gathered into one byte by a multiply (bit `i` of the product's top byte is byte `i`'s bit;
/// the partial products never overlap, so nothing carries into it).
#[inline]
fn sep_bits_block(block: &[u8; 64]) -> u64 {
    let mut bits = 0u64;
    for (k, c) in block.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(c.try_into().unwrap_or_default());
        let m = zero_bytes(w ^ (LO * u64::from(b'.')))
            | zero_bytes(w ^ (LO * u64::from(b':')))
            | zero_bytes(w ^ (LO * u64::from(b'%')));
        bits |= ((m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    bits
}

/// The separators of one input, walked forwards: a 64-byte block mask is computed once and
/// consumed bit by bit, so a hit that `scan` turns away costs a bit clear, not a new search.
struct Seps {
    base: usize,
    bits: u64,
}

impl Seps {
    fn new() -> Seps {
        Seps {
            base: usize::MAX,
            bits: 0,
        }
    }

    /// Position of the first `.`, `:` or `%` at or after `i` in `data` (the same `data` at
    /// every call).
    #[inline]
    fn next(&mut self, data: &[u8], mut i: usize) -> Option<usize> {
        while i < data.len() {
            if i < self.base || i - self.base >= 64 {
                self.base = i;
                self.bits = sep_bits(&data[i..]);
            }
            let m = self.bits & (u64::MAX << (i - self.base));
            if m != 0 {
                return Some(self.base + m.trailing_zeros() as usize);
            }
            i = self.base + 64;
        }
        None
    }
}

// Percent-encoding. In a query string or an encoded URL inside one, `%3A` is a `:` and `%3D`
// an `=`: `?ip=2001%3Adb8%3A%3A1`, `?next=%2Fb%3Fip%3D203.0.113.5`. Addresses are looked for
// in the decoded text, one decoding deep: a `%XY` (two hex digits) is one unit standing for
// the byte XY, any other byte is a unit of its own. Units never overlap (`%` is not a hex
// digit), so walking them forwards or backwards from any unit start agrees.

#[inline]
fn is_hex(b: u8) -> bool {
    HEX_VALUE[usize::from(b)] != NOT_HEX
}

/// The byte that the two hex digits `x` and `y` of a `%XY` stand for.
#[inline]
fn decode_pair(x: u8, y: u8) -> Option<u8> {
    let (x, y) = (HEX_VALUE[usize::from(x)], HEX_VALUE[usize::from(y)]);
    (x != NOT_HEX && y != NOT_HEX).then_some(x << 4 | y)
}

/// The unit at `i`: its length in bytes and the byte it stands for.
#[inline]
fn unit_at(data: &[u8], i: usize) -> (usize, u8) {
    match data.get(i..i + 3) {
        Some(&[b'%', x, y]) => decode_pair(x, y).map_or((1, b'%'), |v| (3, v)),
        _ => (1, data[i]),
    }
}

/// The unit that ends at `q` (> `floor`), not reaching below `floor`.
#[inline]
fn unit_before(data: &[u8], q: usize, floor: usize) -> (usize, u8) {
    if q >= floor + 3 {
        if let [b'%', x, y] = data[q - 3..q] {
            if let Some(v) = decode_pair(x, y) {
                return (3, v);
            }
        }
    }
    if q >= floor + 2 {
        if let Some(u) = escape_before(&data[floor..q]) {
            return u;
        }
    }
    (1, data[q - 1])
}

// Backslash escapes. nginx writes `"`, `\`, control and non-ASCII bytes as `\xHH` (escape=json:
// `\"`, `\t`, `\u00HH`), Apache as `\"`, `\t`, `\xhh`; an escape ending in a letter or hex
// digit would glue to an address after it (`\x22203.0.113.9`, `\t198.51.100.7`). Such an
// escape counts as the byte it stands for, but only as the left neighbour of a run: no
// server escapes an address byte, so one that decodes to a hex digit, `.` or `:` is left as
// text, and a run always ends at a backslash. That keeps the forward walk byte-wise and
// the streaming hold-back short (an escape still being written is held, see `held_tail`).
// Reading `\\x22` (a JSON backslash, then `x22`) as an escape masks more, never less.

/// A backslash escape that ends `d`: its length and the byte it stands for (non-ASCII as
/// 0x80, which is neither an address nor a word byte).
#[inline]
fn escape_before(d: &[u8]) -> Option<(usize, u8)> {
    let hex4 = |h: &[u8]| {
        h.iter().try_fold(0u32, |acc, &b| {
            let v = HEX_VALUE[usize::from(b)];
            (v != NOT_HEX).then_some(acc << 4 | u32::from(v))
        })
    };
    let (len, v) = if let [.., b'\\', b'u', a, b, c, e] = d {
        (6, hex4(&[*a, *b, *c, *e]))
    } else {
        (0, None)
    };
    let (len, v) = match (v, d) {
        (Some(v), _) => (len, v),
        (None, [.., b'\\', b'x' | b'X', x, y]) if decode_pair(*x, *y).is_some() => {
            (4, u32::from(decode_pair(*x, *y)?))
        }
        // HAProxy writes `"` and other bytes of captured headers and the request as `#XX`.
        (None, [.., b'#', x, y]) if decode_pair(*x, *y).is_some() => {
            (3, u32::from(decode_pair(*x, *y)?))
        }
        (None, [.., b'\\', c]) => (
            2,
            u32::from(match c {
                b't' => b'\t',
                b'n' => b'\n',
                b'r' => b'\r',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'v' => 0x0b,
                _ => return None,
            }),
        ),
        _ => return None,
    };
    let v = u8::try_from(v).ok().filter(u8::is_ascii).unwrap_or(0x80);
    (!is_addr(v)).then_some((len, v))
}

/// Length of the start of a backslash escape at the end of `d` that more input could make a
/// whole one (at most `\uHHH`, five bytes); a finished escape there is included too.
fn unfinished_escape(d: &[u8]) -> usize {
    let tail = &d[d.len().saturating_sub(5)..];
    let hash = &d[d.len().saturating_sub(2)..];
    let at = memchr::memrchr(b'\\', tail).map(|k| tail.len() - k);
    at.max(memchr::memrchr(b'#', hash).map(|k| hash.len() - k))
        .unwrap_or(0)
}

/// What precedes an Apache error log's client address; its last `:N` is a port.
const APACHE_CLIENT: &[u8] = b"[client ";

/// Under `scope: client`, what precedes the record's client address after the first field:
/// nginx error logs (`client: 1.2.3.4,`), Apache error logs (`[client 1.2.3.4:5678]`), and
/// the client fields of JSON records (`"remote_addr":"1.2.3.4"`, wherever nested).
const CLIENT_MARKERS: &[&[u8]] = &[
    b"client: ",
    APACHE_CLIENT,
    b"\"remote_addr\":\"",
    b"\"remote_ip\":\"",
    b"\"client_ip\":\"",
    b"\"client\":\"",
    b"\"ip\":\"",
    b"\"remote_addr\": \"",
    b"\"remote_ip\": \"",
    b"\"client_ip\": \"",
    b"\"client\": \"",
    b"\"ip\": \"",
];

/// Whether `d` may hold one of `CLIENT_MARKERS`: each contains `client`, `ip"` or `addr"`.
/// Looking for those with memchr's SIMD search is far cheaper than walking the separators.
fn might_hold_marker(d: &[u8]) -> bool {
    HINTS.iter().any(|f| f.find(d).is_some())
}

static HINTS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 3]> =
    std::sync::LazyLock::new(|| {
        [b"client".as_slice(), b"ip\"", b"addr\""].map(memchr::memmem::Finder::new)
    });

/// Where the hints of a marker (see [`might_hold_marker`]) next start in a buffer, one
/// position per hint, each searched again only once the caller has passed it. A line whose
/// rest ends before all of them holds no marker, so each hint's search runs once per
/// stretch of lines rather than once per line (and a hint that never occurs, once).
struct NextHints([usize; 3]);

impl NextHints {
    fn new() -> NextHints {
        NextHints([usize::MAX; 3])
    }

    /// The first hint at or after `from` in `d`, or `d.len()`.
    fn at(&mut self, d: &[u8], from: usize) -> usize {
        for (p, f) in self.0.iter_mut().zip(HINTS.iter()) {
            if *p == usize::MAX || *p < from {
                *p = f.find(&d[from..]).map_or(d.len(), |k| from + k);
            }
        }
        self.0.iter().copied().min().unwrap_or(d.len())
    }
}

/// What `held_tail` keeps with a run when all addresses are masked.
const ALL_MARKERS: &[&[u8]] = &[APACHE_CLIENT];

/// Length of a `%` or `%X` at the end of `d` that more input could still make a unit.
fn unfinished_unit(d: &[u8]) -> usize {
    match d {
        [.., b'%'] => 1,
        [.., b'%', x] if is_hex(*x) => 2,
        _ => 0,
    }
}

/// The address units at the end of `d` that more input could extend (held back by a
/// stream): (bytes, units). Counting stops past `MAX_RUN` units. A literal `%` just before
/// them is held back with them (it is not a unit of theirs), because a replacement of the
/// run must be able to see it (see `mask_units`).
fn held_tail(d: &[u8], markers: &[&[u8]]) -> (usize, usize) {
    let unfinished = unfinished_unit(d);
    let mut q = d.len() - unfinished;
    let mut units = usize::from(unfinished > 0);
    while q > 0 && units <= MAX_RUN {
        let (n, v) = unit_before(d, q, 0);
        if !is_addr(v) {
            if n == 1 && v == b'%' && units > 0 {
                q -= 1;
            }
            break;
        }
        q -= n;
        units += 1;
    }
    // What decides how the run is read is held with it: an escape still being written
    // before it (`\x2` + `2203.0.113.9`), and a marker such as `[client ` (whole or still
    // being written).
    q = q.min(d.len() - unfinished_escape(d));
    let before = q;
    for m in markers {
        if d[..before].ends_with(m) {
            q = q.min(before - m.len());
        } else if let Some(k) = (1..m.len()).rev().find(|&k| d.ends_with(&m[..k])) {
            q = q.min(d.len() - k);
        }
    }
    // The cut must fall between runs (`scan` reads its end as a boundary). A marker still
    // being written can start with address bytes glued to a run (`…::7` + `cl` of
    // `client: `): then the run, and a marker before it, are held too.
    while q > 0 && q < d.len() && is_addr(unit_at(d, q).1) && is_addr(unit_before(d, q, 0).1) {
        let mut r = q;
        while r > 0 {
            let (n, v) = unit_before(d, r, 0);
            if !is_addr(v) {
                break;
            }
            r -= n;
        }
        for m in markers {
            if d[..r].ends_with(m) {
                r = r.min(r - m.len());
            }
        }
        if r >= q {
            break;
        }
        q = r;
    }
    (d.len() - q, units)
}

/// Masks every address run in `data[start..end]`. `left` is the byte before `data[start]`
/// (`\n` at the start of input); `end` must be a boundary: end of input, or a non-address
/// byte follows (callers cut after one). Output is appended lazily: `data[*copied..]` is
/// what has not been appended yet, so unchanged text is copied in large pieces by the caller.
/// With `markers`, only runs right after one of them are masked (`scope: client`).
fn scan(
    mask: &Mask,
    data: &[u8],
    (start, end): (usize, usize),
    left: u8,
    (out, copied): (&mut Vec<u8>, &mut usize),
    markers: &[&[u8]],
) -> u64 {
    let data = &data[..end];
    if !markers.is_empty() && !might_hold_marker(&data[start..]) {
        // Nearly every line's rest under `scope: client`: no marker, nothing to look at.
        return 0;
    }
    let mut pos = start;
    let mut changed = 0;
    // Every address contains `.` or `:`; jumping between them keeps the common bytes of a
    // line (words, paths, quotes) off any per-byte path.
    // Bytes before `floor` belong to runs already decided.
    let mut floor = start;
    let mut seps = Seps::new();
    while let Some(p) = seps.next(data, pos) {
        // Most hits are in words and URLs ("index.html", "https:"). A `.` of an address sits
        // between digits, a `:` next to a hex digit or another `:`; any address has such a
        // separator, so a hit that fails this is skipped without measuring its run, and the
        // run (if it holds an address) is measured from that other separator.
        // A dotted quad's first dot passes the `.` test below, and every IPv6 text has a `:`
        // next to a hex digit or `:`.
        if data[p] == b'%' {
            // An encoded separator starts (or continues) an encoded address; any other
            // `%XY` only bounds the runs beside it, which their own separators find.
            let (len, v) = unit_at(data, p);
            if len == 3 && matches!(v, b'.' | b':') {
                let (s, e) = unit_run(data, p, floor);
                if marked(&data[start..s], markers) {
                    changed += mask_units(mask, data, (start, s, e), left, out, copied);
                }
                (pos, floor) = (e, e);
            } else {
                pos = p + 1;
            }
            continue;
        }
        let before = if p > start { data[p - 1] } else { left };
        let after = data.get(p + 1).copied().unwrap_or(b' ');
        let promising = if data[p] == b'.' {
            // ...and the first dot of a dotted quad has the next one 2-4 bytes on, which
            // turns away version numbers like "537.36" and "5.0" before measuring their run.
            // A `%` may be an encoded digit, which takes three bytes: right after the dot
            // (`1.%32.3.4`) it is enough, and in the three bytes looked at (`8.1%31.2`) it
            // stands for the dot beyond it. Either way the first dot of an address passes
            // on bytes of its own run: a stream, which may not have read further yet,
            // decides as whole input does.
            before.is_ascii_digit()
                && (after == b'%'
                    || after.is_ascii_digit()
                        && (p + 2..p + 5).any(|k| matches!(data.get(k), Some(b'.' | b'%'))))
        } else {
            is_addr(before) || is_addr(after)
        };
        if !promising {
            pos = p + 1;
            continue;
        }
        let s = data[floor..p]
            .iter()
            .rposition(|&b| !is_addr(b))
            .map_or(floor, |k| floor + k + 1);
        let e = data[p + 1..]
            .iter()
            .position(|&b| !is_addr(b))
            .map_or(data.len(), |k| p + 1 + k);
        let escaped = s > start
            && (matches!(data[s - 1], b'\\' | b'%' | b'#')
                || s > start + 1 && data[s - 2] == b'\\');
        if escaped || data.get(e) == Some(&b'%') {
            // A `%XY` beside the run may belong to it (`%3A`) or bound it (`%3D`); a
            // backslash escape before it bounds it (`\x22`, `\t`).
            let (s, e) = unit_run(data, p, floor);
            if marked(&data[start..s], markers) {
                changed += mask_units(mask, data, (start, s, e), left, out, copied);
            }
            (pos, floor) = (e, e);
            continue;
        }
        let lb = if s == start { left } else { data[s - 1] };
        let right_word = e < data.len() && is_word(data[e]);
        let port_last = data[start..s].ends_with(APACHE_CLIENT) && data.get(e) == Some(&b']');
        if !marked(&data[start..s], markers) {
            (pos, floor) = (e, e);
            continue;
        }
        if let Some((a, b, r)) = try_mask(mask, &data[s..e], is_word(lb), right_word, port_last) {
            out.extend_from_slice(&data[*copied..s + a]);
            out.extend_from_slice(r.as_bytes());
            *copied = s + b;
            changed += 1;
        }
        pos = e;
        floor = e;
    }
    changed
}

/// Whether a run after `before` is to be masked: always without markers, else when
/// `before` ends with one.
#[inline]
fn marked(before: &[u8], markers: &[&[u8]]) -> bool {
    markers.is_empty() || markers.iter().any(|m| before.ends_with(m))
}

/// The maximal run of address units around the unit start `p`, not reaching below `floor`.
fn unit_run(data: &[u8], p: usize, floor: usize) -> (usize, usize) {
    let mut s = p;
    while s > floor {
        let (n, v) = unit_before(data, s, floor);
        if !is_addr(v) {
            break;
        }
        s -= n;
    }
    let mut e = p;
    while e < data.len() {
        let (n, v) = unit_at(data, e);
        if !is_addr(v) {
            break;
        }
        e += n;
    }
    (s, e)
}

/// `scan`'s step for a run measured in units, when a `%XY` sits in or beside it: decodes
/// `data[s..e]` (whole units) and masks the address in it like `try_mask`, with the glue
/// rule applied to the decoded neighbours. The new text spells its colons `%3A` (in the
/// run's own case) when the run did. Returns 1 when the text changed.
fn mask_units(
    mask: &Mask,
    data: &[u8],
    (start, s, e): (usize, usize, usize),
    left: u8,
    out: &mut Vec<u8>,
    copied: &mut usize,
) -> u64 {
    let mut text = [0u8; MAX_RUN];
    let mut at = [0usize; MAX_RUN + 1];
    let mut n = 0;
    let mut i = s;
    while i < e {
        if n == MAX_RUN {
            return 0; // too long to be an address
        }
        let (len, v) = unit_at(data, i);
        (text[n], at[n]) = (v, i);
        n += 1;
        i += len;
    }
    at[n] = e;
    let lb = if s == start {
        left
    } else {
        unit_before(data, s, start).1
    };
    let right_word = e < data.len() && is_word(unit_at(data, e).1);
    let Some((a, b, r)) = try_mask(mask, &text[..n], is_word(lb), right_word, false) else {
        return 0;
    };
    let (from, to) = (at[a], at[b]);
    let colon = data[from..to]
        .windows(3)
        .find(|w| w[0] == b'%' && w[1] == b'3' && (w[2] | 0x20) == b'a')
        .map(|w| w[2]);
    let new = r.as_bytes();
    // A literal `%` or `%X` just before the span must not become a unit with the new text,
    // which can start with two hex digits where the old one started with an encoded one
    // (`%%33…` → `%33…`): the first character then stays encoded, so the text decodes as
    // it did and a second pass finds nothing to change.
    let starts_hex = |k: usize| new.len() >= k && new[..k].iter().all(|&b| is_hex(b));
    let merges = match data[..from] {
        [.., b'%'] => starts_hex(2),
        [.., b'%', x] if is_hex(x) => starts_hex(1),
        _ => false,
    };
    out.extend_from_slice(&data[*copied..from]);
    for (k, &c) in new.iter().enumerate() {
        match (c, colon) {
            (b':', Some(case)) => out.extend_from_slice(&[b'%', b'3', case]),
            _ if k == 0 && merges => out.extend_from_slice(format!("%{c:02X}").as_bytes()),
            _ => out.push(c),
        }
    }
    *copied = to;
    1
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

/// Write adapter: accepts arbitrary chunks (lines may be split anywhere, may be 1 GB long
/// without newline) and writes masked bytes to the inner writer with bounded memory.
///
/// Held back between calls is at most a run of address characters that the next bytes could
/// still extend (≤ [`MAX_RUN`] bytes); everything before it is masked and passed on during
/// `write`. Hence [`flush`](Write::flush): after it returns, every byte up to and including the
/// last newline written so far (and usually more of the partial line after it, all but its
/// trailing partial token) has been written to the inner writer, which has been flushed.
///
/// Call [`finish`](MaskingWriter::finish) at the end of input: it emits the held-back tail.
/// Dropping the writer does the same on a best-effort basis, ignoring errors.
pub struct MaskingWriter<W: Write> {
    mask: Mask,
    // `None` only after `finish` moved it out, so Drop knows there is nothing left to do.
    inner: Option<W>,
    pending: Vec<u8>,
    out: Vec<u8>,
    // The byte before pending[0], for the glue rule of a run that starts there.
    left: u8,
    // pending starts inside a run already known to be longer than MAX_RUN.
    skip_run: bool,
    // Client scope: the first field of the current line is behind us.
    in_rest: bool,
    last_in: u8,
    stats: MaskStats,
}

impl<W: Write> MaskingWriter<W> {
    pub fn new(mask: Mask, inner: W) -> Self {
        MaskingWriter {
            mask,
            inner: Some(inner),
            pending: Vec::with_capacity(CHUNK + MAX_RUN + 1),
            out: Vec::with_capacity(CHUNK + CHUNK / 4),
            left: b'\n',
            skip_run: false,
            in_rest: false,
            last_in: b'\n',
            stats: MaskStats::default(),
        }
    }

    /// Counters so far; `lines` counts the current unterminated line as one.
    pub fn stats(&self) -> MaskStats {
        let mut s = self.stats;
        if self.last_in != b'\n' {
            s.lines += 1;
        }
        s
    }

    /// Masks and writes the held-back tail, flushes the inner writer and returns it.
    pub fn finish(mut self) -> io::Result<(W, MaskStats)> {
        self.process(true);
        self.drain_out()?;
        let stats = self.stats();
        let mut inner = self
            .inner
            .take()
            .ok_or_else(|| io::Error::other("writer gone"))?;
        inner.flush()?;
        Ok((inner, stats))
    }

    /// Passes whole lines through unmasked (records not yet due for truncation). Call it
    /// only at a line start, that is after a newline went through `write`, or at the start.
    pub fn write_verbatim(&mut self, buf: &[u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        // At a line start nothing can be held back but a finished token; emit it.
        self.process(true);
        self.skip_run = false;
        self.out.extend_from_slice(buf);
        let last = buf[buf.len() - 1];
        self.left = last;
        self.in_rest = last != b'\n';
        self.last_in = last;
        self.stats.bytes_in += buf.len() as u64;
        self.stats.lines += memchr::memchr_iter(b'\n', buf).count() as u64;
        self.drain_out()
    }

    #[cfg(test)]
    fn buffer_capacity(&self) -> usize {
        self.pending.capacity() + self.out.capacity()
    }

    fn drain_out(&mut self) -> io::Result<()> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(());
        };
        let mut written = 0;
        let result = loop {
            if written == self.out.len() {
                break Ok(());
            }
            match inner.write(&self.out[written..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => written += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.stats.bytes_out += written as u64;
        // Keep whatever the inner writer refused, so a retry loses nothing.
        self.out.drain(..written);
        result
    }

    fn process(&mut self, eof: bool) {
        let data = std::mem::take(&mut self.pending);
        let mut copied = 0;
        let consumed = match self.mask.scope {
            Scope::All => self.process_field(&data, 0, (eof, &[]), &mut copied),
            Scope::Client => self.process_client(&data, eof, &mut copied),
        };
        self.out.extend_from_slice(&data[copied..consumed]);
        self.pending = data;
        self.pending.drain(..consumed);
    }

    /// Masks `data[i..]` as (part of) one address-bearing stretch that may continue in later
    /// input; returns how far it got (the rest is the tail to hold back).
    /// With `markers`, only runs right after one are masked (the rest of a line under
    /// `scope: client`).
    fn process_field(
        &mut self,
        data: &[u8],
        mut i: usize,
        (eof, markers): (bool, &[&[u8]]),
        copied: &mut usize,
    ) -> usize {
        if self.skip_run {
            loop {
                if i == data.len() {
                    return i;
                }
                let unfinished = unfinished_unit(&data[i..]);
                if !eof && unfinished == data.len() - i {
                    // `%` or `%3` at the end: whether it continues the run is not known yet.
                    return i;
                }
                let (n, v) = unit_at(data, i);
                if !is_addr(v) {
                    break;
                }
                i += n;
            }
            // The unit at i ends the long run; not an address byte, it needs no left context.
            self.skip_run = false;
        }
        let cut = if eof {
            data.len()
        } else {
            let hold = if markers.is_empty() {
                ALL_MARKERS
            } else {
                markers
            };
            let (bytes, units) = held_tail(&data[i..], hold);
            if units > MAX_RUN {
                // Too long to be an address whatever follows: let it go, skip its
                // continuation (an unfinished `%XY` at the end waits to be read whole).
                self.skip_run = true;
                data.len() - unfinished_unit(&data[i..])
            } else {
                data.len() - bytes
            }
        };
        if cut > i {
            let out = (&mut self.out, &mut *copied);
            self.stats.masked += scan(&self.mask, data, (i, cut), self.left, out, markers);
            self.left = unit_before(data, cut, i).1;
        }
        cut.max(i)
    }

    fn process_client(&mut self, data: &[u8], eof: bool, copied: &mut usize) -> usize {
        let mut i = 0;
        let mut hints = NextHints::new();
        while i < data.len() {
            if self.in_rest {
                let (end, newline) = match memchr(b'\n', &data[i..]) {
                    Some(k) => (i + k, true),
                    None => (data.len(), false),
                };
                if newline && hints.at(data, i) >= end {
                    // A whole rest without a marker: nothing in it is masked (`scan`
                    // would find no hint either), and a long run ends with the line.
                } else {
                    // The newline is a boundary, so the line's rest can be masked as if
                    // at EOF.
                    let done = self.process_field(
                        &data[..end],
                        i,
                        (eof || newline, CLIENT_MARKERS),
                        copied,
                    );
                    if !newline {
                        return done;
                    }
                }
                self.skip_run = false;
                i = end + 1;
                self.in_rest = false;
                self.left = b'\n';
            } else {
                let at_line_start = if i == 0 {
                    self.left == b'\n' && !self.skip_run
                } else {
                    data[i - 1] == b'\n'
                };
                if at_line_start && data[i] == b'{' {
                    // A JSON record's first field is no client field.
                    self.in_rest = true;
                    continue;
                }
                match memchr3(b' ', b'\t', b'\n', &data[i..]) {
                    Some(k) => {
                        let f = i + k;
                        if !(at_line_start && self.mask_whole_field(data, (i, f), copied)) {
                            // The field end is a boundary, so it can be masked as if at EOF.
                            let done = self.process_field(&data[..f], i, (true, &[]), copied);
                            debug_assert_eq!(done, f);
                        }
                        self.skip_run = false;
                        self.in_rest = true;
                        i = f;
                    }
                    None => return self.process_field(data, i, (eof, &[]), copied),
                }
            }
        }
        i
    }
}

impl<W: Write> MaskingWriter<W> {
    /// The CLF fast path: a whole first field that is one address, as nearly every client
    /// field is, is masked directly. `scan` would reach the same result in more steps (a
    /// whole field is a maximal run, and neither its line start nor the blank after it is a
    /// word byte); `prop_client_fast_path_equals_scan` holds the two equal. Returns false,
    /// having done nothing, for any other field.
    fn mask_whole_field(
        &mut self,
        data: &[u8],
        (i, f): (usize, usize),
        copied: &mut usize,
    ) -> bool {
        let field = &data[i..f];
        let outcome = if let Some(a) = parse_v4(field) {
            mask_v4(&self.mask, a)
        } else if field.len() <= 45 && field.contains(&b':') {
            match mask_v6(&self.mask, field, false) {
                Some(o) => o,
                None => return false,
            }
        } else {
            return false;
        };
        if let Outcome::New(r) = outcome {
            self.out.extend_from_slice(&data[*copied..i]);
            self.out.extend_from_slice(r.as_bytes());
            *copied = f;
            self.stats.masked += 1;
        }
        self.left = data[f - 1];
        true
    }
}

impl<W: Write> Write for MaskingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Output left over from a failed inner write goes first, so errors surface here
        // before any new input is accepted.
        self.drain_out()?;
        let n = buf.len().min(CHUNK);
        let taken = &buf[..n];
        self.stats.bytes_in += n as u64;
        self.stats.lines += memchr::memchr_iter(b'\n', taken).count() as u64;
        self.last_in = taken[n - 1];
        let mut rest = taken;
        if !self.pending.is_empty() {
            // Settle the held-back tail with just enough new bytes (up to a non-address byte),
            // so the bulk of `buf` can be masked in place instead of being copied first.
            let k = rest
                .iter()
                .position(|&b| !is_addr(b))
                .map_or(rest.len(), |k| k + 1)
                .min(MAX_RUN + 2);
            self.pending.extend_from_slice(&rest[..k]);
            rest = &rest[k..];
            self.process(false);
            if !self.pending.is_empty() {
                self.pending.extend_from_slice(rest);
                rest = &[];
                self.process(false);
            }
        }
        if !rest.is_empty() {
            let mut copied = 0;
            let consumed = match self.mask.scope {
                Scope::All => self.process_field(rest, 0, (false, &[]), &mut copied),
                Scope::Client => self.process_client(rest, false, &mut copied),
            };
            self.out.extend_from_slice(&rest[copied..consumed]);
            self.pending.extend_from_slice(&rest[consumed..]);
        }
        // The input is accepted at this point; a failure here is reported by the next call
        // (like BufWriter), with the unwritten output kept.
        let _ = self.drain_out();
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain_out()?;
        match self.inner.as_mut() {
            Some(inner) => inner.flush(),
            None => Ok(()),
        }
    }
}

impl<W: Write> Drop for MaskingWriter<W> {
    fn drop(&mut self) {
        if self.inner.is_some() {
            self.process(true);
            let _ = self.drain_out();
        }
    }
}

/// Stream filter: reader → writer. When `flush_each_line` is true (input is a pipe, e.g. an
/// Apache piped logger) every complete line is flushed to `output` as soon as it has been
/// read: after each read that completed at least one line.
pub fn mask_stream<R: Read, W: Write>(
    mask: &Mask,
    mut input: R,
    output: W,
    flush_each_line: bool,
) -> io::Result<MaskStats> {
    let mut w = MaskingWriter::new(*mask, output);
    let mut buf = crate::aligned::AlignedBuf::new(CHUNK);
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..n])?;
        if flush_each_line && memchr(b'\n', &buf[..n]).is_some() {
            w.flush()?;
        }
    }
    let (_, stats) = w.finish()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::IpAddr;

    fn masked(mask: &Mask, s: &[u8]) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let n = mask_line(mask, s, &mut out);
        (out, n)
    }

    fn m(s: &str) -> String {
        String::from_utf8(masked(&Mask::default(), s.as_bytes()).0).unwrap()
    }

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

    /// Found by the fuzzer: the new text began with two hex digits where the old began with
    /// `%33`, and made a unit with the literal `%` before it, so a second pass changed it.
    #[test]
    fn a_replacement_never_merges_with_a_literal_percent_before_it() {
        let mask = |scope| Mask::new(24, 120, scope).unwrap();
        for (scope, input) in [
            (Scope::Client, "A%3%33A%3A%3A"),
            (Scope::All, "x %%33%33%3A%3A1 y"),
            (Scope::All, "x %3%33%3A%3A1 y"),
        ] {
            let (once, n) = masked(&mask(scope), input.as_bytes());
            assert_eq!(n, 1, "{input}");
            let (twice, again) = masked(&mask(scope), &once);
            assert_eq!(again, 0, "{input} -> {}", String::from_utf8_lossy(&once));
            assert_eq!(twice, once);
        }
        assert_eq!(
            m("x %%33%33%3A%3A1 y"),
            "x %%333%3A%3A1 y".replace("3%3A%3A1", "3%3A%3A")
        );
    }

    /// Found by the fuzzer: with encoded digits no dot of `8.1%31.2%35.1` had another dot
    /// within reach but the last, and that one only past the run's end, which a stream fed
    /// byte by byte had not read yet: whole input was masked, streamed input not.
    #[test]
    fn encoded_digits_are_found_in_whole_and_streamed_input_alike() {
        let mask = Mask::new(0, 0, Scope::All).unwrap();
        let input = b"8.1%31.2%35.1\x00.";
        let (whole, n) = masked(&mask, input);
        assert_eq!((whole.as_slice(), n), (&b"0.0.0.0\x00."[..], 1));
        let (streamed, _) = stream(&mask, input, &[1; 16]);
        assert_eq!(streamed, whole);
        // ...and an encoded digit right after the first dot (`5.%361`): its own digits filled
        // the look-ahead, so again only the last dot decided, past the run's end.
        let mask = Mask::new(24, 120, Scope::Client).unwrap();
        let input = b"5.%361.%333.4%.";
        let (whole, n) = masked(&mask, input);
        assert_eq!((whole.as_slice(), n), (&b"5.61.33.0%."[..], 1));
        let (streamed, _) = stream(&mask, input, &[1; 16]);
        assert_eq!(streamed, whole);
    }

    /// An escape or `[client ` cut by a read buffer must be read as in whole input: held
    /// back with the run after it, never emitted half-read.
    #[test]
    fn escapes_and_apache_client_split_across_writes_mask_as_whole() {
        let mask = Mask::default();
        for (input, count) in [
            (
                &b"?q=\\x22203.0.113.9\\x22 \\u0022198.51.100.7\\t2001:db8:abcd::1\n"[..],
                3,
            ),
            (b"[client 2001:db8:abcd:12::1:51234] AH01071\n", 1),
        ] {
            let (whole, n) = masked(&mask, input);
            assert_eq!(n, count);
            for at in 1..input.len() {
                let (streamed, st) = stream(&mask, input, &[at]);
                assert_eq!(streamed, whole, "split at {at}");
                assert_eq!(st.masked, n as u64);
            }
            assert_eq!(stream(&mask, input, &vec![1; input.len()]).0, whole);
        }
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
    fn an_apache_client_run_whose_masked_last_group_reads_as_a_port_is_masked_to_a_fixed_point() {
        // Fuzzer find: `::1:f` has no port, so it was masked whole to `::1:0`, which a second
        // pass read as `::1` with port 0 and masked again.
        for line in [
            " [client ::1:f]",
            " [client 2001:db8::1:ab]",
            " [client ::1:f] x",
        ] {
            for scope in [Scope::Client, Scope::All] {
                let mask = Mask::new(24, 120, scope).unwrap();
                let mut once = Vec::new();
                mask_line(&mask, line.as_bytes(), &mut once);
                let mut twice = Vec::new();
                assert_eq!(
                    mask_line(&mask, &once, &mut twice),
                    0,
                    "{line:?} -> {once:?}"
                );
                assert_eq!(once, twice);
            }
        }
    }

    #[test]
    fn a_marker_being_written_right_after_a_run_never_cuts_the_run() {
        // Fuzzer find: `7` + `cl` (the start of `client: `) cut `::7c` in two in a stream,
        // so `::7` was masked there and left alone in whole input, where `::7cl` is glued.
        for line in [
            " [client ::7cl",
            "x [client 2001:db8::7cl",
            " [client 1::7cl x",
            "1[client 2001:db8:abcd:12::1:5123\u{cd}4] [client 2001:db8::7:56cl[ 8]7ient ::ffff:203.0.113.195:5123]\n",
            "[client 2001:d3.4%3A0:1253112--\u{1}\0\0\u{3}\0--t 2001:db8::7:5678] [client ::ffcli[clieent 2001:db8::7:5678]",
            " [client ::ffcl%20",
        ] {
            for scope in [Scope::Client, Scope::All] {
                let mask = Mask::new(24, 120, scope).unwrap();
                let mut whole = Vec::new();
                mask_line(&mask, line.as_bytes(), &mut whole);
                for step in 1..5 {
                    let mut w = MaskingWriter::new(mask, Vec::new());
                    for piece in line.as_bytes().chunks(step) {
                        w.write_all(piece).unwrap();
                    }
                    let (streamed, _) = w.finish().unwrap();
                    assert_eq!(
                        String::from_utf8_lossy(&streamed),
                        String::from_utf8_lossy(&whole),
                        "{line:?} in pieces of {step}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_client_marker_holds_a_hint() {
        for m in CLIENT_MARKERS {
            assert!(might_hold_marker(m), "{}", String::from_utf8_lossy(m));
        }
        assert!(!might_hold_marker(b"GET /?ip=1.2.3.4 \"x\" 203.0.113.9"));
    }

    /// `scope: client` masks the record's client in every format, and nothing else.
    #[test]
    fn client_scope_masks_the_client_of_error_logs_and_json_records() {
        let mask = Mask::new(24, 40, Scope::Client).unwrap();
        let input = "\
2026/11/30 22:10:56 [error] 1#1: *2 open() \"/h/198.51.100.23\" failed, client: 203.0.113.195, server: , request: \"GET /?ip=198.51.100.7 HTTP/1.1\", referrer: \"http://[2a02:8108:1234:5600::789a]/\"
[Mon Nov 30 22:10:56.335118 2026] [core:info] [pid 1:tid 2] [client 2001:db8:abcd:12::1:37879] AH00128: File does not exist: /h/198.51.100.23, referer: http://203.0.113.9/
[Mon Nov 30 22:10:56.335118 2026] [core:info] [pid 1:tid 2] [client 2001:db8::7:5678] AH00128
{\"time\":\"2026-11-30T22:10:56+00:00\",\"remote_addr\":\"203.0.113.195\",\"request\":\"GET /?ip=198.51.100.7\",\"xff\":\"198.51.100.7, 2001:db8::1\"}
{\"request\": {\"remote_ip\": \"2001:db8:abcd::1\", \"client_ip\": \"198.51.100.7\", \"host\": \"203.0.113.9\"}}
2001:db8:abcd:12::1:56177 [30/Nov/2026:22:10:56.352] fe be/nginx {198.51.100.7||} \"GET /?q=#22203.0.113.9#22\"
";
        let want = "\
2026/11/30 22:10:56 [error] 1#1: *2 open() \"/h/198.51.100.23\" failed, client: 203.0.113.0, server: , request: \"GET /?ip=198.51.100.7 HTTP/1.1\", referrer: \"http://[2a02:8108:1234:5600::789a]/\"
[Mon Nov 30 22:10:56.335118 2026] [core:info] [pid 1:tid 2] [client 2001:db8:ab00:::37879] AH00128: File does not exist: /h/198.51.100.23, referer: http://203.0.113.9/
[Mon Nov 30 22:10:56.335118 2026] [core:info] [pid 1:tid 2] [client 2001:db8:::5678] AH00128
{\"time\":\"2026-11-30T22:10:56+00:00\",\"remote_addr\":\"203.0.113.0\",\"request\":\"GET /?ip=198.51.100.7\",\"xff\":\"198.51.100.7, 2001:db8::1\"}
{\"request\": {\"remote_ip\": \"2001:db8:ab00::\", \"client_ip\": \"198.51.100.0\", \"host\": \"203.0.113.9\"}}
2001:db8:ab00:::56177 [30/Nov/2026:22:10:56.352] fe be/nginx {198.51.100.7||} \"GET /?q=#22203.0.113.9#22\"
";
        let (out, n) = masked(&mask, input.as_bytes());
        assert_eq!(String::from_utf8(out.clone()).unwrap(), want);
        assert_eq!(n, 7);
        assert_eq!(masked(&mask, &out), (out.clone(), 0));
        for at in 1..input.len() {
            assert_eq!(
                stream(&mask, input.as_bytes(), &[at]).0,
                out,
                "split at {at}"
            );
        }
        assert_eq!(
            stream(&mask, input.as_bytes(), &vec![1; input.len()]).0,
            out
        );
    }

    #[test]
    fn invalid_utf8_and_binary_pass_through() {
        let input = b"\xff\xfe1.2.3.4\x00\xc3(\r\n\xff";
        let (out, n) = masked(&Mask::default(), input);
        assert_eq!(out, b"\xff\xfe1.2.3.0\x00\xc3(\r\n\xff");
        assert_eq!(n, 1);
    }

    #[test]
    fn parse_v6_agrees_with_std() {
        for s in [
            "::",
            "::1",
            "1::",
            ":1",
            "1:",
            ":::",
            "1:::2",
            "1::2::3",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "1.2.3.4::",
            "::1.2.3.4:1",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::",
            "::1:2:3:4:5:6:7",
            "::1:2:3:4:5:6:7:8",
            "12345::",
            "0000:0000:0000:0000:0000:0000:255.255.255.255",
            "::01.2.3.4",
            "dead:beef::",
            "DEAD:BEEF::CAFE",
            "fe80::1%eth0",
            "",
            "g::",
            "1:2:3:4:5:6:7:",
        ] {
            assert_eq!(parse_v6(s.as_bytes()), s.parse::<Ipv6Addr>().ok(), "{s}");
        }
    }

    #[test]
    fn parse_v4_agrees_with_std() {
        for s in [
            "1.2.3.4",
            "01.2.3.4",
            "1.2.3.256",
            "1.2.3",
            "1.2.3.4.5",
            "0.0.0.0",
            "1..2.3",
            "1.2.3.",
            "255.255.255.255",
            "1.2.3.00",
            "a.b.c.d",
            "1.2.3.0x1",
        ] {
            assert_eq!(
                parse_v4(s.as_bytes()).map(Ipv4Addr::from),
                s.parse::<Ipv4Addr>().ok(),
                "{s}"
            );
        }
    }

    fn stream(mask: &Mask, input: &[u8], splits: &[usize]) -> (Vec<u8>, MaskStats) {
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

    #[test]
    fn stream_stats() {
        let (out, st) = stream(&Mask::default(), b"1.2.3.4 a\n5.6.7.8", &[3, 9]);
        assert_eq!(out, b"1.2.3.0 a\n5.6.7.0");
        assert_eq!(
            st,
            MaskStats {
                bytes_in: 17,
                bytes_out: 17,
                lines: 2,
                masked: 2
            }
        );
        let st = mask_stream(&Mask::default(), &b""[..], Vec::new(), false).unwrap();
        assert_eq!(st, MaskStats::default());
        let st = mask_stream(&Mask::default(), &b"a\nb\n"[..], Vec::new(), true).unwrap();
        assert_eq!(st.lines, 2);
    }

    /// Records what reached the inner writer at the time of each flush.
    #[derive(Default)]
    struct FlushLog {
        data: Vec<u8>,
        flushed: Vec<Vec<u8>>,
    }

    impl Write for FlushLog {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.data.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushed.push(self.data.clone());
            Ok(())
        }
    }

    #[test]
    fn flush_emits_every_complete_line() {
        for scope in [Scope::All, Scope::Client] {
            let mask = Mask::new(24, 40, scope).unwrap();
            let mut w = MaskingWriter::new(mask, FlushLog::default());
            w.write_all(b"1.2.3.4 a 9.9.9.9\n5.6.7.").unwrap();
            w.flush().unwrap();
            {
                let log = w.inner.as_ref().unwrap();
                let at_flush = log.flushed.last().unwrap();
                let want: &[u8] = if scope == Scope::All {
                    b"1.2.3.0 a 9.9.9.0\n"
                } else {
                    b"1.2.3.0 a 9.9.9.9\n"
                };
                assert!(at_flush.starts_with(want), "{scope:?}");
                // the partial token may still become an address: held back
                assert!(!at_flush.ends_with(b"5.6.7."));
            }
            w.write_all(b"8 x\n").unwrap();
            let (log, _) = w.finish().unwrap();
            assert!(log.data.ends_with(b"5.6.7.0 x\n"));
        }
    }

    #[test]
    fn drop_emits_the_held_back_tail() {
        let mut sink = Vec::new();
        {
            let mut w = MaskingWriter::new(Mask::default(), &mut sink);
            w.write_all(b"a 1.2.3.4").unwrap();
        }
        assert_eq!(sink, b"a 1.2.3.0");
    }

    #[test]
    fn inner_write_errors_surface() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = MaskingWriter::new(Mask::default(), Broken);
        w.write_all(b"1.2.3.4 x\n").unwrap();
        assert!(w.write_all(b"more\n").is_err());
        assert!(w.flush().is_err());
        assert!(w.finish().is_err());
        let err = mask_stream(&Mask::default(), &b"1.2.3.4\n"[..], Broken, false);
        assert!(err.is_err());
    }

    #[test]
    fn mask_stream_flushes_each_line_read_from_a_pipe() {
        struct OneLine(Vec<&'static [u8]>);
        impl Read for OneLine {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Ok(0);
                }
                let l = self.0.remove(0);
                buf[..l.len()].copy_from_slice(l);
                Ok(l.len())
            }
        }
        let mut log = FlushLog::default();
        let input = OneLine(vec![b"1.2.3.4 a\n", b"5.6.7.8 b\n"]);
        mask_stream(&Mask::default(), input, &mut log, true).unwrap();
        assert_eq!(log.flushed[0], b"1.2.3.0 a\n");
        assert_eq!(log.flushed[1], b"1.2.3.0 a\n5.6.7.0 b\n");
    }

    #[test]
    fn long_line_streams_in_bounded_memory() {
        // 64 MiB without a newline, fed through a reader in the stream's own chunks; the line
        // mixes address-character runs (one longer than MAX_RUN) with real addresses.
        struct Gen {
            left: usize,
            pattern: Vec<u8>,
            at: usize,
        }
        impl Read for Gen {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.left);
                for b in &mut buf[..n] {
                    *b = self.pattern[self.at];
                    self.at = (self.at + 1) % self.pattern.len();
                }
                self.left -= n;
                Ok(n)
            }
        }
        let mut pattern = b"x 1.2.3.4 ".to_vec();
        pattern.extend(std::iter::repeat_n(b'a', 3000));
        pattern.extend_from_slice(b" 2001:db8::1,");
        let total = 64 << 20;
        let gen_input = Gen {
            left: total,
            pattern: pattern.clone(),
            at: 0,
        };
        struct Count(u64);
        impl Write for Count {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0 += buf.len() as u64;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let stats = mask_stream(&Mask::default(), gen_input, Count(0), false).unwrap();
        assert_eq!(stats.bytes_in, total as u64);
        assert_eq!(stats.lines, 1);
        assert!(stats.masked > 2 * (total / pattern.len()) as u64 - 2);

        // and a single huge write through the adapter keeps its buffers at their start size
        let mut w = MaskingWriter::new(Mask::default(), Count(0));
        let start = w.buffer_capacity();
        let big = vec![b'7'; 8 << 20];
        w.write_all(&big).unwrap();
        w.write_all(b".1.1.1").unwrap();
        assert_eq!(w.buffer_capacity(), start);
        assert!(start < 1 << 20);
        let (c, st) = w.finish().unwrap();
        assert_eq!(c.0, (8 << 20) + 6);
        assert_eq!(st.masked, 0);
    }

    /// Log-like text: addresses of all forms among the separators they are found next to.
    fn loglike() -> impl Strategy<Value = Vec<u8>> {
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

    fn any_mask() -> impl Strategy<Value = Mask> {
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

    fn check_props(mask: &Mask, input: &[u8]) -> Result<(), TestCaseError> {
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

        #[test]
        fn prop_stream_equals_whole(
            mask in any_mask(),
            input in prop_oneof![loglike(), prop::collection::vec(any::<u8>(), 0..300)],
            splits in prop::collection::vec(0usize..40, 0..20),
        ) {
            let (whole, n) = masked(&mask, &input);
            let (streamed, st) = stream(&mask, &input, &splits);
            prop_assert_eq!(&streamed, &whole);
            prop_assert_eq!(st.masked, n as u64);
            prop_assert_eq!(st.bytes_in, input.len() as u64);
            prop_assert_eq!(st.bytes_out, whole.len() as u64);
        }

        #[test]
        fn prop_seps_stop_at_every_separator_and_nothing_else(data in prop::collection::vec(prop::sample::select(b"..::%%ab\x2e\x3a\x25\xae\xba\xa5\0\xff".to_vec()), 0..200), starts in prop::collection::vec(0usize..210, 1..8)) {
            let naive = |i: usize| data.iter().enumerate().skip(i).find(|(_, b)| matches!(b, b'.' | b':' | b'%')).map(|(k, _)| k);
            let mut seps = Seps::new();
            let mut i = 0;
            // forwards as `scan` walks, with jumps, then from arbitrary starts
            while let Some(p) = seps.next(&data, i) {
                prop_assert_eq!(Some(p), naive(i));
                i = p + 1 + (p % 3) * 17;
            }
            prop_assert_eq!(naive(i), None);
            for &i in &starts {
                prop_assert_eq!(Seps::new().next(&data, i), naive(i));
                if let Some(block) = data.get(i..).and_then(|d| d.first_chunk::<64>()) {
                    prop_assert_eq!(sep_bits_block(block), sep_bits_bytewise(block));
                }
            }
        }

        #[test]
        fn prop_parse_v6_matches_std(
            text in prop_oneof![
                "[0-9a-fA-F:.]{0,45}",
                "[0:.1fF]{0,24}",
                "([0-9a-f]{0,5}:){0,9}[0-9a-f]{0,5}",
                "([0-9a-f]{0,4}:){0,7}(::)?([0-9a-f]{0,4}:){0,4}[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,4}",
                any::<u128>().prop_map(|a| Ipv6Addr::from_bits(a).to_string()),
                any::<[u16; 8]>().prop_map(|g| g.map(|x| format!("{x:04X}")).join(":")),
            ]
        ) {
            prop_assert_eq!(parse_v6(text.as_bytes()), text.parse::<Ipv6Addr>().ok(), "{}", text);
        }

        #[test]
        fn prop_v6_text_matches_std(a in any::<u128>(), zeros in any::<u8>(), v4 in any::<u32>()) {
            // many zero groups, so that every compression case shows up
            let mut g = Ipv6Addr::from_bits(a).segments();
            for (i, x) in g.iter_mut().enumerate() {
                if zeros & (1 << i) != 0 {
                    *x = 0;
                }
            }
            for addr in [Ipv6Addr::from(g), Ipv4Addr::from(v4).to_ipv6_mapped()] {
                let ours = Repl::v6(addr).as_bytes().to_vec();
                prop_assert_eq!(ours, addr.to_string().into_bytes());
            }
        }

        #[test]
        fn prop_encoded_runs_are_idempotent_and_stream_like_whole(
            mask in any_mask(),
            units in prop::collection::vec(prop::sample::select(vec![
                "%", "%3", "%33", "%3A", "%3a", "%41", "%2E", "%20", "%%", "3", "a", "A", ":", ".", "1", " ", "\n",
            ]), 0..30),
            splits in prop::collection::vec(0usize..12, 0..8),
        ) {
            let input = units.concat().into_bytes();
            check_props(&mask, &input)?;
            let (whole, _) = masked(&mask, &input);
            let (streamed, _) = stream(&mask, &input, &splits);
            prop_assert_eq!(streamed, whole);
        }

        /// Escapes split anywhere across writes: a stream must read the escape before a
        /// run (and `[client ` before an Apache address) as whole input does.
        #[test]
        fn prop_escaped_runs_are_idempotent_and_stream_like_whole(
            mask in any_mask(),
            units in prop::collection::vec(prop_oneof![
                prop::sample::select(vec![
                    "\\x22", "\\x09", "\\xC3\\xA9", "\\x3a", "\\t", "\\\"", "\\\\", "\\u0022", "\\u00e9",
                    "\\f", "#22", "#", "#2", "\\", "\\x", "\\u00", "[client ", "[clie", "]", "...", "::", "a:", "ec2:",
                    "80:", ":", ".", " ", ",", "\n", "%22", "%3A", "client: ", "clie", "{", "\"ip\":\"",
                    "\"remote_addr\": \"", "\"remote_",
                ]).prop_map(str::to_string),
                any::<u32>().prop_map(|a| Ipv4Addr::from(a).to_string()),
                any::<u128>().prop_map(|a| Ipv6Addr::from_bits(a).to_string()),
                any::<[u16; 8]>().prop_map(|g| g.map(|x| format!("{x:x}")).join(":")),
                (1u16..).prop_map(|p| p.to_string()),
            ], 0..12),
            splits in prop::collection::vec(0usize..20, 0..10),
        ) {
            let input = units.concat().into_bytes();
            check_props(&mask, &input)?;
            let (whole, n) = masked(&mask, &input);
            let (streamed, st) = stream(&mask, &input, &splits);
            prop_assert_eq!(&streamed, &whole);
            prop_assert_eq!(st.masked, n as u64);
            let (bytewise, _) = stream(&mask, &input, &vec![1; input.len()]);
            prop_assert_eq!(bytewise, whole);
        }

        #[test]
        fn prop_client_fast_path_equals_scan(
            fields in prop::collection::vec(prop_oneof![
                any::<u32>().prop_map(|a| Ipv4Addr::from(a).to_string()),
                any::<u128>().prop_map(|a| Ipv6Addr::from_bits(a).to_string()),
                any::<u32>().prop_map(|a| Ipv4Addr::from(a).to_ipv6_mapped().to_string()),
                any::<u32>().prop_map(|a| format!("{}:8080", Ipv4Addr::from(a))),
                "[0-9a-fA-F:.\\[\\]x-]{0,20}",
            ], 1..6),
            seps in prop::collection::vec(prop::sample::select(vec![" ", "\t", "\n", " - -\n"]), 6),
            prefixes in (0u8..=32, 0u8..=128),
            splits in prop::collection::vec(0usize..30, 0..8),
        ) {
            let mask = Mask::new(prefixes.0, prefixes.1, Scope::Client).unwrap();
            let mut input = Vec::new();
            for (f, sep) in fields.iter().zip(&seps) {
                input.extend_from_slice(f.as_bytes());
                input.extend_from_slice(sep.as_bytes());
            }
            let (whole, n) = masked(&mask, &input);
            let (streamed, st) = stream(&mask, &input, &splits);
            prop_assert_eq!(&streamed, &whole);
            prop_assert_eq!(st.masked, n as u64);
        }

        #[test]
        fn prop_stream_long_runs(
            mask in any_mask(),
            run in prop::collection::vec(prop::sample::select(b"0123456789abcdef.:%".to_vec()), 100..400),
            splits in prop::collection::vec(0usize..200, 0..6),
        ) {
            let mut input = b"1.2.3.4 ".to_vec();
            input.extend_from_slice(&run);
            input.extend_from_slice(b" 5.6.7.8\n");
            let (whole, _) = masked(&mask, &input);
            let (streamed, _) = stream(&mask, &input, &splits);
            prop_assert_eq!(streamed, whole);
        }
    }
}
