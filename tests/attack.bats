#!/usr/bin/env bats
# Issue 15, from the attacker's side: each test plays one attack an
# adversarial run found against the landed tree, and asserts the safety
# property a user sees -- the master survives and serves, a loop ends, a
# file stays the master's, a log stays bounded.  The number in each name is
# the finding's in the issue.  A compromised worker is played by
# tests/helper/sbattack.py (it writes the worker's own shared mapping of
# the scoreboard, see its comment for why that is the worker's view);
# another local user by setpriv --reuid=nobody; a forged datagram by a raw
# socket in a network namespace the test creates; a full disk by a small
# tmpfs the test mounts.  Over 600 lines on purpose: one file holds every
# attack of the issue, so that whoever fixes a finding finds its test, and
# the helpers the attacks share, in one place.

# shellcheck disable=SC2030,SC2031

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	NS=""
	MNT=""
	TALK_TIMEOUT=3
}

teardown() {
	local rc=0
	# A pidfile another user wrote names any pid she likes (pid 1, a
	# process of another instance): not ours to stop in the teardown.
	if [ -n "${PIDFILE:-}" ] && [ -f "$PIDFILE" ] &&
	    [ "$(head -c 32 "$PIDFILE" | tr -d '\n')" != "${DPID:-none}" ]; then
		rm -f "$PIDFILE"
	fi
	if [ -n "${STOPPED:-}" ]; then
		# shellcheck disable=SC2086 # a list of pids
		kill -CONT $STOPPED 2>/dev/null || true
	fi
	common_teardown || rc=$?
	# After the daemon is gone: nothing holds the tmpfs or the namespace.
	if [ -n "$MNT" ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
		rmdir "$MNT" 2>/dev/null || true
	fi
	if [ -n "$NS" ]; then
		ip netns del "$NS" 2>/dev/null || true
	fi
	return "$rc"
}



helper() {
	local name="$1"
	shift
	timeout 20 python3 "$ROOT/tests/helper/$name" "$@"
}

# bg_helper NAME ARGS...: a helper in the background, its own pid in
# $BG_PID (it takes signals: no timeout(1) in between; each bounds its
# own time) and in BACKGROUND, which the teardown kills.
bg_helper() {
	local name="$1"
	shift
	python3 "$ROOT/tests/helper/$name" "$@" 3>&- &
	BG_PID=$!
	BACKGROUND="${BACKGROUND:-} $BG_PID"
}

# sb_write WORKER_PID ASSIGNMENT...: what a compromised worker stores into
# its mapping of the scoreboard (tests/helper/sbattack.py).
sb_write() {
	helper sbattack.py "$@"
}

# bg_as_nobody NAME ARGS...: a helper in the background as the other
# local user, nobody (python reads it from stdin, so that it need not be
# readable by her); its pid in $BG_PID and in BACKGROUND.
bg_as_nobody() {
	local name="$1"
	shift
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    /usr/bin/python3 - "$@" <"$ROOT/tests/helper/$name" 3>&- &
	BG_PID=$!
	BACKGROUND="${BACKGROUND:-} $BG_PID"
}

# The master is alive and an echo client gets its line back.
master_serves() {
	local port="${1:-$PORT}"
	kill -0 "$DPID" || {
		echo "the master (pid $DPID) is dead" >&2
		return 1
	}
	run talk "" "$port" <<<"still serving"
	[ "$output" = "still serving" ] || {
		echo "echo answered: '$output'" >&2
		return 1
	}
}

# Start preforkd in the background; STARTED=1 once it says so, or
# STARTED=0 and RC its exit status when it gave up first.
start_or_refuse() {
	local deadline=$((SECONDS + WAIT_LIMIT))
	"$PREFORKD" -f -c "$CONF" -p "$PIDFILE" "$@" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	STARTED=""
	RC=""
	until log_has "master: notice: started"; do
		if ! kill -0 "$DPID" 2>/dev/null; then
			RC=0
			wait "$DPID" || RC=$?
			DPID=""
			STARTED=0
			return 0
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "preforkd neither started nor gave up" >&2
			return 1
		fi
		sleep 0.05
	done
	STARTED=1
}

# A directory every user may write, sticky, as /tmp: $SHARED.
shared_dir() {
	chmod 711 "$T"
	SHARED="$T/shared"
	mkdir "$SHARED"
	chmod 1777 "$SHARED"
}

file_has() {
	grep -qE -- "$2" "$1" 2>/dev/null
}

# --- 1: the root master trusts what workers write into the scoreboard ---

@test "1 hostile worker: nservices = 0xffffffff and a huge service index, then it exits: the master survives and serves" {
	needs_root
	write_config 'protocol = "echo"
	workers = 2' 'max_slots = 8'
	start_daemon
	wait_until has_workers 2
	local w
	w=$(worker_pids | head -n 1)
	# Today scoreboard_release() decrements services[0xfffffff0].idle_hint,
	# ~240 GB past the mapping: SIGSEGV in root's master.
	sb_write "$w" header.nservices=0xffffffff self.service=0xfffffff0 \
	    self.state=idle self.generation=gen
	kill -KILL "$w"
	sleep 0.5
	master_serves
	wait_until has_workers 2
}

@test "1 hostile worker: a raised nslots does not let the master run more workers than max_slots, 20 reloads on" {
	needs_root
	cat >"$CONF" <<CONF
log_level = "info"
shutdown_timeout = 60
max_slots = 4
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 2
}
CONF
	start_daemon
	wait_until has_workers 2
	sb_write "$(worker_pids | head -n 1)" header.nslots=100000
	# One client held per generation keeps its worker, so the slots the
	# master hands out add up; the real table has room for 4.
	bg_helper hold.py 127.0.0.1 "$PORT" --count 1 --seconds 40 >"$T/hold.out"
	wait_until file_has "$T/hold.out" "^held 1$"
	local i
	for i in $(seq 2 21); do
		reload
		kill -USR1 "$BG_PID"
		wait_until file_has "$T/hold.out" "^held $i$"
	done
	local children
	children=$(pgrep -c -P "$DPID")
	echo "workers after 20 reloads: $children (max_slots = 4)" >&2
	[ "$children" -le 4 ]
	kill -USR2 "$BG_PID"
	wait_until file_has "$T/hold.out" "^held 0$"
	master_serves
}

