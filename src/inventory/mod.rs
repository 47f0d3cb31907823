//! What is on disk: each site's live logs, the archives derived from them, and the
//! leftovers of an interrupted pass, with the facts the planner needs.
//!
//! Only the directories the policy names are read, only names that derive from a site's
//! patterns are taken in, and nothing is followed: a symlink, a FIFO or a hard-linked log
//! becomes a problem to report, never a file to act on. The inventory reads as little as it
//! can (a few bytes of a logwarden archive, the ends of a plain file) so an idle pass over
//! thousands of archives stays cheap. It must never write.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jiff::Timestamp;
use nix::sys::stat::FileStat;
use regex::Regex;

use crate::archive::{self, Format, HeaderFacts};
use crate::dir::{self, DirHandle, TEMP_MARK, TEMP_SUFFIX};
use crate::policy::{Policy, Site};
use crate::timestamp::StampReader;

#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// In the order of `Policy::sites`.
    pub sites: Vec<SiteFiles>,
}

#[derive(Debug, Clone, Default)]
pub struct SiteFiles {
    pub site: String,
    pub families: Vec<Family>,
    /// Files the policy covers that logwarden refuses to touch, and why.
    pub problems: Vec<Problem>,
}

/// A live log and everything derived from it.
#[derive(Debug, Clone)]
pub struct Family {
    pub dir: PathBuf,
    pub archive_dir: PathBuf,
    pub live_name: String,
    /// Why a rotation cannot move the live file into `archive_dir` (missing, or on another
    /// file system, where a rename cannot go): the plan refuses rotations while it is set.
    pub archive_dir_problem: Option<String>,
    /// `None` when the live file does not exist (archives may remain).
    pub live: Option<FileFacts>,
    pub archives: Vec<Archive>,
    /// Temporary files an interrupted pass left, by directory and name.
    pub temps: Vec<PathBuf>,
}

/// lstat facts of a file plus the time range of its records where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: Timestamp,
    /// When the file was created (statx birth time), where the file system records it.
    pub born: Option<Timestamp>,
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    /// Lines before the first dated record: their time is unknown.
    pub undated: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    pub facts: FileFacts,
    pub name: String,
    pub format: Format,
    pub origin: Origin,
    /// The logwarden header, when the archive has one; for one without, the facts a full
    /// read or a rewrite left while the file is unchanged since (see `foreign`).
    pub header: Option<HeaderFacts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `<live>-YYYYmmdd-HHMMSS[.gz]`, rotated by logwarden at that UTC time.
    Ours { rotated: Timestamp },
    /// `<live>.N[.ext]`, `<live>-YYYYmmdd[HH][.ext]` and every other `dateext` name, or any
    /// other name that extends a live name after a separator: archives of unknown rotation
    /// time, dated by their records, else their mtime.
    Logrotate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub what: String,
}

/// How a name in a log directory relates to a live log name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameKind {
    Archive {
        stem: String,
        origin: Origin,
        format: Format,
    },
    Temp {
        target: String,
    },
    Other,
}

/// Our names, then what logrotate makes: the `.N` counters and `dateext` under any
/// `dateformat` of `%Y %m %d %H %M %S %V %s` (`-20261130`, `-2026-11-30`, `-2026113012`,
/// `.20261130`, `-20261130-1796000000`): digit groups, each after a separator. Then any
/// compression suffix logrotate's `compressext` may add.
fn archive_suffix() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(.+?)(?:-(\d{8})-(\d{6})|[-._]\d+(?:[-._]\d+)*)(?:\.(?:gz|xz|zst|bz2|lz4|lzma|lz|lzo|Z|br|sz))?$",
        )
        .expect("valid regex")
    })
}

/// The suffixes `archive_suffix` accepts after an archive name.
const COMPRESSION_SUFFIXES: &[&str] = &[
    ".gz", ".xz", ".zst", ".bz2", ".lz4", ".lzma", ".lz", ".lzo", ".Z", ".br", ".sz",
];

