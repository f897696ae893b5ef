// Package telemetry builds the logger and the Prometheus registry that every
// service passes to its parts.
package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// LevelName returns the admin guide's name of a level (WARNING, not WARN).
func LevelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// ParseLevel maps LOG_LEVEL (DEBUG, INFO, WARNING/WARN, ERROR) to a slog level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG":
		return slog.LevelDebug, nil
	case "INFO", "":
		return slog.LevelInfo, nil
	case "WARNING", "WARN":
		return slog.LevelWarn, nil
	case "ERROR":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("unknown log level %q", s)
}

// NewLogger builds the service logger. format "json" gives one JSON object per
// line (with "service"); anything else the one-line text format
// "2026-01-28T10:15:30.123Z subscriber INFO message key=value".
func NewLogger(w io.Writer, service, level, format string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(format, "json") {
		h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey:
				return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(TimeFormat))
			case slog.LevelKey:
				return slog.String(slog.LevelKey, LevelName(a.Value.Any().(slog.Level)))
			}
			return a
		}})
		return slog.New(h).With("service", service), nil
	}
	return slog.New(&lineHandler{out: &lockedWriter{w: w}, service: service, level: lvl}), nil
}

// TimeFormat is the UTC timestamp of every log line, with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) write(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.w.Write(b)
	return err
}

// lineHandler writes the admin guide's one-line format.
type lineHandler struct {
	out     *lockedWriter
	service string
	level   slog.Leveler
	prefix  string // group prefix for attributes added later
	attrs   []byte // pre-formatted attributes from With
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	buf := make([]byte, 0, 256)
	buf = t.UTC().AppendFormat(buf, TimeFormat)
	buf = append(buf, ' ')
	buf = append(buf, h.service...)
	buf = append(buf, ' ')
	buf = append(buf, LevelName(r.Level)...)
	buf = append(buf, ' ')
	buf = append(buf, r.Message...)
	buf = append(buf, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		buf = appendAttr(buf, h.prefix, a)
		return true
	})
	buf = append(buf, '\n')
	return h.out.write(buf)
}

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append([]byte(nil), h.attrs...)
	for _, a := range as {
		n.attrs = appendAttr(n.attrs, h.prefix, a)
	}
	return &n
}

func (h *lineHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.prefix = h.prefix + name + "."
	return &n
}

func appendAttr(buf []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return buf
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p = prefix + a.Key + "."
		}
		for _, g := range a.Value.Group() {
			buf = appendAttr(buf, p, g)
		}
		return buf
	}
	buf = append(buf, ' ')
	buf = append(buf, prefix...)
	buf = append(buf, a.Key...)
	buf = append(buf, '=')
	var s string
	switch a.Value.Kind() {
	case slog.KindTime:
		s = a.Value.Time().UTC().Format(TimeFormat)
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			s = err.Error()
		} else {
			s = a.Value.String()
		}
	default:
		s = a.Value.String()
	}
	if needsQuote(s) {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r == '"' || r == '=' || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}
