#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a full test run: installs the
# missing packages, builds, and runs every test through CTest.
#   scripts/test.sh             Release build in build/
#   scripts/test.sh --sanitize  AddressSanitizer + UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [[ ${1:-} == --sanitize ]]; then
  scripts/build.sh build-asan -DCHUNKLOG_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
  ctest --test-dir build-asan --output-on-failure -j 2 --timeout 300
else
  scripts/build.sh build
  ctest --test-dir build --output-on-failure -j 2 --timeout 300
fi
