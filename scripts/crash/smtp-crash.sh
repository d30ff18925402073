#!/usr/bin/env bash
# smtp-crash.sh — the SMTP durability check, repeated: a child process runs
# the MX over a store (sqlite, then a throwaway PostgreSQL), eight clients
# send 4 KB messages in a loop recording every 250, the child is killed with
# SIGKILL at a random moment (twice per backend), and the store is reopened:
# every acknowledged message must be in the Inbox, complete, and no partial
# message may be visible. See smtp/crash_test.go.
#
#   COUNT=5 scripts/crash/smtp-crash.sh
#
# With CI=true a missing PostgreSQL fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-3}
exec go test ./smtp -run '^TestCrashDuringDeliveryStorm$' -count "$COUNT" -v
