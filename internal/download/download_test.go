package download

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/download/outcome"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

var bufrBody = append([]byte("BUFR"), bytes.Repeat([]byte("x"), 1000)...)

func datePath(t time.Time) string { return t.UTC().Format("2006/01/02") }

func TestTwoCachesOneDownload(t *testing.T) {
	e := newEnv(t, nil)
	gc1, gc2 := serveBytes(t, bufrBody), serveBytes(t, bufrBody)
	now := time.Now()
	m1 := notification("id-gc1", "de-dwd/data/1", gc1.URL+"/data/file1.bufr", bufrBody, now)
	m2 := notification("id-gc2", "de-dwd/data/1", gc2.URL+"/data/file1.bufr", bufrBody, now)
	if err := e.process(m1.json(t)); err != nil {
		t.Fatal(err)
	}
	if err := e.process(m2.json(t)); err != nil {
		t.Fatal(err)
	}
	if n := gc1.hits.Load() + gc2.hits.Load(); n != 1 {
		t.Fatalf("%d downloads, want 1", n)
	}
	mustStatus(t, e, "id-gc1", "SUCCESS", "")
	mustStatus(t, e, "id-gc2", "SKIPPED", "duplicate")
	want := "synop/" + datePath(now) + "/de-dwd/file1.bufr"
	if got := e.files(); !slices.Equal(got, []string{want}) {
		t.Fatalf("files %v, want [%s]", got, want)
	}
	if got := e.metric(metrics.Notifications, metrics.Labels{"status": "success"}); got != 1 {
		t.Errorf("notifications success = %v", got)
	}
	if got := e.metric(metrics.Skipped, metrics.Labels{"reason": "duplicate"}); got != 1 {
		t.Errorf("skipped duplicate = %v", got)
	}
	host := strings.Split(strings.TrimPrefix(gc1.URL, "http://"), ":")[0]
	if got := e.metric(metrics.DownloadsBytes, metrics.Labels{"cache": host, "media_type": "application/bufr"}); got != float64(len(bufrBody)) {
		t.Errorf("downloads_bytes = %v", got)
	}
	if got := e.metric(metrics.DiskDownloads, nil); got != float64(len(bufrBody)) {
		t.Errorf("disk_downloads_bytes = %v", got)
	}
}

func TestFailedCopyDoesNotBlockNextCopy(t *testing.T) {
	e := newEnv(t, nil)
	bad := serveBytes(t, []byte("BUFRcorrupted"))
	good := serveBytes(t, bufrBody)
	now := time.Now()
	m1 := notification("id-bad", "d/2", bad.URL+"/f.bufr", bufrBody, now)
	delete(m1.link(), "length")
	m2 := notification("id-good", "d/2", good.URL+"/f.bufr", bufrBody, now)
	err := e.process(m1.json(t))
	if !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("bad copy: %v, want SkipRetry", err)
	}
	mustStatus(t, e, "id-bad", "FAILED", "hash_mismatch")
	if err := e.process(m2.json(t)); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e, "id-good", "SUCCESS", "")
	if got := e.read("synop/" + datePath(now) + "/de-dwd/f.bufr"); !bytes.Equal(got, bufrBody) {
		t.Fatal("stored bytes differ")
	}
}

