//! A hostile file system, a full disk and concurrent passes: each case is refused or
//! handled safely, with a message that names it, and nothing outside the site's files is
//! read, written or removed.

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use crate::support::{self, *};

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn a_symlink_planted_as_an_archive_is_neither_read_nor_deleted() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    retention: 14d\n")
        .file("logs/access.log", "")
        .file("outside/precious.gz", "not yours")
        .now("2026-11-29T00:00:00Z");
    std::os::unix::fs::symlink(
        dir.path("outside/precious.gz"),
        dir.path("logs/access.log-20261001-000000.gz"),
    )
    .unwrap();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr()
            .contains("access.log-20261001-000000.gz: is a symlink"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path("outside/precious.gz")).unwrap(),
        "not yours"
    );
    assert!(
        dir.path("logs/access.log-20261001-000000.gz")
            .symlink_metadata()
            .is_ok()
    );
}

#[test]
fn a_symlinked_log_directory_or_archive_directory_is_refused() {
    let dir = LogDir::new()
        .policy(
            "sites:\n  a:\n    logs: [linked/access.log]\n  b:\n    logs: [logs/b.log]\n    archive_dir: archives\n",
        )
        .file("real/access.log", a_day_of_lines("2026-11-27"))
        .file("logs/b.log", a_day_of_lines("2026-11-27"))
        .file("elsewhere/keep", "")
        .now("2026-11-29T00:00:00Z");
    std::os::unix::fs::symlink(dir.path("real"), dir.path("linked")).unwrap();
    std::os::unix::fs::symlink(dir.path("elsewhere"), dir.path("archives")).unwrap();
    let before = dir.snapshot();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("linked: cannot open the directory"),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("archives: cannot open the directory"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        dir.snapshot(),
        before,
        "nothing may change behind a symlinked directory"
    );
}

#[test]
fn fifos_and_devices_where_a_log_should_be_are_refused_without_blocking() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/fifo.log, logs/dev.log]\n")
        .file("logs/keep", "")
        .now("2026-11-29T00:00:00Z");
    nix::unistd::mkfifo(
        &dir.path("logs/fifo.log"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    // Only root (with CAP_MKNOD) makes device nodes: elsewhere the FIFO half runs and the
    // device half skips, saying so.
    let device = support::require("root (to make a device node as a log)", is_root())
        && support::require(
            "CAP_MKNOD (to make a device node as a log)",
            nix::sys::stat::mknod(
                &dir.path("logs/dev.log"),
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::from_bits_truncate(0o600),
                nix::sys::stat::makedev(1, 3),
            )
            .is_ok(),
        );
    let started = Instant::now();
    let out = dir.run(["enforce"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("fifo.log: is not a regular file"),
        "{}",
        out.stderr()
    );
    if device {
        assert!(
            out.stderr().contains("dev.log: is not a regular file"),
            "{}",
            out.stderr()
        );
    }
}

#[test]
fn as_root_a_log_directory_writable_by_another_user_is_refused() {
    if !support::require(
        "root (directory ownership checks apply to root only)",
        is_root(),
    ) {
        return;
    }
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n")
        .file("logs/access.log", a_day_of_lines("2026-11-27"))
        .now("2026-11-29T00:00:00Z");
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    nix::unistd::chown(&dir.path("logs"), Some(nobody.uid), None).unwrap();
    let before = dir.snapshot();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("logs: directory (owner uid"),
        "{}",
        out.stderr()
    );
    assert_eq!(dir.snapshot(), before);
    let v = dir.run(["validate"]);
    assert!(
        v.stderr().contains("sites.main.logs.0: ") && v.stderr().contains("chmod g-w,o-w"),
        "{}",
        v.stderr()
    );
    // Group-writable by a non-root group, the same.
    nix::unistd::chown(
        &dir.path("logs"),
        Some(nix::unistd::Uid::from_raw(0)),
        Some(nobody.gid),
    )
    .unwrap();
    dir.chmod("logs", 0o770);
    assert_eq!(dir.run(["enforce"]).code(), 1);
    // A root-owned 0755 directory is fine.
    nix::unistd::chown(&dir.path("logs"), None, Some(nix::unistd::Gid::from_raw(0))).unwrap();
    dir.chmod("logs", 0o755);
    dir.run(["enforce"]).ok();
}

#[test]
fn file_names_with_spaces_newlines_and_shell_characters_are_just_names() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [\"logs/*.log\"]\n")
        .file("logs/with space.log", a_day_of_lines("2026-11-27"))
        .file("logs/$(touch pwned).log", a_day_of_lines("2026-11-27"))
        .file("logs/new\nline;rm -rf x.log", a_day_of_lines("2026-11-27"))
        .file("logs/`id`&.log", a_day_of_lines("2026-11-27"))
        .now("2026-11-29T00:00:00Z");
    dir.run(["enforce"]).ok();
    let names = dir.names("logs");
    for stem in [
        "with space.log",
        "$(touch pwned).log",
        "new\nline;rm -rf x.log",
        "`id`&.log",
    ] {
        assert!(names.contains(&stem.to_string()), "{names:?}");
        assert!(
            names.contains(&format!("{stem}-20261129-000000.gz")),
            "{stem}: {names:?}"
        );
    }
    assert!(!dir.path("pwned").exists() && !dir.path("logs/pwned").exists());
}

