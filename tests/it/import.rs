//! `import logrotate` on the distributions' real nginx stanzas (tests/fixtures/logrotate),
//! the policy it prints passing `validate`, its errors, and `validate`'s warning when a
//! logrotate stanza rotates a site's files too.

use std::path::{Path, PathBuf};

use crate::support::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logrotate")
        .join(name)
}

/// `import logrotate` on `files`, run in `dir`; exit 0 and its stdout.
fn import(dir: &LogDir, files: &[&Path]) -> String {
    let mut args: Vec<&std::ffi::OsStr> = vec!["import".as_ref(), "logrotate".as_ref()];
    args.extend(files.iter().map(|f| f.as_os_str()));
    dir.run(args).ok().stdout()
}

#[track_caller]
fn assert_lines(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.lines().any(|l| l == *w), "no line {w:?} in\n{text}");
    }
}

/// The printed policy with its log paths moved under the temp dir, as `config.yaml` there;
/// `validate` (with no logrotate stanza around) must accept it.
#[track_caller]
fn assert_validates(dir: &LogDir, policy: &str) -> String {
    let logs = dir.path("var/log");
    let policy = policy.replace("\"/var/log/", &format!("\"{}/", logs.display()));
    std::fs::write(
        dir.path("config.yaml"),
        format!("lock_file: logwarden.lock\n{policy}"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path("empty")).unwrap();
    let empty = dir.path("empty");
    let out = dir.run([
        "validate".as_ref(),
        "--logrotate-dir".as_ref(),
        empty.as_os_str(),
    ]);
    assert_eq!(out.code(), 0, "{policy}\n{}", out.stderr());
    out.stdout()
}

#[test]
fn debian_nginx_stanza_imports_to_a_policy_that_validates() {
    let dir = LogDir::new();
    let out = import(&dir, &[&fixture("debian-nginx")]);
    let src = fixture("debian-nginx").display().to_string();
    assert_lines(
        &out,
        &[
            "sites:",
            "  nginx:",
            "    logs: [\"/var/log/nginx/*.log\"]",
            "    rotate: { every: 1d }",
            "    retention: 14d",
            "    anonymize: { after: 7d }",
            "    compress: { method: gzip }",
            "    create: { mode: \"0640\", owner: \"www-data\", group: \"adm\" }",
            "    missing_ok: true",
            "    reopen: { command: [\"invoke-rc.d\", \"nginx\", \"rotate\"] }",
            &format!(
                "    # {src}:6: `delaycompress`: nothing to set: logwarden compresses an archive only once the writer has let go of it"
            ),
            &format!(
                "    # {src}:7: `notifempty`: nothing to set: logwarden never rotates an empty log"
            ),
        ],
    );
    // Retention and the window are marked as choices, and the prerotate hook is shown.
    assert!(out.contains(&format!("# SUGGESTED, confirm: logrotate has no retention by age; this is from `rotate 14` ({src}:4) × the interval (1d)")), "{out}");
    assert!(
        out.contains("# YOU MUST CHOOSE: logrotate never masks client addresses."),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "# {src}:10: `prerotate`: not translated: logwarden has no hook here"
        )),
        "{out}"
    );
    assert!(
        out.contains("#     run-parts /etc/logrotate.d/httpd-prerotate; \\"),
        "{out}"
    );
    assert!(
        out.contains("reopen: { signal: USR1, pidfile: /run/nginx.pid }"),
        "the signal alternative is offered:\n{out}"
    );
    let v = assert_validates(&dir, &out);
    assert!(v.contains("valid; 1 site(s): nginx"), "{v}");
}

