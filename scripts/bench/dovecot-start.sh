#!/usr/bin/env bash
# dovecot-start.sh DIR — start a private Dovecot for benchmarks under DIR.
#
# Config: BENCH_CONF_DIR/dovecot.conf and users (passwd-file, PLAIN), with
# @BENCH@ replaced by DIR. IMAP 127.0.0.1:10143, POP3 10110, LMTP 10024,
# maildir under DIR/data/dovecot (owned by 5000:5000). Runs `dovecot -F` in
# the background, inside the bench network namespace when permitted; the
# master's pid goes to DIR/run/dovecot.pid. Stop with dovecot-stop.sh DIR.
# CLEAN=1 empties the mail folder first (same starting state for each run).
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
command -v dovecot >/dev/null || bench_die "dovecot is not installed; run peers-install.sh"
DIR=$(bench_prepare_dir "$1")
bench_netns_init "$DIR"
CONF=$(bench_conf_dir)

if [[ -f "$DIR/run/dovecot.pid" ]] && kill -0 "$(cat "$DIR/run/dovecot.pid")" 2>/dev/null; then
	bench_die "dovecot already running for $DIR (pid $(cat "$DIR/run/dovecot.pid"))"
fi
if [[ "${CLEAN:-0}" == 1 ]]; then
	rm -rf "$DIR/data/dovecot" "$DIR/run/dovecot"
fi
mkdir -p "$DIR/conf/dovecot" "$DIR/run/dovecot/state" "$DIR/logs" "$DIR/data/dovecot"
sed "s|@BENCH@|$DIR|g" "$CONF/dovecot.conf" >"$DIR/conf/dovecot/dovecot.conf"
cp "$CONF/users" "$DIR/conf/dovecot/users"
chmod 0644 "$DIR/conf/dovecot/users"
chown -R 5000:5000 "$DIR/data/dovecot"

ensure_ports_free 10143 10110 10024
nsexec_exec dovecot -F -c "$DIR/conf/dovecot/dovecot.conf" >>"$DIR/logs/dovecot.stdout" 2>&1 &
pid=$!
echo "$pid" >"$DIR/run/dovecot.pid"
if ! wait_ports "$pid" 30 10143 10110 10024; then
	tail -20 "$DIR/logs/dovecot.log" "$DIR/logs/dovecot.stdout" >&2 2>/dev/null || true
	bench_die "dovecot did not start"
fi
bench_log "dovecot running (pid $pid${NETNS:+, namespace $NETNS}): IMAP 10143, POP3 10110, LMTP 10024"
