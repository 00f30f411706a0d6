//! The one start-up line that says which listeners let clients in without a user name.
//!
//! A listener off loopback refuses anonymous clients unless told otherwise, so that a broker
//! exposed to the network is never open by accident. Without a password file such a broker
//! lets no one in at all, which is only discoverable if start-up says so and says how to
//! change it.

use super::Bound;

/// How a listener treats clients without a user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anonymous {
    /// Accepted (configured, or the default on loopback and Unix sockets).
    Accepted,
    /// Refused because the configuration says so.
    Refused,
    /// Refused because nothing was configured and the listener is reachable from the network.
    RefusedByDefault,
}

/// How the line names a listener: `127.0.0.1:1883 (mqtt)`.
pub fn name(listener: &Bound) -> String {
    format!("{} ({})", listener.describe(), listener.protocol)
}

/// Logs the line for these listeners: at info when every refusal was asked for, at warn when
/// some listener refuses anonymous clients only by default.
pub fn log(listeners: &[(String, Anonymous)]) {
    let line = summary(listeners);
    if listeners.iter().any(|(_, a)| *a == Anonymous::RefusedByDefault) {
        tracing::warn!("{line}");
    } else {
        tracing::info!("{line}");
    }
}

/// The text of the line, from each listener's description and treatment.
pub fn summary(listeners: &[(String, Anonymous)]) -> String {
    let list = |want: &dyn Fn(Anonymous) -> bool| {
        let names: Vec<&str> = listeners
            .iter()
            .filter(|(_, a)| want(*a))
            .map(|(name, _)| name.as_str())
            .collect();
        names.join(", ")
    };
    let accepted = list(&|a| a == Anonymous::Accepted);
    let refused = list(&|a| a != Anonymous::Accepted);
    let mut line = if accepted.is_empty() {
        "anonymous clients accepted on no listener".to_string()
    } else {
        format!("anonymous clients accepted on {accepted}")
    };
    if !refused.is_empty() {
        line.push_str(&format!("; refused on {refused}"));
    }
    if listeners.iter().any(|(_, a)| *a == Anonymous::RefusedByDefault) {
        line.push_str(
            " (off loopback they need allowing: robustmq serve --allow-anonymous, or \
             allow_anonymous = true in [[listeners]])",
        );
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(list: &[(&str, Anonymous)]) -> Vec<(String, Anonymous)> {
        list.iter().map(|(n, a)| (n.to_string(), *a)).collect()
    }

    #[test]
    fn accepted_everywhere_names_every_listener() {
        let line = summary(&named(&[
            ("127.0.0.1:1883 (mqtt)", Anonymous::Accepted),
            ("/run/robustmq/mqtt.sock (unix)", Anonymous::Accepted),
        ]));
        assert_eq!(
            line,
            "anonymous clients accepted on 127.0.0.1:1883 (mqtt), /run/robustmq/mqtt.sock (unix)"
        );
    }

    #[test]
    fn a_default_refusal_says_how_to_allow_it() {
        let line = summary(&named(&[("0.0.0.0:1883 (mqtt)", Anonymous::RefusedByDefault)]));
        assert!(
            line.starts_with("anonymous clients accepted on no listener; refused on 0.0.0.0:1883 (mqtt)"),
            "{line}"
        );
        assert!(line.contains("--allow-anonymous"), "{line}");
        assert!(line.contains("allow_anonymous = true"), "{line}");
    }

    #[test]
    fn a_configured_refusal_gets_no_advice() {
        let line = summary(&named(&[
            ("127.0.0.1:1883 (mqtt)", Anonymous::Accepted),
            ("0.0.0.0:8883 (mqtts)", Anonymous::Refused),
        ]));
        assert_eq!(
            line,
            "anonymous clients accepted on 127.0.0.1:1883 (mqtt); refused on 0.0.0.0:8883 (mqtts)"
        );
    }
}
