package subscriber

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wmo-im/wis2downloader/internal/subscription"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// Every transport connects, subscribes and queues: plain TCP, WebSocket
// (with the configured path) and TLS (trusting the CA of MQTT_CA_FILE), over
// TCP and over WebSocket (the Global Brokers' default, port 443).
func TestTransports(t *testing.T) {
	r := testsvc.StartRedis(t)
	wssPort := testsvc.FreePort(t)
	m := testsvc.StartMosquitto(t, withWSSListener(wssPort))
	rdb := r.Client(t)
	storeSubscription(t, rdb, subscription.Subscription{ID: "s", Topic: filterECCC})
	pub := newPublisher(t, m)
	cases := []struct {
		name, protocol, tls, ca string
		port                    int
	}{
		{"tcp", "tcp", "false", "", m.TCPPort},
		{"websocket", "websockets", "false", "", m.WSPort},
		{"tls", "tcp", "true", m.CAFile, m.TLSPort},
		{"wss", "websockets", "true", m.CAFile, wssPort},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(r, m)
			cfg.Protocol, cfg.TLS, cfg.CAFile, cfg.BrokerPort = c.protocol, c.tls, c.ca, c.port
			s := startSubscriber(t, cfg, "host-"+c.name)
			s.waitSubscribed(t, filterECCC)
			id := "via-" + c.name
			pub.publish(t, topicECCC, message(id))
			if _, ok := waitQueued(t, rdb, i+1)[id]; !ok {
				t.Fatalf("no task for %s", id)
			}
			s.stop()
		})
	}
}

// TLS with an untrusted certificate never connects (and says why).
func TestTLSRequiresTrustedCertificate(t *testing.T) {
	r := testsvc.StartRedis(t)
	m := testsvc.StartMosquitto(t)
	cfg := testConfig(r, m)
	cfg.BrokerPort, cfg.TLS = m.TLSPort, "true" // system roots only
	cfg.UnhealthyAfter = 200 * time.Millisecond
	s := startSubscriber(t, cfg, "host-untrusted")
	eventually(t, "a failed connection attempt", func() bool { return counterValue(s.prom.connectErrors) > 0 })
	if up, _, reason := s.conn.get(); up || !strings.Contains(reason, "certificate") {
		t.Errorf("connected=%v reason=%q, want a certificate error", up, reason)
	}
	eventually(t, "unhealthy", func() bool {
		_, err := s.Health(testContext(t))
		return err != nil && strings.Contains(err.Error(), "broker connection down")
	})
}

// QoS 1 messages published while the subscriber is stopped are delivered
// when it starts again with the same client id (persistent session).
func TestRestartReceivesMessagesPublishedWhileDown(t *testing.T) {
	r, m, rdb := startWithECCC(t)
	cfg := testConfig(r, m)
	first := startSubscriber(t, cfg, "host-restart")
	first.waitSubscribed(t, filterECCC)
	first.stop()

	pub := newPublisher(t, m)
	pub.publishN(t, topicECCC, "while-down", 20)
	second := startSubscriber(t, cfg, "host-restart")
	if second.ClientID() != first.ClientID() {
		t.Fatalf("client id changed across restarts: %s, %s", first.ClientID(), second.ClientID())
	}
	wantQueued(t, rdb, 20)
}

// A broker restart: the subscriber reconnects by itself, subscribes again
// (including a filter added while the broker was down) and the stream goes
// on with no loss.
func TestBrokerRestart(t *testing.T) {
	r, m, rdb := startWithECCC(t)
	s := startSubscriber(t, testConfig(r, m), "host-broker-restart")

	s.waitSubscribed(t, filterECCC)
	pub := newPublisher(t, m)
	pub.publishN(t, topicECCC, "before", 10)
	waitQueued(t, rdb, 10)

	m.Stop()
	eventually(t, "disconnect noticed", func() bool { up, _, _ := s.conn.get(); return !up })
	subscribeViaAPI(t, rdb, "added-while-down", filterDWD)
	m.Start()
	s.waitSubscribed(t, filterECCC, filterDWD)

	pub = newPublisher(t, m)
	for i := range 10 {
		pub.publish(t, topicECCC, message(fmt.Sprintf("after-%d", i)))
		pub.publish(t, topicDWD, message(fmt.Sprintf("dwd-after-%d", i)))
	}
	wantQueued(t, rdb, 30)
	if c := counterValue(s.prom.connects); c < 2 {
		t.Errorf("%v connections, want a reconnection", c)
	}

	// Messages delivered but not yet acknowledged (Redis away) when the
	// broker restarts stay in its persisted session and are queued in the end.
	r.Stop()
	pub.publishN(t, topicECCC, "unacked", 5)
	eventually(t, "enqueue failures", func() bool { return counterValue(s.prom.enqueueErrors) > 0 })
	m.Stop()
	m.Start()
	r.Start()
	wantQueued(t, rdb, 35)
}

