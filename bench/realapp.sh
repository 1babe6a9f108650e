#!/usr/bin/env bash
# bench/realapp.sh — headroom against real applications nobody here wrote.
#
# For each application it measures the capacity independently with wrk at
# fixed concurrencies (the plateau is the capacity), finds the causal
# bottleneck with an A/B run (change the suspected resource, see whether the
# capacity moves), then runs headroom on a VU ramp against the same process
# and prints headroom's breaking point and bottleneck beside both.
#
#   bench/realapp.sh                      every experiment
#   bench/realapp.sh miniflux-pool1       only the named ones:
#                                         miniflux-pool1 miniflux-pool4 prometheus
#                                         miniflux-hints (not in "every")
#
# The applications:
#   miniflux    Miniflux (miniflux.app/v2 from the Go module proxy), a feed
#               reader backed by PostgreSQL, loaded on GET /v1/entries with a
#               database of 2,000 entries; its pool is DATABASE_MAX_CONNS. Its
#               PostgreSQL is a server of its own (Debian's postgresql
#               binaries, initdb in a temporary directory, a free port), with
#               its own postgres_exporter, so the bench works whether or not
#               a PostgreSQL is already running and shares no database.
#   prometheus  Debian's Prometheus, loaded on a range query over its own
#               series; A/B: both cores, then pinned to one (taskset).
#
# All traffic goes to 127.0.0.1, every load is bounded in time, and every
# process the script starts is ended by its id on exit (also on Ctrl-C). It
# exits non-zero only when something fails to run; what headroom got wrong is
# reported in the table, not as a failure. On a machine busy with other work,
# REALAPP_NICE=-10 (root) gives everything the bench starts priority (and
# this session's scheduler autogroup, when the kernel has them).
# See bench/README.md.

# cleanup and the A/B's start functions are called indirectly (trap, ab).
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
LOG_PREFIX=realapp
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

# Settings (environment overrides).
CONCURRENCY=${CONCURRENCY:-"2 4 8 16 32"} # wrk connections of the capacity sweep
WRK_SECONDS=${WRK_SECONDS:-4}             # seconds per wrk run
AB_ROUNDS=${AB_ROUNDS:-2}                 # A/B pairs, run alternately
AB_MOVE=${AB_MOVE:-0.15}                  # a capacity change beyond ±15% "moved"
RAMP_SECONDS=${RAMP_SECONDS:-45}          # headroom's ramp from 2 to MAX_VUS
HOLD_SECONDS=${HOLD_SECONDS:-10}          # then MAX_VUS held this long
MAX_VUS=${MAX_VUS:-32}
SLO_P95=${SLO_P95:-800ms}                 # headroom analyze --slo-p95
MINIFLUX_VERSION=${MINIFLUX_VERSION:-v2.3.5}
QUIET_WAIT=${QUIET_WAIT:-30}              # seconds to wait for other processes to calm down
NICE=${REALAPP_NICE:-0}                   # niceness of everything the bench starts (negative: root only)
QUIET_PCT=${QUIET_PCT:-30}                # "quiet" means less than this % of all CPU busy
RESULTS=${RESULTS:-$ROOT/bench/results/realapp-$(date +%Y%m%d-%H%M%S)}
CACHE=${HEADROOM_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/headroom-bench}

ALL=(miniflux-pool1 miniflux-pool4 prometheus)
if [ $# -eq 0 ] && [ -n "${REALAPP_EXPERIMENTS:-}" ]; then
	read -r -a EXPERIMENTS <<<"$REALAPP_EXPERIMENTS"
elif [ $# -eq 0 ] || [ "$1" = all ]; then
	EXPERIMENTS=("${ALL[@]}")
else
	EXPERIMENTS=("$@")
fi
for e in "${EXPERIMENTS[@]}"; do
	case $e in
	miniflux-pool1 | miniflux-pool4 | prometheus | miniflux-hints) ;;
	-h | --help | help)
		sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "bench/realapp.sh: unknown experiment \"$e\": expected any of: ${ALL[*]} miniflux-hints (or none for all)" >&2
		exit 2
		;;
	esac
done

FAILED=0
fail() {
	log "ERROR: $*"
	FAILED=1
}

# calc EXPR [DECIMALS] evaluates a floating-point expression.
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
# is_num VALUE succeeds when VALUE is a number.
is_num() { [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }

# ---------------------------------------------------------------- processes

# Every process started in the background is recorded here and ended by its
# id on exit.
PIDS=()
AUTOGROUP_NICE=
TMP=$(mktemp -d "${TMPDIR:-/tmp}/headroom-realapp.XXXXXX")
# PostgreSQL's own user must reach its data directory inside TMP.
chmod 755 "$TMP"

# stop_pid PID ends one process this script started, politely first.
stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 25); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	# PostgreSQL last: SIGINT to its postmaster (whose id it wrote in its
	# data directory) is a fast shutdown; runuser, its parent, then exits.
	local pm i
	pm=$(head -n1 "$TMP/pg/postmaster.pid" 2>/dev/null)
	if is_num "$pm" && kill -0 "$pm" 2>/dev/null; then
		kill -INT "$pm" 2>/dev/null
		for i in $(seq 1 50); do
			kill -0 "$pm" 2>/dev/null || break
			sleep 0.2
		done
	fi
	[ -n "$PG_PID" ] && stop_pid "$PG_PID"
	# The session's autogroup gets its niceness back.
	if [ -n "$AUTOGROUP_NICE" ]; then echo "$AUTOGROUP_NICE" >"/proc/$$/autogroup" 2>/dev/null; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_http URL SECONDS waits until URL answers 2xx.
