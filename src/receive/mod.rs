//! Write-time inputs: logwarden as the writer of a log, so full addresses never reach disk.
//!
//! A `logs:` entry with `receive:` is a file logwarden writes itself: `watch` binds the
//! entry's datagram socket (syslog, as nginx and HAProxy send it) and `pipe` reads standard
//! input (Apache's piped logs). Each message loses its syslog header and is appended, one
//! line, to the entry's file, masked first when the site's window is `0s`. The process that
//! writes a log also rotates it, by switching files itself: the pass renames the live file
//! as for any log, and [`rotate_held`] moves the writer to the fresh one before anything reads
//! the archive. It must never block the receiving side on the disk, never drop a line
//! without counting it, and never write a full address to a file, a temp file or a
//! page-cache page when the window is `0s`.

pub(crate) mod activation;
pub mod frame;
pub(crate) mod ledger;
mod pipe;
mod queue;
mod sink;
mod socket;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) use pipe::{UsageError as PipeUsage, run as pipe};
use queue::{Queue, Took};
use sink::{Sink, Target};
pub(crate) use socket::Losses;

use crate::policy::{Policy, Receive};

/// A received log's file, opened when it can be (a missing directory is retried).
struct Slot {
    target: Target,
    sink: Option<Sink>,
    tried: Option<Instant>,
    /// Messages that could not be written (no file, a failed write).
    failed: u64,
}

/// How long a log whose file cannot be opened waits before the next try.
const RETRY_OPEN: Duration = Duration::from_secs(5);

impl Slot {
    fn new(target: Target) -> Slot {
        let mut slot = Slot {
            target,
            sink: None,
            tried: None,
            failed: 0,
        };
        slot.sink();
        slot
    }

    fn sink(&mut self) -> Option<&mut Sink> {
        if self.sink.is_none() && self.tried.is_none_or(|t| t.elapsed() >= RETRY_OPEN) {
            self.tried = Some(Instant::now());
            match Sink::open(self.target.clone()) {
                Ok(s) => self.sink = Some(s),
                Err(e) => log::error!(
                    "{e}; what site {} sends to it is lost until it can be opened",
                    self.target.site
                ),
            }
        }
        self.sink.as_mut()
    }
}

type Shared = Arc<Mutex<Slot>>;

fn lock(slot: &Shared) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The logs this process writes, by live path: what [`rotate_held`] and the plan's
/// `written_here` know of.
fn registry() -> &'static Mutex<HashMap<PathBuf, Shared>> {
    static WRITING: OnceLock<Mutex<HashMap<PathBuf, Shared>>> = OnceLock::new();
    WRITING.get_or_init(Default::default)
}

/// The received logs this process writes (and so may rotate).
pub(crate) fn written_here() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = registry()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .keys()
        .cloned()
        .collect();
    v.sort();
    v
}

/// Rotates `live` with `rotate` (the pass's rename and fresh file). If this process writes
/// it, its writer is held still meanwhile and then moves to the fresh file (what it buffered
/// goes to the old one, synced), so it never sees the live name change under it and never
/// takes the rotation for someone else's move. Returns `rotate`'s error, else the switch's
/// outcome: `None` when this process does not write `live`.
pub(crate) fn rotate_held<E>(
    live: &Path,
    rotate: impl FnOnce() -> Result<(), E>,
) -> Result<Option<anyhow::Result<()>>, E> {
    let slot = registry()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(live)
        .cloned();
    let Some(slot) = slot else {
        rotate()?;
        return Ok(None);
    };
    let mut slot = lock(&slot);
    rotate()?;
    let result = match slot.sink.as_mut() {
        Some(sink) => sink.switch().map(|_| ()).map_err(anyhow::Error::from),
        None => Ok(()),
    };
    Ok(Some(result))
}

/// How the messages of one input become lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Syslog datagrams: the header goes, the tag routes, a `\n` ends each line.
    Syslog,
    /// Lines already (a pipe): written as they came.
    Lines,
}

/// Which log a message goes to.
#[derive(Debug, Default)]
struct Router {
    tagged: HashMap<Vec<u8>, usize>,
    rest: Option<usize>,
}

impl Router {
    fn route(&self, tag: Option<&[u8]>) -> Option<usize> {
        tag.and_then(|t| self.tagged.get(t).copied()).or(self.rest)
    }
}

