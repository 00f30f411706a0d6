//! A connection's byte stream as the two halves its task reads and writes at once, and
//! waiting for its input without holding a read buffer: most connections are idle most of
//! the time, and a buffer each is memory that 10,000 of them hold for nothing.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream a connection is served on.
pub trait Duplex: Send {
    /// The reading half.
    type Reader<'a>: Input + Send
    where
        Self: 'a;
    /// The writing half.
    type Writer<'a>: AsyncWrite + Unpin + Send
    where
        Self: 'a;

    /// Both halves, borrowed: a TCP socket is split without the shared allocation that
    /// owned halves take.
    fn halves(&mut self) -> (Self::Reader<'_>, Self::Writer<'_>);
}

impl Duplex for tokio::net::TcpStream {
    type Reader<'a> = tokio::net::tcp::ReadHalf<'a>;
    type Writer<'a> = tokio::net::tcp::WriteHalf<'a>;

    fn halves(&mut self) -> (Self::Reader<'_>, Self::Writer<'_>) {
        self.split()
    }
}

#[cfg(unix)]
impl Duplex for tokio::net::UnixStream {
    type Reader<'a> = tokio::net::unix::ReadHalf<'a>;
    type Writer<'a> = tokio::net::unix::WriteHalf<'a>;

    fn halves(&mut self) -> (Self::Reader<'_>, Self::Writer<'_>) {
        self.split()
    }
}

/// A TLS or WebSocket stream, split into owned halves (it has no borrowed split).
pub struct Split<T>(tokio::io::ReadHalf<T>, tokio::io::WriteHalf<T>);

impl<T: AsyncRead + AsyncWrite> Split<T> {
    /// Splits `stream`.
    pub fn new(stream: T) -> Split<T> {
        let (reader, writer) = tokio::io::split(stream);
        Split(reader, writer)
    }
}

impl<T: AsyncRead + AsyncWrite + Send> Duplex for Split<T> {
    type Reader<'a>
        = &'a mut tokio::io::ReadHalf<T>
    where
        T: 'a;
    type Writer<'a>
        = &'a mut tokio::io::WriteHalf<T>
    where
        T: 'a;

    fn halves(&mut self) -> (Self::Reader<'_>, Self::Writer<'_>) {
        (&mut self.0, &mut self.1)
    }
}

/// The reading half of a connection.
pub trait Input: AsyncRead + Unpin {
    /// Whether [`Input::poll_waiting`] really waits; without it an idle connection keeps a
    /// small buffer to read into.
    const WAITS: bool = false;

    /// Ready once a read would return at once: bytes waiting, the end of the stream, or an
    /// error.
    fn poll_waiting(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }

    /// Appends to `rbuf` what the stream holds now, without waiting: `None` when it holds
    /// nothing. By default what the runtime already knows to be readable.
    fn read_now(&mut self, rbuf: &mut BytesMut) -> Option<io::Result<usize>>
    where
        Self: Sized,
    {
        read(self, rbuf, crate::server::connection::READ_CHUNK)
            .now_or_never()
            .map(|r| r.map(|(n, _)| n))
    }
}

/// Reads from the socket behind `fd` at once. The runtime learns that a socket is readable
/// only when it next polls for events, which may come after it saw bytes that another socket
/// received later; asking the socket itself has no such lag. The descriptor is duplicated for
/// the read (the socket is non-blocking either way): this is for the rare moment a connection
/// is taken over, not for every read.
#[cfg(unix)]
fn read_socket_now<S: std::io::Read + From<std::os::fd::OwnedFd>>(
    fd: std::os::fd::BorrowedFd<'_>,
    rbuf: &mut BytesMut,
) -> Option<io::Result<usize>> {
    let mut socket = match fd.try_clone_to_owned() {
        Ok(owned) => S::from(owned),
        Err(e) => return Some(Err(e)),
    };
    let start = rbuf.len();
    rbuf.resize(start + crate::server::connection::READ_CHUNK, 0);
    let read = socket.read(&mut rbuf[start..]);
    rbuf.truncate(start + *read.as_ref().unwrap_or(&0));
    match read {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
        other => Some(other),
    }
}

impl Input for tokio::net::tcp::ReadHalf<'_> {
    const WAITS: bool = true;

    #[cfg(unix)]
    fn read_now(&mut self, rbuf: &mut BytesMut) -> Option<io::Result<usize>> {
        use std::os::fd::AsFd;
        let stream: &tokio::net::TcpStream = self.as_ref();
        read_socket_now::<std::net::TcpStream>(stream.as_fd(), rbuf)
    }

    fn poll_waiting(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // A peek of one byte into the stack: the socket's readiness, no buffer taken.
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        self.poll_peek(cx, &mut buf).map(|_| ())
    }
}

#[cfg(unix)]
impl Input for tokio::net::unix::ReadHalf<'_> {
    fn read_now(&mut self, rbuf: &mut BytesMut) -> Option<io::Result<usize>> {
        use std::os::fd::AsFd;
        let stream: &tokio::net::UnixStream = self.as_ref();
        read_socket_now::<std::os::unix::net::UnixStream>(stream.as_fd(), rbuf)
    }
}

/// TLS and WebSocket streams: their own layers buffer anyway.
impl<T: AsyncRead> Input for &mut tokio::io::ReadHalf<T> {}

/// Reads what is waiting into `rbuf`, giving a buffer with no room `initial` bytes once there
/// is something to read. Its output is how many bytes came and whether they filled the room
/// there was (more is probably waiting).
///
/// A future of its own rather than an `async fn`: it sits in every connection's task, and
/// this way it is three words.
pub fn read<'a, R: Input>(reader: &'a mut R, rbuf: &'a mut BytesMut, initial: usize) -> Read<'a, R> {
    Read {
        reader,
        rbuf,
        initial,
    }
}

/// See [`read`].
pub struct Read<'a, R> {
    reader: &'a mut R,
    rbuf: &'a mut BytesMut,
    initial: usize,
}

impl<R: Input> Future for Read<'_, R> {
    type Output = io::Result<(usize, bool)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.rbuf.capacity() == 0 {
            ready!(this.reader.poll_waiting(cx));
            this.rbuf.reserve(this.initial);
        }
        let spare = this.rbuf.capacity() - this.rbuf.len();
        let n = ready!(tokio_util::io::poll_read_buf(
            Pin::new(&mut *this.reader),
            cx,
            this.rbuf
        ))?;
        Poll::Ready(Ok((n, n >= spare)))
    }
}
