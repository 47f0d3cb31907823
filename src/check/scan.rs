//! Reads a file's lines against its rules and counts what breaks them.
//!
//! The scanner sees every line once, streaming, and keeps counts and line numbers only: it
//! must never keep a line's text, so no address can reach a report. Which records are due
//! is `FileRules`' to say; turning the counts into violations is `rules`'.

use std::io::{self, BufRead};

use jiff::Timestamp;

use super::rules::FileRules;
use crate::anonymize::mask_line;
use crate::timestamp::StampReader;

/// What reading one file found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct FileScan {
    pub(super) lines: u64,
    pub(super) records: u64,
    /// Records older than the retention cutoff, and the oldest of them.
    pub(super) expired: u64,
    pub(super) oldest_expired: Option<Timestamp>,
    /// Records past the full-IP limit with a full address, and the first such line.
    pub(super) full_ip_records: u64,
    pub(super) first_full_ip_line: Option<u64>,
    /// Lines before the first dated record (no time can be known for them), and the first.
    pub(super) undated: u64,
    pub(super) first_undated_line: Option<u64>,
    pub(super) last_undated_line: Option<u64>,
    /// The oldest record by its later instant (as retention judges it), for the age gauge.
    pub(super) oldest_record: Option<Timestamp>,
    /// The oldest record holding a full address, by its earlier instant (as the window
    /// judges it), past the window or not, for the age gauge.
    pub(super) oldest_full_ip: Option<Timestamp>,
}

/// Evaluates a file's lines, one at a time, against its rules. A line without a timestamp
/// belongs to the record above it; lines before the first record have no known time and
/// count only where every record must be masked.
pub(super) struct Scanner<'a> {
    rules: &'a FileRules,
    stamps: &'a StampReader,
    scan: FileScan,
    record_time: Option<Timestamp>,
    record_flagged: bool,
    out: Vec<u8>,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(rules: &'a FileRules, stamps: &'a StampReader) -> Scanner<'a> {
        Scanner {
            rules,
            stamps,
            scan: FileScan::default(),
            record_time: None,
            record_flagged: false,
            out: Vec::new(),
        }
    }

    /// One line, with or without its line ending.
    pub(super) fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        self.scan.lines += 1;
        let stamp = self.stamps.find_stamp(line);
        if stamp.is_none() && self.record_time.is_none() {
            self.scan.undated += 1;
            self.scan.first_undated_line.get_or_insert(self.scan.lines);
            self.scan.last_undated_line = Some(self.scan.lines);
        }
        // Retention by a stamp's later instant, the full-IP window by its earlier one, as
        // the pass decides (see `timestamp::Stamp`).
        if let Some(t) = stamp {
            self.scan.records += 1;
            self.record_time = Some(t.early);
            self.record_flagged = false;
            self.scan.oldest_record =
                Some(self.scan.oldest_record.map_or(t.late, |o| o.min(t.late)));
            if t.late < self.rules.retention_cutoff {
                self.scan.expired += 1;
                self.scan.oldest_expired =
                    Some(self.scan.oldest_expired.map_or(t.late, |o| o.min(t.late)));
            }
        }
        let past_window = self.rules.full_ip.passed_by(self.record_time);
        // Within the window a record is looked at only if it is older than the oldest full
        // address found so far: logs are nearly in time order, so in a live log that is its
        // first record and few after it.
        let older = self
            .record_time
            .is_some_and(|t| self.scan.oldest_full_ip.is_none_or(|o| t < o));
        if (past_window || older) && !self.record_flagged {
            self.out.clear();
            if mask_line(&self.rules.mask, line, &mut self.out) > 0 {
                self.record_flagged = true;
                if past_window {
                    self.scan.full_ip_records += 1;
                    self.scan.first_full_ip_line.get_or_insert(self.scan.lines);
                }
                if let Some(t) = self.record_time {
                    self.scan.oldest_full_ip =
                        Some(self.scan.oldest_full_ip.map_or(t, |o| o.min(t)));
                }
            }
        }
    }

    pub(super) fn finish(self) -> FileScan {
        self.scan
    }
}

