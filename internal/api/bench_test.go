package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/subscription"
)

// load sends b.N GET requests to path from clients concurrent clients over
// keep-alive connections and reports the latency percentiles. The body is
// read but not decompressed (a client's own cost).
func load(b *testing.B, e *env, path string, clients int, encoding string) {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	get := func() (time.Duration, error) {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept-Encoding", encoding)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return time.Since(start), err
	}
	for range clients { // warm up: connections, caches
		if _, err := get(); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)
	var next sync.Mutex
	i := 0
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				next.Lock()
				n := i
				i++
				next.Unlock()
				if n >= b.N {
					return
				}
				d, err := get()
				if err != nil {
					b.Error(err)
					return
				}
				lat[n] = d
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}

// BenchmarkListSubscriptions: GET /subscriptions with 1,000 stored
// subscriptions, 50 concurrent clients. Its "rebuild-1-client" part rebuilds
// the list for every request (no reuse): the cost of one full read.
func BenchmarkListSubscriptions(b *testing.B) {
	benchEndpoint(b, "/subscriptions", seedSubscriptions)
}

// benchEndpoint loads path, seeded by seed, with concurrent clients in every
// encoding (loadEncodings), then, as "rebuild-1-client", with one client and
// responses that are never reused.
func benchEndpoint(b *testing.B, path string, seed func(*testing.B, *env)) {
	e := newEnv(b)
	seed(b, e)
	loadEncodings(b, e, path)
	b.Run("rebuild-1-client", func(b *testing.B) {
		e := newEnv(b, maxAge(time.Nanosecond))
		seed(b, e)
		load(b, e, path, 1, "gzip")
	})
}

func seedSubscriptions(b *testing.B, e *env) {
	ctx := context.Background()
	p := e.rdb.Pipeline()
	for i := range 1000 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		target := fmt.Sprintf("centre-%d/synop", i%50)
		rec := mustJSON(subscription.Subscription{
			ID: id, Topic: fmt.Sprintf("cache/a/wis2/centre-%d/data/core/weather/surface-based-observations/synop", i%200),
			SavePath: &target, Filter: []byte(`{"rules":[{"id":"bufr","order":1,"match":{"media_type":{"equals":"application/bufr"}},"action":"accept"}]}`),
		})
		p.HSet(ctx, subscription.HashKey, id, rec)
	}
	if _, err := p.Exec(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMetrics: GET /metrics with 10,000 label sets, 50 concurrent
// clients. Its "rebuild-1-client" part gathers again for every request (no
// reuse): the cost of one real scrape.
func BenchmarkMetrics(b *testing.B) {
	benchEndpoint(b, "/metrics", seedMetrics)
}

func seedMetrics(b *testing.B, e *env) {
	ctx := context.Background()
	p := e.rdb.Pipeline()
	n := 0
	for _, d := range metrics.Catalogue() {
		if len(d.Labels) == 0 {
			continue
		}
		for i := range 10000 / 7 {
			l := metrics.Labels{}
			for _, name := range d.Labels {
				l[name] = fmt.Sprintf("%s-%d", name, i)
			}
			metrics.Add(ctx, p, d.Name, l, float64(i))
			n++
		}
	}
	if _, err := p.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d label sets", n)
}

// loadEncodings runs load with gzip (what Prometheus and Go clients send)
// and without compression.
func loadEncodings(b *testing.B, e *env, path string) {
	for _, enc := range []string{"gzip", "identity"} {
		b.Run(enc, func(b *testing.B) { load(b, e, path, 50, enc) })
	}
}
