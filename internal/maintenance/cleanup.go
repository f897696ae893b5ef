package maintenance

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wmo-im/wis2downloader/internal/download/store"
)

// StaleTemp is the age after which a temporary file is a crash leftover.
const StaleTemp = time.Hour

// EmptyDirAge is how long an empty directory is left alone: a download may
// have just created it. (The store also recreates a directory that vanishes
// under it, so the two never race into a failed download, W-16.)
const EmptyDirAge = time.Hour

// CleanupResult counts what a cleanup pass did.
type CleanupResult struct {
	Files      int   // expired files removed
	Freed      int64 // bytes freed (files whose last link was removed)
	Temps      int   // stale temporary files removed
	Dirs       int   // empty directories removed
	Errors     int
	FirstError error
}

func (r *CleanupResult) fail(err error) {
	r.Errors++
	if r.FirstError == nil {
		r.FirstError = err
	}
}

// Cleanup walks root: it removes regular files not modified for retention
// (0 = keep files forever), temporary files older than StaleTemp, and
// directories that are empty and were not modified for EmptyDirAge. The root
// itself is kept.
func Cleanup(root string, retention time.Duration, now time.Time) CleanupResult {
	var r CleanupResult
	cleanDir(root, true, retention, now, &r)
	return r
}

// cleanDir returns whether dir is now empty.
func cleanDir(dir string, isRoot bool, retention time.Duration, now time.Time, r *CleanupResult) bool {
	fi, err := os.Lstat(dir)
	if err != nil {
		r.fail(err)
		return false
	}
	dirMtime := fi.ModTime()
	entries, err := os.ReadDir(dir)
	if err != nil {
		r.fail(err)
		return false
	}
	left := len(entries)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			if cleanDir(p, false, retention, now, r) {
				left--
			}
		case e.Type().IsRegular():
			info, err := e.Info()
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					r.fail(err)
				}
				continue
			}
			age := now.Sub(info.ModTime())
			temp := strings.HasPrefix(e.Name(), store.TempPrefix)
			if temp && age <= StaleTemp || !temp && (retention <= 0 || age <= retention) {
				continue
			}
			if err := os.Remove(p); err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					r.fail(err)
				}
				continue
			}
			left--
			if temp {
				r.Temps++
				continue
			}
			r.Files++
			if st, ok := info.Sys().(*syscall.Stat_t); !ok || st.Nlink <= 1 {
				r.Freed += info.Size()
			}
		}
	}
	if isRoot || left > 0 || now.Sub(dirMtime) <= EmptyDirAge {
		return false
	}
	// rmdir fails (ENOTEMPTY) if a download wrote into it meanwhile.
	if err := syscall.Rmdir(dir); err != nil {
		return false
	}
	r.Dirs++
	return true
}

// DownloadsBytes sums the sizes of stored files under root (temporary files
// excluded, hard links counted once).
func DownloadsBytes(root string) (int64, error) {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]struct{}{}
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), store.TempPrefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // vanished
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			k := inode{uint64(st.Dev), st.Ino}
			if _, dup := seen[k]; dup {
				return nil
			}
			seen[k] = struct{}{}
		}
		total += info.Size()
		return nil
	})
	return total, err
}
