//! One client connection: read and frame packets, run the handlers, write what is queued.
//!
//! A single task owns the socket. It reads while its write buffer is below a high-water mark
//! (so a client that stops reading cannot make the broker buffer without bound) and writes
//! everything pending in one `write` call per wake-up rather than one per packet.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use futures_util::future::OptionFuture;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::{sleep_until, Instant, Sleep};

mod close;
mod establish;
mod input;

pub use establish::Admission;
pub use input::{Duplex, Input, SocketHandle, Split};

use super::broker::GateState;
use super::broker::MemoryBudget;
use super::context::ListenerContext;
use super::handler::{self, Close, ConnState};
use super::kick::Told;
use super::metrics::{add, add_own, ConnStats};
use super::peer::Peer;
use super::transport::OversizeMessage;
use crate::protocol::{self, Disconnect, FrameError, Packet, ReasonCode, Sender};

/// Stop reading past this many unsent bytes: replies the client has not taken yet.
const WRITE_HIGH_WATER: usize = 256 * 1024;
/// Read buffer growth step while data is flowing.
pub(crate) const READ_CHUNK: usize = 16 * 1024;
/// Spare read capacity kept for an idle connection: most of them are idle, and 10,000 idle
/// connections should cost little memory. A PINGREQ or a small PUBLISH fits; a read that
/// fills it grows the buffer to [`READ_CHUNK`].
const IDLE_READ: usize = 128;
/// Queued messages are moved into the write buffer up to this much at a time: one `write`
/// call's worth, and a buffer that can be kept from one fill to the next.
const FILL_UP_TO: usize = 64 * 1024;
/// Buffers that grew past this for a burst are given back once empty.
const SHRINK_ABOVE: usize = 128 * 1024;

/// Serves one accepted connection until it closes.
///
/// `identity` is the user name a TLS listener took from the client certificate
/// (`use_identity_as_username`); it replaces whatever CONNECT says.
///
/// The future lives as long as the connection, and most connections are idle: its size is
/// what each of them costs, so it is kept small (an `async` block rather than an `async fn`,
/// whose arguments would be held twice, as arguments and as locals; the one-off steps boxed).
// An `async fn` would hold its arguments twice over, see above.
#[allow(clippy::manual_async_fn)]
pub fn serve<S: Duplex>(
    ctx: Arc<ListenerContext>,
    mut stream: S,
    peer: Peer,
    identity: Option<Arc<str>>,
    admission: Admission,
) -> impl Future<Output = ()> {
    // Needed only until CONNECT is in, and an upvar is kept for the future's whole life.
    let arrival = Box::new((peer, identity, admission));
    async move {
        let (mut reader, mut writer) = stream.halves();
        let mut rbuf = BytesMut::with_capacity(IDLE_READ);
        let established = {
            // Moved out of the capture so that the box is freed here, not with the future.
            let arrival = arrival;
            let (peer, identity, admission) = *arrival;
            Box::pin(establish::establish(
                &ctx,
                &mut reader,
                &mut writer,
                &mut rbuf,
                peer,
                identity,
                admission,
            ))
        };
        // Matched at once rather than bound: a binding would keep its room next to `conn`.
        let mut conn = match established.await {
            Some(established) => established,
            None => return,
        };
        let close = run(&ctx, &mut conn, &mut reader, &mut writer, &mut rbuf).await;
        Box::pin(finish(&ctx, conn, close, &mut reader, &mut writer)).await;
    }
}

/// Serves a connection whose CONNECT was handled elsewhere (a bridge's link to its remote
/// broker) until it closes; returns why it closed.
pub(crate) async fn serve_established<S: Duplex>(
    ctx: &ListenerContext,
    stream: &mut S,
    mut conn: ConnState,
    mut rbuf: BytesMut,
) -> String {
    let (mut reader, mut writer) = stream.halves();
    let close = run(ctx, &mut conn, &mut reader, &mut writer, &mut rbuf).await;
    let why = close.to_string();
    Box::pin(finish(ctx, conn, close, &mut reader, &mut writer)).await;
    why
}

