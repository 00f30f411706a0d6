//! The secure listeners from the attacker's side: TLS client configurations (the broker's client
//! certificate, a foreign one or none; trusting the broker's CA or not) and a minimal WebSocket
//! client that sends each write as one masked binary frame and unwraps the frames that come
//! back, so the same raw MQTT bytes go over `mqtts`, `ws` and `wss` as over plain TCP. It is written
//! here byte by byte so that it can also send what no WebSocket library would.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::harness::{Broker, WAIT};
use super::wire::{self, Raw};

/// A byte stream of any of the transports.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A raw MQTT client over any transport.
pub type Conn = Raw<Box<dyn Io>>;

/// The TLS and WebSocket listeners of [`Broker::start_secure`] (the plain one is
/// [`Broker::addr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Mqtts,
    Ws,
    Wss,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Mqtts => "mqtts",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        }
    }

    pub fn addr(self, broker: &Broker) -> SocketAddr {
        let ports = broker.secure.expect("a broker started with start_secure");
        let port = match self {
            Transport::Mqtts => ports.mqtts,
            Transport::Ws => ports.ws,
            Transport::Wss => ports.wss,
        };
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// A connection ready for MQTT bytes: TCP, then the TLS handshake (with the broker's
    /// client certificate) and/or the WebSocket upgrade.
    pub async fn open(self, broker: &Broker) -> Conn {
        let tcp = tcp(self.addr(broker)).await;
        let good = tls_config(&broker.certs(), Some(&broker.certs()));
        let stream: Box<dyn Io> = match self {
            Transport::Mqtts => Box::new(tls(tcp, good).await.expect("TLS handshake")),
            Transport::Ws => Box::new(WsClient::upgrade(tcp).await),
            Transport::Wss => {
                let tls = tls(tcp, good).await.expect("TLS handshake");
                Box::new(WsClient::upgrade(tls).await)
            }
        };
        Raw { stream }
    }

    /// [`Transport::open`], then CONNECT/CONNACK at protocol `level`.
    pub async fn connected(self, broker: &Broker, level: u8, client_id: &str) -> Conn {
        let mut conn = self.open(broker).await;
        conn.handshake(&wire::connect(level, client_id.as_bytes())).await;
        conn
    }
}

/// A TCP connection to `addr`, within [`WAIT`].
pub async fn tcp(addr: SocketAddr) -> TcpStream {
    let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("TCP connect in time")
        .expect("TCP connect");
    let _ = stream.set_nodelay(true);
    stream
}

/// Reads until the broker closes (EOF or error) and returns what it sent; fails the test if
/// the connection stays open for [`WAIT`].
pub async fn bytes_until_close<S: AsyncRead + Unpin>(stream: &mut S, what: &str) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "{what}: the broker left the connection open");
    got
}

