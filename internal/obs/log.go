// Package obs is Pochta's observability kit: the slog logger with protocol
// trace levels, the Prometheus registry with the metrics every component
// shares, and panic recovery at goroutine and connection boundaries.
package obs

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
)

// Trace levels sit below slog.LevelDebug, as in mox: protocol lines are only
// logged when the operator asks for them (log.trace in the configuration).
const (
	// LevelTrace logs protocol lines, with authentication data redacted.
	LevelTrace = slog.LevelDebug - 4
	// LevelTraceData logs message contents (DATA, APPEND literals, FETCH
	// bodies); even more verbose than LevelTrace.
	LevelTraceData = slog.LevelDebug - 8
)

// ParseLevel accepts trace, debug, info, warn and error.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "tracedata":
		return LevelTraceData, nil
	case "trace":
		return LevelTrace, nil
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("obs: unknown log level %q (want trace, debug, info, warn or error)", s)
}

// LevelName is the text written for a level: the slog names plus TRACE and
// TRACEDATA instead of "DEBUG-4" and "DEBUG-8".
func LevelName(l slog.Level) string {
	switch {
	case l <= LevelTraceData:
		return "TRACEDATA"
	case l <= LevelTrace:
		return "TRACE"
	}
	return l.String()
}

// NewLogger returns a logger writing to w at the given level ("trace",
// "debug", "info", "warn", "error") in the given format ("text" or
// "json"). cmd/pochta passes "trace" when log.trace is set.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{
		Level: lvl,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.LevelKey {
				if l, ok := a.Value.Any().(slog.Level); ok {
					a.Value = slog.StringValue(LevelName(l))
				}
			}
			return a
		},
	}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("obs: unknown log format %q (want text or json)", format)
}

// StdLogger adapts log for libraries that want a *log.Logger, such as
// go-imap's imapserver.Options.Logger and go-smtp's Server.ErrorLog: each
// line they print becomes one record at level.
func StdLogger(log *slog.Logger, level slog.Level) *log.Logger {
	return slog.NewLogLogger(log.Handler(), level)
}

// Enabled reports whether log would write a record at level; protocol code
// checks it before building trace lines.
func Enabled(log *slog.Logger, level slog.Level) bool {
	return log.Enabled(context.Background(), level)
}

// Discard returns a logger that writes nothing, for tests and for Options
// left without a logger.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
