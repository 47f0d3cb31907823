//! Confined file operations inside one opened log directory.
//!
//! logwarden runs as root over directories other users may write to. Every operation here
//! goes through a descriptor of the directory opened once without following a symlink, and
//! names a single path component relative to it, so a directory swapped for a symlink
//! between two steps cannot redirect a write, a rename or a delete. Files are opened with
//! `O_NOFOLLOW` and checked through the descriptor. This module must never follow a
//! symlink, never accept a name with a `/`, and never replace a file it did not mean to.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, RenameFlags};
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::unistd::UnlinkatFlags;

/// A failed file-system operation, with the path and what was being done.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot {op}: {source}", crate::escape::path(path))]
pub struct FileError {
    pub path: PathBuf,
    pub op: &'static str,
    #[source]
    pub source: io::Error,
}

impl FileError {
    pub fn new(
        path: impl Into<PathBuf>,
        op: &'static str,
        source: impl Into<io::Error>,
    ) -> FileError {
        FileError {
            path: path.into(),
            op,
            source: source.into(),
        }
    }
}

/// The suffix of every temporary file logwarden writes; a crashed pass leaves only these.
pub const TEMP_MARK: &str = ".logwarden-";
pub const TEMP_SUFFIX: &str = ".tmp";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(Debug)]
pub struct DirHandle {
    path: PathBuf,
    fd: OwnedFd,
    stat: FileStat,
}

impl DirHandle {
    /// Opens a directory without following a symlink in any component: the path is walked
    /// from `/` one component at a time (`openat` with `O_NOFOLLOW`), so an ancestor that
    /// another user swaps for a symlink cannot steer us elsewhere. Every directory passed
    /// through is held to OpenSSH's `safe_path` rule (see [`ancestor_problem`]).
    pub fn open(path: &Path) -> Result<DirHandle, FileError> {
        DirHandle::open_trusting(path, None)
    }

