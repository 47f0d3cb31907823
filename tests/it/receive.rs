//! Write-time inputs with the real servers: nginx through a unix socket (one per log, and
//! one shared by tag) and over loopback UDP, HAProxy through a unix socket, Apache through
//! `logwarden pipe`. Each server also writes the same requests to a plain file of its own
//! (nginx and Apache beside the socket or pipe, HAProxy to its stdout): that file, masked
//! by `logwarden anonymize`, is the oracle the received log must equal line for line
//! (nothing lost, nothing doubled, nothing altered beyond masking). Under `after: 0s` a
//! scanner of the test's own (a regex and `std::net`, no code of `src/anonymize`) reads the
//! received logs' directory, every file and archive, while the load runs, and must never
//! find a full client address.
//!
//! Loads are paced over a fixed time and the outcome is accounting, never timing: every
//! request sent is in exactly one line of one file, and the service counts no loss.
//!
//! The unix datagram queue: a unix socket holds `net.unix.max_dgram_qlen` datagrams, 10 on
//! a bare kernel (and on this project's machines), before nginx's non-blocking send fails
//! and the line is lost on nginx's side. The limit is per network namespace and a socket
//! takes it from the namespace it is made in, so `watch` runs in a namespace of its own
//! (`unshare -n`) where it is 512, as systemd sets it at boot; the servers, in the host's
//! namespace, still reach the socket through its file. Measured: a non-blocking sender
//! fits 513 datagrams into a socket bound in such a namespace and 11 into one bound in the
//! host's; with 10 in the namespace, the first test below lost 57 of its 5,100 lines. That
//! needs root; UDP tests cannot use it (loopback differs), their load is paced well below
//! what the kernel buffer holds.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

use crate::support::{self, *};

// ---- Programs and processes -----------------------------------------------------------

