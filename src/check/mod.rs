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

use std::collections::HashMap;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::anonymize::{Mask, mask_line};
use crate::archive::{self, Format};
use crate::dir::DirHandle;
use crate::inventory::Inventory;
pub use crate::policy::FullIpLimit;
use crate::policy::{Policy, Site, duration_in_words};
use crate::timestamp::StampReader;

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
}

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::Ceiling,
        Rule::Retention,
        Rule::FullIp,
        Rule::WorldReadable,
        Rule::Unreadable,
        Rule::Undated,
        Rule::Unclassified,
        Rule::Missing,
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
    /// Files read in full.
    pub files: usize,
    /// Records (lines with a timestamp) in them.
    pub records: u64,
    pub violations: usize,
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

/// The rules one file is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRules {
    /// The instant the age-based rules are judged at: `now - grace`.
    pub judged_at: Timestamp,
    pub retention_cutoff: Timestamp,
    pub full_ip: FullIpLimit,
    pub mask: Mask,
}

impl FileRules {
    /// The rules for a live log (`archive: false`) or an archive of `site` at `now`, with
    /// the age-based ones judged `grace` earlier. `FullIpLimit::All` takes no grace: it does
    /// not depend on when a record was written.
    pub fn for_site(
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
        }
    }
}

/// `at - d`, or the first representable instant: a grace reaching back beyond it means no
/// record can be old enough, which is the verdict, not a reason to panic.
fn earlier(at: Timestamp, d: SignedDuration) -> Timestamp {
    at.checked_sub(d).unwrap_or(Timestamp::MIN)
}

/// What reading one file found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileScan {
    pub lines: u64,
    pub records: u64,
    /// Records older than the retention cutoff, and the oldest of them.
    pub expired: u64,
    pub oldest_expired: Option<Timestamp>,
    /// Records past the full-IP limit with a full address, and the first such line.
    pub full_ip_records: u64,
    pub first_full_ip_line: Option<u64>,
    /// Lines before the first dated record (no time can be known for them), and the first.
    pub undated: u64,
    pub first_undated_line: Option<u64>,
    pub last_undated_line: Option<u64>,
}

/// Evaluates a file's lines, one at a time, against its rules. A line without a timestamp
/// belongs to the record above it; lines before the first record have no known time and
/// count only where every record must be masked.
pub struct Scanner<'a> {
    rules: &'a FileRules,
    stamps: &'a StampReader,
    scan: FileScan,
    record_time: Option<Timestamp>,
    record_flagged: bool,
    out: Vec<u8>,
}

impl<'a> Scanner<'a> {
    pub fn new(rules: &'a FileRules, stamps: &'a StampReader) -> Scanner<'a> {
        Scanner {
            rules,
            stamps,
            scan: FileScan::default(),
            record_time: None,
            record_flagged: false,
            out: Vec::new(),
        }
    }

    /// One line, with or without its line ending.
    pub fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        self.scan.lines += 1;
        let stamp = self.stamps.find_stamp(line);
        if stamp.is_none() && self.record_time.is_none() {
            self.scan.undated += 1;
            self.scan.first_undated_line.get_or_insert(self.scan.lines);
            self.scan.last_undated_line = Some(self.scan.lines);
        }
        // Retention by a stamp's later instant, the full-IP window by its earlier one, as
        // the pass decides (see `timestamp::Stamp`).
        if let Some(t) = stamp {
            self.scan.records += 1;
            self.record_time = Some(t.early);
            self.record_flagged = false;
            if t.late < self.rules.retention_cutoff {
                self.scan.expired += 1;
                self.scan.oldest_expired =
                    Some(self.scan.oldest_expired.map_or(t.late, |o| o.min(t.late)));
            }
        }
        let past_window = self.rules.full_ip.passed_by(self.record_time);
        if past_window && !self.record_flagged {
            self.out.clear();
            if mask_line(&self.rules.mask, line, &mut self.out) > 0 {
                self.record_flagged = true;
                self.scan.full_ip_records += 1;
                self.scan.first_full_ip_line.get_or_insert(self.scan.lines);
            }
        }
    }

    pub fn finish(self) -> FileScan {
        self.scan
    }
}

