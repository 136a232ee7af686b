//! What a worker process needs whatever its mode: the REST listener and the shutdown signal.

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tracing::error;

use crate::worker_config::WorkerConfig;

/// Binds the REST API to `rest.host.name`:`rest.port`; returns the listener and the port it
/// got (the port given, or the one the system chose for 0).
pub async fn bind_rest(config: &WorkerConfig) -> Result<(TcpListener, u16)> {
    let host = config.string("rest.host.name");
    let port = u16::try_from(config.long("rest.port")).context("rest.port")?;
    let listener =
        TcpListener::bind((host, port)).await.with_context(|| format!("binding the REST API to {host}:{port}"))?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                error!(error = %e, "cannot listen for SIGTERM");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
