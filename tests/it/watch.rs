//! `logwarden watch` end to end: the real binary, real signals, real file-system events.
//! Every wait polls with a generous timeout; nothing depends on a fixed sleep being enough.

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use crate::support::{self, *};
use nix::sys::signal::Signal;

/// One site, rotated at 8 KiB (or daily); a line is about 150 bytes.
const SIZED: &str =
    "sites:\n  main:\n    logs: [logs/access.log]\n    rotate: { every: 1d, max_size: 8KiB }\n";

fn archives(dir: &LogDir) -> Vec<String> {
    std::fs::read_dir(dir.path("logs"))
        .map(|rd| {
            rd.filter_map(std::result::Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("access.log-"))
                .collect()
        })
        .unwrap_or_default()
}

/// `n` access lines stamped around the real time, ids from `first`.
fn recent_lines(n: u64, first: u64) -> String {
    let now = jiff::Timestamp::now();
    (first..first + n)
        .map(|id| access_line(&client(id), now, id))
        .collect()
}

#[test]
fn a_size_limit_crossed_is_rotated_within_seconds_and_no_line_is_lost() {
    let dir = LogDir::new()
        .policy(SIZED)
        .file("logs/access.log", recent_lines(40, 1_000_000));
    let d = dir.watch(&[], &[]);
    assert!(archives(&dir).is_empty(), "6 KiB is under the limit");

    // One append crosses the limit: acted on within about two seconds, without a timer.
    append(&dir.path("logs/access.log"), &recent_lines(40, 2_000_000));
    let crossed = Instant::now();
    assert!(wait_until(10, || !archives(&dir).is_empty()), "{}", d.log());
    assert!(
        crossed.elapsed() < Duration::from_secs(3),
        "rotation took {:?}",
        crossed.elapsed()
    );

    // A writer appending all along: several rotations, every line kept exactly once.
    let writer = Writer::start(dir.path("logs/access.log"), 300);
    assert!(wait_until(20, || archives(&dir).len() >= 4), "{}", d.log());
    let n = writer.finish();
    assert_eq!(d.stop(), 0);
    assert!(dir.temps("logs").is_empty(), "{:?}", dir.temps("logs"));
    let mut seen = 0;
    let mut kept = std::collections::BTreeSet::new();
    for (name, bytes) in dir.contents("logs") {
        for line in String::from_utf8_lossy(&bytes).lines() {
            let (id, _, _) = parse_line(line).unwrap_or_else(|| panic!("{name}: {line}"));
            seen += 1;
            if id < 1_000_000 {
                assert!(kept.insert(id), "line {id} twice");
            }
        }
    }
    assert_eq!(seen, n + 80, "every line once");
    assert_eq!(kept.len() as u64, n);
}

#[test]
fn sighup_applies_a_new_policy_and_keeps_the_old_one_when_the_new_is_broken() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    rotate: { every: 1d, max_size: 1MiB }\n")
        .file("logs/access.log", recent_lines(50, 0));
    let mut d = dir.watch(&[], &[]);

    std::fs::write(dir.path("config.yaml"), "sites: [this is not\n").unwrap();
    d.signal(Signal::SIGHUP);
    d.expect_log("reload failed, the previous policy stays in force", 1);
    assert!(d.running());
    assert!(archives(&dir).is_empty());

    let dir = dir.policy(SIZED.replace("8KiB", "4KiB").as_str());
    d.signal(Signal::SIGHUP);
    d.expect_log("reloaded", 1);
    assert!(wait_until(10, || archives(&dir).len() == 1), "{}", d.log());
    assert_eq!(d.stop(), 0);
    dir.assert_lines_kept("logs", 50);
}

#[test]
fn sigusr1_forces_a_pass_that_events_alone_would_not_retry() {
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n")
        .file("logs/access.log", &text)
        .now("2026-11-03T00:00:00Z");
    // A writer that holds the log open and is never told to reopen it.
    let held = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path("logs/access.log"))
        .unwrap();
    let mut holder = std::process::Command::new("sleep")
        .arg("600")
        .stdout(held)
        .spawn()
        .unwrap();
    let d = dir.watch(&[], &[]);
    d.expect_log("deferred: still open for writing", 1);
    assert_eq!(archives(&dir).len(), 1);

    holder.kill().unwrap();
    holder.wait().unwrap();
    // Its close is an event, but the deferred compression waits for its retry (30 s)...
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!archives(&dir)[0].ends_with(".gz"));
    // ...unless asked.
    d.signal(Signal::SIGUSR1);
    assert!(
        wait_until(10, || archives(&dir).iter().any(|a| a.ends_with(".gz"))),
        "{}",
        d.log()
    );
    assert_eq!(d.stop(), 0);
    dir.assert_lines_kept("logs", 24);
}

