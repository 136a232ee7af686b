#!/usr/bin/env bash
# The main job, end to end on a fresh machine: MongoDB collection shop.customers -> aqueduct ->
# PostgreSQL table public.customers, with the configs of configs/mongo-to-postgres/.
#
#   scripts/quickstart.sh [--transport embedded|kafka] [--docs N] [--changes M]
#
# Starts PostgreSQL and MongoDB (and Kafka with --transport kafka), builds aqueduct and the m2p
# tool in release, loads N sample customers (default 50,000), starts the worker (embedded: no
# Kafka; offsets in /tmp/aqueduct-quickstart/offsets.json), prints the copy's progress, applies M
# live changes (default 10,000: inserts, $set, nested $set/$push, $unset, deletes) while the
# worker streams, waits until the table equals the collection (count + checksum of every row)
# and prints documents, rows, seconds, documents/s and a sample row. Exits non-zero, with the end
# of the worker's log, if the worker dies or the table does not catch up within 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

TRANSPORT=embedded
DOCS=50000
CHANGES=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --transport) TRANSPORT=${2:?--transport needs embedded or kafka}; shift 2 ;;
    --docs) DOCS=${2:?--docs needs a number}; shift 2 ;;
    --changes) CHANGES=${2:?--changes needs a number}; shift 2 ;;
    *) echo "usage: $0 [--transport embedded|kafka] [--docs N] [--changes M]" >&2; exit 2 ;;
  esac
done
case "$TRANSPORT" in
  embedded) WORKER=configs/mongo-to-postgres/worker.json; SERVICES=(postgres mongodb) ;;
  kafka) WORKER=configs/mongo-to-postgres/worker-kafka.json; SERVICES=(postgres mongodb kafka) ;;
  *) echo "unknown transport '$TRANSPORT' (embedded or kafka)" >&2; exit 2 ;;
esac

OUT=/tmp/aqueduct-quickstart
TARGET=${CARGO_TARGET_DIR:-target}
BEGIN=$SECONDS
step() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - BEGIN)); }

step "services: ${SERVICES[*]}"
scripts/services.sh up "${SERVICES[@]}"

step "build (release): aqueduct and the m2p tool"
cargo build --release --bin aqueduct --example m2p
M2P=$TARGET/release/examples/m2p
AQUEDUCT=$TARGET/release/aqueduct

step "load $DOCS sample customers into shop.customers (drops it and public.customers first)"
rm -rf "$OUT" && mkdir -p "$OUT"
"$M2P" load --docs "$DOCS"

step "aqueduct standalone $WORKER (transport=$TRANSPORT), log in $OUT/worker.log"
"$AQUEDUCT" standalone "$WORKER" configs/mongo-to-postgres/mongo-source.json \
  configs/mongo-to-postgres/postgres-sink.json 2>"$OUT/worker.log" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true' EXIT

if ! "$M2P" run --docs "$DOCS" --changes "$CHANGES" --pid "$PID" --timeout 900; then
  echo "FAILED; last lines of $OUT/worker.log:" >&2
  tail -n 40 "$OUT/worker.log" >&2 || true
  exit 1
fi
echo "connectors: $(curl -s 'http://127.0.0.1:8083/connectors?expand=status' || echo '(REST API not answering)')"

kill -TERM "$PID" 2>/dev/null || true
wait "$PID" || true
trap - EXIT
echo
echo "quickstart (transport=$TRANSPORT) done in $((SECONDS - BEGIN)) s, setup and build included"
