#!/usr/bin/env bash
# Installs every Debian package that edusight's build, tests, demonstration and benchmarks
# need. Idempotent: a second run installs nothing and takes a few seconds.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-format git
  # libraries (one per job)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libcurl4-openssl-dev libldns-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libpsl-dev libyaml-cpp-dev libcli11-dev libgumbo-dev
  libsqlite3-dev libssl-dev zlib1g-dev libpcap-dev
  # the PostgreSQL store: libpq, and a server the tests start in a temporary directory
  postgresql libpq-dev
  # the namespace test bed and demonstration campus
  iproute2 nsd unbound nginx-light openssl dnsutils curl procps python3 tcpdump sqlite3
  # generated captures for the passive-monitoring tests; a syslog receiver for the alert tests
  python3-scapy rsyslog
  # outside Forward clients for the interoperability test, the dashboard's build and its
  # browser tests (npm packages, from the lockfiles); headless Chromium with a CJK font
  nodejs chromium fonts-wqy-microhei
  # benchmark peers
  dnsperf nmap tshark time
  # the Debian packages: their checks (lintian, systemd-analyze for the units) and the clean
  # Debian 12 root they are installed into by the packages test (scripts/chroot-cache.sh)
  lintian systemd debootstrap zstd file
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

# npm packages the tests and the dashboard use, exactly as the lockfiles say (npm ci), once;
# then the dashboard is built (dashboards/web/dist, served by the collector) when it is
# missing or older than its sources or lockfile.
node_deps() {
  local dir
  for dir in "$root/tests/interop" "$root/dashboards/web" "$root/tests/browser"; do
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
      echo "setup: npm ci in ${dir#"$root"/}" >&2
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) && touch "$dir/node_modules"
    fi
  done
  local web="$root/dashboards/web"
  if [ ! -f "$web/dist/index.html" ] ||
    [ -n "$(find "$web/src" "$web/index.html" "$web/build.mjs" "$web/package-lock.json" \
      -newer "$web/dist/index.html" -print -quit)" ]; then
    echo "setup: building the dashboard (dashboards/web/dist)" >&2
    (cd "$web" && npm run --silent build >&2)
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present" >&2
  # msgpack-c++ is unpacked from its Debian package rather than installed (see the script).
  [ "$(id -u)" -ne 0 ] || "$here/fetch-msgpack.sh" >&2
  node_deps
  # The packages test's Debian root, made once (the test itself downloads nothing).
  [ "$(id -u)" -ne 0 ] || "$here/chroot-cache.sh"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# The test bed starts its own nsd, unbound and nginx inside network namespaces; keep the
# packages from starting system-wide copies on install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Stop any copy that started anyway (systemd-less hosts ignore policy-rc.d for some units).
for svc in nginx nsd unbound; do
  pkill -x "$svc" 2>/dev/null || true
done
# postgresql-common creates a "main" cluster on install; the tests run their own servers, so
# stop that one should it have started (by its cluster, not by process name).
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters --no-header 2>/dev/null | while read -r ver name _ status _; do
    [ "$status" = online ] && pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
  done
fi
"$here/fetch-msgpack.sh" >&2
node_deps
"$here/chroot-cache.sh"
echo "setup: done" >&2