async fn run<R, W>(
    ctx: &ListenerContext,
    conn: &mut ConnState,
    reader: &mut R,
    writer: &mut W,
    rbuf: &mut BytesMut,
) -> Close
where
    R: Input,
    W: AsyncWrite + Unpin,
{
    let metrics = &ctx.broker.metrics;
    let mut buffers = BufferCharge {
        memory: &ctx.broker.memory,
        held: 0,
    };
    let session = conn.session.clone();
    // Keep alive is watched by one broker-wide task (broker/keepalive.rs), which kicks the
    // connection; a timer here would cost every idle connection its size. This one exists
    // only while the client is held back, to look again when a subscriber holding it back
    // would count as stalled.
    let mut pace_timer: Option<Pin<Box<Sleep>>> = None;
    let stats = conn.stats.clone();
    let heard = |stats: &ConnStats| stats.heard(ctx.broker.clock_ms());
    let mut resent = false;
    // Packets that came in the same read as CONNECT are handled without waiting for more.
    conn.input_held = !rbuf.is_empty();
    let mut streaming = false;
    let mut drained = true;
    let mut trim = false;
    // Until a connection carries packets, it is treated as quiet: most never do much after
    // CONNECT, and buffers they held for a sweep interval would each leave a hole behind.
    let mut carried = false;
    loop {
        let mut pace_until = None;
        if !conn.paced_on.is_empty() {
            pace_until = conn.refresh_paced(metrics).map(Instant::from_std);
            if conn.paced_on.is_empty() {
                // Keep alive did not run while the client's packets were left unread.
                heard(&stats);
            }
        }
        if let Err(close) = conn.release_pending(&ctx.broker) {
            return close;
        }
        if let Some(side) = conn.bridge.as_deref_mut() {
            side.ping_if_due(&mut conn.out);
        }
        if conn.input_held && conn.paced_on.is_empty() {
            conn.input_held = false;
            match process_input(ctx, conn, rbuf) {
                Ok(handled) if handled > 0 => heard(&stats),
                Ok(_) => {}
                Err(close) => return close,
            }
            if !conn.paced_on.is_empty() {
                continue;
            }
        }
        add(&metrics.messages_sent, std::mem::take(&mut conn.packets_sent));
        // Nothing but CONNACK may go out until CONNACK has.
        if conn
            .connack_gate
            .as_ref()
            .is_some_and(|gate| gate.state() == GateState::Open)
        {
            conn.connack_gate = None;
        }
        if conn.connack_gate.is_none() {
            if !resent {
                resent = true;
                if conn.session_present {
                    // Unacknowledged messages of a resumed session go first [MQTT-4.4.0-1].
                    session.resend_inflight(conn.generation, conn.version, &mut conn.out);
                }
            }
            if conn.out.len() < FILL_UP_TO {
                let filled = session.fill(
                    conn.generation,
                    &mut conn.out,
                    FILL_UP_TO,
                    metrics,
                    ctx.broker.store(),
                );
                drained = filled.drained;
                let sent = filled.sent;
                if sent > 0 {
                    carried = true;
                    add_own(&conn.stats.messages_out, sent as u64);
                }
            }
        }
        let paced = !conn.paced_on.is_empty();
        if paced {
            // Its PINGREQs are among what is left unread.
            stats.suspend_keep_alive();
        }
        match (pace_until, &mut pace_timer) {
            (None, _) => pace_timer = None,
            (Some(at), Some(timer)) => timer.as_mut().reset(at),
            (Some(at), None) => pace_timer = Some(Box::pin(sleep_until(at))),
        }
        let reading = conn.out.len() < WRITE_HIGH_WATER && !paced;
        if reading {
            reserve_read(rbuf, streaming, R::WAITS, trim || !carried);
        }
        // Buffers stay while the connection is busy, and go once it has been quiet for a
        // sweep interval (kick.rs): an idle connection holds none. Big ones go when empty
        // even while messages keep coming.
        let trim_now = trim || !carried;
        if conn.out.is_empty() && ((trim_now && drained) || conn.out.capacity() > SHRINK_ABOVE) {
            conn.out = BytesMut::new();
        }
        if trim_now && drained && conn.pending.is_empty() && conn.pending.capacity() > 0 {
            conn.pending = Default::default();
        }
        trim = false;
        let idle_read = if R::WAITS { 0 } else { IDLE_READ };
        if conn.out.capacity() > 0 || conn.pending.capacity() > 0 || rbuf.capacity() > idle_read {
            stats.kick.mark_busy();
        } else {
            stats.kick.mark_bufferless();
        }
        buffers.set(rbuf.capacity() + conn.out.capacity());
        tokio::select! {
            biased;
            told = stats.kick.told() => {
                let code = match told {
                    Told::Trim => {
                        trim = true;
                        continue;
                    }
                    Told::Close(code) => code,
                };
                if code == ReasonCode::SESSION_TAKEN_OVER {
                    // Boxed: awaited inline, its state would sit in every connection's task
                    // for the rare takeover (about 120 bytes per idle connection).
                    if let Some(close) = Box::pin(handle_received(ctx, conn, reader, rbuf)).await {
                        return close;
                    }
                }
                return match code {
                    ReasonCode::SERVER_SHUTTING_DOWN => Close::Shutdown,
                    ReasonCode::KEEP_ALIVE_TIMEOUT => Close::KeepAliveTimeout,
                    code => Close::Kicked(code),
                };
            }
            written = writer.write(&conn.out), if !conn.out.is_empty() => {
                match written {
                    Ok(0) => return Close::Io("connection closed while writing".into()),
                    Ok(n) => {
                        conn.out.advance(n);
                        add(&metrics.bytes_sent, n as u64);
                        add_own(&conn.stats.bytes_out, n as u64);
                        if conn.out.is_empty() {
                            if let Err(e) = writer.flush().await {
                                return Close::Io(e.to_string());
                            }
                        }
                    }
                    Err(e) => return Close::Io(e.to_string()),
                }
            }
            read = input::read(reader, rbuf, IDLE_READ), if reading => {
                match read {
                    Ok((0, _)) => return Close::PeerClosed,
                    Ok((n, filled)) => {
                        // A read that filled the buffer means more is waiting: keep a big one.
                        streaming = filled;
                        add(&metrics.bytes_received, n as u64);
                        add_own(&conn.stats.bytes_in, n as u64);
                        match process_input(ctx, conn, rbuf) {
                            // [MQTT-3.1.2-22] keep alive is about control packets: bytes of a
                            // packet trickled in one at a time do not keep a connection open.
                            Ok(handled) if handled > 0 => {
                                carried = true;
                                heard(&stats);
                            }
                            Ok(_) => {}
                            Err(close) => return close,
                        }
                    }
                    Err(e) => return read_failure(ctx, e),
                }
            }
            _ = session.notify.notified() => {}
            // A subscriber that holds this client back may count as stalled by then.
            _ = OptionFuture::from(pace_timer.as_mut()), if pace_timer.is_some() => {}
        }
    }
}

