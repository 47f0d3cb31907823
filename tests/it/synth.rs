//! Deterministic synthetic access logs: the project's one log generator. It is dev-side
//! code, never part of the library or the binary: the integration tests have it as a module
//! (`tests/it/main.rs`, whose run also runs its unit tests), `examples/genlog.rs` and
//! `benches/anonymize.rs` include this file by path. It must never read a clock or a real
//! log: same arguments, same bytes, so no personal data is shipped or downloaded.
//!
//! Two shapes. [`SynthLog`] streams realistic nginx traffic for benchmarks and fuzz seeds,
//! after the project's reference generator: nginx `combined` or `escape=json` lines, about
//! 80 % IPv4 and 20 % IPv6 clients (RFC 5952 compressed forms included) drawn with Zipf-like
//! popularity so that clients repeat, a few per cent of addresses in query strings and
//! referrers, Chrome's reduced user agent `Chrome/1xx.0.0.0` (a valid dotted quad that must
//! survive masking), an optional X-Forwarded-For field, and CLF timestamps that never
//! decrease; its only randomness is a seeded splitmix64. [`access_line`] and
//! [`lines_between`] write numbered lines (`GET /page/<id>`) at chosen times, so that a test
//! can account for every request wherever it ends up.

use std::io::{self, Write};

use jiff::Timestamp;

/// Line layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
    /// "$http_referer" "$http_user_agent"` (+ `"$http_x_forwarded_for"` with `xff`).
    Combined,
    /// One JSON object per line with the same fields.
    Json,
    /// Caddy's default JSON access log: float epoch `ts`, the request nested under
    /// `request` (`remote_ip`, `client_ip`, headers as arrays), response headers after it.
    Caddy,
}

/// 2024-01-01T00:00:00Z, the reference generator's default start.
pub const BASE_EPOCH: i64 = 1_704_067_200;

/// Generator configuration; set the public fields after [`SynthLog::new`].
#[derive(Clone, Debug)]
pub struct SynthLog {
    pub format: Format,
    pub seed: u64,
    /// Unix time of the first line.
    pub start: i64,
    /// Spread `write_lines` output evenly over this many seconds; 0 = 0–2 s between lines.
    pub span_secs: i64,
    /// Append a quoted X-Forwarded-For field.
    pub xff: bool,
    state: Option<State>,
}

impl SynthLog {
    pub fn new(format: Format, seed: u64) -> Self {
        SynthLog {
            format,
            seed,
            start: BASE_EPOCH,
            span_secs: 0,
            xff: false,
            state: None,
        }
    }

    /// Writes whole lines until at least `bytes` bytes are written (stops at the first line
    /// boundary at or past it); returns the bytes written. Output depends only on the fields.
    pub fn write_lines(&self, out: impl Write, bytes: u64) -> io::Result<u64> {
        let mut out = io::BufWriter::with_capacity(1 << 16, out);
        let mut st = State::new(self.seed);
        let per_line = match self.format {
            Format::Combined => 195,
            Format::Json => 300,
            Format::Caddy => 560,
        };
        let step = if self.span_secs > 0 {
            self.span_secs as f64 / (bytes / per_line).max(1) as f64
        } else {
            0.0
        };
        let end = self.start.saturating_add(self.span_secs);
        let (mut epoch, mut exact) = (self.start, self.start as f64);
        let mut written = 0u64;
        let mut line = String::with_capacity(512);
        while written < bytes {
            if step > 0.0 {
                exact += step;
                epoch = (exact as i64).min(end);
            } else {
                epoch += [0, 0, 0, 1, 1, 2][st.rng.below(6)];
            }
            line.clear();
            st.line(self, epoch, &mut line);
            out.write_all(line.as_bytes())?;
            written += line.len() as u64;
        }
        out.flush()?;
        Ok(written)
    }

    /// One line (with its `\n`) carrying the timestamp `epoch`; successive calls continue one
    /// random sequence, so they produce different lines.
    pub fn line_at(&mut self, epoch: i64) -> String {
        let mut st = self.state.take().unwrap_or_else(|| State::new(self.seed));
        let mut line = String::new();
        st.line(self, epoch, &mut line);
        self.state = Some(st);
        line
    }
}

