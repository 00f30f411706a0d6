//! Per-topic message rates for `topics/top`, counted off the hot path.
//!
//! Each connection tallies the topics it receives PUBLISHes on in a private map (no lock, no
//! atomic) and hands the tally over once per read batch, into one of [`SHARDS`] maps chosen by
//! the topic's hash. So a busy publisher takes a shard lock once per batch of packets rather than
//! once per message, and publishers on different topics rarely meet on the same lock. A task
//! closes a one-second bucket every second and keeps the last [`HISTORY`] of them, from which a
//! request sums the window it asks for.
//!
//! Per message the cost is a string compare when the topic is the same as the connection's
//! previous one (the usual case), otherwise one keyed SipHash of the topic: every map is keyed by
//! that 64-bit hash (with an identity hasher), so nothing is hashed twice. The hash is keyed per
//! broker, so clients cannot aim topics at one slot; a topic whose hash collides with another's
//! (never seen at 64 bits) is counted as untracked rather than under the wrong name.
//!
//! Under load the counting samples: when more than [`SAMPLE_ABOVE`] messages a second were
//! counted, the next second counts one message in 2, 4, ... 64 (picked at random per connection)
//! with that weight, so the cost stays around that of [`SAMPLE_ABOVE`] counted messages a second
//! however busy the broker is, and the busiest topics (the ones asked for) are still estimated
//! closely. Below that load every message is counted exactly.
//!
//! Memory is bounded: a bucket tracks at most [`MAX_TOPICS_PER_SHARD`] × [`SHARDS`] (16,384)
//! distinct topics; messages on further topics are counted as untracked. At ~100 bytes per
//! entry that is under 2 MB per bucket, 20 MB for the whole history at worst.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// Number of shards the current second's counts are spread over.
pub const SHARDS: usize = 16;
/// Distinct topics one shard tracks within one second.
pub const MAX_TOPICS_PER_SHARD: usize = 1024;
/// Completed one-second buckets kept.
pub const HISTORY: usize = 10;
/// Messages a second counted one by one; above this rate the next second samples.
pub const SAMPLE_ABOVE: u64 = 50_000;
/// The sparsest sampling: one message in 2^6 = 64.
const MAX_SAMPLE_SHIFT: u32 = 6;
/// A connection's tally is handed over early once it holds this many topics.
const TALLY_FLUSH_TOPICS: usize = 256;
/// A tally map that grew past this for a burst of distinct topics is given back once the
/// connection is back to a few topics per batch.
const TALLY_SHRINK_ABOVE: usize = 64;

/// Messages and payload bytes on one topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    /// PUBLISH packets.
    pub messages: u64,
    /// Payload bytes.
    pub bytes: u64,
}

impl Count {
    fn add(&mut self, other: Count) {
        self.messages += other.messages;
        self.bytes += other.bytes;
    }
}

/// A hasher for keys that already are a hash.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; this keeps any other use correct, if slow.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by a topic's hash.
type ByHash = HashMap<u64, Entry, BuildHasherDefault<IdentityHasher>>;

/// A topic and its counts, in a [`ByHash`] map.
#[derive(Debug, Clone)]
struct Entry {
    topic: Arc<str>,
    count: Count,
}

/// Adds `entry` under `hash`: merged if the topic is there, inserted if there is room,
/// untracked otherwise (or on a hash collision between two topics).
fn merge(map: &mut ByHash, untracked: &mut Count, hash: u64, entry: Entry, limit: usize) {
    let room = map.len() < limit;
    match map.entry(hash) {
        std::collections::hash_map::Entry::Occupied(mut e) if e.get().topic == entry.topic => {
            e.get_mut().count.add(entry.count)
        }
        std::collections::hash_map::Entry::Vacant(e) if room => {
            e.insert(entry);
        }
        _ => untracked.add(entry.count),
    }
}

/// One connection's counts since it last handed them over. Owned by the connection task;
/// boxed on the connection's first PUBLISH, so that connections that never publish (most
/// idle ones) do not carry it.
#[derive(Debug, Default)]
pub struct TopicTally(Option<Box<Tally>>);

impl TopicTally {
    /// Counts one PUBLISH of `payload_len` bytes on `topic`; hands the tally over to `rates`
    /// when it holds many topics.
    #[inline]
    pub fn record(&mut self, rates: &TopicRates, topic: &Arc<str>, payload_len: usize) {
        self.0
            .get_or_insert_with(Default::default)
            .record(rates, topic, payload_len)
    }

