#!/usr/bin/env bash
# Benchmarks delivery against two real MediaWiki wikis (see wikitest) and
# prints, for a fast and a paced run, the API requests and edits per
# delivered message and the makespan against its lower bounds.
#
#   bench/deliver/run.sh                  # 1,000 targets fast, 200 at 600/min
#   COURIER_BENCH_TARGETS=500 COURIER_BENCH_RATE=300 bench/deliver/run.sh
#   COURIER_BENCH_RATE=60 COURIER_BENCH_PACED_TARGETS=40 \
#       bench/deliver/run.sh -bench 'BenchmarkDeliver/^rate=60$/'   # the paced run only
#
# The paced run shows the pacing only when one edit takes less than the
# interval the rate gives (100ms at 600/min): on a loaded machine pick a
# lower rate. Arguments are passed on to go test.
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -run '^$' -bench '^BenchmarkDeliver$' -benchtime 1x -timeout 60m -v "$@" ./deliver/ |
	grep -E '^(Benchmark|    bench_test|ok|FAIL|---)'
