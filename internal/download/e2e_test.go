package download

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/tasks"
)

// startServer runs the handler in a real asynq server on the env's Redis.
func (e *env) startServer(retryDelay asynq.RetryDelayFunc) *asynq.Server {
	e.t.Helper()
	if retryDelay == nil {
		retryDelay = RetryDelay
	}
	srv := asynq.NewServerFromRedisClient(e.rdb, asynq.Config{
		Concurrency:              e.cfg.Concurrency,
		Queues:                   map[string]int{e.cfg.Queue: 1},
		TaskCheckInterval:        50 * time.Millisecond,
		DelayedTaskCheckInterval: 200 * time.Millisecond,
		RetryDelayFunc:           retryDelay,
		IsFailure:                IsFailure,
		ShutdownTimeout:          5 * time.Second,
		LogLevel:                 asynq.ErrorLevel,
	})
	mux := asynq.NewServeMux()
	mux.Handle(tasks.TypeDownload, e.h)
	if err := srv.Start(mux); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(srv.Shutdown)
	return srv
}

// enqueue queues a notification as the subscriber does.
func (e *env) enqueue(m msg, targets ...tasks.Target) {
	e.t.Helper()
	if len(targets) == 0 {
		targets = []tasks.Target{target("sub1", strp("synop"), "")}
	}
	raw, _ := json.Marshal(m)
	task, err := tasks.NewDownload(tasks.Download{Topic: testTopic, Broker: "gb", Received: time.Now(), Targets: targets, Message: raw},
		m["id"].(string), asynq.Queue(e.cfg.Queue), asynq.MaxRetry(25))
	if err != nil {
		e.t.Fatal(err)
	}
	c := asynq.NewClientFromRedisClient(e.rdb)
	if _, err := c.Enqueue(task); err != nil {
		e.t.Fatal(err)
	}
}

// waitStatus polls the message tracker until it shows want.
func (e *env) waitStatus(msgID, want string) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if e.status(msgID) == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("msg %s: status %q (reason %q), want %q", msgID, e.status(msgID), e.reason(msgID), want)
}

func TestEndToEndTwoCachesAndRetry(t *testing.T) {
	e := newEnv(t, nil)
	e.startServer(func(n int, err error, t *asynq.Task) time.Duration { return min(RetryDelay(n, err, t), time.Second) })
	gc1, gc2 := serveBytes(t, bufrBody), serveBytes(t, bufrBody)
	now := time.Now()
	e.enqueue(notification("e2e-1", "e2e/1", gc1.URL+"/f.bufr", bufrBody, now))
	e.waitStatus("e2e-1", "SUCCESS")
	e.enqueue(notification("e2e-2", "e2e/1", gc2.URL+"/f.bufr", bufrBody, now))
	e.waitStatus("e2e-2", "SKIPPED")
	if n := gc1.hits.Load() + gc2.hits.Load(); n != 1 {
		t.Fatalf("%d downloads", n)
	}

	// 404 first (the cache has not got it yet), then 200, through asynq's retry.
	var calls int
	late := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			http.NotFound(w, r)
			return
		}
		w.Write(bufrBody)
	})
	e.enqueue(notification("e2e-404", "e2e/404", late.URL+"/g.bufr", bufrBody, now))
	e.waitStatus("e2e-404", "SUCCESS")
	if late.hits.Load() != 2 {
		t.Fatalf("%d requests, want 2", late.hits.Load())
	}
}

func TestEndToEndAttemptsExhausted(t *testing.T) {
	e := newEnv(t, func(c *config.WorkerConfig) { c.MaxAttempts = 2 })
	e.startServer(func(int, error, *asynq.Task) time.Duration { return 10 * time.Millisecond })
	s := serveFunc(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	e.enqueue(notification("e2e-503", "e2e/503", s.URL+"/f.bufr", bufrBody, time.Now()))
	e.waitStatus("e2e-503", "FAILED")
	if s.hits.Load() != 2 {
		t.Fatalf("%d attempts, want DOWNLOAD_MAX_ATTEMPTS=2", s.hits.Load())
	}
	if e.reason("e2e-503") != "http_5xx" {
		t.Fatal(e.reason("e2e-503"))
	}
	// The failed task is archived (SkipRetry), not retried again. The
	// tracker is written before the handler returns and asynq archives the
	// task just after, so wait for the archive.
	insp := asynq.NewInspectorFromRedisClient(e.rdb)
	var info *asynq.QueueInfo
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if info, err = insp.GetQueueInfo(e.cfg.Queue); err != nil {
			t.Fatal(err)
		}
		if info.Active == 0 || time.Now().After(deadline) {
			break
		}
	}
	if info.Archived != 1 || info.Retry != 0 {
		t.Fatalf("queue %+v", info)
	}
}

