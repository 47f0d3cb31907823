//! The command line, as clap definitions. The man page and shell completions are generated
//! from these same definitions, so this is the one place the interface is written down.

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use jiff::{SignedDuration, Timestamp};

use crate::policy::DEFAULT_CONFIG;

#[derive(Debug, Parser)]
#[command(
    name = "logwarden",
    version,
    about = "Makes a website's log-retention promise true: rotates logs, truncates client IP addresses, expires records by age, and proves it.",
    max_term_width = 100
)]
pub struct Cli {
    /// The policy file.
    #[arg(long, global = true, env = "LOGWARDEN_CONFIG", default_value = DEFAULT_CONFIG, value_name = "PATH")]
    pub config: PathBuf,

    /// More output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less output (-q: warnings and errors only, -qq: errors only).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub quiet: u8,

    /// Pretend the time is this instant (RFC 3339), to simulate days in seconds.
    #[arg(long, global = true, hide = true, value_name = "RFC3339")]
    pub now: Option<Timestamp>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One pass of everything that is due, then exit (0 ok, 1 an action failed, 2 usage or
    /// policy error, 3 another pass holds the lock).
    Enforce {
        /// Print the plan, one action per line, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only this site (repeatable).
        #[arg(long = "site", value_name = "NAME")]
        sites: Vec<String>,
        /// After the pass, write Prometheus metrics here (node_exporter textfile collector);
        /// overrides `metrics_file:` of the policy.
        #[arg(long, value_name = "PATH")]
        metrics_file: Option<PathBuf>,
    },
    /// Byte-faithful IP truncation filter: FILEs (or stdin) to stdout.
    Anonymize {
        /// IPv4 bits to keep.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u8).range(0..=32))]
        ipv4_prefix: u8,
        /// IPv6 bits to keep.
        #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u8).range(0..=128))]
        ipv6_prefix: u8,
        /// Mask every address in the line, or only the first field.
        #[arg(long, value_enum, default_value_t = ScopeArg::All)]
        scope: ScopeArg,
        /// Write gzip (for logrotate's compresscmd), at LEVEL (default 6).
        #[arg(long, value_name = "LEVEL", num_args = 0..=1, require_equals = true, default_missing_value = "6",
              value_parser = clap::value_parser!(u32).range(1..=9))]
        gzip: Option<u32>,
        /// Input files; stdin when none. Plain text, gzip, xz or zstd, told apart by their
        /// first bytes (on stdin too), whatever the name.
        files: Vec<PathBuf>,
    },
    /// Parse and validate the policy (0 ok, 2 error). Warns when a logrotate stanza rotates
    /// a site's files too.
    Validate {
        /// Where logrotate's stanzas are, to warn about files both tools would rotate.
        #[arg(long, value_name = "DIR", default_value = "/etc/logrotate.d")]
        logrotate_dir: PathBuf,
    },
    /// The system service: acts the moment a size limit or deadline is due. SIGHUP reloads
    /// the policy, SIGUSR1 forces a pass, SIGTERM/SIGINT stop cleanly (exit 0).
    Watch {
        /// Safety rescan interval, for file systems that send no events.
        #[arg(long, hide = true, default_value = "5m", value_parser = parse_interval)]
        rescan: std::time::Duration,
        /// After each pass and at least every 5 minutes, write Prometheus metrics here
        /// (node_exporter textfile collector); overrides `metrics_file:` of the policy.
        #[arg(long, value_name = "PATH")]
        metrics_file: Option<PathBuf>,
    },
    /// Write a log from standard input (Apache: `CustomLog "||logwarden pipe --site main
    /// --log PATH" combined`), masked before it is written when the site's window is 0s,
    /// and rotated by this process at its deadlines. The log's entry must say `receive:
    /// pipe`. Exits 0 at end of input, after writing and syncing every line read.
    Pipe {
        /// The site the log belongs to.
        #[arg(long, value_name = "NAME")]
        site: String,
        /// The log file, as the policy names it.
        #[arg(long, value_name = "PATH")]
        log: PathBuf,
    },
    /// Audit every file of every site against the policy; writes nothing, takes no lock
    /// (0 compliant, 1 violations, 2 usage or policy error).
    Check {
        /// Report format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Only this site (repeatable).
        #[arg(long = "site", value_name = "NAME")]
        sites: Vec<String>,
        /// Judge retention and the full-IP window as of this long ago (90m, 1h, 2d), so a
        /// probe between two passes does not report what the next pass is due to fix; set it
        /// to the longest gap between passes. Other rules ignore it.
        // Hyphen values reach the parser, so `--grace -1h` is refused as negative rather
        // than as an unknown flag `-1`.
        #[arg(long, value_name = "DURATION", default_value = "0s", allow_hyphen_values = true,
              value_parser = crate::policy::parse_duration)]
        grace: SignedDuration,
        /// Write the audit's Prometheus metrics here, a file of its own (never the passes'
        /// one); default: `logwarden-check.prom` beside the policy's `metrics_file:`, if any.
        #[arg(long, value_name = "PATH")]
        metrics_file: Option<PathBuf>,
    },
    /// Per site: files and archives, the oldest record and full address, the next
    /// rotation, masking and expiry, and the last pass; writes nothing, takes no lock
    /// (0, or 2 on a usage or policy error; an overdue site is shown, not an exit status).
    Status {
        /// Report format.
        #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
        format: StatusFormat,
        /// Only this site (repeatable).
        #[arg(long = "site", value_name = "NAME")]
        sites: Vec<String>,
    },
    /// The enforced policy in plain words, one paragraph per site, for a privacy page.
    Describe {
        #[arg(long, value_enum, default_value_t = DescribeFormat::Markdown)]
        format: DescribeFormat,
        /// Name the log files (left out by default: a privacy page has no use for them).
        #[arg(long)]
        paths: bool,
        /// The longest time between two runs of logwarden (1h for the packaged hourly timer,
        /// 1d for a daily cron job, 0s under `watch`): records are truncated and deleted at
        /// the first run after their deadline, so each period is said as the policy's plus
        /// this, rounded up ("within 14 days and 1 hour").
        #[arg(long, value_name = "DURATION", default_value = "1h",
              value_parser = crate::policy::parse_duration)]
        pass_every: SignedDuration,
    },
    /// Print a policy equivalent to another tool's configuration, to review (0 ok, 2 a file
    /// cannot be read or parsed).
    Import {
        #[command(subcommand)]
        from: ImportFrom,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// logrotate stanzas (e.g. /etc/logrotate.d/nginx, or /etc/logrotate.conf with its
    /// `include`s): one site per stanza, with a comment on everything to decide.
    Logrotate {
        /// logrotate configuration files or directories, read in this order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DescribeFormat {
    Markdown,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    All,
    Client,
}

/// Sets up `log` output on stderr: `-v`/`-q` pick the levels ([`levels`]), `RUST_LOG`
/// overrides them. Outside journald every line starts with an RFC 3339 UTC time, so a log
/// kept by cron or a CI job says when each thing happened; the journal stamps lines itself.
pub fn init_logging(verbose: u8, quiet: u8) {
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let mut b = env_logger::Builder::new();
    // RUST_LOG, when set, decides alone (`RUST_LOG=debug` shows logwarden's debug lines
    // too): a directive of ours for our own module would outrank its global level.
    match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => b.parse_filters(&spec),
        _ => {
            let (ours, libraries) = levels(verbose, quiet);
            b.filter_level(libraries)
                .filter_module(env!("CARGO_CRATE_NAME"), ours)
        }
    };
    b.format(move |f, record| {
        use std::io::Write;
        let text = crate::escape::line(&record.args().to_string());
        if journal {
            // sd-daemon priority prefixes; the journal adds its own timestamps.
            let prio = match record.level() {
                log::Level::Error => 3,
                log::Level::Warn => 4,
                log::Level::Info => 6,
                _ => 7,
            };
            writeln!(f, "<{prio}>{text}")
        } else {
            let level = match record.level() {
                log::Level::Error => "error",
                log::Level::Warn => "warning",
                log::Level::Info => "info",
                log::Level::Debug => "debug",
                log::Level::Trace => "trace",
            };
            writeln!(f, "{} logwarden: {level}: {text}", utc_seconds())
        }
    });
    let _ = b.try_init();
}

