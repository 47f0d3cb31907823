//! The compliance audit: does every file of every site honour the policy right now?
//!
//! `enforce` makes the retention promise true; `check` proves it, for a CI job, a monitoring
//! probe or an auditor. It lists the same files the inventory does, reads every record of
//! every one of them (live logs and archives of every format, streaming, across cores), and
//! reports each violation with its site, file, rule and evidence: records past retention,
//! full addresses past the full-IP window, files others can really read, files logwarden
//! cannot read or refuses, and sites beyond the `compliance:` ceilings. It must never write
//! anything, never take the lock, and never put an address into a report: evidence is
//! counts, line numbers, times and modes, never a line's text.
//!
//! `enforce` runs in passes (hourly from the timer), so between two passes records cross the
//! retention and the full-IP window and wait, as designed, for the next pass. `--grace`
//! judges those two rules as of `now - grace`: a record is reported only once its limit was
//! crossed more than `grace` ago. They are the only rules whose verdict depends on a
//! record's age. Under `after: 0s` every archive record must be masked from the moment the
//! archive exists (the pass that makes it masks it, unless a writer still holds it open,
//! and then the full addresses are really there); files others can read, files that cannot
//! be read and ceilings do not look at time at all. Grace leaves those alone. The report
//! keeps the real `now` and states the grace.
//!
//! This module lists the files, hands them out and gathers the report: what a file is held
//! to, and the violations that makes, is in `rules`; `scan` reads a file's lines against
//! its rules; `pool` reads the files across cores; `render` writes a report as text, JSON or
//! JUnit.

mod pool;
mod render;
mod rules;
mod scan;

use std::collections::HashMap;
use std::path::PathBuf;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::archive::Format;
use crate::inventory::Inventory;
use crate::policy::{Policy, Site};
use crate::timestamp::{StampReader, rfc3339};

use pool::Job;
pub use render::{render_json, render_junit, render_text};
use rules::{DirModes, FileRules, missing, others_can_read, scan_violations, unreadable};

/// The version of the JSON report; bumped on any incompatible change.
pub const REPORT_VERSION: u32 = 1;

/// What a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The site's policy exceeds a `compliance:` ceiling.
    Ceiling,
    /// Records older than the retention.
    Retention,
    /// Records past the full-IP window that still hold a full address.
    FullIp,
    /// Others can read the file (o+r on it, o+x on every directory above it).
    WorldReadable,
    /// A file the policy covers that logwarden cannot read or refuses to touch.
    Unreadable,
    /// Lines whose time cannot be read where the format puts it: retention and the window
    /// cannot be judged for them.
    Undated,
    /// A file whose name extends a covered log's but is neither that log nor an archive of
    /// it: what it holds is unknown, so it is not judged.
    Unclassified,
    /// A log pattern that matches no file: nothing was judged, so nothing is compliant.
    Missing,
    /// Lines a server sent to a write-time input that no file holds (the kernel or the
    /// queue dropped them), within the site's retention: the log is incomplete.
    Dropped,
}

impl Rule {
    pub const ALL: [Rule; 9] = [
        Rule::Ceiling,
        Rule::Retention,
        Rule::FullIp,
        Rule::WorldReadable,
        Rule::Unreadable,
        Rule::Undated,
        Rule::Unclassified,
        Rule::Missing,
        Rule::Dropped,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::Ceiling => "ceiling",
            Rule::Retention => "retention",
            Rule::FullIp => "full-ip",
            Rule::WorldReadable => "world-readable",
            Rule::Unreadable => "unreadable",
            Rule::Undated => "undated",
            Rule::Unclassified => "unclassified",
            Rule::Missing => "missing",
            Rule::Dropped => "dropped",
        }
    }
}

