//! Carrying out a plan: the only place where logwarden changes files or signals processes.
//!
//! Side effects sit behind one narrow seam, [`Effects::apply`], so the unit tests below drive
//! the order, stop and deferral rules with implementations that only record (`--dry-run`
//! needs no seam: it prints the plan and executes nothing). The real implementation, [`Disk`], does
//! each action crash-safely (temp file in the same directory, write, fsync, rename, fsync
//! the directory) and refuses to rewrite or delete a file a process still holds open for
//! writing. One action's failure is logged and counted; it never stops the pass.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};

use crate::archive::{self, Format};
use crate::creds;
use crate::dir::DirHandle;
use crate::failpoint;
use crate::plan::{Action, FileId, Plan, Rewrite};
use crate::policy::Reopen;
use crate::reopen::{self, Reopened};
use crate::repeats;
use crate::rotate;
use crate::timestamp::StampReader;

/// What became of one action that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// The action found nothing to change (a rewrite whose records were already right).
    Unchanged,
    /// Not safe now (a writer still holds the file); the next pass will do it. Nothing it
    /// promises is late yet (the file was rotated in this very pass, or only compression
    /// waits).
    Deferred(String),
    /// Not safe now, and a promise that is due stays unkept until it is done: a record past
    /// retention or a full address past the window outlives this pass.
    Unkept(String),
    /// Done as far as possible, with something the user should know.
    Warned(String),
}

/// The seam between deciding and doing.
pub trait Effects {
    fn apply(&mut self, action: &Action) -> anyhow::Result<Outcome>;

    /// What the last `apply` read and wrote, taken once (for the totals of [`Summary`]).
    fn take_processed(&mut self) -> Processed {
        Processed::default()
    }
}

/// Work done by rewrites: decompressed bytes read, bytes written, lines read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Processed {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub lines_in: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub done: usize,
    pub unchanged: usize,
    pub deferred: usize,
    /// Deferrals that leave a due promise unkept (counted in `deferred` too).
    pub unkept: usize,
    pub warned: usize,
    pub failed: usize,
    /// Files holding records whose time cannot be read: kept safe, but retention cannot be
    /// proven for them (set by the pass, which reads the inventory).
    pub undated: usize,
    /// Totals of the rewrites that ran (committed or found unchanged).
    pub processed: Processed,
}

impl Summary {
    /// Adds the counts of another part of the same pass.
    pub fn add(&mut self, other: &Summary) {
        self.done += other.done;
        self.unchanged += other.unchanged;
        self.deferred += other.deferred;
        self.unkept += other.unkept;
        self.warned += other.warned;
        self.failed += other.failed;
        self.undated += other.undated;
        self.processed.bytes_in += other.processed.bytes_in;
        self.processed.bytes_out += other.processed.bytes_out;
        self.processed.lines_in += other.processed.lines_in;
    }

    /// Whether the pass left a promise unkept or an action failed: the pass exits 1 and
    /// does not count as a success.
    pub fn broke_a_promise(&self) -> bool {
        self.failed > 0 || self.unkept > 0 || self.undated > 0
    }
}

/// [`execute_observed`] with nobody observing: the unit tests' entry.
#[cfg(test)]
fn execute(plan: &Plan, effects: &mut dyn Effects, stop: Option<&AtomicBool>) -> Summary {
    execute_observed(plan, effects, stop, &mut |_, _| {})
}

