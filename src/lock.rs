//! One pass at a time: an advisory lock on a file that is never renamed or replaced.
//!
//! `watch` and `enforce` take it around every pass that may change files, so they never
//! work on the same logs at once. Read-only commands (`--dry-run`, `check`, `validate`,
//! `describe`) never take it. The lock file is opened without following symlinks and is
//! never deleted: deleting it would let two processes lock two different inodes.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::dir::DirHandle;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{}: another logwarden ({holder}) is working on these logs; try again when it has finished", path.display())]
    Busy { path: PathBuf, holder: String },
    #[error("{}: cannot open the lock file: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held for the duration of a pass; released on drop.
#[derive(Debug)]
pub struct PassLock {
    _lock: Flock<File>,
}

/// Takes the lock, waiting up to `wait` for another pass to finish. The lock file is
/// opened through its directory without following a link anywhere, and never in a
/// directory others may write to, where they could hold or swap it and stop every pass.
pub fn acquire(path: &Path, wait: Duration) -> Result<PassLock, LockError> {
    let open_err = |source| LockError::Open {
        path: path.to_path_buf(),
        source,
    };
    let (dir_path, name) = match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) if !d.as_os_str().is_empty() => (d, n),
        (_, Some(n)) => (Path::new("."), n),
        _ => return Err(open_err(std::io::Error::other("not a file path"))),
    };
    let dir = match DirHandle::open(dir_path) {
        Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => {
            // The private per-user default (or a lock_file's own directory): made ours
            // alone; the walk below then refuses it if a link was involved.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir_path)
                .map_err(open_err)?;
            DirHandle::open(dir_path)
        }
        other => other,
    }
    .map_err(|e| open_err(std::io::Error::other(e)))?;
    if dir.others_may_write() {
        return Err(open_err(std::io::Error::other(format!(
            "{} may be written by another user, who could hold or replace the lock; set lock_file: in a directory only root (or you) may write",
            crate::escape::path(dir_path)
        ))));
    }
    let mut file = dir
        .open_or_create(name, 0o644)
        .map_err(|e| open_err(std::io::Error::other(e)))?;
    let deadline = Instant::now() + wait;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut lock) => {
                // Who holds it, for the message another process prints; best effort.
                let _ = lock.set_len(0);
                let _ = lock.rewind();
                let _ = writeln!(&mut *lock, "{}", std::process::id());
                let _ = lock.flush();
                return Ok(PassLock { _lock: lock });
            }
            Err((f, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                file = f;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err((mut f, Errno::EWOULDBLOCK)) => {
                let mut text = String::new();
                let _ = f.read_to_string(&mut text);
                let holder = match text.trim() {
                    "" => "pid unknown".to_string(),
                    pid => format!("pid {pid}"),
                };
                return Err(LockError::Busy {
                    path: path.to_path_buf(),
                    holder,
                });
            }
            Err((_, e)) => return Err(open_err(e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_named() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("lw.lock");
        let first = acquire(&path, Duration::ZERO).unwrap();
        let err = acquire(&path, Duration::from_millis(100)).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        acquire(&path, Duration::ZERO).unwrap();
        assert!(path.exists(), "the lock file is never removed");
    }

    #[test]
    fn no_lock_in_a_directory_others_may_write_or_through_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let shared = tmp.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let err = acquire(&shared.join("lw.lock"), Duration::ZERO).unwrap_err();
        assert!(
            err.to_string().contains("may be written by another user"),
            "{err}"
        );
        std::os::unix::fs::symlink("/etc/passwd", tmp.path().join("link.lock")).unwrap();
        assert!(acquire(&tmp.path().join("link.lock"), Duration::ZERO).is_err());
        // A missing private directory is made, 0700.
        let private = tmp.path().join("state");
        acquire(&private.join("lw.lock"), Duration::ZERO).unwrap();
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
