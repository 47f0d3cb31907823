//! `status`: what is on disk and when the next thing is due, read-only, with `--now`
//! simulating the days.

use crate::support::*;

/// DAILY_14D_7D with the passes' metrics file.
fn policy() -> String {
    format!("metrics_file: metrics/logwarden.prom\n{DAILY_14D_7D}")
}

/// A site as a daily timer leaves it: the lines of 2026-11-20 … 28, each day rotated at the
/// next midnight by a real pass, and the first hours of the 29th in the live log.
fn nine_days_of_passes() -> LogDir {
    let mut dir = LogDir::new().policy(&policy());
    std::fs::create_dir(dir.path("metrics")).unwrap();
    for day in 20..=28 {
        append(
            &dir.path("logs/access.log"),
            &a_day_of_lines(&format!("2026-11-{day}")),
        );
        dir.set_now(&format!("2026-11-{}T00:00:00Z", day + 1));
        let metrics = dir.path("metrics/logwarden.prom");
        dir.run(["enforce", "--metrics-file", metrics.to_str().unwrap()])
            .ok();
    }
    append(
        &dir.path("logs/access.log"),
        &a_day_of_lines("2026-11-29")
            .lines()
            .take(6)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    dir
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout()))
}

#[test]
fn a_fresh_site_shows_its_live_log_and_the_first_rotation() {
    let dir = LogDir::new()
        .policy(DAILY_14D_7D)
        .file("logs/access.log", a_day_of_lines("2026-11-30"))
        .now("2026-11-30T23:30:00Z");
    let before = dir.snapshot();
    let out = dir.run(["status"]).ok().stdout();
    assert!(out.starts_with("site main: ok\n"), "{out}");
    assert!(out.contains("  live logs:       1 file, "), "{out}");
    assert!(
        out.contains("  archives:        0 files, 0 bytes\n"),
        "{out}"
    );
    assert!(
        out.contains("  oldest record:   2026-11-30T00:00:00Z (23 hours old; retention 14 days): "),
        "{out}"
    );
    assert!(
        out.contains("  next rotate:     2026-12-01T00:00:00Z (in 30 minutes): "),
        "{out}"
    );
    assert!(
        out.contains("its oldest record (2026-11-30T00:00:00Z) reaches rotate.every (1 day)"),
        "{out}"
    );
    assert!(out.contains("  next mask:       none by time\n"), "{out}");
    assert!(out.contains("  next expire:     none by time\n"), "{out}");
    assert!(
        out.contains("  last pass:       unknown (no metrics_file: in the policy"),
        "{out}"
    );
    assert!(!out.to_lowercase().contains("overdue"), "{out}");
    assert_eq!(dir.snapshot(), before, "status writes nothing");
    assert!(!dir.path("logwarden.lock").exists(), "status takes no lock");
}

#[test]
fn archives_of_various_ages_give_the_next_masking_and_expiry_and_the_last_pass() {
    let mut dir = nine_days_of_passes();
    dir.set_now("2026-11-29T06:00:00Z");
    let before = dir.snapshot();
    let out = dir.run(["status"]).ok().stdout();
    assert!(out.starts_with("site main: ok\n"), "{out}");
    assert!(out.contains("  archives:        9 files, "), "{out}");
    assert!(
        out.contains("  oldest record:   2026-11-20T00:00:00Z (9 days old; retention 14 days): "),
        "{out}"
    );
    // The pass at midnight masked what the window reached, a day ahead: the first archive
    // still holding full addresses is that of the 23rd.
    assert!(
        out.contains("  oldest full IP:  2026-11-23T00:00:00Z (6 days old; window 7 days): "),
        "{out}"
    );
    assert!(
        out.contains("  next mask:       2026-11-30T00:00:00Z (in 18 hours): "),
        "{out}"
    );
    assert!(out.contains("access.log-20261124-000000.gz: its records from 2026-11-23T00:00:00Z reach anonymize.after (7 days)"), "{out}");
    assert!(
        out.contains("  next expire:     2026-12-04T00:00:01Z (in 4 days): "),
        "{out}"
    );
    assert!(
        out.contains("access.log-20261121-000000.gz: its oldest record (2026-11-20T00:00:00Z) passes retention (14 days): trimmed"),
        "{out}"
    );
    assert!(
        out.contains("  next rotate:     2026-11-30T00:00:00Z (in 18 hours): "),
        "{out}"
    );
    assert!(
        out.contains("  last pass:       2026-11-29T00:00:00Z (6 hours ago): ok; 0 failed, 0 unkept, 0 deferred\n"),
        "{out}"
    );
    assert_eq!(dir.snapshot(), before, "status writes nothing");

    // The dry run says the same next deadline.
    let dry = dir.run(["enforce", "--dry-run"]).ok().stdout();
    assert_eq!(
        dry,
        "nothing is due; next: rotate main/access.log at 2026-11-30T00:00:00Z (in 18 hours): its oldest record (2026-11-29T00:00:00Z) reaches rotate.every (1 day)\n"
    );
}

