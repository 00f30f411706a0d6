//! The `robustmq` binary: parse arguments and hand them to the subcommand.

use std::process::ExitCode;

use clap::Parser;
use robustmq::cli::Cli;

fn main() -> ExitCode {
    robustmq::cmd::run(Cli::parse())
}
