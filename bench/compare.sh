#!/usr/bin/env bash
# The whole comparison in one run: chunklogd side by side with the machine's
# ceilings and with peers doing the same job, on loopback, printing ratios
# (chunklogd / peer) so a noisy machine does not distort them.
#
#   chunk GET 1 KiB      wrk against chunklogd and nginx (same bytes, static file,
#                        open_file_cache and sendfile on); again with one worker
#                        each (chunklogd --threads 1, nginx worker_processes 1),
#                        so the load generator has the other core to itself
#   chunk PUT 1 KiB      wrk against chunklogd (synced, SHA-256 checked) and
#                        nginx WebDAV (no fsync), unique bodies on both
#   token checking       chunk GET with a user's own token / chunklogd --auth none,
#                        alternating runs, the median of each
#   HTTPS                chunk GET (alternating, medians) and synced PUT over HTTPS /
#                        nginx over HTTPS, same self-signed certificate (P-256),
#                        same wrk; chunklog-bench GET over HTTPS / over HTTP
#   chunk PUT 1 MiB      chunklog-bench, against `openssl speed` SHA-256 on one core
#   synced writes        chunklog PUT vs raw RocksDB synced puts (disk ceiling)
#   publish              POST publish vs PouchDB Server _bulk_docs (1 and 100 docs)
#   pull 5,000           GET log vs the prototype's way vs PouchDB _changes
#   long poll            10,000 waiters woken by one advance, and the same burst
#                        with no server (one send per socket: the loopback ceiling)
#   wide-area pulls      pull 5,000 (GET log, the prototype's way, PouchDB _changes)
#                        and a Taskwarrior sync of 1,000 versions (one get-child-version
#                        per version, one GET log pass) across a 20 ms round trip
#   PostgreSQL store     publish, chunk PUT and GET 1 KiB at 64 connections on
#                        RocksDB, PostgreSQL with one node and with two nodes,
#                        next to pgbench's one-row update (and one-row read)
#                        transaction on the same throwaway cluster; the CPU
#                        split (nodes, postgres, load generator) and
#                        pg_stat_activity's waits during every row
#
# chunklogd runs in its default token mode: wrk sends a user token made with
# the admin token, chunklog-bench rows (--spawn) make their own per-user tokens.
#
# Installs what it needs (nginx, wrk, Node.js and npm from Debian; the npm
# package pouchdb-server into ~/.cache/chunklog-bench; when npm cannot reach
# its registry the PouchDB rows are skipped with the reason). Needs about 9
# minutes.
# Usage: bench/compare.sh [SECONDS_PER_ROW]
#   CHUNKLOG_BUILD_DIR  build directory to build and use (default build)
#   ROUNDS              alternating runs per side of the token and HTTPS GET rows (default 3)
#   NO_BUILD            set: run the binaries already in the build directory, unbuilt
#   ONLY                "new": only the token and HTTPS rows; "postgresql": only the
#                       PostgreSQL store rows (needs PostgreSQL 15's server package,
#                       installed when missing; about 1.5 minutes at 5 s per row);
#                       "wan": only the wide-area rows (about 5 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
conns=64
build_dir=${CHUNKLOG_BUILD_DIR:-build}
bench=$build_dir/bin/chunklog-bench
chunklogd_bin=$build_dir/bin/chunklogd
rounds=${ROUNDS:-3}
only=${ONLY:-all}

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
  build
}

# Only what the comparison runs: a failing test elsewhere must not stop it.
build() {
  [[ -n ${NO_BUILD:-} ]] && return 0
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build_dir" -j "$(nproc)" --target chunklogd chunklog-bench >/dev/null
}

wait_for_port() {  # PORT
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  exit 1
}

# nginx serving $work/html as static files at its best (open_file_cache,
# sendfile) and WebDAV PUT under /dav/: WORKERS processes, NAME.pid, HTTP on
# PORT and, when given, HTTPS on TLS_PORT.
nginx_conf() {  # WORKERS NAME PORT [TLS_PORT]
  # Run by root, nginx's workers would be nobody, who may not enter $work (0700).
  [[ $(id -u) -eq 0 ]] && echo "user root root;"
  local dav="location /dav/ { dav_methods PUT; create_full_put_path on; client_max_body_size 64m; }"
  cat <<CONF
worker_processes $1;
pid $work/$2.pid;
error_log $work/$2-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  open_file_cache max=1000 inactive=60s;
  sendfile on;
  client_body_temp_path $work/$2-body;
  server { listen 127.0.0.1:$3; root $work/html; $dav }
CONF
  [[ -n ${4:-} ]] && cat <<CONF
  server {
    listen 127.0.0.1:$4 ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $work/html;
    $dav
  }
CONF
  echo "}"
}

