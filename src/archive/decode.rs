//! Reads an archive, or any stream, back as the text it holds.
//!
//! The format of a listed archive is known from its name; the format of standard input is
//! sniffed from its first bytes, so compressed input is never passed through as text. It
//! must never read a format it cannot read as if it were text (bzip2 is refused by name).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::GzDecoder;

use super::Format;
use crate::aligned::AlignedReader;

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

#[cfg(test)]
mod tests {
    use std::io::{Seek, Write};

    use super::super::testing::line;
    use super::*;

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
