#![no_main]
//! Arbitrary bytes as a log line: the stamp reader never panics in any format, and whatever
//! it reads is a real instant that the same line yields again (no state between lines).

use libfuzzer_sys::fuzz_target;
use logwarden::timestamp::{LogFormat, StampReader};

fuzz_target!(|line: &[u8]| {
    let utc = StampReader::new(jiff::tz::TimeZone::UTC);
    let first = utc.find(line);
    assert_eq!(first, utc.find(line));
    if let Some(t) = first {
        assert!(t.as_second() >= 0, "a stamp before 1970 was accepted");
    }
    let berlin = StampReader::new(jiff::tz::TimeZone::get("Europe/Berlin").unwrap());
    let _ = berlin.find(line);
    let nested = LogFormat::Json {
        time_field: Some("request.when.ts".into()),
    };
    for format in LogFormat::candidates().iter().chain([&nested]) {
        let r = berlin.with_format(format);
        if let Some(s) = r.find_stamp(line) {
            assert!(s.early <= s.late, "{format:?}: early after late");
            assert!(s.early.as_second() >= 0, "{format:?}: a stamp before 1970");
        }
        assert_eq!(r.find_stamp(line), r.find_stamp(line));
    }
});
