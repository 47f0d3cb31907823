//! Which part of one run is an address: the run whole, or without the text the module
//! contract lets surround an address (a `:port`, sentence punctuation, a leading `:`, a
//! `label:`, repeated punctuation, the port of Apache's `[client …]`, a 5-digit port after
//! IPv6), tried in a fixed order.
//!
//! Every exception of the contract is decided here and only here, on a run already cut out
//! by `scan` (already percent-decoded when it was encoded). The first form that is an address
//! decides, even when it needs no change: trying further forms could pick a different token
//! on a second pass, and masking must stay idempotent. It must never look outside the run
//! but for the two glue flags it is given, nor accept a run longer than [`MAX_RUN`]: the
//! stream only holds back that much. The table of the module's tests checks these forms.

use memchr::{memchr, memchr2};

use super::parse::{Outcome, Repl, mask_addr, mask_v4, mask_v6, parse_v4};
use super::{MAX_RUN, Mask};

/// Decides whether the run `run` (maximal, so its neighbours are not address characters)
/// holds an address; returns the replaced span within the run and its new text. `port_last`:
/// the run is the address of an Apache error log's `[client …]`, whose last `:N` is a port.
pub(super) fn try_mask(
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

/// Whether a run with `dots` dots and `colons` colons (`double`: two of them side by side)
/// can hold any form [`try_mask`] accepts: every one needs three dots (IPv4, alone or inside
/// IPv6), a `::` or seven colons (IPv6). The one statement of the rule: `scan` asks it too,
/// with counts taken from the separator finder's bits, before calling `try_mask`.
#[inline]
pub(super) fn separators_allow(dots: u32, colons: u32, double: bool) -> bool {
    dots >= 3 || colons >= 7 || double
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
    // Clock times (`2024:00:00:01`) and versions are turned away with one look at their
    // bytes.
    let (mut dots, mut colons, mut double) = (0u32, 0u32, false);
    let mut last = 0;
    for &b in run {
        dots += u32::from(b == b'.');
        colons += u32::from(b == b':');
        double |= b == b':' && last == b':';
        last = b;
    }
    if !separators_allow(dots, colons, double) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anonymize::{Scope, mask_line};

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
}