#[test]
fn enforce_runs_while_watch_sleeps_and_watch_waits_for_a_held_lock() {
    let dir = LogDir::new()
        .policy(SIZED)
        .file("logs/access.log", recent_lines(10, 0));
    let d = dir.watch(&[], &[]);
    // The service holds the lock only during passes.
    let out = dir.run(["enforce"]).ok();
    assert!(!out.stderr().contains("another logwarden"));

    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path("logwarden.lock"))
        .unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
    append(&dir.path("logs/access.log"), &recent_lines(100, 10));
    d.expect_log("another logwarden", 1);
    assert!(archives(&dir).is_empty());
    drop(held);
    assert!(wait_until(10, || archives(&dir).len() == 1), "{}", d.log());
    assert_eq!(d.stop(), 0);
    dir.assert_lines_kept("logs", 110);
}

#[test]
fn a_log_directory_that_disappears_and_comes_back_is_watched_again() {
    // Missing at start: the nearest existing ancestor is watched.
    let dir = LogDir::new().policy(SIZED);
    let d = dir.watch(&[], &[]);
    std::fs::create_dir(dir.path("logs")).unwrap();
    append(&dir.path("logs/access.log"), &recent_lines(100, 0));
    assert!(wait_until(10, || archives(&dir).len() == 1), "{}", d.log());

    // Removed and recreated (a remount, a careless admin).
    std::fs::remove_dir_all(dir.path("logs")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::create_dir(dir.path("logs")).unwrap();
    append(&dir.path("logs/access.log"), &recent_lines(100, 0));
    assert!(wait_until(10, || archives(&dir).len() == 1), "{}", d.log());

    // Renamed away and replaced.
    std::fs::rename(dir.path("logs"), dir.path("old")).unwrap();
    std::fs::create_dir(dir.path("logs")).unwrap();
    append(&dir.path("logs/access.log"), &recent_lines(100, 0));
    assert!(wait_until(10, || archives(&dir).len() == 1), "{}", d.log());
    assert_eq!(d.stop(), 0);
}

#[test]
fn a_deadline_from_the_plan_is_met_without_any_event() {
    // The oldest record turns one day old three seconds after start, on a clock that
    // starts at --now and advances in real time.
    let line = access_line("198.51.100.7", t("2026-11-02T00:00:03Z"), 0);
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n")
        .file("logs/access.log", &line)
        .now("2026-11-03T00:00:00Z");
    let started = Instant::now();
    let d = dir.watch(&[], &[]);
    assert!(archives(&dir).is_empty());
    assert!(wait_until(10, || !archives(&dir).is_empty()), "{}", d.log());
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(!d.log().contains("safety rescan"));
    assert_eq!(d.stop(), 0);
    dir.assert_lines_kept("logs", 1);
}

#[test]
fn systemd_hears_ready_reloading_watchdog_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = LogDir::new().policy(SIZED);
    let sock_path = dir.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let next = |want: &str| {
        let mut buf = [0u8; 512];
        loop {
            let n = sock
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("waiting for {want}: {e}"));
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if msg.starts_with(want) {
                return msg;
            }
        }
    };
    let d = dir.watch(
        &[],
        &[
            ("NOTIFY_SOCKET", sock_path.as_os_str()),
            ("WATCHDOG_USEC", OsStr::new("300000")),
        ],
    );
    next("READY=1");
    next("WATCHDOG=1");
    next("WATCHDOG=1");
    d.signal(Signal::SIGHUP);
    assert!(next("RELOADING=1").contains("MONOTONIC_USEC="));
    next("READY=1");
    let child = d.child.id();
    let code = d.stop();
    next("STOPPING=1");
    assert_eq!(code, 0, "pid {child}");
}

/// The value of one series (name with labels) in a metrics file, if present.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

