package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

func TestRunWithoutConfigNamesTheSecrets(t *testing.T) {
	t.Chdir(t.TempDir()) // no .env
	var out bytes.Buffer
	err := run(context.Background(), nil, func(string) string { return "" }, &out, io.Discard)
	if err == nil {
		t.Fatal("run without configuration succeeded")
	}
	for _, v := range []string{"REDIS_PASSWORD", "API_SECRET_KEY", "API_TOKEN"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error %q does not name %s", err, v)
		}
	}
}

func TestRunServesAndDrains(t *testing.T) {
	t.Chdir(t.TempDir())
	r := testsvc.StartRedis(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	env := map[string]string{
		"REDIS_HOST": r.Host, "REDIS_PORT": fmt.Sprint(r.Port), "REDIS_PASSWORD": r.Password,
		"API_SECRET_KEY": "k", "API_TOKEN": "tok", "API_HOST": "127.0.0.1", "API_PORT": fmt.Sprint(port),
	}
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncWriter
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, getenv, &logs, io.Discard) }()

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := run(context.Background(), []string{"healthcheck"}, getenv, io.Discard, io.Discard); err == nil {
			break
		} else if time.Now().After(deadline) {
			cancel()
			t.Fatalf("API never became healthy: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	req, _ := http.NewRequest("GET", base+"/subscriptions", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /subscriptions: %v %v", resp, err)
	}
	resp.Body.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after the context ended")
	}
	if s := logs.String(); strings.Contains(s, "tok\n") || strings.Contains(s, r.Password) || !strings.Contains(s, "HTTP server stopped") {
		t.Errorf("logs:\n%s", s)
	}
}

type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