#[test]
fn an_overdue_site_never_looks_green() {
    let mut dir = nine_days_of_passes();
    // A week without a pass: records past retention, full addresses past the window, a
    // rotation a week late. Status reports it (exit 0: it is not `check`).
    dir.set_now("2026-12-06T00:00:00Z");
    let out = dir.run(["status"]).ok().stdout();
    assert!(
        out.starts_with("site main: OVERDUE: a promise is not kept right now\n"),
        "{out}"
    );
    assert!(
        out.contains("  oldest record:   2026-11-20T00:00:00Z (16 days old; retention 14 days) PAST THE LIMIT: "),
        "{out}"
    );
    assert!(
        out.contains("  next rotate:     overdue since 2026-11-30T00:00:00Z (6 days ago): "),
        "{out}"
    );
    assert!(
        out.contains(
            "  next expire:     overdue since 2026-12-04T00:00:01Z (1 day 23 hours ago): "
        ),
        "{out}"
    );
    assert!(
        out.contains("  next mask:       overdue since 2026-11-30T00:00:00Z"),
        "{out}"
    );
    assert!(out.contains("  due now:         "), "{out}");
    let j = json(&dir.run(["status", "--format", "json"]).ok());
    let site = &j["sites"][0];
    assert_eq!(site["state"], "overdue");
    assert_eq!(site["next"]["expire"]["overdue"], true);
    assert!(site["next"]["expire"]["in_seconds"].as_i64().unwrap() < 0);
    assert_eq!(site["oldest_record"]["past_limit"], true);
    assert_eq!(site["oldest_full_ip"]["past_limit"], true);

    // A pass puts it right, and status says so.
    dir.run(["enforce"]).ok();
    let out = dir.run(["status"]).ok().stdout();
    assert!(out.starts_with("site main: ok\n"), "{out}");
    assert!(!out.contains("overdue"), "{out}");
}

const TWO_SITES: &str = "\
sites:
  main:
    logs: [logs/access.log]
  other:
    logs: [other/access.log]
    retention: 30d
    anonymize: false
";

#[test]
fn site_filter_shows_only_the_sites_asked_and_an_unknown_one_is_a_usage_error() {
    let dir = LogDir::new()
        .policy(TWO_SITES)
        .file("logs/access.log", a_day_of_lines("2026-11-30"))
        .file("other/access.log", a_day_of_lines("2026-11-30"))
        .now("2026-11-30T23:30:00Z");
    let all = dir.run(["status"]).ok().stdout();
    assert!(
        all.contains("site main: ok\n") && all.contains("site other: ok\n"),
        "{all}"
    );
    let other = dir.run(["status", "--site", "other"]).ok().stdout();
    assert!(other.starts_with("site other: ok\n"), "{other}");
    assert!(!other.contains("site main"), "{other}");
    assert!(
        other.contains("  oldest full IP:  not truncated (anonymize: false)\n"),
        "{other}"
    );
    let unknown = dir.run(["status", "--site", "nope"]);
    assert_eq!(unknown.code(), 2, "{}", unknown.stderr());
    assert!(
        unknown.stderr().contains("no site named \"nope\""),
        "{}",
        unknown.stderr()
    );
    assert!(unknown.stdout().is_empty());
}

#[test]
fn a_policy_error_is_exit_2() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    retention: soon\n")
        .now("2026-11-30T23:30:00Z");
    let run = dir.run(["status"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("sites.main.retention"),
        "{}",
        run.stderr()
    );
}

