# dsr — the two commands on a fresh machine are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
# Where cargo puts binaries (honours CARGO_TARGET_DIR).
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
# The benchmark lakes: LAKE_ROWS rows as one file (var/bench/lake/one) and as 100 files
# (var/bench/lake/hundred), same seed, so the same rows.
LAKE_ROWS ?= 10000000
LAKE_SEED ?= 42
LAKE_SUBJECTS ?= 1000

.PHONY: help demo demo-servers demo-s3 bench bench-sql bench-lake fixtures-lake test build fmt fmt-check lint unit services s3-stop clean

help: ## List targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## Build every crate
	$(CARGO) build --workspace

demo: ## Fresh SQLite estate, the sample requests, one nightly run (output under var/demo)
	$(CARGO) run --quiet -p dsr-cli --bin dsr -- demo --out var/demo

demo-servers: ## The same demo with crm on PostgreSQL and support on MariaDB (output under var/demo-servers)
	./scripts/demo-servers.sh

demo-s3: ## The demo with evidence (Object Lock), reports and recordings in a local S3 server (moto)
	./scripts/demo-s3.sh

bench: bench-sql bench-lake ## Every benchmark (figures and ratios, not tests)

bench-sql: ## Batched find across PostgreSQL + MariaDB vs one query per subject vs the raw driver
	./scripts/bench-sql.sh

fixtures-lake: ## Parquet lakes for bench-lake under var/bench/lake (kept when already generated)
	$(CARGO) build --release --quiet -p dsr-cli --bin dsr
	$(TARGET_DIR)/release/dsr fixtures lake --rows $(LAKE_ROWS) --files 1 --seed $(LAKE_SEED) \
		--subjects $(LAKE_SUBJECTS) --out var/bench/lake/one --subjects-out var/bench/lake --keep-existing
	$(TARGET_DIR)/release/dsr fixtures lake --rows $(LAKE_ROWS) --files 100 --seed $(LAKE_SEED) \
		--subjects $(LAKE_SUBJECTS) --out var/bench/lake/hundred --subjects-out var/bench/lake --keep-existing

bench-lake: fixtures-lake ## dsr lake find/erase vs DuckDB over the 1-file and 100-file lakes (K = 1, 1000)
	DSR_DUCKDB_PYTHON="$$(./scripts/duckdb.sh)" $(TARGET_DIR)/release/dsr bench lake --dir var/bench/lake --json

test: fmt-check lint services unit ## Formatting, clippy -D warnings, every test (starts PostgreSQL/MariaDB/moto if down)

services: ## Make sure PostgreSQL, MariaDB and the S3 test server (moto) answer on 127.0.0.1 (start them if down)
	./scripts/services.sh
	./scripts/moto.sh start

s3-stop: ## Stop the local S3 test server (moto)
	./scripts/moto.sh stop

fmt: ## Format the code
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

clean: ## Remove build output and demo files
	./scripts/moto.sh stop
	$(CARGO) clean
	rm -rf var
