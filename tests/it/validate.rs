//! Policy mistakes that used to validate: each is refused (exit 2, naming file, line and
//! key) or, where the host may legitimately differ, warned about; `check` never calls a
//! pattern it could not judge compliant.

use crate::support::*;

const ONE_DAY: &str =
    "127.0.0.1 - - [28/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\n";

#[track_caller]
fn assert_refused(dir: &LogDir, needles: &[&str]) {
    let before = dir.snapshot();
    for cmd in ["validate", "enforce", "check"] {
        let out = dir.run([cmd]);
        assert_eq!(out.code(), 2, "{cmd}: {}", out.stderr());
        for n in needles {
            assert!(
                out.stderr().contains(n),
                "{cmd}: wanted {n:?} in\n{}",
                out.stderr()
            );
        }
    }
    assert_eq!(dir.snapshot(), before, "a refused policy changes nothing");
}

#[test]
fn duplicate_site_names_are_refused_at_the_second_definition() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [a/access.log]\n  main:\n    logs: [b/access.log]\n")
        .file("a/access.log", ONE_DAY)
        .file("b/access.log", ONE_DAY)
        .now("2026-11-30T12:00:00Z");
    // Line 5: `lock_file:` is prepended by the builder.
    assert_refused(
        &dir,
        &["config.yaml:5:3: sites.main: site name \"main\" is defined twice (first at line 3)"],
    );
}

#[test]
fn one_file_covered_by_two_sites_is_refused_however_the_path_is_written() {
    for (a, b) in [
        ("logs/*.log", "logs/access.log"),
        ("logs/access.log", "logs//./access.log"),
    ] {
        let dir = LogDir::new()
            .policy(&format!(
                "sites:\n  main:\n    logs: [\"{a}\"]\n  other:\n    logs: [\"{b}\"]\n"
            ))
            .file("logs/access.log", ONE_DAY)
            .now("2026-11-30T12:00:00Z");
        assert_refused(
            &dir,
            &[
                "config.yaml:6:",
                "sites.other.logs.0: ",
                "can match the same file",
                "already a log of site main",
            ],
        );
    }
}

/// The README's layout: two sites whose logs are both `access.log`, `archive_dir` in
/// `defaults:`. Both rotations would pick one archive name; refused before any rename.
#[test]
fn two_sites_never_write_the_same_archive_name_into_one_archive_dir() {
    let dir = LogDir::new()
        .policy(
            "defaults:\n  archive_dir: archives\nsites:\n  main:\n    logs: [main/access.log]\n  appman:\n    logs: [appman/access.log]\n",
        )
        .file("main/access.log", ONE_DAY)
        .file("appman/access.log", ONE_DAY)
        .file("archives/.keep", "")
        .now("2026-11-30T12:00:00Z");
    assert_refused(
        &dir,
        &[
            "sites.main.logs.0: ",
            "would both put archives named",
            "site appman",
        ],
    );
}

#[test]
fn a_pattern_matching_no_file_is_warned_by_validate_and_enforce_and_missing_in_check() {
    let policy = "sites:\n  main:\n    logs: [logs/access.log, logs/acces.log, \"gone/*.log\"]\n";
    let dir = LogDir::new()
        .policy(policy)
        .file("logs/access.log", ONE_DAY)
        .now("2026-11-30T12:00:00Z");
    for cmd in ["validate", "enforce"] {
        let out = dir.run([cmd]);
        assert_eq!(out.code(), 0, "{cmd}: {}", out.stderr());
        let err = out.stderr();
        assert!(
            err.contains("config.yaml:4:")
                && err.contains("sites.main.logs.1: ")
                && err.contains("acces.log matches no file"),
            "{cmd}: {err}"
        );
        assert!(
            err.contains("sites.main.logs.2: ") && err.contains("gone does not exist"),
            "{cmd}: {err}"
        );
        assert!(!err.contains("sites.main.logs.0"), "{cmd}: {err}");
    }
    // Only the missing patterns are at fault here.
    dir.chmod("", 0o700);
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 1, "{}", check.stdout());
    let text = check.stdout();
    assert_eq!(text.matches("  missing: ").count(), 2, "{text}");
    assert!(
        text.contains("acces.log") && text.contains("gone/*.log"),
        "{text}"
    );
    assert!(!text.contains(": compliant"), "{text}");
    let json = dir.run(["check", "--format", "json"]);
    assert!(
        json.stdout().contains("\"rule\": \"missing\""),
        "{}",
        json.stdout()
    );

    let dir = LogDir::new()
        .policy(&format!("{policy}    missing_ok: true\n"))
        .file("logs/access.log", ONE_DAY)
        .now("2026-11-30T12:00:00Z");
    dir.chmod("", 0o700);
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 0, "{}\n{}", check.stdout(), check.stderr());
}

