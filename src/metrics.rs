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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;

use crate::dir::DirHandle;
use crate::execute::Summary;
use crate::inventory::Inventory;
use crate::plan::Action;

/// The metric whose value survives a failed pass.
const LAST_SUCCESS: &str = "logwarden_last_success_timestamp_seconds";
/// Its per-site counterpart.
const SITE_LAST_SUCCESS: &str = "logwarden_site_last_success_timestamp_seconds";

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
    /// Hook for `check`: (site, rule) → violations found. `None` means "not audited" and
    /// writes nothing (an absent series is not a claim of compliance). `check` should fill
    /// it with every rule it evaluated, zeros included, and call [`write`] (to the pass's
    /// file or its own; the textfile collector reads every `*.prom` in its directory).
    pub violations: Option<BTreeMap<(String, String), u64>>,
    /// site → when it was last left with no failed action: `None` while it fails (the
    /// previous file's value is then reported). Filled by [`Metrics::settle`].
    pub site_success: BTreeMap<String, Option<Timestamp>>,
    /// When the file was written, if that differs from the pass (`watch` writes after
    /// looks that ran no pass, so staleness means a stuck service, not a quiet one).
    pub written: Option<Timestamp>,
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

    /// Archive and live-log sizes per site, from an inventory taken after the pass.
    pub fn inventory(&mut self, inv: &Inventory) {
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
                "logwarden_last_pass_timestamp_seconds",
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
        if let Some(v) = &self.violations {
            let rows: Vec<(String, f64)> = v
                .iter()
                .map(|((site, rule), n)| (labels(&[("site", site), ("rule", rule)]), *n as f64))
                .collect();
            gauge(
                &mut o,
                "logwarden_violations",
                "Policy violations found by the last audit, by site and rule.",
                &rows,
            );
        }
        o
    }
}

fn gauge(o: &mut String, name: &str, help: &str, rows: &[(String, f64)]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} gauge");
    for (labels, value) in rows {
        let _ = writeln!(o, "{name}{labels} {value}");
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
    let text = metrics.render(&previous_text(&dir, name));
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
            "# HELP logwarden_violations Policy violations found by the last audit, by site and rule.\n\
             # TYPE logwarden_violations gauge\n\
             logwarden_violations{site=\"main\",rule=\"retention\"} 0\n"
        );
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