/// How long the writer lets lines gather after a write: a steady stream costs a write (and
/// an inotify event) and a wake-up per GATHER, not per line. Cut short when the queue is
/// half full or a sync is due.
const GATHER: Duration = Duration::from_millis(50);

/// Messages that reached no log, by input (counted for the metrics and `check`).
#[derive(Debug, Default)]
pub(crate) struct Unrouted(pub AtomicU64);

/// Writes what `queue` hands over to the slots, until it is closed and empty. `grew` hears
/// the size of a log after each write: the only way `pipe` and `watch` learn that it reached
/// `max_size` (`watch` takes no hint from a received log's own writes).
fn write_loop(
    queue: &Queue,
    slots: &[Shared],
    router: &Router,
    framing: Framing,
    unrouted: &Unrouted,
    grew: &dyn Fn(usize, u64),
    after_batch: &mut dyn FnMut(bool) -> Option<Instant>,
) {
    let mut batch = Vec::new();
    let mut routed: Vec<Vec<(usize, usize)>> = vec![Vec::new(); slots.len()];
    // When `after_batch` wants to be called again with no new batch.
    let mut again: Option<Instant> = None;
    // The first sync any log waits for, or `again`.
    let due = |again: Option<Instant>| {
        slots
            .iter()
            .filter_map(|s| lock(s).sink.as_ref()?.sync_due())
            .chain(again)
            .min()
    };
    loop {
        let took = queue.take(due(again), &mut batch);
        if took == Took::Items {
            for (i, item) in batch.iter().enumerate() {
                let (tag, start) = match framing {
                    Framing::Syslog => {
                        let f = frame::split(item);
                        (f.tag, item.len() - f.message.len())
                    }
                    Framing::Lines => (None, 0),
                };
                match router.route(tag) {
                    Some(n) => routed[n].push((i, start)),
                    None => {
                        unrouted.0.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            for (n, items) in routed.iter_mut().enumerate() {
                if items.is_empty() {
                    continue;
                }
                let mut slot = lock(&slots[n]);
                let count = items.len() as u64;
                let written = match slot.sink() {
                    None => Err(std::io::Error::other("no file")),
                    Some(sink) => items
                        .iter()
                        .try_for_each(|&(i, start)| {
                            sink.push(&batch[i][start..], framing == Framing::Syslog)
                        })
                        .and_then(|()| sink.flush())
                        .map(|()| sink.size()),
                };
                match written {
                    Ok(size) => grew(n, size),
                    Err(e) => {
                        slot.failed += count;
                        if slot.sink.is_some() {
                            log::error!(
                                "{}: cannot write what site {} sent: {e}; {count} lines lost",
                                crate::escape::path(&slot.target.path),
                                slot.target.site
                            );
                        }
                    }
                }
                items.clear();
            }
            batch.clear();
        }
        // The fsync tick, and a look at whether someone else moved the live file.
        let now = Instant::now();
        for s in slots {
            let mut slot = lock(s);
            let path = slot.target.path.clone();
            let Some(sink) = slot.sink.as_mut() else {
                continue;
            };
            if took == Took::Closed || sink.sync_due().is_some_and(|d| d <= now) {
                if let Err(e) = sink.sync() {
                    log::error!("{}: cannot sync: {e}", crate::escape::path(&path));
                }
                if took != Took::Closed && !sink.in_place() {
                    log::warn!(
                        "{}: the live file was moved or removed by someone else; writing goes on in a fresh one",
                        crate::escape::path(&path)
                    );
                    if let Err(e) = sink.switch() {
                        log::error!("{e}");
                    }
                }
            }
        }
        again = after_batch(took == Took::Closed);
        if took == Took::Items {
            let until = Instant::now() + GATHER;
            queue.gather(due(again).map_or(until, |d| d.min(until)));
        }
        if took == Took::Closed {
            return;
        }
    }
}

/// One socket being received and written.
struct Input {
    receive: Receive,
    stop: Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    queue: Arc<Queue>,
    losses: Arc<Losses>,
    unrouted: Arc<Unrouted>,
    /// (site, log path, slot) of each log it feeds.
    logs: Vec<(String, PathBuf, Shared)>,
    /// Bound by this process, not taken from systemd.
    bound_here: bool,
}

/// The sockets `watch` receives on, each with its threads.
#[derive(Default)]
pub(crate) struct Inputs {
    inputs: Vec<Input>,
}

/// What one received log has taken in and lost, for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogCounts {
    pub site: String,
    pub path: PathBuf,
    pub input: String,
    pub lines: u64,
    pub failed: u64,
}

/// What one input has lost, for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputCounts {
    pub input: String,
    pub received: u64,
    pub kernel: u64,
    pub queue: u64,
    pub truncated: u64,
    pub unrouted: u64,
}

/// The socket inputs of `policy`, grouped: each socket with the (site, log) pairs it feeds.
pub(crate) fn sockets_of(policy: &Policy) -> Vec<(Receive, Vec<(usize, usize)>)> {
    let mut out: Vec<(Receive, Vec<(usize, usize)>)> = Vec::new();
    for (si, site) in policy.sites.iter().enumerate() {
        for (li, log) in site.logs.iter().enumerate() {
            let Some(r) = log.receive.as_ref().filter(|r| r.is_socket()) else {
                continue;
            };
            match out.iter_mut().find(|(x, _)| x == r) {
                Some((_, v)) => v.push((si, li)),
                None => out.push((r.clone(), vec![(si, li)])),
            }
        }
    }
    out
}

impl Inputs {
    /// Binds (or takes from systemd) every socket of `policy` and starts receiving. A
    /// socket that cannot be had is an error of its own, logged; the others go on.
    /// Returns the inputs and how many failed.
    pub fn start(policy: &Policy, grew: Arc<dyn Fn(&Path) + Send + Sync>) -> (Inputs, usize) {
        let mut inherited = match activation::inherited() {
            Ok(v) => v,
            Err(e) => {
                log::error!("{e}");
                Vec::new()
            }
        };
        let mut inputs = Inputs::default();
        let mut failed = 0;
        let socket_inputs = sockets_of(policy);
        if !socket_inputs.is_empty() {
            ledger::warn_if_volatile(&policy.losses_file);
        }
        for (receive, logs) in socket_inputs {
            match Input::start(policy, &receive, &logs, &mut inherited, Arc::clone(&grew)) {
                Ok(i) => inputs.inputs.push(i),
                Err(e) => {
                    failed += 1;
                    log::error!(
                        "{}: {e:#}; what is sent there is lost until the service can bind it",
                        receive.display()
                    );
                }
            }
        }
        // A socket bound here has this namespace's queue length; systemd's have the host's,
        // which is this one's only when the service shares the host's network.
        let unix = |i: &&Input| matches!(i.receive, Receive::Unix(_));
        if inputs.inputs.iter().filter(unix).any(|i| i.bound_here)
            || (inputs.inputs.iter().any(|i| unix(&i)) && in_the_hosts_network())
        {
            warn_small_dgram_queue();
        }
        for left in inherited {
            log::warn!(
                "systemd passed {}, which no receive: of the policy names; ignored",
                left.bound.display()
            );
        }
        (inputs, failed)
    }

    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The inputs, as the policy names them (to see whether a reload changed them).
    pub fn names(&self) -> Vec<Receive> {
        self.inputs.iter().map(|i| i.receive.clone()).collect()
    }

    pub fn counts(&self) -> (Vec<InputCounts>, Vec<LogCounts>) {
        let mut inputs = Vec::new();
        let mut logs = Vec::new();
        for i in &self.inputs {
            let name = i.receive.display();
            let l = &i.losses;
            inputs.push(InputCounts {
                input: name.clone(),
                received: l.received.load(Ordering::Relaxed),
                kernel: l.kernel.load(Ordering::Relaxed),
                queue: l.queue.load(Ordering::Relaxed),
                truncated: l.truncated.load(Ordering::Relaxed),
                unrouted: i.unrouted.0.load(Ordering::Relaxed),
            });
            for (site, path, slot) in &i.logs {
                let slot = lock(slot);
                logs.push(LogCounts {
                    site: site.clone(),
                    path: path.clone(),
                    input: name.clone(),
                    lines: slot.sink.as_ref().map_or(0, |s| s.lines),
                    failed: slot.failed,
                });
            }
        }
        (inputs, logs)
    }

    /// Stops receiving, writes and syncs what is queued, and forgets the logs; the counts
    /// stay, for the last metrics.
    pub fn stop(&mut self) {
        for i in &self.inputs {
            i.stop.store(true, Ordering::Relaxed);
        }
        for i in &mut self.inputs {
            let mut threads = std::mem::take(&mut i.threads).into_iter();
            // The receiver first: then nothing more is queued once the queue closes.
            if let Some(receiver) = threads.next() {
                let _ = receiver.join();
            }
            i.queue.close();
            for t in threads {
                let _ = t.join();
            }
            let mut reg = registry().lock().unwrap_or_else(PoisonError::into_inner);
            for (_, path, _) in &i.logs {
                reg.remove(path);
            }
        }
    }
}

impl Input {
    fn start(
        policy: &Policy,
        receive: &Receive,
        logs: &[(usize, usize)],
        inherited: &mut Vec<activation::Inherited>,
        grew: Arc<dyn Fn(&Path) + Send + Sync>,
    ) -> anyhow::Result<Input> {
        let (first_site, _) = logs[0];
        let receiving = &policy.sites[first_site].receiving;
        let taken = activation::take(inherited, receive);
        let bound_here = taken.is_none();
        let socket = match taken {
            Some(s) => {
                log::info!("{}: taken from systemd", receive.display());
                if let Receive::Unix(path) = receive {
                    warn_unlike_policy(path, receiving);
                }
                s
            }
            None => {
                let s = socket::bind(receive, receiving)?;
                log::info!("{}: bound", receive.display());
                s
            }
        };
        socket::tune(&socket, &receive.display());
        let mut router = Router::default();
        let mut slots = Vec::new();
        // Each log's path and size limit, for `grew`.
        let mut limits: Vec<(PathBuf, Option<u64>)> = Vec::new();
        let mut named = Vec::new();
        for (n, &(si, li)) in logs.iter().enumerate() {
            let site = &policy.sites[si];
            let log = &site.logs[li];
            let target = Target::of(site, log);
            let path = target.path.clone();
            limits.push((path.clone(), site.rotation.max_size));
            let slot = Arc::new(Mutex::new(Slot::new(target)));
            match &log.tag {
                Some(t) => {
                    router.tagged.insert(t.as_bytes().to_vec(), n);
                }
                None => router.rest = Some(n),
            }
            registry()
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(path.clone(), Arc::clone(&slot));
            named.push((site.name.clone(), path, Arc::clone(&slot)));
            slots.push(slot);
        }
        let queue = Arc::new(Queue::new(receiving.queue));
        let losses = Arc::new(Losses::default());
        let unrouted = Arc::new(Unrouted::default());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let name = receive.display();
        let receiver = {
            let (queue, losses, stop) =
                (Arc::clone(&queue), Arc::clone(&losses), Arc::clone(&stop));
            std::thread::Builder::new()
                .name(format!("receive {name}"))
                .spawn(move || socket::receive(&socket, &stop, &queue, &losses))?
        };
        let writer = {
            let (queue, unrouted) = (Arc::clone(&queue), Arc::clone(&unrouted));
            let mut noted = LossNotes::new(
                policy.losses_file.clone(),
                name.clone(),
                (Arc::clone(&losses), Arc::clone(&unrouted)),
                slots.clone(),
            );
            std::thread::Builder::new()
                .name(format!("write {name}"))
                .spawn(move || {
                    write_loop(
                        &queue,
                        &slots,
                        &router,
                        Framing::Syslog,
                        &unrouted,
                        &|n, size| {
                            let (path, max) = &limits[n];
                            if max.is_some_and(|m| size >= m) {
                                grew(path);
                            }
                        },
                        &mut |last| noted.note(last),
                    );
                })?
        };
        Ok(Input {
            receive: receive.clone(),
            stop,
            threads: vec![receiver, writer],
            queue,
            losses,
            unrouted,
            logs: named,
            bound_here,
        })
    }
}

/// What an input lost since it was last noted, kept in the [`ledger`] (at most once a
/// second, and at the end) and logged.
struct LossNotes {
    ledger: PathBuf,
    input: String,
    losses: Arc<Losses>,
    unrouted: Arc<Unrouted>,
    slots: Vec<Shared>,
    /// The counts logged so far.
    seen: [u64; 5],
    /// The counts the ledger holds: behind `seen` while it cannot be written, and caught up
    /// at the next note that can (a loss is never forgotten for a failed write).
    recorded: [u64; 5],
    /// The ledger's last write failed (said once, until one succeeds).
    failing: bool,
    at: Option<Instant>,
}

impl LossNotes {
    const CAUSES: [&'static str; 5] = ["kernel", "queue", "unrouted", "truncated", "write"];

    fn new(
        ledger: PathBuf,
        input: String,
        (losses, unrouted): (Arc<Losses>, Arc<Unrouted>),
        slots: Vec<Shared>,
    ) -> LossNotes {
        LossNotes {
            ledger,
            input,
            losses,
            unrouted,
            slots,
            seen: [0; 5],
            recorded: [0; 5],
            failing: false,
            at: None,
        }
    }

    /// `last`: the input is closing, so nothing waits for the next second. Returns when to
    /// be called again: losses seen within a second of the last note wait for the next.
    fn note(&mut self, last: bool) -> Option<Instant> {
        let l = &self.losses;
        let now = [
            l.kernel.load(Ordering::Relaxed),
            l.queue.load(Ordering::Relaxed),
            self.unrouted.0.load(Ordering::Relaxed),
            l.truncated.load(Ordering::Relaxed),
            self.slots.iter().map(|s| lock(s).failed).sum(),
        ];
        if now == self.recorded {
            return None;
        }
        if let Some(next) = self.at.map(|t| t + Duration::from_secs(1)) {
            if !last && next > Instant::now() {
                return Some(next);
            }
        }
        self.at = Some(Instant::now());
        let fresh = |from: &[u64; 5]| -> Vec<(&'static str, u64)> {
            Self::CAUSES
                .iter()
                .zip(now.iter().zip(from))
                .filter(|(_, (n, from))| n > from)
                .map(|(cause, (n, from))| (*cause, n - from))
                .collect()
        };
        let said = fresh(&self.seen);
        if !said.is_empty() {
            let said: Vec<String> = said.iter().map(|(c, n)| format!("{n} {c}")).collect();
            log::error!(
                "{}: messages lost ({}); the log does not hold every line sent (see logwarden_received_lost_total; `check` reports it)",
                self.input,
                said.join(", ")
            );
            self.seen = now;
        }
        let at = jiff::Timestamp::now();
        let new: Vec<ledger::Loss> = fresh(&self.recorded)
            .into_iter()
            .map(|(cause, count)| ledger::Loss {
                at,
                cause: cause.to_string(),
                count,
                input: self.input.clone(),
            })
            .collect();
        match ledger::append(&self.ledger, &new) {
            Ok(()) => {
                if self.failing {
                    log::info!(
                        "{}: the losses are recorded for `check` again",
                        crate::escape::path(&self.ledger)
                    );
                }
                self.recorded = now;
                self.failing = false;
                None
            }
            Err(e) => {
                let path = crate::escape::path(&self.ledger);
                if last {
                    log::error!(
                        "{path}: cannot record the losses for `check`: {e}; `check` will not report these {} message(s)",
                        new.iter().map(|l| l.count).sum::<u64>()
                    );
                } else if self.failing {
                    log::debug!("{path}: cannot record the losses for `check` yet: {e}");
                } else {
                    log::error!(
                        "{path}: cannot record the losses for `check`: {e}; trying again every second"
                    );
                }
                self.failing = true;
                (!last).then(|| Instant::now() + Duration::from_secs(1))
            }
        }
    }
}

/// The socket unit made the socket file: say so when its group or mode is not what the
/// policy's `receive_group:` asks (the server may not be able to send, or others may).
fn warn_unlike_policy(path: &Path, receiving: &crate::policy::Receiving) {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    let want_gid = receiving.group.as_ref().and_then(|g| g.id);
    let mode = meta.mode() & 0o777;
    let others = mode & 0o007 != 0;
    let group_unlike = want_gid.is_some_and(|g| g != meta.gid() || mode & 0o020 == 0);
    if others || group_unlike {
        log::warn!(
            "{}: the socket unit made it mode {mode:04o}, group {}; the policy's receive_group: is {} (SocketGroup= and SocketMode=0660 in logwarden-watch.socket should match it)",
            crate::escape::path(path),
            meta.gid(),
            receiving
                .group
                .as_ref()
                .map_or("not set".to_string(), |g| g.name.clone())
        );
    }
}

/// Whether this process shares the network namespace of PID 1 (not so under
/// `PrivateNetwork=yes`). Taken as so when that cannot be seen (PID 1's namespace may be
/// hidden from us): a warning that may not apply beats a small queue nobody hears of.
fn in_the_hosts_network() -> bool {
    match (
        std::fs::read_link("/proc/self/ns/net"),
        std::fs::read_link("/proc/1/ns/net"),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => true,
    }
}

/// A unix datagram socket queues at most `net.unix.max_dgram_qlen` messages before a
/// sender's non-blocking send fails (nginx then loses the line and says so in its error
/// log); systemd raises it to 512 at boot, the bare kernel default is 10. A socket takes the
/// value of the network namespace that made it, which this file shows for ours.
fn warn_small_dgram_queue() {
    const PATH: &str = "/proc/sys/net/unix/max_dgram_qlen";
    let Ok(text) = std::fs::read_to_string(PATH) else {
        return;
    };
    if let Ok(n) = text.trim().parse::<u64>() {
        if n < 512 {
            log::warn!(
                "net.unix.max_dgram_qlen is {n}: a unix socket logwarden binds holds only {n} messages while logwarden is not scheduled, and a burst beyond that is lost by the sender; set it to 512 or more (sysctl -w net.unix.max_dgram_qlen=512, and in /etc/sysctl.d/). In a network namespace of its own (logwarden-watch.service has PrivateNetwork=yes) the host's value does not apply: let logwarden-watch.socket make the sockets"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loss_the_ledger_could_not_take_is_recorded_at_the_next_note_that_can() {
        let d = tempfile::tempdir().unwrap();
        // The ledger's directory is a file at first: every write fails.
        let state = d.path().join("state");
        std::fs::write(&state, b"").unwrap();
        let ledger_path = state.join("losses");
        let losses = Arc::new(Losses::default());
        let mut notes = LossNotes::new(
            ledger_path.clone(),
            "udp:127.0.0.1:9".into(),
            (Arc::clone(&losses), Arc::default()),
            Vec::new(),
        );
        losses.kernel.fetch_add(3, Ordering::Relaxed);
        let again = notes.note(false);
        assert!(again.is_some(), "a failed write asks to be tried again");
        losses.queue.fetch_add(2, Ordering::Relaxed);
        std::fs::remove_file(&state).unwrap();
        std::fs::create_dir(&state).unwrap();
        // Within the second: it waits; at the end it writes at once.
        assert!(notes.note(false).is_some());
        assert_eq!(notes.note(true), None);
        let got = ledger::read(&ledger_path).unwrap();
        let counted: Vec<(&str, u64)> = got
            .losses
            .iter()
            .map(|l| (l.cause.as_str(), l.count))
            .collect();
        assert_eq!(counted, vec![("kernel", 3), ("queue", 2)]);
        // Nothing new: nothing written twice.
        assert_eq!(notes.note(true), None);
        assert_eq!(ledger::read(&ledger_path).unwrap().losses.len(), 2);
    }

    #[test]
    fn a_rotation_holds_the_writer_still_so_it_never_takes_it_for_someone_elses_move() {
        let d = tempfile::tempdir().unwrap();
        let live = d.path().join("access.log");
        let slot = Arc::new(Mutex::new(Slot::new(Target {
            site: "main".into(),
            path: live.clone(),
            mask: None,
            mode: 0o640,
            owner: None,
            group: None,
        })));
        registry()
            .lock()
            .unwrap()
            .insert(live.clone(), Arc::clone(&slot));
        lock(&slot).sink().unwrap().push(b"before", true).unwrap();
        let switched = rotate_held(&live, || {
            // The writer's look at the live name (its sync tick) waits for the switch.
            assert!(slot.try_lock().is_err(), "the writer is not held");
            std::fs::rename(&live, d.path().join("access.log-1"))?;
            std::fs::write(&live, b"")
        })
        .unwrap();
        assert!(switched.unwrap().is_ok());
        let mut s = lock(&slot);
        let sink = s.sink().unwrap();
        assert!(sink.in_place(), "the writer writes the fresh file");
        sink.push(b"after", true).unwrap();
        sink.sync().unwrap();
        drop(s);
        registry().lock().unwrap().remove(&live);
        assert_eq!(
            std::fs::read(d.path().join("access.log-1")).unwrap(),
            b"before\n"
        );
        assert_eq!(std::fs::read(&live).unwrap(), b"after\n");
        // A log this process does not write is rotated all the same, with no switch.
        let other = d.path().join("other.log");
        let ran = rotate_held(&other, || Ok::<_, std::io::Error>(())).unwrap();
        assert!(ran.is_none());
    }
}