func TestUpdateReplacesAndOlderIsDuplicate(t *testing.T) {
	e := newEnv(t, nil)
	v1 := append([]byte("BUFR"), []byte("version one")...)
	v2 := append([]byte("BUFR"), []byte("version two, longer")...)
	s1, s2 := serveBytes(t, v1), serveBytes(t, v2)
	t1 := time.Now().Add(-48 * time.Hour)
	t2 := time.Now()
	m1 := notification("id-v1", "d/3", s1.URL+"/f.bufr", v1, t1)
	if err := e.process(m1.json(t)); err != nil {
		t.Fatal(err)
	}
	m2 := notification("id-v2", "d/3", s2.URL+"/f.bufr", v2, t2)
	m2.link()["rel"] = "update"
	if err := e.process(m2.json(t)); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e, "id-v2", "SUCCESS", "")
	newPath := "synop/" + datePath(t2) + "/de-dwd/f.bufr"
	if got := e.files(); !slices.Equal(got, []string{newPath}) {
		t.Fatalf("files %v, want only %s (old version removed)", got, newPath)
	}
	if !bytes.Equal(e.read(newPath), v2) {
		t.Fatal("update not stored")
	}
	if got := e.metric(metrics.DiskDownloads, nil); got != float64(len(v2)) {
		t.Errorf("disk_downloads_bytes %v, want %d (old version freed)", got, len(v2))
	}
	// The same update again (another cache) and the old canonical: duplicates.
	m3 := notification("id-v2-gc2", "d/3", s2.URL+"/f.bufr", v2, t2)
	m3.link()["rel"] = "update"
	m4 := notification("id-v1-late", "d/3", s1.URL+"/f.bufr", v1, t1)
	for _, m := range []msg{m3, m4} {
		if err := e.process(m.json(t)); err != nil {
			t.Fatal(err)
		}
		mustStatus(t, e, m["id"].(string), "SKIPPED", "duplicate")
	}
	if s1.hits.Load() != 1 || s2.hits.Load() != 1 {
		t.Fatalf("hits %d %d", s1.hits.Load(), s2.hits.Load())
	}
	// Same-day update overwrites the same name atomically.
	v3 := append([]byte("BUFR"), []byte("three")...)
	s3 := serveBytes(t, v3)
	m5 := notification("id-v3", "d/3", s3.URL+"/f.bufr", v3, t2.Add(time.Second))
	m5.link()["rel"] = "update"
	if err := e.process(m5.json(t)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.read(newPath), v3) {
		t.Fatal("same-day update not stored")
	}
	e.noTempFiles()
}

func TestDeletion(t *testing.T) {
	for _, apply := range []bool{false, true} {
		t.Run(fmt.Sprint("apply=", apply), func(t *testing.T) {
			e := newEnv(t, func(c *config.WorkerConfig) { c.ApplyDeletions = apply })
			s := serveBytes(t, bufrBody)
			now := time.Now()
			m := notification("id-new", "d/4", s.URL+"/f.bufr", bufrBody, now)
			if err := e.process(m.json(t), target("a", strp("A"), ""), target("b", strp("B"), "")); err != nil {
				t.Fatal(err)
			}
			if len(e.files()) != 2 {
				t.Fatalf("files %v", e.files())
			}
			d := notification("id-del", "d/4", s.URL+"/f.bufr", nil, now.Add(time.Minute))
			d.link()["rel"] = "deletion"
			delete(d.props(), "integrity")
			if err := e.process(d.json(t)); err != nil {
				t.Fatal(err)
			}
			mustStatus(t, e, "id-del", "SKIPPED", "deletion")
			if got := e.metric(metrics.Skipped, metrics.Labels{"reason": "deletion"}); got != 1 {
				t.Errorf("skipped deletion = %v", got)
			}
			files := e.files()
			if apply && len(files) != 0 {
				t.Fatalf("deletion applied but files remain: %v", files)
			}
			if !apply && len(files) != 2 {
				t.Fatalf("deletion not enabled but files changed: %v", files)
			}
			if apply {
				if got := e.metric(metrics.DiskDownloads, nil); got != 0 {
					t.Errorf("disk_downloads_bytes after deletion = %v, want 0", got)
				}
			}
			if s.hits.Load() != 1 {
				t.Errorf("deletion made a request")
			}
		})
	}
}