wait_http() {
	local i
	for i in $(seq 1 $(($2 * 5))); do
		http_ok "$1" && return 0
		sleep 0.2
	done
	return 1
}

# spawn CMD... starts CMD in the background at the bench's niceness.
spawn() { nice -n "$NICE" "$@" & }

# ---------------------------------------------------------------- setup

setup() {
	mkdir -p "$RESULTS" "$CACHE"
	command -v go >/dev/null || die "go is not on PATH"
	# The Debian packages (PostgreSQL, Prometheus, the exporters, wrk, jq)
	# come from scripts/install-deps.sh; node_exporter is the test
	# environment's (scripts/testenv.sh up starts it when it is not running;
	# a HEADROOM_TEST_NODE_EXPORTER_URL already set wins, as in the tests).
	local missing=() c
	for c in wrk jq psql curl prometheus prometheus-postgres-exporter; do
		command -v "$c" >/dev/null || missing+=("$c")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing what is missing (${missing[*]}): scripts/install-deps.sh"
		bash scripts/install-deps.sh >"$RESULTS/install-deps.log" 2>&1 || {
			tail -20 "$RESULTS/install-deps.log" >&2
			die "scripts/install-deps.sh failed"
		}
	fi
	PG_BIN=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n1)
	[ -x "$PG_BIN/initdb" ] || die "PostgreSQL's initdb not found under /usr/lib/postgresql"
	if [ -z "${HEADROOM_TEST_NODE_EXPORTER_URL:-}" ]; then
		log "starting the test environment for node_exporter (scripts/testenv.sh up)"
		bash scripts/testenv.sh up >"$RESULTS/testenv.log" 2>&1 || {
			tail -20 "$RESULTS/testenv.log" >&2
			die "scripts/testenv.sh up failed"
		}
		eval "$(bash scripts/testenv.sh env)"
	fi
	NODE_URL=$HEADROOM_TEST_NODE_EXPORTER_URL
	[ "$NICE" -ge 0 ] || [ "$(id -u)" = 0 ] || die "REALAPP_NICE=$NICE needs root"
	# With the kernel's autogroups, a process's niceness only ranks it
	# within its session: other sessions' work gets an equal share whatever
	# it is. The niceness of this session's autogroup ranks it against them.
	if [ "$NICE" != 0 ] && [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ] &&
		[ -w "/proc/$$/autogroup" ]; then
		AUTOGROUP_NICE=$(awk '{ print $NF }' "/proc/$$/autogroup")
		if echo "$NICE" >"/proc/$$/autogroup" 2>/dev/null; then
			log "this session's autogroup runs at niceness $NICE: $(cat "/proc/$$/autogroup")"
		else
			log "NOTE: could not set this session's autogroup niceness; REALAPP_NICE only ranks the bench's own processes"
		fi
	fi

	log "building headroom"
	go build -o "$TMP/headroom" ./cmd/headroom 2>"$TMP/build.err" || {
		head -20 "$TMP/build.err" >&2
		die "could not build ./cmd/headroom"
	}
	{
		echo "date: $(date -Is)"
		echo "machine: $(nproc) cores, $(uname -sr)"
		echo "go: $(go version)"
		echo "wrk: $(wrk -v 2>&1 | head -n1)"
		echo "prometheus: $(prometheus --version 2>&1 | head -n1)"
		echo "postgresql: $("$PG_BIN/postgres" --version 2>&1)"
		echo "niceness: $NICE"
		echo "headroom: $(git -C "$ROOT" describe --always --dirty 2>/dev/null)"
	} >"$RESULTS/env.txt"
}

# ---------------------------------------------------------------- quiet

# busy_since STAT prints how busy all CPUs were since the /proc/stat line
# STAT, in percent.
busy_since() {
	local -a a b
	read -r -a a <<<"$1"
	read -r -a b </proc/stat
	local i total=0 idle=$((b[4] + b[5] - a[4] - a[5]))
	for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
	[ "$total" -gt 0 ] || total=1
	echo $((100 * (total - idle) / total))
}

