//! Subcommands, one module each; errors become one line on stderr and an exit code here.

pub mod bench;
pub mod certs;
pub mod common;
pub mod generate;
pub mod import;
pub mod notify;
pub mod passwd;
pub mod pub_cmd;
pub mod serve;
pub mod store;
pub mod sub;
pub mod top;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the subcommand the command line names.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Store(args) => store::run(args),
        Command::Pub(args) => pub_cmd::run(args),
        Command::Sub(args) => sub::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Passwd(args) => passwd::run(args),
        Command::Certs(args) => certs::run(args),
        Command::Import(args) => import::run(args),
        Command::Top(args) => top::run(args),
        Command::Generate(args) => generate::run(args),
    }
}
