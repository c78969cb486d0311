#!/usr/bin/env bash
# Web fetch throughput: edusight-bench-web vs curl --parallel against the same local nginx.
# nginx serves HOSTS virtual hosts (h0001.bench.test ...) on 127.0.0.1:P4 and [::1]:P6; each
# host is fetched once per family (2 x HOSTS fetches, each pinned to its loopback address).
# Loopback only. Usage: bench/web/run.sh [build-dir]   (env: HOSTS, CONCURRENCY)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
driver=$build/bench/web/edusight-bench-web
hosts=${HOSTS:-1000}
conc=${CONCURRENCY:-64}
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

[[ -x $driver ]] || { echo "missing $driver (build target edusight-bench-web)" >&2; exit 1; }
[[ -x $nginx_bin ]] || { echo "nginx not installed" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not installed" >&2; exit 1; }

tmp=$(mktemp -d /tmp/edusight-bench-web.XXXXXX)
chmod 755 "$tmp"
stop_nginx() {
  if [[ -s $tmp/nginx.pid ]]; then
    local pid
    pid=$(cat "$tmp/nginx.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$tmp"
}
trap stop_nginx EXIT

mapfile -t ports < <("$driver" --free-ports 2)
p4=${ports[0]}
p6=${ports[1]}

mkdir -p "$tmp/tmp"
{
  echo "worker_processes 1;"
  echo "pid $tmp/nginx.pid;"
  echo "error_log $tmp/error.log;"
  echo "events { worker_connections 4096; }"
  echo "http {"
  echo "  access_log off;"
  echo "  default_type text/html;"
  echo "  server_names_hash_bucket_size 64;"
  echo "  server_names_hash_max_size 4096;"
  for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $tmp/tmp/$t;"; done
  for i in $(seq 1 "$hosts"); do
    h=$(printf 'h%04d' "$i")
    echo "  server { listen 127.0.0.1:$p4; listen [::1]:$p6; server_name $h.bench.test;"
    echo "    location / { return 200 '<html><head><title>$h</title></head><body><h1>Host $h</h1><p>Page $i of the edusight web benchmark.</p></body></html>'; } }"
  done
  echo "}"
} >"$tmp/nginx.conf"

"$nginx_bin" -q -e "$tmp/error.log" -p "$tmp" -c "$tmp/nginx.conf"
for _ in $(seq 100); do
  curl -s -o /dev/null --connect-to "::127.0.0.1:" "http://h0001.bench.test:$p4/" && break
  sleep 0.05
done

# The same 2 x HOSTS URLs for curl; --connect-to pins each port to its family.
for i in $(seq 1 "$hosts"); do
  h=$(printf 'h%04d' "$i")
  printf 'url = "http://%s.bench.test:%s/"\noutput = "/dev/null"\n' "$h" "$p4"
  printf 'url = "http://%s.bench.test:%s/"\noutput = "/dev/null"\n' "$h" "$p6"
done >"$tmp/curl.cfg"

now() { date +%s.%N; }
fetches=$((2 * hosts))
echo "nginx: $hosts virtual hosts on 127.0.0.1:$p4 and [::1]:$p6; $fetches fetches, concurrency $conc"

t0=$(now)
timeout 300 "$driver" --port4 "$p4" --port6 "$p6" --hosts "$hosts" --concurrency "$conc"
t1=$(now)
ours=$(echo "$t0 $t1 $fetches" | awk '{printf "%.1f", $3 / ($2 - $1)}')
echo "ours (wall, incl. start-up): $ours fetches/s"

t0=$(now)
timeout 300 curl -s -S --parallel --parallel-max "$conc" --parallel-immediate \
  --connect-to ":$p4:127.0.0.1:" --connect-to ":$p6:[::1]:" \
  --no-progress-meter -w '%{http_code}\n' -K "$tmp/curl.cfg" >"$tmp/curl.codes" 2>"$tmp/curl.err" ||
  { echo "curl failed:"; head -5 "$tmp/curl.err"; }
t1=$(now)
ok=$(grep -c '^200$' "$tmp/curl.codes" || true)
theirs=$(echo "$t0 $t1 $fetches" | awk '{printf "%.1f", $3 / ($2 - $1)}')
echo "curl --parallel-max $conc: fetches=$fetches ok=$ok, $theirs fetches/s"
echo "ratio ours/curl: $(echo "$ours $theirs" | awk '{printf "%.2f", $1 / $2}')"
