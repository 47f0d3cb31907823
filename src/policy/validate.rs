//! The validator: turns the file as written into a [`Policy`], collecting every problem
//! with its place, key and value.
//!
//! It must never accept a policy that is weaker than written, and never stop at the first
//! problem. How a site reads a key over `defaults:` is `inherit`'s; the checks against the
//! directories on this host are `files`'.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::SignedDuration;
use nix::sys::signal::Signal;

use super::inherit::*;
use super::*;
use crate::anonymize::{Mask, Scope};
use crate::config::{LoadedConfig, SiteConfig};

const HOUR: SignedDuration = SignedDuration::from_hours(1);

impl Policy {
    pub(super) fn build(
        loaded: &LoadedConfig,
        refuse_ceilings: bool,
        sample_formats: bool,
    ) -> Result<Policy, PolicyError> {
        let mut v = Validator {
            loaded,
            errors: Vec::new(),
            warnings: Vec::new(),
            ceilings: Vec::new(),
        };
        let base = loaded
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let file = &loaded.file;

        let compliance = match &file.compliance {
            Some(c) => Compliance {
                max_retention: c
                    .max_retention
                    .as_deref()
                    .and_then(|s| v.duration("compliance.max_retention", s, false)),
                max_full_ip_age: c
                    .max_full_ip_age
                    .as_deref()
                    .and_then(|s| v.duration("compliance.max_full_ip_age", s, false)),
            },
            None => Compliance::default(),
        };

        let defaults = file.defaults.clone().unwrap_or_default();
        if defaults.logs.is_some() {
            v.error("defaults.logs", "logs belong to a site, not to defaults");
        }
        if file.sites.is_empty() {
            v.error(
                "sites",
                "no sites are defined; add at least one under `sites:`",
            );
        }
        let mut sites = Vec::new();
        for (name, site) in &file.sites {
            if let Some(site) = v.site(name, site, &defaults, &base, &compliance) {
                sites.push(site);
            }
        }
        v.overlapping_logs(&sites);
        v.shared_inputs(&sites);
        v.unmatched_logs(&sites);
        if sample_formats {
            v.undatable_logs(&sites);
        }

        let (lock_file, losses_file) = match &file.lock_file {
            Some(p) => {
                let lock = resolve(&base, p);
                let losses = crate::receive::ledger::beside(&lock);
                (lock, losses)
            }
            None => (default_lock_file(), default_losses_file()),
        };
        // Ceiling messages are in `errors` too, in order; only an audit lets them pass.
        let only_ceilings = !refuse_ceilings && v.errors.len() == v.ceilings.len();
        if v.errors.is_empty() || only_ceilings {
            // Every report (plans, check, status, describe, metrics) lists sites as the
            // file does: the order an admin wrote, and a stable one.
            let order = file_order(file);
            let mut sites = sites;
            sites.sort_by_key(|s| order.iter().position(|n| *n == s.name));
            Ok(Policy {
                source: loaded.path.clone(),
                lock_file,
                losses_file,
                metrics_file: file.metrics_file.as_deref().map(|p| resolve(&base, p)),
                compliance,
                sites,
                warnings: v.warnings,
                written_here: Vec::new(),
                ceilings: v.ceilings,
            })
        } else {
            Err(PolicyError(v.errors))
        }
    }
}

/// The site names as the file lists them.
fn file_order(file: &crate::config::ConfigFile) -> Vec<String> {
    let mut names: Vec<(usize, &String)> =
        file.sites.iter().map(|(n, s)| (s.position, n)).collect();
    names.sort();
    names.into_iter().map(|(_, n)| n.clone()).collect()
}

pub(super) fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

pub(super) struct Validator<'a> {
    loaded: &'a LoadedConfig,
    errors: Vec<String>,
    warnings: Vec<String>,
    ceilings: Vec<CeilingViolation>,
}

