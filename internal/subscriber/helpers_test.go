package subscriber

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/redisconn"
	"github.com/wmo-im/wis2downloader/internal/subscription"
	"github.com/wmo-im/wis2downloader/internal/tasks"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

const testQueue = "downloads"

// waitTimeout bounds every wait of these tests; it is a failure deadline,
// not a speed assertion.
const waitFor = 20 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testConfig is a subscriber configuration for the broker's plain TCP
// listener with short timings.
func testConfig(r *testsvc.Redis, m *testsvc.Mosquitto) config.SubscriberConfig {
	return config.SubscriberConfig{
		Common:         config.Common{Redis: r.Config(0)},
		Queue:          testQueue,
		BrokerHost:     "127.0.0.1",
		BrokerPort:     m.TCPPort,
		Username:       m.Username,
		Password:       m.Password,
		Protocol:       "tcp",
		TLS:            "false",
		WSPath:         "/mqtt",
		SessionExpiry:  time.Hour,
		KeepAlive:      30 * time.Second,
		Reconcile:      time.Minute,
		UnhealthyAfter: time.Minute,
		Enqueuers:      4,
	}
}

var testTuning = Tuning{
	ReconnectMin: 50 * time.Millisecond,
	ReconnectMax: 500 * time.Millisecond,
	RetryMin:     20 * time.Millisecond,
	RetryMax:     200 * time.Millisecond,
	Heartbeat:    100 * time.Millisecond,
	MetricsFlush: 50 * time.Millisecond,
	DrainTimeout: 2 * time.Second,
}

// running is a subscriber started by a test.
type running struct {
	*Subscriber
	reg  *prometheus.Registry
	logs *testsvc.LogBuffer
	stop func() // cancels Run and checks that it returned nil
}

// startSubscriber runs a subscriber until stop or the end of the test.
func startSubscriber(t testing.TB, cfg config.SubscriberConfig, hostname string) *running {
	t.Helper()
	logs := &testsvc.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clients := redisconn.New(cfg.Redis)
	reg := prometheus.NewRegistry()
	s, err := New(Options{Config: cfg, Logger: logger, Redis: clients, Registerer: reg, Hostname: hostname, Tuning: testTuning})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitFor):
				t.Errorf("Run did not return after cancel")
			}
			_ = clients.Close()
			if t.Failed() {
				t.Logf("subscriber %s log:\n%s", s.ClientID(), logs.String())
			}
		})
	}
	t.Cleanup(stop)
	return &running{Subscriber: s, reg: reg, logs: logs, stop: stop}
}

// waitSubscribed waits until the broker has every given filter subscribed.
func (r *running) waitSubscribed(t testing.TB, filters ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("SUBSCRIBE %v", filters), func() bool {
		got := r.subs.subscribedFilters()
		for _, f := range filters {
			if !strings.Contains(strings.Join(got, "\n")+"\n", f+"\n") {
				return false
			}
		}
		return true
	})
}

func (r *running) count(result string) float64 {
	return testutil.ToFloat64(r.prom.messages.WithLabelValues(result))
}

// publisher is a plain paho client publishing QoS 1 messages.
type publisher struct {
	c *paho.Client
}

func newPublisher(t testing.TB, m *testsvc.Mosquitto) *publisher {
	t.Helper()
	ctx := testContext(t)
	conn, err := net.Dial("tcp", m.TCPAddr)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("pub-%d", time.Now().UnixNano())
	c := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: id})
	if _, err := c.Connect(ctx, &paho.Connect{
		ClientID: id, KeepAlive: 30, CleanStart: true,
		Username: m.Username, UsernameFlag: true, Password: []byte(m.Password), PasswordFlag: true,
	}); err != nil {
		t.Fatalf("publisher connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return &publisher{c: c}
}

func (p *publisher) publish(t testing.TB, topic string, payload []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload}); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// publishN publishes n notifications with the ids prefix-0 … prefix-<n-1>.
func (p *publisher) publishN(t testing.TB, topic, prefix string, n int) {
	t.Helper()
	for i := range n {
		p.publish(t, topic, message(fmt.Sprintf("%s-%d", prefix, i)))
	}
}

