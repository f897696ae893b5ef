package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/wmo-im/wis2downloader/internal/maintenance"
	"github.com/wmo-im/wis2downloader/internal/tasks"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// TestSIGKILLLeavesNoPartialFile kills the real worker binary in the middle
// of a download: no file may appear under its final name, and the temporary
// file left behind is removed by the maintenance cleanup once stale.
func TestSIGKILLLeavesNoPartialFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker binary")
	}
	bin := filepath.Join(testsvc.Build(t, "worker"), "worker")
	r := testsvc.StartRedis(t)
	data := filepath.Join(t.TempDir(), "data")
	body := append([]byte("BUFR"), bytes.Repeat([]byte("z"), 100000)...)
	midway := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body[:50000])
		w.(http.Flusher).Flush()
		midway <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()

	raw, _ := json.Marshal(map[string]any{
		"id": "kill-1", "type": "Feature", "geometry": nil,
		"properties": map[string]any{"data_id": "kill/1", "pubtime": time.Now().UTC().Format(time.RFC3339)},
		"links":      []any{map[string]any{"href": srv.URL + "/big.bufr", "rel": "canonical"}},
	})
	task, _ := tasks.NewDownload(tasks.Download{Topic: "origin/a/wis2/xx-test/data/core/x", Message: raw,
		Targets: []tasks.Target{{ID: "s"}}}, "kill-1", asynq.Queue("downloads"))
	if _, err := asynq.NewClientFromRedisClient(r.Client(t)).Enqueue(task); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{
		"REDIS_HOST=" + r.Host, "REDIS_PORT=" + strconv.Itoa(r.Port), "REDIS_PASSWORD=" + r.Password,
		"CONTAINER_DATA_PATH=" + data, "WORKER_METRICS_PORT=0", "DOWNLOAD_ALLOW_PRIVATE_NETWORKS=true",
		"DOWNLOAD_MIN_FREE_BYTES=0",
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-midway:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("download never started")
	}
	cmd.Process.Kill()
	cmd.Wait()

	var finals, temps []string
	filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if strings.HasPrefix(d.Name(), ".tmp-") {
				temps = append(temps, p)
			} else {
				finals = append(finals, p)
			}
		}
		return nil
	})
	if len(finals) != 0 {
		t.Fatalf("file under a final name after SIGKILL: %v", finals)
	}
	if len(temps) != 1 {
		t.Fatalf("temporary files %v, want the one being written", temps)
	}
	if res := maintenance.Cleanup(data, 0, time.Now().Add(2*time.Hour)); res.Temps != 1 {
		t.Fatalf("stale temporary file not cleaned: %+v", res)
	}
	if _, err := os.Stat(temps[0]); err == nil {
		t.Fatal("temporary file still there")
	}
}
