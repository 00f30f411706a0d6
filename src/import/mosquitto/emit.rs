//! A [`Draft`] → robustmq.toml text: addresses resolved, each listener's protocol chosen from
//! its TLS and WebSocket settings, and what cannot be written noted instead.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::Path;

use super::bridge;
use super::model::{Bridge, Draft, Listener, Note};

/// Where a listener listens.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Tcp(SocketAddr),
    Unix(String),
}

/// The TOML for `draft`, read from `source`; notes about what had to be left out are added
/// to `notes`.
pub fn emit(source: &Path, draft: &Draft, notes: &mut Vec<Note>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# robustmq configuration, imported from {} by `robustmq import mosquitto`.\n\
         # Check it with: robustmq serve --check-config --config FILE",
        source.display()
    );
    if draft.data_dir.is_some() || draft.sys_interval.is_some() {
        out.push_str("\n[server]\n");
        if let Some(dir) = &draft.data_dir {
            let _ = writeln!(out, "data_dir = {}", string(&dir.to_string_lossy()));
        }
        if let Some(seconds) = draft.sys_interval {
            let _ = writeln!(out, "sys_interval = \"{seconds}s\"");
        }
    }
    let mut bound: Vec<(Endpoint, usize)> = Vec::new();
    for listener in &draft.listeners {
        if let Some(text) = self::listener(listener, &mut bound, notes) {
            out.push_str(&text);
        }
    }
    if draft.password_file.is_some() || draft.acl_file.is_some() {
        out.push_str("\n[auth]\n");
        for (key, file) in [
            ("password_file", &draft.password_file),
            ("acl_file", &draft.acl_file),
        ] {
            if let Some(file) = file {
                let _ = writeln!(out, "{key} = {}", string(&file.to_string_lossy()));
            }
        }
    }
    limits(draft, &mut out);
    for bridge in &draft.bridges {
        match bridge::remote(bridge) {
            Ok(remote) => {
                if !bridge.tls && (bridge.insecure || bridge.key.is_some()) {
                    notes.push(bridge.origin.note(
                        "bridge_insecure and bridge_keyfile apply to TLS bridges only (no \
                         bridge_cafile or bridge_certfile here): left out",
                    ));
                }
                self::bridge(bridge, &remote, &mut out)
            }
            Err(why) => notes.push(bridge.origin.note(why.to_string())),
        }
    }
    out
}

fn limits(draft: &Draft, out: &mut String) {
    let l = &draft.limits;
    let rows: Vec<(&str, Option<u64>)> = vec![
        ("max_connections", l.max_connections.map(|n| n as u64)),
        ("max_packet_size", l.max_packet_size.map(u64::from)),
        ("max_inflight", l.max_inflight.map(u64::from)),
        ("max_queued_messages", l.max_queued_messages.map(|n| n as u64)),
        ("max_queued_bytes", l.max_queued_bytes),
        ("max_keepalive", l.max_keepalive.map(u64::from)),
        ("max_memory", l.max_memory),
    ];
    if rows.iter().all(|(_, v)| v.is_none()) {
        return;
    }
    out.push_str("\n[limits]\n");
    for (key, value) in rows {
        if let Some(value) = value {
            let _ = writeln!(out, "{key} = {value}");
        }
    }
}

