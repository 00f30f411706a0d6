//! The `robustmq` binary: parse arguments, set up logging, dispatch to a subcommand.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use robustmq::cli::{Cli, Command};
use robustmq::cmd;
use tracing_subscriber::EnvFilter;

/// Sets up logging to stderr; `RUST_LOG` wins over `--log-level`.
fn init_logging(level: &str) -> Result<(), String> {
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(_) => EnvFilter::try_new(level).map_err(|e| format!("invalid --log-level {level:?}: {e}"))?,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            if let Err(e) = init_logging(&args.log_level) {
                eprintln!("robustmq: {e}");
                return ExitCode::from(cmd::serve::EXIT_CONFIG);
            }
            cmd::serve::run(args)
        }
    }
}
