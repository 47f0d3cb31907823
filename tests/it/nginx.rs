//! logwarden against a real nginx under load: every request line must end up in exactly
//! one file, and with `after: 0s` no archive may hold a full address.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::{self, *};

/// The nginx binary, or `None` with a plain "skipped" note. Under CI it must be there.
fn nginx_binary() -> Option<&'static str> {
    for p in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(p).exists() {
            return Some(p);
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "nginx is not installed, and CI must not skip this test"
    );
    eprintln!("SKIPPED: nginx is not installed (apt-get install nginx)");
    None
}

struct Nginx {
    child: Child,
    port: u16,
}

impl Nginx {
    fn start(bin: &str, dir: &LogDir) -> Nginx {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() || !dir.path("nginx.pid").exists() {
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx { child, port }
    }

    fn stop(mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGQUIT,
        );
        let _ = self.child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `n` keep-alive requests with unique paths and reads every response.
fn send_requests(port: u16, n: usize) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    for i in 0..n {
        write!(
            writer,
            "GET /r/{i}?from=198.51.100.{} HTTP/1.1\r\nHost: t\r\n\r\n",
            i % 250 + 1
        )
        .unwrap();
        let mut length = 0;
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
    }
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
    let n = 20_000;
    let done = Arc::new(AtomicBool::new(false));
    let passes = std::thread::scope(|s| {
        let done2 = done.clone();
        let dir = &dir;
        let enforcer = s.spawn(move || {
            let mut passes = 0;
            while !done2.load(Ordering::SeqCst) {
                let out = enforce(dir);
                assert_eq!(out.code(), 0, "{}", out.stderr());
                passes += 1;
            }
            passes
        });
        send_requests(nginx.port, n);
        done.store(true, Ordering::SeqCst);
        enforcer.join().unwrap()
    });
    // Everything nginx wrote is rotated and masked once it has let go.
    let out = enforce(&dir);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    nginx.stop();
    let out = enforce(&dir);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let archives = dir
        .names("logs")
        .iter()
        .filter(|n| n.starts_with("access.log-"))
        .count();
    assert!(
        passes >= 3 && archives >= 3,
        "{passes} passes made {archives} archives; the test exercised too little"
    );
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
    let n = 20_000;
    send_requests(nginx.port, n);
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
    let archives = dir
        .names("logs")
        .iter()
        .filter(|n| n.starts_with("access.log-"))
        .count();
    assert!(archives >= 3, "the service rotated only {archives} times");
    assert!(dir.temps("logs").is_empty());
    account_requests(&dir, n);
}
