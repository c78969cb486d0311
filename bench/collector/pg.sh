#!/usr/bin/env bash
# Collector ingest on PostgreSQL (issue #8): durable findings/s with ONE collector, then with
# TWO collectors sharing one database, each fed by its own collector_loadgen at the same time;
# beside them pgbench (PostgreSQL's own load tool) inserting rows of the same shape into the
# same findings table, 500 rows a transaction, as the peer rate.
#
#   bench/collector/pg.sh [BUILD_DIR]
#
# A throw-away PostgreSQL 15 server (initdb in a temporary directory, on 127.0.0.1, fsync and
# synchronous_commit ON: an ack means the rows are durable, as with SQLite). Tunables:
# FINDINGS (default 600000, in total per phase), CONNECTIONS (100, in total per phase),
# PER_CHUNK (500), WINDOW (8), PGBENCH_CLIENTS (8), SHARED_BUFFERS (1GB).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_dir=$(cd "${1:-${EDUSIGHT_BUILD_DIR:-$here/../../build}}" && pwd)
collector=$build_dir/collector/edusight-collector
loadgen=$build_dir/bench/collector/collector_loadgen
pg_bin=/usr/lib/postgresql/15/bin
findings=${FINDINGS:-600000}
connections=${CONNECTIONS:-100}
per_chunk=${PER_CHUNK:-500}
window=${WINDOW:-8}
pgbench_clients=${PGBENCH_CLIENTS:-8}
for b in "$collector" "$loadgen" "$pg_bin/initdb" "$pg_bin/pgbench"; do
  [ -x "$b" ] || { echo "missing: $b (build targets edusight-collector collector_loadgen; Debian postgresql)" >&2; exit 2; }
done
[ $((connections % 2)) -eq 0 ] || { echo "CONNECTIONS must be even" >&2; exit 2; }

tmp=$(mktemp -d /tmp/edusight-bench-pg.XXXXXX)
chown postgres: "$tmp"
as_pg=(runuser -u postgres --)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pids=()
# shellcheck disable=SC2317  # called from the trap
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$tmp/pg" -m fast -w stop >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] && cp "$tmp/pg.log" /tmp/bench-pg-server.log; rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_pg[@]}" "$pg_bin/initdb" -D "$tmp/pg" -U edusight --auth=trust --no-locale -E UTF8 >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$tmp/pg" -l "$tmp/pg.log" -w -t 60 -o \
  "-k $tmp -p $port -h 127.0.0.1 -c max_connections=200 -c shared_buffers=${SHARED_BUFFERS:-1GB} -c max_wal_size=8GB -c checkpoint_timeout=30min ${PG_OPTIONS:-}" \
  start >/dev/null
psql_() { psql -X -q -At -h 127.0.0.1 -p "$port" -U edusight "$@"; }
echo "== PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (fsync on, synchronous_commit on)"

config() {  # config NAME DB > yaml
  cat <<EOF
data_dir: $tmp/$1
hostname: bench-$1
database: "postgresql://edusight@127.0.0.1:$port/$2"
forward:
  listen: ["127.0.0.1:0"]
  max_connections: 4096
api:
  listen: ["127.0.0.1:0"]
enroll:
  listen: []
log_level: info
EOF
}

