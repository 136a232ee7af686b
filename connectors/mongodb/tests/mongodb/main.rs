//! Integration tests of the MongoDB connectors against a real server (`scripts/services.sh up
//! mongodb`; `AQUEDUCT_TEST_MONGODB` overrides the URL), through the SourceTask/SinkTask traits.

mod bench;
mod common;
mod copy_restart;
mod recovery;
mod server;
mod sink;
mod source;