#[test]
fn json_has_one_object_per_site_in_the_documented_shape() {
    let mut dir = nine_days_of_passes();
    dir.set_now("2026-11-29T06:00:00Z");
    let j = json(&dir.run(["status", "--format", "json"]).ok());
    assert_eq!(j["now"], "2026-11-29T06:00:00Z");
    let sites = j["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 1);
    let s = &sites[0];
    let mut keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "archives",
            "due_now",
            "full_ip_window_seconds",
            "last_pass",
            "live",
            "next",
            "oldest_full_ip",
            "oldest_record",
            "problems",
            "retention_seconds",
            "site",
            "state"
        ]
    );
    assert_eq!(s["site"], "main");
    assert_eq!(s["state"], "ok");
    assert_eq!(s["retention_seconds"], 14 * 86_400);
    assert_eq!(s["full_ip_window_seconds"], 7 * 86_400);
    assert_eq!(s["archives"]["files"], 9);
    assert_eq!(s["live"]["files"], 1);
    assert_eq!(s["oldest_record"]["at"], "2026-11-20T00:00:00Z");
    assert_eq!(s["oldest_record"]["age_seconds"], 9 * 86_400 + 6 * 3600);
    assert_eq!(s["oldest_record"]["past_limit"], false);
    assert_eq!(s["oldest_full_ip"]["at"], "2026-11-23T00:00:00Z");
    let mask = &s["next"]["mask"];
    assert_eq!(mask["at"], "2026-11-30T00:00:00Z");
    assert_eq!(mask["in_seconds"], 18 * 3600);
    assert_eq!(mask["overdue"], false);
    assert!(
        mask["path"]
            .as_str()
            .unwrap()
            .ends_with("access.log-20261124-000000.gz")
    );
    assert!(mask["why"].as_str().unwrap().contains("anonymize.after"));
    assert_eq!(s["next"]["rotate"]["at"], "2026-11-30T00:00:00Z");
    assert_eq!(s["next"]["expire"]["at"], "2026-12-04T00:00:01Z");
    assert_eq!(s["due_now"], 0);
    assert_eq!(s["problems"], serde_json::json!([]));
    let last = &s["last_pass"];
    assert_eq!(last["outcome"], "ok");
    assert_eq!(last["at"], "2026-11-29T00:00:00Z");
    assert_eq!(last["included"], true);
    assert_eq!(
        (&last["failed"], &last["unkept"], &last["deferred"]),
        (
            &serde_json::json!(0),
            &serde_json::json!(0),
            &serde_json::json!(0)
        )
    );
    assert_eq!(last["last_success"], "2026-11-29T00:00:00Z");
}

#[test]
fn an_unreadable_metrics_file_makes_the_last_pass_unknown_with_why() {
    let dir = LogDir::new()
        .policy(&policy())
        .file("logs/access.log", a_day_of_lines("2026-11-30"))
        .now("2026-11-30T23:30:00Z");
    let out = dir.run(["status"]).ok().stdout();
    assert!(
        out.contains("  last pass:       unknown (")
            && out.contains("metrics/logwarden.prom: cannot read the metrics file: "),
        "{out}"
    );
    let j = json(&dir.run(["status", "--format", "json"]).ok());
    assert_eq!(j["sites"][0]["last_pass"]["outcome"], "unknown");
    assert!(
        j["sites"][0]["last_pass"]["why"]
            .as_str()
            .unwrap()
            .contains("cannot read")
    );
}

/// Records the format cannot date are kept safe but cannot be judged: `status` never calls
/// such a site ok, and names the file and the format.
#[test]
fn undated_records_make_the_site_a_problem_never_ok() {
    // HAProxy's stamp behind a syslog header: `format: auto` dates none of these lines.
    let text = "Nov 30 10:00:00 lb haproxy[1]: 203.0.113.195:51234 [30/Nov/2026:10:00:00.123] fe be/s1 0/0/0/1/1 200 12 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n"
        .repeat(3);
    let dir = LogDir::new()
        .policy("sites:\n  lb:\n    logs: [logs/access.log]\n")
        .file("logs/access.log", &text);
    // The real clock: the file's birth time says when it was made, and rotation counts from
    // it, so nothing is overdue yet.
    let out = dir.run(["status"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert!(
        out.stdout().starts_with("site lb: PROBLEM"),
        "{}",
        out.stdout()
    );
    assert!(
        out.stdout()
            .contains("records without a time `format: auto` reads"),
        "{}",
        out.stdout()
    );
    let v = json(&dir.run(["status", "--format", "json"]));
    assert_eq!(v["sites"][0]["state"], "problem", "{v}");
    assert!(
        v["sites"][0]["problems"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("logs/access.log"),
        "{v}"
    );
}