func TestInlineContent(t *testing.T) {
	data := []byte("SZIO01 AMMC 110648\r\r\nCREX++\r\r\nT000103 A001 D01021 D06025++\r\r\n-12116800 096891907 7777\r\r\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	cases := map[string]string{
		"utf-8":  string(data),
		"base64": base64.StdEncoding.EncodeToString(data),
		"gzip":   base64.StdEncoding.EncodeToString(gz.Bytes()),
	}
	for enc, value := range cases {
		t.Run(enc, func(t *testing.T) {
			e := newEnv(t, nil)
			never := serveBytes(t, []byte("must not be fetched"))
			now := time.Now()
			m := notification("id-inline-"+enc, "d/inline/bulletin.txt", never.URL+"/bulletin.txt", data, now)
			m.props()["content"] = map[string]any{"encoding": enc, "value": value, "size": len(data)}
			if err := e.process(m.json(t)); err != nil {
				t.Fatal(err)
			}
			mustStatus(t, e, "id-inline-"+enc, "SUCCESS", "")
			if never.hits.Load() != 0 {
				t.Fatal("inline content fetched over HTTP")
			}
			if got := e.read("synop/" + datePath(now) + "/de-dwd/bulletin.txt"); !bytes.Equal(got, data) {
				t.Fatalf("stored %q", got)
			}
			if got := e.metric(metrics.Downloads, metrics.Labels{"cache": "inline", "media_type": "application/bufr"}); got != 1 {
				t.Errorf("downloads_total{cache=inline} = %v", got)
			}
		})
	}
	t.Run("corrupt", func(t *testing.T) {
		e := newEnv(t, nil)
		m := notification("id-inline-bad", "d/inline/x", "https://example.invalid/x", data, time.Now())
		m.props()["content"] = map[string]any{"encoding": "base64", "value": base64.StdEncoding.EncodeToString([]byte("other data")), "size": 10}
		err := e.process(m.json(t))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Fatalf("err %v", err)
		}
		mustStatus(t, e, "id-inline-bad", "FAILED", "hash_mismatch")
	})
}

func failedWith(t *testing.T, e *env, id, reason string, err error) {
	t.Helper()
	if !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("err %v, want a final failure", err)
	}
	mustStatus(t, e, id, "FAILED", reason)
	if got := e.metric(metrics.Failed, metrics.Labels{"cache": "127.0.0.1", "reason": reason}); got != 1 {
		t.Errorf("failed_total{reason=%s} = %v", reason, got)
	}
	if got := e.metric(metrics.Notifications, metrics.Labels{"status": "failed"}); got != 1 {
		t.Errorf("notifications failed = %v", got)
	}
	if f := e.files(); len(f) != 0 {
		t.Errorf("files stored: %v", f)
	}
}

func TestHashMismatch(t *testing.T) {
	e := newEnv(t, nil)
	s := serveBytes(t, bufrBody)
	m := notification("id-h", "d/h", s.URL+"/f.bufr", bufrBody, time.Now())
	m.props()["integrity"] = map[string]any{"method": "sha512", "value": sha512b64([]byte("something else"))}
	failedWith(t, e, "id-h", "hash_mismatch", e.process(m.json(t)))
}

func TestWrongLength(t *testing.T) {
	e := newEnv(t, nil)
	s := serveBytes(t, bufrBody)
	m := notification("id-l", "d/l", s.URL+"/f.bufr", bufrBody, time.Now())
	m.link()["length"] = len(bufrBody) + 10
	failedWith(t, e, "id-l", "length_mismatch", e.process(m.json(t)))
}

func TestOversize(t *testing.T) {
	e := newEnv(t, func(c *config.WorkerConfig) { c.MaxBytes = 100 })
	// Streamed without Content-Length: the limit is enforced while reading.
	s := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		for range 10 {
			w.Write(bufrBody[:100])
			w.(http.Flusher).Flush()
		}
	})
	m := notification("id-big", "d/big", s.URL+"/f.bufr", bufrBody, time.Now())
	delete(m.link(), "length")
	failedWith(t, e, "id-big", "too_large", e.process(m.json(t)))
	e.noTempFiles()
}

func TestNotFoundThenOK(t *testing.T) {
	e := newEnv(t, nil)
	s := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {})
	var calls int
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			http.NotFound(w, r)
			return
		}
		w.Write(bufrBody)
	})
	m := notification("id-404", "d/404", s.URL+"/f.bufr", bufrBody, time.Now())
	err := e.process(m.json(t))
	var oe *outcome.Error
	if !errors.As(err, &oe) || oe.Reason != outcome.HTTP404 || !oe.Retry || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("first attempt: %v, want a retryable http_404", err)
	}
	mustStatus(t, e, "id-404", "PENDING", "http_404")
	if err := e.process(m.json(t)); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e, "id-404", "SUCCESS", "")

	// Long after publication a 404 is final.
	old := notification("id-404-old", "d/404-old", s.URL+"/f.bufr", bufrBody, time.Now().Add(-time.Hour))
	s.Config.Handler = http.NotFoundHandler()
	if err := e.process(old.json(t)); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("old 404: %v, want final", err)
	}
	mustStatus(t, e, "id-404-old", "FAILED", "http_404")
}

