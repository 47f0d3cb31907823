//! What a name in a log directory says: a live log, an archive of one (ours or
//! logrotate's, and in which format), or a temporary file of an interrupted pass.
//!
//! Names are the state logwarden keeps (there is no state file), so this is the one place
//! that reads them and the one that makes them (`archive_name`). It only looks at names: it
//! must never read a directory or a file.

use std::sync::OnceLock;

use jiff::Timestamp;
use regex::Regex;

use crate::archive::Format;
use crate::dir::{TEMP_MARK, TEMP_SUFFIX};

/// Who rotated an archive, as its name tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `<live>-YYYYmmdd-HHMMSS[.gz]`, rotated by logwarden at that UTC time.
    Ours { rotated: Timestamp },
    /// `<live>.N[.ext]`, `<live>-YYYYmmdd[HH][.ext]` and every other `dateext` name, or any
    /// other name that extends a live name after a separator: archives of unknown rotation
    /// time, dated by their records, else their mtime.
    Logrotate,
}

/// How a name in a log directory relates to a live log name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameKind {
    Archive {
        stem: String,
        origin: Origin,
        format: Format,
    },
    Temp {
        target: String,
    },
    Other,
}

/// Our names, then what logrotate makes: the `.N` counters and `dateext` under any
/// `dateformat` of `%Y %m %d %H %M %S %V %s` (`-20261130`, `-2026-11-30`, `-2026113012`,
/// `.20261130`, `-20261130-1796000000`): digit groups, each after a separator. Then any
/// compression suffix logrotate's `compressext` may add.
fn archive_suffix() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(.+?)(?:-(\d{8})-(\d{6})|[-._]\d+(?:[-._]\d+)*)(?:\.(?:gz|xz|zst|bz2|lz4|lzma|lz|lzo|Z|br|sz))?$",
        )
        .expect("valid regex")
    })
}

/// The suffixes `archive_suffix` accepts after an archive name.
const COMPRESSION_SUFFIXES: &[&str] = &[
    ".gz", ".xz", ".zst", ".bz2", ".lz4", ".lzma", ".lz", ".lzo", ".Z", ".br", ".sz",
];

/// A compression suffix logrotate's `compressext` may write that no [`Format`] reads: such
/// an archive read as plain text would show no records, and so no violation.
pub(super) fn foreign_compression(name: &str) -> Option<&'static str> {
    [
        ".lz4", ".lzma", ".lz", ".lzo", ".Z", ".br", ".sz", ".zip", ".7z",
    ]
    .into_iter()
    .find(|ext| name.ends_with(ext))
}

/// The covered live name that `name` extends after a separator (the longest, if several
/// do): `access.log.old`, `access.log-2026.11.30_1200` are archives of `access.log` that
/// no pattern describes. A name that goes on with a letter or digit (`access.log2`) may
/// be another log and is not claimed.
pub(super) fn extended_live<'a>(
    name: &str,
    lives: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    lives
        .into_iter()
        .filter(|live| {
            name.strip_prefix(*live)
                .and_then(|rest| rest.chars().next())
                .is_some_and(|c| !c.is_alphanumeric())
        })
        .max_by_key(|live| live.len())
}

/// The covered live name whose archive `name` is under logrotate's `extension`, which keeps
/// the live name's extension last: `access-20261130.log.gz`, `access.1.log` for
/// `access.log` (the dateext or counter goes before `.log`, a compression suffix after).
pub(super) fn extension_form<'a>(
    name: &str,
    lives: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    lives
        .into_iter()
        .filter(|live| {
            let Some(dot) = live.rfind('.').filter(|&d| d > 0) else {
                return false;
            };
            let (base, ext) = live.split_at(dot);
            let Some(rest) = name.strip_prefix(base) else {
                return false;
            };
            // `rest` is `<mid><ext>[.compression]` with a dateext or counter as `<mid>`.
            rest.match_indices(ext).any(|(at, _)| {
                let (mid, after) = (&rest[..at], &rest[at + ext.len()..]);
                let mid_ok = mid.len() > 1
                    && mid.starts_with(['-', '.', '_'])
                    && mid.chars().all(|c| c.is_ascii_digit() || "-._".contains(c))
                    && mid.chars().any(|c| c.is_ascii_digit());
                mid_ok && (after.is_empty() || COMPRESSION_SUFFIXES.contains(&after))
            })
        })
        .max_by_key(|live| live.len())
}

