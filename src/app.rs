//! What each command does, from parsed arguments to an exit status.
//!
//! This is the edge where typed errors get their context and become messages. It holds no
//! rules of its own: those live in `policy`, `plan` and the modules `execute` calls, and the
//! pass that `enforce` and `watch` share lives in `pass`. Nothing but `main` may call this
//! module (a test guards it), so it can never sit in an import cycle.

use std::io::{self, BufWriter, Read, Seek, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};

use crate::anonymize::{self, Mask, Scope};
use crate::archive::{self, Format};
use crate::cli::{CheckFormat, Cli, Command, DescribeFormat, ImportFrom, ScopeArg, StatusFormat};
use crate::inventory::Inventory;
use crate::lock::{self, LockError};
use crate::pass::{self, load_policy};
use crate::plan;
use crate::policy::{Policy, PolicyError};
use crate::timestamp::StampReader;

/// The exit statuses of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// An action failed (the others still ran), or violations were found.
    Failed = 1,
    /// Usage or policy error.
    Usage = 2,
    /// Another pass holds the lock.
    Busy = 3,
}

/// A usage error found after clap (an unknown `--site`, say).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit status an error should produce.
pub fn exit_for(err: &anyhow::Error) -> Exit {
    if err.downcast_ref::<PolicyError>().is_some()
        || err.downcast_ref::<UsageError>().is_some()
        || err.downcast_ref::<crate::import::ImportError>().is_some()
        || err.downcast_ref::<crate::receive::PipeUsage>().is_some()
    {
        Exit::Usage
    } else if matches!(
        err.downcast_ref::<LockError>(),
        Some(LockError::Busy { .. })
    ) {
        Exit::Busy
    } else {
        Exit::Failed
    }
}

pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    let now = cli.now.unwrap_or_else(Timestamp::now);
    match cli.command {
        Command::Enforce {
            dry_run,
            sites,
            metrics_file,
        } => enforce(&cli.config, &sites, dry_run, now, metrics_file),
        Command::Validate { logrotate_dir } => validate(&cli.config, &logrotate_dir),
        Command::Watch {
            rescan,
            metrics_file,
        } => {
            crate::watch::run(crate::watch::Options {
                config: cli.config,
                now: cli.now, // in watch mode: where a clock advancing in real time starts
                rescan,
                metrics_file,
            })?;
            Ok(Exit::Ok)
        }
        Command::Pipe { site, log } => {
            crate::receive::pipe(&cli.config, &site, &log, cli.now)?;
            Ok(Exit::Ok)
        }
        Command::Check {
            format,
            sites,
            grace,
            metrics_file,
        } => check(
            &cli.config,
            &sites,
            format,
            now,
            grace,
            metrics_file.as_deref(),
        ),
        Command::Describe {
            format,
            paths,
            pass_every,
        } => describe(&cli.config, format, paths, pass_every),
        Command::Status { format, sites } => status(&cli.config, &sites, format, now),
        Command::Import {
            from: ImportFrom::Logrotate { files },
        } => {
            let text = crate::import::logrotate_policy(&files)?;
            io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .context("stdout")?;
            Ok(Exit::Ok)
        }
        Command::Anonymize {
            ipv4_prefix,
            ipv6_prefix,
            scope,
            gzip,
            files,
        } => {
            let scope = match scope {
                ScopeArg::All => Scope::All,
                ScopeArg::Client => Scope::Client,
            };
            let mask = Mask::new(ipv4_prefix, ipv6_prefix, scope)?;
            anonymize_files(&mask, gzip, &files)
        }
    }
}

