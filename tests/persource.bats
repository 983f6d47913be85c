#!/usr/bin/env bats
# Limits the pool keeps on the scoreboard: max_per_source (connections at
# once from one client address, across the workers of a service) and
# worker_timeout (a busy worker with no progress is killed and replaced).

load helpers

bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() {
	# A worker this test stopped must be able to die with the rest.
	[ -z "${STOPPED:-}" ] || kill -CONT "$STOPPED" 2>/dev/null || true
	common_teardown
}

REFUSAL="error: too many connections from your address"

status() {
	"$PREFORKD" -s status -p "$PIDFILE"
}

status_has() {
	status | grep -qE -- "$1"
}

# from_source ADDR: connect to the service from the local address ADDR,
# send a line and print the first line of the answer.
from_source() {
	/usr/bin/python3 - "$1" "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5,
                             source_address=(sys.argv[1], 0))
s.sendall(b"hello\n")
print(s.makefile().readline().rstrip("\n"))
PY
}

# Two clients from 127.0.0.1 that hold two workers.
hold_two() {
	open_client a
	send_line a "one"
	wait_until client_saw a "one"
	open_client b
	send_line b "two"
	wait_until client_saw b "two"
}

@test "max_per_source: a third client from one address gets an error line, another address is served" {
	write_config 'protocol = "echo"
	workers = 4
	max_per_source = 2'
	start_daemon
	wait_until has_workers 4
	hold_two
	run talk <<<"three"
	[ "$status" -eq 0 ]
	[ "$output" = "$REFUSAL" ]
	log_has "worker svc#1: info: access service=svc client=127\.0\.0\.1:[0-9]+ in=[0-9]+ out=46 time=[0-9.]+s end=per_source "
	log_has "worker svc#1: warning: service svc: max_per_source = 2 reached for 127\.0\.0\.1: refusing \(0 more refused since this worker last said so\)$"
	# Two workers are still idle: another address gets one.
	run from_source 127.0.0.2
	[ "$status" -eq 0 ]
	[ "$output" = "hello" ]
	wait_log "access service=svc client=127\.0\.0\.2:[0-9]+ in=6 out=6 .*end=closed"
	# A client that leaves frees its place.
	close_client a
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=4 out=4 .*end=closed"
	run talk <<<"four"
	[ "$output" = "four" ]
}

# burst N ROUNDS: ROUNDS times, N clients from 127.0.0.1 connect at once,
# all send a line, and all stay open until every one has its first line
# back; print, per round, how many were served and how many refused.
burst() {
	/usr/bin/python3 - "$PORT" "$1" "$2" "$REFUSAL" <<'PY'
import socket, sys
port, n, rounds, refusal = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for _ in range(rounds):
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10)
             for _ in range(n)]
    for s in socks:
        s.sendall(b"x\n")
    answers = [s.makefile().readline().rstrip("\n") for s in socks]
    print(answers.count("x"), answers.count(refusal))
    for s in socks:
        s.close()
PY
}

