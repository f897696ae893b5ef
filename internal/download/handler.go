// Package download is the worker's asynq handler: it turns one WIS2
// notification (and the subscriptions it matched) into verified files on
// disk, exactly once per data_id and pubtime, for every subscription whose
// filter accepts it.
package download

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/buildinfo"
	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/download/fetch"
	"github.com/wmo-im/wis2downloader/internal/download/outcome"
	"github.com/wmo-im/wis2downloader/internal/download/store"
	"github.com/wmo-im/wis2downloader/internal/download/tracker"
	"github.com/wmo-im/wis2downloader/internal/maintenance"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/tasks"
	"github.com/wmo-im/wis2downloader/internal/wis2"
)

// Handler processes download tasks. It is safe for concurrent use.
type Handler struct {
	cfg     config.WorkerConfig
	rdb     redis.UniversalClient
	store   *store.Store
	fetch   *fetch.Client
	tracker *tracker.Tracker
	free    *maintenance.FreeSpace
	filters *filterCache
	fields  *fieldCache
	exclude map[string]bool
	logger  *slog.Logger
	obs     *observer
	now     func() time.Time
}

// New builds the handler from the worker configuration. rdb is the
// application Redis client (trackers, locks, metrics).
func New(cfg config.WorkerConfig, rdb redis.UniversalClient, logger *slog.Logger, reg prometheus.Registerer) (*Handler, error) {
	st, err := store.New(cfg.DataPath, cfg.PathLayout)
	if err != nil {
		return nil, err
	}
	pol, err := fetch.ParsePolicy(cfg.AllowPrivate, cfg.AllowNetworks)
	if err != nil {
		return nil, err
	}
	ex := map[string]bool{}
	for _, h := range cfg.GCExclude {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			ex[h] = true
		}
	}
	opts := fetch.Options{
		Exclude:         ex,
		ConnectTimeout:  cfg.ConnectTimeout,
		ReadTimeout:     cfg.ReadTimeout,
		TotalTimeout:    cfg.TotalTimeout,
		MaxBytes:        cfg.MaxBytes,
		HostConcurrency: cfg.HostConcurrency,
		Policy:          pol,
		UserAgent:       buildinfo.UserAgent(),
		BufferSize:      cfg.ChunkSize,
	}
	if cfg.CAFile != "" {
		if opts.RootCAs, err = fetch.LoadCAFile(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	return &Handler{
		cfg:     cfg,
		rdb:     rdb,
		store:   st,
		fetch:   fetch.New(opts),
		tracker: tracker.New(rdb, cfg.DedupTTL, cfg.LockTTL, cfg.Retention),
		free:    maintenance.NewFreeSpace(st.Root(), cfg.MinFreeBytes),
		filters: newFilterCache(),
		fields:  newFieldCache(),
		exclude: ex,
		logger:  logger,
		obs:     newObserver(reg),
		now:     time.Now,
	}, nil
}

// Close releases idle connections.
func (h *Handler) Close() { h.fetch.Close() }

// job is one task being processed.
type job struct {
	p       tasks.Download
	n       *wis2.Notification
	tj      tracker.Job
	link    wis2.Link
	action  wis2.Action
	host    string // link host ("" for inline-only)
	cache   string // cache label
	inline  bool
	attempt int // 1-based, counted attempts only
	// rejectedAfter marks a file every filter rejected after download.
	rejectedAfter bool
	maxAtt        int
	// lastTry marks asynq's last run of the task: asynq archives it after
	// any error, even one that IsFailure does not count.
	lastTry bool
	start   time.Time
}

// deadlineMargin is how long before the asynq task deadline a task stops,
// leaving time to record its outcome (at most a tenth of the task timeout).
const deadlineMargin = 10 * time.Second

// errTaskDeadline is the cause of the context of a task whose asynq
// deadline is near.
var errTaskDeadline = errors.New("the task timeout is reached")

// ProcessTask implements asynq.Handler.
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	j := &job{start: h.now(), cache: "unknown"}
	j.tj.Token, _ = asynq.GetTaskID(ctx)
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, ok := asynq.GetMaxRetry(ctx)
	j.attempt = retried + 1
	j.maxAtt = max(h.cfg.MaxAttempts, 1)
	if ok {
		j.maxAtt = min(j.maxAtt, maxRetry+1)
		j.lastTry = retried >= maxRetry
	}

	// End before asynq's task deadline: past it asynq ignores the handler's
	// answer and retries the task itself (with no attempt counted against
	// DOWNLOAD_MAX_ATTEMPTS and nothing recorded), so a download still
	// running then is ended here as a timeout.
	if dl, ok := ctx.Deadline(); ok {
		margin := min(deadlineMargin, time.Until(dl)/10)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(ctx, dl.Add(-margin), errTaskDeadline)
		defer cancel()
	}

	p, err := tasks.ParseDownload(t.Payload())
	if err != nil {
		return h.final(ctx, j, outcome.Failed, outcome.Permanent(outcome.InvalidMessage, err))
	}
	j.p = p
	n, err := wis2.Parse(p.Message)
	if err != nil {
		j.tj.MsgID, _ = wis2.Peek(p.Message)
		var pe *wis2.ParseError
		reason := outcome.InvalidMessage
		if errors.As(err, &pe) {
			switch pe.Reason {
			case wis2.ReasonNoLink:
				return h.final(ctx, j, outcome.Skipped, outcome.Permanent(outcome.NoLink, err))
			case wis2.ReasonBadContent:
				reason = outcome.BadInlineContent
			}
		}
		return h.final(ctx, j, outcome.Failed, outcome.Permanent(reason, err))
	}
	j.n = n
	j.tj.MsgID = n.ID
	j.tj.DataID = n.Properties.DataID
	j.tj.Pubtime = n.Properties.Pubtime
	err = h.process(ctx, j)
	var e *outcome.Error
	if j.lastTry && ctx.Err() == nil && errors.As(err, &e) && e.Wait {
		// A wait (lock busy, disk full) uses up no attempt, but asynq has no
		// retry left and would archive the task silently: record it as
		// failed instead (no lock is held after a wait).
		return h.final(ctx, j, outcome.Failed, e)
	}
	return err
}

