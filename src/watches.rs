//! The inotify watches of `watch` on the log directories, and the hints their events leave.
//!
//! It exists so the service hears a log being written, rotated or removed within a second,
//! without polling. An event is only a hint: it names paths, which this module turns into
//! the sites to look at; what is due is read from the directory itself. A missing log
//! directory is watched through its nearest existing ancestor, a directory that cannot be
//! watched (the inotify limit) is tried again at every look, and a busy one is paused until
//! the next look so a web server writing line by line does not wake the service thousands
//! of times a second.
//!
//! What it must never do: read or change a log file; or lose a hint (an overflowed queue or
//! a failed watch means every site).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::policy::Policy;
use crate::repeats::Repeats;
use crate::schedule;

/// Paths events pointed at since the daemon last looked; filled by the notify thread.
#[derive(Default)]
struct Hints {
    paths: HashSet<PathBuf>,
    all: bool,
    /// The loop was woken for these hints; no need to wake it again.
    sent: bool,
}

/// The watched directories and the hints waiting to be read.
pub struct Watches {
    watcher: RecommendedWatcher,
    /// Files this process writes itself (received logs): their writes are not hints (the
    /// writer says when one reaches its size limit); a rename or removal still is.
    quiet: Arc<Mutex<HashSet<PathBuf>>>,
    /// Wakes the loop (what the notify thread calls).
    wake: Arc<dyn Fn() + Send + Sync>,
    /// Watched directory → its (dev, ino) when the watch was added.
    watched: HashMap<PathBuf, (u64, u64)>,
    hints: Arc<Mutex<Hints>>,
    /// Directories unwatched until the next look (see [`Watches::pause_busy`]).
    paused: Vec<PathBuf>,
    /// Directories that could not be watched: tried again at every look.
    unwatched: BTreeSet<PathBuf>,
    warnings: Repeats,
    /// The safety rescan interval, which covers what cannot be watched (for the warning).
    rescan: Duration,
}

/// The directories each site lives in, absolute as event paths are.
pub fn site_dirs(policy: &Policy) -> Vec<(String, Vec<PathBuf>)> {
    let cwd = std::env::current_dir().unwrap_or_default();
    policy
        .sites
        .iter()
        .map(|s| {
            // each log's directory, and where its archives go (the same rule rotation uses)
            let mut dirs: Vec<PathBuf> = s
                .logs
                .iter()
                .flat_map(|p| [cwd.join(&p.dir), cwd.join(s.archive_home(&p.dir))])
                .collect();
            dirs.sort();
            dirs.dedup();
            (s.name.clone(), dirs)
        })
        .collect()
}

