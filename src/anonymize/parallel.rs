//! Masking a whole file or stream on several cores.
//!
//! Lines are independent: an address never spans a newline, and after a newline the
//! [`MaskingWriter`] is back in its initial state (no held-back tail, no glue byte, no
//! client-field position). So input cut just after a newline can be masked in pieces by
//! different threads and the results written in input order, byte for byte what one writer
//! gives. This module only decides where the cuts go and keeps the order: it must never cut
//! anywhere but after a newline, reorder or drop a byte, or hold more than a few blocks. A line
//! longer than a block is streamed through one writer alone, so a line without a newline still
//! needs no memory in proportion to its length.
//!
//! It is for bulk input (files, `zcat … |`, a compressing filter). A live pipe, where each line
//! must go out as soon as it is read, stays on the one-thread path.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::mpsc;

use crate::aligned::AlignedBuf;
use crate::anonymize::{Mask, MaskStats, MaskingWriter};

/// What one thread masks at a time: large enough that handing it over costs nothing
/// measurable, small enough that the blocks in flight stay a few MiB.
const BLOCK: usize = 128 * 1024;

/// Threads worth starting: the cores this process may run on, at most four (beyond that the
/// writer of the output is the limit).
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// [`mask_stream`](super::mask_stream) for input read in bulk (a file, or a pipe whose lines
/// need not go out one by one): on every core this process may use.
pub fn mask_bulk<R: Read, W: Write>(mask: &Mask, input: R, output: W) -> io::Result<MaskStats> {
    match threads() {
        1 => super::mask_stream(mask, input, output, false),
        n => mask_stream_parallel(mask, input, output, n),
    }
}

/// Complete lines to mask: `head` (the partial line the previous block ended with) followed
/// by `block[..len]`, which ends with a newline unless it is the end of input.
struct Job {
    head: Vec<u8>,
    block: AlignedBuf,
    len: usize,
    out: Vec<u8>,
}

struct Done {
    head: Vec<u8>,
    block: AlignedBuf,
    masked: io::Result<(Vec<u8>, MaskStats)>,
}

fn work(mask: Mask, jobs: &mpsc::Receiver<Job>, done: &mpsc::Sender<Done>) {
    for job in jobs {
        let mut w = MaskingWriter::new(mask, job.out);
        let masked = w
            .write_all(&job.head)
            .and_then(|()| w.write_all(&job.block[..job.len]))
            .and_then(|()| w.finish());
        let reply = Done {
            head: job.head,
            block: job.block,
            masked,
        };
        if done.send(reply).is_err() {
            return;
        }
    }
}

fn add(total: &mut MaskStats, s: MaskStats) {
    total.bytes_in += s.bytes_in;
    total.bytes_out += s.bytes_out;
    total.lines += s.lines;
    total.masked += s.masked;
}

/// Reads until `buf` is full or the input ends; returns how many bytes it holds.
fn fill<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn gone() -> io::Error {
    io::Error::other("a masking thread stopped")
}

/// The ordered pipeline: blocks go round-robin to the threads, results come back and are
/// written in the order the blocks were read.
struct Pipeline<'a, W: Write> {
    jobs: Vec<mpsc::SyncSender<Job>>,
    done: Vec<mpsc::Receiver<Done>>,
    // Thread index of every block in flight, oldest first.
    in_flight: VecDeque<usize>,
    next: usize,
    block_size: usize,
    spare_blocks: Vec<AlignedBuf>,
    spare_vecs: Vec<Vec<u8>>,
    output: &'a mut W,
    stats: MaskStats,
}

