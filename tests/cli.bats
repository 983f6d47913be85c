#!/usr/bin/env bats
# The command line as an operator meets it: options, -t, -s, daemon mode,
# the pidfile, start-up failures and their exit statuses (preforkd(8)).

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	MASTER_PID=""
	DECOY_PID=""
}

teardown() {
	stop_detached
	if [ -n "$DECOY_PID" ]; then
		# flock's command is its child: stop both.
		pkill -KILL -P "$DECOY_PID" 2>/dev/null || true
		kill -KILL "$DECOY_PID" 2>/dev/null || true
		wait "$DECOY_PID" 2>/dev/null || true
	fi
	common_teardown
}

# Bounded wait until a process is gone; 1 if it is still there.
wait_gone() {
	local deadline=$((SECONDS + ${2:-5}))
	until is_gone "$1"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# A detached master is not our child, so DPID and stop_daemon miss it: stop
# what the pidfile (or the test) names, TERM then KILL, bounded, and only
# if it is a preforkd.
stop_detached() {
	local pid pids="${MASTER_PID:-}"
	[ -n "${PIDFILE:-}" ] && [ -f "$PIDFILE" ] &&
	    pids="$pids $(head -c 32 "$PIDFILE" 2>/dev/null)"
	for pid in $pids; do
		[[ "$pid" =~ ^[0-9]+$ ]] || continue
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = preforkd ] || continue
		[ -n "$DPID" ] && [ "$pid" = "$DPID" ] && continue
		kill -TERM "$pid" 2>/dev/null || true
		wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 2 || echo "detached master $pid outlived its KILL" >&2
	done
	MASTER_PID=""
}

# Start in daemon mode (no -f) with $CONF and $PIDFILE; the status is in
# $rc, stdout and stderr in $T/daemon.out.  Bounded: a parent that never
# hears "ready" is killed.  fd 3 is bats' own and must not be inherited.
start_detached() {
	rc=0
	timeout -k 1 10 "$PREFORKD" -c "$CONF" -p "$PIDFILE" "$@" \
	    >"$T/daemon.out" 2>&1 3>&- || rc=$?
	if [ -f "$PIDFILE" ]; then
		MASTER_PID="$(head -c 32 "$PIDFILE")"
	fi
}

# A daemon-mode config: log to a file of its own.
write_daemon_config() {
	LOG="$T/log"
	write_config "${1:-protocol = \"echo\"
	workers = 2}" "log = \"$LOG\""
}


# For wait_until: the detached master has N workers of service svc.
detached_workers_are() {
	[ "$(worker_pids svc "$MASTER_PID" | wc -l)" -eq "$1" ]
}

USAGE_RE='^usage: preforkd \[-f\] \[-t \| -T\] \[-a\] \[-c file\] \[-p pidfile\] \[-s stop\|quit\|reload\|reopen\|upgrade\|status\] \[-w seconds\] \[-V\] \[-h\]$'

# ---------------------------------------------------------------- options

@test "-V prints the version on stdout and exits 0" {
	run --separate-stderr "$PREFORKD" -V
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^preforkd\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	[ -z "$stderr" ]
}

@test "-h prints the usage on stdout and exits 0" {
	run --separate-stderr "$PREFORKD" -h
	[ "$status" -eq 0 ]
	[[ "$output" =~ $USAGE_RE ]]
	[ -z "$stderr" ]
}

@test "an unknown option exits 2 with the usage on stderr" {
	run --separate-stderr "$PREFORKD" -x
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[[ "${stderr_lines[0]}" == *"invalid option -- 'x'" ]]
	[[ "${stderr_lines[1]}" =~ $USAGE_RE ]]
}

@test "a stray argument exits 2 with the usage on stderr" {
	run --separate-stderr "$PREFORKD" -f stray
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[ "${stderr_lines[0]}" = 'preforkd: unexpected argument "stray"' ]
	[[ "${stderr_lines[1]}" =~ $USAGE_RE ]]
}

