//! Archives: their formats, the facts logwarden keeps in their gzip header, and the one
//! streaming rewrite that compresses, masks and trims them.
//!
//! State lives in names and contents, never in a state file: a gzip archive written by
//! logwarden carries, in its header comment, the time range of its records and the mask
//! applied to them, so an idle pass reads a few bytes per archive instead of decompressing
//! it. The rewrite must be byte-faithful: apart from masked address spans and removed
//! expired records, every byte read is written, whatever the line length or encoding. It
//! never writes anywhere but the writer it is given; committing the result (temp file,
//! fsync, rename) is the caller's job.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt;

use flate2::bufread::GzDecoder;
use jiff::Timestamp;

use crate::aligned::AlignedReader;
use crate::anonymize::{Mask, MaskingWriter, Scope};
use crate::gzip::ParallelGz;
use crate::timestamp::{Stamp, StampReader};

/// How an archive's bytes are stored, known from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Plain,
    Gzip,
    Xz,
    Zstd,
    Bzip2,
}

impl Format {
    pub fn of_name(name: &str) -> Format {
        if name.ends_with(".gz") {
            Format::Gzip
        } else if name.ends_with(".xz") {
            Format::Xz
        } else if name.ends_with(".zst") {
            Format::Zstd
        } else if name.ends_with(".bz2") {
            Format::Bzip2
        } else {
            Format::Plain
        }
    }

    /// The compression that the first bytes of a stream announce; `None` for anything else
    /// (log text never starts with these bytes: 0x1f, 0xfd and 0x28 0xb5 are not text).
    pub fn of_magic(head: &[u8]) -> Option<Format> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Format::Gzip)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Some(Format::Xz)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Format::Zstd)
        } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
        {
            Some(Format::Bzip2)
        } else {
            None
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Plain => "",
            Format::Gzip => ".gz",
            Format::Xz => ".xz",
            Format::Zstd => ".zst",
            Format::Bzip2 => ".bz2",
        }
    }

    /// Whether logwarden can read and write this format.
    pub fn is_supported(self) -> bool {
        self != Format::Bzip2
    }
}

/// What a logwarden gzip header says about the records inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderFacts {
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    pub mask: Option<Mask>,
    /// With a mask: records stamped before this are masked, later ones are not yet.
    /// `None`: every record is masked.
    pub masked_before: Option<Timestamp>,
    /// Lines before the first dated record: their time is unknown.
    pub undated: u64,
}

