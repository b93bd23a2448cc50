#!/usr/bin/env bash
# Start (or stop) a throw-away PostgreSQL cluster and Redis server on loopback for the tests.
#   scripts/test-services.sh start DIR   -> prints the two environment variables to export
#   scripts/test-services.sh stop DIR
# Needs Debian's postgresql and redis-server packages (the Makefile's `services` target installs them).
set -euo pipefail
action=${1:?start or stop}
dir=${2:?a folder for the data}
pg_port=${CGOS_PG_PORT:-55432}
redis_port=${CGOS_REDIS_PORT:-56379}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

case "$action" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -d "$dir/pg" ]; then
    as_postgres "'$pg_bin/initdb' -D '$dir/pg' -A trust -U cgos --no-sync -E UTF8 --locale=C.UTF-8" >"$dir/initdb.log"
  fi
  # A test database: durability is not wanted, speed is.
  as_postgres "'$pg_bin/pg_ctl' -D '$dir/pg' -l '$dir/pg.log' -w -o \"-p $pg_port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\" start" >/dev/null
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "export CGOS_TEST_DATABASE_URL=postgresql+psycopg://cgos@127.0.0.1:$pg_port/postgres"
  echo "export CGOS_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0"
  ;;
stop)
  as_postgres "'$pg_bin/pg_ctl' -D '$dir/pg' -m fast -w stop" >/dev/null 2>&1 || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
