#!/usr/bin/env bash
# Collector ingest throughput: a real edusight-collector on 127.0.0.1 (TLS, its self-signed
# certificate) receiving findings from collector_loadgen with 100 and with 1,000 agents'
# connections; durable (acknowledged = committed) findings/s, the collector's peak RSS and its
# RSS with 1,000 idle connections; then SQLite's own insert rate of the same kind of rows
# (store_bench: raw inserts and SqliteStore group commit) and the ratios.
#
#   bench/collector/run.sh [BUILD_DIR]
#
# BUILD_DIR (or $EDUSIGHT_BUILD_DIR, default ./build) holds collector/edusight-collector,
# bench/collector/collector_loadgen and collector/store/store_bench. Tunables: FINDINGS_100
# (default 1000000), FINDINGS_1000 (500000), PER_CHUNK (500, the agent's batch size), WINDOW
# (8 chunks in flight per connection), HOLD (idle seconds with 1,000 connections open, 10),
# STORE_FINDINGS (store_bench rows, 200000), PLAINTEXT=1 (no TLS), PERF=1 (perf record the
# collector during the 100-connection run; report in the work directory, kept), AGENTS_VIA
# (cli: `edusight-collector agent add`, default; sqlite: rows written with the sqlite3 tool).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_dir=$(cd "${1:-${EDUSIGHT_BUILD_DIR:-$here/../../build}}" && pwd)
collector=$build_dir/collector/edusight-collector
loadgen=$build_dir/bench/collector/collector_loadgen
store_bench=$build_dir/collector/store/store_bench
findings_100=${FINDINGS_100:-1000000}
findings_1000=${FINDINGS_1000:-500000}
per_chunk=${PER_CHUNK:-500}
window=${WINDOW:-8}
hold=${HOLD:-10}
store_findings=${STORE_FINDINGS:-200000}
agents=1000
agents_via=${AGENTS_VIA:-cli}

for b in "$collector" "$loadgen" "$store_bench"; do
  [ -x "$b" ] || { echo "not built: $b (targets edusight-collector collector_loadgen store_bench)" >&2; exit 2; }
done
[ "$agents_via" = sqlite ] && ! command -v sqlite3 >/dev/null &&
  { echo "sqlite3 not found (Debian package sqlite3)" >&2; exit 2; }
