//! One attack scenario from start to finish: a broker, a victim session with queued messages, a
//! bystander pair; after the attack, the checks every row shares (bystanders still served,
//! memory bounded, no panic, nothing stored lost, also across a restart).

use super::clients::{Bystanders, Victim};
use super::harness::{mib, Broker, Limits, RSS_BOUND};

pub struct Scene {
    pub broker: Broker,
    pub bystanders: Bystanders,
    victim: Victim,
    /// Resident size once the victim and the bystanders are set up, before any attack.
    pub rss_before: u64,
    name: &'static str,
}

impl Scene {
    pub async fn start(name: &'static str, limits: Limits) -> Scene {
        Scene::with_broker(name, Broker::start(limits)).await
    }

    /// [`Scene::start`] with the `mqtts`, `ws` and `wss` listeners too.
    pub async fn start_secure(name: &'static str, limits: Limits) -> Scene {
        Scene::with_broker(name, Broker::start_secure(limits)).await
    }

    async fn with_broker(name: &'static str, broker: Broker) -> Scene {
        let victim = Victim::prepare(&broker).await;
        let mut bystanders = Bystanders::connect(&broker).await;
        bystanders.check("before").await;
        let rss_before = broker.rss();
        Scene {
            broker,
            bystanders,
            victim,
            rss_before,
            name,
        }
    }

    /// Asserts the broker holds at most [`RSS_BOUND`] more than before the attack; returns the
    /// current resident size.
    pub fn assert_rss_bounded(&self, when: &str) -> u64 {
        let now = self.broker.rss();
        let grown = now.saturating_sub(self.rss_before);
        eprintln!(
            "[{}] RSS {when}: {} KiB (before the attack {} KiB, +{} KiB)",
            self.name,
            now / 1024,
            self.rss_before / 1024,
            grown / 1024
        );
        assert!(
            grown < RSS_BOUND,
            "[{}] {when}: RSS grew by {} MiB (from {} MiB to {} MiB), bound {} MiB",
            self.name,
            grown / (1024 * 1024),
            self.rss_before / (1024 * 1024),
            now / (1024 * 1024),
            RSS_BOUND / (1024 * 1024)
        );
        now
    }

    /// The checks after an attack: bystanders, memory, panics, the victim's queued messages
    /// now and after a restart, and a clean shutdown.
    pub async fn finish(mut self) {
        self.bystanders.check("after").await;
        self.assert_rss_bounded("after the attack");
        assert_eq!(
            self.broker.metric("robustmq_connection_panics_total"),
            0,
            "[{}] a connection task panicked",
            self.name
        );
        self.victim
            .receive_all(&self.broker, false, "after the attack")
            .await;
        drop(self.bystanders);
        self.broker.restart();
        self.victim
            .receive_all(&self.broker, true, "after the attack and a restart")
            .await;
        self.broker.stop_clean();
    }
}

/// Prints RSS samples of repetitions, for the record.
pub fn report_samples(name: &str, samples: &[u64]) {
    eprintln!("[{name}] RSS after each repetition: {:?} MiB", mib(samples));
}
