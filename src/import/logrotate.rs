//! logrotate's configuration language, read into typed stanzas.
//!
//! `parse` is pure: text in, a list of global directives, `include`s and stanzas out, each
//! with its line, so the translator can name `file:line` for everything it cannot carry over.
//! `load` is the one place that reads files: it follows `include` (a file, or a directory
//! read as logrotate reads it) and gives each stanza the global directives in force where it
//! was written, which is how logrotate inherits them. It must never guess at a structure it
//! cannot read: an unbalanced brace or an unterminated script is a syntax error naming the
//! file and line, never a stanza silently dropped or merged with the next one.

use std::path::{Path, PathBuf};

/// One directive as written, with its line and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub line: usize,
    /// The directive as written on its line (a script's keyword only), for comments.
    pub text: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Interval {
    /// The length in hours; months and years as logwarden can express them (30 and 365 days).
    pub fn hours(self) -> u64 {
        match self {
            Interval::Hourly => 1,
            Interval::Daily => 24,
            Interval::Weekly => 7 * 24,
            Interval::Monthly => 30 * 24,
            Interval::Yearly => 365 * 24,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    PreRotate,
    PostRotate,
    FirstAction,
    LastAction,
    PreRemove,
}

impl ScriptKind {
    pub fn name(self) -> &'static str {
        match self {
            ScriptKind::PreRotate => "prerotate",
            ScriptKind::PostRotate => "postrotate",
            ScriptKind::FirstAction => "firstaction",
            ScriptKind::LastAction => "lastaction",
            ScriptKind::PreRemove => "preremove",
        }
    }
}

/// What a directive means. Names logwarden has no use for stay `Other`, for a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Interval(Interval),
    /// `size`: rotate by size only, whatever the interval.
    Size(u64),
    MaxSize(u64),
    MinSize(u64),
    Rotate(i64),
    MaxAge(u64),
    Compress(bool),
    DelayCompress(bool),
    CompressCmd(String),
    CompressOptions(Vec<String>),
    /// `create [MODE [OWNER [GROUP]]]`.
    Create {
        mode: Option<String>,
        owner: Option<String>,
        group: Option<String>,
    },
    NoCreate,
    CopyTruncate,
    Su {
        user: String,
        group: Option<String>,
    },
    MissingOk(bool),
    NotIfEmpty(bool),
    SharedScripts(bool),
    DateExt(bool),
    OldDir(Option<String>),
    Include(String),
    /// A script, its lines as written (continuation backslashes kept).
    Script {
        kind: ScriptKind,
        body: Vec<String>,
    },
    Other,
}

/// Paths (or globs) and their block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    /// The line of the first path.
    pub line: usize,
    pub paths: Vec<String>,
    pub directives: Vec<Directive>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A directive outside any block: a default for the stanzas after it.
    Global(Directive),
    Stanza(Stanza),
}

/// A stanza as `load` found it: where, and the global directives in force there.
#[derive(Debug, Clone)]
pub struct Found {
    pub file: PathBuf,
    pub stanza: Stanza,
    pub globals: Vec<(PathBuf, Directive)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {why}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        why: String,
    },
}

