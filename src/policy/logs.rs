//! The `logs:` key of a site: each entry a path pattern (plain, or a map that also says how
//! the log is written), validated into a [`LogPattern`] that carries its format.
//!
//! It must never accept a pattern that could reach outside the directory it names (`..`,
//! wildcards in directories, a bare `*` that would take the archives as logs), nor a format
//! key that does not fit the format (`time_field:` on CLF), since either would leave records
//! undated or files unread without a word.

use std::path::{Component, Path};

use super::inherit::{CLIENT_FIELD, FORMAT, Layers, TIME_FIELD};
use super::validate::{Validator, resolve};
use super::{LogPattern, NamePattern, normal_path};
use crate::config::{LogEntry, LogEntryConfig};
use crate::timestamp::LogFormat;

impl Validator<'_> {
    /// The site's `logs:` list (`key` is `sites.<name>`), each entry with its format.
    pub(super) fn logs(
        &mut self,
        key: &str,
        list: Option<&[LogEntry]>,
        layers: &Layers,
        base: &Path,
    ) -> Vec<LogPattern> {
        let mut logs = Vec::new();
        match list {
            None => self.error(key, "a site must set `logs:` (the files it covers)"),
            Some([]) => {
                self.error(&format!("{key}.logs"), "the list is empty");
            }
            Some(list) => {
                let site_format = self.log_format(
                    layers.get(&FORMAT),
                    layers.get(&TIME_FIELD),
                    layers.get(&CLIENT_FIELD),
                );
                for (i, entry) in list.iter().enumerate() {
                    let entry_key = format!("{key}.logs.{i}");
                    let format = match entry {
                        LogEntry::Path(_) => site_format.clone(),
                        LogEntry::Map(m)
                            if m.format.is_none()
                                && m.time_field.is_none()
                                && m.client_field.is_none() =>
                        {
                            self.log_entry_format(&entry_key, m, layers);
                            site_format.clone()
                        }
                        LogEntry::Map(m) => self.log_entry_format(&entry_key, m, layers),
                    };
                    let Some(text) = entry.path() else {
                        self.error(&entry_key, "a log entry must name its file: `path: …`");
                        continue;
                    };
                    if let Some(mut p) = self.log_pattern(&entry_key, text, base) {
                        p.format = format.unwrap_or_default();
                        if let LogEntry::Map(m) = entry {
                            self.receive_entry(&entry_key, m, &mut p);
                        }
                        logs.push(p);
                    }
                }
            }
        }
        logs
    }

    /// The format of a log from `format:`, `time_field:` and `client_field:` as they apply
    /// to it, each with the key it was written at.
    fn log_format(
        &mut self,
        format: Option<(String, &str)>,
        time_field: Option<(String, &str)>,
        client_field: Option<(String, &str)>,
    ) -> Option<LogFormat> {
        if let Some((k, c)) = &client_field {
            if crate::anonymize::Clients::json_field(c).is_none() {
                self.error(
                    k,
                    format!("{c:?} is not a JSON field name (no quotes, backslashes or control characters)"),
                );
                return None;
            }
        }
        let time_field = match time_field {
            Some((k, t)) if t.is_empty() || t.split('.').any(str::is_empty) => {
                self.error(
                    &k,
                    format!("{t:?} is not a field name or a dotted path (a.b.c)"),
                );
                return None;
            }
            other => other,
        };
        let format = match format.map(|(k, f)| (k, f.trim())) {
            None => LogFormat::Auto,
            Some((k, name)) => match LogFormat::named(name) {
                Some(LogFormat::Json { .. }) => LogFormat::Json {
                    time_field: time_field.as_ref().map(|(_, t)| (*t).to_string()),
                    client_field: client_field.as_ref().map(|(_, c)| (*c).to_string()),
                },
                Some(f) => f,
                None => {
                    self.error(
                        &k,
                        format!("{name:?} is not a log format; use {}", LogFormat::names()),
                    );
                    return None;
                }
            },
        };
        if !matches!(format, LogFormat::Json { .. }) {
            let set = [(&time_field, "time_field"), (&client_field, "client_field")]
                .into_iter()
                .find_map(|(f, name)| Some((f.as_ref()?.0.clone(), name)));
            if let Some((k, name)) = set {
                self.error(
                    &k,
                    format!(
                        "{name} applies to `format: json` only (this log is `format: {}`)",
                        format.name()
                    ),
                );
                return None;
            }
        }
        Some(format)
    }

    /// The format of a `logs:` entry written as a map: its own keys over the site's.
    fn log_entry_format(
        &mut self,
        key: &str,
        entry: &LogEntryConfig,
        layers: &Layers,
    ) -> Option<LogFormat> {
        fn own<'a>(key: &str, name: &str, v: Option<&'a String>) -> Option<(String, &'a str)> {
            v.map(|t| (format!("{key}.{name}"), t.as_str()))
        }
        if entry.format.is_none() && entry.time_field.is_none() && entry.client_field.is_none() {
            // The format is the site's.
            return None;
        }
        let format = own(key, "format", entry.format.as_ref()).or_else(|| layers.get(&FORMAT));
        // A site's JSON fields go with the site's format, not with an entry that names a
        // format of its own.
        let site = |field| {
            if entry.format.is_some() {
                None
            } else {
                layers.get(field)
            }
        };
        let time_field =
            own(key, "time_field", entry.time_field.as_ref()).or_else(|| site(&TIME_FIELD));
        let client_field =
            own(key, "client_field", entry.client_field.as_ref()).or_else(|| site(&CLIENT_FIELD));
        self.log_format(format, time_field, client_field)
    }

    fn log_pattern(&mut self, key: &str, text: &str, base: &Path) -> Option<LogPattern> {
        let path = resolve(base, text);
        if path.components().any(|c| matches!(c, Component::ParentDir)) {
            self.error(key, format!("{text:?}: '..' is not allowed in a log path"));
            return None;
        }
        let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
        else {
            self.error(key, format!("{text:?} does not name a file"));
            return None;
        };
        if dir.to_string_lossy().contains(['*', '?']) {
            self.error(
                key,
                format!(
                    "{text:?}: wildcards are allowed in the file name only, not in directories"
                ),
            );
            return None;
        }
        if name == "*" {
            self.error(
                key,
                format!("{text:?} would match archives too; name the logs, e.g. *.log"),
            );
            return None;
        }
        Some(LogPattern {
            dir: normal_path(dir),
            name: NamePattern::new(name),
            key: key.to_string(),
            format: LogFormat::Auto,
            receive: None,
            tag: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{policy, refused};
    use super::*;

    #[test]
    fn each_log_gets_the_format_of_its_entry_else_of_its_site_else_of_the_defaults() {
        let p = policy(
            "defaults:\n  format: clf\nsites:\n  a:\n    logs:\n      - /l/access.log\n      - { path: /l/error.log, format: nginx-error }\n      - { path: /l/caddy.log, format: json, time_field: ts }\n      - { path: /l/x.log }\n  b:\n    format: json\n    time_field: request.when\n    logs: [/m/access.log, { path: /m/h.log, format: haproxy }]\n  c:\n    logs: [/n/x.log]\n    format: auto\n",
        )
        .unwrap();
        let formats = |site: &str| -> Vec<LogFormat> {
            p.sites
                .iter()
                .find(|s| s.name == site)
                .unwrap()
                .logs
                .iter()
                .map(|l| l.format.clone())
                .collect()
        };
        let json = |t: &str| LogFormat::Json {
            time_field: Some(t.to_string()),
            client_field: None,
        };
        assert_eq!(
            formats("a"),
            [
                LogFormat::Clf,
                LogFormat::NginxError,
                json("ts"),
                LogFormat::Clf
            ]
        );
        assert_eq!(formats("b"), [json("request.when"), LogFormat::Haproxy]);
        assert_eq!(formats("c"), [LogFormat::Auto]);
        let p = policy("sites:\n  a:\n    logs: [/l/x.log]\n").unwrap();
        assert_eq!(p.sites[0].logs[0].format, LogFormat::Auto);
    }

    #[test]
    fn a_wrong_format_key_is_refused_with_its_place() {
        for (text, want) in [
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    format: caddy\n",
                "sites.a.format: \"caddy\" is not a log format; use auto, clf, json",
            ),
            (
                "sites:\n  a:\n    logs: [{ path: /l/x.log, format: jsn }]\n",
                "sites.a.logs.0.format: \"jsn\" is not a log format",
            ),
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    time_field: ts\n",
                "sites.a.time_field: time_field applies to `format: json` only (this log is `format: auto`)",
            ),
            (
                "sites:\n  a:\n    logs: [{ path: /l/x.log, format: json, time_field: a..b }]\n",
                "sites.a.logs.0.time_field: \"a..b\" is not a field name",
            ),
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    client_field: who\n",
                "sites.a.client_field: client_field applies to `format: json` only",
            ),
            (
                "sites:\n  a:\n    logs: [{ path: /l/x.log, format: json, client_field: \"a\\\"b\" }]\n",
                "sites.a.logs.0.client_field: \"a\\\"b\" is not a JSON field name",
            ),
            (
                "sites:\n  a:\n    logs: [{ format: clf }]\n",
                "sites.a.logs.0: a log entry must name its file",
            ),
        ] {
            let msg = refused(text);
            assert!(msg.contains(want), "{text}\n{msg}");
        }
        let msg = refused("sites:\n  a:\n    logs: [{ path: /l/x.log, fromat: clf }]\n");
        assert!(msg.contains("unknown field `fromat`"), "{msg}");
    }
}
