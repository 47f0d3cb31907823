//! The one streaming rewrite that compresses, masks and trims an archive.
//!
//! Records are read once, in chunks, and each goes out kept or dropped, masked or verbatim,
//! as the `RewriteSpec` says for its stamp. It must be byte-faithful: apart from masked
//! address spans and removed expired records, every byte read is written, whatever the line
//! length or encoding. It never writes anywhere but the file it is given; committing the
//! result (temp file, fsync, rename) is the caller's job.

use std::fs::File;
use std::io::{self, BufRead, Write};
use std::os::unix::fs::FileExt;

use jiff::Timestamp;

use super::Format;
use super::header::{HEADER_LEN, HeaderFacts, facts_offset, zstd_placeholder};
use super::probe::HEAD;
use crate::anonymize::{Mask, MaskingWriter};
use crate::gzip::ParallelGz;
use crate::timestamp::{Stamp, StampReader};

/// What a rewrite should do to the records on their way through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewriteSpec {
    pub mask: Option<Mask>,
    /// With a mask: only records stamped before this are masked (the others are not due
    /// yet); `None` masks every record.
    pub mask_before: Option<Timestamp>,
    /// Records stamped before this instant are removed, with the unstamped lines that
    /// belong to them.
    pub drop_before: Option<Timestamp>,
    pub output: Format,
    pub level: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RewriteOutcome {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub lines_in: u64,
    pub lines_dropped: u64,
    pub addresses_masked: u64,
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    /// Lines written before the first dated record (their time is unknown).
    pub undated: u64,
}

impl RewriteOutcome {
    /// Whether every line that came in was dropped: nothing is left to keep.
    pub fn dropped_everything(&self) -> bool {
        self.lines_in > 0 && self.lines_dropped == self.lines_in
    }

    /// Whether the records that come out differ from those that went in.
    pub fn changed_records(&self) -> bool {
        self.lines_dropped > 0 || self.addresses_masked > 0
    }
}

/// Counts bytes on their way to the real destination.
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum Encoder {
    Plain(Counting<File>),
    Gzip(ParallelGz<Counting<File>>),
    Xz(xz2::write::XzEncoder<Counting<File>>),
    Zstd(zstd::stream::write::Encoder<'static, Counting<File>>),
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(w) => w.write(buf),
            Encoder::Xz(w) => w.write(buf),
            Encoder::Zstd(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(w) => w.flush(),
            Encoder::Xz(w) => w.flush(),
            Encoder::Zstd(w) => w.flush(),
        }
    }
}

impl Encoder {
    fn new(out: File, format: Format, level: u32) -> io::Result<Encoder> {
        let out = Counting {
            inner: out,
            count: 0,
        };
        Ok(match format {
            Format::Plain => Encoder::Plain(out),
            Format::Gzip => Encoder::Gzip(ParallelGz::new(out, level, vec![b' '; HEADER_LEN], 0)),
            Format::Xz => Encoder::Xz(xz2::write::XzEncoder::new(out, level.min(9))),
            Format::Zstd => {
                let mut out = out;
                out.write_all(&zstd_placeholder())?;
                let mut e = zstd::stream::write::Encoder::new(out, level as i32)?;
                // zstd's own workers, as the gzip blocks use every core; one frame still.
                let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
                if cores > 1 {
                    e.multithread(u32::try_from(cores).unwrap_or(1))?;
                }
                Encoder::Zstd(e)
            }
            Format::Bzip2 => return Err(io::Error::other("bzip2 archives are not supported")),
        })
    }

    /// Finishes the stream (a gzip encoder's Drop would swallow errors) and returns the file.
    fn finish(self) -> io::Result<(File, u64)> {
        let c = match self {
            Encoder::Plain(w) => w,
            Encoder::Gzip(w) => w.finish()?.0,
            Encoder::Xz(w) => w.finish()?,
            Encoder::Zstd(w) => w.finish()?,
        };
        Ok((c.inner, c.count))
    }
}

/// Where kept lines go: straight to the encoder, or through the masking engine first.
enum Sink {
    Direct(Encoder),
    Masked(MaskingWriter<Encoder>),
}

impl Sink {
    /// `verbatim`: the record is not yet due for truncation and passes unmasked.
    fn write_all(&mut self, b: &[u8], verbatim: bool) -> io::Result<()> {
        match self {
            Sink::Direct(w) => w.write_all(b),
            Sink::Masked(w) if verbatim => w.write_verbatim(b),
            Sink::Masked(w) => w.write_all(b),
        }
    }
}

