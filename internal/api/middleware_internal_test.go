package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5/middleware"
)

func TestPanicBecomesJSON500AndIsLogged(t *testing.T) {
	var logs bytes.Buffer
	a := &API{logger: slog.New(slog.NewTextHandler(&logs, nil))}
	h := middleware.RequestID(a.accessLog(a.recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x?token=abc", nil))
	if rec.Code != 500 || strings.TrimSpace(rec.Body.String()) != `{"error":"internal error"}` {
		t.Fatalf("HTTP %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id header")
	}
	l := logs.String()
	if !strings.Contains(l, "panic=boom") || !strings.Contains(l, "status=500") || !strings.Contains(l, "request_id=") || strings.Contains(l, "token=abc") {
		t.Errorf("logs:\n%s", l)
	}
}
