package tracker

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/download/outcome"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// countingConn counts the requests written to Redis (one write per round
// trip, a whole pipeline included) and holds the first one back, so the
// calls made meanwhile queue up behind it.
type countingConn struct {
	net.Conn
	w *writes
}

type writes struct {
	on, n atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	if c.w.on.Load() == 1 && c.w.n.Add(1) == 1 {
		time.Sleep(200 * time.Millisecond)
	}
	return c.Conn.Write(p)
}

// TestConcurrentScriptsShareRoundTrips checks the group commit: claims and
// finishes made while another script is in flight go together in one
// pipeline, each gets its own result, and a script the server has
// forgotten (SCRIPT FLUSH) is loaded again.
func TestConcurrentScriptsShareRoundTrips(t *testing.T) {
	r := testsvc.StartRedis(t)
	w := &writes{}
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, Password: r.Password,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, w}, nil
		}})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	tr := New(rdb, time.Hour, time.Minute, 0)
	// Load the scripts, then make the server forget them.
	if _, _, err := tr.Claim(ctx, Job{MsgID: "warm", DataID: "warm", Token: "w"}, false); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	w.on.Store(1)

	const n = 20
	pub := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := Job{MsgID: fmt.Sprint("m", i), DataID: fmt.Sprint("d", i), Pubtime: pub, Token: fmt.Sprint("task", i)}
			c, _, err := tr.Claim(ctx, j, false)
			if err != nil || c != Locked {
				t.Errorf("claim %d: %v %v", i, c, err)
				return
			}
			if err := tr.Finish(ctx, j, Result{Status: outcome.Success, Stored: true, Files: []string{fmt.Sprint("f", i)}}); err != nil {
				t.Errorf("finish %d: %v", i, err)
			}
		}()
		if i == 0 {
			for w.n.Load() == 0 { // the first claim is in flight
				time.Sleep(time.Millisecond)
			}
		}
	}
	wg.Wait()
	trips := w.n.Load()
	w.on.Store(0)
	for i := range n {
		if st := rdb.HGet(ctx, ByDataIDPrefix+fmt.Sprint("d", i), "status").Val(); st != "SUCCESS" {
			t.Errorf("d%d: data tracker %q", i, st)
		}
		if rdb.Exists(ctx, LockPrefix+fmt.Sprint("d", i)).Val() != 0 {
			t.Errorf("d%d: lock not released", i)
		}
	}
	// 40 scripts; the 19 claims made during the first one share a pipeline.
	if trips > 2*n-15 {
		t.Errorf("%d round trips for %d scripts: concurrent calls were not batched", trips, 2*n)
	}
}

// TestBatchFailureReachesEveryCaller checks that a failed pipeline fails
// each of its calls (none hangs, none reports success).
func TestBatchFailureReachesEveryCaller(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	tr := New(rdb, time.Hour, time.Minute, 0)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := tr.Claim(context.Background(), Job{MsgID: fmt.Sprint(i), DataID: fmt.Sprint(i), Token: "t"}, false); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 10 {
		t.Fatalf("%d of 10 claims failed against a dead server", failed.Load())
	}
}
