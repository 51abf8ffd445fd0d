#!/bin/bash
# Shell-level test of the operator CLI custodyctl: runs the real binary, as an
# operator would, and checks exit codes (0 success, 1 failure, 2 usage error),
# the files it writes and the key parts of what it prints.
#
# Run with: bazel test //tools:custodyctl_test --test_output=errors
#
# Not `set -e`: every exit code is checked explicitly.
set -u

# --- Locating the binary and a scratch directory ---------------------------------

# Under `bazel test` the working directory is the runfiles root of workspace "custody".
if [[ -x tools/custodyctl ]]; then
  CTL="$PWD/tools/custodyctl"
elif [[ -n "${TEST_SRCDIR:-}" && -x "$TEST_SRCDIR/custody/tools/custodyctl" ]]; then
  CTL="$TEST_SRCDIR/custody/tools/custodyctl"
else
  echo "FATAL: cannot find tools/custodyctl (PWD=$PWD, TEST_SRCDIR=${TEST_SRCDIR:-unset})" >&2
  exit 1
fi

if [[ -z "${TEST_TMPDIR:-}" ]]; then
  echo "FATAL: TEST_TMPDIR is not set; run this test with bazel test" >&2
  exit 1
fi
W="$TEST_TMPDIR/custodyctl_test"
rm -rf "$W"
mkdir -p "$W" || { echo "FATAL: cannot create $W" >&2; exit 1; }
OUT="$W/stdout"  # stdout of the last expect_exit
ERR="$W/stderr"  # stderr of the last expect_exit

# --- Helpers -------------------------------------------------------------------

PASSED=0
FAILED=0

pass() {
  PASSED=$((PASSED + 1))
  echo "PASS: $*"
}

fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL: $*"
}

# Shows the captured output of the last command, to explain a failure.
show_output() {
  echo "  --- stdout:"
  sed 's/^/  | /' "$OUT"
  echo "  --- stderr:"
  sed 's/^/  | /' "$ERR"
}

ctl() {
  "$CTL" "$@"
}

# expect_exit CODE CMD...: runs CMD with stdout in $OUT and stderr in $ERR, and
# checks that it exits with CODE.
expect_exit() {
  local want="$1"
  shift
  "$@" >"$OUT" 2>"$ERR"
  local got=$?
  local shown="$*"
  shown="${shown//"$W/"/}"  # Paths relative to the scratch directory, for brevity.
  if [[ "$got" == "$want" ]]; then
    pass "exit $want: $shown"
  else
    fail "exit $want expected, got $got: $shown"
    show_output
  fi
}

# expect_contains FILE TEXT: FILE contains the fixed string TEXT.
expect_contains() {
  local file="$1" text="$2"
  if grep -F -q -- "$text" "$file"; then
    pass "$(basename "$file") contains \"$text\""
  else
    fail "$(basename "$file") does not contain \"$text\""
    echo "  --- $file:"
    sed 's/^/  | /' "$file"
  fi
}

# expect_matches FILE REGEX: some line of FILE matches the extended regex REGEX.
expect_matches() {
  local file="$1" regex="$2"
  if grep -E -q -- "$regex" "$file"; then
    pass "$(basename "$file") matches /$regex/"
  else
    fail "$(basename "$file") does not match /$regex/"
    echo "  --- $file:"
    sed 's/^/  | /' "$file"
  fi
}

# expect_not_contains FILE TEXT: FILE does not contain the fixed string TEXT.
expect_not_contains() {
  local file="$1" text="$2"
  if grep -F -q -- "$text" "$file"; then
    fail "$(basename "$file") contains \"$text\", which it must not"
    echo "  --- $file:"
    sed 's/^/  | /' "$file"
  else
    pass "$(basename "$file") does not contain \"$text\""
  fi
}

# expect_equal_text FILE TEXT: FILE holds exactly TEXT and one newline.
expect_equal_text() {
  local file="$1" text="$2"
  if printf '%s\n' "$text" | cmp -s - "$file"; then
    pass "$(basename "$file") is exactly \"$text\""
  else
    fail "$(basename "$file") is not exactly \"$text\""
    echo "  --- $file:"
    sed 's/^/  | /' "$file"
  fi
}

