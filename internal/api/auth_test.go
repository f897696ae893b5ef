package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wmo-im/wis2downloader/internal/api"
)

func TestBearerAuth(t *testing.T) {
	e := newEnv(t)
	routes := []struct{ method, path, body string }{
		{"GET", "/subscriptions", ""},
		{"POST", "/subscriptions", `{"topic": "cache/a/wis2/+/data/core/#"}`},
		{"GET", "/subscriptions/x", ""},
		{"PUT", "/subscriptions/x", `{"target": "a"}`},
		{"DELETE", "/subscriptions/x", ""},
	}
	for _, r := range routes {
		for _, c := range []struct {
			name string
			hdr  []string
		}{
			{"missing", nil},
			{"wrong", []string{"Authorization", "Bearer nope"}},
			{"prefix of the token", []string{"Authorization", "Bearer " + token[:5]}},
			{"basic", []string{"Authorization", "Basic " + token}},
			{"no scheme", []string{"Authorization", token}},
		} {
			res := e.do(r.method, r.path, r.body, "", c.hdr...)
			if res.status != http.StatusUnauthorized {
				t.Errorf("%s %s, %s token: HTTP %d", r.method, r.path, c.name, res.status)
				continue
			}
			if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="wis2downloader"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
			res.errorMsg(t)
		}
	}
	if res := e.do("GET", "/subscriptions", "", token); res.status != 200 {
		t.Errorf("right token: HTTP %d", res.status)
	}
	if res := e.do("GET", "/subscriptions", "", "", "Authorization", "bearer  "+token); res.status != 200 {
		t.Errorf("lower-case scheme: HTTP %d", res.status)
	}
	// Open endpoints.
	for _, p := range []string{"/health", "/metrics", "/openapi.json", "/openapi", "/swagger", "/swagger/swagger-ui.css"} {
		if res := e.do("GET", p, "", ""); res.status != 200 {
			t.Errorf("GET %s without token: HTTP %d", p, res.status)
		}
	}
	// pprof is off (API_DEBUG=false).
	if res := e.do("GET", "/debug/pprof/", "", token); res.status != 404 {
		t.Errorf("pprof without API_DEBUG: HTTP %d", res.status)
	}
	// The access log has the request id and never the token.
	logs := e.logs.String()
	if strings.Contains(logs, token) || strings.Contains(logs, "nope") {
		t.Error("a token appears in the logs")
	}
	if !strings.Contains(logs, "request_id=") || !strings.Contains(logs, "status=401") || !strings.Contains(logs, "path=/subscriptions") {
		t.Errorf("access log lines missing:\n%.2000s", logs)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t)
	res := e.do("GET", "/nope", "", token)
	if res.status != 404 || !strings.Contains(res.errorMsg(t), "/nope") {
		t.Errorf("unknown path: HTTP %d %s", res.status, res.body)
	}
	res = e.do("PATCH", "/subscriptions", "", token)
	if res.status != 405 || !strings.Contains(res.errorMsg(t), "PATCH") {
		t.Errorf("wrong method: HTTP %d %s", res.status, res.body)
	}
	res = e.do("POST", "/health", "", "")
	if res.status != 405 {
		t.Errorf("POST /health: HTTP %d %s", res.status, res.body)
	}
	res = e.do("GET", "/swagger/secret.txt", "", "")
	if res.status != 404 {
		t.Errorf("unknown asset: HTTP %d", res.status)
	}
}

func TestSwaggerUIServedFromBinary(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		path, loc string
		status    int
	}{{"/", "swagger", http.StatusFound}} {
		res := e.do("GET", c.path, "", "")
		if res.status != c.status || res.header.Get("Location") != c.loc {
			t.Errorf("GET %s: HTTP %d Location %q", c.path, res.status, res.header.Get("Location"))
		}
	}
	res := e.do("GET", "/swagger", "", "")
	page := string(res.body)
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(page, `src="swagger/swagger-ui-bundle.js"`) || strings.Contains(page, "unpkg") || strings.Contains(page, "https://") {
		t.Fatalf("index: HTTP %d %s", res.status, page)
	}
	for _, f := range []string{"swagger-ui-bundle.js", "swagger-ui.css", "swagger-initializer.js"} {
		res := e.do("GET", "/swagger/"+f, "", "")
		if res.status != 200 || len(res.body) < 100 {
			t.Errorf("%s: HTTP %d, %d bytes", f, res.status, len(res.body))
		}
	}
	gz := e.do("GET", "/swagger/swagger-ui-bundle.js", "", "", "Accept-Encoding", "gzip")
	plain := e.do("GET", "/swagger/swagger-ui-bundle.js", "", "", "Accept-Encoding", "identity")
	if gz.header.Get("Content-Encoding") != "gzip" || len(gz.body) >= len(plain.body)/2 || plain.header.Get("Content-Encoding") != "" {
		t.Errorf("gzip: %q %d bytes, plain %d bytes", gz.header.Get("Content-Encoding"), len(gz.body), len(plain.body))
	}
	if res := e.do("GET", "/swagger/index.html", "", ""); res.status != 404 {
		t.Errorf("/swagger/index.html: HTTP %d", res.status)
	}
	if res := e.do("GET", "/swagger/swagger-initializer.js", "", ""); !strings.Contains(string(res.body), `"openapi.json"`) {
		t.Error("the initializer does not load openapi.json")
	}
}

func TestDebugProfilerBehindToken(t *testing.T) {
	e := newEnv(t, func(o *api.Options) { o.Debug = true })
	if res := e.do("GET", "/debug/pprof/cmdline", "", ""); res.status != http.StatusUnauthorized {
		t.Errorf("pprof without token: HTTP %d", res.status)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/debug/pprof/cmdline", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("pprof with token and API_DEBUG: HTTP %d", resp.StatusCode)
	}
}