# wait_quiet WHAT waits up to QUIET_WAIT seconds for the machine to be
# quiet, and notes it when it is not: on a shared 2-core machine someone
# else's load moves every figure.
NOTES=()
wait_quiet() {
	local busy waited=0 s
	while :; do
		s=$(head -n1 /proc/stat)
		sleep 1
		busy=$(busy_since "$s")
		[ "$busy" -lt "$QUIET_PCT" ] && return 0
		[ "$waited" -ge "$QUIET_WAIT" ] && break
		[ "$waited" = 0 ] && log "the machine is ${busy}% busy with other processes; waiting up to ${QUIET_WAIT}s before $1"
		sleep 3
		waited=$((waited + 4))
	done
	NOTES+=("$1 started with the machine ${busy}% busy with other processes (niceness of the bench: $NICE)")
	log "NOTE: ${NOTES[-1]}"
}

# ---------------------------------------------------------------- wrk

# wrk_run NAME CONC URL [HEADER] runs wrk for WRK_SECONDS and prints
# "RPS ERRORS P99_MS HOST_BUSY%" (errors: non-2xx responses and socket errors).
wrk_run() {
	local name=$1 c=$2 url=$3 header=${4:-} t=2 s busy
	[ "$c" -lt 2 ] && t=1
	# A 10 s timeout: a closed loop measuring capacity must not give up
	# on requests that queue (wrk's default is 2 s).
	local args=(-t"$t" -c"$c" -d"${WRK_SECONDS}s" --timeout 10s --latency)
	[ -n "$header" ] && args+=(-H "$header")
	s=$(head -n1 /proc/stat)
	timeout -k 5 $((WRK_SECONDS + 30)) nice -n "$NICE" wrk "${args[@]}" "$url" >"$RESULTS/$name.wrk" 2>&1 || {
		fail "wrk failed: $(tail -2 "$RESULTS/$name.wrk")"
		echo "- - - -"
		return
	}
	busy=$(busy_since "$s")
	awk -v busy="$busy" '
		/^Requests\/sec:/ { rps = $2 }
		/Non-2xx or 3xx responses:/ { err += $5 }
		/Socket errors:/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) err += $i + 0 }
		$1 == "99%" { v = $2; ms = v + 0; if (v ~ /us$/) ms /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) ms *= 1000; p99 = ms }
		END { printf "%s %d %.1f %s\n", (rps == "" ? "-" : rps), err, p99, busy }' "$RESULTS/$name.wrk"
}

# sweep NAME URL [HEADER] measures capacity at each CONCURRENCY and sets
# CAP (the highest RPS: the plateau's level), CAP_C (the fewest connections
# reaching 90% of it), SWEEP (a one-line summary) and SWEEP_BUSY (host
# busy % at the highest concurrency).
CAP='' CAP_C='' SWEEP='' SWEEP_BUSY='' SWEEP_ERR=0
sweep() {
	local name=$1 url=$2 header=${3:-} c out rps err p99 busy line=""
	local -a cs=() rs=()
	CAP='' CAP_C='' SWEEP_ERR=0
	for c in $CONCURRENCY; do
		out=$(wrk_run "$name-c$c" "$c" "$url" "$header")
		read -r rps err p99 busy <<<"$out"
		is_num "$rps" || fail "wrk -c$c against $name gave no figure"
		log "$name: wrk -c$c: $rps req/s, p99 ${p99} ms, $err errors, host ${busy}% busy"
		line+="c$c=$rps "
		SWEEP_ERR=$((SWEEP_ERR + ${err/-/0}))
		SWEEP_BUSY=$busy
		if is_num "$rps"; then
			cs+=("$c")
			rs+=("$rps")
			if [ -z "$CAP" ] || awk "BEGIN { exit !($rps > $CAP) }"; then CAP=$rps; fi
		fi
	done
	local i
	for i in "${!cs[@]}"; do
		if awk "BEGIN { exit !(${rs[$i]} >= 0.9 * $CAP) }"; then
			CAP_C=${cs[$i]}
			break
		fi
	done
	SWEEP=${line% }
	echo "$SWEEP" >"$RESULTS/$name.sweep"
}

# ab NAME URL HEADER START_A START_B sets AB_A and AB_B to the best RPS of
# AB_ROUNDS alternating runs at the two highest concurrencies with
# configuration A (started by the function START_A) and B, and AB_RATIO.
AB_A='' AB_B='' AB_RATIO=''
ab() {
	local name=$1 url=$2 header=$3 start_a=$4 start_b=$5 r cfg c rps best_a=0 best_b=0
	local -a top
	read -r -a top <<<"$(echo "$CONCURRENCY" | tr ' ' '\n' | sort -n | tail -2 | tr '\n' ' ')"
	for r in $(seq 1 "$AB_ROUNDS"); do
		for cfg in a b; do
			if [ "$cfg" = a ]; then "$start_a" || return 1; else "$start_b" || return 1; fi
			for c in "${top[@]}"; do
				read -r rps _ <<<"$(wrk_run "$name-ab$r$cfg-c$c" "$c" "$url" "$header")"
				log "$name A/B round $r, config $cfg, wrk -c$c: $rps req/s"
				is_num "$rps" || continue
				if [ "$cfg" = a ]; then
					awk "BEGIN { exit !($rps > $best_a) }" && best_a=$rps
				else
					awk "BEGIN { exit !($rps > $best_b) }" && best_b=$rps
				fi
			done
		done
	done
	AB_A=$best_a AB_B=$best_b
	AB_RATIO=$(calc "$best_b / ($best_a > 0 ? $best_a : 1)" 2)
}

