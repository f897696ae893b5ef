// Package store places downloaded files under the data root: it expands the
// path layout (DOWNLOAD_PATH_LAYOUT), sanitises every name so nothing escapes
// the root, writes temporary files next to their final place and commits
// them atomically (hard link or rename, copy across file systems).
package store

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultLayout keeps the original's date folders below the subscription
// target and adds the centre id, so two centres publishing the same file name
// on the same day never collide (W-5).
const DefaultLayout = "{target}/{yyyy}/{mm}/{dd}/{centre_id}/{filename}"

// Placeholders a layout may use.
var placeholders = []string{"target", "yyyy", "mm", "dd", "hh", "centre_id", "data_id", "filename"}

// maxSegment is the longest file or directory name written (ext4/xfs limit).
const maxSegment = 255

// Layout is a parsed path layout.
type Layout struct {
	parts []part
}

type part struct {
	lit string // literal text when name == ""
	key string
}

// PathInput is what a stored file's path is made of.
type PathInput struct {
	Target   string    // subscription target (relative, may have several segments; "" = none)
	Time     time.Time // date folders (UTC); zero = now
	CentreID string    // "" → "unknown"
	DataID   string
	Filename string // raw (already percent-decoded) file name; "" → from DataID
}

// ParseLayout checks a layout: only known placeholders, and it must end in
// {filename} or {data_id} so every notification gets its own file.
func ParseLayout(s string) (Layout, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultLayout
	}
	var l Layout
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			l.parts = append(l.parts, part{lit: rest})
			break
		}
		if i > 0 {
			l.parts = append(l.parts, part{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return Layout{}, fmt.Errorf("path layout %q: unclosed {", s)
		}
		key := rest[i+1 : i+j]
		known := false
		for _, p := range placeholders {
			known = known || p == key
		}
		if !known {
			return Layout{}, fmt.Errorf("path layout %q: unknown placeholder {%s} (known: %s)", s, key, strings.Join(placeholders, ", "))
		}
		l.parts = append(l.parts, part{key: key})
		rest = rest[i+j+1:]
	}
	last := l.parts[len(l.parts)-1]
	if last.key != "filename" && last.key != "data_id" {
		return Layout{}, fmt.Errorf("path layout %q must end with {filename} or {data_id}", s)
	}
	if filepath.IsAbs(s) {
		return Layout{}, fmt.Errorf("path layout %q must be relative to the data root", s)
	}
	return l, nil
}

// Expand returns the file's path relative to the data root. The result is
// always a local path (filepath.IsLocal): every substituted value is
// sanitised, "." and ".." segments are dropped and empty segments collapse.
func (l Layout) Expand(in PathInput) (string, error) {
	t := in.Time
	if t.IsZero() {
		t = time.Now()
	}
	t = t.UTC()
	var b strings.Builder
	for _, p := range l.parts {
		switch p.key {
		case "":
			b.WriteString(p.lit)
		case "target":
			b.WriteString(multiSegment(in.Target))
		case "yyyy":
			fmt.Fprintf(&b, "%04d", t.Year())
		case "mm":
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case "dd":
			fmt.Fprintf(&b, "%02d", t.Day())
		case "hh":
			fmt.Fprintf(&b, "%02d", t.Hour())
		case "centre_id":
			c := Segment(in.CentreID)
			if c == "" {
				c = "unknown"
			}
			b.WriteString(c)
		case "data_id":
			d := multiSegment(in.DataID)
			if d == "" {
				d = "data"
			}
			b.WriteString(d)
		case "filename":
			b.WriteString(FileName(in.Filename, in.DataID))
		}
	}
	var segs []string
	for _, s := range strings.Split(b.String(), "/") {
		// Literal text of the layout is cleaned like values are.
		if s = Segment(s); s != "" {
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 {
		return "", fmt.Errorf("path layout gives an empty path")
	}
	rel := strings.Join(segs, "/")
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("path %q is not below the data root", rel)
	}
	return rel, nil
}

// FileName returns a safe file name: the sanitised name, else the last
// segment of dataID, else "data".
func FileName(name, dataID string) string {
	if s := Segment(name); s != "" {
		return s
	}
	d := strings.TrimRight(strings.ReplaceAll(dataID, "\\", "/"), "/")
	if i := strings.LastIndexByte(d, '/'); i >= 0 {
		d = d[i+1:]
	}
	if s := Segment(d); s != "" {
		return s
	}
	return "data"
}

// multiSegment cleans a value that may hold several path segments.
func multiSegment(v string) string {
	var segs []string
	for _, s := range strings.Split(strings.ReplaceAll(v, "\\", "/"), "/") {
		if s = Segment(s); s != "" {
			segs = append(segs, s)
		}
	}
	return strings.Join(segs, "/")
}

// Segment sanitises one file or directory name: path separators, control
// characters and invalid UTF-8 become "_", surrounding spaces are trimmed, a
// leading dot becomes "_" (no hidden files, no clash with ".tmp-" files),
// "." and ".." become "" and the name is cut to 255 bytes.
func Segment(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "." || s == ".." {
		return ""
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError, r == '/', r == '\\', r == 0, unicode.IsControl(r):
			b.WriteByte('_')
		case i == 0 && r == '.':
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	for len(out) > maxSegment {
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size]
	}
	return out
}
