# shellcheck shell=bash
# Shared helpers for the peer-benchmark scripts (sourced, not run).
#
# Everything runs on 127.0.0.1, on high ports, under one scratch folder DIR,
# inside a private network namespace that has only "lo" (BENCH.md, "How the
# peers were run"). If namespaces are not permitted the scripts say so and
# fall back to plain loopback. DIR/netns records the choice, so every script
# working on the same DIR uses the same namespace.
#
# Environment knobs shared by all scripts:
#   BENCH_NETNS     namespace name (default pochtabench-<hash of DIR>);
#                   "none" forces plain loopback
#   BENCH_CONF_DIR  folder with dovecot.conf, users, main.cf, master.cf
#                   (default: shared/bench beside the repository)

set -euo pipefail

BENCH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_LIB_DIR/../.." && pwd)

bench_log() { printf '%s [bench] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() { bench_log "error: $*"; exit 1; }

# bench_conf_dir prints the folder holding the peers' reference configs.
bench_conf_dir() {
	local d
	for d in "${BENCH_CONF_DIR:-}" "$REPO_ROOT/../shared/bench" /work/shared/bench; do
		if [[ -n "$d" && -f "$d/dovecot.conf" && -f "$d/main.cf" ]]; then
			(cd "$d" && pwd)
			return 0
		fi
	done
	bench_die "cannot find dovecot.conf/main.cf; set BENCH_CONF_DIR"
}

# bench_prepare_dir DIR makes DIR absolute and traversable: Dovecot's mail
# processes (uid 5000) and Postfix's daemons (user postfix) must reach
# their folders under it, and mktemp -d makes 0700 folders.
bench_prepare_dir() {
	local dir=$1
	mkdir -p "$dir"
	chmod 0755 "$dir"
	(cd "$dir" && pwd)
}

# bench_netns_init DIR sets NETNS (empty for plain loopback), creating the
# namespace on first use and recording it in DIR/netns.
bench_netns_init() {
	local dir=$1
	if [[ -f "$dir/netns" ]]; then
		NETNS=$(cat "$dir/netns")
		if [[ -n "$NETNS" ]] && ! ip netns list 2>/dev/null | grep -qw "^$NETNS"; then
			bench_die "namespace $NETNS recorded in $dir/netns no longer exists"
		fi
		return 0
	fi
	NETNS=""
	if [[ "${BENCH_NETNS:-}" == none ]]; then
		bench_log "BENCH_NETNS=none: using plain loopback 127.0.0.1 (no private namespace)"
	else
		local name=${BENCH_NETNS:-pochtabench-$(printf '%s' "$dir" | md5sum | cut -c1-8)}
		local err
		if ip netns list 2>/dev/null | grep -qw "^$name"; then
			NETNS=$name
		elif err=$(ip netns add "$name" 2>&1) && ip netns exec "$name" ip link set lo up 2>/dev/null; then
			NETNS=$name
			echo "$name" >"$dir/netns.created"
			bench_log "created network namespace $name (only lo, 127.0.0.1)"
		else
			ip netns del "$name" 2>/dev/null || true
			bench_log "WARNING: network namespaces not permitted here (${err:-ip netns exec failed});"
			bench_log "WARNING: falling back to plain loopback 127.0.0.1 in the host namespace"
		fi
	fi
	echo "$NETNS" >"$dir/netns"
}

# nsexec CMD... runs CMD inside the namespace (or directly without one).
nsexec() {
	if [[ -n "${NETNS:-}" ]]; then
		ip netns exec "$NETNS" "$@"
	else
		"$@"
	fi
}

# nsexec_exec CMD... is nsexec that replaces the current (sub)shell. Start
# servers with `nsexec_exec CMD &` so that $! is the server's own pid, not a
# subshell's.
nsexec_exec() {
	if [[ -n "${NETNS:-}" ]]; then
		exec ip netns exec "$NETNS" "$@"
	else
		exec "$@"
	fi
}

# bench_netns_release DIR deletes the namespace this DIR created once no
# process is left in it (not while BENCH_KEEP_NETNS=1: the compare scripts
# keep it across their runs).
bench_netns_release() {
	local dir=$1
	[[ "${BENCH_KEEP_NETNS:-0}" != 1 ]] || return 0
	[[ -f "$dir/netns.created" ]] || return 0
	local name
	name=$(cat "$dir/netns.created")
	if [[ -n "$(ip netns pids "$name" 2>/dev/null)" ]]; then
		return 0
	fi
	ip netns del "$name" 2>/dev/null || true
	rm -f "$dir/netns.created" "$dir/netns"
}

# port_open PORT: is something listening on 127.0.0.1:PORT (in the namespace)?
port_open() {
	nsexec bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# wait_ports PID TIMEOUT PORT... waits until every port accepts a
# connection; fails early if PID dies.
wait_ports() {
	local pid=$1 timeout=$2
	shift 2
	local deadline=$((SECONDS + timeout)) port
	for port in "$@"; do
		until port_open "$port"; do
			if ! kill -0 "$pid" 2>/dev/null; then
				bench_log "process $pid exited before port $port opened"
				return 1
			fi
			if ((SECONDS >= deadline)); then
				bench_log "port $port not open after ${timeout}s"
				return 1
			fi
			sleep 0.1
		done
	done
}

# ensure_ports_free PORT... refuses to start over something already there.
ensure_ports_free() {
	local port
	for port in "$@"; do
		if port_open "$port"; then
			bench_die "port 127.0.0.1:$port is already in use${NETNS:+ in namespace $NETNS}"
		fi
	done
}

# stop_pid PIDFILE NAME [TIMEOUT]: TERM the process, wait, KILL if needed.
stop_pid() {
	local pidfile=$1 name=$2 timeout=${3:-20} pid
	[[ -f "$pidfile" ]] || return 0
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + timeout))
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			bench_log "$name (pid $pid) did not stop in ${timeout}s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
}

