//! Generates the man pages and shell completions from the clap definitions in `src/cli.rs`,
//! so they can never be hand-written copies that drift:
//!
//! ```sh
//! cargo run --release --features gen-assets --bin logwarden-gen-assets -- target/release/assets
//! ```
//!
//! writes `man/logwarden.1`, `man/logwarden-<command>.1` for each command,
//! `man/logwarden.yaml.5` (the policy, from `packaging/man/`), and
//! `completions/logwarden.bash`, `completions/_logwarden` (zsh), `completions/logwarden.fish`.
//! clap renders the name, synopsis, description and options; the sections a user expects of
//! a man page and clap cannot know (EXIT STATUS, FILES, ENVIRONMENT, EXAMPLES, SEE ALSO)
//! are written here, in roff, once for every page. A command without its exit statuses here
//! is an error, so a new command cannot ship a page that lacks them.
//! The packaging (cargo-deb, cargo-generate-rpm, the openSUSE spec) installs them from there.
//! It is a binary behind the `gen-assets` feature, never installed: `cargo build --release`
//! and `cargo install` leave it out, and building it compiles only clap's two generators
//! beside the tool (an example would compile every dev-dependency, criterion and proptest
//! among them, in the packages' release builds).

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use logwarden::cli::Cli;

fn main() -> std::io::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/assets"), PathBuf::from);
    let written = generate(&out)?;
    for p in written {
        println!("{}", p.display());
    }
    Ok(())
}

/// Writes every asset under `out`; returns the files written.
pub fn generate(out: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let man = out.join("man");
    let completions = out.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&completions)?;

    // No `help` command in the pages: `logwarden help X` is `man logwarden-X` already, and
    // a `logwarden-help(1)` would name a page that does not exist.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let commands: Vec<&clap::Command> =
        cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    let page = man.join("logwarden.1");
    std::fs::write(&page, main_page(&cmd, &commands)?)?;
    written.push(page);
    for sub in &commands {
        let page = man.join(format!("logwarden-{}.1", sub.get_name()));
        std::fs::write(&page, command_page(sub, sub.get_name())?)?;
        written.push(page);
        // A command of commands (`import logrotate`): a page each, which its page lists.
        for nested in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = format!("{}-{}", sub.get_name(), nested.get_name());
            let page = man.join(format!("logwarden-{name}.1"));
            std::fs::write(&page, command_page(nested, &name)?)?;
            written.push(page);
        }
    }
    // The policy's page is prose, written by hand beside the packaging.
    let policy_page = man.join("logwarden.yaml.5");
    std::fs::write(
        &policy_page,
        include_str!("../../packaging/man/logwarden.yaml.5"),
    )?;
    written.push(policy_page);

    for (shell, file) in [
        (Shell::Bash, "logwarden.bash"),
        (Shell::Zsh, "_logwarden"),
        (Shell::Fish, "logwarden.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "logwarden", &mut buf);
        let path = completions.join(file);
        std::fs::write(&path, buf)?;
        written.push(path);
    }
    Ok(written)
}

/// The exit statuses of each command (DESIGN.md, "Command line"), as roff `.TP` items.
fn exit_statuses(command: &str) -> Option<&'static [(&'static str, &'static str)]> {
    const USAGE: (&str, &str) = (
        "2",
        "A usage or policy error: the message names the file, line and key.",
    );
    Some(match command {
        "enforce" => &[
            ("0", "Every due action was done; every promise is kept."),
            (
                "1",
                "An action failed, or a promise is unkept (a record past retention, a full address past the window, a writer that did not let go, a file that could not be read or dated); the others still ran.",
            ),
            USAGE,
            ("3", "Another pass holds the lock."),
        ],
        "watch" => &[
            (
                "0",
                "Stopped by SIGTERM or SIGINT after the current action.",
            ),
            ("1", "A failure the service cannot go on from."),
            USAGE,
        ],
        "pipe" => &[
            (
                "0",
                "End of input (or SIGTERM): every line read is written and synced.",
            ),
            ("1", "A failure the writer cannot go on from."),
            USAGE,
        ],
        "anonymize" => &[
            ("0", "Every input was masked to standard output."),
            (
                "1",
                "An input could not be read, or the output could not be written.",
            ),
            USAGE,
        ],
        "validate" => &[
            ("0", "The policy is valid (warnings may be printed)."),
            USAGE,
        ],
        "check" => &[
            ("0", "Every file of every site honours the policy."),
            (
                "1",
                "Violations, each named with its file, rule and evidence; what could not be judged (no file matched, undated records, an unreadable file) is one.",
            ),
            USAGE,
        ],
        "describe" | "status" | "import" | "import-logrotate" => {
            &[("0", "The text was printed."), USAGE]
        }
        _ => return None,
    })
}

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "LOGWARDEN_CONFIG",
        "The policy file when --config is not given (default /etc/logwarden/config.yaml).",
    ),
    (
        "RUST_LOG",
        "Overrides -v and -q, e.g. RUST_LOG=debug or RUST_LOG=logwarden=trace.",
    ),
    (
        "JOURNAL_STREAM",
        "Set by systemd: stderr lines carry sd-daemon priorities instead of a time stamp.",
    ),
    (
        "NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID",
        "Set by systemd for watch (Type=notify, WatchdogSec=).",
    ),
    (
        "XDG_RUNTIME_DIR",
        "Where the default lock goes when /run is not writable.",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "/etc/logwarden/config.yaml",
        "The policy, see logwarden.yaml(5).",
    ),
    (
        "/run/logwarden.lock",
        "The lock (lock_file:); beside it, logwarden.facts remembers what full reads found in archives without logwarden's header.",
    ),
    (
        "/var/lib/logwarden/losses",
        "The lines receive: inputs lost, which check reports as dropped (beside the lock file when lock_file: is set); it outlives reboots.",
    ),
    (
        "/etc/logrotate.d",
        "Read by validate (--logrotate-dir), which warns when a stanza there still rotates a site's files.",
    ),
    (
        "<log>-YYYYmmdd-HHMMSS[.gz]",
        "The archives logwarden makes, beside the log or in archive_dir:.",
    ),
];

