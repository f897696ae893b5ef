package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wmo-im/wis2downloader/internal/buildinfo"
	"github.com/wmo-im/wis2downloader/internal/subscription"
)

// healthTimeout bounds the Redis reads of one health check.
const healthTimeout = 3 * time.Second

// healthBody is the /health response.
type healthBody struct {
	Status      string       `json:"status"`
	Version     string       `json:"version"`
	Redis       redisHealth  `json:"redis"`
	Queue       *queueHealth `json:"queue,omitempty"`
	Subscribers []subscriber `json:"subscribers"`
}

type redisHealth struct {
	Status    string  `json:"status"` // ok or error
	LatencyMS float64 `json:"latency_ms,omitempty"`
	Error     string  `json:"error,omitempty"`
}

type queueHealth struct {
	Name      string `json:"name"`
	Size      int    `json:"size"`
	Pending   int    `json:"pending"`
	Active    int    `json:"active"`
	Scheduled int    `json:"scheduled"`
	Retry     int    `json:"retry"`
	Archived  int    `json:"archived"`
	Completed int    `json:"completed"`
	Paused    bool   `json:"paused"`
	Error     string `json:"error,omitempty"`
}

// subscriber is one subscriber heartbeat as the subscriber wrote it (a JSON
// object, subscription.Heartbeat, passed on as read), plus "name" (the key suffix, the subscriber's client id). A value
// that is not a JSON object (the original wrote "alive") is shown as "raw".
type subscriber map[string]any

// health answers 200 when Redis answers, else 503, with details.
func (a *API) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	body := healthBody{Status: "healthy", Version: buildinfo.Version(), Subscribers: []subscriber{}}
	start := time.Now()
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		body.Status = "unhealthy"
		body.Redis = redisHealth{Status: "error", Error: err.Error()}
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	body.Redis = redisHealth{Status: "ok", LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	body.Queue = a.queueHealth()
	subs, err := a.heartbeats(ctx)
	if err != nil {
		a.logger.Warn("health: read subscriber heartbeats", "error", err)
	}
	body.Subscribers = subs
	writeJSON(w, http.StatusOK, body)
}

func (a *API) queueHealth() *queueHealth {
	q := &queueHealth{Name: a.queue}
	info, err := a.insp.GetQueueInfo(a.queue)
	if err != nil {
		// A queue that never had a task does not exist yet: empty.
		if queues, qerr := a.insp.Queues(); qerr != nil || slices.Contains(queues, a.queue) {
			q.Error = err.Error()
		}
		return q
	}
	q.Size, q.Pending, q.Active, q.Scheduled = info.Size, info.Pending, info.Active, info.Scheduled
	q.Retry, q.Archived, q.Completed, q.Paused = info.Retry, info.Archived, info.Completed, info.Paused
	return q
}

// heartbeats reads every subscriber:health:* key (SCAN, then one MGET).
func (a *API) heartbeats(ctx context.Context) ([]subscriber, error) {
	var keys []string
	iter := a.rdb.Scan(ctx, 0, subscription.HeartbeatKeyPrefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return []subscriber{}, err
	}
	out := []subscriber{}
	if len(keys) == 0 {
		return out, nil
	}
	sort.Strings(keys)
	vals, err := a.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return out, err
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // expired between SCAN and MGET
		}
		var sub subscriber
		if err := json.Unmarshal([]byte(s), &sub); err != nil || sub == nil {
			sub = subscriber{"raw": s}
		}
		sub["name"] = strings.TrimPrefix(keys[i], subscription.HeartbeatKeyPrefix)
		out = append(out, sub)
	}
	return out, nil
}
