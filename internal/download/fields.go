package download

import (
	"sync"

	"github.com/wmo-im/wis2downloader/internal/download/tracker"
	"github.com/wmo-im/wis2downloader/internal/metrics"
)

// maxCachedFields bounds the label-field cache (label values are bounded:
// statuses, reasons, media types, and cache hosts).
const maxCachedFields = 4096

// fieldCache remembers the hash field (metrics.Labels.Field, a JSON
// encoding) of each label set seen, so a task's metric increments cost no
// encoding work.
type fieldCache struct {
	mu sync.RWMutex
	m  map[[4]string]string
}

func newFieldCache() *fieldCache { return &fieldCache{m: map[[4]string]string{}} }

// counter is an increment of the counter name by v; kv holds up to two
// label key/value pairs.
func (c *fieldCache) counter(name string, v float64, kv ...string) tracker.Increment {
	var key [4]string
	copy(key[:], kv)
	c.mu.RLock()
	f, ok := c.m[key]
	c.mu.RUnlock()
	if !ok {
		l := metrics.Labels{}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		f = l.Field()
		c.mu.Lock()
		if len(c.m) >= maxCachedFields {
			clear(c.m)
		}
		c.m[key] = f
		c.mu.Unlock()
	}
	return tracker.Increment{Name: name, Field: f, Value: v}
}
