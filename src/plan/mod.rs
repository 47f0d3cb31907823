//! The pure heart of logwarden: given the policy, what is on disk and the time, which
//! actions are due.
//!
//! `plan` reads no file and no clock, so every rule of the retention and full-IP promises is
//! a unit test here. It must never plan to touch a file the inventory did not list, and it
//! must order actions so that a crash between any two leaves nothing lost: rotate before
//! reopening the writer, reopen before rewriting what the writer held, commit a new archive
//! before removing what it replaced.
//!
//! The actions themselves, and how they read, are in `action`; this module decides them.

mod action;
mod deadline;

use std::collections::BTreeSet;
use std::path::PathBuf;

use jiff::{SignedDuration, Timestamp};

pub use action::{Action, FileId, Id, Plan, Recreate, Rewrite, Rotate};
pub use deadline::{Deadline, DueKind, deadlines, exposure, next_deadline, next_deadline_why};

use crate::archive::{Format, RewriteSpec};
use crate::inventory::{Archive, Family, FileFacts, Inventory, Origin, SiteFiles, archive_name};
use crate::policy::{Account, Compression, FullIpLimit, Policy, Site, duration_in_words};
use crate::timestamp::rfc3339;

/// Everything that is due at `now`.
pub fn plan(policy: &Policy, inventory: &Inventory, now: Timestamp) -> Plan {
    let mut actions = Vec::new();
    for files in &inventory.sites {
        let Some(site) = policy.site(&files.site) else {
            continue;
        };
        plan_site(site, files, &policy.written_here, now, &mut actions);
    }
    Plan { actions }
}

/// When a live file was created: the rotation time of the newest archive logwarden made of
/// its predecessor, else the file system's birth time.
fn created(fam: &Family, live: &FileFacts, now: Timestamp) -> Option<Timestamp> {
    let rotated = fam
        .archives
        .iter()
        .filter_map(|a| match a.origin {
            Origin::Ours { rotated } => Some(rotated),
            Origin::Logrotate => None,
        })
        .max();
    // A birth time ahead of the clock says the clock is wrong, not when the file began.
    rotated.or(live.born.filter(|b| *b <= now))
}

/// The archive logwarden made last of this family.
fn newest_ours(fam: &Family) -> Option<&Archive> {
    fam.archives
        .iter()
        .filter_map(|a| match a.origin {
            Origin::Ours { rotated } => Some((rotated, a)),
            Origin::Logrotate => None,
        })
        .max_by_key(|(rotated, _)| *rotated)
        .map(|(_, a)| a)
}

/// The time an archive without any dated record expires by: its rotation time (our name),
/// else its mtime. Every record in it was written before either.
fn undated_time(a: &Archive) -> Option<Timestamp> {
    if a.facts.size == 0 {
        return None;
    }
    Some(match a.origin {
        Origin::Ours { rotated } => rotated,
        Origin::Logrotate => a.facts.mtime,
    })
}

