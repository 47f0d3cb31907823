//! The streaming writer: [`MaskingWriter`] masks arbitrary chunks of a stream (a line split
//! anywhere, a 1 GB line without a newline) with bounded memory, and [`mask_stream`] pumps a
//! reader through it for the `anonymize` filter and the archive rewriter.
//!
//! Its one promise beyond the module's contract: the output is byte for byte what masking
//! the whole input at once would give (the `prop_stream_*` property tests split input at
//! random points and compare). So it holds back only what more input could still change —
//! the address run at the end, an escape or `%` unit still being written, a marker such as
//! `[client `, a line start under `scope: client` that may be a syslog header — and never
//! more than about [`MAX_RUN`] bytes of it (1 KiB for a header); it must never decide a
//! run on half of it, and never lose or reorder a byte when the inner writer fails.

use std::io::{self, Read, Write};

use memchr::{memchr, memchr3};

use super::decode::{unfinished_escape, unfinished_unit, unit_at, unit_before};
use super::markers::{ALL_MARKERS, NextHints};
use super::parse::{Outcome, mask_v4, mask_v6, parse_v4};
use super::scan::scan;
use super::{CHUNK, MAX_RUN, Mask, MaskStats, Scope, is_addr};

/// The address units at the end of `d` that more input could extend (held back by a
/// stream): (bytes, units). Counting stops past `MAX_RUN` units. A literal `%`, `#`, `\`,
/// `\x` or `\u` just before them is held back with them (it is not a unit of theirs),
/// because a replacement of the run must be able to see it (see `mask_units`).
fn held_tail(d: &[u8], markers: &[&[u8]]) -> (usize, usize) {
    let unfinished = unfinished_unit(d);
    let mut q = d.len() - unfinished;
    let mut units = usize::from(unfinished > 0);
    while q > 0 && units <= MAX_RUN {
        let (n, v) = unit_before(d, q, 0);
        if !is_addr(v) {
            if n == 1 && units > 0 {
                q -= lead(&d[..q]);
            }
            break;
        }
        q -= n;
        units += 1;
    }
    // What decides how the run is read is held with it: an escape still being written
    // before it (`\x2` + `2203.0.113.9`), and a marker such as `[client ` (whole or still
    // being written).
    q = q.min(d.len() - unfinished_escape(d));
    let before = q;
    for m in markers {
        if d[..before].ends_with(m) {
            q = q.min(before - m.len());
        } else if let Some(k) = (1..m.len()).rev().find(|&k| d.ends_with(&m[..k])) {
            q = q.min(d.len() - k);
        }
    }
    // The cut must fall between runs (`scan` reads its end as a boundary). A marker still
    // being written can start with address bytes glued to a run (`…::7` + `cl` of
    // `client: `): then the run, and a marker before it, are held too.
    while q > 0 && q < d.len() && is_addr(unit_at(d, q).1) && is_addr(unit_before(d, q, 0).1) {
        let mut r = q;
        while r > 0 {
            let (n, v) = unit_before(d, r, 0);
            if !is_addr(v) {
                break;
            }
            r -= n;
        }
        for m in markers {
            if d[..r].ends_with(m) {
                r = r.min(r - m.len());
            }
        }
        if r >= q {
            break;
        }
        q = r;
    }
    (d.len() - q, units)
}

/// The bytes at the end of `d` that the new text of a run after them could complete into a
/// `%XY` unit or an escape (`%`, HAProxy's `#`, `\`, `\x`, `\u`): `mask_units` writes that
/// text so that it does not, and must see them to know.
fn lead(d: &[u8]) -> usize {
    match d {
        [.., b'\\', b'x' | b'X' | b'u'] => 2,
        [.., b'%' | b'#' | b'\\'] => 1,
        _ => 0,
    }
}

/// Length of the start of a marker at the end of `d` (`c` of `client: `): more input may
/// make it whole, and then `scan` must see all of it.
fn glued_marker(d: &[u8], markers: &[&[u8]]) -> usize {
    markers
        .iter()
        .filter_map(|m| (1..m.len()).rev().find(|&k| d.ends_with(&m[..k])))
        .max()
        .unwrap_or(0)
}