@test "-s with an unknown signal name exits 2" {
	run --separate-stderr "$PREFORKD" -s bogus -p "$PIDFILE"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "preforkd: -s bogus: expected one of stop|quit|reload|reopen|upgrade|status" ]
}

# usage_error MESSAGE ARGS...: preforkd ARGS exits 2, saying MESSAGE, then
# the usage; it reads no file and signals nobody.
usage_error() {
	local message="$1"
	shift
	run --separate-stderr "$PREFORKD" "$@"
	echo "$stderr"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[ "${stderr_lines[0]}" = "preforkd: $message" ]
	[[ "${stderr_lines[1]}" =~ $USAGE_RE ]]
}

@test "options that do not go together exit 2, saying which" {
	write_config 'protocol = "echo"'
	local tT="-t and -T together: -T checks as -t does, then prints the configuration; give one"
	usage_error "$tT" -t -T -c "$CONF"
	usage_error "$tT" -T -t -c "$CONF"
	usage_error "$tT" -tT -c "$CONF"
	usage_error "-w without -s: it is how long -s waits for the outcome" \
	    -w 5 -c "$CONF" -p "$PIDFILE"
	usage_error "-w without -s: it is how long -s waits for the outcome" \
	    -t -w 5 -c "$CONF"
	usage_error "-s and -t together: give one" -s reload -t -p "$PIDFILE"
	usage_error "-s and -T together: give one" -T -s status -p "$PIDFILE"
	usage_error "-a without -t or -T: it says how -t takes an address in use" \
	    -a -f -c "$CONF" -p "$PIDFILE"
	# Nothing was started by any of them.
	[ ! -e "$PIDFILE" ]
	run "$PFCLIENT" -b 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	# What goes together still does: -t twice, -w with -s.
	run "$PREFORKD" -t -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 0 ]
	run "$PREFORKD" -T -a -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 0 ]
	run "$PREFORKD" -s status -w 1 -p "$PIDFILE"
	[ "$status" -ne 2 ]
}

# --------------------------------------------------------------------- -t

@test "-t on a good config prints 'FILE: syntax ok', exits 0, starts nothing" {
	write_config 'protocol = "echo"' "log = \"$T/tlog\""
	run --separate-stderr timeout 10 "$PREFORKD" -t -c "$CONF" -p "$PIDFILE"
	[ "$status" -eq 0 ]
	[ "$output" = "$CONF: syntax ok" ]
	[ -z "$stderr" ]
	# Nothing bound, no pidfile, no log file.
	run "$PFCLIENT" -b 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[ ! -e "$PIDFILE" ]
	[ ! -e "$T/tlog" ]
}

# broken EXPECTED_LINE WORD: stdin is the config; -t must exit 1 with one
# line "$CONF:LINE: ...WORD...".
broken() {
	local line="$1" word="$2"
	cat >"$CONF"
	run --separate-stderr "$PREFORKD" -t -c "$CONF"
	if [ "$status" -ne 1 ] || [ -n "$output" ] ||
	    [ "${#stderr_lines[@]}" -ne 1 ] ||
	    [[ "$stderr" != "$CONF:$line: "*"$word"* ]]; then
		echo "case \"$word\" (line $line): status $status" >&2
		echo "stdout: $output" >&2
		echo "stderr: $stderr" >&2
		echo "config:" >&2
		cat -n "$CONF" >&2
		return 1
	fi
}

@test "-t on broken configs prints FILE:LINE: message and exits 1" {
	broken 2 "no such option 'colour'" <<CONF
log_level = "debug"
colour = "red"
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
}
CONF
	broken 4 "no such option 'colour'" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	colour = "red"
}
CONF
	broken 4 "invalid integer value for option 'workers'" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	workers = "x"
}
CONF
	broken 4 "workers = 0 is out of range (1 to 1024)" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 0
}
CONF
	broken 5 "buffer_size = 1048577 is out of range" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"

	buffer_size = 1048577
}
CONF
	broken 3 'unknown protocol "gopher"' <<CONF
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "gopher"
}
CONF
	broken 4 'unknown framing "lines" (expected chunk or line)' <<CONF
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "prefix"
	framing = "lines"
}
CONF
	broken 4 'deny "10.0.0.1/8": bits set beyond the /8 prefix' <<CONF
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	deny = {"10.0.0.1/8"}
}
CONF
	broken 2 "port must be a number from 1 to 65535" <<CONF
