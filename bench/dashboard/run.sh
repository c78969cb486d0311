#!/usr/bin/env bash
# Dashboard API latency at 1M stored findings: edusight-bench-dashboard-findings writes a
# collector database shaped like a large campus's (150,000 hosts, 1,000,000 findings) through
# SqliteStore, the real edusight-collector serves it on 127.0.0.1, and curl times the overview,
# assets, findings, alerts and report endpoints (REQUESTS sequential requests each, over one
# keep-alive connection). Side by side, on the same work:
#   - sqlite3 (the CLI) runs the SQL the store runs for the findings and alerts pages (count
#     and first page), and a from-the-database stand-in for the snapshot-backed pages;
#   - nginx serves each endpoint's response body as a static file, through the same curl
#     loop: the floor of HTTP on loopback plus curl's own cost for a body of that size.
# Prints p50/p90/p99/max per endpoint, whether p99 < 100 ms, and the ratios.
#
#   bench/dashboard/run.sh [BUILD_DIR] [N]
#
# BUILD_DIR (or $EDUSIGHT_BUILD_DIR, default ./build): targets edusight-collector and
# edusight-bench-dashboard-findings are built there first when needed. N: findings (1000000).
# Tunables: REQUESTS (500 a URL), WARMUP (20 a URL, not counted), SQLITE_RUNS (10 timed runs
# of the peer SQL after one warm-up; 200 when a run takes < 5 ms), DB (reuse this database
# instead of generating one; copied), KEEP=1 (keep the work directory), PERF=1 (perf record
# the collector while the endpoints are timed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_dir=$(cd "${1:-${EDUSIGHT_BUILD_DIR:-$here/../../build}}" && pwd)
findings=${2:-1000000}
requests=${REQUESTS:-500}
warmup=${WARMUP:-20}
sqlite_runs=${SQLITE_RUNS:-10}
collector=$build_dir/collector/edusight-collector
generator=$build_dir/bench/dashboard/edusight-bench-dashboard-findings

for tool in curl sqlite3; do
  command -v "$tool" >/dev/null || { echo "$tool not found (Debian package $tool)" >&2; exit 2; }
done
echo "== building edusight-collector edusight-bench-dashboard-findings (if needed)"
build_log=$(cmake --build "$build_dir" --target edusight-collector edusight-bench-dashboard-findings \
  -j2 2>&1) || { tail -20 <<<"$build_log" >&2; echo "build failed" >&2; exit 2; }

