//! Rotating a live log: the archive takes the old inode, a fresh empty file takes the name.
//!
//! The new live file is prepared first (created as a hidden temporary file with its final
//! owner and mode), so a missing user or a failed chown stops the rotation before anything
//! has moved. It is renamed to the archive name (never replacing one), then exchanged with
//! the live file in one `RENAME_EXCHANGE`, so the live name is never free; without that
//! call, two renames and a check of what stands at the live name before any signal. At no
//! instant is a line in two files or none: the writer keeps appending to the inode it
//! holds, which is now the archive, until it reopens. It must never rotate a file other
//! than the one inventoried (checked by device and inode through the directory handle) and
//! never replace an existing archive.

use std::os::fd::AsFd;

use nix::sys::stat::FileStat;
use nix::unistd::{Gid, Uid};

use crate::dir::{DirHandle, FileError};
use crate::escape;
use crate::failpoint;
use crate::plan::{Id, Rotate};

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(
        "{path}: {what} {name:?} does not exist on this host (create: in the policy); not rotated"
    )]
    MissingAccount {
        path: String,
        what: &'static str,
        name: String,
    },
    #[error("{path}: changed since it was inventoried; left for the next pass")]
    Changed { path: String },
    /// Someone else's file stands at the live name after the rotation: telling the writer to
    /// reopen would make it open (and, as root, chown) that file.
    #[error(
        "{path}: after the rotation the live name holds {what}, not the file logwarden created; the writer is not told to reopen, check the directory"
    )]
    LiveTaken { path: String, what: String },
}

/// Performs one rotation.
pub fn rotate(r: &Rotate) -> Result<(), RotateError> {
    let uid = Uid::from_raw(resolve(&r.recreate.owner, "user", r)?);
    let gid = Gid::from_raw(resolve(&r.recreate.group, "group", r)?);
    let (Some(live_dir), Some(live_name)) = (r.live.parent(), r.live.file_name()) else {
        return Err(RotateError::Changed {
            path: escape::path(&r.live),
        });
    };
    let (Some(archive_dir), Some(archive_name)) = (r.archive.parent(), r.archive.file_name())
    else {
        return Err(RotateError::Changed {
            path: escape::path(&r.archive),
        });
    };
    let dir = DirHandle::open(live_dir)?;
    let adir = if archive_dir == live_dir {
        None
    } else {
        Some(DirHandle::open(archive_dir)?)
    };
    let adir_ref = adir.as_ref().unwrap_or(&dir);

    match dir.lstat(live_name)? {
        Some(st) if st.st_dev == r.id.dev && st.st_ino == r.id.ino && st.st_nlink == 1 => {}
        _ => {
            return Err(RotateError::Changed {
                path: escape::path(&r.live),
            });
        }
    }

    let (fresh, temp) = dir.create_temp(live_name)?;
    let prepared = (|| -> Result<FileStat, FileError> {
        if uid != nix::unistd::geteuid() || gid != nix::unistd::getegid() {
            nix::unistd::fchown(fresh.as_fd(), Some(uid), Some(gid))
                .map_err(|e| FileError::new(&r.live, "set the owner of the new", e))?;
        }
        nix::sys::stat::fchmod(
            fresh.as_fd(),
            nix::sys::stat::Mode::from_bits_truncate(r.recreate.mode),
        )
        .map_err(|e| FileError::new(&r.live, "set the mode of the new", e))?;
        fresh
            .sync_all()
            .map_err(|e| FileError::new(&r.live, "sync the new", e))?;
        nix::sys::stat::fstat(fresh.as_fd()).map_err(|e| FileError::new(&r.live, "stat the new", e))
    })();
    let fresh_st = match prepared {
        Ok(st) => st,
        Err(e) => {
            let _ = dir.unlink(&temp);
            return Err(e.into());
        }
    };
    drop(fresh);
    failpoint::hit("rotate.prepared");

    // The prepared file goes to the archive name first, so that one exchange then swaps it
    // with the live log: the live name is never free, so nobody can plant a file or a
    // symlink there for the writer's root master to open and chown on reopen.
    let partner = match dir.rename_new(&temp, adir_ref, archive_name) {
        Ok(()) => fresh_st,
        Err(e) => {
            let _ = dir.unlink(&temp);
            // A pass killed right after this step left its prepared file there: empty,
            // ours in owner and mode, in a directory only root may write. Use it.
            match adir_ref.lstat(archive_name)? {
                Some(st) if is_prepared(&st, uid, gid, r.recreate.mode) => st,
                _ => return Err(e.into()),
            }
        }
    };
    failpoint::hit("rotate.renamed");
    if adir_ref.exchange(archive_name, &dir, live_name)? {
        // The exchange took whatever stood at the live name; it must be the inventoried
        // inode, or it goes back and the rotation fails.
        let moved = adir_ref.lstat(archive_name)?;
        if !moved.is_some_and(|st| same_inode(&st, r.id.dev, r.id.ino)) {
            adir_ref.exchange(archive_name, &dir, live_name)?;
            if adir_ref
                .lstat(archive_name)?
                .is_some_and(|st| same_inode(&st, partner.st_dev, partner.st_ino))
            {
                adir_ref.unlink(archive_name)?;
            }
            return Err(RotateError::Changed {
                path: escape::path(&r.live),
            });
        }
    } else {
        // No RENAME_EXCHANGE here: two renames, then make sure that what stands at the live
        // name is the file we made before anyone is told to open it.
        adir_ref.rename_new(archive_name, &dir, &temp)?;
        if let Err(e) = dir.rename_new(live_name, adir_ref, archive_name) {
            let _ = dir.unlink(&temp);
            return Err(e.into());
        }
        let placed = dir.rename_new(&temp, &dir, live_name);
        let standing = dir.lstat(live_name)?;
        // The inode proves it is ours; its size may not be 0 if the writer reopened early.
        let ours = standing.is_some_and(|st| {
            same_inode(&st, partner.st_dev, partner.st_ino)
                && crate::dir::is_regular(&st)
                && st.st_nlink == 1
        });
        if placed.is_err() || !ours {
            let _ = dir.unlink(&temp);
            dir.sync()?;
            return Err(RotateError::LiveTaken {
                path: escape::path(&r.live),
                what: standing.map_or("nothing".to_string(), |st| {
                    format!(
                        "a file of uid {} (mode {:04o}, {} links)",
                        st.st_uid,
                        st.st_mode & 0o7777,
                        st.st_nlink
                    )
                }),
            });
        }
    }
    dir.sync()?;
    if let Some(a) = &adir {
        a.sync()?;
    }
    Ok(())
}

fn same_inode(st: &FileStat, dev: u64, ino: u64) -> bool {
    st.st_dev == dev && st.st_ino == ino
}

/// A file as rotation prepares it: regular, one link, empty, the owner and mode it is given.
fn is_prepared(st: &FileStat, uid: Uid, gid: Gid, mode: u32) -> bool {
    crate::dir::is_regular(st)
        && st.st_nlink == 1
        && st.st_size == 0
        && st.st_uid == uid.as_raw()
        && st.st_gid == gid.as_raw()
        && st.st_mode & 0o7777 == mode & 0o7777
}

fn resolve(id: &Id, what: &'static str, r: &Rotate) -> Result<u32, RotateError> {
    match id {
        Id::Known(n) => Ok(*n),
        Id::Missing(name) => Err(RotateError::MissingAccount {
            path: escape::path(&r.live),
            what,
            name: name.clone(),
        }),
    }
}
