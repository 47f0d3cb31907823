//! Prometheus metrics of the last pass, for node_exporter's textfile collector.
//!
//! A retention promise nobody watches is broken silently: a timer that stopped firing, a
//! pass that fails every hour on one site, an archive count that only grows. After each
//! pass (`enforce`, or each pass of `watch`) this module writes one text-format file
//! (`metrics_file:` in the policy, or `--metrics-file`) that node_exporter's textfile
//! collector serves, so an alert can say so. It must never change what a pass does nor make
//! it fail: a metrics file that cannot be written is a warning. It must never leave a
//! half-written file where the collector reads (temp file in the same directory → write →
//! fsync → rename → fsync dir), and it must never put record contents (addresses, URLs)
//! in a label: labels are site names, action kinds, outcomes and rule names.
//!
//! Every metric describes the last pass, so they are gauges (no `_total` suffix), except
//! the success times, which are carried over from the previous file while a site fails
//! (0 when it never succeeded, so an alert on their age fires):
//! `logwarden_site_last_success_timestamp_seconds{site}` is the last time that site was left
//! with no failed action, and `logwarden_last_success_timestamp_seconds` advances only when
//! no site in the file is failing. Under `watch` one file describes every site, each by its
//! latest pass or look ([`Metrics::merge`]), so one site's success never hides another's
//! failure.
//!
//! The compliance gauges (oldest record and oldest full address, against retention and the
//! window) are written by the passes, from the archives' headers and the inventory's facts,
//! and by `check`, from every record it read. `check` writes a file of its own: the textfile
//! collector serves every `*.prom` of its directory as one, and the same series in two files
//! breaks the whole scrape, so those series carry `source="pass"` or `source="check"`, and
//! a file of one kind is never replaced by the other ([`write`] refuses).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::dir::DirHandle;
use crate::execute::Summary;
use crate::inventory::Inventory;
use crate::plan::Action;
use crate::policy::{Policy, Site};
use crate::receive::{InputCounts, LogCounts};

/// The metric whose value survives a failed pass.
const LAST_SUCCESS: &str = "logwarden_last_success_timestamp_seconds";
/// Its per-site counterpart.
const SITE_LAST_SUCCESS: &str = "logwarden_site_last_success_timestamp_seconds";
/// Written by `check` only: a file holding it is the audit's.
const CHECK_TIMESTAMP: &str = "logwarden_check_timestamp_seconds";
/// Written by the passes only: a file holding it is theirs.
const PASS_TIMESTAMP: &str = "logwarden_last_pass_timestamp_seconds";

/// Everything one file reports. Sections left `None` (or empty) are not written.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    /// The pass: when it ran, how long it took, its totals.
    pub pass: Option<PassFacts>,
    /// (site, kind, outcome) → actions; outcome is done/unchanged/deferred/unkept/warned/failed.
    pub actions: BTreeMap<(String, &'static str, &'static str), u64>,
    /// site → (archive count, archive bytes on disk), from the inventory after the pass.
    pub archives: BTreeMap<String, (u64, u64)>,
    /// site → bytes of the live logs.
    pub live_bytes: BTreeMap<String, u64>,
    /// `check`'s: (site, rule) → violations found, every rule evaluated, zeros included.
    /// `None` means "not audited" and writes nothing (an absent series is not a claim of
    /// compliance).
    pub violations: Option<BTreeMap<(String, String), u64>>,
    /// When `check` audited (`logwarden_check_timestamp_seconds`); makes the file the audit's.
    pub checked: Option<Timestamp>,
    /// site → its oldest record and oldest full address, with its limits.
    pub compliance: BTreeMap<String, Compliance>,
    /// The instant their ages are measured at, when not the write or the pass: `check`'s
    /// `now - grace`, the instant it judges at, so an age past its limit is a violation.
    pub ages_at: Option<Timestamp>,
    /// site → when it was last left with no failed action: `None` while it fails (the
    /// previous file's value is then reported). Filled by [`Metrics::settle`].
    pub site_success: BTreeMap<String, Option<Timestamp>>,
    /// When the file was written, if that differs from the pass (`watch` writes after
    /// looks that ran no pass, so staleness means a stuck service, not a quiet one).
    pub written: Option<Timestamp>,
    /// What the `receive:` inputs took in and lost since the service started.
    pub(crate) received: Option<(Vec<InputCounts>, Vec<LogCounts>)>,
}

