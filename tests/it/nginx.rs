//! logwarden against a real nginx under load: every request line must end up in exactly
//! one file, and with `after: 0s` no archive may hold a full address.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{self, *};

/// The nginx binary, or `None` when the test skips (`support::require`: never under CI).
fn nginx_binary() -> Option<&'static str> {
    let found = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    // Missing: `require` fails the test under CI, else says so and the test returns.
    support::require("nginx (apt-get install nginx)", found.is_some());
    found
}

struct Nginx {
    child: Child,
    port: u16,
    /// Stopped and reaped by `stop`.
    stopped: bool,
}

impl Nginx {
    fn start(bin: &str, dir: &LogDir) -> Nginx {
        let port = support::free_port();
        let root = dir.tmp.path().display().to_string();
        for d in ["logs", "tmp"] {
            std::fs::create_dir_all(dir.path(d)).unwrap();
        }
        let conf = format!(
            "daemon off;\nmaster_process on;\nworker_processes 1;\npid {root}/nginx.pid;\n\
             error_log {root}/logs/error.log notice;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log {root}/logs/access.log;\n  keepalive_requests 1000000;\n\
               client_body_temp_path {root}/tmp/body;\n  proxy_temp_path {root}/tmp/proxy;\n\
               fastcgi_temp_path {root}/tmp/fastcgi;\n  uwsgi_temp_path {root}/tmp/uwsgi;\n\
               scgi_temp_path {root}/tmp/scgi;\n\
               server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"ok\\n\"; }} }}\n}}\n"
        );
        std::fs::write(dir.path("nginx.conf"), conf).unwrap();
        let child = Command::new(bin)
            .args([
                "-p",
                &root,
                "-c",
                &format!("{root}/nginx.conf"),
                "-e",
                &format!("{root}/logs/error.log"),
            ])
            .stdin(Stdio::null())
            // A group of its own, so a failing test kills the workers too (Drop).
            .process_group(0)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() || !dir.path("nginx.pid").exists() {
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            child,
            port,
            stopped: false,
        }
    }

    fn stop(mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGQUIT,
        );
        let _ = self.child.wait();
        self.stopped = true;
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if self.stopped {
            // Reaped: the group's id may belong to someone else by now.
            return;
        }
        // The master and its workers: a worker left behind would hold the test's port and
        // logs after a failed test. The group's id is the master's pid.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }
}

/// One keep-alive client that sends requests with unique, numbered paths and reads every
/// response, so a request counted as sent is one nginx has logged.
struct Client {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    sent: usize,
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
            sent: 0,
        }
    }

    fn request(&mut self) {
        let i = self.sent;
        write!(
            self.writer,
            "GET /r/{i}?from=198.51.100.{} HTTP/1.1\r\nHost: t\r\n\r\n",
            i % 250 + 1
        )
        .unwrap();
        let mut line = String::new();
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        self.sent += 1;
    }
}

/// Requests per second of the paced load: about 200 KB of log a second, three times the
/// 64 KiB size limit, so a limit is crossed many times between two looks of the service.
const RATE: u64 = 2_000;
/// The load runs at least this long, and past it until `enough` says the run exercised
/// what it is for, at most `LOAD_CAP`. Pacing (not a burst) makes the outcome independent
/// of how fast this machine is: a slow machine just takes longer to reach `enough`.
const LOAD_MIN: Duration = Duration::from_secs(4);
const LOAD_CAP: Duration = Duration::from_secs(90);

/// Sends a paced load until `LOAD_MIN` has passed and `enough()` holds; returns the
/// number of requests sent (ids `0..n`). Fails, naming what was missing, at `LOAD_CAP`.
fn paced_load(port: u16, mut enough: impl FnMut() -> bool) -> usize {
    let mut client = Client::connect(port);
    let start = Instant::now();
    let mut reached = false;
    while !reached {
        // Ten batches a second, each sent as fast as nginx answers, then a sleep.
        for _ in 0..RATE / 10 {
            client.request();
        }
        let due = start + Duration::from_millis(client.sent as u64 * 1000 / RATE);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let elapsed = start.elapsed();
        reached = elapsed >= LOAD_MIN && enough();
        assert!(
            reached || elapsed < LOAD_CAP,
            "after {}s of load ({} requests) the run still had not exercised enough",
            elapsed.as_secs(),
            client.sent
        );
    }
    client.sent
}

