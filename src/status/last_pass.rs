//! The last pass, as the metrics file a pass writes (`metrics`) tells it.
//!
//! The metrics file is the only record a pass leaves, so `status` reads the series it
//! needs back from it. What cannot be known (no `metrics_file:`, a file that is missing or
//! unreadable, a series that is not there) is said to be unknown, with why; it must never
//! be guessed as a success.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

/// What the metrics file says about one site's last pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastPass {
    Unknown {
        why: String,
    },
    Known {
        /// When the last pass (of any site) ran.
        at: Timestamp,
        /// Whether this site was part of it (`enforce --site` passes cover some sites).
        included: bool,
        /// Actions that failed, promises left unkept, actions deferred (a writer still
        /// held the file), in this site.
        failed: u64,
        unkept: u64,
        deferred: u64,
        /// When the site was last left with no failed action (`None`: never, or not said).
        last_success: Option<Timestamp>,
        /// The file it was read from.
        file: PathBuf,
    },
}

impl LastPass {
    /// `ok`, `failed` or `unknown`.
    pub fn outcome(&self) -> &'static str {
        match self {
            LastPass::Unknown { .. } => "unknown",
            LastPass::Known {
                included: false, ..
            } => "unknown",
            LastPass::Known { failed, unkept, .. } if failed + unkept > 0 => "failed",
            LastPass::Known { .. } => "ok",
        }
    }
}

/// One sample: labels and value.
type Sample = (BTreeMap<String, String>, f64);

/// The parsed file, or why there is none.
pub(super) struct Metrics {
    file: Result<(PathBuf, BTreeMap<String, Vec<Sample>>), String>,
}

const LAST_PASS: &str = "logwarden_last_pass_timestamp_seconds";
const ACTIONS: &str = "logwarden_last_pass_actions";
const SITE_SUCCESS: &str = "logwarden_site_last_success_timestamp_seconds";
const ARCHIVES: &str = "logwarden_archives";

impl Metrics {
    pub(super) fn read(path: Option<&Path>) -> Metrics {
        let file = match path {
            None => {
                Err("no metrics_file: in the policy, so passes leave no record to read".to_string())
            }
            Some(p) => read_text(p)
                .map(|text| (p.to_path_buf(), parse(&text)))
                .map_err(|e| format!("{}: cannot read the metrics file: {e}", p.display())),
        };
        Metrics { file }
    }

    pub(super) fn for_site(&self, site: &str) -> LastPass {
        let (file, series) = match &self.file {
            Ok(f) => f,
            Err(why) => return LastPass::Unknown { why: why.clone() },
        };
        let Some(at) = series
            .get(LAST_PASS)
            .and_then(|s| s.first())
            .and_then(|(_, v)| seconds(*v))
        else {
            return LastPass::Unknown {
                why: format!(
                    "{}: no {LAST_PASS}: no pass has written it yet",
                    file.display()
                ),
            };
        };
        let of_site = |name: &str| -> Vec<&Sample> {
            series.get(name).map_or(Vec::new(), |s| {
                s.iter()
                    .filter(|(l, _)| l.get("site").is_some_and(|s| s == site))
                    .collect()
            })
        };
        let actions = of_site(ACTIONS);
        let count = |outcome: &str| -> u64 {
            actions
                .iter()
                .filter(|(l, _)| l.get("outcome").is_some_and(|o| o == outcome))
                .map(|(_, v)| *v as u64)
                .sum()
        };
        let success = of_site(SITE_SUCCESS);
        let included = !actions.is_empty() || !success.is_empty() || !of_site(ARCHIVES).is_empty();
        LastPass::Known {
            at,
            included,
            failed: count("failed"),
            unkept: count("unkept"),
            deferred: count("deferred"),
            last_success: success.first().and_then(|(_, v)| seconds(*v)),
            file: file.clone(),
        }
    }
}

fn read_text(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    // A metrics file is a few KiB; the cap keeps a wrong path from being read whole.
    std::fs::File::open(path)?
        .take(1 << 20)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// Unix seconds as an instant; 0 (never) and nonsense are none.
fn seconds(v: f64) -> Option<Timestamp> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    Timestamp::from_millisecond((v * 1000.0).round() as i64).ok()
}

/// The samples of a Prometheus text-format file by metric name. Lines it cannot read are
/// skipped: a series that is not understood is a series that is not there.
fn parse(text: &str) -> BTreeMap<String, Vec<Sample>> {
    let mut out: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((name, sample)) = parse_line(line) {
            out.entry(name).or_default().push(sample);
        }
    }
    out
}

fn parse_line(line: &str) -> Option<(String, Sample)> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices();
        let mut key = String::new();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '}' => break i,
                ',' | ' ' => {}
                '=' => {
                    if chars.next()?.1 != '"' {
                        return None;
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next()?.1 {
                            '"' => break,
                            '\\' => match chars.next()?.1 {
                                'n' => value.push('\n'),
                                c => value.push(c),
                            },
                            c => value.push(c),
                        }
                    }
                    labels.insert(std::mem::take(&mut key), value);
                }
                c => key.push(c),
            }
        };
        rest = &body[end + 1..];
    }
    // A timestamp may follow the value; only the value is wanted.
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some((name.to_string(), (labels, value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_with_labels_and_escapes_are_read() {
        let m = parse(
            "# HELP x y\n# TYPE x gauge\nlogwarden_last_pass_timestamp_seconds 1764590400.5\n\
             logwarden_last_pass_actions{site=\"a\\\"b\",kind=\"rotate\",outcome=\"failed\"} 2\n\
             broken{site=\"x 1\nother 3 1764590400000\n",
        );
        assert_eq!(m[LAST_PASS][0].1, 1764590400.5);
        let (labels, v) = &m[ACTIONS][0];
        assert_eq!(labels["site"], "a\"b");
        assert_eq!(labels["outcome"], "failed");
        assert_eq!(*v, 2.0);
        assert!(!m.contains_key("broken"));
        assert_eq!(m["other"][0].1, 3.0);
    }

    #[test]
    fn a_site_failing_in_the_last_pass_is_failed_and_one_absent_is_not_ok() {
        let text = "logwarden_last_pass_timestamp_seconds 1764590400\n\
            logwarden_last_pass_actions{site=\"main\",kind=\"rotate\",outcome=\"failed\"} 1\n\
            logwarden_last_pass_actions{site=\"main\",kind=\"rewrite\",outcome=\"deferred\"} 2\n\
            logwarden_site_last_success_timestamp_seconds{site=\"main\"} 0\n";
        let m = Metrics {
            file: Ok(("/m.prom".into(), parse(text))),
        };
        let main = m.for_site("main");
        assert_eq!(main.outcome(), "failed");
        let LastPass::Known {
            deferred,
            last_success,
            ..
        } = main
        else {
            panic!()
        };
        assert_eq!((deferred, last_success), (2, None));
        assert_eq!(m.for_site("other").outcome(), "unknown");
        let none = Metrics::read(None).for_site("main");
        assert!(
            matches!(&none, LastPass::Unknown { why } if why.contains("metrics_file")),
            "{none:?}"
        );
    }
}
