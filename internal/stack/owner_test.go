package stack

import (
	"os"
	"syscall"
	"testing"
)

// owner returns the numeric owner and group of path.
func owner(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no numeric file owners on this platform")
	}
	return int(sys.Uid), int(sys.Gid)
}
