package subscriber

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/redisconn"
)

// Tuning holds timings that have sensible defaults; tests shorten them.
type Tuning struct {
	ReconnectMin   time.Duration // first MQTT reconnect delay (default 500ms)
	ReconnectMax   time.Duration // longest MQTT reconnect delay (default 2m)
	RetryMin       time.Duration // first retry delay of a failed Redis operation (default 100ms)
	RetryMax       time.Duration // longest such delay (default 5s)
	Heartbeat      time.Duration // heartbeat key period (default 5s)
	MetricsFlush   time.Duration // Redis metrics batch period (default 1s)
	DrainTimeout   time.Duration // bound on finishing in-flight enqueues at shutdown (default 10s)
	ReceiveMaximum uint16        // QoS 1 messages the broker may have in flight to us (default 1024)
}

func (t Tuning) withDefaults() Tuning {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.ReconnectMin, 500*time.Millisecond)
	def(&t.ReconnectMax, 2*time.Minute)
	def(&t.RetryMin, 100*time.Millisecond)
	def(&t.RetryMax, 5*time.Second)
	def(&t.Heartbeat, 5*time.Second)
	def(&t.MetricsFlush, time.Second)
	def(&t.DrainTimeout, 10*time.Second)
	if t.ReconnectMax < 2*t.ReconnectMin {
		t.ReconnectMax = 2 * t.ReconnectMin // autopaho's backoff needs max >= its initial ceiling (2*min)
	}
	if t.ReceiveMaximum == 0 {
		t.ReceiveMaximum = 1024
	}
	return t
}

// Options are what a Subscriber is built from.
type Options struct {
	Config     config.SubscriberConfig
	Logger     *slog.Logger
	Redis      redisconn.Clients // the Subscriber does not close them
	Registerer prometheus.Registerer
	Hostname   string // input of the derived client id; os.Hostname() when empty
	Tuning     Tuning
}

// Subscriber is one connection to a Global Broker and its routing state.
type Subscriber struct {
	cfg      config.SubscriberConfig
	tune     Tuning
	log      *slog.Logger
	rdb      *redis.Client
	queue    *asynq.Client
	batch    *metrics.Batcher
	prom     *promMetrics
	clientID string
	mqttCfg  autopaho.ClientConfig
	broker   metrics.Labels

	table *table
	subs  *brokerSubs
	conn  connState

	inbox    chan paho.PublishReceived
	stopping chan struct{} // closed when the shutdown starts: take no more messages

	reconcileKick chan struct{}
	received      atomic.Int64
	queueFailing  atomic.Bool

	malformedLog every
	queueLog     every
	redisLog     every
}

// New checks the configuration and builds a Subscriber; nothing connects
// until Run.
func New(o Options) (*Subscriber, error) {
	c := o.Config
	if c.BrokerHost == "" {
		return nil, errors.New("no broker host")
	}
	if c.Queue == "" {
		return nil, errors.New("no queue name")
	}
	if c.Enqueuers < 1 {
		return nil, fmt.Errorf("enqueuers: %d, want at least 1", c.Enqueuers)
	}
	if c.Reconcile <= 0 {
		c.Reconcile = 30 * time.Second
	}
	if c.UnhealthyAfter <= 0 {
		c.UnhealthyAfter = 2 * time.Minute
	}
	host := o.Hostname
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("host name for the client id: %w", err)
		}
		host = h
	}
	s := &Subscriber{
		cfg:           c,
		tune:          o.Tuning.withDefaults(),
		log:           o.Logger,
		rdb:           o.Redis.App,
		queue:         asynq.NewClientFromRedisClient(o.Redis.Queue),
		batch:         metrics.NewBatcher(o.Redis.App),
		clientID:      ClientID(c.SessionID, host, c.BrokerHost, c.BrokerPort),
		broker:        metrics.Labels{"broker": c.BrokerHost},
		table:         newTable(),
		inbox:         make(chan paho.PublishReceived),
		stopping:      make(chan struct{}),
		reconcileKick: make(chan struct{}, 1),
		malformedLog:  every{interval: 10 * time.Second},
		queueLog:      every{interval: 10 * time.Second},
		redisLog:      every{interval: 30 * time.Second},
	}
	s.conn.since = time.Now()
	s.log = s.log.With("broker", c.BrokerHost)
	prom, err := newPromMetrics(o.Registerer, c.BrokerHost, s.table.counts)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	s.prom = prom
	s.subs = newBrokerSubs(s.log, s.table, c.ShareGroup, s.rdb, s.clientID)
	if s.mqttCfg, err = s.mqttConfig(); err != nil {
		return nil, err
	}
	return s, nil
}

// ClientID is the MQTT client id (and session) the subscriber uses.
func (s *Subscriber) ClientID() string { return s.clientID }

// Run loads the subscriptions, connects to the broker and queues every
// notification until ctx ends; then it stops taking messages, finishes the
// enqueues in flight (bounded by Tuning.DrainTimeout), disconnects cleanly
// keeping the broker session, and flushes its metrics. It returns nil after a
// clean shutdown.
func (s *Subscriber) Run(ctx context.Context) error {
	s.log.Info("Starting subscriber", "client_id", s.clientID, "url", s.mqttCfg.ServerUrls[0].String(),
		"share_group", s.cfg.ShareGroup, "queue", s.cfg.Queue, "session_expiry", s.cfg.SessionExpiry)

	// Background parts that outlive the message flow: metrics and heartbeat
	// stop last, after the final counts.
	bgCtx, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	var bg sync.WaitGroup
	bg.Go(func() { s.batch.Run(bgCtx, s.tune.MetricsFlush) })
	bg.Go(func() { s.heartbeat(bgCtx) })
	defer func() {
		stopBg()
		bg.Wait()
	}()

	// State keepers: commands, reconciliation, broker subscriptions.
	var keepers sync.WaitGroup
	defer keepers.Wait()
	keepers.Go(func() { s.listenCommands(ctx) })
	if !s.initialLoad(ctx) {
		return nil
	}
	s.subs.loadKnown(ctx)
	keepers.Go(func() { s.reconcileLoop(ctx) })
	keepers.Go(func() { s.subs.run(ctx) })

	// The message flow.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var workers sync.WaitGroup
	for range s.cfg.Enqueuers {
		workers.Go(func() { s.enqueuer(workCtx) })
	}
	connCtx, stopConn := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConn()
	cm, err := autopaho.NewConnection(connCtx, s.mqttCfg)
	if err != nil {
		close(s.stopping)
		workers.Wait()
		return fmt.Errorf("mqtt: %w", err)
	}

	<-ctx.Done()
	s.log.Info("Shutting down: no new messages; finishing the ones in flight")
	close(s.stopping)
	if !waitTimeout(&workers, s.tune.DrainTimeout) {
		s.log.Warn("In-flight enqueues did not finish in time; their messages stay unacknowledged and the broker will send them again",
			"timeout", s.tune.DrainTimeout)
		stopWork()
		workers.Wait()
	}
	// Acknowledgements leave in batches every ackInterval: let the last go.
	time.Sleep(3 * ackInterval)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := cm.Disconnect(dctx); err != nil {
		s.log.Warn("MQTT disconnect did not complete", "error", err)
	}
	s.conn.set(false, "shutdown")
	s.prom.connected.Set(0)
	s.log.Info("Disconnected from broker; the session is kept for the next start", "client_id", s.clientID)
	return nil
}

// waitTimeout waits for wg up to d; false if it timed out.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