# 1,000 connections on each side, plus the database and listeners.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 2100 ] || { echo "need at least 2100 open files (ulimit -n)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/edusight-bench-collector.XXXXXX)
keep_tmp=no
collector_pid=
sampler_pid=
# shellcheck disable=SC2317  # called from the traps
stop_collector() {
  [ -n "$sampler_pid" ] && { kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; }
  sampler_pid=
  if [ -n "$collector_pid" ]; then
    kill "$collector_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$collector_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$collector_pid" 2>/dev/null || true
    wait "$collector_pid" 2>/dev/null || true
  fi
  collector_pid=
}
# shellcheck disable=SC2317
cleanup() {
  stop_collector
  if [ "$keep_tmp" = yes ]; then echo "work directory kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tls_yaml="{enabled: true}"
mode=TLS
if [ "${PLAINTEXT:-0}" = 1 ]; then tls_yaml="{enabled: false}"; mode=plaintext; fi
config() {  # config DATA_DIR > yaml
  cat <<EOF
data_dir: $1
hostname: bench-collector
forward:
  listen: ["127.0.0.1:0"]
  tls: $tls_yaml
  max_connections: 4096
api:
  listen: ["127.0.0.1:0"]
enroll:
  listen: []
log_level: info
EOF
}

# --- agents: one identity and key each, in a template data directory copied per run ---
template=$tmp/template
mkdir -p "$template" "$tmp/keys"
config "$template" >"$tmp/template.yaml"
echo "== creating $agents agents ($agents_via)"
t0=$(date +%s.%N)
"$collector" --config "$tmp/template.yaml" agent add agent-0 --key-file "$tmp/keys/agent-0.key" >/dev/null
if [ "$agents_via" = sqlite ]; then
  # The collector made the schema above; the rest are rows of the same shape as agent add's.
  now_us=$(($(date +%s) * 1000000))
  i=1
  {
    echo "BEGIN;"
    # One random 24-byte key a line, from a single od call.
    while read -r hex; do
      key=esk_${hex// /}
      echo "$key" >"$tmp/keys/agent-$i.key"
      echo "INSERT INTO agents (id, key, created_at) VALUES ('agent-$i', '$key', $now_us);"
      i=$((i + 1))
    done < <(od -An -v -w24 -N$((24 * (agents - 1))) -tx1 /dev/urandom)
    echo "COMMIT;"
  } | sqlite3 "$template/edusight.db"
else
  # Bounded: each call is one short process; 4 at a time (SQLite waits on its busy timeout).
  seq 1 $((agents - 1)) | timeout 300 xargs -P 4 -I{} "$collector" --config "$tmp/template.yaml" \
    agent add agent-{} --key-file "$tmp/keys/agent-{}.key" >/dev/null
fi
count=$("$collector" --config "$tmp/template.yaml" agent list | wc -l)
[ "$count" -eq "$agents" ] || { echo "expected $agents agents, found $count" >&2; exit 1; }
awk -v a="$t0" -v b="$(date +%s.%N)" -v n="$agents" 'BEGIN { printf "%d agents in %.1f s\n", n, b - a }'

status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_s() {  # utime + stime of a process, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}

# start_collector NAME: fresh copy of the template, prints nothing; sets collector_pid, port.
start_collector() {
  local data=$tmp/$1
  cp -a "$template" "$data"
  config "$data" >"$tmp/$1.yaml"
  "$collector" --config "$tmp/$1.yaml" >"$tmp/$1.log" 2>&1 &
  collector_pid=$!
  port=
  for _ in $(seq 300); do  # up to 30 s (first start makes the certificate)
    port=$(sed -n 's/.*collector: Forward .* on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$1.log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$collector_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "collector did not start:" >&2
    cat "$tmp/$1.log" >&2
    exit 1
  fi
  tls_args=(--ca-file "$data/tls/collector.crt")
  [ "${PLAINTEXT:-0}" = 1 ] && tls_args=(--plaintext)
  return 0
}

# run_phase NAME CONNECTIONS FINDINGS HOLD: one collector, one loadgen run; prints the figures.
run_phase() {
  local name=$1 conns=$2 findings=$3 hold_s=$4
  start_collector "$name"
  local pid=$collector_pid
  local cpu0
  cpu0=$(cpu_s "$pid")
  # Current RSS while the connections are held idle (the loadgen prints "holding" first).
  local out=$tmp/$name.loadgen
  local perf_pid=
  if [ "${PERF:-0}" = 1 ] && [ "$name" = c100 ] && command -v perf >/dev/null; then
    # DWARF unwinding: the collector is built without frame pointers.
    perf record -F 199 --call-graph dwarf,8192 -p "$pid" -o "$tmp/perf.data" >"$tmp/perf.log" 2>&1 &
    perf_pid=$!
    keep_tmp=yes
  fi
  echo "== $name: $conns connections, $findings findings, chunks of $per_chunk, window $window, $mode"
  local lg_status=0
  timeout $((900 + hold_s)) "$loadgen" --port "$port" --key-dir "$tmp/keys" "${tls_args[@]}" \
    --connections "$conns" --findings "$findings" --per-chunk "$per_chunk" --window "$window" \
    --hold "$hold_s" --timeout 900 >"$out" 2>"$out.err" &
  local lg_pid=$!
  idle_rss=
  idle_anon=
  # VmHWM counts the database's mmap'ed pages (file-backed, reclaimable) too, so the peak of
  # anonymous memory (heap) is sampled separately.
  local anon_peak=0 anon
  while kill -0 "$lg_pid" 2>/dev/null; do
    anon=$(status_kb "$pid" RssAnon)
    [ "${anon:-0}" -gt "$anon_peak" ] && anon_peak=$anon
    if [ -z "$idle_rss" ] && grep -q '^holding:' "$out" 2>/dev/null; then
      sleep "$(awk -v h="$hold_s" 'BEGIN { print h / 2 }')"
      idle_rss=$(status_kb "$pid" VmRSS)
      idle_anon=$(status_kb "$pid" RssAnon)
    fi
    sleep 0.2
  done
  wait "$lg_pid" || lg_status=$?
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; fi
  cat "$out"
  [ -s "$out.err" ] && sed 's/^/loadgen: /' "$out.err" | head -5
  local hwm rss cpu1
  hwm=$(status_kb "$pid" VmHWM)
  local file_kb
  file_kb=$(status_kb "$pid" RssFile)
  rss=$(status_kb "$pid" VmRSS)
  cpu1=$(cpu_s "$pid")
  stop_collector
  local stored="?"  # what is in the database after the collector stopped
  command -v sqlite3 >/dev/null && stored=$(sqlite3 "$tmp/$name/edusight.db" "SELECT count(*) FROM findings")
  local warnings
  warnings=$(grep -c '\[warning\]\|\[error\]' "$tmp/$name.log" || true)
  printf -v "rate_$name" '%s' "$(awk '$1 == "acked_findings_per_s:" {print $2}' "$out")"
  printf -v "hwm_$name" '%s' "$hwm"
  local send_s
  send_s=$(awk '$1 == "connect_s:" || $1 == "send_s:" {t += $2} END {print t + 0}' "$out")
  awk -v n="$name" -v hwm="$hwm" -v rss="$rss" -v idle="${idle_rss:-}" -v c0="$cpu0" -v c1="$cpu1" \
      -v ap="$anon_peak" -v fk="$file_kb" -v ia="${idle_anon:-}" \
      -v s="$send_s" -v f="$findings" -v st="$stored" -v w="$warnings" -v lgs="$lg_status" 'BEGIN {
    printf "collector: peak RSS (VmHWM) %.1f MB, RSS at end %.1f MB", hwm / 1024, rss / 1024
    if (idle != "") printf ", RSS with the connections idle %.1f MB (anonymous %.1f MB)", idle / 1024, ia / 1024
    printf "\ncollector: peak anonymous RSS (heap, sampled every 0.2 s) %.1f MB; file-backed RSS at end %.1f MB (database mmap)", ap / 1024, fk / 1024
    # (parentheses: a bare ">" in a printf argument list is an output redirection in awk)
    printf "\ncollector: CPU %.1f s for %d findings (%.1f us/finding; %.0f%% of one core over connect + send time)\n",
      c1 - c0, f, (c1 - c0) * 1e6 / f, (s > 0 ? 100 * (c1 - c0) / s : 0)
    printf "stored findings (SELECT count(*)): %s; collector log warnings/errors: %d; loadgen exit %d\n", st, w, lgs
  }'
  rm -rf "${tmp:?}/$name"
  [ "$lg_status" -eq 0 ] || { echo "loadgen failed (exit $lg_status); collector log:" >&2; tail -20 "$tmp/$name.log" >&2; keep_tmp=yes; return 1; }
}

status=0
run_phase c100 100 "$findings_100" 0 || status=1
run_phase c1000 1000 "$findings_1000" "$hold" || status=1

echo "== store_bench: $store_findings rows into SQLite (same schema, synchronous=FULL, WAL)"
store_out=$(timeout 900 "$store_bench" "$store_findings" "$tmp/store") || { echo "$store_out"; echo "store_bench failed" >&2; exit 1; }
echo "$store_out"
raw=$(awk '/^raw sqlite3 INSERT/ {print $4}' <<<"$store_out")
grouped=$(awk '/^SqliteStore::commit_batches/ {print $2}' <<<"$store_out")

echo "== result"
# store_bench's raw loop uses the store's pragmas and group size: SQLite's own limit for these
# rows, the ceiling for any collector on this database.
awk -v a="${rate_c100:-0}" -v b="${rate_c1000:-0}" -v ha="${hwm_c100:-0}" -v hb="${hwm_c1000:-0}" \
    -v raw="$raw" -v g="$grouped" -v mode="$mode" 'BEGIN {
  printf "collector, 100 connections (%s): %.0f durable findings/s, peak RSS %.1f MB\n", mode, a, ha / 1024
  printf "collector, 1000 connections (%s): %.0f durable findings/s, peak RSS %.1f MB\n", mode, b, hb / 1024
  printf "store_bench: raw sqlite3 INSERT %.0f findings/s (store pragmas, 32,000 rows a commit); SqliteStore::commit_batches %.0f findings/s\n", raw, g
  if (raw > 0) printf "ratio collector / raw SQLite: %.2f (100 connections), %.2f (1000 connections)\n", a / raw, b / raw
  if (g > 0) printf "ratio collector / SqliteStore group commit: %.2f (100), %.2f (1000)\n", a / g, b / g
}'
if [ "${PERF:-0}" = 1 ] && [ -f "$tmp/perf.data" ]; then
  echo "== perf (collector, 100 connections): top symbols; full report: perf report -i $tmp/perf.data"
  perf report -i "$tmp/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
    grep -E '^ +[0-9]' | head -8 || true
  perf report -i "$tmp/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
    grep -E '^ +[0-9]' | cut -c1-140 | head -30 || true
  echo "-- inclusive (children), collector's own functions"
  perf report -i "$tmp/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
    grep -E '^ +[0-9].*(edusight|Sqlite|sqlite3_step|inflate|ssl3_read|SSL_read|decode|convert)' |
    cut -c1-160 | head -25 || true
fi
exit $status
