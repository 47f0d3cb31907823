//! Archives without our header (`.xz`, `.zst`, plain and logrotate's own `.gz`): what they
//! hold, remembered while they stay exactly as they were.
//!
//! A gzip archive logwarden wrote says in its header what it holds and how far it is
//! masked; any other archive would be decompressed whole at every pass to learn its record
//! times, and rewritten at every pass while masking is due, since nothing said how far it
//! was masked already. Instead the facts found by a full read or left by a rewrite are kept
//! per file (device and inode) together with its size, mtime and ctime: while all five are
//! the same the file has not been written since (ctime cannot be set back from user space;
//! only a rename to another name is forgiven it, see [`recall`]), and the facts stand in for the header the archive does not have, so the planner applies
//! the one masking rule (up to one rotation interval past the window) to it as to ours. Any
//! change, or no entry, means a full read: this is a cache, never the only place a fact
//! lives, and `check` never consults it. It is saved with the live logs' facts (see
//! `livescan`), in the file beside the lock.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use nix::sys::stat::FileStat;

use crate::archive::HeaderFacts;

/// The state of a file the facts were found in: anything that changes the bytes changes
/// the size, the mtime or at least the ctime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub dev: u64,
    pub ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl State {
    pub fn of(st: &FileStat) -> State {
        State {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    state: State,
    /// Where the file was found: an entry whose file is gone is dropped when saved.
    path: PathBuf,
    facts: HeaderFacts,
    /// Looked up or stored since the last save.
    seen: bool,
}

fn cache() -> &'static Mutex<HashMap<(u64, u64), Entry>> {
    static CACHE: OnceLock<Mutex<HashMap<(u64, u64), Entry>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The facts remembered for the file at `path` in this `state`, if any. Only a rename
/// may have moved the ctime (logrotate shifts `access.log.1.xz` to `access.log.2.xz` at
/// every rotation): under another name, with the same size and mtime, the facts stand;
/// under the same name, any ctime change means the file was written (or its owner or mode
/// changed) and it is read again.
pub fn recall(path: &Path, state: &State) -> Option<HeaderFacts> {
    let mut map = cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let e = map.get_mut(&(state.dev, state.ino))?;
    let same = e.state == *state;
    let renamed = e.path != path
        && State {
            ctime: state.ctime,
            ..e.state
        } == *state;
    if !(same || renamed) {
        return None;
    }
    e.state = *state;
    e.seen = true;
    e.path = path.to_path_buf();
    Some(e.facts)
}

/// Remembers what the file at `path`, in `state`, holds (replacing what was remembered of
/// that inode before).
pub fn remember(path: &Path, state: State, facts: HeaderFacts) {
    cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(
            (state.dev, state.ino),
            Entry {
                state,
                path: path.to_path_buf(),
                facts,
                seen: true,
            },
        );
}

/// The first word of a saved line.
pub const TAG: &str = "archive";

/// Reads a line written by [`lines`]; an entry already in memory is kept.
pub fn load_line(line: &str) -> bool {
    let Some((path, e)) = parse(line) else {
        return false;
    };
    cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry((e.state.dev, e.state.ino))
        .or_insert(Entry { path, ..e });
    true
}

fn parse(line: &str) -> Option<(PathBuf, Entry)> {
    let mut w = line.splitn(10, ' ');
    if w.next()? != TAG {
        return None;
    }
    let mut num = || w.next()?.parse::<i64>().ok();
    let (dev, ino, size) = (num()?, num()?, num()?);
    let mtime = (num()?, num()?);
    let ctime = (num()?, num()?);
    let path = unhex(w.next()?)?;
    let facts = HeaderFacts::from_text(w.next()?)?;
    let state = State {
        dev: u64::try_from(dev).ok()?,
        ino: u64::try_from(ino).ok()?,
        size: u64::try_from(size).ok()?,
        mtime,
        ctime,
    };
    Some((
        path.clone(),
        Entry {
            state,
            path,
            facts,
            seen: false,
        },
    ))
}

fn unhex(s: &str) -> Option<PathBuf> {
    let bytes = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)))
}

fn line(e: &Entry) -> String {
    let s = &e.state;
    let path: String = e
        .path
        .as_os_str()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{TAG} {} {} {} {} {} {} {} {path} {}",
        s.dev,
        s.ino,
        s.size,
        s.mtime.0,
        s.mtime.1,
        s.ctime.0,
        s.ctime.1,
        e.facts.to_text()
    )
}

