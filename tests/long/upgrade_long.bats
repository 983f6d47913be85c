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
