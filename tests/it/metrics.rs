//! The compliance metrics: what `check` and the passes write for Prometheus (ages of the
//! oldest record and full address, the limits, every rule), that the file parses as the
//! text format (the real `promtool`), and that the audit's file and the passes' never
//! replace each other.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, LogDir, a_day_of_lines, lines_between, t};

const POLICY: &str = "\
sites:
  main:
    logs: [logs/access.log]
    retention: 14d
    anonymize: { after: 1d }
  keep:
    logs: [keep/access.log]
    retention: 30d
    anonymize: false
  empty:
    logs: [empty/access.log]
";

/// At 2026-11-30T00:00Z: main's live log begins 18 hours ago, its archive 10 days ago with
/// every address full; keep's live log 5 days ago; empty has an empty live log.
fn fixture() -> LogDir {
    let (live, _) = lines_between(
        t("2026-11-29T06:00:00Z"),
        t("2026-11-29T12:00:00Z"),
        3600,
        0,
    );
    let dir = LogDir::new()
        .policy(POLICY)
        .file("logs/access.log", &live)
        .file(
            "logs/access.log-20261120-000000",
            a_day_of_lines("2026-11-20"),
        )
        .file("keep/access.log", a_day_of_lines("2026-11-25"))
        .file("empty/access.log", "")
        .now("2026-11-30T00:00:00Z");
    dir.chmod("", 0o700);
    dir
}

/// The value of one series (name with labels) in a metrics file.
fn value(text: &str, series: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(str::to_string)
}

fn assert_series(text: &str, want: &[(&str, &str)]) {
    for (series, v) in want {
        assert_eq!(
            value(text, series).as_deref(),
            Some(*v),
            "{series} in:\n{text}"
        );
    }
}

/// The real promtool's `check metrics`: the file parses as the text format, and its lint
/// finds nothing (units in names, no `_total` on gauges).
fn promtool_accepts(path: &Path) {
    let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if !support::require("promtool (apt-get install prometheus)", promtool.is_some()) {
        return;
    }
    let out = Command::new(promtool.unwrap())
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(path).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics {}:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_metrics_file_reports_ages_limits_and_every_rule_per_site() {
    let dir = fixture();
    let prom = dir.path("check.prom");
    let out = dir.run(["check", "--metrics-file", prom.to_str().unwrap()]);
    assert_eq!(out.code(), 1, "{}{}", out.stdout(), out.stderr());
    let text = std::fs::read_to_string(&prom).unwrap();
    assert_series(
        &text,
        &[
            ("logwarden_check_timestamp_seconds", "1795996800"),
            // 10 days, the archive's first record; its addresses are all full.
            (
                "logwarden_oldest_record_age_seconds{site=\"main\",source=\"check\"}",
                "864000",
            ),
            (
                "logwarden_oldest_full_ip_age_seconds{site=\"main\",source=\"check\"}",
                "864000",
            ),
            (
                "logwarden_retention_seconds{site=\"main\",source=\"check\"}",
                "1209600",
            ),
            (
                "logwarden_full_ip_window_seconds{site=\"main\",source=\"check\"}",
                "86400",
            ),
            (
                "logwarden_oldest_record_age_seconds{site=\"keep\",source=\"check\"}",
                "432000",
            ),
            // anonymize: false: no window to pass.
            (
                "logwarden_full_ip_window_seconds{site=\"keep\",source=\"check\"}",
                "+Inf",
            ),
            // No record at all: an explicit 0, not a missing series.
            (
                "logwarden_oldest_record_age_seconds{site=\"empty\",source=\"check\"}",
                "0",
            ),
            (
                "logwarden_oldest_full_ip_age_seconds{site=\"empty\",source=\"check\"}",
                "0",
            ),
            (
                "logwarden_check_violations{site=\"main\",rule=\"full-ip\"}",
                "1",
            ),
            (
                "logwarden_check_violations{site=\"main\",rule=\"retention\"}",
                "0",
            ),
            (
                "logwarden_check_violations{site=\"empty\",rule=\"missing\"}",
                "0",
            ),
        ],
    );
    // Every rule of every site, zeros included.
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("logwarden_check_violations{"))
            .count(),
        3 * 9,
        "{text}"
    );
    assert!(!text.contains("logwarden_last_pass"), "{text}");
    promtool_accepts(&prom);

    // With --grace the ages are as of the instant judged, so age > limit is a violation.
    dir.run([
        "check",
        "--grace",
        "1h",
        "--metrics-file",
        prom.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&prom).unwrap();
    assert_series(
        &text,
        &[
            ("logwarden_check_timestamp_seconds", "1795996800"),
            (
                "logwarden_oldest_record_age_seconds{site=\"main\",source=\"check\"}",
                "860400",
            ),
        ],
    );
}