/// Streams `input` into `out` according to `spec`, tracking the time range of the records
/// kept. For gzip and zstd output the facts at its head are filled in at the end. The
/// caller syncs and commits `out`.
pub fn rewrite(
    input: &mut dyn BufRead,
    out: File,
    spec: &RewriteSpec,
    stamps: &StampReader,
) -> io::Result<(File, RewriteOutcome)> {
    let encoder = Encoder::new(out, spec.output, spec.level)?;
    let sink = match spec.mask {
        Some(m) => Sink::Masked(MaskingWriter::new(m, encoder)),
        None => Sink::Direct(encoder),
    };
    let mut filter = RecordFilter {
        sink,
        stamps,
        drop_before: spec.drop_before,
        mask_before: spec.mask_before,
        verbatim: false,
        keep: None,
        pending: Vec::new(),
        outcome: RewriteOutcome::default(),
    };
    // The head of a line that started in an earlier chunk, until the stamp window is full.
    let mut head: Vec<u8> = Vec::with_capacity(HEAD);
    let mut in_long_line = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let len = chunk.len();
        filter.outcome.bytes_in += len as u64;
        let mut pos = 0;
        // Whole lines of one fate are passed on as one run, not line by line.
        let mut run = 0;
        while pos < len {
            let rest = &chunk[pos..];
            let nl = memchr::memchr(b'\n', rest);
            if let (Some(i), true, false) = (nl, head.is_empty(), in_long_line) {
                // The common case: a whole short line in this chunk, no copy.
                let t = filter.stamps.find_stamp(&rest[..=i]);
                if filter.fate_after(t) != filter.fate() {
                    filter.emit(&chunk[run..pos])?;
                    run = pos;
                }
                filter.start_line(t)?;
                pos += i + 1;
                continue;
            }
            filter.emit(&chunk[run..pos])?;
            if in_long_line {
                let end = nl.map_or(rest.len(), |i| i + 1);
                filter.emit(&rest[..end])?;
                in_long_line = nl.is_none();
                pos += end;
                run = pos;
                continue;
            }
            let need = HEAD - head.len();
            match nl {
                Some(i) if i < need => {
                    head.extend_from_slice(&rest[..=i]);
                    filter.line(&head)?;
                    head.clear();
                    pos += i + 1;
                }
                _ if rest.len() >= need => {
                    head.extend_from_slice(&rest[..need]);
                    filter.line(&head)?;
                    head.clear();
                    in_long_line = true;
                    pos += need;
                }
                _ => {
                    head.extend_from_slice(rest);
                    pos = len;
                }
            }
            run = pos;
        }
        filter.emit(&chunk[run..pos])?;
        input.consume(len);
        crate::failpoint::hit("rewrite.partial");
        crate::failpoint::io("rewrite.partial")?;
    }
    if !head.is_empty() {
        filter.line(&head)?;
    }
    filter.finish(spec)
}

/// Decides record by record what is kept, and sends kept bytes on.
struct RecordFilter<'s> {
    sink: Sink,
    stamps: &'s StampReader,
    drop_before: Option<Timestamp>,
    mask_before: Option<Timestamp>,
    /// The current record is younger than `mask_before` and passes unmasked.
    verbatim: bool,
    /// The fate of the current record; `None` before the first stamped line.
    keep: Option<bool>,
    /// Unstamped lines at the very top belong to a record in an older file; they follow
    /// the first stamped record's fate.
    pending: Vec<u8>,
    outcome: RewriteOutcome,
}

