//! Block-parallel gzip: the compression of an archive spread over every core.
//!
//! Compression is where a rotation pass spends its time, and one core of a small VM is not
//! enough to finish a busy site's daily pass in a fraction of what `gzip` alone takes. The
//! stream is cut into blocks, each compressed on a worker thread into a complete gzip
//! member, and the members are written in order: an ordinary multi-member gzip file that
//! `zcat`, `gunzip` and `MultiGzDecoder` read as one stream. Independent blocks cost a
//! fraction of a per cent in size. Memory stays bounded (a few blocks in flight). It must
//! never reorder, drop or duplicate a byte, and the first member carries the header comment
//! that `archive` fills in later, at a fixed offset.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use flate2::Compression;

/// Uncompressed bytes per member: large enough that the lost dictionary across members
/// costs well under 1 %, small enough that a few in flight stay within a small RSS.
pub const BLOCK: usize = 1 << 21;

type Job = (u64, Vec<u8>);
type Done = (u64, io::Result<Vec<u8>>);

pub struct ParallelGz<W: Write> {
    out: W,
    level: Compression,
    /// The first member's header comment (a placeholder to be overwritten in place).
    comment: Option<Vec<u8>>,
    block: Vec<u8>,
    next_seq: u64,
    next_to_write: u64,
    in_flight: usize,
    max_in_flight: usize,
    jobs: Option<SyncSender<Job>>,
    results: Receiver<Done>,
    ready: BTreeMap<u64, io::Result<Vec<u8>>>,
    workers: Vec<JoinHandle<()>>,
    written: u64,
}

impl<W: Write> ParallelGz<W> {
    /// `comment` goes into the first member's header; `threads` 0 means one per core.
    pub fn new(out: W, level: u32, comment: Vec<u8>, threads: usize) -> ParallelGz<W> {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            n => n,
        };
        let (job_tx, job_rx) = sync_channel::<Job>(threads * 2);
        let (done_tx, done_rx) = sync_channel::<Done>(threads * 2 + 2);
        let job_rx = std::sync::Arc::new(std::sync::Mutex::new(job_rx));
        let level = Compression::new(level);
        let workers = (0..threads)
            .map(|_| {
                let rx = job_rx.clone();
                let tx = done_tx.clone();
                std::thread::spawn(move || {
                    // One compressor per worker: its match-finder state is a few MB that
                    // every member would otherwise allocate and clear again.
                    // (The level is clamped to libdeflate's range, so this cannot fail; a
                    // worker that stopped anyway leaves its jobs to the others, and with none
                    // left the writer reports "gzip worker stopped".)
                    let Ok(mut compressor) = compressor(level) else {
                        return;
                    };
                    loop {
                        // The lock is held only to take one job.
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        let Ok((seq, data)) = job else { return };
                        if tx
                            .send((seq, member(&data, &mut compressor, None)))
                            .is_err()
                        {
                            return;
                        }
                    }
                })
            })
            .collect();
        ParallelGz {
            out,
            level,
            comment: Some(comment),
            block: Vec::with_capacity(BLOCK),
            next_seq: 0,
            next_to_write: 0,
            in_flight: 0,
            max_in_flight: threads * 2 + 1,
            jobs: Some(job_tx),
            results: done_rx,
            ready: BTreeMap::new(),
            workers,
            written: 0,
        }
    }

    fn submit(&mut self) -> io::Result<()> {
        let data = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(comment) = self.comment.take() {
            // The first member is compressed here: its header holds the comment and it is
            // the only one whose layout the caller relies on.
            let first =
                compressor(self.level).and_then(|mut c| member(&data, &mut c, Some(comment)));
            self.ready.insert(seq, first);
        } else {
            let jobs = self
                .jobs
                .as_ref()
                .ok_or_else(|| io::Error::other("gzip writer finished"))?;
            jobs.send((seq, data))
                .map_err(|_| io::Error::other("gzip worker stopped"))?;
            self.in_flight += 1;
        }
        self.write_ready(self.in_flight >= self.max_in_flight)
    }

    /// Writes finished members in order; with `wait`, blocks for at least one result.
    fn write_ready(&mut self, mut wait: bool) -> io::Result<()> {
        loop {
            while let Some(result) = self.ready.remove(&self.next_to_write) {
                let bytes = result?;
                self.out.write_all(&bytes)?;
                self.written += bytes.len() as u64;
                self.next_to_write += 1;
            }
            let received = if wait {
                self.results.recv().ok()
            } else {
                self.results.try_recv().ok()
            };
            match received {
                Some((seq, result)) => {
                    self.in_flight -= 1;
                    self.ready.insert(seq, result);
                    wait = false;
                }
                None => return Ok(()),
            }
        }
    }

    /// Compresses what is left, waits for every member, and returns the writer and the
    /// number of compressed bytes written.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        if !self.block.is_empty() || self.next_seq == 0 {
            self.submit()?;
        }
        while self.in_flight > 0 {
            self.write_ready(true)?;
        }
        self.write_ready(false)?;
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.out.flush()?;
        Ok((self.out, self.written))
    }
}

