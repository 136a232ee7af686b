//! The host side's only unsafe code: loading a plugin library, reading its declaration and
//! replies, and the `extern "C"` callbacks it calls back into (see `aqueduct_sdk::plugin` for
//! the contract each block relies on).
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use aqueduct_sdk::plugin::abi::{
    AbiVersionFn, CallFn, DeclarationFn, FreeFn, HostBuffer, HostLogger, HostVtable, SetLoggerFn, StaticStr,
    ABI_VERSION, SYMBOL_ABI_VERSION, SYMBOL_CALL, SYMBOL_DECLARATION, SYMBOL_FREE, SYMBOL_SET_LOGGER,
};
use tracing::level_filters::LevelFilter;

use super::callbacks::HostContext;

/// What a plugin declared, copied out of its memory.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// Its ABI version.
    pub abi_version: u32,
    /// The SDK version it was built with.
    pub sdk_version: String,
    /// The compiler that built its SDK.
    pub rustc_version: String,
    /// Its manifest, as JSON.
    pub manifest: String,
}

/// A loaded plugin library: its entry points. The library itself is leaked (never unloaded),
/// so the function pointers stay valid for the life of the process.
#[derive(Clone, Copy)]
pub struct Library {
    call: CallFn,
    free: FreeFn,
    set_logger: Option<SetLoggerFn>,
}

/// Why a file is not a usable plugin, before its versions are compared.
#[derive(Debug)]
pub enum OpenError {
    /// Not a library, or one without the plugin symbols.
    Broken(String),
    /// A plugin of another ABI version (its declaration was not read).
    Abi(u32),
}

/// Loads `path`, checks its ABI version, reads its declaration and resolves its entry points.
pub fn open(path: &Path) -> Result<(Library, Declaration), OpenError> {
    // SAFETY: loading runs the library's initializers. The files of plugin.path are code the
    // operator chose to run in the worker, as Kafka Connect's plugin.path jars are.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| OpenError::Broken(e.to_string()))?;
    // Never unloaded: function pointers and static strings of the library stay valid.
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    // SAFETY: the symbol is declared by the ABI (every version) as `extern "C" fn() -> u32`.
    let abi_version = unsafe { lib.get::<AbiVersionFn>(SYMBOL_ABI_VERSION) }
        .map(|f| *f)
        .map_err(|e| OpenError::Broken(format!("not an Aqueduct plugin: {e}")))?;
    let version = abi_version();
    if version != ABI_VERSION {
        return Err(OpenError::Abi(version));
    }
    // SAFETY: ABI version 1 declares these symbols with these signatures.
    let (declaration, call, free, set_logger) = unsafe {
        let declaration = lib.get::<DeclarationFn>(SYMBOL_DECLARATION).map(|f| *f);
        let call = lib.get::<CallFn>(SYMBOL_CALL).map(|f| *f);
        let free = lib.get::<FreeFn>(SYMBOL_FREE).map(|f| *f);
        let set_logger = lib.get::<SetLoggerFn>(SYMBOL_SET_LOGGER).map(|f| *f).ok();
        (declaration, call, free, set_logger)
    };
    let missing = |e: libloading::Error| OpenError::Broken(format!("incomplete Aqueduct plugin: {e}"));
    let (declaration, call, free) = (declaration.map_err(missing)?, call.map_err(missing)?, free.map_err(missing)?);
    let raw = declaration();
    let declaration = Declaration {
        abi_version: raw.abi_version,
        sdk_version: read(raw.sdk_version),
        rustc_version: read(raw.rustc_version),
        manifest: read(raw.manifest),
    };
    Ok((Library { call, free, set_logger }, declaration))
}

fn read(s: StaticStr) -> String {
    if s.ptr.is_null() {
        return String::new();
    }
    // SAFETY: the declaration points into the library's static memory, `len` bytes, valid while
    // the library is loaded (forever).
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(s.ptr, s.len) }).into_owned()
}

