//! Readiness notification for systemd (`Type=notify`): tells the service manager when the
//! broker serves and when it stops.
//!
//! The protocol is one datagram of `KEY=VALUE` lines sent to the unix socket named by
//! `$NOTIFY_SOCKET` (see sd_notify(3)); it is written here with the standard library rather
//! than a crate because it is a dozen lines and needs no unsafe code. When `$NOTIFY_SOCKET` is
//! not set (not started by systemd), every call does nothing.

use std::ffi::OsStr;
use std::future::Future;
use std::io;
use std::task::Poll;

/// Runs `shutdown` (the future that waits for SIGTERM) to completion, telling the service
/// manager READY=1 once it has started to listen and STOPPING=1 when it completes.
///
/// READY=1 means `systemctl start` returns and a `systemctl stop` may follow at once, so it
/// must not be sent before the broker listens for SIGTERM: a SIGTERM before that would kill
/// it without a clean shutdown. Tokio installs a signal handler when the listener is created,
/// which `shutdown` does on its first poll; so READY=1 goes out after that first poll.
pub async fn serving_until<F: Future>(shutdown: F) -> F::Output {
    let mut shutdown = std::pin::pin!(shutdown);
    let first = std::future::poll_fn(|cx| Poll::Ready(shutdown.as_mut().poll(cx))).await;
    let output = match first {
        Poll::Ready(output) => output,
        Poll::Pending => {
            ready();
            shutdown.await
        }
    };
    stopping();
    output
}

/// Tells the service manager that the broker has bound every listener and is serving, so
/// `systemctl start` returns and units ordered after robustmq may start.
fn ready() {
    notify("READY=1\nSTATUS=serving");
}

/// Tells the service manager that the broker has begun to shut down.
fn stopping() {
    notify("STOPPING=1\nSTATUS=shutting down");
}

/// Sends `state` to `$NOTIFY_SOCKET` if it is set. A failure is logged and otherwise
/// ignored: the broker serves clients just as well, and systemd reports the missing
/// notification itself.
fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(error) = send(&socket, state) {
        tracing::warn!(socket = %socket.to_string_lossy(), %error, "cannot notify systemd");
    }
}

/// Sends one notification datagram to `socket`: a path, or `@name` for a Linux abstract
/// socket.
#[cfg(unix)]
fn send(socket: &OsStr, state: &str) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::UnixDatagram;

    let datagram = UnixDatagram::unbound()?;
    let address = socket.as_bytes();
    if let Some(name) = address.strip_prefix(b"@") {
        return send_abstract(&datagram, name, state);
    }
    if !address.starts_with(b"/") {
        // systemd also knows vsock: addresses (for virtual machines); a broker is not run so.
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "unsupported socket address",
        ));
    }
    datagram.send_to(state.as_bytes(), socket).map(drop)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_abstract(datagram: &std::os::unix::net::UnixDatagram, name: &[u8], state: &str) -> io::Result<()> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;

    let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    datagram.send_to_addr(state.as_bytes(), &address).map(drop)
}

#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
fn send_abstract(_: &std::os::unix::net::UnixDatagram, _: &[u8], _: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets exist only on Linux",
    ))
}

/// There is no systemd off unix.
#[cfg(not(unix))]
fn send(_: &OsStr, _: &str) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no unix sockets"))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::net::UnixDatagram;
    use std::time::Duration;

    use super::*;

    fn receive(socket: &UnixDatagram) -> String {
        socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn sends_the_state_to_a_socket_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        send(path.as_os_str(), "READY=1").unwrap();
        assert_eq!(receive(&socket), "READY=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sends_the_state_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("robustmq-notify-test-{}", std::process::id());
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let socket = UnixDatagram::bind_addr(&address).unwrap();
        send(OsStr::new(&format!("@{name}")), "STOPPING=1").unwrap();
        assert_eq!(receive(&socket), "STOPPING=1");
    }

    #[test]
    fn refuses_addresses_it_cannot_reach() {
        let error = send(OsStr::new("vsock:2:1234"), "READY=1").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Unsupported);
        let dir = tempfile::tempdir().unwrap();
        assert!(send(dir.path().join("nobody-listens").as_os_str(), "READY=1").is_err());
    }
}
