#!/usr/bin/env bats
# preforkd under a service manager, without systemd as PID 1: the
# sd_notify datagrams it sends (tests/helper/dgram_sink.py plays the
# manager's NOTIFY_SOCKET), preforkd(8) SERVICE MANAGER.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	NOTES="$T/notes"
}
teardown() { common_teardown; }

SINK="$ROOT/tests/helper/dgram_sink.py"

# start_manager SOCKET: listen where NOTIFY_SOCKET will point; every
# datagram becomes a line of $NOTES: pid, arrival in monotonic us, fields.
start_manager() {
	python3 "$SINK" "$1" "$NOTES" 3>&- &
	BACKGROUND="${BACKGROUND:-} $!"
	wait_until grep -qx bound "$NOTES"
}

# The datagrams so far, one per line, without pid and time.
notes() {
	sed -n '2,$p' "$NOTES" | cut -f3-
}

# The first field (the state) of every datagram, on one line.
states() {
	notes | cut -f1 | tr '\n' ' '
}

has_states() {
	[ "$(states)" = "$1" ]
}

# Every datagram was sent by the master.
all_from_master() {
	local pids
	pids="$(sed -n '2,$p' "$NOTES" | cut -f1 | sort -u)"
	echo "senders: $pids"
	[ "$pids" = "$DPID" ]
}

@test "READY=1 once bound and spawned; RELOADING=1 then READY=1 on HUP; STOPPING=1" {
	start_manager "$T/notify.sock"
	write_config 'protocol = "echo"
	workers = 2'
	NOTIFY_SOCKET="$T/notify.sock" start_daemon
	wait_until has_states "READY=1 "
	# By the time it is ready, every worker was spawned and the
	# address serves.
	[ "$(log_count "spawned worker")" -eq 2 ]
	[ "$(notes)" = $'READY=1\tSTATUS=generation 1, 2 worker(s) in 1 service(s)' ]
	run talk <<<"ready"
	[ "$output" = "ready" ]

	write_config 'protocol = "echo"
	workers = 3'
	kill -HUP "$DPID"
	wait_until has_states "READY=1 RELOADING=1 READY=1 "
	# RELOADING=1 carries the CLOCK_MONOTONIC time it was sent, in us.
	local line usec arrived
	line="$(sed -n 3p "$NOTES")"
	[[ "$line" =~ $'\tRELOADING=1\tMONOTONIC_USEC='([0-9]+)$'\tSTATUS=reloading: generation 1, 2 worker(s) in 1 service(s)'$ ]]
	usec="${BASH_REMATCH[1]}"
	arrived="$(cut -f2 <<<"$line")"
	echo "sent at $usec, arrived at $arrived"
	[ "$usec" -le "$arrived" ]
	[ "$((arrived - usec))" -lt 10000000 ]
	[ "$(notes | tail -n 1)" = $'READY=1\tSTATUS=generation 2, 3 worker(s) in 1 service(s)' ]

	kill -TERM "$DPID"
	wait_until has_states "READY=1 RELOADING=1 READY=1 STOPPING=1 "
	[[ "$(notes | tail -n 1)" == $'STOPPING=1\tSTATUS=stopping now: generation 2, '* ]]
	all_from_master
}

@test "a failed reload: RELOADING=1, then READY=1 saying it failed" {
	start_manager "$T/notify.sock"
	write_config 'protocol = "echo"'
	NOTIFY_SOCKET="$T/notify.sock" start_daemon
	wait_until has_states "READY=1 "
	echo "service svc {" >"$CONF"
	kill -HUP "$DPID"
	wait_until has_states "READY=1 RELOADING=1 READY=1 "
	log_has "reload failed: still running generation 1"
	[ "$(notes | tail -n 1)" = $'READY=1\tSTATUS=reload failed: generation 1, 4 worker(s) in 1 service(s)' ]
	run talk <<<"still"
	[ "$output" = "still" ]
}