#[test]
fn two_passes_at_once_rotate_once() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/a.log, logs/b.log]\n")
        .file("logs/a.log", a_day_of_lines("2026-11-27"))
        .file("logs/b.log", a_day_of_lines("2026-11-27"))
        .now("2026-11-29T00:00:00Z");
    let a = dir
        .command(["enforce"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let b = dir
        .command(["enforce"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    assert_eq!(
        dir.names("logs"),
        [
            "a.log",
            "a.log-20261129-000000.gz",
            "b.log",
            "b.log-20261129-000000.gz"
        ]
    );
    assert_eq!(
        String::from_utf8(read_any(&dir.path("logs/a.log-20261129-000000.gz")))
            .unwrap()
            .lines()
            .count(),
        24
    );
}

/// A small tmpfs, so the disk really fills up (root only).
struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(path: std::path::PathBuf, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(&path).unwrap();
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { path })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .status();
    }
}

#[test]
fn a_full_disk_leaves_the_original_and_the_next_pass_succeeds() {
    if !support::require("root (to mount a small tmpfs)", is_root()) {
        return;
    }
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [disk/logs/access.log]\n    anonymize: { after: 0s }\n")
        .now("2026-11-29T00:00:00Z");
    let disk = SmallDisk::mount(dir.path("disk"), "1m");
    support::require("a small tmpfs mounted (mount -t tmpfs)", disk.is_some());
    let Some(_disk) = disk else {
        return;
    };
    std::fs::create_dir_all(dir.path("disk/logs")).unwrap();
    // Incompressible-ish lines, so the archive needs real space.
    let mut text = String::new();
    let mut x: u64 = 1;
    let mut at = t("2026-11-27T00:00:00Z");
    for id in 0..2500 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text.push_str(
            &access_line(&client(id), at, id)
                .replace("Mozilla", &format!("{x:016x}{:016x}", x.rotate_left(17))),
        );
        at += jiff::SignedDuration::from_secs(30);
    }
    std::fs::write(dir.path("disk/logs/access.log"), &text).unwrap();
    // Fill the disk but for a little room.
    let free = nix::sys::statvfs::statvfs(&dir.path("disk")).unwrap();
    let room = free.blocks_available() * free.fragment_size();
    std::fs::write(
        dir.path("disk/filler"),
        vec![0u8; (room as usize).saturating_sub(16 * 1024)],
    )
    .unwrap();

    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("access.log-20261129-000000"),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("No space left on device"),
        "{}",
        out.stderr()
    );
    let names = dir.names("disk/logs");
    assert_eq!(
        names,
        ["access.log", "access.log-20261129-000000"],
        "the partial file is removed"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path("disk/logs/access.log-20261129-000000")).unwrap(),
        text
    );

    std::fs::remove_file(dir.path("disk/filler")).unwrap();
    dir.run(["enforce"]).ok();
    assert_eq!(
        dir.names("disk/logs"),
        ["access.log", "access.log-20261129-000000.gz"]
    );
    let archived = String::from_utf8(read_any(
        &dir.path("disk/logs/access.log-20261129-000000.gz"),
    ))
    .unwrap();
    assert_eq!(archived.lines().count(), 2500);
    assert!(
        std::fs::metadata(dir.path("disk/logs/access.log"))
            .unwrap()
            .size()
            == 0
    );
}

