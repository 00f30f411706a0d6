//! One bridge's life: its local session and subscriptions, then connect to the remote, serve
//! the link until it drops, and connect again after a back-off, until the broker stops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{sleep, timeout};

use super::failure::LinkError;
use crate::client::tls::{server_name, TlsOptions};
use crate::client::ConnectOptions;
use crate::config::{BridgeSettings, Remote};
use crate::protocol::{
    self, Connack, Connect, Packet, QoS, ReasonCode, RetainHandling, Sender, Subscribe, SubscriptionOptions,
    Version,
};
use crate::server::broker::bridge_rules::Rules;
use crate::server::broker::bridges::BridgeStatus;
use crate::server::broker::{Changes, Subscription};
use crate::server::connection::{serve_established, Duplex, SocketHandle, Split};
use crate::server::context::ListenerContext;
use crate::server::handler::bridge_side::{Side, CLIENT_ID_PREFIX};
use crate::server::handler::{self, ConnState};
use crate::server::listener::ws;
use crate::server::peer::Peer;

/// First wait before connecting again; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(120);
/// A link that stayed up this long starts the back-off over.
const STABLE_AFTER: Duration = Duration::from_secs(60);
/// TCP connect, TLS handshake and CONNACK, each.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a bridge being stopped waits for its link to say DISCONNECT and close.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Runs the bridge until the broker shuts down, or until `stop` turns true (SIGHUP removed or
/// changed it): the link then says DISCONNECT to the remote and closes. `ctx` is the bridges'
/// own context (anonymous, no ACL, allowed the `$bridge/` client ids).
pub async fn run(settings: BridgeSettings, ctx: Arc<ListenerContext>, stop: watch::Receiver<bool>) {
    let name = settings.name.clone();
    let status = run_until_stopped(settings, ctx.clone(), stop).await;
    if let Some(status) = status {
        ctx.broker.bridges.remove(&status);
    }
    tracing::debug!(bridge = %name, "bridge task ended");
}

