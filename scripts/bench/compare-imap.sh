#!/usr/bin/env bash
# compare-imap.sh — IMAP mixed stateful workload on Pochta and on Dovecot,
# measured alternately in one run (BENCH.md, IMAP table).
#
# Each run starts its server from empty mailboxes, has `pochta bench imap`
# top each user's INBOX up to PREFILL messages (untimed), then runs C
# clients for DURATION (select, fetch flags, fetch bodies, store, append,
# expunge, noop/idle), and stops the server. Users: u1..uC with password
# "pass" (shared/bench/users; on Pochta u1@example.com...). Both variants of
# BENCH.md are measured unless VARIANTS says otherwise:
#   open       sessions kept open
#   reconnect  clients log in and out every cycle
# Schedule per variant: ROUNDS x (Pochta, Dovecot), then Pochta twice for
# the noise floor. PEERS_ONLY=1 measures Dovecot alone.
#
# Env: C=10 DURATION=20s PREFILL=20 VARIANTS="open reconnect" ROUNDS=3
#      PEERS_ONLY=0 KEEP=0 WORKDIR= POCHTA_BIN= BENCH_CMD=
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

C=${C:-10}
DURATION=${DURATION:-20s}
PREFILL=${PREFILL:-20}
VARIANTS=${VARIANTS:-open reconnect}
((C <= 10)) || bench_die "C must be at most 10: shared/bench/users has u1..u10"

compare_setup imap

run_side() {
	local side=$1 out=$2
	local -a args=(-c "$C" -duration "$DURATION" -prefill "$PREFILL" -pass pass)
	[[ $VARIANT == reconnect ]] && args+=(-reconnect)
	local root
	if [[ $side == pochta ]]; then
		local -a users=()
		local i
		for ((i = 1; i <= C; i++)); do users+=("u$i@$BENCH_POCHTA_DOMAIN:pass"); done
		pochta_start "$DIR" "${users[@]}"
		root=$(pochta_pid "$DIR")
		args+=(-addr "127.0.0.1:$BENCH_POCHTA_IMAP_PORT" -user-pattern "u%d@$BENCH_POCHTA_DOMAIN")
	else
		CLEAN=1 "$BENCH_LIB_DIR/dovecot-start.sh" "$DIR"
		root=$(cat "$DIR/run/dovecot.pid")
		args+=(-addr 127.0.0.1:10143 -user-pattern "u%d")
	fi
	pss_sampler_start "$out.pss" "$root"
	bench imap "${args[@]}" >"$out.txt" 2>&1 || bench_log "load tool reported a failure; see $out.txt"
	pss_sampler_stop
	# CPU per 1,000 commands: what each command costs the server, whatever
	# else the machine was doing.
	local cpu commands
	cpu=$(cat "$out.cpu" 2>/dev/null || echo NA)
	commands=$(result_field "$out.txt" commands)
	echo "result cpu cpu_ms_per_1k=$(awk -v c="$cpu" -v n="$commands" 'BEGIN { if (c == "NA" || n == "NA" || n + 0 == 0) print "NA"; else printf "%.1f", c * 1000 / n }')" >>"$out.txt"
	if [[ $side == pochta ]]; then
		pochta_stop "$DIR"
	else
		"$BENCH_LIB_DIR/dovecot-stop.sh" "$DIR"
	fi
}

row_fields() {
	printf 'commands/s=%-8s errors=%-5s cycles=%-6s cpu-ms/1k=%s' "$(result_field "$1" commands_per_s)" \
		"$(result_field "$1" errors)" "$(result_field "$1" cycles)" "$(result_field "$1" cpu_ms_per_1k)"
}

echo "== compare-imap: $(compare_where "Dovecot $(dovecot --version | cut -d' ' -f1)"); c=$C duration=$DURATION prefill=$PREFILL"
for VARIANT in $VARIANTS; do
	case $VARIANT in
	open | reconnect) ;;
	*) bench_die "unknown variant $VARIANT (open, reconnect)" ;;
	esac
	echo "-- variant: $VARIANT"
	compare_run "$VARIANT-"
done
for VARIANT in $VARIANTS; do
	compare_summary "$VARIANT-" commands_per_s cpu_ms_per_1k
	# The first error texts of each run, so a fast but failing server shows.
	grep -h '^  error:' "$RESULTS/$VARIANT-"*.txt 2>/dev/null | sort | uniq -c | head -5 || true
done