/// The entries to save, sorted: those seen since the last call, and those whose file is
/// still there as it was (an archive of a site this pass did not look at). The others are
/// forgotten, here and in memory, so the cache never outgrows the archives on disk.
pub fn lines() -> Vec<String> {
    let mut map = cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.retain(|_, e| {
        e.seen
            || std::fs::symlink_metadata(&e.path).is_ok_and(|m| {
                use std::os::unix::fs::MetadataExt;
                let now = State {
                    dev: m.dev(),
                    ino: m.ino(),
                    size: m.size(),
                    mtime: (m.mtime(), m.mtime_nsec()),
                    ctime: (m.ctime(), m.ctime_nsec()),
                };
                now == e.state
            })
    });
    let mut out: Vec<String> = map
        .values_mut()
        .map(|e| {
            e.seen = false;
            line(e)
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anonymize::{Mask, Scope};
    use jiff::Timestamp;

    fn facts() -> HeaderFacts {
        HeaderFacts {
            oldest: Some(Timestamp::from_second(1_790_000_000).unwrap()),
            newest: Some(Timestamp::from_second(1_790_086_400).unwrap()),
            mask: Some(Mask::new(24, 48, Scope::All).unwrap()),
            masked_before: Some(Timestamp::from_second(1_790_050_000).unwrap()),
            undated: 3,
        }
    }

    fn state_of(path: &Path) -> State {
        State::of(&nix::sys::stat::lstat(path).unwrap())
    }

    #[test]
    fn facts_are_recalled_only_while_the_file_is_unchanged() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("access.log.2.xz");
        std::fs::write(&path, b"abc").unwrap();
        let before = state_of(&path);
        remember(&path, before, facts());
        assert_eq!(recall(&path, &before), Some(facts()));
        // Rewritten in place with the same size and its mtime put back: the ctime moved.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"xyz").unwrap();
        let m = std::fs::metadata(&path).unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(
            std::time::UNIX_EPOCH
                + std::time::Duration::new(before.mtime.0 as u64, before.mtime.1 as u32),
        )
        .unwrap();
        drop((f, m));
        let after = state_of(&path);
        assert_eq!((after.size, after.mtime), (before.size, before.mtime));
        assert_eq!(recall(&path, &after), None);
        // Appended to: another size.
        remember(&path, after, facts());
        std::fs::write(&path, b"xyz and more").unwrap();
        assert_eq!(recall(&path, &state_of(&path)), None);
    }

    #[test]
    fn a_rename_alone_keeps_the_facts() {
        let tmp = tempfile::tempdir().unwrap();
        let one = tmp.path().join("access.log.1.xz");
        let two = tmp.path().join("access.log.2.xz");
        std::fs::write(&one, b"abc").unwrap();
        remember(&one, state_of(&one), facts());
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::rename(&one, &two).unwrap();
        assert_eq!(recall(&two, &state_of(&two)), Some(facts()));
        // A mode change in place moves the ctime too: read again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::set_permissions(&two, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        assert_eq!(recall(&two, &state_of(&two)), None);
    }

    #[test]
    fn a_saved_entry_reads_back_and_a_damaged_one_is_ignored() {
        let e = Entry {
            state: State {
                dev: 2049,
                ino: 77,
                size: 1234,
                mtime: (1_790_000_000, 5),
                ctime: (1_790_000_001, 999_999_999),
            },
            path: PathBuf::from("/var/log/site a/access.log.2.xz"),
            facts: facts(),
            seen: false,
        };
        let text = line(&e);
        assert_eq!(parse(&text), Some((e.path.clone(), e)));
        assert_eq!(parse(&text.replace("logwarden/1", "other/1")), None);
        assert_eq!(parse("archive 1 2 3"), None);
        assert_eq!(parse("1 2 3 4 5 6 7 8 9"), None);
    }

    #[test]
    fn an_entry_whose_file_is_gone_is_not_saved() {
        let tmp = tempfile::tempdir().unwrap();
        let kept = tmp.path().join("kept.log.1");
        let gone = tmp.path().join("gone.log.1");
        std::fs::write(&kept, b"a").unwrap();
        std::fs::write(&gone, b"b").unwrap();
        let (sk, sg) = (state_of(&kept), state_of(&gone));
        remember(&kept, sk, facts());
        remember(&gone, sg, facts());
        lines();
        std::fs::remove_file(&gone).unwrap();
        // Neither was seen since: the one still there as it was is kept.
        let saved = lines();
        assert!(
            saved
                .iter()
                .any(|l| l.contains(&format!(" {} {} ", sk.dev, sk.ino)))
        );
        assert!(
            !saved
                .iter()
                .any(|l| l.contains(&format!(" {} {} ", sg.dev, sg.ino)))
        );
    }
}