/// A site's oldest record and oldest full address, with the limits they are held to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compliance {
    /// The oldest dated record (`None`: no dated record; its age is written as 0).
    pub oldest_record: Option<Timestamp>,
    /// The oldest record that may still hold a full client address (`None`: none does).
    pub oldest_full_ip: Option<Timestamp>,
    pub retention: SignedDuration,
    /// How long a record may keep its full address (`None`: `anonymize: false`, no limit).
    pub full_ip_window: Option<SignedDuration>,
}

impl Compliance {
    /// No record seen yet, under `site`'s limits.
    pub fn of(site: &Site) -> Compliance {
        Compliance {
            oldest_record: None,
            oldest_full_ip: None,
            retention: site.retention,
            full_ip_window: site.full_ip_age(),
        }
    }

    /// Takes in a file's oldest record and oldest full address.
    pub fn add(&mut self, record: Option<Timestamp>, full_ip: Option<Timestamp>) {
        let min = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.oldest_record = min(self.oldest_record, record);
        self.oldest_full_ip = min(self.oldest_full_ip, full_ip);
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PassFacts {
    pub at: Timestamp,
    pub duration: Duration,
    pub summary: Summary,
}

impl Metrics {
    /// Counts one executed action (the observer of `execute::execute_observed`).
    pub fn observe(&mut self, action: &Action, outcome: &'static str) {
        *self
            .actions
            .entry((action.site().to_string(), action.kind(), outcome))
            .or_default() += 1;
    }

    /// Archive and live-log sizes per site, and the oldest record and full address, from an
    /// inventory taken after the pass: its facts and the archives' headers, no record read
    /// ([`crate::plan::exposure`], as `status` reports them).
    pub fn inventory(&mut self, policy: &Policy, inv: &Inventory) {
        for files in &inv.sites {
            let Some(site) = policy.site(&files.site) else {
                continue;
            };
            let mut c = Compliance::of(site);
            for fam in &files.families {
                for e in crate::plan::exposure(site, fam) {
                    c.add(e.oldest, e.full_ip);
                }
            }
            self.compliance.insert(files.site.clone(), c);
        }
        for site in &inv.sites {
            let (count, bytes) = self.archives.entry(site.site.clone()).or_default();
            let live = self.live_bytes.entry(site.site.clone()).or_default();
            for fam in &site.families {
                *count += fam.archives.len() as u64;
                *bytes += fam.archives.iter().map(|a| a.facts.size).sum::<u64>();
                *live += fam.live.as_ref().map_or(0, |l| l.size);
            }
        }
    }

    /// Records, for every site this describes, whether it was left failing as of `at`.
    pub fn settle(&mut self, at: Timestamp) {
        let sites: Vec<String> = self
            .archives
            .keys()
            .chain(self.actions.keys().map(|(site, _, _)| site))
            .cloned()
            .collect();
        for site in sites {
            let failed = self.actions.iter().any(|((s, _, outcome), n)| {
                *s == site && matches!(*outcome, "failed" | "unkept") && *n > 0
            });
            self.site_success.insert(site, (!failed).then_some(at));
        }
    }

    /// Adds another site's latest state; the pass facts are those of the later pass.
    pub fn merge(&mut self, other: &Metrics) {
        self.actions
            .extend(other.actions.iter().map(|(k, v)| (k.clone(), *v)));
        self.archives
            .extend(other.archives.iter().map(|(k, v)| (k.clone(), *v)));
        self.live_bytes
            .extend(other.live_bytes.iter().map(|(k, v)| (k.clone(), *v)));
        self.site_success
            .extend(other.site_success.iter().map(|(k, v)| (k.clone(), *v)));
        self.compliance
            .extend(other.compliance.iter().map(|(k, v)| (k.clone(), *v)));
        if let Some(p) = other.pass {
            if self.pass.is_none_or(|mine| mine.at < p.at) {
                self.pass = Some(p);
            }
        }
    }

    /// The text format. `previous` is the file being replaced: the success times of what
    /// is failing now are carried over from it.
    pub fn render(&self, previous: &str) -> String {
        let mut o = String::new();
        let failing = self.site_success.values().any(Option::is_none);
        if let Some(p) = &self.pass {
            let at = p.at.as_millisecond() as f64 / 1000.0;
            let success = if !p.summary.broke_a_promise() && !failing {
                // Under `watch` the last pass may be older than the look that found every
                // site well.
                self.written.map_or(at, secs).max(at)
            } else {
                previous_value(previous, LAST_SUCCESS).unwrap_or(0.0)
            };
            gauge(
                &mut o,
                PASS_TIMESTAMP,
                "When the last pass ran (Unix time).",
                &[(String::new(), at)],
            );
            gauge(
                &mut o,
                LAST_SUCCESS,
                "When the last pass without a failed action ran (Unix time; 0: never).",
                &[(String::new(), success)],
            );
            if let Some(w) = self.written {
                gauge(
                    &mut o,
                    "logwarden_metrics_timestamp_seconds",
                    "When the service last looked at every site and wrote this file (Unix time).",
                    &[(String::new(), secs(w))],
                );
            }
            gauge(
                &mut o,
                "logwarden_last_pass_duration_seconds",
                "How long the last pass took.",
                &[(String::new(), p.duration.as_secs_f64())],
            );
            let s = &p.summary.processed;
            gauge(
                &mut o,
                "logwarden_last_pass_read_bytes",
                "Bytes (decompressed) read by the rewrites of the last pass.",
                &[(String::new(), s.bytes_in as f64)],
            );
            gauge(
                &mut o,
                "logwarden_last_pass_written_bytes",
                "Bytes written by the rewrites of the last pass.",
                &[(String::new(), s.bytes_out as f64)],
            );
            gauge(
                &mut o,
                "logwarden_last_pass_lines",
                "Lines read by the rewrites of the last pass.",
                &[(String::new(), s.lines_in as f64)],
            );
        }
        let rows: Vec<(String, f64)> =
            self.site_success
                .iter()
                .map(|(site, t)| {
                    let l = labels(&[("site", site)]);
                    let v = match t {
                        Some(t) => secs(*t),
                        None => previous_value(previous, &format!("{SITE_LAST_SUCCESS}{l}"))
                            .unwrap_or(0.0),
                    };
                    (l, v)
                })
                .collect();
        gauge(
            &mut o,
            SITE_LAST_SUCCESS,
            "When the site was last left with no failed action and no promise unkept (Unix time; 0: never; kept while it fails).",
            &rows,
        );
        let rows: Vec<(String, f64)> = self
            .actions
            .iter()
            .map(|((site, kind, outcome), n)| {
                (
                    labels(&[("site", site), ("kind", kind), ("outcome", outcome)]),
                    *n as f64,
                )
            })
            .collect();
        gauge(
            &mut o,
            "logwarden_last_pass_actions",
            "Actions of the last pass by site, kind and outcome (done, unchanged, deferred, unkept, warned, failed).",
            &rows,
        );
        let per_site = |f: &dyn Fn(&str) -> Option<f64>| -> Vec<(String, f64)> {
            self.archives
                .keys()
                .filter_map(|site| Some((labels(&[("site", site)]), f(site)?)))
                .collect()
        };
        gauge(
            &mut o,
            "logwarden_archives",
            "Archives on disk per site after the last pass.",
            &per_site(&|s| self.archives.get(s).map(|a| a.0 as f64)),
        );
        gauge(
            &mut o,
            "logwarden_archive_bytes",
            "Bytes of archives on disk per site after the last pass.",
            &per_site(&|s| self.archives.get(s).map(|a| a.1 as f64)),
        );
        gauge(
            &mut o,
            "logwarden_live_bytes",
            "Bytes of the live logs per site after the last pass.",
            &per_site(&|s| self.live_bytes.get(s).map(|b| *b as f64)),
        );
        if let Some(at) = self.checked {
            gauge(
                &mut o,
                CHECK_TIMESTAMP,
                "When logwarden check last audited (Unix time).",
                &[(String::new(), secs(at))],
            );
        }
        if let Some(v) = &self.violations {
            let rows: Vec<(String, f64)> = v
                .iter()
                .map(|((site, rule), n)| (labels(&[("site", site), ("rule", rule)]), *n as f64))
                .collect();
            gauge(
                &mut o,
                "logwarden_check_violations",
                "Policy violations found by the last audit, by site and rule (every rule, zeros included).",
                &rows,
            );
        }
        self.render_compliance(&mut o);
        if let Some((inputs, logs)) = &self.received {
            received(&mut o, inputs, logs);
        }
        o
    }

    /// The age gauges, as of when this file describes, and the limits to hold them to.
    fn render_compliance(&self, o: &mut String) {
        let (source, at) = match (self.checked, self.written, &self.pass) {
            (Some(at), _, _) => ("check", at),
            (None, Some(at), _) => ("pass", at),
            (None, None, Some(p)) => ("pass", p.at),
            (None, None, None) => return,
        };
        let at = self.ages_at.unwrap_or(at);
        let rows = |f: &dyn Fn(&Compliance) -> Option<f64>| -> Vec<(String, f64)> {
            self.compliance
                .iter()
                .filter_map(|(site, c)| {
                    Some((labels(&[("site", site), ("source", source)]), f(c)?))
                })
                .collect()
        };
        // No record, no full address: 0, written, so an alert sees the site and the value.
        let age =
            |t: Option<Timestamp>| t.map_or(0.0, |t| at.duration_since(t).as_secs_f64().max(0.0));
        gauge(
            o,
            "logwarden_oldest_record_age_seconds",
            "Age of the site's oldest dated record (0: none); source: check read every record, pass read the headers.",
            &rows(&|c| Some(age(c.oldest_record))),
        );
        gauge(
            o,
            "logwarden_oldest_full_ip_age_seconds",
            "Age of the site's oldest record still holding a full client address (0: none).",
            &rows(&|c| Some(age(c.oldest_full_ip))),
        );
        gauge(
            o,
            "logwarden_retention_seconds",
            "The site's retention: no record may get older.",
            &rows(&|c| Some(c.retention.as_secs_f64())),
        );
        gauge(
            o,
            "logwarden_full_ip_window_seconds",
            "How long a record may keep its full client address (+Inf: anonymize: false).",
            &rows(&|c| Some(c.full_ip_window.map_or(f64::INFINITY, |w| w.as_secs_f64()))),
        );
    }
}

/// What the `receive:` inputs took in and lost.
fn received(o: &mut String, inputs: &[InputCounts], logs: &[LogCounts]) {
    let lines: Vec<(String, f64)> = logs
        .iter()
        .map(|l| {
            let path = crate::escape::path(&l.path);
            (labels(&[("site", &l.site), ("log", &path)]), l.lines as f64)
        })
        .collect();
    family(
        o,
        "logwarden_received_lines_total",
        "Lines written to a received log since the service started.",
        "counter",
        &lines,
    );
    let mut lost = Vec::new();
    for i in inputs {
        let write: u64 = logs
            .iter()
            .filter(|l| l.input == i.input)
            .map(|l| l.failed)
            .sum();
        for (cause, n) in [
            ("kernel", i.kernel),
            ("queue", i.queue),
            ("unrouted", i.unrouted),
            ("truncated", i.truncated),
            ("write", write),
        ] {
            lost.push((labels(&[("input", &i.input), ("cause", cause)]), n as f64));
        }
    }
    family(
        o,
        "logwarden_received_lost_total",
        "Messages sent to an input that are not in its log as sent, since the service started: dropped by the kernel (socket buffer full) or at the queue's bound, routed to no log, cut at the datagram limit, or not written.",
        "counter",
        &lost,
    );
}

fn gauge(o: &mut String, name: &str, help: &str, rows: &[(String, f64)]) {
    family(o, name, help, "gauge", rows);
}

fn family(o: &mut String, name: &str, help: &str, kind: &str, rows: &[(String, f64)]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
    for (labels, value) in rows {
        // The text format spells the infinities `+Inf`/`-Inf`; Rust would write `inf`.
        let _ = match *value {
            v if v == f64::INFINITY => writeln!(o, "{name}{labels} +Inf"),
            v if v == f64::NEG_INFINITY => writeln!(o, "{name}{labels} -Inf"),
            v => writeln!(o, "{name}{labels} {v}"),
        };
    }
}

/// `{a="x",b="y"}` with the text format's escapes.
fn labels(pairs: &[(&str, &str)]) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                '"' => s.push_str("\\\""),
                '\n' => s.push_str("\\n"),
                c => s.push(c),
            }
        }
        s.push('"');
    }
    s.push('}');
    s
}

