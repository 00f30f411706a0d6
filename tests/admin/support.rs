//! Helpers for the admin tests: an admin client for each protocol version that sends a request
//! and returns the JSON reply.

use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::PubAckReason;
use serde_json::Value;

use super::common::*;

/// Where every admin command lives.
pub const PREFIX: &str = "$CONTROL/robustmq/v1/";

/// A v5 admin client subscribed to its own response topic.
pub struct Admin5 {
    pub client: v5::Client,
    pub reply_topic: String,
    next_correlation: u32,
}

impl Admin5 {
    /// Connects `id` and subscribes to `reply/<id>`.
    pub async fn connect(broker: &TestBroker, id: &str) -> Admin5 {
        Self::connect_with(v5::options(broker, id), id).await
    }

    /// Connects with `options` and subscribes to `reply/<id>`.
    pub async fn connect_with(options: v5::MqttOptions, id: &str) -> Admin5 {
        let (mut client, _) = v5::connect_with(options).await;
        let reply_topic = format!("reply/{id}");
        client.subscribe(&reply_topic, v5::QoS::AtLeastOnce).await;
        Admin5 {
            client,
            reply_topic,
            next_correlation: 1,
        }
    }

    /// Sends `command` with `payload` at QoS 1 and returns the reply (whose Correlation Data
    /// is checked against the request's), its JSON, and the request's PUBACK reason.
    pub async fn request_raw(&mut self, command: &str, payload: &[u8]) -> (v5::Publish, Value, PubAckReason) {
        let correlation = Bytes::from(format!("corr-{}", self.next_correlation));
        self.next_correlation += 1;
        let properties = v5::PublishProperties {
            response_topic: Some(self.reply_topic.clone()),
            correlation_data: Some(correlation.clone()),
            ..Default::default()
        };
        self.client
            .client
            .publish_with_properties(
                format!("{PREFIX}{command}"),
                v5::QoS::AtLeastOnce,
                false,
                payload.to_vec(),
                properties,
            )
            .await
            .unwrap();
        let mut reply = None;
        let mut ack = None;
        while reply.is_none() || ack.is_none() {
            self.client
                .next(|p| match p {
                    v5::Packet::Publish(p) => {
                        reply = Some(p);
                        Some(())
                    }
                    v5::Packet::PubAck(a) => {
                        ack = Some(a.reason);
                        Some(())
                    }
                    _ => None,
                })
                .await;
        }
        let (reply, ack) = (reply.unwrap(), ack.unwrap());
        assert_eq!(std::str::from_utf8(&reply.topic).unwrap(), self.reply_topic);
        let props = reply.properties.clone().unwrap_or_default();
        assert_eq!(
            props.correlation_data,
            Some(correlation),
            "correlation data echoed"
        );
        let value: Value = serde_json::from_slice(&reply.payload)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {:?}", reply.payload));
        (reply, value, ack)
    }

    /// Sends `command` with a JSON request and returns the reply.
    pub async fn request(&mut self, command: &str, request: Value) -> Value {
        self.request_raw(command, request.to_string().as_bytes()).await.1
    }

    /// Sends `command` and returns the reply, panicking if it is an error.
    pub async fn ok(&mut self, command: &str, request: Value) -> Value {
        let reply = self.request(command, request).await;
        assert!(reply.get("error").is_none(), "{command} failed: {reply}");
        reply
    }
}

/// The next PUBACK's reason code from a v5 client.
pub async fn puback(client: &mut v5::Client) -> PubAckReason {
    client
        .next(|p| match p {
            v5::Packet::PubAck(a) => Some(a.reason),
            _ => None,
        })
        .await
}

/// Sends a request from a 3.1.1 client (already subscribed to the response topic) and
/// returns the reply.
pub async fn request_v3(client: &mut v3::Client, command: &str, payload: &[u8]) -> Value {
    client
        .client
        .publish(
            format!("{PREFIX}{command}"),
            v3::QoS::AtLeastOnce,
            false,
            payload.to_vec(),
        )
        .await
        .unwrap();
    let reply = client.publish().await;
    assert_eq!(reply.topic, format!("{PREFIX}{command}/response"));
    serde_json::from_slice(&reply.payload).unwrap_or_else(|e| panic!("reply is not JSON ({e})"))
}

/// The row of `client_id` in a `clients/list` reply.
pub fn client_row<'a>(list: &'a Value, client_id: &str) -> &'a Value {
    list["clients"]
        .as_array()
        .expect("clients array")
        .iter()
        .find(|c| c["client_id"] == client_id)
        .unwrap_or_else(|| panic!("{client_id} not listed: {list}"))
}

/// Repeats `request` until `done` accepts the reply, or panics after [`WAIT`].
pub async fn eventually(
    admin: &mut Admin5,
    command: &str,
    request: Value,
    what: &str,
    mut done: impl FnMut(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let reply = admin.ok(command, request.clone()).await;
        if done(&reply) {
            return reply;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}; last reply {reply}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Unix time now in milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
