#!/usr/bin/env bash
# Checks the README's layering rules on the source tree: which folder may
# include which, and that Asio and Beast appear on the server only in
# api/server. Prints every violation; exits 1 if there is any.
# Usage: check.sh SOURCE_DIR
set -uo pipefail
cd "$1"
failures=0

# allowed FOLDER REGEX: every quoted or chunklog include in FOLDER's own
# files (not its subfolders listed separately) must match REGEX.
allowed() {
  local folder=$1 pattern=$2 depth=${3:-}
  local files
  files=$(find "$folder" $depth -name '*.hpp' -o $depth -name '*.cpp' -o $depth -name '*.hpp.in' | sort)
  [[ -z $files ]] && return
  while IFS= read -r line; do
    local target=${line#*#include }
    if [[ ! $target =~ $pattern ]]; then
      echo "layering: ${line%%:#include*} includes $target"
      failures=$((failures + 1))
    fi
  done < <(grep -Hn -E '#include ("|<chunklog/)' $files | grep -v -E '#include <(boost|rocksdb|openssl|doctest|sys|arpa|netinet)/' \
           | sed -E 's/^([^:]+):[0-9]+:/\1:/')
}

# no_asio FOLDER...: no Asio or Beast header in these folders' own files.
no_asio() {
  for folder in "$@"; do
    local hits
    hits=$(grep -rln -E '#include <boost/(asio|beast)' "$folder" --include='*.hpp' --include='*.cpp' | grep -v '^api/server/' || true)
    if [[ -n $hits ]]; then
      echo "layering: Asio/Beast outside api/server: $hits"
      failures=$((failures + 1))
    fi
  done
}

public='<chunklog/[a-z0-9_]+\.hpp>'
tasks='<chunklog/tasks/[a-z_]+\.hpp>'
storage_public='<chunklog/storage/(log_store|log_cursor|maintenance)\.hpp>'

allowed include/chunklog "^$public$" "-maxdepth 1"
allowed include/chunklog/tasks "^($public|$tasks)$"
allowed storage "^($public|$storage_public|\"storage/((rocksdb|postgresql)/)?[a-z_]+\.hpp\")$" "-maxdepth 1"
allowed storage/include "^($public|$storage_public)$"
allowed storage/rocksdb "^($public|$storage_public|\"storage/(rocksdb/)?[a-z_]+\.hpp\")$"
allowed storage/postgresql "^($public|$storage_public|\"storage/(postgresql/)?[a-z_]+\.hpp\")$"
allowed api "^($public|$storage_public|\"api/[a-z_]+\.hpp\")$" "-maxdepth 1"
allowed api/server "^($public|$storage_public|\"api/[a-z_]+\.hpp\"|\"api/server/[a-z_]+\.hpp\")$"
allowed src/core "^$public$"
allowed src/client "^($public|\"client/[a-z_]+\.hpp\")$"
allowed src/tasks "^($public|$tasks|\"tasks/[a-z_]+\.hpp\")$"
allowed src/cli "^($public|$tasks|\"cli/[a-z_]+\.hpp\")$"
allowed src/chunklogd "^($public|$storage_public|\"api/[a-z_]+\.hpp\"|\"api/server/[a-z_]+\.hpp\"|\"chunklogd/[a-z_]+\.hpp\")$"
allowed bench "^($public|$tasks|\"bench/[a-z_/]+\.hpp\")$"
no_asio include storage api src/core src/tasks src/cli src/chunklogd

# CTest splits a test name at ';' (doctest_discover_tests registers each
# doctest case by name), and the pieces then match no test and pass empty.
if grep -rnE 'TEST_CASE[A-Z_]*\(.*"[^"]*;[^"]*"' tests --include='*.cpp'; then
  echo "a doctest test name holds ';' (above): CTest would run none of it"
  failures=$((failures + 1))
fi

if ((failures > 0)); then
  echo "layering: $failures violation(s)"
  exit 1
fi
echo "layering: ok"
