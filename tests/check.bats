#!/usr/bin/env bats
# -t checks what start-up would trip over: directories, files and
# addresses, beside the running instance too (preforkd(8) -t).

load helpers

bats_require_minimum_version 1.5.0

setup() { common_setup; }
teardown() { common_teardown; }

@test "-t: a log or pidfile directory that does not exist fails" {
	write_config 'protocol = "echo"' "log = \"$T/no/dir/x.log\""
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$T/none/p.pid"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	echo "$stderr"
	[ "${stderr_lines[0]}" = "$CONF: log $T/no/dir/x.log: directory $T/no/dir: No such file or directory" ]
	[ "${stderr_lines[1]}" = "$CONF: pidfile $T/none/p.pid: directory $T/none: No such file or directory" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
}

@test "-t: an address another process holds fails, naming it" {
	local other="$T/other.conf"
	printf 'service o {\n\tlisten = {"127.0.0.1:%s"}\n\tprotocol = "echo"\n}\n' \
	    "$PORT" >"$other"
	"$PREFORKD" -f -c "$other" -p "$T/other.pid" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	write_config 'protocol = "echo"'
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 1 ]
	echo "$stderr"
	[ "$stderr" = "$CONF: service svc: listen 127.0.0.1:$PORT: Address already in use: preforkd pid $DPID holds it, running $other with pidfile $T/other.pid (-p $T/other.pid checks this file for it)" ]
	# As it says: with that instance's pidfile, the file is checked for
	# it (a copy, edited, to be moved over its file before a reload).
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$T/other.pid"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "-t: an address the running instance holds is fine" {
	write_config 'protocol = "echo"'
	start_daemon
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 0 ]
	[ "$output" = "$CONF: syntax ok" ]
	[ -z "$stderr" ]
}

# hold_port PORT: a python3 program listening on 127.0.0.1:PORT; its pid
# in HOLDER.
hold_port() {
	cat >"$T/listener.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening", flush=True)
time.sleep(60)
PY
	python3 "$T/listener.py" "$1" >"$T/listener.out" 3>&- &
	HOLDER=$!
	BACKGROUND="${BACKGROUND:-} $HOLDER"
	wait_until grep -qx listening "$T/listener.out"
}

@test "-t and -T beside the running instance, whatever its pidfile" {
	write_config 'protocol = "echo"'
	start_daemon
	# Neither the pidfile the daemon uses nor the file's own (the
	# default): -t finds the instance by its socket.
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$T/another.pid"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "$CONF: syntax ok" ]
	[ -z "$stderr" ]
	run --separate-stderr "$PREFORKD" -T -c "$CONF" -p "$T/another.pid"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$stderr" = "$CONF: syntax ok" ]
	[[ "$output" == *"listen = {\"127.0.0.1:$PORT\"}"* ]]
	# -T prints the pidfile that is used: -p's, not the default.
	grep -qx "pidfile = \"$T/another.pid\"" <<<"$output"
	# The pidfile does not matter to a reload: beside the instance, one
	# in a directory that does not exist is not checked (the README's
	# "-T -c etc/preforkd.conf" beside "make run", as any user).
	write_config 'protocol = "echo"' "pidfile = \"$T/no/such/dir.pid\""
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	stop_daemon
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[ "$stderr" = "$CONF: pidfile $T/no/such/dir.pid: directory $T/no/such: No such file or directory" ]
	start_daemon
	# A relative -c, from the daemon's directory, is the same file.
	cd "$T"
	run --separate-stderr "$PREFORKD" -t -c "$(basename "$CONF")" -p x.pid
	echo "$stderr"
	[ "$status" -eq 0 ]
}

@test "-t: a port another program holds is named, even beside the running instance" {
	local port2
	port2="$(free_port)"
	write_config 'protocol = "echo"'
	start_daemon
	hold_port "$port2"
	# The file as it will be reloaded: one address the daemon holds, one
	# that python3 does.
	sed -i "s|\"127.0.0.1:$PORT\"}|\"127.0.0.1:$PORT\", \"127.0.0.1:$port2\"}|" "$CONF"
	grep -q "$port2" "$CONF"
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	echo "$stderr"
	[ "$status" -eq 1 ]
	# (python3 may be a path: pyenv's shim execs one.)
	[[ "$stderr" == "$CONF: service svc: listen 127.0.0.1:$port2: Address already in use: pid $HOLDER holds it ("*"python3 $T/listener.py $port2)" ]]
	# A wildcard address clashes with it too, and says so alike.
	sed -i "s|\"127.0.0.1:$port2\"|\"*:$port2\"|" "$CONF"
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	echo "$stderr"
	[[ "$stderr" == "$CONF: service svc: listen *:$port2: Address already in use: pid $HOLDER holds it ("*"python3 $T/listener.py $port2)" ]]
}