#[test]
fn watch_metrics_keep_a_failing_site_visible_until_it_succeeds() {
    let text = a_day_of_lines("2026-11-01");
    let policy = "sites:\n  a:\n    logs: [a/x.log]\n    create: { owner: no-such-user-lw }\n  b:\n    logs: [b/x.log]\n";
    let dir = LogDir::new()
        .policy(policy)
        .file("a/x.log", &text)
        .file("b/x.log", &text)
        .now("2026-11-03T00:00:00Z");
    let prom = dir.path("metrics.prom");
    let read = || std::fs::read_to_string(&prom).unwrap_or_default();
    let d = dir.watch(
        &["--metrics-file", prom.to_str().unwrap(), "--rescan", "1s"],
        &[],
    );
    let failed = "logwarden_last_pass_actions{site=\"a\",kind=\"rotate\",outcome=\"failed\"}";
    assert!(
        wait_until(10, || {
            let m = read();
            series(&m, failed) == Some(1.0)
                && series(
                    &m,
                    "logwarden_site_last_success_timestamp_seconds{site=\"b\"}",
                )
                .is_some_and(|v| v > 0.0)
        }),
        "{}\n{}",
        read(),
        d.log()
    );
    // Site b's later pass did not hide site a, nor make the service a success.
    let m = read();
    assert_eq!(
        series(
            &m,
            "logwarden_site_last_success_timestamp_seconds{site=\"a\"}"
        ),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "logwarden_last_success_timestamp_seconds"),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "logwarden_archives{site=\"b\"}"),
        Some(1.0),
        "{m}"
    );
    // The age gauges too, from the archive's header, as of the write (2 days and seconds).
    let age = series(
        &m,
        "logwarden_oldest_record_age_seconds{site=\"b\",source=\"pass\"}",
    )
    .expect("an age for b");
    assert!((172_800.0..172_800.0 + 60.0).contains(&age), "{m}");

    // Idle, the file is still rewritten (each rescan here) and still shows the failure.
    let written = |m: &str| series(m, "logwarden_metrics_timestamp_seconds");
    let first = written(&m).expect("a write time");
    assert!(
        wait_until(10, || written(&read()).is_some_and(|w| w > first)),
        "{}\n{}",
        read(),
        d.log()
    );
    let m = read();
    assert_eq!(series(&m, failed), Some(1.0), "{m}");
    assert_eq!(
        series(&m, "logwarden_last_success_timestamp_seconds"),
        Some(0.0),
        "{m}"
    );

    // Fixed: site a succeeds, and with no site failing the service does too.
    let _dir = dir.policy(&policy.replace("    create: { owner: no-such-user-lw }\n", ""));
    d.signal(Signal::SIGHUP);
    assert!(
        wait_until(10, || {
            let m = read();
            series(
                &m,
                "logwarden_site_last_success_timestamp_seconds{site=\"a\"}",
            )
            .is_some_and(|v| v > 0.0)
                && series(&m, "logwarden_last_success_timestamp_seconds").is_some_and(|v| v > 0.0)
        }),
        "{}\n{}",
        read(),
        d.log()
    );
    assert_eq!(series(&read(), failed), None);
    assert_eq!(d.stop(), 0);
}

#[test]
fn check_beside_a_running_pass_reports_no_vanished_file_and_misses_no_violation() {
    use assert_cmd::cargo::CommandCargoExt;
    // Rotated at 4 KiB under a steady writer (a rotation and a compression about every
    // second); big archives make each check read for a while, so a pass lands mid-read.
    let now = jiff::Timestamp::now();
    let mut dir = LogDir::new().policy(
        "sites:\n  main:\n    logs: [logs/access.log]\n    rotate: { every: 1d, max_size: 4KiB }\n",
    );
    for h in 1..=3 {
        let at = now - jiff::SignedDuration::from_hours(h);
        let (text, _) = lines_between(
            at - jiff::SignedDuration::from_mins(50),
            at,
            1,
            10_000_000 * h as u64,
        );
        let name = format!("logs/access.log-{}.gz", at.strftime("%Y%m%d-%H%M%S"));
        dir = dir.gz(&name, text);
    }
    // The audit also covers a site the service does not: its violations are real and must
    // be reported by every single check (no false green).
    let dir = dir.file("planted/old.log", "").file(
        "planted/old.log-20261001-000000",
        a_day_of_lines("2026-10-01"),
    );
    // Only the rules that depend on what the pass does: nobody else may pass through.
    dir.chmod("", 0o700);
    std::fs::write(
        dir.path("check.yaml"),
        "sites:\n  main:\n    logs: [logs/access.log]\n    rotate: { every: 1d, max_size: 4KiB }\n  planted:\n    logs: [planted/old.log]\n",
    )
    .unwrap();
    let d = dir.watch(&[], &[]);
    let writer = Writer::start(dir.path("logs/access.log"), 200);

    let mut checks = 0;
    let mut rotations_seen = 0;
    let start_archives = archives(&dir).len();
    // Until enough checks have met enough rotations (about one a second), however fast
    // this machine runs a check: a count of checks alone ends too soon where they are
    // quick.
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let out = std::process::Command::cargo_bin("logwarden")
            .unwrap()
            .arg("--config")
            .arg(dir.path("check.yaml"))
            .args(["check", "--format", "json"])
            .env("TZ", "UTC")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(out.status.code(), Some(1), "{report:#}");
        let rules: Vec<(String, String)> = report["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["site"].as_str().unwrap().to_string(),
                    v["rule"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            rules,
            [
                ("planted".to_string(), "retention".to_string()),
                ("planted".to_string(), "full-ip".to_string())
            ],
            "{report:#}\n{}",
            d.log()
        );
        // Every file of the site was read: the three big archives at least.
        assert!(
            report["sites"][0]["files"].as_u64().unwrap() >= 4,
            "{report:#}"
        );
        checks += 1;
        rotations_seen = d.log().matches("access.log -> access.log-").count();
        if checks >= 40 && rotations_seen >= 12 {
            break;
        }
    }
    writer.finish();
    assert!(
        rotations_seen >= 12,
        "{rotations_seen} rotations:\n{}",
        d.log()
    );
    assert!(archives(&dir).len() > start_archives);
    assert_eq!(d.stop(), 0);
}