# Four chunklogd: token mode over HTTP (18470), --auth none (18472), token
# mode over HTTPS (18471) and token mode with one I/O thread (18473); nginx
# over HTTP (18480) and HTTPS (18481), and with one worker (18482).
start_servers() {
  work=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 -subj /CN=chunklog-compare \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
  local common=(--log-level warn --max-connections 20000)
  "$chunklogd_bin" --listen 127.0.0.1:18470 --data-dir "$work/chunklog" "${common[@]}" >/dev/null 2>&1 &
  chunklogd_pid=$!
  "$chunklogd_bin" --listen 127.0.0.1:18472 --data-dir "$work/chunklog-noauth" --auth none "${common[@]}" \
    >/dev/null 2>&1 &
  noauth_pid=$!
  "$chunklogd_bin" --listen 127.0.0.1:18471 --data-dir "$work/chunklog-tls" --tls-cert "$work/cert.pem" \
    --tls-key "$work/key.pem" "${common[@]}" >/dev/null 2>&1 &
  tls_pid=$!
  "$chunklogd_bin" --listen 127.0.0.1:18473 --data-dir "$work/chunklog-1t" --threads 1 "${common[@]}" \
    >/dev/null 2>&1 &
  one_thread_pid=$!
  pids+=("$chunklogd_pid" "$noauth_pid" "$tls_pid" "$one_thread_pid")
  mkdir -p "$work/html/dav" "$work/pouch"
  head -c 1024 /dev/urandom >"$work/html/blob"
  nginx_conf 2 nginx 18480 18481 >"$work/nginx.conf"
  nginx_conf 1 nginx-1w 18482 >"$work/nginx-1w.conf"
  nginx -c "$work/nginx.conf"
  nginx -c "$work/nginx-1w.conf"
  if have_pouch; then
    (cd "$work/pouch" && exec "$pouch_dir/node_modules/.bin/pouchdb-server" --port 18490 --dir "$work/pouch" -n \
      >/dev/null 2>&1) &
    pids+=($!)
    pouch_started=1
    wait_for_port 18490
  fi
  for port in 18470 18471 18472 18473 18480 18481 18482; do wait_for_port $port; done
}

have_pouch() { [[ -n $pouch_dir ]]; }

cleanup() {
  for pid in "${pids[@]:-}"; do [[ -n $pid ]] && kill "$pid" 2>/dev/null || true; done
  [[ -n ${pouch_started:-} ]] && { pkill -f "pouchdb-server --port 18490" 2>/dev/null || true; }
  # The PostgreSQL rows' cluster: the bench's nodes die with the bench (killed above).
  if [[ -n ${pg_dir:-} ]]; then
    for pid in "${pids[@]:-}"; do [[ -n $pid ]] && timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || true; done
    scripts/pg-cluster.sh stop "$pg_dir" >/dev/null 2>&1 || true
  fi
  [[ -n ${pg_work:-} ]] && rm -rf "$pg_work"
  for pid_file in "${work:-}"/nginx.pid "${work:-}"/nginx-1w.pid; do
    [[ -f $pid_file ]] && kill "$(cat "$pid_file")" 2>/dev/null || true
  done
  [[ -n ${work:-} ]] && rm -rf "$work"
}

