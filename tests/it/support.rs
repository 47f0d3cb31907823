//! A small builder over a temp dir: write a policy and logs, run the real binary with a
//! fixed clock, read back every line wherever it now lives.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::cargo::CommandCargoExt;
use jiff::Timestamp;

/// The generator's numbered lines, under the names every test module imports from here.
pub use crate::synth::{access_line, client, lines_between};

/// Whether CI runs these tests: `CI` set to anything but empty (CI services set `CI=true`).
/// There, no test may skip.
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Where skipped tests leave their mark: one file per test, named after it, holding why.
pub const SKIPS_DIR: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/test-skips");

/// A test's prerequisite (`what`: a program, root, a file system), `true` when it is
/// `available`; on `false` the test returns at once. Every test that cannot always run goes
/// through here, so no skip is silent:
/// - under CI the missing prerequisite fails the test, naming it;
/// - elsewhere `SKIPPED <test>: needs <what>` goes to the process's stderr, past the
///   harness's capture (which hides `eprintln!` of passing tests), so a passing `cargo test`
///   shows it, and `<target>/tmp/test-skips/<test>` records it. The test's next run that
///   finds it available removes that file, so the directory lists the tests skipped when
///   they last ran.
#[track_caller]
pub fn require(what: &str, available: bool) -> bool {
    use std::io::Write;
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("unnamed test");
    let mark = Path::new(SKIPS_DIR).join(test);
    if available {
        let _ = std::fs::remove_file(mark);
        return true;
    }
    assert!(
        !under_ci(),
        "{test} needs {what}, and under CI (`CI` set) no test may skip"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: needs {what}");
    let _ = std::fs::create_dir_all(SKIPS_DIR);
    let _ = std::fs::write(mark, format!("needs {what}\n"));
    false
}

/// One site, rotated daily, records kept 14 days, full addresses 7.
pub const DAILY_14D_7D: &str = "\
sites:
  main:
    logs: [logs/access.log]
    rotate: { every: 1d }
    retention: 14d
    anonymize: { after: 7d }
";

pub struct LogDir {
    pub tmp: tempfile::TempDir,
    now: Option<String>,
}

pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    /// The stderr lines without the time each starts with (outside journald), for tests
    /// that compare whole lines; panics on a line without one.
    #[track_caller]
    pub fn messages(&self) -> Vec<String> {
        self.stderr()
            .lines()
            .map(|l| {
                let (time, rest) = l
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("no time before {l:?}"));
                assert!(
                    time.parse::<Timestamp>().is_ok() && time.ends_with('Z'),
                    "{l:?} does not start with an RFC 3339 UTC time"
                );
                rest.to_string()
            })
            .collect()
    }
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code(),
            0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

impl LogDir {
    pub fn new() -> LogDir {
        let tmp = tempfile::tempdir().unwrap();
        LogDir { tmp, now: None }
    }

    /// Writes `config.yaml`; a `lock_file` inside the temp dir is added.
    pub fn policy(self, yaml: &str) -> LogDir {
        let text = format!("lock_file: logwarden.lock\n{yaml}");
        std::fs::write(self.path("config.yaml"), text).unwrap();
        self
    }

    pub fn file(self, rel: &str, contents: impl AsRef<[u8]>) -> LogDir {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, contents).unwrap();
        self
    }

    pub fn gz(self, rel: &str, contents: impl AsRef<[u8]>) -> LogDir {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(contents.as_ref()).unwrap();
        let bytes = e.finish().unwrap();
        self.file(rel, bytes)
    }

    pub fn xz(self, rel: &str, contents: impl AsRef<[u8]>) -> LogDir {
        use std::io::Write;
        let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
        e.write_all(contents.as_ref()).unwrap();
        let bytes = e.finish().unwrap();
        self.file(rel, bytes)
    }

    pub fn now(mut self, at: &str) -> LogDir {
        self.now = Some(at.to_string());
        self
    }

    pub fn set_now(&mut self, at: &str) {
        self.now = Some(at.to_string());
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// Sets the mode of `rel` ("" is the temp dir itself).
    pub fn chmod(&self, rel: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.path(rel), std::fs::Permissions::from_mode(mode)).unwrap();
    }

    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Run {
            output: self.command(args).output().unwrap(),
        }
    }

    /// The command `run` would run, to add environment or spawn it.
    pub fn command<I, S>(&self, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = std::process::Command::cargo_bin("logwarden").unwrap();
        cmd.arg("--config").arg(self.path("config.yaml"));
        if let Some(now) = &self.now {
            cmd.arg("--now").arg(now);
        }
        cmd.args(args)
            .env("TZ", "UTC")
            .env_remove("RUST_LOG")
            .env_remove("LOGWARDEN_CONFIG")
            .env_remove("LOGWARDEN_FAILPOINT")
            .env_remove("JOURNAL_STREAM");
        cmd
    }

    /// Every file under `rel` (recursively), name → decompressed bytes.
    pub fn contents(&self, rel: &str) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        for e in walkdir::WalkDir::new(self.path(rel)).sort_by_file_name() {
            let e = e.unwrap();
            if !e.file_type().is_file() {
                continue;
            }
            let name = e
                .path()
                .strip_prefix(self.tmp.path())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(name, read_any(e.path()));
        }
        out
    }

    /// Raw bytes and mtimes of every file, to prove a pass changed nothing.
    pub fn snapshot(&self) -> BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
        let mut out = BTreeMap::new();
        for e in walkdir::WalkDir::new(self.tmp.path()).sort_by_file_name() {
            let e = e.unwrap();
            // The lock and the live logs' facts cache beside it are logwarden's own state.
            let own = e.file_name() == "logwarden.lock" || e.file_name() == "logwarden.facts";
            if e.file_type().is_file() && !own {
                let name = e
                    .path()
                    .strip_prefix(self.tmp.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let meta = e.metadata().unwrap();
                out.insert(
                    name,
                    (std::fs::read(e.path()).unwrap(), meta.modified().unwrap()),
                );
            }
        }
        out
    }

    pub fn names(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path(rel))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// A file's bytes, decompressed by its extension. Panics on a corrupt archive.
