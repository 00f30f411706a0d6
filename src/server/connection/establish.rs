//! A new connection up to its CONNACK: read CONNECT within the connect timeout, answer a
//! connection over a limit or a refused login with a CONNACK that says why, or attach the
//! session and hand the connection state over.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::timeout;

use super::READ_CHUNK;
use crate::protocol::{self, Connack, FrameError, Packet, ReasonCode, Version};
use crate::server::context::ListenerContext;
use crate::server::handler::connect::AtLimit;
use crate::server::handler::{self, ConnState};
use crate::server::metrics::add;
use crate::server::peer::Peer;

/// What the listener decided about a connection when it accepted it.
#[derive(Debug)]
pub enum Admission {
    /// Served. The permit is one of the listener's slots for connections that have not sent
    /// CONNECT yet; it is given back as soon as CONNECT has been read.
    Admitted(OwnedSemaphorePermit),
    /// Over a connection limit: its CONNECT is read only to answer it with a CONNACK that
    /// says which limit, in the client's protocol version.
    Refused(AtLimit),
}

/// Reads CONNECT and answers it: `None` when the connection is refused or closed (the
/// client was told why when it can be), else the connection's state, whose CONNACK is queued.
pub async fn establish<R, W>(
    ctx: &ListenerContext,
    reader: &mut R,
    writer: &mut W,
    rbuf: &mut BytesMut,
    peer: Peer,
    identity: Option<Arc<str>>,
    admission: Admission,
) -> Option<ConnState>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let connect = match timeout(ctx.limits.connect_timeout, read_connect(ctx, reader, rbuf)).await {
        Ok(Ok(connect)) => connect,
        Ok(Err(ConnectFailure::Refuse {
            version,
            reason: code,
            detail,
        })) => {
            tracing::info!(%peer, "connection refused: {detail}");
            let connack = Connack {
                session_present: false,
                reason: code,
                properties: Default::default(),
            };
            // The CONNECT could not be decoded, so the client's Maximum Packet Size is unknown;
            // this CONNACK, without properties, is the smallest there is.
            refuse(reader, writer, version, connack, usize::MAX).await;
            return None;
        }
        Ok(Err(ConnectFailure::Close(detail))) => {
            tracing::info!(%peer, "connection closed before CONNECT: {detail}");
            return None;
        }
        Err(_) => {
            add(&ctx.broker.metrics.limits.connect_timeouts, 1);
            tracing::info!(%peer, timeout = ?ctx.limits.connect_timeout, "connection closed: no CONNECT in time");
            return None;
        }
    };
    let refusal = match admission {
        // The login and the session take their own time; the accept loop waits only for
        // connections that have not said who they are yet.
        Admission::Admitted(pending) => {
            drop(pending);
            None
        }
        Admission::Refused(limit) => Some(handler::connect::refuse_at_limit(&connect, limit)),
    };
    if let Some(refusal) = refusal {
        // The accept loop logs a spell of these once; one line each would flood the log.
        tracing::debug!(%peer, client_id = %refusal.client_id, "connection refused: {}", refusal.detail);
        refuse_with(reader, writer, *refusal).await;
        return None;
    }
    let conn = match handler::connect::accept(ctx, connect, peer, identity).await {
        Ok(conn) => conn,
        Err(refusal) => {
            tracing::info!(%peer, client_id = %refusal.client_id, "connection refused: {}", refusal.detail);
            refuse_with(reader, writer, *refusal).await;
            return None;
        }
    };
    Some(conn)
}

/// Sends a refusing CONNACK and closes: the server closes the connection after a CONNACK
/// with a non-zero code (v5 [MQTT-3.2.2-7], 3.1.1 [MQTT-3.2.2-5]), in an orderly way so that
/// the client reads the CONNACK rather than a reset.
/// Answers with a handler's refusal and closes.
async fn refuse_with<R, W>(reader: &mut R, writer: &mut W, refusal: handler::connect::Refusal)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    refuse(
        reader,
        writer,
        refusal.version,
        refusal.connack,
        refusal.max_packet_size,
    )
    .await;
}

async fn refuse<R, W>(reader: &mut R, writer: &mut W, version: Version, connack: Connack, max_size: usize)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut out = BytesMut::new();
    // A CONNACK that does not fit is left out; the connection is closed all the same.
    let _ = protocol::encode_within(version, &Packet::Connack(connack), max_size, &mut out);
    super::close::gracefully(reader, writer, &out).await;
}

enum ConnectFailure {
    Refuse {
        version: Version,
        reason: ReasonCode,
        detail: String,
    },
    Close(String),
}

async fn read_connect<R: AsyncRead + Unpin>(
    ctx: &ListenerContext,
    reader: &mut R,
    rbuf: &mut BytesMut,
) -> Result<protocol::Connect, ConnectFailure> {
    loop {
        // [MQTT-3.1.0-1] the first packet is CONNECT: anything else is refused from its first
        // byte, before a body of up to max_packet_size is waited for and buffered.
        if let Some(&first) = rbuf.first() {
            if first != 0x10 {
                let detail = if first >> 4 == 1 {
                    "CONNECT with reserved header flags set".to_string()
                } else {
                    format!("first packet is not CONNECT (header byte {first:#04x})")
                };
                return Err(ConnectFailure::Close(detail));
            }
        }
        match protocol::next_frame(rbuf, ctx.limits.max_packet_size) {
            Ok(Some(frame)) => {
                let bytes = rbuf.split_to(frame.len);
                add(&ctx.broker.metrics.bytes_received, frame.len as u64);
                add(&ctx.broker.metrics.messages_received, 1);
                return match protocol::decode_connect(&bytes, frame.body_start) {
                    Ok(connect) => Ok(connect),
                    Err(protocol::DecodeError::UnsupportedVersion(level)) => {
                        Err(ConnectFailure::Refuse {
                            // [MQTT-3.1.2-2] answer an unknown level with return code 0x01, 3.1.1 style
                            version: Version::V3_1_1,
                            reason: ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
                            detail: format!("unsupported protocol level {level}"),
                        })
                    }
                    // v5 may answer a CONNECT it cannot accept with the reason before closing
                    // [MQTT-4.13.1-1]; 3.1.1 closes without a CONNACK [MQTT-3.1.4-1].
                    Err(e) => match protocol::connect_version(&bytes, frame.body_start) {
                        Some(Version::V5) if !matches!(e, protocol::DecodeError::NotMqtt(_)) => {
                            Err(ConnectFailure::Refuse {
                                version: Version::V5,
                                reason: e.reason_code(),
                                detail: e.to_string(),
                            })
                        }
                        _ => Err(ConnectFailure::Close(e.to_string())),
                    },
                };
            }
            Ok(None) => {}
            Err(FrameError::TooLarge { size, max }) => {
                add(&ctx.broker.metrics.limits.packet_too_large, 1);
                return Err(ConnectFailure::Close(format!(
                    "CONNECT of {size} bytes exceeds {max}"
                )));
            }
            Err(e) => return Err(ConnectFailure::Close(e.to_string())),
        }
        rbuf.reserve(READ_CHUNK);
        match reader.read_buf(rbuf).await {
            Ok(0) => return Err(ConnectFailure::Close("peer closed".into())),
            Ok(_) => {}
            Err(e) => return Err(ConnectFailure::Close(e.to_string())),
        }
    }
}