@test "max_per_source: clients arriving together never pass the limit" {
	write_config 'protocol = "echo"
	workers = 8
	max_per_source = 2'
	start_daemon
	wait_until has_workers 8
	run burst 6 10
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${#lines[@]}" -eq 10 ]
	local served refused total=0
	for line in "${lines[@]}"; do
		read -r served refused <<<"$line"
		[ "$served" -le 2 ]
		[ "$((served + refused))" -eq 6 ]
		total=$((total + served))
	done
	[ "$total" -ge 1 ]
}

@test "max_per_source: refusals of one source are logged once per burst" {
	write_config 'protocol = "echo"
	workers = 3
	max_per_source = 1'
	start_daemon
	wait_until has_workers 3
	open_client a
	send_line a "one"
	wait_until client_saw a "one"
	for i in 1 2 3 4 5 6; do
		run talk <<<"more"
		[ "$output" = "$REFUSAL" ]
	done
	[ "$(log_count "end=per_source")" -eq 6 ]
	# Each of the two idle workers says so once at most.
	local said
	said=$(log_count "max_per_source = 1 reached for 127\.0\.0\.1")
	[ "$said" -ge 1 ] && [ "$said" -le 2 ]
}

@test "max_per_source: a worker killed while holding a client releases its count" {
	write_config 'protocol = "echo"
	workers = 4
	max_per_source = 2'
	start_daemon
	wait_until has_workers 4
	hold_two
	run talk <<<"refused"
	[ "$output" = "$REFUSAL" ]
	local pid
	pid=$(status | sed -nE 's/^worker pid=([0-9]+) .*state=busy.*/\1/p' | head -n 1)
	[ -n "$pid" ]
	kill -KILL "$pid"
	wait_log "worker $pid \(service svc\) killed by signal KILL"
	run talk <<<"served"
	[ "$status" -eq 0 ]
	[ "$output" = "served" ]
}

@test "max_per_source: an IPv6 client counts by its /64" {
	HOST=::1 write_config 'protocol = "echo"
	workers = 3
	max_per_source = 1
	source_prefix6 = 64'
	sed -i "s|\"127.0.0.1:$PORT\"|\"[::1]:$PORT\"|" "$CONF"
	start_daemon
	HOST=::1 open_client a
	send_line a "one"
	wait_until client_saw a "one"
	HOST=::1 run talk <<<"two"
	[ "$output" = "$REFUSAL" ]
	log_has "max_per_source = 1 reached for ::/64: refusing"
}

@test "-t refuses a worker_timeout that idle_timeout could reach" {
	write_config 'protocol = "echo"
	idle_timeout = 30
	send_timeout = 10
	worker_timeout = 30'
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$stderr" =~ ^"$CONF":[0-9]+:\ service\ svc:\ worker_timeout\ =\ 30\ must\ be\ longer\ than\ idle_timeout\ =\ 30,\ or\ a\ worker\ waiting\ on\ a\ silent\ client\ would\ be\ killed$ ]]
	write_config 'protocol = "echo"
	idle_timeout = 0
	send_timeout = 10
	worker_timeout = 60'
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"service svc: worker_timeout = 60 needs an idle_timeout: with idle_timeout = 0 a worker may wait on a silent client for ever" ]]
	# A client that does not read is cut after up to two send_timeouts.
	write_config 'protocol = "echo"
	idle_timeout = 30
	worker_timeout = 120'
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$stderr" =~ ^"$CONF":[0-9]+:\ service\ svc:\ worker_timeout\ =\ 120\ must\ be\ longer\ than\ twice\ send_timeout\ =\ 60,\ or\ a\ worker\ waiting\ on\ a\ client\ that\ does\ not\ read\ would\ be\ killed$ ]]
	write_config 'protocol = "echo"
	idle_timeout = 30
	send_timeout = 0
	worker_timeout = 60'
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"service svc: worker_timeout = 60 needs a send_timeout: with send_timeout = 0 a worker may wait on a client that does not read for ever" ]]
	write_config 'protocol = "echo"
	idle_timeout = 30
	send_timeout = 10
	worker_timeout = 31
	max_per_source = 3
	source_prefix6 = 129'
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"source_prefix6 = 129 is out of range (0 to 128)" ]]
}

# A pool of 2 with worker_timeout 3 s, one worker busy with client a,
# which has had its answer: that worker's pid in BUSY.  (Not run in $(...):
# the daemon and the client must be the test's.)
start_with_busy_worker() {
	write_config 'protocol = "echo"
	workers = 2
	idle_timeout = 1
	send_timeout = 1
	worker_timeout = 3'
	start_daemon
	wait_until has_workers 2
	open_client a
	send_line a "hi"
	wait_until client_saw a "hi"
	BUSY=$(status | sed -nE 's/^worker pid=([0-9]+) .*state=busy.*/\1/p')
	[ -n "$BUSY" ]
}