@test "1 hostile worker: nslots = 0 does not wedge the pool: a killed worker is respawned" {
	needs_root
	write_config 'protocol = "echo"
	workers = 2' 'max_slots = 8'
	start_daemon
	wait_until has_workers 2
	local w
	w=$(worker_pids | head -n 1)
	sb_write "$w" header.nslots=0
	kill -KILL "$w"
	WAIT_LIMIT=5 wait_until has_workers 2
	master_serves
}

# --- 2: UDP services answer every source, their own port included ---

# A network namespace of the test's own, lo up: nothing else sends there.
netns_setup() {
	needs_root
	command -v ip >/dev/null || skip "no ip(8)"
	NS="pfattack$$x$RANDOM"
	ip netns add "$NS" 2>/dev/null || {
		NS=""
		skip "ip netns is unavailable"
	}
	ip netns exec "$NS" ip link set lo up
}

start_in_netns() {
	ip netns exec "$NS" "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" \
	    >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
}

lo_packets() {
	ip netns exec "$NS" cat /sys/class/net/lo/statistics/rx_packets
}

# forged_loop_ends SRC_PORT DST_PORT [SRC_ADDR]: one datagram from
# SRC_ADDR (127.0.0.1):SRC_PORT to 127.0.0.1:DST_PORT; the packets on lo in the next second (every
# answer crosses lo once) stay few, and none follow.
forged_loop_ends() {
	local before after later
	before=$(lo_packets)
	ip netns exec "$NS" timeout 10 python3 "$ROOT/tests/helper/forge_udp.py" \
	    "${3:-127.0.0.1}" "$1" 127.0.0.1 "$2"
	sleep 1
	after=$(lo_packets)
	sleep 0.5
	later=$(lo_packets)
	echo "datagrams on lo: $((after - before)) in the first second," \
	    "$((later - after)) in the next half" >&2
	[ $((after - before)) -le 100 ]
	[ $((later - after)) -le 2 ]
}

