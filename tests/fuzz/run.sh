#!/bin/sh
# Runs each libFuzzer target in BUILD for SECONDS, starting from tests/fuzz/corpus/NAME (never
# written to: new inputs go to a scratch copy). A crash leaves its input in BUILD/artifacts/
# and fails the run; keep such inputs in tests/fuzz/regressions/NAME once fixed.
set -eu
build=$1 seconds=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$build/artifacts"
status=0
for bin in "$build"/fuzz_*; do
	case $bin in *.d) continue ;; esac
	name=${bin##*/fuzz_}
	work="$build/corpus/$name"
	mkdir -p "$work"
	seeds="$top/tests/fuzz/corpus/$name"
	regress="$top/tests/fuzz/regressions/$name"
	[ -d "$regress" ] || regress=
	log="$build/$name.log"
	if "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$build/artifacts/$name-" "$work" "$seeds" $regress >"$log" 2>&1; then
		result=ok
	else
		result=FAILED
		status=1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	printf 'fuzz %-18s %s: %s executions, %s exec/s\n' "$name" "$result" "${execs:-?}" "${rate:-?}"
	[ $result = ok ] || tail -40 "$log"
done
exit $status
