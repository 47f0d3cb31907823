//! `status`: per site, what is on disk and when the next thing is due, for the admin who
//! asks "is it working, and what happens next?".
//!
//! It reads what a pass would read (the inventory, archive headers, the metrics file of the
//! last pass) and asks the planner when each file is due (`plan::deadlines`) and what is
//! due now (`plan::plan`), so it announces exactly what the next pass will do. It must never
//! write, never take the lock, and never look green while something is overdue or cannot be
//! judged: a deadline already passed, a record past retention, a full address past the
//! window, a file the pass refuses or records it cannot date make the site's state say so.
//!
//! Computing is here; the text and JSON shapes are in `render`; the metrics file is read in
//! `last_pass`.

mod last_pass;
mod render;

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};

pub use last_pass::LastPass;
pub use render::{nothing_due, render_json, render_text};

use crate::inventory::Inventory;
use crate::plan::{self, Action, Deadline, DueKind};
use crate::policy::{Policy, Site};

/// The status of every site asked about, at one instant.
#[derive(Debug, Clone)]
pub struct Report {
    pub now: Timestamp,
    pub sites: Vec<SiteStatus>,
}

/// How a site stands, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// A deadline has passed: a record past retention, a full address past the window, a
    /// rotation late, or work the pass cannot do.
    Overdue,
    /// Files the pass refuses to touch, or holds records it cannot date (see `problems`).
    Problem,
    /// Work is due now that breaks no promise yet (a size rotation, a compression).
    Due,
    Ok,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Overdue => "overdue",
            State::Problem => "problem",
            State::Due => "due",
            State::Ok => "ok",
        }
    }
}

/// How many files and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub files: u64,
    pub bytes: u64,
}

/// The oldest record of some kind, and whether it is past its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oldest {
    pub at: Timestamp,
    pub path: PathBuf,
    /// Whether the policy no longer allows it at `now` (by the same rule `check` uses).
    pub past_limit: bool,
}

/// A file the pass refuses to touch or cannot judge, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub what: String,
}

#[derive(Debug, Clone)]
pub struct SiteStatus {
    pub site: String,
    pub state: State,
    pub retention: SignedDuration,
    /// The longest a record keeps a full address; `None`: truncation is off.
    pub full_ip_window: Option<SignedDuration>,
    pub live: Count,
    pub archives: Count,
    pub oldest_record: Option<Oldest>,
    /// The oldest dated record that may still hold a full address.
    pub oldest_full_ip: Option<Oldest>,
    /// The earliest rotation, masking and expiry, overdue ones included.
    pub rotate: Option<Deadline>,
    pub mask: Option<Deadline>,
    pub expire: Option<Deadline>,
    /// Actions a pass would take now (`enforce --dry-run` lists them).
    pub due_now: usize,
    pub problems: Vec<Problem>,
    pub last_pass: LastPass,
}

/// The status of the sites of `inventory` at `now`; `metrics_file` is where passes record
/// themselves (the policy's `metrics_file:`).
pub fn status(
    policy: &Policy,
    inventory: &Inventory,
    now: Timestamp,
    metrics_file: Option<&Path>,
) -> Report {
    let metrics = last_pass::Metrics::read(metrics_file);
    let plan = plan::plan(policy, inventory, now);
    let sites = inventory
        .sites
        .iter()
        .filter_map(|files| {
            let site = policy.site(&files.site)?;
            let actions: Vec<&Action> = plan
                .actions
                .iter()
                .filter(|a| a.site() == site.name)
                .collect();
            Some(site_status(site, files, &actions, &metrics, now))
        })
        .collect();
    Report { now, sites }
}

