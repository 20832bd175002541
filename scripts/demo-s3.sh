#!/usr/bin/env bash
# `make demo-s3`: the demo with evidence, reports and call recordings in S3 — a local moto
# server (started if absent), evidence in a bucket with Object Lock — then the evidence is
# verified where it lies.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/moto.sh start >/dev/null
eval "$(./scripts/moto.sh env)"
export AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
out=$(cargo run --quiet -p dsr-cli --bin dsr -- demo --out var/demo-s3 --s3)
echo "$out"
evidence=$(sed -n 's/^evidence: \(s3:[^ ]*\).*/\1/p' <<<"$out")
echo
echo "verifying $evidence"
cargo run --quiet -p dsr-cli --bin dsr -- audit verify "$evidence" | tail -1
echo "evidence location: $evidence (endpoint $AWS_ENDPOINT_URL)"
