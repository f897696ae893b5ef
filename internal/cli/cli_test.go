package cli

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	var out bytes.Buffer
	if m, err := Parse("api", nil, &out); err != nil || m != Serve {
		t.Errorf("no args: %v %v", m, err)
	}
	if m, err := Parse("api", []string{"-version"}, &out); err != nil || m != Version || !strings.HasPrefix(out.String(), "api ") {
		t.Errorf("-version: %v %v %q", m, err, out.String())
	}
	if m, err := Parse("api", []string{"healthcheck"}, &out); err != nil || m != Healthcheck {
		t.Errorf("healthcheck: %v %v", m, err)
	}
	if _, err := Parse("api", []string{"bogus"}, &out); err == nil {
		t.Error("unknown argument accepted")
	}
}

func TestCheckHTTP(t *testing.T) {
	healthy := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if err := CheckHTTP(context.Background(), srv.URL); err != nil {
		t.Errorf("healthy: %v", err)
	}
	healthy = false
	if err := CheckHTTP(context.Background(), srv.URL); !errors.Is(err, ErrUnhealthy) {
		t.Errorf("unhealthy: %v", err)
	}
	srv.Close()
	if err := CheckHTTP(context.Background(), srv.URL); err == nil {
		t.Error("closed server reported healthy")
	}
}

func TestLocalURL(t *testing.T) {
	for _, c := range []struct {
		host string
		want string
	}{
		{"", "http://127.0.0.1:80/x"},
		{"0.0.0.0", "http://127.0.0.1:80/x"},
		{"::", "http://127.0.0.1:80/x"},
		{"10.1.2.3", "http://10.1.2.3:80/x"},
		{"::1", "http://[::1]:80/x"},
	} {
		if got := LocalURL(c.host, 80, "/x"); got != c.want {
			t.Errorf("LocalURL(%q) = %q, want %q", c.host, got, c.want)
		}
	}
}
