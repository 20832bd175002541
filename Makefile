# dsr — the two commands on a fresh machine are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help demo demo-servers demo-s3 bench bench-sql test build fmt fmt-check lint unit services s3-stop clean

help: ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## Build every crate
	$(CARGO) build --workspace

demo: ## Fresh SQLite estate, the sample requests, one nightly run (output under var/demo)
	$(CARGO) run --quiet -p dsr-cli --bin dsr -- demo --out var/demo

demo-servers: ## The same demo with crm on PostgreSQL and support on MariaDB (output under var/demo-servers)
	./scripts/demo-servers.sh

demo-s3: ## The demo with evidence (Object Lock), reports and recordings in a local S3 server (moto)
	./scripts/demo-s3.sh

bench: bench-sql ## Every benchmark (figures and ratios, not tests)

bench-sql: ## Batched find across PostgreSQL + MariaDB vs one query per subject vs the raw driver
	./scripts/bench-sql.sh

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
