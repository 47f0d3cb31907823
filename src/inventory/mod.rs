//! What is on disk: each site's live logs, the archives derived from them, and the
//! leftovers of an interrupted pass, with the facts the planner needs.
//!
//! Only the directories the policy names are read, only names that derive from a site's
//! patterns are taken in, and nothing is followed: a symlink, a FIFO or a hard-linked log
//! becomes a problem to report, never a file to act on. The inventory reads as little as it
//! can (a few bytes of a logwarden archive, the ends of a plain file) so an idle pass over
//! thousands of archives stays cheap. It must never write.
//!
//! What a name means (live log, archive, temporary file) is decided in `names`; this module
//! reads the directories and gathers the facts.

mod names;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use nix::sys::stat::FileStat;

use crate::archive::{self, Format, HeaderFacts};
use crate::dir::{self, DirHandle};
use crate::policy::{Policy, Site};
use crate::timestamp::{LogFormat, StampReader};

pub use names::{NameKind, Origin, archive_name, classify};
use names::{extended_live, extension_form, foreign_compression};

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
    /// Where its records carry their time: the `format:` of the pattern it matched.
    pub format: LogFormat,
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

impl FileFacts {
    /// Whether some of its records carry no time the site's format reads: they are kept
    /// safe (masked whole, expired with the file), but no rule can be proven for them, so
    /// a pass, `status` and `check` all say so (guarantee 7).
    #[must_use]
    pub fn has_undated(&self) -> bool {
        self.undated > 0 || (self.oldest.is_none() && self.size > 0)
    }
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub what: String,
}

impl Inventory {
    /// Reads the files of the given sites (all when `only` is empty), in the policy's
    /// order, on as many cores as there are: a host of a thousand sites spends its idle
    /// pass in the kernel's lookups of their 60,000 archives, which run side by side.
    pub fn scan(policy: &Policy, only: &[String], stamps: &StampReader) -> Inventory {
        let wanted: Vec<&Site> = policy
            .sites
            .iter()
            .filter(|s| only.is_empty() || only.contains(&s.name))
            .collect();
        let workers = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(wanted.len());
        if workers <= 1 {
            let sites = wanted.iter().map(|s| scan_site(s, stamps)).collect();
            return Inventory { sites };
        }
        // Sites are taken one at a time from a shared counter, so a big site does not hold
        // up a worker's whole share; each result goes back to its site's place.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut done: Vec<(usize, SiteFiles)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(site) = wanted.get(n) else { break };
                            mine.push((n, scan_site(site, stamps)));
                        }
                        mine
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        done.sort_by_key(|(n, _)| *n);
        Inventory {
            sites: done.into_iter().map(|(_, s)| s).collect(),
        }
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
    // A log named literally takes that entry's format over a pattern's that also matches.
    let format_of = |name: &str| {
        patterns
            .iter()
            .find(|p| p.name.literal() == Some(name))
            .or_else(|| patterns.iter().find(|p| p.name.matches(name)))
            .map(|p| p.format.clone())
            .unwrap_or_default()
    };
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
        format: format_of(name),
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
        let stamps = &stamps.with_format(&fam.format);
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
        let stamps = stamps.for_file(Some(f.mtime));
        let times = crate::livescan::scan(&file, f.dev, f.ino, f.size, &stamps)
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
        header = if format.carries_facts() {
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
                let stamps = stamps.for_file(Some(facts.mtime));
                let times = archive::probe(&mut *r, &stamps, archive::RecordTimes::default())
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
    use std::path::Path;

    use super::*;
    use crate::config::LoadedConfig;

    fn site(dir: &Path) -> Site {
        let text = format!(
            "sites:\n  main:\n    logs: [{}/access.log]\n",
            dir.display()
        );
        let p =
            Policy::from_config(&LoadedConfig::parse(Path::new("/c.yaml"), text).unwrap()).unwrap();
        p.sites[0].clone()
    }

    #[test]
    fn sites_read_on_every_core_come_back_in_the_policys_order() {
        let tmp = tempfile::tempdir().unwrap();
        let mut text = String::from("sites:\n");
        // Names out of alphabetical order, some sites bigger than others.
        let names: Vec<String> = (0..23).map(|n| format!("s{}", (n * 7) % 23)).collect();
        for (n, name) in names.iter().enumerate() {
            let dir = tmp.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            for a in 0..(n % 4) {
                std::fs::write(dir.join(format!("access.log.{}", a + 1)), b"x\n").unwrap();
            }
            std::fs::write(dir.join("access.log"), b"x\n").unwrap();
            text.push_str(&format!(
                "  {name}:\n    logs: [{}/access.log]\n",
                dir.display()
            ));
        }
        let p =
            Policy::from_config(&LoadedConfig::parse(Path::new("/c.yaml"), text).unwrap()).unwrap();
        let inv = Inventory::scan(&p, &[], &StampReader::new(jiff::tz::TimeZone::UTC));
        let got: Vec<&str> = inv.sites.iter().map(|s| s.site.as_str()).collect();
        assert_eq!(got, names);
        for (n, site) in inv.sites.iter().enumerate() {
            let archives: usize = site.families.iter().map(|f| f.archives.len()).sum();
            assert_eq!(archives, n % 4, "{}", site.site);
        }
        let some = Inventory::scan(
            &p,
            &["s7".to_string(), "s0".to_string()],
            &StampReader::new(jiff::tz::TimeZone::UTC),
        );
        let got: Vec<&str> = some.sites.iter().map(|s| s.site.as_str()).collect();
        assert_eq!(got, ["s0", "s7"]);
    }

    #[test]
    fn a_site_is_its_live_log_its_archives_and_what_it_refuses() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let record = "203.0.113.0 - - [28/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5\n";
        std::fs::write(dir.join("access.log"), record).unwrap();
        std::fs::write(dir.join("access.log.1"), record).unwrap();
        std::fs::write(dir.join("access.log-20261127-000000"), record).unwrap();
        std::fs::write(dir.join("error.log"), record).unwrap();
        std::os::unix::fs::symlink(dir.join("error.log"), dir.join("access.log.2")).unwrap();

        let got = scan_site(&site(dir), &StampReader::new(jiff::tz::TimeZone::UTC));
        assert_eq!(got.families.len(), 1, "{got:?}");
        let fam = &got.families[0];
        assert_eq!(fam.live_name, "access.log");
        let live = fam.live.as_ref().unwrap();
        assert_eq!(live.oldest, Some("2026-11-28T10:00:00Z".parse().unwrap()));
        let mut archives: Vec<(&str, Origin)> = fam
            .archives
            .iter()
            .map(|a| (a.name.as_str(), a.origin))
            .collect();
        archives.sort_by_key(|(name, _)| *name);
        assert_eq!(
            archives,
            [
                (
                    "access.log-20261127-000000",
                    Origin::Ours {
                        rotated: "2026-11-27T00:00:00Z".parse().unwrap()
                    }
                ),
                ("access.log.1", Origin::Logrotate),
            ]
        );
        // A symlink is never followed: it is reported, never read or touched.
        assert_eq!(got.problems.len(), 1, "{:?}", got.problems);
        assert_eq!(got.problems[0].path, dir.join("access.log.2"));
    }
}