@test "worker_timeout: a stopped busy worker is killed, logged and replaced" {
	start_with_busy_worker
	local pid=$BUSY
	STOPPED=$pid
	kill -STOP "$pid"
	wait_log "master: warning: worker $pid \(service svc\) made no progress for [0-9.]+s: client=127\.0\.0\.1:[0-9]+ in=3 out=3 time=[0-9.]+s; sending KILL$"
	wait_log "worker $pid \(service svc\) killed by signal KILL"
	STOPPED=""
	# Not before worker_timeout: the stop came after the last byte.
	local quiet
	quiet=$(sed -nE "s/.*worker $pid \(service svc\) made no progress for ([0-9]+)\..*/\1/p" "$LOG")
	[ "$quiet" -ge 3 ]
	wait_until has_workers 2
	run talk <<<"again"
	[ "$output" = "again" ]
	# Killed from outside: no crash back-off.
	refute log_has "worker died .* after start"
}

# hold PID SECONDS: stop a process with ptrace, which, unlike SIGSTOP,
# sends its parent no SIGCHLD; print "held", then "gone" when it dies
# within SECONDS.  Exit 77 when ptrace is not allowed.
hold() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                        ctypes.c_void_p]
PTRACE_SEIZE, PTRACE_INTERRUPT = 0x4206, 0x4207
pid = int(sys.argv[1])
if (libc.ptrace(PTRACE_SEIZE, pid, None, None) != 0 or
        libc.ptrace(PTRACE_INTERRUPT, pid, None, None) != 0):
    print("ptrace: " + os.strerror(ctypes.get_errno()), file=sys.stderr)
    sys.exit(77)
os.waitpid(pid, 0)
print("held", flush=True)
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p == pid and (os.WIFEXITED(st) or os.WIFSIGNALED(st)):
        print("gone", flush=True)
        sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
PY
}

@test "worker_timeout: a worker stuck without a word to the master is killed too" {
	start_with_busy_worker
	local pid=$BUSY
	# Nothing tells the master: no signal, no poke.
	run hold "$pid" 15
	[ "$status" -ne 77 ] || skip "ptrace is not allowed here"
	[ "$status" -eq 0 ]
	[ "${lines[*]}" = "held gone" ]
	log_has "master: warning: worker $pid \(service svc\) made no progress for [0-9.]+s: client=127\.0\.0\.1:[0-9]+ in=3 out=3 time=[0-9.]+s; sending KILL$"
	wait_log "worker $pid \(service svc\) killed by signal KILL"
	wait_until has_workers 2
}

@test "worker_timeout: slow and silent clients within idle_timeout are left alone" {
	write_config 'protocol = "echo"
	workers = 2
	idle_timeout = 2
	send_timeout = 1
	worker_timeout = 3'
	start_daemon
	wait_until has_workers 2
	open_client slow
	open_client silent
	# 4.5 s in all, more than worker_timeout, never 2 s without a byte.
	for i in 1 2 3 4; do
		send_line slow "line $i"
		wait_until client_saw slow "line $i"
		[ "$i" -eq 4 ] || sleep 1.5
	done
	close_client slow
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=28 out=28 .*end=closed"
	# The silent one was ended by idle_timeout, as a timeout.
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=0 out=0 .*end=timeout"
	refute log_has "made no progress"
	refute log_has "killed by signal"
}

@test "refusal_message: a client allow/deny refuses gets the line, then EOF; it replaces max_per_source's" {
	write_config 'protocol = "echo"
	workers = 2
	deny = {"127.0.0.1"}
	refusal_message = "421 not from your address\r\n"'
	start_daemon
	run talk <<<"hello"
	[ "$status" -eq 0 ]
	[ "$output" = $'421 not from your address\r' ]
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=[0-9]+ out=27 .*end=refused "
	# The same words for max_per_source, instead of its own line.
	write_config 'protocol = "echo"
	workers = 3
	max_per_source = 1
	refusal_message = "busy\n"'
	reload
	wait_until has_workers 3
	open_client a
	send_line a "one"
	wait_until client_saw a "one"
	run talk <<<"two"
	[ "$status" -eq 0 ]
	[ "$output" = "busy" ]
	wait_log "access service=svc client=127\.0\.0\.1:[0-9]+ in=[0-9]+ out=5 .*end=per_source "
	close_client a
}

@test "refusal_message: longer than 512 bytes is refused by -t" {
	write_config "protocol = \"echo\"
	refusal_message = \"$(printf 'x%.0s' $(seq 513))\""
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"refusal_message is longer than 512 bytes"* ]]
}
