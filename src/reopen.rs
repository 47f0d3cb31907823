//! Telling the web server to reopen its logs, and knowing when it has let go of the old one.
//!
//! After a rename the writer still holds the old inode; until it reopens, lines keep landing
//! in the archive, so the archive must not be compressed, rewritten or deleted yet. This
//! module sends the reopen (a signal to a validated pid, or an argv command without a shell)
//! and reads /proc to see which processes still hold a file open for writing. It must never
//! signal a pid it has not validated: a number above 1, a live process, and one that holds
//! one of the site's files open, so a planted or stale pid file cannot aim a signal at an
//! unrelated process.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::dir::DirHandle;
use crate::plan::FileId;

/// What became of a reopen request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reopened {
    Signalled {
        pid: i32,
    },
    CommandRan,
    /// A missing pid file or a dead pid: the writer is not running, nothing to tell.
    NoWriter {
        why: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ReopenError {
    #[error("{}: {why}; not signalled", pidfile.display())]
    BadPid {
        pidfile: std::path::PathBuf,
        why: String,
    },
    #[error("reopen command {argv}: {why}")]
    Command { argv: String, why: String },
    #[error("cannot signal pid {pid}: {source}")]
    Signal { pid: i32, source: nix::Error },
}

/// Reads and validates a pid file, then signals the pid. `held` are files the writer must
/// hold open (the archives just rotated away from it) for the pid to be believed.
pub fn signal(signal: Signal, pidfile: &Path, held: &[FileId]) -> Result<Reopened, ReopenError> {
    let bad = |why: String| ReopenError::BadPid {
        pidfile: pidfile.to_path_buf(),
        why,
    };
    let text = match read_pidfile(pidfile) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Ok(Reopened::NoWriter {
                why: format!("{} does not exist", pidfile.display()),
            });
        }
        Err(e) => return Err(bad(e)),
    };
    let pid = parse_pid(&text).map_err(bad)?;
    if !Path::new(&format!("/proc/{pid}")).exists() {
        return Ok(Reopened::NoWriter {
            why: format!("pid {pid} from {} is not running", pidfile.display()),
        });
    }
    if !held.is_empty() {
        let open = open_files(pid, false);
        if !held.iter().any(|id| open.contains(id)) {
            return Err(bad(format!(
                "pid {pid} holds none of the rotated logs open, so it is not their writer"
            )));
        }
    }
    kill(Pid::from_raw(pid), signal).map_err(|source| ReopenError::Signal { pid, source })?;
    Ok(Reopened::Signalled { pid })
}

fn read_pidfile(pidfile: &Path) -> Result<Option<String>, String> {
    let (Some(dir), Some(name)) = (pidfile.parent(), pidfile.file_name()) else {
        return Err("not a file path".into());
    };
    let dir = match DirHandle::open(dir) {
        Ok(d) => d,
        Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut file = match dir.open_read(name) {
        Ok(f) => f,
        Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut text = String::new();
    file.by_ref()
        .take(64)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read: {e}"))?;
    Ok(Some(text))
}

/// A pid file holds one decimal number greater than 1 (0 and -1 would signal process
/// groups, 1 is init).
pub fn parse_pid(text: &str) -> Result<i32, String> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{t:?} is not a process id"));
    }
    match t.parse::<i32>() {
        Ok(p) if p > 1 => Ok(p),
        _ => Err(format!("{t:?} is not a process id above 1")),
    }
}

/// Runs the reopen command (argv, no shell) with a time limit.
pub fn command(argv: &[std::ffi::OsString]) -> Result<Reopened, ReopenError> {
    let shown = format!(
        "{:?}",
        argv.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>()
    );
    let err = |why: String| ReopenError::Command {
        argv: shown.clone(),
        why,
    };
    let (prog, args) = argv.split_first().ok_or_else(|| err("is empty".into()))?;
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("cannot start: {e}")))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait().map_err(|e| err(e.to_string()))? {
            Some(status) if status.success() => return Ok(Reopened::CommandRan),
            Some(status) => {
                let mut stderr = String::new();
                if let Some(mut s) = child.stderr.take() {
                    let _ = s.by_ref().take(4096).read_to_string(&mut stderr);
                }
                return Err(err(format!("{status}: {}", stderr.trim())));
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(err("did not finish within 60 s".into()));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Files (by device and inode) that process `pid` holds open; with `writing`, only those
/// open for writing. Processes we may not inspect count as holding nothing.
fn open_files(pid: i32, writing: bool) -> HashSet<FileId> {
    open_files_seen(pid, writing).0
}

/// [`open_files`], and whether some descriptor could not be looked at: root without
/// CAP_SYS_PTRACE may list another user's /proc/PID/fd (CAP_DAC_READ_SEARCH) but not
/// follow its entries.
fn open_files_seen(pid: i32, writing: bool) -> (HashSet<FileId>, bool) {
    let mut ids = HashSet::new();
    let mut denied = false;
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return (ids, true);
    };
    for fd in fds.flatten() {
        // stat through the magic link: the open file itself, whatever its name now.
        let meta = match fs::metadata(fd.path()) {
            Ok(m) => m,
            Err(e) => {
                // Only a refused readlink is the ptrace check; a file we may not stat
                // (a FUSE mount without allow_other) is not one of our logs.
                denied |= e.kind() == std::io::ErrorKind::PermissionDenied
                    && fs::read_link(fd.path())
                        .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied);
                continue;
            }
        };
        if !meta.is_file() {
            continue;
        }
        if writing && !fd_writable(pid, &fd.file_name()) {
            continue;
        }
        ids.insert(FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        });
    }
    (ids, denied)
}

