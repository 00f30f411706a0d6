//! One connection to a broker: the socket under a [`Session`], and a cancel-safe
//! [`Client::poll`] that writes what the session has to send, reads into it and runs its
//! keep-alive timer.
//!
//! Nothing here spawns a task or uses a channel. `publish`, `subscribe` and `unsubscribe` only
//! encode into the session's write buffer (so a caller can pipeline as many publishes as the
//! window allows, and they leave in as few writes as the socket takes); `poll` and `flush` move
//! bytes. What a packet means is decided in [`super::session`], which does no I/O.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{sleep_until, timeout, Instant};

use super::error::ClientError;
use super::options::ConnectOptions;
use super::session::Session;
pub use super::session::{Acked, Event};
use super::socket::{open_stream, Stream};
use super::tls;
use crate::protocol::{Connack, Disconnect, Publish, SubscriptionOptions, Version};

/// How long `disconnect` waits for the broker to close its side.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A connected MQTT client.
pub struct Client {
    stream: Stream,
    session: Session,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.session.address())
            .field("version", &self.session.version())
            .field("client_id", self.session.client_id())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects, sends CONNECT and waits for a successful CONNACK, each step within
    /// `opts.connect_timeout`. A refusal is [`ClientError::Refused`].
    pub async fn connect(opts: &ConnectOptions) -> Result<(Client, Connack), ClientError> {
        let address = opts.address();
        let stream = match timeout(opts.connect_timeout, open_stream(opts, &address)).await {
            Ok(stream) => stream?,
            Err(_) => {
                return Err(ClientError::Connect {
                    address,
                    detail: "timed out".into(),
                })
            }
        };
        let stream = match (stream, &opts.tls) {
            (Stream::Tcp(stream), Some(config)) => {
                let name = tls::server_name(&opts.host).map_err(|e| ClientError::Tls {
                    address: address.clone(),
                    detail: e.to_string(),
                })?;
                let connector = tokio_rustls::TlsConnector::from(config.clone());
                match timeout(opts.connect_timeout, connector.connect(name, stream)).await {
                    Ok(Ok(tls)) => {
                        let (rd, wr) = tokio::io::split(tls);
                        Stream::Tls(rd, wr)
                    }
                    Ok(Err(e)) => {
                        return Err(ClientError::Tls {
                            address,
                            detail: tls::describe_failure(&e, &opts.host),
                        })
                    }
                    Err(_) => {
                        return Err(ClientError::Timeout {
                            what: "the TLS handshake",
                            address,
                            after: opts.connect_timeout,
                        })
                    }
                }
            }
            (stream, _) => stream,
        };
        let session = Session::new(opts, Instant::now().into_std())?;
        let mut client = Client { stream, session };
        let connack = match timeout(opts.connect_timeout, client.read_connack()).await {
            Ok(connack) => connack?,
            Err(_) => {
                return Err(ClientError::Timeout {
                    what: "CONNACK",
                    address,
                    after: opts.connect_timeout,
                })
            }
        };
        Ok((client, connack))
    }

    async fn read_connack(&mut self) -> Result<Connack, ClientError> {
        loop {
            if let Some(connack) = self.session.connack()? {
                return Ok(connack);
            }
            self.fill().await?;
        }
    }

    /// The client identifier: ours, or the one the broker assigned.
    pub fn client_id(&self) -> &Arc<str> {
        self.session.client_id()
    }

    /// The protocol version of the connection.
    pub fn version(&self) -> Version {
        self.session.version()
    }

    /// `host:port` of the broker.
    pub fn address(&self) -> &str {
        self.session.address()
    }

    /// True when a QoS 1/2 publish fits in the window now.
    pub fn can_publish(&self) -> bool {
        self.session.can_publish()
    }

    /// The window: our `inflight` option, lowered to the broker's receive maximum.
    pub fn window(&self) -> usize {
        self.session.window()
    }

    /// QoS 1/2 publishes sent and not yet complete.
    pub fn unacknowledged(&self) -> usize {
        self.session.unacknowledged()
    }

    /// Packets of ours still waiting for an answer (publishes, subscribes, unsubscribes).
    pub fn outstanding(&self) -> usize {
        self.session.outstanding()
    }

    /// Bytes queued and not yet written.
    pub fn buffered(&self) -> usize {
        self.session.buffered()
    }

    /// Queues a PUBLISH. At QoS 1/2 it takes a packet identifier (written into
    /// `message.packet_id`, so one `Publish` can be reused without allocating) and a place in
    /// the window: check [`Client::can_publish`] first. Returns the packet identifier (0 at QoS 0).
    pub fn publish(&mut self, message: &mut Publish) -> Result<u16, ClientError> {
        self.session.publish(message)
    }

    /// Queues a SUBSCRIBE; its answer comes from [`Client::poll`] as [`Event::Subscribed`].
    pub fn subscribe(&mut self, filters: Vec<(Arc<str>, SubscriptionOptions)>) -> Result<u16, ClientError> {
        self.session.subscribe(filters)
    }

    /// Queues an UNSUBSCRIBE; its answer comes as [`Event::Unsubscribed`].
    pub fn unsubscribe(&mut self, filters: Vec<Arc<str>>) -> Result<u16, ClientError> {
        self.session.unsubscribe(filters)
    }

    /// Writes, reads and answers the broker until there is an [`Event`].
    ///
    /// Cancel-safe: dropping the future (in a `select!`) loses nothing; call it again.
    pub async fn poll(&mut self) -> Result<Event, ClientError> {
        loop {
            if let Some(event) = self.session.next_event()? {
                return Ok(event);
            }
            self.fill().await?;
        }
    }

    /// Writes everything queued (reading meanwhile, so a broker that is writing to us is never
    /// stuck). Cancel-safe.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        while self.session.buffered() > 0 {
            self.fill().await?;
        }
        Ok(())
    }

    /// Sends DISCONNECT, flushes, and waits briefly for the broker to close its side, so that
    /// nothing queued is lost to a reset.
    pub async fn disconnect(mut self, disconnect: Disconnect) -> Result<(), ClientError> {
        self.session.disconnect(disconnect)?;
        self.flush().await?;
        let read = self.session.read_buffer();
        let _ = timeout(CLOSE_WAIT, async {
            match &mut self.stream {
                Stream::Tcp(stream) => {
                    let (mut rd, mut wr) = stream.split();
                    drain_after_shutdown(&mut rd, &mut wr, read).await
                }
                #[cfg(unix)]
                Stream::Unix(stream) => {
                    let (mut rd, mut wr) = stream.split();
                    drain_after_shutdown(&mut rd, &mut wr, read).await
                }
                Stream::Tls(rd, wr) => drain_after_shutdown(rd, wr, read).await,
            }
        })
        .await;
        Ok(())
    }

    /// One round of I/O: a read, a write or a keep-alive step, whichever comes first.
    async fn fill(&mut self) -> Result<(), ClientError> {
        let deadline = self.session.keepalive_deadline().map(Instant::from_std);
        let (read, write) = self.session.buffers();
        let outcome = match &mut self.stream {
            Stream::Tcp(stream) => {
                let (mut rd, mut wr) = stream.split();
                io_round(&mut rd, &mut wr, read, write, deadline).await
            }
            #[cfg(unix)]
            Stream::Unix(stream) => {
                let (mut rd, mut wr) = stream.split();
                io_round(&mut rd, &mut wr, read, write, deadline).await
            }
            Stream::Tls(rd, wr) => io_round(rd, wr, read, write, deadline).await,
        };
        match outcome {
            Round::Read(Ok(0)) => Err(self.session.closed()),
            Round::Read(Ok(_)) => Ok(()),
            Round::Wrote(Ok(n)) => {
                self.session.sent(n, Instant::now().into_std());
                Ok(())
            }
            Round::Read(Err(e)) | Round::Wrote(Err(e)) => Err(self.lost(e)),
            Round::Deadline => self.session.keepalive_due(Instant::now().into_std()),
        }
    }

    fn lost(&mut self, e: std::io::Error) -> ClientError {
        if tls::is_tls_error(&e) {
            // With TLS 1.3 a refused client certificate shows up on the first read.
            return ClientError::Tls {
                address: self.session.address().to_owned(),
                detail: tls::describe_failure(&e, self.session.address()),
            };
        }
        match ClientError::io(e) {
            ClientError::Closed => self.session.closed(),
            other => other,
        }
    }
}

/// What one round of I/O did.
enum Round {
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
    Deadline,
}

/// A read, a write (if there is something to write) or the keep-alive deadline, whichever
/// comes first. Cancel-safe: a read lands in `read` only when it completes, and what a write
/// took is reported back so the session drops exactly that.
async fn io_round<R, W>(
    rd: &mut R,
    wr: &mut W,
    read: &mut BytesMut,
    write: &[u8],
    deadline: Option<Instant>,
) -> Round
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let writing = !write.is_empty();
    tokio::select! {
        r = rd.read_buf(read) => Round::Read(r),
        w = wr.write(write), if writing => Round::Wrote(w),
        () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => Round::Deadline,
    }
}

/// Closes our side and reads until the broker closes its own, so nothing queued is lost to a reset.
async fn drain_after_shutdown<R, W>(rd: &mut R, wr: &mut W, read: &mut BytesMut)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let _ = wr.shutdown().await;
    loop {
        read.clear();
        match rd.read_buf(read).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