#[test]
fn watchdog_is_fed_while_a_backlog_of_passes_runs_and_ready_comes_before_it() {
    use std::os::unix::net::UnixDatagram;
    // Three sites, each with a big archive past its full-IP window: masked and compressed
    // one after the other at start, several seconds of passes in a debug build.
    let now = jiff::Timestamp::now();
    let mut dir = LogDir::new();
    let mut policy = String::from("sites:\n");
    for site in ["a", "b", "c"] {
        let end = now - jiff::SignedDuration::from_hours(72);
        let (text, _) = lines_between(end - jiff::SignedDuration::from_hours(16), end, 1, 0);
        dir = dir.file(&format!("{site}/x.log.1"), text);
        policy.push_str(&format!(
            "  {site}:\n    logs: [{site}/x.log]\n    anonymize: {{ after: 1d }}\n"
        ));
    }
    let dir = dir.policy(&policy);
    let sock_path = dir.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let watchdog = Duration::from_secs(2);
    let d = dir.watch(
        &[],
        &[
            ("NOTIFY_SOCKET", sock_path.as_os_str()),
            ("WATCHDOG_USEC", OsStr::new("2000000")),
        ],
    );
    let recv = || {
        let mut buf = [0u8; 512];
        let n = sock
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
        (
            Instant::now(),
            String::from_utf8_lossy(&buf[..n]).into_owned(),
        )
    };
    let (mut last, ready) = recv();
    assert!(ready.starts_with("READY=1"), "{ready}");
    assert!(
        ready.contains("STATUS=working off the backlog of 3 site(s)"),
        "{ready}"
    );
    // Every ping within systemd's limit while the three passes run, and after them.
    let mut pings = 0;
    let mut after_backlog = 0;
    while after_backlog < 3 {
        let (at, msg) = recv();
        if msg.starts_with("WATCHDOG=1") {
            assert!(
                at - last < watchdog,
                "no WATCHDOG=1 for {:?} (ping {pings}):\n{}",
                at - last,
                d.log()
            );
            last = at;
            pings += 1;
            if d.log().matches("pass done: 1 done").count() >= 3 {
                after_backlog += 1;
            }
        }
    }
    let log = d.log();
    assert_eq!(d.stop(), 0);
    assert!(!log.contains("no sign of life"), "{log}");
    for site in ["a", "b", "c"] {
        assert_no_full_address(&String::from_utf8_lossy(&read_any(
            &dir.path(&format!("{site}/x.log.1")),
        )));
    }
}

