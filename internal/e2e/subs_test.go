package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOneDownloadEverySubscription: three subscriptions match the same
// notifications (two overlapping wildcard filters with their own targets
// and one without a target). Each file is downloaded once and stored for
// every subscription.
func TestOneDownloadEverySubscription(t *testing.T) {
	s := startStack(t, stackConfig{noUI: true})
	const centre = "xx-two"
	s.subscribe(t, "cache/a/wis2/"+centre+"/#", "two-a")
	s.subscribe(t, "cache/a/wis2/"+centre+"/data/core/weather/+/synop", "two-b")
	s.subscribe(t, "cache/a/wis2/+/data/core/weather/surface-based-observations/#", "")

	const n = 5
	var want []expectation
	for i := range n {
		name := fmt.Sprintf("multi_%d.bin", i)
		path := "/data/" + centre + "/" + name
		body := randomBytes(3000)
		s.cacheA.Put(path, body)
		s.pubA.MustPublish(t, dataTopic("cache", centre), newNote(centre, name, s.cacheA.URL(path), body).JSON())
		want = append(want, expectation{"two-a", name, body}, expectation{"two-b", name, body})
	}
	s.waitFiles(t, 60*time.Second, want)
	eventually(t, 30*time.Second, "copies for the subscription without a target", func() (bool, string) {
		var missing []string
		for i := range n {
			name := fmt.Sprintf("multi_%d.bin", i)
			var found []string
			for _, f := range filesUnder(s.data) {
				if filepath.Base(f) == name && !strings.HasPrefix(f, "two-a/") && !strings.HasPrefix(f, "two-b/") {
					found = append(found, f)
				}
			}
			if len(found) != 1 {
				missing = append(missing, fmt.Sprintf("%s: %v", name, found))
				continue
			}
			b, _ := os.ReadFile(filepath.Join(s.data, found[0]))
			if !bytes.Equal(b, want[2*i].body) {
				missing = append(missing, found[0]+" has wrong bytes")
			}
		}
		return len(missing) == 0, strings.Join(missing, "; ")
	}, s)
	for i := range n {
		if h := s.cacheA.Hits(fmt.Sprintf("/data/%s/multi_%d.bin", centre, i)); h != 1 {
			t.Errorf("multi_%d.bin downloaded %d times for three subscriptions, want once", i, h)
		}
	}
}

// TestSubscriptionFilter: a filter given to POST /subscriptions travels to
// the worker: a notification it rejects before download is never fetched
// and is counted as filter_rejected, the others are stored. A structurally
// wrong filter is refused with 400.
func TestSubscriptionFilter(t *testing.T) {
	s := startStack(t, stackConfig{noUI: true})
	const centre, target = "xx-filter", "filtered"
	filterTopic := "cache/a/wis2/" + centre + "/#"
	status, body := s.client.do(t, http.MethodPost, "/subscriptions", map[string]any{
		"topic": filterTopic, "target": target,
		"filter": map[string]any{"rules": []any{map[string]any{"id": "x", "order": 1, "match": map[string]any{"no_such_field": true}, "action": "reject"}}},
	})
	if status != http.StatusBadRequest {
		t.Errorf("POST /subscriptions with an unknown condition: want 400, got %d %s", status, body)
	}
	s.client.SubscribeFiltered(t, filterTopic, target, map[string]any{
		"name": "no .skip files",
		"rules": []any{map[string]any{
			"id": "skip-ext", "order": 1, "action": "reject", "reason": "skip extension",
			"match": map[string]any{"href": map[string]any{"pattern": "*.skip"}},
		}},
	})
	s.waitSubscribed(t, filterTopic)
	before := s.client.Metrics(t)
	var want []expectation
	var skipped []string
	for i := range 3 {
		for _, ext := range []string{"bin", "skip"} {
			name := fmt.Sprintf("filtered_%d.%s", i, ext)
			path := "/data/" + centre + "/" + name
			b := randomBytes(1500)
			s.cacheA.Put(path, b)
			s.pubA.MustPublish(t, dataTopic("cache", centre), newNote(centre, name, s.cacheA.URL(path), b).JSON())
			if ext == "bin" {
				want = append(want, expectation{target, name, b})
			} else {
				skipped = append(skipped, path)
			}
		}
	}
	s.waitFiles(t, 30*time.Second, want)
	m := s.waitMetric(t, 30*time.Second, "3 filter rejections counted", func(m metrics) bool {
		return m.Sum("wis2downloader_skipped_total", map[string]string{"reason": "filter_rejected"})-
			before.Sum("wis2downloader_skipped_total", map[string]string{"reason": "filter_rejected"}) >= 3
	})
	t.Logf("/metrics changes:\n%s", joinLines(m.Diff(before, func(n string) bool { return !productMetric(n) })))
	for _, p := range skipped {
		if h := s.cacheA.Hits(p); h != 0 {
			t.Errorf("%s rejected by the filter but fetched %d times", p, h)
		}
		if f := s.find(target, filepath.Base(p)); len(f) != 0 {
			t.Errorf("%s rejected by the filter but stored: %v", p, f)
		}
	}
}

// TestInlineContent: a notification carrying its data in
// properties.content (base64) is stored and verified without any request
// to the cache.
func TestInlineContent(t *testing.T) {
	s := startStack(t, stackConfig{noUI: true})
	const centre, target = "xx-inline", "inline"
	s.subscribe(t, "cache/a/wis2/"+centre+"/#", target)
	name := "A_SZIO01AMMC110648_C_EDZW_20230811064904_50549867"
	path := "/data/" + centre + "/" + name
	s.cacheA.Always(path, reply{status: http.StatusInternalServerError})
	n := newNote(centre, name, s.cacheA.URL(path), sampleBulletin)
	n.Content = map[string]any{"encoding": "base64", "value": base64.StdEncoding.EncodeToString(sampleBulletin), "size": len(sampleBulletin)}
	s.pubB.MustPublish(t, dataTopic("cache", centre), n.JSON())
	if st := s.waitTracker(t, 30*time.Second, n.ID)[n.ID]; st != "SUCCESS" {
		_, reason := s.trackerStatusReason(n.ID)
		t.Fatalf("inline content: tracker %s (%s), want SUCCESS", st, reason)
	}
	var found []string
	for _, f := range filesUnder(filepath.Join(s.data, target)) {
		if b, _ := os.ReadFile(filepath.Join(s.data, target, f)); bytes.Equal(b, sampleBulletin) {
			found = append(found, f)
		}
	}
	if len(found) != 1 {
		t.Errorf("inline content stored %d times (%v), want once; target holds %v", len(found), found, filesUnder(filepath.Join(s.data, target)))
	}
	if h := s.cacheA.Hits(path); h != 0 {
		t.Errorf("inline content still fetched the link %d times", h)
	}
}
