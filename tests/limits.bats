#!/usr/bin/env bats
# Per-connection limits (idle_timeout, send_timeout, min_rate, max_session)
# and worker recycling (max_requests), met by real slow clients.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

SLOW="$ROOT/tests/helper/slowclient.py"

# slow MODE [options]: the slow client against the service; prints how
# the server ended the connection ("eof 1.02", "reset 2.10").
slow() {
	python3 "$SLOW" "$@" 127.0.0.1 "$PORT"
}

# The seconds slowclient printed, as a whole number of tenths.
tenths() {
	local s="${1#* }"
	echo $((10#${s%.*} * 10 + 10#${s#*.} / 10))
}

# For wait_until, which runs a command again and again (a "$(...)" in its
# arguments would be counted once).
log_count_is() {
	[ "$(log_count "$1")" -eq "$2" ]
}

spawned_is() {
	[ "$(spawned_pids | wc -l)" -eq "$1" ]
}

busy_is() {
	[ "$(busy_workers)" -eq "$1" ]
}

# The one worker of svc is serving a client (the slow client is in).
worker_busy() {
	[[ "$(title_of "$(worker_pids)")" == *"[busy "* ]]
}

@test "idle_timeout ends a silent connection with a FIN: end=timeout" {
	write_config 'protocol = "echo"
	idle_timeout = 1'
	start_daemon
	run slow silent
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "eof "* ]]
	wait_log "access service=svc .*in=0 out=0 .*end=timeout"
}

@test "send_timeout resets a client that reads nothing: end=send_timeout" {
	write_config 'protocol = "chargen"
	workers = 1
	send_timeout = 1'
	start_daemon
	python3 "$SLOW" no-read --until "$T/go" --timeout 15 127.0.0.1 "$PORT" \
	    >"$T/client.out" &
	BACKGROUND="$!"
	wait_until worker_busy
	wait_log "access service=svc .*end=send_timeout"
	touch "$T/go"
	wait_until test -s "$T/client.out"
	cat "$T/client.out"
	# Reset on purpose: the bytes it did not take are dropped at once.
	[[ "$(cat "$T/client.out")" == "reset "* ]]
	refute log_has "end=timeout"
}

@test "min_rate ends a client that trickles bytes with a FIN: end=too_slow" {
	# 5 bytes a second each way, under 100: idle_timeout (300 s) never
	# sees it idle.
	write_config 'protocol = "echo"
	min_rate = 100
	min_rate_window = 1'
	start_daemon
	run slow trickle --every 0.2
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "eof "* ]]
	wait_log "access service=svc .*end=too_slow"
}

@test "min_rate leaves a client that keeps up alone; max_session ends it" {
	# "ping\n" every 0.1 s: 50 bytes a second in, 50 out, over 10.
	write_config 'protocol = "echo"
	min_rate = 10
	min_rate_window = 1
	max_session = 3'
	start_daemon
	run slow lines --every 0.1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "eof "* ]]
	# Three windows passed judgement before max_session ended it.
	[ "$(tenths "$output")" -ge 29 ]
	wait_log "access service=svc .*end=session_limit"
	refute log_has "end=too_slow"
}

@test "max_session ends a busy connection with a FIN: end=session_limit" {
	write_config 'protocol = "echo"
	max_session = 2'
	start_daemon
	run slow lines --every 0.3
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "eof "* ]]
	[ "$(tenths "$output")" -ge 19 ]
	wait_log "access service=svc .*in=[1-9][0-9]* .*end=session_limit"
}

@test "a reload gives kept listeners the new send_timeout" {
	write_config 'protocol = "chargen"
	workers = 1'
	start_daemon
	write_config 'protocol = "chargen"
	workers = 1
	send_timeout = 1'
	reload
	wait_log "reloaded "
	wait_until has_workers 1
	python3 "$SLOW" no-read --until "$T/go" --timeout 15 127.0.0.1 "$PORT" \
	    >"$T/client.out" &
	BACKGROUND="$!"
	wait_until worker_busy
	wait_log "access service=svc .*end=send_timeout"
	touch "$T/go"
	wait_until test -s "$T/client.out"
}

@test "min_rate reached while the client reads nothing resets: end=too_slow" {
	write_config 'protocol = "chargen"
	workers = 1
	min_rate = 100000000
	min_rate_window = 1'
	start_daemon
	python3 "$SLOW" no-read --until "$T/go" --timeout 15 127.0.0.1 "$PORT" \
	    >"$T/client.out" &
	BACKGROUND="$!"
	wait_until worker_busy
	wait_log "access service=svc .*end=too_slow"
	touch "$T/go"
	wait_until test -s "$T/client.out"
	cat "$T/client.out"
	[[ "$(cat "$T/client.out")" == "reset "* ]]
}

@test "the limits' defaults: idle_timeout 60, send_timeout 60, max_session 3600, min_rate off" {
	write_config 'protocol = "echo"'
	run "$PREFORKD" -T -c "$CONF"
	echo "$output"
	[ "$status" -eq 0 ]
	local key
	for key in "idle_timeout = 60" "send_timeout = 60" \
	    "max_session = 3600" "min_rate = 0" "min_rate_window = 60" \
	    "max_requests = 0"; do
		grep -qE "^[[:space:]]*$key\$" <<<"$output"
	done
}

@test "-t refuses limits out of range, each on its line" {
	write_config 'protocol = "echo"
	send_timeout = -1
	min_rate_window = 0
	max_requests = -5'
	run "$PREFORKD" -t -c "$CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"send_timeout = -1 is out of range (0 to 86400)"* ]]
	[[ "$output" == *"min_rate_window = 0 is out of range (1 to 3600)"* ]]
	[[ "$output" == *"max_requests = -5 is out of range"* ]]
}

