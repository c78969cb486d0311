#!/usr/bin/env bash
# Sets up, builds, brings up the demonstration campus (network namespaces with real nsd,
# unbound and nginx on documentation addresses) and runs an agent scan of it.
# The campus stays up for exploring until `tests/testbed/campus.sh down` (or pass --down).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${EDUSIGHT_BUILD_DIR:-$here/build}
export EDUSIGHT_TESTBED_NAME=${EDUSIGHT_TESTBED_NAME:-esdemo}
"$here/scripts/setup.sh"
"$here/scripts/build.sh"
"$here/tests/testbed/campus.sh" up
echo "== edusight-agent scan of the demonstration campus" >&2
"$here/tests/testbed/campus.sh" exec-agent "$build/agent/edusight-agent" scan \
  --config "$here/tests/testbed/demo-campus.yaml" --agent-id demo-agent --format table --no-progress
if [ "${1:-}" = "--down" ]; then
  "$here/tests/testbed/campus.sh" down
else
  echo "The campus is still up: '$here/tests/testbed/campus.sh exec-agent CMD' runs a command on it;" >&2
  echo "'EDUSIGHT_TESTBED_NAME=$EDUSIGHT_TESTBED_NAME $here/tests/testbed/campus.sh down' stops it." >&2
fi
