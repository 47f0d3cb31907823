//! The three renderings of a report: text for people, JSON for programs, JUnit for CI.
//!
//! Each is a function of the report alone: it must never look at the disk, the policy or
//! the clock, and never add anything the report does not hold (JSON is a stable schema).

use jiff::SignedDuration;

use super::{Report, Rule, Violation, plural};
use crate::policy::duration_in_words;

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
        // The formats are named where the policy chose them (`auto` decides line by line).
        let formats = match site.formats.as_slice() {
            [] | ["auto"] => String::new(),
            f => format!(" (format {})", f.join(", ")),
        };
        let _ = writeln!(
            s,
            "{}: {}, {}{formats}: {verdict}",
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
    use super::super::testing::NOW;
    use super::super::{Evidence, REPORT_VERSION, SiteSummary};
    use super::*;

    fn sample() -> Report {
        Report {
            version: REPORT_VERSION,
            now: NOW.into(),
            grace_seconds: 0,
            compliant: false,
            sites: vec![
                SiteSummary {
                    site: "main".into(),
                    formats: vec!["auto"],
                    files: 2,
                    records: 10,
                    violations: 2,
                    compliance: Default::default(),
                },
                SiteSummary {
                    site: "app<1>".into(),
                    formats: vec!["clf", "nginx-error"],
                    files: 1,
                    records: 3,
                    violations: 0,
                    compliance: Default::default(),
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
            text.contains("app<1>: 1 file, 3 records (format clf, nginx-error): compliant\n"),
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
        assert!(xml.contains("tests=\"18\" failures=\"2\""), "{xml}");
        assert!(xml.contains("name=\"app&lt;1&gt;\""), "{xml}");
        assert!(xml.contains("/l/a &amp; b.log: 3 records older than &lt;14 days&gt;"));
        assert!(!xml.contains("<14"));
    }
}
