//! Failures of the client commands: one line for stderr, and the exit code their `--help` lists.

use std::process::ExitCode;

use crate::client::ClientError;
use crate::exit::Exit;

/// Why a client command stops with a non-zero exit code.
#[derive(Debug)]
pub struct Failure {
    /// How the command ends.
    pub exit: Exit,
    /// One line for stderr, without the `robustmq CMD:` prefix.
    pub message: String,
}

impl Failure {
    /// A failure with an explicit exit code.
    pub fn new(exit: Exit, message: impl Into<String>) -> Failure {
        Failure {
            exit,
            message: message.into(),
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Usage, message)
    }

    /// Prints the message on stderr and turns the failure into the process exit code.
    pub fn exit(self, command: &str) -> ExitCode {
        eprintln!("robustmq {command}: {}", self.message);
        ExitCode::from(self.exit)
    }
}

impl Failure {
    /// [`Failure::exit`], printing nothing with `--quiet` unless the command line was wrong
    /// (as mosquitto's clients do).
    pub fn exit_unless_quiet(self, command: &str, quiet: bool) -> ExitCode {
        if quiet && self.exit != Exit::Usage {
            return ExitCode::from(self.exit);
        }
        self.exit(command)
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        let exit = match &e {
            ClientError::Resolve { .. } | ClientError::Connect { .. } | ClientError::Tls { .. } => {
                Exit::Unreachable
            }
            ClientError::Refused { .. } => Exit::Refused,
            ClientError::QosNotSupported { .. }
            | ClientError::RetainNotSupported
            | ClientError::PacketTooLarge { .. } => Exit::Rejected,
            ClientError::Timeout { .. } => Exit::Timeout,
            ClientError::Disconnected { .. }
            | ClientError::Closed
            | ClientError::Io(_)
            | ClientError::Protocol(_)
            | ClientError::Encode(_)
            | ClientError::WindowFull => Exit::Failed,
        };
        Failure::new(exit, e.to_string())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::new(Exit::Failed, format!("{e:#}"))
    }
}
