package e2e

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// arrivals records, through inotify, when each file name first appears
// below a directory tree (created, hard-linked or renamed into place), so
// the benchmark measures publish-to-file latency without polling the disk.
type arrivals struct {
	f    *os.File
	fd   int
	mu   sync.Mutex
	seen map[string]time.Time // base name → first appearance
	wds  map[int32]string     // watch descriptor → directory
	done chan struct{}
}

const watchMask = syscall.IN_CREATE | syscall.IN_MOVED_TO | syscall.IN_ONLYDIR

func watchArrivals(t testing.TB, root string) *arrivals {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	a := &arrivals{
		f: os.NewFile(uintptr(fd), "inotify"), fd: fd,
		seen: map[string]time.Time{}, wds: map[int32]string{}, done: make(chan struct{}),
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	a.add(root)
	go a.loop() // owned by a; stopped by Close
	t.Cleanup(a.Close)
	return a
}

// add watches dir and records what is already inside it (entries that
// appeared before the watch existed).
func (a *arrivals) add(dir string) {
	wd, err := syscall.InotifyAddWatch(a.fd, dir, watchMask)
	if err != nil {
		return
	}
	a.mu.Lock()
	a.wds[int32(wd)] = dir
	a.mu.Unlock()
	entries, _ := os.ReadDir(dir)
	now := time.Now()
	for _, e := range entries {
		if e.IsDir() {
			a.add(filepath.Join(dir, e.Name()))
		} else {
			a.record(e.Name(), now)
		}
	}
}

func (a *arrivals) record(name string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.seen[name]; !ok {
		a.seen[name] = at
	}
}

func (a *arrivals) loop() {
	defer close(a.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := a.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			continue
		}
		now := time.Now()
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
			name := string(bytes.TrimRight(nameBytes, "\x00"))
			off += syscall.SizeofInotifyEvent + int(ev.Len)
			a.mu.Lock()
			dir := a.wds[ev.Wd]
			a.mu.Unlock()
			if name == "" || dir == "" {
				continue
			}
			if ev.Mask&syscall.IN_ISDIR != 0 {
				a.add(filepath.Join(dir, name))
				continue
			}
			a.record(name, now)
		}
	}
}

// At returns when name first appeared.
func (a *arrivals) At(name string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	at, ok := a.seen[name]
	return at, ok
}

// Count is how many of names have appeared.
func (a *arrivals) Count(names []string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, name := range names {
		if _, ok := a.seen[name]; ok {
			n++
		}
	}
	return n
}

// Close stops watching.
func (a *arrivals) Close() {
	if a.f != nil {
		_ = a.f.Close()
		<-a.done
		a.f = nil
	}
}
