//! Acting as a site's `su:` user for the file work in a directory that user may write.
//!
//! As root, logwarden refuses a log directory that anyone but root may write to: whoever
//! may create names there could plant links or swap files between our checks and our
//! actions, and root would follow through. A site may instead name the user and group that
//! own such a directory (`su: { user: www-data, group: adm }`, logrotate's `su`): its
//! renames, creations, rewrites and deletions then run with that user's effective ids, so
//! whatever the directory's owner plants can only make logwarden do what that owner could
//! do anyway. Looking at other processes (`/proc`) and signalling the server stay root's.
//!
//! The ids are the acting thread's only. Linux keeps credentials per thread, and glibc's
//! `setresuid` makes every thread of the process change with the caller; that would have a
//! `watch` service's other threads (the writers of received logs, which may create a live
//! file at any moment) work as some site's user while its action runs, and a file one site
//! owns could then be another's. The kernel's per-thread calls (rustix's `set_thread_*`)
//! change the acting thread alone (a thread it spawns during the action, a compression
//! worker, starts with its ids). This module must never leave a thread with borrowed
//! credentials after an action, and never act as a user whose ids it could not resolve.

use std::cell::RefCell;

use nix::unistd::Gid;
use rustix::thread::{Gid as ThreadGid, Uid as ThreadUid};

use crate::policy::Su;

/// The ids a site's file work runs as: resolved from `su:` on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
}

impl Ids {
    /// The `su:` ids, or why they cannot be used on this host.
    pub fn of(su: &Su) -> Result<Ids, String> {
        match (su.user.id, su.group.id) {
            (Some(uid), Some(gid)) => Ok(Ids { uid, gid }),
            (None, _) => Err(format!(
                "su: user {:?} does not exist on this host",
                su.user.name
            )),
            (_, None) => Err(format!(
                "su: group {:?} does not exist on this host",
                su.group.name
            )),
        }
    }
}

/// Who besides root may change names in a directory with this owner and mode, if anyone
/// the site has not named in `su:`. A sticky bit does not help: whoever may create names
/// can take a free live name. `None` when only root (and the `su:` user and group) may.
pub fn dir_problem(st: &nix::sys::stat::FileStat, su: Option<&Su>) -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let ids = su.and_then(|s| Ids::of(s).ok());
    let owner_ok = st.st_uid == 0 || ids.is_some_and(|i| i.uid == st.st_uid);
    let group_write = st.st_mode & 0o020 != 0;
    let group_ok = !group_write || st.st_gid == 0 || ids.is_some_and(|i| i.gid == st.st_gid);
    let others_write = st.st_mode & 0o002 != 0;
    if owner_ok && group_ok && !others_write {
        return None;
    }
    let named = match su {
        Some(s) => format!(
            "not only root and the su: user {:?} and group {:?}",
            s.user.name, s.group.name
        ),
        None => "a user other than root".to_string(),
    };
    let fix = if others_write {
        "chmod o-w it (no su: can make a directory everyone may write safe)"
    } else {
        "chown root and chmod g-w,o-w it, or set su: to the user and group that own it"
    };
    Some(format!(
        "directory (owner uid {}, group gid {}, mode {:04o}) may be written by {named}, so logwarden refuses to work in it as root; fix: {fix}",
        st.st_uid,
        st.st_gid,
        st.st_mode & 0o7777
    ))
}

/// The effective ids of an `su:` user on this thread, held until dropped. Only one at a
/// time: a second one, or one taken while not root, is an error rather than a silent no-op.
pub struct Acting {
    saved_groups: Vec<Gid>,
    /// Dropped on the thread that took the ids: they are that thread's.
    _here: std::marker::PhantomData<*const ()>,
}

thread_local! {
    /// The ids this thread acts as, and root's supplementary groups from before.
    static ACTING: RefCell<Option<(Ids, Vec<Gid>)>> = const { RefCell::new(None) };
}

