package testsvc

import (
	"context"
	"io"
	"testing"
	"time"
)

// runStopTimeout is how long a run may take to return once asked to.
const runStopTimeout = 20 * time.Second

// RunFunc is the run function of every product binary (cmd/<svc>/run.go).
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Getenv looks variables up in env, as os.Getenv does in the environment.
func Getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// Running is a binary's run() working in a goroutine of the test.
type Running struct {
	Stdout *LogBuffer // what run has written to stdout

	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
	err    error         // run's result, valid once done is closed
}

// StartRun calls run(ctx, nil, Getenv(env), stdout, io.Discard) in a
// goroutine and returns at once. When the test ends the run is cancelled and
// waited for, and its stdout is logged if the test failed.
func StartRun(t testing.TB, ctx context.Context, run RunFunc, env map[string]string) *Running {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	r := &Running{Stdout: &LogBuffer{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = run(ctx, nil, Getenv(env), r.Stdout, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
		if t.Failed() {
			t.Logf("run output:\n%s", r.Stdout)
		}
	})
	return r
}

// Done is closed when run has returned; Err then gives its result.
func (r *Running) Done() <-chan struct{} { return r.done }

// Err is run's result once Done is closed, else nil.
func (r *Running) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

// Wait waits until run returns (it fails the test after 20 s) and returns
// run's result.
func (r *Running) Wait(t testing.TB) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(runStopTimeout):
		t.Fatalf("run did not return within %s", runStopTimeout)
		return nil
	}
}

// Stop cancels run's context and waits until it returns, as Wait does.
func (r *Running) Stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	return r.Wait(t)
}
