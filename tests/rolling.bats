#!/usr/bin/env bats
# accept = false at a reload (issue 18): a pool of programs rolls over one
# program at a time, never fewer than workers ready nor more than workers +
# max_surge alive; a reload that changes nothing for it leaves its programs
# alone; a failed roll keeps the old ones and -s reload says why.  Also
# TTIN/TTOU, back-off per index, and a log reopen while programs write.

# DPID and BACKGROUND are read by helpers.bash.
# shellcheck disable=SC2034

load helpers

setup() {
	common_setup
	# As root the programs run as nobody: they must reach their files.
	chmod 711 "$T"
	# A program on fd 3 that answers who it is, finishes the client it
	# has when told to quit (TERM waits, blocked, until it is between
	# two clients) and says each answer on stdout.  Its argument tags
	# it, so a reload can change it.
	cat >"$T/prog.py" <<'PY'
#!/usr/bin/python3
import os, signal, socket, sys
tag = sys.argv[1] if len(sys.argv) > 1 else "-"
index = os.environ.get("PREFORKD_WORKER_INDEX")
if tag == "fail" or (tag == "fail1" and index == "1"):
    print("no database here", file=sys.stderr, flush=True)
    sys.exit(1)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
sock = socket.socket(fileno=3)
sock.settimeout(0.05)
answer = ("pid=%d tag=%s index=%s\n" % (os.getpid(), tag, index)).encode()
served = 0
while signal.SIGTERM not in signal.sigpending():
    try:
        conn, _ = sock.accept()
    except socket.timeout:
        continue
    conn.setblocking(True)
    conn.sendall(answer)
    conn.close()
    served += 1
    if os.environ.get("SAY"):
        print("served %d by %d" % (served, os.getpid()), flush=True)
PY
	chmod 755 "$T/prog.py"
}
teardown() { common_teardown; }

