//! The validated policy: the only place that turns the user's strings into durations,
//! sizes, file-name patterns, masks, signals and accounts.
//!
//! Everything downstream trusts these types and never sees a raw string again. Validation
//! collects every problem in one go and names the file, line, key and value, because a
//! sysadmin fixing a policy at 3 a.m. should not have to run `validate` once per typo. It
//! must never accept a policy that is weaker than written: an unknown key, a duration that
//! reads as minutes where months were meant, a prefix out of range, or a site beyond the
//! `compliance:` ceilings is refused, not softened.
//!
//! This module holds the validated types and the rules read from them (`rules`); the
//! validator that builds them lives in `validate` (with `inherit`, how a site reads its
//! keys over `defaults:`, and `files`, the checks against the directories on this host).

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use jiff::SignedDuration;
use nix::sys::signal::Signal;
use regex::Regex;

use crate::anonymize::Mask;
use crate::config::LoadedConfig;
use crate::timestamp::LogFormat;

mod files;
mod inherit;
mod logs;
mod receive;
mod rules;
mod validate;

pub use rules::{FullIpLimit, FullIpWindow};

/// Where the policy lives when neither `--config` nor `$LOGWARDEN_CONFIG` says.
pub const DEFAULT_CONFIG: &str = "/etc/logwarden/config.yaml";

#[derive(Debug, Clone)]
pub struct Policy {
    pub source: PathBuf,
    pub lock_file: PathBuf,
    /// Where the lines lost at `receive:` inputs are recorded for `check` (see
    /// `receive::ledger`): beside an explicit `lock_file:`, else on persistent storage,
    /// never in `/run`, which a reboot empties (and `check` would then see no loss).
    pub losses_file: PathBuf,
    /// Where each pass writes Prometheus metrics (`metrics_file:`, or `--metrics-file`).
    pub metrics_file: Option<PathBuf>,
    pub compliance: Compliance,
    /// In the order the policy file lists them, so plans and reports follow what the admin
    /// wrote, stably.
    pub sites: Vec<Site>,
    /// Things that do not make the policy invalid but that the user should know.
    pub warnings: Vec<String>,
    /// The received logs (`receive:`) this process writes, and so rotates by switching
    /// files itself (`watch`, `pipe`); every other process leaves their live files to
    /// their writer. Not from the file: set by the process after loading.
    pub written_here: Vec<PathBuf>,
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
    /// How the site's `receive:` sockets are made and fed.
    pub receiving: Receiving,
}

/// `receive_group:` and `receive_queue:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiving {
    /// The group that may send (socket mode 0660); `None`: root only (0600).
    pub group: Option<Account>,
    /// Bytes of received messages held in memory while the disk is slow.
    pub queue: u64,
}

impl Receiving {
    pub const DEFAULT_QUEUE: u64 = 64 << 20;
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
    /// `rotate: false`: the server rolls its own files (Caddy); logwarden never rotates the
    /// live log, and only masks and expires what the server rolled.
    pub by_server: bool,
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
    Gzip {
        level: u32,
    },
    /// `.zst` archives, the facts in a skippable frame first (see `archive::header`).
    Zstd {
        level: u32,
    },
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
    /// Where its records carry their time (`format:` of the entry, else of the site).
    pub format: LogFormat,
    /// `receive:`: logwarden writes this file itself, from a socket or a pipe.
    pub receive: Option<Receive>,
    /// `tag:`: on a socket shared by several logs, the syslog tag whose messages go here.
    pub tag: Option<String>,
}

impl Receive {
    /// As the policy writes it: `unix:/run/x.sock`, `udp:127.0.0.1:5514`, `pipe`.
    pub fn display(&self) -> String {
        match self {
            Receive::Unix(p) => format!("unix:{}", crate::escape::path(p)),
            Receive::Udp(a) => format!("udp:{a}"),
            Receive::Pipe => "pipe".into(),
        }
    }

    /// How the losses record and the metrics name the input of the log at `path`: the
    /// socket (which several logs may share), or the pipe of that log.
    pub fn input_name(&self, path: &Path) -> String {
        match self {
            Receive::Pipe => format!("pipe:{}", crate::escape::path(path)),
            socket => socket.display(),
        }
    }

    /// A socket (not a pipe).
    pub fn is_socket(&self) -> bool {
        !matches!(self, Receive::Pipe)
    }
}

/// Where a log that logwarden writes itself comes from (`receive:` of a `logs:` entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Receive {
    /// `unix:/run/logwarden/NAME.sock`: a datagram socket at that path.
    Unix(PathBuf),
    /// `udp:127.0.0.1:PORT`: a datagram socket on a loopback address.
    Udp(std::net::SocketAddr),
    /// `pipe`: `logwarden pipe` writes it from its standard input.
    Pipe,
}

#[derive(Debug, Clone)]
pub struct NamePattern {
    text: String,
    regex: Option<Regex>,
}

impl NamePattern {
    pub(crate) fn new(text: &str) -> NamePattern {
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
        Policy::build(&loaded, false, false)
    }

    /// Like [`Policy::load`], and also reads the head of every live log to warn about a
    /// `format:` that does not date its lines (`validate` only: every pass loads the policy).
    pub fn load_for_validate(path: &Path) -> Result<Policy, PolicyError> {
        let loaded = LoadedConfig::read(path).map_err(|e| PolicyError(vec![e.0]))?;
        Policy::build(&loaded, true, true)
    }

    pub fn from_config(loaded: &LoadedConfig) -> Result<Policy, PolicyError> {
        Policy::build(loaded, true, false)
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
    user_state_dir().join("logwarden.lock")
}

/// The system's record of lost lines: kept across reboots, where the service and Apache's
/// `pipe` (root) write it.
pub const SYSTEM_LOSSES_FILE: &str = "/var/lib/logwarden/losses";

/// Where the losses are recorded when `lock_file:` is not set. Root and anyone on a system
/// where logwarden is installed read the system's record (a user who may not read it is
/// told so by `check`, which never takes an unreadable record for "no loss"); anyone else
/// keeps a record of their own in their state directory.
fn default_losses_file() -> PathBuf {
    let system = Path::new(SYSTEM_LOSSES_FILE);
    if nix::unistd::geteuid().is_root() || system.parent().is_some_and(Path::is_dir) {
        return system.to_path_buf();
    }
    user_state_dir().join("logwarden.losses")
}

/// `$XDG_STATE_HOME/logwarden` (or `~/.local/state/logwarden`): a user's own, persistent.
fn user_state_dir() -> PathBuf {
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
    state.join("logwarden")
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

/// A policy from text, for the tests of every part of the validator.
#[cfg(test)]
mod testing {
    use super::*;

    pub(super) fn policy(text: &str) -> Result<Policy, PolicyError> {
        let loaded = LoadedConfig::parse(Path::new("/etc/logwarden/config.yaml"), text.to_string())
            .map_err(|e| PolicyError(vec![e.0]))?;
        Policy::from_config(&loaded)
    }

    pub(super) fn refused(text: &str) -> String {
        policy(text)
            .expect_err("policy should be refused")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::refused;
    use super::*;

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
}
