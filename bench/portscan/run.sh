#!/usr/bin/env bash
# Connect-scan wall time: edusight-bench-portscan vs nmap -sT -T5 --min-rate 20000 -n -Pn on
# the same targets, which must show the same open ports.
#
# Everything happens between two network namespaces made here and removed on exit: the
# scanner (192.0.2.1, 2001:db8:77::1) and the target side of a veth pair, holding
# 192.0.2.77 / 2001:db8:77::77 and a few more hosts of 192.0.2.0/24, with accept-and-close
# listeners on 22 80 443 5432 6379 8080 (both families) and 3306 on 192.0.2.20 only.
# Scans: (a) all 65,535 ports of the host over IPv4, then IPv6; (b) 192.0.2.0/24 x 100 ports.
# Documentation prefixes only; no packet leaves the two namespaces. Needs root and nmap.
#
#   bench/portscan/run.sh [build-dir]
#   env: RATE (ours, new connects/s; default 100000), CONCURRENCY (5000), TIMEOUT_MS (300, as
#        nmap -T5's --max-rtt-timeout), RUNS (2: best of N for each tool)
# nmap's --min-rate is a floor and it goes as fast as it can above it; ScanOptions' rate is a
# ceiling, so the default here is set well above what either reaches on one core (with the
# library's 20000/s, 65,535 ports cannot take less than 3.3 s). RATE=20000 CONCURRENCY=1000
# shows the library defaults.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
driver=$build/bench/portscan/edusight-bench-portscan
rate=${RATE:-100000}
conc=${CONCURRENCY:-5000}
timeout_ms=${TIMEOUT_MS:-300}
runs=${RUNS:-2}

[[ -x $driver ]] || { echo "missing $driver (build target edusight-bench-portscan)" >&2; exit 1; }
[[ $EUID -eq 0 ]] || { echo "needs root (network namespaces)" >&2; exit 1; }
command -v nmap >/dev/null || { echo "nmap not installed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not installed" >&2; exit 1; }

scan=esbench-scan-$$
target=esbench-tgt-$$
tmp=$(mktemp -d /tmp/edusight-bench-portscan.XXXXXX)
listener_pid=
cleanup() {
  [[ -n $listener_pid ]] && kill "$listener_pid" 2>/dev/null || true
  ip netns del "$scan" 2>/dev/null || true
  ip netns del "$target" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

S() { ip netns exec "$scan" "$@"; }
T() { ip netns exec "$target" "$@"; }

ip netns add "$scan"
ip netns add "$target"
ip link add esb0 netns "$scan" type veth peer name esb1 netns "$target"
S ip link set lo up
T ip link set lo up
S ip link set esb0 up
T ip link set esb1 up
S ip addr add 192.0.2.1/24 dev esb0
S ip addr add 2001:db8:77::1/64 dev esb0 nodad
T ip addr add 192.0.2.77/24 dev esb1
T ip addr add 2001:db8:77::77/64 dev esb1 nodad
for h in 10 20 30 200; do T ip addr add "192.0.2.$h/24" dev esb1; done

# The listeners outlive the benchmark by a margin only; cleanup stops them sooner.
# (ip netns exec execs python3 itself, so $! is the listener's own pid.)
ip netns exec "$target" python3 "$root/bench/portscan/listeners.py" "$tmp/ready" 900 \
  22 80 443 5432 6379 8080 "192.0.2.20#3306" &
listener_pid=$!
for _ in $(seq 100); do [[ -s $tmp/ready ]] && break; sleep 0.05; done
[[ -s $tmp/ready ]] || { echo "listeners did not start" >&2; exit 1; }
S ping -c 1 -W 2 192.0.2.77 >/dev/null 2>&1 || true  # neighbour entry in place for both tools
S ping -c 1 -W 2 2001:db8:77::77 >/dev/null 2>&1 || true

now() { date +%s.%N; }

# ours FILE ARGS...: runs the driver, open ports ("open ADDR PORT") sorted into FILE; prints
# the wall time (best of $runs).
ours() {
  local out=$1 best= t0 t1 t
  shift
  for _ in $(seq "$runs"); do
    t0=$(now)
    S timeout 600 "$driver" --rate "$rate" --concurrency "$conc" --timeout-ms "$timeout_ms" "$@" \
      >"$out.raw" 2>"$out.log"
    t1=$(now)
    t=$(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}')
    if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a < b)}'; then best=$t; fi
  done
  sort -u "$out.raw" >"$out"
  echo "$best"
}

