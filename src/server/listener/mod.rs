//! Listeners: bind each configured socket (MQTT over TCP, TLS, WebSocket, WebSocket over TLS,
//! or a Unix socket) and accept connections until shutdown, each holding connection permits
//! (global and per listener) and admitted by the connection rate, doing its TLS or WebSocket
//! handshake within the connect timeout, then served as MQTT.
//!
//! A storm of connections is paced, not refused: a listener takes a new connection only while
//! fewer than [`MAX_PENDING`] of its connections are still before their CONNECT, and the
//! kernel's listen backlog holds the rest until then. A connection over a limit gets a CONNACK
//! that says which, so that a client can tell a full broker from a broken network.

pub mod anonymous;
pub mod tls;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Semaphore;

use super::connection::{self, Admission, SocketHandle, Split};
use super::context::{ListenerContext, SharedContext};
use super::handler::connect::AtLimit;
use super::metrics::add;
use super::peer::Peer;
use super::rate::ConnectionRate;
use super::ServerError;
use crate::config::{ListenerProtocol, ListenerSettings};
use tls::Tls;

/// The URL path of a WebSocket listener that names none.
pub const DEFAULT_WS_PATH: &str = "/mqtt";

/// Connections a TCP listener's backlog holds before the kernel stops completing handshakes
/// (it caps this at `net.core.somaxconn`, 4096 on current Linux): room for a fleet that
/// reconnects at once while the broker takes them [`MAX_PENDING`] at a time.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Connections of one listener that may be accepted and not have sent CONNECT yet (TLS or
/// WebSocket handshake included). Past it the listener stops accepting until one has: each
/// costs memory (a TLS handshake tens of KiB) and CPU, and a storm of them started at once
/// would make every one of them slow.
pub const MAX_PENDING: usize = 256;

/// Connections of one listener that may be over a limit at once and waiting for their CONNECT,
/// to be told why in a CONNACK. Past it one over a limit is closed at once (and counted all
/// the same): refusing must not cost more than serving.
pub const MAX_REFUSING: usize = 64;

/// What runs on top of the accepted socket.
#[derive(Debug, Clone)]
pub enum Transport {
    /// MQTT straight on the socket.
    Plain,
    /// MQTT in TLS.
    Tls(Arc<Tls>),
    /// MQTT in WebSocket binary frames, upgraded at `path`.
    Ws {
        /// URL path.
        path: Arc<str>,
    },
    /// MQTT in WebSocket in TLS.
    Wss {
        /// TLS setup.
        tls: Arc<Tls>,
        /// URL path.
        path: Arc<str>,
    },
}

impl Transport {
    /// The TLS setup, if the transport has one (for reloading).
    pub fn tls(&self) -> Option<&Arc<Tls>> {
        match self {
            Transport::Tls(tls) | Transport::Wss { tls, .. } => Some(tls),
            Transport::Plain | Transport::Ws { .. } => None,
        }
    }
}

/// The socket a listener accepts on.
#[derive(Debug)]
enum Socket {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

/// A bound listener, ready to run.
#[derive(Debug)]
pub struct Bound {
    socket: Socket,
    /// The transport.
    pub transport: Transport,
    /// The bound address (the real port when the configuration said 0); `None` for a Unix socket.
    pub local: Option<SocketAddr>,
    /// The socket file of a Unix listener, removed at shutdown.
    pub unix_path: Option<PathBuf>,
    /// `mqtt`, `mqtts`, `ws`, `wss` or `unix`, for log lines.
    pub protocol: ListenerProtocol,
}

impl Bound {
    /// `127.0.0.1:1883` or `/run/robustmq.sock`, for log lines.
    pub fn describe(&self) -> String {
        match (&self.local, &self.unix_path) {
            (Some(addr), _) => addr.to_string(),
            (None, Some(path)) => path.display().to_string(),
            (None, None) => "?".into(),
        }
    }

