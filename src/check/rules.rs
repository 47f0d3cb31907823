//! The rules one file is held to, and the violations that break them.
//!
//! `FileRules` turns a site's policy into the limits a file is judged by at `now - grace`
//! (the cutoffs come from the site, never computed here); the functions below turn what a
//! read found, and what the listing shows, into violations with their evidence. They must
//! never read a file's records (that is `scan`) and never put a line's text into a message.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};

use super::scan::FileScan;
use super::{Evidence, Rule, Violation, plural};
use crate::anonymize::Mask;
use crate::policy::{FullIpLimit, Site, duration_in_words};
use crate::timestamp::LogFormat;

/// The rules one file is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileRules {
    /// The instant the age-based rules are judged at: `now - grace`.
    pub(super) judged_at: Timestamp,
    pub(super) retention_cutoff: Timestamp,
    pub(super) full_ip: FullIpLimit,
    pub(super) mask: Mask,
    /// The name of the log's `format:`, for what the report says of undated lines.
    pub(super) format: &'static str,
}

impl FileRules {
    /// The rules for a live log (`archive: false`) or an archive of `site` at `now`, with
    /// the age-based ones judged `grace` earlier. `FullIpLimit::All` takes no grace: it does
    /// not depend on when a record was written.
    pub(super) fn for_site(
        site: &Site,
        archive: bool,
        now: Timestamp,
        grace: SignedDuration,
    ) -> FileRules {
        let at = earlier(now, grace);
        FileRules {
            judged_at: at,
            retention_cutoff: site.retention_cutoff(at),
            full_ip: site.full_ip_limit(archive, at),
            mask: site.truncation.map(|t| t.mask).unwrap_or_default(),
            format: LogFormat::Auto.name(),
        }
    }

    /// The same rules for a log read in `format`.
    pub(super) fn in_format(self, format: &LogFormat) -> FileRules {
        FileRules {
            format: format.name(),
            ..self
        }
    }
}

/// `at - d`, or the first representable instant: a grace reaching back beyond it means no
/// record can be old enough, which is the verdict, not a reason to panic.
fn earlier(at: Timestamp, d: SignedDuration) -> Timestamp {
    at.checked_sub(d).unwrap_or(Timestamp::MIN)
}

fn days(d: SignedDuration) -> f64 {
    (d.as_secs_f64() / 86_400.0 * 100.0).round() / 100.0
}

/// The violations a file's scan shows under its rules.
pub(super) fn scan_violations(
    site: &Site,
    file: &Path,
    scan: &FileScan,
    rules: &FileRules,
    now: Timestamp,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let file_text = Some(crate::escape::path(file));
    if let Some(oldest) = scan.oldest_expired {
        let age = days(now.duration_since(oldest));
        out.push(Violation {
            site: site.name.clone(),
            file: file_text.clone(),
            rule: Rule::Retention,
            message: format!(
                "{} older than the retention of {}; the oldest, from {oldest}, is {age} days old",
                plural(scan.expired, "record", "records"),
                duration_in_words(site.retention)
            ),
            evidence: Evidence {
                records: Some(scan.expired),
                oldest: Some(oldest.to_string()),
                age_days: Some(age),
                limit_days: Some(days(site.retention)),
                ..Evidence::default()
            },
        });
    }
    if let (Some(first), Some(last)) = (scan.first_undated_line, scan.last_undated_line) {
        let lines = if first == last {
            format!("line {first}")
        } else {
            format!("lines {first}-{last}")
        };
        out.push(Violation {
            site: site.name.clone(),
            file: file_text.clone(),
            rule: Rule::Undated,
            message: format!(
                "{} ({lines}) carry no readable time where `format: {}` puts it, so retention and the full-IP window cannot be judged for them; is the log's format right (`logwarden validate` suggests one)?",
                plural(scan.undated, "line", "lines"),
                rules.format
            ),
            evidence: Evidence {
                records: Some(scan.undated),
                first_line: Some(first),
                ..Evidence::default()
            },
        });
    }
    if let Some(first) = scan.first_full_ip_line {
        let n = plural(scan.full_ip_records, "record", "records");
        let (message, limit) = match rules.full_ip {
            FullIpLimit::Before(cut) => {
                // From the instant judged, so the grace does not widen the window named.
                let window = rules.judged_at.duration_since(cut);
                (
                    format!(
                        "{n} older than the full-IP window of {} still hold a full IP address (first at line {first})",
                        duration_in_words(window)
                    ),
                    Some(days(window)),
                )
            }
            _ => (
                format!(
                    "{n} in an archive still hold a full IP address (first at line {first}); with anonymize.after: 0s every archive must be truncated"
                ),
                Some(0.0),
            ),
        };
        out.push(Violation {
            site: site.name.clone(),
            file: file_text,
            rule: Rule::FullIp,
            message,
            evidence: Evidence {
                records: Some(scan.full_ip_records),
                first_line: Some(first),
                limit_days: limit,
                ..Evidence::default()
            },
        });
    }
    out
}

