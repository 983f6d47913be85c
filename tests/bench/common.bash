# shellcheck shell=bash
# What the benches (tests/bench/run, exec, programs, upgrade and sandbox)
# share, sourced after they set T (their temp dir) and B (where the helpers
# were built): servers in sessions of their own, stopped on exit (Ctrl-C
# too), free ports, xinetd with a private /etc/hosts, medians, ratios,
# tables as text or markdown, and a section of RESULTS.md written in place.

# SID[NAME]: the session of server NAME (start); NOTE[NAME]: why it was
# skipped or what is odd about it, for the script's header.
# shellcheck disable=SC2034 # read by the scripts that source this
declare -A SID NOTE
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

# Wait (bounded: 10 s) until 127.0.0.1:PORT answers a line.
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

# xinetd names every client with getnameinfo() (for its process title): a
# reverse DNS query per connection from 127.0.0.2 on, which the resolver
# may answer in 5 s or never.  So it runs in a mount namespace of its own,
# where /etc/hosts names 127.0.0.1 to 127.0.0.64 and each lookup reads a
# file, as it does for 127.0.0.1 everywhere.  Without one (not root), it
# says so in NOTE[NAME].
start_xinetd() { # NAME COMMAND...
	local name=$1 i
	shift
	cp /etc/hosts "$T/hosts"
	for i in $(seq 64); do
		echo "127.0.0.$i bench-source-$i"
	done >>"$T/hosts"
	if unshare -m true 2>/dev/null; then
		# shellcheck disable=SC2016 # expanded by the inner sh
		start "$name" unshare -m sh -c \
		    'mount --bind "$1" /etc/hosts && shift && exec "$@"' \
		    sh "$T/hosts" "$@"
	else
		NOTE[$name]="(no private /etc/hosts: needs root; every connection waits for a reverse DNS lookup)"
		start "$name" "$@"
	fi
}

# The median of the numbers on stdin, or nothing.
median() {
	sort -g | awk '{ v[NR] = $1 }
	    END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The median of the figures in FILE (lines "ROUND FIGURE", or "FIGURE"),
# or nothing.
median_of() { # FILE
	[ -s "$1" ] && awk '{ print $NF }' "$1" | median
	return 0
}

# A figure as the tables print it: 3 significant digits or so.
fmt() { # VALUE
	[ -z "$1" ] || awk -v v="$1" 'BEGIN { printf (v < 100) ? "%.1f" : "%.0f", v }'
}

# The median of the figures in FILE, as the tables print it, or nothing.
fig() { # FILE
	fmt "$(median_of "$1")"
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

# What went wrong in the runs, counted ($T/warnings), if anything: as text
# under LABEL (default "warnings:"), or as a markdown code block after a
# blank line, LABEL its first line if given.
warnings() { # text|markdown [LABEL]
	[ -s "$T/warnings" ] || return 0
	if [ "$1" = text ]; then
		echo "${2:-warnings:}"
	else
		echo
		echo '```'
		[ -z "${2:-}" ] || echo "$2"
	fi
	sort "$T/warnings" | uniq -c | head -n 20
	[ "$1" = text ] || echo '```'
}

# Lines as text, or as markdown lines that end in a line break.
lines() { # text|markdown
	if [ "$1" = text ]; then
		cat
	else
		sed 's/$/  /'
	fi
}

# Print the figures, FIGURES text (a function of the script, called with
# text or markdown), and the warnings; with RESULTS set, write FIGURES
# markdown and the warnings into RESULTS as its section HEADING, in place.
publish() { # FIGURES HEADING
	local figures=$1 heading=$2
	"$figures" text
	warnings text
	[ -n "$RESULTS" ] || return 0
	{
		echo "## $heading"
		echo
		"$figures" markdown
		warnings markdown
	} | write_section "$RESULTS" "$heading"
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
