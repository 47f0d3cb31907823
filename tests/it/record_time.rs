//! The record-time contract (DESIGN.md, "Record time" and guarantee 7) on bytes as nginx and
//! Apache write them: a stamp is read only where the format puts it, every record counts,
//! an unknown time fails safe, an interrupted rotation is finished, and a promise left
//! unkept is an error and exit 1. Each test is named after the rule it protects.

use jiff::{SignedDuration, Timestamp};

use crate::support::*;

const DAY: SignedDuration = SignedDuration::from_hours(24);

/// An nginx `combined` line. nginx writes `"` and every byte outside printable ASCII in a
/// variable as `\xHH`; `user` is `$remote_user`, whatever a client put in Basic auth.
fn nginx_line(ip: &str, user: &str, at: Timestamp, id: u64, ua: &str) -> String {
    format!(
        "{ip} - {user} [{}] \"GET /page/{id}?ref=203.0.113.7 HTTP/1.1\" 200 12 \"-\" \"{ua}\"\n",
        at.strftime("%d/%b/%Y:%H:%M:%S +0000")
    )
}

fn hourly(from: Timestamp, hours: i64, first: u64, user: &str, ua: &str) -> String {
    (0..hours)
        .map(|h| {
            let id = first + h as u64;
            nginx_line(
                &client(id),
                user,
                from + SignedDuration::from_hours(h),
                id,
                ua,
            )
        })
        .collect()
}

/// Request ids in every file under `logs`, with the file each is in.
fn ids(dir: &LogDir) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for (name, bytes) in dir.contents("logs") {
        for line in String::from_utf8_lossy(&bytes).lines() {
            if let Some(id) = line
                .split("/page/")
                .nth(1)
                .and_then(|r| r.split('?').next())
                .and_then(|i| i.parse().ok())
            {
                out.push((id, name.clone()));
            }
        }
    }
    out.sort();
    out
}

/// Daily rotation, 14 days of records, 7 days of full addresses.
const POLICY: &str = DAILY_14D_7D;

#[test]
fn a_user_name_cannot_set_a_record_time_far_ahead_or_in_the_past() {
    let now = t("2026-11-30T12:00:00Z");
    // Fresh records whose user names carry stamps: one far in the future (it made every
    // pass panic in deadline arithmetic) and one long past (it got fresh records deleted).
    let text = format!(
        "{}{}",
        hourly(now - DAY, 6, 0, "[30/Dec/9999:20:00:00 +0000]", "curl/8"),
        hourly(
            now - DAY + SignedDuration::from_hours(6),
            6,
            6,
            "x\\x22 [01/Jan/2020:00:00:00 +0000]",
            "curl/8"
        )
    );
    let dir = LogDir::new()
        .policy(POLICY)
        .file("logs/access.log", &text)
        .file("logs/access.log.1", &text)
        .now("2026-11-30T12:00:00Z");
    dir.chmod("", 0o700);
    let out = dir.run(["enforce"]).ok();
    assert!(!out.stderr().contains("panicked"), "{}", out.stderr());
    let kept = ids(&dir);
    assert_eq!(kept.len(), 24, "{kept:?}\n{}", out.stderr());
    dir.run(["check"]).ok();
    // Weeks later everything goes by its real time, nothing stays by a forged one.
    let mut dir = dir;
    dir.set_now("2026-12-16T00:00:00Z");
    dir.run(["enforce"]).ok();
    assert_eq!(ids(&dir), []);
}

#[test]
fn a_long_line_at_the_head_does_not_stop_rotation_by_age() {
    // One request with a non-ASCII URI, User-Agent and Referer is a 76 KB line in nginx's
    // escaping; the old 64 KiB head sample found no stamp and the file never rotated again.
    let ua = "\\xC3\\xA9".repeat(9500);
    let now = t("2026-11-30T00:00:00Z");
    let start = now - SignedDuration::from_hours(29 * 24);
    let mut text = nginx_line("203.0.113.195", "-", start, 0, &ua);
    assert!(text.len() > 76_000);
    text.push_str(&hourly(
        start + SignedDuration::from_hours(1),
        29 * 24 - 1,
        1,
        "-",
        "curl/8",
    ));
    let dir = LogDir::new()
        .policy(POLICY)
        .file("logs/access.log", &text)
        .now("2026-11-30T00:00:00Z");
    dir.chmod("", 0o700);
    dir.run(["enforce"]).ok();
    assert!(
        dir.names("logs")
            .iter()
            .any(|n| n.starts_with("access.log-"))
    );
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 0, "{}", check.stdout());
}

