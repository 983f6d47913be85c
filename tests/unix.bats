#!/usr/bin/env bats
# Unix domain stream sockets: listen = {"unix:PATH"}, the file's owner and
# mode (socket_user, socket_group, socket_mode), a stale socket replaced
# and a live one refused, the file kept across a reload and removed at
# stop, -t, and the client named by its credentials.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	SOCK="$T/run/echo.sock"
	mkdir "$T/run"
}
teardown() {
	[ -z "${HOLDER:-}" ] || kill "$HOLDER" 2>/dev/null || true
	common_teardown
}

# unix_config SERVICE_BODY [LISTEN]: service "svc" on unix:$SOCK only.
unix_config() {
	cat >"$CONF" <<CONF
log_level = "debug"
shutdown_timeout = 5
service svc {
	listen = {${2:-"\"unix:$SOCK\""}}
	$1
}
CONF
}

# unix_talk [PATH]: send stdin over the Unix socket, half-close, print
# what comes back until the service closes.
unix_talk() {
	/usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)' "${1:-$SOCK}"
}

inode_of() {
	stat -c %i "$1"
}

is_socket() {
	[ -S "$1" ]
}

@test "unix: echo over a Unix socket, the client named by its uid and pid" {
	unix_config 'protocol = "echo"
	workers = 2'
	start_daemon
	log_has "master: info: listening on unix:$SOCK$"
	[ -S "$SOCK" ]
	run unix_talk <<<"over unix"
	[ "$status" -eq 0 ]
	[ "$output" = "over unix" ]
	wait_log "access service=svc client=unix:uid=$(id -u),pid=[0-9]+ in=10 out=10 .* end=closed local=unix:$SOCK queued=- "
	if tool_path socat >/dev/null; then
		run socat -t2 - "UNIX-CONNECT:$SOCK" <<<"via socat"
		[ "$output" = "via socat" ]
	fi
}

@test "unix: socket_mode, socket_user and socket_group are the file's" {
	local group user
	group=$(id -gn)
	user=$(id -un)
	# Root may give the file to anyone; others only to themselves.
	[ "$(id -u)" -ne 0 ] || user=nobody
	unix_config "protocol = \"echo\"
	workers = 1
	socket_mode = \"0660\"
	socket_user = \"$user\"
	socket_group = \"$group\""
	start_daemon
	[ "$(stat -c '%a %U %G' "$SOCK")" = "660 $user $group" ]
	run unix_talk <<<"mode"
	[ "$output" = "mode" ]
	# The default is systemd's SocketMode=, 0666.
	stop_daemon
	unix_config 'protocol = "echo"
	workers = 1'
	start_daemon
	# The log says "started" already: wait for the file.
	wait_until is_socket "$SOCK"
	[ "$(stat -c '%a' "$SOCK")" = "666" ]
}

@test "unix: idle_timeout holds for a Unix client, as for TCP" {
	unix_config 'protocol = "echo"
	workers = 1
	idle_timeout = 1'
	start_daemon
	# Linux gives an accepted Unix socket no timeouts of its listener.
	run /usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
t = time.monotonic(); s.recv(10); print(round(time.monotonic() - t))' "$SOCK"
	[ "$output" = "1" ]
	wait_log "client=unix:uid=[0-9]+,pid=[0-9]+ in=0 out=0 .* end=timeout "
}

@test "unix: a socket_user that does not exist fails -t and the start" {
	unix_config 'protocol = "echo"
	socket_user = "no-such-user-16"'
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -ne 0 ]
	[[ "$output" == *'service svc: socket_user "no-such-user-16": no such user'* ]]
	run "$PREFORKD" -f -c "$CONF" -p "$PIDFILE"
	[ "$status" -ne 0 ]
	[[ "$output" == *'socket_user "no-such-user-16": no such user'* ]]
	refute is_socket "$SOCK"
}

