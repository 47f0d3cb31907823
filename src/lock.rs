//! One pass at a time: an advisory lock on a file that is never renamed or replaced.
//!
//! `watch` and `enforce` take it around every pass that may change files, so they never
//! work on the same logs at once. Read-only commands (`--dry-run`, `check`, `validate`,
//! `describe`) never take it. The lock file is opened without following symlinks and is
//! never deleted: deleting it would let two processes lock two different inodes.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

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

/// Takes the lock, waiting up to `wait` for another pass to finish.
pub fn acquire(path: &Path, wait: Duration) -> Result<PassLock, LockError> {
    let open_err = |source| LockError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(open_err)?;
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
}
