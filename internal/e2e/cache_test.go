package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// cacheHosts are the loopback addresses of the fake Global Caches. The
// workers are allowed exactly these (DOWNLOAD_ALLOW_NETWORKS) while private
// networks stay refused, so 127.0.0.1 and 169.254.169.254 remain forbidden.
var cacheHosts = []string{"127.0.0.2", "127.0.0.3"}

// cachePKI is a throw-away CA and one server certificate for cacheHosts.
type cachePKI struct {
	caFile string
	cert   tls.Certificate
}

func newCachePKI(t testing.TB, dir string) *cachePKI {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e fake Global Cache CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "fake global cache"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range cacheHosts {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(h))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &cachePKI{
		caFile: filepath.Join(dir, "cache-ca.pem"),
		cert:   tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
	}
	if err := os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// reply is one scripted answer of the fake cache.
type reply struct {
	status     int               // HTTP status; 0 = 200
	header     map[string]string // extra headers, e.g. Retry-After
	body       []byte            // nil: the file's bytes
	stallAfter int               // >0: send this many bytes, then stall until the client gives up
	chunkDelay time.Duration     // >0: send 1 KiB chunks with this pause (a slow cache)
}

// fakeCache is an HTTPS Global Cache serving files from memory. Per path it
// can be told to answer with scripted replies (404, 429, 5xx, stalls, wrong
// bytes) before serving the file; it counts requests per path.
type fakeCache struct {
	host string
	srv  *httptest.Server

	mu      sync.Mutex
	files   map[string][]byte
	script  map[string][]reply // consumed first
	always  map[string]reply   // used for every request when set
	hits    map[string]int
	conns   int // TCP connections accepted
	closing chan struct{}
}

func startFakeCache(t testing.TB, host string, pki *cachePKI) *fakeCache {
	t.Helper()
	c := &fakeCache{
		host:    host,
		files:   map[string][]byte{},
		script:  map[string][]reply{},
		always:  map[string]reply{},
		hits:    map[string]int{},
		closing: make(chan struct{}),
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("fake cache on %s: %v (all of 127.0.0.0/8 must be loopback)", host, err)
	}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(c.serve))
	c.srv.Listener.Close()
	c.srv.Listener = l
	c.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			c.mu.Lock()
			c.conns++
			c.mu.Unlock()
		}
	}
	c.srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.cert}, MinVersion: tls.VersionTLS12}
	c.srv.StartTLS()
	t.Cleanup(func() {
		close(c.closing)
		c.srv.CloseClientConnections()
		c.srv.Close()
	})
	return c
}

// URL is the https URL of path (which starts with /) on this cache.
func (c *fakeCache) URL(path string) string { return c.srv.URL + path }

// Put serves body at path.
func (c *fakeCache) Put(path string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.files[path] = body
}

// Script queues replies for path, used (in order) before the file is served.
func (c *fakeCache) Script(path string, replies ...reply) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.script[path] = append(c.script[path], replies...)
}

// Always answers every request for path with r.
func (c *fakeCache) Always(path string, r reply) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.always[path] = r
}

// Hits is the number of requests for path.
func (c *fakeCache) Hits(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[path]
}

// TotalHits is the number of requests for every path.
func (c *fakeCache) TotalHits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, h := range c.hits {
		n += h
	}
	return n
}

// Conns is the number of connections accepted so far.
func (c *fakeCache) Conns() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conns
}

// HitsMap copies the per-path counters.
func (c *fakeCache) HitsMap() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.hits))
	for k, v := range c.hits {
		m[k] = v
	}
	return m
}

func (c *fakeCache) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	c.mu.Lock()
	c.hits[path]++
	body, ok := c.files[path]
	rep, scripted := c.always[path]
	if !scripted && len(c.script[path]) > 0 {
		rep, scripted = c.script[path][0], true
		c.script[path] = c.script[path][1:]
	}
	c.mu.Unlock()
	if !scripted {
		if !ok {
			http.NotFound(w, r)
			return
		}
		rep = reply{}
	}
	if rep.body != nil {
		body = rep.body
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	status := rep.status
	if status == 0 {
		status = http.StatusOK
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(http.StatusText(status)))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	flusher, _ := w.(http.Flusher)
	switch {
	case rep.stallAfter > 0:
		n := min(rep.stallAfter, len(body))
		_, _ = w.Write(body[:n])
		if flusher != nil {
			flusher.Flush()
		}
		select { // stall until the client hangs up or the test ends
		case <-r.Context().Done():
		case <-c.closing:
		}
	case rep.chunkDelay > 0:
		for off := 0; off < len(body); off += 1024 {
			_, err := w.Write(body[off:min(off+1024, len(body))])
			if err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
			select {
			case <-time.After(rep.chunkDelay):
			case <-r.Context().Done():
				return
			case <-c.closing:
				return
			}
		}
	default:
		_, _ = w.Write(body)
	}
}