/// The `[[listeners]]` table, or `None` (with a note) when it cannot be carried over.
fn listener(l: &Listener, bound: &mut Vec<(Endpoint, usize)>, notes: &mut Vec<Note>) -> Option<String> {
    let origin = &l.origin;
    let endpoint = match endpoint(l) {
        Ok((endpoint, note)) => {
            if let Some(note) = note {
                notes.push(origin.note(note));
            }
            endpoint
        }
        Err(why) => {
            notes.push(origin.note(format!("{why}: the listener is left out")));
            return None;
        }
    };
    if let Some((_, line)) = bound.iter().find(|(other, _)| clash(other, &endpoint)) {
        notes.push(origin.note(format!(
            "the same address as the listener on line {line}: left out"
        )));
        return None;
    }
    let tls = l.certfile.is_some() || l.keyfile.is_some();
    if tls && (l.certfile.is_none() || l.keyfile.is_none()) {
        notes.push(origin.note("certfile and keyfile go together: the listener is left out"));
        return None;
    }
    if tls && l.require_certificate && l.cafile.is_none() {
        notes.push(origin.note(
            "require_certificate without cafile (capath is not supported): the listener is \
             left out",
        ));
        return None;
    }
    let protocol = match (&endpoint, l.websockets, tls) {
        (Endpoint::Unix(_), false, false) => "unix",
        (Endpoint::Unix(_), _, _) => {
            notes
                .push(origin.note("a Unix socket listener speaks plain MQTT only: the listener is left out"));
            return None;
        }
        (_, false, false) => "mqtt",
        (_, false, true) => "mqtts",
        (_, true, false) => "ws",
        (_, true, true) => "wss",
    };
    let mut out = String::from("\n[[listeners]]\n");
    match &endpoint {
        Endpoint::Tcp(addr) => {
            let _ = writeln!(out, "bind = \"{addr}\"");
        }
        Endpoint::Unix(path) => {
            let _ = writeln!(out, "path = {}", string(path));
        }
    }
    let _ = writeln!(out, "protocol = \"{protocol}\"");
    if l.websockets {
        out.push_str("path = \"/mqtt\"\n");
    }
    if let Some(anonymous) = l.allow_anonymous {
        let _ = writeln!(out, "allow_anonymous = {anonymous}");
    }
    if tls {
        for (key, file) in [
            ("cert", &l.certfile),
            ("key", &l.keyfile),
            ("client_ca", &l.cafile),
        ] {
            if let Some(file) = file {
                let _ = writeln!(out, "{key} = {}", string(&file.to_string_lossy()));
            }
        }
        if l.require_certificate {
            out.push_str("require_certificate = true\n");
        }
        if l.use_identity_as_username {
            if l.require_certificate {
                out.push_str("use_identity_as_username = true\n");
            } else {
                notes.push(origin.note(
                    "use_identity_as_username needs require_certificate true in robustmq \
                     (otherwise a client could choose its user name): left out",
                ));
            }
        }
    } else if l.cafile.is_some() || l.require_certificate || l.use_identity_as_username {
        notes.push(origin.note(
            "cafile, require_certificate and use_identity_as_username apply to TLS listeners \
             only (no certfile here): left out",
        ));
    }
    if let Some(n) = l.max_connections {
        let _ = writeln!(out, "max_connections = {n}");
    }
    bound.push((endpoint, origin.line));
    Some(out)
}

/// Why a listener's host name gives no address to bind.
#[derive(Debug, thiserror::Error)]
enum Unresolved {
    /// The name (held here) does not resolve.
    #[error("cannot resolve {address:?} ({error}); robustmq binds IP addresses")]
    Lookup {
        /// The listener's address.
        address: String,
        /// What the resolver said.
        error: std::io::Error,
    },
    /// It resolves, but not to an address of the listener's `socket_domain`.
    #[error("{0:?} has no address of the socket_domain")]
    NoAddressInDomain(String),
}

/// The listener's socket, and a note when it is not exactly what Mosquitto bound.
fn endpoint(l: &Listener) -> Result<(Endpoint, Option<String>), Unresolved> {
    let port = l.port;
    let ipv6 = l.ipv6 == Some(true);
    let Some(address) = &l.address else {
        if ipv6 {
            return Ok((
                Endpoint::Tcp(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port))),
                None,
            ));
        }
        let note = (l.ipv6.is_none()).then(|| {
            format!(
                "listens on every IPv4 interface (0.0.0.0); Mosquitto listened on IPv6 too: \
                 add a listener with bind \"[::]:{port}\" for IPv6 clients"
            )
        });
        return Ok((
            Endpoint::Tcp(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))),
            note,
        ));
    };
    if address.starts_with('/') {
        return Ok((Endpoint::Unix(address.clone()), None));
    }
    if let Ok(ip) = address.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok((Endpoint::Tcp(SocketAddr::new(ip, port)), None));
    }
    if address == "localhost" {
        let ip: IpAddr = if ipv6 {
            Ipv6Addr::LOCALHOST.into()
        } else {
            Ipv4Addr::LOCALHOST.into()
        };
        return Ok((Endpoint::Tcp(SocketAddr::new(ip, port)), None));
    }
    let resolved = (address.as_str(), port)
        .to_socket_addrs()
        .map_err(|error| Unresolved::Lookup {
            address: address.clone(),
            error,
        })?
        .find(|a| l.ipv6.is_none() || a.is_ipv6() == ipv6)
        .ok_or_else(|| Unresolved::NoAddressInDomain(address.clone()))?;
    Ok((
        Endpoint::Tcp(resolved),
        Some(format!(
            "robustmq binds IP addresses: {address} is {} here",
            resolved.ip()
        )),
    ))
}

