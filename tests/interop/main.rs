//! Interoperability with Apache Kafka Connect: the real `aqueduct` binary and a real Kafka Connect
//! worker (`scripts/services.sh install kafka-connect`) take over each other's connectors against the
//! real broker (`scripts/services.sh up kafka`): a source resumes from the offset the other runtime
//! stored in the shared offset topic, a sink from the offsets the other committed for the consumer
//! group `connect-<name>`; two Aqueduct workers take over a stopped Kafka Connect cluster (its group,
//! config, status and offset topics); the same source with InsertHeader writes the same header
//! bytes from both runtimes, with SimpleHeaderConverter and with the JSON converter. Both sides use
//! StringConverter for keys and values.

#[allow(dead_code)]
#[path = "../e2e/common.rs"]
mod common;
mod connect;
mod connect_state;
mod headers;
mod kafka;
mod runtimes;
mod sink;
mod source;
mod takeover;
