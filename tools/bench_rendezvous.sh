#!/usr/bin/env bash
# TO1 and TO0 load on the rendezvous service: fills a database with N
# registrations, starts rendezvous_server on loopback over it, and runs
# tools/rendezvous_load against it (docs/performance.md).
#
#   tools/bench_rendezvous.sh [REGISTRATIONS] [SECONDS]
#
# Reports, for TO1: lookups per second, p50/p99 latency and server CPU per lookup
# with persistent connections (8 workers) and with a new TLS connection per lookup
# (4 workers, then 1); then the same for TO0 registrations.
set -euo pipefail
cd "$(dirname "$0")/.."
registrations="${1:-1000}"
seconds="${2:-10}"
bazel build -c opt //rendezvous:rendezvous_server //tools:rendezvous_load >/dev/null 2>&1
bin="$(bazel info -c opt bazel-bin 2>/dev/null)"
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-rv.XXXXXX")"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
"$bin/tools/rendezvous_load" populate --state_dir "$work/state" --work_dir "$work/load" \
  --registrations "$registrations"
cat > "$work/rendezvous.textproto" <<CONFIG
server {
  state_dir: "$work/state"
  listen_address: "127.0.0.1:0"
  admin_listen_address: "127.0.0.1:0"
  ports_file: "$work/ports"
}
# The load comes from one address: no per-peer limit here.
to0_rate_limit { per_second: 1000000 burst: 1000000 }
to1_rate_limit { per_second: 1000000 burst: 1000000 }
CONFIG
"$bin/rendezvous/rendezvous_server" --config "$work/rendezvous.textproto" 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do [ -s "$work/ports" ] && break; sleep 0.1; done
port=$(sed -n 's/^device=//p' "$work/ports")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "registrations: $registrations; database $(du -h "$work/state/rendezvous.db" | cut -f1)"
run() {
  "$bin/tools/rendezvous_load" "$@" --work_dir "$work/load" --address "127.0.0.1:$port" \
    --ca "$work/state/tls-ca.pem" --server_pid "$server" --seconds "$seconds"
}
echo "--- TO1, persistent connections"
run to1 --registrations "$registrations" --connections 8
echo "--- TO1, a new TLS connection per lookup, 4 workers (saturated)"
run to1 --registrations "$registrations" --connections 4 --new_connections
echo "--- TO1, a new TLS connection per lookup, 1 worker"
run to1 --registrations "$registrations" --connections 1 --new_connections
echo "--- TO0, persistent connections"
run to0 --connections 4
