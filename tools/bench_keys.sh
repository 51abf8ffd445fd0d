#!/usr/bin/env bash
# The owner key in a file against the owner key in a SoftHSM2 token, in one run:
# signatures per second through the key store (//core/keys:key_benchmark), then
# full onboarding with each (tools/bench_onboarding.sh), for the owner's CPU per
# TO2 (docs/performance.md, "Keys").
#
#   tools/bench_keys.sh [DEVICES] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/bench_lib.sh
bin="$(bench_bin //core/keys:key_benchmark)"
"$bin/core/keys/key_benchmark" --benchmark_min_time=2
for key in file softhsm; do
  echo "=== owner key: $key"
  CUSTODY_BENCH_OWNER_KEY=$key tools/bench_onboarding.sh "${1:-64}" "${2:-10}"
done