service svc {
	listen = {"127.0.0.1:99999"}
	protocol = "echo"
}
CONF
	broken 2 '"localhost" is not a numeric IPv4 address' <<CONF
service svc {
	listen = {"localhost:80"}
	protocol = "echo"
}
CONF
	broken 5 "duplicate title 'svc'" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
}
service svc {
	listen = {"127.0.0.2:$PORT"}
	protocol = "echo"
}
CONF
	broken 8 "service b: listen \"127.0.0.1:$PORT\" clashes with \"*:$PORT\" of service a" <<CONF
service a {
	listen = {"*:$PORT"}
	protocol = "echo"
}
service b {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
}
CONF
	broken 3 "service svc: no listen address" <<CONF
service svc {
	protocol = "echo"
}
CONF
	broken 3 "service svc: no protocol" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT"}
}
CONF
	broken 1 'pidfile "run/preforkd.pid" must be an absolute path' <<CONF
pidfile = "run/preforkd.pid"
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
}
CONF
	broken 1 'access_log "stderr" must be an absolute path' <<CONF
access_log = "stderr"
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
}
CONF
}

@test "-t line numbers count a comment line once" {
	broken 4 "workers = 0 is out of range" <<CONF
# one comment line
service svc {
	listen = {"127.0.0.1:$PORT"}
	workers = 0
	protocol = "echo"
}
CONF
	broken 4 "no such option 'colour'" <<CONF
// one comment line, the other style
service svc {
	listen = {"127.0.0.1:$PORT"} # and a trailing one
	colour = "red"
	protocol = "echo"
}
CONF
}

@test "-t on a missing config file exits 1 naming the path" {
	run --separate-stderr "$PREFORKD" -t -c "$T/missing.conf"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "$T/missing.conf: cannot read: No such file or directory" ]
}

# ------------------------------------------------------------ daemon mode

@test "daemon mode returns 0 once listening; the pidfile holds the master" {
	write_daemon_config
	start_detached
	[ "$rc" -eq 0 ]
	# Served at once: no wait between the shell's prompt and the service.
	run talk <<<"first"
	[ "$status" -eq 0 ]
	[ "$output" = "first" ]
	local pid
	pid="$(cat "$PIDFILE")"
	[[ "$pid" =~ ^[0-9]+$ ]]
	[ "$pid" = "$MASTER_PID" ]
	log_has "preforkd\[$pid\] master: notice: started: 1 service\(s\)"
	# It is the master: alive, in a session of its own, parent of the
	# workers.
	run ! is_gone "$pid"
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ]
	wait_until has_workers 2 svc "$pid"
}

@test "-s stop stops a daemon-mode master and removes the pidfile" {
	write_daemon_config
	start_detached
	[ "$rc" -eq 0 ]
	local pid="$MASTER_PID"
	[ -n "$pid" ]
	run --separate-stderr "$PREFORKD" -s stop -p "$PIDFILE"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	wait_gone "$pid" 10
	[ ! -e "$PIDFILE" ]
	log_has "master: notice: received TERM: stopping now"
	log_has "preforkd\[$pid\] master: notice: stopped"
	run "$PFCLIENT" -b 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
}