# expect_empty FILE
expect_empty() {
  if [[ -e "$1" && ! -s "$1" ]]; then
    pass "$(basename "$1") is empty"
  else
    fail "$(basename "$1") is not empty (or missing)"
    [[ -e "$1" ]] && sed 's/^/  | /' "$1"
  fi
}

# expect_lines FILE N: FILE has exactly N lines.
expect_lines() {
  local n
  n=$(wc -l <"$1")
  if [[ "$n" == "$2" ]]; then
    pass "$(basename "$1") has $2 line(s)"
  else
    fail "$(basename "$1") has $n line(s), expected $2"
    sed 's/^/  | /' "$1"
  fi
}

# expect_file FILE: FILE exists and is not empty.
expect_file() {
  if [[ -f "$1" && -s "$1" ]]; then
    pass "file exists: ${1#"$W"/}"
  else
    fail "file missing or empty: ${1#"$W"/}"
  fi
}

# expect_no_file FILE
expect_no_file() {
  if [[ -e "$1" ]]; then
    fail "file exists but must not: ${1#"$W"/}"
  else
    pass "no file: ${1#"$W"/}"
  fi
}

# expect_mode FILE MODE: FILE's permission bits, as stat -c %a prints them.
expect_mode() {
  local got
  got=$(stat -c %a "$1" 2>/dev/null)
  if [[ "$got" == "$2" ]]; then
    pass "mode $2: ${1#"$W"/}"
  else
    fail "mode ${got:-?} expected $2: ${1#"$W"/}"
  fi
}

# expect_same_file A B: A and B are byte-identical.
expect_same_file() {
  if cmp -s "$1" "$2"; then
    pass "unchanged: ${1#"$W"/} == ${2#"$W"/}"
  else
    fail "files differ: ${1#"$W"/} != ${2#"$W"/}"
  fi
}

# expect_equal DESCRIPTION GOT WANT: two non-empty strings are equal.
expect_equal() {
  if [[ -n "$2" && "$2" == "$3" ]]; then
    pass "$1 ($2)"
  else
    fail "$1: got \"$2\", want \"$3\""
  fi
}

section() {
  echo
  echo "=== $*"
}

cd "$W" || exit 1

# --- Usage ------------------------------------------------------------------------

section "help and usage errors"

expect_exit 0 ctl help
expect_contains "$OUT" "usage: custodyctl COMMAND"
for command in "keygen --out PREFIX" "voucher inspect FILE" "voucher verify FILE" \
               "voucher extend FILE" "voucher sample --out DIR"; do
  expect_contains "$OUT" "  $command"
done
expect_contains "$OUT" "exit codes: 0 success, 1 failure, 2 usage error"
expect_empty "$ERR"

expect_exit 2 ctl
expect_empty "$OUT"
expect_contains "$ERR" "usage: custodyctl COMMAND"

expect_exit 2 ctl frobnicate
expect_contains "$ERR" "unknown command"
expect_contains "$ERR" "frobnicate"
expect_empty "$OUT"

expect_exit 2 ctl voucher frobnicate
expect_contains "$ERR" "unknown command"

expect_exit 2 ctl keygen --x
expect_contains "$ERR" "unknown option --x"
expect_lines "$ERR" 1

expect_exit 2 ctl keygen
expect_contains "$ERR" "--out is required"
expect_contains "$ERR" "is required"

expect_exit 2 ctl voucher extend "$W/none.pem" --to x.pub --out y.pem
expect_contains "$ERR" "--owner-key is required"

expect_exit 2 ctl voucher verify
expect_contains "$ERR" "expected 1 argument, got 0"
expect_empty "$OUT"

expect_exit 2 ctl voucher verify a.pem b.pem
expect_contains "$ERR" "got 2"

