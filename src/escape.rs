//! File names as text, escaped as `ls -b` escapes them.
//!
//! File names are chosen by whoever may write a log directory, not by us: a name holding a
//! newline would otherwise forge a log line or split a `check` line in two, and a terminal
//! escape would rewrite the operator's screen. Every name that reaches a message or a report
//! goes through here. Spaces and printable non-ASCII letters stay as they are.

use std::fmt::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The path with backslash, control characters and bytes that are not UTF-8 escaped
/// (`\n`, `\t`, `\\`, `\033`, ...), so that it is always one line of plain text.
pub fn path(p: &Path) -> String {
    bytes(p.as_os_str().as_bytes())
}

/// Like [`path`], for a name held as a `str` (a lossy name must not be passed here; use
/// [`path`] on the original).
pub fn text(s: &str) -> String {
    bytes(s.as_bytes())
}

/// A log message as one line: control characters escaped (a file name that reached a
/// message unescaped still cannot start a line of its own), the rest as it is.
pub fn line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            push_str(&mut out, c.encode_utf8(&mut [0u8; 4]));
        } else {
            out.push(c);
        }
    }
    out
}

fn bytes(mut b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    while !b.is_empty() {
        let (valid, rest) = match std::str::from_utf8(b) {
            Ok(s) => (s, &b[b.len()..]),
            Err(e) => {
                let (ok, bad) = b.split_at(e.valid_up_to());
                let n = e.error_len().unwrap_or(bad.len());
                let s = std::str::from_utf8(ok).unwrap_or_default();
                push_str(&mut out, s);
                for &byte in &bad[..n] {
                    let _ = write!(out, "\\{byte:03o}");
                }
                b = &bad[n..];
                continue;
            }
        };
        push_str(&mut out, valid);
        b = rest;
    }
    out
}

fn push_str(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{byte:03o}");
                }
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn a_name_with_a_newline_stays_on_one_line() {
        let p = Path::new("/var/log/a\n[2026-11-30T00:00:00Z ERROR] forged.log");
        let s = path(p);
        assert!(!s.contains('\n'), "{s}");
        assert_eq!(s, "/var/log/a\\n[2026-11-30T00:00:00Z ERROR] forged.log");
    }

    #[test]
    fn a_log_message_is_one_line() {
        assert_eq!(line("rotate a\nb.log"), "rotate a\\nb.log");
        assert_eq!(line("C:\\x ok"), "C:\\x ok");
    }

    #[test]
    fn names_are_escaped_as_ls_b_does() {
        assert_eq!(text("a\tb\\c\x1b[31m"), "a\\tb\\\\c\\033[31m");
        assert_eq!(text("caf\u{e9} x.log"), "caf\u{e9} x.log");
        assert_eq!(text("a\u{85}b"), "a\\302\\205b");
        assert_eq!(path(Path::new(OsStr::from_bytes(b"x\xffy"))), "x\\377y");
    }
}