    /// Hands the counts over to `rates` and starts again from zero.
    pub fn flush(&mut self, rates: &TopicRates) {
        if let Some(tally) = &mut self.0 {
            tally.flush(rates);
        }
    }
}

/// What [`TopicTally`] holds once the connection publishes.
#[derive(Debug, Default)]
struct Tally {
    counts: ByHash,
    /// The previous message's topic and its hash: the next one is usually the same.
    last: Option<(Arc<str>, u64)>,
    /// Messages whose topic collided with another's hash in this tally.
    untracked: Count,
    /// xorshift state for sampling; 0 until first needed.
    rng: u64,
}

impl Tally {
    #[inline]
    fn record(&mut self, rates: &TopicRates, topic: &Arc<str>, payload_len: usize) {
        let shift = rates.sample_shift.load(Ordering::Relaxed).min(MAX_SAMPLE_SHIFT);
        if shift > 0 && self.skip(rates, shift) {
            return;
        }
        let hash = match &self.last {
            Some((last, hash)) if Arc::ptr_eq(last, topic) || **last == **topic => *hash,
            _ => {
                let hash = rates.hasher.hash_one(&**topic);
                self.last = Some((topic.clone(), hash));
                hash
            }
        };
        let count = Count {
            messages: 1 << shift,
            bytes: (payload_len as u64) << shift,
        };
        match self.counts.get_mut(&hash) {
            Some(e) if e.topic == *topic => e.count.add(count),
            Some(_) => self.untracked.add(count),
            None => {
                self.counts.insert(
                    hash,
                    Entry {
                        topic: topic.clone(),
                        count,
                    },
                );
                if self.counts.len() >= TALLY_FLUSH_TOPICS {
                    self.flush(rates);
                }
            }
        }
    }