@test "a graceful stop says STOPPING=1 too" {
	start_manager "$T/notify.sock"
	write_config 'protocol = "echo"'
	NOTIFY_SOCKET="$T/notify.sock" start_daemon
	wait_until has_states "READY=1 "
	kill -QUIT "$DPID"
	wait_until has_states "READY=1 STOPPING=1 "
	[[ "$(notes | tail -n 1)" == $'STOPPING=1\tSTATUS=graceful stop: generation 1, '* ]]
}

@test "NOTIFY_SOCKET=@name is an abstract socket" {
	local name="@preforkd-test-$$-$RANDOM"
	start_manager "$name"
	write_config 'protocol = "echo"'
	NOTIFY_SOCKET="$name" start_daemon
	wait_until has_states "READY=1 "
	kill -TERM "$DPID"
	wait_until has_states "READY=1 STOPPING=1 "
	all_from_master
}

@test "a manager that does not listen: said once, and preforkd serves on" {
	write_config 'protocol = "echo"'
	NOTIFY_SOCKET="$T/nobody.sock" start_daemon
	local i
	for i in 1 2; do
		kill -HUP "$DPID"
		wait_log "reloaded $CONF: generation $((i + 1))"
	done
	[ "$(log_count "notify")" -eq 1 ]
	log_has "master: warning: notify $T/nobody.sock: cannot send \"READY=1\": No such file or directory$"
	run talk <<<"on"
	[ "$output" = "on" ]
}

@test "a NOTIFY_SOCKET that names no Unix socket is logged and ignored" {
	write_config 'protocol = "echo"'
	NOTIFY_SOCKET="vsock:2:1234" start_daemon
	log_has "master: warning: NOTIFY_SOCKET \"vsock:2:1234\": neither a socket path nor @name: not notifying the service manager$"
	run talk <<<"on"
	[ "$output" = "on" ]
}

# ------------------------------------------------------ socket activation

# The inode of the socket listening on 127.0.0.1:PORT, from /proc/net/tcp.
listen_inode() {
	local hex
	hex="$(printf '0100007F:%04X' "$1")"
	awk -v a="$hex" '$2 == a && $4 == "0A" { print $10 }' /proc/net/tcp
}

# The inode of a process's descriptor, if it is a socket.
fd_inode() {
	readlink "/proc/$1/fd/$2" | sed -nE 's/^socket:\[([0-9]+)\]$/\1/p'
}

# activate ARGS...: start preforkd -f with $CONF the way systemd starts a
# socket-activated service: systemd-socket-activate listens with ARGS,
# and execs preforkd, passing its sockets, when the first client comes.
activate() {
	local ssa
	need_tool systemd-socket-activate systemd
	ssa=$(tool_path systemd-socket-activate)
	"$ssa" "$@" -- "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" \
	    >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "Listening on 127.0.0.1:$PORT as 3"
}

@test "socket activation: the first client starts preforkd, served on the passed socket" {
	write_config 'protocol = "echo"
	workers = 2'
	activate -l "127.0.0.1:$PORT" --fdname=echo
	# Nothing of preforkd runs yet: this client makes it start.
	run ! log_has "preforkd"
	run talk <<<"activated"
	[ "$output" = "activated" ]
	wait_log "master: notice: started"
	log_has "master: info: the service manager passed 1 socket\(s\), from descriptor 3 on; LISTEN_FDNAMES=echo$"
	log_has "master: info: adopted passed socket 127.0.0.1:$PORT \(descriptor 3\) for service svc$"
	run ! log_has "listening on 127.0.0.1:$PORT"
	# The one socket listening on the port is the passed one, the
	# master's descriptor 3 (systemd-socket-activate became preforkd).
	local inode
	inode="$(listen_inode "$PORT")"
	[ -n "$inode" ]
	[ "$(fd_inode "$DPID" 3)" = "$inode" ]
	# A reload keeps it, as any socket whose address stays.
	kill -HUP "$DPID"
	wait_log "reloaded $CONF: generation 2"
	[ "$(fd_inode "$DPID" 3)" = "$inode" ]
	run talk <<<"after reload"
	[ "$output" = "after reload" ]
}

