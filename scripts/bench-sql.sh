#!/usr/bin/env bash
# `make bench-sql`: generate the two-server estate once (PostgreSQL dsr_bench: 1M customers,
# 5M orders; MariaDB dsr_bench: 1M contacts), then measure the batched find against one query
# per subject and against the raw driver. Delete var/bench/subjects.txt to regenerate.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/services.sh
psql postgres://postgres@127.0.0.1:5432/postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'dsr_bench'" | grep -q 1 \
  || psql postgres://postgres@127.0.0.1:5432/postgres -qc "CREATE DATABASE dsr_bench"
mysql -h 127.0.0.1 -P 3306 -uroot -e "CREATE DATABASE IF NOT EXISTS dsr_bench CHARACTER SET utf8mb4"
cargo build --release --quiet -p dsr-cli --bin dsr
if [ ! -f var/bench/subjects.txt ]; then
  ./target/release/dsr fixtures sql
fi
./target/release/dsr bench sql --json
