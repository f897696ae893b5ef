package download

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/wmo-im/wis2downloader/internal/filter"
)

// maxCachedFilters bounds the compiled-filter cache (subscriptions are few;
// the bound only stops unbounded growth when filters keep changing).
const maxCachedFilters = 4096

// filterCache compiles each distinct filter once, keyed by its raw bytes.
type filterCache struct {
	mu sync.RWMutex
	m  map[string]compiled
}

type compiled struct {
	f   *filter.Filter
	err error
}

func newFilterCache() *filterCache { return &filterCache{m: map[string]compiled{}} }

// get returns the compiled filter for raw; an empty filter ("", null, {})
// is the default filter (the original's media-type list).
func (c *filterCache) get(raw json.RawMessage) (*filter.Filter, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return filter.Default(), nil
	}
	c.mu.RLock()
	e, ok := c.m[string(raw)]
	c.mu.RUnlock()
	if ok {
		return e.f, e.err
	}
	f, err := filter.Compile(raw)
	c.mu.Lock()
	if len(c.m) >= maxCachedFilters {
		c.m = map[string]compiled{}
	}
	c.m[string(raw)] = compiled{f, err}
	c.mu.Unlock()
	return f, err
}
