#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer and AddressSanitizer and runs each for a given time.
#   Fuzz/run.sh [SECONDS] [TARGET...]     (default: 30 seconds, every target)
# Seeds are in Fuzz/corpus/<target>/ (committed); what libFuzzer finds goes to
# .build-fuzz/corpus/<target>/ (not committed); crashes, if any, to .build-fuzz/crashes/.
# Exits non-zero if a target crashes, leaks memory it should not, or times out.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzPolicy FuzzRoundFile FuzzCSV FuzzKeyFile FuzzAuditExport FuzzBatchFile FuzzTallyBatch)
export PATH="$PATH:/opt/swift/usr/bin"

swift build --package-path "$here" --scratch-path "$root/.build-fuzz" -c release \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -g >/dev/null
bin="$(swift build --package-path "$here" --scratch-path "$root/.build-fuzz" -c release --show-bin-path)"

status=0
for t in "${targets[@]}"; do
  work="$root/.build-fuzz/corpus/$t"
  crashes="$root/.build-fuzz/crashes/$t"
  mkdir -p "$work" "$crashes"
  echo "fuzz: $t for ${seconds}s"
  # detect_leaks=0: LeakSanitizer cannot follow Swift's tagged enum pointers and reports the
  # runtime's lazily built globals as leaks; memory errors are still caught by ASan.
  if ! ASAN_OPTIONS=detect_leaks=0 "$bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$crashes/" -print_final_stats=1 "$work" "$here/corpus/$t" 2> "$root/.build-fuzz/$t.log"; then
    echo "fuzz: $t FAILED; see .build-fuzz/$t.log and $crashes" >&2
    tail -30 "$root/.build-fuzz/$t.log" >&2
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|cov: [0-9]+" "$root/.build-fuzz/$t.log" | tail -3 | sed "s/^/  $t: /"
done
exit $status
