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

/// The socket under a TLS or WebSocket stream, so that the kernel can be asked whether input
/// waits there (see [`Input::has_unseen_input`]); none for a stream with no socket of its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct SocketHandle {
    #[cfg(unix)]
    fd: Option<std::os::fd::RawFd>,
}

impl SocketHandle {
    /// The socket of `stream`. It must outlive every use of the handle: the stream it is
    /// taken from goes into the same [`Split`].
    pub fn of(stream: &tokio::net::TcpStream) -> SocketHandle {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            SocketHandle {
                fd: Some(stream.as_raw_fd()),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = stream;
            SocketHandle {}
        }
    }

    /// Whether the kernel holds bytes, or the end of the stream, for the socket now.
    #[cfg(unix)]
    #[allow(unsafe_code)]
    fn has_input(self) -> bool {
        let Some(fd) = self.fd else { return false };
        let mut byte = 0u8;
        // SAFETY: `fd` is the socket of the stream inside the `Split` the reader asking this
        // borrows, so it is open; recv writes at most one byte, into `byte`, and with MSG_PEEK
        // and MSG_DONTWAIT neither consumes input nor blocks.
        let n = unsafe {
            libc::recv(
                fd,
                std::ptr::addr_of_mut!(byte).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        n >= 0
    }

    #[cfg(not(unix))]
    fn has_input(self) -> bool {
        false
    }
}

/// A TLS or WebSocket stream, split into owned halves (it has no borrowed split), and the
/// socket under it.
pub struct Split<T>(tokio::io::ReadHalf<T>, tokio::io::WriteHalf<T>, SocketHandle);

impl<T: AsyncRead + AsyncWrite> Split<T> {
    /// Splits `stream`, which runs over `socket`.
    pub fn new(stream: T, socket: SocketHandle) -> Split<T> {
        let (reader, writer) = tokio::io::split(stream);
        Split(reader, writer, socket)
    }
}

impl<T: AsyncRead + AsyncWrite + Send> Duplex for Split<T> {
    type Reader<'a>
        = SplitReader<'a, T>
    where
        T: 'a;
    type Writer<'a>
        = &'a mut tokio::io::WriteHalf<T>
    where
        T: 'a;

    fn halves(&mut self) -> (Self::Reader<'_>, Self::Writer<'_>) {
        (
            SplitReader {
                half: &mut self.0,
                socket: self.2,
            },
            &mut self.1,
        )
    }
}

/// The reading half of a [`Split`].
pub struct SplitReader<'a, T> {
    half: &'a mut tokio::io::ReadHalf<T>,
    socket: SocketHandle,
}

impl<T: AsyncRead> AsyncRead for SplitReader<'_, T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().half).poll_read(cx, buf)
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

    /// Whether the socket holds input that [`Input::read_now`] could not return yet: a TLS or
    /// WebSocket layer reads its socket only once the runtime has seen it readable.
    fn has_unseen_input(&self) -> bool {
        false
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
impl<T: AsyncRead> Input for SplitReader<'_, T> {
    fn has_unseen_input(&self) -> bool {
        self.socket.has_input()
    }
}

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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// The kernel is asked directly: bytes the runtime has not seen are found, and nothing is
    /// consumed by asking.
    #[tokio::test]
    async fn a_socket_handle_sees_input_the_runtime_has_not_read() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let socket = SocketHandle::of(&server);
        assert!(!socket.has_input(), "nothing was sent yet");
        client.write_all(b"\xe0\x00").await.unwrap();
        client.flush().await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !socket.has_input() {
            assert!(std::time::Instant::now() < deadline, "the bytes never showed");
            tokio::task::yield_now().await;
        }
        assert!(socket.has_input(), "asking consumed the input");
        let mut split = Split::new(server, socket);
        let (mut reader, _) = split.halves();
        let mut rbuf = BytesMut::new();
        let (n, _) = read(&mut reader, &mut rbuf, 64).await.unwrap();
        assert_eq!(&rbuf[..n], b"\xe0\x00");
        assert!(!reader.has_unseen_input(), "read, nothing is left");
        drop(client);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !reader.has_unseen_input() {
            assert!(
                std::time::Instant::now() < deadline,
                "the end of the stream never showed"
            );
            tokio::task::yield_now().await;
        }
    }
}
