//! logrotate stanzas, written out as a logwarden policy for a person to review.
//!
//! One site per stanza, named after its directory. What has an equivalent key becomes that
//! key; everything else becomes a `# file:line` comment that says what logrotate did and what
//! the user must decide. Retention and the full-address window have no logrotate equivalent:
//! the values written for them are suggestions, and the comments say so. It must never
//! print a policy that claims more than logrotate promised without saying so, and the text
//! it prints must pass `logwarden validate` as it is.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use super::logrotate::{Directive, Found, Kind, ScriptKind};
use super::script::{self, Reopen};

/// The whole policy text for these stanzas.
pub fn policy(found: &[Found]) -> String {
    let mut out = String::from(
        "# A logwarden policy imported from logrotate (`logwarden import logrotate`).\n\
         # Read every comment before using it: each names the logrotate line it comes from and\n\
         # what logwarden does instead, or what you must decide. logrotate counts files;\n\
         # logwarden promises ages: the `retention:` and `anonymize:` values below are\n\
         # suggestions to confirm, as logrotate has no equivalent of either.\n\
         # When logwarden takes over these files, remove their logrotate stanzas: two tools\n\
         # rotating one file lose data (`logwarden validate` warns while both do).\n",
    );
    if found.is_empty() {
        out.push_str("# No logrotate stanza was found in the given files.\nsites: {}\n");
        return out;
    }
    out.push_str("sites:\n");
    let mut names = BTreeSet::new();
    let mut taken = std::collections::BTreeMap::new();
    for f in found {
        let name = unique(&mut names, site_name(&f.stanza.paths));
        out.push_str(&site(f, &name, &mut taken));
    }
    out
}

/// `/var/log/nginx/*.log` → `nginx`; a file right in `/var/log` gives its own name.
fn site_name(paths: &[String]) -> String {
    let first = paths.first().map_or("logs", String::as_str);
    let p = Path::new(first);
    let dir = p
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .filter_map(|c| c.as_os_str().to_str())
        .rfind(|c| !c.contains(['*', '?', '[']) && !["/", "log", "logs", "var"].contains(c))
        .unwrap_or("");
    let raw = if dir.is_empty() {
        let file = p.file_name().and_then(|f| f.to_str()).unwrap_or("logs");
        file.split('.').next().unwrap_or(file).to_string()
    } else {
        dir.to_string()
    };
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean.trim_matches('-').to_string();
    if clean.is_empty() {
        "logs".into()
    } else {
        clean
    }
}

fn unique(names: &mut BTreeSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while names.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    names.insert(name.clone());
    name
}

/// A double-quoted YAML scalar (JSON's escapes are YAML's).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn hours(h: u64) -> String {
    if h % 24 == 0 {
        format!("{}d", h / 24)
    } else {
        format!("{h}h")
    }
}

