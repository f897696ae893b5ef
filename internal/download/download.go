package download

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/wmo-im/wis2downloader/internal/download/outcome"
	"github.com/wmo-im/wis2downloader/internal/download/store"
	"github.com/wmo-im/wis2downloader/internal/download/tracker"
	"github.com/wmo-im/wis2downloader/internal/filter"
	"github.com/wmo-im/wis2downloader/internal/mediatype"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/tasks"
	"github.com/wmo-im/wis2downloader/internal/wis2"
)

// accepted is a subscription whose filter accepted the notification.
type accepted struct {
	t tasks.Target
	f *filter.Filter
}

// input is the filter input of the notification.
func (h *Handler) input(j *job, stage filter.Stage, mediaType string, size int64) filter.Input {
	tp := wis2.ParseTopic(j.p.Topic)
	return filter.Input{
		Stage:      stage,
		Topic:      j.p.Topic,
		CentreID:   tp.CentreID,
		DataID:     j.n.Properties.DataID,
		MetadataID: j.n.Properties.MetadataID,
		Href:       j.link.Href,
		MediaType:  mediaType,
		Size:       size,
		Geometry:   j.n.Geometry,
		Properties: j.n.Properties.All,
	}
}

// preFilter returns the targets whose filters accept the notification
// before download; none → a FilterRejected (or FilterError) outcome.
func (h *Handler) preFilter(j *job) ([]accepted, error) {
	size := int64(-1)
	switch {
	case j.inline && j.n.Properties.Content.Size > 0:
		size = j.n.Properties.Content.Size
	case j.link.Length > 0:
		size = j.link.Length
	}
	in := h.input(j, filter.PreDownload, mediatype.Normalize(j.link.Type), size)
	var out []accepted
	var lastErr error
	rejected := 0
	for _, t := range j.p.Targets {
		f, err := h.filters.get(t.Filter)
		if err != nil {
			lastErr = err
			h.logger.Warn("subscription filter does not compile; it rejects everything", "subscription", t.ID, "error", err)
			continue
		}
		d, err := f.Evaluate(in)
		switch {
		case err != nil:
			lastErr = err
			h.logger.Warn("filter evaluation failed; the subscription rejects the notification", "subscription", t.ID, "data_id", in.DataID, "error", err)
		case d.Accept:
			out = append(out, accepted{t, f})
		default:
			rejected++
			h.logger.Debug("filter rejected before download", "subscription", t.ID, "data_id", in.DataID, "rule", d.RuleID, "reason", d.Reason)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if rejected == 0 && lastErr != nil {
		return nil, outcome.Permanent(outcome.FilterError, lastErr)
	}
	return nil, outcome.Permanent(outcome.FilterRejected, errors.New("every subscription's filter rejected the notification before download"))
}

// fileName is the name the data gets: the last segment of the link path
// (percent-decoded), else from data_id.
func (j *job) fileName() string {
	if j.link.Href != "" {
		if u, err := url.Parse(j.link.Href); err == nil {
			return store.FileName(path.Base(u.Path), j.n.Properties.DataID)
		}
	}
	return store.FileName("", j.n.Properties.DataID)
}

// paths expands the layout for each target.
func (h *Handler) paths(j *job, targets []accepted) ([]string, error) {
	t := j.n.Properties.Pubtime
	if t.IsZero() {
		t = h.now()
	}
	in := store.PathInput{
		Time:     t,
		CentreID: wis2.ParseTopic(j.p.Topic).CentreID,
		DataID:   j.n.Properties.DataID,
		Filename: j.fileName(),
	}
	rels := make([]string, 0, len(targets))
	for _, a := range targets {
		in.Target = ""
		if a.t.SavePath != nil {
			in.Target = *a.t.SavePath
		}
		rel, err := h.store.Path(in)
		if err != nil {
			return nil, outcome.Permanent(outcome.Storage, err)
		}
		if !slices.Contains(rels, rel) {
			rels = append(rels, rel)
		}
	}
	return rels, nil
}

// download fetches (or decodes) the data once, verifies it, and stores it
// for every target that still accepts it. The lock is held on entry.
func (h *Handler) download(ctx context.Context, j *job, targets []accepted, previous []string) error {
	rels, err := h.paths(j, targets)
	if err != nil {
		return h.failLocked(ctx, j, err)
	}
	tmp, err := h.store.TempFile(rels[0])
	if err != nil {
		return h.failLocked(ctx, j, storageError(err))
	}
	tmpName := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()

	// The first bytes are kept for sniffing only when the link declares no
	// media type.
	declared := mediatype.Normalize(j.link.Type)
	s := &sink{f: tmp}
	if declared == "" {
		s.head = make([]byte, 0, mediatype.SniffLen)
	}
	verify := "none"
	if in := j.n.Properties.Integrity; in != nil && in.Value != "" {
		if hh, err := in.NewHash(); err == nil {
			s.h, verify = hh, "ok"
		} else {
			verify = "unknown_method"
		}
	}

	stopRenew := h.renewLock(ctx, j)
	defer stopRenew()
	if j.inline {
		data, err := j.n.Properties.Content.Decode()
		if err != nil {
			return h.failLocked(ctx, j, outcome.Permanent(outcome.BadInlineContent, err))
		}
		if h.cfg.MaxBytes > 0 && int64(len(data)) > h.cfg.MaxBytes {
			return h.failLocked(ctx, j, outcome.Permanent(outcome.TooLarge, fmt.Errorf("inline content of %d bytes", len(data))))
		}
		if _, err := s.Write(data); err != nil {
			return h.failLocked(ctx, j, err)
		}
	} else {
		if _, err := h.fetch.Fetch(ctx, j.link.Href, j.link.Length, s); err != nil {
			return h.failLocked(ctx, j, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return h.failLocked(ctx, j, storageError(err))
	}

	if s.h != nil && !j.n.Properties.Integrity.Matches(s.h.Sum(nil)) {
		return h.failLocked(ctx, j, outcome.Permanent(outcome.HashMismatch,
			fmt.Errorf("%s digest differs from the notification's (%d bytes discarded)", wis2.CanonicalMethod(j.n.Properties.Integrity.Method), s.n)))
	}
	mt := declared
	if mt == "" {
		mt = mediatype.Sniff(s.head)
	}

	// Post-download filters see the media type and the real size.
	in := h.input(j, filter.PostDownload, mt, s.n)
	final := targets[:0:0]
	rejected := 0
	var evalErr error
	for _, a := range targets {
		d, err := a.f.Evaluate(in)
		switch {
		case err != nil:
			evalErr = err
			h.logger.Warn("filter evaluation failed; the subscription rejects the file", "subscription", a.t.ID, "data_id", in.DataID, "error", err)
		case d.Accept:
			final = append(final, a)
		default:
			rejected++
			h.logger.Debug("filter rejected after download", "subscription", a.t.ID, "data_id", in.DataID, "rule", d.RuleID, "reason", d.Reason)
		}
	}
	if len(final) == 0 {
		if rejected == 0 && evalErr != nil {
			return h.finalLocked(ctx, j, outcome.Skipped, outcome.Permanent(outcome.FilterError, evalErr))
		}
		j.rejectedAfter = true
		return h.finalLocked(ctx, j, outcome.Skipped, outcome.Permanent(outcome.FilterRejected, errors.New("every subscription's filter rejected the file after download")))
	}
	if len(final) != len(targets) {
		if rels, err = h.paths(j, final); err != nil {
			return h.failLocked(ctx, j, err)
		}
	}

	// Files of the previous version under the names about to be written are
	// replaced by the commit: their bytes are freed too.
	var overwritten []string
	for _, rel := range rels {
		if slices.Contains(previous, rel) {
			overwritten = append(overwritten, rel)
		}
	}
	freed := h.store.Replaced(overwritten)
	stored, err := h.store.Commit(tmpName, rels)
	committed = true
	if err != nil {
		for _, rel := range stored {
			_, _, _ = h.store.Remove(rel)
		}
		return h.failLocked(ctx, j, storageError(err))
	}
	// An update (or a newer copy) replaces the earlier version: remove
	// files of the previous version stored under other names.
	for _, old := range previous {
		if !slices.Contains(stored, old) {
			n, _, err := h.store.Remove(old)
			if err != nil {
				h.logger.Warn("cannot remove previous version", "path", old, "error", err)
			}
			freed += n
		}
	}
	if verify != "ok" {
		h.obs.unverified.WithLabelValues(verify).Inc()
	}
	h.obs.bytes.Observe(float64(s.n))
	mtl := mediaTypeLabel(mt)
	r := tracker.Result{Status: outcome.Success, Stored: true, Files: stored, Metrics: []tracker.Increment{
		h.fields.counter(metrics.Notifications, 1, "status", outcome.Success.Label()),
		h.fields.counter(metrics.Downloads, 1, "cache", j.cache, "media_type", mtl),
		h.fields.counter(metrics.DownloadsBytes, float64(s.n), "cache", j.cache, "media_type", mtl),
		h.fields.counter(metrics.DiskDownloads, float64(s.n-freed)),
	}}
	h.record(ctx, j, r)
	h.obs.seconds.WithLabelValues("success").Observe(time.Since(j.start).Seconds())
	h.logger.Info("download stored", "data_id", j.tj.DataID, "msg_id", j.tj.MsgID, "host", j.cache, "bytes", s.n,
		"media_type", mt, "integrity", verify, "files", len(stored), "path", stored[0], "action", string(j.action),
		"duration", time.Since(j.start).Round(time.Millisecond))
	return nil
}

// failLocked is retryOrFail with the lock held.
func (h *Handler) failLocked(ctx context.Context, j *job, err error) error {
	return h.retryOrFail(ctx, j, err, true)
}

// finalLocked records a terminal outcome; Finish also releases the lock.
func (h *Handler) finalLocked(ctx context.Context, j *job, status outcome.Status, err error) error {
	return h.final(ctx, j, status, err)
}

// renewLock keeps the data_id lock alive while a download runs longer than
// a third of REDIS_MESSAGE_LOCK, so a slow large file is not started a
// second time from another cache. It runs on a timer (no goroutine for the
// many downloads that end sooner). The returned function stops it and waits
// for a renewal in progress.
func (h *Handler) renewLock(ctx context.Context, j *job) func() {
	every := h.tracker.LockTTL() / 3
	if every <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
		running sync.WaitGroup
	)
	renew := func() {
		mu.Lock()
		if stopped {
			mu.Unlock()
			return
		}
		running.Add(1)
		mu.Unlock()
		defer running.Done()
		if ok, err := h.tracker.Extend(ctx, j.tj); err != nil || !ok {
			h.logger.Debug("lock not renewed", "data_id", j.tj.DataID, "held", ok, "error", err)
		}
		mu.Lock()
		if !stopped {
			t.Reset(every)
		}
		mu.Unlock()
	}
	mu.Lock()
	t = time.AfterFunc(every, renew)
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
		cancel()
		running.Wait()
	}
}
