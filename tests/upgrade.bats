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
	[[ "$output" == *"does not say it reads hand-over format 2"* ]]
	# One that reads only the format before: it could not read ours.
	printf '#!/bin/sh\necho "upgrade-check: ok preforkd 0.0.9 format 1 %s"\n' \
	    "$(layout)" >"$BIN"
	run upgrade
	echo "$output"
	[ "$status" -eq 6 ]
	[[ "$output" == *"does not say it reads hand-over format 2 and scoreboard $(layout)"* ]]
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
	[ "$(log_count "master: error: upgrade failed: ")" -eq 5 ]
}

# The scoreboard's layout, as this binary's pre-flight answer names it.
layout() {
	PREFORKD_UPGRADE_CHECK="0 ?" "$PREFORKD" -t -c "$CONF" 2>&1 |
	    sed -nE 's/.* and scoreboard ([^ ]+), not .*/\1/p'
}

@test "the pre-flight's answer: formats 1 and 2 are read, another is not" {
	write_config 'protocol = "echo"'
	[ -n "$(layout)" ]
	run env PREFORKD_UPGRADE_CHECK="2 $(layout)" "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 0 ]
	[[ "$output" == *"upgrade-check: ok preforkd "*" format 2 $(layout)"* ]]
	# The image before this one asks for its own format, which this one
	# reads too: the upgrade to this one works.
	run env PREFORKD_UPGRADE_CHECK="1 $(layout)" "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 0 ]
	[[ "$output" == *" format 1 $(layout)"* ]]
	for asked in "3 $(layout)" "2 preforkd-sb-4" "x"; do
		run env PREFORKD_UPGRADE_CHECK="$asked" "$PREFORKD" -t -c "$CONF"
		echo "$asked: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"reads hand-over formats 1 to 2 and scoreboard $(layout), not \"$asked\""* ]]
	done
}

# handover TEXT: the new image started with TEXT as its hand-over (a file
# on descriptor 5), as the old image's exec starts it; its output.
handover() {
	printf '%s' "$1" >"$T/handover"
	run env PREFORKD_UPGRADE_FD=5 "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" \
	    5<"$T/handover" 3>&-
	echo "$output"
}

@test "a hand-over cut short or garbled is refused, line by line" {
	write_config 'protocol = "echo"'
	local head tail
	head="preforkd-upgrade 2
version 0.1.0
generation 3
binary /bin/false
began 1
scoreboard 97 98 99
pidfile 96 $T/none.pid
"
	tail="listener 95 0 1 2
child 4242 0 0 3 0 1 0 0 0 0 0 0 0 0 0 -1 svc
end
"
	# The whole text is read: what fails then is the descriptor it names.
	handover "$head$tail"
	[ "$status" -eq 3 ]
	[[ "$output" != *"upgrade: the hand-over"* ]]
	[[ "$output" == *"inherited descriptor 95"* ]]
	[[ "$output" == *"the new image cannot take over"* ]]
	handover "${head}listener 95 0 1 2
"
	[ "$status" -eq 3 ]
	[[ "$output" == *'upgrade: the hand-over is cut short: no "end" line'* ]]
	handover "${head/generation 3/generation 3
generation 4}$tail"
	[[ "$output" == *"upgrade: the hand-over's line 4 is not one of format 2: \"generation 4\""* ]]
	handover "${head/preforkd-upgrade 2/preforkd-upgrade 3}$tail"
	[[ "$output" == *"upgrade: the hand-over is of format 3; this preforkd reads formats 1 to 2"* ]]
	# Fields out of bounds, missing, extra, or not numbers at all.
	local line bad=0
	for line in \
	    "child 99999999999999999999 0 0 3 0 1 0 0 0 0 0 0 0 0 0 -1 svc" \
	    "child -5 0 0 3 0 1 0 0 0 0 0 0 0 0 0 -1 svc" \
	    "child 4242 0 0 3 7 1 0 0 0 0 0 0 0 0 0 -1 svc" \
	    "child 4242 0 0 3 0 1 0 0 0 0 0 0 0 0 0 svc" \
	    "child 4242 0 0 3 0 1 0 0 0 0 0 0 0x1 0 0 -1 svc" \
	    "child 4242 0 0 3 0 1 0 0 0 0 0 0 0 0 0 12 svc" \
	    "child 4242 0 0 3 0 1 0 0 0 0 0 1 0 0 0 -1 svc" \
	    "child 4242 0 0 3 0 1 0 0 0 0 0 0 0 0 0 -1 " \
	    "child 4242 0 0 3 0 1 0 0 0 0 0 0 0 0 0 -1 $(printf 'n%.0s' $(seq 1 40))" \
	    "child 4242 0 0 9 0 1 0 0 0 0 0 0 0 0 0 -1 svc" \
	    "listener 95 2 1 2" \
	    "listener 95 0 -1 2" \
	    "scoreboard 97 98" \
	    "version 1 2"; do
		handover "${head}${line}