# moved RATIO MORE|LESS prints whether the capacity moved the way it must
# when the resource is the bottleneck and B has MORE (or LESS) of it:
# "moved", "did not move" (within ±AB_MOVE), or "moved the wrong way" (less
# of the resource gave more capacity: the limit is contention, not the
# resource's capacity).
moved() {
	local up down
	up=$(awk "BEGIN { print ($1 >= 1 + $AB_MOVE) }")
	down=$(awk "BEGIN { print ($1 <= 1 / (1 + $AB_MOVE)) }")
	if [ "$up" = 0 ] && [ "$down" = 0 ]; then
		echo "did not move"
	elif { [ "$2" = MORE ] && [ "$up" = 1 ]; } || { [ "$2" = LESS ] && [ "$down" = 1 ]; }; then
		echo moved
	else
		echo "moved the wrong way"
	fi
}

# truth VERDICT KIND NAME sets TRUTH (KIND, not-KIND or ?) and TRUTH_TEXT.
TRUTH='' TRUTH_TEXT=''
truth() {
	case $1 in
	moved) TRUTH=$2 TRUTH_TEXT="$3 (A/B moved)" ;;
	"did not move") TRUTH=not-$2 TRUTH_TEXT="not the $3 (A/B did not move)" ;;
	*) TRUTH=not-$2 TRUTH_TEXT="not the $3: less of it gave more (contention)" ;;
	esac
}

# ---------------------------------------------------------------- headroom

# headroom_run NAME URL HEADER CATALOG SCRAPE... runs a VU ramp with the
# embedded store scraping each SCRAPE (job=URL), then analyzes it twice:
# out of the box (NAME.analysis.json) and, when CATALOG is a file, with
# --catalog and the extra analyze flags in HR_EXTRA (NAME.catalog.json).
HR_EXTRA=()
headroom_run() {
	local name=$1 url=$2 header=$3 catalog=$4
	shift 4
	local args=(run --url "$url" --vus 2 --stage "${RAMP_SECONDS}s:$MAX_VUS" --stage "${HOLD_SECONDS}s:$MAX_VUS"
		--out "$RESULTS/$name.run.json" --quiet) s
	[ -n "$header" ] && args+=(-H "$header")
	for s in "$@"; do args+=(--scrape "$s"); done
	log "$name: headroom ${args[*]}"
	if ! timeout -k 10 $((RAMP_SECONDS + HOLD_SECONDS + 90)) nice -n "$NICE" "$TMP/headroom" "${args[@]}" \
		>"$RESULTS/$name.run.out" 2>&1; then
		tail -5 "$RESULTS/$name.run.out" >&2
		fail "headroom run of $name failed"
		return 1
	fi
	local a=(analyze --run "$RESULTS/$name.run.json" --slo-p95 "$SLO_P95")
	"$TMP/headroom" "${a[@]}" >"$RESULTS/$name.analysis.txt" 2>&1 || fail "headroom analyze of $name failed"
	"$TMP/headroom" "${a[@]}" --format json >"$RESULTS/$name.analysis.json" 2>"$RESULTS/$name.analysis.err" ||
		fail "headroom analyze --format json of $name failed"
	if [ -n "$catalog" ]; then
		"$TMP/headroom" "${a[@]}" --catalog "$catalog" "${HR_EXTRA[@]}" >"$RESULTS/$name.catalog.txt" 2>&1 ||
			fail "headroom analyze --catalog of $name failed"
		"$TMP/headroom" "${a[@]}" --catalog "$catalog" "${HR_EXTRA[@]}" --format json \
			>"$RESULTS/$name.catalog.json" 2>"$RESULTS/$name.catalog.err" ||
			fail "headroom analyze --catalog --format json of $name failed"
	fi
}