fn check_sites(policy: &Policy, sites: &[String]) -> anyhow::Result<()> {
    for s in sites {
        if policy.site(s).is_none() {
            let known: Vec<&str> = policy.sites.iter().map(|s| s.name.as_str()).collect();
            return Err(UsageError(format!(
                "no site named {s:?} in {}; the sites are: {}",
                policy.source.display(),
                known.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

fn validate(config: &Path, logrotate_dir: &Path) -> anyhow::Result<Exit> {
    let policy = Policy::load_for_validate(config)?;
    policy.warnings.iter().for_each(|w| log::warn!("{w}"));
    crate::import::logrotate_overlaps(&policy, logrotate_dir)
        .iter()
        .for_each(|w| log::warn!("{w}"));
    let names: Vec<&str> = policy.sites.iter().map(|s| s.name.as_str()).collect();
    writeln!(
        io::stdout().lock(),
        "{}: valid; {} site(s): {}",
        config.display(),
        names.len(),
        names.join(", ")
    )
    .context("stdout")?;
    Ok(Exit::Ok)
}

fn enforce(
    config: &Path,
    sites: &[String],
    dry_run: bool,
    now: Timestamp,
    metrics_file: Option<std::path::PathBuf>,
) -> anyhow::Result<Exit> {
    let mut policy = load_policy(config)?;
    policy.metrics_file = metrics_file.or(policy.metrics_file);
    check_sites(&policy, sites)?;
    let stamps = StampReader::default().at(now);
    if dry_run {
        crate::livescan::load(&policy.lock_file.with_extension("facts"));
        let inventory = Inventory::scan(&policy, sites, &stamps);
        let plan = plan::plan(&policy, &inventory, now);
        let mut out = io::stdout().lock();
        if plan.actions.is_empty() {
            writeln!(
                out,
                "{}",
                crate::status::nothing_due(&policy, &inventory, now)
            )?;
        }
        for a in &plan.actions {
            writeln!(out, "{a}")?;
        }
        return Ok(Exit::Ok);
    }
    let _lock = lock::acquire(&policy.lock_file, Duration::from_secs(10))?;
    let (summary, _) = pass::run(&policy, sites, now, &stamps, None);
    Ok(if summary.broke_a_promise() {
        Exit::Failed
    } else {
        Exit::Ok
    })
}

/// The audit: never writes (but the metrics file it is given), never takes the lock.
/// Ceilings are violations here (exit 1).
fn check(
    config: &Path,
    sites: &[String],
    format: CheckFormat,
    now: Timestamp,
    grace: SignedDuration,
    metrics_file: Option<&Path>,
) -> anyhow::Result<Exit> {
    let policy = Policy::load_for_audit(config)?;
    policy.warnings.iter().for_each(|w| log::warn!("{w}"));
    check_sites(&policy, sites)?;
    let metrics_path = check_metrics_path(&policy, metrics_file)?;
    let report = crate::check::check(&policy, sites, now, grace, &StampReader::default().at(now));
    if let Some(path) = &metrics_path {
        let metrics = crate::check::metrics(&report, now);
        if let Err(e) = crate::metrics::write(path, &metrics) {
            log::warn!("{}: cannot write the metrics: {e}", path.display());
        }
    }
    let text = match format {
        CheckFormat::Text => crate::check::render_text(&report),
        CheckFormat::Json => crate::check::render_json(&report),
        CheckFormat::Junit => crate::check::render_junit(&report),
    };
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("stdout")?;
    Ok(if report.compliant {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// Where `check` writes its metrics: the flag's file, else beside the policy's
/// `metrics_file:`, its name with `-check` before the extension (`logwarden-check.prom`). Never the passes' own file: each write would wipe the other's series
/// until the next, so that is a usage error.
fn check_metrics_path(
    policy: &Policy,
    flag: Option<&Path>,
) -> anyhow::Result<Option<std::path::PathBuf>> {
    let Some(passes) = &policy.metrics_file else {
        return Ok(flag.map(Path::to_path_buf));
    };
    let Some(flag) = flag else {
        let stem = passes.file_stem().unwrap_or_default().to_string_lossy();
        let name = match passes.extension() {
            Some(ext) => format!("{stem}-check.{}", ext.to_string_lossy()),
            None => format!("{stem}-check"),
        };
        return Ok(Some(passes.with_file_name(name)));
    };
    let same = |a: &Path, b: &Path| -> bool {
        use std::os::unix::fs::MetadataExt;
        let abs =
            |p: &Path| crate::policy::normal_path(&std::path::absolute(p).unwrap_or_default());
        if abs(a) == abs(b) {
            return true;
        }
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => (x.dev(), x.ino()) == (y.dev(), y.ino()),
            _ => false,
        }
    };
    if same(flag, passes) {
        return Err(UsageError(format!(
            "--metrics-file {}: that is the passes' metrics file (`metrics_file:` in {}); the audit writes a file of its own: leave the flag out to write {} beside it, or name another file",
            flag.display(),
            policy.source.display(),
            check_metrics_path(policy, None)?.unwrap_or_default().display()
        ))
        .into());
    }
    Ok(Some(flag.to_path_buf()))
}

/// Read-only, no lock: what is on disk and when the next thing is due.
fn status(
    config: &Path,
    sites: &[String],
    format: StatusFormat,
    now: Timestamp,
) -> anyhow::Result<Exit> {
    let policy = load_policy(config)?;
    check_sites(&policy, sites)?;
    let stamps = StampReader::default().at(now);
    crate::livescan::load(&policy.lock_file.with_extension("facts"));
    let inventory = Inventory::scan(&policy, sites, &stamps);
    let report = crate::status::status(&policy, &inventory, now, policy.metrics_file.as_deref());
    let text = match format {
        StatusFormat::Text => crate::status::render_text(&report),
        StatusFormat::Json => crate::status::render_json(&report),
    };
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("stdout")?;
    Ok(Exit::Ok)
}

fn describe(
    config: &Path,
    format: DescribeFormat,
    paths: bool,
    pass_every: SignedDuration,
) -> anyhow::Result<Exit> {
    let policy = load_policy(config)?;
    let style = match format {
        DescribeFormat::Markdown => crate::describe::Style::Markdown,
        DescribeFormat::Text => crate::describe::Style::Text,
    };
    let options = crate::describe::Options {
        style,
        paths,
        pass_gap: pass_every,
    };
    let text = crate::describe::render(&policy, &options);
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("stdout")?;
    Ok(Exit::Ok)
}

fn anonymize_files(
    mask: &Mask,
    gzip: Option<u32>,
    files: &[std::path::PathBuf],
) -> anyhow::Result<Exit> {
    let pipe_in = files.is_empty() && is_fifo(&io::stdin());
    let feed = |out: &mut dyn Write| -> anyhow::Result<()> {
        if files.is_empty() {
            // A pipe means a live writer (an Apache piped logger): every line goes out at once.
            let flush_each_line = pipe_in && gzip.is_none();
            let input = archive::sniffing_decoder(io::stdin()).context("stdin")?;
            if flush_each_line {
                anonymize::mask_stream(mask, input, &mut *out, true).context("stdin")?;
            } else {
                anonymize::mask_bulk(mask, input, &mut *out).context("stdin")?;
            }
        }
        for f in files {
            let mut file =
                std::fs::File::open(f).with_context(|| format!("{}: cannot open", f.display()))?;
            // The content decides, as on standard input, whatever the name says.
            let mut head = [0u8; 6];
            let n = read_head(&mut file, &mut head)
                .with_context(|| format!("{}: cannot read", f.display()))?;
            let input = if file.seek(io::SeekFrom::Start(0)).is_ok() {
                let format = Format::of_magic(&head[..n]).unwrap_or(Format::Plain);
                archive::decoder(file, format).map(|d| Box::new(d) as Box<dyn Read + Send>)
            } else {
                // A pipe given by name (`<(zcat …)`, /dev/stdin): the head read goes first.
                let head = io::Cursor::new(head[..n].to_vec());
                archive::sniffing_decoder(head.chain(file))
            }
            .with_context(|| format!("{}: cannot read", f.display()))?;
            anonymize::mask_bulk(mask, input, &mut *out)
                .with_context(|| f.display().to_string())?;
        }
        Ok(())
    };
    match write_masked(gzip, feed) {
        // `| head` closed the pipe: nothing more is wanted, which is not a failure (as with
        // coreutils and ripgrep).
        Err(e) if is_broken_pipe(&e) => {
            log::debug!("output closed early: {e:#}");
            Ok(Exit::Ok)
        }
        other => other,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

fn read_head(file: &mut std::fs::File, head: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn write_masked(
    gzip: Option<u32>,
    feed: impl Fn(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<Exit> {
    let stdout = io::stdout().lock();
    match gzip {
        Some(level) => {
            let mut enc = flate2::write::GzEncoder::new(
                BufWriter::with_capacity(256 * 1024, stdout),
                flate2::Compression::new(level),
            );
            feed(&mut enc)?;
            // finish() reports what a dropped encoder would swallow.
            enc.finish().and_then(|mut w| w.flush()).context("stdout")?;
        }
        // The masking writer already hands stdout pieces of about 128 KiB: another buffer
        // would only add a copy.
        None => {
            let mut out = stdout;
            feed(&mut out)?;
            out.flush().context("stdout")?;
        }
    }
    Ok(Exit::Ok)
}

fn is_fifo(stdin: &io::Stdin) -> bool {
    nix::sys::stat::fstat(stdin.as_fd())
        .is_ok_and(|st| st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFIFO)
}
