use std::io::Write;

use clap::Parser;
use logwarden::app;
use logwarden::cli::{self, Cli};

fn main() {
    let cli = Cli::parse();
    cli::init_logging(cli.verbose, cli.quiet);
    let code = match app::run(cli) {
        Ok(exit) => exit,
        Err(err) => {
            // stderr may be closed or full; the exit code must still say what happened.
            let text = format!("{err:#}");
            let start = format!("{}logwarden: ", cli::error_line_start());
            let lines: Vec<String> = text
                .lines()
                .map(|l| format!("{start}{}", logwarden::escape::line(l)))
                .collect();
            let _ = writeln!(std::io::stderr(), "{}", lines.join("\n"));
            app::exit_for(&err)
        }
    };
    std::process::exit(code as i32);
}