/// Why a violation was reported. Only the fields of its rule are set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// How many records break the rule (retention, full-ip), or lines (undated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    /// The time of the oldest offending record (retention), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest: Option<String>,
    /// Its age in days (retention).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_days: Option<f64>,
    /// The limit in days: the retention or the full-IP window (retention, full-ip).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_days: Option<f64>,
    /// The 1-based line number of the first offending line (full-ip, undated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_line: Option<u64>,
    /// The file's permission bits in octal (world-readable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The policy key at fault (ceiling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Why the file could not be read (unreadable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    pub site: String,
    /// `None` for a violation of the policy itself (ceiling).
    pub file: Option<String>,
    pub rule: Rule,
    /// One sentence for people.
    pub message: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteSummary {
    pub site: String,
    /// The `format:` of its logs, each once, in the policy's order.
    pub formats: Vec<&'static str>,
    /// Files read in full.
    pub files: usize,
    /// Records (lines with a timestamp) in them.
    pub records: u64,
    pub violations: usize,
    /// The oldest record and oldest full address read, for the metrics file.
    #[serde(skip)]
    pub compliance: crate::metrics::Compliance,
}

impl SiteSummary {
    fn new(site: &Site) -> SiteSummary {
        let mut formats = Vec::new();
        for log in &site.logs {
            if !formats.contains(&log.format.name()) {
                formats.push(log.format.name());
            }
        }
        SiteSummary {
            site: site.name.clone(),
            formats,
            files: 0,
            records: 0,
            violations: 0,
            compliance: crate::metrics::Compliance::of(site),
        }
    }
}

/// The whole audit, as rendered by `--format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub version: u32,
    pub now: String,
    /// `--grace` in seconds: retention and the full-IP window were judged at `now` minus this.
    pub grace_seconds: i64,
    pub compliant: bool,
    pub sites: Vec<SiteSummary>,
    pub violations: Vec<Violation>,
}

/// `1 record`, `2 records`: the wording of the messages and of the renderings.
fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// How often a site whose files changed while they were read is audited again, and the
/// pause before each new attempt (grown by one step each time), about 5 s in all.
const ATTEMPTS: u32 = 10;
const PAUSE_STEP: std::time::Duration = std::time::Duration::from_millis(100);

/// Audits the given sites (all when `only` is empty) at `now`, retention and the full-IP
/// window as of `now - grace`. Reads, never writes.
///
/// `check` takes no lock, so it may read while a pass rotates, rewrites or deletes files: a
/// file read may vanish or be replaced, and a directory listing taken during a rename may
/// miss a file. Either would make a false verdict (an `unreadable` file that the pass just
/// removed, or a file never read at all). So each site's listing is taken again after its
/// files were read; a site whose files changed identity meanwhile is audited again, until
/// one audit saw the same files from start to end. A site that never holds still is a
/// violation of its own, never "compliant".
pub fn check(
    policy: &Policy,
    only: &[String],
    now: Timestamp,
    grace: SignedDuration,
    stamps: &StampReader,
) -> Report {
    // humantime takes `1500ms`; the report states whole seconds, so judge by whole seconds.
    let grace = SignedDuration::from_secs(grace.as_secs());
    let names: Vec<String> = policy
        .sites
        .iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
        .map(|s| s.name.clone())
        .collect();
    let sites: Vec<&Site> = names.iter().filter_map(|n| policy.site(n)).collect();
    let mut violations = Vec::new();
    for c in &policy.ceilings {
        if only.is_empty() || only.contains(&c.site) {
            violations.push(Violation {
                site: c.site.clone(),
                file: None,
                rule: Rule::Ceiling,
                message: c.message.clone(),
                evidence: Evidence {
                    key: Some(c.key.clone()),
                    ..Evidence::default()
                },
            });
        }
    }

    violations.extend(dropped(policy, &sites, now));

    let mut summaries: Vec<SiteSummary> = sites.iter().map(|s| SiteSummary::new(s)).collect();
    let mut pending = names.clone();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            std::thread::sleep(PAUSE_STEP * (attempt - 1));
        }
        let before = Inventory::listing(policy, &pending);
        let (found, audited) = audit(policy, &before, now, grace, stamps);
        let after = Inventory::listing(policy, &pending);
        let mut unsettled = Vec::new();
        for ((sf, sf_after), summary) in before.sites.iter().zip(&after.sites).zip(audited) {
            if identity(sf) != identity(sf_after) {
                log::debug!(
                    "check: the files of site {} changed while they were read; reading again",
                    sf.site
                );
                unsettled.push(sf.site.clone());
                continue;
            }
            violations.extend(found.iter().filter(|v| v.site == sf.site).cloned());
            if let Some(i) = names.iter().position(|n| *n == sf.site) {
                summaries[i] = summary;
            }
        }
        pending = unsettled;
        if pending.is_empty() {
            break;
        }
    }
    for name in &pending {
        violations.push(Violation {
            site: name.clone(),
            file: None,
            rule: Rule::Unreadable,
            message: format!(
                "its files changed while they were read, {ATTEMPTS} times in a row; not judged"
            ),
            evidence: Evidence {
                reason: Some("files kept changing while read".into()),
                ..Evidence::default()
            },
        });
    }

    let order: HashMap<&str, usize> = sites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    violations.sort_by(|a, b| {
        (order.get(a.site.as_str()), &a.file, a.rule).cmp(&(
            order.get(b.site.as_str()),
            &b.file,
            b.rule,
        ))
    });
    for v in &violations {
        if let Some(&i) = order.get(v.site.as_str()) {
            summaries[i].violations += 1;
        }
    }
    Report {
        version: REPORT_VERSION,
        now: now.to_string(),
        grace_seconds: grace.as_secs(),
        compliant: violations.is_empty(),
        sites: summaries,
        violations,
    }
}