    /// [`DirHandle::open`], with the ancestors of an `su:` site's directory also allowed to
    /// be `su`'s (it may change them anyway, and its file work runs as it).
    pub fn open_trusting(path: &Path, su: Option<u32>) -> Result<DirHandle, FileError> {
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| FileError::new(path, "find the current directory for", e))?
                .join(path)
        };
        // `..` folds lexically: with no symlink followed, that is where it leads.
        let absolute = crate::policy::normal_path(&absolute);
        let walk = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fail = |op: &'static str, e: io::Error| FileError::new(path, op, e);
        let root = nix::fcntl::open("/", walk, Mode::empty())
            .map_err(|e| fail("open the directory", e.into()))?;
        let mut parent: Option<OwnedFd> = None;
        let mut current = root;
        let mut current_st =
            nix::sys::stat::fstat(&current).map_err(|e| fail("stat the directory", e.into()))?;
        let mut walked = PathBuf::from("/");
        for comp in absolute.components() {
            let std::path::Component::Normal(name) = comp else {
                continue;
            };
            let next = nix::fcntl::openat(&current, name, walk, Mode::empty()).map_err(|e| {
                let e = if e == Errno::ELOOP || e == Errno::ENOTDIR {
                    io::Error::other(format!(
                        "{} is a symlink or not a directory; logwarden never follows a symlink in any component of a path",
                        crate::escape::path(&walked.join(name))
                    ))
                } else {
                    e.into()
                };
                fail("open the directory", e)
            })?;
            let next_st =
                nix::sys::stat::fstat(&next).map_err(|e| fail("stat the directory", e.into()))?;
            if let Some(why) = ancestor_problem(&walked, &current_st, &next_st, su) {
                return Err(fail(
                    "open the directory",
                    io::Error::new(io::ErrorKind::PermissionDenied, why),
                ));
            }
            parent = Some(current);
            current = next;
            current_st = next_st;
            walked.push(name);
        }
        // The walk holds O_PATH descriptors (enough to pass through a directory one may
        // search but not read); the handle itself must list, so open it for reading from
        // its parent, again without following, and make sure it is the one we checked.
        let fd = match &parent {
            None => nix::fcntl::open(
                "/",
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            ),
            Some(p) => nix::fcntl::openat(
                p,
                walked.file_name().unwrap_or(OsStr::new(".")),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            ),
        }
        .map_err(|e| fail("open the directory", refusal(e)))?;
        let stat = nix::sys::stat::fstat(&fd).map_err(|e| fail("stat the directory", e.into()))?;
        if (stat.st_dev, stat.st_ino) != (current_st.st_dev, current_st.st_ino) {
            return Err(fail(
                "open the directory",
                io::Error::other("it was replaced while being opened"),
            ));
        }
        drop(current);
        Ok(DirHandle {
            path: path.to_path_buf(),
            fd,
            stat,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stat(&self) -> &FileStat {
        &self.stat
    }

    pub fn join(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    /// The names in the directory, without `.` and `..`.
    pub fn names(&self) -> Result<Vec<OsString>, FileError> {
        let mut dir = Dir::openat(
            &self.fd,
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| FileError::new(&self.path, "list the directory", e))?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(|e| FileError::new(&self.path, "list the directory", e))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(OsStr::from_bytes(name).to_os_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// `lstat` of a name: the entry itself, never what a symlink points to.
    pub fn lstat(&self, name: &OsStr) -> Result<Option<FileStat>, FileError> {
        check_name(name, &self.path)?;
        match nix::sys::stat::fstatat(&self.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(FileError::new(self.join(name), "stat", e)),
        }
    }

    /// Opens a regular file for reading. Refuses symlinks, FIFOs and devices without
    /// blocking on them.
    pub fn open_read(&self, name: &OsStr) -> Result<File, FileError> {
        check_name(name, &self.path)?;
        let fd = nix::fcntl::openat(
            &self.fd,
            name,
            OFlag::O_RDONLY
                | OFlag::O_NOFOLLOW
                | OFlag::O_NONBLOCK
                | OFlag::O_CLOEXEC
                | OFlag::O_NOCTTY,
            Mode::empty(),
        )
        .map_err(|e| FileError::new(self.join(name), "open", refusal(e)))?;
        let st =
            nix::sys::stat::fstat(&fd).map_err(|e| FileError::new(self.join(name), "stat", e))?;
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
            return Err(FileError::new(
                self.join(name),
                "open",
                io::Error::other("not a regular file"),
            ));
        }
        // O_NONBLOCK only guarded the open against FIFOs; regular files ignore it.
        Ok(File::from(fd))
    }

    /// Creates `name` exclusively (never replacing anything) with `mode`.
    pub fn create_new(&self, name: &OsStr, mode: u32) -> Result<File, FileError> {
        check_name(name, &self.path)?;
        let fd = nix::fcntl::openat(
            &self.fd,
            name,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(mode),
        )
        .map_err(|e| FileError::new(self.join(name), "create", e))?;
        let file = File::from(fd);
        // The umask may have narrowed the mode; set it exactly through the descriptor.
        nix::sys::stat::fchmod(file.as_fd(), Mode::from_bits_truncate(mode))
            .map_err(|e| FileError::new(self.join(name), "set the mode of", e))?;
        Ok(file)
    }

    /// Opens `name` for reading and writing, creating it with `mode` if it is missing; never
    /// through a symlink, and only a regular file.
    pub fn open_or_create(&self, name: &OsStr, mode: u32) -> Result<File, FileError> {
        check_name(name, &self.path)?;
        let fd = nix::fcntl::openat(
            &self.fd,
            name,
            OFlag::O_RDWR
                | OFlag::O_CREAT
                | OFlag::O_NOFOLLOW
                | OFlag::O_NONBLOCK
                | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(mode),
        )
        .map_err(|e| FileError::new(self.join(name), "open", refusal(e)))?;
        let st =
            nix::sys::stat::fstat(&fd).map_err(|e| FileError::new(self.join(name), "stat", e))?;
        if !is_regular(&st) {
            return Err(FileError::new(
                self.join(name),
                "open",
                io::Error::other("not a regular file"),
            ));
        }
        Ok(File::from(fd))
    }

    /// Opens `name` to append to it, creating it with `mode` (and `owner`, `group`) when it
    /// is missing: never through a symlink, and only a regular file with one link (a hard
    /// link planted at the name would have us write into someone else's file). Returns the
    /// file and whether it was created.
    pub fn open_append(
        &self,
        name: &OsStr,
        mode: u32,
        owner: Option<u32>,
        group: Option<u32>,
    ) -> Result<(File, bool), FileError> {
        check_name(name, &self.path)?;
        let flags = OFlag::O_WRONLY
            | OFlag::O_APPEND
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_CLOEXEC
            | OFlag::O_NOCTTY;
        let (fd, created) = match nix::fcntl::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => (fd, false),
            Err(Errno::ENOENT) => {
                let fd = nix::fcntl::openat(
                    &self.fd,
                    name,
                    flags | OFlag::O_CREAT | OFlag::O_EXCL,
                    Mode::from_bits_truncate(mode),
                )
                .map_err(|e| FileError::new(self.join(name), "create", e))?;
                (fd, true)
            }
            Err(e) => return Err(FileError::new(self.join(name), "open", refusal(e))),
        };
        let st =
            nix::sys::stat::fstat(&fd).map_err(|e| FileError::new(self.join(name), "stat", e))?;
        if !is_regular(&st) || st.st_nlink != 1 {
            return Err(FileError::new(
                self.join(name),
                "open",
                io::Error::other("not a regular file with one link"),
            ));
        }
        if created {
            if owner.is_some() || group.is_some() {
                nix::unistd::fchown(
                    &fd,
                    owner.map(nix::unistd::Uid::from_raw),
                    group.map(nix::unistd::Gid::from_raw),
                )
                .map_err(|e| FileError::new(self.join(name), "set the owner of", e))?;
            }
            nix::sys::stat::fchmod(&fd, Mode::from_bits_truncate(mode))
                .map_err(|e| FileError::new(self.join(name), "set the mode of", e))?;
        }
        Ok((File::from(fd), created))
    }

    /// Binds a unix datagram socket at `name` with `mode` and `group`, never reachable
    /// with another mode: it is bound in a private directory made for it (0700), given its
    /// mode and group there, then renamed into place, never replacing anything.
    pub fn bind_datagram(
        &self,
        name: &OsStr,
        mode: u32,
        group: Option<u32>,
    ) -> Result<std::os::unix::net::UnixDatagram, FileError> {
        use std::os::fd::AsRawFd;
        check_name(name, &self.path)?;
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut private = OsString::from(".");
        private.push(name);
        private.push(format!(
            "{TEMP_MARK}{}-{n}{TEMP_SUFFIX}",
            std::process::id()
        ));
        let err = |op, e: io::Error| FileError::new(self.join(name), op, e);
        nix::sys::stat::mkdirat(
            &self.fd,
            private.as_os_str(),
            Mode::from_bits_truncate(0o700),
        )
        .map_err(|e| err("make a private directory to bind", e.into()))?;
        let bound = (|| {
            let inner: OwnedFd = nix::fcntl::openat(
                &self.fd,
                private.as_os_str(),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| err("open the private directory", e.into()))?;
            let at = format!("/proc/self/fd/{}/s", inner.as_raw_fd());
            let socket = std::os::unix::net::UnixDatagram::bind(&at).map_err(|e| err("bind", e))?;
            let placed = (|| {
                if let Some(g) = group {
                    nix::unistd::fchownat(
                        &inner,
                        "s",
                        None,
                        Some(nix::unistd::Gid::from_raw(g)),
                        AtFlags::AT_SYMLINK_NOFOLLOW,
                    )
                    .map_err(|e| err("set the group of", e.into()))?;
                }
                // Following is safe here: nobody else can enter the 0700 directory we made.
                nix::sys::stat::fchmodat(
                    &inner,
                    "s",
                    Mode::from_bits_truncate(mode),
                    nix::sys::stat::FchmodatFlags::FollowSymlink,
                )
                .map_err(|e| err("set the mode of", e.into()))?;
                nix::fcntl::renameat2(&inner, "s", &self.fd, name, RenameFlags::RENAME_NOREPLACE)
                    .map_err(|e| err("move into place", e.into()))
            })();
            if let Err(e) = placed {
                let _ = nix::unistd::unlinkat(&inner, "s", UnlinkatFlags::NoRemoveDir);
                return Err(e);
            }
            Ok(socket)
        })();
        let _ = nix::unistd::unlinkat(&self.fd, private.as_os_str(), UnlinkatFlags::RemoveDir);
        bound
    }

    /// Clears the way for a socket at `name`: a socket nobody receives on any more (a
    /// process that died) is removed; a socket in use, or anything else, is refused.
    pub fn remove_stale_socket(&self, name: &OsStr) -> Result<(), FileError> {
        let Some(st) = self.lstat(name)? else {
            return Ok(());
        };
        let refuse = |why: &str| FileError::new(self.join(name), "bind", io::Error::other(why));
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFSOCK {
            return Err(refuse(
                "something else than a socket stands at this name; refused",
            ));
        }
        let probe = std::os::unix::net::UnixDatagram::unbound()
            .map_err(|e| FileError::new(self.join(name), "probe", e))?;
        match probe.connect(self.fd_path().join(name)) {
            Ok(()) => Err(refuse("another process receives on this socket")),
            Err(e) if e.raw_os_error() == Some(libc_econnrefused()) => {
                nix::unistd::unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir).map_err(|e| {
                    FileError::new(
                        self.join(name),
                        "remove the stale socket",
                        io::Error::from(e),
                    )
                })
            }
            Err(e) => Err(FileError::new(self.join(name), "probe", e)),
        }
    }

    /// A path that reaches this very directory through its descriptor (`/proc/self/fd/N`),
    /// for the one call that takes no directory descriptor: `bind` of a unix socket.
    pub fn fd_path(&self) -> PathBuf {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }

    /// Whether someone other than root and us may create or replace names in it (a sticky
    /// bit does not help: a free name can still be taken).
    pub fn others_may_write(&self) -> bool {
        let me = nix::unistd::geteuid().as_raw();
        let st = &self.stat;
        (st.st_uid != 0 && st.st_uid != me)
            || st.st_mode & 0o002 != 0
            || (st.st_mode & 0o020 != 0 && st.st_gid != 0)
    }

    /// Creates a temporary file for the eventual `final_name`, hidden and recognisable so
    /// the next pass can clean up after a crash.
    pub fn create_temp(&self, final_name: &OsStr) -> Result<(File, OsString), FileError> {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = OsString::from(".");
        name.push(final_name);
        // A random part, so no one can take the name ahead of us (O_EXCL already keeps us
        // from opening what they put there; this keeps them from making us fail).
        let salt = {
            use std::hash::{BuildHasher, Hasher};
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        };
        name.push(format!(
            "{TEMP_MARK}{}-{n}-{salt:016x}{TEMP_SUFFIX}",
            std::process::id()
        ));
        let file = self.create_new(&name, 0o600)?;
        Ok((file, name))
    }

    /// Renames within or across directories, never replacing an existing target.
    pub fn rename_new(
        &self,
        from: &OsStr,
        to_dir: &DirHandle,
        to: &OsStr,
    ) -> Result<(), FileError> {
        self.rename(from, to_dir, to, false)
    }

    /// Renames, atomically replacing the target (used to commit a finished temp file).
    pub fn rename_replace(
        &self,
        from: &OsStr,
        to_dir: &DirHandle,
        to: &OsStr,
    ) -> Result<(), FileError> {
        self.rename(from, to_dir, to, true)
    }

    fn rename(
        &self,
        from: &OsStr,
        to_dir: &DirHandle,
        to: &OsStr,
        replace: bool,
    ) -> Result<(), FileError> {
        check_name(from, &self.path)?;
        check_name(to, &to_dir.path)?;
        let err = |e: Errno| {
            FileError::new(
                self.join(from),
                "rename",
                io::Error::other(format!("to {}: {e}", to_dir.join(to).display())),
            )
        };
        if replace {
            return nix::fcntl::renameat(&self.fd, from, &to_dir.fd, to).map_err(err);
        }
        match nix::fcntl::renameat2(
            &self.fd,
            from,
            &to_dir.fd,
            to,
            RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => Ok(()),
            // File systems without RENAME_NOREPLACE: check, then rename. The lock keeps
            // other logwarden passes out; web servers never create archive names.
            Err(Errno::EINVAL | Errno::ENOSYS | Errno::ENOTSUP) => {
                if to_dir.lstat(to)?.is_some() {
                    return Err(err(Errno::EEXIST));
                }
                nix::fcntl::renameat(&self.fd, from, &to_dir.fd, to).map_err(err)
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Swaps two names atomically (`RENAME_EXCHANGE`): neither name is free at any instant.
    /// `Ok(false)` when the kernel or file system cannot (the caller falls back and checks).
    pub fn exchange(&self, a: &OsStr, other: &DirHandle, b: &OsStr) -> Result<bool, FileError> {
        check_name(a, &self.path)?;
        check_name(b, &other.path)?;
        if crate::failpoint::unsupported("rename.exchange") {
            return Ok(false);
        }
        match nix::fcntl::renameat2(&self.fd, a, &other.fd, b, RenameFlags::RENAME_EXCHANGE) {
            Ok(()) => Ok(true),
            Err(Errno::EINVAL | Errno::ENOSYS | Errno::ENOTSUP) => Ok(false),
            Err(e) => Err(FileError::new(
                self.join(a),
                "exchange",
                io::Error::other(format!("with {}: {e}", crate::escape::path(&other.join(b)))),
            )),
        }
    }

    pub fn unlink(&self, name: &OsStr) -> Result<(), FileError> {
        check_name(name, &self.path)?;
        nix::unistd::unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir)
            .map_err(|e| FileError::new(self.join(name), "delete", e))
    }

    /// Makes renames and deletes in this directory durable.
    pub fn sync(&self) -> Result<(), FileError> {
        nix::unistd::fsync(&self.fd)
            .map_err(|e| FileError::new(&self.path, "sync the directory", e))
    }
}

/// OpenSSH's `safe_path` rule for a directory `dir` we pass through to reach `next`: it is
/// owned by root (or by the user we run as) and no one else may write to it (a group
/// other than root's counts as someone else), or it is sticky, like `/tmp`, and `next` is
/// root's (or ours), so no one else can rename or replace `next` under us. `su`: a site's
/// `su:` user, trusted like us.
pub fn ancestor_problem(
    dir: &Path,
    st: &FileStat,
    next: &FileStat,
    su: Option<u32>,
) -> Option<String> {
    let me = nix::unistd::geteuid().as_raw();
    let trusted = |uid: u32| uid == 0 || uid == me || Some(uid) == su;
    let others_write = st.st_mode & 0o002 != 0;
    let group_write = st.st_mode & 0o020 != 0 && st.st_gid != 0;
    if trusted(st.st_uid) && !others_write && !group_write {
        return None;
    }
    let sticky = st.st_mode & 0o1000 != 0;
    if sticky && trusted(st.st_uid) && trusted(next.st_uid) {
        return None;
    }
    Some(format!(
        "{} (owner uid {}, group gid {}, mode {:04o}) lets another user replace what lies below it; logwarden resolves paths only through directories that root alone may change (chown root and chmod go-w it, or make it sticky with root-owned entries)",
        crate::escape::path(dir),
        st.st_uid,
        st.st_gid,
        st.st_mode & 0o7777
    ))
}

fn libc_econnrefused() -> i32 {
    Errno::ECONNREFUSED as i32
}

fn refusal(e: Errno) -> io::Error {
    if e == Errno::ELOOP {
        io::Error::other("it is a symlink; logwarden never follows symlinks")
    } else {
        e.into()
    }
}

fn check_name(name: &OsStr, dir: &Path) -> Result<(), FileError> {
    let b = name.as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') || b.contains(&0) {
        return Err(FileError::new(
            dir.join(name),
            "use",
            io::Error::other("not a plain file name"),
        ));
    }
    Ok(())
}

/// Whether a stat is of a regular file.
pub fn is_regular(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG
}

pub fn is_symlink(st: &FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn refuses_symlinks_and_never_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", tmp.path().join("link")).unwrap();
        let d = DirHandle::open(tmp.path()).unwrap();
        assert!(
            d.open_read(OsStr::new("link"))
                .unwrap_err()
                .to_string()
                .contains("symlink")
        );
        assert!(d.open_read(OsStr::new("../a")).is_err());
        std::fs::write(tmp.path().join("b"), "y").unwrap();
        assert!(d.rename_new(OsStr::new("a"), &d, OsStr::new("b")).is_err());
        assert_eq!(std::fs::read(tmp.path().join("b")).unwrap(), b"y");
        let (mut f, name) = d.create_temp(OsStr::new("b.gz")).unwrap();
        f.write_all(b"z").unwrap();
        assert!(name.to_str().unwrap().starts_with(".b.gz.logwarden-"));
        d.rename_replace(&name, &d, OsStr::new("b")).unwrap();
        assert_eq!(std::fs::read(tmp.path().join("b")).unwrap(), b"z");
        std::os::unix::fs::symlink(tmp.path(), tmp.path().join("dirlink")).unwrap();
        assert!(DirHandle::open(&tmp.path().join("dirlink")).is_err());
    }

    #[test]
    fn refuses_fifos_without_blocking() {
        let tmp = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(&tmp.path().join("fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        let d = DirHandle::open(tmp.path()).unwrap();
        assert!(
            d.open_read(OsStr::new("fifo"))
                .unwrap_err()
                .to_string()
                .contains("not a regular file")
        );
    }
}
