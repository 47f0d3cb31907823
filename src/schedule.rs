//! When `watch` looks at which site: the service's timetable, without the service.
//!
//! It exists so the rules of *when* can be read and tested apart from the threads, sockets
//! and inotify watches of `watch`. Events go in (file-system hints, the signals that ask for
//! a look at every site, a reload), so do the timers (the safety rescan, the metrics refresh,
//! the watchdog's pings, the retry of directories that could not be watched) and each site's
//! deadline and retry time; out come the sites to look at, what else is due now, and how
//! long the loop may sleep.
//!
//! What it must never do: read a clock or touch the file system (every instant is passed in,
//! so the tests drive time by hand); or let correctness hang on events, which are only hints:
//! the rescan, the metrics refresh and the deadlines fire without any.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use jiff::Timestamp;

/// How long events for a site are gathered before it is looked at.
pub const SETTLE: Duration = Duration::from_millis(200);
/// A site is looked at no more often than this on events alone.
pub const MIN_GAP: Duration = Duration::from_millis(1000);
/// How often directories that could not be watched are tried again when nothing else
/// looks (every look tries them too).
pub const UNWATCHED_RETRY: Duration = Duration::from_secs(10);
/// The metrics file is rewritten at least this often (or at every rescan, if more often), so
/// an alert on its age means a stuck service, never a quiet one.
pub const METRICS_EVERY: Duration = Duration::from_secs(300);
/// A deadline further away than this is just "later": the loop wakes for it no later than
/// this, and the rescan usually wakes it long before.
const FAR: Duration = Duration::from_secs(86_400);
/// Waking a little after a site's deadline, so the clock has surely reached it.
const LATE: Duration = Duration::from_millis(5);

/// When a site next needs a look by time alone.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SiteTimes {
    /// The next instant something becomes due, on the policy's clock.
    pub deadline: Option<Timestamp>,
    /// When an action that was deferred, failed or met a busy lock is tried again.
    pub retry_at: Option<Instant>,
}

/// What the loop has heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// File-system hints are waiting: they are read once they have settled.
    Hint,
    /// SIGUSR1: a pass of every site now, whether or not anything new is due.
    PassAll,
    /// SIGHUP brought a new policy with these sites: each is looked at afresh.
    Reloaded(Vec<String>),
}

/// What is due besides looking at sites, as of one [`Schedule::tick`]. The loop does each,
/// in this order, and [`Schedule::mark`]s the sites the first two point at.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Todo {
    /// The watchdog's ping time has come: waking for it is the loop's sign of life.
    pub beat: bool,
    /// Try again the directories that could not be watched; the sites of those watched now
    /// went unnoticed.
    pub retry_watches: bool,
    /// The hints have settled: read them and look at the sites they point at
    /// ([`hinted_sites`]).
    pub read_hints: bool,
    /// The safety rescan: refresh the watches (every site is marked already).
    pub rescan: bool,
    /// Rewrite the metrics file after the looks (every site is marked already, so the file
    /// states what holds now).
    pub refresh_metrics: bool,
}

/// The timetable of one `watch` service.
#[derive(Debug)]
pub struct Schedule {
    /// Every site of the policy in force.
    sites: Vec<String>,
    rescan: Duration,
    metrics_every: Duration,
    ping_every: Option<Duration>,
    /// Sites to look at, in the order they are looked at.
    due: BTreeSet<String>,
    /// Pass the due sites even if nothing new is due in them (SIGUSR1).
    force: bool,
    /// When the waiting hints are read.
    read_at: Option<Instant>,
    last_read: Instant,
    next_rescan: Instant,
    next_metrics: Instant,
    next_ping: Option<Instant>,
    times: HashMap<String, SiteTimes>,
}

