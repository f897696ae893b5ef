package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	healthTimeout = 30 * time.Second // how long a service may take to become healthy
	stopTimeout   = 30 * time.Second // how long a SIGTERM drain may take
)

// service is one product process (api, subscriber, worker or ui) started
// with an explicit environment. Its stdout and stderr, across restarts, go
// to one log file.
type service struct {
	name      string // e.g. "worker-1"
	bin       string
	env       []string
	dir       string // working directory (holds no .env file)
	logPath   string
	healthURL string
	portVar   string // variable holding the service's listening port
	port      int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit status, valid once done is closed
}

func newService(t testing.TB, root, name, bin string, env map[string]string, healthURL string) *service {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &service{
		name:      name,
		bin:       filepath.Join(binDir, bin),
		dir:       dir,
		logPath:   filepath.Join(root, name+".log"),
		healthURL: healthURL,
	}
	// Exactly the configured variables, plus what any process needs.
	s.env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "TZ=Etc/UTC"}
	for k, v := range env {
		s.env = append(s.env, k+"="+v)
	}
	return s
}

// Start launches the process; it does not wait for health.
func (s *service) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		select {
		case <-s.done:
		default:
			t.Fatalf("%s is already running", s.name)
		}
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(logf, "--- e2e: start %s at %s\n", s.name, time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(s.bin)
	cmd.Env = s.env
	cmd.Dir = s.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", s.name, err)
	}
	done := make(chan struct{})
	s.cmd, s.done, s.err = cmd, done, nil
	go func() { // owned by the service; Stop/Kill wait for it
		err := cmd.Wait()
		fmt.Fprintf(logf, "--- e2e: %s exited at %s: %v\n", s.name, time.Now().UTC().Format(time.RFC3339Nano), err)
		logf.Close()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(done)
	}()
}

// Pid is the running process id, 0 when not running.
func (s *service) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// exited reports how the process ended, or nil while it runs (or was never started).
func (s *service) exited() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		return nil
	}
	select {
	case <-s.done:
		if s.err == nil {
			return fmt.Errorf("%s exited with status 0 unexpectedly", s.name)
		}
		return fmt.Errorf("%s exited: %w", s.name, s.err)
	default:
		return nil
	}
}

// running reports whether the process is alive.
func (s *service) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// errDied says the process exited before it became healthy.
var errDied = errors.New("died before becoming healthy")

// WaitHealthy polls the health endpoint until it answers 200.
func (s *service) WaitHealthy(t testing.TB) {
	t.Helper()
	if err := s.waitHealthy(); err != nil {
		t.Fatalf("%v\n%s", err, s.logTail(60))
	}
}

func (s *service) waitHealthy() error {
	deadline := time.Now().Add(healthTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for time.Now().Before(deadline) {
		if err := s.exited(); err != nil {
			return fmt.Errorf("%s %w: %v", s.name, errDied, err)
		}
		resp, err := client.Get(s.healthURL)
		if err == nil {
			body := make([]byte, 512)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, body[:n])
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not healthy after %s at %s (last: %s)", s.name, healthTimeout, s.healthURL, last)
}

// startOnFreePort starts the service and waits until it is healthy. When it
// died because its port was taken meanwhile (freePort cannot reserve it),
// it is started again on another port (portVar names the variable).
func (s *service) startOnFreePort(t testing.TB) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s.Start(t)
		err := s.waitHealthy()
		if err == nil {
			return
		}
		if attempt < 3 && s.portVar != "" && errors.Is(err, errDied) && strings.Contains(s.log(), "address already in use") {
			old := s.port
			s.port = freePort(t)
			for i, kv := range s.env {
				if strings.HasPrefix(kv, s.portVar+"=") {
					s.env[i] = s.portVar + "=" + itoa(s.port)
				}
			}
			s.healthURL = strings.Replace(s.healthURL, ":"+itoa(old)+"/", ":"+itoa(s.port)+"/", 1)
			t.Logf("%s: port %d was taken, retrying on %d", s.name, old, s.port)
			continue
		}
		t.Fatalf("%v\n%s", err, s.logTail(60))
	}
}

// signal sends sig and waits for the exit; it returns the exit error.
func (s *service) signal(t testing.TB, sig syscall.Signal) error {
	t.Helper()
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal %s: %v", s.name, err)
	}
	select {
	case <-done:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("%s did not exit within %s of %v; killed\n%s", s.name, stopTimeout, sig, s.logTail(40))
	}
	s.mu.Lock()
	err := s.err
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	return err
}

// Stop sends SIGTERM, waits, and asserts exit status 0 (a clean drain).
func (s *service) Stop(t testing.TB) {
	t.Helper()
	if err := s.signal(t, syscall.SIGTERM); err != nil {
		t.Errorf("%s: SIGTERM should drain and exit 0, got %v\n%s", s.name, err, s.logTail(40))
	}
}

// Kill sends SIGKILL and waits.
func (s *service) Kill(t testing.TB) {
	t.Helper()
	_ = s.signal(t, syscall.SIGKILL)
}

// Restart is Stop, Start and WaitHealthy.
func (s *service) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Start(t)
	s.WaitHealthy(t)
}

// Healthcheck runs "<bin> healthcheck" with the service's environment.
func (s *service) Healthcheck(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, s.bin, "healthcheck")
	cmd.Env = s.env
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s healthcheck: %w: %s", s.name, err, out)
	}
	return nil
}

// logTail returns the last n lines of the process log.
func (s *service) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log for %s: %v)", s.name, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("--- %s log (last %d lines of %s):\n%s", s.name, len(lines), s.logPath, strings.Join(lines, "\n"))
}

// log returns the whole process log.
func (s *service) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// handedOut remembers the ports freePort returned, so that one test
// process never gives the same port to two services.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// freePort returns a TCP port that was free a moment ago on every address
// (the subscriber and the worker bind [::]:port, which conflicts with any
// other use of the port) and that this process has not handed out before.
func freePort(t testing.TB) int {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port
		}
	}
	t.Fatal("no free port found")
	return 0
}

func itoa(n int) string { return strconv.Itoa(n) }
