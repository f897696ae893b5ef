package download

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/wmo-im/wis2downloader/internal/download/outcome"
)

// Retry timing.
const (
	RetryBase     = 5 * time.Second  // first backoff
	RetryCap      = 5 * time.Minute  // longest backoff
	RetryAfterCap = time.Hour        // longest Retry-After honoured
	LockWait      = time.Second      // another task holds the data_id lock
	DiskWait      = 30 * time.Second // free space below DOWNLOAD_MIN_FREE_BYTES
	// NotFoundGrace is how long after pubtime a 404 is taken for a cache
	// that has not got the file yet (retried) rather than a missing file.
	NotFoundGrace = 10 * time.Minute
)

// RetryDelay is the asynq RetryDelayFunc: exponential backoff from RetryBase
// doubling per counted attempt (n), capped at RetryCap, with "equal jitter"
// (half fixed, half random); a Retry-After from the server wins when longer
// (up to RetryAfterCap); waits for a lock or for disk space use short fixed
// delays with a little jitter.
func RetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	var e *outcome.Error
	if !errors.As(err, &e) {
		return backoff(n)
	}
	if e.Wait {
		switch e.Reason {
		case outcome.LockBusy:
			return LockWait + rand.N(LockWait)
		default:
			return DiskWait + rand.N(DiskWait/2)
		}
	}
	d := backoff(n)
	if e.RetryAfter > 0 {
		d = max(d, min(e.RetryAfter, RetryAfterCap))
	}
	return d
}

func backoff(n int) time.Duration {
	d := RetryCap
	if n < 16 {
		d = min(RetryBase<<n, RetryCap)
	}
	return d/2 + rand.N(d/2+1)
}

// IsFailure is the asynq IsFailure: waiting for a lock or for disk space is
// not the notification's fault and uses up no attempt.
func IsFailure(err error) bool {
	var e *outcome.Error
	return !errors.As(err, &e) || !e.Wait
}
