//! An independent leak scanner, and the real-server corpus it runs over.
//!
//! The scanner shares no code with `src/anonymize`: it decodes every escape that servers
//! write (`\xHH`, `\t`, `\"`, `\\`, `\uXXXX`, `%XX`, HAProxy's `#XX`) in full, finds
//! candidates with regular expressions over the decoded text, and parses them with
//! `std::net`. An address leaks if it has a bit set beyond /24 (IPv4, IPv4-mapped IPv6) or
//! /40 (IPv6). For IPv6 a candidate is also read without a `label:` before it, without a
//! trailing `:port` and without a trailing `...`, so that no reading of the text shows a
//! full address. It is stricter than the engine where the two disagree (an escaped address
//! byte is decoded here), which the corpus and the generated lines never rely on.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::LazyLock;

use logwarden::anonymize::{self, Mask};
use proptest::prelude::*;
use regex::bytes::Regex;

use crate::support::{LogDir, read_any};

fn hex(b: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok()
}

/// The text with every escape replaced by what it stands for (non-ASCII code points as
/// their UTF-8 bytes).
pub fn decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let at = |k: usize, n: usize| {
            text.get(i + k..i + k + n)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(hex)
        };
        let (len, decoded): (usize, Vec<u8>) = match (text[i], text.get(i + 1)) {
            (b'%' | b'#', _) if at(1, 2).is_some() => (3, vec![at(1, 2).unwrap() as u8]),
            (b'\\', Some(b'x' | b'X')) if at(2, 2).is_some() => (4, vec![at(2, 2).unwrap() as u8]),
            (b'\\', Some(b'u')) if at(2, 4).is_some() => {
                let c = char::from_u32(at(2, 4).unwrap()).unwrap_or('\u{fffd}');
                (6, c.to_string().into_bytes())
            }
            (b'\\', Some(&c)) => {
                let b = match c {
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'v' => 0x0b,
                    other => other,
                };
                (2, vec![b])
            }
            (b, _) => (1, vec![b]),
        };
        out.extend_from_slice(&decoded);
        i += len;
    }
    out
}

static V4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9.])([0-9]{1,3}(?:\.[0-9]{1,3}){3})(?:$|[^0-9])").unwrap()
});
static V6: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*").unwrap());
static PORT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r":[1-9][0-9]{0,4}$").unwrap());

fn v4_leaks(a: Ipv4Addr) -> bool {
    u32::from(a) & 0xff != 0
}

fn v6_leaks(a: Ipv6Addr) -> bool {
    match a.to_ipv4_mapped() {
        Some(v4) => v4_leaks(v4),
        None => a.to_bits() & (u128::MAX >> 40) != 0,
    }
}

/// Every full address in `text` (after decoding), as text.
pub fn leaks(text: &[u8]) -> Vec<String> {
    let text = decode(text);
    let mut found = Vec::new();
    // Overlapping matches: the boundary bytes are consumed, so search from each start.
    let mut from = 0;
    while let Some(c) = V4.captures_at(&text, from) {
        let m = c.get(1).unwrap();
        let s = std::str::from_utf8(m.as_bytes()).unwrap();
        if s.parse::<Ipv4Addr>().is_ok_and(v4_leaks) {
            found.push(s.to_string());
        }
        from = m.end();
    }
    for m in V6.find_iter(&text) {
        let run = std::str::from_utf8(m.as_bytes()).unwrap();
        if run.matches(':').count() < 2 {
            continue;
        }
        let mut readings = vec![run.to_string()];
        let trimmed = run.trim_end_matches('.');
        readings.push(trimmed.to_string());
        readings.push(run.trim_start_matches(':').to_string());
        if let Some((_, rest)) = trimmed.split_once(':') {
            readings.push(rest.to_string());
        }
        for r in readings.clone() {
            readings.push(
                PORT.replace(r.as_bytes(), &b""[..])
                    .iter()
                    .map(|&b| b as char)
                    .collect(),
            );
        }
        if readings
            .iter()
            .any(|r| r.parse::<Ipv6Addr>().is_ok_and(v6_leaks))
        {
            found.push(run.to_string());
        }
    }
    found
}

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file()) // syslog-datagrams/ holds raw datagrams, not logs
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        10,
        "tests/fixtures/regenerate.sh writes ten logs"
    );
    files
}

fn logwarden() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("logwarden"))
}