#[test]
fn opensuse_nginx_stanza_rotates_by_size_and_reopens_by_signal() {
    let dir = LogDir::new();
    let out = import(&dir, &[&fixture("opensuse-nginx")]);
    let src = fixture("opensuse-nginx").display().to_string();
    assert_lines(
        &out,
        &[
            "  nginx:",
            "    logs: [\"/var/log/nginx/*.log\"]",
            "    rotate: { every: 1d, max_size: 4MiB }",
            "    retention: 365d",
            "    anonymize: { after: 7d }",
            "    compress: { method: gzip }",
            "    su: { user: \"nginx\", group: \"nginx\" }",
            "    missing_ok: true",
            "    reopen: { signal: USR1, pidfile: \"/run/nginx.pid\" }",
        ],
    );
    for needle in [
        format!("# {src}:7: `size=+4096k`: logrotate rotated by size only"),
        format!("`maxage` ({src}:5)"),
        format!("# from {src}:11: `lastaction`"),
        "`/usr/sbin/nginx -s reopen` sends USR1 to the pid in /run/nginx.pid".to_string(),
        format!("# {src}:4: `dateext`: nothing to set"),
    ] {
        assert!(out.contains(&needle), "{needle}\n{out}");
    }
    let v = assert_validates(&dir, &out);
    assert!(v.contains("valid; 1 site(s): nginx"), "{v}");
}

/// Debian's apache2, rsyslog and haproxy stanzas together: names from the directory or the
/// file, the reopen commands, and a policy of three sites that validates.
#[test]
fn several_debian_stanzas_import_to_distinct_sites() {
    let dir = LogDir::new();
    let files = ["debian-apache2", "debian-rsyslog", "debian-haproxy"].map(fixture);
    let out = import(
        &dir,
        &files.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    );
    assert_lines(
        &out,
        &[
            "  apache2:",
            "    reopen: { command: [\"invoke-rc.d\", \"apache2\", \"reload\"] }",
            "  syslog:",
            "    logs: [\"/var/log/syslog\", \"/var/log/mail.log\", \"/var/log/kern.log\", \"/var/log/auth.log\", \"/var/log/user.log\", \"/var/log/cron.log\"]",
            "    rotate: { every: 7d }",
            "    retention: 28d",
            "    reopen: { command: [\"/usr/lib/rsyslog/rsyslog-rotate\"] }",
            "  haproxy:",
        ],
    );
    assert!(
        out.contains("the script ran it only when `pgrep -f ^/usr/sbin/apache2` succeeded"),
        "{out}"
    );
    let v = assert_validates(&dir, &out);
    assert!(v.contains("valid; 3 site(s)"), "{v}");
}

/// `/etc/logrotate.conf`-style globals, an `include` of a directory, and a stanza that
/// overrides a global.
#[test]
fn globals_and_includes_are_followed_as_logrotate_does() {
    let dir = LogDir::new()
        .file("d/web", "/var/log/web/*.log {\n    rotate 2\n    su www-data www-data\n}\n")
        .file("d/web.dpkg-old", "this is not read {{{\n")
        .file("logrotate.conf", "# see man logrotate\nweekly\nrotate 4\ncreate\ncompress\ninclude d\n/var/log/wtmp {\n    monthly\n    rotate 1\n}\n");
    let out = import(&dir, &[&dir.path("logrotate.conf")]);
    let (web, wtmp) = out.split_at(out.find("  wtmp:").expect(&out));
    assert!(
        web.contains("  web:\n")
            && web.contains("rotate: { every: 7d }")
            && web.contains("retention: 14d"),
        "{web}"
    );
    assert!(
        web.contains("compress: { method: gzip }") && web.contains("`create`: nothing to set"),
        "{web}"
    );
    assert!(
        wtmp.contains("rotate: { every: 30d }") && wtmp.contains("retention: 30d"),
        "{wtmp}"
    );
}

#[test]
fn unbalanced_braces_exit_2_naming_file_and_line() {
    let dir = LogDir::new()
        .file(
            "nginx",
            "/var/log/nginx/*.log {\n\tdaily\n\trotate 14\n/var/log/other.log {\n}\n",
        )
        .file("extra", "/var/log/x.log {\n daily\n}\n}\n");
    for (name, line, why) in [
        (
            "nginx",
            4,
            "inside the block opened at line 1: a `}` is missing",
        ),
        ("extra", 4, "`}` with no block open"),
    ] {
        let out = dir.run([
            "import".as_ref(),
            "logrotate".as_ref(),
            dir.path(name).as_os_str(),
        ]);
        assert_eq!(out.code(), 2, "{}", out.stderr());
        let want = format!("{}:{line}: ", dir.path(name).display());
        assert!(
            out.stderr().contains(&want) && out.stderr().contains(why),
            "{want} {why}\n{}",
            out.stderr()
        );
        assert!(
            out.stdout().is_empty(),
            "no half policy on stdout: {}",
            out.stdout()
        );
    }
}

