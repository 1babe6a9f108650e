#!/usr/bin/env bash
# testenv.sh starts, checks and stops the real components headroom's tests run
# against: PostgreSQL, Redis, their exporters, node_exporter and a Prometheus
# that scrapes them every second and accepts remote write.
#
# Usage: scripts/testenv.sh up|down|status|env|clean
#
#   up      install what is missing (scripts/install-deps.sh), then start what
#           is not running and write .testenv/env (KEY=VALUE lines read by
#           internal/testenv). Idempotent: with everything up it only checks.
#   down    stop what this script started; a PostgreSQL or Redis that was
#           already running before is left alone.
#   status  print each component, its state and its URL; exit 1 if one is down.
#   env     print `export KEY=VALUE` lines, for eval "$(scripts/testenv.sh env)".
#   clean   down, then remove .testenv/ (ports, logs, Prometheus data).
#
# Everything listens on 127.0.0.1 only. State lives in .testenv/ at the
# repository root: <name>.pid, <name>.port, <name>.cmd (the command line a
# running process was started with, so a changed one is restarted),
# <name>.log, prometheus.yml, prometheus/ (TSDB), file_sd/ (drop
# [{"targets":["127.0.0.1:PORT"],"labels":{"job":"checkout"}}] files there to
# have a target scraped every second), and env.
#
# PostgreSQL: a server already answering on 127.0.0.1 (5432, or a port used
# before) is reused; otherwise the newest Debian cluster "main" is started with
# pg_ctlcluster (created with pg_createcluster when absent). Tests connect as
# the superuser postgres over TCP. When 127.0.0.1 is not trusted in pg_hba.conf
# and postgres has no password yet (Debian's default), the script sets the
# password "headroom" through the local socket (peer authentication) and puts
# it in the URLs; a different existing password can be given as
# HEADROOM_TEST_PG_PASSWORD.
#
# Environment: HEADROOM_TESTENV_TIMEOUT (seconds to wait for each component,
# default 30), HEADROOM_TEST_PG_PASSWORD (see above).
set -euo pipefail

LOG_PREFIX=testenv
SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
. "$SCRIPTS/lib.sh"

ROOT=$(cd "$SCRIPTS/.." && pwd)
STATE=$ROOT/.testenv
ENVFILE=$STATE/env
FILE_SD=$STATE/file_sd
TIMEOUT=${HEADROOM_TESTENV_TIMEOUT:-30}
HOST=127.0.0.1
PG_DB=headroom_test
PG_DEFAULT_PASSWORD=headroom

PROMETHEUS_BIN=/usr/bin/prometheus
PG_EXPORTER_BIN=/usr/bin/prometheus-postgres-exporter
REDIS_EXPORTER_BIN=/usr/bin/prometheus-redis-exporter
NODE_EXPORTER_BIN=/usr/bin/prometheus-node-exporter

# Processes this script runs itself, in start order; down stops them in
# reverse. Each has a readiness path.
PROCS=(postgres_exporter redis_exporter node_exporter prometheus)
declare -A READY_PATH=(
	[postgres_exporter]=/metrics
	[redis_exporter]=/metrics
	[node_exporter]=/metrics
	[prometheus]=/-/ready
)
declare -A BIN=(
	[postgres_exporter]=$PG_EXPORTER_BIN
	[redis_exporter]=$REDIS_EXPORTER_BIN
	[node_exporter]=$NODE_EXPORTER_BIN
	[prometheus]=$PROMETHEUS_BIN
)

# Filled in by up.
PG_PORT=
PG_PASSWORD=
REDIS_PORT=
declare -A PORT=()
ARGS=()

read_state() { cat "$STATE/$1" 2>/dev/null || true; }

# write_if_changed FILE: replaces FILE with stdin when the content differs and
# reports (exit status 0) whether it did.
write_if_changed() {
	local file=$1 tmp
	tmp=$(mktemp "$file.XXXXXX")
	chmod 644 "$tmp"
	cat >"$tmp"
	if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
		rm -f "$tmp"
		return 1
	fi
	mv -f "$tmp" "$file"
	return 0
}