# pss_tree_kb PID... prints the summed PSS (kB) of the processes and all
# their descendants: the right memory figure for multi-process servers.
pss_tree_kb() {
	ps -e -o pid=,ppid= | awk -v roots="$*" '
		{ parent[$1] = $2 }
		END {
			n = split(roots, r, " ")
			for (i = 1; i <= n; i++) keep[r[i]] = 1
			do {
				changed = 0
				for (p in parent)
					if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 }
			} while (changed)
			total = 0
			for (p in keep) {
				f = "/proc/" p "/smaps_rollup"
				while ((getline line < f) > 0)
					if (line ~ /^Pss:/) { split(line, a, " "); total += a[2] }
				close(f)
			}
			print total
		}'
}

# cpu_tree_ms PID... prints the CPU time (user + system, in ms) used so far
# by the processes under the given roots, counting the children they have
# already reaped (Dovecot's per-connection processes come and go).
cpu_tree_ms() {
	local hz
	hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
	ps -e -o pid=,ppid= | awk -v roots="$*" -v hz="$hz" '
		{ parent[$1] = $2 }
		END {
			n = split(roots, r, " ")
			for (i = 1; i <= n; i++) keep[r[i]] = 1
			do {
				changed = 0
				for (p in parent)
					if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 }
			} while (changed)
			ticks = 0
			for (p in keep) {
				f = "/proc/" p "/stat"
				if ((getline line < f) > 0) {
					sub(/^.*\) /, "", line) # the command name may hold spaces
					split(line, a, " ")
					ticks += a[12] + a[13] + a[14] + a[15] # utime stime cutime cstime
				}
				close(f)
			}
			printf "%d\n", ticks * 1000 / hz
		}'
}

