#!/usr/bin/env bash
# Runs every test: starts the servers the tests need, then the workspace's unit, doc and
# end-to-end tests (the e2e tests start the real `aqueduct` binary against the broker; the interop
# tests also start Apache Kafka Connect workers from the jars `install kafka-connect` fetches).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh up kafka postgres mongodb s3 s3fs elasticsearch
scripts/services.sh install kafka-connect
cargo test --workspace "$@"