# log_tail NAME prints the end of a component's log to stderr.
log_tail() {
	local f=$STATE/$1.log
	if [ -s "$f" ]; then
		printf -- '--- last lines of %s ---\n' "$f" >&2
		tail -n 30 "$f" >&2
		printf -- '---\n' >&2
	fi
}

# wait_until NAME PID CMD...: polls CMD every 0.2 s until it succeeds, for at
# most TIMEOUT seconds; fails loudly, with the log tail, when the deadline
# passes or when PID (if given) exits first.
wait_until() {
	local name=$1 pid=$2 want=$3
	shift 3
	local deadline=$(($(now_ms) + TIMEOUT * 1000))
	while ! "$@"; do
		# The process is ours (we just started it), so only its exit
		# counts: right after the fork its command line is still the
		# shell's until exec replaces it, and matching it against want
		# then would call a healthy start dead. want is checked once it
		# is ready, below.
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			log_tail "$name"
			die "$name (pid $pid) exited before it was ready; log: $STATE/$name.log"
		fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			log_tail "$name"
			die "$name was not ready after ${TIMEOUT}s (checked: $*); log: $STATE/$name.log"
		fi
		sleep 0.2
	done
	if [ -n "$pid" ] && ! pid_alive "$pid" "$want"; then
		log_tail "$name"
		die "$name answers, but pid $pid is not $want: another process holds its port; log: $STATE/$name.log"
	fi
}

# ---------------------------------------------------------------- PostgreSQL

pg_ready() { pg_isready -q -h "$HOST" -p "$1" -t 1 >/dev/null 2>&1; }

# pg_psql DB SQL: runs SQL over TCP as postgres with the known password.
pg_psql() {
	PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -w -q -h "$HOST" -p "$PG_PORT" -U postgres -d "$1" -v ON_ERROR_STOP=1 -Atc "$2"
}

# newest_pg_version prints the highest PostgreSQL major version installed.
newest_pg_version() {
	find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1
}

start_pg_cluster() {
	local ver port
	ver=$(newest_pg_version)
	[ -n "$ver" ] || die "no PostgreSQL server under /usr/lib/postgresql; run scripts/install-deps.sh"
	if ! pg_lsclusters -h 2>/dev/null | awk -v v="$ver" '$1 == v && $2 == "main" { f = 1 } END { exit !f }'; then
		log "postgres: creating Debian cluster $ver/main"
		pg_createcluster "$ver" main >>"$STATE/postgres.log" 2>&1 || {
			log_tail postgres
			die "pg_createcluster $ver main failed"
		}
	fi
	port=$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" { print $3 }')
	log "postgres: starting Debian cluster $ver/main on port $port"
	printf '%s main\n' "$ver" >"$STATE/postgres.started"
	pg_ctlcluster --skip-systemctl-redirect "$ver" main start >>"$STATE/postgres.log" 2>&1 9>&- || {
		log_tail postgres
		tail -n 20 "/var/log/postgresql/postgresql-$ver-main.log" >&2 2>/dev/null || true
		die "pg_ctlcluster $ver main start failed"
	}
	PG_PORT=$port
	wait_until postgres "" "" pg_ready "$PG_PORT"
}

# pg_auth finds credentials that work for postgres over TCP: trust, the
# password given in HEADROOM_TEST_PG_PASSWORD, the one this script set
# before (PG_DEFAULT_PASSWORD), or, when postgres has no password at all, sets
# PG_DEFAULT_PASSWORD through the local socket.
pg_auth() {
	local p
	for p in "" "${HEADROOM_TEST_PG_PASSWORD:-}" "$(read_state postgres.password)" "$PG_DEFAULT_PASSWORD"; do
		PG_PASSWORD=$p
		if pg_psql postgres 'select 1' >/dev/null 2>&1; then
			return 0
		fi
	done
	local has_password
	has_password=$(runuser -u postgres -- psql -X -w -p "$PG_PORT" -d postgres -Atc \
		"select rolpassword is not null from pg_authid where rolname = 'postgres'" 2>/dev/null) ||
		die "postgres on $HOST:$PG_PORT refuses user postgres over TCP and the local socket is not usable; set HEADROOM_TEST_PG_PASSWORD"
	if [ "$has_password" = t ]; then
		die "postgres on $HOST:$PG_PORT wants a password for user postgres; set HEADROOM_TEST_PG_PASSWORD"
	fi
	log "postgres: setting password '$PG_DEFAULT_PASSWORD' for role postgres (it had none; 127.0.0.1 is not trusted)"
	runuser -u postgres -- psql -X -w -q -p "$PG_PORT" -d postgres -c \
		"ALTER ROLE postgres PASSWORD '$PG_DEFAULT_PASSWORD'" >/dev/null
	printf '%s\n' "$PG_DEFAULT_PASSWORD" >"$STATE/postgres.password"
	PG_PASSWORD=$PG_DEFAULT_PASSWORD
	pg_psql postgres 'select 1' >/dev/null ||
		die "postgres on $HOST:$PG_PORT still refuses the password set for postgres; check pg_hba.conf"
}

