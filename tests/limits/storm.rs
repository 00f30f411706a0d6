//! Connection storms: a listener paces accepting by the connections that have not sent
//! CONNECT yet, and the listen backlog holds the rest, instead of refusing.

use std::time::Duration;

use robustmq::server::listener::MAX_PENDING;
use robustmq::server::metrics::get;

use crate::common::*;

#[tokio::test]
async fn a_listener_waits_while_max_pending_connections_have_not_sent_connect() {
    // MAX_PENDING connections that send nothing fill the listener's slots for connections
    // before CONNECT; the next one waits in the listen backlog, neither refused nor
    // answered, until one of them has sent its CONNECT.
    let broker = start_with(|s| s.limits.connect_timeout = Duration::from_secs(60)).await;
    let mut silent = Vec::new();
    for _ in 0..MAX_PENDING {
        silent.push(Raw::connect(broker.addr).await);
    }
    let mut waiting = Raw::connect(broker.addr).await;
    waiting.send(&connect_packet(5, "waiting", 60, None)).await;
    assert!(
        waiting.packet_within_quiet().await.is_none(),
        "answered while {MAX_PENDING} connections had not sent CONNECT"
    );

    let mut first = silent.remove(0);
    first.send(&connect_packet(4, "first", 60, None)).await;
    assert_eq!(Connack::parse(4, &first.next_of(2).await).code, 0);
    // Its slot is the waiting one's now.
    assert_eq!(Connack::parse(5, &waiting.next_of(2).await).code, 0);
    assert_eq!(get(&broker.metrics().clients_connected), 2);
    assert_eq!(broker.limits().connections_refused, 0);
    assert_eq!(broker.limits().connection_rate_refused, 0);
    drop(silent);
    broker.stop().await;
}
