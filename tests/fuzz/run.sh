#!/bin/sh
# Runs each libFuzzer target in BUILD for SECONDS, starting from tests/fuzz/corpus/NAME (never
# written to: new inputs go to a scratch copy). A crash leaves its input in BUILD/artifacts/
# and fails the run; keep such inputs in tests/fuzz/regressions/NAME once fixed. Targets run
# FUZZ_JOBS at a time (default: one per CPU; a libFuzzer run uses one).
set -eu
build=$1 seconds=$2
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$build/artifacts"

run_one() {
	bin=$1
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
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	if [ $result = ok ]; then
		printf 'fuzz %-18s %s: %s executions, %s exec/s\n' "$name" "$result" "${execs:-?}" \
			"${rate:-?}"
	else
		# One write, so that lanes running side by side do not interleave it.
		printf 'fuzz %-18s %s: %s executions, %s exec/s\n%s\n' "$name" "$result" \
			"${execs:-?}" "${rate:-?}" "$(tail -40 "$log")"
		return 1
	fi
}

targets=
for bin in "$build"/fuzz_*; do
	case $bin in *.d) continue ;; esac
	targets="$targets $bin"
done
# Lane k runs the targets k, k + jobs, k + 2 jobs...
pids=
lane=0
while [ $lane -lt "$jobs" ]; do
	(
		st=0 i=0
		for bin in $targets; do
			[ $((i % jobs)) -eq $lane ] && { run_one "$bin" || st=1; }
			i=$((i + 1))
		done
		exit $st
	) &
	pids="$pids $!"
	lane=$((lane + 1))
done
status=0
for pid in $pids; do
	wait "$pid" || status=1
done
exit $status
