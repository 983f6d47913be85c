#!/usr/bin/env bats
# The scoreboard: a shared table of worker slots next to the pidfile, sized
# once by max_slots.

load helpers

bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

status_has() {
	"$PREFORKD" -s status -p "$PIDFILE" | grep -qE -- "$1"
}

@test "the scoreboard sits beside the pidfile while the master runs" {
	write_config 'protocol = "echo"' 'max_slots = 8'
	start_daemon
	local sb="$T/preforkd.scoreboard"
	[ -f "$sb" ]
	[ "$(stat -c %a "$sb")" = 600 ]
	[ "$(head -c 13 "$sb")" = "preforkd-sb-7" ]
	stop_daemon
	[ ! -e "$sb" ]
	[ ! -e "$PIDFILE" ]
}

@test "a pidfile without .pid gets .scoreboard appended" {
	write_config 'protocol = "echo"'
	PIDFILE="$T/run.lock"
	start_daemon
	[ -f "$T/run.lock.scoreboard" ]
}

@test "services that need more workers than max_slots are refused" {
	write_config 'protocol = "echo"
	workers = 4' 'max_slots = 3'
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[ "$stderr" = "$CONF: the services need 4 workers, more than max_slots = 3" ]
	run "$PREFORKD" -f -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 1 ]
	[ ! -e "$T/preforkd.scoreboard" ]
}

@test "a reload that needs more slots than the scoreboard has is refused" {
	write_config 'protocol = "echo"
	workers = 2' 'max_slots = 6'
	start_daemon
	wait_until has_workers 2
	write_config 'protocol = "echo"
	workers = 5' 'max_slots = 6'
	reload
	log_has "reload: the new generation needs 5 worker slots and 2 are held by running workers, but the scoreboard has 6 \(max_slots, fixed at start\)"
	log_has "reload failed: still running generation 1"
	write_config 'protocol = "echo"
	workers = 4' 'max_slots = 6'
	reload
	log_has "reloaded .*: generation 2"
	wait_until has_workers 4
}

@test "-s status shows the bytes of a connection as they move" {
	write_config 'protocol = "discard"
	workers = 1'
	start_daemon
	wait_until has_workers 1
	open_client a
	send_line a "twelve bytes"
	# discard answers nothing: only the live count can show the bytes.
	wait_until status_has "^worker pid=[0-9]+ service=svc generation=1 state=busy client=127\.0\.0\.1:[0-9]+ time=[0-9.]+s in=13 out=0 served=0$"
	send_line a "and 14 more.."
	wait_until status_has "state=busy .* in=27 out=0 served=0$"
	close_client a
	# At the end the connection joins the worker's totals, once.
	wait_until status_has "state=idle client=- .* in=27 out=0 served=1$"
}

@test "the scoreboard, which names every client, is not readable by other users" {
	need_tool setpriv util-linux
	write_config 'protocol = "echo"'
	start_daemon
	chmod 755 "$T" # the pidfile is readable: only the table is not
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$PREFORKD" -s status -p "$PIDFILE"
	[ "$status" -eq 4 ]
	[ "$stderr" = "preforkd: scoreboard $T/preforkd.scoreboard: Permission denied" ]
	run "$PREFORKD" -s status -p "$PIDFILE"
	[ "$status" -eq 0 ]
}

# master_table_kib: the KiB of the scoreboard the master has mapped in
# (Rss of its mapping of the table's file).
master_table_kib() {
	awk -v f="$T/preforkd.scoreboard" '
	    $6 == f { on = 1; next }
	    /^[0-9a-f]+-[0-9a-f]+ / { on = 0 }
	    on && $1 == "Rss:" { kib += $2 }
	    END { print kib + 0 }' "/proc/$DPID/smaps"
}

@test "the master maps only the slots that can be in use: 2 workers of 4096 slots" {
	write_config 'protocol = "echo"
	workers = 2' 'max_slots = 4096'
	start_daemon
	wait_until has_workers 2
	# The master's loop sweeps the table at its first turn, right after
	# "started", and -s reload makes it turn again: the sweep, the counts
	# and the claims of a new generation (slots 2 and 3) have all run.
	timeout 10 "$PREFORKD" -s reload -w 5 -p "$PIDFILE"
	run "$PREFORKD" -s status -p "$PIDFILE"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^worker .* generation=2 ' <<<"$output")" -eq 2 ]
	# 1.7 MB of table; the header, the services and four slots are 3 or
	# 4 pages.  Reading every slot mapped in all of it.
	local kib
	kib=$(master_table_kib)
	echo "the master has $kib KiB of the table mapped" >&2
	[ "$kib" -gt 0 ]
	[ "$kib" -le 32 ]
}
