package e2e

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// TestSubscribeDownloadUnsubscribe is the operator's main path: a
// subscription created through the REST API, notifications on both Global
// Brokers (WebSockets and TLS), every file stored once with the right bytes
// under its target, the counts in /metrics, and no download once the
// subscription is deleted.
func TestSubscribeDownloadUnsubscribe(t *testing.T) {
	s := startStack(t, stackConfig{workers: 2})
	const centre = "xx-flow"
	// /subscriptions needs the bearer token.
	noToken := newAPIClient(s.client.base, "wrong-token")
	if status, body := noToken.do(t, http.MethodPost, "/subscriptions", map[string]any{"topic": dataTopic("cache", centre)}); status != http.StatusUnauthorized {
		t.Errorf("POST /subscriptions with a wrong token: want 401, got %d %s", status, body)
	}
	cacheFilter := "cache/a/wis2/" + centre + "/#"
	originFilter := "origin/a/wis2/" + centre + "/#"
	s.subscribe(t, cacheFilter, "flow/cache")
	originID := s.subscribe(t, originFilter, "flow-origin")

	// The UI lists them, fetched from the API with its token.
	uiBase := strings.TrimSuffix(s.ui.healthURL, "/healthz")
	resp, err := s.client.http.Get(uiBase + "/fragments/subscriptions")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), cacheFilter) || !strings.Contains(string(page), originFilter) {
		t.Errorf("UI /fragments/subscriptions: want 200 listing both topics, got %d:\n%s", resp.StatusCode, trimLog(string(page), 2000))
	}
	before := s.client.Metrics(t)

	const n = 10
	var want []expectation
	var paths []string
	for i := range n {
		// Broker A carries cache/ notifications, broker B origin/ ones.
		for _, side := range []struct {
			pub     *publisher
			channel string
			target  string
		}{{s.pubA, "cache", "flow/cache"}, {s.pubB, "origin", "flow-origin"}} {
			name := fmt.Sprintf("flow_%s_%02d.bin", side.channel, i)
			body := randomBytes(10 << 10)
			if i == 0 {
				body = sampleBulletin // one real GTS bulletin each
			}
			nt, path := s.cachedNote(centre, name, body)
			side.pub.MustPublish(t, dataTopic(side.channel, centre), nt.JSON())
			want = append(want, expectation{side.target, name, body})
			paths = append(paths, path)
		}
	}
	s.waitFiles(t, 60*time.Second, want)
	for _, p := range paths {
		if h := s.cacheA.Hits(p); h != 1 {
			t.Errorf("%s fetched %d times from the cache, want exactly 1", p, h)
		}
	}

	m := s.waitMetric(t, 30*time.Second, "download and receive counters in /metrics", func(m metrics) bool {
		return m.Sum("wis2downloader_downloads_total", nil)-before.Sum("wis2downloader_downloads_total", nil) >= 2*n &&
			m.Sum("wis2downloader_notifications_received_total", map[string]string{"broker": brokerAHost})-
				before.Sum("wis2downloader_notifications_received_total", map[string]string{"broker": brokerAHost}) >= n &&
			m.Sum("wis2downloader_notifications_received_total", map[string]string{"broker": brokerBHost})-
				before.Sum("wis2downloader_notifications_received_total", map[string]string{"broker": brokerBHost}) >= n
	})
	diff := m.Diff(before, func(name string) bool { return !productMetric(name) })
	t.Logf("/metrics changes:\n%s", joinLines(diff))
	delta := func(name string, labels map[string]string) float64 {
		return m.Sum(name, labels) - before.Sum(name, labels)
	}
	if d := delta("wis2downloader_downloads_total", nil); d != 2*n {
		t.Errorf("downloads_total grew by %g, want %d", d, 2*n)
	}
	if d := delta("wis2downloader_downloads_total", map[string]string{"cache": cacheHosts[0]}); d != 2*n {
		t.Errorf("downloads_total{cache=%q} grew by %g, want %d", cacheHosts[0], d, 2*n)
	}
	if d := delta("wis2downloader_downloads_bytes_total", nil); d != float64(2*(n-1)*(10<<10)+2*len(sampleBulletin)) {
		t.Errorf("downloads_bytes_total grew by %g, want %d", d, 2*(n-1)*(10<<10)+2*len(sampleBulletin))
	}
	if d := delta("wis2downloader_notifications_total", map[string]string{"status": "success"}); d != 2*n {
		t.Errorf("notifications_total{status=success} grew by %g, want %d", d, 2*n)
	}

	// Delete the origin subscription: later origin notifications (on both
	// brokers) are not downloaded, while the cache subscription still works.
	s.client.Unsubscribe(t, originID)
	s.waitUnsubscribed(t, originFilter)
	var gone []string
	var marker []expectation
	for i, pub := range []*publisher{s.pubA, s.pubB} {
		nt, path := s.cachedNote(centre, fmt.Sprintf("flow_after_delete_%d.bin", i), randomBytes(1024))
		pub.MustPublish(t, dataTopic("origin", centre), nt.JSON())
		gone = append(gone, path)
	}
	for i, pub := range []*publisher{s.pubA, s.pubB} {
		name := fmt.Sprintf("flow_marker_%d.bin", i)
		body := randomBytes(1024)
		nt, _ := s.cachedNote(centre, name, body)
		pub.MustPublish(t, dataTopic("cache", centre), nt.JSON())
		marker = append(marker, expectation{"flow/cache", name, body})
	}
	s.waitFiles(t, 30*time.Second, marker)
	for _, p := range gone {
		if h := s.cacheA.Hits(p); h != 0 {
			t.Errorf("%s was fetched %d times after its subscription was deleted", p, h)
		}
	}
	if f := filesUnder(s.data + "/flow-origin"); len(f) != n {
		t.Errorf("flow-origin holds %d files after the delete, want the %d from before: %v", len(f), n, f)
	}
}

func joinLines(l []string) string {
	out := ""
	for _, s := range l {
		out += "  " + s + "\n"
	}
	return out
}
