//! Who publishes where and who subscribes to what, and which subscribers should get each message.

use std::sync::Arc;

/// The shape of a `bench pubsub` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Many publishers, each on its own topic; every subscriber takes them all with a wildcard.
    Fanin,
    /// Every publisher on one topic; every subscriber subscribes to it.
    Fanout,
    /// Pairs: publisher i and subscriber i share a topic no one else uses.
    P2p,
    /// Publishers on their own topics; the subscribers form one shared subscription group, so
    /// each message goes to one of them.
    SharedSub,
}

impl Scenario {
    /// Every scenario, for help texts and parsing.
    pub const ALL: [Scenario; 4] = [
        Scenario::Fanin,
        Scenario::Fanout,
        Scenario::P2p,
        Scenario::SharedSub,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Fanin => "fanin",
            Scenario::Fanout => "fanout",
            Scenario::P2p => "p2p",
            Scenario::SharedSub => "sharedsub",
        }
    }

    /// Publishers and subscribers when only `-c N` is given: fanin N → 1, fanout 1 → N,
    /// p2p N pairs, sharedsub 1 → N.
    pub fn default_counts(self, clients: usize) -> (usize, usize) {
        match self {
            Scenario::Fanin => (clients, 1),
            Scenario::Fanout | Scenario::SharedSub => (1, clients),
            Scenario::P2p => (clients, clients),
        }
    }

    /// The topics and filters of `publishers` and `subscribers` under `prefix`.
    pub fn topology(self, prefix: &str, publishers: usize, subscribers: usize) -> Topology {
        let topics = |level: &str| -> Vec<Arc<str>> {
            (0..publishers)
                .map(|i| Arc::from(format!("{prefix}/{level}/{i}")))
                .collect()
        };
        let same = |filter: String| -> Vec<Arc<str>> {
            let filter: Arc<str> = Arc::from(filter);
            vec![filter; subscribers]
        };
        match self {
            Scenario::Fanin => Topology {
                topics: topics("fanin"),
                filters: same(format!("{prefix}/fanin/+")),
                delivery: Delivery::Every,
            },
            Scenario::Fanout => {
                let topic: Arc<str> = Arc::from(format!("{prefix}/fanout"));
                Topology {
                    topics: vec![topic.clone(); publishers],
                    filters: vec![topic; subscribers],
                    delivery: Delivery::Every,
                }
            }
            Scenario::P2p => Topology {
                topics: topics("p2p"),
                filters: topics("p2p").into_iter().take(subscribers).collect(),
                delivery: Delivery::Pairs,
            },
            Scenario::SharedSub => Topology {
                topics: topics("shared"),
                filters: same(format!("$share/robustmq-bench/{prefix}/shared/+")),
                delivery: Delivery::Shared,
            },
        }
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--scenario` that names none of the four; holds the name given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario `{0}`: expected fanin, fanout, p2p or sharedsub")]
pub struct UnknownScenario(pub String);

impl std::str::FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Scenario, UnknownScenario> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| UnknownScenario(s.to_string()))
    }
}

/// Which subscribers should receive a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Every subscriber gets every message.
    Every,
    /// Subscriber i gets the messages of publisher i.
    Pairs,
    /// Exactly one subscriber of the group gets each message.
    Shared,
    /// Not known in advance (`bench sub` listening to publishers elsewhere).
    Unknown,
}

/// The topics and filters of one run.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Topic of each publisher.
    pub topics: Vec<Arc<str>>,
    /// Filter of each subscriber.
    pub filters: Vec<Arc<str>>,
    /// Who gets what.
    pub delivery: Delivery,
}

impl Topology {
    /// How many deliveries the subscribers should see in all, given what each publisher sent.
    pub fn expected(&self, sent: &[u64]) -> u64 {
        let total: u64 = sent.iter().sum();
        match self.delivery {
            Delivery::Every => total * self.filters.len() as u64,
            Delivery::Pairs => sent.iter().take(self.filters.len()).sum(),
            Delivery::Shared => {
                if self.filters.is_empty() {
                    0
                } else {
                    total
                }
            }
            Delivery::Unknown => 0,
        }
    }
}

/// Replaces `%i` in a topic or filter template with `index`.
pub fn expand(template: &str, index: usize) -> Arc<str> {
    Arc::from(template.replace("%i", &index.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topologies() {
        let t = Scenario::Fanin.topology("b", 3, 1);
        assert_eq!(&*t.topics[2], "b/fanin/2");
        assert_eq!(&*t.filters[0], "b/fanin/+");
        assert_eq!(t.expected(&[5, 5, 5]), 15);
        let t = Scenario::Fanout.topology("b", 1, 4);
        assert_eq!(t.filters.len(), 4);
        assert_eq!(t.expected(&[10]), 40);
        let t = Scenario::P2p.topology("b", 2, 2);
        assert_eq!(t.topics, t.filters);
        assert_eq!(t.expected(&[3, 4]), 7);
        let t = Scenario::SharedSub.topology("b", 2, 5);
        assert_eq!(&*t.filters[4], "$share/robustmq-bench/b/shared/+");
        assert_eq!(t.expected(&[3, 4]), 7);
    }

    #[test]
    fn names_parse() {
        for s in Scenario::ALL {
            assert_eq!(s.name().parse::<Scenario>(), Ok(s));
        }
        assert!("nope".parse::<Scenario>().is_err());
        assert_eq!(&*expand("a/%i/b", 7), "a/7/b");
    }
}
