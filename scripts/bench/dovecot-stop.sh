#!/usr/bin/env bash
# dovecot-stop.sh DIR — stop the Dovecot started by dovecot-start.sh DIR
# (TERM to the master, whose children follow), then release the bench
# namespace if nothing else runs in it.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
stop_pid "$DIR/run/dovecot.pid" dovecot 20
bench_netns_release "$DIR"