func (h *Handler) process(ctx context.Context, j *job) error {
	n := j.n
	link, action, linkErr := n.SelectLink()
	j.link, j.action = link, action
	if linkErr == nil {
		if u, err := url.Parse(link.Href); err == nil {
			j.host = strings.ToLower(u.Hostname())
			j.cache = j.host
		}
	}
	j.inline = n.Properties.Content != nil && action != wis2.ActionDelete
	if j.inline {
		j.cache = "inline"
	}

	if action == wis2.ActionDelete {
		return h.deletion(ctx, j)
	}
	if len(j.p.Targets) == 0 {
		return h.final(ctx, j, outcome.Skipped, outcome.Permanent(outcome.NoSubscription, errors.New("task carries no subscription")))
	}
	if !j.inline && h.exclude[j.host] {
		return h.final(ctx, j, outcome.Skipped, outcome.Permanent(outcome.ExcludedHost, fmt.Errorf("host %s is in GC_EXCLUDE", j.host)))
	}
	targets, err := h.preFilter(j)
	if err != nil {
		return h.final(ctx, j, outcome.Skipped, err)
	}
	if ok, free, _ := h.free.Enough(); !ok {
		return h.retryOrFail(ctx, j, outcome.Waiting(outcome.DiskFull, fmt.Errorf("%d bytes free, DOWNLOAD_MIN_FREE_BYTES is %d", free, h.cfg.MinFreeBytes)), false)
	}

	claim, previous, err := h.tracker.Claim(ctx, j.tj, true)
	if err != nil {
		return err // Redis trouble: asynq retries
	}
	switch claim {
	case tracker.Duplicate:
		h.obs.seconds.WithLabelValues("skipped").Observe(time.Since(j.start).Seconds())
		h.logger.Debug("duplicate skipped", "data_id", j.tj.DataID, "msg_id", j.tj.MsgID, "host", j.cache)
		return nil
	case tracker.Busy:
		return outcome.Waiting(outcome.LockBusy, fmt.Errorf("data_id %s is being downloaded by another task", j.tj.DataID))
	}
	return h.download(ctx, j, targets, previous)
}