wrk_rate() {  # URL CONNECTIONS [LUA_SCRIPT] [TOKEN]: requests/s; the token as a bearer header
  local args=()
  [[ -n ${3:-} ]] && args+=(-s "$3")
  [[ -n ${4:-} ]] && args+=(-H "Authorization: Bearer $4")
  local out
  out=$(TOKEN=${4:-} wrk -t1 -c"$2" -d"${seconds}s" "${args[@]}" "$1")
  if grep -q "Non-2xx" <<<"$out"; then  # a rate of error answers compares nothing
    echo "compare.sh: wrk $1 ($2 connections) got error answers: $(grep Non-2xx <<<"$out" | tr -s ' ')" >&2
  fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

cpu_ticks() {  # PID...: user + system CPU time of these processes (all threads), in clock ticks
  local total=0 pid fields
  for pid in "$@"; do
    read -ra fields <"/proc/$pid/stat"
    total=$((total + fields[13] + fields[14]))
  done
  echo $total
}

# alternate CONNS URL_A TOKEN_A "PIDS_A" URL_B TOKEN_B "PIDS_B": $rounds GET
# runs of each, A then B, into the arrays runs_a and runs_b; cpu_a and cpu_b
# are the servers' CPU microseconds per request over all runs (less
# sensitive to other load on the machine than the rates).
alternate() {
  runs_a=() runs_b=()
  local ticks_a=0 ticks_b=0 requests_a=0 requests_b=0 before rate hz
  hz=$(getconf CLK_TCK)
  for _ in $(seq "$rounds"); do
    before=$(cpu_ticks $4)
    rate=$(wrk_rate "$2" "$1" "" "$3")
    ticks_a=$((ticks_a + $(cpu_ticks $4) - before))
    requests_a=$(awk -v r="$rate" -v a="$requests_a" -v s="$seconds" 'BEGIN { printf "%.0f", a + r * s }')
    runs_a+=("$rate")
    before=$(cpu_ticks $7)
    rate=$(wrk_rate "$5" "$1" "" "$6")
    ticks_b=$((ticks_b + $(cpu_ticks $7) - before))
    requests_b=$(awk -v r="$rate" -v b="$requests_b" -v s="$seconds" 'BEGIN { printf "%.0f", b + r * s }')
    runs_b+=("$rate")
  done
  cpu_a=$(awk -v t="$ticks_a" -v n="$requests_a" -v hz="$hz" 'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
  cpu_b=$(awk -v t="$ticks_b" -v n="$requests_b" -v hz="$hz" 'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# A write token of user $user on the server at URL, made with that server's
# admin token (curl options after DATA_DIR, e.g. --cacert).
user_token() {  # URL DATA_DIR [CURL_ARGS...]
  local url=$1 dir=$2; shift 2
  curl -sf "$@" -X POST -H "Authorization: Bearer $(head -1 "$dir/admin-token")" -d '{"label":"compare.sh"}' \
    "$url/0.1/$user/tokens" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

put_blob() {  # URL TOKEN [CURL_ARGS...]: the 1 KiB chunk, as user $user
  local url=$1 token=$2; shift 2
  local auth=()
  [[ -n $token ]] && auth=(-H "Authorization: Bearer $token")
  curl -sf "$@" "${auth[@]}" -X PUT --data-binary @"$work/html/blob" "$url/0.1/$user/chunks/$chunk" >/dev/null
}

# "TLSv1.3 TLS_AES_256_GCM_SHA384": what a TLS connection to PORT negotiates.
negotiated() {  # PORT
  openssl s_client -connect "127.0.0.1:$1" -CAfile "$work/cert.pem" </dev/null 2>/dev/null |
    awk '/^New,/ { print $2, $NF }'
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
local token = os.getenv("TOKEN") or ""
for line in io.lines("$work/ids.txt") do n = n + 1; ids[n] = line end
local pad = string.rep("x", 1024 - 8)
request = function()
  local body = string.format("%08d", i) .. pad
  local path = "/0.1/$user/chunks/" .. ids[i + 1]
  local headers = {["Content-Type"] = "application/octet-stream"}
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  i = (i + 1) % n
  return wrk.format("PUT", path, headers, body)
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

# ---- The PostgreSQL store (ONLY=postgresql runs only this) ----
# A throwaway PostgreSQL 15 cluster (scripts/pg-cluster.sh, synchronous_commit
# on, its defaults otherwise) in a temp dir, removed by cleanup. Every row
# runs 64 connections over 64 users (one user per connection, as pgbench's
# clients each pick their own row) with 1 KiB chunks: chunklog-bench --spawn
# on RocksDB, on PostgreSQL with one node and with two nodes (--spawn-nodes 2,
# each --db-pool-size 16 by default), and pgbench's own transactions on the
# same database as its ceiling: a one-row update (BEGIN; UPDATE a small
# table's row picked by a random id; COMMIT: one synced commit, as a publish)
# and a one-row read (BEGIN REPEATABLE READ READ ONLY; SELECT 1 KiB bytea by a
# random id; COMMIT: what a chunk GET asks the database).
# Over each row's measured window it reads /proc/PID/stat of the chunklogd
# nodes, of postgres (the postmaster and its backends) and of the load
# generator, and /proc/stat for the whole machine (others: compilers etc.),
# and samples pg_stat_activity four times (backends by state and wait event,
# averaged): which side is the bottleneck.
pg_bin=/usr/lib/postgresql/15/bin

install_postgresql() {
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  # `dpkg -S $pg_bin/pgbench`: postgresql-15 (Debian 12), which also has initdb and pg_ctl.
  if [[ ! -x $pg_bin/pgbench || ! -x $pg_bin/initdb || ! -x $pg_bin/psql ]]; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
  fi
}

proc_ticks() {  # PID...: "PID TICKS" (user + system, all threads) of those still running
  local pid fields
  for pid in "$@"; do
    { read -ra fields <"/proc/$pid/stat"; } 2>/dev/null || continue
    echo "$pid $((fields[13] + fields[14]))"
  done
}

snapshot() {  # CLIENT_PID: "GROUP PID TICKS" lines; the machine's busy and total ticks
  local client=$1 postmaster
  postmaster=$(head -1 "$pg_dir/data/postmaster.pid")
  # shellcheck disable=SC2046
  proc_ticks $(pgrep -P "$client" -d ' ' || true) | sed 's/^/nodes /'
  # shellcheck disable=SC2046
  proc_ticks "$postmaster" $(pgrep -P "$postmaster" -d ' ' || true) | sed 's/^/postgres /'
  proc_ticks "$client" | sed 's/^/client /'
  awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8; print "machine busy", busy; print "machine all", busy + $5 + $6 + $9 }' \
    /proc/stat
}

cpu_split() {  # BEFORE AFTER SECONDS: "NODES POSTGRES CLIENT BUSY ALL" cores between the snapshots
  awk -v hz="$(getconf CLK_TCK)" -v s="$3" '
    NR == FNR { before[$1 " " $2] = $3; next }
    { d = $3 - ((($1 " " $2) in before) ? before[$1 " " $2] : 0)
      if ($1 == "machine") m[$2] = d; else use[$1] += d }
    END { c = hz * s
      printf "%.3f %.3f %.3f %.3f %.3f", use["nodes"] / c, use["postgres"] / c, use["client"] / c, m["busy"] / c,
        m["all"] / c }' "$1" "$2"
}

pg_waits() {  # one sample: "STATE COUNT" of the client backends (active: wait event or "cpu")
  "$pg_bin/psql" "$pg_conn" -XAtq -F ' ' -c "SELECT CASE WHEN state = 'active' THEN
      coalesce(wait_event_type || ':' || wait_event, 'active:cpu') ELSE replace(state, ' ', '-') END, count(*)
    FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1"
}

now() { date +%s.%N; }
sleep_until() { local d; d=$(awk -v t="$1" -v n="$(now)" 'BEGIN { printf "%.3f", (t > n ? t - n : 0) }'); sleep "$d"; }

# measure OUT KIND COMMAND...: runs COMMAND in the background, stdout to OUT,
# and samples the sides over its measured window: chunklog-bench (KIND bench,
# given --window-file) from the window's start to 0.3 s before its end (the
# bench stops its nodes right after it); pgbench (KIND pgbench, run for
# $seconds + 1) for $seconds - 0.5 from 0.5 s after its start.
# pg_stat_activity is sampled 4 times inside the window. Sets split (cores
# per side: nodes, postgres, client, machine busy, machine all) and waits
# (mean client backends per state or wait event).
measure() {
  local out=$1 kind=$2; shift 2
  rm -f "$pg_work/window"
  "$@" >"$out" &
  local pid=$! t0 t1 end n=4 k
  pids+=("$pid")
  if [[ $kind == bench ]]; then
    until grep -q '^start' "$pg_work/window" 2>/dev/null; do
      kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; echo "compare.sh: $* failed" >&2; exit 1; }
      sleep 0.02
    done
  else
    sleep 0.5
  fi
  snapshot "$pid" >"$pg_work/before"
  t0=$(now)
  end=$(awk -v t="$t0" -v s="$seconds" -v k="$kind" 'BEGIN { printf "%.3f", t + s - (k == "bench" ? 0.3 : 0.5) }')
  : >"$pg_work/waits"
  for k in $(seq $n); do
    sleep_until "$(awk -v t="$t0" -v e="$end" -v k="$k" -v n=$n 'BEGIN { printf "%.3f", t + (e - t) * (k - 0.5) / n - 0.1 }')"
    pg_waits >>"$pg_work/waits" || true
  done
  sleep_until "$end"
  snapshot "$pid" >"$pg_work/after"
  t1=$(now)
  wait "$pid"
  split=$(cpu_split "$pg_work/before" "$pg_work/after" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
  waits=$(awk -v n=$n '{ c[$1] += $2 } END { for (k in c) printf "%s %.1f\n", k, c[k] / n }' "$pg_work/waits" |
    sort -k2 -gr | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }')
}

pg_seed=100
# pg_bench FIELD WORKLOAD [BENCH_ARGS...]: sets result to FIELD of one
# chunklog-bench row (--spawn, 64 connections over 64 users, 1 KiB).
pg_bench() {
  local field=$1 workload=$2; shift 2
  pg_seed=$((pg_seed + 1))  # fresh users and chunks for every row
  measure "$pg_work/out.json" bench "$bench" --spawn "$@" --workload "$workload" --users $conns \
    --connections $conns --size 1024 --duration "$seconds" --seed $pg_seed --window-file "$pg_work/window" --json
  result=$(python3 -c "import json, sys; r = json.loads(open(sys.argv[1]).readline()); e = r['errors']
print(round(r['$field']))
if e: print('compare.sh: errors', e, file=sys.stderr)" "$pg_work/out.json")
}

pgbench_tps() {  # SCRIPT: sets result to pgbench's transactions/s, 64 clients, 2 threads, $seconds + 1
  measure "$pg_work/pgbench.out" pgbench "$pg_bin/pgbench" -n -M prepared -f "$1" -c $conns -j 2 -T $((seconds + 1)) \
    "$pg_conn"
  result=$(awk '/^tps/ { printf "%.0f", $3 }' "$pg_work/pgbench.out")
}

# The database's ceiling for chunklog's own publish: pgbench calls the
# store's chunklog_publish_one (the schema the rows before made) with what a
# publish of one 1 KiB chunk and one transaction passes, each client on a
# user of its own, no HTTP and no chunklogd. The chunk is made in SQL, which
# costs postgres a little more than receiving it. Sets function_tps.
publish_function_tps() {
  local user="('ffffffff-0000-4000-8000-' || lpad(:client_id::text, 12, '0'))::uuid"
  "$pg_bin/psql" "$pg_conn" -XAtq -v ON_ERROR_STOP=1 -c "INSERT INTO chunklog_users (user_id, head, head_seq)
    SELECT ('ffffffff-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '00000000-0000-0000-0000-000000000000', 0
    FROM generate_series(0, $conns - 1) AS i ON CONFLICT DO NOTHING"
  cat >"$pg_work/publish.sql" <<SQL
SELECT p.status FROM
  (SELECT sha256(b) AS id, b FROM (SELECT decode(repeat(md5(random()::text), 64), 'hex') AS b) s) d,
  (SELECT head FROM chunklog_users WHERE user_id = $user) h,
  chunklog_publish_one($user, 0, 0, ARRAY[d.id], ARRAY[d.b], ARRAY[1::bigint], gen_random_uuid(), h.head, NULL,
                       d.id, '{}'::bytea[]) p;
SQL
  local before after
  before=$("$pg_bin/psql" "$pg_conn" -XAtq -c "SELECT sum(head_seq) FROM chunklog_users WHERE user_id::text LIKE 'ffffffff-%'")
  pgbench_tps "$pg_work/publish.sql"
  function_tps=$result
  after=$("$pg_bin/psql" "$pg_conn" -XAtq -c "SELECT sum(head_seq) FROM chunklog_users WHERE user_id::text LIKE 'ffffffff-%'")
  echo "  pgbench calling chunklog_publish_one, 64 clients: $function_tps tps ($((after - before)) advances of" \
    "$(awk '/actually processed/ { print $NF }' "$pg_work/pgbench.out" | cut -d/ -f1) calls)"
  explain "$result"
}

# explain RATE: the CPU split of the last row, in cores and in CPU microseconds per operation
explain() {
  read -r c_nodes c_pg c_client c_busy c_all <<<"$split"
  awk -v r="$1" -v n="$c_nodes" -v p="$c_pg" -v c="$c_client" -v b="$c_busy" -v a="$c_all" 'BEGIN {
    u = (r > 0 ? 1e6 / r : 0)
    printf "    CPU, cores: nodes %.2f, postgres %.2f, load generator %.2f; machine busy %.2f of %.2f (others %.2f)\n",
      n, p, c, b, a, b - n - p - c
    printf "    CPU per op, us: nodes %.1f, postgres %.1f, load generator %.1f, all three %.1f\n",
      n * u, p * u, c * u, (n + p + c) * u }'
  echo "    backends: ${waits:-none}"
}

postgresql_rows() {
  install_postgresql
  pg_work=$(mktemp -d)
  pg_dir=$(mktemp -d)  # not inside pg_work (0700): the cluster's user must enter it
  pg_conn=$(scripts/pg-cluster.sh start "$pg_dir")
  local psql=("$pg_bin/psql" "$pg_conn" -XAtq -v ON_ERROR_STOP=1)
  "${psql[@]}" <<'SQL'
CREATE TABLE bench_heads (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0);
INSERT INTO bench_heads (id) SELECT generate_series(1, 10000);
CREATE TABLE bench_chunks (id int PRIMARY KEY, bytes bytea NOT NULL);
INSERT INTO bench_chunks SELECT i, decode(repeat(md5(i::text), 64), 'hex') FROM generate_series(1, 10000) AS i;
VACUUM ANALYZE bench_heads;
VACUUM ANALYZE bench_chunks;
SQL
  cat >"$pg_work/update.sql" <<'SQL'
\set id random(1, 10000)
BEGIN;
UPDATE bench_heads SET n = n + 1 WHERE id = :id;
COMMIT;
SQL
  # The same with the NOTIFY that a publish's HEAD advance sends in its transaction.
  cat >"$pg_work/update-notify.sql" <<'SQL'
\set id random(1, 10000)
BEGIN;
UPDATE bench_heads SET n = n + 1 WHERE id = :id;
SELECT pg_notify('bench_head', :id::text);
COMMIT;
SQL
  cat >"$pg_work/read.sql" <<'SQL'
\set id random(1, 10000)
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT bytes FROM bench_chunks WHERE id = :id;
COMMIT;
SQL
  local store1=(--server-arg --store --server-arg "postgresql:$pg_conn")
  local store2=("${store1[@]}" --spawn-nodes 2)
  echo "PostgreSQL $("${psql[@]}" -c 'SHOW server_version'), synchronous_commit" \
    "$("${psql[@]}" -c 'SHOW synchronous_commit'), fsync $("${psql[@]}" -c 'SHOW fsync');" \
    "chunklogd --db-pool-size 16 per node; 64 users, 1 KiB"
  local update_tps notify_tps read_tps rocks pg1 pg2 w field
  pgbench_tps "$pg_work/update.sql"
  update_tps=$result
  echo "  pgbench one-row update transaction, 64 clients: $update_tps tps"; explain "$result"
  pgbench_tps "$pg_work/update-notify.sql"
  notify_tps=$result
  echo "  pgbench one-row update + NOTIFY transaction, 64 clients: $notify_tps tps"; explain "$result"
  pgbench_tps "$pg_work/read.sql"
  read_tps=$result
  echo "  pgbench one-row read transaction (1 KiB bytea), 64 clients: $read_tps tps"; explain "$result"
  # The store's schema is new: the first seconds of a fresh schema run at
  # about half speed (3,363 publishes/s, then 6,828 and 6,755 in the next
  # runs, measured one after the other), while a store in service is not
  # fresh. One unmeasured run of each workload through one node first.
  for w in publish put-chunks get-chunks; do
    "$bench" --spawn "${store1[@]}" --workload $w --users $conns --connections $conns --size 1024 --duration 5 \
      --seed 99 >/dev/null
  done
  for w in publish put-chunks get-chunks; do
    field=ops_per_second
    [[ $w == publish ]] && field=items_per_second
    pg_bench $field $w
    rocks=$result; echo "  $w, RocksDB store, 1 node: $rocks/s"; explain "$rocks"
    pg_bench $field $w "${store1[@]}"
    pg1=$result; echo "  $w, PostgreSQL store, 1 node: $pg1/s"; explain "$pg1"
    pg_bench $field $w "${store2[@]}"
    pg2=$result; echo "  $w, PostgreSQL store, 2 nodes: $pg2/s"; explain "$pg2"
    [[ $w == publish ]] && publish_function_tps
    case $w in
      publish)
        row "publish, PostgreSQL 1 node / pgbench update" $conns "$pg1" "$update_tps" "tx/s (target >= 0.5)"
        row "publish, PostgreSQL 2 nodes / pgbench update" $conns "$pg2" "$update_tps" "tx/s"
        row "publish, PostgreSQL 1 node / RocksDB store" $conns "$pg1" "$rocks" "advances/s"
        row "publish, PostgreSQL 1 node / update+NOTIFY" $conns "$pg1" "$notify_tps" "tx/s"
        row "publish, PostgreSQL 1 node / pgbench publish" $conns "$pg1" "$function_tps" "tx/s" ;;
      put-chunks)
        row "chunk PUT, PostgreSQL 1 node / RocksDB store" $conns "$pg1" "$rocks" "ops/s"
        row "chunk PUT, PostgreSQL 2 nodes / 1 node" $conns "$pg2" "$pg1" "ops/s"
        row "chunk PUT, PostgreSQL 1 node / pgbench upd." $conns "$pg1" "$update_tps" "ops/s" ;;
      get-chunks)
        row "chunk GET, PostgreSQL 1 node / RocksDB store" $conns "$pg1" "$rocks" "ops/s"
        row "chunk GET, PostgreSQL 2 nodes / 1 node" $conns "$pg2" "$pg1" "ops/s (target >= 1.6)"
        row "chunk GET, PostgreSQL 1 node / pgbench read" $conns "$pg1" "$read_tps" "ops/s"
        row "chunk GET, PostgreSQL 2 nodes / pgbench read" $conns "$pg2" "$read_tps" "ops/s" ;;
    esac
  done
}

# ---- Across a wide-area link (ONLY=wan runs only this) ----
# Pulls whose time the round trips decide: the load generator reaches the
# server through chunklog-bench's delay relay (--rtt-ms 20 --bandwidth-mbit
# 100: 10 ms each way, each direction paced to 100 Mbit/s), which does in
# the load generator's process what a network namespace with netem on a
# veth pair would do in the kernel. This machine's kernel has no netem
# (`tc qdisc add ... netem` answers "Specified qdisc kind is unknown", and
# it loads no modules), so the relay stands in for it. Each pull runs once:
# the prototype's way makes 10,006 requests, over three minutes at 20 ms.
wan=(--rtt-ms 20 --bandwidth-mbit 100)
wan_rows() {
  local pulls prototype log_page pouch_pull tc child tc_log
  pulls=$("$bench" --spawn "${wan[@]}" --workload pull --count 5000 --size 1024 --json)
  prototype=$(echo "$pulls" | python3 -c 'import json, sys; print([json.loads(l) for l in sys.stdin][0]["seconds"])')
  log_page=$(echo "$pulls" | python3 -c 'import json, sys; print([json.loads(l) for l in sys.stdin][2]["seconds"])')
  row "pull 5,000, 20 ms RTT: GET log / prototype" 1 "$(ratio 5000 "$log_page")" "$(ratio 5000 "$prototype")" \
    "tx/s (target >= 100)"
  if have_pouch; then
    local pouch_json pouch_bytes log_bytes
    pouch_json=$("$bench" --server "$pouch" "${wan[@]}" --workload pouch-pull --count 5000 --size 1024 --json)
    pouch_pull=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["seconds"])' "$pouch_json")
    pouch_bytes=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["link_bytes"])' "$pouch_json")
    log_bytes=$(echo "$pulls" | python3 -c 'import json, sys; print([json.loads(l) for l in sys.stdin][2]["link_bytes"])')
    row "pull 5,000, 20 ms RTT: GET log / PouchDB" 1 "$(ratio 5000 "$log_page")" "$(ratio 5000 "$pouch_pull")" \
      "tx/s (target >= 5)"
    # What the link alone needs for those bytes, at 100 Mbit/s: the floor under either side's time.
    awk -v l="$log_bytes" -v p="$pouch_bytes" -v lt="$log_page" -v pt="$pouch_pull" 'BEGIN {
      printf "    over the link: GET log %.2f MB in %.3f s (the bytes alone %.3f s), PouchDB %.2f MB in %.3f s (%.3f s)\n",
        l / 1e6, lt, l * 8 / 100e6, p / 1e6, pt, p * 8 / 100e6 }'
  else
    pouch_skipped "pull 5,000, 20 ms RTT: GET log / PouchDB" 1
  fi
  tc=$("$bench" --spawn "${wan[@]}" --workload tc-pull --count 1000 --json)
  child=$(echo "$tc" | python3 -c 'import json, sys; print([json.loads(l) for l in sys.stdin][0]["seconds"])')
  tc_log=$(echo "$tc" | python3 -c 'import json, sys; print([json.loads(l) for l in sys.stdin][1]["seconds"])')
  row "Taskwarrior sync 1,000, 20 ms: log / per-version" 1 "$(ratio 1000 "$tc_log")" "$(ratio 1000 "$child")" \
    "versions/s"
}

