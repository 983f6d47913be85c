#!/usr/bin/env bats
# Faults the master survives with nothing lost: fork() failing, a reopen in
# the middle of a waiting reload.  The storms (a stopped master, hundreds of
# reloads) are in tests/long/storms.bats.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

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
