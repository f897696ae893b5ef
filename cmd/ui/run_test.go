package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wmo-im/wis2downloader/internal/buildinfo"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// baseEnv is a complete UI configuration on a free loopback port.
func baseEnv(t *testing.T, apiURL string) map[string]string {
	return map[string]string{
		"REDIS_PASSWORD":                "redis-secret-1",
		"API_TOKEN":                     "api-token-2",
		"UI_SECRET_KEY":                 "ui-secret-3",
		"UI_HOST":                       "127.0.0.1",
		"UI_PORT":                       strconv.Itoa(testsvc.FreePort(t)),
		"WIS2_SUBSCRIPTION_MANAGER_URL": apiURL,
		"WIS2_GRAFANA_URL":              "http://grafana.test:3000",
	}
}

// running is a ui run() in a goroutine of the test, serving at url.
type running struct {
	*testsvc.Running
	url string
}

// startRun runs the ui in-process with env and waits until /healthz answers.
func startRun(t *testing.T, ctx context.Context, env map[string]string) *running {
	t.Helper()
	r := &running{Running: testsvc.StartRun(t, ctx, run, env), url: "http://127.0.0.1:" + env["UI_PORT"]}
	deadline := time.After(20 * time.Second)
	for {
		resp, err := http.Get(r.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case <-r.Done():
			t.Fatalf("run returned before serving: %v\n%s", r.Err(), r.Stdout)
		case <-deadline:
			t.Fatalf("ui not serving /healthz: %v\n%s", err, r.Stdout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func apiStub(t *testing.T, token string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/subscriptions" || r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"cache/a/wis2/+/data/core/weather/#": {"sub-1": {"save_path": "weather", "filter": {"rules": []}}}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ui (DEBUG|INFO|WARNING|ERROR) \S`)

func TestRunServes(t *testing.T) {
	api := apiStub(t, "api-token-2")
	env := baseEnv(t, api.URL)
	r := startRun(t, context.Background(), env)

	code, body := fetch(t, r.url+"/")
	if code != http.StatusOK || !strings.Contains(body, "<title>wis2downloader</title>") {
		t.Fatalf("GET / = %d\n%s", code, body)
	}
	if !strings.Contains(body, "version "+buildinfo.Version()) || !strings.Contains(body, `href="http://grafana.test:3000"`) {
		t.Errorf("page lacks version or Grafana link:\n%s", body)
	}
	if code, body := fetch(t, r.url+"/healthz"); code != http.StatusOK || !strings.Contains(body, `"healthy"`) {
		t.Errorf("GET /healthz = %d %s", code, body)
	}
	if code, body := fetch(t, r.url+"/metrics"); code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics = %d", code)
	}
	code, body = fetch(t, r.url+"/fragments/subscriptions")
	if code != http.StatusOK || !strings.Contains(body, "cache/a/wis2/+/data/core/weather/#") || !strings.Contains(body, "sub-1") {
		t.Errorf("fragment = %d\n%s", code, body)
	}
	if code, _ := fetch(t, r.url+"/static/htmx.min.js"); code != http.StatusOK {
		t.Errorf("htmx.min.js = %d", code)
	}

	if err := r.Stop(t); err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
	out := r.Stdout.String()
	if !strings.Contains(out, "HTTP server stopped") {
		t.Errorf("no clean-stop log line:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !logLine.MatchString(line) {
			t.Errorf("log line not in the admin guide's format: %q", line)
		}
	}
	for _, secret := range []string{"redis-secret-1", "api-token-2", "ui-secret-3"} {
		if strings.Contains(out, secret) {
			t.Errorf("log leaks secret %q", secret)
		}
	}
	if _, err := http.Get(r.url + "/healthz"); err == nil {
		t.Error("server still answers after run returned")
	}
}

func TestRunFragmentAPIDown(t *testing.T) {
	api := apiStub(t, "api-token-2")
	api.Close()
	r := startRun(t, context.Background(), baseEnv(t, api.URL))
	code, body := fetch(t, r.url+"/fragments/subscriptions")
	if code != http.StatusOK || !strings.Contains(body, `id="api-error"`) {
		t.Fatalf("fragment with API down = %d\n%s", code, body)
	}
	if !strings.Contains(r.Stdout.String(), "WARNING Subscription API unavailable") {
		t.Errorf("API failure not logged:\n%s", r.Stdout)
	}
}

func TestHealthcheckSubcommand(t *testing.T) {
	env := baseEnv(t, "http://127.0.0.1:1")
	ctx := context.Background()
	if err := run(ctx, []string{"healthcheck"}, testsvc.Getenv(env), io.Discard, io.Discard); err == nil {
		t.Fatal("healthcheck succeeded with no server running")
	}
	r := startRun(t, ctx, env)
	if err := run(ctx, []string{"healthcheck"}, testsvc.Getenv(env), io.Discard, io.Discard); err != nil {
		t.Fatalf("healthcheck against a running ui: %v", err)
	}
	// UI_HOST 0.0.0.0 (the container default) is probed on loopback.
	env["UI_HOST"] = "0.0.0.0"
	if err := run(ctx, []string{"healthcheck"}, testsvc.Getenv(env), io.Discard, io.Discard); err != nil {
		t.Fatalf("healthcheck with UI_HOST=0.0.0.0: %v", err)
	}
	if err := r.Stop(t); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"healthcheck"}, testsvc.Getenv(env), io.Discard, io.Discard); err == nil {
		t.Fatal("healthcheck succeeded after the ui stopped")
	}
}

// TestRunStopsOnSIGTERM wires the context exactly as main does and sends the
// test process a real SIGTERM.
func TestRunStopsOnSIGTERM(t *testing.T) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	r := startRun(t, ctx, baseEnv(t, "http://127.0.0.1:1"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(t); err != nil {
		t.Fatalf("run after SIGTERM: %v", err)
	}
	if !strings.Contains(r.Stdout.String(), "HTTP server stopped") {
		t.Errorf("no clean-stop log line:\n%s", r.Stdout)
	}
}

func TestRunWithoutConfig(t *testing.T) {
	err := run(context.Background(), nil, testsvc.Getenv(nil), io.Discard, io.Discard)
	if err == nil {
		t.Fatal("run without configuration succeeded")
	}
	for _, name := range []string{"REDIS_PASSWORD", "API_TOKEN", "UI_SECRET_KEY"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestRunBadArgsAndPort(t *testing.T) {
	if err := run(context.Background(), []string{"serve-please"}, testsvc.Getenv(nil), io.Discard, io.Discard); err == nil {
		t.Error("unknown argument accepted")
	}
	env := baseEnv(t, "http://127.0.0.1:1")
	env["UI_PORT"] = "http"
	if err := run(context.Background(), nil, testsvc.Getenv(env), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "UI_PORT") {
		t.Errorf("non-numeric UI_PORT: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	env["UI_PORT"] = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	err = run(context.Background(), nil, testsvc.Getenv(env), io.Discard, io.Discard)
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("port in use: %v, want a listen error", err)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-version"}, testsvc.Getenv(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(out.String()), "ui "+buildinfo.Version(); got != want {
		t.Fatalf("-version printed %q, want %q", got, want)
	}
}
