#!/usr/bin/env bash
# DuckDB for `make bench-lake`: a Python venv in target/duckdb-venv with the duckdb package
# (and pytz, which DuckDB needs to hand TIMESTAMPTZ values to Python).
#
#   scripts/duckdb.sh        install duckdb (+ pytz) into target/duckdb-venv if needed, then print the
#                            absolute path of the venv's python (for DSR_DUCKDB_PYTHON)
#
# Safe to run concurrently (flock on target/duckdb.lock); idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=target
VENV=$TARGET/duckdb-venv
LOCK_FILE=$TARGET/duckdb.lock

mkdir -p "$TARGET"
exec 9>"$LOCK_FILE"
flock 9

if ! "$VENV/bin/python" -c 'import duckdb, pytz' >/dev/null 2>&1; then
  echo "duckdb: installing into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'duckdb>=1.1,<2' pytz >&2
fi
echo "$PWD/$VENV/bin/python"
