//! The plugin side's only unsafe code: reading what the host passes through the exported
//! functions, handing buffers back, and calling the host's vtable.
//!
//! Every exported function body runs inside `catch_unwind`, so no panic unwinds across
//! `extern "C"`; a panic becomes a fatal error whose message starts with `plugin panicked: `.
#![allow(unsafe_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::Declared;
use crate::plugin::abi::{HostLogger, HostVtable, PluginBuffer, PluginDeclaration, StaticStr};
use crate::plugin::protocol::{CallResult, HostCall, HostResult};
use crate::plugin::wire::WireError;
use crate::ConnectError;

/// The host's context of one connector or task, held by the plugin. Dropping the last clone
/// gives the reference back to the host ([`HostVtable::release`]), exactly once.
pub(crate) struct HostRef {
    vtable: HostVtable,
}

// SAFETY: the ABI requires the host's `call` and `release` to be callable from any thread
// while the plugin holds its reference (the host's context is `Send + Sync`); the pointer is
// only ever passed back to those functions.
unsafe impl Send for HostRef {}
// SAFETY: as above; `call` takes the context by shared reference on the host side.
unsafe impl Sync for HostRef {}

impl HostRef {
    /// Sends one callback to the host and reads its answer.
    pub(crate) fn call(&self, request: &HostCall) -> HostResult {
        let bytes = serde_json::to_vec(request).map_err(|e| wire_error(&format!("encoding a host call: {e}")))?;
        // SAFETY: `ctx` is alive (we hold a reference until `release`), `bytes` is valid for
        // `len` bytes for the duration of the call, which does not keep the pointer.
        let buffer = unsafe { (self.vtable.call)(self.vtable.ctx, bytes.as_ptr(), bytes.len()) };
        let answer = if buffer.ptr.is_null() {
            Vec::new()
        } else {
            // SAFETY: the host returns `len` initialized bytes at `ptr`, valid until `free`.
            unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }.to_vec()
        };
        // SAFETY: the buffer came from this vtable's `call` and is freed once, by its `free`.
        unsafe { (self.vtable.free)(buffer) };
        serde_json::from_slice::<HostResult>(&answer).map_err(|e| wire_error(&format!("reading a host answer: {e}")))?
    }
}

impl Drop for HostRef {
    fn drop(&mut self) {
        // SAFETY: this is the plugin's only reference to `ctx`; it is not used afterwards.
        unsafe { (self.vtable.release)(self.vtable.ctx) }
    }
}

/// Hands one encoded log event to the host's logger, in `host`'s context when given.
pub(crate) fn log(logger: &HostLogger, host: Option<&HostRef>, event: &[u8]) {
    let ctx = host.map_or(std::ptr::null(), |h| h.vtable.ctx);
    // SAFETY: `event` is valid for its length during the call; `ctx` is null or a context the
    // caller holds a reference to (`host`) for the whole call, as the ABI requires.
    unsafe { (logger.log)(ctx, event.as_ptr(), event.len()) }
}

/// The body of `aqueduct_plugin_set_logger`.
pub fn set_logger(logger: HostLogger) {
    let _ = catch_unwind(|| super::log::install(logger));
}

fn wire_error(message: &str) -> WireError {
    WireError::from(&ConnectError::fatal(message.to_owned()))
}

/// The message of a caught panic, as the task's error.
pub(crate) fn panic_error(payload: Box<dyn std::any::Any + Send>) -> WireError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    wire_error(&format!("plugin panicked: {message}"))
}

fn static_str(s: &'static str) -> StaticStr {
    StaticStr { ptr: s.as_ptr(), len: s.len() }
}

/// The body of `aqueduct_plugin_declaration`.
pub fn declaration(declared: fn() -> Declared, sdk_version: &'static str) -> PluginDeclaration {
    let manifest = catch_unwind(|| super::state(declared, sdk_version).manifest.as_str())
        .unwrap_or("{\"error\": \"the plugin panicked while declaring its connectors\"}");
    PluginDeclaration {
        abi_version: crate::plugin::abi::ABI_VERSION,
        sdk_version: static_str(sdk_version),
        rustc_version: static_str(crate::plugin::RUSTC_VERSION),
        manifest: static_str(manifest),
    }
}

/// The body of `aqueduct_plugin_call`.
///
/// # Safety
/// `request` must point to `len` readable bytes (or be null with `len` 0); `host` must be null
/// or point to a [`HostVtable`] whose context reference passes to the plugin.
pub unsafe fn call(
    declared: fn() -> Declared,
    sdk_version: &'static str,
    request: *const u8,
    len: usize,
    host: *const HostVtable,
) -> PluginBuffer {
    // Take ownership of the host's reference first, so it is released whatever happens next.
    let host = if host.is_null() {
        None
    } else {
        // SAFETY: the caller passes a valid vtable; it is `Copy` and read once.
        Some(HostRef { vtable: unsafe { *host } })
    };
    let bytes = if request.is_null() || len == 0 {
        Vec::new()
    } else {
        // SAFETY: the caller passes `len` readable bytes, copied before returning.
        unsafe { std::slice::from_raw_parts(request, len) }.to_vec()
    };
    let result: CallResult = catch_unwind(AssertUnwindSafe(move || {
        let state = super::state(declared, sdk_version);
        match serde_json::from_slice(&bytes) {
            Ok(call) => super::handle(state, call, host),
            Err(e) => Err(wire_error(&format!("reading a call: {e}"))),
        }
    }))
    .unwrap_or_else(|payload| Err(panic_error(payload)));
    let encoded = serde_json::to_vec(&result)
        .unwrap_or_else(|_| br#"{"Err":{"kind":"fatal","message":"encoding a reply failed","causes":[]}}"#.to_vec());
    let mut encoded = std::mem::ManuallyDrop::new(encoded);
    PluginBuffer { ptr: encoded.as_mut_ptr(), len: encoded.len(), cap: encoded.capacity() }
}

/// The body of `aqueduct_plugin_free`.
///
/// # Safety
/// `buffer` must have been returned by [`call`] of this library and not freed before.
pub unsafe fn free(buffer: PluginBuffer) {
    if buffer.ptr.is_null() {
        return;
    }
    // SAFETY: the parts are those of a `Vec<u8>` this library leaked in `call`.
    drop(unsafe { Vec::from_raw_parts(buffer.ptr, buffer.len, buffer.cap) });
}
