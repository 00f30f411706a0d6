//! rumqttc clients of an in-process broker, for both protocol versions: connected (or
//! refused), with every incoming packet on a channel a test reads with a timeout.

// Each test directory includes this file as a module of its own, and few use every function
// or every rumqttc type re-exported for them.
#![allow(dead_code, unused_imports)]

use std::time::Duration;

use tokio::sync::mpsc;

use super::in_process::TestBroker;

/// How long a client waits for a packet that should come (a refused login takes 1 s).
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a client waits to be sure a packet does not come.
pub const QUIET: Duration = Duration::from_millis(500);

/// The first packet on `incoming` that `pick` takes, within [`WAIT`]; those it passes over are
/// dropped.
async fn next<P, T>(incoming: &mut mpsc::UnboundedReceiver<P>, mut pick: impl FnMut(P) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, incoming.recv()).await {
            Ok(Some(p)) => {
                if let Some(t) = pick(p) {
                    return t;
                }
            }
            Ok(None) => panic!("connection closed while waiting"),
            Err(_) => panic!("timed out waiting for a packet"),
        }
    }
}

/// What the 3.1.1 and 5.0 clients have alike, written once: `connect`, `connect_as` and the
/// `Client` methods whose rumqttc types differ only by module (each module's `Packet`, `QoS`,
/// `Publish` ... are the ones in scope where it expands).
macro_rules! shared_client {
    () => {
        pub async fn connect(broker: &TestBroker, id: &str) -> Client {
            connect_with(options(broker, id)).await.0
        }

        /// Connects with `login` and expects success.
        pub async fn connect_as(broker: &TestBroker, id: &str, login: Option<(&str, &str)>) -> Client {
            connect_with(login_options(broker, id, login)).await.0
        }

        impl Client {
            /// Next packet matching `pick`, within [`WAIT`].
            pub async fn next<T>(&mut self, pick: impl FnMut(Packet) -> Option<T>) -> T {
                next(&mut self.incoming, pick).await
            }

            pub async fn publish(&mut self) -> Publish {
                self.next(|p| match p {
                    Packet::Publish(p) => Some(p),
                    _ => None,
                })
                .await
            }

            /// Asserts no PUBLISH arrives within [`QUIET`].
            pub async fn no_publish(&mut self) {
                let deadline = tokio::time::Instant::now() + QUIET;
                while let Ok(Some(p)) = tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                    if let Packet::Publish(p) = p {
                        panic!("unexpected PUBLISH on {:?}: {:?}", p.topic, p.payload);
                    }
                }
            }

            /// Every PUBLISH that arrives until none has arrived for [`QUIET`].
            pub async fn publishes_until_quiet(&mut self) -> Vec<Publish> {
                let mut out = Vec::new();
                while let Ok(Some(p)) = tokio::time::timeout(QUIET, self.incoming.recv()).await {
                    if let Packet::Publish(p) = p {
                        out.push(p);
                    }
                }
                out
            }

            pub async fn subscribe(&mut self, filter: &str, qos: QoS) -> Vec<SubscribeReasonCode> {
                self.client.subscribe(filter, qos).await.unwrap();
                self.next(|p| match p {
                    Packet::SubAck(s) => Some(s.return_codes),
                    _ => None,
                })
                .await
            }

            /// Publishes and, for QoS 1/2, waits for the PUBACK/PUBCOMP, so the broker has routed it.
            pub async fn publish_acked(&mut self, topic: &str, qos: QoS, retain: bool, payload: &[u8]) {
                self.client
                    .publish(topic, qos, retain, payload.to_vec())
                    .await
                    .unwrap();
                match qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => {
                        self.next(|p| matches!(p, Packet::PubAck(_)).then_some(()))
                            .await
                    }
                    QoS::ExactlyOnce => {
                        self.next(|p| matches!(p, Packet::PubComp(_)).then_some(()))
                            .await
                    }
                }
            }
        }
    };
}

/// MQTT 3.1.1 client through rumqttc.
pub mod v3 {
    use super::*;
    pub use rumqttc::{
        AsyncClient, ConnAck, ConnectReturnCode, ConnectionError, Event, LastWill, MqttOptions, Packet,
        Publish, QoS, SubscribeReasonCode,
    };

    pub fn options(broker: &TestBroker, id: &str) -> MqttOptions {
        options_on(broker.port(), id)
    }

    /// Options for a client `id` of the broker on 127.0.0.1:`port`.
    pub fn options_on(port: u16, id: &str) -> MqttOptions {
        login_options_on(port, id, None)
    }

    /// Options for a client `id`, with credentials when `login` is given.
    pub fn login_options(broker: &TestBroker, id: &str, login: Option<(&str, &str)>) -> MqttOptions {
        login_options_on(broker.port(), id, login)
    }

