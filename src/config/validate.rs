//! Semantic checks on `Settings`: ranges, per-protocol required keys, clashing addresses.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytesize::ByteSize;

use super::{
    AuthSettings, BridgeSettings, ConfigError, Limits, ListenerProtocol, ListenerSettings, MetricsSettings,
    Remote, ServerSettings, Settings, StoreSettings, MIN_PACKET_SIZE, MQTT_MAX_PACKET_SIZE,
};

type Result = std::result::Result<(), ConfigError>;

/// Checks all of `settings`, stopping at the first problem (the user fixes one line at a
/// time anyway, and a single error keeps `--check-config` output to one line).
pub(super) fn settings(settings: &Settings) -> Result {
    server(&settings.server)?;
    listeners(&settings.listeners)?;
    auth(&settings.auth)?;
    limits(&settings.limits)?;
    store(&settings.store)?;
    metrics(&settings.metrics, &settings.listeners)?;
    bridges(&settings.bridges, &settings.limits)
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        origin: None,
        key: key.into(),
        problem: problem.into(),
    }
}

fn server(server: &ServerSettings) -> Result {
    path("server.data_dir", &server.data_dir)?;
    positive("server.sys_interval", server.sys_interval)?;
    log_filter(&server.log_level).map_err(|problem| invalid("server.log_level", problem.to_string()))
}

/// Why a log level or filter was refused.
#[derive(Debug, thiserror::Error)]
pub enum LogFilterError {
    /// A bare word that is not a level (`degub`), which the filter syntax would take for a
    /// module name.
    #[error("{0:?} is not a log level (error, warn, info, debug, trace or off) or a filter such as \"info,robustmq=debug\"")]
    NotALevel(String),
    /// A filter `tracing_subscriber` does not parse.
    #[error("{filter:?} is not a log level or filter: {error}")]
    Syntax {
        /// The filter as given.
        filter: String,
        /// What the parser said.
        error: tracing_subscriber::filter::ParseError,
    },
}

/// Checks a log level or filter (`server.log_level`, `serve --log-level`). A bare word must be
/// a level: the filter syntax would take a misspelt one (`degub`) for a module name and
/// quietly log nothing.
pub fn log_filter(filter: &str) -> std::result::Result<(), LogFilterError> {
    let bare = !filter.contains(['=', ',', '[']);
    if bare
        && filter
            .trim()
            .parse::<tracing::level_filters::LevelFilter>()
            .is_err()
    {
        return Err(LogFilterError::NotALevel(filter.to_string()));
    }
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(drop)
        .map_err(|error| LogFilterError::Syntax {
            filter: filter.to_string(),
            error,
        })
}