/// Parses one file's text. `path` only names the file in errors.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Item>, ImportError> {
    let err = |line: usize, why: String| ImportError::Syntax {
        path: path.to_path_buf(),
        line,
        why,
    };
    let mut items = Vec::new();
    // The stanza being read: (its paths so far, its directives, the line of `{` once seen).
    let mut open: Option<(Stanza, Option<usize>)> = None;
    let mut script: Option<(Directive, Vec<String>)> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        if let Some((head, body)) = &mut script {
            let t = raw.trim_start();
            if let Some(rest) = t.strip_prefix("endscript") {
                let (mut d, body) = (head.clone(), std::mem::take(body));
                if let Kind::Script { body: b, .. } = &mut d.kind {
                    *b = body;
                }
                script = None;
                let (stanza, _) = open.as_mut().expect("scripts only open inside a block");
                stanza.directives.push(d);
                let rest = rest.trim();
                if rest.is_empty() {
                    continue;
                }
                // `endscript }` closes the block too.
                if rest != "}" {
                    return Err(err(n, format!("unexpected {rest:?} after endscript")));
                }
                let (stanza, _) = open.take().expect("checked above");
                items.push(Item::Stanza(stanza));
                continue;
            }
            body.push(raw.to_string());
            continue;
        }
        let mut rest = raw.trim();
        while !rest.is_empty() && !rest.starts_with('#') {
            match &mut open {
                // Paths, possibly over several lines, until `{`.
                Some((stanza, None)) => {
                    let (word, tail) = next_word(rest);
                    if word == "{" {
                        if stanza.paths.is_empty() {
                            return Err(err(n, "`{` with no log path before it".into()));
                        }
                        open.as_mut().expect("matched").1 = Some(n);
                    } else if word == "}" {
                        return Err(err(n, "`}` where a `{` was expected".into()));
                    } else {
                        stanza.paths.push(unquote(&word));
                    }
                    rest = tail.trim_start();
                }
                Some((stanza, Some(opened))) => {
                    if let Some(tail) = rest.strip_prefix('}') {
                        let (stanza, _) = open.take().expect("matched");
                        items.push(Item::Stanza(stanza));
                        rest = tail.trim_start();
                        continue;
                    }
                    if rest.starts_with('{') {
                        return Err(err(
                            n,
                            format!(
                                "`{{` inside the block opened at line {opened}: a `}}` is missing"
                            ),
                        ));
                    }
                    if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
                        return Err(err(
                            n,
                            format!(
                                "{rest:?} inside the block opened at line {opened}: a `}}` is missing, or this is not a directive"
                            ),
                        ));
                    }
                    // A directive runs to the end of the line, or to a `}` closing the block.
                    let (line_text, tail) = rest.split_at(rest.find('}').unwrap_or(rest.len()));
                    let d = directive(n, line_text.trim());
                    if matches!(d.kind, Kind::Include(_)) {
                        return Err(err(
                            n,
                            "`include` inside a block; logrotate allows it only between blocks"
                                .into(),
                        ));
                    }
                    if let Kind::Script { .. } = d.kind {
                        script = Some((d, Vec::new()));
                        break;
                    }
                    stanza.directives.push(d);
                    rest = tail.trim_start();
                }
                None => {
                    if rest.starts_with('}') {
                        return Err(err(n, "`}` with no block open".into()));
                    }
                    if rest.starts_with('{') {
                        return Err(err(n, "`{` with no log path before it".into()));
                    }
                    if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
                        let d = directive(n, rest);
                        if let Kind::Script { kind, .. } = d.kind {
                            return Err(err(n, format!("`{}` outside a block", kind.name())));
                        }
                        items.push(Item::Global(d));
                        break;
                    }
                    open = Some((
                        Stanza {
                            line: n,
                            paths: Vec::new(),
                            directives: Vec::new(),
                        },
                        None,
                    ));
                }
            }
        }
    }
    if let Some((d, _)) = script {
        return Err(err(d.line, format!("`{}` has no `endscript`", d.text)));
    }
    match open {
        Some((s, None)) => Err(err(
            s.line,
            "log paths with no `{ }` block after them".into(),
        )),
        Some((_, Some(opened))) => Err(err(
            opened,
            "the block opened here is never closed: a `}` is missing".into(),
        )),
        None => Ok(items),
    }
}

/// The first word of `s` (a quoted string is one word; `{` and `}` are words of their own).
fn next_word(s: &str) -> (String, &str) {
    if let Some(q) = s.chars().next().filter(|c| *c == '"' || *c == '\'') {
        if let Some(end) = s[1..].find(q) {
            return (s[..end + 2].to_string(), &s[end + 2..]);
        }
    }
    if s.starts_with('{') || s.starts_with('}') {
        return (s[..1].to_string(), &s[1..]);
    }
    let end = s
        .find(|c: char| c.is_whitespace() || c == '{' || c == '}')
        .unwrap_or(s.len());
    (s[..end].to_string(), &s[end..])
}

