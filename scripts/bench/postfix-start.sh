#!/usr/bin/env bash
# postfix-start.sh DIR — start a private Postfix instance for benchmarks.
#
# Config: BENCH_CONF_DIR/main.cf and master.cf with @BENCH@ replaced by DIR:
# smtpd on 127.0.0.1:10025, chroot off, mail for @bench.test handed to
# Dovecot's LMTP on 127.0.0.1:10024 (start Dovecot too). Queue and data
# under DIR/run/postfix, log in DIR/logs/postfix.log. Runs
# `postfix -c DIR/conf/postfix start-fg` in the background, inside the bench
# network namespace when permitted. Stop with postfix-stop.sh DIR.
# CLEAN=1 empties the queue first.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
command -v postfix >/dev/null || bench_die "postfix is not installed; run peers-install.sh"
DIR=$(bench_prepare_dir "$1")
bench_netns_init "$DIR"
CONF=$(bench_conf_dir)
PFCONF=$DIR/conf/postfix

if [[ -f "$DIR/run/postfix.pid" ]] && kill -0 "$(cat "$DIR/run/postfix.pid")" 2>/dev/null; then
	bench_die "postfix already running for $DIR (pid $(cat "$DIR/run/postfix.pid"))"
fi
if [[ "${CLEAN:-0}" == 1 ]]; then
	rm -rf "$DIR/run/postfix"
fi
mkdir -p "$PFCONF" "$DIR/run/postfix/queue" "$DIR/run/postfix/data" "$DIR/logs"
sed "s|@BENCH@|$DIR|g" "$CONF/main.cf" >"$PFCONF/main.cf"
sed "s|@BENCH@|$DIR|g" "$CONF/master.cf" >"$PFCONF/master.cf"
chown postfix "$DIR/run/postfix/data"
touch "$DIR/logs/postfix.log"

# Creates the queue folders with their owners and modes, and checks the
# config, as `postfix start` would.
postfix -c "$PFCONF" check >>"$DIR/logs/postfix.stdout" 2>&1 ||
	{ tail -20 "$DIR/logs/postfix.stdout" >&2; bench_die "postfix check failed"; }

ensure_ports_free 10025
nsexec_exec postfix -c "$PFCONF" start-fg >>"$DIR/logs/postfix.stdout" 2>&1 &
pid=$!
echo "$pid" >"$DIR/run/postfix.pid"
if ! wait_ports "$pid" 30 10025; then
	tail -20 "$DIR/logs/postfix.log" "$DIR/logs/postfix.stdout" >&2 2>/dev/null || true
	bench_die "postfix did not start"
fi
bench_log "postfix running (pid $pid${NETNS:+, namespace $NETNS}): SMTP 10025 -> LMTP 10024"