end
"
		[ "$status" -eq 3 ]
		[[ "$output" == *"upgrade: the hand-over's line "*" is not one of format 2: \"${line:0:40}"* ]] ||
		    [[ "$output" == *"upgrade: the hand-over's worker 4242 is of generation 9, after the last (3)"* ]]
		bad=$((bad + 1))
	done
	[ "$bad" -eq 14 ]
}

@test "an exec service across an upgrade: the program mid-answer runs on, its client gets the whole answer" {
	# As root the program runs as nobody: it must find $T/go.
	chmod 711 "$T"
	write_config "protocol = \"exec\"
	command = {\"/bin/sh\", \"-c\", \"read q; until [ -e $T/go ]; do sleep 0.02; done; echo \\\"answer to \$q\\\"\"}
	workers = 1"
	start_copy
	wait_until has_workers 1
	local worker prog
	worker=$(worker_pids)
	open_client held
	send_line held "q1"
	wait_until pgrep -P "$worker"
	prog=$(pgrep -P "$worker")
	replace_copy
	run upgrade
	echo "$output"
	[ "$status" -eq 0 ]
	# Retired as on a reload: its worker waits for the program, which
	# still runs, not killed, its answer not given yet.
	wait_log "spawned worker [0-9]+ for service svc \(generation 2\)"
	kill -0 "$prog"
	kill -0 "$worker"
	refute client_saw held "answer"
	touch "$T/go"
	wait_until client_saw held "answer to q1"
	close_client held
	wait_log "access service=svc .* pid=$prog exit=0"
	wait_log "worker $worker \(service svc\) exited$"
	refute log_has "killed process group"
}

# tests/helper/echoprog.py, as $T/echoprog: a program for accept = false
# that echoes lines, says "up PID" and, told to quit (INT), finishes its
# client and says "bye PID".
write_echo_program() {
	install -m 755 "$ROOT/tests/helper/echoprog.py" "$T/echoprog"
	# As root the programs run as nobody: they must reach their files.
	chmod 711 "$T"
}

# At least N programs said they were up.
programs_up_from() {
	[ "$(log_count "service svc: program [0-9]+: up [0-9]+$")" -ge "$1" ]
}

programs_up() {
	[ "$(log_count "service svc: program [0-9]+: up [0-9]+$")" -eq "$1" ]
}

@test "an accept = false pool across an upgrade: no client fails, the old programs finish and their output is logged" {
	write_echo_program
	write_config "protocol = \"exec\"
	accept = false
	command = {\"$T/echoprog\"}
	workers = 2
	quit_signal = \"INT\""
	start_copy
	wait_until programs_up 2
	local old
	old=$(sed -nE 's/.*started program ([0-9]+) .*/\1/p' "$LOG")
	[ "$(wc -w <<<"$old")" -eq 2 ]
	# The load first: it must not hold the held client's fifo open.
	python3 "$ROOT/tests/helper/load.py" 127.0.0.1 "$PORT" --clients 2 \
	    --stop "$T/stop" >"$T/load" 2>&1 3>&- &
	BACKGROUND="$!"
	local load=$!
	open_client held
	send_line held "before"
	wait_until client_saw held "before"
	sleep 0.3
	replace_copy
	# -s upgrade is answered once the new pool is whole, and the roll
	# starts the second new program (max_surge) only once an old one is
	# gone: the held client may hold the one retired first.
	(
		upgrade >"$T/upgrade.out" 2>&1
		echo "$?" >"$T/upgrade.rc"
	) &
	BACKGROUND="$BACKGROUND $!"
	wait_log "upgraded: .*, 2 worker\(s\) of the old image adopted"
	wait_until programs_up_from 3
	# The client held by an old program is served to its end.
	send_line held "after"
	wait_until client_saw held "after"
	close_client held
	wait_until test -s "$T/upgrade.rc"
	cat "$T/upgrade.out"
	[ "$(cat "$T/upgrade.rc")" -eq 0 ]
	# Retired as a reload retires them, by quit_signal, once the new
	# ones run; what they wrote then reached the log.
	for pid in $old; do
		wait_log "service svc: program $pid: bye $pid$"
		wait_log "worker $pid \(service svc\) exited$"
	done
	touch "$T/stop"
	wait "$load"
	cat "$T/load"
	grep -q "connections=[1-9]" "$T/load"
	grep -q " refused=0 reset=0 timeout=0 wrong=0" "$T/load"
	refute log_has "killed process group"
}

@test "a new image whose programs die at once: -s upgrade exits 9 with why, the old programs serve on" {
	write_echo_program
	write_config "protocol = \"exec\"
	accept = false
	command = {\"$T/echoprog\"}
	workers = 2
	quit_signal = \"INT\""
	start_copy
	wait_until programs_up 2
	local old good
	old=$(sed -nE 's/.*started program ([0-9]+) .*/\1/p' "$LOG")
	# A program that passes -t but exits at once.
	good=$(cat "$CONF")
	sed -i "s|$T/echoprog|/bin/false|" "$CONF"
	replace_copy
	run upgrade
	echo "$output"
	[ "$status" -eq 9 ]
	[[ "$output" =~ upgraded\ to\ preforkd\ [^\ ]+\ \(from\ [^\ ]+\),\ generation\ 2,\ but\ its\ workers\ cannot\ start:\ service\ svc:\ program\ [0-9]+\ exited\ with\ status\ 1\ [0-9.]+s\ after\ its\ start\;\ the\ old\ workers\ keep\ serving$ ]]
	# The old programs, not retired, serve on, and the master retries.
	for pid in $old; do
		kill -0 "$pid"
	done
	run talk <<<"still served"
	[ "$output" = "still served" ]
	refute log_has "service svc: program [0-9]+: bye"
	# A mended configuration, and the upgrade after it is answered.
	printf '%s\n' "$good" >"$CONF"
	run upgrade
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"generation 3" ]]
	for pid in $old; do
		wait_log "service svc: program $pid: bye $pid$"
	done
}

@test "a new image that cannot fork its workers (RLIMIT_NPROC): -s upgrade exits 9 with why, the old workers serve on" {
	# root is exempt from the limit: the daemon runs as a user id of its
	# own, whose processes are only this test's (survival.bats does the
	# same with ids from 61000).
	local uid=$((62000 + PORT % 1000)) old pid
	mkdir "$T/run"
	chown "$uid:$uid" "$T/run"
	chmod 755 "$T"
	PIDFILE="$T/run/preforkd.pid"
	write_config 'protocol = "echo"
	workers = 2'
	chmod 644 "$CONF"
	# The master, its 2 workers, and room for one more: the pre-flight,
	# then one new worker, and no second.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    prlimit --nproc=4:4 setpriv --reuid="$uid" --regid="$uid" \
	    --clear-groups "$BIN" -f -c "$CONF" -p "$PIDFILE" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	wait_until has_workers 2
	old=$(worker_pids)
	replace_copy
	run upgrade
	echo "$output"
	[ "$status" -eq 9 ]
	[[ "$output" == *", generation 2, but its workers cannot start: service svc: fork failed (1 in a row); the old workers keep serving" ]]
	log_has "service svc: fork \(1 in a row; retrying in [0-9.]+s\): Resource temporarily unavailable"
	# Not retired: both old workers serve on.
	for pid in $old; do
		is_worker "$pid"
	done
	run talk <<<"still served"
	[ "$output" = "still served" ]
	refute log_has "worker [0-9]+ \(service svc\) exited$"
}

@test "a new image that cannot open its log: it logs to stderr, says so, and the old workers are kept" {
	LOG="$T/main.log"
	write_config 'protocol = "echo"
	workers = 2' "log = \"$LOG\""
	start_copy
	wait_until has_workers 2
	# The new binary's exec (not its pre-flight) finds a directory
	# where the log file was.
	printf '#!/bin/sh\ncase " $* " in *" -t "*) ;; *) mv "%s" "%s"; mkdir "%s" ;; esac\nexec "%s" "$@"\n' \
	    "$LOG" "$T/before.log" "$LOG" "$PREFORKD" >"$T/bin/new"
	chmod +x "$T/bin/new"
	mv "$T/bin/new" "$BIN"
	run upgrade
	echo "$output"
	# stderr is the file the log was.
	LOG="$T/before.log"
	[ "$status" -eq 0 ]
	[[ "$output" == *", generation 2 (warning: log $T/main.log: "*"; logging to stderr)" ]]
	log_has "master: warning: upgrade: log $T/main.log: .*; logging to stderr; the old workers are kept"
	wait_until has_workers 2
	run talk <<<"served"
	[ "$output" = "served" ]
}

@test "a new image that cannot take over what was handed to it exits 3, its workers with it; -s upgrade exits 4" {
	write_config 'protocol = "echo"
	workers = 2'
	start_copy
	wait_until has_workers 2
	local workers
	workers=$(worker_pids)
	# The exec (not the pre-flight) closes every descriptor handed over
	# but the hand-over itself: the scoreboard it names is gone.
	cat >"$T/bin/new" <<SH
#!/bin/bash
case " \$* " in *" -t "*) ;; *)
	for fd in /proc/\$\$/fd/*; do
		fd=\${fd##*/}
		[ "\$fd" -le 2 ] || [ "\$fd" = "\$PREFORKD_UPGRADE_FD" ] || eval "exec \$fd>&-"
	done ;;
