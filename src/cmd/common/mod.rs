//! What the client subcommands (`pub`, `sub`, later `bench` and `top`) share: the connection
//! flags turned into client options, `-L` URLs, `-D` properties, and failures as exit codes.

pub mod failure;
pub mod property;
pub mod url;

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use failure::*;
use property::Properties;

use crate::cli::ConnectionArgs;
use crate::client::topic::check_topic_name;
use crate::client::{debug, ConnectOptions, PacketObserver};
use crate::exit::Exit;
use crate::protocol::{QoS, Will};

/// The connection flags, checked: client options, the properties for the other packets, and
/// the topic a `-L` URL carried.
#[derive(Debug)]
pub struct Connection {
    /// Ready for [`crate::client::Client::connect`].
    pub options: ConnectOptions,
    /// Every `-D` property (the connect and will ones are already in `options`).
    pub properties: Properties,
    /// The path of the `-L` URL, if any.
    pub url_topic: Option<String>,
    /// `--quiet`: no runtime errors or notices on stderr.
    pub quiet: bool,
}

/// `robustmq-` and 12 hex digits: within the 23 characters MQTT 3.1 guarantees.
pub fn random_client_id() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("robustmq-{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

/// Prints packets as mosquitto's clients do with `-d`.
fn debug_observer() -> PacketObserver {
    Arc::new(|client_id, direction, packet| {
        let id = if client_id.is_empty() { "(null)" } else { client_id };
        eprintln!("Client {id} {direction} {}", debug::summary(packet));
    })
}

fn needs_v5(what: &str) -> Failure {
    Failure::usage(format!("{what} needs MQTT 5 (-V 5)"))
}

/// Checks the connection flags and builds the client options. `commands` lists the packets
/// `-D` may give properties for in this subcommand.
pub fn connection(args: &ConnectionArgs, commands: &[&str]) -> Result<Connection, Failure> {
    let version = args.protocol_version;
    let v5 = version.is_v5();
    let tls_on = args.tls.any() || args.tls_more.any();
    let (mut host, mut port) = (
        args.host.clone(),
        args.port.unwrap_or(if tls_on { 8883 } else { 1883 }),
    );
    let (mut username, mut password) = (None, None);
    let mut url_topic = None;
    let mut url_tls = false;
    if let Some(url) = &args.url {
        let url = url::parse(url).map_err(|e| Failure::usage(format!("-L: {e}")))?;
        (host, port, username, password, url_topic, url_tls) =
            (url.host, url.port, url.username, url.password, url.topic, url.tls);
    }
    let tls = client_tls_config(args, url_tls)?;
    if tls.is_some() && args.unix.is_some() {
        return Err(Failure::usage(
            "--unix connects without TLS: leave out the TLS flags",
        ));
    }
    username = args.login.username.clone().or(username);
    password = args.login.password.clone().or(password);
    if !v5 && password.is_some() && username.is_none() {
        return Err(Failure::usage(
            "a password (-P) needs a user name (-u) with MQTT 3.1.1",
        ));
    }
    if !v5 && !args.property.0.is_empty() {
        return Err(needs_v5("-D/--property"));
    }
    if !v5 && args.session_expiry.is_some() {
        return Err(needs_v5("-x/--session-expiry"));
    }
    let properties =
        property::parse(&args.property.0, commands).map_err(|e| Failure::usage(e.to_string()))?;
    let session_expiry = args
        .session_expiry
        .or(properties.connect.session_expiry)
        .unwrap_or(if args.no_clean { u32::MAX } else { 0 });
    let outlives = args.no_clean || (v5 && session_expiry > 0);
    let client_id = match (&args.id, &args.id_prefix) {
        (Some(id), _) => id.clone(),
        // A prefixed id changes with every run (-I), so it cannot find a session again either.
        _ if outlives => return Err(Failure::usage(
            "a session that outlives the connection (-c or -x) needs a client id (-i ID) to be found again",
        )),
        (None, Some(prefix)) => format!("{prefix}{}", std::process::id()),
        (None, None) if v5 => String::new(),
        (None, None) => random_client_id(),
    };
    if client_id.len() > usize::from(u16::MAX) {
        return Err(Failure::usage("the client id is longer than 65535 bytes"));
    }
    let will = match &args.will_topic {
        None => None,
        Some(topic) => {
            check_topic_name(topic)
                .map_err(|why| Failure::usage(format!("invalid will topic {topic:?}: {why}")))?;
            Some(Will {
                topic: Arc::from(topic.as_str()),
                payload: Bytes::from(args.will_payload.clone().unwrap_or_default()),
                qos: QoS::from_u8(args.will_qos).unwrap_or_default(),
                retain: args.will_retain,
                delay_interval: properties.will_delay.unwrap_or(0),
                properties: properties.will.clone(),
            })
        }
    };
    let mut options = ConnectOptions::new(host, port, version);
    options.client_id = Arc::from(client_id);
    options.clean_start = !args.no_clean;
    options.keep_alive = args.login.keepalive;
    options.session_expiry = if v5 { session_expiry } else { 0 };
    options.username = username.map(Arc::from);
    options.password = password.map(Bytes::from);
    options.will = will;
    options.tls = tls;
    options.connect_timeout = Duration::from_secs_f64(args.connect_timeout);
    options.unix_path = args.unix.clone();
    options.bind_address = args.bind_address.clone();
    if let Some(inflight) = args.max_inflight {
        options.inflight = inflight;
    }
    let c = &properties.connect;
    options.user_properties = c.user_properties.clone();
    options.receive_maximum = c.receive_maximum.unwrap_or(u16::MAX);
    options.maximum_packet_size = c.maximum_packet_size;
    options.request_problem_info = c.request_problem_info.unwrap_or(true);
    options.request_response_info = c.request_response_info.unwrap_or(false);
    if args.debug {
        options.observer = Some(debug_observer());
    }
    Ok(Connection {
        options,
        properties,
        url_topic,
        quiet: args.quiet,
    })
}

/// The TLS configuration the flags ask for: any TLS flag (or an `mqtts://` URL) turns TLS on,
/// as with mosquitto's clients; `None` for plain TCP.
pub fn tls_config(
    args: &crate::cli::TlsArgs,
    url_tls: bool,
) -> Result<Option<Arc<tokio_rustls::rustls::ClientConfig>>, Failure> {
    if !url_tls && !args.any() {
        return Ok(None);
    }
    let options = crate::client::tls::TlsOptions {
        ca_file: args.cafile.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
        insecure: args.insecure,
    };
    options
        .client_config()
        .map(Some)
        .map_err(|e| Failure::usage(e.to_string()))
}

/// The TLS configuration of `pub` and `sub`, which also take mosquitto's `--capath`,
/// `--tls-version` and `--tls-use-os-certs`.
fn client_tls_config(
    args: &ConnectionArgs,
    url_tls: bool,
) -> Result<Option<Arc<tokio_rustls::rustls::ClientConfig>>, Failure> {
    let (tls, more) = (&args.tls, &args.tls_more);
    if !url_tls && !tls.any() && !more.any() {
        return Ok(None);
    }
    let version = match more.tls_version.as_deref() {
        None => None,
        Some("tlsv1.3") => Some(crate::client::tls::TlsVersion::V1_3),
        Some("tlsv1.2") => Some(crate::client::tls::TlsVersion::V1_2),
        Some(other) => {
            return Err(Failure::usage(format!(
                "--tls-version {other} is not supported: use tlsv1.2 or tlsv1.3"
            )))
        }
    };
    let options = crate::client::tls::TlsOptions {
        ca_file: tls.cafile.clone(),
        cert: tls.cert.clone(),
        key: tls.key.clone(),
        insecure: tls.insecure,
    };
    let more = crate::client::tls::MoreTls {
        ca_path: more.capath.clone(),
        os_certs: more.tls_use_os_certs,
        version,
    };
    options
        .client_config_with(&more)
        .map(Some)
        .map_err(|e| Failure::usage(e.to_string()))
}

/// A current-thread tokio runtime for one client command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Exit::Failed, format!("cannot start the async runtime: {e}")))
}
