//! What a logrotate script does, when all it does is tell the server to reopen its logs.
//!
//! logrotate hands its scripts to `/bin/sh`; logwarden runs one argv without a shell or sends
//! one signal to a validated pid. This module recognises the few shapes distributions write
//! (`kill -USR1 $(cat PIDFILE)`, one command such as `invoke-rc.d nginx rotate` or
//! `nginx -s reopen`, either behind a `[ -f PIDFILE ] &&` or `if pgrep …; then … fi` guard)
//! and says what was dropped on the way. It must never translate a script it does not fully
//! understand: two commands, variables, loops or pipes into anything but `logger` give
//! `None`, and the translator then shows the script for a person to decide.

use regex::Regex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reopen {
    Signal { signal: String, pidfile: String },
    Command(Vec<String>),
}

/// A recognised reopen, with what the script did that the translation does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    pub reopen: Reopen,
    pub notes: Vec<String>,
}

/// The script's statements: continuations joined, comments and blank lines dropped, split at
/// `;` outside quotes and substitutions.
fn statements(body: &[String]) -> Vec<String> {
    let mut joined = Vec::new();
    let mut acc = String::new();
    for line in body {
        let t = line.trim();
        if let Some(head) = t.strip_suffix('\\') {
            acc.push_str(head);
            acc.push(' ');
            continue;
        }
        acc.push_str(t);
        joined.push(std::mem::take(&mut acc));
    }
    joined.push(acc);
    let mut out = Vec::new();
    for line in joined {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (mut depth, mut quote, mut start) = (0i32, None, 0);
        let bytes = line.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            match (quote, b) {
                (Some(q), _) if b == q => quote = None,
                (Some(_), _) => {}
                (None, b'\'' | b'"' | b'`') => quote = Some(b),
                (None, b'(') => depth += 1,
                (None, b')') => depth -= 1,
                (None, b';') if depth == 0 => {
                    out.push(line[start..i].trim().to_string());
                    start = i + 1;
                }
                _ => {}
            }
        }
        out.push(line[start..].trim().to_string());
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Recognises a script that only reopens logs.
pub fn recognise(body: &[String]) -> Option<Recognised> {
    let stmts = statements(body);
    let (guard, command) = match stmts.as_slice() {
        [one] => split_guard(one),
        [first, middle @ .., last] if first.starts_with("if ") && last == "fi" => {
            let cond = first["if ".len()..].trim().to_string();
            let body: Vec<&str> = middle
                .iter()
                .map(|s| s.strip_prefix("then").unwrap_or(s).trim())
                .filter(|s| !s.is_empty())
                .collect();
            match body.as_slice() {
                [one] => (Some(cond), (*one).to_string()),
                _ => return None,
            }
        }
        _ => return None,
    };
    let mut notes = Vec::new();
    let command = quiet(&command, &mut notes);
    let guard = guard.map(|g| quiet(&g, &mut Vec::new()));
    let pidfile_guard = guard.as_deref().and_then(guard_pidfile);
    let reopen = if let Some(r) = kill(&command) {
        r
    } else {
        let argv: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        let plain = Regex::new(r"^[A-Za-z0-9_./:=+,@%^-]+$").expect("valid");
        if argv.is_empty() || !argv.iter().all(|w| plain.is_match(w)) {
            return None;
        }
        let prog = argv[0].rsplit('/').next().unwrap_or_default();
        if ["if", "then", "test", "[", "exec", "echo", "true", "export"].contains(&prog) {
            return None;
        }
        match (prog, &argv[1..], &pidfile_guard) {
            // `nginx -s reopen` sends USR1 to the pid in nginx's pid file, which the guard names.
            ("nginx", [s, r], Some(pidfile)) if s == "-s" && r == "reopen" => {
                notes.push(format!(
                    "`{command}` sends USR1 to the pid in {pidfile} (the file its guard tests), which is what this does"
                ));
                Reopen::Signal {
                    signal: "USR1".into(),
                    pidfile: pidfile.clone(),
                }
            }
            _ => Reopen::Command(argv),
        }
    };
    if let Some(g) = guard {
        notes.push(match (&reopen, &pidfile_guard) {
            (Reopen::Signal { .. }, Some(_)) => format!(
                "the script skipped it when `{g}` failed; logwarden too only warns when the pid file is missing"
            ),
            _ => format!(
                "the script ran it only when `{g}` succeeded; logwarden runs it at every rotation and reports a failed reopen if it fails (the server is stopped)"
            ),
        });
    }
    Some(Recognised { reopen, notes })
}

/// `TEST && CMD` or `TEST || CMD` (a negated test), else no guard.
fn split_guard(stmt: &str) -> (Option<String>, String) {
    for op in [" && ", " || "] {
        if let Some((a, b)) = stmt.split_once(op) {
            let a = a.trim();
            let is_test = a.starts_with("[ ") || a.starts_with("test ") || a.starts_with("pgrep ");
            if is_test && !b.contains("&&") && !b.trim().starts_with("true") {
                let cond = if op == " || " {
                    format!("! ({a})")
                } else {
                    a.to_string()
                };
                return (Some(cond), b.trim().to_string());
            }
        }
    }
    (None, stmt.to_string())
}

/// The pid file a guard tests for (`[ -f P ]`, `[ -s P ]`, `test -e P`, and their negation
/// before `||`).
fn guard_pidfile(guard: &str) -> Option<String> {
    let re = Regex::new(r"^(?:! \()?(?:\[|test)\s+(?:!\s+)?-[fse]\s+(\S+?)(?:\s*\])?\)?$")
        .expect("valid");
    re.captures(guard.trim())
        .map(|c| c[1].to_string())
        .filter(|p| p.ends_with(".pid"))
}

/// Drops what only quiets or logs the command: redirections to /dev/null, `2>&1`,
/// `|| true`, and a pipe into `logger` (noted).
fn quiet(command: &str, notes: &mut Vec<String>) -> String {
    let mut c = command.to_string();
    if let Some((head, tail)) = c.split_once('|').filter(|(_, t)| !t.starts_with('|')) {
        let tail = tail.trim();
        if tail.starts_with("logger") || tail.starts_with("/usr/bin/logger") {
            notes.push(format!(
                "its output went to syslog (`| {tail}`); logwarden logs a failed reopen itself"
            ));
            c = head.to_string();
        }
    }
    let noise = Regex::new(r"\s*(?:[0-9]?>\s*/dev/null|[0-9]?>&[0-9])").expect("valid");
    let c = noise.replace_all(&c, "").to_string();
    let c = c.trim();
    let c = c
        .strip_suffix("|| true")
        .or_else(|| c.strip_suffix("|| :"))
        .unwrap_or(c);
    c.trim().to_string()
}

/// `kill -USR1 $(cat P)`, `` kill -s HUP `cat P` ``, `start-stop-daemon --stop --signal S
/// --pidfile P …`.
fn kill(command: &str) -> Option<Reopen> {
    let kill = Regex::new(
        r"^(?:/usr)?(?:/bin/)?kill\s+(?:-s\s+|-)(?:SIG)?([A-Z0-9]+)\s+(?:\$\(\s*cat\s+(\S+?)\s*\)|`\s*cat\s+(\S+?)\s*`)$",
    )
    .expect("valid");
    if let Some(c) = kill.captures(command) {
        let pidfile = c.get(2).or(c.get(3)).expect("one matches").as_str();
        return Some(Reopen::Signal {
            signal: c[1].to_string(),
            pidfile: pidfile.to_string(),
        });
    }
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.first().map(|w| w.rsplit('/').next()) == Some(Some("start-stop-daemon"))
        && words.contains(&"--stop")
    {
        let after = |flag: &str| {
            words
                .iter()
                .position(|w| *w == flag)
                .and_then(|i| words.get(i + 1))
                .map(|s| s.trim_start_matches("SIG").to_string())
        };
        if let (Some(signal), Some(pidfile)) = (after("--signal"), after("--pidfile")) {
            return Some(Reopen::Signal { signal, pidfile });
        }
    }
    None
}

/// For the init-script commands of nginx and Apache: the signal they send, which logwarden
/// can send itself (and which only warns while the server is stopped).
pub fn alternative(r: &Reopen) -> Option<String> {
    let Reopen::Command(argv) = r else {
        return None;
    };
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let prog = words.first()?.rsplit('/').next()?;
    let nginx = matches!(
        (prog, &words[1..]),
        ("invoke-rc.d" | "service", ["nginx", "rotate" | "reopen"]) | ("nginx", ["-s", "reopen"])
    );
    let apache = matches!(
        (prog, &words[1..]),
        (
            "invoke-rc.d" | "service" | "systemctl",
            ["apache2" | "httpd", "reload"] | ["reload", "apache2" | "httpd"]
        ) | (
            "apache2ctl" | "apachectl",
            ["graceful"] | ["-k", "graceful"]
        )
    );
    if nginx {
        Some("the same without the init script: `reopen: { signal: USR1, pidfile: /run/nginx.pid }` (the `pid` of nginx.conf)".into())
    } else if apache {
        Some("Apache's graceful restart is USR1 to its parent: `reopen: { signal: USR1, pidfile: /run/apache2/apache2.pid }` (Debian's APACHE_PID_FILE) does it without the init script".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(script: &str) -> Option<Recognised> {
        recognise(&script.lines().map(str::to_string).collect::<Vec<_>>())
    }

    fn signal(sig: &str, pid: &str) -> Reopen {
        Reopen::Signal {
            signal: sig.into(),
            pidfile: pid.into(),
        }
    }

    fn command(argv: &[&str]) -> Reopen {
        Reopen::Command(argv.iter().map(|s| (*s).to_string()).collect())
    }

    #[test]
    fn nginx_kill_forms_become_a_signal_and_pidfile() {
        for s in [
            "kill -USR1 $(cat /run/nginx.pid)",
            "/bin/kill -USR1 `cat /run/nginx.pid 2>/dev/null` 2>/dev/null || true",
            "[ -f /run/nginx.pid ] && kill -USR1 `cat /run/nginx.pid`",
            "[ ! -f /run/nginx.pid ] || kill -USR1 `cat /run/nginx.pid`",
            "if [ -f /run/nginx.pid ]; then\n  kill -USR1 `cat /run/nginx.pid`\nfi",
            "  # reopen\n  kill -s USR1 $(cat /run/nginx.pid)",
            "start-stop-daemon --stop --signal USR1 --quiet --pidfile /run/nginx.pid --name nginx",
        ] {
            assert_eq!(
                rec(s).map(|r| r.reopen),
                Some(signal("USR1", "/run/nginx.pid")),
                "{s}"
            );
        }
    }

    #[test]
    fn one_plain_command_becomes_an_argv() {
        let r = rec("\t\tinvoke-rc.d nginx rotate >/dev/null 2>&1").unwrap();
        assert_eq!(r.reopen, command(&["invoke-rc.d", "nginx", "rotate"]));
        assert!(r.notes.is_empty());
        let r = rec("[ ! -x /usr/lib/rsyslog/rsyslog-rotate ] || /usr/lib/rsyslog/rsyslog-rotate")
            .unwrap();
        assert_eq!(r.reopen, command(&["/usr/lib/rsyslog/rsyslog-rotate"]));
        assert!(r.notes[0].contains("ran it only when"), "{:?}", r.notes);
        assert_eq!(
            rec("systemctl reload apache2").unwrap().reopen,
            command(&["systemctl", "reload", "apache2"])
        );
    }

    #[test]
    fn guarded_nginx_reopen_is_its_signal_and_apache_keeps_its_command() {
        let r = rec("# \"-s reopen\" will use the pid file\n[ -f /run/nginx.pid ] && /usr/sbin/nginx -s reopen").unwrap();
        assert_eq!(r.reopen, signal("USR1", "/run/nginx.pid"));
        let apache = include_str!("../../tests/fixtures/logrotate/debian-apache2");
        let body: Vec<String> = apache
            .lines()
            .skip_while(|l| !l.contains("postrotate"))
            .skip(1)
            .take_while(|l| !l.contains("endscript"))
            .map(str::to_string)
            .collect();
        let r = recognise(&body).unwrap();
        assert_eq!(r.reopen, command(&["invoke-rc.d", "apache2", "reload"]));
        assert_eq!(r.notes.len(), 2, "{:?}", r.notes);
        assert!(r.notes[0].contains("logger"));
    }

    #[test]
    fn anything_more_than_one_reopen_is_not_translated() {
        for s in [
            "kill -HUP $(cat /run/a.pid)\nkill -HUP $(cat /run/b.pid)",
            "run-parts /etc/logrotate.d/httpd-prerotate; echo done",
            "for p in /run/*.pid; do kill -HUP $(cat $p); done",
            "killall -USR1 nginx | tee /tmp/x",
            "kill -USR1 $PID",
            "if pgrep nginx; then\n kill -HUP 1\n kill -HUP 2\nfi",
            "echo reopen",
        ] {
            assert_eq!(rec(s), None, "{s}");
        }
    }
}
