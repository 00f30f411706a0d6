//! Failures of the client commands: one line for stderr, and the exit code their `--help` lists.

use std::process::ExitCode;

use crate::client::ClientError;

/// The connection failed once made, or a local file or stdin could not be read.
pub const EXIT_ERROR: u8 = 1;
/// A bad flag or value, an invalid topic, or a feature not supported yet.
pub const EXIT_USAGE: u8 = 2;
/// The broker cannot be reached.
pub const EXIT_UNREACHABLE: u8 = 3;
/// The broker refused the connection (CONNACK).
pub const EXIT_REFUSED: u8 = 4;
/// The broker refused a message or a subscription.
pub const EXIT_REJECTED: u8 = 5;
/// The broker did not answer in time.
pub const EXIT_TIMEOUT: u8 = 6;

/// Why a client command stops with a non-zero exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code.
    pub code: u8,
    /// One line for stderr, without the `robustmq CMD:` prefix.
    pub message: String,
}

impl Failure {
    /// A failure with an explicit exit code.
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(EXIT_USAGE, message)
    }

    /// Prints the message on stderr and turns the failure into the process exit code.
    pub fn exit(self, command: &str) -> ExitCode {
        eprintln!("robustmq {command}: {}", self.message);
        ExitCode::from(self.code)
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        let code = match &e {
            ClientError::Resolve { .. } | ClientError::Connect { .. } | ClientError::Tls { .. } => {
                EXIT_UNREACHABLE
            }
            ClientError::Refused { .. } => EXIT_REFUSED,
            ClientError::QosNotSupported { .. }
            | ClientError::RetainNotSupported
            | ClientError::PacketTooLarge { .. } => EXIT_REJECTED,
            ClientError::Timeout { .. } => EXIT_TIMEOUT,
            ClientError::Disconnected { .. }
            | ClientError::Closed
            | ClientError::Io(_)
            | ClientError::Protocol(_)
            | ClientError::Encode(_)
            | ClientError::WindowFull => EXIT_ERROR,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::new(EXIT_ERROR, format!("{e:#}"))
    }
}