pub fn read_any(path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(path).unwrap();
    let mut bytes = Vec::new();
    let name = path.to_string_lossy();
    if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(file)
            .read_to_end(&mut bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    } else if name.ends_with(".xz") {
        xz2::read::XzDecoder::new_multi_decoder(file)
            .read_to_end(&mut bytes)
            .unwrap();
    } else if name.ends_with(".zst") {
        zstd::stream::read::Decoder::new(file)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
    } else {
        let mut f = file;
        f.read_to_end(&mut bytes).unwrap();
    }
    bytes
}

pub fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A day of hourly lines from midnight UTC of `day` (`2026-11-01`), ids from 0.
pub fn a_day_of_lines(day: &str) -> String {
    let from = t(&format!("{day}T00:00:00Z"));
    lines_between(from, from + jiff::SignedDuration::from_hours(24), 3600, 0).0
}

/// Appends as a web server does (O_APPEND), creating the file and its directory.
pub fn append(path: &Path, text: &str) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The request id, time and client of a combined access line. The stamp is the last
/// bracketed field before the request's quote, so a user name carrying a date (the hostile
/// simulation writes such) is not read as one; this reader shares no code with logwarden's.
pub fn parse_line(line: &str) -> Option<(u64, Timestamp, &str)> {
    let ip = line.split(' ').next()?;
    let id = line
        .split("/page/")
        .nth(1)?
        .split('?')
        .next()?
        .parse()
        .ok()?;
    let head = line.split('"').next()?;
    let stamp = head.rsplit('[').next()?.split(']').next()?;
    let at = jiff::fmt::strtime::parse("%d/%b/%Y:%H:%M:%S %z", stamp)
        .ok()?
        .to_timestamp()
        .ok()?;
    Some((id, at, ip))
}

/// Whether an address text has no host bits beyond /24 (IPv4) or /40 (IPv6).
pub fn is_truncated(ip: &str) -> bool {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.octets()[3] == 0,
        Ok(IpAddr::V6(v6)) => u128::from(v6) & ((1u128 << 88) - 1) == 0,
        Err(_) => true,
    }
}

/// A running `logwarden watch`, its stderr in `watch.log` beside the logs. Killed on drop.
pub struct Daemon {
    pub child: std::process::Child,
    pub log: PathBuf,
}

