//! End-to-end tests of the `logwarden` binary on real files in temp dirs, with `--now` to
//! move the clock.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use crate::support::{self, *};
use jiff::{SignedDuration, Timestamp};

/// All request lines in the site's files: id → (time, client field), with a check that
/// no id is in two places.
fn account(dir: &LogDir) -> BTreeMap<u64, (Timestamp, String)> {
    let mut seen = BTreeMap::new();
    for (name, bytes) in dir.contents("logs") {
        for line in String::from_utf8(bytes).unwrap().lines() {
            let (id, at, ip) =
                parse_line(line).unwrap_or_else(|| panic!("{name}: unparsable line {line:?}"));
            assert!(
                seen.insert(id, (at, ip.to_string())).is_none(),
                "line {id} is in two files (second: {name})"
            );
        }
    }
    seen
}

#[track_caller]
fn assert_promises(dir: &LogDir, now: Timestamp, retention_days: i64, after_days: i64) {
    let cutoff = now - SignedDuration::from_hours(24 * retention_days);
    let window = now - SignedDuration::from_hours(24 * after_days);
    for (id, (at, ip)) in account(dir) {
        assert!(
            at >= cutoff,
            "line {id} at {at} is older than the retention cutoff {cutoff}"
        );
        if at < window {
            assert!(
                is_truncated(&ip),
                "line {id} at {at} is past the full-IP window but holds {ip}"
            );
        }
    }
}

#[test]
fn forty_days_in_one_pass_honours_retention_and_the_full_ip_window() {
    let start = t("2026-10-20T00:00:00Z");
    let now = t("2026-11-29T00:00:00Z");
    let (text, last) = lines_between(start, now, 900, 0);
    let dir = LogDir::new()
        .policy(DAILY_14D_7D)
        .file("logs/access.log", &text)
        .now("2026-11-29T00:00:00Z");

    dir.run(["enforce"]).ok();

    assert_promises(&dir, now, 14, 7);
    // Every retained line is still present, in exactly one file.
    let kept = account(&dir);
    let cutoff = now - SignedDuration::from_hours(24 * 14);
    let expected: Vec<u64> = (0..last)
        .filter(|id| start + SignedDuration::from_secs(900 * *id as i64) >= cutoff)
        .collect();
    assert_eq!(kept.keys().copied().collect::<Vec<_>>(), expected);
    // Masked where due (early by at most one rotation interval), untouched otherwise.
    let original: BTreeMap<u64, &str> = text
        .lines()
        .map(|l| (parse_line(l).unwrap().0, l))
        .collect();
    let early_limit = now - SignedDuration::from_hours(24 * 6);
    for (id, (at, ip)) in &kept {
        if *at >= early_limit {
            assert!(
                original[id].starts_with(&format!("{ip} ")),
                "line {id} was changed before its time"
            );
        }
    }
    assert_eq!(
        dir.names("logs"),
        ["access.log", "access.log-20261129-000000.gz"]
    );
    assert_eq!(
        std::fs::metadata(dir.path("logs/access.log"))
            .unwrap()
            .len(),
        0
    );

    // A second pass at the same instant changes nothing.
    let before = dir.snapshot();
    dir.run(["enforce"]).ok();
    assert_eq!(dir.snapshot(), before);
    let dry = dir.run(["enforce", "--dry-run"]).ok();
    // Nothing is due, and the dry run says what comes next.
    assert!(
        dry.stdout()
            .starts_with("nothing is due; next: expire main/access.log-20261129-000000.gz at "),
        "{}",
        dry.stdout()
    );
    assert_eq!(dry.stdout().lines().count(), 1);
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let (text, _) = lines_between(
        t("2026-10-20T00:00:00Z"),
        t("2026-11-29T00:00:00Z"),
        3600,
        0,
    );
    let dir = LogDir::new()
        .policy(DAILY_14D_7D)
        .file("logs/access.log", &text)
        .now("2026-11-29T00:00:00Z");
    let before = dir.snapshot();
    let out = dir.run(["enforce", "--dry-run"]).ok();
    assert_eq!(dir.snapshot(), before);
    let stdout = out.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("rotate   main"), "{}", lines[0]);
    assert!(lines[1].starts_with("reopen   main"));
    assert!(
        lines[2].contains("drop records before 2026-11-15T00:00:00Z, mask /24 /40 before 2026-11-23T00:00:00Z, compress"),
        "{}",
        lines[2]
    );
    assert!(
        !dir.path("logwarden.lock").exists(),
        "a dry run takes no lock"
    );
}

#[test]
fn daily_passes_over_forty_days_lose_nothing_and_keep_every_promise() {
    let policy = "\
sites:
  main:
    logs: [logs/access.log]
    rotate: { every: 1d }
    retention: 14d
    anonymize: { after: 3d }
";
    let mut dir = LogDir::new().policy(policy).file("logs/access.log", "");
    let mut id = 0;
    let mut written = Vec::new();
    let mut at = t("2026-10-01T00:00:00Z");
    for day in 0..40 {
        // The web server appends for a day (here: in between passes, through O_APPEND).
        let next = at + SignedDuration::from_hours(24);
        let (text, last) = lines_between(at, next, 1800, id);
        written.extend(id..last);
        id = last;
        append(&dir.path("logs/access.log"), &text);
        at = next;
        let now = at + SignedDuration::from_mins(5);
        dir.set_now(&now.to_string());
        dir.run(["enforce"]).ok();
        assert_promises(&dir, now, 14, 3);
        // Nothing lost: every line newer than the cutoff is present.
        let kept = account(&dir);
        let cutoff = now - SignedDuration::from_hours(24 * 14);
        let missing: Vec<&u64> = written
            .iter()
            .filter(|i| {
                t("2026-10-01T00:00:00Z") + SignedDuration::from_secs(1800 * **i as i64) >= cutoff
                    && !kept.contains_key(i)
            })
            .collect();
        assert!(missing.is_empty(), "day {day}: lines lost: {missing:?}");
    }
    // Only a retention's worth of archives remains.
    let archives = dir
        .names("logs")
        .into_iter()
        .filter(|n| n.ends_with(".gz"))
        .count();
    assert!((14..=15).contains(&archives), "{archives} archives");
}