func TestTooManyRequestsRetryAfter(t *testing.T) {
	e := newEnv(t, nil)
	s := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	m := notification("id-429", "d/429", s.URL+"/f.bufr", bufrBody, time.Now())
	err := e.process(m.json(t))
	var oe *outcome.Error
	if !errors.As(err, &oe) || oe.Reason != outcome.HTTP429 || !oe.Retry {
		t.Fatalf("err %v, want retryable http_429", err)
	}
	if d := RetryDelay(0, err, nil); d != 120*time.Second {
		t.Fatalf("retry delay %v, want the server's 120s", d)
	}
	if !IsFailure(err) {
		t.Error("429 must count as an attempt")
	}
	mustStatus(t, e, "id-429", "PENDING", "http_429")
}

func TestRetryDelayBackoff(t *testing.T) {
	for n := range 8 {
		d := RetryDelay(n, outcome.Retryable(outcome.HTTP5xx, nil), nil)
		full := min(RetryBase<<n, RetryCap)
		if d < full/2 || d > full {
			t.Errorf("attempt %d: delay %v outside [%v, %v]", n, d, full/2, full)
		}
	}
	if d := RetryDelay(3, outcome.Waiting(outcome.LockBusy, nil), nil); d > 2*LockWait {
		t.Errorf("lock wait %v", d)
	}
	if IsFailure(outcome.Waiting(outcome.DiskFull, nil)) {
		t.Error("disk_full must not use up an attempt")
	}
}

func TestLastAttemptFails(t *testing.T) {
	e := newEnv(t, func(c *config.WorkerConfig) { c.MaxAttempts = 1 })
	s := serveFunc(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	m := notification("id-5xx", "d/5xx", s.URL+"/f.bufr", bufrBody, time.Now())
	failedWith(t, e, "id-5xx", "http_5xx", e.process(m.json(t)))
}

func TestStalledServerTimesOut(t *testing.T) {
	e := newEnv(t, func(c *config.WorkerConfig) { c.ReadTimeout = 300 * time.Millisecond; c.MaxAttempts = 1 })
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(bufrBody)))
		w.Write(bufrBody[:10])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	m := notification("id-stall", "d/stall", s.URL+"/f.bufr", bufrBody, time.Now())
	failedWith(t, e, "id-stall", "timeout", e.process(m.json(t)))
	e.noTempFiles()
}

func TestRedirectToLoopbackRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("no 127.0.0.2 (all of 127.0.0.0/8 is loopback on Linux): %v", err)
	}
	internal := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(bufrBody) }))
	internal.Listener = ln
	internal.Start()
	t.Cleanup(internal.Close)
	var internalHits int
	internal.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { internalHits++; w.Write(bufrBody) })

	e := newEnv(t, func(c *config.WorkerConfig) {
		c.AllowPrivate = false
		c.AllowNetworks = []string{"127.0.0.1/32"} // the "public" cache
		c.MaxAttempts = 1
	})
	pub := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/secret", http.StatusFound)
	})
	m := notification("id-redir", "d/redir", pub.URL+"/f.bufr", bufrBody, time.Now())
	failedWith(t, e, "id-redir", "refused_address", e.process(m.json(t)))
	if internalHits != 0 {
		t.Fatal("internal address was contacted")
	}
	// And directly, without the allowance.
	e2 := newEnvOn(t, e.redis, func(c *config.WorkerConfig) { c.AllowPrivate = false; c.MaxAttempts = 1 })
	m2 := notification("id-direct", "d/direct", pub.URL+"/f.bufr", bufrBody, time.Now())
	err = e2.process(m2.json(t))
	if !errors.Is(err, asynq.SkipRetry) || e2.reason("id-direct") != "refused_address" {
		t.Fatalf("direct loopback: %v %s", err, e2.reason("id-direct"))
	}
}

