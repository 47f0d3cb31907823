//! The enforced policy in plain words, one paragraph per site, fit to paste into a privacy
//! policy.
//!
//! A privacy page and the retention logwarden enforces must say the same thing; generating
//! the one from the other keeps them from drifting apart. Every number comes from the
//! validated policy, so the text promises exactly what `enforce` does, never more. It must
//! never write anything and never soften a setting (a prefix that keeps a whole address is
//! said to keep it). Records are truncated and deleted at the first run of logwarden after
//! their deadline, so every period is said as a bound ("within 14 days and 1 hour") that
//! includes the longest wait for that run, never as an exact age. File paths are named only
//! when asked (`--paths`): a privacy page has no use for them. Every sentence is worded in
//! `words`, so a translation is that one file.

mod words;

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

/// What `describe` is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub style: Style,
    /// Name the log files (a privacy page usually should not).
    pub paths: bool,
    /// The longest time between two runs of logwarden (the timer's interval): a record is
    /// truncated or deleted at the first run after its deadline, so every period said is
    /// the policy's plus this.
    pub pass_gap: SignedDuration,
}

/// A period as promised to a reader: the policy's plus the wait for the next run, rounded
/// up.
fn bound(d: SignedDuration, o: &Options) -> String {
    words::period(d.saturating_add(o.pass_gap.abs()))
}

/// One site's paragraph, without layout.
pub fn paragraph(site: &Site, o: &Options) -> String {
    let code = |s: String| match o.style {
        Style::Markdown => format!("`{s}`"),
        Style::Text => s,
    };
    let logs: Vec<String> = site.logs.iter().map(|l| code(l.display())).collect();
    let paths = o.paths.then(|| words::list(&logs));
    let mut s = words::logs_intro(paths.as_deref());
    let received: Vec<String> = site
        .logs
        .iter()
        .filter(|l| l.receive.is_some())
        .map(|l| code(l.display()))
        .collect();
    let kept = match site.full_ip_window() {
        FullIpWindow::Off => None,
        FullIpWindow::UntilRotation { .. } if received.len() == site.logs.len() => {
            Some(words::never_stored(None))
        }
        FullIpWindow::UntilRotation { every } if !received.is_empty() => {
            let which = if o.paths {
                words::list(&received)
            } else {
                "the logs logwarden writes itself".to_string()
            };
            Some(format!(
                "{}{}",
                words::never_stored(Some(&which)),
                words::full_ip_until_rotation(&duration_in_words(every), &bound(every, o))
            ))
        }
        FullIpWindow::UntilRotation { every } => Some(words::full_ip_until_rotation(
            &duration_in_words(every),
            &bound(every, o),
        )),
        FullIpWindow::After(after) => Some(words::full_ip_kept(&bound(after, o))),
    };
    match (kept, site.truncation) {
        (Some(kept), Some(t)) => {
            s.push_str(&kept);
            let where_ = match t.mask.scope {
                Scope::All => words::WHERE_ALL,
                Scope::Client => words::WHERE_CLIENT,
            };
            s.push_str(&words::truncated(
                where_,
                &words::ipv4(t.mask.ipv4_prefix),
                &words::ipv6(t.mask.ipv6_prefix),
            ));
        }
        _ => s.push_str(words::NOT_TRUNCATED),
    }
    s.push_str(&words::deleted_within(&bound(site.retention, o)));
    if !o.pass_gap.is_zero() {
        s.push_str(&words::rhythm(&duration_in_words(o.pass_gap.abs())));
    }
    if site.rotation.by_server {
        // Said, because the periods above hold for the files the server has closed; in the
        // one it writes they hold only if it closes it in time.
        s.push_str(words::SERVER_ROTATES);
    }
    // Where the time of a record is read is what every deletion rests on; name it when the
    // policy chose it (with `format: auto` each line's shape decides).
    let mut chosen: Vec<String> = Vec::new();
    for l in site.logs.iter().filter(|l| l.format != LogFormat::Auto) {
        let said = if o.paths {
            words::log_as(&code(l.display()), &format_words(&l.format))
        } else {
            format_words(&l.format)
        };
        if !chosen.contains(&said) {
            chosen.push(said);
        }
    }
    if !chosen.is_empty() {
        s.push_str(&words::time_read_from(&words::list(&chosen)));
    }
    s
}

