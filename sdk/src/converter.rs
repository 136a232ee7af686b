//! Converters, as Kafka Connect's `Converter`: between the data model and the bytes of a key or
//! value in Kafka, named in `key.converter` / `value.converter`.
//!
//! A converter is created unconfigured by its [`ConverterDescriptor`]'s factory, then
//! [`configure`](Converter::configure)d once with its own keys (the `key.converter.` or
//! `value.converter.` prefix removed, `converter.type` added as Kafka Connect adds it: `key`,
//! `value` or `header`) and whether it converts keys. After that it is shared by a task's
//! threads (`&self`, `Send + Sync`).
//!
//! Every converter is also a header converter (Kafka Connect's `HeaderConverter`): named in
//! `header.converter`, it is configured with `converter.type=header` and converts each header's
//! value, one at a time, with [`encode`](Converter::encode) and [`decode`](Converter::decode)
//! (the header's key is in the error the runtime reports, not in the call).
//!
//! ```
//! use aqueduct_sdk::*;
//!
//! /// Writes values as their upper-cased text.
//! struct Shouting;
//!
//! impl Converter for Shouting {
//!     fn encode(&self, _topic: &str, _schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
//!         Ok(match value {
//!             Value::Null => None,
//!             Value::String(s) => Some(s.to_uppercase().into_bytes()),
//!             other => return Err(ConnectError::data(format!("not a string: {other:?}"))),
//!         })
//!     }
//!     fn decode(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
//!         let value = bytes.map_or(Value::Null, |b| Value::String(String::from_utf8_lossy(b).into_owned()));
//!         Ok((Some(Schema::optional(SchemaType::String)), value))
//!     }
//!     fn class(&self) -> &'static str {
//!         "com.example.Shouting"
//!     }
//! }
//!
//! pub const SHOUTING: ConverterDescriptor = ConverterDescriptor {
//!     class: "com.example.Shouting",
//!     aliases: &["Shouting"],
//!     version: "1.0.0",
//!     doc: "Upper-cased text.",
//!     factory: ConverterFactory::Builtin(|| Box::new(Shouting)),
//! };
//!
//! let mut c = (SHOUTING.factory)();
//! c.configure(&Props::new(), false).unwrap();
//! assert_eq!(c.encode("t", None, &Value::from("hi")).unwrap(), Some(b"HI".to_vec()));
//! ```

use std::ops::Deref;
use std::sync::Arc;

use crate::config::{ConfigDef, Props};
use crate::error::Result;
use crate::schema::SchemaRef;
use crate::value::Value;

/// Serializes keys, values or header values for Kafka and back (Kafka Connect's `Converter`,
/// and its `HeaderConverter` when named in `header.converter`).
pub trait Converter: Send + Sync {
    /// The keys it understands (under `key.converter.`, `value.converter.` or `header.converter.`).
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    /// Configures it once, before any conversion, from its keys (prefix removed, `converter.type`
    /// added: `key`, `value` or `header`); `is_key` says whether it converts keys. A bad key is a
    /// [`ConnectError::config`](crate::ConnectError::config) naming it.
    fn configure(&mut self, _props: &Props, _is_key: bool) -> Result<()> {
        Ok(())
    }
    /// Connect data to bytes (Kafka Connect's `fromConnectData`); `None` for a null value.
    fn encode(&self, topic: &str, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>>;
    /// Bytes, or null, to Connect data (Kafka Connect's `toConnectData`).
    fn decode(&self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)>;
    /// Its class name, as the dead-letter headers report it.
    fn class(&self) -> &'static str;
}

/// Creates a converter, as a closure: what a plugin loaded at run time supplies.
pub type SharedConverterFactory = Arc<dyn Fn() -> Box<dyn Converter> + Send + Sync>;

/// Creates unconfigured instances of one converter; called like a function
/// (`(descriptor.factory)()`) through its [`Deref`] to `dyn Fn`.
#[derive(Clone)]
pub enum ConverterFactory {
    /// A function, as a built-in names in a `const` descriptor.
    Builtin(fn() -> Box<dyn Converter>),
    /// A closure, as a plugin loaded at run time supplies.
    Shared(SharedConverterFactory),
}

impl Deref for ConverterFactory {
    type Target = dyn Fn() -> Box<dyn Converter> + Send + Sync;
    fn deref(&self) -> &Self::Target {
        match self {
            ConverterFactory::Builtin(f) => f,
            ConverterFactory::Shared(f) => &**f,
        }
    }
}

/// A converter as the runtime registers it, found by class or alias from `key.converter`,
/// `value.converter` or `header.converter`. A converter loaded at run time has its names leaked to `'static`.
#[derive(Clone)]
pub struct ConverterDescriptor {
    /// The class name, e.g. `"JsonConverter"`.
    pub class: &'static str,
    /// Other accepted names, e.g. `"org.apache.kafka.connect.json.JsonConverter"`.
    pub aliases: &'static [&'static str],
    /// Its version.
    pub version: &'static str,
    /// One line on what it does.
    pub doc: &'static str,
    /// Creates unconfigured instances.
    pub factory: ConverterFactory,
}

impl ConverterDescriptor {
    /// True when `name` is the class or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.class == name || self.aliases.contains(&name)
    }
}
