#!/usr/bin/env bats
# Where log lines go: -f honours `log`, stderr when it is unset, and syslog
# that nobody listens to falls back to stderr, said once (preforkd(8),
# LOGGING).  The syslog daemon is played by tests/helper/dgram_sink.py on a
# /dev/log of a private mount namespace.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	STDERR="$T/stderr"
}
teardown() {
	local status=0
	# $LOG may be the syslog or a file: sanitizer reports go to stderr.
	if [ -f "$STDERR" ] && grep -E "Sanitizer|runtime error:" "$STDERR" >&2; then
		status=1
	fi
	common_teardown
	return "$status"
}

SINK="$BATS_TEST_DIRNAME/helper/dgram_sink.py"

# start_with_stderr [WRAPPER...]: start preforkd -f with $CONF, stderr in
# $STDERR, and wait until $LOG (wherever the log goes) says started.  A
# WRAPPER must exec, so that $DPID is the master's pid.
start_with_stderr() {
	"$@" "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" >>"$STDERR" 2>&1 3>&- &
	DPID=$!
	wait_log "master: (notice: )?started"
}

# can_unshare: root may give preforkd a /dev of its own.
can_unshare() {
	unshare -m true 2>/dev/null
}

# private_dev SOCKET CMD...: become CMD in a mount namespace of its own,
# whose /dev holds null, zero, random and urandom and, when SOCKET is not
# "-", a /dev/log that is a link to SOCKET.  The mounts vanish with CMD.
# It execs: call it only in a background job.
private_dev() {
	local sock="$1"
	shift
	mkdir -p "$T/dev"
	[ "$sock" = - ] || ln -sfn "$sock" "$T/dev/log"
	# shellcheck disable=SC2016 # expanded by the inner sh
	exec unshare -m sh -c 'set -e; d="$1"; shift
		for n in null zero random urandom; do
			: >"$d/$n"; mount --bind "/dev/$n" "$d/$n"
		done
		mount --rbind "$d" /dev
		exec "$@"' sh "$T/dev" "$@"
}

# start_sink PATH: a syslog daemon listening on PATH, its datagrams in
# $T/syslog, one per line.
start_sink() {
	python3 "$SINK" "$1" "$T/syslog" 3>&- &
	BACKGROUND="${BACKGROUND:-} $!"
	wait_until grep -qx bound "$T/syslog"
}

syslog_has() {
	grep -qE -- "$1" "$T/syslog" 2>/dev/null
}

stderr_has() {
	grep -qE -- "$1" "$STDERR" 2>/dev/null
}

@test "-f without log: every line on stderr, no log file" {
	write_config 'protocol = "echo"'
	start_daemon
	run talk <<<"hi"
	[ "$output" = "hi" ]
	wait_log "worker svc#1: info: access service=svc "
	run ! log_has "error|warning"
	[ "$(find "$T" -newer "$CONF" -name '*.log' ! -path "$LOG")" = "" ]
}

@test "-f with log set to a file: the file gets the lines, stderr only start-up" {
	LOG="$T/file.log"
	write_config 'protocol = "echo"' "log = \"$LOG\""
	start_with_stderr
	run talk <<<"hi"
	[ "$output" = "hi" ]
	wait_log "worker svc#1: info: access service=svc "
	# A person watching the terminal sees start-up, and nothing after it.
	stderr_has "master: info: listening on 127.0.0.1:$PORT$"
	run ! stderr_has "started|spawned|access"
	log_has "master: info: listening on 127.0.0.1:$PORT$"
}

@test "-f with a log file that cannot be opened exits 3, saying so on stderr" {
	write_config 'protocol = "echo"' "log = \"$T/no/such/dir/log\""
	run --separate-stderr timeout -k 1 10 "$PREFORKD" -f -c "$CONF" \
	    -p "$PIDFILE" 3>&-
	[ "$status" -eq 3 ]
	# shellcheck disable=SC2154 # set by run --separate-stderr
	[[ "$stderr" == *" master: error: log $T/no/such/dir/log: No such file or directory" ]]
	[ ! -e "$PIDFILE" ]
}

@test "syslog nobody listens to: said once on stderr, lines follow on stderr" {
	can_unshare || [ ! -e /dev/log ] ||
	    skip "cannot hide /dev/log here (unshare -m needs root)"
	LOG="$STDERR"
	write_config 'protocol = "echo"' 'log = "syslog"'
	if can_unshare; then
		start_with_stderr private_dev -
	else
		start_with_stderr
	fi
	[ "$(log_count "log syslog")" -eq 1 ]
	log_has "^[-0-9]+ [:.0-9]+ preforkd\[$DPID\] master: error: log syslog: cannot reach /dev/log \(No such file or directory\): logging to stderr instead$"
	# Said before anything else, so an operator sees it first.
	head -n 1 "$LOG" | grep -q "log syslog: cannot reach"
	run talk <<<"hi"
	[ "$output" = "hi" ]
	wait_log "worker svc#1: info: access service=svc "
	# A reload tries syslog again, and keeps stderr when it still fails.
	kill -HUP "$DPID"
	wait_log "reloaded $CONF: generation 2"
	log_has "master: warning: reload: log syslog \(keeping the current log\): No such file or directory$"
}

@test "log = syslog: lines go to /dev/log with facility daemon, not to stderr" {
	can_unshare || skip "a private /dev/log needs unshare -m (root)"
	LOG="$T/syslog"
	start_sink "$T/log.sock"
	write_config 'protocol = "echo"' 'log = "syslog"'
	start_with_stderr private_dev "$T/log.sock"
	run talk <<<"hi"
	[ "$output" = "hi" ]
	# LOG_DAEMON (3 << 3) plus the level: notice 5, info 6.
	wait_until syslog_has $'\t'"<30>.* preforkd\[[0-9]+\]: worker svc#1: access service=svc "
	syslog_has $'\t'"<29>.* preforkd\[$DPID\]: master: started: 1 service\(s\)"
	# Every datagram came from a preforkd process.
	local pid
	# shellcheck disable=SC2013 # one pid per line
	for pid in $(sed -n '2,$p' "$T/syslog" | cut -f1 | sort -u); do
		[ "$pid" = "$DPID" ] || spawned_pids_from "$T/syslog" | grep -qx "$pid"
	done
	run ! stderr_has "error|started|access"
	stderr_has "master: info: listening on 127.0.0.1:$PORT$"
}

# Worker pids that the master's syslog lines say it spawned.
spawned_pids_from() {
	sed -nE 's/.*spawned worker ([0-9]+) .*/\1/p' "$1"
}

@test "a reload finds a syslog daemon that was not running at start" {
	can_unshare || skip "a private /dev/log needs unshare -m (root)"
	LOG="$STDERR"
	write_config 'protocol = "echo"' 'log = "syslog"'
	# /dev/log names a socket that is not there yet.
	start_with_stderr private_dev "$T/log.sock"
	log_has "master: error: log syslog: cannot reach /dev/log \(No such file or directory\)"
	start_sink "$T/log.sock"
	kill -HUP "$DPID"
	wait_until syslog_has "master: reloaded $CONF: generation 2"
	run ! log_has "reloaded"
}
