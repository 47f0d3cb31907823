//! The time range of a live log, read once: later passes read only what was appended.
//!
//! Every record of a live log counts (out-of-order records and long lines included), so its
//! facts come from every line. A live log of a gigabyte would then be read whole at every
//! pass, and by `watch` at every look; instead the facts of the bytes up to the last
//! complete line are remembered per file (device and inode), with a fingerprint of the
//! file's first 4 KiB and of the 64 bytes before that offset. A file that still starts and
//! continues the same way has only been appended to, and only the new bytes are read; any
//! other change (truncation, a copy in place, a rewrite) means a full read. `watch` keeps
//! the facts in memory; `enforce` also keeps them in a small file beside its lock, which
//! only a pass holding the lock writes. It is a cache: losing it costs one full read, and
//! it must never be the only place a fact lives. The same file carries what `foreign`
//! remembers of archives without a header, one line each after the live logs'.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use jiff::Timestamp;

use crate::aligned::AlignedReader;
use crate::archive::{self, RecordTimes};
use crate::timestamp::{LogFormat, StampReader};

const HEAD: usize = 4096;
const TAIL: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Bytes read, up to and including the last newline.
    offset: u64,
    head: u64,
    tail: Vec<u8>,
    times: RecordTimes,
}

fn cache() -> &'static Mutex<HashMap<(u64, u64), Entry>> {
    static CACHE: OnceLock<Mutex<HashMap<(u64, u64), Entry>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The fingerprint of a file's head, read in `format`: facts read in another format (the
/// policy changed) are not the file's facts in this one.
fn fingerprint(bytes: &[u8], format: &LogFormat) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("{format:?}").hash(&mut h);
    h.finish()
}

fn read_at(file: &File, len: usize, offset: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; len];
    let mut done = 0;
    while done < len {
        match file.read_at(&mut buf[done..], offset + done as u64)? {
            0 => break,
            n => done += n,
        }
    }
    buf.truncate(done);
    Ok(buf)
}

/// The facts of an entry still valid for this file, if it was only appended to.
fn still_valid(file: &File, size: u64, e: &Entry, format: &LogFormat) -> io::Result<bool> {
    if size < e.offset {
        return Ok(false);
    }
    let head = read_at(file, HEAD.min(e.offset as usize), 0)?;
    if fingerprint(&head, format) != e.head {
        return Ok(false);
    }
    let from = e.offset.saturating_sub(TAIL as u64);
    Ok(read_at(file, (e.offset - from) as usize, from)? == e.tail)
}

/// Where the last complete line of `file` ends in `start..size`: just past its last
/// newline, or `None` when that range holds none.
fn last_line_end(file: &File, start: u64, size: u64) -> io::Result<Option<u64>> {
    const STEP: u64 = 64 * 1024;
    let mut end = size;
    while end > start {
        let from = end.saturating_sub(STEP).max(start);
        let chunk = read_at(file, (end - from) as usize, from)?;
        if let Some(i) = memchr::memrchr(b'\n', &chunk) {
            return Ok(Some(from + i as u64 + 1));
        }
        end = from;
    }
    Ok(None)
}

/// Reads `start..end` of `file` through the prober, continuing `from`.
fn probe_range(
    file: &File,
    start: u64,
    end: u64,
    stamps: &StampReader,
    from: RecordTimes,
) -> io::Result<RecordTimes> {
    let mut input = AlignedReader::with_capacity(
        256 * 1024,
        RangeReader {
            file,
            at: start,
            end,
        },
    );
    archive::probe(&mut input, stamps, from)
}

/// `read` over a byte range of a file, by offset (the file's position is not used).
struct RangeReader<'f> {
    file: &'f File,
    at: u64,
    end: u64,
}

impl io::Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.at) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// The time range of every record of the live log `file` (`size` bytes, device `dev`,
/// inode `ino`), reading only what was appended since a previous call saw it.
pub fn scan(
    file: &File,
    dev: u64,
    ino: u64,
    size: u64,
    stamps: &StampReader,
) -> io::Result<RecordTimes> {
    let known = cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&(dev, ino))
        .cloned();
    let (start, from) = match known {
        Some(e) if still_valid(file, size, &e, stamps.format())? => (e.offset, e.times),
        _ => (0, RecordTimes::default()),
    };
    // Up to the last complete line the facts are final and remembered; a partial last line
    // (a write in progress) is read again next time.
    let end = last_line_end(file, start, size)?.unwrap_or(start);
    let complete = probe_range(file, start, end, stamps, from)?;
    {
        let head = read_at(file, HEAD.min(end as usize), 0)?;
        let tail_from = end.saturating_sub(TAIL as u64);
        let entry = Entry {
            offset: end,
            head: fingerprint(&head, stamps.format()),
            tail: read_at(file, (end - tail_from) as usize, tail_from)?,
            times: complete,
        };
        cache()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((dev, ino), entry);
    }
    probe_range(file, end, size, stamps, complete)
}