@test "started with descriptors 0, 1 and 2 closed, it logs, locks and listens as usual" {
	write_daemon_config
	rc=0
	timeout -k 1 10 "$PREFORKD" -c "$CONF" -p "$PIDFILE" <&- >&- 2>&- 3>&- ||
	    rc=$?
	[ "$rc" -eq 0 ]
	MASTER_PID="$(head -c 32 "$PIDFILE")"
	wait_until detached_workers_are 2
	run talk <<<"still served"
	[ "$output" = "still served" ]
	# The log got its lines, not /dev/null or a socket.
	wait_log "master: notice: started"
	wait_log "access service=svc "
	# The pidfile is still locked and the port still held: a second
	# instance is refused.
	run --separate-stderr timeout -k 1 10 "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" 3>&-
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"pidfile $PIDFILE is locked: preforkd is already running as pid $MASTER_PID" ]]
	run "$PFCLIENT" -b 127.0.0.1 "$PORT"
	[ "$status" -ne 0 ]
}

@test "daemon mode with relative -c and -p still reloads and stops" {
	write_daemon_config
	cd "$T"
	rc=0
	timeout -k 1 10 "$PREFORKD" -c "$(basename "$CONF")" -p rel.pid \
	    >"$T/daemon.out" 2>&1 3>&- || rc=$?
	[ "$rc" -eq 0 ]
	MASTER_PID="$(cat "$T/rel.pid")"
	# It left the directory it was started in, and still finds its files.
	[ "$(readlink "/proc/$MASTER_PID/cwd")" = / ]
	run "$PREFORKD" -s reload -p rel.pid
	[ "$status" -eq 0 ]
	wait_log "master: notice: reloaded $CONF: generation 2"
	run "$PREFORKD" -s stop -p rel.pid
	[ "$status" -eq 0 ]
	wait_gone "$MASTER_PID" 10
	[ ! -e "$T/rel.pid" ]
}

@test "daemon mode lets go of the caller's stdout and stderr" {
	write_daemon_config 'protocol = "echo"
	workers = 1'
	start_detached
	[ "$rc" -eq 0 ]
	local before pid
	before="$(stat -c %s "$T/daemon.out")"
	# A connection after the parent returned: its access line goes to the
	# log file only, never to the terminal the daemon was started from.
	run talk <<<"quiet"
	[ "$output" = "quiet" ]
	wait_log "access service=svc "
	[ "$(stat -c %s "$T/daemon.out")" -eq "$before" ]
	for pid in "$MASTER_PID" $(worker_pids svc "$MASTER_PID"); do
		[ "$(readlink "/proc/$pid/fd/1")" = /dev/null ]
		[ "$(readlink "/proc/$pid/fd/2")" = /dev/null ]
	done
}

@test "daemon mode holds no descriptor the caller left open" {
	write_daemon_config 'protocol = "echo"
	workers = 2'
	local extra pid held=""
	exec {extra}>"$T/extra"
	start_detached
	exec {extra}>&-
	[ "$rc" -eq 0 ]
	wait_until detached_workers_are 2
	for pid in "$MASTER_PID" $(worker_pids svc "$MASTER_PID"); do
		if find "/proc/$pid/fd" -lname "$T/extra" | grep -q .; then
			held="$held $pid"
		fi
	done
	echo "holding $T/extra:$held"
	[ -z "$held" ]
}

# ---------------------------------------------------------------------- -s

@test "-s reload and -s reopen reach the master" {
	write_config 'protocol = "echo"' "pidfile = \"$PIDFILE\""
	start_daemon
	# The pidfile named in the config, as the init script would use it.
	run --separate-stderr "$PREFORKD" -s reload -c "$CONF"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	wait_log "master: notice: received HUP: reloading $CONF"
	wait_log "master: notice: reloaded $CONF: generation 2"
	run --separate-stderr "$PREFORKD" -s reopen -p "$PIDFILE"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	wait_log "master: notice: received USR1: reopening the log"
	run talk <<<"still"
	[ "$output" = "still" ]
}

# One connection, then: has the new log an access line yet?
new_log_has_access() {
	talk <<<"after" >/dev/null
	grep -qE "worker svc#[0-9]+: info: access service=svc " "$LOG"
}

