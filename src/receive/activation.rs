//! Sockets systemd passed to the service (socket activation, `logwarden-watch.socket`).
//!
//! It exists so a restart of `watch` loses nothing: systemd holds the `receive:` sockets,
//! datagrams queue in the kernel while the service is down, and the next `watch` takes the
//! very same sockets (`LISTEN_PID`, `LISTEN_FDS`, fds from 3, `LISTEN_FDNAMES`; see
//! sd_listen_fds(3)) instead of binding new ones. Each passed socket is matched to a `logs:`
//! entry by the address it is bound to, never by its position or name, so the socket unit and
//! the policy cannot silently disagree.
//!
//! What it must never do: take a socket passed to another process (`LISTEN_PID` not ours),
//! take anything but a datagram socket, or hand out a socket whose address it has not read
//! from the socket itself.
//!
//! The fds become owned sockets through the `listenfd` crate (this crate has no `unsafe`);
//! it also unsets `LISTEN_PID` and `LISTEN_FDS`, so the passed sockets are taken once.
//! `LISTEN_FDNAMES` stays in the environment: without `LISTEN_FDS` a child ignores it.

use std::os::fd::AsFd;
use std::os::linux::net::SocketAddrExt;
use std::path::{Component, Path, PathBuf};

pub use super::socket::Socket;
use crate::policy::Receive;

/// systemd passes the sockets from this fd on (`SD_LISTEN_FDS_START`).
const FIRST_FD: i32 = 3;
/// More than any socket unit holds; a larger `LISTEN_FDS` is garbled, not sockets.
const MAX_FDS: u32 = 65_536;

/// A datagram socket systemd passed, with the address it is bound to.
#[derive(Debug)]
pub struct Inherited {
    pub socket: Socket,
    pub bound: Receive,
}

#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    #[error("socket activation: {var}={value:?} is not a number")]
    NotANumber { var: &'static str, value: String },
    #[error("socket activation: LISTEN_FDS={0} is more sockets than a socket unit holds")]
    TooMany(u32),
    #[error(
        "socket activation: LISTEN_FDS_FIRST_FD={0:?} is not systemd's protocol (its sockets \
         start at fd 3)"
    )]
    FirstFd(String),
    #[error(
        "socket activation: fd {fd}{}: {what}; logwarden-watch.socket may only hold \
         `ListenDatagram=` sockets that a `receive:` of the policy names",
        name_note(name.as_deref())
    )]
    NotDatagram {
        fd: i32,
        name: Option<String>,
        what: String,
    },
    #[error(
        "socket activation: fd {fd}{} is bound to {bound}, which no `receive:` can name \
         (a path or an IP address and port)",
        name_note(name.as_deref())
    )]
    Unnamed {
        fd: i32,
        name: Option<String>,
        bound: String,
    },
    #[error("socket activation: fd {fd}{}: {op}: {source}", name_note(name.as_deref()))]
    Io {
        fd: i32,
        name: Option<String>,
        op: &'static str,
        source: std::io::Error,
    },
}

fn name_note(name: Option<&str>) -> String {
    name.map(|n| format!(" ({n})")).unwrap_or_default()
}

/// One fd systemd passed to us, before it is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Passed {
    /// Position among the passed fds (listenfd's index).
    index: usize,
    fd: i32,
    /// Its `FileDescriptorName=` (by default the socket unit's name).
    name: Option<String>,
}