fn secs(t: Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

/// The earlier file's text, read through the directory handle (never through a link).
fn previous_text(dir: &DirHandle, name: &std::ffi::OsStr) -> String {
    let mut text = String::new();
    if let Ok(f) = dir.open_read(name) {
        let _ = f.take(1 << 20).read_to_string(&mut text);
    }
    text
}

/// The value of the series `name` (with its labels) in an earlier file, if any.
fn previous_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Whether an earlier file has a series of this metric name (with any labels).
fn previous_value_named<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find(|l| {
        l.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
    })
}

/// Writes `metrics` to `path` atomically, through the same directory-handle code as the
/// archives: a temp file with an unguessable name (not ending in `.prom`, so the collector
/// never reads it) created exclusively without following links, fsync, rename, fsync the
/// directory. A directory others may write to is refused: they could swap the file.
pub fn write(path: &Path, metrics: &Metrics) -> io::Result<()> {
    let dir_path = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let dir = DirHandle::open(dir_path).map_err(io::Error::other)?;
    if dir.others_may_write() {
        return Err(io::Error::other(format!(
            "{}: another user may write to this directory; metrics are not written there",
            crate::escape::path(dir_path)
        )));
    }
    let previous = previous_text(&dir, name);
    let (mine, theirs) = if metrics.checked.is_some() {
        (CHECK_TIMESTAMP, PASS_TIMESTAMP)
    } else {
        (PASS_TIMESTAMP, CHECK_TIMESTAMP)
    };
    if previous_value_named(&previous, theirs).is_some() {
        let whose = |m: &str| {
            if m == CHECK_TIMESTAMP {
                "logwarden check"
            } else {
                "the passes (enforce, watch)"
            }
        };
        return Err(io::Error::other(format!(
            "{} holds the metrics of {}; those of {} go to a file of their own (e.g. logwarden-check.prom beside logwarden.prom), so it is not replaced",
            crate::escape::path(path),
            whose(theirs),
            whose(mine)
        )));
    }
    let text = metrics.render(&previous);
    let (mut f, temp) = dir.create_temp(name).map_err(io::Error::other)?;
    let result = (|| -> io::Result<()> {
        // Exactly 0644 whatever the umask: node_exporter runs as another user.
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        dir.rename_replace(&temp, &dir, name)
            .map_err(io::Error::other)?;
        dir.sync().map_err(io::Error::other)
    })();
    if result.is_err() {
        let _ = dir.unlink(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::Processed;

    fn sample(failed: usize) -> Metrics {
        let mut m = Metrics {
            pass: Some(PassFacts {
                at: "2026-11-29T12:00:00Z".parse().unwrap(),
                duration: Duration::from_millis(250),
                summary: Summary {
                    done: 3,
                    failed,
                    processed: Processed {
                        bytes_in: 1000,
                        bytes_out: 200,
                        lines_in: 10,
                    },
                    ..Summary::default()
                },
            }),
            ..Metrics::default()
        };
        m.actions.insert(("main".into(), "rotate", "done"), 1);
        m.actions.insert(("main".into(), "rewrite", "done"), 2);
        m.archives.insert("main".into(), (2, 4096));
        m.archives.insert("we\"ird".into(), (0, 0));
        m
    }

    #[test]
    fn renders_gauges_with_help_type_and_escaped_labels() {
        let text = sample(0).render("");
        assert!(text.contains("# TYPE logwarden_last_pass_actions gauge\n"));
        assert!(text.contains(
            "logwarden_last_pass_actions{site=\"main\",kind=\"rewrite\",outcome=\"done\"} 2\n"
        ));
        assert!(text.contains("logwarden_last_success_timestamp_seconds 1795953600\n"));
        assert!(text.contains("logwarden_last_pass_read_bytes 1000\n"));
        assert!(text.contains("logwarden_archives{site=\"main\"} 2\n"));
        assert!(text.contains("logwarden_archive_bytes{site=\"we\\\"ird\"} 0\n"));
        assert!(!text.contains("_total"));
        // Not audited: no violations series at all.
        assert!(!text.contains("logwarden_violations"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn a_failed_pass_keeps_the_previous_success_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logwarden.prom");
        write(&path, &sample(0)).unwrap();
        let mut m = sample(1);
        m.pass.as_mut().unwrap().at = "2026-11-29T13:00:00Z".parse().unwrap();
        write(&path, &m).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("logwarden_last_success_timestamp_seconds 1795953600\n"));
        assert!(text.contains("logwarden_last_pass_timestamp_seconds 1795957200\n"));
        // Only the metrics file is left: no temp files.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        // Never succeeded: 0, so an age alert fires.
        assert!(
            sample(1)
                .render("")
                .contains("logwarden_last_success_timestamp_seconds 0\n")
        );
    }

    #[test]
    fn violations_are_written_only_when_audited() {
        let m = Metrics {
            violations: Some(BTreeMap::from([(("main".into(), "retention".into()), 0)])),
            ..Metrics::default()
        };
        assert_eq!(
            m.render(""),
            "# HELP logwarden_check_violations Policy violations found by the last audit, by site and rule (every rule, zeros included).\n\
             # TYPE logwarden_check_violations gauge\n\
             logwarden_check_violations{site=\"main\",rule=\"retention\"} 0\n"
        );
    }

    fn compliance(record: Option<&str>, full_ip: Option<&str>, window: Option<i64>) -> Compliance {
        Compliance {
            oldest_record: record.map(|t| t.parse().unwrap()),
            oldest_full_ip: full_ip.map(|t| t.parse().unwrap()),
            retention: SignedDuration::from_hours(24 * 14),
            full_ip_window: window.map(SignedDuration::from_hours),
        }
    }

    #[test]
    fn ages_are_explicit_zeros_without_records_and_the_window_is_infinite_when_off() {
        let mut m = sample(0);
        m.compliance.insert(
            "main".into(),
            compliance(
                Some("2026-11-28T12:00:00Z"),
                Some("2026-11-29T11:00:00Z"),
                Some(24),
            ),
        );
        m.compliance
            .insert("empty".into(), compliance(None, None, None));
        let text = m.render("");
        for want in [
            "logwarden_oldest_record_age_seconds{site=\"main\",source=\"pass\"} 86400\n",
            "logwarden_oldest_full_ip_age_seconds{site=\"main\",source=\"pass\"} 3600\n",
            "logwarden_retention_seconds{site=\"main\",source=\"pass\"} 1209600\n",
            "logwarden_full_ip_window_seconds{site=\"main\",source=\"pass\"} 86400\n",
            "logwarden_oldest_record_age_seconds{site=\"empty\",source=\"pass\"} 0\n",
            "logwarden_oldest_full_ip_age_seconds{site=\"empty\",source=\"pass\"} 0\n",
            "logwarden_full_ip_window_seconds{site=\"empty\",source=\"pass\"} +Inf\n",
        ] {
            assert!(text.contains(want), "{want}{text}");
        }
        // The audit's file: its own source label and timestamp, no pass series.
        let check = Metrics {
            checked: Some("2026-11-29T12:00:00Z".parse().unwrap()),
            compliance: m.compliance.clone(),
            violations: Some(BTreeMap::new()),
            ..Metrics::default()
        };
        let text = check.render("");
        assert!(
            text.contains("logwarden_check_timestamp_seconds 1795953600\n"),
            "{text}"
        );
        assert!(text.contains(
            "logwarden_oldest_record_age_seconds{site=\"main\",source=\"check\"} 86400\n"
        ));
        assert!(!text.contains("source=\"pass\"") && !text.contains("last_pass"));
    }

    #[test]
    fn the_audit_and_the_passes_never_replace_each_others_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logwarden.prom");
        write(&path, &sample(0)).unwrap();
        let check = Metrics {
            checked: Some("2026-11-29T12:00:00Z".parse().unwrap()),
            violations: Some(BTreeMap::new()),
            ..Metrics::default()
        };
        let e = write(&path, &check).unwrap_err().to_string();
        assert!(e.contains("holds the metrics of the passes"), "{e}");
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains(PASS_TIMESTAMP)
        );
        let own = dir.path().join("logwarden-check.prom");
        write(&own, &check).unwrap();
        write(&own, &check).unwrap();
        let e = write(&own, &sample(0)).unwrap_err().to_string();
        assert!(e.contains("holds the metrics of logwarden check"), "{e}");
    }

    #[test]
    fn one_failing_site_holds_back_the_service_success_and_keeps_its_own() {
        let at = |h: u32| -> Timestamp { format!("2026-11-29T{h:02}:00:00Z").parse().unwrap() };
        let site = |name: &str, failed: bool, h: u32| {
            let mut m = sample(usize::from(failed));
            m.archives = BTreeMap::from([(name.to_string(), (1, 10))]);
            m.actions = BTreeMap::from([(
                (
                    name.to_string(),
                    "rotate",
                    if failed { "failed" } else { "done" },
                ),
                1,
            )]);
            m.pass.as_mut().unwrap().at = at(h);
            m.settle(at(h));
            m
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logwarden.prom");
        let both = |a: &Metrics, b: &Metrics, h: u32| {
            let mut all = Metrics {
                written: Some(at(h)),
                ..Metrics::default()
            };
            all.merge(a);
            all.merge(b);
            write(&path, &all).unwrap();
            std::fs::read_to_string(&path).unwrap()
        };
        let text = both(&site("a", false, 10), &site("b", false, 10), 10);
        assert!(text.contains("logwarden_last_success_timestamp_seconds 1795946400\n"));
        // a fails at 11, b succeeds after it: a keeps 10:00, and so does the service.
        let text = both(&site("a", true, 11), &site("b", false, 12), 12);
        assert!(
            text.contains("logwarden_site_last_success_timestamp_seconds{site=\"a\"} 1795946400\n"),
            "{text}"
        );
        assert!(
            text.contains("logwarden_site_last_success_timestamp_seconds{site=\"b\"} 1795953600\n"),
            "{text}"
        );
        assert!(
            text.contains("logwarden_last_success_timestamp_seconds 1795946400\n"),
            "{text}"
        );
        assert!(text.contains(
            "logwarden_last_pass_actions{site=\"a\",kind=\"rotate\",outcome=\"failed\"} 1\n"
        ));
        assert!(
            text.contains("logwarden_metrics_timestamp_seconds 1795953600\n"),
            "{text}"
        );
        // a recovers at 13: both advance, to the write time.
        let text = both(&site("a", false, 13), &site("b", false, 12), 13);
        assert!(
            text.contains("logwarden_last_success_timestamp_seconds 1795957200\n"),
            "{text}"
        );
    }
}