// A task on asynq's last retry that must wait (another task holds the lock)
// is recorded as FAILED, not archived by asynq without any record. It
// happens when DOWNLOAD_MAX_ATTEMPTS exceeds the tasks' asynq MaxRetry+1;
// the task here is queued with MaxRetry 0 to be on its last retry at once.
func TestEndToEndWaitOnLastRetryIsRecorded(t *testing.T) {
	e := newEnv(t, func(c *config.WorkerConfig) { c.MaxAttempts = 30 })
	s := serveBytes(t, bufrBody)
	e.rdb.Set(context.Background(), "wis2:notifications:data:lock:e2e/floor", "other-task", time.Minute)
	raw, _ := json.Marshal(notification("e2e-floor", "e2e/floor", s.URL+"/f.bufr", bufrBody, time.Now()))
	task, err := tasks.NewDownload(tasks.Download{Topic: testTopic, Broker: "gb", Received: time.Now(),
		Targets: []tasks.Target{target("sub1", strp("synop"), "")}, Message: raw},
		"e2e-floor", asynq.Queue(e.cfg.Queue), asynq.MaxRetry(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asynq.NewClientFromRedisClient(e.rdb).Enqueue(task); err != nil {
		t.Fatal(err)
	}
	e.startServer(nil)
	e.waitStatus("e2e-floor", "FAILED")
	if e.reason("e2e-floor") != "lock_busy" {
		t.Fatal(e.reason("e2e-floor"))
	}
	if got := e.metric(metrics.Notifications, metrics.Labels{"status": "failed"}); got != 1 {
		t.Fatalf("notifications failed = %v", got)
	}
	if s.hits.Load() != 0 {
		t.Fatal("downloaded while locked")
	}
}

// A download still running when the asynq task timeout approaches (here a
// stalled server and a 2 s task timeout below DOWNLOAD_TIMEOUT) ends as a
// timeout attempt counted against DOWNLOAD_MAX_ATTEMPTS, then FAILED, rather
// than being cut by asynq and retried up to MaxRetry times unrecorded.
func TestEndToEndTaskDeadlineCountsAsTimeout(t *testing.T) {
	e := newEnv(t, func(c *config.WorkerConfig) { c.MaxAttempts = 2; c.ReadTimeout = time.Minute })
	s := serveFunc(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	raw, _ := json.Marshal(notification("e2e-deadline", "e2e/deadline", s.URL+"/f.bufr", bufrBody, time.Now()))
	task, err := tasks.NewDownload(tasks.Download{Topic: testTopic, Broker: "gb", Received: time.Now(),
		Targets: []tasks.Target{target("sub1", strp("synop"), "")}, Message: raw},
		"e2e-deadline", asynq.Queue(e.cfg.Queue), asynq.MaxRetry(25), asynq.Timeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asynq.NewClientFromRedisClient(e.rdb).Enqueue(task); err != nil {
		t.Fatal(err)
	}
	e.startServer(func(int, error, *asynq.Task) time.Duration { return 10 * time.Millisecond })
	e.waitStatus("e2e-deadline", "FAILED")
	if e.reason("e2e-deadline") != "timeout" {
		t.Fatal(e.reason("e2e-deadline"))
	}
	if got := e.metric(metrics.Notifications, metrics.Labels{"status": "failed"}); got != 1 {
		t.Fatalf("notifications failed = %v", got)
	}
	if n := s.hits.Load(); n != 2 {
		t.Fatalf("%d attempts, want DOWNLOAD_MAX_ATTEMPTS=2", n)
	}
}
