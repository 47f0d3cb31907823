//! `logwarden watch`: the system service that acts the moment something is due.
//!
//! It exists so a size limit or a deadline is honoured within seconds instead of at the next
//! timer tick. It only decides *when* a site is looked at: file-system events (from
//! `notify`, on the log *directories*), signals and timers go into the [`schedule`], which is
//! pure and says which sites are due; this module hears them, keeps the watches and runs the
//! looks. Every change is made by [`pass::measured`], the very pass `enforce` runs, under
//! the same lock, taken only while a pass runs. Events are hints, never facts: a site an
//! event points at gets a cheap, read-only inventory and plan, and a locked pass only when
//! that plan has something to do. Deadlines come from [`plan::next_deadline`], and a slow
//! safety rescan covers file systems that send no events, so correctness never depends on
//! them.
//!
//! What it must never do: change a file outside `pass`; hold the lock while sleeping;
//! poll busily; wake itself in a loop with its own writes (read-only checks write nothing,
//! and an action that was just attempted is not retried on every event); or die on a bad
//! policy reload (the old policy stays in force).
//!
//! Liveness is not pass length: systemd's watchdog is fed by a thread of its own
//! ([`systemd`]), as long as the daemon shows signs of life (the main loop wakes for each
//! ping, a pass reports each action, and a long compression shows as I/O of the main
//! thread); a hung daemon goes silent and is restarted, a busy one is not. `READY=1` goes out once the policy is loaded
//! and the watches are set, before the backlog is worked off; due sites are worked off in
//! rounds of at most [`ROUND`], so signals and events are heard between them.
//!
//! The metrics file describes the whole service, not the last pass: every site keeps its
//! latest state (from its last pass, or from a look that found nothing due) and the file is
//! rewritten after every pass and at least every [`schedule::METRICS_EVERY`], so a failing
//! site stays visible until it succeeds and an idle service still proves it is alive.
//!
//! `--now` in watch mode is the starting point of a clock that then advances with real time.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

use crate::inventory::Inventory;
use crate::lock::{self, LockError};
use crate::metrics::Metrics;
use crate::pass;
use crate::plan::{self, Action};
use crate::policy::Policy;
use crate::schedule::{self, Event, Schedule, Todo};
use crate::systemd::{self, Liveness, SdNotify};
use crate::timestamp::StampReader;

/// How long a pass waits for the lock before it is retried later.
const LOCK_WAIT: Duration = Duration::from_secs(1);
const LOCK_RETRY: Duration = Duration::from_secs(5);
/// When a pass deferred an action (a writer still held a file), when to try again.
const DEFER_RETRY: Duration = Duration::from_secs(30);
/// Due sites are looked at in rounds of about this long (at least one site each), then the
/// loop hears signals and events before it goes on with the rest.
const ROUND: Duration = Duration::from_secs(1);

/// What the daemon needs from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub config: PathBuf,
    /// The start of a clock that advances with real time (tests); the wall clock otherwise.
    pub now: Option<Timestamp>,
    /// The safety rescan interval.
    pub rescan: Duration,
    /// `--metrics-file`, which overrides the policy's `metrics_file:` across reloads.
    pub metrics_file: Option<PathBuf>,
}

impl Options {
    fn load(&self) -> anyhow::Result<Policy> {
        let mut policy = pass::load_policy(&self.config)?;
        policy.metrics_file = self.metrics_file.clone().or(policy.metrics_file);
        Ok(policy)
    }
}

/// The daemon's notion of time: the wall clock, or `--now` advancing with real time.
#[derive(Debug, Clone, Copy)]
struct Clock {
    start: Option<(Timestamp, Instant)>,
}

impl Clock {
    fn now(&self) -> Timestamp {
        match self.start {
            None => Timestamp::now(),
            Some((t, at)) => {
                t + SignedDuration::try_from(at.elapsed()).unwrap_or(SignedDuration::ZERO)
            }
        }
    }
}

enum Msg {
    /// New hints are waiting in [`Hints`].
    Fs,
    Signal(i32),
}

/// Paths events pointed at since the daemon last looked; filled by the notify thread.
#[derive(Default)]
struct Hints {
    paths: HashSet<PathBuf>,
    all: bool,
    /// A [`Msg::Fs`] is on its way; no need to send another.
    sent: bool,
}