/// The fds passed to process `our_pid`, from the values of `LISTEN_PID`, `LISTEN_FDS` and
/// `LISTEN_FDNAMES`: none when they are absent or were meant for another process (as
/// sd_listen_fds(3): a child of a socket-activated service inherits its environment).
fn passed(
    listen_pid: Option<&str>,
    our_pid: u32,
    listen_fds: Option<&str>,
    names: Option<&str>,
) -> Result<Vec<Passed>, ActivationError> {
    let number = |var: &'static str, value: &str| {
        value
            .trim()
            .parse::<u32>()
            .map_err(|_| ActivationError::NotANumber {
                var,
                value: value.to_string(),
            })
    };
    let (Some(pid), Some(count)) = (listen_pid, listen_fds) else {
        return Ok(Vec::new());
    };
    if number("LISTEN_PID", pid)? != our_pid {
        return Ok(Vec::new());
    }
    let count = number("LISTEN_FDS", count)?;
    if count > MAX_FDS {
        return Err(ActivationError::TooMany(count));
    }
    let count = usize::try_from(count).expect("at most MAX_FDS");
    // Only for messages, so fewer names than sockets leave the rest unnamed, as
    // systemd-socket-activate --fdname does.
    let names: Vec<&str> = names.map(|n| n.split(':').collect()).unwrap_or_default();
    let last = FIRST_FD + i32::try_from(count).expect("at most MAX_FDS");
    Ok((FIRST_FD..last)
        .enumerate()
        .map(|(index, fd)| Passed {
            index,
            fd,
            name: names
                .get(index)
                .filter(|n| !n.is_empty())
                .map(|n| (*n).to_string()),
        })
        .collect())
}

/// Takes the passed sockets once (unsets `LISTEN_PID` and `LISTEN_FDS` so children do not
/// see them). Not a datagram socket, or bound to something no `Receive` can name: an error
/// naming the fd.
///
/// Call it before `watch` starts a thread: unsetting the variables is safe only while no
/// other thread reads the environment.
pub fn inherited() -> Result<Vec<Inherited>, ActivationError> {
    let var = |name: &str| std::env::var(name).ok();
    let passed = passed(
        var("LISTEN_PID").as_deref(),
        std::process::id(),
        var("LISTEN_FDS").as_deref(),
        var("LISTEN_FDNAMES").as_deref(),
    )?;
    if passed.is_empty() {
        return Ok(Vec::new());
    }
    // listenfd would start at this fd instead of 3 (catflap's protocol, not systemd's).
    if let Some(first) = var("LISTEN_FDS_FIRST_FD") {
        return Err(ActivationError::FirstFd(first));
    }
    let mut fds = listenfd::ListenFd::from_env();
    passed
        .into_iter()
        .map(|p| take_passed(&mut fds, p))
        .collect()
}

/// The socket at `p`, as listenfd validates it (family and type), then as we read it.
fn take_passed(fds: &mut listenfd::ListenFd, p: Passed) -> Result<Inherited, ActivationError> {
    let socket = if let Ok(Some(s)) = fds.take_unix_datagram(p.index) {
        Socket::Unix(s)
    } else if let Ok(Some(s)) = fds.take_udp_socket(p.index) {
        Socket::Udp(s)
    } else {
        // Only to say what it is: a stream socket is the likely mistake (ListenStream=).
        let what = if fds.take_unix_listener(p.index).is_ok_and(|s| s.is_some()) {
            "a unix stream socket (ListenStream=), not a datagram socket"
        } else if fds.take_tcp_listener(p.index).is_ok_and(|s| s.is_some()) {
            "a TCP socket (ListenStream=), not a datagram socket"
        } else {
            "not a unix or UDP datagram socket (or not a socket at all)"
        };
        return Err(ActivationError::NotDatagram {
            fd: p.fd,
            name: p.name,
            what: what.to_string(),
        });
    };
    describe(socket, p.fd, p.name)
}

