#!/usr/bin/env bash
# Makes, once, a Debian sid root holding Taskwarrior 3 (bookworm has only
# Taskwarrior 2.6) for the tests against the real client, and prints its
# path. The tests run `task` in it with chroot: the root shares the
# machine's network, so it reaches a chunklogd on 127.0.0.1.
#   scripts/taskwarrior-root.sh
# Cached in $CHUNKLOG_TW_ROOT (default ~/.cache/chunklog/sid-taskwarrior);
# about 250 MB and a few minutes the first time. Exit status 3 when the
# Debian mirror ($CHUNKLOG_DEBIAN_MIRROR) cannot be reached and 4 when not
# run as root (debootstrap and chroot need it): callers skip the tests
# then, saying why. Any other failure is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${CHUNKLOG_TW_ROOT:-$HOME/.cache/chunklog/sid-taskwarrior}
mirror=${CHUNKLOG_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [[ -x $root/usr/bin/task ]]; then
  echo "$root"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "taskwarrior-root: making and entering a sid root needs root (debootstrap, chroot)" >&2
  exit 4
fi
scripts/install-deps.sh --taskwarrior >&2
if ! curl -fsS -o /dev/null --max-time 30 "$mirror/dists/sid/InRelease"; then
  echo "taskwarrior-root: the Debian mirror $mirror cannot be reached" >&2
  exit 3
fi
echo "taskwarrior-root: making a Debian sid root with Taskwarrior 3 in $root (once)" >&2
rm -rf "$root.partial"
mkdir -p "$(dirname "$root")"
log=$(mktemp)
if ! debootstrap --variant=minbase --include=taskwarrior,ca-certificates sid "$root.partial" "$mirror" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "taskwarrior-root: debootstrap failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
chroot "$root.partial" task --version >/dev/null
mv "$root.partial" "$root"
echo "$root"