/// Reads every line of `input` through a [`Scanner`].
pub(super) fn scan_reader(
    input: &mut dyn BufRead,
    rules: &FileRules,
    stamps: &StampReader,
) -> io::Result<FileScan> {
    let mut scanner = Scanner::new(rules, stamps);
    // Lines are read in place in the reader's buffer; only a line that straddles two fills
    // is copied (into `partial`): copying every line cost a seventh of an audit's time.
    let mut partial = Vec::new();
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            break;
        }
        let mut start = 0;
        if !partial.is_empty() {
            match memchr::memchr(b'\n', buf) {
                Some(i) => {
                    partial.extend_from_slice(&buf[..=i]);
                    scanner.line(&partial);
                    partial.clear();
                    start = i + 1;
                }
                None => {
                    partial.extend_from_slice(buf);
                    let n = buf.len();
                    input.consume(n);
                    continue;
                }
            }
        }
        let mut rest = &buf[start..];
        while let Some(i) = memchr::memchr(b'\n', rest) {
            scanner.line(&rest[..=i]);
            rest = &rest[i + 1..];
        }
        partial.extend_from_slice(rest);
        let n = buf.len();
        input.consume(n);
    }
    if !partial.is_empty() {
        scanner.line(&partial);
    }
    Ok(scanner.finish())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use jiff::SignedDuration;

    use super::super::Rule;
    use super::super::rules::{FileRules, scan_violations};
    use super::super::testing::{NOW, line, scan, site, t};
    use crate::policy::FullIpLimit;

    #[test]
    fn the_oldest_full_address_is_found_within_the_window_without_a_violation() {
        let s = site("    anonymize: { after: 7d }\n");
        let rules = FileRules::for_site(&s, true, t(NOW), SignedDuration::ZERO);
        let text = [
            line("198.51.100.0", "2026-11-27T11:00:00Z"),
            line("198.51.100.7", "2026-11-28T12:00:00Z"),
            line("198.51.100.8", "2026-11-28T10:00:00Z"),
            line("198.51.100.9", "2026-11-29T10:00:00Z"),
        ]
        .concat();
        let got = scan(&text, &rules);
        assert_eq!(got.full_ip_records, 0);
        // The first record is masked already: it is the oldest record, not the oldest full
        // address; an older one after a newer one is still found.
        assert_eq!(got.oldest_record, Some(t("2026-11-27T11:00:00Z")));
        assert_eq!(got.oldest_full_ip, Some(t("2026-11-28T10:00:00Z")));
    }

    #[test]
    fn records_past_retention_and_window_are_counted_with_the_first_line() {
        let s = site("    retention: 14d\n    anonymize: { after: 7d }\n");
        let rules = FileRules::for_site(&s, true, t(NOW), SignedDuration::ZERO);
        let text = [
            line("198.51.100.7", "2026-11-10T00:00:00Z"), // expired, full
            "  continuation without a stamp 198.51.100.8\n".to_string(),
            line("198.51.100.0", "2026-11-14T00:00:00Z"), // expired, masked
            line("198.51.100.0", "2026-11-20T00:00:00Z"), // past window, masked
            line("198.51.100.9", "2026-11-21T00:00:00Z"), // past window, full
            line("198.51.100.9", "2026-11-28T00:00:00Z"), // inside window
        ]
        .concat();
        let got = scan(&text, &rules);
        assert_eq!(got.lines, 6);
        assert_eq!(got.records, 5);
        assert_eq!(got.expired, 2);
        assert_eq!(got.oldest_expired, Some(t("2026-11-10T00:00:00Z")));
        assert_eq!(got.full_ip_records, 2);
        assert_eq!(got.first_full_ip_line, Some(1));

        let v = scan_violations(&s, Path::new("/l/a.gz"), &got, &rules, t(NOW));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].rule, Rule::Retention);
        assert_eq!(v[0].evidence.records, Some(2));
        assert_eq!(v[0].evidence.age_days, Some(19.5));
        assert_eq!(v[0].evidence.limit_days, Some(14.0));
        assert_eq!(v[1].rule, Rule::FullIp);
        assert_eq!(v[1].evidence.first_line, Some(1));
        assert!(
            v[1].message.contains("window of 7 days"),
            "{}",
            v[1].message
        );
        for v in &v {
            assert!(!v.message.contains("198.51"), "{}", v.message);
        }
    }

    #[test]
    fn a_continuation_line_counts_for_its_record() {
        let s = site("    anonymize: { after: 1d }\n");
        let rules = FileRules::for_site(&s, true, t(NOW), SignedDuration::ZERO);
        let text = format!(
            "{}  at client 203.0.113.5 again\n",
            line("203.0.113.0", "2026-11-27T00:00:00Z")
        );
        let got = scan(&text, &rules);
        assert_eq!((got.full_ip_records, got.first_full_ip_line), (1, Some(2)));
    }

    #[test]
    fn lines_split_across_buffer_fills_are_read_whole() {
        let s = site("    retention: 14d\n    anonymize: { after: 7d }\n");
        let rules = FileRules::for_site(&s, true, t(NOW), SignedDuration::ZERO);
        let text = [
            line("198.51.100.7", "2026-11-10T00:00:00Z"),
            "  continuation without a stamp 198.51.100.8\n".to_string(),
            line("198.51.100.0", "2026-11-20T00:00:00Z"),
            line("198.51.100.9", "2026-11-21T00:00:00Z"),
            "a last line without its newline 198.51.100.10".to_string(),
        ]
        .concat();
        let whole = scan(&text, &rules);
        assert_eq!(whole.lines, 5);
        let stamps = crate::timestamp::StampReader::new(jiff::tz::TimeZone::UTC);
        for cap in [1, 2, 7, 64, 4096] {
            let mut r = std::io::BufReader::with_capacity(cap, text.as_bytes());
            let got = super::scan_reader(&mut r, &rules, &stamps).unwrap();
            assert_eq!(got, whole, "buffer of {cap} bytes");
        }
    }

    #[test]
    fn anonymize_false_never_flags_addresses() {
        let s = site("    anonymize: false\n");
        let rules = FileRules::for_site(&s, true, t(NOW), SignedDuration::ZERO);
        assert_eq!(rules.full_ip, FullIpLimit::Off);
        let got = scan(&line("198.51.100.7", "2026-11-01T00:00:00Z"), &rules);
        assert_eq!(got.full_ip_records, 0);
        assert_eq!(got.expired, 1);
    }
}
