//! Arguments of the hidden `robustmq generate man|completions`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit;

/// `robustmq generate` (hidden): files generated from these definitions.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to write.
    #[command(subcommand)]
    pub what: GenerateWhat,
}

/// The `robustmq generate` subcommands.
#[derive(Debug, Subcommand)]
pub enum GenerateWhat {
    /// Man pages: robustmq(1), one robustmq-COMMAND(1) per subcommand, and robustmq.toml(5).
    #[command(after_long_help = exit::help("generate man"))]
    Man {
        /// Directory to write the pages to (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Shell completions for bash, zsh, fish, elvish and PowerShell.
    #[command(after_long_help = exit::help("generate completions"))]
    Completions {
        /// Directory to write the scripts to (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}