ensure_postgres() {
	local p
	# A port used before, the default, then (pg_lsclusters is slow, so only
	# when needed) every cluster Debian knows about.
	for p in $(read_state postgres.port) 5432; do
		if pg_ready "$p"; then
			PG_PORT=$p
			break
		fi
	done
	if [ -z "$PG_PORT" ]; then
		for p in $(pg_lsclusters -h 2>/dev/null | awk '{ print $3 }'); do
			if pg_ready "$p"; then
				PG_PORT=$p
				break
			fi
		done
	fi
	if [ -z "$PG_PORT" ]; then
		start_pg_cluster
	elif [ ! -f "$STATE/postgres.started" ]; then
		log "postgres: reusing the server on $HOST:$PG_PORT"
	fi
	printf '%s\n' "$PG_PORT" | write_if_changed "$STATE/postgres.port" || true
	pg_auth
	if [ "$(pg_psql postgres "select count(*) from pg_database where datname = '$PG_DB'")" != 1 ]; then
		log "postgres: creating database $PG_DB"
		pg_psql postgres "CREATE DATABASE $PG_DB" >/dev/null
	fi
}

pg_url() {
	local auth=postgres
	[ -z "$PG_PASSWORD" ] || auth="postgres:$PG_PASSWORD"
	printf 'postgres://%s@%s:%s/%s?sslmode=disable' "$auth" "$HOST" "$PG_PORT" "$1"
}

# --------------------------------------------------------------------- Redis

redis_ping() { [ "$(redis-cli -h "$HOST" -p "$1" ping 2>/dev/null)" = PONG ]; }

ensure_redis() {
	local pid port
	pid=$(read_state redis.pid)
	port=$(read_state redis.port)
	if [ -n "$port" ] && pid_alive "$pid" redis-server && redis_ping "$port"; then
		REDIS_PORT=$port
		return 0
	fi
	rm -f "$STATE/redis.pid"
	if redis_ping 6379; then
		log "redis: reusing the server on $HOST:6379"
		REDIS_PORT=6379
		rm -f "$STATE/redis.port"
		return 0
	fi
	if [ -n "$port" ] && ! port_in_use "$port"; then
		REDIS_PORT=$port
	else
		REDIS_PORT=$(free_port)
	fi
	log "redis: starting redis-server on $HOST:$REDIS_PORT"
	redis-server --daemonize yes --bind "$HOST" --port "$REDIS_PORT" --save "" --appendonly no \
		--dir "$STATE" --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" </dev/null >/dev/null 2>&1 9>&- || {
		log_tail redis
		die "redis-server did not start"
	}
	printf '%s\n' "$REDIS_PORT" >"$STATE/redis.port"
	wait_until redis "" "" redis_ping "$REDIS_PORT"
}

# ------------------------------------------------------- exporters, Prometheus

