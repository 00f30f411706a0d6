//! Round trips and damage tests of the record layouts in `record.rs`.

use super::*;

fn full_message() -> StoredMessage {
    StoredMessage {
        topic: "a/b/ü".into(),
        payload: (0..=255).collect(),
        qos: 2,
        retain: true,
        expires_at_ms: Some(1_700_000_000_123),
        publisher: Some("pub-1".into()),
        properties: StoredProperties {
            payload_format_utf8: Some(false),
            content_type: Some("application/json".into()),
            response_topic: Some("reply/here".into()),
            correlation_data: Some(vec![0, 1, 2]),
            user_properties: vec![("k".into(), "v".into()), ("k".into(), "v2".into())],
        },
    }
}

fn bare_message() -> StoredMessage {
    StoredMessage {
        topic: String::new(),
        payload: Vec::new(),
        qos: 0,
        retain: false,
        expires_at_ms: None,
        publisher: None,
        properties: StoredProperties::default(),
    }
}

fn subscription() -> StoredSubscription {
    StoredSubscription {
        filter: "$share/g/a/+".into(),
        qos: 1,
        no_local: true,
        retain_as_published: true,
        retain_handling: 2,
        id: Some(268_435_455),
    }
}

fn session() -> StoredSession {
    StoredSession {
        client_id: "client".into(),
        expiry_interval: u32::MAX,
        offline_since_ms: Some(42),
        subscriptions: Vec::new(),
        will: Some(StoredWill {
            message: full_message(),
            delay_interval: 30,
        }),
        owner: StoredOwner::User("alice".into()),
    }
}

fn delivery(state: DeliveryState) -> StoredDelivery {
    StoredDelivery {
        message: full_message(),
        qos: 1,
        retain: false,
        subscription_ids: vec![1, 7, u32::MAX],
        state,
    }
}

/// A schema 1 session record, laid out as robustmq wrote it before schema 3.
fn legacy_session(session: &StoredSession, with_owner: bool) -> Vec<u8> {
    let mut w = Writer::new(if with_owner { 2 } else { 1 });
    w.str(&session.client_id);
    w.u32(session.expiry_interval);
    w.option(session.offline_since_ms.as_ref(), |w, v| w.u64(*v));
    w.len(session.subscriptions.len());
    for sub in &session.subscriptions {
        w.str(&sub.filter);
        w.subscription_options(sub);
    }
    w.option(session.will.as_ref(), |w, will| {
        w.message(&will.message);
        w.u32(will.delay_interval);
    });
    if with_owner {
        w.owner(&session.owner);
    }
    w.buf
}

#[test]
fn messages_round_trip() {
    for m in [full_message(), bare_message()] {
        assert_eq!(decode_message(&encode_message(&m)), Ok(m));
    }
}

#[test]
fn sessions_round_trip_without_their_subscriptions() {
    let full = session();
    let bare = StoredSession {
        offline_since_ms: None,
        will: None,
        owner: StoredOwner::Unknown,
        ..full.clone()
    };
    let anonymous = StoredSession {
        owner: StoredOwner::Anonymous,
        ..bare.clone()
    };
    for s in [full, bare, anonymous] {
        assert_eq!(decode_session(&encode_session(&s)), Ok(s));
    }
    // Subscriptions are rows of their own: the session record never carries them.
    let subscribed = StoredSession {
        subscriptions: vec![subscription()],
        ..session()
    };
    assert_eq!(encode_session(&subscribed), encode_session(&session()));
}

#[test]
fn subscriptions_round_trip() {
    let sub = subscription();
    let bytes = encode_subscription(&sub);
    assert_eq!(bytes.len(), 10, "options only: the filter is in the key");
    assert_eq!(decode_subscription(&sub.filter, &bytes), Ok(sub));
}