// final records a terminal outcome (no lock held or the lock is released)
// and returns what asynq should see: nil, or SkipRetry for FAILED.
func (h *Handler) final(ctx context.Context, j *job, status outcome.Status, err error) error {
	e := outcome.As(err)
	r := tracker.Result{Status: status, Reason: e.Reason, Metrics: []tracker.Increment{
		h.fields.counter(metrics.Notifications, 1, "status", status.Label()),
	}, Rejected: j.rejectedAfter}
	switch status {
	case outcome.Failed:
		r.Metrics = append(r.Metrics, h.fields.counter(metrics.Failed, 1, "cache", j.cache, "reason", string(e.Reason)))
	case outcome.Skipped:
		r.Metrics = append(r.Metrics, h.fields.counter(metrics.Skipped, 1, "reason", string(e.Reason)))
	}
	h.record(ctx, j, r)
	h.obs.seconds.WithLabelValues(status.Label()).Observe(time.Since(j.start).Seconds())
	log := h.logger.Info
	msg := "notification skipped"
	if status == outcome.Failed {
		log, msg = h.logger.Warn, "download failed"
	}
	log(msg, "data_id", j.tj.DataID, "msg_id", j.tj.MsgID, "host", j.cache, "reason", string(e.Reason), "attempt", j.attempt, "error", e.Err)
	if status == outcome.Failed {
		return fmt.Errorf("%w: %w", e, asynq.SkipRetry)
	}
	return nil
}

// record writes the result; without a message id only the counters.
func (h *Handler) record(ctx context.Context, j *job, r tracker.Result) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var err error
	if j.tj.MsgID == "" {
		_, err = h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, m := range r.Metrics {
				p.HIncrByFloat(ctx, metrics.Key(m.Name), m.HashField(), m.Value)
			}
			return nil
		})
	} else {
		err = h.tracker.Finish(ctx, j.tj, r)
	}
	if err != nil {
		h.logger.Error("cannot record outcome", "msg_id", j.tj.MsgID, "data_id", j.tj.DataID, "error", err)
	}
}

// retryOrFail handles a failure while (maybe) holding the lock: a retryable
// one with attempts left (or a wait) releases the lock, marks the message
// PENDING and returns the error for asynq to retry; otherwise FAILED.
func (h *Handler) retryOrFail(ctx context.Context, j *job, err error, locked bool) error {
	if ctx.Err() != nil {
		if !errors.Is(context.Cause(ctx), errTaskDeadline) {
			// Shutdown: release the lock, asynq requeues the task.
			if locked {
				h.record(ctx, j, tracker.Result{Status: outcome.Pending, Reason: outcome.Interrupted})
			}
			return fmt.Errorf("interrupted: %w", err)
		}
		// The task timeout: an attempt that timed out.
		err = outcome.Retryable(outcome.Timeout, fmt.Errorf("%w: %w", errTaskDeadline, err))
	}
	e := outcome.As(err)
	if e.Reason == outcome.HTTP404 && !e.Retry && h.early(j) {
		e = &outcome.Error{Reason: e.Reason, Retry: true, Err: e.Err}
	}
	if e.Retry && (e.Wait || j.attempt < j.maxAtt) {
		if locked || e.Wait {
			h.record(ctx, j, tracker.Result{Status: outcome.Pending, Reason: e.Reason})
		}
		h.obs.retries.WithLabelValues(string(e.Reason)).Inc()
		h.logger.Info("download will be retried", "data_id", j.tj.DataID, "msg_id", j.tj.MsgID, "host", j.cache,
			"reason", string(e.Reason), "attempt", j.attempt, "max_attempts", j.maxAtt, "error", e.Err)
		return e
	}
	return h.final(ctx, j, outcome.Failed, e)
}

// early reports whether the notification is recent enough for a 404 to mean
// "not there yet".
func (h *Handler) early(j *job) bool {
	t := j.tj.Pubtime
	if t.IsZero() {
		t = j.p.Received
	}
	return t.IsZero() || h.now().Sub(t) < NotFoundGrace
}
