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
	log_is_clean "$STDERR" || status=1
	if [ -n "${SMALL:-}" ]; then
		# Its log is in the tmpfs: keep a copy for common_teardown.
		stop_daemon
		[ -f "$LOG" ] && cp "$LOG" "$T/small.log"
		umount -l "$SMALL" || status=1
		LOG="$T/small.log"
	fi
	common_teardown
	return "$status"
}

SINK="$ROOT/tests/helper/dgram_sink.py"

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
	refute unexpected_warnings
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

# The master of a detached preforkd, for the helpers' teardown.
take_detached_master() {
	wait_until test -s "$PIDFILE"
	DPID=$(cat "$PIDFILE")
}

@test "detached, no syslog, log unset: a stderr that is a file keeps every line" {
	can_unshare || skip "hiding /dev/log needs unshare -m (root)"
	LOG="$STDERR"
	write_config 'protocol = "echo"'
	(private_dev - "$PREFORKD" -c "$CONF" -p "$PIDFILE" \
	    >/dev/null 2>>"$STDERR" 3>&-)
	take_detached_master
	log_has "master: error: log syslog: cannot reach /dev/log \(No such file or directory\): logging to stderr instead$"
	log_has "master: notice: logging to stderr without -f: a file, which stays open once detached$"
	# After detaching: the master's lines and the workers'.
	wait_log "master: notice: started: 1 service\(s\)"
	run talk <<<"hi"
	[ "$output" = "hi" ]
	wait_log "worker svc#1: info: access service=svc "
}

