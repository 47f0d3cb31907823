//! `logwarden watch`: the system service that acts the moment something is due.
//!
//! It exists so a size limit or a deadline is honoured within seconds instead of at the next
//! timer tick. It only decides *when* a site is looked at: file-system events (from
//! `notify`, on the log *directories*), signals and timers go into the `schedule`, which is
//! pure and says which sites are due; this module hears them, keeps the `watches` and runs
//! the looks. Every change is made by [`pass::measured`], the very pass `enforce` runs, under
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
//! (`systemd`), as long as the daemon shows signs of life (the main loop wakes for each
//! ping, a pass reports each action, and a long compression shows as I/O of the main
//! thread); a hung daemon goes silent and is restarted, a busy one is not. `READY=1` goes out once the policy is loaded
//! and the watches are set, before the backlog is worked off; due sites are worked off in
//! rounds of at most [`ROUND`], so signals and events are heard between them.
//!
//! The metrics file describes the whole service, not the last pass: every site keeps its
//! latest state (from its last pass, or from a look that found nothing due) and the file is
//! rewritten after every pass and at least every `schedule::METRICS_EVERY`, so a failing
//! site stays visible until it succeeds and an idle service still proves it is alive.
//!
//! `--now` in watch mode is the starting point of a clock that then advances with real time.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

use crate::inventory::Inventory;
use crate::lock::{self, LockError};
use crate::metrics::Metrics;
use crate::pass;
use crate::plan::{self, Action};
use crate::policy::Policy;
use crate::schedule::{Event, Schedule, Todo};
use crate::systemd::{self, Liveness, SdNotify};
use crate::timestamp::StampReader;
use crate::watches::{Watches, site_dirs};

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
    /// New file-system hints are waiting in [`Watches`].
    Fs,
    Signal(i32),
}

/// Runs the service until SIGTERM or SIGINT.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let mut policy = opts.load()?;
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

    let watches = {
        let tx = tx.clone();
        Watches::new(opts.rescan, move || {
            let _ = tx.send(Msg::Fs);
        })?
    };
    drop(tx);
    // The sockets before READY=1: a client that sends meanwhile loses nothing. A received
    // log's own writes are no hints; its writer says when it reaches max_size.
    let (mut inputs, failed) =
        crate::receive::Inputs::start(&policy, std::sync::Arc::new(watches.hinter()));
    if failed > 0 {
        inputs.stop();
        anyhow::bail!(
            "{failed} receive: input(s) could not be had (see above); not starting, since what is sent there would be lost"
        );
    }
    policy.written_here = crate::receive::written_here();
    watches.set_quiet(&policy.written_here);

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
        watches,
        stop: Arc::clone(&stop),
        sd,
        life: Arc::new(Liveness::new()),
        metrics: HashMap::new(),
        metrics_changed: true,
        policy,
        opts,
        inputs,
    };
    d.watches.refresh(&site_dirs(&d.policy));
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
        d.watches.count()
    );
    // Ready to hear events and signals: the backlog is worked off after this.
    systemd::send(
        d.sd.as_ref(),
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
                d.sd.as_ref(),
                &format!("STATUS=watching {} site(s)", d.policy.sites.len()),
            );
            backlog = false;
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }

        let wake = d
            .schedule
            .wake(Instant::now(), d.clock.now(), d.watches.any_unwatched());
        let msg = rx.recv_timeout(wake.saturating_duration_since(Instant::now()));
        let now = Instant::now();
        match msg {
            Ok(Msg::Fs) => {
                log::trace!("file-system hints");
                d.schedule.on(Event::Hint, now);
                d.watches.pause_busy();
            }
            Ok(Msg::Signal(SIGHUP)) => {
                systemd::send(
                    d.sd.as_ref(),
                    &format!("RELOADING=1\nMONOTONIC_USEC={}", systemd::monotonic_usec()),
                );
                d.reload();
                systemd::send(d.sd.as_ref(), "READY=1");
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
        let todo = d
            .schedule
            .tick(now, d.clock.now(), d.watches.any_unwatched());
        d.act_on(todo);
    }

    systemd::send(d.sd.as_ref(), "STOPPING=1");
    signal_handle.close();
    // What was received is written and synced before the service goes, and counted.
    if !d.inputs.is_empty() {
        d.inputs.stop();
        d.write_metrics();
    }
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
    watches: Watches,
    stop: Arc<AtomicBool>,
    sd: Option<Arc<SdNotify>>,
    life: Arc<Liveness>,
    /// Every site's latest state, from its last pass or a look that found nothing due.
    metrics: HashMap<String, Metrics>,
    /// A pass ran (or a rescan is due) since the metrics file was last written.
    metrics_changed: bool,
    /// The `receive:` sockets, bound once at the start.
    inputs: crate::receive::Inputs,
}

impl Daemon {
    /// Reads the policy again and looks at every site afresh; a bad one is logged and the
    /// old one stays in force.
    fn reload(&mut self) {
        match self.opts.load() {
            Ok(mut p) => {
                let wanted: Vec<_> = crate::receive::sockets_of(&p)
                    .into_iter()
                    .map(|(r, _)| r)
                    .collect();
                if wanted != self.inputs.names() {
                    log::warn!(
                        "the receive: inputs changed; they take effect at the next start of the service (restart it; with the socket unit, nothing sent meanwhile is lost)"
                    );
                }
                p.written_here = crate::receive::written_here();
                self.policy = p;
                self.attempted.clear();
                let names = site_names(&self.policy);
                self.schedule.on(Event::Reloaded(names), Instant::now());
                let policy = &self.policy;
                self.metrics.retain(|name, _| policy.site(name).is_some());
                self.metrics_changed = true;
                self.watches.refresh(&site_dirs(&self.policy));
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

    /// Writes every site's latest state, as one file.
    fn write_metrics(&mut self) {
        self.metrics_changed = false;
        let Some(path) = &self.policy.metrics_file else {
            return;
        };
        let mut all = Metrics {
            written: Some(self.clock.now()),
            received: (!self.inputs.is_empty()).then(|| self.inputs.counts()),
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
        let dirs = || site_dirs(&self.policy);
        if todo.retry_watches {
            let sites = self.watches.retry(&dirs());
            self.schedule.mark(sites);
        }
        if todo.read_hints {
            let sites = self.watches.read_hints(&dirs());
            self.schedule.mark(sites);
        }
        if todo.rescan {
            log::debug!("safety rescan");
            self.watches.refresh(&dirs());
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
                look.inventory(&self.policy, &inventory);
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
                life.beat();
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
