# Shared by the end-to-end tests of TO0, TO1 and onboarding, and by
# tools/quickstart.sh: a rendezvous service, a manufacturer and an owner on
# loopback, and devices initialised by the manufacturer whose vouchers are
# extended to the owner. Source e2e_lib.sh first; W is the work directory.

MANUFACTURER=$(find_binary manufacturer/manufacturer_server)
RENDEZVOUS=$(find_binary rendezvous/rendezvous_server)
OWNER=$(find_binary owner/owner_server)
DEVICE=$(find_binary device_client/custody_device)
CTL=$(find_binary tools/custodyctl)
MSTATE="$W/manufacturer"
RSTATE="$W/rendezvous"
OSTATE="$W/owner"
RENDEZVOUS_PID=
MANUFACTURER_PID=
OWNER_PID=
stop_services() {
  kill $RENDEZVOUS_PID $MANUFACTURER_PID $OWNER_PID 2>/dev/null
  wait 2>/dev/null
}

start_rendezvous() {  # start_rendezvous LISTEN_ADDRESS
  cat > "$W/rendezvous.textproto" <<CONFIG
server {
  state_dir: "$RSTATE"
  listen_address: "$1"
  admin_listen_address: "127.0.0.1:0"
  ports_file: "$W/rendezvous.ports"
  $SERVER_EXTRA
}
max_registration_lifetime_seconds: 3600
to0_rate_limit { per_second: 100 burst: 100 }
to1_rate_limit { ${TO1_RATE_LIMIT:-per_second: 100 burst: 100} }
CONFIG
  launch "$RENDEZVOUS" "$W/rendezvous.textproto" "$W/rendezvous.ports" "$W/rendezvous.log"
  RENDEZVOUS_PID=$LAUNCHED_PID
  RV_PORT=$(port_of "$W/rendezvous.ports" device)
  RV_ADMIN=(--address "127.0.0.1:$(port_of "$W/rendezvous.ports" admin)" --ca "$RSTATE/tls-ca.pem")
}

# SERVER_EXTRA: more lines for each service's server { } block; TO1_RATE_LIMIT,
# TO2_RATE_LIMIT and OWNER_EXTRA: other limits (the flood test's).
SERVER_EXTRA="${SERVER_EXTRA:-}"

start_manufacturer() {  # start_manufacturer [LISTEN_ADDRESS]; after start_rendezvous
  cat > "$W/manufacturer.textproto" <<CONFIG
organization: "Acme"
server {
  state_dir: "$MSTATE"
  listen_address: "${1:-127.0.0.1:0}"
  $SERVER_EXTRA
  admin_listen_address: "127.0.0.1:0"
  ports_file: "$W/manufacturer.ports"
}
models {
  model: "gw-100"
  rendezvous_info { endpoints { host: "127.0.0.1" port: $RV_PORT transport: TRANSPORT_GRPC_TLS } }
}
${MANUFACTURER_EXTRA:-}
CONFIG
  launch "$MANUFACTURER" "$W/manufacturer.textproto" "$W/manufacturer.ports" "$W/manufacturer.log"
  MANUFACTURER_PID=$LAUNCHED_PID
  M_PORT=$(port_of "$W/manufacturer.ports" device)
  M_ADMIN=(--address "127.0.0.1:$(port_of "$W/manufacturer.ports" admin)" --ca "$MSTATE/tls-ca.pem")
}