#[test]
fn after_zero_masks_every_archive_at_rotation() {
    let policy = "\
sites:
  main:
    logs: [logs/access.log]
    rotate: { every: 1d, max_size: 4k }
    anonymize: { after: 0s }
";
    let (text, _) = lines_between(t("2026-11-28T23:00:00Z"), t("2026-11-29T00:00:00Z"), 60, 0);
    let dir = LogDir::new()
        .policy(policy)
        .file("logs/access.log", &text)
        .now("2026-11-29T00:00:00Z");
    let out = dir.run(["enforce"]).ok();
    assert!(out.stderr().contains("max_size"), "{}", out.stderr());
    let files = dir.contents("logs");
    assert_eq!(files.len(), 2);
    for (name, bytes) in files {
        for line in String::from_utf8(bytes).unwrap().lines() {
            let (_, _, ip) = parse_line(line).unwrap();
            assert!(is_truncated(ip), "{name}: {ip}");
        }
    }
}

#[test]
fn byte_fidelity_survives_rotation_masking_and_compression() {
    let mut input = Vec::new();
    input.extend_from_slice(b"198.51.100.7 - - [10/Nov/2026:10:00:00 +0000] \"GET /\xff\xfe HTTP/1.1\" 200 5 \"-\" \"ua\"   \r\n");
    input.extend_from_slice(b"  a continuation line without a stamp \t\n");
    input.extend_from_slice(&vec![b'x'; 300_000]);
    input.extend_from_slice(
        b"\n198.51.100.8 - - [10/Nov/2026:10:00:01 +0000] \"GET /last\" 200 5 \"-\" \"ua\"",
    );
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    anonymize: { after: 0s }\n")
        .file("logs/access.log", &input)
        .now("2026-11-12T00:00:00Z");
    dir.run(["enforce"]).ok();
    let out = read_any(&dir.path("logs/access.log-20261112-000000.gz"));
    // Exactly the host octets change.
    let mut expected = input.clone();
    expected[11] = b'0';
    let last = expected.len() - 72;
    assert_eq!(&expected[last..last + 12], b"198.51.100.8");
    expected[last + 11] = b'0';
    let first_difference = out.iter().zip(&expected).position(|(a, b)| a != b);
    assert!(
        out == expected,
        "lengths {} vs {}, first difference at {first_difference:?}",
        out.len(),
        expected.len()
    );
}

#[test]
fn logrotate_archives_are_recognised_masked_and_expired() {
    let now = t("2026-11-29T00:00:00Z");
    let (old, _) = lines_between(
        t("2026-10-01T00:00:00Z"),
        t("2026-10-08T00:00:00Z"),
        3600,
        0,
    );
    let (straddle, _) = lines_between(
        t("2026-11-10T00:00:00Z"),
        t("2026-11-20T00:00:00Z"),
        3600,
        1000,
    );
    let (recent, _) = lines_between(
        t("2026-11-25T00:00:00Z"),
        t("2026-11-28T00:00:00Z"),
        3600,
        2000,
    );
    let (live, _) = lines_between(
        t("2026-11-28T12:00:00Z"),
        t("2026-11-29T00:00:00Z"),
        3600,
        3000,
    );
    let dir = LogDir::new()
        .policy(DAILY_14D_7D)
        .file("logs/access.log", &live)
        .file("logs/access.log.1", &recent)
        .gz("logs/access.log.2.gz", &straddle)
        .gz("logs/access.log-20261008.gz", &old)
        .now("2026-11-29T00:00:00Z");
    dir.run(["enforce"]).ok();
    assert_eq!(
        dir.names("logs"),
        ["access.log", "access.log.1", "access.log.2.gz"]
    );
    assert_promises(&dir, now, 14, 7);
    // The live file had only half a day: not rotated.
    assert_eq!(
        std::fs::read_to_string(dir.path("logs/access.log")).unwrap(),
        live
    );
}

#[test]
fn leftovers_of_an_interrupted_pass_are_cleaned_up() {
    let text = a_day_of_lines("2026-11-27");
    let dir = LogDir::new()
        .policy(DAILY_14D_7D)
        .file("logs/access.log", "")
        // A crash after committing the .gz but before removing the original:
        .file("logs/access.log-20261128-000000", &text)
        .gz("logs/access.log-20261128-000000.gz", &text)
        // A crash in the middle of writing:
        .file(
            "logs/.access.log-20261127-000000.gz.logwarden-999-0.tmp",
            b"\x1f\x8b partial",
        )
        .file("logs/unrelated.tmp", "not ours")
        .now("2026-11-29T00:00:00Z");
    dir.run(["enforce"]).ok();
    assert_eq!(
        dir.names("logs"),
        [
            "access.log",
            "access.log-20261128-000000.gz",
            "unrelated.tmp"
        ]
    );
    assert_eq!(
        String::from_utf8(read_any(&dir.path("logs/access.log-20261128-000000.gz"))).unwrap(),
        text
    );
}

#[test]
fn symlinked_and_hard_linked_logs_are_refused() {
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log, logs/hard.log]\n")
        .file("secret/target.log", &text)
        .file("logs/hard.log", &text)
        .now("2026-11-29T00:00:00Z");
    std::os::unix::fs::symlink(dir.path("secret/target.log"), dir.path("logs/access.log")).unwrap();
    std::fs::hard_link(dir.path("logs/hard.log"), dir.path("secret/hard-link.log")).unwrap();
    let before = dir.snapshot();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("access.log: is a symlink"),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("hard.log: has 2 hard links"),
        "{}",
        out.stderr()
    );
    assert_eq!(dir.snapshot(), before);
}

/// Outside journald every stderr line says when it was written (RFC 3339, UTC), the final
/// error too; under journald, which stamps lines itself, each starts with its priority.
#[test]
fn stderr_lines_carry_their_time_outside_journald_and_a_priority_under_it() {
    let site = || {
        LogDir::new()
            .policy("sites:\n  main:\n    logs: [logs/access.log]\n    retention: 14d\n")
            .file("logs/access.log", a_day_of_lines("2026-11-27"))
            .now("2026-11-29T00:00:00Z")
    };
    let dir = site();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let lines = out.messages();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|l| l.starts_with("logwarden: ")),
        "{lines:?}"
    );

    let dir = site();
    let journal = dir
        .command(["enforce"])
        .env("JOURNAL_STREAM", "8:1234")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&journal.stderr);
    assert!(!text.is_empty());
    for line in text.lines() {
        assert!(
            line.starts_with("<6>") || line.starts_with("<4>") || line.starts_with("<7>"),
            "{line:?}"
        );
    }

    let bad = dir.run(["check", "--site", "nosuch"]);
    assert_eq!(bad.code(), 2);
    assert!(
        bad.messages()[0].starts_with("logwarden: "),
        "{}",
        bad.stderr()
    );
    let journal = dir
        .command(["check", "--site", "nosuch"])
        .env("JOURNAL_STREAM", "8:1234")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&journal.stderr).starts_with("<3>logwarden: "),
        "{}",
        String::from_utf8_lossy(&journal.stderr)
    );
}