fn listeners(listeners: &[ListenerSettings]) -> Result {
    if listeners.is_empty() {
        // Only reachable with an explicit `listeners = []`; a broker nobody can reach is
        // surely a mistake.
        return Err(invalid(
            "listeners",
            "no listener configured (remove `listeners = []` to get the default 127.0.0.1:1883)",
        ));
    }
    for (index, listener) in listeners.iter().enumerate() {
        self::listener(&format!("listeners[{index}]"), listener)?;
    }
    // Caught here rather than at bind time, where the second listener would fail with a
    // bare "address in use" that does not say which configuration entry is to blame.
    for (index, listener) in listeners.iter().enumerate() {
        for (earlier, other) in listeners[..index].iter().enumerate() {
            if let (Some(addr), Some(other_addr)) = (listener.bind, other.bind) {
                if clash(addr, other_addr) {
                    return Err(invalid(
                        format!("listeners[{index}]"),
                        format!("bind {addr} clashes with listeners[{earlier}] (bind {other_addr})"),
                    ));
                }
            }
            let is_unix = |l: &ListenerSettings| l.protocol == ListenerProtocol::Unix;
            if is_unix(listener) && is_unix(other) && listener.path == other.path {
                return Err(invalid(
                    format!("listeners[{index}]"),
                    format!(
                        "path {:?} is already used by listeners[{earlier}]",
                        listener.path.as_deref().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Whether two sockets cannot both be bound: same port, and the same address or a wildcard
/// of the same family. Port 0 never clashes, each bind picks its own free port.
fn clash(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && a.port() != 0
        && a.is_ipv4() == b.is_ipv4()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

fn listener(key: &str, listener: &ListenerSettings) -> Result {
    let protocol = listener.protocol;
    let protocol_name = protocol.name();
    if protocol == ListenerProtocol::Unix {
        if cfg!(not(unix)) {
            return Err(invalid(
                key,
                r#"protocol "unix" is only available on Unix systems"#,
            ));
        }
        if listener.bind.is_some() {
            return Err(invalid(key, r#"protocol "unix" takes `path`, not `bind`"#));
        }
        match &listener.path {
            None => return Err(invalid(key, r#"protocol "unix" needs `path` (the socket file)"#)),
            Some(socket) => path(&format!("{key}.path"), Path::new(socket))?,
        }
    } else if listener.bind.is_none() {
        return Err(invalid(
            key,
            format!(r#"protocol "{protocol_name}" needs `bind` (an address like "0.0.0.0:1883")"#),
        ));
    }

    if let Some(url_path) = &listener.path {
        if !protocol.uses_websocket() && protocol != ListenerProtocol::Unix {
            return Err(invalid(
                format!("{key}.path"),
                format!(
                    r#"only applies to protocols "ws", "wss" and "unix" (this listener is "{protocol_name}")"#
                ),
            ));
        }
        if protocol.uses_websocket() && !url_path.starts_with('/') {
            return Err(invalid(
                format!("{key}.path"),
                format!(r#"{url_path:?} must start with "/" (it is the URL path, e.g. "/mqtt")"#),
            ));
        }
    }

    if listener.max_connections == Some(0) {
        return Err(invalid(
            format!("{key}.max_connections"),
            "must be at least 1 (remove it to leave only limits.max_connections)",
        ));
    }

    if protocol.uses_tls() {
        tls(key, listener)
    } else {
        // A certificate on a plain listener would suggest encryption that is not there.
        let tls_keys = [
            ("cert", listener.cert.is_some()),
            ("key", listener.key.is_some()),
            ("client_ca", listener.client_ca.is_some()),
            ("require_certificate", listener.require_certificate),
            ("use_identity_as_username", listener.use_identity_as_username),
        ];
        match tls_keys.iter().find(|(_, set)| *set) {
            Some((name, _)) => Err(invalid(
                format!("{key}.{name}"),
                format!(
                    r#"only applies to protocols "mqtts" and "wss" (this listener is "{protocol_name}")"#
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The keys of an `mqtts`/`wss` listener.
fn tls(key: &str, listener: &ListenerSettings) -> Result {
    let protocol_name = listener.protocol.name();
    let (Some(cert), Some(private_key)) = (&listener.cert, &listener.key) else {
        return Err(invalid(
            key,
            format!(r#"protocol "{protocol_name}" needs `cert` and `key`"#),
        ));
    };
    path(&format!("{key}.cert"), cert)?;
    path(&format!("{key}.key"), private_key)?;
    if let Some(client_ca) = &listener.client_ca {
        path(&format!("{key}.client_ca"), client_ca)?;
    }
    if listener.require_certificate && listener.client_ca.is_none() {
        return Err(invalid(
            format!("{key}.require_certificate"),
            "needs `client_ca`, the CA client certificates are verified against",
        ));
    }
    if listener.use_identity_as_username && !listener.require_certificate {
        // Otherwise a client could leave out its certificate and pick any username.
        return Err(invalid(
            format!("{key}.use_identity_as_username"),
            "needs `require_certificate = true`",
        ));
    }
    Ok(())
}

fn auth(auth: &AuthSettings) -> Result {
    if let Some(file) = &auth.password_file {
        path("auth.password_file", file)?;
    }
    if let Some(file) = &auth.acl_file {
        path("auth.acl_file", file)?;
    }
    Ok(())
}

fn limits(limits: &Limits) -> Result {
    if limits.max_connections == 0 {
        return Err(invalid("limits.max_connections", "must be at least 1"));
    }
    let packet = limits.max_packet_size;
    if packet < MIN_PACKET_SIZE {
        return Err(invalid(
            "limits.max_packet_size",
            format!("{packet} is too small (minimum {MIN_PACKET_SIZE} bytes)"),
        ));
    }
    if packet > MQTT_MAX_PACKET_SIZE {
        return Err(invalid(
            "limits.max_packet_size",
            format!(
                "{packet} bytes ({}) is too large (maximum {MQTT_MAX_PACKET_SIZE} bytes, the MQTT limit)",
                ByteSize(packet.into())
            ),
        ));
    }
    if limits.max_inflight == 0 {
        return Err(invalid(
            "limits.max_inflight",
            "must be at least 1 (and at most 65535)",
        ));
    }
    if limits.max_queued_messages == 0 {
        return Err(invalid("limits.max_queued_messages", "must be at least 1"));
    }
    if limits.max_queued_bytes < u64::from(packet) {
        return Err(invalid(
            "limits.max_queued_bytes",
            format!(
                "{} is less than limits.max_packet_size ({}), so a message of the largest allowed size could never be queued",
                ByteSize(limits.max_queued_bytes),
                ByteSize(packet.into())
            ),
        ));
    }
    positive("limits.stalled_after", limits.stalled_after)?;
    if limits.max_memory.bytes() < u64::from(packet) {
        return Err(invalid(
            "limits.max_memory",
            format!(
                "{} is less than limits.max_packet_size ({}), so a message of the largest allowed size could never be queued",
                limits.max_memory,
                ByteSize(packet.into())
            ),
        ));
    }
    if limits.max_keepalive == 0 {
        return Err(invalid(
            "limits.max_keepalive",
            "must be at least 1 second (and at most 65535)",
        ));
    }
    if limits.min_keepalive > limits.max_keepalive {
        return Err(invalid(
            "limits.min_keepalive",
            format!(
                "{} is more than limits.max_keepalive ({}), so no keep alive could be granted",
                limits.min_keepalive, limits.max_keepalive
            ),
        ));
    }
    positive("limits.connect_timeout", limits.connect_timeout)?;
    if limits.max_topic_length == 0 {
        return Err(invalid(
            "limits.max_topic_length",
            "must be at least 1 byte (and at most 65535, the MQTT limit)",
        ));
    }
    if limits.max_topic_levels == 0 {
        return Err(invalid(
            "limits.max_topic_levels",
            "must be at least 1 (and at most 65535)",
        ));
    }
    if limits.max_subscriptions_per_client == 0 {
        return Err(invalid(
            "limits.max_subscriptions_per_client",
            "must be at least 1",
        ));
    }
    Ok(())
}

fn store(store: &StoreSettings) -> Result {
    positive("store.commit_interval", store.commit_interval)
}

fn metrics(metrics: &MetricsSettings, listeners: &[ListenerSettings]) -> Result {
    let Some(listen) = metrics.listen else {
        return Ok(());
    };
    for (index, listener) in listeners.iter().enumerate() {
        if let Some(bind) = listener.bind {
            if clash(listen, bind) {
                return Err(invalid(
                    "metrics.listen",
                    format!("{listen} clashes with listeners[{index}] (bind {bind})"),
                ));
            }
        }
    }
    Ok(())
}

fn positive(key: &str, duration: Duration) -> Result {
    if duration.is_zero() {
        return Err(invalid(key, "must be more than 0 (e.g. \"1s\" or \"100ms\")"));
    }
    Ok(())
}

fn path(key: &str, path: &Path) -> Result {
    if path.as_os_str().is_empty() {
        return Err(invalid(key, "must not be empty"));
    }
    // A common slip when copying from a shell: nothing here expands `~`, so "~/x" would
    // quietly create a directory literally named "~".
    if path.starts_with("~") {
        return Err(invalid(
            key,
            format!(
                "{:?}: `~` is not expanded here, write the full path",
                path.display().to_string()
            ),
        ));
    }
    Ok(())
}

fn bridges(bridges: &[BridgeSettings], limits: &Limits) -> Result {
    for (index, bridge) in bridges.iter().enumerate() {
        let key = format!("bridges[{index}]");
        self::bridge(&key, bridge)?;
        if bridge.max_queued_bytes < limits.max_packet_size as u64 {
            return Err(invalid(
                format!("{key}.max_queued_bytes"),
                format!(
                    "{} is less than limits.max_packet_size ({}), so a message of the largest allowed size could never be queued",
                    ByteSize(bridge.max_queued_bytes),
                    ByteSize(limits.max_packet_size as u64)
                ),
            ));
        }
        if let Some(earlier) = bridges[..index].iter().position(|b| b.name == bridge.name) {
            return Err(invalid(
                format!("{key}.name"),
                format!("{:?} is already the name of bridges[{earlier}]", bridge.name),
            ));
        }
    }
    Ok(())
}

fn bridge(key: &str, bridge: &BridgeSettings) -> Result {
    let name = &bridge.name;
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            format!("{key}.name"),
            format!("{name:?}: a name of letters, digits, '-' and '_' is required"),
        ));
    }
    let remote = Remote::parse(&bridge.remote)
        .map_err(|problem| invalid(format!("{key}.remote"), problem.to_string()))?;
    if bridge.protocol != 4 && bridge.protocol != 5 {
        return Err(invalid(
            format!("{key}.protocol"),
            format!("{} is not 5 or 4 (3.1.1)", bridge.protocol),
        ));
    }
    if bridge.password.is_some() && bridge.password_file.is_some() {
        return Err(invalid(
            format!("{key}.password_file"),
            "give password or password_file, not both",
        ));
    }
    if let Some(file) = &bridge.password_file {
        path(&format!("{key}.password_file"), file)?;
    }
    if !remote.tls {
        for (field, set) in [
            ("cafile", bridge.cafile.is_some()),
            ("cert", bridge.cert.is_some()),
            ("key", bridge.key.is_some()),
            ("insecure", bridge.insecure),
        ] {
            if set {
                return Err(invalid(
                    format!("{key}.{field}"),
                    "only for an mqtts:// or wss:// remote",
                ));
            }
        }
    }
    if bridge.cert.is_some() != bridge.key.is_some() {
        return Err(invalid(format!("{key}.cert"), "cert and key go together"));
    }
    for (field, file) in [
        ("cafile", &bridge.cafile),
        ("cert", &bridge.cert),
        ("key", &bridge.key),
    ] {
        if let Some(file) = file {
            path(&format!("{key}.{field}"), file)?;
        }
    }
    if bridge.keepalive.as_secs() > u16::MAX as u64 || bridge.keepalive.subsec_nanos() != 0 {
        return Err(invalid(
            format!("{key}.keepalive"),
            "whole seconds up to 65535 (0 turns it off)",
        ));
    }
    if bridge.topics.is_empty() {
        return Err(invalid(
            format!("{key}.topics"),
            "a bridge needs at least one [[bridges.topics]] rule",
        ));
    }
    for (index, rule) in bridge.topics.iter().enumerate() {
        let key = format!("{key}.topics[{index}]");
        if let Some(problem) = filter_problem(&rule.filter) {
            return Err(invalid(
                format!("{key}.filter"),
                format!("{:?}: {problem}", rule.filter),
            ));
        }
        if rule.qos > 2 {
            return Err(invalid(
                format!("{key}.qos"),
                format!("{} is not 0, 1 or 2", rule.qos),
            ));
        }
        for (field, prefix) in [
            ("local_prefix", &rule.local_prefix),
            ("remote_prefix", &rule.remote_prefix),
        ] {
            if prefix.contains(['+', '#', '\0']) {
                return Err(invalid(
                    format!("{key}.{field}"),
                    format!("{prefix:?}: a prefix has no wildcards"),
                ));
            }
        }
    }
    Ok(())
}

/// What is wrong with a bridge rule's topic filter, by the MQTT rules (4.7.1): `#` alone and
/// last, `+` alone in its level, no U+0000; shared subscriptions are not bridged.
fn filter_problem(filter: &str) -> Option<&'static str> {
    if filter.is_empty() {
        return Some("an empty filter matches nothing");
    }
    if filter.contains('\0') {
        return Some("U+0000 in a filter");
    }
    if filter.starts_with("$share/") {
        return Some("a shared subscription cannot be bridged");
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Some("'#' must be a whole level, the last one");
        }
        if level.contains('+') && *level != "+" {
            return Some("'+' must be a whole level");
        }
    }
    None
}
