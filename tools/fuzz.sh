#!/usr/bin/env bash
# Runs every fuzz target of the project under libFuzzer (clang 14, ASan + UBSan).
#
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET_PATTERN]
#
# Fuzz builds use their own Bazel output base, so switching compilers never
# disturbs the main build's cache. Each target starts from a copy of its seed
# corpus (the directory its replay test names); new inputs stay in the work
# directory, never in the tree. A crash leaves its input there and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
pattern="${2:-//...}"
output_base="${HOME}/.cache/custody-bazel-fuzz"
work="$(mktemp -d "${TMPDIR:-/tmp}/custody-fuzz.XXXXXX")"
BAZEL=(bazel --output_base="${output_base}")
# No bazel-* convenience links from this output base: they would replace the
# main build's links, and the main server would then walk into them.
FLAGS=(--config=fuzz --color=no --curses=no --noshow_progress --symlink_prefix=/)

# Targets are listed by the main Bazel server, which knows to skip its own
# convenience links when it expands //...
mapfile -t replay_tests < <(bazel query --noshow_progress \
  "attr(name, '_fuzz_test$', tests(${pattern}))" 2>/dev/null)
if [ "${#replay_tests[@]}" -eq 0 ]; then
  echo "fuzz: no fuzz targets under ${pattern}" >&2
  exit 1
fi
fuzzers=()
for test in "${replay_tests[@]}"; do fuzzers+=("${test}_fuzzer"); done
"${BAZEL[@]}" build "${FLAGS[@]}" "${fuzzers[@]}"
bin="$("${BAZEL[@]}" info "${FLAGS[@]}" bazel-bin 2>/dev/null)"

status=0
for test in "${replay_tests[@]}"; do
  name="${test##*:}"
  corpus="$(bazel query --noshow_progress --output=build "${test}" 2>/dev/null |
    sed -n 's/^ *args = \["\(.*\)"\],$/\1/p')"
  binary="${bin}/$(echo "${test#//}" | tr ':' '/')_fuzzer"
  mkdir -p "${work}/${name}/corpus" "${work}/${name}/artifacts"
  cp -r "${corpus}/." "${work}/${name}/corpus/"
  if "${binary}" -max_total_time="${seconds}" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="${work}/${name}/artifacts/" "${work}/${name}/corpus" \
    >"${work}/${name}/log" 2>&1; then
    runs="$(grep -o 'Done [0-9]* runs' "${work}/${name}/log" | grep -o '[0-9]*' || echo '?')"
    echo "fuzz ${name}: ${runs} runs in ${seconds} s, no crash"
  else
    echo "fuzz ${name}: CRASH; input and log in ${work}/${name}" >&2
    tail -n 30 "${work}/${name}/log" >&2
    status=1
  fi
done
[ "${status}" -eq 0 ] && rm -rf "${work}"
exit "${status}"
