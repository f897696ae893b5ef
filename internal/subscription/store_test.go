package subscription_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/subscription"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// listen subscribes to the command channel and returns a function that
// returns the next command as a generic map (so field presence is checked,
// not only what the Command struct decodes).
func listen(t *testing.T, rdb *redis.Client) func() map[string]any {
	t.Helper()
	ctx := context.Background()
	ps := rdb.Subscribe(ctx, subscription.CommandChannel)
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(func() { _ = ps.Close() })
	ch := ps.Channel()
	return func() map[string]any {
		t.Helper()
		select {
		case m := <-ch:
			var out map[string]any
			if err := json.Unmarshal([]byte(m.Payload), &out); err != nil {
				t.Fatalf("command %q: %v", m.Payload, err)
			}
			return out
		case <-time.After(10 * time.Second):
			t.Fatal("no command published")
			return nil
		}
	}
}

func strp(s string) *string { return &s }

func TestStoreCRUDPublishesCommands(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	next := listen(t, rdb)
	var versions []int64
	st := subscription.NewStore(rdb, subscription.OnChange(func(v int64) { versions = append(versions, v) }))
	ctx := context.Background()
	topic := "cache/a/wis2/de-dwd/data/core/weather/#"

	a, action, err := st.Create(ctx, subscription.Subscription{Topic: topic, SavePath: strp("dwd")})
	if err != nil || action != subscription.ActionSubscribe {
		t.Fatalf("create: %q %v", action, err)
	}
	if a.ID == "" || string(a.Filter) != "{}" {
		t.Fatalf("created %+v", a)
	}
	got := next()
	want := map[string]any{
		"action": "subscribe", "topic": topic,
		"subscriptions": map[string]any{a.ID: map[string]any{"id": a.ID, "save_path": "dwd", "filter": map[string]any{}}},
	}
	assertJSON(t, got, want)

	b, action, err := st.Create(ctx, subscription.Subscription{Topic: topic, Filter: json.RawMessage(`{"rules": []}`)})
	if err != nil || action != subscription.ActionAddSubscription {
		t.Fatalf("second create: %q %v", action, err)
	}
	assertJSON(t, next(), map[string]any{
		"action": "add_subscription", "topic": topic, "sub_id": b.ID, "save_path": nil,
		"filter": map[string]any{"rules": []any{}},
	})

	up, err := st.Update(ctx, b.ID, func(s subscription.Subscription) (subscription.Subscription, error) {
		s.SavePath = strp("x/y")
		return s, nil
	})
	if err != nil || *up.SavePath != "x/y" || up.Topic != topic {
		t.Fatalf("update: %+v %v", up, err)
	}
	assertJSON(t, next(), map[string]any{
		"action": "update_subscription", "topic": topic, "sub_id": b.ID, "save_path": "x/y",
		"filter": map[string]any{"rules": []any{}},
	})
	if g, err := st.Get(ctx, b.ID); err != nil || *g.SavePath != "x/y" {
		t.Fatalf("get after update: %+v %v", g, err)
	}

	if _, action, err = st.Delete(ctx, a.ID); err != nil || action != subscription.ActionRemoveSubscription {
		t.Fatalf("delete a: %q %v", action, err)
	}
	assertJSON(t, next(), map[string]any{"action": "remove_subscription", "topic": topic, "sub_id": a.ID})
	if _, action, err = st.Delete(ctx, b.ID); err != nil || action != subscription.ActionUnsubscribe {
		t.Fatalf("delete b: %q %v", action, err)
	}
	assertJSON(t, next(), map[string]any{"action": "unsubscribe", "topic": topic})

	if _, err := st.Get(ctx, a.ID); !errors.Is(err, subscription.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, _, err := st.Delete(ctx, a.ID); !errors.Is(err, subscription.ErrNotFound) {
		t.Fatalf("delete deleted: %v", err)
	}
	if _, err := st.Update(ctx, a.ID, func(s subscription.Subscription) (subscription.Subscription, error) { return s, nil }); !errors.Is(err, subscription.ErrNotFound) {
		t.Fatalf("update deleted: %v", err)
	}
	if all, err := st.List(ctx); err != nil || len(all) != 0 {
		t.Fatalf("list: %v %v", all, err)
	}
	// Five changes; the failed calls above changed nothing.
	if v, err := st.Version(ctx); err != nil || v != 5 {
		t.Fatalf("version %d %v, want 5", v, err)
	}
	if fmt.Sprint(versions) != "[1 2 3 4 5]" {
		t.Fatalf("OnChange saw %v", versions)
	}
}

func TestStoreConcurrentCreateOnNewTopic(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	next := listen(t, rdb)
	st := subscription.NewStore(rdb)
	ctx := context.Background()
	const n = 100
	topic := "origin/a/wis2/fr-meteofrance/data/core/#"

	concurrently(t, n, func(int) error {
		_, _, err := st.Create(ctx, subscription.Subscription{Topic: topic})
		return err
	})
	counts := map[any]int{}
	for i := range n {
		c := next()
		counts[c["action"]]++
		if i == 0 && c["action"] != "subscribe" {
			t.Fatalf("first command %v, want subscribe", c)
		}
	}
	if counts["subscribe"] != 1 || counts["add_subscription"] != n-1 {
		t.Fatalf("commands %v", counts)
	}
	all, err := st.List(ctx)
	if err != nil || len(all) != n {
		t.Fatalf("list: %d %v", len(all), err)
	}
}

func TestStoreListSkipsBrokenRecords(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	rdb.HSet(ctx, subscription.HashKey, "bad", "not json", "old", `{"id":"x","topic":"cache/a/wis2/#","save_path":null}`)
	all, err := subscription.NewStore(rdb).List(ctx)
	if err != nil || len(all) != 1 || all[0].ID != "old" || string(all[0].Filter) != "{}" {
		t.Fatalf("list: %+v %v", all, err)
	}
}

// concurrently calls f(0) … f(n-1) in n goroutines at once and fails the
// test if any returns an error.
func concurrently(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- f(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// rules is the part of a subscription filter the update test changes.
type rules struct {
	Rules []map[string]any `json:"rules"`
}

func assertJSON(t *testing.T, got, want map[string]any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("command\n got %s\nwant %s", g, w)
	}
}

func TestStoreConcurrentUpdatesAllApply(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	next := listen(t, rdb)
	st := subscription.NewStore(rdb)
	ctx := context.Background()
	sub, _, err := st.Create(ctx, subscription.Subscription{Topic: "cache/a/wis2/+/data/core/#"})
	if err != nil {
		t.Fatal(err)
	}
	next()
	// Each updater appends its own rule to the filter: with a lost update
	// (no compare-and-set) some rules would be missing at the end.
	const n = 10
	concurrently(t, n, func(i int) error {
		_, err := st.Update(ctx, sub.ID, func(s subscription.Subscription) (subscription.Subscription, error) {
			var f rules
			_ = json.Unmarshal(s.Filter, &f)
			f.Rules = append(f.Rules, map[string]any{"id": fmt.Sprint(i)})
			s.Filter, _ = json.Marshal(f)
			return s, nil
		})
		return err
	})
	got, err := st.Get(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	var f rules
	if err := json.Unmarshal(got.Filter, &f); err != nil || len(f.Rules) != n {
		t.Fatalf("filter after %d concurrent updates: %s", n, got.Filter)
	}
	for range n {
		if c := next(); c["action"] != "update_subscription" {
			t.Fatalf("command %v", c)
		}
	}
}

// TestCommandsDecodeIntoCommand: what the store publishes decodes into the
// Command type the subscriber reads.
func TestCommandsDecodeIntoCommand(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	ps := rdb.Subscribe(ctx, subscription.CommandChannel)
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	ch := ps.Channel()
	next := func() subscription.Command {
		t.Helper()
		select {
		case m := <-ch:
			var c subscription.Command
			if err := json.Unmarshal([]byte(m.Payload), &c); err != nil {
				t.Fatal(err)
			}
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("no command")
			return subscription.Command{}
		}
	}
	st := subscription.NewStore(rdb)
	topic := "cache/a/wis2/+/data/core/#"
	f := json.RawMessage(`{"rules":[]}`)
	a, _, _ := st.Create(ctx, subscription.Subscription{Topic: topic, SavePath: strp("a"), Filter: f})
	c := next()
	if c.Action != subscription.ActionSubscribe || c.Topic != topic || len(c.Subscriptions) != 1 ||
		c.Subscriptions[a.ID].ID != a.ID || *c.Subscriptions[a.ID].SavePath != "a" || string(c.Subscriptions[a.ID].Filter) != string(f) {
		t.Fatalf("subscribe %+v", c)
	}
	b, _, _ := st.Create(ctx, subscription.Subscription{Topic: topic, SavePath: strp("b"), Filter: f})
	if c := next(); c.Action != subscription.ActionAddSubscription || c.SubID != b.ID || *c.SavePath != "b" || string(c.Filter) != string(f) {
		t.Fatalf("add %+v", c)
	}
	_, _, _ = st.Delete(ctx, b.ID)
	if c := next(); c.Action != subscription.ActionRemoveSubscription || c.SubID != b.ID || c.Topic != topic {
		t.Fatalf("remove %+v", c)
	}
}
