//! End-to-end tests: the real `aqueduct` binary against a real Kafka-protocol broker
//! (`scripts/services.sh up kafka`). Each test uses its own topics, offsets topic and port.

mod common;
mod distributed;
mod distributed_bench;
mod distributed_eos;
mod distributed_plugins;
mod distributed_rest;
mod distributed_sink;
mod elasticsearch;
mod embedded;
mod exactly_once;
mod exactly_once_cdc;
mod file_copy;
mod headers;
#[path = "../m2p/mod.rs"]
mod m2p;
mod mongo_to_postgres;
mod mongodb;
mod pipeline_acceptance;
mod plugin_exactly_once;
mod plugin_guide;
mod plugins;
mod postgres;
mod rest_api;
mod s3;
mod shutdown;
mod sink_rejoin;
mod topics;
mod transforms;
mod transforms_postgres;
