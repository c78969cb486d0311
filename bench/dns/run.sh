#!/usr/bin/env bash
# DNS engine throughput versus dnsperf, both against one throw-away nsd on 127.0.0.1.
#
#   bench/dns/run.sh [BUILD_DIR]
#
# BUILD_DIR (or $EDUSIGHT_BUILD_DIR, default ./build) holds bench/dns/edusight-bench-dns;
# $EDUSIGHT_BENCH_DNS overrides the binary path. Tunables: N (names, default 100000),
# SERVER_COUNT (nsd processes, default 1), IN_FLIGHT (queries in flight, default 500),
# THREADS (our driver's threads, default 2: dnsperf also sends and receives on two threads).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_dir=${1:-${EDUSIGHT_BUILD_DIR:-$here/../../build}}
bin=${EDUSIGHT_BENCH_DNS:-$build_dir/bench/dns/edusight-bench-dns}
n=${N:-100000}
server_count=${SERVER_COUNT:-1}
in_flight=${IN_FLIGHT:-500}
threads=${THREADS:-2}
zone=bench.test

nsd_bin=$(command -v nsd || true)
[ -z "$nsd_bin" ] && [ -x /usr/sbin/nsd ] && nsd_bin=/usr/sbin/nsd
[ -x "$bin" ] || { echo "benchmark binary not found: $bin (build target edusight-bench-dns)" >&2; exit 2; }
[ -n "$nsd_bin" ] || { echo "nsd not found (Debian package nsd)" >&2; exit 2; }
command -v dnsperf >/dev/null || { echo "dnsperf not found (Debian package dnsperf)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/edusight-bench-dns.XXXXXX)
nsd_pid=
cleanup() {
  if [ -n "$nsd_pid" ]; then
    kill "$nsd_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$nsd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$nsd_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# A free high port on 127.0.0.1 (UDP and TCP).
port=$(python3 - <<'EOF'
import socket
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        u.close()
        t.close()
    if p > 10000:
        print(p)
        break
EOF
)
[ -n "$port" ] || { echo "no free port" >&2; exit 2; }

# Zone with N names, each with one A and one AAAA; the same list feeds both tools.
awk -v n="$n" -v zone="$zone" -v names="$tmp/names.txt" -v perf="$tmp/dnsperf.txt" 'BEGIN {
  print "$ORIGIN " zone "."
  print "$TTL 300"
  print "@ IN SOA ns1 hostmaster 1 3600 900 604800 300"
  print "@ IN NS ns1"
  print "ns1 IN A 127.0.0.1"
  for (i = 0; i < n; i++) {
    printf "h%d IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
    printf "h%d IN AAAA 2001:db8::%x:%x\n", i, int(i / 65536), i % 65536
    printf "h%d.%s\n", i, zone > names
    printf "h%d.%s A\nh%d.%s AAAA\n", i, zone, i, zone > perf
  }
}' > "$tmp/$zone.zone"

rrl=""
if "$nsd_bin" -v 2>&1 | grep -q -- "--enable-ratelimit"; then rrl="  rrl-ratelimit: 0"; fi
cat > "$tmp/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1
  port: $port
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$tmp"
  pidfile: "$tmp/nsd.pid"
  database: ""
  xfrdfile: "$tmp/xfrd.state"
  zonelistfile: "$tmp/zone.list"
  xfrdir: "$tmp"
  logfile: "$tmp/nsd.log"
  server-count: $server_count
  # Large socket buffers so that bursts are not dropped by the server (fair to both tools).
  receive-buffer-size: 4194304
  send-buffer-size: 4194304
  verbosity: 1
$rrl
remote-control:
  control-enable: no
zone:
  name: $zone
  zonefile: $zone.zone
EOF

"$nsd_bin" -d -c "$tmp/nsd.conf" 2>"$tmp/nsd.stderr" &
nsd_pid=$!

# Ready when the last name resolves (the whole zone is loaded); at most ~60 s.
echo "h$((n - 1)).$zone" > "$tmp/probe.txt"
ready=no
for _ in $(seq 300); do
  if timeout 5 "$bin" --server 127.0.0.1 --port "$port" --names "$tmp/probe.txt" \
      --timeout-ms 200 --tries 1 >/dev/null 2>&1; then ready=yes; break; fi
  kill -0 "$nsd_pid" 2>/dev/null || break
  sleep 0.2
done
if [ "$ready" != yes ]; then
  echo "nsd did not come up:" >&2
  cat "$tmp/nsd.stderr" "$tmp/nsd.log" >&2 2>/dev/null || true
  exit 1
fi

queries=$((2 * n))
echo "== edusight-bench-dns: $n names ($queries queries), $in_flight in flight in total, $threads threads (one Resolver per thread), nsd server-count $server_count"
ours_out=$(timeout 300 "$bin" --server 127.0.0.1 --port "$port" --names "$tmp/names.txt" \
  --in-flight "$in_flight" --threads "$threads" --timeout-ms 2000 --tries 3) || { echo "$ours_out"; echo "our run failed" >&2; exit 1; }
echo "$ours_out"
ours=$(awk '/^names_per_s:/ {print $2}' <<<"$ours_out")

echo "== dnsperf: $queries queries from the same list, $in_flight in flight (-q), default threads"
perf_out=$(timeout 300 dnsperf -s 127.0.0.1 -p "$port" -d "$tmp/dnsperf.txt" -n 1 \
  -q "$in_flight" -l 280 2>&1) || { echo "$perf_out"; echo "dnsperf failed" >&2; exit 1; }
echo "$perf_out" | grep -E "Queries (sent|completed|lost)|Queries per second|Run time"
perf=$(awk '/Queries per second/ {print $4}' <<<"$perf_out")

echo "== result"
awk -v o="$ours" -v p="$perf" -v t="$threads" 'BEGIN {
  printf "ours: %.0f names/s (%.0f queries/s, %d threads, one Resolver each)\n", o, 2 * o, t
  printf "dnsperf: %.0f queries/s\n", p
  printf "ratio ours names/s / dnsperf queries/s: %.2f (target >= 0.5)\n", o / p
}'