/// The packaged policy on a host without those logs says which patterns match nothing.
#[test]
fn validate_names_each_pattern_of_the_packaged_policy_that_matches_nothing() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.yaml");
    let dir = LogDir::new();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("logwarden"))
        .arg("--config")
        .arg(&example)
        .arg("validate")
        .current_dir(dir.tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    for (key, path) in [
        ("sites.main.logs.0", "/var/log/nginx/main/access.log"),
        ("sites.main.logs.1", "/var/log/nginx/main/error.log"),
        ("sites.appman.logs.0", "/var/log/nginx/appman/*.log"),
    ] {
        if !std::path::Path::new(path).parent().unwrap().exists() {
            assert!(
                err.contains(&format!("{key}: {path} matches no file")),
                "{err}"
            );
        }
    }
}

/// The real servers' logs (tests/fixtures/real) under a wrong `format:` get a warning that
/// names the file and the format that dates them; under the right one, none.
#[test]
fn validate_names_the_format_that_dates_a_logs_lines() {
    let real = |name: &str| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/real")
                .join(name),
        )
        .unwrap()
    };
    let dir = LogDir::new()
        .policy(
            "sites:\n  main:\n    logs:\n      - { path: l/haproxy.log, format: clf }\n      - { path: l/access.json, format: clf }\n      - { path: l/error.log, format: apache-error }\n      - l/access.log\n  fine:\n    logs:\n      - { path: m/haproxy.log, format: haproxy }\n      - { path: m/access.json, format: json }\n      - { path: m/error.log, format: nginx-error }\n      - { path: m/access.log, format: clf }\n",
        )
        .file("l/haproxy.log", real("haproxy.log"))
        .file("l/access.json", real("nginx-access.json"))
        .file("l/error.log", real("nginx-error.log"))
        .file("l/access.log", real("nginx-access.log"))
        .file("m/haproxy.log", real("haproxy.log"))
        .file("m/access.json", real("nginx-access.json"))
        .file("m/error.log", real("nginx-error.log"))
        .file("m/access.log", real("nginx-access.log"))
        .now("2026-11-30T23:00:00Z");
    let out = dir.run(["validate"]).ok();
    let err = out.stderr();
    for (key, file, suggestion) in [
        (
            "sites.main.logs.0",
            "haproxy.log",
            "is it `format: haproxy`",
        ),
        ("sites.main.logs.1", "access.json", "is it `format: json`"),
        (
            "sites.main.logs.2",
            "error.log",
            "is it `format: nginx-error`",
        ),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(&format!("{key}: ")) && l.contains(file))
            .unwrap_or_else(|| panic!("no warning for {key} in\n{err}"));
        assert!(
            line.contains("0 of ") && line.contains(suggestion),
            "{line}"
        );
    }
    assert!(!err.contains("sites.main.logs.3"), "{err}");
    assert!(!err.contains("sites.fine."), "{err}");
    // Only `validate` reads the logs' heads; a pass does not repeat the warning.
    let pass = dir.run(["enforce", "--dry-run"]);
    assert!(
        !pass.stderr().contains("sampled lines"),
        "{}",
        pass.stderr()
    );
}