pids=()
trap cleanup EXIT
if [[ $only == wan ]]; then
  install_peers
  start_servers
  pouch=http://127.0.0.1:18490
  echo "$("$chunklogd_bin" --version), $(nproc) cores, $(date -u +%Y-%m-%d), 20 ms round trip, 100 Mbit/s"
  printf '%-44s %6s %12s %12s %7s\n' "comparison" conns chunklogd peer ratio
  wan_rows
  exit 0
fi
if [[ $only == postgresql ]]; then
  build
  echo "$("$chunklogd_bin" --version), $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB," \
    "$(date -u +%Y-%m-%d), ${seconds}s per row"
  printf '%-44s %6s %12s %12s %7s\n' "comparison" conns chunklogd peer ratio
  postgresql_rows
  exit 0
fi
install_peers
start_servers
chunklogd=http://127.0.0.1:18470
chunklogd_noauth=http://127.0.0.1:18472
chunklogd_tls=https://127.0.0.1:18471
chunklogd_1t=http://127.0.0.1:18473
pouch=http://127.0.0.1:18490
user=$(cat /proc/sys/kernel/random/uuid)
chunk=$(sha256sum "$work/html/blob" | cut -d' ' -f1)
token=$(user_token "$chunklogd" "$work/chunklog")
token_tls=$(user_token "$chunklogd_tls" "$work/chunklog-tls" --cacert "$work/cert.pem")
put_blob "$chunklogd" "$token"
put_blob "$chunklogd_noauth" ""
put_blob "$chunklogd_tls" "$token_tls" --cacert "$work/cert.pem"
make_put_scripts

