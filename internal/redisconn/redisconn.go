// Package redisconn builds every Redis client of the product from one set of
// settings, so go-redis and asynq share timeouts, credentials and pools.
package redisconn

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/config"
)

// Options returns the go-redis options for database db.
func Options(c config.Redis, db int) *redis.Options {
	return &redis.Options{
		Addr:         c.Addr(),
		Username:     c.Username,
		Password:     c.Password,
		DB:           db,
		DialTimeout:  c.DialTimeout,
		ReadTimeout:  c.Timeout,
		WriteTimeout: c.Timeout,
		// No transparent retries (-1; 0 would mean go-redis' default of 3):
		// a command or pipeline that failed after Redis ran it (e.g. a read
		// timeout) must not run twice, since HINCRBYFLOAT and the worker's
		// finish script are not idempotent. Callers retry on their own
		// schedule: the subscriber's enqueue loop, asynq's task retries.
		MaxRetries: -1,
	}
}

// Clients are the application client and the queue client. They are the same
// client when both live in the same database.
type Clients struct {
	App   *redis.Client
	Queue *redis.Client
}

// New opens the clients (lazily: go-redis dials on first use).
func New(c config.Redis) Clients {
	app := redis.NewClient(Options(c, c.DB))
	if c.QueueDB == c.DB {
		return Clients{App: app, Queue: app}
	}
	return Clients{App: app, Queue: redis.NewClient(Options(c, c.QueueDB))}
}

// Close closes both clients once.
func (c Clients) Close() error {
	err := c.App.Close()
	if c.Queue != c.App {
		if qerr := c.Queue.Close(); err == nil {
			err = qerr
		}
	}
	return err
}

// Ping checks that Redis answers.
func Ping(ctx context.Context, c *redis.Client) error {
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis %s: %w", c.Options().Addr, err)
	}
	return nil
}