impl LogDir {
    /// Starts `logwarden watch` (with `--now` if set, which then advances in real time).
    pub fn watch(&self, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Daemon {
        let log = self.path("watch.log");
        let err = std::fs::File::create(&log).unwrap();
        let mut cmd = std::process::Command::cargo_bin("logwarden").unwrap();
        cmd.arg("--config").arg(self.path("config.yaml"));
        if let Some(now) = &self.now {
            cmd.arg("--now").arg(now);
        }
        cmd.arg("watch")
            .args(args)
            .env("TZ", "UTC")
            .env("RUST_LOG", "debug")
            .env_remove("LOGWARDEN_CONFIG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("JOURNAL_STREAM")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(err);
        let d = Daemon {
            child: cmd.spawn().unwrap(),
            log,
        };
        assert!(
            wait_until(10, || d.log().contains("watching")),
            "watch did not start:\n{}",
            d.log()
        );
        d
    }
}

impl Daemon {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits until the log has `needle` `count` times or more.
    #[track_caller]
    pub fn expect_log(&self, needle: &str, count: usize) {
        assert!(
            wait_until(10, || self.log().matches(needle).count() >= count),
            "{needle:?} x{count} not logged:\n{}",
            self.log()
        );
    }

    /// SIGTERM; the exit status.
    pub fn stop(mut self) -> i32 {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code().unwrap_or(-1);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("watch did not stop on SIGTERM:\n{}", self.log());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A local port, free for both TCP and UDP when asked, for a server the test starts that binds
/// it itself. Taken below the kernel's ephemeral range (`ip_local_port_range`): a port picked
/// by binding port 0 and closing it can be handed to any other socket that binds port 0 (a
/// client, another test's sender) before the server binds it, and the server then fails or,
/// for UDP, the test's datagrams go to the wrong socket. Nothing binds port 0 below that
/// range, and ports are handed out in turn (from a start drawn from the process id), so
/// tests running at once in this or another test process do not meet.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    let (base, span) = if low > 12000 {
        (10000, low - 10000)
    } else {
        (low.saturating_sub(2000).max(1024), 1000)
    };
    let start = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let port = (base + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span) as u16;
        let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
        let udp = std::net::UdpSocket::bind(("127.0.0.1", port));
        if tcp.is_ok() && udp.is_ok() {
            return port;
        }
    }
    panic!("no free port between {base} and {}", base + span);
}

/// Polls `f` every 20 ms for up to `secs` seconds.
pub fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if f() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A web server stand-in on a thread: appends numbered access lines (stamped with the real
/// time) at `per_sec`, opening the live file for each line as a piped logger would after a
/// reopen, so nothing holds a rotated archive for long.
pub struct Writer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Writer {
    pub fn start(path: PathBuf, per_sec: u64) -> Writer {
        use std::io::Write;
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let gap = std::time::Duration::from_micros(1_000_000 / per_sec);
            let mut id = 0;
            while !flag.load(Ordering::SeqCst) {
                let line = access_line(&client(id), Timestamp::now(), id);
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&path)
                    .unwrap();
                f.write_all(line.as_bytes()).unwrap();
                drop(f);
                id += 1;
                std::thread::sleep(gap);
            }
            id
        });
        Writer {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops writing; how many lines were written (ids `0..n`).
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl LogDir {
    /// Asserts every id in `0..n` is in exactly one line of the files under `rel`.
    #[track_caller]
    pub fn assert_lines_kept(&self, rel: &str, n: u64) {
        let mut seen = BTreeMap::new();
        for (name, bytes) in self.contents(rel) {
            for line in String::from_utf8_lossy(&bytes).lines() {
                let (id, _, _) = parse_line(line).unwrap_or_else(|| panic!("{name}: {line}"));
                *seen.entry(id).or_insert(0) += 1;
            }
        }
        for id in 0..n {
            assert_eq!(seen.get(&id), Some(&1), "line {id} of {n}");
        }
        assert_eq!(seen.len() as u64, n);
    }

    /// Temporary files left anywhere under `rel`.
    pub fn temps(&self, rel: &str) -> Vec<String> {
        walkdir::WalkDir::new(self.path(rel))
            .into_iter()
            .filter_map(std::result::Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".logwarden-") || n.ends_with(".tmp"))
            .collect()
    }
}

/// Panics if `text` holds an address with host bits set: checked both by the masking
/// engine and by parsing every address-like token with std::net.
#[track_caller]
pub fn assert_no_full_address(text: &str) {
    let mask = logwarden::anonymize::Mask::default();
    for line in text.lines() {
        let mut out = Vec::new();
        let n = logwarden::anonymize::mask_line(&mask, line.as_bytes(), &mut out);
        assert_eq!(n, 0, "the report holds a full address: {line}");
    }
    let tokens = text.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'));
    for tok in tokens {
        let tok = tok.trim_matches(|c| c == '.' || c == ':');
        if tok.parse::<IpAddr>().is_ok() {
            assert!(is_truncated(tok), "the report holds a full address: {tok}");
        }
    }
}

/// A stand-in web server: a shell that holds the log open for appending and records the
/// reopen signal, so the test sees the real signal arrive.
pub struct FakeServer {
    pub child: std::process::Child,
}

impl FakeServer {
    pub fn start(dir: &LogDir, log: &str) -> FakeServer {
        let script = "trap 'echo reopened >> \"$MARKER\"' USR1; echo ready >> \"$MARKER\"; while :; do sleep 0.05 >/dev/null; done";
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path(log))
            .unwrap();
        let child = std::process::Command::new("sh")
            .args(["-c", script])
            .env("MARKER", dir.path("marker"))
            .stdout(log)
            .spawn()
            .unwrap();
        std::fs::write(dir.path("server.pid"), format!("{}\n", child.id())).unwrap();
        for _ in 0..200 {
            if std::fs::read_to_string(dir.path("marker")).is_ok_and(|m| m.contains("ready")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        FakeServer { child }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