fn unquote(w: &str) -> String {
    w.trim_matches(|c| c == '"' || c == '\'').to_string()
}

/// One directive line: `name args...`, or `name=value` as logrotate also accepts.
fn directive(line: usize, text: &str) -> Directive {
    let name_end = text
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(text.len());
    let name = text[..name_end].to_ascii_lowercase();
    let args: Vec<String> = text[name_end..]
        .trim_start_matches(|c: char| c.is_whitespace() || c == '=')
        .split_whitespace()
        .map(unquote)
        .collect();
    let arg = args.first().map(String::as_str);
    let size = || arg.and_then(parse_size);
    let number = || arg.and_then(|a| a.parse::<i64>().ok());
    let kind = match (name.as_str(), args.len()) {
        ("hourly", _) => Kind::Interval(Interval::Hourly),
        ("daily", _) => Kind::Interval(Interval::Daily),
        ("weekly", _) => Kind::Interval(Interval::Weekly),
        ("monthly", _) => Kind::Interval(Interval::Monthly),
        ("yearly", _) => Kind::Interval(Interval::Yearly),
        ("size", 1) => size().map_or(Kind::Other, Kind::Size),
        ("maxsize", 1) => size().map_or(Kind::Other, Kind::MaxSize),
        ("minsize", 1) => size().map_or(Kind::Other, Kind::MinSize),
        ("rotate", 1) => number().map_or(Kind::Other, Kind::Rotate),
        ("maxage", 1) => number()
            .and_then(|n| u64::try_from(n).ok())
            .map_or(Kind::Other, Kind::MaxAge),
        ("compress", 0) => Kind::Compress(true),
        ("nocompress", 0) => Kind::Compress(false),
        ("delaycompress", 0) => Kind::DelayCompress(true),
        ("nodelaycompress", 0) => Kind::DelayCompress(false),
        ("compresscmd", 1) => Kind::CompressCmd(args[0].clone()),
        ("compressoptions", _) => Kind::CompressOptions(args.clone()),
        ("create", 0..=3) => Kind::Create {
            mode: args.first().cloned(),
            owner: args.get(1).cloned(),
            group: args.get(2).cloned(),
        },
        ("nocreate", 0) => Kind::NoCreate,
        ("copytruncate", 0) => Kind::CopyTruncate,
        ("su", 1 | 2) => Kind::Su {
            user: args[0].clone(),
            group: args.get(1).cloned(),
        },
        ("missingok", 0) => Kind::MissingOk(true),
        ("nomissingok", 0) => Kind::MissingOk(false),
        ("notifempty", 0) => Kind::NotIfEmpty(true),
        ("ifempty", 0) => Kind::NotIfEmpty(false),
        ("sharedscripts", 0) => Kind::SharedScripts(true),
        ("nosharedscripts", 0) => Kind::SharedScripts(false),
        ("dateext", 0) => Kind::DateExt(true),
        ("nodateext", 0) => Kind::DateExt(false),
        ("olddir", 1) => Kind::OldDir(Some(args[0].clone())),
        ("noolddir", 0) => Kind::OldDir(None),
        ("include", 1) => Kind::Include(args[0].clone()),
        ("prerotate", _) => script(ScriptKind::PreRotate),
        ("postrotate", _) => script(ScriptKind::PostRotate),
        ("firstaction", _) => script(ScriptKind::FirstAction),
        ("lastaction", _) => script(ScriptKind::LastAction),
        ("preremove", _) => script(ScriptKind::PreRemove),
        _ => Kind::Other,
    };
    let text = match kind {
        Kind::Script { .. } => name,
        _ => text.to_string(),
    };
    Directive { line, text, kind }
}

