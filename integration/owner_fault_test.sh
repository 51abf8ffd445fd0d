#!/usr/bin/env bash
# Faults during onboarding, with real binaries on loopback.
#
# The owner is killed (SIGKILL, by its fault-test flag) right after it has
# handled TO2 message 60 (HelloDevice), 64 (ProveDevice), 68 (the device's
# service info: the operational certificate is issued) and 70 (Done: the
# replacement voucher is committed, Done2 not yet sent). Each time the device's
# daemon keeps its old credential, which still works; the owner is restarted and
# the daemon completes (at 70 the owner onboards it again with the old
# credential, and keeps the newer replacement voucher). Then the rendezvous service is down while a device is
# sold and onboarding: automatic TO0 and the device both back off, and both
# complete once it is back.
set -u

. "$(dirname "$0")/e2e_lib.sh"
W=$(mktemp -d "${TEST_TMPDIR:-/tmp}/owner-fault.XXXXXX")
. "$(dirname "$0")/onboarding_lib.sh"
DAEMON_PID=
trap 'kill $DAEMON_PID 2>/dev/null; stop_services' EXIT

start_rendezvous "127.0.0.1:0"
start_manufacturer
start_owner
check "operators" setup_operators

wait_for_exit() {  # wait_for_exit PID: up to 30 s
  for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}
device_state() {  # device_state CONFIG: "<state> <guid>" from the status
  "$DEVICE" --config "$1" status 2>&1 | sed -n 's/^state: *//p; s/^guid: *//p' | tr '\n' ' '
}

for point in 60 64 68 70; do
  D="$W/device-$point"
  check "[$point] device sold" sell_device "$D" "SN-$point"
  OLD_GUID=$GUID
  check "[$point] registered" wait_for_state "$OLD_GUID" registered
  kill -TERM "$OWNER_PID"; wait "$OWNER_PID"
  start_owner --test_crash_after_to2_message=$point
  CRASHING_OWNER=$OWNER_PID
  "$DEVICE" --config "$D.textproto" run > "$W/daemon-$point.log" 2>&1 &
  DAEMON_PID=$!
  check "[$point] the owner dies after message $point" wait_for_exit "$CRASHING_OWNER"
  wait "$CRASHING_OWNER" 2>/dev/null
  check "[$point] the device keeps its old credential" test "$(device_state "$D.textproto")" = "initialized $OLD_GUID "
  # The daemon is paused while the owner restarts, to look at what the owner kept.
  kill -STOP "$DAEMON_PID"
  start_owner
  if [ "$point" = 70 ]; then
    check "[70] the owner had committed before it died" wait_for_state "$OLD_GUID" onboarded
  else
    check "[$point] the owner wrote nothing" wait_for_state "$OLD_GUID" registered
  fi
  kill -CONT "$DAEMON_PID"
  check "[$point] the daemon completes after the restart" wait_for_onboarded_device "$D.textproto"
  NEW_STATE=$(device_state "$D.textproto")
  check "[$point] one new credential" test "${NEW_STATE%% *}" = onboarded -a "${NEW_STATE#* }" != "$OLD_GUID "
  check "[$point] the daemon retried" grep -q "onboarding failed (attempt 1)" "$W/daemon-$point.log"
  check "[$point] the owner lists it onboarded" wait_for_state "$OLD_GUID" onboarded
  kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=
done

# The rendezvous service goes down; a device is sold and switched on meanwhile.
kill -TERM "$RENDEZVOUS_PID"; wait "$RENDEZVOUS_PID"
D="$W/device-rv"
device_config "$D" SN-RV
check "[rv] device DI" "$DEVICE" --config "$D.textproto" init
GUID=$(sed -n 's/^initialised: GUID //p' "$W/out")
check "[rv] extended" "$CTL" manufacturer extend "$GUID" --to "$OSTATE/owner.pub" --out "$W/rv.pem" "${M_ADMIN[@]}" $(M_OPS)
check "[rv] imported while the rendezvous service is down" "$CTL" owner import "$W/rv.pem" "${O_ADMIN[@]}" "${O_OPS[@]}"
"$DEVICE" --config "$D.textproto" run > "$W/daemon-rv.log" 2>&1 &
DAEMON_PID=$!
to0_failure_shown() {
  "$CTL" owner show "$GUID" "${O_ADMIN[@]}" "${O_AUDIT[@]}" | grep -q "last error:  TO0 failed"
}
check "[rv] automatic TO0 failed and says why" eventually to0_failure_shown
check "[rv] the owner shows the device" "$CTL" owner show "$GUID" "${O_ADMIN[@]}" "${O_AUDIT[@]}"
contains "[rv] still imported" "state:       imported"
check "[rv] the device backs off" eventually grep -q "onboarding failed (attempt 2)" "$W/daemon-rv.log"
check "[rv] still its old credential" test "$(device_state "$D.textproto")" = "initialized $GUID "
start_rendezvous "127.0.0.1:$RV_PORT"
# The device may onboard before a poll sees "registered": either shows TO0 worked.
check "[rv] registered once it is back" wait_for_state "$GUID" '\(registered\|onboarded\)'
check "[rv] the device onboards once it is back" wait_for_onboarded_device "$D.textproto"
check "[rv] the owner lists it onboarded" wait_for_state "$GUID" onboarded
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; DAEMON_PID=

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