/// What a connection's buffers hold against `limits.max_memory`, given back when it ends.
struct BufferCharge<'a> {
    memory: &'a MemoryBudget,
    held: usize,
}

impl BufferCharge<'_> {
    fn set(&mut self, now: usize) {
        if now > self.held {
            self.memory.reserve(now - self.held, false);
        } else {
            self.memory.release(self.held - now, false);
        }
        self.held = now;
    }
}

impl Drop for BufferCharge<'_> {
    fn drop(&mut self) {
        self.memory.release(self.held, false);
    }
}

/// What a failed read means: a WebSocket message over the size limit is a packet too large
/// (counted, and answered with DISCONNECT 0x95 like one on a plain socket); anything else is
/// the connection failing.
fn read_failure(ctx: &ListenerContext, e: std::io::Error) -> Close {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<OversizeMessage>())
    {
        Some(oversize) => {
            add(&ctx.broker.metrics.limits.packet_too_large, 1);
            Close::Error {
                reason: ReasonCode::PACKET_TOO_LARGE,
                detail: oversize.to_string(),
            }
        }
        None => Close::Io(e.to_string()),
    }
}

/// Keeps no buffer (`waits`: the reader can wait for input without one) or a small one for a
/// connection that went quiet (`trim`), whatever it has while it is busy, and a larger one
/// while packets stream in (`streaming`: the last read filled the buffer).
fn reserve_read(rbuf: &mut BytesMut, streaming: bool, waits: bool, trim: bool) {
    if trim && rbuf.is_empty() {
        // Most connections are idle most of the time: what a burst needed goes back.
        *rbuf = match waits {
            true => BytesMut::new(),
            false => BytesMut::with_capacity(IDLE_READ),
        };
        return;
    }
    if waits && rbuf.capacity() == 0 && !streaming {
        return;
    }
    let want = if rbuf.is_empty() && !streaming {
        IDLE_READ
    } else {
        READ_CHUNK
    };
    if rbuf.capacity() - rbuf.len() < want / 2 {
        rbuf.reserve(want);
    }
}

