package testsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

func TestLogBufferConcurrentWrites(t *testing.T) {
	var l LogBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				fmt.Fprintf(&l, "w%d-%d\n", i, j)
			}
		})
	}
	wg.Wait()
	if n := strings.Count(l.String(), "\n"); n != 800 {
		t.Fatalf("%d lines, want 800", n)
	}
	if !strings.Contains(l.String(), "w7-99\n") {
		t.Error("a write is missing")
	}
}

func TestStartRunStopReturnsRunsResult(t *testing.T) {
	errDone := errors.New("stopped cleanly")
	started := make(chan struct{})
	run := func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
		if args != nil {
			return fmt.Errorf("args %q", args)
		}
		fmt.Fprintf(stdout, "port=%s unset=%q\n", getenv("PORT"), getenv("UNSET"))
		close(started)
		<-ctx.Done()
		return errDone
	}
	r := StartRun(t, context.Background(), run, map[string]string{"PORT": "1234"})
	<-started
	if err := r.Err(); err != nil {
		t.Fatalf("Err while running = %v", err)
	}
	select {
	case <-r.Done():
		t.Fatal("Done closed while running")
	default:
	}
	if err := r.Stop(t); !errors.Is(err, errDone) {
		t.Fatalf("Stop = %v, want run's error", err)
	}
	<-r.Done()
	if err := r.Err(); !errors.Is(err, errDone) {
		t.Errorf("Err after return = %v", err)
	}
	if got := r.Stdout.String(); got != "port=1234 unset=\"\"\n" {
		t.Errorf("stdout %q", got)
	}
}

func TestStartRunEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := StartRun(t, ctx, func(ctx context.Context, _ []string, _ func(string) string, _, _ io.Writer) error {
		<-ctx.Done()
		return ctx.Err()
	}, nil)
	cancel()
	if err := r.Wait(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v", err)
	}
}

func TestFreePortIsFree(t *testing.T) {
	port := FreePort(t)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("listen on the free port %d: %v", port, err)
	}
	l.Close()
}
