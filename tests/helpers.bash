# Shared by every tests/*.bats file: a temp dir, a config written from a
# template, free loopback ports, the daemon in the foreground with a bounded
# readiness poll, and a teardown that stops every process the test started
# and fails the test if one outlives it or the log shows a sanitizer report
# or a worker killed by a signal that means a crash.

# The tree: this file is its tests/helpers.bash, whether the test that
# loads it is in tests/ or tests/long/.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFORKD="${PREFORKD_BIN:-$ROOT/preforkd}"
PFCLIENT="${PFCLIENT_BIN:-$ROOT/build/pfclient}"

# Seconds any single wait may take before the test fails.
WAIT_LIMIT=${WAIT_LIMIT:-10}

common_setup() {
	# First: a teardown after a set-up that failed must not take the
	# kernel's threads (ppid 2, then 0) for the test's descendants.
	TEST_SHELL=$BASHPID
	T="$(mktemp -d "${BATS_TMPDIR:-/tmp}/preforkd.XXXXXX")"
	CONF="$T/preforkd.conf"
	LOG="$T/preforkd.log"
	PIDFILE="$T/preforkd.pid"
	DPID=""
	PORT="$(free_port)"
}

common_teardown() {
	local before
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "$LOG" ]; then
		echo "--- preforkd log ---" >&2
		tail -n 40 "$LOG" >&2
	fi
	# Before anything stops: a worker whose master is gone is no longer
	# a descendant of the test.
	before=$(own_processes)
	for name in ${CLIENTS:-}; do
		close_client "$name"
	done
	for pid in ${BACKGROUND:-}; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	stop_daemon
	no_process_left "$before" || return 1
	log_is_clean "$LOG" || return 1
	rm -rf "$T"
}

# The signals that mean a worker crashed: the master logs "worker PID
# (service NAME) killed by signal SEGV" and spawns another, so the test
# would pass unless the teardown looks.  A test that sends one of them
# itself says so with allow_worker_crash.
CRASH_SIGNALS="SEGV|BUS|ABRT|ILL|FPE|SYS"

allow_worker_crash() {
	WORKER_CRASH_ALLOWED=1
}

# log_is_clean FILE: fail, printing the lines, if the log (when there is
# one) shows a sanitizer report or a worker that crashed.
log_is_clean() {
	[ -f "$1" ] || return 0
	if grep -E "Sanitizer|runtime error:" "$1" >&2; then
		return 1
	fi
	if [ -z "${WORKER_CRASH_ALLOWED:-}" ] && grep -E \
	    "worker [0-9]+ \(service .*\) killed by (signal ($CRASH_SIGNALS)\$|the sandbox:)" \
	    "$1" >&2; then
		echo "a worker crashed (allow_worker_crash if the test sent it)" >&2
		return 1
	fi
}

# The fields of /proc/PID/stat after the process's name, into STAT (an
# array: STAT[1] is the parent's pid, STAT[19] the start time in clock
# ticks since boot, which tells a process from a later one given the same
# pid); 1 when there is no such process.
read_stat() {
	local line
	read -r line 2>/dev/null <"/proc/$1/stat" || return 1
	read -r -a STAT <<<"${line##*) }"
}

