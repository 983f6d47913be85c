#!/usr/bin/env bats
# preforkd -s upgrade (SIGUSR2): the master executes the binary at the path
# it was started from in place of itself, same pid, keeping its listeners,
# its workers and its scoreboard; preforkd(8) UPGRADE.  Each test installs a
# copy of the binary in $T/bin and starts that, so that it can replace it.

load helpers

setup() {
	common_setup
	mkdir "$T/bin"
	cp "$PREFORKD" "$T/bin/preforkd"
	BIN="$T/bin/preforkd"
	NOTES="$T/notes"
}

teardown() {
	common_teardown
}

# start_copy [ENV=VALUE...]: the installed copy in the foreground, started
# by a relative path from its own directory (an upgrade must find it again
# whatever the working directory is).
start_copy() {
	(cd "$T/bin" && exec env "$@" ./preforkd -f -c "$CONF" -p "$PIDFILE") \
	    >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
}

# A fresh copy of the binary in place of the installed one, as a package
# manager does it: a new file renamed over the old.
replace_copy() {
	cp "$PREFORKD" "$T/bin/preforkd.new"
	mv "$T/bin/preforkd.new" "$BIN"
}

upgrade() {
	"$PREFORKD" -s upgrade -p "$PIDFILE" "$@"
}

# readies N: the manager has had N READY=1 datagrams.
readies() {
	[ "$(grep -c READY=1 "$NOTES")" -eq "$1" ]
}

exe_of() {
	readlink "/proc/$1/exe"
}

@test "an upgrade under a client loop: nothing fails, same pid and pidfile, the new file runs" {
	write_config 'protocol = "echo"
	workers = 3'
	start_copy
	wait_until has_workers 3
	local old_workers pidfile_before
	old_workers=$(worker_pids | sort)
	pidfile_before=$(stat -c '%i %Y %s' "$PIDFILE")
	python3 "$ROOT/tests/helper/load.py" 127.0.0.1 "$PORT" --clients 4 \
	    --stop "$T/stop" >"$T/load" 2>&1 3>&- &
	BACKGROUND="$!"
	local load=$!
	sleep 0.5
	replace_copy
	[ "$(exe_of "$DPID")" = "$BIN (deleted)" ]
	run upgrade
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^upgraded:\ preforkd\ [^\ ]+\ -\>\ [^\ ]+,\ generation\ 2$ ]]
	sleep 1
	# A second one in a row: answered, and correctly.
	run upgrade
	[ "$status" -eq 0 ]
	[[ "$output" == *"generation 3" ]]
	sleep 0.5
	touch "$T/stop"
	wait "$load"
	cat "$T/load"
	grep -q "connections=[1-9]" "$T/load"
	grep -q " refused=0 reset=0 timeout=0 wrong=0" "$T/load"
	# The same master, the same pidfile, the new file.
	kill -0 "$DPID"
	[ "$(cat "$PIDFILE")" = "$DPID" ]
	[ "$(stat -c '%i %Y %s' "$PIDFILE")" = "$pidfile_before" ]
	[ "$(exe_of "$DPID")" = "$BIN" ]
	log_has "master: notice: upgraded: preforkd .* generation 2 \(in [0-9]+ ms\), 3 worker\(s\) of the old image adopted"
	# The old workers were retired by the new generation, and reaped.
	wait_until has_workers 3
	for pid in $old_workers; do
		wait_log "worker $pid \(service svc\) exited$"
	done
	# The counters did not go back to zero.
	"$PREFORKD" -s status -p "$PIDFILE" | grep -q "generation=3"
}

@test "a client held by an old worker finishes its exchange after the upgrade" {
	write_config 'protocol = "echo"
	workers = 1'
	start_copy
	wait_until has_workers 1
	local old
	old=$(worker_pids)
	open_client held
	send_line held "before"
	wait_until client_saw held "before"
	replace_copy
	run upgrade
	[ "$status" -eq 0 ]
	# The old worker is still there, serving its client, told to finish.
	is_worker "$old" || kill -0 "$old"
	send_line held "after"
	wait_until client_saw held "after"
	close_client held
	wait_log "worker $old \(service svc\) exited$"
	run talk <<<"new"
	[ "$output" = "new" ]
}

@test "a binary that is not preforkd, a missing one, a config broken since: refused, the old master serves" {
	write_config 'protocol = "echo"
	workers = 1'
	start_copy
	local exe
	exe=$(exe_of "$DPID")
	printf '#!/bin/sh\nexit 1\n' >"$T/bin/script"
	chmod +x "$T/bin/script"
	mv "$T/bin/script" "$BIN"
	run upgrade
	echo "$output"
	[ "$status" -eq 6 ]
	[[ "$output" == *"upgrade failed: $T/bin/preforkd -t exited with status 1" ]]
	# A script that says nothing but exits 0 is no preforkd either.
	printf '#!/bin/sh\nexit 0\n' >"$BIN"
	run upgrade
	[ "$status" -eq 6 ]
	[[ "$output" == *"does not say it reads hand-over format 1"* ]]
	rm "$BIN"
	run upgrade
	[ "$status" -eq 6 ]
	[[ "$output" == *"upgrade failed: $T/bin/preforkd: No such file or directory" ]]
	replace_copy
	echo 'service broken {' >>"$CONF"
	run upgrade
	echo "$output"
	[ "$status" -eq 6 ]
	[[ "$output" == *"upgrade failed: $T/bin/preforkd -t exited with status 1: "* ]]
	# Untouched all along: the same image, the same worker, serving.
	[ "$(exe_of "$DPID")" = "$exe (deleted)" ]
	[ "$(log_count "spawned worker")" -eq 1 ]
	run talk <<<"still"
	[ "$output" = "still" ]
	[ "$(log_count "master: error: upgrade failed: ")" -eq 4 ]
}

