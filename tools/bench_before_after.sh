#!/usr/bin/env bash
# Runs tools/bench_onboarding.sh and tools/bench_di.sh on two builds in one run,
# alternating, so both see the same machine (docs/performance.md).
#
#   tools/bench_before_after.sh BEFORE_BIN AFTER_BIN [ROUNDS]
#
# Each *_BIN is the bazel-bin of an optimised build (bazel build -c opt) holding
# rendezvous_server, owner_server, manufacturer_server, onboard_load, di_load and
# custodyctl; e.g. for an older commit:
#   git worktree add /tmp/before COMMIT && cd /tmp/before &&
#   bazel --output_base=/tmp/before-out build -c opt //rendezvous:rendezvous_server \
#     //owner:owner_server //manufacturer:manufacturer_server //tools:onboard_load \
#     //tools:di_load //tools:custodyctl
#   BEFORE_BIN=/tmp/before-out/execroot/custody/bazel-out/k8-opt/bin
set -euo pipefail
cd "$(dirname "$0")/.."
before="$1"
after="$2"
rounds="${3:-2}"
# CPU rounds, then one round that counts the servers' threads created and futex
# calls with perf (which slows the syscalls it counts).
for round in $(seq "$rounds") syscalls; do
  for which in before after; do
    bin=$before
    [ "$which" = after ] && bin=$after
    echo "=== round $round: $which ($bin)"
    syscalls=0
    [ "$round" = syscalls ] && syscalls=1
    CUSTODY_BENCH_SYSCALLS=$syscalls CUSTODY_BENCH_BIN="$bin" tools/bench_onboarding.sh 64 10
    CUSTODY_BENCH_SYSCALLS=$syscalls CUSTODY_BENCH_BIN="$bin" tools/bench_di.sh 2000 16
  done
done