/// [`run`]; returns the bridge's status when `stop` ended it, for the caller to drop.
async fn run_until_stopped(
    settings: BridgeSettings,
    ctx: Arc<ListenerContext>,
    mut stop: watch::Receiver<bool>,
) -> Option<Arc<BridgeStatus>> {
    let name: Arc<str> = Arc::from(settings.name.as_str());
    let Ok(remote) = Remote::parse(&settings.remote) else {
        // Validated with the configuration.
        return None;
    };
    let rules = Arc::new(Rules::new(&settings.topics));
    let status = ctx
        .broker
        .bridges
        .add(BridgeStatus::new(name.clone(), settings.remote.clone()));
    let version = if settings.protocol == 4 {
        Version::V3_1_1
    } else {
        Version::V5
    };
    if let Err(e) = prepare_local_session(&ctx, &settings, version, &rules, &status).await {
        tracing::error!(bridge = %name, "bridge not started: {e}");
        return Some(status.clone());
    }
    let mut shutdown = ctx.shutdown.clone();
    let mut backoff = MIN_BACKOFF;
    let mut last_failure: Option<String> = None;
    // A 3.1.1 link first says it is a bridge (see `handshake`), until the remote refuses that.
    let marker = AtomicBool::new(version == Version::V3_1_1);
    loop {
        let started = tokio::time::Instant::now();
        let marked = marker.load(Ordering::Relaxed);
        let attempt = connect_and_serve(&ctx, &settings, &remote, version, &rules, &name, &status, &marker);
        tokio::pin!(attempt);
        let outcome = tokio::select! {
            outcome = &mut attempt => Some(outcome),
            _ = shutdown.wait_for(|&stop| stop) => return None,
            _ = stop.wait_for(|&stop| stop) => None,
        };
        let Some(outcome) = outcome else {
            // A link that is up leaves like at shutdown: DISCONNECT, then close.
            if status.close_link(ReasonCode::SERVER_SHUTTING_DOWN) {
                let _ = timeout(STOP_GRACE, attempt).await;
            }
            tracing::info!(bridge = %name, remote = %settings.remote, "bridge stopped");
            return Some(status.clone());
        };
        if marked && !marker.load(Ordering::Relaxed) {
            tracing::info!(
                bridge = %name,
                remote = %settings.remote,
                "the remote does not accept a bridge's protocol level (0x84); connecting as a plain 3.1.1 client: messages of a \"both\" rule may come back once"
            );
            continue;
        }
        match outcome {
            Ok(why) => {
                tracing::info!(bridge = %name, remote = %settings.remote, "bridge link closed: {why}");
                status.disconnected(Some(format!("link closed: {why}")));
                last_failure = None;
                if started.elapsed() >= STABLE_AFTER {
                    backoff = MIN_BACKOFF;
                }
            }
            Err(failure) => {
                let failure = failure.to_string();
                status.disconnected(Some(failure.clone()));
                // Once per change: a remote that stays down for a day does not fill the log.
                if last_failure.as_deref() != Some(failure.as_str()) {
                    tracing::warn!(bridge = %name, remote = %settings.remote, "bridge cannot connect: {failure}; trying again with back-off");
                }
                last_failure = Some(failure);
            }
        }
        if *shutdown.borrow() {
            return None;
        }
        if *stop.borrow() {
            tracing::info!(bridge = %name, remote = %settings.remote, "bridge stopped");
            return Some(status.clone());
        }
        let wait = jitter(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
        let stopped = tokio::select! {
            _ = sleep(wait) => false,
            _ = shutdown.wait_for(|&stop| stop) => return None,
            _ = stop.wait_for(|&stop| stop) => true,
        };
        if stopped {
            tracing::info!(bridge = %name, remote = %settings.remote, "bridge stopped");
            return Some(status.clone());
        }
    }
}

/// Between 75 % and 100 % of `backoff`, so that bridges of many edge brokers that lost the
/// same remote do not come back all at once.
fn jitter(backoff: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    backoff.mul_f64(0.75 + 0.25 * f64::from(nanos % 1000) / 1000.0)
}

/// Ends the session of a bridge that was removed from the configuration, and with it what it
/// had queued for the remote: nothing would ever take it, and the session would keep
/// collecting what its filters match. Run once the bridge's task has ended.
pub async fn discard_session(ctx: &ListenerContext, settings: &BridgeSettings) {
    let mut connect = local_connect(settings, Version::V5, None);
    connect.clean_start = true;
    connect.session_expiry = 0;
    match handler::connect::accept(ctx, connect, Peer::Unix, None).await {
        Ok(conn) => {
            ctx.broker.detach(&conn.session, conn.connection_id, None);
            ctx.broker.metrics.client_disconnected();
            tracing::info!(bridge = %settings.name, "removed bridge: its session and what it had queued are discarded");
        }
        Err(refusal) => {
            tracing::warn!(bridge = %settings.name, "cannot discard the removed bridge's session: {}", refusal.detail);
        }
    }
}

/// The client id of the bridge's own session here.
fn local_client_id(name: &str) -> Arc<str> {
    Arc::from(format!("{CLIENT_ID_PREFIX}{name}"))
}

/// The CONNECT this side's session is attached with, as if the remote were its client.
fn local_connect(settings: &BridgeSettings, version: Version, connack: Option<&Connack>) -> Connect {
    let props = connack.map(|c| &c.properties);
    Connect {
        version,
        clean_start: false,
        // The remote is heard from at least every half keep alive (its PINGRESP).
        keep_alive: settings.keepalive.as_secs().min(u16::MAX as u64) as u16,
        client_id: local_client_id(&settings.name),
        username: None,
        password: None,
        will: None,
        session_expiry: u32::MAX,
        receive_maximum: props.and_then(|p| p.receive_maximum).unwrap_or(u16::MAX),
        maximum_packet_size: props.and_then(|p| p.maximum_packet_size),
        topic_alias_maximum: 0,
        request_response_info: false,
        request_problem_info: true,
        user_properties: Vec::new(),
        auth_method: None,
        auth_data: None,
        bridge: false,
    }
}

/// Attaches the bridge's session once, subscribes it to the "out" filters and leaves it
/// offline: from then on what it is subscribed to is queued in the store, whether or not the
/// remote can be reached.
async fn prepare_local_session(
    ctx: &ListenerContext,
    settings: &BridgeSettings,
    version: Version,
    rules: &Rules,
    status: &BridgeStatus,
) -> Result<(), LinkError> {
    let connect = local_connect(settings, version, None);
    let conn = handler::connect::accept(ctx, connect, Peer::Unix, None)
        .await
        .map_err(|refusal| LinkError::LocalSession(refusal.detail.clone()))?;
    status.set_session(conn.session.clone());
    ctx.broker
        .bound_queue_dropping_oldest(&conn.session, settings.max_queued_bytes);
    drop_stale_subscriptions(ctx, &conn, rules);
    subscribe_locally(ctx, &conn, rules, QoS::ExactlyOnce);
    ctx.broker.detach(&conn.session, conn.connection_id, None);
    ctx.broker.metrics.client_disconnected();
    Ok(())
}

/// Unsubscribes the bridge's session from filters that are no longer "out" rules (the
/// configuration changed since it was stored): what they matched would have no rule to be
/// renamed by.
fn drop_stale_subscriptions(ctx: &ListenerContext, conn: &ConnState, rules: &Rules) {
    let mut stale = conn.session.subscription_filters();
    stale.retain(|filter| !rules.outgoing().any(|rule| rule.local_filter == *filter));
    let mut changes = Changes::default();
    for filter in &stale {
        ctx.broker.unsubscribe(&conn.session, filter, &mut changes);
    }
    if !changes.is_empty() {
        tracing::info!(bridge = %conn.client_id, filters = ?stale, "no longer forwarded: not an \"out\" rule any more");
        ctx.broker.commit_changes(changes, None);
    }
}

/// Subscribes the bridge's session to every "out" filter: no local, so that what came in
/// through this bridge does not go back out through it, and retain as published, so that the
/// remote gets the RETAIN flag as it was published here.
fn subscribe_locally(ctx: &ListenerContext, conn: &ConnState, rules: &Rules, max_qos: QoS) {
    let mut changes = Changes::default();
    for rule in rules.outgoing() {
        let subscription = Subscription {
            options: SubscriptionOptions {
                qos: rule.qos.min(max_qos),
                no_local: true,
                retain_as_published: true,
                // The retained messages go out once, when the bridge is first set up.
                retain_handling: RetainHandling::SendIfNew,
            },
            id: None,
        };
        ctx.broker
            .subscribe(&conn.session, &rule.local_filter, subscription, &mut changes);
    }
    ctx.broker.commit_changes(changes, None);
}

/// One link: connects, serves it until it drops; `Ok` is why it closed, `Err` why it could
/// not be made. The loop above keeps the text of either as the bridge's status (shown as is by
/// `bridges/list`) and compares a failure's to log it once.
#[allow(clippy::too_many_arguments)]
async fn connect_and_serve(
    ctx: &ListenerContext,
    settings: &BridgeSettings,
    remote: &Remote,
    version: Version,
    rules: &Arc<Rules>,
    name: &Arc<str>,
    status: &BridgeStatus,
    marker: &AtomicBool,
) -> Result<String, LinkError> {
    let address = format!("{}:{}", remote.host, remote.port);
    let tcp = timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((remote.host.as_str(), remote.port)),
    )
    .await
    .map_err(|_| LinkError::NoAnswer {
        address: address.clone(),
        after: CONNECT_TIMEOUT,
    })?
    .map_err(|source| LinkError::Connect {
        address: address.clone(),
        source,
    })?;
    let _ = tcp.set_nodelay(true);
    let peer = tcp.peer_addr().map_or(Peer::Unix, Peer::from);
    let socket = SocketHandle::of(&tcp);
    let link = (ctx, settings, remote, version, rules, name, status, marker);
    let max_message = ctx.limits.max_packet_size;
    let url = |scheme: &str| {
        let host = if remote.host.contains(':') {
            format!("[{}]", remote.host)
        } else {
            remote.host.clone()
        };
        let path = remote.websocket.as_deref().unwrap_or("/");
        format!("{scheme}://{host}:{}{path}", remote.port)
    };
    let upgrade_timeout = |_| LinkError::UpgradeTimeout {
        address: address.clone(),
        after: CONNECT_TIMEOUT,
    };
    let upgrade_failed = |source| LinkError::Upgrade {
        address: address.clone(),
        source: Box::new(source),
    };
    if remote.tls {
        let tls = TlsOptions {
            ca_file: settings.cafile.clone(),
            cert: settings.cert.clone(),
            key: settings.key.clone(),
            insecure: settings.insecure,
        };
        let config = tls.client_config()?;
        let server = server_name(&remote.host)?;
        let stream = timeout(
            CONNECT_TIMEOUT,
            tokio_rustls::TlsConnector::from(config).connect(server, tcp),
        )
        .await
        .map_err(|_| LinkError::TlsTimeout {
            address: address.clone(),
            after: CONNECT_TIMEOUT,
        })?
        .map_err(|source| LinkError::TlsHandshake {
            address: address.clone(),
            source,
        })?;
        if remote.websocket.is_some() {
            let ws = timeout(CONNECT_TIMEOUT, ws::connect(stream, &url("wss"), max_message))
                .await
                .map_err(upgrade_timeout)?
                .map_err(upgrade_failed)?;
            return handshake_and_serve(Split::new(ws, socket), peer, link).await;
        }
        handshake_and_serve(Split::new(stream, socket), peer, link).await
    } else if remote.websocket.is_some() {
        let ws = timeout(CONNECT_TIMEOUT, ws::connect(tcp, &url("ws"), max_message))
            .await
            .map_err(upgrade_timeout)?
            .map_err(upgrade_failed)?;
        handshake_and_serve(Split::new(ws, socket), peer, link).await
    } else {
        handshake_and_serve(tcp, peer, link).await
    }
}

