use clap::Parser;
use logwarden::app;
use logwarden::cli::{self, Cli};

fn main() {
    let cli = Cli::parse();
    cli::init_logging(cli.verbose, cli.quiet);
    let code = match app::run(cli) {
        Ok(exit) => exit,
        Err(err) => {
            eprintln!("logwarden: {err:#}");
            app::exit_for(&err)
        }
    };
    std::process::exit(code as i32);
}
