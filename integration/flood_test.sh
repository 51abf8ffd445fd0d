#!/usr/bin/env bash
# Floods with the real binaries on loopback (docs/server.md, "Caps and connection bounds"): each of the
# manufacturer (DI), the rendezvous service (TO1) and the owner (TO2) gets
# FLOOD_IDLE streams that send nothing plus FLOOD_STALL that send the first
# message and stall, and FLOOD_EXTRA more than its per-peer cap. The flood comes
# from [::1]; a legitimate device on 127.0.0.1 (another peer) completes its
# exchange during the flood, within 2 s. Each service keeps its thread count
# under the documented bound and its memory under FLOOD_MAX_RSS_MB, every
# admitted stream ends at its step deadline with `<protocol>.step_deadline`
# seen by the client, and those over the cap get RESOURCE_EXHAUSTED
# `<protocol>.peer_sessions`. Then 5,000 TCP connections that never start TLS
# are closed within the handshake deadline and the owner's descriptor count
# returns to its baseline.
set -u

. "$(dirname "$0")/e2e_lib.sh"
W=$(mktemp -d "${TEST_TMPDIR:-/tmp}/flood.XXXXXX")
FLOOD_IDLE=${FLOOD_IDLE:-3000}
FLOOD_STALL=${FLOOD_STALL:-3000}
FLOOD_EXTRA=${FLOOD_EXTRA:-500}
FLOOD_TCP=${FLOOD_TCP:-5000}
STEP_DEADLINE=15
HANDSHAKE_TIMEOUT=3
MAX_THREADS=64  # docs/server.md: the bound on a service's threads.
FLOOD_MAX_RSS_MB=${FLOOD_MAX_RSS_MB:-320}  # docs/server.md: 6,000 sessions fit in it.
PER_PEER=$((FLOOD_IDLE + FLOOD_STALL))
SERVER_EXTRA="step_deadline_seconds: $STEP_DEADLINE
  handshake_timeout_seconds: $HANDSHAKE_TIMEOUT
  max_sessions: $((PER_PEER + 1000))
  max_sessions_per_peer: $PER_PEER"
# The flood is one peer: no rate limit stands in front of the caps here.
TO1_RATE_LIMIT='per_second: 1000000 burst: 1000000'
TO2_RATE_LIMIT='per_second: 1000000 burst: 1000000'
OWNER_EXTRA='to2_hello_budget { per_second: 1000000 burst: 1000000 }'
OWNER_LISTEN_HOST="[::]"
. "$(dirname "$0")/onboarding_lib.sh"
FLOOD=$(find_binary tools/stream_flood)
trap stop_services EXIT

start_rendezvous "[::]:0"
start_manufacturer "[::]:0"
start_owner
check "the three services listen" test -n "$RV_PORT" -a -n "$M_PORT" -a -n "$O_ADMIN"
check "operators" setup_operators
check "device 1 sold" sell_device "$W/device1" SN-1
GUID1=$GUID
check "device 1 registered" wait_for_state "$GUID1" registered

# watch PID: samples the process's threads and resident memory every 50 ms into
# $W/watch.PID until the file $W/stop-watch exists.
watch_process() {
  local pid=$1 threads rss
  : > "$W/watch.$pid"
  while [ ! -e "$W/stop-watch" ]; do
    threads=$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
    rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null)
    [ -n "$threads" ] && echo "$threads $rss" >> "$W/watch.$pid"
    sleep 0.05
  done
}
max_threads() { sort -n "$W/watch.$1" | tail -1 | cut -d' ' -f1; }
max_rss_mb() { cut -d' ' -f2 "$W/watch.$1" | sort -n | tail -1 | awk '{print int($1 / 1024)}'; }

# count KIND CODE CHECK: how many streams of the flood report ended so.
count() {
  awk -v kind="$1" -v code="$2" -v check="$3" '
    $1 == "outcome" { split($2, k, "="); split($3, c, "="); split($4, n, "="); split($5, x, "=");
      if ((kind == "any" || k[2] == kind) && c[2] == code && n[2] == check) total += x[2] }
    END { print total + 0 }' "$W/flood.out"
}
# The shortest and longest time from a stream's last answer to its end, over
# the streams that ended with CHECK.
span() {
  awk -v check="$2" -v field="$1" '
    $1 == "outcome" { split($4, n, "="); if (n[2] == check) { split($6, lo, "="); split($7, hi, "=");
      if (min == "" || lo[2] < min) min = lo[2]; if (hi[2] > max) max = hi[2] } }
    END { print (field == "min" ? min : max) }' "$W/flood.out"
}
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

