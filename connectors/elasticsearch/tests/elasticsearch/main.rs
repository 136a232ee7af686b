//! Integration tests of the Elasticsearch sink task against the real osmem-server
//! (`scripts/services.sh up elasticsearch`, or `AQUEDUCT_TEST_ELASTICSEARCH`).

mod common;
mod sink;
mod tls;
