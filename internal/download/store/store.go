package store

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// TempPrefix starts every temporary file; maintenance removes stray ones.
const TempPrefix = ".tmp-"

// ErrOutsideRoot is returned when a path (after resolving symbolic links)
// would leave the data root.
var ErrOutsideRoot = errors.New("path escapes the data root")

// Store writes files below one data root.
type Store struct {
	root     string // absolute, cleaned
	realRoot string // root with symbolic links resolved
	layout   Layout
	dirs     sync.Map // absolute directory → struct{}: created and checked
}

// New opens the data root (creating it) with a path layout.
func New(root, layout string) (*Store, error) {
	l, err := ParseLayout(layout)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("data root %q: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("data root: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("data root: %w", err)
	}
	return &Store{root: abs, realRoot: real, layout: l}, nil
}

// Root is the absolute data root.
func (s *Store) Root() string { return s.root }

// Path expands the layout for one file: the path relative to the root.
func (s *Store) Path(in PathInput) (string, error) { return s.layout.Expand(in) }

// Abs returns the absolute path of rel after checking that it is local.
func (s *Store) Abs(rel string) (string, error) {
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%q: %w", rel, ErrOutsideRoot)
	}
	return filepath.Join(s.root, rel), nil
}

// ensureDir creates dir (absolute, below the root) and checks that, with
// symbolic links resolved, it is still below the root. Checked directories
// are remembered; forget drops one that vanished.
func (s *Store) ensureDir(dir string) error {
	if _, ok := s.dirs.Load(dir); ok {
		return nil
	}
	// Check the deepest existing ancestor first, so MkdirAll never creates
	// directories through a symbolic link that leads out of the root.
	existing := dir
	for {
		if _, err := os.Lstat(existing); err == nil || existing == s.root {
			break
		}
		existing = filepath.Dir(existing)
	}
	if err := s.within(existing); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	if err := s.within(dir); err != nil {
		return err
	}
	s.dirs.Store(dir, struct{}{})
	return nil
}

// within checks that dir, with symbolic links resolved, is below the root.
func (s *Store) within(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("resolve directory: %w", err)
	}
	if r, err := filepath.Rel(s.realRoot, real); err != nil || r != "." && !filepath.IsLocal(r) {
		return fmt.Errorf("%s: %w", dir, ErrOutsideRoot)
	}
	return nil
}

// retryMissingDir runs op in dir, recreating the directory when op fails
// because it vanished (retention cleanup may remove an empty directory at
// any moment, W-16).
func (s *Store) retryMissingDir(dir string, op func() error) error {
	var err error
	for range 3 {
		if err = s.ensureDir(dir); err != nil {
			return err
		}
		if err = op(); !errors.Is(err, os.ErrNotExist) {
			return err
		}
		s.dirs.Delete(dir)
	}
	return err
}

