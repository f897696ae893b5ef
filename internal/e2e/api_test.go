package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// apiClient talks to the subscription API with the bearer token.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// do sends a JSON request and returns status and body.
func (a *apiClient) do(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Subscribe creates a subscription and returns its id.
func (a *apiClient) Subscribe(t testing.TB, topic, target string) string {
	t.Helper()
	return a.SubscribeFiltered(t, topic, target, nil)
}

// SubscribeFiltered creates a subscription with a filter (nil: none).
func (a *apiClient) SubscribeFiltered(t testing.TB, topic, target string, filter any) string {
	t.Helper()
	body := map[string]any{"topic": topic}
	if target != "" {
		body["target"] = target
	}
	if filter != nil {
		body["filter"] = filter
	}
	status, b := a.do(t, http.MethodPost, "/subscriptions", body)
	if status != http.StatusCreated {
		t.Fatalf("POST /subscriptions %s: want 201, got %d %s", topic, status, b)
	}
	var sub struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &sub); err != nil || sub.ID == "" {
		t.Fatalf("POST /subscriptions: no id in %s (%v)", b, err)
	}
	return sub.ID
}

// Unsubscribe deletes a subscription.
func (a *apiClient) Unsubscribe(t testing.TB, id string) {
	t.Helper()
	status, b := a.do(t, http.MethodDelete, "/subscriptions/"+id, nil)
	if status != http.StatusOK && status != http.StatusNoContent {
		t.Fatalf("DELETE /subscriptions/%s: want 200, got %d %s", id, status, b)
	}
}

// sample is one series of a scrape.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// metrics is one scrape of /metrics, keyed by seriesKey.
type metrics map[string]sample

// seriesKey is name{label="value",...} with sorted labels.
func seriesKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Metrics scrapes the API's /metrics (no token needed) and parses it.
func (a *apiClient) Metrics(t testing.TB) metrics {
	t.Helper()
	m, err := scrape(a.http, a.base+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// scrape fetches and parses a Prometheus text exposition.
func scrape(c *http.Client, url string) (metrics, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET %s: HTTP %d %s", url, resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", url, err)
	}
	out := metrics{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			var v float64
			switch {
			case m.Counter != nil:
				v = m.GetCounter().GetValue()
			case m.Gauge != nil:
				v = m.GetGauge().GetValue()
			case m.Untyped != nil:
				v = m.GetUntyped().GetValue()
			default:
				continue
			}
			out[seriesKey(name, labels)] = sample{name: name, labels: labels, value: v}
		}
	}
	return out, nil
}

// Sum adds every series of metric name whose labels include want.
func (m metrics) Sum(name string, want map[string]string) float64 {
	var total float64
	for _, s := range m {
		if s.name == name && hasLabels(s.labels, want) {
			total += s.value
		}
	}
	return total
}

func hasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Diff lists the series that changed from before to m, as "series: +delta",
// leaving out the metric names skip says to ignore.
func (m metrics) Diff(before metrics, skip func(name string) bool) []string {
	var out []string
	for k, s := range m {
		if skip != nil && skip(s.name) {
			continue
		}
		if d := s.value - before[k].value; d != 0 {
			out = append(out, fmt.Sprintf("%s: %+g", k, d))
		}
	}
	sort.Strings(out)
	return out
}

// newAPIClient returns a client for base with token.
func newAPIClient(base, token string) *apiClient {
	return &apiClient{base: base, token: token, http: &http.Client{Timeout: 10 * time.Second}}
}