/// Lines lost at the sites' write-time inputs since their retention cutoff, from the
/// record `watch` keeps (see `receive::ledger`). A record that cannot be read is a
/// violation of its own: no loss is never assumed.
fn dropped(policy: &Policy, sites: &[&Site], now: Timestamp) -> Vec<Violation> {
    let path = &policy.losses_file;
    let mut out = Vec::new();
    let inputs = |site: &Site| -> Vec<(String, PathBuf)> {
        let mut v: Vec<(String, PathBuf)> = Vec::new();
        for log in &site.logs {
            if let Some(r) = &log.receive {
                let path = log.dir.join(log.name.as_str());
                let name = r.input_name(&path);
                if !v.iter().any(|(i, _)| *i == name) {
                    v.push((name, path));
                }
            }
        }
        v
    };
    if sites.iter().all(|s| inputs(s).is_empty()) {
        return out;
    }
    let losses = match crate::receive::ledger::read(path) {
        Ok(l) => l,
        Err(e) => {
            for site in sites.iter().filter(|s| !inputs(s).is_empty()) {
                out.push(Violation {
                    site: site.name.clone(),
                    file: Some(crate::escape::path(path)),
                    rule: Rule::Unreadable,
                    message: format!(
                        "the record of lines lost at its inputs cannot be read ({e}); whether its received logs are whole is not judged"
                    ),
                    evidence: Evidence {
                        reason: Some(e.to_string()),
                        ..Evidence::default()
                    },
                });
            }
            return out;
        }
    };
    for site in sites.iter().filter(|s| !inputs(s).is_empty()) {
        // A line that is no record (a write cut short) may have held a loss of any input:
        // it counts for every site with one, unless what is left of it dates it before
        // the site's retention cutoff.
        let cutoff = site.retention_cutoff(now);
        let torn: Vec<usize> = losses
            .torn
            .iter()
            .filter(|t| t.at.is_none_or(|at| at >= cutoff))
            .map(|t| t.line)
            .collect();
        if let Some(&first) = torn.first() {
            out.push(Violation {
                site: site.name.clone(),
                file: Some(crate::escape::path(path)),
                rule: Rule::Unreadable,
                message: format!(
                    "the record of lines lost at its inputs has {} it cannot read (from line {first}; a write cut short?): a loss may be recorded there, so whether its received logs are whole is not judged; remove the line(s) once the loss is accounted for",
                    plural(torn.len() as u64, "line", "lines"),
                ),
                evidence: Evidence {
                    records: Some(torn.len() as u64),
                    first_line: Some(first as u64),
                    reason: Some("lines that are no loss record".to_string()),
                    ..Evidence::default()
                },
            });
        }
    }
    for site in sites {
        let cutoff = site.retention_cutoff(now);
        for (input, log) in inputs(site) {
            let mine: Vec<_> = losses
                .losses
                .iter()
                .filter(|l| l.input == input && l.at >= cutoff && l.at <= now)
                .collect();
            let Some(first) = mine.iter().map(|l| l.at).min() else {
                continue;
            };
            let count: u64 = mine.iter().map(|l| l.count).sum();
            let mut causes: Vec<(String, u64)> = Vec::new();
            for l in &mine {
                match causes.iter_mut().find(|(c, _)| *c == l.cause) {
                    Some((_, n)) => *n += l.count,
                    None => causes.push((l.cause.clone(), l.count)),
                }
            }
            let causes = causes
                .iter()
                .map(|(c, n)| format!("{c}: {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(Violation {
                site: site.name.clone(),
                file: Some(crate::escape::path(&log)),
                rule: Rule::Dropped,
                message: format!(
                    "{} sent to {input} since {} are in no file ({causes}); the log is incomplete until they pass retention",
                    plural(count, "message", "messages"),
                    rfc3339(first),
                ),
                evidence: Evidence {
                    records: Some(count),
                    oldest: Some(rfc3339(first)),
                    reason: Some(causes),
                    ..Evidence::default()
                },
            });
        }
    }
    out
}

