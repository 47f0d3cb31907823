//! How a status report reads: text for a person, JSON for a script.
//!
//! The JSON shape is documented in the README ("Status") and kept stable: fields are added,
//! never renamed or removed. Times are RFC 3339 in UTC, as everywhere in logwarden's output.
//! File names are escaped as `ls -b` does (`crate::escape`), as in `check`'s report, so a
//! name holding a newline cannot forge a line of the report.

use std::fmt::Write as _;
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{Count, LastPass, Oldest, Report, SiteStatus, State};
use crate::inventory::Inventory;
use crate::plan::Deadline;
use crate::policy::{Policy, duration_in_words};
use crate::timestamp::rfc3339;

/// A span in the largest unit that says it well, rounded down: "11 hours", "1 day 4 hours",
/// "3 days".
fn span(d: SignedDuration) -> String {
    let s = d.as_secs().unsigned_abs();
    let unit = |n: u64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let (day, hour, min) = (86_400, 3600, 60);
    match s {
        s if s >= 2 * day => unit(s / day, "day"),
        s if s >= day && s % day >= hour => {
            format!("{} {}", unit(1, "day"), unit(s % day / hour, "hour"))
        }
        s if s >= day => unit(1, "day"),
        s if s >= 2 * hour => unit(s / hour, "hour"),
        s if s >= hour && s % hour >= min => {
            format!("{} {}", unit(1, "hour"), unit(s % hour / min, "minute"))
        }
        s if s >= hour => unit(1, "hour"),
        s if s >= min => unit(s / min, "minute"),
        s => unit(s, "second"),
    }
}

/// When `at` is from `now`, in words: "in 3 hours", "2 days ago", "now".
pub fn in_words(now: Timestamp, at: Timestamp) -> String {
    let d = at.duration_since(now);
    if d.is_zero() {
        "now".into()
    } else if d.is_positive() {
        format!("in {}", span(d))
    } else {
        format!("{} ago", span(d))
    }
}

fn count(c: Count) -> String {
    format!(
        "{} file{}, {} bytes",
        c.files,
        if c.files == 1 { "" } else { "s" },
        c.bytes
    )
}

fn oldest_line(now: Timestamp, o: &Oldest, limit: &str) -> String {
    format!(
        "{} ({} old; {limit}){}: {}",
        rfc3339(o.at),
        span(now.duration_since(o.at)),
        if o.past_limit { " PAST THE LIMIT" } else { "" },
        crate::escape::path(&o.path)
    )
}

fn deadline_line(now: Timestamp, d: &Deadline) -> String {
    let when = if d.at <= now {
        format!("overdue since {} ({})", rfc3339(d.at), in_words(now, d.at))
    } else {
        format!("{} ({})", rfc3339(d.at), in_words(now, d.at))
    };
    format!("{when}: {}: {}", crate::escape::path(&d.path), d.why)
}

fn last_pass_line(now: Timestamp, l: &LastPass) -> String {
    match l {
        LastPass::Unknown { why } => format!("unknown ({why})"),
        LastPass::Known {
            at,
            included: false,
            ..
        } => format!(
            "unknown: the last pass, at {} ({}), did not include this site",
            rfc3339(*at),
            in_words(now, *at)
        ),
        LastPass::Known {
            at,
            failed,
            unkept,
            deferred,
            last_success,
            ..
        } => {
            let mut s = format!(
                "{} ({}): {}; {failed} failed, {unkept} unkept, {deferred} deferred",
                rfc3339(*at),
                in_words(now, *at),
                l.outcome()
            );
            if l.outcome() != "ok" {
                let _ = match last_success {
                    Some(t) => write!(s, "; last success {}", rfc3339(*t)),
                    None => write!(s, "; no success recorded"),
                };
            }
            s
        }
    }
}

fn site_text(now: Timestamp, s: &SiteStatus, out: &mut String) {
    let headline = match s.state {
        State::Ok => "ok".to_string(),
        State::Due => format!("ok, {} action(s) due now", s.due_now),
        State::Problem => "PROBLEM: files the pass refuses or cannot judge (below)".to_string(),
        State::Overdue => "OVERDUE: a promise is not kept right now".to_string(),
    };
    let _ = writeln!(out, "site {}: {headline}", s.site);
    let _ = writeln!(out, "  live logs:       {}", count(s.live));
    let _ = writeln!(out, "  archives:        {}", count(s.archives));
    let retention = format!("retention {}", duration_in_words(s.retention));
    let _ = match &s.oldest_record {
        Some(o) => writeln!(
            out,
            "  oldest record:   {}",
            oldest_line(now, o, &retention)
        ),
        None => writeln!(out, "  oldest record:   none dated"),
    };
    let _ = match (&s.oldest_full_ip, s.full_ip_window) {
        (_, None) => writeln!(out, "  oldest full IP:  not truncated (anonymize: false)"),
        (Some(o), Some(w)) => writeln!(
            out,
            "  oldest full IP:  {}",
            oldest_line(now, o, &format!("window {}", duration_in_words(w)))
        ),
        (None, Some(_)) => writeln!(
            out,
            "  oldest full IP:  none (every dated record is masked)"
        ),
    };
    for (kind, d) in s.deadlines() {
        let label = format!("next {}:", kind.name());
        let _ = match d {
            Some(d) => writeln!(out, "  {label:<16} {}", deadline_line(now, d)),
            None => writeln!(out, "  {label:<16} none by time"),
        };
    }
    if s.due_now > 0 {
        let _ = writeln!(
            out,
            "  due now:         {} action(s); `logwarden enforce --dry-run` lists them",
            s.due_now
        );
    }
    for p in &s.problems {
        let _ = writeln!(
            out,
            "  problem:         {}: {}",
            crate::escape::path(&p.path),
            p.what
        );
    }
    let _ = writeln!(
        out,
        "  last pass:       {}",
        last_pass_line(now, &s.last_pass)
    );
}

