package subscriber

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/subscription"
	"github.com/wmo-im/wis2downloader/internal/topic"
)

// commandPing is how long the command listener waits for a message before
// it pings the connection to find a dead one.
const commandPing = 30 * time.Second

// listenCommands applies the subscription_commands messages until ctx ends.
// Every (re)subscription to the channel triggers a reconciliation, since
// commands published while the listener was away are lost.
func (s *Subscriber) listenCommands(ctx context.Context) {
	ps := s.rdb.Subscribe(ctx, subscription.CommandChannel)
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer func() {
		if stop() {
			_ = ps.Close()
		}
	}()
	retry := backoff{min: s.tune.RetryMin, max: s.tune.RetryMax}
	failures := 0
	for {
		msg, err := ps.ReceiveTimeout(ctx, commandPing)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if err = ps.Ping(ctx); err == nil {
					continue
				}
			}
			if ok, _ := s.redisLog.allow(time.Now()); ok {
				s.log.Warn("Subscription command channel unavailable; retrying", "error", err)
			}
			if !retry.sleep(ctx, failures) {
				return
			}
			failures++
			continue
		}
		failures = 0
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.log.Info("Listening for subscription commands", "channel", m.Channel)
				s.kickReconcile()
			}
		case *redis.Message:
			s.applyCommand([]byte(m.Payload))
		}
	}
}

// applyCommand applies one command (spec §1.4, with the fixes of W-11:
// subscribe adds to the topic's subscriptions instead of replacing them, and
// add/update work whether or not the topic is known yet).
func (s *Subscriber) applyCommand(b []byte) {
	var c subscription.Command
	if err := json.Unmarshal(b, &c); err != nil {
		s.prom.commands.WithLabelValues("invalid").Inc()
		s.log.Warn("Ignoring malformed subscription command", "error", err)
		return
	}
	if c.Action == "" || c.Topic == "" {
		s.prom.commands.WithLabelValues("invalid").Inc()
		s.log.Warn("Ignoring subscription command without action or topic", "action", c.Action, "topic", c.Topic)
		return
	}
	if err := topic.ValidateFilter(c.Topic); err != nil {
		s.prom.commands.WithLabelValues("invalid").Inc()
		s.log.Warn("Ignoring subscription command with an invalid topic", "action", c.Action, "topic", c.Topic, "error", err)
		return
	}
	switch c.Action {
	case subscription.ActionSubscribe:
		for key, e := range c.Subscriptions {
			id := e.ID
			if id == "" {
				id = key
			}
			s.table.upsert(subscription.Subscription{ID: id, Topic: c.Topic, SavePath: e.SavePath, Filter: e.Filter})
		}
		if len(c.Subscriptions) == 0 {
			// Pre-a29e055 format: the subscription itself is only in the
			// hash; the reconciliation fetches it.
			s.kickReconcile()
		}
	case subscription.ActionAddSubscription, subscription.ActionUpdateSubscription:
		if c.SubID == "" {
			s.prom.commands.WithLabelValues("invalid").Inc()
			s.log.Warn("Ignoring subscription command without sub_id", "action", c.Action, "topic", c.Topic)
			return
		}
		s.table.upsert(subscription.Subscription{ID: c.SubID, Topic: c.Topic, SavePath: c.SavePath, Filter: c.Filter})
	case subscription.ActionRemoveSubscription:
		if c.SubID == "" {
			s.prom.commands.WithLabelValues("invalid").Inc()
			s.log.Warn("Ignoring subscription command without sub_id", "action", c.Action, "topic", c.Topic)
			return
		}
		s.table.remove(c.SubID)
	case subscription.ActionUnsubscribe:
		s.table.removeTopic(c.Topic)
	default:
		s.prom.commands.WithLabelValues("invalid").Inc()
		s.log.Warn("Ignoring subscription command with an unknown action", "action", c.Action, "topic", c.Topic)
		return
	}
	s.prom.commands.WithLabelValues(c.Action).Inc()
	n, _ := s.table.counts()
	if c.SubID != "" {
		s.log.Info("Applied subscription command", "action", c.Action, "topic", c.Topic, "sub_id", c.SubID, "subscriptions", n)
	} else {
		s.log.Info("Applied subscription command", "action", c.Action, "topic", c.Topic, "subscriptions", n)
	}
	s.subs.trigger()
}