@test "unix: the file is removed at stop, fast or graceful" {
	unix_config 'protocol = "echo"
	workers = 1'
	start_daemon
	[ -S "$SOCK" ]
	stop_daemon
	refute is_socket "$SOCK"
	log_has "master: info: removed socket file $SOCK$"
	start_daemon
	# The log says "started" already: wait for the file.
	wait_until is_socket "$SOCK"
	kill -QUIT "$DPID"
	wait_until_gone "$DPID"
	refute is_socket "$SOCK"
}

@test "unix: a graceful stop serves the client connected, and turns new ones away" {
	unix_config 'protocol = "echo"
	workers = 1'
	start_daemon
	# A client the worker is serving when the stop comes.
	/usr/bin/python3 - "$SOCK" "$T/held" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"one\n")
assert s.recv(10) == b"one\n"
open(sys.argv[2], "w").close()
time.sleep(0.5)
s.sendall(b"two\n")
open(sys.argv[2] + ".out", "wb").write(s.recv(10))
PY
	HOLDER=$!
	wait_until test -e "$T/held"
	kill -QUIT "$DPID"
	wait_until log_has "received QUIT"
	# New clients find no file; the one connected goes on.
	wait_until refute is_socket "$SOCK"
	wait_until test -s "$T/held.out"
	[ "$(cat "$T/held.out")" = "two" ]
	wait "$HOLDER"
	HOLDER=""
	wait_until_gone "$DPID"
	refute is_socket "$SOCK"
}

@test "unix: a reload keeps the socket file; a client connected meanwhile is served" {
	unix_config 'protocol = "echo"
	workers = 2'
	start_daemon
	local inode
	inode=$(inode_of "$SOCK")
	# Connected before the reload, it sends after it.
	/usr/bin/python3 - "$SOCK" "$T/conn" <<'PY' &
import socket, sys, time, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[2] + ".go"):
    time.sleep(0.02)
s.sendall(b"across\n")
open(sys.argv[2] + ".out", "wb").write(s.recv(20))
PY
	HOLDER=$!
	wait_until test -e "$T/conn"
	unix_config 'protocol = "echo"
	workers = 2
	socket_mode = "0600"'
	reload
	log_has "reloaded $CONF: generation 2"
	[ "$(inode_of "$SOCK")" = "$inode" ]
	# The kept file has the mode the new file asks for.
	[ "$(stat -c '%a' "$SOCK")" = "600" ]
	touch "$T/conn.go"
	wait_until test -s "$T/conn.out"
	[ "$(cat "$T/conn.out")" = "across" ]
	wait "$HOLDER"
	HOLDER=""
	run unix_talk <<<"after"
	[ "$output" = "after" ]
	run ! log_has "listening on unix:$SOCK.*generation|closed listener unix"
}

@test "unix: a reload that drops the address removes its file, one that adds it binds it" {
	local other="$T/run/other.sock"
	unix_config 'protocol = "echo"
	workers = 1'
	start_daemon
	unix_config 'protocol = "echo"
	workers = 1' "\"unix:$other\""
	reload
	[ -S "$other" ]
	refute is_socket "$SOCK"
	run unix_talk "$other" <<<"moved"
	[ "$output" = "moved" ]
}

@test "unix: a stale socket is replaced, a live one refused" {
	unix_config 'protocol = "echo"
	workers = 1'
	# A socket left by a process that died: bound, nobody listening.
	/usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1])' "$SOCK"
	[ -S "$SOCK" ]
	start_daemon
	log_has "master: notice: listen unix:$SOCK: removed a stale socket \(nothing listened on it\)$"
	run unix_talk <<<"fresh"
	[ "$output" = "fresh" ]
	local inode
	inode=$(inode_of "$SOCK")
	# A second instance meets the first one's live socket.
	run "$PREFORKD" -f -c "$CONF" -p "$T/second.pid"
	[ "$status" -ne 0 ]
	[[ "$output" == *"listen unix:$SOCK: another process listens on it"* ]]
	[ "$(inode_of "$SOCK")" = "$inode" ]
	# -t beside the instance that holds it is fine; beside another, not.
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 0 ]
	run "$PREFORKD" -t -c "$CONF" -p "$T/second.pid"
	[ "$status" -ne 0 ]
	[[ "$output" == *"service svc: listen unix:$SOCK: Address already in use"* ]]
	run unix_talk <<<"still"
	[ "$output" = "still" ]
}

