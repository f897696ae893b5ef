// Package outcome names how a download task ends: the status written to the
// trackers and counted in notifications_total, and the bounded reason used as
// the label of skipped_total and failed_total.
package outcome

import (
	"errors"
	"fmt"
	"time"
)

// Status is the final state of a notification (tracker field "status").
type Status string

// Statuses. Pending is only written while a task is in progress or waiting
// for a retry.
const (
	Success Status = "SUCCESS"
	Failed  Status = "FAILED"
	Skipped Status = "SKIPPED"
	Pending Status = "PENDING"
)

// Label is the notifications_total{status} value.
func (s Status) Label() string {
	switch s {
	case Success:
		return "success"
	case Failed:
		return "failed"
	case Skipped:
		return "skipped"
	}
	return "pending"
}

// Reason is a bounded metric label value. The set is fixed: no error text
// ever becomes a label.
type Reason string

// Reasons of SKIPPED notifications.
const (
	Duplicate      Reason = "duplicate"       // same data_id already stored with this or a newer pubtime
	FilterRejected Reason = "filter_rejected" // every subscription's filter rejected it
	FilterError    Reason = "filter_error"    // a filter could not be compiled or evaluated (fail closed)
	ExcludedHost   Reason = "excluded_host"   // link host in GC_EXCLUDE
	NoLink         Reason = "no_link"         // no canonical/update/deletion link and no inline content
	Deletion       Reason = "deletion"        // rel=deletion recorded (and applied if enabled)
	NoSubscription Reason = "no_subscription" // the task carried no subscription
)

// Reasons of FAILED notifications (and of retries while attempts remain).
const (
	InvalidMessage    Reason = "invalid_message"    // not a usable WIS2 notification
	BadInlineContent  Reason = "bad_inline_content" // properties.content cannot be decoded
	RefusedAddress    Reason = "refused_address"    // host resolves to a loopback/private/metadata address
	UnsupportedScheme Reason = "unsupported_scheme" // not http or https (also after a redirect)
	TooManyRedirects  Reason = "redirect"           // more than 5 redirects, or a 3xx not followed
	HashMismatch      Reason = "hash_mismatch"      // integrity digest differs: bytes discarded
	LengthMismatch    Reason = "length_mismatch"    // size differs from link length or Content-Length
	TooLarge          Reason = "too_large"          // larger than DOWNLOAD_MAX_BYTES
	HTTP404           Reason = "http_404"           // not found (retried shortly after publication)
	HTTP429           Reason = "http_429"           // too many requests (Retry-After honoured)
	HTTP4xx           Reason = "http_4xx"           // other client errors (408 retried)
	HTTP5xx           Reason = "http_5xx"           // server errors (retried)
	Timeout           Reason = "timeout"            // connect, idle-read or total timeout
	Connection        Reason = "connection"         // DNS, refused, reset, truncated body
	TLS               Reason = "tls"                // certificate or handshake failure
	DiskFull          Reason = "disk_full"          // free space below DOWNLOAD_MIN_FREE_BYTES (waits)
	Storage           Reason = "storage"            // cannot write below the data root
	LockBusy          Reason = "lock_busy"          // another worker downloads the same data (waits)
	Internal          Reason = "internal"           // unexpected error (a bug)
	Interrupted       Reason = "interrupted"        // shutdown (tracker only; the task is requeued)
)

// Error is a classified failure. Retry marks errors worth another attempt
// (counted against DOWNLOAD_MAX_ATTEMPTS); Wait marks conditions that are not
// the notification's fault (a lock held by another copy, a full disk): they
// are retried without using up an attempt.
type Error struct {
	Reason     Reason
	Retry      bool
	Wait       bool
	RetryAfter time.Duration // from a Retry-After header; 0 = none
	Err        error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return string(e.Reason)
	}
	return fmt.Sprintf("%s: %v", e.Reason, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent returns a non-retryable error.
func Permanent(r Reason, err error) *Error { return &Error{Reason: r, Err: err} }

// Retryable returns an error worth another attempt.
func Retryable(r Reason, err error) *Error { return &Error{Reason: r, Retry: true, Err: err} }

// Waiting returns an error retried without counting as an attempt.
func Waiting(r Reason, err error) *Error { return &Error{Reason: r, Retry: true, Wait: true, Err: err} }

// As returns the classified error in err's chain, or an Internal one.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Reason: Internal, Err: err}
}
