//! Read buffers that start on a page boundary.
//!
//! A buffer of 128 KiB or more comes from glibc's `mmap` path and starts 16 bytes past a page
//! boundary. The kernel's copy into such a buffer ran five times slower on the benchmark VM
//! (0.09 s of system time for 200 MB, against 0.02 s into an aligned buffer; `cat` gets the
//! fast case). Every buffer that a file is `read()` into comes from here. This module only
//! decides where bytes land: it never changes, reorders or drops what is read.

use std::io::{self, BufRead, Read};
use std::ops::{Deref, DerefMut};

const ALIGN: usize = 4096;

/// A zeroed byte buffer whose first byte is page-aligned (when the allocator allows it; if not,
/// it is an ordinary buffer and only slower).
pub struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    pub fn new(len: usize) -> AlignedBuf {
        let storage = vec![0u8; len + ALIGN];
        let start = storage.as_ptr().align_offset(ALIGN).min(ALIGN);
        AlignedBuf {
            storage,
            start,
            len,
        }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// `std::io::BufReader` with an [`AlignedBuf`].
pub struct AlignedReader<R> {
    inner: R,
    buf: AlignedBuf,
    pos: usize,
    filled: usize,
}

impl<R: Read> AlignedReader<R> {
    pub fn with_capacity(capacity: usize, inner: R) -> AlignedReader<R> {
        AlignedReader {
            inner,
            buf: AlignedBuf::new(capacity.max(1)),
            pos: 0,
            filled: 0,
        }
    }
}

impl<R: Read> Read for AlignedReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // Like BufReader: a large read into an empty buffer goes straight to the caller's.
        if self.pos == self.filled && out.len() >= self.buf.len() {
            return self.inner.read(out);
        }
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for AlignedReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.filled {
            self.filled = loop {
                match self.inner.read(&mut self.buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.filled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_start_on_a_page() {
        for len in [1, 4096, 128 * 1024, 256 * 1024 + 3] {
            let b = AlignedBuf::new(len);
            assert_eq!(b.len(), len);
            assert_eq!(b.as_ptr() as usize % ALIGN, 0, "len {len}");
        }
    }

    /// A reader that hands out at most `step` bytes per call, to exercise every path.
    struct Dribble<'a>(&'a [u8], usize);
    impl Read for Dribble<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn reads_every_byte_in_order_whatever_the_sizes() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for (cap, step, chunk) in [
            (1, 3, 2),
            (16, 5, 64),
            (4096, 1000, 10),
            (64, 100_000, 9999),
        ] {
            let mut r = AlignedReader::with_capacity(cap, Dribble(&data, step));
            let mut got = Vec::new();
            let mut piece = vec![0u8; chunk];
            loop {
                let n = r.read(&mut piece).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&piece[..n]);
            }
            assert_eq!(got, data, "cap {cap} step {step} chunk {chunk}");
        }
        let mut lines = 0;
        let mut r = AlignedReader::with_capacity(7, &b"a\nbb\n\nccc"[..]);
        let mut line = String::new();
        while r.read_line(&mut line).unwrap() > 0 {
            lines += 1;
        }
        assert_eq!((lines, line.as_str()), (4, "a\nbb\n\nccc"));
    }
}
