package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
)

// QueueInspector is the part of *asynq.Inspector the collector uses.
type QueueInspector interface {
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
	Queues() ([]string, error)
}

// Collector exposes the metric hashes of Catalogue as Prometheus metrics
// (wis2downloader_<name>) and the download queue length as
// wis2downloader_celery_queue_length{queue_name}. It only reads Redis: one
// pipeline of HGETALLs per scrape, nothing written (W-14).
type Collector struct {
	rdb     redis.Cmdable
	insp    QueueInspector
	queue   string
	logger  *slog.Logger
	timeout time.Duration
	defs    []Def
	descs   []*prometheus.Desc
	queueD  *prometheus.Desc
	upD     *prometheus.Desc

	mu     sync.Mutex
	warned map[string]bool               // metric names already logged for bad fields
	fields map[string]map[string]*parsed // per metric: hash field → label values
}

// parsed is a decoded hash field: the label values in catalogue order, or
// ok=false when the field does not fit the catalogue.
type parsed struct {
	labels []*dto.LabelPair // sorted by name, shared read-only by every scrape
	key    string           // values joined, identifies the series
	ok     bool
}

// maxCachedFields bounds the parsed-field cache of one metric.
const maxCachedFields = 100_000

// NewCollector returns a collector reading metric hashes from rdb and the
// length of queue from insp. timeout bounds the Redis reads of one scrape.
func NewCollector(rdb redis.Cmdable, insp QueueInspector, queue string, timeout time.Duration, logger *slog.Logger) *Collector {
	c := &Collector{
		rdb: rdb, insp: insp, queue: queue, logger: logger, timeout: timeout,
		defs:   Catalogue(),
		warned: map[string]bool{},
		fields: map[string]map[string]*parsed{},
	}
	for _, d := range c.defs {
		c.descs = append(c.descs, prometheus.NewDesc(Prefix+d.Name, d.Help, d.Labels, nil))
	}
	c.queueD = prometheus.NewDesc(Prefix+QueueLength, "Download tasks waiting in the queue (asynq pending tasks)", []string{"queue_name"}, nil)
	c.upD = prometheus.NewDesc(Prefix+"redis_up", "1 when the API could read the metrics from Redis during this scrape, else 0", nil, nil)
	return c
}

// Describe sends the descriptors of every metric the collector can emit.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	ch <- c.queueD
	ch <- c.upD
}

// Collect reads every metric hash in one pipeline and the queue length.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	cmds := make([]*redis.MapStringStringCmd, len(c.defs))
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range c.defs {
			cmds[i] = p.HGetAll(ctx, Key(d.Name))
		}
		return nil
	})
	if err != nil {
		c.logger.Warn("metrics: read from Redis failed", "error", err)
		ch <- prometheus.MustNewConstMetric(c.upD, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.upD, prometheus.GaugeValue, 1)
	for i, d := range c.defs {
		c.collectHash(ch, i, d, cmds[i].Val())
	}
	n, err := c.queueLength()
	if err != nil {
		c.logger.Warn("metrics: queue length unavailable", "queue", c.queue, "error", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.queueD, prometheus.GaugeValue, float64(n), c.queue)
}

// collectHash emits one sample per label set. Fields written with another
// spelling of the same labels are summed (counters) or the last one wins
// (gauges), so a scrape never fails on duplicates.
func (c *Collector) collectHash(ch chan<- prometheus.Metric, i int, d Def, hash map[string]string) {
	if len(hash) == 0 {
		return
	}
	type sample struct {
		labels []*dto.LabelPair
		v      float64
	}
	samples := make(map[string]*sample, len(hash))
	order := make([]string, 0, len(hash))
	bad := 0
	for field, raw := range hash {
		p := c.parse(d, field)
		v, err := strconv.ParseFloat(raw, 64)
		if !p.ok || err != nil {
			bad++
			continue
		}
		key := p.key
		if s, ok := samples[key]; ok {
			if d.Kind == Counter {
				s.v += v
			} else {
				s.v = v
			}
			continue
		}
		samples[key] = &sample{labels: p.labels, v: v}
		order = append(order, key)
	}
	if bad > 0 {
		c.warnOnce(d.Name, bad)
	}
	for _, k := range order {
		s := samples[k]
		ch <- storedMetric{desc: c.descs[i], kind: d.Kind, labels: s.labels, v: s.v}
	}
}

// parse decodes a hash field into label values in the catalogue's order,
// caching the result (fields repeat on every scrape).
func (c *Collector) parse(d Def, field string) *parsed {
	c.mu.Lock()
	m := c.fields[d.Name]
	if m == nil {
		m = map[string]*parsed{}
		c.fields[d.Name] = m
	}
	p, hit := m[field]
	c.mu.Unlock()
	if hit {
		return p
	}
	p = &parsed{}
	if l, err := ParseField(field); err == nil && len(l) == len(d.Labels) {
		values := make([]string, len(d.Labels))
		p.ok = true
		for j, name := range d.Labels {
			v, has := l[name]
			if !has || !utf8.ValidString(v) {
				p.ok = false
				break
			}
			values[j] = v
			p.labels = append(p.labels, &dto.LabelPair{Name: proto.String(name), Value: proto.String(v)})
		}
		slices.SortFunc(p.labels, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
		p.key = strings.Join(values, "\xff")
	}
	c.mu.Lock()
	if len(m) >= maxCachedFields {
		clear(m)
	}
	m[field] = p
	c.mu.Unlock()
	return p
}

func (c *Collector) warnOnce(name string, bad int) {
	c.mu.Lock()
	seen := c.warned[name]
	c.warned[name] = true
	c.mu.Unlock()
	if !seen {
		c.logger.Warn("metrics: skipping hash fields whose labels do not match the catalogue (logged once per metric)",
			"key", Key(name), "fields", bad, "labels", slices.Clone(c.labelsOf(name)))
	}
}

func (c *Collector) labelsOf(name string) []string {
	for _, d := range c.defs {
		if d.Name == name {
			return d.Labels
		}
	}
	return nil
}

// storedMetric is one sample read from Redis. Unlike prometheus.NewConstMetric
// it reuses label pairs built (and checked against the catalogue) once per
// hash field, so a scrape of many series allocates little.
type storedMetric struct {
	desc   *prometheus.Desc
	kind   Kind
	labels []*dto.LabelPair
	v      float64
}

func (m storedMetric) Desc() *prometheus.Desc { return m.desc }

func (m storedMetric) Write(out *dto.Metric) error {
	out.Label = m.labels
	if m.kind == Counter {
		out.Counter = &dto.Counter{Value: proto.Float64(m.v)}
	} else {
		out.Gauge = &dto.Gauge{Value: proto.Float64(m.v)}
	}
	return nil
}

// queueLength is the number of pending tasks; a queue that does not exist
// yet (nothing ever enqueued) has length 0.
func (c *Collector) queueLength() (int, error) {
	info, err := c.insp.GetQueueInfo(c.queue)
	if err == nil {
		return info.Pending, nil
	}
	queues, qerr := c.insp.Queues()
	if qerr != nil {
		return 0, fmt.Errorf("queue info: %w", err)
	}
	if !slices.Contains(queues, c.queue) {
		return 0, nil
	}
	return 0, fmt.Errorf("queue info: %w", err)
}
