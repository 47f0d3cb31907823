//! The time range of a file's records, read from every line.
//!
//! Deletion and masking decisions rest on it, so no record is left out, whatever the order
//! of the records or the length of the lines. Only the head of each line is looked at, so
//! a long line costs no memory. It must never write.

use std::io::{self, BufRead};

use jiff::Timestamp;

use crate::timestamp::{Stamp, StampReader};

/// How many bytes of a line are searched for its stamp (see `timestamp`).
pub(super) const HEAD: usize = crate::timestamp::SEARCH_WINDOW;

/// The time range of a file's records, from every line: deletion and masking decisions
/// rest on it, so no record is left out (records need not be in order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordTimes {
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    /// Lines before the first dated record: no time is known for them.
    pub undated: u64,
    /// Lines read.
    pub lines: u64,
}

impl RecordTimes {
    /// The oldest record is what masking and rotation wait for (its earlier instant), the
    /// newest what deletion waits for (its later one).
    fn line(&mut self, stamp: Option<Stamp>) {
        self.lines += 1;
        match stamp {
            Some(t) => {
                self.oldest = Some(self.oldest.map_or(t.early, |x| x.min(t.early)));
                self.newest = Some(self.newest.map_or(t.late, |x| x.max(t.late)));
            }
            None if self.oldest.is_none() => self.undated += 1,
            None => {}
        }
    }
}

/// Reads every line of `input` and returns the time range of its records, continuing
/// `from` (the facts of the bytes before `input`, which must start at a line start).
/// Only the head of each line is looked at; long lines are skipped in bounded pieces.
pub fn probe(
    input: &mut dyn BufRead,
    stamps: &StampReader,
    from: RecordTimes,
) -> io::Result<RecordTimes> {
    let mut times = from;
    // The head of a line that started in an earlier buffer.
    let mut head: Vec<u8> = Vec::new();
    // Past the stamp window of the current line: the rest of it is skipped.
    let mut in_long_line = false;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let len = buf.len();
        let mut pos = 0;
        while pos < len {
            let rest = &buf[pos..];
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    if in_long_line {
                        in_long_line = false;
                    } else if head.is_empty() {
                        times.line(stamps.find_stamp(&rest[..i]));
                    } else {
                        let room = HEAD - head.len();
                        head.extend_from_slice(&rest[..i.min(room)]);
                        times.line(stamps.find_stamp(&head));
                        head.clear();
                    }
                    pos += i + 1;
                }
                None => {
                    if !in_long_line {
                        let room = HEAD - head.len();
                        head.extend_from_slice(&rest[..rest.len().min(room)]);
                        if head.len() >= HEAD {
                            times.line(stamps.find_stamp(&head));
                            head.clear();
                            in_long_line = true;
                        }
                    }
                    pos = len;
                }
            }
        }
        input.consume(len);
    }
    if !head.is_empty() {
        times.line(stamps.find_stamp(&head));
    }
    Ok(times)
}

#[cfg(test)]
mod tests {
    use jiff::tz::TimeZone;

    use super::super::testing::line;
    use super::*;

    #[test]
    fn probes_find_the_time_range_of_every_record_in_any_order() {
        let stamps = StampReader::new(TimeZone::UTC);
        // Out of order, behind a long line, with undated lines at the top.
        let long = "x".repeat(3 * HEAD);
        let text = format!(
            "undated\n{}{long}\n{}{}{}",
            line(3, ""),
            line(1, ""),
            line(5, ""),
            line(2, "")
        );
        for chunk in [7, 4096, 1 << 20] {
            let mut input = std::io::BufReader::with_capacity(chunk, text.as_bytes());
            let t = probe(&mut input, &stamps, RecordTimes::default()).unwrap();
            assert_eq!(t.oldest, Some("2026-11-01T10:00:00Z".parse().unwrap()));
            assert_eq!(t.newest, Some("2026-11-05T10:00:00Z".parse().unwrap()));
            assert_eq!((t.undated, t.lines), (1, 6), "chunk {chunk}");
        }
    }
}