    /// Whether only this machine can connect: a loopback address or a Unix socket.
    pub fn is_local(&self) -> bool {
        match self.local {
            Some(addr) => addr.ip().is_loopback(),
            None => true,
        }
    }
}

/// Binds listener `index` as configured.
pub async fn bind(index: usize, l: &ListenerSettings) -> Result<Bound, ServerError> {
    let tls = |l: &ListenerSettings| {
        Tls::load(l)
            .map(Arc::new)
            .map_err(|error| ServerError::Tls { index, error })
    };
    let ws_path = || Arc::<str>::from(l.path.as_deref().unwrap_or(DEFAULT_WS_PATH));
    let transport = match l.protocol {
        ListenerProtocol::Mqtt | ListenerProtocol::Unix => Transport::Plain,
        ListenerProtocol::Mqtts => Transport::Tls(tls(l)?),
        ListenerProtocol::Ws => Transport::Ws { path: ws_path() },
        ListenerProtocol::Wss => Transport::Wss {
            tls: tls(l)?,
            path: ws_path(),
        },
    };
    if l.protocol == ListenerProtocol::Unix {
        let path = PathBuf::from(l.path.as_deref().unwrap_or_default());
        let socket = bind_unix(index, &path)?;
        return Ok(Bound {
            socket,
            transport,
            local: None,
            unix_path: Some(path),
            protocol: l.protocol,
        });
    }
    let Some(addr) = l.bind else {
        return Err(ServerError::MissingBind { index });
    };
    let listener = bind_tcp(addr).map_err(|error| ServerError::Bind { addr, error })?;
    let local = listener
        .local_addr()
        .map_err(|error| ServerError::Bind { addr, error })?;
    Ok(Bound {
        socket: Socket::Tcp(listener),
        transport,
        local: Some(local),
        unix_path: None,
        protocol: l.protocol,
    })
}

/// Binds and listens with [`LISTEN_BACKLOG`] (tokio's `TcpListener::bind` uses 1024).
fn bind_tcp(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // As TcpListener::bind does: a restarted broker binds while its old connections are in
    // TIME_WAIT. (On Windows the option would let another process take the port.)
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(unix)]
fn bind_unix(index: usize, path: &Path) -> Result<Socket, ServerError> {
    use std::os::unix::fs::FileTypeExt;
    let failed = |detail: String| ServerError::UnixSocket {
        index,
        path: path.to_path_buf(),
        detail,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            // Left over by a broker that did not shut down cleanly, or in use by a live one.
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(failed("another process is listening on this socket".into()));
            }
            std::fs::remove_file(path).map_err(|e| failed(format!("cannot remove the stale socket: {e}")))?;
        }
        Ok(_) => {
            return Err(failed(
                "the file exists and is not a socket; not replacing it".into(),
            ))
        }
        Err(_) => {}
    }
    tokio::net::UnixListener::bind(path)
        .map(Socket::Unix)
        .map_err(|e| failed(e.to_string()))
}

#[cfg(not(unix))]
fn bind_unix(index: usize, path: &Path) -> Result<Socket, ServerError> {
    Err(ServerError::UnixSocket {
        index,
        path: path.to_path_buf(),
        detail: "Unix sockets are not available on this platform".into(),
    })
}

/// What a connection must get past at accept.
#[derive(Debug, Clone)]
pub struct AcceptLimits {
    /// `limits.max_connections`, shared by every listener (and waited on at shutdown).
    pub global: Arc<Semaphore>,
    /// The listener's own `max_connections`, if it has one.
    pub listener: Option<Arc<Semaphore>>,
    /// `limits.max_connections_per_second`, shared by every listener.
    pub rate: Arc<ConnectionRate>,
}

/// The connection slots a connection holds for its life, given back when it is dropped.
/// (Two words rather than two `OwnedSemaphorePermit`s: it sits in every connection's task.)
struct Permits {
    global: Arc<Semaphore>,
    listener: Option<Arc<Semaphore>>,
}

impl Drop for Permits {
    fn drop(&mut self) {
        self.global.add_permits(1);
        if let Some(listener) = &self.listener {
            listener.add_permits(1);
        }
    }
}

impl AcceptLimits {
    /// The permits for one more connection. The connection slots are taken first, so that a
    /// connection refused for being one too many does not use up the rate.
    fn admit(&self) -> Result<Permits, AtLimit> {
        let listener = match &self.listener {
            Some(listener) => Some(
                listener
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| AtLimit::ListenerMaxConnections)?,
            ),
            None => None,
        };
        let global = self
            .global
            .clone()
            .try_acquire_owned()
            .map_err(|_| AtLimit::MaxConnections)?;
        if !self.rate.try_acquire() {
            return Err(AtLimit::ConnectionRate);
        }
        // Kept as bare counts from here on; `Permits` gives them back.
        global.forget();
        if let Some(listener) = listener {
            listener.forget();
        }
        Ok(Permits {
            global: self.global.clone(),
            listener: self.listener.clone(),
        })
    }
}

