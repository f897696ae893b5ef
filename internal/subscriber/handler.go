package subscriber

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/hibiken/asynq"

	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/tasks"
	"github.com/wmo-im/wis2downloader/internal/wis2"
)

// Task options of every download task. The worker enforces its own attempt
// limit; MaxRetry only keeps asynq from archiving a task early.
const (
	taskMaxRetry = 25
	taskTimeout  = 20 * time.Minute
)

// onPublish runs on paho's single delivery goroutine. It hands the message
// to an enqueuer and returns; when every enqueuer is busy it waits, which
// stops paho reading further messages and, through the receive maximum, the
// broker sending them (back-pressure instead of loss). After the shutdown
// started, messages are left unacknowledged: the broker keeps them in the
// session and sends them again.
func (s *Subscriber) onPublish(pr paho.PublishReceived) (bool, error) {
	s.received.Add(1)
	select {
	case s.inbox <- pr:
	case <-s.stopping:
	}
	return true, nil
}

// enqueuer handles messages until the shutdown starts. ctx ends only when
// the drain timeout passed, aborting a retrying enqueue.
func (s *Subscriber) enqueuer(ctx context.Context) {
	for {
		select {
		case <-s.stopping:
			return
		case pr := <-s.inbox:
			s.handle(ctx, pr)
		}
	}
}

// handle turns one message into a task and acknowledges it once the task is
// in the queue (or the message is known to need no task).
func (s *Subscriber) handle(ctx context.Context, pr paho.PublishReceived) {
	p := pr.Packet
	s.batch.Add(metrics.NotificationsReceived, s.broker, 1)
	id, err := wis2.Peek(p.Payload)
	if err != nil {
		s.malformed(p.Topic, err)
		s.ack(pr)
		return
	}
	targets := s.table.route(p.Topic)
	if len(targets) == 0 {
		s.prom.messages.WithLabelValues(resultUnrouted).Inc()
		s.log.Debug("No subscription matches the topic; message dropped", "topic", p.Topic, "id", id)
		s.ack(pr)
		return
	}
	task, err := tasks.NewDownload(tasks.Download{
		Topic:    p.Topic,
		Broker:   s.cfg.BrokerHost,
		Received: time.Now().UTC(),
		Targets:  targets,
		Message:  json.RawMessage(p.Payload),
	}, id, asynq.Queue(s.cfg.Queue), asynq.MaxRetry(taskMaxRetry), asynq.Timeout(taskTimeout))
	if err != nil {
		// The payload passed Peek, so this cannot happen; never loop on it.
		s.malformed(p.Topic, err)
		s.ack(pr)
		return
	}
	result, ok := s.enqueue(ctx, task, id)
	if !ok {
		return // shutting down: the broker sends the message again
	}
	s.prom.messages.WithLabelValues(result).Inc()
	s.ack(pr)
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("Notification handled", "result", result, "id", id, "topic", p.Topic, "targets", len(targets))
	}
}

// enqueue puts the task in the queue, retrying with backoff for as long as
// it takes (Redis down, out of memory...). It returns false only when ctx
// ended first.
func (s *Subscriber) enqueue(ctx context.Context, task *asynq.Task, id string) (result string, ok bool) {
	retry := backoff{min: s.tune.RetryMin, max: s.tune.RetryMax}
	for attempt := 0; ; attempt++ {
		_, err := s.queue.EnqueueContext(ctx, task)
		switch {
		case err == nil:
			s.queueRecovered()
			return resultQueued, true
		case errors.Is(err, asynq.ErrTaskIDConflict), errors.Is(err, asynq.ErrDuplicateTask):
			s.queueRecovered()
			return resultDuplicate, true
		case ctx.Err() != nil:
			return "", false
		}
		s.prom.enqueueErrors.Inc()
		if attempt == 0 {
			s.batch.Add(metrics.QueueErrors, s.broker, 1)
		}
		s.queueFailing.Store(true)
		if ok, held := s.queueLog.allow(time.Now()); ok {
			s.log.Warn("Cannot queue download task; holding the message unacknowledged and retrying",
				"id", id, "error", err, "similar_errors_since_last_log", held)
		}
		if !retry.sleep(ctx, attempt) {
			return "", false
		}
	}
}

func (s *Subscriber) queueRecovered() {
	if s.queueFailing.CompareAndSwap(true, false) {
		s.log.Info("Queue reachable again; task queuing resumed")
	}
}

// malformed counts a message that cannot become a task.
func (s *Subscriber) malformed(topic string, err error) {
	reason := string(wis2.ReasonInvalidType)
	var pe *wis2.ParseError
	if errors.As(err, &pe) {
		reason = string(pe.Reason)
	}
	s.prom.messages.WithLabelValues(resultMalformed).Inc()
	s.batch.Add(metrics.Skipped, metrics.Labels{"reason": reason}, 1)
	if ok, held := s.malformedLog.allow(time.Now()); ok {
		s.log.Warn("Malformed message dropped", "topic", topic, "reason", reason, "error", err,
			"malformed_since_last_log", held)
	} else {
		s.log.Debug("Malformed message dropped", "topic", topic, "reason", reason, "error", err)
	}
}

// ack acknowledges the message on the connection it came from. After a
// reconnection that connection is gone: the broker has kept the message in
// the session and sends it again (the task id makes the copy a duplicate).
func (s *Subscriber) ack(pr paho.PublishReceived) {
	if err := pr.Client.Ack(pr.Packet); err != nil {
		s.log.Debug("Acknowledgement not sent (connection replaced); the broker will resend the message",
			"topic", pr.Packet.Topic, "error", err)
	}
}
