#!/usr/bin/env bash
# compare-smtp.sh — SMTP "accepted" and "delivered" rates of Pochta and of a
# peer, measured alternately in one run (BENCH.md, SMTP table).
#
#   PEER=postfix  Postfix on 10025 relaying to Dovecot LMTP (default)
#   PEER=lmtp     Dovecot LMTP on 10024 directly
#
# Each run starts its server(s) from an empty mailbox, sends N messages of
# SIZE bytes over C reused connections to one local mailbox with
# `pochta bench smtp`, waits until all are in the INBOX (IMAP STATUS), and
# stops the server(s). Schedule: ROUNDS x (Pochta, peer), then Pochta twice
# for the noise floor. PEERS_ONLY=1 measures the peer alone.
#
# Env: N=2000 C=20 SIZE=4096 ROUNDS=3 PEER=postfix PEERS_ONLY=0 KEEP=0
#      WORKDIR=(mktemp) POCHTA_BIN=(built from ./cmd/pochta) BENCH_CMD=
#      BENCH_POCHTA_FROM=sender@bench.test
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

N=${N:-2000}
C=${C:-20}
SIZE=${SIZE:-4096}
PEER=${PEER:-postfix}
BENCH_POCHTA_FROM=${BENCH_POCHTA_FROM:-sender@bench.test}
case "$PEER" in
postfix) PEER_DESC="Postfix -> Dovecot LMTP" ;;
lmtp) PEER_DESC="Dovecot LMTP direct" ;;
*) bench_die "PEER must be postfix or lmtp" ;;
esac

compare_setup smtp

run_side() {
	local side=$1 out=$2
	local -a roots args
	args=(-n "$N" -c "$C" -size "$SIZE" -timeout 10m -wait-timeout 5m)
	if [[ $side == pochta ]]; then
		pochta_start "$DIR" "bench@$BENCH_POCHTA_DOMAIN:pass"
		roots=("$(pochta_pid "$DIR")")
		args+=(-addr "127.0.0.1:$BENCH_POCHTA_SMTP_PORT" -from "$BENCH_POCHTA_FROM" -to "bench@$BENCH_POCHTA_DOMAIN"
			-wait-imap "127.0.0.1:$BENCH_POCHTA_IMAP_PORT" -wait-user "bench@$BENCH_POCHTA_DOMAIN" -wait-pass pass)
	else
		CLEAN=1 "$BENCH_LIB_DIR/dovecot-start.sh" "$DIR"
		roots=("$(cat "$DIR/run/dovecot.pid")")
		if [[ $PEER == postfix ]]; then
			CLEAN=1 "$BENCH_LIB_DIR/postfix-start.sh" "$DIR"
			roots+=("$(postfix_master_pid "$DIR")")
			args+=(-addr 127.0.0.1:10025)
		else
			args+=(-addr 127.0.0.1:10024 -lmtp)
		fi
		args+=(-from sender@bench.test -to bench@bench.test
			-wait-imap 127.0.0.1:10143 -wait-user bench -wait-pass pass)
	fi
	pss_sampler_start "$out.pss" "${roots[@]}"
	bench smtp "${args[@]}" >"$out.txt" 2>&1 || bench_log "load tool reported a failure; see $out.txt"
	pss_sampler_stop
	if [[ $side == pochta ]]; then
		pochta_stop "$DIR"
	else
		"$BENCH_LIB_DIR/postfix-stop.sh" "$DIR"
		"$BENCH_LIB_DIR/dovecot-stop.sh" "$DIR"
	fi
}

row_fields() {
	printf 'accepted/s=%-7s delivered/s=%-7s errors=%s' "$(result_field "$1" accepted_per_s)" \
		"$(result_field "$1" delivered_per_s)" "$(result_field "$1" errors)"
}

echo "== compare-smtp: $(compare_where "$PEER_DESC"); N=$N c=$C size=$SIZE"
compare_run ""
compare_summary "" accepted_per_s delivered_per_s