fn plan_site(
    site: &Site,
    files: &SiteFiles,
    written_here: &[PathBuf],
    now: Timestamp,
    out: &mut Vec<Action>,
) {
    let name = &site.name;
    let mut rotations = Vec::new();
    // Rotations of files the server writes: it must be told to reopen.
    let mut server_rotated = false;
    let mut rewrites = Vec::new();
    let mut deletes = Vec::new();
    let mut recheck = Vec::new();
    let cutoff = site.retention_cutoff(now);
    for p in &files.problems {
        out.push(Action::Refuse {
            site: name.clone(),
            path: p.path.clone(),
            why: p.what.clone(),
        });
    }
    for fam in &files.families {
        let mut restored = false;
        for t in &fam.temps {
            let temp_name = t.file_name().unwrap_or_default().to_string_lossy();
            let for_live = crate::inventory::classify(&temp_name)
                == crate::inventory::NameKind::Temp {
                    target: fam.live_name.clone(),
                };
            if for_live && fam.live.is_none() && !restored && t.parent() == Some(fam.dir.as_path())
            {
                out.push(Action::RestoreLive {
                    site: name.clone(),
                    temp: t.clone(),
                    live: fam.dir.join(&fam.live_name),
                });
                restored = true;
            } else {
                out.push(Action::RemoveTemp {
                    site: name.clone(),
                    path: t.clone(),
                });
            }
        }
        let superseded = superseded(fam);
        for (plain, gz) in &superseded {
            out.push(Action::RemoveSuperseded {
                site: name.clone(),
                path: plain.clone(),
                by: gz.clone(),
            });
        }
        if let Some(live) = fam.live.as_ref().filter(|_| site.rotation.by_server) {
            if let Some(why) = unkept_in_server_file(site, fam, live, now) {
                out.push(Action::Refuse {
                    site: name.clone(),
                    path: live.path.clone(),
                    why,
                });
            }
        } else if let Some(live) = &fam.live {
            let reason = rotation_reason(site, fam, live, now);
            if let (Some(reason), Some(why)) = (&reason, &fam.archive_dir_problem) {
                out.push(Action::Refuse {
                    site: name.clone(),
                    path: live.path.clone(),
                    why: format!("not rotated ({reason}): {why}"),
                });
            } else if let (Some(reason), Some(_), false) = (
                &reason,
                site.received(&live.path),
                written_here.contains(&live.path),
            ) {
                // Its writer (`watch`, `pipe`) rotates it by switching files; here, only
                // whether it is running can be judged.
                out.push(Action::LeaveToWriter {
                    site: name.clone(),
                    path: live.path.clone(),
                    id: FileId::of(live),
                    reason: reason.clone(),
                });
            } else if let Some(reason) = reason {
                server_rotated |= site.received(&live.path).is_none();
                let archive = free_archive_path(fam, now);
                let facts = FileFacts {
                    path: archive.clone(),
                    ..live.clone()
                };
                rotations.push(Action::Rotate(Rotate {
                    site: name.clone(),
                    live: live.path.clone(),
                    id: FileId::of(live),
                    archive: archive.clone(),
                    recreate: recreate(site, live),
                    reason,
                }));
                // Never deleted whole on the facts read before the rotation: the writer may
                // still append to it. The rewrite, run once it has let go, drops what is
                // past retention record by record (and the file, when that is all of it).
                if let Some(w) = archive_rewrite(site, fam, &facts, Format::Plain, true, None, now)
                {
                    rewrites.push(Action::Rewrite(w));
                }
            }
        }
        for a in &fam.archives {
            if superseded.iter().any(|(plain, _)| *plain == a.facts.path) {
                continue;
            }
            if matches!(a.origin, Origin::Ours { .. })
                && a.format == Format::Plain
                && a.facts.size == 0
            {
                // The prepared empty file of a rotation killed before its swap: it never
                // held a line. Its name is free for this pass's rotation.
                out.push(Action::RemoveTemp {
                    site: name.clone(),
                    path: a.facts.path.clone(),
                });
                continue;
            }
            if !a.format.is_supported() {
                out.push(Action::Refuse {
                    site: name.clone(),
                    path: a.facts.path.clone(),
                    why: "bzip2 archives are not supported; recompress with gzip or xz".into(),
                });
                continue;
            }
            // Every dated record past retention, or with none, the rotation time or mtime.
            let newest = a
                .facts
                .newest
                .map(|n| (n, true))
                .or_else(|| undated_time(a).map(|t| (t, false)));
            if let Some((newest, dated)) = newest.filter(|(n, _)| *n < cutoff) {
                deletes.push(Action::Delete {
                    site: name.clone(),
                    path: a.facts.path.clone(),
                    id: FileId::of(&a.facts),
                    size: a.facts.size,
                    newest,
                    dated,
                    cutoff,
                });
                continue;
            }
            let ours = matches!(a.origin, Origin::Ours { .. });
            let rewrite = archive_rewrite(site, fam, &a.facts, a.format, ours, Some(a), now);
            // A plain archive of ours is one a writer may still hold (a rotation killed
            // before its reopen, a writer that could not reopen): asked again when it is due
            // a rewrite, and, where archives stay plain, when it is the newest one.
            let newest_uncompressed = site.compression == Compression::None
                && newest_ours(fam).is_some_and(|n| n.facts.path == a.facts.path);
            if ours && a.format == Format::Plain && (rewrite.is_some() || newest_uncompressed) {
                recheck.push((FileId::of(&a.facts), a.facts.path.clone()));
            }
            rewrites.extend(rewrite.map(Action::Rewrite));
        }
    }
    out.extend(rotations);
    if server_rotated || !recheck.is_empty() {
        out.push(Action::Reopen {
            site: name.clone(),
            how: site.reopen.clone(),
            recheck,
        });
    }
    out.extend(rewrites);
    out.extend(deletes);
}

/// Plain archives of ours whose compressed twin (`.gz`, `.zst`) exists: the twin was
/// committed (renamed into place complete) by a pass that died before removing the
/// original.
fn superseded(fam: &Family) -> Vec<(PathBuf, PathBuf)> {
    let names: BTreeSet<&str> = fam.archives.iter().map(|a| a.name.as_str()).collect();
    fam.archives
        .iter()
        .filter(|a| a.format == Format::Plain && matches!(a.origin, Origin::Ours { .. }))
        .filter_map(|a| {
            [Format::Gzip, Format::Zstd]
                .into_iter()
                .map(|f| format!("{}{}", a.name, f.extension()))
                .find(|twin| names.contains(twin.as_str()))
                .map(|twin| (a.facts.path.clone(), fam.archive_dir.join(twin)))
        })
        .collect()
}