/// A program the test needs, or `None` when the test skips (`support::require`: never
/// under CI).
fn program(path: &'static str, package: &str) -> Option<&'static str> {
    let found = Path::new(path).exists();
    support::require(&format!("{path} (apt-get install {package})"), found);
    found.then_some(path)
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A server in a process group of its own (killed whole on drop), its output in
/// `<name>.out`.
struct Server {
    name: &'static str,
    child: Child,
    out: PathBuf,
    reaped: bool,
}

impl Server {
    fn start(dir: &LogDir, name: &'static str, cmd: &mut Command) -> Server {
        Server::start_to(dir, name, cmd, None)
    }

    /// As `start`, its stdout to `stdout` when given.
    fn start_to(
        dir: &LogDir,
        name: &'static str,
        cmd: &mut Command,
        stdout: Option<std::fs::File>,
    ) -> Server {
        let out = dir.path(&format!("{name}.out"));
        let file = std::fs::File::create(&out).unwrap();
        cmd.process_group(0)
            .env("TZ", "UTC")
            .current_dir(dir.tmp.path())
            .stdin(Stdio::null())
            .stderr(file.try_clone().unwrap());
        cmd.stdout(stdout.unwrap_or(file));
        let child = cmd.spawn().unwrap_or_else(|e| panic!("{name}: {e}"));
        Server {
            name,
            child,
            out,
            reaped: false,
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    #[track_caller]
    fn wait_port(&mut self, port: u16) {
        let mut exited = None;
        let ok = support::wait_until(20, || {
            if let Some(st) = self.child.try_wait().unwrap() {
                exited = Some(st);
                return true;
            }
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(
            ok && exited.is_none(),
            "{} not listening (exit: {exited:?}):\n{}",
            self.name,
            self.output()
        );
    }

    fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    /// `sig` to the leader, and waits for its exit (the server has written its logs).
    fn stop(&mut self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(self.pid(), sig);
        let _ = self.child.wait();
        self.reaped = true;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Reaped: the group's id may belong to someone else by now.
        if !self.reaped {
            let _ = nix::sys::signal::killpg(self.pid(), nix::sys::signal::Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

// ---- The test's tree ------------------------------------------------------------------

/// `run/` for the sockets, `logs/` for what logwarden writes, `plain/` for the servers' own
/// files. As root the servers' workers run as nobody:nogroup, as a distribution runs them
/// as www-data: the sockets are made for group nogroup (`receive_group:`), in a directory
/// only root writes and nogroup may enter. Returns the site keys that say so.
fn tree(dir: &LogDir) -> String {
    for d in ["run", "logs", "plain", "tmp"] {
        std::fs::create_dir_all(dir.path(d)).unwrap();
    }
    if !is_root() {
        return String::new();
    }
    let group = nix::unistd::Group::from_name("nogroup")
        .unwrap()
        .expect("group nogroup");
    nix::unistd::chown(&dir.path("run"), None, Some(group.gid)).unwrap();
    dir.chmod("run", 0o750);
    dir.chmod("", 0o711);
    "    receive_group: nogroup\n".to_string()
}

fn sock(dir: &LogDir, name: &str) -> String {
    dir.path(&format!("run/{name}.sock")).display().to_string()
}

/// `logwarden watch` in a network namespace of its own where `net.unix.max_dgram_qlen` is
/// 512 (see the module's comment), with a metrics file; `None` when the test skips (not
/// root). It `exec`s, so the pid is logwarden's own and SIGTERM stops it.
fn watch_in_netns(dir: &LogDir) -> Option<Daemon> {
    let unshare = Path::new("/usr/bin/unshare");
    if !support::require(
        "root and unshare (util-linux), for a network namespace whose max_dgram_qlen is 512",
        is_root() && unshare.exists(),
    ) {
        return None;
    }
    let log = dir.path("watch.log");
    let err = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(unshare);
    cmd.args([
        "-n",
        "sh",
        "-c",
        "echo 512 > /proc/sys/net/unix/max_dgram_qlen && exec \"$0\" \"$@\"",
    ])
    .arg(assert_cmd::cargo::cargo_bin("logwarden"))
    .arg("--config")
    .arg(dir.path("config.yaml"))
    .arg("watch")
    .arg("--metrics-file")
    .arg(dir.path("metrics.prom"))
    .env("TZ", "UTC")
    .env("RUST_LOG", "debug")
    .env_remove("LOGWARDEN_CONFIG")
    .env_remove("NOTIFY_SOCKET")
    .env_remove("WATCHDOG_USEC")
    .env_remove("WATCHDOG_PID")
    .env_remove("LISTEN_FDS")
    .env_remove("LISTEN_PID")
    .env_remove("JOURNAL_STREAM")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(err);
    let d = Daemon {
        child: cmd.spawn().unwrap(),
        log,
    };
    assert!(
        support::wait_until(10, || d.log().contains("watching")),
        "watch did not start:\n{}",
        d.log()
    );
    // It read 512 in its namespace: no warning about a small queue.
    assert!(!d.log().contains("max_dgram_qlen"), "{}", d.log());
    Some(d)
}

// ---- Load -------------------------------------------------------------------------------

/// The client address request `id` claims (X-Forwarded-For, which the servers take as the
/// client): IPv4 and IPv6 in turn, each with host bits beyond /24 and /40.
fn client_of(id: usize) -> String {
    if id % 2 == 0 {
        format!("203.0.113.{}", id % 250 + 1)
    } else {
        format!("2001:db8:abcd:{:x}::{}", id % 4096, id % 7 + 1)
    }
}

/// One keep-alive connection; every response is read, so a request counted as sent is one
/// the server has logged (or is about to, as it closes the transaction).
struct Client {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    /// `GET {path}{id}?from=…`; the status.
    fn request(&mut self, path: &str, id: usize) -> u16 {
        write!(
            self.writer,
            "GET {path}{id}?from=198.51.100.{} HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: {}\r\n\r\n",
            id % 250 + 1,
            client_of(id)
        )
        .unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("request {id}: {line:?}"));
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        status
    }
}

/// Sends requests `0..n` evenly over `over`, in batches every 20 ms, round robin over
/// `targets` (port, path prefix): request `id` goes to `targets[id % len]`. `each` sees
/// every status.
fn paced(targets: &[(u16, &str)], n: usize, over: Duration, each: impl Fn(usize, u16)) {
    let mut clients: Vec<Client> = targets.iter().map(|&(p, _)| Client::connect(p)).collect();
    let start = Instant::now();
    let tick = Duration::from_millis(20);
    let per_tick = (n as u128 * tick.as_nanos() / over.as_nanos().max(1)).max(1) as usize;
    let mut id = 0;
    while id < n {
        for _ in 0..per_tick.min(n - id) {
            let k = id % targets.len();
            let status = clients[k].request(targets[k].1, id);
            each(id, status);
            id += 1;
        }
        let due = start + tick * (id / per_tick) as u32;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

// ---- The independent scanner ----------------------------------------------------------

/// Full addresses in `text`: IPv4 with a host part beyond /24, IPv6 beyond /40, found by a
/// regex and parsed by `std::net` (an IPv4 address glued to its port too), sharing no code
/// with logwarden's masking.
fn full_addresses(text: &str) -> Vec<String> {
    use std::sync::OnceLock;
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}")
            .unwrap()
    });
    re.find_iter(text)
        .map(|m| m.as_str())
        .filter(|c| c.parse::<IpAddr>().is_ok() && !is_truncated(c))
        .map(str::to_string)
        .collect()
}

/// Reads every file under a directory (gzip archives decompressed as far as they go, a
/// file being written read as it stands) again and again until finished; what it found.
struct Scanner {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, Vec<String>)>,
}

impl Scanner {
    fn start(root: PathBuf) -> Scanner {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut rounds = 0;
            let mut found = Vec::new();
            while !flag.load(Ordering::SeqCst) {
                for e in walkdir::WalkDir::new(&root).into_iter().flatten() {
                    if !e.file_type().is_file() {
                        continue;
                    }
                    let Ok(file) = std::fs::File::open(e.path()) else {
                        continue; // renamed or removed since the listing
                    };
                    let mut bytes = Vec::new();
                    let name = e.path().display().to_string();
                    let _ = if name.ends_with(".gz") {
                        flate2::read::MultiGzDecoder::new(file).read_to_end(&mut bytes)
                    } else {
                        (&file).read_to_end(&mut bytes)
                    };
                    for line in String::from_utf8_lossy(&bytes).lines() {
                        for a in full_addresses(line) {
                            found.push(format!("{name}: {a} in {line:?}"));
                        }
                    }
                }
                rounds += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            (rounds, found)
        });
        Scanner { stop, thread }
    }

    /// Stops; asserts it looked several times and never saw a full address.
    #[track_caller]
    fn finish(self) {
        self.stop.store(true, Ordering::SeqCst);
        let (rounds, found) = self.thread.join().unwrap();
        assert!(rounds >= 3, "the scanner looked only {rounds} times");
        assert!(
            found.is_empty(),
            "{} full addresses on disk, e.g.:\n{}",
            found.len(),
            found[..found.len().min(10)].join("\n")
        );
    }
}

// ---- Comparing ---------------------------------------------------------------------------

/// The lines of a received log in every file it is now in: `rel` (`logs/access.log`) and
/// its archives beside it (`access.log-…`, gzip or not), with how many files hold them. Read
/// again when a file went between the listing and its reading (compressed meanwhile).
fn received(dir: &LogDir, rel: &str) -> (Vec<String>, usize) {
    let (parent, name) = rel.rsplit_once('/').unwrap();
    'again: loop {
        let mut lines = Vec::new();
        let mut files = 0;
        for n in dir.names(parent) {
            let temp = n.contains(".logwarden-") || n.ends_with(".tmp");
            if temp || !(n == name || n.starts_with(&format!("{name}-"))) {
                continue;
            }
            let Ok(mut bytes) = std::fs::read(dir.path(&format!("{parent}/{n}"))) else {
                continue 'again;
            };
            if n.ends_with(".gz") {
                let mut plain = Vec::new();
                flate2::read::MultiGzDecoder::new(&bytes[..])
                    .read_to_end(&mut plain)
                    .unwrap_or_else(|e| panic!("{n}: {e}"));
                bytes = plain;
            }
            files += 1;
            let text = String::from_utf8(bytes).unwrap();
            lines.extend(text.lines().map(str::to_string));
        }
        return (lines, files);
    }
}

/// `file` as `logwarden anonymize` masks it: the oracle.
fn masked(dir: &LogDir, file: &str) -> Vec<String> {
    let out = dir
        .run(["anonymize".as_ref(), dir.path(file).as_os_str()])
        .ok();
    out.stdout().lines().map(str::to_string).collect()
}

/// `got` and `want` hold the same lines, as many times each (the order across a
/// rotation's files is the archive names' business, not this test's).
#[track_caller]
fn assert_same_lines(what: &str, mut got: Vec<String>, mut want: Vec<String>) {
    got.sort();
    want.sort();
    if got == want {
        return;
    }
    let count = |v: &[String]| {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        for l in v {
            *m.entry(l.clone()).or_default() += 1;
        }
        m
    };
    let (g, w) = (count(&got), count(&want));
    let missing: Vec<_> = w
        .iter()
        .filter(|(l, n)| g.get(*l) != Some(n))
        .take(5)
        .collect();
    let extra: Vec<_> = g
        .iter()
        .filter(|(l, n)| w.get(*l) != Some(n))
        .take(5)
        .collect();
    panic!(
        "{what}: {} lines received, {} expected\nexpected but not received as often (line, times):\n{missing:#?}\nreceived but not expected as often:\n{extra:#?}",
        got.len(),
        want.len()
    );
}

/// Each of the ids `0..n` whose request `kept(id)` is in exactly one of `lines` (requests
/// are recognised by `marker` followed by the id).
#[track_caller]
fn assert_each_once(lines: &[String], marker: &str, n: usize, kept: impl Fn(usize) -> bool) {
    let mut seen = vec![0u32; n];
    for l in lines {
        if let Some(rest) = l.split(marker).nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let id: usize = digits.parse().unwrap_or_else(|_| panic!("{l}"));
            assert!(id < n && kept(id), "a request never sent this way: {l}");
            seen[id] += 1;
        }
    }
    let wrong: Vec<(usize, u32)> = (0..n)
        .filter(|&i| kept(i) && seen[i] != 1)
        .map(|i| (i, seen[i]))
        .take(10)
        .collect();
    assert!(wrong.is_empty(), "(request, lines) not once: {wrong:?}");
}

/// A metric family's samples whose labels hold `needle`, summed.
fn metric(dir: &LogDir, family: &str, needle: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.path("metrics.prom")).ok()?;
    let mut sum = None;
    for l in text.lines() {
        if l.starts_with(&format!("{family}{{")) && l.contains(needle) {
            let v: f64 = l.rsplit(' ').next()?.parse().ok()?;
            *sum.get_or_insert(0.0) += v;
        }
    }
    sum
}

/// A pass (SIGUSR1) writes the service's counters: `lines` written to the log `rel`, none
/// lost on any input.
#[track_caller]
fn assert_counted(dir: &LogDir, daemon: &Daemon, rel: &str, lines: usize) {
    let log = dir.path(rel).display().to_string();
    daemon.signal(nix::sys::signal::Signal::SIGUSR1);
    let written = || {
        metric(
            dir,
            "logwarden_received_lines_total",
            &format!("log=\"{log}\""),
        ) == Some(lines as f64)
    };
    assert!(
        support::wait_until(10, written),
        "{rel}: {lines} lines not counted:\n{}",
        std::fs::read_to_string(dir.path("metrics.prom")).unwrap_or_default()
    );
    assert_eq!(
        metric(dir, "logwarden_received_lost_total", ""),
        Some(0.0),
        "{}",
        std::fs::read_to_string(dir.path("metrics.prom")).unwrap_or_default()
    );
}

/// Whether no compression is under way in the directory of `rel`: no temp file, no archive
/// both plain and gzip.
fn settled(dir: &LogDir, rel: &str) -> bool {
    let parent = rel.rsplit_once('/').unwrap().0;
    let names = dir.names(parent);
    dir.temps(parent).is_empty() && !names.iter().any(|n| names.contains(&format!("{n}.gz")))
}

/// Waits until `rel` and its archives hold `n` lines (the writer syncs within a second) and
/// no archive is being compressed.
#[track_caller]
fn wait_lines(dir: &LogDir, rel: &str, n: usize, why: &dyn Fn() -> String) {
    assert!(
        support::wait_until(15, || received(dir, rel).0.len() >= n && settled(dir, rel)),
        "{rel}: {} of {n} lines, files {:?}\n{}",
        received(dir, rel).0.len(),
        dir.names(rel.rsplit_once('/').unwrap().0),
        why()
    );
}

// ---- nginx ------------------------------------------------------------------------------

/// nginx in the foreground, one worker, the client address from X-Forwarded-For; `http` is
/// the rest of its `http` block (servers and logs).
fn start_nginx(bin: &str, dir: &LogDir, http: &str, ports: &[u16]) -> Server {
    let root = dir.tmp.path().display().to_string();
    let user = if is_root() {
        "user nobody nogroup;\n"
    } else {
        ""
    };
    let conf = format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\n{user}pid {root}/nginx.pid;\n\
         error_log {root}/nginx-error.log notice;\nevents {{ worker_connections 64; }}\n\
         http {{\n  keepalive_requests 1000000;\n  client_body_temp_path {root}/tmp/body;\n  \
         proxy_temp_path {root}/tmp/proxy;\n  fastcgi_temp_path {root}/tmp/fastcgi;\n  \
         uwsgi_temp_path {root}/tmp/uwsgi;\n  scgi_temp_path {root}/tmp/scgi;\n  \
         set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n{http}}}\n"
    );
    std::fs::write(dir.path("nginx.conf"), conf).unwrap();
    let mut server = Server::start(
        dir,
        "nginx",
        Command::new(bin).args([
            "-p",
            &root,
            "-c",
            &format!("{root}/nginx.conf"),
            "-e",
            &format!("{root}/nginx-error.log"),
        ]),
    );
    for &p in ports {
        server.wait_port(p);
    }
    server
}

/// What nginx said about its syslog sends (a failed send is a line it lost).
fn nginx_said(dir: &LogDir) -> String {
    std::fs::read_to_string(dir.path("nginx-error.log")).unwrap_or_default()
}

/// nginx logs every request to a unix socket and to its own file, each error of the
/// `/missing/` requests likewise; `watch`, under `after: 0s`, writes both received logs,
/// rotating the access log many times at 64 KiB during the load. Every line equals
/// nginx's own, masked; none is lost or doubled; no full address is on disk at any moment;
/// `check` passes.
#[test]
fn nginx_through_unix_sockets_writes_its_own_lines_masked_and_never_a_full_address() {
    let Some(bin) = program("/usr/sbin/nginx", "nginx") else {
        return;
    };
    let dir = LogDir::new();
    let group = tree(&dir);
    let root = dir.tmp.path().display().to_string();
    let (access, error) = (sock(&dir, "access"), sock(&dir, "error"));
    let dir = dir.policy(&format!(
        "sites:\n  main:\n    logs:\n      - {{ path: logs/access.log, receive: \"unix:{access}\" }}\n      \
         - {{ path: logs/error.log, receive: \"unix:{error}\", format: nginx-error }}\n{group}    \
         rotate: {{ max_size: 64k }}\n    anonymize: {{ after: 0s }}\n"
    ));
    let Some(daemon) = watch_in_netns(&dir) else {
        return;
    };
    let port = support::free_port();
    let http = format!(
        "  access_log syslog:server=unix:{access},nohostname combined;\n  \
         access_log {root}/plain/access.log combined;\n  \
         error_log syslog:server=unix:{error},nohostname error;\n  \
         error_log {root}/plain/error.log error;\n  \
         server {{\n    listen 127.0.0.1:{port};\n    location / {{ return 200 \"ok\\n\"; }}\n    \
         location /missing/ {{ root {root}/nothing; }}\n  }}\n"
    );
    let mut nginx = start_nginx(bin, &dir, &http, &[port]);
    let scanner = Scanner::start(dir.path("logs"));
    // About 190 bytes a line, 1,250 lines a second: 64 KiB is crossed every ~0.3 s, and the
    // service rotates each time it looks.
    let n = 5_000;
    paced(&[(port, "/r/")], n, Duration::from_secs(4), |id, status| {
        assert_eq!(status, 200, "request {id}");
    });
    // Every 50th request also leaves an error line.
    let errors = 100;
    paced(
        &[(port, "/missing/")],
        errors,
        Duration::from_millis(200),
        |id, st| {
            assert_eq!(st, 404, "request {id}");
        },
    );
    let said = || format!("nginx:\n{}\nwatch:\n{}", nginx_said(&dir), daemon.log());
    wait_lines(&dir, "logs/access.log", n + errors, &said);
    wait_lines(&dir, "logs/error.log", errors, &said);
    // The last size limit crossed is acted on: the live file is back under it.
    assert!(
        support::wait_until(10, || std::fs::metadata(dir.path("logs/access.log"))
            .is_ok_and(|m| m.len() < 64 * 1024)),
        "{}",
        daemon.log()
    );
    wait_lines(&dir, "logs/access.log", n + errors, &said);
    scanner.finish();
    assert_counted(&dir, &daemon, "logs/access.log", n + errors);

    let (lines, files) = received(&dir, "logs/access.log");
    assert!(files >= 2, "not rotated during the load");
    assert_each_once(&lines, "GET /r/", n, |_| true);
    assert_each_once(&lines, "GET /missing/", errors, |_| true);
    assert_same_lines("access log", lines, masked(&dir, "plain/access.log"));
    let (lines, _) = received(&dir, "logs/error.log");
    assert_same_lines("error log", lines, masked(&dir, "plain/error.log"));
    // A send nginx could not make (a full socket queue) it says in its own error log.
    let said = nginx_said(&dir);
    assert!(
        !["[error]", "[crit]", "[alert]"]
            .iter()
            .any(|l| said.contains(l)),
        "{said}"
    );

    let check = dir.run(["check"]);
    assert_eq!(check.code(), 0, "{}\n{}", check.stdout(), check.stderr());
    nginx.stop(nix::sys::signal::Signal::SIGQUIT);
    assert_eq!(daemon.stop(), 0);
    assert!(dir.temps("logs").is_empty(), "{:?}", dir.temps("logs"));
}

/// One socket for two nginx servers, told apart by nginx's `tag=`: each site's log holds
/// its server's lines, masked, and no other's.
#[test]
fn a_tagged_shared_socket_routes_two_nginx_servers_to_their_own_logs() {
    let Some(bin) = program("/usr/sbin/nginx", "nginx") else {
        return;
    };
    let dir = LogDir::new();
    let group = tree(&dir);
    let root = dir.tmp.path().display().to_string();
    let shared = sock(&dir, "shared");
    let dir = dir.policy(&format!(
        "defaults:\n  anonymize: {{ after: 0s }}\n  rotate: {{ every: 1d }}\nsites:\n  main:\n    \
         logs: [{{ path: logs/main/access.log, receive: \"unix:{shared}\", tag: main }}]\n{group}  \
         appman:\n    logs: [{{ path: logs/appman/access.log, receive: \"unix:{shared}\", tag: appman }}]\n{group}"
    ));
    for d in ["logs/main", "logs/appman"] {
        std::fs::create_dir_all(dir.path(d)).unwrap();
    }
    let Some(daemon) = watch_in_netns(&dir) else {
        return;
    };
    let (p1, p2) = (support::free_port(), support::free_port());
    let server = |port: u16, tag: &str| {
        format!(
            "  server {{\n    listen 127.0.0.1:{port};\n    \
             access_log syslog:server=unix:{shared},nohostname,tag={tag} combined;\n    \
             access_log {root}/plain/{tag}.log combined;\n    location / {{ return 200 \"ok\\n\"; }}\n  }}\n"
        )
    };
    let http = format!("{}{}", server(p1, "main"), server(p2, "appman"));
    let mut nginx = start_nginx(bin, &dir, &http, &[p1, p2]);
    let scanner = Scanner::start(dir.path("logs"));
    let n = 2_000;
    paced(
        &[(p1, "/main/"), (p2, "/appman/")],
        n,
        Duration::from_secs(2),
        |id, st| assert_eq!(st, 200, "request {id}"),
    );
    let said = || format!("nginx:\n{}\nwatch:\n{}", nginx_said(&dir), daemon.log());
    wait_lines(&dir, "logs/main/access.log", n / 2, &said);
    wait_lines(&dir, "logs/appman/access.log", n / 2, &said);
    scanner.finish();
    for (tag, parity) in [("main", 0), ("appman", 1)] {
        let (lines, _) = received(&dir, &format!("logs/{tag}/access.log"));
        assert_each_once(&lines, &format!("GET /{tag}/"), n, |i| i % 2 == parity);
        assert!(
            lines.iter().all(|l| l.contains(&format!("GET /{tag}/"))),
            "{tag}: another server's line"
        );
        assert_same_lines(tag, lines, masked(&dir, &format!("plain/{tag}.log")));
        assert_counted(&dir, &daemon, &format!("logs/{tag}/access.log"), n / 2);
    }
    nginx.stop(nix::sys::signal::Signal::SIGQUIT);
    assert_eq!(daemon.stop(), 0);
}

/// nginx over loopback UDP (no namespace: loopback would differ), at a pace far below what
/// the socket's buffer holds: every line arrives, masked, and none is counted lost.
#[test]
fn nginx_over_loopback_udp_writes_every_line_masked() {
    let Some(bin) = program("/usr/sbin/nginx", "nginx") else {
        return;
    };
    let dir = LogDir::new();
    tree(&dir);
    let root = dir.tmp.path().display().to_string();
    let udp = support::free_port();
    let dir = dir.policy(&format!(
        "sites:\n  main:\n    logs: [{{ path: logs/access.log, receive: \"udp:127.0.0.1:{udp}\" }}]\n    \
         rotate: {{ every: 1d }}\n    anonymize: {{ after: 0s }}\n"
    ));
    let daemon = dir.watch(
        &[
            "--metrics-file",
            &dir.path("metrics.prom").display().to_string(),
        ],
        &[],
    );
    let port = support::free_port();
    let http = format!(
        "  access_log syslog:server=127.0.0.1:{udp},nohostname combined;\n  \
         access_log {root}/plain/access.log combined;\n  \
         server {{\n    listen 127.0.0.1:{port};\n    location / {{ return 200 \"ok\\n\"; }}\n  }}\n"
    );
    let mut nginx = start_nginx(bin, &dir, &http, &[port]);
    let scanner = Scanner::start(dir.path("logs"));
    let n = 1_000;
    paced(&[(port, "/r/")], n, Duration::from_secs(2), |id, st| {
        assert_eq!(st, 200, "request {id}");
    });
    let said = || format!("nginx:\n{}\nwatch:\n{}", nginx_said(&dir), daemon.log());
    wait_lines(&dir, "logs/access.log", n, &said);
    scanner.finish();
    let (lines, _) = received(&dir, "logs/access.log");
    assert_each_once(&lines, "GET /r/", n, |_| true);
    assert_same_lines("access log", lines, masked(&dir, "plain/access.log"));
    assert_counted(&dir, &daemon, "logs/access.log", n);
    nginx.stop(nix::sys::signal::Signal::SIGQUIT);
    assert_eq!(daemon.stop(), 0);
}

// ---- HAProxy ----------------------------------------------------------------------------

/// HAProxy logs each request (`option httplog`) to the socket as RFC 3164 with its tag
/// `haproxy[pid]`, and the same message raw to its stdout: the received log holds exactly
/// the raw messages, masked (the client, taken from X-Forwarded-For, and the query's).
#[test]
fn haproxy_through_a_unix_socket_writes_its_messages_masked() {
    let Some(bin) = program("/usr/sbin/haproxy", "haproxy") else {
        return;
    };
    let dir = LogDir::new();
    let group = tree(&dir);
    let root = dir.tmp.path().display().to_string();
    let hs = sock(&dir, "haproxy");
    let dir = dir.policy(&format!(
        "sites:\n  main:\n    logs: [{{ path: logs/haproxy.log, receive: \"unix:{hs}\", format: haproxy }}]\n{group}    \
         rotate: {{ max_size: 32k }}\n    anonymize: {{ after: 0s }}\n"
    ));
    let Some(daemon) = watch_in_netns(&dir) else {
        return;
    };
    let port = support::free_port();
    let conf = format!(
        "global\n    log unix@{hs} local0 info\n    log stdout format raw local0 info\n\
         defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 2s\n    \
         timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    http-request set-src hdr(x-forwarded-for)\n    \
         http-request return status 200 content-type text/plain string ok\n"
    );
    std::fs::write(dir.path("haproxy.cfg"), conf).unwrap();
    // Its stdout (the raw messages) apart from its stderr.
    let raw = std::fs::File::create(dir.path("plain/haproxy.raw")).unwrap();
    let mut haproxy = Server::start_to(
        &dir,
        "haproxy",
        Command::new(bin).args(["-db", "-f", &format!("{root}/haproxy.cfg")]),
        Some(raw),
    );
    haproxy.wait_port(port);
    let scanner = Scanner::start(dir.path("logs"));
    let n = 2_000;
    paced(&[(port, "/r/")], n, Duration::from_secs(2), |id, st| {
        assert_eq!(st, 200, "request {id}");
    });
    let said = || format!("haproxy:\n{}\nwatch:\n{}", haproxy.output(), daemon.log());
    wait_lines(&dir, "logs/haproxy.log", n, &said);
    scanner.finish();
    let (lines, files) = received(&dir, "logs/haproxy.log");
    assert!(files >= 2, "not rotated during the load");
    assert_each_once(&lines, "GET /r/", n, |_| true);
    // Every message, the readiness probe's `<BADREQ>` too.
    let want = masked(&dir, "plain/haproxy.raw");
    let all = want.len();
    assert_same_lines("haproxy log", lines, want);
    assert_counted(&dir, &daemon, "logs/haproxy.log", all);
    haproxy.stop(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(daemon.stop(), 0);
}

// ---- Apache -----------------------------------------------------------------------------

/// The processes running `logwarden pipe` with this test's policy.
fn pipes_running(dir: &LogDir) -> Vec<i32> {
    let config = dir.path("config.yaml").display().to_string();
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.contains(&config) && args.iter().any(|a| a == "pipe") {
            pids.push(pid);
        }
    }
    pids
}

/// Apache's piped logger is `logwarden pipe`, beside a plain `CustomLog` of the same
/// requests: the pipe's log (rotated by the pipe itself at 16 KiB) equals Apache's file,
/// masked, and when Apache stops, the pipe has written every line and exited.
#[test]
fn apache_piped_to_logwarden_pipe_writes_every_line_masked_and_exits_when_apache_stops() {
    let Some(bin) = program("/usr/sbin/apache2", "apache2") else {
        return;
    };
    let dir = LogDir::new();
    tree(&dir);
    let root = dir.tmp.path().display().to_string();
    let dir = dir.policy(
        "sites:\n  main:\n    logs: [{ path: logs/access.log, receive: pipe }]\n    \
         rotate: { max_size: 16k }\n    anonymize: { after: 0s }\n",
    );
    let port = support::free_port();
    let mods = "/usr/lib/apache2/modules";
    std::fs::create_dir_all(dir.path("html")).unwrap();
    // As root the workers become nobody; the piped logger is started by the parent, as
    // root, from the build's own binary (root reaches it whatever the clone's modes).
    let user = if is_root() {
        "User nobody\nGroup nogroup\n"
    } else {
        ""
    };
    let logwarden = assert_cmd::cargo::cargo_bin("logwarden");
    let conf = format!(
        "ServerRoot {root}\nPidFile {root}/apache.pid\nListen 127.0.0.1:{port}\n\
         ServerName localhost\n{user}MaxKeepAliveRequests 0\n\
         LoadModule mpm_event_module {mods}/mod_mpm_event.so\n\
         LoadModule authz_core_module {mods}/mod_authz_core.so\n\
         LoadModule remoteip_module {mods}/mod_remoteip.so\n\
         RemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy 127.0.0.1\n\
         DocumentRoot {root}/html\n<Directory />\n    AllowOverride None\n</Directory>\n\
         <Directory {root}/html>\n    Require all granted\n</Directory>\n\
         ErrorLog {root}/apache-error.log\nLogLevel warn\n\
         LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b \\\"%{{Referer}}i\\\" \\\"%{{User-Agent}}i\\\"\" combined\n\
         CustomLog \"||{} --config {root}/config.yaml pipe --site main --log {root}/logs/access.log\" combined\n\
         CustomLog {root}/plain/access.log combined\n",
        logwarden.display()
    );
    std::fs::write(dir.path("apache.conf"), conf).unwrap();
    let mut apache = Server::start(
        &dir,
        "apache2",
        Command::new(bin).args(["-f", &format!("{root}/apache.conf"), "-DFOREGROUND"]),
    );
    apache.wait_port(port);
    // Apache may listen before it has started its piped logger.
    assert!(
        support::wait_until(10, || pipes_running(&dir).len() == 1),
        "{:?} pipes running: {}",
        pipes_running(&dir),
        apache.output()
    );
    let scanner = Scanner::start(dir.path("logs"));
    let n = 1_000;
    paced(&[(port, "/r/")], n, Duration::from_secs(2), |id, st| {
        assert_eq!(st, 404, "request {id}");
    });
    // Apache writes its plain log as each request ends; then it stops, closing the pipe.
    assert!(support::wait_until(10, || {
        std::fs::read_to_string(dir.path("plain/access.log")).is_ok_and(|t| t.lines().count() == n)
    }));
    apache.stop(nix::sys::signal::Signal::SIGTERM);
    assert!(
        support::wait_until(10, || pipes_running(&dir).is_empty()),
        "the pipe did not exit: {:?}\n{}",
        pipes_running(&dir),
        std::fs::read_to_string(dir.path("apache-error.log")).unwrap_or_default()
    );
    // Exited: what it wrote is there now, without waiting for anything.
    assert!(settled(&dir, "logs/access.log"), "{:?}", dir.names("logs"));
    scanner.finish();
    let (lines, files) = received(&dir, "logs/access.log");
    assert!(files >= 2, "not rotated during the load");
    assert_each_once(&lines, "GET /r/", n, |_| true);
    assert_same_lines("access log", lines, masked(&dir, "plain/access.log"));
    let said = std::fs::read_to_string(dir.path("apache-error.log")).unwrap_or_default();
    assert!(
        said.contains("end of input; everything read is written and synced"),
        "{said}"
    );
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 0, "{}\n{}", check.stdout(), check.stderr());
}

// ---- Retention on received logs -----------------------------------------------------------

/// Guarantees 1 and 2 on a received log: its records are masked as they are written, its
/// archives (rotated by `watch`) expire with retention; `enforce` while `watch` runs leaves
/// the live file, due a rotation, to its writer and exits 0; with `watch` stopped the same
/// pass exits 1 and says no process writes it.
#[test]
fn received_log_archives_expire_and_enforce_leaves_the_live_file_to_its_writer() {
    let Some(bin) = program("/usr/sbin/nginx", "nginx") else {
        return;
    };
    let dir = LogDir::new();
    let group = tree(&dir);
    let root = dir.tmp.path().display().to_string();
    let access = sock(&dir, "access");
    let mut dir = dir.policy(&format!(
        "sites:\n  main:\n    logs: [{{ path: logs/access.log, receive: \"unix:{access}\" }}]\n{group}    \
         rotate: {{ every: 1d, max_size: 8k }}\n    retention: 1d\n    anonymize: {{ after: 0s }}\n"
    ));
    let Some(daemon) = watch_in_netns(&dir) else {
        return;
    };
    let port = support::free_port();
    let http = format!(
        "  access_log syslog:server=unix:{access},nohostname combined;\n  \
         access_log {root}/plain/access.log combined;\n  \
         server {{\n    listen 127.0.0.1:{port};\n    location / {{ return 200 \"ok\\n\"; }}\n  }}\n"
    );
    let mut nginx = start_nginx(bin, &dir, &http, &[port]);
    let n = 300;
    paced(&[(port, "/r/")], n, Duration::from_secs(1), |id, st| {
        assert_eq!(st, 200, "request {id}");
    });
    let said = || format!("nginx:\n{}\nwatch:\n{}", nginx_said(&dir), daemon.log());
    wait_lines(&dir, "logs/access.log", n, &said);
    let archives = |dir: &LogDir| -> Vec<String> {
        dir.names("logs")
            .into_iter()
            .filter(|n| n.starts_with("access.log-"))
            .collect()
    };
    // Rotated at 8 KiB (as often as the service looks), each archive compressed once the writer switched away from it.
    assert!(
        support::wait_until(10, || {
            let a = archives(&dir);
            !a.is_empty() && a.iter().all(|n| n.ends_with(".gz"))
        }),
        "{:?}\n{}",
        archives(&dir),
        daemon.log()
    );
    // And a few more in the fresh live file, which stays under 8 KiB.
    let more = 20;
    paced(
        &[(port, "/more/")],
        more,
        Duration::from_millis(100),
        |id, st| {
            assert_eq!(st, 200, "request {id}");
        },
    );
    wait_lines(&dir, "logs/access.log", n + more, &said);
    let (lines, _) = received(&dir, "logs/access.log");
    assert_each_once(&lines, "GET /r/", n, |_| true);
    assert_each_once(&lines, "GET /more/", more, |_| true);
    for l in &lines {
        assert!(full_addresses(l).is_empty(), "{l}");
    }
    assert_same_lines("access log", lines, masked(&dir, "plain/access.log"));

    // Two days on: every record is past retention.
    let later = Timestamp::now() + SignedDuration::from_hours(48);
    dir.set_now(&later.to_string());
    let live = std::fs::read(dir.path("logs/access.log")).unwrap();
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 0, "{}\n{}", out.stderr(), daemon.log());
    assert!(archives(&dir).is_empty(), "{:?}", archives(&dir));
    assert_eq!(
        std::fs::read(dir.path("logs/access.log")).unwrap(),
        live,
        "the live file is its writer's"
    );

    nginx.stop(nix::sys::signal::Signal::SIGQUIT);
    assert_eq!(daemon.stop(), 0);
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("logs/access.log") && out.stderr().contains("no process writes it"),
        "{}",
        out.stderr()
    );
    assert_eq!(std::fs::read(dir.path("logs/access.log")).unwrap(), live);
}