impl<W: Write> Pipeline<'_, W> {
    fn block(&mut self) -> AlignedBuf {
        self.spare_blocks
            .pop()
            .unwrap_or_else(|| AlignedBuf::new(self.block_size))
    }

    fn vec(&mut self) -> Vec<u8> {
        self.spare_vecs.pop().unwrap_or_default()
    }

    fn send(&mut self, head: Vec<u8>, block: AlignedBuf, len: usize) -> io::Result<()> {
        // Two blocks per thread: one being masked, one waiting, so no thread idles while
        // the oldest result is written.
        if self.in_flight.len() >= 2 * self.jobs.len() {
            self.write_oldest()?;
        }
        let k = self.next % self.jobs.len();
        self.next += 1;
        let mut out = self.vec();
        out.clear();
        let job = Job {
            head,
            block,
            len,
            out,
        };
        self.jobs[k].send(job).map_err(|_| gone())?;
        self.in_flight.push_back(k);
        Ok(())
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        let Some(k) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let done = self.done[k].recv().map_err(|_| gone())?;
        let (out, stats) = done.masked?;
        self.output.write_all(&out)?;
        add(&mut self.stats, stats);
        let mut head = done.head;
        head.clear();
        self.spare_vecs.push(head);
        self.spare_vecs.push(out);
        self.spare_blocks.push(done.block);
        Ok(())
    }

    fn drain(&mut self) -> io::Result<()> {
        while !self.in_flight.is_empty() {
            self.write_oldest()?;
        }
        Ok(())
    }

    /// A line longer than a block: everything before it has been written; `head` and
    /// `block[..len]` are its start. Streams it through one writer up to and including its
    /// newline, and returns what follows the newline in the last block read (the next
    /// head), or `None` at the end of input.
    fn long_line<R: Read>(
        &mut self,
        input: &mut R,
        mask: &Mask,
        head: &[u8],
        mut block: AlignedBuf,
        mut len: usize,
    ) -> io::Result<Option<Vec<u8>>> {
        self.drain()?;
        let mut w = MaskingWriter::new(*mask, &mut *self.output);
        w.write_all(head)?;
        let rest = loop {
            if let Some(nl) = memchr::memchr(b'\n', &block[..len]) {
                w.write_all(&block[..=nl])?;
                break Some(block[nl + 1..len].to_vec());
            }
            w.write_all(&block[..len])?;
            len = fill(input, &mut block)?;
            if len == 0 {
                break None;
            }
        };
        let (_, stats) = w.finish()?;
        add(&mut self.stats, stats);
        self.spare_blocks.push(block);
        Ok(rest)
    }
}

/// [`crate::anonymize::mask_stream`] on `threads` threads (at least two): the same bytes out,
/// the same counters.
fn mask_stream_parallel<R: Read, W: Write>(
    mask: &Mask,
    input: R,
    output: W,
    threads: usize,
) -> io::Result<MaskStats> {
    in_blocks(mask, input, output, threads, BLOCK)
}