@test "socket activation: a passed socket nobody listens on is closed, a missing one bound" {
	local other port2
	other="$(free_port)"
	port2="$(free_port)"
	cat >"$CONF" <<CONF
log_level = "debug"
service svc {
	listen = {"127.0.0.1:$PORT", "127.0.0.1:$port2"}
	protocol = "echo"
}
CONF
	activate -l "127.0.0.1:$PORT" -l "127.0.0.1:$other"
	run talk <<<"one"
	[ "$output" = "one" ]
	wait_log "master: notice: started"
	log_has "adopted passed socket 127.0.0.1:$PORT \(descriptor 3\)"
	log_has "master: warning: passed socket 127.0.0.1:$other \(descriptor 4\): no service listens there, closing it$"
	log_has "master: info: listening on 127.0.0.1:$port2$"
	run talk "" "$port2" <<<"two"
	[ "$output" = "two" ]
	# Nobody holds the address that was passed in vain.
	run "$PFCLIENT" -b 127.0.0.1 "$other"
	[ "$status" -eq 0 ]
}

@test "LISTEN_PID of another process: nothing is taken, every address bound" {
	write_config 'protocol = "echo"'
	echo decoy >"$T/decoy"
	LISTEN_PID=1 LISTEN_FDS=1 "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" \
	    >>"$LOG" 2>&1 3<"$T/decoy" &
	DPID=$!
	wait_log "master: notice: started"
	log_has "master: info: LISTEN_PID=1 is not this process \($DPID\): the passed sockets are not for us$"
	log_has "listening on 127.0.0.1:$PORT$"
	run ! log_has "adopted"
	# Descriptor 3 was closed like any other inherited one.
	[ -e "/proc/$DPID/fd/0" ]
	[ -z "$(find "/proc/$DPID/fd" -lname "$T/decoy")" ]
}

@test "LISTEN_FDS that is not a count is logged and ignored" {
	write_config 'protocol = "echo"'
	env LISTEN_FDS=two bash -c 'LISTEN_PID=$$ exec "$@"' sh \
	    "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	log_has "master: warning: LISTEN_FDS=\"two\": not a count of sockets: binding every address instead$"
	log_has "listening on 127.0.0.1:$PORT$"
}

# ------------------------------------------------------------- unit files

# unit_copy NAME: etc/NAME with the paths of this build filled in, as make
# install would, in $T/units.
unit_copy() {
	mkdir -p "$T/units"
	sed -e "s|@SBINDIR@|$(dirname "$PREFORKD")|g" -e "s|@SYSCONFDIR@|$T|g" \
	    -e "s|@RUNSTATEDIR@|$T/run|g" "$ROOT/etc/$1" >"$T/units/$1"
}

