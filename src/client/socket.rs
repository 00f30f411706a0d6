//! Opening the byte stream to a broker: TCP (from a chosen local address with `-A`) or a Unix
//! domain socket (`--unix`); TLS goes on top of TCP in [`super::connection`].

use std::net::SocketAddr;

use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;

use super::error::{io_words, ClientError};
use super::options::ConnectOptions;

/// The connection: TCP or a Unix socket (split per I/O round), or the halves of a TLS stream.
pub(super) enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
    Tls(
        ReadHalf<tokio_rustls::client::TlsStream<TcpStream>>,
        WriteHalf<tokio_rustls::client::TlsStream<TcpStream>>,
    ),
}

/// Connects to `opts`' Unix socket, or over TCP.
pub(super) async fn open_stream(opts: &ConnectOptions, address: &str) -> Result<Stream, ClientError> {
    #[cfg(unix)]
    if let Some(path) = &opts.unix_path {
        return tokio::net::UnixStream::connect(path)
            .await
            .map(Stream::Unix)
            .map_err(|e| ClientError::Connect {
                address: address.to_string(),
                detail: io_words(&e),
            });
    }
    let local = match &opts.bind_address {
        None => None,
        Some(local) => Some(resolve(local, 0).await?),
    };
    let stream = open(&opts.host, opts.port, address, local.as_deref()).await?;
    // Small messages (sub's acknowledgements, pub -l's lines) should not wait for more.
    let _ = stream.set_nodelay(true);
    Ok(Stream::Tcp(stream))
}

/// The addresses `host` resolves to.
async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, ClientError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| ClientError::Resolve {
            host: host.to_string(),
            detail: io_words(&e),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(ClientError::Resolve {
            host: host.to_string(),
            detail: "no addresses found".into(),
        });
    }
    Ok(addrs)
}

/// Connects from `local` (an address of the same family), as `-A` asks.
async fn connect_from(addr: SocketAddr, local: &[SocketAddr]) -> std::io::Result<TcpStream> {
    let Some(from) = local.iter().find(|l| l.is_ipv4() == addr.is_ipv4()) else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            "the bind address (-A) is not of the broker address's family",
        ));
    };
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.bind(*from)?;
    socket.connect(addr).await
}

/// Resolves `host` and connects to the first address that accepts.
async fn open(
    host: &str,
    port: u16,
    address: &str,
    local: Option<&[SocketAddr]>,
) -> Result<TcpStream, ClientError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| ClientError::Resolve {
            host: host.to_string(),
            detail: io_words(&e),
        })?
        .collect();
    let mut last = None;
    for addr in addrs {
        let stream = match local {
            None => TcpStream::connect(addr).await,
            Some(local) => connect_from(addr, local).await,
        };
        match stream {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => ClientError::Connect {
            address: address.to_string(),
            detail: io_words(&e),
        },
        None => ClientError::Resolve {
            host: host.to_string(),
            detail: "no addresses found".into(),
        },
    })
}
