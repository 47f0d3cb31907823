//! How a site reads its settings over `defaults:`, key by key: one helper for every key,
//! and each key's name tied to the accessor that reads it.

use crate::config::{
    AnonymizeConfig, AnonymizeSettings, CreateConfig, ReopenConfig, RotateConfig, RotateSetting,
    SiteConfig, SuConfig,
};

/// One inheritable setting: the key it is written at and how to read it from a site or
/// from `defaults:`. The two live together, so no caller can pair a key with another
/// key's value.
pub(super) struct Field<T: ?Sized + 'static> {
    /// The key below `sites.<name>.` or `defaults.`, e.g. `rotate.every`.
    path: &'static str,
    get: for<'c> fn(&'c SiteConfig) -> Option<&'c T>,
}

/// The map form of `anonymize:`, whose keys are inherited one by one.
fn anonymize_settings(c: &SiteConfig) -> Option<&AnonymizeSettings> {
    match &c.anonymize {
        Some(AnonymizeConfig::Settings(s)) => Some(s),
        _ => None,
    }
}

pub(super) const ALLOW_SHORT: Field<bool> = Field {
    path: "allow_short",
    get: |c| c.allow_short.as_ref(),
};
pub(super) const MISSING_OK: Field<bool> = Field {
    path: "missing_ok",
    get: |c| c.missing_ok.as_ref(),
};
/// The map form of `rotate:`, whose keys are inherited one by one.
fn rotate_settings(c: &SiteConfig) -> Option<&RotateConfig> {
    match &c.rotate {
        Some(RotateSetting::Settings(s)) => Some(s),
        _ => None,
    }
}

/// `rotate: false`: the server rolls its own files; `true` or a map: logwarden rotates.
pub(super) const ROTATE: Field<bool> = Field {
    path: "rotate",
    get: |c| match &c.rotate {
        None => None,
        Some(RotateSetting::Enabled(on)) => Some(on),
        Some(RotateSetting::Settings(_)) => Some(&true),
    },
};
pub(super) const ROTATE_EVERY: Field<str> = Field {
    path: "rotate.every",
    get: |c| rotate_settings(c)?.every.as_deref(),
};
pub(super) const ROTATE_MAX_SIZE: Field<str> = Field {
    path: "rotate.max_size",
    get: |c| rotate_settings(c)?.max_size.as_deref(),
};
pub(super) const RETENTION: Field<str> = Field {
    path: "retention",
    get: |c| c.retention.as_deref(),
};
/// `anonymize: false` turns truncation off; `true` or a map keeps it on.
pub(super) const ANONYMIZE: Field<bool> = Field {
    path: "anonymize",
    get: |c| match &c.anonymize {
        None => None,
        Some(AnonymizeConfig::Enabled(on)) => Some(on),
        Some(AnonymizeConfig::Settings(_)) => Some(&true),
    },
};
pub(super) const ANONYMIZE_AFTER: Field<str> = Field {
    path: "anonymize.after",
    get: |c| anonymize_settings(c)?.after.as_deref(),
};
pub(super) const IPV4_PREFIX: Field<i64> = Field {
    path: "anonymize.ipv4_prefix",
    get: |c| anonymize_settings(c)?.ipv4_prefix.as_ref(),
};
pub(super) const IPV6_PREFIX: Field<i64> = Field {
    path: "anonymize.ipv6_prefix",
    get: |c| anonymize_settings(c)?.ipv6_prefix.as_ref(),
};
pub(super) const SCOPE: Field<str> = Field {
    path: "anonymize.scope",
    get: |c| anonymize_settings(c)?.scope.as_deref(),
};
pub(super) const COMPRESS_METHOD: Field<str> = Field {
    path: "compress.method",
    get: |c| c.compress.as_ref()?.method.as_deref(),
};
pub(super) const COMPRESS_LEVEL: Field<i64> = Field {
    path: "compress.level",
    get: |c| c.compress.as_ref()?.level.as_ref(),
};
pub(super) const REOPEN: Field<ReopenConfig> = Field {
    path: "reopen",
    get: |c| c.reopen.as_ref(),
};
pub(super) const CREATE: Field<CreateConfig> = Field {
    path: "create",
    get: |c| c.create.as_ref(),
};
pub(super) const ARCHIVE_DIR: Field<str> = Field {
    path: "archive_dir",
    get: |c| c.archive_dir.as_deref(),
};
pub(super) const FORMAT: Field<str> = Field {
    path: "format",
    get: |c| c.format.as_deref(),
};
pub(super) const TIME_FIELD: Field<str> = Field {
    path: "time_field",
    get: |c| c.time_field.as_deref(),
};
pub(super) const CLIENT_FIELD: Field<str> = Field {
    path: "client_field",
    get: |c| c.client_field.as_deref(),
};
pub(super) const RECEIVE_GROUP: Field<str> = Field {
    path: "receive_group",
    get: |c| c.receive_group.as_deref(),
};
pub(super) const RECEIVE_QUEUE: Field<str> = Field {
    path: "receive_queue",
    get: |c| c.receive_queue.as_deref(),
};
pub(super) const SU: Field<SuConfig> = Field {
    path: "su",
    get: |c| c.su.as_ref(),
};

