package e2e

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// waitTracker waits until the worker recorded a final status for every
// message id and returns the statuses.
func (s *stack) waitTracker(t testing.TB, timeout time.Duration, ids ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	eventually(t, timeout, "final tracker status of "+itoa(len(ids))+" messages", func() (bool, string) {
		pending := 0
		for _, id := range ids {
			st := s.trackerStatus(id)
			out[id] = st
			if st != "SUCCESS" && st != "FAILED" && st != "SKIPPED" {
				pending++
			}
		}
		return pending == 0, fmt.Sprint(out)
	}, s)
	return out
}

// publishAll publishes every payload on every publisher at once, so the
// copies race through the stack.
func publishAll(t *testing.T, topic string, pubs []*publisher, payloads ...[]byte) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(pubs)*len(payloads))
	for _, p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, pl := range payloads {
				ctxErr := func() error {
					ctx, cancel := contextTimeout(30 * time.Second)
					defer cancel()
					return p.Publish(ctx, topic, pl)
				}()
				if ctxErr != nil {
					errs <- ctxErr
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestDuplicatesUpdatesDeletions: the same data from two brokers (same
// message id) and from two caches (new ids, same data_id and pubtime) is
// downloaded once; a failed copy does not block a good copy from the other
// cache; an update replaces the file; a deletion is counted and, by default,
// keeps the file.
func TestDuplicatesUpdatesDeletions(t *testing.T) {
	s := startStack(t, stackConfig{workers: 2, noUI: true})
	const centre = "xx-dedup"
	topic := dataTopic("cache", centre)
	s.subscribe(t, "cache/a/wis2/"+centre+"/#", "dedup")
	both := []*publisher{s.pubA, s.pubB}

	// Four copies of each item race: 2 brokers × 2 caches.
	const items = 6
	var want []expectation
	var paths []string
	var ids []string
	for i := range items {
		name := fmt.Sprintf("dup_%02d.bin", i)
		path := "/data/" + centre + "/" + name
		body := randomBytes(8 << 10)
		s.cacheA.Put(path, body)
		s.cacheB.Put(path, body)
		a := newNote(centre, name, s.cacheA.URL(path), body)
		b := a
		b.ID = uuid.NewString()
		b.Href = s.cacheB.URL(path)
		publishAll(t, topic, both, a.JSON(), b.JSON())
		want = append(want, expectation{"dedup", name, body})
		paths = append(paths, path)
		ids = append(ids, a.ID, b.ID)
	}
	s.waitFiles(t, 60*time.Second, want)
	st := s.waitTracker(t, 60*time.Second, ids...)
	for _, p := range paths {
		if h := s.cacheA.Hits(p) + s.cacheB.Hits(p); h != 1 {
			t.Errorf("%s downloaded %d times (cache A %d, cache B %d), want exactly once",
				p, h, s.cacheA.Hits(p), s.cacheB.Hits(p))
		}
	}
	success := 0
	for _, v := range st {
		if v == "SUCCESS" {
			success++
		}
	}
	if success != items {
		t.Errorf("%d of %d message ids SUCCESS, want one per item (%d): %v", success, len(ids), items, st)
	}

	// A bad copy (wrong bytes from cache A) fails; the copy from cache B
	// with a new id is still downloaded.
	{
		name := "dup_bad_first.bin"
		path := "/data/" + centre + "/" + name
		body := randomBytes(4 << 10)
		s.cacheA.Put(path, body)
		s.cacheA.Always(path, reply{body: bytes.Repeat([]byte{'x'}, len(body))})
		s.cacheB.Put(path, body)
		a := newNote(centre, name, s.cacheA.URL(path), body)
		s.pubA.MustPublish(t, topic, a.JSON())
		if got := s.waitTracker(t, 30*time.Second, a.ID)[a.ID]; got != "FAILED" {
			t.Errorf("copy with wrong bytes: tracker %s, want FAILED", got)
		}
		b := a
		b.ID = uuid.NewString()
		b.Href = s.cacheB.URL(path)
		s.pubB.MustPublish(t, topic, b.JSON())
		s.waitFiles(t, 30*time.Second, []expectation{{"dedup", name, body}})
	}

	// Update: newer pubtime, rel=update, new content → the file is replaced.
	name := "dup_00.bin"
	path := paths[0]
	first := newNote(centre, name, "", nil) // for the data_id only
	newBody := randomBytes(9 << 10)
	s.cacheA.Put(path, newBody)
	upd := newNote(centre, name, s.cacheA.URL(path), newBody)
	upd.DataID = first.DataID
	upd.Pubtime = time.Now().UTC().Add(time.Second)
	upd.Rel = "update"
	s.pubA.MustPublish(t, topic, upd.JSON())
	eventually(t, 30*time.Second, "updated file content", func() (bool, string) {
		f := s.find("dedup", name)
		if len(f) != 1 {
			return false, fmt.Sprintf("%d copies: %v", len(f), f)
		}
		b, _ := os.ReadFile(f[0])
		return bytes.Equal(b, newBody), fmt.Sprintf("%s has %d bytes, update has %d", f[0], len(b), len(newBody))
	}, s)
	if got := s.waitTracker(t, 10*time.Second, upd.ID)[upd.ID]; got != "SUCCESS" {
		t.Errorf("update: tracker %s, want SUCCESS", got)
	}

	// Deletion (DOWNLOAD_APPLY_DELETIONS=false by default): counted, file kept.
	before := s.client.Metrics(t)
	del := newNote(centre, name, s.cacheA.URL(path), nil)
	del.DataID = first.DataID
	del.Pubtime = time.Now().UTC().Add(2 * time.Second)
	del.Rel = "deletion"
	del.Method, del.Length, del.Type = "", 0, ""
	s.pubB.MustPublish(t, topic, del.JSON())
	st = s.waitTracker(t, 30*time.Second, del.ID)
	t.Logf("deletion tracker status: %s", st[del.ID])
	m := s.waitMetric(t, 20*time.Second, "deletion counted", func(m metrics) bool {
		return m.Sum("wis2downloader_notifications_total", nil) > before.Sum("wis2downloader_notifications_total", nil)
	})
	t.Logf("/metrics changes for the deletion:\n%s", joinLines(m.Diff(before, func(n string) bool { return !productMetric(n) })))
	if d := m.Sum("wis2downloader_skipped_total", map[string]string{"reason": "deletion"}) -
		before.Sum("wis2downloader_skipped_total", map[string]string{"reason": "deletion"}); d != 1 {
		t.Errorf("skipped_total{reason=deletion} grew by %g, want 1", d)
	}
	f := s.find("dedup", name)
	if len(f) != 1 {
		t.Fatalf("after a deletion with DOWNLOAD_APPLY_DELETIONS=false the file must stay: found %v", f)
	}
	if b, _ := os.ReadFile(f[0]); !bytes.Equal(b, newBody) {
		t.Errorf("file changed by a deletion notice")
	}
}
