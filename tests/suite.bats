#!/usr/bin/env bats
# The suite's own rules: every test ends in common_teardown, which fails a
# test that leaves a process of its own running.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "every bats file sets up and tears down through the common helpers" {
	local f n=0 bad=""
	for f in "$ROOT"/tests/*.bats "$ROOT"/tests/long/*.bats; do
		n=$((n + 1))
		# The body of setup() and of teardown(), one line or several.
		awk '/^setup\(\) *\{/,/\}$/' "$f" | grep -q common_setup ||
		    bad="$bad $(basename "$f"):setup"
		awk '/^teardown\(\) *\{/,/\}$/' "$f" | grep -q common_teardown ||
		    bad="$bad $(basename "$f"):teardown"
	done
	echo "$n files; without the common helpers:${bad:- none}"
	[ "$n" -gt 10 ]
	[ -z "$bad" ]
}

@test "teardown fails a test that leaves a process running, and stops it" {
	# A child of the test, and a process that left it (its parent
	# exited) but holds a file in the test's directory.
	sleep 61 3>&- &
	local child=$! detached
	(setsid sleep 62 >"$T/out" 2>&1 3>&- &)
	wait_until pgrep -f "^sleep 62$"
	detached=$(pgrep -f "^sleep 62$")
	# They will not exit by themselves: a second's grace, not five.
	LEFT_WAIT=1
	run common_teardown
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"processes left running:"* ]]
	[[ "$output" == *"$child (sleep 61 )"* ]]
	[[ "$output" == *"$detached (sleep 62 )"* ]]
	wait_until_gone "$child"
	wait_until_gone "$detached"
}

@test "teardown fails a test whose worker was killed by SIGSEGV, unless it sent it" {
	skip_under_asan "AddressSanitizer turns a worker's SEGV into its own report"
	write_config 'protocol = "echo"
	workers = 1'
	ulimit -c 0
	start_daemon
	local pid
	# A worker killed by KILL is no crash.
	pid=$(worker_pids)
	kill -KILL "$pid"
	wait_log "worker $pid \(service svc\) killed by signal KILL"
	log_is_clean "$LOG"
	wait_until has_workers 1
	pid=$(worker_pids)
	kill -SEGV "$pid"
	wait_log "worker $pid \(service svc\) killed by signal SEGV"
	run log_is_clean "$LOG"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"killed by signal SEGV"* ]]
	# The test sent it: it says so, and its own teardown passes.
	allow_worker_crash
	log_is_clean "$LOG"
}

@test "tests/lint.sh passes the tree and rejects a wait on a constant and a bare !" {
	run "$ROOT/tests/lint.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	# A function, not a test: bats would read "@test" in this file.  The
	# waits are spelled WAIT here so that no check of this file's own
	# waits takes the sample for one.
	sed 's/^\tWAIT /\twait_until /' >"$T/bad.bats" <<'BATS'
bad() {
	WAIT [ "$(log_count x)" -eq 2 ]
	WAIT test "$(cat f)" = y
	! grep -q x "$LOG"
	true
}
last_is_fine() {
	talk <<<"a here-string"
	! grep -q x "$LOG"
}
BATS
	run "$ROOT/tests/lint.sh" "$T/bad.bats"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == "$T/bad.bats:2: wait_until evaluates"* ]]
	[[ "${lines[1]}" == "$T/bad.bats:3: wait_until evaluates"* ]]
	[[ "${lines[2]}" == "$T/bad.bats:4: a bare \"!\" mid-test"* ]]
}