# "PID START" for every process of the test: what descends from the test's
# shell; what holds a file in $T open or has it as its working directory
# (a daemon that detached, a worker whose master was killed); the workers
# the log names; the pid in $PIDFILE.  The shell that asks, and the shells
# it runs in, are not listed.  Call it as $(own_processes) only: in that
# subshell it drops bats's DEBUG trap, which runs before every command and
# would make the walk over /proc take seconds.
own_processes() {
	local pid kind skip=" "

	trap - DEBUG
	{
		# The test's descendants ("D"), and the shells this runs in
		# ("S"), from one ps.
		# The shell that runs the test: every process it starts
		# descends from it, until its parent dies.
		ps -e -o pid= -o ppid= | awk -v root="${TEST_SHELL:--1}" \
		    -v self="$BASHPID" '
		    { parent[$1] = $2 }
		    END {
			for (p = self; (p in parent) && p > 1; p = parent[p])
				print "S", p
			for (p in parent) {
				q = p
				while (q != root && (q in parent) && q > 1)
					q = parent[q]
				if (q == root && p != root)
					print "D", p
			}
		    }'
		if [ -n "${T:-}" ] && [ -d "$T" ]; then
			find /proc/[0-9]*/fd /proc/[0-9]*/cwd -maxdepth 1 \
			    -lname "$T*" 2>/dev/null | cut -d/ -f3 | sed 's/^/T /'
		fi
		spawned_pids 2>/dev/null | sed 's/^/L /'
		if [ -n "${PIDFILE:-}" ] && [ -f "$PIDFILE" ]; then
			echo "P $(head -c 32 "$PIDFILE")"
		fi
	} | sort -r | while read -r kind pid; do
		# Reversed, the "S" lines come first; a pid listed is skipped
		# from then on.
		[[ "$pid" =~ ^[0-9]+$ ]] || continue
		[ "$pid" != "${TEST_SHELL:-}" ] || continue
		[[ "$skip" == *" $pid "* ]] && continue
		skip="$skip$pid "
		if [ "$kind" != S ] && read_stat "$pid"; then
			echo "$pid ${STAT[19]}"
		fi
	done
}

# "PID START" for the processes a daemon of the test may have started since
# own_processes looked: the workers the log names, the pid in $PIDFILE.
late_processes() {
	local pid
	{
		spawned_pids
		if [ -n "${PIDFILE:-}" ] && [ -f "$PIDFILE" ]; then
			head -c 32 "$PIDFILE"
			echo
		fi
	} 2>/dev/null | while read -r pid; do
		[[ "$pid" =~ ^[0-9]+$ ]] && read_stat "$pid" &&
		    echo "$pid ${STAT[19]}"
	done
}

# Fail, naming them, if processes of the test outlive it: those listed in
# $1 ("PID START" lines, from own_processes before the teardown stopped
# anything) and those a daemon started since; each gets $LEFT_WAIT
# seconds (5) to finish exiting (workers follow their master), then is
# killed.  One walk over /proc per test: what was not there at the start
# of the teardown can only be a daemon's doing, and the log says it.
no_process_left() {
	local listed="$1" pid start left=""
	local deadline=$((SECONDS + ${LEFT_WAIT:-5}))
	listed=$(printf '%s\n%s\n' "$listed" "$(late_processes)" | sort -u)
	while read -r pid start; do
		if [ -z "$pid" ] || [ -z "$start" ]; then
			continue
		fi
		while still_running "$pid" "$start" &&
		    [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.01
		done
		still_running "$pid" "$start" || continue
		left="$left $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))"
		kill -KILL "$pid" 2>/dev/null || true
	done <<<"$listed"
	[ -z "$left" ] && return 0
	echo "processes left running:$left" >&2
	return 1
}

# The process PID that started at START is still there (not a zombie).
still_running() {
	read_stat "$1" && [ "${STAT[19]}" = "$2" ] && [ "${STAT[0]}" != Z ]
}

# tool_path COMMAND: where an optional tool is, also where a user's PATH
# may not reach (xinetd and logrotate are in sbin, systemd keeps
# systemd-socket-activate in its own directory); 1 when it is not here.
tool_path() {
	local dir
	command -v "$1" 2>/dev/null && return 0
	for dir in /usr/sbin /sbin /usr/lib/systemd /lib/systemd; do
		if [ -x "$dir/$1" ]; then
			echo "$dir/$1"
			return 0
		fi
	done
	return 1
}

# need_tool COMMAND [PACKAGE]: skip the test, saying what is missing and
# which Debian package has it, unless the optional tool is here.  make test
# installs nothing; make deps does.
need_tool() {
	tool_path "$1" >/dev/null ||
	    skip "$1 not installed (Debian package ${2:-$1}; make deps installs it)"
}

# need_python_module MODULE PACKAGE: the same for a module of the system's
# python3 (/usr/bin/python3: the Debian package's, not a pyenv python3).
need_python_module() {
	/usr/bin/python3 -c "import $1" >/dev/null 2>&1 ||
	    skip "python3 module $1 not installed (Debian package $2; make deps installs it)"
}

free_port() {
	"$PFCLIENT" -f
}

# write_config SERVICE_BODY [GLOBALS]: one service "svc" on 127.0.0.1:$PORT.
write_config() {
	local body="$1" globals="${2:-}"
	cat >"$CONF" <<CONF
log_level = "debug"
shutdown_timeout = 5
$globals
service svc {
	listen = {"127.0.0.1:$PORT"}
	$body
}
CONF
}

# Poll until a command succeeds; fail after WAIT_LIMIT seconds, or at once
# when the daemon we started has exited.
wait_until() {
	local deadline=$((SECONDS + WAIT_LIMIT))
	until "$@"; do
		# Look once more after finding the daemon gone: it may have
		# done what we wait for just before it exited.
		if [ -n "$DPID" ] && ! kill -0 "$DPID" 2>/dev/null && ! "$@"; then
			echo "preforkd exited while waiting for: $*" >&2
			cat "$LOG" >&2 || true
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.02
	done
}

# refute COMMAND...: fail, saying so, if the command succeeds.  A bare
# "! command" fails a bats test only as its last line (set -e ignores it).
refute() {
	if "$@"; then
		echo "should have failed: $*" >&2
		return 1
	fi
}

# The warning and error lines of the log files given (the daemon's log by
# default), but for the advice every root test run draws: its workers run
# as nobody (see SECURITY in preforkd(8)).  Prints them; 1 when none.
unexpected_warnings() {
	[ "$#" -gt 0 ] || set -- "$LOG"
	grep -hE -- "warning|error" "$@" 2>/dev/null |
	    grep -vE "warning: workers run as nobody \(uid [0-9]+\), which other programs share"
}

# Skip the test unless it runs as root (workers change user only then).
needs_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (workers change user only then)"
}