/// A rustls client configuration trusting `roots_dir/ca.crt` and, when given, presenting
/// `client_dir/client.{crt,key}`.
pub fn tls_config(roots_dir: &Path, client_dir: Option<&Path>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(roots_dir.join("ca.crt")).expect("read ca.crt") {
        roots.add(cert.expect("a CA certificate")).expect("add the CA");
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots);
    let config = match client_dir {
        Some(dir) => {
            let chain = CertificateDer::pem_file_iter(dir.join("client.crt"))
                .expect("read client.crt")
                .collect::<Result<Vec<_>, _>>()
                .expect("client certificates");
            let key = PrivateKeyDer::from_pem_file(dir.join("client.key")).expect("client.key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client certificate and key")
        }
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// The TLS handshake over `tcp` for the name 127.0.0.1, within [`WAIT`].
pub async fn tls(
    tcp: TcpStream,
    config: Arc<ClientConfig>,
) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    tokio::time::timeout(WAIT, TlsConnector::from(config).connect(name, tcp))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake not finished"))?
}

/// The first flight of a TLS client for `config`: the bytes of its ClientHello record.
pub fn client_hello(config: Arc<ClientConfig>) -> Vec<u8> {
    let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut client = rustls::ClientConnection::new(config, name).expect("a TLS client");
    let mut out = Vec::new();
    while client.wants_write() {
        client.write_tls(&mut out).expect("write the ClientHello");
    }
    out
}

/// An HTTP request upgrading to WebSocket on /mqtt with the "mqtt" subprotocol.
pub fn upgrade_request() -> Vec<u8> {
    b"GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
      Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
      Sec-WebSocket-Protocol: mqtt\r\n\r\n"
        .to_vec()
}

/// A client frame: `first` is the first byte (FIN, RSV bits, opcode); the payload is masked
/// when `masked`, as clients must [RFC 6455 5.3]. Any length.
pub fn ws_frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    ws_frame_header(first, payload.len() as u64, masked)
        .into_iter()
        .chain(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| if masked { b ^ MASK[i % 4] } else { *b }),
        )
        .collect()
}

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame header announcing `len` payload bytes (with the mask key when `masked`).
pub fn ws_frame_header(first: u8, len: u64, masked: bool) -> Vec<u8> {
    let m = if masked { 0x80 } else { 0 };
    let mut out = vec![first];
    if len < 126 {
        out.push(m | len as u8);
    } else if len <= u16::MAX as u64 {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if masked {
        out.extend_from_slice(&MASK);
    }
    out
}

/// A WebSocket client connection over `S` after a successful upgrade. Writes go out as
/// binary frames; reads return the payload of data frames until the server's Close frame
/// (then end of stream). Ping and pong frames from the server are skipped.
pub struct WsClient<S> {
    inner: S,
    /// Bytes read from `inner`, not yet a whole frame.
    raw: Vec<u8>,
    /// Data frame payload not yet handed to the reader.
    payload: Vec<u8>,
    /// Framed bytes not yet written to `inner`.
    out: Vec<u8>,
    closed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsClient<S> {
    /// Sends the upgrade request and expects `101 Switching Protocols`.
    pub async fn upgrade(mut inner: S) -> WsClient<S> {
        let head = async {
            inner.write_all(&upgrade_request()).await?;
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                inner.read_exact(&mut byte).await?;
                head.push(byte[0]);
            }
            io::Result::Ok(head)
        };
        let head = tokio::time::timeout(WAIT, head)
            .await
            .expect("upgrade answered in time")
            .expect("upgrade answered");
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
        WsClient {
            inner,
            raw: Vec::new(),
            payload: Vec::new(),
            out: Vec::new(),
            closed: false,
        }
    }

    /// Writes bytes as they are, already framed (or deliberately not).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.flush().await?;
        self.inner.write_all(bytes).await?;
        self.inner.flush().await
    }

    /// Takes one whole frame off `raw`, if there is one: (opcode, payload).
    fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let raw = &self.raw;
        if raw.len() < 2 {
            return None;
        }
        let masked = raw[1] & 0x80 != 0;
        let (mut len, mut pos) = ((raw[1] & 0x7f) as usize, 2);
        if len == 126 {
            len = u16::from_be_bytes(raw.get(2..4)?.try_into().ok()?) as usize;
            pos = 4;
        } else if len == 127 {
            len = u64::from_be_bytes(raw.get(2..10)?.try_into().ok()?) as usize;
            pos = 10;
        }
        let mask = if masked {
            let m: [u8; 4] = raw.get(pos..pos + 4)?.try_into().ok()?;
            pos += 4;
            Some(m)
        } else {
            None
        };
        let mut payload = raw.get(pos..pos.checked_add(len)?)?.to_vec();
        if let Some(m) = mask {
            payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= m[i % 4]);
        }
        let opcode = raw[0] & 0x0f;
        self.raw.drain(..pos + len);
        Some((opcode, payload))
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsClient<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.payload.is_empty() {
                let n = buf.remaining().min(this.payload.len());
                buf.put_slice(&this.payload[..n]);
                this.payload.drain(..n);
                return Poll::Ready(Ok(()));
            }
            if this.closed {
                return Poll::Ready(Ok(()));
            }
            if let Some((opcode, payload)) = this.next_frame() {
                match opcode {
                    0x0 | 0x2 => this.payload = payload,
                    0x8 => this.closed = true,
                    _ => {}
                }
                continue;
            }
            let mut chunk = [0u8; 4096];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
            this.raw.extend_from_slice(read.filled());
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsClient<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_drain(cx))?;
        self.out = ws_frame(0x82, buf, true);
        // Accepted: what is not written yet goes out on the next write or flush.
        let _ = self.poll_drain(cx)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
