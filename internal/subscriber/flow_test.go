package subscriber

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/subscription"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

const (
	filterECCC = "origin/a/wis2/ca-eccc-msc/data/core/#"
	topicECCC  = "origin/a/wis2/ca-eccc-msc/data/core/weather/surface-based-observations/synop"
	filterDWD  = "cache/a/wis2/de-dwd-gts-to-wis2/#"
	topicDWD   = "cache/a/wis2/de-dwd-gts-to-wis2/data/core/weather/surface-based-observations/synop"
)

// A subscribe command leads to a SUBSCRIBE; published messages become tasks
// carrying the topic, broker, message and target; an unsubscribe command
// makes the broker stop sending.
func TestCommandsDriveSubscriptionsAndTasks(t *testing.T) {
	r := testsvc.StartRedis(t)
	m := testsvc.StartMosquitto(t)
	rdb := r.Client(t)
	s := startSubscriber(t, testConfig(r, m), "host-commands")
	eventually(t, "command listener", func() bool { return strings.Contains(s.logs.String(), "Listening for subscription commands") })

	subECCC := subscribeViaAPI(t, rdb, "sub-eccc", filterECCC)
	subscribeViaAPI(t, rdb, "sub-dwd", filterDWD)
	s.waitSubscribed(t, filterECCC, filterDWD)

	pub := newPublisher(t, m)
	pub.publish(t, topicECCC, message("m1"))
	pub.publish(t, topicECCC, message("m2"))
	pub.publish(t, "origin/a/wis2/other-centre/data/core/x", message("never")) // not subscribed
	pub.publish(t, topicDWD, message("m3"))
	got := waitQueued(t, rdb, 3)
	if len(got) != 3 {
		t.Fatalf("queued %d tasks, want 3: %v", len(got), got)
	}
	d := got["m1"]
	if d.Topic != topicECCC || d.Broker != "127.0.0.1" || time.Since(d.Received) > time.Minute {
		t.Errorf("task m1: topic %q broker %q received %v", d.Topic, d.Broker, d.Received)
	}
	if len(d.Targets) != 1 || d.Targets[0].ID != subECCC.ID || d.Targets[0].Topic != filterECCC ||
		d.Targets[0].SavePath == nil || *d.Targets[0].SavePath != *subECCC.SavePath {
		t.Errorf("task m1 targets = %+v, want the ECCC subscription", d.Targets)
	}
	var msg struct{ ID string }
	if err := json.Unmarshal(d.Message, &msg); err != nil || msg.ID != "m1" {
		t.Errorf("task m1 payload id %q (%v)", msg.ID, err)
	}
	if got["m3"].Targets[0].ID != "sub-dwd" {
		t.Errorf("task m3 targets = %+v", got["m3"].Targets)
	}

	// Unsubscribe: the API deletes the hash entry and announces it.
	if err := rdb.HDel(testContext(t), subscription.HashKey, "sub-dwd").Err(); err != nil {
		t.Fatal(err)
	}
	sendCommand(t, rdb, subscription.Command{Action: subscription.ActionUnsubscribe, Topic: filterDWD})
	eventually(t, "UNSUBSCRIBE", func() bool { return !slices.Contains(s.subs.subscribedFilters(), filterDWD) })
	pub.publish(t, topicDWD, message("after-unsubscribe"))
	pub.publish(t, topicECCC, message("sentinel"))
	got = waitQueued(t, rdb, 4)
	if _, ok := got["sentinel"]; !ok || len(got) != 4 {
		t.Fatalf("after unsubscribe: tasks %v, want m1..m3 and sentinel", keys(got))
	}
	// The broker delivers in order: by the time the sentinel is queued,
	// anything sent for the removed filter would have been received.
	if n := s.received.Load(); n != 4 {
		t.Errorf("received %d messages, want 4 (the unsubscribed topic must not be delivered)", n)
	}
	eventually(t, "4 counted as queued", func() bool { return s.count(resultQueued) == 4 })
	if n := s.count(resultUnrouted); n != 0 {
		t.Errorf("%v unrouted", n)
	}

	// Heartbeat for the API, and the Redis metrics.
	eventually(t, "heartbeat", func() bool {
		b, err := rdb.Get(testContext(t), subscription.HeartbeatKeyPrefix+s.ClientID()).Bytes()
		if err != nil {
			return false
		}
		var hb subscription.Heartbeat
		if err := json.Unmarshal(b, &hb); err != nil {
			t.Fatalf("heartbeat %s: %v", b, err)
		}
		return hb.Connected && hb.Broker == "127.0.0.1" && hb.ClientID == s.ClientID() && hb.Subscriptions == 1 && hb.Received == 4
	})
	if ttl := rdb.TTL(testContext(t), subscription.HeartbeatKeyPrefix+s.ClientID()).Val(); ttl <= 0 || ttl > heartbeatTTL {
		t.Errorf("heartbeat TTL %v", ttl)
	}
	eventually(t, "notifications_received_total", func() bool {
		return metricValue(t, rdb, metrics.NotificationsReceived, metrics.Labels{"broker": "127.0.0.1"}) == 4
	})
	if _, err := s.Health(testContext(t)); err != nil {
		t.Errorf("Health: %v", err)
	}
	if !strings.Contains(s.logs.String(), "Connected successfully") {
		t.Error(`no "Connected successfully" log line`)
	}
}

