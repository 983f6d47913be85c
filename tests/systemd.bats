#!/usr/bin/env bats
# preforkd under a service manager, without systemd as PID 1: the
# sd_notify datagrams it sends (tests/helper/dgram_sink.py plays the
# manager's NOTIFY_SOCKET), preforkd(8) SERVICE MANAGER.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	NOTES="$T/notes"
}
teardown() { common_teardown; }

SINK="$BATS_TEST_DIRNAME/helper/dgram_sink.py"

# start_manager SOCKET: listen where NOTIFY_SOCKET will point; every
# datagram becomes a line of $NOTES: pid, arrival in monotonic us, fields.
start_manager() {
	python3 "$SINK" "$1" "$NOTES" 3>&- &
	BACKGROUND="${BACKGROUND:-} $!"
	wait_until grep -qx bound "$NOTES"
}

# The datagrams so far, one per line, without pid and time.
notes() {
	sed -n '2,$p' "$NOTES" | cut -f3-
}

# The first field (the state) of every datagram, on one line.
states() {
	notes | cut -f1 | tr '\n' ' '
}

has_states() {
	[ "$(states)" = "$1" ]
}

# Every datagram was sent by the master.
all_from_master() {
	local pids
	pids="$(sed -n '2,$p' "$NOTES" | cut -f1 | sort -u)"
	echo "senders: $pids"
	[ "$pids" = "$DPID" ]
}

@test "READY=1 once bound and spawned; RELOADING=1 then READY=1 on HUP; STOPPING=1" {
	start_manager "$T/notify.sock"
	write_config 'protocol = "echo"
	workers = 2'
	NOTIFY_SOCKET="$T/notify.sock" start_daemon
	wait_until has_states "READY=1 "
	# By the time it is ready, every worker was spawned and the
	# address serves.
	[ "$(log_count "spawned worker")" -eq 2 ]
	[ "$(notes)" = $'READY=1\tSTATUS=generation 1, 2 worker(s) in 1 service(s)' ]
	run talk <<<"ready"
	[ "$output" = "ready" ]

	write_config 'protocol = "echo"
	workers = 3'
	kill -HUP "$DPID"
	wait_until has_states "READY=1 RELOADING=1 READY=1 "
	# RELOADING=1 carries the CLOCK_MONOTONIC time it was sent, in us.
	local line usec arrived
	line="$(sed -n 3p "$NOTES")"
	[[ "$line" =~ $'\tRELOADING=1\tMONOTONIC_USEC='([0-9]+)$'\tSTATUS=reloading: generation 1, 2 worker(s) in 1 service(s)'$ ]]
	usec="${BASH_REMATCH[1]}"
	arrived="$(cut -f2 <<<"$line")"
	echo "sent at $usec, arrived at $arrived"
	[ "$usec" -le "$arrived" ]
	[ "$((arrived - usec))" -lt 10000000 ]
	[ "$(notes | tail -n 1)" = $'READY=1\tSTATUS=generation 2, 3 worker(s) in 1 service(s)' ]

	kill -TERM "$DPID"
	wait_until has_states "READY=1 RELOADING=1 READY=1 STOPPING=1 "
	[[ "$(notes | tail -n 1)" == $'STOPPING=1\tSTATUS=stopping now: generation 2, '* ]]
	all_from_master
}

@test "a failed reload: RELOADING=1, then READY=1 saying it failed" {
	start_manager "$T/notify.sock"
	write_config 'protocol = "echo"'
	NOTIFY_SOCKET="$T/notify.sock" start_daemon
	wait_until has_states "READY=1 "
	echo "service svc {" >"$CONF"
	kill -HUP "$DPID"
	wait_until has_states "READY=1 RELOADING=1 READY=1 "
	log_has "reload failed: still running generation 1"
	[ "$(notes | tail -n 1)" = $'READY=1\tSTATUS=reload failed: generation 1, 4 worker(s) in 1 service(s)' ]
	run talk <<<"still"
	[ "$output" = "still" ]
}

@test "a graceful stop says STOPPING=1 too" {
	start_manager "$T/notify.sock"
	write_config 'protocol = "echo"'
	NOTIFY_SOCKET="$T/notify.sock" start_daemon
	wait_until has_states "READY=1 "
	kill -QUIT "$DPID"
	wait_until has_states "READY=1 STOPPING=1 "
	[[ "$(notes | tail -n 1)" == $'STOPPING=1\tSTATUS=graceful stop: generation 1, '* ]]
}

@test "NOTIFY_SOCKET=@name is an abstract socket" {
	local name="@preforkd-test-$$-$RANDOM"
	start_manager "$name"
	write_config 'protocol = "echo"'
	NOTIFY_SOCKET="$name" start_daemon
	wait_until has_states "READY=1 "
	kill -TERM "$DPID"
	wait_until has_states "READY=1 STOPPING=1 "
	all_from_master
}

@test "a manager that does not listen: said once, and preforkd serves on" {
	write_config 'protocol = "echo"'
	NOTIFY_SOCKET="$T/nobody.sock" start_daemon
	local i
	for i in 1 2; do
		kill -HUP "$DPID"
		wait_log "reloaded $CONF: generation $((i + 1))"
	done
	[ "$(log_count "notify")" -eq 1 ]
	log_has "master: warning: notify $T/nobody.sock: cannot send \"READY=1\": No such file or directory$"
	run talk <<<"on"
	[ "$output" = "on" ]
}

@test "a NOTIFY_SOCKET that names no Unix socket is logged and ignored" {
	write_config 'protocol = "echo"'
	NOTIFY_SOCKET="vsock:2:1234" start_daemon
	log_has "master: warning: NOTIFY_SOCKET \"vsock:2:1234\": neither a socket path nor @name: not notifying the service manager$"
	run talk <<<"on"
	[ "$output" = "on" ]
}
