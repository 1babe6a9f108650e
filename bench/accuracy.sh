#!/usr/bin/env bash
# bench/accuracy.sh — headroom's breaking points against ground truth.
#
# Every target of examples/shapes (pool, cpu, redis, shed, retrograde, slo,
# none, flow) runs as its own process; its capacity is measured with wrk at
# fixed concurrency; then `headroom run --scrape` ramps it for 60 s (smooth
# and in six held steps, closed and open model where the shape allows) and
# `headroom analyze` answers. The sweep is internal/e2e's TestShapesEndToEnd
# with every variant (about 90 s each, 30 variants); this script prints its
# table: shape, truth (measured), found, error, bottleneck, reason, verdict.
#
#   bench/accuracy.sh                 the whole sweep (about 45 minutes)
#   SHAPES=cpu,redis bench/accuracy.sh   only some shapes
#   MATRIX=default bench/accuracy.sh  one variant per shape (about 12 minutes)
#
# Needs wrk, redis-server and prometheus-redis-exporter (scripts/testenv.sh up
# installs them). Exits non-zero when a run failed its check.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

MATRIX=${MATRIX:-full}
SHAPES=${SHAPES:-}
RESULTS=${RESULTS:-$ROOT/bench/results/accuracy-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS"
TABLE=$RESULTS/accuracy.tsv
LOG=$RESULTS/accuracy.log
: >"$TABLE"

export HEADROOM_TEST_WRK=${HEADROOM_TEST_WRK:-$(command -v wrk || true)}
if [ -z "$HEADROOM_TEST_WRK" ]; then
	echo "bench/accuracy.sh: wrk is not installed (scripts/testenv.sh up installs it)" >&2
	exit 1
fi

echo "[accuracy $(date +%H:%M:%S)] sweep ($MATRIX${SHAPES:+, shapes $SHAPES}); log in $LOG" >&2
HEADROOM_SHAPES_MATRIX=$MATRIX HEADROOM_SHAPES=$SHAPES HEADROOM_SHAPES_TABLE=$TABLE \
	go test -count=1 -timeout 120m -run '^TestShapesEndToEnd$' -v ./internal/e2e/ >"$LOG" 2>&1
status=$?

{
	echo
	echo "headroom accuracy — $(date -Is) — $(nproc) cores — results in $RESULTS"
} | tee "$RESULTS/summary.txt"
{
	printf '%s\n' "shape|run|truth (measured) RPS|found RPS|error|bottleneck|reason|check"
	while IFS=$'\t' read -r shape run truth found err bottleneck reason; do
		name="TestShapesEndToEnd/$shape/$run"
		if grep -q -- "--- PASS: $name " "$LOG"; then
			verdict=PASS
		elif grep -q -- "--- SKIP: $name " "$LOG"; then
			verdict=SKIP
		else
			verdict=FAIL
		fi
		printf '%s|%s|%s|%s|%s|%s|%s|%s\n' "$shape" "$run" "$truth" "$found" "$err" "$bottleneck" "$reason" "$verdict"
	done <"$TABLE"
} | awk -F'|' '
	{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; nf = NF > nf ? NF : nf }
	END {
		for (r = 1; r <= n; r++) {
			line = ""
			for (i = 1; i <= nf; i++) line = line sprintf("%s%-*s", i > 1 ? " | " : "", w[i], cell[r, i])
			print line
			if (r == 1) { sep = ""; for (i = 1; i <= nf; i++) sep = sep (i > 1 ? "-+-" : "") sprintf("%*s", w[i], ""); gsub(/ /, "-", sep); print sep }
		}
	}' | tee -a "$RESULTS/summary.txt"

if [ "$status" != 0 ]; then
	echo "bench/accuracy.sh: some runs failed their check; the reasons are in $LOG" >&2
fi
exit "$status"
