//! A source connector's exactly-once settings (KIP-618): the per-task settings the herder hands
//! to a source task, and the preflight checks of a connector config.

use std::time::Duration;

use aqueduct_sdk::{ExactlyOnceSupport, PluginDescriptor, Props};

use crate::connector_config::ConnectorConfig;
use crate::source_worker::{Boundary, ExactlyOnce};
use crate::worker_config::WorkerConfig;

/// A source task's exactly-once settings when the worker enables them (KIP-618):
/// `transactional.id` = `<group.id, else worker id>-<connector>-<task>`.
pub fn task_settings(
    worker: &WorkerConfig,
    worker_id: &str,
    config: &ConnectorConfig,
    task: u32,
) -> Option<ExactlyOnce> {
    if !enabled(worker) {
        return None;
    }
    let boundary = match config.string("transaction.boundary") {
        "interval" => {
            let ms = match config.long("transaction.boundary.interval.ms") {
                ms if ms >= 0 => ms,
                _ => worker.long("offset.flush.interval.ms"),
            };
            Boundary::Interval(Duration::from_millis(ms.max(1) as u64))
        }
        "connector" => Boundary::Connector,
        _ => Boundary::Poll,
    };
    Some(ExactlyOnce { transactional_id: transactional_id(worker, worker_id, config.name(), task), boundary })
}

/// Whether the worker runs exactly-once source tasks (`exactly.once.source.support=enabled`).
pub fn enabled(worker: &WorkerConfig) -> bool {
    worker.string("exactly.once.source.support") == "enabled"
}

/// A source task's `transactional.id`: `<group.id, else worker id>-<connector>-<task>`, as
/// Kafka Connect names them (zombie fencing relies on the same names).
pub fn transactional_id(worker: &WorkerConfig, worker_id: &str, connector: &str, task: u32) -> String {
    let owner = match worker.string("group.id") {
        "" => worker_id,
        group => group,
    };
    format!("{owner}-{connector}-{task}")
}

/// The exactly-once checks of a source connector config (KIP-618's preflight validation).
pub fn preflight_errors(plugin: &PluginDescriptor, worker: &WorkerConfig, props: &Props) -> Vec<String> {
    let Some(connector) = plugin.factory.new_source() else { return Vec::new() };
    let get = |k: &str| props.get(k).map(String::as_str).unwrap_or_default();
    let eos = enabled(worker);
    let mut errors = Vec::new();
    if get("exactly.once.support") == "required" {
        if !eos {
            errors.push(
                "exactly.once.support is required, but this worker has exactly.once.source.support=disabled".to_owned(),
            );
        } else {
            match connector.exactly_once_support(props) {
                Some(ExactlyOnceSupport::Supported) => {}
                Some(ExactlyOnceSupport::Unsupported) => errors.push(
                    "exactly.once.support: The connector does not support exactly-once semantics with the provided configuration.".to_owned(),
                ),
                None => errors.push(format!(
                    "exactly.once.support: The connector {} does not say whether it supports exactly-once semantics; use \"requested\" to create it without this check.",
                    plugin.class
                )),
            }
        }
    }
    if eos && get("transaction.boundary") == "connector" && !connector.can_define_transaction_boundaries(props) {
        errors.push("transaction.boundary: The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition.".to_owned());
    }
    errors
}
