//! Generates the man pages and shell completions from the clap definitions in `src/cli.rs`,
//! so they can never be hand-written copies that drift:
//!
//! ```sh
//! cargo run --example gen-assets -- target/assets
//! ```
//!
//! writes `man/logwarden.1`, `man/logwarden-<command>.1` for each command, and
//! `completions/logwarden.bash`, `completions/_logwarden` (zsh), `completions/logwarden.fish`.
//! The packaging (cargo-deb, cargo-generate-rpm, the openSUSE spec) installs them from there.

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

    let mut cmd = Cli::command();
    cmd.build();
    let page = man.join("logwarden.1");
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    std::fs::write(&page, buf)?;
    written.push(page);
    // Not clap's own `help` command: `logwarden help X` is `man logwarden-X` already.
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("logwarden-{}", sub.get_name());
        let page = man.join(format!("{name}.1"));
        let mut buf = Vec::new();
        // build() propagated the global options (--config, -v, ...) into each command and
        // named it "logwarden-<command>" for display, which titles the page.
        clap_mangen::Man::new(sub.clone()).render(&mut buf)?;
        std::fs::write(&page, buf)?;
        written.push(page);
    }

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
