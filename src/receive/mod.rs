//! Write-time inputs: logwarden as the writer of a log, so full addresses never reach disk.
//!
//! A `logs:` entry with `receive:` is a file logwarden writes itself: `watch` binds the
//! entry's datagram socket (syslog, as nginx and HAProxy send it) and `pipe` reads standard
//! input (Apache's piped logs). Each message loses its syslog header and is appended, one
//! line, to the entry's file, masked first when the site's window is `0s`. The process that
//! writes a log also rotates it, by switching files itself. It must never block the
//! receiving side on the disk, never drop a line without counting it, and never write a full
//! address to a file, a temp file or a page-cache page when the window is `0s`.

pub(crate) mod activation;
pub mod frame;
