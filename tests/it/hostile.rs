//! A hostile file system, a full disk and concurrent passes: each case is refused or
//! handled safely, with a message that names it, and nothing outside the site's files is
//! read, written or removed.

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use crate::support::*;

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
    let device = is_root()
        && nix::sys::stat::mknod(
            &dir.path("logs/dev.log"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            nix::sys::stat::makedev(1, 3),
        )
        .is_ok();
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
    if !is_root() {
        eprintln!("SKIPPED: needs root (directory ownership checks apply to root only)");
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
        out.stderr()
            .contains("logs: directory is writable by a user other than root"),
        "{}",
        out.stderr()
    );
    assert_eq!(dir.snapshot(), before);
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
    if !is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root and must not skip this test"
        );
        eprintln!("SKIPPED: needs root to mount a small tmpfs");
        return;
    }
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [disk/logs/access.log]\n    anonymize: { after: 0s }\n")
        .now("2026-11-29T00:00:00Z");
    let Some(_disk) = SmallDisk::mount(dir.path("disk"), "1m") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to mount a tmpfs"
        );
        eprintln!("SKIPPED: cannot mount a tmpfs here");
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
