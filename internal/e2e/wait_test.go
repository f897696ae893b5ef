package e2e

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

const pollEvery = 50 * time.Millisecond

// eventually polls cond until it returns true or timeout passes; then it
// fails the test with desc and cond's last status. When st is not nil, dead
// services fail the wait at once.
func eventually(t testing.TB, timeout time.Duration, desc string, cond func() (bool, string), st *stack) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var status string
	for {
		var ok bool
		ok, status = cond()
		if ok {
			return
		}
		if st != nil {
			st.checkAlive(t)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, desc, status)
		}
		time.Sleep(pollEvery)
	}
}

// filesUnder lists every regular file below dir (relative paths, sorted).
func filesUnder(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// find returns the files below CONTAINER_DATA_PATH/target named name.
func (s *stack) find(target, name string) []string {
	var out []string
	for _, f := range filesUnder(filepath.Join(s.data, target)) {
		if filepath.Base(f) == name {
			out = append(out, filepath.Join(s.data, target, f))
		}
	}
	return out
}

// expectation is one file that must arrive under target with body.
type expectation struct {
	target, name string
	body         []byte
}

// waitFiles waits until every expected file exists exactly once with the
// right bytes.
func (s *stack) waitFiles(t testing.TB, timeout time.Duration, want []expectation) {
	t.Helper()
	eventually(t, timeout, itoa(len(want))+" files on disk", func() (bool, string) {
		missing, wrong := 0, []string{}
		for _, e := range want {
			paths := s.find(e.target, e.name)
			switch {
			case len(paths) == 0:
				missing++
			case len(paths) > 1:
				wrong = append(wrong, e.name+" stored "+itoa(len(paths))+" times: "+strings.Join(paths, ", "))
			default:
				b, err := os.ReadFile(paths[0])
				if err != nil || !bytes.Equal(b, e.body) {
					wrong = append(wrong, paths[0]+" has "+itoa(len(b))+" bytes, not the published "+itoa(len(e.body)))
				}
			}
		}
		if len(wrong) > 0 { // a partial or duplicated file under a final name
			t.Fatalf("wrong files: %s", strings.Join(wrong, "; "))
		}
		return missing == 0 && len(wrong) == 0, itoa(missing) + " missing; " + strings.Join(wrong, "; ")
	}, s)
}

// trackerStatus reads the worker's tracker status of a message id.
func (s *stack) trackerStatus(id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, _ := s.rdb.HGet(ctx, "wis2:notifications:data:tracker:by-msg-id:"+id, "status").Result()
	return v
}

// waitMetric waits until cond holds on a fresh /metrics scrape and returns it.
func (s *stack) waitMetric(t testing.TB, timeout time.Duration, desc string, cond func(m metrics) bool) metrics {
	t.Helper()
	var last metrics
	eventually(t, timeout, desc, func() (bool, string) {
		m, err := scrape(s.client.http, s.client.base+"/metrics")
		if err != nil {
			return false, err.Error()
		}
		last = m
		return cond(m), "last scrape had " + itoa(len(m)) + " series"
	}, s)
	return last
}

// productMetric is true for the product's own counters (not Go/process
// metrics and not gauges that move by themselves).
func productMetric(name string) bool {
	if !strings.HasPrefix(name, "wis2downloader_") {
		return false
	}
	switch strings.TrimPrefix(name, "wis2downloader_") {
	case "disk_total_bytes", "disk_used_bytes", "disk_free_bytes", "disk_downloads_bytes", "celery_queue_length":
		return false
	}
	return true
}

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
