package e2e

import (
	"bytes"
	"fmt"
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