# Skip the test unless it can act as another local user, nobody: root,
# the user, setpriv, and a python3 any user may run.
needs_nobody() {
	needs_root
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	command -v setpriv >/dev/null || skip "setpriv is missing"
	[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3 for another user"
}

# Skip the test when the daemon carries AddressSanitizer (make sanitize):
# it catches a SEGV itself, reports it and exits, so no worker dies of one.
skip_under_asan() {
	if ldd "$PREFORKD" 2>/dev/null | grep -q libasan; then
		skip "${1:-the daemon is built with AddressSanitizer (make sanitize)}"
	fi
}

log_has() {
	grep -qE -- "$1" "$LOG" 2>/dev/null
}

log_count() {
	grep -cE -- "$1" "$LOG" 2>/dev/null || true
}

wait_log() {
	wait_until log_has "$1"
}

# Start preforkd in the foreground with $CONF; wait until it says started.
# The log may hold an earlier start's line (a test that restarts it):
# this start's is one more.
start_daemon() {
	local before
	before=$(log_count "master: notice: started")
	before=${before:-0}
	"$PREFORKD" -f -c "$CONF" -p "$PIDFILE" "$@" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_until test_log_count_above "master: notice: started" "$before"
}

# Stop the daemon: TERM, then KILL after a deadline.  Safe to call twice.
stop_daemon() {
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null || true
	local deadline=$((SECONDS + 5))
	# A short poll: most daemons are gone within a few milliseconds, and
	# every test waits here.
	while kill -0 "$DPID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.01
	done
	kill -KILL "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	DPID=""
}

# Every worker pid the log says was spawned.
spawned_pids() {
	sed -nE 's/.*spawned worker ([0-9]+) .*/\1/p' "$LOG" 2>/dev/null
}

# A process's title: /proc/PID/cmdline up to its first NUL.
title_of() {
	local title=""
	IFS= read -r -d '' title <"/proc/$1/cmdline" 2>/dev/null
	printf '%s\n' "$title"
}

# Live workers of a master ($DPID unless given) for a service, by their
# title "preforkd: worker NAME [STATE...]".
worker_pids() {
	local name="${1:-svc}" master="${2:-$DPID}" pid title
	for pid in $(pgrep -P "$master"); do
		title=$(title_of "$pid")
		if [ "$title" = "preforkd: worker $name" ] ||
		    [[ "$title" == "preforkd: worker $name ["* ]]; then
			echo "$pid"
		fi
	done
}

worker_count() {
	worker_pids "${1:-svc}" "${2:-$DPID}" | wc -l
}

# has_workers N [SERVICE [MASTER]]: for wait_until, which needs a command
# to re-run.
has_workers() {
	[ "$(worker_count "${2:-svc}" "${3:-$DPID}")" -eq "$1" ]
}

# is_worker PID [SERVICE]: PID is a live worker of $DPID for the service.
is_worker() {
	worker_pids "${2:-svc}" | grep -qx -- "$1"
}

# A process that has exited; a zombie whose new parent has not reaped it
# yet (the master was killed) counts as gone.
is_gone() {
	local state
	state=$(sed -E 's/^.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$state" ] || [ "$state" = Z ]
}

# Send stdin to the service, print what comes back (half-close at EOF).
talk() {
	"$PFCLIENT" -t "${TALK_TIMEOUT:-5}" "${HOST:-127.0.0.1}" "${2:-$PORT}"
}

# open_client NAME: a client that stays connected; write with send_line
# NAME TEXT, read replies from $T/NAME.out, finish with close_client NAME.
open_client() {
	local name="$1"
	mkfifo "$T/$name.in"
	(
		# Not with the fifos of the clients opened before: a client
		# ends only once nothing else holds its fifo for writing.
		local other fdvar
		for other in ${CLIENTS:-}; do
			fdvar="CLIENT_FD_$other"
			[ -z "${!fdvar:-}" ] || eval "exec ${!fdvar}>&-"
		done
		exec "$PFCLIENT" -t 30 "${HOST:-127.0.0.1}" "${2:-$PORT}" \
		    <"$T/$name.in" >"$T/$name.out" 2>&1 3>&-
	) &
	eval "CLIENT_PID_$name=$!"
	CLIENTS="${CLIENTS:-} $name"
	# Hold the fifo open for writing on a descriptor of its own.
	exec {fd}>"$T/$name.in"
	eval "CLIENT_FD_$name=$fd"
}

send_line() {
	local fdvar="CLIENT_FD_$1"
	printf '%s\n' "$2" >&"${!fdvar}"
}

# Wait until the client's output contains a fixed string.
client_saw() {
	grep -qF -- "$2" "$T/$1.out" 2>/dev/null
}

close_client() {
	local fdvar="CLIENT_FD_$1" pidvar="CLIENT_PID_$1"
	local fd="${!fdvar:-}" pid="${!pidvar:-}"
	if [ -n "$fd" ]; then
		exec {fd}>&-
		eval "CLIENT_FD_$1="
	fi
	if [ -n "$pid" ]; then
		wait_until_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		eval "CLIENT_PID_$1="
	fi
}

# stream_to PORT: a client that sends zeros as fast as it can, for at most
# 15 s; stopped by teardown.
stream_to() {
	"$PFCLIENT" -t 15 127.0.0.1 "$1" </dev/zero >/dev/null 2>&1 3>&- &
	BACKGROUND="${BACKGROUND:-} $!"
}

wait_until_gone() {
	local deadline=$((SECONDS + 5))
	while ! is_gone "$1"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# SIGHUP the daemon and wait until the log says how the reload went.
reload() {
	local before
	before=$(log_count "reloaded |reload failed")
	kill -HUP "$DPID"
	wait_until test_log_count_above "reloaded |reload failed" "$before"
}

# For wait_until: the log has more than $2 lines matching $1.
test_log_count_above() {
	[ "$(log_count "$1")" -gt "$2" ]
}

# For wait_until: the log has exactly $2 lines matching $1.
test_log_count_is() {
	[ "$(log_count "$1")" -eq "$2" ]
}