fn rotation_reason(site: &Site, fam: &Family, live: &FileFacts, now: Timestamp) -> Option<String> {
    if live.size == 0 {
        return None;
    }
    if let Some(max) = site.rotation.max_size {
        if live.size >= max {
            return Some(format!("size {} reached max_size {}", live.size, max));
        }
    }
    let Some(oldest) = live.oldest else {
        // No record can be dated: rotate on rotate.every from the file's creation, so its
        // records get a rotation time to expire by and are masked whole as an archive.
        let every = site.rotation.every;
        return match created(fam, live, now) {
            Some(c) if site.undated_rotate_due_at(c).is_none_or(|due| now < due) => None,
            Some(c) => Some(format!(
                "no record carries a time; created {} ago, rotate.every is {}",
                age_words(now.duration_since(c)),
                duration_in_words(every)
            )),
            None => Some(
                "no record carries a time and its creation time is unknown; rotated to start a dated span"
                    .into(),
            ),
        };
    };
    let age = now.duration_since(oldest);
    let (window, which) = site.live_window();
    if site.rotate_due_at(oldest).is_some_and(|due| now >= due) {
        return Some(format!(
            "oldest record {} old, {which} is {}",
            age_words(age),
            duration_in_words(window)
        ));
    }
    None
}

/// Under `rotate: false` the server closes its own files: what its current file holds that
/// the policy no longer allows, which logwarden cannot fix (it never touches a file a writer
/// holds) and so must report.
fn unkept_in_server_file(
    site: &Site,
    fam: &Family,
    live: &FileFacts,
    now: Timestamp,
) -> Option<String> {
    if live.size == 0 {
        return None;
    }
    let Some(oldest) = live.oldest else {
        return Some(format!(
            "no record carries a time where `format: {}` puts it, so retention and the full-IP window cannot be judged in the file the server writes (rotate: false)",
            fam.format.name()
        ));
    };
    let due = site.rotate_due_at(oldest)?;
    (now >= due).then(|| {
        let (window, which) = site.live_window();
        format!(
            "its oldest record is {} old, past {which} ({}), and with rotate: false only the server can close the file (Caddy: roll_size, or a restart); logwarden never rotates it",
            age_words(now.duration_since(oldest)),
            duration_in_words(window)
        )
    })
}

