//! The separator finder: where the next `.`, `:` or `%` is that could be part of an address,
//! the only bytes at which `scan` stops (every address holds a `.` or `:`, an encoded one a
//! `%`).
//!
//! It exists for speed. Separators are only ~10 bytes apart in log lines, and most are in
//! words, URLs, versions and clock times, which `scan` turns away by the bytes beside them.
//! A 64-byte block is classified at once (separators, digits, hex digits), and the same
//! neighbour tests `scan` makes are applied to the whole block as bit masks: `scan` is only
//! stopped at separators that pass them. It must stop at every `.`, `:` and `%` that `scan`'s
//! own tests would not turn away (a missed one is an address left unmasked), and it may stop
//! at more (where a test needs a byte outside the block, it lets the separator through, and
//! `scan` decides). The property tests hold the block version to a byte-wise reference and
//! the filter to `scan`'s tests. On x86-64 the block is classified with SSE2 (always present
//! there) through `safe_arch`'s safe wrappers; elsewhere with plain integer arithmetic. No
//! `unsafe`.

use super::forms::separators_allow;
use super::is_addr;

/// One 64-byte block's classes, bit `k` for byte `k`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Classes {
    dot: u64,
    colon: u64,
    pct: u64,
    digit: u64,
    /// Hex letters, either case (`a`-`f`, `A`-`F`).
    hex: u64,
}

/// [`Classes`] a byte at a time: the reference the property test holds both block versions
/// (SSE2 and [`classes_swar`]) to.
#[cfg(test)]
fn classes_bytewise(block: &[u8; 64]) -> Classes {
    let mut c = Classes::default();
    for (k, &b) in block.iter().enumerate() {
        c.dot |= u64::from(b == b'.') << k;
        c.colon |= u64::from(b == b':') << k;
        c.pct |= u64::from(b == b'%') << k;
        c.digit |= u64::from(b.is_ascii_digit()) << k;
        c.hex |= u64::from(matches!(b, b'a'..=b'f' | b'A'..=b'F')) << k;
    }
    c
}

/// [`Classes`] with SSE2, sixteen bytes at a time: a compare per class and a `movemask`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
fn classes(block: &[u8; 64]) -> Classes {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i, sub_i8_m128i,
    };
    // `movemask` gives the sign bit of each byte, in byte order.
    let bits = |v: m128i| u64::from(move_mask_i8_m128i(v) as u16);
    let eq = |v: m128i, b: u8| cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b as i8));
    // Bytes in `lo..=lo + n`: SSE2 has no unsigned compare, but `min(t, n) == t` is `t <= n`.
    let span = |v: m128i, lo: u8, n: u8| {
        let t = sub_i8_m128i(v, set_splat_i8_m128i(lo as i8));
        cmp_eq_mask_i8_m128i(min_u8_m128i(t, set_splat_i8_m128i(n as i8)), t)
    };
    let mut c = Classes::default();
    for (k, q) in block.chunks_exact(16).enumerate() {
        let v = m128i::from(<[u8; 16]>::try_from(q).unwrap_or_default());
        let shift = 16 * k;
        c.dot |= bits(eq(v, b'.')) << shift;
        c.colon |= bits(eq(v, b':')) << shift;
        c.pct |= bits(eq(v, b'%')) << shift;
        c.digit |= bits(span(v, b'0', 9)) << shift;
        let folded = bitor_m128i(v, set_splat_i8_m128i(0x20));
        c.hex |= bits(span(folded, b'a', 5)) << shift;
    }
    c
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
fn classes(block: &[u8; 64]) -> Classes {
    classes_swar(block)
}

const LO: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// High bit set in exactly the zero bytes of `t` (no carries between bytes, so no false hits).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
#[inline]
fn zero_bytes(t: u64) -> u64 {
    !(((t & LOW7).wrapping_add(LOW7)) | t) & HIGH
}

