// Package metrics stores counters and gauges in Redis hashes
// (wis2:metrics:<name>, field = JSON of the sorted labels, value = float) so
// that any number of workers and subscribers add up, and lists the catalogue
// the API exposes under the wis2downloader_ prefix.
package metrics

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// KeyPrefix starts every metric hash key.
const KeyPrefix = "wis2:metrics:"

// Prefix starts every exposed metric name.
const Prefix = "wis2downloader_"

// Metric names (the short names, as in the Redis keys).
const (
	NotificationsReceived = "notifications_received_total"
	QueueErrors           = "queue_errors_total"
	Notifications         = "notifications_total"
	Downloads             = "downloads_total"
	DownloadsBytes        = "downloads_bytes_total"
	Skipped               = "skipped_total"
	Failed                = "failed_total"
	DiskTotal             = "disk_total_bytes"
	DiskUsed              = "disk_used_bytes"
	DiskFree              = "disk_free_bytes"
	DiskDownloads         = "disk_downloads_bytes"
	QueueLength           = "celery_queue_length" // served from the asynq inspector
)

// Kind is counter or gauge.
type Kind int

// Kinds of metrics.
const (
	Counter Kind = iota
	Gauge
)

// Def describes one exposed metric.
type Def struct {
	Name   string
	Kind   Kind
	Help   string
	Labels []string
}

// Catalogue lists every metric stored in Redis and exposed by the API (table
// 4.1.1 of the admin guide).
func Catalogue() []Def {
	return []Def{
		{NotificationsReceived, Counter, "MQTT messages received before queuing", []string{"broker"}},
		{Notifications, Counter, "Notifications processed by the workers", []string{"status"}},
		{Downloads, Counter, "Successfully downloaded files", []string{"cache", "media_type"}},
		{DownloadsBytes, Counter, "Bytes downloaded", []string{"cache", "media_type"}},
		{Skipped, Counter, "Skipped notifications by reason", []string{"reason"}},
		{Failed, Counter, "Failed downloads", []string{"cache", "reason"}},
		{QueueErrors, Counter, "Failures to queue a download task from the subscriber", []string{"broker"}},
		{DiskTotal, Gauge, "Total disk capacity of the download volume", nil},
		{DiskUsed, Gauge, "Disk space used on the download volume", nil},
		{DiskFree, Gauge, "Disk space available on the download volume", nil},
		{DiskDownloads, Gauge, "Bytes used by downloaded files", nil},
	}
}

// Key is the Redis hash of a metric.
func Key(name string) string { return KeyPrefix + name }

// Labels are metric labels.
type Labels map[string]string

// Field encodes labels as the hash field: JSON with sorted keys in Python's
// json.dumps(sort_keys=True) spacing, so data written by the original and by
// this implementation is the same series.
func (l Labels) Field() string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(l[k])
		b.Write(kb)
		b.WriteString(": ")
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.String()
}

// ParseField decodes a hash field back into labels.
func ParseField(f string) (Labels, error) {
	var l Labels
	if err := json.Unmarshal([]byte(f), &l); err != nil {
		return nil, err
	}
	return l, nil
}

// Add queues an increment on p (a pipeline or transaction of the caller).
func Add(ctx context.Context, p redis.Cmdable, name string, l Labels, v float64) {
	p.HIncrByFloat(ctx, Key(name), l.Field(), v)
}

// Set queues a gauge write on p.
func Set(ctx context.Context, p redis.Cmdable, name string, l Labels, v float64) {
	p.HSet(ctx, Key(name), l.Field(), strconv.FormatFloat(v, 'f', -1, 64))
}
