#!/usr/bin/env bash
# Connection caps with the real binaries and the real kernel (docs/server.md,
# "Connection caps"): the owner prints its nftables rules (--nftables_rules) and
# nft loads them, in a network namespace of the test's own. Then connections to
# the owner's device port that never start TLS come from several peers: each
# peer (an IPv4 address, or an IPv6 /64) gets at most max_connections_per_peer,
# the port at most max_connections in all, the refused ones are reset before they
# reach the owner, a legitimate device onboards while the port is not full, and
# released connections free their places.
set -u

if [ -z "${CAPS_IN_NAMESPACE:-}" ]; then
  # A network namespace of our own: loopback only, our rules only.
  CAPS_IN_NAMESPACE=1 exec unshare --net -- "$0" "$@"
fi
PATH="$PATH:/usr/sbin:/sbin"

. "$(dirname "$0")/e2e_lib.sh"
W=$(mktemp -d "${TEST_TMPDIR:-/tmp}/caps.XXXXXX")
PER_PEER=40
PER_PORT=100
SERVER_EXTRA="handshake_timeout_seconds: 60
  max_connections: $PER_PORT
  max_connections_per_peer: $PER_PEER"
OWNER_LISTEN_HOST="[::]"
. "$(dirname "$0")/onboarding_lib.sh"
HOLD=$(find_binary tools/stream_flood)
HOLDERS=()
trap 'kill ${HOLDERS[*]} 2>/dev/null; stop_services' EXIT

check "loopback is up" ip link set lo up
# Two peers in one IPv6 /64, and one in another.
for a in 2001:db8::1 2001:db8::2 2001:db8:0:1::1; do
  check "address $a" ip -6 addr add "$a/128" dev lo nodad
done

start_rendezvous "127.0.0.1:0"
start_manufacturer
start_owner
check "the three services listen" test -n "$RV_PORT" -a -n "$M_PORT" -a -n "$O_ADMIN"
check "operators" setup_operators
check "a device sold" sell_device "$W/device1" SN-1
check "... and registered" wait_for_state "$GUID" registered

check "the owner prints its rules" "$OWNER" --config "$W/owner.textproto" --nftables_rules
cp "$W/out" "$W/rules.nft"
contains "the rules name the device port" "tcp dport $OWNER_PORT ct state new"
check "nft loads them" nft -f "$W/rules.nft"
check "... and loading again replaces them" nft -f "$W/rules.nft"
check "one table" test "$(nft list tables | grep -c custody_owner)" -eq 1

fds() { ls "/proc/$OWNER_PID/fd" | wc -l; }
baseline=$(fds)

# hold NAME SOURCE TARGET_HOST COUNT: opens COUNT connections from SOURCE, keeps
# them; sets HELD to the "connected=N refused=N" report.
hold() {
  local out="$W/hold.$1"
  "$HOLD" --protocol hold --source "$2" --target "$3:$OWNER_PORT" --connections "$4" \
    > "$out" 2>"$out.err" &
  HOLDERS+=($!)
  eval "PID_$1=$!"
  for _ in $(seq 300); do grep -q '^hold' "$out" && break; sleep 0.1; done
  HELD=$(sed -n 's/^hold //p' "$out")
  echo "[$1] from $2: $HELD"
}

hold a 127.0.0.2 127.0.0.1 60
check "[ipv4] one peer gets $PER_PEER connections, the rest are reset" \
  test "$HELD" = "connected=$PER_PEER refused=20"
hold b 2001:db8::1 "[2001:db8::1]" 30
check "[ipv6] a peer under its cap gets all" test "$HELD" = "connected=30 refused=0"
hold c 2001:db8::2 "[2001:db8::1]" 20
check "[ipv6] a second address in the same /64 shares its cap" \
  test "$HELD" = "connected=10 refused=10"

# 80 held: a legitimate device from 127.0.0.1 onboards.
start=$(date +%s%N)
check "a legitimate device onboards meanwhile" "$DEVICE" --config "$W/device1.textproto" onboard
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "legitimate onboarding: $elapsed_ms ms"
check "... within 2 s" test "$elapsed_ms" -lt 2000
check "the owner lists it onboarded" wait_for_state "$GUID" onboarded

# The device's connection has closed: wait until the kernel counts it so.
settled() {
  [ "$(ss -Htn state established "( sport = :$OWNER_PORT )" | wc -l)" -eq 80 ]
}
check "only the held connections remain" eventually settled
hold d 2001:db8:0:1::1 "[2001:db8:0:1::1]" 40
check "[port] another /64 gets only what is left of the port's $PER_PORT" \
  test "$HELD" = "connected=20 refused=20"
hold e 127.0.0.3 127.0.0.1 5
check "[port] a new peer is reset while the port is full" test "$HELD" = "connected=0 refused=5"
nft list table inet custody_owner > "$W/counters"
sed -n 's/.*counter packets \([0-9]*\).*comment "\(.*\)".*/  nft: \2: \1 reset/p' "$W/counters"
check "[nft] the per-peer rules reset 30" test "$(awk '/device: per peer/ { for (i = 1; i <= NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }' "$W/counters")" -eq 30
check "[nft] the per-port rule reset 25" test "$(awk '/device: per port/ { for (i = 1; i <= NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }' "$W/counters")" -eq 25
check "the owner holds no descriptor for a reset connection" test "$(fds)" -le $((baseline + PER_PORT))

# Released connections free their places.
kill "$PID_a"; wait "$PID_a" 2>/dev/null
freed() {
  local out="$W/hold.f"
  timeout 10 "$HOLD" --protocol hold --source 127.0.0.4 --target "127.0.0.1:$OWNER_PORT" \
    --connections 1 > "$out" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do grep -q '^hold' "$out" && break; sleep 0.1; done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  grep -q '^hold connected=1 ' "$out"
}
check "once a peer lets go, new connections are accepted again" eventually freed

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
