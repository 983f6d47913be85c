#!/usr/bin/env bats
# The daemon under valgrind's memcheck: a whole session of master and
# workers -- TCP and UDP, chunk and line framing, the status protocol, a
# reload, a graceful stop -- with no memory error and no definite leak in
# any process.  In the long suite (tests/run --long): valgrind makes it slow.

load ../helpers

setup() {
	common_setup
	need_tool valgrind
	# make sanitize's build carries AddressSanitizer, which must come
	# first in the process and so cannot run under valgrind: that build
	# has its own checks, and make check-long runs this one.
	skip_under_asan
	PORT2=$(free_port)
	PORT3=$(free_port)
	cat >"$CONF" <<CONF
log_level = "debug"
shutdown_timeout = 30
# valgrind runs the workers on its own system calls, which no allow-list
# of the sandbox has (as AddressSanitizer's run-time).
sandbox = "off"
service echo {
	listen = {"127.0.0.1:$PORT", "udp:127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 1
}
service prefix {
	listen = {"127.0.0.1:$PORT2"}
	protocol = "prefix"
	prefix = "got: "
	framing = "line"
	max_line = 16
	workers = 1
}
service status {
	listen = {"127.0.0.1:$PORT3"}
	protocol = "status"
	workers = 1
}
CONF
}

teardown() { common_teardown; }

# Every process's report: one file per pid.
reports() {
	ls "$T"/vg.* 2>/dev/null
}

@test "a session under valgrind memcheck: no error, no definite leak, in master or worker" {
	# Slow start and stop under valgrind, and on a busy machine.
	WAIT_LIMIT=60
	valgrind --leak-check=full --show-leak-kinds=definite \
	    --errors-for-leak-kinds=definite --error-exitcode=99 \
	    --trace-children=yes --log-file="$T/vg.%p" \
	    "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	TALK_TIMEOUT=30
	run talk <<<"hello"
	[ "$output" = "hello" ]
	run talk "" "$PORT2" <<<"$(printf 'one\ntwo')"
	[ "$output" = "$(printf 'got: one\ngot: two')" ]
	# A line over max_line: refused, and the connection closed.
	run talk "" "$PORT2" <<<"a line far longer than sixteen bytes"
	[[ "$output" == "error: line longer than 16 bytes"* ]]
	run talk "" "$PORT3" <<<""
	[[ "${lines[0]}" == "master pid=$DPID "* ]]
	run python3 "$ROOT/tests/helper/udpclient.py" 127.0.0.1 "$PORT" \
	    --count 3 --wait 10
	echo "$output"
	[ "$(grep -c '^answer ' <<<"$output")" -eq 3 ]
	reload
	wait_log "reloaded .*generation 2"
	run talk <<<"after the reload"
	[ "$output" = "after the reload" ]
	# A graceful stop: every worker finishes and exits normally, so
	# valgrind writes each one's leak summary.
	kill -QUIT "$DPID"
	local status=0
	wait "$DPID" || status=$?
	DPID=""
	echo "exit status $status"
	local f pid count=0 bad=""
	for f in $(reports); do
		pid=${f##*.}
		count=$((count + 1))
		if ! grep -q "ERROR SUMMARY: 0 errors" "$f"; then
			bad="$bad $pid"
			echo "--- valgrind, pid $pid ---"
			cat "$f"
		fi
	done
	echo "$count reports, with errors:${bad:- none}"
	# Master, 3 workers of each generation; each of them reported.
	[ "$count" -ge 7 ]
	[ -z "$bad" ]
	for pid in $(spawned_pids); do
		[ -f "$T/vg.$pid" ]
	done
	[ "$status" -eq 0 ]
}
