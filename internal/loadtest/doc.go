// Package loadtest holds the client side of `pochta bench`: load generators
// for SMTP/LMTP, IMAP and POP3 that work against any server (Pochta, Postfix,
// Dovecot, ...), so that Pochta's speed can be reported as a ratio against a
// peer measured in the same run (see BENCH.md and scripts/bench/).
//
// Each tool is a function taking the sub-command's arguments and a writer for
// its report: RunSMTP, RunIMAP and RunPOP3. They parse their own flags with
// flag.NewFlagSet; "-h" prints the usage and returns flag.ErrHelp.
//
// Every report ends with one machine-readable line that starts with
// "result <tool>" followed by key=value pairs; the scripts in scripts/bench
// read their figures from it. Latencies are milliseconds, rates per second.
//
// All loads are bounded: SMTP by the message count (-n) and an overall
// -timeout, IMAP by -duration (plus a short grace after which connections are
// closed), POP3 by the size of the maildrop and -timeout.
package loadtest
