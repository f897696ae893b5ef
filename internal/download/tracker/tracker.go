// Package tracker keeps the deduplication state of notifications in Redis,
// under wis2:notifications: (so `KEYS wis2:notifications:*` | DEL clears it):
//
//	wis2:notifications:data:tracker:by-msg-id:<id>      hash status, reason, data_id, updated
//	wis2:notifications:data:tracker:by-data-id:<data_id> hash status, pubtime, msg_id, updated
//	wis2:notifications:data:lock:<data_id>              lock held by the task downloading it
//	wis2:notifications:data:files:<data_id>             set of stored paths (for deletions)
//
// Claim checks for a duplicate and takes the lock in one Lua script (no race
// between check and lock, W-10); Finish releases the lock and writes the
// trackers and the task's metric increments in another, so a task costs two
// round trips of its own.
package tracker

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/download/outcome"
	"github.com/wmo-im/wis2downloader/internal/metrics"
)

// Key prefixes.
const (
	Prefix         = "wis2:notifications:"
	ByMsgIDPrefix  = Prefix + "data:tracker:by-msg-id:"
	ByDataIDPrefix = Prefix + "data:tracker:by-data-id:"
	LockPrefix     = Prefix + "data:lock:"
	FilesPrefix    = Prefix + "data:files:"
)

// deleted marks a data_id whose deletion was recorded: older copies are
// duplicates, a newer update downloads again.
const deleted = "DELETED"

// rejected marks a data_id whose file every filter rejected after download.
const rejected = "REJECTED"

//go:embed claim.lua
var claimSrc string

//go:embed finish.lua
var finishSrc string

var (
	claimScript  = redis.NewScript(claimSrc)
	finishScript = redis.NewScript(finishSrc)
	extendScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)
)

// The fields a duplicate increments (encoded once).
var (
	skippedField   = metrics.Labels{"status": outcome.Skipped.Label()}.Field()
	duplicateField = metrics.Labels{"reason": string(outcome.Duplicate)}.Field()
)

// Tracker reads and writes the dedup state.
type Tracker struct {
	rdb      redis.Cmdable
	batch    *batcher      // claims and finishes of concurrent tasks share round trips
	ttl      time.Duration // dedup keys (REDIS_TTL_SECONDS)
	lockTTL  time.Duration // lock (REDIS_MESSAGE_LOCK)
	filesTTL time.Duration // stored-path sets: as long as files are kept
}

// New returns a Tracker. filesTTL should cover the retention period (0 =
// files are kept forever: the sets then expire after 30 days).
func New(rdb redis.Cmdable, ttl, lockTTL, filesTTL time.Duration) *Tracker {
	if ttl <= 0 {
		ttl = time.Hour
	}
	if lockTTL <= 0 {
		lockTTL = 5 * time.Minute
	}
	if filesTTL <= 0 {
		filesTTL = 30 * 24 * time.Hour
	}
	return &Tracker{rdb: rdb, batch: &batcher{rdb: rdb}, ttl: ttl, lockTTL: lockTTL, filesTTL: max(filesTTL, ttl)}
}

// Claim is the result of Tracker.Claim.
type Claim int

// Claim results.
const (
	Duplicate Claim = iota // recorded as SKIPPED duplicate (trackers and metrics written)
	Locked                 // the lock is ours: download
	Busy                   // another task holds the lock
)

// Job identifies one notification being processed.
type Job struct {
	MsgID   string
	DataID  string
	Pubtime time.Time // zero when the message has none
	Token   string    // lock owner (the asynq task id)
}

