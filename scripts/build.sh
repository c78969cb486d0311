#!/usr/bin/env bash
# Configures and builds edusight into build/ (or $EDUSIGHT_BUILD_DIR). Warnings are errors.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${EDUSIGHT_BUILD_DIR:-$here/build}
jobs=${EDUSIGHT_JOBS:-$(nproc)}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$here" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDUSIGHT_WERROR=ON >/dev/null
fi
cmake --build "$build" -j "$jobs"