/// Classifies a directory entry's name.
pub fn classify(name: &str) -> NameKind {
    if let Some(inner) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
    {
        if let Some(i) = inner.rfind(TEMP_MARK) {
            return NameKind::Temp {
                target: inner[..i].to_string(),
            };
        }
    }
    let Some(c) = archive_suffix().captures(name) else {
        return NameKind::Other;
    };
    let stem = c[1].to_string();
    let format = Format::of_name(name);
    let origin = match (c.get(2), c.get(3)) {
        (Some(d), Some(t)) => match ours_time(d.as_str(), t.as_str()) {
            Some(rotated) => Origin::Ours { rotated },
            None => Origin::Logrotate,
        },
        _ => Origin::Logrotate,
    };
    NameKind::Archive {
        stem,
        origin,
        format,
    }
}

fn ours_time(d: &str, t: &str) -> Option<Timestamp> {
    let text = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &t[0..2],
        &t[2..4],
        &t[4..6]
    );
    text.parse().ok()
}

/// The archive name logwarden gives a live file rotated at `at`.
pub fn archive_name(live: &str, at: Timestamp) -> String {
    format!("{live}-{}", at.strftime("%Y%m%d-%H%M%S"))
}

impl NameKind {
    pub(super) fn stem(&self) -> Option<&str> {
        match self {
            NameKind::Archive { stem, .. } => Some(stem),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logrotate_extension_names_are_archives_of_the_log_whose_extension_they_keep() {
        let lives = ["access.log", "error.log"];
        for name in [
            "access-20261130.log.gz",
            "access-2026-11-30.log",
            "access.1.log",
            "access_20261130-1796000000.log.zst",
        ] {
            assert_eq!(extension_form(name, lives), Some("access.log"), "{name}");
        }
        for name in [
            "access-old.log",
            "access.log",
            "accessx-1.log",
            "access-1.log.txt",
            "access-.log",
            "other-20261130.log.gz",
        ] {
            assert_eq!(extension_form(name, lives), None, "{name}");
        }
    }

    #[test]
    fn classifies_archive_and_temp_names() {
        let ours = classify("access.log-20261128-235959.gz");
        assert_eq!(
            ours,
            NameKind::Archive {
                stem: "access.log".into(),
                origin: Origin::Ours {
                    rotated: "2026-11-28T23:59:59Z".parse().unwrap()
                },
                format: Format::Gzip
            }
        );
        for (name, stem, format) in [
            ("access.log.1", "access.log", Format::Plain),
            ("access.log.2.gz", "access.log", Format::Gzip),
            ("access.log-20261101.xz", "access.log", Format::Xz),
            ("access.log-2026110112.zst", "access.log", Format::Zstd),
            ("error.log-20261128-120000", "error.log", Format::Plain),
        ] {
            match classify(name) {
                NameKind::Archive {
                    stem: s, format: f, ..
                } => {
                    assert_eq!((s.as_str(), f), (stem, format), "{name}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        // logrotate's dateext under the dateformats of %Y %m %d %H %M %S %V %s, and every
        // compressext.
        for name in [
            "access.log-20261130-1796000000",
            "access.log-2026-11-30",
            "access.log-2026113012",
            "access.log.20261130",
            "access.log_2026-48",
            "access.log-1796000000.gz",
            "access.log.3.lz4",
            "access.log-20261130.Z",
            "access.log-2026-11-30-12-00-00.br",
        ] {
            assert!(
                matches!(classify(name), NameKind::Archive { ref stem, origin: Origin::Logrotate, .. } if stem == "access.log"),
                "{name}: {:?}",
                classify(name)
            );
        }
        assert_eq!(
            extended_live("access.log.old", ["access", "access.log", "error.log"]),
            Some("access.log")
        );
        assert_eq!(extended_live("access.log2", ["access.log"]), None);
        assert_eq!(extended_live("access.log", ["access.log"]), None);
        assert_eq!(classify("access.log"), NameKind::Other);
        assert_eq!(classify("app.2024.log"), NameKind::Other);
        assert_eq!(
            classify(".access.log-20261128-235959.gz.logwarden-12-0.tmp"),
            NameKind::Temp {
                target: "access.log-20261128-235959.gz".into()
            }
        );
    }

    #[test]
    fn archive_names_round_trip() {
        let at: Timestamp = "2026-11-29T03:04:05Z".parse().unwrap();
        let name = archive_name("access.log", at);
        assert_eq!(name, "access.log-20261129-030405");
        assert!(
            matches!(classify(&name), NameKind::Archive { origin: Origin::Ours { rotated }, .. } if rotated == at)
        );
    }
}
