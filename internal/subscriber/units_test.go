package subscriber

import (
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/redisconn"
	"github.com/wmo-im/wis2downloader/internal/subscription"
)

func TestServerURL(t *testing.T) {
	cases := []struct {
		protocol string
		tls      bool
		port     int
		path     string
		want     string
	}{
		{"websockets", true, 443, "/mqtt", "wss://globalbroker.meteo.fr:443/mqtt"},
		{"websockets", true, 443, "ws", "wss://globalbroker.meteo.fr:443/ws"},
		{"websockets", false, 80, "", "ws://globalbroker.meteo.fr:80/mqtt"},
		{"tcp", true, 8883, "/mqtt", "mqtts://globalbroker.meteo.fr:8883"},
		{"tcp", false, 1883, "/mqtt", "mqtt://globalbroker.meteo.fr:1883"},
	}
	for _, c := range cases {
		if got := serverURL("globalbroker.meteo.fr", c.port, c.protocol, c.tls, c.path).String(); got != c.want {
			t.Errorf("serverURL(%s, tls=%v, %d, %q) = %s, want %s", c.protocol, c.tls, c.port, c.path, got, c.want)
		}
	}
}

func TestClientID(t *testing.T) {
	a := ClientID("", "container-1", "globalbroker.meteo.fr", 443)
	if a != ClientID("", "container-1", "globalbroker.meteo.fr", 443) {
		t.Error("derived client id is not stable")
	}
	if len(a) != len("wis2dl-")+16 || a[:7] != "wis2dl-" {
		t.Errorf("client id %q", a)
	}
	others := []string{
		ClientID("", "container-2", "globalbroker.meteo.fr", 443),
		ClientID("", "container-1", "gb.wis.cma.cn", 443),
		ClientID("", "container-1", "globalbroker.meteo.fr", 8883),
	}
	for _, o := range others {
		if o == a {
			t.Errorf("different host or broker gave the same id %s", a)
		}
	}
	if got := ClientID("my-session", "container-1", "x", 1); got != "my-session" {
		t.Errorf("MQTT_SESSION_ID ignored: %s", got)
	}
}

func TestBackoffGrowsWithinBounds(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 2 * time.Second}
	for attempt := range 20 {
		d := b.delay(attempt)
		ceiling := min(b.min<<attempt, b.max)
		if attempt > 10 {
			ceiling = b.max
		}
		if d < ceiling/2 || d > ceiling {
			t.Errorf("attempt %d: delay %v outside [%v, %v]", attempt, d, ceiling/2, ceiling)
		}
	}
}

