#!/usr/bin/env bats
# Issue 15's soaks, for make check-long (bats tests/long/attack_long.bats):
# longer runs of attacks tests/attack.bats plays once.  A worker that
# stores anything anywhere in its mapping of the scoreboard, round after
# round; a UDP loop between two services that no rule about classic ports
# stops, only a bound on answers per source.

# shellcheck disable=SC2030,SC2031

load ../helpers

# helpers.bash takes the directory above the test file for the tree's.
ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
PREFORKD="${PREFORKD_BIN:-$ROOT/preforkd}"
PFCLIENT="${PFCLIENT_BIN:-$ROOT/build/pfclient}"

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	NS=""
}

teardown() {
	local rc=0
	common_teardown || rc=$?
	if [ -n "$NS" ]; then
		ip netns del "$NS" 2>/dev/null || true
	fi
	return "$rc"
}


echo_answers() {
	run "$PFCLIENT" -t 3 127.0.0.1 "$PORT" <<<"still serving"
	[ "$output" = "still serving" ]
}

# The stores of round N: even rounds aim at the release path (a huge
# nservices, a service index past the table, the slot idle and current),
# or at the header's counts; odd rounds scribble at random.
hostile_stores() {
	local round=$1 w=$2 n
	local -a big=(0xffffffff 0x80000000 1024)
	local -a index=(0xfffffff0 0x7fffffff 1023 64 8)
	local -a counts=(0 9 1024 0xffffffff)
	if [ $((round % 2)) -eq 1 ]; then
		echo "--scribble $round 16"
		return
	fi
	n=$((round / 2))
	echo "header.nservices=${big[n % 3]} self.service=${index[n % 5]}" \
	    "self.state=idle self.generation=gen" \
	    "header.nslots=${counts[n % 4]} header.high_water=${counts[(n + 1) % 4]}"
}

@test "1 soak: 100 rounds of hostile stores into the scoreboard, workers killed, reloads: the master lives and serves" {
	needs_root
	write_config 'protocol = "echo"
	workers = 3' 'max_slots = 8'
	start_daemon
	wait_until has_workers 3
	local round w stores
	for round in $(seq 100); do
		w=$(worker_pids | shuf -n 1)
		if [ -n "$w" ]; then
			# shellcheck disable=SC2046 # words, on purpose
			SBATTACK_NSLOTS=8 timeout 20 \
			    python3 "$ROOT/tests/helper/sbattack.py" "$w" \
			    $(hostile_stores "$round" "$w") ||
			    echo "round $round: sbattack.py failed" >&2
			kill -KILL "$w" 2>/dev/null || true
		fi
		if [ $((round % 10)) -eq 0 ]; then
			kill -HUP "$DPID"
		fi
		sleep 0.1
		kill -0 "$DPID" || {
			echo "the master died in round $round:" \
			    "$(hostile_stores "$round" "$w")" >&2
			return 1
		}
	done
	# The pool comes back to its size, and no more than the table holds.
	WAIT_LIMIT=10 wait_until has_workers 3
	[ "$(pgrep -c -P "$DPID")" -le 8 ]
	echo_answers
}

@test "2 soak: a datagram forged from prefix to echo does not grow into gigabytes" {
	needs_root
	command -v ip >/dev/null || skip "no ip(8)"
	NS="pfsoak$$x$RANDOM"
	ip netns add "$NS" 2>/dev/null || {
		NS=""
		skip "ip netns is unavailable"
	}
	ip netns exec "$NS" ip link set lo up
	local prefix_port before after
	prefix_port=$(free_port)
	cat >"$CONF" <<CONF
log_level = "notice"
service echo {
	listen = {"udp:127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 1
}
service prefix {
	listen = {"udp:127.0.0.1:$prefix_port"}
	protocol = "prefix"
	workers = 1
}
CONF
	ip netns exec "$NS" "$PREFORKD" -f -c "$CONF" -p "$PIDFILE" \
	    >>"$LOG" 2>&1 3>&- &
	DPID=$!
	wait_log "master: notice: started"
	before=$(ip netns exec "$NS" cat /sys/class/net/lo/statistics/rx_bytes)
	ip netns exec "$NS" timeout 10 python3 "$ROOT/tests/helper/forge_udp.py" \
	    127.0.0.1 "$prefix_port" 127.0.0.1 "$PORT"
	sleep 5
	after=$(ip netns exec "$NS" cat /sys/class/net/lo/statistics/rx_bytes)
	# Today: 2.5 GB in 4.5 s (prefix adds 13 bytes a turn, to 64 KB).
	# Bounded answers per source keep 5 s well under 10 MB.
	echo "bytes on lo in 5 s: $((after - before))" >&2
	[ $((after - before)) -lt $((10 * 1024 * 1024)) ]
}

still_lines_are() {
	[ "$(log_count "service svc still at max_workers")" -eq "$1" ]
}

@test "5 soak: a full pool says how many clients wait, every 10 s while they do" {
	write_config 'protocol = "echo"
	workers = 2'
	start_daemon
	wait_until has_workers 2
	# Two hold the workers, three wait in the queue behind them.
	python3 "$ROOT/tests/helper/hold.py" 127.0.0.1 "$PORT" --count 5 \
	    --seconds 40 >"$T/hold.out" 3>&- &
	BACKGROUND="$!"
	wait_until grep -q "^held 5$" "$T/hold.out"
	wait_log "service svc reached max_workers \(2\); [0-9]+ clients waiting in the queue"
	WAIT_LIMIT=13 wait_log "service svc still at max_workers \(2\); 3 clients waiting in the queue"
	WAIT_LIMIT=13 wait_until still_lines_are 2
	grep "max_workers" "$LOG"
	# Bounded: no more than one line in 10 s.
	sleep 5
	still_lines_are 2
	# The queue gone, the burst ends and nothing more is said.
	kill "$BACKGROUND"
	wait "$BACKGROUND" || true
	BACKGROUND=""
	sleep 12
	still_lines_are 2
}
