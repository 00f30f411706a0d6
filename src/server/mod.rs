//! The MQTT broker: listeners, connections, packet handlers and the shared broker state.

pub mod admin;
pub mod bridge;
pub mod broker;
pub mod connection;
pub mod context;
pub mod figures;
pub mod handler;
pub mod kick;
pub mod listener;
pub mod metrics;
pub mod open_files;
pub mod peer;
pub mod prometheus;
pub mod rate;
pub mod reload;
pub mod sys;
pub mod transport;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::auth::acl::Access;
use crate::auth::identity::owner_key;
use crate::auth::{Auth, AuthError};
use crate::config::{Durability, Settings};
use crate::protocol::ReasonCode;
use crate::store::{Store, StoreDurability, StoreError, StoredOwner};
use admin::Admin;
use broker::{AccessCheck, Broker, BrokerConfig, Session};
use context::{ListenerContext, SharedContext};
use listener::anonymous::Anonymous;

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum ServerError {
    /// A listener could not bind its address.
    // `error`, not `source`: the OS error is part of the one-line message, not a chained cause
    // that `{:#}` would print a second time.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address from the configuration.
        addr: SocketAddr,
        /// The OS error.
        error: std::io::Error,
    },
    /// A TCP listener without an address (the configuration check prevents it).
    #[error("listeners[{index}]: no `bind` address")]
    MissingBind {
        /// Position in the configuration.
        index: usize,
    },
    /// A TLS listener's certificate, key or client CA cannot be used: a configuration error.
    #[error("listeners[{index}]: {error}")]
    Tls {
        /// Position in the configuration.
        index: usize,
        /// The file and what is wrong with it.
        error: listener::tls::TlsError,
    },
    /// A Unix socket listener cannot bind its path.
    #[error("listeners[{index}]: cannot listen on {}: {detail}", path.display())]
    UnixSocket {
        /// Position in the configuration.
        index: usize,
        /// The socket file.
        path: std::path::PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The Prometheus endpoint (`[metrics] listen`) could not bind its address.
    // The io::Error is part of the message rather than a `#[source]`, so that printing the
    // error chain (`{:#}`) does not repeat it.
    #[error("cannot serve metrics on {addr} ([metrics] listen): {error}")]
    MetricsBind {
        /// The address from the configuration.
        addr: SocketAddr,
        /// The OS error.
        error: std::io::Error,
    },
    /// The configuration has no listener at all.
    #[error("no listener is configured")]
    NoListener,
    /// The data directory cannot be used (locked, corrupt, newer schema, I/O).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The password file or the ACL file cannot be used: a configuration error.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// A broker that is running; dropping it does not stop it, call [`RunningServer::shutdown`].
#[derive(Debug)]
pub struct RunningServer {
    addrs: Vec<SocketAddr>,
    metrics_addr: Option<SocketAddr>,
    broker: Arc<Broker>,
    shutdown: watch::Sender<bool>,
    permits: Arc<Semaphore>,
    tasks: Vec<JoinHandle<()>>,
    live: Arc<reload::Live>,
}

/// Puts a new configuration in force on SIGHUP (see [`reload`]).
#[derive(Debug, Clone)]
pub struct Reloader {
    live: Arc<reload::Live>,
}

impl Reloader {
    /// Applies `loaded`, the configuration file read again with the command line's
    /// overrides, where it can change live; logs what changed, or why nothing did. `name`
    /// is the file, for the log lines.
    pub async fn reload(&self, loaded: Result<Settings, crate::config::ConfigError>, name: &str) {
        self.live.reload(loaded, name).await;
    }

    /// Lets reloads change the log filter (not when the command line or `RUST_LOG` set it).
    pub fn set_log_filter(&self, set: reload::SetLogFilter) {
        self.live.set_log_filter(set);
    }
}

/// Deliveries and wills go through the ACL: the broker hands over the session, the ACL wants
/// its client id, and the session object's address to find the user it belongs to.
impl AccessCheck for Auth {
    fn may_receive(&self, session: &Session, topic: &str) -> bool {
        // A bridge forwards what its configuration says; the ACL is about clients.
        handler::bridge_side::is_bridge_client(&session.client_id)
            || self.may(&session.client_id, owner_key(session), topic, Access::Read)
    }

    fn may_publish_will(&self, session: &Session, topic: &str) -> bool {
        Auth::may_publish_will(self, &session.client_id, owner_key(session), topic)
    }
}

/// Tells the ACL whose each restored session is, from its stored owner, so that messages for
/// a persistent session keep being queued after a restart before its client reconnects.
/// Sessions stored before owners were recorded stay unknown (and get nothing under an ACL
/// until their client is back).
fn register_restored_owners(broker: &Broker, auth: &Auth) {
    if !auth.is_configured() {
        return;
    }
    for session in broker.sessions_snapshot() {
        let owner = session.owner();
        let username = match owner {
            StoredOwner::Unknown => continue,
            StoredOwner::Anonymous => None,
            StoredOwner::User(name) => Some(Arc::from(name)),
        };
        auth.register(&session.client_id.clone(), session, username);
    }
}

/// Loads the password and ACL files, and warns about combinations that are probably not
/// what was meant.
fn load_auth(settings: &Settings) -> Result<Arc<Auth>, AuthError> {
    let auth = Auth::load(&settings.auth)?;
    if let Some(path) = &settings.auth.password_file {
        tracing::info!(file = %path.display(), users = auth.users(), "password file loaded");
    }
    if let (Some(path), Some(acl)) = (&settings.auth.acl_file, auth.acl()) {
        tracing::info!(file = %path.display(), rules = acl.rules(), "ACL file loaded");
        if acl.has_users() && !auth.has_password_file() {
            tracing::warn!(
                "the ACL file has `user` sections but no password file is configured: user names are not verified, so any client may claim one"
            );
        }
    }
    Ok(Arc::new(auth))
}

/// Opens the store in the data directory, restores the broker from it, binds every listener
/// and starts serving.
pub async fn start(settings: &Settings) -> Result<RunningServer, ServerError> {
    let limits = &settings.limits;
    // Before the store: a bad file is a configuration error, reported before anything else.
    let auth = load_auth(settings)?;
    let durability = match settings.store.durability {
        Durability::Immediate => StoreDurability::Immediate,
        Durability::Periodic => StoreDurability::Periodic(settings.store.commit_interval),
    };
    let data_dir = settings.server.data_dir.clone();
    let reserve = settings.store.reserve;
    let (store, loaded) =
        tokio::task::spawn_blocking(move || Store::open_with_reserve(&data_dir, durability, reserve))
            .await
            .map_err(|e| StoreError::Database {
                path: settings.server.data_dir.clone(),
                detail: format!("store open task failed: {e}"),
            })??;
    let broker = Broker::new(
        BrokerConfig {
            queue_limits: Arc::new(reload::queue_limits(settings)),
            max_memory: reload::max_memory(limits),
        },
        Some(store),
    );
    if auth.has_acl() {
        broker.set_access_check(auth.clone());
    }
    let load_time = loaded.load_time;
    let restored = broker.restore(loaded);
    register_restored_owners(&broker, &auth);
    tracing::info!(
        sessions = restored.sessions,
        queued_messages = restored.queued,
        retained_messages = restored.retained,
        expired = restored.expired,
        wills = restored.wills,
        load_ms = load_time.as_millis() as u64,
        data_dir = %settings.server.data_dir.display(),
        "store loaded"
    );
    let (shutdown, shutdown_rx) = watch::channel(false);
    // Clamped: a semaphore holds at most MAX_PERMITS, far more connections than any machine has.
    open_files::raise_for(limits.max_connections);
    let permits = Arc::new(Semaphore::new(limits.max_connections.min(Semaphore::MAX_PERMITS)));
    let connection_rate = Arc::new(rate::ConnectionRate::new(limits.max_connections_per_second));
    let connection_limits = reload::connection_limits(limits);
    if settings.listeners.is_empty() {
        return Err(ServerError::NoListener);
    }
    let mut bound = Vec::new();
    for (index, l) in settings.listeners.iter().enumerate() {
        let listener = listener::bind(index, l).await?;
        // Anonymous clients are the default only where no one else can reach the broker.
        let anonymous = reload::anonymous(l, listener.is_local());
        bound.push((listener, anonymous, l.max_connections));
    }
    let anonymous_line: Vec<_> = bound
        .iter()
        .map(|(l, a, _)| (listener::anonymous::name(l), *a))
        .collect();
    let metrics_listener = match settings.metrics.listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|error| ServerError::MetricsBind { addr, error })?;
            let local = listener
                .local_addr()
                .map_err(|error| ServerError::MetricsBind { addr, error })?;
            Some((listener, local))
        }
        None => None,
    };
    let admin = Arc::new(Admin {
        topics: Default::default(),
        data_file: Some(settings.server.data_dir.join(Store::FILE_NAME)),
        max_store_bytes: settings.store.max_store_bytes,
        durability: settings.store.durability.to_string(),
    });
    let mut tasks = Vec::new();
    let mut addrs = Vec::new();
    let mut live_listeners = Vec::new();
    for (listener, anonymous, max_connections) in bound {
        let allow_anonymous = anonymous == Anonymous::Accepted;
        tracing::info!(
            listener = %listener.describe(),
            protocol = %listener.protocol,
            allow_anonymous,
            "listening for MQTT"
        );
        addrs.extend(listener.local);
        let ctx = Arc::new(SharedContext::new(ListenerContext {
            broker: broker.clone(),
            limits: connection_limits.clone(),
            allow_anonymous,
            shutdown: shutdown_rx.clone(),
            admin: admin.clone(),
            auth: auth.clone(),
            bridges: false,
        }));
        live_listeners.push(reload::LiveListener {
            ctx: ctx.clone(),
            tls: listener.transport.tls().cloned(),
            local: listener.is_local(),
        });
        let accept = listener::AcceptLimits {
            global: permits.clone(),
            listener: max_connections.map(|max| Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS)))),
            rate: connection_rate.clone(),
        };
        tasks.push(tokio::spawn(listener::run(listener, ctx, accept)));
    }
    listener::anonymous::log(&anonymous_line);
    let metrics_addr = metrics_listener.as_ref().map(|(_, local)| *local);
    if let Some((listener, local)) = metrics_listener {
        tracing::info!(listen = %local, "serving Prometheus metrics at /metrics");
        tasks.push(tokio::spawn(prometheus::run(
            listener,
            broker.clone(),
            admin.clone(),
            shutdown_rx.clone(),
        )));
    }
    tasks.push(tokio::spawn(metrics::topics::run(
        admin.topics.clone(),
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(broker::pressure::run(
        broker.clone(),
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(broker::timers::run(
        broker.clone(),
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(broker::keepalive::run(
        broker.clone(),
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(sys::run(
        broker.clone(),
        settings.server.sys_interval,
        shutdown_rx.clone(),
    )));
    // Starts the bridges.
    let live = reload::Live::new(reload::Parts {
        settings: settings.clone(),
        broker: broker.clone(),
        auth,
        admin,
        shutdown: shutdown_rx,
        listeners: live_listeners,
        permits: permits.clone(),
        rate: connection_rate,
    });
    Ok(RunningServer {
        addrs,
        metrics_addr,
        broker,
        shutdown,
        permits,
        tasks,
        live,
    })
}

impl RunningServer {
    /// The addresses the listeners are bound to (with the real port when 0 was asked for).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The first listener's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// The address the Prometheus endpoint is bound to, when `[metrics] listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The broker's shared state.
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// Reads the password, ACL and certificate files of the configuration in force again,
    /// keeping connected clients. A file that fails to load is logged in one line and nothing
    /// changes.
    pub async fn reload(&self) {
        self.live.reread_files().await;
    }

    /// Puts `settings` in force where they can change live, as SIGHUP does.
    pub async fn reload_with(&self, settings: Settings) {
        self.live.reload(Ok(settings), "the configuration").await;
    }

    /// A handle that reloads, for a signal task to own.
    pub fn reloader(&self) -> Reloader {
        Reloader {
            live: self.live.clone(),
        }
    }

    /// Stops accepting, tells every client the server is going away (v5 DISCONNECT 0x8B) and
    /// waits up to `grace` for the connections to close.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.shutdown.send(true);
        let bridges = self.live.bridge_tasks().await;
        for task in self.tasks.into_iter().chain(bridges) {
            let _ = task.await;
        }
        // No listener accepts any more; connections still before their CONNECT are told
        // when they attach.
        self.broker.disconnect_all(ReasonCode::SERVER_SHUTTING_DOWN);
        let all = self.live.max_connections().min(u32::MAX as usize) as u32;
        let _ = tokio::time::timeout(grace, self.permits.acquire_many(all)).await;
        // Everything the connections handed over on their way out is on disk before we return.
        let broker = self.broker.clone();
        let _ = tokio::task::spawn_blocking(move || broker.flush_store()).await;
    }
}