@test "2 forged UDP: a datagram from the echo service's own address and port does not loop" {
	netns_setup
	cat >"$CONF" <<CONF
log_level = "notice"
service echo {
	listen = {"udp:127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 1
}
CONF
	start_in_netns
	forged_loop_ends "$PORT" "$PORT"
}

@test "2 forged UDP: on a wildcard listener, a datagram from another local address and the same port does not loop" {
	netns_setup
	# udp_rate = 0: the own-address rule alone must end it.  127.0.0.2
	# is as much this host's as 127.0.0.1, and a wildcard socket answers
	# from the address the datagram came to.
	cat >"$CONF" <<CONF
log_level = "notice"
service echo {
	listen = {"udp:0.0.0.0:$PORT"}
	protocol = "echo"
	workers = 1
	udp_rate = 0
}
CONF
	start_in_netns
	forged_loop_ends "$PORT" "$PORT" 127.0.0.2
}

# The classic small services on their standard ports, and an echo on a
# high port: the loops of CVE-1999-0103.
classic_in_netns() {
	cat >"$CONF" <<CONF
log_level = "notice"
service echo {
	listen = {"udp:127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 1
}
service echo7 {
	listen = {"udp:127.0.0.1:7"}
	protocol = "echo"
	workers = 1
}
service chargen {
	listen = {"udp:127.0.0.1:19"}
	protocol = "chargen"
	workers = 1
}
CONF
	start_in_netns
}

@test "2 forged UDP: a datagram from chargen's port 19 to echo does not loop" {
	netns_setup
	classic_in_netns
	forged_loop_ends 19 "$PORT"
}

@test "2 forged UDP: a datagram from echo's port 7 to echo does not loop" {
	netns_setup
	classic_in_netns
	forged_loop_ends 7 "$PORT"
}

# --- 3: files in a shared directory ---

@test "3 shared dir: a scoreboard another user pre-created does not hand her the master's table" {
	needs_nobody
	shared_dir
	PIDFILE="$SHARED/preforkd.pid"
	local sb="$SHARED/preforkd.scoreboard" squatter
	bg_as_nobody squatter.py precreate "$sb" 3 >"$T/squatter.out" 2>&1
	squatter=$BG_PID
	wait_until file_has "$T/squatter.out" "^ready$"
	write_config 'protocol = "echo"'
	start_or_refuse
	if [ "$STARTED" = 0 ]; then
		# Refused: it says why -- the file, its owner, or the
		# world-writable directory.
		[ "$RC" -ne 0 ]
		log_has "scoreboard|$sb|owne|writable"
		return 0
	fi
	wait "$squatter" || true
	cat "$T/squatter.out" >&2
	refute file_has "$T/squatter.out" "mapped"
	[ "$(stat -c %U "$sb")" != nobody ]
	refute setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    /usr/bin/python3 -c 'import os, sys; os.open(sys.argv[1], os.O_RDWR)' \
	    "$sb" 2>/dev/null
}

@test "3 shared dir: a lock another user holds on a pre-created pidfile is not taken for a running preforkd" {
	needs_nobody
	shared_dir
	PIDFILE="$SHARED/preforkd.pid"
	bg_as_nobody squatter.py lock "$PIDFILE" 1 20 >"$T/squatter.out" 2>&1
	wait_until file_has "$T/squatter.out" "^ready$"
	write_config 'protocol = "echo"'
	start_or_refuse
	if [ "$STARTED" = 1 ]; then
		master_serves
		return 0
	fi
	# Refused: not "already running as pid 1", but whose file it is (or
	# that the directory is world-writable).
	cat "$LOG" >&2
	log_has "nobody|65534|owne|writable"
}

@test "3 shared dir: a pidfile its owner points at another instance's worker or master does not make -s stop stop it" {
	needs_nobody
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon # instance B, with a pidfile of its own
	wait_until has_workers 2
	shared_dir
	local her="$SHARED/a.pid" w target
	w=$(worker_pids | head -n 1)
	for target in "$w" "$DPID"; do
		bg_as_nobody squatter.py lock "$her" "$target" 20 \
		    >"$T/squatter.out" 2>&1
		wait_until file_has "$T/squatter.out" "^ready$"
		run timeout 10 "$PREFORKD" -s stop -w 0 -p "$her"
		echo "-s stop -p $her (pid $target): $status: $output" >&2
		sleep 0.3
		refute is_gone "$target"
		kill -0 "$DPID"
		kill -KILL "$BG_PID"
		wait "$BG_PID" 2>/dev/null || true
		rm -f "$her" "$T/squatter.out"
	done
	master_serves
}

@test "3 shared dir: a pidfile in a world-writable directory draws a warning, or a refusal" {
	needs_root
	shared_dir
	PIDFILE="$SHARED/preforkd.pid"
	write_config 'protocol = "echo"'
	start_or_refuse
	cat "$LOG" >&2
	log_has "(warning|error): .*(world-writable|writable by|sticky|shared)"
}

@test "3 shared dir: a FIFO another user put where the pidfile goes does not hang -s" {
	needs_nobody
	shared_dir
	local her="$SHARED/preforkd.pid" action
	setpriv --reuid=nobody --regid=nogroup --clear-groups mkfifo "$her"
	for action in stop quit reload reopen status; do
		run timeout 5 "$PREFORKD" -s "$action" -p "$her"
		echo "-s $action: $status: $output" >&2
		[ "$status" -ne 124 ]
		[ "$status" -ne 0 ]
	done
}

@test "3 docs: the README, preforkd(8) and make run put no pidfile in /tmp" {
	run grep -nE '/tmp/?[^ "]*\.pid' "$ROOT/README.md" "$ROOT/man/preforkd.8" \
	    "$ROOT/Makefile"
	echo "$output" >&2
	[ "$status" -eq 1 ]
}

# --- 4: SIGBUS on a full disk ---

# A 64 KiB tmpfs at $MNT, for the pidfile and the scoreboard.
small_tmpfs() {
	needs_root
	MNT=$(mktemp -d "${BATS_TMPDIR:-/tmp}/pfattack-mnt.XXXXXX")
	mount -t tmpfs -o size=64k,mode=0700 tmpfs "$MNT" 2>/dev/null || {
		rmdir "$MNT"
		MNT=""
		skip "cannot mount a tmpfs"
	}
	PIDFILE="$MNT/preforkd.pid"
}

# fill_disk [PAGES_LEFT]: fill $MNT with 4 KiB files, then free
# PAGES_LEFT of them again (0 unless given).
fill_disk() {
	local i left="${1:-0}"
	for i in $(seq 64); do
		if ! head -c 4096 /dev/zero >"$MNT/fill.$i" 2>/dev/null; then
			rm -f "$MNT/fill.$i"
			break
		fi
	done
	for i in $(seq "$left"); do
		rm -f "$MNT/fill.$i"
	done
}

@test "4 full disk: a start on a full pidfile file system fails with a message, not SIGBUS" {
	small_tmpfs
	write_config 'protocol = "echo"' 'max_slots = 64'
	# One page left: the pidfile's text fits, the scoreboard's first page
	# does not (today the master's first store into it is a SIGBUS).
	fill_disk 1
	start_or_refuse
	if [ "$STARTED" = 1 ]; then
		# Started without the disk: then it must not die on it later.
		master_serves
		reload
		master_serves
		return 0
	fi
	echo "exit status $RC" >&2
	[ "$RC" -ne $((128 + 7)) ] # SIGBUS
	[ "$RC" -ne 0 ]
	log_has "scoreboard|[Nn]o space"
}

@test "4 full disk: a reload that needs new scoreboard pages on a full disk does not kill the master" {
	small_tmpfs
	# 64 slots: 576 + 64 * 56 bytes of header and services, then 224 a
	# slot: slot 0 in page 1, slot 30 in page 2, which the sparse file
	# does not have yet.
	write_config 'protocol = "echo"
	workers = 1' 'max_slots = 64'
	start_daemon
	wait_until has_workers 1
	fill_disk
	write_config 'protocol = "echo"
	workers = 30' 'max_slots = 64'
	reload
	master_serves
}

# --- 5: the sample configuration locks out ---

@test "5 sample config: eight idle connections from one address do not lock another address out of echo" {
	local p new echo_port
	sed 's/^#pidfile.*//' "$ROOT/etc/preforkd.conf" >"$CONF"
	for p in 7001 7002 7003 7004 7005; do
		new=$(free_port)
		sed -i "s/:$p\"/:$new\"/g" "$CONF"
		[ "$p" != 7001 ] || echo_port=$new
	done
	start_daemon
	bg_helper hold.py 127.0.0.1 "$echo_port" --count 8 --seconds 30 \
	    >"$T/hold.out"
	wait_until file_has "$T/hold.out" "^held 8$"
	sleep 0.3
	run helper probe.py 127.0.0.1 "$echo_port" --from 127.0.0.2 \
	    --timeout 2 --send 'ninth\n' --expect 'ninth\n'
	echo "$output" >&2
	[ "$status" -eq 0 ]
}

# --- 6: the status service ---

# A status service on $PORT, one worker as in the sample; an echo service
# on $PORT2.
status_config() {
	PORT2=$(free_port)
	cat >"$CONF" <<CONF
log_level = "info"
shutdown_timeout = 5
service svc {
	listen = {"127.0.0.1:$PORT2"}
	protocol = "echo"
	workers = 2
}
service status {
	listen = {"127.0.0.1:$PORT"}
	protocol = "status"
	workers = 1
}
CONF
}

@test "6 status service: one silent connection does not block a second status request" {
	status_config
	start_daemon
	wait_until has_workers 1 status
	bg_helper hold.py 127.0.0.1 "$PORT" --count 1 --seconds 30 >"$T/hold.out"
	wait_until file_has "$T/hold.out" "^held 1$"
	sleep 0.2
	run helper probe.py 127.0.0.1 "$PORT" --timeout 2 --send '\n' \
	    --expect 'master pid='
	echo "$output" >&2
	[ "$status" -eq 0 ]
}

@test "6 status service: a request bigger than one recv() gets its answer, not a reset" {
	status_config
	start_daemon
	wait_until has_workers 1 status
	local i
	for i in 1 2 3; do
		run helper probe.py 127.0.0.1 "$PORT" --timeout 3 \
		    --send 'GET /metrics HTTP/1.0\r\n\r\n' --pad 65536
		echo "try $i: status $status: ${output:0:200}" >&2
		[ "$status" -eq 0 ]
		[[ "$output" == HTTP/1.* ]]
	done
}

status_names_a_client() {
	"$PREFORKD" -s status -p "$PIDFILE" | grep -q "state=busy client=127\.0\.0\.1:"
}

@test "6 status service: by default it names no client addresses" {
	status_config
	start_daemon
	wait_until has_workers 2
	bg_helper hold.py 127.0.0.1 "$PORT2" --count 1 --seconds 30 >"$T/hold.out"
	wait_until file_has "$T/hold.out" "^held 1$"
	# The held client is in the table, as root's -s status shows...
	wait_until status_names_a_client
	# ...but not in what any local user can fetch.
	run helper probe.py 127.0.0.1 "$PORT" --timeout 3 --send '\n'
	[ "$status" -eq 0 ]
	echo "$output" >&2
	refute grep -q '127\.0\.0\.1' <<<"$output"
	run helper probe.py 127.0.0.1 "$PORT" --timeout 3 \
	    --send 'GET /metrics HTTP/1.0\r\n\r\n'
	[ "$status" -eq 0 ]
	refute grep -q '127\.0\.0\.1' <<<"$output"
}

# --- 7: scoreboard strings reach root's terminal raw ---

# What a worker writes in its slot and its service's name: a terminal
# escape, a newline and a line that looks like the master's.
forge_strings() {
	sb_write "$1" \
	    'self.service_name=str:svc\x1b[2J\nworker pid=1 service=forged' \
	    'self.client=str:\x1b]0;owned\x07\nmaster pid=1 forged=1' \
	    self.state=busy \
	    'svc0.name=str:svc"} 1\nforged_total 1\n\x1b[31m'
}

@test "7 hostile strings: -s status prints no raw ESC and no forged line" {
	needs_root
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	wait_until has_workers 2
	forge_strings "$(worker_pids | head -n 1)"
	run timeout 10 "$PREFORKD" -s status -p "$PIDFILE"
	printf '%s\n' "$output" | cat -v >&2
	refute grep -q $'\x1b' <<<"$output"
	[ "$(grep -c '^master ' <<<"$output")" -eq 1 ]
	refute grep -qE '^(worker pid=1 |forged_total)' <<<"$output"
}

@test "7 hostile strings: the status service's text and /metrics carry no raw ESC and no forged line or metric" {
	needs_root
	status_config
	start_daemon
	wait_until has_workers 2
	forge_strings "$(worker_pids | head -n 1)"
	run helper probe.py 127.0.0.1 "$PORT" --timeout 3 --send '\n'
	[ "$status" -eq 0 ]
	refute grep -q $'\x1b' <<<"$output"
	[ "$(grep -c '^master ' <<<"$output")" -eq 1 ]
	refute grep -qE '^(worker pid=1 |forged_total)' <<<"$output"
	run helper probe.py 127.0.0.1 "$PORT" --timeout 3 \
	    --send 'GET /metrics HTTP/1.0\r\n\r\n'
	[ "$status" -eq 0 ]
	refute grep -q $'\x1b' <<<"$output"
	# Past the HTTP head, every line is a comment or a well-formed
	# sample (Prometheus text format, label values escaped).
	local bad
	bad=$(sed '1,/^\r\{0,1\}$/d' <<<"$output" | grep -vE '^(#.*|$)' |
	    grep -vE '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [^ ]+$' || true)
	echo "bad lines: $bad" >&2
	[ -z "$bad" ]
	refute grep -q '^forged_total' <<<"$output"
}

@test "7 hostile strings: -s reload's failure message carries no raw ESC" {
	write_config 'protocol = "echo"'
	start_daemon
	printf 'service "a\033[31mb" {\n\tlisten = {"127.0.0.1:%s"}\n\tprotocol = "echo"\n}\n' \
	    "$PORT" >"$CONF"
	run --separate-stderr timeout 10 "$PREFORKD" -s reload -w 5 -p "$PIDFILE"
	printf '%s\n' "$stderr" | cat -v >&2
	[ "$status" -ne 0 ]
	[ -n "$stderr" ]
	refute grep -q $'\x1b' <<<"$stderr"
}

# --- 8: ghost slots ---

@test "8 ghost slots: free slots written as quitting with a source do not refuse that source" {
	needs_root
	write_config 'protocol = "echo"
	workers = 2
	max_per_source = 1' 'max_slots = 8'
	start_daemon
	wait_until has_workers 2
	sb_write "$(worker_pids | head -n 1)" free.state=quitting \
	    free.source=ip:127.0.0.1 free.service_name=str:svc \
	    free.generation=gen free.service=0 header.high_water=8
	run talk <<<"not a ghost"
	echo "$output" >&2
	[ "$output" = "not a ghost" ]
}

@test "8 ghost slots: a slot past high_water, written over, is claimed clean" {
	needs_root
	write_config 'protocol = "echo"
	workers = 2' 'max_slots = 8'
	start_daemon
	wait_until has_workers 2
	# Slot 3 was never claimed: the sweep stops below high_water (2), so
	# what a worker writes there stays until the master claims it.
	sb_write "$(worker_pids | head -n 1)" 3.program_index=1 \
	    3.program_status=str:ghost 3.state=quitting
	timeout 10 "$PREFORKD" -s reload -w 5 -p "$PIDFILE"
	run "$PREFORKD" -s status -p "$PIDFILE"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[ "$(grep -c '^worker .* generation=2 ' <<<"$output")" -eq 2 ]
	refute grep -qE '^program |ghost' <<<"$output"
}

@test "8 shared nobody: workers another process of nobody stops are noticed: the client is served, or the log says so" {
	needs_nobody
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	wait_until has_workers 2
	STOPPED=$(worker_pids | tr '\n' ' ')
	# Any process of the worker user may signal the workers.
	# shellcheck disable=SC2086 # a list of pids
	setpriv --reuid=nobody --regid=nogroup --clear-groups kill -STOP $STOPPED
	run helper probe.py 127.0.0.1 "$PORT" --timeout 6 --send 'x\n' \
	    --expect 'x\n'
	echo "probe: $status: $output" >&2
	[ "$status" -eq 0 ] ||
	    log_has "(warning|error): .*(stopped|not taking|no longer|stuck|SIGSTOP)"
}

@test "8 shared nobody: user = nobody draws a warning at start" {
	needs_nobody
	write_config 'protocol = "echo"' 'user = "nobody"'
	start_daemon
	log_has "warning: .*nobody"
}

# --- 9: log amplification ---

@test "9 log amplification: 5 MB to a log_data service grow the log by a bounded amount, with a summary" {
	write_config 'protocol = "discard"
	log_data = true
	workers = 1' 'log_level = "info"'
	sed -i 's/^log_level = "debug"$//' "$CONF"
	start_daemon
	local before after
	before=$(stat -c %s "$LOG")
	# 1250 connections of 4000 bytes: each under log_data_limit (4096),
	# so only a bound per second can cut it; the burst lasts < 1 s.
	helper flood.py 127.0.0.1 "$PORT" --count 1250 --bytes 4000 --binary \
	    --seconds 10
	sleep 1
	after=$(stat -c %s "$LOG")
	# Assumed bound: at most 1 MiB of log a second; the window is ~2 s.
	# Today: ~3 bytes of log per byte received, 15 MB.
	echo "the log grew $((after - before)) bytes for 5000000 received" >&2
	local summary=0
	grep -vE ' (access|data) service=' "$LOG" |
	    grep -qE 'not logged|drop|suppress|omit|skip' || summary=$?
	# The teardown shows the log's tail: not 40 lines of 4 KiB.
	grep -vE ' data service=' "$LOG" >"$T/log.short" || true
	cp "$T/log.short" "$LOG"
	[ $((after - before)) -lt $((2 * 1024 * 1024)) ]
	[ "$summary" -eq 0 ]
}

@test "9 log amplification: 5000 refused connections in 2 s log far fewer lines, with a summary" {
	write_config 'protocol = "echo"
	workers = 1
	deny = {"127.0.0.1"}' 'log_level = "info"'
	sed -i 's/^log_level = "debug"$//' "$CONF"
	start_daemon
	local before after made
	before=$(wc -l <"$LOG")
	made=$(helper flood.py 127.0.0.1 "$PORT" --count 5000 --seconds 2)
	# Past the period, one more refusal: a summary may wait for it.
	sleep 1.1
	helper flood.py 127.0.0.1 "$PORT" --count 1 >/dev/null
	sleep 0.3
	after=$(wc -l <"$LOG")
	echo "$made refused connections: $((after - before)) log lines" >&2
	[ $((after - before)) -lt 500 ]
	grep -v ' access service=' "$LOG" | grep -qE 'refus|denied|deny'
}

# --- 10: a deleted scoreboard ---

@test "10 deleted scoreboard: -s reload still signals the master, and the reload recreates the file" {
	write_config 'protocol = "echo"'
	start_daemon
	rm "$T/preforkd.scoreboard"
	run timeout 10 "$PREFORKD" -s reload -w 5 -p "$PIDFILE"
	echo "-s reload: $status: $output" >&2
	WAIT_LIMIT=3 wait_log "reloaded .*generation 2"
	WAIT_LIMIT=3 wait_until test -f "$T/preforkd.scoreboard"
	run timeout 10 "$PREFORKD" -s status -p "$PIDFILE"
	[ "$status" -eq 0 ]
}

# --- 11: config trust ---

@test "11 config trust: a config file writable by other users draws a warning at start, or a refusal" {
	write_config 'protocol = "echo"'
	chmod 666 "$CONF"
	start_or_refuse
	cat "$LOG" >&2
	# Loosely: a warning or an error that speaks of who may write it.
	log_has "(warning|error): .*(writable|permission|mode)"
}

@test "11 config trust: -t escapes an ESC byte in an invalid service name" {
	printf 'service "a\033[31mb" {\n\tlisten = {"127.0.0.1:%s"}\n\tprotocol = "echo"\n}\n' \
	    "$PORT" >"$CONF"
	run --separate-stderr timeout 10 "$PREFORKD" -t -c "$CONF"
	printf '%s\n' "$stderr" | cat -v >&2
	[ "$status" -ne 0 ]
	[ -n "$stderr" ]
	refute grep -q $'\x1b' <<<"$stderr"
}

# --- 12: this round's readers of what less trusted processes write ---

@test "12 hostile header: nslots, high_water and nservices written over do not blind -s status while the master sleeps" {
	needs_root
	write_config 'protocol = "echo"
	workers = 2' 'max_slots = 8'
	start_daemon
	wait_until has_workers 2
	# An idle master does not wake to mend the header (master_watch.c):
	# -s status must not take the worker's nslots for the table's size.
	sb_write "$(worker_pids | head -n 1)" header.nslots=0xffffffff \
	    header.high_water=0xffffffff header.nservices=0xffffffff
	run timeout 5 "$PREFORKD" -s status -p "$PIDFILE"
	printf '%s\n' "$output" >&2
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "master pid=$DPID "*" slots="*"/8 "* ]]
	[ "$(grep -c '^worker pid=' <<<"$output")" -eq 2 ]
	master_serves
}
