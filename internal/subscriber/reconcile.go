package subscriber

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wmo-im/wis2downloader/internal/subscription"
	"github.com/wmo-im/wis2downloader/internal/topic"
)

// kickReconcile asks for a reconciliation now.
func (s *Subscriber) kickReconcile() {
	select {
	case s.reconcileKick <- struct{}{}:
	default:
	}
}

// initialLoad reads the subscriptions before the broker connection starts,
// retrying until Redis answers: without them every message of the persistent
// session would be dropped as unrouted. False when ctx ended first.
func (s *Subscriber) initialLoad(ctx context.Context) bool {
	retry := backoff{min: s.tune.RetryMin, max: s.tune.RetryMax}
	for attempt := 0; ; attempt++ {
		err := s.reconcile(ctx)
		if err == nil {
			subs, filters := s.table.counts()
			s.log.Info("Loaded subscriptions", "subscriptions", subs, "topic_filters", filters)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if ok, _ := s.redisLog.allow(time.Now()); ok {
			s.log.Warn("Cannot load subscriptions from Redis; retrying before connecting to the broker", "error", err)
		}
		if !retry.sleep(ctx, attempt) {
			return false
		}
	}
}

// reconcileLoop re-reads the hash every reconcile interval and when asked.
func (s *Subscriber) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Reconcile)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.reconcileKick:
		}
		if err := s.reconcile(ctx); err != nil && ctx.Err() == nil {
			if ok, _ := s.redisLog.allow(time.Now()); ok {
				s.log.Warn("Reconciliation with Redis failed; keeping the current subscriptions", "error", err)
			}
		}
	}
}

// reconcile makes the table equal to global:subscriptions (the hash is the
// truth). A snapshot read while a command was applied may predate that
// command, so it is read again.
func (s *Subscriber) reconcile(ctx context.Context) error {
	for range 3 {
		v := s.table.currentVersion()
		subs, err := s.readSubscriptions(ctx)
		if err != nil {
			s.prom.reconciles.WithLabelValues("error").Inc()
			return err
		}
		replaced, changes := s.table.replaceIf(v, subs)
		if !replaced {
			continue
		}
		if changes > 0 {
			s.prom.reconciles.WithLabelValues("changed").Inc()
			n, f := s.table.counts()
			s.log.Info("Reconciled subscriptions with Redis", "changes", changes, "subscriptions", n, "topic_filters", f)
			s.subs.trigger()
		} else {
			s.prom.reconciles.WithLabelValues("ok").Inc()
		}
		return nil
	}
	return nil // commands keep arriving; the next round catches up
}

// readSubscriptions reads the hash. Entries that are not valid
// subscriptions are skipped with a debug line (the API validates on write).
func (s *Subscriber) readSubscriptions(ctx context.Context) (map[string]subscription.Subscription, error) {
	raw, err := s.rdb.HGetAll(ctx, subscription.HashKey).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", subscription.HashKey, err)
	}
	out := make(map[string]subscription.Subscription, len(raw))
	for id, v := range raw {
		var sub subscription.Subscription
		if err := json.Unmarshal([]byte(v), &sub); err != nil {
			s.log.Debug("Skipping unreadable subscription", "id", id, "error", err)
			continue
		}
		if err := topic.ValidateFilter(sub.Topic); err != nil {
			s.log.Debug("Skipping subscription with an invalid topic", "id", id, "topic", sub.Topic, "error", err)
			continue
		}
		sub.ID = id
		out[id] = sub
	}
	return out, nil
}