#[test]
fn an_archive_is_deleted_whole_only_when_every_record_is_past_retention() {
    let now = t("2026-11-30T00:00:00Z");
    // Records from 20 days ago to 2 days ago, the last one a long line; then a record
    // out of order (Apache's %t is the request start; a clock stepped back).
    let ua = "\\xE2\\x82\\xAC".repeat(8000);
    let old = hourly(now - 20 * DAY, 24, 0, "-", "curl/8");
    let recent = nginx_line("198.51.100.7", "-", now - 2 * DAY, 100, &ua);
    let stepped = hourly(now - 19 * DAY, 24, 200, "-", "curl/8");
    let dir = LogDir::new()
        .policy(POLICY)
        .file("logs/access.log", "")
        .file("logs/access.log.1", format!("{old}{recent}{stepped}"))
        .now("2026-11-30T00:00:00Z");
    dir.chmod("", 0o700);
    dir.run(["enforce"]).ok();
    assert_eq!(
        ids(&dir).iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        [100]
    );
    dir.run(["check"]).ok();
}

#[test]
fn out_of_order_records_are_masked_one_by_one() {
    let now = t("2026-11-30T00:00:00Z");
    // A young head, an old tail: the old records must be masked by their own time.
    let young = hourly(now - 2 * DAY, 2, 0, "-", "curl/8");
    let old = hourly(now - 10 * DAY, 2, 10, "-", "curl/8");
    let dir = LogDir::new()
        .policy(POLICY)
        .file("logs/access.log", "")
        .file("logs/access.log.1", format!("{young}{old}"))
        .now("2026-11-30T00:00:00Z");
    dir.chmod("", 0o700);
    assert_eq!(dir.run(["check"]).code(), 1);
    dir.run(["enforce"]).ok();
    dir.run(["check"]).ok();
}

#[test]
fn undated_records_make_check_and_enforce_fail_never_compliant() {
    // HAProxy's stamp has no zone: with `format: auto` these lines cannot be dated.
    let text = "Nov 30 10:00:00 lb haproxy[1]: 203.0.113.195:51234 [30/Nov/2026:10:00:00.123] fe be/s1 0/0/0/1/1 200 12 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n"
        .repeat(3);
    // The file system's birth time says when the file was made; the clock is set from the
    // real one so that it has come and gone.
    let real = Timestamp::now();
    let mut dir = LogDir::new().policy(POLICY).file("logs/access.log", &text);
    dir.set_now(&real.to_string());
    dir.chmod("", 0o700);
    let check = dir.run(["check", "--format", "json"]);
    assert_eq!(check.code(), 1, "{}", check.stdout());
    let report: serde_json::Value = serde_json::from_str(&check.stdout()).unwrap();
    let v = &report["violations"][0];
    assert_eq!(v["rule"], "undated");
    assert_eq!(v["evidence"]["records"], 3);
    assert_eq!(v["evidence"]["first_line"], 1);
    assert!(!check.stdout().contains("203.0.113.195"));
    // enforce warns and exits 1 (a file it cannot date is a promise it cannot prove), and
    // rotates the file on rotate.every counted from its creation, so the lines get a
    // rotation time to expire by; the archive is masked whole at once.
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("no line carries a readable time")
            && out
                .stderr()
                .contains("1 file(s) hold records it cannot date"),
        "{}",
        out.stderr()
    );
    dir.set_now(&(real + 2 * DAY).to_string());
    assert_eq!(dir.run(["enforce"]).code(), 1);
    let archives: Vec<_> = dir
        .names("logs")
        .into_iter()
        .filter(|n| n.starts_with("access.log-"))
        .collect();
    assert_eq!(archives.len(), 1, "{:?}", dir.names("logs"));
    let bytes = read_any(&dir.path(&format!("logs/{}", archives[0])));
    let masked = String::from_utf8(bytes).unwrap();
    assert!(masked.contains("203.0.113.0:51234"), "{masked}");
    assert!(!masked.contains("203.0.113.195"), "{masked}");
    // Undated archives expire by their rotation time.
    dir.set_now(&(real + 17 * DAY).to_string());
    dir.run(["enforce"]).ok();
    assert!(
        !dir.names("logs")
            .iter()
            .any(|n| n.starts_with("access.log-")),
        "{:?}",
        dir.names("logs")
    );
}

