//! One received log being written: the file, the masking before the write, the fsync tick
//! and the switch to a fresh file at rotation.
//!
//! A line reaches the file only through [`Sink::push`] then [`Sink::flush`], masked first
//! when the site's window is `0s`, so a full address is never in the file, its page cache
//! or any temp file. The rotation renames the live file away (as for any log, `rotate`);
//! [`Sink::switch`] then writes what is buffered to the old file, syncs it and opens the
//! new one, so no line is in two files or none and nobody else holds the archive. It must
//! never follow a symlink to its file, never write into a file with another link, and never
//! keep more than one second of lines unsynced while it has lines.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::anonymize::{Mask, mask_line};
use crate::dir::{DirHandle, FileError};

/// At most this long between a line's write and its fsync.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);
/// Buffered bytes that make a batch go to the file before its end.
const FLUSH_AT: usize = 1 << 20;

/// How a received log's file is made and written.
#[derive(Debug, Clone)]
pub struct Target {
    pub site: String,
    pub path: PathBuf,
    /// Set when the site's window is `0s`: lines are masked before they are written.
    pub mask: Option<Mask>,
    pub mode: u32,
    pub owner: Option<u32>,
    pub group: Option<u32>,
}

impl Target {
    /// The file of a `receive:` entry of `site`, as the policy wants it made.
    pub fn of(site: &crate::policy::Site, log: &crate::policy::LogPattern) -> Target {
        let mask = site
            .truncation
            .filter(|t| t.after.is_zero())
            .and_then(|_| site.mask_for(&log.format));
        let create = site.create.as_ref();
        Target {
            site: site.name.clone(),
            path: log.dir.join(log.name.as_str()),
            mask,
            mode: create.and_then(|c| c.mode).unwrap_or(0o640),
            owner: create.and_then(|c| c.owner.as_ref()?.id),
            group: create.and_then(|c| c.group.as_ref()?.id),
        }
    }
}

pub struct Sink {
    target: Target,
    name: OsString,
    file: File,
    /// Device and inode of `file`, to see the live name change under us.
    id: (u64, u64),
    buf: Vec<u8>,
    /// When the oldest line not yet synced was written; `None`: all synced.
    unsynced_since: Option<Instant>,
    size: u64,
    /// Lines written since the start (for the metrics).
    pub lines: u64,
}

impl Sink {
    /// Opens (or creates) the live file to append to it.
    pub fn open(target: Target) -> Result<Sink, FileError> {
        let (dir, name) = split(&target.path)?;
        let (file, id, size) = open_live(&dir, &name, &target)?;
        Ok(Sink {
            target,
            name,
            file,
            id,
            buf: Vec::with_capacity(64 << 10),
            unsynced_since: None,
            size,
            lines: 0,
        })
    }

    /// The bytes in the live file, buffered ones included.
    pub fn size(&self) -> u64 {
        self.size + self.buf.len() as u64
    }

    /// Adds one message, masked when the window is `0s`. `newline`: end it with a `\n` if
    /// it has none (a syslog message carries its line without one).
    pub fn push(&mut self, message: &[u8], newline: bool) -> io::Result<()> {
        match &self.target.mask {
            Some(mask) => {
                mask_line(mask, message, &mut self.buf);
            }
            None => self.buf.extend_from_slice(message),
        }
        if newline && message.last() != Some(&b'\n') {
            self.buf.push(b'\n');
        }
        self.lines += 1;
        if self.buf.len() >= FLUSH_AT {
            self.write_out()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.buf);
        // What the kernel took is in the file whether or not the rest failed; a failed
        // batch is dropped (and counted by the caller), never retried into a duplicate.
        self.size += self.buf.len() as u64;
        self.buf.clear();
        self.unsynced_since.get_or_insert_with(Instant::now);
        result
    }

    /// Writes what is buffered, and syncs it when the oldest unsynced line is
    /// [`SYNC_EVERY`] old.
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        if self
            .unsynced_since
            .is_some_and(|t| t.elapsed() >= SYNC_EVERY)
        {
            self.sync()?;
        }
        Ok(())
    }

    /// When the next sync is due, if lines wait for one.
    pub fn sync_due(&self) -> Option<Instant> {
        self.unsynced_since.map(|t| t + SYNC_EVERY)
    }

    pub fn sync(&mut self) -> io::Result<()> {
        self.write_out()?;
        if self.unsynced_since.take().is_some() {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// After the live file was rotated away: the rest of the lines go to the old file,
    /// which is synced and closed, and writing goes on in the file now at the live name.
    /// Also the cure when someone else moved the live file: whatever stands at the name is
    /// taken (or created) under the same rules as at the start.
    pub fn switch(&mut self) -> Result<bool, FileError> {
        let path = self.target.path.clone();
        self.sync()
            .map_err(|e| FileError::new(path.clone(), "sync", e))?;
        let (dir, _) = split(&path)?;
        let (file, id, size) = open_live(&dir, &self.name, &self.target)?;
        if id == self.id {
            return Ok(false);
        }
        // The old descriptor closes here: nobody holds the archive any more.
        self.file = file;
        self.id = id;
        self.size = size;
        Ok(true)
    }

    /// Whether the live name still holds the file we write.
    pub fn in_place(&self) -> bool {
        let Ok((dir, _)) = split(&self.target.path) else {
            return false;
        };
        matches!(dir.lstat(&self.name), Ok(Some(st)) if (st.st_dev, st.st_ino) == self.id)
    }
}

fn split(path: &Path) -> Result<(DirHandle, OsString), FileError> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(FileError::new(
            path.to_path_buf(),
            "open",
            io::Error::other("not a file path"),
        ));
    };
    Ok((DirHandle::open(dir)?, name.to_os_string()))
}