impl HeaderFacts {
    /// Whether every record stamped at or before `before` (every record, for `None`) is
    /// masked at least as strictly as `mask` asks.
    pub fn covers(&self, mask: &Mask, before: Option<Timestamp>) -> bool {
        let strict_enough = self.mask.is_some_and(|m| {
            m.ipv4_prefix <= mask.ipv4_prefix
                && m.ipv6_prefix <= mask.ipv6_prefix
                && (m.scope == Scope::All || mask.scope == Scope::Client)
        });
        strict_enough
            && match (self.masked_before, before) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(have), Some(want)) => have > want,
            }
    }

    /// What an archive holds after a rewrite by `spec` that came out as `o`: what our gzip
    /// header records, and what is remembered of a rewritten archive that has no header.
    pub fn after(spec: &RewriteSpec, o: &RewriteOutcome) -> HeaderFacts {
        HeaderFacts {
            oldest: o.oldest,
            newest: o.newest,
            undated: o.undated,
            mask: spec.mask,
            // Masking reached past the newest record: the archive is wholly masked.
            masked_before: spec
                .mask
                .and(spec.mask_before)
                .filter(|b| o.newest.is_some_and(|n| n >= *b)),
        }
    }

    /// What a full read found, with nothing known to be masked.
    pub fn of_times(t: &RecordTimes) -> HeaderFacts {
        HeaderFacts {
            oldest: t.oldest,
            newest: t.newest,
            undated: t.undated,
            mask: None,
            masked_before: None,
        }
    }

    /// The facts as one line of words (the header comment, unpadded).
    pub fn to_text(&self) -> String {
        let t = |t: Option<Timestamp>| t.map_or("-".to_string(), |t| t.as_second().to_string());
        let mask = match self.mask {
            None => "none".to_string(),
            Some(m) => format!(
                "{}/{}/{}",
                m.ipv4_prefix,
                m.ipv6_prefix,
                if m.scope == Scope::All {
                    "all"
                } else {
                    "client"
                }
            ),
        };
        let mut s = format!(
            "{HEADER_TAG} oldest={} newest={} mask={mask}",
            t(self.oldest),
            t(self.newest)
        );
        if self.masked_before.is_some() {
            s.push_str(&format!(" before={}", t(self.masked_before)));
        }
        if self.undated > 0 {
            s.push_str(&format!(" undated={}", self.undated));
        }
        s
    }

    fn encode(&self) -> Vec<u8> {
        let mut s = self.to_text().into_bytes();
        s.resize(HEADER_LEN, b' ');
        s
    }

    fn decode(comment: &[u8]) -> Option<HeaderFacts> {
        HeaderFacts::from_text(std::str::from_utf8(comment).ok()?)
    }

    /// Reads what [`HeaderFacts::to_text`] wrote.
    pub fn from_text(text: &str) -> Option<HeaderFacts> {
        let text = text.trim_end();
        let mut words = text.split(' ');
        if words.next()? != HEADER_TAG {
            return None;
        }
        let mut facts = HeaderFacts {
            oldest: None,
            newest: None,
            mask: None,
            masked_before: None,
            undated: 0,
        };
        for word in words {
            let (k, v) = word.split_once('=')?;
            let time = |v: &str| {
                if v == "-" {
                    Some(None)
                } else {
                    v.parse()
                        .ok()
                        .and_then(|s| Timestamp::from_second(s).ok())
                        .map(Some)
                }
            };
            match k {
                "oldest" => facts.oldest = time(v)?,
                "newest" => facts.newest = time(v)?,
                "before" => facts.masked_before = time(v)?,
                "undated" => facts.undated = v.parse().ok()?,
                "mask" if v == "none" => facts.mask = None,
                "mask" => {
                    let mut p = v.split('/');
                    let v4 = p.next()?.parse().ok()?;
                    let v6 = p.next()?.parse().ok()?;
                    let scope = match p.next()? {
                        "all" => Scope::All,
                        "client" => Scope::Client,
                        _ => return None,
                    };
                    facts.mask = Some(Mask::new(v4, v6, scope).ok()?);
                }
                _ => {}
            }
        }
        Some(facts)
    }
}

const HEADER_TAG: &str = "logwarden/1";
/// The comment has a fixed width so it can be written as a placeholder first and filled in
/// once the records have been seen, without moving the compressed data behind it.
const HEADER_LEN: usize = 128;
/// Offset of the comment in a gzip header with only FCOMMENT set.
const COMMENT_OFFSET: u64 = 10;

/// Reads the logwarden facts from the header of a gzip file, if it has them.
pub fn read_header(file: &File) -> Option<HeaderFacts> {
    let mut head = [0u8; COMMENT_OFFSET as usize + HEADER_LEN + 1];
    let n = file.read_at(&mut head, 0).ok()?;
    let head = &head[..n];
    // magic, deflate, flags == FCOMMENT only
    if head.len() < head.len().max(12)
        || head[0] != 0x1f
        || head[1] != 0x8b
        || head[2] != 8
        || head[3] != 0x10
    {
        return None;
    }
    let comment = &head[COMMENT_OFFSET as usize..];
    let end = memchr::memchr(0, comment)?;
    HeaderFacts::decode(&comment[..end])
}

/// A reader of the decompressed records of an archive.
pub fn decoder(file: File, format: Format) -> io::Result<Box<dyn BufRead + Send>> {
    const BUF: usize = 256 * 1024;
    // The buffer the file is read into is aligned (see `aligned`); the outer buffers hold
    // decompressed bytes and are filled by a user-space copy, where alignment does not matter.
    let file = AlignedReader::with_capacity(BUF, file);
    Ok(match format {
        Format::Plain => Box::new(file),
        Format::Gzip => Box::new(BufReader::with_capacity(
            BUF,
            GzMembers::new(BufReader::with_capacity(BUF, file)),
        )),
        Format::Xz => Box::new(BufReader::with_capacity(
            BUF,
            xz2::read::XzDecoder::new_multi_decoder(file),
        )),
        Format::Zstd => Box::new(BufReader::with_capacity(
            BUF,
            zstd::stream::read::Decoder::with_buffer(file)?,
        )),
        Format::Bzip2 => {
            return Err(io::Error::other(
                "bzip2 archives are not supported; recompress them with gzip or xz",
            ));
        }
    })
}

