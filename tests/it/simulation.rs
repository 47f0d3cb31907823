//! Weeks of operation in seconds: the web server appends between passes, a pass runs every
//! simulated hour (through the library, with a simulated `now`), and after every pass the
//! audit and an independent line accounting must agree that every promise holds. The
//! binary's `check` runs at daily checkpoints.

use std::collections::BTreeMap;

use crate::support::*;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use logwarden::policy::Policy;
use logwarden::timestamp::StampReader;

/// Simulated days, with a pass every simulated hour.
const SIM_DAYS: i32 = 60;
const HOUR: SignedDuration = SignedDuration::from_hours(1);
const DAY: SignedDuration = SignedDuration::from_hours(24);

/// Two sites: a daily rotation with a two-day window, and `after: 0s` with six-hour rotation.
const POLICY: &str = "\
sites:
  main:
    logs: [main/access.log]
    rotate: { every: 1d }
    retention: 14d
    anonymize: { after: 2d }
  app:
    logs: [app/access.log]
    rotate: { every: 6h }
    retention: 7d
    anonymize: { after: 0s }
";

/// What a site promises, for the accounting.
struct Promise {
    dir: &'static str,
    retention: SignedDuration,
    /// Records older than this may not hold a full address, in any file.
    window: SignedDuration,
    /// `after: 0s`: no archive holds a full address at all.
    archives_masked: bool,
}

const PROMISES: [Promise; 2] = [
    Promise {
        dir: "main",
        retention: SignedDuration::from_hours(14 * 24),
        window: SignedDuration::from_hours(2 * 24),
        archives_masked: false,
    },
    Promise {
        dir: "app",
        retention: SignedDuration::from_hours(7 * 24),
        window: SignedDuration::from_hours(6),
        archives_masked: true,
    },
];