/// Handles the whole packets in the read buffer; returns how many there were. Stops early,
/// leaving the rest in the buffer, when a message could not be queued within bounds and the
/// client must be held back.
fn process_input(ctx: &ListenerContext, conn: &mut ConnState, rbuf: &mut BytesMut) -> Result<usize, Close> {
    let mut handled = 0;
    loop {
        if !conn.paced_on.is_empty() {
            conn.input_held = true;
            conn.topics.flush(&ctx.admin.topics);
            return Ok(handled);
        }
        let frame = match protocol::next_frame(rbuf, ctx.limits.max_packet_size) {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                // Topic counts go to the broker-wide figures once per read batch, not per message.
                conn.topics.flush(&ctx.admin.topics);
                return Ok(handled);
            }
            Err(FrameError::TooLarge { size, max }) => {
                add(&ctx.broker.metrics.limits.packet_too_large, 1);
                return Err(Close::Error {
                    reason: ReasonCode::PACKET_TOO_LARGE,
                    detail: format!("packet of {size} bytes exceeds the maximum of {max}"),
                });
            }
            Err(e) => {
                return Err(Close::Error {
                    reason: ReasonCode::MALFORMED_PACKET,
                    detail: e.to_string(),
                })
            }
        };
        add(&ctx.broker.metrics.messages_received, 1);
        // A bridge's link reads what its remote broker sends: a server's packets.
        let sender = if conn.bridge.is_some() {
            Sender::Server
        } else {
            Sender::Client
        };
        let packet =
            protocol::decode_front(conn.version, sender, rbuf, frame.len).map_err(|e| Close::Error {
                reason: undecodable_reason(frame.header, &e),
                detail: e.to_string(),
            })?;
        handler::handle(ctx, conn, packet)?;
        handled += 1;
    }
}

/// Why a packet after CONNECT that does not decode closes the connection. A CONNECT there is a
/// protocol error whatever it holds [MQTT-3.1.0-2]; its own refusals (unsupported version, client
/// identifier not valid) are CONNACK reasons, which a DISCONNECT cannot carry.
fn undecodable_reason(header: u8, e: &protocol::DecodeError) -> ReasonCode {
    if header >> 4 == 1 {
        ReasonCode::PROTOCOL_ERROR
    } else {
        e.reason_code()
    }
}

/// Most reads a connection taken over makes of what its client had already sent.
const TAKEN_OVER_READS: usize = 16;

/// Longest a connection taken over waits for a TLS or WebSocket layer to read what its socket
/// already holds (well within the time the new connection waits for it to close).
const UNSEEN_INPUT_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Handles, for a connection being taken over, the packets its client had already sent: those
/// in the read buffer and those waiting in the socket, without waiting for more. A DISCONNECT
/// among them decides the will and the session's expiry [MQTT-3.14.4-3] before the new
/// connection attaches. Packets held back by flow control are handled too: the queues take
/// them past their bound, and the connection ends. Returns how the packets ended the
/// connection, if they did.
///
/// A TLS or WebSocket layer decodes what its socket holds only once the runtime has seen the
/// socket readable, which may be after the new connection's CONNECT was handled: when the
/// kernel says input is waiting, the read waits for it, for [`UNSEEN_INPUT_WAIT`] at most.
async fn handle_received<R: Input>(
    ctx: &ListenerContext,
    conn: &mut ConnState,
    reader: &mut R,
    rbuf: &mut BytesMut,
) -> Option<Close> {
    let deadline = tokio::time::Instant::now() + UNSEEN_INPUT_WAIT;
    for _ in 0..TAKEN_OVER_READS {
        loop {
            conn.paced_on.clear();
            if let Err(close) = process_input(ctx, conn, rbuf) {
                return Some(close);
            }
            if conn.paced_on.is_empty() {
                break;
            }
        }
        let got = match reader.read_now(rbuf) {
            None if reader.has_unseen_input() => {
                match tokio::time::timeout_at(deadline, input::read(reader, rbuf, READ_CHUNK)).await {
                    Ok(read) => Some(read.map(|(n, _)| n)),
                    Err(_) => None,
                }
            }
            other => other,
        };
        match got {
            Some(Ok(n)) if n > 0 => add(&ctx.broker.metrics.bytes_received, n as u64),
            _ => return None,
        }
    }
    None
}

