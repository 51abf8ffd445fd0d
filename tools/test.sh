#!/usr/bin/env bash
# Custody's test command (README.md; .ci/run calls exactly this).
#
# On a fresh Debian 12 machine it installs the missing packages, builds
# everything, runs every test, runs the quickstart, runs the core and device
# tests again under ASan + UBSan, and runs each fuzz target briefly under
# libFuzzer. It ends with one line:
#   tests: N passed, M failed
#
# Environment:
#   CUSTODY_FUZZ_SECONDS  seconds per fuzz target (default 5; 0 skips fuzzing)
set -uo pipefail
cd "$(dirname "$0")/.."

tools/install_deps.sh || exit 1

BAZEL_FLAGS=(--color=no --curses=no --noshow_progress)
failed_steps=()

step() {
  local name="$1"
  shift
  local start=$SECONDS
  echo "== ${name}"
  if "$@"; then
    echo "== ${name}: ok ($((SECONDS - start)) s)"
  else
    echo "== ${name}: FAILED ($((SECONDS - start)) s)"
    failed_steps+=("${name}")
  fi
}

# Every C++ file as clang-format-14 writes it (.clang-format: Google style, 100
# columns). To fix: clang-format-14 -i FILE.
format_check() {
  local files unformatted
  mapfile -t files < <(find core server manufacturer rendezvous owner device_client tools \
    integration protos -name '*.cc' -o -name '*.h' | sort)
  # One run over every file; each unformatted one is named in its warnings.
  unformatted=$(clang-format-14 --dry-run "${files[@]}" 2>&1 |
    sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: warning: code should be clang-formatted.*/\1/p' | sort -u)
  if [ -n "${unformatted}" ]; then
    echo "not formatted (run clang-format-14 -i on them):"
    echo "${unformatted}" | sed 's/^/  /'
    return 1
  fi
  echo "${#files[@]} files formatted"
}
step "format" format_check
step "build //..." bazel build "${BAZEL_FLAGS[@]}" //...
step "test //..." bazel test "${BAZEL_FLAGS[@]}" //...
# The README's first command, on the binaries just built.
quickstart_dir="$(mktemp -d "${TMPDIR:-/tmp}/custody-quickstart-test.XXXXXX")"
step "quickstart" tools/quickstart.sh "${quickstart_dir}"
rm -rf "${quickstart_dir}"
step "test --config=asan //core/... //server/... //device_client/... //owner/..." bazel test "${BAZEL_FLAGS[@]}" --config=asan //core/... //server/... //device_client/... //owner/...

testlogs="$(bazel info "${BAZEL_FLAGS[@]}" bazel-testlogs 2>/dev/null)"
asan_testlogs="$(bazel info "${BAZEL_FLAGS[@]}" --config=asan bazel-testlogs 2>/dev/null)"
asan_bin="$(bazel info "${BAZEL_FLAGS[@]}" --config=asan bazel-bin 2>/dev/null)"

# The sanitizer configuration must really instrument: a silently ignored flag
# would make the ASan run above worthless.
asan_binary="${asan_bin}/core/crypto/wycheproof_test"
asan_symbols="$(nm -D "${asan_binary}" 2>/dev/null || true)"
if grep -q ' U __asan_' <<<"${asan_symbols}" && grep -q ' U __ubsan_' <<<"${asan_symbols}"; then
  echo "== asan instrumentation: present"
else
  echo "== asan instrumentation: MISSING in ${asan_binary}"
  failed_steps+=("asan instrumentation")
fi

if [ "${CUSTODY_FUZZ_SECONDS:-5}" != "0" ]; then
  step "fuzz (${CUSTODY_FUZZ_SECONDS:-5} s per target)" tools/fuzz.sh "${CUSTODY_FUZZ_SECONDS:-5}"
fi

# What the Wycheproof test ran, file by file.
wycheproof_log="${testlogs}/core/crypto/wycheproof_test/test.log"
if [ -f "${wycheproof_log}" ]; then
  grep -E '^wycheproof |^  \(' "${wycheproof_log}"
fi

# Count test cases from the JUnit XML of every test target of both runs.
passed=0
failed=0
count_results() {
  local testlogs="$1"
  shift
  local target xml tests failures errors
  for target in "$@"; do
    xml="${testlogs}/$(echo "${target#//}" | tr ':' '/')/test.xml"
    if [ ! -f "${xml}" ]; then
      failed=$((failed + 1))
      continue
    fi
    tests=$(grep -o -m1 'tests="[0-9]*"' "${xml}" | grep -o '[0-9]*')
    failures=$(grep -o -m1 'failures="[0-9]*"' "${xml}" | grep -o '[0-9]*')
    errors=$(grep -o -m1 'errors="[0-9]*"' "${xml}" | grep -o '[0-9]*')
    failures=$((${failures:-0} + ${errors:-0}))
    passed=$((passed + ${tests:-0} - failures))
    failed=$((failed + failures))
  done
}
mapfile -t all_tests < <(bazel query --noshow_progress 'tests(//...)' 2>/dev/null)
mapfile -t core_tests < <(bazel query --noshow_progress 'tests(//core/... + //server/... + //device_client/... + //owner/...)' 2>/dev/null)
if [ "${#all_tests[@]}" -eq 0 ]; then
  failed_steps+=("listing the tests")
fi
count_results "${testlogs}" "${all_tests[@]}"
count_results "${asan_testlogs}" "${core_tests[@]}"

echo "test targets: ${#all_tests[@]} (and ${#core_tests[@]} again under ASan + UBSan)"
if [ "${#failed_steps[@]}" -gt 0 ]; then
  echo "failed steps: ${failed_steps[*]}"
  [ "${failed}" -eq 0 ] && failed=1
fi
echo "tests: ${passed} passed, ${failed} failed"
[ "${#failed_steps[@]}" -eq 0 ] && [ "${failed}" -eq 0 ]