# hr_fields FILE prints "BP_RPS|BP_VUS|REASON|CONFIDENCE|BOTTLENECK_KIND|FAMILY|BN_CONFIDENCE"
# from an analysis.json ("-" where absent).
hr_fields() {
	[ -s "$1" ] || {
		echo "-|-|-|-|-|-|-"
		return
	}
	jq -r '[
		(.breaking_point.rps // "-" | if type == "number" then (. * 10 | round / 10) else . end),
		(.breaking_point.vus // "-" | if type == "number" then (. * 10 | round / 10) else . end),
		(.breaking_point.reason // "none"),
		(.breaking_point.confidence // "-"),
		(.bottleneck.resource // "-"),
		(.bottleneck.family // "-"),
		(.bottleneck.confidence // "-")
	] | map(tostring) | join("|")' "$1" 2>/dev/null || echo "-|-|-|-|-|-|-"
}

HEADLINES=()
# Result rows: experiment | wrk capacity | A/B | truth | analysis | bp | reason | bottleneck | error | agrees
ROWS=()
# add_rows EXP CAPACITY FROM AB TRUTH_KIND TRUTH_TEXT NAME: one row per
# analysis of NAME (out of the box, and with the catalog when there is one).
add_rows() {
	local exp=$1 cap=$2 from=$3 abtxt=$4 truth=$5 truthtxt=$6 name=$7 which file f bp vus reason conf kind fam bconf err agree
	for which in analysis catalog; do
		file=$RESULTS/$name.$which.json
		[ "$which" = catalog ] && [ ! -e "$file" ] && continue
		IFS='|' read -r bp vus reason conf kind fam bconf <<<"$(hr_fields "$file")"
		err=-
		if is_num "$bp" && is_num "$cap"; then err="$(calc "($bp - $cap) / $cap * 100" 1)%"; fi
		# Against "not X", naming X is wrong, and so is naming nothing (the
		# capacity has a limit); "unknown" is half right.
		case $truth in
		"?") agree="?" ;;
		not-*)
			case $kind in
			"${truth#not-}" | none | -) agree=no ;;
			unknown) agree=partly ;;
			*) agree=yes ;;
			esac
			;;
		*)
			if [ "$kind" = "$truth" ]; then
				agree=yes
			elif [ "$truth" = cpu ] && [ "$kind" = host_cpu ]; then
				# The machine's CPU rather than the process's: the right
				# resource, seen from the host.
				agree=partly
			else
				agree=no
			fi
			;;
		esac
		[ "$which" = analysis ] && f="default" || f="--catalog"
		ROWS+=("$exp|$cap (c$from)|$abtxt|$truthtxt|$f|$bp @ $vus VUs|$reason ($conf)|$kind/$fam ($bconf)|$err|$agree")
		# headroom's own headline, word for word.
		HEADLINES+=("$exp, $f: $(sed -n '3p' "$RESULTS/$name.$which.txt" 2>/dev/null)")
	done
}

# ---------------------------------------------------------------- miniflux

MF_BIN=$CACHE/bin/miniflux.app
MF_PID='' MF_ADDR='' MF_TOKEN=headroom-bench-token-0123456789abcdef
MF_HEADER="X-Auth-Token: $MF_TOKEN"

install_miniflux() {
	# A binary built from the module proxy reports no version of its own:
	# a stamp beside it records which one was installed.
	if [ -x "$MF_BIN" ] && [ "$(cat "$MF_BIN.version" 2>/dev/null)" = "$MINIFLUX_VERSION" ]; then return 0; fi
	log "go install miniflux.app/v2@$MINIFLUX_VERSION (from the Go module proxy, into $CACHE/bin)"
	(cd "$TMP" && GOBIN=$CACHE/bin go install "miniflux.app/v2@$MINIFLUX_VERSION") >"$RESULTS/miniflux-install.log" 2>&1 || {
		tail -10 "$RESULTS/miniflux-install.log" >&2
		return 1
	}
	echo "$MINIFLUX_VERSION" >"$MF_BIN.version"
}

# as_pg CMD... runs CMD as PostgreSQL's user when this script is root
# (initdb and postgres refuse to run as root), else as the current user.
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres starts a PostgreSQL server of the bench's own on a free
# port (data in TMP, trust authentication on 127.0.0.1 only) and a
# postgres_exporter for it; sets PG_URL and PGX_URL.
PG_PID='' PG_PORT='' PG_URL='' PGX_URL=''
start_postgres() {
	local port xport i
	mkdir -p "$TMP/pg" "$TMP/pgsock"
	[ "$(id -u)" = 0 ] && chown postgres: "$TMP/pg" "$TMP/pgsock"
	as_pg "$PG_BIN/initdb" -D "$TMP/pg" -U postgres -A trust -E UTF8 --no-sync >"$RESULTS/initdb.log" 2>&1 || {
		tail -5 "$RESULTS/initdb.log" >&2
		fail "initdb failed"
		return 1
	}
	port=$(free_port)
	# nice applies before runuser drops root, so a negative niceness holds.
	local run=()
	[ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
	spawn "${run[@]}" "$PG_BIN/postgres" -D "$TMP/pg" -p "$port" -k "$TMP/pgsock" \
		-c listen_addresses=127.0.0.1 -c max_connections=60 >"$RESULTS/postgres.log" 2>&1
	PG_PID=$!
	PG_PORT=$port
	PG_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	for i in $(seq 1 100); do
		"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 && break
		sleep 0.2
	done
	"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 || {
		tail -5 "$RESULTS/postgres.log" >&2
		fail "PostgreSQL did not start"
		return 1
	}
	xport=$(free_port "$port")
	spawn env DATA_SOURCE_NAME="$PG_URL" prometheus-postgres-exporter --web.listen-address="127.0.0.1:$xport" \
		--log.level=warn >"$RESULTS/postgres_exporter.log" 2>&1
	PIDS+=($!)
	PGX_URL=http://127.0.0.1:$xport/metrics
	wait_http "$PGX_URL" 30 || {
		tail -5 "$RESULTS/postgres_exporter.log" >&2
		fail "postgres_exporter did not start"
		return 1
	}
	log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') of the bench's own at 127.0.0.1:$port, postgres_exporter at $PGX_URL"
}

