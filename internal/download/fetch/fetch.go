// Package fetch downloads one URL safely: http/https only, resolved
// addresses checked against a network policy (also after redirects),
// connect / idle-read / total timeouts, a size limit enforced while
// streaming, a per-host concurrency limit and classified errors.
package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wmo-im/wis2downloader/internal/download/outcome"
)

// MaxRedirects is the longest redirect chain followed.
const MaxRedirects = 5

// readBufferSize is the per-connection read buffer. Larger bodies bypass it
// (reads into the copy buffer go straight to the socket).
const readBufferSize = 32 << 10

// Options configure a Client.
type Options struct {
	ConnectTimeout  time.Duration // TCP connect and TLS handshake
	ReadTimeout     time.Duration // no byte received for this long (headers or body)
	TotalTimeout    time.Duration // whole request
	MaxBytes        int64         // largest body accepted (0 = unlimited)
	HostConcurrency int           // concurrent requests per host (default 5)
	Policy          Policy
	RootCAs         *x509.CertPool // nil = system roots
	UserAgent       string
	BufferSize      int             // streaming buffer (default 64 KiB)
	Exclude         map[string]bool // lower-case host names never contacted, also after a redirect
}

// Client downloads files. It is safe for concurrent use.
type Client struct {
	opts  Options
	http  *http.Client
	hosts *hostLimit
	bufs  sync.Pool
}

// LoadCAFile returns the system roots plus the PEM certificates in path.
func LoadCAFile(path string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate found", path)
	}
	return pool, nil
}

// New builds a Client.
func New(o Options) *Client {
	if o.BufferSize <= 0 {
		o.BufferSize = 64 << 10
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 60 * time.Second
	}
	dialer := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second, Control: o.Policy.control}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would hide the real address from the policy
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   o.ConnectTimeout,
		ResponseHeaderTimeout: o.ReadTimeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
		DisableCompression:    true, // store the bytes as published; lengths and digests refer to them
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   max(o.HostConcurrency, 5),
		IdleConnTimeout:       90 * time.Second,
		// Headers and a small file's body arrive in one read (the default
		// 4 KiB buffer splits a 10 KiB response into three).
		ReadBufferSize: readBufferSize,
	}
	c := &Client{opts: o, hosts: newHostLimit(o.HostConcurrency)}
	c.http = &http.Client{Transport: tr, CheckRedirect: c.checkRedirect}
	c.bufs.New = func() any { b := make([]byte, o.BufferSize); return &b }
	return c
}

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return outcome.Permanent(outcome.TooManyRedirects, fmt.Errorf("more than %d redirects", MaxRedirects))
	}
	if err := checkScheme(req.URL); err != nil {
		return err
	}
	if h := strings.ToLower(req.URL.Hostname()); c.opts.Exclude[h] {
		return outcome.Permanent(outcome.ExcludedHost, fmt.Errorf("redirect to %s, which is in GC_EXCLUDE", h))
	}
	return nil
}

func checkScheme(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return outcome.Permanent(outcome.UnsupportedScheme, errors.New("URL has no host"))
		}
		return nil
	}
	return outcome.Permanent(outcome.UnsupportedScheme, fmt.Errorf("scheme %q is not http or https", u.Scheme))
}

// StatusError is wrapped by Fetch errors for non-2xx responses.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return "HTTP " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
}

// Response describes a completed download.
type Response struct {
	Status        int
	ContentLength int64 // -1 when not sent
	ContentType   string
	Bytes         int64 // body bytes written
	URL           string
}

