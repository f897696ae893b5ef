package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wmo-im/wis2downloader/internal/subscription"
)

func TestSubscriptionCRUD(t *testing.T) {
	e := newEnv(t)
	cmds := e.listen()
	topic := "cache/a/wis2/+/data/core/weather/surface-based-observations/synop"

	res := e.do("POST", "/subscriptions", mustJSON(map[string]any{"topic": topic, "target": "synop//all/"}), token)
	if res.status != http.StatusCreated {
		t.Fatalf("POST: HTTP %d %s", res.status, res.body)
	}
	var a subscription.Subscription
	res.json(t, &a)
	if a.ID == "" || a.Topic != topic || a.SavePath == nil || *a.SavePath != "synop/all" || string(a.Filter) != "{}" {
		t.Fatalf("created %s", res.body)
	}
	if loc := res.header.Get("Location"); loc != "/subscriptions/"+a.ID {
		t.Errorf("Location %q", loc)
	}
	c := cmds.next()
	if c["action"] != "subscribe" || c["topic"] != topic || mustJSON(c["subscriptions"]) != mustJSON(map[string]any{a.ID: map[string]any{"id": a.ID, "save_path": "synop/all", "filter": map[string]any{}}}) {
		t.Fatalf("command %v", c)
	}

	// Same topic again, no target, legacy "filters".
	res = e.do("POST", "/subscriptions", `{"topic": " `+topic+` ", "filters": {"rules": [{"id": "r", "order": 1, "match": {"always": true}, "action": "accept"}]}}`, token)
	if res.status != http.StatusCreated {
		t.Fatalf("second POST: HTTP %d %s", res.status, res.body)
	}
	var b subscription.Subscription
	res.json(t, &b)
	if b.SavePath != nil || !strings.Contains(string(b.Filter), `"rules"`) {
		t.Fatalf("second %s", res.body)
	}
	if c := cmds.next(); c["action"] != "add_subscription" || c["sub_id"] != b.ID || c["save_path"] != nil || c["topic"] != topic {
		t.Fatalf("command %v", c)
	}

	// List, grouped by topic.
	res = e.do("GET", "/subscriptions", "", token)
	var list map[string]map[string]struct {
		SavePath *string        `json:"save_path"`
		Filter   map[string]any `json:"filter"`
	}
	res.json(t, &list)
	if res.status != 200 || len(list) != 1 || len(list[topic]) != 2 || *list[topic][a.ID].SavePath != "synop/all" {
		t.Fatalf("list: HTTP %d %s", res.status, res.body)
	}

	// Get one.
	res = e.do("GET", "/subscriptions/"+b.ID, "", token)
	var got subscription.Subscription
	res.json(t, &got)
	if res.status != 200 || got.ID != b.ID || got.Topic != topic {
		t.Fatalf("get: HTTP %d %s", res.status, res.body)
	}

	// Update the target only: the filter stays.
	res = e.do("PUT", "/subscriptions/"+b.ID, `{"target": "./x"}`, token)
	res.json(t, &got)
	if res.status != 200 || *got.SavePath != "x" || !strings.Contains(string(got.Filter), `"rules"`) {
		t.Fatalf("put: HTTP %d %s", res.status, res.body)
	}
	if c := cmds.next(); c["action"] != "update_subscription" || c["sub_id"] != b.ID || c["save_path"] != "x" {
		t.Fatalf("command %v", c)
	}
	// Reset the filter and remove the target; the (unchanged) topic may be sent.
	res = e.do("PUT", "/subscriptions/"+b.ID, `{"topic": "`+topic+`", "target": null, "filter": null}`, token)
	res.json(t, &got)
	if res.status != 200 || got.SavePath != nil || string(got.Filter) != "{}" {
		t.Fatalf("put: HTTP %d %s", res.status, res.body)
	}
	cmds.next()
	// The topic cannot change.
	res = e.do("PUT", "/subscriptions/"+b.ID, `{"topic": "cache/a/wis2/+/data/core/#"}`, token)
	if res.status != 400 || !strings.Contains(res.errorMsg(t), "cannot change") {
		t.Fatalf("put topic: HTTP %d %s", res.status, res.body)
	}

	// Delete: first remove_subscription, then unsubscribe.
	res = e.do("DELETE", "/subscriptions/"+a.ID, "", token)
	if res.status != 200 || mustJSON(decode(t, res)) != mustJSON(map[string]any{"id": a.ID, "status": "deleted"}) {
		t.Fatalf("delete: HTTP %d %s", res.status, res.body)
	}
	if c := cmds.next(); c["action"] != "remove_subscription" || c["sub_id"] != a.ID {
		t.Fatalf("command %v", c)
	}
	e.do("DELETE", "/subscriptions/"+b.ID, "", token)
	if c := cmds.next(); c["action"] != "unsubscribe" || c["topic"] != topic {
		t.Fatalf("command %v", c)
	}

	// Unknown ids: 404 everywhere, nothing published.
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		body := ""
		if m == "PUT" {
			body = `{"target": "y"}`
		}
		res = e.do(m, "/subscriptions/"+a.ID, body, token)
		if res.status != 404 || res.errorMsg(t) != "Subscription '"+a.ID+"' not found" {
			t.Fatalf("%s deleted: HTTP %d %s", m, res.status, res.body)
		}
	}
	cmds.none(e.rdb)
	if res = e.do("GET", "/subscriptions", "", token); string(res.body) != "{}\n" {
		t.Fatalf("empty list: %s", res.body)
	}
}

func decode(t *testing.T, r response) map[string]any {
	var m map[string]any
	r.json(t, &m)
	return m
}

func TestConcurrentPostsOnNewTopic(t *testing.T) {
	e := newEnv(t)
	cmds := e.listen()
	const n = 100
	topic := "origin/a/wis2/de-dwd-gts-to-wis2/data/core/I/S/A/I/01/sbbr"
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Go(func() {
			statuses <- e.do("POST", "/subscriptions", mustJSON(map[string]string{"topic": topic}), token).status
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusCreated {
			t.Fatalf("POST: HTTP %d", s)
		}
	}
	counts := map[any]int{}
	for i := range n {
		c := cmds.next()
		if i == 0 && c["action"] != "subscribe" {
			t.Fatalf("first command %v", c)
		}
		counts[c["action"]]++
	}
	if counts["subscribe"] != 1 || counts["add_subscription"] != n-1 {
		t.Fatalf("commands %v", counts)
	}
	cmds.none(e.rdb)
	if l, err := e.rdb.HLen(context.Background(), subscription.HashKey).Result(); err != nil || l != n {
		t.Fatalf("stored %d %v", l, err)
	}
}

func TestRedisDownIs503(t *testing.T) {
	e := newEnv(t)
	e.redis.Stop()
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/subscriptions", ""},
		{"POST", "/subscriptions", `{"topic": "cache/a/wis2/+/data/core/#"}`},
		{"GET", "/subscriptions/x", ""},
		{"DELETE", "/subscriptions/x", ""},
	} {
		res := e.do(c.method, c.path, c.body, token)
		if res.status != http.StatusServiceUnavailable || !strings.Contains(res.errorMsg(t), "Redis") {
			t.Errorf("%s %s with Redis down: HTTP %d %s", c.method, c.path, res.status, res.body)
		}
	}
}