fn anonymize(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = logwarden()
        .arg("anonymize")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

#[test]
fn leak_scanner_finds_the_full_addresses_servers_write() {
    // The scanner itself must see what the issue lists, or a clean result means nothing.
    for (text, want) in [
        (&br#"?q=\x22203.0.113.9\x22"#[..], "203.0.113.9"),
        (br#""203.0.113.195,\x09198.51.100.7""#, "198.51.100.7"),
        (
            br#"\x222a02:8108:1234:5600::789a\x22"#,
            "2a02:8108:1234:5600::789a",
        ),
        (
            b"[client 2001:db8:abcd:12::1:51234]",
            "2001:db8:abcd:12::1:51234",
        ),
        (b"[client 2001:db8::7:5678]", "2001:db8::7:5678"),
        (
            b"ec2:2a02:8108:1234:5600:a1b2:c3d4:e5f6:789a",
            "ec2:2a02:8108:1234:5600:a1b2:c3d4:e5f6:789a",
        ),
        (b"Trying 203.0.113.195:443...", "203.0.113.195"),
        (b"2001:db8:abcd::1...", "2001:db8:abcd::1..."),
        (b"?ip=2001%3Adb8%3A1234%3A%3A1", "2001:db8:1234::1"),
        (b"for=#22198.51.100.17:47011#22", "198.51.100.17"),
    ] {
        assert!(
            leaks(text).iter().any(|l| l == want),
            "{}: {:?}",
            String::from_utf8_lossy(text),
            leaks(text)
        );
    }
    for clean in [
        &b"203.0.113.0 2001:db8:ab00:::51234 [2001:db8::]:443 HTTP/1.1 12:34:56"[..],
        b"[30/Nov/2026:22:10:56.352] 22:10:56.325545 Firefox/115.0.1.0 ::ffff:203.0.113.0",
    ] {
        assert_eq!(leaks(clean), Vec::<String>::new());
    }
}

#[test]
fn real_server_corpus_has_no_full_address_after_anonymize() {
    for file in corpus() {
        let raw = std::fs::read(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !leaks(&raw).is_empty(),
            "{name}: the corpus must hold full addresses"
        );
        let lines = raw.iter().filter(|&&b| b == b'\n').count();
        let out = logwarden().arg("anonymize").arg(&file).output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let masked = out.stdout;
        assert_eq!(leaks(&masked), Vec::<String>::new(), "{name}");
        assert_eq!(
            masked.iter().filter(|&&b| b == b'\n').count(),
            lines,
            "{name}"
        );
        // Idempotent, and the same through a compressed pipe.
        let again = anonymize(&[], &masked);
        assert_eq!(
            again.stdout, masked,
            "{name}: a second pass changed the text"
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        let piped = anonymize(&[], &gz.finish().unwrap());
        assert!(piped.status.success(), "{name}");
        assert_eq!(piped.stdout, masked, "{name}: gzip on stdin");
    }
}

#[test]
fn anonymize_reads_compressed_stdin_by_its_magic_bytes() {
    let text =
        b"203.0.113.195 - - \"GET /?ip=\\x22198.51.100.7\\x22\"\n[client 2001:db8::7:51234]\n";
    let want = b"203.0.113.0 - - \"GET /?ip=\\x22198.51.100.0\\x22\"\n[client 2001:db8:::51234]\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text).unwrap();
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(text).unwrap();
    for (name, input) in [
        ("gzip", gz.finish().unwrap()),
        ("xz", xz.finish().unwrap()),
        ("zstd", zstd::encode_all(&text[..], 1).unwrap()),
        ("plain", text.to_vec()),
    ] {
        // Standard input, and a pipe given by name, which cannot seek back to its start.
        for args in [&[][..], &["/dev/stdin"]] {
            let out = anonymize(args, &input);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{name}: {err}");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(want),
                "{name} {args:?}"
            );
        }
    }
    // Files are judged by their content too, whatever their name.
    let dir = LogDir::new().gz("logs/access.log", text);
    let out = logwarden()
        .arg("anonymize")
        .arg(dir.path("logs/access.log"))
        .output()
        .unwrap();
    assert_eq!(out.stdout, want);
}

#[test]
fn anonymize_ends_quietly_when_the_output_pipe_closes() {
    let mut child = logwarden()
        .arg("anonymize")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let line = b"203.0.113.195 - - \"GET / HTTP/1.1\" 200 1\n".repeat(1000);
        // Until the reader is gone: then writes fail, which ends the feed.
        for _ in 0..10_000 {
            if stdin.write_all(&line).is_err() {
                break;
            }
        }
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 12];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"203.0.113.0 ");
    drop(stdout); // `| head -c 12`
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pieces of log text as servers write them around an address.
fn escaped_context() -> impl Strategy<Value = (String, String)> {
    prop::sample::select(vec![
        (" ", " "),
        ("\"", "\""),
        (r"\x22", r"\x22"),
        (r"\x09", ","),
        (r"\t", r"\t"),
        (r#"\""#, r#"\""#),
        (r"\u0022", r"\u0022"),
        (r"\xC3\xA9", "/"),
        (r"\u00e9", " "),
        ("%22", "%22"),
        ("#22", "#22"),
        ("%3D", "%26"),
        ("?ip=", "&"),
        ("for=", ";"),
        ("a:", " "),
        ("ec2:", " "),
        ("80:", ","),
        ("c:", "..."),
        ("Trying ", "..."),
        ("(", ")"),
        ("client: ", ", server"),
    ])
    .prop_map(|(a, b)| (a.to_string(), b.to_string()))
}

fn any_address() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u32>().prop_map(|a| Ipv4Addr::from(a).to_string()),
        any::<u32>().prop_map(|a| format!("{}:{}", Ipv4Addr::from(a), a % 65536)),
        any::<u128>().prop_map(|a| Ipv6Addr::from_bits(a).to_string()),
        any::<u128>().prop_map(|a| format!("[{}]:{}", Ipv6Addr::from_bits(a), a % 65536)),
        any::<[u16; 8]>().prop_map(|g| g.map(|x| format!("{x:X}")).join(":")),
        any::<u32>().prop_map(|a| Ipv4Addr::from(a).to_ipv6_mapped().to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The scanner on the engine's output of generated lines: every address, in every
    /// escape context, whole and streamed in pieces that cut escapes apart.
    #[test]
    fn prop_leak_scanner_finds_nothing_in_masked_escaped_lines(
        pieces in prop::collection::vec((escaped_context(), any_address()), 1..6),
        apache in prop::option::of((any::<u128>(), 1u16..)),
        splits in prop::collection::vec(0usize..24, 0..12),
    ) {
        let mut line = String::new();
        if let Some((a, port)) = apache {
            line.push_str(&format!("[core:info] [client {}:{port}] AH00128: ", Ipv6Addr::from_bits(a)));
        }
        for ((before, after), addr) in &pieces {
            line.push_str(before);
            line.push_str(addr);
            line.push_str(after);
            // Pieces are separate tokens: `...` then `a:` would be one run of address
            // characters, which the grammar reads as one token.
            line.push(' ');
        }
        line.push('\n');
        let mask = Mask::default();
        let mut whole = Vec::new();
        anonymize::mask_line(&mask, line.as_bytes(), &mut whole);
        prop_assert_eq!(leaks(&whole), Vec::<String>::new(), "{}", String::from_utf8_lossy(&whole));
        let mut w = anonymize::MaskingWriter::new(mask, Vec::new());
        let mut rest = line.as_bytes();
        for &s in &splits {
            let k = s.min(rest.len());
            w.write_all(&rest[..k]).unwrap();
            rest = &rest[k..];
        }
        w.write_all(rest).unwrap();
        let (streamed, _) = w.finish().unwrap();
        prop_assert_eq!(streamed, whole);
    }
}

/// The client field of each corpus line, found by the test's own reading of the formats.
fn client_fields(name: &str, text: &[u8]) -> Vec<Vec<u8>> {
    static NGINX_ERROR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"client: ([^,]*),").unwrap());
    static APACHE_ERROR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\[client ([^\]]*)\]").unwrap());
    static JSON: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""remote_addr":"([^"]*)""#).unwrap());
    static CADDY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""(?:remote|client)_ip":"([^"]*)""#).unwrap());
    // HAProxy's client `address:port` precedes its accept date, behind any syslog header.
    static HAPROXY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?m)(?:^| )([^ ]+) \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]")
            .unwrap()
    });
    let re: &Regex = match name {
        "nginx-error.log" => &NGINX_ERROR,
        "apache-error.log" => &APACHE_ERROR,
        "nginx-access.json" => &JSON,
        "caddy-access.log" => &CADDY,
        n if n.starts_with("syslog-") => &HAPROXY,
        _ => {
            return text
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| l.split(|&b| b == b' ').next().unwrap().to_vec())
                .collect();
        }
    };
    re.captures_iter(text).map(|c| c[1].to_vec()).collect()
}

