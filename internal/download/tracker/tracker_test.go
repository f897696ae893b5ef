package tracker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wmo-im/wis2downloader/internal/download/outcome"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

func TestClaimIsAtomic(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	tr := New(rdb, time.Hour, time.Minute, 0)
	ctx := context.Background()
	pub := time.Now()
	var mu sync.Mutex
	counts := map[Claim]int{}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := tr.Claim(ctx, Job{MsgID: fmt.Sprint("m", i), DataID: "d", Pubtime: pub, Token: fmt.Sprint("task", i)}, false)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			counts[c]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[Locked] != 1 || counts[Busy] != 19 {
		t.Fatalf("claims %v", counts)
	}
}

func TestDuplicateAfterSuccessAndUpdate(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	tr := New(rdb, time.Hour, time.Minute, 0)
	ctx := context.Background()
	t1 := time.Now().Add(-time.Hour)
	j := Job{MsgID: "a", DataID: "d", Pubtime: t1, Token: "ta"}
	if c, _, _ := tr.Claim(ctx, j, false); c != Locked {
		t.Fatal(c)
	}
	if err := tr.Finish(ctx, j, Result{Status: outcome.Success, Stored: true, Files: []string{"x/f"}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, LockPrefix+"d").Result(); n != 0 {
		t.Fatal("lock kept")
	}
	// Same pubtime from another cache: duplicate, recorded in one step.
	if c, _, _ := tr.Claim(ctx, Job{MsgID: "b", DataID: "d", Pubtime: t1, Token: "tb"}, false); c != Duplicate {
		t.Fatal(c)
	}
	if s := rdb.HGet(ctx, ByMsgIDPrefix+"b", "status").Val(); s != "SKIPPED" {
		t.Fatal(s)
	}
	if v, _ := rdb.HGet(ctx, metrics.Key(metrics.Skipped), metrics.Labels{"reason": "duplicate"}.Field()).Float64(); v != 1 {
		t.Fatal(v)
	}
	// A newer pubtime claims again and sees the stored paths.
	c, files, _ := tr.Claim(ctx, Job{MsgID: "c", DataID: "d", Pubtime: t1.Add(time.Minute), Token: "tc"}, true)
	if c != Locked || len(files) != 1 || files[0] != "x/f" {
		t.Fatalf("%v %v", c, files)
	}
	// A finish by a task whose lock expired does not release another's lock.
	rdb.Set(ctx, LockPrefix+"d", "someone-else", time.Minute)
	tr.Finish(ctx, Job{MsgID: "c", DataID: "d", Token: "tc"}, Result{Status: outcome.Pending})
	if v := rdb.Get(ctx, LockPrefix+"d").Val(); v != "someone-else" {
		t.Fatal("foreign lock released")
	}
}

func TestExtendOnlyOwnLock(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	tr := New(rdb, time.Hour, 10*time.Second, 0)
	ctx := context.Background()
	j := Job{MsgID: "m", DataID: "d", Token: "mine"}
	if c, _, _ := tr.Claim(ctx, j, false); c != Locked {
		t.Fatal(c)
	}
	rdb.PExpire(ctx, LockPrefix+"d", time.Second)
	if ok, err := tr.Extend(ctx, j); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ttl := rdb.PTTL(ctx, LockPrefix+"d").Val(); ttl < 5*time.Second {
		t.Fatalf("lock not renewed: %v", ttl)
	}
	if ok, _ := tr.Extend(ctx, Job{DataID: "d", Token: "other"}); ok {
		t.Fatal("renewed someone else's lock")
	}
}
