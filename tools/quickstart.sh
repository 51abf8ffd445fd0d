#!/usr/bin/env bash
# Custody's quickstart: the whole zero-touch flow on this machine, from a bare
# Debian 12 to an onboarded device.
#
# It installs the Debian packages that are missing, builds the binaries, and
# creates a throwaway deployment in one folder (every key, certificate and admin
# credential is generated there; none is shipped): it starts the rendezvous
# service, a manufacturer and an owner on loopback, initialises a device (DI),
# extends its voucher to the owner, imports it there, lets the owner register it
# at the rendezvous service (automatic TO0), and lets the device find and join
# its owner (TO1 + TO2). One line per step, with its duration; a failure stops
# with the reason and where the logs are. Every service it started is stopped
# at the end (Bazel's own server keeps running, as after any build).
#
#   tools/quickstart.sh [FOLDER]     (default: a new folder under /tmp)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

W=${1:-$(mktemp -d /tmp/custody-quickstart.XXXXXX)}
mkdir -p "$W/logs" || exit 1
W=$(cd "$W" && pwd)
STEP=0

fail() {  # fail REASON
  echo "quickstart: FAILED: $1" >&2
  echo "quickstart: logs in $W/logs and $W/*.log" >&2
  exit 1
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
step() {  # step DESCRIPTION COMMAND...: runs in this shell, output to a log
  local description="$1"; shift
  STEP=$((STEP + 1))
  local log="$W/logs/$(printf '%02d' "$STEP").log" start elapsed
  start=$(now_ms)
  if "$@" >"$log" 2>&1; then
    elapsed=$(( $(now_ms) - start ))
    printf '%2d. %-64s %6d ms\n' "$STEP" "$description" "$elapsed"
  else
    printf '%2d. %-64s FAILED\n' "$STEP" "$description"
    sed 's/^/    | /' "$log" | tail -n 15 >&2
    fail "$description (log: $log)"
  fi
}

echo "Custody quickstart in $W"
step "install the Debian packages that are missing" tools/install_deps.sh
step "build the services, custody_device and custodyctl" \
  bazel build --color=no --curses=no --noshow_progress //manufacturer:manufacturer_server \
  //rendezvous:rendezvous_server //owner:owner_server //device_client:custody_device //tools:custodyctl
CUSTODY_BIN=$(bazel info --color=no bazel-bin 2>/dev/null) || fail "bazel info bazel-bin"
export CUSTODY_BIN

. "$ROOT/integration/e2e_lib.sh"
. "$ROOT/integration/onboarding_lib.sh"
trap stop_services EXIT

listening() {  # listening NAME PORT LOG
  [ -n "$2" ] && [ "$2" != 0 ] || { echo "the $1 did not start; its log:"; cat "$3"; return 1; }
}
started_rendezvous() { start_rendezvous "127.0.0.1:0"; listening "rendezvous service" "$RV_PORT" "$W/rendezvous.log"; }
started_manufacturer() { start_manufacturer; listening manufacturer "$M_PORT" "$W/manufacturer.log"; }
started_owner() { start_owner; listening owner "$OWNER_PORT" "$W/owner.log"; }
step "start the rendezvous service (TLS CA, keys, database created)" started_rendezvous
step "start the manufacturer \"Acme\" (model gw-100)" started_manufacturer
step "start the owner \"Globex\" (owner key, device CA created)" started_owner
step "issue operator credentials; the rendezvous service trusts Acme" setup_operators
step "Acme declares security updates for gw-100 until 2031-12-31" \
  "$CTL" manufacturer declare-support --model gw-100 --until 2031-12-31 \
  --policy-url https://acme.example/security "${M_ADMIN[@]}" $(M_OPS)
device_config "$W/device" SN-0001
step "initialise the device at the factory (DI)" "$DEVICE" --config "$W/device.textproto" init
GUID=$(sed -n 's/^initialised: GUID //p' "$W/logs/$(printf '%02d' "$STEP").log")
step "Acme extends the voucher to Globex's key" \
  "$CTL" manufacturer extend "$GUID" --to "$OSTATE/owner.pub" --out "$W/voucher.pem" "${M_ADMIN[@]}" $(M_OPS)
step "Globex imports the voucher" "$CTL" owner import "$W/voucher.pem" "${O_ADMIN[@]}" "${O_OPS[@]}"
step "Globex registers it at the rendezvous service (automatic TO0)" wait_for_state "$GUID" registered
step "the device finds its owner and onboards (TO1 + TO2)" "$DEVICE" --config "$W/device.textproto" onboard
step "Globex lists the device as onboarded" wait_for_state "$GUID" onboarded
echo
echo "The device (custody_device --config $W/device.textproto status):"
"$DEVICE" --config "$W/device.textproto" status | sed 's/^/  /'
echo
echo "Done. The services this started are stopped; the deployment stays in $W."