// newOffline builds a Subscriber whose Redis is never contacted, for the
// command semantics.
func newOffline(t *testing.T) *Subscriber {
	t.Helper()
	cfg := config.SubscriberConfig{
		Common: config.Common{Redis: config.Redis{Host: "127.0.0.1", Port: 1}},
		Queue:  "downloads", BrokerHost: "broker.example", BrokerPort: 8883, Protocol: "tcp", TLS: "auto", Enqueuers: 1,
	}
	clients := redisconn.New(cfg.Redis)
	t.Cleanup(func() { _ = clients.Close() })
	s, err := New(Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Redis: clients,
		Registerer: prometheus.NewRegistry(), Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func routeIDs(s *Subscriber, topic string) []string {
	var ids []string
	for _, tg := range s.table.route(topic) {
		ids = append(ids, tg.ID)
	}
	return ids
}

func command(t *testing.T, c subscription.Command) []byte {
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The commands of spec §1.4 with the W-11 fix: a second "subscribe" on a
// topic adds to it; add/update upsert; remove drops one; unsubscribe drops
// the topic; filters are reference-counted.
func TestCommandSemantics(t *testing.T) {
	s := newOffline(t)
	const f = "cache/a/wis2/+/data/core/#"
	const topic = "cache/a/wis2/ca-eccc-msc/data/core/weather"
	p1, p2 := "one", "two"
	s.applyCommand(command(t, subscription.Command{Action: "subscribe", Topic: f,
		Subscriptions: map[string]subscription.Entry{"1": {ID: "1", SavePath: &p1}}}))
	s.applyCommand(command(t, subscription.Command{Action: "subscribe", Topic: f,
		Subscriptions: map[string]subscription.Entry{"2": {SavePath: &p2}}})) // id from the key
	if got := routeIDs(s, topic); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("after two subscribes: %v, want [1 2]", got)
	}
	if fs := s.table.filters(); !slices.Equal(fs, []string{f}) {
		t.Errorf("filters %v, want one", fs)
	}

	s.applyCommand(command(t, subscription.Command{Action: "update_subscription", Topic: f, SubID: "2", SavePath: &p1,
		Filter: json.RawMessage(`{"rules":[]}`)}))
	tg := s.table.route(topic)
	if len(tg) != 2 || *tg[1].SavePath != "one" || string(tg[1].Filter) != `{"rules":[]}` {
		t.Errorf("after update: %+v", tg)
	}
	s.applyCommand(command(t, subscription.Command{Action: "add_subscription", Topic: "origin/a/wis2/#", SubID: "3"}))
	if got := routeIDs(s, "origin/a/wis2/x"); !slices.Equal(got, []string{"3"}) {
		t.Errorf("add on a new topic: %v", got)
	}

	s.applyCommand(command(t, subscription.Command{Action: "remove_subscription", Topic: f, SubID: "1"}))
	if got := routeIDs(s, topic); !slices.Equal(got, []string{"2"}) {
		t.Errorf("after remove: %v", got)
	}
	if fs := s.table.filters(); len(fs) != 2 {
		t.Errorf("filter dropped while still used: %v", fs)
	}
	s.applyCommand(command(t, subscription.Command{Action: "unsubscribe", Topic: f}))
	if got := routeIDs(s, topic); len(got) != 0 {
		t.Errorf("after unsubscribe: %v", got)
	}
	if fs := s.table.filters(); !slices.Equal(fs, []string{"origin/a/wis2/#"}) {
		t.Errorf("filters after unsubscribe: %v", fs)
	}

	// Rejected commands change nothing.
	for _, bad := range []string{`not json`, `{"action":"subscribe"}`, `{"topic":"a/b"}`,
		`{"action":"explode","topic":"a/b"}`, `{"action":"add_subscription","topic":"a/#/b","sub_id":"x"}`,
		`{"action":"remove_subscription","topic":"origin/a/wis2/#"}`} {
		s.applyCommand([]byte(bad))
	}
	if n, _ := s.table.counts(); n != 1 {
		t.Errorf("%d subscriptions after rejected commands, want 1", n)
	}
}

// A reconciliation snapshot read while a command was applied is not applied
// (it may be older than the command).
func TestReplaceIfRejectsStaleSnapshot(t *testing.T) {
	tb := newTable()
	v := tb.currentVersion()
	tb.upsert(subscription.Subscription{ID: "new", Topic: "a/#"})
	if ok, _ := tb.replaceIf(v, map[string]subscription.Subscription{}); ok {
		t.Fatal("stale snapshot applied")
	}
	if ok, changes := tb.replaceIf(tb.currentVersion(), map[string]subscription.Subscription{
		"x": {ID: "x", Topic: "b/+"},
	}); !ok || changes != 2 {
		t.Fatalf("replace: %v %d", ok, changes)
	}
	if fs := tb.filters(); !slices.Equal(fs, []string{"b/+"}) {
		t.Errorf("filters %v", fs)
	}
	if ok, changes := tb.replaceIf(tb.currentVersion(), map[string]subscription.Subscription{"x": {ID: "x", Topic: "b/+"}}); !ok || changes != 0 {
		t.Errorf("identical snapshot: %v %d", ok, changes)
	}
}
