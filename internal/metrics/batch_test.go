package metrics

import (
	"context"
	"testing"

	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// A flush in which one increment fails keeps only that increment for the
// next flush: the ones Redis applied are not written a second time.
func TestBatcherFlushRetriesOnlyFailedIncrements(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	// A key of the wrong type makes its HINCRBYFLOAT fail (WRONGTYPE).
	if err := rdb.Set(ctx, Key(QueueErrors), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	b := NewBatcher(rdb)
	l := Labels{"broker": "gb"}
	b.Add(NotificationsReceived, l, 1)
	b.Add(QueueErrors, l, 1)
	if err := b.Flush(ctx); err == nil {
		t.Fatal("flush with a WRONGTYPE key reported no error")
	}
	if err := b.Flush(ctx); err == nil {
		t.Fatal("second flush reported no error")
	}
	got, err := rdb.HGet(ctx, Key(NotificationsReceived), l.Field()).Float64()
	if err != nil {
		t.Fatal(err)
	}
	if got != 1 {
		t.Fatalf("notifications_received_total = %v after two flushes, want 1", got)
	}
	// The failed increment is still pending and lands once Redis accepts it.
	rdb.Del(ctx, Key(QueueErrors))
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := rdb.HGet(ctx, Key(QueueErrors), l.Field()).Float64(); got != 1 {
		t.Fatalf("queue_errors_total = %v, want 1", got)
	}
}
