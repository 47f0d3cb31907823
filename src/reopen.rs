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
    /// The writer, signalled earlier in this pass for another site, let go of these rotated
    /// logs already (one rsyslog writing the logs of two sites reopens them all at the first
    /// site's HUP): no process holds them open.
    LetGo,
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
/// `signalled` are the pids this pass already believed and signalled for another site: one
/// such that now holds none of `held`, while no process does, has let go of them already.
pub fn signal(
    signal: Signal,
    pidfile: &Path,
    held: &[FileId],
    signalled: &HashSet<i32>,
) -> Result<Reopened, ReopenError> {
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
            // A writer this pass already told (one rsyslog for two sites) reopened every
            // file at the first signal; if no process writes these any more, it let go of
            // them too. Any other pid is not believed: another writer, or one hidden from
            // us, or a pid never seen holding a log means the pid file names the wrong one.
            if signalled.contains(&pid) {
                let seen = survey();
                if !seen.blind() && held.iter().all(|id| !seen.found.contains_key(id)) {
                    return Ok(Reopened::LetGo);
                }
            }
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

/// Which of `ids` some process holds open for writing, with the pids (passes ask
/// [`Looks`] instead, which walks /proc once for many actions).
#[cfg(test)]
fn writers(ids: &[FileId]) -> HashMap<FileId, Vec<i32>> {
    let mut found = survey().found;
    found.retain(|id, _| ids.contains(id));
    found
}

/// What a look through /proc found: every file open for writing with the pids that hold
/// it, and how many processes could not be looked into.
#[derive(Debug, Default, Clone)]
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

/// One walk of /proc: who holds which file open for writing.
pub fn survey() -> Survey {
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
            out.found.entry(id).or_default().push(pid);
        }
    }
    if out.blind() {
        warn_once(out.hidden);
    }
    out
}

/// Whether a file is held open for writing, by the pass's looks at /proc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    Clear,
    By(Vec<i32>),
    /// Not seen, but this many processes could not be looked into (see [`Survey::blind`]).
    Blind(usize),
}

/// The looks at /proc of one pass, shared by its actions: /proc is walked once for all of
/// them, not once per action, and again only when a look cannot answer. A clear answer is
/// taken from a look since the last rotation or reopen (either changes who holds what) and
/// at most `fresh` old, so no answer is older than a second; a writer seen is always looked
/// for again, and the two-looks rule of [`Looks::held`] counts the looks whatever action
/// took them.
pub struct Looks {
    walk: Box<dyn FnMut() -> Survey + Send>,
    fresh: Duration,
    /// The latest looks (at most two), oldest first, none from before the last
    /// rotation or reopen.
    recent: Vec<(Instant, Survey)>,
}

/// Between two looks: a process that moves its descriptors about (a shell's
/// redirection) can slip through one look, rarely through two this far apart.
const SPACING: Duration = Duration::from_millis(25);

impl Looks {
    /// `walk` takes one look (as root: [`survey`] under `creds::as_root`).
    pub fn new(walk: Box<dyn FnMut() -> Survey + Send>) -> Looks {
        Looks {
            walk,
            fresh: Duration::from_secs(1),
            recent: Vec::new(),
        }
    }

    /// A rotation or a reopen changes who holds what: earlier looks say nothing of now.
    pub fn forget(&mut self) {
        self.recent.clear();
    }

