#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a full test run: installs the
# missing packages, builds, and runs every test through CTest.
#   scripts/test.sh             Release build in build/
#   scripts/test.sh --sanitize  AddressSanitizer + UBSan build in build-asan/
#   scripts/test.sh --tsan      ThreadSanitizer build (clang-14) in build-tsan/
#
# --tsan: the tests, and the chunklogd processes the end-to-end tests start,
# all run instrumented with tests/tsan.supp (which only silences races inside
# Debian's uninstrumented librocksdb) and halt_on_error, so a report fails its
# test. Reports are also written to build-tsan/tsan-reports/ (chunklogd's
# stderr goes to a log in a temporary directory), and any file there fails
# the run after CTest, printed in full.
#
# The tests of the PostgreSQL store use a throwaway cluster that this script
# starts and removes (scripts/pg-cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --tsan ]]; then scripts/install-deps.sh --clang; else scripts/install-deps.sh; fi

# The tests against the real Taskwarrior 3 run it in a Debian sid root, made
# once and cached; they are skipped, loudly, only when it cannot be made for
# want of the Debian mirror or of root.
tw_status=0
tw_root=$(scripts/taskwarrior-root.sh) || tw_status=$?
case $tw_status in
0) export CHUNKLOG_TW_ROOT=$tw_root ;;
3 | 4) echo "WARNING: no Taskwarrior 3 root (see above): the tests against the real Taskwarrior will be SKIPPED" >&2 ;;
*) exit "$tw_status" ;;
esac

# Starts the throwaway PostgreSQL cluster for the tests, removed on exit
# whatever the outcome, and passes its connection string in
# CHUNKLOG_TEST_POSTGRES.
start_postgres() {
  pg_dir=$(mktemp -d)
  trap 'scripts/pg-cluster.sh stop "$pg_dir"' EXIT
  CHUNKLOG_TEST_POSTGRES=$(scripts/pg-cluster.sh start "$pg_dir")
  export CHUNKLOG_TEST_POSTGRES
}

# The sanitizer builds compile at -O1 with line tables only (-g1): what
# their reports need, in about a third of -O2 -g's compile time on the Beast
# translation units (http_session.cpp under ASan: 75 s against 213 s).
sanitizer_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")

case ${1:-} in
--sanitize)
  scripts/build.sh build-asan -DCHUNKLOG_SANITIZE=ON "${sanitizer_flags[@]}"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
  start_postgres
  ctest --test-dir build-asan --output-on-failure -j 2 --timeout 300
  ;;
--tsan)
  scripts/build.sh build-tsan -DCMAKE_CXX_COMPILER=clang++-14 -DCHUNKLOG_TSAN=ON "${sanitizer_flags[@]}"
  reports=$PWD/build-tsan/tsan-reports
  rm -rf "$reports"
  mkdir -p "$reports"
  # detect_deadlocks=0: TSan's lock-order checker tracks at most 64 locks held
  # by one thread and aborts past that, while a store batch (a GC pass, a large
  # publish) holds up to 256 key stripes, always taken in slot order.
  export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 detect_deadlocks=0 log_path=$reports/tsan external_symbolizer_path=/usr/bin/llvm-symbolizer-14"
  start_postgres
  status=0
  ctest --test-dir build-tsan --output-on-failure -j 2 --timeout 600 || status=$?
  if compgen -G "$reports/tsan.*" >/dev/null; then
    for report in "$reports"/tsan.*; do
      echo "=== ThreadSanitizer report $report"
      cat "$report"
    done
    echo "ThreadSanitizer: $(ls "$reports" | wc -l) process(es) reported; see above"
    exit 1
  fi
  exit "$status"
  ;;
"")
  scripts/build.sh build
  start_postgres
  ctest --test-dir build --output-on-failure -j 2 --timeout 300
  ;;
*)
  echo "usage: scripts/test.sh [--sanitize | --tsan]" >&2
  exit 2
  ;;
esac
