//! Unit tests for configuration parsing and validation, one file per concern.

mod defaults;
mod loading;
mod parsing;
mod validation;

use std::net::SocketAddr;

use super::*;

pub(super) const ORIGIN: &str = "robustmq.toml";

pub(super) fn parse(text: &str) -> Settings {
    Settings::from_toml_str(text, ORIGIN).unwrap_or_else(|e| panic!("{e}"))
}

/// The error message for `text`, checked to be a single line that starts with the origin.
pub(super) fn error(text: &str) -> String {
    let message = match Settings::from_toml_str(text, ORIGIN) {
        Ok(settings) => panic!("accepted {text:?} as {settings:?}"),
        Err(e) => e.to_string(),
    };
    assert!(!message.contains('\n'), "multi-line message: {message}");
    assert!(
        message.starts_with("robustmq.toml: "),
        "message does not name the file: {message}"
    );
    message
}

/// Asserts that `text` is refused with a message containing every one of `parts`.
pub(super) fn refused(text: &str, parts: &[&str]) {
    let message = error(text);
    for part in parts {
        assert!(
            message.contains(part),
            "{text:?}: message lacks {part:?}: {message}"
        );
    }
}

pub(super) fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

pub(super) fn limits(text: &str) -> Limits {
    parse(&format!("[limits]\n{text}")).limits
}
