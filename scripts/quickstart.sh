#!/usr/bin/env bash
# The main job, end to end on a fresh machine: starts Kafka, builds aqueduct, and runs
# datagen -> Kafka topic `users` -> file sink, until all records are in the output file.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=/tmp/aqueduct-quickstart
RECORDS=100000

# Lines in a file; 0 while it does not exist yet (no failing pipeline under set -e/pipefail).
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

scripts/services.sh up kafka
cargo build --release --bin aqueduct
rm -rf "$OUT" && mkdir -p "$OUT"

target/release/aqueduct standalone configs/quickstart/worker.json \
  configs/quickstart/datagen-users.json configs/quickstart/file-sink-users.json 2> "$OUT/worker.log" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true' EXIT

start=$(date +%s.%N)
for _ in $(seq 1 600); do
  n=$(lines "$OUT/users.txt")
  if [ "$n" -ge "$RECORDS" ]; then break; fi
  if ! kill -0 $PID 2>/dev/null; then echo "worker exited; see $OUT/worker.log" >&2; tail -20 "$OUT/worker.log" >&2; exit 1; fi
  sleep 0.5
done
end=$(date +%s.%N)
n=$(lines "$OUT/users.txt")
echo "copied $n of $RECORDS records through Kafka in $(awk "BEGIN{printf \"%.1f\", $end - $start}") s"
echo "status:"; curl -s http://127.0.0.1:8083/connectors?expand=status; echo
echo "first record in $OUT/users.txt:"; head -1 "$OUT/users.txt"
kill -TERM $PID; wait $PID || true
trap - EXIT
[ "$n" -ge "$RECORDS" ] || { echo "incomplete: see $OUT/worker.log" >&2; exit 1; }
