//! Rotating a live log: the archive takes the old inode, a fresh empty file takes the name.
//!
//! The new live file is prepared first (created as a hidden temporary file with its final
//! owner and mode), so a missing user or a failed chown stops the rotation before anything
//! has moved. Then two renames, each refusing to replace an existing name, and a directory
//! sync. At no instant is a line in two files or none: the writer keeps appending to the
//! inode it holds, which is now the archive, until it reopens. It must never rotate a file
//! other than the one inventoried (checked by device and inode through the directory
//! handle) and never replace an existing archive.

use std::os::fd::AsFd;

use nix::unistd::{Gid, Uid};

use crate::dir::{DirHandle, FileError};
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
}

/// Performs one rotation.
pub fn rotate(r: &Rotate) -> Result<(), RotateError> {
    let uid = Uid::from_raw(resolve(&r.recreate.owner, "user", r)?);
    let gid = Gid::from_raw(resolve(&r.recreate.group, "group", r)?);
    let (Some(live_dir), Some(live_name)) = (r.live.parent(), r.live.file_name()) else {
        return Err(RotateError::Changed {
            path: r.live.display().to_string(),
        });
    };
    let (Some(archive_dir), Some(archive_name)) = (r.archive.parent(), r.archive.file_name())
    else {
        return Err(RotateError::Changed {
            path: r.archive.display().to_string(),
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
                path: r.live.display().to_string(),
            });
        }
    }

    let (fresh, temp) = dir.create_temp(live_name)?;
    let prepared = (|| -> Result<(), FileError> {
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
        Ok(())
    })();
    if let Err(e) = prepared {
        let _ = dir.unlink(&temp);
        return Err(e.into());
    }
    drop(fresh);
    failpoint::hit("rotate.prepared");

    if let Err(e) = dir.rename_new(live_name, adir_ref, archive_name) {
        let _ = dir.unlink(&temp);
        return Err(e.into());
    }
    // From here the live name is briefly absent; the writer still holds its inode. A pass
    // that dies here leaves the prepared file, which the next pass puts in place.
    failpoint::hit("rotate.renamed");
    if let Err(e) = dir.rename_new(&temp, &dir, live_name) {
        // Someone (the writer reopening early) created the live file already: fine.
        log::debug!(
            "{}: not recreated ({e}); it exists already",
            r.live.display()
        );
        let _ = dir.unlink(&temp);
    }
    dir.sync()?;
    if let Some(a) = &adir {
        a.sync()?;
    }
    Ok(())
}

fn resolve(id: &Id, what: &'static str, r: &Rotate) -> Result<u32, RotateError> {
    match id {
        Id::Known(n) => Ok(*n),
        Id::Missing(name) => Err(RotateError::MissingAccount {
            path: r.live.display().to_string(),
            what,
            name: name.clone(),
        }),
    }
}