struct Sim {
    dir: LogDir,
    stamps: StampReader,
    next_id: u64,
    /// Every line written: id → (site dir, time).
    written: BTreeMap<u64, (&'static str, Timestamp)>,
}

impl Sim {
    fn new(policy: &str) -> Sim {
        let dir = LogDir::new().policy(policy);
        std::fs::set_permissions(
            dir.tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        Sim {
            dir,
            stamps: StampReader::new(TimeZone::UTC),
            next_id: 0,
            written: BTreeMap::new(),
        }
    }

    fn policy(&self) -> Policy {
        Policy::load(&self.dir.path("config.yaml")).unwrap()
    }

    /// The web server appends one line every `step` from `from` to `to` to `site`'s log.
    fn serve(&mut self, site: &'static str, from: Timestamp, to: Timestamp, step: SignedDuration) {
        let mut text = String::new();
        let mut at = from;
        while at < to {
            let id = self.next_id;
            self.next_id += 1;
            text.push_str(&access_line(&sim_client(id), at, id));
            self.written.insert(id, (site, at));
            at += step;
        }
        append(&self.dir.path(&format!("{site}/access.log")), &text);
    }

    fn pass(&self, now: Timestamp) {
        let policy = self.policy();
        let (summary, _) = logwarden::pass::run(&policy, &[], now, &self.stamps, None);
        assert_eq!(summary.failed, 0, "a pass at {now} failed: {summary:?}");
    }

    /// The library audit finds nothing.
    #[track_caller]
    fn assert_compliant(&self, now: Timestamp) {
        let report =
            logwarden::check::check(&self.policy(), &[], now, SignedDuration::ZERO, &self.stamps);
        assert!(
            report.compliant,
            "at {now}:\n{}",
            logwarden::check::render_text(&report)
        );
    }

    /// The binary's audit, as a probe would run it.
    #[track_caller]
    fn binary_check(&mut self, now: Timestamp) -> Run {
        self.dir.set_now(&now.to_string());
        let run = self.dir.run(["check", "--format", "json"]);
        assert_no_full_address(&run.stdout());
        run
    }

    /// Independent accounting over the bytes on disk: every line in exactly one file,
    /// nothing within retention lost, nothing older kept, no full address past the window.
    #[track_caller]
    fn assert_accounting(&self, now: Timestamp) {
        let mut seen: BTreeMap<u64, String> = BTreeMap::new();
        for p in PROMISES.iter().filter(|p| self.dir.path(p.dir).exists()) {
            let cutoff = now - p.retention;
            let window = now - p.window;
            for (name, bytes) in self.dir.contents(p.dir) {
                let archive = !name.ends_with("/access.log");
                for line in String::from_utf8(bytes).unwrap().lines() {
                    let (id, at, ip) =
                        parse_line(line).unwrap_or_else(|| panic!("{name}: bad line {line:?}"));
                    if let Some(other) = seen.insert(id, name.clone()) {
                        panic!("at {now}: line {id} is in {other} and {name}");
                    }
                    assert_eq!(self.written[&id], (p.dir, at), "line {id} changed");
                    assert!(
                        at >= cutoff,
                        "at {now}: {name}: line {id} of {at} is past retention"
                    );
                    if at < window || (archive && p.archives_masked) {
                        assert!(
                            is_truncated(ip),
                            "at {now}: {name}: line {id} of {at} holds a full address"
                        );
                    }
                }
            }
        }
        for (id, (site, at)) in &self.written {
            let retention = PROMISES.iter().find(|p| p.dir == *site).unwrap().retention;
            if *at >= now - retention {
                assert!(
                    seen.contains_key(id),
                    "at {now}: line {id} of {at} was lost"
                );
            }
        }
    }

    /// One simulated hour ending at `end`: both sites write, then a pass runs.
    fn hour(&mut self, end: Timestamp) {
        self.serve("main", end - HOUR, end, SignedDuration::from_mins(10));
        self.serve("app", end - HOUR, end, SignedDuration::from_mins(15));
        let now = end + SignedDuration::from_secs(30);
        self.pass(now);
        self.assert_compliant(now);
        self.assert_accounting(now);
    }
}

/// The clients: IPv4 mostly, IPv6 every fifth line.
fn sim_client(id: u64) -> String {
    client(id)
}

#[test]
fn sixty_days_of_hourly_passes_keep_every_promise() {
    let mut sim = Sim::new(POLICY);
    let start = t("2026-09-01T00:00:00Z");
    for h in 1..=SIM_DAYS * 24 {
        let end = start + HOUR * h;
        sim.hour(end);
        if h % 24 == 0 {
            let run = sim.binary_check(end + SignedDuration::from_secs(30));
            assert_eq!(run.code(), 0, "day {}: {}", h / 24, run.stdout());
        }
    }
    // Only a retention's worth of archives is left.
    let main = sim.dir.names("main").len();
    assert!((14..=16).contains(&main), "{:?}", sim.dir.names("main"));
}

#[test]
fn one_pass_after_three_days_off_restores_compliance() {
    let mut sim = Sim::new(POLICY);
    let start = t("2026-09-01T00:00:00Z");
    for h in 1..=16 * 24 {
        sim.hour(start + HOUR * h);
    }
    // The machine is off for three days: no writes, no passes.
    let back = start + DAY * 19;
    let run = sim.binary_check(back);
    assert_eq!(run.code(), 1, "{}", run.stdout());
    let report: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let rules: Vec<&str> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"retention"), "{rules:?}");
    assert!(rules.contains(&"full-ip"), "{rules:?}");
    // It boots: one pass, and everything holds again.
    sim.pass(back);
    sim.assert_compliant(back);
    sim.assert_accounting(back);
    assert_eq!(sim.binary_check(back).code(), 0);
    for h in 1..=24 {
        sim.hour(back + HOUR * h);
    }
}