impl Schedule {
    /// Every site is due at start; the rescan, the metrics refresh and the watchdog's pings
    /// (`ping_every`, if the service manager wants them) count from `now`.
    pub fn new(
        now: Instant,
        sites: Vec<String>,
        rescan: Duration,
        ping_every: Option<Duration>,
    ) -> Schedule {
        let metrics_every = rescan.min(METRICS_EVERY);
        Schedule {
            due: sites.iter().cloned().collect(),
            sites,
            rescan,
            metrics_every,
            ping_every,
            force: false,
            read_at: None,
            last_read: now.checked_sub(MIN_GAP).unwrap_or(now),
            next_rescan: now + rescan,
            next_metrics: now + metrics_every,
            next_ping: ping_every.map(|w| now + w),
            times: HashMap::new(),
        }
    }

    /// Takes in what the loop heard at `now`.
    pub fn on(&mut self, event: Event, now: Instant) {
        match event {
            Event::Hint => {
                // Later hints join the first: they are read together, at most once a MIN_GAP.
                if self.read_at.is_none() {
                    self.read_at = Some((now + SETTLE).max(self.last_read + MIN_GAP));
                }
            }
            Event::PassAll => {
                self.due.extend(self.sites.iter().cloned());
                self.force = true;
            }
            Event::Reloaded(sites) => {
                // The old deadlines belong to the old policy; the fresh looks set new ones.
                self.times.clear();
                self.due.extend(sites.iter().cloned());
                self.sites = sites;
            }
        }
    }

    /// Advances the timers to `now` (`wall` on the policy's clock), marks the sites whose
    /// time has come, and says what else is due. `unwatched`: some directory could not be
    /// watched.
    pub fn tick(&mut self, now: Instant, wall: Timestamp, unwatched: bool) -> Todo {
        let mut todo = Todo::default();
        if let Some(ping) = self.next_ping.filter(|p| *p <= now) {
            todo.beat = true;
            // One beat for pings missed while a round ran, then on the old rhythm.
            let behind = now.checked_sub(self.ping_every.unwrap_or_default());
            self.next_ping = self
                .ping_every
                .map(|w| ping.max(behind.unwrap_or(ping)) + w);
        }
        let read = self.read_at.is_some_and(|r| r <= now);
        if unwatched && (read || self.last_read + UNWATCHED_RETRY <= now) {
            // Cheap (one inotify_add_watch per directory), and the limit may have changed.
            self.last_read = self.last_read.max(now.checked_sub(MIN_GAP).unwrap_or(now));
            todo.retry_watches = true;
        }
        if read {
            self.read_at = None;
            self.last_read = now;
            todo.read_hints = true;
        }
        if self.next_rescan <= now {
            self.next_rescan = now + self.rescan;
            self.due.extend(self.sites.iter().cloned());
            todo.rescan = true;
            todo.refresh_metrics = true;
        }
        if self.next_metrics <= now {
            self.due.extend(self.sites.iter().cloned());
            todo.refresh_metrics = true;
        }
        for (name, t) in &self.times {
            if t.deadline.is_some_and(|d| d <= wall) || t.retry_at.is_some_and(|r| r <= now) {
                self.due.insert(name.clone());
            }
        }
        todo
    }

    /// When the loop must wake at the latest, if it hears nothing before: at once while
    /// sites are due (the rest of a round), else at the earliest timer or site time.
    pub fn wake(&self, now: Instant, wall: Timestamp, unwatched: bool) -> Instant {
        let mut wake = self.next_rescan.min(self.next_metrics);
        if unwatched {
            wake = wake.min(self.last_read + UNWATCHED_RETRY);
        }
        if !self.due.is_empty() {
            // The rest of a round: only what is already waiting is heard first.
            wake = now;
        }
        for w in [self.read_at, self.next_ping].into_iter().flatten() {
            wake = wake.min(w);
        }
        for t in self.times.values() {
            if let Some(d) = t.deadline {
                let ahead = Duration::try_from(d.duration_since(wall)).unwrap_or(Duration::ZERO);
                wake = wake.min(now + ahead.min(FAR) + LATE);
            }
            if let Some(r) = t.retry_at {
                wake = wake.min(r);
            }
        }
        wake
    }

    /// The sites to look at now, in order, and whether to pass them even if nothing new is
    /// due in them.
    pub fn due(&self) -> (Vec<String>, bool) {
        (self.due.iter().cloned().collect(), self.force)
    }

