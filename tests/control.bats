#!/usr/bin/env bats
# preforkd -s as a script uses it: status, and stop, quit and reload that
# wait for their outcome.

load helpers

bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

status() {
	"$PREFORKD" -s status -p "$PIDFILE"
}

# For wait_until: -s status has a line matching an extended regex.
status_has() {
	status | grep -qE -- "$1"
}

@test "-s status names the client of a busy worker and counts the pool" {
	write_config 'protocol = "echo"
	workers = 3'
	start_daemon
	wait_until status_has "^service name=svc idle=3 busy=0 starting=0 quitting=0 total=3 max=3$"
	open_client a
	send_line a "hello"
	wait_until client_saw a "hello"
	run --separate-stderr "$PREFORKD" -s status -p "$PIDFILE"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "${lines[0]}" =~ ^master\ pid=$DPID\ generation=1\ uptime=[0-9]+s\ slots=3/1024\ reload=none\ sandbox_kills=0$ ]]
	[ "${lines[1]}" = "service name=svc idle=2 busy=1 starting=0 quitting=0 total=3 max=3" ]
	[ "$(grep -c "^worker " <<<"$output")" -eq 3 ]
	local busy
	busy=$(grep "state=busy" <<<"$output")
	[[ "$busy" =~ ^worker\ pid=([0-9]+)\ service=svc\ generation=1\ state=busy\ client=(127\.0\.0\.1:[0-9]+)\ time=[0-9.]+s\ in=6\ out=6\ served=0$ ]]
	local pid=${BASH_REMATCH[1]} client=${BASH_REMATCH[2]}
	close_client a
	# The access line names the same client, logged by the same worker.
	wait_log "preforkd\[$pid\] worker svc#1: info: access service=svc client=$client "
	wait_until status_has "^worker pid=$pid .*state=idle client=- .* in=6 out=6 served=1$"
}

@test "a worker killed in the middle of a connection leaves no busy slot" {
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	open_client a
	send_line a "x"
	wait_until client_saw a "x"
	local pid
	pid=$(status | sed -nE 's/^worker pid=([0-9]+) .*state=busy.*/\1/p')
	[ -n "$pid" ]
	kill -KILL "$pid"
	wait_log "worker $pid \(service svc\) killed by signal KILL"
	wait_until status_has "^service name=svc idle=2 busy=0 starting=0 quitting=0 total=2 max=2$"
	refute status_has "pid=$pid "
	refute status_has "state=busy"
}

@test "-s stop waits for the master: stop && start works 20 times in a row" {
	write_config 'protocol = "echo"
	workers = 2' "log = \"$LOG\""
	local i rc
	for i in $(seq 1 20); do
		rc=0
		timeout -k 1 10 "$PREFORKD" -c "$CONF" -p "$PIDFILE" \
		    >"$T/start.out" 2>&1 3>&- || rc=$?
		if [ "$rc" -ne 0 ]; then
			echo "start $i failed with $rc:" >&2
			cat "$T/start.out" >&2
			return 1
		fi
		rc=0
		"$PREFORKD" -s stop -p "$PIDFILE" 2>"$T/stop.err" || rc=$?
		if [ "$rc" -ne 0 ]; then
			echo "stop $i failed with $rc:" >&2
			cat "$T/stop.err" >&2
			return 1
		fi
		[ ! -e "$PIDFILE" ]
		[ ! -e "$T/preforkd.scoreboard" ]
	done
	[ "$(log_count "master: notice: stopped")" -eq 20 ]
	refute log_has "is locked"
}