fn open_live(
    dir: &DirHandle,
    name: &std::ffi::OsStr,
    t: &Target,
) -> Result<(File, (u64, u64), u64), FileError> {
    let (file, created) = dir.open_append(name, t.mode, t.owner, t.group)?;
    if created {
        dir.sync()?;
        log::info!(
            "{}: created, to write what site {} sends",
            crate::escape::path(&t.path),
            t.site
        );
    }
    let st = nix::sys::stat::fstat(file.as_fd())
        .map_err(|e| FileError::new(t.path.clone(), "stat", e))?;
    let size = u64::try_from(st.st_size).unwrap_or(0);
    Ok((file, (st.st_dev, st.st_ino), size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anonymize::Scope;

    fn target(dir: &Path, mask: bool) -> Target {
        Target {
            site: "main".into(),
            path: dir.join("access.log"),
            mask: mask.then(|| Mask::new(24, 40, Scope::All).unwrap()),
            mode: 0o640,
            owner: None,
            group: None,
        }
    }

    #[test]
    fn masked_before_the_write_and_a_newline_added_only_where_missing() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Sink::open(target(d.path(), true)).unwrap();
        s.push(b"203.0.113.77 - - [x] \"GET / HTTP/1.1\" 200", true)
            .unwrap();
        s.push(b"2001:db8:1234:5678::1 ok\n", true).unwrap();
        s.push(b"no newline at all", false).unwrap();
        s.sync().unwrap();
        let text = std::fs::read_to_string(d.path().join("access.log")).unwrap();
        assert_eq!(
            text,
            "203.0.113.0 - - [x] \"GET / HTTP/1.1\" 200\n2001:db8:1200:: ok\nno newline at all"
        );
        assert_eq!(s.size(), text.len() as u64);
    }

    #[test]
    fn a_switch_after_a_rename_sends_the_rest_to_the_old_file_and_goes_on_in_the_new() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Sink::open(target(d.path(), false)).unwrap();
        s.push(b"one", true).unwrap();
        s.flush().unwrap();
        s.push(b"two", true).unwrap();
        std::fs::rename(d.path().join("access.log"), d.path().join("old.log")).unwrap();
        std::fs::write(d.path().join("access.log"), b"").unwrap();
        assert!(!s.in_place());
        assert!(s.switch().unwrap());
        s.push(b"three", true).unwrap();
        s.sync().unwrap();
        assert_eq!(
            std::fs::read(d.path().join("old.log")).unwrap(),
            b"one\ntwo\n"
        );
        assert_eq!(
            std::fs::read(d.path().join("access.log")).unwrap(),
            b"three\n"
        );
        assert!(s.in_place());
        assert!(!s.switch().unwrap(), "nothing to switch to");
    }

    #[test]
    fn never_writes_through_a_symlink_or_into_a_hard_link() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("victim"), b"").unwrap();
        std::os::unix::fs::symlink(d.path().join("victim"), d.path().join("access.log")).unwrap();
        assert!(Sink::open(target(d.path(), false)).is_err());
        std::fs::remove_file(d.path().join("access.log")).unwrap();
        std::fs::hard_link(d.path().join("victim"), d.path().join("access.log")).unwrap();
        let err = Sink::open(target(d.path(), false)).err().unwrap();
        assert!(err.to_string().contains("one link"), "{err}");
    }

    #[test]
    fn lines_wait_at_most_a_second_for_their_sync() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Sink::open(target(d.path(), false)).unwrap();
        assert_eq!(s.sync_due(), None);
        s.push(b"a", true).unwrap();
        s.flush().unwrap();
        let due = s.sync_due().expect("a sync is due");
        assert!(due <= Instant::now() + SYNC_EVERY);
        s.sync().unwrap();
        assert_eq!(s.sync_due(), None);
    }
}