impl Library {
    /// Gives the plugin this process's logger, when the plugin takes one (call it once, after
    /// its versions were checked).
    pub fn set_logger(&self) {
        let max_level = match LevelFilter::current() {
            LevelFilter::OFF => 0,
            LevelFilter::ERROR => 1,
            LevelFilter::WARN => 2,
            LevelFilter::INFO => 3,
            LevelFilter::DEBUG => 4,
            _ => 5,
        };
        if let Some(set_logger) = self.set_logger {
            // SAFETY: the symbol has this signature in ABI version 1 (checked), and `host_log`
            // upholds the logger's contract.
            unsafe { set_logger(HostLogger { max_level, log: host_log }) };
        }
    }

    /// One call into the plugin: request bytes in, reply bytes out. `host`, when given, passes
    /// one reference to its context to the plugin, which releases it.
    pub fn call(&self, request: &[u8], host: Option<Arc<HostContext>>) -> Vec<u8> {
        let vtable = host.map(|ctx| HostVtable {
            ctx: Arc::into_raw(ctx).cast::<c_void>(),
            call: host_call,
            free: host_free,
            release: host_release,
        });
        let vtable_ptr = vtable.as_ref().map_or(std::ptr::null(), |v| v as *const HostVtable);
        // SAFETY: `request` is valid for its length during the call; the vtable (if any) is
        // valid during the call and its context reference now belongs to the plugin, which
        // takes it before doing anything else.
        let buffer = unsafe { (self.call)(request.as_ptr(), request.len(), vtable_ptr) };
        let reply = if buffer.ptr.is_null() {
            Vec::new()
        } else {
            // SAFETY: the plugin returns `len` initialized bytes, valid until freed.
            unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }.to_vec()
        };
        // SAFETY: the buffer came from this library's call and is freed once, by its free.
        unsafe { (self.free)(buffer) };
        reply
    }
}

/// The plugin calls back into a host context.
unsafe extern "C" fn host_call(ctx: *const c_void, request: *const u8, len: usize) -> HostBuffer {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `ctx` is an `Arc<HostContext>` the plugin holds a reference to (not released
        // yet), and `request` points to `len` readable bytes for the duration of the call.
        let (context, request) = unsafe {
            let request = if request.is_null() { &[][..] } else { std::slice::from_raw_parts(request, len) };
            (&*ctx.cast::<HostContext>(), request)
        };
        context.answer(request)
    }))
    .unwrap_or_else(|_| super::callbacks::panicked());
    let mut answer = std::mem::ManuallyDrop::new(answer);
    HostBuffer { ptr: answer.as_mut_ptr(), len: answer.len(), cap: answer.capacity() }
}

/// The plugin logs one event, in a host context or none.
unsafe extern "C" fn host_log(ctx: *const c_void, event: *const u8, len: usize) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `ctx` is null or an `Arc<HostContext>` the plugin holds a reference to for
        // the whole call, and `event` points to `len` readable bytes during it.
        let (context, event) = unsafe {
            let event = if event.is_null() { &[][..] } else { std::slice::from_raw_parts(event, len) };
            (ctx.cast::<HostContext>().as_ref(), event)
        };
        super::callbacks::log(context, event);
    }));
}

/// Frees an answer of [`host_call`].
unsafe extern "C" fn host_free(buffer: HostBuffer) {
    if buffer.ptr.is_null() {
        return;
    }
    // SAFETY: the parts are those of a `Vec<u8>` leaked by `host_call`, freed once.
    drop(unsafe { Vec::from_raw_parts(buffer.ptr, buffer.len, buffer.cap) });
}

/// The plugin gives its reference to a host context back.
unsafe extern "C" fn host_release(ctx: *const c_void) {
    // SAFETY: `ctx` came from `Arc::into_raw` in `Library::call`; the plugin releases it once.
    let context = unsafe { Arc::from_raw(ctx.cast::<HostContext>()) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(context)));
}