/// Write adapter: accepts arbitrary chunks (lines may be split anywhere, may be 1 GB long
/// without newline) and writes masked bytes to the inner writer with bounded memory.
///
/// Held back between calls is at most a run of address characters that the next bytes could
/// still extend (≤ [`MAX_RUN`] bytes), and under `scope: client` the start of a line that may
/// still turn out to be a syslog header (< 1 KiB); everything before it is masked and passed
/// on during `write`. Hence [`flush`](Write::flush): after it returns, every byte up to and including the
/// last newline written so far (and usually more of the partial line after it, all but its
/// trailing partial token) has been written to the inner writer, which has been flushed.
///
/// Call [`finish`](MaskingWriter::finish) at the end of input: it emits the held-back tail.
/// Dropping the writer does the same on a best-effort basis, ignoring errors.
pub struct MaskingWriter<W: Write> {
    mask: Mask,
    // `None` only after `finish` moved it out, so Drop knows there is nothing left to do.
    inner: Option<W>,
    pending: Vec<u8>,
    out: Vec<u8>,
    // The byte before pending[0], for the glue rule of a run that starts there.
    left: u8,
    // pending starts inside a run already known to be longer than MAX_RUN.
    skip_run: bool,
    // Client scope: the first field of the current line is behind us.
    in_rest: bool,
    last_in: u8,
    stats: MaskStats,
}

impl<W: Write> MaskingWriter<W> {
    pub fn new(mask: Mask, inner: W) -> Self {
        MaskingWriter {
            mask,
            inner: Some(inner),
            pending: Vec::with_capacity(CHUNK + MAX_RUN + 1),
            out: Vec::with_capacity(CHUNK + CHUNK / 4),
            left: b'\n',
            skip_run: false,
            in_rest: false,
            last_in: b'\n',
            stats: MaskStats::default(),
        }
    }

    /// Counters so far; `lines` counts the current unterminated line as one.
    pub fn stats(&self) -> MaskStats {
        let mut s = self.stats;
        if self.last_in != b'\n' {
            s.lines += 1;
        }
        s
    }

    /// Masks and writes the held-back tail, flushes the inner writer and returns it.
    pub fn finish(mut self) -> io::Result<(W, MaskStats)> {
        self.process(true);
        self.drain_out()?;
        let stats = self.stats();
        let mut inner = self
            .inner
            .take()
            .ok_or_else(|| io::Error::other("writer gone"))?;
        inner.flush()?;
        Ok((inner, stats))
    }