/// Reads every line of `input` through a [`Scanner`].
pub fn scan_reader(
    input: &mut dyn BufRead,
    rules: &FileRules,
    stamps: &StampReader,
) -> io::Result<FileScan> {
    let mut scanner = Scanner::new(rules, stamps);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        scanner.line(&line);
    }
    Ok(scanner.finish())
}

fn days(d: SignedDuration) -> f64 {
    (d.as_secs_f64() / 86_400.0 * 100.0).round() / 100.0
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The violations a file's scan shows under its rules.
pub fn scan_violations(
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
                "{} ({lines}) carry no readable time where the format puts it, so retention and the full-IP window cannot be judged for them; is the site's format right?",
                plural(scan.undated, "line", "lines")
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
pub fn others_can_read(file_mode: u32, dir_modes: impl IntoIterator<Item = u32>) -> bool {
    file_mode & 0o004 != 0 && dir_modes.into_iter().all(|m| m & 0o001 != 0)
}

/// Directory modes, each looked up once. A directory that cannot be looked up counts as
/// searchable, so doubt is reported rather than hidden.
#[derive(Default)]
struct DirModes(HashMap<PathBuf, u32>);

impl DirModes {
    fn above(&mut self, file: &Path) -> Vec<u32> {
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

struct Job<'a> {
    site: usize,
    /// The site's `su:` user, whose directories may be passed through.
    su: Option<u32>,
    path: &'a Path,
    format: Format,
    size: u64,
    rules: FileRules,
}

/// Opens a listed file without following links and scans every record in it.
fn read_file(job: &Job, stamps: &StampReader) -> Result<FileScan, String> {
    let (Some(parent), Some(name)) = (job.path.parent(), job.path.file_name()) else {
        return Err("not a file path".into());
    };
    let dir = DirHandle::open_trusting(parent, job.su).map_err(|e| e.to_string())?;
    let file = dir.open_read(name).map_err(|e| e.to_string())?;
    let mut input = archive::decoder(file, job.format).map_err(|e| format!("cannot read: {e}"))?;
    scan_reader(&mut *input, &job.rules, stamps).map_err(|e| match job.format {
        Format::Plain => format!("cannot read: {e}"),
        _ => format!("cannot decompress: {e}"),
    })
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

    let mut summaries: Vec<SiteSummary> = sites
        .iter()
        .map(|s| SiteSummary {
            site: s.name.clone(),
            files: 0,
            records: 0,
            violations: 0,
        })
        .collect();
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
            let why = "its name extends a covered log's name but it is neither that log nor an archive of it (no separator after the log's name); logwarden leaves it alone: rename it as an archive, cover it with a pattern, or remove it";
            violations.push(Violation {
                site: site.name.clone(),
                file: Some(path.display().to_string()),
                rule: Rule::Unclassified,
                message: why.to_string(),
                evidence: Evidence {
                    reason: Some("unclassified name".into()),
                    ..Evidence::default()
                },
            });
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
                    violations.push(Violation {
                        site: site.name.clone(),
                        file: Some(crate::escape::path(&facts.path)),
                        rule: Rule::WorldReadable,
                        message: format!(
                            "readable by everyone (mode {:04o}, and every directory above it lets others through)",
                            facts.mode
                        ),
                        evidence: Evidence {
                            mode: Some(format!("{:04o}", facts.mode)),
                            ..Evidence::default()
                        },
                    });
                }
                jobs.push(Job {
                    site: i,
                    su: site.su_uid(),
                    path: &facts.path,
                    format,
                    size: facts.size,
                    rules: FileRules::for_site(site, is_archive, now, grace),
                });
            }
        }
    }

    // Biggest first, so two workers finish together.
    jobs.sort_by_key(|j| std::cmp::Reverse(j.size));
    let results: Vec<Mutex<Option<Result<FileScan, String>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(jobs.len())
        .max(1);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    log::debug!("check: reading {}", crate::escape::path(job.path));
                    let r = read_file(job, stamps);
                    *results[i]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r);
                }
            });
        }
    });

    let mut summaries: Vec<SiteSummary> = sites
        .iter()
        .map(|s| SiteSummary {
            site: s.name.clone(),
            files: 0,
            records: 0,
            violations: 0,
        })
        .collect();
    for (job, result) in jobs.iter().zip(results) {
        let site = sites[job.site];
        match result
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(Ok(scan)) => {
                summaries[job.site].files += 1;
                summaries[job.site].records += scan.records;
                violations.extend(scan_violations(site, job.path, &scan, &job.rules, now));
            }
            Some(Err(why)) => violations.push(unreadable(site, job.path, &why)),
            None => violations.push(unreadable(site, job.path, "was not read")),
        }
    }
    (violations, summaries)
}