    /// A new look, at least [`SPACING`] after the one before it.
    fn look(&mut self) -> &Survey {
        if let Some((at, _)) = self.recent.last() {
            if let Some(wait) = SPACING.checked_sub(at.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let s = (self.walk)();
        if self.recent.len() >= 2 {
            self.recent.remove(0);
        }
        self.recent.push((Instant::now(), s));
        &self.recent.last().expect("just pushed").1
    }

    /// The latest look if it still counts, else a new one.
    pub fn current(&mut self) -> &Survey {
        let fresh = self.fresh;
        self.recent.retain(|(at, _)| at.elapsed() < fresh);
        if self.recent.is_empty() {
            return self.look();
        }
        &self.recent.last().expect("not empty").1
    }

    /// Who holds `id` open for writing. A writer seen, or told to reopen (`settling`: a
    /// reopen was sent moments ago), counts as gone only when two looks in a row do not
    /// find it; while settling, a writer still seen is waited for.
    pub fn held(&mut self, id: FileId, settling: &dyn Fn() -> bool) -> Held {
        let fresh = self.fresh;
        self.recent.retain(|(at, _)| at.elapsed() < fresh);
        let mut clear_looks = 0;
        let mut last: Option<Vec<i32>> = None;
        for (_, s) in &self.recent {
            match s.found.get(&id) {
                Some(pids) => {
                    clear_looks = 0;
                    last = Some(pids.clone());
                }
                None => clear_looks += 1,
            }
        }
        // Only a clear answer is taken from earlier looks: a writer seen is looked for again.
        if let Some((_, newest)) = self.recent.last() {
            if !newest.found.contains_key(&id) {
                if newest.blind() && !settling() {
                    return Held::Blind(newest.hidden);
                }
                if clear_looks >= 2 || (last.is_none() && !settling()) {
                    return Held::Clear;
                }
            }
        }
        loop {
            let s = self.look();
            match s.found.get(&id) {
                Some(pids) => {
                    clear_looks = 0;
                    last = Some(pids.clone());
                }
                // A process we could not look into right after a reopen is most often one
                // being born (a restarted server's new worker changing its ids): look
                // again until the settling ends before calling the answer blind.
                None if s.blind() => {
                    if !settling() {
                        return Held::Blind(s.hidden);
                    }
                    continue;
                }
                None => {
                    clear_looks += 1;
                    if clear_looks >= 2 || (last.is_none() && !settling()) {
                        return Held::Clear;
                    }
                }
            }
            if !settling() && clear_looks == 0 {
                return Held::By(last.unwrap_or_default());
            }
        }
    }
}

/// Root that may not read other processes' descriptors cannot tell whether a web server
/// still writes an archive. Without CAP_SYS_PTRACE (a unit or container that drops it) that
/// is a setup to fix: say so, once per process. With it, a refusal is passing (a restarted
/// server's new worker changing its ids) or a security module's (Yama, AppArmor, SELinux):
/// the looks wait the first out, and an archive left for the second fails its action with
/// [`blind_cause`], so a warning here would only blame the wrong thing.
fn warn_once(hidden: usize) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if has_ptrace() {
        log::debug!(
            "{hidden} processes refused a look at their open files (passing, or a security module)"
        );
    } else if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        log::warn!(
            "cannot inspect the open files of {hidden} processes: CAP_SYS_PTRACE is missing \
             (add it to the unit's CapabilityBoundingSet/AmbientCapabilities or the container's \
             cap_add); rotated archives are not compressed, rewritten or deleted until it is"
        );
    }
}

/// Why processes could not be inspected, for the message of an archive left alone.
pub fn blind_cause() -> &'static str {
    if has_ptrace() {
        "CAP_SYS_PTRACE is in effect: a security module (Yama's ptrace_scope, AppArmor, SELinux) or a process changing its ids refused"
    } else {
        "CAP_SYS_PTRACE is missing"
    }
}