fn script(kind: ScriptKind) -> Kind {
    Kind::Script {
        kind,
        body: Vec::new(),
    }
}

/// logrotate's sizes: a number (a leading `+` allowed, as `size=+4096k` writes it) and an
/// optional `k`, `M` or `G` (binary multiples, either case).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.strip_prefix('+').unwrap_or(text);
    let (num, mult) = match t.chars().last()? {
        'k' | 'K' => (&t[..t.len() - 1], 1u64 << 10),
        'm' | 'M' => (&t[..t.len() - 1], 1 << 20),
        'g' | 'G' => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// Files logrotate skips when it reads a directory (its built-in `tabooext` list).
const TABOO: &[&str] = &[
    ",v",
    ".cfsaved",
    ".disabled",
    ".dpkg-bak",
    ".dpkg-del",
    ".dpkg-dist",
    ".dpkg-new",
    ".dpkg-old",
    ".dpkg-tmp",
    ".rhn-cfg-tmp-*",
    ".rpmnew",
    ".rpmorig",
    ".rpmsave",
    ".swp",
    ".ucf-dist",
    ".ucf-new",
    ".ucf-old",
    "~",
    ".bak",
    ".old",
    ".orig",
    ".new",
    ".save",
];

/// The files of a directory that logrotate would read, sorted as it reads them.
pub fn dir_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let taboo = TABOO.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) => name.contains(prefix),
            None => name.ends_with(t),
        });
        if !taboo && !name.starts_with('.') && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Reads the given files in order (a directory as logrotate reads it), following `include`,
/// and returns every stanza with the globals in force where it was written.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Found>, ImportError> {
    let mut globals = Vec::new();
    let mut found = Vec::new();
    for p in paths {
        load_one(p, &mut globals, &mut found, 0)?;
    }
    Ok(found)
}