# pss_sampler_start OUT PID... samples the peak PSS every 0.5 s into OUT
# (kB) in the background; pss_sampler_stop takes one last sample, so a run
# shorter than the interval still gets a figure.
pss_sampler_start() {
	PSS_OUT=$1
	shift
	PSS_ROOTS="$*"
	pss_tree_kb "$PSS_ROOTS" >"$PSS_OUT"
	# The CPU the servers use during the run, written to OUT's .cpu file
	# (ms) by pss_sampler_stop: a figure the machine's other load disturbs
	# less than a rate does.
	PSS_CPU0=$(cpu_tree_ms "$PSS_ROOTS")
	(
		while :; do
			sleep 0.5
			pss_update
		done
	) &
	PSS_SAMPLER=$!
}

# pss_update raises PSS_OUT to the current PSS if that is higher.
pss_update() {
	local kb peak
	kb=$(pss_tree_kb "$PSS_ROOTS")
	peak=$(cat "$PSS_OUT" 2>/dev/null || echo 0)
	if ((kb > peak)); then
		echo "$kb" >"$PSS_OUT"
	fi
}

pss_sampler_stop() {
	if [[ -n "${PSS_SAMPLER:-}" ]]; then
		kill "$PSS_SAMPLER" 2>/dev/null || true
		wait "$PSS_SAMPLER" 2>/dev/null || true
		PSS_SAMPLER=""
		pss_update
		echo $(($(cpu_tree_ms "$PSS_ROOTS") - PSS_CPU0)) >"${PSS_OUT%.pss}.cpu"
	fi
}

# result_field FILE KEY reads KEY=value from the "result" line of a report.
result_field() {
	awk -v key="$2" '/^result / { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) v = kv[2] } } END { print (v == "" ? "NA" : v) }' "$1"
}

# median prints the median of its numeric arguments ("NA" ignored).
median() {
	printf '%s\n' "$@" | awk '$1 != "NA" && $1 != "" { v[n++] = $1 }
		END {
			if (n == 0) { print "NA"; exit }
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			if (n % 2) print v[int(n / 2)]; else printf "%.1f\n", (v[n / 2 - 1] + v[n / 2]) / 2
		}'
}

# min_max prints "min-max" of its numeric arguments.
min_max() {
	printf '%s\n' "$@" | awk '$1 != "NA" && $1 != "" { if (n == 0 || $1 < lo) lo = $1; if (n == 0 || $1 > hi) hi = $1; n++ }
		END { if (n == 0) print "NA"; else print lo "-" hi }'
}

# ratio A B prints A/B with two decimals.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.2f\n", a / b }'
}

# kb_to_mib prints kB as MiB with one decimal.
kb_to_mib() {
	awk -v k="$1" 'BEGIN { if (k == "" || k == "NA") print "NA"; else printf "%.1f\n", k / 1024 }'
}

# bench_client_init DIR sets BENCH_CLIENT (an array) to the load tool:
# $BENCH_CMD if given, else `$POCHTA_BIN bench`, else `pochta bench` from a
# binary built from this tree.
bench_client_init() {
	local dir=$1
	if [[ -n "${BENCH_CMD:-}" ]]; then
		read -r -a BENCH_CLIENT <<<"$BENCH_CMD"
	elif [[ -n "${POCHTA_BIN:-}" ]]; then
		BENCH_CLIENT=("$POCHTA_BIN" bench)
	else
		mkdir -p "$dir/bin"
		bench_log "building pochta for its load tool"
		(cd "$REPO_ROOT" && go build -o "$dir/bin/pochta" ./cmd/pochta) ||
			bench_die "cannot build pochta"
		BENCH_CLIENT=("$dir/bin/pochta" bench)
	fi
	bench_log "load tool: ${BENCH_CLIENT[*]}"
}

# bench CLIENT-ARGS... runs the load tool inside the namespace.
bench() {
	nsexec "${BENCH_CLIENT[@]}" "$@"
}