/// Guarantee 5: no symlink is followed in any component of a path, not only the last.
#[test]
fn no_symlink_is_followed_in_any_component_of_a_path() {
    let old = a_day_of_lines("2026-10-01");
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [parent/logs/access.log]\n    retention: 14d\n")
        .file("real/logs/access.log", &old)
        .now("2026-11-29T00:00:00Z");
    // A root-owned ancestor that is a symlink: refused, the target untouched.
    std::os::unix::fs::symlink(dir.path("real"), dir.path("parent")).unwrap();
    let before = dir.snapshot();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr()
            .contains("parent is a symlink or not a directory"),
        "{}",
        out.stderr()
    );
    assert_eq!(dir.snapshot(), before);
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 1, "{}", check.stdout());
    assert!(
        check.stdout().contains("unreadable: "),
        "{}",
        check.stdout()
    );
}

/// OpenSSH's safe_path as root: a user who owns an ancestor of a log directory can swap the
/// component below it for a symlink; such an ancestor is refused before anything is read,
/// and with the swap done, nothing outside the site is touched either.
#[test]
fn as_root_an_ancestor_owned_by_another_user_is_refused_and_its_swap_reaches_nothing() {
    if !support::require("root (ownership of ancestors)", is_root()) {
        return;
    }
    let old = a_day_of_lines("2026-10-01");
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [home/site/access.log]\n    retention: 14d\n")
        .file("home/site/access.log", &old)
        .file("outside/access.log", &old)
        .now("2026-11-29T00:00:00Z");
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    nix::unistd::chown(&dir.path("home"), Some(nobody.uid), Some(nobody.gid)).unwrap();
    let before = dir.snapshot();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr()
            .contains("lets another user replace what lies below it"),
        "{}",
        out.stderr()
    );
    assert_eq!(dir.snapshot(), before);
    // The owner swaps `site` for a symlink to a root-owned directory elsewhere.
    std::fs::rename(dir.path("home/site"), dir.path("home/site.old")).unwrap();
    std::os::unix::fs::symlink(dir.path("outside"), dir.path("home/site")).unwrap();
    let before = dir.snapshot();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert_eq!(
        dir.snapshot(),
        before,
        "nothing outside the site is touched"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path("outside/access.log")).unwrap(),
        old
    );
    // Given back to root (0755), the site works.
    std::fs::remove_file(dir.path("home/site")).unwrap();
    std::fs::rename(dir.path("home/site.old"), dir.path("home/site")).unwrap();
    nix::unistd::chown(
        &dir.path("home"),
        Some(nix::unistd::Uid::from_raw(0)),
        Some(nix::unistd::Gid::from_raw(0)),
    )
    .unwrap();
    dir.run(["enforce"]).ok();
}