@test "detached, no syslog, log unset: a stderr that is a pipe is let go, said first" {
	can_unshare || skip "hiding /dev/log needs unshare -m (root)"
	write_config 'protocol = "echo"'
	# As ssh or a shell's $(...) would read it: to its end, which must
	# come once the daemon has detached, not when it stops.  The reader
	# gives up after 10 s (status 124) if the daemon kept the pipe.
	local said
	said=$({ private_dev - "$PREFORKD" -c "$CONF" -p "$PIDFILE" \
	    2>&1 3>&-; } | timeout 10 cat; echo "reader: ${PIPESTATUS[1]}")
	take_detached_master
	echo "$said"
	[[ "$said" == *"master: warning: logging to stderr without -f: once detached, nothing more is logged (stderr is not a file)"* ]]
	[[ "$said" == *"reader: 0" ]]
	run talk <<<"hi"
	[ "$output" = "hi" ]
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

# ------------------------------------------------------ log files at fault

# start_file_log: the daemon in the foreground, logging to $LOG, which it
# creates itself; its stderr in $STDERR.
start_file_log() {
	"$PREFORKD" -f -c "$CONF" -p "$PIDFILE" >>"$STDERR" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
}

@test "the log file deleted: serving goes on, SIGUSR1 makes a new root file for new lines" {
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	write_config 'protocol = "echo"
	workers = 2' "log = \"$LOG\"
user = \"nobody\""
	start_file_log
	rm "$LOG"
	run talk <<<"unlogged"
	[ "$output" = "unlogged" ]
	kill -USR1 "$DPID"
	wait_until [ -f "$LOG" ]
	wait_log "master: notice: log reopened: generation 2 takes over"
	# The master's own file, whoever the workers are.
	[ "$(stat -c '%u %a' "$LOG")" = "$(id -u) 640" ]
	# The new generation writes its lines there.
	wait_until has_workers 2
	run talk <<<"logged"
	[ "$output" = "logged" ]
	wait_log "worker svc#2: info: access service=svc .* in=7 "
}

# A tmpfs of 64 KiB at $T/small, unmounted by teardown.
mount_small() {
	mkdir "$T/small"
	mount -t tmpfs -o size=64k tmpfs "$T/small" 2>/dev/null ||
	    skip "cannot mount a tmpfs here (needs root)"
	SMALL="$T/small"
}

@test "the log's disk full: serving goes on, lines land again once there is room, the loss said" {
	mount_small
	LOG="$SMALL/preforkd.log"
	write_config 'protocol = "echo"
	workers = 2' "log = \"$LOG\""
	start_file_log
	# Fill the file system, the log file's last page included.
	dd if=/dev/zero of="$SMALL/filler" bs=1k 2>/dev/null || true
	local i
	for i in $(seq 1 40); do
		run talk <<<"full $i"
		[ "$output" = "full $i" ]
	done
	# Some access lines were lost (the file takes none once full).
	[ "$(log_count " access service=svc ")" -lt 40 ]
	rm "$SMALL/filler"
	kill -USR1 "$DPID"
	wait_log "master: notice: received USR1: reopening the log"
	# A worker that lost lines says how many with the next one it writes
	# (here on its way out, as the new generation takes over).
	wait_log "worker svc#1: warning: log: [0-9]+ line\(s\) could not be written: No space left on device$"
	wait_until has_workers 2
	run talk <<<"room again"
	[ "$output" = "room again" ]
	wait_log "access service=svc .* in=11 "
}

@test "access_log: access lines in their own file, whatever log_level; reopen covers both" {
	local access="$T/access.log"
	LOG="$T/daemon.log"
	write_config 'protocol = "echo"
	workers = 2' "log = \"$LOG\"
access_log = \"$access\""
	sed -i 's/^log_level = "debug"/log_level = "notice"/' "$CONF"
	start_file_log
	run talk <<<"hello"
	[ "$output" = "hello" ]
	wait_until grep -q "worker svc#1: info: access service=svc client=127.0.0.1:[0-9]* in=6 out=6 " "$access"
	run ! grep -q "master" "$access"
	run ! log_has "access service="
	[ "$(stat -c '%u %a' "$access")" = "$(id -u) 640" ]
	# Both rotated, one SIGUSR1: both files come back, each with its lines.
	mv "$LOG" "$LOG.1"
	mv "$access" "$access.1"
	run "$PREFORKD" -s reopen -p "$PIDFILE"
	[ "$status" -eq 0 ]
	wait_until [ -f "$LOG" ]
	wait_until [ -f "$access" ]
	wait_log "master: notice: log reopened: generation 2 takes over"
	wait_until has_workers 2
	run talk <<<"rotated"
	[ "$output" = "rotated" ]
	wait_until grep -q "worker svc#2: info: access service=svc .* in=8 " "$access"
	run ! grep -q "in=8 " "$access.1"
	run ! log_has "access service="
}

@test "access_log that cannot be opened stops the start, naming it" {
	write_config 'protocol = "echo"' "access_log = \"$T/no/such/dir/access.log\""
	run --separate-stderr "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" 3>&-
	[ "$status" -eq 3 ]
	[[ "$stderr" == *" master: error: access_log $T/no/such/dir/access.log: No such file or directory" ]]
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"access_log $T/no/such/dir/access.log: directory $T/no/such/dir: No such file or directory"* ]]
}

@test "an access_log owned by another user is warned about as access_log, not as log" {
	[ "$(id -u)" -eq 0 ] || skip "needs root (to give the file to nobody)"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	local access="$T/access.log"
	: >"$access"
	chown nobody "$access"
	write_config 'protocol = "echo"' "access_log = \"$access\""
	start_daemon
	log_has "master: warning: access_log $access is owned by uid $(id -u nobody), not by preforkd's uid 0: that user can rewrite it"
	run ! log_has "warning: log $access"
}

@test "an access_log directory the workers may write to is warned about as access_log" {
	[ "$(id -u)" -eq 0 ] || skip "needs root (workers change user only then)"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	chmod 755 "$T"
	mkdir -m 755 "$T/logs"
	chown nobody "$T/logs"
	write_config 'protocol = "echo"' "user = \"nobody\"
access_log = \"$T/logs/access.log\""
	start_daemon
	log_has "master: warning: access_log $T/logs/access.log: the workers \(uid $(id -u nobody), gid $(id -g nobody)\) may write to its directory"
	run ! log_has "warning: log $T/logs/access.log"
}
