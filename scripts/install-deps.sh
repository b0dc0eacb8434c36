#!/usr/bin/env bash
# Installs the Debian 12 packages chunklog needs to build, test and run,
# skipping any already present. Uses sudo when not run as root.
#   scripts/install-deps.sh          what the build, the tests and the server need
#   scripts/install-deps.sh --clang  also clang-14, its sanitizer runtimes and
#                                    llvm-14 (llvm-symbolizer, for readable
#                                    reports): for scripts/test.sh --tsan and
#                                    scripts/fuzz.sh
#   scripts/install-deps.sh --taskwarrior  also debootstrap, for the Debian sid
#                                    root of the tests against Taskwarrior 3
set -euo pipefail

packages=(
  g++ cmake make pkg-config ca-certificates curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-program-options1.81-dev
  librocksdb-dev libssl-dev doctest-dev zlib1g-dev
  libgoogle-perftools-dev  # tcmalloc_minimal, chunklogd's allocator
  openssl  # the command: tests and the benchmark make throwaway TLS certificates
  # the PostgreSQL store links libpq; the tests start a throwaway cluster
  # with postgresql-15's initdb and pg_ctl (scripts/pg-cluster.sh)
  postgresql-15 libpq-dev
)
[[ ${1:-} == --clang ]] && packages+=(clang-14 libclang-rt-14-dev llvm-14)
[[ ${1:-} == --taskwarrior ]] && packages+=(debootstrap)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
echo "installing: ${missing[*]}"
# Installing postgresql-common makes Debian create (and start) a default
# "main" cluster, which nothing here uses: turn that off first.
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && ! installed postgresql-common; then
  $sudo mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/chunklog.conf >/dev/null
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