fn age_words(d: SignedDuration) -> String {
    let secs = d.as_secs();
    if secs >= 86_400 {
        format!("{}d{}h", secs / 86_400, secs % 86_400 / 3600)
    } else if secs >= 3600 {
        format!("{}h{}m", secs / 3600, secs % 3600 / 60)
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

fn recreate(site: &Site, live: &FileFacts) -> Recreate {
    let id = |a: Option<&Account>, current: u32| match a {
        None => Id::Known(current),
        Some(Account { id: Some(id), .. }) => Id::Known(*id),
        Some(Account { name, id: None }) => Id::Missing(name.clone()),
    };
    // Acting as the `su:` user, a new file is that user's (it cannot give it away), as
    // with logrotate's `su`.
    let create = site.create.as_ref();
    let su = site.su.as_ref();
    Recreate {
        mode: create.and_then(|c| c.mode).unwrap_or(live.mode),
        owner: id(
            create
                .and_then(|c| c.owner.as_ref())
                .or(su.map(|s| &s.user)),
            live.uid,
        ),
        group: id(
            create
                .and_then(|c| c.group.as_ref())
                .or(su.map(|s| &s.group)),
            live.gid,
        ),
    }
}

/// The archive path for a rotation at `now`, one second later per name already taken so a
/// fast size-driven rotation never overwrites an archive.
fn free_archive_path(fam: &Family, now: Timestamp) -> PathBuf {
    let taken: BTreeSet<&str> = fam
        .archives
        .iter()
        .filter(|a| !(a.format == Format::Plain && a.facts.size == 0))
        .map(|a| a.name.as_str())
        .collect();
    let mut at = now;
    loop {
        let name = archive_name(&fam.live_name, at);
        let gz = format!("{name}.gz");
        if !taken.contains(name.as_str()) && !taken.contains(gz.as_str()) {
            return fam.archive_dir.join(name);
        }
        at += SignedDuration::from_secs(1);
    }
}

/// What, if anything, an archive needs: compression, masking, trimming.
#[allow(clippy::too_many_arguments)]
fn archive_rewrite(
    site: &Site,
    fam: &Family,
    facts: &FileFacts,
    format: Format,
    ours: bool,
    archive: Option<&Archive>,
    now: Timestamp,
) -> Option<Rewrite> {
    let mut reasons = Vec::new();
    let cutoff = site.retention_cutoff(now);
    let drop_before = facts.oldest.filter(|&o| o < cutoff).map(|_| cutoff);
    if let Some(cut) = drop_before {
        reasons.push(format!("drop records before {}", rfc3339(cut)));
    }
    let header = archive.and_then(|a| a.header);
    let masking = masking(site, facts, header, now);
    if let Some(m) = masking.filter(|m| m.due) {
        let how_far = match m.before {
            None => String::new(),
            Some(b) => format!(" before {}", rfc3339(b)),
        };
        reasons.push(format!(
            "mask /{} /{}{how_far}",
            m.mask.ipv4_prefix, m.mask.ipv6_prefix
        ));
    }
    let compress = site.compression != Compression::None && format == Format::Plain && ours;
    if compress {
        reasons.push("compress".into());
    }
    if reasons.is_empty() {
        return None;
    }
    let overdue = drop_before.is_some() || masking.is_some_and(|m| m.due);
    let (output, level) = match (site.compression, compress) {
        (Compression::Gzip { level }, true) => (Format::Gzip, level),
        (Compression::Zstd { level }, true) => (Format::Zstd, level),
        (Compression::Gzip { level }, false) if format == Format::Gzip => (Format::Gzip, level),
        (Compression::Zstd { level }, false) if format == Format::Zstd => (Format::Zstd, level),
        (_, _) => (format, if format == Format::Zstd { 3 } else { 6 }),
    };
    let dest = if compress {
        let mut name = facts.path.file_name().unwrap_or_default().to_os_string();
        name.push(output.extension());
        facts.path.with_file_name(name)
    } else {
        facts.path.clone()
    };
    Some(Rewrite {
        site: site.name.clone(),
        source: facts.path.clone(),
        id: FileId::of(facts),
        dest,
        spec: RewriteSpec {
            mask: masking.map(|m| site.mask_for(&fam.format).unwrap_or(m.mask)),
            mask_before: masking.and_then(|m| m.before),
            drop_before,
            output,
            level,
        },
        reasons,
        overdue,
        log_format: fam.format.clone(),
    })
}

/// Which records of an archive carry truncated addresses after a rewrite.
#[derive(Debug, Clone, Copy)]
struct Masking {
    mask: crate::anonymize::Mask,
    /// Records stamped before this are masked; `None`: all of them.
    before: Option<Timestamp>,
    /// Whether masking more is why the archive is rewritten.
    due: bool,
}

fn masking(
    site: &Site,
    facts: &FileFacts,
    header: Option<crate::archive::HeaderFacts>,
    now: Timestamp,
) -> Option<Masking> {
    let t = site.truncation?;
    // The records the limit reaches must be masked after the pass (all, for after: 0s).
    let limit = site.full_ip_limit(true, now);
    let required = match limit {
        FullIpLimit::Before(w) => Some(w),
        FullIpLimit::All | FullIpLimit::Off => None,
    };
    let any_required = limit.reached_by(facts.oldest);
    let covered = header.is_some_and(|h| h.covers(&t.mask, required));
    // Lines of unknown time are masked at once: early is allowed, late is not. A rewrite
    // with a mask masks them all, whatever `before` says.
    let undated = facts.undated > 0 || (facts.oldest.is_none() && facts.size > 0);
    let undated_covered = header.is_some_and(|h| h.covers(&t.mask, Some(Timestamp::MIN)));
    if (any_required && !covered) || (undated && !undated_covered) {
        // Ahead by one rotation interval, so a day's archive is rewritten once, not at
        // every hourly pass; beyond its newest record that means all of it.
        let before = required
            .and_then(|w| w.checked_add(site.rotation.every).ok())
            .filter(|b| facts.newest.is_none_or(|n| n >= *b))
            .filter(|_| any_required || facts.oldest.is_some());
        return Some(Masking {
            mask: t.mask,
            before,
            due: true,
        });
    }
    // Not due: a rewrite for other reasons keeps what is masked already.
    let h = header.filter(|h| h.covers(&t.mask, Some(Timestamp::MIN)))?;
    Some(Masking {
        mask: t.mask,
        before: h.masked_before,
        due: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::anonymize::Mask;
    use crate::archive::HeaderFacts;
    use crate::config::LoadedConfig;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn policy(extra: &str) -> Policy {
        let text = format!("sites:\n  main:\n    logs: [/l/access.log]\n{extra}");
        Policy::from_config(&LoadedConfig::parse(Path::new("/c.yaml"), text).unwrap()).unwrap()
    }

    fn facts(path: &str, size: u64, oldest: Option<&str>, newest: Option<&str>) -> FileFacts {
        FileFacts {
            path: PathBuf::from(path),
            dev: 1,
            ino: 2,
            size,
            mode: 0o640,
            uid: 0,
            gid: 0,
            mtime: Timestamp::UNIX_EPOCH,
            born: None,
            oldest: oldest.map(t),
            newest: newest.map(t),
            undated: 0,
        }
    }

    fn family(live: Option<FileFacts>, archives: Vec<Archive>) -> Inventory {
        Inventory {
            sites: vec![SiteFiles {
                site: "main".into(),
                families: vec![Family {
                    dir: "/l".into(),
                    archive_dir: "/l".into(),
                    live_name: "access.log".into(),
                    archive_dir_problem: None,
                    live,
                    archives,
                    temps: vec![],
                    format: crate::timestamp::LogFormat::Auto,
                }],
                problems: vec![],
            }],
        }
    }

    fn archive(name: &str, oldest: &str, newest: &str, header: Option<HeaderFacts>) -> Archive {
        let format = Format::of_name(name);
        let crate::inventory::NameKind::Archive { origin, .. } = crate::inventory::classify(name)
        else {
            panic!("not an archive name")
        };
        Archive {
            facts: facts(&format!("/l/{name}"), 100, Some(oldest), Some(newest)),
            name: name.into(),
            format,
            origin,
            header,
        }
    }

    fn kinds(p: &Plan) -> Vec<&'static str> {
        p.actions.iter().map(Action::kind).collect()
    }

    #[test]
    fn empty_live_file_never_rotates() {
        let p = policy("");
        let inv = family(Some(facts("/l/access.log", 0, None, None)), vec![]);
        assert!(plan(&p, &inv, t("2026-11-29T00:00:00Z")).actions.is_empty());
    }

    #[test]
    fn live_rotates_when_oldest_record_reaches_every() {
        let p = policy("");
        let live = facts(
            "/l/access.log",
            10,
            Some("2026-11-28T00:00:00Z"),
            Some("2026-11-28T12:00:00Z"),
        );
        let inv = family(Some(live), vec![]);
        assert!(plan(&p, &inv, t("2026-11-28T23:59:59Z")).actions.is_empty());
        let plan = plan(&p, &inv, t("2026-11-29T00:00:00Z"));
        assert_eq!(kinds(&plan), ["rotate", "reopen", "rewrite"]);
        let Action::Rotate(r) = &plan.actions[0] else {
            panic!()
        };
        assert_eq!(r.archive, Path::new("/l/access.log-20261129-000000"));
        assert_eq!(
            r.recreate,
            Recreate {
                mode: 0o640,
                owner: Id::Known(0),
                group: Id::Known(0)
            }
        );
        let Action::Rewrite(w) = &plan.actions[2] else {
            panic!()
        };
        assert_eq!(w.dest, Path::new("/l/access.log-20261129-000000.gz"));
        assert_eq!(w.spec.output, Format::Gzip);
        assert_eq!(
            w.spec.mask, None,
            "a day-old archive is not yet due for masking at after: 7d"
        );
    }

    #[test]
    fn a_zstd_site_compresses_its_rotated_logs_to_zst_at_its_level() {
        let p = policy("    compress: { method: zstd, level: 19 }\n");
        let live = facts(
            "/l/access.log",
            10,
            Some("2026-11-28T00:00:00Z"),
            Some("2026-11-28T12:00:00Z"),
        );
        let plan = plan(&p, &family(Some(live), vec![]), t("2026-11-29T00:00:00Z"));
        assert_eq!(kinds(&plan), ["rotate", "reopen", "rewrite"]);
        let Action::Rewrite(w) = &plan.actions[2] else {
            panic!()
        };
        assert_eq!(w.dest, Path::new("/l/access.log-20261129-000000.zst"));
        assert_eq!((w.spec.output, w.spec.level), (Format::Zstd, 19));
    }

    #[test]
    fn an_unusable_archive_dir_refuses_the_rotation_but_not_expiry() {
        let p = policy("");
        let live = facts(
            "/l/access.log",
            10,
            Some("2026-11-28T00:00:00Z"),
            Some("2026-11-28T12:00:00Z"),
        );
        let old = archive(
            "access.log-20261001-000000.gz",
            "2026-09-30T00:00:00Z",
            "2026-10-01T00:00:00Z",
            None,
        );
        let mut inv = family(Some(live), vec![old]);
        inv.sites[0].families[0].archive_dir_problem = Some("archive_dir /a is elsewhere".into());
        let plan = plan(&p, &inv, t("2026-11-29T00:00:00Z"));
        assert_eq!(kinds(&plan), ["refuse", "delete"]);
        let Action::Refuse { path, why, .. } = &plan.actions[0] else {
            panic!()
        };
        assert_eq!(path, Path::new("/l/access.log"));
        assert!(why.starts_with("not rotated (") && why.ends_with("archive_dir /a is elsewhere"));
        // Nothing due: nothing refused.
        let quiet = super::plan(&p, &inv, t("2026-11-28T12:00:00Z"));
        assert!(
            quiet
                .actions
                .iter()
                .all(|a| !matches!(a, Action::Refuse { .. }))
        );
    }

    #[test]
    fn live_rotates_early_for_the_full_ip_window() {
        let p = policy("    rotate: { every: 7d }\n    anonymize: { after: 1d }\n");
        let live = facts(
            "/l/access.log",
            10,
            Some("2026-11-28T00:00:00Z"),
            Some("2026-11-28T12:00:00Z"),
        );
        let plan = plan(&p, &family(Some(live), vec![]), t("2026-11-29T00:00:00Z"));
        assert_eq!(kinds(&plan), ["rotate", "reopen", "rewrite"]);
        let Action::Rewrite(w) = &plan.actions[2] else {
            panic!()
        };
        assert_eq!(w.spec.mask, Some(Mask::default()));
    }

    #[test]
    fn after_zero_masks_at_rotation_and_size_triggers() {
        let p = policy("    rotate: { max_size: 1k }\n    anonymize: { after: 0s }\n");
        let live = facts(
            "/l/access.log",
            2048,
            Some("2026-11-29T00:00:00Z"),
            Some("2026-11-29T00:00:10Z"),
        );
        let plan = plan(&p, &family(Some(live), vec![]), t("2026-11-29T00:00:20Z"));
        let Action::Rotate(r) = &plan.actions[0] else {
            panic!()
        };
        assert!(r.reason.contains("max_size"), "{}", r.reason);
        let Action::Rewrite(w) = &plan.actions[2] else {
            panic!()
        };
        assert_eq!(w.spec.mask, Some(Mask::default()));
    }

    #[test]
    fn a_live_log_wholly_past_retention_is_trimmed_once_the_writer_let_go_never_deleted_on_old_facts()
     {
        let p = policy("");
        let live = facts(
            "/l/access.log",
            10,
            Some("2026-10-01T00:00:00Z"),
            Some("2026-10-02T00:00:00Z"),
        );
        let plan = plan(&p, &family(Some(live), vec![]), t("2026-11-29T00:00:00Z"));
        assert_eq!(kinds(&plan), ["rotate", "reopen", "rewrite"]);
        let Action::Rewrite(w) = &plan.actions[2] else {
            panic!()
        };
        assert_eq!(w.spec.drop_before, Some(t("2026-11-15T00:00:00Z")));
        assert!(w.overdue);
    }

    fn undated(path: &str, size: u64) -> FileFacts {
        FileFacts {
            undated: 3,
            ..facts(path, size, None, None)
        }
    }

    #[test]
    fn an_undated_live_log_rotates_on_rotate_every_from_its_creation() {
        let p = policy("");
        let prev = Archive {
            facts: undated("/l/access.log-20261128-000000.gz", 10),
            ..archive(
                "access.log-20261128-000000.gz",
                "2026-11-27T00:00:00Z",
                "2026-11-28T00:00:00Z",
                None,
            )
        };
        let live = undated("/l/access.log", 10);
        let inv = family(Some(live.clone()), vec![prev]);
        let before = t("2026-11-28T23:00:00Z");
        assert!(
            !kinds(&plan(&p, &inv, before)).contains(&"rotate"),
            "rotate.every is not up yet"
        );
        assert_eq!(
            next_deadline(&p, &inv, before),
            Some(t("2026-11-29T00:00:00Z"))
        );
        assert!(kinds(&plan(&p, &inv, t("2026-11-29T00:00:00Z"))).contains(&"rotate"));
        // Nothing tells its creation: rotated at once, so it gets a rotation time.
        let alone = family(Some(live), vec![]);
        assert_eq!(kinds(&plan(&p, &alone, before))[0], "rotate");
    }

    #[test]
    fn an_undated_archive_expires_by_its_rotation_time_or_mtime_and_is_masked_whole() {
        let p = policy(
            "    retention: 14d
",
        );
        let ours = |name: &str| Archive {
            facts: undated(&format!("/l/{name}"), 10),
            ..archive(name, "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", None)
        };
        let old = ours("access.log-20261101-000000.gz");
        let young = ours("access.log-20261125-000000.gz");
        let mut foreign = ours("access.log.1");
        foreign.facts.mtime = t("2026-11-02T00:00:00Z");
        let plan = plan(
            &p,
            &family(None, vec![old, young, foreign]),
            t("2026-11-29T00:00:00Z"),
        );
        let mut deleted: Vec<_> = plan
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Delete { path, dated, .. } => Some((path.clone(), *dated)),
                _ => None,
            })
            .collect();
        deleted.sort();
        assert_eq!(
            deleted,
            [
                (PathBuf::from("/l/access.log-20261101-000000.gz"), false),
                (PathBuf::from("/l/access.log.1"), false)
            ]
        );
        let masked: Vec<_> = plan
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Rewrite(w) => Some((w.source.clone(), w.spec.mask_before, w.overdue)),
                _ => None,
            })
            .collect();
        assert_eq!(
            masked,
            [(
                PathBuf::from("/l/access.log-20261125-000000.gz"),
                None,
                true
            )]
        );
    }

    #[test]
    fn an_archive_rotated_earlier_and_due_a_rewrite_gets_the_reopen_again() {
        let p = policy(
            "    reopen: { signal: USR1, pidfile: /run/nginx.pid }
",
        );
        let held = archive(
            "access.log-20261128-000000",
            "2026-11-27T00:00:00Z",
            "2026-11-28T00:00:00Z",
            None,
        );
        let plan = plan(&p, &family(None, vec![held]), t("2026-11-29T00:00:00Z"));
        assert_eq!(kinds(&plan), ["reopen", "rewrite"]);
        let Action::Reopen { recheck, .. } = &plan.actions[0] else {
            panic!()
        };
        assert_eq!(
            recheck,
            &[(
                FileId { dev: 1, ino: 2 },
                PathBuf::from("/l/access.log-20261128-000000")
            )]
        );
    }

    #[test]
    fn where_archives_stay_plain_the_newest_is_rechecked_for_a_writer() {
        let p = policy("    compress: { method: none }\n");
        let older = archive(
            "access.log-20261127-000000",
            "2026-11-26T00:00:00Z",
            "2026-11-27T00:00:00Z",
            None,
        );
        let mut newest = archive(
            "access.log-20261128-000000",
            "2026-11-27T00:00:00Z",
            "2026-11-28T00:00:00Z",
            None,
        );
        newest.facts.ino = 3;
        let plan = plan(
            &p,
            &family(None, vec![older, newest]),
            t("2026-11-28T01:00:00Z"),
        );
        assert_eq!(kinds(&plan), ["reopen"]);
        let Action::Reopen { recheck, .. } = &plan.actions[0] else {
            panic!()
        };
        assert_eq!(recheck.len(), 1);
        assert_eq!(recheck[0].1, Path::new("/l/access.log-20261128-000000"));
    }

    #[test]
    fn no_time_or_duration_makes_planning_panic() {
        let extremes = [Timestamp::MIN, Timestamp::UNIX_EPOCH, Timestamp::MAX];
        for extra in [
            "    retention: 1000y
    anonymize: { after: 999y }
    rotate: { every: 1000y }
",
            "    retention: 1h
    anonymize: { after: 0s }
    rotate: { every: 1h }
",
        ] {
            let p = policy(extra);
            for &a in &extremes {
                for &b in &extremes {
                    for &now in &extremes {
                        let live = FileFacts {
                            oldest: Some(a),
                            newest: Some(b),
                            born: Some(b),
                            ..facts("/l/access.log", 10, None, None)
                        };
                        let arch = Archive {
                            facts: FileFacts {
                                oldest: Some(b),
                                newest: Some(a),
                                mtime: a,
                                ..facts("/l/access.log-20261128-000000.gz", 10, None, None)
                            },
                            ..archive(
                                "access.log-20261128-000000.gz",
                                "2026-11-27T00:00:00Z",
                                "2026-11-28T00:00:00Z",
                                None,
                            )
                        };
                        let inv = family(Some(live), vec![arch]);
                        let _ = plan(&p, &inv, now);
                        let _ = next_deadline(&p, &inv, now);
                    }
                }
            }
        }
    }

    #[test]
    fn archive_names_never_collide() {
        let p = policy("    rotate: { max_size: 1k }\n");
        let live = facts("/l/access.log", 2048, Some("2026-11-29T00:00:00Z"), None);
        let taken = archive(
            "access.log-20261129-000020.gz",
            "2026-11-28T00:00:00Z",
            "2026-11-29T00:00:00Z",
            None,
        );
        let plan = plan(
            &p,
            &family(Some(live), vec![taken]),
            t("2026-11-29T00:00:20Z"),
        );
        let Action::Rotate(r) = &plan.actions[0] else {
            panic!()
        };
        assert_eq!(r.archive, Path::new("/l/access.log-20261129-000021"));
    }

    #[test]
    fn expired_archives_are_deleted_and_the_straddling_one_trimmed() {
        let p = policy("    retention: 14d\n");
        let now = t("2026-11-29T00:00:00Z");
        let masked = HeaderFacts {
            undated: 0,
            oldest: None,
            newest: None,
            mask: Some(Mask::default()),
            masked_before: None,
        };
        let old = archive(
            "access.log-20261110-000000.gz",
            "2026-11-09T00:00:00Z",
            "2026-11-10T00:00:00Z",
            Some(masked),
        );
        let straddle = archive(
            "access.log-20261115-120000.gz",
            "2026-11-14T12:00:00Z",
            "2026-11-15T12:00:00Z",
            Some(masked),
        );
        let young = archive(
            "access.log-20261128-000000.gz",
            "2026-11-27T00:00:00Z",
            "2026-11-28T00:00:00Z",
            Some(masked),
        );
        let plan = plan(&p, &family(None, vec![old, straddle, young]), now);
        assert_eq!(kinds(&plan), ["rewrite", "delete"]);
        let Action::Rewrite(w) = &plan.actions[0] else {
            panic!()
        };
        assert_eq!(w.source, w.dest);
        assert_eq!(w.spec.drop_before, Some(t("2026-11-15T00:00:00Z")));
        assert_eq!(
            w.spec.mask,
            Some(Mask::default()),
            "an already masked archive stays marked masked"
        );
        let Action::Delete { path, .. } = &plan.actions[1] else {
            panic!()
        };
        assert!(path.ends_with("access.log-20261110-000000.gz"));
    }

    #[test]
    fn archives_are_masked_once_their_oldest_record_passes_the_window() {
        let p = policy("    anonymize: { after: 7d }\n");
        let now = t("2026-11-29T00:00:00Z");
        let due = archive(
            "access.log-20261122-000000.gz",
            "2026-11-21T00:00:00Z",
            "2026-11-22T00:00:00Z",
            None,
        );
        let not_yet = archive(
            "access.log-20261123-000000.gz",
            "2026-11-22T00:00:01Z",
            "2026-11-23T00:00:00Z",
            None,
        );
        let plan = plan(&p, &family(None, vec![due, not_yet]), now);
        assert_eq!(kinds(&plan), ["rewrite"]);
        let Action::Rewrite(w) = &plan.actions[0] else {
            panic!()
        };
        assert!(w.source.ends_with("access.log-20261122-000000.gz"));
        let deadline = next_deadline(
            &p,
            &family(
                None,
                vec![archive(
                    "access.log-20261123-000000.gz",
                    "2026-11-22T00:00:01Z",
                    "2026-11-23T00:00:00Z",
                    None,
                )],
            ),
            now,
        );
        assert_eq!(deadline, Some(t("2026-11-29T00:00:01Z")));
    }

    #[test]
    fn masking_is_early_by_at_most_one_rotation_interval() {
        let p = policy("    retention: 30d\n    anonymize: { after: 7d }\n");
        let now = t("2026-11-29T00:00:00Z");
        // A fortnight in one archive (a first pass over a never-rotated log).
        let big = archive(
            "access.log-20261128-000000.gz",
            "2026-11-14T00:00:00Z",
            "2026-11-28T00:00:00Z",
            None,
        );
        let plan1 = plan(&p, &family(None, vec![big.clone()]), now);
        let Action::Rewrite(w) = &plan1.actions[0] else {
            panic!()
        };
        assert_eq!(
            w.spec.mask_before,
            Some(t("2026-11-23T00:00:00Z")),
            "window plus one day"
        );
        // Masked that far, it is next due when the window passes the masked part.
        let header = HeaderFacts {
            undated: 0,
            oldest: big.facts.oldest,
            newest: big.facts.newest,
            mask: Some(Mask::default()),
            masked_before: Some(t("2026-11-23T00:00:00Z")),
        };
        let masked = Archive {
            header: Some(header),
            ..big
        };
        assert!(
            plan(&p, &family(None, vec![masked.clone()]), now)
                .actions
                .is_empty()
        );
        let inv = family(None, vec![masked]);
        assert_eq!(
            next_deadline(&p, &inv, now),
            Some(t("2026-11-30T00:00:00Z"))
        );
        let later = plan(&p, &inv, t("2026-11-30T00:00:00Z"));
        let Action::Rewrite(w) = &later.actions[0] else {
            panic!()
        };
        assert_eq!(w.spec.mask_before, Some(t("2026-11-24T00:00:00Z")));
    }

    #[test]
    fn logrotate_archives_keep_their_names_and_formats() {
        let p = policy("");
        let now = t("2026-11-29T00:00:00Z");
        let xz = archive(
            "access.log-20261120.xz",
            "2026-11-19T00:00:00Z",
            "2026-11-20T00:00:00Z",
            None,
        );
        let one = archive(
            "access.log.1",
            "2026-11-27T00:00:00Z",
            "2026-11-28T00:00:00Z",
            None,
        );
        let plan = plan(&p, &family(None, vec![xz, one]), now);
        assert_eq!(kinds(&plan), ["rewrite"], "{plan:?}");
        let Action::Rewrite(w) = &plan.actions[0] else {
            panic!()
        };
        assert_eq!(w.source, w.dest);
        assert_eq!(w.spec.output, Format::Xz);
    }

    #[test]
    fn interrupted_work_is_finished_first() {
        let p = policy("");
        let now = t("2026-11-29T00:00:00Z");
        let plain = archive(
            "access.log-20261128-000000",
            "2026-11-27T00:00:00Z",
            "2026-11-28T00:00:00Z",
            None,
        );
        let gz = archive(
            "access.log-20261128-000000.gz",
            "2026-11-27T00:00:00Z",
            "2026-11-28T00:00:00Z",
            None,
        );
        let mut inv = family(None, vec![plain, gz]);
        inv.sites[0].families[0]
            .temps
            .push("/l/.access.log-x.gz.logwarden-1-0.tmp".into());
        let plan = plan(&p, &inv, now);
        assert_eq!(kinds(&plan), ["cleanup", "cleanup"]);
    }

    #[test]
    fn missing_create_owner_is_carried_to_the_action() {
        let p = policy("    create: { mode: \"0640\", owner: no-such-user-lw }\n");
        let live = facts("/l/access.log", 10, Some("2026-11-20T00:00:00Z"), None);
        let plan = plan(&p, &family(Some(live), vec![]), t("2026-11-29T00:00:00Z"));
        let Action::Rotate(r) = &plan.actions[0] else {
            panic!()
        };
        assert_eq!(r.recreate.owner, Id::Missing("no-such-user-lw".into()));
    }
}