@test "-s reopen after the log is renamed writes to a new log file" {
	write_daemon_config 'protocol = "echo"
	workers = 1'
	start_detached
	[ "$rc" -eq 0 ]
	wait_log "worker svc#1: debug: started"
	mv "$LOG" "$T/log.1"
	run "$PREFORKD" -s reopen -p "$PIDFILE"
	[ "$status" -eq 0 ]
	wait_until grep -q "master: notice: received USR1: reopening the log" \
	    "$T/log.1"
	wait_until [ -f "$LOG" ]
	# New workers with the new file take over; a client an old one was
	# serving may still be logged in log.1, the next ones are not.
	wait_until new_log_has_access
	# The master writes to the new file too.
	run "$PREFORKD" -s reopen -p "$PIDFILE"
	[ "$status" -eq 0 ]
	wait_log "preforkd\[$MASTER_PID\] master: notice: received USR1: reopening the log"
}

@test "-s stop without a pidfile exits 4 and says why" {
	run --separate-stderr "$PREFORKD" -s stop -p "$T/none.pid"
	[ "$status" -eq 4 ]
	[ -z "$output" ]
	[ "$stderr" = "preforkd: pidfile $T/none.pid (is preforkd running?): No such file or directory" ]
}

@test "-s stop with a stale pidfile exits 4 and signals nobody" {
	# A live process whose pid is in a pidfile nobody has locked.
	sleep 30 3>&- &
	DECOY_PID=$!
	echo "$DECOY_PID" >"$PIDFILE"
	run --separate-stderr "$PREFORKD" -s stop -p "$PIDFILE"
	[ "$status" -eq 4 ]
	[ -z "$output" ]
	[ "$stderr" = "preforkd: pidfile $PIDFILE is stale: preforkd is not running" ]
	sleep 0.2
	run ! is_gone "$DECOY_PID"
	rm -f "$PIDFILE"
}

@test "-s signals only a preforkd master, not whatever holds the pidfile's lock" {
	# Another program holds the lock and wrote its own pid.
	flock "$PIDFILE" sleep 30 3>&- &
	DECOY_PID=$!
	wait_until pidfile_locked
	echo "$DECOY_PID" >"$PIDFILE"
	run --separate-stderr "$PREFORKD" -s stop -p "$PIDFILE"
	[ "$status" -eq 4 ]
	[ "$stderr" = "preforkd: pidfile $PIDFILE: pid $DECOY_PID is not a preforkd master" ]
	sleep 0.2
	run ! is_gone "$DECOY_PID"
}

# Someone holds a lock on $PIDFILE (/proc/locks names its inode).
pidfile_locked() {
	local inode
	inode=$(stat -c %i "$PIDFILE" 2>/dev/null) || return 1
	awk -v ino="$inode" '{ n = split($6, f, ":") } f[n] == ino { found = 1 }
	    END { exit !found }' /proc/locks
}

# -------------------------------------------------------------- start-up

@test "a second instance on the same pidfile is refused with exit 3" {
	write_config 'protocol = "echo"'
	start_daemon
	run --separate-stderr timeout -k 1 10 "$PREFORKD" -f -c "$CONF" \
	    -p "$PIDFILE" 3>&-
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *" master: error: pidfile $PIDFILE is locked: preforkd is already running as pid $DPID" ]]
	# The first one is untouched: its pidfile and its service.
	[ "$(cat "$PIDFILE")" = "$DPID" ]
	run talk <<<"first still serving"
	[ "$output" = "first still serving" ]
}

# A second config on the same port, its own pidfile and log.
write_second_config() {
	cat >"$T/second.conf" <<CONF
log = "$T/second.log"
service other {
	listen = {$1}
	protocol = "echo"
}
CONF
}

