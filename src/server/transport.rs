//! What a transport reports to the connection task beyond bytes, so that the connection needs
//! no knowledge of the listeners (which depend on it, not the other way round).

/// A client's WebSocket message over the size limit. The connection answers it as a packet too
/// large on a plain socket: MQTT 5 gets DISCONNECT 0x95.
#[derive(Debug, thiserror::Error)]
#[error("WebSocket message too large: {0}")]
pub struct OversizeMessage(pub String);