#[test]
fn enforce_writes_the_age_gauges_from_the_headers() {
    let dir = fixture();
    let prom = dir.path("pass.prom");
    let out = dir.run(["enforce", "--metrics-file", prom.to_str().unwrap()]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let text = std::fs::read_to_string(&prom).unwrap();
    assert_series(
        &text,
        &[
            // The archive is masked now: the oldest full address is the live log's first.
            (
                "logwarden_oldest_record_age_seconds{site=\"main\",source=\"pass\"}",
                "864000",
            ),
            (
                "logwarden_oldest_full_ip_age_seconds{site=\"main\",source=\"pass\"}",
                "64800",
            ),
            (
                "logwarden_retention_seconds{site=\"main\",source=\"pass\"}",
                "1209600",
            ),
            (
                "logwarden_full_ip_window_seconds{site=\"main\",source=\"pass\"}",
                "86400",
            ),
            (
                "logwarden_oldest_record_age_seconds{site=\"keep\",source=\"pass\"}",
                "432000",
            ),
            (
                "logwarden_oldest_full_ip_age_seconds{site=\"keep\",source=\"pass\"}",
                "432000",
            ),
            (
                "logwarden_full_ip_window_seconds{site=\"keep\",source=\"pass\"}",
                "+Inf",
            ),
            (
                "logwarden_oldest_record_age_seconds{site=\"empty\",source=\"pass\"}",
                "0",
            ),
        ],
    );
    assert!(!text.contains("source=\"check\""), "{text}");
    promtool_accepts(&prom);

    // The audit agrees with the pass's headers.
    let check = dir.path("check.prom");
    let out = dir.run(["check", "--metrics-file", check.to_str().unwrap()]);
    assert_eq!(out.code(), 0, "{}{}", out.stdout(), out.stderr());
    let text = std::fs::read_to_string(&check).unwrap();
    assert_series(
        &text,
        &[(
            "logwarden_oldest_full_ip_age_seconds{site=\"main\",source=\"check\"}",
            "64800",
        )],
    );
}

/// The textfile collector serves every `*.prom` of its directory as one: the audit writing
/// over the passes' file (or the reverse) would wipe their series until the next write.
#[test]
fn the_audit_never_writes_over_the_passes_metrics_file() {
    let dir = fixture();
    let pass = dir.path("pass.prom");
    dir.run(["enforce", "--metrics-file", pass.to_str().unwrap()])
        .ok();
    let before = std::fs::read_to_string(&pass).unwrap();

    // Given the passes' file by flag alone: refused at the write, with a warning.
    let out = dir.run(["check", "--metrics-file", pass.to_str().unwrap()]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert!(
        out.stderr().contains("holds the metrics of the passes"),
        "{}",
        out.stderr()
    );
    assert_eq!(std::fs::read_to_string(&pass).unwrap(), before);

    // The passes do not write over the audit's file either.
    let check = dir.path("check.prom");
    dir.run(["check", "--metrics-file", check.to_str().unwrap()])
        .ok();
    let out = dir.run(["enforce", "--metrics-file", check.to_str().unwrap()]);
    assert!(
        out.stderr()
            .contains("holds the metrics of logwarden check"),
        "{}",
        out.stderr()
    );
    assert!(
        std::fs::read_to_string(&check)
            .unwrap()
            .contains("logwarden_check_timestamp_seconds")
    );

    // With `metrics_file:` in the policy, check writes its own file beside it, and naming
    // the policy's file is a usage error (exit 2) before anything is read.
    std::fs::write(
        dir.path("config.yaml"),
        format!("metrics_file: textfile/logwarden.prom\n{POLICY}"),
    )
    .unwrap();
    std::fs::create_dir(dir.path("textfile")).unwrap();
    dir.run(["enforce"]).ok();
    let out = dir.run(["check"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert_eq!(
        dir.names("textfile"),
        ["logwarden-check.prom", "logwarden.prom"]
    );
    let own = std::fs::read_to_string(dir.path("textfile/logwarden-check.prom")).unwrap();
    assert!(own.contains("logwarden_check_timestamp_seconds"), "{own}");
    let out = dir.run([
        "check",
        "--metrics-file",
        dir.path("textfile/./logwarden.prom").to_str().unwrap(),
    ]);
    assert_eq!(out.code(), 2, "{}", out.stderr());
    assert!(
        out.stderr().contains("that is the passes' metrics file")
            && out.stderr().contains("logwarden-check.prom"),
        "{}",
        out.stderr()
    );
    // The option is the three commands' own.
    let out = dir.run(["validate", "--metrics-file", "x.prom"]);
    assert_eq!(out.code(), 2, "{}", out.stderr());
}

/// A pass reads, plans and acts on its sites a group at a time, to bound its memory: every
/// site of a policy larger than one group is still acted on and described in the metrics.
#[test]
fn a_pass_over_more_sites_than_it_reads_at_once_keeps_every_sites_promise() {
    const SITES: usize = 70;
    let mut policy = String::from("sites:\n");
    let mut dir = LogDir::new();
    for n in 0..SITES {
        policy.push_str(&format!(
            "  s{n:02}:\n    logs: [s{n:02}/access.log]\n    retention: 7d\n    anonymize: {{ after: 1d }}\n"
        ));
        dir = dir
            .file(&format!("s{n:02}/access.log"), a_day_of_lines("2026-11-28"))
            .file(
                &format!("s{n:02}/access.log-20261120-000000"),
                a_day_of_lines("2026-11-20"),
            );
    }
    let dir = dir.policy(&policy).now("2026-11-30T00:00:00Z");
    dir.chmod("", 0o700);
    let prom = dir.path("pass.prom");
    let out = dir.run(["enforce", "--metrics-file", prom.to_str().unwrap()]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let text = std::fs::read_to_string(&prom).unwrap();
    for n in 0..SITES {
        let site = format!("s{n:02}");
        let names = dir.names(&site);
        assert!(
            !names.iter().any(|f| f.contains("20261120")),
            "{site}: the expired archive is still there: {names:?}"
        );
        assert!(
            names
                .iter()
                .any(|f| f.starts_with("access.log-") && f.ends_with(".gz")),
            "{site}: the live log was not rotated: {names:?}"
        );
        assert_series(
            &text,
            &[(&format!("logwarden_archives{{site=\"{site}\"}}"), "1")],
        );
        support::assert_no_full_address(&String::from_utf8_lossy(&support::read_any(&dir.path(
            &format!(
                "{site}/{}",
                names.iter().find(|f| f.ends_with(".gz")).unwrap()
            ),
        ))));
    }
    promtool_accepts(&prom);
}
