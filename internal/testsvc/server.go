package testsvc

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// server is what Redis and Mosquitto share: one process owned by one test,
// started on fresh ports, stopped, killed and started again.
type server struct {
	t     testing.TB
	proc  *process
	probe func(ctx context.Context) error // succeeds once the server answers
	where func() string                   // the server and its ports, for errors
}

// launch stops the server when the test ends (printing its log if the test
// failed) and starts it: configure picks ports and writes the configuration,
// and is called again when the server dies before answering (often a port
// taken by another process meanwhile).
func (s *server) launch(configure func() error) error {
	s.t.Cleanup(func() {
		if err := s.proc.stop(); err != nil {
			s.t.Errorf("testsvc: %v", err)
		}
		if s.t.Failed() {
			s.t.Logf("testsvc: %s log (%s):\n%s", s.proc.name, s.proc.logPath, s.proc.log())
		}
	})
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = configure(); err != nil {
			return err
		}
		if err = s.startAndWait(); err == nil {
			return nil
		}
		if !errors.As(err, new(errExited)) {
			return err
		}
		s.t.Logf("testsvc: %v; retrying on other ports", err)
	}
	return err
}

func (s *server) startAndWait() error {
	if err := s.proc.start(); err != nil {
		return err
	}
	if err := s.proc.waitReady(s.probe); err != nil {
		return fmt.Errorf("%s: %w", s.where(), err)
	}
	return nil
}

// Stop shuts the server down with SIGTERM, letting it save its data, and
// waits until it has exited.
func (s *server) Stop() {
	s.t.Helper()
	if err := s.proc.stop(); err != nil {
		s.t.Fatalf("testsvc: stop %s: %v", s.proc.name, err)
	}
}

// Kill ends the server with SIGKILL and waits until it has exited. Redis
// loses nothing (its append-only file is synced on every write); mosquitto
// loses the changes since its last autosave (at most a second old).
func (s *server) Kill() {
	s.t.Helper()
	if err := s.proc.kill(); err != nil {
		s.t.Fatalf("testsvc: kill %s: %v", s.proc.name, err)
	}
}

// Start starts a stopped server again on the same ports and directory (so
// with the same data) and waits until it answers.
func (s *server) Start() {
	s.t.Helper()
	if err := s.startAndWait(); err != nil {
		s.t.Fatalf("testsvc: restart %s: %v", s.proc.name, err)
	}
}
