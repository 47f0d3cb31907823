//! The record of lines lost at write-time inputs, which `check` reads.
//!
//! A datagram the kernel dropped, or the queue could not take, is a line the server wrote
//! that no file holds: guarantee 3 is broken for that stretch of the log until retention
//! would have removed it anyway. The counters in the metrics die with the service; this
//! file keeps each loss with its time (`/var/lib/logwarden/losses`, or beside an explicit
//! lock file; a directory only root may write), so `check` can say "lines were lost" for
//! as long as it matters, across reboots. It must never lose a loss it was told of, and
//! never be read as "no loss" when it cannot be read.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::dir::DirHandle;

/// Messages lost at one input, of one cause, noticed at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    pub at: Timestamp,
    pub cause: String,
    pub count: u64,
    /// The input as the policy writes it (`unix:/run/logwarden/main.sock`).
    pub input: String,
}

/// Where the losses are kept for a policy that names its `lock_file:`: beside it.
pub fn beside(lock_file: &Path) -> PathBuf {
    lock_file.with_extension("losses")
}

/// Says loudly when `path` is on a file system a reboot empties (`/run` is a tmpfs): a loss
/// recorded there would be forgotten, and `check` would call the log whole.
pub fn warn_if_volatile(path: &Path) {
    let Some(dir) = path.parent() else { return };
    if let Ok(fs) = nix::sys::statfs::statfs(dir) {
        if fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC {
            log::warn!(
                "{}: lines lost at receive: inputs are recorded on a tmpfs, which a reboot empties; `check` would then no longer report them (set lock_file: on persistent storage, or leave it unset for /var/lib/logwarden/losses)",
                crate::escape::path(path)
            );
        }
    }
}

/// Appends `losses`, synced: a line per loss, `TIME<TAB>CAUSE<TAB>COUNT<TAB>INPUT`.
pub fn append(path: &Path, losses: &[Loss]) -> io::Result<()> {
    if losses.is_empty() {
        return Ok(());
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::other("not a file path"));
    };
    let dir = match DirHandle::open(dir) {
        // `/var/lib/logwarden` before any package or unit made it (Apache's `pipe`): made
        // root's, readable as the rest of /var/lib; its parent must already exist.
        Err(e) if e.source.kind() == io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new().mode(0o755).create(dir)?;
            DirHandle::open(dir)
        }
        other => other,
    }
    .map_err(io::Error::other)?;
    if dir.others_may_write() {
        return Err(io::Error::other(format!(
            "{}: others may write to its directory; not kept there",
            crate::escape::path(path)
        )));
    }
    let (mut file, _) = dir
        .open_append(name, 0o600, None, None)
        .map_err(io::Error::other)?;
    let mut text = String::new();
    for l in losses {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            l.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            l.cause,
            l.count,
            l.input.replace(['\t', '\n'], " ")
        ));
    }
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// Every loss recorded. A missing file is no loss; an unreadable one is an error (the
/// caller reports it, never "no loss"). Malformed lines are skipped with a warning.
pub fn read(path: &Path) -> io::Result<Vec<Loss>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        let mut f = line.splitn(4, '\t');
        let parsed = (|| {
            let at = f.next()?.parse::<Timestamp>().ok()?;
            let cause = f.next()?.to_string();
            let count = f.next()?.parse().ok()?;
            let input = f.next()?.to_string();
            Some(Loss {
                at,
                cause,
                count,
                input,
            })
        })();
        match parsed {
            Some(l) => out.push(l),
            None => log::warn!(
                "{}:{}: not a loss record; skipped",
                crate::escape::path(path),
                n + 1
            ),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_come_back_as_they_were_kept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state").join("losses");
        assert_eq!(read(&p).unwrap(), vec![]);
        let l = Loss {
            at: "2026-12-01T10:00:00Z".parse().unwrap(),
            cause: "kernel".into(),
            count: 3,
            input: "unix:/run/x.sock".into(),
        };
        append(&p, std::slice::from_ref(&l)).unwrap();
        append(&p, std::slice::from_ref(&l)).unwrap();
        assert_eq!(read(&p).unwrap(), vec![l.clone(), l]);
    }
}
