//! Acting as a site's `su:` user for the file work in a directory that user may write.
//!
//! As root, logwarden refuses a log directory that anyone but root may write to: whoever
//! may create names there could plant links or swap files between our checks and our
//! actions, and root would follow through. A site may instead name the user and group that
//! own such a directory (`su: { user: www-data, group: adm }`, logrotate's `su`): its
//! renames, creations, rewrites and deletions then run with that user's effective ids, so
//! whatever the directory's owner plants can only make logwarden do what that owner could
//! do anyway. Looking at other processes (`/proc`) and signalling the server stay root's.
//! This module must never leave the process with borrowed credentials after an action, and
//! never act as a user whose ids it could not resolve.

use nix::unistd::{Gid, Uid};

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

/// The effective ids of an `su:` user, held until dropped. Only one at a time: a second
/// one, or one taken while not root, is an error rather than a silent no-op.
pub struct Acting {
    saved_groups: Vec<Gid>,
}

/// The ids in force and root's supplementary groups from before.
static ACTING: std::sync::Mutex<Option<(Ids, Vec<Gid>)>> = std::sync::Mutex::new(None);

impl Acting {
    /// Takes on `ids` as effective user and group (supplementary groups: just that
    /// group); the real and saved ids stay root's, so [`Drop`] can come back.
    pub fn start(ids: Ids) -> Result<Acting, String> {
        let mut acting = ACTING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if acting.is_some() {
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
        *acting = Some((ids, saved_groups.clone()));
        Ok(Acting { saved_groups })
    }
}

impl Drop for Acting {
    fn drop(&mut self) {
        restore(&self.saved_groups);
        *ACTING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

fn become_ids(ids: Ids) -> Result<(), String> {
    let gid = Gid::from_raw(ids.gid);
    nix::unistd::setgroups(&[gid]).map_err(|e| format!("setgroups({}): {e}", ids.gid))?;
    nix::unistd::setresgid(Gid::from_raw(u32::MAX), gid, Gid::from_raw(u32::MAX))
        .map_err(|e| format!("setegid({}): {e}", ids.gid))?;
    nix::unistd::setresuid(
        Uid::from_raw(u32::MAX),
        Uid::from_raw(ids.uid),
        Uid::from_raw(u32::MAX),
    )
    .map_err(|e| format!("seteuid({}): {e}", ids.uid))
}

/// Back to root. A failure here would leave every later action with the wrong ids, so it
/// ends the process rather than carry on.
fn restore(groups: &[Gid]) {
    let keep = Uid::from_raw(u32::MAX);
    let keep_g = Gid::from_raw(u32::MAX);
    if let Err(e) = nix::unistd::setresuid(keep, Uid::from_raw(0), keep)
        .and_then(|()| nix::unistd::setresgid(keep_g, Gid::from_raw(0), keep_g))
        .and_then(|()| nix::unistd::setgroups(groups))
    {
        log::error!("cannot return to root's credentials after acting as a su: user: {e}");
        std::process::abort();
    }
}

/// Runs `f` with root's ids if an [`Acting`] is in force (reading `/proc`, signalling),
/// then takes the `su:` ids back.
pub fn as_root<T>(f: impl FnOnce() -> T) -> T {
    let acting = ACTING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
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
