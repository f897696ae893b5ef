package download

import "github.com/prometheus/client_golang/prometheus"

// observer holds the worker's local Prometheus metrics (served on the
// worker's own /metrics; the shared counters live in Redis).
type observer struct {
	seconds    *prometheus.HistogramVec
	bytes      prometheus.Histogram
	unverified *prometheus.CounterVec
	retries    *prometheus.CounterVec
}

func newObserver(reg prometheus.Registerer) *observer {
	o := &observer{
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wis2downloader_worker_download_seconds",
			Help:    "Time to process one download task, by final status",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"status"}),
		bytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wis2downloader_worker_file_bytes",
			Help:    "Size of stored files",
			Buckets: prometheus.ExponentialBuckets(1024, 8, 9),
		}),
		unverified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wis2downloader_worker_unverified_total",
			Help: "Files stored without integrity verification (no integrity, unsupported method)",
		}, []string{"reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wis2downloader_worker_retries_total",
			Help: "Download attempts that will be retried, by reason",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(o.seconds, o.bytes, o.unverified, o.retries)
	}
	return o
}