impl RecordFilter<'_> {
    /// The start of a line: its first bytes (the stamp window, or the whole line).
    fn line(&mut self, head: &[u8]) -> io::Result<()> {
        self.start_line(self.stamps.find_stamp(head))?;
        self.emit(head)
    }

    /// Whether the current record is kept (`None`: not known yet) and passes unmasked.
    fn fate(&self) -> (Option<bool>, bool) {
        (self.keep, self.verbatim)
    }

    /// The fate a line with stamp `t` will have (a line without one joins its record).
    /// Retention judges by a stamp's later instant, masking by its earlier (see `Stamp`).
    fn fate_after(&self, t: Option<Stamp>) -> (Option<bool>, bool) {
        match t {
            Some(t) => (
                Some(self.drop_before.is_none_or(|cut| t.late >= cut)),
                self.mask_before.is_some_and(|b| t.early >= b),
            ),
            None => self.fate(),
        }
    }

    /// Takes note of a line start (its bytes follow through `emit`).
    fn start_line(&mut self, stamp: Option<Stamp>) -> io::Result<()> {
        self.outcome.lines_in += 1;
        if stamp.is_none() && self.outcome.oldest.is_none() && self.keep != Some(false) {
            self.outcome.undated += 1;
        }
        if let Some(t) = stamp {
            let (keep, verbatim) = self.fate_after(stamp);
            let keep = keep == Some(true);
            self.verbatim = verbatim;
            if keep {
                let o = &mut self.outcome;
                o.oldest = Some(o.oldest.map_or(t.early, |x| x.min(t.early)));
                o.newest = Some(o.newest.map_or(t.late, |x| x.max(t.late)));
            }
            if self.keep.is_none() {
                if keep {
                    // Lines above the first stamp are masked: early is allowed, late is not.
                    let pending = std::mem::take(&mut self.pending);
                    self.sink.write_all(&pending, false)?;
                } else {
                    self.outcome.lines_dropped += count_lines_started(&self.pending);
                    self.outcome.undated = 0;
                    self.pending.clear();
                }
            }
            self.keep = Some(keep);
        }
        if self.keep == Some(false) {
            self.outcome.lines_dropped += 1;
        }
        Ok(())
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self.keep {
            Some(true) => self.sink.write_all(bytes, self.verbatim),
            Some(false) => Ok(()),
            None if self.pending.len() + bytes.len() > 1 << 20 => {
                // A file of unstamped lines is kept as it is, streamed, never held whole.
                let pending = std::mem::take(&mut self.pending);
                self.sink.write_all(&pending, false)?;
                self.keep = Some(true);
                self.sink.write_all(bytes, false)
            }
            None => {
                self.pending.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    fn finish(mut self, spec: &RewriteSpec) -> io::Result<(File, RewriteOutcome)> {
        let pending = std::mem::take(&mut self.pending);
        self.sink.write_all(&pending, false)?;
        let mut o = self.outcome;
        let encoder = match self.sink {
            Sink::Direct(e) => e,
            Sink::Masked(w) => {
                let (e, stats) = w.finish()?;
                o.addresses_masked = stats.masked;
                e
            }
        };
        let (file, written) = encoder.finish()?;
        o.bytes_out = written;
        if let Some(at) = facts_offset(spec.output) {
            let facts = HeaderFacts::after(spec, &o);
            file.write_all_at(&facts.encode(), at)?;
        }
        Ok((file, o))
    }
}

fn count_lines_started(pending: &[u8]) -> u64 {
    if pending.is_empty() {
        0
    } else {
        memchr::memchr_iter(b'\n', pending).count() as u64
            + u64::from(pending.last() != Some(&b'\n'))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Read, Seek};

    use jiff::tz::TimeZone;

    use super::super::testing::line;
    use super::super::{RecordTimes, decoder, probe, read_header};
    use super::*;
    use crate::anonymize::Scope;

    fn run(input: &[u8], spec: RewriteSpec, chunk: usize) -> (Vec<u8>, RewriteOutcome) {
        let stamps = StampReader::new(TimeZone::UTC);
        let out = tempfile::tempfile().unwrap();
        let mut reader = BufReader::with_capacity(chunk, input);
        let (mut file, outcome) = rewrite(&mut reader, out, &spec, &stamps).unwrap();
        file.rewind().unwrap();
        let mut bytes = Vec::new();
        decoder(file, spec.output)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        (bytes, outcome)
    }

    #[test]
    fn only_records_due_are_masked() {
        let input = format!(
            "{}  continuation 198.51.100.9\n{}{}",
            line(1, ""),
            line(2, ""),
            line(3, "")
        );
        let cut = "2026-11-02T12:00:00Z".parse().unwrap();
        let spec = RewriteSpec {
            mask: Some(Mask::default()),
            mask_before: Some(cut),
            drop_before: None,
            output: Format::Gzip,
            level: 1,
        };
        let stamps = StampReader::new(TimeZone::UTC);
        for chunk in [5, 1 << 16] {
            let mut reader = BufReader::with_capacity(chunk, input.as_bytes());
            let (mut file, o) =
                rewrite(&mut reader, tempfile::tempfile().unwrap(), &spec, &stamps).unwrap();
            assert_eq!(o.addresses_masked, 3, "chunk {chunk}");
            let facts = read_header(&file).unwrap();
            assert_eq!(facts.masked_before, Some(cut));
            assert!(facts.covers(
                &Mask::default(),
                Some(cut - jiff::SignedDuration::from_secs(1))
            ));
            assert!(!facts.covers(&Mask::default(), Some(cut)));
            assert!(!facts.covers(&Mask::default(), None));
            file.rewind().unwrap();
            let mut text = String::new();
            decoder(file, Format::Gzip)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            let want = format!(
                "{}  continuation 198.51.100.0\n{}{}",
                line(1, ""),
                line(2, ""),
                line(3, "")
            )
            .replacen("203.0.113.1 ", "203.0.113.0 ", 1)
            .replacen("203.0.113.2 ", "203.0.113.0 ", 1);
            assert_eq!(text, want);
        }
    }

    const PLAIN: RewriteSpec = RewriteSpec {
        mask: None,
        mask_before: None,
        drop_before: None,
        output: Format::Plain,
        level: 6,
    };

    #[test]
    fn plain_copy_is_byte_identical_at_any_chunk_size() {
        let mut input = Vec::new();
        input.extend_from_slice(b"no stamp here\r\n");
        input.extend_from_slice(line(1, "").trim_end().as_bytes());
        input.extend_from_slice(b" \xff\xfe trailing  \n");
        input.extend(std::iter::repeat_n(b'x', 5000));
        input.extend_from_slice(b"\n");
        input.extend_from_slice(line(2, "").trim_end().as_bytes());
        for chunk in [1, 7, 511, 512, 513, 4096, 1 << 20] {
            let (out, o) = run(&input, PLAIN, chunk);
            assert_eq!(out, input, "chunk {chunk}");
            assert_eq!(o.lines_in, 4);
            assert_eq!(o.oldest, Some("2026-11-01T10:00:00Z".parse().unwrap()));
            assert_eq!(o.newest, Some("2026-11-02T10:00:00Z".parse().unwrap()));
        }
    }

    #[test]
    fn trimming_drops_whole_records_with_their_continuation_lines() {
        let mut input = String::new();
        input.push_str("  orphan continuation\n");
        input.push_str(&line(1, ""));
        input.push_str("  continuation of day 1\n");
        input.push_str(&line(5, ""));
        input.push_str("  continuation of day 5\n");
        input.push_str(&line(3, ""));
        let cut = "2026-11-04T00:00:00Z".parse().unwrap();
        for chunk in [3, 64, 1 << 16] {
            let spec = RewriteSpec {
                drop_before: Some(cut),
                ..PLAIN
            };
            let (out, o) = run(input.as_bytes(), spec, chunk);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("{}  continuation of day 5\n", line(5, "")),
                "chunk {chunk}"
            );
            assert_eq!(o.lines_dropped, 4);
            assert_eq!(o.oldest, Some("2026-11-05T10:00:00Z".parse().unwrap()));
        }
    }

    #[test]
    fn gzip_and_zstd_output_carry_the_facts_at_their_head() {
        let input = format!("{}{}", line(1, ""), line(2, ""));
        let mask = Mask::default();
        for (output, level) in [(Format::Gzip, 6), (Format::Zstd, 3), (Format::Zstd, 19)] {
            let spec = RewriteSpec {
                mask: Some(mask),
                mask_before: None,
                drop_before: None,
                output,
                level,
            };
            let stamps = StampReader::new(TimeZone::UTC);
            let out = tempfile::tempfile().unwrap();
            let (mut file, o) = rewrite(&mut input.as_bytes(), out, &spec, &stamps).unwrap();
            file.rewind().unwrap();
            assert_eq!(o.addresses_masked, 2);
            let facts = read_header(&file).unwrap();
            assert_eq!(facts.oldest, Some("2026-11-01T10:00:00Z".parse().unwrap()));
            assert_eq!(facts.newest, Some("2026-11-02T10:00:00Z".parse().unwrap()));
            assert!(facts.covers(&mask, None));
            assert!(!facts.covers(&Mask::new(16, 40, Scope::All).unwrap(), None));
            let mut text = String::new();
            decoder(file, output)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            assert!(
                text.starts_with("203.0.113.0 - - [01/Nov"),
                "{output:?}: {text}"
            );
            assert_eq!(text.lines().count(), 2, "{output:?}");
        }
    }

    #[test]
    fn the_repeated_dst_hour_is_kept_by_its_later_instant_and_masked_by_its_earlier() {
        // 02:30 on 2026-10-25 in Berlin is 00:30Z or 01:30Z; both cuts fall between.
        let stamps = StampReader::new(TimeZone::get("Europe/Berlin").unwrap());
        let input = b"2026/10/25 02:30:00 [error] 1#0: *1 x, client: 203.0.113.9, server: a\n";
        let cut: Timestamp = "2026-10-25T01:00:00Z".parse().unwrap();
        let spec = RewriteSpec {
            mask: Some(Mask::default()),
            mask_before: Some(cut),
            drop_before: Some(cut),
            output: Format::Plain,
            level: 6,
        };
        let out = tempfile::tempfile().unwrap();
        let (mut file, outcome) =
            rewrite(&mut BufReader::new(&input[..]), out, &spec, &stamps).unwrap();
        file.rewind().unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        assert_eq!(
            outcome.lines_dropped, 0,
            "retention waits for the later instant"
        );
        assert!(
            text.contains("client: 203.0.113.0,"),
            "masking goes by the earlier: {text}"
        );
        let t = probe(&mut &input[..], &stamps, RecordTimes::default()).unwrap();
        assert_eq!(t.oldest, Some("2026-10-25T00:30:00Z".parse().unwrap()));
        assert_eq!(t.newest, Some("2026-10-25T01:30:00Z".parse().unwrap()));
    }
}
