//! The client library itself (`robustmq::client`, which `bench` will drive hard): pipelined
//! publishes within the window, every QoS 1/2 flow completed, in order.

use std::sync::Arc;

use bytes::Bytes;
use robustmq::client::{Client, ConnectOptions, Event};
use robustmq::protocol::{Disconnect, Publish, QoS, SubscriptionOptions, Version};

use super::harness::{Broker, Kind};

const MESSAGES: u32 = 2000;

async fn pipeline(port: u16, version: Version, qos: QoS) {
    let options = |inflight| {
        let mut o = ConnectOptions::new("127.0.0.1", port, version);
        o.client_id = Arc::from(format!("pipe-{}-{inflight}", version.level()));
        o.inflight = inflight;
        o
    };
    let (mut sub, _) = Client::connect(&options(100)).await.unwrap();
    let filter = (
        Arc::from("pipe"),
        SubscriptionOptions {
            qos,
            ..Default::default()
        },
    );
    sub.subscribe(vec![filter]).unwrap();
    assert!(matches!(sub.poll().await.unwrap(), Event::Subscribed(_)));

    let (mut publisher, _) = Client::connect(&options(16)).await.unwrap();
    assert_eq!(publisher.window(), 16);
    let mut message = Publish {
        dup: false,
        qos,
        retain: false,
        topic: Arc::from("pipe"),
        packet_id: 0,
        payload: Bytes::new(),
        properties: Default::default(),
        topic_alias: None,
        subscription_ids: Vec::new(),
    };
    let (mut sent, mut acked, mut received) = (0u32, 0u32, 0u32);
    while received < MESSAGES {
        while sent < MESSAGES && publisher.can_publish() {
            message.payload = Bytes::from(sent.to_be_bytes().to_vec());
            publisher.publish(&mut message).unwrap();
            sent += 1;
        }
        assert!(publisher.unacknowledged() <= 16);
        tokio::select! {
            event = publisher.poll(), if acked < sent => match event.unwrap() {
                Event::Acked(a) => {
                    assert!(a.is_success(), "{a:?}");
                    acked += 1;
                }
                other => panic!("unexpected {other:?}"),
            },
            event = sub.poll() => match event.unwrap() {
                Event::Message(m) => {
                    assert_eq!(m.payload.as_ref(), received.to_be_bytes(), "in order");
                    assert_eq!(m.qos, qos);
                    received += 1;
                }
                other => panic!("unexpected {other:?}"),
            },
        }
    }
    while acked < sent {
        assert!(matches!(publisher.poll().await.unwrap(), Event::Acked(_)));
        acked += 1;
    }
    assert_eq!((publisher.unacknowledged(), publisher.outstanding()), (0, 0));
    publisher.disconnect(Disconnect::default()).await.unwrap();
    sub.disconnect(Disconnect::default()).await.unwrap();
}

fn pipelined_publishes(kind: Kind) {
    let broker = Broker::start(kind);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for version in [Version::V5, Version::V3_1_1] {
        for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
            runtime.block_on(pipeline(broker.port(), version, qos));
        }
    }
}

#[test]
fn pipelined_publishes_robustmq() {
    pipelined_publishes(Kind::Robustmq);
}

#[test]
fn pipelined_publishes_mosquitto() {
    pipelined_publishes(Kind::Mosquitto);
}

/// The window never exceeds what the broker's CONNACK allows (robustmq announces 100).
#[test]
fn window_is_capped_by_the_broker_receive_maximum() {
    let broker = Broker::start(Kind::Robustmq);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut options = ConnectOptions::new("127.0.0.1", broker.port(), Version::V5);
        options.inflight = 1000;
        let (client, connack) = Client::connect(&options).await.unwrap();
        assert_eq!(connack.properties.receive_maximum, Some(100));
        assert_eq!(client.window(), 100);
        assert!(
            !client.client_id().is_empty(),
            "the broker assigns an id to an empty one"
        );
    });
}
