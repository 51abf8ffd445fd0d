#!/usr/bin/env bash
# End to end with real binaries on loopback: a device initialised by the
# manufacturer is sold to the owner (its voucher extended and imported), the
# owner registers it at the rendezvous service by itself (automatic TO0), and
# `custody_device onboard` finds the owner (TO1) and joins it (TO2): the owner
# lists it as onboarded, and the device's status shows its new GUID, the owner,
# its operational certificate and its support end date.
set -u

. "$(dirname "$0")/e2e_lib.sh"
W=$(mktemp -d "${TEST_TMPDIR:-/tmp}/owner-e2e.XXXXXX")
. "$(dirname "$0")/onboarding_lib.sh"
trap stop_services EXIT

start_rendezvous "127.0.0.1:0"
start_manufacturer
start_owner
check "the three services listen" test -n "$RV_PORT" -a -n "$M_PORT" \
  -a -n "$(port_of "$W/owner.ports" device)"
check "operators" setup_operators
check "the owner created its key at first start" test -s "$OSTATE/owner.pub"
check "support declared" "$CTL" manufacturer declare-support --model gw-100 --until 2031-12-31 \
  --policy-url https://acme.example/security "${M_ADMIN[@]}" $(M_OPS)

# The metrics before the device's DI, TO0, TO1 and TO2 (and one refusal).
DI_DONE='custody_sessions_total{protocol="di",outcome="completed"}'
TO0_DONE='custody_sessions_total{protocol="to0",outcome="completed"}'
TO1_DONE='custody_sessions_total{protocol="to1",outcome="completed"}'
TO2_DONE='custody_sessions_total{protocol="to2",outcome="completed"}'
TO1_UNKNOWN='custody_session_refusals_total{protocol="to1",check="to1.unknown_guid"}'
ONBOARD_OK='custody_grpc_calls_total{method="/custody.v1.Owner/Onboard",code="0"}'
IMPORT_REFUSED='custody_admin_refusals_total{method="/custody.v1.OwnerAdmin/ImportVouchers",check="admin.role"}'
di0=$(metric "$W/manufacturer.ports" "$DI_DONE")
to0_0=$(metric "$W/rendezvous.ports" "$TO0_DONE")
to1_0=$(metric "$W/rendezvous.ports" "$TO1_DONE")
unknown0=$(metric "$W/rendezvous.ports" "$TO1_UNKNOWN")
to2_0=$(metric "$W/owner.ports" "$TO2_DONE")
onboard0=$(metric "$W/owner.ports" "$ONBOARD_OK")
import_refused0=$(metric "$W/owner.ports" "$IMPORT_REFUSED")
check "each service serves its metrics" scrape "$W/owner.ports"
contains "build information" 'custody_build_info{service="owner",version="'

device_config "$W/device1" SN-1
check "device DI" "$DEVICE" --config "$W/device1.textproto" init
GUID=$(sed -n 's/^initialised: GUID //p' "$W/out")
check "[metrics] one DI completed" test "$(metric "$W/manufacturer.ports" "$DI_DONE")" -eq $((di0 + 1))
check "extended to the owner" "$CTL" manufacturer extend "$GUID" --to "$OSTATE/owner.pub" \
  --out "$W/voucher.pem" "${M_ADMIN[@]}" $(M_OPS)
check "a stranger's key" "$CTL" keygen --out "$W/stranger"
check "extended to a stranger instead" "$CTL" voucher extend "$W/voucher.pem" --owner-key "$OSTATE/owner.key" \
  --to "$W/stranger.pub" --out "$W/stranger-voucher.pem"

refuse "the auditor cannot import" "admin.role" "$CTL" owner import "$W/voucher.pem" "${O_ADMIN[@]}" "${O_AUDIT[@]}"
check "[metrics] the admin refusal counted under its method and check" \
  test "$(metric "$W/owner.ports" "$IMPORT_REFUSED")" -eq $((import_refused0 + 1))
refuse "a voucher for someone else is refused" "owner.not_addressed" \
  "$CTL" owner import "$W/stranger-voucher.pem" "${O_ADMIN[@]}" "${O_OPS[@]}"
refuse "nothing to find before the import" "to1.unknown_guid" "$DEVICE" --config "$W/device1.textproto" locate
check "[metrics] the refusal counted under its check" \
  test "$(metric "$W/rendezvous.ports" "$TO1_UNKNOWN")" -eq $((unknown0 + 1))
check "the owner imports the voucher" "$CTL" owner import "$W/voucher.pem" "${O_ADMIN[@]}" "${O_OPS[@]}"
contains "imported" "1 of 1 vouchers imported"
check "automatic TO0 registers it" wait_for_state "$GUID" registered
check "[metrics] one TO0 completed" test "$(metric "$W/rendezvous.ports" "$TO0_DONE")" -eq $((to0_0 + 1))
check "the rendezvous service holds the registration" "$CTL" rendezvous list "${RV_ADMIN[@]}" \
  --cert "$W/rv-ops.pem" --key "$W/rv-ops.key"
