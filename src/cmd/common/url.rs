//! `-L/--url`: mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC, parsed the way mosquitto's clients do.
//!
//! Hand-written rather than a general URL parser on purpose: the topic is everything after the
//! first `/`, taken literally, so `mqtt://host/a/#` means the filter `a/#` (a URL library would
//! read `#` as a fragment).

/// What a broker URL says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (1883 when absent).
    pub port: u16,
    /// User name, percent-decoded.
    pub username: Option<String>,
    /// Password, percent-decoded.
    pub password: Option<String>,
    /// Topic name or filter, if the URL has a non-empty path.
    pub topic: Option<String>,
    /// `mqtts://` (or `ssl://`): MQTT over TLS.
    pub tls: bool,
}

/// Why a broker URL was refused. Each variant holds the part of the URL the message quotes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// No `://`.
    #[error("{0:?} is not a URL like mqtt://HOST:PORT/TOPIC")]
    NotUrl(String),
    /// `ws://` or `wss://` (held here): the client commands speak plain MQTT only.
    #[error(
        "{0}:// (MQTT over WebSockets) is not supported by the client commands; use mqtt:// or mqtts://"
    )]
    WebSocket(String),
    /// Any other scheme (held here).
    #[error("unknown URL scheme {0}://; use mqtt:// or mqtts://")]
    Scheme(String),
    /// A `%` not followed by two hex digits, in the user name or password (held here).
    #[error("bad percent escape in {0:?}")]
    PercentEscape(String),
    /// A user name or password (held here) whose decoded bytes are not UTF-8.
    #[error("{0:?} is not UTF-8 once decoded")]
    NotUtf8(String),
    /// An IPv6 address without its `]`.
    #[error("missing ']' in {0:?}")]
    UnclosedBracket(String),
    /// Nothing where the host should be.
    #[error("no host in {0:?}")]
    NoHost(String),
    /// A port that is not a number from 0 to 65535.
    #[error("bad port {port:?} in {url:?}")]
    Port {
        /// What stands where the port should be.
        port: String,
        /// The whole URL.
        url: String,
    },
}

/// Decodes `%XX` escapes (user names and passwords may need `%40` for `@`, `%3A` for `:`).
fn percent_decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| UrlError::PercentEscape(s.to_string()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::NotUtf8(s.to_string()))
}

/// Parses a broker URL; unsupported schemes get a message saying so.
pub fn parse(url: &str) -> Result<BrokerUrl, UrlError> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(UrlError::NotUrl(url.to_string()));
    };
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "mqtt" | "tcp" => false,
        "mqtts" | "ssl" => true,
        "ws" | "wss" => return Err(UrlError::WebSocket(scheme.to_string())),
        _ => return Err(UrlError::Scheme(scheme.to_string())),
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(u) => match u.split_once(':') {
            Some((user, pass)) => (Some(percent_decode(user)?), Some(percent_decode(pass)?)),
            None => (Some(percent_decode(u)?), None),
        },
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| UrlError::UnclosedBracket(url.to_string()))?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::NoHost(url.to_string()));
    }
    let port = match port {
        None | Some("") if tls => 8883,
        None | Some("") => 1883,
        Some(p) => p.parse().map_err(|_| UrlError::Port {
            port: p.to_string(),
            url: url.to_string(),
        })?,
    };
    Ok(BrokerUrl {
        host: host.to_string(),
        port,
        username,
        password,
        topic: (!path.is_empty()).then(|| path.to_string()),
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_url() {
        assert_eq!(
            parse("mqtt://al%40ice:p%3Ass@broker.example:1884/a/b/#").unwrap(),
            BrokerUrl {
                host: "broker.example".into(),
                port: 1884,
                username: Some("al@ice".into()),
                password: Some("p:ss".into()),
                topic: Some("a/b/#".into()),
                tls: false,
            }
        );
    }

    #[test]
    fn defaults_and_ipv6() {
        let u = parse("mqtt://[::1]").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.topic), ("::1", 1883, None));
        let u = parse("mqtt://h/").unwrap();
        assert_eq!((u.host.as_str(), u.topic), ("h", None));
        let u = parse("mqtt://u@h:1/t").unwrap();
        assert_eq!((u.username.as_deref(), u.password), (Some("u"), None));
    }

    #[test]
    fn unsupported_and_bad() {
        let tls = parse("mqtts://h/t").unwrap();
        assert!(tls.tls && tls.port == 8883, "{tls:?}");
        assert_eq!(parse("ssl://h:1/t").unwrap().port, 1);
        assert!(!parse("mqtt://h/t").unwrap().tls);
        assert!(parse("ws://h/t")
            .unwrap_err()
            .to_string()
            .contains("WebSockets) is not supported by the client commands"));
        assert!(parse("http://h")
            .unwrap_err()
            .to_string()
            .contains("unknown URL scheme"));
        assert!(parse("h:1883").is_err());
        assert!(parse("mqtt://h:x/").is_err());
        assert!(parse("mqtt:///t").is_err());
    }
}
