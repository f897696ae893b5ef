package stack

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/telemetry"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// serviceOwnMetrics are exposed by a service's own /metrics rather than the
// API's (scraped by Prometheus jobs subscriber and worker), plus Prometheus'
// synthetic up series.
var serviceOwnMetrics = []string{
	"wis2downloader_subscriber_connected", // internal/subscriber, gauge {broker}
	"up",
}

// exposedMetrics returns every metric name the API's /metrics serves when
// each catalogue metric has data: the Redis-backed collector on the service
// registry (go_*, process_*), gathered for real from a redis-server.
func exposedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	srv := testsvc.StartRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	pipe := rdb.Pipeline()
	for _, d := range metrics.Catalogue() {
		l := metrics.Labels{}
		for _, name := range d.Labels {
			l[name] = "x"
		}
		if d.Kind == metrics.Gauge {
			metrics.Set(ctx, pipe, d.Name, l, 1)
		} else {
			metrics.Add(ctx, pipe, d.Name, l, 1)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: srv.Addr, Password: srv.Password})
	t.Cleanup(func() { _ = insp.Close() })

	reg := telemetry.NewRegistry()
	c := metrics.NewCollector(rdb, insp, "downloads", 5*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		names[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" || f.GetType().String() == "SUMMARY" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+s] = true
			}
		}
	}
	for _, d := range metrics.Catalogue() {
		if !names[metrics.Prefix+d.Name] {
			t.Fatalf("the collector did not expose %s%s", metrics.Prefix, d.Name)
		}
	}
	for _, n := range serviceOwnMetrics {
		names[n] = true
	}
	return names
}

// promqlIgnored are PromQL words that are not metric names.
var promqlIgnored = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true,
	"inf": true, "nan": true,
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promVariables = regexp.MustCompile(`\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)
	promIdent     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	promDuration  = regexp.MustCompile(`\b(\d+(ms|[smhdwy]))+\b`)
	promNumber    = regexp.MustCompile(`\b\d+(\.\d+)?([eE][+-]?\d+)?\b`)
)

// promqlMetricNames returns the metric names a PromQL expression reads: the
// identifiers left after removing strings, label matchers, ranges, grouping
// clauses, Grafana variables, function calls and keywords.
func promqlMetricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, " ")
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRanges.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	s = promVariables.ReplaceAllString(s, " ")
	s = promDuration.ReplaceAllString(s, " ")
	s = promNumber.ReplaceAllString(s, " ")
	var names []string
	for _, m := range promIdent.FindAllString(s, -1) {
		if strings.HasSuffix(m, "(") || promqlIgnored[strings.ToLower(m)] {
			continue // a function call or a keyword
		}
		names = append(names, m)
	}
	sort.Strings(names)
	return names
}

func TestPromQLMetricNames(t *testing.T) {
	for expr, want := range map[string]string{
		`sum(rate(wis2downloader_downloads_total[5m])) * 60`:                                           "wis2downloader_downloads_total",
		`sum by (cache, media_type) (increase(wis2downloader_downloads_bytes_total{cache!="x"}[24h]))`: "wis2downloader_downloads_bytes_total",
		`max(wis2downloader_disk_used_bytes) / max(wis2downloader_disk_total_bytes)`:                   "wis2downloader_disk_total_bytes wis2downloader_disk_used_bytes",
		`up{job=~"$job"} == 0 or on(instance) process_open_fds offset 5m`:                              "process_open_fds up",
		`sum without (instance) (rate(wis2downloader_typo_total[$__rate_interval]))`:                   "wis2downloader_typo_total",
		`histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))`:        "http_request_duration_seconds_bucket",
	} {
		if got := strings.Join(promqlMetricNames(expr), " "); got != want {
			t.Errorf("promqlMetricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}
