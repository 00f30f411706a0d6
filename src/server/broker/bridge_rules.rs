//! A bridge's topic rules: which filters it subscribes to on each side, and how a topic is
//! renamed on its way across (prefixes taken off one side, put on the other).

use std::sync::Arc;

use crate::config::BridgeTopic;
use crate::protocol::{topic, QoS};

/// One rule, with its filters as each side sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The filter on this broker: `local_prefix` + filter.
    pub local_filter: Arc<str>,
    /// The filter at the remote: `remote_prefix` + filter.
    pub remote_filter: Arc<str>,
    local_prefix: String,
    remote_prefix: String,
    /// Highest QoS on the bridge for these messages.
    pub qos: QoS,
    outgoing: bool,
    incoming: bool,
}

/// All the rules of one bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// The rules of a validated configuration.
    pub fn new(topics: &[BridgeTopic]) -> Rules {
        let rules = topics
            .iter()
            .map(|t| Rule {
                local_filter: Arc::from(format!("{}{}", t.local_prefix, t.filter)),
                remote_filter: Arc::from(format!("{}{}", t.remote_prefix, t.filter)),
                local_prefix: t.local_prefix.clone(),
                remote_prefix: t.remote_prefix.clone(),
                qos: QoS::from_u8(t.qos).unwrap_or(QoS::AtLeastOnce),
                outgoing: t.direction.outgoing(),
                incoming: t.direction.incoming(),
            })
            .collect();
        Rules { rules }
    }

    /// The rules that forward local messages to the remote.
    pub fn outgoing(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.outgoing)
    }

    /// The rules that bring remote messages here.
    pub fn incoming(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.incoming)
    }

    /// The remote topic for local `topic`, by the first outgoing rule that matches it; `None`
    /// when none does (the subscription that brought it was changed meanwhile).
    pub fn to_remote(&self, local: &str) -> Option<String> {
        let rule = self.outgoing().find(|r| topic::matches(&r.local_filter, local))?;
        let rest = local.strip_prefix(rule.local_prefix.as_str())?;
        Some(format!("{}{rest}", rule.remote_prefix))
    }

    /// The local topic for remote `topic`, by the first incoming rule that matches it.
    pub fn to_local(&self, remote: &str) -> Option<String> {
        let rule = self
            .incoming()
            .find(|r| topic::matches(&r.remote_filter, remote))?;
        let rest = remote.strip_prefix(rule.remote_prefix.as_str())?;
        Some(format!("{}{rest}", rule.local_prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BridgeDirection;

    fn rule(filter: &str, direction: BridgeDirection, local: &str, remote: &str) -> BridgeTopic {
        BridgeTopic {
            filter: filter.into(),
            direction,
            qos: 1,
            local_prefix: local.into(),
            remote_prefix: remote.into(),
        }
    }

    #[test]
    fn prefixes_are_swapped_on_the_way_across() {
        let rules = Rules::new(&[
            rule("sensors/#", BridgeDirection::Out, "", "site1/"),
            rule("commands/+", BridgeDirection::In, "local/", "site1/"),
        ]);
        assert_eq!(rules.to_remote("sensors/t1").as_deref(), Some("site1/sensors/t1"));
        assert_eq!(
            rules.to_local("site1/commands/reboot").as_deref(),
            Some("local/commands/reboot")
        );
        // Each rule only in its own direction.
        assert_eq!(rules.to_remote("local/commands/reboot"), None);
        assert_eq!(rules.to_local("site1/sensors/t1"), None);
        let out: Vec<&str> = rules.outgoing().map(|r| &*r.local_filter).collect();
        let inc: Vec<&str> = rules.incoming().map(|r| &*r.remote_filter).collect();
        assert_eq!((out, inc), (vec!["sensors/#"], vec!["site1/commands/+"]));
    }

    #[test]
    fn a_both_rule_works_each_way_and_the_first_match_wins() {
        let rules = Rules::new(&[
            rule("a/#", BridgeDirection::Both, "", "up/"),
            rule("a/b", BridgeDirection::Out, "", "other/"),
        ]);
        assert_eq!(rules.to_remote("a/b").as_deref(), Some("up/a/b"));
        assert_eq!(rules.to_local("up/a/c").as_deref(), Some("a/c"));
    }
}
