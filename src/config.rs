//! The policy file exactly as the user wrote it.
//!
//! This module mirrors the YAML with serde and nothing more: every value stays a string so
//! that `policy` alone decides what a duration, a size or a user is, and can name the key and
//! the line when it refuses one. Unknown keys are refused here, because a misspelt
//! `retnetion:` silently ignored would keep personal data longer than the user promised.
//! It must never interpret a value.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// The whole file. Sites are kept by name here (duplicates refused) and each remembers its
/// place in the file, where `policy` puts them back.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub compliance: Option<ComplianceConfig>,
    pub defaults: Option<SiteConfig>,
    #[serde(default, deserialize_with = "unique_sites")]
    pub sites: BTreeMap<String, SiteConfig>,
    pub lock_file: Option<String>,
    pub metrics_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceConfig {
    pub max_retention: Option<String>,
    pub max_full_ip_age: Option<String>,
}

/// One site, and also the shape of `defaults:` (where `logs` is refused by `policy`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub logs: Option<Vec<LogEntry>>,
    pub format: Option<String>,
    pub time_field: Option<String>,
    pub client_field: Option<String>,
    pub rotate: Option<RotateSetting>,
    pub retention: Option<String>,
    pub anonymize: Option<AnonymizeConfig>,
    pub compress: Option<CompressConfig>,
    pub reopen: Option<ReopenConfig>,
    pub create: Option<CreateConfig>,
    pub archive_dir: Option<String>,
    pub allow_short: Option<bool>,
    pub missing_ok: Option<bool>,
    pub su: Option<SuConfig>,
    /// The group that may send to the site's `receive:` sockets (mode 0660).
    pub receive_group: Option<String>,
    /// The bound of the in-memory queue between a socket and its file (a size).
    pub receive_queue: Option<String>,
    /// Where the site stands among `sites:` in the file (0 first): the map above is
    /// sorted by name, and the policy puts its sites back in the order the author chose.
    #[serde(skip)]
    pub position: usize,
}

/// A `logs:` entry: a path (pattern), or a map that also says how the log is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEntry {
    Path(String),
    Map(LogEntryConfig),
}

/// `{ path: …, format: …, time_field: …, client_field: …, receive: …, tag: … }`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntryConfig {
    pub path: Option<String>,
    pub format: Option<String>,
    pub time_field: Option<String>,
    pub client_field: Option<String>,
    pub receive: Option<String>,
    pub tag: Option<String>,
}

impl LogEntry {
    /// The path as written, if there is one.
    #[must_use]
    pub fn path(&self) -> Option<&str> {
        match self {
            LogEntry::Path(p) => Some(p),
            LogEntry::Map(m) => m.path.as_deref(),
        }
    }
}

