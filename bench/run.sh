#!/usr/bin/env bash
# Runs every benchmark, each beside its peer tool in the same run, and prints the ratios.
# Needs root (network namespaces) and a build (scripts/build.sh). Benchmarks are not tests:
# they assert nothing about time; docs/benchmarks.md records the figures measured.
#
#   bench/run.sh [BUILD_DIR]        (default: build/)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-${EDUSIGHT_BUILD_DIR:-$here/../build}}" && pwd)
status=0
for b in dns web portscan ownership agent collector dashboard; do
  echo "=== bench/$b"
  bash "$here/$b/run.sh" "$build" || { echo "bench/$b: failed (exit $?)"; status=1; }
done
exit $status