/// High bit set in exactly the bytes of `w` in `lo..=hi` (both below 0x80): each byte's low
/// seven bits plus a constant cannot carry into the next byte, and a byte with its high bit
/// set is in no such range.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
#[inline]
fn in_range(w: u64, lo: u8, hi: u8) -> u64 {
    let low = w & LOW7;
    let at_least_lo = low.wrapping_add(LO * u64::from(0x80 - lo));
    let above_hi = low.wrapping_add(LO * u64::from(0x7f - hi));
    at_least_lo & !above_hi & !w & HIGH
}

/// [`Classes`] eight bytes at a time with plain integer arithmetic, for targets without
/// SSE2: each word's hits are gathered into one byte by a multiply (bit `i` of the product's
/// top byte is byte `i`'s bit; the partial products never overlap, so nothing carries in).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn classes_swar(block: &[u8; 64]) -> Classes {
    let gather = |m: u64, k: usize| ((m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    let mut c = Classes::default();
    for (k, q) in block.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(q.try_into().unwrap_or_default());
        c.dot |= gather(zero_bytes(w ^ (LO * u64::from(b'.'))), k);
        c.colon |= gather(zero_bytes(w ^ (LO * u64::from(b':'))), k);
        c.pct |= gather(zero_bytes(w ^ (LO * u64::from(b'%'))), k);
        c.digit |= gather(in_range(w, b'0', b'9'), k);
        c.hex |= gather(in_range(w | (LO * 0x20), b'a', b'f'), k);
    }
    c
}

/// The separators of a full block that `scan` may not turn away, from its tests on the bytes
/// beside them (see `scan`): a `%` always; a `:` with an address character before or after
/// it; a `.` with a digit before it and, after it, a `%` or a digit and then a `.` or `%`
/// two to four bytes on. A test that needs a byte outside the block (before bit 0, after bit
/// 63) counts as passed.
#[inline]
fn candidates(c: Classes) -> u64 {
    let addr = c.digit | c.hex | c.dot | c.colon;
    // Bit k of `before(x)`: byte k-1 is in x; of `after(x)`: byte k+1 is. Unknown: set.
    let before = |x: u64| x << 1 | 1;
    let after = |x: u64| x >> 1 | 1 << 63;
    let dot_or_pct = c.dot | c.pct;
    let soon = dot_or_pct >> 2 | dot_or_pct >> 3 | dot_or_pct >> 4 | 0xf << 60;
    let colons = c.colon & (before(addr) | after(addr));
    let dots = c.dot & before(c.digit) & (after(c.pct) | after(c.digit) & soon);
    c.pct | colons | dots
}

/// The separators of one input that `scan` must look at, walked forwards: a 64-byte block's
/// mask is computed once and consumed bit by bit.
pub(super) struct Seps {
    base: usize,
    bits: u64,
    /// The block's address characters (hex digits, `.`, `:`), for measuring runs.
    addr: u64,
    /// Its dots and colons, for counting a run's separators.
    dot: u64,
    colon: u64,
}

impl Seps {
    pub(super) fn new() -> Seps {
        Seps {
            base: usize::MAX,
            bits: 0,
            addr: 0,
            dot: 0,
            colon: 0,
        }
    }

    /// Position of the first `.`, `:` or `%` at or after `i` in `data` (the same `data` at
    /// every call) that `scan`'s neighbour tests may let through; no separator they would let
    /// through is ever skipped.
    #[inline]
    pub(super) fn next(&mut self, data: &[u8], mut i: usize) -> Option<usize> {
        while i < data.len() {
            if i < self.base || i - self.base >= 64 {
                self.base = i;
                let c = match data[i..].first_chunk::<64>() {
                    Some(block) => classes(block),
                    None => {
                        // A short tail (the end of every line `check` reads) padded with
                        // spaces, which is what `scan` reads past the end: no separator and no
                        // address character, so the tests see the end as `scan` does, and a
                        // run that reaches the end ends there.
                        let mut block = [b' '; 64];
                        block[..data.len() - i].copy_from_slice(&data[i..]);
                        classes(&block)
                    }
                };
                (self.bits, self.addr) = (candidates(c), c.digit | c.hex | c.dot | c.colon);
                (self.dot, self.colon) = (c.dot, c.colon);
            }
            let m = self.bits & (u64::MAX << (i - self.base));
            if m != 0 {
                return Some(self.base + m.trailing_zeros() as usize);
            }
            i = self.base + 64;
        }
        None
    }