/// Whether others can really read a file: o+r on it and o+x on every directory above it.
pub(super) fn others_can_read(file_mode: u32, dir_modes: impl IntoIterator<Item = u32>) -> bool {
    file_mode & 0o004 != 0 && dir_modes.into_iter().all(|m| m & 0o001 != 0)
}

/// Directory modes, each looked up once. A directory that cannot be looked up counts as
/// searchable, so doubt is reported rather than hidden.
#[derive(Default)]
pub(super) struct DirModes(HashMap<PathBuf, u32>);

impl DirModes {
    pub(super) fn above(&mut self, file: &Path) -> Vec<u32> {
        let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        abs.ancestors()
            .skip(1)
            .map(|d| {
                *self.0.entry(d.to_path_buf()).or_insert_with(|| {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::metadata(d).map_or(0o777, |m| m.permissions().mode())
                })
            })
            .collect()
    }
}

/// A pattern with no file behind it (no live log, no archive of one), unless its directory is already reported as
/// unreadable: a typo in the policy must not read as "0 files, compliant".
pub(super) fn missing(site: &Site, sf: &crate::inventory::SiteFiles) -> Vec<Violation> {
    site.logs
        .iter()
        .filter(|p| !sf.problems.iter().any(|pr| pr.path == p.dir))
        .filter(|p| {
            !sf.families.iter().any(|f| {
                (f.live.is_some() || !f.archives.is_empty())
                    && f.dir == p.dir
                    && p.name.matches(&f.live_name)
            })
        })
        .map(|p| {
            let why = if p.dir.is_dir() {
                "matches no file"
            } else {
                "matches no file: its directory does not exist"
            };
            Violation {
                site: site.name.clone(),
                file: Some(p.display()),
                rule: Rule::Missing,
                message: format!(
                    "{why}; nothing was judged (set missing_ok: true on the site if that is expected)"
                ),
                evidence: Evidence {
                    key: Some(p.key.clone()),
                    ..Evidence::default()
                },
            }
        })
        .collect()
}

/// Others can really read `path`, whose mode is `mode`.
pub(super) fn world_readable(site: &Site, path: &Path, mode: u32) -> Violation {
    Violation {
        site: site.name.clone(),
        file: Some(crate::escape::path(path)),
        rule: Rule::WorldReadable,
        message: format!(
            "readable by everyone (mode {mode:04o}, and every directory above it lets others through)"
        ),
        evidence: Evidence {
            mode: Some(format!("{mode:04o}")),
            ..Evidence::default()
        },
    }
}