/// Ends a connection: publishes the will when due, detaches the session, and closes the
/// socket, telling a v5 client why when the server ends it.
async fn finish<R: Input, W: AsyncWrite + Unpin>(
    ctx: &ListenerContext,
    mut conn: ConnState,
    close: Close,
    reader: &mut R,
    writer: &mut W,
) {
    let broker = &ctx.broker;
    let server_reason = match &close {
        Close::Error { reason, .. } => Some(*reason),
        Close::Kicked(code) => Some(*code),
        Close::KeepAliveTimeout => Some(ReasonCode::KEEP_ALIVE_TIMEOUT),
        Close::Shutdown => Some(ReasonCode::SERVER_SHUTTING_DOWN),
        _ => None,
    };
    match &close {
        Close::Error { reason: code, detail } => tracing::warn!(
            client_id = %conn.client_id, peer = %conn.stats.peer, reason = code.description(),
            "closing connection: {detail}"
        ),
        other => tracing::info!(
            client_id = %conn.client_id, peer = %conn.stats.peer, reason = %other, "client disconnected"
        ),
    }
    let mut last = BytesMut::new();
    // A bridge's link is the client of its remote: it says why it leaves with a client's
    // reason codes.
    let server_reason = match server_reason {
        Some(ReasonCode::SERVER_SHUTTING_DOWN | ReasonCode::SESSION_TAKEN_OVER) if conn.bridge.is_some() => {
            Some(ReasonCode::SUCCESS)
        }
        Some(code)
            if conn.bridge.is_some()
                && code != ReasonCode::PROTOCOL_ERROR
                && code != ReasonCode::MALFORMED_PACKET =>
        {
            Some(ReasonCode::UNSPECIFIED_ERROR)
        }
        other => other,
    };
    if let Some(code) = server_reason.filter(|_| conn.version.is_v5()) {
        // DISCONNECT may carry a reason string whatever Request Problem Information said.
        let reason_string = match &close {
            Close::Error { detail, .. } => Some(detail.chars().take(200).collect::<String>().into()),
            _ => None,
        };
        let disconnect = Packet::Disconnect(Disconnect {
            reason: code,
            reason_string,
            ..Default::default()
        });
        if protocol::encode_within(conn.version, &disconnect, conn.max_packet_size, &mut conn.out).is_ok() {
            last = std::mem::take(&mut conn.out);
        }
    }
    // [MQTT-3.1.2-8] the will goes out unless the client disconnected normally (a server that
    // shuts down closes the connection, so wills go out then too).
    let publish_will = !matches!(close, Close::Normal { with_will: false });
    let will = conn.will.take().filter(|_| publish_will).map(|w| *w);
    broker.metrics.client_disconnected();
    // Before the socket is closed, which may take a while: the session and the will do not wait
    // for a client that is slow to read why it was disconnected.
    broker.detach(&conn.session, conn.connection_id, will);
    drop(conn);
    if server_reason.is_some() {
        // [MQTT-3.14.4-2] the sender of a DISCONNECT closes the connection: in an orderly way,
        // so that the client reads it rather than a reset.
        close::gracefully(reader, writer, &last).await;
    } else {
        let _ = writer.shutdown().await;
    }
}
