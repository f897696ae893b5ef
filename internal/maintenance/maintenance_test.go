package maintenance

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

func write(t *testing.T, p string, size int, age time.Duration) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-age)
	os.Chtimes(p, old, old)
}

func age(t *testing.T, p string, d time.Duration) {
	old := time.Now().Add(-d)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func TestCleanup(t *testing.T) {
	root := t.TempDir()
	day := 24 * time.Hour
	write(t, root+"/a/2026/01/01/c/old.bufr", 100, 40*day)
	write(t, root+"/a/2026/01/01/c/new.bufr", 10, day)
	write(t, root+"/b/2026/01/01/c/old.bufr", 50, 40*day)
	write(t, root+"/b/2026/01/01/c/.tmp-123", 7, 2*time.Hour)
	write(t, root+"/b/2026/01/01/c/.tmp-456", 7, time.Minute) // in progress
	write(t, root+"/d/2026/01/01/c/old.bufr", 30, 40*day)
	os.MkdirAll(root+"/fresh/2026/12/04", 0o755) // just created by a download
	for _, d := range []string{"/d/2026/01/01/c", "/d/2026/01/01", "/d/2026/01", "/d/2026", "/d"} {
		age(t, root+d, 2*day)
	}
	// A hard link in a second target keeps the data.
	os.MkdirAll(root+"/e/x", 0o755)
	os.Link(root+"/a/2026/01/01/c/old.bufr", root+"/e/x/old.bufr")

	r := Cleanup(root, 30*day, time.Now())
	if r.Files != 4 || r.Temps != 1 || r.Errors != 0 {
		t.Fatalf("%+v", r)
	}
	if r.Freed != 100+50+30 {
		t.Errorf("freed %d", r.Freed)
	}
	for _, p := range []string{"/a/2026/01/01/c/new.bufr", "/b/2026/01/01/c/.tmp-456", "/fresh/2026/12/04"} {
		if !exists(root + p) {
			t.Errorf("%s removed", p)
		}
	}
	for _, p := range []string{"/a/2026/01/01/c/old.bufr", "/b/2026/01/01/c/.tmp-123", "/d"} {
		if exists(root + p) {
			t.Errorf("%s kept", p)
		}
	}
	if !exists(root) {
		t.Fatal("root removed")
	}
	// Retention 0 keeps data files, still removes stale temporaries.
	write(t, root+"/k/.tmp-9", 1, 2*time.Hour)
	write(t, root+"/k/keep", 1, 400*day)
	if r := Cleanup(root, 0, time.Now()); r.Files != 0 || r.Temps != 1 {
		t.Errorf("retention 0: %+v", r)
	}
}

func TestDownloadsBytes(t *testing.T) {
	root := t.TempDir()
	write(t, root+"/a/f", 100, 0)
	write(t, root+"/a/.tmp-x", 1000, 0)
	os.MkdirAll(root+"/b", 0o755)
	os.Link(root+"/a/f", root+"/b/f")
	write(t, root+"/b/g", 5, 0)
	n, err := DownloadsBytes(root)
	if err != nil || n != 105 {
		t.Fatalf("%d %v", n, err)
	}
}

func TestFreeSpace(t *testing.T) {
	if ok, _, _ := NewFreeSpace(t.TempDir(), 0).Enough(); !ok {
		t.Error("no guard must allow")
	}
	if ok, _, _ := NewFreeSpace(t.TempDir(), 1<<62).Enough(); ok {
		t.Error("4 EiB free?")
	}
	if ok, free, err := NewFreeSpace(t.TempDir(), 1).Enough(); !ok || free == 0 || err != nil {
		t.Errorf("%v %d %v", ok, free, err)
	}
}

func TestJobsRunOncePerSlotAndWriteGauges(t *testing.T) {
	r := testsvc.StartRedis(t)
	rdb := r.Client(t)
	root := t.TempDir()
	write(t, root+"/a/f", 123, 0)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m1 := New(root, time.Hour, rdb, logger)
	m2 := New(root, time.Hour, rdb, logger)
	ctx := context.Background()
	for _, j := range jobs {
		if err := m1.run(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	gauge := func(name string) float64 {
		v, _ := rdb.HGet(ctx, metrics.Key(name), metrics.Labels(nil).Field()).Float64()
		return v
	}
	if gauge(metrics.DiskTotal) <= 0 || gauge(metrics.DiskFree) <= 0 {
		t.Fatal("disk gauges not written")
	}
	if gauge(metrics.DiskDownloads) != 123 {
		t.Fatalf("disk_downloads_bytes %v", gauge(metrics.DiskDownloads))
	}
	// A second worker in the same slot does nothing.
	rdb.HSet(ctx, metrics.Key(metrics.DiskDownloads), metrics.Labels(nil).Field(), "1")
	if err := m2.run(ctx, jobs[2]); err != nil {
		t.Fatal(err)
	}
	if gauge(metrics.DiskDownloads) != 1 {
		t.Fatal("recalibration ran twice in one slot")
	}
}