// Redis down: nothing is acknowledged and nothing is lost. Messages received
// while Redis is away are queued once it returns; if the subscriber stops
// meanwhile, the broker keeps them and the next start queues them.
func TestRedisDownLosesNothing(t *testing.T) {
	r, m, rdb := startWithECCC(t)
	cfg := testConfig(r, m)
	s := startSubscriber(t, cfg, "host-redis-down")
	s.waitSubscribed(t, filterECCC)
	pub := newPublisher(t, m)

	// Redis returns while the subscriber runs.
	r.Stop()
	pub.publishN(t, topicECCC, "held", 5)
	eventually(t, "enqueue failures", func() bool { return counterValue(s.prom.enqueueErrors) > 0 })
	if _, err := s.Health(testContext(t)); err == nil {
		t.Error("healthy while Redis is down")
	}
	r.Start()
	wantQueued(t, rdb, 5)
	// The command channel is back too, and commands apply again.
	eventually(t, "command channel re-subscribed", func() bool {
		return strings.Count(s.logs.String(), "Listening for subscription commands") >= 2
	})
	subscribeViaAPI(t, rdb, "after-redis-restart", filterDWD)
	s.waitSubscribed(t, filterDWD)

	// The subscriber stops while Redis is down: the messages stay with the
	// broker, unacknowledged.
	r.Stop()
	pub.publishN(t, topicECCC, "kept", 5)
	before := counterValue(s.prom.enqueueErrors)
	eventually(t, "enqueue failures", func() bool { return counterValue(s.prom.enqueueErrors) > before })
	s.stop()
	r.Start()
	startSubscriber(t, cfg, "host-redis-down")
	wantQueued(t, rdb, 10)
}

// Two replicas in one shared-subscription group split the messages: each
// message is delivered to one of them, and every message becomes a task.
func TestSharedSubscriptionSplitsMessages(t *testing.T) {
	r, m, rdb := startWithECCC(t)
	cfg := testConfig(r, m)
	cfg.ShareGroup = "wis2dl"
	a := startSubscriber(t, cfg, "replica-a")
	b := startSubscriber(t, cfg, "replica-b")
	a.waitSubscribed(t, "$share/wis2dl/"+filterECCC)
	b.waitSubscribed(t, "$share/wis2dl/"+filterECCC)

	pub := newPublisher(t, m)
	const n = 100
	pub.publishN(t, topicECCC, "shared", n)
	wantQueued(t, rdb, n)
	eventually(t, "every message handled", func() bool { return a.count(resultQueued)+b.count(resultQueued) == n })
	ra, rb := a.received.Load(), b.received.Load()
	if ra == 0 || rb == 0 || ra+rb != n {
		t.Errorf("received %d and %d, want a split of %d", ra, rb, n)
	}
	if d := a.count(resultDuplicate) + b.count(resultDuplicate); d != 0 {
		t.Errorf("%v duplicates", d)
	}
}

// withWSSListener adds a WebSocket-over-TLS listener with the broker's test
// certificate.
func withWSSListener(port int) testsvc.MosquittoOption {
	return func(m *testsvc.Mosquitto) {
		testsvc.MosquittoConfig(
			"listener "+strconv.Itoa(port)+" 127.0.0.1",
			"protocol websockets",
			"cafile "+filepath.Join(m.Dir, "ca.pem"),
			"certfile "+filepath.Join(m.Dir, "server.pem"),
			"keyfile "+filepath.Join(m.Dir, "server-key.pem"),
		)(m)
	}
}

// A subscription deleted while the subscriber was stopped: the broker session
// still holds the filter, and the next start unsubscribes it.
func TestFilterRemovedWhileStoppedIsUnsubscribed(t *testing.T) {
	r := testsvc.StartRedis(t)
	m := testsvc.StartMosquitto(t)
	rdb := r.Client(t)
	storeSubscription(t, rdb, subscription.Subscription{ID: "gone", Topic: filterDWD})
	storeSubscription(t, rdb, subscription.Subscription{ID: "kept", Topic: filterECCC})
	cfg := testConfig(r, m)
	first := startSubscriber(t, cfg, "host-stale")
	first.waitSubscribed(t, filterDWD, filterECCC)
	first.stop()

	if err := rdb.HDel(testContext(t), subscription.HashKey, "gone").Err(); err != nil {
		t.Fatal(err)
	}
	second := startSubscriber(t, cfg, "host-stale")
	eventually(t, "UNSUBSCRIBE of the stale filter", func() bool {
		return strings.Contains(second.logs.String(), `msg=Unsubscribed broker=127.0.0.1 topic=`+filterDWD)
	})
	pub := newPublisher(t, m)
	pub.publish(t, topicDWD, message("stale"))
	pub.publish(t, topicECCC, message("sentinel"))
	got := waitQueued(t, rdb, 1)
	if _, ok := got["sentinel"]; !ok || len(got) != 1 {
		t.Fatalf("tasks %v, want only the sentinel", keys(got))
	}
	if n := second.received.Load(); n != 1 {
		t.Errorf("received %d messages, want 1 (the stale filter must be gone from the session)", n)
	}
}
