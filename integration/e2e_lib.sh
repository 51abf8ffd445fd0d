# Shared by the end-to-end tests (and tools/quickstart.sh, which sets CUSTODY_BIN
# to bazel-bin): finding the binaries in the runfiles, and
# checks that count passes and failures and show the output of a failure.
# The sourcing script sets W, its work directory, first.

find_binary() {
  for candidate in "$1" "${TEST_SRCDIR:-}/custody/$1" "${CUSTODY_BIN:-}/$1"; do
    [ -x "$candidate" ] && { echo "$candidate"; return; }
  done
  echo "cannot find $1" >&2
  exit 1
}
passed=0
failed=0
check() {  # check NAME COMMAND... : the command must succeed
  local name="$1"; shift
  if "$@" >"$W/out" 2>"$W/err"; then
    passed=$((passed + 1)); echo "PASS $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/  | /' "$W/out" "$W/err"
  fi
}
refuse() {  # refuse NAME TEXT COMMAND... : the command must fail, saying TEXT
  local name="$1" text="$2"; shift 2
  if "$@" >"$W/out" 2>"$W/err"; then
    failed=$((failed + 1)); echo "FAIL $name (succeeded)"
  elif grep -qF -- "$text" "$W/err"; then
    passed=$((passed + 1)); echo "PASS $name"
  else
    failed=$((failed + 1)); echo "FAIL $name (no \"$text\")"; sed 's/^/  | /' "$W/err"
  fi
}
contains() {  # contains NAME TEXT: the last output holds TEXT
  if grep -qF -- "$2" "$W/out"; then passed=$((passed + 1)); echo "PASS $1"
  else failed=$((failed + 1)); echo "FAIL $1 (no \"$2\")"; sed 's/^/  | /' "$W/out"; fi
}

launch() {  # launch BINARY CONFIG PORTS_FILE LOG: starts a service, waits for its ports
  rm -f "$3"
  "$1" --config "$2" 2>>"$4" &
  LAUNCHED_PID=$!
  for _ in $(seq 300); do [ -s "$3" ] && break; sleep 0.1; done
}
port_of() {  # port_of PORTS_FILE device|admin
  sed -n "s/^$2=//p" "$1"
}

# The metrics endpoint (docs/operations.md, "Monitoring"), read with bash alone.
scrape() {  # scrape PORTS_FILE: prints the service's metrics
  local port
  port=$(port_of "$1" metrics)
  [ -n "$port" ] || return 1
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  cat <&3
  exec 3<&-
}
metric() {  # metric PORTS_FILE SERIES: the value of one series, 0 when absent
  scrape "$1" | awk -v s="$2" '$1 == s { v = $2 } END { print v + 0 }'
}
eventually() {  # eventually COMMAND...: polls the command for up to 20 s
  for _ in $(seq 200); do "$@" && return 0; sleep 0.1; done
  return 1
}
