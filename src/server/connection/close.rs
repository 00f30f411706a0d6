//! Closing a connection the server ends so that the client can read the last thing it was
//! sent (a DISCONNECT with its reason code, a refusing CONNACK).
//!
//! Closing a socket whose input has not all been read makes the kernel answer with a reset
//! instead of an orderly end, and a reset discards whatever the client has not read yet: the
//! very packet that says why. So the last bytes are written, the write side is shut down
//! (the client reads them, then the end of the stream), and what the client still sends is
//! read and dropped until it closes too, for a short, bounded while.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

/// How long the last bytes may take to leave: a client that reads nothing gets nothing by
/// waiting longer.
const WRITE_WAIT: Duration = Duration::from_secs(2);
/// How long the client's input is read and dropped, at most, once the write side is shut down.
const DRAIN_WAIT: Duration = Duration::from_secs(1);
/// How much of it, at most: a client that floods does not keep the connection for the whole
/// [`DRAIN_WAIT`] at the cost of reading everything it sends.
const DRAIN_MAX: usize = 64 * 1024;
/// The size of each read while draining; the buffer exists only while a connection closes.
const DRAIN_READ: usize = 4 * 1024;

/// Writes `last`, shuts the write side down and drains the input (see the module comment).
/// Gives up on a client that does not read `last` within [`WRITE_WAIT`].
pub async fn gracefully<R, W>(reader: &mut R, writer: &mut W, last: &[u8])
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let sent = timeout(WRITE_WAIT, async {
        writer.write_all(last).await?;
        writer.flush().await?;
        writer.shutdown().await
    })
    .await;
    if matches!(sent, Ok(Ok(()))) {
        let _ = timeout(DRAIN_WAIT, drain(reader, DRAIN_MAX)).await;
    }
}

/// Reads and drops input until the end of the stream, an error, or `max` bytes.
async fn drain<R: AsyncRead + Unpin>(reader: &mut R, max: usize) {
    let mut buf = vec![0u8; DRAIN_READ];
    let mut left = max;
    while left > 0 {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_stops_at_the_end_of_the_stream() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        client.write_all(b"left over").await.unwrap();
        drop(client);
        drain(&mut server, DRAIN_MAX).await;
    }

    #[tokio::test]
    async fn drain_stops_at_its_byte_limit_while_the_client_still_sends() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let flood = tokio::spawn(async move {
            // Sends until the server side is dropped.
            while client.write_all(&[0u8; 64]).await.is_ok() {}
        });
        drain(&mut server, 1024).await;
        drop(server);
        flood.await.unwrap();
    }

    #[tokio::test]
    async fn the_last_bytes_arrive_before_the_end_of_the_stream() {
        let (client, server) = tokio::io::duplex(1024);
        let (mut server_rd, mut server_wr) = tokio::io::split(server);
        let (mut client_rd, mut client_wr) = tokio::io::split(client);
        client_wr.write_all(b"unread input").await.unwrap();
        let closing = tokio::spawn(async move {
            gracefully(&mut server_rd, &mut server_wr, b"why").await;
        });
        let mut got = Vec::new();
        client_rd.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"why");
        drop((client_rd, client_wr));
        closing.await.unwrap();
    }
}