# build_args NAME PORT sets ARGS to the command line of NAME listening on PORT.
build_args() {
	local name=$1 port=$2
	case "$name" in
	postgres_exporter)
		# 0.11 reads the connection from DATA_SOURCE_NAME; flags use "--".
		ARGS=(env "DATA_SOURCE_NAME=$(pg_url "$PG_DB")" "$PG_EXPORTER_BIN"
			"--web.listen-address=$HOST:$port" --log.level=warn)
		;;
	redis_exporter)
		ARGS=("$REDIS_EXPORTER_BIN" -redis.addr "redis://$HOST:$REDIS_PORT"
			-web.listen-address "$HOST:$port" -include-system-metrics)
		;;
	node_exporter)
		# Only collectors that work in a container without udev, systemd or
		# hardware sensors, and that the resource catalog can use.
		ARGS=("$NODE_EXPORTER_BIN" "--web.listen-address=$HOST:$port" --log.level=warn
			--collector.disable-defaults --collector.cpu --collector.meminfo
			--collector.loadavg --collector.pressure --collector.stat --collector.vmstat
			--collector.netdev --collector.netstat --collector.sockstat
			--collector.filesystem --collector.filefd --collector.uname)
		;;
	prometheus)
		ARGS=("$PROMETHEUS_BIN" "--config.file=$STATE/prometheus.yml"
			"--storage.tsdb.path=$STATE/prometheus" --storage.tsdb.retention.time=2d
			"--web.listen-address=$HOST:$port"
			--web.enable-remote-write-receiver --enable-feature=native-histograms
			--web.enable-lifecycle --log.level=warn)
		;;
	*) die "unknown component $name" ;;
	esac
}

url_of() { printf 'http://%s:%s%s' "$HOST" "${PORT[$1]}" "${READY_PATH[$1]}"; }

# proc_running NAME reports whether NAME runs from a previous up with the
# command line it would be started with now, and answers.
proc_running() {
	local name=$1 pid port
	pid=$(read_state "$name.pid")
	port=$(read_state "$name.port")
	[ -n "$port" ] || return 1
	pid_alive "$pid" "${BIN[$name]}" || return 1
	build_args "$name" "$port"
	[ "$(printf '%s\n' "${ARGS[*]}")" = "$(read_state "$name.cmd")" ] || return 1
	http_ok "http://$HOST:$port${READY_PATH[$name]}"
}

# stop_proc NAME stops the process recorded in NAME.pid, if it is still ours.
stop_proc() {
	local name=$1 pid i
	pid=$(read_state "$name.pid")
	if pid_alive "$pid" "${BIN[$name]}"; then
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 100); do
			pid_alive "$pid" "${BIN[$name]}" || break
			sleep 0.1
		done
		if pid_alive "$pid" "${BIN[$name]}"; then
			log "$name (pid $pid) ignored SIGTERM for 10s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		log "$name: stopped (pid $pid)"
	fi
	rm -f "$STATE/$name.pid" "$STATE/$name.cmd"
}

# ensure_proc NAME reuses NAME when proc_running, else (re)starts it on its
# previous port when free, or on a new free port, and waits until it answers.
ensure_proc() {
	local name=$1 port pid
	if proc_running "$name"; then
		PORT[$name]=$(read_state "$name.port")
		return 0
	fi
	stop_proc "$name"
	port=$(read_state "$name.port")
	if [ -z "$port" ] || port_in_use "$port"; then
		port=$(free_port "${PORT[@]}" "$REDIS_PORT" "$PG_PORT")
	fi
	PORT[$name]=$port
	[ "$name" != prometheus ] || write_prometheus_config >/dev/null || true
	build_args "$name" "$port"
	log "$name: starting on $HOST:$port"
	# setsid detaches it from our session and process group, so it outlives
	# this script and the make or CI step that ran it; no descriptor of ours
	# stays open in it (fd 9 is the lock: a daemon holding it would block the
	# next up).
	setsid "${ARGS[@]}" </dev/null >>"$STATE/$name.log" 2>&1 9>&- &
	pid=$!
	printf '%s\n' "$pid" >"$STATE/$name.pid"
	printf '%s\n' "$port" >"$STATE/$name.port"
	printf '%s\n' "${ARGS[*]}" >"$STATE/$name.cmd"
	wait_until "$name" "$pid" "${BIN[$name]}" http_ok "$(url_of "$name")"
	log "$name: ready at $(url_of "$name") (pid $pid)"
}