/// The live name is never free: a reader polling it through many rotations always finds a
/// file there (the old code left it free between two renames).
#[test]
fn the_live_name_is_never_free_during_a_rotation() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let mut dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    rotate: { every: 1h }\n    anonymize: false\n    compress: { method: none }\n")
        .file("logs/access.log", a_day_of_lines("2026-11-27"));
    let live = dir.path("logs/access.log");
    let stop = Arc::new(AtomicBool::new(false));
    let (free, looks) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let poller = {
        let (stop, free, looks, live) = (stop.clone(), free.clone(), looks.clone(), live.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if live.symlink_metadata().is_err() {
                    free.fetch_add(1, Ordering::Relaxed);
                }
                looks.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    for hour in 0..20 {
        append(&live, &a_day_of_lines("2026-11-27")[..200]);
        dir.set_now(&format!("2026-11-28T{hour:02}:30:00Z"));
        dir.run(["enforce"]).ok();
    }
    stop.store(true, Ordering::Relaxed);
    poller.join().unwrap();
    let rotations = dir
        .names("logs")
        .iter()
        .filter(|n| n.starts_with("access.log-"))
        .count();
    assert!(rotations >= 10, "{:?}", dir.names("logs"));
    assert!(looks.load(Ordering::Relaxed) > 1000);
    assert_eq!(
        free.load(Ordering::Relaxed),
        0,
        "the live name was seen free"
    );
}

/// A repair never adopts a temp file that a rotation did not prepare: a planted
/// `.access.log.logwarden-*.tmp` (0666, with content) must not become the live log.
#[test]
fn a_repair_never_adopts_a_temp_file_it_did_not_prepare() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n")
        .file(
            "logs/access.log-20261128-000000",
            a_day_of_lines("2026-11-27"),
        )
        .file("logs/.access.log.logwarden-1-0.tmp", "planted\n")
        .now("2026-11-28T00:00:10Z");
    dir.chmod("logs/.access.log.logwarden-1-0.tmp", 0o666);
    let planted = std::fs::metadata(dir.path("logs/.access.log.logwarden-1-0.tmp")).unwrap();
    let out = dir.run(["enforce"]);
    let live = std::fs::symlink_metadata(dir.path("logs/access.log")).unwrap();
    assert_ne!(live.ino(), planted.ino(), "{}", out.stderr());
    assert_eq!(live.len(), 0);
    assert_eq!(live.mode() & 0o002, 0);
    assert!(
        out.stderr().contains("not adopted as the live log"),
        "{}",
        out.stderr()
    );
}

/// As root, a sticky world-writable log directory (as /tmp) is refused like any directory
/// others may write to: there, anyone could take the live name or plant a temp file.
#[test]
fn as_root_a_sticky_world_writable_log_directory_is_refused() {
    if !support::require(
        "root (directory ownership checks apply to root only)",
        is_root(),
    ) {
        return;
    }
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n")
        .file("logs/access.log", a_day_of_lines("2026-11-27"))
        .now("2026-11-29T00:00:00Z");
    dir.chmod("logs", 0o1777);
    let before = dir.snapshot();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr()
            .contains("may be written by a user other than root"),
        "{}",
        out.stderr()
    );
    assert_eq!(dir.snapshot(), before);
}

/// Guarantee 7: as root without CAP_SYS_PTRACE (a container's default set), a writer of
/// another user cannot be seen in /proc; it counts as a writer, so its archive is neither
/// compressed nor deleted, the pass says which capability is missing and exits 1.
#[test]
fn as_root_a_writer_that_cannot_be_inspected_counts_as_a_writer() {
    if !support::require(
        "root (dropping CAP_SYS_PTRACE, a writer of another user)",
        is_root(),
    ) {
        return;
    }
    let setpriv_works = std::process::Command::new("setpriv")
        .args(["--bounding-set", "-sys_ptrace", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !support::require(
        "setpriv (util-linux) able to drop CAP_SYS_PTRACE",
        setpriv_works,
    ) {
        return;
    }
    let text = a_day_of_lines("2026-11-27");
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    rotate: { every: 1d }\n")
        .file("logs/access.log", &text)
        .now("2026-11-29T00:00:00Z");
    let held = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path("logs/access.log"))
        .unwrap();
    let mut writer = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sleep",
            "60",
        ])
        .stdout(held)
        .spawn()
        .unwrap();
    // Give setpriv time to drop to the other user before the pass looks.
    std::thread::sleep(Duration::from_millis(200));
    let out = std::process::Command::new("setpriv")
        .args(["--bounding-set", "-sys_ptrace"])
        .arg(assert_cmd::cargo::cargo_bin("logwarden"))
        .arg("--config")
        .arg(dir.path("config.yaml"))
        .args(["--now", "2026-11-29T00:00:00Z", "enforce"])
        .env("TZ", "UTC")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let _ = writer.kill();
    let _ = writer.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("CAP_SYS_PTRACE is missing (add it").count(),
        1,
        "{stderr}"
    );
    let names = dir.names("logs");
    assert!(
        names.contains(&"access.log-20261129-000000".to_string()),
        "the archive stays as it is: {names:?}"
    );
    assert!(!names.iter().any(|n| n.ends_with(".gz")), "{names:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path("logs/access.log-20261129-000000")).unwrap(),
        text
    );
}