#[test]
fn a_directory_over_the_inotify_limit_is_warned_once_and_watched_as_soon_as_it_can_be() {
    // The limit is set to one watch in a user namespace of the daemon's own, so nothing else
    // on the machine feels it; the wrapper lifts it when the test says so.
    let unshare = ["/usr/bin/unshare", "/bin/unshare"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists());
    let probe = unshare.as_ref().and_then(|u| {
        std::process::Command::new(u)
            .args([
                "-Ur",
                "sh",
                "-c",
                "echo 1 > /proc/sys/user/max_inotify_watches",
            ])
            .status()
            .ok()
            .filter(std::process::ExitStatus::success)
    });
    support::require(
        "unshare -Ur with a settable max_inotify_watches (a user namespace)",
        probe.is_some(),
    );
    let (Some(unshare), Some(_)) = (unshare, probe) else {
        return;
    };
    let dir = LogDir::new().policy(
        "sites:\n  a:\n    logs: [a/access.log]\n    rotate: { every: 1d, max_size: 1MiB }\n  b:\n    logs: [b/access.log]\n    rotate: { every: 1d, max_size: 8KiB }\n",
    );
    std::fs::create_dir(dir.path("a")).unwrap();
    std::fs::create_dir(dir.path("b")).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("logwarden");
    let script = String::from(
        "echo 1 > /proc/sys/user/max_inotify_watches || exit 9\n\
         \"$0\" --config \"$1\" watch 2> \"$2\" &\n\
         echo $! > \"$4\"\n\
         while [ ! -e \"$3\" ]; do sleep 0.05; done\n\
         echo 100 > /proc/sys/user/max_inotify_watches\n\
         wait\n",
    );
    let log = dir.path("watch.log");
    let child = std::process::Command::new(&unshare)
        .args(["-Ur", "sh", "-c", &script])
        .arg(&bin)
        .arg(dir.path("config.yaml"))
        .arg(&log)
        .arg(dir.path("lift"))
        .arg(dir.path("daemon.pid"))
        .env("TZ", "UTC")
        .env("RUST_LOG", "debug")
        .env_remove("LOGWARDEN_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .spawn()
        .unwrap();
    /// Stops the daemon, then reaps the wrapper, also when an assertion failed.
    struct Wrapped(std::process::Child, std::path::PathBuf);
    impl Drop for Wrapped {
        fn drop(&mut self) {
            if let Some(pid) = std::fs::read_to_string(&self.1)
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok())
            {
                let pid = nix::unistd::Pid::from_raw(pid);
                let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
                wait_until(10, || nix::sys::signal::kill(pid, None).is_err());
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let wrapped = Wrapped(child, dir.path("daemon.pid"));
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        wait_until(10, || read_log().contains("watching")),
        "{}",
        read_log()
    );
    assert_eq!(
        read_log().matches("cannot watch").count(),
        1,
        "{}",
        read_log()
    );

    // A busy neighbour: a look every second, each one finding the directory unwatched.
    let writer = Writer::start(dir.path("a/access.log"), 50);
    assert!(
        // Each look first watches the paused busy directory again.
        wait_until(15, || read_log().matches("/a: watched").count() >= 6),
        "{}",
        read_log()
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        read_log().matches("cannot watch").count(),
        1,
        "once per cause:\n{}",
        read_log()
    );

    // Over its size while unwatched, then the limit is lifted: watched and rotated at once
    // (well before the 5-minute rescan).
    append(&dir.path("b/access.log"), &recent_lines(100, 0));
    std::fs::write(dir.path("lift"), "").unwrap();
    let rotated = || {
        std::fs::read_dir(dir.path("b"))
            .unwrap()
            .filter_map(std::result::Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("access.log-"))
    };
    assert!(wait_until(30, rotated), "{}", read_log());
    assert!(read_log().contains("watched now"), "{}", read_log());
    assert!(
        !read_log().contains("debug: safety rescan"),
        "{}",
        read_log()
    );
    writer.finish();
    drop(wrapped);
    assert!(read_log().contains("stopped"), "{}", read_log());
}

/// A failure that lasts is met again at every rescan: logged once, then hourly with a
/// count, so the journal is not flooded; every pass still counts it (exit status and
/// metrics are not rate-limited).
#[test]
fn watch_logs_a_lasting_failure_once_not_at_every_rescan() {
    let policy = "sites:\n  a:\n    logs: [a/x.log]\n    create: { owner: no-such-user-lw }\n";
    let dir = LogDir::new()
        .policy(policy)
        .file("a/x.log", a_day_of_lines("2026-11-01"))
        .now("2026-11-03T00:00:00Z");
    let d = dir.watch(&["--rescan", "1s"], &[]);
    assert!(
        wait_until(20, || d.log().matches("1 failed").count() >= 3),
        "{}",
        d.log()
    );
    let log = d.log();
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("rotate a: ") && l.contains("no-such-user-lw"))
        .collect();
    assert_eq!(failures.len(), 1, "{log}");
    assert!(failures[0].contains("error"), "{log}");
}