# A usage error creates nothing.
expect_exit 2 ctl keygen --out "$W/usage" --x
expect_no_file "$W/usage.key"
expect_no_file "$W/usage.pub"

# --- keygen ---------------------------------------------------------------------

section "keygen"

expect_exit 0 ctl keygen --out "$W/k256"
expect_contains "$OUT" "key P-256 SHA256:"
expect_contains "$OUT" "k256.key (private, mode 0600)"
expect_empty "$ERR"
expect_file "$W/k256.key"
expect_file "$W/k256.pub"
expect_mode "$W/k256.key" 600
expect_mode "$W/k256.pub" 644
expect_contains "$W/k256.key" "-----BEGIN PRIVATE KEY-----"
expect_contains "$W/k256.pub" "-----BEGIN PUBLIC KEY-----"

expect_exit 0 ctl keygen --out "$W/k384" --curve p384
expect_contains "$OUT" "key P-384 SHA256:"
expect_file "$W/k384.key"
expect_file "$W/k384.pub"
expect_mode "$W/k384.key" 600

# Re-running on the same prefix fails and leaves both files as they were.
cp "$W/k256.key" "$W/k256.key.orig"
cp "$W/k256.pub" "$W/k256.pub.orig"
expect_exit 1 ctl keygen --out "$W/k256"
expect_contains "$ERR" "refusing to overwrite"
expect_lines "$ERR" 1
expect_same_file "$W/k256.key" "$W/k256.key.orig"
expect_same_file "$W/k256.pub" "$W/k256.pub.orig"
expect_mode "$W/k256.key" 600

# Only PREFIX.key exists: keygen fails and leaves no PREFIX.pub behind.
cp "$W/k256.key.orig" "$W/halfway.key"
expect_exit 1 ctl keygen --out "$W/halfway"
expect_contains "$ERR" "refusing to overwrite"
expect_same_file "$W/halfway.key" "$W/k256.key.orig"
expect_no_file "$W/halfway.pub"

expect_exit 1 ctl keygen --out "$W/k521" --curve p521
expect_contains "$ERR" "unsupported curve"
expect_no_file "$W/k521.key"
expect_no_file "$W/k521.pub"

# --- voucher sample -------------------------------------------------------------------

section "voucher sample"

S="$W/sample"
expect_exit 0 ctl voucher sample --out "$S"
for listed in manufacturer.key/.pub device-ca.key/.pem device.key/.pem \
              device-hmac-secret.hex owner1.key/.pub voucher-0.pem voucher.pem; do
  expect_contains "$OUT" "$listed"
done
expect_contains "$OUT" "current owner: owner2"
SAMPLE_GUID=$(sed -n 's/^guid \([0-9a-f-]*\)$/\1/p' "$OUT")
for f in manufacturer.key manufacturer.pub device-ca.key device-ca.pem device.key device.pem \
         device-hmac-secret.hex owner1.key owner1.pub owner2.key owner2.pub \
         voucher-0.pem voucher-1.pem voucher-2.pem voucher.pem; do
  expect_file "$S/$f"
done
for f in manufacturer.key device-ca.key device.key owner1.key owner2.key device-hmac-secret.hex; do
  expect_mode "$S/$f" 600
done
for f in manufacturer.pub device-ca.pem device.pem owner1.pub owner2.pub voucher.pem; do
  expect_mode "$S/$f" 644
done
expect_same_file "$S/voucher.pem" "$S/voucher-2.pem"

# A second, independent sample set: its device CA is not the first set's.
S2="$W/sample2"
expect_exit 0 ctl voucher sample --out "$S2"
expect_file "$S2/device-ca.pem"

# Sampling into a directory that already holds a set refuses to overwrite it.
cp "$S/manufacturer.key" "$W/manufacturer.key.orig"
expect_exit 1 ctl voucher sample --out "$S"
expect_contains "$ERR" "refusing to overwrite"
expect_same_file "$S/manufacturer.key" "$W/manufacturer.key.orig"

