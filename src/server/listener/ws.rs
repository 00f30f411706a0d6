//! MQTT over WebSocket (MQTT 5 section 6): the HTTP upgrade on the configured path with the
//! "mqtt" subprotocol, and a byte stream over binary frames for the connection task.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::server::transport::OversizeMessage;

/// The subprotocol MQTT uses [MQTT-6.0.0-3] [MQTT-6.0.0-4]; "mqttv3.1" is what some 3.1
/// clients still offer.
const SUBPROTOCOLS: [&str; 2] = ["mqtt", "mqttv3.1"];

fn refuse(status: StatusCode, why: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(format!("{why}\n")));
    *response.status_mut() = status;
    response
}

/// Chooses the response to an upgrade request: the path must match and, if the client offers
/// subprotocols, one of them must be MQTT's (it is echoed back).
// The result type is what tungstenite's handshake callback must return.
#[allow(clippy::result_large_err)]
fn check_request(request: &Request, mut response: Response, path: &str) -> Result<Response, ErrorResponse> {
    if request.uri().path() != path {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            &format!("no MQTT endpoint here; this broker serves MQTT over WebSocket at {path}"),
        ));
    }
    let offered: Vec<String> = request
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    if offered.is_empty() {
        // The spec requires "mqtt", but some clients send none; they get MQTT anyway.
        return Ok(response);
    }
    match SUBPROTOCOLS.iter().find(|p| offered.iter().any(|o| o == *p)) {
        Some(chosen) => {
            response
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(chosen));
            Ok(response)
        }
        None => Err(refuse(
            StatusCode::BAD_REQUEST,
            "the client offers no MQTT WebSocket subprotocol (\"mqtt\")",
        )),
    }
}

/// Performs the server side of the upgrade. `max_message` bounds a frame and a message, so a
/// client cannot make the broker buffer more than its packet size limit allows.
#[allow(clippy::result_large_err)] // the handshake callback's signature, see check_request
pub async fn accept<S>(stream: S, path: &str, max_message: usize) -> Result<WsIo<S>, WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
        .max_write_buffer_size(max_write_buffer(max_message));
    let ws = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        |request: &Request, response: Response| check_request(request, response, path),
        Some(config),
    )
    .await?;
    Ok(WsIo {
        ws,
        pending: Bytes::new(),
        linger: None,
    })
}

/// Performs the client side of the upgrade on `stream` (already TLS for `wss`), asking for
/// `url` with the "mqtt" subprotocol: a bridge to a remote broker that serves MQTT over
/// WebSocket. `max_message` bounds what the remote may send in one message.
pub async fn connect<S>(stream: S, url: &str, max_message: usize) -> Result<WsIo<S>, WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
        .max_write_buffer_size(max_write_buffer(max_message));
    let (ws, _response) = tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
    Ok(WsIo {
        ws,
        pending: Bytes::new(),
        linger: None,
    })
}

/// Bound on what tungstenite queues for writing to one client: its own write buffer (128 KiB),
/// one write from the connection task (its buffer up to the high-water mark, 256 KiB, plus a
/// packet) and the Pong and Close frames it adds itself. Unbounded (tungstenite's default),
/// a client that sends Pings and never reads the Pongs makes the broker queue Pongs for as
/// long as it keeps sending; bounded, further Pongs replace the one waiting, and a data write
/// that would overflow closes that connection.
fn max_write_buffer(max_message: usize) -> usize {
    const FIXED: usize = 1024 * 1024;
    FIXED.saturating_add(max_message.saturating_mul(2))
}

/// How long a closing connection waits for the client's Close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// A WebSocket connection as a byte stream: reads concatenate binary messages (an MQTT packet
/// may span messages and a message may hold several packets), each write is one binary message.
pub struct WsIo<S> {
    ws: WebSocketStream<S>,
    pending: Bytes,
    /// Set once our Close frame is sent: the deadline for the client's.
    linger: Option<Pin<Box<Sleep>>>,
}

fn io_error(e: WsError) -> io::Error {
    match e {
        WsError::Io(e) => e,
        WsError::ConnectionClosed | WsError::AlreadyClosed => io::ErrorKind::ConnectionReset.into(),
        WsError::Capacity(e) => io::Error::new(io::ErrorKind::InvalidData, OversizeMessage(e.to_string())),
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.pending.is_empty() {
                let n = buf.remaining().min(self.pending.len());
                buf.put_slice(&self.pending[..n]);
                self.pending.advance(n);
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut self.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(data))) => self.pending = data,
                // End of stream: the connection task sees EOF.
                Some(Ok(Message::Close(_))) | None => return Poll::Ready(Ok(())),
                Some(Ok(Message::Text(_))) => {
                    // [MQTT-6.0.0-1] MQTT control packets travel in binary data frames only.
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a WebSocket text frame (MQTT uses binary frames only)",
                    )));
                }
                // Pings are answered by the WebSocket layer itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Err(e)) => return Poll::Ready(Err(io_error(e))),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(Pin::new(&mut self.ws).poll_ready(cx)).map_err(io_error)?;
        Pin::new(&mut self.ws)
            .start_send(Message::Binary(Bytes::copy_from_slice(buf)))
            .map_err(io_error)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_flush(cx).map_err(io_error)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.linger.is_none() {
            match ready!(Pin::new(&mut self.ws).poll_close(cx)) {
                Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {}
                Err(e) => return Poll::Ready(Err(io_error(e))),
            }
            self.linger = Some(Box::pin(tokio::time::sleep(CLOSE_LINGER)));
        }
        // RFC 6455 7.1.1: the TCP connection closes after the client's Close frame; a client
        // whose Close meets a closed socket reports an error (EPIPE) although all went well.
        loop {
            if let Some(linger) = self.linger.as_mut() {
                if linger.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Ok(()));
                }
            }
            match ready!(Pin::new(&mut self.ws).poll_next(cx)) {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Poll::Ready(Ok(())),
                Some(Ok(_)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, protocols: Option<&str>) -> Request {
        let mut builder = Request::builder().uri(path);
        if let Some(p) = protocols {
            builder = builder.header("Sec-WebSocket-Protocol", p);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn upgrade_needs_the_path_and_an_mqtt_subprotocol() {
        let ok = check_request(&request("/mqtt", Some("mqtt")), Response::new(()), "/mqtt").unwrap();
        assert_eq!(ok.headers()["Sec-WebSocket-Protocol"], "mqtt");
        let v31 = check_request(
            &request("/mqtt", Some("foo, mqttv3.1")),
            Response::new(()),
            "/mqtt",
        )
        .unwrap();
        assert_eq!(v31.headers()["Sec-WebSocket-Protocol"], "mqttv3.1");
        let none = check_request(&request("/mqtt", None), Response::new(()), "/mqtt").unwrap();
        assert!(none.headers().get("Sec-WebSocket-Protocol").is_none());
        let wrong_path =
            check_request(&request("/other", Some("mqtt")), Response::new(()), "/mqtt").unwrap_err();
        assert_eq!(wrong_path.status(), StatusCode::NOT_FOUND);
        let wrong_protocol =
            check_request(&request("/mqtt", Some("chat")), Response::new(()), "/mqtt").unwrap_err();
        assert_eq!(wrong_protocol.status(), StatusCode::BAD_REQUEST);
    }
}
