package subscriber

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wmo-im/wis2downloader/internal/redisconn"
	"github.com/wmo-im/wis2downloader/internal/subscription"
)

// heartbeatTTL is the expiry of the heartbeat key: a subscriber that stopped
// disappears from the API's list after it.
const heartbeatTTL = 60 * time.Second

// heartbeatValue is the subscriber's state at now, as written to its key.
func (s *Subscriber) heartbeatValue(now time.Time) subscription.Heartbeat {
	up, since, _ := s.conn.get()
	n, _ := s.table.counts()
	return subscription.Heartbeat{
		Broker:        s.cfg.BrokerHost,
		ClientID:      s.clientID,
		Connected:     up,
		Since:         since.UTC().Format(time.RFC3339),
		Updated:       now.UTC().Format(time.RFC3339),
		Subscriptions: n,
		Received:      s.received.Load(),
	}
}

// heartbeat writes the key every Tuning.Heartbeat until ctx ends, and once
// more at the end (showing the shutdown).
func (s *Subscriber) heartbeat(ctx context.Context) {
	t := time.NewTicker(s.tune.Heartbeat)
	defer t.Stop()
	for {
		s.writeHeartbeat(ctx)
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			s.writeHeartbeat(fctx)
			cancel()
			return
		case <-t.C:
		}
	}
}

func (s *Subscriber) writeHeartbeat(ctx context.Context) {
	b, err := json.Marshal(s.heartbeatValue(time.Now()))
	if err != nil {
		return
	}
	if err := s.rdb.Set(ctx, subscription.HeartbeatKeyPrefix+s.clientID, b, heartbeatTTL).Err(); err != nil && ctx.Err() == nil {
		s.log.Debug("Heartbeat not written", "error", err)
	}
}

// Health is the /healthz check: unhealthy when the broker connection has
// been down longer than SUBSCRIBER_UNHEALTHY_AFTER or Redis does not answer.
func (s *Subscriber) Health(ctx context.Context) (map[string]any, error) {
	up, since, reason := s.conn.get()
	subs, filters := s.table.counts()
	d := map[string]any{
		"broker":        s.cfg.BrokerHost,
		"client_id":     s.clientID,
		"connected":     up,
		"since":         since.UTC().Format(time.RFC3339),
		"subscriptions": subs,
		"topic_filters": filters,
		"received":      s.received.Load(),
		"queue_failing": s.queueFailing.Load(),
	}
	var errs []error
	if !up {
		d["disconnect_reason"] = reason
		if down := time.Since(since); down > s.cfg.UnhealthyAfter {
			errs = append(errs, fmt.Errorf("broker connection down for %s (threshold %s): %s",
				down.Round(time.Second), s.cfg.UnhealthyAfter, reason))
		}
	}
	if err := redisconn.Ping(ctx, s.rdb); err != nil {
		d["redis"] = "unreachable"
		errs = append(errs, err)
	} else {
		d["redis"] = "ok"
	}
	return d, errors.Join(errs...)
}
