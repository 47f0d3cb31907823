//! `logwarden pipe`: a log written from standard input (Apache's `CustomLog "|…"`), masked
//! before the write when the window is `0s`, and rotated by this very process at its
//! deadlines.
//!
//! It exists because a piped logger is the only write-time input Apache has. It reads lines
//! as they come (a slow disk slows the server's pipe down instead of losing lines), runs the
//! site's pass under the lock when something is due, and on end of input writes and syncs
//! everything it read, then exits 0. It must never write to a log the policy does not mark
//! `receive: pipe` (enforce and watch would rotate it under it), and never exit before what
//! it read is synced.

use std::io::BufRead;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};

use super::queue::Queue;
use super::sink::Target;
use super::{Framing, Router, Slot, Unrouted, registry, write_loop};
use crate::policy::{Receive, normal_path};
use crate::timestamp::StampReader;

/// How long a pass waits for the lock, and when a busy lock is tried again.
const LOCK_WAIT: Duration = Duration::from_secs(1);
const LOCK_RETRY: Duration = Duration::from_secs(5);
/// The longest sleep without a look, so a policy deadline is never slept through.
const LONGEST_SLEEP: Duration = Duration::from_secs(3600);

/// A `pipe` command line that names no pipe log of the policy (exit 2, as a usage error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

enum Msg {
    /// The live file reached `max_size`.
    Grew,
    /// End of input (or a stop signal): write what is left and exit.
    End,
}

/// Runs until end of input. `start`: `--now`, a clock that then advances in real time.
pub fn run(config: &Path, site: &str, log: &Path, start: Option<Timestamp>) -> anyhow::Result<()> {
    let mut policy = crate::pass::load_policy(config)?;
    let path = normal_path(&std::path::absolute(log).context("the --log path")?);
    let Some(s) = policy.site(site) else {
        return Err(UsageError(format!(
            "no site named {site:?} in {}",
            policy.source.display()
        ))
        .into());
    };
    let Some(entry) = s
        .logs
        .iter()
        .find(|l| l.name.literal().is_some() && l.dir.join(l.name.as_str()) == path)
    else {
        return Err(UsageError(format!(
            "{} is not a log of site {site} in {}",
            crate::escape::path(&path),
            policy.source.display()
        ))
        .into());
    };
    if entry.receive != Some(Receive::Pipe) {
        return Err(UsageError(format!(
            "{}: {} is not marked `receive: pipe`; write it as {{ path: {}, receive: pipe }} so enforce and watch leave its live file to this pipe",
            entry.key,
            crate::escape::path(&path),
            crate::escape::path(&path)
        ))
        .into());
    }
    let target = Target::of(s, entry);
    let queue = Arc::new(Queue::new(s.receiving.queue));
    let max_size = s.rotation.max_size;
    let site = s.name.clone();
    let slot = Arc::new(Mutex::new(Slot::new(target)));
    registry()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(path.clone(), Arc::clone(&slot));
    policy.written_here = vec![path.clone()];

    let (tx, rx) = mpsc::channel();
    let reader = {
        let (queue, tx) = (Arc::clone(&queue), tx.clone());
        std::thread::Builder::new()
            .name("pipe read".into())
            .spawn(move || {
                let mut input = std::io::stdin().lock();
                loop {
                    let mut line = Vec::new();
                    match input.read_until(b'\n', &mut line) {
                        Ok(0) => break,
                        Ok(_) => queue.push_wait(line),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            log::error!("standard input: {e}; stopping");
                            break;
                        }
                    }
                }
                let _ = tx.send(Msg::End);
            })?
    };
    let grown = Arc::new(AtomicBool::new(false));
    super::ledger::warn_if_volatile(&policy.losses_file);
    let mut noted = super::LossNotes::new(
        policy.losses_file.clone(),
        Receive::Pipe.input_name(&path),
        (Arc::default(), Arc::default()),
        vec![Arc::clone(&slot)],
    );
    let writer = {
        let (queue, tx, grown) = (Arc::clone(&queue), tx.clone(), Arc::clone(&grown));
        let slots = vec![Arc::clone(&slot)];
        std::thread::Builder::new()
            .name("pipe write".into())
            .spawn(move || {
                let router = Router {
                    rest: Some(0),
                    ..Router::default()
                };
                let grew = |_: usize, size: u64| {
                    if max_size.is_some_and(|m| size >= m) && !grown.swap(true, Ordering::SeqCst) {
                        let _ = tx.send(Msg::Grew);
                    }
                };
                write_loop(
                    &queue,
                    &slots,
                    &router,
                    Framing::Lines,
                    &Unrouted::default(),
                    &grew,
                    &mut |last| noted.note(last),
                );
            })?
    };
    {
        let tx = tx.clone();
        let mut signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGINT,
        ])?;
        std::thread::Builder::new()
            .name("pipe signals".into())
            .spawn(move || {
                if signals.forever().next().is_some() {
                    let _ = tx.send(Msg::End);
                }
            })?;
    }
    drop(tx);

    let started = Instant::now();
    let now = || match start {
        None => Timestamp::now(),
        Some(t) => t + SignedDuration::try_from(started.elapsed()).unwrap_or_default(),
    };
    let stamps = StampReader::default();
    let sites = [site.clone()];
    // A pass at the start: a live file left past its deadline by a stopped pipe.
    let mut next = Some(Instant::now());
    loop {
        let wait = next.map_or(LONGEST_SLEEP, |at| {
            at.saturating_duration_since(Instant::now())
        });
        match rx.recv_timeout(wait.min(LONGEST_SLEEP)) {
            Ok(Msg::End) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(Msg::Grew) | Err(RecvTimeoutError::Timeout) => {}
        }
        if next.is_some_and(|at| at > Instant::now()) && !grown.load(Ordering::SeqCst) {
            continue;
        }
        next = match crate::lock::acquire(&policy.lock_file, LOCK_WAIT) {
            Ok(_lock) => {
                let t = now();
                let stamps = stamps.clone().at(t);
                let (summary, deadline, _) =
                    crate::pass::measured(&policy, &sites, t, &stamps, None, &|| {});
                grown.store(false, Ordering::SeqCst);
                if summary.broke_a_promise() {
                    log::error!("site {site}: the pass left a promise unkept; see above");
                }
                deadline.map(|d| {
                    let left = d.duration_since(t);
                    Instant::now()
                        + Duration::try_from(left)
                            .unwrap_or_default()
                            .max(Duration::from_millis(100))
                })
            }
            Err(e) => {
                log::info!("site {site}: {e}; the pass is tried again shortly");
                Some(Instant::now() + LOCK_RETRY)
            }
        };
    }
    queue.close();
    let _ = writer.join();
    drop(reader); // blocked on input only if a signal ended us; exiting ends it
    // What the last lines made due (a max_size crossed, a deadline) is done before the
    // pipe goes: nobody else rotates this file.
    if grown.load(Ordering::SeqCst) || next.is_some_and(|at| at <= Instant::now()) {
        match crate::lock::acquire(&policy.lock_file, LOCK_WAIT) {
            Ok(_lock) => {
                let t = now();
                let (summary, _, _) =
                    crate::pass::measured(&policy, &sites, t, &stamps.clone().at(t), None, &|| {});
                if summary.broke_a_promise() {
                    log::error!("site {site}: the pass left a promise unkept; see above");
                }
            }
            Err(e) => log::warn!("site {site}: {e}; the last rotation is left for the next pass"),
        }
    }
    registry()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&path);
    log::info!(
        "{}: end of input; everything read is written and synced",
        crate::escape::path(&path)
    );
    Ok(())
}
