#!/bin/sh
# What preforkd needs on a Debian system: the one list of packages, which
# `make deps` and .ci/run install and every other target only checks.
#   deps.sh check build      fail, naming the apt-get command, if what
#                            building needs is missing (every `make`)
#   deps.sh check test       the same for what `make test` cannot run
#                            without; name the optional tools that are
#                            missing, whose tests skip
#   deps.sh install SET      as root, apt-get install what SET lacks
#   deps.sh packages SET     print SET's packages on one line
# SET is build; test (build, what `make test` needs, and the optional tools
# its tests use); or ci: test and what `make lint`, `make sanitize` and
# `make fuzz` use, every package of the list (what `make deps` installs).
# Only `make deps` and .ci/run install anything: `make`, `make test` and
# `make install` never reach the network.
set -eu

mode="${1:-check}"
set="${2:-build}"
case "$mode:$set" in
check:build | check:test | check:ci) ;;
install:build | install:test | install:ci) ;;
packages:build | packages:test | packages:ci) ;;
*)
	echo "usage: deps.sh check|install|packages build|test|ci" >&2
	exit 2
	;;
esac

# The kinds of package: "build" to build; "run" what `make test` cannot
# run without (the unit tests, bats, the helpers' python3 and ps, and
# pkg-config for the libconfuse version below); "opt" a tool some tests use
# and skip without; "dev" what lint and fuzz use besides.
case "$set" in
build) kinds="build" ;;
test) kinds="build run opt" ;;
ci) kinds="build run opt dev" ;;
esac

# cmd COMMAND: COMMAND is found, also where a user's PATH may not reach
# (logrotate is in sbin).  Called through pkg, as fuzzer_runtime is.
# shellcheck disable=SC2317
cmd() {
	command -v "$1" >/dev/null 2>&1 && return 0
	for dir in /usr/sbin /sbin /usr/lib/systemd /lib/systemd; do
		[ -x "$dir/$1" ] && return 0
	done
	return 1
}

# The libFuzzer runtime that `clang -fsanitize=fuzzer` links.
# shellcheck disable=SC2317
fuzzer_runtime() {
	command -v clang >/dev/null 2>&1 &&
	    [ -e "$(clang -print-file-name="libclang_rt.fuzzer-$(uname -m).a")" ]
}

missing=""    # of a kind this mode must have
optional=""   # of kind opt, which `check test` only names
all=""        # every package of the set
# pkg KIND PACKAGE TEST...: PACKAGE is of KIND, and is present when TEST
# succeeds.
pkg() {
	kind="$1" package="$2"
	shift 2
	case " $kinds " in *" $kind "*) ;; *) return 0 ;; esac
	all="$all $package"
	[ "$mode" = packages ] && return 0
	"$@" >/dev/null 2>&1 && return 0
	if [ "$mode:$kind" = check:opt ]; then
		optional="$optional $package"
	else
		missing="$missing $package"
	fi
}

pkg build gcc cmd cc
pkg build make cmd make
pkg build libc6-dev test -e /usr/include/stdio.h
pkg build libconfuse-dev test -e /usr/include/confuse.h
pkg build libseccomp-dev test -e /usr/include/seccomp.h
pkg run bats cmd bats
pkg run python3 cmd python3
pkg run procps cmd pgrep
pkg run pkg-config cmd pkg-config
pkg opt mandoc cmd mandoc
pkg opt iproute2 cmd ss
# systemd-socket-activate and systemd-analyze, for tests/systemd.bats.
pkg opt systemd cmd systemd-socket-activate
pkg opt logrotate cmd logrotate
pkg opt util-linux cmd setpriv
pkg opt valgrind cmd valgrind
# The real server and client the tests compare with.
pkg opt xinetd cmd xinetd
pkg opt rdate cmd rdate
# The clients the README shows, for tests/readme.bats (and man-db's
# man for its man lines).
pkg opt netcat-openbsd cmd nc
pkg opt ncat cmd ncat
pkg opt socat cmd socat
pkg opt man-db cmd man
# The proxy in front of preforkd, for tests/haproxy.bats.
pkg opt haproxy cmd haproxy
# Real programs under protocol = "exec", and tcpserver beside it.
pkg opt ucspi-tcp cmd tcpserver
pkg opt git cmd git
pkg opt rsync cmd rsync
# accept = false's programs (tests/pool_program.bats), and curl for them.
pkg opt gunicorn cmd gunicorn
pkg opt lighttpd cmd lighttpd
pkg opt tftpd-hpa cmd in.tftpd
pkg opt tftp-hpa cmd tftp
pkg opt curl cmd curl
# The Debian package, for /usr/bin/python3 (not a pyenv python3).
pkg opt python3-prometheus-client \
    /usr/bin/python3 -c 'import prometheus_client.parser'
# make lint (mandoc too), make fuzz.
pkg dev cppcheck cmd cppcheck
pkg dev shellcheck cmd shellcheck
pkg dev clang-format cmd clang-format
pkg dev clang cmd clang
pkg dev libclang-rt-14-dev fuzzer_runtime

if [ "$mode" = packages ]; then
	echo "${all# }"
	exit 0
fi

# The libconfuse versions whose lexer config_scan.c and config_text.c are
# known to read as: they re-lex the file before libconfuse does so that
# every error lands on its line (their top comments say which libconfuse
# behaviour each step exists for), and a libconfuse whose lexer changed
# could accept what they reject, or the other way round.  A version joins
# the list once the unit tests' config corpus passes with it.
CONFUSE_KNOWN="3.3"
# Empty when libconfuse is one of those; else what is wrong with it.
confuse_version() {
	command -v pkg-config >/dev/null 2>&1 || {
		echo "pkg-config is missing: cannot tell libconfuse's version"
		return
	}
	v=$(pkg-config --modversion libconfuse 2>/dev/null) || {
		echo "pkg-config knows no libconfuse"
		return
	}
	case " $CONFUSE_KNOWN " in *" $v "*) return ;; esac
	echo "libconfuse $v is not one whose lexer the config scanner is" \
	    "known to agree with ($CONFUSE_KNOWN)"
}

# A known libconfuse: only warn when building (a distribution's may be
# newer), fail where the tests would run on it, unless the caller says
# PREFORKD_ANY_LIBCONFUSE=1 after checking.
check_confuse() {
	problem=$(confuse_version)
	[ -z "$problem" ] && return 0
	if [ "$mode" = check ] && [ "$set" != build ] &&
	    [ "${PREFORKD_ANY_LIBCONFUSE:-0}" != 1 ]; then
		echo "preforkd: $problem;" >&2
		echo "  see CONFUSE_KNOWN in tests/deps.sh, or set" \
		    "PREFORKD_ANY_LIBCONFUSE=1 to test anyway" >&2
		exit 1
	fi
	echo "preforkd: warning: $problem (see tests/deps.sh)" >&2
}

if [ -n "$optional" ]; then
	echo "preforkd: the tests that need these skip:$optional" \
	    "(make deps installs them)" >&2
fi
if [ -z "$missing" ]; then
	check_confuse
	exit 0
fi

if [ "$mode" = install ] && [ "$(id -u)" -eq 0 ] &&
    command -v apt-get >/dev/null 2>&1; then
	echo "installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >&2
	check_confuse
	exit 0
fi
echo "preforkd needs:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	echo "install them with:  make deps  (or apt-get install$missing)" >&2
else
	echo "install them with:  sudo apt-get install$missing" >&2
fi
exit 1
