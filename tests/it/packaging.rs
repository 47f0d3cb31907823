//! The packaging's promises: the generated man page covers every command, the logrotate
//! stanza works with the real logrotate, and `--metrics-file` writes the textfile.

#[path = "../../src/bin/gen-assets.rs"]
#[allow(dead_code)]
mod gen_assets;

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, *};
use clap::CommandFactory;
use jiff::{SignedDuration, Timestamp};

#[test]
fn generated_man_pages_and_completions_cover_every_command() {
    let out = tempfile::tempdir().unwrap();
    gen_assets::generate(out.path()).unwrap();
    let main_page = std::fs::read_to_string(out.path().join("man/logwarden.1")).unwrap();
    let cmd = logwarden::cli::Cli::command();
    let subs: Vec<_> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    assert!(subs.len() >= 3);
    for sub in subs {
        let name = sub.get_name();
        assert!(
            main_page.contains(&format!("logwarden\\-{name}(1)")),
            "logwarden.1 does not mention {name}"
        );
        let page = std::fs::read_to_string(out.path().join(format!("man/logwarden-{name}.1")))
            .unwrap_or_else(|e| panic!("no page for {name}: {e}"));
        assert!(page.contains(".TH"), "{name}: not a man page");
        for shell in ["logwarden.bash", "_logwarden", "logwarden.fish"] {
            let text = std::fs::read_to_string(out.path().join("completions").join(shell)).unwrap();
            assert!(text.contains(name), "{shell} does not complete {name}");
        }
    }
    // An option appears only on the commands it affects.
    assert!(!main_page.contains("metrics\\-file"));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        let page =
            std::fs::read_to_string(out.path().join(format!("man/logwarden-{name}.1"))).unwrap();
        assert_eq!(
            page.contains("metrics\\-file"),
            ["enforce", "watch", "check"].contains(&name),
            "--metrics-file on logwarden-{name}(1)"
        );
    }
    // Nothing else: no stale page of a command that no longer exists, no `help` page; and
    // the policy's page.
    let pages = std::fs::read_dir(out.path().join("man")).unwrap().count();
    // A page per command and per command of a command (`import logrotate`).
    let commands: usize = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| {
            1 + s
                .get_subcommands()
                .filter(|n| !n.is_hide_set() && n.get_name() != "help")
                .count()
        })
        .sum();
    assert_eq!(pages, 2 + commands);
}