/// The text report: one block per site.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    for (i, s) in report.sites.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        site_text(report.now, s, &mut out);
    }
    out
}

fn oldest_json(now: Timestamp, o: Option<&Oldest>) -> Value {
    match o {
        None => Value::Null,
        Some(o) => json!({
            "at": rfc3339(o.at),
            "age_seconds": now.duration_since(o.at).as_secs(),
            "past_limit": o.past_limit,
            "path": crate::escape::path(&o.path),
        }),
    }
}

fn deadline_json(now: Timestamp, d: Option<&Deadline>) -> Value {
    match d {
        None => Value::Null,
        Some(d) => json!({
            "at": rfc3339(d.at),
            "in_seconds": d.at.duration_since(now).as_secs(),
            "overdue": d.at <= now,
            "path": crate::escape::path(&d.path),
            "why": d.why,
        }),
    }
}

fn last_pass_json(l: &LastPass) -> Value {
    match l {
        LastPass::Unknown { why } => json!({ "outcome": "unknown", "why": why }),
        LastPass::Known {
            at,
            included,
            failed,
            unkept,
            deferred,
            last_success,
            file,
        } => json!({
            "outcome": l.outcome(),
            "at": rfc3339(*at),
            "included": included,
            "failed": failed,
            "unkept": unkept,
            "deferred": deferred,
            "last_success": last_success.map(rfc3339),
            "file": crate::escape::path(file),
        }),
    }
}

fn site_json(now: Timestamp, s: &SiteStatus) -> Value {
    let mut next = serde_json::Map::new();
    for (kind, d) in s.deadlines() {
        next.insert(kind.name().into(), deadline_json(now, d));
    }
    json!({
        "site": s.site,
        "state": s.state.name(),
        "retention_seconds": s.retention.as_secs(),
        "full_ip_window_seconds": s.full_ip_window.map(|w| w.as_secs()),
        "live": { "files": s.live.files, "bytes": s.live.bytes },
        "archives": { "files": s.archives.files, "bytes": s.archives.bytes },
        "oldest_record": oldest_json(now, s.oldest_record.as_ref()),
        "oldest_full_ip": oldest_json(now, s.oldest_full_ip.as_ref()),
        "next": next,
        "due_now": s.due_now,
        "problems": s.problems.iter().map(|p| json!({
            "path": crate::escape::path(&p.path),
            "what": p.what,
        })).collect::<Vec<_>>(),
        "last_pass": last_pass_json(&s.last_pass),
    })
}

/// `--format json`: `{"now": …, "sites": [one object per site]}`.
pub fn render_json(report: &Report) -> String {
    let value = json!({
        "now": rfc3339(report.now),
        "sites": report.sites.iter().map(|s| site_json(report.now, s)).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&value).expect("a value serializes");
    s.push('\n');
    s
}

/// `enforce --dry-run`'s last line when the plan is empty: what comes next, and when.
pub fn nothing_due(policy: &Policy, inventory: &Inventory, now: Timestamp) -> String {
    match crate::plan::next_deadline_why(policy, inventory, now) {
        None => "nothing is due; nothing becomes due by time alone".into(),
        Some((site, d)) => format!(
            "nothing is due; next: {} {site}/{} at {} ({}): {}",
            d.kind.name(),
            crate::escape::path(d.path.file_name().map_or(d.path.as_path(), Path::new)),
            rfc3339(d.at),
            in_words(now, d.at),
            d.why
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn time_left_reads_in_words() {
        let now = t("2026-12-01T13:00:00Z");
        assert_eq!(in_words(now, t("2026-12-02T00:00:00Z")), "in 11 hours");
        assert_eq!(in_words(now, t("2026-12-02T14:30:00Z")), "in 1 day 1 hour");
        assert_eq!(in_words(now, t("2026-12-04T13:00:00Z")), "in 3 days");
        assert_eq!(in_words(now, t("2026-12-01T12:00:00Z")), "1 hour ago");
        assert_eq!(in_words(now, t("2026-12-01T13:00:05Z")), "in 5 seconds");
        assert_eq!(
            in_words(now, t("2026-12-01T14:20:00Z")),
            "in 1 hour 20 minutes"
        );
        assert_eq!(in_words(now, now), "now");
    }
}
