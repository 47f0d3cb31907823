//! The facts logwarden keeps at the head of an archive it wrote: the header comment of a
//! gzip archive, a skippable frame first in a zstd one (which `zstd -d` passes over).
//!
//! The time range of the records and the mask applied to them, in a fixed-width text so
//! an idle pass reads a few bytes per archive instead of decompressing it. Reading must
//! never trust what it cannot parse: a header that is not ours, or not whole, is no facts
//! at all, and the archive is then read in full.

use std::fs::File;
use std::os::unix::fs::FileExt;

use jiff::Timestamp;

use super::probe::RecordTimes;
use super::rewrite::{RewriteOutcome, RewriteSpec};
use crate::anonymize::{Mask, Scope};

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

    pub(super) fn encode(&self) -> Vec<u8> {
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
pub(super) const HEADER_LEN: usize = 128;
/// Offset of the comment in a gzip header with only FCOMMENT set.
pub(super) const COMMENT_OFFSET: u64 = 10;
/// The magic of the skippable frame that carries the facts first in a zstd archive: one of
/// the sixteen zstd leaves to applications (`0x184D2A50` to `0x184D2A5F`).
const ZSTD_MAGIC: u32 = 0x184D_2A57;
/// Offset of the facts text in that frame: after the magic and the frame's length.
const ZSTD_FACTS_OFFSET: u64 = 8;

/// What starts a zstd archive of ours before the facts are known: the frame, its length
/// and a blank text of [`HEADER_LEN`] bytes, filled in place at the end.
pub(super) fn zstd_placeholder() -> Vec<u8> {
    let mut v = Vec::with_capacity(ZSTD_FACTS_OFFSET as usize + HEADER_LEN);
    v.extend_from_slice(&ZSTD_MAGIC.to_le_bytes());
    v.extend_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    v.resize(ZSTD_FACTS_OFFSET as usize + HEADER_LEN, b' ');
    v
}

/// Where the facts text sits in an archive of `format` that logwarden wrote.
pub(super) fn facts_offset(format: super::Format) -> Option<u64> {
    match format {
        super::Format::Gzip => Some(COMMENT_OFFSET),
        super::Format::Zstd => Some(ZSTD_FACTS_OFFSET),
        _ => None,
    }
}

/// Reads the logwarden facts from the head of a gzip or zstd file, if it has them.
pub fn read_header(file: &File) -> Option<HeaderFacts> {
    let mut head = [0u8; COMMENT_OFFSET as usize + HEADER_LEN + 1];
    let n = file.read_at(&mut head, 0).ok()?;
    let head = &head[..n];
    if head.len() >= ZSTD_FACTS_OFFSET as usize + HEADER_LEN
        && head[..4] == ZSTD_MAGIC.to_le_bytes()
        && head[4..8] == (HEADER_LEN as u32).to_le_bytes()
    {
        let text = &head[ZSTD_FACTS_OFFSET as usize..][..HEADER_LEN];
        return HeaderFacts::decode(text);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_read_back_what_their_text_says() {
        let facts = HeaderFacts {
            oldest: Some("2026-11-01T10:00:00Z".parse().unwrap()),
            newest: Some("2026-11-02T10:00:00Z".parse().unwrap()),
            mask: Some(Mask::new(24, 48, Scope::All).unwrap()),
            masked_before: Some("2026-11-02T00:00:00Z".parse().unwrap()),
            undated: 3,
        };
        let encoded = facts.encode();
        assert_eq!(encoded.len(), HEADER_LEN);
        assert_eq!(HeaderFacts::decode(&encoded), Some(facts));
        let none = HeaderFacts {
            oldest: None,
            newest: None,
            mask: None,
            masked_before: None,
            undated: 0,
        };
        assert_eq!(HeaderFacts::from_text(&none.to_text()), Some(none));
        assert_eq!(HeaderFacts::from_text("gzip oldest=-"), None);
    }
}