echo "$("$chunklogd_bin" --version), $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB," \
  "$(date -u +%Y-%m-%d), ${seconds}s per row"
printf '%-44s %6s %12s %12s %7s\n' "comparison" conns chunklogd peer ratio

declare -A get_http put_http
if [[ $only != new ]]; then
  for c in 1 $conns; do
    get_http[$c]=$(wrk_rate "$chunklogd/0.1/$user/chunks/$chunk" "$c" "" "$token")
    row "GET 1 KiB chunk / nginx static file" "$c" "${get_http[$c]}" "$(wrk_rate http://127.0.0.1:18480/blob "$c")" "req/s"
  done
  first=0
  for c in 1 $conns; do  # each run starts on bodies no earlier run sent
    export FIRST=$first
    put_http[$c]=$(wrk_rate "$chunklogd" "$c" "$work/put-chunklog.lua" "$token")
    row "PUT 1 KiB chunk, synced / nginx WebDAV PUT" "$c" \
      "${put_http[$c]}" "$(wrk_rate http://127.0.0.1:18480/ "$c" "$work/put-nginx.lua")" "req/s"
    first=200000
  done
fi

# One worker each: chunklogd --threads 1 against nginx worker_processes 1,
# so the load generator's one thread has the other core to itself rather
# than three busy threads sharing two cores.
token_1t=$(user_token "$chunklogd_1t" "$work/chunklog-1t")
put_blob "$chunklogd_1t" "$token_1t"
alternate "$conns" "$chunklogd_1t/0.1/$user/chunks/$chunk" "$token_1t" "$one_thread_pid" \
  http://127.0.0.1:18482/blob "" "$(pgrep -P "$(cat "$work/nginx-1w.pid")" | tr '\n' ' ')"
