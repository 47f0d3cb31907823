//! The actions a plan is made of, and how each reads in the log and in `--dry-run`.
//!
//! Each action names the file it is for by path and inode, so `execute` touches only what
//! the inventory listed. These types hold decisions, never make them: nothing here looks at
//! the policy or the time (that is the planner's job), and nothing here touches a file.

use std::fmt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::archive::RewriteSpec;
use crate::inventory::FileFacts;
use crate::policy::Reopen;
use crate::timestamp::{LogFormat, rfc3339};

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A temporary file an interrupted pass left behind.
    RemoveTemp {
        site: String,
        path: PathBuf,
    },
    /// A rotation died between its two renames: the prepared empty live file takes its
    /// place.
    RestoreLive {
        site: String,
        temp: PathBuf,
        live: PathBuf,
    },
    /// An uncompressed archive whose compressed copy was committed before a crash.
    RemoveSuperseded {
        site: String,
        path: PathBuf,
        by: PathBuf,
    },
    Rotate(Rotate),
    Reopen {
        site: String,
        how: Reopen,
        /// Archives rotated by an earlier pass that are due a rewrite now: if their writer
        /// still holds one (an interrupted rotation, or a writer that could not reopen),
        /// the reopen is sent again, once per pass.
        recheck: Vec<(FileId, PathBuf)>,
    },
    Rewrite(Rewrite),
    Delete {
        site: String,
        path: PathBuf,
        id: FileId,
        /// The size inventoried: a file that grew since (a writer appended) is judged again.
        size: u64,
        /// The newest record, or for an undated file its rotation time or mtime.
        newest: Timestamp,
        /// Whether `newest` is a record's time.
        dated: bool,
        cutoff: Timestamp,
    },
    /// A received log due a rotation that another process writes (`watch`, `pipe`): that
    /// process rotates it; this pass only makes sure one is running.
    LeaveToWriter {
        site: String,
        path: PathBuf,
        id: FileId,
        reason: String,
    },
    /// A file the site covers that logwarden will not touch.
    Refuse {
        site: String,
        path: PathBuf,
        why: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rotate {
    pub site: String,
    pub live: PathBuf,
    /// The inode the plan was made for; a file swapped in since is not touched.
    pub id: FileId,
    pub archive: PathBuf,
    pub recreate: Recreate,
    pub reason: String,
}

/// Device and inode: what a path named when it was inventoried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(f: &FileFacts) -> FileId {
        FileId {
            dev: f.dev,
            ino: f.ino,
        }
    }
}