/// A log format as `describe` names it: the policy's name and where the time is.
fn format_words(format: &LogFormat) -> String {
    match format {
        LogFormat::Auto => words::FORMAT_AUTO.into(),
        LogFormat::Clf => words::FORMAT_CLF.into(),
        LogFormat::Json {
            time_field,
            client_field,
        } => words::format_json(time_field.as_deref(), client_field.as_deref()),
        LogFormat::Haproxy => words::FORMAT_HAPROXY.into(),
        LogFormat::NginxError => words::FORMAT_NGINX_ERROR.into(),
        LogFormat::ApacheError => words::FORMAT_APACHE_ERROR.into(),
        LogFormat::Syslog => words::FORMAT_SYSLOG.into(),
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
pub fn render(policy: &Policy, o: &Options) -> String {
    let mut out = String::new();
    // In the order the policy lists them: the author's order is the reader's.
    for (i, site) in policy.sites.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match o.style {
            Style::Markdown => {
                out.push_str(&format!("### {}\n\n", words::heading(&site.name)));
                out.push_str(&paragraph(site, o));
            }
            Style::Text => {
                out.push_str(&format!("{}\n\n", words::heading(&site.name)));
                out.push_str(&wrap(&paragraph(site, o), 78));
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

    fn opts(style: Style, paths: bool, gap: &str) -> Options {
        Options {
            style,
            paths,
            pass_gap: crate::policy::parse_duration(gap).unwrap(),
        }
    }

    const MAIN: &str = "sites:\n  main:\n    logs: [/var/log/nginx/access.log, /var/log/nginx/error.log]\n    retention: 14d\n    anonymize: { after: 1d }\n";

    #[test]
    fn a_site_in_words() {
        let p = policy(MAIN);
        let md = render(&p, &opts(Style::Markdown, false, "1h"));
        assert_eq!(
            md,
            "### Site main\n\nThe web server keeps logs of its work, such as the requests it serves; \
a record can include the IP address a request came from. Full IP addresses are kept for at most 1 day and \
1 hour. After that they are truncated wherever an address appears in a record: the last of the four numbers \
of an IPv4 address is set to zero, and IPv6 addresses are cut to their first 40 bits (of 128) and the rest \
is set to zero. Every record is deleted within 14 days and 1 hour after it was written. These periods \
include the wait for logwarden's next run, which comes at most 1 hour after the previous one.\n"
        );
        let text = render(&p, &opts(Style::Text, false, "1h"));
        assert!(text.starts_with("Site main\n\nThe web server keeps logs of its work"));
        assert!(text.lines().all(|l| l.len() <= 78), "{text}");
        assert!(!text.contains('`'));
    }

    #[test]
    fn paths_only_when_asked_and_never_each_request_or_exactly() {
        let p = policy(MAIN);
        let bare = render(&p, &opts(Style::Markdown, false, "1h"));
        assert!(!bare.contains("/var/log"), "{bare}");
        let with = render(&p, &opts(Style::Markdown, true, "1h"));
        assert!(
            with.contains("keeps logs (`/var/log/nginx/access.log` and `/var/log/nginx/error.log`) of its work"),
            "{with}"
        );
        for text in [bare, with] {
            assert!(!text.contains("each request"), "{text}");
            assert!(!text.contains("exactly"), "{text}");
        }
    }

    #[test]
    fn the_pass_rhythm_is_in_every_period() {
        let p = policy(MAIN);
        let daily = render(&p, &opts(Style::Markdown, false, "1d"));
        assert!(
            daily.contains("Every record is deleted within 15 days after it was written."),
            "{daily}"
        );
        assert!(daily.contains("kept for at most 2 days."), "{daily}");
        assert!(
            daily.contains("at most 1 day after the previous one."),
            "{daily}"
        );
        // Under `watch` (no wait) the bound is the policy's, still said as a bound.
        let watch = render(&p, &opts(Style::Markdown, false, "0s"));
        assert!(watch.contains("deleted within 14 days after"), "{watch}");
        assert!(!watch.contains("next run"), "{watch}");
    }

    #[test]
    fn sites_come_in_policy_order() {
        let p = policy(
            "sites:\n  zeta:\n    logs: [/l/z.log]\n  alpha:\n    logs: [/l/a.log]\n  mid:\n    logs: [/l/m.log]\n",
        );
        let names: Vec<&str> = p.sites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["zeta", "alpha", "mid"],
            "Policy::sites in file order"
        );
        let md = render(&p, &opts(Style::Markdown, false, "1h"));
        let heads: Vec<&str> = md.lines().filter(|l| l.starts_with("### ")).collect();
        assert_eq!(heads, ["### Site zeta", "### Site alpha", "### Site mid"]);
    }

    #[test]
    fn after_zero_off_and_other_prefixes() {
        let p = policy(
            "sites:\n  a:\n    logs: [/l/a.log]\n    rotate: { every: 6h }\n    anonymize: { after: 0s, ipv4_prefix: 16, ipv6_prefix: 128, scope: client }\n  b:\n    logs: [/l/b.log]\n    retention: 30d\n    anonymize: false\n",
        );
        let text = render(&p, &opts(Style::Markdown, false, "1h"));
        assert!(
            text.contains(
                "kept only in the current log file, which is closed at the latest after 6 hours, so for at most 7 hours"
            ),
            "{text}"
        );
        assert!(
            text.contains("the last two of the four numbers of an IPv4 address are set to zero")
        );
        assert!(text.contains("IPv6 addresses are kept in full"));
        assert!(text.contains("in the client address field"));
        assert!(text.contains("### Site b\n\nThe web server keeps logs of its work"));
        assert!(text.contains("are not truncated; they are deleted together with their record. Every record is deleted within 30 days and 1 hour"));
        assert_eq!(
            words::ipv4(8),
            "the last three of the four numbers of an IPv4 address are set to zero"
        );
        assert!(words::ipv4(20).contains("first 20 of 32 bits"));
    }

    #[test]
    fn addresses_masked_before_the_write_are_said_never_stored() {
        let p = policy(
            "sites:\n  a:\n    logs: [{ path: /l/a.log, receive: pipe }]\n    anonymize: { after: 0s }\n  b:\n    logs: [{ path: /l/b.log, receive: pipe }, /l/e.log]\n    anonymize: { after: 0s }\n  c:\n    logs: [{ path: /l/c.log, receive: pipe }]\n    anonymize: { after: 1d }\n",
        );
        let text = render(&p, &opts(Style::Text, false, "1h")).replace('\n', " ");
        let a = &text[..text.find("Site b").unwrap()];
        assert!(a.contains("a full IP address is never stored."), "{a}");
        assert!(!a.contains("current log file"), "{a}");
        let b = &text[text.find("Site b").unwrap()..text.find("Site c").unwrap()];
        assert!(
            b.contains("In the logs logwarden writes itself, addresses are truncated before"),
            "{b}"
        );
        assert!(
            b.contains("never stored there. In the other logs: Full IP addresses are kept only in the current log file"),
            "{b}"
        );
        let c = &text[text.find("Site c").unwrap()..];
        assert!(!c.contains("never stored"), "{c}");
    }

    #[test]
    fn a_chosen_format_is_named_and_auto_is_not() {
        let p = policy(
            "sites:\n  a:\n    logs: [/l/a.log, { path: /l/h.log, format: haproxy }, { path: /l/c.log, format: json, time_field: ts }]\n",
        );
        let text = render(&p, &opts(Style::Markdown, true, "1h"));
        assert!(
            text.contains(" The time of a record is read from `/l/h.log` as an HAProxy log (format haproxy, the accept date) and `/l/c.log` as JSON records (format json, the field ts).\n"),
            "{text}"
        );
        assert!(!text.contains("/l/a.log` as"), "{text}");
        let bare = render(&p, &opts(Style::Markdown, false, "1h"));
        assert!(
            bare.contains(" The time of a record is read from an HAProxy log (format haproxy, the accept date) and JSON records (format json, the field ts).\n"),
            "{bare}"
        );
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
