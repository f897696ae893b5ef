package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/api"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/subscription"
	"github.com/wmo-im/wis2downloader/internal/telemetry"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

const (
	token = "s3cret-token"
	queue = "downloads"
)

// env is an API server over a real redis-server.
type env struct {
	t      testing.TB
	redis  *testsvc.Redis
	rdb    *redis.Client
	srv    *httptest.Server
	router routers.Router
	logs   *testsvc.LogBuffer
}

func newEnv(t testing.TB, opts ...func(*api.Options)) *env {
	t.Helper()
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	logs := &testsvc.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	insp := asynq.NewInspectorFromRedisClient(rdb)
	reg := telemetry.NewRegistry()
	reg.MustRegister(metrics.NewCollector(rdb, insp, queue, 2*time.Second, logger))
	o := api.Options{
		Redis: rdb, Inspector: insp, Queue: queue, Gatherer: reg,
		Token: token, BodyLimit: 4096, Logger: logger,
	}
	for _, f := range opts {
		f(&o)
	}
	h, err := api.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	doc, err := api.OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = nil // match on the path only (the server URL is relative)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, redis: r, rdb: rdb, srv: srv, router: router, logs: logs}
}

// response is what a request returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorMsg returns the "error" of a JSON error body.
func (r response) errorMsg(t testing.TB) string {
	t.Helper()
	var e struct {
		Error *string `json:"error"`
	}
	r.json(t, &e)
	if e.Error == nil {
		t.Fatalf("HTTP %d body %s has no \"error\"", r.status, r.body)
	}
	return *e.Error
}

// do sends a request (with the bearer token unless auth is "") and checks
// the response against the OpenAPI document when the path is documented.
func (e *env) do(method, path, body string, auth string, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	res := response{status: resp.StatusCode, header: resp.Header, body: b}
	e.validate(req, res)
	if res.status >= 400 && !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		e.t.Errorf("%s %s: HTTP %d with Content-Type %q, want JSON", method, path, res.status, res.header.Get("Content-Type"))
	}
	return res
}

// validate checks a response against the document; undocumented status
// codes are errors.
func (e *env) validate(req *http.Request, res response) {
	e.t.Helper()
	if strings.HasPrefix(req.URL.Path, "/debug/") {
		return // the profiler (API_DEBUG) is deliberately not part of the API
	}
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		// Only the answers to undocumented paths and methods may be unchecked.
		if res.status != http.StatusNotFound && res.status != http.StatusMethodNotAllowed {
			e.t.Errorf("%s %s: HTTP %d but the OpenAPI document has no such operation: %v", req.Method, req.URL.Path, res.status, err)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.status,
		Header:                 res.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(res.body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		e.t.Errorf("%s %s: HTTP %d response does not match the OpenAPI document: %v\nbody: %.500s", req.Method, req.URL.Path, res.status, err, res.body)
	}
}

// commands subscribes to the command channel.
type commands struct {
	t  testing.TB
	ps *redis.PubSub
	ch <-chan *redis.Message
}

func (e *env) listen() *commands {
	e.t.Helper()
	ctx := context.Background()
	ps := e.rdb.Subscribe(ctx, subscription.CommandChannel)
	if _, err := ps.Receive(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = ps.Close() })
	return &commands{t: e.t, ps: ps, ch: ps.Channel(redis.WithChannelSize(1000))}
}

// next returns the next command as a generic JSON object.
func (c *commands) next() map[string]any {
	c.t.Helper()
	select {
	case m := <-c.ch:
		var out map[string]any
		if err := json.Unmarshal([]byte(m.Payload), &out); err != nil {
			c.t.Fatalf("command %q: %v", m.Payload, err)
		}
		return out
	case <-time.After(10 * time.Second):
		c.t.Fatal("no command published")
		return nil
	}
}

// none checks that nothing was published: a marker published now must be
// the next message.
func (c *commands) none(rdb *redis.Client) {
	c.t.Helper()
	if err := rdb.Publish(context.Background(), subscription.CommandChannel, `{"action":"marker"}`).Err(); err != nil {
		c.t.Fatal(err)
	}
	if got := c.next(); got["action"] != "marker" {
		c.t.Fatalf("unexpected command %v", got)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
