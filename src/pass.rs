//! One pass over the policy's sites: inventory → plan → execute → the next deadline.
//!
//! It exists because every way of enforcing the policy runs the same pass: `enforce` once,
//! `watch` for each site something is due in, and the simulations in the tests. Keeping it
//! out of `app` (the command line) lets `watch` and the tests call it without depending on
//! the CLI, and keeps the import graph free of cycles.
//!
//! What it must never do: take or wait for the lock (its callers hold it); read the wall
//! clock (`now` is given, so the simulations and `--now` drive it; it only times itself);
//! parse arguments or print command output; or stop at one file's failure (`execute` counts
//! it and goes on).

use jiff::Timestamp;

use crate::execute::{self, Disk};
use crate::inventory::Inventory;
use crate::plan;
use crate::policy::Policy;
use crate::timestamp::StampReader;

/// Loads the policy every pass runs under and logs its warnings (`enforce`, `watch`,
/// `validate`, `describe`).
pub fn load_policy(path: &std::path::Path) -> anyhow::Result<Policy> {
    let policy = Policy::load(path)?;
    for w in &policy.warnings {
        log::warn!("{w}");
    }
    Ok(policy)
}

/// One pass, under the lock its caller holds: inventory, plan, execute, and the metrics file
/// when the policy names one. Shared by `enforce` and the simulations. Returns what was done
/// and when something next becomes due by time alone.
pub fn run(
    policy: &Policy,
    sites: &[String],
    now: Timestamp,
    stamps: &StampReader,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> (execute::Summary, Option<Timestamp>) {
    let (summary, deadline, metrics) = measured(policy, sites, now, stamps, stop, &|| {});
    if let Some(path) = &policy.metrics_file {
        if let Err(e) = crate::metrics::write(path, &metrics) {
            log::warn!("{}: cannot write the metrics: {e}", path.display());
        }
    }
    (summary, deadline)
}

/// Sites read, planned and acted on together. A pass holds the inventory of one such group
/// at a time, so its memory is bounded by the largest sites, not by the policy's size (a
/// thousand sites' 60,000 archives took 46 MB held at once); a group is still large enough
/// for its reading to keep every core busy.
const SITES_AT_ONCE: usize = 32;

/// [`run`] without writing the metrics: they are returned, for `watch` to merge with the
/// other sites' latest state before writing. `alive` is called after every action (the
/// service's proof of life for its watchdog).
///
/// The sites are taken a group at a time, in the policy's order: inventory, plan, execute,
/// inventory again where something was done. No rule looks across sites, so this is the
/// pass of all of them at once, with their log lines grouped by site.
pub fn measured(
    policy: &Policy,
    sites: &[String],
    now: Timestamp,
    stamps: &StampReader,
    stop: Option<&std::sync::atomic::AtomicBool>,
    alive: &dyn Fn(),
) -> (execute::Summary, Option<Timestamp>, crate::metrics::Metrics) {
    let facts_file = policy.lock_file.with_extension("facts");
    crate::livescan::load(&facts_file);
    let names: Vec<String> = policy
        .sites
        .iter()
        .filter(|s| sites.is_empty() || sites.contains(&s.name))
        .map(|s| s.name.clone())
        .collect();
    let mut disk = Disk::new(stamps.clone()).acting_for(policy);
    let started = std::time::Instant::now();
    let mut metrics = crate::metrics::Metrics::default();
    let mut summary = execute::Summary::default();
    let mut undated = std::collections::BTreeMap::new();
    let mut deadline: Option<Timestamp> = None;
    let mut lives: Vec<(u64, u64)> = Vec::new();
    let mut acted = false;
    for (n, group) in names.chunks(SITES_AT_ONCE).enumerate() {
        if stop.is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst)) {
            log::info!(
                "stop requested; {} site(s) are left for the next pass",
                names.len() - n * SITES_AT_ONCE
            );
            break;
        }
        let inventory = Inventory::scan(policy, group, stamps);
        let plan = plan::plan(policy, &inventory, now);
        let part = execute::execute_observed(&plan, &mut disk, stop, &mut |a, outcome| {
            alive();
            metrics.observe(a, outcome);
        });
        summary.add(&part);
        acted |= !plan.actions.is_empty();
        // What is on disk after this group's actions (unchanged if nothing was due).
        let after = if plan.actions.is_empty() {
            inventory
        } else {
            Inventory::scan(policy, group, stamps)
        };
        // Judged on what the pass left: an undated archive it expired is no longer a doubt.
        undated.extend(warn_undated(&after));
        lives.extend(
            after
                .sites
                .iter()
                .flat_map(|s| &s.families)
                .filter_map(|f| f.live.as_ref().map(|l| (l.dev, l.ino))),
        );
        metrics.inventory(policy, &after);
        if let Some(d) = plan::next_deadline(policy, &after, now) {
            deadline = Some(deadline.map_or(d, |e| e.min(d)));
        }
    }
    summary.undated = undated.values().sum();
    if acted {
        log::info!(
            "pass done: {} done, {} unchanged, {} deferred, {} warnings, {} failed",
            summary.done,
            summary.unchanged,
            summary.deferred,
            summary.warned,
            summary.failed
        );
    }
    if summary.broke_a_promise() {
        let undated = match summary.undated {
            0 => String::new(),
            n => format!(", and {n} file(s) hold records it cannot date"),
        };
        log::error!(
            "this pass left {} promise(s) unkept and {} action(s) failed{undated}; see the errors and warnings above",
            summary.unkept,
            summary.failed
        );
    }
    if let Err(e) = crate::livescan::save(&facts_file, &lives) {
        log::debug!(
            "{}: cannot save the live logs' facts: {e}",
            facts_file.display()
        );
    }
    metrics.pass = Some(crate::metrics::PassFacts {
        at: now,
        duration: started.elapsed(),
        summary,
    });
    metrics.settle(now);
    for site in undated.keys() {
        metrics.site_success.insert(site.clone(), None);
    }
    (summary, deadline, metrics)
}

/// Records whose time cannot be read are kept safe (masked whole, expired by the file's
/// rotation time or mtime) but cannot be judged one by one, so retention cannot be proven
/// for them: the pass does not count as kept (guarantee 7), as `check` reports them. Say so
/// at every pass of `enforce`, and in `watch`, whose passes may follow each other by
/// seconds, once an hour per file. Returns site → files holding undated records.
fn warn_undated(inventory: &Inventory) -> std::collections::BTreeMap<String, usize> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use std::time::{Duration, Instant};
    static WARNED: OnceLock<Mutex<HashMap<(u64, u64), Instant>>> = OnceLock::new();
    let mut warned = WARNED
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut undated = std::collections::BTreeMap::new();
    for site in &inventory.sites {
        for fam in &site.families {
            let files = fam.live.iter().chain(fam.archives.iter().map(|a| &a.facts));
            for f in files.filter(|f| f.has_undated()) {
                *undated.entry(site.site.clone()).or_default() += 1;
                let recent = warned
                    .get(&(f.dev, f.ino))
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(3600));
                if recent {
                    continue;
                }
                warned.insert((f.dev, f.ino), Instant::now());
                let what = if f.oldest.is_none() {
                    "no line carries a readable time".to_string()
                } else {
                    format!("{} line(s) at the top carry no readable time", f.undated)
                };
                log::warn!(
                    "site {}: {}: {what} where `format: {}` puts it; such lines are masked at once and expire with the file's rotation time or mtime (is the log's format right? `logwarden validate` suggests one)",
                    site.site,
                    crate::escape::path(&f.path),
                    fam.format.name()
                );
            }
        }
    }
    undated
}