# program_config TAG [KEYS] [GLOBALS]
program_config() {
	write_config "protocol = \"exec\"
	accept = false
	command = {\"$T/prog.py\", \"$1\"}
	${2:-workers = 2}" "${3:-}"
}

ask() {
	talk </dev/null
}

status() {
	"$PREFORKD" -c "$CONF" -p "$PIDFILE" -s status
}

# The pids of the programs -s status lists, sorted.
program_pids() {
	status | sed -nE 's/^program pid=([0-9]+) .*/\1/p' | sort -n
}

status_has() {
	status | grep -q -- "$1"
}

ready_programs() {
	[ "$(status | grep -c '^program .*state=ready')" -eq "$1" ]
}

# The master's children alive now (its programs), as /proc shows them:
# one file read, no process, so the sampler keeps up on a loaded machine.
live_programs() {
	local kids=()
	read -r -a kids <"/proc/$DPID/task/$DPID/children" || true
	echo "${#kids[@]}"
}

@test "a changed argument rolls the programs over under a client loop: no failed client, never more than workers + 1 alive, every old one gone" {
	program_config a
	start_daemon
	wait_until ready_programs 2
	old=$(program_pids)
	[ "$(wc -w <<<"$old")" -eq 2 ]
	# /proc sampled all along.
	(
		while :; do
			live_programs >>"$T/alive"
			sleep 0.02
		done
	) &
	BACKGROUND="$!"
	program_config b
	("$PREFORKD" -c "$CONF" -p "$PIDFILE" -s reload; echo "$?" >"$T/rc") &
	BACKGROUND="$BACKGROUND $!"
	asked=0 fails=0
	while [ ! -s "$T/rc" ]; do
		ask | grep -q '^pid=' || fails=$((fails + 1))
		asked=$((asked + 1))
	done
	[ "$(cat "$T/rc")" -eq 0 ]
	[ "$fails" -eq 0 ]
	# The sampler never saw more than 2 + max_surge (1), and looked.
	[ "$(sort -n "$T/alive" | tail -n 1)" -le 3 ]
	[ "$(wc -l <"$T/alive")" -gt 5 ]
	[ "$asked" -gt 5 ]
	for p in $old; do wait_until is_gone "$p"; done
	[ "$(ask | sed -E 's/.* tag=([a-z]+) .*/\1/')" = b ]
	wait_until ready_programs 2
	[ "$(log_count "retiring program [0-9]+ \(generation 1\): [0-9] new program")" -eq 2 ]
}

@test "a reload that changes nothing for a pool of programs leaves its programs alone" {
	program_config a "workers = 2
	max_surge = 2"
	start_daemon
	wait_until ready_programs 2
	before=$(program_pids)
	# max_surge is no program setting: nothing to roll.
	program_config a "workers = 2
	max_surge = 1"
	run "$PREFORKD" -c "$CONF" -p "$PIDFILE" -s reload
	[ "$status" -eq 0 ]
	[ "$(program_pids)" = "$before" ]
	[ "$(status | grep -c '^program .* generation=2 .*state=ready')" -eq 2 ]
	refute log_has "retiring program"
	log_has "reloaded .*: generation 2"
}

@test "a reload to a program that exits 1: the old ones keep serving, -s reload fails with its exit status and last line" {
	program_config a
	start_daemon
	wait_until ready_programs 2
	old=$(program_pids)
	program_config fail
	run "$PREFORKD" -c "$CONF" -p "$PIDFILE" -s reload
	[ "$status" -eq 9 ]
	[[ "$output" == *"reload failed: service svc: program "*" exited with status 1 "*"its last line: no database here; the old programs keep serving"* ]]
	for _ in $(seq 10); do
		line=$(ask)
		[[ "$line" == *"tag=a "* ]]
	done
	[ "$(status | sed -nE 's/^program pid=([0-9]+) service=svc generation=1 .*state=ready.*/\1/p' | sort -n)" = "$old" ]
	status | grep -q '^master .* reload=stalled'
	status | grep -Eq '^service name=svc .* degraded failed_starts=[0-9]+'
}

@test "TTIN and TTOU add and retire a program, within max_slots" {
	program_config a "workers = 2" "max_slots = 5"
	start_daemon
	wait_until ready_programs 2
	kill -TTIN "$DPID"
	wait_until ready_programs 3
	status | grep -q '^program .* index=2 state=ready'
	kill -TTOU "$DPID"
	wait_until ready_programs 2
	wait_log "retiring program [0-9]+ \(index 2\)"
	wait_until refute status_has ' index=2 '
	# max_slots = 5 holds this pool at its largest and a reload's new
	# generation: no slot to spare for a fourth.
	kill -TTIN "$DPID"
	wait_until ready_programs 3
	kill -TTIN "$DPID"
	wait_log "service svc stays at 3 worker"
}

@test "back-off per index: one index that keeps failing does not delay the start of another" {
	program_config fail1
	start_daemon
	# 1.5 s in: index 0 has settled (a second), index 1 waits 1.6 s
	# (give or take a quarter) for its 6th start.
	wait_log "\(index 1\) exited with status 1 .*failed start 5 in a row"
	ready_programs 1
	victim=$(ask | sed -E 's/^pid=([0-9]+) .*/\1/')
	before=$(log_count "started program [0-9]+ \(index 0\)")
	t0=$(date +%s%N)
	kill -KILL "$victim"
	wait_until test_log_count_above "started program [0-9]+ \(index 0\)" "$before"
	t1=$(date +%s%N)
	# Index 0 is replaced at once, not with index 1.
	[ $(((t1 - t0) / 1000000)) -lt 800 ]
	log_has "program $victim \(index 0\) was killed by signal KILL .*replacing it"
	ask | grep -q '^pid='
}

@test "a log reopen while programs write: their lines go to the new file, the programs carry on" {
	LOG="$T/preforkd.log"
	program_config a "workers = 2
	env = {\"SAY=1\"}" "log = \"$LOG\""
	start_daemon
	wait_until ready_programs 2
	before=$(program_pids)
	ask >/dev/null
	wait_log "served 1 by "
	mv "$LOG" "$LOG.1"
	kill -USR1 "$DPID"
	wait_until test -s "$LOG"
	for _ in $(seq 4); do ask >/dev/null; done
	wait_until log_has "service svc: program [0-9]+: served [0-9]+ by "
	# Logged by the master from the pipe, escaped, named: in the new
	# file only, the old one has none of these.
	[ "$(grep -c "served [2-9] by " "$LOG.1")" -eq 0 ]
	[ "$(program_pids)" = "$before" ]
	refute grep -q "retiring program" "$LOG"
}

@test "the status service's Prometheus form shows each program service's ready programs, restarts and failed starts" {
	SPORT=$(free_port)
	cat >"$CONF" <<CONF
log_level = "debug"
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "exec"
	accept = false
	command = {"$T/prog.py", "fail1"}
	workers = 2
}
service st {
	listen = {"127.0.0.1:$SPORT"}
	protocol = "status"
	workers = 1
}
CONF
	start_daemon
	wait_log "failed start 2 in a row"
	metrics() { printf 'GET /metrics HTTP/1.0\r\n\r\n' | "$PFCLIENT" -t 5 127.0.0.1 "$SPORT"; }
	out=$(metrics)
	grep -q '^preforkd_programs_ready{service="svc"} 1$' <<<"$out"
	grep -Eq '^preforkd_program_restarts_total\{service="svc"\} [2-9]' <<<"$out"
	grep -Eq '^preforkd_program_failed_starts\{service="svc"\} [2-9]' <<<"$out"
	# A service of workers has no program lines.
	refute grep -q 'preforkd_programs_ready{service="st"}' <<<"$out"
}
