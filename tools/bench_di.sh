#!/usr/bin/env bash
# DI throughput and server CPU per device: starts manufacturer_server on loopback
# with its SQLite database on disk, runs tools/di_load against it, and stops it.
#
#   tools/bench_di.sh [DEVICES] [CONCURRENCY]
#
# Also reports the server's threads created and futex calls over the run (perf).
# CUSTODY_BENCH_BIN: tools/bench_lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
devices="${1:-2000}"
concurrency="${2:-16}"
. tools/bench_lib.sh
bin="$(bench_bin //manufacturer:manufacturer_server //tools:di_load)"
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-di.XXXXXX")"
cat > "$work/manufacturer.textproto" <<CONFIG
organization: "Bench"
server {
  state_dir: "$work/state"
  listen_address: "127.0.0.1:0"
  admin_listen_address: "127.0.0.1:0"
  ports_file: "$work/ports"
}
models { model: "gw-100" rendezvous_info { endpoints { host: "localhost" port: 8041 } } }
CONFIG
"$bin/manufacturer/manufacturer_server" --config "$work/manufacturer.textproto" 2>"$work/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/ports" ] && break; sleep 0.1; done
port=$(sed -n 's/^device=//p' "$work/ports")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
count_syscalls "$server" "$work/perf.txt" \
  "$bin/tools/di_load" --address "127.0.0.1:$port" --ca "$work/state/tls-ca.pem" \
  --devices "$devices" --concurrency "$concurrency" --server_pid "$server"
