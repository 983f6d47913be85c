#!/usr/bin/env bats
# Storms the master survives with nothing lost, for the long suite
# (tests/run --long): a master stopped for 10 s, 200 SIGHUPs under load,
# 300 reloads each with a lone client arriving.  Each is bounded.

load ../helpers

setup() { common_setup; }
teardown() { common_teardown; }

# The helper clients print one summary line of name=number pairs.
field() {
	sed -nE "s/.*(^| )$1=([0-9]+).*/\\2/p" <<<"$2"
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