esac
exec "$PREFORKD" "\$@"
SH
	chmod +x "$T/bin/new"
	mv "$T/bin/new" "$BIN"
	run upgrade
	echo "$output"
	[ "$status" -eq 4 ]
	[[ "$output" == *"-s: the master exited"* ]]
	local rc=0
	wait "$DPID" || rc=$?
	DPID=""
	[ "$rc" -eq 3 ]
	log_has "upgrade: the new image cannot take over what was handed to it: exiting, and the old workers with it"
	# Their parent-death signal.
	for pid in $workers; do
		wait_until is_gone "$pid"
	done
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
	# This one's line, not the first upgrade's.
	wait_until test_log_count_above "received USR2: upgrading" 1
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

# Three services: built-in workers (svc), an exec service whose program
# holds a client (run), a pool of programs (pool); their pids, once all
# run, in KIDS.
start_three() {
	write_echo_program
	PORT2=$(free_port)
	PORT3=$(free_port)
	cat >"$CONF" <<CONF
log_level = "debug"
shutdown_timeout = 5
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 2
}
service run {
	listen = {"127.0.0.1:$PORT2"}
	protocol = "exec"
	command = {"/bin/sh", "-c", "read q; exec sleep 29"}
	workers = 1
}
service pool {
	listen = {"127.0.0.1:$PORT3"}
	protocol = "exec"
	accept = false
	command = {"$T/echoprog"}
	workers = 2
}
CONF
	start_copy
	wait_until has_workers 2
	wait_until has_workers 1 run
	wait_until programs_up_in pool 2
	open_client held "$PORT2"
	send_line held "q"
	wait_until pgrep -f "^sleep 29$"
	KIDS="$(worker_pids) $(worker_pids run) $(pgrep -f "^sleep 29$")
	    $(sed -nE 's/.*started program ([0-9]+) .*/\1/p' "$LOG")"
	[ "$(wc -w <<<"$KIDS")" -eq 6 ]
}