#[test]
fn an_unreadable_or_missing_file_exits_2_naming_it() {
    let dir = LogDir::new().file("nginx", "/var/log/nginx/*.log {\n daily\n}\n");
    let missing = dir.path("no-such-file");
    let out = dir.run(["import".as_ref(), "logrotate".as_ref(), missing.as_os_str()]);
    assert_eq!(out.code(), 2, "{}", out.stderr());
    assert!(
        out.stderr()
            .contains(&format!("{}: cannot read", missing.display())),
        "{}",
        out.stderr()
    );
    dir.chmod("nginx", 0o000);
    let file = dir.path("nginx");
    let args: [&std::ffi::OsStr; 3] = ["import".as_ref(), "logrotate".as_ref(), file.as_os_str()];
    // root reads a 0000 file: run as nobody, for whom it is unreadable. nobody may not reach
    // the build's binary (a clone under a 0700 directory), so it runs a copy of its own.
    let shared = tempfile::tempdir().unwrap();
    let mut cmd = if nix::unistd::geteuid().is_root() {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        let copy = shared.path().join("logwarden");
        std::fs::copy(assert_cmd::cargo::cargo_bin("logwarden"), &copy).unwrap();
        for (p, mode) in [(shared.path(), 0o755), (copy.as_path(), 0o755)] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let mut cmd = std::process::Command::new(&copy);
        cmd.args(args).uid(65534).gid(65534);
        cmd
    } else {
        dir.command(args)
    };
    // The fresh copy may be "busy" for a moment: a child another test thread forks holds
    // our write descriptor until it execs (ETXTBSY; failed once in a full `cargo test`).
    let mut tries = 0;
    let out = loop {
        match cmd.output() {
            Err(e)
                if e.raw_os_error() == Some(nix::errno::Errno::ETXTBSY as i32) && tries < 100 =>
            {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: cannot read: Permission denied",
            dir.path("nginx").display()
        )),
        "{stderr}"
    );
}

#[test]
fn validate_warns_when_a_logrotate_stanza_rotates_a_sites_files() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n  other:\n    logs: [other/app.log]\n  caddy:\n    logs: [\"caddy/*.log\"]\n    rotate: false\n")
        .file("logs/access.log", "")
        .file("other/app.log", "");
    let logs = dir.path("logs");
    let stanzas = dir.path("logrotate.d");
    std::fs::create_dir_all(&stanzas).unwrap();
    std::fs::write(
        stanzas.join("web"),
        format!(
            "# comment\n{}/*.log {}/x.log {{\n daily\n}}\n",
            logs.display(),
            dir.path("caddy").display()
        ),
    )
    .unwrap();
    std::fs::write(stanzas.join("broken"), "/x {\n").unwrap();
    let out = dir.run([
        "validate".as_ref(),
        "--logrotate-dir".as_ref(),
        stanzas.as_os_str(),
    ]);
    assert_eq!(out.code(), 0, "a warning, not an error: {}", out.stderr());
    let err = out.stderr();
    let want = format!(
        "{}:2: logrotate also rotates {}/*.log, which covers {}/access.log of site main (sites.main.logs.0): two tools rotating one file lose data",
        stanzas.join("web").display(),
        logs.display(),
        logs.display()
    );
    assert!(err.contains(&want), "{want}\n{err}");
    assert!(
        !err.contains("site other") && !err.contains("site caddy"),
        "only the overlapping, rotated site: {err}"
    );
    assert!(
        err.contains(&format!(
            "{}:1: the block opened here is never closed",
            stanzas.join("broken").display()
        )),
        "{err}"
    );
    // Without the stanza, no warning.
    std::fs::remove_file(stanzas.join("web")).unwrap();
    let out = dir.run([
        "validate".as_ref(),
        "--logrotate-dir".as_ref(),
        stanzas.as_os_str(),
    ]);
    assert_eq!(out.code(), 0);
    assert!(!out.stderr().contains("two tools"), "{}", out.stderr());
}