    /// No site is waiting for a look.
    pub fn is_idle(&self) -> bool {
        self.due.is_empty()
    }

    /// `name` was looked at. Once every due site has been, a forced round is over.
    pub fn looked(&mut self, name: &str) {
        self.due.remove(name);
        if self.due.is_empty() {
            self.force = false;
        }
    }

    /// These sites are to be looked at (hints pointed at them, say).
    pub fn mark(&mut self, names: impl IntoIterator<Item = String>) {
        self.due.extend(names);
    }

    /// A site's deadline and retry time, for the look at it to set.
    pub fn site(&mut self, name: &str) -> &mut SiteTimes {
        self.times.entry(name.to_string()).or_default()
    }

    /// A site left the policy: nothing is due in it any more.
    pub fn forget(&mut self, name: &str) {
        self.times.remove(name);
    }

    /// The metrics file was written at `now`: the next refresh counts from here.
    pub fn metrics_written(&mut self, now: Instant) {
        self.next_metrics = now + self.metrics_every;
    }
}

/// The sites hints point at: those with a directory holding (or held by) a hinted path, or
/// every site when the hints were lost (`all`). `site_dirs` are absolute, as event paths are.
pub fn hinted_sites(
    site_dirs: &[(String, Vec<PathBuf>)],
    all: bool,
    paths: &HashSet<PathBuf>,
) -> Vec<String> {
    site_dirs
        .iter()
        .filter(|(_, dirs)| {
            all || paths
                .iter()
                .any(|p| dirs.iter().any(|d| p.starts_with(d) || d.starts_with(p)))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    /// A schedule over sites `a` and `b` whose first round is done, and the instant and the
    /// policy-clock time it started at. Times in the tests are milliseconds after that start.
    struct Fixture {
        t0: Instant,
        wall0: Timestamp,
        s: Schedule,
    }

    impl Fixture {
        fn new(rescan: Duration) -> Fixture {
            let t0 = Instant::now();
            let mut s = Schedule::new(t0, names(&["a", "b"]), rescan, None);
            assert_eq!(s.due(), (names(&["a", "b"]), false), "every site at start");
            s.looked("a");
            s.looked("b");
            Fixture {
                t0,
                wall0: "2026-11-30T12:00:00Z".parse().unwrap(),
                s,
            }
        }

        fn now(&self, ms: u64) -> Instant {
            self.t0 + Duration::from_millis(ms)
        }

        fn wall(&self, ms: u64) -> Timestamp {
            self.wall0 + Duration::from_millis(ms)
        }

        fn tick(&mut self, ms: u64) -> Todo {
            self.s.tick(self.now(ms), self.wall(ms), false)
        }

        /// When the loop wakes, in milliseconds after the start.
        fn wake(&self, ms: u64) -> u128 {
            (self.s.wake(self.now(ms), self.wall(ms), false) - self.t0).as_millis()
        }

        fn hint(&mut self, ms: u64) {
            self.s.on(Event::Hint, self.now(ms));
        }

        fn due(&self) -> Vec<String> {
            self.s.due().0
        }

        fn deadline(&mut self, site: &str, ms: u64) {
            let wall = self.wall(ms);
            self.s.site(site).deadline = Some(wall);
        }

        fn retry(&mut self, site: &str, ms: u64) {
            let now = self.now(ms);
            self.s.site(site).retry_at = Some(now);
        }
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn a_site_whose_deadline_has_come_is_due() {
        let mut f = Fixture::new(HOUR);
        f.deadline("a", 60_000);
        f.deadline("b", 600_000);
        assert_eq!(f.tick(30_000), Todo::default());
        assert!(f.s.is_idle(), "nothing is due before its deadline");
        f.tick(60_000);
        assert_eq!(f.due(), names(&["a"]));
        f.s.looked("a");
        // The look sets the next deadline; until then the site is not due again.
        f.deadline("a", 120_000);
        f.tick(61_000);
        assert!(f.s.is_idle());
    }

    #[test]
    fn a_retry_time_makes_a_site_due() {
        let mut f = Fixture::new(HOUR);
        f.retry("b", 30_000);
        assert_eq!(f.wake(0), 30_000);
        f.tick(30_000);
        assert_eq!(f.due(), names(&["b"]));
    }

    #[test]
    fn a_hint_brings_a_look_at_its_own_site_only() {
        let mut f = Fixture::new(HOUR);
        f.hint(10_000);
        assert_eq!(f.wake(10_000), 10_200, "hints settle first");
        assert!(!f.tick(10_100).read_hints);
        assert!(f.tick(10_200).read_hints);
        assert!(f.s.is_idle(), "a hint alone names no site");
        let dirs = vec![
            ("a".to_string(), vec![PathBuf::from("/logs/a")]),
            ("b".to_string(), vec![PathBuf::from("/logs/b")]),
        ];
        let paths = HashSet::from([PathBuf::from("/logs/a/access.log")]);
        f.s.mark(hinted_sites(&dirs, false, &paths));
        assert_eq!(f.due(), names(&["a"]));
        // Lost hints (an overflowed queue) mean every site.
        assert_eq!(
            hinted_sites(&dirs, true, &HashSet::new()),
            names(&["a", "b"])
        );
        // A hint at a log directory's ancestor (the directory was moved) means its sites.
        let moved = HashSet::from([PathBuf::from("/logs")]);
        assert_eq!(hinted_sites(&dirs, false, &moved), names(&["a", "b"]));
    }

    #[test]
    fn hints_are_read_at_most_once_a_gap() {
        let mut f = Fixture::new(HOUR);
        f.hint(10_000);
        assert!(f.tick(10_200).read_hints);
        f.hint(10_300);
        f.hint(10_400);
        assert_eq!(f.wake(10_400), 11_200, "one read a MIN_GAP after the last");
        assert!(!f.tick(10_600).read_hints);
        assert!(f.tick(11_200).read_hints);
        assert!(!f.tick(11_300).read_hints, "all of them at once");
    }

    #[test]
    fn the_rescan_fires_without_any_event() {
        let mut f = Fixture::new(Duration::from_secs(60));
        assert_eq!(f.wake(0), 60_000);
        assert!(!f.tick(59_999).rescan);
        let todo = f.tick(60_000);
        assert!(todo.rescan && todo.refresh_metrics);
        assert_eq!(
            f.due(),
            names(&["a", "b"]),
            "the rescan looks at every site"
        );
        f.s.looked("a");
        f.s.looked("b");
        f.s.metrics_written(f.now(60_000));
        assert_eq!(f.wake(60_000), 120_000, "and comes again");
        assert!(f.tick(120_000).rescan);
    }

    #[test]
    fn the_earliest_of_several_deadlines_wins() {
        let mut f = Fixture::new(Duration::from_secs(90));
        f.deadline("a", 40_000);
        f.deadline("b", 20_000);
        f.retry("a", 30_000);
        assert_eq!(f.wake(0), 20_005, "a little after b's deadline");
        f.tick(20_005);
        assert_eq!(f.due(), names(&["b"]));
        f.s.looked("b");
        f.s.site("b").deadline = None;
        assert_eq!(f.wake(20_005), 30_000, "then a's retry");
        f.s.site("a").retry_at = None;
        assert_eq!(f.wake(20_005), 40_005, "then a's deadline");
        f.s.site("a").deadline = None;
        assert_eq!(f.wake(20_005), 90_000, "then the rescan");
        // Hints waiting to be read, or a due site, come before all of them.
        f.deadline("a", 40_000);
        f.hint(21_000);
        assert_eq!(f.wake(21_000), 21_200);
        f.s.mark(names(&["a"]));
        assert_eq!(
            f.wake(21_000),
            21_000,
            "the rest of a round goes on at once"
        );
    }

    #[test]
    fn a_past_deadline_wakes_at_once_and_a_far_one_within_a_day() {
        const DAY: u64 = 86_400_000;
        let mut f = Fixture::new(Duration::from_secs(7 * 86_400));
        f.deadline("a", 3 * DAY);
        f.s.metrics_written(f.now(3 * DAY));
        assert_eq!(f.wake(0), u128::from(DAY + 5));
        assert_eq!(f.wake(3 * DAY + 1_000), u128::from(3 * DAY + 1_005));
    }

    #[test]
    fn metrics_are_refreshed_at_least_every_five_minutes() {
        assert_eq!(METRICS_EVERY, Duration::from_secs(300));
        let mut f = Fixture::new(HOUR);
        assert_eq!(f.wake(0), 300_000);
        let todo = f.tick(300_000);
        let refresh = Todo {
            refresh_metrics: true,
            ..Todo::default()
        };
        assert_eq!(todo, refresh, "without a rescan");
        assert_eq!(f.due(), names(&["a", "b"]), "a fresh look first");
        f.s.looked("a");
        f.s.looked("b");
        f.s.metrics_written(f.now(301_000));
        assert_eq!(f.wake(301_000), 601_000, "counted from the last write");
        // A rescan more often than that refreshes them as often.
        let f = Fixture::new(Duration::from_secs(60));
        assert_eq!(f.wake(0), 60_000);
    }

    #[test]
    fn a_pass_of_every_site_is_forced_until_the_round_is_done() {
        let mut f = Fixture::new(HOUR);
        f.s.on(Event::PassAll, f.t0);
        assert_eq!(f.s.due(), (names(&["a", "b"]), true));
        f.s.looked("a");
        assert_eq!(f.s.due(), (names(&["b"]), true));
        f.s.looked("b");
        assert_eq!(f.s.due(), (vec![], false));
    }

    #[test]
    fn a_reload_forgets_the_old_deadlines_and_looks_at_the_new_sites() {
        let mut f = Fixture::new(HOUR);
        f.deadline("a", 60_000);
        f.s.on(Event::Reloaded(names(&["b", "c"])), f.t0);
        assert_eq!(f.due(), names(&["b", "c"]));
        f.s.looked("b");
        f.s.looked("c");
        f.tick(60_000);
        assert!(f.s.is_idle(), "the old policy's deadline is gone");
        f.tick(300_000);
        assert_eq!(
            f.due(),
            names(&["b", "c"]),
            "the new sites are every site now"
        );
    }

    #[test]
    fn directories_that_could_not_be_watched_are_retried() {
        let mut f = Fixture::new(HOUR);
        // The last read counts as one MIN_GAP before the start.
        let wake = f.s.wake(f.now(0), f.wall(0), true);
        assert_eq!(wake, f.t0 + UNWATCHED_RETRY - MIN_GAP);
        let (now, wall) = (f.now(9_000), f.wall(9_000));
        assert!(f.s.tick(now, wall, true).retry_watches);
        assert!(
            !f.s.tick(now, wall, true).retry_watches,
            "not twice at once"
        );
        assert!(!f.tick(20_000).retry_watches, "only while one is unwatched");
        // A read of the hints tries them too.
        f.hint(30_000);
        let todo = f.s.tick(f.now(30_200), f.wall(30_200), true);
        assert!(todo.retry_watches && todo.read_hints);
    }

    #[test]
    fn the_watchdog_is_shown_life_at_every_ping_time() {
        let t0 = Instant::now();
        let wall: Timestamp = "2026-11-30T12:00:00Z".parse().unwrap();
        let every = Duration::from_secs(10);
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut s = Schedule::new(t0, vec![], HOUR, Some(every));
        assert_eq!(s.wake(t0, wall, false), at(10_000));
        assert!(!s.tick(at(9_000), wall, false).beat);
        assert!(s.tick(at(10_000), wall, false).beat);
        assert_eq!(s.wake(at(10_000), wall, false), at(20_000));
        // After a round that ran long, the pings go on from now.
        assert!(s.tick(at(45_000), wall, false).beat);
        assert!(s.wake(at(45_000), wall, false) <= at(55_000));
    }
}
