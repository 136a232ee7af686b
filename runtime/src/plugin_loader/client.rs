//! Typed calls into a loaded plugin, made so the host's async runtime never waits on them.

use std::path::Path;
use std::sync::Arc;

use aqueduct_sdk::plugin::protocol::{Call, CallResult, Handle, Reply};
use aqueduct_sdk::{ConnectError, Result};
use tokio::runtime::RuntimeFlavor;

use super::callbacks::HostContext;
use super::ffi::Library;

/// One loaded plugin library, cheap to clone.
#[derive(Clone)]
pub struct PluginClient {
    library: Library,
    file: Arc<Path>,
}

impl PluginClient {
    /// A client of `library`, loaded from `file`.
    pub fn new(library: Library, file: &Path) -> Self {
        PluginClient { library, file: file.into() }
    }

    /// The file the plugin was loaded from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Makes one call on this thread, blocking until the plugin answers.
    fn call_here(&self, call: &Call, host: Option<Arc<HostContext>>) -> Result<Reply> {
        let request = serde_json::to_vec(call)
            .map_err(|e| ConnectError::fatal(format!("encoding a call to plugin {}: {e}", self.file.display())))?;
        let reply = self.library.call(&request, host);
        let result: CallResult = serde_json::from_slice(&reply)
            .map_err(|e| ConnectError::fatal(format!("reading the reply of plugin {}: {e}", self.file.display())))?;
        result.map_err(ConnectError::from)
    }

    /// Makes a call from an async method: on the runtime's blocking pool, so no async worker
    /// waits for the plugin.
    pub async fn call(&self, call: Call, host: Option<Arc<HostContext>>) -> Result<Reply> {
        if tokio::runtime::Handle::try_current().is_err() {
            return self.call_here(&call, host);
        }
        let client = self.clone();
        tokio::task::spawn_blocking(move || client.call_here(&call, host))
            .await
            .map_err(|e| ConnectError::fatal(format!("a call to plugin {} was lost: {e}", self.file.display())))?
    }

    /// Makes a call from a synchronous method (config definitions, task configs, instance
    /// creation): inside `block_in_place` on a multi-threaded runtime, so its other tasks move
    /// to other workers meanwhile.
    pub fn call_sync(&self, call: Call) -> Result<Reply> {
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.call_here(&call, None))
            }
            _ => self.call_here(&call, None),
        }
    }
}

/// An instance living in the plugin: dropped there when this is dropped.
pub struct Remote {
    /// The library.
    pub client: PluginClient,
    /// The instance's number.
    pub handle: Handle,
}

impl Remote {
    /// Makes a call from an async method.
    pub async fn call(&self, call: Call, host: Option<Arc<HostContext>>) -> Result<Reply> {
        self.client.call(call, host).await
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Err(e) = self.client.call_sync(Call::Drop { handle: self.handle }) {
            tracing::warn!(plugin = %self.client.file().display(), error = %e, "dropping a plugin instance failed");
        }
    }
}

/// The error for a reply of the wrong kind.
pub fn unexpected(reply: &Reply) -> ConnectError {
    ConnectError::fatal(format!("unexpected reply from a plugin: {reply:?}"))
}