/// Owner, group and mode of the recreated live file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recreate {
    pub mode: u32,
    pub owner: Id,
    pub group: Id,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Id {
    Known(u32),
    /// Named in `create:` but unknown on this host: this one rotation fails.
    Missing(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rewrite {
    pub site: String,
    pub source: PathBuf,
    pub id: FileId,
    pub dest: PathBuf,
    pub spec: RewriteSpec,
    /// Why, in words: "compress", "mask /24 /40", "drop records before …".
    pub reasons: Vec<String>,
    /// Whether a promise is due now (masking or expiry, not only compression): a rewrite
    /// deferred past a pass leaves it unkept.
    pub overdue: bool,
    /// How its records carry their time (the log's `format:`).
    pub log_format: LogFormat,
}

impl Action {
    pub fn site(&self) -> &str {
        match self {
            Action::RemoveTemp { site, .. }
            | Action::RestoreLive { site, .. }
            | Action::RemoveSuperseded { site, .. }
            | Action::Reopen { site, .. }
            | Action::Delete { site, .. }
            | Action::LeaveToWriter { site, .. }
            | Action::Refuse { site, .. } => site,
            Action::Rotate(r) => &r.site,
            Action::Rewrite(w) => &w.site,
        }
    }

    /// What the action is about, stable across plans: kind, site, file and inode (so a
    /// failure met again in a later pass is known as the same one).
    pub fn key(&self) -> String {
        let (path, id): (&Path, _) = match self {
            Action::RemoveTemp { path, .. }
            | Action::RestoreLive { temp: path, .. }
            | Action::RemoveSuperseded { path, .. }
            | Action::Refuse { path, .. } => (path, None),
            Action::Delete { path, id, .. } | Action::LeaveToWriter { path, id, .. } => {
                (path, Some(id))
            }
            Action::Rotate(r) => (&r.live, Some(&r.id)),
            Action::Rewrite(w) => (&w.source, Some(&w.id)),
            Action::Reopen { .. } => (Path::new(""), None),
        };
        let id = id.map(|i| (i.dev, i.ino));
        format!("{} {} {} {id:?}", self.kind(), self.site(), path.display())
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Action::RemoveTemp { .. } => "cleanup",
            Action::RestoreLive { .. } => "cleanup",
            Action::RemoveSuperseded { .. } => "cleanup",
            Action::Rotate(_) => "rotate",
            Action::Reopen { .. } => "reopen",
            Action::Rewrite(_) => "rewrite",
            Action::Delete { .. } => "delete",
            Action::LeaveToWriter { .. } => "writer",
            Action::Refuse { .. } => "refuse",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<8} {:<10} ", self.kind(), self.site())?;
        match self {
            Action::RemoveTemp { path, .. } => {
                write!(f, "{} (left by an interrupted pass)", path.display())
            }
            Action::RestoreLive { temp, live, .. } => {
                write!(
                    f,
                    "{} -> {} (finish an interrupted rotation)",
                    temp.display(),
                    file_name(live)
                )
            }
            Action::RemoveSuperseded { path, by, .. } => {
                write!(f, "{} (superseded by {})", path.display(), file_name(by))
            }
            Action::Rotate(r) => write!(
                f,
                "{} -> {} ({})",
                r.live.display(),
                file_name(&r.archive),
                r.reason
            ),
            Action::Reopen { how, recheck, .. } => match how {
                _ if !recheck.is_empty() => write!(
                    f,
                    "again, if a writer still holds an archive rotated earlier ({})",
                    match how {
                        Reopen::None => "none configured".to_string(),
                        Reopen::Signal { signal, pidfile } =>
                            format!("{} to the pid in {}", signal.as_str(), pidfile.display()),
                        Reopen::Command(argv) => format!(
                            "run {:?}",
                            argv.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>()
                        ),
                    }
                ),
                Reopen::None => write!(f, "none configured"),
                Reopen::Signal { signal, pidfile } => write!(
                    f,
                    "send {} to the pid in {}",
                    signal.as_str(),
                    pidfile.display()
                ),
                Reopen::Command(argv) => {
                    let words: Vec<_> = argv.iter().map(|a| a.to_string_lossy()).collect();
                    write!(f, "run {words:?}")
                }
            },
            Action::Rewrite(w) => {
                if w.source == w.dest {
                    write!(f, "{} ({})", w.source.display(), w.reasons.join(", "))
                } else {
                    write!(
                        f,
                        "{} -> {} ({})",
                        w.source.display(),
                        file_name(&w.dest),
                        w.reasons.join(", ")
                    )
                }
            }
            Action::Delete {
                path,
                newest,
                dated,
                cutoff,
                ..
            } => write!(
                f,
                "{} ({} {} is before the retention cutoff {})",
                path.display(),
                if *dated {
                    "newest record"
                } else {
                    "no dated record; its rotation time or mtime"
                },
                rfc3339(*newest),
                rfc3339(*cutoff)
            ),
            Action::LeaveToWriter { path, reason, .. } => {
                write!(f, "{} ({reason}; its writer rotates it)", path.display())
            }
            Action::Refuse { path, why, .. } => write!(f, "{}: {why}", path.display()),
        }
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delete(path: &str, ino: u64) -> Action {
        Action::Delete {
            site: "main".into(),
            path: PathBuf::from(path),
            id: FileId { dev: 1, ino },
            size: 10,
            newest: "2026-11-01T10:00:00Z".parse().unwrap(),
            dated: true,
            cutoff: "2026-11-15T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn the_key_tells_the_same_file_from_one_swapped_in_under_its_name() {
        let a = delete("/l/access.log.1.gz", 7);
        assert_eq!(a.key(), delete("/l/access.log.1.gz", 7).key());
        assert_ne!(a.key(), delete("/l/access.log.1.gz", 8).key());
        assert_ne!(a.key(), delete("/l/access.log.2.gz", 7).key());
        assert!(
            a.key().starts_with("delete main /l/access.log.1.gz"),
            "{}",
            a.key()
        );
    }

    #[test]
    fn a_delete_reads_as_its_reason() {
        assert_eq!(
            delete("/l/access.log.1.gz", 7).to_string(),
            "delete   main       /l/access.log.1.gz (newest record 2026-11-01T10:00:00Z is before the retention cutoff 2026-11-15T00:00:00Z)"
        );
    }
}
