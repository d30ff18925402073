#!/usr/bin/env bash
# peers-install.sh — install the peers Pochta is measured against: Dovecot
# (IMAP, POP3, LMTP) and Postfix (which brings smtp-source and smtp-sink).
# Postfix is preseeded to "No configuration" so the install asks nothing
# and writes no system config; the system services are not started (the
# bench scripts run private instances).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if command -v dovecot >/dev/null && command -v postfix >/dev/null && command -v smtp-source >/dev/null &&
	[[ -x /usr/lib/dovecot/imap && -x /usr/lib/dovecot/pop3 && -x /usr/lib/dovecot/lmtp ]]; then
	echo "peers already installed: $(dovecot --version | cut -d' ' -f1), postfix $(postconf -dh mail_version)"
	exit 0
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -q --no-install-recommends \
	dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix
# The packages may have started system instances; the benchmarks want the
# machine quiet and the ports free.
for svc in dovecot postfix; do
	if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
		systemctl stop "$svc" || true
	fi
done
echo "installed: $(dovecot --version | cut -d' ' -f1), postfix $(postconf -dh mail_version)"
