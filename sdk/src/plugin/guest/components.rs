//! The calls on a plugin's transforms, predicates and converters: created by class,
//! configured, then one call per record (a transform's `apply`, a predicate's `test`) or per
//! key or value (a converter's `encode` / `decode`). These traits are synchronous; each call
//! still runs as a task on the plugin's runtime, as every other call does, so a panic in it
//! comes back as an error.

use super::{err, fatal, lock, unit, wrong, Instance, State};
use crate::plugin::protocol::{Call, CallResult, Reply};
use crate::plugin::wire::{bytes_in, bytes_out, config_def_out, schema_in, schema_out, WireConnectRecord, WireValue};
use crate::{ConnectRecord, Value};

/// Runs one of the calls above (the caller passes no other).
pub(super) async fn dispatch(state: &'static State, call: Call) -> CallResult {
    let declared = &state.declared;
    match call {
        Call::NewTransform { class } => {
            let d = declared.transforms.iter().find(|d| d.answers_to(&class));
            let d = d.ok_or_else(|| fatal(format!("this plugin has no transform {class}")))?;
            Ok(Reply::Handle(state.insert(Instance::Transform((d.factory)()))))
        }
        Call::NewPredicate { class } => {
            let d = declared.predicates.iter().find(|d| d.answers_to(&class));
            let d = d.ok_or_else(|| fatal(format!("this plugin has no predicate {class}")))?;
            Ok(Reply::Handle(state.insert(Instance::Predicate((d.factory)()))))
        }
        Call::NewConverter { class } => {
            let d = declared.converters.iter().find(|d| d.answers_to(&class));
            let d = d.ok_or_else(|| fatal(format!("this plugin has no converter {class}")))?;
            Ok(Reply::Handle(state.insert(Instance::Converter((d.factory)()))))
        }
        Call::ComponentConfigDef { handle } => {
            let def = match &*lock(state, handle).await? {
                Instance::Transform(t) => t.config_def(),
                Instance::Predicate(p) => p.config_def(),
                Instance::Converter(c) => c.config_def(),
                _ => return Err(wrong(handle, "transform, predicate or converter")),
            };
            Ok(Reply::ConfigDef(config_def_out(&def)))
        }
        Call::Configure { handle, props, is_key } => match &mut *lock(state, handle).await? {
            Instance::Transform(t) => unit(t.configure(&props)),
            Instance::Predicate(p) => unit(p.configure(&props)),
            Instance::Converter(c) => unit(c.configure(&props, is_key)),
            _ => Err(wrong(handle, "transform, predicate or converter")),
        },
        Call::Apply { transform, record } => {
            let record = ConnectRecord::try_from(*record).map_err(err)?;
            match &mut *lock(state, transform).await? {
                Instance::Transform(t) => match t.apply(record) {
                    Ok(out) => Ok(Reply::Record(out.as_ref().map(|r| Box::new(WireConnectRecord::from(r))))),
                    Err(e) => Err(err(e)),
                },
                _ => Err(wrong(transform, "transform")),
            }
        }
        Call::Test { predicate, record } => {
            let record = ConnectRecord::try_from(*record).map_err(err)?;
            match &*lock(state, predicate).await? {
                Instance::Predicate(p) => p.test(&record).map(Reply::Bool).map_err(err),
                _ => Err(wrong(predicate, "predicate")),
            }
        }
        Call::Encode { converter, topic, schema, value } => {
            let schema = schema_in(schema).map_err(err)?;
            let value = Value::try_from(value).map_err(err)?;
            match &*lock(state, converter).await? {
                Instance::Converter(c) => match c.encode(&topic, schema.as_ref(), &value) {
                    Ok(bytes) => Ok(Reply::Bytes(bytes_out(bytes.as_deref()))),
                    Err(e) => Err(err(e)),
                },
                _ => Err(wrong(converter, "converter")),
            }
        }
        Call::Decode { converter, topic, bytes } => {
            let bytes = bytes_in(bytes).map_err(err)?;
            match &*lock(state, converter).await? {
                Instance::Converter(c) => match c.decode(&topic, bytes.as_deref()) {
                    Ok((schema, value)) => {
                        Ok(Reply::SchemaAndValue(schema_out(schema.as_ref()), WireValue::from(&value)))
                    }
                    Err(e) => Err(err(e)),
                },
                _ => Err(wrong(converter, "converter")),
            }
        }
        other => Err(fatal(format!("not a call on a transform, predicate or converter: {other:?}"))),
    }
}