/// What a link is made of, beside its stream.
type LinkParts<'a> = (
    &'a ListenerContext,
    &'a BridgeSettings,
    &'a Remote,
    Version,
    &'a Arc<Rules>,
    &'a Arc<str>,
    &'a BridgeStatus,
    &'a AtomicBool,
);

/// CONNECT and CONNACK on `stream`, then serves it.
async fn handshake_and_serve<S: Duplex>(
    mut stream: S,
    peer: Peer,
    link: LinkParts<'_>,
) -> Result<String, LinkError> {
    let (ctx, settings, remote, version, rules, name, status, marker) = link;
    let mut rbuf = BytesMut::with_capacity(1024);
    let connack = handshake(&mut stream, settings, remote, version, marker, &mut rbuf).await?;
    serve_link(
        ctx,
        settings,
        &mut stream,
        connack,
        rbuf,
        rules,
        name,
        peer,
        status,
    )
    .await
}

/// Serves a link whose CONNACK came in, as this side's session's connection.
#[allow(clippy::too_many_arguments)]
async fn serve_link<S: Duplex>(
    ctx: &ListenerContext,
    settings: &BridgeSettings,
    stream: &mut S,
    connack: Connack,
    rbuf: BytesMut,
    rules: &Arc<Rules>,
    name: &Arc<str>,
    peer: Peer,
    status: &BridgeStatus,
) -> Result<String, LinkError> {
    let version = if settings.protocol == 4 {
        Version::V3_1_1
    } else {
        Version::V5
    };
    let connect = local_connect(settings, version, Some(&connack));
    let mut conn = handler::connect::accept(ctx, connect, peer, None)
        .await
        .map_err(|refusal| LinkError::LocalSession(refusal.detail.clone()))?;
    // The CONNACK that a client would get: the remote is not a client.
    for pending in &mut conn.pending {
        pending.packets.retain(|p| !matches!(p, Packet::Connack(_)));
    }
    conn.session.rename_with(rules.clone());
    let max_qos = connack.properties.maximum_qos.unwrap_or(QoS::ExactlyOnce);
    if max_qos < QoS::ExactlyOnce {
        subscribe_locally(ctx, &conn, rules, max_qos);
    }
    let incoming: Vec<(Arc<str>, SubscriptionOptions)> = rules
        .incoming()
        .map(|rule| {
            (
                rule.remote_filter.clone(),
                SubscriptionOptions {
                    qos: rule.qos,
                    // v5: what this bridge sends out does not come back to it.
                    no_local: true,
                    retain_as_published: true,
                    retain_handling: RetainHandling::SendIfNew,
                },
            )
        })
        .collect();
    if !incoming.is_empty() {
        let packet_id = conn.session.allocate_packet_id();
        let subscribe = Packet::Subscribe(Subscribe {
            packet_id,
            subscription_id: None,
            filters: incoming,
        });
        protocol::encode(version, &subscribe, &mut conn.out).map_err(LinkError::EncodeSubscribe)?;
    }
    conn.bridge = Some(Box::new(Side::new(
        name.clone(),
        rules.clone(),
        settings.keepalive,
    )));
    status.connected(conn.stats.clone());
    tracing::info!(bridge = %name, remote = %settings.remote, session_present = connack.session_present, "bridge connected");
    // The link's loop wakes for its session; this wakes it to send PINGREQ on time.
    let pinger = settings
        .keepalive
        .checked_div(2)
        .filter(|d| !d.is_zero())
        .map(|every| {
            let session = conn.session.clone();
            tokio::spawn(async move {
                loop {
                    sleep(every).await;
                    session.notify.notify_one();
                }
            })
        });
    let why = serve_established(ctx, stream, conn, rbuf).await;
    if let Some(pinger) = pinger {
        pinger.abort();
    }
    Ok(why)
}

