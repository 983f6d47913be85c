#!/usr/bin/env bats
# Upgrades under load (preforkd(8) UPGRADE): twenty in a row while four
# clients connect as fast as they can; not one connection may fail.  Prints
# the figures tests/bench/RESULTS.md quotes.

load ../helpers

setup() {
	common_setup
	mkdir "$T/bin"
	cp "$PREFORKD" "$T/bin/preforkd"
}

teardown() {
	common_teardown
}

@test "twenty upgrades under load: no connection fails" {
	write_config 'protocol = "echo"
	workers = 4'
	"$T/bin/preforkd" -f -c "$CONF" -p "$PIDFILE" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	python3 "$ROOT/tests/helper/load.py" 127.0.0.1 "$PORT" --clients 4 \
	    --stop "$T/stop" >"$T/load" 2>&1 3>&- &
	BACKGROUND="$!"
	local load=$! start end total=0 max=0 ms
	sleep 0.5
	for i in $(seq 1 20); do
		cp "$PREFORKD" "$T/bin/preforkd.new"
		mv "$T/bin/preforkd.new" "$T/bin/preforkd"
		start=${EPOCHREALTIME/./}
		"$PREFORKD" -s upgrade -p "$PIDFILE" >/dev/null
		end=${EPOCHREALTIME/./}
		ms=$(((end - start) / 1000))
		total=$((total + ms))
		[ "$ms" -le "$max" ] || max=$ms
		sleep 0.2
	done
	touch "$T/stop"
	wait "$load"
	echo "# $(cat "$T/load"); -s upgrade: mean $((total / 20)) ms, max $max ms" >&3
	grep -q "connections=[1-9]" "$T/load"
	grep -q " refused=0 reset=0 timeout=0 wrong=0" "$T/load"
	[ "$(cat "$PIDFILE")" = "$DPID" ]
	[ "$(log_count "master: notice: upgraded: ")" -eq 20 ]
}

@test "upgrades of built-in workers, an exec service and a program pool under load: no connection fails" {
	local port2 port3 start end ms total=0 max=0
	port2=$(free_port)
	port3=$(free_port)
	# As root the programs run as nobody: they must reach their files.
	chmod 711 "$T"
	install -m 755 "$ROOT/tests/helper/echoprog.py" "$T/echoprog"
	cat >"$CONF" <<CONF
shutdown_timeout = 5
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 2
}
service run {
	listen = {"127.0.0.1:$port2"}
	protocol = "exec"
	command = {"/bin/cat"}
	workers = 2
}
service pool {
	listen = {"127.0.0.1:$port3"}
	protocol = "exec"
	accept = false
	command = {"$T/echoprog", "TERM"}
	workers = 2
}
CONF
	"$T/bin/preforkd" -f -c "$CONF" -p "$PIDFILE" >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	python3 "$ROOT/tests/helper/load.py" 127.0.0.1 "$PORT" "$port2" "$port3" \
	    --clients 3 --stop "$T/stop" >"$T/load" 2>&1 3>&- &
	BACKGROUND="$!"
	local load=$!
	sleep 0.5
	for i in $(seq 1 5); do
		cp "$PREFORKD" "$T/bin/preforkd.new"
		mv "$T/bin/preforkd.new" "$T/bin/preforkd"
		start=${EPOCHREALTIME/./}
		"$PREFORKD" -s upgrade -p "$PIDFILE" >/dev/null
		end=${EPOCHREALTIME/./}
		ms=$(((end - start) / 1000))
		total=$((total + ms))
		[ "$ms" -le "$max" ] || max=$ms
		sleep 0.2
	done
	touch "$T/stop"
	wait "$load"
	echo "# $(cat "$T/load"); -s upgrade with a program pool: mean $((total / 5)) ms, max $max ms" >&3
	grep -q "connections=[1-9]" "$T/load"
	grep -q " refused=0 reset=0 timeout=0 wrong=0" "$T/load"
	[ "$(log_count "master: notice: upgraded: ")" -eq 5 ]
	refute log_has "killed process group"
}