/// The audit as metrics: every rule for every site audited, zeros included (an absent
/// series would read as "compliant"), and the ages found as of the instant judged
/// (`now - grace`), so an age past its limit is what `check` reports as a violation.
pub fn metrics(report: &Report, now: Timestamp) -> crate::metrics::Metrics {
    let mut counts = std::collections::BTreeMap::new();
    for site in &report.sites {
        for rule in Rule::ALL {
            counts.insert((site.site.clone(), rule.name().to_string()), 0);
        }
    }
    for v in &report.violations {
        *counts
            .entry((v.site.clone(), v.rule.name().to_string()))
            .or_insert(0) += 1;
    }
    crate::metrics::Metrics {
        violations: Some(counts),
        checked: Some(now),
        ages_at: now
            .checked_sub(SignedDuration::from_secs(report.grace_seconds))
            .ok(),
        compliance: report
            .sites
            .iter()
            .map(|s| (s.site.clone(), s.compliance))
            .collect(),
        ..crate::metrics::Metrics::default()
    }
}

/// What a site's listing is, apart from what grows in place: every file by name and
/// identity, and every problem. Equal before and after the reads means no file the audit
/// read was moved, replaced or deleted meanwhile, and none was missed.
fn identity(sf: &crate::inventory::SiteFiles) -> Vec<(PathBuf, u64, u64, String)> {
    let mut out: Vec<(PathBuf, u64, u64, String)> = Vec::new();
    for fam in &sf.families {
        out.extend(
            fam.live
                .iter()
                .chain(fam.archives.iter().map(|a| &a.facts))
                .map(|f| (f.path.clone(), f.dev, f.ino, String::new())),
        );
    }
    out.extend(
        sf.problems
            .iter()
            .map(|p| (p.path.clone(), 0, 0, p.what.clone())),
    );
    out.sort();
    out
}