    pub fn login_options_on(port: u16, id: &str, login: Option<(&str, &str)>) -> MqttOptions {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(30));
        if let Some((user, password)) = login {
            o.set_credentials(user, password);
        }
        o
    }

    /// A connected client plus a channel of every incoming packet.
    pub struct Client {
        pub client: AsyncClient,
        pub incoming: mpsc::UnboundedReceiver<Packet>,
        pub session_present: bool,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Client {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    /// Connects; the CONNACK's return code when the broker refuses.
    pub async fn try_connect(options: MqttOptions) -> Result<Client, ConnectReturnCode> {
        try_connect_with(options).await.map(|(client, _)| client)
    }

    /// Connects and waits for CONNACK; panics if the broker refuses.
    pub async fn connect_with(options: MqttOptions) -> (Client, ConnAck) {
        let id = options.client_id();
        try_connect_with(options)
            .await
            .unwrap_or_else(|code| panic!("{id}: connection refused: {code:?}"))
    }

    async fn try_connect_with(options: MqttOptions) -> Result<(Client, ConnAck), ConnectReturnCode> {
        let (client, mut eventloop) = AsyncClient::new(options, 100);
        let connack = loop {
            match tokio::time::timeout(WAIT, eventloop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::ConnAck(c)))) => break c,
                Ok(Ok(_)) => continue,
                Ok(Err(ConnectionError::ConnectionRefused(code))) => return Err(code),
                other => panic!("no CONNACK: {other:?}"),
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(p)) => {
                        if tx.send(p).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
        let client = Client {
            client,
            incoming: rx,
            session_present: connack.session_present,
            task,
        };
        Ok((client, connack))
    }

    shared_client!();

    impl Client {
        /// Publishes at QoS 1 and waits for the PUBACK (a 3.1.1 PUBACK has no reason to return).
        pub async fn publish_qos1(&mut self, topic: &str, payload: &str) {
            self.publish_acked(topic, QoS::AtLeastOnce, false, payload.as_bytes())
                .await
        }

        /// Waits until the connection is gone (the channel closes).
        pub async fn closed(&mut self) {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                    Ok(Some(_)) => continue,
                    Ok(None) => return,
                    Err(_) => panic!("connection still open"),
                }
            }
        }
    }
}

/// MQTT 5 client through rumqttc.
pub mod v5 {
    use super::*;
    pub use rumqttc::v5::mqttbytes::v5::{
        ConnAck, ConnectReturnCode, Disconnect, DisconnectReasonCode, Filter, LastWill, LastWillProperties,
        Packet, PubAckReason, Publish, PublishProperties, RetainForwardRule, SubscribeProperties,
        SubscribeReasonCode,
    };
    pub use rumqttc::v5::mqttbytes::QoS;
    pub use rumqttc::v5::{AsyncClient, ConnectionError, Event, MqttOptions, StateError};

    pub fn options(broker: &TestBroker, id: &str) -> MqttOptions {
        options_on(broker.port(), id)
    }

    /// Options for a client `id` of the broker on 127.0.0.1:`port`.
    pub fn options_on(port: u16, id: &str) -> MqttOptions {
        login_options_on(port, id, None)
    }

    /// Options for a client `id`, with credentials when `login` is given.
    pub fn login_options(broker: &TestBroker, id: &str, login: Option<(&str, &str)>) -> MqttOptions {
        login_options_on(broker.port(), id, login)
    }

    pub fn login_options_on(port: u16, id: &str, login: Option<(&str, &str)>) -> MqttOptions {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(30));
        if let Some((user, password)) = login {
            o.set_credentials(user, password);
        }
        o
    }

    /// A connected client plus a channel of every incoming packet.
    pub struct Client {
        pub client: AsyncClient,
        pub incoming: mpsc::UnboundedReceiver<Packet>,
        pub session_present: bool,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Client {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    /// Connects; the CONNACK's reason code when the broker refuses.
    pub async fn try_connect(options: MqttOptions) -> Result<Client, ConnectReturnCode> {
        try_connect_with(options).await.map(|(client, _)| client)
    }

    /// Connects and waits for CONNACK; panics if the broker refuses.
    pub async fn connect_with(options: MqttOptions) -> (Client, ConnAck) {
        let id = options.client_id();
        try_connect_with(options)
            .await
            .unwrap_or_else(|code| panic!("{id}: connection refused: {code:?}"))
    }

    async fn try_connect_with(options: MqttOptions) -> Result<(Client, ConnAck), ConnectReturnCode> {
        let (client, mut eventloop) = AsyncClient::new(options, 100);
        let connack = loop {
            match tokio::time::timeout(WAIT, eventloop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::ConnAck(c)))) => break c,
                Ok(Ok(_)) => continue,
                Ok(Err(ConnectionError::ConnectionRefused(code))) => return Err(code),
                other => panic!("no CONNACK: {other:?}"),
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(p)) => {
                        if tx.send(p).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    // rumqttc reports the broker's DISCONNECT as an error; hand it on as the packet.
                    Err(ConnectionError::MqttState(StateError::ServerDisconnect { reason_code, .. })) => {
                        let _ = tx.send(Packet::Disconnect(Disconnect {
                            reason_code,
                            properties: None,
                        }));
                        return;
                    }
                    Err(_) => return,
                }
            }
        });
        let client = Client {
            client,
            incoming: rx,
            session_present: connack.session_present,
            task,
        };
        Ok((client, connack))
    }

    shared_client!();

    impl Client {
        /// Publishes at QoS 1 and returns the PUBACK's reason.
        pub async fn publish_qos1(&mut self, topic: &str, payload: &str) -> PubAckReason {
            self.client
                .publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
                .await
                .unwrap();
            self.next(|p| match p {
                Packet::PubAck(a) => Some(a.reason),
                _ => None,
            })
            .await
        }

        /// Waits for the broker's DISCONNECT and returns its reason code.
        pub async fn disconnected(&mut self) -> DisconnectReasonCode {
            self.next(|p| match p {
                Packet::Disconnect(d) => Some(d.reason_code),
                _ => None,
            })
            .await
        }
    }
}
