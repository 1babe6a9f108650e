#!/usr/bin/env bash
# bench/run.sh — measures headroom's load generator against wrk and a plain
# Go client, side by side in one run, on this machine, all traffic to
# 127.0.0.1 and every load bounded in time. See bench/README.md.
#
#   bench/run.sh              every part
#   bench/run.sh rps cpu      only the named parts: rps cpu mem car go realapp accuracy
#                             (accuracy is bench/accuracy.sh: the breaking
#                             points of every shape against measured capacity)
#
# Exits non-zero only when a tool fails to run; a missed goal is reported
# as MISS in the summary, not as a failure.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# Settings (environment overrides).
VUS=${VUS:-64}                          # closed-model concurrency for rps/cpu
DURATION=${DURATION:-15}                # seconds per closed-model run
ROUNDS=${ROUNDS:-3}                     # closed-model rounds; ratios are per round, best and spread reported
PIN=${PIN:-auto}                        # 1: target on core 0, generators on core 1; 0: no pinning; auto: 1 with 2+ cores and taskset
MEM_VUS=${MEM_VUS:-10000}               # idle VUs for mem
MEM_DURATION=${MEM_DURATION:-20}        # seconds per mem run
CAR_RATE=${CAR_RATE:-5000}              # iterations/s for car
CAR_DURATION=${CAR_DURATION:-30}        # seconds for car
CAR_PREALLOC=${CAR_PREALLOC:-200}       # pre-allocated VUs for car
CAR_MAXVUS=${CAR_MAXVUS:-2000}          # max VUs for car
TARGET_ARGS=${TARGET_ARGS:-}            # extra target flags, such as "--delay 5ms" or "--close"
BENCHTIME=${BENCHTIME:-3x}              # go test -benchtime for go
QUIET_WAIT=${QUIET_WAIT:-120}           # seconds to wait for other processes to calm down
QUIET_PCT=${QUIET_PCT:-25}              # "quiet" means less than this % of all CPU busy
RESULTS=${RESULTS:-$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)}

# Goals.
GOAL_RPS_RATIO=0.95   # headroom rps ≥ 0.95 × wrk, on the same core
GOAL_CPU_RATIO=1.1    # headroom CPU per request ≤ 1.1 × wrk's
GOAL_KIB_PER_VU=16    # memory per idle VU ≤ 16 KiB
GOAL_CAR_ERROR=0.01   # achieved arrival rate within 1% of the target
GOAL_LAG_P99_MS=5     # p99 scheduling lag < 5 ms

ALL_PARTS=(rps cpu mem car go realapp accuracy)
if [ $# -eq 0 ] || [ "$1" = all ]; then
	PARTS=("${ALL_PARTS[@]}")
else
	PARTS=("$@")
fi
for p in "${PARTS[@]}"; do
	case $p in
	rps | cpu | mem | car | go | realapp | accuracy) ;;
	-h | --help | help)
		sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "bench/run.sh: unknown part \"$p\": expected any of: ${ALL_PARTS[*]} (or none for all)" >&2
		exit 2
		;;
	esac
done
want() {
	local p
	for p in "${PARTS[@]}"; do [ "$p" = "$1" ] && return 0; done
	return 1
}

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

FAILED=0
fail() {
	log "ERROR: $*"
	FAILED=1
}

# Every process started in the background is recorded here and ended by
# its id on exit.
PIDS=()
TMP=$(mktemp -d "${TMPDIR:-/tmp}/headroom-bench.XXXXXX")
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.2
			done
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# report_accuracy runs bench/accuracy.sh (its own table is printed as it
# ends) and sums it up in one row.
report_accuracy() {
	log "accuracy: every shape's breaking point against its measured capacity (bench/accuracy.sh)"
	RESULTS="$RESULTS/accuracy" bash "$ROOT/bench/accuracy.sh"
	local sum=$RESULTS/accuracy/summary.txt pass total
	if [ ! -s "$sum" ]; then
		fail "bench/accuracy.sh wrote no table"
		return
	fi
	pass=$(grep -c '| PASS *$' "$sum")
	total=$(grep -cE '\| (PASS|FAIL|SKIP) *$' "$sum")
	row "accuracy: runs within ±15% with the right reason and bottleneck" "$pass/$total" - "all" "$([ "$pass" = "$total" ] && echo PASS || echo MISS)"
	NOTES+=("accuracy table: $sum")
}