/// Runs every action in order, telling `observe` each action's outcome: `done`,
/// `unchanged`, `deferred`, `unkept` (deferred past its deadline), `warned` or `failed` (the
/// metrics count them by site and kind). `stop` is checked between actions, so a stop
/// request lets the current action finish and nothing is left half done; a rotation already
/// made still gets its reopen, so the writer is never left writing into an archive.
pub fn execute_observed(
    plan: &Plan,
    effects: &mut dyn Effects,
    stop: Option<&AtomicBool>,
    observe: &mut dyn FnMut(&Action, &'static str),
) -> Summary {
    let mut s = Summary::default();
    let mut stopping = false;
    for action in &plan.actions {
        if !stopping && stop.is_some_and(|f| f.load(Ordering::SeqCst)) {
            log::info!("stop requested; the remaining actions are left for the next pass");
            stopping = true;
        }
        if stopping && !matches!(action, Action::Reopen { .. }) {
            continue;
        }
        let result = effects.apply(action);
        let p = effects.take_processed();
        s.processed.bytes_in += p.bytes_in;
        s.processed.bytes_out += p.bytes_out;
        s.processed.lines_in += p.lines_in;
        // A lasting failure of one action (met at every `watch` rescan) is logged once,
        // then hourly with a count; it is counted, and so seen in the metrics, every time.
        let key = action.key();
        let repeated = |level, label: &str, msg: String| {
            let cause = format!("{key} {label} {}", without_digits(&msg));
            repeats::of_actions().log(level, &cause, &msg);
        };
        let label = match result {
            Ok(Outcome::Done) => {
                s.done += 1;
                log::info!("{action}");
                "done"
            }
            Ok(Outcome::Unchanged) => {
                s.unchanged += 1;
                log::debug!("{action}: nothing to change");
                "unchanged"
            }
            Ok(Outcome::Deferred(why)) => {
                s.deferred += 1;
                log::info!("{action}: deferred: {why}");
                "deferred"
            }
            Ok(Outcome::Unkept(why)) => {
                s.deferred += 1;
                s.unkept += 1;
                let msg = format!("{action}: not done, and it is due: {why}");
                repeated(log::Level::Error, "unkept", msg);
                "unkept"
            }
            Ok(Outcome::Warned(why)) => {
                s.warned += 1;
                repeated(log::Level::Warn, "warned", format!("{action}: {why}"));
                "warned"
            }
            Err(e) => {
                s.failed += 1;
                let msg = format!("{} {}: {e:#}", action.kind(), action.site());
                repeated(log::Level::Error, "failed", msg);
                "failed"
            }
        };
        if matches!(label, "done" | "unchanged") {
            repeats::of_actions().clear_prefix(&key);
        }
        observe(action, label);
    }
    s
}

/// `msg` with its numbers left out: a size, an age or a pid that changes from one pass to
/// the next does not make a lasting failure a new one.
fn without_digits(msg: &str) -> String {
    msg.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// The real file system and processes.
pub struct Disk {
    stamps: StampReader,
    /// How long to wait, after a reopen, for the writer to let go of rotated archives.
    settle: Duration,
    settle_until: Option<Instant>,
    rotated: HashMap<String, Vec<FileId>>,
    /// Sites where a live name ended up holding a file we did not create: no reopen signal,
    /// since the writer's root master would open and chown whatever stands there.
    live_taken: std::collections::HashSet<String>,
    processed: Processed,
    /// Sites whose file work runs as their `su:` user (or why it cannot, on this host).
    su: HashMap<String, Result<creds::Ids, String>>,
    /// Who holds which file open for writing: /proc walked once for the pass's actions.
    looks: reopen::Looks,
    /// Pids this pass validated and signalled (see `reopen::signal`).
    signalled: std::collections::HashSet<i32>,
}

impl Disk {
    pub fn new(stamps: StampReader) -> Disk {
        Disk {
            stamps,
            settle: Duration::from_secs(3),
            settle_until: None,
            rotated: HashMap::new(),
            live_taken: Default::default(),
            processed: Processed::default(),
            su: HashMap::new(),
            // /proc stays root's, whoever the file work runs as.
            looks: reopen::Looks::new(Box::new(|| creds::as_root(reopen::survey))),
            signalled: Default::default(),
        }
    }

    /// Which of `ids` some process holds open for writing, by the pass's latest look.
    fn writers(&mut self, ids: &[FileId]) -> HashMap<FileId, Vec<i32>> {
        let mut found = self.looks.current().found.clone();
        found.retain(|id, _| ids.contains(id));
        found
    }

    /// File work of the policy's `su:` sites runs as their user and group.
    pub fn acting_for(mut self, policy: &crate::policy::Policy) -> Disk {
        self.su = policy
            .sites
            .iter()
            .filter_map(|s| Some((s.name.clone(), creds::Ids::of(s.su.as_ref()?))))
            .collect();
        self
    }

    /// `None` when no process holds `id` open for writing (waiting briefly after a
    /// reopen), else who does. The pass's looks at /proc answer (see [`reopen::Looks`]): a
    /// writer seen, or told to reopen, counts as gone only when two looks in a row, 25 ms
    /// apart, do not find it, since a miss here would compress or delete a file still being
    /// written. A writer we cannot see counts as a writer, and as a failure rather than a
    /// deferral: the archive stays as it is until someone grants the capability, so the
    /// promise is not kept and the pass must not say it was.
    fn held_by(&mut self, id: FileId, path: &Path) -> anyhow::Result<Option<Vec<i32>>> {
        let until = self.settle_until;
        let settling = move || until.is_some_and(|until| Instant::now() < until);
        match self.looks.held(id, &settling) {
            reopen::Held::Clear => Ok(None),
            reopen::Held::By(pids) => Ok(Some(pids)),
            reopen::Held::Blind(hidden) => anyhow::bail!(
                "{}: left as it is: {hidden} processes could not be inspected ({}), so one of them may still write to it",
                crate::escape::path(path),
                reopen::blind_cause(),
            ),
        }
    }

    fn rewrite(&mut self, w: &Rewrite) -> anyhow::Result<Outcome> {
        let (dir_path, src_name) = split(&w.source)?;
        let (dest_dir, dest_name) = split(&w.dest)?;
        anyhow::ensure!(
            dir_path == dest_dir,
            "{}: rewrite across directories",
            w.source.display()
        );
        let dir = DirHandle::open(dir_path)?;
        let Some(st) = dir.lstat(src_name)? else {
            return Ok(Outcome::Deferred(format!(
                "{} vanished",
                w.source.display()
            )));
        };
        if (st.st_dev, st.st_ino) != (w.id.dev, w.id.ino) {
            return Ok(Outcome::Deferred(format!(
                "{} changed since the inventory",
                w.source.display()
            )));
        }
        if let Some(pids) = self.held_by(w.id, &w.source)? {
            return Ok(self.still_held(w.id, &pids, w.overdue));
        }
        let source = dir.open_read(src_name)?;
        let in_format = Format::of_name(&src_name.to_string_lossy());
        let mut input = archive::decoder(source, in_format)
            .with_context(|| format!("{}: cannot read", w.source.display()))?;
        let (temp_file, temp) = dir.create_temp(dest_name)?;
        let result = (|| -> anyhow::Result<(Option<File>, archive::RewriteOutcome)> {
            let mtime = jiff::Timestamp::from_second(st.st_mtime).ok();
            let stamps = self.stamps.with_format(&w.log_format).for_file(mtime);
            let (file, outcome) = archive::rewrite(&mut *input, temp_file, &w.spec, &stamps)
                .with_context(|| {
                    format!(
                        "{}: cannot rewrite into {}",
                        w.source.display(),
                        dir.join(&temp).display()
                    )
                })?;
            let unchanged =
                w.source == w.dest && !outcome.changed_records() && !w.spec.output.carries_facts();
            if unchanged {
                return Ok((None, outcome));
            }
            // Keep the archive's owner, mode and times: logrotate and auditors read them.
            // Not root (an `su:` site), the copy stays ours where the owner cannot be
            // given away, as logrotate's `su` leaves it.
            match nix::unistd::fchown(file.as_fd(), Some(st.st_uid.into()), Some(st.st_gid.into()))
            {
                Err(nix::errno::Errno::EPERM) if !nix::unistd::geteuid().is_root() => log::debug!(
                    "{}: stays owned by uid {}: cannot give it to uid {} gid {}",
                    w.dest.display(),
                    nix::unistd::geteuid(),
                    st.st_uid,
                    st.st_gid
                ),
                r => r.map_err(|e| anyhow!("{}: cannot set the owner: {e}", w.dest.display()))?,
            }
            nix::sys::stat::fchmod(
                file.as_fd(),
                nix::sys::stat::Mode::from_bits_truncate(st.st_mode & 0o7777),
            )
            .map_err(|e| anyhow!("{}: cannot set the mode: {e}", w.dest.display()))?;
            let times = [
                nix::sys::time::TimeSpec::new(st.st_atime, st.st_atime_nsec),
                nix::sys::time::TimeSpec::new(st.st_mtime, st.st_mtime_nsec),
            ];
            nix::sys::stat::futimens(file.as_fd(), &times[0], &times[1])
                .map_err(|e| anyhow!("{}: cannot set the times: {e}", w.dest.display()))?;
            file.sync_all()
                .with_context(|| format!("{}: cannot sync", w.dest.display()))?;
            failpoint::hit("rewrite.written");
            Ok((Some(file), outcome))
        })();
        let (commit, outcome) = match result {
            Ok(r) => {
                self.processed = Processed {
                    bytes_in: r.1.bytes_in,
                    bytes_out: r.1.bytes_out,
                    lines_in: r.1.lines_in,
                };
                r
            }
            Err(e) => {
                let _ = dir.unlink(&temp);
                return Err(e);
            }
        };
        // An archive without a header is remembered for what it now holds (see `foreign`),
        // so the next pass neither reads it whole nor rewrites it before masking is due
        // again; our gzip and zstd output says so at its head.
        let remember = |st: &nix::sys::stat::FileStat| {
            if !w.spec.output.carries_facts() {
                crate::foreign::remember(
                    &w.dest,
                    crate::foreign::State::of(st),
                    archive::HeaderFacts::after(&w.spec, &outcome),
                );
            }
        };
        let Some(file) = commit else {
            dir.unlink(&temp)?;
            // Nothing needed changing: the source, as it was stat'ed before the read, holds
            // what the rewrite found (a write since changed its size, mtime or ctime).
            remember(&st);
            return Ok(Outcome::Unchanged);
        };
        if outcome.dropped_everything() {
            // Judged on every record, after the writer let go: nothing is left to keep.
            dir.unlink(&temp)?;
            dir.unlink(src_name)?;
            dir.sync()?;
            log::debug!(
                "{}: all {} lines were past retention; deleted",
                w.source.display(),
                outcome.lines_in
            );
            return Ok(Outcome::Done);
        }
        if let Err(e) = dir.rename_replace(&temp, &dir, dest_name) {
            let _ = dir.unlink(&temp);
            return Err(e.into());
        }
        dir.sync()?;
        failpoint::hit("rewrite.committed");
        if w.source != w.dest {
            dir.unlink(src_name)?;
            dir.sync()?;
        }
        // Its state after the rename (which may have moved its ctime).
        if let Ok(st) = nix::sys::stat::fstat(file.as_fd()) {
            remember(&st);
        }
        log::debug!(
            "{}: {} lines, {} dropped, {} addresses masked, {} -> {} bytes",
            w.dest.display(),
            outcome.lines_in,
            outcome.lines_dropped,
            outcome.addresses_masked,
            outcome.bytes_in,
            outcome.bytes_out
        );
        Ok(Outcome::Done)
    }

    /// A writer still holds `id`. Rotated in this very pass, it is letting go; rotated
    /// earlier, it did not reopen (the reopen was sent again by this pass's `Reopen`), and
    /// a due promise is unkept.
    fn still_held(&self, id: FileId, pids: &[i32], overdue: bool) -> Outcome {
        let just_rotated = self.rotated.values().flatten().any(|r| *r == id);
        let why = format!("still open for writing by pid {pids:?}");
        if just_rotated {
            Outcome::Deferred(format!(
                "{why}; it was rotated in this pass and the writer is letting go"
            ))
        } else if overdue {
            Outcome::Unkept(format!(
                "{why}, which did not reopen its log (is the log directory searchable by the worker user? is the reopen in the policy right?)"
            ))
        } else {
            Outcome::Deferred(why)
        }
    }

    fn remove(&mut self, path: &Path, id: Option<FileId>) -> anyhow::Result<Outcome> {
        self.remove_sized(path, id, None)
    }

    /// Removes `path` if it is still the inode `id` and, with `size`, has not grown: a
    /// file judged on facts that changed since is judged again by the next pass.
    fn remove_sized(
        &mut self,
        path: &Path,
        id: Option<FileId>,
        size: Option<u64>,
    ) -> anyhow::Result<Outcome> {
        let (dir_path, name) = split(path)?;
        let dir = DirHandle::open(dir_path)?;
        let Some(st) = dir.lstat(name)? else {
            return Ok(Outcome::Unchanged);
        };
        let actual = FileId {
            dev: st.st_dev,
            ino: st.st_ino,
        };
        if id.is_some_and(|id| id != actual) {
            return Ok(Outcome::Deferred(format!(
                "{} changed since the inventory",
                path.display()
            )));
        }
        if !crate::dir::is_regular(&st) {
            anyhow::bail!("{}: not a regular file; not deleted", path.display());
        }
        if let Some(pids) = self.held_by(actual, path)? {
            return Ok(self.still_held(actual, &pids, id.is_some()));
        }
        if size.is_some_and(|s| s != st.st_size as u64) {
            return Ok(Outcome::Unkept(format!(
                "{} changed size since the inventory (a writer appended to it); judged again at the next pass",
                path.display()
            )));
        }
        failpoint::hit("remove.before");
        dir.unlink(name)?;
        dir.sync()?;
        Ok(Outcome::Done)
    }
}

/// A temp file that a killed rotation prepared: regular, one link, empty, writable by no
/// one but its owner's group at most, and owned by us or, as root, in a directory that the
/// inventory has already checked only root may write (so no stranger can have made it).
fn adoptable(st: &nix::sys::stat::FileStat) -> bool {
    let me = nix::unistd::geteuid();
    crate::dir::is_regular(st)
        && st.st_nlink == 1
        && st.st_size == 0
        && st.st_mode & 0o002 == 0
        && (me.is_root() || st.st_uid == me.as_raw())
}

fn split(path: &Path) -> anyhow::Result<(&Path, &OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => Ok((d, n)),
        _ => Err(anyhow!("{}: not a file path", path.display())),
    }
}

impl Effects for Disk {
    fn take_processed(&mut self) -> Processed {
        std::mem::take(&mut self.processed)
    }

    fn apply(&mut self, action: &Action) -> anyhow::Result<Outcome> {
        // Telling the writer (a root process) stays root's; the file work of an `su:`
        // site runs as its user.
        let acting = match (action, self.su.get(action.site())) {
            (Action::Reopen { .. } | Action::Refuse { .. } | Action::LeaveToWriter { .. }, _)
            | (_, None) => None,
            (_, Some(Err(why))) => anyhow::bail!("site {}: {why}; nothing done", action.site()),
            (_, Some(Ok(ids))) => Some(
                creds::Acting::start(*ids)
                    .map_err(|e| anyhow!("site {}: {e}; nothing done", action.site()))?,
            ),
        };
        let outcome = self.act(action);
        drop(acting);
        outcome
    }
}

impl Disk {
    fn act(&mut self, action: &Action) -> anyhow::Result<Outcome> {
        match action {
            Action::RemoveTemp { path, .. } => self.remove(path, None),
            Action::RestoreLive { temp, live, .. } => {
                let (d, from) = split(temp)?;
                let (_, to) = split(live)?;
                let dir = DirHandle::open(d)?;
                let st = dir.lstat(from)?;
                if st.as_ref().is_some_and(adoptable) {
                    dir.rename_new(from, &dir, to)?;
                } else {
                    // Not what a rotation prepares: never give it the live name (its owner
                    // would own every later live file); start an empty live file instead.
                    log::warn!(
                        "{}: not adopted as the live log ({}); created {} empty instead",
                        crate::escape::path(temp),
                        st.map_or("gone".to_string(), |st| format!(
                            "uid {}, mode {:04o}, {} bytes, {} links",
                            st.st_uid,
                            st.st_mode & 0o7777,
                            st.st_size,
                            st.st_nlink
                        )),
                        crate::escape::path(live)
                    );
                    let f = dir.create_new(to, 0o640)?;
                    f.sync_all()
                        .map_err(|e| crate::dir::FileError::new(live, "sync", e))?;
                }
                dir.sync()?;
                Ok(Outcome::Done)
            }
            Action::RemoveSuperseded { path, by, .. } => {
                let (d, n) = split(by)?;
                let twin = DirHandle::open(d)?.lstat(n)?;
                anyhow::ensure!(
                    twin.is_some(),
                    "{}: its compressed twin {} is gone; kept",
                    path.display(),
                    by.display()
                );
                self.remove(path, None)
            }
            Action::Rotate(r) => {
                // A log this process writes: its writer moves to the fresh file at once, so
                // nobody holds the archive and no reopen is needed.
                let switched = match crate::receive::rotate_held(&r.live, || rotate::rotate(r)) {
                    Ok(switched) => switched,
                    Err(e) => {
                        if matches!(e, rotate::RotateError::LiveTaken { .. }) {
                            self.live_taken.insert(r.site.clone());
                        }
                        return Err(e.into());
                    }
                };
                if let Some(switched) = switched {
                    switched?;
                    self.looks.forget();
                    return Ok(Outcome::Done);
                }
                self.rotated.entry(r.site.clone()).or_default().push(r.id);
                // The live file just became an archive its writer holds.
                self.looks.forget();
                Ok(Outcome::Done)
            }
            Action::Reopen { site, how, recheck } => {
                anyhow::ensure!(
                    !self.live_taken.contains(site),
                    "site {site}: the writer is not told to reopen, because a live name holds a file logwarden did not create (see above)"
                );
                let mut held = self.rotated.get(site).cloned().unwrap_or_default();
                let ids: Vec<FileId> = recheck.iter().map(|(id, _)| *id).collect();
                let mut still: Vec<(FileId, Vec<i32>)> = self.writers(&ids).into_iter().collect();
                still.sort();
                for (id, pids) in &still {
                    let path = recheck
                        .iter()
                        .find(|(i, _)| i == id)
                        .map(|(_, p)| crate::escape::path(p));
                    log::warn!(
                        "site {site}: pid {pids:?} still writes to {}, rotated by an earlier pass; sending the reopen again. Is the log directory searchable by the worker user?",
                        path.unwrap_or_default()
                    );
                    held.push(*id);
                }
                if held.is_empty() {
                    return Ok(Outcome::Unchanged);
                }
                let result = match how {
                    Reopen::None => {
                        // Nothing to tell when nobody writes to the rotated file: the
                        // archive is finished in this pass.
                        let writers: Vec<i32> =
                            self.writers(&held).into_values().flatten().collect();
                        if writers.is_empty() {
                            return Ok(Outcome::Unchanged);
                        }
                        return Ok(Outcome::Warned(format!(
                            "process {} still writes to the rotated log and was not told to reopen it (no reopen: in the policy); the archive stays uncompressed until it lets go",
                            writers
                                .iter()
                                .map(i32::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                    Reopen::Signal { signal, pidfile } => {
                        reopen::signal(*signal, pidfile, &held, &self.signalled)?
                    }
                    Reopen::Command(argv) => reopen::command(argv)?,
                };
                self.settle_until = Some(Instant::now() + self.settle);
                self.looks.forget();
                match result {
                    Reopened::NoWriter { why } => Ok(Outcome::Warned(why)),
                    Reopened::LetGo => {
                        log::info!(
                            "site {site}: no process writes the rotated logs any more; nobody to tell"
                        );
                        Ok(Outcome::Unchanged)
                    }
                    Reopened::Signalled { pid } => {
                        self.signalled.insert(pid);
                        Ok(Outcome::Done)
                    }
                    Reopened::CommandRan => Ok(Outcome::Done),
                }
            }
            Action::Rewrite(w) => self.rewrite(w),
            Action::Delete { path, id, size, .. } => {
                self.remove_sized(path, Some(*id), Some(*size))
            }
            Action::LeaveToWriter {
                path, id, reason, ..
            } => match self.held_by(*id, path)? {
                Some(_) => Ok(Outcome::Unchanged),
                None => Err(anyhow!(
                    "{}: due a rotation ({reason}), which its writer does, and no process writes it: is `logwarden watch` (or the pipe) running?",
                    crate::escape::path(path)
                )),
            },
            Action::Refuse { path, why, .. } => Err(anyhow!("{}: {why}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Recreate, Rotate};
    use std::path::PathBuf;

    /// Records what it is asked to do; asks the pass to stop once a rotation is done, as
    /// SIGTERM to `watch` would.
    struct StopAfterRotate<'a> {
        stop: &'a AtomicBool,
        applied: Vec<&'static str>,
    }

    impl Effects for StopAfterRotate<'_> {
        fn apply(&mut self, action: &Action) -> anyhow::Result<Outcome> {
            self.applied.push(action.kind());
            if matches!(action, Action::Rotate(_)) {
                self.stop.store(true, Ordering::SeqCst);
            }
            Ok(Outcome::Done)
        }
    }

    #[test]
    fn a_stop_during_a_rotation_still_sends_its_reopen_and_nothing_else() {
        let id = FileId { dev: 1, ino: 2 };
        let rotate = |n: &str| {
            Action::Rotate(Rotate {
                site: "main".into(),
                live: PathBuf::from(format!("/l/{n}")),
                id,
                archive: PathBuf::from(format!("/l/{n}-20261130-000000")),
                recreate: Recreate {
                    mode: 0o640,
                    owner: crate::plan::Id::Known(0),
                    group: crate::plan::Id::Known(0),
                },
                reason: "test".into(),
            })
        };
        let plan = Plan {
            actions: vec![
                rotate("a.log"),
                rotate("b.log"),
                Action::Reopen {
                    site: "main".into(),
                    how: Reopen::None,
                    recheck: vec![],
                },
                Action::Delete {
                    site: "main".into(),
                    path: "/l/a.log.1".into(),
                    id,
                    size: 1,
                    newest: jiff::Timestamp::UNIX_EPOCH,
                    dated: true,
                    cutoff: jiff::Timestamp::UNIX_EPOCH,
                },
            ],
        };
        let stop = AtomicBool::new(false);
        let mut effects = StopAfterRotate {
            stop: &stop,
            applied: vec![],
        };
        execute(&plan, &mut effects, Some(&stop));
        assert_eq!(effects.applied, ["rotate", "reopen"]);
    }

    #[test]
    fn an_unkept_promise_is_a_broken_pass_and_a_plain_deferral_is_not() {
        struct Answer(Outcome);
        impl Effects for Answer {
            fn apply(&mut self, _: &Action) -> anyhow::Result<Outcome> {
                Ok(self.0.clone())
            }
        }
        let plan = Plan {
            actions: vec![Action::Reopen {
                site: "main".into(),
                how: Reopen::None,
                recheck: vec![],
            }],
        };
        let s = execute(&plan, &mut Answer(Outcome::Deferred("x".into())), None);
        assert!(!s.broke_a_promise());
        let s = execute(&plan, &mut Answer(Outcome::Unkept("x".into())), None);
        assert!(s.broke_a_promise());
        assert_eq!((s.deferred, s.unkept), (1, 1));
    }
}