// A subscription written to the hash without a command (a lost pub/sub
// message) is picked up by the reconciliation, and so is a deletion.
func TestReconciliationHealsLostCommands(t *testing.T) {
	r := testsvc.StartRedis(t)
	m := testsvc.StartMosquitto(t)
	rdb := r.Client(t)
	cfg := testConfig(r, m)
	cfg.Reconcile = 200 * time.Millisecond
	s := startSubscriber(t, cfg, "host-reconcile")

	path := "lost"
	storeSubscription(t, rdb, subscription.Subscription{ID: "lost-1", Topic: filterECCC, SavePath: &path, Filter: json.RawMessage(`{}`)})
	s.waitSubscribed(t, filterECCC)
	newPublisher(t, m).publish(t, topicECCC, message("healed"))
	got := waitQueued(t, rdb, 1)
	if ts := got["healed"].Targets; len(ts) != 1 || ts[0].ID != "lost-1" {
		t.Fatalf("targets %+v", ts)
	}

	if err := rdb.HDel(testContext(t), subscription.HashKey, "lost-1").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "UNSUBSCRIBE after the hash entry went", func() bool { return len(s.subs.subscribedFilters()) == 0 })
	if n, _ := s.table.counts(); n != 0 {
		t.Errorf("%d subscriptions left", n)
	}
}

// Overlapping filters each get the message (W-3), and two subscribe commands
// on one topic keep both subscriptions (W-11): one task, every target.
func TestOverlappingFiltersGetOneTaskWithEveryTarget(t *testing.T) {
	r := testsvc.StartRedis(t)
	m := testsvc.StartMosquitto(t)
	rdb := r.Client(t)
	s := startSubscriber(t, testConfig(r, m), "host-overlap")
	eventually(t, "command listener", func() bool { return strings.Contains(s.logs.String(), "Listening for subscription commands") })

	subscribeViaAPI(t, rdb, "a-plus", "origin/a/wis2/+/data/core/#")
	subscribeViaAPI(t, rdb, "b-centre", "origin/a/wis2/ca-eccc-msc/#")
	subscribeViaAPI(t, rdb, "c-same-topic", "origin/a/wis2/ca-eccc-msc/#") // second "subscribe" for the topic
	subscribeViaAPI(t, rdb, "d-other", "origin/a/wis2/de-dwd/#")
	subscribeViaAPI(t, rdb, "e-exact", topicECCC)
	s.waitSubscribed(t, "origin/a/wis2/+/data/core/#", "origin/a/wis2/ca-eccc-msc/#", "origin/a/wis2/de-dwd/#", topicECCC)

	newPublisher(t, m).publish(t, topicECCC, message("overlap"))
	got := waitQueued(t, rdb, 1)
	var ids []string
	for _, tg := range got["overlap"].Targets {
		ids = append(ids, tg.ID)
	}
	if want := []string{"a-plus", "b-centre", "c-same-topic", "e-exact"}; !slices.Equal(ids, want) {
		t.Errorf("targets %v, want %v", ids, want)
	}
	if len(got) != 1 {
		t.Errorf("%d tasks, want 1 (the broker sends one copy for overlapping subscriptions in MQTT v5)", len(got))
	}
}

