#!/usr/bin/env bash
# compare-pop3.sh — POP3 retrieval on Pochta and on Dovecot, measured
# alternately in one run (BENCH.md, POP3 line: log in and RETR 1,000
# messages of 4 KB over one connection).
#
# Each run starts its server from an empty mailbox, fills the "pop" mailbox
# with M messages of SIZE bytes (untimed: Dovecot through its LMTP, Pochta
# through SMTP, waiting until all are in the INBOX), then times
# `pochta bench pop3` (C sessions, each RETRs the whole maildrop) and stops
# the server. Schedule: ROUNDS x (Pochta, Dovecot), then Pochta twice for
# the noise floor. PEERS_ONLY=1 measures Dovecot alone.
#
# Env: M=1000 SIZE=4096 C=1 ROUNDS=3 PEERS_ONLY=0 KEEP=0 WORKDIR=
#      POCHTA_BIN= BENCH_CMD= BENCH_POCHTA_FROM=sender@bench.test
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

M=${M:-1000}
SIZE=${SIZE:-4096}
C=${C:-1}
BENCH_POCHTA_FROM=${BENCH_POCHTA_FROM:-sender@bench.test}

compare_setup pop3

run_side() {
	local side=$1 out=$2 root
	local -a fill pop
	fill=(-n "$M" -c 4 -size "$SIZE" -timeout 10m)
	pop=(-c "$C" -pass pass -timeout 5m)
	if [[ $side == pochta ]]; then
		pochta_start "$DIR" "pop@$BENCH_POCHTA_DOMAIN:pass"
		root=$(pochta_pid "$DIR")
		fill+=(-addr "127.0.0.1:$BENCH_POCHTA_SMTP_PORT" -from "$BENCH_POCHTA_FROM" -to "pop@$BENCH_POCHTA_DOMAIN"
			-wait-imap "127.0.0.1:$BENCH_POCHTA_IMAP_PORT" -wait-user "pop@$BENCH_POCHTA_DOMAIN" -wait-pass pass)
		pop+=(-addr "127.0.0.1:$BENCH_POCHTA_POP3_PORT" -user "pop@$BENCH_POCHTA_DOMAIN")
	else
		CLEAN=1 "$BENCH_LIB_DIR/dovecot-start.sh" "$DIR"
		root=$(cat "$DIR/run/dovecot.pid")
		# LMTP delivery is synchronous: after the last 250 the mail is there.
		fill+=(-addr 127.0.0.1:10024 -lmtp -from sender@bench.test -to pop@bench.test)
		pop+=(-addr 127.0.0.1:10110 -user pop)
	fi
	bench smtp "${fill[@]}" >"$out.fill.txt" 2>&1 || bench_die "filling the maildrop failed; see $out.fill.txt"
	pss_sampler_start "$out.pss" "$root"
	bench pop3 "${pop[@]}" >"$out.txt" 2>&1 || bench_log "load tool reported a failure; see $out.txt"
	pss_sampler_stop
	if [[ $side == pochta ]]; then
		pochta_stop "$DIR"
	else
		"$BENCH_LIB_DIR/dovecot-stop.sh" "$DIR"
	fi
}

row_fields() {
	printf 'messages/s=%-8s MB/s=%-6s seconds=%-7s messages=%-5s errors=%s' "$(result_field "$1" messages_per_s)" \
		"$(awk -v b="$(result_field "$1" bytes_per_s)" 'BEGIN { if (b == "NA") print b; else printf "%.1f", b / 1e6 }')" \
		"$(result_field "$1" seconds)" "$(result_field "$1" messages)" "$(result_field "$1" errors)"
}

echo "== compare-pop3: $(compare_where "Dovecot $(dovecot --version | cut -d' ' -f1)"); $M messages of $SIZE bytes, $C session(s)"
compare_run ""
compare_summary "" messages_per_s