/// Runs the service until SIGTERM or SIGINT.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let policy = opts.load()?;
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));

    let mut signals = signal_hook::iterator::Signals::new([SIGHUP, SIGTERM, SIGINT, SIGUSR1])?;
    let signal_handle = signals.handle();
    {
        let tx = tx.clone();
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if sig == SIGTERM || sig == SIGINT {
                        // Seen by a pass in progress: it finishes the current action only.
                        stop.store(true, Ordering::SeqCst);
                    }
                    if tx.send(Msg::Signal(sig)).is_err() {
                        break;
                    }
                }
            })?;
    }

    let hints = Arc::new(Mutex::new(Hints::default()));
    let watcher = {
        let hints = Arc::clone(&hints);
        let tx = tx.clone();
        notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let mut h = hints.lock().unwrap_or_else(|e| e.into_inner());
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
                let _ = tx.send(Msg::Fs);
            }
        })?
    };
    drop(tx);

    let sd = SdNotify::from_env().map(Arc::new);
    let sd_watchdog = sd.as_ref().and_then(|s| s.watchdog);
    let mut d = Daemon {
        clock: Clock {
            start: opts.now.map(|t| (t, Instant::now())),
        },
        stamps: StampReader::default(),
        // Everything is looked at once at start, then on hints, deadlines and the rescan.
        schedule: Schedule::new(
            Instant::now(),
            site_names(&policy),
            opts.rescan,
            sd_watchdog,
        ),
        attempted: HashMap::new(),
        watcher,
        watched: HashMap::new(),
        hints,
        stop: Arc::clone(&stop),
        sd,
        life: Arc::new(Liveness::new()),
        paused: Vec::new(),
        metrics: HashMap::new(),
        metrics_changed: true,
        warnings: crate::repeats::Repeats::default(),
        unwatched: BTreeSet::new(),
        policy,
        opts,
    };
    d.refresh_watches();
    d.life.beat();
    if let (Some(sd), Some(every)) = (&d.sd, sd_watchdog) {
        systemd::spawn_watchdog(
            Arc::clone(sd),
            every,
            Arc::clone(&d.life),
            Arc::clone(&stop),
        )?;
    }
    log::info!(
        "watching {} site(s) in {} director(ies)",
        d.policy.sites.len(),
        d.watched.len()
    );
    // Ready to hear events and signals: the backlog is worked off after this.
    systemd::send(
        &d.sd,
        &format!(
            "READY=1\nSTATUS=working off the backlog of {} site(s)",
            d.policy.sites.len()
        ),
    );

    let mut backlog = true;
    loop {
        d.life.beat();
        if !d.schedule.is_idle() {
            d.check_round();
        }
        if d.metrics_changed {
            d.write_metrics();
            d.schedule.metrics_written(Instant::now());
        }
        if backlog && d.schedule.is_idle() {
            systemd::send(
                &d.sd,
                &format!("STATUS=watching {} site(s)", d.policy.sites.len()),
            );
            backlog = false;
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }

        let wake = d
            .schedule
            .wake(Instant::now(), d.clock.now(), !d.unwatched.is_empty());
        let msg = rx.recv_timeout(wake.saturating_duration_since(Instant::now()));
        let now = Instant::now();
        match msg {
            Ok(Msg::Fs) => {
                log::trace!("file-system hints");
                d.schedule.on(Event::Hint, now);
                d.pause_busy_dirs();
            }
            Ok(Msg::Signal(SIGHUP)) => {
                systemd::send(
                    &d.sd,
                    &format!("RELOADING=1\nMONOTONIC_USEC={}", systemd::monotonic_usec()),
                );
                d.reload();
                systemd::send(&d.sd, "READY=1");
            }
            Ok(Msg::Signal(SIGUSR1)) => {
                log::info!("SIGUSR1: a pass of every site, now");
                d.schedule.on(Event::PassAll, now);
            }
            Ok(Msg::Signal(sig)) => {
                log::info!("signal {sig}: stopping");
                stop.store(true, Ordering::SeqCst);
                break;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let todo = d.schedule.tick(now, d.clock.now(), !d.unwatched.is_empty());
        d.act_on(todo);
    }

    systemd::send(&d.sd, "STOPPING=1");
    signal_handle.close();
    log::info!("stopped");
    Ok(())
}

fn site_names(policy: &Policy) -> Vec<String> {
    policy.sites.iter().map(|s| s.name.clone()).collect()
}

struct Daemon {
    opts: Options,
    policy: Policy,
    clock: Clock,
    stamps: StampReader,
    schedule: Schedule,
    /// Per site, the actions its last pass attempted: if they are still planned, they failed
    /// or were deferred, and events alone do not retry them.
    attempted: HashMap<String, HashSet<String>>,
    watcher: RecommendedWatcher,
    /// Watched directory → its (dev, ino) when the watch was added.
    watched: HashMap<PathBuf, (u64, u64)>,
    hints: Arc<Mutex<Hints>>,
    stop: Arc<AtomicBool>,
    sd: Option<Arc<SdNotify>>,
    life: Arc<Liveness>,
    /// Directories unwatched until the next look (see `pause_busy_dirs`).
    paused: Vec<PathBuf>,
    /// Every site's latest state, from its last pass or a look that found nothing due.
    metrics: HashMap<String, Metrics>,
    /// A pass ran (or a rescan is due) since the metrics file was last written.
    metrics_changed: bool,
    warnings: crate::repeats::Repeats,
    /// Directories that could not be watched: tried again at every look.
    unwatched: BTreeSet<PathBuf>,
}

impl Daemon {
    /// Reads the policy again and looks at every site afresh; a bad one is logged and the
    /// old one stays in force.
    fn reload(&mut self) {
        match self.opts.load() {
            Ok(p) => {
                self.policy = p;
                self.attempted.clear();
                let names = site_names(&self.policy);
                self.schedule.on(Event::Reloaded(names), Instant::now());
                let policy = &self.policy;
                self.metrics.retain(|name, _| policy.site(name).is_some());
                self.metrics_changed = true;
                self.refresh_watches();
                log::info!(
                    "{}: reloaded; {} site(s)",
                    self.opts.config.display(),
                    self.policy.sites.len()
                );
            }
            Err(e) => {
                log::error!("reload failed, the previous policy stays in force: {e:#}");
            }
        }
    }

    /// A web server writing line by line sends an event per write: thousands a second,
    /// each a wakeup, although one look per second is all the daemon needs. So a
    /// directory that has sent a hint is unwatched until the look, which watches it again
    /// first and then reads the directory as it is.
    fn pause_busy_dirs(&mut self) {
        let busy: Vec<PathBuf> = {
            let h = self.hints.lock().unwrap_or_else(|e| e.into_inner());
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

    /// The directories a site lives in, absolute as event paths are.
    fn site_dirs(&self) -> Vec<(String, Vec<PathBuf>)> {
        let cwd = std::env::current_dir().unwrap_or_default();
        self.policy
            .sites
            .iter()
            .map(|s| {
                let mut dirs: Vec<PathBuf> = s.logs.iter().map(|p| cwd.join(&p.dir)).collect();
                dirs.extend(s.archive_dir.as_ref().map(|a| cwd.join(a)));
                dirs.sort();
                dirs.dedup();
                (s.name.clone(), dirs)
            })
            .collect()
    }

    /// The sites the hints point at. A path that is not a file directly inside a log
    /// directory (the directory itself, an ancestor) means the watches need a refresh.
    fn sites_for(&mut self, all: bool, paths: &HashSet<PathBuf>) -> Vec<String> {
        let site_dirs = self.site_dirs();
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
            self.refresh_watches();
        }
        schedule::hinted_sites(&site_dirs, all, paths)
    }

    /// Watches every log directory, or its nearest existing ancestor while it is missing.
    /// Returns the directories watched now that could not be watched before.
    fn refresh_watches(&mut self) -> Vec<PathBuf> {
        let mut fixed = Vec::new();
        let mut want: BTreeSet<PathBuf> = BTreeSet::new();
        for (_, dirs) in self.site_dirs() {
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
                            humantime::format_duration(self.opts.rescan)
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

    /// Writes every site's latest state, as one file.
    fn write_metrics(&mut self) {
        self.metrics_changed = false;
        let Some(path) = &self.policy.metrics_file else {
            return;
        };
        let mut all = Metrics {
            written: Some(self.clock.now()),
            ..Metrics::default()
        };
        for m in self.metrics.values() {
            all.merge(m);
        }
        if let Err(e) = crate::metrics::write(path, &all) {
            log::warn!("{}: cannot write the metrics: {e}", path.display());
        }
    }

    /// Does what the schedule says is due besides the looks, in its order.
    fn act_on(&mut self, todo: Todo) {
        if todo.beat {
            // The watchdog thread sends the pings; waking for them is the loop's sign of life.
            self.life.beat();
        }
        if todo.retry_watches {
            let fixed = self.refresh_watches();
            if !fixed.is_empty() {
                // Whatever it holds went unnoticed: look at its sites now.
                let sites = self.sites_for(false, &fixed.into_iter().collect());
                self.schedule.mark(sites);
            }
        }
        if todo.read_hints {
            // Watch the paused directories again before looking, so nothing written
            // after the look goes unnoticed.
            let resumed = std::mem::take(&mut self.paused);
            if !resumed.is_empty() {
                self.refresh_watches();
            }
            let (all, mut paths) = {
                let mut h = self.hints.lock().unwrap_or_else(|e| e.into_inner());
                h.sent = false;
                (std::mem::take(&mut h.all), std::mem::take(&mut h.paths))
            };
            // Whatever happened in a paused directory sent no event: look at it all.
            paths.extend(resumed);
            let sites = self.sites_for(all, &paths);
            self.schedule.mark(sites);
        }
        if todo.rescan {
            log::debug!("safety rescan");
            self.refresh_watches();
        }
        if todo.refresh_metrics {
            self.metrics_changed = true;
        }
    }

    /// Looks at the due sites for about one [`ROUND`]; the rest wait for the next round.
    fn check_round(&mut self) {
        let started = Instant::now();
        let (names, force) = self.schedule.due();
        for name in names {
            if self.stop.load(Ordering::SeqCst) || started.elapsed() >= ROUND {
                break;
            }
            self.life.beat();
            self.check_site(&name, force);
            self.schedule.looked(&name);
        }
    }

    /// A cheap read-only look at one site; a locked pass when something is due.
    fn check_site(&mut self, name: &str, force: bool) {
        if self.policy.site(name).is_none() {
            self.schedule.forget(name);
            self.attempted.remove(name);
            self.metrics.remove(name);
            return;
        }
        let only = [name.to_string()];
        let now = self.clock.now();
        let stamps = self.stamps.at(now);
        let inventory = Inventory::scan(&self.policy, &only, &stamps);
        let plan = plan::plan(&self.policy, &inventory, now);
        let st = self.schedule.site(name);
        let attempted = self.attempted.entry(name.to_string()).or_default();
        let retry_due = st.retry_at.is_some_and(|r| r <= Instant::now());
        let fresh = plan.actions.iter().any(|a| !attempted.contains(&a.key()));
        if !force && (plan.actions.is_empty() || !(fresh || retry_due)) {
            st.deadline = plan::next_deadline(&self.policy, &inventory, now);
            log::trace!("{name}: nothing new is due");
            if plan.actions.is_empty() {
                // Nothing due is nothing failing: the site's promise holds as of now. What
                // is still planned after a pass keeps that pass's state (a failure stays).
                let mut look = Metrics::default();
                look.inventory(&inventory);
                look.settle(now);
                look.pass = self.metrics.get(name).and_then(|m| m.pass);
                self.metrics.insert(name.to_string(), look);
            }
            return;
        }
        let _lock = match lock::acquire(&self.policy.lock_file, LOCK_WAIT) {
            Ok(l) => l,
            Err(e @ LockError::Busy { .. }) => {
                log::info!("site {name}: {e}; retrying in {}s", LOCK_RETRY.as_secs());
                st.retry_at = Some(Instant::now() + LOCK_RETRY);
                return;
            }
            Err(e) => {
                log::error!("site {name}: {e}");
                st.retry_at = Some(Instant::now() + self.opts.rescan);
                return;
            }
        };
        self.life.in_pass.store(true, Ordering::SeqCst);
        let life = Arc::clone(&self.life);
        let (summary, deadline, metrics) =
            pass::measured(&self.policy, &only, now, &stamps, Some(&self.stop), &|| {
                life.beat()
            });
        self.life.in_pass.store(false, Ordering::SeqCst);
        self.metrics.insert(name.to_string(), metrics);
        self.metrics_changed = true;
        *attempted = plan.actions.iter().map(Action::key).collect();
        st.deadline = deadline;
        st.retry_at = if summary.deferred > 0 || summary.unkept > 0 {
            Some(Instant::now() + DEFER_RETRY)
        } else if summary.failed > 0 {
            Some(Instant::now() + self.opts.rescan)
        } else {
            None
        };
    }
}

fn dir_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p)
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| (m.dev(), m.ino()))
}
