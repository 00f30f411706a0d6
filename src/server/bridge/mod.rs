//! Bridges: links to upstream brokers, local messages forwarded out and remote ones taken in.
//!
//! A bridge is a client of its remote broker and, on this side, a persistent session of its
//! own (client id `$bridge/<name>`, never expiring) subscribed to the "out" filters. Messages
//! for the remote are queued in that session like any persistent session's, in the store, and
//! leave it only when the remote acknowledges them, so outages of the remote and crashes here
//! lose nothing acknowledged. While the link is up, it is served by the same connection loop
//! as a client's, with the roles of the two peers swapped where they differ: the bridge sends
//! CONNECT, SUBSCRIBE and PINGREQ and takes their answers (see `handler::bridge_side`); PUBLISH and
//! the acknowledgements are the same in both directions. What the remote sends for the "in"
//! filters is published here with the bridge as the publisher, and the bridge's own
//! subscriptions are "no local": nothing that came in through a bridge goes back out through it.

pub mod failure;
pub mod link;