func TestTraversalStaysBelowRoot(t *testing.T) {
	e := newEnv(t, nil)
	s := serveBytes(t, bufrBody)
	parent := filepath.Dir(e.cfg.DataPath)
	cases := []struct {
		path, target, want string
	}{
		{"/a/..%2F..%2F..%2Fescape.bufr", "synop", "synop/{date}/de-dwd/escape.bufr"},
		{"/a/%2e%2e", "synop", "synop/{date}/de-dwd/x"},
		{"/ok.bufr", "../../outside", "outside/{date}/de-dwd/ok.bufr"},
		{"/ok2.bufr", "/abs/../../x", "abs/x/{date}/de-dwd/ok2.bufr"},
		{"/..", "..", "{date}/de-dwd/x"},
	}
	now := time.Now()
	for i, c := range cases {
		id := fmt.Sprint("id-trav-", i)
		m := notification(id, fmt.Sprintf("d/trav%d/x", i), s.URL+c.path, bufrBody, now)
		if err := e.process(m.json(t), target("s", strp(c.target), "")); err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		want := strings.ReplaceAll(c.want, "{date}", datePath(now))
		if !slices.Contains(e.files(), want) {
			t.Errorf("case %d: files %v, want %s", i, e.files(), want)
		}
	}
	entries, _ := os.ReadDir(parent)
	for _, en := range entries {
		if en.Name() != filepath.Base(e.cfg.DataPath) {
			t.Errorf("something was written next to the data root: %s", en.Name())
		}
	}
}

func TestFilters(t *testing.T) {
	e := newEnv(t, nil)
	s := serveBytes(t, bufrBody)
	now := time.Now()
	rejectData := `{"rules":[{"id":"no-x","order":1,"match":{"data_id":{"pattern":"*/x-*"}},"action":"reject"}]}`
	m := notification("id-f1", "d/x-1", s.URL+"/f.bufr", bufrBody, now)
	if err := e.process(m.json(t), target("s", strp("t"), rejectData)); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e, "id-f1", "SKIPPED", "filter_rejected")
	if s.hits.Load() != 0 {
		t.Fatal("pre-download reject still downloaded")
	}
	// Accepted before download, rejected after: the link declares no type,
	// sniffing finds BUFR.
	noBufr := `{"rules":[{"id":"no-bufr","order":1,"match":{"media_type":{"equals":"application/bufr"}},"action":"reject"}]}`
	m2 := notification("id-f2", "d/y-2", s.URL+"/f.bufr", bufrBody, now)
	delete(m2.link(), "type")
	if err := e.process(m2.json(t), target("s", strp("t"), noBufr)); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e, "id-f2", "SKIPPED", "filter_rejected")
	if s.hits.Load() != 1 || len(e.files()) != 0 {
		t.Fatalf("hits %d files %v", s.hits.Load(), e.files())
	}
	// Another cache's copy is not downloaded just to be rejected again.
	m2b := notification("id-f2-gc2", "d/y-2", s.URL+"/f.bufr", bufrBody, now)
	delete(m2b.link(), "type")
	if err := e.process(m2b.json(t), target("s", strp("t"), noBufr)); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e, "id-f2-gc2", "SKIPPED", "duplicate")
	if s.hits.Load() != 1 {
		t.Fatal("rejected file downloaded again")
	}
	// Size filter after download, accepting: one subscription wants big
	// files only, the other gets it.
	big := `{"rules":[{"id":"big","order":1,"match":{"size":{"lt_bytes":100000}},"action":"reject"}]}`
	m3 := notification("id-f3", "d/z-3", s.URL+"/f.bufr", bufrBody, now)
	delete(m3.link(), "length")
	if err := e.process(m3.json(t), target("big", strp("big"), big), target("all", strp("all"), "")); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e, "id-f3", "SUCCESS", "")
	if got := e.files(); !slices.Equal(got, []string{"all/" + datePath(now) + "/de-dwd/f.bufr"}) {
		t.Fatalf("files %v", got)
	}
	e.noTempFiles()
}

