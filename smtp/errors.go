package smtp

import gosmtp "github.com/emersion/go-smtp"

// The replies a client can get from us besides go-smtp's own. Texts are
// generic: the cause goes to the log, never to the client.
func reply(code int, class, subject, detail int, msg string) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: code, EnhancedCode: gosmtp.EnhancedCode{class, subject, detail}, Message: msg}
}

var (
	// RFC 3463 X.4.3: directory (routing) server failure.
	errDirectoryTemp = reply(451, 4, 4, 3, "Directory temporarily unavailable, try again later")
	// RFC 3463 X.3.0: other or undefined mail system status.
	errStoreTemp = reply(451, 4, 3, 0, "Temporary local problem, try again later")

	errUnknownUser    = reply(550, 5, 1, 1, "No such user here")
	errDisabledUser   = reply(550, 5, 2, 1, "Mailbox disabled")
	errBadRcptSyntax  = reply(501, 5, 1, 3, "Bad recipient address syntax")
	errBadSendSyntax  = reply(501, 5, 1, 7, "Bad sender address syntax")
	errRelayDenied    = reply(554, 5, 7, 1, "Relay access denied")
	errRoutedLocal    = reply(550, 5, 7, 1, "Routed addresses are not accepted")
	errQuotaTemp      = reply(452, 4, 2, 2, "Mailbox full, try again later")
	errQuotaPerm      = reply(552, 5, 2, 2, "Mailbox full")
	errNotOwner       = reply(553, 5, 7, 1, "Sender address not owned by the authenticated user")
	errFromNotOwner   = reply(553, 5, 7, 1, "From header address not owned by the authenticated user")
	errNullSubmission = reply(553, 5, 7, 1, "Submission with the null sender is not allowed")
	errAuthRequired   = reply(530, 5, 7, 0, "Authentication required")
	errTLSRequired    = reply(523, 5, 7, 10, "Encryption required for authentication")
	errAuthThrottled  = reply(454, 4, 7, 0, "Too many failed authentication attempts, try again later")
	errAuthTemp       = reply(454, 4, 7, 0, "Temporary authentication failure")
	errAuthzRefused   = reply(535, 5, 7, 8, "Authentication failed")
	errDataTimeout    = reply(451, 4, 4, 2, "Timeout while receiving the message")
)
