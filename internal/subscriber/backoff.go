package subscriber

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is an exponential delay with jitter: attempt 0 waits about min,
// each further attempt doubles the ceiling up to max, and the delay is drawn
// from the upper half of the ceiling so that replicas do not retry in step.
type backoff struct {
	min, max time.Duration
}

func (b backoff) delay(attempt int) time.Duration {
	ceiling := b.min
	for i := 0; i < attempt && ceiling < b.max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, b.max)
	half := ceiling / 2
	if half <= 0 {
		return ceiling
	}
	return half + rand.N(half+1)
}

// sleep waits for the attempt's delay; false when ctx ended first.
func (b backoff) sleep(ctx context.Context, attempt int) bool {
	t := time.NewTimer(b.delay(attempt))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