/// Reads every file of a listing: the file-level violations, and a summary per site in
/// the listing's order (without its violation count).
fn audit(
    policy: &Policy,
    inventory: &Inventory,
    now: Timestamp,
    grace: SignedDuration,
    stamps: &StampReader,
) -> (Vec<Violation>, Vec<SiteSummary>) {
    let sites: Vec<&Site> = inventory
        .sites
        .iter()
        .filter_map(|sf| policy.site(&sf.site))
        .collect();
    let mut violations = Vec::new();
    let mut jobs = Vec::new();
    let mut modes = DirModes::default();
    for (i, sf) in inventory.sites.iter().enumerate() {
        let site = sites[i];
        for p in &sf.problems {
            violations.push(unreadable(site, &p.path, &p.what));
        }
        for path in crate::inventory::unclassified(site, sf) {
            violations.push(rules::unclassified(site, &path));
        }
        if !site.missing_ok {
            violations.extend(missing(site, sf));
        }
        for fam in &sf.families {
            let files = fam
                .live
                .iter()
                .map(|f| (f, Format::Plain, false))
                .chain(fam.archives.iter().map(|a| (&a.facts, a.format, true)));
            for (facts, format, is_archive) in files {
                if others_can_read(facts.mode, modes.above(&facts.path)) {
                    violations.push(rules::world_readable(site, &facts.path, facts.mode));
                }
                jobs.push(Job {
                    site: i,
                    su: site.su_uid(),
                    path: &facts.path,
                    format,
                    size: facts.size,
                    rules: FileRules::for_site(site, is_archive, now, grace)
                        .in_format(site, &fam.format),
                    log_format: &fam.format,
                    mtime: facts.mtime,
                });
            }
        }
    }

    let mut summaries: Vec<SiteSummary> = sites.iter().map(|s| SiteSummary::new(s)).collect();
    for (job, result) in pool::read_all(jobs, stamps) {
        let site = sites[job.site];
        match result {
            Some(Ok(scan)) => {
                summaries[job.site].files += 1;
                summaries[job.site].records += scan.records;
                summaries[job.site]
                    .compliance
                    .add(scan.oldest_record, scan.oldest_full_ip);
                violations.extend(scan_violations(site, job.path, &scan, &job.rules, now));
            }
            Some(Err(why)) => violations.push(unreadable(site, job.path, &why)),
            None => violations.push(unreadable(site, job.path, "was not read")),
        }
    }
    (violations, summaries)
}

#[cfg(test)]
/// What the tests of the rules, the scanner and the renderers share.
mod testing {
    use std::path::Path;

    use jiff::Timestamp;
    use jiff::tz::TimeZone;

    use super::rules::FileRules;
    use super::scan::{FileScan, scan_reader};
    use crate::config::LoadedConfig;
    use crate::policy::{Policy, Site};
    use crate::timestamp::StampReader;

    pub(super) fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    pub(super) fn site(extra: &str) -> Site {
        let text = format!("sites:\n  main:\n    logs: [/l/access.log]\n{extra}");
        let p =
            Policy::from_config(&LoadedConfig::parse(Path::new("/c.yaml"), text).unwrap()).unwrap();
        p.sites[0].clone()
    }

    pub(super) fn line(ip: &str, at: &str) -> String {
        line_at(ip, t(at))
    }

    pub(super) fn line_at(ip: &str, at: Timestamp) -> String {
        format!(
            "{ip} - - [{}] \"GET / HTTP/1.1\" 200 5\n",
            at.strftime("%d/%b/%Y:%H:%M:%S +0000")
        )
    }

    pub(super) fn scan(text: &str, rules: &FileRules) -> FileScan {
        let stamps = StampReader::new(TimeZone::UTC);
        scan_reader(&mut text.as_bytes(), rules, &stamps).unwrap()
    }

    pub(super) const NOW: &str = "2026-11-29T12:00:00Z";
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use jiff::tz::TimeZone;

    use super::testing::{NOW, line, t};
    use super::*;
    use crate::config::LoadedConfig;