impl<W: Write> Write for ParallelGz<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = BLOCK - self.block.len();
        let n = buf.len().min(room);
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == BLOCK {
            self.submit()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// Dropped unfinished (an error upstream), the job channel closes and the workers end on
// their own; their results are discarded.

/// One gzip member (RFC 1952) of `data`: the header (with `comment` as FCOMMENT, starting
/// at byte 10 where `archive` rewrites it in place), the deflate stream, CRC-32 and size.
/// libdeflate compresses a whole buffer at once, which is the shape of a member, at about
/// twice zlib's speed for the same level and size (`bench/run.sh`).
fn member(
    data: &[u8],
    compressor: &mut libdeflater::Compressor,
    comment: Option<Vec<u8>>,
) -> io::Result<Vec<u8>> {
    const FCOMMENT: u8 = 0x10;
    // The same header fields flate2's GzBuilder writes: no mtime, unknown OS.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    if let Some(c) = comment {
        if c.contains(&0) {
            return Err(io::Error::other("a gzip comment cannot hold a NUL byte"));
        }
        out[3] = FCOMMENT;
        out.extend_from_slice(&c);
        out.push(0);
    }
    let start = out.len();
    out.resize(start + compressor.deflate_compress_bound(data.len()), 0);
    let n = compressor
        .deflate_compress(data, &mut out[start..])
        .map_err(|e| io::Error::other(format!("deflate: {e:?}")))?;
    out.truncate(start + n);
    out.extend_from_slice(&libdeflater::crc32(data).to_le_bytes());
    // ISIZE is the length modulo 2^32 by definition; a block is 2 MiB.
    out.extend_from_slice(&((data.len() & 0xffff_ffff) as u32).to_le_bytes());
    Ok(out)
}

/// A libdeflate compressor at `level` (1-12).
fn compressor(level: Compression) -> io::Result<libdeflater::Compressor> {
    let lvl = libdeflater::CompressionLvl::new(level.level().clamp(1, 12) as i32)
        .map_err(|e| io::Error::other(format!("compression level: {e:?}")))?;
    Ok(libdeflater::Compressor::new(lvl))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn roundtrip(data: &[u8], threads: usize) -> Vec<u8> {
        let mut w = ParallelGz::new(Vec::new(), 6, b"hello".to_vec(), threads);
        // Odd write sizes across block boundaries.
        for piece in data.chunks(777_777) {
            w.write_all(piece).unwrap();
        }
        let (gz, n) = w.finish().unwrap();
        assert_eq!(n as usize, gz.len());
        assert_eq!(
            &gz[..4],
            &[0x1f, 0x8b, 8, 0x10],
            "first member has FCOMMENT only"
        );
        assert_eq!(&gz[10..16], b"hello\0");
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn members_come_out_in_order_and_whole() {
        let data: Vec<u8> = (0..(BLOCK * 5 + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        for threads in [1, 2, 3] {
            assert!(roundtrip(&data, threads) == data, "threads {threads}");
        }
        assert!(roundtrip(b"", 2).is_empty());
        assert_eq!(roundtrip(b"short\n", 2), b"short\n");
    }

    #[test]
    fn zcat_reads_the_members_as_one_stream() {
        // Not a skip: gzip is on every system this runs on (Debian marks it essential), and
        // a silent skip would hide the one check that real zcat reads our members.
        let status = std::process::Command::new("gzip")
            .arg("--version")
            .output()
            .expect("the gzip binary (to check that zcat reads our members)");
        assert!(status.status.success());
        let data: Vec<u8> = (0..(BLOCK * 2 + 99))
            .map(|i| b'a' + (i % 26) as u8)
            .collect();
        let mut w = ParallelGz::new(Vec::new(), 1, Vec::new(), 2);
        w.write_all(&data).unwrap();
        let (gz, _) = w.finish().unwrap();
        let mut child = std::process::Command::new("gzip")
            .arg("-dc")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || stdin.write_all(&gz));
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        assert!(out.status.success());
        assert!(out.stdout == data);
    }
}
