#!/usr/bin/env bats
# Faults the master survives with nothing lost: fork() failing, a stopped
# master, reload storms, clients that arrive in the middle of a reload.
# Each is bounded: a few seconds of load, 200 or 300 reloads.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# The helper clients print one summary line of name=number pairs.
field() {
	sed -nE "s/.*(^| )$1=([0-9]+).*/\\2/p" <<<"$2"
}

# The RLIMIT_NPROC tests.  root is exempt from the limit: the daemon runs
# as a user id of its own (no passwd entry needed), whose processes are
# only the test's.  Sets USER_ID and PIDFILE, in a directory it may write.
prepare_own_user() {
	USER_ID=$((61000 + PORT % 1000))
	mkdir "$T/run"
	chown "$USER_ID:$USER_ID" "$T/run"
	chmod 755 "$T"
	PIDFILE="$T/run/preforkd.pid"
}

# start_limited N: preforkd -f with $CONF as $USER_ID, which may have at
# most N processes; stderr to $T/stderr.
start_limited() {
	chmod 644 "$CONF"
	# Under make sanitize, LeakSanitizer's check at exit clones a thread
	# to stop the process, which this very limit refuses ("fatal error"):
	# no leak check for this one daemon.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    prlimit --nproc="$1:$1" setpriv --reuid="$USER_ID" \
	    --regid="$USER_ID" --clear-groups "$PREFORKD" -f -c "$CONF" \
	    -p "$PIDFILE" >>"$T/stderr" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
}

# take_room N: N more processes of $USER_ID (sleeps, in HOGS) take room
# under its limit.  Changing the daemon's limit from outside would need
# CAP_SYS_RESOURCE, which a container's root may lack.
take_room() {
	local i before
	before=$(pgrep -c -u "$USER_ID")
	for ((i = 0; i < $1; i++)); do
		setpriv --reuid="$USER_ID" --regid="$USER_ID" --clear-groups \
		    sleep 30 3>&- &
		HOGS="${HOGS:-} $!"
	done
	BACKGROUND="${BACKGROUND:-} $HOGS"
	# They count only once setpriv has become the user.
	wait_until user_processes_are "$USER_ID" $((before + $1))
}

# The room is free again.
give_room_back() {
	# shellcheck disable=SC2086 # one pid per word
	kill -KILL $HOGS
	# shellcheck disable=SC2086
	wait $HOGS 2>/dev/null || true
	HOGS=""
}

# For wait_until: user id $1 has $2 processes.
user_processes_are() {
	[ "$(pgrep -c -u "$1")" -eq "$2" ]
}

