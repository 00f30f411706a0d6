//! Who is at the other end of a connection: a network address, or a client of a Unix socket.

use std::fmt;
use std::net::SocketAddr;

/// The other end of a client connection, as logs and the admin API show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// A TCP connection (plain, TLS or WebSocket) from this address.
    Net(SocketAddr),
    /// A connection to a Unix socket listener: a process on this machine.
    Unix,
}

impl Peer {
    /// Whether the client is on this machine: a loopback address (IPv4-mapped IPv6 loopback
    /// `::ffff:127.0.0.1` included) or a Unix socket.
    pub fn is_local(&self) -> bool {
        match self {
            Peer::Net(addr) => addr.ip().to_canonical().is_loopback(),
            Peer::Unix => true,
        }
    }
}

impl From<SocketAddr> for Peer {
    fn from(addr: SocketAddr) -> Peer {
        Peer::Net(addr)
    }
}

/// The address as `ip:port`, or `unix` for a Unix socket client.
impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Net(addr) => addr.fmt(f),
            Peer::Unix => f.write_str("unix"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_unix_clients_are_local_others_are_not() {
        let net = |a: &str| Peer::from(a.parse::<SocketAddr>().unwrap());
        for ok in ["127.0.0.1:1", "127.8.9.10:1", "[::1]:1", "[::ffff:127.0.0.1]:1"] {
            assert!(net(ok).is_local(), "{ok}");
        }
        assert!(Peer::Unix.is_local());
        for refused in [
            "10.0.0.1:1",
            "192.168.1.2:1",
            "[::ffff:10.0.0.1]:1",
            "[fe80::1]:1",
            "0.0.0.0:1",
        ] {
            assert!(!net(refused).is_local(), "{refused}");
        }
        assert_eq!(net("192.168.1.20:5000").to_string(), "192.168.1.20:5000");
        assert_eq!(Peer::Unix.to_string(), "unix");
    }
}
