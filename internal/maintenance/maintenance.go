// Package maintenance runs the worker's periodic jobs on the asynq
// scheduler: retention cleanup (with stray temporary files), the disk gauges
// and the recalibration of disk_downloads_bytes. Every worker runs a
// scheduler; a per-slot Redis key makes sure each run happens once even with
// several workers.
package maintenance

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/metrics"
)

// Task types.
const (
	TypeCleanup     = "maintenance:cleanup"
	TypeDisk        = "maintenance:disk"
	TypeRecalibrate = "maintenance:recalibrate"
)

// job is one periodic task.
type job struct {
	typ    string
	cron   string
	period time.Duration
}

var jobs = []job{
	{TypeCleanup, "*/10 * * * *", 10 * time.Minute},
	{TypeDisk, "* * * * *", time.Minute},
	{TypeRecalibrate, "17 3 * * *", 24 * time.Hour},
}

// runKeyPrefix marks a slot as done (outside wis2:notifications:, which
// operators clear).
const runKeyPrefix = "wis2:maintenance:run:"

// Maintainer runs the jobs against one data root.
type Maintainer struct {
	root      string
	retention time.Duration
	rdb       redis.Cmdable
	logger    *slog.Logger
	now       func() time.Time
}

// New returns a Maintainer. retention 0 keeps files forever (stray
// temporary files are still removed).
func New(root string, retention time.Duration, rdb redis.Cmdable, logger *slog.Logger) *Maintainer {
	return &Maintainer{root: root, retention: retention, rdb: rdb, logger: logger, now: time.Now}
}

// Register adds the job handlers to mux.
func (m *Maintainer) Register(mux *asynq.ServeMux) {
	for _, j := range jobs {
		mux.HandleFunc(j.typ, func(ctx context.Context, t *asynq.Task) error { return m.run(ctx, j) })
	}
}

// Schedule registers the jobs on s, enqueued into queue. asynq.Unique keeps
// several schedulers from queueing the same slot twice while it waits.
func (m *Maintainer) Schedule(s *asynq.Scheduler, queue string) error {
	for _, j := range jobs {
		t := asynq.NewTask(j.typ, nil)
		if _, err := s.Register(j.cron, t, asynq.Queue(queue), asynq.Unique(j.period/2), asynq.MaxRetry(1), asynq.Timeout(j.period)); err != nil {
			return fmt.Errorf("schedule %s: %w", j.typ, err)
		}
	}
	return nil
}

// run executes j unless another worker already ran this slot.
func (m *Maintainer) run(ctx context.Context, j job) error {
	slot := m.now().Round(j.period).Unix()
	ok, err := m.rdb.SetNX(ctx, runKeyPrefix+j.typ+":"+strconv.FormatInt(slot, 10), 1, j.period).Result()
	if err != nil {
		return fmt.Errorf("%s: %w", j.typ, err)
	}
	if !ok {
		m.logger.Debug("maintenance slot already done", "job", j.typ)
		return nil
	}
	switch j.typ {
	case TypeCleanup:
		return m.Cleanup(ctx)
	case TypeDisk:
		return m.Disk(ctx)
	case TypeRecalibrate:
		return m.Recalibrate(ctx)
	}
	return nil
}

// Cleanup removes expired files, stray temporary files and old empty
// directories, and takes the freed bytes off disk_downloads_bytes.
func (m *Maintainer) Cleanup(ctx context.Context) error {
	start := m.now()
	r := Cleanup(m.root, m.retention, start)
	if r.Freed > 0 {
		metrics.Add(ctx, m.rdb, metrics.DiskDownloads, nil, -float64(r.Freed))
	}
	m.logger.Info("retention cleanup", "files", r.Files, "freed_bytes", r.Freed, "temp_files", r.Temps,
		"dirs", r.Dirs, "errors", r.Errors, "duration", time.Since(start).Round(time.Millisecond))
	if r.FirstError != nil {
		m.logger.Warn("retention cleanup errors", "count", r.Errors, "first", r.FirstError)
	}
	return nil
}

// Disk writes the disk gauges of the data volume.
func (m *Maintainer) Disk(ctx context.Context) error {
	u, err := DiskUsage(m.root)
	if err != nil {
		return err
	}
	_, err = m.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		metrics.Set(ctx, p, metrics.DiskTotal, nil, float64(u.Total))
		metrics.Set(ctx, p, metrics.DiskUsed, nil, float64(u.Used))
		metrics.Set(ctx, p, metrics.DiskFree, nil, float64(u.Free))
		return nil
	})
	if err != nil {
		return fmt.Errorf("disk gauges: %w", err)
	}
	if u.Total > 0 && u.Free*5 < u.Total {
		m.logger.Warn("download volume has less than 20% free", "free_bytes", u.Free, "total_bytes", u.Total)
	}
	return nil
}

// Recalibrate sets disk_downloads_bytes from a walk of the data root.
func (m *Maintainer) Recalibrate(ctx context.Context) error {
	n, err := DownloadsBytes(m.root)
	if err != nil {
		return fmt.Errorf("recalibrate: %w", err)
	}
	if err := m.rdb.HSet(ctx, metrics.Key(metrics.DiskDownloads), metrics.Labels(nil).Field(), strconv.FormatInt(n, 10)).Err(); err != nil {
		return fmt.Errorf("recalibrate: %w", err)
	}
	m.logger.Info("recalibrated downloaded bytes", "bytes", n)
	return nil
}
