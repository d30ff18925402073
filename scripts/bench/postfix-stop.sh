#!/usr/bin/env bash
# postfix-stop.sh DIR — stop the Postfix instance started by
# postfix-start.sh DIR (`postfix -c DIR/conf/postfix stop`), then release
# the bench namespace if nothing else runs in it.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
if [[ -f "$DIR/run/postfix.pid" ]]; then
	pid=$(cat "$DIR/run/postfix.pid")
	if kill -0 "$pid" 2>/dev/null; then
		bench_netns_init "$DIR"
		nsexec postfix -c "$DIR/conf/postfix" stop >>"$DIR/logs/postfix.stdout" 2>&1 || true
		deadline=$((SECONDS + 20))
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.1
		done
	fi
	stop_pid "$DIR/run/postfix.pid" postfix 5
fi
bench_netns_release "$DIR"
