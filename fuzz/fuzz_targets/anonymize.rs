#![no_main]
//! Arbitrary bytes through both entry points: no panic, idempotent, same line count, and the
//! streaming adapter (fed in fuzzer-chosen pieces) agrees with whole-buffer masking.
//!
//! Run from the crate root: `cargo +nightly fuzz run anonymize` (needs `cargo install cargo-fuzz`).

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use logwarden::anonymize::{Mask, MaskingWriter, Scope, mask_line};

fuzz_target!(|input: &[u8]| {
    let Some((&ctl, data)) = input.split_first() else {
        return;
    };
    let scope = if ctl & 1 == 0 { Scope::All } else { Scope::Client };
    let mask = Mask::new((ctl >> 1) % 33, (ctl >> 1).wrapping_mul(5) % 129, scope).unwrap();

    let mut once = Vec::new();
    mask_line(&mask, data, &mut once);
    let mut twice = Vec::new();
    assert_eq!(mask_line(&mask, &once, &mut twice), 0);
    assert_eq!(once, twice, "not idempotent");
    let nl = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
    assert_eq!(nl(&once), nl(data));

    let mut w = MaskingWriter::new(mask, Vec::new());
    let step = usize::from(ctl % 7) + 1;
    for piece in data.chunks(step) {
        w.write_all(piece).unwrap();
    }
    let (streamed, stats) = w.finish().unwrap();
    assert_eq!(streamed, once);
    assert_eq!(stats.bytes_in, data.len() as u64);
});
