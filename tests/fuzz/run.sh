#!/usr/bin/env bash
# Runs the libFuzzer harnesses of a TRENODE_FUZZ build (`make fuzz` builds
# them and calls this):
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [HARNESS...]   (all harnesses if none named)
#
# Each harness runs for SECONDS on its committed corpus tests/fuzz/corpus/<h>/
# plus a working corpus BUILD_DIR/fuzz/corpus/<h>/ that persists between runs.
# Afterwards, unless FUZZ_MERGE=0, the inputs of the working corpus that reach
# code the committed corpus does not are merged into it (libFuzzer -merge=1),
# so the corpus `make test` replays grows only by inputs that add coverage.
# A crash, hang, leak or sanitizer report leaves its input in
# BUILD_DIR/fuzz/artifacts/<h>/ and makes the script exit 1 once every
# harness has run; replay it with BUILD_DIR/bin/<h>_fuzzer <file>.
set -uo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS [HARNESS...]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  harnesses=(csv_reader query_text query_wire node_config bundle jwks jwt activity_leaf table_csv pooling)
fi

# Harnesses whose interesting inputs are bigger than libFuzzer's default 4 KiB.
max_len() {
  case "$1" in
    bundle) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

failed=()
summary=()
for h in "${harnesses[@]}"; do
  bin="$build/bin/${h}_fuzzer"
  corpus="$here/corpus/$h"
  work="$build/fuzz/corpus/$h"
  artifacts="$build/fuzz/artifacts/$h"
  log="$build/fuzz/$h.log"
  if [ ! -x "$bin" ]; then
    echo "run.sh: no $bin (build the 'fuzzers' target of a TRENODE_FUZZ build)" >&2
    exit 2
  fi
  mkdir -p "$corpus" "$work" "$artifacts"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$h")"
           -artifact_prefix="$artifacts/" -print_final_stats=1)
  [ -f "$here/dict/$h.dict" ] && options+=(-dict="$here/dict/$h.dict")
  echo "== $h: fuzzing for ${seconds}s (log: $log)"
  before=$(find "$artifacts" -type f | wc -l)
  # CPU time, not wall time: the machine may be shared.
  cpu=$( { TIMEFORMAT='%U %S'; time "$bin" "${options[@]}" "$work" "$corpus" >"$log" 2>&1; } 2>&1 )
  rc=$?
  cpu=$(echo "$cpu" | awk '{printf "%d", $1 + $2}')
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(( $(find "$artifacts" -type f | wc -l) - before ))
  grep -E '^(==[0-9]+==ERROR|SUMMARY|.*fuzz check failed|.*runtime error)' "$log" | head -5
  if [ $rc -ne 0 ] || [ "$crashes" -gt 0 ]; then failed+=("$h"); fi
  added=0
  if [ "${FUZZ_MERGE:-1}" = 1 ]; then
    files_before=$(find "$corpus" -type f | wc -l)
    "$bin" -merge=1 -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$h")" \
      "$corpus" "$work" >>"$log" 2>&1
    added=$(( $(find "$corpus" -type f | wc -l) - files_before ))
  fi
  summary+=("$(printf '%-14s exit %-3s cpu %5ss  runs %-10s new inputs %-4s crashes %s' \
    "$h" "$rc" "$cpu" "${runs:-?}" "$added" "$crashes")")
done

echo
echo "== fuzzing summary (${seconds}s each)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashes or failures in: ${failed[*]}; inputs in $build/fuzz/artifacts/" >&2
  exit 1
fi