/// Sends CONNECT and reads the CONNACK; a refusal is an `Err` naming the reason.
///
/// While `marker` is set, a 3.1.1 CONNECT carries Mosquitto's bridge convention, the protocol
/// level with its top bit set (0x84): a remote that knows it (Mosquitto, robustmq) then does not
/// send the bridge's own messages back to it and keeps their retained flags, which 3.1.1 has
/// no subscription options for. A remote that refuses the level (return code 1) or closes the
/// connection at it clears `marker`, and the next attempt is a plain 3.1.1 CONNECT.
async fn handshake<S: Duplex>(
    stream: &mut S,
    settings: &BridgeSettings,
    remote: &Remote,
    version: Version,
    marker: &AtomicBool,
    rbuf: &mut BytesMut,
) -> Result<Connack, LinkError> {
    let password = match (&settings.password, &settings.password_file) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .map_err(|source| LinkError::PasswordFile {
                    path: file.clone(),
                    source,
                })?
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
        (None, None) => None,
    };
    let mut opts = ConnectOptions::new(remote.host.clone(), remote.port, version);
    opts.client_id = Arc::from(
        settings
            .client_id
            .clone()
            .unwrap_or_else(|| format!("robustmq-{}-{}", hostname(), settings.name)),
    );
    opts.clean_start = settings.clean_start;
    opts.keep_alive = settings.keepalive.as_secs().min(u16::MAX as u64) as u16;
    // The remote keeps the session (and what it queued for the "in" filters) as long as it
    // allows, unless a clean start was asked for.
    opts.session_expiry = if settings.clean_start { 0 } else { u32::MAX };
    opts.username = settings.username.as_deref().map(Arc::from);
    opts.password = password.map(bytes::Bytes::from);
    let marked = marker.load(Ordering::Relaxed) && !version.is_v5();
    let mut connect = opts.connect_packet();
    if let Packet::Connect(c) = &mut connect {
        c.bridge = marked;
    }
    let mut out = BytesMut::new();
    protocol::encode(version, &connect, &mut out).map_err(LinkError::EncodeConnect)?;
    let refused_marker = || {
        marker.store(false, Ordering::Relaxed);
        LinkError::MarkerRefused
    };
    let (mut reader, mut writer) = stream.halves();
    writer.write_all(&out).await.map_err(LinkError::SendConnect)?;
    // Over WebSocket (and TLS) a write is buffered until flushed.
    writer.flush().await.map_err(LinkError::SendConnect)?;
    loop {
        if rbuf.len() >= 2 && matches!(rbuf[0], 0x15 | 0x16) && rbuf[1] == 0x03 {
            return Err(LinkError::TlsPort);
        }
        if let Some(frame) = protocol::next_frame(rbuf, usize::MAX).map_err(LinkError::BadConnack)? {
            let packet = protocol::decode_front(version, Sender::Server, rbuf, frame.len)
                .map_err(LinkError::BadAnswer)?;
            return match packet {
                Packet::Connack(c) if !c.reason.is_error() => Ok(c),
                Packet::Connack(c) if marked && c.reason == ReasonCode::UNSUPPORTED_PROTOCOL_VERSION => {
                    Err(refused_marker())
                }
                Packet::Connack(c) => Err(LinkError::Refused {
                    reason: c.reason,
                    reason_string: c.properties.reason_string.as_deref().map(str::to_string),
                }),
                other => Err(LinkError::Unexpected(other.name())),
            };
        }
        rbuf.reserve(1024);
        match reader.read_buf(rbuf).await {
            Ok(0) if marked => return Err(refused_marker()),
            Ok(0) => return Err(LinkError::ClosedBeforeConnack),
            Ok(_) => {}
            Err(e) => return Err(LinkError::ReadConnack(e)),
        }
    }
}

/// This machine's name, for the default client id at the remote.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "host".into())
}
