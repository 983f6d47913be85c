# shellcheck shell=bash
# What tests/bench/exec, programs and upgrade share, sourced after they set
# T (their temp dir) and B (where the helpers were built): servers in
# sessions of their own, stopped on exit (Ctrl-C too), free ports, medians,
# ratios, tables as text or markdown, and a section of RESULTS.md written
# in place.  The same shapes as tests/bench/run, which keeps its own copy
# (another helper's file in this round).

# shellcheck disable=SC2034 # SID is read by the scripts that source this
declare -A SID
SESSIONS=()

# The processes of a session that still run (zombies aside).
session_alive() {
	ps -o stat= -s "$1" | awk '!/^Z/ { up = 1 } END { exit !up }'
}

# TERM the server, which stops what it forked; KILL every process left in
# its session after 5 s.
stop_session() {
	local sid=$1 i left=()
	kill -TERM "$sid" 2>/dev/null || true
	for i in $(seq 70); do
		session_alive "$sid" || break
		[ "$i" -eq 50 ] && pkill -KILL -s "$sid" 2>/dev/null
		sleep 0.1
	done
	wait "$sid" 2>/dev/null || true
	# Forget it, so that its number is never signalled again.
	for i in "${SESSIONS[@]}"; do
		[ "$i" = "$sid" ] || left+=("$i")
	done
	SESSIONS=("${left[@]}")
}

stop_all() {
	while [ "${#SESSIONS[@]}" -gt 0 ]; do
		stop_session "${SESSIONS[0]}"
	done
}

bench_cleanup() {
	stop_all
	rm -rf "$T"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# A loopback port no other server here has.
free_port() {
	local port
	for _ in $(seq 20); do
		port=$("$B/pfclient" -f)
		if ! grep -qx "$port" "$T/ports" 2>/dev/null; then
			echo "$port" >>"$T/ports"
			echo "$port"
			return
		fi
	done
	echo "no free port" >&2
	exit 1
}

# Start NAME's command in a session of its own (so that all it forks can be
# stopped), output to $T/NAME.log; sets SID[NAME].
start() {
	local name=$1
	shift
	setsid "$@" >>"$T/$name.log" 2>&1 </dev/null &
	SID[$name]=$!
	SESSIONS+=($!)
}

# Wait (bounded: 10 s) until 127.0.0.1:PORT echoes a line.
answers() {
	local port=$1 sid=$2
	for _ in $(seq 100); do
		if echo up | "$B/pfclient" -t 1 127.0.0.1 "$port" 2>/dev/null |
		    grep -q up; then
			return 0
		fi
		session_alive "$sid" || return 1
		sleep 0.1
	done
	return 1
}

# Wait (bounded: 10 s) until 127.0.0.1:PORT is listening.
listening() {
	for _ in $(seq 100); do
		[ -z "$(ss -ltnH "sport = :$1")" ] || return 0
		sleep 0.1
	done
	return 1
}

# The median of the numbers on stdin, or nothing.
median() {
	sort -g | awk '{ v[NR] = $1 }
	    END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The median of the figures in FILE (lines "ROUND FIGURE", or "FIGURE"),
# rounded, or nothing.
fig() {
	[ -s "$1" ] && awk '{ print $NF }' "$1" | median |
	    awk '{ printf ($1 < 100) ? "%.1f\n" : "%.0f\n", $1 }'
	return 0
}

# The median of each round's own A / B, from two files of lines "ROUND
# FIGURE": on a busy machine, steadier than the ratio of the medians, as
# the two runs of a round were made seconds apart.  Nothing when no round
# has both.
paired() { # A_FILE B_FILE
	[ -s "$1" ] && [ -s "$2" ] || return 0
	awk 'NR == FNR { a[$1] = $2; next }
	    ($1 in a) && $2 > 0 { print a[$1] / $2 }' "$1" "$2" | median |
	    awk '{ printf "%.2f", $1 }'
}

ratio() { # A B: A / B, or nothing
	[ -n "$1" ] && [ -n "$2" ] &&
	    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
	return 0
}

# Render tab-separated lines as aligned text, or as a markdown table.
render() { # text|markdown
	awk -F'\t' -v md="$([ "$1" = markdown ] && echo 1)" '
	function cell(s, i) {
		if (md)
			return " " s " |"
		if (i == 1)
			return sprintf("%-" w[i] "s", s)
		return sprintf("  %" w[i] "s", s)
	}
	{
		for (i = 1; i <= NF; i++) {
			c[NR, i] = $i
			if (length($i) > w[i])
				w[i] = length($i)
		}
		if (NF > nf)
			nf = NF
	}
	END {
		for (r = 1; r <= NR; r++) {
			line = md ? "|" : ""
			for (i = 1; i <= nf; i++)
				line = line cell(c[r, i], i)
			print line
			if (md && r == 1) {
				line = "|"
				for (i = 1; i <= nf; i++)
					line = line (i == 1 ? " --- |" : " ---: |")
				print line
			}
		}
	}'
}

# The machine, for a header.
machine() {
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs" \
	    "($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))," \
	    "Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Replace the section "## HEADING" of FILE (from its heading to the next
# "## " heading, or the end) with the markdown on stdin, which starts with
# that heading; append it when FILE has no such section.  The other
# sections, and whatever precedes them, stay as they are.
write_section() { # FILE HEADING
	local file=$1 heading=$2 new
	new=$(mktemp "$T/section.XXXXXX")
	cat >"$new"
	[ -f "$file" ] || : >"$file"
	awk -v h="## $heading" -v new="$new" '
	function put(   l) {
		while ((getline l <new) > 0)
			print l
		done = 1
	}
	$0 == h { skip = 1; put(); next }
	skip && /^## / { skip = 0; print "" }
	!skip { print }
	END {
		if (!done) {
			print ""
			put()
		}
	}' "$file" >"$file.new"
	mv "$file.new" "$file"
	echo "written to $file, section \"$heading\"" >&2
}
