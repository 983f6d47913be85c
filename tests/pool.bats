#!/usr/bin/env bats
# The dynamic pool: more workers when idle ones run short, fewer when
# too many idle, never above max_workers; SIGTTIN and SIGTTOU.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

status() {
	"$PREFORKD" -s status -p "$PIDFILE"
}

status_has() {
	status | grep -qE -- "$1"
}

# "23:42:40.123" as milliseconds since midnight.
to_ms() {
	local h m s ms
	IFS=:. read -r h m s ms <<<"$1"
	echo $(((10#$h * 3600 + 10#$m * 60 + 10#$s) * 1000 + 10#$ms))
}

now_ms() {
	to_ms "$(date +%H:%M:%S.%3N)"
}

# busy N: open client cN and wait for its echo.
busy() {
	open_client "c$1"
	send_line "c$1" "hello $1"
	wait_until client_saw "c$1" "hello $1"
}

@test "the pool grows with busy clients, at once, and shrinks back after" {
	write_config 'protocol = "echo"
	workers = 2
	min_spare = 1
	max_spare = 2
	max_workers = 8'
	start_daemon
	wait_until status_has "^service name=svc idle=2 busy=0 "
	local i t0 t1 spawned
	for i in 1 2 3 4 5; do
		busy "$i"
	done
	# The fifth client is served; one idle worker is kept beside it.
	t0=$(now_ms)
	WAIT_LIMIT=2 wait_until status_has "^service name=svc idle=1 busy=5 starting=0 quitting=0 total=6 max=8$"
	# The last spawn came right after the fifth client went busy.
	spawned=$(grep "spawned worker" "$LOG" | tail -n 1 | cut -d' ' -f2)
	t1=$(to_ms "$spawned")
	echo "last spawn $((t1 - t0)) ms after the fifth client's answer"
	[ $((t1 - t0)) -lt 1000 ]
	[ "$(log_count "service svc: [0-9]+ idle, [0-9]+ busy: forking")" -ge 4 ]
	for i in 1 2 3 4 5; do
		close_client "c$i"
	done
	# Back to the starting size, idle ones retired one at a time.
	wait_until status_has "^service name=svc idle=2 busy=0 starting=0 quitting=0 total=2 max=8$"
	[ "$(log_count "service svc: retiring worker [0-9]+ \(idle\)")" -eq 4 ]
	refute log_has "reached max_workers"
}

@test "a burst never passes max_workers and is logged once" {
	write_config 'protocol = "echo"
	workers = 1
	min_spare = 1
	max_spare = 1
	max_workers = 3
	defer_accept = "no"'
	start_daemon
	local i
	for i in 1 2 3; do
		busy "$i"
	done
	# Two more wait in the queue, unserved: that is what is warned of.
	# In the order they connected (deferred, the order of their first
	# bytes, which c4 and c5 race for).
	open_client c4
	open_client c5
	send_line c4 "four"
	send_line c5 "five"
	wait_log "service svc reached max_workers \(3\); [12] clients waiting in the queue"
	wait_until status_has "^service name=svc idle=0 busy=3 starting=0 quitting=0 total=3 max=3$"
	sleep 0.3
	[ "$(worker_count)" -eq 3 ]
	# A client leaves, a queued one takes its worker: the same burst.
	close_client c1
	wait_until client_saw c4 "four"
	close_client c2
	wait_until client_saw c5 "five"
	[ "$(log_count "reached max_workers")" -eq 1 ]
	[ "$(worker_count)" -eq 3 ]
	[ "$(log_count "spawned worker")" -eq 3 ]
}

@test "SIGTTIN and SIGTTOU add and remove a worker, down to 1, up past max_workers while max_slots has room" {
	# A reload's new generation needs 3 slots, the pool at its largest 3
	# (4 after the second TTIN): 7 slots leave room for one past
	# max_workers.
	write_config 'protocol = "echo"
	workers = 2
	max_workers = 3' 'max_slots = 7'
	start_daemon
	wait_until has_workers 2
	kill -TTIN "$DPID"
	wait_log "received TTIN: service svc now has 3 worker\(s\) at least"
	wait_until has_workers 3
	kill -TTIN "$DPID"
	wait_log "received TTIN: service svc now has 4 worker\(s\) at least"
	wait_until has_workers 4
	kill -TTIN "$DPID"
	wait_log "received TTIN: service svc stays at 4 worker\(s\): max_slots = 7 has no slot to spare"
	kill -TTOU "$DPID"
	wait_log "received TTOU: service svc now has 3 worker\(s\) at least"
	wait_until has_workers 3
	kill -TTOU "$DPID"
	wait_log "received TTOU: service svc now has 2 worker\(s\) at least"
	wait_until has_workers 2
	kill -TTOU "$DPID"
	wait_log "received TTOU: service svc now has 1 worker\(s\) at least"
	wait_until has_workers 1
	kill -TTOU "$DPID"
	wait_log "received TTOU: service svc stays at 1 worker"
	wait_until status_has "^service name=svc idle=1 busy=0 starting=0 quitting=0 total=1 max=3$"
	run talk <<<"still"
	[ "$output" = "still" ]
}

@test "a fixed pool stays fixed: no worker forked for a busy one" {
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	busy 1
	busy 2
	wait_until status_has "^service name=svc idle=0 busy=2 starting=0 quitting=0 total=2 max=2$"
	open_client c3
	wait_log "service svc reached max_workers \(2\); 1 clients waiting in the queue"
	[ "$(log_count "spawned worker")" -eq 2 ]
}

@test "SIGTTIN grows a fixed pool, and SIGTTOU shrinks it back" {
	# max_workers defaults to workers: the ceiling is the scoreboard's,
	# 2 slots for a reload and 3 for the pool grown once.
	write_config 'protocol = "echo"
	workers = 2' 'max_slots = 5'
	start_daemon
	wait_until has_workers 2
	kill -TTIN "$DPID"
	wait_log "received TTIN: service svc now has 3 worker\(s\) at least"
	wait_until has_workers 3
	wait_until status_has "^service name=svc idle=3 busy=0 starting=0 quitting=0 total=3 "
	kill -TTIN "$DPID"
	wait_log "received TTIN: service svc stays at 3 worker\(s\): max_slots = 5"
	# Full at its new size, not at the old one.
	busy 1
	busy 2
	busy 3
	open_client c4
	wait_log "service svc reached max_workers \(3\); 1 clients waiting in the queue"
	close_client c4
	for i in 1 2 3; do
		close_client "c$i"
	done
	kill -TTOU "$DPID"
	wait_log "received TTOU: service svc now has 2 worker\(s\) at least"
	wait_until has_workers 2
	wait_until status_has "^service name=svc idle=2 busy=0 starting=0 quitting=0 total=2 "
	# A reload needs no more than the file's own: it works.
	reload
	wait_until status_has "^service name=svc idle=2 busy=0 starting=0 quitting=0 total=2 "
}

@test "a one-worker pool busy for a moment says nothing; a client that waits for it is warned of" {
	write_config 'protocol = "echo"
	workers = 1'
	start_daemon
	local i
	for i in $(seq 20); do
		run talk <<<"quick $i"
		[ "$output" = "quick $i" ]
	done
	wait_until test_log_count_is "access service=svc " 20
	refute log_has "reached max_workers|still at max_workers"
	log_has "every worker busy at max_workers \(1\); no client waiting"
	busy 1
	open_client c2
	send_line c2 "waits"
	wait_log "service svc reached max_workers \(1\); 1 clients waiting in the queue"
	[ "$(log_count "reached max_workers|still at max_workers")" -eq 1 ]
	close_client c1
	wait_until client_saw c2 "waits"
}

# The master's voluntary context switches so far.
master_switches() {
	sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "/proc/$DPID/status"
}

@test "a fixed pool's master sleeps until something happens, and still says when it is full" {
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	wait_until status_has "^service name=svc idle=2 busy=0 "
	local before
	before=$(master_switches)
	sleep 3
	# No timer: not one wake-up a second (a stray one is allowed).
	[ "$(($(master_switches) - before))" -le 1 ]
	# Its last idle worker taking a client wakes it; the client queued
	# behind is warned of.
	busy 1
	busy 2
	open_client c5
	wait_log "service svc reached max_workers \(2\); 1 clients waiting"
	close_client c5
	# After a calm second, a new burst is said again.  The master sees
	# the calm on its once-a-second look during a burst: the first look
	# may come a second after the clients leave, so 2 s and a margin.
	close_client c1
	close_client c2
	wait_until status_has "^service name=svc idle=2 busy=0 "
	sleep 2.5
	busy 3
	busy 4
	open_client c6
	wait_until test_log_count_is "reached max_workers" 2
}

@test "-t refuses pool bounds that contradict each other" {
	write_config 'protocol = "echo"
	workers = 4
	max_workers = 2'
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == "$CONF:9: service svc: max_workers = 2 is less than workers = 4" ]]
	write_config 'protocol = "echo"
	min_spare = 3
	max_spare = 2'
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == "$CONF:9: service svc: max_spare = 2 is less than min_spare = 3" ]]
	write_config 'protocol = "echo"
	workers = 2
	max_workers = 600' 'max_slots = 512'
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[ "$output" = "$CONF: the services need 600 workers, more than max_slots = 512" ]
}

