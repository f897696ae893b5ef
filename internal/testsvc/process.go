package testsvc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	readyTimeout = 30 * time.Second // how long a server may take to answer
	stopTimeout  = 15 * time.Second // how long SIGTERM may take before SIGKILL
	pollInterval = 20 * time.Millisecond
)

// process runs one server binary. Its output (stdout and stderr, across
// restarts) is appended to logPath.
type process struct {
	name    string
	bin     string
	args    []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the running process has exited
	err  error         // exit status, valid after done is closed
}

// start launches the process. The goroutine that waits for it is owned by the
// process and ends when the server exits; stop and kill wait for it.
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done: // exited on its own; start it again
		default:
			return fmt.Errorf("%s is already running", p.name)
		}
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s log: %w", p.name, err)
	}
	fmt.Fprintf(logf, "--- testsvc: starting %s %s at %s\n", p.bin, strings.Join(p.args, " "), time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Kill the server if the test binary dies without running its cleanups
	// (panic, timeout), so no orphan keeps a port and a CPU busy.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// running reports whether the process was started and has not been reaped.
func (p *process) running() (bool, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil, p.done
}

// signal sends sig and waits until the process has exited. After timeout it
// escalates to SIGKILL. Stopping a process that is not running is a no-op.
func (p *process) signal(sig syscall.Signal, timeout time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
	}
	p.mu.Lock()
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	return nil
}

// stop ends the process with SIGTERM, letting it save its data.
func (p *process) stop() error { return p.signal(syscall.SIGTERM, stopTimeout) }

// kill ends the process with SIGKILL.
func (p *process) kill() error { return p.signal(syscall.SIGKILL, stopTimeout) }

// exitErr describes how the process ended, or nil while it runs.
func (p *process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return nil
	}
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v", p.name, p.err)
	default:
		return nil
	}
}

// waitReady calls probe until it succeeds, the process exits or readyTimeout
// passes. The error names the last probe failure.
func (p *process) waitReady(probe func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	_, done := p.running()
	if done == nil {
		return fmt.Errorf("%s is not running", p.name)
	}
	var last error
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		last = probe(pctx)
		pcancel()
		if last == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%w (last probe: %v)", errExited{p.exitErr()}, last)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w", p.name, readyTimeout, last)
		case <-time.After(pollInterval):
		}
	}
}

// log returns what the process has written so far.
func (p *process) log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// errExited marks a server that died before it answered (often a port that
// was taken between freePort and bind); the starters retry it on new ports.
type errExited struct{ err error }

func (e errExited) Error() string { return e.err.Error() }
func (e errExited) Unwrap() error { return e.err }