// message is a WIS2 notification (the WNM example of pywis-pubsub) with the
// given id.
func message(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"conformsTo":["http://wis.wmo.int/spec/wnm/1/conf/core"],"type":"Feature",`+
		`"geometry":{"type":"Point","coordinates":[6.146255135536194,46.223296618227444]},`+
		`"properties":{"pubtime":"2022-03-20T04:50:18.314854383Z","datetime":"2022-03-20T04:45:00Z",`+
		`"integrity":{"method":"sha512","value":"A2KNxvks...S8qfSCw=="},`+
		`"data_id":"wis2/CAN/eccc-msc/data/core/weather/surface-based-obs/landFixed/UANT01_CWAO_200445___15103.bufr4"},`+
		`"links":[{"href":"https://example.org/data/4Pubsub/92c557ef.bufr4","rel":"canonical","type":"application/bufr"}]}`, id)
}

// queued returns the pending download tasks by message id.
func queued(t testing.TB, rdb *redis.Client) map[string]tasks.Download {
	t.Helper()
	ins := asynq.NewInspectorFromRedisClient(rdb)
	infos, err := ins.ListPendingTasks(testQueue, asynq.PageSize(100000))
	if err != nil {
		return map[string]tasks.Download{} // no queue yet
	}
	out := make(map[string]tasks.Download, len(infos))
	for _, ti := range infos {
		if ti.Type != tasks.TypeDownload {
			t.Fatalf("task type %q", ti.Type)
		}
		p, err := tasks.ParseDownload(ti.Payload)
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimPrefix(ti.ID, "msg:")
		if _, dup := out[id]; dup {
			t.Fatalf("two tasks for message %s", id)
		}
		out[id] = p
	}
	return out
}

// waitQueued waits until at least n tasks are pending and returns them.
func waitQueued(t testing.TB, rdb *redis.Client, n int) map[string]tasks.Download {
	t.Helper()
	var got map[string]tasks.Download
	eventually(t, fmt.Sprintf("%d queued tasks", n), func() bool {
		got = queued(t, rdb)
		return len(got) >= n
	})
	return got
}

// wantQueued waits until n tasks are queued and fails the test if there are
// more.
func wantQueued(t testing.TB, rdb *redis.Client, n int) {
	t.Helper()
	if got := waitQueued(t, rdb, n); len(got) != n {
		t.Fatalf("%d tasks, want %d", len(got), n)
	}
}

// startWithECCC starts Redis and mosquitto, with one subscription ("s", to
// filterECCC) stored, and returns them and a client of Redis database 0.
func startWithECCC(t *testing.T) (*testsvc.Redis, *testsvc.Mosquitto, *redis.Client) {
	t.Helper()
	r := testsvc.StartRedis(t)
	m := testsvc.StartMosquitto(t)
	rdb := r.Client(t)
	storeSubscription(t, rdb, subscription.Subscription{ID: "s", Topic: filterECCC})
	return r, m, rdb
}

// storeSubscription writes a subscription to the hash, as the API does.
func storeSubscription(t testing.TB, rdb *redis.Client, s subscription.Subscription) {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(testContext(t), subscription.HashKey, s.ID, b).Err(); err != nil {
		t.Fatal(err)
	}
}

// sendCommand publishes a command on subscription_commands.
func sendCommand(t testing.TB, rdb *redis.Client, c subscription.Command) {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Publish(testContext(t), subscription.CommandChannel, b).Err(); err != nil {
		t.Fatal(err)
	}
}

// subscribeViaAPI stores a subscription and announces it, like the API.
func subscribeViaAPI(t testing.TB, rdb *redis.Client, id, filter string) subscription.Subscription {
	t.Helper()
	path := "target-" + id
	s := subscription.Subscription{ID: id, Topic: filter, SavePath: &path, Filter: json.RawMessage(`{}`)}
	storeSubscription(t, rdb, s)
	sendCommand(t, rdb, subscription.Command{
		Action: subscription.ActionSubscribe, Topic: filter,
		Subscriptions: map[string]subscription.Entry{id: {ID: id, SavePath: &path, Filter: s.Filter}},
	})
	return s
}

// metricValue reads one series of a Redis metric hash (0 when absent).
func metricValue(t testing.TB, rdb *redis.Client, name string, l metrics.Labels) float64 {
	t.Helper()
	v, err := rdb.HGet(testContext(t), metrics.Key(name), l.Field()).Float64()
	if err != nil {
		return 0
	}
	return v
}

func counterValue(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }
