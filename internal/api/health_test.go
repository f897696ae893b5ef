package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

type healthBody struct {
	Status string `json:"status"`
	Redis  struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"redis"`
	Queue *struct {
		Name    string `json:"name"`
		Size    int    `json:"size"`
		Pending int    `json:"pending"`
	} `json:"queue"`
	Subscribers []map[string]any `json:"subscribers"`
}

func TestHealth(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	var h healthBody
	res := e.do("GET", "/health", "", "")
	res.json(t, &h)
	if res.status != 200 || h.Status != "healthy" || h.Redis.Status != "ok" || h.Queue == nil || h.Queue.Size != 0 || len(h.Subscribers) != 0 {
		t.Fatalf("empty system: HTTP %d %s", res.status, res.body)
	}

	// A queued task and two heartbeats (one JSON, one as the original wrote it).
	ac := asynq.NewClientFromRedisClient(e.rdb)
	if _, err := ac.Enqueue(asynq.NewTask("download", []byte("{}")), asynq.Queue(queue)); err != nil {
		t.Fatal(err)
	}
	hb := `{"broker":"globalbroker.meteo.fr","client_id":"wis2dl-host1","connected":true,"since":"2026-01-28T10:15:30Z","updated":"2026-01-28T10:16:30Z","subscriptions":2,"received":1234}`
	e.rdb.Set(ctx, "subscriber:health:host1", hb, time.Minute)
	e.rdb.Set(ctx, "subscriber:health:old-host", "alive", time.Minute)
	res = e.do("GET", "/health", "", "")
	h = healthBody{}
	res.json(t, &h)
	if res.status != 200 || h.Queue.Name != queue || h.Queue.Pending != 1 || h.Queue.Size != 1 || len(h.Subscribers) != 2 {
		t.Fatalf("with data: HTTP %d %s", res.status, res.body)
	}
	s := h.Subscribers[0]
	if s["name"] != "host1" || s["broker"] != "globalbroker.meteo.fr" || s["connected"] != true || s["received"] != float64(1234) {
		t.Errorf("heartbeat %v", s)
	}
	if s := h.Subscribers[1]; s["name"] != "old-host" || s["raw"] != "alive" {
		t.Errorf("plain heartbeat %v", s)
	}

	// Redis down: 503 unhealthy; back: 200.
	e.redis.Stop()
	res = e.do("GET", "/health", "", "")
	h = healthBody{}
	res.json(t, &h)
	if res.status != http.StatusServiceUnavailable || h.Status != "unhealthy" || h.Redis.Status != "error" || h.Redis.Error == "" {
		t.Fatalf("Redis stopped: HTTP %d %s", res.status, res.body)
	}
	e.redis.Start()
	res = e.do("GET", "/health", "", "")
	if res.status != 200 || !strings.Contains(string(res.body), `"healthy"`) {
		t.Fatalf("Redis back: HTTP %d %s", res.status, res.body)
	}
}
