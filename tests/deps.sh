#!/bin/sh
# Check for what preforkd needs; as root, apt-get install what is missing,
# otherwise print the command that will and fail.
#   deps.sh build   the compiler and libconfuse
#   deps.sh test    bats and mandoc as well
set -eu

missing=""
need() { missing="$missing $1"; }

command -v cc >/dev/null 2>&1 || need gcc
command -v make >/dev/null 2>&1 || need make
[ -e /usr/include/confuse.h ] || need libconfuse-dev
if [ "${1:-build}" = test ]; then
	command -v bats >/dev/null 2>&1 || need bats
	command -v mandoc >/dev/null 2>&1 || need mandoc
	command -v pgrep >/dev/null 2>&1 || need procps
	command -v python3 >/dev/null 2>&1 || need python3
	# The Debian package, for /usr/bin/python3 (not a pyenv python3).
	/usr/bin/python3 -c 'import prometheus_client.parser' \
	    >/dev/null 2>&1 || need python3-prometheus-client
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >&2
	exit 0
fi
echo "preforkd needs:$missing" >&2
echo "install them with:  sudo apt-get install$missing" >&2
exit 1
