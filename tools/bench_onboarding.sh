#!/usr/bin/env bash
# Full onboarding (TO1 + TO2) end to end on loopback: starts rendezvous_server and
# owner_server (optimised builds, SQLite on disk), makes N devices whose vouchers
# are extended to the owner, imports them, waits until the owner has registered
# every one at the rendezvous service (automatic TO0), then runs
# tools/onboard_load against both (docs/performance.md).
#
#   tools/bench_onboarding.sh [DEVICES] [SECONDS]
#
# Reports onboardings per second, p50/p99 latency and the CPU time per onboarding
# of the owner, the rendezvous service and the devices, with 4 workers
# (saturated) and with 1, and the owner's threads created and futex calls over
# each run (perf). CUSTODY_BENCH_BIN: tools/bench_lib.sh.
# CUSTODY_BENCH_OWNER_KEY=softhsm keeps the owner key in a SoftHSM2 token made in
# the work folder (default: file, the owner.key file); tools/bench_keys.sh runs both.
set -euo pipefail
cd "$(dirname "$0")/.."
devices="${1:-64}"
seconds="${2:-10}"
. tools/bench_lib.sh
bin="$(bench_bin //rendezvous:rendezvous_server //owner:owner_server //tools:onboard_load \
  //tools:custodyctl)"
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-onboard.XXXXXX")"
rv=""
owner=""
trap 'kill $rv $owner 2>/dev/null; rm -rf "$work"' EXIT

start() {  # start NAME BINARY CONFIG: prints the pid, waits for the ports file
  rm -f "$work/$1.ports"
  "$2" --config "$3" 2>>"$work/$1.log" &
  echo $! > "$work/$1.pid"
  for _ in $(seq 100); do [ -s "$work/$1.ports" ] && break; sleep 0.1; done
}
rendezvous_config() {  # rendezvous_config PORT
  cat > "$work/rendezvous.textproto" <<CONFIG
server {
  state_dir: "$work/rv"
  listen_address: "127.0.0.1:$1"
  admin_listen_address: "127.0.0.1:0"
  ports_file: "$work/rendezvous.ports"
}
# The load comes from one address: no per-peer limit here.
to0_rate_limit { per_second: 1000000 burst: 1000000 }
to1_rate_limit { per_second: 1000000 burst: 1000000 }
CONFIG
}
# The rendezvous port goes into every device: bind one, then keep it.
rendezvous_config 0
start rendezvous "$bin/rendezvous/rendezvous_server" "$work/rendezvous.textproto"
rv_port=$(sed -n 's/^device=//p' "$work/rendezvous.ports")
kill "$(cat "$work/rendezvous.pid")"; wait "$(cat "$work/rendezvous.pid")" 2>/dev/null || true

owner_key_line=""
if [ "${CUSTODY_BENCH_OWNER_KEY:-file}" = softhsm ]; then
  mkdir -p "$work/softhsm/tokens"
  printf 'directories.tokendir = %s/softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$work" > "$work/softhsm/softhsm2.conf"
  export SOFTHSM2_CONF="$work/softhsm/softhsm2.conf"
  ( umask 077; echo 24682468 > "$work/softhsm/pin" )
  softhsm2-util --init-token --free --label owner --pin 24682468 --so-pin 13571357 >/dev/null
  owner_key_line="owner_key: \"pkcs11:token=owner;object=owner?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:$work/softhsm/pin\""
fi

# The owner: its key must exist before the vouchers are extended to it.
owner_config() {  # owner_config PORT
  cat > "$work/owner.textproto" <<CONFIG
server {
  state_dir: "$work/owner"
  listen_address: "127.0.0.1:$1"
  admin_listen_address: "127.0.0.1:0"
  ports_file: "$work/owner.ports"
}
device_addresses: "127.0.0.1:${1/#0/1}"
rendezvous_tls_ca_file: "$work/rv/tls-ca.pem"
registration_poll_seconds: 1
to2_rate_limit { per_second: 1000000 burst: 1000000 }
$owner_key_line
CONFIG
}
owner_config 0
start owner "$bin/owner/owner_server" "$work/owner.textproto"
owner_port=$(sed -n 's/^device=//p' "$work/owner.ports")
kill "$(cat "$work/owner.pid")"; wait "$(cat "$work/owner.pid")" 2>/dev/null || true

"$bin/tools/onboard_load" prepare --work_dir "$work/load" --devices "$devices" \
  --owner_pub "$work/owner/owner.pub" --rendezvous_db "$work/rv/rendezvous.db" \
  --rendezvous_port "$rv_port"
rendezvous_config "$rv_port"
start rendezvous "$bin/rendezvous/rendezvous_server" "$work/rendezvous.textproto"
rv=$(cat "$work/rendezvous.pid")
owner_config "$owner_port"
start owner "$bin/owner/owner_server" "$work/owner.textproto"
owner=$(cat "$work/owner.pid")
admin=(--address "127.0.0.1:$(sed -n 's/^admin=//p' "$work/owner.ports")" --ca "$work/owner/tls-ca.pem"
       --cert "$work/ops.pem" --key "$work/ops.key")
"$bin/tools/custodyctl" admin-credential --state-dir "$work/owner" --name bench --role operator \
  --out "$work/ops" >/dev/null
"$bin/tools/custodyctl" owner import "$work/load/vouchers.pem" "${admin[@]}" >/dev/null
for _ in $(seq 600); do
  registered=$("$bin/tools/custodyctl" owner list "${admin[@]}" | grep -c "  registered  " || true)
  [ "$registered" -ge "$devices" ] && break
  sleep 0.1
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "devices: $devices, imported and registered by the owner (automatic TO0)"
echo "owner key: ${CUSTODY_BENCH_OWNER_KEY:-file}"
run() {
  count_syscalls "$owner" "$work/perf.txt" \
    "$bin/tools/onboard_load" run --work_dir "$work/load" --devices "$devices" \
    --rendezvous_address "127.0.0.1:$rv_port" --rendezvous_ca "$work/rv/tls-ca.pem" \
    --owner_pid "$owner" --rendezvous_pid "$rv" --seconds "$seconds" "$@"
}
echo "--- 4 workers (saturated)"
run --connections 4
echo "--- 1 worker"
run --connections 1
echo "owner database: $(du -h "$work/owner/owner.db" | cut -f1)"
