//! Kafka Connect's transforms (`org.apache.kafka.connect.transforms.*`) and predicates
//! (`org.apache.kafka.connect.transforms.predicates.*`), with Kafka Connect 4.1's keys,
//! defaults and error messages.
//!
//! Each transform with `$Key`/`$Value` variants is one type parameterised by a [`Side`]; its
//! two descriptors are named as Kafka Connect's classes (`...transforms.Cast$Value`) with the
//! short name (`Cast$Value`) as alias.
//!
//! Where the data model differs from Kafka Connect's (see each module): logical values keep their
//! physical form (a Timestamp is an `Int64` of milliseconds, a Decimal its unscaled bytes),
//! schemaless objects are [`Value::Map`](aqueduct_sdk::Value::Map)s with string keys, and dates
//! are always formatted in UTC.

use aqueduct_sdk::{PredicateDescriptor, TransformDescriptor};

/// The version every descriptor carries: the crate's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `$Key` and `$Value` descriptors of a transform built as `$ty::new(Side)`.
macro_rules! sided_descriptors {
    ($name:literal, $ty:ident, $doc:literal) => {
        /// The `$Key` variant's descriptor.
        pub const KEY: aqueduct_sdk::TransformDescriptor = aqueduct_sdk::TransformDescriptor {
            class: concat!("org.apache.kafka.connect.transforms.", $name, "$Key"),
            aliases: &[concat!($name, "$Key")],
            version: $crate::kafka::VERSION,
            doc: $doc,
            factory: aqueduct_sdk::TransformFactory::Builtin(|| Box::new($ty::new($crate::kafka::Side::Key))),
        };
        /// The `$Value` variant's descriptor.
        pub const VALUE: aqueduct_sdk::TransformDescriptor = aqueduct_sdk::TransformDescriptor {
            class: concat!("org.apache.kafka.connect.transforms.", $name, "$Value"),
            aliases: &[concat!($name, "$Value")],
            version: $crate::kafka::VERSION,
            doc: $doc,
            factory: aqueduct_sdk::TransformFactory::Builtin(|| Box::new($ty::new($crate::kafka::Side::Value))),
        };
    };
}

/// The one descriptor of a transform without variants, built as `$ty::default()`, named
/// `DESCRIPTOR` unless a name is given first (for a module with several transforms).
macro_rules! single_descriptor {
    ($name:literal, $ty:ident, $doc:literal) => {
        single_descriptor!(DESCRIPTOR, $name, $ty, $doc);
    };
    ($const:ident, $name:literal, $ty:ident, $doc:literal) => {
        #[doc = concat!("`", $name, "`'s descriptor.")]
        pub const $const: aqueduct_sdk::TransformDescriptor = aqueduct_sdk::TransformDescriptor {
            class: concat!("org.apache.kafka.connect.transforms.", $name),
            aliases: &[$name],
            version: $crate::kafka::VERSION,
            doc: $doc,
            factory: aqueduct_sdk::TransformFactory::Builtin(|| Box::<$ty>::default()),
        };
    };
}

pub mod cast;
pub mod cast_value;
pub mod date_format;
pub mod extract_field;
pub mod field_path;
pub mod filter;
pub mod flatten;
pub mod header_from;
pub mod headers;
pub mod hoist_field;
pub mod insert_field;
pub mod java_text;
pub mod mask_field;
pub mod predicates;
pub mod replace_field;
pub mod routers;
pub mod set_schema_metadata;
pub mod side;
pub mod timestamp_converter;
pub mod util;
pub mod value_to_key;

pub use side::Side;

/// Kafka Connect's transforms.
pub fn transforms() -> Vec<TransformDescriptor> {
    vec![
        cast::KEY,
        cast::VALUE,
        headers::DROP_HEADERS,
        extract_field::KEY,
        extract_field::VALUE,
        filter::DESCRIPTOR,
        flatten::KEY,
        flatten::VALUE,
        header_from::KEY,
        header_from::VALUE,
        hoist_field::KEY,
        hoist_field::VALUE,
        insert_field::KEY,
        insert_field::VALUE,
        headers::INSERT_HEADER,
        mask_field::KEY,
        mask_field::VALUE,
        routers::REGEX_ROUTER,
        replace_field::KEY,
        replace_field::VALUE,
        set_schema_metadata::KEY,
        set_schema_metadata::VALUE,
        timestamp_converter::KEY,
        timestamp_converter::VALUE,
        routers::TIMESTAMP_ROUTER,
        value_to_key::DESCRIPTOR,
    ]
}

/// Kafka Connect's predicates.
pub fn predicates() -> Vec<PredicateDescriptor> {
    vec![predicates::TOPIC_NAME_MATCHES, predicates::HAS_HEADER_KEY, predicates::RECORD_IS_TOMBSTONE]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_and_alias_is_unique() {
        let mut names: Vec<&str> =
            transforms().iter().flat_map(|d| std::iter::once(d.class).chain(d.aliases.iter().copied())).collect();
        names.extend(predicates().iter().flat_map(|d| std::iter::once(d.class).chain(d.aliases.iter().copied())));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert_eq!(transforms().len(), 26);
        assert!(transforms().iter().any(|d| d.answers_to("org.apache.kafka.connect.transforms.Cast$Value")));
        assert!(transforms().iter().any(|d| d.answers_to("TimestampRouter")));
        assert!(predicates()
            .iter()
            .any(|d| d.answers_to("org.apache.kafka.connect.transforms.predicates.HasHeaderKey")));
    }

    #[test]
    fn every_transform_has_a_config_def_and_rejects_nothing_silently() {
        for d in transforms() {
            let t = (d.factory)();
            // Every key documented; configuring with no keys either works or names a key.
            for key in t.config_def().keys() {
                assert!(!key.documentation.is_empty(), "{} {}", d.class, key.name);
            }
            assert_eq!(d.version, VERSION);
        }
    }
}

#[cfg(test)]
mod robustness_tests;
