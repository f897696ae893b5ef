package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"golang.org/x/sync/singleflight"
)

// metricsFormat is the exposition format served: the classic text format,
// which every Prometheus version and promtool read.
var metricsFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// metricsHandler serves the text exposition of a gatherer. The encoded
// result is kept for maxAge (DefaultCacheMaxAge): then one request rebuilds
// it while the others keep getting the previous one, and the very first
// requests share one build. So any number of concurrent scrapes cost one
// read of Redis.
type metricsHandler struct {
	g      prometheus.Gatherer
	maxAge time.Duration
	logger *slog.Logger

	mu         sync.Mutex
	cur        *exposition
	refreshing atomic.Bool
	sf         singleflight.Group
}

type exposition struct {
	text, gz []byte
	at       time.Time
}

func newMetricsHandler(g prometheus.Gatherer, maxAge time.Duration, logger *slog.Logger) *metricsHandler {
	return &metricsHandler{g: g, maxAge: maxAge, logger: logger}
}

func (m *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := m.get()
	writeEncoded(w, r, string(metricsFormat), e.text, e.gz)
}

func (m *metricsHandler) get() *exposition {
	m.mu.Lock()
	e := m.cur
	m.mu.Unlock()
	switch {
	case e != nil && time.Since(e.at) < m.maxAge:
		return e
	case e != nil && !m.refreshing.CompareAndSwap(false, true):
		return e // another request is rebuilding it
	case e != nil:
		defer m.refreshing.Store(false)
		return m.build()
	}
	v, _, _ := m.sf.Do("build", func() (any, error) { return m.build(), nil })
	return v.(*exposition)
}

// build gathers and encodes. A collector error is logged; what was
// gathered is still served (the Go metrics stay visible while Redis is down).
func (m *metricsHandler) build() *exposition {
	fams, err := m.g.Gather()
	if err != nil {
		m.logger.Warn("metrics: gather", "error", err)
	}
	var text bytes.Buffer
	enc := expfmt.NewEncoder(&text, metricsFormat)
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			m.logger.Warn("metrics: encode", "family", f.GetName(), "error", err)
		}
	}
	e := &exposition{text: text.Bytes(), gz: gzipped(text.Bytes()), at: time.Now()}
	m.mu.Lock()
	m.cur = e
	m.mu.Unlock()
	return e
}