fn load_one(
    path: &Path,
    globals: &mut Vec<(PathBuf, Directive)>,
    found: &mut Vec<Found>,
    depth: usize,
) -> Result<(), ImportError> {
    let read_err = |source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        for f in dir_files(path).map_err(read_err)? {
            load_one(&f, globals, found, depth)?;
        }
        return Ok(());
    }
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    for item in parse(path, &text)? {
        match item {
            Item::Stanza(stanza) => found.push(Found {
                file: path.to_path_buf(),
                stanza,
                globals: globals.clone(),
            }),
            Item::Global(d) => {
                if let Kind::Include(target) = &d.kind {
                    let syntax = |why: String| ImportError::Syntax {
                        path: path.to_path_buf(),
                        line: d.line,
                        why,
                    };
                    if depth >= 8 {
                        return Err(syntax(format!(
                            "include {target}: includes nest deeper than 8 files (a loop?)"
                        )));
                    }
                    let base = path.parent().unwrap_or(Path::new("."));
                    let target = base.join(target);
                    if !target.exists() {
                        return Err(syntax(format!(
                            "include {}: no such file or directory",
                            target.display()
                        )));
                    }
                    load_one(&target, globals, found, depth + 1)?;
                } else {
                    globals.push((path.to_path_buf(), d));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stanzas(text: &str) -> Vec<Stanza> {
        parse(Path::new("t"), text)
            .unwrap()
            .into_iter()
            .filter_map(|i| match i {
                Item::Stanza(s) => Some(s),
                Item::Global(_) => None,
            })
            .collect()
    }

    fn syntax_error(text: &str) -> String {
        parse(Path::new("f"), text).unwrap_err().to_string()
    }

    #[test]
    fn debian_nginx_reads_as_one_stanza_with_two_scripts() {
        let text = include_str!("../../tests/fixtures/logrotate/debian-nginx");
        let s = stanzas(text);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].paths, ["/var/log/nginx/*.log"]);
        let kinds: Vec<&Kind> = s[0].directives.iter().map(|d| &d.kind).collect();
        assert!(kinds.contains(&&Kind::Interval(Interval::Daily)));
        assert!(kinds.contains(&&Kind::Rotate(14)));
        assert!(kinds.contains(&&Kind::Create {
            mode: Some("0640".into()),
            owner: Some("www-data".into()),
            group: Some("adm".into())
        }));
        let post = s[0]
            .directives
            .iter()
            .find_map(|d| match &d.kind {
                Kind::Script {
                    kind: ScriptKind::PostRotate,
                    body,
                } => Some((d.line, body.clone())),
                _ => None,
            })
            .unwrap();
        assert_eq!(post.0, 15);
        assert_eq!(post.1.len(), 1);
        assert!(post.1[0].contains("invoke-rc.d nginx rotate"));
    }

    #[test]
    fn paths_span_lines_and_directives_may_share_the_brace_lines() {
        let s =
            stanzas("# c\n/a/x.log\n\"/a/y z.log\"\n{ daily\n rotate 3 }\n/b/*.log { weekly }\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].line, 2);
        assert_eq!(s[0].paths, ["/a/x.log", "/a/y z.log"]);
        assert_eq!(s[0].directives.len(), 2);
        assert_eq!(s[0].directives[1].kind, Kind::Rotate(3));
        assert_eq!(s[1].directives[0].kind, Kind::Interval(Interval::Weekly));
    }

    #[test]
    fn size_with_equals_and_plus_reads_as_logrotate_reads_it() {
        let s = stanzas("/a/*.log {\n size=+4096k\n maxsize 1G\n minsize 100\n}\n");
        let k: Vec<Kind> = s[0].directives.iter().map(|d| d.kind.clone()).collect();
        assert_eq!(
            k,
            [
                Kind::Size(4096 << 10),
                Kind::MaxSize(1 << 30),
                Kind::MinSize(100)
            ]
        );
        assert_eq!(parse_size("100M"), Some(100 << 20));
        assert_eq!(parse_size("x"), None);
    }

    #[test]
    fn globals_and_includes_are_items_and_unknown_directives_stay_other() {
        let items = parse(
            Path::new("t"),
            "weekly\nrotate 4\ninclude /etc/logrotate.d\ntabooext + .x\n",
        )
        .unwrap();
        assert_eq!(items.len(), 4);
        assert!(
            matches!(&items[2], Item::Global(d) if d.kind == Kind::Include("/etc/logrotate.d".into()))
        );
        assert!(
            matches!(&items[3], Item::Global(d) if d.kind == Kind::Other && d.text == "tabooext + .x")
        );
    }

    #[test]
    fn unbalanced_braces_and_open_scripts_are_syntax_errors_at_their_line() {
        assert_eq!(
            syntax_error("/a/x.log {\n daily\n"),
            "f:1: the block opened here is never closed: a `}` is missing"
        );
        assert_eq!(syntax_error("daily\n}\n"), "f:2: `}` with no block open");
        assert!(syntax_error("/a/x {\n daily\n/b/y {\n}\n").starts_with("f:3: "));
        assert_eq!(
            syntax_error("/a/x {\n postrotate\n  kill -HUP 1\n}\n"),
            "f:2: `postrotate` has no `endscript`"
        );
        assert_eq!(
            syntax_error("/a/x.log\n"),
            "f:1: log paths with no `{ }` block after them"
        );
        assert!(syntax_error("/a/x {\n include /etc/x\n}\n").contains("`include` inside a block"));
    }

    #[test]
    fn endscript_ends_a_script_even_after_a_continuation() {
        let s = stanzas("/a/x {\n prerotate\n  if true; then \\\n  fi \\\n endscript\n daily\n}\n");
        assert_eq!(s[0].directives.len(), 2);
        assert_eq!(s[0].directives[1].kind, Kind::Interval(Interval::Daily));
    }
}