wait_ready() {  # the flood tool has opened every stream
  for _ in $(seq 1200); do grep -q '^ready' "$W/flood.out" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# flood NAME PID PROTOCOL TARGET CA [FLAGS...]; then LEGIT_COMMAND... runs
# during the flood. Checks the flood's report.
flood() {
  local name=$1 pid=$2 protocol=$3 target=$4 ca=$5
  shift 5
  rm -f "$W/stop-watch" "$W/flood.out"
  watch_process "$pid" &
  local watcher=$!
  "$FLOOD" --protocol "$protocol" --target "$target" --ca "$ca" --idle "$FLOOD_IDLE" \
    --stall $((FLOOD_STALL + FLOOD_EXTRA)) --channels 64 "$@" > "$W/flood.out" 2>"$W/flood.err" &
  local flooder=$!
  check "[$name] the flood is in place" wait_ready
  local start=$(date +%s%N)
  check "[$name] a legitimate device is served during the flood" "${LEGIT[@]}"
  local elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "[$name] legitimate exchange: $elapsed_ms ms"
  check "[$name] ... within 2 s" test "$elapsed_ms" -lt 2000
  wait "$flooder"
  touch "$W/stop-watch"; wait "$watcher"
  sed 's/^/  flood: /' "$W/flood.out"
  local admitted
  admitted=$(count any 4 "$protocol.step_deadline")
  check "[$name] every admitted stream ended at the step deadline ($admitted)" \
    test "$admitted" -eq "$PER_PEER"
  check "[$name] those over the cap got RESOURCE_EXHAUSTED $protocol.peer_sessions" \
    test "$(count any 8 "$protocol.peer_sessions")" -eq $((FLOOD_IDLE + FLOOD_STALL + FLOOD_EXTRA - PER_PEER))
  check "[$name] no stream ended otherwise" \
    test "$(grep -c '^outcome' "$W/flood.out")" -le 4
  check "[$name] the stalled streams had their answer first" \
    test "$(sed -n 's/.* answered=\([0-9]*\).*/\1/p' "$W/flood.out" | tail -1)" -eq \
      "$(count stall 4 "$protocol.step_deadline")"
  check "[$name] none ended before its deadline" \
    at_least "$(span min "$protocol.step_deadline")" $((STEP_DEADLINE - 1))
  check "[$name] none outlived it by much" \
    at_most "$(span max "$protocol.step_deadline")" $((STEP_DEADLINE + 15))
  echo "[$name] peak: $(max_threads "$pid") threads, $(max_rss_mb "$pid") MiB resident"
  check "[$name] threads stayed within $MAX_THREADS" test "$(max_threads "$pid")" -le "$MAX_THREADS"
  check "[$name] memory stayed within $FLOOD_MAX_RSS_MB MiB" \
    test "$(max_rss_mb "$pid")" -le "$FLOOD_MAX_RSS_MB"
}

# DI at the manufacturer; the legitimate device is initialised meanwhile.
device_config "$W/device2" SN-2
init_device2() { "$DEVICE" --config "$W/device2.textproto" init > "$W/init2.out"; }
LEGIT=(init_device2)
flood di "$MANUFACTURER_PID" di "[::1]:$M_PORT" "$MSTATE/tls-ca.pem" --model gw-100
GUID2=$(sed -n 's/^initialised: GUID //p' "$W/init2.out")
check "device 2 sold" "$CTL" manufacturer extend "$GUID2" --to "$OSTATE/owner.pub" \
  --out "$W/voucher2.pem" "${M_ADMIN[@]}" $(M_OPS)
check "device 2 imported" "$CTL" owner import "$W/voucher2.pem" "${O_ADMIN[@]}" "${O_OPS[@]}"
check "device 2 registered" wait_for_state "$GUID2" registered

# TO1 at the rendezvous service, for device 1; device 2 finds its owner meanwhile.
LEGIT=("$DEVICE" --config "$W/device2.textproto" locate)
flood to1 "$RENDEZVOUS_PID" to1 "[::1]:$RV_PORT" "$RSTATE/tls-ca.pem" --guid "$GUID1"

# TO2 at the owner, for device 1; device 2 onboards meanwhile (TO1 + TO2).
LEGIT=("$DEVICE" --config "$W/device2.textproto" onboard)
flood to2 "$OWNER_PID" to2 "[::1]:$OWNER_PORT" "$OSTATE/tls-ca.pem" --guid "$GUID1"
check "the owner lists device 2 onboarded" wait_for_state "$GUID2" onboarded

# Connections that never start TLS.
fds() { ls "/proc/$OWNER_PID/fd" | wc -l; }
baseline=$(fds)
"$FLOOD" --protocol tcp --target "127.0.0.1:$OWNER_PORT" --connections "$FLOOD_TCP" \
  > "$W/tcp.out" 2>"$W/tcp.err"
sed 's/^/  flood: /' "$W/tcp.out" "$W/tcp.err"
check "[tcp] the owner closed every connection" \
  grep -q "^tcp opened=$FLOOD_TCP closed=$FLOOD_TCP " "$W/tcp.out"
check "[tcp] ... within the handshake deadline" \
  at_most "$(sed -n 's/.*max_s=//p' "$W/tcp.out")" $((HANDSHAKE_TIMEOUT + 5))
back_to_baseline() {
  for _ in $(seq 200); do [ "$(fds)" -le "$baseline" ] && return 0; sleep 0.05; done
  echo "descriptors: $(fds), baseline $baseline"; return 1
}
check "[tcp] the owner's descriptors are back to their baseline ($baseline)" back_to_baseline

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