/// A pattern with no file behind it (no live log, no archive of one), unless its directory is already reported as
/// unreadable: a typo in the policy must not read as "0 files, compliant".
fn missing(site: &Site, sf: &crate::inventory::SiteFiles) -> Vec<Violation> {
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

fn unreadable(site: &Site, path: &Path, why: &str) -> Violation {
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

/// `--format text`: one line per violation under its site, then a verdict.
pub fn render_text(report: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for site in &report.sites {
        let verdict = if site.violations == 0 {
            "compliant".to_string()
        } else {
            plural(site.violations as u64, "violation", "violations")
        };
        let _ = writeln!(
            s,
            "{}: {}, {}: {verdict}",
            site.site,
            plural(site.files as u64, "file", "files"),
            plural(site.records, "record", "records")
        );
        for v in report.violations.iter().filter(|v| v.site == site.site) {
            match &v.file {
                Some(f) => {
                    let _ = writeln!(s, "  {}: {f}: {}", v.rule.name(), v.message);
                }
                None => {
                    let _ = writeln!(s, "  {}: {}", v.rule.name(), v.message);
                }
            }
        }
    }
    // Without a grace the verdict line stays as it always was, for scripts that match it.
    let grace = match report.grace_seconds {
        0 => String::new(),
        g => format!(
            " (grace {})",
            duration_in_words(SignedDuration::from_secs(g))
        ),
    };
    if report.compliant {
        let _ = writeln!(s, "compliant at {}{grace}", report.now);
    } else {
        let _ = writeln!(
            s,
            "not compliant at {}{grace}: {}",
            report.now,
            plural(report.violations.len() as u64, "violation", "violations")
        );
    }
    s
}

/// `--format json`: the stable schema of README's "check report (JSON)".
pub fn render_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report serializes");
    s.push('\n');
    s
}

fn xml_escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t') => s.push('?'),
            c => s.push(c),
        }
    }
    s
}