#[test]
fn one_pass_brings_a_typical_opensuse_state_into_line() {
    // logrotate with `size` only: `.xz` archives named by date, up to a year old, raw IPs.
    let policy = "\
sites:
  main:
    logs: [main/access.log]
    rotate: { every: 1d }
    retention: 14d
    anonymize: { after: 2d }
";
    let mut sim = Sim::new(policy);
    let now = t("2026-11-29T12:00:00Z");
    let mut from = now - DAY * 365;
    let mut k = 0;
    while from < now - DAY * 4 {
        // Irregular spans, as size-based rotation leaves them.
        let to = from + HOUR * (150 + (k * 37) % 200);
        let to = to.min(now - DAY * 4);
        sim.serve("main", from, to, SignedDuration::from_mins(45));
        let live = sim.dir.path("main/access.log");
        let text = std::fs::read(&live).unwrap();
        std::fs::remove_file(&live).unwrap();
        let name = format!("main/access.log-{}.xz", to.strftime("%Y%m%d"));
        let mut xz = xz2::write::XzEncoder::new(Vec::new(), 1);
        std::io::Write::write_all(&mut xz, &text).unwrap();
        std::fs::write(sim.dir.path(&name), xz.finish().unwrap()).unwrap();
        from = to;
        k += 1;
    }
    sim.serve("main", from, now, SignedDuration::from_mins(45));
    assert!(
        sim.dir.names("main").len() > 30,
        "{:?}",
        sim.dir.names("main")
    );

    let run = sim.binary_check(now);
    assert_eq!(run.code(), 1, "{}", run.stdout());
    let report: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert!(report["violations"].as_array().unwrap().len() > 30);

    sim.pass(now);
    sim.assert_compliant(now);
    sim.assert_accounting(now);
    assert_eq!(sim.binary_check(now).code(), 0);
}

/// The hostile run: three sites, one of them undated (HAProxy's zone-less stamp).
const HOSTILE_POLICY: &str = "\
sites:
  main:
    logs: [main/access.log]
    rotate: { every: 1d }
    retention: 14d
    anonymize: { after: 2d }
  app:
    logs: [app/access.log]
    rotate: { every: 6h }
    retention: 7d
    anonymize: { after: 0s }
  lb:
    logs: [lb/access.log]
    rotate: { every: 1d }
    retention: 7d
    anonymize: { after: 1d }
";

/// A combined line as nginx writes it, with what clients and clocks really send: user
/// names carrying date text (far future, long past), a 100 KB line of escaped non-ASCII
/// bytes, and records stamped hours before their neighbours (Apache's %t is the request
/// start; a clock stepped back).
fn hostile_line(id: u64, at: Timestamp) -> (String, Timestamp) {
    let at = if id % 13 == 0 { at - HOUR * 3 } else { at };
    let user = match id % 11 {
        3 => "[30/Dec/9999:20:00:00 +0000]",
        7 => "a\\x22 [01/Jan/2020:00:00:00 +0000]",
        _ => "-",
    };
    let ua = if id % 97 == 0 {
        "\\xC3\\xA9".repeat(12_500)
    } else {
        "Mozilla/5.0".to_string()
    };
    let line = format!(
        "{} - {user} [{}] \"GET /page/{id}?ref=203.0.113.7 HTTP/1.1\" 200 5 \"-\" \"{ua}\"\n",
        client(id),
        at.strftime("%d/%b/%Y:%H:%M:%S +0000")
    );
    (line, at)
}

