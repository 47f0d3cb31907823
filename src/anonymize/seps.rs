//! The separator finder: where the next `.`, `:` or `%` is, the only bytes at which `scan`
//! stops (every address holds a `.` or `:`, an encoded one a `%`).
//!
//! It exists for speed: separators are only ~10 bytes apart in log lines, so they are taken
//! from a 64-byte block mask, computed with plain integer arithmetic, rather than searched
//! for again after each one. It must stop at every `.`, `:` and `%` and at no other byte (a
//! missed separator is an address left unmasked); the property test
//! `prop_seps_stop_at_every_separator_and_nothing_else` holds it and its block version to a
//! byte-wise reference. No `unsafe` SIMD.

/// Bit `k` set when `d[k]` is `.`, `:` or `%`, for the first 64 bytes of `d` (fewer at its end):
/// every byte at which [`scan`](super::scan::scan) stops. Separators are only ~10 bytes apart
/// in log lines, so the scanner takes them from a block mask rather than searching again after
/// each one.
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
pub(super) struct Seps {
    base: usize,
    bits: u64,
}

impl Seps {
    pub(super) fn new() -> Seps {
        Seps {
            base: usize::MAX,
            bits: 0,
        }
    }

    /// Position of the first `.`, `:` or `%` at or after `i` in `data` (the same `data` at
    /// every call).
    #[inline]
    pub(super) fn next(&mut self, data: &[u8], mut i: usize) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

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
    }
}
