//! The C ABI between a host and a plugin: the exported symbols and the `#[repr(C)]` structs
//! that cross. Nothing here is unsafe to define; the few unsafe reads live in
//! `plugin::guest::ffi` (plugin side) and in the runtime's loader (host side).

use std::ffi::c_void;

/// Version of this ABI: the symbols below, their signatures, the structs' layouts and the
/// [`protocol`](super::protocol) messages. A host refuses a plugin of another version.
///
/// Additions either side can ignore keep the version: the manifest's transforms, predicates
/// and converters (absent, they read as none) and the calls on them (made only to a plugin
/// that declares them) were added to version 1 so, and so was [`SYMBOL_SET_LOGGER`] (a host
/// calls it only when the plugin exports it; a plugin without it logs nowhere, as before).
pub const ABI_VERSION: u32 = 1;

/// `extern "C" fn() -> u32`: the plugin's [`ABI_VERSION`]. The one symbol whose meaning never
/// changes, read before anything else.
pub const SYMBOL_ABI_VERSION: &[u8] = b"aqueduct_plugin_abi_version\0";
/// `extern "C" fn() -> PluginDeclaration`.
pub const SYMBOL_DECLARATION: &[u8] = b"aqueduct_plugin_declaration\0";
/// `unsafe extern "C" fn(*const u8, usize, *const HostVtable) -> PluginBuffer`: one call of
/// [`protocol::Call`](super::protocol::Call) (JSON) answered by a
/// [`protocol::CallResult`](super::protocol::CallResult) (JSON).
pub const SYMBOL_CALL: &[u8] = b"aqueduct_plugin_call\0";
/// `unsafe extern "C" fn(PluginBuffer)`: frees a buffer the plugin returned.
pub const SYMBOL_FREE: &[u8] = b"aqueduct_plugin_free\0";

/// `unsafe extern "C" fn(HostLogger)`, optional: the host's log sink, given once right after
/// the declaration is read. The plugin's `tracing` events go to it from then on.
pub const SYMBOL_SET_LOGGER: &[u8] = b"aqueduct_plugin_set_logger\0";

/// The signature of [`SYMBOL_ABI_VERSION`].
pub type AbiVersionFn = extern "C" fn() -> u32;
/// The signature of [`SYMBOL_DECLARATION`].
pub type DeclarationFn = extern "C" fn() -> PluginDeclaration;
/// The signature of [`SYMBOL_CALL`].
pub type CallFn = unsafe extern "C" fn(request: *const u8, len: usize, host: *const HostVtable) -> PluginBuffer;
/// The signature of [`SYMBOL_FREE`].
pub type FreeFn = unsafe extern "C" fn(buffer: PluginBuffer);
/// The signature of [`SYMBOL_SET_LOGGER`].
pub type SetLoggerFn = unsafe extern "C" fn(logger: HostLogger);

/// Where a plugin's log events go: the host's function, and the most verbose level the host
/// records (so the plugin does not format what would be thrown away).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HostLogger {
    /// 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace.
    pub max_level: u32,
    /// Logs one [`protocol::LogEvent`](super::protocol::LogEvent) (JSON, `len` bytes, read
    /// during the call). `ctx` is null or the [`HostVtable::ctx`] of the connector or task
    /// whose call logged it, to which the plugin holds a reference for the whole call; the host
    /// logs the event in that connector's or task's context. Callable from any thread.
    pub log: unsafe extern "C" fn(ctx: *const c_void, event: *const u8, len: usize),
}

/// Borrowed UTF-8 bytes in static memory of the plugin (valid while it is loaded).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct StaticStr {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

/// What a plugin declares, returned by value from [`SYMBOL_DECLARATION`].
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PluginDeclaration {
    /// [`ABI_VERSION`] the plugin was built with.
    pub abi_version: u32,
    /// The aqueduct-sdk version the plugin was built with.
    pub sdk_version: StaticStr,
    /// `rustc --version` of the compiler that built the plugin's SDK.
    pub rustc_version: StaticStr,
    /// The [`Manifest`](super::protocol::Manifest), as JSON.
    pub manifest: StaticStr,
}

/// Bytes allocated by the plugin (a `Vec<u8>`'s parts), freed only by [`SYMBOL_FREE`].
#[repr(C)]
pub struct PluginBuffer {
    /// First byte.
    pub ptr: *mut u8,
    /// Length.
    pub len: usize,
    /// Capacity.
    pub cap: usize,
}

/// Bytes allocated by the host, freed only by [`HostVtable::free`].
#[repr(C)]
pub struct HostBuffer {
    /// First byte.
    pub ptr: *mut u8,
    /// Length.
    pub len: usize,
    /// Capacity.
    pub cap: usize,
}

/// The host's callbacks for one connector or task: an opaque context and functions over it.
///
/// The plugin receives one reference to `ctx` with the call that starts the connector or task,
/// calls [`HostVtable::call`] from any thread while it holds it, and gives it back exactly
/// once with [`HostVtable::release`] (after which it must not use `ctx`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HostVtable {
    /// The host's context; only the host looks inside.
    pub ctx: *const c_void,
    /// One [`protocol::HostCall`](super::protocol::HostCall) (JSON) answered by a
    /// [`protocol::HostResult`](super::protocol::HostResult) (JSON) in a host buffer.
    pub call: unsafe extern "C" fn(ctx: *const c_void, request: *const u8, len: usize) -> HostBuffer,
    /// Frees a buffer `call` returned.
    pub free: unsafe extern "C" fn(buffer: HostBuffer),
    /// Gives the plugin's reference to `ctx` back.
    pub release: unsafe extern "C" fn(ctx: *const c_void),
}
