package download

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/download/tracker"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/tasks"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

const testTopic = "cache/a/wis2/de-dwd/data/core/weather/surface-based-observations/synop"

// env is one worker handler over a real redis-server and a temporary data root.
type env struct {
	t     testing.TB
	redis *testsvc.Redis
	rdb   *redis.Client
	cfg   config.WorkerConfig
	h     *Handler
}

func testConfig(t testing.TB, r *testsvc.Redis) config.WorkerConfig {
	return config.WorkerConfig{
		Common:          config.Common{Redis: r.Config(0), Log: config.Log{Level: "INFO", Format: "text"}},
		Queue:           "downloads",
		DataPath:        filepath.Join(t.TempDir(), "data"),
		Concurrency:     8,
		DedupTTL:        time.Hour,
		LockTTL:         5 * time.Minute,
		ChunkSize:       64 << 10,
		MaxBytes:        1 << 30,
		ConnectTimeout:  2 * time.Second,
		ReadTimeout:     5 * time.Second,
		TotalTimeout:    30 * time.Second,
		MaxAttempts:     3,
		HostConcurrency: 5,
		AllowPrivate:    true,
		PathLayout:      "",
	}
}

func newEnv(t testing.TB, mod func(*config.WorkerConfig)) *env {
	t.Helper()
	r := testsvc.StartRedis(t)
	return newEnvOn(t, r, mod)
}

func newEnvOn(t testing.TB, r *testsvc.Redis, mod func(*config.WorkerConfig)) *env {
	t.Helper()
	cfg := testConfig(t, r)
	if mod != nil {
		mod(&cfg)
	}
	rdb := r.Client(t)
	h, err := New(cfg, rdb, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return &env{t: t, redis: r, rdb: rdb, cfg: cfg, h: h}
}

// fileServer serves body at every path and counts requests.
type fileServer struct {
	*httptest.Server
	hits atomic.Int64
}

func serveBytes(t testing.TB, body []byte) *fileServer {
	fs := &fileServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.hits.Add(1)
		_, _ = w.Write(body)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func serveFunc(t testing.TB, f http.HandlerFunc) *fileServer {
	fs := &fileServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.hits.Add(1)
		f(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

// msg is a notification under construction.
type msg map[string]any

func sha512b64(b []byte) string {
	s := sha512.Sum512(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// notification builds a WNM for body at href (canonical, with length and
// sha512 integrity).
func notification(id, dataID, href string, body []byte, pubtime time.Time) msg {
	return msg{
		"id":         id,
		"type":       "Feature",
		"conformsTo": []string{"http://wis.wmo.int/spec/wnm/1/conf/core"},
		"geometry":   nil,
		"properties": map[string]any{
			"data_id":   dataID,
			"pubtime":   pubtime.UTC().Format(time.RFC3339Nano),
			"datetime":  pubtime.UTC().Format(time.RFC3339),
			"integrity": map[string]any{"method": "sha512", "value": sha512b64(body)},
		},
		"links": []any{map[string]any{"href": href, "rel": "canonical", "type": "application/bufr", "length": len(body)}},
	}
}

func (m msg) props() map[string]any { return m["properties"].(map[string]any) }
func (m msg) link() map[string]any  { return m["links"].([]any)[0].(map[string]any) }

func (m msg) json(t testing.TB) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func target(id string, save *string, filter string) tasks.Target {
	tg := tasks.Target{ID: id, Topic: "cache/a/wis2/+/data/core/#", SavePath: save}
	if filter != "" {
		tg.Filter = json.RawMessage(filter)
	}
	return tg
}

func strp(s string) *string { return &s }

func (e *env) task(m []byte, targets ...tasks.Target) *asynq.Task {
	e.t.Helper()
	if len(targets) == 0 {
		targets = []tasks.Target{target("sub1", strp("synop"), "")}
	}
	b, err := json.Marshal(tasks.Download{Topic: testTopic, Broker: "gb", Received: time.Now(), Targets: targets, Message: m})
	if err != nil {
		e.t.Fatal(err)
	}
	return asynq.NewTask(tasks.TypeDownload, b)
}

// process runs one task through the handler directly (attempt 1).
func (e *env) process(m []byte, targets ...tasks.Target) error {
	return e.h.ProcessTask(context.Background(), e.task(m, targets...))
}

func (e *env) status(msgID string) string {
	return e.rdb.HGet(context.Background(), tracker.ByMsgIDPrefix+msgID, "status").Val()
}

func (e *env) reason(msgID string) string {
	return e.rdb.HGet(context.Background(), tracker.ByMsgIDPrefix+msgID, "reason").Val()
}

func (e *env) metric(name string, l metrics.Labels) float64 {
	v, _ := e.rdb.HGet(context.Background(), metrics.Key(name), l.Field()).Float64()
	return v
}

// files lists the files below the data root (relative, slash-separated).
func (e *env) files() []string {
	var out []string
	_ = filepath.WalkDir(e.cfg.DataPath, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(e.cfg.DataPath, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func (e *env) read(rel string) []byte {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.cfg.DataPath, rel))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) noTempFiles() {
	e.t.Helper()
	for _, f := range e.files() {
		if strings.Contains(f, "/.tmp-") || strings.HasPrefix(f, ".tmp-") {
			e.t.Errorf("temporary file left: %s", f)
		}
	}
}

func mustStatus(t testing.TB, e *env, msgID, want, reason string) {
	t.Helper()
	if got := e.status(msgID); got != want {
		t.Fatalf("msg %s status %q (reason %q), want %q", msgID, got, e.reason(msgID), want)
	}
	if reason != "" {
		if got := e.reason(msgID); got != reason {
			t.Fatalf("msg %s reason %q, want %q", msgID, got, reason)
		}
	}
}