    /// Where the run of address characters around the separator at `p` (which `next` just
    /// returned) ends: the first byte after `p` that is no address character, or the end of
    /// `data`. Taken from the block's bits while the run stays in it.
    #[inline]
    pub(super) fn run_end(&self, data: &[u8], p: usize) -> usize {
        let off = p + 1 - self.base;
        let mut k = p + 1;
        if off < 64 {
            let ones = (self.addr >> off).trailing_ones() as usize;
            if off + ones < 64 {
                return p + 1 + ones;
            }
            k = self.base + 64;
        }
        data[k..]
            .iter()
            .position(|&b| !is_addr(b))
            .map_or(data.len(), |n| k + n)
    }

    /// Whether the run `data[s..e]` (measured by `run_start` and `run_end` around the last
    /// separator `next` returned) has the separators an address needs
    /// ([`separators_allow`]), counted from the block's bits: most runs `scan` stops at in
    /// JSON (`"ts":1795823940.26`, `"status":200`) and clock times have not, and are turned
    /// away without `try_mask`. A run not wholly in the block is let through.
    #[inline]
    pub(super) fn separators_allow(&self, s: usize, e: usize) -> bool {
        if s < self.base || e - self.base > 64 {
            return true;
        }
        let run = (u64::MAX >> (64 - (e - s))) << (s - self.base);
        let colons = self.colon & run;
        separators_allow(
            (self.dot & run).count_ones(),
            colons.count_ones(),
            colons & colons >> 1 != 0,
        )
    }

