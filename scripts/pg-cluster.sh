#!/usr/bin/env bash
# Starts and removes a throwaway PostgreSQL 15 cluster, for the tests of the
# PostgreSQL store (scripts/test.sh runs one around CTest).
#   scripts/pg-cluster.sh start DIR  makes a cluster in DIR/data, starts it
#                                    and prints its libpq connection string:
#                                    host=DIR port=PORT user=USER dbname=postgres
#   scripts/pg-cluster.sh stop DIR   stops it (if running) and removes DIR
#   scripts/pg-cluster.sh halt DIR   stops it at once, as a crash would (for
#                                    the tests of a database that goes away)
#   scripts/pg-cluster.sh resume DIR starts a halted cluster again, same port
# The server listens on a Unix socket in DIR and on 127.0.0.1 at a free port,
# trusting every local connection; it logs to DIR/postgresql.log. PostgreSQL
# will not run as root, so as root it runs as the postgres user (or, where
# there is none, as a system user chunklog-test, made on first use).
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
cmd=${1:-}
dir=${2:-}
if [[ ! $cmd =~ ^(start|stop|halt|resume)$ ]] || [[ -z $dir ]]; then
  echo "usage: scripts/pg-cluster.sh start|stop|halt|resume DIR" >&2
  exit 2
fi

as_user() {
  if [[ $user == "$(id -un)" ]]; then "$@"; else runuser -u "$user" -- "$@"; fi
}

if [[ $cmd == halt || $cmd == resume ]]; then
  user=$(stat -c %U "$dir/data")
  cd "$dir"
  if [[ $cmd == halt ]]; then
    as_user "$bin/pg_ctl" stop -D "$dir/data" -m immediate >&2
  else
    as_user "$bin/pg_ctl" start -w -D "$dir/data" -l "$dir/postgresql.log" -o "-p $(cat "$dir/port")" >&2
  fi
  exit 0
fi

if [[ $cmd == stop ]]; then
  if [[ -f $dir/data/postmaster.pid ]]; then
    user=$(stat -c %U "$dir/data")
    (cd "$dir" && as_user "$bin/pg_ctl" stop -D "$dir/data" -m immediate) >&2 || true
  fi
  rm -rf "$dir"
  exit 0
fi

user=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
  user=postgres
  if ! id -u postgres >/dev/null 2>&1; then
    user=chunklog-test
    id -u "$user" >/dev/null 2>&1 || useradd --system --no-create-home "$user"
  fi
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$dir"  # runuser keeps the working directory: one that $user may enter
log=$dir/postgresql.log
touch "$log"
chmod 755 "$dir"
[[ $user == "$(id -un)" ]] || chown "$user:" "$dir" "$log"

fail() {
  echo "pg-cluster: $1; the end of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
}

as_user "$bin/initdb" -D "$dir/data" -U "$user" --auth-local=trust --auth-host=trust \
  --encoding=UTF8 --locale=C --no-sync >>"$log" 2>&1 || fail "initdb failed"
cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 128MB
EOF

# Try random ports until one is free: the probe skips those in use, and a
# port taken between probe and start only costs another try.
for _ in {1..10}; do
  port=$((20000 + RANDOM % 40000))
  (: </dev/tcp/127.0.0.1/$port) 2>/dev/null && continue
  if as_user "$bin/pg_ctl" start -w -D "$dir/data" -l "$log" -o "-p $port" >&2; then
    echo "$port" >"$dir/port"
    echo "host=$dir port=$port user=$user dbname=postgres"
    exit 0
  fi
  [[ $(tail -n 5 "$log") == *"could not bind"* ]] || break  # not a port clash
done
fail "the server did not start"