func TestTwoSubscriptionsTwoTargets(t *testing.T) {
	e := newEnv(t, nil)
	s := serveBytes(t, bufrBody)
	now := time.Now()
	m := notification("id-two", "d/two", s.URL+"/f.bufr", bufrBody, now)
	if err := e.process(m.json(t), target("a", strp("alpha"), ""), target("b", strp("beta/sub"), ""), target("c", nil, "")); err != nil {
		t.Fatal(err)
	}
	d := datePath(now)
	want := []string{d + "/de-dwd/f.bufr", "alpha/" + d + "/de-dwd/f.bufr", "beta/sub/" + d + "/de-dwd/f.bufr"}
	got := e.files()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if s.hits.Load() != 1 {
		t.Fatalf("%d downloads", s.hits.Load())
	}
	a, _ := os.Stat(filepath.Join(e.cfg.DataPath, want[1]))
	b, _ := os.Stat(filepath.Join(e.cfg.DataPath, want[2]))
	if !os.SameFile(a, b) {
		t.Error("targets are not hard links of one file")
	}
}

func TestDiskFullGuard(t *testing.T) {
	e := newEnv(t, func(c *config.WorkerConfig) { c.MinFreeBytes = 1 << 62 })
	s := serveBytes(t, bufrBody)
	m := notification("id-disk", "d/disk", s.URL+"/f.bufr", bufrBody, time.Now())
	err := e.process(m.json(t))
	var oe *outcome.Error
	if !errors.As(err, &oe) || oe.Reason != outcome.DiskFull || !oe.Wait || IsFailure(err) {
		t.Fatalf("err %v, want a disk_full wait", err)
	}
	if s.hits.Load() != 0 {
		t.Fatal("downloaded although the disk is full")
	}
	if d := RetryDelay(0, err, nil); d < DiskWait {
		t.Fatalf("disk wait %v", d)
	}
}

func TestCancelMidDownloadLeavesNoPartialFile(t *testing.T) {
	e := newEnv(t, nil)
	started := make(chan struct{})
	s := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(bufrBody)))
		w.Write(bufrBody[:500])
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	})
	m := notification("id-kill", "d/kill", s.URL+"/f.bufr", bufrBody, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- e.h.ProcessTask(ctx, e.task(m.json(t))) }()
	<-started
	// A temporary file exists while the download runs, never a final name.
	for _, f := range e.files() {
		if !strings.Contains(f, ".tmp-") {
			t.Errorf("final file during download: %s", f)
		}
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("cancelled download succeeded")
	}
	if f := e.files(); len(f) != 0 {
		t.Fatalf("files after cancel: %v", f)
	}
	if n, _ := e.rdb.Exists(context.Background(), "wis2:notifications:data:lock:d/kill").Result(); n != 0 {
		t.Fatal("lock not released")
	}
}

func TestLockBusyWaits(t *testing.T) {
	e := newEnv(t, nil)
	s := serveBytes(t, bufrBody)
	e.rdb.Set(context.Background(), "wis2:notifications:data:lock:d/busy", "other-task", time.Minute)
	m := notification("id-busy", "d/busy", s.URL+"/f.bufr", bufrBody, time.Now())
	err := e.process(m.json(t))
	var oe *outcome.Error
	if !errors.As(err, &oe) || oe.Reason != outcome.LockBusy || IsFailure(err) {
		t.Fatalf("err %v", err)
	}
	if s.hits.Load() != 0 {
		t.Fatal("downloaded while locked")
	}
}

func TestInvalidMessages(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		body   string
		status string
		reason string
	}{
		{`[1, 2]`, "failed", "invalid_message"},
		{`{"id":"x1","properties":{"data_id":"d"},"links":[]}`, "skipped", "no_link"},
		{`{"id":"x2","properties":{},"links":[{"rel":"canonical","href":"http://a/b"}]}`, "failed", "invalid_message"},
	}
	for _, c := range cases {
		err := e.process([]byte(c.body))
		if c.status == "failed" && !errors.Is(err, asynq.SkipRetry) || c.status == "skipped" && err != nil {
			t.Errorf("%s: %v", c.body, err)
		}
	}
	if got := e.metric(metrics.Failed, metrics.Labels{"cache": "unknown", "reason": "invalid_message"}); got != 2 {
		t.Errorf("failed invalid_message = %v", got)
	}
	if got := e.metric(metrics.Skipped, metrics.Labels{"reason": "no_link"}); got != 1 {
		t.Errorf("skipped no_link = %v", got)
	}
	mustStatus(t, e, "x1", "SKIPPED", "no_link")
}