@test "unix: a file or a symbolic link at the path is refused, and left" {
	unix_config 'protocol = "echo"'
	echo data >"$SOCK"
	run "$PREFORKD" -f -c "$CONF" -p "$PIDFILE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"listen unix:$SOCK: a file that is not a socket is there: not removed"* ]]
	[ "$(cat "$SOCK")" = data ]
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"listen unix:$SOCK: Socket operation on non-socket"* ]]
	rm "$SOCK"
	ln -s "$T/elsewhere" "$SOCK"
	run "$PREFORKD" -f -c "$CONF" -p "$PIDFILE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"listen unix:$SOCK: a symbolic link is there, which is never followed"* ]]
	[ -L "$SOCK" ]
	[ ! -e "$T/elsewhere" ]
}

@test "unix: -t refuses a missing directory, and creates no file" {
	unix_config 'protocol = "echo"' "\"unix:$T/nodir/echo.sock\""
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"service svc: listen unix:$T/nodir/echo.sock: No such file or directory"* ]]
	run "$PREFORKD" -f -c "$CONF" -p "$PIDFILE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"listen unix:$T/nodir/echo.sock: its directory does not exist"* ]]
	unix_config 'protocol = "echo"'
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 0 ]
	refute is_socket "$SOCK"
}

@test "unix: what a Unix socket cannot do is refused by name" {
	unix_config 'protocol = "echo"
	allow = {"127.0.0.1"}'
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"service svc: allow and deny match IP addresses, and every listen address is a unix: socket"* ]]
	unix_config 'protocol = "echo"' "\"unix-dgram:$SOCK\""
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[[ "$output" == *"datagram Unix sockets are not supported"* ]]
	unix_config 'protocol = "echo"
	proxy_protocol = true'
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[[ "$output" == *"proxy_protocol works over TCP only (listen \"unix:$SOCK\")"* ]]
	unix_config 'protocol = "echo"
	socket_mode = "0999"'
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[[ "$output" == *'socket_mode "0999" (expected an octal mode'* ]]
}

@test "unix: beside a TCP address, allow applies to TCP clients; max_per_source counts a uid" {
	unix_config 'protocol = "echo"
	workers = 3
	allow = {"10.0.0.0/8"}
	max_per_source = 1' "\"unix:$SOCK\", \"127.0.0.1:$PORT\""
	start_daemon
	run talk <<<"tcp"
	[[ "$output" != *tcp* ]]
	log_has "client=127\.0\.0\.1:[0-9]+ .* end=refused "
	run unix_talk <<<"unix"
	[ "$output" = "unix" ]
	# One connection of this uid at a time: the second is refused.
	run /usr/bin/python3 - "$SOCK" <<'PY'
import socket, sys
a = socket.socket(socket.AF_UNIX); a.connect(sys.argv[1])
a.sendall(b"x\n"); a.recv(10)
b = socket.socket(socket.AF_UNIX); b.settimeout(5); b.connect(sys.argv[1])
print(b.recv(100).decode().strip())
PY
	[ "$output" = "error: too many connections from your user" ]
	wait_log "max_per_source = 1 reached for uid $(id -u): refusing"
}

@test "unix: a Unix socket passed by the service manager is adopted by path, and left to it" {
	unix_config 'protocol = "echo"
	workers = 1'
	need_tool systemd-socket-activate systemd
	"$(tool_path systemd-socket-activate)" -l "$SOCK" -- "$PREFORKD" -f \
	    -c "$CONF" -p "$PIDFILE" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_until is_socket "$SOCK"
	run unix_talk <<<"activated"
	[ "$output" = "activated" ]
	wait_log "master: notice: started"
	log_has "master: info: adopted passed socket unix:$SOCK \(descriptor 3\) for service svc$"
	run ! log_has "listening on unix:"
	stop_daemon
	# The service manager's file: it removes it, not preforkd.
	run ! log_has "removed socket file"
}