/// The address `socket` is bound to, read from the socket (getsockname), after checking it
/// is a datagram socket (SO_TYPE).
fn describe(socket: Socket, fd: i32, name: Option<String>) -> Result<Inherited, ActivationError> {
    use nix::sys::socket::{SockType, getsockopt, sockopt};
    let io = |op, source| ActivationError::Io {
        fd,
        name: name.clone(),
        op,
        source,
    };
    let kind = match &socket {
        Socket::Unix(s) => getsockopt(&s.as_fd(), sockopt::SockType),
        Socket::Udp(s) => getsockopt(&s.as_fd(), sockopt::SockType),
    }
    .map_err(|e| io("getsockopt(SO_TYPE)", e.into()))?;
    if kind != SockType::Datagram {
        return Err(ActivationError::NotDatagram {
            fd,
            name,
            what: format!("a socket of type {kind:?}, not a datagram socket"),
        });
    }
    let bound = match &socket {
        Socket::Unix(s) => {
            let addr = s.local_addr().map_err(|e| io("getsockname", e))?;
            match (addr.as_pathname(), addr.as_abstract_name()) {
                (Some(path), _) => Receive::Unix(path.to_path_buf()),
                (None, Some(abs)) => {
                    return Err(ActivationError::Unnamed {
                        fd,
                        name,
                        bound: format!(
                            "the abstract unix address @{}",
                            String::from_utf8_lossy(abs)
                        ),
                    });
                }
                (None, None) => {
                    return Err(ActivationError::Unnamed {
                        fd,
                        name,
                        bound: "no address (an unbound unix socket)".to_string(),
                    });
                }
            }
        }
        Socket::Udp(s) => Receive::Udp(s.local_addr().map_err(|e| io("getsockname", e))?),
    };
    Ok(Inherited { socket, bound })
}

/// Picks the inherited socket for `want` (the unix path compared after normalisation, the
/// udp address exactly), removing it from the list.
pub fn take(inherited: &mut Vec<Inherited>, want: &Receive) -> Option<Socket> {
    let at = inherited.iter().position(|i| same(&i.bound, want))?;
    Some(inherited.swap_remove(at).socket)
}

fn same(bound: &Receive, want: &Receive) -> bool {
    match (bound, want) {
        (Receive::Unix(a), Receive::Unix(b)) => normalised(a) == normalised(b),
        (Receive::Udp(a), Receive::Udp(b)) => a == b,
        _ => false,
    }
}

