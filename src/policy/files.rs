//! The policy against the directories of this host and against itself: one file belongs
//! to one site, a pattern that matches nothing is said so, `archive_dir` must be on the
//! log's file system, and a live log's first lines must carry stamps its `format:` reads.
//!
//! Only reads directory listings, metadata and the head of live logs; never follows a
//! symlink, never writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::validate::Validator;
use super::{LogPattern, Site, Su};
use crate::timestamp::{LogFormat, StampReader};

impl Validator<'_> {
    /// Rotation renames the live log into `archive_dir`, which only works on one file
    /// system. Only a warning: the directories may not exist on the machine that validates
    /// (the plan refuses such rotations on the machine that rotates).
    pub(super) fn archive_dir_reachable(
        &mut self,
        key: &str,
        archive_dir: &Path,
        logs: &[LogPattern],
    ) {
        use std::os::unix::fs::MetadataExt;
        let log_dirs: Vec<_> = logs
            .iter()
            .filter_map(|l| Some((&l.dir, std::fs::symlink_metadata(&l.dir).ok()?.dev())))
            .collect();
        if log_dirs.is_empty() {
            return;
        }
        match std::fs::symlink_metadata(archive_dir) {
            Err(_) => self.warn(
                key,
                format_args!(
                    "{} does not exist; logs are not rotated until it does",
                    archive_dir.display()
                ),
            ),
            Ok(m) => {
                if let Some((dir, _)) = log_dirs.iter().find(|(_, dev)| *dev != m.dev()) {
                    self.warn(
                        key,
                        format_args!(
                            "{} is on another file system than {}; rotation renames into it, so logs are not rotated",
                            archive_dir.display(),
                            dir.display()
                        ),
                    );
                }
            }
        }
    }

    /// One file, one site: refuses two sites whose patterns can match one file (or one
    /// pattern written twice), and two sites whose archives would share a name in one
    /// directory, where the second rotation would replace the first site's archive and
    /// each site would adopt, and expire by its own retention, the other's.
    pub(super) fn overlapping_logs(&mut self, sites: &[Site]) {
        let all: Vec<(&Site, &LogPattern)> = sites
            .iter()
            .flat_map(|s| s.logs.iter().map(move |p| (s, p)))
            .collect();
        let listings = Listings::default();
        // Each log's directory and archive home, looked up once; only the earlier logs
        // sharing one of them are compared (every pair, with a stat each, took 15 s for
        // 1,000 sites of two logs).
        let keys: Vec<(DirKey, DirKey)> = all
            .iter()
            .map(|&(site, log)| (dir_key(&log.dir), dir_key(site.archive_home(&log.dir))))
            .collect();
        let mut by_dir: HashMap<&DirKey, Vec<usize>> = HashMap::new();
        let mut by_home: HashMap<&DirKey, Vec<usize>> = HashMap::new();
        for (n, &(site, log)) in all.iter().enumerate() {
            let (dir, home) = (&keys[n].0, &keys[n].1);
            // The earlier logs in this directory or archiving into this one, in their order.
            let mut earlier_ones: Vec<usize> = by_dir
                .get(dir)
                .into_iter()
                .chain(by_home.get(home))
                .flatten()
                .copied()
                .collect();
            earlier_ones.sort_unstable();
            earlier_ones.dedup();
            by_dir.entry(dir).or_default().push(n);
            by_home.entry(home).or_default().push(n);
            for m in earlier_ones {
                let (other, earlier) = all[m];
                let same_site = std::ptr::eq(site, other);
                if *dir == keys[m].0 {
                    if same_site {
                        if log.name.as_str() == earlier.name.as_str() {
                            self.error(
                                &log.key,
                                format!(
                                    "{} is already a log of site {} ({})",
                                    log.display(),
                                    site.name,
                                    earlier.key
                                ),
                            );
                        }
                    } else if log.name.may_share_a_name(&earlier.name) {
                        let example = listings
                            .names(&log.dir)
                            .into_iter()
                            .find(|f| log.name.matches(f) && earlier.name.matches(f))
                            .map_or(String::new(), |f| {
                                format!(" ({} matches both)", crate::escape::path(&log.dir.join(f)))
                            });
                        self.error(
                            &log.key,
                            format!(
                                "{} and {} ({}, already a log of site {}) can match the same file{example}; a file may belong to one site only, so narrow one pattern",
                                log.display(),
                                earlier.display(),
                                earlier.key,
                                other.name
                            ),
                        );
                    }
                    continue;
                }
                if same_site {
                    continue;
                }
                let mine = site.archive_home(&log.dir);
                if *home == keys[m].1 && log.name.may_share_a_name(&earlier.name) {
                    self.error(
                        &log.key,
                        format!(
                            "{} and {} (site {}) would both put archives named <name>-<time> into {}: one rotation would replace the other site's archive, and each site would expire the other's; give one site an archive_dir of its own",
                            log.display(),
                            earlier.display(),
                            other.name,
                            mine.display()
                        ),
                    );
                }
            }
        }
    }

    /// A pattern that matches nothing is most often a typo or a host that writes its logs
    /// elsewhere; say so, since nothing downstream will (there is nothing to act on).
    pub(super) fn unmatched_logs(&mut self, sites: &[Site]) {
        let listings = Listings::default();
        for site in sites {
            for log in &site.logs {
                match listings.read(&log.dir, site.su.as_ref()) {
                    Err(why) if why.ends_with(NO_DIR) => self.warn(
                        &log.key,
                        format!("{} matches no file: {why}", log.display()),
                    ),
                    // Unsafe ancestors, permissions: the site cannot be worked on here.
                    Err(why) => self.warn(
                        &log.key,
                        format!("{} cannot be worked on: {why}", log.display()),
                    ),
                    Ok(names) => {
                        // Archives of a log count: the pattern still covers records.
                        let live = names.iter().any(|n| match crate::inventory::classify(n) {
                            crate::inventory::NameKind::Other => log.name.matches(n),
                            crate::inventory::NameKind::Archive { stem, .. } => {
                                log.name.matches(&stem)
                            }
                            crate::inventory::NameKind::Temp { .. } => false,
                        });
                        // logwarden makes a received log itself when its writer starts.
                        if !live && log.receive.is_none() {
                            self.warn(
                                &log.key,
                                format!(
                                    "{} matches no file in {}",
                                    log.display(),
                                    log.dir.display()
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// How many lines of a live log `validate` reads to judge its format.
const SAMPLE_LINES: usize = 200;
/// And how many bytes at most (an nginx line with a long escaped user name is tens of KiB).
const SAMPLE_BYTES: u64 = 1 << 20;

impl Validator<'_> {
    /// A format that dates none of a log's lines would leave every record undated: rotation
    /// by creation time and `check` violations instead of record-by-record expiry. Say so
    /// before that happens, with the format that does date them.
    pub(super) fn undatable_logs(&mut self, sites: &[Site]) {
        let stamps = StampReader::default();
        for site in sites {
            for log in &site.logs {
                let Ok(dir) = crate::dir::DirHandle::open_trusting(&log.dir, site.su_uid()) else {
                    continue; // said by `unmatched_logs`
                };
                let Ok(mut names) = dir.names() else { continue };
                names.sort();
                for name in names {
                    let text = name.to_string_lossy();
                    let live = matches!(
                        crate::inventory::classify(&text),
                        crate::inventory::NameKind::Other
                    ) && log.name.matches(&text);
                    if !live {
                        continue;
                    }
                    let Some((lines, mtime)) = sample(&dir, &name) else {
                        continue;
                    };
                    if let Some(msg) = format_advice(&stamps.for_file(mtime), &log.format, &lines) {
                        self.warn(
                            &log.key,
                            format!("{}: {msg}", crate::escape::path(&dir.join(&name))),
                        );
                    }
                }
            }
        }
    }
}

/// Up to [`SAMPLE_LINES`] non-empty complete lines from the head of a live log, and its
/// mtime.
fn sample(
    dir: &crate::dir::DirHandle,
    name: &std::ffi::OsStr,
) -> Option<(Vec<Vec<u8>>, Option<jiff::Timestamp>)> {
    use std::io::Read;
    let file = dir.open_read(name).ok()?;
    let mtime = file
        .metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| jiff::Timestamp::try_from(t).ok());
    let mut head = Vec::new();
    file.take(SAMPLE_BYTES).read_to_end(&mut head).ok()?;
    let complete = match memchr::memrchr(b'\n', &head) {
        Some(i) => &head[..i],
        None if (head.len() as u64) < SAMPLE_BYTES => &head[..],
        None => return None,
    };
    let lines: Vec<Vec<u8>> = complete
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(SAMPLE_LINES)
        .map(<[u8]>::to_vec)
        .collect();
    (!lines.is_empty()).then_some((lines, mtime))
}

/// What to tell the admin when `format` dates none of `lines`, or far fewer than another
/// format would; `None` when the format fits.
pub(super) fn format_advice(
    stamps: &StampReader,
    format: &LogFormat,
    lines: &[Vec<u8>],
) -> Option<String> {
    let dated = |f: &LogFormat| {
        let r = stamps.with_format(f);
        lines.iter().filter(|l| r.find_stamp(l).is_some()).count()
    };
    let own = dated(format);
    let best = LogFormat::candidates()
        .into_iter()
        .filter(|f| f.name() != format.name())
        .map(|f| (dated(&f), f))
        .fold(None::<(usize, LogFormat)>, |best, (n, f)| match best {
            Some((b, _)) if b >= n => best,
            _ => Some((n, f)),
        })
        .filter(|(n, _)| *n > 0);
    let n = lines.len();
    let said = format!(
        "{own} of {n} sampled lines carry a stamp `format: {}` reads",
        format.name()
    );
    match best {
        Some((b, f)) if b >= 2 * own.max(1) && 2 * b > n || own == 0 && b > 0 => Some(format!(
            "{said}; is it `format: {}` ({b} of {n} dated)?",
            f.name()
        )),
        None if own == 0 => Some(format!(
            "{said}, and no other format dates them: its records will be undated (rotated by age of file, never expired record by record); for JSON, name the field with `time_field:`"
        )),
        _ => None,
    }
}

/// A directory as the overlap check compares it: two are one when they are equal as
/// written, or, where both exist, the same inode. So the inode where it exists (a path
/// equal as written stats the same), the path as written where it does not.
#[derive(PartialEq, Eq, Hash)]
enum DirKey {
    Inode(u64, u64),
    Missing(PathBuf),
}

fn dir_key(p: &Path) -> DirKey {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(p) {
        Ok(m) => DirKey::Inode(m.dev(), m.ino()),
        Err(_) => DirKey::Missing(p.to_path_buf()),
    }
}

const NO_DIR: &str = " does not exist";

/// Directory listings read once per validation, without following a symlink anywhere.
#[derive(Default)]
struct Listings {
    #[allow(clippy::type_complexity)]
    cache: std::cell::RefCell<
        std::collections::HashMap<(PathBuf, Option<Su>), Result<Vec<String>, String>>,
    >,
}

impl Listings {
    /// The names in `dir`, or why the site (acting as `su`) cannot work there.
    fn read(&self, dir: &Path, su: Option<&Su>) -> Result<Vec<String>, String> {
        self.cache
            .borrow_mut()
            .entry((dir.to_path_buf(), su.cloned()))
            .or_insert_with(|| {
                match crate::dir::DirHandle::open_trusting(dir, su.and_then(|s| s.user.id)) {
                    Ok(d) if crate::creds::dir_problem(d.stat(), su).is_some() => Err(format!(
                        "{} {}",
                        crate::escape::path(dir),
                        crate::creds::dir_problem(d.stat(), su).unwrap_or_default()
                    )),
                    Ok(d) => d
                        .names()
                        .map(|n| n.iter().map(|n| n.to_string_lossy().into_owned()).collect())
                        .map_err(|e| e.to_string()),
                    Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => Err(format!(
                        "directory {} does not exist",
                        crate::escape::path(dir)
                    )),
                    Err(e) => Err(e.to_string()),
                }
            })
            .clone()
    }

    fn names(&self, dir: &Path) -> Vec<String> {
        self.read(dir, None).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{policy, refused};

    #[test]
    fn one_file_belongs_to_one_site_however_the_patterns_are_written() {
        let cases = [
            ("/d/*.log", "/d/access.log"),
            ("/d//access.log", "/d/access.log"),
            ("/d/./access.log", "/d/access.log"),
            ("/d/a*.log", "/d/*s.log"),
            ("/d/access.?og", "/d/*.log"),
            ("/d/*", "/d/x.log"),
        ];
        for (a, b) in cases {
            let text = format!("sites:\n  a:\n    logs: [\"{a}\"]\n  b:\n    logs: [\"{b}\"]\n");
            let msg = refused(&text);
            if a == "/d/*" {
                assert!(msg.contains("would match archives too"), "{msg}");
                continue;
            }
            assert!(msg.contains("sites.b.logs.0: "), "{a} / {b}: {msg}");
            assert!(msg.contains("can match the same file"), "{a} / {b}: {msg}");
            assert!(msg.contains("site a"), "{msg}");
        }
        // Disjoint patterns in one directory are fine.
        for (a, b) in [
            ("/d/a*.log", "/d/b*.log"),
            ("/d/*.log", "/d/*.txt"),
            ("/d/access.log", "/e/access.log"),
        ] {
            let text = format!("sites:\n  a:\n    logs: [\"{a}\"]\n  b:\n    logs: [\"{b}\"]\n");
            policy(&text).unwrap_or_else(|e| panic!("{a} / {b}: {e}"));
        }
    }

    #[test]
    fn two_sites_never_share_an_archive_name_in_one_directory() {
        let msg = refused(
            "defaults:\n  archive_dir: /arch\nsites:\n  a:\n    logs: [/a/access.log]\n  b:\n    logs: [/b/access.log]\n",
        );
        assert!(msg.contains("sites.b.logs.0: "), "{msg}");
        assert!(msg.contains("would both put archives named"), "{msg}");
        assert!(msg.contains("/arch"), "{msg}");
        // A site's archives beside another site's live log of the same name pattern.
        let msg = refused(
            "sites:\n  a:\n    logs: [/a/access.log]\n    archive_dir: /b\n  b:\n    logs: [\"/b/*.log\"]\n",
        );
        assert!(msg.contains("would both put archives named"), "{msg}");
        // Different names, or different directories, are fine.
        policy("defaults:\n  archive_dir: /arch\nsites:\n  a:\n    logs: [/a/a.log]\n  b:\n    logs: [/b/b.log]\n").unwrap();
        policy("sites:\n  a:\n    logs: [/a/access.log]\n  b:\n    logs: [/b/access.log]\n")
            .unwrap();
    }

    #[test]
    fn a_pattern_matching_no_file_is_a_warning_naming_its_key() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("access.log"), "").unwrap();
        std::fs::write(d.join("error.log-20261101.gz"), "").unwrap();
        let text = format!(
            "sites:\n  a:\n    logs: [{0}/access.log, {0}/acces.log, \"{0}/error.log*\", {0}/nodir/x.log]\n",
            d.display()
        );
        let p = policy(&text).unwrap();
        let w = p.warnings.join("\n");
        assert!(!w.contains("logs.0"), "{w}");
        assert!(
            w.contains("sites.a.logs.1: ") && w.contains("acces.log matches no file"),
            "{w}"
        );
        // A log's archives are files the pattern covers.
        assert!(!w.contains("sites.a.logs.2: "), "{w}");
        assert!(
            w.contains("sites.a.logs.3: ") && w.contains("nodir does not exist"),
            "{w}"
        );
        assert!(!p.sites[0].missing_ok);
        let text = format!(
            "sites:\n  a:\n    logs: [{}/x.log]\n    missing_ok: true\n",
            d.display()
        );
        assert!(policy(&text).unwrap().sites[0].missing_ok);
    }
}
