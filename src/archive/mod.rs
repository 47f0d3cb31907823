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
//!
//! `Format` (here) names how an archive's bytes are stored; `header` the facts our gzip header
//! carries; `decode` reads any archive (or any stream) back as text; `rewrite` is the one
//! streaming rewrite; `probe` finds the time range of a file's records by reading them all.

mod decode;
mod header;
mod probe;
mod rewrite;

pub use decode::{decoder, sniffing_decoder};
pub use header::{HeaderFacts, read_header};
pub use probe::{RecordTimes, probe};
pub use rewrite::{RewriteOutcome, RewriteSpec, rewrite};

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

    /// Whether archives of this format that logwarden writes carry its facts (the gzip
    /// header's comment, a zstd skippable frame), so an idle pass need not read them.
    pub fn carries_facts(self) -> bool {
        matches!(self, Format::Gzip | Format::Zstd)
    }

    /// Whether logwarden can read and write this format.
    pub fn is_supported(self) -> bool {
        self != Format::Bzip2
    }
}

#[cfg(test)]
mod testing {
    /// A combined-format record of November `day`, 2026, from `203.0.113.{day}`.
    pub(super) fn line(day: u32, rest: &str) -> String {
        format!(
            "203.0.113.{day} - - [{day:02}/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5{rest}\n"
        )
    }
}