#[test]
fn bad_policies_exit_2_with_file_line_and_key() {
    let dir =
        LogDir::new().policy("sites:\n  appman:\n    logs: [logs/a.log]\n    retention: 6m\n");
    let out = dir.run(["validate"]);
    assert_eq!(out.code(), 2);
    let cfg = dir.path("config.yaml");
    assert_eq!(
        out.messages(),
        [format!(
            "logwarden: {}:5:16: sites.appman.retention: \"6m\" is 6 minutes; write 6w or 180d, or set allow_short: true",
            cfg.display()
        )]
    );
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 2);

    let dir = LogDir::new().policy("sites:\n  main:\n    logs: [logs/a.log]\n    retension: 3d\n");
    let out = dir.run(["validate"]);
    assert_eq!(out.code(), 2);
    assert!(
        out.stderr()
            .contains(":5:5: sites.main: unknown field `retension`"),
        "{}",
        out.stderr()
    );

    let out = LogDir::new().run(["validate"]);
    assert_eq!(out.code(), 2);
    assert!(
        out.stderr()
            .contains("config.yaml: cannot read the policy file"),
        "{}",
        out.stderr()
    );

    let dir = LogDir::new().policy("sites:\n  main:\n    logs: [logs/a.log]\n");
    let out = dir.run(["validate"]).ok();
    assert!(out.stdout().contains("valid; 1 site(s): main"));
    let out = dir.run(["enforce", "--site", "nope"]);
    assert_eq!(out.code(), 2);
    assert!(
        out.stderr().contains("no site named \"nope\""),
        "{}",
        out.stderr()
    );
}

#[test]
fn the_lock_keeps_two_passes_apart() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/a.log]\n")
        .now("2026-11-29T00:00:00Z");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path("logwarden.lock"))
        .unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 3, "{}", out.stderr());
    assert!(
        out.stderr().contains("another logwarden"),
        "{}",
        out.stderr()
    );
    drop(held);
    dir.run(["enforce"]).ok();
}

#[test]
fn site_filter_limits_the_pass() {
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .policy("sites:\n  a:\n    logs: [a/x.log]\n  b:\n    logs: [b/x.log]\n")
        .file("a/x.log", &text)
        .file("b/x.log", &text)
        .now("2026-11-03T00:00:00Z");
    dir.run(["enforce", "--site", "b"]).ok();
    assert_eq!(dir.names("a"), ["x.log"]);
    assert_eq!(dir.names("b").len(), 2);
}

#[test]
fn glob_patterns_cover_new_logs_and_orphaned_archives() {
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .policy("sites:\n  appman:\n    logs: [\"logs/*.log\"]\n    retention: 14d\n")
        .file("logs/api.log", &text)
        .file("logs/login.log", &text)
        .gz(
            "logs/gone.log-20261001-000000.gz",
            lines_between(
                t("2026-09-30T00:00:00Z"),
                t("2026-10-01T00:00:00Z"),
                3600,
                0,
            )
            .0,
        )
        .file("logs/notes.txt", "not a log")
        .now("2026-11-03T00:00:00Z");
    dir.run(["enforce"]).ok();
    assert_eq!(
        dir.names("logs"),
        [
            "api.log",
            "api.log-20261103-000000.gz",
            "login.log",
            "login.log-20261103-000000.gz",
            "notes.txt"
        ]
    );
}

#[test]
fn recreated_live_file_keeps_mode_or_takes_create_mode() {
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .policy("sites:\n  a:\n    logs: [a/x.log]\n  b:\n    logs: [b/x.log]\n    create: { mode: \"0600\" }\n")
        .file("a/x.log", &text)
        .file("b/x.log", &text)
        .now("2026-11-03T00:00:00Z");
    dir.chmod("a/x.log", 0o640);
    dir.run(["enforce"]).ok();
    let mode = |p: &str| std::fs::metadata(dir.path(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("a/x.log"), 0o640);
    assert_eq!(
        mode("a/x.log-20261103-000000.gz"),
        0o640,
        "archives keep the log's mode"
    );
    assert_eq!(mode("b/x.log"), 0o600);
}

#[test]
fn a_missing_create_user_fails_that_rotation_only() {
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .policy("sites:\n  a:\n    logs: [a/x.log]\n    create: { owner: no-such-user-lw }\n  b:\n    logs: [b/x.log]\n")
        .file("a/x.log", &text)
        .file("b/x.log", &text)
        .now("2026-11-03T00:00:00Z");
    let v = dir.run(["validate"]).ok();
    assert!(
        v.stderr()
            .contains("user \"no-such-user-lw\" does not exist"),
        "{}",
        v.stderr()
    );
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1);
    assert!(
        out.stderr()
            .contains("user \"no-such-user-lw\" does not exist on this host"),
        "{}",
        out.stderr()
    );
    assert_eq!(dir.names("a"), ["x.log"]);
    assert_eq!(dir.names("b").len(), 2);
}

