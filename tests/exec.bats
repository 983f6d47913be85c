#!/usr/bin/env bats
# protocol = "exec": a program per connection, its stdin and stdout the
# socket (issue 17), against real programs: cat, sh, git daemon, rsync,
# and tcpserver side by side.

load helpers

setup() {
	common_setup
	# As root the programs run as nobody: they must reach their scripts.
	chmod 711 "$T"
}
teardown() { common_teardown; }

# script NAME BODY: an executable /bin/sh script $T/NAME.
script() {
	printf '#!/bin/sh\n%s\n' "$2" >"$T/$1"
	chmod 755 "$T/$1"
}

# exec_config COMMAND [KEYS] [GLOBALS]: an exec service of one worker,
# unless KEYS set workers.
exec_config() {
	local workers="workers = 1"
	[[ "${2:-}" == *workers* ]] && workers=""
	write_config "protocol = \"exec\"
	command = {$1}
	$workers
	kill_timeout = 1
	${2:-}" "${3:-}"
}

# The access line of the last connection.
last_access() {
	grep 'access service=svc' "$LOG" | tail -n 1
}

@test "exec -t: a missing, relative or unusable command, and UDP, are refused with FILE:LINE" {
	cat >"$CONF" <<CONF
service a {
	listen = {"127.0.0.1:$PORT"}
	protocol = "exec"
}
service b {
	listen = {"udp:127.0.0.1:$PORT"}
	protocol = "exec"
	command = {"bin/cat"}
}
service c {
	listen = {"127.0.0.1:$((PORT + 1))"}
	protocol = "echo"
	command = {"/bin/cat"}
}
CONF
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"preforkd.conf:4: service a: protocol \"exec\" needs a command"* ]]
	[[ "$output" == *"preforkd.conf:9: service b: protocol \"exec\" does not work over UDP"* ]]
	[[ "$output" == *"preforkd.conf:9: service b: command \"bin/cat\" must be an absolute path"* ]]
	[[ "$output" == *"preforkd.conf:14: service c: command is for protocol \"exec\" only"* ]]
	printf 'not a program\n' >"$T/plain"
	chmod 644 "$T/plain"
	cat >"$CONF" <<CONF
pidfile = "$PIDFILE"
service a {
	listen = {"127.0.0.1:$PORT"}
	protocol = "exec"
	command = {"$T/nothing-here"}
}
service b {
	listen = {"127.0.0.1:$((PORT + 1))"}
	protocol = "exec"
	command = {"$T/plain"}
}
CONF
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *"preforkd.conf:6: service a: command $T/nothing-here: No such file or directory"* ]]
	[[ "$output" == *"preforkd.conf:11: service b: command $T/plain: not a file"*"may execute"* ]]
}

@test "exec: cat returns 1 MiB of random bytes, NULs included, sha256-equal" {
	exec_config '"/bin/cat"'
	start_daemon
	head -c 1048576 /dev/urandom >"$T/in.bin"
	printf '\0\0\0' >>"$T/in.bin"
	talk <"$T/in.bin" >"$T/out.bin"
	[ "$(sha256sum <"$T/in.bin")" = "$(sha256sum <"$T/out.bin")" ]
	wait_log 'access service=svc .*end=closed .*pid=[0-9]+ exit=0'
	last_access
	[[ "$(last_access)" == *" in=1048579 out=1048579 "* ]]
}

@test "exec: the environment is tcpserver's, clean, with env and pass_env" {
	need_tool tcpserver ucspi-tcp
	script env.sh 'env | LC_ALL=C sort'
	exec_config "\"$T/env.sh\"" 'env = {"LANG=C.UTF-8", "GREETING=hi there"}
	pass_env = {"TZ", "NOT_SET_ANYWHERE"}'
	PREFORKD_TEST_SECRET=s3cret TZ=Europe/Paris start_daemon
	talk </dev/null >"$T/ours"
	port2=$(free_port)
	tcpserver -H -R 127.0.0.1 "$port2" "$T/env.sh" 3>&- &
	BACKGROUND="$!"
	wait_until "$PFCLIENT" -t 1 127.0.0.1 "$port2" </dev/null >"$T/theirs"
	# The same names for the connection, with the same meaning.
	names() { grep -E '^(PROTO|TCP)' "$1" | cut -d= -f1; }
	[ "$(names "$T/ours")" = "$(names "$T/theirs")" ]
	grep -qx "TCPLOCALPORT=$PORT" "$T/ours"
	grep -qx "TCPLOCALPORT=$port2" "$T/theirs"
	grep -qx 'TCPREMOTEIP=127.0.0.1' "$T/ours"
	grep -qx 'TCPREMOTEIP=127.0.0.1' "$T/theirs"
	grep -qx 'PROTO=TCP' "$T/ours"
	port=$(sed -n 's/^TCPREMOTEPORT=//p' "$T/ours")
	grep -qx "REMOTE_PORT=$port" "$T/ours"
	grep -qx 'REMOTE_ADDR=127.0.0.1' "$T/ours"
	grep -qx 'PATH=/usr/local/bin:/usr/bin:/bin' "$T/ours"
	grep -qx 'LANG=C.UTF-8' "$T/ours"
	grep -qx 'GREETING=hi there' "$T/ours"
	grep -qx 'TZ=Europe/Paris' "$T/ours"
	grep -qx 'PREFORKD_SERVICE=svc' "$T/ours"
	id=$(sed -n 's/^PREFORKD_CONN_ID=//p' "$T/ours")
	wait_log "access service=svc .* id=$id pid="
	refute grep -q 'PREFORKD_TEST_SECRET\|s3cret\|NOT_SET_ANYWHERE\|^HOME=' "$T/ours"
}

