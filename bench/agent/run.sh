#!/usr/bin/env bash
# Peak RSS (and throughput) of edusight-agent checking 10,000 web hosts (target: <= 64 MB).
# Everything runs inside a private network namespace with only its loopback: nsd serves a
# zone of N hosts (A 127.0.0.1, AAAA ::1) and nginx answers on both families.
#   bench/agent/run.sh [BUILD_DIR] [N]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${EDUSIGHT_BUILD_DIR:-$here/build}}
n=${2:-10000}
agent=$build/agent/edusight-agent
[ -x "$agent" ] || { echo "bench/agent: build first ($agent missing)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/agent: needs root for ip netns" >&2; exit 1; }

ns=esbench-rss-$$
work=$(mktemp -d /tmp/edusight-bench-rss.XXXXXX)
cleanup() {
  for p in "$work"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  sleep 0.2
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
in_ns() { ip netns exec "$ns" "$@"; }

# Zone with N hosts.
{
  echo '$ORIGIN rss.test.'
  echo '$TTL 3600'
  echo '@ IN SOA ns hostmaster 1 3600 900 604800 300'
  echo '@ IN NS ns'
  echo 'ns IN A 127.0.0.1'
  for i in $(seq -w 1 "$n"); do echo "h$i IN A 127.0.0.1"; echo "h$i IN AAAA ::1"; done
} >"$work/rss.test.zone"
cat >"$work/nsd.conf" <<NSD
server:
  ip-address: 127.0.0.1
  port: 53
  username: ""
  zonesdir: "$work"
  database: ""
  pidfile: "$work/nsd.pid"
  xfrdfile: "$work/xfrd.state"
  zonelistfile: "$work/zone.list"
  verbosity: 0
  server-count: 1
  hide-version: yes
zone:
  name: rss.test
  zonefile: rss.test.zone
NSD
in_ns nsd -c "$work/nsd.conf"
mkdir -p "$work/www" "$work/tmp"
printf '<html><head><title>bench</title></head><body><p>The same small page on both families.</p></body></html>' >"$work/www/index.html"
cat >"$work/nginx.conf" <<NGX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  server { listen 127.0.0.1:80 default_server; listen [::1]:80 default_server; root $work/www; }
}
NGX
in_ns nginx -c "$work/nginx.conf"
for i in $(seq 1 50); do in_ns bash -c 'exec 3<>/dev/tcp/127.0.0.1/80' 2>/dev/null && break; sleep 0.1; done

{
  echo 'institution: {own_domains: [rss.test], own_prefixes: [127.0.0.0/8, "::1/128"]}'
  echo 'dns: {resolvers: [127.0.0.1], queries_per_second: 100000}'
  echo 'limits: {max_concurrent_hosts: 128, max_concurrent_connections: 256, requests_per_second_per_host: 1000, new_connections_per_second: 100000}'
  echo 'thresholds: {slow_tries: 1}'
  echo 'targets:'
  for i in $(seq -w 1 "$n"); do echo "  - h$i.rss.test"; done
} >"$work/agent.yaml"

start=$(date +%s.%N)
in_ns /usr/bin/time -v "$agent" scan --config "$work/agent.yaml" --format jsonl --no-progress --log-level warn \
  >"$work/findings.jsonl" 2>"$work/time.txt" || { cat "$work/time.txt" >&2; exit 1; }
end=$(date +%s.%N)
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$work/time.txt")
hosts=$(grep -c '"kind":"ipv6.readiness"' "$work/findings.jsonl" || true)
awk -v n="$n" -v h="$hosts" -v s="$start" -v e="$end" -v r="$rss_kb" 'BEGIN {
  printf "agent: %d hosts checked (%d readiness findings) in %.1f s, %.0f hosts/s\n", n, h, e - s, n / (e - s);
  printf "agent: peak RSS %.1f MB (target <= 64 MB): %s\n", r / 1024, (r / 1024 <= 64 ? "met" : "NOT met");
}'