/// splitmix64: tiny, fast, and good enough for log-shaped noise.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }

    /// Inclusive range, like Python's randint.
    fn int(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below((hi - lo + 1) as usize) as u32
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        let (u1, u2) = (self.unit().max(1e-300), self.unit());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (mu + sigma * z).exp()
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const PATHS: &[&str] = &[
    "/",
    "/index.html",
    "/favicon.ico",
    "/robots.txt",
    "/sitemap.xml",
    "/about",
    "/contact",
    "/blog/",
    "/blog/feed.xml",
    "/login",
    "/logout",
    "/api/v1/items",
    "/api/v1/items/{n}",
    "/api/v1/users/{n}/orders",
    "/static/css/main.{h}.css",
    "/static/js/app.{h}.js",
    "/static/img/hero-{n}.webp",
    "/images/{n}.jpg",
    "/products/{n}",
    "/search",
    "/cart",
    "/checkout",
    "/wp-login.php",
    "/.env",
    "/blog/{y}/{m}/post-{n}.html",
    "/download/file-{n}.tar.gz",
];
const QUERY_KEYS: &[&str] = &[
    "q",
    "page",
    "utm_source",
    "utm_medium",
    "id",
    "lang",
    "sort",
    "ref",
];
const QUERY_WORDS: &[&str] = &[
    "shoes", "rust", "gdpr", "privacy", "linux", "nginx", "log", "rotation", "book", "tea", "bike",
    "chair", "lamp",
];
const PROTOCOLS: &[&str] = &[
    "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/2.0", "HTTP/2.0",
    "HTTP/2.0", "HTTP/1.0",
];
const REFERRER_HOSTS: &[&str] = &[
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://t.co/",
    "https://www.facebook.com/",
    "https://example.org/",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{cv}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{cv}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{cv}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{fv}.0) Gecko/20100101 Firefox/{fv}.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{fv}.0) Gecko/20100101 Firefox/{fv}.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2.1 Safari/605.1.15",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.{n}.0",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "Wget/1.21.{n}",
];
const V6_PREFIXES: [u16; 8] = [
    0x2a02, 0x2a01, 0x2001, 0x2003, 0x2600, 0x2a00, 0x2406, 0x2804,
];
const CLIENTS: usize = 50_000;
const IPV6_RATIO: f64 = 0.20;
const HOST: &str = "www.example.com";

#[derive(Clone, Debug)]
struct State {
    rng: Rng,
    v4: Vec<String>,
    v6: Vec<String>,
    cum4: Vec<f64>,
    cum6: Vec<f64>,
}

fn zipf_cum(n: usize) -> Vec<f64> {
    let mut acc = 0.0;
    (0..n)
        .map(|r| {
            acc += 1.0 / (r + 1) as f64;
            acc
        })
        .collect()
}

fn rand_ipv4(rng: &mut Rng) -> String {
    // public-looking unicast; internal sources are added separately
    loop {
        let (a, b) = (rng.int(1, 223), rng.int(0, 255));
        if a == 10
            || a == 127
            || (a == 100 && (64..128).contains(&b))
            || (a == 169 && b == 254)
            || (a == 172 && (16..32).contains(&b))
            || (a == 192 && b == 168)
        {
            continue;
        }
        return format!("{a}.{b}.{}.{}", rng.int(0, 255), rng.int(1, 254));
    }
}

fn rand_ipv6(rng: &mut Rng) -> String {
    let mut g = [0u16; 8];
    g[0] = V6_PREFIXES[rng.below(V6_PREFIXES.len())];
    for x in &mut g[1..4] {
        *x = rng.int(0, 0xffff) as u16;
    }
    let style = rng.unit();
    if style < 0.5 {
        // SLAAC privacy address: random interface id
        for x in &mut g[4..] {
            *x = rng.int(0, 0xffff) as u16;
        }
    } else if style < 0.8 {
        // short host part, compresses to "::n"
        g[7] = rng.int(1, 0xff) as u16;
    } else {
        // EUI-64 style ....:xxff:fexx:xxxx
        g[4] = rng.int(0, 0xffff) as u16;
        g[5] = (rng.int(0, 0xff) << 8 | 0xff) as u16;
        g[6] = (0xfe00 | rng.int(0, 0xff)) as u16;
        g[7] = rng.int(0, 0xffff) as u16;
    }
    // std's Display is RFC 5952: lower case, longest run of >= 2 zero groups as "::"
    std::net::Ipv6Addr::from(g).to_string()
}

fn choose_zipf<'a>(rng: &mut Rng, pool: &'a [String], cum: &[f64]) -> &'a str {
    let total = cum.last().copied().unwrap_or(1.0);
    let x = rng.unit() * total;
    let i = cum.partition_point(|&c| c <= x).min(pool.len() - 1);
    &pool[i]
}

