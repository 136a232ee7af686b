#!/usr/bin/env bash
# Installs and starts the real servers the tests need, all on 127.0.0.1.
#
#   scripts/services.sh install [SERVICE...]  install what is missing (idempotent; slow builds cached)
#   scripts/services.sh up [SERVICE...]       install, then start and wait until each is ready
#   scripts/services.sh down [SERVICE...]     stop what `up` started
#   scripts/services.sh status                print which servers answer
#
# SERVICE: kafka (Apache Kafka, KRaft, :9092), postgres (:5432), mongodb (SecantusDB, :27017), s3 (moto, :9000),
# s3fs (s3s-fs, a persistent S3 server, :9100), elasticsearch (osmem-server, :9200); all of them when none is named.
# Install-only: kafka-connect (Apache Kafka Connect's jars, which tests/interop starts itself); `install`
# with no SERVICE includes it.
#
# Slow installs (Kafka's jars, the Python servers) live in $AQUEDUCT_CACHE, outside the clone, and are
# skipped when present. Runtime state (data, logs, PID files) lives in $AQUEDUCT_RUN.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${AQUEDUCT_CACHE:-/var/cache/aqueduct}
RUN=${AQUEDUCT_RUN:-/tmp/aqueduct-services}
VENV=$CACHE/venv
PG_VERSION=15
PG_CONF_DIR=/etc/postgresql/$PG_VERSION/main
ALL_SERVICES=(kafka postgres mongodb s3 s3fs elasticsearch)
INSTALL_ONLY=(kafka-connect)

log() { printf '[services] %s\n' "$*" >&2; }

die() { log "error: $*"; exit 1; }

# ---- helpers -------------------------------------------------------------------------------

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_of() { cat "$RUN/$1/pid" 2>/dev/null || true; }

pid_alive() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# spawn SVC CMD...: run CMD detached in its own session, cwd $RUN/SVC, output to log, PID to pid.
spawn() {
  local svc=$1 dir=$RUN/$1
  shift
  mkdir -p "$dir"
  (
    cd "$dir"
    # The shell records its own PID, then becomes the server (exec keeps the PID).
    nohup setsid sh -c 'echo $$ >pid; exec "$@"' sh "$@" >log 2>&1 </dev/null &
  )
  for _ in $(seq 50); do [ -s "$dir/pid" ] && return; sleep 0.1; done
  die "$svc: no pid file written"
}

# wait_ready SVC TIMEOUT: poll ready_SVC until it succeeds; fail with the log tail otherwise.
wait_ready() {
  local svc=$1 timeout=$2 start=$SECONDS
  while true; do
    if [ -f "$RUN/$svc/pid" ] && ! pid_alive "$svc"; then
      log "$svc: process exited; last lines of $RUN/$svc/log:"
      tail -n 30 "$RUN/$svc/log" >&2 || true
      exit 1
    fi
    if (( SECONDS - start >= timeout )); then
      log "$svc: not ready after ${timeout}s; last lines of $RUN/$svc/log:"
      tail -n 30 "$RUN/$svc/log" >&2 || true
      exit 1
    fi
    if "ready_$svc"; then break; fi
    sleep 0.5
  done
  log "$svc: ready ($((SECONDS - start))s)"
}

# stop_pid SVC: TERM the process group, KILL after 10 s, remove the pid file.
stop_pid() {
  local svc=$1 pid
  pid=$(pid_of "$svc")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "$svc: stopping pid $pid"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$svc: still alive, sending KILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$RUN/$svc/pid"
}

# Generic start for the servers we launch ourselves.
start_spawned() {
  local svc=$1 timeout=$2
  if pid_alive "$svc" && "ready_$svc"; then log "$svc: already up"; return; fi
  stop_pid "$svc"
  if "ready_$svc"; then die "$svc: its port already answers, but not from a process we started"; fi
  "launch_$svc"
  wait_ready "$svc" "$timeout"
}

# ---- Python venv shared by mongodb, s3, elasticsearch -------------------------------------

venv_py() { "$VENV/bin/python" "$@"; }

# pip_ensure DIST VERSION [SPEC]: install SPEC (default DIST==VERSION) unless already at VERSION.
pip_ensure() {
  local dist=$1 version=$2 spec=${3:-$1==$2}
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    mkdir -p "$CACHE"
    python3 -m venv "$VENV"
  fi
  if venv_py -c 'import importlib.metadata as m, sys; sys.exit(m.version(sys.argv[1]) != sys.argv[2])' \
      "$dist" "$version" 2>/dev/null; then
    return
  fi
  log "pip install $spec"
  venv_py -m pip install --quiet --disable-pip-version-check "$spec"
}

# ---- kafka (Apache Kafka, one KRaft node: broker + controller) ------------------------------

KAFKA_POM=$HERE/kafka/pom.xml
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")
KAFKA_LIBS=$CACHE/kafka-$KAFKA_VERSION/libs
KAFKA_HEAP=${AQUEDUCT_KAFKA_HEAP:--Xmx768m}