fn archive_count(dir: &LogDir) -> usize {
    dir.names("logs")
        .iter()
        .filter(|n| n.starts_with("access.log-"))
        .count()
}

fn enforce(dir: &LogDir) -> Run {
    dir.run(["enforce"])
}

/// Reads every request id in the logs directory and checks each appears once.
fn account_requests(dir: &LogDir, n: usize) {
    let mut seen = vec![0u32; n];
    for (name, bytes) in dir.contents("logs") {
        if name.contains("error.log") {
            continue;
        }
        let text = String::from_utf8(bytes).unwrap();
        let archived = name != "logs/access.log";
        for line in text.lines() {
            let Some(rest) = line.split("GET /r/").nth(1) else {
                continue;
            };
            let id: usize = rest.split('?').next().unwrap().parse().unwrap();
            seen[id] += 1;
            if archived {
                assert!(
                    line.starts_with("127.0.0.0 "),
                    "{name}: full address in an archive: {line}"
                );
                assert!(
                    line.contains("from=198.51.100.0 "),
                    "{name}: full address in an archive: {line}"
                );
            }
        }
    }
    let lost: Vec<usize> = (0..n).filter(|&i| seen[i] == 0).collect();
    let doubled: Vec<usize> = (0..n).filter(|&i| seen[i] > 1).collect();
    assert!(
        lost.is_empty(),
        "{} lines lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    assert!(
        doubled.is_empty(),
        "{} lines in two files, e.g. {:?}",
        doubled.len(),
        &doubled[..doubled.len().min(10)]
    );
}

/// Small rotations, truncation at rotation, a USR1 reopen through nginx's pid file.
const UNDER_LOAD: &str = "sites:\n  web:\n    logs: [logs/access.log]\n    rotate: { max_size: 64k }\n    \
    anonymize: { after: 0s }\n    reopen: { signal: USR1, pidfile: nginx.pid }\n";

#[test]
fn enforce_under_load_loses_no_request_line() {
    let Some(bin) = nginx_binary() else { return };
    let dir = LogDir::new().policy(UNDER_LOAD);
    let nginx = Nginx::start(bin, &dir);
    let done = AtomicBool::new(false);
    let passes = AtomicUsize::new(0);
    let n = std::thread::scope(|s| {
        let (dir, done, passes) = (&dir, &done, &passes);
        let enforcer = s.spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let out = enforce(dir);
                assert_eq!(out.code(), 0, "{}", out.stderr());
                passes.fetch_add(1, Ordering::SeqCst);
            }
        });
        // Enough: several passes ran during the load and rotated at least three times.
        let n = paced_load(nginx.port, || {
            passes.load(Ordering::SeqCst) >= 3 && archive_count(dir) >= 3
        });
        done.store(true, Ordering::SeqCst);
        enforcer.join().unwrap();
        n
    });
    // Everything nginx wrote is rotated and masked once it has let go.
    let out = enforce(&dir);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    nginx.stop();
    let out = enforce(&dir);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert!(
        dir.names("logs")
            .iter()
            .filter(|n| n.starts_with("access.log-"))
            .all(|n| n.ends_with(".gz"))
    );
    account_requests(&dir, n);
}

#[test]
fn watch_under_load_loses_no_request_line() {
    let Some(bin) = nginx_binary() else { return };
    let dir = LogDir::new().policy(UNDER_LOAD);
    let nginx = Nginx::start(bin, &dir);
    let daemon = dir.watch(&[], &[]);
    // Enough: the service rotated three times while the load ran.
    let n = paced_load(nginx.port, || archive_count(&dir) >= 3);
    // The last size limit crossed is acted on within seconds.
    assert!(
        support::wait_until(20, || std::fs::metadata(dir.path("logs/access.log"))
            .is_ok_and(|m| m.len() < 64 * 1024)),
        "{}",
        daemon.log()
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(daemon.stop(), 0);
    nginx.stop();
    // What nginx still held when the service stopped is finished by one pass.
    let out = enforce(&dir);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert!(dir.temps("logs").is_empty());
    account_requests(&dir, n);
}
