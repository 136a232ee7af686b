//! The SDK's `Transform`, `Predicate` and `Converter` over a loaded plugin. Their methods are
//! synchronous, so each is one blocking call into the library
//! ([`PluginClient::call_sync`]: inside `block_in_place` on a multi-threaded runtime): one
//! JSON round trip per record (see `aqueduct_sdk::plugin`).

use aqueduct_sdk::plugin::protocol::{Call, Reply};
use aqueduct_sdk::plugin::wire::{
    bytes_in, bytes_out, config_def_in, schema_in, schema_out, WireConnectRecord, WireValue,
};
use aqueduct_sdk::{
    ConfigDef, ConnectError, ConnectRecord, Converter, Predicate, Props, Result, SchemaRef, Transform, Value,
};
use tracing::warn;

use super::client::{unexpected, PluginClient, Remote};

/// An instance in the plugin, or why it could not be made (every call then fails with it).
struct Instance {
    class: &'static str,
    remote: std::result::Result<Remote, String>,
}

impl Instance {
    /// Creates the instance in the plugin with `new`.
    fn new(client: &PluginClient, class: &'static str, new: Call) -> Self {
        let remote = match client.call_sync(new) {
            Ok(Reply::Handle(handle)) => Ok(Remote { client: client.clone(), handle }),
            Ok(other) => Err(unexpected(&other).to_string()),
            Err(e) => Err(e.to_string()),
        };
        Instance { class, remote }
    }

    fn call(&self, call: impl FnOnce(u64) -> Call) -> Result<Reply> {
        let remote = self
            .remote
            .as_ref()
            .map_err(|e| ConnectError::fatal(format!("creating {} in its plugin: {e}", self.class)))?;
        remote.client.call_sync(call(remote.handle))
    }

    fn config_def(&self) -> ConfigDef {
        match self.call(|handle| Call::ComponentConfigDef { handle }) {
            Ok(Reply::ConfigDef(keys)) => config_def_in(keys),
            Ok(other) => {
                warn!(class = self.class, reply = ?other, "unexpected config definition from a plugin");
                ConfigDef::new()
            }
            Err(e) => {
                warn!(class = self.class, error = %e, "reading a plugin's config definition failed");
                ConfigDef::new()
            }
        }
    }

    fn configure(&self, props: &Props, is_key: bool) -> Result<()> {
        self.call(|handle| Call::Configure { handle, props: props.clone(), is_key }).map(|_| ())
    }
}

/// A transform of a plugin.
pub struct PluginTransform(Instance);

impl PluginTransform {
    /// A fresh transform of `class` in the plugin behind `client`.
    pub fn new(client: &PluginClient, class: &'static str) -> Self {
        PluginTransform(Instance::new(client, class, Call::NewTransform { class: class.to_owned() }))
    }
}

impl Transform for PluginTransform {
    fn config_def(&self) -> ConfigDef {
        self.0.config_def()
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        self.0.configure(props, false)
    }
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let record = Box::new(WireConnectRecord::from(&record));
        match self.0.call(|transform| Call::Apply { transform, record })? {
            Reply::Record(out) => out.map(|r| ConnectRecord::try_from(*r)).transpose(),
            other => Err(unexpected(&other)),
        }
    }
}

/// A predicate of a plugin. `test` has no error to return: a failed call is logged and the
/// predicate does not match.
pub struct PluginPredicate(Instance);

impl PluginPredicate {
    /// A fresh predicate of `class` in the plugin behind `client`.
    pub fn new(client: &PluginClient, class: &'static str) -> Self {
        PluginPredicate(Instance::new(client, class, Call::NewPredicate { class: class.to_owned() }))
    }
}

impl Predicate for PluginPredicate {
    fn config_def(&self) -> ConfigDef {
        self.0.config_def()
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        self.0.configure(props, false)
    }
    fn test(&self, record: &ConnectRecord) -> Result<bool> {
        let record = Box::new(WireConnectRecord::from(record));
        match self.0.call(|predicate| Call::Test { predicate, record })? {
            Reply::Bool(matches) => Ok(matches),
            other => Err(unexpected(&other)),
        }
    }
}

/// A converter of a plugin.
pub struct PluginConverter(Instance);

impl PluginConverter {
    /// A fresh converter of `class` in the plugin behind `client`.
    pub fn new(client: &PluginClient, class: &'static str) -> Self {
        PluginConverter(Instance::new(client, class, Call::NewConverter { class: class.to_owned() }))
    }
}

impl Converter for PluginConverter {
    fn config_def(&self) -> ConfigDef {
        self.0.config_def()
    }
    fn configure(&mut self, props: &Props, is_key: bool) -> Result<()> {
        self.0.configure(props, is_key)
    }
    fn encode(&self, topic: &str, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        let (topic, schema, value) = (topic.to_owned(), schema_out(schema), WireValue::from(value));
        match self.0.call(|converter| Call::Encode { converter, topic, schema, value })? {
            Reply::Bytes(bytes) => bytes_in(bytes),
            other => Err(unexpected(&other)),
        }
    }
    fn decode(&self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        let (topic, bytes) = (topic.to_owned(), bytes_out(bytes));
        match self.0.call(|converter| Call::Decode { converter, topic, bytes })? {
            Reply::SchemaAndValue(schema, value) => Ok((schema_in(schema)?, Value::try_from(value)?)),
            other => Err(unexpected(&other)),
        }
    }
    fn class(&self) -> &'static str {
        self.0.class
    }
}
