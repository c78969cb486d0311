#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (packages), builds with warnings as errors, and runs
# every test: unit tests, and the integration tests on the network-namespace campus
# (they need root for `ip netns`).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${EDUSIGHT_BUILD_DIR:-$here/build}
"$here/scripts/setup.sh"
"$here/scripts/build.sh"
cd "$build"
ctest --output-on-failure --timeout 600 "$@"