// The same message id from two brokers becomes one task.
func TestSameMessageFromTwoBrokersIsOneTask(t *testing.T) {
	r := testsvc.StartRedis(t)
	m1 := testsvc.StartMosquitto(t)
	m2 := testsvc.StartMosquitto(t)
	rdb := r.Client(t)
	path := "both"
	storeSubscription(t, rdb, subscription.Subscription{ID: "s", Topic: filterECCC, SavePath: &path})
	s1 := startSubscriber(t, testConfig(r, m1), "host-two")
	s2 := startSubscriber(t, testConfig(r, m2), "host-two")
	if s1.ClientID() == s2.ClientID() {
		t.Fatal("two brokers, one client id")
	}
	s1.waitSubscribed(t, filterECCC)
	s2.waitSubscribed(t, filterECCC)

	p1, p2 := newPublisher(t, m1), newPublisher(t, m2)
	for _, id := range []string{"x1", "x2", "x3"} {
		p1.publish(t, topicECCC, message(id))
		p2.publish(t, topicECCC, message(id))
	}
	eventually(t, "both subscribers handled every copy", func() bool {
		n := s1.count(resultQueued) + s1.count(resultDuplicate) + s2.count(resultQueued) + s2.count(resultDuplicate)
		return n == 6
	})
	if got := queued(t, rdb); len(got) != 3 {
		t.Errorf("%d tasks, want 3: %v", len(got), keys(got))
	}
	if q, d := s1.count(resultQueued)+s2.count(resultQueued), s1.count(resultDuplicate)+s2.count(resultDuplicate); q != 3 || d != 3 {
		t.Errorf("queued %v duplicates %v, want 3 and 3", q, d)
	}
}

// Malformed payloads are counted (Redis skipped_total by reason and the
// local counter) and the loop goes on.
func TestMalformedMessagesAreCountedAndSkipped(t *testing.T) {
	r, m, rdb := startWithECCC(t)
	s := startSubscriber(t, testConfig(r, m), "host-malformed")
	s.waitSubscribed(t, filterECCC)

	pub := newPublisher(t, m)
	pub.publish(t, topicECCC, []byte("not json at all"))
	pub.publish(t, topicECCC, []byte(`{"type":"Feature"}`))
	pub.publish(t, topicECCC, []byte(`[1,2,3]`))
	pub.publish(t, topicECCC, []byte(`{"id":"`+strings.Repeat("x", 9000)+`"}`))
	pub.publish(t, topicECCC, message("good"))
	got := waitQueued(t, rdb, 1)
	if _, ok := got["good"]; !ok || len(got) != 1 {
		t.Fatalf("tasks %v, want only good", keys(got))
	}
	eventually(t, "malformed counted", func() bool { return s.count(resultMalformed) == 4 })
	for reason, want := range map[string]float64{"not_json": 1, "missing_id": 1, "invalid_message": 1, "too_large": 1} {
		eventually(t, "skipped_total{reason="+reason+"}", func() bool {
			return metricValue(t, rdb, metrics.Skipped, metrics.Labels{"reason": reason}) == want
		})
	}
	eventually(t, "notifications_received_total", func() bool {
		return metricValue(t, rdb, metrics.NotificationsReceived, metrics.Labels{"broker": "127.0.0.1"}) == 5
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
