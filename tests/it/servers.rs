//! logwarden on the files real servers write: Apache 2.4 (access and error log), HAProxy
//! through rsyslog (RFC 3164 and RFC 5424 files, with messages of `logger` beside
//! HAProxy's), and Caddy's JSON access log. Each test drives numbered requests at
//! 127.0.0.1, lets 40 simulated days pass with `enforce --now`, one pass a day, and after
//! every pass checks with stamp readers of its own (sharing no code with logwarden's):
//! no record past retention (guarantee 1), no full address past the window (2), every
//! request in exactly one file of each log until it expires (3), every pass exits 0 and
//! `check` is compliant and counts every line as a record (7).
//!
//! The servers stamp real time, so on simulated day k every record is about k days old:
//! traffic sent on a day past retention arrives already expired, and the pass after it
//! must remove it at once. A line a server writes while or after a pass runs (Apache's
//! notices after the reopen) is the next pass's to judge: it is stamped at or after the
//! pass's real start, and the audit of that pass leaves it out. For the same reason `check`
//! runs after the passes of the days before retention ends (where such a line cannot be a
//! violation yet), and at the end once the servers are stopped and a last pass has run.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::ops::Range;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::support::{self, *};

/// Simulated days, one pass each (day 0 to day `DAYS`).
const DAYS: i64 = 40;
/// The days whose pass follows a batch of traffic: at the start, around the masking
/// window and retention, and past retention (records that arrive already expired).
const BATCH_DAYS: [i64; 10] = [0, 1, 2, 3, 5, 8, 12, 20, 30, 39];
/// Requests per batch.
const BATCH: u64 = 12;
/// The policy of every test: a day's rotation, 2 days of full addresses, 10 of records.
const RETENTION_DAYS: i64 = 10;
const AFTER_DAYS: i64 = 2;