/// A compression suffix logrotate's `compressext` may write that no [`Format`] reads: such
/// an archive read as plain text would show no records, and so no violation.
fn foreign_compression(name: &str) -> Option<&'static str> {
    [
        ".lz4", ".lzma", ".lz", ".lzo", ".Z", ".br", ".sz", ".zip", ".7z",
    ]
    .into_iter()
    .find(|ext| name.ends_with(ext))
}

/// The covered live name that `name` extends after a separator (the longest, if several
/// do): `access.log.old`, `access.log-2026.11.30_1200` are archives of `access.log` that
/// no pattern describes. A name that goes on with a letter or digit (`access.log2`) may
/// be another log and is not claimed.
fn extended_live<'a>(name: &str, lives: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    lives
        .into_iter()
        .filter(|live| {
            name.strip_prefix(*live)
                .and_then(|rest| rest.chars().next())
                .is_some_and(|c| !c.is_alphanumeric())
        })
        .max_by_key(|live| live.len())
}

/// The covered live name whose archive `name` is under logrotate's `extension`, which keeps
/// the live name's extension last: `access-20261130.log.gz`, `access.1.log` for
/// `access.log` (the dateext or counter goes before `.log`, a compression suffix after).
fn extension_form<'a>(name: &str, lives: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    lives
        .into_iter()
        .filter(|live| {
            let Some(dot) = live.rfind('.').filter(|&d| d > 0) else {
                return false;
            };
            let (base, ext) = live.split_at(dot);
            let Some(rest) = name.strip_prefix(base) else {
                return false;
            };
            // `rest` is `<mid><ext>[.compression]` with a dateext or counter as `<mid>`.
            rest.match_indices(ext).any(|(at, _)| {
                let (mid, after) = (&rest[..at], &rest[at + ext.len()..]);
                let mid_ok = mid.len() > 1
                    && mid.starts_with(['-', '.', '_'])
                    && mid.chars().all(|c| c.is_ascii_digit() || "-._".contains(c))
                    && mid.chars().any(|c| c.is_ascii_digit());
                mid_ok && (after.is_empty() || COMPRESSION_SUFFIXES.contains(&after))
            })
        })
        .max_by_key(|live| live.len())
}

/// Classifies a directory entry's name.
pub fn classify(name: &str) -> NameKind {
    if let Some(inner) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
    {
        if let Some(i) = inner.rfind(TEMP_MARK) {
            return NameKind::Temp {
                target: inner[..i].to_string(),
            };
        }
    }
    let Some(c) = archive_suffix().captures(name) else {
        return NameKind::Other;
    };
    let stem = c[1].to_string();
    let format = Format::of_name(name);
    let origin = match (c.get(2), c.get(3)) {
        (Some(d), Some(t)) => match ours_time(d.as_str(), t.as_str()) {
            Some(rotated) => Origin::Ours { rotated },
            None => Origin::Logrotate,
        },
        _ => Origin::Logrotate,
    };
    NameKind::Archive {
        stem,
        origin,
        format,
    }
}

fn ours_time(d: &str, t: &str) -> Option<Timestamp> {
    let text = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &t[0..2],
        &t[2..4],
        &t[4..6]
    );
    text.parse().ok()
}

/// The archive name logwarden gives a live file rotated at `at`.
pub fn archive_name(live: &str, at: Timestamp) -> String {
    format!("{live}-{}", at.strftime("%Y%m%d-%H%M%S"))
}

impl Inventory {
    /// Reads the files of the given sites (all when `only` is empty).
    pub fn scan(policy: &Policy, only: &[String], stamps: &StampReader) -> Inventory {
        let sites = policy
            .sites
            .iter()
            .filter(|s| only.is_empty() || only.contains(&s.name))
            .map(|s| scan_site(s, stamps))
            .collect();
        Inventory { sites }
    }

    /// Lists the files of the given sites with their lstat facts only: no record times, no
    /// file opened. For `check`, which reads every file in full anyway.
    pub fn listing(policy: &Policy, only: &[String]) -> Inventory {
        let stamps = StampReader::new(jiff::tz::TimeZone::UTC);
        let sites = policy
            .sites
            .iter()
            .filter(|s| only.is_empty() || only.contains(&s.name))
            .map(|s| scan_site_with(s, &stamps, false))
            .collect();
        Inventory { sites }
    }
}