# ---- Pochta ----------------------------------------------------------------
# The Pochta side: `pochta serve` with a scratch data dir, on its default
# ports (SMTP 2525, IMAP 1143, POP3 1110), users made with `pochta user add`.

BENCH_POCHTA_SMTP_PORT=${BENCH_POCHTA_SMTP_PORT:-2525}
BENCH_POCHTA_IMAP_PORT=${BENCH_POCHTA_IMAP_PORT:-1143}
BENCH_POCHTA_POP3_PORT=${BENCH_POCHTA_POP3_PORT:-1110}
BENCH_POCHTA_DOMAIN=${BENCH_POCHTA_DOMAIN:-example.com}

# pochta_init DIR sets POCHTA (the binary): $POCHTA_BIN or a fresh build.
pochta_init() {
	local dir=$1
	if [[ -n "${POCHTA_BIN:-}" ]]; then
		POCHTA=$POCHTA_BIN
	else
		mkdir -p "$dir/bin"
		bench_log "building pochta (./cmd/pochta); set POCHTA_BIN to use a built binary"
		(cd "$REPO_ROOT" && go build -o "$dir/bin/pochta" ./cmd/pochta) ||
			bench_die "cannot build ./cmd/pochta; run with PEERS_ONLY=1 to measure only the peer"
		POCHTA=$dir/bin/pochta
	fi
}

# pochta_start DIR [USER:PASS...] creates the users in an empty data dir
# and starts a clean Pochta on it.
pochta_start() {
	local dir=$1
	shift
	local data=$dir/data/pochta
	rm -rf "$data"
	mkdir -p "$data" "$dir/logs" "$dir/run"
	ensure_ports_free "$BENCH_POCHTA_SMTP_PORT" "$BENCH_POCHTA_IMAP_PORT" "$BENCH_POCHTA_POP3_PORT"
	# Users first: `pochta user add` works on the data folder, and the
	# server then starts with them in place.
	local cred
	for cred in "$@"; do
		printf '%s\n' "${cred#*:}" | nsexec env -u POCHTA_BIN POCHTA_SERVER_DATA_DIR="$data" "$POCHTA" user add "${cred%%:*}" >>"$dir/logs/pochta.log" 2>&1 ||
			bench_die "pochta user add ${cred%%:*} failed; see $dir/logs/pochta.log"
	done
	# Every door on loopback, at the ports the scripts use (a POCHTA_*_LISTEN
	# already in the environment wins).
	local -a env=(
		POCHTA_SERVER_DATA_DIR="$data"
		POCHTA_SMTP_LISTEN="${POCHTA_SMTP_LISTEN:-127.0.0.1:$BENCH_POCHTA_SMTP_PORT}"
		POCHTA_IMAP_LISTEN="${POCHTA_IMAP_LISTEN:-127.0.0.1:$BENCH_POCHTA_IMAP_PORT}"
		POCHTA_POP3_LISTEN="${POCHTA_POP3_LISTEN:-127.0.0.1:$BENCH_POCHTA_POP3_PORT}"
		POCHTA_SMTP_SUBMISSION_LISTEN="${POCHTA_SMTP_SUBMISSION_LISTEN:-127.0.0.1:2587}"
		POCHTA_SMTP_SUBMISSIONS_LISTEN="${POCHTA_SMTP_SUBMISSIONS_LISTEN:-127.0.0.1:2465}"
		POCHTA_IMAP_TLS_LISTEN="${POCHTA_IMAP_TLS_LISTEN:-127.0.0.1:1993}"
		POCHTA_POP3_TLS_LISTEN="${POCHTA_POP3_TLS_LISTEN:-127.0.0.1:1995}"
		POCHTA_HTTP_LISTEN="${POCHTA_HTTP_LISTEN:-127.0.0.1:8080}"
		POCHTA_HTTP_TLS_LISTEN="${POCHTA_HTTP_TLS_LISTEN:-127.0.0.1:8443}"
		# The peers are measured without TLS on loopback; so is Pochta.
		POCHTA_IMAP_ALLOW_INSECURE_AUTH_LOOPBACK=true
		POCHTA_POP3_ALLOW_INSECURE_AUTH_LOOPBACK=true
		POCHTA_SMTP_ALLOW_INSECURE_AUTH_LOOPBACK=true
	)
	nsexec_exec env -u POCHTA_BIN "${env[@]}" "$POCHTA" serve >>"$dir/logs/pochta.log" 2>&1 &
	echo $! >"$dir/run/pochta.pid"
	if ! wait_ports "$!" "${BENCH_POCHTA_START_TIMEOUT:-60}" "$BENCH_POCHTA_SMTP_PORT" "$BENCH_POCHTA_IMAP_PORT" "$BENCH_POCHTA_POP3_PORT"; then
		tail -n 20 "$dir/logs/pochta.log" >&2 || true
		bench_die "pochta serve did not open SMTP $BENCH_POCHTA_SMTP_PORT, IMAP $BENCH_POCHTA_IMAP_PORT and POP3 $BENCH_POCHTA_POP3_PORT; if those doors are not built yet, run with PEERS_ONLY=1"
	fi
}

