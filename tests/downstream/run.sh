#!/usr/bin/env bash
# Installs chunklog from BUILD_DIR into a scratch prefix, then configures,
# builds and runs tests/downstream against it. Usage: run.sh BUILD_DIR WORK_DIR
set -euo pipefail
build_dir=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j 2 >/dev/null
"$work/build/downstream" "$work/replica"
