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
use crate::timestamp::rfc3339;

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
    // A write cut short (a crash, a full disk) leaves a line without its end: the next
    // record must not be glued to it, or it would be unreadable too.
    let len = file.metadata()?.len();
    if len > 0 {
        use std::os::unix::fs::{FileExt, MetadataExt};
        let reader = dir.open_read(name).map_err(io::Error::other)?;
        let (a, b) = (file.metadata()?, reader.metadata()?);
        if (a.dev(), a.ino()) != (b.dev(), b.ino()) {
            return Err(io::Error::other("replaced while it was opened"));
        }
        let mut last = [0u8; 1];
        reader.read_exact_at(&mut last, len - 1)?;
        if last[0] != b'\n' {
            text.push('\n');
        }
    }
    for l in losses {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            rfc3339(l.at),
            l.cause,
            l.count,
            l.input.replace(['\t', '\n'], " ")
        ));
    }
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// What the record holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    pub losses: Vec<Loss>,
    /// Lines that are no loss record (a write cut short, an edit): each may have been a
    /// loss, so the caller must not read them as "no loss".
    pub torn: Vec<Torn>,
}

/// A line of the record that cannot be read as a loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Torn {
    /// Its number, from 1.
    pub line: usize,
    /// Its time, when what is left of it begins with one.
    pub at: Option<Timestamp>,
}

/// Every loss recorded. A missing file is no loss; an unreadable one is an error (the
/// caller reports it, never "no loss"); a line that is no loss record is returned as such.
pub fn read(path: &Path) -> io::Result<Ledger> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Ledger::default()),
        Err(e) => return Err(e),
    };
    let mut out = Ledger::default();
    for (n, line) in BufReader::new(file).split(b'\n').enumerate() {
        let bytes = line?;
        if bytes.is_empty() {
            continue;
        }
        // Not UTF-8: damaged, so no record (its input could not be matched to any site's).
        let text = std::str::from_utf8(&bytes).ok();
        let line = String::from_utf8_lossy(&bytes);
        let mut f = line.splitn(4, '\t');
        let parsed = text.and_then(|_| {
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
        });
        match parsed {
            Some(l) => out.losses.push(l),
            None => {
                log::warn!(
                    "{}:{}: not a loss record (a write cut short?); it may have been one",
                    crate::escape::path(path),
                    n + 1
                );
                out.torn.push(Torn {
                    line: n + 1,
                    at: line.split('\t').next().and_then(|t| t.parse().ok()),
                });
            }
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
        assert_eq!(read(&p).unwrap(), Ledger::default());
        let l = Loss {
            at: "2026-12-01T10:00:00Z".parse().unwrap(),
            cause: "kernel".into(),
            count: 3,
            input: "unix:/run/x.sock".into(),
        };
        append(&p, std::slice::from_ref(&l)).unwrap();
        append(&p, std::slice::from_ref(&l)).unwrap();
        let got = read(&p).unwrap();
        assert_eq!(got.losses, vec![l.clone(), l]);
        assert!(got.torn.is_empty());
    }

    #[test]
    fn a_record_cut_short_never_takes_the_next_one_with_it() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("losses");
        // What a crash in the middle of a write leaves, then a record damaged on disk (no
        // loss of it is read: its input is unknown), then another write cut short.
        let mut text = b"2026-12-01T10:00:00Z\tkernel\t3\tunix:/run/x.sock\n".to_vec();
        text.extend_from_slice(b"2026-12-01T11:00:00Z\tker\n");
        text.extend_from_slice(b"2026-12-01T11:30:00Z\tkernel\t4\tunix:/run/\xffx.sock\n");
        text.extend_from_slice(b"2026-12-01T11:4");
        std::fs::write(&p, text).unwrap();
        let l = Loss {
            at: "2026-12-01T12:00:00Z".parse().unwrap(),
            cause: "queue".into(),
            count: 5,
            input: "unix:/run/x.sock".into(),
        };
        append(&p, std::slice::from_ref(&l)).unwrap();
        let got = read(&p).unwrap();
        assert_eq!(got.losses.len(), 2, "{got:?}");
        assert_eq!(got.losses[1], l);
        let at = |s: &str| Some(s.parse().unwrap());
        assert_eq!(
            got.torn,
            vec![
                Torn {
                    line: 2,
                    at: at("2026-12-01T11:00:00Z")
                },
                Torn {
                    line: 3,
                    at: at("2026-12-01T11:30:00Z")
                },
                Torn { line: 4, at: None },
            ]
        );
    }
}
