//! Socket activation end to end: `logwarden watch` under the real `systemd-socket-activate`
//! (it ships with systemd), which binds the `receive:` sockets and passes them as
//! `logwarden-watch.socket` does, while a shell holds them across restarts of `watch` as
//! systemd holds a socket unit's: what is sent while the service is down waits in the
//! kernel, and the next `watch` writes it.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{self, LogDir, wait_until};

const ACTIVATE: &str = "/usr/bin/systemd-socket-activate";

/// The shell that stands in for systemd: it keeps the passed fds 3 and 4 open and runs
/// `watch` again after each exit, with `LISTEN_PID` set to the pid `watch` will have (a
/// subshell's, kept by `exec`), until `stop` exists.
const HOLDER: &str = r#"
while [ ! -e stop ]; do
    ( export LISTEN_PID=$BASHPID; echo $BASHPID > pid.new; mv pid.new pid
      exec "$LOGWARDEN" --config config.yaml watch ) 2>>watch.log
done
"#;

/// The activator and its shell; killed with their `watch` on drop.
struct Holder {
    child: Child,
    dir: std::path::PathBuf,
}

impl Holder {
    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("watch.log")).unwrap_or_default()
    }

    fn term(pid: i32) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = std::fs::write(self.dir.join("stop"), "");
        if let Some(pid) = self.pid() {
            Holder::term(pid);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_restart_under_socket_activation_loses_no_datagram() {
    if !support::require(
        &format!("{ACTIVATE} (apt-get install systemd)"),
        Path::new(ACTIVATE).exists(),
    ) {
        return;
    }
    let dir = LogDir::new();
    std::fs::create_dir_all(dir.path("logs")).unwrap();
    std::fs::create_dir_all(dir.path("run")).unwrap();
    let sock = dir.path("run/main.sock");
    let port = support::free_port();
    let dir = dir.policy(&format!(
        "sites:
  main:
    logs:
      - {{ path: logs/access.log, receive: \"unix:{}\" }}
      - {{ path: logs/udp.log, receive: \"udp:127.0.0.1:{port}\" }}
    retention: 14d
    anonymize: {{ after: 7d }}
",
        sock.display()
    ));
    let logwarden = assert_cmd::cargo::cargo_bin("logwarden");
    let child = Command::new(ACTIVATE)
        .arg("--datagram")
        .arg("--listen")
        .arg(&sock)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--fdname=access:udp")
        .arg(format!("--setenv=LOGWARDEN={}", logwarden.display()))
        .args(["--setenv=RUST_LOG=debug", "--setenv=TZ=UTC"])
        .args(["bash", "-c", HOLDER])
        .current_dir(dir.path(""))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path("activate.log")).unwrap())
        .spawn()
        .unwrap();
    let holder = Holder {
        child,
        dir: dir.path(""),
    };
    assert!(
        wait_until(30, || sock.exists()),
        "systemd-socket-activate did not bind {}: {}",
        sock.display(),
        std::fs::read_to_string(dir.path("activate.log")).unwrap_or_default()
    );

    // A blocking sender, as nginx's would wait on a full queue (10 datagrams by default);
    // bounded, so a `watch` that never comes back fails the test instead of hanging it.
    let unix = UnixDatagram::unbound().unwrap();
    unix.set_write_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut sent_unix = Vec::new();
    let mut sent_udp = Vec::new();
    // Lines without a syslog header, written as they come: what is tested here is that
    // each arrives once, not the header's stripping.
    let mut send = |phase: &str, n: usize| {
        for i in 0..n {
            let line = format!("{phase} unix {i:03}");
            unix.send_to(line.as_bytes(), &sock).unwrap();
            sent_unix.push(line);
            let line = format!("{phase} udp {i:03}");
            udp.send_to(line.as_bytes(), ("127.0.0.1", port)).unwrap();
            sent_udp.push(line);
        }
    };

    // Sent before any `watch` runs (systemd-socket-activate starts it on the first one).
    send("early", 5);
    assert!(
        wait_until(30, || holder.log().matches("taken from systemd").count()
            >= 2),
        "the first watch did not take both sockets from systemd:\n{}",
        holder.log()
    );
    let first = holder.pid().expect("the first watch's pid");
    assert!(
        !holder.log().contains(": bound"),
        "watch bound a socket of its own:\n{}",
        holder.log()
    );

    // The restart: sent from the moment the first `watch` is told to stop until the next
    // one runs; more than the unix queue holds, so the sender waits on the way.
    Holder::term(first);
    send("restart", 40);
    assert!(
        wait_until(30, || holder.log().matches("taken from systemd").count()
            >= 4),
        "the second watch did not take both sockets from systemd:\n{}",
        holder.log()
    );
    assert_ne!(holder.pid(), Some(first), "watch did not restart");
    send("after", 5);

    let complete = || {
        lines_of(&dir.path("logs/access.log")).len() >= sent_unix.len()
            && lines_of(&dir.path("logs/udp.log")).len() >= sent_udp.len()
    };
    assert!(
        wait_until(30, complete),
        "not everything was written:\n{}",
        holder.log()
    );
    // Every line once, in the order sent (one sender per socket).
    assert_eq!(lines_of(&dir.path("logs/access.log")), sent_unix);
    assert_eq!(lines_of(&dir.path("logs/udp.log")), sent_udp);
    let log = holder.log();
    assert!(
        log.contains(&format!("unix:{}: taken from systemd", sock.display()))
            && log.contains(&format!("udp:127.0.0.1:{port}: taken from systemd")),
        "{log}"
    );
    assert!(
        !log.contains("which no receive: of the policy names"),
        "{log}"
    );
}
