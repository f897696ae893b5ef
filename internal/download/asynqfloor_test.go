package download

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// BenchmarkAsynqFloor measures asynq alone (no-op handler, same server
// settings) on this machine: the ceiling for any worker built on it.
func BenchmarkAsynqFloor(b *testing.B) {
	r := testsvc.StartRedis(b, testsvc.RedisConfig("appendfsync everysec"))
	rdb := r.Client(b)
	c := asynq.NewClientFromRedisClient(rdb)
	for i := range b.N {
		if _, err := c.Enqueue(asynq.NewTask("noop", nil), asynq.Queue("q"), asynq.TaskID(fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
	}
	var done atomic.Int64
	b.ResetTimer()
	cpu0 := takeCPU(b, rdb)
	start := time.Now()
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: 16, Queues: map[string]int{"q": 1}, TaskCheckInterval: 50 * time.Millisecond, LogLevel: asynq.ErrorLevel})
	srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { done.Add(1); return nil }))
	defer srv.Shutdown()
	for done.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	cpu0.report(b, rdb, "task")
	b.ReportMetric(float64(b.N)/el.Seconds(), "tasks/s")
}