    /// Whether to leave this message out: true with probability 1 - 2^-shift.
    #[inline]
    fn skip(&mut self, rates: &TopicRates, shift: u32) -> bool {
        if self.rng == 0 {
            self.rng = rates.hasher.hash_one(self as *const Self as usize) | 1;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng & ((1 << shift) - 1) != 0
    }

    fn flush(&mut self, rates: &TopicRates) {
        let topics = self.counts.len();
        if topics == 0 && self.untracked.messages == 0 {
            return;
        }
        if self.untracked.messages > 0 {
            lock(&rates.shards[0])
                .untracked
                .add(std::mem::take(&mut self.untracked));
        }
        if topics == 1 {
            // The common case (one topic per connection): a single shard lock, no grouping.
            for (hash, entry) in self.counts.drain() {
                lock(&rates.shards[shard_index(hash)]).add(hash, entry);
            }
        } else {
            let mut entries: Vec<(u64, Entry)> = self.counts.drain().collect();
            entries.sort_unstable_by_key(|(hash, _)| shard_index(*hash));
            let mut rest = entries.into_iter().peekable();
            while let Some((hash, entry)) = rest.next() {
                let index = shard_index(hash);
                let mut shard = lock(&rates.shards[index]);
                shard.add(hash, entry);
                while let Some((hash, entry)) = rest.next_if(|(next, _)| shard_index(*next) == index) {
                    shard.add(hash, entry);
                }
            }
        }
        if topics < TALLY_SHRINK_ABOVE / 4 && self.counts.capacity() > TALLY_SHRINK_ABOVE {
            self.counts = ByHash::default();
        }
    }
}

/// The shard of a topic hash. The maps use the hash's low bits, so the shard takes high ones.
fn shard_index(hash: u64) -> usize {
    (hash >> 40) as usize % SHARDS
}

/// Counts of the second in progress, for the topics hashing to one shard.
#[derive(Debug, Default)]
struct Shard {
    counts: ByHash,
    untracked: Count,
}

impl Shard {
    fn add(&mut self, hash: u64, entry: Entry) {
        merge(
            &mut self.counts,
            &mut self.untracked,
            hash,
            entry,
            MAX_TOPICS_PER_SHARD,
        );
    }
}

/// One completed interval.
#[derive(Debug)]
struct Bucket {
    counts: ByHash,
    untracked: Count,
    length: Duration,
    /// One message in `2^sample_shift` was counted (at most; connections see the change at
    /// slightly different moments).
    sample_shift: u32,
}

/// The broker-wide topic counters: shards for the current second and the recent history.
#[derive(Debug)]
pub struct TopicRates {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    history: Mutex<VecDeque<Bucket>>,
    /// Sampling in force: one message in `2^sample_shift` is counted.
    sample_shift: AtomicU32,
}

impl Default for TopicRates {
    fn default() -> Self {
        TopicRates {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: RandomState::new(),
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            sample_shift: AtomicU32::new(0),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One row of [`TopicRates::top`].
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRate {
    /// Topic name.
    pub topic: Arc<str>,
    /// Messages and bytes within the window.
    pub count: Count,
}

/// What [`TopicRates::top`] found.
#[derive(Debug, Clone, Default)]
pub struct TopTopics {
    /// Seconds actually covered (less than asked right after start).
    pub window: Duration,
    /// Busiest topics first (by messages, then bytes, then name).
    pub topics: Vec<TopicRate>,
    /// Distinct topics seen in the window.
    pub distinct: usize,
    /// Messages on topics beyond the tracking limit.
    pub untracked: Count,
    /// 1 when every message was counted; N when (at most) one in N was, the figures being
    /// estimates then.
    pub sampling: u64,
}

impl TopicRates {
    /// Closes the interval in progress (of `length`) into the history.
    pub fn rotate(&self, length: Duration) {
        let mut bucket = Bucket {
            counts: ByHash::default(),
            untracked: Count::default(),
            length,
            sample_shift: self.sample_shift.load(Ordering::Relaxed),
        };
        for shard in self.shards.iter() {
            let taken = std::mem::take(&mut *lock(shard));
            bucket.untracked.add(taken.untracked);
            if bucket.counts.is_empty() {
                bucket.counts = taken.counts;
            } else {
                // Shards hold disjoint hashes.
                bucket.counts.extend(taken.counts);
            }
        }
        let counted =
            bucket.untracked.messages + bucket.counts.values().map(|e| e.count.messages).sum::<u64>();
        let per_second = counted as f64 / length.as_secs_f64().max(0.001);
        self.sample_shift
            .store(sample_shift_for(per_second), Ordering::Relaxed);
        let mut history = lock(&self.history);
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(bucket);
    }

    /// The `limit` busiest topics over the last `seconds` completed buckets.
    pub fn top(&self, seconds: usize, limit: usize) -> TopTopics {
        let history = lock(&self.history);
        let mut sum = ByHash::default();
        let mut out = TopTopics {
            sampling: 1,
            ..Default::default()
        };
        for bucket in history.iter().rev().take(seconds) {
            out.window += bucket.length;
            out.untracked.add(bucket.untracked);
            out.sampling = out.sampling.max(1 << bucket.sample_shift);
            for (hash, entry) in &bucket.counts {
                merge(&mut sum, &mut out.untracked, *hash, entry.clone(), usize::MAX);
            }
        }
        drop(history);
        out.distinct = sum.len();
        let mut rows: Vec<TopicRate> = sum
            .into_values()
            .map(|e| TopicRate {
                topic: e.topic,
                count: e.count,
            })
            .collect();
        rows.sort_unstable_by(|a, b| {
            (b.count.messages, b.count.bytes)
                .cmp(&(a.count.messages, a.count.bytes))
                .then_with(|| a.topic.cmp(&b.topic))
        });
        rows.truncate(limit);
        out.topics = rows;
        out
    }
}

/// The sampling for a second after one that saw `per_second` messages (counted or estimated).
fn sample_shift_for(per_second: f64) -> u32 {
    let ratio = per_second / SAMPLE_ABOVE as f64;
    if ratio <= 1.0 {
        0
    } else {
        (ratio.log2().ceil() as u32).min(MAX_SAMPLE_SHIFT)
    }
}

/// Closes a bucket every second until shutdown.
pub async fn run(rates: Arc<TopicRates>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut last = Instant::now();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = Instant::now();
        rates.rotate(now - last);
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn tallies_sum_across_connections_and_buckets() {
        let rates = TopicRates::default();
        let mut a = TopicTally::default();
        let mut b = TopicTally::default();
        for _ in 0..3 {
            a.record(&rates, &topic("x"), 10);
        }
        a.record(&rates, &topic("y"), 1);
        b.record(&rates, &topic("x"), 5);
        a.flush(&rates);
        b.flush(&rates);
        rates.rotate(Duration::from_secs(1));
        b.record(&rates, &topic("y"), 1);
        b.flush(&rates);
        rates.rotate(Duration::from_secs(1));
        let top = rates.top(10, 10);
        assert_eq!(top.window, Duration::from_secs(2));
        assert_eq!(top.distinct, 2);
        assert_eq!(&*top.topics[0].topic, "x");
        assert_eq!(
            top.topics[0].count,
            Count {
                messages: 4,
                bytes: 35
            }
        );
        assert_eq!(top.topics[1].count.messages, 2);
        // The last bucket alone.
        let last = rates.top(1, 10);
        assert_eq!(last.topics.len(), 1);
        assert_eq!(&*last.topics[0].topic, "y");
        assert_eq!(rates.top(10, 1).topics.len(), 1);
    }

    #[test]
    fn distinct_topics_are_bounded() {
        let rates = TopicRates::default();
        let mut t = TopicTally::default();
        let total = SHARDS * MAX_TOPICS_PER_SHARD + 1000;
        for i in 0..total {
            t.record(&rates, &topic(&format!("t/{i}")), 0);
        }
        t.flush(&rates);
        rates.rotate(Duration::from_secs(1));
        let top = rates.top(1, 5);
        assert!(top.distinct <= SHARDS * MAX_TOPICS_PER_SHARD);
        assert_eq!(top.distinct as u64 + top.untracked.messages, total as u64);
    }

    #[test]
    fn sampling_starts_above_the_threshold() {
        assert_eq!(sample_shift_for(0.0), 0);
        assert_eq!(sample_shift_for(SAMPLE_ABOVE as f64), 0);
        assert_eq!(sample_shift_for(SAMPLE_ABOVE as f64 * 1.5), 1);
        assert_eq!(sample_shift_for(SAMPLE_ABOVE as f64 * 4.0), 2);
        assert_eq!(sample_shift_for(SAMPLE_ABOVE as f64 * 20.0), 5);
        assert_eq!(sample_shift_for(1e12), MAX_SAMPLE_SHIFT);
    }

    #[test]
    fn sampled_counts_estimate_the_real_ones() {
        let rates = TopicRates::default();
        // A busy second switches sampling on.
        let mut t = TopicTally::default();
        let busy = topic("busy");
        for _ in 0..SAMPLE_ABOVE * 4 {
            t.record(&rates, &busy, 10);
        }
        t.flush(&rates);
        rates.rotate(Duration::from_secs(1));
        assert_eq!(rates.sample_shift.load(Ordering::Relaxed), 2);
        let (a, b) = (topic("a"), topic("b"));
        for i in 0..180_000 {
            t.record(&rates, if i % 4 == 0 { &b } else { &a }, 10);
        }
        t.flush(&rates);
        rates.rotate(Duration::from_secs(1));
        let top = rates.top(1, 10);
        assert_eq!(top.sampling, 4);
        let (ea, eb) = (
            top.topics[0].count.messages as f64,
            top.topics[1].count.messages as f64,
        );
        assert!((ea / 135_000.0 - 1.0).abs() < 0.03, "{ea}");
        assert!((eb / 45_000.0 - 1.0).abs() < 0.05, "{eb}");
        assert_eq!(top.topics[0].count.bytes, top.topics[0].count.messages * 10);
        // Quiet again: exact counting.
        assert_eq!(rates.sample_shift.load(Ordering::Relaxed), 2, "~180,000 a second");
        rates.rotate(Duration::from_secs(1));
        assert_eq!(rates.sample_shift.load(Ordering::Relaxed), 0);
        assert_eq!(rates.top(1, 1).sampling, 4, "that second still sampled");
        rates.rotate(Duration::from_secs(1));
        assert_eq!(rates.top(1, 1).sampling, 1);
        assert_eq!(rates.top(3, 1).sampling, 4, "the window's sparsest sampling");
    }

    #[test]
    fn colliding_hashes_are_untracked_not_misnamed() {
        let mut map = ByHash::default();
        let mut untracked = Count::default();
        let one = Count {
            messages: 1,
            bytes: 2,
        };
        for name in ["x", "x", "y"] {
            let entry = Entry {
                topic: topic(name),
                count: one,
            };
            merge(&mut map, &mut untracked, 7, entry, 10);
        }
        assert_eq!(map.len(), 1);
        assert_eq!(&*map[&7].topic, "x");
        assert_eq!(map[&7].count.messages, 2);
        assert_eq!(untracked, one);
    }

    #[test]
    fn history_is_bounded() {
        let rates = TopicRates::default();
        for _ in 0..HISTORY + 5 {
            rates.rotate(Duration::from_secs(1));
        }
        assert_eq!(
            rates.top(usize::MAX, 1).window,
            Duration::from_secs(HISTORY as u64)
        );
    }
}
