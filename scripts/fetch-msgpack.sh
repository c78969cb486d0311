#!/usr/bin/env bash
# Fetch msgpack-c++ headers into a project-local folder.
# libmsgpack-cxx-dev cannot be apt-installed (it pulls libboost-dev 1.74, which conflicts with
# libboost1.81-dev), but it is header-only: unpack the .deb instead of installing it.
# Usage: scripts/fetch-msgpack.sh [DEST]   (default /opt/edusight-deps/msgpack-cxx)
set -euo pipefail

dest="${1:-/opt/edusight-deps/msgpack-cxx}"
header="$dest/usr/include/msgpack.hpp"

if [[ -f "$header" ]]; then
  exit 0  # already there
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# apt drops to the _apt user for downloads; it must be able to write here.
chmod 755 "$tmp"
command -v chown >/dev/null && chown _apt "$tmp" 2>/dev/null || true

# A fresh machine may have no package lists yet: update once and try again.
if ! (cd "$tmp" && apt-get download -qq libmsgpack-cxx-dev 2>/dev/null); then
  apt-get update -qq
  if ! (cd "$tmp" && apt-get download -qq libmsgpack-cxx-dev); then
    echo "error: 'apt-get download libmsgpack-cxx-dev' failed (network?)" >&2
    exit 1
  fi
fi

deb=("$tmp"/libmsgpack-cxx-dev_*.deb)
if [[ ! -f "${deb[0]}" ]]; then
  echo "error: apt-get download produced no libmsgpack-cxx-dev .deb" >&2
  exit 1
fi

mkdir -p "$dest"
dpkg-deb -x "${deb[0]}" "$dest"
if [[ ! -f "$header" ]]; then
  echo "error: $header missing after unpacking ${deb[0]}" >&2
  exit 1
fi
echo "msgpack-c++ headers installed: $dest/usr/include (compile with -DMSGPACK_NO_BOOST)"