pochta_stop() {
	stop_pid "$1/run/pochta.pid" pochta 30
}

pochta_pid() { cat "$1/run/pochta.pid"; }

# postfix_master_pid DIR prints the pid of the Postfix master (from its
# queue's pid file), or of the start-fg wrapper if that file is missing.
postfix_master_pid() {
	local f=$1/run/postfix/queue/pid/master.pid
	if [[ -s "$f" ]]; then
		tr -d ' \n' <"$f"
	else
		cat "$1/run/postfix.pid"
	fi
}

# bench_users_from_conf prints "name:password" for each passwd-file user.
bench_users_from_conf() {
	awk -F: '/^[^#]/ && NF >= 2 { print $1 ":" $2 }' "$(bench_conf_dir)/users"
}

# ---- compare driver ----------------------------------------------------------
# A compare script defines run_side SIDE OUT (SIDE is "pochta" or "peer";
# it starts that server clean, runs the load into OUT.txt, the peak PSS into
# OUT.pss, and stops the server) and row_fields OUT (the figures shown per
# run), then calls compare_main.
#
# Schedule: ROUNDS rounds of A, B (A = Pochta, B = the peer), then an A/A
# pair for the noise floor. With PEERS_ONLY=1 only the peer runs: ROUNDS
# runs plus a B/B pair.

ROUNDS=${ROUNDS:-3}
PEERS_ONLY=${PEERS_ONLY:-0}

# compare_setup NAME sets DIR, RESULTS, the namespace, the load tool and
# (unless PEERS_ONLY=1) the pochta binary, and installs the cleanup trap.
compare_setup() {
	DIR=$(bench_prepare_dir "${WORKDIR:-$(mktemp -d "/tmp/pochta-$1.XXXXXX")}")
	RESULTS=$DIR/results
	mkdir -p "$RESULTS" "$DIR/logs" "$DIR/run"
	export BENCH_KEEP_NETNS=1
	trap compare_cleanup EXIT
	trap 'exit 130' INT TERM
	bench_netns_init "$DIR"
	bench_client_init "$DIR"
	if [[ "$PEERS_ONLY" != 1 ]]; then
		pochta_init "$DIR"
	else
		bench_log "PEERS_ONLY=1: measuring the peer only (no Pochta side, no ratio)"
	fi
}

compare_cleanup() {
	local rc=$?
	pss_sampler_stop
	if [[ -n "${DIR:-}" && -d "$DIR" ]]; then
		pochta_stop "$DIR" || true
		"$BENCH_LIB_DIR/postfix-stop.sh" "$DIR" || true
		"$BENCH_LIB_DIR/dovecot-stop.sh" "$DIR" || true
		BENCH_KEEP_NETNS=0 bench_netns_release "$DIR" || true
		if [[ "${KEEP:-0}" == 1 || $rc -ne 0 ]]; then
			bench_log "results and logs kept in $DIR"
		else
			rm -rf "$DIR"
		fi
	fi
	exit "$rc"
}

