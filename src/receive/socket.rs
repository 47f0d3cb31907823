//! A receive socket: bound (or taken from systemd), tuned, and emptied into the queue.
//!
//! The thread that runs [`receive`] does nothing but move datagrams from the kernel to the
//! [`Queue`], so the kernel's buffer drains as fast as the socket is fed; every loss is
//! counted where it is seen (the kernel's own count through `SO_RXQ_OVFL`, a full queue, a
//! datagram longer than the buffer). It must never wait on the disk, never bind a socket
//! others could send to outside the policy's group, and never take a socket path through a
//! symlink.

use std::io::IoSliceMut;
use std::net::UdpSocket;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use nix::errno::Errno;
use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};

use super::queue::Queue;
use crate::dir::{DirHandle, FileError};
use crate::policy::{Receive, Receiving};

/// The kernel buffer asked for each socket: a burst of this much waits in the kernel while
/// the receiving thread is not scheduled.
const RCVBUF: usize = 8 << 20;
/// The largest datagram kept whole; nginx's lines reach 64 KiB, a unix datagram can be
/// larger still. A longer one is written cut, and counted.
pub const MAX_DATAGRAM: usize = 256 << 10;

/// A bound datagram socket.
#[derive(Debug)]
pub enum Socket {
    Unix(UnixDatagram),
    Udp(UdpSocket),
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Socket::Unix(s) => s.as_fd(),
            Socket::Udp(s) => s.as_fd(),
        }
    }
}

/// What one socket lost, by cause; the writer adds its own.
#[derive(Debug, Default)]
pub struct Losses {
    /// Datagrams the kernel dropped because the socket's buffer was full (`SO_RXQ_OVFL`).
    pub kernel: AtomicU64,
    /// Datagrams dropped because the queue was at its bound.
    pub queue: AtomicU64,
    /// Datagrams longer than [`MAX_DATAGRAM`], written cut.
    pub truncated: AtomicU64,
    /// Datagrams received in all.
    pub received: AtomicU64,
}

/// Binds the socket `r` names, with the mode and group `receiving` sets: 0660 and that
/// group, else 0600 (root alone may send).
pub fn bind(r: &Receive, receiving: &Receiving) -> Result<Socket, FileError> {
    match r {
        Receive::Unix(path) => {
            let fail = |why: &str| {
                FileError::new(path.clone(), "bind", std::io::Error::other(why.to_string()))
            };
            let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
                return Err(fail("not a socket path"));
            };
            let dir = DirHandle::open(dir)?;
            if dir.others_may_write() {
                return Err(fail(
                    "its directory may be written by others, who could put their own socket in its place; use a directory only root may write (e.g. /run/logwarden)",
                ));
            }
            dir.remove_stale_socket(name)?;
            let group = receiving.group.as_ref().and_then(|g| g.id);
            let mode = if group.is_some() { 0o660 } else { 0o600 };
            let socket = dir.bind_datagram(name, mode, group)?;
            dir.sync()?;
            Ok(Socket::Unix(socket))
        }
        Receive::Udp(addr) => UdpSocket::bind(addr).map(Socket::Udp).map_err(|e| {
            FileError::new(std::path::PathBuf::from(format!("udp:{addr}")), "bind", e)
        }),
        Receive::Pipe => Err(FileError::new(
            std::path::PathBuf::from("pipe"),
            "bind",
            std::io::Error::other("a pipe is not a socket"),
        )),
    }
}

/// Asks for a large kernel buffer (beyond `rmem_max` as root) and the kernel's drop count.
/// Neither is essential: a refusal is logged and receiving goes on.
pub fn tune(socket: &Socket, name: &str) {
    if setsockopt(socket, sockopt::RcvBufForce, &RCVBUF).is_err() {
        if let Err(e) = setsockopt(socket, sockopt::RcvBuf, &RCVBUF) {
            log::warn!("{name}: cannot enlarge the receive buffer: {e}");
        }
    }
    if let Err(e) = setsockopt(socket, sockopt::RxqOvfl, &1) {
        log::debug!("{name}: the kernel will not count its drops (SO_RXQ_OVFL): {e}");
    }
}

/// How long the socket fills before it is drained again while datagrams keep coming: at
/// most `max_dgram_qlen` (512) datagrams arrive meanwhile from a unix socket's senders, so a
/// burst of up to 256,000 a second is taken without a sender's loss.
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

/// How long a receive waits before it looks whether it should stop: the only wake-up of
/// an idle input.
const STOP_LOOK: std::time::Duration = std::time::Duration::from_secs(1);

/// Moves datagrams from `socket` into `queue` until `stop` is set (seen within
/// [`STOP_LOOK`]), and then what the socket still holds. One blocking `recvmsg` per datagram and nothing else: no poll, and the
/// queue wakes the writer only when it waits.
pub fn receive(socket: &Socket, stop: &AtomicBool, queue: &Queue, losses: &Losses) {
    let timeout = nix::sys::time::TimeVal::new(STOP_LOOK.as_secs() as _, 0);
    if let Err(e) = setsockopt(socket, sockopt::ReceiveTimeout, &timeout) {
        log::error!("receiving stopped: cannot set a receive timeout: {e}");
        return;
    }
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut cmsg = nix::cmsg_space!(u32);
    let mut kernel_seen: Option<u32> = None;
    // After a datagram, the socket is drained without blocking, then looked at again
    // after [`GATHER`]: a steady stream wakes this thread every GATHER, not per datagram.
    // Only a look that finds nothing goes back to blocking.
    let mut flags = MsgFlags::empty();
    let mut gathered = false;
    loop {
        // Once told to stop, what the kernel already holds is still taken, then no more.
        let stopping = stop.load(Ordering::Relaxed);
        if stopping {
            flags = MsgFlags::MSG_DONTWAIT;
        }
        let got = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            recvmsg::<SockaddrStorage>(socket.as_fd().as_raw_fd(), &mut iov, Some(&mut cmsg), flags)
                .map(|m| {
                    let dropped = m.cmsgs().ok().and_then(|c| {
                        c.filter_map(|c| match c {
                            ControlMessageOwned::RxqOvfl(n) => Some(n),
                            _ => None,
                        })
                        .last()
                    });
                    (m.bytes, m.flags.contains(MsgFlags::MSG_TRUNC), dropped)
                })
        };
        match got {
            Ok((len, cut, dropped)) => {
                if let Some(n) = dropped {
                    // A running count since the socket was made.
                    let before = kernel_seen.unwrap_or(0);
                    if n > before {
                        losses
                            .kernel
                            .fetch_add(u64::from(n - before), Ordering::Relaxed);
                    }
                    kernel_seen = Some(n);
                }
                losses.received.fetch_add(1, Ordering::Relaxed);
                if cut {
                    losses.truncated.fetch_add(1, Ordering::Relaxed);
                }
                if !queue.try_push(buf[..len].to_vec()) {
                    losses.queue.fetch_add(1, Ordering::Relaxed);
                }
                flags = MsgFlags::MSG_DONTWAIT;
                gathered = false;
            }
            Err(Errno::EAGAIN) if stopping => return,
            Err(Errno::EAGAIN) if flags.contains(MsgFlags::MSG_DONTWAIT) => {
                if gathered {
                    // A gap of GATHER with nothing: wait for the next datagram.
                    flags = MsgFlags::empty();
                } else {
                    std::thread::sleep(GATHER);
                    gathered = true;
                }
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(e) => {
                log::warn!("receive failed: {e}");
                if stopping {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}