@test "a port in use is reported and exits 3 (foreground)" {
	write_config 'protocol = "echo"'
	start_daemon
	write_second_config "\"127.0.0.1:$PORT\""
	run --separate-stderr timeout -k 1 10 "$PREFORKD" -f -c "$T/second.conf" \
	    -p "$T/second.pid" 3>&-
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *" master: error: bind 127.0.0.1:$PORT: Address already in use" ]]
	[ ! -e "$T/second.pid" ]
	run talk <<<"first"
	[ "$output" = "first" ]
}

@test "a port in use is reported and exits 3 (daemon mode), nothing left" {
	write_config 'protocol = "echo"'
	start_daemon
	write_second_config "\"127.0.0.1:$PORT\""
	local rc2=0
	timeout -k 1 10 "$PREFORKD" -c "$T/second.conf" -p "$T/second.pid" \
	    >"$T/second.out" 2>&1 3>&- || rc2=$?
	[ "$rc2" -eq 3 ]
	grep -q " master: error: bind 127.0.0.1:$PORT: Address already in use$" \
	    "$T/second.out"
	grep -q " master: error: bind 127.0.0.1:$PORT: Address already in use$" \
	    "$T/second.log"
	[ ! -e "$T/second.pid" ]
	[ -z "$(pgrep -f -- "$T/second.conf")" ]
	run ! grep -q "spawned worker" "$T/second.log"
	run talk <<<"first"
	[ "$output" = "first" ]
}

@test "a start-up failure in daemon mode leaves no pidfile behind" {
	# 1. The second of two addresses is taken: the first is bound, then
	#    let go again.
	local free
	free="$(free_port)"
	write_config 'protocol = "echo"'
	start_daemon
	write_second_config "\"127.0.0.1:$free\", \"127.0.0.1:$PORT\""
	local rc2=0
	timeout -k 1 10 "$PREFORKD" -c "$T/second.conf" -p "$T/second.pid" \
	    >"$T/second.out" 2>&1 3>&- || rc2=$?
	[ "$rc2" -eq 3 ]
	grep -q "bind 127.0.0.1:$PORT: Address already in use$" "$T/second.out"
	[ ! -e "$T/second.pid" ]
	[ -z "$(pgrep -f -- "$T/second.conf")" ]
	run "$PFCLIENT" -b 127.0.0.1 "$free"
	[ "$status" -eq 0 ]
	# 2. The log file cannot be opened.
	PORT="$free"
	write_config 'protocol = "echo"' "log = \"$T/no/such/dir/log\""
	rc2=0
	timeout -k 1 10 "$PREFORKD" -c "$CONF" -p "$T/third.pid" \
	    >"$T/third.out" 2>&1 3>&- || rc2=$?
	[ "$rc2" -eq 3 ]
	grep -q "master: error: log $T/no/such/dir/log: No such file or directory$" \
	    "$T/third.out"
	[ ! -e "$T/third.pid" ]
	[ -z "$(pgrep -f -- "$T/third.pid")" ]
}

# ---------------------------------------------------------------- signals

@test "SIGINT stops a foreground master like SIGTERM" {
	write_config 'protocol = "echo"'
	start_daemon
	kill -INT "$DPID"
	wait_gone "$DPID" 10
	local status=0
	wait "$DPID" || status=$?
	DPID=""
	[ "$status" -eq 0 ]
	log_has "master: notice: received INT: stopping now"
	log_has "master: notice: stopped"
	[ ! -e "$PIDFILE" ]
	[ "$(log_count "worker [0-9]+ \(service svc\) exited")" -eq 4 ]
}

@test "-T prints the configuration with every default, and its output round-trips" {
	cat >"$CONF" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT", "udp:[::1]:$PORT"} # a comment
	protocol = "prefix"
}
CONF
	run --separate-stderr "$PREFORKD" -T -c "$CONF"
	[ "$status" -eq 0 ]
	[ "$stderr" = "$CONF: syntax ok" ]
	printf '%s\n' "$output" >"$T/printed.conf"
	# Defaults are filled in, unset optional keys are named, comments gone.
	grep -qx '	backlog = 511' "$T/printed.conf"
	grep -qx '	framing = "chunk"' "$T/printed.conf"
	grep -qx '# user is not set' "$T/printed.conf"
	grep -qx "	listen = {\"127.0.0.1:$PORT\", \"udp:\[::1\]:$PORT\"}" "$T/printed.conf"
	refute grep -q "a comment" "$T/printed.conf"
	run "$PREFORKD" -t -c "$T/printed.conf"
	[ "$status" -eq 0 ]
	run --separate-stderr "$PREFORKD" -T -c "$T/printed.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$T/printed.conf")" ]
}