const EXAMPLES: &[(&str, &str)] = &[
    ("logwarden validate", "Check the policy."),
    ("logwarden enforce --dry-run", "Print what a pass would do."),
    ("logwarden enforce", "One pass (from a timer, hourly)."),
    (
        "logwarden check --grace 70m",
        "The audit a probe or CI job runs.",
    ),
    (
        "logwarden anonymize --gzip < access.log > access.log.gz",
        "Mask every address of an old file.",
    ),
];

/// The main page: clap's sections, the list of commands, then the ones clap cannot know.
fn main_page(cmd: &clap::Command, commands: &[&clap::Command]) -> std::io::Result<Vec<u8>> {
    let (man, mut buf) = clap_sections(cmd)?;
    let mut roff = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in [
        ("0", "Success: see each command's page."),
        (
            "1",
            "An action failed or a promise is unkept (enforce), violations (check).",
        ),
        ("2", "A usage or policy error."),
        ("3", "Another pass holds the lock (enforce)."),
    ] {
        item(&mut roff, code, meaning);
    }
    roff.push_str(".SH ENVIRONMENT\n");
    for (name, meaning) in ENVIRONMENT {
        item(&mut roff, name, meaning);
    }
    roff.push_str(".SH FILES\n");
    for (name, meaning) in FILES {
        item(&mut roff, name, meaning);
    }
    roff.push_str(".SH EXAMPLES\n");
    for (line, meaning) in EXAMPLES {
        item(&mut roff, line, meaning);
    }
    let mut see: Vec<String> = commands
        .iter()
        .map(|c| format!("logwarden-{}(1)", c.get_name()))
        .collect();
    see.push("logwarden.yaml(5)".to_string());
    see_also(&mut roff, &see);
    buf.extend_from_slice(roff.as_bytes());
    man.render_version_section(&mut buf)?;
    Ok(buf)
}

/// A command's page: clap's sections, then its exit statuses and the pages around it.
fn command_page(sub: &clap::Command, name: &str) -> std::io::Result<Vec<u8>> {
    let Some(statuses) = exit_statuses(name) else {
        return Err(std::io::Error::other(format!(
            "src/bin/gen-assets.rs has no exit statuses for `{name}`: add them to exit_statuses"
        )));
    };
    // build() propagated the global options (--config, -v, ...) into each command and
    // named it "logwarden-<command>" for display, which titles the page.
    let (_, mut buf) = clap_sections(sub)?;
    let mut roff = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in statuses {
        item(&mut roff, code, meaning);
    }
    roff.push_str(".SH ENVIRONMENT\n");
    item(&mut roff, ENVIRONMENT[0].0, ENVIRONMENT[0].1);
    see_also(
        &mut roff,
        &["logwarden(1)".to_string(), "logwarden.yaml(5)".to_string()],
    );
    buf.extend_from_slice(roff.as_bytes());
    Ok(buf)
}

/// What clap knows of a command, in a page's order: title, name, synopsis, description,
/// options, and its commands when it has some.
fn clap_sections(cmd: &clap::Command) -> std::io::Result<(clap_mangen::Man, Vec<u8>)> {
    let man = clap_mangen::Man::new(cmd.clone()).section("1");
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut buf)?;
    }
    Ok((man, buf))
}

/// One `.TP` item: a bold tag and its text, escaped for roff.
fn item(roff: &mut String, tag: &str, text: &str) {
    roff.push_str(".TP\n\\fB");
    roff.push_str(&escape(tag));
    roff.push_str("\\fR\n");
    roff.push_str(&escape(text));
    roff.push('\n');
}

fn see_also(roff: &mut String, pages: &[String]) {
    roff.push_str(".SH \"SEE ALSO\"\n");
    let refs: Vec<String> = pages
        .iter()
        .map(|p| {
            let (name, section) = p.split_once('(').unwrap_or((p, ""));
            format!("\\fB{}\\fR({section}", escape(name))
        })
        .collect();
    roff.push_str(&refs.join(",\n"));
    roff.push('\n');
}

/// Text as roff reads it literally: backslashes and hyphens escaped, and no line that starts
/// with a control character.
fn escape(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}