/// Reads one site.
pub fn scan_site(site: &Site, stamps: &StampReader) -> SiteFiles {
    scan_site_with(site, stamps, true)
}

/// `probe`: read record times (false: lstat facts only).
fn scan_site_with(site: &Site, stamps: &StampReader, probe: bool) -> SiteFiles {
    let mut out = SiteFiles {
        site: site.name.clone(),
        ..SiteFiles::default()
    };
    // Group patterns by directory so each directory is listed once.
    let mut by_dir: BTreeMap<&Path, Vec<&crate::policy::LogPattern>> = BTreeMap::new();
    for p in &site.logs {
        by_dir.entry(p.dir.as_path()).or_default().push(p);
    }
    for (dir_path, patterns) in by_dir {
        let dir = match DirHandle::open_trusting(dir_path, site.su_uid()) {
            Ok(d) => d,
            Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => {
                log::debug!("{}: directory does not exist (yet)", dir_path.display());
                continue;
            }
            Err(e) => {
                out.problems.push(Problem {
                    path: dir_path.to_path_buf(),
                    what: e.to_string(),
                });
                continue;
            }
        };
        if let Some(why) = crate::creds::dir_problem(dir.stat(), site.su.as_ref()) {
            out.problems.push(Problem {
                path: dir_path.to_path_buf(),
                what: why,
            });
            continue;
        }
        let mut archive_dir_problem = None;
        let home = site.archive_home(dir_path);
        let archive_dir = match (home != dir_path).then_some(home) {
            Some(a) => match DirHandle::open_trusting(a, site.su_uid()) {
                Ok(d) => {
                    if d.stat().st_dev != dir.stat().st_dev {
                        archive_dir_problem = Some(format!(
                            "archive_dir {} is on another file system than {}; rotation moves the live log there by rename, so it must be on the same one",
                            a.display(),
                            dir_path.display()
                        ));
                    }
                    Some(d)
                }
                Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => {
                    archive_dir_problem = Some(format!(
                        "archive_dir {} does not exist; create it on the file system of {}",
                        a.display(),
                        dir_path.display()
                    ));
                    None
                }
                Err(e) => {
                    out.problems.push(Problem {
                        path: a.to_path_buf(),
                        what: e.to_string(),
                    });
                    continue;
                }
            },
            None => None,
        };
        if let Some(a) = &archive_dir {
            if let Some(why) = crate::creds::dir_problem(a.stat(), site.su.as_ref()) {
                out.problems.push(Problem {
                    path: a.path().to_path_buf(),
                    what: format!("archive_dir: {why}"),
                });
                continue;
            }
        }
        let names = match dir.names() {
            Ok(n) => n,
            Err(e) => {
                out.problems.push(Problem {
                    path: dir_path.to_path_buf(),
                    what: e.to_string(),
                });
                continue;
            }
        };
        let archive_names = match &archive_dir {
            Some(a) => a.names().unwrap_or_default(),
            None => Vec::new(),
        };
        scan_dir(
            &dir,
            archive_dir.as_ref(),
            archive_dir_problem.as_deref(),
            &names,
            &archive_names,
            &patterns,
            stamps,
            probe,
            &mut out,
        );
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn scan_dir(
    dir: &DirHandle,
    archive_dir: Option<&DirHandle>,
    archive_dir_problem: Option<&str>,
    names: &[std::ffi::OsString],
    archive_names: &[std::ffi::OsString],
    patterns: &[&crate::policy::LogPattern],
    stamps: &StampReader,
    probe: bool,
    out: &mut SiteFiles,
) {
    let matches = |stem: &str| patterns.iter().any(|p| p.name.matches(stem));
    // Live names: matching names that are not archives or temps, plus literal names and
    // stems of archives whose live file is gone (their archives still expire).
    let mut lives: BTreeMap<String, Family> = BTreeMap::new();
    let new_family = |name: &str| Family {
        dir: dir.path().to_path_buf(),
        archive_dir: archive_dir.map_or(dir.path(), |a| a.path()).to_path_buf(),
        live_name: name.to_string(),
        archive_dir_problem: archive_dir_problem.map(str::to_string),
        live: None,
        archives: Vec::new(),
        temps: Vec::new(),
    };
    for p in patterns {
        if let Some(lit) = p.name.literal() {
            lives
                .entry(lit.to_string())
                .or_insert_with(|| new_family(lit));
        }
    }
    let mut entries: Vec<(&DirHandle, &str)> = Vec::new();
    for n in names {
        match n.to_str() {
            Some(s) => entries.push((dir, s)),
            None => {
                let lossy = n.to_string_lossy();
                if matches(&lossy) {
                    out.problems.push(Problem {
                        path: dir.join(n),
                        what: "file name is not valid UTF-8; rename it".into(),
                    });
                }
            }
        }
    }
    if let Some(a) = archive_dir {
        entries.extend(
            archive_names
                .iter()
                .filter_map(|n| n.to_str())
                .map(|s| (a, s)),
        );
    }
    // Each name is classified once (a directory may hold thousands of archives).
    let entries: Vec<(&DirHandle, &str, NameKind)> = entries
        .into_iter()
        .map(|(d, name)| (d, name, classify(name)))
        .collect();
    for (d, name, kind) in &entries {
        let (d, name) = (*d, *name);
        match kind {
            NameKind::Other if std::ptr::eq(d, dir) && matches(name) => {
                lives
                    .entry(name.to_string())
                    .or_insert_with(|| new_family(name));
            }
            NameKind::Archive { stem, .. } if matches(stem) => {
                lives
                    .entry(stem.clone())
                    .or_insert_with(|| new_family(stem));
            }
            _ => {}
        }
    }
    // A name no rule recognised that extends a covered log's name is an archive of it all
    // the same: ignoring it would leave its records (and addresses) unexpired and unaudited.
    let entries: Vec<(&DirHandle, &str, NameKind)> = entries
        .into_iter()
        .map(|(d, name, kind)| {
            let live = std::ptr::eq(d, dir) && matches(name);
            let kind = match kind {
                NameKind::Other if !live => {
                    let covered = || lives.keys().map(String::as_str);
                    match extended_live(name, covered()).or_else(|| extension_form(name, covered()))
                    {
                        Some(stem) => NameKind::Archive {
                            stem: stem.to_string(),
                            origin: Origin::Logrotate,
                            format: Format::of_name(name),
                        },
                        None => NameKind::Other,
                    }
                }
                kind => kind,
            };
            (d, name, kind)
        })
        .collect();
    for (live_name, mut fam) in lives {
        match fact(dir, OsStr::new(&live_name)) {
            Ok(Some(st)) => match live_facts(dir, &live_name, &st, stamps, probe) {
                Ok(f) => fam.live = Some(f),
                Err(what) => out.problems.push(Problem {
                    path: dir.join(OsStr::new(&live_name)),
                    what,
                }),
            },
            Ok(None) => {}
            Err(what) => out.problems.push(Problem {
                path: dir.join(OsStr::new(&live_name)),
                what,
            }),
        }
        for (d, name, kind) in &entries {
            let (d, name) = (*d, *name);
            match kind {
                NameKind::Archive {
                    stem,
                    origin,
                    format,
                } if *stem == live_name => {
                    if let Some(ext) = foreign_compression(name) {
                        out.problems.push(Problem {
                            path: d.join(OsStr::new(name)),
                            what: format!(
                                "compressed as {ext}, which logwarden cannot read; recompress it with gzip, xz or zstd"
                            ),
                        });
                        continue;
                    }
                    match archive_facts(d, name, *origin, *format, stamps, probe) {
                        Ok(a) => fam.archives.push(a),
                        Err(what) => out.problems.push(Problem {
                            path: d.join(OsStr::new(name)),
                            what,
                        }),
                    }
                }
                NameKind::Temp { target }
                    if *target == live_name
                        || classify(target).stem() == Some(live_name.as_str()) =>
                {
                    fam.temps.push(d.join(OsStr::new(name)));
                }
                _ => {}
            }
        }
        fam.archives.sort_by(|a, b| a.facts.path.cmp(&b.facts.path));
        out.families.push(fam);
    }
}

/// Names in a site's directories that extend a covered log's name without a separator
/// (`access.log2`, `access.logold`), are not covered themselves, and so are neither a log
/// nor an archive to logwarden: `check` reports them, since nobody can say what they hold.
pub fn unclassified(site: &Site, files: &SiteFiles) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs: BTreeMap<&Path, Vec<&str>> = BTreeMap::new();
    for fam in &files.families {
        dirs.entry(&fam.dir).or_default().push(&fam.live_name);
        dirs.entry(&fam.archive_dir)
            .or_default()
            .push(&fam.live_name);
    }
    for (dir_path, lives) in dirs {
        let Ok(names) = DirHandle::open_trusting(dir_path, site.su_uid()).and_then(|d| d.names())
        else {
            continue;
        };
        for n in &names {
            let Some(name) = n.to_str() else { continue };
            let covered = site
                .logs
                .iter()
                .any(|p| p.dir == dir_path && p.name.matches(name));
            let extends = lives.iter().any(|live| {
                name.strip_prefix(live)
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(char::is_alphanumeric)
            });
            if extends && !covered && classify(name).stem().is_none() {
                out.push(dir_path.join(name));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

impl NameKind {
    fn stem(&self) -> Option<&str> {
        match self {
            NameKind::Archive { stem, .. } => Some(stem),
            _ => None,
        }
    }
}

/// lstat, refusing anything but a regular, singly linked file.
fn fact(d: &DirHandle, name: &OsStr) -> Result<Option<FileStat>, String> {
    let st = match d.lstat(name) {
        Ok(Some(st)) => st,
        Ok(None) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if dir::is_symlink(&st) {
        return Err("is a symlink; logwarden never follows symlinks".into());
    }
    if !dir::is_regular(&st) {
        return Err("is not a regular file (a FIFO, device or directory?)".into());
    }
    if st.st_nlink > 1 {
        return Err(format!(
            "has {} hard links; logwarden refuses hard-linked logs",
            st.st_nlink
        ));
    }
    Ok(Some(st))
}

fn base_facts(path: PathBuf, st: &FileStat) -> FileFacts {
    FileFacts {
        path,
        dev: st.st_dev,
        ino: st.st_ino,
        size: st.st_size as u64,
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        mtime: Timestamp::from_second(st.st_mtime).unwrap_or(Timestamp::UNIX_EPOCH),
        born: None,
        oldest: None,
        newest: None,
        undated: 0,
    }
}

fn live_facts(
    d: &DirHandle,
    name: &str,
    st: &FileStat,
    stamps: &StampReader,
    probe: bool,
) -> Result<FileFacts, String> {
    let mut f = base_facts(d.join(OsStr::new(name)), st);
    if probe && f.size > 0 {
        let file = d.open_read(OsStr::new(name)).map_err(|e| e.to_string())?;
        f.born = file
            .metadata()
            .and_then(|m| m.created())
            .ok()
            .and_then(|t| Timestamp::try_from(t).ok());
        let times = crate::livescan::scan(&file, f.dev, f.ino, f.size, stamps)
            .map_err(|e| format!("cannot read: {e}"))?;
        f.oldest = times.oldest;
        f.newest = times.newest;
        f.undated = times.undated;
    }
    Ok(f)
}

fn archive_facts(
    d: &DirHandle,
    name: &str,
    origin: Origin,
    format: Format,
    stamps: &StampReader,
    probe: bool,
) -> Result<Archive, String> {
    let st = fact(d, OsStr::new(name))?.ok_or_else(|| "vanished while being read".to_string())?;
    let mut facts = base_facts(d.join(OsStr::new(name)), &st);
    let mut header = None;
    if probe && facts.size > 0 && format.is_supported() {
        let file = d.open_read(OsStr::new(name)).map_err(|e| e.to_string())?;
        header = if format == Format::Gzip {
            archive::read_header(&file)
        } else {
            None
        };
        // Without a header, what a full read or a rewrite found while the file stays as
        // it was (see `foreign`) stands in for one.
        let state = crate::foreign::State::of(&st);
        header = header.or_else(|| crate::foreign::recall(&facts.path, &state));
        let times = match (&header, format) {
            (Some(h), _) => archive::RecordTimes {
                oldest: h.oldest,
                newest: h.newest,
                undated: h.undated,
                lines: 0,
            },
            (None, _) => {
                log::debug!(
                    "{}: no facts header and none remembered; read in full",
                    crate::escape::path(&facts.path)
                );
                let mut r = archive::decoder(file, format).map_err(|e| e.to_string())?;
                let times = archive::probe(&mut *r, stamps, archive::RecordTimes::default())
                    .map_err(|e| {
                        if format == Format::Plain {
                            format!("cannot read: {e}")
                        } else {
                            format!("cannot decompress: {e}")
                        }
                    })?;
                crate::foreign::remember(&facts.path, state, HeaderFacts::of_times(&times));
                times
            }
        };
        facts.oldest = times.oldest;
        facts.newest = times.newest;
        facts.undated = times.undated;
    }
    Ok(Archive {
        facts,
        name: name.to_string(),
        format,
        origin,
        header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logrotate_extension_names_are_archives_of_the_log_whose_extension_they_keep() {
        let lives = ["access.log", "error.log"];
        for name in [
            "access-20261130.log.gz",
            "access-2026-11-30.log",
            "access.1.log",
            "access_20261130-1796000000.log.zst",
        ] {
            assert_eq!(extension_form(name, lives), Some("access.log"), "{name}");
        }
        for name in [
            "access-old.log",
            "access.log",
            "accessx-1.log",
            "access-1.log.txt",
            "access-.log",
            "other-20261130.log.gz",
        ] {
            assert_eq!(extension_form(name, lives), None, "{name}");
        }
    }

    #[test]
    fn classifies_archive_and_temp_names() {
        let ours = classify("access.log-20261128-235959.gz");
        assert_eq!(
            ours,
            NameKind::Archive {
                stem: "access.log".into(),
                origin: Origin::Ours {
                    rotated: "2026-11-28T23:59:59Z".parse().unwrap()
                },
                format: Format::Gzip
            }
        );
        for (name, stem, format) in [
            ("access.log.1", "access.log", Format::Plain),
            ("access.log.2.gz", "access.log", Format::Gzip),
            ("access.log-20261101.xz", "access.log", Format::Xz),
            ("access.log-2026110112.zst", "access.log", Format::Zstd),
            ("error.log-20261128-120000", "error.log", Format::Plain),
        ] {
            match classify(name) {
                NameKind::Archive {
                    stem: s, format: f, ..
                } => {
                    assert_eq!((s.as_str(), f), (stem, format), "{name}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        // logrotate's dateext under the dateformats of %Y %m %d %H %M %S %V %s, and every
        // compressext.
        for name in [
            "access.log-20261130-1796000000",
            "access.log-2026-11-30",
            "access.log-2026113012",
            "access.log.20261130",
            "access.log_2026-48",
            "access.log-1796000000.gz",
            "access.log.3.lz4",
            "access.log-20261130.Z",
            "access.log-2026-11-30-12-00-00.br",
        ] {
            assert!(
                matches!(classify(name), NameKind::Archive { ref stem, origin: Origin::Logrotate, .. } if stem == "access.log"),
                "{name}: {:?}",
                classify(name)
            );
        }
        assert_eq!(
            extended_live("access.log.old", ["access", "access.log", "error.log"]),
            Some("access.log")
        );
        assert_eq!(extended_live("access.log2", ["access.log"]), None);
        assert_eq!(extended_live("access.log", ["access.log"]), None);
        assert_eq!(classify("access.log"), NameKind::Other);
        assert_eq!(classify("app.2024.log"), NameKind::Other);
        assert_eq!(
            classify(".access.log-20261128-235959.gz.logwarden-12-0.tmp"),
            NameKind::Temp {
                target: "access.log-20261128-235959.gz".into()
            }
        );
    }

    #[test]
    fn archive_names_round_trip() {
        let at: Timestamp = "2026-11-29T03:04:05Z".parse().unwrap();
        let name = archive_name("access.log", at);
        assert_eq!(name, "access.log-20261129-030405");
        assert!(
            matches!(classify(&name), NameKind::Archive { origin: Origin::Ours { rotated }, .. } if rotated == at)
        );
    }
}
