#!/usr/bin/env bats
# The master as a supervisor: pools, respawn, back-off, stopping, dying.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# The worker of $DPID that holds a client connection: it has one socket
# more than its idle siblings.
busy_worker() {
	local pid best="" most=-1 n
	for pid in $(worker_pids "${1:-svc}"); do
		n=$(find "/proc/$pid/fd" -lname 'socket:*' 2>/dev/null | wc -l)
		if [ "$n" -gt "$most" ]; then
			most=$n
			best=$pid
		fi
	done
	echo "$best"
}

# "23:42:40.123" as milliseconds since midnight.
to_ms() {
	local h m s ms
	IFS=:. read -r h m s ms <<<"$1"
	echo $(((10#$h * 3600 + 10#$m * 60 + 10#$s) * 1000 + 10#$ms))
}

# The time of the first log line matching a pattern, in ms.
log_ms() {
	to_ms "$(grep -E -- "$1" "$LOG" | head -n 1 | cut -d' ' -f2)"
}

@test "each service gets its own pool of the configured size" {
	local port2
	port2=$(free_port)
	cat >"$CONF" <<CONF
service one {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 3
}
service two {
	listen = {"127.0.0.1:$port2"}
	protocol = "prefix"
	workers = 2
}
CONF
	start_daemon
	wait_until has_workers 3 one
	wait_until has_workers 2 two
	[ "$(pgrep -P "$DPID" | wc -l)" -eq 5 ]
	run talk "" "$port2" <<<"x"
	[ "$output" = "You sent me: x" ]
}

@test "a SIGKILLed worker is replaced within 1 s while other clients carry on" {
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	wait_until has_workers 2
	open_client a
	send_line a "before"
	wait_until client_saw a "before"
	local busy idle
	busy=$(busy_worker)
	idle=$(worker_pids | grep -vx "$busy")
	kill -KILL "$idle"
	wait_log "worker $idle \(service svc\) killed by signal KILL"
	wait_until has_workers 2
	local died spawned
	died=$(log_ms "worker $idle \(service svc\) killed")
	spawned=$(grep -E "spawned worker" "$LOG" | tail -n 1 | cut -d' ' -f2)
	spawned=$(to_ms "$spawned")
	echo "replaced after $((spawned - died)) ms"
	[ $((spawned - died)) -lt 1000 ]
	# The client of the other worker never noticed.
	send_line a "after"
	wait_until client_saw a "after"
	[ "$(worker_pids | grep -cx "$busy")" -eq 1 ]
}

# spawned_pid N: the pid of the Nth worker the log says was spawned.
spawned_pid() {
	sed -nE 's/.* spawned worker ([0-9]+) for service .*/\1/p' "$LOG" |
	    sed -n "${1}p"
}

# crash_spawned N: abort the Nth worker as soon as the log names it, well
# within the second in which its death counts as young, however loaded
# the machine: the log is read, not -s status, which forks.
crash_spawned() {
	local pid
	spawned() { [ -n "$(spawned_pid "$1")" ]; }
	wait_until spawned "$1"
	pid=$(spawned_pid "$1")
	kill -ABRT "$pid"
	wait_log "worker $pid \(service svc\) killed by signal ABRT"
}

@test "workers that crash right after start are respawned with back-off" {
	write_config 'protocol = "echo"
	workers = 1'
	ulimit -c 0
	allow_worker_crash
	start_daemon
	local i
	for i in 1 2 3 4; do
		crash_spawned "$i"
	done
	wait_log "worker died [0-9.]+s after start \(4 in a row\); next spawn in 0\.8s"
	log_has "\(1 in a row\); next spawn in 0\.1s"
	log_has "\(2 in a row\); next spawn in 0\.2s"
	log_has "\(3 in a row\); next spawn in 0\.4s"
	# And it still comes back.
	wait_until has_workers 1
	run talk <<<"back"
	[ "$output" = "back" ]
}

@test "an empty pool of crashing workers waits at most a second for its next worker" {
	write_config 'protocol = "echo"
	workers = 1'
	ulimit -c 0
	allow_worker_crash
	start_daemon
	local i
	for i in 1 2 3 4 5 6 7; do
		crash_spawned "$i"
	done
	wait_log "\(7 in a row\); next spawn in 1\.0s"
	log_has "\(6 in a row\); next spawn in 1\.0s"
}

@test "workers killed from outside, all at once and again, are replaced at once" {
	write_config 'protocol = "echo"
	workers = 4'
	start_daemon
	local round
	for round in 1 2 3 4; do
		wait_until has_workers 4
		worker_pids | xargs kill -KILL
		sleep 0.2
	done
	# No back-off: SIGKILL says nothing about the next worker.
	WAIT_LIMIT=2 wait_until has_workers 4
	run talk <<<"served"
	[ "$output" = "served" ]
	refute log_has "next spawn in"
}

@test "SIGKILL of the master: workers exit within 1 s and the port is free" {
	write_config 'protocol = "echo"
	workers = 3'
	start_daemon
	wait_until has_workers 3
	local workers
	workers=$(worker_pids)
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	DPID=""
	local pid
	for pid in $workers; do
		WAIT_LIMIT=1 wait_until is_gone "$pid"
	done
	run "$PFCLIENT" -b 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
}

@test "SIGTERM stops at once: clients are cut off, pidfile removed" {
	write_config 'protocol = "echo"'
	start_daemon
	open_client a
	send_line a "hi"
	wait_until client_saw a "hi"
	[ -f "$PIDFILE" ]
	kill -TERM "$DPID"
	wait_log "master: notice: stopped"
	wait_until_gone "$DPID"
	wait "$DPID" && status=0 || status=$?
	DPID=""
	[ "$status" -eq 0 ]
	[ ! -e "$PIDFILE" ]
	log_has "received TERM: stopping now"
	log_has "access service=svc .*end=shutdown"
	wait_until_gone "$CLIENT_PID_a"
}

@test "SIGQUIT lets a client finish, refuses new ones, then stops" {
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	open_client a
	send_line a "one"
	wait_until client_saw a "one"
	kill -QUIT "$DPID"
	wait_log "received QUIT: graceful stop"
	# No worker listens any more: the port can be taken.
	wait_until "$PFCLIENT" -b 127.0.0.1 "$PORT"
	# The client in progress is still served...
	send_line a "two"
	wait_until client_saw a "two"
	kill -0 "$DPID"
	# ...and when it leaves, the master stops.
	close_client a
	wait_log "master: notice: stopped"
	wait_until_gone "$DPID"
	log_has "access service=svc .* in=8 out=8 .*end=closed"
	[ ! -e "$PIDFILE" ]
}

# Clients waiting in the listen queue of $PORT.
queued_on_port() {
	ss -ltnH "sport = :$PORT" | awk '{ print $2 }'
}

queued_is() {
	[ "$(queued_on_port)" = "$1" ]
}

# connect_result PORT [HOST]: what a new client gets within 0.5 s:
# "connected", "refused" or "no answer".
connect_result() {
	python3 - "$1" "${2:-127.0.0.1}" <<'PY'
import socket, sys
host = sys.argv[2]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.settimeout(0.5)
try:
    s.connect((host, int(sys.argv[1])))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("no answer")
PY
}

# quit_serves_queue HOST: a graceful stop with clients queued on
# HOST:$PORT, one worker busy: they are served, a new one is not.
quit_serves_queue() {
	local host=$1 listen=$1
	[ "$host" = ::1 ] && listen="[::1]"
	cat >"$CONF" <<CONF
log_level = "debug"
service svc {
	listen = {"$listen:$PORT"}
	protocol = "echo"
	workers = 1
	# b and c are silent while queued, and served in the order they
	# connected: not deferred.
	defer_accept = "no"
}
CONF
	start_daemon
	HOST=$host open_client a
	send_line a "one"
	wait_until client_saw a "one"
	# The only worker is busy: b and c complete their handshakes and
	# wait in the listen queue.
	HOST=$host open_client b
	HOST=$host open_client c
	wait_until queued_is 2
	kill -QUIT "$DPID"
	wait_log "received QUIT: graceful stop"
	# Closing the socket now would reset b and c: it stays open, but a
	# new client's SYN goes unanswered.
	[ "$(connect_result "$PORT" "$host")" = "no answer" ]
	queued_is 2
	send_line b "two"
	send_line c "three"
	close_client a
	wait_until client_saw b "two"
	close_client b
	wait_until client_saw c "three"
	close_client c
	wait_log "graceful stop: no client queued after [0-9]+ ms: closing the listening sockets"
	wait_log "master: notice: stopped"
	wait_until_gone "$DPID"
	[ "$(log_count "access service=svc .*end=closed")" -eq 3 ]
	# Now the port is closed: refused at once.
	[ "$(connect_result "$PORT" "$host")" = "refused" ]
}

@test "SIGQUIT serves the clients already queued and takes no new one" {
	quit_serves_queue 127.0.0.1
}

@test "SIGQUIT serves the clients already queued and takes no new one, on IPv6" {
	quit_serves_queue ::1
}

@test "SIGQUIT gives up on clients after shutdown_timeout" {
	write_config 'protocol = "echo"'
	# write_config sets shutdown_timeout = 5; a key given twice is refused.
	sed -i 's/^shutdown_timeout = 5$/shutdown_timeout = 1/' "$CONF"
	start_daemon
	open_client a
	send_line a "stay"
	wait_until client_saw a "stay"
	kill -QUIT "$DPID"
	wait_log "graceful stop: no client queued after [0-9]+ ms"
	wait_log "still running after its deadline: sending TERM"
	wait_log "access service=svc .*end=shutdown"
	wait_log "master: notice: stopped"
	wait_until_gone "$CLIENT_PID_a"
}

@test "SIGQUIT with a client queued behind a busy worker for all of shutdown_timeout" {
	write_config 'protocol = "echo"
	workers = 1'
	sed -i 's/^shutdown_timeout = 5$/shutdown_timeout = 1/' "$CONF"
	start_daemon
	open_client a
	send_line a "stay"
	wait_until client_saw a "stay"
	# b waits in the queue behind a for the whole second.
	open_client b
	wait_until queued_is 1
	kill -QUIT "$DPID"
	wait_log "graceful stop: 1 client\(s\) still queued after shutdown_timeout: closing the listening sockets resets them"
	wait_log "access service=svc .*end=shutdown"
	wait_log "master: notice: stopped"
	# Past the deadline the worker got SIGTERM at once, not SIGQUIT and
	# then SIGTERM with a warning.
	refute log_has "still running after its deadline"
	wait_until_gone "$CLIENT_PID_a"
	wait_until_gone "$CLIENT_PID_b"
}

@test "SIGQUIT does not wait for a queue whose service has no worker left" {
	local port2
	port2=$(free_port)
	cat >"$CONF" <<CONF
log_level = "debug"
shutdown_timeout = 30
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 1
}
service other {
	listen = {"127.0.0.1:$port2"}
	protocol = "echo"
	workers = 1
}
CONF
	start_daemon
	open_client a
	send_line a "one"
	wait_until client_saw a "one"
	open_client o "$port2"
	send_line o "other"
	wait_until client_saw o "other"
	open_client b
	wait_until queued_is 1
	kill -QUIT "$DPID"
	wait_log "received QUIT: graceful stop"
	# svc's only worker dies, and none replaces it during a stop: b can
	# only be reset, and waiting 30 s for it would help nobody.
	kill -KILL "$(worker_pids svc)"
	wait_log "graceful stop: 1 client\(s\) still queued with no worker to take them: closing the listening sockets resets them"
	# other's client finishes as ever.
	send_line o "still"
	wait_until client_saw o "still"
	close_client o
	wait_log "master: notice: stopped"
}

@test "SIGTERM during a graceful stop makes it fast" {
	write_config 'protocol = "echo"'
	start_daemon
	open_client a
	send_line a "x"
	wait_until client_saw a "x"
	kill -QUIT "$DPID"
	wait_log "graceful stop"
	kill -TERM "$DPID"
	wait_log "received TERM: stopping now"
	wait_log "master: notice: stopped"
}

@test "started as root with user set, workers drop privileges; the master does not" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	write_config 'protocol = "echo"
	workers = 2' "user = \"nobody\""
	start_daemon
	wait_until has_workers 2
	local pid uid
	for pid in $(worker_pids); do
		uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$pid/status")
		[ "$uid" = "$(id -u nobody)$(id -u nobody)$(id -u nobody)$(id -u nobody)" ]
	done
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$DPID/status")" -eq 0 ]
	run talk <<<"as nobody"
	[ "$output" = "as nobody" ]
	# Killed workers come back unprivileged too.
	kill -KILL "$(worker_pids | head -n 1)"
	wait_until has_workers 2
	for pid in $(worker_pids); do
		[ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" -eq "$(id -u nobody)" ]
	done
}

@test "an unknown user stops the start with exit status 3" {
	write_config 'protocol = "echo"' 'user = "no-such-user-pf"'
	if [ "$(id -u)" -ne 0 ]; then
		skip "the user is only looked up when started as root"
	fi
	run "$PREFORKD" -f -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 3 ]
	[[ "$output" == *'user "no-such-user-pf": no such user'* ]]
	[ ! -e "$PIDFILE" ]
}

