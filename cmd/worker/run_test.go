package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/wmo-im/wis2downloader/internal/cli"
	"github.com/wmo-im/wis2downloader/internal/tasks"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-version"}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "worker ") {
		t.Fatalf("%q", out.String())
	}
}

// TestSIGTERMDrains runs the whole worker, starts a slow download, cancels
// the run context (what SIGTERM does) and checks that the in-flight
// download still completes and the process then exits cleanly.
func TestSIGTERMDrains(t *testing.T) {
	r := testsvc.StartRedis(t)
	port := testsvc.FreePort(t)
	data := filepath.Join(t.TempDir(), "data")
	env := map[string]string{
		"REDIS_HOST": r.Host, "REDIS_PORT": strconv.Itoa(r.Port), "REDIS_PASSWORD": r.Password,
		"CONTAINER_DATA_PATH": data, "WORKER_METRICS_PORT": strconv.Itoa(port),
		"DOWNLOAD_ALLOW_PRIVATE_NETWORKS": "true", "DOWNLOAD_MIN_FREE_BYTES": "0", "WORKER_CONCURRENCY": "2",
	}
	getenv := func(k string) string { return env[k] }

	body := append([]byte("BUFR"), bytes.Repeat([]byte("y"), 4000)...)
	started := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		for i := 0; i < len(body); i += 1000 {
			w.Write(body[i:min(i+1000, len(body))])
			w.(http.Flusher).Flush()
			time.Sleep(300 * time.Millisecond)
		}
	}))
	defer slow.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &testsvc.LogBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, getenv, out, out) }()

	health := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	deadline := time.Now().Add(20 * time.Second)
	for cli.CheckHTTP(context.Background(), health) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("worker never healthy:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := run(context.Background(), []string{"healthcheck"}, getenv, out, out); err != nil {
		t.Fatalf("healthcheck subcommand: %v", err)
	}

	msg := map[string]any{
		"id": "drain-1", "type": "Feature", "geometry": nil,
		"properties": map[string]any{"data_id": "drain/1", "pubtime": time.Now().UTC().Format(time.RFC3339)},
		"links":      []any{map[string]any{"href": slow.URL + "/slow.bufr", "rel": "canonical"}},
	}
	raw, _ := json.Marshal(msg)
	task, err := tasks.NewDownload(tasks.Download{Topic: "origin/a/wis2/xx-test/data/core/x", Message: raw,
		Targets: []tasks.Target{{ID: "s", SavePath: nil}}}, "drain-1", asynq.Queue("downloads"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := r.Client(t)
	if _, err := asynq.NewClientFromRedisClient(rdb).Enqueue(task); err != nil {
		t.Fatal(err)
	}
	<-started
	cancel() // SIGTERM
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if got := rdb.HGet(context.Background(), "wis2:notifications:data:tracker:by-msg-id:drain-1", "status").Val(); got != "SUCCESS" {
		t.Fatalf("in-flight download not finished on shutdown: %q\n%s", got, out.String())
	}
	want := filepath.Join(data, time.Now().UTC().Format("2006/01/02"), "xx-test", "slow.bufr")
	if b, err := os.ReadFile(want); err != nil || !bytes.Equal(b, body) {
		t.Fatalf("stored file: %v", err)
	}
	if !strings.Contains(out.String(), "worker stopped") {
		t.Errorf("no clean stop in log:\n%s", out.String())
	}
}

func TestLaneConcurrency(t *testing.T) {
	for total, want := range map[int][]int{0: {1}, 1: {1}, 8: {8}, 9: {5, 4}, 16: {8, 8}, 17: {6, 6, 5}, 32: {8, 8, 8, 8}} {
		got := laneConcurrency(total)
		sum := 0
		for _, n := range got {
			sum += n
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || (total > 0 && sum != total) {
			t.Errorf("laneConcurrency(%d) = %v, want %v", total, got, want)
		}
	}
}