fn site_status(
    site: &Site,
    files: &crate::inventory::SiteFiles,
    actions: &[&Action],
    metrics: &last_pass::Metrics,
    now: Timestamp,
) -> SiteStatus {
    let mut live = Count::default();
    let mut archives = Count::default();
    let mut oldest_record: Option<(Timestamp, &Path)> = None;
    // (time, path, archived)
    let mut oldest_full: Option<(Timestamp, &Path, bool)> = None;
    let mut next: [Option<Deadline>; 3] = [None, None, None];
    let earlier = |have: Option<Timestamp>, t: Timestamp| have.is_none_or(|h| t < h);
    for fam in &files.families {
        if let Some(l) = &fam.live {
            live.files += 1;
            live.bytes += l.size;
        }
        for a in &fam.archives {
            archives.files += 1;
            archives.bytes += a.facts.size;
        }
        for e in plan::exposure(site, fam) {
            if let Some(o) = e.oldest.filter(|&o| earlier(oldest_record.map(|r| r.0), o)) {
                oldest_record = Some((o, e.path));
            }
            if let Some(f) = e.full_ip.filter(|&f| earlier(oldest_full.map(|r| r.0), f)) {
                oldest_full = Some((f, e.path, e.archived));
            }
        }
        for d in plan::deadlines(site, fam, now) {
            let slot = &mut next[d.kind as usize];
            if slot.as_ref().is_none_or(|s| d.at < s.at) {
                *slot = Some(d);
            }
        }
    }
    let oldest_record = oldest_record.map(|(at, path)| Oldest {
        at,
        path: path.to_path_buf(),
        past_limit: at < site.retention_cutoff(now),
    });
    let oldest_full_ip = oldest_full.map(|(at, path, archived)| Oldest {
        at,
        path: path.to_path_buf(),
        past_limit: site.full_ip_limit(archived, now).passed_by(Some(at)),
    });
    let problems: Vec<Problem> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Refuse { path, why, .. } => Some(Problem {
                path: path.clone(),
                what: why.clone(),
            }),
            _ => None,
        })
        .collect();
    // Records no rule can be judged on: never a green site (guarantee 7).
    let mut problems = problems;
    for fam in &files.families {
        let facts = fam.live.iter().chain(fam.archives.iter().map(|a| &a.facts));
        for f in facts.filter(|f| f.has_undated()) {
            problems.push(Problem {
                path: f.path.clone(),
                what: format!(
                    "records without a time `format: {}` reads: kept safe (masked whole, expired with the file), but their retention and window cannot be proven (is the format right? `logwarden validate` suggests one)",
                    fam.format.name()
                ),
            });
        }
    }
    let due_now = actions
        .iter()
        .filter(|a| !matches!(a, Action::Refuse { .. }))
        .count();
    let [rotate, mask, expire] = next;
    let late = |d: &Option<Deadline>| d.as_ref().is_some_and(|d| d.at <= now);
    let overdue_action = actions.iter().any(|a| match a {
        Action::Delete { .. } => true,
        Action::Rewrite(w) => w.overdue,
        _ => false,
    });
    let state = if late(&rotate)
        || late(&mask)
        || late(&expire)
        || overdue_action
        || oldest_record.as_ref().is_some_and(|o| o.past_limit)
        || oldest_full_ip.as_ref().is_some_and(|o| o.past_limit)
    {
        State::Overdue
    } else if !problems.is_empty() {
        State::Problem
    } else if due_now > 0 {
        State::Due
    } else {
        State::Ok
    };
    SiteStatus {
        site: site.name.clone(),
        state,
        retention: site.retention,
        full_ip_window: site.full_ip_age(),
        live,
        archives,
        oldest_record,
        oldest_full_ip,
        rotate,
        mask,
        expire,
        due_now,
        problems,
        last_pass: metrics.for_site(&site.name),
    }
}

impl SiteStatus {
    /// The three deadlines with their kinds, in a fixed order.
    pub fn deadlines(&self) -> [(DueKind, Option<&Deadline>); 3] {
        [
            (DueKind::Rotate, self.rotate.as_ref()),
            (DueKind::Mask, self.mask.as_ref()),
            (DueKind::Expire, self.expire.as_ref()),
        ]
    }
}
