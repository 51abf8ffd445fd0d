#!/usr/bin/env bash
# The whole flow (DI, extend, import, TO0, TO1, TO2) with real binaries on
# loopback, with the manufacturer's voucher key and device CA key and the
# owner's key and fleet device CA key in PKCS#11 tokens: SoftHSM2, its tokens made
# in this test's temporary folder. The services create the keys in the tokens
# at first start; the keys are non-extractable (custodyctl key show reads that
# from the token) and none of them is in a file of the state folders. Then the
# refusals at start: a wrong PIN, a missing module, a missing key label, each
# naming the key and leaving the state folder as it was.
set -u

. "$(dirname "$0")/e2e_lib.sh"
W=$(mktemp -d "${TEST_TMPDIR:-/tmp}/hsm-e2e.XXXXXX")

MODULE=/usr/lib/softhsm/libsofthsm2.so
HSM="$W/softhsm"
mkdir -p "$HSM/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$HSM" \
  > "$HSM/softhsm2.conf"
export SOFTHSM2_CONF="$HSM/softhsm2.conf"
( umask 077; printf '%s\n' 31415926 > "$HSM/user.pin"; printf '%s\n' 27182818 > "$HSM/wrong.pin" )
for token in acme globex; do
  softhsm2-util --init-token --free --label "$token" --pin 31415926 --so-pin 16180339 >/dev/null ||
    { echo "FAIL softhsm2-util --init-token $token"; exit 1; }
done
key_uri() {  # key_uri TOKEN LABEL [PIN_FILE] [MODULE]
  echo "pkcs11:token=$1;object=$2?module-path=${4:-$MODULE}&pin-source=file:${3:-$HSM/user.pin}"
}
MANUFACTURER_EXTRA="voucher_key: \"$(key_uri acme voucher)\" device_ca_key: \"$(key_uri acme device-ca)\""
OWNER_EXTRA="owner_key: \"$(key_uri globex owner)\" device_ca_key: \"$(key_uri globex fleet-ca)\""
. "$(dirname "$0")/onboarding_lib.sh"
trap stop_services EXIT

# The voucher key made in the token by the operator before the first start (the
# other three keys the services make themselves at first start).
check "custodyctl key create in the token" \
  "$CTL" key create --uri "$(key_uri acme voucher)" --pub "$W/voucher-made.pub"
contains "it names the key" "created pkcs11:token=acme;object=voucher?"
refuse "key create never overwrites a key" "never overwritten" \
  "$CTL" key create --uri "$(key_uri acme voucher)"
start_rendezvous "127.0.0.1:0"
start_manufacturer
check "the manufacturer uses the key made before (voucher.pub is its public half)" \
  cmp "$W/voucher-made.pub" "$MSTATE/voucher.pub"
start_owner
check "the three services listen" test -n "$RV_PORT" -a -n "$M_PORT" \
  -a -n "$(port_of "$W/owner.ports" device)"
check "operators" setup_operators

check "device sold (DI with the token's device CA, extend with the token's voucher key, import)" \
  sell_device "$W/device1" SN-1
check "registered at the rendezvous service (TO0 signed by the token's owner key)" \
  wait_for_state "$GUID" registered
check "device onboards (TO1, TO2)" "$DEVICE" --config "$W/device1.textproto" onboard
check "the owner lists it as onboarded" wait_for_state "$GUID" onboarded

# Where each key is, read from the token through PKCS#11.
for uri in "$(key_uri acme voucher)" "$(key_uri acme device-ca)" "$(key_uri globex owner)" \
  "$(key_uri globex fleet-ca)"; do
  check "key show $uri" "$CTL" key show "$uri"
  contains "in the token" "backend:     pkcs11"
  contains "sensitive" "  sensitive: yes"
  contains "not extractable" "  extractable: no"
  contains "never extractable" "  never extractable: yes"
done
check "key list of the owner's configuration" "$CTL" key list --config "$W/owner.textproto"
contains "the owner key is in the token" "owner key: pkcs11 P-256 SHA256:"
contains "the device CA key is in the token" "device CA: pkcs11 P-256 SHA256:"
check "key list of the manufacturer's configuration" \
  "$CTL" key list --config "$W/manufacturer.textproto"
