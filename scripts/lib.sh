# shellcheck shell=bash
# Helpers shared by scripts/install-deps.sh and scripts/testenv.sh.
# Source it; it defines functions and sets no options of its own.

# log prints a progress line to stderr, prefixed with the calling script's name.
log() { printf '%s: %s\n' "${LOG_PREFIX:-headroom}" "$*" >&2; }

# die prints an error line to stderr and exits 1.
die() {
	printf '%s: error: %s\n' "${LOG_PREFIX:-headroom}" "$*" >&2
	exit 1
}

# as_root runs its arguments as root: directly when we are root, through sudo
# otherwise, and fails with a hint when neither is possible.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "must run as root (or with sudo available) to run: $*"
	fi
}

# now_ms prints the wall clock in milliseconds.
now_ms() {
	local s
	s=$(date +%s%N)
	printf '%s\n' "$((s / 1000000))"
}

# port_in_use reports whether something listens on 127.0.0.1:$1. It connects
# with bash's /dev/tcp so it needs neither ss nor python.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port prints a loopback TCP port nobody listens on, chosen at random
# in [20000, 32000) — below Linux's default ephemeral range, so outgoing
# connections do not take it in the meantime — and not among the ports given
# as arguments (ports already promised to other components of this run).
free_port() {
	local p taken tries=0
	while [ "$tries" -lt 200 ]; do
		tries=$((tries + 1))
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		for taken in "$@"; do
			[ "$p" = "$taken" ] && continue 2
		done
		port_in_use "$p" && continue
		printf '%s\n' "$p"
		return 0
	done
	die "could not find a free loopback port after 200 tries"
}

# pid_alive reports whether process $1 runs and its command line contains $2,
# which guards against a recycled PID.
pid_alive() {
	local pid=$1 want=$2 cmdline
	[ -n "$pid" ] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	case "$cmdline" in
	*"$want"*) return 0 ;;
	*) return 1 ;;
	esac
}

# http_ok reports whether GET $1 answers 2xx within a second.
http_ok() {
	curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null
}
