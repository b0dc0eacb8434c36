#!/usr/bin/env bash
# Runs chunklogd next to the machine's ceilings, in one run, on loopback with
# the same connection counts, and prints ratios (chunklogd / peer) so a noisy
# machine does not distort the comparison:
#   - chunk GET vs nginx serving the same bytes as a static file (wrk)
#   - chunk PUT (chunklog-bench put-chunks, unique chunks) vs nginx WebDAV PUT
#     of the same size to unique paths (wrk); nginx does not fsync, so the
#     unsynced chunklogd figure is printed too
#   - `openssl speed` SHA-256 as the hashing ceiling
# The PUT rows use two clients (chunklog-bench for chunklogd, since each
# chunk must hash to its URL; wrk for nginx), both on one loopback thread.
# Usage: bench/compare.sh [SIZE_BYTES] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-4096}
seconds=${2:-5}

scripts/install-deps.sh
missing=()
for p in nginx-light wrk openssl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
scripts/build.sh build >/dev/null

work=$(mktemp -d)
cleanup() {
  [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null || true
  [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# chunklogd on a fresh directory, logging at warn so stderr is not the bottleneck.
build/bin/chunklogd --listen 127.0.0.1:0 --data-dir "$work/db" --log-level warn >"$work/chunklogd.out" 2>/dev/null &
server_pid=$!
for _ in $(seq 50); do grep -q listening "$work/chunklogd.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$work/chunklogd.out")

# nginx: the same bytes as a static file, and WebDAV PUT under /dav/.
mkdir -p "$work/html/dav"
head -c "$size" /dev/urandom >"$work/html/blob"
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/body;
  server {
    listen 127.0.0.1:18480;
    root $work/html;
    location /dav/ { dav_methods PUT; create_full_put_path on; client_max_body_size 64m; }
  }
}
CONF
nginx -c "$work/nginx.conf"

user=$(cat /proc/sys/kernel/random/uuid)
chunk=$(sha256sum "$work/html/blob" | cut -d' ' -f1)
curl -sf -X PUT --data-binary @"$work/html/blob" "http://127.0.0.1:$port/0.1/$user/chunks/$chunk" >/dev/null

wrk_rate() {  # URL CONNECTIONS [LUA]
  local script=()
  [[ -n ${3:-} ]] && script=(-s "$3")
  wrk -t1 -c"$2" -d"${seconds}s" "${script[@]}" "$1" | awk '/Requests\/sec/ {print $2}'
}
bench_rate() {  # CONNECTIONS [extra chunklog-bench args...]
  local c=$1; shift
  build/bin/chunklog-bench "$@" --workload put-chunks --connections "$c" --duration "$seconds" --warmup 1 \
    --size "$size" --json | python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["ops_per_second"])'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

cat >"$work/put.lua" <<LUA
local counter = 0
local body = string.rep("x", $size)
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/dav/" .. counter .. "-" .. math.random(1e9), nil, body)
end
LUA

printf '%-34s %6s %12s %12s %7s\n' "comparison (size $size B)" conns chunklogd peer ratio
for c in 1 32; do
  ours=$(wrk_rate "http://127.0.0.1:$port/0.1/$user/chunks/$chunk" "$c")
  theirs=$(wrk_rate "http://127.0.0.1:18480/blob" "$c")
  printf '%-34s %6s %12.0f %12.0f %7s\n' "GET chunk vs nginx static" "$c" "$ours" "$theirs" "$(ratio "$ours" "$theirs")"
done
for c in 1 32; do
  synced=$(bench_rate "$c" --server "http://127.0.0.1:$port")
  theirs=$(wrk_rate "http://127.0.0.1:18480/dav/" "$c" "$work/put.lua")
  printf '%-34s %6s %12.0f %12.0f %7s\n' "PUT chunk (synced) vs nginx DAV" "$c" "$synced" "$theirs" "$(ratio "$synced" "$theirs")"
  unsynced=$(bench_rate "$c" --spawn --server-arg --unsafe-no-sync)
  printf '%-34s %6s %12.0f %12.0f %7s\n' "PUT chunk (no sync) vs nginx DAV" "$c" "$unsynced" "$theirs" "$(ratio "$unsynced" "$theirs")"
done
echo
echo "SHA-256 ceiling (openssl speed, $size-byte blocks):"
openssl speed -evp sha256 -bytes "$size" -seconds 2 2>/dev/null | tail -1
