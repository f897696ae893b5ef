package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

type seriesKey struct{ name, field string }

// Batcher accumulates counter increments in memory and writes them to Redis
// in one pipeline per interval, so counting never limits a hot path.
type Batcher struct {
	rdb redis.Cmdable
	mu  sync.Mutex
	acc map[seriesKey]float64
}

// NewBatcher returns a Batcher writing to rdb.
func NewBatcher(rdb redis.Cmdable) *Batcher {
	return &Batcher{rdb: rdb, acc: map[seriesKey]float64{}}
}

// Add counts v on the series.
func (b *Batcher) Add(name string, l Labels, v float64) {
	k := seriesKey{name, l.Field()}
	b.mu.Lock()
	b.acc[k] += v
	b.mu.Unlock()
}

// Flush writes what was counted. The increments that failed are kept for
// the next flush, so nothing is lost while Redis is away; the ones Redis
// applied are not written again.
func (b *Batcher) Flush(ctx context.Context) error {
	b.mu.Lock()
	pending := b.acc
	b.acc = map[seriesKey]float64{}
	b.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	cmds := make(map[seriesKey]*redis.FloatCmd, len(pending))
	_, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, v := range pending {
			cmds[k] = p.HIncrByFloat(ctx, Key(k.name), k.field, v)
		}
		return nil
	})
	if err != nil {
		b.mu.Lock()
		for k, v := range pending {
			if c := cmds[k]; c == nil || c.Err() != nil {
				b.acc[k] += v
			}
		}
		b.mu.Unlock()
	}
	return err
}

// Run flushes every interval until ctx ends, then flushes once more with a
// short grace period.
func (b *Batcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = b.Flush(fctx)
			cancel()
			return
		case <-t.C:
			_ = b.Flush(ctx)
		}
	}
}