impl<'de> Deserialize<'de> for LogEntry {
    // By hand rather than `untagged`, so a misspelt key in the map form is named in the
    // error instead of "data did not match any variant".
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = LogEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a log path, or a map with `path:` and `format:`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LogEntry, E> {
                Ok(LogEntry::Path(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LogEntry, A::Error> {
                LogEntryConfig::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(LogEntry::Map)
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// `rotate: false` (the server rolls its own files), `rotate: true` or a map of settings.
#[derive(Debug, Clone)]
pub enum RotateSetting {
    Enabled(bool),
    Settings(RotateConfig),
}

impl<'de> Deserialize<'de> for RotateSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RotateVisitor;
        impl<'de> Visitor<'de> for RotateVisitor {
            type Value = RotateSetting;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("false, true, or a map with every, max_size")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(RotateSetting::Enabled(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RotateConfig::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RotateSetting::Settings)
            }
        }
        deserializer.deserialize_any(RotateVisitor)
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateConfig {
    pub every: Option<String>,
    pub max_size: Option<String>,
}

/// `anonymize: false`, `anonymize: true` or a map of settings.
#[derive(Debug, Clone)]
pub enum AnonymizeConfig {
    Enabled(bool),
    Settings(AnonymizeSettings),
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymizeSettings {
    pub after: Option<String>,
    pub ipv4_prefix: Option<i64>,
    pub ipv6_prefix: Option<i64>,
    pub scope: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressConfig {
    pub method: Option<String>,
    pub level: Option<i64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenConfig {
    pub signal: Option<String>,
    pub pidfile: Option<String>,
    pub command: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateConfig {
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// `su: { user: www-data, group: adm }`: who the site's file work runs as.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuConfig {
    pub user: Option<String>,
    pub group: Option<String>,
}

/// The marker of a duplicate site error, followed by the name; `parse` rewrites it with the
/// line of each definition, which serde_yaml does not know (it points at the map).
const DUPLICATE_SITE: &str = "\u{0}duplicate site:";

/// serde's map impl keeps the last of two equal keys, so a second `main:` would silently
/// replace the first site and drop its logs from every promise; refuse it instead. The
/// error is raised while the parser stands on the duplicate, so serde_yaml locates it there.
fn unique_sites<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, SiteConfig>, D::Error> {
    struct SitesVisitor;
    impl<'de> Visitor<'de> for SitesVisitor {
        type Value = BTreeMap<String, SiteConfig>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of site names to sites")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut sites = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                if sites.contains_key(&name) {
                    return Err(de::Error::custom(format_args!("{DUPLICATE_SITE}{name}")));
                }
                let mut site: SiteConfig = map.next_value()?;
                site.position = sites.len();
                sites.insert(name, site);
            }
            Ok(sites)
        }
    }
    deserializer.deserialize_map(SitesVisitor)
}

impl<'de> Deserialize<'de> for AnonymizeConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnonymizeVisitor;
        impl<'de> Visitor<'de> for AnonymizeVisitor {
            type Value = AnonymizeConfig;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("false, true, or a map with after, ipv4_prefix, ipv6_prefix, scope")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(AnonymizeConfig::Enabled(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                // Delegating keeps serde's own unknown-key messages and locations.
                AnonymizeSettings::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(AnonymizeConfig::Settings)
            }
        }
        deserializer.deserialize_any(AnonymizeVisitor)
    }
}

/// A config file read from disk, kept with its text so later errors can point at lines.
#[derive(Debug)]
pub struct LoadedConfig {
    pub path: PathBuf,
    pub text: String,
    pub file: ConfigFile,
}

/// A problem with the policy file, already formatted as `file:line:col: key: message`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl LoadedConfig {
    pub fn read(path: &Path) -> Result<LoadedConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!(
                "{}: cannot read the policy file: {e}",
                path.display()
            ))
        })?;
        Self::parse(path, text)
    }

    pub fn parse(path: &Path, text: String) -> Result<LoadedConfig, ConfigError> {
        let file: ConfigFile = if text.trim().is_empty() {
            return Err(ConfigError(format!(
                "{}: the policy file is empty; it needs at least `sites:` with one site",
                path.display()
            )));
        } else {
            serde_yaml::from_str(&text).map_err(|e| {
                if let Some(name) = e.to_string().split(DUPLICATE_SITE).nth(1) {
                    let name = name.rfind(" at line ").map_or(name, |i| &name[..i]);
                    return duplicate_site(path, &text, name);
                }
                let place = match e.location() {
                    Some(l) => format!("{}:{}:{}", path.display(), l.line(), l.column()),
                    None => path.display().to_string(),
                };
                // serde_yaml appends " at line N column M"; the prefix already says it.
                let msg = e.to_string();
                let msg = match msg.rfind(" at line ") {
                    Some(i) => msg[..i].to_string(),
                    None => msg,
                };
                ConfigError(format!("{place}: {msg}"))
            })?
        };
        Ok(LoadedConfig {
            path: path.to_path_buf(),
            text,
            file,
        })
    }