@test "under a NOTIFY_SOCKET: RELOADING=1, then READY=1, from the same pid" {
	python3 "$ROOT/tests/helper/dgram_sink.py" "$T/notify.sock" "$NOTES" 3>&- &
	BACKGROUND="$!"
	wait_until grep -qx bound "$NOTES"
	write_config 'protocol = "echo"
	workers = 2'
	start_copy NOTIFY_SOCKET="$T/notify.sock"
	wait_until grep -q "READY=1" "$NOTES"
	replace_copy
	run upgrade
	[ "$status" -eq 0 ]
	wait_until readies 2
	cat "$NOTES"
	[ "$(sed -n '2,$p' "$NOTES" | cut -f3 | tr '\n' ' ')" = "READY=1 RELOADING=1 READY=1 " ]
	[[ "$(sed -n 3p "$NOTES")" == *$'\tSTATUS=upgrading: generation 1, 2 worker(s) in 1 service(s)' ]]
	[[ "$(sed -n 4p "$NOTES")" == *$'\tSTATUS=generation 2, 2 worker(s) in 1 service(s)' ]]
	# Every datagram from the master, whose pid the manager knows.
	[ "$(sed -n '2,$p' "$NOTES" | cut -f1 | sort -u)" = "$DPID" ]
}

@test "socket activation: the upgrade keeps serving on the inherited socket" {
	need_tool systemd-socket-activate systemd
	local ssa inode
	ssa=$(tool_path systemd-socket-activate)
	write_config 'protocol = "echo"
	workers = 2'
	"$ssa" -l "127.0.0.1:$PORT" -- "$BIN" -f -c "$CONF" -p "$PIDFILE" \
	    >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "Listening on 127.0.0.1:$PORT as 3"
	run talk <<<"first"
	[ "$output" = "first" ]
	wait_log "master: notice: started"
	inode=$(readlink "/proc/$DPID/fd/3")
	replace_copy
	run upgrade
	echo "$output"
	[ "$status" -eq 0 ]
	# Still the manager's socket, still descriptor 3, still passed.
	[ "$(readlink "/proc/$DPID/fd/3")" = "$inode" ]
	log_has "master: info: adopted passed socket 127.0.0.1:$PORT \(descriptor 3\) for service svc$"
	[ "$(log_count "adopted passed socket")" -eq 2 ]
	run talk <<<"after"
	[ "$output" = "after" ]
}

@test "an upgrade right after a reload, and one asked while another is under way" {
	write_config 'protocol = "echo"
	workers = 2'
	start_copy
	run "$PREFORKD" -s reload -p "$PIDFILE"
	[ "$status" -eq 0 ]
	replace_copy
	run upgrade
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"generation 3" ]]
	# A new binary that takes its time, pre-flight and exec alike.
	printf '#!/bin/sh\nsleep 0.5\nexec "%s" "$@"\n' "$PREFORKD" >"$T/bin/slow"
	chmod +x "$T/bin/slow"
	mv "$T/bin/slow" "$BIN"
	upgrade >"$T/first" 2>&1 &
	local first=$!
	wait_log "received USR2: upgrading"
	run upgrade
	echo "$output"
	[ "$status" -eq 8 ]
	[[ "$output" == *"upgrade not started: an upgrade of pid $DPID is under way" ]]
	wait "$first"
	cat "$T/first"
	[[ "$(cat "$T/first")" == *"generation 4" ]]
	# The script made way for the binary it names.
	[ "$(exe_of "$DPID")" = "$(readlink -f "$PREFORKD")" ]
	run talk <<<"served"
	[ "$output" = "served" ]
}

@test "SIGKILL of the master during an upgrade: no worker after 1 s, the port free" {
	write_config 'protocol = "echo"
	workers = 2'
	start_copy
	wait_until has_workers 2
	local workers
	workers=$(worker_pids)
	# A pre-flight that takes its time: the master waits in it.
	printf '#!/bin/sh\nexec sleep 30\n' >"$T/bin/slow"
	chmod +x "$T/bin/slow"
	mv "$T/bin/slow" "$BIN"
	kill -USR2 "$DPID"
	wait_log "received USR2: upgrading"
	sleep 0.2
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	DPID=""
	sleep 1
	for pid in $workers; do
		is_gone "$pid"
	done
	refute pgrep -f "sleep 30"
	# Nobody listens there any more.
	run talk <<<"x"
	[ "$status" -ne 0 ]
	"$PFCLIENT" -f >/dev/null
}