@test "fork() failing at RLIMIT_NPROC: logged, retried with back-off, the pool refills" {
	local victim start elapsed
	write_config 'protocol = "echo"
	workers = 3'
	prepare_own_user
	LOG="$T/stderr"
	# The master and its 3 workers, and room for nothing else.
	start_limited 4
	wait_until has_workers 3
	# One more process of the user: a replacement cannot be forked.
	take_room 1
	victim=$(worker_pids | head -n 1)
	start=$(date +%s%N)
	kill -KILL "$victim"
	wait_log "service svc: fork \(1 in a row; retrying in 0\.25s\): Resource temporarily unavailable"
	wait_log "service svc: fork \(3 in a row; retrying in 1\.00s\): Resource temporarily unavailable"
	# Back-off, not a busy loop: the third try came 0.25 + 0.5 s after
	# the first at the earliest.
	elapsed=$((($(date +%s%N) - start) / 1000000))
	echo "three fork failures took $elapsed ms"
	[ "$elapsed" -ge 700 ]
	[ "$(log_count "service svc: fork \(")" -le 4 ]
	# The two workers left serve; the master is still there.
	local i
	for i in 1 2 3 4 5; do
		run talk <<<"still $i"
		[ "$output" = "still $i" ]
	done
	kill -0 "$DPID"
	[ "$(worker_count)" -eq 2 ]
	# The shortage ends: the pool refills at the next try.
	give_room_back
	wait_log "service svc: fork works again after [0-9]+ failures"
	wait_until has_workers 3
	run talk <<<"refilled"
	[ "$output" = "refilled" ]
}

# A reopen (logrotate's postrotate) while -s reload (systemd's ExecReload)
# waits for the reload's workers starts the next generation, and the
# reload's may then never fill: -s reload must take the newer one as its
# outcome.  Forks that fail hold the reload's generation empty until the
# reopen has come.  (Before, -s reload waited out -w: status 5, in about
# 4 of 10 tries even with forks that work.)
@test "a reopen while -s reload waits: the newer generation is its outcome" {
	local rc=0 reload
	prepare_own_user
	# A reopen turns the pool over only when it reopens a file.
	LOG="$T/run/preforkd.log"
	write_config 'protocol = "echo"
	workers = 2' "log = \"$LOG\""
	# The master and its 2 workers, and room for 2 more processes...
	start_limited 5
	wait_until has_workers 2
	# ...which two others take.
	take_room 2
	"$PREFORKD" -s reload -w 8 -p "$PIDFILE" 2>"$T/reload.err" &
	reload=$!
	BACKGROUND="$BACKGROUND $reload"
	wait_log "reloaded $CONF: generation 2"
	wait_log "service svc: fork \(1 in a row"
	kill -USR1 "$DPID"
	wait_log "log reopened: generation 3 takes over"
	give_room_back
	wait_log "service svc: fork works again after [0-9]+ failures"
	wait "$reload" || rc=$?
	cat "$T/reload.err"
	[ "$rc" -eq 0 ]
	[ ! -s "$T/reload.err" ]
	run "$PREFORKD" -s status -p "$PIDFILE"
	echo "$output"
	[[ "${lines[0]}" == *" generation=3 "* ]]
	run talk <<<"after"
	[ "$output" = "after" ]
}

@test "the master stopped for 10 s and continued: nothing lost, nothing doubled" {
	write_config 'protocol = "echo"
	workers = 3'
	start_daemon
	wait_until has_workers 3
	# A light load: two clients in turn, one connection each every 50 ms.
	python3 "$ROOT/tests/helper/load.py" 127.0.0.1 "$PORT" --clients 2 \
	    --pause 50 --stop "$T/stop" >"$T/load" 2>&1 3>&- &
	BACKGROUND="$!"
	local load=$! victim
	sleep 1
	kill -STOP "$DPID"
	# While the master sleeps, a worker told to quit from outside
	# finishes its client and exits: its SIGCHLD waits.
	victim=$(worker_pids | head -n 1)
	kill -QUIT "$victim"
	sleep 10
	kill -CONT "$DPID"
	wait_log "worker $victim \(service svc\) exited$"
	wait_until has_workers 3
	sleep 1
	touch "$T/stop"
	wait "$load"
	cat "$T/load"
	local summary served
	summary=$(tail -n 1 "$T/load")
	served=$(field served "$summary")
	# Every client served, the ones of the 10 s too.
	[ "$served" -gt 100 ]
	[ "$(field connections "$summary")" -eq "$served" ]
	# Exactly one replacement: 3 + 1 workers ever, 3 now.
	[ "$(spawned_pids | wc -l)" -eq 4 ]
	[ "$(spawned_pids | sort -u | wc -l)" -eq 4 ]
	[ "$(pgrep -c -P "$DPID")" -eq 3 ]
	# One access line per client (the last ones may still be on their
	# way), none twice; one start.
	wait_until test_log_count_is "access service=svc " "$served"
	[ "$(log_count "master: notice: started")" -eq 1 ]
	[ "$(log_count "worker $victim \(service svc\) exited")" -eq 1 ]
}

# The workers of generation $1 (from the log) that are alive now.
live_of_generation() {
	local pid
	for pid in $(sed -nE "s/.*spawned worker ([0-9]+) for service svc \(generation $1\)/\\1/p" "$LOG"); do
		is_gone "$pid" || echo "$pid"
	done
}

# For wait_until: every reload begun has finished, and the master has
# exactly $1 children.
settled() {
	[ "$(log_count "master: notice: received HUP")" -eq \
	    "$(log_count "master: notice: reloaded ")" ] &&
	    [ "$(pgrep -c -P "$DPID")" -eq "$1" ]
}

@test "200 SIGHUPs in a row under load: nothing refused or reset, the pool settles" {
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	wait_until has_workers 2
	python3 "$ROOT/tests/helper/load.py" 127.0.0.1 "$PORT" --clients 4 \
	    --stop "$T/stop" >"$T/load" 2>&1 3>&- &
	BACKGROUND="$!"
	local load=$!
	# 200 SIGHUPs, 5 ms apart: many arrive while a reload is running.
	python3 -c 'import os, signal, sys, time
for _ in range(200):
    os.kill(int(sys.argv[1]), signal.SIGHUP)
    time.sleep(0.005)' "$DPID"
	# Signals sent faster than reloads run merge: wait until every
	# reload begun has finished, and the master has no process left
	# but the configured 2 workers.
	WAIT_LIMIT=30 wait_until settled 2
	touch "$T/stop"
	wait "$load"
	cat "$T/load"
	local summary gen
	summary=$(tail -n 1 "$T/load")
	[ "$(field served "$summary")" -gt 0 ]
	[ "$(field refused "$summary")" -eq 0 ]
	[ "$(field reset "$summary")" -eq 0 ]
	[ "$(field timeout "$summary")" -eq 0 ]
	[ "$(field wrong "$summary")" -eq 0 ]
	[ "$(field connections "$summary")" -eq "$(field served "$summary")" ]
	# The workers left are the last generation's.
	gen=$(sed -nE 's/.*reloaded .*generation ([0-9]+).*/\1/p' "$LOG" |
	    tail -n 1)
	echo "last generation: $gen, after $(log_count "reloaded ") reloads"
	[ "$gen" -gt 1 ]
	[ "$(worker_count)" -eq 2 ]
	[ "$(live_of_generation "$gen" | wc -l)" -eq 2 ]
	run talk <<<"after the storm"
	[ "$output" = "after the storm" ]
}

@test "300 reloads, each with one lone client arriving: every client served within 2 s" {
	local port2 port3
	port2=$(free_port)
	port3=$(free_port)
	# One service on one listener (blocking accept), one on two
	# (epoll with EPOLLEXCLUSIVE): both ways a worker waits.
	cat >"$CONF" <<CONF
log_level = "info"
shutdown_timeout = 5
service one {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 1
}
service two {
	listen = {"127.0.0.1:$port2", "127.0.0.1:$port3"}
	protocol = "echo"
	workers = 1
}
CONF
	start_daemon
	run python3 "$ROOT/tests/helper/reloads.py" "$DPID" "$LOG" 300 \
	    127.0.0.1 "$PORT" "$port2" "$port3"
	echo "$output"
	[ "$status" -eq 0 ]
	local summary
	summary=$(tail -n 1 <<<"$output")
	[ "$(field reloads "$summary")" -eq 300 ]
	[ "$(field served "$summary")" -eq 300 ]
}