# The pids of the workers that logged access lines, in order.
access_pids() {
	sed -nE 's/.* preforkd\[([0-9]+)\] worker svc.*: access .*/\1/p' "$LOG"
}

@test "max_requests: a worker is recycled after N connections, replaced at once" {
	write_config 'protocol = "echo"
	workers = 1
	max_requests = 3'
	start_daemon
	wait_until has_workers 1
	local first i
	first=$(worker_pids)
	for i in 1 2 3; do
		run talk <<<"hello $i"
		[ "$output" = "hello $i" ]
	done
	wait_log "service svc: recycling worker $first after 3 connections \(max_requests 3\)"
	# Gracefully, status 0, not counted as a crash; replaced at once.
	wait_log "worker $first \(service svc\) exited$"
	wait_until spawned_is 2
	run talk <<<"hello 4"
	[ "$output" = "hello 4" ]
	[ "$(access_pids | grep -c "^$first\$")" -eq 3 ]
	[ "$(access_pids | tail -n 1)" != "$first" ]
	refute log_has "died|exited with status|killed by signal"
}

@test "max_requests: workers started together ask at different counts" {
	write_config 'protocol = "echo"
	workers = 8
	max_requests = 64'
	start_daemon
	wait_until log_count_is "asks to be recycled after" 8
	local counts
	counts=$(sed -nE 's/.*asks to be recycled after ([0-9]+) connections.*/\1/p' "$LOG")
	echo "$counts"
	# 64 plus 0 to 64 / 8, and not all the same (1 chance in 9^7).
	[ -z "$(awk '$1 < 64 || $1 > 72' <<<"$counts")" ]
	[ "$(sort -u <<<"$counts" | wc -l)" -ge 2 ]
}

# How many workers of svc are serving a client now, by their titles.
busy_workers() {
	local pid n=0
	for pid in $(worker_pids); do
		[[ "$(title_of "$pid")" == *"[busy "* ]] && n=$((n + 1))
	done
	echo "$n"
}

# 0 when, in the log, each recycled worker exited before the next one was
# recycled; else how many times one was recycled while another was out.
recycle_overlaps() {
	awk '/recycling worker/ { if (out != "") bad++; out = $(NF - 5) }
	    out != "" && index($0, "worker " out " (service svc) exited") { out = "" }
	    END { print bad + 0 }' "$LOG"
}

@test "max_requests: workers due at once are recycled one at a time" {
	write_config 'protocol = "echo"
	workers = 3
	max_requests = 1'
	start_daemon
	wait_until has_workers 3
	# One client per worker, held, then all let go together: all three
	# reach their quota of 1 at the same moment.
	local c
	for c in c1 c2 c3; do
		open_client "$c"
	done
	wait_until busy_is 3
	# Their input closed first, all three; then waited for.
	local fdvar fd
	for c in c1 c2 c3; do
		fdvar="CLIENT_FD_$c"
		fd="${!fdvar}"
		exec {fd}>&-
		eval "CLIENT_FD_$c="
	done
	for c in c1 c2 c3; do
		close_client "$c"
	done
	wait_until log_count_is "recycling worker" 3
	run recycle_overlaps
	[ "$output" = "0" ]
	wait_until log_count_is "\(service svc\) exited$" 3
	wait_until has_workers 3
}

# talk_many N TAG: N clients one after the other; each answer in a file.
talk_many() {
	local i
	for i in $(seq "$1"); do
		echo "line $2 $i" | "$PFCLIENT" -t 5 127.0.0.1 "$PORT" \
		    >"$T/out.$2.$i" 2>&1
	done
}

@test "max_requests under load: nobody refused, one of 4 workers out at a time" {
	write_config 'protocol = "echo"
	workers = 4
	max_requests = 5'
	start_daemon
	wait_until has_workers 4
	wait_until log_count_is "started, serving" 4
	touch "$T/sampling"
	python3 "$ROOT/tests/helper/readywatch.py" "$DPID" svc \
	    "$T/sampling" >"$T/ready" &
	BACKGROUND="$!"
	wait_until test -e "$T/sampling.on"
	local tag pids=""
	for tag in a b c d; do
		talk_many 15 "$tag" &
		pids="$pids $!"
	done
	# Each loop is bounded: 15 clients, 5 s each at most.
	for pid in $pids; do
		wait "$pid"
	done
	rm "$T/sampling"
	wait "$BACKGROUND" || true
	local i failed=0
	for tag in a b c d; do
		for i in $(seq 15); do
			[ "$(cat "$T/out.$tag.$i")" = "line $tag $i" ] || failed=$((failed + 1))
		done
	done
	echo "failed: $failed; ready workers: $(cat "$T/ready")"
	[ "$failed" -eq 0 ]
	# 60 connections, 5 or more each (a worker past its quota serves on
	# while another is out): several recycled, the last ones maybe after.
	wait_until test_log_count_above "recycling worker" 2
	# Never more than one of the four out (limit_recycle_max(4) = 1): in
	# the master's log, each recycled worker has exited before the next
	# is recycled ...
	run recycle_overlaps
	[ "$output" = "0" ]
	# ... and the workers ready, by their titles, were never fewer than 3.
	[ "$(sed -nE 's/^min ([0-9]+) max [0-9]+ samples [1-9].*/\1/p' \
	    "$T/ready")" -ge 3 ]
	refute log_has "died|exited with status|killed by signal"
}
