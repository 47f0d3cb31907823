//! The write-time keys: `receive:` and `tag:` of a `logs:` entry, `receive_group:` and
//! `receive_queue:` of a site, validated into [`Receive`] and [`Receiving`].
//!
//! It must never accept a socket a stranger could take or feed: a UDP address off the
//! loopback (anyone on the network could write lines into a site's log), a socket path that
//! is not absolute and literal, a log that two inputs would write, or a shared socket whose
//! messages could not be routed to exactly one log.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::inherit::{Layers, RECEIVE_GROUP, RECEIVE_QUEUE};
use super::validate::Validator;
use super::{LogPattern, Receive, Receiving, Site, normal_path};
use crate::config::LogEntryConfig;

/// The longest path a unix socket can be bound at (`sun_path` holds 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;

impl Validator<'_> {
    /// `receive:` and `tag:` of one map entry, onto its pattern.
    pub(super) fn receive_entry(&mut self, key: &str, entry: &LogEntryConfig, p: &mut LogPattern) {
        if let Some(text) = &entry.receive {
            let rkey = format!("{key}.receive");
            if let Some(r) = self.receive(&rkey, text) {
                if p.name.literal().is_none() {
                    self.error(
                        &rkey,
                        format!(
                            "{}: a log logwarden writes must be one file; wildcards name a family",
                            p.display()
                        ),
                    );
                }
                p.receive = Some(r);
            }
        }
        if let Some(tag) = &entry.tag {
            let tkey = format!("{key}.tag");
            if entry.receive.is_none() {
                self.error(
                    &tkey,
                    "a tag routes messages of a `receive:` socket; add one",
                );
            } else if entry.receive.as_deref().map(str::trim) == Some("pipe") {
                self.error(&tkey, "a pipe carries one log; tags route socket messages");
            } else if tag.is_empty()
                || tag.len() > 48
                || !tag
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b':' && b != b'[')
            {
                self.error(
                    &tkey,
                    format!(
                        "{tag:?} is not a syslog tag (1 to 48 printable characters, no blank, ':' or '[')"
                    ),
                );
            } else {
                p.tag = Some(tag.clone());
            }
        }
    }

    /// `unix:/ABS/PATH`, `udp:ADDR:PORT` on a loopback address, or `pipe`.
    fn receive(&mut self, key: &str, text: &str) -> Option<Receive> {
        let text = text.trim();
        if text == "pipe" {
            return Some(Receive::Pipe);
        }
        if let Some(path) = text.strip_prefix("unix:") {
            let p = Path::new(path);
            if !p.is_absolute() || p.file_name().is_none() {
                self.error(
                    key,
                    format!("{path:?}: a socket path must be absolute and name a file"),
                );
                return None;
            }
            if p.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
                || path.contains(['*', '?'])
            {
                self.error(
                    key,
                    format!("{path:?}: a socket path must be literal (no '..', no wildcards)"),
                );
                return None;
            }
            let p = normal_path(p);
            if p.as_os_str().len() > MAX_SOCKET_PATH {
                self.error(
                    key,
                    format!(
                        "{path:?} is longer than the {MAX_SOCKET_PATH} bytes a unix socket path may have"
                    ),
                );
                return None;
            }
            return Some(Receive::Unix(p));
        }
        if let Some(addr) = text.strip_prefix("udp:") {
            return match addr.parse::<SocketAddr>() {
                Ok(a) if a.ip().is_loopback() && a.port() != 0 => Some(Receive::Udp(a)),
                Ok(a) if a.port() == 0 => {
                    self.error(key, format!("{addr:?}: name the port to listen on"));
                    None
                }
                Ok(_) => {
                    self.error(
                        key,
                        format!(
                            "{addr:?} is not a loopback address: anyone on the network could write lines into the log; use 127.0.0.1 or [::1]"
                        ),
                    );
                    None
                }
                Err(_) => {
                    self.error(
                        key,
                        format!("{addr:?} is not an address and port, e.g. 127.0.0.1:5514"),
                    );
                    None
                }
            };
        }
        self.error(
            key,
            format!(
                "{text:?} is not an input; use unix:/run/logwarden/NAME.sock, udp:127.0.0.1:PORT or pipe"
            ),
        );
        None
    }

    /// `receive_group:` and `receive_queue:` as they apply to a site.
    pub(super) fn receiving(&mut self, layers: &Layers) -> Receiving {
        let group = layers
            .get(&RECEIVE_GROUP)
            .map(|(k, g)| self.account(&k, g, true));
        let queue = match layers.get(&RECEIVE_QUEUE) {
            None => Receiving::DEFAULT_QUEUE,
            Some((k, text)) => match self.size(&k, text) {
                Some(q) if q >= 1 << 20 => q,
                Some(_) => {
                    self.error(
                        &k,
                        "the queue must hold at least 1MiB (a datagram is up to 64KiB)",
                    );
                    Receiving::DEFAULT_QUEUE
                }
                None => Receiving::DEFAULT_QUEUE,
            },
        };
        Receiving { group, queue }
    }

    /// Across all sites: every received log is written by one input; on a shared socket,
    /// messages go to one log each (a distinct tag, at most one entry without a tag, which
    /// takes the rest) and the sites agree on how the socket is made.
    pub(super) fn shared_inputs(&mut self, sites: &[Site]) {
        let mut by_socket: HashMap<&Receive, Vec<(&Site, &LogPattern)>> = HashMap::new();
        let mut by_path: HashMap<PathBuf, &LogPattern> = HashMap::new();
        for site in sites {
            for log in &site.logs {
                let Some(r) = &log.receive else { continue };
                let path = log.dir.join(log.name.as_str());
                if let Some(first) = by_path.get(&path) {
                    self.error(
                        &log.key,
                        format!(
                            "{} is already written by {} ({}); one file, one writer",
                            crate::escape::path(&path),
                            first
                                .receive
                                .as_ref()
                                .map(Receive::display)
                                .unwrap_or_default(),
                            first.key
                        ),
                    );
                    continue;
                }
                by_path.insert(path, log);
                if site.rotation.by_server {
                    self.error(
                        &log.key,
                        "rotate: false leaves rotation to the server, but this log's writer is logwarden; remove one",
                    );
                }
                if matches!(r, Receive::Unix(_)) && site.receiving.group.is_none() {
                    self.warn(
                        &format!("{}.receive", log.key),
                        format!(
                            "{}: with no receive_group:, only root may send to it (mode 0600); a web server's workers (www-data, nginx) need their group there",
                            r.display()
                        ),
                    );
                }
                if r.is_socket() {
                    by_socket.entry(r).or_default().push((site, log));
                }
            }
        }
        let mut sockets: Vec<_> = by_socket.into_iter().collect();
        sockets.sort_by(|a, b| a.1[0].1.key.cmp(&b.1[0].1.key));
        for (socket, logs) in sockets {
            let mut untagged: Option<&LogPattern> = None;
            let mut tags: HashMap<&str, &LogPattern> = HashMap::new();
            for &(site, log) in &logs {
                match &log.tag {
                    None => match untagged {
                        Some(first) => self.error(
                            &log.key,
                            format!(
                                "{} also feeds {} ({}): give each log on a shared socket a `tag:` (one may go without, and takes the messages no tag claims)",
                                socket.display(),
                                first.key,
                                first.display()
                            ),
                        ),
                        None => untagged = Some(log),
                    },
                    Some(tag) => {
                        if let Some(first) = tags.insert(tag.as_str(), log) {
                            self.error(
                                &format!("{}.tag", log.key),
                                format!(
                                    "tag {tag:?} on {} already routes to {} ({})",
                                    socket.display(),
                                    first.display(),
                                    first.key
                                ),
                            );
                        }
                    }
                }
                let (first_site, _) = logs[0];
                if site.receiving != first_site.receiving {
                    self.error(
                        &log.key,
                        format!(
                            "{} is shared with site {}, whose receive_group/receive_queue differ; set them alike",
                            socket.display(),
                            first_site.name
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{policy, refused};
    use crate::policy::{Policy, Receive, Receiving};

    fn policy_of(text: &str) -> Policy {
        policy(text).expect("a valid policy")
    }

    #[test]
    fn each_input_kind_is_read() {
        let p = policy_of(
            "sites:
  a:
    logs:
      - { path: /l/a.log, receive: \"unix:/run/logwarden/a.sock\" }
      - { path: /l/b.log, receive: \"udp:127.0.0.1:5514\", tag: b }
      - { path: /l/c.log, receive: pipe }
      - /l/d.log
    receive_queue: 8MiB
",
        );
        let s = &p.sites[0];
        assert_eq!(
            s.logs[0].receive,
            Some(Receive::Unix("/run/logwarden/a.sock".into()))
        );
        assert_eq!(
            s.logs[1].receive,
            Some(Receive::Udp("127.0.0.1:5514".parse().unwrap()))
        );
        assert_eq!(s.logs[1].tag.as_deref(), Some("b"));
        assert_eq!(s.logs[2].receive, Some(Receive::Pipe));
        assert_eq!(s.logs[3].receive, None);
        assert_eq!(s.receiving.queue, 8 << 20);
        assert_eq!(s.receiving.group, None);
        assert_eq!(p.sites[0].receiving.queue, 8 * 1024 * 1024);
        let d = policy_of("sites:\n  a:\n    logs: [/l/a.log]\n");
        assert_eq!(d.sites[0].receiving.queue, Receiving::DEFAULT_QUEUE);
    }

    #[test]
    fn inputs_a_stranger_could_take_or_feed_are_refused_with_their_key() {
        for (yaml, want) in [
            (
                "sites:\n  a:\n    logs: [{ path: /l/a.log, receive: \"udp:0.0.0.0:5514\" }]\n",
                "sites.a.logs.0.receive: \"0.0.0.0:5514\" is not a loopback address",
            ),
            (
                "sites:\n  a:\n    logs: [{ path: /l/a.log, receive: \"udp:192.168.1.2:514\" }]\n",
                "sites.a.logs.0.receive: \"192.168.1.2:514\" is not a loopback address",
            ),
            (
                "sites:\n  a:\n    logs: [{ path: /l/a.log, receive: \"unix:run/a.sock\" }]\n",
                "sites.a.logs.0.receive: \"run/a.sock\": a socket path must be absolute",
            ),
            (
                "sites:\n  a:\n    logs: [{ path: /l/a.log, receive: \"tcp:127.0.0.1:1\" }]\n",
                "sites.a.logs.0.receive: \"tcp:127.0.0.1:1\" is not an input",
            ),
            (
                "sites:\n  a:\n    logs: [{ path: \"/l/*.log\", receive: pipe }]\n",
                "sites.a.logs.0.receive: /l/*.log: a log logwarden writes must be one file",
            ),
            (
                "sites:\n  a:\n    logs: [{ path: /l/a.log, tag: a }]\n",
                "sites.a.logs.0.tag: a tag routes messages of a `receive:` socket",
            ),
            (
                "sites:\n  a:\n    logs: [{ path: /l/a.log, receive: \"unix:/run/a.sock\", tag: \"a b\" }]\n",
                "sites.a.logs.0.tag: \"a b\" is not a syslog tag",
            ),
            (
                "sites:\n  a:\n    logs:\n      - { path: /l/a.log, receive: \"unix:/run/a.sock\" }\n      - { path: /l/b.log, receive: \"unix:/run/a.sock\" }\n",
                "sites.a.logs.1: unix:/run/a.sock also feeds sites.a.logs.0",
            ),
            (
                "sites:\n  a:\n    logs:\n      - { path: /l/a.log, receive: \"unix:/run/a.sock\", tag: x }\n  b:\n    logs:\n      - { path: /m/b.log, receive: \"unix:/run/a.sock\", tag: x }\n",
                "sites.b.logs.0.tag: tag \"x\" on unix:/run/a.sock already routes to /l/a.log",
            ),
            (
                "sites:\n  a:\n    rotate: false\n    anonymize: { after: 1d }\n    logs: [{ path: /l/a.log, receive: pipe }]\n",
                "sites.a.logs.0: rotate: false leaves rotation to the server",
            ),
            (
                "sites:\n  a:\n    receive_queue: 100KiB\n    logs: [{ path: /l/a.log, receive: pipe }]\n",
                "sites.a.receive_queue: the queue must hold at least 1MiB",
            ),
        ] {
            let errors = refused(yaml);
            assert!(errors.contains(want), "{yaml}\nwanted {want:?} in {errors}");
        }
    }

    #[test]
    fn a_shared_socket_routes_by_tag_with_one_default() {
        let p = policy_of(
            "sites:
  a:
    logs:
      - { path: /l/a.log, receive: \"unix:/run/s.sock\", tag: a }
      - { path: /l/rest.log, receive: \"unix:/run/s.sock\" }
  b:
    logs:
      - { path: /m/b.log, receive: \"unix:/run/s.sock\", tag: b }
",
        );
        assert_eq!(p.sites.len(), 2);
    }
}