/// Whether two listeners cannot both be bound (as the config's own check decides).
fn clash(a: &Endpoint, b: &Endpoint) -> bool {
    match (a, b) {
        (Endpoint::Tcp(a), Endpoint::Tcp(b)) => {
            a.port() == b.port()
                && a.port() != 0
                && a.is_ipv4() == b.is_ipv4()
                && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
        }
        (Endpoint::Unix(a), Endpoint::Unix(b)) => a == b,
        _ => false,
    }
}

fn bridge(b: &Bridge, remote: &str, out: &mut String) {
    out.push_str("\n[[bridges]]\n");
    let _ = writeln!(out, "name = {}", string(&b.name));
    let _ = writeln!(out, "remote = {}", string(remote));
    let _ = writeln!(out, "protocol = {}", b.protocol);
    for (key, value) in [
        ("client_id", &b.client_id),
        ("username", &b.username),
        ("password", &b.password),
    ] {
        if let Some(value) = value {
            let _ = writeln!(out, "{key} = {}", string(value));
        }
    }
    if b.tls {
        for (key, file) in [("cafile", &b.cafile), ("cert", &b.cert), ("key", &b.key)] {
            if let Some(file) = file {
                let _ = writeln!(out, "{key} = {}", string(&file.to_string_lossy()));
            }
        }
        if b.insecure {
            out.push_str("insecure = true\n");
        }
    }
    // Mosquitto's defaults, written out because robustmq's differ or may change.
    let _ = writeln!(out, "keepalive = \"{}s\"", b.keepalive.unwrap_or(60));
    let _ = writeln!(out, "clean_start = {}", b.clean_start.unwrap_or(false));
    for t in &b.topics {
        out.push_str("[[bridges.topics]]\n");
        let _ = writeln!(out, "filter = {}", string(&t.filter));
        let _ = writeln!(out, "direction = \"{}\"", t.direction);
        let _ = writeln!(out, "qos = {}", t.qos);
        let _ = writeln!(out, "local_prefix = {}", string(&t.local_prefix));
        let _ = writeln!(out, "remote_prefix = {}", string(&t.remote_prefix));
    }
}

/// A TOML basic string.
fn string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::Settings;

    fn listener(port: u16, address: Option<&str>) -> Listener {
        Listener {
            port,
            address: address.map(str::to_owned),
            allow_anonymous: Some(false),
            ..Listener::default()
        }
    }

    fn emit_listeners(listeners: Vec<Listener>) -> (Settings, Vec<Note>) {
        let draft = Draft {
            listeners,
            ..Draft::default()
        };
        let mut notes = Vec::new();
        let text = emit(Path::new("m.conf"), &draft, &mut notes);
        (Settings::from_toml_str(&text, "t").unwrap(), notes)
    }

    #[test]
    fn addresses_become_sockets_and_unix_paths() {
        let mut v6 = listener(1885, None);
        v6.ipv6 = Some(true);
        let (s, notes) = emit_listeners(vec![
            listener(1883, Some("localhost")),
            listener(0, Some("/run/mqtt.sock")),
            v6,
            listener(1884, Some("::1")),
        ]);
        let binds: Vec<String> = s
            .listeners
            .iter()
            .map(|l| match l.bind {
                Some(addr) => addr.to_string(),
                None => l.path.clone().unwrap_or_default(),
            })
            .collect();
        assert_eq!(
            binds,
            ["127.0.0.1:1883", "/run/mqtt.sock", "[::]:1885", "[::1]:1884"]
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn tls_and_websockets_choose_the_protocol_and_bad_tls_drops_the_listener() {
        let mut wss = listener(8084, Some("127.0.0.1"));
        wss.websockets = true;
        wss.certfile = Some(PathBuf::from("/c/s.crt"));
        wss.keyfile = Some(PathBuf::from("/c/s.key"));
        let mut no_key = listener(8883, Some("127.0.0.1"));
        no_key.certfile = Some(PathBuf::from("/c/s.crt"));
        let mut no_ca = wss.clone();
        no_ca.port = 8885;
        no_ca.websockets = false;
        no_ca.require_certificate = true;
        let clash = listener(8084, None);
        let (s, notes) = emit_listeners(vec![wss, no_key, no_ca, clash]);
        assert_eq!(s.listeners.len(), 1);
        assert_eq!(s.listeners[0].protocol.to_string(), "wss");
        assert_eq!(s.listeners[0].path.as_deref(), Some("/mqtt"));
        let why: Vec<&str> = notes.iter().map(|n| n.why.as_str()).collect();
        assert!(why[0].contains("certfile and keyfile go together"), "{why:?}");
        assert!(why[1].contains("require_certificate without cafile"), "{why:?}");
        assert!(why.iter().any(|w| w.contains("same address")), "{why:?}");
    }
}
