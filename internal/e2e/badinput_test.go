package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// badCase is one hostile or broken notification and the reasons it may be
// counted under (skipped_total or failed_total).
type badCase struct {
	name    string
	payload []byte
	id      string   // message id; "" when the message has none usable
	reasons []string // acceptable reason labels
}

// TestBadInputNeverStopsTheStack publishes broken and hostile notifications:
// none may write a file, each is counted under its reason, every process
// stays up, and good data still downloads afterwards.
func TestBadInputNeverStopsTheStack(t *testing.T) {
	const maxBytes = 64 << 10
	s := startStack(t, stackConfig{noUI: true, worker: map[string]string{
		"DOWNLOAD_MAX_BYTES":    itoa(maxBytes),
		"DOWNLOAD_READ_TIMEOUT": "2s",
		"DOWNLOAD_MAX_ATTEMPTS": "1",
	}})
	const centre = "xx-bad"
	const target = "bad"
	topic := dataTopic("cache", centre)
	s.subscribe(t, "cache/a/wis2/"+centre+"/#", target)

	// The API refuses a target that leaves the download root.
	for _, tg := range []string{"../../etc", "/etc", "a/../../.."} {
		status, body := s.client.do(t, http.MethodPost, "/subscriptions", map[string]any{"topic": topic, "target": tg})
		if status != http.StatusBadRequest || !strings.Contains(string(body), `"error"`) {
			t.Errorf("POST /subscriptions target %q: want 400 with {\"error\":...}, got %d %s", tg, status, body)
		}
	}

	good := func(name string) (note, []byte) {
		body := randomBytes(2048)
		n, _ := s.cachedNote(centre, name, body)
		return n, body
	}
	var cases []badCase
	add := func(name string, n note, reasons ...string) {
		cases = append(cases, badCase{name: name, payload: n.JSON(), id: n.ID, reasons: reasons})
	}

	cases = append(cases,
		badCase{name: "malformed JSON", payload: []byte(`{"id": "` + uuid.NewString() + `", "properties": {`), reasons: []string{"not_json"}},
		badCase{name: "JSON array", payload: []byte(`[1,2,3]`), reasons: []string{"invalid_message"}},
		badCase{name: "no id", payload: func() []byte { n, _ := good("no_id.bin"); n.Drop = []string{"id"}; return n.JSON() }(), reasons: []string{"missing_id"}},
	)
	{
		n, _ := good("no_data_id.bin")
		n.Drop = []string{"properties.data_id"}
		add("no data_id", n, "missing_data_id", "invalid_message")
	}
	{
		n, _ := good("no_links.bin")
		n.Drop = []string{"links"}
		add("no links", n, "no_usable_link", "no_link", "invalid_message")
	}
	{
		n, _ := good("loopback.bin")
		n.Href = fmt.Sprintf("http://127.0.0.1:%d/subscriptions", s.apiPort)
		add("loopback URL (the API)", n, "refused_address")
	}
	{
		n, _ := good("metadata.bin")
		n.Href = "http://169.254.169.254/latest/meta-data"
		add("metadata-service URL", n, "refused_address")
	}
	{
		n, _ := good("file.bin")
		n.Href = "file:///etc/passwd"
		add("file:// URL", n, "unsupported_scheme", "no_usable_link", "no_link", "invalid_message")
	}
	{
		n, body := good("redirected.bin")
		path := "/data/" + centre + "/redirected.bin"
		s.cacheA.Always(path, reply{status: http.StatusFound, header: map[string]string{
			"Location": fmt.Sprintf("http://127.0.0.1:%d/health", s.apiPort)}})
		_ = body
		add("redirect to loopback", n, "refused_address")
	}
	{
		n, _ := good("hash.bin")
		n.Value = "lT7r2ekzrb3np7Jqk7vACk5qclFUxZXkEqgt1hqU3Tz+4/IaZZnb2KQxFw502Bn0o4v+++ImukvaE7EelTSfoA=="
		add("hash mismatch", n, "hash_mismatch")
	}
	{
		n, _ := good("length.bin")
		n.Length += 10
		add("wrong length", n, "length_mismatch")
	}
	{
		body := randomBytes(2 * maxBytes)
		n, _ := s.cachedNote(centre, "oversize.bin", body)
		add("oversize with length", n, "too_large")
		n, _ = s.cachedNote(centre, "oversize_nolength.bin", body)
		n.Length = 0
		add("oversize without length", n, "too_large")
	}
	{
		n, _ := good("stall.bin")
		s.cacheA.Always("/data/"+centre+"/stall.bin", reply{stallAfter: 100})
		add("stalling cache", n, "timeout")
	}
	traversal := func() note {
		path := "/data/" + centre + "/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd"
		body := randomBytes(512)
		s.cacheA.Put(path, body)
		return newNote(centre, "traversal", s.cacheA.URL(path), body)
	}()

	before := s.client.Metrics(t)
	for i, c := range cases {
		pub := s.pubA
		if i%2 == 1 {
			pub = s.pubB
		}
		pub.MustPublish(t, topic, c.payload)
	}
	s.pubA.MustPublish(t, topic, traversal.JSON())

	// Every case with a message id reaches a final tracker state with one
	// of its reasons.
	var ids []string
	for _, c := range cases {
		if c.id != "" && !slices.Contains(c.reasons, "missing_id") {
			ids = append(ids, c.id)
		}
	}
	s.waitTracker(t, 60*time.Second, append(ids, traversal.ID)...)
	for _, c := range cases {
		if c.id == "" || slices.Contains(c.reasons, "missing_id") {
			continue
		}
		st, reason := s.trackerStatusReason(c.id)
		if st == "SUCCESS" || !slices.Contains(c.reasons, reason) {
			t.Errorf("%s: tracker status %s reason %q, want FAILED or SKIPPED with reason in %v", c.name, st, reason, c.reasons)
		}
	}

	// Each reason is counted in /metrics.
	counted := func(m metrics, reason string) float64 {
		l := map[string]string{"reason": reason}
		return m.Sum("wis2downloader_skipped_total", l) + m.Sum("wis2downloader_failed_total", l) -
			before.Sum("wis2downloader_skipped_total", l) - before.Sum("wis2downloader_failed_total", l)
	}
	var m metrics
	eventually(t, 30*time.Second, "every bad notification counted under its reason", func() (bool, string) {
		var err error
		if m, err = scrape(s.client.http, s.client.base+"/metrics"); err != nil {
			return false, err.Error()
		}
		var short []string
		for _, c := range cases {
			got := 0.0
			for _, r := range c.reasons {
				got += counted(m, r)
			}
			if got < 1 {
				short = append(short, fmt.Sprintf("%s (reasons %v)", c.name, c.reasons))
			}
		}
		return len(short) == 0, "not counted yet: " + strings.Join(short, "; ")
	}, s)
	t.Logf("/metrics changes:\n%s", joinLines(m.Diff(before, func(n string) bool { return !productMetric(n) })))
	if d := m.Sum("wis2downloader_downloads_total", nil) - before.Sum("wis2downloader_downloads_total", nil); d > 1 {
		t.Errorf("downloads_total grew by %g; only the sanitised traversal file may have been stored", d)
	}

	// Nothing written: no file in the target except (maybe) the traversal
	// one, which must sit in its own leaf directory, and nothing outside the
	// data root.
	for _, f := range filesUnder(filepath.Join(s.data, target)) {
		t.Logf("file in target: %s", f)
		if len(strings.Split(f, string(filepath.Separator))) != 5 {
			t.Errorf("file %s is not at <yyyy>/<mm>/<dd>/<centre>/<name> below the target", f)
		}
	}
	if st, reason := s.trackerStatusReason(traversal.ID); st == "SUCCESS" {
		t.Logf("traversal URL was stored under a sanitised name (reason %q)", reason)
	} else {
		t.Logf("traversal URL refused: %s %s", st, reason)
		if f := filesUnder(filepath.Join(s.data, target)); len(f) != 0 {
			t.Errorf("bad input wrote files: %v", f)
		}
	}
	for _, f := range filesUnder(s.dir) {
		if strings.HasSuffix(f, "passwd") && !strings.HasPrefix(f, "data"+string(filepath.Separator)) {
			t.Errorf("traversal escaped the data root: %s", f)
		}
	}

	// The stack is still up and downloads good data.
	s.checkAlive(t)
	n, body := good("after_bad_input.bin")
	s.pubB.MustPublish(t, topic, n.JSON())
	s.waitFiles(t, 30*time.Second, []expectation{{target, "after_bad_input.bin", body}})
	s.checkAlive(t)
}

// trackerStatusReason reads status and reason of a message id's tracker.
func (s *stack) trackerStatusReason(id string) (string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, _ := s.rdb.HMGet(ctx, "wis2:notifications:data:tracker:by-msg-id:"+id, "status", "reason").Result()
	str := func(x any) string {
		if s, ok := x.(string); ok {
			return s
		}
		return ""
	}
	if len(v) != 2 {
		return "", ""
	}
	return str(v[0]), str(v[1])
}
