package download

import (
	"context"
	"fmt"

	"github.com/wmo-im/wis2downloader/internal/download/outcome"
	"github.com/wmo-im/wis2downloader/internal/download/tracker"
	"github.com/wmo-im/wis2downloader/internal/metrics"
)

// deletion records a rel=deletion notification and, when
// DOWNLOAD_APPLY_DELETIONS is on, removes the stored copies.
func (h *Handler) deletion(ctx context.Context, j *job) error {
	claim, files, err := h.tracker.Claim(ctx, j.tj, true)
	if err != nil {
		return err
	}
	switch claim {
	case tracker.Duplicate:
		return nil
	case tracker.Busy:
		return outcome.Waiting(outcome.LockBusy, fmt.Errorf("data_id %s is being downloaded by another task", j.tj.DataID))
	}
	var freed int64
	removed := 0
	if h.cfg.ApplyDeletions {
		for _, rel := range files {
			n, ok, err := h.store.Remove(rel)
			if err != nil {
				h.logger.Warn("cannot apply deletion", "data_id", j.tj.DataID, "path", rel, "error", err)
				continue
			}
			if ok {
				removed++
				freed += n
			}
		}
	}
	r := tracker.Result{Status: outcome.Skipped, Reason: outcome.Deletion, Deleted: true, Metrics: []tracker.Increment{
		h.fields.counter(metrics.Notifications, 1, "status", outcome.Skipped.Label()),
		h.fields.counter(metrics.Skipped, 1, "reason", string(outcome.Deletion)),
	}}
	if freed > 0 {
		r.Metrics = append(r.Metrics, h.fields.counter(metrics.DiskDownloads, -float64(freed)))
	}
	if !h.cfg.ApplyDeletions {
		r.Deleted = false // files stay; a later copy of the deletion is recorded again
	}
	h.record(ctx, j, r)
	h.logger.Info("deletion recorded", "data_id", j.tj.DataID, "msg_id", j.tj.MsgID, "applied", h.cfg.ApplyDeletions,
		"files_removed", removed, "freed_bytes", freed)
	return nil
}
