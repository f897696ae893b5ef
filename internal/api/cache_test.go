package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wmo-im/wis2downloader/internal/api"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/subscription"
)

func maxAge(d time.Duration) func(*api.Options) {
	return func(o *api.Options) { o.CacheMaxAge = d }
}

const external = `{"id":"ext","topic":"cache/a/wis2/ext/data/core/#","save_path":null,"filter":{}}`

// With a long cache age, API writes are still seen at once; a write by
// another process (no change counter) is not, until the age has passed.
func TestListCacheSeesOwnWritesAtOnce(t *testing.T) {
	e := newEnv(t, maxAge(time.Hour))
	ctx := context.Background()
	if res := e.do("GET", "/subscriptions", "", token); string(res.body) != "{}\n" {
		t.Fatalf("empty: %s", res.body)
	}
	e.rdb.HSet(ctx, subscription.HashKey, "ext", external)
	if res := e.do("GET", "/subscriptions", "", token); string(res.body) != "{}\n" {
		t.Fatalf("external write seen before the cache age: %s", res.body)
	}
	res := e.do("POST", "/subscriptions", `{"topic": "cache/a/wis2/+/data/core/#"}`, token)
	var s subscription.Subscription
	res.json(t, &s)
	list := string(e.do("GET", "/subscriptions", "", token).body)
	if !strings.Contains(list, s.ID) {
		t.Fatalf("own write not seen: %s", list)
	}
	e.do("DELETE", "/subscriptions/"+s.ID, "", token)
	if list := string(e.do("GET", "/subscriptions", "", token).body); strings.Contains(list, s.ID) {
		t.Fatalf("own delete not seen: %s", list)
	}
}

func TestListCacheSeesOtherWritersAfterMaxAge(t *testing.T) {
	e := newEnv(t, maxAge(time.Nanosecond))
	ctx := context.Background()
	e.do("GET", "/subscriptions", "", token)
	e.rdb.HSet(ctx, subscription.HashKey, "ext", external)
	// The first request after the age rebuilds the list.
	if res := e.do("GET", "/subscriptions", "", token); !strings.Contains(string(res.body), `"ext"`) {
		t.Fatalf("external write not seen: %s", res.body)
	}
}

func TestMetricsCache(t *testing.T) {
	ctx := context.Background()
	count := func(e *env) string {
		body := string(e.do("GET", "/metrics", "", "").body)
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "wis2downloader_notifications_total{") {
				return l
			}
		}
		return ""
	}
	long := newEnv(t, maxAge(time.Hour))
	metrics.Add(ctx, long.rdb, metrics.Notifications, metrics.Labels{"status": "success"}, 1)
	first := count(long)
	metrics.Add(ctx, long.rdb, metrics.Notifications, metrics.Labels{"status": "success"}, 1)
	if first == "" || count(long) != first {
		t.Fatalf("cached scrape changed: %q", first)
	}
	short := newEnv(t, maxAge(time.Nanosecond))
	metrics.Add(ctx, short.rdb, metrics.Notifications, metrics.Labels{"status": "success"}, 1)
	first = count(short)
	metrics.Add(ctx, short.rdb, metrics.Notifications, metrics.Labels{"status": "success"}, 1)
	if second := count(short); second == first || !strings.HasSuffix(second, " 2") {
		t.Fatalf("scrape after the age: %q then %q", first, second)
	}
}
