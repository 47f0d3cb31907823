//! Crash safety: a pass killed at the worst instants, then a normal pass, must leave no
//! lost line, no duplicated line, no temp file and a valid archive set.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;

use crate::support::*;
use jiff::{SignedDuration, Timestamp};

const NOW: &str = "2026-11-29T00:00:00Z";

/// A site with something of every kind to do: a live log to rotate, trim, mask and
/// compress, an archive to mask, one to delete, a plain one of ours to compress.
fn busy_site() -> (LogDir, Vec<u64>) {
    let (live, a) = lines_between(t("2026-11-10T00:00:00Z"), t("2026-11-29T00:00:00Z"), 600, 0);
    let (old, b) = lines_between(t("2026-11-01T00:00:00Z"), t("2026-11-02T00:00:00Z"), 600, a);
    let (maskable, c) = lines_between(t("2026-11-19T00:00:00Z"), t("2026-11-20T00:00:00Z"), 600, b);
    let (plain, d) = lines_between(t("2026-11-08T00:00:00Z"), t("2026-11-09T00:00:00Z"), 600, c);
    let dir = LogDir::new()
        .policy(DAILY_14D_7D)
        .file("logs/access.log", &live)
        .gz("logs/access.log-20261102-000000.gz", &old)
        .gz("logs/access.log.2.gz", &maskable)
        .file("logs/access.log-20261109-000000", &plain)
        .now(NOW);
    let cutoff = t(NOW) - SignedDuration::from_hours(14 * 24);
    let mut kept = Vec::new();
    for (text, _) in [(&live, a), (&maskable, c)] {
        for line in text.lines() {
            let (id, at, _) = parse_line(line).unwrap();
            if at >= cutoff {
                kept.push(id);
            }
        }
    }
    let _ = (d, plain);
    kept.sort();
    (dir, kept)
}

#[track_caller]
fn assert_sound(dir: &LogDir, kept: &[u64]) {
    let names = dir.names("logs");
    assert!(
        !names.iter().any(|n| n.ends_with(".tmp")),
        "temp files left: {names:?}"
    );
    let mut seen: BTreeMap<u64, Timestamp> = BTreeMap::new();
    let window = t(NOW) - SignedDuration::from_hours(7 * 24);
    for (name, bytes) in dir.contents("logs") {
        for line in String::from_utf8(bytes).unwrap().lines() {
            let (id, at, ip) = parse_line(line).unwrap();
            assert!(
                seen.insert(id, at).is_none(),
                "line {id} duplicated ({name})"
            );
            if at < window {
                assert!(is_truncated(ip), "{name}: line {id} keeps {ip}");
            }
        }
    }
    let ids: Vec<u64> = seen.keys().copied().collect();
    assert_eq!(ids, kept, "lines lost or expired ones kept");
    assert!(
        names
            .iter()
            .filter(|n| n.starts_with("access.log-"))
            .all(|n| n.ends_with(".gz")),
        "{names:?}"
    );
}

#[test]
fn a_kill_at_any_failpoint_is_repaired_by_the_next_pass() {
    for &point in logwarden::failpoint::POINTS {
        let (dir, kept) = busy_site();
        let status = dir
            .command(["enforce"])
            .env("LOGWARDEN_FAILPOINT", point)
            .output()
            .unwrap()
            .status;
        assert_eq!(status.signal(), Some(9), "{point}: the pass was not killed");
        let out = dir.run(["enforce"]);
        assert_eq!(out.code(), 0, "{point}: {}", out.stderr());
        assert!(
            dir.path("logs/access.log").exists(),
            "{point}: the live log is missing"
        );
        assert_sound(&dir, &kept);
        let before = dir.snapshot();
        dir.run(["enforce"]).ok();
        assert_eq!(
            dir.snapshot(),
            before,
            "{point}: the pass after the repair was not a no-op"
        );
    }
}

#[test]
fn kills_at_random_instants_lose_nothing() {
    // A bigger live log so a pass takes long enough to be killed in the middle.
    let trials: u64 = std::env::var("LOGWARDEN_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    for trial in 0..trials {
        let (dir, kept) = busy_site();
        let mut child = dir.command(["enforce", "-q"]).spawn().unwrap();
        // Spread the kills over the first ~40 ms, where the work is.
        std::thread::sleep(std::time::Duration::from_micros(
            trial * 40_000 / trials.max(1),
        ));
        let _ = child.kill();
        let _ = child.wait();
        let out = dir.run(["enforce"]);
        assert_eq!(out.code(), 0, "trial {trial}: {}", out.stderr());
        assert_sound(&dir, &kept);
    }
}

/// Line ids in the files of `logs` that `keep` selects by name, sorted.
fn ids_in(dir: &LogDir, keep: impl Fn(&str) -> bool) -> Vec<u64> {
    let mut ids: Vec<u64> = dir
        .contents("logs")
        .into_iter()
        .filter(|(name, _)| keep(name))
        .flat_map(|(_, bytes)| {
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(|l| parse_line(l).unwrap().0)
                .collect::<Vec<_>>()
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn an_io_error_in_a_rewrite_loses_nothing_and_the_pass_goes_on() {
    let (dir, kept) = busy_site();
    // Every record of the two files that are rewritten (not deleted whole) must survive.
    let must_survive = ids_in(&dir, |n| n == "access.log" || n == "access.log.2.gz");
    let out = dir
        .command(["enforce"])
        .env("LOGWARDEN_FAILPOINT", "rewrite.partial=eio")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("access.log.2.gz: cannot rewrite into")
            && stderr.contains("Input/output error"),
        "{stderr}"
    );
    // The actions that do not rewrite still ran: the rotation and the whole-archive deletes.
    let names = dir.names("logs");
    assert!(
        names.contains(&"access.log-20261129-000000".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"access.log-20261102-000000.gz".to_string()),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.ends_with(".tmp")),
        "temp files left: {names:?}"
    );
    let seen = ids_in(&dir, |_| true);
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique, seen, "a line is in two files");
    assert!(
        must_survive.iter().all(|id| seen.binary_search(id).is_ok()),
        "lines lost"
    );

    // The disk recovers: the next pass finishes the job.
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert_sound(&dir, &kept);
}

/// Where the kernel or file system has no `RENAME_EXCHANGE`, rotation takes two renames
/// and then checks that the live name holds the file it made: every line is still kept
/// once, and the live log exists afterwards.
#[test]
fn without_rename_exchange_rotation_keeps_every_line_and_the_live_name() {
    let (dir, kept) = busy_site();
    let live_before = dir.path("logs/access.log").metadata().unwrap();
    let out = dir
        .command(["enforce"])
        .env("LOGWARDEN_FAILPOINT", "rename.exchange=unsupported")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let live = dir.path("logs/access.log").symlink_metadata().unwrap();
    assert!(live.file_type().is_file() && live.len() == 0, "{live:?}");
    use std::os::unix::fs::MetadataExt;
    assert_ne!(
        live.ino(),
        live_before.ino(),
        "the live log was not rotated"
    );
    assert_eq!(live.mode() & 0o7777, live_before.mode() & 0o7777);
    assert_sound(&dir, &kept);
}