/// File names are escaped as `ls -b` does in logs and in `check` and `status` output: a name
/// holding a newline cannot forge a log line or split a report line.
#[test]
fn a_file_name_with_a_newline_cannot_forge_a_log_line() {
    let forged = "logs/x\nlogwarden: error: forged.log";
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [\"logs/*.log\"]\n    retention: 14d\n")
        .file(forged, a_day_of_lines("2026-10-01"))
        .now("2026-11-29T00:00:00Z");
    dir.chmod("", 0o700);
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 1);
    for line in check.stdout().lines() {
        assert!(
            !line.starts_with("logwarden: error: forged"),
            "{}",
            check.stdout()
        );
    }
    assert!(
        check.stdout().contains("x\\nlogwarden: error: forged.log"),
        "{}",
        check.stdout()
    );
    for format in ["text", "json"] {
        let status = dir.run(["status", "--format", format]);
        assert_eq!(status.code(), 0, "{}", status.stderr());
        assert!(
            !status
                .stdout()
                .lines()
                .any(|l| l.starts_with("logwarden: error: forged")),
            "{}",
            status.stdout()
        );
        // JSON escapes the escape's backslash once more.
        assert!(
            status
                .stdout()
                .replace("\\\\", "\\")
                .contains("x\\nlogwarden: error: forged.log"),
            "{}",
            status.stdout()
        );
    }
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    for line in out.messages() {
        assert!(
            line.starts_with("logwarden: info: "),
            "forged line: {line:?}"
        );
    }
    assert!(
        out.stderr().contains("x\\nlogwarden: error: forged.log"),
        "{}",
        out.stderr()
    );
}

