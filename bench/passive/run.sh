#!/usr/bin/env bash
# Passive decoding throughput, in the same run: edusight-agent passive --read, tshark extracting
# the same fields (DNS names and addresses, TLS SNI, HTTP Host, ICMPv6 type, DHCPv6 message
# type, tunnels' inner addresses) and tcpdump -nr, each on one capture of N mixed frames
# written by edusight-bench-passive-capture (DNS, TLS, HTTP, IPv6 and IPv4 data, 6in4, 6to4,
# Teredo, GRE, RA, DHCPv6, VLAN). Each tool's output goes to /dev/null (the agent's findings to
# a file, for the count). Targets: >= 20x tshark and faster than tcpdump.
#
#   bench/passive/run.sh [BUILD_DIR]
#
# Tunables: N (frames, default 1000000), ROUNDS (timed rounds of the agent and tcpdump, best
# reported, default 3), TSHARK_ROUNDS (default 1: tshark is slow), WORK (default a temporary
# directory, removed at the end). Exit status 0 when both targets are met, 1 when not, 2 on a
# setup problem.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${EDUSIGHT_BUILD_DIR:-$here/../../build}}
agent=$build/agent/edusight-agent
gen=$build/bench/passive/edusight-bench-passive-capture
n=${N:-1000000}
rounds=${ROUNDS:-3}
tshark_rounds=${TSHARK_ROUNDS:-1}
for b in "$agent" "$gen"; do
  [ -x "$b" ] || { echo "bench/passive: build first ($b missing)" >&2; exit 2; }
done
for t in tshark tcpdump; do
  command -v "$t" >/dev/null || { echo "bench/passive: $t not installed" >&2; exit 2; }
done

work=${WORK:-}
if [ -z "$work" ]; then
  work=$(mktemp -d /tmp/edusight-bench-passive.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
chmod 755 "$work"  # the agent reads as root, then runs as nobody
capture=$work/mixed.pcap
"$gen" "$capture" "$n"
size=$(stat -c %s "$capture")
cat "$capture" >/dev/null  # every tool starts from the page cache

now() { date +%s.%N; }
# best_of ROUNDS CMD...: the shortest wall time of ROUNDS runs, in seconds.
best_of() {
  local r=$1 best="" s e t
  shift
  for _ in $(seq 1 "$r"); do
    s=$(now)
    "$@"
    e=$(now)
    t=$(awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f", e - s}')
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN {exit !(t < b)}'; then best=$t; fi
  done
  echo "$best"
}

run_agent() {
  "$agent" passive --read "$capture" --own-domain demo-univ.edu.cn --own-prefix 192.0.2.0/24 \
    --own-prefix 2001:db8:a::/48 --allowed-router fe80::1 --format jsonl \
    >"$work/findings.jsonl" 2>"$work/agent.err"
}
run_tshark() {
  tshark -n -r "$capture" -T fields -e frame.number -e ip.src -e ipv6.src -e ipv6.dst \
    -e dns.qry.name -e dns.a -e dns.aaaa -e dns.cname -e tls.handshake.extensions_server_name \
    -e http.host -e icmpv6.type -e icmpv6.nd.ra.router_lifetime -e dhcpv6.msgtype \
    -e ip.proto -e udp.port >/dev/null 2>"$work/tshark.err"
}
run_tcpdump() { tcpdump -nr "$capture" >/dev/null 2>"$work/tcpdump.err"; }

echo "capture: $n frames, $((size / 1000000)) MB ($capture)"
t_agent=$(best_of "$rounds" run_agent)
findings=$(wc -l <"$work/findings.jsonl")
t_tcpdump=$(best_of "$rounds" run_tcpdump)
t_tshark=$(best_of "$tshark_rounds" run_tshark)
grep -h "edusight-agent passive:" "$work/agent.err" | cut -c1-200 || true

awk -v n="$n" -v a="$t_agent" -v s="$t_tshark" -v d="$t_tcpdump" -v f="$findings" 'BEGIN {
  printf "edusight-agent passive --read: %7.3f s  %9.0f frames/s  (%d findings)\n", a, n / a, f;
  printf "tshark -T fields (same fields): %7.3f s  %9.0f frames/s\n", s, n / s;
  printf "tcpdump -nr > /dev/null:        %7.3f s  %9.0f frames/s\n", d, n / d;
  printf "agent vs tshark:  %.1fx faster (target >= 20x): %s\n", s / a, (s / a >= 20 ? "met" : "NOT met");
  printf "agent vs tcpdump: %.1fx faster (target > 1x): %s\n", d / a, (d / a > 1 ? "met" : "NOT met");
  exit (s / a >= 20 && d / a > 1) ? 0 : 1;
}'