#[test]
fn sixty_days_of_hostile_input_keep_every_promise() {
    let mut sim = Sim::new(HOSTILE_POLICY);
    // The undated site's lines: id → time written.
    let mut lb: BTreeMap<u64, Timestamp> = BTreeMap::new();
    let start = t("2026-09-01T00:00:00Z");
    for h in 1..=SIM_DAYS * 24 {
        let end = start + HOUR * h;
        for (site, step) in [("main", 10), ("app", 15)] {
            let mut text = String::new();
            let mut at = end - HOUR;
            while at < end {
                let id = sim.next_id;
                sim.next_id += 1;
                let (line, stamp) = hostile_line(id, at);
                text.push_str(&line);
                sim.written.insert(id, (site, stamp));
                at += SignedDuration::from_mins(step);
            }
            append(&sim.dir.path(&format!("{site}/access.log")), &text);
        }
        let id = sim.next_id;
        sim.next_id += 1;
        let at = end - SignedDuration::from_mins(30);
        append(
            &sim.dir.path("lb/access.log"),
            &format!(
                "{}:51234 [{}.123] fe be/s1 0/0/0/1/1 200 5 - - ---- 1/1/0/0/0 0/0 \"GET /page/{id}?x HTTP/1.1\"\n",
                client(id),
                at.strftime("%d/%b/%Y:%H:%M:%S")
            ),
        );
        lb.insert(id, at);

        let now = end + SignedDuration::from_secs(30);
        if h % 120 == 0 {
            // Killed in the middle of a rotation: the next pass finishes it.
            sim.dir.set_now(&now.to_string());
            let killed = sim
                .dir
                .command(["enforce"])
                .env("LOGWARDEN_FAILPOINT", "rotate.renamed")
                .output()
                .unwrap();
            assert!(killed.status.code() != Some(2), "{killed:?}");
        }
        let policy = sim.policy();
        let (summary, _) = logwarden::pass::run(&policy, &[], now, &sim.stamps, None);
        // Every promise is kept but one that cannot be proven: the undated site's files
        // make the pass exit 1 (guarantee 7), and nothing else may.
        assert_eq!(
            (summary.failed, summary.unkept),
            (0, 0),
            "at {now}: {summary:?}"
        );
        assert!(summary.broke_a_promise() == (summary.undated > 0));
        // Every pass keeps the promises; reading every byte back is done every sixth hour
        // and after each kill, which keeps the run to a minute or two.
        if h % 6 != 0 && h % 120 != 0 {
            continue;
        }

        // The audit: nothing but the undated site's own violation.
        let report = logwarden::check::check(&policy, &[], now, SignedDuration::ZERO, &sim.stamps);
        for v in &report.violations {
            assert!(
                v.site == "lb" && v.rule == logwarden::check::Rule::Undated,
                "at {now}: {}",
                logwarden::check::render_text(&report)
            );
        }
        assert!(
            report.violations.iter().any(|v| v.site == "lb"),
            "undated lines must never be called compliant"
        );

        // The accounting, by an independent reader of the bytes.
        let mut seen: BTreeMap<u64, String> = BTreeMap::new();
        for p in &PROMISES {
            let cutoff = now - p.retention;
            let window = now - p.window;
            for (name, bytes) in sim.dir.contents(p.dir) {
                let archive = !name.ends_with("/access.log");
                for line in String::from_utf8(bytes).unwrap().lines() {
                    let (id, at, ip) =
                        parse_line(line).unwrap_or_else(|| panic!("{name}: bad line {line:.200}"));
                    assert!(seen.insert(id, name.clone()).is_none(), "line {id} twice");
                    assert_eq!(sim.written[&id], (p.dir, at), "line {id} changed");
                    assert!(
                        at >= cutoff,
                        "at {now}: {name}: line {id} of {at} past retention"
                    );
                    if at < window || (archive && p.archives_masked) {
                        assert!(is_truncated(ip), "at {now}: {name}: line {id} of {at} full");
                    }
                }
            }
        }
        for (id, (site, at)) in &sim.written {
            let p = PROMISES.iter().find(|p| p.dir == *site).unwrap();
            assert!(
                *at < now - p.retention || seen.contains_key(id),
                "at {now}: line {id} of {at} was lost"
            );
        }
        // The undated site: archives masked whole at once, nothing lost within retention,
        // nothing kept past retention plus one rotation interval (and the pass after it).
        let mut lb_seen = BTreeMap::new();
        for (name, bytes) in sim.dir.contents("lb") {
            for line in String::from_utf8(bytes).unwrap().lines() {
                let id: u64 = line
                    .split("/page/")
                    .nth(1)
                    .unwrap()
                    .split('?')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(
                    lb_seen.insert(id, name.clone()).is_none(),
                    "lb line {id} twice"
                );
                if !name.ends_with("/access.log") {
                    let ip = line.split(':').next().unwrap();
                    assert!(is_truncated(ip), "at {now}: {name}: {line}");
                }
            }
        }
        for (id, at) in &lb {
            if *at >= now - DAY * 7 {
                assert!(
                    lb_seen.contains_key(id),
                    "at {now}: lb line {id} of {at} lost"
                );
            }
            if *at < now - DAY * 9 {
                assert!(
                    !lb_seen.contains_key(id),
                    "at {now}: lb line {id} of {at} kept"
                );
            }
        }
    }
}
