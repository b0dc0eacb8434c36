#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running server: installs the
# missing packages, builds in Release, and starts chunklogd on ./data.
# Extra arguments go to chunklogd (e.g. --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
exec build/bin/chunklogd --data-dir ./data "$@"
