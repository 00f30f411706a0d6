//! Subcommands, one module each; errors become one line on stderr and an exit code here.

pub mod serve;
