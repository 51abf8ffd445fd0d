#!/usr/bin/env bash
# End to end with real binaries on loopback: the manufacturer service, devices
# running DI (one, then 100 at once), and custodyctl exporting a voucher that
# verifies against the buyer's key and the manufacturer's device CA.
set -u

. "$(dirname "$0")/e2e_lib.sh"
SERVER=$(find_binary manufacturer/manufacturer_server)
DEVICE=$(find_binary device_client/custody_device)
CTL=$(find_binary tools/custodyctl)
W=$(mktemp -d "${TEST_TMPDIR:-/tmp}/e2e.XXXXXX")
STATE="$W/manufacturer"
cat > "$W/manufacturer.textproto" <<CONFIG
organization: "Acme"
server {
  state_dir: "$STATE"
  listen_address: "127.0.0.1:0"
  admin_listen_address: "127.0.0.1:0"
  ports_file: "$W/ports"
}
models { model: "gw-100" rendezvous_info { endpoints { host: "localhost" port: 8041 } } }
CONFIG

start_server() {
  launch "$SERVER" "$W/manufacturer.textproto" "$W/ports" "$W/server.log"
  SERVER_PID=$LAUNCHED_PID
  DEVICE_PORT=$(port_of "$W/ports" device)
  ADMIN_PORT=$(port_of "$W/ports" admin)
}
trap 'kill "$SERVER_PID" 2>/dev/null' EXIT
start_server
check "server listens" test -n "$DEVICE_PORT"

device_config() {  # device_config DIR SERIAL
  mkdir -p "$1"
  cat > "$1.textproto" <<CONFIG
state_dir: "$1"
model: "gw-100"
serial: "$2"
mud_url: "https://mud.example.com/gw-100.json"
manufacturer_address: "127.0.0.1:$DEVICE_PORT"
manufacturer_tls_ca_file: "$STATE/tls-ca.pem"
CONFIG
}
ADMIN=(--address "127.0.0.1:$ADMIN_PORT" --ca "$STATE/tls-ca.pem")

check "operator credential" "$CTL" admin-credential --state-dir "$STATE" --name alice --role operator --out "$W/alice"
check "auditor credential" "$CTL" admin-credential --state-dir "$STATE" --name bob --role auditor --out "$W/bob"
OPERATOR=(--cert "$W/alice.pem" --key "$W/alice.key")
PUBLIC=(--address "127.0.0.1:$DEVICE_PORT" --ca "$STATE/tls-ca.pem")

# Support period: declared, extended, never shortened; public to read.
refuse "no declaration yet" "has no support declaration" "$CTL" manufacturer support --model gw-100 "${PUBLIC[@]}"
check "declare support" "$CTL" manufacturer declare-support --model gw-100 --until 2030-06-30 \
  --policy-url https://acme.example/security "${ADMIN[@]}" "${OPERATOR[@]}"
contains "declaration 1" "until 2030-06-30 (sequence 1"
check "extend support" "$CTL" manufacturer declare-support --model gw-100 --until 2031-12-31 \
  --policy-url https://acme.example/security "${ADMIN[@]}" "${OPERATOR[@]}"
contains "declaration 2" "until 2031-12-31 (sequence 2"
refuse "shortening refused" "may only move later" "$CTL" manufacturer declare-support --model gw-100 \
  --until 2031-01-01 --policy-url https://acme.example/security "${ADMIN[@]}" "${OPERATOR[@]}"
refuse "auditor cannot declare" "auditor" "$CTL" manufacturer declare-support --model gw-100 \
  --until 2032-01-01 --policy-url https://acme.example/security "${ADMIN[@]}" --cert "$W/bob.pem" --key "$W/bob.key"
refuse "unknown model" "not configured" "$CTL" manufacturer declare-support --model gw-999 \
  --until 2032-01-01 --policy-url https://acme.example/security "${ADMIN[@]}" "${OPERATOR[@]}"
