#!/usr/bin/env bash
# End to end with real binaries on loopback: a device initialised by the
# manufacturer service finds its owner through the rendezvous service. The
# voucher is extended to the owner with custodyctl, the rendezvous operator
# trusts the manufacturer's key, the owner registers with custodyctl (TO0), and
# custody_device runs TO1 and verifies the owner's signed address record.
set -u

. "$(dirname "$0")/e2e_lib.sh"
W=$(mktemp -d "${TEST_TMPDIR:-/tmp}/e2e.XXXXXX")
. "$(dirname "$0")/onboarding_lib.sh"
trap stop_services EXIT

start_rendezvous "127.0.0.1:0"
check "rendezvous listens" test -n "$RV_PORT"
# The manufacturer writes the rendezvous service's address into every device.
start_manufacturer
check "manufacturer listens" test -n "$M_PORT"

device_config "$W/device1" SN-1
check "device 1 DI" "$DEVICE" --config "$W/device1.textproto" init
GUID=$(sed -n 's/^initialised: GUID //p' "$W/out")
device_config "$W/device2" SN-2
check "device 2 DI" "$DEVICE" --config "$W/device2.textproto" init
GUID2=$(sed -n 's/^initialised: GUID //p' "$W/out")

# The owner buys device 1: the manufacturer extends its voucher to the owner's key.
check "manufacturer operator" "$CTL" admin-credential --state-dir "$MSTATE" --name acme-ops --role operator --out "$W/acme-ops"
check "owner key" "$CTL" keygen --out "$W/owner"
OWNER_ID=$(sed -n 's/^key P-256 //p' "$W/out")
check "owner key has a fingerprint" test -n "$OWNER_ID"
check "another key" "$CTL" keygen --out "$W/stranger"
check "extend to the owner" "$CTL" manufacturer extend "$GUID" --to "$W/owner.pub" --out "$W/voucher.pem" \
  "${M_ADMIN[@]}" --cert "$W/acme-ops.pem" --key "$W/acme-ops.key"

RV_PUBLIC=(--address "127.0.0.1:$RV_PORT" --ca "$RSTATE/tls-ca.pem")
check "rendezvous operator" "$CTL" admin-credential --state-dir "$RSTATE" --name alice --role operator --out "$W/alice"
check "rendezvous auditor" "$CTL" admin-credential --state-dir "$RSTATE" --name bob --role auditor --out "$W/bob"
ALICE=(--cert "$W/alice.pem" --key "$W/alice.key")
BOB=(--cert "$W/bob.pem" --key "$W/bob.key")
REGISTER=("$CTL" rendezvous register "$W/voucher.pem" --owner-address owner.example:8043 --lifetime 2h "${RV_PUBLIC[@]}")

refuse "nothing registered: the device finds no owner" "to1.unknown_guid" "$DEVICE" --config "$W/device1.textproto" locate
refuse "deny by default: untrusted manufacturer" "to0.untrusted_manufacturer" "${REGISTER[@]}" --owner-key "$W/owner.key"
refuse "the auditor cannot trust a key" "admin.role" "$CTL" rendezvous trust "$MSTATE/voucher.pub" --label Acme "${RV_ADMIN[@]}" "${BOB[@]}"
check "the operator trusts Acme" "$CTL" rendezvous trust "$MSTATE/voucher.pub" --label Acme "${RV_ADMIN[@]}" "${ALICE[@]}"
check "the auditor lists the trust list" "$CTL" rendezvous trusted "${RV_ADMIN[@]}" "${BOB[@]}"
contains "Acme is trusted" "Acme"
refuse "a key that is not the voucher's owner" "voucher.owner" "${REGISTER[@]}" --owner-key "$W/stranger.key"
refuse "a malformed owner address" "is not HOST:PORT" "$CTL" rendezvous register "$W/voucher.pem" \
  --owner-address owner.example "${RV_PUBLIC[@]}" --owner-key "$W/owner.key"
check "the owner registers (TO0)" "${REGISTER[@]}" --owner-key "$W/owner.key"
contains "granted the capped lifetime" "(granted 3600 s)"
check "the auditor lists the registration" "$CTL" rendezvous list "${RV_ADMIN[@]}" "${BOB[@]}"
contains "listed with its owner" "owner $OWNER_ID"

check "the device finds its owner (TO1)" "$DEVICE" --config "$W/device1.textproto" locate
contains "verified owner key" "owner:   $OWNER_ID"
contains "owner's address" "connect: owner.example:8043"
contains "its own GUID" "guid:    $GUID"
refuse "another device finds nothing" "to1.unknown_guid" "$DEVICE" --config "$W/device2.textproto" locate

# Registrations survive a restart on the same port.
kill -TERM "$RENDEZVOUS_PID"
wait "$RENDEZVOUS_PID"
check "SIGTERM stops the rendezvous cleanly" test $? -eq 0
start_rendezvous "127.0.0.1:$RV_PORT"
check "found after a restart" "$DEVICE" --config "$W/device1.textproto" locate
contains "same owner after a restart" "owner:   $OWNER_ID"

# The owner removes its registration; the operator deletes one.
check "the owner unregisters" "$CTL" rendezvous unregister "$W/voucher.pem" --owner-key "$W/owner.key" "${RV_PUBLIC[@]}"
contains "removed" "removed"
refuse "gone after unregister" "to1.unknown_guid" "$DEVICE" --config "$W/device1.textproto" locate
check "registers again" "${REGISTER[@]}" --owner-key "$W/owner.key"
refuse "the auditor cannot delete" "admin.role" "$CTL" rendezvous delete "$GUID" "${RV_ADMIN[@]}" "${BOB[@]}"
check "the operator deletes it" "$CTL" rendezvous delete "$GUID" "${RV_ADMIN[@]}" "${ALICE[@]}"
refuse "gone after delete" "to1.unknown_guid" "$DEVICE" --config "$W/device1.textproto" locate
check "the operator distrusts Acme" "$CTL" rendezvous distrust "$MSTATE/voucher.pub" "${RV_ADMIN[@]}" "${ALICE[@]}"
refuse "distrusted: registration refused" "to0.untrusted_manufacturer" "${REGISTER[@]}" --owner-key "$W/owner.key"
check "the device 2 GUID differs" test "$GUID" != "$GUID2"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
