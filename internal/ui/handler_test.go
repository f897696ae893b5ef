package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testToken = "tok-secret-123"

// apiStub is a real HTTP server answering GET /subscriptions like the API:
// topic → id → {save_path, filter}, and only with the right bearer token.
func apiStub(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/subscriptions" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"unauthorized"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const subscriptionsJSON = `{
  "cache/a/wis2/+/data/core/weather/surface-based-observations/synop": {
    "b2": {"save_path": "synop", "filter": {"rules": [{"id": "r1", "action": "accept"}]}},
    "a1": {"save_path": null, "filter": null}
  },
  "origin/a/wis2/<script>alert(1)</script>/#": {
    "c3": {"save_path": "x", "filter": {}}
  }
}`

// startUI serves the UI handler on a loopback httptest server.
func startUI(t *testing.T, apiURL, token string) *httptest.Server {
	t.Helper()
	h := New(Options{
		Version:       "v9.8.7",
		APIURL:        apiURL,
		APIToken:      token,
		APIPublicPort: 5002,
		GrafanaURL:    "http://grafana.example:3000",
		Ops: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "ops "+r.URL.Path)
		}),
		Logger: testLogger(),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func testLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func get(t *testing.T, url string, host string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("body lacks %q:\n%s", w, body)
		}
	}
}

func TestPage(t *testing.T) {
	api := apiStub(t, subscriptionsJSON)
	ui := startUI(t, api.URL, testToken)
	resp, body := get(t, ui.URL+"/", "ui.example:8080")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	mustContain(t, body,
		"<title>wis2downloader</title>",
		"version v9.8.7",
		`href="http://ui.example:5002/swagger"`,
		`href="http://grafana.example:3000"`,
		`hx-get="/fragments/subscriptions"`,
		`hx-trigger="load, every 30s"`,
		`src="/static/htmx.min.js?v=2.0.11"`,
		`href="/static/app.css"`,
	)
	// The internal API address and the token stay on the server.
	for _, secret := range []string{api.URL, testToken} {
		if strings.Contains(body, secret) {
			t.Errorf("page leaks %q", secret)
		}
	}
}

func TestPageRejectsUnsafeGrafanaURL(t *testing.T) {
	h := New(Options{GrafanaURL: "javascript:alert(1)", Logger: testLogger()})
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, body := get(t, srv.URL+"/", "")
	if strings.Contains(body, "javascript:") {
		t.Fatalf("unsafe URL rendered:\n%s", body)
	}
}

func TestSubscriptionsFragment(t *testing.T) {
	api := apiStub(t, subscriptionsJSON)
	ui := startUI(t, api.URL+"/", testToken) // a trailing slash is tolerated
	resp, body := get(t, ui.URL+"/fragments/subscriptions", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	mustContain(t, body,
		`id="subscription-table"`,
		"<code>cache/a/wis2/+/data/core/weather/surface-based-observations/synop</code>",
		"<code>a1</code>", "<code>b2</code>", "<code>c3</code>",
		"<code>synop</code>", "default layout",
		`{&#34;rules&#34;:[{&#34;id&#34;:&#34;r1&#34;,&#34;action&#34;:&#34;accept&#34;}]}`,
		"&lt;script&gt;alert(1)&lt;/script&gt;",
	)
	if strings.Contains(body, "<script>") {
		t.Error("topic not escaped")
	}
	if strings.Contains(body, `id="api-error"`) {
		t.Error("error box shown although the API answered")
	}
	// Sorted by topic, then id.
	if a, b, c := strings.Index(body, ">a1<"), strings.Index(body, ">b2<"), strings.Index(body, ">c3<"); !(a < b && b < c) {
		t.Errorf("rows not sorted: a1@%d b2@%d c3@%d", a, b, c)
	}
}

func TestSubscriptionsFragmentEmpty(t *testing.T) {
	api := apiStub(t, `{}`)
	ui := startUI(t, api.URL, testToken)
	_, body := get(t, ui.URL+"/fragments/subscriptions", "")
	mustContain(t, body, `id="no-subscriptions"`)
}

func TestSubscriptionsFragmentErrors(t *testing.T) {
	down := apiStub(t, `{}`)
	downURL := down.URL
	down.Close()
	for _, tc := range []struct {
		name, apiURL, token, want string
	}{
		{"api down", downURL, testToken, "connection refused"},
		{"wrong token", apiStub(t, `{}`).URL, "wrong", "API_TOKEN"},
		{"not json", apiStub(t, `<html>`).URL, testToken, "decode"},
		{"wrong shape", apiStub(t, `["a"]`).URL, testToken, "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ui := startUI(t, tc.apiURL, tc.token)
			resp, body := get(t, ui.URL+"/fragments/subscriptions", "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d; htmx swaps only 2xx", resp.StatusCode)
			}
			mustContain(t, body, `id="api-error"`, "The subscription API is unreachable", tc.want)
			if strings.Contains(body, testToken) {
				t.Error("error box leaks the token")
			}
		})
	}
}

func TestStaticAssets(t *testing.T) {
	ui := startUI(t, "http://127.0.0.1:1", testToken)
	for _, tc := range []struct{ path, ctype, prefix string }{
		{"/static/htmx.min.js", "text/javascript", "var htmx="},
		{"/static/app.css", "text/css", "/* wis2downloader"},
	} {
		resp, body := get(t, ui.URL+tc.path, "")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) || !strings.HasPrefix(body, tc.prefix) {
			t.Errorf("GET %s = %d %q %.40q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	if resp, _ := get(t, ui.URL+"/static/nope.js", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing asset: %d", resp.StatusCode)
	}
}

func TestOpsRoutesAndHeaders(t *testing.T) {
	ui := startUI(t, "http://127.0.0.1:1", testToken)
	for _, p := range []string{"/healthz", "/metrics"} {
		resp, body := get(t, ui.URL+p, "")
		if resp.StatusCode != http.StatusOK || body != "ops "+p {
			t.Errorf("GET %s = %d %q", p, resp.StatusCode, body)
		}
	}
	resp, _ := get(t, ui.URL+"/", "")
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}

func TestAPIDocsURL(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"ui.example:8080", "http://ui.example:5002/swagger"},
		{"ui.example", "http://ui.example:5002/swagger"},
		{"[::1]:8080", "http://[::1]:5002/swagger"},
		{"[::1]", "http://[::1]:5002/swagger"},
		{"", "http://localhost:5002/swagger"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = tc.host
		if got := apiDocsURL(r, 5002); got != tc.want {
			t.Errorf("apiDocsURL(host %q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}

func TestFilterText(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"null":               "",
		"{ \"a\" : [1, 2] }": `{"a":[1,2]}`,
	} {
		if got := filterText(json.RawMessage(in)); got != want {
			t.Errorf("filterText(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkSubscriptionsFragment(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("{")
	for i := range 200 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `"origin/a/wis2/centre-%d/data/core/#": {"id-%d": {"save_path": "p", "filter": {"rules": []}}}`, i, i)
	}
	sb.WriteString("}")
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, sb.String())
	}))
	defer api.Close()
	h := New(Options{APIURL: api.URL, Logger: testLogger()})
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fragments/subscriptions", nil))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
