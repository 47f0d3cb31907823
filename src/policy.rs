//! The validated policy: the only place that turns the user's strings into durations,
//! sizes, file-name patterns, masks, signals and accounts.
//!
//! Everything downstream trusts these types and never sees a raw string again. Validation
//! collects every problem in one go and names the file, line, key and value, because a
//! sysadmin fixing a policy at 3 a.m. should not have to run `validate` once per typo. It
//! must never accept a policy that is weaker than written: an unknown key, a duration that
//! reads as minutes where months were meant, a prefix out of range, or a site beyond the
//! `compliance:` ceilings is refused, not softened.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use nix::sys::signal::Signal;
use regex::Regex;

use crate::anonymize::{Mask, Scope};
use crate::config::{
    AnonymizeConfig, AnonymizeSettings, CreateConfig, LoadedConfig, ReopenConfig, SiteConfig,
    SuConfig,
};

const HOUR: SignedDuration = SignedDuration::from_hours(1);

/// Where the policy lives when neither `--config` nor `$LOGWARDEN_CONFIG` says.
pub const DEFAULT_CONFIG: &str = "/etc/logwarden/config.yaml";

#[derive(Debug, Clone)]
pub struct Policy {
    pub source: PathBuf,
    pub lock_file: PathBuf,
    /// Where each pass writes Prometheus metrics (`metrics_file:`, or `--metrics-file`).
    pub metrics_file: Option<PathBuf>,
    pub compliance: Compliance,
    pub sites: Vec<Site>,
    /// Things that do not make the policy invalid but that the user should know.
    pub warnings: Vec<String>,
    /// Sites beyond the `compliance:` ceilings. Always empty in a policy from
    /// [`Policy::load`] (which refuses them); filled by [`Policy::load_for_audit`].
    pub ceilings: Vec<CeilingViolation>,
}

/// A site setting beyond a `compliance:` ceiling, located like any policy error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeilingViolation {
    pub site: String,
    /// The key at fault, e.g. `sites.main.retention`.
    pub key: String,
    /// The full located message, as `validate` prints it.
    pub message: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compliance {
    pub max_retention: Option<SignedDuration>,
    pub max_full_ip_age: Option<SignedDuration>,
}

#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub logs: Vec<LogPattern>,
    pub rotation: Rotation,
    pub retention: SignedDuration,
    /// `None` when the site says `anonymize: false`.
    pub truncation: Option<Truncation>,
    pub compression: Compression,
    pub reopen: Reopen,
    pub create: Option<CreateSpec>,
    pub archive_dir: Option<PathBuf>,
    /// `missing_ok: true`: a pattern matching no file is not a `check` violation.
    pub missing_ok: bool,
    /// `su:`: the user and group the site's file work runs as (see `creds`).
    pub su: Option<Su>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Su {
    pub user: Account,
    pub group: Account,
}

