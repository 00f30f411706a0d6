//! SIGHUP: a new configuration put in force where it can change while the broker runs.
//!
//! Everything that can fail is read and checked first (the configuration itself, then the
//! password, ACL and certificate files it names); only then is anything changed, so a bad
//! file leaves the broker as it was. Which keys apply live and which wait for a restart is
//! decided in [`crate::config::diff`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use super::admin::Admin;
use super::bridge;
use super::broker::{Broker, QueueLimits};
use super::context::{ConnectionLimits, ListenerContext, SharedContext};
use super::listener::anonymous::Anonymous;
use super::listener::tls::{Tls, TlsFiles};
use super::open_files;
use super::rate::ConnectionRate;
use crate::auth::{Auth, AuthFiles};
use crate::client::tls::TlsOptions;
use crate::config::{
    diff, listeners_rebind, BridgeSettings, ConfigError, Limits, ListenerSettings, Settings,
};

/// Changes the log filter; `None` when the command line or `RUST_LOG` set it for good.
pub type SetLogFilter = Arc<dyn Fn(&str) -> Result<(), SetLogFilterError> + Send + Sync>;

/// Why the log filter could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum SetLogFilterError {
    /// The filter does not parse.
    #[error(transparent)]
    Parse(#[from] tracing_subscriber::filter::ParseError),
    /// The subscriber holding the filter is gone.
    #[error(transparent)]
    Reload(#[from] tracing_subscriber::reload::Error),
}

/// Why a reload changed nothing: a file the new configuration names cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The password or ACL file.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    /// The certificate or key of a TLS listener.
    #[error("listeners[{index}]: {error}")]
    ListenerTls {
        /// The listener's position in the configuration.
        index: usize,
        /// What is wrong with its files.
        error: super::listener::tls::TlsError,
    },
    /// The TLS files of a bridge.
    #[error(transparent)]
    BridgeTls(#[from] BridgeTlsError),
}

/// A bridge's TLS file (CA, certificate or key) that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("bridges.{bridge}: {error}")]
pub struct BridgeTlsError {
    /// The bridge's name.
    pub bridge: String,
    /// Which file, and what is wrong with it. Boxed: rustls's errors are large, and this
    /// one rides in the `Err` of every check.
    pub error: Box<crate::client::tls::TlsConfigError>,
}

/// How long a reload waits for a stopped bridge's task to end, beyond the link's own grace.
const BRIDGE_STOP_WAIT: Duration = Duration::from_secs(10);

/// What a listener's connections get from the configuration, for those accepted from now on.
#[derive(Debug)]
pub(super) struct LiveListener {
    pub ctx: Arc<SharedContext>,
    pub tls: Option<Arc<Tls>>,
    /// Loopback or Unix socket: anonymous clients are allowed unless the file says otherwise.
    pub local: bool,
}

/// A bridge's task, and how to stop it.
#[derive(Debug)]
struct RunningBridge {
    settings: BridgeSettings,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The running bridges and the context new ones get.
#[derive(Debug)]
struct Bridges {
    running: Vec<RunningBridge>,
    ctx: Arc<ListenerContext>,
}

/// What a reload changes, shared by the server and the SIGHUP task.
pub struct Live {
    /// The configuration in force: the file as last loaded, except for the keys that need a
    /// restart, which keep their running values.
    settings: Mutex<Settings>,
    broker: Arc<Broker>,
    auth: Arc<Auth>,
    admin: Arc<Admin>,
    shutdown: watch::Receiver<bool>,
    listeners: Vec<LiveListener>,
    /// `limits.max_connections`: the permits, and how many there are meant to be.
    permits: Arc<Semaphore>,
    max_connections: AtomicUsize,
    rate: Arc<ConnectionRate>,
    /// Held across a reload (which waits for stopped bridges), so reloads do not interleave.
    bridges: tokio::sync::Mutex<Bridges>,
    log_filter: Mutex<Option<SetLogFilter>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

/// The limits a connection gets.
pub(super) fn connection_limits(limits: &Limits) -> ConnectionLimits {
    ConnectionLimits {
        max_packet_size: limits.max_packet_size as usize,
        receive_maximum: limits.max_inflight,
        min_keepalive: limits.min_keepalive,
        max_keepalive: limits.max_keepalive,
        connect_timeout: limits.connect_timeout,
        topic_alias_maximum: limits.topic_alias_maximum,
        max_topic_length: limits.max_topic_length.into(),
        max_topic_levels: limits.max_topic_levels.into(),
        max_subscriptions: limits.max_subscriptions_per_client,
        max_publish_rate: limits.max_publish_rate,
        max_publish_bytes_rate: limits.max_publish_bytes_rate,
        publish_rate_action: limits.publish_rate_action,
    }
}

/// The queue bounds a session gets.
pub(super) fn queue_limits(settings: &Settings) -> QueueLimits {
    let limits = &settings.limits;
    QueueLimits {
        max_messages: limits.max_queued_messages,
        max_bytes: limits.max_queued_bytes.min(usize::MAX as u64) as usize,
        max_store_bytes: settings.store.max_store_bytes,
        stalled_after: limits.stalled_after,
        drop_oldest: false,
    }
}

/// `limits.max_memory` in bytes.
pub(super) fn max_memory(limits: &Limits) -> usize {
    limits.max_memory.bytes().min(usize::MAX as u64) as usize
}

/// Whether a listener lets anonymous clients in.
pub(super) fn anonymous(settings: &ListenerSettings, local: bool) -> Anonymous {
    match settings.allow_anonymous {
        Some(true) => Anonymous::Accepted,
        Some(false) => Anonymous::Refused,
        None if local => Anonymous::Accepted,
        None => Anonymous::RefusedByDefault,
    }
}

/// What [`Live::new`] is built from: the server's parts that a reload changes.
pub(super) struct Parts {
    pub settings: Settings,
    pub broker: Arc<Broker>,
    pub auth: Arc<Auth>,
    pub admin: Arc<Admin>,
    pub shutdown: watch::Receiver<bool>,
    pub listeners: Vec<LiveListener>,
    pub permits: Arc<Semaphore>,
    pub rate: Arc<ConnectionRate>,
}

impl Live {
    /// The live state of a server that just started; starts its bridges.
    pub(super) fn new(parts: Parts) -> Arc<Live> {
        let limits = &parts.settings.limits;
        let ctx = Arc::new(bridge_context(
            &parts.broker,
            &parts.shutdown,
            &parts.admin,
            limits,
        ));
        let running = parts
            .settings
            .bridges
            .iter()
            .map(|b| start_bridge(b, &ctx))
            .collect();
        Arc::new(Live {
            max_connections: AtomicUsize::new(limits.max_connections),
            bridges: tokio::sync::Mutex::new(Bridges { running, ctx }),
            settings: Mutex::new(parts.settings),
            broker: parts.broker,
            auth: parts.auth,
            admin: parts.admin,
            shutdown: parts.shutdown,
            listeners: parts.listeners,
            permits: parts.permits,
            rate: parts.rate,
            log_filter: Mutex::new(None),
        })
    }

    /// Lets reloads change the log filter.
    pub fn set_log_filter(&self, set: SetLogFilter) {
        *lock(&self.log_filter) = Some(set);
    }

    /// `limits.max_connections` in force, for the shutdown to wait for every slot.
    pub(super) fn max_connections(&self) -> usize {
        self.max_connections.load(Ordering::Relaxed)
    }

    /// The bridges' tasks, for the shutdown to wait for.
    pub(super) async fn bridge_tasks(&self) -> Vec<JoinHandle<()>> {
        let mut bridges = self.bridges.lock().await;
        bridges.running.drain(..).map(|b| b.task).collect()
    }

    /// Reads the files the configuration in force names again (password, ACL, certificates),
    /// as a reload with an unchanged configuration does.
    pub async fn reread_files(&self) {
        let settings = lock(&self.settings).clone();
        self.reload(Ok(settings), "the configuration").await;
    }

    /// Puts `loaded` (the configuration file read again, with the command line's overrides)
    /// in force where it can change live, and logs what changed. A configuration that
    /// cannot be loaded, or names a file that cannot be used, changes nothing and is logged in
    /// one error line. `name` is the file, for the log lines.
    pub async fn reload(&self, loaded: Result<Settings, ConfigError>, name: &str) {
        // One reload at a time: a second SIGHUP waits for the first.
        let mut bridges = self.bridges.lock().await;
        let new = match loaded {
            Ok(new) => new,
            Err(e) => {
                tracing::error!("reload failed, the running configuration stays: {e}");
                return;
            }
        };
        let old = lock(&self.settings).clone();
        let prepared = match self.prepare(&old, &new) {
            Ok(prepared) => prepared,
            Err(e) => {
                tracing::error!("reload of {name} failed, the running configuration stays: {e}");
                return;
            }
        };
        let changes = diff(&old, &new);
        let rebind = listeners_rebind(&old.listeners, &new.listeners);
        let auth_was_configured = self.auth.is_configured();
        self.auth.install(prepared.auth);
        if !auth_was_configured && self.auth.is_configured() {
            self.register_connected_users();
        }
        if let Some(path) = &new.auth.password_file {
            tracing::info!(file = %path.display(), users = self.auth.users(), "password file reloaded");
        }
        if let (Some(path), Some(acl)) = (&new.auth.acl_file, self.auth.acl()) {
            tracing::info!(file = %path.display(), rules = acl.rules(), "ACL file reloaded");
        }
        if new.auth.acl_file.is_some() {
            // The first ACL since the start: deliveries and wills are checked from now on.
            self.broker.set_access_check(self.auth.clone());
        }
        for (listener, files) in self.listeners.iter().zip(prepared.tls) {
            if let (Some(tls), Some(files)) = (&listener.tls, files) {
                tls.install(files);
                tracing::info!(cert = %tls.cert_file().display(), "TLS certificate reloaded");
            }
        }
        if old.limits != new.limits {
            self.apply_limits(&new);
        }
        let running_listeners = if rebind { &old.listeners } else { &new.listeners };
        if old.limits != new.limits || !rebind {
            for (listener, settings) in self.listeners.iter().zip(running_listeners) {
                let allow = anonymous(settings, listener.local) == Anonymous::Accepted;
                let ctx = listener_context(self, &new.limits, allow);
                listener.ctx.set(ctx);
            }
        }
        if old.limits != new.limits {
            bridges.ctx = Arc::new(bridge_context(
                &self.broker,
                &self.shutdown,
                &self.admin,
                &new.limits,
            ));
        }
        self.apply_bridges(&mut bridges, &new.bridges).await;
        if changes.is_empty() {
            tracing::info!("reloaded {name}: no change; password, ACL and certificate files read again");
        } else if changes.restart.is_empty() {
            tracing::info!("reloaded {name}: {}", changes.live.join(", "));
        } else {
            let live = if changes.live.is_empty() {
                "nothing that applies live".to_owned()
            } else {
                changes.live.join(", ")
            };
            tracing::info!(
                "reloaded {name}: {live}; needs a restart: {}",
                changes.restart.join(", ")
            );
            tracing::warn!(
                "{name}: {} changed and needs a restart; the running values stay until then",
                changes.restart.join(", ")
            );
        }
        if old.server.log_level != new.server.log_level {
            match lock(&self.log_filter).as_ref() {
                Some(set) => match set(&new.server.log_level) {
                    Ok(()) => tracing::debug!(filter = %new.server.log_level, "log filter changed"),
                    // Checked with the configuration: not expected.
                    Err(e) => tracing::error!("cannot change the log filter: {e}"),
                },
                None => {
                    tracing::warn!("server.log_level changed, but RUST_LOG sets the log filter: it stays")
                }
            }
        }
        let mut in_force = new;
        in_force.server.data_dir = old.server.data_dir.clone();
        in_force.server.sys_interval = old.server.sys_interval;
        in_force.store = old.store.clone();
        in_force.metrics = old.metrics.clone();
        if rebind {
            in_force.listeners = old.listeners.clone();
        }
        *lock(&self.settings) = in_force;
    }

    /// Reads and checks the files `new` names: nothing is changed unless all of them can be
    /// used.
    fn prepare(&self, old: &Settings, new: &Settings) -> Result<Prepared, ReloadError> {
        let auth = AuthFiles::read(&new.auth)?;
        // Listeners that stay bound take their new files; otherwise they keep their own,
        // read again.
        let running = if listeners_rebind(&old.listeners, &new.listeners) {
            &old.listeners
        } else {
            &new.listeners
        };
        let mut tls = Vec::new();
        for ((index, listener), settings) in self.listeners.iter().enumerate().zip(running) {
            tls.push(match &listener.tls {
                Some(_) => Some(
                    TlsFiles::read(settings).map_err(|error| ReloadError::ListenerTls { index, error })?,
                ),
                None => None,
            });
        }
        for bridge in &new.bridges {
            check_bridge_tls(bridge)?;
        }
        Ok(Prepared { auth, tls })
    }

    /// The first password or ACL file since the start: the clients already connected registered
    /// no user name (nothing is kept without a file), and the ACL, finding none, would deny
    /// them everything. Their connections carry the name they logged in with; register it.
    /// A client connecting meanwhile registers itself (the files are installed before this
    /// runs), and a late registration here never replaces its entry.
    fn register_connected_users(&self) {
        for session in self.broker.sessions_snapshot() {
            let username = session.lock().conn().map(|conn| conn.username.clone());
            if let Some(username) = username {
                let client_id = session.client_id.clone();
                self.auth.register_connected(&client_id, session, username);
            }
        }
    }

    /// New limits for what is created from now on, and the broker-wide ones at once.
    fn apply_limits(&self, new: &Settings) {
        let limits = &new.limits;
        self.broker.set_queue_limits(queue_limits(new));
        self.broker.memory.set_max(max_memory(limits));
        self.rate.set(limits.max_connections_per_second);
        let cap = |n: usize| n.min(Semaphore::MAX_PERMITS);
        let old = cap(self
            .max_connections
            .swap(limits.max_connections, Ordering::Relaxed));
        let new_max = cap(limits.max_connections);
        if new_max > old {
            open_files::raise_for(new_max);
            self.permits.add_permits(new_max - old);
        } else if new_max < old {
            // Slots in use are taken back as their connections close: no one is dropped.
            let rest = (old - new_max) - self.permits.forget_permits(old - new_max);
            if rest > 0 {
                let permits = self.permits.clone();
                tokio::spawn(async move {
                    if let Ok(taken) = permits
                        .acquire_many_owned(rest.min(u32::MAX as usize) as u32)
                        .await
                    {
                        taken.forget();
                    }
                });
            }
        }
    }

    /// Stops the bridges removed or changed, starts the ones added or changed; the others are
    /// left alone.
    async fn apply_bridges(&self, bridges: &mut Bridges, new: &[BridgeSettings]) {
        let (keep, stop): (Vec<_>, Vec<_>) = std::mem::take(&mut bridges.running)
            .into_iter()
            .partition(|b| new.contains(&b.settings));
        bridges.running = keep;
        for bridge in stop {
            let _ = bridge.stop.send(true);
            if tokio::time::timeout(BRIDGE_STOP_WAIT, bridge.task).await.is_err() {
                tracing::warn!(bridge = %bridge.settings.name, "bridge did not stop in time");
            }
            if !new.iter().any(|n| n.name == bridge.settings.name) {
                bridge::link::discard_session(&bridges.ctx, &bridge.settings).await;
            }
        }
        for settings in new {
            if !bridges.running.iter().any(|b| b.settings == *settings) {
                bridges.running.push(start_bridge(settings, &bridges.ctx));
            }
        }
    }
}

/// Files read for a reload, put in force once all of them could be.
struct Prepared {
    auth: AuthFiles,
    /// One per listener: its TLS files, if it is a TLS listener.
    tls: Vec<Option<TlsFiles>>,
}

/// Checks a bridge's certificate files as its link will read them. The system's CA
/// certificates are not looked for: their absence is the link's to report when it connects.
pub fn check_bridge_tls(bridge: &BridgeSettings) -> Result<(), BridgeTlsError> {
    let uses_tls = bridge.remote.starts_with("mqtts://") || bridge.remote.starts_with("wss://");
    if !uses_tls {
        return Ok(());
    }
    let options = TlsOptions {
        ca_file: bridge.cafile.clone(),
        cert: bridge.cert.clone(),
        key: bridge.key.clone(),
        insecure: bridge.insecure,
    };
    options.check_files().map_err(|error| BridgeTlsError {
        bridge: bridge.name.clone(),
        error: Box::new(error),
    })
}

fn start_bridge(settings: &BridgeSettings, ctx: &Arc<ListenerContext>) -> RunningBridge {
    tracing::info!(bridge = %settings.name, remote = %settings.remote, "starting bridge");
    let (stop, stop_rx) = watch::channel(false);
    RunningBridge {
        settings: settings.clone(),
        stop,
        task: tokio::spawn(bridge::link::run(settings.clone(), ctx.clone(), stop_rx)),
    }
}

fn listener_context(live: &Live, limits: &Limits, allow_anonymous: bool) -> ListenerContext {
    ListenerContext {
        broker: live.broker.clone(),
        limits: connection_limits(limits),
        allow_anonymous,
        shutdown: live.shutdown.clone(),
        admin: live.admin.clone(),
        auth: live.auth.clone(),
        bridges: false,
    }
}

/// Bridges are the broker's own clients: no login, no ACL, no publish rate limit.
fn bridge_context(
    broker: &Arc<Broker>,
    shutdown: &watch::Receiver<bool>,
    admin: &Arc<Admin>,
    limits: &Limits,
) -> ListenerContext {
    ListenerContext {
        broker: broker.clone(),
        limits: ConnectionLimits {
            max_publish_rate: 0,
            max_publish_bytes_rate: 0,
            ..connection_limits(limits)
        },
        allow_anonymous: true,
        shutdown: shutdown.clone(),
        admin: admin.clone(),
        auth: Arc::new(Auth::default()),
        bridges: true,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