fn in_blocks<R: Read, W: Write>(
    mask: &Mask,
    mut input: R,
    mut output: W,
    threads: usize,
    block_size: usize,
) -> io::Result<MaskStats> {
    let threads = threads.max(2);
    let block_size = block_size.max(1);
    std::thread::scope(|scope| {
        let mut pipeline = Pipeline {
            jobs: Vec::with_capacity(threads),
            done: Vec::with_capacity(threads),
            in_flight: VecDeque::new(),
            next: 0,
            block_size,
            spare_blocks: Vec::new(),
            spare_vecs: Vec::new(),
            output: &mut output,
            stats: MaskStats::default(),
        };
        for _ in 0..threads {
            let (job_tx, job_rx) = mpsc::sync_channel(1);
            let (done_tx, done_rx) = mpsc::channel();
            let mask = *mask;
            scope.spawn(move || work(mask, &job_rx, &done_tx));
            pipeline.jobs.push(job_tx);
            pipeline.done.push(done_rx);
        }
        let mut head = Vec::new();
        let result = loop {
            let mut block = pipeline.block();
            let len = match fill(&mut input, &mut block) {
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            if len < block_size {
                // The end of input: the rest goes as it is (the writer handles a last line
                // without a newline).
                let sent = if len > 0 || !head.is_empty() {
                    pipeline.send(head, block, len)
                } else {
                    Ok(())
                };
                break sent.and_then(|()| pipeline.drain());
            }
            let sent = match memchr::memrchr(b'\n', &block[..len]) {
                Some(nl) => {
                    let mut next = pipeline.vec();
                    next.clear();
                    next.extend_from_slice(&block[nl + 1..len]);
                    let sent = pipeline.send(std::mem::replace(&mut head, next), block, nl + 1);
                    sent.map(|()| true)
                }
                None => match pipeline.long_line(&mut input, mask, &head, block, len) {
                    Ok(Some(rest)) => {
                        head = rest;
                        Ok(true)
                    }
                    Ok(None) => Ok(false),
                    Err(e) => Err(e),
                },
            };
            match sent {
                Ok(true) => {}
                Ok(false) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        // Closing the job channels ends the threads; the scope joins them.
        pipeline.jobs.clear();
        result?;
        pipeline.output.flush()?;
        Ok(pipeline.stats)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anonymize::{Scope, mask_stream};
    use proptest::prelude::*;

    fn both(mask: &Mask, input: &[u8]) -> (Vec<u8>, MaskStats, Vec<u8>, MaskStats) {
        let mut one = Vec::new();
        let s1 = mask_stream(mask, input, &mut one, false).unwrap();
        let mut many = Vec::new();
        let s2 = mask_stream_parallel(mask, input, &mut many, 3).unwrap();
        (one, s1, many, s2)
    }

    /// Lines of every length around the block size, addresses at block edges, a line of
    /// several blocks and a last line without a newline: the threads give the one-thread bytes.
    #[test]
    fn parallel_output_is_the_one_thread_output_byte_for_byte() {
        let mut input = Vec::new();
        let mut i = 0u32;
        while input.len() < 3 * BLOCK + 12345 {
            let pad = "x".repeat((i as usize * 7919) % 3000);
            input.extend_from_slice(
                format!(
                    "203.0.{}.{} - - \"GET /{pad}?ip=2001:db8::{i:x}\" 200\n",
                    i % 256,
                    i % 199
                )
                .as_bytes(),
            );
            i += 1;
        }
        // A line longer than two blocks, with addresses at its start, middle and end.
        let mut long = b"198.51.100.7 ".to_vec();
        long.extend(std::iter::repeat_n(b'a', BLOCK));
        long.extend_from_slice(b" 192.0.2.55 ");
        long.extend(std::iter::repeat_n(b'b', BLOCK + 17));
        long.extend_from_slice(b" 10.1.2.3\n");
        input.extend_from_slice(&long);
        input.extend_from_slice(b"after 172.16.5.4\nlast 203.0.113.9");
        for scope in [Scope::All, Scope::Client] {
            let mask = Mask {
                scope,
                ..Mask::default()
            };
            let (one, s1, many, s2) = both(&mask, &input);
            assert!(one == many, "outputs differ ({scope:?})");
            assert_eq!(s1, s2);
            // The leading address of every line but those whose last octet is already 0
            // (one in 199), and under `scope: all` the IPv6 address of its query too.
            let lines = u64::from(i);
            let per_line = if scope == Scope::All { 2 } else { 1 };
            assert!(
                s1.masked >= per_line * (lines - lines / 199 - 1),
                "{s1:?}, {i} lines"
            );
        }
    }

    #[test]
    fn parallel_handles_empty_input_and_input_without_any_newline() {
        let mask = Mask::default();
        let (one, s1, many, s2) = both(&mask, b"");
        assert!(one.is_empty() && many.is_empty());
        assert_eq!(s1, s2);
        let mut line = b"203.0.113.9 ".to_vec();
        line.extend(std::iter::repeat_n(b'z', 2 * BLOCK + 5));
        line.extend_from_slice(b" 198.51.100.7");
        let (one, s1, many, s2) = both(&mask, &line);
        assert!(one == many);
        assert_eq!(s1, s2);
        assert!(many.ends_with(b" 198.51.100.0"));
    }

    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "203.0.113.195",
            "2001:db8::1",
            "::ffff:198.51.100.7",
            "10.1.2.3:443",
            "\\x22",
            ".",
            ":",
            " ",
            "\n",
            "\n",
            "\r\n",
            "[client ",
            "client: ",
            "%3A",
            "{\"ip\":\"",
            "\"",
            "x",
            "GET /a?b=c",
            "\t",
        ])
    }

    proptest! {
        /// Any cut of any input into blocks of any size gives the one-thread bytes and counts.
        #[test]
        fn prop_blocks_of_any_size_give_the_one_thread_output(
            pieces in prop::collection::vec(piece(), 0..200),
            block in 1usize..300,
            threads in 2usize..5,
            client in prop::bool::ANY,
        ) {
            let input = pieces.concat().into_bytes();
            let mask = Mask { scope: if client { Scope::Client } else { Scope::All }, ..Mask::default() };
            let mut one = Vec::new();
            let s1 = mask_stream(&mask, &input[..], &mut one, false).unwrap();
            let mut many = Vec::new();
            let s2 = in_blocks(&mask, &input[..], &mut many, threads, block).unwrap();
            prop_assert_eq!(one, many);
            prop_assert_eq!(s1, s2);
        }
    }

    #[test]
    fn a_failing_output_is_reported_and_the_threads_stop() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let input = b"203.0.113.9 x\n".repeat(200_000);
        let err = mask_stream_parallel(&Mask::default(), &input[..], Broken, 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