/// `--format junit`: one test suite per site, one test case per site and rule.
pub fn render_junit(report: &Report) -> String {
    use std::fmt::Write;
    let total = report.sites.len() * Rule::ALL.len();
    let failures = |site: &str| {
        Rule::ALL
            .iter()
            .filter(|r| {
                report
                    .violations
                    .iter()
                    .any(|v| v.site == site && v.rule == **r)
            })
            .count()
    };
    let all_failures: usize = report.sites.iter().map(|s| failures(&s.site)).sum();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"logwarden check\" tests=\"{total}\" failures=\"{all_failures}\">"
    );
    for site in &report.sites {
        let name = xml_escape(&site.site);
        let _ = writeln!(
            s,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" timestamp=\"{}\">",
            Rule::ALL.len(),
            failures(&site.site),
            xml_escape(&report.now)
        );
        let _ = writeln!(
            s,
            "    <properties>\n      <property name=\"grace_seconds\" value=\"{}\"/>\n    </properties>",
            report.grace_seconds
        );
        for rule in Rule::ALL {
            let found: Vec<&Violation> = report
                .violations
                .iter()
                .filter(|v| v.site == site.site && v.rule == rule)
                .collect();
            let case = format!(
                "    <testcase classname=\"logwarden.{name}\" name=\"{}\"",
                rule.name()
            );
            if found.is_empty() {
                let _ = writeln!(s, "{case}/>");
                continue;
            }
            let _ = writeln!(s, "{case}>");
            let _ = write!(
                s,
                "      <failure type=\"{}\" message=\"{}\">",
                rule.name(),
                plural(found.len() as u64, "violation", "violations")
            );
            for v in found {
                let line = match &v.file {
                    Some(f) => format!("{f}: {}", v.message),
                    None => v.message.clone(),
                };
                let _ = writeln!(s, "{}", xml_escape(&line));
            }
            let _ = writeln!(s, "</failure>\n    </testcase>");
        }
        let _ = writeln!(s, "  </testsuite>");
    }
    s.push_str("</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LoadedConfig;
    use jiff::tz::TimeZone;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn site(extra: &str) -> Site {
        let text = format!("sites:\n  main:\n    logs: [/l/access.log]\n{extra}");
        let p =
            Policy::from_config(&LoadedConfig::parse(Path::new("/c.yaml"), text).unwrap()).unwrap();
        p.sites[0].clone()
    }

    fn line(ip: &str, at: &str) -> String {
        line_at(ip, t(at))
    }

    fn line_at(ip: &str, at: Timestamp) -> String {
        format!(
            "{ip} - - [{}] \"GET / HTTP/1.1\" 200 5\n",
            at.strftime("%d/%b/%Y:%H:%M:%S +0000")
        )
    }

    fn scan(text: &str, rules: &FileRules) -> FileScan {
        let stamps = StampReader::new(TimeZone::UTC);
        scan_reader(&mut text.as_bytes(), rules, &stamps).unwrap()
    }

    const NOW: &str = "2026-11-29T12:00:00Z";

    #[test]
    fn records_past_retention_and_window_are_counted_with_the_first_line() {
        let s = site("    retention: 14d\n    anonymize: { after: 7d }\n");
        let rules = FileRules::for_site(&s, true, t(NOW), SignedDuration::ZERO);
        let text = [
            line("198.51.100.7", "2026-11-10T00:00:00Z"), // expired, full
            "  continuation without a stamp 198.51.100.8\n".to_string(),
            line("198.51.100.0", "2026-11-14T00:00:00Z"), // expired, masked
            line("198.51.100.0", "2026-11-20T00:00:00Z"), // past window, masked
            line("198.51.100.9", "2026-11-21T00:00:00Z"), // past window, full
            line("198.51.100.9", "2026-11-28T00:00:00Z"), // inside window
        ]
        .concat();
        let got = scan(&text, &rules);
        assert_eq!(got.lines, 6);
        assert_eq!(got.records, 5);
        assert_eq!(got.expired, 2);
        assert_eq!(got.oldest_expired, Some(t("2026-11-10T00:00:00Z")));
        assert_eq!(got.full_ip_records, 2);
        assert_eq!(got.first_full_ip_line, Some(1));

        let v = scan_violations(&s, Path::new("/l/a.gz"), &got, &rules, t(NOW));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].rule, Rule::Retention);
        assert_eq!(v[0].evidence.records, Some(2));
        assert_eq!(v[0].evidence.age_days, Some(19.5));
        assert_eq!(v[0].evidence.limit_days, Some(14.0));
        assert_eq!(v[1].rule, Rule::FullIp);
        assert_eq!(v[1].evidence.first_line, Some(1));
        assert!(
            v[1].message.contains("window of 7 days"),
            "{}",
            v[1].message
        );
        for v in &v {
            assert!(!v.message.contains("198.51"), "{}", v.message);
        }
    }

    #[test]
    fn a_continuation_line_counts_for_its_record() {
        let s = site("    anonymize: { after: 1d }\n");
        let rules = FileRules::for_site(&s, true, t(NOW), SignedDuration::ZERO);
        let text = format!(
            "{}  at client 203.0.113.5 again\n",
            line("203.0.113.0", "2026-11-27T00:00:00Z")
        );
        let got = scan(&text, &rules);
        assert_eq!((got.full_ip_records, got.first_full_ip_line), (1, Some(2)));
    }

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

    #[test]
    fn anonymize_false_never_flags_addresses() {
        let s = site("    anonymize: false\n");
        let rules = FileRules::for_site(&s, true, t(NOW), SignedDuration::ZERO);
        assert_eq!(rules.full_ip, FullIpLimit::Off);
        let got = scan(&line("198.51.100.7", "2026-11-01T00:00:00Z"), &rules);
        assert_eq!(got.full_ip_records, 0);
        assert_eq!(got.expired, 1);
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

    fn sample() -> Report {
        Report {
            version: REPORT_VERSION,
            now: NOW.into(),
            grace_seconds: 0,
            compliant: false,
            sites: vec![
                SiteSummary {
                    site: "main".into(),
                    files: 2,
                    records: 10,
                    violations: 2,
                },
                SiteSummary {
                    site: "app<1>".into(),
                    files: 1,
                    records: 3,
                    violations: 0,
                },
            ],
            violations: vec![
                Violation {
                    site: "main".into(),
                    file: Some("/l/a & b.log".into()),
                    rule: Rule::Retention,
                    message: "3 records older than <14 days>".into(),
                    evidence: Evidence {
                        records: Some(3),
                        ..Evidence::default()
                    },
                },
                Violation {
                    site: "main".into(),
                    file: None,
                    rule: Rule::Ceiling,
                    message: "/c.yaml:3:5: sites.main.retention: too long".into(),
                    evidence: Evidence {
                        key: Some("sites.main.retention".into()),
                        ..Evidence::default()
                    },
                },
            ],
        }
    }

    #[test]
    fn text_lists_violations_under_their_site() {
        let text = render_text(&sample());
        assert!(
            text.starts_with(
                "main: 2 files, 10 records: 2 violations\n  retention: /l/a & b.log: 3 records"
            ),
            "{text}"
        );
        assert!(
            text.contains("app<1>: 1 file, 3 records: compliant\n"),
            "{text}"
        );
        assert!(text.ends_with("not compliant at 2026-11-29T12:00:00Z: 2 violations\n"));
    }

    #[test]
    fn text_states_a_grace_and_keeps_the_old_verdict_line_without_one() {
        let mut report = sample();
        assert!(!render_text(&report).contains("grace"));
        report.grace_seconds = 3600;
        let text = render_text(&report);
        assert!(
            text.ends_with("not compliant at 2026-11-29T12:00:00Z (grace 1 hour): 2 violations\n"),
            "{text}"
        );
        report.compliant = true;
        assert!(
            render_text(&report).ends_with("compliant at 2026-11-29T12:00:00Z (grace 1 hour)\n")
        );
    }

    #[test]
    fn json_and_junit_state_the_grace_in_seconds() {
        let mut report = sample();
        report.grace_seconds = 5400;
        let v: serde_json::Value = serde_json::from_str(&render_json(&report)).unwrap();
        assert_eq!(v["grace_seconds"], 5400);
        assert_eq!(v["now"], NOW);
        let xml = render_junit(&report);
        assert_eq!(
            xml.matches("<property name=\"grace_seconds\" value=\"5400\"/>")
                .count(),
            report.sites.len()
        );
    }

    #[test]
    fn json_has_the_documented_shape() {
        let v: serde_json::Value = serde_json::from_str(&render_json(&sample())).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["grace_seconds"], 0);
        assert_eq!(v["compliant"], false);
        assert_eq!(v["sites"][0]["site"], "main");
        assert_eq!(v["violations"][0]["rule"], "retention");
        assert_eq!(v["violations"][0]["evidence"]["records"], 3);
        assert!(v["violations"][0]["evidence"].get("mode").is_none());
        assert_eq!(v["violations"][1]["file"], serde_json::Value::Null);
        assert_eq!(
            v["violations"][1]["evidence"]["key"],
            "sites.main.retention"
        );
    }

    #[test]
    fn junit_has_one_case_per_site_and_rule_and_escapes() {
        let xml = render_junit(&sample());
        assert_eq!(xml.matches("<testcase ").count(), 2 * Rule::ALL.len());
        assert_eq!(xml.matches("<failure ").count(), 2);
        assert!(xml.contains("tests=\"16\" failures=\"2\""), "{xml}");
        assert!(xml.contains("name=\"app&lt;1&gt;\""), "{xml}");
        assert!(xml.contains("/l/a &amp; b.log: 3 records older than &lt;14 days&gt;"));
        assert!(!xml.contains("<14"));
    }
}
