//! The `robustmq` binary: parse arguments, set up logging, dispatch to a subcommand.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use robustmq::cli::{Cli, Command};
use robustmq::cmd;
use tracing_subscriber::EnvFilter;

fn init_logging(level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            init_logging(&args.log_level);
            cmd::serve::run(args)
        }
    }
}