# write_prometheus_config writes .testenv/prometheus.yml for the current
# ports and reports (exit status 0) whether it changed.
write_prometheus_config() {
	write_if_changed "$STATE/prometheus.yml" <<EOF
# Generated by scripts/testenv.sh for headroom's tests; do not edit: the next
# "scripts/testenv.sh up" rewrites it.
#
# Prometheus runs with --enable-feature=native-histograms and
# --web.enable-remote-write-receiver. The load runner remote-writes
# headroom_request_duration_seconds twice, as classic series (_bucket, _sum,
# _count) and as a native histogram; Prometheus 2.42 refuses native
# histogram samples (the whole write request fails) unless the feature is on,
# so it is on. With it on, 2.42 scrapes in the protobuf format and, for a
# histogram that also carries native buckets, keeps only the native histogram
# (the classic _bucket series are dropped; scrape_classic_histograms only came
# in 2.45). Classic-only histograms, such as the checkout app's HTTP and
# client_golang defaults, are still stored as _bucket/_sum/_count series. So:
# query classic buckets of remote-written and classic-only scraped histograms,
# and native form (histogram_quantile(0.9, rate(x[1m])) without "le") for a
# scraped target that exposes native buckets. Scraped over protobuf, "le" and
# "quantile" values are stored as floats with a fraction ("1.0", not "1" as
# in the text format): aggregate by le rather than matching le="1".
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s

storage:
  tsdb:
    # Lets tests remote-write float samples up to 2 h older than the newest
    # sample of a series (synthetic history, replays). Native histograms are
    # not accepted out of order by 2.42.
    out_of_order_time_window: 2h

scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["$HOST:${PORT[prometheus]}"]
  - job_name: postgres
    static_configs:
      - targets: ["$HOST:${PORT[postgres_exporter]}"]
  - job_name: redis
    static_configs:
      - targets: ["$HOST:${PORT[redis_exporter]}"]
  - job_name: node
    static_configs:
      - targets: ["$HOST:${PORT[node_exporter]}"]
  # Targets tests drop in $FILE_SD/<name>.json, e.g.
  #   [{"targets":["127.0.0.1:PORT"],"labels":{"job":"checkout"}}]
  # A "job" label given by the file wins: Prometheus sets job from job_name
  # only on targets that have none, so "file_sd" is only the fallback.
  # honor_labels stays false, so a scraped series' own "job" or "instance"
  # label becomes exported_job/exported_instance and cannot hide the target's.
  - job_name: file_sd
    file_sd_configs:
      - files: ["$FILE_SD/*.json"]
        refresh_interval: 1s
EOF
}

# reload_prometheus makes the running Prometheus reread its changed config.
# POST /-/reload (--web.enable-lifecycle) answers once the reload is done, and
# with the error when the config is refused.
reload_prometheus() {
	local out
	log "prometheus: config changed; reloading"
	if ! out=$(curl -sS --max-time "$TIMEOUT" -X POST -w ' (HTTP %{http_code})' --fail-with-body \
		"http://$HOST:${PORT[prometheus]}/-/reload" 2>&1); then
		log_tail prometheus
		die "prometheus refused $STATE/prometheus.yml: $out"
	fi
}

write_env() {
	local promtool wrk
	promtool=$(command -v promtool || true)
	wrk=$(command -v wrk || true)
	write_if_changed "$ENVFILE" <<EOF
# Written by scripts/testenv.sh up; read by internal/testenv.
HEADROOM_TEST_PROMETHEUS_URL=http://$HOST:${PORT[prometheus]}
HEADROOM_TEST_FILE_SD_DIR=$FILE_SD
HEADROOM_TEST_PG_URL=$(pg_url "$PG_DB")
HEADROOM_TEST_PG_ADMIN_URL=$(pg_url postgres)
HEADROOM_TEST_REDIS_ADDR=$HOST:$REDIS_PORT
HEADROOM_TEST_PG_EXPORTER_URL=$(url_of postgres_exporter)
HEADROOM_TEST_REDIS_EXPORTER_URL=$(url_of redis_exporter)
HEADROOM_TEST_NODE_EXPORTER_URL=$(url_of node_exporter)
HEADROOM_TEST_PROMTOOL=$promtool
HEADROOM_TEST_WRK=$wrk
EOF
}