impl Watches {
    /// No directory is watched yet ([`Watches::refresh`] does it). `wake` is called from
    /// the notify thread when the first hint since the last read arrives.
    pub fn new(
        rescan: Duration,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> notify::Result<Watches> {
        let hints = Arc::new(Mutex::new(Hints::default()));
        let quiet: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(wake);
        let watcher = {
            let (hints, quiet, wake) = (Arc::clone(&hints), Arc::clone(&quiet), Arc::clone(&wake));
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                if let Ok(ev) = &res {
                    let written = matches!(
                        ev.kind,
                        EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any)
                            | EventKind::Access(AccessKind::Close(AccessMode::Write))
                    );
                    if written && !ev.paths.is_empty() {
                        let quiet = quiet
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        if ev.paths.iter().all(|p| quiet.contains(p)) {
                            return;
                        }
                    }
                }
                let mut h = hints
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match res {
                    Ok(ev) => {
                        match ev.kind {
                            // Opening or reading a file (our own checks do) is not a change.
                            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
                            EventKind::Access(_) => return,
                            _ => {}
                        }
                        if ev.need_rescan() || ev.paths.is_empty() {
                            h.all = true;
                        } else {
                            for p in ev.paths {
                                h.paths.insert(p);
                            }
                        }
                    }
                    Err(e) => {
                        log::debug!("file-system events: {e}");
                        h.all = true;
                    }
                }
                if !h.sent {
                    h.sent = true;
                    wake();
                }
            })?
        };
        Ok(Watches {
            watcher,
            quiet,
            wake,
            watched: HashMap::new(),
            hints,
            paused: Vec::new(),
            unwatched: BTreeSet::new(),
            warnings: Repeats::default(),
            rescan,
        })
    }

    /// The files this process writes itself, whose writes are no hints (absolute, as
    /// event paths are).
    pub fn set_quiet(&self, paths: &[PathBuf]) {
        let cwd = std::env::current_dir().unwrap_or_default();
        *self
            .quiet
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            paths.iter().map(|p| cwd.join(p)).collect();
    }

    /// A hint from this process: `path` changed (a received log reached its size limit),
    /// as an event would say. Callable from any thread.
    pub fn hinter(&self) -> impl Fn(&Path) + Send + Sync + 'static {
        let (hints, wake) = (Arc::clone(&self.hints), Arc::clone(&self.wake));
        move |path: &Path| {
            let mut h = hints
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            h.paths.insert(path.to_path_buf());
            if !h.sent {
                h.sent = true;
                wake();
            }
        }
    }

    /// How many directories are watched.
    pub fn count(&self) -> usize {
        self.watched.len()
    }

    /// Some directory could not be watched.
    pub fn any_unwatched(&self) -> bool {
        !self.unwatched.is_empty()
    }

    /// A web server writing line by line sends an event per write: thousands a second,
    /// each a wakeup, although one look per second is all the daemon needs. So a
    /// directory that has sent a hint is unwatched until the look, which watches it again
    /// first and then reads the directory as it is.
    pub fn pause_busy(&mut self) {
        let busy: Vec<PathBuf> = {
            let h = self
                .hints
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            h.paths
                .iter()
                .filter_map(|p| p.parent())
                .filter(|d| self.watched.contains_key(*d))
                .map(Path::to_path_buf)
                .collect()
        };
        for dir in busy {
            if self.watched.remove(&dir).is_some() {
                let _ = self.watcher.unwatch(&dir);
                self.paused.push(dir.clone());
                log::trace!("{}: paused until the next look", dir.display());
            }
        }
    }

    /// Reads the hints that have settled: the sites they point at.
    pub fn read_hints(&mut self, site_dirs: &[(String, Vec<PathBuf>)]) -> Vec<String> {
        // Watch the paused directories again before looking, so nothing written after the
        // look goes unnoticed.
        let resumed = std::mem::take(&mut self.paused);
        if !resumed.is_empty() {
            self.refresh(site_dirs);
        }
        let (all, mut paths) = {
            let mut h = self
                .hints
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            h.sent = false;
            (std::mem::take(&mut h.all), std::mem::take(&mut h.paths))
        };
        // Whatever happened in a paused directory sent no event: look at it all.
        paths.extend(resumed);
        self.sites_for(site_dirs, all, &paths)
    }

    /// Tries again the directories that could not be watched: the sites of those watched
    /// now, whose changes went unnoticed.
    pub fn retry(&mut self, site_dirs: &[(String, Vec<PathBuf>)]) -> Vec<String> {
        let fixed = self.refresh(site_dirs);
        if fixed.is_empty() {
            return Vec::new();
        }
        self.sites_for(site_dirs, false, &fixed.into_iter().collect())
    }

    /// The sites the hints point at. A path that is not a file directly inside a log
    /// directory (the directory itself, an ancestor) means the watches need a refresh.
    fn sites_for(
        &mut self,
        site_dirs: &[(String, Vec<PathBuf>)],
        all: bool,
        paths: &HashSet<PathBuf>,
    ) -> Vec<String> {
        let mut structural = all;
        for p in paths {
            if self.watched.contains_key(p) {
                // The watched directory itself was removed or moved: watch it afresh.
                self.watched.remove(p);
                let _ = self.watcher.unwatch(p);
                structural = true;
            }
            let inside = site_dirs.iter().any(|(_, dirs)| {
                p.parent()
                    .is_some_and(|parent| dirs.iter().any(|d| d == parent))
            });
            if !inside {
                structural = true;
            }
        }
        if structural {
            self.refresh(site_dirs);
        }
        schedule::hinted_sites(site_dirs, all, paths)
    }

    /// Watches every log directory, or its nearest existing ancestor while it is missing.
    /// Returns the directories watched now that could not be watched before.
    pub fn refresh(&mut self, site_dirs: &[(String, Vec<PathBuf>)]) -> Vec<PathBuf> {
        let mut fixed = Vec::new();
        let mut want: BTreeSet<PathBuf> = BTreeSet::new();
        for (_, dirs) in site_dirs {
            for d in dirs {
                let mut p = d.as_path();
                loop {
                    if std::fs::metadata(p).is_ok_and(|m| m.is_dir()) {
                        want.insert(p.to_path_buf());
                        break;
                    }
                    match p.parent() {
                        Some(parent) if !parent.as_os_str().is_empty() => p = parent,
                        _ => break,
                    }
                }
            }
        }
        let current: Vec<(PathBuf, (u64, u64))> = self
            .watched
            .iter()
            .map(|(p, id)| (p.clone(), *id))
            .collect();
        for (p, id) in current {
            if !want.contains(&p) || dir_id(&p) != Some(id) {
                let _ = self.watcher.unwatch(&p);
                self.watched.remove(&p);
                log::debug!("{}: no longer watched", p.display());
            }
        }
        for p in want.iter().cloned() {
            if self.watched.contains_key(&p) {
                continue;
            }
            let Some(id) = dir_id(&p) else { continue };
            let cause = format!("watch {}", p.display());
            match self.watcher.watch(&p, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    log::debug!("{}: watched", p.display());
                    if self.unwatched.remove(&p) {
                        log::info!("{}: watched now", p.display());
                        fixed.push(p.clone());
                    }
                    self.warnings.clear(&cause);
                    self.watched.insert(p, id);
                }
                Err(e) => {
                    self.warnings.log(
                        log::Level::Warn,
                        &cause,
                        &format_args!(
                            "{}: cannot watch ({e}); tried again at every look, and the safety rescan every {} covers it",
                            p.display(),
                            humantime::format_duration(self.rescan)
                        ),
                    );
                    self.unwatched.insert(p);
                }
            }
        }
        // A directory no longer wanted is no longer retried.
        self.unwatched.retain(|p| want.contains(p));
        fixed
    }
}

fn dir_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p)
        .ok()
        .filter(std::fs::Metadata::is_dir)
        .map(|m| (m.dev(), m.ino()))
}