/// The levels of logwarden's own lines and of the libraries' for `-v`/`-q`. Libraries speak
/// only of their warnings and errors until `-vv`: notify's internal events (an `info` that a
/// watch on a deleted directory could not be removed, a `debug` for an event of a watch
/// already gone) are noise beside what logwarden itself decides, which is all `-v` adds.
fn levels(verbose: u8, quiet: u8) -> (log::LevelFilter, log::LevelFilter) {
    use log::LevelFilter;
    let ours = match (verbose, quiet) {
        (0, 0) => LevelFilter::Info,
        (1, _) => LevelFilter::Debug,
        (v, _) if v >= 2 => LevelFilter::Trace,
        (_, 1) => LevelFilter::Warn,
        _ => LevelFilter::Error,
    };
    let libraries = if ours == LevelFilter::Trace {
        ours
    } else {
        ours.min(LevelFilter::Warn)
    };
    (ours, libraries)
}

/// What starts the final error line of `main`, as the logger starts its lines: the time
/// outside journald, the error priority under it (the journal stamps lines itself).
pub fn error_line_start() -> String {
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        "<3>".to_string()
    } else {
        format!("{} ", utc_seconds())
    }
}

/// Now, in RFC 3339 UTC to the whole second: precise enough to order a night's passes, short
/// enough to read.
fn utc_seconds() -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second()).unwrap_or(now)
}

/// A positive duration for an interval flag, spelled as the policy spells durations.
fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let d = crate::policy::parse_duration(text)?;
    match std::time::Duration::try_from(d) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("{text:?} is not a positive duration")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::LevelFilter::{Debug, Error, Info, Trace, Warn};

    #[test]
    fn libraries_speak_only_of_warnings_until_vv() {
        assert_eq!(levels(0, 0), (Info, Warn));
        assert_eq!(levels(1, 0), (Debug, Warn));
        assert_eq!(levels(2, 0), (Trace, Trace));
        assert_eq!(levels(0, 1), (Warn, Warn));
        assert_eq!(levels(0, 2), (Error, Error));
    }
}