// Fetch GETs rawURL and streams a 2xx body into w. expected is the link's
// length (0 = unknown). Errors are *outcome.Error; non-2xx responses wrap a
// *StatusError. Nothing is written to w for a non-2xx response.
func (c *Client) Fetch(ctx context.Context, rawURL string, expected int64, w io.Writer) (Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Response{}, outcome.Permanent(outcome.InvalidMessage, fmt.Errorf("link href: %w", err))
	}
	if err := checkScheme(u); err != nil {
		return Response{}, err
	}
	if c.opts.MaxBytes > 0 && expected > c.opts.MaxBytes {
		return Response{}, outcome.Permanent(outcome.TooLarge, fmt.Errorf("link length %d exceeds %d", expected, c.opts.MaxBytes))
	}
	release, err := c.hosts.acquire(ctx, strings.ToLower(u.Host))
	if err != nil {
		return Response{}, err
	}
	defer release()

	if c.opts.TotalTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.opts.TotalTimeout, errTotal)
		defer cancel()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Response{}, outcome.Permanent(outcome.InvalidMessage, err)
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	req.Header.Set("Accept", "*/*")
	resp, err := c.http.Do(req)
	if err != nil {
		return Response{}, classify(ctx, err)
	}
	defer resp.Body.Close()
	r := Response{Status: resp.StatusCode, ContentLength: resp.ContentLength, ContentType: resp.Header.Get("Content-Type"), URL: resp.Request.URL.String()}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Drain a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4096)
		return r, statusError(resp)
	}
	if c.opts.MaxBytes > 0 && resp.ContentLength > c.opts.MaxBytes {
		return r, outcome.Permanent(outcome.TooLarge, fmt.Errorf("Content-Length %d exceeds %d", resp.ContentLength, c.opts.MaxBytes))
	}
	if expected > 0 && resp.ContentLength >= 0 && resp.ContentLength != expected {
		return r, outcome.Permanent(outcome.LengthMismatch, fmt.Errorf("Content-Length %d, link length %d", resp.ContentLength, expected))
	}

	body := &idleReader{r: resp.Body, cancel: cancel, d: c.opts.ReadTimeout}
	body.t = time.AfterFunc(body.d, func() { cancel(errIdle) })
	defer body.t.Stop()
	var src io.Reader = body
	if c.opts.MaxBytes > 0 {
		src = io.LimitReader(body, c.opts.MaxBytes+1)
	}
	bp := c.bufs.Get().(*[]byte)
	n, err := copyBlocks(w, src, *bp)
	c.bufs.Put(bp)
	r.Bytes = n
	if err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return r, we.err
		}
		return r, classify(ctx, err)
	}
	if c.opts.MaxBytes > 0 && n > c.opts.MaxBytes {
		return r, outcome.Permanent(outcome.TooLarge, fmt.Errorf("body exceeds %d bytes", c.opts.MaxBytes))
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return r, outcome.Retryable(outcome.Connection, fmt.Errorf("body has %d bytes, Content-Length %d", n, resp.ContentLength))
	}
	if expected > 0 && n != expected {
		return r, outcome.Permanent(outcome.LengthMismatch, fmt.Errorf("body has %d bytes, link length %d", n, expected))
	}
	return r, nil
}

// WriteError marks an error of the destination writer, so that it is not
// mistaken for a network error. Writers passed to Fetch may return it.
func WriteError(err error) error { return &writeError{err: err} }

type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// copyBlocks copies src to w through buf, filling buf before each write:
// the destination file gets few, large writes (one for a file that fits in
// buf) whatever sizes the network delivers. Unlike io.ReadFull it never
// mistakes a truncated body (io.ErrUnexpectedEOF from net/http) for the end.
func copyBlocks(w io.Writer, src io.Reader, buf []byte) (int64, error) {
	var written int64
	for {
		n := 0
		var rerr error
		for n < len(buf) && rerr == nil {
			var m int
			m, rerr = src.Read(buf[n:])
			n += m
		}
		if n > 0 {
			nw, werr := w.Write(buf[:n])
			written += int64(nw)
			if werr != nil {
				return written, werr
			}
			if nw != n {
				return written, io.ErrShortWrite
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

var (
	errIdle  = errors.New("no data received within the read timeout")
	errTotal = errors.New("download exceeded the total timeout")
)

// idleReader cancels the request when no byte arrives for d.
type idleReader struct {
	r      io.Reader
	cancel context.CancelCauseFunc
	d      time.Duration
	t      *time.Timer
}

func (b *idleReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.t.Reset(b.d)
	}
	return n, err
}

func statusError(resp *http.Response) error {
	se := &StatusError{Code: resp.StatusCode}
	switch c := resp.StatusCode; {
	case c == http.StatusNotFound:
		return outcome.Permanent(outcome.HTTP404, se) // the caller decides whether it is early
	case c == http.StatusTooManyRequests:
		e := outcome.Retryable(outcome.HTTP429, se)
		e.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return e
	case c == http.StatusRequestTimeout:
		return outcome.Retryable(outcome.HTTP4xx, se)
	case c >= 500:
		e := outcome.Retryable(outcome.HTTP5xx, se)
		e.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return e
	case c >= 300 && c < 400:
		return outcome.Permanent(outcome.TooManyRedirects, se)
	}
	return outcome.Permanent(outcome.HTTP4xx, se)
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date); 0 when
// absent or unreadable.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// classify maps a transport error to a bounded reason.
func classify(ctx context.Context, err error) error {
	var oe *outcome.Error
	if errors.As(err, &oe) {
		return oe
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errIdle):
		return outcome.Retryable(outcome.Timeout, errIdle)
	case errors.Is(cause, errTotal):
		return outcome.Retryable(outcome.Timeout, errTotal)
	case cause != nil:
		return cause // the task was cancelled (shutdown): not the download's fault
	}
	if errors.Is(err, ErrRefusedAddress) {
		return outcome.Permanent(outcome.RefusedAddress, err)
	}
	var ce *tls.CertificateVerificationError
	var re tls.RecordHeaderError
	if errors.As(err, &ce) || errors.As(err, &re) || errors.As(err, new(x509.UnknownAuthorityError)) || errors.As(err, new(x509.HostnameError)) {
		return outcome.Permanent(outcome.TLS, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return outcome.Retryable(outcome.Timeout, err)
	}
	return outcome.Retryable(outcome.Connection, err)
}
