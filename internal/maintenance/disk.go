package maintenance

import (
	"fmt"
	"sync"
	"syscall"
	"time"
)

// Usage is the space of the file system holding a path.
type Usage struct {
	Total, Used, Free uint64 // bytes; Free is what an unprivileged process may use
}

// DiskUsage returns the usage of the file system holding path.
func DiskUsage(path string) (Usage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return Usage{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	u := Usage{Total: st.Blocks * bs, Free: st.Bavail * bs}
	u.Used = (st.Blocks - st.Bfree) * bs
	return u, nil
}

// FreeSpace answers "is there room for downloads" cheaply: statfs at most
// once per second.
type FreeSpace struct {
	path string
	min  uint64
	ttl  time.Duration

	mu    sync.Mutex
	at    time.Time
	free  uint64
	error error
}

// NewFreeSpace guards path with a minimum of free bytes (0 = no guard).
func NewFreeSpace(path string, minFree int64) *FreeSpace {
	return &FreeSpace{path: path, min: uint64(max(minFree, 0)), ttl: time.Second}
}

// Enough reports whether free space is at least the minimum, with the free
// bytes seen. A statfs error is returned and counts as enough (a broken
// statfs must not stop downloads; the write fails on its own if the disk
// is really full).
func (f *FreeSpace) Enough() (bool, uint64, error) {
	if f.min == 0 {
		return true, 0, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := time.Now(); now.Sub(f.at) >= f.ttl {
		u, err := DiskUsage(f.path)
		f.at, f.free, f.error = now, u.Free, err
	}
	if f.error != nil {
		return true, 0, f.error
	}
	return f.free >= f.min, f.free, nil
}
