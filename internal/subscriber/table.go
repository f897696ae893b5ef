package subscriber

import (
	"slices"
	"sync"

	"github.com/wmo-im/wis2downloader/internal/subscription"
	"github.com/wmo-im/wis2downloader/internal/tasks"
	"github.com/wmo-im/wis2downloader/internal/topic"
)

// table is the in-memory copy of global:subscriptions: every subscription by
// id, grouped by topic filter. The distinct filters are what the broker must
// be subscribed to; a filter stays subscribed while at least one
// subscription uses it (reference counting by filter).
type table struct {
	mu       sync.RWMutex
	byID     map[string]subscription.Subscription
	byFilter map[string]map[string]subscription.Subscription
	version  uint64 // bumped by every change from a command
}

func newTable() *table {
	return &table{
		byID:     map[string]subscription.Subscription{},
		byFilter: map[string]map[string]subscription.Subscription{},
	}
}

// upsert adds or replaces one subscription (moving it if its topic changed).
func (t *table) upsert(s subscription.Subscription) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.put(s)
	t.version++
}

// remove drops one subscription by id; it reports whether it existed.
func (t *table) remove(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.byID[id]
	t.del(id)
	t.version++
	return ok
}

// removeTopic drops every subscription on filter f and returns how many.
func (t *table) removeTopic(f string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]string, 0, len(t.byFilter[f]))
	for id := range t.byFilter[f] {
		ids = append(ids, id)
	}
	for _, id := range ids {
		t.del(id)
	}
	t.version++
	return len(ids)
}

// replaceIf makes the table equal to subs unless a command changed it since
// version was read (the snapshot may then be older than the command). It
// reports whether it replaced the table and how many subscriptions were
// added, changed or removed.
func (t *table) replaceIf(version uint64, subs map[string]subscription.Subscription) (replaced bool, changes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.version != version {
		return false, 0
	}
	for id := range t.byID {
		if _, ok := subs[id]; !ok {
			t.del(id)
			changes++
		}
	}
	for id, s := range subs {
		if old, ok := t.byID[id]; ok && sameSubscription(old, s) {
			continue
		}
		t.put(s)
		changes++
	}
	return true, changes
}

// currentVersion returns the command counter, read before a snapshot.
func (t *table) currentVersion() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.version
}

func (t *table) put(s subscription.Subscription) {
	t.del(s.ID)
	t.byID[s.ID] = s
	m := t.byFilter[s.Topic]
	if m == nil {
		m = map[string]subscription.Subscription{}
		t.byFilter[s.Topic] = m
	}
	m[s.ID] = s
}

func (t *table) del(id string) {
	old, ok := t.byID[id]
	if !ok {
		return
	}
	delete(t.byID, id)
	m := t.byFilter[old.Topic]
	delete(m, id)
	if len(m) == 0 {
		delete(t.byFilter, old.Topic)
	}
}

// route returns a target for every subscription whose filter matches the
// topic name, ordered by subscription id (MQTT wildcard semantics: every
// matching filter counts, not only the first).
func (t *table) route(name string) []tasks.Target {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []tasks.Target
	for f, subs := range t.byFilter {
		if !topic.Match(f, name) {
			continue
		}
		for _, s := range subs {
			out = append(out, tasks.Target{ID: s.ID, Topic: s.Topic, SavePath: s.SavePath, Filter: s.Filter})
		}
	}
	slices.SortFunc(out, func(a, b tasks.Target) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// filters returns the distinct topic filters in use.
func (t *table) filters() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.byFilter))
	for f := range t.byFilter {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// counts returns the number of subscriptions and of distinct filters.
func (t *table) counts() (subs, filters int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byID), len(t.byFilter)
}

func sameSubscription(a, b subscription.Subscription) bool {
	if a.ID != b.ID || a.Topic != b.Topic || string(a.Filter) != string(b.Filter) {
		return false
	}
	if (a.SavePath == nil) != (b.SavePath == nil) {
		return false
	}
	return a.SavePath == nil || *a.SavePath == *b.SavePath
}