# maven_libs WHAT POM DIR: copies POM's runtime dependencies from Maven Central into DIR, once
# (a .complete marker says the copy finished).
maven_libs() {
  local what=$1 pom=$2 dir=$3
  if [ -f "$dir/.complete" ]; then return; fi
  log "$what: fetching jars into $dir (one-time)"
  rm -rf "$dir"
  mkdir -p "$dir"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir"
  touch "$dir/.complete"
}

# The jars come from Maven Central through scripts/kafka/pom.xml, once per version.
install_kafka() { maven_libs "kafka $KAFKA_VERSION" "$KAFKA_POM" "$KAFKA_LIBS"; }

kafka_java() { java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" "$@"; }

write_kafka_config() {
  cat >"$RUN/kafka/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$RUN/kafka/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Tests of worker failover use session timeouts below Kafka's 6 s minimum.
group.min.session.timeout.ms=3000
PROPS
}

# A random cluster id in Kafka's format: 16 bytes, URL-safe base64, no padding, and (as Kafka's
# Uuid.randomUuid) never starting with '-', which the storage tool would take for an option.
kafka_cluster_id() {
  python3 - <<'PY'
import base64, uuid
while True:
    id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not id.startswith("-"):
        print(id)
        break
PY
}

launch_kafka() {
  mkdir -p "$RUN/kafka"
  if [ "${AQUEDUCT_KAFKA_FRESH:-0}" = 1 ]; then
    log "kafka: AQUEDUCT_KAFKA_FRESH=1, wiping $RUN/kafka/data"
    rm -rf "$RUN/kafka/data"
  fi
  write_kafka_config
  if [ ! -f "$RUN/kafka/data/meta.properties" ]; then
    log "kafka: formatting storage in $RUN/kafka/data"
    kafka_java kafka.tools.StorageTool format --standalone --ignore-formatted \
      -t "$(kafka_cluster_id)" -c "$RUN/kafka/server.properties" >/dev/null
  fi
  spawn kafka java "$KAFKA_HEAP" -cp "$KAFKA_LIBS/*" \
    -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" \
    kafka.Kafka "$RUN/kafka/server.properties"
}

# Ready when the broker answers a metadata request (an Admin client's describeCluster).
ready_kafka() {
  tcp_open 9092 && java -cp "$KAFKA_LIBS/*" "$HERE/kafka/Ready.java" 127.0.0.1:9092 2>/dev/null
}

start_kafka() {
  if [ "${AQUEDUCT_KAFKA_FRESH:-0}" = 1 ]; then stop_pid kafka; fi
  start_spawned kafka 120
}

# ---- kafka-connect (Apache Kafka Connect, install only: tests/interop starts its own workers) ----------

CONNECT_POM=$HERE/kafka-connect/pom.xml
CONNECT_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$CONNECT_POM")
CONNECT_LIBS=$CACHE/kafka-connect-$CONNECT_VERSION/libs

# connect-runtime, connect-json, connect-file, connect-transforms and a log4j2 binding, from Maven
# Central through scripts/kafka-connect/pom.xml, once per version.
install_kafka_connect() { maven_libs "kafka-connect $CONNECT_VERSION" "$CONNECT_POM" "$CONNECT_LIBS"; }

# ---- postgres (Debian cluster 15/main) ------------------------------------------------------

install_postgres() {
  if command -v pg_ctlcluster >/dev/null && [ -f "/usr/lib/postgresql/$PG_VERSION/lib/wal2json.so" ]; then
    return
  fi
  log "installing postgresql $PG_VERSION and wal2json"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql "postgresql-$PG_VERSION-wal2json"
}

ready_postgres() { pg_isready -q -h 127.0.0.1; }

pg_running() { pg_lsclusters -h "$PG_VERSION" main 2>/dev/null | grep -q online; }

# Writes our settings; returns 0 when something changed.
configure_postgres() {
  local conf=$PG_CONF_DIR/conf.d/aqueduct.conf hba=$PG_CONF_DIR/pg_hba.conf changed=1
  local want="listen_addresses = '127.0.0.1'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10"
  if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
    mkdir -p "$PG_CONF_DIR/conf.d"
    printf '%s\n' "$want" >"$conf"
    changed=0
  fi
  # Password logins from 127.0.0.1, for normal and replication connections.
  local db line
  for db in all replication; do
    if ! grep -Eq "^host[[:space:]]+${db}[[:space:]]+(all|postgres)[[:space:]]+127\.0\.0\.1/32[[:space:]]+(md5|scram-sha-256)" "$hba"; then
      line="host    $db    postgres    127.0.0.1/32    scram-sha-256"
      sed -i "1i $line" "$hba"
      changed=0
    fi
  done
  return "$changed"
}

start_postgres() {
  local changed=1
  if configure_postgres; then changed=0; fi
  if pg_running && [ "$changed" = 1 ] && ready_postgres; then
    log "postgres: already up"
  elif ! pg_running; then
    log "postgres: starting cluster $PG_VERSION/main"
    pg_ctlcluster "$PG_VERSION" main start
  elif [ "$changed" = 0 ]; then
    log "postgres: config changed, restarting"
    pg_ctlcluster "$PG_VERSION" main restart
  fi
  if ! ready_postgres; then wait_ready postgres 60; fi
  if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
    log "postgres: setting password for user postgres"
    runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'postgres'"
  fi
}

stop_postgres() {
  if pg_running; then
    log "postgres: stopping cluster $PG_VERSION/main"
    pg_ctlcluster "$PG_VERSION" main stop
  fi
}

# ---- mongodb (SecantusDB) ------------------------------------------------------------------

# pymongo (for the readiness ping) comes as a SecantusDB dependency.
install_mongodb() { pip_ensure SecantusDB 0.7.0b3; }

launch_mongodb() {
  mkdir -p "$RUN/mongodb/data"
  spawn mongodb "$VENV/bin/secantusd-py" --host 127.0.0.1 --port 27017 \
    --storage-path "$RUN/mongodb/data"
}

ready_mongodb() {
  venv_py - <<'PY' 2>/dev/null
from pymongo import MongoClient
c = MongoClient("mongodb://127.0.0.1:27017/?replicaSet=secantus", serverSelectionTimeoutMS=2000)
c.admin.command("ping")
PY
}

start_mongodb() { start_spawned mongodb 120; }

# ---- s3 (moto) -----------------------------------------------------------------------------

# pyarrow and fastavro (cramjam: its snappy codec) are the third-party readers
# connectors/s3/tests/formats.rs checks Parquet and Avro objects with.
install_s3() {
  pip_ensure moto 5.2.5 'moto[server]==5.2.5'
  pip_ensure pyarrow 26.0.1
  pip_ensure fastavro 1.13.1
  pip_ensure cramjam 2.14.0
}

launch_s3() { spawn s3 "$VENV/bin/moto_server" -H 127.0.0.1 -p 9000; }

ready_s3() { curl -sf -m 2 -o /dev/null http://127.0.0.1:9000/; }

start_s3() { start_spawned s3 60; }

# ---- s3fs (s3s-fs: S3 over a directory, so objects survive a restart of the server) ---------

S3FS_VERSION=0.14.1
S3FS_BIN=$CACHE/s3s-fs-$S3FS_VERSION/bin/s3s-fs

# A release build from crates.io, once (about 5 minutes on 2 cores).
install_s3fs() {
  if [ -x "$S3FS_BIN" ]; then return; fi
  log "s3fs: building s3s-fs $S3FS_VERSION into $CACHE (one-time)"
  cargo install "s3s-fs@$S3FS_VERSION" --features binary --locked --quiet --root "$CACHE/s3s-fs-$S3FS_VERSION"
}

# The data directory is kept across restarts: that is what this server is for.
launch_s3fs() {
  mkdir -p "$RUN/s3fs/data"
  spawn s3fs "$S3FS_BIN" --host 127.0.0.1 --port 9100 --access-key test --secret-key test "$RUN/s3fs/data"
}

ready_s3fs() { tcp_open 9100; }

start_s3fs() { start_spawned s3fs 60; }

# ---- elasticsearch (osmem-server) ----------------------------------------------------------

install_elasticsearch() { pip_ensure osmem-server 0.1.6; }

launch_elasticsearch() {
  local dir
  dir=$(venv_py -c 'import osmem_server, os; print(os.path.dirname(osmem_server.__file__))')
  spawn elasticsearch "$dir/bin/osmem-server" -addr 127.0.0.1:9200 -no-stdin-watch
}

ready_elasticsearch() { curl -sf -m 2 -o /dev/null http://127.0.0.1:9200/_cluster/health; }

start_elasticsearch() { start_spawned elasticsearch 60; }

# ---- dispatcher ----------------------------------------------------------------------------

cmd=${1:-}
[ $# -gt 0 ] && shift
services=("$@")
if [ ${#services[@]} -eq 0 ]; then
  services=("${ALL_SERVICES[@]}")
  if [ "$cmd" = install ]; then services+=("${INSTALL_ONLY[@]}"); fi
fi
for s in "${services[@]}"; do
  case " ${ALL_SERVICES[*]} " in
    *" $s "*) ;;
    *) case " ${INSTALL_ONLY[*]} " in
         *" $s "*) [ "$cmd" = install ] || die "$s is install-only: scripts/services.sh install $s" ;;
         *) die "unknown service '$s' (one of: ${ALL_SERVICES[*]}; install-only: ${INSTALL_ONLY[*]})" ;;
       esac ;;
  esac
done
mkdir -p "$RUN"

case "$cmd" in
  install) for s in "${services[@]}"; do "install_${s//-/_}"; done ;;
  up)
    for s in "${services[@]}"; do "install_$s"; done
    for s in "${services[@]}"; do "start_$s"; done
    ;;
  down)
    for s in "${services[@]}"; do
      if [ "$s" = postgres ]; then stop_postgres; else stop_pid "$s"; fi
    done
    ;;
  status)
    for s in "${services[@]}"; do
      if "ready_$s"; then echo "$s up"; else echo "$s down"; fi
    done
    ;;
  *) echo "usage: $0 install|up|down|status [SERVICE...]   (SERVICE: ${ALL_SERVICES[*]})" >&2; exit 2 ;;
esac