func TestExcludedHost(t *testing.T) {
	e := newEnv(t, func(c *config.WorkerConfig) { c.GCExclude = []string{"127.0.0.1"} })
	s := serveBytes(t, bufrBody)
	m := notification("id-ex", "d/ex", s.URL+"/f.bufr", bufrBody, time.Now())
	if err := e.process(m.json(t)); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e, "id-ex", "SKIPPED", "excluded_host")
	if s.hits.Load() != 0 {
		t.Fatal("excluded host contacted")
	}
}

func TestSampleCREXBulletin(t *testing.T) {
	// shared/ lies beside the repository (as in CI): ../../../shared from here.
	const dir = "../../../shared/wis2-samples/wmo-im_pywis-pubsub/tests/"
	body, err := os.ReadFile(dir + "A_SZIO01AMMC110648_C_EDZW_20230811064904_50549867")
	if err != nil {
		t.Fatalf("WIS2 sample missing (shared/ must be beside the repository): %v", err)
	}
	raw, err := os.ReadFile(dir + "test_valid_checksum.json")
	if err != nil {
		t.Fatal(err)
	}
	s := serveBytes(t, body)
	const orig = "https://wisdev.kishou.go.jp"
	raw = bytes.ReplaceAll(raw, []byte(orig), []byte(s.URL))
	e := newEnv(t, nil)
	if err := e.process(raw); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e, "a23ef8c3-f21f-4230-bdae-5672d0e2a203", "SUCCESS", "")
	want := "synop/2023/08/11/de-dwd/A_SZIO01AMMC110648_C_EDZW_20230811064904_50549867"
	if got := e.read(want); !bytes.Equal(got, body) {
		t.Fatal("sample bytes differ")
	}
	// With a wrong digest the same bulletin fails verification.
	bad := bytes.Replace(raw, []byte("lT7r2ekz"), []byte("AAAAAAAA"), 1)
	bad = bytes.Replace(bad, []byte("a23ef8c3"), []byte("b23ef8c3"), 1)
	bad = bytes.Replace(bad, []byte("50549867\","), []byte("50549868\","), 1)
	if err := e.process(bad); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("bad digest: %v", err)
	}
}

// keep testsvc imported for helpers used only by some tests.
var _ = testsvc.InstallHint

func TestUnverifiedStored(t *testing.T) {
	e := newEnv(t, nil)
	s := serveBytes(t, bufrBody)
	now := time.Now()
	m1 := notification("id-md5", "d/md5", s.URL+"/a.bufr", bufrBody, now)
	m1.props()["integrity"] = map[string]any{"method": "md5", "value": "AAAA"}
	m2 := notification("id-none", "d/none", s.URL+"/b.bufr", bufrBody, now)
	delete(m2.props(), "integrity")
	for _, m := range []msg{m1, m2} {
		if err := e.process(m.json(t)); err != nil {
			t.Fatal(err)
		}
		mustStatus(t, e, m["id"].(string), "SUCCESS", "")
	}
	if got := testutil.ToFloat64(e.h.obs.unverified.WithLabelValues("unknown_method")); got != 1 {
		t.Errorf("unverified unknown_method = %v", got)
	}
	if got := testutil.ToFloat64(e.h.obs.unverified.WithLabelValues("none")); got != 1 {
		t.Errorf("unverified none = %v", got)
	}
}

// roundTrips counts the Redis commands a client sends.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

func TestTwoRoundTripsPerDownload(t *testing.T) {
	e := newEnv(t, nil)
	s := serveBytes(t, bufrBody)
	now := time.Now()
	// Warm up: the first use loads the Lua scripts (EVALSHA → NOSCRIPT → EVAL).
	if err := e.process(notification("warm", "d/warm", s.URL+"/w.bufr", bufrBody, now).json(t)); err != nil {
		t.Fatal(err)
	}
	rt := &roundTrips{}
	e.rdb.AddHook(rt)
	if err := e.process(notification("rt-1", "d/rt", s.URL+"/f.bufr", bufrBody, now).json(t)); err != nil {
		t.Fatal(err)
	}
	if n := rt.n.Load(); n != 2 {
		t.Fatalf("%d Redis round trips for a download, want 2 (claim, finish)", n)
	}
	rt.n.Store(0)
	if err := e.process(notification("rt-2", "d/rt", s.URL+"/f.bufr", bufrBody, now).json(t)); err != nil {
		t.Fatal(err)
	}
	if n := rt.n.Load(); n != 1 {
		t.Fatalf("%d Redis round trips for a duplicate, want 1", n)
	}
}

