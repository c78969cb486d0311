#!/usr/bin/env bash
# Ownership classification throughput: 1,000 prefixes (500 IPv4 /8-/30, 500 IPv6 /16-/64) and
# 1,000 zones from a fixed seed, 1M names and 1M addresses, 1M classify() calls on one thread.
#
#   bench/ownership/run.sh [BUILD_DIR]
#
# BUILD_DIR (or $EDUSIGHT_BUILD_DIR, default ./build) holds bench/ownership/edusight-bench-ownership.
# Tunables: N (classifications, default 1000000), ROUNDS (timed rounds, best reported, default 5),
# SEED. Exit status 0 when the target is met, 1 when not, 2 on a setup problem.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_dir=${1:-${EDUSIGHT_BUILD_DIR:-$here/../../build}}
bin=${EDUSIGHT_BENCH_OWNERSHIP:-$build_dir/bench/ownership/edusight-bench-ownership}
[ -x "$bin" ] || { echo "benchmark binary not found: $bin (build target edusight-bench-ownership)" >&2; exit 2; }

exec "$bin" --n "${N:-1000000}" --rounds "${ROUNDS:-5}" --seed "${SEED:-20240611}"
