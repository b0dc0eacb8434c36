#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang-14 in build-fuzz/ and
# runs each one for a bounded time; fails on any crash, leak, timeout or
# sanitizer report.
#   scripts/fuzz.sh                      12 s per target, about a minute and a quarter of fuzzing
#   scripts/fuzz.sh SECONDS_PER_TARGET   longer runs
#
# Targets: tests/fuzz/<name>_fuzz.cpp, built as build-fuzz/bin/fuzz_<name>,
# seeds in tests/fuzz/corpus/<name>/, an optional dictionary in
# tests/fuzz/<name>.dict:
#   routes        match_route's hand-written fast path against Boost.URL
#   json_codec    the JSON body decoders (publish, transaction, missing, head)
#   base64        base64_decode against OpenSSL's EVP_DecodeBlock, round trip
#   operations    decode_operations, and its round trip through encode_operations
#   http_request  Beast's request parser with request_body, as the session drives it
#   task_snapshot decode_snapshot against the documented format, and its round trip
#                 through encode_snapshot
#
# The libraries are built with -fsanitize=fuzzer-no-link,address,undefined
# (coverage for the fuzzer, ASan, UBSan; -O1 with Boost's assertions on), the targets
# with -fsanitize=fuzzer,address,undefined; only what the targets need is
# built. Each run uses -detect_leaks=1; a UBSan report aborts.
#
# Each target first replays the inputs saved in tests/fuzz/crashes/<name>-*
# (known crashes: they fail the run until fixed, then guard the fix; a target
# failing there is not fuzzed that run), then fuzzes a scratch copy of its
# seeds in build-fuzz/fuzz-runs/<name>/corpus, so the committed corpora never
# change by themselves. To keep new inputs worth having, merge them in:
#   build-fuzz/bin/fuzz_<name> -merge=1 tests/fuzz/corpus/<name> build-fuzz/fuzz-runs/<name>/corpus
# On a failure, the input is in build-fuzz/fuzz-runs/<name>/artifacts/ and the
# report in build-fuzz/fuzz-runs/<name>/log; to reproduce:
#   build-fuzz/bin/fuzz_<name> build-fuzz/fuzz-runs/<name>/artifacts/crash-...
# A crash that shows a bug in chunklog goes to tests/fuzz/crashes/<name>-<what>.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-12}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2; }
targets=(routes json_codec base64 operations http_request task_snapshot)

scripts/install-deps.sh --clang
# -fno-sanitize=function: clang 14's UBSan function check cannot compile the
# server's coroutines ("Cannot represent a difference across sections",
# llvm/llvm-project#49689).
# BOOST_ENABLE_ASSERT_HANDLER: Boost's assertions abort through
# tests/fuzz/boost_assert.cpp, which skips one known-wrong Beast assertion.
sanitize="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-sanitize-recover=all"
sanitize+=" -fno-omit-frame-pointer -DBOOST_ENABLE_ASSERT_HANDLER"
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCHUNKLOG_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
      -DCMAKE_CXX_FLAGS="$sanitize" >/dev/null
cmake --build build-fuzz --target chunklog_fuzz -j "$(nproc)"

symbolizer=/usr/bin/llvm-symbolizer-14
export ASAN_OPTIONS="detect_leaks=1:external_symbolizer_path=$symbolizer"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:external_symbolizer_path=$symbolizer"

failures=0
for name in "${targets[@]}"; do
  binary=build-fuzz/bin/fuzz_$name
  run=build-fuzz/fuzz-runs/$name
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  cp tests/fuzz/corpus/"$name"/* "$run/corpus/"

  shopt -s nullglob
  known=(tests/fuzz/crashes/"$name"-*)
  shopt -u nullglob
  if ((${#known[@]} > 0)) && ! "$binary" "${known[@]}" >"$run/replay.log" 2>&1; then
    echo "fuzz $name: FAILED replaying tests/fuzz/crashes/$name-* (report: $run/replay.log)"
    grep -E -m 1 -A 12 'ERROR: |runtime error|Assertion|: invariant broken|disagrees' "$run/replay.log" >&2 || tail -n 20 "$run/replay.log" >&2
    failures=$((failures + 1))
    continue
  fi

  dict=()
  [[ -f tests/fuzz/$name.dict ]] && dict=(-dict="tests/fuzz/$name.dict")
  if "$binary" "$run/corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$run/artifacts/" >"$run/log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log")
    coverage=$(grep -E '^#[0-9]+' "$run/log" | tail -n 1 | grep -o -E 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)
    echo "fuzz $name: ok, ${runs:-?} runs in ${seconds} s, ${coverage:-no coverage line}"
  else
    artifact=$(ls "$run"/artifacts/ 2>/dev/null | head -n 1)
    echo "fuzz $name: FAILED, input $run/artifacts/${artifact:-?} (report: $run/log)"
    grep -E -m 1 -A 30 'ERROR: |runtime error|Assertion|: invariant broken|disagrees' "$run/log" >&2 || tail -n 30 "$run/log" >&2
    failures=$((failures + 1))
  fi
done
((failures == 0)) || { echo "fuzz: $failures target(s) failed"; exit 1; }