/// The man pages a user expects: EXIT STATUS on every page, ENVIRONMENT, FILES and EXAMPLES
/// on the main one, no reference to a page that does not exist (`logwarden-help(1)` was
/// one), a policy page naming every key the policy accepts, and roff that groff reads
/// without a warning.
#[test]
fn man_pages_have_the_sections_a_user_expects_and_name_only_pages_that_exist() {
    let out = tempfile::tempdir().unwrap();
    gen_assets::generate(out.path()).unwrap();
    let dir = out.path().join("man");
    let mut pages = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        pages.insert(name, std::fs::read_to_string(e.path()).unwrap());
    }
    let main_page = &pages["logwarden.1"];
    for section in [
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            main_page.contains(&format!(".SH \"{section}\""))
                || main_page.contains(&format!(".SH {section}\n")),
            "logwarden.1 has no {section}"
        );
    }
    // Every `\fBname\fR(N)` names a page that was generated (or one of the system's).
    let reference = regex::Regex::new(r"\\fB([a-z][a-z0-9.\\-]*)\\fR\(([1-8])\)").unwrap();
    for (name, text) in &pages {
        if name.ends_with(".1") {
            assert!(
                text.contains(".SH \"EXIT STATUS\""),
                "{name}: no EXIT STATUS"
            );
        }
        assert!(
            !text.contains("logwarden\\-help"),
            "{name} names logwarden-help(1)"
        );
        for c in reference.captures_iter(text) {
            let page = format!("{}.{}", c[1].replace("\\-", "-"), &c[2]);
            assert!(
                !page.starts_with("logwarden") || pages.contains_key(&page),
                "{name} refers to {page}, which is not generated"
            );
        }
    }
    // Every key of the policy (every field of src/config.rs's structs) is on its page.
    let policy_page = &pages["logwarden.yaml.5"];
    let config =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.rs")).unwrap();
    let field = regex::Regex::new(r"(?m)^\s+pub ([a-z_0-9]+): Option<").unwrap();
    let keys: Vec<&str> = field
        .captures_iter(&config)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert!(keys.len() > 20, "{keys:?}");
    for key in keys {
        assert!(
            policy_page.contains(&format!("\\fB{key}\\fR"))
                || policy_page.contains(&format!(".B {key}\n"))
                || policy_page.contains(&format!("{key}: ")),
            "logwarden.yaml(5) does not name the policy key `{key}`"
        );
    }
    let groff = ["/usr/bin/groff", "/bin/groff"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if !support::require("groff (apt-get install groff-base)", groff.is_some()) {
        return;
    }
    for name in pages.keys() {
        let run = Command::new(groff.as_ref().unwrap())
            .args(["-man", "-ww", "-z"])
            .arg(dir.join(name))
            .output()
            .unwrap();
        assert!(
            run.status.success() && run.stderr.is_empty(),
            "{name}: groff warns: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

/// The real logrotate, or `None` when the test skips (`support::require`: never under CI,
/// which installs it).
fn logrotate() -> Option<PathBuf> {
    let found = [
        "/usr/sbin/logrotate",
        "/sbin/logrotate",
        "/usr/bin/logrotate",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists());
    // Missing: `require` fails the test under CI, else says so and the test returns.
    support::require("logrotate (apt-get install logrotate)", found.is_some());
    found
}

/// Runs the real logrotate once, forced, on `conf` (written to the temp dir, mode 0644 as
/// logrotate wants), in UTC, with `LOGWARDEN_CONFIG` pointing at the temp dir's policy for
/// the stanzas that call logwarden.
fn force_logrotate(logrotate: &Path, dir: &LogDir, conf: &str) {
    let conf_path = dir.path("logrotate.conf");
    std::fs::write(&conf_path, conf).unwrap();
    std::fs::set_permissions(&conf_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(logrotate)
        .arg("-f")
        .arg("-s")
        .arg(dir.path("logrotate.state"))
        .arg(&conf_path)
        .env("LOGWARDEN_CONFIG", dir.path("config.yaml"))
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "logrotate failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn gunzip_all(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..2], b"\x1f\x8b", "{}: not gzip", path.display());
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

#[test]
fn logrotate_stanza_anonymizes_through_compresscmd_and_runs_enforce() {
    let Some(logrotate) = logrotate() else {
        return;
    };
    let bin = env!("CARGO_BIN_EXE_logwarden");
    let now = Timestamp::now();
    let (access, last) = lines_between(now - SignedDuration::from_hours(20), now, 60, 0);
    let access = format!(
        "{access}203.0.113.195 - - [{}] \"GET /x HTTP/1.1\" 200 5 \"-\" \"curl\"\n",
        now.strftime("%d/%b/%Y:%H:%M:%S +0000")
    );
    let error = format!(
        "{} [error] 12#12: *3 open() failed, client: 2001:DB8:1234:5678::1, server: _\n",
        now.strftime("%Y/%m/%d %H:%M:%S")
    );
    let dir = LogDir::new()
        .policy("metrics_file: metrics.prom\nsites:\n  legacy:\n    logs: [\"legacy/*.log\"]\n    rotate: { every: 2d }\n")
        .file("legacy/access.log", &access)
        .file("legacy/error.log", &error);

    // The shipped stanza, pointed at the temp dir and the built binary.
    let stanza = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/logrotate/logwarden"),
    )
    .unwrap();
    assert!(stanza.contains("compresscmd /usr/bin/logwarden\n"));
    let conf = stanza
        .replace(
            "/var/log/nginx/legacy",
            &dir.path("legacy").to_string_lossy(),
        )
        .replace("/run/nginx.pid", &dir.path("nginx.pid").to_string_lossy())
        .replace("/usr/bin/logwarden", bin);
    assert_ne!(conf, stanza);
    force_logrotate(&logrotate, &dir, &conf);

    let names = dir.names("legacy");
    let archive = |live: &str| -> PathBuf {
        let name = names
            .iter()
            .find(|n| n.starts_with(&format!("{live}-")) && n.ends_with(".gz"))
            .unwrap_or_else(|| panic!("no {live} archive among {names:?}"));
        dir.path("legacy").join(name)
    };
    // Valid gzip (also to the real gunzip), every line there, in order, masked.
    let access_gz = archive("access.log");
    if Path::new("/usr/bin/gunzip").exists() || Path::new("/bin/gunzip").exists() {
        let t = Command::new("gunzip")
            .arg("-t")
            .arg(&access_gz)
            .status()
            .unwrap();
        assert!(t.success(), "gunzip -t {}", access_gz.display());
    }
    let text = String::from_utf8(gunzip_all(&access_gz)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() as u64, last + 1, "every line is in the archive");
    for (i, (line, orig)) in lines.iter().zip(access.lines()).enumerate() {
        if let Some((id, _, ip)) = parse_line(line) {
            assert_eq!(id, i as u64);
            assert!(is_truncated(ip), "line {id} keeps {ip}");
            // Only the address changed.
            assert_eq!(
                line.len() - ip.len(),
                orig.len() - orig.split(' ').next().unwrap().len()
            );
        }
    }
    assert!(
        lines.last().unwrap().starts_with("203.0.113.0 - - ["),
        "{}",
        lines.last().unwrap()
    );
    let error_text = String::from_utf8(gunzip_all(&archive("error.log"))).unwrap();
    assert_eq!(
        error_text,
        error.replace("2001:DB8:1234:5678::1", "2001:db8:1200::")
    );
    // The live logs were left for nginx to recreate; no uncompressed archive is left.
    assert!(names.iter().all(|n| n.ends_with(".gz")), "{names:?}");
    // lastaction ran `logwarden enforce` with the policy: its metrics file is there.
    let metrics = std::fs::read_to_string(dir.path("metrics.prom")).unwrap();
    assert!(
        metrics.contains("logwarden_archives{site=\"legacy\"} 2\n"),
        "{metrics}"
    );
}

#[test]
fn enforce_writes_the_metrics_file_atomically_and_the_flag_overrides_the_policy() {
    let start = t("2026-11-20T00:00:00Z");
    let now = t("2026-11-29T00:00:00Z");
    let (text, _) = lines_between(start, now, 600, 0);
    let dir = LogDir::new()
        .policy("metrics_file: from-policy.prom\nsites:\n  main:\n    logs: [logs/access.log]\n    retention: 7d\n    anonymize: { after: 1d }\n")
        .file("logs/access.log", &text)
        .now("2026-11-29T00:00:00Z");
    let flag = dir.path("textfile/logwarden.prom");
    std::fs::create_dir_all(flag.parent().unwrap()).unwrap();

    let dry = dir.run(["enforce", "--dry-run"]).ok();
    assert!(!dir.path("from-policy.prom").exists(), "{}", dry.stderr());

    dir.run(["enforce", "--metrics-file", flag.to_str().unwrap()])
        .ok();
    assert!(!dir.path("from-policy.prom").exists());
    let m = std::fs::read_to_string(&flag).unwrap();
    for want in [
        "# TYPE logwarden_last_pass_actions gauge",
        "logwarden_last_pass_actions{site=\"main\",kind=\"rotate\",outcome=\"done\"} 1",
        "logwarden_last_success_timestamp_seconds 1795910400",
        "logwarden_archives{site=\"main\"} 1",
    ] {
        assert!(m.contains(want), "{want} missing from:\n{m}");
    }
    let read: f64 = m
        .lines()
        .find_map(|l| l.strip_prefix("logwarden_last_pass_read_bytes "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(read > 0.0, "{m}");
    assert_eq!(
        std::fs::metadata(&flag).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert_eq!(dir.names("textfile"), ["logwarden.prom"]);

    // From the policy when there is no flag.
    dir.run(["enforce"]).ok();
    assert!(dir.path("from-policy.prom").exists());
}

/// The shipped alert rules are valid and fire as their tests say, with the real promtool
/// (required under CI).
#[test]
fn shipped_alert_rules_pass_their_promtool_tests() {
    let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    support::require("promtool (apt-get install prometheus)", promtool.is_some());
    let Some(promtool) = promtool else {
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/prometheus");
    for args in [
        ["check", "rules", "logwarden.rules.yml"],
        ["test", "rules", "logwarden.rules.test.yml"],
    ] {
        let out = Command::new(&promtool)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The rules use the metrics logwarden writes, not names that drifted away.
    let rules = std::fs::read_to_string(dir.join("logwarden.rules.yml")).unwrap();
    let src = include_str!("../../src/metrics.rs");
    for name in [
        "logwarden_last_pass_actions",
        "logwarden_site_last_success_timestamp_seconds",
        "logwarden_last_success_timestamp_seconds",
        "logwarden_metrics_timestamp_seconds",
        "logwarden_check_violations",
        "logwarden_check_timestamp_seconds",
        "logwarden_oldest_record_age_seconds",
        "logwarden_oldest_full_ip_age_seconds",
        "logwarden_retention_seconds",
        "logwarden_full_ip_window_seconds",
    ] {
        assert!(rules.contains(name), "{name} unused");
        assert!(src.contains(&format!("\"{name}\"")), "{name} not written");
    }
}

/// The real logrotate with `dateformat -%Y%m%d-%s` (its man page's example for rotating
/// more than once a day) makes `access.log-YYYYmmdd-<epoch>`: an archive, audited and
/// enforced like any other, never an ignored stranger.
#[test]
fn every_logrotate_archive_name_is_recognised_and_enforced() {
    let Some(logrotate) = logrotate() else {
        return;
    };
    let now = Timestamp::now();
    let (old, _) = lines_between(
        now - SignedDuration::from_hours(28 * 24),
        now - SignedDuration::from_hours(27 * 24),
        600,
        0,
    );
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    retention: 60d\n    anonymize: { after: 7d }\n")
        .file("logs/access.log", &old);
    dir.chmod("", 0o700);
    let conf = format!(
        "{}/access.log {{\n  dateext\n  dateformat -%Y%m%d-%s\n  rotate 5\n  nocompress\n  missingok\n}}\n",
        dir.path("logs").display()
    );
    force_logrotate(&logrotate, &dir, &conf);
    let names = dir.names("logs");
    let archive = names
        .iter()
        .find(|n| n.starts_with("access.log-") && n.len() > "access.log-20261130-".len())
        .unwrap_or_else(|| panic!("no dateformat archive among {names:?}"))
        .clone();
    // Beside it, names no pattern describes: one that extends the log after a separator (an
    // archive of unknown date) and one that does not (not classifiable at all).
    std::fs::write(dir.path("logs/access.log.old"), &old).unwrap();
    std::fs::write(dir.path("logs/access.log2"), "?\n").unwrap();

    let check = dir.run(["check", "--format", "json"]);
    assert_eq!(check.code(), 1, "{}{}", check.stdout(), check.stderr());
    let report: serde_json::Value = serde_json::from_str(&check.stdout()).unwrap();
    let mut found: Vec<(String, String)> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let file = v["file"].as_str().unwrap();
            (
                file.rsplit('/').next().unwrap().to_string(),
                v["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    let mut want = vec![
        (archive.clone(), "full-ip".to_string()),
        ("access.log.old".to_string(), "full-ip".to_string()),
        ("access.log2".to_string(), "unclassified".to_string()),
    ];
    want.sort();
    assert_eq!(found, want, "{}", check.stdout());

    // enforce masks both archives; what stays is the file nobody can classify.
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 1, "{}", check.stdout());
    assert!(
        check.stdout().contains("unclassified: ")
            && check.stdout().contains("access.log2")
            && !check.stdout().contains("full-ip"),
        "{}",
        check.stdout()
    );
    for (name, bytes) in dir.contents("logs") {
        if name != "access.log2" {
            assert_no_full_address(&String::from_utf8_lossy(&bytes));
        }
    }
    std::fs::remove_file(dir.path("logs/access.log2")).unwrap();
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 0, "{}", check.stdout());

    // A compressext no decoder reads is not read as text (which would show no records).
    std::fs::write(
        dir.path("logs/access.log.3.lz4"),
        b"\x04\x22\x4d\x18 not text",
    )
    .unwrap();
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 1, "{}", check.stdout());
    assert!(
        check
            .stdout()
            .contains("/logs/access.log.3.lz4: compressed as .lz4"),
        "{}",
        check.stdout()
    );
}

#[test]
fn check_metrics_file_counts_every_rule_per_site_zeros_included() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n")
        .file("logs/access.log", "")
        .file(
            "logs/access.log-20261001-000000",
            a_day_of_lines("2026-10-01"),
        )
        .now("2026-11-30T00:00:00Z");
    dir.chmod("", 0o700);
    let prom = dir.path("check.prom");
    let out = dir.run(["check", "--metrics-file", prom.to_str().unwrap()]);
    assert_eq!(out.code(), 1, "{}", out.stdout());
    let text = std::fs::read_to_string(&prom).unwrap();
    for (rule, n) in [
        ("retention", 1),
        ("full-ip", 1),
        ("world-readable", 0),
        ("unreadable", 0),
        ("unclassified", 0),
        ("ceiling", 0),
    ] {
        let line = format!("logwarden_check_violations{{site=\"main\",rule=\"{rule}\"}} {n}\n");
        assert!(text.contains(&line), "{line}{text}");
    }
}

/// The real logrotate with `olddir` and `extension .log` makes `old/access-YYYYmmdd.log.gz`
/// for `logs/access.log`: with `archive_dir: old` it is that log's archive, audited and
/// masked in place, never an unseen stranger holding full addresses.
#[test]
fn logrotate_olddir_and_extension_archives_are_archives_of_their_log() {
    let Some(logrotate) = logrotate() else {
        return;
    };
    let now = Timestamp::now();
    let (old, _) = lines_between(
        now - SignedDuration::from_hours(28 * 24),
        now - SignedDuration::from_hours(27 * 24),
        600,
        0,
    );
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    archive_dir: old\n    retention: 60d\n    anonymize: { after: 7d }\n")
        .file("logs/access.log", &old)
        .file("old/.keep", "");
    std::fs::remove_file(dir.path("old/.keep")).unwrap();
    dir.chmod("", 0o700);
    let conf = format!(
        "{}/access.log {{\n  dateext\n  extension .log\n  olddir {}\n  compress\n  rotate 5\n  create 0640 root root\n}}\n",
        dir.path("logs").display(),
        dir.path("old").display()
    );
    force_logrotate(&logrotate, &dir, &conf);
    let names = dir.names("old");
    assert!(
        names.len() == 1 && names[0].starts_with("access-") && names[0].ends_with(".log.gz"),
        "{names:?}"
    );
    let archive = names[0].clone();

    let check = dir.run(["check"]);
    assert_eq!(check.code(), 1, "{}{}", check.stdout(), check.stderr());
    assert!(
        check.stdout().contains(&format!(
            "full-ip: {}",
            dir.path(&format!("old/{archive}")).display()
        )),
        "{}",
        check.stdout()
    );
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert_eq!(dir.names("old"), vec![archive.clone()]);
    let masked = gunzip_all(&dir.path(&format!("old/{archive}")));
    assert_eq!(
        masked.iter().filter(|&&b| b == b'\n').count(),
        old.lines().count()
    );
    assert_no_full_address(&String::from_utf8_lossy(&masked));
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 0, "{}", check.stdout());
}
