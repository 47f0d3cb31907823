//! The enforced policy in plain words, one paragraph per site, fit to paste into a privacy
//! policy.
//!
//! A privacy page and the retention logwarden enforces must say the same thing; generating
//! the one from the other keeps them from drifting apart. Every number comes from the
//! validated policy, so the text promises exactly what `enforce` does, never more. It must
//! never write anything and never soften a setting (a prefix that keeps a whole address is
//! said to keep it).

use jiff::SignedDuration;

use crate::anonymize::Scope;
use crate::policy::{FullIpWindow, Policy, Site, duration_in_words};
use crate::timestamp::LogFormat;

/// How `describe` lays out its paragraphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Markdown,
    Text,
}

/// A duration in days where it is whole days, else in hours or minutes.
fn in_days(d: SignedDuration) -> String {
    duration_in_words(d)
}

fn ipv4_words(prefix: u8) -> String {
    let zeroed = ["", "last", "last two", "last three"];
    match prefix {
        32 => "IPv4 addresses are kept in full".into(),
        0 => "all four numbers of an IPv4 address are set to zero".into(),
        24 => "the last of the four numbers of an IPv4 address is set to zero".into(),
        16 | 8 => format!(
            "the {} of the four numbers of an IPv4 address are set to zero",
            zeroed[(32 - prefix as usize) / 8]
        ),
        n => format!(
            "IPv4 addresses are cut to their first {n} of 32 bits and the rest is set to zero"
        ),
    }
}

fn ipv6_words(prefix: u8) -> String {
    match prefix {
        128 => "IPv6 addresses are kept in full".into(),
        0 => "IPv6 addresses are set to zero entirely".into(),
        n => format!(
            "IPv6 addresses are cut to their first {n} bits (of 128) and the rest is set to zero"
        ),
    }
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// One site's paragraph, without layout.
pub fn paragraph(site: &Site, style: Style) -> String {
    let code = |s: String| match style {
        Style::Markdown => format!("`{s}`"),
        Style::Text => s,
    };
    let logs: Vec<String> = site.logs.iter().map(|l| code(l.display())).collect();
    let single = site.logs.len() == 1 && site.logs[0].name.literal().is_some();
    let (kind, verb) = if single {
        ("log", "records")
    } else {
        ("logs", "record")
    };
    let mut s = format!(
        "The web server {kind} {} {verb} each request, including the IP address it came from. ",
        list(&logs)
    );
    let kept = match site.full_ip_window() {
        FullIpWindow::Off => None,
        FullIpWindow::UntilRotation { every } => Some(format!(
            "Full IP addresses are kept only in the current log file, which is closed at the latest after {}, so for at most {}. ",
            in_days(every),
            in_days(every)
        )),
        FullIpWindow::After(after) => Some(format!(
            "Full IP addresses are kept for at most {}. ",
            in_days(after)
        )),
    };
    match (kept, site.truncation) {
        (Some(kept), Some(t)) => {
            s.push_str(&kept);
            let where_ = match t.mask.scope {
                Scope::All => "wherever an address appears in a record",
                Scope::Client => {
                    "in the client address field (the first field of an access log line, `client:` in nginx error logs, `[client …]` in Apache error logs, and the remote_addr, remote_ip, client_ip, client and ip fields of JSON records; addresses elsewhere in a record, such as forwarded-for headers, are not truncated)"
                }
            };
            s.push_str(&format!(
                "After that they are truncated {where_}: {}, and {}. ",
                ipv4_words(t.mask.ipv4_prefix),
                ipv6_words(t.mask.ipv6_prefix)
            ));
        }
        _ => s.push_str(
            "IP addresses in these logs are not truncated; they are deleted together with their record. ",
        ),
    }
    s.push_str(&format!(
        "Every record is deleted {} after it was written.",
        in_days(site.retention)
    ));
    // Where the time of a record is read is what every deletion rests on; name it when the
    // policy chose it (with `format: auto` each line's shape decides).
    let chosen: Vec<String> = site
        .logs
        .iter()
        .filter(|l| l.format != LogFormat::Auto)
        .map(|l| format!("{} as {}", code(l.display()), format_words(&l.format)))
        .collect();
    if !chosen.is_empty() {
        s.push_str(&format!(
            " The time of a record is read from {}.",
            list(&chosen)
        ));
    }
    s
}

/// A log format as `describe` names it: the policy's name and where the time is.
fn format_words(format: &LogFormat) -> String {
    match format {
        LogFormat::Auto => "any known format".into(),
        LogFormat::Clf => "an access log (format clf, the bracketed time field)".into(),
        LogFormat::Json { time_field } => format!(
            "JSON records (format json, the field {})",
            time_field
                .as_deref()
                .unwrap_or("time, timestamp, @timestamp or ts")
        ),
        LogFormat::Haproxy => "an HAProxy log (format haproxy, the accept date)".into(),
        LogFormat::NginxError => "an nginx error log (format nginx-error)".into(),
        LogFormat::ApacheError => "an Apache error log (format apache-error)".into(),
        LogFormat::Syslog => "a syslog file (format syslog, the header's time)".into(),
    }
}

/// Wraps a paragraph at `width` columns (words are never split).
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut col = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if col > 0 && col + 1 + word.len() > width {
            out.push('\n');
            col = 0;
        } else if col > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += word.len();
    }
    out
}

