//! The header every bench message starts with: who sent it, its sequence number and when.
//!
//! Layout (28 bytes, big-endian): magic `RB`, format 1, clock, run id (u32), publisher id (u32),
//! sequence number (u64), send time in nanoseconds (u64). The rest of the payload is filler.
//! A receiver uses the run and publisher ids to tell streams apart, the sequence number to count
//! lost, duplicated and reordered messages, and the send time for end-to-end latency.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};

/// Bytes taken by the header; the smallest payload a bench message can have.
pub const HEADER_LEN: usize = 28;
const MAGIC: [u8; 2] = *b"RB";
const FORMAT: u8 = 1;
/// The byte the payload is padded with after the header.
const FILLER: u8 = b'x';

/// Which clock a send time was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Clock {
    /// Nanoseconds since an epoch private to the sending process: monotonic and exact, but only
    /// comparable inside that process (`bench pubsub`, where sender and receiver are one process).
    Process = 0,
    /// Nanoseconds since the Unix epoch: comparable between processes (`bench pub` and `bench sub`
    /// run separately), as exact as the two clocks agree; on one host they are the same clock.
    Wall = 1,
}

impl Clock {
    /// Now, in nanoseconds, on this clock.
    pub fn now_ns(self) -> u64 {
        match self {
            Clock::Process => process_epoch().elapsed().as_nanos() as u64,
            Clock::Wall => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        }
    }

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Clock::Process => "process",
            Clock::Wall => "wall",
        }
    }
}

/// The instant process-clock times count from, fixed the first time it is asked for.
pub fn process_epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The decoded header of a bench message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Clock of `sent_ns`.
    pub clock: Clock,
    /// Random id of the bench process that sent the message.
    pub run: u32,
    /// Index of the publisher within its run.
    pub publisher: u32,
    /// Sequence number within the publisher, from 0.
    pub seq: u64,
    /// Send time, nanoseconds on `clock`.
    pub sent_ns: u64,
}

impl Header {
    /// The stream the message belongs to: run and publisher in one number.
    pub fn stream(&self) -> u64 {
        (u64::from(self.run) << 32) | u64::from(self.publisher)
    }

    /// Reads the header at the start of `payload`; `None` if it is not a bench message.
    pub fn decode(payload: &[u8]) -> Option<Header> {
        if payload.len() < HEADER_LEN || payload[..2] != MAGIC || payload[2] != FORMAT {
            return None;
        }
        let clock = match payload[3] {
            0 => Clock::Process,
            1 => Clock::Wall,
            _ => return None,
        };
        let u32_at = |i: usize| u32::from_be_bytes(payload[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_be_bytes(payload[i..i + 8].try_into().expect("8 bytes"));
        Some(Header {
            clock,
            run: u32_at(4),
            publisher: u32_at(8),
            seq: u64_at(12),
            sent_ns: u64_at(20),
        })
    }

    /// Appends the header and `size - HEADER_LEN` filler bytes to `buf`.
    pub fn write(&self, size: usize, buf: &mut BytesMut) {
        buf.reserve(size.max(HEADER_LEN));
        buf.put_slice(&MAGIC);
        buf.put_u8(FORMAT);
        buf.put_u8(self.clock as u8);
        buf.put_u32(self.run);
        buf.put_u32(self.publisher);
        buf.put_u64(self.seq);
        buf.put_u64(self.sent_ns);
        buf.put_bytes(FILLER, size.saturating_sub(HEADER_LEN));
    }
}

/// Builds payloads without allocating per message: each payload is split off one buffer, whose
/// memory is reused once the previous payload has been encoded and dropped.
#[derive(Debug, Default)]
pub struct PayloadWriter {
    buf: BytesMut,
}

impl PayloadWriter {
    /// A payload of `size` bytes starting with `header`.
    pub fn payload(&mut self, header: &Header, size: usize) -> Bytes {
        header.write(size, &mut self.buf);
        self.buf.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = Header {
            clock: Clock::Wall,
            run: 0xdead_beef,
            publisher: 7,
            seq: 1 << 40,
            sent_ns: 123_456_789,
        };
        let mut w = PayloadWriter::default();
        let p = w.payload(&h, 64);
        assert_eq!(p.len(), 64);
        assert_eq!(Header::decode(&p), Some(h));
        assert_eq!(h.stream(), (0xdead_beef << 32) | 7);
        let short = w.payload(&h, 3);
        assert_eq!(short.len(), HEADER_LEN);
    }

    #[test]
    fn foreign_payloads_are_not_headers() {
        assert_eq!(Header::decode(b"hello"), None);
        assert_eq!(Header::decode(&[b'R'; 40]), None);
    }

    #[test]
    fn clocks_advance() {
        let a = Clock::Process.now_ns();
        let b = Clock::Process.now_ns();
        assert!(b >= a);
        assert!(Clock::Wall.now_ns() > 1_600_000_000 * 1_000_000_000);
    }
}