/// A program the test needs, or `None` when the test skips (`support::require`: never
/// under CI).
fn program(path: &'static str, package: &str) -> Option<&'static str> {
    let found = Path::new(path).exists();
    support::require(&format!("{path} (apt-get install {package})"), found);
    found.then_some(path)
}

/// A server started by a test, its output in `<name>.out` in the temp dir. It leads a
/// process group of its own, killed whole on drop: Apache's workers outlive a parent that
/// was killed.
struct Server {
    name: &'static str,
    child: Child,
    out: std::path::PathBuf,
}

impl Server {
    fn start(dir: &LogDir, name: &'static str, cmd: &mut Command) -> Server {
        let out = dir.path(&format!("{name}.out"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out)
            .unwrap();
        use std::os::unix::process::CommandExt;
        let child = cmd
            .process_group(0)
            // Zone-less stamps (Apache's error log, HAProxy, RFC 3164) are local time: UTC
            // here, as for logwarden (`LogDir` runs it with TZ=UTC).
            .env("TZ", "UTC")
            .current_dir(dir.tmp.path())
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        Server { name, child, out }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Waits until `ready` holds, failing with the server's output if it exits or never does.
    #[track_caller]
    fn wait_ready(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let mut exited = None;
        let ok = support::wait_until(20, || {
            if let Some(st) = self.child.try_wait().unwrap() {
                exited = Some(st);
                return true;
            }
            ready()
        });
        assert!(
            ok && exited.is_none(),
            "{} not {what} (exit: {exited:?}):\n{}",
            self.name,
            self.output()
        );
    }

    fn wait_port(&mut self, port: u16) {
        self.wait_ready("listening", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// SIGTERM, and waits for the exit (the server flushes and closes its logs); what is
    /// left of its group is killed on drop.
    fn stop(mut self) {
        let _ = nix::sys::signal::kill(self.pid(), nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }

    fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The group's id is the leader's pid, whether or not the leader still runs.
        let _ = nix::sys::signal::killpg(self.pid(), nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// One request with id `id` in its path and a documentation address in its query; the
/// status code. `Connection: close`: the server has logged the request when it closes.
fn request(port: u16, id: u64) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /r/{id}?from=198.51.100.{} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        id % 250 + 1
    )
    .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let head = String::from_utf8_lossy(&answer);
    head.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("request {id}: no status in {head:?}"))
}

/// The id of the request a line records: the digits after the first `/r/`.
fn request_id(line: &str) -> Option<u64> {
    let rest = &line[line.find("/r/")? + 3..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

// ---- Stamp readers of the test's own, one per format ---------------------------------

fn parse_utc(format: &str, text: &str) -> Option<Timestamp> {
    let civil = jiff::fmt::strtime::parse(format, text)
        .ok()?
        .to_datetime()
        .ok()?;
    jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()
}

/// `[01/Dec/2026:10:11:25 +0000]`: the first bracket of a combined line.
fn clf_stamp(line: &str) -> Option<Timestamp> {
    let s = line.split('[').nth(1)?.split(']').next()?;
    jiff::fmt::strtime::parse("%d/%b/%Y:%H:%M:%S %z", s)
        .ok()?
        .to_timestamp()
        .ok()
}

/// `[Tue Dec 01 10:11:24.374587 2026]` at the line start, local time (UTC here).
fn apache_error_stamp(line: &str) -> Option<Timestamp> {
    let s = line.strip_prefix('[')?.split(']').next()?;
    parse_utc("%a %b %d %H:%M:%S%.f %Y", s)
}

/// HAProxy's accept date `[01/Dec/2026:10:11:48.141]`, local time, after the syslog
/// header and the client.
fn haproxy_stamp(line: &str) -> Option<Timestamp> {
    line.split(" [")
        .skip(1)
        .find_map(|p| parse_utc("%d/%b/%Y:%H:%M:%S%.f", p.split(']').next()?))
}

/// `Dec  1 10:11:57 host …`: no year; the one that puts it at or before the real now
/// (plus a day of slack), as the writer meant it: these lines were all written today.
fn rfc3164_stamp(line: &str) -> Option<Timestamp> {
    let mut words = line.split_whitespace();
    let (mon, day, time) = (words.next()?, words.next()?, words.next()?);
    let real = Timestamp::now();
    let year = jiff::tz::TimeZone::UTC.to_datetime(real).year();
    let at = |y: i16| parse_utc("%Y %b %d %H:%M:%S", &format!("{y} {mon} {day:0>2} {time}"));
    let this = at(year)?;
    if this > real + SignedDuration::from_hours(24) {
        at(year - 1)
    } else {
        Some(this)
    }
}

/// `<134>1 2026-12-01T10:11:57.738505+00:00 host …`: the RFC 3339 stamp of an RFC 5424
/// header.
fn rfc5424_stamp(line: &str) -> Option<Timestamp> {
    let mut words = line.split(' ');
    let version = words.next()?;
    if !version.starts_with('<') || !version.ends_with(">1") {
        return None;
    }
    words.next()?.parse().ok()
}

/// `2026-12-01T10:11:57.738505+00:00 host …`: rsyslog's RFC 3339 stamp in place of the
/// RFC 3164 one (`RSYSLOG_FileFormat`).
fn rfc3339_stamp(line: &str) -> Option<Timestamp> {
    line.split(' ').next()?.parse().ok()
}

/// Caddy's `"ts":1796119928.8318293`, epoch seconds as a float.
fn caddy_stamp(line: &str) -> Option<Timestamp> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let ts = v.get("ts")?.as_f64()?;
    #[allow(clippy::cast_possible_truncation)]
    Timestamp::from_microsecond((ts * 1e6) as i64).ok()
}

/// Address-like tokens of a line with host bits set beyond /24 or /40, including an IPv4
/// address glued to its port (`127.0.0.1:51234`, as Apache's and HAProxy's client fields).
fn full_addresses(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tok in line.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':')) {
        let tok = tok.trim_matches(|c| c == '.' || c == ':');
        let mut candidates = vec![tok];
        if tok.contains('.') {
            if let Some((addr, _port)) = tok.rsplit_once(':') {
                candidates.push(addr);
            }
        }
        for c in candidates {
            if c.parse::<IpAddr>().is_ok() && !is_truncated(c) {
                out.push(c.to_string());
            }
        }
    }
    out
}

// ---- The 40 days --------------------------------------------------------------------

/// One log as the test reads it: its files (the live name and its archives, by prefix in
/// `logs/`), its site, how its lines are dated, which request ids it records.
struct Log {
    name: &'static str,
    site: &'static str,
    stamp: fn(&str) -> Option<Timestamp>,
    /// Whether every id in `ids` of a batch is recorded in this log (once).
    records: fn(u64) -> bool,
}

/// A batch of requests and the real time it was sent in.
struct Batch {
    ids: Range<u64>,
    from: Timestamp,
    to: Timestamp,
}

struct Simulation<'a> {
    dir: LogDir,
    logs: &'a [Log],
    /// Real time at the start: day k's pass runs at `base + k days + 30 min`, well clear of
    /// the day boundaries the rules draw (records of a batch span seconds).
    base: Timestamp,
    batches: Vec<Batch>,
    next_id: u64,
}

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

impl<'a> Simulation<'a> {
    fn new(dir: LogDir, logs: &'a [Log]) -> Simulation<'a> {
        // Logs readable by everyone are a violation of their own: others may not enter.
        dir.chmod("", 0o700);
        Simulation {
            dir,
            logs,
            base: Timestamp::now(),
            batches: Vec::new(),
            next_id: 0,
        }
    }

    fn log_of(&self, file: &str) -> &'a Log {
        let name = file.strip_prefix("logs/").unwrap_or(file);
        self.logs
            .iter()
            .find(|l| name == l.name || name.starts_with(&format!("{}-", l.name)))
            .unwrap_or_else(|| panic!("{file}: a file of no log"))
    }

    /// Runs the 40 days: before each day's pass in `BATCH_DAYS`, `send` sends the ids it
    /// is given and returns once the server has written them; then the pass, the audit,
    /// and while retention has not yet come round, `check`.
    fn run(&mut self, mut send: impl FnMut(&LogDir, Range<u64>)) {
        for day in 0..=DAYS {
            if BATCH_DAYS.contains(&day) {
                let ids = self.next_id..self.next_id + BATCH;
                self.next_id += BATCH;
                let from = Timestamp::now();
                send(&self.dir, ids.clone());
                self.wait_written(&ids);
                let to = Timestamp::now();
                self.batches.push(Batch { ids, from, to });
            }
            let at = self.pass(day);
            if day < RETENTION_DAYS - 1 {
                self.check(at);
            }
        }
    }

    /// Waits until every log holds each of `ids` it records.
    fn wait_written(&self, ids: &Range<u64>) {
        let complete = || {
            let seen = self.ids_seen();
            self.logs.iter().all(|log| {
                ids.clone()
                    .filter(|&id| (log.records)(id))
                    .all(|id| seen.get(log.name).is_some_and(|s| s.contains_key(&id)))
            })
        };
        assert!(
            support::wait_until(20, complete),
            "requests {ids:?} not all written:\n{}",
            self.evidence()
        );
    }

    /// What a failure shows: the files under `logs/` with their lines, the servers' output.
    fn evidence(&self) -> String {
        let mut s = String::new();
        for (file, bytes) in self.dir.contents("") {
            if file.starts_with("logs/") || file.ends_with(".out") {
                s.push_str(&format!("--- {file}\n{}", String::from_utf8_lossy(&bytes)));
            }
        }
        s
    }

    /// Per log, request id → how many lines record it.
    fn ids_seen(&self) -> BTreeMap<&'static str, BTreeMap<u64, u32>> {
        let mut seen: BTreeMap<&str, BTreeMap<u64, u32>> = BTreeMap::new();
        for (file, bytes) in self.dir.contents("logs") {
            let log = self.log_of(&file);
            for line in String::from_utf8_lossy(&bytes).lines() {
                if let Some(id) = request_id(line) {
                    *seen.entry(log.name).or_default().entry(id).or_default() += 1;
                }
            }
        }
        seen
    }

    /// Day `day`'s pass: exit 0, then the audit of what it left. The time it ran at.
    fn pass(&mut self, day: i64) -> Timestamp {
        let at = self.base + days(day) + SignedDuration::from_mins(30);
        self.dir.set_now(&at.to_string());
        // Stamps carry whole seconds at least: a line written once the pass began is
        // stamped at or after this.
        let started = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
        let out = self.dir.run(["enforce"]);
        assert_eq!(
            out.code(),
            0,
            "day {day} ({at}):\nstdout:\n{}\nstderr:\n{}",
            out.stdout(),
            out.stderr()
        );
        self.audit(day, at, Some(started));
        at
    }

    /// Guarantees 1–3 on every file, at `at`; lines stamped at or after `exempt_from` were
    /// written while or after the pass ran and are left to the next one.
    fn audit(&self, day: i64, at: Timestamp, exempt_from: Option<Timestamp>) {
        let cutoff = at - days(RETENTION_DAYS);
        let window = at - days(AFTER_DAYS);
        let files = self.dir.contents("logs");
        for (file, bytes) in &files {
            let log = self.log_of(file);
            for line in String::from_utf8_lossy(bytes).lines() {
                let stamp = (log.stamp)(line)
                    .unwrap_or_else(|| panic!("day {day}: {file}: a line without a stamp: {line}"));
                if exempt_from.is_some_and(|e| stamp >= e) {
                    continue;
                }
                assert!(
                    stamp >= cutoff,
                    "day {day} ({at}): {file}: a record of {stamp}, past retention: {line}"
                );
                if stamp < window {
                    let full = full_addresses(line);
                    assert!(
                        full.is_empty(),
                        "day {day} ({at}): {file}: full address {full:?} in a record of {stamp}: {line}"
                    );
                }
            }
        }
        let seen = self.ids_seen();
        let none = BTreeMap::new();
        for log in self.logs {
            let seen = seen.get(log.name).unwrap_or(&none);
            for b in &self.batches {
                let slack = SignedDuration::from_secs(2);
                // Expired: gone (guarantee 1 already says so); kept: in exactly one file.
                let kept = b.from - slack > cutoff;
                assert!(
                    kept || b.to + slack < cutoff,
                    "day {day}: a batch straddles the cutoff"
                );
                for id in b.ids.clone().filter(|&id| (log.records)(id)) {
                    let n = seen.get(&id).copied().unwrap_or(0);
                    assert_eq!(
                        n,
                        u32::from(kept),
                        "day {day} ({at}): request {id} is in {n} lines of {} (files: {:?})",
                        log.name,
                        files.keys().collect::<Vec<_>>()
                    );
                }
            }
            // No line records a request that was never sent.
            assert!(
                seen.keys()
                    .all(|&id| id < self.next_id || !(log.records)(id)),
                "{}: {seen:?}",
                log.name
            );
        }
    }

    /// `check` at `at`: exit 0, compliant, and per site as many records as its files hold
    /// lines (every line of these logs is dated: a "0 records" would be a misreading).
    fn check(&self, at: Timestamp) {
        // A server may add a line (Apache's notices after a reopen) while `check` reads:
        // the count is taken on files that did not change around it.
        let mut tries = 0;
        let (out, lines) = loop {
            let before = self.lines_per_site();
            let out = self.dir.run(["check", "--format", "json"]);
            let after = self.lines_per_site();
            tries += 1;
            if before == after || tries == 10 {
                break (out, after);
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        assert_eq!(
            out.code(),
            0,
            "check at {at}:\n{}\n{}",
            out.stdout(),
            out.stderr()
        );
        let report: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
        assert_eq!(report["compliant"], true, "{}", out.stdout());
        for site in report["sites"].as_array().unwrap() {
            let name = site["site"].as_str().unwrap();
            assert_eq!(
                site["records"].as_u64(),
                Some(lines.get(name).copied().unwrap_or(0)),
                "check at {at} counts the records of site {name} as:\n{}",
                out.stdout()
            );
        }
    }

    /// Lines per site, in all its files.
    fn lines_per_site(&self) -> BTreeMap<&'static str, u64> {
        let mut lines = BTreeMap::new();
        for (file, bytes) in self.dir.contents("logs") {
            let n = String::from_utf8_lossy(&bytes).lines().count() as u64;
            *lines.entry(self.log_of(&file).site).or_default() += n;
        }
        lines
    }

    /// After the servers stopped: one more pass (day 40 again) leaves nothing for the
    /// audit to exempt, and `check` agrees.
    fn finish(&mut self) {
        let at = self.base + days(DAYS) + SignedDuration::from_mins(30);
        self.dir.set_now(&at.to_string());
        let out = self.dir.run(["enforce"]);
        assert_eq!(out.code(), 0, "last pass:\n{}", out.stderr());
        self.audit(DAYS, at, None);
        self.check(at);
        assert!(
            self.dir.temps("logs").is_empty(),
            "{:?}",
            self.dir.temps("logs")
        );
    }
}

/// The policy every server's sites share (`site` and its keys appended by each test).
fn policy(sites: &str) -> String {
    format!(
        "defaults:\n  rotate: {{ every: 1d }}\n  retention: {RETENTION_DAYS}d\n  \
         anonymize: {{ after: {AFTER_DAYS}d }}\nsites:\n{sites}"
    )
}

// ---- Apache 2.4 -----------------------------------------------------------------------

/// A minimal Apache 2.4 in the foreground: the combined access log, and an error log at
/// `info`, where each request for a missing file names the client as
/// `[client 127.0.0.1:PORT]` and the path.
fn start_apache(bin: &str, dir: &LogDir, port: u16) -> Server {
    let root = dir.tmp.path().display();
    let mods = "/usr/lib/apache2/modules";
    std::fs::create_dir_all(dir.path("html")).unwrap();
    std::fs::create_dir_all(dir.path("logs")).unwrap();
    let user = if nix::unistd::geteuid().is_root() {
        "User nobody\nGroup nogroup\n"
    } else {
        ""
    };
    // As a distribution runs it: as root, the workers become `nobody`; as anyone else they
    // stay who they are. A graceful restart's new workers change their ids while logwarden
    // looks at them (a process it cannot inspect for a moment), which a pass must wait out
    // rather than fail on.
    let conf = format!(
        "ServerRoot {root}\nPidFile {root}/apache.pid\nListen 127.0.0.1:{port}\n\
         ServerName localhost\n{user}\
         LoadModule mpm_event_module {mods}/mod_mpm_event.so\n\
         LoadModule authz_core_module {mods}/mod_authz_core.so\n\
         DocumentRoot {root}/html\n<Directory />\n    AllowOverride None\n</Directory>\n\
         <Directory {root}/html>\n    Require all granted\n</Directory>\n\
         ErrorLog {root}/logs/error.log\nLogLevel info\n\
         LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b \\\"%{{Referer}}i\\\" \\\"%{{User-Agent}}i\\\"\" combined\n\
         CustomLog {root}/logs/access.log combined\n"
    );
    std::fs::write(dir.path("apache.conf"), conf).unwrap();
    let mut server = Server::start(
        dir,
        "apache2",
        Command::new(bin).args(["-f", &format!("{root}/apache.conf"), "-DFOREGROUND"]),
    );
    server.wait_port(port);
    server.wait_ready("writing its pid file", || dir.path("apache.pid").exists());
    server
}

const APACHE_SITE: &str = "  apache:\n    logs:\n      - { path: logs/access.log, format: clf }\n      \
    - { path: logs/error.log, format: apache-error }\n    reopen: { signal: USR1, pidfile: apache.pid }\n";

#[test]
fn apache_logs_are_rotated_masked_and_expired_over_40_days() {
    let Some(bin) = program("/usr/sbin/apache2", "apache2") else {
        return;
    };
    let logs = [
        Log {
            name: "access.log",
            site: "apache",
            stamp: clf_stamp,
            records: |_| true,
        },
        Log {
            name: "error.log",
            site: "apache",
            stamp: apache_error_stamp,
            records: |_| true,
        },
    ];
    let dir = LogDir::new().policy(&policy(APACHE_SITE));
    let port = support::free_port();
    let apache = start_apache(bin, &dir, port);
    let mut sim = Simulation::new(dir, &logs);
    sim.run(|_, ids| {
        for id in ids {
            let status = request(port, id);
            assert!(status == 404 || status == 403, "request {id}: {status}");
        }
    });
    apache.stop();
    sim.finish();
}

// ---- HAProxy and logger through rsyslog ----------------------------------------------

/// rsyslog in the foreground on a socket of the temp dir: HAProxy's messages into
/// `haproxy.log` (the traditional RFC 3164 file format, as Debian's 49-haproxy.conf), and
/// HAProxy's and `logger`'s (tag `app`) into `syslog-3164.log`, `syslog-5424.log` (RFC 5424
/// headers) and `syslog-3339.log` (rsyslog's own default, the RFC 3339 stamp of Debian 12's
/// files). Its own messages (start, HUP) go nowhere.
fn start_rsyslog(bin: &str, dir: &LogDir) -> Server {
    let root = dir.tmp.path().display();
    std::fs::create_dir_all(dir.path("rsyslog")).unwrap();
    std::fs::create_dir_all(dir.path("logs")).unwrap();
    let conf = format!(
        "global(workDirectory=\"{root}/rsyslog\")\n\
         module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
         input(type=\"imuxsock\" Socket=\"{root}/log.sock\" UseSpecialParser=\"off\" \
         ParseHostname=\"on\" RateLimit.Interval=\"0\")\n\
         if $programname == \"haproxy\" then {{\n  \
           action(type=\"omfile\" file=\"{root}/logs/haproxy.log\" template=\"RSYSLOG_TraditionalFileFormat\")\n}}\n\
         if $programname == \"haproxy\" or $programname == \"app\" then {{\n  \
           action(type=\"omfile\" file=\"{root}/logs/syslog-3164.log\" template=\"RSYSLOG_TraditionalFileFormat\")\n  \
           action(type=\"omfile\" file=\"{root}/logs/syslog-5424.log\" template=\"RSYSLOG_SyslogProtocol23Format\")\n  \
           action(type=\"omfile\" file=\"{root}/logs/syslog-3339.log\" template=\"RSYSLOG_FileFormat\")\n}}\n"
    );
    std::fs::write(dir.path("rsyslog.conf"), conf).unwrap();
    let mut server = Server::start(
        dir,
        "rsyslogd",
        Command::new(bin).args([
            "-n",
            "-f",
            &format!("{root}/rsyslog.conf"),
            "-i",
            &format!("{root}/rsyslog.pid"),
        ]),
    );
    server.wait_ready("listening", || {
        dir.path("log.sock").exists() && dir.path("rsyslog.pid").exists()
    });
    server
}

/// HAProxy in the foreground, answering every request itself and logging each
/// (`option httplog`) to rsyslog's socket.
fn start_haproxy(bin: &str, dir: &LogDir, port: u16) -> Server {
    let root = dir.tmp.path().display();
    let conf = format!(
        "global\n    log unix@{root}/log.sock local0 info\n\
         defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 2s\n    \
         timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    \
         http-request return status 200 content-type text/plain string ok\n"
    );
    std::fs::write(dir.path("haproxy.cfg"), conf).unwrap();
    let mut server = Server::start(
        dir,
        "haproxy",
        Command::new(bin).args(["-db", "-f", &format!("{root}/haproxy.cfg")]),
    );
    server.wait_port(port);
    server
}

/// The first half of each batch goes through HAProxy, the rest are `logger` messages.
fn through_haproxy(id: u64) -> bool {
    id % BATCH < BATCH / 2
}

/// One rsyslog, one site: its files rotate together and rsyslog gets one HUP a pass.
const RSYSLOG_SITE: &str = "  rsyslog:\n    logs:\n      - { path: logs/haproxy.log, format: haproxy }\n      \
    - { path: logs/syslog-3164.log, format: syslog }\n      - { path: logs/syslog-5424.log, format: syslog }\n      \
    - { path: logs/syslog-3339.log, format: syslog }\n    reopen: { signal: HUP, pidfile: rsyslog.pid }\n";

#[test]
fn haproxy_and_syslog_files_written_by_rsyslog_are_rotated_masked_and_expired_over_40_days() {
    let (Some(rsyslogd), Some(haproxy), Some(logger)) = (
        program("/usr/sbin/rsyslogd", "rsyslog"),
        program("/usr/sbin/haproxy", "haproxy"),
        program("/usr/bin/logger", "bsdutils"),
    ) else {
        return;
    };
    let logs = [
        Log {
            name: "haproxy.log",
            site: "rsyslog",
            stamp: haproxy_stamp,
            records: through_haproxy,
        },
        Log {
            name: "syslog-3164.log",
            site: "rsyslog",
            stamp: rfc3164_stamp,
            records: |_| true,
        },
        Log {
            name: "syslog-5424.log",
            site: "rsyslog",
            stamp: rfc5424_stamp,
            records: |_| true,
        },
        Log {
            name: "syslog-3339.log",
            site: "rsyslog",
            stamp: rfc3339_stamp,
            records: |_| true,
        },
    ];
    let dir = LogDir::new().policy(&policy(RSYSLOG_SITE));
    let port = support::free_port();
    let rsyslog = start_rsyslog(rsyslogd, &dir);
    let haproxy = start_haproxy(haproxy, &dir, port);
    let mut sim = Simulation::new(dir, &logs);
    sim.run(|dir, ids| {
        // Half of each batch through HAProxy, the other half as `logger` messages with the
        // same shape of text, in both header forms.
        let mid = ids.start + BATCH / 2;
        for id in ids.start..mid {
            assert_eq!(request(port, id), 200, "request {id}");
        }
        for (form, range) in [("--rfc3164", mid..mid + 3), ("--rfc5424", mid + 3..ids.end)] {
            let text: String = range
                .map(|id| format!("GET /r/{id} from 198.51.100.{}\n", id % 250 + 1))
                .collect();
            let mut child = Command::new(logger)
                .args([
                    "--socket",
                    &dir.path("log.sock").display().to_string(),
                    form,
                ])
                .args(["-t", "app"])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            assert!(child.wait().unwrap().success(), "logger {form}");
        }
    });
    haproxy.stop();
    rsyslog.stop();
    sim.finish();
}

// ---- Caddy ------------------------------------------------------------------------------

/// Caddy from a Caddyfile, admin endpoint off, its state in the temp dir, its own rolling
/// off: the access log is the default JSON with the float `ts`.
fn start_caddy(bin: &str, dir: &LogDir, port: u16) -> Server {
    start_caddy_rolling(bin, dir, port, "roll_disabled")
}

/// Caddy as [`start_caddy`] starts it, its log's rolling set by `roll` (Caddyfile lines in
/// the `output file` block).
fn start_caddy_rolling(bin: &str, dir: &LogDir, port: u16, roll: &str) -> Server {
    let root = dir.tmp.path().display();
    std::fs::create_dir_all(dir.path("logs")).unwrap();
    let conf = format!(
        "{{\n\tadmin off\n\tstorage file_system {root}/caddy-data\n}}\n\
         http://:{port} {{\n\tbind 127.0.0.1\n\tlog {{\n\t\toutput file {root}/logs/access.log {{\n\t\t\t{roll}\n\t\t}}\n\t}}\n\t\
         respond \"ok\"\n}}\n"
    );
    std::fs::write(dir.path("Caddyfile"), conf).unwrap();
    let mut server = Server::start(
        dir,
        "caddy",
        Command::new(bin)
            .args(["run", "--config", &format!("{root}/Caddyfile")])
            .args(["--adapter", "caddyfile"])
            .env("HOME", dir.tmp.path())
            .env("XDG_DATA_HOME", dir.path("caddy-data"))
            .env("XDG_CONFIG_HOME", dir.path("caddy-config")),
    );
    server.wait_port(port);
    server
}

/// Caddy has no signal that reopens its log (a reload keeps the open file), so logwarden
/// rotates it while Caddy is stopped: Caddy runs for each batch of traffic and stops
/// before the pass, and appends to the fresh file when it starts again (the restart a
/// `reopen: { command: [systemctl, restart, caddy] }` would do).
const CADDY_SITE: &str =
    "  caddy:\n    logs: [logs/access.log]\n    format: json\n    time_field: ts\n";

#[test]
fn caddy_json_logs_are_rotated_masked_and_expired_over_40_days() {
    let Some(bin) = program("/usr/bin/caddy", "caddy") else {
        return;
    };
    let logs = [Log {
        name: "access.log",
        site: "caddy",
        stamp: caddy_stamp,
        records: |_| true,
    }];
    let dir = LogDir::new().policy(&policy(CADDY_SITE));
    let port = support::free_port();
    let mut sim = Simulation::new(dir, &logs);
    sim.run(|dir, ids| {
        let caddy = start_caddy(bin, dir, port);
        for id in ids.clone() {
            assert_eq!(request(port, id), 200, "request {id}");
        }
        // Written before it stops: the batch is in the file.
        let written = || {
            let text = std::fs::read_to_string(dir.path("logs/access.log")).unwrap_or_default();
            text.lines()
                .filter_map(request_id)
                .any(|id| id == ids.end - 1)
        };
        assert!(support::wait_until(20, written), "{}", caddy.output());
        caddy.stop();
    });
    sim.finish();
}

/// `rotate: false`, as the README says for Caddy: Caddy rolls its own file (here at
/// 1 MiB, lumberjack names `access-<UTC time>.log.gz`); logwarden masks and expires what
/// Caddy rolled, never touches the live file, and says so (exit 1) once the live file
/// holds records past the window it cannot mask.
#[test]
fn caddy_rolls_its_own_files_and_logwarden_masks_and_expires_the_rolled_ones() {
    let Some(bin) = program("/usr/bin/caddy", "caddy") else {
        return;
    };
    let site = "  caddy:\n    logs: [logs/access.log]\n    format: json\n    time_field: ts\n    \
        rotate: false\n";
    let mut dir = LogDir::new().policy(&policy(site));
    // Logs readable by everyone are a violation of their own: others may not enter.
    dir.chmod("", 0o700);
    let port = support::free_port();
    let base = Timestamp::now();
    let caddy = start_caddy_rolling(bin, &dir, port, "roll_size 1MiB\n\t\t\troll_keep 100");
    let rolled = |dir: &LogDir| -> Vec<String> {
        dir.names("logs")
            .into_iter()
            .filter(|n| n.starts_with("access-"))
            .collect()
    };
    // About 1.2 KB a line: a roll within 1,000 requests; on until one is done (compressed).
    let mut n = 0;
    while rolled(&dir).is_empty() {
        assert!(n < 5_000, "Caddy did not roll:\n{}", caddy.output());
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "GET /r/{n}?from=198.51.100.{}&pad={} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            n % 250 + 1,
            "x".repeat(1_000)
        )
        .unwrap();
        s.read_to_end(&mut Vec::new()).unwrap();
        n += 1;
    }
    let done = || {
        let r = rolled(&dir);
        !r.is_empty() && r.iter().all(|n| n.ends_with(".gz"))
    };
    assert!(support::wait_until(20, done), "{:?}", dir.names("logs"));
    caddy.stop();
    let live = std::fs::read(dir.path("logs/access.log")).unwrap();
    let ids = |dir: &LogDir| -> BTreeMap<u64, u32> {
        let mut seen = BTreeMap::new();
        for (_, bytes) in dir.contents("logs") {
            for id in String::from_utf8_lossy(&bytes)
                .lines()
                .filter_map(request_id)
            {
                *seen.entry(id).or_default() += 1;
            }
        }
        seen
    };
    assert!(ids(&dir).values().all(|&c| c == 1) && ids(&dir).len() == n as usize);

    // Within the window: nothing to do.
    dir.set_now(&(base + SignedDuration::from_mins(30)).to_string());
    dir.run(["enforce"]).ok();
    let check = dir.run(["check"]);
    assert_eq!(check.code(), 0, "{}", check.stdout());

    // Past the window: the roll is masked; the live file, which logwarden may not
    // rewrite under Caddy, is reported.
    dir.set_now(&(base + days(AFTER_DAYS + 1)).to_string());
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(out.stderr().contains("access.log"), "{}", out.stderr());
    for name in rolled(&dir) {
        let text = String::from_utf8(read_any(&dir.path(&format!("logs/{name}")))).unwrap();
        for line in text.lines() {
            caddy_stamp(line).unwrap_or_else(|| panic!("{name}: undated: {line}"));
            assert!(full_addresses(line).is_empty(), "{name}: {line}");
        }
    }
    assert_eq!(std::fs::read(dir.path("logs/access.log")).unwrap(), live);
    assert!(ids(&dir).values().all(|&c| c == 1) && ids(&dir).len() == n as usize);

    // Past retention: the roll is gone, the live file is still Caddy's.
    dir.set_now(&(base + days(RETENTION_DAYS + 1)).to_string());
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(rolled(&dir).is_empty(), "{:?}", dir.names("logs"));
    assert_eq!(std::fs::read(dir.path("logs/access.log")).unwrap(), live);
    assert_eq!(dir.run(["check"]).code(), 1);
}

// ---- Example policies -----------------------------------------------------------------

/// Every example policy in `examples/` validates (exit 0) on a host without its logs.
#[test]
fn validate_accepts_each_example_policy() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let dir = LogDir::new();
    for name in ["apache.yaml", "haproxy-rsyslog.yaml", "caddy.yaml"] {
        let out = Command::new(assert_cmd::cargo::cargo_bin("logwarden"))
            .arg("--config")
            .arg(examples.join(name))
            .arg("validate")
            .current_dir(dir.tmp.path())
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Two sites whose logs one rsyslog writes, each with rsyslog's HUP as its reopen: the
/// first site's HUP makes rsyslog close every file (it opens them again by name at its next
/// message), so the second site's rotated logs are held by no process at all. Nothing is
/// left to reopen then: the pass must not refuse the pid as "not their writer" and fail.
#[test]
fn a_writer_that_already_let_go_of_the_rotated_logs_is_no_error() {
    let (Some(rsyslogd), Some(logger)) = (
        program("/usr/sbin/rsyslogd", "rsyslog"),
        program("/usr/bin/logger", "bsdutils"),
    ) else {
        return;
    };
    let sites = "  one:\n    logs: [logs/syslog-3164.log]\n    format: syslog\n    \
        reopen: { signal: HUP, pidfile: rsyslog.pid }\n  \
        two:\n    logs: [logs/syslog-5424.log, logs/syslog-3339.log]\n    format: syslog\n    \
        reopen: { signal: HUP, pidfile: rsyslog.pid }\n";
    let mut dir = LogDir::new().policy(&policy(sites));
    let rsyslog = start_rsyslog(rsyslogd, &dir);
    let base = Timestamp::now();
    let send = |dir: &LogDir, id: u64| {
        let st = Command::new(logger)
            .args(["--socket", &dir.path("log.sock").display().to_string()])
            .args(["-t", "app", &format!("GET /r/{id} from 198.51.100.7")])
            .status()
            .unwrap();
        assert!(st.success());
        let logs = ["syslog-3164.log", "syslog-5424.log", "syslog-3339.log"];
        assert!(support::wait_until(20, || logs.iter().all(|l| {
            std::fs::read_to_string(dir.path(&format!("logs/{l}")))
                .is_ok_and(|t| t.contains(&format!("/r/{id} ")))
        })));
    };
    send(&dir, 0);
    dir.set_now(&(base + days(1) + SignedDuration::from_mins(30)).to_string());
    let out = dir.run(["enforce"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let names = dir.names("logs");
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".gz")).count(),
        3,
        "every rotated log is let go of and compressed: {names:?}"
    );
    // rsyslog writes on into the fresh files.
    send(&dir, 1);
    rsyslog.stop();
}
