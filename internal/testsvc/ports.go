package testsvc

import (
	"fmt"
	"net"
	"testing"
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// listener is closed before the server binds the port, so a race with another
// process is possible; the starters retry with fresh ports when a bind fails.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freePorts returns n distinct free ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	seen := map[int]bool{}
	for len(ports) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for a
// server the test starts itself; it fails the test if none can be found.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	return port
}
