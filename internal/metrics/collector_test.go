package metrics_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/telemetry"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

const queue = "downloads"

// serve serves a registry with the collector over HTTP, like the API does.
func serve(t *testing.T, rdb *redis.Client, logs io.Writer) string {
	t.Helper()
	reg := telemetry.NewRegistry()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	reg.MustRegister(metrics.NewCollector(rdb, insp, queue, 2*time.Second, slog.New(slog.NewTextHandler(logs, nil))))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// scrape returns the exposition text at url.
func scrape(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/plain") // what promtool and curl read
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: HTTP %d: %s", resp.StatusCode, body)
	}
	return string(body)
}

func parse(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse exposition: %v\n%s", err, text)
	}
	return fams
}

// value finds the sample of family name whose labels equal want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	t.Helper()
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			if got[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		if c := m.GetCounter(); c != nil {
			return c.GetValue(), true
		}
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

func TestCollectorExposesCatalogue(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	weird := "quote\" backslash\\ newline\n end"
	p := rdb.Pipeline()
	metrics.Add(ctx, p, metrics.Notifications, metrics.Labels{"status": "success"}, 5)
	metrics.Add(ctx, p, metrics.NotificationsReceived, metrics.Labels{"broker": "globalbroker.meteo.fr"}, 9)
	metrics.Add(ctx, p, metrics.QueueErrors, metrics.Labels{"broker": "globalbroker.meteo.fr"}, 1)
	metrics.Add(ctx, p, metrics.Downloads, metrics.Labels{"cache": weird, "media_type": "application/bufr"}, 3)
	metrics.Add(ctx, p, metrics.DownloadsBytes, metrics.Labels{"cache": weird, "media_type": "application/bufr"}, 3000)
	metrics.Set(ctx, p, metrics.DiskFree, metrics.Labels{}, 1e9)
	// Same labels spelt without spaces (another writer): summed.
	p.HSet(ctx, metrics.Key(metrics.Notifications), `{"status":"success"}`, "2")
	// Labels that do not fit the catalogue, and a value that is no number: skipped.
	p.HSet(ctx, metrics.Key(metrics.Failed), `{"foo": "x"}`, "1", `{"cache": "a", "reason": "b"}`, "not-a-number",
		`{"cache": "a", "reason": "timeout"}`, "4")
	// A metric outside the catalogue is never exported.
	p.HSet(ctx, metrics.KeyPrefix+"something_else", `{}`, "1")
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// One pending task in the download queue.
	ac := asynq.NewClientFromRedisClient(rdb)
	if _, err := ac.Enqueue(asynq.NewTask("download", []byte("{}")), asynq.Queue(queue)); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	before, _ := rdb.DBSize(ctx).Result()
	url := serve(t, rdb, &logs)
	text := scrape(t, url)
	text2 := scrape(t, url)
	fams := parse(t, text)
	parse(t, text2)
	after, _ := rdb.DBSize(ctx).Result()
	if before != after {
		t.Errorf("scrape changed Redis: %d keys before, %d after", before, after)
	}

	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"wis2downloader_notifications_total", map[string]string{"status": "success"}, 7},
		{"wis2downloader_notifications_received_total", map[string]string{"broker": "globalbroker.meteo.fr"}, 9},
		{"wis2downloader_queue_errors_total", map[string]string{"broker": "globalbroker.meteo.fr"}, 1},
		{"wis2downloader_downloads_total", map[string]string{"cache": weird, "media_type": "application/bufr"}, 3},
		{"wis2downloader_downloads_bytes_total", map[string]string{"cache": weird, "media_type": "application/bufr"}, 3000},
		{"wis2downloader_failed_total", map[string]string{"cache": "a", "reason": "timeout"}, 4},
		{"wis2downloader_disk_free_bytes", map[string]string{}, 1e9},
		{"wis2downloader_celery_queue_length", map[string]string{"queue_name": queue}, 1},
		{"wis2downloader_redis_up", map[string]string{}, 1},
	}
	for _, c := range checks {
		got, ok := value(t, fams, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if n := len(fams["wis2downloader_failed_total"].GetMetric()); n != 1 {
		t.Errorf("failed_total has %d samples, want 1 (bad fields skipped)", n)
	}
	if fams["wis2downloader_notifications_total"].GetType() != dto.MetricType_COUNTER ||
		fams["wis2downloader_disk_free_bytes"].GetType() != dto.MetricType_GAUGE {
		t.Error("wrong metric types")
	}
	for name := range fams {
		if strings.Contains(name, "something_else") {
			t.Errorf("%s exported though not in the catalogue", name)
		}
	}
	if fams["go_goroutines"] == nil || fams["process_cpu_seconds_total"] == nil {
		t.Error("Go and process metrics missing")
	}
	if n := strings.Count(logs.String(), "do not match the catalogue"); n != 1 {
		t.Errorf("bad fields logged %d times over two scrapes, want once:\n%s", n, logs.String())
	}
	promtool(t, text)
}

func TestCollectorQueueMissingAndRedisDown(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	url := serve(t, rdb, io.Discard)
	fams := parse(t, scrape(t, url))
	if v, ok := value(t, fams, "wis2downloader_celery_queue_length", map[string]string{"queue_name": queue}); !ok || v != 0 {
		t.Errorf("queue length of a missing queue = %v %v, want 0", v, ok)
	}
	r.Stop()
	fams = parse(t, scrape(t, url))
	if v, ok := value(t, fams, "wis2downloader_redis_up", map[string]string{}); !ok || v != 0 {
		t.Errorf("redis_up with Redis stopped = %v %v, want 0", v, ok)
	}
	if fams["go_goroutines"] == nil {
		t.Error("Go metrics missing while Redis is down")
	}
}

// promtool runs `promtool check metrics`, which must print nothing.
func promtool(t *testing.T, text string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (apt-get install -y prometheus): %v", err)
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
