#!/usr/bin/env bats
# The real logrotate(8), with the etc/logrotate.d/preforkd that make install
# ships, pointed at a log in a temp dir: rotated while clients come and go,
# no access line is lost and new ones land in the new file.

# PIDFILE and DPID are read by helpers.bash.
# shellcheck disable=SC2034

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	need_tool logrotate
	LOGROTATE=$(tool_path logrotate)
	LOGDIR="$T/log/preforkd"
	mkdir -p "$LOGDIR" "$T/run/preforkd"
	LOG="$LOGDIR/preforkd.log"
	# The systemd unit's pidfile, which the shipped postrotate tries first.
	PIDFILE="$T/run/preforkd/preforkd.pid"
	# The shipped file with this build's paths, as make install fills
	# them in, and the temp log dir for /var/log/preforkd.
	sed -e "s|@SBINDIR@|$(dirname "$PREFORKD")|g" \
	    -e "s|@RUNSTATEDIR@|$T/run|g" -e "s|@SYSCONFDIR@|$T|g" \
	    -e "s|/var/log/preforkd|$LOGDIR|g" \
	    "$ROOT/etc/logrotate.d/preforkd" >"$T/logrotate.conf"
	write_config 'protocol = "echo"
	workers = 3' "log = \"$LOG\""
}
teardown() { common_teardown; }

rotate() {
	"$LOGROTATE" -s "$T/logrotate.state" -f "$T/logrotate.conf"
}

# Access lines in every file the log has been, the compressed ones too.
access_lines() {
	local f n=0
	for f in "$LOGDIR"/preforkd.log*; do
		case "$f" in
		*.gz) n=$((n + $(zcat "$f" | grep -c " access service=svc "))) ;;
		*) n=$((n + $(grep -c " access service=svc " "$f"))) ;;
		esac
	done
	echo "$n"
}

access_lines_are() {
	[ "$(access_lines)" -eq "$1" ]
}

# progress_reached N: the background clients have made N connections.
progress_reached() {
	[ "$(head -n 1 "$T/progress" 2>/dev/null || echo 0)" -ge "$1" ]
}

# One more client; has the current log file its access line yet?
PROBES=0
probe_lands_in_new_file() {
	talk <<<"probe" >/dev/null
	PROBES=$((PROBES + 1))
	grep -q " access service=svc " "$LOG" 2>/dev/null
}

@test "logrotate while clients come and go: no access line lost, new ones in the new file" {
	local n=120 at
	start_daemon
	# Clients one after another, in the background, counting.
	(
		for i in $(seq 1 "$n"); do
			echo "c$i" | "$PFCLIENT" -t 5 127.0.0.1 "$PORT" >/dev/null 2>&1 ||
			    echo "client $i failed" >>"$T/failures"
			echo "$i" >"$T/progress"
		done
		echo "done" >>"$T/progress"
	) 3>&- &
	BACKGROUND="${BACKGROUND:-} $!"
	# Three rotations while they run.
	for at in 30 60 90; do
		WAIT_LIMIT=120 wait_until progress_reached "$at"
		run rotate
		echo "$output"
		[ "$status" -eq 0 ]
	done
	WAIT_LIMIT=120 wait_until grep -qx "done" "$T/progress"
	[ ! -e "$T/failures" ]
	# logrotate ran the postrotate, preforkd reopened, three times.
	[ -f "$LOGDIR/preforkd.log.1" ]
	[ -f "$LOGDIR/preforkd.log.2.gz" ]
	[ -f "$LOGDIR/preforkd.log.3.gz" ]
	[ "$(zcat "$LOGDIR"/*.gz | cat "$LOGDIR/preforkd.log.1" "$LOG" - |
	    grep -c "master: notice: received USR1: reopening the log")" -eq 3 ]
	# New clients are logged in the new file.
	wait_until probe_lands_in_new_file
	# Every connection has its one access line, in one file or another.
	wait_until access_lines_are $((n + PROBES))
	echo "$n clients, $PROBES probes, $(access_lines) access lines"
}

@test "the shipped postrotate succeeds when preforkd is not running" {
	echo "an old line" >"$LOG"
	run rotate
	echo "$output"
	[ "$status" -eq 0 ]
	[ -f "$LOGDIR/preforkd.log.1" ]
	[ ! -e "$LOG" ]
}

@test "the shipped postrotate reaches a preforkd started with the config's pidfile" {
	# Not under systemd: no pidfile in the unit's place, the config's.
	local conf_pid="$T/other.pid"
	write_config 'protocol = "echo"' "log = \"$LOG\"
pidfile = \"$conf_pid\""
	# The second postrotate command reads the compiled-in config path;
	# this build's default config is not ours, so point -s at it by -c
	# the way the shipped line would for an installed preforkd.
	sed -i "s|-s reopen 2>/dev/null|-s reopen -c $CONF 2>/dev/null|" \
	    "$T/logrotate.conf"
	"$PREFORKD" -f -c "$CONF" >>"$T/stderr" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	run rotate
	[ "$status" -eq 0 ]
	# It said so in the old file, then created the new one.
	wait_until grep -q "master: notice: received USR1: reopening the log" \
	    "$LOGDIR/preforkd.log.1"
	wait_until [ -f "$LOG" ]
}

@test "logrotate with an access_log: both files rotated and reopened by one postrotate" {
	local access="$LOGDIR/access.log"
	write_config 'protocol = "echo"
	workers = 2' "log = \"$LOG\"
access_log = \"$access\""
	start_daemon
	run talk <<<"before"
	[ "$output" = "before" ]
	wait_until grep -q " access service=svc .* in=7 " "$access"
	run rotate
	echo "$output"
	[ "$status" -eq 0 ]
	[ -f "$access.1" ]
	[ -f "$LOGDIR/preforkd.log.1" ]
	# One reopen, for both.
	wait_until [ -f "$access" ]
	wait_until [ -f "$LOG" ]
	wait_log "master: notice: log reopened: generation 2 takes over"
	run talk <<<"after"
	[ "$output" = "after" ]
	wait_until grep -q " access service=svc .* in=6 " "$access"
	run ! grep -q " in=6 " "$access.1"
	run ! grep -q " access service=" "$LOG"
}