@test "-s quit waits for the client in progress; -w bounds the wait with status 5" {
	write_config 'protocol = "echo"'
	start_daemon
	open_client a
	send_line a "x"
	wait_until client_saw a "x"
	run --separate-stderr "$PREFORKD" -s quit -w 1 -p "$PIDFILE"
	[ "$status" -eq 5 ]
	[ "$stderr" = "preforkd: -s quit: the master (pid $DPID) has not finished after 1 s" ]
	kill -0 "$DPID"
	close_client a
	run "$PREFORKD" -s quit -p "$PIDFILE"
	# The first quit already let the master go; this one may find it gone.
	[ "$status" -eq 0 ] || [ "$status" -eq 4 ]
	wait_until_gone "$DPID"
}

@test "-s reload returns once the new generation is waiting for clients" {
	write_config 'protocol = "echo"
	workers = 3'
	start_daemon
	write_config 'protocol = "echo"
	workers = 5'
	run --separate-stderr "$PREFORKD" -s reload -p "$PIDFILE"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# No wait here: when -s returned, the new pool was up.
	run status
	echo "$output"
	[[ "${lines[0]}" == *" generation=2 "*" reload=ok sandbox_kills=0" ]]
	[ "${lines[1]}" = "service name=svc idle=5 busy=0 starting=0 quitting=0 total=5 max=5" ]
}

@test "-s reload of a broken file exits 6 with its FILE:LINE" {
	write_config 'protocol = "echo"'
	start_daemon
	printf 'service svc {\n\tlisten = {"127.0.0.1:%s"}\n\tprotocol = "chat"\n}\n' \
	    "$PORT" >"$CONF"
	run --separate-stderr "$PREFORKD" -s reload -p "$PIDFILE"
	[ "$status" -eq 6 ]
	[ -z "$output" ]
	[[ "$stderr" == "preforkd: reload failed: $CONF:3: unknown protocol \"chat\""* ]]
	run status
	[[ "${lines[0]}" == *" generation=1 "*" reload=failed sandbox_kills=0" ]]
	run talk <<<"kept"
	[ "$output" = "kept" ]
}

@test "-s reload without the scoreboard still signals, says it cannot wait, and exits 5" {
	write_config 'protocol = "echo"'
	start_daemon
	rm "$T/preforkd.scoreboard"
	run --separate-stderr timeout 10 "$PREFORKD" -s reload -w 5 -p "$PIDFILE"
	echo "$status: $stderr"
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"-s reload: cannot wait for the outcome without the scoreboard; sending the signal all the same"* ]]
	wait_log "scoreboard $T/preforkd.scoreboard was gone: made it again"
	wait_log "reloaded .*generation 2"
	# The file made again is the live table: -s reload can wait on it.
	run timeout 10 "$PREFORKD" -s reload -w 10 -p "$PIDFILE"
	[ "$status" -eq 0 ]
	wait_log "reloaded .*generation 3"
	run timeout 10 "$PREFORKD" -s status -p "$PIDFILE"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *" generation=3 "* ]]
}

@test "-s as another user than the master's says it cannot signal her process, and exits 4" {
	[ "$(id -u)" -eq 0 ] || skip "needs root (a master of root's, a client of nobody's)"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	need_tool setpriv util-linux
	write_config 'protocol = "echo"'
	start_daemon
	chmod 755 "$T" # the pidfile is readable: the master is not hers
	local name pid
	pid=$(cat "$PIDFILE")
	for name in reload stop quit reopen; do
		run --separate-stderr timeout 10 setpriv --reuid=nobody \
		    --regid=nogroup --clear-groups "$PREFORKD" -s "$name" \
		    -p "$PIDFILE"
		echo "-s $name: $status: $stderr"
		[ "$status" -eq 4 ]
		# One line, the reason; not the scoreboard's EACCES first.
		[[ "$stderr" =~ ^preforkd:\ kill\ -[A-Z0-9]+\ $pid:\ cannot\ signal\ a\ process\ of\ another\ user\ \(run\ preforkd\ -s\ as\ root\ or\ as\ the\ master\'s\ user\)$ ]]
	done
	# Nothing reached it.
	run ! log_has "reload|reopen|stopping"
	kill -0 "$DPID"
}