# Bytes a process has written so far (write() to its socket included).
bytes_written() {
	awk '/^wchar:/ { print $2 }' "/proc/$1/io"
}

# One worker, busy with a client that never pauses: it reads one byte at a
# time, slower than the client sends, so every wait finds its socket ready.
# Sets worker.
start_busy_worker() {
	write_config 'protocol = "discard"
	buffer_size = 1
	workers = 1'
	start_daemon
	wait_until has_workers 1
	worker=$(worker_pids)
	stream_to "$PORT"
	wait_until test_more_than 1000000 bytes_written "${BACKGROUND##* }"
}

@test "SIGTERM reaches a worker whose client never pauses" {
	local worker
	start_busy_worker
	kill -TERM "$DPID"
	wait_log "access service=svc .*end=shutdown"
	wait_log "master: notice: stopped"
	refute log_has "sending KILL"
}

@test "a worker whose client never pauses still dies with its master" {
	local worker
	start_busy_worker
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	DPID=""
	WAIT_LIMIT=1 wait_until is_gone "$worker"
	run "$PFCLIENT" -b 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
}

# test_more_than N CMD...: the number CMD prints is above N.
test_more_than() {
	local n=$1
	shift
	[ "$("$@")" -gt "$n" ]
}

@test "a worker told to quit with clients queued on two listeners exits cleanly" {
	local port2
	port2=$(free_port)
	cat >"$CONF" <<CONF
log_level = "debug"
service svc {
	listen = {"127.0.0.1:$PORT", "127.0.0.1:$port2"}
	protocol = "echo"
	workers = 1
}
CONF
	start_daemon
	wait_until has_workers 1
	local worker
	worker=$(worker_pids)
	# Both listeners become ready while the worker cannot look.
	kill -STOP "$worker"
	open_client a "$PORT"
	open_client b "$port2"
	kill -CONT "$worker"
	wait_until test_more_than 2 worker_sockets "$worker"
	kill -QUIT "$worker"
	send_line a "one"
	send_line b "two"
	close_client a
	close_client b
	wait_log "worker $worker \(service svc\) exited"
	refute log_has "Bad file descriptor"
	refute log_has "worker $worker \(service svc\) exited with status"
}

# Sockets a process holds open.
worker_sockets() {
	find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# For wait_until: the title of process $1 is $2.
title_is() {
	[ "$(title_of "$1")" = "$2" ]
}

@test "a worker's title follows its state, however short the command line" {
	write_config 'protocol = "echo"
	workers = 1'
	# A command line of 15 bytes: shorter than the titles.
	ln -s "$PREFORKD" "$T/p"
	(cd "$T" && exec ./p -fcpreforkd.conf -pq) >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	wait_until has_workers 1
	local worker
	worker=$(worker_pids)
	wait_until title_is "$worker" "preforkd: worker svc [idle]"
	open_client a
	send_line a "hi"
	wait_until client_saw a "hi"
	local busy
	busy=$(title_of "$worker")
	[[ "$busy" =~ ^preforkd:\ worker\ svc\ \[busy\ 127\.0\.0\.1:[0-9]+\]$ ]]
	close_client a
	wait_until title_is "$worker" "preforkd: worker svc [idle]"
	# The client in the title is the one the access line names.
	local client=${busy#*busy }
	wait_log "access service=svc client=${client%]} "
	# The master's own command line is left alone.
	[ "$(title_of "$DPID")" = "./p" ]
}