#[test]
fn real_server_corpus_client_scope_masks_every_client_field() {
    for file in corpus() {
        let raw = std::fs::read(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let fields = client_fields(&name, &raw);
        assert!(
            fields.iter().any(|f| !leaks(f).is_empty()),
            "{name}: the corpus must hold full client addresses"
        );
        let out = logwarden()
            .args(["anonymize", "--scope", "client"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}");
        let masked = client_fields(&name, &out.stdout);
        assert_eq!(masked.len(), fields.len(), "{name}");
        for f in &masked {
            assert_eq!(
                leaks(f),
                Vec::<String>::new(),
                "{name}: {}",
                String::from_utf8_lossy(f)
            );
        }
        // Only the client: the line is otherwise unchanged, where it had addresses.
        let rest = |t: &[u8]| {
            leaks(t).len()
                - client_fields(&name, t)
                    .iter()
                    .map(|f| leaks(f).len())
                    .sum::<usize>()
        };
        assert_eq!(
            rest(&out.stdout),
            rest(&raw),
            "{name}: more than the client was masked"
        );
    }
}

/// The `format:` each corpus file is written in.
fn corpus_format(name: &str) -> &'static str {
    match name {
        "haproxy.log" => "haproxy",
        "nginx-error.log" => "nginx-error",
        "apache-error.log" => "apache-error",
        "caddy-access.log" | "nginx-access.json" => "json",
        n if n.starts_with("syslog-") => "syslog",
        _ => "clf",
    }
}

/// The archive rewrite and `check` use the engine as `anonymize` does: after a pass, no
/// archive of the corpus holds a full address, and `check`, which flagged the raw logs,
/// calls them compliant. Each file is read in its own `format:`, and every record is dated:
/// `check` counts them all, and a pass past retention expires them all.
#[test]
fn real_server_corpus_archive_rewrite_leaves_no_full_address_and_check_agrees() {
    for file in corpus() {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let format = corpus_format(&name);
        let raw = std::fs::read(&file).unwrap();
        let lines = raw.iter().filter(|&&b| b == b'\n').count();
        let mut dir = LogDir::new()
            .policy(&format!(
                "sites:\n  main:\n    logs: [{{ path: logs/{name}, format: {format} }}]\n    anonymize: {{ after: 0s }}\n    retention: 10d\n"
            ))
            .file(&format!("logs/{name}"), raw)
            .now("2026-12-03T00:00:00Z");
        dir.chmod("logs", 0o700); // else `check` also reports world-readable logs
        let before = dir.run(["check"]);
        assert_eq!(before.code(), 1, "{name}: {}", before.stdout());
        assert!(
            before.stdout().contains("full IP address"),
            "{name}: {}",
            before.stdout()
        );
        dir.run(["enforce"]).ok();
        let after = dir.run(["check"]);
        assert_eq!(after.code(), 0, "{name}: {}", after.stdout());
        let names = dir.names("logs");
        assert_eq!(names.len(), 2, "{name}: {names:?}");
        for n in names.iter().filter(|n| n.ends_with(".gz")) {
            let text = read_any(&dir.path(&format!("logs/{n}")));
            assert_eq!(leaks(&text), Vec::<String>::new(), "{n}");
        }
        // Every line is a dated record (nginx's error log has no continuation lines).
        let json = dir.run(["check", "--format", "json"]).stdout();
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        let records: u64 = report["sites"][0]["records"]
            .as_u64()
            .unwrap_or_else(|| panic!("{json}"));
        assert_eq!(records, lines as u64, "{name} ({format}): {json}");
        // Ten days on, every record is past retention, and a pass deletes them all.
        dir.set_now("2026-12-13T00:00:00Z");
        dir.run(["enforce"]).ok();
        let left: Vec<String> = dir
            .names("logs")
            .into_iter()
            .filter(|n| n.ends_with(".gz"))
            .collect();
        assert!(
            left.is_empty(),
            "{name} ({format}): {left:?} left past retention"
        );
    }
}