tmp=$(mktemp -d /tmp/edusight-bench-dashboard.XXXXXX)
collector_pid=
nginx_pid=
perf_pid=
# shellcheck disable=SC2317  # called from the traps
stop_pid() {  # stop_pid PID: TERM, up to 15 s, then KILL
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317
cleanup() {
  [ -n "$perf_pid" ] && { kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" 2>/dev/null || true; }
  stop_pid "$collector_pid"
  stop_pid "$nginx_pid"
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

data=$tmp/data
mkdir -p "$data"
if [ -n "${DB:-}" ]; then
  echo "== database: copy of $DB"
  cp "$DB" "$data/edusight.db"
  gen_out="generate_s: (reused)"
else
  echo "== generating $findings findings through SqliteStore::commit_batches"
  gen_out=$("$generator" "$data/edusight.db" --findings "$findings") ||
    { echo "$gen_out"; echo "generator failed" >&2; exit 1; }
fi
while IFS= read -r line; do echo "  $line"; done <<<"$gen_out"
db_mb=$(du -m "$data/edusight.db" | cut -f1)
echo "  database size: ${db_mb} MB"

cat >"$tmp/collector.yaml" <<EOF
data_dir: $data
hostname: bench-dashboard
forward:
  listen: ["127.0.0.1:0"]
  tls: {enabled: false}
api:
  listen: ["127.0.0.1:0"]
enroll:
  listen: []
  dashboard_dir: none
log_level: info
EOF
token=$("$collector" --config "$tmp/collector.yaml" token create --name bench-viewer --role viewer)
auth="Authorization: Bearer $token"

echo "== starting edusight-collector"
t_start=$(date +%s.%N)
"$collector" --config "$tmp/collector.yaml" >"$tmp/collector.log" 2>&1 &
collector_pid=$!
port=
for _ in $(seq 300); do
  port=$(sed -n 's/.*api: listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/collector.log" | head -1)
  [ -n "$port" ] && break
  kill -0 "$collector_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { echo "collector did not start:" >&2; cat "$tmp/collector.log" >&2; exit 1; }
base=http://127.0.0.1:$port

status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
metric() { awk -v m="$1" '$1 == m {print $2}' "$tmp/metrics"; }
# The posture snapshot (assets, overview, reports) is built on its own thread after start.
builds=0
for _ in $(seq 600); do  # up to 10 minutes
  curl -sf "$base/metrics" -o "$tmp/metrics" || true
  builds=$(metric edusight_posture_builds_total)
  [ "${builds:-0}" -ge 1 ] 2>/dev/null && break
  kill -0 "$collector_pid" 2>/dev/null || { echo "collector died:" >&2; tail -20 "$tmp/collector.log" >&2; exit 1; }
  sleep 1
done
[ "${builds:-0}" -ge 1 ] || { echo "no posture snapshot after 10 minutes" >&2; exit 1; }
build_ms=$(metric edusight_posture_build_milliseconds)
snapshot_s=$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
rss_kb=$(status_kb "$collector_pid" VmRSS)
hwm_kb=$(status_kb "$collector_pid" VmHWM)
echo "  posture snapshot built in ${build_ms} ms (edusight_posture_build_milliseconds); ready ${snapshot_s} s after start"
awk -v r="$rss_kb" -v h="$hwm_kb" 'BEGIN { printf "  collector RSS %.0f MB, peak (VmHWM) %.0f MB\n", r / 1024, h / 1024 }'

endpoints=(
  "/api/v1/overview"
  "/api/v1/assets?limit=100"
  "/api/v1/assets?search=lab&limit=100"
  "/api/v1/findings?limit=100"
  "/api/v1/findings?kind=tls.cert_expired&limit=100"
  "/api/v1/findings?severity=high&state=open&limit=100"
  "/api/v1/alerts?state=active&limit=100"
  "/api/v1/reports/units"
)

# time_urls OUT URL COUNT [HEADER]: COUNT sequential GETs of URL in one curl process (one
# keep-alive connection), after WARMUP uncounted ones; one "code seconds connects bytes" line
# each in OUT.
time_urls() {
  local out=$1 url=$2 count=$3 header=${4:-}
  local cfg=$tmp/curl.cfg
  {
    echo "silent"
    printf '%s\n' 'write-out = "%{http_code} %{time_total} %{num_connects} %{size_download}\n"'
    [ -n "$header" ] && echo "header = \"$header\""
    for _ in $(seq $((warmup + count))); do
      echo "url = \"$url\""
      echo "output = \"/dev/null\""
    done
  } >"$cfg"
  curl --config "$cfg" | tail -n "$count" >"$out"
}
# stats FILE: "p50 p90 p99 max mean" in ms of column 2 (seconds); nearest-rank percentiles.
stats() {
  awk '{ print $2 * 1000 }' "$1" | sort -g | awk '
    { v[NR] = $1; s += $1 }
    function pct(p,  i) { i = int(p * NR + 0.999999); if (i < 1) i = 1; return v[i] }
    END { printf "%.2f %.2f %.2f %.2f %.2f\n", pct(0.5), pct(0.9), pct(0.99), v[NR], s / NR }'
}

if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  perf record -F 499 -g -p "$collector_pid" -o "$tmp/perf.data" >"$tmp/perf.log" 2>&1 &
  perf_pid=$!
  KEEP=1
fi

echo "== collector: $requests requests per endpoint, sequential, one keep-alive connection (after $warmup warm-up)"
declare -A p50 p90 p99 pmax bytes
i=0
for ep in "${endpoints[@]}"; do
  i=$((i + 1))
  curl -s -H "$auth" "$base$ep" -o "$tmp/body.$i"
  time_urls "$tmp/lat.$i" "$base$ep" "$requests" "$auth"
  bad=$(awk '$1 != 200' "$tmp/lat.$i" | wc -l)
  conns=$(awk '{ c += $3 } END { print c + 0 }' "$tmp/lat.$i")
  read -r a b c d _ < <(stats "$tmp/lat.$i")
  p50[$i]=$a p90[$i]=$b p99[$i]=$c pmax[$i]=$d
  bytes[$i]=$(awk 'NR == 1 { print $4 }' "$tmp/lat.$i")
  [ "$bad" -eq 0 ] || echo "  $ep: $bad responses were not 200" >&2
  [ "$conns" -le 1 ] || echo "  $ep: curl opened $conns connections (expected one)" >&2
done
if [ -n "$perf_pid" ]; then
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  perf_pid=
fi

# --- peer 1: nginx serving each response body as a static file, same curl loop ---
have_nginx=no
if command -v nginx >/dev/null; then
  mkdir -p "$tmp/nginx/www" "$tmp/nginx/logs"
  for j in $(seq "$i"); do cp "$tmp/body.$j" "$tmp/nginx/www/body$j.json"; done
  nport=$((20000 + RANDOM % 20000))
  cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/tmp;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$nport;
    root $tmp/nginx/www;
    default_type application/json;
  }
}
EOF
  nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" &
  nginx_pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$nport/body1.json" -o /dev/null && { have_nginx=yes; break; }; sleep 0.1; done
  [ "$have_nginx" = yes ] || echo "  nginx did not start; skipping the static-file peer" >&2
fi
declare -A n50
if [ "$have_nginx" = yes ]; then
  echo "== nginx: the same bodies as static files, same curl loop"
  for j in $(seq "$i"); do
    time_urls "$tmp/nginx.$j" "http://127.0.0.1:$nport/body$j.json" "$requests"
    read -r a _ _ _ _ < <(stats "$tmp/nginx.$j")
    n50[$j]=$a
  done
  stop_pid "$nginx_pid"
  nginx_pid=
fi

# --- peer 2: the sqlite3 CLI on the same database file (the collector keeps running, idle) ---
cols="id, kind, severity, subject, title, title_zh, evidence, observed_at, agent, scan, first_seen, last_seen, state, resolved_at, job, policy"
acols="id, rule, subject, severity, title, title_zh, tags, remediation, remediation_zh, state, first_fired, last_fired, repeats, finding_id, agent, acknowledged_at, acknowledged_by, ack_comment, resolved_at, renotify_s, last_notified, notifications"
declare -A sql
# The store's own statements (count for "total", then the page).
sql[1]="SELECT severity, count(*) FROM findings WHERE state = 'open' GROUP BY severity; SELECT severity, count(*) FROM alerts WHERE state <> 'resolved' GROUP BY severity;"
sql[2]="SELECT count(*) FROM findings WHERE kind = 'asset.discovered' AND state = 'open'; SELECT $cols FROM findings WHERE kind = 'asset.discovered' AND state = 'open' ORDER BY subject LIMIT 100;"
sql[3]="SELECT count(*) FROM findings WHERE kind = 'asset.discovered' AND state = 'open' AND (subject LIKE '%lab%' OR json_extract(evidence, '\$.owner_unit') LIKE '%lab%'); SELECT $cols FROM findings WHERE kind = 'asset.discovered' AND state = 'open' AND (subject LIKE '%lab%' OR json_extract(evidence, '\$.owner_unit') LIKE '%lab%') ORDER BY subject LIMIT 100;"
sql[4]="SELECT count(*) FROM findings WHERE 1; SELECT $cols FROM findings WHERE 1 ORDER BY last_seen DESC, id LIMIT 100 OFFSET 0;"
sql[5]="SELECT count(*) FROM findings WHERE 1 AND kind = 'tls.cert_expired'; SELECT $cols FROM findings WHERE 1 AND kind = 'tls.cert_expired' ORDER BY last_seen DESC, id LIMIT 100 OFFSET 0;"
sql[6]="SELECT count(*) FROM findings WHERE 1 AND severity >= 3 AND state = 'open'; SELECT $cols FROM findings WHERE 1 AND severity >= 3 AND state = 'open' ORDER BY last_seen DESC, id LIMIT 100 OFFSET 0;"
sql[7]="SELECT count(*) FROM alerts WHERE state <> 'resolved'; SELECT $acols FROM alerts WHERE state <> 'resolved' ORDER BY last_fired DESC, id DESC LIMIT 100 OFFSET 0;"
sql[8]="SELECT json_extract(evidence, '\$.owner_unit') AS unit, count(*) FROM findings WHERE kind = 'asset.discovered' AND state = 'open' GROUP BY unit;"
declare -A same
same=([1]="partial" [2]="stand-in" [3]="stand-in" [4]="same SQL" [5]="same SQL" [6]="same SQL" [7]="same SQL" [8]="stand-in")
echo "== sqlite3 CLI ($(sqlite3 --version | cut -d' ' -f1)) on the same file: $sqlite_runs runs each after one warm-up, mean"
# Wall time of one sqlite3 process running the statements 1 + sqlite_runs times, minus that of
# one running them once (start-up, opening, the cold first run): the mean of the warm runs.
# (.timer prints whole milliseconds only, too coarse for the fast pages.)
now_ns() { date +%s%N; }
declare -A lite
# peer_ms J RUNS: mean ms of one warm run of peer J's statements.
peer_ms() {
  local j=$1 runs=$2 t0 t1 t2
  { echo ".output /dev/null"; echo "${sql[$j]}"; } >"$tmp/peer.$j.once.sql"
  { echo ".output /dev/null"; for _ in $(seq $((runs + 1))); do echo "${sql[$j]}"; done; } >"$tmp/peer.$j.sql"
  t0=$(now_ns); sqlite3 -readonly "$data/edusight.db" <"$tmp/peer.$j.once.sql"
  t1=$(now_ns); sqlite3 -readonly "$data/edusight.db" <"$tmp/peer.$j.sql"
  t2=$(now_ns)
  awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$runs" \
    'BEGIN { v = ((c - b) - (b - a)) / n / 1e6; printf "%.2f", (v > 0 ? v : 0) }'
}
for j in $(seq "$i"); do
  lite[$j]=$(peer_ms "$j" "$sqlite_runs")
  # Fast statements: more runs, so that process start-up noise does not swamp them.
  if awk -v v="${lite[$j]}" 'BEGIN { exit !(v < 5) }'; then lite[$j]=$(peer_ms "$j" 200); fi
done

echo "== result ($findings findings; collector p50/p90/p99/max in ms over $requests requests; sqlite3 mean ms)"
printf "%-52s %8s %8s %8s %8s %6s %8s %9s %9s %9s %10s\n" endpoint p50 p90 p99 max "<100" bytes nginx_p50 sqlite3 coll/sql3 peer_query
for j in $(seq "$i"); do
  ok=$(awk -v p="${p99[$j]}" 'BEGIN { print (p < 100 ? "yes" : "NO") }')
  ratio=$(awk -v a="${p50[$j]}" -v b="${lite[$j]}" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')
  printf "%-52s %8s %8s %8s %8s %6s %8s %9s %9s %9s %10s\n" "${endpoints[$((j - 1))]}" "${p50[$j]}" "${p90[$j]}" \
    "${p99[$j]}" "${pmax[$j]}" "$ok" "${bytes[$j]}" "${n50[$j]:--}" "${lite[$j]}" "$ratio" "${same[$j]}"
done
cat <<EOF
notes: nginx_p50 is the same body from nginx as a static file through the same curl loop (HTTP
  on loopback plus curl's own cost). sqlite3 runs the store's own count + page SQL for the
  findings and alerts pages ("same SQL"); the overview line counts open findings and alerts by
  severity (the live part of what the overview shows: "partial"); the assets and units lines
  answer from the database what the collector answers from its posture snapshot ("stand-in").
snapshot: build ${build_ms} ms, ready ${snapshot_s} s after start; $(echo "$gen_out" | awk '$1 == "generate_s:" { print "generation " $2 " s" }'); database ${db_mb} MB
EOF
if [ -f "$tmp/perf.data" ]; then
  echo "== perf (collector while timed): top symbols; full report: perf report -i $tmp/perf.data"
  perf report -i "$tmp/perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
    grep -E '^ +[0-9]' | cut -c1-150 | head -20 || true
fi
warn=$(grep -c '\[warning\]\|\[error\]' "$tmp/collector.log" || true)
echo "collector log warnings/errors: $warn"