    /// Where that run starts: just after the last byte before `p` that is no address
    /// character, but not before `floor` (bytes before it belong to runs already decided).
    #[inline]
    pub(super) fn run_start(&self, data: &[u8], floor: usize, p: usize) -> usize {
        let off = p - self.base;
        let mut k = p;
        if off > 0 {
            let ones = (self.addr << (64 - off)).leading_ones() as usize;
            if ones < off {
                return (p - ones).max(floor);
            }
            k = self.base;
        }
        if k <= floor {
            return floor;
        }
        data[floor..k]
            .iter()
            .rposition(|&b| !is_addr(b))
            .map_or(floor, |n| floor + n + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `scan`'s own test of the bytes beside the separator at `p`, for a `p` with a byte
    /// before it (`scan` gives the first byte of its span the byte before the span).
    fn scan_looks_at(data: &[u8], p: usize) -> bool {
        let before = data[p - 1];
        let after = data.get(p + 1).copied().unwrap_or(b' ');
        match data[p] {
            b'%' => true,
            b'.' => {
                before.is_ascii_digit()
                    && (after == b'%'
                        || after.is_ascii_digit()
                            && (p + 2..p + 5).any(|k| matches!(data.get(k), Some(b'.' | b'%'))))
            }
            b':' => is_addr(before) || is_addr(after),
            _ => false,
        }
    }

    fn alphabet() -> impl Strategy<Value = u8> {
        prop::sample::select(b"..::%%0019aAfFgG \xae\xba\xa5\xb0\xe1\x00\xff\x7f/".to_vec())
    }

    /// The tests that need a byte past the block's end (another `.` two to four bytes on,
    /// the byte after a separator) or before its start: every short address and its parts,
    /// shifted byte by byte across the edge of the first block.
    #[test]
    fn separators_at_a_block_edge_are_never_skipped() {
        for snippet in [
            "1.2.3.4",
            "10.20.30.40",
            "1.%32.3.4",
            "8.1%31.2",
            "1.2%2E3.4",
            "5.%361.%333.4",
            "1.234.5",
            "1.234%2E5",
            "::1",
            "a::b",
            "1:2:3:4:5:6:7:8",
            "x:1",
            "1:x",
            "%3A%3A1",
            "9.",
            ".9",
        ] {
            for pad in 0..70 {
                let data = format!("{}{snippet} x", "x".repeat(pad)).into_bytes();
                let wanted = |i: usize| (i.max(1)..data.len()).find(|&k| scan_looks_at(&data, k));
                let mut seps = Seps::new();
                let mut i = 1;
                while let Some(p) = seps.next(&data, i) {
                    assert!(
                        wanted(i).is_none_or(|w| p <= w),
                        "{snippet} after {pad}: {w:?} skipped",
                        w = wanted(i)
                    );
                    i = p + 1;
                }
                assert_eq!(wanted(i), None, "{snippet} after {pad}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn prop_block_classes_are_the_bytes_classes(block in prop::array::uniform32(alphabet()), more in prop::array::uniform32(any::<u8>())) {
            let mut full = [0u8; 64];
            full[..32].copy_from_slice(&block);
            full[32..].copy_from_slice(&more);
            for b in [full, { let mut r = full; r.reverse(); r }] {
                prop_assert_eq!(classes(&b), classes_bytewise(&b));
                prop_assert_eq!(classes_swar(&b), classes_bytewise(&b));
            }
        }

        #[test]
        fn prop_seps_stop_at_every_separator_scan_looks_at(data in prop::collection::vec(alphabet(), 0..300), starts in prop::collection::vec(0usize..310, 1..8)) {
            let wanted = |i: usize| (i.max(1)..data.len()).find(|&k| scan_looks_at(&data, k));
            let mut seps = Seps::new();
            let mut i = 1;
            // forwards as `scan` walks, with jumps, then from arbitrary starts: every stop
            // is a separator, and none that scan would look at is passed over
            while let Some(p) = seps.next(&data, i) {
                prop_assert!(matches!(data[p], b'.' | b':' | b'%'));
                prop_assert!(wanted(i).is_none_or(|w| p <= w), "{} skipped for {}", wanted(i).unwrap_or(0), p);
                i = p + 1 + (p % 3) * 17;
            }
            prop_assert_eq!(wanted(i), None);
            // runs measured from the block's bits end and start where a byte-wise walk does
            let mut seps = Seps::new();
            let mut i = 1;
            while let Some(p) = seps.next(&data, i) {
                let end = data[p + 1..].iter().position(|&b| !is_addr(b)).map_or(data.len(), |n| p + 1 + n);
                prop_assert_eq!(seps.run_end(&data, p), end);
                for floor in [0, 1, p / 2, p.saturating_sub(3), p] {
                    let start = data[floor..p].iter().rposition(|&b| !is_addr(b)).map_or(floor, |n| floor + n + 1);
                    prop_assert_eq!(seps.run_start(&data, floor, p), start, "floor {}", floor);
                }
                // the run's separators counted from the bits say what counting its bytes says
                let start = seps.run_start(&data, 0, p);
                let run = &data[start..end];
                let count = |b: u8| u32::try_from(run.iter().filter(|&&c| c == b).count()).unwrap();
                let double = run.windows(2).any(|w| w == b"::");
                let allowed = separators_allow(count(b'.'), count(b':'), double);
                let within = start >= seps.base && end - seps.base <= 64;
                prop_assert_eq!(seps.separators_allow(start, end), allowed || !within, "{:?}", run);
                i = p + 1 + (p % 5) * 7;
            }
            for &i in &starts {
                let i = i.max(1);
                let got = Seps::new().next(&data, i);
                prop_assert!(got.is_none_or(|p| matches!(data[p], b'.' | b':' | b'%')));
                prop_assert!(wanted(i).is_none_or(|w| got.is_some_and(|p| p <= w)));
            }
        }
    }
}
