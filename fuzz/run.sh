#!/usr/bin/env bash
# Builds the Forward decoder fuzz target with clang (libFuzzer, ASan, UBSan) and runs it on a
# copy of the seed corpus for a fixed time, then prints executions, rate, new corpus entries
# and whether it crashed. The checked-in corpus is never modified: new inputs stay in the work
# directory (copy the interesting ones into fuzz/corpus/forward_decoder/ by hand).
#
#   fuzz/run.sh [SECONDS] [WORK_DIR]      (default 300 s; WORK_DIR default build-fuzz/)
#
# Environment: TARGET (forward_decoder, the default, or passive_decoder: the passive frame
# decoder, whose WORK_DIR defaults to build-fuzz-passive/), CXX (default clang++-14, else
# clang++), JOBS (libFuzzer -fork workers, default 0 = one process), MAX_LEN (default 8192),
# EXTRA_ARGS (more libFuzzer flags), EXTRA_CXXFLAGS.
# Exit status: 0 no crash, 1 a crash/leak/timeout (the artifact is in WORK_DIR/artifacts), 2 setup.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
seconds=${1:-300}
target=${TARGET:-forward_decoder}
case "$target" in
  forward_decoder) work=${2:-$repo/build-fuzz} ;;
  passive_decoder) work=${2:-$repo/build-fuzz-passive} ;;
  *) echo "TARGET must be forward_decoder or passive_decoder" >&2; exit 2 ;;
esac
msgpack_include=${MSGPACK_INCLUDE:-/opt/edusight-deps/msgpack-cxx/usr/include}
max_len=${MAX_LEN:-8192}
jobs=${JOBS:-0}

cxx=${CXX:-}
if [ -z "$cxx" ]; then
  if command -v clang++-14 >/dev/null; then cxx=clang++-14; else cxx=clang++; fi
fi
command -v "$cxx" >/dev/null || { echo "clang++ not found (Debian package clang)" >&2; exit 2; }
[ "$target" != forward_decoder ] || [ -f "$msgpack_include/msgpack.hpp" ] || {
  echo "msgpack-c++ not found in $msgpack_include (scripts/fetch-msgpack.sh)" >&2; exit 2; }
case "$seconds" in '' | *[!0-9]*) echo "SECONDS must be a whole number" >&2; exit 2 ;; esac

mkdir -p "$work/obj" "$work/artifacts"
bin=$work/${target}_fuzz

# Boost.JSON is compiled into the target (src.hpp) so that it is instrumented as well.
[ -f "$work/boost_json_src.cpp" ] || echo '#include <boost/json/src.hpp>' >"$work/boost_json_src.cpp"
# shellcheck disable=SC2206  # EXTRA_CXXFLAGS is split into words on purpose
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -DMSGPACK_NO_BOOST
  "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=all
  -I"$repo/collector/forward" -isystem "$msgpack_include" ${EXTRA_CXXFLAGS:-})
# Per target: its sources, the header they share, link libraries and dictionary.
if [ "$target" = passive_decoder ]; then
  flags+=(-I"$repo")
  sources=("$repo/probes/passive/decode.cpp" "$here/passive_decoder_fuzz.cpp")
  header=$repo/probes/passive/decode.hpp
  libs=()
  dict_args=()
else
  sources=("$repo/collector/forward/codec.cpp" "$here/forward_decoder_fuzz.cpp"
    "$work/boost_json_src.cpp")
  header=$repo/collector/forward/codec.hpp
  libs=(-lz)
  dict_args=(-dict="$here/forward.dict")
fi
echo "== building $bin with $cxx"
objs=()
for src in "${sources[@]}"; do
  obj=$work/obj/$(basename "$src" .cpp).o
  # Rebuilt when the source, the header or the flags changed.
  stamp=$obj.flags
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$header" -nt "$obj" ] ||
      [ "$(cat "$stamp" 2>/dev/null)" != "$cxx ${flags[*]}" ]; then
    "$cxx" "${flags[@]}" -c "$src" -o "$obj"
    echo "$cxx ${flags[*]}" >"$stamp"
  fi
  objs+=("$obj")
done
"$cxx" "${flags[@]}" "${objs[@]}" "${libs[@]}" -o "$bin"

# A fresh copy of the seeds each run, merged with what earlier runs found in this work dir.
corpus=$work/corpus
mkdir -p "$corpus"
cp -n "$here/corpus/$target/"* "$corpus/"
before=$(find "$corpus" -type f | wc -l)

log=$work/fuzz.log
echo "== fuzzing for ${seconds}s: corpus $corpus ($before files), log $log"
fork_args=()
[ "$jobs" -gt 0 ] && fork_args=(-fork="$jobs" -ignore_crashes=0)
started=$(date +%s)
set +e
# The outer timeout is a backstop only: -max_total_time ends the run.
# shellcheck disable=SC2086  # EXTRA_ARGS is split into words on purpose
timeout --kill-after=30 $((seconds + 120)) "$bin" "$corpus" \
  -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  "${dict_args[@]}" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
  "${fork_args[@]}" ${EXTRA_ARGS:-} >"$log" 2>&1
status=$?
set -e
elapsed=$(($(date +%s) - started))
after=$(find "$corpus" -type f | wc -l)

stat() { awk -v k="$1" '$1 == k":" {print $2}' "$log" | tail -1; }
execs=$(stat stat::number_of_executed_units)
rate=$(stat stat::average_exec_per_sec)
new_units=$(stat stat::new_units_added)
peak=$(stat stat::peak_rss_mb)
grep -aE "^#[0-9]+[[:space:]]+(INITED|DONE)" "$log" | cut -c1-100 | tail -2 || true
echo "== result"
echo "executions: ${execs:-?} in ${elapsed}s (${rate:-?} exec/s), peak RSS ${peak:-?} MB"
echo "new corpus entries: ${new_units:-?} (corpus $before -> $after files)"
artifacts=$(find "$work/artifacts" -type f -newer "$bin" | sort)
if [ "$status" -eq 0 ]; then
  echo "exit status: 0 (no crash)"
else
  echo "exit status: $status (crash, leak or timeout)"
  grep -aE "ERROR: |SUMMARY: |check failed|runtime error" "$log" | head -20 || true
  [ -n "$artifacts" ] && echo "artifacts:" && echo "$artifacts"
  echo "minimize: $bin -minimize_crash=1 -runs=100000 -exact_artifact_path=min.bin ARTIFACT"
  exit 1
fi
