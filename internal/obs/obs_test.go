package obs

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

func TestNewLoggerLevelsAndFormats(t *testing.T) {
	tests := []struct {
		level, format string
		logged        []slog.Level
		skipped       []slog.Level
	}{
		{"info", "text", []slog.Level{slog.LevelInfo, slog.LevelError}, []slog.Level{slog.LevelDebug, LevelTrace}},
		{"debug", "json", []slog.Level{slog.LevelDebug}, []slog.Level{LevelTrace}},
		{"trace", "text", []slog.Level{LevelTrace, slog.LevelDebug}, []slog.Level{LevelTraceData}},
		{"error", "json", []slog.Level{slog.LevelError}, []slog.Level{slog.LevelWarn}},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := NewLogger(&buf, tt.level, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tt.logged {
				buf.Reset()
				log.Log(t.Context(), l, "hello", "k", "v")
				if !strings.Contains(buf.String(), LevelName(l)) || !strings.Contains(buf.String(), "hello") {
					t.Errorf("level %s: got %q", LevelName(l), buf.String())
				}
				if tt.format == "json" {
					var rec map[string]any
					if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "hello" || rec["k"] != "v" {
						t.Errorf("not one JSON record: %q (%v)", buf.String(), err)
					}
				}
			}
			for _, l := range tt.skipped {
				buf.Reset()
				log.Log(t.Context(), l, "hidden")
				if buf.Len() != 0 {
					t.Errorf("level %s written at %s: %q", LevelName(l), tt.level, buf.String())
				}
			}
		})
	}
}

func TestTraceLevelIsNamed(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "trace", "text")
	if err != nil {
		t.Fatal(err)
	}
	log.Log(t.Context(), LevelTrace, "line")
	if !strings.Contains(buf.String(), "level=TRACE ") {
		t.Errorf("got %q, want level=TRACE", buf.String())
	}
}

func TestNewLoggerRefusesUnknown(t *testing.T) {
	if _, err := NewLogger(&bytes.Buffer{}, "loud", "text"); err == nil || !strings.Contains(err.Error(), "loud") {
		t.Errorf("level: err = %v", err)
	}
	if _, err := NewLogger(&bytes.Buffer{}, "info", "xml"); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("format: err = %v", err)
	}
}

func TestStdLoggerWritesRecords(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "info", "text")
	if err != nil {
		t.Fatal(err)
	}
	StdLogger(log.With("component", "imap"), slog.LevelError).Printf("accept: %v", errors.New("boom"))
	out := buf.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "accept: boom") || !strings.Contains(out, "component=imap") {
		t.Errorf("got %q", out)
	}
}

// counterValue reads one labelled counter from the registry.
func counterValue(t *testing.T, m *Metrics, name, label, value string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, metric := range f.GetMetric() {
			if hasLabel(metric, label, value) {
				if f.GetType() == dto.MetricType_GAUGE {
					return metric.GetGauge().GetValue()
				}
				return metric.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name && lp.GetValue() == value {
			return true
		}
	}
	return false
}

func TestRecoverCountsAndLogsPanicOnce(t *testing.T) {
	m := NewMetrics()
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer m.Recover(log, "imap")
		var conns map[string]int
		conns["x"]++ // nil map write: a real runtime panic
	}()
	wg.Wait()
	if got := counterValue(t, m, "pochta_panics_total", "component", "imap"); got != 1 {
		t.Errorf("pochta_panics_total{component=imap} = %v, want 1", got)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log record, got %d: %q", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["level"] != "ERROR" || rec["component"] != "imap" || !strings.Contains(rec["panic"].(string), "nil map") || !strings.Contains(rec["stack"].(string), "obs_test.go") {
		t.Errorf("record %v", rec)
	}
}

func TestRecoverWithoutPanicDoesNothing(t *testing.T) {
	m := NewMetrics()
	var buf bytes.Buffer
	log, _ := NewLogger(&buf, "debug", "text")
	func() {
		defer m.Recover(log, "smtp")
	}()
	if buf.Len() != 0 || counterValue(t, m, "pochta_panics_total", "component", "smtp") != 0 {
		t.Errorf("logged %q", buf.String())
	}
}

func TestNilMetricsStillRecovers(t *testing.T) {
	var m *Metrics
	done := make(chan struct{})
	m.Go(Discard(), "queue", func() {
		defer close(done)
		panic("boom")
	})
	<-done // reached only if the panic did not crash the test binary
	m.AuthFailed(DoorIMAP)
	m.ConnOpened(DoorPOP3)()
	m.Delivered(DeliveryFailed)
}

func TestHandlerExposesSharedMetrics(t *testing.T) {
	m := NewMetrics()
	m.AuthFailed(DoorIMAP)
	m.AuthFailed(DoorIMAP)
	closed := m.ConnOpened(DoorSMTP)
	m.ConnOpened(DoorSMTP)
	closed()
	m.Delivered(DeliveryDelivered)
	func() {
		defer m.Recover(Discard(), "mapi")
		panic("x")
	}()

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`pochta_auth_failures_total{door="imap"} 2`,
		`pochta_connections{door="smtp"} 1`,
		`pochta_deliveries_total{result="delivered"} 1`,
		`pochta_panics_total{component="mapi"} 1`,
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestMetricsAreNotGlobal(t *testing.T) {
	a, b := NewMetrics(), NewMetrics() // would panic on duplicate registration if global
	a.AuthFailed(DoorPOP3)
	if counterValue(t, b, "pochta_auth_failures_total", "door", DoorPOP3) != 0 {
		t.Error("metrics leak between registries")
	}
}