S384="$W/sample384"
expect_exit 0 ctl voucher sample --out "$S384" --curve p384
expect_file "$S384/voucher.pem"
expect_mode "$S384/owner2.key" 600
expect_exit 0 ctl voucher inspect "$S384/voucher.pem"
expect_contains "$OUT" "(P-384)"
expect_not_contains "$OUT" "(P-256)"
expect_exit 0 ctl voucher verify "$S384/voucher.pem" --owner-pub "$S384/owner2.pub" \
  --manufacturer-pub "$S384/manufacturer.pub" --trust-root "$S384/device-ca.pem"
expect_equal_text "$OUT" "voucher OK"

expect_exit 1 ctl voucher sample --out "$W/sample521" --curve p521
expect_contains "$ERR" "unsupported curve"
expect_no_file "$W/sample521/voucher.pem"

# --- voucher inspect -------------------------------------------------------------------

section "voucher inspect"

expect_exit 0 ctl voucher inspect "$S/voucher.pem"
expect_contains "$OUT" "voucher 1 of 1"
expect_contains "$OUT" "guid:          $SAMPLE_GUID"
expect_contains "$OUT" "model:         gw-100"
expect_contains "$OUT" "serial:        SN-0001"
expect_contains "$OUT" "owners:        2"
expect_contains "$OUT" "signatures and hashes valid"
expect_empty "$ERR"
ENTRY1=$(sed -n 's/^    entry 1: \(SHA256:[0-9a-f]*\) .*$/\1/p' "$OUT")
CURRENT=$(sed -n 's/^  current owner: \(SHA256:[0-9a-f]*\)$/\1/p' "$OUT")
expect_equal "current owner is entry 1" "$CURRENT" "$ENTRY1"
if [[ ${#CURRENT} -eq 71 ]]; then
  pass "current owner is SHA256: and 64 hex digits"
else
  fail "current owner fingerprint has the wrong length: \"$CURRENT\""
fi
expect_equal "length of the sample guid" "${#SAMPLE_GUID}" "36"

expect_exit 0 ctl voucher inspect "$S/voucher-0.pem"
expect_contains "$OUT" "owners:        0"
expect_contains "$OUT" "UNSIGNED: no entries"

# A voucher with no entries is signed by nobody: it must not be attributed to the
# manufacturer, nor signed over by the manufacturer's key, unless asked for.
expect_exit 1 ctl voucher verify "$S/voucher-0.pem" --manufacturer-pub "$S/manufacturer.pub"
expect_contains "$ERR" "voucher.unsigned"
expect_exit 0 ctl voucher verify "$S/voucher-0.pem"
expect_exit 1 ctl voucher extend "$S/voucher-0.pem" --owner-key "$S/manufacturer.key" \
  --to "$S/owner1.pub" --out "$W/unsigned-extended.pem"
expect_contains "$ERR" "voucher.unsigned"
expect_contains "$ERR" "--trust-unsigned-header"
expect_exit 0 ctl voucher extend "$S/voucher-0.pem" --owner-key "$S/manufacturer.key" \
  --to "$S/owner1.pub" --out "$W/unsigned-extended.pem" --trust-unsigned-header
expect_exit 0 ctl voucher verify "$W/unsigned-extended.pem" --owner-pub "$S/owner1.pub" \
  --manufacturer-pub "$S/manufacturer.pub" --trust-root "$S/device-ca.pem"

expect_exit 0 ctl voucher inspect --json "$S/voucher.pem"
cp "$OUT" "$W/inspect.json"
if command -v python3 >/dev/null 2>&1 && python3 -c 'pass' >/dev/null 2>&1; then
  if python3 -c '
import json, sys
d = json.load(sys.stdin)
v = d["vouchers"]
assert len(v) == 1, v
v = v[0]
assert v["valid"] is True, v
assert v["guid"] == sys.argv[1], (v["guid"], sys.argv[1])
assert v["model"] == "gw-100", v
assert v["serial"] == "SN-0001", v
assert len(v["owners"]) == 2, v
assert v["owners"][1]["key"] == sys.argv[2], v
assert v["current_owner"] == sys.argv[2], v
' "$SAMPLE_GUID" "$CURRENT" <"$W/inspect.json"; then
    pass "inspect --json parses and matches the text output (python3)"
  else
    fail "inspect --json does not parse or does not match (python3)"
    sed 's/^/  | /' "$W/inspect.json"
  fi
else
  echo "(python3 not found: checking the JSON with grep)"
  expect_contains "$W/inspect.json" "\"valid\": true"
  expect_contains "$W/inspect.json" "\"model\": \"gw-100\""
  expect_contains "$W/inspect.json" "\"current_owner\": \"$CURRENT\""
fi
expect_not_contains "$W/inspect.json" "voucher 1 of 1"

expect_exit 1 ctl voucher inspect "$W/does-not-exist.pem"
expect_contains "$ERR" "No such file"

expect_exit 2 ctl voucher inspect
expect_contains "$ERR" "expected 1 argument, got 0"

# --- voucher verify -------------------------------------------------------------------

section "voucher verify"

expect_exit 0 ctl voucher verify "$S/voucher.pem" --owner-pub "$S/owner2.pub" \
  --manufacturer-pub "$S/manufacturer.pub" --trust-root "$S/device-ca.pem"
expect_equal_text "$OUT" "voucher OK"
expect_empty "$ERR"

# The --option=value spelling works too.
expect_exit 0 ctl voucher verify "$S/voucher.pem" --owner-pub="$S/owner2.pub"
expect_equal_text "$OUT" "voucher OK"

# Wrong owner: owner1 is the previous owner, not the current one.
expect_exit 1 ctl voucher verify "$S/voucher.pem" --owner-pub "$S/owner1.pub"
expect_contains "$ERR" "voucher.owner"
expect_contains "$ERR" "INVALID"
expect_contains "$ERR" "$SAMPLE_GUID"
expect_lines "$ERR" 1
expect_empty "$OUT"

# Wrong manufacturer: an unrelated key.
expect_exit 1 ctl voucher verify "$S/voucher.pem" --manufacturer-pub "$W/k256.pub"
expect_contains "$ERR" "voucher.manufacturer"
expect_empty "$OUT"

# Wrong trust root: the device CA of another sample set.
expect_exit 1 ctl voucher verify "$S/voucher.pem" --trust-root "$S2/device-ca.pem"
expect_contains "$ERR" "voucher.device_chain_trust"
expect_empty "$OUT"

# The other sample set's voucher does not verify against this set's keys either.
expect_exit 1 ctl voucher verify "$S2/voucher.pem" --owner-pub "$S/owner2.pub"
expect_contains "$ERR" "voucher.owner"

# A failure names the failed check, "voucher.<check>: ...".
CHECK_NAMED='voucher\.[a-z_]+: '

# Tampered: one base64 character changed in the middle of the body.
LINES=$(wc -l <"$S/voucher.pem")
MIDDLE=$(((LINES + 1) / 2))
awk -v L="$MIDDLE" -v C=20 '
  NR == L { ch = substr($0, C, 1); r = (ch == "A") ? "B" : "A"; $0 = substr($0, 1, C - 1) r substr($0, C + 1) }
  { print }' "$S/voucher.pem" >"$W/tampered.pem"
if cmp -s "$S/voucher.pem" "$W/tampered.pem"; then
  fail "the tampered voucher differs from the original"
else
  pass "the tampered voucher differs from the original (line $MIDDLE)"
fi
expect_equal "the tampered voucher has as many lines" "$(wc -l <"$W/tampered.pem")" "$LINES"
if grep -v -e '^-----BEGIN ' -e '^-----END ' "$W/tampered.pem" | grep -q '[^A-Za-z0-9+/=]'; then
  fail "the tampered voucher body is still base64"
else
  pass "the tampered voucher body is still base64"
fi
expect_exit 1 ctl voucher verify "$W/tampered.pem"
expect_matches "$ERR" "$CHECK_NAMED"
expect_empty "$OUT"
expect_exit 1 ctl voucher verify "$W/tampered.pem" --owner-pub "$S/owner2.pub" \
  --manufacturer-pub "$S/manufacturer.pub" --trust-root "$S/device-ca.pem"
expect_matches "$ERR" "$CHECK_NAMED"
expect_not_contains "$OUT" "OK"

# Truncated.
head -n 5 "$S/voucher.pem" >"$W/truncated.pem"
expect_exit 1 ctl voucher verify "$W/truncated.pem"
expect_contains "$ERR" "no END line"
expect_empty "$OUT"

# No voucher at all.
printf 'this is not a voucher\n' >"$W/novoucher.pem"
expect_exit 1 ctl voucher verify "$W/novoucher.pem"
expect_contains "$ERR" "block found"

# An empty file.
: >"$W/empty.pem"
expect_exit 1 ctl voucher verify "$W/empty.pem"
expect_contains "$ERR" "block found"
expect_empty "$OUT"

# Missing files: the voucher, and a key.
expect_exit 1 ctl voucher verify "$W/does-not-exist.pem"
expect_contains "$ERR" "No such file"
expect_exit 1 ctl voucher verify "$S/voucher.pem" --owner-pub "$W/does-not-exist.pub"
expect_contains "$ERR" "No such file"

# A public key option given a file that is not a public key.
expect_exit 1 ctl voucher verify "$S/voucher.pem" --owner-pub "$S/voucher.pem"
expect_empty "$OUT"

# Two vouchers in one file.
cat "$S/voucher-1.pem" "$S/voucher.pem" >"$W/two.pem"
expect_exit 0 ctl voucher verify "$W/two.pem"
expect_equal_text "$OUT" "2 vouchers OK"
expect_exit 0 ctl voucher inspect "$W/two.pem"
expect_contains "$OUT" "voucher 2 of 2"
expect_contains "$OUT" "owners:        1"
expect_contains "$OUT" "owners:        2"
# The first of the two has another current owner (owner1): named by position.
expect_exit 1 ctl voucher verify "$W/two.pem" --owner-pub "$S/owner2.pub"
expect_contains "$ERR" "voucher 1 $SAMPLE_GUID INVALID"
expect_contains "$ERR" "voucher.owner"

# --- voucher extend -------------------------------------------------------------------

section "voucher extend"

expect_exit 0 ctl keygen --out "$W/buyer"
BUYER=$(sed -n 's/^key P-256 \(SHA256:[0-9a-f]*\)$/\1/p' "$OUT")

expect_exit 0 ctl voucher extend "$S/voucher.pem" --owner-key "$S/owner2.key" \
  --to "$W/buyer.pub" --out "$W/v3.pem"
expect_contains "$OUT" "extended 1 voucher to $BUYER"
expect_contains "$OUT" "v3.pem"
expect_file "$W/v3.pem"
expect_exit 0 ctl voucher verify "$W/v3.pem" --owner-pub "$W/buyer.pub" \
  --manufacturer-pub "$S/manufacturer.pub" --trust-root "$S/device-ca.pem"
expect_equal_text "$OUT" "voucher OK"
expect_exit 1 ctl voucher verify "$W/v3.pem" --owner-pub "$S/owner2.pub"
expect_contains "$ERR" "voucher.owner"
expect_exit 0 ctl voucher inspect "$W/v3.pem"
expect_contains "$OUT" "owners:        3"
expect_contains "$OUT" "guid:          $SAMPLE_GUID"
expect_contains "$OUT" "entry 1: $ENTRY1"
expect_contains "$OUT" "entry 2: $BUYER"
expect_contains "$OUT" "current owner: $BUYER"

# The previous owner's key cannot extend.
expect_exit 1 ctl voucher extend "$S/voucher.pem" --owner-key "$S/owner1.key" \
  --to "$W/buyer.pub" --out "$W/v3-by-owner1.pem"
expect_contains "$ERR" "voucher.owner"
expect_contains "$ERR" "--owner-key must be the key of the voucher's current owner"
expect_lines "$ERR" 1
expect_no_file "$W/v3-by-owner1.pem"

# An existing --out is left alone.
cp "$W/v3.pem" "$W/v3.pem.orig"
expect_exit 1 ctl voucher extend "$S/voucher.pem" --owner-key "$S/owner2.key" \
  --to "$W/k256.pub" --out "$W/v3.pem"
expect_contains "$ERR" "refusing to overwrite"
expect_same_file "$W/v3.pem" "$W/v3.pem.orig"

# A private key readable by others is refused.
cp "$S/owner2.key" "$W/owner2-open.key"
chmod 0644 "$W/owner2-open.key"
expect_mode "$W/owner2-open.key" 644
expect_exit 1 ctl voucher extend "$S/voucher.pem" --owner-key "$W/owner2-open.key" \
  --to "$W/buyer.pub" --out "$W/v3-open.pem"
expect_contains "$ERR" "chmod 600"
expect_no_file "$W/v3-open.pem"

# A public key where the private key belongs is refused.
expect_exit 1 ctl voucher extend "$S/voucher.pem" --owner-key "$S/owner2.pub" \
  --to "$W/buyer.pub" --out "$W/v3-pub.pem"
expect_no_file "$W/v3-pub.pem"

# A missing --to key.
expect_exit 1 ctl voucher extend "$S/voucher.pem" --owner-key "$S/owner2.key" \
  --to "$W/does-not-exist.pub" --out "$W/v3-nokey.pem"
expect_contains "$ERR" "No such file"
expect_no_file "$W/v3-nokey.pem"

# A tampered voucher is not extended.
expect_exit 1 ctl voucher extend "$W/tampered.pem" --owner-key "$S/owner2.key" \
  --to "$W/buyer.pub" --out "$W/v3-tampered.pem"
expect_matches "$ERR" "$CHECK_NAMED"
expect_no_file "$W/v3-tampered.pem"

# Extending again from the new owner.
expect_exit 0 ctl voucher extend "$W/v3.pem" --owner-key "$W/buyer.key" \
  --to "$W/k384.pub" --out "$W/v4.pem"
expect_exit 0 ctl voucher verify "$W/v4.pem" --owner-pub "$W/k384.pub"
expect_equal_text "$OUT" "voucher OK"
expect_exit 0 ctl voucher inspect "$W/v4.pem"
expect_contains "$OUT" "owners:        4"
expect_contains "$OUT" "(P-384)"

# Bulk: every voucher of a file is extended.
cat "$S/voucher.pem" "$S/voucher.pem" >"$W/double.pem"
expect_exit 0 ctl voucher extend "$W/double.pem" --owner-key "$S/owner2.key" \
  --to "$W/buyer.pub" --out "$W/double3.pem"
expect_contains "$OUT" "extended 2 vouchers to $BUYER"
expect_equal "voucher blocks in the bulk output" "$(grep -c -- '-----BEGIN ' "$W/double3.pem")" "2"
expect_exit 0 ctl voucher verify "$W/double3.pem"
expect_equal_text "$OUT" "2 vouchers OK"
expect_exit 0 ctl voucher verify "$W/double3.pem" --owner-pub "$W/buyer.pub"
expect_equal_text "$OUT" "2 vouchers OK"

# Bulk with one voucher that the key does not own: nothing is written.
cat "$S/voucher.pem" "$S/voucher-1.pem" >"$W/mixed.pem"
expect_exit 1 ctl voucher extend "$W/mixed.pem" --owner-key "$S/owner2.key" \
  --to "$W/buyer.pub" --out "$W/mixed3.pem"
expect_contains "$ERR" "voucher 2 $SAMPLE_GUID"
expect_contains "$ERR" "voucher.owner"
expect_no_file "$W/mixed3.pem"

# --- Summary --------------------------------------------------------------------

echo
echo "$PASSED passed, $FAILED failed"
if [[ "$FAILED" -ne 0 || "$PASSED" -eq 0 ]]; then
  exit 1
fi
exit 0