@test "exec behind PROXY v1 and v2: the real client in TCPREMOTEIP, the proxy apart, the first bytes intact" {
	# shellcheck disable=SC2016 # the program's variables
	exec_config '"/bin/sh", "-c", "read -r line; echo \"$TCPREMOTEIP $TCPREMOTEPORT $PREFORKD_PROXY_IP $line\""' 'proxy_protocol = true'
	start_daemon
	run python3 "$ROOT/tests/helper/proxyclient.py" --data "first bytes
" 127.0.0.1 "$PORT" v1-tcp4
	[[ "$output" == *"got=b'203.0.113.7 40001 127.0.0.1 first bytes\\n'"* ]]
	run python3 "$ROOT/tests/helper/proxyclient.py" --data "v2 bytes
" 127.0.0.1 "$PORT" v2-tcp6
	[[ "$output" == *"got=b'2001:db8::7 40002 127.0.0.1 v2 bytes\\n'"* ]]
	wait_log 'access service=svc client=\[2001:db8::7\]:40002 proxy=127.0.0.1:[0-9]+ in=9 .*exit=0'
}

@test "exec: an IPv6 client's address has no brackets" {
	script env.sh 'env'
	cat >"$CONF" <<CONF
service v6 {
	listen = {"[::1]:$PORT"}
	protocol = "exec"
	command = {"$T/env.sh"}
	workers = 1
}
CONF
	start_daemon
	HOST=::1 talk </dev/null >"$T/out"
	grep -qx 'TCPREMOTEIP=::1' "$T/out"
	grep -qx 'TCPLOCALIP=::1' "$T/out"
}

@test "exec: stderr goes to the log with the connection id, never to the client; 10 MB of it stays bounded" {
	script both.sh 'echo "to the client"; echo "to the log, with a tab	and \033[31m" >&2; head -c 10000000 /dev/zero | tr "\0" x >&2; echo done'
	exec_config "\"$T/both.sh\"" 'log_data_limit = 2048'
	start_daemon
	run talk </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = "to the client
done" ]
	wait_log 'access service=svc .*exit=0'
	id=$(last_access | sed -nE 's/.* id=([0-9-]+) .*/\1/p')
	log_has "service svc: id=$id pid=[0-9]+ stderr: to the log, with a tab\\\\tand \\\\x1b\[31m"
	log_has "service svc: id=$id: [0-9]+ more bytes of stderr not logged \(log_data_limit = 2048\)"
	[ "$(stat -c %s "$LOG")" -lt 40000 ]
}

@test "exec: the access line has exit=N, signal=NAME and core" {
	script exit3.sh 'exit 3'
	local port_b port_c
	port_b=$(free_port)
	port_c=$(free_port)
	cat >"$CONF" <<CONF
log_level = "debug"
service a {
	listen = {"127.0.0.1:$PORT"}
	protocol = "exec"
	command = {"$T/exit3.sh"}
	workers = 1
}
service b {
	listen = {"127.0.0.1:$port_b"}
	protocol = "exec"
	command = {"/bin/sh", "-c", "kill -USR1 \$\$"}
	workers = 1
}
service c {
	listen = {"127.0.0.1:$port_c"}
	protocol = "exec"
	command = {"/bin/sh", "-c", "kill -SEGV \$\$"}
	limit_core = 0
	workers = 1
}
CONF
	start_daemon
	talk </dev/null
	talk x "$port_b" </dev/null
	talk x "$port_c" </dev/null
	wait_log 'access service=a .*end=closed .*pid=[0-9]+ exit=3$'
	wait_log 'access service=b .*pid=[0-9]+ signal=USR1$'
	wait_log 'access service=c .*pid=[0-9]+ signal=SEGV$'
	# An ordinary end, not a worker's failure: nothing respawned.
	[ "$(log_count 'spawned worker')" -eq 3 ]
}

