//! Write-time inputs fed by this test itself: the bytes a socket gets reach the file as
//! sent (long, NUL, invalid UTF-8, no newline), a flood from a local process is bounded and
//! every message is accounted for, and lines that cannot be written are counted lost and
//! reported by `check`. The real servers' own sends are in `receive.rs`.

use std::os::unix::net::UnixDatagram;

use crate::support::{LogDir, wait_until};

fn policy_for(dir: &LogDir, log: &str, extra: &str) -> String {
    format!(
        "metrics_file: {}\nsites:\n  main:\n    anonymize: false\n{extra}    logs:\n      - {{ path: {}, receive: \"unix:{}\" }}\n",
        dir.path("metrics.prom").display(),
        dir.path(log).display(),
        dir.path("in.sock").display(),
    )
}

/// The sum of the counts in the losses record beside the lock file.
fn recorded_losses(dir: &LogDir) -> u64 {
    let text = std::fs::read_to_string(dir.path("logwarden.losses")).unwrap_or_default();
    text.lines()
        .map(|l| l.split('\t').nth(2).unwrap().parse::<u64>().unwrap())
        .sum()
}

#[test]
fn received_bytes_reach_the_file_as_sent() {
    let dir = LogDir::new().file("logs/.keep", "");
    let dir = {
        let yaml = policy_for(&dir, "logs/access.log", "");
        dir.policy(&yaml)
    };
    let watch = dir.watch(&[], &[]);
    let long = {
        let mut v = b"203.0.113.9 - - ".to_vec();
        v.resize(64 * 1024 - 1, b'x');
        v
    };
    let sent: Vec<Vec<u8>> = vec![
        long,
        b"nul\0in the middle".to_vec(),
        b"\xff\xfe invalid utf-8 \xc3".to_vec(),
        b"ends with its own newline\n".to_vec(),
        b"cr lf\r\n".to_vec(),
        b"trailing blanks   ".to_vec(),
    ];
    let s = UnixDatagram::unbound().unwrap();
    for m in &sent {
        s.send_to(m, dir.path("in.sock")).unwrap();
    }
    let mut want = Vec::new();
    for m in &sent {
        want.extend_from_slice(m);
        if m.last() != Some(&b'\n') {
            want.push(b'\n');
        }
    }
    assert!(
        wait_until(10, || std::fs::read(dir.path("logs/access.log"))
            .is_ok_and(|b| b.len() >= want.len())),
        "not written:\n{}",
        watch.log()
    );
    assert_eq!(watch.stop(), 0);
    let got = std::fs::read(dir.path("logs/access.log")).unwrap();
    assert!(got == want, "the file differs from what was sent");
    assert_eq!(recorded_losses(&dir), 0);
    let metrics = std::fs::read_to_string(dir.path("metrics.prom")).unwrap();
    assert!(
        metrics.contains(&format!(
            "logwarden_received_lines_total{{site=\"main\",log=\"{}\"}} 6\n",
            dir.path("logs/access.log").display()
        )),
        "{metrics}"
    );
}

#[test]
fn a_flood_from_a_local_process_is_bounded_and_every_message_accounted_for() {
    let dir = LogDir::new().file("logs/.keep", "");
    let dir = {
        let yaml = policy_for(&dir, "logs/access.log", "    receive_queue: 1MiB\n");
        dir.policy(&yaml)
    };
    let watch = dir.watch(&[], &[]);
    let s = UnixDatagram::unbound().unwrap();
    s.set_nonblocking(true).unwrap();
    let line = [b'f'; 999];
    let (mut sent, mut refused) = (0u64, 0u64);
    let started = std::time::Instant::now();
    // As fast as a local process can: whatever the kernel refuses is the sender's to count
    // (EAGAIN, a full socket queue); what it accepted must be in the file or counted lost.
    while started.elapsed() < std::time::Duration::from_secs(3) {
        match s.send_to(&line, dir.path("in.sock")) {
            Ok(_) => sent += 1,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                refused += 1;
                std::thread::yield_now();
            }
            Err(e) => panic!("send: {e}"),
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", watch.child.id())).unwrap();
    let hwm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert_eq!(watch.stop(), 0);
    let written = std::fs::read(dir.path("logs/access.log"))
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count() as u64;
    let lost = recorded_losses(&dir);
    eprintln!(
        "sent {sent}, refused by the kernel {refused}, written {written}, lost {lost}, peak RSS {hwm_kib} KiB"
    );
    assert!(sent > 1000, "the flood sent only {sent}");
    assert_eq!(
        written + lost,
        sent,
        "every accepted message is written or counted lost"
    );
    // 1 MiB of queue, a 256 KiB datagram buffer, the binary: far below this.
    assert!(hwm_kib < 64 * 1024, "peak RSS {hwm_kib} KiB under a flood");
    if lost > 0 {
        let check = dir.run(["check"]);
        assert_eq!(check.code(), 1);
        assert!(check.stdout().contains("dropped"), "{}", check.stdout());
    }
}

#[test]
fn lines_that_cannot_be_written_are_counted_lost_and_check_reports_them() {
    // The log's directory does not exist: every message is lost, and said to be.
    let dir = LogDir::new();
    let dir = {
        let yaml = policy_for(&dir, "nowhere/access.log", "");
        dir.policy(&yaml)
    };
    let watch = dir.watch(&[], &[]);
    let s = UnixDatagram::unbound().unwrap();
    for i in 0..5 {
        s.send_to(format!("line {i}").as_bytes(), dir.path("in.sock"))
            .unwrap();
    }
    assert!(
        wait_until(10, || recorded_losses(&dir) == 5),
        "losses not recorded ({}):\n{}",
        recorded_losses(&dir),
        watch.log()
    );
    assert_eq!(watch.stop(), 0);
    let check = dir.run(["check", "--format", "json"]);
    assert_eq!(check.code(), 1, "{}", check.stdout());
    let report: serde_json::Value = serde_json::from_str(&check.stdout()).unwrap();
    let dropped: Vec<&serde_json::Value> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["rule"] == "dropped")
        .collect();
    assert_eq!(dropped.len(), 1, "{}", check.stdout());
    assert_eq!(dropped[0]["evidence"]["records"], 5);
    assert_eq!(dropped[0]["evidence"]["reason"], "write: 5");
}