@test "the access line names the local address and the time spent queued" {
	write_config 'protocol = "echo"
	workers = 1'
	start_daemon
	busy 1
	# The only worker is busy: the second client waits in the queue.
	open_client c2
	send_line c2 "two"
	sleep 1
	close_client c1
	wait_until client_saw c2 "two"
	close_client c2
	wait_until test_log_count_is "access service=svc " 2
	grep "access service=svc " "$LOG"
	local first second
	first=$(grep "access service=svc " "$LOG" | head -n 1)
	second=$(grep "access service=svc " "$LOG" | tail -n 1)
	[[ "$first" =~ \ end=closed\ local=127\.0\.0\.1:$PORT\ queued=0\.[0-9]{3}s\ start= ]]
	[[ "$second" =~ \ local=127\.0\.0\.1:$PORT\ queued=([0-9]+)\.([0-9]{3})s\ start= ]]
	local ms=$((10#${BASH_REMATCH[1]} * 1000 + 10#${BASH_REMATCH[2]}))
	echo "queued ${ms} ms"
	[ "$ms" -ge 900 ]
	[ "$ms" -lt 10000 ]
}

@test "a worker wakes the master only when a spare threshold may be crossed" {
	write_config 'protocol = "echo"
	workers = 3
	min_spare = 1
	max_spare = 3
	max_workers = 6'
	start_daemon
	wait_until status_has "^service name=svc idle=3 busy=0 "
	# 3 idle -> 2 -> 3: between min_spare and max_spare, no wake-up.
	run talk <<<"quiet"
	[ "$output" = "quiet" ]
	busy 1
	close_client c1
	wait_until test_log_count_is "access service=svc " 2
	sleep 0.2
	[ "$(log_count "woken by a worker")" -eq 0 ]
	# The third busy worker leaves none idle: that one wakes it.
	busy 2
	busy 3
	busy 4
	wait_log "master: debug: woken by a worker$"
	wait_until status_has "^service name=svc idle=1 busy=3 "
}
