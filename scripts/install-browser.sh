#!/usr/bin/env bash
# install-browser.sh installs, only when missing, Debian's Chromium, which
# report/browser_test.go opens report.html in (headless, offline) to check
# that it renders without errors and to take its screenshot.
#
# It is idempotent and quick: when Chromium is installed it exits at once.
# Set HEADROOM_TEST_CHROMIUM to use another browser binary instead; then
# nothing is installed. Runs as root (CI) or through sudo.
#
# Usage: scripts/install-browser.sh
set -euo pipefail

LOG_PREFIX=install-browser
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ -n "${HEADROOM_TEST_CHROMIUM:-}" ]; then
	[ -x "$HEADROOM_TEST_CHROMIUM" ] || die "HEADROOM_TEST_CHROMIUM=$HEADROOM_TEST_CHROMIUM is not an executable"
	log "using $HEADROOM_TEST_CHROMIUM (HEADROOM_TEST_CHROMIUM)"
	exit 0
fi

installed() {
	dpkg-query -W -f='${db:Status-Abbrev}' chromium 2>/dev/null | grep -q '^ii' && [ -x /usr/bin/chromium ]
}

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script installs Debian's chromium package; install Chromium by other means and set HEADROOM_TEST_CHROMIUM to its path"

if installed; then
	log "chromium already installed ($(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium))"
	exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
log "apt-get install chromium"
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold chromium
installed || die "chromium is still not installed after apt-get install"
log "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