# ------------------------------------------------------------------ commands

lock() {
	mkdir -p "$STATE"
	exec 9>"$STATE/lock"
	flock -w 120 9 || die "another scripts/testenv.sh holds $STATE/lock"
}

cmd_up() {
	local start
	start=$(now_ms)
	bash "$SCRIPTS/install-deps.sh"
	lock
	mkdir -p "$FILE_SD" "$STATE/prometheus"
	ensure_postgres
	ensure_redis
	local name
	for name in "${PROCS[@]}"; do
		if [ "$name" = prometheus ]; then
			# The config names the exporters' ports and Prometheus's own.
			PORT[prometheus]=$(read_state prometheus.port)
			if proc_running prometheus; then
				if write_prometheus_config; then
					reload_prometheus
				fi
				continue
			fi
		fi
		ensure_proc "$name"
	done
	if write_env; then
		log "wrote $ENVFILE"
	fi
	log "up in $(($(now_ms) - start)) ms: Prometheus http://$HOST:${PORT[prometheus]}, PostgreSQL $HOST:$PG_PORT, Redis $HOST:$REDIS_PORT"
}

cmd_down() {
	lock
	local i
	for ((i = ${#PROCS[@]} - 1; i >= 0; i--)); do
		stop_proc "${PROCS[$i]}"
	done
	local pid
	pid=$(read_state redis.pid)
	if pid_alive "$pid" redis-server; then
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 100); do
			pid_alive "$pid" redis-server || break
			sleep 0.1
		done
		log "redis: stopped (pid $pid)"
	fi
	rm -f "$STATE/redis.pid"
	if [ -f "$STATE/postgres.started" ]; then
		read -r ver cluster <"$STATE/postgres.started"
		pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" stop >>"$STATE/postgres.log" 2>&1 ||
			log "postgres: pg_ctlcluster $ver $cluster stop failed (see $STATE/postgres.log)"
		log "postgres: stopped Debian cluster $ver/$cluster"
		rm -f "$STATE/postgres.started"
	fi
	rm -f "$ENVFILE" "$FILE_SD"/*.json
	log "down"
}

cmd_status() {
	local ok=0 name pid port state owner
	# The third column is the PID of a process this script started, "ours"
	# for a PostgreSQL cluster it started, "external" for a server it reuses.
	port=$(read_state postgres.port)
	owner=external
	[ ! -f "$STATE/postgres.started" ] || owner=ours
	if [ -n "$port" ] && pg_ready "$port"; then state=up; else state=down ok=1 owner=-; fi
	printf '%-18s %-5s %-9s %s\n' postgres "$state" "$owner" "$HOST:${port:-?}"
	port=$(read_state redis.port)
	[ -n "$port" ] || port=6379
	pid=$(read_state redis.pid)
	owner=${pid:-external}
	if redis_ping "$port"; then state=up; else state=down ok=1 owner=-; fi
	printf '%-18s %-5s %-9s %s\n' redis "$state" "$owner" "$HOST:$port"
	for name in "${PROCS[@]}"; do
		pid=$(read_state "$name.pid")
		port=$(read_state "$name.port")
		if [ -n "$port" ] && pid_alive "$pid" "${BIN[$name]}" && http_ok "http://$HOST:$port${READY_PATH[$name]}"; then
			state=up
		else
			state=down ok=1
		fi
		printf '%-18s %-5s %-9s %s\n' "$name" "$state" "${pid:--}" "http://$HOST:${port:-?}${READY_PATH[$name]}"
	done
	printf '%-18s %s\n' file_sd "$FILE_SD"
	return "$ok"
}

cmd_env() {
	[ -f "$ENVFILE" ] || die "$ENVFILE does not exist; run scripts/testenv.sh up"
	local k v
	while IFS='=' read -r k v; do
		case "$k" in '' | '#'*) continue ;; esac
		printf 'export %s=%q\n' "$k" "$v"
	done <"$ENVFILE"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
clean)
	cmd_down
	rm -rf "$STATE"
	log "removed $STATE"
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
