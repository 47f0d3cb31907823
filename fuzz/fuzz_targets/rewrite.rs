#![no_main]
//! Arbitrary bytes through the archive rewrite with a retention cutoff and masking: no
//! panic, and without a cutoff or mask the output is the input, byte for byte.

use std::io::{Read, Seek};

use libfuzzer_sys::fuzz_target;
use logwarden::archive::{self, Format, RewriteSpec};
use logwarden::timestamp::StampReader;

fuzz_target!(|input: &[u8]| {
    let stamps = StampReader::new(jiff::tz::TimeZone::UTC);
    let plain = RewriteSpec { mask: None, mask_before: None, drop_before: None, output: Format::Plain, level: 1 };
    let (mut file, outcome) =
        archive::rewrite(&mut &input[..], tempfile::tempfile().unwrap(), &plain, &stamps).unwrap();
    file.rewind().unwrap();
    let mut out = Vec::new();
    file.read_to_end(&mut out).unwrap();
    assert!(out == input, "a plain copy changed bytes");
    assert_eq!(outcome.lines_dropped, 0);

    let cut = "2020-01-01T00:00:00Z".parse().unwrap();
    let spec = RewriteSpec {
        mask: Some(logwarden::anonymize::Mask::default()),
        mask_before: Some(cut),
        drop_before: Some(cut),
        output: Format::Gzip,
        level: 1,
    };
    let (file, _) = archive::rewrite(&mut &input[..], tempfile::tempfile().unwrap(), &spec, &stamps).unwrap();
    assert!(archive::read_header(&file).is_some());
});