impl Acting {
    /// Takes on `ids` as this thread's effective user and group (supplementary groups:
    /// just that group); the real and saved ids stay root's, so [`Drop`] can come back.
    pub fn start(ids: Ids) -> Result<Acting, String> {
        if ACTING.with_borrow(Option::is_some) {
            return Err("already acting as another user".into());
        }
        if !nix::unistd::geteuid().is_root() {
            return Err(format!(
                "su: needs root to act as uid {} gid {}",
                ids.uid, ids.gid
            ));
        }
        let saved_groups = nix::unistd::getgroups().map_err(|e| format!("getgroups: {e}"))?;
        become_ids(ids).inspect_err(|_| restore(&saved_groups))?;
        ACTING.set(Some((ids, saved_groups.clone())));
        Ok(Acting {
            saved_groups,
            _here: std::marker::PhantomData,
        })
    }
}

impl Drop for Acting {
    fn drop(&mut self) {
        restore(&self.saved_groups);
        ACTING.set(None);
    }
}

fn become_ids(ids: Ids) -> Result<(), String> {
    let gid = ThreadGid::from_raw(ids.gid);
    rustix::thread::set_thread_groups(&[gid])
        .map_err(|e| format!("setgroups({}): {e}", ids.gid))?;
    rustix::thread::set_thread_res_gid(None, gid, None)
        .map_err(|e| format!("setegid({}): {e}", ids.gid))?;
    rustix::thread::set_thread_res_uid(None, ThreadUid::from_raw(ids.uid), None)
        .map_err(|e| format!("seteuid({}): {e}", ids.uid))
}

/// Back to root. A failure here would leave every later action with the wrong ids, so it
/// ends the process rather than carry on.
fn restore(groups: &[Gid]) {
    let groups: Vec<ThreadGid> = groups
        .iter()
        .map(|g| ThreadGid::from_raw(g.as_raw()))
        .collect();
    if let Err(e) = rustix::thread::set_thread_res_uid(None, ThreadUid::ROOT, None)
        .and_then(|()| rustix::thread::set_thread_res_gid(None, ThreadGid::ROOT, None))
        .and_then(|()| rustix::thread::set_thread_groups(&groups))
    {
        log::error!("cannot return to root's credentials after acting as a su: user: {e}");
        std::process::abort();
    }
}

/// Runs `f` with root's ids if an [`Acting`] is in force (reading `/proc`, signalling),
/// then takes the `su:` ids back.
pub fn as_root<T>(f: impl FnOnce() -> T) -> T {
    let acting = ACTING.with_borrow(Clone::clone);
    let Some((ids, groups)) = acting else {
        return f();
    };
    restore(&groups);
    let out = f();
    if let Err(e) = become_ids(ids) {
        log::error!("cannot act as uid {} gid {} again: {e}", ids.uid, ids.gid);
        std::process::abort();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::{getegid, geteuid};

    /// The ids a site's action takes are its thread's alone: the service's other threads
    /// (a receive writer creating a live file) stay root's meanwhile.
    #[test]
    fn acting_changes_the_acting_threads_ids_and_no_other() {
        if !geteuid().is_root() {
            // Under CI the suite runs as root; elsewhere say what was not tested.
            assert!(
                std::env::var_os("CI").is_none(),
                "needs root (su: switches credentials)"
            );
            eprintln!(
                "SKIPPED creds::tests::acting_changes_the_acting_threads_ids_and_no_other: needs root"
            );
            return;
        }
        let nobody = Ids {
            uid: 65534,
            gid: 65534,
        };
        let d = tempfile::tempdir().unwrap();
        // A thread that exists before the action (one spawned during it inherits its ids).
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn({
            let path = d.path().join("made-by-another-thread");
            move || {
                wait.recv().unwrap();
                std::fs::write(&path, b"x").unwrap();
                let owner = std::os::unix::fs::MetadataExt::uid(&path.metadata().unwrap());
                (geteuid().as_raw(), owner)
            }
        });
        let acting = Acting::start(nobody).unwrap();
        assert_eq!((geteuid().as_raw(), getegid().as_raw()), (65534, 65534));
        assert!(Acting::start(nobody).is_err(), "one at a time");
        go.send(()).unwrap();
        let other = other.join().unwrap();
        assert_eq!(other, (0, 0), "another thread kept root's ids");
        assert_eq!(as_root(|| geteuid().as_raw()), 0);
        assert_eq!(geteuid().as_raw(), 65534, "as_root gives the ids back");
        drop(acting);
        assert_eq!((geteuid().as_raw(), getegid().as_raw()), (0, 0));
    }
}