row "GET 1 KiB chunk / nginx static, one worker each" "$conns" "$(median "${runs_a[@]}")" \
  "$(median "${runs_b[@]}")" "req/s, medians of $rounds"
echo "  runs: chunklogd ${runs_a[*]}, nginx ${runs_b[*]}"
echo "  server CPU per request: chunklogd $cpu_a us, nginx $cpu_b us (ratio $(ratio "$cpu_a" "$cpu_b"))"

# Token checking: the same GET with a user token and on a server without
# tokens. HTTPS: chunklogd and nginx on the same certificate, wrk keeping
# its connections (one handshake per connection, then requests). Both
# alternate their two sides, so that drift in the machine's speed hits both.
echo "  HTTPS negotiated: chunklogd $(negotiated 18471), nginx $(negotiated 18481)"
nginx_workers=$(pgrep -P "$(cat "$work/nginx.pid")" | tr '\n' ' ')
for c in 1 $conns; do
  alternate "$c" "$chunklogd/0.1/$user/chunks/$chunk" "$token" "$chunklogd_pid" \
    "$chunklogd_noauth/0.1/$user/chunks/$chunk" "" "$noauth_pid"
  row "GET 1 KiB chunk, user token / --auth none" "$c" "$(median "${runs_a[@]}")" "$(median "${runs_b[@]}")" \
    "req/s, medians of $rounds"
  echo "  token checking costs $(awk -v a="$(median "${runs_a[@]}")" -v b="$(median "${runs_b[@]}")" \
    'BEGIN { printf "%.1f", (1 - a / b) * 100 }')% of the rate; runs: token ${runs_a[*]}, none ${runs_b[*]}"
  echo "  server CPU per request: token $cpu_a us, none $cpu_b us (ratio $(ratio "$cpu_a" "$cpu_b"))"
  alternate "$c" "$chunklogd_tls/0.1/$user/chunks/$chunk" "$token_tls" "$tls_pid" \
    https://127.0.0.1:18481/blob "" "$nginx_workers"
  row "HTTPS GET 1 KiB chunk / nginx HTTPS static" "$c" "$(median "${runs_a[@]}")" "$(median "${runs_b[@]}")" \
    "req/s, medians of $rounds"
  echo "  runs: chunklogd ${runs_a[*]}, nginx ${runs_b[*]}"
  echo "  server CPU per request: chunklogd $cpu_a us, nginx $cpu_b us (ratio $(ratio "$cpu_a" "$cpu_b"))"
  if [[ -n ${get_http[$c]:-} ]]; then
    echo "  chunklogd GET HTTPS / HTTP: $(ratio "$(median "${runs_a[@]}")" "${get_http[$c]}")"
  fi
