//! How a byte of input is read: percent-encoding (`%3A` is a `:`) and the backslash and
//! HAProxy `#XX` escapes that servers write before a run (`\x22`, `\t`, `\u0022`, `#22`).
//!
//! Addresses are looked for one decoding deep, in units: a `%XY` is one unit standing for the
//! byte XY, an escape counts as the byte it stands for but only as the left neighbour of a
//! run, any other byte is a unit of its own. This is where three fuzzer finds were in two
//! days, so it is kept apart and small: it must never read past the slice or below the
//! `floor` it is given, never panic on a `%` or `\` cut off at the end of input, and report
//! an unfinished unit or escape at the end of a buffer (a stream holds those back rather
//! than deciding on half of one). It never decodes an escape of an address byte: no server
//! writes one.

use super::is_addr;
use super::parse::{HEX_VALUE, NOT_HEX};

// Percent-encoding. In a query string or an encoded URL inside one, `%3A` is a `:` and `%3D`
// an `=`: `?ip=2001%3Adb8%3A%3A1`, `?next=%2Fb%3Fip%3D203.0.113.5`. Addresses are looked for
// in the decoded text, one decoding deep: a `%XY` (two hex digits) is one unit standing for
// the byte XY, any other byte is a unit of its own. Units never overlap (`%` is not a hex
// digit), so walking them forwards or backwards from any unit start agrees.

#[inline]
pub(super) fn is_hex(b: u8) -> bool {
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
pub(super) fn unit_at(data: &[u8], i: usize) -> (usize, u8) {
    match data.get(i..i + 3) {
        Some(&[b'%', x, y]) => decode_pair(x, y).map_or((1, b'%'), |v| (3, v)),
        _ => (1, data[i]),
    }
}

/// The unit that ends at `q` (> `floor`), not reaching below `floor`.
#[inline]
pub(super) fn unit_before(data: &[u8], q: usize, floor: usize) -> (usize, u8) {
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
pub(super) fn unfinished_escape(d: &[u8]) -> usize {
    let tail = &d[d.len().saturating_sub(5)..];
    let hash = &d[d.len().saturating_sub(2)..];
    let at = memchr::memrchr(b'\\', tail).map(|k| tail.len() - k);
    at.max(memchr::memrchr(b'#', hash).map(|k| hash.len() - k))
        .unwrap_or(0)
}

/// Length of a `%` or `%X` at the end of `d` that more input could still make a unit.
pub(super) fn unfinished_unit(d: &[u8]) -> usize {
    match d {
        [.., b'%'] => 1,
        [.., b'%', x] if is_hex(*x) => 2,
        _ => 0,
    }
}

/// The maximal run of address units around the unit start `p`, not reaching below `floor`.
pub(super) fn unit_run(data: &[u8], p: usize, floor: usize) -> (usize, usize) {
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

#[cfg(test)]
mod tests {
    use crate::anonymize::test_support::{any_mask, check_props, masked, stream};
    use crate::anonymize::{Mask, Scope};
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Fuzzer find: a run too long to be an address (129 bytes) ended with the `c` of a
    /// `client: ` marker. A stream fed byte by byte let the run go with that `c` and skipped
    /// the run's continuation, so `scan` saw `lient: ` and left the client after it unmasked
    /// where whole input masks it.
    #[test]
    fn a_client_marker_glued_to_an_over_long_run_is_masked_in_whole_and_streamed_input_alike() {
        let mask = Mask::new(0, 0, Scope::Client).unwrap();
        let input = [
            "[client ",
            "9.98.133.100",
            "1000:21a1:101e:3609:a444:77f5:1005:1000",
            "1000:1000:1000:1000:1000:1000:1000:1000",
            "22f4:23fb:55f:ddf4:1000:15ac:1001:1000",
            "client: ",
            "0.0.0.1",
        ]
        .concat()
        .into_bytes();
        let (whole, n) = masked(&mask, &input);
        assert_eq!(n, 1);
        assert!(whole.ends_with(b"1000client: 0.0.0.0"));
        assert_eq!(masked(&mask, &whole), (whole.clone(), 0));
        assert_eq!(stream(&mask, &input, &vec![1; input.len()]).0, whole);
        for at in 1..input.len() {
            assert_eq!(stream(&mask, &input, &[at]).0, whole, "split at {at}");
        }
        // ...and when the run was already known to be too long, and skipped, before the `c`.
        let input = format!("x {}client: 203.0.113.9", "1".repeat(200)).into_bytes();
        let (whole, n) = masked(&mask, &input);
        assert_eq!(n, 1);
        assert!(whole.ends_with(b"1client: 0.0.0.0"));
        assert_eq!(stream(&mask, &input, &vec![1; input.len()]).0, whole);
        for at in 1..input.len() {
            assert_eq!(stream(&mask, &input, &[at]).0, whole, "split at {at}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

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
    }
}