contains "registered with the owner's address" "127.0.0.1:$OWNER_PORT"
check "importing again changes nothing" "$CTL" owner import "$W/voucher.pem" "${O_ADMIN[@]}" "${O_OPS[@]}"
contains "nothing new" "0 of 1 vouchers imported"

printf 'ntp.server=ntp.globex.example\nlog.level=info\n' > "$W/model.settings"
printf 'log.level=debug\n' > "$W/device.settings"
check "settings for the model" "$CTL" owner settings set "$W/model.settings" --model gw-100 "${O_ADMIN[@]}" "${O_OPS[@]}"
check "settings for the device" "$CTL" owner settings set "$W/device.settings" --device "$GUID" "${O_ADMIN[@]}" "${O_OPS[@]}"
printf 'bad key=1\n' > "$W/bad.settings"
refuse "a malformed key is refused" "owner.settings" "$CTL" owner settings set "$W/bad.settings" --model gw-100 "${O_ADMIN[@]}" "${O_OPS[@]}"
check "the auditor reads them" "$CTL" owner settings get --device "$GUID" "${O_ADMIN[@]}" "${O_AUDIT[@]}"
contains "device's value" "log.level=debug"

check "the device onboards (TO1 + TO2)" "$DEVICE" --config "$W/device1.textproto" onboard
contains "onboarded line" "onboarded: GUID "
NEW_GUID=$(sed -n 's/^onboarded: GUID \([^ ]*\) .*/\1/p' "$W/out")
check "[metrics] one TO1 completed" test "$(metric "$W/rendezvous.ports" "$TO1_DONE")" -eq $((to1_0 + 1))
check "[metrics] one TO2 completed" test "$(metric "$W/owner.ports" "$TO2_DONE")" -eq $((to2_0 + 1))
check "[metrics] one Onboard call ended OK" \
  test "$(metric "$W/owner.ports" "$ONBOARD_OK")" -eq $((onboard0 + 1))
check "a new GUID" test -n "$NEW_GUID" -a "$NEW_GUID" != "$GUID"
check "the owner lists it onboarded" "$CTL" owner list "${O_ADMIN[@]}" "${O_AUDIT[@]}"
contains "onboarded, with its new GUID" "$GUID  onboarded  gw-100/SN-1  now $NEW_GUID"
check "the owner shows it by its new GUID" "$CTL" owner show "$NEW_GUID" "${O_ADMIN[@]}" "${O_AUDIT[@]}" \
  --replacement-voucher "$W/replacement.pem"
contains "reported software" "software:    1.4.2"
contains "support end date sent" "security updates until 2031-12-31"
contains "replacement voucher kept" "replacement voucher written"
OWNER_FP_ADMIN=$(sed -n 's/^owner key:   //p' "$W/out")
check "the replacement voucher is for the new GUID" "$CTL" voucher inspect "$W/replacement.pem"
contains "new GUID in the replacement voucher" "$NEW_GUID"

check "the device's status" "$DEVICE" --config "$W/device1.textproto" status
contains "onboarded state" "state:   onboarded"
contains "new GUID" "guid:    $NEW_GUID"
OWNER_FP=$(sed -n 's/^owner:   //p' "$W/out")
contains "operational certificate from the owner's CA" "O Globex, valid until"
contains "support end date" "security updates until 2031-12-31"
contains "merged settings (keys only)" "setting: ntp.server"
contains "fleet endpoint" "fleet:   127.0.0.1:$OWNER_PORT"
check "the device was onboarded by the owner's key" test -n "$OWNER_FP" -a "$OWNER_FP" = "$OWNER_FP_ADMIN"

refuse "onboarding twice is refused on the device" "already onboarded" "$DEVICE" --config "$W/device1.textproto" onboard

# The daemon: a second device onboards by itself once it is sold.
device_config "$W/device2" SN-2
check "device 2 DI" "$DEVICE" --config "$W/device2.textproto" init
GUID2=$(sed -n 's/^initialised: GUID //p' "$W/out")
"$DEVICE" --config "$W/device2.textproto" run > "$W/daemon2.log" 2>&1 &
DAEMON_PID=$!
check "the daemon retries while the device is not sold" \
  eventually grep -q "onboarding failed (attempt 1)" "$W/daemon2.log"
check "device 2 sold" "$CTL" manufacturer extend "$GUID2" --to "$OSTATE/owner.pub" --out "$W/voucher2.pem" "${M_ADMIN[@]}" $(M_OPS)
check "device 2 imported" "$CTL" owner import "$W/voucher2.pem" "${O_ADMIN[@]}" "${O_OPS[@]}"
check "the daemon onboards device 2" wait_for_onboarded_device "$W/device2.textproto"
check "the owner lists device 2 onboarded" wait_for_state "$GUID2" onboarded
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"
check "the daemon stops cleanly on SIGTERM" test $? -eq 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