/// `path` with `.`, `..`, repeated and trailing slashes resolved and its directory's
/// symlinks followed (`/var/run` is `/run` on most systems), so the unit's spelling and the
/// policy's need not agree character for character. The socket file itself is not followed:
/// it is the name that is bound.
fn normalised(path: &Path) -> PathBuf {
    let mut lexical = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            c => lexical.push(c),
        }
    }
    let canonical = |p: &Path| {
        Some(
            std::fs::canonicalize(p.parent()?)
                .ok()?
                .join(p.file_name()?),
        )
    };
    // As written first (the kernel resolves `..` after a symlink), lexically when the
    // directory is gone.
    canonical(path)
        .or_else(|| canonical(&lexical))
        .unwrap_or(lexical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::unix::net::UnixDatagram;

    fn p(index: usize, fd: i32, name: Option<&str>) -> Passed {
        Passed {
            index,
            fd,
            name: name.map(str::to_string),
        }
    }

    #[test]
    fn passed_to_us_are_the_fds_from_3_with_their_names() {
        let got = passed(
            Some("4242"),
            4242,
            Some("2"),
            Some("logwarden-watch.socket:haproxy"),
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                p(0, 3, Some("logwarden-watch.socket")),
                p(1, 4, Some("haproxy"))
            ]
        );
        // Without names (systemd-socket-activate without --fdname, older systemd), or
        // fewer than sockets: only messages use them.
        assert_eq!(
            passed(Some("7"), 7, Some("1"), None).unwrap(),
            vec![p(0, 3, None)]
        );
        assert_eq!(
            passed(Some("7"), 7, Some("2"), Some("a")).unwrap(),
            vec![p(0, 3, Some("a")), p(1, 4, None)]
        );
    }

    #[test]
    fn passed_to_another_process_are_not_ours() {
        // A child of a socket-activated service inherits the variables with its parent's pid.
        assert_eq!(passed(Some("100"), 101, Some("2"), None).unwrap(), vec![]);
        assert_eq!(passed(None, 101, Some("2"), None).unwrap(), vec![]);
        assert_eq!(passed(Some("101"), 101, None, None).unwrap(), vec![]);
        assert_eq!(passed(Some("101"), 101, Some("0"), None).unwrap(), vec![]);
    }

    #[test]
    fn garbled_variables_are_errors_naming_the_variable() {
        let e = passed(Some("12x"), 12, Some("1"), None).unwrap_err();
        assert!(e.to_string().contains("LISTEN_PID=\"12x\""), "{e}");
        let e = passed(Some("12"), 12, Some("-1"), None).unwrap_err();
        assert!(e.to_string().contains("LISTEN_FDS=\"-1\""), "{e}");
        let e = passed(Some("12"), 12, Some("4000000000"), None).unwrap_err();
        assert!(matches!(e, ActivationError::TooMany(4_000_000_000)), "{e}");
    }

    fn unix_socket(dir: &Path, name: &str) -> Socket {
        Socket::Unix(UnixDatagram::bind(dir.join(name)).unwrap())
    }

    #[test]
    fn a_bound_unix_datagram_socket_is_described_by_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let got = describe(unix_socket(dir.path(), "main.sock"), 3, None).unwrap();
        assert_eq!(got.bound, Receive::Unix(dir.path().join("main.sock")));
        assert!(matches!(got.socket, Socket::Unix(_)));
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        let got = describe(Socket::Udp(udp), 4, None).unwrap();
        assert_eq!(got.bound, Receive::Udp(addr));
    }

    #[test]
    fn an_unbound_or_abstract_socket_is_an_error_naming_the_fd() {
        let e = describe(
            Socket::Unix(UnixDatagram::unbound().unwrap()),
            5,
            Some("extra".into()),
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("fd 5 (extra)") && text.contains("no address"),
            "{text}"
        );
        let addr =
            std::os::unix::net::SocketAddr::from_abstract_name(b"logwarden-test-abstract").unwrap();
        let abs = UnixDatagram::bind_addr(&addr).unwrap();
        let e = describe(Socket::Unix(abs), 6, None).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("fd 6 ") && text.contains("@logwarden-test-abstract"),
            "{text}"
        );
    }

    fn inherited_of(sockets: Vec<Socket>) -> Vec<Inherited> {
        sockets
            .into_iter()
            .enumerate()
            .map(|(i, s)| describe(s, 3 + i32::try_from(i).unwrap(), None).unwrap())
            .collect()
    }

    #[test]
    fn take_matches_the_unix_path_however_it_is_spelled_and_only_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("sub"), dir.path().join("link")).unwrap();
        let mut list = inherited_of(vec![
            unix_socket(&dir.path().join("sub"), "a.sock"),
            unix_socket(dir.path(), "b.sock"),
        ]);
        // A directory symlink, `.`, `..` and a doubled slash name the same socket.
        let spelled = format!("{}/link/./..//sub/a.sock", dir.path().display());
        let want = Receive::Unix(PathBuf::from(spelled));
        let got = take(&mut list, &want).expect("the socket of sub/a.sock");
        let Socket::Unix(s) = got else {
            panic!("not the unix socket")
        };
        assert_eq!(
            s.local_addr().unwrap().as_pathname(),
            Some(dir.path().join("sub/a.sock").as_path())
        );
        assert!(take(&mut list, &want).is_none(), "taken twice");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].bound, Receive::Unix(dir.path().join("b.sock")));
    }

    #[test]
    fn take_matches_udp_exactly_and_never_across_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        let mut list = inherited_of(vec![Socket::Udp(udp), unix_socket(dir.path(), "x.sock")]);
        let mut other_port = addr;
        other_port.set_port(if addr.port() == 1 { 2 } else { addr.port() - 1 });
        assert!(take(&mut list, &Receive::Udp(other_port)).is_none());
        let any = std::net::SocketAddr::new([0, 0, 0, 0].into(), addr.port());
        assert!(take(&mut list, &Receive::Udp(any)).is_none());
        assert!(take(&mut list, &Receive::Pipe).is_none());
        assert!(take(&mut list, &Receive::Unix(dir.path().join("y.sock"))).is_none());
        assert_eq!(list.len(), 2, "nothing taken by a mismatch");
        assert!(matches!(
            take(&mut list, &Receive::Udp(addr)),
            Some(Socket::Udp(_))
        ));
        assert!(matches!(
            take(&mut list, &Receive::Unix(dir.path().join("x.sock"))),
            Some(Socket::Unix(_))
        ));
        assert!(list.is_empty());
    }
}