impl Validator<'_> {
    pub(super) fn error(&mut self, key: &str, msg: impl std::fmt::Display) {
        self.errors
            .push(format!("{}: {key}: {msg}", self.loaded.place(key)));
    }

    pub(super) fn warn(&mut self, key: &str, msg: impl std::fmt::Display) {
        self.warnings
            .push(format!("{}: {key}: {msg}", self.loaded.place(key)));
    }

    fn duration(&mut self, key: &str, text: &str, allow_short: bool) -> Option<SignedDuration> {
        let d = match parse_duration(text) {
            Ok(d) => d,
            Err(e) => {
                self.error(key, e);
                return None;
            }
        };
        // Deadlines are instants computed from `now`; a span past the calendar's range
        // (jiff's years -9999..=9999) has no instant, and no log needs more than this.
        if d > MAX_DURATION {
            self.error(
                key,
                format!("{text:?} is longer than 1000 years; nothing needs to be kept that long"),
            );
            return None;
        }
        if !allow_short && !d.is_zero() && d < HOUR {
            let hint = match text
                .trim()
                .strip_suffix('m')
                .and_then(|n| n.trim().parse::<u64>().ok())
            {
                Some(n) => format!("write {n}w or {}d, or set allow_short: true", n * 30),
                None => "write it in hours or days, or set allow_short: true".to_string(),
            };
            self.error(key, format!("{text:?} is {}; {hint}", duration_in_words(d)));
            return None;
        }
        Some(d)
    }

    pub(super) fn size(&mut self, key: &str, text: &str) -> Option<u64> {
        match parse_size(text) {
            Some(0) | None => {
                self.error(
                    key,
                    format!("{text:?} is not a size; write e.g. 100MiB, 500k or 1G"),
                );
                None
            }
            Some(n) => Some(n),
        }
    }

    pub(super) fn account(&mut self, key: &str, name: &str, is_group: bool) -> Account {
        let id = if is_group {
            nix::unistd::Group::from_name(name)
                .ok()
                .flatten()
                .map(|g| g.gid.as_raw())
        } else {
            nix::unistd::User::from_name(name)
                .ok()
                .flatten()
                .map(|u| u.uid.as_raw())
        };
        if id.is_none() {
            let what = if is_group { "group" } else { "user" };
            self.warn(
                key,
                format!("{what} {name:?} does not exist on this host; creating this site's logs will fail until it does"),
            );
        }
        Account {
            name: name.to_string(),
            id,
        }
    }

    /// `su:` needs both names, and acting as root would protect nothing. Files the site
    /// creates belong to the `su:` user, who cannot give them away.
    fn su(&mut self, site: &Layers, create: Option<&CreateSpec>) -> Option<Su> {
        let key = site.key;
        let (sk, c) = site.get(&SU)?;
        let (Some(user), Some(group)) = (&c.user, &c.group) else {
            self.error(
                &sk,
                "su: needs both user: and group: (e.g. { user: www-data, group: adm })",
            );
            return None;
        };
        if user == "root" {
            self.error(
                &format!("{sk}.user"),
                "acting as root protects nothing; name the user that owns the log directory, or drop su: and make the directory root's",
            );
            return None;
        }
        let user = self.account(&format!("{sk}.user"), user, false);
        let group = self.account(&format!("{sk}.group"), group, true);
        if let Some(owner) = create.and_then(|c| c.owner.as_ref()) {
            if owner.name != user.name {
                self.error(
                    &format!("{key}.create.owner"),
                    format!(
                        "{:?} differs from su.user {:?}; a file created as {:?} cannot be given to another user",
                        owner.name, user.name, user.name
                    ),
                );
            }
        }
        Some(Su { user, group })
    }

    fn site(
        &mut self,
        name: &str,
        own: &SiteConfig,
        defaults: &SiteConfig,
        base: &Path,
        compliance: &Compliance,
    ) -> Option<Site> {
        let errors_before = self.errors.len();
        let key = format!("sites.{name}");
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            self.error(
                &key,
                format!("site name {name:?} may use only letters, digits, '-', '_' and '.'"),
            );
        }
        let layers = Layers {
            key: &key,
            own,
            defaults,
        };
        let allow_short = layers.value(&ALLOW_SHORT).copied().unwrap_or(false);

        let logs = self.logs(&key, own.logs.as_deref(), &layers, base);

        let every = self.positive_duration(
            &layers,
            &ROTATE_EVERY,
            allow_short,
            SignedDuration::from_hours(24),
        );
        let max_size = layers
            .get(&ROTATE_MAX_SIZE)
            .and_then(|(k, s)| self.size(&k, s));
        let retention = self.positive_duration(
            &layers,
            &RETENTION,
            allow_short,
            SignedDuration::from_hours(14 * 24),
        );

        let truncation = self.truncation(&layers, allow_short);
        let by_server = !layers.value(&ROTATE).copied().unwrap_or(true);
        if by_server && truncation.is_some_and(|t| t.after.is_zero()) {
            let at = layers
                .get(&ANONYMIZE_AFTER)
                .map_or_else(|| format!("{key}.anonymize.after"), |(k, _)| k);
            self.error(
                &at,
                "after: 0s means at rotation, and with rotate: false logwarden never rotates: \
                 set the window addresses may live in the server's own files (e.g. after: 1d)",
            );
        }
        if let (true, Some(t)) = (by_server, &truncation) {
            if !t.after.is_zero() {
                let at = layers
                    .get(&ROTATE)
                    .map_or_else(|| format!("{key}.rotate"), |(k, _)| k);
                self.warn(
                    &at,
                    format!(
                        "rotate: false: the server decides when its live file rolls, and logwarden \
                         cannot mask or expire what is still in it. If the server rolls later than \
                         anonymize.after ({}) after a file's first record (Caddy rolls by size only, \
                         so a quiet site does), every pass reports the live file past the window \
                         and exits 1 until the server rolls it",
                        crate::policy::duration_in_words(t.after)
                    ),
                );
            }
        }
        let compression = self.compression(&layers);
        let reopen = self.reopen(&layers, base);

        let create = match layers.get(&CREATE) {
            None => None,
            Some((ck, c)) => {
                let mode = c.mode.as_deref().and_then(|m| {
                    match u32::from_str_radix(m.trim_start_matches("0o"), 8) {
                        Ok(v)
                            if v <= 0o7777 && m.chars().all(|c| c.is_ascii_digit() || c == 'o') =>
                        {
                            Some(v)
                        }
                        _ => {
                            self.error(
                                &format!("{ck}.mode"),
                                format!("{m:?} is not an octal file mode; write e.g. \"0640\""),
                            );
                            None
                        }
                    }
                });
                if mode.is_some_and(|m| m & 0o002 != 0) {
                    self.error(
                        &format!("{ck}.mode"),
                        "a log of client addresses must not be writable by everyone",
                    );
                }
                let owner = c
                    .owner
                    .as_deref()
                    .map(|o| self.account(&format!("{ck}.owner"), o, false));
                let group = c
                    .group
                    .as_deref()
                    .map(|g| self.account(&format!("{ck}.group"), g, true));
                Some(CreateSpec { mode, owner, group })
            }
        };
        let archive_dir = layers.get(&ARCHIVE_DIR).map(|(a_key, d)| {
            let a = normal_path(&resolve(base, d));
            self.archive_dir_reachable(&a_key, &a, &logs);
            a
        });

        let su = self.su(&layers, create.as_ref());
        let receiving = self.receiving(&layers);
        if self.errors.len() > errors_before {
            return None;
        }
        let site = Site {
            name: name.to_string(),
            logs,
            rotation: Rotation {
                every: every?,
                max_size,
                by_server,
            },
            retention: retention?,
            truncation,
            compression,
            reopen,
            create,
            archive_dir,
            missing_ok: layers.value(&MISSING_OK).copied().unwrap_or(false),
            su,
            receiving,
        };
        self.ceilings(&key, &site, compliance);
        Some(site)
    }

    /// A duration that must not be zero (`rotate.every`, `retention`), or `default` when
    /// neither the site nor `defaults:` sets it.
    fn positive_duration(
        &mut self,
        site: &Layers,
        field: &Field<str>,
        allow_short: bool,
        default: SignedDuration,
    ) -> Option<SignedDuration> {
        let Some((k, text)) = site.get(field) else {
            return Some(default);
        };
        let d = self.duration(&k, text, allow_short);
        if d.is_some_and(|d| d.is_zero()) {
            self.error(&k, "must be longer than 0s");
        }
        d
    }
}