fn fd_writable(pid: i32, fd: &OsStr) -> bool {
    let Ok(info) = fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.to_string_lossy()))
    else {
        // Unknown: assume the worst, so nothing is rewritten under a writer.
        return true;
    };
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .is_none_or(|flags| flags & 0o3 != 0)
}

/// Which of `ids` some process holds open for writing, with the pids.
pub fn writers(ids: &[FileId]) -> HashMap<FileId, Vec<i32>> {
    survey(ids).found
}

/// What a look through /proc found: the writers of the files asked about, and how many
/// processes could not be looked into.
#[derive(Debug, Default)]
pub struct Survey {
    pub found: HashMap<FileId, Vec<i32>>,
    /// Processes whose descriptors we may not read (as root: other users' processes when
    /// CAP_SYS_PTRACE is missing). Any of them may be a writer.
    pub hidden: usize,
}

impl Survey {
    /// Whether a process we could not inspect may be writing: as root, any hidden process
    /// counts, since root's files can be handed to any process. Without root, other users'
    /// processes are always hidden, and only root would have let them write our files.
    pub fn blind(&self) -> bool {
        self.hidden > 0 && nix::unistd::geteuid().is_root()
    }
}

pub fn survey(ids: &[FileId]) -> Survey {
    let wanted: HashSet<FileId> = ids.iter().copied().collect();
    let mut out = Survey::default();
    let me = std::process::id() as i32;
    let Ok(procs) = fs::read_dir("/proc") else {
        // No /proc at all: nobody can be seen, so nobody can be ruled out.
        out.hidden = 1;
        return out;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        // Without CAP_SYS_PTRACE, what is hidden is other users' processes, among them the
        // web server's workers. A process of our own uid that still refuses (a sandbox's
        // init holding more capabilities than we do) is not a log writer and not counted.
        let other_uid = p
            .metadata()
            .is_ok_and(|m| m.uid() != nix::unistd::geteuid().as_raw());
        if let Err(e) = fs::read_dir(format!("/proc/{pid}/fd")) {
            out.hidden +=
                usize::from(other_uid && e.kind() == std::io::ErrorKind::PermissionDenied);
            continue;
        }
        let (ids, denied) = open_files_seen(pid, true);
        out.hidden += usize::from(other_uid && denied);
        for id in ids {
            if wanted.contains(&id) {
                out.found.entry(id).or_default().push(pid);
            }
        }
    }
    if out.blind() {
        warn_once(out.hidden);
    }
    out
}

/// Root that may not read other processes' descriptors (a unit or container without
/// CAP_SYS_PTRACE) cannot tell whether a web server still writes an archive: say so, once
/// per process; every archive that needs the answer is then left alone and counted unkept.
fn warn_once(hidden: usize) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        log::warn!(
            "cannot inspect the open files of {hidden} processes: CAP_SYS_PTRACE is missing \
             (add it to the unit's CapabilityBoundingSet/AmbientCapabilities or the container's \
             cap_add); rotated archives are not compressed, rewritten or deleted until it is"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn pid_files_must_hold_a_number_above_one() {
        for bad in ["", "0", "-1", "1", "abc", "12 13", "99999999999", "+5"] {
            assert!(parse_pid(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_pid("1234\n"), Ok(1234));
    }

    #[test]
    fn finds_a_child_that_holds_a_file_open_for_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("held.log");
        fs::write(&path, "").unwrap();
        let meta = fs::metadata(&path).unwrap();
        let id = FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        let file = fs::OpenOptions::new().append(true).open(&path).unwrap();
        let mut child = Command::new("sleep")
            .arg("30")
            .stdout(file)
            .spawn()
            .unwrap();
        let found = writers(&[id]);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(found.get(&id), Some(&vec![child.id() as i32]));
        assert!(writers(&[id]).is_empty());
    }

    #[test]
    fn refuses_to_signal_a_pid_that_is_not_the_writer() {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pidfile = tmp.path().join("x.pid");
        fs::write(&pidfile, child.id().to_string()).unwrap();
        let unrelated = FileId { dev: 1, ino: 1 };
        let r = signal(Signal::SIGUSR1, &pidfile, &[unrelated]);
        assert!(
            child.try_wait().unwrap().is_none(),
            "the unrelated process was signalled"
        );
        let _ = child.kill();
        let _ = child.wait();
        assert!(r.unwrap_err().to_string().contains("not their writer"));
        let missing = signal(Signal::SIGUSR1, &tmp.path().join("none.pid"), &[]).unwrap();
        assert!(matches!(missing, Reopened::NoWriter { .. }));
    }
}