func pubtimeMillis(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// Claim checks whether j's data is already stored with the same or a newer
// pubtime (then records the duplicate: msg tracker SKIPPED, notifications
// and skipped counters) and otherwise takes the data_id lock and marks the
// message PENDING. With wantFiles it also returns the paths stored for the
// data_id (for a deletion).
func (t *Tracker) Claim(ctx context.Context, j Job, wantFiles bool) (Claim, []string, error) {
	keys := []string{
		ByDataIDPrefix + j.DataID,
		LockPrefix + j.DataID,
		ByMsgIDPrefix + j.MsgID,
		metrics.Key(metrics.Notifications),
		metrics.Key(metrics.Skipped),
		FilesPrefix + j.DataID,
	}
	want := "0"
	if wantFiles {
		want = "1"
	}
	args := []any{
		pubtimeMillis(j.Pubtime), j.Token, t.lockTTL.Milliseconds(), int64(t.ttl.Seconds()), j.DataID,
		skippedField, duplicateField,
		time.Now().UTC().Format(time.RFC3339Nano), want,
	}
	if err := ctx.Err(); err != nil {
		return Busy, nil, fmt.Errorf("claim %s: %w", j.DataID, err)
	}
	// Once sent, the claim completes even if ctx ends: its lock is then
	// released by the caller's Finish.
	res, err := t.batch.run(claimScript, keys, args...).Slice()
	if err != nil {
		return Busy, nil, fmt.Errorf("claim %s: %w", j.DataID, err)
	}
	code, _ := res[0].(int64)
	var files []string
	for _, f := range res[1:] {
		if s, ok := f.(string); ok {
			files = append(files, s)
		}
	}
	return Claim(code), files, nil
}

// Increment is one counter increment written with the task's result.
type Increment struct {
	Name   string
	Labels metrics.Labels
	Field  string // Labels encoded (Labels.Field()); computed from Labels when empty
	Value  float64
}

// HashField is the metric hash field of the increment.
func (m Increment) HashField() string {
	if m.Field != "" {
		return m.Field
	}
	return m.Labels.Field()
}

// Result is what Finish writes.
type Result struct {
	Status outcome.Status // Pending while the task waits for a retry
	Reason outcome.Reason // "" for success
	// Stored marks a successful download (data tracker SUCCESS with the
	// pubtime); Deleted a recorded deletion (data tracker DELETED);
	// Rejected a file every filter rejected after download (data tracker
	// REJECTED, so other copies are not downloaded again just to be
	// rejected).
	Stored, Deleted, Rejected bool
	Files                     []string // paths stored (added to the data_id's set)
	Metrics                   []Increment
}

// Finish releases the lock (if still ours) and writes the trackers and the
// metric increments atomically, in one round trip (shared with other tasks'
// scripts under load). It completes even if ctx ends.
func (t *Tracker) Finish(ctx context.Context, j Job, r Result) error {
	keys := []string{
		LockPrefix + j.DataID,
		ByMsgIDPrefix + j.MsgID,
		ByDataIDPrefix + j.DataID,
		FilesPrefix + j.DataID,
	}
	dataStatus := ""
	switch {
	case r.Stored:
		dataStatus = string(outcome.Success)
	case r.Deleted:
		dataStatus = deleted
	case r.Rejected:
		dataStatus = rejected
	}
	args := make([]any, 0, 12+len(r.Files)+3*len(r.Metrics))
	args = append(args, j.Token, string(r.Status), string(r.Reason), j.DataID, int64(t.ttl.Seconds()),
		time.Now().UTC().Format(time.RFC3339Nano), dataStatus, pubtimeMillis(j.Pubtime), j.MsgID,
		int64(t.filesTTL.Seconds()), len(r.Files))
	for _, f := range r.Files {
		args = append(args, f)
	}
	args = append(args, len(r.Metrics))
	for _, m := range r.Metrics {
		args = append(args, metrics.Key(m.Name), m.HashField(), m.Value)
	}
	if err := t.batch.run(finishScript, keys, args...).Err(); err != nil && err != redis.Nil {
		return fmt.Errorf("record %s: %w", j.MsgID, err)
	}
	return nil
}

// LockTTL is the lock expiry.
func (t *Tracker) LockTTL() time.Duration { return t.lockTTL }

// Extend renews j's lock while a long download runs. It reports false when
// the lock is no longer j's.
func (t *Tracker) Extend(ctx context.Context, j Job) (bool, error) {
	n, err := extendScript.Run(ctx, t.rdb, []string{LockPrefix + j.DataID}, j.Token, t.lockTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("extend lock %s: %w", j.DataID, err)
	}
	return n == 1, nil
}
