//! Accept loops: take a connection permit, configure the socket, spawn the connection task.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::connection;
use super::context::ListenerContext;
use super::metrics::add;

/// Accepts TCP connections until shutdown; each one holds a permit of `permits` for its life.
pub async fn run_tcp(listener: TcpListener, ctx: ListenerContext, permits: Arc<Semaphore>) {
    let mut shutdown = ctx.shutdown.clone();
    let mut full_logged = false;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if !full_logged {
                tracing::warn!(%peer, "max_connections reached; refusing new connections");
                full_logged = true;
            }
            drop(stream);
            continue;
        };
        full_logged = false;
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        let broker = ctx.broker.clone();
        tokio::spawn(async move {
            let (reader, writer) = stream.into_split();
            let task = tokio::spawn(connection::serve(ctx, reader, writer, peer));
            // A panic is a bug; it costs that one connection, and it is counted and logged.
            if let Err(e) = task.await {
                if e.is_panic() {
                    add(&broker.metrics.connection_panics, 1);
                    tracing::error!(%peer, "connection task panicked; the connection was dropped");
                }
            }
            drop(permit);
        });
    }
}
