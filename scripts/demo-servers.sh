#!/usr/bin/env bash
# `make demo-servers`: the demo with the crm store on PostgreSQL and the support store on
# MariaDB (fresh databases dsr_demo_crm and dsr_demo_support each time).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/services.sh
PG_ADMIN=${DSR_DEMO_POSTGRES_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS dsr_demo_crm" -c "CREATE DATABASE dsr_demo_crm" 2>/dev/null
mysql -h 127.0.0.1 -P 3306 -uroot -e "DROP DATABASE IF EXISTS dsr_demo_support; CREATE DATABASE dsr_demo_support CHARACTER SET utf8mb4"
cargo run --quiet -p dsr-cli --bin dsr -- demo --out var/demo-servers \
  --crm-url "${PG_ADMIN%/*}/dsr_demo_crm" \
  --support-url "mysql://root@127.0.0.1:3306/dsr_demo_support"