# The owner's device port must be known before it starts (it is registered at
# the rendezvous service): the first start binds a free port, which later
# starts keep. OWNER_LISTEN_HOST: the host it listens on (devices are given
# 127.0.0.1).
OWNER_PORT=0
OWNER_LISTEN_HOST="${OWNER_LISTEN_HOST:-127.0.0.1}"
start_owner() {  # start_owner [OWNER_SERVER_FLAGS...]
  local device_address="127.0.0.1:$OWNER_PORT"
  [ "$OWNER_PORT" = 0 ] && device_address="127.0.0.1:1"
  cat > "$W/owner.textproto" <<CONFIG
organization: "Globex"
server {
  state_dir: "$OSTATE"
  listen_address: "$OWNER_LISTEN_HOST:$OWNER_PORT"
  admin_listen_address: "127.0.0.1:${OWNER_ADMIN_PORT:-0}"
  ports_file: "$W/owner.ports"
  $SERVER_EXTRA
}
device_addresses: "$device_address"
rendezvous_tls_ca_file: "$RSTATE/tls-ca.pem"
registration_lifetime_seconds: 3600
registration_retry_max_seconds: 2
registration_poll_seconds: 1
to2_rate_limit { ${TO2_RATE_LIMIT:-per_second: 100 burst: 100} }
${OWNER_EXTRA:-}
CONFIG
  rm -f "$W/owner.ports"
  "$OWNER" --config "$W/owner.textproto" "$@" 2>>"$W/owner.log" &
  OWNER_PID=$!
  for _ in $(seq 300); do [ -s "$W/owner.ports" ] && break; sleep 0.1; done
  if [ "$OWNER_PORT" = 0 ]; then
    # First start: keep the ports, and start again advertising the real one.
    OWNER_PORT=$(port_of "$W/owner.ports" device)
    OWNER_ADMIN_PORT=$(port_of "$W/owner.ports" admin)
    kill -TERM "$OWNER_PID"; wait "$OWNER_PID"
    start_owner "$@"
    return
  fi
  O_ADMIN=(--address "127.0.0.1:$OWNER_ADMIN_PORT" --ca "$OSTATE/tls-ca.pem")
}

device_config() {  # device_config DIR SERIAL [EXTRA CONFIG LINES]
  mkdir -p "$1"
  cat > "$1.textproto" <<CONFIG
state_dir: "$1"
model: "gw-100"
serial: "$2"
software_version: "1.4.2"
max_retry_seconds: 1
manufacturer_address: "127.0.0.1:$M_PORT"
manufacturer_tls_ca_file: "$MSTATE/tls-ca.pem"
rendezvous_tls_ca_file: "$RSTATE/tls-ca.pem"
${3:-}
CONFIG
}

# Admin credentials of the three services, and the manufacturer trusted by the
# rendezvous service.
setup_operators() {
  "$CTL" admin-credential --state-dir "$MSTATE" --name acme-ops --role operator --out "$W/acme-ops" >/dev/null &&
  "$CTL" admin-credential --state-dir "$RSTATE" --name rv-ops --role operator --out "$W/rv-ops" >/dev/null &&
  "$CTL" admin-credential --state-dir "$OSTATE" --name globex-ops --role operator --out "$W/globex-ops" >/dev/null &&
  "$CTL" admin-credential --state-dir "$OSTATE" --name globex-audit --role auditor --out "$W/globex-audit" >/dev/null &&
  "$CTL" rendezvous trust "$MSTATE/voucher.pub" --label Acme "${RV_ADMIN[@]}" --cert "$W/rv-ops.pem" --key "$W/rv-ops.key" >/dev/null
}
M_OPS() { echo --cert "$W/acme-ops.pem" --key "$W/acme-ops.key"; }
O_OPS=(--cert "$W/globex-ops.pem" --key "$W/globex-ops.key")
O_AUDIT=(--cert "$W/globex-audit.pem" --key "$W/globex-audit.key")

# Initialises a device and sells it to the owner: DI, extend, import.
# Sets GUID.
sell_device() {  # sell_device DIR SERIAL
  device_config "$1" "$2"
  "$DEVICE" --config "$1.textproto" init >"$W/init.out" 2>>"$W/init.err" || return 1
  GUID=$(sed -n 's/^initialised: GUID //p' "$W/init.out")
  "$CTL" manufacturer extend "$GUID" --to "$OSTATE/owner.pub" --out "$W/$2.voucher.pem" \
    "${M_ADMIN[@]}" $(M_OPS) >/dev/null || return 1
  "$CTL" owner import "$W/$2.voucher.pem" "${O_ADMIN[@]}" "${O_OPS[@]}" >/dev/null
}

wait_for_state() {  # wait_for_state GUID STATE: polls the owner's list (20 s)
  for _ in $(seq 200); do
    "$CTL" owner list "${O_ADMIN[@]}" "${O_AUDIT[@]}" 2>/dev/null | grep -q "^$1  $2 " && return 0
    sleep 0.1
  done
  return 1
}

wait_for_onboarded_device() {  # wait_for_onboarded_device CONFIG: polls the device's status (30 s)
  for _ in $(seq 300); do
    "$DEVICE" --config "$1" status 2>/dev/null | grep -q "^state:   onboarded" && return 0
    sleep 0.1
  done
  return 1
}
