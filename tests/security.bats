#!/usr/bin/env bats
# Who runs as whom, and who owns the log (preforkd(8), PRIVILEGES and LOG
# FILES): workers of a root master are nobody unless told otherwise, the
# master opens every log file itself -- root's, never chown()ed, never
# through a symbolic link -- and workers only inherit the descriptors.
# The soft limit on open files is raised, and a hard one too small for a
# worker's listeners and a client stops the start.

# Each test runs in a subshell of its own: a test that points LOG at
# another file does so for itself and its teardown alone.
# shellcheck disable=SC2030,SC2031

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
}
teardown() { common_teardown; }



# field_of PID Uid|Gid|Groups: the line of /proc/PID/status, values only.
field_of() {
	sed -nE "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s '\t ' ' ' |
	    sed 's/ $//'
}

# Every worker of svc has that field; and there is at least one.
workers_have() {
	local pid n=0
	for pid in $(worker_pids); do
		[ "$(field_of "$pid" "$1")" = "$2" ] || return 1
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}

@test "started as root without user: workers run as nobody, said in the log; user = root keeps root" {
	needs_root
	needs_nobody
	local uid gid
	uid=$(id -u nobody)
	gid=$(id -g nobody)
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	wait_until has_workers 2
	workers_have Uid "$uid $uid $uid $uid"
	workers_have Gid "$gid $gid $gid $gid"
	workers_have Groups "$gid"
	[ "$(field_of "$DPID" Uid)" = "0 0 0 0" ]
	log_has "master: notice: user is not set: workers run as nobody \(uid $uid, gid $gid\); user = \"root\" keeps them root$"
	run talk <<<"as nobody"
	[ "$output" = "as nobody" ]
	# Root workers are there for the asking, by name.
	write_config 'protocol = "echo"
	workers = 2' 'user = "root"'
	reload
	wait_log "reloaded $CONF: generation 2"
	wait_until workers_have Uid "0 0 0 0"
	[ "$(worker_count)" -eq 2 ]
}

@test "group with user = root is honoured: root workers in that group alone" {
	needs_root
	local gid
	gid=$(getent group daemon | cut -d: -f3) || skip "no group daemon"
	write_config 'protocol = "echo"
	workers = 2' 'user = "root"
group = "daemon"'
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 0 ]
	start_daemon
	wait_until has_workers 2
	workers_have Uid "0 0 0 0"
	workers_have Gid "$gid $gid $gid $gid"
	workers_have Groups "$gid"
	run talk <<<"in group daemon"
	[ "$output" = "in group daemon" ]
}

# A log in a directory of its own that everyone can reach, as
# /var/log/preforkd is, with workers running as nobody.
start_with_log_dir() {
	chmod 755 "$T"
	mkdir -m 755 "$T/logs"
	LOG="$T/logs/preforkd.log"
	write_config 'protocol = "echo"
	workers = 2' "user = \"nobody\"
log = \"$LOG\""
	# The daemon creates the file: stderr goes elsewhere.
	"$PREFORKD" -f -c "$CONF" -p "$PIDFILE" >>"$T/stderr" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
}

# as_nobody CMD...: run a shell command as the workers' user.
as_nobody() {
	setpriv --reuid nobody --regid "$(id -g nobody)" --clear-groups \
	    sh -c "$1" 2>&1
}

@test "the log file is root's, 0640: the workers' user cannot open it" {
	needs_root
	needs_nobody
	need_tool setpriv util-linux
	start_with_log_dir
	[ "$(stat -c '%U %a' "$LOG")" = "root 640" ]
	run ! log_has "may write to its directory"
	run talk <<<"hi"
	wait_log "access service=svc "
	# Workers write through the descriptor they inherited, but nobody
	# can open the file by its path: not to append, not to truncate.
	run as_nobody ": >>'$LOG'"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	log_has "access service=svc "
	# A reopen hands the new file to new workers without a chown.
	mv "$LOG" "$LOG.1"
	kill -USR1 "$DPID"
	wait_until [ -f "$LOG" ]
	wait_log "log reopened: generation 2 takes over"
	[ "$(stat -c '%U %a' "$LOG")" = "root 640" ]
	[ "$(stat -c '%U' "$LOG.1")" = root ]
}

@test "a log directory the workers may write to is warned about at start" {
	needs_root
	needs_nobody
	chmod 755 "$T"
	mkdir -m 755 "$T/logs"
	chown nobody "$T/logs"
	LOG="$T/logs/preforkd.log"
	write_config 'protocol = "echo"' "user = \"nobody\"
log = \"$LOG\""
	"$PREFORKD" -f -c "$CONF" -p "$PIDFILE" >>"$T/stderr" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	log_has "master: warning: log $LOG: the workers \(uid $(id -u nobody), gid $(id -g nobody)\) may write to its directory, and so put a file of theirs in its place at the next rotation: keep the directory root's$"
}

