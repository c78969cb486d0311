#!/usr/bin/env bash
# The demonstration: sets up, builds, brings up the demonstration campus (network namespaces
# with real nsd, unbound and nginx on documentation addresses), starts a collector (embedded
# SQLite) and an agent daemon that scans the campus and streams its findings to the
# collector, waits for the first scan to be stored, and prints where to look.
#   bash scripts/demo.sh        run it (everything stays up for exploring)
#   bash scripts/demo.sh stop   stop the agent, the collector and the campus
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${EDUSIGHT_BUILD_DIR:-$here/build}
export EDUSIGHT_TESTBED_NAME=${EDUSIGHT_TESTBED_NAME:-esdemo}
campus="$here/tests/testbed/campus.sh"
demo=${EDUSIGHT_DEMO_DIR:-/var/lib/edusight-demo}
api_port=${EDUSIGHT_DEMO_API_PORT:-8080}
# The host end of a link into the agent's namespace, so the agent reaches a collector that
# runs here (and the API stays on this machine's loopback, for a browser).
uplink_host=2001:db8:ffff::1
uplink_agent=2001:db8:ffff::2
uplink_if="${EDUSIGHT_TESTBED_NAME}-up"

stop_pid() {   # pidfile
  [ -r "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

stop_all() {
  stop_pid "$demo/agent.pid"
  stop_pid "$demo/collector.pid"
  "$campus" down
}

if [ "${1:-}" = "stop" ]; then
  stop_all
  echo "demo stopped (data kept in $demo)" >&2
  exit 0
fi

"$here/scripts/setup.sh"
"$here/scripts/build.sh"
stop_pid "$demo/agent.pid"
stop_pid "$demo/collector.pid"
"$campus" up

ip link del "$uplink_if" 2>/dev/null || true
ip link add "$uplink_if" type veth peer name uplink0 netns "${EDUSIGHT_TESTBED_NAME}-agent"
ip addr add "$uplink_host/64" dev "$uplink_if" nodad
ip link set "$uplink_if" up
ip -n "${EDUSIGHT_TESTBED_NAME}-agent" addr add "$uplink_agent/64" dev uplink0 nodad
ip -n "${EDUSIGHT_TESTBED_NAME}-agent" link set uplink0 up

# A fresh collector database each run, so the page shows this run's campus.
rm -rf "$demo"
mkdir -p "$demo"
collector="$build/collector/edusight-collector"
agent="$build/agent/edusight-agent"
cat >"$demo/collector.yaml" <<YAML
data_dir: $demo/collector
hostname: collector.demo-univ.edu.cn
institution: 示范大学
certificate_names: ["$uplink_host"]
forward:
  listen: ["[$uplink_host]:24224", "127.0.0.1:24224"]
api:
  listen: ["127.0.0.1:$api_port"]
YAML
"$collector" --config "$demo/collector.yaml" agent add demo-agent --key-file "$demo/demo-agent.key" >/dev/null
token=$("$collector" --config "$demo/collector.yaml" token create --name demo-admin --role admin)
echo "$token" >"$demo/admin.token"
chmod 600 "$demo/admin.token"
setsid "$collector" --config "$demo/collector.yaml" >"$demo/collector.log" 2>&1 &
echo $! >"$demo/collector.pid"
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$api_port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$api_port/healthz" >/dev/null || {
  cat "$demo/collector.log" >&2; echo "demo: the collector did not start" >&2; exit 1; }

cat >"$demo/agent.yaml" <<YAML
agent:
  id: demo-agent
  key_file: $demo/demo-agent.key
  spool_dir: $demo/agent-spool
  heartbeat_interval: 10s
collector:
  address: "[$uplink_host]:24224"
  ca_file: $demo/collector/tls/collector.crt
  server_name: "$uplink_host"
jobs:
  - name: campus
    scan_config: $here/tests/testbed/demo-campus.yaml
    schedule: "0 */6 * * *"
    jitter: 5m
    run_at_start: true
YAML
setsid "$campus" exec-agent "$agent" run --config "$demo/agent.yaml" >"$demo/agent.log" 2>&1 &
echo $! >"$demo/agent.pid"

echo "== waiting for the agent's first scan of the campus to reach the collector" >&2
api() { curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$api_port$1"; }
complete=""
for _ in $(seq 1 600); do
  complete=$(api "/api/v1/scans?agent=demo-agent" 2>/dev/null |
    python3 -c 'import json,sys; print(any(s["complete"] for s in json.load(sys.stdin)["items"]))' \
    2>/dev/null || true)
  [ "$complete" = "True" ] && break
  kill -0 "$(cat "$demo/agent.pid")" 2>/dev/null || break
  sleep 1
done
if [ "$complete" != "True" ]; then
  tail -20 "$demo/agent.log" >&2
  echo "demo: no completed scan arrived; logs in $demo" >&2
  exit 1
fi

api "/api/v1/findings?limit=1000&state=open" | python3 "$here/scripts/summarize_findings.py"
# The posture snapshot follows the store within a couple of seconds.
sleep 3
api "/api/v1/overview" | python3 "$here/scripts/summarize_overview.py" || true
cat <<WHERE

Where to look (everything stays up; stop it with: bash scripts/demo.sh stop)
  API:       http://127.0.0.1:$api_port/api/v1/findings   (Authorization: Bearer \$(cat $demo/admin.token))
             e.g. curl -H "Authorization: Bearer \$(cat $demo/admin.token)" 'http://127.0.0.1:$api_port/api/v1/assets?class=dual_non_own'
  Agents:    http://127.0.0.1:$api_port/api/v1/agents   (heartbeats every 10 s)
  Metrics:   http://127.0.0.1:$api_port/metrics
  Logs:      $demo/collector.log, $demo/agent.log
  Database:  $demo/collector/edusight.db (SQLite)
  The campus: $campus exec-agent CMD... runs CMD on the agent's side of the campus
  Reports:   http://127.0.0.1:$api_port/api/v1/reports/units.csv (with the token; also from the dashboard)

Dashboard: http://127.0.0.1:$api_port/   (sign in with the admin token: $token)
WHERE