# calc EXPR [DECIMALS] evaluates a floating-point expression.
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
# is_num VALUE succeeds when VALUE is a number.
is_num() { [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }

# ---------------------------------------------------------------- checks

check_deps() {
	local missing=()
	command -v go >/dev/null || {
		echo "bench/run.sh: go is not on PATH" >&2
		exit 1
	}
	command -v awk >/dev/null || missing+=(gawk)
	command -v timeout >/dev/null || missing+=(coreutils)
	if want rps || want cpu; then
		command -v wrk >/dev/null || missing+=(wrk)
		[ -x /usr/bin/time ] || missing+=(time)
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing missing tools: ${missing[*]}"
		if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$TMP/apt.log" 2>&1; then
			cat "$TMP/apt.log" >&2
			echo "bench/run.sh: could not install ${missing[*]}" >&2
			exit 1
		fi
	fi
	# 10,000 VUs and their connections need file descriptors.
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

build() {
	log "building into $TMP"
	local out
	for pkg in target baseline runjson; do
		if ! out=$(go build -o "$TMP/$pkg" "./bench/$pkg" 2>&1); then
			echo "$out" >&2
			echo "bench/run.sh: could not build ./bench/$pkg" >&2
			exit 1
		fi
	done
	HEADROOM_OK=0
	if want rps || want cpu || want mem || want car; then
		if ! out=$(go build -o "$TMP/headroom" ./cmd/headroom 2>&1); then
			echo "$out" | head -20 >&2
			fail "could not build ./cmd/headroom: headroom's figures are missing"
		elif ! "$TMP/headroom" run --help >"$TMP/run-help.txt" 2>&1; then
			tail -3 "$TMP/run-help.txt" >&2
			fail "'headroom run --help' failed: headroom's figures are missing"
		else
			HEADROOM_OK=1
		fi
	fi
}

# ---------------------------------------------------------------- quiet

# cpu_busy prints how busy all CPUs were over one second, in percent.
cpu_busy() {
	local a b i total=0 idle
	read -r -a a </proc/stat
	sleep 1
	read -r -a b </proc/stat
	# cpu user nice system idle iowait irq softirq steal
	idle=$((b[4] + b[5] - a[4] - a[5]))
	for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
	[ "$total" -gt 0 ] || total=1
	echo $((100 * (total - idle) / total))
}

# wait_quiet PART waits up to QUIET_WAIT seconds for the machine to be
# quiet, since other processes on these 2 cores skew every figure, and
# notes it in the summary when it is not.
NOTES=()
wait_quiet() {
	local busy waited=0
	busy=$(cpu_busy)
	while [ "$busy" -ge "$QUIET_PCT" ] && [ "$waited" -lt "$QUIET_WAIT" ]; do
		[ "$waited" = 0 ] && log "the machine is ${busy}% busy with other processes; waiting up to ${QUIET_WAIT}s before $1"
		sleep 4
		waited=$((waited + 5))
		busy=$(cpu_busy)
	done
	if [ "$busy" -ge "$QUIET_PCT" ]; then
		NOTES+=("$1 started with the machine ${busy}% busy with other processes: its figures are low")
		log "WARNING: ${NOTES[-1]}"
	fi
	echo "$1: ${busy}% busy before it started" >>"$RESULTS/env.txt"
}

# ---------------------------------------------------------------- pinning

# With PIN, the target runs on core 0 and every generator on core 1, so
# each generator gets exactly one core (as wrk -t1 does) and none competes
# with the target for it. GOMAXPROCS follows the affinity mask.
GEN=()
TGT=()
WRK_THREADS=2
setup_pin() {
	if [ "$PIN" = auto ]; then
		PIN=0
		if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then PIN=1; fi
	fi
	if [ "$PIN" = 1 ]; then
		TGT=(taskset -c 0)
		GEN=(taskset -c 1)
		WRK_THREADS=1
		log "pinned: target on core 0, generators on core 1"
	fi
	echo "pinning: $([ "$PIN" = 1 ] && echo "target core 0, generators core 1" || echo none)" >>"$RESULTS/env.txt"
}

# ---------------------------------------------------------------- target

TARGET_URL=
start_target() {
	rm -f "$TMP/target.addr"
	# shellcheck disable=SC2086 # TARGET_ARGS is a list of flags.
	"${TGT[@]}" "$TMP/target" --listen 127.0.0.1:0 --addr-file "$TMP/target.addr" --lifetime 1h $TARGET_ARGS \
		>"$RESULTS/target.out" 2>"$RESULTS/target.err" &
	PIDS+=($!)
	local i
	for i in $(seq 1 100); do
		[ -s "$TMP/target.addr" ] && break
		sleep 0.05
	done
	if [ ! -s "$TMP/target.addr" ]; then
		cat "$RESULTS/target.err" >&2
		echo "bench/run.sh: the target server did not start" >&2
		exit 1
	fi
	TARGET_URL="http://$(cat "$TMP/target.addr")/"
	log "target server at $TARGET_URL"
}

# ---------------------------------------------------------------- helpers

# timed NAME LIMIT CMD... runs CMD in the foreground under /usr/bin/time,
# bounded by LIMIT seconds; stdout and stderr go to $RESULTS/NAME.out and
# .err, user+sys CPU seconds to $RESULTS/NAME.cpu. Returns CMD's status.
timed() {
	local name=$1 limit=$2
	shift 2
	timeout -k 10 "$limit" /usr/bin/time -f '%U %S %M' -o "$RESULTS/$name.time" "$@" \
		>"$RESULTS/$name.out" 2>"$RESULTS/$name.err"
	local rc=$?
	tail -n1 "$RESULTS/$name.time" 2>/dev/null | awk '{ printf "%.2f\n", $1 + $2 }' >"$RESULTS/$name.cpu"
	return $rc
}

# runjson FILE prints run.json's figures as KEY=VALUE lines.
read_run() {
	"$TMP/runjson" "$1"
}

# get KEY FILE reads a KEY=VALUE file.
get() { sed -n "s/^$1=//p" "$2" | tail -n1; }

# x RATIO prints "RATIOx", or "-" when there is no ratio.
x() { if [ -n "${1:-}" ]; then echo "${1}x"; else echo -; fi; }

# Summary rows: metric | headroom | baseline | ratio/goal | verdict.
ROWS=()
row() { ROWS+=("$1|$2|$3|$4|$5"); }

verdict() { # verdict CONDITION-EXPR (awk) → PASS or MISS
	if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi
}

# ---------------------------------------------------------------- rps + cpu

H_RPS= H_REQ= H_CPU= W_RPS= W_REQ= W_CPU= B_RPS= B_REQ= B_CPU=
# Per-round ratios headroom / wrk (each round runs them back to back).
RPS_RATIOS=()
CPU_RATIOS=()

# better RPS BEST prints whether RPS beats BEST (or BEST is unset).
better() { is_num "$1" && { ! is_num "${2:-}" || awk "BEGIN { exit !($1 > $2) }"; }; }

# closed_loop runs headroom, wrk and the baseline one after the other,
# ROUNDS times, and keeps each tool's best round (a transient burst from
# another process on the machine then costs a round, not the figure).
closed_loop() {
	local limit=$((DURATION + 60)) r n rps req cpu h_rps h_cpu100 w_rps w_cpu100
	for r in $(seq 1 "$ROUNDS"); do
		h_rps= h_cpu100= w_rps= w_cpu100=
		if [ "$HEADROOM_OK" = 1 ]; then
			n=headroom-closed-$r
			wait_quiet "headroom closed-model run $r"
			log "round $r/$ROUNDS: headroom run --url $TARGET_URL --vus $VUS --duration ${DURATION}s"
			if timed "$n" "$limit" "${GEN[@]}" "$TMP/headroom" run --url "$TARGET_URL" --vus "$VUS" \
				--duration "${DURATION}s" --out "$RESULTS/$n.json"; then
				read_run "$RESULTS/$n.json" >"$RESULTS/$n.kv"
				rps=$(get rps "$RESULTS/$n.kv") req=$(get requests "$RESULTS/$n.kv") cpu=$(cat "$RESULTS/$n.cpu")
				h_rps=$rps h_cpu100=$(per100k "$cpu" "$req")
				log "headroom: $rps requests/s, $req requests, ${cpu}s CPU, errors $(get errors "$RESULTS/$n.kv")"
				if better "$rps" "$H_RPS"; then H_RPS=$rps H_REQ=$req H_CPU=$cpu; fi
			else
				tail -5 "$RESULTS/$n.err" >&2
				fail "headroom run (closed model) failed"
			fi
			sleep 2
		fi

		n=wrk-$r
		wait_quiet "wrk run $r"
		log "round $r/$ROUNDS: wrk -t$WRK_THREADS -c$VUS -d${DURATION}s $TARGET_URL"
		if timed "$n" "$limit" "${GEN[@]}" wrk -t"$WRK_THREADS" -c"$VUS" -d"${DURATION}s" --latency "$TARGET_URL"; then
			rps=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' "$RESULTS/$n.out")
			req=$(awk '/ requests in / { print $1 }' "$RESULTS/$n.out")
			cpu=$(cat "$RESULTS/$n.cpu")
			w_rps=$rps w_cpu100=$(per100k "$cpu" "$req")
			log "wrk: $rps requests/s, $req requests, ${cpu}s CPU"
			if better "$rps" "$W_RPS"; then W_RPS=$rps W_REQ=$req W_CPU=$cpu; fi
		else
			cat "$RESULTS/$n.err" >&2
			fail "wrk failed"
		fi
		sleep 2

		n=baseline-$r
		wait_quiet "baseline run $r"
		log "round $r/$ROUNDS: baseline (plain net/http) --c $VUS --duration ${DURATION}s"
		if is_num "$h_rps" && is_num "$w_rps"; then
			RPS_RATIOS+=("$(calc "$h_rps / $w_rps" 3)")
			log "round $r: headroom / wrk requests/s ${RPS_RATIOS[-1]}"
		fi
		if is_num "$h_cpu100" && is_num "$w_cpu100" && [ "$w_cpu100" != 0.00 ]; then
			CPU_RATIOS+=("$(calc "$h_cpu100 / $w_cpu100" 3)")
			log "round $r: headroom / wrk CPU per request ${CPU_RATIOS[-1]}"
		fi
		if timed "$n" "$limit" "${GEN[@]}" "$TMP/baseline" --url "$TARGET_URL" --c "$VUS" --duration "${DURATION}s"; then
			rps=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' "$RESULTS/$n.out")
			req=$(sed -n 's/^requests=\([0-9]*\).*/\1/p' "$RESULTS/$n.out")
			cpu=$(cat "$RESULTS/$n.cpu")
			log "baseline: $rps requests/s, $req requests, ${cpu}s CPU"
			if better "$rps" "$B_RPS"; then B_RPS=$rps B_REQ=$req B_CPU=$cpu; fi
		else
			cat "$RESULTS/$n.err" >&2
			fail "the baseline generator failed"
		fi
		sleep 2
	done
}

# per100k CPU REQUESTS → CPU-seconds per 100,000 requests.
per100k() {
	if is_num "$1" && is_num "$2" && [ "$2" != 0 ]; then calc "$1 / $2 * 100000" 2; fi
}

# spread RATIO... prints "median (min-max, N rounds)" of per-round ratios.
spread() {
	[ $# -gt 0 ] || return 0
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2fx median (%.2f-%.2f, %d rounds)", m, v[1], v[NR], NR }'
}

# median RATIO... prints the median.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

report_rps() {
	local ratio='' v='ERROR'
	if [ ${#RPS_RATIOS[@]} -gt 0 ]; then
		ratio=$(median "${RPS_RATIOS[@]}")
		v=$(verdict "$ratio >= $GOAL_RPS_RATIO")
	fi
	row "requests/s, $VUS VUs closed, per round (vs wrk)" "${H_RPS:--} best" "wrk ${W_RPS:--} best" "$(spread "${RPS_RATIOS[@]}") (goal >= ${GOAL_RPS_RATIO}x)" "$v"
	ratio=''
	if is_num "$H_RPS" && is_num "$B_RPS"; then ratio=$(calc "$H_RPS / $B_RPS" 2); fi
	row "requests/s, $VUS VUs closed (vs plain Go)" "${H_RPS:--}" "go ${B_RPS:--}" "$(x "$ratio")" "info"
}

report_cpu() {
	local h w b r1='' r2=''
	h=$(per100k "$H_CPU" "$H_REQ")
	w=$(per100k "$W_CPU" "$W_REQ")
	b=$(per100k "$B_CPU" "$B_REQ")
	local v=ERROR
	if [ ${#CPU_RATIOS[@]} -gt 0 ]; then
		r1=$(median "${CPU_RATIOS[@]}")
		v=$(verdict "$r1 <= $GOAL_CPU_RATIO")
	fi
	if is_num "$h" && is_num "$b" && [ "$b" != 0.00 ]; then r2=$(calc "$h / $b" 2); fi
	row "generator CPU-s per 100k requests, per round (vs wrk)" "${h:--} best" "wrk ${w:--} best" "$(spread "${CPU_RATIOS[@]}") (goal <= ${GOAL_CPU_RATIO}x)" "$v"
	row "generator CPU-s per 100k requests (vs plain Go)" "${h:--}" "go ${b:--}" "$(x "$r2")" "info"
}

# ---------------------------------------------------------------- mem

# mem_run VUS sets MEM_PEAK to the peak VmRSS (KiB) while the VUs idle.
MEM_PEAK=
mem_run() {
	MEM_PEAK=
	local vus=$1 name="mem-$1"
	sed -e "s|^target: .*|target: ${TARGET_URL%/}|" \
		-e "s|^\(    vus: \).*|\1$vus|" \
		-e "s|^\(    duration: \).*|\1${MEM_DURATION}s|" \
		bench/scenarios/idle-vus.yaml >"$TMP/$name.yaml"
	"$TMP/headroom" run "$TMP/$name.yaml" --target "${TARGET_URL%/}" --out "$RESULTS/$name.json" \
		>"$RESULTS/$name.out" 2>"$RESULTS/$name.err" &
	local pid=$!
	PIDS+=($pid)
	# Sample from the middle of the run (the VUs are up and thinking) to
	# its last second.
	local from=$((MEM_DURATION * 1000 / 2)) to=$(((MEM_DURATION - 1) * 1000))
	local start now peak=0 rss
	start=$(date +%s%3N)
	while kill -0 "$pid" 2>/dev/null; do
		now=$(($(date +%s%3N) - start))
		if [ "$now" -ge "$from" ] && [ "$now" -le "$to" ]; then
			rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
			if is_num "$rss" && [ "$rss" -gt "$peak" ]; then peak=$rss; fi
		fi
		if [ "$now" -gt $(((MEM_DURATION + 60) * 1000)) ]; then
			log "headroom run with $vus idle VUs did not stop 60s after its end; ending it"
			kill -INT "$pid" 2>/dev/null
			sleep 5
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.25
	done
	wait "$pid"
	local rc=$?
	if [ "$rc" != 0 ]; then
		tail -5 "$RESULTS/$name.err" >&2
		fail "headroom run with $vus idle VUs exited with status $rc"
		return 1
	fi
	read_run "$RESULTS/$name.json" >"$RESULTS/$name.kv"
	log "$vus idle VUs: peak RSS $((peak / 1024)) MiB, $(get requests "$RESULTS/$name.kv") requests (expected about $vus)"
	MEM_PEAK=$peak
}

report_mem() {
	local big='' small='' kib='' v=ERROR
	if [ "$HEADROOM_OK" = 1 ]; then
		log "memory: headroom run with $MEM_VUS idle VUs, then 1, ${MEM_DURATION}s each"
		wait_quiet "memory run ($MEM_VUS VUs)"
		mem_run "$MEM_VUS"
		big=$MEM_PEAK
		wait_quiet "memory run (1 VU)"
		mem_run 1
		small=$MEM_PEAK
		if is_num "$big" && is_num "$small" && [ "$big" -gt 0 ]; then
			kib=$(calc "($big - $small) / ($MEM_VUS - 1)" 2)
			v=$(verdict "$kib <= $GOAL_KIB_PER_VU")
		fi
	fi
	row "memory per idle VU, KiB ($MEM_VUS VUs vs 1)" "${kib:--}" "RSS $(calc "${big:-0} / 1024" 0) vs $(calc "${small:-0} / 1024" 0) MiB" "goal <= $GOAL_KIB_PER_VU" "$v"
}

# ---------------------------------------------------------------- car

report_car() {
	local ips='' lag='' dropped='' err='' v1=ERROR v2=ERROR v3=ERROR
	if [ "$HEADROOM_OK" = 1 ]; then
		wait_quiet "arrival-rate run"
		log "headroom run --executor constant-arrival-rate --rate $CAR_RATE --duration ${CAR_DURATION}s"
		if timed car $((CAR_DURATION + 90)) "${GEN[@]}" "$TMP/headroom" run --url "$TARGET_URL" \
			--executor constant-arrival-rate --rate "$CAR_RATE" --duration "${CAR_DURATION}s" \
			--pre-allocated-vus "$CAR_PREALLOC" --max-vus "$CAR_MAXVUS" --out "$RESULTS/car.json"; then
			read_run "$RESULTS/car.json" >"$RESULTS/car.kv"
			ips=$(get stage_ips "$RESULTS/car.kv")
			lag=$(get lag_p99_ms "$RESULTS/car.kv")
			dropped=$(get dropped "$RESULTS/car.kv")
			log "car: $ips iterations/s, p99 lag ${lag:-?} ms, dropped $dropped, $(get errors "$RESULTS/car.kv") errors, ${CAR_DURATION}s at $CAR_RATE/s, CPU $(cat "$RESULTS/car.cpu")s"
			if is_num "$ips"; then
				err=$(calc "($ips - $CAR_RATE) / $CAR_RATE * 100" 2)
				v1=$(verdict "($ips - $CAR_RATE) / $CAR_RATE <= $GOAL_CAR_ERROR && ($CAR_RATE - $ips) / $CAR_RATE <= $GOAL_CAR_ERROR")
			fi
			if is_num "$lag"; then v2=$(verdict "$lag < $GOAL_LAG_P99_MS"); fi
			if is_num "$dropped"; then v3=$(verdict "$dropped == 0"); fi
		else
			tail -5 "$RESULTS/car.err" >&2
			fail "headroom run (constant-arrival-rate) failed"
		fi
	fi
	row "arrival rate achieved, iterations/s" "${ips:--}" "target $CAR_RATE" "${err:--}% (goal within 1%)" "$v1"
	row "scheduling lag p99, ms" "${lag:--}" "-" "goal < $GOAL_LAG_P99_MS" "$v2"
	row "dropped iterations" "${dropped:--}" "-" "goal 0" "$v3"
}

# ---------------------------------------------------------------- go

report_go() {
	local pkgs=() d
	while IFS= read -r d; do
		pkgs+=("./${d#"$ROOT"/}/")
	done < <(grep -rl --include='*_test.go' '^func Benchmark' "$ROOT" 2>/dev/null |
		grep -v -e "^$ROOT/bench/" -e /node_modules/ | xargs -r -n1 dirname | sort -u)
	if [ ${#pkgs[@]} -eq 0 ]; then
		log "go: no package has benchmarks yet"
		row "go benchmarks" "none yet" "-" "-" "info"
		return
	fi
	wait_quiet "go benchmarks"
	log "go test -run '^\$' -bench . -benchtime $BENCHTIME -benchmem ${pkgs[*]}"
	local rc=0
	timeout -k 10 1200 go test -run '^$' -bench . -benchtime "$BENCHTIME" -benchmem "${pkgs[@]}" \
		>"$RESULTS/go-bench.txt" 2>&1 || rc=$?
	grep -E '^(Benchmark|ok|FAIL|---|pkg:)' "$RESULTS/go-bench.txt" >&2
	if [ "$rc" != 0 ]; then
		grep -v -E '^(Benchmark|goos|goarch|cpu|PASS)' "$RESULTS/go-bench.txt" | head -20 >&2
		fail "go benchmarks failed (status $rc); see $RESULTS/go-bench.txt"
	fi
	# One row per benchmark: its custom metrics (samples/s, ms, ...) or ns/op.
	local line
	while IFS= read -r line; do
		ROWS+=("$line")
	done < <(awk '/^Benchmark/ {
		name = $1; sub(/-[0-9]+$/, "", name); fig = ""; ns = ""
		for (i = 3; i < NF; i += 2) {
			unit = $(i + 1)
			if (unit == "B/op" || unit == "allocs/op") continue
			if (unit == "ns/op") { ns = $i " ns/op"; continue }
			fig = fig (fig == "" ? "" : ", ") $i " " unit
		}
		printf "go %s|%s|-|-|info\n", name, (fig == "" ? ns : fig)
	}' "$RESULTS/go-bench.txt")
	[ "$rc" = 0 ] || row "go benchmarks" "failed" "-" "see go-bench.txt" "ERROR"
}

# ---------------------------------------------------------------- realapp

# report_realapp runs bench/realapp.sh (headroom against real applications
# nobody here wrote; its own table follows the summary).
REALAPP_TABLE=
report_realapp() {
	wait_quiet "real applications"
	log "bash bench/realapp.sh (results in $RESULTS/realapp)"
	local rc=0
	RESULTS="$RESULTS/realapp" bash bench/realapp.sh >"$RESULTS/realapp.out" 2>&1 || rc=$?
	grep -E '^(realapp: [a-zA-Z-]+: (capacity|headroom)|realapp: (ERROR|NOTE))' "$RESULTS/realapp.out" >&2
	if [ "$rc" != 0 ]; then
		tail -5 "$RESULTS/realapp.out" >&2
		fail "bench/realapp.sh failed (status $rc); see $RESULTS/realapp.out"
		row "real applications (bench/realapp.sh)" "failed" "-" "see realapp.out" "ERROR"
		return
	fi
	REALAPP_TABLE=$RESULTS/realapp/summary.md
	# The last column of each analysis row says whether headroom's
	# bottleneck agrees with the A/B run.
	local agree
	agree=$(awk -F'|' 'NF > 2 && $(NF - 1) ~ /^ *(yes|no|partly|[?]) *$/ { n++; if ($(NF - 1) ~ /^ *yes/) y++ } END { printf "%d of %d", y, n }' "$REALAPP_TABLE")
	row "real applications: bottleneck agrees with A/B" "$agree analyses" "-" "table below" "info"
}

# ---------------------------------------------------------------- main

mkdir -p "$RESULTS"
check_deps
build
log "results in $RESULTS"
{
	echo "date: $(date -Is)"
	echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
	echo "go: $(go version)"
	echo "wrk: $(wrk -v 2>&1 | head -n1)"
	echo "headroom: $([ "${HEADROOM_OK:-0}" = 1 ] && "$TMP/headroom" version 2>/dev/null)"
} >"$RESULTS/env.txt"

setup_pin
if want rps || want cpu || want mem || want car; then
	start_target
fi
if want rps || want cpu; then
	closed_loop
	want rps && report_rps
	want cpu && report_cpu
fi
want mem && report_mem
want car && report_car
want go && report_go
want realapp && report_realapp
want accuracy && report_accuracy

{
	echo
	echo "headroom bench — $(date -Is) — $(nproc) cores — results in $RESULTS"
	for n in "${NOTES[@]}"; do echo "NOTE: $n"; done
	printf '%s\n' "metric|headroom|baseline|ratio/goal|PASS/MISS" "${ROWS[@]}" |
		awk -F'|' '
		{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; nf = NF > nf ? NF : nf }
		END {
			for (r = 1; r <= n; r++) {
				line = ""
				for (i = 1; i <= nf; i++) line = line sprintf("%s%-*s", i > 1 ? " | " : "", w[i], cell[r, i])
				print line
				if (r == 1) { sep = ""; for (i = 1; i <= nf; i++) sep = sep (i > 1 ? "-+-" : "") sprintf("%*s", w[i], "") ; gsub(/ /, "-", sep); print sep }
			}
		}'
} | tee "$RESULTS/summary.txt"
if [ -n "$REALAPP_TABLE" ] && [ -s "$REALAPP_TABLE" ]; then
	echo
	tee -a "$RESULTS/summary.txt" <"$REALAPP_TABLE"
fi

if [ "$FAILED" != 0 ]; then
	echo "bench/run.sh: a tool failed to run (see the ERROR lines above)" >&2
	exit 1
fi
exit 0