/// Accepts connections until shutdown, paced by [`MAX_PENDING`]. Each one served holds its
/// permits for its life; one over `limits` is counted, and answered with a CONNACK that says
/// why once its CONNECT is in (at most [`MAX_REFUSING`] at once, beyond that closed at once).
/// Each connection takes the context in force when it is accepted, and keeps it for its life
/// (its limits do not change under it, see [`SharedContext`]).
pub async fn run(bound: Bound, shared: Arc<SharedContext>, limits: AcceptLimits) {
    let mut shutdown = shared.get().shutdown.clone();
    let pending = Arc::new(Semaphore::new(MAX_PENDING));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    // One warning per spell of refusals, not one per refused connection.
    let mut spell = None;
    let name = bound.describe();
    loop {
        // One connection per turn. In a storm every accept is ready at once, and the loop
        // would otherwise take a whole scheduling budget's worth of them (spawning their
        // tasks) each time it runs, ahead of the established clients' tasks waiting to run:
        // measured, their p99 publish-to-delivery time during 10,000 connects fell from
        // 12-24 ms to 2-10 ms with this.
        tokio::task::yield_now().await;
        // Waiting here, rather than accepting and then waiting, leaves the connections in the
        // kernel's backlog, where they cost the broker nothing.
        let slot = tokio::select! {
            slot = pending.clone().acquire_owned() => slot,
            _ = shutdown.changed() => break,
        };
        let Ok(slot) = slot else {
            break;
        };
        let accepted = tokio::select! {
            accepted = accept(&bound.socket) => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(listener = %name, "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let ctx = shared.get();
        let limit = match limits.admit() {
            Ok(permits) => {
                spell = None;
                let admission = Admission::Admitted(slot);
                spawn(
                    stream,
                    peer,
                    bound.transport.clone(),
                    ctx.clone(),
                    permits,
                    admission,
                );
                continue;
            }
            Err(limit) => limit,
        };
        drop(slot);
        let counters = &ctx.broker.metrics.limits;
        let counter = match limit {
            AtLimit::MaxConnections | AtLimit::ListenerMaxConnections => &counters.connections_refused,
            AtLimit::ConnectionRate => &counters.connection_rate_refused,
        };
        add(counter, 1);
        if spell != Some(limit) {
            tracing::warn!(%peer, listener = %name, "{}; refusing new connections", limit.describe());
            spell = Some(limit);
        }
        match refusing.clone().try_acquire_owned() {
            Ok(permit) => {
                let admission = Admission::Refused(limit);
                spawn(
                    stream,
                    peer,
                    bound.transport.clone(),
                    ctx.clone(),
                    permit,
                    admission,
                );
            }
            Err(_) => drop(stream),
        }
    }
    if let Some(path) = &bound.unix_path {
        let _ = std::fs::remove_file(path);
    }
}

/// An accepted stream of either kind.
enum Accepted {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

async fn accept(socket: &Socket) -> std::io::Result<(Accepted, Peer)> {
    match socket {
        Socket::Tcp(listener) => {
            let (stream, peer) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            Ok((Accepted::Tcp(stream), Peer::Net(peer)))
        }
        #[cfg(unix)]
        Socket::Unix(listener) => {
            let (stream, _) = listener.accept().await?;
            Ok((Accepted::Unix(stream), Peer::Unix))
        }
    }
}

/// Runs the connection in its own task, watched by a second one that counts a panic (a bug:
/// it costs that one connection) and releases `held`, the permits the connection counts
/// against, however the connection ends.
fn spawn<H: Send + 'static>(
    stream: Accepted,
    peer: Peer,
    transport: Transport,
    ctx: Arc<ListenerContext>,
    held: H,
    admission: Admission,
) {
    let broker = ctx.broker.clone();
    // The task's future is as big as the largest of these, for as long as the connection
    // lives: plain TCP, the common case, is the one kept inline; the TLS and WebSocket
    // handshakes (several KiB of state) and Unix sockets are boxed.
    let connection = match (stream, transport) {
        (Accepted::Tcp(stream), Transport::Plain) => {
            Either::Left(connection::serve(ctx, stream, peer, None, admission))
        }
        (Accepted::Tcp(stream), transport) => {
            let socket = SocketHandle::of(&stream);
            let handshake: BoxedConnection =
                Box::pin(handshake(stream, socket, peer, transport, ctx, admission));
            Either::Right(handshake)
        }
        #[cfg(unix)]
        (Accepted::Unix(stream), _) => {
            let serve: BoxedConnection = Box::pin(connection::serve(ctx, stream, peer, None, admission));
            Either::Right(serve)
        }
    };
    // One task per connection, panics caught in it; combinators rather than an `async`
    // block, which would hold the connection's future twice over.
    tokio::spawn(AssertUnwindSafe(connection).catch_unwind().map(move |outcome| {
        if outcome.is_err() {
            add(&broker.metrics.connection_panics, 1);
            // No peer here: it would make every connection's task bigger for a line that
            // is about a bug (the panic message itself is logged above it).
            tracing::error!("connection task panicked; the connection was dropped");
        }
        drop(held);
    }));
}

/// A connection served from the heap.
type BoxedConnection = Pin<Box<dyn Future<Output = ()> + Send>>;

/// TLS and/or WebSocket handshakes, bounded by the connect timeout, then MQTT. A connection
/// over a limit goes through them too: its CONNACK can only reach the client that way.
async fn handshake<S>(
    stream: S,
    socket: SocketHandle,
    peer: Peer,
    transport: Transport,
    ctx: Arc<ListenerContext>,
    admission: Admission,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limit = ctx.limits.connect_timeout;
    // A WebSocket message carries at least one whole packet's worth; frame overhead on top.
    let max_message = ctx.limits.max_packet_size.saturating_add(64);
    match transport {
        Transport::Plain => {
            connection::serve(ctx, Split::new(stream, socket), peer, None, admission).await;
        }
        Transport::Tls(tls) => {
            let Some((stream, identity)) = tls_handshake(stream, peer, &tls, limit, &ctx).await else {
                return;
            };
            connection::serve(ctx, Split::new(stream, socket), peer, identity, admission).await;
        }
        Transport::Ws { path } => {
            let Some(ws) = ws_handshake(stream, peer, &path, max_message, limit).await else {
                return;
            };
            connection::serve(ctx, Split::new(ws, socket), peer, None, admission).await;
        }
        Transport::Wss { tls, path } => {
            let started = tokio::time::Instant::now();
            let Some((stream, identity)) = tls_handshake(stream, peer, &tls, limit, &ctx).await else {
                return;
            };
            let left = limit.saturating_sub(started.elapsed());
            let Some(ws) = ws_handshake(stream, peer, &path, max_message, left).await else {
                return;
            };
            connection::serve(ctx, Split::new(ws, socket), peer, identity, admission).await;
        }
    }
}

/// The TLS handshake, and the client certificate's Common Name when the listener uses it as
/// the user name. A client that must present a certificate but whose certificate has no
/// Common Name is refused here.
async fn tls_handshake<S>(
    stream: S,
    peer: Peer,
    tls: &Tls,
    limit: Duration,
    ctx: &ListenerContext,
) -> Option<(tokio_rustls::server::TlsStream<S>, Option<Arc<str>>)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let stream = match tokio::time::timeout(limit, tls.acceptor().accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            add(&ctx.broker.metrics.tls_handshake_failures, 1);
            tracing::info!(%peer, "TLS handshake failed: {e}");
            return None;
        }
        Err(_) => {
            add(&ctx.broker.metrics.tls_handshake_failures, 1);
            tracing::info!(%peer, timeout = ?limit, "TLS handshake not finished in time");
            return None;
        }
    };
    if !tls.identity_as_username {
        return Some((stream, None));
    }
    let (_, session) = stream.get_ref();
    let name = session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(tls::common_name);
    match name {
        Some(name) => Some((stream, Some(Arc::from(name)))),
        None => {
            tracing::warn!(%peer, "client certificate without a Common Name; use_identity_as_username needs one");
            None
        }
    }
}

async fn ws_handshake<S>(
    stream: S,
    peer: Peer,
    path: &str,
    max_message: usize,
    limit: Duration,
) -> Option<ws::WsIo<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(limit, ws::accept(stream, path, max_message)).await {
        Ok(Ok(ws)) => Some(ws),
        Ok(Err(e)) => {
            tracing::info!(%peer, "WebSocket handshake failed: {e}");
            None
        }
        Err(_) => {
            tracing::info!(%peer, timeout = ?limit, "WebSocket handshake not finished in time");
            None
        }
    }
}
