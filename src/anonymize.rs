//! placeholder until the anonymizer branch lands (same API)
use std::io::{self, Write};
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Client,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mask {
    pub ipv4_prefix: u8,
    pub ipv6_prefix: u8,
    pub scope: Scope,
}
#[derive(Debug, thiserror::Error)]
#[error("bad prefix")]
pub struct MaskError;
impl Mask {
    pub fn new(ipv4_prefix: u8, ipv6_prefix: u8, scope: Scope) -> Result<Mask, MaskError> {
        if ipv4_prefix > 32 || ipv6_prefix > 128 {
            return Err(MaskError);
        }
        Ok(Mask {
            ipv4_prefix,
            ipv6_prefix,
            scope,
        })
    }
}
impl Default for Mask {
    fn default() -> Self {
        Mask {
            ipv4_prefix: 24,
            ipv6_prefix: 40,
            scope: Scope::All,
        }
    }
}
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaskStats {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub lines: u64,
    pub masked: u64,
}
pub fn mask_line(mask: &Mask, line: &[u8], out: &mut Vec<u8>) -> usize {
    let _ = mask;
    let s = String::from_utf8_lossy(line);
    let mut n = 0;
    for (i, tok) in s.split(' ').enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if let Ok(ip) = tok.parse::<std::net::Ipv4Addr>() {
            let o = ip.octets();
            let m = std::net::Ipv4Addr::new(o[0], o[1], o[2], 0).to_string();
            if m != tok {
                n += 1;
            }
            out.extend_from_slice(m.as_bytes());
        } else {
            out.extend_from_slice(tok.as_bytes());
        }
    }
    n
}
pub struct MaskingWriter<W: Write> {
    mask: Mask,
    inner: W,
    buf: Vec<u8>,
    stats: MaskStats,
}
impl<W: Write> MaskingWriter<W> {
    pub fn new(mask: Mask, inner: W) -> Self {
        MaskingWriter {
            mask,
            inner,
            buf: Vec::new(),
            stats: MaskStats::default(),
        }
    }
    pub fn finish(mut self) -> io::Result<(W, MaskStats)> {
        let b = std::mem::take(&mut self.buf);
        let mut out = Vec::new();
        self.stats.masked += mask_line(&self.mask, &b, &mut out) as u64;
        self.inner.write_all(&out)?;
        Ok((self.inner, self.stats))
    }
    pub fn stats(&self) -> MaskStats {
        self.stats
    }
}
impl<W: Write> Write for MaskingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        while let Some(p) = memchr::memchr(b'\n', &self.buf) {
            let line: Vec<u8> = self.buf.drain(..=p).collect();
            let mut out = Vec::new();
            self.stats.masked += mask_line(&self.mask, &line[..line.len() - 1], &mut out) as u64;
            out.push(b'\n');
            self.inner.write_all(&out)?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
pub fn mask_stream<R: io::Read, W: Write>(
    mask: &Mask,
    mut input: R,
    output: W,
    _flush_each_line: bool,
) -> io::Result<MaskStats> {
    let mut w = MaskingWriter::new(*mask, output);
    io::copy(&mut input, &mut w)?;
    let (mut o, s) = w.finish()?;
    o.flush()?;
    Ok(s)
}
