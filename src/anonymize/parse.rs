//! The address parsers and the canonical text of a masked address: does a piece of a run
//! parse as an IPv4 or IPv6 address, and what text replaces it.
//!
//! They exist because std's parser and `Display` were the largest single costs of masking;
//! hand-written, they must accept exactly what `std::net` accepts and write exactly what its
//! `Display` writes (property tests hold both equal), never allocate (a replacement is a
//! fixed-size [`Repl`]) and never panic on any bytes. They decide nothing about where a run
//! starts or ends, which forms of it are tried, or how it was encoded: that is `forms` and
//! `scan`.

use std::net::{Ipv4Addr, Ipv6Addr};

use memchr::memchr;

use super::Mask;

/// Replacement text of one address; fixed size so that masking never allocates.
pub(super) struct Repl {
    buf: [u8; 64],
    len: usize,
}

impl Repl {
    pub(super) fn new() -> Self {
        Repl {
            buf: [0; 64],
            len: 0,
        }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub(super) fn push(&mut self, b: u8) {
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

pub(super) enum Outcome {
    Same,
    New(Repl),
}

/// Strict dotted quad as `std::net::Ipv4Addr` accepts it: four decimal octets, no leading
/// zeros, each at most 255. Hand-written because it runs for every dotted run in the input.
pub(super) fn parse_v4(c: &[u8]) -> Option<u32> {
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

pub(super) fn mask_v4(mask: &Mask, a: u32) -> Outcome {
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

pub(super) const NOT_HEX: u8 = 0xff;

pub(super) static HEX_VALUE: [u8; 256] = {
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

pub(super) fn mask_v6(mask: &Mask, c: &[u8], full: bool) -> Option<Outcome> {
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
pub(super) fn mask_addr(mask: &Mask, c: &[u8], labelled: bool) -> Option<(usize, Outcome)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

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
    }
}
