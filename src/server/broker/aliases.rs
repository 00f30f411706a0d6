//! Topic aliases the broker uses towards one v5 client (v5 §3.3.2.3.4): a topic sent once in
//! full with an alias is sent as the alias alone afterwards, on that connection only (a new
//! connection starts without any). Never above the client's Topic Alias Maximum
//! [MQTT-3.3.2-10], and never more than [`MAX_ALIASES`] per connection, whatever the client
//! allows: once they are all given, further topics go in full.

use std::sync::Arc;

use foldhash::HashMap;

/// Aliases one connection may hold at most, however many its client accepts: each keeps its
/// topic alive for the life of the connection.
pub const MAX_ALIASES: u16 = 256;

/// Topics shorter than this go in full: an alias costs three bytes of its own.
const WORTH_IT: usize = 4;

/// See the module documentation.
#[derive(Debug)]
pub struct OutAliases {
    max: u16,
    given: HashMap<Arc<str>, u16>,
}

/// How a topic goes out in one PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicOut {
    /// Whether the topic name is written (else the alias stands for it).
    pub name: bool,
    /// The alias property to send, if any.
    pub alias: Option<u16>,
}

impl TopicOut {
    /// The topic in full, no alias.
    pub const FULL: TopicOut = TopicOut {
        name: true,
        alias: None,
    };
}

impl OutAliases {
    /// Aliases for a client whose Topic Alias Maximum is `client_max`; `None` when it takes none.
    pub fn new(client_max: u16) -> Option<Box<OutAliases>> {
        (client_max > 0).then(|| {
            Box::new(OutAliases {
                max: client_max.min(MAX_ALIASES),
                given: HashMap::default(),
            })
        })
    }

    /// How `topic` goes out next, giving it an alias if one is left.
    pub fn topic_out(&mut self, topic: &Arc<str>) -> TopicOut {
        if let Some(&alias) = self.given.get(topic) {
            return TopicOut {
                name: false,
                alias: Some(alias),
            };
        }
        if topic.len() < WORTH_IT || self.given.len() >= usize::from(self.max) {
            return TopicOut::FULL;
        }
        let alias = self.given.len() as u16 + 1;
        self.given.insert(topic.clone(), alias);
        TopicOut {
            name: true,
            alias: Some(alias),
        }
    }

    /// Forgets the alias of `topic` (its PUBLISH could not be sent, so the client never learnt it).
    pub fn forget(&mut self, topic: &Arc<str>, out: TopicOut) {
        if out.name && out.alias.is_some() {
            self.given.remove(topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_goes_in_full_with_its_alias_once_then_as_the_alias_alone() {
        let mut aliases = OutAliases::new(2).expect("the client takes aliases");
        let a: Arc<str> = "sensors/a".into();
        let b: Arc<str> = "sensors/b".into();
        let c: Arc<str> = "sensors/c".into();
        assert_eq!(
            aliases.topic_out(&a),
            TopicOut {
                name: true,
                alias: Some(1)
            }
        );
        assert_eq!(
            aliases.topic_out(&a),
            TopicOut {
                name: false,
                alias: Some(1)
            }
        );
        assert_eq!(
            aliases.topic_out(&b),
            TopicOut {
                name: true,
                alias: Some(2)
            }
        );
        // [MQTT-3.3.2-10] never above the client's maximum
        assert_eq!(aliases.topic_out(&c), TopicOut::FULL);
        assert_eq!(
            aliases.topic_out(&"t".into()),
            TopicOut::FULL,
            "too short to be worth it"
        );
        assert!(OutAliases::new(0).is_none());
        assert_eq!(OutAliases::new(u16::MAX).unwrap().max, MAX_ALIASES);
    }

    #[test]
    fn an_alias_whose_publish_was_not_sent_is_given_again() {
        let mut aliases = OutAliases::new(5).unwrap();
        let a: Arc<str> = "sensors/a".into();
        let out = aliases.topic_out(&a);
        aliases.forget(&a, out);
        assert_eq!(
            aliases.topic_out(&a),
            TopicOut {
                name: true,
                alias: Some(1)
            }
        );
    }
}
