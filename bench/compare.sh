#!/usr/bin/env bash
# The whole comparison in one run: chunklogd side by side with the machine's
# ceilings and with peers doing the same job, on loopback, printing ratios
# (chunklogd / peer) so a noisy machine does not distort them.
#
#   chunk GET 1 KiB      wrk against chunklogd and nginx (same bytes, static file)
#   chunk PUT 1 KiB      wrk against chunklogd (synced, SHA-256 checked) and
#                        nginx WebDAV (no fsync), unique bodies on both
#   chunk PUT 1 MiB      chunklog-bench, against `openssl speed` SHA-256 on one core
#   synced writes        chunklog PUT vs raw RocksDB synced puts (disk ceiling)
#   publish              POST publish vs PouchDB Server _bulk_docs (1 and 100 docs)
#   pull 5,000           GET log vs the prototype's way vs PouchDB _changes
#   long poll            10,000 waiters woken by one advance
#
# Installs what it needs (nginx, wrk, Node.js and npm from Debian; the npm
# package pouchdb-server into ~/.cache/chunklog-bench; when npm cannot reach
# its registry the PouchDB rows are skipped with the reason). Needs about 5
# minutes.
# Usage: bench/compare.sh [SECONDS_PER_ROW]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
conns=64
bench=build/bin/chunklog-bench

install_peers() {
  scripts/install-deps.sh
  local missing=() sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  for p in nginx-light wrk openssl python3 nodejs npm; do
    command -v "${p%-light}" >/dev/null 2>&1 || dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  pouch_dir=${XDG_CACHE_HOME:-$HOME/.cache}/chunklog-bench/pouchdb
  if [[ ! -x $pouch_dir/node_modules/.bin/pouchdb-server ]]; then
    mkdir -p "$pouch_dir"
    if ! (cd "$pouch_dir" && npm install --no-audit --no-fund pouchdb-server@4.2.0 >"$pouch_dir/npm.log" 2>&1); then
      echo "compare.sh: npm could not install pouchdb-server ($(grep -m1 'ERR!' "$pouch_dir/npm.log" || true));" \
        "the PouchDB rows are skipped. Full log: $pouch_dir/npm.log" >&2
      pouch_dir=""
    fi
  fi
  scripts/build.sh build >/dev/null
}

wait_for_port() {  # PORT
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  exit 1
}

start_servers() {
  work=$(mktemp -d)
  build/bin/chunklogd --listen 127.0.0.1:18470 --data-dir "$work/chunklog" --log-level warn \
    --max-connections 20000 >/dev/null 2>&1 &
  pids+=($!)
  mkdir -p "$work/html/dav" "$work/pouch"
  head -c 1024 /dev/urandom >"$work/html/blob"
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
  if have_pouch; then
    (cd "$work/pouch" && exec "$pouch_dir/node_modules/.bin/pouchdb-server" --port 18490 --dir "$work/pouch" -n \
      >/dev/null 2>&1) &
    pids+=($!)
    wait_for_port 18490
  fi
  wait_for_port 18470
  wait_for_port 18480
}

have_pouch() { [[ -n $pouch_dir ]]; }