/// The members of a gzip file, one after another, as `gzip -d` reads them: zero bytes after
/// a member (what a crash or a preallocating file system can leave) end the data instead of
/// failing it, so such an archive is read, masked and expired like any other.
struct GzMembers<R: BufRead> {
    member: Option<GzDecoder<R>>,
}

impl<R: BufRead> GzMembers<R> {
    fn new(input: R) -> GzMembers<R> {
        GzMembers {
            member: Some(GzDecoder::new(input)),
        }
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(member) = self.member.as_mut() else {
                return Ok(0);
            };
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let mut rest = self.member.take().expect("checked above").into_inner();
            loop {
                let b = rest.fill_buf()?;
                if b.is_empty() {
                    return Ok(0);
                }
                let zeros = b.iter().take_while(|&&x| x == 0).count();
                if zeros == 0 {
                    break;
                }
                rest.consume(zeros);
            }
            self.member = Some(GzDecoder::new(rest));
        }
    }
}

/// A reader of the decompressed text of any stream (standard input): the format is taken
/// from its first bytes, so compressed input is never passed through as if it were text.
pub fn sniffing_decoder<R: Read + Send + 'static>(
    mut input: R,
) -> io::Result<Box<dyn Read + Send>> {
    const MAGIC: usize = 6;
    let mut head = Vec::with_capacity(MAGIC);
    // A pipe may deliver the magic in pieces: read until it is whole or the input ends.
    while head.len() < MAGIC {
        let mut b = [0u8; MAGIC];
        match input.read(&mut b[..MAGIC - head.len()]) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&b[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let format = Format::of_magic(&head);
    let whole = io::Cursor::new(head).chain(input);
    Ok(match format {
        None | Some(Format::Plain) => Box::new(whole),
        Some(Format::Gzip) => Box::new(GzMembers::new(BufReader::new(whole))),
        Some(Format::Xz) => Box::new(xz2::read::XzDecoder::new_multi_decoder(whole)),
        Some(Format::Zstd) => Box::new(zstd::stream::read::Decoder::new(whole)?),
        Some(Format::Bzip2) => {
            return Err(io::Error::other(
                "bzip2 input is not supported; recompress it with gzip or xz",
            ));
        }
    })
}

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
            Format::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(out, level as i32)?),
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
/// kept. For gzip output the header facts are filled in at the end. The caller syncs and
/// commits `out`.
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
        if spec.output == Format::Gzip {
            let facts = HeaderFacts::after(spec, &o);
            file.write_all_at(&facts.encode(), COMMENT_OFFSET)?;
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

/// How many bytes of a line are searched for its stamp (see `timestamp`).
const HEAD: usize = crate::timestamp::SEARCH_WINDOW;

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
    use super::*;
    use jiff::tz::TimeZone;
    use std::io::Seek;

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

    fn line(day: u32, rest: &str) -> String {
        format!(
            "203.0.113.{day} - - [{day:02}/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5{rest}\n"
        )
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
    fn gzip_output_carries_the_facts_in_its_header() {
        let input = format!("{}{}", line(1, ""), line(2, ""));
        let mask = Mask::default();
        let spec = RewriteSpec {
            mask: Some(mask),
            mask_before: None,
            drop_before: None,
            output: Format::Gzip,
            level: 6,
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
        decoder(file, Format::Gzip)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert!(text.starts_with("203.0.113.0 - - [01/Nov"), "{text}");
    }

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

    #[test]
    fn gzip_with_trailing_zero_padding_is_read_as_gzip_reads_it() {
        let text = format!("{}{}", line(1, ""), line(2, ""));
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        let mut bytes = e.finish().unwrap();
        let mut second = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        second.write_all(line(3, "").as_bytes()).unwrap();
        bytes.extend(second.finish().unwrap());
        bytes.extend(std::iter::repeat_n(0u8, 4096));
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&bytes).unwrap();
        f.rewind().unwrap();
        let mut out = String::new();
        decoder(f, Format::Gzip)
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, format!("{text}{}", line(3, "")));
    }
}