fn fill(template: &str, rng: &mut Rng, out: &mut String) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |k| open + k);
        let value = match &rest[open + 1..close] {
            "n" => rng.int(1, 9999).to_string(),
            "h" => format!("{:08x}", rng.next() as u32),
            "y" => rng.int(2019, 2024).to_string(),
            "m" => format!("{:02}", rng.int(1, 12)),
            "cv" => rng.int(110, 126).to_string(),
            "fv" => rng.int(115, 125).to_string(),
            other => other.to_string(),
        };
        out.push_str(&value);
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out.push_str(rest);
}

/// `10/Oct/2000:13:55:36 +0000` for a Unix time, by the days-from-civil inverse.
pub fn time_local(epoch: i64) -> String {
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{d:02}/{}/{y:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

impl State {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let n6 = ((CLIENTS as f64 * IPV6_RATIO) as usize).max(1);
        let v6: Vec<String> = (0..n6).map(|_| rand_ipv6(&mut rng)).collect();
        let v4: Vec<String> = (0..CLIENTS - n6)
            .map(|_| {
                if rng.unit() < 0.01 {
                    // a few internal / health-check sources
                    format!(
                        "10.{}.{}.{}",
                        rng.int(0, 255),
                        rng.int(0, 255),
                        rng.int(1, 254)
                    )
                } else {
                    rand_ipv4(&mut rng)
                }
            })
            .collect();
        State {
            cum4: zipf_cum(v4.len()),
            cum6: zipf_cum(v6.len()),
            rng,
            v4,
            v6,
        }
    }

    fn line(&mut self, cfg: &SynthLog, epoch: i64, out: &mut String) {
        let rng = &mut self.rng;
        let ip = if rng.unit() < IPV6_RATIO {
            choose_zipf(rng, &self.v6, &self.cum6)
        } else {
            choose_zipf(rng, &self.v4, &self.cum4)
        };
        let method = match rng.below(100) {
            0..90 => "GET",
            90..97 => "POST",
            97..99 => "HEAD",
            _ => "PUT",
        };
        let mut request = format!("{method} ");
        fill(rng.pick(PATHS), rng, &mut request);
        let r = rng.unit();
        if r < 0.25 {
            let (k, w) = (rng.pick(QUERY_KEYS), rng.pick(QUERY_WORDS));
            request.push_str(&format!("?{k}={w}"));
            if rng.unit() < 0.3 {
                let k = rng.pick(QUERY_KEYS);
                request.push_str(&format!("&{k}={}", rng.int(1, 50)));
            }
        } else if r < 0.26 {
            // an address inside a query string
            let v = choose_zipf(rng, &self.v4, &self.cum4);
            request.push_str(&format!("?client={v}"));
        }
        request.push(' ');
        request.push_str(rng.pick(PROTOCOLS));
        let status = match rng.below(100) {
            0..80 => 200,
            80..86 => 304,
            86..89 => 301,
            89..92 => 302,
            92..97 => 404,
            97 => 403,
            98 => 500,
            _ => 502,
        };
        let nbytes = if matches!(status, 301 | 302 | 304) || method == "HEAD" {
            0
        } else {
            rng.lognormal(8.5, 1.5) as u64
        };
        let r = rng.unit();
        let referer = if r < 0.45 {
            String::new()
        } else if r < 0.75 {
            let mut s = format!("https://{HOST}");
            fill(rng.pick(PATHS), rng, &mut s);
            s
        } else if r < 0.995 {
            rng.pick(REFERRER_HOSTS).to_string()
        } else {
            // an address as referrer host
            format!("http://{}/", choose_zipf(rng, &self.v4, &self.cum4))
        };
        let mut ua = String::new();
        fill(rng.pick(USER_AGENTS), rng, &mut ua);
        let user = if rng.unit() < 0.98 {
            String::new()
        } else {
            format!("user{}", rng.int(1, 99))
        };
        let xff = cfg.xff.then(|| {
            let r = rng.unit();
            if r < 0.7 {
                String::new()
            } else if r < 0.9 {
                ip.to_string()
            } else {
                format!("{ip}, 10.0.{}.{}", rng.int(0, 255), rng.int(1, 254))
            }
        });
        let time = time_local(epoch);
        let dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.to_string()
            }
        };
        match cfg.format {
            Format::Combined => {
                out.push_str(&format!(
                    "{ip} - {} [{time}] \"{request}\" {status} {nbytes} \"{}\" \"{ua}\"",
                    dash(&user),
                    dash(&referer)
                ));
                if let Some(x) = xff {
                    out.push_str(&format!(" \"{}\"", dash(&x)));
                }
            }
            Format::Json => {
                // no field can contain `"` or `\`, so no escaping is needed
                out.push_str(&format!(
                    "{{\"remote_addr\":\"{ip}\",\"remote_user\":\"{user}\",\"time_local\":\"{time}\",\
                     \"request\":\"{request}\",\"status\":{status},\"body_bytes_sent\":{nbytes},\
                     \"http_referer\":\"{referer}\",\"http_user_agent\":\"{ua}\""
                ));
                if let Some(x) = xff {
                    out.push_str(&format!(",\"http_x_forwarded_for\":\"{x}\""));
                }
                out.push('}');
            }
            Format::Caddy => {
                let (method, rest) = request.split_once(' ').unwrap_or((&request, ""));
                let (uri, proto) = rest.rsplit_once(' ').unwrap_or((rest, ""));
                let port = rng.int(1024, 65535);
                let micros = rng.int(0, 999_999);
                let duration = rng.lognormal(-7.0, 1.0);
                let mut headers = format!(
                    "\"User-Agent\":[\"{ua}\"],\"Accept\":[\"*/*\"],\"Accept-Encoding\":[\"gzip\"]"
                );
                if !referer.is_empty() {
                    headers.push_str(&format!(",\"Referer\":[\"{referer}\"]"));
                }
                if let Some(x) = xff.filter(|x| !x.is_empty()) {
                    headers.push_str(&format!(",\"X-Forwarded-For\":[\"{x}\"]"));
                }
                out.push_str(&format!(
                    "{{\"level\":\"info\",\"ts\":{epoch}.{micros:06},\"logger\":\"http.log.access.log0\",\
                     \"msg\":\"handled request\",\"request\":{{\"remote_ip\":\"{ip}\",\"remote_port\":\"{port}\",\
                     \"client_ip\":\"{ip}\",\"proto\":\"{proto}\",\"method\":\"{method}\",\"host\":\"{HOST}\",\
                     \"uri\":\"{uri}\",\"headers\":{{{headers}}}}},\"bytes_read\":0,\"user_id\":\"{user}\",\
                     \"duration\":{duration:.9},\"size\":{nbytes},\"status\":{status},\
                     \"resp_headers\":{{\"Server\":[\"Caddy\"],\"Content-Type\":[\"text/html; charset=utf-8\"]}}}}"
                ));
            }
        }
        out.push('\n');
    }
}

