#!/usr/bin/env bats
# The status protocol: the scoreboard as text, and as Prometheus metrics.

load helpers

setup() {
	common_setup
	SPORT=$(free_port)
	cat >"$CONF" <<CONF
log_level = "debug"
service svc {
	listen = {"127.0.0.1:$PORT"}
	protocol = "echo"
	workers = 3
}
service status {
	listen = {"127.0.0.1:$SPORT"}
	protocol = "status"
	workers = 1
	status_clients = true
}
CONF
}
teardown() { common_teardown; }

@test "status answers a line with the text of -s status" {
	start_daemon
	open_client a
	send_line a "hi"
	wait_until client_saw a "hi"
	run talk "" "$SPORT" <<<""
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "${lines[0]}" =~ ^master\ pid=$DPID\ generation=1\  ]]
	grep -qx "service name=svc idle=2 busy=1 starting=0 quitting=0 total=3 max=3" <<<"$output"
	grep -qE "^worker pid=[0-9]+ service=svc generation=1 state=busy client=127\.0\.0\.1:[0-9]+ " <<<"$output"
	# The status worker is busy with us as it answers.
	grep -qx "service name=status idle=0 busy=1 starting=0 quitting=0 total=1 max=1" <<<"$output"
}

@test "GET /metrics is parsed by prometheus_client" {
	need_python_module prometheus_client.parser python3-prometheus-client
	start_daemon
	open_client a
	send_line a "hi"
	wait_until client_saw a "hi"
	printf 'GET /metrics HTTP/1.0\r\n\r\n' | talk "" "$SPORT" >"$T/answer"
	head -n 1 "$T/answer" | grep -q "^HTTP/1.0 200 OK"
	# The body: after the blank line that ends the head.
	sed '1,/^\r$/d' "$T/answer" >"$T/metrics"
	/usr/bin/python3 - "$T/metrics" >"$T/parsed" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        print("%s %s %s %g" % (family.type, s.name, labels, s.value))
PY
	cat "$T/parsed"
	grep -qx "gauge preforkd_workers service=svc,state=idle 2" "$T/parsed"
	grep -qx "gauge preforkd_workers service=svc,state=busy 1" "$T/parsed"
	grep -qx "gauge preforkd_workers service=status,state=busy 1" "$T/parsed"
	grep -qx "gauge preforkd_workers_max service=svc 3" "$T/parsed"
	grep -qx "gauge preforkd_scoreboard_slots  1024" "$T/parsed"
	grep -qx "gauge preforkd_generation  1" "$T/parsed"
	grep -qx "counter preforkd_reloads_total  0" "$T/parsed"
	[ "$(grep -c "^gauge preforkd_workers service=" "$T/parsed")" -eq 8 ]
}

@test "status has no UDP form" {
	sed -i "s|\"127.0.0.1:$SPORT\"|\"udp:127.0.0.1:$SPORT\"|" "$CONF"
	run "$PREFORKD" -t -c "$CONF"
	[ "$status" -eq 1 ]
	[[ "$output" == *'protocol "status" does not work over UDP'* ]]
}

# A local address that is not loopback, or nothing.
global_ipv4() {
	ip -4 -o addr show scope global 2>/dev/null |
	    awk '{ sub("/.*", "", $4); print $4; exit }'
}

@test "status serves loopback clients only, unless allow says otherwise" {
	local addr
	addr=$(global_ipv4)
	[ -n "$addr" ] || skip "no address but loopback"
	sed -i "s|\"127.0.0.1:$SPORT\"|\"127.0.0.1:$SPORT\", \"$addr:$SPORT\"|" "$CONF"
	start_daemon
	# From this host's own address, not loopback: refused unanswered
	# (closed, or reset when the request came before the close).
	run "$PFCLIENT" -t 3 "$addr" "$SPORT" <<<""
	echo "$output"
	[[ "$output" != *master* ]]
	wait_log "access service=status client=$addr:[0-9]+ .*end=refused"
	run talk "" "$SPORT" <<<""
	[[ "${lines[0]}" =~ ^master\ pid=$DPID\  ]]
	# An allow of its own opens it.
	sed -i "s|	protocol = \"status\"|&\n	allow = {\"$addr\"}|" "$CONF"
	reload
	run "$PFCLIENT" -t 3 "$addr" "$SPORT" <<<""
	echo "$output"
	[[ "${lines[0]}" =~ ^master\ pid=$DPID\  ]]
}

@test "status names no client without status_clients" {
	sed -i '/status_clients = true/d' "$CONF"
	start_daemon
	open_client a
	send_line a "hi"
	wait_until client_saw a "hi"
	run talk "" "$SPORT" <<<""
	echo "$output"
	grep -qE "^worker pid=[0-9]+ service=svc generation=1 state=busy client=hidden " <<<"$output"
	grep -qE "^worker pid=[0-9]+ service=svc generation=1 state=idle client=- " <<<"$output"
	refute grep -q '127\.0\.0\.1' <<<"$output"
}