    /// Passes whole lines through unmasked (records not yet due for truncation). Call it
    /// only at a line start, that is after a newline went through `write`, or at the start.
    pub fn write_verbatim(&mut self, buf: &[u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        // At a line start nothing can be held back but a finished token; emit it.
        self.process(true);
        self.skip_run = false;
        self.out.extend_from_slice(buf);
        let last = buf[buf.len() - 1];
        self.left = last;
        self.in_rest = last != b'\n';
        self.last_in = last;
        self.stats.bytes_in += buf.len() as u64;
        self.stats.lines += memchr::memchr_iter(b'\n', buf).count() as u64;
        self.drain_out()
    }

    #[cfg(test)]
    fn buffer_capacity(&self) -> usize {
        self.pending.capacity() + self.out.capacity()
    }

    fn drain_out(&mut self) -> io::Result<()> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(());
        };
        let mut written = 0;
        let result = loop {
            if written == self.out.len() {
                break Ok(());
            }
            match inner.write(&self.out[written..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => written += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.stats.bytes_out += written as u64;
        // Keep whatever the inner writer refused, so a retry loses nothing.
        self.out.drain(..written);
        result
    }

    fn process(&mut self, eof: bool) {
        let data = std::mem::take(&mut self.pending);
        let mut copied = 0;
        let consumed = match self.mask.scope {
            Scope::All => self.process_field(&data, 0, (eof, &[]), &mut copied),
            Scope::Client => self.process_client(&data, eof, &mut copied),
        };
        self.out.extend_from_slice(&data[copied..consumed]);
        self.pending = data;
        self.pending.drain(..consumed);
    }

    /// Masks `data[i..]` as (part of) one address-bearing stretch that may continue in later
    /// input; returns how far it got (the rest is the tail to hold back).
    /// With `markers`, only runs right after one are masked (the rest of a line under
    /// `scope: client`).
    fn process_field(
        &mut self,
        data: &[u8],
        mut i: usize,
        (eof, markers): (bool, &[&[u8]]),
        copied: &mut usize,
    ) -> usize {
        if self.skip_run {
            let from = i;
            loop {
                if i == data.len() {
                    // A marker's start glued to the run's end is not skipped (see below).
                    let glued = if eof {
                        0
                    } else {
                        glued_marker(&data[from..], markers)
                    };
                    self.skip_run = glued == 0;
                    if glued > 0 && i - glued > from {
                        self.left = data[i - glued - 1];
                    }
                    return i - glued;
                }
                let unfinished = unfinished_unit(&data[i..]);
                if !eof && unfinished == data.len() - i {
                    // `%` or `%3` at the end: whether it continues the run is not known yet.
                    return i;
                }
                let (n, v) = unit_at(data, i);
                if !is_addr(v) {
                    break;
                }
                i += n;
            }
            // The unit at i ends the long run; not an address byte, it needs no left context.
            // A marker's start glued to the run's end (`…1111c` + `lient: `) is not skipped:
            // `scan` must see the marker whole, as whole input does. Left there, it starts a
            // run glued to the skipped one, which `scan` never masks under markers.
            i -= glued_marker(&data[from..i], markers);
            self.skip_run = false;
        }
        let cut = if eof {
            data.len()
        } else {
            let hold = if markers.is_empty() {
                ALL_MARKERS
            } else {
                markers
            };
            let (bytes, units) = held_tail(&data[i..], hold);
            // The start of a marker glued to the end of the run (`…1000c` + `lient: `):
            // `scan` must see the marker whole, as in whole input, or the client after it
            // is left unmasked (fuzzer find).
            let glued = glued_marker(&data[i..], markers);
            if units > MAX_RUN && glued > 0 {
                // Too long to be an address: let all of it go but the marker's start, which
                // the next input decides; the run's continuation, if any, is glued to what
                // is left of it, so `scan` masks none of it.
                data.len() - glued.max(unfinished_unit(&data[i..]))
            } else if units > MAX_RUN {
                // Too long to be an address whatever follows: let it go, skip its
                // continuation (an unfinished `%XY` at the end waits to be read whole).
                self.skip_run = true;
                data.len() - unfinished_unit(&data[i..])
            } else {
                data.len() - bytes
            }
        };
        if cut > i {
            let out = (&mut self.out, &mut *copied);
            self.stats.masked += scan(&self.mask, data, (i, cut), self.left, out, markers);
            self.left = unit_before(data, cut, i).1;
        }
        cut.max(i)
    }

    fn process_client(&mut self, data: &[u8], eof: bool, copied: &mut usize) -> usize {
        let mut i = 0;
        let mut hints = NextHints::new(self.mask.client);
        let markers = self.mask.client.markers();
        while i < data.len() {
            if self.in_rest {
                let (end, newline) = match memchr(b'\n', &data[i..]) {
                    Some(k) => (i + k, true),
                    None => (data.len(), false),
                };
                if newline && hints.at(data, i) >= end {
                    // A whole rest without a marker: nothing in it is masked (`scan`
                    // would find no hint either), and a long run ends with the line.
                } else {
                    // The newline is a boundary, so the line's rest can be masked as if
                    // at EOF.
                    let done =
                        self.process_field(&data[..end], i, (eof || newline, markers), copied);
                    if !newline {
                        return done;
                    }
                }
                self.skip_run = false;
                i = end + 1;
                self.in_rest = false;
                self.left = b'\n';
            } else {
                let at_line_start = if i == 0 {
                    self.left == b'\n' && !self.skip_run
                } else {
                    data[i - 1] == b'\n'
                };
                if at_line_start {
                    // Behind a syslog header, the client is the message's first field.
                    let line_end = memchr(b'\n', &data[i..]).map_or(data.len(), |k| i + k);
                    let line = &data[i..line_end];
                    let complete = eof || line_end < data.len() || line.len() >= HEADER_HOLD;
                    if !complete && might_be_a_header(line) {
                        // Too little of the line to tell yet: wait for more.
                        return i;
                    }
                    if let Some(h) = crate::syslog::parse(line).filter(|h| h.message > 0) {
                        i += h.message;
                        self.left = data[i - 1];
                        if i == data.len() {
                            return i;
                        }
                    }
                }
                if at_line_start && data[i] == b'{' {
                    // A JSON record's first field is no client field.
                    self.in_rest = true;
                    continue;
                }
                match memchr3(b' ', b'\t', b'\n', &data[i..]) {
                    Some(k) => {
                        let f = i + k;
                        if !(at_line_start && self.mask_whole_field(data, (i, f), copied)) {
                            // The field end is a boundary, so it can be masked as if at EOF.
                            let done = self.process_field(&data[..f], i, (true, &[]), copied);
                            debug_assert_eq!(done, f);
                        }
                        self.skip_run = false;
                        self.in_rest = true;
                        i = f;
                    }
                    None => return self.process_field(data, i, (eof, &[]), copied),
                }
            }
        }
        i
    }
}

/// How much of a line the client scope holds back at most to see whether it starts with a
/// syslog header; a longer line is judged on what is there.
const HEADER_HOLD: usize = 1024;

/// Whether an unfinished line may still turn out to start with a syslog header: `<PRI>`, a
/// month name, or an RFC 3339 year. A line that starts with an address never may, so the
/// access lines of a stream are never held back for this.
fn might_be_a_header(line: &[u8]) -> bool {
    match line.first() {
        None => true,
        Some(b'<' | b'A'..=b'Z') => true,
        Some(b'0'..=b'9') => {
            let digits = line
                .iter()
                .take(4)
                .take_while(|b| b.is_ascii_digit())
                .count();
            digits == line.len().min(4) && line.get(4).is_none_or(|&b| b == b'-')
        }
        Some(_) => false,
    }
}

impl<W: Write> MaskingWriter<W> {
    /// The CLF fast path: a whole first field that is one address, as nearly every client
    /// field is, is masked directly. `scan` would reach the same result in more steps (a
    /// whole field is a maximal run, and neither its line start nor the blank after it is a
    /// word byte); `prop_client_fast_path_equals_scan` holds the two equal. Returns false,
    /// having done nothing, for any other field.
    fn mask_whole_field(
        &mut self,
        data: &[u8],
        (i, f): (usize, usize),
        copied: &mut usize,
    ) -> bool {
        let field = &data[i..f];
        let outcome = if let Some(a) = parse_v4(field) {
            mask_v4(&self.mask, a)
        } else if field.len() <= 45 && field.contains(&b':') {
            match mask_v6(&self.mask, field, false) {
                Some(o) => o,
                None => return false,
            }
        } else {
            return false;
        };
        if let Outcome::New(r) = outcome {
            self.out.extend_from_slice(&data[*copied..i]);
            self.out.extend_from_slice(r.as_bytes());
            *copied = f;
            self.stats.masked += 1;
        }
        self.left = data[f - 1];
        true
    }
}

impl<W: Write> Write for MaskingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Output left over from a failed inner write goes first, so errors surface here
        // before any new input is accepted.
        self.drain_out()?;
        let n = buf.len().min(CHUNK);
        let taken = &buf[..n];
        self.stats.bytes_in += n as u64;
        self.stats.lines += memchr::memchr_iter(b'\n', taken).count() as u64;
        self.last_in = taken[n - 1];
        let mut rest = taken;
        if !self.pending.is_empty() {
            // Settle the held-back tail with just enough new bytes (up to a non-address byte),
            // so the bulk of `buf` can be masked in place instead of being copied first.
            let k = rest
                .iter()
                .position(|&b| !is_addr(b))
                .map_or(rest.len(), |k| k + 1)
                .min(MAX_RUN + 2);
            self.pending.extend_from_slice(&rest[..k]);
            rest = &rest[k..];
            self.process(false);
            if !self.pending.is_empty() {
                self.pending.extend_from_slice(rest);
                rest = &[];
                self.process(false);
            }
        }
        if !rest.is_empty() {
            let mut copied = 0;
            let consumed = match self.mask.scope {
                Scope::All => self.process_field(rest, 0, (false, &[]), &mut copied),
                Scope::Client => self.process_client(rest, false, &mut copied),
            };
            self.out.extend_from_slice(&rest[copied..consumed]);
            self.pending.extend_from_slice(&rest[consumed..]);
        }
        // The input is accepted at this point; a failure here is reported by the next call
        // (like BufWriter), with the unwritten output kept.
        let _ = self.drain_out();
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain_out()?;
        match self.inner.as_mut() {
            Some(inner) => inner.flush(),
            None => Ok(()),
        }
    }
}