/// A name that extends a covered log's without being it or an archive of it.
pub(super) fn unclassified(site: &Site, path: &Path) -> Violation {
    let why = "its name extends a covered log's name but it is neither that log nor an archive of it (no separator after the log's name); logwarden leaves it alone: rename it as an archive, cover it with a pattern, or remove it";
    Violation {
        site: site.name.clone(),
        file: Some(path.display().to_string()),
        rule: Rule::Unclassified,
        message: why.to_string(),
        evidence: Evidence {
            reason: Some("unclassified name".into()),
            ..Evidence::default()
        },
    }
}

pub(super) fn unreadable(site: &Site, path: &Path, why: &str) -> Violation {
    Violation {
        site: site.name.clone(),
        file: Some(crate::escape::path(path)),
        rule: Rule::Unreadable,
        message: why.to_string(),
        evidence: Evidence {
            reason: Some(why.to_string()),
            ..Evidence::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use jiff::{SignedDuration, Timestamp};

    use super::super::testing::{NOW, line, line_at, scan, site, t};
    use super::*;

    #[test]
    fn after_zero_holds_every_archive_record_and_the_live_file_to_the_rotation() {
        let s = site("    rotate: { every: 1d }\n    anonymize: { after: 0s }\n");
        let fresh = line("198.51.100.7", "2026-11-29T11:00:00Z");
        let stale = line("198.51.100.7", "2026-11-28T11:00:00Z");
        let archive = FileRules::for_site(&s, true, t(NOW), SignedDuration::ZERO);
        assert_eq!(archive.full_ip, FullIpLimit::All);
        let no_stamp = "198.51.100.7 no stamp at all\n";
        assert_eq!(scan(no_stamp, &archive).full_ip_records, 1);
        assert_eq!(scan(&fresh, &archive).full_ip_records, 1);
        let live = FileRules::for_site(&s, false, t(NOW), SignedDuration::ZERO);
        assert_eq!(scan(&fresh, &live).full_ip_records, 0);
        assert_eq!(scan(&stale, &live).full_ip_records, 1);
        let v = scan_violations(
            &s,
            Path::new("/l/x"),
            &scan(&fresh, &archive),
            &archive,
            t(NOW),
        );
        assert!(v[0].message.contains("after: 0s"), "{}", v[0].message);
    }

    const HOUR: SignedDuration = SignedDuration::from_hours(1);
    const SECOND: SignedDuration = SignedDuration::from_secs(1);
    const DAY: SignedDuration = SignedDuration::from_hours(24);

    /// Records whose limit was crossed exactly `grace` ago, one second less, one second more.
    fn around_the_grace_edge(limit: SignedDuration, grace: SignedDuration) -> [Timestamp; 3] {
        let edge = t(NOW) - grace - limit;
        [edge, edge + SECOND, edge - SECOND]
    }

    #[test]
    fn retention_is_judged_at_now_minus_grace_to_the_second() {
        let s = site("    retention: 14d\n    anonymize: false\n");
        let rules = FileRules::for_site(&s, true, t(NOW), HOUR);
        let [edge, inside, outside] = around_the_grace_edge(14 * DAY, HOUR);
        assert_eq!(scan(&line_at("198.51.100.0", edge), &rules).expired, 0);
        assert_eq!(scan(&line_at("198.51.100.0", inside), &rules).expired, 0);
        let got = scan(&line_at("198.51.100.0", outside), &rules);
        assert_eq!(got.expired, 1);
        // The evidence is about the real clock: the age is measured from now, not now - grace.
        let v = scan_violations(&s, Path::new("/l/a.gz"), &got, &rules, t(NOW));
        assert_eq!(v[0].rule, Rule::Retention);
        assert_eq!(v[0].evidence.oldest, Some(outside.to_string()));
        assert_eq!(v[0].evidence.age_days, Some(14.04));
        assert_eq!(v[0].evidence.limit_days, Some(14.0));
    }

    #[test]
    fn full_ip_window_is_judged_at_now_minus_grace_to_the_second() {
        let s = site("    retention: 30d\n    anonymize: { after: 7d }\n");
        for archive in [true, false] {
            let rules = FileRules::for_site(&s, archive, t(NOW), HOUR);
            let [edge, inside, outside] = around_the_grace_edge(7 * DAY, HOUR);
            let full = |at| scan(&line_at("198.51.100.7", at), &rules).full_ip_records;
            assert_eq!(full(edge), 0, "archive: {archive}");
            assert_eq!(full(inside), 0, "archive: {archive}");
            assert_eq!(full(outside), 1, "archive: {archive}");
            let got = scan(&line_at("198.51.100.7", outside), &rules);
            let v = scan_violations(&s, Path::new("/l/a"), &got, &rules, t(NOW));
            // The window named is the policy's, not the policy's plus the grace.
            assert!(
                v[0].message.contains("window of 7 days "),
                "{}",
                v[0].message
            );
            assert_eq!(v[0].evidence.limit_days, Some(7.0));
        }
    }

    #[test]
    fn grace_zero_judges_at_now_exactly_as_before_grace_existed() {
        let s = site("    retention: 14d\n    anonymize: { after: 7d }\n");
        let rules = FileRules::for_site(&s, true, t(NOW), SignedDuration::ZERO);
        assert_eq!(rules.judged_at, t(NOW));
        assert_eq!(rules.retention_cutoff, t(NOW) - 14 * DAY);
        assert_eq!(rules.full_ip, FullIpLimit::Before(t(NOW) - 7 * DAY));
        let [at_limit, inside, outside] = around_the_grace_edge(14 * DAY, SignedDuration::ZERO);
        assert_eq!(scan(&line_at("198.51.100.0", at_limit), &rules).expired, 0);
        assert_eq!(scan(&line_at("198.51.100.0", inside), &rules).expired, 0);
        assert_eq!(scan(&line_at("198.51.100.0", outside), &rules).expired, 1);
        let [at_limit, inside, outside] = around_the_grace_edge(7 * DAY, SignedDuration::ZERO);
        let full = |at| scan(&line_at("198.51.100.7", at), &rules).full_ip_records;
        assert_eq!((full(at_limit), full(inside), full(outside)), (0, 0, 1));
    }

    #[test]
    fn grace_moves_the_live_rotation_limit_of_after_zero_but_not_its_archives() {
        let s = site("    rotate: { every: 1d }\n    anonymize: { after: 0s }\n");
        let archive = FileRules::for_site(&s, true, t(NOW), 2 * DAY);
        assert_eq!(archive.full_ip, FullIpLimit::All);
        assert_eq!(
            scan(&line("198.51.100.7", "2026-11-29T11:00:00Z"), &archive).full_ip_records,
            1
        );
        // The live file must rotate once its oldest record is a day old: that is age-based.
        let live = FileRules::for_site(&s, false, t(NOW), HOUR);
        let [edge, inside, outside] = around_the_grace_edge(DAY, HOUR);
        let full = |at| scan(&line_at("198.51.100.7", at), &live).full_ip_records;
        assert_eq!((full(edge), full(inside), full(outside)), (0, 0, 1));
    }

    #[test]
    fn a_grace_beyond_the_representable_past_flags_nothing_and_does_not_panic() {
        let s = site("    retention: 14d\n    anonymize: { after: 7d }\n");
        let rules = FileRules::for_site(&s, true, t(NOW), SignedDuration::MAX);
        let got = scan(&line("198.51.100.7", "1970-01-01T00:00:00Z"), &rules);
        assert_eq!((got.expired, got.full_ip_records), (0, 0));
    }

    #[test]
    fn readable_by_everyone_needs_every_directory_searchable() {
        assert!(others_can_read(0o644, [0o755, 0o755]));
        assert!(!others_can_read(0o640, [0o755, 0o755]));
        assert!(!others_can_read(0o644, [0o750, 0o755]));
        assert!(!others_can_read(0o644, [0o755, 0o700]));
        assert!(others_can_read(0o604, []));
    }
}
