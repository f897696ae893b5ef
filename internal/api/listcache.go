package api

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/wmo-im/wis2downloader/internal/subscription"
)

// DefaultCacheMaxAge is how long the encoded subscription list and metrics
// exposition are served again without reading Redis. Changes made through
// this API are seen at once (the store reports their change counter); the
// age only bounds how late changes made by other writers of
// global:subscriptions (the subscriber's migration of legacy keys,
// redis-cli) show up, and how old a /metrics answer can be (Prometheus
// scrapes every 15 s).
const DefaultCacheMaxAge = time.Second

// listCache keeps the encoded GET /subscriptions answer.
type listCache struct {
	store  *subscription.Store
	maxAge time.Duration

	known      atomic.Int64 // highest change counter seen
	mu         sync.Mutex
	cur        *encodedList
	refreshing atomic.Bool
	sf         singleflight.Group
}

type encodedList struct {
	body    []byte
	gz      []byte // body gzip-compressed
	version int64  // change counter of the data
	built   time.Time
}

// changed records a change made through the store (its OnChange hook).
func (c *listCache) changed(v int64) {
	for {
		old := c.known.Load()
		if v <= old || c.known.CompareAndSwap(old, v) {
			return
		}
	}
}

func (c *listCache) current() *encodedList {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

func (c *listCache) get(ctx context.Context) (*encodedList, error) {
	e := c.current()
	if e != nil && e.version >= c.known.Load() {
		if time.Since(e.built) < c.maxAge || !c.refreshing.CompareAndSwap(false, true) {
			return e, nil // fresh, or another request is rebuilding it
		}
		// Old: this request rebuilds it (other writers do not count changes).
		defer c.refreshing.Store(false)
		return c.build(ctx)
	}
	// Changed (or never built): share one build that has seen the change.
	for range 3 {
		r, err, _ := c.sf.Do("list", func() (any, error) { return c.build(context.WithoutCancel(ctx)) })
		if err != nil {
			return nil, err
		}
		if e := r.(*encodedList); e.version >= c.known.Load() {
			return e, nil
		}
	}
	return c.build(ctx)
}

// keep replaces the cached list unless a newer one is there.
func (c *listCache) keep(e *encodedList) {
	c.mu.Lock()
	if c.cur == nil || c.cur.version <= e.version {
		c.cur = e
	}
	c.mu.Unlock()
}

// build reads the store and encodes the grouped list
// {topic: {id: {save_path, filter}}}.
func (c *listCache) build(ctx context.Context) (*encodedList, error) {
	subs, v, err := c.store.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	c.changed(v)
	out := make(map[string]map[string]entry)
	for _, s := range subs {
		g := out[s.Topic]
		if g == nil {
			g = make(map[string]entry)
			out[s.Topic] = g
		}
		g[s.ID] = entry{SavePath: s.SavePath, Filter: s.Filter}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode subscriptions: %w", err)
	}
	b = append(b, '\n')
	e := &encodedList{body: b, gz: gzipped(b), version: v, built: time.Now()}
	c.keep(e)
	return e, nil
}
