package fetch

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wmo-im/wis2downloader/internal/download/outcome"
)

func TestPolicy(t *testing.T) {
	p, err := ParsePolicy(false, []string{"10.1.2.0/24", "192.168.7.7"})
	if err != nil {
		t.Fatal(err)
	}
	refused := []string{"127.0.0.1", "::1", "10.0.0.1", "172.16.3.4", "192.168.1.1", "169.254.169.254", "fd00:ec2::254",
		"fe80::1", "224.0.0.1", "0.0.0.0", "::", "100.64.1.1", "::ffff:127.0.0.1", "255.255.255.255"}
	for _, a := range refused {
		if err := p.Check(netip.MustParseAddr(a)); !errors.Is(err, ErrRefusedAddress) {
			t.Errorf("%s allowed", a)
		}
	}
	for _, a := range []string{"8.8.8.8", "2001:4860:4860::8888", "10.1.2.3", "192.168.7.7", "::ffff:10.1.2.9"} {
		if err := p.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	all, _ := ParsePolicy(true, nil)
	if all.Check(netip.MustParseAddr("127.0.0.1")) != nil {
		t.Error("allow-private refused loopback")
	}
	if _, err := ParsePolicy(false, []string{"nonsense"}); err == nil {
		t.Error("bad CIDR accepted")
	}
}

func reason(err error) outcome.Reason {
	var e *outcome.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func TestFetchBasics(t *testing.T) {
	var ua atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.UserAgent())
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("hello"))
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/ftp":
			http.Redirect(w, r, "ftp://example.org/x", http.StatusFound)
		case "/500":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(500)
		case "/403":
			w.WriteHeader(403)
		}
	}))
	defer srv.Close()
	c := New(Options{Policy: Policy{AllowPrivate: true}, UserAgent: "wis2downloader/test", MaxBytes: 1 << 20})
	var buf bytes.Buffer
	r, err := c.Fetch(context.Background(), srv.URL+"/ok", 5, &buf)
	if err != nil || buf.String() != "hello" || r.Status != 200 {
		t.Fatalf("%v %q %+v", err, buf.String(), r)
	}
	if ua.Load() != "wis2downloader/test" {
		t.Errorf("user agent %v", ua.Load())
	}
	cases := map[string]outcome.Reason{
		"/loop": outcome.TooManyRedirects, "/ftp": outcome.UnsupportedScheme, "/500": outcome.HTTP5xx, "/403": outcome.HTTP4xx,
	}
	for p, want := range cases {
		buf.Reset()
		_, err := c.Fetch(context.Background(), srv.URL+p, 0, &buf)
		if reason(err) != want {
			t.Errorf("%s: %v, want %s", p, err, want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: body of a failed response written", p)
		}
	}
	_, err = c.Fetch(context.Background(), srv.URL+"/500", 0, io.Discard)
	var oe *outcome.Error
	if !errors.As(err, &oe) || !oe.Retry || oe.RetryAfter != 7*time.Second {
		t.Errorf("500 Retry-After: %+v", oe)
	}
	if _, err := c.Fetch(context.Background(), "file:///etc/passwd", 0, io.Discard); reason(err) != outcome.UnsupportedScheme {
		t.Errorf("file URL: %v", err)
	}
}

func TestHostLimit(t *testing.T) {
	var cur, peak atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		cur.Add(-1)
		w.Write([]byte("x"))
	}))
	defer srv.Close()
	c := New(Options{Policy: Policy{AllowPrivate: true}, HostConcurrency: 2})
	done := make(chan error, 6)
	for range 6 {
		go func() {
			_, err := c.Fetch(context.Background(), srv.URL, 0, io.Discard)
			done <- err
		}()
	}
	for cur.Load() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // give a third request the chance to break the limit
	close(release)
	for range 6 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if peak.Load() != 2 {
		t.Fatalf("peak concurrency %d, want 2", peak.Load())
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := RetryAfter("30", now); d != 30*time.Second {
		t.Error(d)
	}
	if d := RetryAfter(now.Add(time.Minute).Format(http.TimeFormat), now); d != time.Minute {
		t.Error(d)
	}
	if d := RetryAfter("soon", now); d != 0 {
		t.Error(d)
	}
}

func TestRedirectToExcludedHost(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	// "localhost" names the same loopback server under an excluded name.
	excludedURL := strings.Replace(target.URL, "127.0.0.1", "localhost", 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, excludedURL, http.StatusFound)
	}))
	defer srv.Close()
	c := New(Options{Policy: Policy{AllowPrivate: true}, Exclude: map[string]bool{"localhost": true}})
	if _, err := c.Fetch(context.Background(), srv.URL, 0, io.Discard); reason(err) != outcome.ExcludedHost {
		t.Fatalf("%v", err)
	}
	if hits.Load() != 0 {
		t.Fatal("excluded host contacted")
	}
}

// countingWriter records the size of each write.
type countingWriter struct{ sizes []int }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.sizes = append(c.sizes, len(p))
	return len(p), nil
}

// TestBodyBlocks checks that a body arriving in small pieces reaches the
// destination in buffer-sized writes, and that a chunked body cut off
// mid-stream is an error, not a complete file.
func TestBodyBlocks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		piece := bytes.Repeat([]byte("x"), 1000)
		for range 10 {
			w.Write(piece)
			w.(http.Flusher).Flush() // chunked, one chunk per piece
		}
		if r.URL.Path == "/cut" {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close() // no final chunk
			}
		}
	}))
	defer srv.Close()
	c := New(Options{Policy: Policy{AllowPrivate: true}, BufferSize: 4096})
	var cw countingWriter
	r, err := c.Fetch(context.Background(), srv.URL+"/whole", 0, &cw)
	if err != nil || r.Bytes != 10000 {
		t.Fatalf("whole body: %v, %d bytes", err, r.Bytes)
	}
	if want := []int{4096, 4096, 1808}; !slices.Equal(cw.sizes, want) {
		t.Errorf("writes %v, want %v", cw.sizes, want)
	}
	_, err = c.Fetch(context.Background(), srv.URL+"/cut", 0, io.Discard)
	if reason(err) != outcome.Connection {
		t.Fatalf("truncated chunked body: %v, want reason %s", err, outcome.Connection)
	}
}

// IPv6 addresses that carry an IPv4 address (NAT64 well-known prefix, 6to4)
// reach that IPv4 host through a translator or relay: they are judged by it.
func TestPolicyEmbeddedIPv4(t *testing.T) {
	p, err := ParsePolicy(false, []string{"10.1.2.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::c0a8:101",
		"2002:7f00:1::1", "2002:a00:1::", "2002:a9fe:a9fe::1"} {
		if err := p.Check(netip.MustParseAddr(a)); !errors.Is(err, ErrRefusedAddress) {
			t.Errorf("%s allowed", a)
		}
	}
	for _, a := range []string{"64:ff9b::808:808", "2002:808:808::1", "64:ff9b::a01:203"} {
		if err := p.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
}
