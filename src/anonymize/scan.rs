//! The scanner: walks a buffer from separator to separator, cuts out each run of address
//! characters (in units when a `%XY` or an escape sits in or beside it) and replaces the
//! address that `forms` finds in it.
//!
//! Both whole-line masking and the streaming writer call it on spans that end at a boundary,
//! so both decide alike. It must never change a byte outside an address it replaces, never
//! read past the span's end (a stream may not have read further yet: what decides a run
//! must lie in the run), and never leave text that a second pass would change (a replaced
//! encoded run keeps its encoding, and never merges with a literal `%` before it).

use super::decode::{unit_at, unit_before, unit_run};
use super::forms::try_mask;
use super::markers::{APACHE_CLIENT, marked};
use super::seps::Seps;
use super::{MAX_RUN, Mask, is_addr, is_word};

/// Masks every address run in `data[start..end]`. `left` is the byte before `data[start]`
/// (`\n` at the start of input); `end` must be a boundary: end of input, or a non-address
/// byte follows (callers cut after one). Output is appended lazily: `data[*copied..]` is
/// what has not been appended yet, so unchanged text is copied in large pieces by the caller.
/// With `markers`, only runs right after one of them are masked (`scope: client`).
pub(super) fn scan(
    mask: &Mask,
    data: &[u8],
    (start, end): (usize, usize),
    left: u8,
    (out, copied): (&mut Vec<u8>, &mut usize),
    markers: &[&[u8]],
) -> u64 {
    let data = &data[..end];
    if !markers.is_empty() && !mask.client.might_hold(&data[start..]) {
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
        let s = seps.run_start(data, floor, p);
        let e = seps.run_end(data, p);
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
        if !seps.separators_allow(s, e) {
            // `try_mask` would find no address in it (see `forms::separators_allow`).
            (pos, floor) = (e, e);
            continue;
        }
        let lb = if s == start { left } else { data[s - 1] };
        let right_word = e < data.len() && is_word(data[e]);
        let port_last = data.get(e) == Some(&b']') && data[start..s].ends_with(APACHE_CLIENT);
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
    // The text just before the span must not become a unit or an escape with the new text,
    // which can start with hex digits where the old one did not (`%%33…` → `%33…`, `#2e0::`
    // → `#200::`, where `#20` is HAProxy's escape of a space, and likewise `\x`, `\u`, `\b`):
    // the first character is then written encoded, so the text decodes as it did and a
    // second pass finds nothing to change.
    let merges = {
        let lead = &data[from.saturating_sub(5)..from];
        let mut probe = lead.to_vec();
        probe.extend_from_slice(&new[..new.len().min(5)]);
        (1..=new.len().min(5)).any(|k| unit_before(&probe, lead.len() + k, 0).0 > k)
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

#[cfg(test)]
mod tests {
    use crate::anonymize::test_support::{m, masked, stream};
    use crate::anonymize::{Mask, Scope};

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

    /// Found by the property test: `#2e` is no escape (it would stand for a `.`), so `2e0::`
    /// was masked to `200::`, and `#20`, HAProxy's escape of a space, then cut the address
    /// short on a second pass. The same for the backslash escapes before a run.
    #[test]
    fn a_replacement_never_makes_an_escape_with_the_text_before_it() {
        for input in [
            "#2e0::",
            "x #2e0:: y",
            "\\x2e0:: y",
            "\\u2e0::",
            "\\b0e::1",
            "#2e0.1.2.3",
        ] {
            for v6 in [0, 4, 7, 8, 12, 16, 24, 32, 48, 64, 96, 120] {
                for scope in [Scope::All, Scope::Client] {
                    let mask = Mask::new(24, v6, scope).unwrap();
                    let (once, _) = masked(&mask, input.as_bytes());
                    let (twice, again) = masked(&mask, &once);
                    assert_eq!(
                        (again, twice.as_slice()),
                        (0, once.as_slice()),
                        "{input} /{v6} -> {}",
                        String::from_utf8_lossy(&once)
                    );
                }
            }
        }
        let mask = Mask::new(24, 7, Scope::All).unwrap();
        assert_eq!(masked(&mask, b"#2e0::").0, b"#%3200::");
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
}
