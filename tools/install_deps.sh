#!/usr/bin/env bash
# Installs the Debian 12 packages Custody needs to build, test and fuzz.
# A quick no-op when they are all present. Needs root (or sudo) only to install.
#
# Adding a dependency: add its package here and its library to
# third_party/system/system.BUILD (docs/building.md, "Adding a dependency").
set -euo pipefail

PACKAGES=(
  bazel-bootstrap
  g++
  protobuf-compiler
  protobuf-compiler-grpc
  libprotobuf-dev
  libgrpc++-dev
  libabsl-dev
  libssl-dev
  libsqlite3-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  libmicrohttpd-dev
  nlohmann-json3-dev
  clang-14
  clang-format-14
  libclang-rt-14-dev
  binutils
  openssl
  ca-certificates
  nftables
  iproute2
  util-linux
  procps
  libp11-kit-dev
  softhsm2
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "install_deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install_deps: missing packages (${missing[*]}) and not root; run as root or install them" >&2
    exit 1
  fi
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
echo "install_deps: done"
