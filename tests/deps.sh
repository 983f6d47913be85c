#!/bin/sh
# What preforkd needs on a Debian system, checked or installed:
#   deps.sh check build     fail, naming the apt-get command, if the
#                           compiler or libconfuse is missing (`make`)
#   deps.sh install build   as root, apt-get install what is missing
#   deps.sh install test    the same, with what the tests use as well
# Only `make deps`, `make run` and `make test` install anything: `make` and
# `make install` never reach the network.
set -eu

mode="${1:-check}"
what="${2:-build}"
case "$mode:$what" in
check:build | check:test | install:build | install:test) ;;
*)
	echo "usage: deps.sh check|install build|test" >&2
	exit 2
	;;
esac

missing=""
need() { missing="$missing $1"; }
# have COMMAND PACKAGE: the package that provides COMMAND, if it is missing;
# also looked for where a user's PATH may not reach (logrotate is in sbin).
have() {
	command -v "$1" >/dev/null 2>&1 && return 0
	for dir in /usr/sbin /sbin /usr/lib/systemd /lib/systemd; do
		[ -x "$dir/$1" ] && return 0
	done
	need "$2"
}

have cc gcc
have make make
[ -e /usr/include/confuse.h ] || need libconfuse-dev
if [ "$what" = test ]; then
	have bats bats
	have mandoc mandoc
	have pgrep procps
	have python3 python3
	have ss iproute2
	# systemd-socket-activate, for tests/systemd.bats.
	have systemd-socket-activate systemd
	have logrotate logrotate
	have setpriv util-linux
	# make lint, and tests/valgrind.bats.
	have cppcheck cppcheck
	have shellcheck shellcheck
	have valgrind valgrind
	# The real server and client the tests compare with.
	have xinetd xinetd
	have rdate rdate
	# The proxy in front of preforkd, for tests/haproxy.bats.
	have haproxy haproxy
	# The Debian package, for /usr/bin/python3 (not a pyenv python3).
	/usr/bin/python3 -c 'import prometheus_client.parser' \
	    >/dev/null 2>&1 || need python3-prometheus-client
fi
[ -z "$missing" ] && exit 0

if [ "$mode" = install ] && [ "$(id -u)" -eq 0 ] &&
    command -v apt-get >/dev/null 2>&1; then
	echo "installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >&2
	exit 0
fi
echo "preforkd needs:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	echo "install them with:  make deps  (or apt-get install$missing)" >&2
else
	echo "install them with:  sudo apt-get install$missing" >&2
fi
exit 1
