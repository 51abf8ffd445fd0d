# Shared by the benchmark scripts: where the binaries come from, and the
# threads created and futex calls of a server over a run (with perf, when the
# kernel lets it count syscalls).
#
#   CUSTODY_BENCH_BIN=DIR  use the optimised binaries under DIR (a bazel-bin)
#                          instead of building them: tools/bench_before_after.sh
#                          runs two builds this way.

bench_bin() {  # bench_bin TARGET...: builds (unless CUSTODY_BENCH_BIN) and prints the bin dir
  if [ -n "${CUSTODY_BENCH_BIN:-}" ]; then
    echo "$CUSTODY_BENCH_BIN"
    return
  fi
  bazel build -c opt "$@" >/dev/null 2>&1
  bazel info -c opt bazel-bin 2>/dev/null
}

# count_syscalls PID OUT COMMAND...: runs COMMAND; with CUSTODY_BENCH_SYSCALLS=1,
# while perf counts PID's clone and futex calls into OUT, and prints "threads
# created: N, futex calls: M". Counting syscalls slows them, so the CPU figures
# of such a run are not the ones to report.
count_syscalls() {
  local pid="$1" out="$2"
  shift 2
  if [ "${CUSTODY_BENCH_SYSCALLS:-0}" != 1 ] || ! command -v perf >/dev/null 2>&1; then
    "$@"
    return
  fi
  # perf counts PID's events for as long as COMMAND runs.
  perf stat -x, -e syscalls:sys_enter_clone,syscalls:sys_enter_clone3,syscalls:sys_enter_futex \
    -p "$pid" -o "$out" -- "$@"
  local clones futexes
  clones=$(awk -F, '/sys_enter_clone/ { n += $1 } END { print n + 0 }' "$out")
  futexes=$(awk -F, '/sys_enter_futex/ { n += $1 } END { print n + 0 }' "$out")
  echo "server threads created: $clones, futex calls: $futexes"
}
