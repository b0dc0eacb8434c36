#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running server: installs the
# missing packages, builds in Release, and starts chunklogd on ./data,
# listening on 127.0.0.1:8080 with open registration, so that a newcomer can
# claim a user id and its first token at once (see the README's tour).
# Extra arguments go to chunklogd and replace these defaults (e.g.
# --registration closed, or --listen 0.0.0.0:8443 --tls-cert c.pem --tls-key k.pem).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
defaults=()
[[ " $* " == *" --data-dir"* ]] || defaults+=(--data-dir ./data)
[[ " $* " == *" --registration"* ]] || defaults+=(--registration open)
echo "chunklogd: the admin token is in ./data/admin-token" >&2
exec build/bin/chunklogd "${defaults[@]}" "$@"
