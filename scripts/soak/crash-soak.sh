#!/usr/bin/env bash
# crash-soak.sh — the crash soak of the whole server: SMTP load against a
# real `pochta serve` (built here, scratch data folder, loopback port),
# SIGKILL at a random moment, restart, CYCLES times; then every message
# that got 250 must be in its recipients' mailboxes exactly once and whole.
# Prints cycles, messages acknowledged, lost and duplicated; exits non-zero
# when anything acknowledged was lost, duplicated or damaged.
#
#   CYCLES=100  scripts/soak/crash-soak.sh     # CI-sized run (a few minutes)
#   CYCLES=1000 scripts/soak/crash-soak.sh     # release run
#
# Environment: CYCLES (100), MAX_DURATION (bound on the run, 60m), SENDERS
# (4), SEED (reproduce a run), KEEP=1 keeps the scratch folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
CYCLES=${CYCLES:-100}
MAX_DURATION=${MAX_DURATION:-60m}
SENDERS=${SENDERS:-4}
SEED=${SEED:-0}

work=$(mktemp -d "${TMPDIR:-/tmp}/pochta-soak.XXXXXX")
cleanup() {
	if [[ "${KEEP:-}" == 1 ]]; then
		echo "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

go build -o "$work/pochta" ./cmd/pochta
go build -o "$work/crashsoak" ./scripts/soak/crashsoak
mkdir "$work/run"
"$work/crashsoak" -binary "$work/pochta" -dir "$work/run" \
	-cycles "$CYCLES" -max-duration "$MAX_DURATION" -senders "$SENDERS" -seed "$SEED"