# theirs FILE ARGS...: the same with nmap, its grepable output turned into the same form.
theirs() {
  local out=$1 best= t0 t1 t
  shift
  for _ in $(seq "$runs"); do
    t0=$(now)
    S timeout 600 nmap -sT -T5 --min-rate 20000 -n -Pn -oG "$out.gnmap" "$@" >/dev/null
    t1=$(now)
    t=$(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}')
    if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a < b)}'; then best=$t; fi
  done
  awk -F'\t' '/Ports:/ {
      split($1, h, " "); host = h[2]
      for (i = 2; i <= NF; i++) if ($i ~ /^Ports: /) {
        n = split(substr($i, 8), ps, ", ")
        for (j = 1; j <= n; j++) { split(ps[j], f, "/"); if (f[2] == "open") print "open " host " " f[1] }
      }
    }' "$out.gnmap" | sort -u >"$out"
  echo "$best"
}

status=0
compare() {
  local name=$1 ours_t=$2 nmap_t=$3 ours_f=$4 nmap_f=$5
  local same=yes
  if ! cmp -s "$ours_f" "$nmap_f"; then
    same=NO
    status=1
    echo "!!!!!! MISMATCH in $name: open ports differ (< ours, > nmap) !!!!!!"
    diff "$ours_f" "$nmap_f" | sed 's/^/    /' || true
  fi
  printf '%-28s ours %8.3f s   nmap %8.3f s   ours/nmap %5.2f   open ports %3d (same: %s)\n' \
    "$name" "$ours_t" "$nmap_t" "$(echo "$ours_t $nmap_t" | awk '{printf "%.2f", $1 / $2}')" \
    "$(wc -l <"$ours_f")" "$same"
  sed 's/^/    ours: /' "${ours_f}.log"
}

echo "edusight-bench-portscan: rate $rate/s, $conc in flight, timeout ${timeout_ms} ms; best of $runs"
echo "nmap $(nmap --version | awk 'NR==1{print $3}'): -sT -T5 --min-rate 20000 -n -Pn; best of $runs"
echo

a4_ours=$(ours "$tmp/a4.ours" --ports 1-65535 192.0.2.77)
a4_nmap=$(theirs "$tmp/a4.nmap" -p 1-65535 192.0.2.77)
compare "(a) 192.0.2.77 x 65535" "$a4_ours" "$a4_nmap" "$tmp/a4.ours" "$tmp/a4.nmap"

a6_ours=$(ours "$tmp/a6.ours" --ports 1-65535 2001:db8:77::77)
a6_nmap=$(theirs "$tmp/a6.nmap" -6 -p 1-65535 2001:db8:77::77)
compare "(a) 2001:db8:77::77 x 65535" "$a6_ours" "$a6_nmap" "$tmp/a6.ours" "$tmp/a6.nmap"

ports100=1-93,443,3306,5432,6379,8080,8443,9200
b_ours=$(ours "$tmp/b.ours" --ports "$ports100" 192.0.2.0/24)
b_nmap=$(theirs "$tmp/b.nmap" -p "$ports100" 192.0.2.0/24)
compare "(b) 192.0.2.0/24 x 100" "$b_ours" "$b_nmap" "$tmp/b.ours" "$tmp/b.nmap"

exit $status