impl Validator<'_> {
    /// A ceiling violation: an error for `validate`/`enforce`, a finding for `check`.
    fn ceiling(&mut self, site: &str, key: &str, msg: impl std::fmt::Display) {
        self.error(key, msg);
        self.ceilings.push(CeilingViolation {
            site: site.to_string(),
            key: key.to_string(),
            message: self.errors.last().cloned().unwrap_or_default(),
        });
    }

    fn ceilings(&mut self, key: &str, site: &Site, c: &Compliance) {
        if let Some(max) = c.max_retention {
            if site.retention > max {
                self.ceiling(
                    &site.name,
                    &format!("{key}.retention"),
                    format!(
                        "{} exceeds compliance.max_retention ({})",
                        duration_in_words(site.retention),
                        duration_in_words(max)
                    ),
                );
            }
        }
        if let Some(max) = c.max_full_ip_age {
            let window = site.full_ip_window();
            match window.max_age() {
                None => self.ceiling(&site.name,
                    &format!("{key}.anonymize"),
                    format!("truncation is off, so full addresses are kept for the whole retention; compliance.max_full_ip_age is {}", duration_in_words(max)),
                ),
                Some(age) if age > max => {
                    let why = if matches!(window, FullIpWindow::UntilRotation { .. }) {
                        format!("with after: 0s full addresses live until rotation, every {}", duration_in_words(age))
                    } else {
                        format!("full addresses are kept {}", duration_in_words(age))
                    };
                    self.ceiling(&site.name, &format!("{key}.anonymize.after"), format!("{why}, beyond compliance.max_full_ip_age ({})", duration_in_words(max)));
                }
                Some(_) => {}
            }
        }
    }

    fn truncation(&mut self, site: &Layers, allow_short: bool) -> Option<Truncation> {
        if !site.value(&ANONYMIZE).copied().unwrap_or(true) {
            return None;
        }
        let after = match site.get(&ANONYMIZE_AFTER) {
            Some((k, s)) => self.duration(&k, s, allow_short),
            None => Some(SignedDuration::from_hours(7 * 24)),
        };
        let mut prefix = |field: &Field<i64>, max: i64, default: u8| -> u8 {
            let Some((k, &val)) = site.get(field) else {
                return default;
            };
            if !(0..=max).contains(&val) {
                self.error(
                    &k,
                    format!("{val} is out of range; a prefix is 0 to {max} bits"),
                );
                return default;
            }
            val as u8
        };
        let v4 = prefix(&IPV4_PREFIX, 32, 24);
        let v6 = prefix(&IPV6_PREFIX, 128, 40);
        let scope = match site.get(&SCOPE) {
            Some((k, s)) => self.scope(&k, s),
            None => Scope::All,
        };
        let mask = Mask::new(v4, v6, scope).ok()?;
        Some(Truncation {
            after: after?,
            mask,
        })
    }

    fn scope(&mut self, key: &str, text: &str) -> Scope {
        match text {
            "all" => Scope::All,
            "client" => Scope::Client,
            other => {
                self.error(
                    key,
                    format!("{other:?} is not a scope; write all or client"),
                );
                Scope::All
            }
        }
    }

    fn compression(&mut self, site: &Layers) -> Compression {
        let (mk, method) = site
            .get(&COMPRESS_METHOD)
            .unwrap_or((String::new(), "gzip"));
        // Each method's levels and the default.
        let (max, default): (i64, i64) = match method {
            "gzip" => (9, 6),
            "zstd" => (19, 3),
            "none" => return Compression::None,
            other => {
                self.error(
                    &mk,
                    format!("{other:?} is not supported; write gzip, zstd or none"),
                );
                return Compression::None;
            }
        };
        let (lk, level) = site
            .get(&COMPRESS_LEVEL)
            .map_or((String::new(), default), |(k, &l)| (k, l));
        if !(1..=max).contains(&level) {
            self.error(
                &lk,
                format!("{level} is out of range; {method} levels are 1 to {max}"),
            );
        }
        let level = level.clamp(1, max) as u32;
        if method == "zstd" {
            Compression::Zstd { level }
        } else {
            Compression::Gzip { level }
        }
    }

    fn reopen(&mut self, site: &Layers, base: &Path) -> Reopen {
        let Some((rk, r)) = site.get(&REOPEN) else {
            return Reopen::None;
        };
        match (&r.command, &r.signal, &r.pidfile) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                self.error(&rk, "set either command, or signal and pidfile, not both");
                Reopen::None
            }
            (Some(cmd), None, None) => {
                if cmd.is_empty() || cmd[0].is_empty() {
                    self.error(
                        &format!("{rk}.command"),
                        "the command is empty; write an argv list like [nginx, -s, reopen]",
                    );
                }
                Reopen::Command(cmd.iter().map(OsString::from).collect())
            }
            (None, signal, Some(pidfile)) => {
                let name = signal.as_deref().unwrap_or("USR1");
                let full = if name.starts_with("SIG") {
                    name.to_string()
                } else {
                    format!("SIG{name}")
                };
                match Signal::from_str(&full) {
                    Ok(Signal::SIGKILL | Signal::SIGSTOP | Signal::SIGTERM | Signal::SIGINT)
                    | Err(_) => {
                        self.error(
                            &format!("{rk}.signal"),
                            format!(
                                "{name:?} is not a reopen signal; write USR1 (nginx), HUP or USR2"
                            ),
                        );
                        Reopen::None
                    }
                    Ok(signal) => Reopen::Signal {
                        signal,
                        pidfile: resolve(base, pidfile),
                    },
                }
            }
            (None, Some(_), None) => {
                self.error(
                    &rk,
                    "a signal needs a pidfile, e.g. pidfile: /run/nginx.pid",
                );
                Reopen::None
            }
            (None, None, None) => {
                self.error(&rk, "set command, or signal and pidfile");
                Reopen::None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{policy, refused};
    use super::*;

    #[test]
    fn builtin_defaults_apply() {
        let p = policy("sites:\n  main:\n    logs: [/var/log/nginx/main/access.log]\n").unwrap();
        let s = &p.sites[0];
        assert_eq!(
            s.rotation,
            Rotation {
                every: SignedDuration::from_hours(24),
                max_size: None,
                by_server: false,
            }
        );
        assert_eq!(s.retention, SignedDuration::from_hours(14 * 24));
        let t = s.truncation.unwrap();
        assert_eq!(t.after, SignedDuration::from_hours(7 * 24));
        assert_eq!(t.mask, Mask::new(24, 40, Scope::All).unwrap());
        assert_eq!(s.compression, Compression::Gzip { level: 6 });
        assert_eq!(s.reopen, Reopen::None);
        assert_eq!(s.logs[0].dir, Path::new("/var/log/nginx/main"));
        assert_eq!(s.logs[0].name.literal(), Some("access.log"));
    }

    #[test]
    fn losses_are_recorded_where_a_reboot_keeps_them() {
        // Beside a lock file the policy names (its admin chose the place)...
        let p = policy("lock_file: /var/lib/x/lw.lock\nsites:\n  main:\n    logs: [/l/a.log]\n")
            .unwrap();
        assert_eq!(p.losses_file, Path::new("/var/lib/x/lw.losses"));
        // ...else never beside the default lock in /run, a tmpfs emptied at every boot,
        // after which `check` would call a log with lost lines whole.
        let p = policy("sites:\n  main:\n    logs: [/l/a.log]\n").unwrap();
        assert!(!p.losses_file.starts_with("/run"), "{:?}", p.losses_file);
        if nix::unistd::geteuid().is_root() {
            assert_eq!(p.losses_file, Path::new(SYSTEM_LOSSES_FILE));
        }
    }

    #[test]
    fn zstd_is_a_compression_with_its_own_levels() {
        let site = |c: &str| {
            policy(&format!(
                "sites:\n  main:\n    logs: [/l/x.log]\n    compress: {c}\n"
            ))
            .map(|p| p.sites[0].compression)
        };
        assert_eq!(
            site("{ method: zstd }").unwrap(),
            Compression::Zstd { level: 3 }
        );
        assert_eq!(
            site("{ method: zstd, level: 19 }").unwrap(),
            Compression::Zstd { level: 19 }
        );
        let msg = refused(
            "sites:\n  main:\n    logs: [/l/x.log]\n    compress: { method: zstd, level: 20 }\n",
        );
        assert!(msg.contains("zstd levels are 1 to 19"), "{msg}");
        let msg =
            refused("sites:\n  main:\n    logs: [/l/x.log]\n    compress: { method: bzip2 }\n");
        assert!(msg.contains("write gzip, zstd or none"), "{msg}");
    }

    #[test]
    fn six_m_is_refused_as_minutes_with_its_place() {
        let msg = refused("sites:\n  appman:\n    logs: [/l/x.log]\n    retention: 6m\n");
        assert_eq!(
            msg,
            "/etc/logwarden/config.yaml:4:16: sites.appman.retention: \"6m\" is 6 minutes; write 6w or 180d, or set allow_short: true"
        );
        assert!(
            policy(
                "sites:\n  a:\n    logs: [/l/x.log]\n    retention: 6m\n    allow_short: true\n"
            )
            .is_ok()
        );
    }

    #[test]
    fn each_bad_value_is_named() {
        let cases = [
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    retention: soon\n",
                "sites.a.retention: \"soon\" is not a duration",
            ),
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    anonymize: { ipv4_prefix: 33 }\n",
                "sites.a.anonymize.ipv4_prefix: 33 is out of range",
            ),
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    anonymize: { ipv6_prefix: 129 }\n",
                "sites.a.anonymize.ipv6_prefix: 129 is out of range",
            ),
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    anonymize: { scope: some }\n",
                "sites.a.anonymize.scope",
            ),
            (
                "sites:\n  a:\n    retention: 3d\n",
                "sites.a: a site must set `logs:`",
            ),
            (
                "sites:\n  a:\n    logs: []\n",
                "sites.a.logs: the list is empty",
            ),
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    rotate: { max_size: lots }\n",
                "sites.a.rotate.max_size",
            ),
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    compress: { level: 11 }\n",
                "sites.a.compress.level: 11 is out of range",
            ),
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    reopen: { signal: KILL, pidfile: /run/x }\n",
                "sites.a.reopen.signal",
            ),
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    reopen: { signal: USR1 }\n",
                "needs a pidfile",
            ),
            (
                "sites:\n  a:\n    logs: [/l/*/x.log]\n",
                "wildcards are allowed in the file name only",
            ),
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n    create: { mode: \"0666\" }\n",
                "writable by everyone",
            ),
            (
                "sites:\n  a:\n    logs: [/l/x.log]\n  b:\n    logs: [/l/x.log]\n",
                "already a log of site a",
            ),
            ("sites: {}\n", "no sites are defined"),
            (
                "defaults:\n  logs: [/x]\nsites:\n  a:\n    logs: [/l/x.log]\n",
                "defaults.logs",
            ),
        ];
        for (text, want) in cases {
            let msg = refused(text);
            assert!(msg.contains(want), "{text}\n=> {msg}\nwanted: {want}");
            assert!(msg.starts_with("/etc/logwarden/config.yaml:"), "{msg}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let msg = refused(
            "sites:\n  a:\n    logs: [/l/x.log]\n    retention: 6m\n    anonymize: { ipv4_prefix: 40 }\n",
        );
        assert_eq!(msg.lines().count(), 2, "{msg}");
    }

    #[test]
    fn compliance_ceilings_refuse_sites_beyond_them() {
        let head = "compliance: { max_retention: 30d, max_full_ip_age: 7d }\nsites:\n  a:\n    logs: [/l/x.log]\n";
        assert!(policy(head).is_ok());
        let msg = refused(&format!("{head}    retention: 31d\n"));
        assert!(
            msg.contains("sites.a.retention: 31 days exceeds compliance.max_retention (30 days)"),
            "{msg}"
        );
        let msg = refused(&format!("{head}    anonymize: false\n"));
        assert!(msg.contains("truncation is off"), "{msg}");
        let msg = refused(&format!("{head}    anonymize: {{ after: 8d }}\n"));
        assert!(
            msg.contains("sites.a.anonymize.after: full addresses are kept 8 days"),
            "{msg}"
        );
        let msg = refused(&format!(
            "{head}    anonymize: {{ after: 0s }}\n    rotate: {{ every: 8d }}\n"
        ));
        assert!(msg.contains("until rotation, every 8 days"), "{msg}");
    }

    #[test]
    fn an_audit_keeps_ceiling_findings_instead_of_refusing() {
        let text = "compliance: { max_retention: 30d, max_full_ip_age: 7d }\nsites:\n  a:\n    logs: [/l/x.log]\n    retention: 31d\n    anonymize: false\n";
        let loaded = LoadedConfig::parse(Path::new("/c.yaml"), text.to_string()).unwrap();
        let strict = Policy::from_config(&loaded).unwrap_err().to_string();
        let audit = Policy::build(&loaded, false, false).unwrap();
        assert_eq!(audit.ceilings.len(), 2, "{:?}", audit.ceilings);
        assert_eq!(audit.ceilings[0].site, "a");
        assert_eq!(audit.ceilings[0].key, "sites.a.retention");
        let joined: Vec<&str> = audit.ceilings.iter().map(|c| c.message.as_str()).collect();
        assert_eq!(strict, joined.join("\n"));
        // Any other error still refuses the policy, with every message.
        let bad = format!("{text}    rotate: {{ every: 6m }}\n");
        let loaded = LoadedConfig::parse(Path::new("/c.yaml"), bad).unwrap();
        let msg = Policy::build(&loaded, false, false)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("\"6m\" is 6 minutes"), "{msg}");
        assert!(Policy::from_config(&loaded).is_err());
        // A strict policy never carries ceiling findings.
        let ok = LoadedConfig::parse(
            Path::new("/c.yaml"),
            "sites:\n  a:\n    logs: [/l/x.log]\n".into(),
        )
        .unwrap();
        assert!(Policy::from_config(&ok).unwrap().ceilings.is_empty());
    }

    #[test]
    fn missing_users_are_a_warning_not_a_refusal() {
        let p = policy("sites:\n  a:\n    logs: [/l/x.log]\n    create: { owner: no-such-user-lw, group: root }\n").unwrap();
        let users: Vec<_> = p
            .warnings
            .iter()
            .filter(|w| w.contains(".create."))
            .collect();
        assert_eq!(users.len(), 1, "{:?}", p.warnings);
        assert!(users[0].contains("no-such-user-lw"));
        let c = p.sites[0].create.as_ref().unwrap();
        assert_eq!(c.owner.as_ref().unwrap().id, None);
        assert_eq!(c.group.as_ref().unwrap().id, Some(0));
    }

    #[test]
    fn su_needs_a_user_and_a_group_that_is_not_root_and_owns_what_it_creates() {
        let site = |su: &str| format!("sites:\n  a:\n    logs: [/var/log/a/x.log]\n    {su}\n");
        let e = refused(&site("su: { user: nobody }"));
        assert!(
            e.contains("sites.a.su: su: needs both user: and group:"),
            "{e}"
        );
        let e = refused(&site("su: { user: root, group: adm }"));
        assert!(
            e.contains("sites.a.su.user: acting as root protects nothing"),
            "{e}"
        );
        let e = refused(&site(
            "su: { user: nobody, group: nogroup }\n    create: { owner: www-data }",
        ));
        assert!(
            e.contains("sites.a.create.owner: \"www-data\" differs from su.user"),
            "{e}"
        );
        let e = refused(&site("su: { user: nobody, group: adm, mode: x }"));
        assert!(e.contains("unknown field `mode`"), "{e}");
        let p = policy(&site("su: { user: nobody, group: nogroup }")).unwrap();
        let su = p.sites[0].su.as_ref().unwrap();
        assert_eq!(
            (su.user.name.as_str(), su.group.name.as_str()),
            ("nobody", "nogroup")
        );
        // Inherited from defaults like any key.
        let p = policy(
            "defaults:\n  su: { user: nobody, group: nogroup }\nsites:\n  a:\n    logs: [/var/log/a/x.log]\n",
        )
        .unwrap();
        assert!(p.sites[0].su.is_some());
    }

    /// `retention: 20000y` used to pass validation and then panic in the planner, whose
    /// cutoff (`now - retention`) lies before the calendar's first year.
    #[test]
    fn a_duration_beyond_the_calendar_is_refused_not_a_panic_later() {
        let why = refused("sites:\n  a:\n    logs: [/l/x.log]\n    retention: 20000y\n");
        assert!(
            why.contains("sites.a.retention: \"20000y\" is longer than 1000 years"),
            "{why}"
        );
        let p = policy("sites:\n  a:\n    logs: [/l/x.log]\n    retention: 1000y\n");
        assert!(p.is_ok(), "{:?}", p.err());
    }

    #[test]
    fn rotate_false_leaves_rotation_to_the_server_and_needs_a_window() {
        let p = policy(
            "defaults:\n  rotate: false\nsites:\n  caddy:\n    logs: [/l/access.log]\n    anonymize: { after: 1d }\n  main:\n    logs: [/m/access.log]\n    rotate: { every: 6h }\n",
        )
        .unwrap();
        assert!(p.sites[0].rotation.by_server);
        assert!(!p.sites[1].rotation.by_server);
        assert_eq!(p.sites[1].rotation.every, SignedDuration::from_hours(6));
        // The admin is told what a server that rolls late does to the window.
        let told: Vec<_> = p
            .warnings
            .iter()
            .filter(|w| w.contains("rotate: false: the server decides"))
            .collect();
        assert_eq!(told.len(), 1, "{:?}", p.warnings);
        assert!(told[0].contains("anonymize.after (1 day)"), "{told:?}");
        let msg = refused(
            "sites:\n  a:\n    logs: [/l/x.log]\n    rotate: false\n    anonymize: { after: 0s }\n",
        );
        assert!(
            msg.contains(
                "sites.a.anonymize.after: after: 0s means at rotation, and with rotate: false"
            ),
            "{msg}"
        );
        let msg = refused("sites:\n  a:\n    logs: [/l/x.log]\n    rotate: sometimes\n");
        assert!(msg.contains("sites.a.rotate"), "{msg}");
    }
}
