package loadtest

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// maxErrorTexts is how many distinct error texts a report keeps; the count of
// all errors is always exact.
const maxErrorTexts = 5

// latencies collects durations for one kind of operation. It is not safe for
// concurrent use: each worker keeps its own and they are merged at the end,
// so that recording never contends on a lock.
type latencies struct {
	samples []time.Duration
}

func (l *latencies) add(d time.Duration) { l.samples = append(l.samples, d) }

func (l *latencies) merge(o *latencies) { l.samples = append(l.samples, o.samples...) }

// summary is the sorted view of a latencies set.
type summary struct {
	Count              int
	P50, P95, P99, Max time.Duration
}

// summarize sorts the samples and picks nearest-rank percentiles.
func (l *latencies) summarize() summary {
	if len(l.samples) == 0 {
		return summary{}
	}
	s := slices.Clone(l.samples)
	slices.Sort(s)
	return summary{
		Count: len(s),
		P50:   percentile(s, 50),
		P95:   percentile(s, 95),
		P99:   percentile(s, 99),
		Max:   s[len(s)-1],
	}
}

// percentile returns the nearest-rank percentile p (0 < p <= 100) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// ms formats a duration as milliseconds with two decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}

// rate is count per second over elapsed, 0 when nothing was timed.
func rate(count int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(count) / elapsed.Seconds()
}

// errorLog counts errors and keeps the first few distinct texts. Like
// latencies it belongs to one worker and is merged at the end.
type errorLog struct {
	count int64
	texts []string
}

func (e *errorLog) add(what string, err error) {
	e.count++
	text := what + ": " + err.Error()
	if len(e.texts) < maxErrorTexts && !slices.Contains(e.texts, text) {
		e.texts = append(e.texts, text)
	}
}

func (e *errorLog) merge(o *errorLog) {
	e.count += o.count
	for _, t := range o.texts {
		if len(e.texts) < maxErrorTexts && !slices.Contains(e.texts, t) {
			e.texts = append(e.texts, t)
		}
	}
}

func (e *errorLog) write(w io.Writer) {
	fmt.Fprintf(w, "errors: %d\n", e.count)
	for _, t := range e.texts {
		fmt.Fprintf(w, "  error: %s\n", t)
	}
}

// resultLine renders the final machine-readable line: "result TOOL k=v ...".
// Keys keep the order given so the line reads well.
type resultLine struct {
	tool string
	kv   []string
}

func (r *resultLine) set(key string, value any) {
	var s string
	switch v := value.(type) {
	case float64:
		s = fmt.Sprintf("%.1f", v)
	case time.Duration:
		s = fmt.Sprintf("%.3f", v.Seconds())
	default:
		s = fmt.Sprint(v)
	}
	r.kv = append(r.kv, key+"="+s)
}

func (r *resultLine) String() string {
	return "result " + r.tool + " " + strings.Join(r.kv, " ")
}

// writeLatencyTable prints one line per kind, sorted by name.
func writeLatencyTable(w io.Writer, byKind map[string]*latencies) {
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "%-12s %8s %9s %9s %9s %9s\n", "command", "count", "p50 ms", "p95 ms", "p99 ms", "max ms")
	for _, k := range kinds {
		s := byKind[k].summarize()
		fmt.Fprintf(w, "%-12s %8d %9s %9s %9s %9s\n", k, s.Count, ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max))
	}
}