impl Site {
    /// The `su:` user's uid on this host, whose directories the site may pass through.
    pub fn su_uid(&self) -> Option<u32> {
        self.su.as_ref().and_then(|s| s.user.id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub every: SignedDuration,
    pub max_size: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// Zero means "at rotation": the live file keeps full addresses, archives never do.
    pub after: SignedDuration,
    pub mask: Mask,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip { level: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reopen {
    /// Rename and recreate only; the writer is not told.
    None,
    Signal {
        signal: Signal,
        pidfile: PathBuf,
    },
    /// An argv list, run without a shell.
    Command(Vec<OsString>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSpec {
    pub mode: Option<u32>,
    pub owner: Option<Account>,
    pub group: Option<Account>,
}

/// A user or group named in the policy. `id` is `None` when this host lacks it: that is an
/// error of the one action that needs it, never of the whole policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Account {
    pub name: String,
    pub id: Option<u32>,
}

/// A log file or a family of them: a literal directory and a file-name pattern in which
/// `*` and `?` are wildcards. Directories never contain wildcards, so the inventory reads
/// exactly the directories the policy names and nothing else.
#[derive(Debug, Clone)]
pub struct LogPattern {
    /// Lexically normal (no `//`, `.`, or `..`), so equal directories compare equal.
    pub dir: PathBuf,
    pub name: NamePattern,
    /// The policy key it was written at (`sites.main.logs.0`), for messages.
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct NamePattern {
    text: String,
    regex: Option<Regex>,
}

impl NamePattern {
    fn new(text: &str) -> NamePattern {
        let regex = text.contains(['*', '?']).then(|| {
            let mut re = String::from("^");
            for c in text.chars() {
                match c {
                    '*' => re.push_str("[^/]*"),
                    '?' => re.push_str("[^/]"),
                    c => re.push_str(&regex::escape(&c.to_string())),
                }
            }
            re.push('$');
            Regex::new(&re).expect("escaped glob is a valid regex")
        });
        NamePattern {
            text: text.to_string(),
            regex,
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        match &self.regex {
            Some(re) => re.is_match(name),
            None => self.text == name,
        }
    }

    /// The file name when the pattern has no wildcard.
    pub fn literal(&self) -> Option<&str> {
        self.regex.is_none().then_some(self.text.as_str())
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether some file name matches both patterns. Two sites covering one file would
    /// publish two promises for it and race each other's rotations, so this must not miss
    /// a shared name: it walks both patterns together over every pair of positions.
    pub fn may_share_a_name(&self, other: &NamePattern) -> bool {
        let a: Vec<char> = self.text.chars().collect();
        let b: Vec<char> = other.text.chars().collect();
        let mut seen = vec![false; (a.len() + 1) * (b.len() + 1)];
        let mut todo = vec![(0usize, 0usize)];
        while let Some((i, j)) = todo.pop() {
            let slot = i * (b.len() + 1) + j;
            if seen[slot] {
                continue;
            }
            seen[slot] = true;
            if i == a.len() && j == b.len() {
                return true;
            }
            // A `*` may match nothing.
            if a.get(i) == Some(&'*') {
                todo.push((i + 1, j));
            }
            if b.get(j) == Some(&'*') {
                todo.push((i, j + 1));
            }
            // Or both consume one character they can agree on; a `*` stays where it is.
            let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) else {
                continue;
            };
            let wild = |c: char| c == '*' || c == '?';
            if wild(x) || wild(y) || x == y {
                let ni = if x == '*' { i } else { i + 1 };
                let nj = if y == '*' { j } else { j + 1 };
                todo.push((ni, nj));
            }
        }
        false
    }
}

/// A path with `//`, `.` and `..` folded away, without asking the file system: the
/// policy's directories are compared as written, and no component may be a symlink.
pub fn normal_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    out
}

impl LogPattern {
    pub fn display(&self) -> String {
        self.dir.join(self.name.as_str()).display().to_string()
    }
}

/// How long a record may keep its full client address: `anonymize:` read once, so that no
/// caller spells out what `after: 0s` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullIpWindow {
    /// `anonymize: false`: a full address lives as long as its record.
    Off,
    /// `after: 0s`: only the live file holds full addresses and an archive is masked whole,
    /// so a record keeps its address until rotation, at most `every` (`rotate.every`).
    UntilRotation { every: SignedDuration },
    /// `after: <d>`: a record older than `d` holds no full address, live or archived.
    After(SignedDuration),
}

impl FullIpWindow {
    /// The longest a record keeps a full address as the policy is enforced; `None` when
    /// truncation is off.
    pub fn max_age(self) -> Option<SignedDuration> {
        match self {
            FullIpWindow::Off => None,
            FullIpWindow::UntilRotation { every } => Some(every),
            FullIpWindow::After(d) => Some(d),
        }
    }
}

/// Which records of one file must hold no full client address, at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullIpLimit {
    /// `anonymize: false`: none.
    Off,
    /// Records stamped before this instant (and, for the pass, at it).
    Before(Timestamp),
    /// Every record, dated or not (an archive under `after: 0s`).
    All,
}

impl FullIpLimit {
    /// `check`'s verdict: whether a record stamped `t` (`None`: of unknown time) must no
    /// longer hold a full address. One stamped exactly at the limit still may.
    pub fn passed_by(self, t: Option<Timestamp>) -> bool {
        match self {
            FullIpLimit::Off => false,
            FullIpLimit::All => true,
            FullIpLimit::Before(cut) => t.is_some_and(|t| t < cut),
        }
    }

    /// The pass's rule: whether a record stamped `t` is masked now. One stamped at the limit
    /// is (early by nothing), so `check` never finds it late.
    pub fn reached_by(self, t: Option<Timestamp>) -> bool {
        match self {
            FullIpLimit::Off => false,
            FullIpLimit::All => true,
            FullIpLimit::Before(cut) => t.is_some_and(|t| t <= cut),
        }
    }
}

/// `at - d`, saturated at the ends of the calendar: a limit reaching back beyond the first
/// representable instant means no record is old enough, which is a verdict, not a panic.
fn minus(at: Timestamp, d: SignedDuration) -> Timestamp {
    at.checked_sub(d).unwrap_or(if d.is_negative() {
        Timestamp::MAX
    } else {
        Timestamp::MIN
    })
}

/// `t + d`, or `None` (never) beyond the last representable instant.
fn plus(t: Timestamp, d: SignedDuration) -> Option<Timestamp> {
    t.checked_add(d).ok()
}

/// The rules of the promise, each in one place: plan, check, describe and the ceilings all
/// ask these, so what is enforced, what is audited and what is said cannot drift apart.
impl Site {
    /// Records stamped before this are past retention at `now`.
    pub fn retention_cutoff(&self, now: Timestamp) -> Timestamp {
        minus(now, self.retention)
    }

    /// The first whole second at which a record stamped `t` is past retention (the inverse
    /// of [`Site::retention_cutoff`]); `None` when that lies beyond the calendar.
    pub fn expires_at(&self, t: Timestamp) -> Option<Timestamp> {
        plus(t, self.retention).and_then(|t| plus(t, SignedDuration::from_secs(1)))
    }

    /// What `anonymize:` promises; the one reading of `after: 0s`.
    pub fn full_ip_window(&self) -> FullIpWindow {
        match self.truncation {
            None => FullIpWindow::Off,
            Some(t) if t.after.is_zero() => FullIpWindow::UntilRotation {
                every: self.rotation.every,
            },
            Some(t) => FullIpWindow::After(t.after),
        }
    }

    /// How long a record may keep a full client address at the most, as the policy is
    /// enforced: the window itself, or with `after: 0s` the rotation interval.
    pub fn full_ip_age(&self) -> Option<SignedDuration> {
        self.full_ip_window().max_age()
    }

    /// Which records of a live log (`archive: false`) or of an archive must hold no full
    /// address at `at`.
    pub fn full_ip_limit(&self, archive: bool, at: Timestamp) -> FullIpLimit {
        match self.full_ip_window() {
            FullIpWindow::Off => FullIpLimit::Off,
            FullIpWindow::UntilRotation { .. } if archive => FullIpLimit::All,
            FullIpWindow::UntilRotation { every: d } | FullIpWindow::After(d) => {
                FullIpLimit::Before(minus(at, d))
            }
        }
    }

    /// When an archived record stamped `t` is due to be masked (the inverse of
    /// [`Site::full_ip_limit`] with [`FullIpLimit::reached_by`]): at once under `after: 0s`,
    /// never when truncation is off or the instant lies beyond the calendar.
    pub fn mask_due_at(&self, t: Timestamp) -> Option<Timestamp> {
        match self.full_ip_window() {
            FullIpWindow::Off => None,
            FullIpWindow::UntilRotation { .. } => Some(t),
            FullIpWindow::After(d) => plus(t, d),
        }
    }

    /// How old the oldest record of a live file may get before it must rotate: the least of
    /// `rotate.every`, retention and a non-zero `anonymize.after`, with the key that sets it.
    pub fn live_window(&self) -> (SignedDuration, &'static str) {
        let mut w = (self.rotation.every, "rotate.every");
        if self.retention < w.0 {
            w = (self.retention, "retention");
        }
        if let FullIpWindow::After(after) = self.full_ip_window() {
            if after < w.0 {
                w = (after, "anonymize.after");
            }
        }
        w
    }

    /// When a live file whose oldest record is stamped `oldest` must rotate (see
    /// [`Site::live_window`]); `None` when that lies beyond the calendar.
    pub fn rotate_due_at(&self, oldest: Timestamp) -> Option<Timestamp> {
        plus(oldest, self.live_window().0)
    }

    /// The directory the archives of a log in `log_dir` go to: `archive_dir:`, else beside
    /// the log.
    pub fn archive_home<'a>(&'a self, log_dir: &'a Path) -> &'a Path {
        self.archive_dir.as_deref().unwrap_or(log_dir)
    }
}

/// The policy was refused; every line is one problem, already located.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct PolicyError(pub Vec<String>);

impl Policy {
    /// Reads and validates the policy file; a site beyond the ceilings is refused.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let loaded = LoadedConfig::read(path).map_err(|e| PolicyError(vec![e.0]))?;
        Policy::from_config(&loaded)
    }

    /// Like [`Policy::load`], but a policy whose only problems are the `compliance:`
    /// ceilings is returned with them in `ceilings`, for `check` to report.
    pub fn load_for_audit(path: &Path) -> Result<Policy, PolicyError> {
        let loaded = LoadedConfig::read(path).map_err(|e| PolicyError(vec![e.0]))?;
        Policy::build(&loaded, false)
    }

    pub fn from_config(loaded: &LoadedConfig) -> Result<Policy, PolicyError> {
        Policy::build(loaded, true)
    }

    fn build(loaded: &LoadedConfig, refuse_ceilings: bool) -> Result<Policy, PolicyError> {
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
        v.unmatched_logs(&sites);

        let lock_file = match &file.lock_file {
            Some(p) => resolve(&base, p),
            None => default_lock_file(),
        };
        // Ceiling messages are in `errors` too, in order; only an audit lets them pass.
        let only_ceilings = !refuse_ceilings && v.errors.len() == v.ceilings.len();
        if v.errors.is_empty() || only_ceilings {
            Ok(Policy {
                source: loaded.path.clone(),
                lock_file,
                metrics_file: file.metrics_file.as_deref().map(|p| resolve(&base, p)),
                compliance,
                sites,
                warnings: v.warnings,
                ceilings: v.ceilings,
            })
        } else {
            Err(PolicyError(v.errors))
        }
    }

    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.name == name)
    }
}

fn default_lock_file() -> PathBuf {
    let run = Path::new("/run");
    if nix::unistd::access(run, nix::unistd::AccessFlags::W_OK).is_ok() {
        return run.join("logwarden.lock");
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| Path::new(d).is_absolute()) {
        return PathBuf::from(dir).join("logwarden.lock");
    }
    // Never the shared temp directory: anyone could hold the lock there and stop every
    // pass. A directory of the user's own, made 0700 by the lock when missing.
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".local/state"))
                .filter(|d| d.is_absolute())
        })
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .map(|u| u.dir.join(".local/state"))
        })
        .unwrap_or_else(|| PathBuf::from("/run/user").join(nix::unistd::geteuid().to_string()));
    state.join("logwarden").join("logwarden.lock")
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

