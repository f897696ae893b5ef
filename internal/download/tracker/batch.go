package tracker

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// batchTimeout bounds one pipeline of scripts (go-redis read and write
// timeouts apply inside it as well).
const batchTimeout = 10 * time.Second

// batcher sends the scripts of concurrent tasks together (group commit):
// a call made while no pipeline is in flight is sent at once, alone; calls
// made while one is in flight queue up and the first of them sends them all
// in the next pipeline. Under load many tasks then share one round trip
// (one write and one read on each side) instead of one each; at low load
// nothing changes. Every call completes (is sent and answered, or fails)
// whatever its caller's context: a claim abandoned half-way could leave a
// lock nobody releases.
type batcher struct {
	rdb   redis.Cmdable
	mu    sync.Mutex
	busy  bool // a leader is sending
	queue []*call
}

// call is one script invocation.
type call struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
	wake   chan struct{} // closed when done, or to make this call's goroutine the next leader
	lead   bool
}

// run executes script and returns its reply.
func (b *batcher) run(script *redis.Script, keys []string, args ...any) *redis.Cmd {
	c := &call{script: script, keys: keys, args: args, wake: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	if b.busy {
		b.mu.Unlock()
		<-c.wake
		if !c.lead {
			return c.cmd
		}
		b.mu.Lock()
	}
	b.busy = true
	batch := b.queue
	b.queue = nil
	b.mu.Unlock()

	b.send(batch)

	b.mu.Lock()
	if len(b.queue) > 0 {
		next := b.queue[0]
		next.lead = true
		close(next.wake)
	} else {
		b.busy = false
	}
	b.mu.Unlock()
	for _, x := range batch {
		if x != c {
			close(x.wake)
		}
	}
	return c.cmd
}

// send runs the calls in one pipeline of EVALSHA. When the server does not
// know a script yet (NOSCRIPT: first use, restart, SCRIPT FLUSH) it is
// loaded and the calls that failed for it are sent again.
func (b *batcher) send(batch []*call) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if len(batch) == 1 {
		c := batch[0]
		c.cmd = c.script.Run(ctx, b.rdb, c.keys, c.args...)
		return
	}
	b.pipeline(ctx, batch)
	var again []*call
	loaded := map[*redis.Script]bool{}
	for _, c := range batch {
		if err := c.cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			if !loaded[c.script] {
				if err := c.script.Load(ctx, b.rdb).Err(); err != nil {
					continue // c keeps its error
				}
				loaded[c.script] = true
			}
			again = append(again, c)
		}
	}
	if len(again) > 0 {
		b.pipeline(ctx, again)
	}
}

func (b *batcher) pipeline(ctx context.Context, calls []*call) {
	p := b.rdb.Pipeline()
	for _, c := range calls {
		c.cmd = c.script.EvalSha(ctx, p, c.keys, c.args...)
	}
	_, _ = p.Exec(ctx) // each command carries its own error
}