/// One combined-format access line with a unique request id.
pub fn access_line(ip: &str, at: Timestamp, id: u64) -> String {
    format!(
        "{ip} - - [{}] \"GET /page/{id}?ref=203.0.113.7 HTTP/1.1\" 200 {} \"-\" \"Mozilla/5.0 Chrome/120.0.0.0 Safari/537.36\"\n",
        time_local(at.as_second()),
        id % 9000
    )
}

/// A deterministic client address: IPv4 mostly, IPv6 every fifth line.
pub fn client(id: u64) -> String {
    if id % 5 == 0 {
        format!(
            "2001:db8:{:x}:{:x}::{:x}",
            id % 65536,
            (id * 7) % 65536,
            id % 250 + 1
        )
    } else {
        format!("198.51.{}.{}", id % 256, id % 250 + 1)
    }
}

/// Lines every `step` seconds from `from` (inclusive) to `to` (exclusive), ids from `first`.
pub fn lines_between(from: Timestamp, to: Timestamp, step: i64, first: u64) -> (String, u64) {
    let mut s = String::new();
    let mut id = first;
    let mut at = from;
    while at < to {
        s.push_str(&access_line(&client(id), at, id));
        id += 1;
        at += jiff::SignedDuration::from_secs(step);
    }
    (s, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(log: &SynthLog, bytes: u64) -> String {
        let mut v = Vec::new();
        let n = log.write_lines(&mut v, bytes).unwrap();
        assert_eq!(n, v.len() as u64);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn deterministic_and_sized() {
        let log = SynthLog::new(Format::Combined, 7);
        let a = generate(&log, 100_000);
        assert_eq!(a, generate(&log, 100_000));
        assert_ne!(a, generate(&SynthLog::new(Format::Combined, 8), 100_000));
        assert!(a.len() >= 100_000 && a.len() < 101_000);
        assert!(a.ends_with('\n'));
    }

    #[test]
    fn shape_is_realistic() {
        let text = generate(&SynthLog::new(Format::Combined, 1), 2_000_000);
        let lines: Vec<&str> = text.lines().collect();
        let v6 = lines
            .iter()
            .filter(|l| l.split(' ').next().unwrap().contains(':'))
            .count();
        let share = v6 as f64 / lines.len() as f64;
        assert!((0.17..0.23).contains(&share), "IPv6 share {share}");
        let chrome = lines.iter().filter(|l| l.contains(".0.0.0 ")).count();
        assert!(chrome > lines.len() / 10);
        assert!(lines.iter().any(|l| l.contains("?client=")));
        let avg = text.len() / lines.len();
        assert!((170..230).contains(&avg), "average line {avg}");
        // clients repeat
        let mut clients: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
        clients.sort_unstable();
        clients.dedup();
        assert!(clients.len() < lines.len() / 2);
    }

    #[test]
    fn json_lines_and_xff() {
        let mut log = SynthLog::new(Format::Json, 3);
        log.xff = true;
        let text = generate(&log, 50_000);
        for l in text.lines() {
            assert!(
                l.starts_with("{\"remote_addr\":\"") && l.ends_with('}'),
                "{l}"
            );
            assert!(l.contains("\"http_x_forwarded_for\":"));
        }
        assert!(text.contains(", 10.0."));
    }

    /// Caddy's shape is valid JSON with the float `ts` and the nested client fields.
    #[test]
    fn caddy_lines_are_json_with_a_float_ts() {
        let mut log = SynthLog::new(Format::Caddy, 4);
        log.xff = true;
        log.start = 1_793_534_400;
        let text = generate(&log, 50_000);
        for l in text.lines() {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let ts = v["ts"].as_f64().unwrap();
            assert!((1_793_534_400.0..1_793_540_000.0).contains(&ts), "{l}");
            let ip = v["request"]["remote_ip"].as_str().unwrap();
            assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{l}");
            assert_eq!(v["request"]["client_ip"], v["request"]["remote_ip"]);
            assert!(v["request"]["headers"]["User-Agent"][0].is_string(), "{l}");
        }
        assert!(text.contains("\"X-Forwarded-For\":[\""));
    }

    #[test]
    fn timestamps_span_and_never_decrease() {
        let mut log = SynthLog::new(Format::Combined, 2);
        log.start = 1_764_000_000;
        log.span_secs = 40 * 86_400;
        let text = generate(&log, 400_000);
        let first = text.lines().next().unwrap();
        let last = text.lines().last().unwrap();
        assert!(first.contains("[24/Nov/2025:16:"), "{first}");
        assert!(last.contains("/Jan/2026:"), "{last}");
        assert_eq!(time_local(971_185_336), "10/Oct/2000:13:42:16 +0000");
        assert_eq!(time_local(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(time_local(951_782_400), "29/Feb/2000:00:00:00 +0000");
    }

    /// The numbered lines' stamps are the CLF stamps jiff writes, which the tests parse.
    #[test]
    fn numbered_lines_are_stamped_and_numbered() {
        for at in [
            "2026-11-29T23:59:59.9Z",
            "2024-02-29T00:00:00Z",
            "1999-12-31T12:34:56Z",
        ] {
            let at: Timestamp = at.parse().unwrap();
            let line = access_line("192.0.2.1", at, 42);
            let want = at.strftime("[%d/%b/%Y:%H:%M:%S +0000]").to_string();
            assert!(line.contains(&want), "{line} lacks {want}");
            assert!(line.starts_with("192.0.2.1 - - [") && line.contains("GET /page/42?"));
        }
        let from: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        let (text, next) = lines_between(from, from + jiff::SignedDuration::from_hours(1), 60, 7);
        assert_eq!((text.lines().count(), next), (60, 67));
    }

    #[test]
    fn line_at_carries_the_timestamp() {
        let mut log = SynthLog::new(Format::Combined, 5);
        let a = log.line_at(BASE_EPOCH);
        let b = log.line_at(BASE_EPOCH + 86_400);
        assert!(a.contains("[01/Jan/2024:00:00:00 +0000]"), "{a}");
        assert!(b.contains("[02/Jan/2024:00:00:00 +0000]"), "{b}");
        assert!(a.ends_with('\n') && a.matches('\n').count() == 1);
    }
}
