package subscriber

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/redis/go-redis/v9"
)

// knownFiltersKey is the Redis set of the broker filters a client's
// persistent session may still hold, so that a filter removed while the
// subscriber was stopped is unsubscribed at the next start.
func knownFiltersKey(clientID string) string { return "subscriber:filters:" + clientID }

// subscribeRetry spaces the retries of a failed SUBSCRIBE or UNSUBSCRIBE on
// the same connection (a broker that refuses a filter is asked again, less
// and less often).
var subscribeRetry = backoff{min: 5 * time.Second, max: 5 * time.Minute}

// brokerSubs keeps the broker's subscriptions equal to the table's distinct
// filters. One goroutine (run) does every SUBSCRIBE and UNSUBSCRIBE, so
// commands, reconciliations and reconnections never race each other: they
// only trigger it.
type brokerSubs struct {
	log      *slog.Logger
	table    *table
	share    string
	rdb      *redis.Client
	knownKey string
	kick     chan struct{}

	mu     sync.Mutex
	cm     *autopaho.ConnectionManager // nil while disconnected
	gen    uint64                      // bumped at every connection change
	active map[string]bool             // broker filters subscribed on this connection
	known  map[string]bool             // broker filters the session may hold
}

func newBrokerSubs(log *slog.Logger, t *table, share string, rdb *redis.Client, clientID string) *brokerSubs {
	return &brokerSubs{
		log: log, table: t, share: share, rdb: rdb,
		knownKey: knownFiltersKey(clientID),
		kick:     make(chan struct{}, 1),
		active:   map[string]bool{},
		known:    map[string]bool{},
	}
}

// brokerFilter is what is sent to the broker for a subscription filter.
func (b *brokerSubs) brokerFilter(f string) string {
	if b.share == "" {
		return f
	}
	return "$share/" + b.share + "/" + f
}

// trigger asks run to bring the broker up to date.
func (b *brokerSubs) trigger() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// connectionUp is called for every new connection: every filter is sent
// again (the session may or may not have kept them).
func (b *brokerSubs) connectionUp(cm *autopaho.ConnectionManager) {
	b.mu.Lock()
	b.cm = cm
	b.gen++
	b.active = map[string]bool{}
	b.mu.Unlock()
	b.trigger()
}

func (b *brokerSubs) connectionDown() {
	b.mu.Lock()
	b.cm = nil
	b.gen++
	b.active = map[string]bool{}
	b.mu.Unlock()
}

// loadKnown reads the filters a previous run left in the session.
func (b *brokerSubs) loadKnown(ctx context.Context) {
	fs, err := b.rdb.SMembers(ctx, b.knownKey).Result()
	if err != nil {
		b.log.Debug("Could not read the filters of the previous run", "error", err)
		return
	}
	b.mu.Lock()
	for _, f := range fs {
		b.known[f] = true
	}
	b.mu.Unlock()
}

// run syncs on every trigger and retries failures until ctx ends.
func (b *brokerSubs) run(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		case <-retry.C:
		}
		if b.sync(ctx) {
			failures = 0
		} else if ctx.Err() == nil {
			retry.Reset(subscribeRetry.delay(failures))
			failures++
		}
	}
}

// sync subscribes the missing filters and unsubscribes the unused ones; it
// returns false when something failed on a live connection.
func (b *brokerSubs) sync(ctx context.Context) bool {
	b.mu.Lock()
	cm, gen := b.cm, b.gen
	active := make(map[string]bool, len(b.active))
	for f := range b.active {
		active[f] = true
	}
	stale := map[string]bool{}
	for f := range b.known {
		stale[f] = true
	}
	b.mu.Unlock()
	if cm == nil {
		return true // OnConnectionUp triggers again
	}
	desired := map[string]bool{}
	for _, f := range b.table.filters() {
		desired[b.brokerFilter(f)] = true
	}
	for f := range active {
		stale[f] = true
	}
	ok := true
	for _, f := range sortedKeys(desired) {
		delete(stale, f)
		if active[f] {
			continue
		}
		if !b.subscribe(ctx, cm, gen, f) {
			ok = false
		}
	}
	for _, f := range sortedKeys(stale) {
		if !b.unsubscribe(ctx, cm, gen, f) {
			ok = false
		}
	}
	return ok
}

func (b *brokerSubs) subscribe(ctx context.Context, cm *autopaho.ConnectionManager, gen uint64, f string) bool {
	sctx, cancel := subscribeCtx(ctx)
	defer cancel()
	sa, err := cm.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: f, QoS: 1}}})
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("SUBSCRIBE failed; retrying", "topic", f, "reason_codes", reasonCodes(sa), "error", err)
		}
		return false
	}
	granted := byte(1)
	if sa != nil && len(sa.Reasons) == 1 {
		granted = sa.Reasons[0]
	}
	b.mu.Lock()
	if b.gen == gen {
		b.active[f] = true
	}
	b.known[f] = true
	b.mu.Unlock()
	if err := b.rdb.SAdd(ctx, b.knownKey, f).Err(); err != nil {
		b.log.Debug("Could not record the subscribed filter", "topic", f, "error", err)
	}
	b.log.Info("Subscribed", "topic", f, "qos", granted)
	return true
}

func (b *brokerSubs) unsubscribe(ctx context.Context, cm *autopaho.ConnectionManager, gen uint64, f string) bool {
	sctx, cancel := subscribeCtx(ctx)
	defer cancel()
	ua, err := cm.Unsubscribe(sctx, &paho.Unsubscribe{Topics: []string{f}})
	if err != nil {
		if ctx.Err() == nil {
			var codes []byte
			if ua != nil {
				codes = ua.Reasons
			}
			b.log.Warn("UNSUBSCRIBE failed; retrying", "topic", f, "reason_codes", codes, "error", err)
		}
		return false
	}
	b.mu.Lock()
	if b.gen == gen {
		delete(b.active, f)
	}
	delete(b.known, f)
	b.mu.Unlock()
	if err := b.rdb.SRem(ctx, b.knownKey, f).Err(); err != nil {
		b.log.Debug("Could not record the unsubscribed filter", "topic", f, "error", err)
	}
	b.log.Info("Unsubscribed", "topic", f)
	return true
}

// subscribedFilters returns the broker filters subscribed on the current
// connection.
func (b *brokerSubs) subscribedFilters() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return sortedKeys(b.active)
}

func reasonCodes(sa *paho.Suback) []byte {
	if sa == nil {
		return nil
	}
	return sa.Reasons
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