# mf_db_url prints the URL of Miniflux's database.
mf_db_url() { echo "postgres://postgres@127.0.0.1:$PG_PORT/miniflux?sslmode=disable"; }

# start_miniflux POOL [FIRST] (re)starts Miniflux with DATABASE_MAX_CONNS=POOL.
start_miniflux() {
	local pool=$1 first=${2:-0}
	[ -n "$MF_PID" ] && stop_pid "$MF_PID"
	# One port for every start, so the URLs stay valid across restarts.
	[ -n "$MF_ADDR" ] || MF_ADDR=127.0.0.1:$(free_port)
	spawn env DATABASE_URL="$(mf_db_url)" LISTEN_ADDR="$MF_ADDR" DATABASE_MAX_CONNS="$pool" DATABASE_MIN_CONNS=1 \
		RUN_MIGRATIONS="$first" CREATE_ADMIN="$first" ADMIN_USERNAME=bench ADMIN_PASSWORD=bench-password-1 \
		METRICS_COLLECTOR=1 METRICS_REFRESH_INTERVAL=1 METRICS_ALLOWED_NETWORKS=127.0.0.1/8 \
		DISABLE_SCHEDULER_SERVICE=1 LOG_LEVEL=warning \
		"$MF_BIN" >>"$RESULTS/miniflux.log" 2>&1
	MF_PID=$!
	PIDS+=("$MF_PID")
	if ! wait_http "http://$MF_ADDR/healthcheck" 30; then
		tail -5 "$RESULTS/miniflux.log" >&2
		fail "Miniflux (pool $pool) did not start"
		return 1
	fi
	log "Miniflux $MINIFLUX_VERSION at http://$MF_ADDR, DATABASE_MAX_CONNS=$pool"
}

# seed_miniflux gives the admin an API key and 20 feeds of 100 entries each.
seed_miniflux() {
	psql -q -v ON_ERROR_STOP=1 "$(mf_db_url)" >"$RESULTS/miniflux-seed.log" 2>&1 <<EOF
INSERT INTO api_keys (user_id, token, description)
  SELECT id, '$MF_TOKEN', 'headroom bench' FROM users WHERE username = 'bench';
INSERT INTO feeds (user_id, category_id, title, feed_url, site_url)
  SELECT u.id, (SELECT min(c.id) FROM categories c WHERE c.user_id = u.id), 'Feed ' || g,
         'http://127.0.0.1/feed/' || g, 'http://127.0.0.1/' || g
  FROM users u, generate_series(1, 20) g WHERE u.username = 'bench';
INSERT INTO entries (user_id, feed_id, hash, published_at, title, url, author, content, changed_at)
  SELECT f.user_id, f.id, md5(f.id || '-' || g), now() - g * interval '1 minute', 'Entry ' || g,
         'http://127.0.0.1/e/' || f.id || '/' || g, 'bench', repeat('<p>lorem ipsum dolor sit amet</p>', 20), now()
  FROM feeds f, generate_series(1, 100) g;
ANALYZE;
EOF
}

MF_READY=0
prepare_miniflux() {
	[ "$MF_READY" = 1 ] && return 0
	install_miniflux || {
		fail "could not install Miniflux $MINIFLUX_VERSION"
		return 1
	}
	start_postgres || return 1
	psql -q "$PG_URL" -c "CREATE DATABASE miniflux" >"$RESULTS/miniflux-db.log" 2>&1 || {
		cat "$RESULTS/miniflux-db.log" >&2
		fail "could not create Miniflux's database"
		return 1
	}
	start_miniflux 4 1 || return 1
	seed_miniflux || {
		cat "$RESULTS/miniflux-seed.log" >&2
		fail "could not seed Miniflux's database"
		return 1
	}
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "$MF_HEADER" "http://$MF_ADDR/v1/entries?limit=20")
	[ "$code" = 200 ] || {
		fail "GET /v1/entries answered $code"
		return 1
	}
	# The pool's metrics have Miniflux's own names: this catalog entry
	# declares them (Miniflux does not export the pool's size, so it comes
	# from --limit-for db_pool=N).
	cat >"$RESULTS/miniflux-catalog.yaml" <<'EOF'
resources:
  - kind: db_pool
    families:
      - name: miniflux
        detect: miniflux_db_connections_in_use
        usage: sum(miniflux_db_connections_in_use)
        saturation: sum(rate(miniflux_db_connections_wait_count[30s]))
        saturationUnit: waits per second
        unit: connections
