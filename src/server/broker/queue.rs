//! A session's outbound queue: deliveries not yet sent, in send order, with QoS 0 kept apart
//! so that it can be shed oldest first in constant time when the queue or the broker's memory
//! is at its bound.
//!
//! MQTT orders messages per topic and QoS [MQTT-4.6.0-6], so two queues would be allowed to
//! interleave freely; they are still merged by the order each delivery was queued in, so a
//! subscriber sees what one publisher sent at mixed QoS in the order it was sent.

use std::collections::VecDeque;
use std::sync::Arc;

use super::memory::MemoryBudget;
use super::message::Delivery;
use crate::protocol::QoS;

/// Deliveries waiting to be sent, and the bytes they hold against the memory budget.
#[derive(Debug)]
pub struct OutQueue {
    acked: VecDeque<Delivery>,
    qos0: VecDeque<Delivery>,
    bytes: usize,
    /// What the waiting deliveries hold against the memory budget (by
    /// [`super::Message::memory_size`]).
    memory_bytes: usize,
    next_order: u64,
    memory: Arc<MemoryBudget>,
    /// Whether the session is offline: its bytes are counted apart in the budget.
    offline: bool,
}

impl OutQueue {
    /// An empty queue whose bytes count against `memory`.
    pub fn new(memory: Arc<MemoryBudget>) -> OutQueue {
        OutQueue {
            acked: VecDeque::new(),
            qos0: VecDeque::new(),
            bytes: 0,
            memory_bytes: 0,
            next_order: 0,
            memory,
            offline: true,
        }
    }

    /// Tells the budget that the session's client left (`true`) or came back.
    pub fn set_offline(&mut self, offline: bool) {
        if self.offline != offline {
            self.offline = offline;
            self.memory.set_offline(self.memory_bytes, offline);
        }
    }

    /// Deliveries waiting.
    pub fn len(&self) -> usize {
        self.acked.len() + self.qos0.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.acked.is_empty() && self.qos0.is_empty()
    }

    /// Bytes the waiting deliveries hold (by [`super::Message::size`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// QoS 0 deliveries waiting.
    pub fn qos0_len(&self) -> usize {
        self.qos0.len()
    }

    /// The broker's memory budget this queue counts against.
    pub fn memory(&self) -> &Arc<MemoryBudget> {
        &self.memory
    }

    /// Appends a delivery at the end of the send order.
    pub fn push_back(&mut self, mut delivery: Delivery) {
        delivery.order = self.next_order;
        self.next_order += 1;
        self.take_bytes(&delivery);
        if delivery.qos == QoS::AtMostOnce {
            self.qos0.push_back(delivery);
        } else {
            self.acked.push_back(delivery);
        }
    }

    /// Puts a delivery back at the head, keeping the place it had (a QoS 2 send that has to
    /// wait for its store commit again).
    pub fn push_front(&mut self, delivery: Delivery) {
        self.take_bytes(&delivery);
        if delivery.qos == QoS::AtMostOnce {
            self.qos0.push_front(delivery);
        } else {
            self.acked.push_front(delivery);
        }
    }

    fn take_bytes(&mut self, delivery: &Delivery) {
        self.bytes += delivery.message.size();
        self.memory_bytes += delivery.message.memory_size();
        self.memory.reserve(delivery.message.memory_size(), self.offline);
    }

    fn give_bytes(&mut self, delivery: &Delivery) {
        self.bytes = self.bytes.saturating_sub(delivery.message.size());
        self.memory_bytes = self.memory_bytes.saturating_sub(delivery.message.memory_size());
        self.memory.release(delivery.message.memory_size(), self.offline);
    }

    fn front_is_qos0(&self) -> Option<bool> {
        match (self.acked.front(), self.qos0.front()) {
            (Some(a), Some(z)) => Some(z.order < a.order),
            (Some(_), None) => Some(false),
            (None, Some(_)) => Some(true),
            (None, None) => None,
        }
    }

    /// The next delivery to send.
    pub fn front(&self) -> Option<&Delivery> {
        match self.front_is_qos0()? {
            true => self.qos0.front(),
            false => self.acked.front(),
        }
    }

    /// Takes the next delivery to send.
    pub fn pop_front(&mut self) -> Option<Delivery> {
        let delivery = match self.front_is_qos0()? {
            true => self.qos0.pop_front(),
            false => self.acked.pop_front(),
        }?;
        self.give_bytes(&delivery);
        Some(delivery)
    }

    /// Takes the oldest waiting QoS 0 delivery, to make room for newer messages.
    pub fn pop_oldest_qos0(&mut self) -> Option<Delivery> {
        let delivery = self.qos0.pop_front()?;
        self.give_bytes(&delivery);
        Some(delivery)
    }

    /// Every waiting delivery, in no particular order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Delivery> {
        self.acked.iter_mut().chain(self.qos0.iter_mut())
    }

    /// Empties the queue; returns how many deliveries went.
    pub fn clear(&mut self) -> usize {
        let n = self.len();
        self.acked.clear();
        self.qos0.clear();
        self.bytes = 0;
        self.memory
            .release(std::mem::take(&mut self.memory_bytes), self.offline);
        n
    }
}

impl Drop for OutQueue {
    fn drop(&mut self) {
        self.memory.release(self.memory_bytes, self.offline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::broker::Message;

    fn delivery(qos: QoS, payload: &'static [u8]) -> Delivery {
        let message = Message {
            topic: "t".into(),
            payload: bytes::Bytes::from_static(payload),
            qos,
            retain: false,
            properties: Default::default(),
            expires_at: None,
            publisher: None,
        };
        Delivery::new(Arc::new(message), qos, false, Vec::new())
    }

    #[test]
    fn mixed_qos_comes_out_in_the_order_it_went_in() {
        let memory = MemoryBudget::unlimited();
        let mut q = OutQueue::new(memory.clone());
        for (qos, p) in [
            (QoS::AtLeastOnce, b"a"),
            (QoS::AtMostOnce, b"b"),
            (QoS::AtMostOnce, b"c"),
            (QoS::ExactlyOnce, b"d"),
            (QoS::AtMostOnce, b"e"),
        ] {
            q.push_back(delivery(qos, p));
        }
        let out: Vec<_> = std::iter::from_fn(|| q.pop_front())
            .map(|d| d.message.payload[0])
            .collect();
        assert_eq!(out, b"abcde");
        assert_eq!(memory.used(), 0);
    }

    #[test]
    fn shedding_takes_the_oldest_qos0_and_gives_its_bytes_back() {
        let memory = MemoryBudget::unlimited();
        let mut q = OutQueue::new(memory.clone());
        q.push_back(delivery(QoS::AtLeastOnce, b"a"));
        q.push_back(delivery(QoS::AtMostOnce, b"b"));
        q.push_back(delivery(QoS::AtMostOnce, b"c"));
        let before = memory.used();
        let shed = q.pop_oldest_qos0().expect("a QoS 0 delivery");
        assert_eq!(&shed.message.payload[..], b"b");
        assert_eq!(memory.used(), before - shed.message.memory_size());
        assert_eq!(q.len(), 2);
        drop(q);
        assert_eq!(memory.used(), 0, "a dropped queue gives its bytes back");
    }
}
