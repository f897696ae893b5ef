package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
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
	port := testsvc.FreePort(t)
	env := map[string]string{
		"REDIS_HOST": r.Host, "REDIS_PORT": fmt.Sprint(r.Port), "REDIS_PASSWORD": r.Password,
		"API_SECRET_KEY": "k", "API_TOKEN": "tok", "API_HOST": "127.0.0.1", "API_PORT": fmt.Sprint(port),
	}
	getenv := testsvc.Getenv(env)
	svc := testsvc.StartRun(t, context.Background(), run, env)
	logs := svc.Stdout

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := run(context.Background(), []string{"healthcheck"}, getenv, io.Discard, io.Discard); err == nil {
			break
		} else if time.Now().After(deadline) {
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

	if err := svc.Stop(t); err != nil {
		t.Fatalf("run after the context ended: %v", err)
	}
	if s := logs.String(); strings.Contains(s, "tok\n") || strings.Contains(s, r.Password) || !strings.Contains(s, "HTTP server stopped") {
		t.Errorf("logs:\n%s", s)
	}
}