#[test]
fn json_epoch_stamps_date_records_for_expiry() {
    // nginx `$msec` and Caddy's `ts` are epoch seconds with a fraction.
    let now = t("2026-11-30T00:00:00Z");
    let line = |at: Timestamp, id: u64| {
        format!(
            "{{\"msec\":\"{}.123\",\"remote_addr\":\"{}\",\"request\":\"GET /page/{id}?x HTTP/1.1\"}}\n",
            at.as_second(),
            client(id)
        )
    };
    let text: String = (0..30).map(|d| line(now - DAY * d, d as u64)).collect();
    let dir = LogDir::new()
        .policy(POLICY)
        .file("logs/access.log", "")
        .file("logs/access.log.1", &text)
        .now("2026-11-30T00:00:00Z");
    dir.chmod("", 0o700);
    assert_eq!(dir.run(["check"]).code(), 1);
    dir.run(["enforce"]).ok();
    let kept: Vec<u64> = ids(&dir).into_iter().map(|(id, _)| id).collect();
    assert_eq!(kept, (0..=14).collect::<Vec<_>>());
    dir.run(["check"]).ok();
}

#[test]
fn a_writer_that_keeps_its_rotated_log_makes_the_next_pass_fail_and_get_the_reopen_again() {
    let text = a_day_of_lines("2026-11-01");
    let mut dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    anonymize: { after: 0s }\n    reopen: { signal: USR1, pidfile: server.pid }\n")
        .file("logs/access.log", &text)
        .now("2026-11-03T00:00:00Z");
    // The stand-in holds the log and never reopens it, as nginx's workers do when they
    // cannot search the log directory.
    let _server = FakeServer::start(&dir, "logs/access.log");
    // The pass that rotates waits for the writer briefly; still held, that is no failure yet.
    dir.run(["enforce"]).ok();
    let marker = dir.path("marker");
    let signals = || {
        std::fs::read_to_string(&marker)
            .unwrap()
            .matches("reopened")
            .count()
    };
    assert_eq!(signals(), 1);
    dir.set_now("2026-11-03T01:00:00Z");
    let out = dir.run(["enforce", "-q"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(out.stderr().contains("error:"), "{}", out.stderr());
    assert!(
        out.stderr().contains("access.log-20261103-000000"),
        "{}",
        out.stderr()
    );
    assert_eq!(signals(), 2, "the reopen is sent again, once per pass");
}

#[test]
fn an_interrupted_rotation_is_finished_and_the_writer_told() {
    let text = a_day_of_lines("2026-11-01");
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    reopen: { signal: USR1, pidfile: server.pid }\n")
        .file("logs/access.log", &text)
        .now("2026-11-03T00:00:00Z");
    let server = FakeServer::start(&dir, "logs/access.log");
    let killed = dir
        .command(["enforce"])
        .env("LOGWARDEN_FAILPOINT", "rotate.renamed")
        .output()
        .unwrap();
    assert!(!killed.status.success());
    assert!(
        std::fs::read_to_string(dir.path("marker"))
            .unwrap()
            .matches("reopened")
            .count()
            == 0
    );
    dir.run(["enforce"]);
    assert!(dir.path("logs/access.log").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path("marker"))
            .unwrap()
            .matches("reopened")
            .count(),
        1,
        "the next pass sends the reopen the killed one never sent"
    );
    drop(server);
    dir.run(["enforce"]).ok();
    assert_eq!(ids(&dir).len(), 24);
}

#[test]
fn a_gzip_archive_with_trailing_zero_padding_is_read_and_expires() {
    use std::io::Write;
    let now = t("2026-11-30T00:00:00Z");
    let gz = |text: &str| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        let mut b = e.finish().unwrap();
        b.extend(std::iter::repeat_n(0u8, 8192));
        b
    };
    let dir = LogDir::new()
        .policy(POLICY)
        .file("logs/access.log", "")
        .file(
            "logs/access.log.2.gz",
            gz(&hourly(now - 30 * DAY, 24, 0, "-", "x")),
        )
        .file(
            "logs/access.log.1.gz",
            gz(&hourly(now - 10 * DAY, 24, 100, "-", "x")),
        )
        .now("2026-11-30T00:00:00Z");
    dir.chmod("", 0o700);
    dir.run(["enforce"]).ok();
    assert_eq!(dir.names("logs"), ["access.log", "access.log.1.gz"]);
    dir.run(["check"]).ok();
}