#[test]
fn reopen_signals_the_validated_writer_and_waits_for_it_to_let_go() {
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    reopen: { signal: USR1, pidfile: server.pid }\n")
        .file("logs/access.log", &text)
        .now("2026-11-03T00:00:00Z");
    let _server = FakeServer::start(&dir, "logs/access.log");
    let out = dir.run(["enforce"]).ok();
    assert!(
        std::fs::read_to_string(dir.path("marker"))
            .unwrap()
            .contains("reopened")
    );
    // The stand-in does not really reopen, so it still holds the archive: left plain.
    assert!(
        out.stderr().contains("deferred: still open for writing"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        dir.names("logs"),
        ["access.log", "access.log-20261103-000000"]
    );
    drop(_server);
    dir.run(["enforce"]).ok();
    assert_eq!(
        dir.names("logs"),
        ["access.log", "access.log-20261103-000000.gz"]
    );
}

#[test]
fn an_unrelated_or_bogus_pid_is_never_signalled() {
    let text = a_day_of_lines("2026-11-01");
    for pid in ["0", "-1", "1", "garbage", "unrelated"] {
        let dir = LogDir::new()
            .policy("sites:\n  main:\n    logs: [logs/access.log]\n    reopen: { signal: USR1, pidfile: server.pid }\n")
            .file("logs/access.log", &text)
            .now("2026-11-03T00:00:00Z");
        let mut bystander = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let content = if pid == "unrelated" {
            bystander.id().to_string()
        } else {
            pid.to_string()
        };
        std::fs::write(dir.path("server.pid"), &content).unwrap();
        let out = dir.run(["enforce"]);
        let alive = bystander.try_wait().unwrap().is_none();
        let _ = bystander.kill();
        let _ = bystander.wait();
        assert!(alive, "pid file {pid}: the bystander was signalled");
        assert_eq!(out.code(), 1, "pid file {pid}: {}", out.stderr());
        assert!(out.stderr().contains("server.pid"), "{}", out.stderr());
        // The rotation itself happened; only the signal was refused.
        assert!(
            dir.names("logs")
                .iter()
                .any(|n| n.starts_with("access.log-"))
        );
    }
}

#[test]
fn a_missing_pid_file_is_a_warning_not_a_failure() {
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    reopen: { signal: USR1, pidfile: nginx.pid }\n")
        .file("logs/access.log", &text)
        .now("2026-11-03T00:00:00Z");
    let out = dir.run(["enforce"]).ok();
    assert!(
        out.stderr().contains("warning") && out.stderr().contains("nginx.pid does not exist"),
        "{}",
        out.stderr()
    );
}

#[test]
fn reopen_command_runs_without_a_shell() {
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .file("logs/access.log", &text)
        .now("2026-11-03T00:00:00Z");
    let marker = dir.path("touched; echo pwned");
    let dir = dir.policy(&format!(
        "sites:\n  main:\n    logs: [logs/access.log]\n    reopen: {{ command: [touch, \"{}\"] }}\n",
        marker.display()
    ));
    dir.run(["enforce"]).ok();
    assert!(marker.exists(), "the argument reached touch as one word");
}

#[test]
fn anonymize_filters_stdin_and_writes_gzip() {
    use std::io::Write;
    let input = "203.0.113.195 - - [10/Oct/2000:13:55:36 -0700] \"GET /?ip=198.51.100.7 HTTP/1.0\" 200 2326\n";
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("logwarden"));
    let mut child = cmd
        .args(["anonymize", "--gzip=9"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "nothing on stderr on success");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(&out.stdout[..]),
        &mut text,
    )
    .unwrap();
    assert_eq!(
        text,
        "203.0.113.0 - - [10/Oct/2000:13:55:36 -0700] \"GET /?ip=198.51.100.0 HTTP/1.0\" 200 2326\n"
    );
}

#[test]
fn writers_keep_their_archive_until_they_let_go() {
    // No reopen configured and the writer still holds the rotated file: it is renamed but
    // never compressed under the writer.
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n")
        .file("logs/access.log", &text)
        .now("2026-11-03T00:00:00Z");
    let server = FakeServer::start(&dir, "logs/access.log");
    let out = dir.run(["enforce"]).ok();
    assert!(out.stderr().contains("not told"), "{}", out.stderr());
    assert_eq!(
        dir.names("logs"),
        ["access.log", "access.log-20261103-000000"]
    );
    drop(server);
    dir.run(["enforce"]).ok();
    assert_eq!(
        dir.names("logs"),
        ["access.log", "access.log-20261103-000000.gz"]
    );
}

#[test]
fn world_readable_permissions_are_not_widened() {
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n")
        .file("logs/access.log", &text)
        .now("2026-11-03T00:00:00Z");
    dir.chmod("logs/access.log", 0o600);
    dir.run(["enforce"]).ok();
    for name in dir.names("logs") {
        let mode = std::fs::metadata(dir.path(&format!("logs/{name}")))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
}

// ---- check and describe ----------------------------------------------------------------

const CHECK_POLICY: &str = "\
sites:
  main:
    logs: [\"logs/*.log\"]
    rotate: { every: 1d }
    retention: 14d
    anonymize: { after: 7d }
";

/// Like `lines_between`, with IPv4 clients only.
fn v4_lines(from: Timestamp, to: Timestamp, step: i64, first: u64) -> String {
    let mut s = String::new();
    let (mut at, mut id) = (from, first);
    while at < to {
        s.push_str(&access_line(
            &format!("198.51.{}.{}", id % 256, id % 250 + 1),
            at,
            id,
        ));
        (at, id) = (at + SignedDuration::from_secs(step), id + 1);
    }
    s
}

/// A temp dir others cannot enter, so no file in it counts as readable by everyone.
fn private(dir: LogDir) -> LogDir {
    dir.chmod("", 0o700);
    dir
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout()))
}

fn rules_of(report: &serde_json::Value) -> Vec<(String, String)> {
    report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let file = v["file"].as_str().unwrap_or("-");
            let name = file.rsplit('/').next().unwrap().to_string();
            (v["rule"].as_str().unwrap().to_string(), name)
        })
        .collect()
}