# A fresh database per phase with agents PREFIX0..PREFIX(COUNT-1) for each PREFIX given
# (the loadgen names its connections so); keys in $tmp/keys-DB.
prepare_db() {  # prepare_db DB COUNT PREFIX...
  local db=$1 count=$2 p
  shift 2
  psql_ -d postgres -c "CREATE DATABASE $db"
  config prep "$db" >"$tmp/prep.yaml"
  mkdir -p "$tmp/keys-$db"
  for p in "$@"; do
    seq 0 $((count - 1)) | timeout 300 xargs -P 4 -I{} "$collector" --config "$tmp/prep.yaml" \
      agent add "$p{}" --key-file "$tmp/keys-$db/$p{}.key" >/dev/null
  done
  [ "$(psql_ -d "$db" -c 'SELECT count(*) FROM agents')" -eq $((count * $#)) ]
}

start_collector() {  # start_collector NAME DB; sets fport
  config "$1" "$2" >"$tmp/$1.yaml"
  "$collector" --config "$tmp/$1.yaml" >"$tmp/$1.log" 2>&1 &
  pids+=($!)
  fport=
  for _ in $(seq 300); do
    fport=$(sed -n 's/.*collector: Forward .* on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$1.log" | head -1)
    [ -n "$fport" ] && break
    sleep 0.1
  done
  [ -n "$fport" ] || { echo "collector $1 did not start:" >&2; cat "$tmp/$1.log" >&2; exit 1; }
}

stop_collectors() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

# run_loadgen NAME PORT CERT KEY_DIR PREFIX CONNECTIONS FINDINGS FIRST_FINDING
run_loadgen() {
  timeout 900 "$loadgen" --port "$2" --ca-file "$3" --key-dir "$4" --agent-prefix "$5" \
    --connections "$6" --findings "$7" --first "$8" --per-chunk "$per_chunk" --window "$window" \
    --timeout 900 >"$tmp/$1.out" 2>"$tmp/$1.err"
}
field() { awk -v k="$2:" '$1 == k {print $2}' "$tmp/$1.out"; }

# ---- one collector ----
prepare_db one "$connections" a
start_collector c1 one
echo "== one collector: $connections connections, $findings findings, chunks of $per_chunk, window $window, TLS"
t0=$(date +%s.%N)
run_loadgen one "$fport" "$tmp/c1/tls/collector.crt" "$tmp/keys-one" a "$connections" "$findings" 0 ||
  { cat "$tmp/one.out" "$tmp/one.err"; exit 1; }
t1=$(date +%s.%N)
stop_collectors
stored_one=$(psql_ -d one -c "SELECT count(*) FROM findings")
rate_one=$(awk -v n="$findings" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
echo "acked $(field one findings_acked | head -1) in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; stored $stored_one; loadgen's rate $(field one acked_findings_per_s)/s"

# ---- two collectors, one database ----
half=$((connections / 2))
prepare_db two "$half" a b
start_collector c2a two
port_a=$fport
start_collector c2b two
port_b=$fport
echo "== two collectors: $half connections and $((findings / 2)) findings each, at once"
t0=$(date +%s.%N)
run_loadgen twoa "$port_a" "$tmp/c2a/tls/collector.crt" "$tmp/keys-two" a "$half" $((findings / 2)) 0 &
la=$!
run_loadgen twob "$port_b" "$tmp/c2b/tls/collector.crt" "$tmp/keys-two" b "$half" $((findings / 2)) $((findings / 2)) &
lb=$!
st=0
wait "$la" || st=1
wait "$lb" || st=1
t1=$(date +%s.%N)
[ "$st" = 0 ] || { cat "$tmp"/two?.out "$tmp"/two?.err; exit 1; }
stop_collectors
stored_two=$(psql_ -d two -c "SELECT count(*) FROM findings")
retries=$(cat "$tmp"/c2?.log | grep -c "serialization\|deadlock" || true)
rate_two=$(awk -v n="$findings" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
echo "acked $(($(field twoa findings_acked | head -1) + $(field twob findings_acked | head -1))) in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; stored $stored_two; per collector $(field twoa acked_findings_per_s)/s and $(field twob acked_findings_per_s)/s; log lines on retries: $retries"

# ---- the peer: pgbench inserting the same shape of rows into the same table ----
psql_ -d postgres -c "CREATE DATABASE peer"
config prep peer >"$tmp/prep.yaml"
"$collector" --config "$tmp/prep.yaml" agent add peer >/dev/null  # makes the schema
cat >"$tmp/insert.sql" <<'EOF'
\set base random(1, 2000000000)
INSERT INTO findings (id, kind, severity, subject, title, title_zh, evidence, observed_at, agent, scan, first_seen, last_seen, state, job, policy, alerting)
SELECT md5(:base::text || '-' || g), 'asset.discovered', 0, 'h' || (:base::bigint * 1000 + g) || '.bench-univ.edu.cn', 'Information system discovered', '发现信息系统', '{"addresses":["192.0.2.7","2001:db8::7"],"port":443,"how":"wordlist"}', 1764072000000000, 'peer', 'scan-1', 1764072000000000, 1764072000000000, 'open', 'bench', '', ''
FROM generate_series(1, 500) g
ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen;
EOF
tx=$((findings / 500 / pgbench_clients))
echo "== pgbench: $pgbench_clients clients x $tx transactions of 500 rows"
"$pg_bin/pgbench" -n -h 127.0.0.1 -p "$port" -U edusight -c "$pgbench_clients" -j 2 -t "$tx" \
  -f "$tmp/insert.sql" peer >"$tmp/pgbench.out" 2>&1 || { cat "$tmp/pgbench.out"; exit 1; }
tps=$(awk '/^tps = / {print $3}' "$tmp/pgbench.out")
rate_peer=$(awk -v t="$tps" 'BEGIN { printf "%.0f", t * 500 }')
echo "pgbench: $tps transactions/s = $rate_peer rows/s"

echo
echo "| setup | durable findings/s | of pgbench's rows/s |"
echo "| --- | --- | --- |"
awk -v r="$rate_one" -v p="$rate_peer" 'BEGIN { printf "| one collector | %d | %.2f |\n", r, r / p }'
awk -v r="$rate_two" -v p="$rate_peer" -v o="$rate_one" 'BEGIN { printf "| two collectors, one database | %d (%.2fx one) | %.2f |\n", r, r / o, r / p }'
echo "| pgbench, $pgbench_clients clients, 500 rows a transaction | $rate_peer | 1 |"
[ "$stored_one" -eq "$findings" ] && [ "$stored_two" -eq "$findings" ] ||
  { echo "stored counts differ from $findings: $stored_one, $stored_two" >&2; exit 1; }
