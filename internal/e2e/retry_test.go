package e2e

import (
	"net/http"
	"testing"
	"time"
)

// TestRetryableCacheErrors: a cache that answers 404 (file not there yet),
// 429 with Retry-After, 5xx or stalls is asked again with backoff, and the
// file arrives once the cache serves it.
func TestRetryableCacheErrors(t *testing.T) {
	s := startStack(t, stackConfig{noUI: true, worker: map[string]string{"DOWNLOAD_READ_TIMEOUT": "2s"}})
	const centre, target = "xx-retry", "retry"
	s.subscribe(t, "cache/a/wis2/"+centre+"/#", target)
	cases := []struct {
		name    string
		replies []reply
	}{
		{"404_then_200.bin", []reply{{status: http.StatusNotFound}}},
		{"429_retry_after.bin", []reply{{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "1"}}}},
		{"503_twice.bin", []reply{{status: http.StatusServiceUnavailable}, {status: http.StatusBadGateway}}},
		{"stall_once.bin", []reply{{stallAfter: 100}}},
	}
	var want []expectation
	for _, c := range cases {
		path := "/data/" + centre + "/" + c.name
		body := randomBytes(4096)
		s.cacheA.Put(path, body)
		s.cacheA.Script(path, c.replies...)
		s.pubA.MustPublish(t, dataTopic("cache", centre), newNote(centre, c.name, s.cacheA.URL(path), body).JSON())
		want = append(want, expectation{target, c.name, body})
	}
	s.waitFiles(t, 90*time.Second, want)
	for _, c := range cases {
		if h, w := s.cacheA.Hits("/data/"+centre+"/"+c.name), len(c.replies)+1; h != w {
			t.Errorf("%s: %d requests, want %d (each scripted failure retried once, then the file)", c.name, h, w)
		}
	}
}