done
first=0
for c in 1 $conns; do
  export FIRST=$first
  got=$(wrk_rate "$chunklogd_tls" "$c" "$work/put-chunklog.lua" "$token_tls")
  FIRST=$((first + 1000000))
  row "HTTPS PUT 1 KiB synced / nginx HTTPS WebDAV" "$c" "$got" \
    "$(wrk_rate https://127.0.0.1:18481/ "$c" "$work/put-nginx.lua")" "req/s"
  if [[ -n ${put_http[$c]:-} ]]; then echo "  chunklogd PUT HTTPS / HTTP: $(ratio "$got" "${put_http[$c]}")"; fi
  first=200000
done
row "chunk GET 1 KiB (chunklog-bench): HTTPS / HTTP" $conns \
  "$(bench_json '["ops_per_second"]' --spawn --tls --workload get-chunks --size 1024 --connections $conns \
    --duration "$seconds")" \
  "$(bench_json '["ops_per_second"]' --spawn --workload get-chunks --size 1024 --connections $conns \
    --duration "$seconds")" "ops/s"
if [[ $only == new ]]; then exit 0; fi
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
row "publish across 64 users / RocksDB synced publish-shaped batch" $conns "$publish_64" \
  "$(bench_json '["ops_per_second"]' --workload rocksdb-publish --size 1024 --connections $conns --duration "$seconds")" \
  "advances/s"
row "publish across 64 users / the same batches grouped by one thread" $conns "$publish_64" \
  "$(bench_json '["ops_per_second"]' --workload rocksdb-publish-grouped --size 1024 --connections $conns \
    --duration "$seconds")" "advances/s"
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

wan_rows

echo "long poll, 10,000 waiters on one user, one advance:"
"$bench" --spawn --server-arg --max-connections --server-arg 20000 --workload longpoll --connections 10000
"$bench" --workload loopback-fanout --connections 10000

postgresql_rows
