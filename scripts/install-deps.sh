#!/usr/bin/env bash
# install-deps.sh installs, only when missing, the Debian packages that
# headroom's tests and benchmarks run against: Prometheus (with promtool), the
# PostgreSQL, Redis and node exporters, PostgreSQL, Redis and wrk.
#
# It is idempotent and quick: when everything is installed it makes one
# dpkg-query call and exits. It never starts a service: apt's maintainer
# scripts are told not to (policy-rc.d), and scripts/testenv.sh starts what
# the tests need as plain processes. Runs as root (CI) or through sudo.
#
# Usage: scripts/install-deps.sh [--profilers]
#   --profilers  also perf (linux-perf) and strace, which bench/README.md's
#                "Where the runner's CPU goes" uses; no test needs them
set -euo pipefail

LOG_PREFIX=install-deps
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Packages the tests and benchmarks need. promtool comes with prometheus;
# pg_isready and psql come with postgresql (postgresql-client-*); redis-cli
# comes with redis-tools; curl is how testenv.sh waits for readiness; jq reads
# analysis.json in bench/realapp.sh.
PACKAGES=(
	prometheus
	prometheus-postgres-exporter
	prometheus-redis-exporter
	prometheus-node-exporter
	prometheus-alertmanager
	postgresql
	redis-server
	redis-tools
	wrk
	curl
	jq
)
case "${1:-}" in
"") ;;
--profilers) PACKAGES+=(linux-perf strace) ;;
*) die "unknown argument \"$1\": expected --profilers or nothing" ;;
esac

# missing_packages prints the packages of PACKAGES that are not installed.
missing_packages() {
	local installed
	# dpkg-query exits 1 when some package is unknown; its output for the
	# known ones is still what we need.
	installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null | awk '$2 == "ii" { print $1 }' || true)
	local p
	for p in "${PACKAGES[@]}"; do
		if ! grep -qx -- "$p" <<<"$installed"; then
			printf '%s\n' "$p"
		fi
	done
}

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script installs Debian packages; install ${PACKAGES[*]} by other means"

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -eq 0 ]; then
	log "all ${#PACKAGES[@]} packages already installed (${PACKAGES[*]})"
	exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found; missing packages: ${missing[*]}"
log "missing: ${missing[*]}"

# Deny service starts from maintainer scripts (invoke-rc.d asks policy-rc.d;
# 101 means "action not allowed"). There is no systemd here, and testenv.sh
# runs the daemons itself. A policy-rc.d that already exists is left alone.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$POLICY" ]; then
	as_root sh -c "printf '#!/bin/sh\nexit 101\n' >$POLICY && chmod 755 $POLICY"
	created_policy=1
fi
cleanup() {
	if [ "$created_policy" = 1 ]; then
		as_root rm -f "$POLICY"
	fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
log "apt-get install ${missing[*]}"
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

mapfile -t still < <(missing_packages)
if [ "${#still[@]}" -ne 0 ]; then
	die "still missing after apt-get install: ${still[*]}"
fi
log "installed: ${missing[*]}"
