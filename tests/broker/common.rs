//! Test harness: an in-process broker on an ephemeral port, rumqttc clients for both protocol
//! versions, and a raw-bytes client for malformed input.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use robustmq::config::{ListenerSettings, Settings};
use robustmq::server::{self, RunningServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long a test waits to be sure something does not happen.
pub const QUIET: Duration = Duration::from_millis(500);

/// A broker running inside the test process.
pub struct TestBroker {
    pub addr: SocketAddr,
    server: Option<RunningServer>,
    _dir: tempfile::TempDir,
}

impl TestBroker {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("running")
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown(Duration::from_secs(2)).await;
        }
    }
}

/// Starts a broker with default settings on 127.0.0.1:0.
pub async fn start() -> TestBroker {
    start_with(|_| {}).await
}

/// Starts a broker after `tweak` adjusts the settings.
pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> TestBroker {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::default();
    settings.server.data_dir = dir.path().to_path_buf();
    settings.listeners = vec![ListenerSettings {
        bind: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    }];
    tweak(&mut settings);
    let server = server::start(&settings).await.expect("broker starts");
    TestBroker {
        addr: server.local_addr(),
        server: Some(server),
        _dir: dir,
    }
}

/// MQTT 3.1.1 client through rumqttc.
pub mod v3 {
    use super::*;
    pub use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Packet, Publish, QoS};

    pub fn options(broker: &TestBroker, id: &str) -> MqttOptions {
        let mut o = MqttOptions::new(id, "127.0.0.1", broker.port());
        o.set_keep_alive(Duration::from_secs(30));
        o
    }

    /// A connected client plus a channel of every incoming packet.
    pub struct Client {
        pub client: AsyncClient,
        pub incoming: mpsc::UnboundedReceiver<Packet>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Client {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    /// Connects and waits for CONNACK; returns the client and the CONNACK.
    pub async fn connect_with(options: MqttOptions) -> (Client, rumqttc::ConnAck) {
        let (client, mut eventloop) = AsyncClient::new(options, 100);
        let (tx, mut rx) = mpsc::unbounded_channel();
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
        let connack = loop {
            match tokio::time::timeout(WAIT, rx.recv()).await {
                Ok(Some(Packet::ConnAck(c))) => break c,
                Ok(Some(_)) => continue,
                other => panic!("no CONNACK: {other:?}"),
            }
        };
        (
            Client {
                client,
                incoming: rx,
                task,
            },
            connack,
        )
    }

    pub async fn connect(broker: &TestBroker, id: &str) -> Client {
        connect_with(options(broker, id)).await.0
    }

    impl Client {
        /// Next packet matching `pick`, within [`WAIT`].
        pub async fn next<T>(&mut self, mut pick: impl FnMut(Packet) -> Option<T>) -> T {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
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
                    panic!("unexpected PUBLISH on {}: {:?}", p.topic, p.payload);
                }
            }
        }

        pub async fn subscribe(
            &mut self,
            filter: &str,
            qos: QoS,
        ) -> Vec<rumqttc::SubscribeReasonCode> {
            self.client.subscribe(filter, qos).await.unwrap();
            self.next(|p| match p {
                Packet::SubAck(s) => Some(s.return_codes),
                _ => None,
            })
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
        ConnAck, ConnectProperties, Filter, LastWill, LastWillProperties, Packet, Publish,
        PublishProperties, RetainForwardRule, SubscribeProperties, SubscribeReasonCode,
    };
    pub use rumqttc::v5::mqttbytes::QoS;
    pub use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};

    pub fn options(broker: &TestBroker, id: &str) -> MqttOptions {
        let mut o = MqttOptions::new(id, "127.0.0.1", broker.port());
        o.set_keep_alive(Duration::from_secs(30));
        o
    }

    pub struct Client {
        pub client: AsyncClient,
        pub incoming: mpsc::UnboundedReceiver<Packet>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Client {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    pub async fn connect_with(options: MqttOptions) -> (Client, ConnAck) {
        let (client, mut eventloop) = AsyncClient::new(options, 100);
        let (tx, mut rx) = mpsc::unbounded_channel();
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
        let connack = loop {
            match tokio::time::timeout(WAIT, rx.recv()).await {
                Ok(Some(Packet::ConnAck(c))) => break c,
                Ok(Some(_)) => continue,
                other => panic!("no CONNACK: {other:?}"),
            }
        };
        (
            Client {
                client,
                incoming: rx,
                task,
            },
            connack,
        )
    }

    pub async fn connect(broker: &TestBroker, id: &str) -> Client {
        connect_with(options(broker, id)).await.0
    }

    impl Client {
        pub async fn next<T>(&mut self, mut pick: impl FnMut(Packet) -> Option<T>) -> T {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
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

        pub async fn publish(&mut self) -> Publish {
            self.next(|p| match p {
                Packet::Publish(p) => Some(p),
                _ => None,
            })
            .await
        }

        pub async fn no_publish(&mut self) {
            let deadline = tokio::time::Instant::now() + QUIET;
            while let Ok(Some(p)) = tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                if let Packet::Publish(p) = p {
                    panic!("unexpected PUBLISH on {:?}: {:?}", p.topic, p.payload);
                }
            }
        }

        pub async fn subscribe(&mut self, filter: &str, qos: QoS) -> Vec<SubscribeReasonCode> {
            self.client.subscribe(filter, qos).await.unwrap();
            self.next(|p| match p {
                Packet::SubAck(s) => Some(s.return_codes),
                _ => None,
            })
            .await
        }

        /// Waits for the broker's DISCONNECT and returns its reason code.
        pub async fn disconnected(&mut self) -> rumqttc::v5::mqttbytes::v5::DisconnectReasonCode {
            self.next(|p| match p {
                Packet::Disconnect(d) => Some(d.reason_code),
                _ => None,
            })
            .await
        }
    }
}

/// A client that speaks raw bytes, for malformed input and exact wire checks.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    pub async fn connect(broker: &TestBroker) -> Raw {
        Raw {
            stream: TcpStream::connect(broker.addr).await.expect("tcp connect"),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads one whole packet (fixed header included); `None` when the broker closed.
    pub async fn packet(&mut self) -> Option<Vec<u8>> {
        let read = async {
            let mut header = [0u8; 1];
            if self.stream.read_exact(&mut header).await.is_err() {
                return None;
            }
            let mut out = vec![header[0]];
            let mut len = 0usize;
            let mut shift = 0;
            loop {
                let mut b = [0u8; 1];
                self.stream.read_exact(&mut b).await.ok()?;
                out.push(b[0]);
                len |= ((b[0] & 0x7f) as usize) << shift;
                shift += 7;
                if b[0] & 0x80 == 0 {
                    break;
                }
            }
            let mut body = vec![0u8; len];
            self.stream.read_exact(&mut body).await.ok()?;
            out.extend_from_slice(&body);
            Some(out)
        };
        tokio::time::timeout(WAIT, read)
            .await
            .expect("broker neither answered nor closed")
    }

    /// Asserts the broker closes the connection (after any packets it sends first, returned).
    pub async fn expect_close(&mut self) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        while let Some(p) = self.packet().await {
            seen.push(p);
            assert!(seen.len() < 100, "broker keeps talking instead of closing");
        }
        seen
    }
}

/// Builds a CONNECT: `level` 4 or 5, with optional clean-start and keep alive.
pub fn connect_packet(level: u8, client_id: &str, keep_alive: u16) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', level, 0x02];
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if level == 5 {
        body.push(0); // no properties
    }
    body.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    body.extend_from_slice(client_id.as_bytes());
    frame(0x10, &body)
}

/// Wraps a body in a fixed header with a correct remaining length.
pub fn frame(header: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![header];
    let mut len = body.len();
    loop {
        let mut b = (len & 0x7f) as u8;
        len >>= 7;
        if len > 0 {
            b |= 0x80;
        }
        out.push(b);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// Connects a raw client at `level` and checks the CONNACK accepts it.
pub async fn raw_connected(broker: &TestBroker, level: u8, client_id: &str) -> Raw {
    let mut raw = Raw::connect(broker).await;
    raw.send(&connect_packet(level, client_id, 60)).await;
    let connack = raw.packet().await.expect("CONNACK");
    assert_eq!(connack[0], 0x20, "CONNACK expected, got {connack:?}");
    let code = if level == 5 { connack[3] } else { connack[3] };
    assert_eq!(code, 0, "connection refused: {connack:?}");
    raw
}
