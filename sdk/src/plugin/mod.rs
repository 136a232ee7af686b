//! Connectors, transforms, predicates and converters loaded at run time: a plugin is a `cdylib`
//! that depends on this SDK, declares them with [`declare_plugin!`](crate::declare_plugin), and
//! is dropped into a directory of the worker's `plugin.path`.
//!
//! # The boundary, and why it is sound
//!
//! Host and plugin are separately compiled Rust. Rust has no stable ABI: a trait object, a
//! `Box`, a `String`, a `Vec`, a future or a tokio handle built by one compiler run cannot be
//! used by another, and the two sides do not share an allocator, a panic runtime or tokio's
//! thread-locals (each side links its own copies). So nothing of that kind crosses:
//!
//! - **Only C types cross.** The plugin exports five `extern "C"` functions
//!   ([`abi`]): its ABI version (a `u32`), its declaration (a `#[repr(C)]` struct of integers
//!   and pointers into its static memory), one `call` entry point, a `free` function, and
//!   `set_logger`, which takes the host's log function.
//! - **Every call is bytes.** The host sends a [`protocol::Call`] serialized as JSON and gets a
//!   [`protocol::CallResult`] back the same way. The data model crosses as the mirror types
//!   of [`wire`] (floats as their bits, bytes as base64), not as the public types, whose layout
//!   is no contract. JSON was chosen over a compact binary format because the SDK already
//!   depends on `serde_json` (so a plugin adds no dependency), every value round-trips exactly
//!   through the wire types, and a message can be read in a log when something goes wrong;
//!   the cost, a copy and an encoding per call, is small beside a task's I/O.
//! - **Memory is freed by the side that allocated it.** A reply is a `Vec<u8>` the plugin
//!   leaked into a [`abi::PluginBuffer`]; the host copies it and hands it back to the
//!   plugin's `free`. Callback answers travel the other way in an [`abi::HostBuffer`] freed by
//!   the host's `free`.
//! - **The plugin owns its runtime.** The first call creates a multi-threaded tokio runtime
//!   inside the plugin; each call is spawned on it and the calling thread blocks until it is
//!   done. The host makes these blocking calls from `tokio::task::spawn_blocking` (its adapter,
//!   in the runtime's `plugin_loader`), so its own workers never wait, and the plugin's tokio
//!   never sees the host's thread-locals (it has its own copies of them).
//! - **Callbacks are a C vtable.** The contexts a connector or task talks to (offsets, sink
//!   pause/resume/rewind/commit requests, the errant record reporter, reconfiguration
//!   requests) arrive with the start call as an [`abi::HostVtable`]: an opaque pointer to the
//!   host's context and `extern "C"` functions over it, with the same bytes-in, bytes-out
//!   discipline. The plugin holds one counted reference to the context and releases it exactly
//!   once, when the last object using it is dropped, so a callback never outlives it.
//! - **Panics stop at the boundary.** Every exported function runs its body in
//!   `catch_unwind`, and each call runs as a spawned task whose panic comes back as its join
//!   error: a panicking `poll` or `put` returns a fatal [`ConnectError`](crate::ConnectError)
//!   whose message is `plugin panicked: <message>`, the task becomes FAILED with it, and the
//!   worker lives. No unwinding crosses `extern "C"`.
//! - **Versions are checked before anything is trusted.** The host reads
//!   `aqueduct_plugin_abi_version` first, then the declaration, and refuses a plugin whose ABI
//!   version, SDK version ([`SDK_VERSION`]), wire protocol ([`PROTOCOL`]) or compiler
//!   ([`RUSTC_VERSION`]) differs from its own, naming both versions and the file. The protocol
//!   fingerprint is what catches a plugin built against an older checkout of the same SDK
//!   version, whose calls and callbacks are not the worker's (the SDK's build script derives it
//!   from the code of the files that define what crosses the boundary). The compiler check is policy rather than
//!   soundness (the bytes do not care who compiled them), kept because the issue asks for it
//!   and because a plugin built by another toolchain is most often a stale build.
//! - **A library is never unloaded.** Connector instances live in the plugin and are named by
//!   numbers ([`protocol::Handle`]); the host keeps the library loaded for the life of the
//!   process, so its functions and static strings stay valid.
//!
//! `unsafe` code is confined to two small modules: the plugin side's `guest::ffi` (reading the
//! host's request bytes and vtable, leaking and freeing reply buffers) and the runtime's
//! `plugin_loader::ffi` (loading the library, reading the declaration and replies, answering
//! callbacks). The functions [`declare_plugin!`](crate::declare_plugin) generates only forward
//! their raw arguments to `guest::ffi` (and `#[no_mangle]` counts as unsafe code), so each
//! carries `#[allow(unsafe_code)]` and its SAFETY comment.
//!
//! A call in progress is never cancelled: when the host stops waiting (a task overrunning its
//! shutdown timeout), the plugin finishes the call; dropping the instance does not wait for it
//! (the instance goes when that call returns).
//!
//! # Transforms, predicates and converters
//!
//! They cross as connectors do: the manifest lists each with its class, aliases and version,
//! the host registers them beside its built-ins, and each instance lives in the plugin, named
//! by a handle ([`protocol::Call::NewTransform`] and its siblings, then
//! [`Configure`](protocol::Call::Configure)). Their traits are synchronous, and so are their
//! calls: the host makes them on the calling thread (inside `block_in_place` on a
//! multi-threaded runtime) and the plugin runs each as a task on its own runtime, like every
//! other call, so a panic becomes a fatal error and an error keeps its kind.
//!
//! **The cost is one JSON round trip per record and stage**: a transform's `apply` sends the
//! whole record ([`wire::WireConnectRecord`]) and gets it back; a predicate's `test` sends it
//! and gets a bool; a converter's `encode`/`decode` sends one key or value (and its schema)
//! and gets the bytes (base64) or the value back. That is a copy, an encoding and a hand-off
//! to the plugin's threads per record: cheap beside Kafka for small records, but a
//! plugin transform on a high-volume pipeline costs measurably more than a built-in one. A
//! predicate's `test`, or the call itself, failing fails the stage it guards, as a transform's
//! error does (`errors.tolerance` decides).
//!
//! # Logging
//!
//! A plugin logs with `tracing` (re-exported as [`plugin::tracing`](crate::plugin::tracing)).
//! Its `tracing` is its own copy, with its own global dispatcher, so the host hands it a log
//! function when it loads the library ([`abi::HostLogger`]) and the plugin installs a
//! subscriber that sends every event across as a [`protocol::LogEvent`], with the host context
//! of the connector or task whose call is running. The worker logs it under the target
//! `aqueduct::plugin`, in that task's span (`task{connector=... task=0}`), with the plugin's
//! own target as the `origin` field:
//!
//! ```text
//! INFO task{connector=health task=0}: aqueduct::plugin: polling started url=http://... origin="my_plugin::source"
//! ```
//!
//! Events below the worker's most verbose level are not even formatted; events from work a
//! plugin spawns outside any call arrive without a connector. A plugin that installs its own
//! global subscriber first keeps it (and its output stays its own).
//!
//! # Exactly once
//!
//! A plugin's source connector answers `exactly_once_support` and
//! `can_define_transaction_boundaries` across the boundary. With
//! `transaction.boundary=connector` its task gets a `TransactionContext` of its own, in the
//! plugin; after each `poll` the host takes the requests made on it
//! ([`protocol::Call::TransactionRequests`]) and adds them to the runtime's, which ends the
//! transactions where they name (one extra call per poll, only for such tasks).
//!
//! A plugin's converter converts headers too when `header.converter` names it: the host calls
//! it once per header value, through the same calls, configured with `converter.type=header`.
//!
//! # Writing one
//!
//! ```ignore
//! // Cargo.toml: crate-type = ["cdylib"], aqueduct-sdk with features = ["plugin"]
//! pub const PLUGIN: aqueduct_sdk::PluginDescriptor = /* as for a built-in connector */;
//! pub const MASK: aqueduct_sdk::TransformDescriptor = /* as for a built-in transform */;
//! aqueduct_sdk::declare_plugin! { connectors: [PLUGIN], transforms: [MASK] }
//! ```
//!
//! See `docs/writing-a-connector.md` for the whole path from `cargo new` to a running worker.