programs_up_in() {
	[ "$(log_count "service $1: program [0-9]+: up [0-9]+$")" -eq "$2" ]
}

# kill_master_then_nothing_left: SIGKILL the master; after 1 s, not one of
# KIDS runs, and nobody listens on the ports.
kill_master_then_nothing_left() {
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	DPID=""
	sleep 1
	local pid left=0
	for pid in $KIDS; do
		is_gone "$pid" || { echo "left running: $pid $(title_of "$pid")"; left=$((left + 1)); }
	done
	[ "$left" -eq 0 ]
	for port in "$PORT" "$PORT2" "$PORT3"; do
		run talk "" "$port" <<<"x"
		[ "$status" -ne 0 ]
	done
	"$PFCLIENT" -f >/dev/null
}

@test "SIGKILL of the master in an upgrade's pre-flight: no worker, no program after 1 s, the ports free" {
	start_three
	# A pre-flight that takes its time: the master waits in it.
	printf '#!/bin/sh\necho $$ >"%s"\nexec sleep 30\n' "$T/preflight" >"$T/bin/slow"
	chmod +x "$T/bin/slow"
	mv "$T/bin/slow" "$BIN"
	kill -USR2 "$DPID"
	wait_log "received USR2: upgrading"
	wait_until test -s "$T/preflight"
	KIDS="$KIDS $(cat "$T/preflight")"
	kill_master_then_nothing_left
}

@test "SIGKILL of the master after the exec, before its answer: nothing left after 1 s" {
	start_three
	replace_copy
	upgrade >"$T/answer" 2>&1 &
	BACKGROUND="$!"
	# The new image has started its programs (it answers once they have
	# lived a second).
	wait_until programs_up_in pool 4
	KIDS="$KIDS $(worker_pids) $(worker_pids run)
	    $(sed -nE 's/.*started program ([0-9]+) .*/\1/p' "$LOG")"
	kill_master_then_nothing_left
}