/// Apache stops its piped logger with SIGTERM and only then closes the pipe (server/log.c,
/// `piped_log_cleanup`): lines it wrote before are still in the pipe, or in the queue, when
/// the signal arrives. The pipe must write them all, as at end of input.
#[test]
fn a_pipe_stopped_as_apache_stops_it_writes_every_line_already_sent() {
    let dir = LogDir::new()
        .policy("sites:\n  main:\n    logs: [{ path: logs/access.log, receive: pipe }]\n    anonymize: { after: 0s }\n")
        .file("logs/.keep", "");
    let mut child = dir
        .command([
            "pipe".as_ref(),
            "--site".as_ref(),
            "main".as_ref(),
            "--log".as_ref(),
            dir.path("logs/access.log").as_os_str(),
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Running: it made the live file.
    assert!(support::wait_until(10, || dir
        .path("logs/access.log")
        .exists()));
    let n = 20_000;
    let text: String = (0..n)
        .map(|id| {
            format!(
                "{} - - [01/Dec/2026:10:00:00 +0000] \"GET /r/{id} HTTP/1.1\" 404 0 \"-\" \"-\"\n",
                client_of(id)
            )
        })
        .collect();
    stdin.write_all(text.as_bytes()).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (lines, _) = received(&dir, "logs/access.log");
    assert_each_once(&lines, "GET /r/", n, |_| true);
}