pub mod abi;
#[cfg(feature = "plugin")]
#[doc(hidden)]
pub mod guest;
pub mod protocol;
pub mod wire;

/// The tokio a plugin's own runtime is built from: timers and I/O inside a plugin's connectors
/// run on it (`aqueduct_sdk::plugin::tokio::time::sleep`), without a dependency of their own.
#[cfg(feature = "plugin")]
pub use tokio;

/// The `tracing` a plugin logs with (`aqueduct_sdk::plugin::tracing::info!`): its events reach
/// the worker's log, under the connector's and task's fields (see below).
#[cfg(feature = "plugin")]
pub use tracing;

/// The aqueduct-sdk version, which a plugin's declaration carries and a host compares.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `rustc --version` of the compiler that built this SDK (captured by its build script).
pub const RUSTC_VERSION: &str = env!("AQUEDUCT_RUSTC_VERSION");

/// The fingerprint of the wire protocol this SDK speaks (its ABI, calls, callbacks and the wire
/// forms of records), which a plugin's manifest carries and a host compares: two builds of one
/// SDK version that disagree on what crosses the boundary have different fingerprints.
pub const PROTOCOL: &str = env!("AQUEDUCT_PROTOCOL");

/// Exports a plugin's connectors, transforms, predicates and converters from a `cdylib` (needs
/// the SDK's `plugin` feature).
///
/// ```ignore
/// aqueduct_sdk::declare_plugin! {
///     connectors: [SOURCE_PLUGIN, SINK_PLUGIN],
///     transforms: [MASK_TRANSFORM],
///     predicates: [IS_URGENT],
///     converters: [CSV_CONVERTER],
/// }
/// ```
///
/// Every section is optional, but those present come in this order. Generates the
/// `extern "C"` symbols of [`abi`]; each entry must be an expression of the section's
/// descriptor type: [`PluginDescriptor`](crate::PluginDescriptor),
/// [`TransformDescriptor`](crate::TransformDescriptor),
/// [`PredicateDescriptor`](crate::PredicateDescriptor),
/// [`ConverterDescriptor`](crate::ConverterDescriptor). Use it once per library.
#[macro_export]
macro_rules! declare_plugin {
    // Declares another SDK version than the one linked: only for the tests that check a host
    // refuses such a plugin.
    (@sdk_version $sdk_version:expr, $($sections:tt)*) => {
        $crate::declare_plugin!(@emit $sdk_version, $($sections)*);
    };
    (@emit $sdk_version:expr,
        $(connectors: [$($connector:expr),* $(,)?] $(,)?)?
        $(transforms: [$($transform:expr),* $(,)?] $(,)?)?
        $(predicates: [$($predicate:expr),* $(,)?] $(,)?)?
        $(converters: [$($converter:expr),* $(,)?] $(,)?)?
    ) => {
        fn __aqueduct_plugin_declared() -> $crate::plugin::guest::Declared {
            $crate::plugin::guest::Declared {
                connectors: ::std::vec![$($($connector),*)?],
                transforms: ::std::vec![$($($transform),*)?],
                predicates: ::std::vec![$($($predicate),*)?],
                converters: ::std::vec![$($($converter),*)?],
            }
        }

        /// The plugin ABI version.
        #[allow(unsafe_code)]
        #[no_mangle]
        pub extern "C" fn aqueduct_plugin_abi_version() -> u32 {
            $crate::plugin::abi::ABI_VERSION
        }

        /// The plugin's declaration: versions and manifest.
        #[allow(unsafe_code)]
        #[no_mangle]
        pub extern "C" fn aqueduct_plugin_declaration() -> $crate::plugin::abi::PluginDeclaration {
            $crate::plugin::guest::declaration(__aqueduct_plugin_declared, $sdk_version)
        }

        /// One call from the host.
        ///
        /// # Safety
        /// `request` points to `len` readable bytes; `host` is null or a valid vtable.
        #[allow(unsafe_code)]
        #[no_mangle]
        pub unsafe extern "C" fn aqueduct_plugin_call(
            request: *const u8,
            len: usize,
            host: *const $crate::plugin::abi::HostVtable,
        ) -> $crate::plugin::abi::PluginBuffer {
            // SAFETY: the host upholds the ABI's contract for these arguments.
            unsafe { $crate::plugin::guest::call(__aqueduct_plugin_declared, $sdk_version, request, len, host) }
        }

        /// Takes the host's logger: the plugin's `tracing` events go to it from now on.
        #[allow(unsafe_code)]
        #[no_mangle]
        pub extern "C" fn aqueduct_plugin_set_logger(logger: $crate::plugin::abi::HostLogger) {
            $crate::plugin::guest::set_logger(logger)
        }

        /// Frees a buffer `aqueduct_plugin_call` returned.
        ///
        /// # Safety
        /// `buffer` came from `aqueduct_plugin_call` and is freed once.
        #[allow(unsafe_code)]
        #[no_mangle]
        pub unsafe extern "C" fn aqueduct_plugin_free(buffer: $crate::plugin::abi::PluginBuffer) {
            // SAFETY: as the caller promises.
            unsafe { $crate::plugin::guest::free(buffer) }
        }
    };
    (@emit $($unknown:tt)*) => {
        ::std::compile_error!(
            "declare_plugin! takes `connectors: [...]`, `transforms: [...]`, `predicates: [...]` and `converters: [...]`, each optional, in this order"
        );
    };
    ($($sections:tt)*) => {
        $crate::declare_plugin!(@emit $crate::plugin::SDK_VERSION, $($sections)*);
    };
}