/// A closed or full stderr never makes logwarden panic (exit 101): the exit code still
/// says what happened.
#[test]
fn stderr_that_cannot_be_written_never_panics() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n    retention: soon\n")
        .file("logs/access.log", a_day_of_lines("2026-11-27"));
    for cmd in ["validate", "enforce", "check"] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = dir.command([cmd]).stderr(full).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd}");
    }
    std::fs::write(
        dir.path("config.yaml"),
        "lock_file: logwarden.lock\nsites:\n  main:\n    logs: [logs/access.log]\n",
    )
    .unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = dir
        .command(["--now", "2026-11-29T00:00:00Z", "enforce"])
        .stderr(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// The metrics file is written through a directory handle: a symlink planted at its name
/// is replaced, never followed, and a directory others may write to is refused.
#[test]
fn metrics_never_follow_a_symlink_or_use_a_shared_directory() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [logs/access.log]\n")
        .file("logs/access.log", a_day_of_lines("2026-11-27"))
        .file("outside/target", "precious\n")
        .file("metrics/.keep", "")
        .now("2026-11-29T00:00:00Z");
    std::os::unix::fs::symlink(dir.path("outside/target"), dir.path("metrics/lw.prom")).unwrap();
    let out = dir.run([
        "enforce",
        "--metrics-file",
        dir.path("metrics/lw.prom").to_str().unwrap(),
    ]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert_eq!(
        std::fs::read_to_string(dir.path("outside/target")).unwrap(),
        "precious\n"
    );
    let meta = std::fs::symlink_metadata(dir.path("metrics/lw.prom")).unwrap();
    assert!(
        meta.is_file(),
        "the symlink is replaced by the metrics file"
    );
    assert!(dir.names("metrics").iter().all(|n| !n.ends_with(".tmp")));
    dir.chmod("metrics", 0o1777);
    let out = dir.run([
        "enforce",
        "--metrics-file",
        dir.path("metrics/lw.prom").to_str().unwrap(),
    ]);
    assert!(
        out.stderr()
            .contains("another user may write to this directory"),
        "{}",
        out.stderr()
    );
}

/// `su:` (logrotate's `su`): a log directory its owner may write is worked on with that
/// owner's ids, so whatever the owner plants there can only make logwarden do what the
/// owner could do. Here a root-only file planted as an archive stays unread. The directory
/// above the logs is the owner's too, as under a web root.
#[test]
fn as_root_su_does_the_file_work_of_a_directory_its_owner_may_write_as_that_owner() {
    if !support::require("root (su: switches credentials)", is_root()) {
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let group = nix::unistd::Group::from_gid(nobody.gid).unwrap().unwrap();
    let policy = format!(
        "sites:\n  main:\n    logs: [site/logs/access.log]\n    compress: {{ method: gzip }}\n    su: {{ user: nobody, group: {} }}\n",
        group.name
    );
    let mut dir = LogDir::new()
        .policy(&policy)
        .file("site/logs/access.log", a_day_of_lines("2026-11-27"))
        .now("2026-11-29T00:00:00Z");
    // nobody must be able to pass through the temp dir to reach its own directory.
    dir.chmod("", 0o755);
    let (uid, gid) = (Some(nobody.uid), Some(nobody.gid));
    // The directory and the one above it are nobody's (an ancestor may be the su: user's).
    nix::unistd::chown(&dir.path("site"), uid, gid).unwrap();
    nix::unistd::chown(&dir.path("site/logs"), uid, gid).unwrap();
    nix::unistd::chown(&dir.path("site/logs/access.log"), uid, gid).unwrap();
    dir.chmod("site/logs/access.log", 0o640);

    let v = dir.run(["validate"]);
    assert_eq!(v.code(), 0, "{}", v.stderr());
    assert!(
        !v.stderr().contains("cannot be worked on"),
        "{}",
        v.stderr()
    );
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let names = dir.names("site/logs");
    let archive = names
        .iter()
        .find(|n| n.ends_with(".gz"))
        .unwrap_or_else(|| panic!("no compressed archive in {names:?}"));
    for name in [archive.as_str(), "access.log"] {
        let md = dir.path(&format!("site/logs/{name}")).metadata().unwrap();
        assert_eq!(
            (md.uid(), md.gid()),
            (nobody.uid.as_raw(), nobody.gid.as_raw()),
            "{name}"
        );
    }
    assert!(read_any(&dir.path(&format!("site/logs/{archive}"))).len() > 1000);
    let check = dir.run(["check"]);
    assert!(
        !check.stdout().contains("unreadable") && !check.stdout().contains("another user"),
        "{}{}",
        check.stdout(),
        check.stderr()
    );

    // A root-only file planted as a due archive: as root it would be read and its masked
    // copy left in nobody's directory; as nobody it cannot be opened, and the pass says so.
    dir.set_now("2026-11-30T00:00:00Z");
    let planted = dir.path("site/logs/access.log-20261125-000000");
    std::fs::write(&planted, a_day_of_lines("2026-11-24")).unwrap();
    dir.chmod("site/logs/access.log-20261125-000000", 0o600);
    let before = std::fs::read(&planted).unwrap();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("access.log-20261125-000000")
            && out.stderr().contains("ermission denied"),
        "{}",
        out.stderr()
    );
    assert_eq!(std::fs::read(&planted).unwrap(), before);
    assert_eq!(planted.metadata().unwrap().uid(), 0);
    assert!(
        !dir.names("site/logs")
            .iter()
            .any(|n| n.starts_with("access.log-20261125-000000."))
    );
}