/// The whole description: one heading and paragraph per site.
pub fn render(policy: &Policy, style: Style) -> String {
    let mut out = String::new();
    for (i, site) in policy.sites.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match style {
            Style::Markdown => {
                out.push_str(&format!("### Site {}\n\n", site.name));
                out.push_str(&paragraph(site, style));
            }
            Style::Text => {
                out.push_str(&format!("Site {}\n\n", site.name));
                out.push_str(&wrap(&paragraph(site, style), 78));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LoadedConfig;
    use std::path::Path;

    fn policy(text: &str) -> Policy {
        Policy::from_config(&LoadedConfig::parse(Path::new("/c.yaml"), text.to_string()).unwrap())
            .unwrap()
    }

    #[test]
    fn a_site_in_words() {
        let p = policy(
            "sites:\n  main:\n    logs: [/var/log/nginx/access.log, /var/log/nginx/error.log]\n    retention: 14d\n    anonymize: { after: 1d }\n",
        );
        let md = render(&p, Style::Markdown);
        assert_eq!(
            md,
            "### Site main\n\nThe web server logs `/var/log/nginx/access.log` and `/var/log/nginx/error.log` \
record each request, including the IP address it came from. Full IP addresses are kept for at most 1 day. \
After that they are truncated wherever an address appears in a record: the last of the four numbers of an \
IPv4 address is set to zero, and IPv6 addresses are cut to their first 40 bits (of 128) and the rest is set \
to zero. Every record is deleted 14 days after it was written.\n"
        );
        let text = render(&p, Style::Text);
        assert!(text.starts_with("Site main\n\nThe web server logs /var/log/nginx/access.log"));
        assert!(text.lines().all(|l| l.len() <= 78), "{text}");
        assert!(!text.contains('`'));
    }

    #[test]
    fn after_zero_off_and_other_prefixes() {
        let p = policy(
            "sites:\n  a:\n    logs: [/l/a.log]\n    rotate: { every: 6h }\n    anonymize: { after: 0s, ipv4_prefix: 16, ipv6_prefix: 128, scope: client }\n  b:\n    logs: [/l/b.log]\n    retention: 30d\n    anonymize: false\n",
        );
        let text = render(&p, Style::Markdown);
        assert!(
            text.contains(
                "kept only in the current log file, which is closed at the latest after 6 hours"
            ),
            "{text}"
        );
        assert!(
            text.contains("the last two of the four numbers of an IPv4 address are set to zero")
        );
        assert!(text.contains("IPv6 addresses are kept in full"));
        assert!(text.contains("in the client address field"));
        assert!(text.contains("### Site b\n\nThe web server log `/l/b.log` records each request"));
        assert!(text.contains("are not truncated; they are deleted together with their record. Every record is deleted 30 days"));
        assert_eq!(
            ipv4_words(8),
            "the last three of the four numbers of an IPv4 address are set to zero"
        );
        assert!(ipv4_words(20).contains("first 20 of 32 bits"));
    }

    #[test]
    fn a_chosen_format_is_named_and_auto_is_not() {
        let p = policy(
            "sites:\n  a:\n    logs: [/l/a.log, { path: /l/h.log, format: haproxy }, { path: /l/c.log, format: json, time_field: ts }]\n",
        );
        let text = render(&p, Style::Markdown);
        assert!(
            text.contains(" The time of a record is read from `/l/h.log` as an HAProxy log (format haproxy, the accept date) and `/l/c.log` as JSON records (format json, the field ts).\n"),
            "{text}"
        );
        assert!(!text.contains("/l/a.log` as"), "{text}");
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), "aa bb\ncc");
        assert_eq!(
            wrap("averyveryverylongword x", 5),
            "averyveryverylongword\nx"
        );
    }
}