EOF
	MF_READY=1
}

MF_POOL_A=1 MF_POOL_B=4
mf_a() { start_miniflux "$MF_POOL_A"; }
mf_b() { start_miniflux "$MF_POOL_B"; }

# exp_miniflux POOL: the capacity sweep with the pool at POOL, the A/B
# POOL → 4×POOL, and headroom's ramp with the pool at POOL.
exp_miniflux() {
	local pool=$1 name="miniflux-pool$1"
	prepare_miniflux || return
	wait_quiet "$name"
	MF_POOL_A=$pool MF_POOL_B=$((pool * 4))
	local url_path="/v1/entries?limit=20"
	start_miniflux "$pool" || return
	sweep "$name" "http://$MF_ADDR$url_path" "$MF_HEADER"
	local cap=$CAP cap_c=$CAP_C busy=$SWEEP_BUSY
	ab "$name" "http://$MF_ADDR$url_path" "$MF_HEADER" mf_a mf_b || return
	local verdict
	verdict=$(moved "$AB_RATIO" MORE)
	truth "$verdict" db_pool "DB pool"
	[ "$verdict" = moved ] || TRUTH_TEXT+="; host CPU ${busy}% busy"
	log "$name: capacity $cap req/s from c$cap_c; A/B pool $pool→$MF_POOL_B: $AB_A → $AB_B req/s (×$AB_RATIO, $verdict)"
	start_miniflux "$pool" || return
	HR_EXTRA=(--limit-for "db_pool=$pool")
	headroom_run "$name" "http://$MF_ADDR$url_path" "$MF_HEADER" "$RESULTS/miniflux-catalog.yaml" \
		"miniflux=http://$MF_ADDR/metrics" "node=$NODE_URL" "postgres=$PGX_URL"
	add_rows "Miniflux pool $pool" "$cap" "$cap_c" "pool $pool→$MF_POOL_B: $AB_A→$AB_B (×$AB_RATIO, $verdict)" \
		"$TRUTH" "$TRUTH_TEXT" "$name"
	stop_pid "$MF_PID"
	MF_PID=
}

