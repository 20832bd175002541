#!/usr/bin/env bash
# Makes sure the local PostgreSQL and MariaDB answer on 127.0.0.1, starting them when down.
# Used by `make test`; safe to run when they are already up.
set -euo pipefail

wait_for() { # name, check command
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then echo "$name: up"; return 0; fi
    sleep 0.5
  done
  echo "$name: did not come up" >&2
  return 1
}

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q; }
my_up() { mysqladmin -h 127.0.0.1 -P 3306 -uroot ping --silent >/dev/null; }

if ! pg_up 2>/dev/null; then
  echo "PostgreSQL: starting"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
wait_for PostgreSQL pg_up

if ! my_up 2>/dev/null; then
  echo "MariaDB: starting"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
wait_for MariaDB my_up