impl<W: Write> Drop for MaskingWriter<W> {
    fn drop(&mut self) {
        if self.inner.is_some() {
            self.process(true);
            let _ = self.drain_out();
        }
    }
}

/// Stream filter: reader → writer. When `flush_each_line` is true (input is a pipe, e.g. an
/// Apache piped logger) every complete line is flushed to `output` as soon as it has been
/// read: after each read that completed at least one line.
pub fn mask_stream<R: Read, W: Write>(
    mask: &Mask,
    mut input: R,
    output: W,
    flush_each_line: bool,
) -> io::Result<MaskStats> {
    let mut w = MaskingWriter::new(*mask, output);
    let mut buf = crate::aligned::AlignedBuf::new(CHUNK);
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..n])?;
        if flush_each_line && memchr(b'\n', &buf[..n]).is_some() {
            w.flush()?;
        }
    }
    let (_, stats) = w.finish()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anonymize::mask_line;
    use crate::anonymize::test_support::{any_mask, loglike, masked, stream};
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// An escape or `[client ` cut by a read buffer must be read as in whole input: held
    /// back with the run after it, never emitted half-read.
    #[test]
    fn escapes_and_apache_client_split_across_writes_mask_as_whole() {
        let mask = Mask::default();
        for (input, count) in [
            (
                &b"?q=\\x22203.0.113.9\\x22 \\u0022198.51.100.7\\t2001:db8:abcd::1\n"[..],
                3,
            ),
            (b"[client 2001:db8:abcd:12::1:51234] AH01071\n", 1),
        ] {
            let (whole, n) = masked(&mask, input);
            assert_eq!(n, count);
            for at in 1..input.len() {
                let (streamed, st) = stream(&mask, input, &[at]);
                assert_eq!(streamed, whole, "split at {at}");
                assert_eq!(st.masked, n as u64);
            }
            assert_eq!(stream(&mask, input, &vec![1; input.len()]).0, whole);
        }
    }

    #[test]
    fn a_marker_being_written_right_after_a_run_never_cuts_the_run() {
        // Fuzzer find: `7` + `cl` (the start of `client: `) cut `::7c` in two in a stream,
        // so `::7` was masked there and left alone in whole input, where `::7cl` is glued.
        for line in [
            " [client ::7cl",
            "x [client 2001:db8::7cl",
            " [client 1::7cl x",
            "1[client 2001:db8:abcd:12::1:5123\u{cd}4] [client 2001:db8::7:56cl[ 8]7ient ::ffff:203.0.113.195:5123]\n",
            "[client 2001:d3.4%3A0:1253112--\u{1}\0\0\u{3}\0--t 2001:db8::7:5678] [client ::ffcli[clieent 2001:db8::7:5678]",
            " [client ::ffcl%20",
        ] {
            for scope in [Scope::Client, Scope::All] {
                let mask = Mask::new(24, 120, scope).unwrap();
                let mut whole = Vec::new();
                mask_line(&mask, line.as_bytes(), &mut whole);
                for step in 1..5 {
                    let mut w = MaskingWriter::new(mask, Vec::new());
                    for piece in line.as_bytes().chunks(step) {
                        w.write_all(piece).unwrap();
                    }
                    let (streamed, _) = w.finish().unwrap();
                    assert_eq!(
                        String::from_utf8_lossy(&streamed),
                        String::from_utf8_lossy(&whole),
                        "{line:?} in pieces of {step}"
                    );
                }
            }
        }
    }

    #[test]
    fn stream_stats() {
        let (out, st) = stream(&Mask::default(), b"1.2.3.4 a\n5.6.7.8", &[3, 9]);
        assert_eq!(out, b"1.2.3.0 a\n5.6.7.0");
        assert_eq!(
            st,
            MaskStats {
                bytes_in: 17,
                bytes_out: 17,
                lines: 2,
                masked: 2
            }
        );
        let st = mask_stream(&Mask::default(), &b""[..], Vec::new(), false).unwrap();
        assert_eq!(st, MaskStats::default());
        let st = mask_stream(&Mask::default(), &b"a\nb\n"[..], Vec::new(), true).unwrap();
        assert_eq!(st.lines, 2);
    }

    /// Records what reached the inner writer at the time of each flush.
    #[derive(Default)]
    struct FlushLog {
        data: Vec<u8>,
        flushed: Vec<Vec<u8>>,
    }

    impl Write for FlushLog {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.data.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushed.push(self.data.clone());
            Ok(())
        }
    }

    #[test]
    fn flush_emits_every_complete_line() {
        for scope in [Scope::All, Scope::Client] {
            let mask = Mask::new(24, 40, scope).unwrap();
            let mut w = MaskingWriter::new(mask, FlushLog::default());
            w.write_all(b"1.2.3.4 a 9.9.9.9\n5.6.7.").unwrap();
            w.flush().unwrap();
            {
                let log = w.inner.as_ref().unwrap();
                let at_flush = log.flushed.last().unwrap();
                let want: &[u8] = if scope == Scope::All {
                    b"1.2.3.0 a 9.9.9.0\n"
                } else {
                    b"1.2.3.0 a 9.9.9.9\n"
                };
                assert!(at_flush.starts_with(want), "{scope:?}");
                // the partial token may still become an address: held back
                assert!(!at_flush.ends_with(b"5.6.7."));
            }
            w.write_all(b"8 x\n").unwrap();
            let (log, _) = w.finish().unwrap();
            assert!(log.data.ends_with(b"5.6.7.0 x\n"));
        }
    }

    #[test]
    fn drop_emits_the_held_back_tail() {
        let mut sink = Vec::new();
        {
            let mut w = MaskingWriter::new(Mask::default(), &mut sink);
            w.write_all(b"a 1.2.3.4").unwrap();
        }
        assert_eq!(sink, b"a 1.2.3.0");
    }

    #[test]
    fn inner_write_errors_surface() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = MaskingWriter::new(Mask::default(), Broken);
        w.write_all(b"1.2.3.4 x\n").unwrap();
        assert!(w.write_all(b"more\n").is_err());
        assert!(w.flush().is_err());
        assert!(w.finish().is_err());
        let err = mask_stream(&Mask::default(), &b"1.2.3.4\n"[..], Broken, false);
        assert!(err.is_err());
    }

    #[test]
    fn mask_stream_flushes_each_line_read_from_a_pipe() {
        struct OneLine(Vec<&'static [u8]>);
        impl Read for OneLine {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Ok(0);
                }
                let l = self.0.remove(0);
                buf[..l.len()].copy_from_slice(l);
                Ok(l.len())
            }
        }
        let mut log = FlushLog::default();
        let input = OneLine(vec![b"1.2.3.4 a\n", b"5.6.7.8 b\n"]);
        mask_stream(&Mask::default(), input, &mut log, true).unwrap();
        assert_eq!(log.flushed[0], b"1.2.3.0 a\n");
        assert_eq!(log.flushed[1], b"1.2.3.0 a\n5.6.7.0 b\n");
    }

    #[test]
    fn long_line_streams_in_bounded_memory() {
        // 64 MiB without a newline, fed through a reader in the stream's own chunks; the line
        // mixes address-character runs (one longer than MAX_RUN) with real addresses.
        struct Gen {
            left: usize,
            pattern: Vec<u8>,
            at: usize,
        }
        impl Read for Gen {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.left);
                for b in &mut buf[..n] {
                    *b = self.pattern[self.at];
                    self.at = (self.at + 1) % self.pattern.len();
                }
                self.left -= n;
                Ok(n)
            }
        }
        let mut pattern = b"x 1.2.3.4 ".to_vec();
        pattern.extend(std::iter::repeat_n(b'a', 3000));
        pattern.extend_from_slice(b" 2001:db8::1,");
        let total = 64 << 20;
        let gen_input = Gen {
            left: total,
            pattern: pattern.clone(),
            at: 0,
        };
        struct Count(u64);
        impl Write for Count {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0 += buf.len() as u64;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let stats = mask_stream(&Mask::default(), gen_input, Count(0), false).unwrap();
        assert_eq!(stats.bytes_in, total as u64);
        assert_eq!(stats.lines, 1);
        assert!(stats.masked > 2 * (total / pattern.len()) as u64 - 2);

        // and a single huge write through the adapter keeps its buffers at their start size
        let mut w = MaskingWriter::new(Mask::default(), Count(0));
        let start = w.buffer_capacity();
        let big = vec![b'7'; 8 << 20];
        w.write_all(&big).unwrap();
        w.write_all(b".1.1.1").unwrap();
        assert_eq!(w.buffer_capacity(), start);
        assert!(start < 1 << 20);
        let (c, st) = w.finish().unwrap();
        assert_eq!(c.0, (8 << 20) + 6);
        assert_eq!(st.masked, 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn prop_stream_equals_whole(
            mask in any_mask(),
            input in prop_oneof![loglike(), prop::collection::vec(any::<u8>(), 0..300)],
            splits in prop::collection::vec(0usize..40, 0..20),
        ) {
            let (whole, n) = masked(&mask, &input);
            let (streamed, st) = stream(&mask, &input, &splits);
            prop_assert_eq!(&streamed, &whole);
            prop_assert_eq!(st.masked, n as u64);
            prop_assert_eq!(st.bytes_in, input.len() as u64);
            prop_assert_eq!(st.bytes_out, whole.len() as u64);
        }

        #[test]
        fn prop_client_fast_path_equals_scan(
            fields in prop::collection::vec(prop_oneof![
                any::<u32>().prop_map(|a| Ipv4Addr::from(a).to_string()),
                any::<u128>().prop_map(|a| Ipv6Addr::from_bits(a).to_string()),
                any::<u32>().prop_map(|a| Ipv4Addr::from(a).to_ipv6_mapped().to_string()),
                any::<u32>().prop_map(|a| format!("{}:8080", Ipv4Addr::from(a))),
                "[0-9a-fA-F:.\\[\\]x-]{0,20}",
            ], 1..6),
            seps in prop::collection::vec(prop::sample::select(vec![" ", "\t", "\n", " - -\n"]), 6),
            prefixes in (0u8..=32, 0u8..=128),
            splits in prop::collection::vec(0usize..30, 0..8),
        ) {
            let mask = Mask::new(prefixes.0, prefixes.1, Scope::Client).unwrap();
            let mut input = Vec::new();
            for (f, sep) in fields.iter().zip(&seps) {
                input.extend_from_slice(f.as_bytes());
                input.extend_from_slice(sep.as_bytes());
            }
            let (whole, n) = masked(&mask, &input);
            let (streamed, st) = stream(&mask, &input, &splits);
            prop_assert_eq!(&streamed, &whole);
            prop_assert_eq!(st.masked, n as u64);
        }

        #[test]
        fn prop_stream_long_runs(
            mask in any_mask(),
            run in prop::collection::vec(prop::sample::select(b"0123456789abcdef.:%".to_vec()), 100..400),
            splits in prop::collection::vec(0usize..200, 0..6),
        ) {
            let mut input = b"1.2.3.4 ".to_vec();
            input.extend_from_slice(&run);
            input.extend_from_slice(b" 5.6.7.8\n");
            let (whole, _) = masked(&mask, &input);
            let (streamed, _) = stream(&mask, &input, &splits);
            prop_assert_eq!(streamed, whole);
        }
    }
}
