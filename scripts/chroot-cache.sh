#!/usr/bin/env bash
# Makes the clean Debian 12 root that the integration.packages test installs the .debs into:
# debootstrap --variant=minbase bookworm with the runtime libraries the packages depend on
# (packaging/chroot-packages.txt), packed as $EDUSIGHT_CHROOT_CACHE (default
# /var/cache/edusight/bookworm-minbase.tar.zst). The test never downloads; this script,
# run by scripts/setup.sh, is where the download happens. Idempotent: nothing is done when
# the archive exists and was made from the same package list. Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cache=${EDUSIGHT_CHROOT_CACHE:-/var/cache/edusight/bookworm-minbase.tar.zst}
stamp=${cache%.tar.zst}.packages
list="$root/packaging/chroot-packages.txt"

want=$(grep -v '^[[:space:]]*\(#\|$\)' "$list" | tr -d ' \t' | sort -u | paste -sd, -)
if [ -f "$cache" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "chroot-cache: $cache is up to date" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chroot-cache: $cache is missing or stale; run as root to make it" >&2
  exit 1
fi

# The host's own Debian mirror (deb822 sources first, then the one-line format).
mirror=
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  mirror=$(awk '/^URIs:/ {uri=$2} /^Suites:/ && / bookworm( |$)/ && uri {print uri; exit}' "$f")
  [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}

mkdir -p "$(dirname "$cache")"
work=$(mktemp -d "$(dirname "$cache")/bootstrap.XXXXXX")
# debootstrap mounts /proc and /sys in the new root: never delete through a mount point.
cleanup() {
  local m
  for m in $(findmnt -rn -o TARGET | grep -F "$work/" | sort -r); do umount -l "$m" || true; done
  if findmnt -rn -o TARGET | grep -qF "$work/"; then
    echo "chroot-cache: $work still has mounts; not deleting it" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
echo "chroot-cache: debootstrap minbase bookworm from $mirror with $want" >&2
start=$(date +%s)
debootstrap --variant=minbase --include="$want" bookworm "$work/root" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  echo "chroot-cache: debootstrap failed" >&2
  exit 1
}
# The downloaded .debs and package lists are not needed in the test's root.
rm -f "$work/root"/var/cache/apt/archives/*.deb "$work/root"/var/lib/apt/lists/*_Packages
tar -C "$work/root" --numeric-owner --zstd -cpf "$cache.new" .
mv "$cache.new" "$cache"
printf '%s\n' "$want" >"$stamp"
echo "chroot-cache: made $cache ($(du -h "$cache" | cut -f1)) in $(($(date +%s) - start)) s" >&2