# exp_miniflux_hints: does headroom tell a new user how to declare
# Miniflux's pool? Miniflux (pool 4) under a VU ramp, analysed out of the
# box (no catalog: db_pool is missing, with candidates and a snippet), then
# with headroom's own snippet as --catalog and --limit-for db_pool=4
# (Miniflux exports no pool size). Prints the candidates, the snippet and
# both bottlenecks; no wrk sweep, no A/B (miniflux-pool4 has them).
exp_miniflux_hints() {
	local pool=4 name=miniflux-hints
	prepare_miniflux || return
	wait_quiet "$name"
	start_miniflux "$pool" || return
	curl -s "http://$MF_ADDR/metrics" >"$RESULTS/$name.metrics.txt"
	headroom_run "$name" "http://$MF_ADDR/v1/entries?limit=20" "$MF_HEADER" "" \
		"miniflux=http://$MF_ADDR/metrics" "node=$NODE_URL" "postgres=$PGX_URL" || return
	jq -r '.missing[]? | select(.kind == "db_pool") | .catalog_snippet // empty' \
		"$RESULTS/$name.analysis.json" >"$RESULTS/$name.snippet.yaml"
	log "$name: out of the box, db_pool candidates: $(jq -r '[.missing[]? | select(.kind == "db_pool") | .candidates[]?] | join(", ")' "$RESULTS/$name.analysis.json")"
	log "$name: bottleneck out of the box: $(jq -r '"\(.bottleneck.resource // "-")/\(.bottleneck.family // "-") (\(.bottleneck.confidence // "-"))"' "$RESULTS/$name.analysis.json")"
	if [ ! -s "$RESULTS/$name.snippet.yaml" ]; then
		fail "$name: the analysis offered no catalog snippet for db_pool"
		return
	fi
	sed 's/^/    /' "$RESULTS/$name.snippet.yaml" >&2
	local a=(analyze --run "$RESULTS/$name.run.json" --slo-p95 "$SLO_P95" --catalog "$RESULTS/$name.snippet.yaml" --limit-for "db_pool=$pool")
	"$TMP/headroom" "${a[@]}" >"$RESULTS/$name.catalog.txt" 2>&1 || fail "headroom analyze --catalog (snippet) of $name failed"
	"$TMP/headroom" "${a[@]}" --format json >"$RESULTS/$name.catalog.json" 2>"$RESULTS/$name.catalog.err" ||
		fail "headroom analyze --catalog (snippet) --format json of $name failed"
	log "$name: with the snippet: db_pool $(jq -r '[.resources[]? | select(.kind == "db_pool") | "\(.family // "-") limit \(.limit // "-")"] | join(", ")' "$RESULTS/$name.catalog.json"); bottleneck $(jq -r '"\(.bottleneck.resource // "-")/\(.bottleneck.family // "-") (\(.bottleneck.confidence // "-"))"' "$RESULTS/$name.catalog.json")"
	add_rows "Miniflux pool $pool (hints)" "-" "-" "-" "?" "not measured here (see miniflux-pool4)" "$name"
	stop_pid "$MF_PID"
	MF_PID=
}

# ---------------------------------------------------------------- prometheus

PR_PID='' PR_ADDR='' PR_QUERY=''
# start_prometheus GOMAXPROCS (re)starts a Prometheus of its own that
# scrapes itself every second, on the same data directory each time.
start_prometheus() {
	local cores=$1 port pin=()
	[ -n "$PR_PID" ] && stop_pid "$PR_PID"
	# One core: pinned to CPU 0, so the kernel enforces it (and the Go
	# runtime sets GOMAXPROCS to 1 from the affinity).
	[ "$cores" = 1 ] && pin=(taskset -c 0)
	if [ -z "$PR_ADDR" ]; then
		port=$(free_port)
		PR_ADDR=127.0.0.1:$port
		cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['$PR_ADDR']
EOF
	fi
	spawn "${pin[@]}" prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prometheus-data" \
		--web.listen-address="$PR_ADDR" --log.level=warn >>"$RESULTS/prometheus.log" 2>&1
	PR_PID=$!
	PIDS+=("$PR_PID")
	if ! wait_http "http://$PR_ADDR/-/ready" 30; then
		tail -5 "$RESULTS/prometheus.log" >&2
		fail "Prometheus ($cores cores) did not start"
		return 1
	fi
	log "Prometheus at http://$PR_ADDR on $cores cores"
}
pr_a() { start_prometheus 2; }
pr_b() { start_prometheus 1; }

exp_prometheus() {
	local name=prometheus
	wait_quiet "$name"
	start_prometheus 2 || return
	# A range query over its own series: every step matches every series.
	# The window is fixed once there are 20 s of data, so every request
	# costs the same.
	sleep 22
	local end q
	end=$(date +%s)
	q=$(jq -rn --arg q 'count by (job) ({__name__=~".+"})' '$q | @uri')
	PR_QUERY="/api/v1/query_range?query=$q&start=$((end - 20))&end=$end&step=1"
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://$PR_ADDR$PR_QUERY")
	[ "$code" = 200 ] || {
		fail "Prometheus's range query answered $code"
		return
	}
	sweep "$name" "http://$PR_ADDR$PR_QUERY"
	local cap=$CAP cap_c=$CAP_C verdict
	ab "$name" "http://$PR_ADDR$PR_QUERY" "" pr_a pr_b || return
	verdict=$(moved "$AB_RATIO" LESS)
	truth "$verdict" cpu CPU
	log "$name: capacity $cap req/s from c$cap_c; A/B 2 cores→1 (taskset): $AB_A → $AB_B req/s (×$AB_RATIO, $verdict)"
	start_prometheus 2 || return
	headroom_run "$name" "http://$PR_ADDR$PR_QUERY" "" "" \
		"prometheus=http://$PR_ADDR/metrics" "node=$NODE_URL"
	add_rows "Prometheus (2 cores)" "$cap" "$cap_c" "2 cores→1: $AB_A→$AB_B (×$AB_RATIO, $verdict)" \
		"$TRUTH" "$TRUTH_TEXT" "$name"
	stop_pid "$PR_PID"
	PR_PID=
}

# ---------------------------------------------------------------- main

setup
log "results in $RESULTS"
for e in "${EXPERIMENTS[@]}"; do
	case $e in
	miniflux-pool1) exp_miniflux 1 ;;
	miniflux-pool4) exp_miniflux 4 ;;
	prometheus) exp_prometheus ;;
	miniflux-hints) exp_miniflux_hints ;;
	esac
done

{
	echo
	echo "headroom on real applications — $(date -Is) — $(nproc) cores — results in $RESULTS"
	for n in "${NOTES[@]}"; do echo "NOTE: $n"; done
	printf '%s\n' "application|wrk capacity req/s (from)|A/B (best req/s)|causal bottleneck|analysis|headroom breaking point|reason|headroom bottleneck|error|bottleneck agrees" "${ROWS[@]}" |
		awk -F'|' '
		{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; nf = NF > nf ? NF : nf }
		END {
			for (r = 1; r <= n; r++) {
				line = "|"
				for (i = 1; i <= nf; i++) line = line sprintf(" %-*s |", w[i], cell[r, i])
				print line
				if (r == 1) { sep = "|"; for (i = 1; i <= nf; i++) { s = ""; for (j = 0; j < w[i] + 2; j++) s = s "-"; sep = sep s "|" } print sep }
			}
		}'
	echo
	echo "headroom's headlines:"
	for n in "${HEADLINES[@]}"; do echo "- $n"; done
} | tee "$RESULTS/summary.md"

if [ "$FAILED" != 0 ]; then
	echo "bench/realapp.sh: something failed to run (see the ERROR lines above)" >&2
	exit 1
fi
exit 0