@test "systemd-analyze verify finds nothing to say about the unit files" {
	need_tool systemd-analyze systemd
	[ "$(basename "$PREFORKD")" = preforkd ] ||
	    skip "ExecStart names SBINDIR/preforkd; this build is $PREFORKD"
	unit_copy preforkd.service
	unit_copy preforkd.socket
	# Without man: the pages are not installed here.
	run systemd-analyze verify --man=no "$T/units/preforkd.service" \
	    "$T/units/preforkd.socket"
	echo "$output"
	if [[ "$output" == *"Failed to "*"bus"* || "$output" == *"Failed to initialize manager"* ]]; then
		skip "systemd-analyze cannot run in this container: $output"
	fi
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "the unit's ExecReload reports the reload's outcome in its exit status" {
	unit_copy preforkd.service
	local reload
	reload=$(sed -n 's/^ExecReload=//p' "$T/units/preforkd.service")
	echo "ExecReload: $reload"
	# The pidfile the unit's ExecStart gives the master.
	mkdir -p "$T/run/preforkd"
	PIDFILE="$T/run/preforkd/preforkd.pid"
	grep -q -- "^ExecStart=.* -p $PIDFILE\$" "$T/units/preforkd.service"
	write_config 'protocol = "echo"'
	start_daemon
	# The command line as systemd runs it: no shell, no $MAINPID here.
	run $reload
	echo "$output"
	[ "$status" -eq 0 ]
	wait_log "reloaded $CONF"
	echo 'service {' >>"$CONF"
	run $reload
	echo "$output"
	[ "$status" -eq 6 ]
	[[ "$output" == *"reload failed: $CONF:"* ]]
}

# The unit's CapabilityBoundingSet as setpriv's --bounding-set.
unit_caps() {
	sed -n 's/^CapabilityBoundingSet=//p' "$ROOT/etc/preforkd.service" |
	    tr 'A-Z ' 'a-z\n' | sed -n 's/^cap_/+/p' | paste -sd, |
	    sed 's/^/-all,/'
}

# A privileged loopback port nobody uses.
free_low_port() {
	local p
	for p in $(shuf -i 600-1000 -n 40); do
		if "$PFCLIENT" -b 127.0.0.1 "$p" 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Start preforkd as root limited to the unit's capabilities and with no
# new privileges, as systemd would run it.
start_capped() {
	setpriv --bounding-set "$(unit_caps)" --inh-caps=-all --no-new-privs \
	    "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" >>"$T/stderr" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started" || { cat "$T/stderr" >&2; false; }
}

@test "the unit's CapabilityBoundingSet is all the master needs" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	need_tool setpriv util-linux
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	echo "bounding set: $(unit_caps)"
	local low
	low="$(free_low_port)" || skip "no free port below 1024"
	# A log file in a directory the workers' user can reach, as
	# /var/log/preforkd is; it stays root's.
	chmod 755 "$T"
	LOG="$T/file.log"
	cat >"$CONF" <<CONF
user = "nobody"
log = "$LOG"
log_level = "debug"
service svc {
	listen = {"127.0.0.1:$low", "127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 2
}
CONF
	start_capped
	# It has those and no other: DAC_OVERRIDE 1, KILL 5, SETGID 6,
	# SETUID 7, NET_BIND_SERVICE 10 (no CHOWN: it never changes an owner).
	grep ^Cap "/proc/$DPID/status"
	grep -qx $'CapBnd:\t00000000000004e2' "/proc/$DPID/status"
	grep -qx $'CapEff:\t00000000000004e2' "/proc/$DPID/status"
	# CAP_NET_BIND_SERVICE: the port below 1024.
	run talk "" "$low" <<<"low"
	[ "$output" = "low" ]
	# CAP_SETUID, CAP_SETGID: workers run as nobody.
	local pid
	for pid in $(worker_pids); do
		[ "$(stat -c %U "/proc/$pid")" = nobody ]
	done
	# The log file stays root's; CAP_KILL: the master signals the workers,
	# here to hand a rotated log to a new generation.
	[ "$(stat -c %U "$LOG")" = root ]
	mv "$LOG" "$LOG.1"
	"$PREFORKD" -s reopen -p "$PIDFILE"
	wait_until [ -f "$LOG" ]
	# A client must reach the new generation, which writes to the new
	# file: wait until both workers of the old one have gone.
	wait_until test_log_count_is "worker [0-9]+ \(service svc\) exited" 2
	run talk <<<"after"
	wait_log "access service=svc "
	[ "$(stat -c %U "$LOG")" = root ]
	# A restart appends to the same file.
	stop_daemon
	grep -q "master: notice: stopped" "$LOG"
	start_capped
	run talk "" "$low" <<<"again"
	[ "$output" = "again" ]
	# And each of them is needed: without CAP_NET_BIND_SERVICE the low
	# port cannot be bound.
	stop_daemon
	run setpriv --bounding-set "$(unit_caps),-net_bind_service" \
	    --inh-caps=-all --no-new-privs "$PREFORKD" -f -c "$CONF" \
	    -p "$PIDFILE" 3>&-
	[ "$status" -eq 3 ]
	[[ "$output" == *"bind 127.0.0.1:$low: Permission denied"* ]]
}

@test "socket activation: a passed UDP socket serves datagrams" {
	cat >"$CONF" <<CONF
log_level = "debug"
service svc {
	listen = {"udp:127.0.0.1:$PORT"}
	protocol = "prefix"
}
CONF
	activate --datagram -l "127.0.0.1:$PORT"
	# The first datagram starts preforkd; it is then in the passed socket.
	run python3 "$ROOT/tests/helper/tutorial_client.py" --udp 127.0.0.1 "$PORT" <<<"over udp"
	[ "$output" = "reply: b'You sent me: over udp'" ]
	wait_log "master: info: adopted passed socket udp:127\.0\.0\.1:$PORT \(descriptor 3\) for service svc$"
	run ! log_has "listening on udp:127.0.0.1:$PORT"
}

# ------------------------------------------- the units, as systemd runs them

# The command line of the unit's KEY= line, after systemd's prefixes
# (-, @, :, +, !, !!): there must be exactly one such line.
unit_command() {
	local lines
	lines="$(sed -n "s/^$1=//p" "$T/units/preforkd.service")"
	[ -n "$lines" ] && [ "$(wc -l <<<"$lines")" -eq 1 ] || return 1
	sed -E 's/^[-@:+!]+//' <<<"$lines"
}

@test "socket activation: the unit's ExecStartPre and ExecStart start the service and it serves" {
	need_tool systemd-socket-activate systemd
	local ssa
	ssa=$(tool_path systemd-socket-activate)
	unit_copy preforkd.service
	PRE="$(unit_command ExecStartPre)"
	START="$(unit_command ExecStart)"
	echo "ExecStartPre: $PRE"
	echo "ExecStart: $START"
	# The files where the unit, filled in as make install does, looks:
	# SYSCONFDIR is $T, RUNSTATEDIR $T/run, created by RuntimeDirectory=.
	mkdir -p "$T/preforkd" "$T/run/preforkd"
	CONF="$T/preforkd/preforkd.conf"
	PIDFILE="$T/run/preforkd/preforkd.pid"
	write_config 'protocol = "echo"'
	# As root, each command runs as systemd runs it: within the unit's
	# CapabilityBoundingSet, so -t may not look into the descriptors of
	# the manager that holds the socket (PID 1 there, here the process
	# systemd-socket-activate became).
	CAPS=""
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
		CAPS="setpriv --bounding-set $(unit_caps) --inh-caps=-all --no-new-privs"
	fi
	export PRE START CAPS # systemd-socket-activate -E passes them
	# What systemd does once a socket unit's first client comes: the
	# service's ExecStartPre without the sockets (no LISTEN_*, nothing
	# from descriptor 3 on), and if it succeeds, ExecStart with them.
	cat >"$T/manager.bash" <<'SH'
read -ra caps <<<"$CAPS"
read -ra pre <<<"$PRE"
read -ra start <<<"$START"
env -u LISTEN_FDS -u LISTEN_PID -u LISTEN_FDNAMES "${caps[@]}" "${pre[@]}" 3>&- || exit
exec "${caps[@]}" "${start[@]}"
SH
	"$ssa" -l "127.0.0.1:$PORT" -E PRE -E START -E CAPS -- \
	    bash "$T/manager.bash" >>"$LOG" 2>&1 &
	DPID=$!
	wait_log "Listening on 127.0.0.1:$PORT as 3"
	run talk <<<"activated"
	echo "--- log ---"
	cat "$LOG"
	[ "$output" = "activated" ]
	log_has "^$CONF: syntax ok$"
	wait_log "master: notice: started"
	log_has "master: info: adopted passed socket 127.0.0.1:$PORT \(descriptor 3\) for service svc$"
	[ "$(cat "$PIDFILE")" = "$DPID" ]
	# And -t, by hand beside it with the unit's pidfile, is content.
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 0 ]
}