    #[test]
    fn an_audit_reports_each_site_in_the_policy_order() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("access.log");
        let text = [
            line("198.51.100.0", "2026-11-01T00:00:00Z"),
            line("198.51.100.0", "2026-11-28T00:00:00Z"),
        ]
        .concat();
        std::fs::write(&log, text).unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o640)).unwrap();
        let yaml = format!(
            "sites:\n  main:\n    logs: [{}]\n    retention: 14d\n    anonymize: false\n  gone:\n    logs: [{}]\n    anonymize: false\n",
            log.display(),
            tmp.path().join("nowhere/access.log").display()
        );
        let policy =
            Policy::from_config(&LoadedConfig::parse(Path::new("/c.yaml"), yaml).unwrap()).unwrap();
        let stamps = StampReader::new(TimeZone::UTC);
        let report = check(&policy, &[], t(NOW), SignedDuration::ZERO, &stamps);
        assert!(!report.compliant);
        let rules: Vec<(&str, Rule)> = report
            .violations
            .iter()
            .map(|v| (v.site.as_str(), v.rule))
            .collect();
        let order: Vec<&str> = policy.sites.iter().map(|s| s.name.as_str()).collect();
        let mut want = vec![("main", Rule::Retention), ("gone", Rule::Missing)];
        want.sort_by_key(|(site, _)| order.iter().position(|n| n == site));
        assert_eq!(rules, want);
        let summaries: Vec<&str> = report.sites.iter().map(|s| s.site.as_str()).collect();
        assert_eq!(summaries, order);
        let main = report.sites.iter().find(|s| s.site == "main").unwrap();
        assert_eq!((main.files, main.records, main.violations), (1, 2, 1));

        let only_main = check(
            &policy,
            &["main".into()],
            t(NOW),
            SignedDuration::ZERO,
            &stamps,
        );
        assert_eq!(only_main.sites.len(), 1);
        assert_eq!(only_main.violations.len(), 1);
    }

    #[test]
    fn lines_lost_at_an_input_within_retention_are_a_violation_until_they_pass_it() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("access.log");
        std::fs::write(&log, line("198.51.100.0", "2026-11-29T11:00:00Z")).unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o640)).unwrap();
        let lock = tmp.path().join("lw.lock");
        let yaml = format!(
            "lock_file: {}\nsites:\n  main:\n    retention: 14d\n    logs: [{{ path: {}, receive: \"udp:127.0.0.1:5514\" }}]\n",
            lock.display(),
            log.display()
        );
        let policy =
            Policy::from_config(&LoadedConfig::parse(Path::new("/c.yaml"), yaml).unwrap()).unwrap();
        let stamps = StampReader::new(TimeZone::UTC);
        let loss = |at: &str, cause: &str, count| crate::receive::ledger::Loss {
            at: t(at),
            cause: cause.into(),
            count,
            input: "udp:127.0.0.1:5514".into(),
        };
        let ledger = crate::receive::ledger::beside(&lock);
        crate::receive::ledger::append(
            &ledger,
            &[
                loss("2026-11-01T00:00:00Z", "kernel", 100), // past retention
                loss("2026-11-28T00:00:00Z", "kernel", 2),
                loss("2026-11-29T10:00:00Z", "queue", 3),
                crate::receive::ledger::Loss {
                    input: "udp:127.0.0.1:9".into(),
                    ..loss("2026-11-29T10:00:00Z", "queue", 7)
                },
            ],
        )
        .unwrap();
        let report = check(&policy, &[], t(NOW), SignedDuration::ZERO, &stamps);
        let dropped: Vec<&Violation> = report
            .violations
            .iter()
            .filter(|v| v.rule == Rule::Dropped)
            .collect();
        assert_eq!(dropped.len(), 1, "{:#?}", report.violations);
        assert_eq!(dropped[0].evidence.records, Some(5));
        assert_eq!(
            dropped[0].evidence.oldest.as_deref(),
            Some("2026-11-28T00:00:00Z")
        );
        assert!(
            dropped[0].message.contains("kernel: 2, queue: 3"),
            "{}",
            dropped[0].message
        );
        // Fifteen days on, the losses are past retention: the log is whole again.
        let later = check(
            &policy,
            &[],
            t("2026-12-14T12:00:00Z"),
            SignedDuration::ZERO,
            &stamps,
        );
        assert!(later.violations.iter().all(|v| v.rule != Rule::Dropped));

        // A record cut short by a crash may have been a loss: it is reported while it may
        // matter (undated, or dated within retention), and never read as "no loss".
        let torn = |text: &str| {
            std::fs::write(&ledger, text).unwrap();
            check(&policy, &[], t(NOW), SignedDuration::ZERO, &stamps)
                .violations
                .into_iter()
                .filter(|v| v.rule == Rule::Unreadable)
                .collect::<Vec<_>>()
        };
        for text in ["2026-11-29T10:00:00Z\tque", "2026-11-2", "\t\tgarbage"] {
            let v = torn(text);
            assert_eq!(v.len(), 1, "{text:?}: {v:#?}");
            assert_eq!(v[0].evidence.first_line, Some(1));
            assert!(v[0].message.contains("cannot read"), "{}", v[0].message);
        }
        assert!(
            torn("2026-11-01T00:00:00Z\tkern").is_empty(),
            "past retention"
        );
    }
}
