//! When each file of a family is next due by time alone: its rotation, its masking, its
//! expiry, each with the file and the rule that set it.
//!
//! One list serves the watcher's timer (`next_deadline`, the earliest future instant) and
//! `status` (the earliest of each kind, overdue ones included), so what `status` announces
//! is the instant the pass acts on. It must never differ from what `plan` decides: every
//! instant here is a rule function of `policy` applied to the inventory's facts.

use std::path::PathBuf;

use jiff::Timestamp;

use super::{created, undated_time};
use crate::inventory::{Archive, Family, Inventory};
use crate::policy::{Policy, Site, duration_in_words};
use crate::timestamp::rfc3339;

/// What becomes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DueKind {
    /// A live log rotates (or, under `rotate: false`, must have been closed by the server).
    Rotate,
    /// An archive's records lose their full addresses.
    Mask,
    /// Records pass retention: an archive is trimmed or deleted.
    Expire,
}

impl DueKind {
    pub fn name(self) -> &'static str {
        match self {
            DueKind::Rotate => "rotate",
            DueKind::Mask => "mask",
            DueKind::Expire => "expire",
        }
    }
}

/// One instant at which something becomes due, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub kind: DueKind,
    pub at: Timestamp,
    pub path: PathBuf,
    /// The rule, in words: which record and which key of the policy.
    pub why: String,
}

/// Every instant at which something of this family becomes due by time alone, past ones
/// included (those are overdue). Sizes and new files are noticed by the watcher's events.
pub fn deadlines(site: &Site, fam: &Family, now: Timestamp) -> Vec<Deadline> {
    let mut out = Vec::new();
    if let Some(live) = fam.live.as_ref().filter(|l| l.size > 0) {
        let (window, which) = site.live_window();
        let due = match live.oldest {
            Some(oldest) => site.rotate_due_at(oldest).map(|at| {
                let what = if site.rotation.by_server {
                    "; with rotate: false only the server can close it"
                } else {
                    ""
                };
                (
                    at,
                    format!(
                        "its oldest record ({}) reaches {which} ({}){what}",
                        rfc3339(oldest),
                        duration_in_words(window)
                    ),
                )
            }),
            // Under rotate: false no time makes an undated server file judgeable.
            None if site.rotation.by_server => None,
            None => created(fam, live, now).and_then(|c| {
                site.undated_rotate_due_at(c).map(|at| {
                    (
                        at,
                        format!(
                            "no record carries a time; created {}, rotate.every is {}",
                            rfc3339(c),
                            duration_in_words(site.rotation.every)
                        ),
                    )
                })
            }),
        };
        if let Some((at, why)) = due {
            out.push(Deadline {
                kind: DueKind::Rotate,
                at,
                path: live.path.clone(),
                why,
            });
        }
    }
    let retention = duration_in_words(site.retention);
    for a in &fam.archives {
        let path = &a.facts.path;
        let newest = a.facts.newest.or_else(|| undated_time(a));
        if let Some(at) = newest.and_then(|n| site.expires_at(n)) {
            out.push(Deadline {
                kind: DueKind::Expire,
                at,
                path: path.clone(),
                why: format!("its newest record passes retention ({retention}): deleted whole"),
            });
        }
        let Some(oldest) = a.facts.oldest else {
            continue;
        };
        if let Some(at) = site.expires_at(oldest) {
            out.push(Deadline {
                kind: DueKind::Expire,
                at,
                path: path.clone(),
                why: format!(
                    "its oldest record ({}) passes retention ({retention}): trimmed",
                    rfc3339(oldest)
                ),
            });
        }
        if let Some(first) = first_full_ip(site, a) {
            if let Some(at) = site.mask_due_at(first) {
                let rule = match site.full_ip_age() {
                    Some(d) if site.truncation.is_some_and(|t| !t.after.is_zero()) => {
                        format!("anonymize.after ({})", duration_in_words(d))
                    }
                    _ => "anonymize.after (0s: every archive is masked)".to_string(),
                };
                out.push(Deadline {
                    kind: DueKind::Mask,
                    at,
                    path: path.clone(),
                    why: format!("its records from {} reach {rule}", rfc3339(first)),
                });
            }
        }
    }
    out
}

/// The time of the oldest dated record of an archive that may still hold a full address,
/// as its header tells: `None` when its header says it is masked as the site asks, or no
/// record is dated. With truncation off every record holds one.
pub fn first_full_ip(site: &Site, a: &Archive) -> Option<Timestamp> {
    let oldest = a.facts.oldest?;
    let Some(t) = site.truncation else {
        return Some(oldest);
    };
    match a.header {
        Some(h) if h.covers(&t.mask, None) => None,
        Some(h) if h.mask.is_some() => Some(h.masked_before.map_or(oldest, |b| b.max(oldest))),
        _ => Some(oldest),
    }
}

/// What one file of a family exposes, from the inventory's facts and the archives' headers
/// alone (no record read): its oldest dated record, and the oldest that may still hold a
/// full address. `status` and the passes' metrics both report from this, so they never
/// disagree; `check` reads every record instead.
#[derive(Debug, Clone, Copy)]
pub struct Exposure<'a> {
    pub path: &'a std::path::Path,
    /// An archive (else the live log), for [`Site::full_ip_limit`].
    pub archived: bool,
    pub oldest: Option<Timestamp>,
    pub full_ip: Option<Timestamp>,
}

/// Every file of a family with what it exposes. A live log holds full addresses (the pass
/// rotates it before its window ends); an archive as [`first_full_ip`] tells.
pub fn exposure<'a>(site: &'a Site, fam: &'a Family) -> impl Iterator<Item = Exposure<'a>> + 'a {
    let live = fam.live.iter().map(|l| Exposure {
        path: &l.path,
        archived: false,
        oldest: l.oldest,
        full_ip: l.oldest,
    });
    let archives = fam.archives.iter().map(move |a| Exposure {
        path: &a.facts.path,
        archived: true,
        oldest: a.facts.oldest,
        full_ip: first_full_ip(site, a),
    });
    live.chain(archives)
}

/// The earliest future instant at which something becomes due by time alone (sizes and
/// new files are noticed by the watcher's events). `None` when nothing ever will.
pub fn next_deadline(policy: &Policy, inventory: &Inventory, now: Timestamp) -> Option<Timestamp> {
    next_deadline_why(policy, inventory, now).map(|(_, d)| d.at)
}

/// [`next_deadline`] with its site and reason.
pub fn next_deadline_why(
    policy: &Policy,
    inventory: &Inventory,
    now: Timestamp,
) -> Option<(String, Deadline)> {
    let mut earliest: Option<(String, Deadline)> = None;
    for files in &inventory.sites {
        let Some(site) = policy.site(&files.site) else {
            continue;
        };
        for fam in &files.families {
            for d in deadlines(site, fam, now) {
                if d.at > now && earliest.as_ref().is_none_or(|(_, e)| d.at < e.at) {
                    earliest = Some((site.name.clone(), d));
                }
            }
        }
    }
    earliest
}