contains "the voucher key is in the token" "voucher key: pkcs11 P-256 SHA256:"
check "key show a file key" "$CTL" key show "file:$OSTATE/tls-ca.key"
contains "a file is exportable" "exportable: yes"
check "the public key the owner published is the token's" \
  "$CTL" key show "$(key_uri globex owner)"
fingerprint=$(sed -n 's/^  fingerprint: SHA256://p' "$W/out" | tr 'A-F' 'a-f')
published=$(openssl pkey -pubin -in "$OSTATE/owner.pub" -outform DER | sha256sum | cut -d' ' -f1)
check "[owner.pub] is the token key ($fingerprint)" test -n "$fingerprint" -a "$fingerprint" = "$published"

# No private key of those four in any file of the state folders: no key files
# for them, and no PKCS#8 or SEC1 EC private key structure other than the TLS
# keys' (which stay files: docs/keys.md).
for f in voucher.key device-ca.key; do check "no $f" test ! -e "$MSTATE/$f"; done
for f in owner.key device-ca.key; do check "no $f" test ! -e "$OSTATE/$f"; done
scan_private_keys() {  # prints every file of the folders holding a private key structure
  LC_ALL=C grep -rlaP \
    '\x30\x81\x87\x02\x01\x00\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01|\x30\x77\x02\x01\x01\x04\x20|\x30\x81\xb6\x02\x01\x00\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01|\x30\x81\xa4\x02\x01\x01\x04\x30|PRIVATE KEY-----' \
    "$@" 2>/dev/null
  # PEM private keys, decoded: their DER is what the pattern above finds.
  for pem in $(LC_ALL=C grep -rla 'PRIVATE KEY-----' "$@" 2>/dev/null); do echo "$pem"; done
}
check "the scan finds the TLS keys, which are files" \
  sh -c "$(declare -f scan_private_keys); scan_private_keys '$OSTATE' | grep -q '/tls-ca.key\$'"
found=$(scan_private_keys "$MSTATE" "$OSTATE" | sort -u | grep -vE '/(tls-ca|admin-ca|server)\.key$')
check "no other private key in the state folders (found: ${found:-none})" test -z "$found"

# Refusals at start, each naming the key, with nothing changed.
stop_services
snapshot() { (cd "$1" && find . -type f ! -name '*.log' ! -name '*-wal' ! -name '*-shm' -exec sha256sum {} + | sort); }
before=$(snapshot "$OSTATE")
try_owner() {  # try_owner OWNER_KEY_URI: starts the owner with that key; it must refuse
  grep -v '^owner_key: ' "$W/owner.textproto" > "$W/owner-bad.textproto"
  echo "owner_key: \"$1\" device_ca_key: \"$(key_uri globex fleet-ca)\"" >> "$W/owner-bad.textproto"
  timeout 60 "$OWNER" --config "$W/owner-bad.textproto" 2>"$W/refusal"
  local rc=$?
  cat "$W/refusal" >&2
  return $rc
}
refuse "a wrong PIN" "CKR_PIN_INCORRECT" try_owner "$(key_uri globex owner "$HSM/wrong.pin")"
check "the refusal names the key" grep -qF "token=globex;object=owner?" "$W/refusal"
refuse "a missing module" "no module at /usr/lib/nowhere/libpkcs11.so" \
  try_owner "$(key_uri globex owner "$HSM/user.pin" /usr/lib/nowhere/libpkcs11.so)"
refuse "a missing key label (records exist, so no new key)" "holds no private key" \
  try_owner "$(key_uri globex renamed)"
check "the refusal names the key" grep -qF "token=globex;object=renamed?" "$W/refusal"
check "the owner's state folder is unchanged by the refusals" test "$(snapshot "$OSTATE")" = "$before"
refuse "the token keeps no key under the missing label" "holds no private key" \
  "$CTL" key show "$(key_uri globex renamed)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