/// Whether this process may read other users' `/proc/PID/fd`: CAP_SYS_PTRACE (bit 19) in
/// its effective set, as `/proc/self/status` says.
fn has_ptrace() -> bool {
    const CAP_SYS_PTRACE: u32 = 19;
    fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0)
    })
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

    /// Looks that answer from a script, counting the walks.
    fn scripted(script: Vec<Vec<(u64, i32)>>) -> (Looks, std::sync::Arc<std::sync::Mutex<usize>>) {
        let walks = std::sync::Arc::new(std::sync::Mutex::new(0));
        let counter = walks.clone();
        let looks = Looks::new(Box::new(move || {
            let mut n = counter.lock().unwrap();
            let held = script
                .get(*n)
                .or(script.last())
                .cloned()
                .unwrap_or_default();
            *n += 1;
            let mut s = Survey::default();
            for (ino, pid) in held {
                s.found.entry(FileId { dev: 1, ino }).or_default().push(pid);
            }
            s
        }));
        (looks, walks)
    }

    fn id(ino: u64) -> FileId {
        FileId { dev: 1, ino }
    }

    #[test]
    fn one_walk_of_proc_answers_every_action_of_a_pass() {
        let (mut looks, walks) = scripted(vec![vec![(9, 100)]]);
        for ino in 10..=60 {
            assert_eq!(looks.held(id(ino), &|| false), Held::Clear);
        }
        assert_eq!(*walks.lock().unwrap(), 1);
        // A writer seen is looked for again before it is called one.
        assert_eq!(looks.held(id(9), &|| false), Held::By(vec![100]));
        assert_eq!(*walks.lock().unwrap(), 2);
        // A rotation or reopen: the next answer comes from a new look.
        looks.forget();
        assert_eq!(looks.held(id(1), &|| false), Held::Clear);
        assert_eq!(*walks.lock().unwrap(), 3);
    }

    #[test]
    fn a_blind_look_while_a_reopen_settles_is_looked_at_again() {
        // First walk: one process could not be inspected (as root: blind); then clear.
        let walks = std::sync::Arc::new(std::sync::Mutex::new(0));
        let counter = walks.clone();
        let mut looks = Looks::new(Box::new(move || {
            let mut n = counter.lock().unwrap();
            *n += 1;
            Survey {
                hidden: usize::from(*n == 1),
                ..Survey::default()
            }
        }));
        let settling_until = Instant::now() + Duration::from_secs(5);
        let settling = || Instant::now() < settling_until;
        assert_eq!(looks.held(id(9), &settling), Held::Clear);
        assert!(*walks.lock().unwrap() >= 2);
        // Outside a settling, a blind look is the answer (for root, who could see all).
        let mut blind = Looks::new(Box::new(|| Survey {
            hidden: 1,
            ..Survey::default()
        }));
        let want = if nix::unistd::geteuid().is_root() {
            Held::Blind(1)
        } else {
            Held::Clear
        };
        assert_eq!(blind.held(id(9), &|| false), want);
    }

    #[test]
    fn a_writer_that_lets_go_is_gone_only_after_two_clear_looks() {
        // Seen, then gone: outside a reopen's settling, the first clear look is not enough.
        let (mut looks, walks) = scripted(vec![vec![(9, 100)], vec![], vec![]]);
        assert_eq!(looks.held(id(1), &|| false), Held::Clear);
        assert_eq!(looks.held(id(9), &|| false), Held::Clear);
        assert_eq!(*walks.lock().unwrap(), 3);
        // While settling, every file needs two clear looks; the same two serve them all.
        let (mut looks, walks) = scripted(vec![vec![(9, 100)], vec![(9, 100)], vec![]]);
        for ino in [9, 1, 2, 3] {
            assert_eq!(looks.held(id(ino), &|| true), Held::Clear, "{ino}");
        }
        assert_eq!(*walks.lock().unwrap(), 4);
    }

    #[test]
    fn a_look_older_than_a_second_is_taken_again_and_a_blind_one_answers_blind() {
        let (mut looks, walks) = scripted(vec![vec![]]);
        looks.fresh = Duration::from_millis(30);
        assert_eq!(looks.held(id(1), &|| false), Held::Clear);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(looks.held(id(2), &|| false), Held::Clear);
        assert_eq!(*walks.lock().unwrap(), 2);
        if nix::unistd::geteuid().is_root() {
            let mut blind = Looks::new(Box::new(|| Survey {
                found: HashMap::new(),
                hidden: 3,
            }));
            assert_eq!(blind.held(id(1), &|| false), Held::Blind(3));
        }
    }

    #[test]
    fn refuses_to_signal_a_pid_that_is_not_the_writer() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("access.log-1");
        fs::write(&log, "x\n").unwrap();
        let meta = fs::metadata(&log).unwrap();
        let rotated = FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        // The real writer holds the rotated log; the pid file names another process.
        let mut writer = Command::new("sh")
            .arg("-c")
            .arg("exec 3>>\"$0\"; exec sleep 30")
            .arg(&log)
            .spawn()
            .unwrap();
        let mut other = Command::new("sleep").arg("30").spawn().unwrap();
        let pidfile = tmp.path().join("x.pid");
        fs::write(&pidfile, other.id().to_string()).unwrap();
        let seen = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            open_files(writer.id() as i32, true).contains(&rotated)
        });
        assert!(seen, "the writer did not open the log");
        let r = signal(Signal::SIGUSR1, &pidfile, &[rotated], &HashSet::new());
        assert!(
            other.try_wait().unwrap().is_none(),
            "the unrelated process was signalled"
        );
        assert!(r.unwrap_err().to_string().contains("not their writer"));
        // Once nobody writes the rotated log: still refused for a pid never believed, and
        // nobody to tell for one this pass signalled already.
        let _ = writer.kill();
        let _ = writer.wait();
        let r = signal(Signal::SIGUSR1, &pidfile, &[rotated], &HashSet::new());
        assert!(r.unwrap_err().to_string().contains("not their writer"));
        let told = HashSet::from([other.id() as i32]);
        let r = signal(Signal::SIGUSR1, &pidfile, &[rotated], &told).unwrap();
        assert_eq!(r, Reopened::LetGo);
        assert!(
            other.try_wait().unwrap().is_none(),
            "signalled all the same"
        );
        let _ = other.kill();
        let _ = other.wait();
        let missing = signal(
            Signal::SIGUSR1,
            &tmp.path().join("none.pid"),
            &[],
            &HashSet::new(),
        )
        .unwrap();
        assert!(matches!(missing, Reopened::NoWriter { .. }));
    }
}
