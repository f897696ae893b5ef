package subscriber

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Results of one received message (label values of messages_total).
const (
	resultQueued    = "queued"    // a new download task is in the queue
	resultDuplicate = "duplicate" // the task id was already queued (other broker or replica)
	resultMalformed = "malformed" // not a usable notification; dropped
	resultUnrouted  = "unrouted"  // no subscription matches the topic (just removed)
)

// promMetrics are the process-local metrics served on the ops port. The
// product-wide counters live in Redis (internal/metrics) and are exposed by
// the API.
type promMetrics struct {
	connected     prometheus.Gauge
	connects      prometheus.Counter
	connectErrors prometheus.Counter
	messages      *prometheus.CounterVec
	enqueueErrors prometheus.Counter
	commands      *prometheus.CounterVec
	reconciles    *prometheus.CounterVec
}

func newPromMetrics(reg prometheus.Registerer, broker string, counts func() (subs, filters int)) (*promMetrics, error) {
	const ns, sub = "wis2downloader", "subscriber"
	constLabels := prometheus.Labels{"broker": broker}
	m := &promMetrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "connected", ConstLabels: constLabels,
			Help: "1 while the MQTT connection to the Global Broker is up, else 0.",
		}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "connections_total", ConstLabels: constLabels,
			Help: "Successful MQTT connections (the first one and every reconnection).",
		}),
		connectErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "connect_errors_total", ConstLabels: constLabels,
			Help: "Failed MQTT connection attempts.",
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "messages_total", ConstLabels: constLabels,
			Help: "Received MQTT messages by result: queued, duplicate, malformed, unrouted.",
		}, []string{"result"}),
		enqueueErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "enqueue_errors_total", ConstLabels: constLabels,
			Help: "Failed attempts to put a task in the queue (each is retried; nothing is dropped).",
		}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "commands_total",
			Help: "Subscription commands received on the pub/sub channel, by action (invalid for rejected ones).",
		}, []string{"action"}),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "reconciliations_total",
			Help: "Reconciliations of the subscriptions with Redis, by result: ok, changed, error.",
		}, []string{"result"}),
	}
	subsGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: sub, Name: "subscriptions",
		Help: "Subscriptions the subscriber routes messages to.",
	}, func() float64 { n, _ := counts(); return float64(n) })
	filtersGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: sub, Name: "topic_filters",
		Help: "Distinct topic filters subscribed on the broker.",
	}, func() float64 { _, n := counts(); return float64(n) })
	for _, r := range []string{resultQueued, resultDuplicate, resultMalformed, resultUnrouted} {
		m.messages.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.connected, m.connects, m.connectErrors, m.messages, m.enqueueErrors, m.commands, m.reconciles, subsGauge, filtersGauge} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