#[test]
fn check_reports_every_violation_with_evidence_and_no_address() {
    let now = t("2026-11-29T00:00:00Z");
    let old = v4_lines(
        t("2026-10-01T00:00:00Z"),
        t("2026-10-03T00:00:00Z"),
        3600,
        0,
    );
    let mid = v4_lines(
        t("2026-11-18T00:00:00Z"),
        t("2026-11-19T00:00:00Z"),
        3600,
        100,
    );
    let live = v4_lines(t("2026-11-28T00:00:00Z"), now, 3600, 200);
    let dir = LogDir::new()
        .policy(CHECK_POLICY)
        .now("2026-11-29T00:00:00Z")
        .file("logs/access.log", &live)
        .xz("logs/access.log-20261003.xz", &old)
        .gz("logs/access.log.1.gz", &mid);
    std::os::unix::fs::symlink("/etc/passwd", dir.path("logs/link.log")).unwrap();
    nix::unistd::mkfifo(
        &dir.path("logs/pipe.log"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    dir.chmod("", 0o755);
    dir.chmod("logs", 0o755);
    dir.chmod("logs/access.log", 0o644);
    dir.chmod("logs/access.log.1.gz", 0o640);
    dir.chmod("logs/access.log-20261003.xz", 0o600);
    let before = dir.snapshot();

    let run = dir.run(["check", "--format", "json"]);
    assert_eq!(run.code(), 1, "{}\n{}", run.stdout(), run.stderr());
    assert_no_full_address(&run.stdout());
    let report = json(&run);
    assert_eq!(report["version"], 1);
    assert_eq!(report["compliant"], false);
    let mut rules = rules_of(&report);
    rules.sort();
    assert_eq!(
        rules,
        [
            ("full-ip", "access.log-20261003.xz"),
            ("full-ip", "access.log.1.gz"),
            ("retention", "access.log-20261003.xz"),
            ("unreadable", "link.log"),
            ("unreadable", "pipe.log"),
            ("world-readable", "access.log"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let v = report["violations"].as_array().unwrap();
    let retention = v.iter().find(|v| v["rule"] == "retention").unwrap();
    assert_eq!(retention["site"], "main");
    assert_eq!(retention["evidence"]["records"], 48);
    assert_eq!(retention["evidence"]["oldest"], "2026-10-01T00:00:00Z");
    assert_eq!(retention["evidence"]["age_days"], 59.0);
    let full = v
        .iter()
        .find(|v| v["rule"] == "full-ip" && v["file"].as_str().unwrap().ends_with(".gz"))
        .unwrap();
    assert_eq!(full["evidence"]["records"], 24);
    assert_eq!(full["evidence"]["first_line"], 1);
    assert_eq!(report["sites"][0]["files"], 3);

    // The other formats carry the same findings, also without an address.
    let text = dir.run(["check"]);
    assert_eq!(text.code(), 1);
    assert_no_full_address(&text.stdout());
    assert!(
        text.stdout()
            .contains("main: 3 files, 96 records: 6 violations"),
        "{}",
        text.stdout()
    );
    let junit = dir.run(["check", "--format", "junit"]);
    assert_eq!(junit.code(), 1);
    assert_no_full_address(&junit.stdout());
    assert_eq!(junit.stdout().matches("<testcase ").count(), 9);
    assert_eq!(junit.stdout().matches("<failure ").count(), 4);

    // check wrote nothing and took no lock.
    assert_eq!(dir.snapshot(), before);
    assert!(!dir.path("logwarden.lock").exists());
}

#[test]
fn check_passes_after_a_pass_and_follows_the_clock() {
    let (text, _) = lines_between(
        t("2026-10-20T00:00:00Z"),
        t("2026-11-29T00:00:00Z"),
        1800,
        0,
    );
    let mut dir = private(LogDir::new())
        .policy(DAILY_14D_7D)
        .now("2026-11-29T00:00:00Z")
        .file("logs/access.log", &text);
    assert_eq!(dir.run(["check"]).code(), 1);
    dir.run(["enforce"]).ok();
    let run = dir.run(["check"]).ok();
    assert!(
        run.stdout()
            .ends_with("compliant at 2026-11-29T00:00:00Z\n"),
        "{}",
        run.stdout()
    );
    // The server writes two more days; ten days later, without a pass, records have
    // crossed both limits.
    let more = v4_lines(
        t("2026-11-29T00:00:00Z"),
        t("2026-12-01T00:00:00Z"),
        1800,
        5000,
    );
    append(&dir.path("logs/access.log"), &more);
    dir.set_now("2026-12-09T00:00:00Z");
    let report = json(&dir.run(["check", "--format", "json"]));
    let rules: Vec<String> = rules_of(&report).into_iter().map(|(r, _)| r).collect();
    assert!(rules.contains(&"retention".to_string()), "{rules:?}");
    assert!(rules.contains(&"full-ip".to_string()), "{rules:?}");
}

#[test]
fn ceilings_are_violations_for_check_and_refusals_for_validate_and_enforce() {
    let dir = private(LogDir::new())
        .policy(
            "compliance: { max_retention: 30d, max_full_ip_age: 7d }\nsites:\n  main:\n    logs: [logs/access.log]\n    retention: 60d\n  ok:\n    logs: [logs2/access.log]\n",
        )
        .now("2026-11-29T00:00:00Z")
        .file("logs/access.log", "")
        .file("logs2/access.log", "");
    let run = dir.run(["check", "--format", "json"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let report = json(&run);
    let v = &report["violations"][0];
    assert_eq!(v["rule"], "ceiling");
    assert_eq!(v["site"], "main");
    assert_eq!(v["file"], serde_json::Value::Null);
    assert_eq!(v["evidence"]["key"], "sites.main.retention");
    assert_eq!(report["violations"].as_array().unwrap().len(), 1);
    // Only the site asked for.
    dir.run(["check", "--site", "ok"]).ok();
    for cmd in ["validate", "enforce", "describe"] {
        let run = dir.run([cmd]);
        assert_eq!(run.code(), 2, "{cmd}: {}", run.stderr());
        assert!(
            run.stderr().contains("exceeds compliance.max_retention"),
            "{}",
            run.stderr()
        );
    }
}

#[test]
fn check_usage_errors_exit_2() {
    let dir = LogDir::new().policy(CHECK_POLICY);
    assert_eq!(dir.run(["check", "--site", "nope"]).code(), 2);
    assert_eq!(dir.run(["check", "--format", "yaml"]).code(), 2);
    let bad = LogDir::new().policy("sites:\n  a:\n    logs: [x.log]\n    retention: 6m\n");
    assert_eq!(bad.run(["check"]).code(), 2);
}

/// What a probe sees between two hourly passes: at 12:00 one record has been past retention
/// (14d) for 30 minutes and another past the full-IP window (7d) for 30 minutes, both for
/// the next pass to fix.
fn between_two_passes() -> LogDir {
    let now = t("2026-11-29T12:00:00Z");
    let half_hour = SignedDuration::from_mins(30);
    let day = SignedDuration::from_hours(24);
    // Not `access_line`: its query string holds a full address of its own.
    let line = |ip: &str, at: Timestamp| {
        format!(
            "{ip} - - [{}] \"GET / HTTP/1.1\" 200 5\n",
            at.strftime("%d/%b/%Y:%H:%M:%S +0000")
        )
    };
    let text = [
        line("198.51.100.0", now - 14 * day - half_hour),
        line("198.51.100.7", now - 7 * day - half_hour),
        line("198.51.100.8", now - SignedDuration::from_hours(2)),
    ]
    .concat();
    private(LogDir::new())
        .policy(CHECK_POLICY)
        .now("2026-11-29T12:00:00Z")
        .gz("logs/access.log.1.gz", text)
}

#[test]
fn check_grace_forgives_limits_crossed_less_than_grace_ago() {
    let dir = between_two_passes();
    let before = dir.snapshot();
    let strict = dir.run(["check", "--format", "json"]);
    assert_eq!(strict.code(), 1, "{}", strict.stdout());
    assert_eq!(
        rules_of(&json(&strict)),
        [
            ("retention", "access.log.1.gz"),
            ("full-ip", "access.log.1.gz")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // Twenty minutes are not enough for a limit crossed thirty minutes ago.
    assert_eq!(dir.run(["check", "--grace", "20m"]).code(), 1);

    let run = dir.run(["check", "--grace", "1h"]).ok();
    assert!(
        run.stdout()
            .ends_with("compliant at 2026-11-29T12:00:00Z (grace 1 hour)\n"),
        "{}",
        run.stdout()
    );
    let report = json(&dir.run(["check", "--grace", "1h", "--format", "json"]).ok());
    assert_eq!(report["now"], "2026-11-29T12:00:00Z");
    assert_eq!(report["grace_seconds"], 3600);
    let junit = dir
        .run(["check", "--grace", "90m", "--format", "junit"])
        .ok();
    assert!(
        junit
            .stdout()
            .contains("<property name=\"grace_seconds\" value=\"5400\"/>"),
        "{}",
        junit.stdout()
    );
    assert_eq!(dir.snapshot(), before);
    assert!(!dir.path("logwarden.lock").exists());
}

#[test]
fn check_grace_does_not_excuse_a_file_readable_by_everyone() {
    let now = t("2026-11-29T12:00:00Z");
    let live = v4_lines(now - SignedDuration::from_hours(3), now, 3600, 0);
    let dir = LogDir::new()
        .policy(CHECK_POLICY)
        .now("2026-11-29T12:00:00Z")
        .file("logs/access.log", &live);
    dir.chmod("", 0o755);
    dir.chmod("logs", 0o755);
    dir.chmod("logs/access.log", 0o644);
    let run = dir.run(["check", "--grace", "2d", "--format", "json"]);
    assert_eq!(run.code(), 1, "{}", run.stdout());
    assert_eq!(
        rules_of(&json(&run)),
        [("world-readable".to_string(), "access.log".to_string())]
    );
}

#[test]
fn check_refuses_a_negative_or_unparsable_grace_naming_the_flag_and_value() {
    let dir = between_two_passes();
    let cases: [(&[&str], &str); 4] = [
        (&["check", "--grace", "-1h"], "-1h"),
        (&["check", "--grace=-30m"], "-30m"),
        (&["check", "--grace", "soon"], "soon"),
        (&["check", "--grace", "1 fortnight"], "1 fortnight"),
    ];
    for (args, value) in cases {
        let run = dir.run(args);
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr());
        assert!(
            run.stderr().contains("--grace") && run.stderr().contains(value),
            "{args:?}: {}",
            run.stderr()
        );
    }
}

#[test]
fn check_finds_full_ipv6_addresses_past_the_window() {
    let line = "2001:db8:1234:5678::1 - - [01/Nov/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"-\"\n";
    let dir = private(LogDir::new())
        .policy(CHECK_POLICY)
        .now("2026-11-10T00:00:00Z")
        .gz("logs/access.log.1.gz", line);
    let run = dir.run(["check", "--format", "json"]);
    assert_eq!(run.code(), 1, "{}", run.stdout());
    assert_no_full_address(&run.stdout());
    assert_eq!(
        rules_of(&json(&run)),
        [("full-ip".to_string(), "access.log.1.gz".to_string())]
    );
}

#[test]
fn describe_says_the_policy_in_words_and_writes_nothing() {
    let dir = LogDir::new().policy(
        "sites:\n  main:\n    logs: [/var/log/nginx/access.log]\n    retention: 14d\n    anonymize: { after: 1d }\n",
    );
    let before = dir.snapshot();
    let md = dir.run(["describe"]).ok().stdout();
    assert!(
        md.starts_with("### Site main\n\nThe web server keeps logs of its work"),
        "{md}"
    );
    assert!(!md.contains("/var/log"), "no paths unless asked: {md}");
    // The packaged timer runs hourly: each period is the policy's plus that wait.
    assert!(md.contains("Full IP addresses are kept for at most 1 day and 1 hour."));
    assert!(md.contains("the last of the four numbers of an IPv4 address is set to zero"));
    assert!(md.contains("IPv6 addresses are cut to their first 40 bits"));
    assert!(md.contains("Every record is deleted within 14 days and 1 hour after it was written."));
    let daily = dir.run(["describe", "--pass-every", "1d"]).ok().stdout();
    assert!(
        daily.contains("Every record is deleted within 15 days after it was written."),
        "{daily}"
    );
    let paths = dir.run(["describe", "--paths"]).ok().stdout();
    assert!(
        paths.contains("keeps logs (`/var/log/nginx/access.log`) of its work"),
        "{paths}"
    );
    let text = dir.run(["describe", "--format", "text"]).ok().stdout();
    assert!(text.starts_with("Site main\n\n"), "{text}");
    assert_eq!(dir.snapshot(), before);
}

#[test]
fn no_reopen_policy_warns_only_when_a_writer_still_holds_the_rotated_log() {
    let policy = "sites:\n  main:\n    logs: [logs/access.log]\n";
    // Nobody holds the file: rotated and compressed in one pass, nothing to warn about.
    let quiet = LogDir::new()
        .policy(policy)
        .file("logs/access.log", a_day_of_lines("2026-11-01"))
        .now("2026-11-03T00:00:00Z");
    let out = quiet.run(["enforce"]).ok();
    assert!(!out.stderr().contains("warning:"), "{}", out.stderr());
    assert_eq!(
        quiet.names("logs"),
        ["access.log", "access.log-20261103-000000.gz"]
    );

    // A writer holds it and was not told to reopen: the warning names it, the archive waits.
    let held = LogDir::new()
        .policy(policy)
        .file("logs/access.log", a_day_of_lines("2026-11-01"))
        .now("2026-11-03T00:00:00Z");
    let server = FakeServer::start(&held, "logs/access.log");
    let out = held.run(["enforce"]).ok();
    let pid = server.child.id().to_string();
    assert!(
        out.stderr().contains("still writes to the rotated log") && out.stderr().contains(&pid),
        "{}",
        out.stderr()
    );
    assert_eq!(
        held.names("logs"),
        ["access.log", "access.log-20261103-000000"]
    );
}

#[test]
fn archive_dir_receives_the_archives_and_expires_them_there() {
    let mut dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    archive_dir: archives\n    retention: 3d\n")
        .file("logs/access.log", a_day_of_lines("2026-11-01"))
        .file("archives/.keep", "")
        .now("2026-11-03T00:00:00Z");
    dir.run(["enforce"]).ok();
    assert_eq!(dir.names("logs"), ["access.log"]);
    assert_eq!(
        dir.names("archives"),
        [".keep", "access.log-20261103-000000.gz"]
    );
    dir.set_now("2026-11-06T00:00:00Z");
    dir.run(["enforce"]).ok();
    assert_eq!(dir.names("archives"), [".keep"], "past retention");
}

#[test]
fn a_missing_archive_dir_refuses_the_rotation_and_names_it() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    archive_dir: archives\n")
        .file("logs/access.log", a_day_of_lines("2026-11-01"))
        .now("2026-11-03T00:00:00Z");
    assert_rotation_refused(
        &dir,
        "logs are not rotated until it does",
        "archives does not exist; create it",
    );
}

/// `validate` warns on the `archive_dir` key (exit 0: the directories may differ on the
/// machine that validates), `enforce` refuses the rotation (exit 1) and changes nothing.
#[track_caller]
fn assert_rotation_refused(dir: &LogDir, validate_says: &str, enforce_says: &str) {
    let v = dir.run(["validate"]);
    assert_eq!(v.code(), 0, "{}", v.stderr());
    assert!(
        v.stderr().contains("sites.main.archive_dir: ") && v.stderr().contains(validate_says),
        "{}",
        v.stderr()
    );
    let before = dir.snapshot();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(out.stderr().contains(enforce_says), "{}", out.stderr());
    assert_eq!(dir.snapshot(), before, "the live log stays where it is");
}

#[test]
fn archive_dir_on_another_file_system_is_refused_before_any_rename() {
    use std::os::unix::fs::MetadataExt;
    let dir = LogDir::new().file("logs/access.log", a_day_of_lines("2026-11-01"));
    // /dev/shm is a tmpfs of its own on the machines this runs on.
    let elsewhere = tempfile::tempdir_in("/dev/shm").ok().filter(|d| {
        d.path().metadata().unwrap().dev() != dir.path("logs").metadata().unwrap().dev()
    });
    support::require("/dev/shm on a file system of its own", elsewhere.is_some());
    let Some(elsewhere) = elsewhere else {
        return;
    };
    let dir = dir
        .policy(&format!(
            "sites:\n  main:\n    logs: [logs/access.log]\n    archive_dir: {}\n",
            elsewhere.path().display()
        ))
        .now("2026-11-03T00:00:00Z");
    assert_rotation_refused(
        &dir,
        "is on another file system than",
        "is on another file system than",
    );
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

/// Inode and ctime: a rewrite (temp file renamed into place) changes the one, any write
/// the other. (The mtime says nothing: a rewrite keeps it.)
fn identity(path: &std::path::Path) -> (u64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).unwrap();
    (m.ino(), m.ctime(), m.ctime_nsec())
}

#[test]
fn unchanged_foreign_archives_are_neither_read_nor_rewritten_again_until_masking_is_due() {
    // Half past the masking window (11-22 at the first pass): masked a day ahead, to 11-23.
    let (xz, _) = lines_between(
        t("2026-11-19T00:00:00Z"),
        t("2026-11-25T00:00:00Z"),
        3600,
        0,
    );
    // Not due for masking yet: read for its times only.
    let (plain, next) = lines_between(
        t("2026-11-25T00:00:00Z"),
        t("2026-11-28T00:00:00Z"),
        3600,
        1000,
    );
    let mut dir = LogDir::new()
        .policy(DAILY_14D_7D)
        .xz("logs/access.log.2.xz", &xz)
        .file("logs/access.log.1", &plain)
        .now("2026-11-29T00:00:00Z");
    let read_in_full = |run: &Run, name: &str| {
        run.stderr()
            .lines()
            .any(|l| l.contains(name) && l.contains("read in full"))
    };
    let first = dir.run(["-v", "enforce"]).ok();
    assert!(read_in_full(&first, "access.log.2.xz"));
    assert!(read_in_full(&first, "access.log.1"));
    assert_promises(&dir, t("2026-11-29T00:00:00Z"), 14, 7);
    let xz_path = dir.path("logs/access.log.2.xz");
    let plain_path = dir.path("logs/access.log.1");
    let (xz_id, plain_id) = (identity(&xz_path), identity(&plain_path));

    // An hour later nothing changed and nothing is due: no archive is read or rewritten.
    dir.set_now("2026-11-29T01:00:00Z");
    let idle = dir.run(["-v", "enforce"]).ok();
    assert!(!idle.stderr().contains("read in full"), "{}", idle.stderr());
    assert_eq!(identity(&xz_path), xz_id);
    assert_eq!(identity(&plain_path), plain_id);
    assert_promises(&dir, t("2026-11-29T01:00:00Z"), 14, 7);

    // A changed archive is read again; the unchanged one still is not.
    append(
        &plain_path,
        &access_line(&client(next), t("2026-11-28T00:00:00Z"), next),
    );
    dir.set_now("2026-11-29T02:00:00Z");
    let changed = dir.run(["-v", "enforce"]).ok();
    assert!(
        read_in_full(&changed, "access.log.1"),
        "{}",
        changed.stderr()
    );
    assert!(!read_in_full(&changed, "access.log.2.xz"));
    assert_eq!(identity(&xz_path), xz_id);

    // A day on, masking is due again: rewritten once, then left alone again.
    dir.set_now("2026-11-30T00:00:01Z");
    dir.run(["enforce"]).ok();
    assert_ne!(identity(&xz_path).0, xz_id.0);
    assert_promises(&dir, t("2026-11-30T00:00:01Z"), 14, 7);
    let xz_id = identity(&xz_path);
    dir.set_now("2026-11-30T01:00:00Z");
    let idle = dir.run(["-v", "enforce"]).ok();
    assert!(!idle.stderr().contains("read in full"), "{}", idle.stderr());
    assert_eq!(identity(&xz_path), xz_id);

    // Without the cache file (lost, or not trusted), everything is read again: a cache,
    // never the only place a fact lives.
    std::fs::remove_file(dir.path("logwarden.facts")).unwrap();
    let cold = dir.run(["-v", "enforce"]).ok();
    assert!(read_in_full(&cold, "access.log.2.xz"));
    assert_promises(&dir, t("2026-11-30T01:00:00Z"), 14, 7);
}

/// A Caddy access line (its JSON shape, `ts` in epoch seconds) from `ip` at `at`.
fn caddy_line(ip: &str, at: &str) -> String {
    let ts = at.parse::<Timestamp>().unwrap().as_second();
    format!(
        "{{\"level\":\"info\",\"ts\":{ts}.123456,\"logger\":\"http.log.access\",\"msg\":\"handled request\",\"request\":{{\"remote_ip\":\"{ip}\",\"uri\":\"/x\"}},\"status\":200}}\n"
    )
}

/// `rotate: false` (Caddy rolls its own files): the live file is never touched, what the
/// server rolled (`access-<time>.log[.gz]`) is masked and expired, and a live file the
/// server keeps past the window is reported, never passed as kept.
#[test]
fn rotate_false_masks_and_expires_what_the_server_rolled_and_reports_its_live_file() {
    let live = caddy_line("203.0.113.9", "2026-11-30T10:00:00Z");
    let mut dir = LogDir::new()
        .policy(
            "sites:\n  caddy:\n    logs: [{ path: logs/access.log, format: json, time_field: ts }]\n    rotate: false\n    retention: 10d\n    anonymize: { after: 1d }\n",
        )
        .file("logs/access.log", &live)
        .file(
            "logs/access-2026-11-25T10-00-00.000.log",
            caddy_line("198.51.100.7", "2026-11-25T10:00:00Z"),
        )
        .gz(
            "logs/access-2026-11-15T10-00-00.000.log.gz",
            caddy_line("198.51.100.8", "2026-11-15T10:00:00Z"),
        )
        .now("2026-11-30T12:00:00Z");
    dir.chmod("logs", 0o700);
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert_eq!(
        dir.names("logs"),
        ["access-2026-11-25T10-00-00.000.log", "access.log"],
        "the expired roll is deleted, nothing is rotated"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path("logs/access.log")).unwrap(),
        live
    );
    let rolled =
        std::fs::read_to_string(dir.path("logs/access-2026-11-25T10-00-00.000.log")).unwrap();
    assert!(
        rolled.contains("\"remote_ip\":\"198.51.100.0\""),
        "{rolled}"
    );
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 0, "{}", check.stdout());

    // Two days on, the server has not rolled: its file holds a full address past the window.
    dir.set_now("2026-12-02T12:00:00Z");
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("access.log") && out.stderr().contains("rotate: false"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path("logs/access.log")).unwrap(),
        live
    );
    assert_eq!(dir.run(["check"]).code(), 1);
    let described = dir.run(["describe"]).stdout();
    assert!(
        described.contains("starts its new log files itself"),
        "{described}"
    );
}

/// `client_field:` names the JSON field that holds the client under `scope: client`: that
/// field is truncated in the archive (wherever nested), the default client fields are not,
/// and `check` judges with the same field.
#[test]
fn a_chosen_json_client_field_is_what_scope_client_truncates() {
    let line = |at: &str| {
        format!(
            "{{\"time\":\"{at}\",\"remote_addr\":\"10.0.0.1\",\"req\":{{\"visitor\":\"203.0.113.9\",\"uri\":\"/\"}}}}\n"
        )
    };
    let dir = LogDir::new()
        .policy(
            "sites:\n  app:\n    logs: [{ path: logs/app.log, format: json, client_field: visitor }]\n    rotate: { every: 1d }\n    anonymize: { after: 0s, scope: client }\n",
        )
        .file(
            "logs/app.log",
            line("2026-11-28T10:00:00Z") + &line("2026-11-29T10:00:00Z"),
        )
        .now("2026-11-30T12:00:00Z");
    dir.chmod("logs", 0o700);
    let before = dir.run(["check"]);
    assert_eq!(before.code(), 1, "{}", before.stdout());
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let archive = dir
        .names("logs")
        .into_iter()
        .find(|n| n.ends_with(".gz"))
        .expect("rotated");
    let text = String::from_utf8(read_any(&dir.path(&format!("logs/{archive}")))).unwrap();
    assert_eq!(
        text.matches("\"visitor\":\"203.0.113.0\"").count(),
        2,
        "{text}"
    );
    assert_eq!(
        text.matches("\"remote_addr\":\"10.0.0.1\"").count(),
        2,
        "{text}"
    );
    let after = dir.run(["check"]);
    assert_eq!(after.code(), 0, "{}", after.stdout());
}

/// `compress: { method: zstd }`: rotated logs become `.zst` archives that `zstd` itself
/// reads, masked and expired on time like gzip ones, and an idle pass takes their facts
/// from the frame at their head instead of reading them.
#[test]
fn zstd_archives_keep_every_promise_and_zstd_itself_reads_them() {
    let start = t("2026-11-09T00:00:00Z");
    let mut now = t("2026-11-20T00:00:00Z");
    let (text, _) = lines_between(start, now, 900, 0);
    let policy = format!("{DAILY_14D_7D}    compress: {{ method: zstd, level: 19 }}\n");
    let mut dir = LogDir::new()
        .policy(&policy)
        .file("logs/access.log", &text)
        .now("2026-11-20T00:00:00Z");
    dir.run(["enforce"]).ok();
    assert_eq!(
        dir.names("logs"),
        ["access.log", "access.log-20261120-000000.zst"]
    );
    assert_promises(&dir, now, 14, 7);
    // Sixteen days on, a day of lines at a time: each pass rotates, masks what came of age
    // and expires what is past retention.
    let mut next = 1_000_000;
    for _ in 0..16 {
        let day = now + SignedDuration::from_hours(24);
        let (more, last) = lines_between(now, day, 900, next);
        next = last;
        std::fs::write(dir.path("logs/access.log"), more).unwrap();
        now = day;
        dir.set_now(&now.to_string());
        dir.run(["enforce"]).ok();
        assert_promises(&dir, now, 14, 7);
    }
    let names = dir.names("logs");
    assert!(
        names.iter().skip(1).all(|n| n.ends_with(".zst")),
        "{names:?}"
    );
    // The first archive has passed retention, and 14 days of daily ones are left.
    assert!(!names.contains(&"access.log-20261120-000000.zst".to_string()));
    assert_eq!(names.len(), 15, "{names:?}");
    // An oracle that shares no code with logwarden: the zstd program.
    if support::require(
        "the zstd program",
        std::path::Path::new("/usr/bin/zstd").exists(),
    ) {
        for name in names.iter().skip(1) {
            let path = dir.path(&format!("logs/{name}"));
            let out = std::process::Command::new("/usr/bin/zstd")
                .args(["-dc", "--"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, read_any(&path), "{name}");
            assert!(!out.stdout.is_empty(), "{name}");
        }
    }
    // Idle: nothing due, nothing read in full, nothing changed.
    let before = dir.snapshot();
    let idle = dir
        .command(["-v", "enforce"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(idle.status.success());
    let said = String::from_utf8_lossy(&idle.stderr);
    assert!(!said.contains("read in full"), "{said}");
    assert_eq!(dir.snapshot(), before);
    // Nobody else may pass through (the fixture's files are 0644).
    dir.chmod("", 0o700);
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 0, "{}", check.stdout());
}