#[test]
fn schema_1_sessions_are_read_with_their_subscriptions_and_owner() {
    let s = StoredSession {
        subscriptions: vec![subscription()],
        ..session()
    };
    assert_eq!(decode_legacy_session(&legacy_session(&s, true)), Ok(s.clone()));
    let unknown = StoredSession {
        owner: StoredOwner::Unknown,
        ..s.clone()
    };
    assert_eq!(decode_legacy_session(&legacy_session(&s, false)), Ok(unknown));
    let anonymous = StoredSession {
        owner: StoredOwner::Anonymous,
        ..s.clone()
    };
    let mut bad_owner = legacy_session(&anonymous, true);
    *bad_owner.last_mut().unwrap() = 9;
    assert_eq!(
        decode_legacy_session(&bad_owner),
        Err(RecordError::Invalid("owner"))
    );
    // A schema 1 record is not a schema 3 one, nor the other way round.
    assert!(matches!(
        decode_session(&legacy_session(&s, true)),
        Err(RecordError::UnknownVersion { found: 2, .. })
    ));
    assert!(decode_legacy_session(&encode_session(&s)).is_err());
}

#[test]
fn deliveries_refer_to_their_message_by_id() {
    for state in [
        DeliveryState::Queued,
        DeliveryState::Sent { packet_id: 1 },
        DeliveryState::Released { packet_id: 65535 },
    ] {
        let d = delivery(state);
        let bytes = encode_delivery(u64::MAX - 3, &d);
        assert!(bytes.len() < 30, "{} bytes: no message inside", bytes.len());
        let record = decode_delivery(&bytes).unwrap();
        assert_eq!(record.message_id, u64::MAX - 3);
        assert_eq!(record.with_message(full_message()), d);
    }
}

#[test]
fn schema_1_deliveries_hold_their_message() {
    let d = delivery(DeliveryState::Sent { packet_id: 9 });
    let mut w = Writer::new(RECORD_VERSION);
    w.message(&d.message);
    w.delivery_fields(d.qos, d.retain, &d.subscription_ids, d.state);
    assert_eq!(decode_legacy_delivery(&w.buf), Ok(d));
}

#[test]
fn retained_records_and_incoming_qos2_round_trip() {
    assert_eq!(decode_retained(&encode_retained(7)), Ok(7));
    assert_eq!(decode_incoming_qos2(&encode_incoming_qos2()), Ok(()));
}

#[test]
fn unknown_version_is_refused() {
    let mut bytes = encode_session(&session());
    bytes[0] = 4;
    assert_eq!(
        decode_session(&bytes),
        Err(RecordError::UnknownVersion {
            found: 4,
            expected: 3
        })
    );
    assert_eq!(decode_message(&[]), Err(RecordError::Empty));
}

#[test]
fn every_truncation_and_trailing_byte_is_refused() {
    let bytes = encode_session(&session());
    for len in 0..bytes.len() {
        assert!(decode_session(&bytes[..len]).is_err(), "prefix of {len} bytes");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(decode_session(&longer), Err(RecordError::Trailing(1)));
}

#[test]
fn damaged_bytes_never_panic_or_over_allocate() {
    let s = StoredSession {
        subscriptions: vec![subscription()],
        ..session()
    };
    let records = [
        legacy_session(&s, true),
        encode_session(&s),
        encode_delivery(3, &delivery(DeliveryState::Sent { packet_id: 9 })),
        encode_message(&full_message()),
    ];
    // Flip every bit once: each decode must return, Ok or Err, without panicking.
    for bytes in records {
        for i in 1..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] ^= 1 << bit;
                let _ = decode_legacy_session(&damaged);
                let _ = decode_session(&damaged);
                let _ = decode_delivery(&damaged);
                let _ = decode_legacy_delivery(&damaged);
                let _ = decode_message(&damaged);
            }
        }
    }
    // A huge declared length is refused rather than allocated.
    let huge = [
        RECORD_VERSION,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0x7f,
    ];
    assert_eq!(decode_message(&huge), Err(RecordError::Invalid("topic")));
}
