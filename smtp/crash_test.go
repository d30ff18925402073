package smtp

// crashChildEnv is replaced when the crash test is written.
const crashChildEnv = "POCHTA_SMTP_CRASH_CHILD"

func crashChild() {}