refuse "impossible date refused before connecting" "does not exist" "$CTL" manufacturer declare-support \
  --model gw-100 --until 2031-02-30 --policy-url https://acme.example/security --address 127.0.0.1:1 \
  --ca "$STATE/tls-ca.pem" "${OPERATOR[@]}"
check "public read, verified against the voucher key" "$CTL" manufacturer support --model gw-100 \
  "${PUBLIC[@]}" --manufacturer-key "$STATE/voucher.pub"
contains "public read shows the extended date" "security updates until: 2031-12-31"
contains "public read names the sequence" "sequence:               2"
check "another key" "$CTL" keygen --out "$W/other"
refuse "public read against another key fails" "signature" "$CTL" manufacturer support --model gw-100 \
  "${PUBLIC[@]}" --manufacturer-key "$W/other.pub"

device_config "$W/device1" SN-1
check "device init" "$DEVICE" --config "$W/device1.textproto" init
GUID=$(sed -n 's/^initialised: GUID //p' "$W/out")
check "device status" "$DEVICE" --config "$W/device1.textproto" status
contains "status shows the GUID" "guid:    $GUID"
contains "status shows the model" "model:   gw-100"
contains "status shows the support period in force at DI" "security updates until 2031-12-31"
refuse "second init refused" "already initialised" "$DEVICE" --config "$W/device1.textproto" init
device_config "$W/clone" SN-1
refuse "duplicate serial refused" "di.serial" "$DEVICE" --config "$W/clone.textproto" init

check "list" "$CTL" manufacturer list "${ADMIN[@]}" --cert "$W/alice.pem" --key "$W/alice.key"
contains "list shows the device" "gw-100  SN-1  manufactured"
check "owner key" "$CTL" keygen --out "$W/owner"
refuse "auditor cannot extend" "not allowed for the auditor role" \
  "$CTL" manufacturer extend "$GUID" --to "$W/owner.pub" --out "$W/refused.pem" "${ADMIN[@]}" --cert "$W/bob.pem" --key "$W/bob.key"
check "extend to the owner" "$CTL" manufacturer extend "$GUID" --to "$W/owner.pub" --out "$W/exported.pem" "${ADMIN[@]}" --cert "$W/alice.pem" --key "$W/alice.key"
check "export verifies" "$CTL" voucher verify "$W/exported.pem" --owner-pub "$W/owner.pub" \
  --manufacturer-pub "$STATE/voucher.pub" --trust-root "$STATE/device-ca.pem"
contains "verify says OK" "voucher OK"
refuse "no admin certificate, no admin API" "failed" \
  "$CTL" manufacturer list "${ADMIN[@]}" --cert "$STATE/server.pem" --key "$STATE/server.key"

# A hundred devices at once.
pids=()
for i in $(seq 100 199); do
  device_config "$W/device$i" "SN-$i"
  "$DEVICE" --config "$W/device$i.textproto" init >"$W/device$i.out" 2>&1 &
  pids+=($!)
done
ok=0
for pid in "${pids[@]}"; do wait "$pid" && ok=$((ok + 1)); done
check "100 concurrent devices initialised" test "$ok" -eq 100
guids=$(cat "$W"/device1??.out | sed -n 's/^initialised: GUID //p' | sort -u | wc -l)
check "100 distinct GUIDs" test "$guids" -eq 100
check "list after the crowd" "$CTL" manufacturer list "${ADMIN[@]}" --cert "$W/alice.pem" --key "$W/alice.key"
contains "101 vouchers listed" "101 vouchers"

# Graceful stop, restart, nothing lost.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "SIGTERM stops the server cleanly" test $? -eq 0
start_server
ADMIN=(--address "127.0.0.1:$ADMIN_PORT" --ca "$STATE/tls-ca.pem")
check "list after restart" "$CTL" manufacturer list "${ADMIN[@]}" --cert "$W/alice.pem" --key "$W/alice.key"
contains "nothing lost" "101 vouchers"
contains "the export is remembered" "$(echo "$GUID" | cut -c1-8)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
