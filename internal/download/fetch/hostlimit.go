package fetch

import (
	"context"
	"sync"
)

// hostLimit bounds concurrent downloads per host (the WIS2 guide's figure is
// 5 connections per client and Global Cache).
type hostLimit struct {
	n   int
	mu  sync.Mutex
	sem map[string]*hostSem
}

type hostSem struct {
	ch    chan struct{}
	users int // holders and waiters; the entry is dropped at 0
}

func newHostLimit(n int) *hostLimit {
	if n < 1 {
		n = 5
	}
	return &hostLimit{n: n, sem: map[string]*hostSem{}}
}

// acquire waits for a slot for host; release must be called once after.
func (h *hostLimit) acquire(ctx context.Context, host string) (release func(), err error) {
	h.mu.Lock()
	s := h.sem[host]
	if s == nil {
		s = &hostSem{ch: make(chan struct{}, h.n)}
		h.sem[host] = s
	}
	s.users++
	h.mu.Unlock()
	done := func() {
		h.mu.Lock()
		if s.users--; s.users == 0 {
			delete(h.sem, host)
		}
		h.mu.Unlock()
	}
	select {
	case s.ch <- struct{}{}:
		return func() { <-s.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
