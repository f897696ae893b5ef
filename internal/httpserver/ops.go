package httpserver

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HealthFunc reports the service's health: nil when healthy. details is
// shown as JSON either way.
type HealthFunc func(ctx context.Context) (details map[string]any, err error)

// Ops serves GET /healthz (200 healthy, 503 unhealthy, JSON details) and
// GET /metrics (Prometheus text format of reg).
func Ops(reg prometheus.Gatherer, health HealthFunc) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		details, err := health(ctx)
		if details == nil {
			details = map[string]any{}
		}
		status := http.StatusOK
		details["status"] = "healthy"
		if err != nil {
			status = http.StatusServiceUnavailable
			details["status"] = "unhealthy"
			details["error"] = err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(details)
	})
	return mux
}