// TempFile creates a temporary file in the directory of rel (the final
// place of the first file stored), so committing it is a link or rename on
// the same file system. The file is opened for writing only, with plain
// system calls (os.CreateTemp's poller registration costs four more per
// file), with mode 0600 like os.CreateTemp.
func (s *Store) TempFile(rel string) (*os.File, error) {
	abs, err := s.Abs(rel)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(abs)
	var f *os.File
	err = s.retryMissingDir(dir, func() error {
		var err error
		f, err = createTemp(dir)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("temporary file: %w", err)
	}
	return f, nil
}

// createTemp creates a new file TempPrefix+<random> in dir.
func createTemp(dir string) (*os.File, error) {
	for range 100 {
		name := dir + string(filepath.Separator) + TempPrefix + strconv.FormatUint(rand.Uint64(), 36)
		fd, err := openNew(name)
		if err == syscall.EEXIST {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
	return nil, &os.PathError{Op: "open", Path: dir, Err: os.ErrExist}
}

func openNew(name string) (int, error) {
	for {
		fd, err := syscall.Open(name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o600)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// rename is os.Rename without its extra Lstat of newpath (rename(2) itself
// refuses to replace a directory with a file).
func rename(oldpath, newpath string) error {
	for {
		err := syscall.Rename(oldpath, newpath)
		switch err {
		case nil:
			return nil
		case syscall.EINTR:
			continue
		}
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
}

// Commit makes the complete, verified temporary file tmp appear under each
// rel path. Each name appears atomically and complete: the first (in tmp's
// directory) by renaming tmp over it, the others by hard links (a link to a
// fresh temporary name renamed over an existing file, so an update replaces
// it; readers see the old or the new file, never a mix). Across file
// systems the data is copied to a temporary file first. tmp is gone
// afterwards in every case. It returns the paths that were stored.
func (s *Store) Commit(tmp string, rels []string) ([]string, error) {
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(tmp)
		}
	}()
	if len(rels) == 0 {
		return nil, nil
	}
	stored := make([]string, 0, len(rels))
	for _, rel := range rels[1:] {
		if err := s.place(tmp, rel); err != nil {
			return stored, fmt.Errorf("store %s: %w", rel, err)
		}
		stored = append(stored, rel)
	}
	abs, err := s.Abs(rels[0])
	if err != nil {
		return stored, err
	}
	err = s.retryMissingDir(filepath.Dir(abs), func() error { return rename(tmp, abs) })
	if errors.Is(err, syscall.EXDEV) {
		err = s.place(tmp, rels[0])
	} else if err == nil {
		renamed = true
	}
	if err != nil {
		return stored, fmt.Errorf("store %s: %w", rels[0], err)
	}
	return append([]string{rels[0]}, stored...), nil
}

func (s *Store) place(tmp, rel string) error {
	abs, err := s.Abs(rel)
	if err != nil {
		return err
	}
	dir := filepath.Dir(abs)
	err = s.retryMissingDir(dir, func() error { return os.Link(tmp, abs) })
	if err == nil {
		return nil
	}
	if !errors.Is(err, os.ErrExist) && !errors.Is(err, syscall.EXDEV) {
		return err
	}
	// Replace atomically: a new name in the same directory, then rename.
	side := filepath.Join(dir, TempPrefix+"r-"+filepath.Base(tmp)[len(TempPrefix):])
	if linkErr := os.Link(tmp, side); linkErr != nil {
		if !errors.Is(linkErr, syscall.EXDEV) {
			return linkErr
		}
		if err := copyFile(tmp, side); err != nil {
			return err
		}
	}
	if err := rename(side, abs); err != nil {
		os.Remove(side)
		return err
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(dst)
		return err
	}
	return nil
}

// Replaced returns the bytes that committing over rels frees: the size of
// each existing regular file whose every hard link is among rels (a file
// still linked elsewhere keeps its data).
func (s *Store) Replaced(rels []string) int64 {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]uint64{}
	var freed int64
	for _, rel := range rels {
		abs, err := s.Abs(rel)
		if err != nil {
			continue
		}
		fi, err := os.Lstat(abs)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		k := inode{uint64(st.Dev), uint64(st.Ino)}
		seen[k]++
		if seen[k] == uint64(st.Nlink) {
			freed += fi.Size()
		}
	}
	return freed
}

// Remove deletes the stored file rel (a deletion notification). It returns
// the bytes freed (0 when other hard links keep the data) and whether a file
// was removed; a missing file is not an error.
func (s *Store) Remove(rel string) (freed int64, removed bool, err error) {
	abs, err := s.Abs(rel)
	if err != nil {
		return 0, false, err
	}
	real, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, false, nil
		}
		return 0, false, err
	}
	if r, err := filepath.Rel(s.realRoot, real); err != nil || strings.HasPrefix(r, "..") {
		return 0, false, ErrOutsideRoot
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, false, nil
		}
		return 0, false, err
	}
	if !fi.Mode().IsRegular() {
		return 0, false, fmt.Errorf("%s is not a regular file", rel)
	}
	if err := os.Remove(abs); err != nil {
		return 0, false, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
		return 0, true, nil
	}
	return fi.Size(), true, nil
}
