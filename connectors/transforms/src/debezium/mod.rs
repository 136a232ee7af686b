//! Debezium's transforms (`io.debezium.transforms.*`): unwrapping change events
//! ([`ExtractNewRecordState`]), routing outbox events ([`EventRouter`]) and merging tables into
//! one topic ([`ByLogicalTableRouter`]), over the envelopes of [`aqueduct_sdk::debezium`] as the
//! Postgres CDC source and the MongoDB source (`output.format=debezium`) emit them.
//!
//! Keys, defaults, output shapes and messages follow Debezium 3.6.1, checked against its jar.
//! Where they differ:
//! - Schemaless envelopes (maps with `op` and `before`/`after`, as read with
//!   `schemas.enable=false`) are unwrapped and routed; Debezium passes them unchanged.
//! - `ExtractNewRecordState`: a delete without a `before` image (a MongoDB delete without
//!   pre-images) is handled as a delete; Debezium drops it as it drops truncates. A metadata field
//!   whose struct is absent (`id` without a `transaction` block) is skipped, not a failure.
//!   The removed `drop.tombstones` / `delete.handling.mode` keys are ignored, as in Debezium 3.x.
//! - `EventRouter`: a payload that expands to a top-level JSON array, or fails to expand, is kept
//!   as it was (with a warning). Tracing keys are accepted and do nothing.
//! - Replacement strings (`topic.replacement`, `route.topic.replacement`, ...) are checked at
//!   configure time: a group that does not exist is a config error naming the key.
//! - Config errors name the key (`Invalid value x for configuration k: ...`) rather than
//!   Debezium's "Unable to validate config.".
//!
//! MongoDB's `io.debezium.connector.mongodb.transforms.ExtractNewDocumentState` is not provided:
//! it parses `after` as a JSON string, while this project's MongoDB source writes `after` as a
//! struct, which `ExtractNewRecordState` unwraps.

pub mod by_logical_table_router;
pub mod event_router;
mod event_router_config;
mod extract_config;
pub mod extract_new_record_state;
mod json_payload;
mod rows;
pub mod util;

#[cfg(test)]
mod fixtures;

pub use by_logical_table_router::ByLogicalTableRouter;
pub use event_router::EventRouter;
pub use extract_new_record_state::ExtractNewRecordState;

use aqueduct_sdk::{TransformDescriptor, TransformFactory};

/// Debezium's version these transforms follow (keys, defaults, messages).
pub const VERSION: &str = "3.6.1.Final";

/// `io.debezium.transforms.ExtractNewRecordState`.
pub const EXTRACT_NEW_RECORD_STATE: TransformDescriptor = TransformDescriptor {
    class: "io.debezium.transforms.ExtractNewRecordState",
    aliases: &["ExtractNewRecordState"],
    version: VERSION,
    doc: "Replaces a Debezium change event by its new row state (after, or before for rewritten deletes).",
    factory: TransformFactory::Builtin(|| Box::<ExtractNewRecordState>::default()),
};

/// `io.debezium.transforms.ByLogicalTableRouter`.
pub const BY_LOGICAL_TABLE_ROUTER: TransformDescriptor = TransformDescriptor {
    class: "io.debezium.transforms.ByLogicalTableRouter",
    aliases: &["ByLogicalTableRouter"],
    version: VERSION,
    doc: "Routes the events of several physical tables to one topic, with a key field telling them apart.",
    factory: TransformFactory::Builtin(|| Box::<ByLogicalTableRouter>::default()),
};

/// `io.debezium.transforms.outbox.EventRouter`.
pub const EVENT_ROUTER: TransformDescriptor = TransformDescriptor {
    class: "io.debezium.transforms.outbox.EventRouter",
    aliases: &["EventRouter", "outbox.EventRouter"],
    version: VERSION,
    doc: "Routes outbox table inserts to a topic per aggregate type, keyed by aggregate id, valued by the payload.",
    factory: TransformFactory::Builtin(|| Box::<EventRouter>::default()),
};

/// Debezium's transforms.
pub fn transforms() -> Vec<TransformDescriptor> {
    vec![EXTRACT_NEW_RECORD_STATE, EVENT_ROUTER, BY_LOGICAL_TABLE_ROUTER]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_answer_to_their_classes_and_build_configurable_transforms() {
        let all = transforms();
        for (class, required) in [
            ("io.debezium.transforms.ExtractNewRecordState", vec![]),
            ("io.debezium.transforms.outbox.EventRouter", vec![]),
            (
                "io.debezium.transforms.ByLogicalTableRouter",
                vec![("topic.regex", "(.*)"), ("topic.replacement", "all")],
            ),
        ] {
            let d = all.iter().find(|d| d.answers_to(class)).expect("registered");
            let short = class.rsplit('.').next().unwrap_or_default();
            assert!(d.answers_to(short), "{class} answers to {short}");
            let mut t = (d.factory)();
            let props = required.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            t.configure(&props).expect("configures with its defaults");
            assert!(!t.config_def().keys().is_empty());
        }
        assert!((all[2].factory)().configure(&Default::default()).is_err(), "topic.regex is required");
    }
}