    /// `file:line:col` of the value at a dotted key path, or of the deepest key found.
    pub fn place(&self, key_path: &str) -> String {
        match locate(&self.text, key_path) {
            Some((line, col)) => format!("{}:{line}:{col}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
}

fn duplicate_site(path: &Path, text: &str, name: &str) -> ConfigError {
    let key = format!("sites.{name}");
    let places = occurrences(text, &key);
    let at = |i: usize| {
        places.get(i).map_or(path.display().to_string(), |(l, c)| {
            format!("{}:{l}:{c}", path.display())
        })
    };
    let first = places
        .first()
        .map_or(String::new(), |(l, _)| format!(" (first at line {l})"));
    ConfigError(format!(
        "{}: {key}: site name {name:?} is defined twice{first}; YAML would keep only the last block and silently drop the other's logs, so rename or merge one",
        at(1)
    ))
}

/// Every `line:col` where a block-mapping key path is written, in order; `locate` stops at
/// the first, which cannot show a duplicate.
fn occurrences(text: &str, key_path: &str) -> Vec<(usize, usize)> {
    let want: Vec<&str> = key_path.split('.').collect();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut found = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let content = strip_comment(raw);
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with("---") || trimmed.starts_with('-') {
            continue;
        }
        let indent = content.len() - trimmed.len();
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let Some(colon) = key_colon(trimmed) else {
            continue;
        };
        let key = trimmed[..colon]
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        stack.push((indent, key.to_string()));
        if stack
            .iter()
            .map(|(_, k)| k.as_str())
            .eq(want.iter().copied())
        {
            found.push((n + 1, indent + 1));
        }
    }
    found
}

/// Finds where a dotted key path (`sites.appman.retention`, `defaults.rotate.every`) is
/// written. Block mappings are followed by indentation, a last key inside a flow mapping
/// (`anonymize: { after: 1d }`) by searching that line. The result points at the value when
/// there is one on the same line. Sequence indices (`logs.1`) point at the item.
fn locate(text: &str, key_path: &str) -> Option<(usize, usize)> {
    let want: Vec<&str> = key_path.split('.').collect();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut best: Option<(usize, usize)> = None;
    let mut seq_counter: Option<(usize, usize)> = None; // (indent, next index)
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let content = strip_comment(raw);
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with("---") {
            continue;
        }
        let indent = content.len() - trimmed.len();
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        if let Some(item) = trimmed
            .strip_prefix("- ")
            .or(trimmed.strip_prefix('-').filter(|r| r.is_empty()))
        {
            let index = match seq_counter {
                Some((i, next)) if i == indent => next,
                _ => 0,
            };
            seq_counter = Some((indent, index + 1));
            let mut keys: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
            let idx = index.to_string();
            keys.push(&idx);
            if keys == want {
                return Some((line_no, indent + 3));
            }
            let _ = item;
            continue;
        }
        let Some(colon) = key_colon(trimmed) else {
            continue;
        };
        let key = trimmed[..colon]
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        stack.push((indent, key.to_string()));
        let keys: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
        let rest = &trimmed[colon + 1..];
        let value_col = indent + colon + 2 + (rest.len() - rest.trim_start().len());
        if keys == want {
            return Some(if rest.trim().is_empty() {
                (line_no, indent + 1)
            } else {
                (line_no, value_col)
            });
        }
        if want.starts_with(&keys) {
            best = Some((line_no, indent + 1));
            // Remaining keys inside a flow mapping or flow sequence on this line.
            let remaining = &want[keys.len()..];
            if let Some(col) = find_in_flow(rest, remaining) {
                return Some((line_no, indent + colon + 2 + col));
            }
        }
    }
    best
}

fn find_in_flow(rest: &str, remaining: &[&str]) -> Option<usize> {
    let mut from = 0;
    for key in remaining {
        if let Ok(index) = key.parse::<usize>() {
            // nth item of a flow sequence
            let open = rest[from..].find('[')? + from;
            let mut pos = open + 1;
            for _ in 0..index {
                pos = rest[pos..].find(',')? + pos + 1;
            }
            from = pos + (rest[pos..].len() - rest[pos..].trim_start().len());
            continue;
        }
        let needle = format!("{key}:");
        let mut search = from;
        loop {
            let at = rest[search..].find(&needle)? + search;
            let before = rest[..at].chars().last();
            if matches!(before, None | Some(' ' | '{' | ',')) {
                from = at + needle.len();
                from += rest[from..].len() - rest[from..].trim_start().len();
                break;
            }
            search = at + 1;
        }
    }
    Some(from)
}

fn key_colon(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut quote: Option<u8> = None;
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') => return Some(i),
            None if b == b'{' || b == b'[' => return None,
            None => {}
        }
    }
    None
}

fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut quote: Option<u8> = None;
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'#' && (i == 0 || bytes[i - 1] == b' ') => return &line[..i],
            None => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "\
# comment
defaults:
  retention: 14d   # two weeks
  anonymize: { after: 7d, ipv4_prefix: 24 }
sites:
  main:
    logs: [/var/log/a.log, /var/log/b.log]
    retention: 6m
  appman:
    logs:
      - /var/log/c.log
      - \"/var/log/*.log\"
";

    #[test]
    fn locate_points_at_values_in_block_and_flow_mappings() {
        assert_eq!(locate(EXAMPLE, "sites.main.retention"), Some((8, 16)));
        assert_eq!(locate(EXAMPLE, "defaults.retention"), Some((3, 14)));
        assert_eq!(
            locate(EXAMPLE, "defaults.anonymize.ipv4_prefix"),
            Some((4, 40))
        );
        assert_eq!(locate(EXAMPLE, "sites.appman.logs.1"), Some((12, 9)));
        assert_eq!(locate(EXAMPLE, "sites.main.logs.1"), Some((7, 28)));
        assert_eq!(locate(EXAMPLE, "sites.appman"), Some((9, 3)));
    }

    #[test]
    fn unknown_key_is_refused_with_its_line() {
        let err = LoadedConfig::parse(
            Path::new("c.yaml"),
            "sites:\n  main:\n    logs: [/a]\n    retnetion: 3d\n".into(),
        )
        .unwrap_err();
        assert!(err.0.starts_with("c.yaml:4:"), "{err}");
        assert!(err.0.contains("retnetion"), "{err}");
    }

    #[test]
    fn duplicate_site_names_are_refused_with_the_line_of_the_second() {
        let err = LoadedConfig::parse(
            Path::new("c.yaml"),
            "sites:\n  main:\n    logs: [/a]\n  other:\n    logs: [/b]\n  main:\n    logs: [/c]\n"
                .into(),
        )
        .unwrap_err();
        assert!(err.0.starts_with("c.yaml:6:3: sites.main:"), "{err}");
        assert!(
            err.0
                .contains("\"main\" is defined twice (first at line 2)"),
            "{err}"
        );
        let ok = LoadedConfig::parse(
            Path::new("c.yaml"),
            "sites:\n  main: { logs: [/a] }\n  other: { logs: [/b] }\n".into(),
        )
        .unwrap();
        assert_eq!(ok.file.sites.len(), 2);
    }

    #[test]
    fn anonymize_accepts_false_and_a_map() {
        let c = LoadedConfig::parse(
            Path::new("c"),
            "sites:\n  a: { logs: [/x], anonymize: false }\n  b: { logs: [/y], anonymize: { after: 0s } }\n"
                .into(),
        )
        .unwrap();
        assert!(matches!(
            c.file.sites["a"].anonymize,
            Some(AnonymizeConfig::Enabled(false))
        ));
        assert!(matches!(
            c.file.sites["b"].anonymize,
            Some(AnonymizeConfig::Settings(_))
        ));
        let err = LoadedConfig::parse(
            Path::new("c"),
            "sites:\n  a: { logs: [/x], anonymize: { aftr: 1d } }\n".into(),
        )
        .unwrap_err();
        assert!(err.0.contains("aftr"), "{err}");
    }
}
