#!/usr/bin/env bash
# A local S3 server for tests and demos: moto (`moto_server`, in-memory, enforces Object Lock).
#
#   scripts/moto.sh start   install moto into target/moto-venv if needed, start the server on a
#                           free 127.0.0.1 port unless one recorded in target/moto.port still
#                           answers, print AWS_ENDPOINT_URL=http://127.0.0.1:PORT
#   scripts/moto.sh stop    stop it and remove target/moto.{port,pid}
#   scripts/moto.sh env     print the export lines for the AWS SDK (endpoint, region, test keys)
#
# Safe to run concurrently (flock on target/moto.lock); idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=target
VENV=$TARGET/moto-venv
PORT_FILE=$TARGET/moto.port
PID_FILE=$TARGET/moto.pid
LOG_FILE=$TARGET/moto.log
LOCK_FILE=$TARGET/moto.lock

mkdir -p "$TARGET"

# Whether an HTTP server answers on 127.0.0.1:$1 (any status code counts).
answers() {
  python3 - "$1" <<'EOF' >/dev/null 2>&1
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
EOF
}

# Whether process $1 is a moto_server (a stale pid file may name a reused pid).
is_moto() {
  [ -n "$1" ] && grep -q moto_server "/proc/$1/cmdline" 2>/dev/null
}

# The recorded port if the recorded server is alive and answers there; nothing otherwise.
running_port() {
  [ -f "$PORT_FILE" ] && [ -f "$PID_FILE" ] || return 1
  local port
  port=$(cat "$PORT_FILE")
  is_moto "$(cat "$PID_FILE")" && [ -n "$port" ] && answers "$port" && echo "$port"
}

# Stops the server named by the pid file, if it is still one, and waits for it to exit.
kill_recorded() {
  local pid
  [ -f "$PID_FILE" ] || return 0
  pid=$(cat "$PID_FILE")
  if is_moto "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      is_moto "$pid" || break
      sleep 0.1
    done
    echo "moto: stopped (pid $pid)" >&2
  fi
  rm -f "$PID_FILE"
}

install() {
  if [ -x "$VENV/bin/moto_server" ]; then
    return 0
  fi
  echo "moto: installing into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]' >&2
}

start() {
  local port pid
  if port=$(running_port); then
    echo "AWS_ENDPOINT_URL=http://127.0.0.1:$port"
    return 0
  fi
  install
  # A stale server of ours that no longer answers: stop it before replacing it.
  kill_recorded
  rm -f "$PORT_FILE"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  # fd 9 (the lock) is closed for the server, or it would hold the lock for its lifetime.
  nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$LOG_FILE" 2>&1 </dev/null 9>&- &
  pid=$!
  for _ in $(seq 1 60); do
    if answers "$port"; then
      echo "$pid" >"$PID_FILE"
      echo "$port" >"$PORT_FILE"
      echo "moto: up on 127.0.0.1:$port (pid $pid, log $LOG_FILE)" >&2
      echo "AWS_ENDPOINT_URL=http://127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true
  echo "moto: did not come up on 127.0.0.1:$port; see $LOG_FILE" >&2
  tail -n 20 "$LOG_FILE" >&2 || true
  return 1
}

stop() {
  kill_recorded
  rm -f "$PORT_FILE"
}

env_lines() {
  local port
  if ! port=$(running_port); then
    echo "moto: not running; run scripts/moto.sh start" >&2
    return 1
  fi
  echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$port"
  echo "export AWS_REGION=us-east-1"
  echo "export AWS_ACCESS_KEY_ID=testing"
  echo "export AWS_SECRET_ACCESS_KEY=testing"
}

cmd=${1:-}
case "$cmd" in
  start | stop)
    exec 9>"$LOCK_FILE"
    flock 9
    "$cmd"
    ;;
  env) env_lines ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