cleanup() {
  for pid in "${pids[@]:-}"; do [[ -n $pid ]] && kill "$pid" 2>/dev/null || true; done
  pkill -f "pouchdb-server --port 18490" 2>/dev/null || true
  [[ -f ${work:-}/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  [[ -n ${work:-} ]] && rm -rf "$work"
}

wrk_rate() {  # URL CONNECTIONS [LUA_SCRIPT]
  local script=()
  [[ -n ${3:-} ]] && script=(-s "$3")
  wrk -t1 -c"$2" -d"${seconds}s" "${script[@]}" "$1" | awk '/Requests\/sec/ {print $2}'
}

bench_json() {  # FIELD chunklog-bench args...: one field of the JSON line
  local field=$1; shift
  "$bench" "$@" --json | python3 -c "import json, sys; print(json.loads(sys.stdin.readline())$field)"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

row() {  # NAME CONNS OURS THEIRS [UNIT]
  printf '%-44s %6s %12.0f %12.0f %7s  %s\n' "$1" "$2" "$3" "$4" "$(ratio "$3" "$4")" "${5:-}"
}

pouch_skipped() {  # NAME CONNS
  printf '%-44s %6s  skipped: PouchDB Server is not installed\n' "$1" "$2"
}

# wrk PUT scripts: unique 1 KiB bodies "%08d" + padding, numbered from $FIRST;
# for chunklogd the path is each body's SHA-256, computed here in advance.
# chunklog-bench rows start their own chunklogd (--spawn) on a fresh directory.
make_put_scripts() {
  python3 - "$work" 400000 <<'PY'
import hashlib, sys
work, n = sys.argv[1], int(sys.argv[2])
pad = "x" * (1024 - 8)
with open(f"{work}/ids.txt", "w") as out:
    for i in range(n):
        out.write(hashlib.sha256((f"{i:08d}" + pad).encode()).hexdigest() + "\n")
PY
  cat >"$work/put-chunklog.lua" <<LUA
local ids, n = {}, 0
local i = tonumber(os.getenv("FIRST") or "0")
for line in io.lines("$work/ids.txt") do n = n + 1; ids[n] = line end
local pad = string.rep("x", 1024 - 8)
request = function()
  local body = string.format("%08d", i) .. pad
  local path = "/0.1/$user/chunks/" .. ids[i + 1]
  i = (i + 1) % n
  return wrk.format("PUT", path, {["Content-Type"] = "application/octet-stream"}, body)
end
LUA
  cat >"$work/put-nginx.lua" <<LUA
local i = tonumber(os.getenv("FIRST") or "0")
local pad = string.rep("x", 1024 - 8)
request = function()
  local body = string.format("%08d", i) .. pad
  i = i + 1
  return wrk.format("PUT", "/dav/" .. i, nil, body)
end
LUA
}

pids=()
trap cleanup EXIT
install_peers
start_servers
chunklogd=http://127.0.0.1:18470
pouch=http://127.0.0.1:18490
user=$(cat /proc/sys/kernel/random/uuid)
chunk=$(sha256sum "$work/html/blob" | cut -d' ' -f1)
curl -sf -X PUT --data-binary @"$work/html/blob" "$chunklogd/0.1/$user/chunks/$chunk" >/dev/null
make_put_scripts

echo "$(build/bin/chunklogd --version), $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB," \
  "$(date -u +%Y-%m-%d), ${seconds}s per row"
printf '%-44s %6s %12s %12s %7s\n' "comparison" conns chunklogd peer ratio

for c in 1 $conns; do
  row "GET 1 KiB chunk / nginx static file" "$c" \
    "$(wrk_rate "$chunklogd/0.1/$user/chunks/$chunk" "$c")" "$(wrk_rate http://127.0.0.1:18480/blob "$c")" "req/s"
done
first=0
for c in 1 $conns; do  # each run starts on bodies no earlier run sent
  export FIRST=$first
  row "PUT 1 KiB chunk, synced / nginx WebDAV PUT" "$c" \
    "$(wrk_rate "$chunklogd" "$c" "$work/put-chunklog.lua")" "$(wrk_rate http://127.0.0.1:18480/ "$c" "$work/put-nginx.lua")" "req/s"
  first=200000
done
for c in 1 $conns; do
  row "chunk PUT 1 KiB, synced / RocksDB synced put" "$c" \
    "$(bench_json '["ops_per_second"]' --spawn --workload put-chunks --size 1024 --connections "$c" --duration "$seconds")" \
    "$(bench_json '["ops_per_second"]' --workload rocksdb-sync --size 1024 --connections "$c" --duration "$seconds")" "ops/s"
done

sha_speed=$(openssl speed -evp sha256 -bytes 1048576 -seconds 2 2>/dev/null | tail -1 | awk '{print $NF}' | tr -d k)
sha_mb=$(awk -v k="$sha_speed" 'BEGIN { printf "%.0f", k * 1000 / 1e6 }')
put_1m=$("$bench" --spawn --workload put-chunks --size 1048576 --connections 4 --duration "$seconds" --json)
field() { python3 -c "import json, sys; print(json.loads(sys.stdin.readline())$1)"; }
row "PUT 1 MiB chunks MB/s / SHA-256 MB/s, 1 core" 4 "$(field '["mb_per_second"]' <<<"$put_1m")" "$sha_mb" "MB/s"
row "PUT 1 MiB chunks MB/s / RocksDB synced 1 MiB puts" 4 "$(field '["mb_per_second"]' <<<"$put_1m")" \
  "$(bench_json '["mb_per_second"]' --workload rocksdb-sync --size 1048576 --connections 4 --duration "$seconds")" "MB/s"
echo "  chunklogd RSS before and after that load: $(field '["server_rss_kib"]' <<<"$put_1m") KiB"

publish_64=$(bench_json '["items_per_second"]' --spawn --workload publish --users $conns --connections $conns --size 1024 \
  --duration "$seconds")
if have_pouch; then
  row "publish 1 op / PouchDB _bulk_docs 1 doc" $conns "$publish_64" \
    "$(bench_json '["items_per_second"]' --server "$pouch" --workload pouch-bulk-docs --connections $conns --size 1024 \
      --duration "$seconds")" "docs/s"
  row "publish 100 ops / PouchDB _bulk_docs 100 docs" 8 \
    "$(bench_json '["items_per_second"]' --spawn --workload publish --batch 100 --users 8 --connections 8 --size 1024 \
      --duration "$seconds")" \
    "$(bench_json '["items_per_second"]' --server "$pouch" --workload pouch-bulk-docs --batch 100 --connections 8 \
      --size 1024 --duration "$seconds")" "docs/s"
else
  pouch_skipped "publish 1 op / PouchDB _bulk_docs 1 doc" $conns
  pouch_skipped "publish 100 ops / PouchDB _bulk_docs 100 docs" 8
fi
row "publish across 64 users / RocksDB synced put" $conns "$publish_64" \
  "$(bench_json '["ops_per_second"]' --workload rocksdb-sync --size 1024 --connections $conns --duration "$seconds")" "advances/s"
echo "  one user, 16 racing clients (HEAD advances/s, errors, 409s answered with HEAD and retried):"
"$bench" --spawn --workload publish --users 1 --connections 16 --size 1024 --duration "$seconds" | tail -n +2

pulls=$("$bench" --spawn --workload pull --count 5000 --size 1024 --json)
prototype=$(echo "$pulls" | python3 -c 'import json, sys; print([json.loads(l) for l in sys.stdin][0]["seconds"])')
log_page=$(echo "$pulls" | python3 -c 'import json, sys; print([json.loads(l) for l in sys.stdin][2]["seconds"])')
row "pull 5,000: GET log / prototype (tx/s)" 1 "$(ratio 5000 "$log_page")" "$(ratio 5000 "$prototype")" "tx/s"
if have_pouch; then
  pouch_pull=$(bench_json '["seconds"]' --server "$pouch" --workload pouch-pull --count 5000 --size 1024)
  row "pull 5,000: GET log / PouchDB _changes (tx/s)" 1 "$(ratio 5000 "$log_page")" "$(ratio 5000 "$pouch_pull")" "tx/s"
else
  pouch_skipped "pull 5,000: GET log / PouchDB _changes (tx/s)" 1
fi

echo "long poll, 10,000 waiters on one user, one advance:"
"$bench" --spawn --server-arg --max-connections --server-arg 20000 --workload longpoll --connections 10000
