package api_test

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/go-chi/chi/v5"

	"github.com/wmo-im/wis2downloader/internal/api"
)

// TestOpenAPIMatchesRouter: every chi route is documented and every
// documented operation is routed.
func TestOpenAPIMatchesRouter(t *testing.T) {
	e := newEnv(t)
	doc, err := api.OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	routed := map[string]bool{}
	h := e.srv.Config.Handler.(chi.Routes)
	err = chi.Walk(h, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routed[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routed) < 10 {
		t.Fatalf("only %d routes walked: %v", len(routed), routed)
	}
	for r := range routed {
		if !documented[r] {
			t.Errorf("route %s is not in the OpenAPI document", r)
		}
	}
	for d := range documented {
		if !routed[d] {
			t.Errorf("documented operation %s is not routed", d)
		}
	}
	// The served document is the embedded one.
	res := e.do("GET", "/openapi.json", "", "")
	var served struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	res.json(t, &served)
	if !strings.HasPrefix(served.OpenAPI, "3.0") || len(served.Paths) != len(doc.Paths.Map()) {
		t.Errorf("served document: openapi %q, %d paths", served.OpenAPI, len(served.Paths))
	}
	if alias := e.do("GET", "/openapi", "", ""); string(alias.body) != string(res.body) {
		t.Error("/openapi differs from /openapi.json")
	}
	names := make([]string, 0, len(doc.Components.Schemas))
	for n := range doc.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, want := range []string{"Error", "Filter", "Health", "Subscription", "SubscriptionList", "SubscriptionRequest", "SubscriptionUpdate"} {
		if doc.Components.Schemas[want] == nil {
			t.Errorf("schema %s missing (have %v)", want, names)
		}
	}
}

// TestOpenAPIValidationBites: the response check used by every test rejects
// a response that contradicts the document, so passing means something.
func TestOpenAPIValidationBites(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.srv.URL+"/subscriptions/x", nil)
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		status int
		body   string
	}{
		{200, `{"id": "x", "topic": "t", "save_path": null}`},             // filter missing
		{200, `{"id": "x", "topic": 1, "save_path": null, "filter": {}}`}, // topic not a string
		{404, `{"message": "nope"}`},                                      // not an Error
		{418, `{"error": "teapot"}`},                                      // undocumented status
	} {
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 c.status,
			Header:                 http.Header{"Content-Type": {"application/json"}},
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		}
		in.SetBodyBytes([]byte(c.body))
		if err := openapi3filter.ValidateResponse(context.Background(), in); err == nil {
			t.Errorf("HTTP %d %s passed validation", c.status, c.body)
		}
	}
}