/// A site's settings over the `defaults:` ones: every inheritable key is read through
/// [`Layers::get`], key by key.
pub(super) struct Layers<'a> {
    /// `sites.<name>`.
    pub(super) key: &'a str,
    pub(super) own: &'a SiteConfig,
    pub(super) defaults: &'a SiteConfig,
}

impl<'a> Layers<'a> {
    /// The site's own value, else the inherited one, with the key it was written at.
    pub(super) fn get<T: ?Sized>(&self, field: &Field<T>) -> Option<(String, &'a T)> {
        match ((field.get)(self.own), (field.get)(self.defaults)) {
            (Some(v), _) => Some((format!("{}.{}", self.key, field.path), v)),
            (None, Some(v)) => Some((format!("defaults.{}", field.path), v)),
            (None, None) => None,
        }
    }

    /// The value alone, for settings whose values cannot be wrong.
    pub(super) fn value<T: ?Sized>(&self, field: &Field<T>) -> Option<&'a T> {
        self.get(field).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{policy, refused};
    use crate::policy::Reopen;
    use jiff::SignedDuration;
    use nix::sys::signal::Signal;

    #[test]
    fn sites_inherit_defaults_key_by_key() {
        let p = policy(
            "defaults:\n  anonymize: { after: 2d, ipv4_prefix: 16 }\n  reopen: { signal: USR1, pidfile: /run/nginx.pid }\n\
             sites:\n  a:\n    logs: [/l/a.log]\n    anonymize: { after: 1d }\n  b:\n    logs: [/l/b.log]\n    anonymize: false\n",
        )
        .unwrap();
        let a = p.site("a").unwrap();
        let t = a.truncation.unwrap();
        assert_eq!(t.after, SignedDuration::from_hours(24));
        assert_eq!(t.mask.ipv4_prefix, 16);
        assert_eq!(t.mask.ipv6_prefix, 40);
        assert_eq!(
            a.reopen,
            Reopen::Signal {
                signal: Signal::SIGUSR1,
                pidfile: "/run/nginx.pid".into()
            }
        );
        assert!(p.site("b").unwrap().truncation.is_none());
    }

    /// Every inheritable key is read through one helper, so a bad value is named where it
    /// was written, under `defaults:` or under the site, and each key reads its own value
    /// (an unknown field name once read as `ipv6_prefix`).
    #[test]
    fn every_inherited_key_is_named_where_it_was_written() {
        let bad = "rotate: { every: 0s, max_size: lots }\n\
                   retention: soon\n\
                   anonymize: { after: soon, ipv4_prefix: 33, ipv6_prefix: 129, scope: some }\n\
                   compress: { method: lzma }\n\
                   reopen: { signal: USR1 }\n\
                   create: { mode: x }\n\
                   su: { user: root, group: adm }\n";
        let keys = [
            "rotate.every: must be longer than 0s",
            "rotate.max_size: \"lots\"",
            "retention: \"soon\"",
            "anonymize.after: \"soon\"",
            "anonymize.ipv4_prefix: 33 is out of range",
            "anonymize.ipv6_prefix: 129 is out of range",
            "anonymize.scope: \"some\"",
            "compress.method: \"lzma\"",
            "reopen: a signal needs a pidfile",
            "create.mode: \"x\"",
            "su.user: acting as root",
        ];
        let indent = |n: usize| -> String {
            bad.lines()
                .map(|l| format!("{}{l}\n", " ".repeat(n)))
                .collect()
        };
        let in_defaults = format!(
            "defaults:\n{}sites:\n  a:\n    logs: [/l/x.log]\n",
            indent(2)
        );
        let in_site = format!("sites:\n  a:\n    logs: [/l/x.log]\n{}", indent(4));
        for (text, prefix) in [(in_defaults, "defaults."), (in_site, "sites.a.")] {
            let msg = refused(&text);
            for k in keys {
                assert!(msg.contains(&format!("{prefix}{k}")), "{prefix}{k}\n{msg}");
            }
        }
        let msg =
            refused("defaults:\n  compress: { level: 0 }\nsites:\n  a:\n    logs: [/l/x.log]\n");
        assert!(
            msg.contains("defaults.compress.level: 0 is out of range"),
            "{msg}"
        );
        // A site's own key hides the default's, key by key.
        let p = policy(
            "defaults:\n  anonymize: { ipv4_prefix: 16, ipv6_prefix: 129 }\n  missing_ok: true\n\
             sites:\n  a:\n    logs: [/l/x.log]\n    anonymize: { ipv6_prefix: 64 }\n",
        )
        .unwrap();
        let mask = p.sites[0].truncation.unwrap().mask;
        assert_eq!((mask.ipv4_prefix, mask.ipv6_prefix), (16, 64));
        assert!(p.sites[0].missing_ok);
        let p = policy(
            "defaults:\n  anonymize: { ipv6_prefix: 48 }\nsites:\n  a:\n    logs: [/l/x.log]\n    anonymize: { ipv4_prefix: 8 }\n",
        )
        .unwrap();
        let mask = p.sites[0].truncation.unwrap().mask;
        assert_eq!((mask.ipv4_prefix, mask.ipv6_prefix), (8, 48));
    }
}