# compare_where describes the sides and the network for a header line.
compare_where() {
	local peer=$1 who
	if [[ "$PEERS_ONLY" == 1 ]]; then who="peer only: $peer"; else who="Pochta vs $peer"; fi
	if [[ -n "${NETNS:-}" ]]; then
		echo "$who; $ROUNDS rounds; namespace $NETNS"
	else
		echo "$who; $ROUNDS rounds; plain loopback (no private namespace)"
	fi
}

# compare_sides prints the sides in schedule order.
compare_sides() {
	if [[ "$PEERS_ONLY" == 1 ]]; then echo peer; else echo pochta peer; fi
}

# compare_run PREFIX runs the schedule; results go to RESULTS/PREFIX<side><i>
# and RESULTS/PREFIXnoise{1,2}.
compare_run() {
	local prefix=$1 i side
	local -a sides
	read -r -a sides <<<"$(compare_sides)"
	for ((i = 1; i <= ROUNDS; i++)); do
		for side in "${sides[@]}"; do
			compare_one "$side" "$prefix$side$i"
		done
	done
	compare_one "${sides[0]}" "${prefix}noise1"
	compare_one "${sides[0]}" "${prefix}noise2"
}

compare_one() {
	local side=$1 label=$2
	bench_log "run $label ($side)"
	run_side "$side" "$RESULTS/$label"
	printf '  %-18s %-7s %s  peakPSS=%sMiB\n' "$label" "$side" "$(row_fields "$RESULTS/$label.txt")" \
		"$(kb_to_mib "$(cat "$RESULTS/$label.pss" 2>/dev/null || echo NA)")"
}

# compare_summary PREFIX METRIC... prints, per metric, the median (min-max)
# of each side, the ratio Pochta/peer of the medians, and the noise floor
# (the ratio of the A/A pair), then errors and peak PSS.
compare_summary() {
	local prefix=$1
	shift
	local -a sides
	read -r -a sides <<<"$(compare_sides)"
	local metric side i
	echo "summary ${prefix%-} (medians of $ROUNDS runs, min-max in brackets):"
	for metric in "$@"; do
		local line="  $metric:"
		local -A med=()
		for side in "${sides[@]}"; do
			local -a vals=()
			for ((i = 1; i <= ROUNDS; i++)); do
				vals+=("$(result_field "$RESULTS/$prefix$side$i.txt" "$metric")")
			done
			med[$side]=$(median "${vals[@]}")
			line+=" $side ${med[$side]} ($(min_max "${vals[@]}"))"
		done
		if [[ "$PEERS_ONLY" != 1 ]]; then
			line+="  ratio pochta/peer $(ratio "${med[pochta]}" "${med[peer]}")"
		fi
		local n1 n2
		n1=$(result_field "$RESULTS/${prefix}noise1.txt" "$metric")
		n2=$(result_field "$RESULTS/${prefix}noise2.txt" "$metric")
		line+="  noise floor ${sides[0]}/${sides[0]} $(ratio "$n1" "$n2")"
		echo "$line"
	done
	for side in "${sides[@]}"; do
		local errs=0 e pss=()
		for ((i = 1; i <= ROUNDS; i++)); do
			e=$(result_field "$RESULTS/$prefix$side$i.txt" errors)
			[[ "$e" == NA ]] || errs=$((errs + e))
			pss+=("$(cat "$RESULTS/$prefix$side$i.pss" 2>/dev/null || echo NA)")
		done
		echo "  $side: errors over $ROUNDS runs $errs, peak PSS median $(kb_to_mib "$(median "${pss[@]}")") MiB"
	done
}