struct Validator<'a> {
    loaded: &'a LoadedConfig,
    errors: Vec<String>,
    warnings: Vec<String>,
    ceilings: Vec<CeilingViolation>,
}

impl Validator<'_> {
    fn error(&mut self, key: &str, msg: impl std::fmt::Display) {
        self.errors
            .push(format!("{}: {key}: {msg}", self.loaded.place(key)));
    }

    fn warn(&mut self, key: &str, msg: impl std::fmt::Display) {
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

    fn size(&mut self, key: &str, text: &str) -> Option<u64> {
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

    fn account(&mut self, key: &str, name: &str, is_group: bool) -> Account {
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

        let mut logs = Vec::new();
        match &own.logs {
            None => self.error(&key, "a site must set `logs:` (the files it covers)"),
            Some(list) if list.is_empty() => {
                self.error(&format!("{key}.logs"), "the list is empty")
            }
            Some(list) => {
                for (i, text) in list.iter().enumerate() {
                    if let Some(p) = self.log_pattern(&format!("{key}.logs.{i}"), text, base) {
                        logs.push(p);
                    }
                }
            }
        }

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
        if self.errors.len() > errors_before {
            return None;
        }
        let site = Site {
            name: name.to_string(),
            logs,
            rotation: Rotation {
                every: every?,
                max_size,
            },
            retention: retention?,
            truncation,
            compression,
            reopen,
            create,
            archive_dir,
            missing_ok: layers.value(&MISSING_OK).copied().unwrap_or(false),
            su,
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

    /// Rotation renames the live log into `archive_dir`, which only works on one file
    /// system. Only a warning: the directories may not exist on the machine that validates
    /// (the plan refuses such rotations on the machine that rotates).
    fn archive_dir_reachable(&mut self, key: &str, archive_dir: &Path, logs: &[LogPattern]) {
        use std::os::unix::fs::MetadataExt;
        let log_dirs: Vec<_> = logs
            .iter()
            .filter_map(|l| Some((&l.dir, std::fs::symlink_metadata(&l.dir).ok()?.dev())))
            .collect();
        if log_dirs.is_empty() {
            return;
        }
        match std::fs::symlink_metadata(archive_dir) {
            Err(_) => self.warn(
                key,
                format_args!(
                    "{} does not exist; logs are not rotated until it does",
                    archive_dir.display()
                ),
            ),
            Ok(m) => {
                if let Some((dir, _)) = log_dirs.iter().find(|(_, dev)| *dev != m.dev()) {
                    self.warn(
                        key,
                        format_args!(
                            "{} is on another file system than {}; rotation renames into it, so logs are not rotated",
                            archive_dir.display(),
                            dir.display()
                        ),
                    );
                }
            }
        }
    }

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
        })
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
        let (lk, level) = site
            .get(&COMPRESS_LEVEL)
            .map_or((String::new(), 6), |(k, &l)| (k, l));
        match method {
            "gzip" => {
                if !(1..=9).contains(&level) {
                    self.error(
                        &lk,
                        format!("{level} is out of range; gzip levels are 1 to 9"),
                    );
                }
                Compression::Gzip {
                    level: level.clamp(1, 9) as u32,
                }
            }
            "none" => Compression::None,
            other => {
                self.error(
                    &mk,
                    format!("{other:?} is not supported; write gzip or none"),
                );
                Compression::None
            }
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

    /// One file, one site: refuses two sites whose patterns can match one file (or one
    /// pattern written twice), and two sites whose archives would share a name in one
    /// directory, where the second rotation would replace the first site's archive and
    /// each site would adopt, and expire by its own retention, the other's.
    fn overlapping_logs(&mut self, sites: &[Site]) {
        let all: Vec<(&Site, &LogPattern)> = sites
            .iter()
            .flat_map(|s| s.logs.iter().map(move |p| (s, p)))
            .collect();
        let listings = Listings::default();
        for (n, &(site, log)) in all.iter().enumerate() {
            for &(other, earlier) in &all[..n] {
                let same_site = std::ptr::eq(site, other);
                if same_dir(&log.dir, &earlier.dir) {
                    if same_site {
                        if log.name.as_str() == earlier.name.as_str() {
                            self.error(
                                &log.key,
                                format!(
                                    "{} is already a log of site {} ({})",
                                    log.display(),
                                    site.name,
                                    earlier.key
                                ),
                            );
                        }
                    } else if log.name.may_share_a_name(&earlier.name) {
                        let example = listings
                            .names(&log.dir)
                            .into_iter()
                            .find(|f| log.name.matches(f) && earlier.name.matches(f))
                            .map_or(String::new(), |f| {
                                format!(" ({} matches both)", crate::escape::path(&log.dir.join(f)))
                            });
                        self.error(
                            &log.key,
                            format!(
                                "{} and {} ({}, already a log of site {}) can match the same file{example}; a file may belong to one site only, so narrow one pattern",
                                log.display(),
                                earlier.display(),
                                earlier.key,
                                other.name
                            ),
                        );
                    }
                    continue;
                }
                if same_site {
                    continue;
                }
                let mine = site.archive_home(&log.dir);
                let theirs = other.archive_home(&earlier.dir);
                if same_dir(mine, theirs) && log.name.may_share_a_name(&earlier.name) {
                    self.error(
                        &log.key,
                        format!(
                            "{} and {} (site {}) would both put archives named <name>-<time> into {}: one rotation would replace the other site's archive, and each site would expire the other's; give one site an archive_dir of its own",
                            log.display(),
                            earlier.display(),
                            other.name,
                            mine.display()
                        ),
                    );
                }
            }
        }
    }

    /// A pattern that matches nothing is most often a typo or a host that writes its logs
    /// elsewhere; say so, since nothing downstream will (there is nothing to act on).
    fn unmatched_logs(&mut self, sites: &[Site]) {
        let listings = Listings::default();
        for site in sites {
            for log in &site.logs {
                match listings.read(&log.dir, site.su.as_ref()) {
                    Err(why) if why.ends_with(NO_DIR) => self.warn(
                        &log.key,
                        format!("{} matches no file: {why}", log.display()),
                    ),
                    // Unsafe ancestors, permissions: the site cannot be worked on here.
                    Err(why) => self.warn(
                        &log.key,
                        format!("{} cannot be worked on: {why}", log.display()),
                    ),
                    Ok(names) => {
                        // Archives of a log count: the pattern still covers records.
                        let live = names.iter().any(|n| match crate::inventory::classify(n) {
                            crate::inventory::NameKind::Other => log.name.matches(n),
                            crate::inventory::NameKind::Archive { stem, .. } => {
                                log.name.matches(&stem)
                            }
                            crate::inventory::NameKind::Temp { .. } => false,
                        });
                        if !live {
                            self.warn(
                                &log.key,
                                format!(
                                    "{} matches no file in {}",
                                    log.display(),
                                    log.dir.display()
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Whether two directories are one: equal as written, or, where both exist, the same inode.
fn same_dir(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if a == b {
        return true;
    }
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

const NO_DIR: &str = " does not exist";

/// Directory listings read once per validation, without following a symlink anywhere.
#[derive(Default)]
struct Listings {
    #[allow(clippy::type_complexity)]
    cache: std::cell::RefCell<
        std::collections::HashMap<(PathBuf, Option<Su>), Result<Vec<String>, String>>,
    >,
}

impl Listings {
    /// The names in `dir`, or why the site (acting as `su`) cannot work there.
    fn read(&self, dir: &Path, su: Option<&Su>) -> Result<Vec<String>, String> {
        self.cache
            .borrow_mut()
            .entry((dir.to_path_buf(), su.cloned()))
            .or_insert_with(|| {
                match crate::dir::DirHandle::open_trusting(dir, su.and_then(|s| s.user.id)) {
                    Ok(d) if crate::creds::dir_problem(d.stat(), su).is_some() => Err(format!(
                        "{} {}",
                        crate::escape::path(dir),
                        crate::creds::dir_problem(d.stat(), su).unwrap_or_default()
                    )),
                    Ok(d) => d
                        .names()
                        .map(|n| n.iter().map(|n| n.to_string_lossy().into_owned()).collect())
                        .map_err(|e| e.to_string()),
                    Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => Err(format!(
                        "directory {} does not exist",
                        crate::escape::path(dir)
                    )),
                    Err(e) => Err(e.to_string()),
                }
            })
            .clone()
    }

    fn names(&self, dir: &Path) -> Vec<String> {
        self.read(dir, None).unwrap_or_default()
    }
}

/// One inheritable setting: the key it is written at and how to read it from a site or
/// from `defaults:`. The two live together, so no caller can pair a key with another
/// key's value.
struct Field<T: ?Sized + 'static> {
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

const ALLOW_SHORT: Field<bool> = Field {
    path: "allow_short",
    get: |c| c.allow_short.as_ref(),
};
const MISSING_OK: Field<bool> = Field {
    path: "missing_ok",
    get: |c| c.missing_ok.as_ref(),
};
const ROTATE_EVERY: Field<str> = Field {
    path: "rotate.every",
    get: |c| c.rotate.as_ref()?.every.as_deref(),
};
const ROTATE_MAX_SIZE: Field<str> = Field {
    path: "rotate.max_size",
    get: |c| c.rotate.as_ref()?.max_size.as_deref(),
};
const RETENTION: Field<str> = Field {
    path: "retention",
    get: |c| c.retention.as_deref(),
};
/// `anonymize: false` turns truncation off; `true` or a map keeps it on.
const ANONYMIZE: Field<bool> = Field {
    path: "anonymize",
    get: |c| match &c.anonymize {
        None => None,
        Some(AnonymizeConfig::Enabled(on)) => Some(on),
        Some(AnonymizeConfig::Settings(_)) => Some(&true),
    },
};
const ANONYMIZE_AFTER: Field<str> = Field {
    path: "anonymize.after",
    get: |c| anonymize_settings(c)?.after.as_deref(),
};
const IPV4_PREFIX: Field<i64> = Field {
    path: "anonymize.ipv4_prefix",
    get: |c| anonymize_settings(c)?.ipv4_prefix.as_ref(),
};
const IPV6_PREFIX: Field<i64> = Field {
    path: "anonymize.ipv6_prefix",
    get: |c| anonymize_settings(c)?.ipv6_prefix.as_ref(),
};
const SCOPE: Field<str> = Field {
    path: "anonymize.scope",
    get: |c| anonymize_settings(c)?.scope.as_deref(),
};
const COMPRESS_METHOD: Field<str> = Field {
    path: "compress.method",
    get: |c| c.compress.as_ref()?.method.as_deref(),
};
const COMPRESS_LEVEL: Field<i64> = Field {
    path: "compress.level",
    get: |c| c.compress.as_ref()?.level.as_ref(),
};
const REOPEN: Field<ReopenConfig> = Field {
    path: "reopen",
    get: |c| c.reopen.as_ref(),
};
const CREATE: Field<CreateConfig> = Field {
    path: "create",
    get: |c| c.create.as_ref(),
};
const ARCHIVE_DIR: Field<str> = Field {
    path: "archive_dir",
    get: |c| c.archive_dir.as_deref(),
};
const SU: Field<SuConfig> = Field {
    path: "su",
    get: |c| c.su.as_ref(),
};

/// A site's settings over the `defaults:` ones: every inheritable key is read through
/// [`Layers::get`], key by key.
struct Layers<'a> {
    /// `sites.<name>`.
    key: &'a str,
    own: &'a SiteConfig,
    defaults: &'a SiteConfig,
}

impl<'a> Layers<'a> {
    /// The site's own value, else the inherited one, with the key it was written at.
    fn get<T: ?Sized>(&self, field: &Field<T>) -> Option<(String, &'a T)> {
        match ((field.get)(self.own), (field.get)(self.defaults)) {
            (Some(v), _) => Some((format!("{}.{}", self.key, field.path), v)),
            (None, Some(v)) => Some((format!("defaults.{}", field.path), v)),
            (None, None) => None,
        }
    }

    /// The value alone, for settings whose values cannot be wrong.
    fn value<T: ?Sized>(&self, field: &Field<T>) -> Option<&'a T> {
        self.get(field).map(|(_, v)| v)
    }
}

/// `100MiB`, `100M`, `500k`, `1G`, `4096`: binary multiples, as logrotate reads them.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// The longest duration a policy may set.
const MAX_DURATION: SignedDuration = SignedDuration::from_hours(1000 * 8766);

/// A humantime duration (`90m`, `36h`, `14d`, `2w`), for the policy's keys and the command
/// line's flags alike, so both accept the same spellings and refuse them in the same words.
/// The error quotes the value; the caller adds the key or flag it came from.
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    // humantime reads "-1h" as a stray character; say what is really wrong with it.
    if text.trim_start().starts_with('-') {
        return Err(format!(
            "{text:?} is negative; a duration is a length of time, e.g. 90m, 36h, 14d or 2w"
        ));
    }
    let parsed = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{text:?} is not a duration ({e}); write e.g. 90m, 36h, 14d or 2w"))?;
    SignedDuration::try_from(parsed).map_err(|_| format!("{text:?} is too long"))
}

/// A duration as a person says it: "14 days", "36 hours", "6 minutes".
pub fn duration_in_words(d: SignedDuration) -> String {
    let secs = d.as_secs();
    let (n, unit) = if secs != 0 && secs % 86_400 == 0 {
        (secs / 86_400, "day")
    } else if secs != 0 && secs % 3600 == 0 {
        (secs / 3600, "hour")
    } else if secs != 0 && secs % 60 == 0 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Result<Policy, PolicyError> {
        let loaded = LoadedConfig::parse(Path::new("/etc/logwarden/config.yaml"), text.to_string())
            .map_err(|e| PolicyError(vec![e.0]))?;
        Policy::from_config(&loaded)
    }

    fn refused(text: &str) -> String {
        policy(text)
            .expect_err("policy should be refused")
            .to_string()
    }

    fn site(extra: &str) -> Site {
        let text = format!("sites:\n  a:\n    logs: [/l/x.log]\n{extra}");
        policy(&text).unwrap().sites.remove(0)
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const DAY: SignedDuration = SignedDuration::from_hours(24);
    const SEC: SignedDuration = SignedDuration::from_secs(1);

    #[test]
    fn the_retention_cutoff_and_the_expiry_instant_are_one_rule() {
        let s = site("    retention: 14d\n");
        let now = ts("2026-11-30T12:00:00Z");
        assert_eq!(s.retention_cutoff(now), now - 14 * DAY);
        let rec = ts("2026-11-01T08:00:00Z");
        let at = s.expires_at(rec).unwrap();
        assert_eq!(at, rec + 14 * DAY + SEC);
        // Past retention from that second on, not one second earlier.
        assert!(rec < s.retention_cutoff(at));
        assert!(rec >= s.retention_cutoff(at - SEC));
    }

    #[test]
    fn after_0s_means_until_rotation_and_archives_masked_whole() {
        let s = site("    rotate: { every: 6h }\n    anonymize: { after: 0s }\n");
        let six = SignedDuration::from_hours(6);
        assert_eq!(
            s.full_ip_window(),
            FullIpWindow::UntilRotation { every: six }
        );
        assert_eq!(s.full_ip_age(), Some(six));
        let now = ts("2026-11-30T12:00:00Z");
        assert_eq!(s.full_ip_limit(true, now), FullIpLimit::All);
        assert_eq!(s.full_ip_limit(false, now), FullIpLimit::Before(now - six));
        // An archived record is due at once, and every one is reached, dated or not.
        let rec = ts("2026-11-30T11:59:00Z");
        assert_eq!(s.mask_due_at(rec), Some(rec));
        assert!(FullIpLimit::All.reached_by(None) && FullIpLimit::All.passed_by(None));
        // The anonymize window does not shorten the live file's (rotation is the window).
        assert_eq!(s.live_window(), (six, "rotate.every"));
    }

    #[test]
    fn the_full_ip_window_is_reached_at_the_instant_and_passed_just_after() {
        let s = site("    anonymize: { after: 7d }\n");
        assert_eq!(s.full_ip_window(), FullIpWindow::After(7 * DAY));
        let rec = ts("2026-11-01T00:00:00Z");
        let due = s.mask_due_at(rec).unwrap();
        assert_eq!(due, rec + 7 * DAY);
        let archived = s.full_ip_limit(true, due);
        assert_eq!(archived, s.full_ip_limit(false, due));
        // The pass masks it at the instant (early by nothing); check finds it late after.
        assert!(archived.reached_by(Some(rec)));
        assert!(!archived.passed_by(Some(rec)));
        assert!(s.full_ip_limit(true, due + SEC).passed_by(Some(rec)));
        assert!(!s.full_ip_limit(true, due - SEC).reached_by(Some(rec)));
        // A record of unknown time is judged only where every record is.
        assert!(!archived.reached_by(None) && !archived.passed_by(None));
    }

    #[test]
    fn with_truncation_off_no_record_is_ever_due_for_masking() {
        let s = site("    anonymize: false\n");
        let now = ts("2026-11-30T12:00:00Z");
        assert_eq!(s.full_ip_window(), FullIpWindow::Off);
        assert_eq!(s.full_ip_age(), None);
        assert_eq!(s.full_ip_limit(true, now), FullIpLimit::Off);
        assert_eq!(s.mask_due_at(now), None);
        assert!(!FullIpLimit::Off.reached_by(Some(Timestamp::MIN)));
        assert!(!FullIpLimit::Off.passed_by(Some(Timestamp::MIN)));
    }

    #[test]
    fn the_live_window_is_the_least_limit_and_names_its_key() {
        let s =
            site("    rotate: { every: 7d }\n    retention: 30d\n    anonymize: { after: 1d }\n");
        assert_eq!(s.live_window(), (DAY, "anonymize.after"));
        let rec = ts("2026-11-01T00:00:00Z");
        assert_eq!(s.rotate_due_at(rec), Some(rec + DAY));
        let s = site("    rotate: { every: 7d }\n    retention: 2d\n");
        assert_eq!(s.live_window(), (2 * DAY, "retention"));
        let s = site("    anonymize: false\n");
        assert_eq!(s.live_window(), (DAY, "rotate.every"));
    }

    #[test]
    fn archives_go_to_archive_dir_or_beside_their_log() {
        let s = site("");
        assert_eq!(s.archive_home(Path::new("/l")), Path::new("/l"));
        let s = site("    archive_dir: /arch/./old\n");
        assert_eq!(s.archive_home(Path::new("/l")), Path::new("/arch/old"));
    }

    /// The fields are public, so a site built by hand can hold any duration: every rule
    /// saturates at the ends of the calendar instead of panicking or wrapping.
    #[test]
    fn huge_durations_saturate_instead_of_panicking() {
        let mut s = site("    anonymize: { after: 7d }\n");
        let now = ts("2026-11-30T12:00:00Z");
        s.retention = SignedDuration::MAX;
        s.rotation.every = SignedDuration::MAX;
        s.truncation.as_mut().unwrap().after = SignedDuration::MAX;
        assert_eq!(s.retention_cutoff(now), Timestamp::MIN);
        assert_eq!(s.retention_cutoff(Timestamp::MIN), Timestamp::MIN);
        assert_eq!(s.expires_at(now), None);
        assert_eq!(s.mask_due_at(now), None);
        assert_eq!(s.rotate_due_at(now), None);
        assert_eq!(
            s.full_ip_limit(true, now),
            FullIpLimit::Before(Timestamp::MIN)
        );
        assert!(!s.full_ip_limit(true, now).passed_by(Some(Timestamp::MIN)));
        // Near the last instant even a short window cannot be added.
        let s = site("    retention: 1d\n    anonymize: { after: 0s }\n");
        assert_eq!(s.expires_at(Timestamp::MAX), None);
        assert_eq!(s.rotate_due_at(Timestamp::MAX), None);
        assert_eq!(s.mask_due_at(Timestamp::MAX), Some(Timestamp::MAX));
        assert_eq!(s.retention_cutoff(Timestamp::MIN), Timestamp::MIN);
        // A negative duration (never validated, but representable) saturates the other way.
        let mut s = site("");
        s.retention = SignedDuration::MIN;
        assert_eq!(s.retention_cutoff(now), Timestamp::MAX);
    }

    #[test]
    fn builtin_defaults_apply() {
        let p = policy("sites:\n  main:\n    logs: [/var/log/nginx/main/access.log]\n").unwrap();
        let s = &p.sites[0];
        assert_eq!(
            s.rotation,
            Rotation {
                every: SignedDuration::from_hours(24),
                max_size: None
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
        let audit = Policy::build(&loaded, false).unwrap();
        assert_eq!(audit.ceilings.len(), 2, "{:?}", audit.ceilings);
        assert_eq!(audit.ceilings[0].site, "a");
        assert_eq!(audit.ceilings[0].key, "sites.a.retention");
        let joined: Vec<&str> = audit.ceilings.iter().map(|c| c.message.as_str()).collect();
        assert_eq!(strict, joined.join("\n"));
        // Any other error still refuses the policy, with every message.
        let bad = format!("{text}    rotate: {{ every: 6m }}\n");
        let loaded = LoadedConfig::parse(Path::new("/c.yaml"), bad).unwrap();
        let msg = Policy::build(&loaded, false).unwrap_err().to_string();
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
    fn one_file_belongs_to_one_site_however_the_patterns_are_written() {
        let cases = [
            ("/d/*.log", "/d/access.log"),
            ("/d//access.log", "/d/access.log"),
            ("/d/./access.log", "/d/access.log"),
            ("/d/a*.log", "/d/*s.log"),
            ("/d/access.?og", "/d/*.log"),
            ("/d/*", "/d/x.log"),
        ];
        for (a, b) in cases {
            let text = format!("sites:\n  a:\n    logs: [\"{a}\"]\n  b:\n    logs: [\"{b}\"]\n");
            let msg = refused(&text);
            if a == "/d/*" {
                assert!(msg.contains("would match archives too"), "{msg}");
                continue;
            }
            assert!(msg.contains("sites.b.logs.0: "), "{a} / {b}: {msg}");
            assert!(msg.contains("can match the same file"), "{a} / {b}: {msg}");
            assert!(msg.contains("site a"), "{msg}");
        }
        // Disjoint patterns in one directory are fine.
        for (a, b) in [
            ("/d/a*.log", "/d/b*.log"),
            ("/d/*.log", "/d/*.txt"),
            ("/d/access.log", "/e/access.log"),
        ] {
            let text = format!("sites:\n  a:\n    logs: [\"{a}\"]\n  b:\n    logs: [\"{b}\"]\n");
            policy(&text).unwrap_or_else(|e| panic!("{a} / {b}: {e}"));
        }
    }

    #[test]
    fn glob_intersection_is_exact_on_small_cases() {
        let names = [
            "", "a", "b", "ab", "ba", "aa", "abc", "a.log", "b.log", "ab.log", ".log",
        ];
        let pats = [
            "*", "a*", "*b", "?", "??", "a?c", "*.log", "a*.log", "b*", "*a*", "ab",
        ];
        for p in pats {
            for q in pats {
                let (np, nq) = (NamePattern::new(p), NamePattern::new(q));
                let brute = names.iter().any(|n| np.matches(n) && nq.matches(n));
                if brute {
                    assert!(np.may_share_a_name(&nq), "{p} / {q}");
                }
            }
        }
        assert!(!NamePattern::new("a*").may_share_a_name(&NamePattern::new("b*")));
        assert!(!NamePattern::new("a?").may_share_a_name(&NamePattern::new("abc")));
        assert!(NamePattern::new("*x*").may_share_a_name(&NamePattern::new("*y*")));
    }

    #[test]
    fn two_sites_never_share_an_archive_name_in_one_directory() {
        let msg = refused(
            "defaults:\n  archive_dir: /arch\nsites:\n  a:\n    logs: [/a/access.log]\n  b:\n    logs: [/b/access.log]\n",
        );
        assert!(msg.contains("sites.b.logs.0: "), "{msg}");
        assert!(msg.contains("would both put archives named"), "{msg}");
        assert!(msg.contains("/arch"), "{msg}");
        // A site's archives beside another site's live log of the same name pattern.
        let msg = refused(
            "sites:\n  a:\n    logs: [/a/access.log]\n    archive_dir: /b\n  b:\n    logs: [\"/b/*.log\"]\n",
        );
        assert!(msg.contains("would both put archives named"), "{msg}");
        // Different names, or different directories, are fine.
        policy("defaults:\n  archive_dir: /arch\nsites:\n  a:\n    logs: [/a/a.log]\n  b:\n    logs: [/b/b.log]\n").unwrap();
        policy("sites:\n  a:\n    logs: [/a/access.log]\n  b:\n    logs: [/b/access.log]\n")
            .unwrap();
    }

    #[test]
    fn a_pattern_matching_no_file_is_a_warning_naming_its_key() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("access.log"), "").unwrap();
        std::fs::write(d.join("error.log-20261101.gz"), "").unwrap();
        let text = format!(
            "sites:\n  a:\n    logs: [{0}/access.log, {0}/acces.log, \"{0}/error.log*\", {0}/nodir/x.log]\n",
            d.display()
        );
        let p = policy(&text).unwrap();
        let w = p.warnings.join("\n");
        assert!(!w.contains("logs.0"), "{w}");
        assert!(
            w.contains("sites.a.logs.1: ") && w.contains("acces.log matches no file"),
            "{w}"
        );
        // A log's archives are files the pattern covers.
        assert!(!w.contains("sites.a.logs.2: "), "{w}");
        assert!(
            w.contains("sites.a.logs.3: ") && w.contains("nodir does not exist"),
            "{w}"
        );
        assert!(!p.sites[0].missing_ok);
        let text = format!(
            "sites:\n  a:\n    logs: [{}/x.log]\n    missing_ok: true\n",
            d.display()
        );
        assert!(policy(&text).unwrap().sites[0].missing_ok);
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

    #[test]
    fn globs_match_names_only() {
        let p = NamePattern::new("*.log");
        assert!(p.matches("access.log"));
        assert!(!p.matches("access.log-20261101-000000.gz"));
        assert!(!p.matches("access.log.1"));
        assert!(NamePattern::new("a?c.log").matches("abc.log"));
        assert!(!NamePattern::new("a.c").matches("abc"));
    }

    #[test]
    fn sizes_and_words() {
        assert_eq!(parse_size("100MiB"), Some(100 << 20));
        assert_eq!(parse_size("500k"), Some(500 << 10));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("1 G"), Some(1 << 30));
        assert_eq!(parse_size("x"), None);
        assert_eq!(
            duration_in_words(SignedDuration::from_hours(24 * 14)),
            "14 days"
        );
        assert_eq!(
            duration_in_words(SignedDuration::from_hours(36)),
            "36 hours"
        );
        assert_eq!(duration_in_words(SignedDuration::from_secs(60)), "1 minute");
    }

    #[test]
    fn durations_parse_once_for_policy_and_flags_and_refuse_negatives() {
        assert_eq!(parse_duration("90m"), Ok(SignedDuration::from_mins(90)));
        assert_eq!(parse_duration(" 2d "), Ok(SignedDuration::from_hours(48)));
        assert_eq!(parse_duration("0s"), Ok(SignedDuration::ZERO));
        let negative = parse_duration("-1h").unwrap_err();
        assert!(negative.starts_with("\"-1h\" is negative"), "{negative}");
        let junk = parse_duration("soon").unwrap_err();
        assert!(junk.starts_with("\"soon\" is not a duration"), "{junk}");
        assert!(
            refused("sites:\n  a:\n    logs: [/l/x.log]\n    retention: -14d\n")
                .contains("sites.a.retention: \"-14d\" is negative")
        );
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
}
