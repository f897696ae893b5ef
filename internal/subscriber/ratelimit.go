package subscriber

import (
	"sync"
	"time"
)

// every lets an event through at most once per interval and counts what it
// held back, so a flood of identical warnings becomes one line with a count.
type every struct {
	interval time.Duration
	mu       sync.Mutex
	last     time.Time
	held     int
}

// allow reports whether to log now, and how many events were held back since
// the last logged one.
func (e *every) allow(now time.Time) (ok bool, held int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.last.IsZero() && now.Sub(e.last) < e.interval {
		e.held++
		return false, 0
	}
	e.last, held, e.held = now, e.held, 0
	return true, held
}