@test "exec: a command that is gone is logged once per back-off, its clients closed, the service throttled" {
	cp /bin/true "$T/prog"
	exec_config "\"$T/prog\""
	start_daemon
	rm "$T/prog"
	for i in 1 2 3 4 5 6; do
		TALK_TIMEOUT=2 talk </dev/null || true
	done
	wait_log "service svc: cannot start $T/prog \(execve\): No such file or directory"
	log_has 'access service=svc .*end=error .*pid=0 exit=-'
	log_has 'worker [0-9]+ \(service svc\) exited with status 1'
	# Throttled: fewer starts than clients, each logged once.
	n=$(log_count 'cannot start')
	[ "$n" -ge 1 ]
	[ "$n" -le "$(log_count 'spawned worker')" ]
	refute log_has 'exit=127'
}

# A program that never ends, and its grandchild holding the socket.
forever() {
	script forever.sh 'sleep 1000 & echo "grandchild $!"; exec sleep 1000'
}

pids_gone() {
	local p
	for p in "$@"; do
		if kill -0 "$p" 2>/dev/null &&
		    [ "$(ps -o stat= -p "$p")" != Z ]; then
			return 1
		fi
	done
}

@test "exec: max_session ends a program and its grandchild; the client sees the end" {
	forever
	exec_config "\"$T/forever.sh\"" 'max_session = 1
	idle_timeout = 0'
	start_daemon
	run talk </dev/null
	[[ "$output" == "grandchild "* ]]
	gc=${output#grandchild }
	wait_log 'access service=svc .*end=session_limit .*signal=TERM'
	pid=$(last_access | sed -nE 's/.* pid=([0-9]+) .*/\1/p')
	wait_until pids_gone "$gc" "$pid"
}

@test "exec: idle_timeout ends a silent program, whoever holds the socket" {
	forever
	exec_config "\"$T/forever.sh\"" 'idle_timeout = 1'
	start_daemon
	SECONDS=0
	run talk </dev/null
	[ "$SECONDS" -le 4 ]
	gc=${output#grandchild }
	wait_log 'access service=svc .*end=timeout .*signal=TERM'
	wait_until pids_gone "$gc"
}

@test "exec: kill_timeout: a program that ignores SIGTERM gets SIGKILL" {
	exec_config '"/bin/sh", "-c", "trap \"\" TERM; echo up; while :; do sleep 0.1; done"' 'max_session = 1'
	start_daemon
	run talk </dev/null
	[ "$output" = up ]
	wait_log 'access service=svc .*end=session_limit .*signal=KILL'
}

@test "exec: SIGTERM to the master ends every program; SIGKILL of a worker takes its program down" {
	forever
	exec_config "\"$T/forever.sh\"" 'idle_timeout = 0
	max_session = 0'
	start_daemon
	open_client c1
	wait_until client_saw c1 grandchild
	gc1=$(sed -n 's/^grandchild //p' "$T/c1.out")
	worker=$(worker_pids | head -n 1)
	kill -KILL "$worker"
	wait_until pids_gone "$gc1"
	wait_log 'killed process group [0-9]+, left over from a worker that died'
	wait_until has_workers 1
	open_client c2
	wait_until client_saw c2 grandchild
	gc2=$(sed -n 's/^grandchild //p' "$T/c2.out")
	kill -TERM "$DPID"
	wait_until pids_gone "$gc2" "$DPID"
	log_has 'access service=svc .*end=shutdown .*signal=TERM'
}

@test "exec: SIGQUIT lets a serving program finish; its client gets the whole answer" {
	# shellcheck disable=SC2016 # $line is the program's
	exec_config '"/bin/sh", "-c", "read line; sleep 0.5; echo \"answer to $line\""'
	start_daemon
	open_client c1
	send_line c1 question
	wait_until log_has 'id=[0-9-]+ pid=|busy'
	sleep 0.1
	kill -QUIT "$DPID"
	wait_until client_saw c1 "answer to question"
	wait_until_gone "$DPID"
	log_has 'access service=svc .*end=closed .*exit=0'
}

@test "exec: -s status shows the worker busy with its client, and the program's pid" {
	exec_config '"/bin/sh", "-c", "echo up; exec sleep 1000"' 'idle_timeout = 0'
	start_daemon
	open_client c1
	wait_until client_saw c1 up
	run "$PREFORKD" -s status -p "$PIDFILE"
	[[ "$output" =~ state=busy\ client=-?[^\ ]*\ time=[0-9.]+s\ .*served=0\ program=([0-9]+) ]]
	prog=${BASH_REMATCH[1]}
	[ "$(tr '\0' ' ' <"/proc/$prog/cmdline")" = "sleep 1000 " ]
}

@test "exec: at workers = max_workers = 2 a third client waits, then is served" {
	# shellcheck disable=SC2016 # $line is the program's
	exec_config '"/bin/sh", "-c", "read line; echo \"got $line\""' 'workers = 2
	max_workers = 2'
	start_daemon
	open_client c1
	open_client c2
	open_client c3
	send_line c3 three
	sleep 0.3
	refute client_saw c3 "got three"
	send_line c1 one
	wait_until client_saw c1 "got one"
	wait_until client_saw c3 "got three"
	send_line c2 two
	wait_until client_saw c2 "got two"
	refute log_has 'refused'
}

@test "exec as root: the program runs as the service's user, with no_new_privs" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	exec_config '"/bin/sh", "-c", "id -un; grep NoNewPrivs /proc/self/status; grep Groups /proc/self/status"' 'user = "nobody"' 'user = "root"'
	start_daemon
	run talk </dev/null
	[[ "$output" == "nobody"* ]]
	[[ "$output" == *"NoNewPrivs:	1"* ]]
	# The worker itself runs as the service's user, not the global one.
	worker=$(worker_pids | head -n 1)
	[ "$(stat -c %U "/proc/$worker")" = nobody ]
}

@test "exec: git daemon --inetd serves clone and ls-remote, four clones at once" {
	need_tool git git
	git init -q --bare "$T/srv/repo.git"
	git init -q "$T/work"
	git -C "$T/work" -c user.name=t -c user.email=t@t commit -q --allow-empty -m first
	git -C "$T/work" push -q "$T/srv/repo.git" HEAD:refs/heads/main
	chmod -R a+rX "$T/srv"
	exec_config "\"$(command -v git)\", \"daemon\", \"--inetd\", \"--export-all\", \"--base-path=$T/srv\"" 'workers = 4
	env = {"HOME=/nonexistent", "GIT_CONFIG_COUNT=1",
	    "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*"}'
	start_daemon
	run git ls-remote "git://127.0.0.1:$PORT/repo.git"
	[ "$status" -eq 0 ]
	[[ "$output" == *"refs/heads/main"* ]]
	pids=""
	for i in 1 2 3 4; do
		git clone -q -b main "git://127.0.0.1:$PORT/repo.git" "$T/clone$i" 3>&- &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p"
	done
	for i in 1 2 3 4; do
		[ "$(git -C "$T/clone$i" log --format=%s)" = first ]
	done
	[ "$(log_count 'access service=svc .*exit=0')" -eq 5 ]
}

@test "exec: rsync --daemon in inetd mode serves the rsync client" {
	need_tool rsync rsync
	mkdir -p "$T/share"
	echo "some data" >"$T/share/file.txt"
	chmod -R a+rX "$T/share"
	cat >"$T/rsyncd.conf" <<RSYNC
use chroot = no
[share]
	path = $T/share
	read only = yes
RSYNC
	chmod 644 "$T/rsyncd.conf"
	exec_config "\"$(command -v rsync)\", \"--daemon\", \"--config=$T/rsyncd.conf\""
	start_daemon
	rsync -q "rsync://127.0.0.1:$PORT/share/file.txt" "$T/got.txt"
	[ "$(cat "$T/got.txt")" = "some data" ]
	wait_log 'access service=svc .*exit=0'
}

# PTRACE_TRACEME from the program: "RESULT ERRNO".
ptrace_probe='"/usr/bin/python3", "-c", "import ctypes; c = ctypes.CDLL(None, use_errno=True); r = c.ptrace(0, 0, 0, 0); print(r, ctypes.get_errno())"'

@test "exec: the program cannot ptrace (the sandbox's deny-list), unless sandbox = off" {
	[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
	exec_config "$ptrace_probe"
	start_daemon
	run talk </dev/null
	[ "$output" = "-1 1" ] # EPERM
	stop_daemon
	exec_config "$ptrace_probe" 'sandbox = "off"'
	start_daemon
	run talk </dev/null
	[ "$output" = "0 0" ]
}