func TestFilterErrorFailsClosed(t *testing.T) {
	e := newEnv(t, nil)
	s := serveBytes(t, bufrBody)
	m := notification("id-ferr", "d/ferr", s.URL+"/f.bufr", bufrBody, time.Now())
	broken := `{"rules":[{"id":"x","match":{"data_id":{"equals":"a"},"topic":{"equals":"b"}},"action":"accept"}]}`
	if err := e.process(m.json(t), target("s", strp("t"), broken)); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e, "id-ferr", "SKIPPED", "filter_error")
	if s.hits.Load() != 0 {
		t.Fatal("downloaded for a subscription whose filter is invalid")
	}
	// A valid subscription next to the broken one still gets the file.
	m2 := notification("id-ferr2", "d/ferr2", s.URL+"/g.bufr", bufrBody, time.Now())
	if err := e.process(m2.json(t), target("s", strp("t"), broken), target("ok", strp("ok"), "")); err != nil {
		t.Fatal(err)
	}
	if got := e.files(); len(got) != 1 || !strings.HasPrefix(got[0], "ok/") {
		t.Fatalf("files %v", got)
	}
}

// TestLockRenewedDuringLongDownload checks that a download running longer
// than REDIS_MESSAGE_LOCK keeps its lock (renewed every third of it), and
// that the lock is released at the end.
func TestLockRenewedDuringLongDownload(t *testing.T) {
	e := newEnv(t, func(c *config.WorkerConfig) { c.LockTTL = 600 * time.Millisecond })
	held := make(chan bool, 1)
	s := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(bufrBody)))
		w.Write(bufrBody[:10])
		w.(http.Flusher).Flush()
		time.Sleep(1500 * time.Millisecond) // 2.5 lock lifetimes
		n, _ := e.rdb.Exists(context.Background(), "wis2:notifications:data:lock:d/renew").Result()
		held <- n == 1
		w.Write(bufrBody[10:])
	})
	m := notification("id-renew", "d/renew", s.URL+"/f.bufr", bufrBody, time.Now())
	if err := e.process(m.json(t)); err != nil {
		t.Fatal(err)
	}
	if !<-held {
		t.Fatal("lock expired during the download: not renewed")
	}
	mustStatus(t, e, "id-renew", "SUCCESS", "")
	if n, _ := e.rdb.Exists(context.Background(), "wis2:notifications:data:lock:d/renew").Result(); n != 0 {
		t.Fatal("lock not released")
	}
}

// An update stored under the same name as the version it replaces frees the
// old bytes: disk_downloads_bytes counts only the new file.
func TestSameNameUpdateFreesOldBytes(t *testing.T) {
	e := newEnv(t, nil)
	v1 := append([]byte("BUFR"), bytes.Repeat([]byte("1"), 500)...)
	v2 := append([]byte("BUFR"), []byte("two")...)
	s1, s2 := serveBytes(t, v1), serveBytes(t, v2)
	t1 := time.Now()
	if err := e.process(notification("id-same-v1", "d/same", s1.URL+"/f.bufr", v1, t1).json(t)); err != nil {
		t.Fatal(err)
	}
	m2 := notification("id-same-v2", "d/same", s2.URL+"/f.bufr", v2, t1.Add(time.Second))
	m2.link()["rel"] = "update"
	if err := e.process(m2.json(t)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.read("synop/"+datePath(t1)+"/de-dwd/f.bufr"), v2) {
		t.Fatal("update not stored")
	}
	if got := e.metric(metrics.DiskDownloads, nil); got != float64(len(v2)) {
		t.Errorf("disk_downloads_bytes %v, want %d (the overwritten version freed)", got, len(v2))
	}
}