@test "-t: a process -t cannot look into holds a port: said, and -a lets it be" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	need_tool setpriv util-linux
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	hold_port "$PORT"
	write_config 'protocol = "echo"'
	chmod 755 "$T"
	chmod 644 "$CONF"
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups "$PREFORKD" -t -c "$CONF" -p /tmp/preforkd-no.pid
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "$CONF: service svc: listen 127.0.0.1:$PORT: Address already in use, by a process of uid 0 that this user may not look into (and no preforkd holds the pidfile)" ]
	# -a: the service manager holds it (ExecStartPre of a socket unit).
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups "$PREFORKD" -t -a -c "$CONF" -p /tmp/preforkd-no.pid
	echo "$stderr"
	[ "$status" -eq 0 ]
}

# ---------------------------------------------- files start-up cannot open

@test "-t: a log, access_log or pidfile that is a directory fails" {
	mkdir "$T/log.d" "$T/access.d" "$T/pid.d"
	write_config 'protocol = "echo"' "log = \"$T/log.d\"
access_log = \"$T/access.d\""
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$T/pid.d"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "$CONF: log $T/log.d: a directory, where a log file (or a character device) is written" ]
	[ "${stderr_lines[1]}" = "$CONF: access_log $T/access.d: a directory, where a log file (or a character device) is written" ]
	[ "${stderr_lines[2]}" = "$CONF: pidfile $T/pid.d: a directory, where a regular file is written" ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	# And start-up indeed trips over each: exit 3.
	write_config 'protocol = "echo"' "log = \"$T/log.d\""
	run "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" 3>&-
	[ "$status" -eq 3 ]
	write_config 'protocol = "echo"'
	run "$PREFORKD" -f -c "$CONF" -p "$T/pid.d" 3>&-
	[ "$status" -eq 3 ]
}

@test "-t: a log that is a FIFO fails; /dev/null is fine" {
	mkfifo "$T/log.fifo"
	write_config 'protocol = "echo"' "log = \"$T/log.fifo\""
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "$CONF: log $T/log.fifo: a FIFO, where a log file (or a character device) is written" ]
	run "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" 3>&-
	[ "$status" -eq 3 ]
	write_config 'protocol = "echo"' 'access_log = "/dev/null"'
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	echo "$stderr"
	[ "$status" -eq 0 ]
}

# ------------------------------------------- what a holder says of itself

# fake_preforkd PORT CODE: python3 under the name preforkd (its command
# name, as -t tells a preforkd) holding 127.0.0.1:PORT, run as
# "preforkd -c CODE": -t reads CODE from its command line as the holder's
# configuration file.  Anyone can start one.  Its pid in HOLDER.
fake_preforkd() {
	ln -sf "$(python3 -c "import sys; print(sys.executable)")" "$T/preforkd"
	(cd "$T" && exec "$T/preforkd" -c "$2" "$1" >"$T/fake.out" 3>&-) &
	HOLDER=$!
	BACKGROUND="${BACKGROUND:-} $HOLDER"
	wait_until grep -qx listening "$T/fake.out"
}

@test "-t: what a holder's command line and files say is escaped, not printed raw" {
	# A newline and a terminal escape in the "configuration file" and in
	# the pidfile the holder holds open (its pid in it, as a master's).
	local code
	code=$(printf 'import os, socket, sys, time\nf = open(os.getcwd() + "/p\\nFORGED: syntax ok\\033[2J.pid", "w")\nf.write("%%d\\n" %% os.getpid()); f.flush()\ns = socket.socket()\ns.bind(("127.0.0.1", int(sys.argv[1])))\ns.listen()\nprint("listening", flush=True)\ntime.sleep(60)\n#\033]0;title\007\nFORGED: int = 1')
	fake_preforkd "$PORT" "$code"
	write_config 'protocol = "echo"'
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	echo "$stderr" | cat -v
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"preforkd pid $HOLDER holds it"* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	refute grep -q "^FORGED" <<<"$stderr"
	refute grep -q $'[\033\007]' <<<"$stderr"
}

@test "-t: another user's process that calls itself preforkd and claims this file is not taken for the instance" {
	needs_nobody
	# Her python3 under the name preforkd, run in a directory of hers as
	# "preforkd -c CODE": CODE, read as a path from her directory, leads
	# to this check's file through a directory she made of that name.
	chmod 711 "$T"
	mkdir "$T/her"
	chown nobody "$T/her"
	ln -s /usr/bin/python3 "$T/her/preforkd"
	local code="import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); print('listening', flush=True); time.sleep(60) #"
	setpriv --reuid=nobody --regid=nogroup --clear-groups mkdir "$T/her/$code"
	write_config 'protocol = "echo"'
	chmod 644 "$CONF"
	(cd "$T/her" && exec setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups "$T/her/preforkd" -c "$code/../../$(basename "$CONF")" \
	    "$PORT" >"$T/fake.out" 3>&-) &
	BACKGROUND="${BACKGROUND:-} $!"
	wait_until grep -qx listening "$T/fake.out"
	run --separate-stderr "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"listen 127.0.0.1:$PORT: Address already in use"* ]]
}