@test "a symlink planted where the log was: reopen refuses it, no file changes owner or content" {
	needs_root
	needs_nobody
	start_with_log_dir
	# A file of root's that a worker would like to own or write.
	echo "secret" >"$T/victim"
	chmod 600 "$T/victim"
	local before link="$LOG"
	before=$(stat -c '%U %G %a %s' "$T/victim")
	LOG="$LOG.1"
	mv "$link" "$LOG"
	ln -s "$T/victim" "$link"
	run "$PREFORKD" -s reopen -p "$PIDFILE"
	[ "$status" -eq 0 ]
	wait_log "master: error: reopen log $link: it is a symbolic link, which is never followed; still writing to the file already open$"
	[ "$(stat -c '%U %G %a %s' "$T/victim")" = "$before" ]
	[ "$(cat "$T/victim")" = "secret" ]
	[ -L "$link" ]
	# Serving goes on, and lines go on to the file already open.
	run talk <<<"still here"
	[ "$output" = "still here" ]
	wait_log "access service=svc .* in=11 "
	[ "$(cat "$T/victim")" = "secret" ]
	[ "$(stat -c '%U %G %a %s' "$T/victim")" = "$before" ]
	# Nothing to turn over to: the workers are the first generation still.
	run ! log_has "generation 2"
	# -t finds it too, before a restart would.
	run "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$CONF: log $link: it is a symbolic link, which is never followed"* ]]
}

@test "a FIFO planted where the log was: reopen refuses it at once, the master goes on" {
	needs_root
	start_with_log_dir
	# $LOG stays a regular file: the helpers read it.
	local fifo="$LOG"
	LOG="$T/logs/old.log"
	mv "$fifo" "$LOG"
	mkfifo -m 666 "$fifo"
	kill -USR1 "$DPID"
	wait_log "master: error: reopen log $fifo: not a regular file or a character device; still writing to the file already open$"
	# Not stuck in open(): it still reloads and serves.
	reload
	log_has "reloaded $CONF: generation 2"
	run talk <<<"fifo"
	[ "$output" = "fifo" ]
}

# listen_list N: N distinct free loopback ports, $PORT first, as the
# inside of a listen = {...} list; the last port in $LAST_PORT.
listen_list() {
	local ports=" $PORT " p list="\"127.0.0.1:$PORT\""
	LAST_PORT="$PORT"
	while [ "$(wc -w <<<"$ports")" -lt "$1" ]; do
		p=$(free_port)
		[[ "$ports" == *" $p "* ]] && continue
		ports="$ports$p "
		list="$list, \"127.0.0.1:$p\""
		LAST_PORT="$p"
	done
	echo "$list" >"$T/listen"
}

@test "started with a soft limit on open files below the hard one: raised to it" {
	write_config 'protocol = "echo"
	workers = 1'
	prlimit --nofile=256:4096 "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" \
	    >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	wait_until has_workers 1
	grep -E "^Max open files +4096 +4096 " "/proc/$DPID/limits"
	grep -E "^Max open files +4096 +4096 " "/proc/$(worker_pids)/limits"
	log_has "master: info: open files: limit 4096, the hard limit$"
}

@test "a hard limit on open files too small for the listeners and a client: the start fails, naming the numbers" {
	listen_list 20
	cat >"$CONF" <<CONF
service svc {
	listen = {$(cat "$T/listen")}
	protocol = "echo"
	workers = 1
}
CONF
	run --separate-stderr timeout -k 1 10 prlimit --nofile=32:32 \
	    "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" 3>&-
	[ "$status" -eq 3 ]
	# shellcheck disable=SC2154 # set by run --separate-stderr
	[[ "$stderr" == *" master: error: open files: the limit (RLIMIT_NOFILE) is 32, but 20 listening socket(s), a client and 16 of preforkd's own need 37: raise the hard limit (ulimit -Hn, LimitNOFILE=)" ]]
	[ ! -e "$PIDFILE" ]
	# With room for them, the same file starts.
	prlimit --nofile=64:64 "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" \
	    >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	run talk "" "$LAST_PORT" <<<"last"
	[ "$output" = "last" ]
}

@test "a reload to more listeners than the limit on open files allows is refused, naming the numbers" {
	write_config 'protocol = "echo"
	workers = 1'
	prlimit --nofile=40:40 "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" \
	    >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	listen_list 30
	cat >"$CONF" <<CONF
log_level = "debug"
service svc {
	listen = {$(cat "$T/listen")}
	protocol = "echo"
	workers = 1
}
CONF
	reload
	log_has "master: error: open files: the limit \(RLIMIT_NOFILE\) is 40, but 30 listening socket\(s\), a client and 16 of preforkd's own need 47: raise the hard limit"
	log_has "reload failed: still running generation 1"
	run talk <<<"old config"
	[ "$output" = "old config" ]
}

@test "a reload decides the workers' user as the start does, and says so" {
	needs_root
	needs_nobody
	write_config 'protocol = "echo"' 'user = "root"'
	start_daemon
	refute log_has "user is not set"
	write_config 'protocol = "echo"'
	reload
	wait_log "reloaded $CONF: generation 2"
	log_has "master: notice: user is not set: workers run as nobody"
}