/// Loads remembered facts from `path` (written by [`save`]); a missing or unreadable file
/// is an empty cache, never an error: the facts are read again.
pub fn load(path: &Path) {
    use std::os::unix::fs::MetadataExt;
    // Only a file this user wrote and nobody else may change is believed.
    let trusted = std::fs::symlink_metadata(path).is_ok_and(|m| {
        m.file_type().is_file()
            && m.uid() == nix::unistd::geteuid().as_raw()
            && m.mode() & 0o022 == 0
    });
    if !trusted {
        return;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let mut lines = text.lines();
    if lines.next() != Some(FORMAT) {
        return;
    }
    let mut map = cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for line in lines {
        if line.starts_with(crate::foreign::TAG) {
            crate::foreign::load_line(line);
        } else if let Some((key, e)) = parse_entry(line) {
            map.entry(key).or_insert(e);
        }
    }
}

const FORMAT: &str = "logwarden-livescan/1";

fn parse_entry(line: &str) -> Option<((u64, u64), Entry)> {
    let f: Vec<&str> = line.split(' ').collect();
    let [dev, ino, offset, head, tail, oldest, newest, undated, lines] = f[..] else {
        return None;
    };
    let time = |s: &str| -> Option<Option<Timestamp>> {
        if s == "-" {
            Some(None)
        } else {
            Some(Some(Timestamp::from_second(s.parse().ok()?).ok()?))
        }
    };
    let tail = (0..tail.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(tail.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some((
        (dev.parse().ok()?, ino.parse().ok()?),
        Entry {
            offset: offset.parse().ok()?,
            head: head.parse().ok()?,
            tail,
            times: RecordTimes {
                oldest: time(oldest)?,
                newest: time(newest)?,
                undated: undated.parse().ok()?,
                lines: lines.parse().ok()?,
            },
        },
    ))
}

/// Writes the remembered facts of the files in `keep` (device, inode), and those of the
/// archives without a header (see `foreign`), to `path`, through a temp file renamed into
/// place. Only a pass holding the lock calls it.
pub fn save(path: &Path, keep: &[(u64, u64)]) -> io::Result<()> {
    use std::fmt::Write as _;
    let mut text = format!("{FORMAT}\n");
    {
        let map = cache()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for key in keep {
            let Some(e) = map.get(key) else { continue };
            let t = |t: Option<Timestamp>| t.map_or("-".to_string(), |t| t.as_second().to_string());
            let tail: String = e.tail.iter().map(|b| format!("{b:02x}")).collect();
            let _ = writeln!(
                text,
                "{} {} {} {} {tail} {} {} {} {}",
                key.0,
                key.1,
                e.offset,
                e.head,
                t(e.times.oldest),
                t(e.times.newest),
                e.times.undated,
                e.times.lines
            );
        }
    }
    // The headerless archives' facts share the file (one cache file beside the lock).
    for line in crate::foreign::lines() {
        text.push_str(&line);
        text.push('\n');
    }
    // An idle pass changes nothing on disk, this file included.
    if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::other("not a file path"));
    };
    let dir = crate::dir::DirHandle::open(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .map_err(io::Error::other)?;
    let (mut file, temp) = dir.create_temp(name).map_err(io::Error::other)?;
    let written = (|| {
        io::Write::write_all(&mut file, text.as_bytes())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = dir.unlink(&temp);
        return Err(e);
    }
    dir.rename_replace(&temp, &dir, name).map_err(|e| {
        let _ = dir.unlink(&temp);
        io::Error::other(e)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(day: u32) -> String {
        format!("203.0.113.9 - - [{day:02}/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1\n")
    }

    fn facts(f: &File, stamps: &StampReader) -> RecordTimes {
        let st = nix::sys::stat::fstat(f).unwrap();
        scan(f, st.st_dev, st.st_ino, st.st_size as u64, stamps).unwrap()
    }

    #[test]
    fn appended_records_count_and_a_rewrite_in_place_is_read_again() {
        let stamps = StampReader::new(jiff::tz::TimeZone::UTC);
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(line(5).as_bytes()).unwrap();
        // A write in progress: the partial line is read, and read again next time.
        f.write_all(b"203.0.113.9 - - [03/Nov/2026:10:00:00 +0000] \"GET")
            .unwrap();
        let t = facts(&f, &stamps);
        assert_eq!(t.oldest, Some("2026-11-03T10:00:00Z".parse().unwrap()));
        f.write_all(b" / HTTP/1.1\" 200 1\n").unwrap();
        f.write_all(line(1).as_bytes()).unwrap();
        f.write_all(line(9).as_bytes()).unwrap();
        let t = facts(&f, &stamps);
        assert_eq!(t.oldest, Some("2026-11-01T10:00:00Z".parse().unwrap()));
        assert_eq!(t.newest, Some("2026-11-09T10:00:00Z".parse().unwrap()));
        assert_eq!(t.lines, 4);
        // Truncated and refilled past the old size: not an append, read whole.
        f.set_len(0).unwrap();
        f.write_all_at(line(7).repeat(10).as_bytes(), 0).unwrap();
        let t = facts(&f, &stamps);
        assert_eq!(t.oldest, Some("2026-11-07T10:00:00Z".parse().unwrap()));
        assert_eq!(t.lines, 10);
    }

    #[test]
    fn the_saved_cache_round_trips() {
        let e = Entry {
            offset: 123,
            head: 99,
            tail: vec![0, 10, 255],
            times: RecordTimes {
                oldest: Some(Timestamp::from_second(1_790_000_000).unwrap()),
                newest: None,
                undated: 2,
                lines: 7,
            },
        };
        let line = format!(
            "1 2 123 99 000aff {} - 2 7",
            e.times.oldest.unwrap().as_second()
        );
        assert_eq!(parse_entry(&line), Some(((1, 2), e)));
        assert_eq!(parse_entry("1 2 x"), None);
    }
}
