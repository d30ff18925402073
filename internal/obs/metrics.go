package obs

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Door names used as the "door" label: the ways a client reaches Pochta.
const (
	DoorSMTP       = "smtp"       // incoming mail from other servers
	DoorSubmission = "submission" // SMTP submission by users (587, 465)
	DoorIMAP       = "imap"
	DoorPOP3       = "pop3"
	DoorMAPI       = "mapi"
	DoorWebmail    = "webmail"
	DoorAPI        = "api"
	// DoorHTTP is the HTTP listeners as a whole (MAPI, webmail, API and
	// Autodiscover share them), where connections are limited.
	DoorHTTP = "http"
)

// Delivery results used as the "result" label of DeliveriesTotal.
const (
	DeliveryDelivered = "delivered" // stored in a local mailbox, or accepted by the remote server
	DeliveryDeferred  = "deferred"  // temporary failure, will be retried
	DeliveryFailed    = "failed"    // permanent failure, bounced
)

// Metrics owns a Prometheus registry (never the global one, so tests and
// several servers in one process do not collide) and the collectors shared
// by every component. Components register their own collectors on Registry.
// A nil *Metrics is valid: Recover still recovers and logs, nothing is
// counted.
type Metrics struct {
	Registry *prometheus.Registry

	// Panics counts recovered panics by component (imap, smtp, queue, ...).
	Panics *prometheus.CounterVec
	// AuthFailures counts failed authentications by door.
	AuthFailures *prometheus.CounterVec
	// Connections is the number of open client connections by door.
	Connections *prometheus.GaugeVec
	// Deliveries counts delivery attempts per recipient by result.
	Deliveries *prometheus.CounterVec
	// ConnectionsRefused counts connections refused by a connection limit,
	// by door and reason (per_ip, total).
	ConnectionsRefused *prometheus.CounterVec
}

// NewMetrics makes a registry with the Go runtime and process collectors and
// the shared pochta_* collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pochta_panics_total",
			Help: "Panics recovered at goroutine and connection boundaries, by component.",
		}, []string{"component"}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pochta_auth_failures_total",
			Help: "Failed authentication attempts, by door.",
		}, []string{"door"}),
		Connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pochta_connections",
			Help: "Open client connections, by door.",
		}, []string{"door"}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pochta_deliveries_total",
			Help: "Delivery attempts per recipient, by result (delivered, deferred, failed).",
		}, []string{"result"}),
		ConnectionsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pochta_connections_refused_total",
			Help: "Connections refused by a connection limit, by door and reason (per_ip, total).",
		}, []string{"door", "reason"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Panics, m.AuthFailures, m.Connections, m.Deliveries, m.ConnectionsRefused,
	)
	return m
}

// Handler serves the registry in the Prometheus exposition format at
// whatever path it is mounted on (/metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Recover stops a panic from taking the whole server down. Use it as the
// first deferred call of every goroutine and connection handler:
//
//	defer metrics.Recover(log, "imap")
//
// It logs the panic value and stack once at error level, counts it in
// pochta_panics_total{component}, and does not re-panic: the goroutine ends
// and the rest of the server carries on. It must be deferred directly, not
// called from another deferred function, or recover sees nothing.
func (m *Metrics) Recover(log *slog.Logger, component string) {
	v := recover()
	if v == nil {
		return
	}
	if log == nil {
		log = slog.Default()
	}
	log.Error("panic recovered",
		slog.String("component", component),
		slog.String("panic", fmt.Sprint(v)),
		slog.String("stack", string(debug.Stack())))
	if m != nil {
		m.Panics.WithLabelValues(component).Inc()
	}
}

// Go runs fn in a new goroutine guarded by Recover.
func (m *Metrics) Go(log *slog.Logger, component string, fn func()) {
	go func() {
		defer m.Recover(log, component)
		fn()
	}()
}

// ConnOpened counts a connection on door as open and returns the function
// that counts it closed; call it with defer. Nil-safe.
func (m *Metrics) ConnOpened(door string) (closed func()) {
	if m == nil {
		return func() {}
	}
	g := m.Connections.WithLabelValues(door)
	g.Inc()
	return g.Dec
}

// AuthFailed counts a failed authentication on door. Nil-safe.
func (m *Metrics) AuthFailed(door string) {
	if m != nil {
		m.AuthFailures.WithLabelValues(door).Inc()
	}
}

// Delivered counts one recipient's delivery attempt with result
// (DeliveryDelivered, DeliveryDeferred, DeliveryFailed). Nil-safe.
func (m *Metrics) Delivered(result string) {
	if m != nil {
		m.Deliveries.WithLabelValues(result).Inc()
	}
}

// ConnRefused counts a connection on door refused by a connection limit for
// reason (per_ip, total). Nil-safe.
func (m *Metrics) ConnRefused(door, reason string) {
	if m != nil {
		m.ConnectionsRefused.WithLabelValues(door, reason).Inc()
	}
}