fn size(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// The directives in force for a stanza, in logrotate's order: globals, then its own.
struct Effective<'a> {
    all: Vec<(String, &'a Directive)>,
}

impl<'a> Effective<'a> {
    fn new(f: &'a Found) -> Effective<'a> {
        let file = f.file.display().to_string();
        let mut all: Vec<(String, &Directive)> = f
            .globals
            .iter()
            .map(|(p, d)| (format!("{}:{} (global)", p.display(), d.line), d))
            .collect();
        all.extend(
            f.stanza
                .directives
                .iter()
                .map(|d| (format!("{file}:{}", d.line), d)),
        );
        Effective { all }
    }

    /// The last directive that `pick` accepts, with its place.
    fn last<T>(&self, pick: impl Fn(&Kind) -> Option<T>) -> Option<(&str, &'a Directive, T)> {
        self.all
            .iter()
            .rev()
            .find_map(|(at, d)| pick(&d.kind).map(|v| (at.as_str(), *d, v)))
    }
}

/// One site's text. `taken` maps each path already given to a site to that site: a path
/// named twice is logrotate's "duplicate log entry", and two sites may not share a file.
fn site(f: &Found, name: &str, taken: &mut std::collections::BTreeMap<String, String>) -> String {
    let e = Effective::new(f);
    let mut body = String::new();
    let mut notes: Vec<String> = Vec::new();
    let note = |notes: &mut Vec<String>, at: &str, d: &Directive, what: &str| {
        notes.push(format!("{at}: `{}`: {what}", d.text));
    };

    // logs
    let mut logs = Vec::new();
    for p in &f.stanza.paths {
        let path = Path::new(p);
        let dir = path
            .parent()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !path.is_absolute() {
            notes.push(format!("{}:{}: `{p}`: a relative path; logwarden reads paths relative to the policy file: write it in full", f.file.display(), f.stanza.line));
        } else if dir.contains(['*', '?', '[']) || p.contains('[') {
            notes.push(format!("{}:{}: `{p}`: logwarden's patterns have wildcards (`*`, `?`) in the file name only: list each directory as its own entry", f.file.display(), f.stanza.line));
        } else if let Some(other) = taken.get(p) {
            notes.push(format!("{}:{}: `{p}`: already a log of site {other} (logrotate too refuses a file named twice); left out here", f.file.display(), f.stanza.line));
        } else {
            taken.insert(p.clone(), name.to_string());
            logs.push(q(p));
        }
    }
    let _ = writeln!(body, "    logs: [{}]", logs.join(", "));

    // rotate
    let interval = e.last(|k| match k {
        Kind::Interval(i) => Some(*i),
        _ => None,
    });
    let size_only = e.last(|k| match k {
        Kind::Size(b) => Some(*b),
        _ => None,
    });
    // `size` and an interval exclude each other; the later one wins.
    let size_wins = match (&size_only, &interval) {
        (Some((_, s, _)), Some((_, i, _))) => {
            let pos = |d: &Directive| e.all.iter().position(|(_, x)| std::ptr::eq(*x, d));
            pos(s) > pos(i)
        }
        (Some(_), None) => true,
        _ => false,
    };
    let max_size = e.last(|k| match k {
        Kind::MaxSize(b) => Some(*b),
        _ => None,
    });
    let every_hours = interval.as_ref().map_or(24, |(_, _, i)| i.hours());
    let mut rotate = format!("every: {}", hours(every_hours));
    let chosen_size = if size_wins {
        size_only.as_ref().map(|(_, _, b)| *b)
    } else {
        max_size.as_ref().map(|(_, _, b)| *b)
    };
    if let Some(b) = chosen_size {
        let _ = write!(rotate, ", max_size: {}", size(b));
    }
    if size_wins {
        let (at, d, _) = size_only.as_ref().expect("size wins only when set");
        let why = if interval.is_some() {
            "the interval before it is overridden; "
        } else {
            ""
        };
        note(
            &mut notes,
            at,
            d,
            &format!(
                "logrotate rotated by size only ({why}at its next run after the file outgrew it); logwarden rotates by size and also by age, so masking and expiry keep their times: `every: {}` is a choice to confirm",
                hours(every_hours)
            ),
        );
        if let Some((at, d, _)) = &max_size {
            note(&mut notes, at, d, "ignored by logrotate beside `size`");
        }
    } else if interval.is_none() {
        notes.push(format!("{}:{}: no interval and no size: logrotate rotated at each of its runs (daily from its timer); `every: 1d` says so", f.file.display(), f.stanza.line));
    }
    if let Some((at, d, _)) = e.last(|k| matches!(k, Kind::MinSize(_)).then_some(())) {
        note(
            &mut notes,
            at,
            d,
            "logwarden has no minimum size: a log is rotated when its oldest record is `every` old, however small",
        );
    }
    let _ = writeln!(body, "    rotate: {{ {rotate} }}");

    // retention: a suggestion from `rotate N` × interval and `maxage`.
    let count = e.last(|k| match k {
        Kind::Rotate(n) => Some(*n),
        _ => None,
    });
    let maxage = e.last(|k| match k {
        Kind::MaxAge(d) => Some(*d),
        _ => None,
    });
    let n = count.as_ref().map_or(0, |(_, _, n)| *n);
    let count_text = count.as_ref().map_or(
        "no `rotate` (logrotate keeps no archive)".to_string(),
        |(at, d, _)| format!("`{}` ({at})", d.text),
    );
    let by_count =
        (!size_wins && n >= 0).then(|| u64::try_from(n.max(1)).unwrap_or(1) * every_hours);
    let by_age = maxage.as_ref().map(|(_, _, days)| days * 24);
    let (retention, why) = match (by_count, by_age) {
        (Some(c), Some(a)) if a < c => (
            a,
            format!(
                "`maxage` ({}) removed archives sooner than {count_text} × {}",
                maxage.as_ref().expect("set").0,
                hours(every_hours)
            ),
        ),
        (Some(c), _) => (
            c,
            format!(
                "{count_text} × the interval ({}); logrotate kept records up to one interval longer, in the live file",
                hours(every_hours)
            ),
        ),
        (None, Some(a)) => (
            a,
            format!(
                "`maxage` ({}); {count_text} archives of a size, not an age, may remove them sooner on a busy host",
                maxage.as_ref().expect("set").0
            ),
        ),
        (None, None) => (
            14 * 24,
            format!(
                "nothing: logrotate kept {count_text} archives of a size, not an age; 14d is logwarden's default: CHOOSE how long records may be kept"
            ),
        ),
    };
    let _ = writeln!(
        body,
        "    # SUGGESTED, confirm: logrotate has no retention by age; this is from {why}."
    );
    let _ = writeln!(body, "    retention: {}", hours(retention));
    let after = retention.min(7 * 24);
    let _ = writeln!(
        body,
        "    # YOU MUST CHOOSE: logrotate never masks client addresses. How long may full addresses"
    );
    let _ = writeln!(
        body,
        "    # be kept? {} is the shorter of logwarden's default (7d) and the retention; `0s` masks at rotation.",
        hours(after)
    );
    let _ = writeln!(body, "    anonymize: {{ after: {} }}", hours(after));

    // compress
    let compress = e.last(|k| match k {
        Kind::Compress(c) => Some(*c),
        _ => None,
    });
    if compress.as_ref().is_some_and(|(_, _, c)| *c) {
        let mut level = String::new();
        if let Some((at, d, cmd)) = e.last(|k| match k {
            Kind::CompressCmd(c) => Some(c.clone()),
            _ => None,
        }) {
            let prog = cmd.rsplit('/').next().unwrap_or_default();
            if !["gzip", "pigz"].contains(&prog) {
                note(
                    &mut notes,
                    at,
                    d,
                    "logwarden writes gzip only; the archives logrotate compressed this way are still recognised, audited and expired (.xz and .zst too)",
                );
            }
        }
        if let Some((at, d, opts)) = e.last(|k| match k {
            Kind::CompressOptions(o) => Some(o.clone()),
            _ => None,
        }) {
            match opts.as_slice() {
                [o] if o.len() == 2
                    && o.starts_with('-')
                    && o[1..].parse::<u8>().is_ok_and(|l| (1..=9).contains(&l)) =>
                {
                    level = format!(", level: {}", &o[1..]);
                }
                _ => note(
                    &mut notes,
                    at,
                    d,
                    "not translated: logwarden's gzip takes a level only",
                ),
            }
        }
        let _ = writeln!(body, "    compress: {{ method: gzip{level} }}");
    } else {
        let _ = writeln!(
            body,
            "    # logrotate did not compress (no `compress`); delete this line to let logwarden gzip archives (its default)."
        );
        let _ = writeln!(body, "    compress: {{ method: none }}");
    }

    // create, su, missing_ok, archive_dir
    if let Some((at, d, (mode, owner, group))) = e.last(|k| match k {
        Kind::Create { mode, owner, group } => Some((mode.clone(), owner.clone(), group.clone())),
        _ => None,
    }) {
        let mut parts = Vec::new();
        if let Some(m) = mode {
            let m = if m.len() == 3 { format!("0{m}") } else { m };
            parts.push(format!("mode: {}", q(&m)));
        }
        if let Some(o) = owner {
            parts.push(format!("owner: {}", q(&o)));
        }
        if let Some(g) = group {
            parts.push(format!("group: {}", q(&g)));
        }
        if parts.is_empty() {
            note(
                &mut notes,
                at,
                d,
                "nothing to set: logwarden recreates the live file with the old one's owner and mode",
            );
        } else {
            let _ = writeln!(body, "    create: {{ {} }}", parts.join(", "));
        }
    }
    if let Some((at, d, (user, group))) = e.last(|k| match k {
        Kind::Su { user, group } => Some((user.clone(), group.clone())),
        _ => None,
    }) {
        if user == "root" {
            note(
                &mut notes,
                at,
                d,
                "nothing to set: logwarden runs as root already, and refuses `su:` as root (it would protect nothing)",
            );
        } else {
            let group = group
                .map(|g| format!(", group: {}", q(&g)))
                .unwrap_or_default();
            let _ = writeln!(body, "    su: {{ user: {}{group} }}", q(&user));
        }
    }
    if e.last(|k| match k {
        Kind::MissingOk(b) => Some(*b),
        _ => None,
    })
    .is_some_and(|(_, _, b)| b)
    {
        let _ = writeln!(body, "    missing_ok: true");
    }
    if let Some((at, d, dir)) = e.last(|k| match k {
        Kind::OldDir(dir) => Some(dir.clone()),
        _ => None,
    }) {
        match dir {
            Some(dir) if Path::new(&dir).is_absolute() => {
                let _ = writeln!(body, "    archive_dir: {}", q(&dir));
            }
            Some(_) => note(
                &mut notes,
                at,
                d,
                "a directory relative to each log's; write `archive_dir:` as a full path",
            ),
            None => {}
        }
    }

    // scripts: the reopen, and what has no equivalent.
    let mut reopen_done = false;
    for kind in [
        ScriptKind::PostRotate,
        ScriptKind::LastAction,
        ScriptKind::PreRotate,
        ScriptKind::FirstAction,
        ScriptKind::PreRemove,
    ] {
        let Some((at, d, lines)) = e.last(|k| match k {
            Kind::Script { kind: sk, body } if *sk == kind => Some(body.clone()),
            _ => None,
        }) else {
            continue;
        };
        let reopen_slot =
            matches!(kind, ScriptKind::PostRotate | ScriptKind::LastAction) && !reopen_done;
        match script::recognise(&lines).filter(|_| reopen_slot) {
            Some(r) => {
                reopen_done = true;
                let _ = writeln!(
                    body,
                    "    # from {at}: `{}` (the writer is told after the site's files are rotated)",
                    d.text
                );
                for n in &r.notes {
                    let _ = writeln!(body, "    # {n}");
                }
                if let Some(alt) = script::alternative(&r.reopen) {
                    let _ = writeln!(body, "    # {alt}");
                }
                let _ = writeln!(body, "    reopen: {}", reopen_yaml(&r.reopen));
            }
            None => {
                let what = if reopen_slot {
                    "not translated: logrotate ran it with /bin/sh; logwarden runs one command without a shell. If it tells the server to reopen its logs, set `reopen: { signal: …, pidfile: … }` or `reopen: { command: [...] }` to that; otherwise decide whether it still matters. It reads"
                } else {
                    "not translated: logwarden has no hook here; decide whether it still matters (an empty hook directory or a check is safe to drop). It reads"
                };
                note(&mut notes, at, d, what);
                for l in lines.iter().filter(|l| !l.trim().is_empty()) {
                    notes.push(format!("    {}", l.trim()));
                }
            }
        }
    }

    // every other directive: a comment saying what logwarden does instead.
    for (at, d) in &e.all {
        let why = match &d.kind {
            Kind::DelayCompress(true) => {
                "nothing to set: logwarden compresses an archive only once the writer has let go of it"
            }
            Kind::DateExt(_) => {
                "nothing to set: logwarden names archives `<file>-<UTC time YYYYmmdd-HHMMSS>[.gz]`; logrotate's archives (`.1`, `-20261101`, `.gz`) are still recognised, audited and expired"
            }
            Kind::NotIfEmpty(true) => "nothing to set: logwarden never rotates an empty log",
            Kind::NotIfEmpty(false) => "logwarden never rotates an empty log; nothing to set",
            Kind::SharedScripts(_) => {
                "nothing to set: logwarden tells the writer once per pass, after rotating all of the site's files"
            }
            Kind::NoCreate => {
                "logwarden always recreates the live file at once; if the server must create it, check its owner and mode with `create:`"
            }
            Kind::CopyTruncate => {
                "logwarden never copies and truncates (lines written in between are lost); it renames and tells the writer to reopen: set `reopen:` for this writer, or logwarden warns that the writer was not told"
            }
            Kind::Other => match d
                .text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
                .as_str()
            {
                "dateformat" | "dateyesterday" | "datehourago" | "extension" | "addextension"
                | "start" => {
                    "nothing to set: logwarden names archives `<file>-<UTC time YYYYmmdd-HHMMSS>[.gz]`; logrotate's archives are still recognised, audited and expired"
                }
                "tabooext" | "taboopat" => {
                    "nothing to set: only which files of an included directory logrotate reads"
                }
                "compressext" | "uncompresscmd" => {
                    "nothing to set: logwarden writes and reads `.gz` itself"
                }
                "mail" | "nomail" | "mailfirst" | "maillast" => {
                    "not translated: logwarden does not mail logs; expired archives are deleted"
                }
                "shred" | "shredcycles" | "noshred" => {
                    "not translated: logwarden deletes expired archives with unlink(2); decide whether shredding mattered"
                }
                "createolddir" | "nocreateolddir" => {
                    "logwarden does not create `archive_dir`: create it beside the logs (same file system)"
                }
                "copy" | "renamecopy" | "nocopy" | "nocopytruncate" => {
                    "not translated: logwarden renames the live file and recreates it"
                }
                "su" | "create" | "rotate" | "maxage" | "size" | "maxsize" | "minsize"
                | "olddir" => {
                    "not read: its arguments are not what logrotate expects here; decide by hand"
                }
                _ => "not translated: logwarden has no equivalent; decide whether it matters",
            },
            _ => continue,
        };
        note(&mut notes, at, d, why);
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "  # {}:{}: {}",
        f.file.display(),
        f.stanza.line,
        f.stanza.paths.join(" ")
    );
    if logs.is_empty() {
        let _ = writeln!(
            out,
            "  # Not one path of this stanza can be a logwarden log pattern (see below); the site is"
        );
        let _ = writeln!(out, "  # left out until you list its logs:");
        let _ = writeln!(out, "  # {name}:");
        for l in body.lines() {
            let _ = writeln!(
                out,
                "  # {}",
                l.trim_start_matches(' ').trim_start_matches("# ")
            );
        }
    } else {
        let _ = writeln!(out, "  {name}:");
        out.push_str(&body);
    }
    for n in notes {
        let _ = writeln!(out, "    # {n}");
    }
    out
}

fn reopen_yaml(r: &Reopen) -> String {
    match r {
        Reopen::Signal { signal, pidfile } => {
            format!("{{ signal: {signal}, pidfile: {} }}", q(pidfile))
        }
        Reopen::Command(argv) => {
            let argv: Vec<String> = argv.iter().map(|a| q(a)).collect();
            format!("{{ command: [{}] }}", argv.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::logrotate::{Item, parse};
    use std::path::PathBuf;

    fn import(text: &str) -> String {
        let file = PathBuf::from("/etc/logrotate.d/x");
        let mut globals = Vec::new();
        let mut found = Vec::new();
        for item in parse(&file, text).unwrap() {
            match item {
                Item::Global(d) => globals.push((file.clone(), d)),
                Item::Stanza(stanza) => found.push(Found {
                    file: file.clone(),
                    stanza,
                    globals: globals.clone(),
                }),
            }
        }
        policy(&found)
    }

    #[test]
    fn site_names_come_from_the_directory_and_never_repeat() {
        assert_eq!(site_name(&["/var/log/nginx/*.log".into()]), "nginx");
        assert_eq!(
            site_name(&["/var/log/syslog".into(), "/var/log/mail.log".into()]),
            "syslog"
        );
        assert_eq!(site_name(&["/var/log/haproxy.log".into()]), "haproxy");
        assert_eq!(site_name(&["/srv/www/*/logs/access.log".into()]), "www");
        let out =
            import("/var/log/apt/term.log { monthly }\n/var/log/apt/history.log { monthly }\n");
        assert!(
            out.contains("\n  apt:\n") && out.contains("\n  apt-2:\n"),
            "{out}"
        );
        let out = import("/l/a/x.log { daily }\n/l/a/x.log { weekly }\n");
        assert!(out.contains("  # a-2:\n"), "{out}");
        assert!(
            out.contains("`/l/a/x.log`: already a log of site a"),
            "{out}"
        );
    }

    #[test]
    fn rotate_count_times_interval_suggests_retention_and_maxage_can_shorten_it() {
        let out = import("/l/a/x.log {\n weekly\n rotate 4\n}\n");
        assert!(out.contains("    rotate: { every: 7d }\n"), "{out}");
        assert!(out.contains("    retention: 28d\n"), "{out}");
        assert!(out.contains("    anonymize: { after: 7d }\n"), "{out}");
        assert!(out.contains("compress: { method: none }"), "{out}");
        let out = import(
            "/l/a/x.log {\n daily\n rotate 30\n maxage 10\n compress\n compressoptions -9\n}\n",
        );
        assert!(out.contains("    retention: 10d\n"), "{out}");
        assert!(
            out.contains("compress: { method: gzip, level: 9 }"),
            "{out}"
        );
        let out = import("/l/a/x.log {\n rotate 3\n hourly\n}\n");
        assert!(
            out.contains("retention: 3h\n") && out.contains("anonymize: { after: 3h }"),
            "{out}"
        );
    }

    #[test]
    fn globals_apply_to_later_stanzas_only_and_a_stanza_overrides_them() {
        let out = import("weekly\nrotate 4\n/l/a/x.log { }\ndaily\n/l/b/y.log {\n rotate 2\n}\n");
        let (a, b) = out.split_at(out.find("  b:").unwrap());
        assert!(
            a.contains("every: 7d") && a.contains("retention: 28d"),
            "{a}"
        );
        assert!(
            b.contains("every: 1d") && b.contains("retention: 2d"),
            "{b}"
        );
    }

    #[test]
    fn size_after_an_interval_rotates_by_size_and_says_so() {
        let out = import("/l/a/x.log {\n daily\n size 100M\n rotate 5\n}\n");
        assert!(
            out.contains("rotate: { every: 1d, max_size: 100MiB }"),
            "{out}"
        );
        assert!(
            out.contains("/etc/logrotate.d/x:3: `size 100M`: logrotate rotated by size only"),
            "{out}"
        );
        assert!(
            out.contains("retention: 14d") && out.contains("CHOOSE"),
            "{out}"
        );
        let out = import("/l/a/x.log {\n size 100M\n weekly\n maxsize 1G\n}\n");
        assert!(
            out.contains("rotate: { every: 7d, max_size: 1GiB }"),
            "{out}"
        );
    }

    #[test]
    fn every_untranslated_directive_and_script_is_a_comment_with_its_line() {
        let out = import(
            "/l/a/*.log {\n daily\n copytruncate\n tabooext + .x\n frobnicate\n olddir old\n prerotate\n  run-parts /x\n endscript\n}\n",
        );
        for needle in [
            "/etc/logrotate.d/x:3: `copytruncate`: logwarden never copies",
            "/etc/logrotate.d/x:4: `tabooext + .x`: nothing to set",
            "/etc/logrotate.d/x:5: `frobnicate`: not translated",
            "/etc/logrotate.d/x:6: `olddir old`: a directory relative",
            "/etc/logrotate.d/x:7: `prerotate`: not translated: logwarden has no hook here",
            "    #     run-parts /x",
        ] {
            assert!(out.contains(needle), "{needle}\n{out}");
        }
    }

    /// Debian's postgresql-common stanza says `su root root`, which the policy refuses.
    #[test]
    fn su_root_is_a_comment_not_a_refused_key() {
        let out =
            import("/l/p/*.log {\n weekly\n su root root\n}\n/l/q/*.log {\n su www-data\n}\n");
        assert!(!out.contains("su: { user: \"root\""), "{out}");
        assert!(out.contains("x:3: `su root root`: nothing to set"), "{out}");
        assert!(out.contains("    su: { user: \"www-data\" }\n"), "{out}");
    }

    #[test]
    fn a_stanza_with_no_usable_path_is_left_out_as_a_comment() {
        let out = import("/var/log/*/x.log {\n daily\n}\n");
        assert!(out.contains("  # x:\n"), "{out}");
        assert!(
            !out.lines()
                .any(|l| l.starts_with("  ") && !l.trim_start().starts_with('#')),
            "{out}"
        );
    }
}