@test "-T keeps every byte of a string: the printed banner is the same banner" {
	cat >"$CONF" <<CONF
log_level = "debug"
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	banner = "q\"b\\\\s\\\$HOME\${NOPE}\te\x01\n"
}
CONF
	"$PREFORKD" -T -c "$CONF" >"$T/printed.conf"
	start_daemon
	printf '' | talk >"$T/want"
	stop_daemon
	cp "$T/printed.conf" "$CONF"
	# A fresh log, so start_daemon waits for this start, not the last.
	: >"$LOG"
	start_daemon
	printf '' | talk >"$T/got"
	od -c "$T/want"
	cmp "$T/want" "$T/got"
	[ "$(head -c 2 "$T/got")" = 'q"' ]
}

@test "every key -T prints, from the key table, is in preforkd.conf(5)" {
	cat >"$CONF" <<CONF
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
}
CONF
	local keys key missing="" n=0
	# "key = value", "# key is not set" and "service NAME {": every key.
	keys=$("$PREFORKD" -T -c "$CONF" 2>/dev/null | sed -nE \
	    -e 's/^\t*([a-z_0-9]+) = .*/\1/p' \
	    -e 's/^\t*# ([a-z_0-9]+) is not set$/\1/p' \
	    -e 's/^\t*([a-z_0-9]+) [^ ]+ \{$/\1/p')
	for key in $keys; do
		n=$((n + 1))
		grep -q "^\.It Ic $key\b" "$ROOT/man/preforkd.conf.5" ||
		    missing="$missing $key"
	done
	echo "keys: $n, undocumented:$missing"
	# The table has 37 keys, and the service section opens with one more.
	[ "$n" -ge 38 ]
	[ -z "$missing" ]
}

# The user nobody may enter $T, and has a directory $T/nobody of hers for
# a pidfile.
needs_nobody_from_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (to be nobody)"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	need_tool setpriv util-linux
	chmod 755 "$T"
	install -d -o nobody -m 700 "$T/nobody"
}

@test "a privileged port without the privilege: the error says what it takes" {
	needs_nobody_from_root
	local low=7
	[ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" -gt "$low" ] ||
	    skip "port $low needs no privilege here (ip_unprivileged_port_start)"
	cat >"$CONF" <<CONF
service svc {
	listen = {"127.0.0.1:$low"}
	protocol = "echo"
}
CONF
	run --separate-stderr timeout -k 1 10 setpriv --reuid=nobody \
	    --regid=nogroup --clear-groups "$PREFORKD" -f \
	    -c "$CONF" -p "$T/nobody/preforkd.pid" 3>&-
	echo "$status: $stderr"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *" master: error: bind 127.0.0.1:$low: Permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE)" ]]
}

@test "a pidfile that cannot be written: the error says how to name another" {
	needs_nobody_from_root
	write_config 'protocol = "echo"'
	mkdir -m 755 "$T/roots"
	run --separate-stderr timeout -k 1 10 setpriv --reuid=nobody \
	    --regid=nogroup --clear-groups "$PREFORKD" -f \
	    -c "$CONF" -p "$T/roots/preforkd.pid" 3>&-
	echo "$status: $stderr"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *" master: error: pidfile $T/roots/preforkd.pid: open: Permission denied (name one preforkd may write with -p, or pidfile in the configuration)" ]]
	[ ! -e "$T/roots/preforkd.pid" ]
}
