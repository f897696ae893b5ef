package config

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"
)

// loader reads typed values and collects every problem, so that one start
// reports all missing or malformed variables at once.
type loader struct {
	src     *Source
	missing []string
	errs    []error
	seen    []Setting
}

// Setting is one resolved variable, kept for printing the configuration.
type Setting struct {
	Name   string
	Value  string
	Secret bool
}

func newLoader(src *Source) *loader { return &loader{src: src} }

func (l *loader) raw(v Var) string {
	val, _, err := l.src.resolve(v)
	if err != nil {
		l.errs = append(l.errs, err)
	}
	if val == "" {
		if v.Required {
			l.missing = append(l.missing, v.Name)
		}
		val = v.Default
	}
	l.seen = append(l.seen, Setting{Name: v.Name, Value: val, Secret: v.Secret})
	return val
}

func (l *loader) str(v Var) string { return strings.TrimSpace(l.raw(v)) }

func (l *loader) int(v Var) int {
	s := l.str(v)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %q is not a whole number", v.Name, s))
	}
	return n
}

func (l *loader) int64(v Var) int64 {
	s := l.str(v)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %q is not a whole number", v.Name, s))
	}
	return n
}

func (l *loader) port(v Var) int {
	n := l.int(v)
	if n < 0 || n > 65535 {
		l.errs = append(l.errs, fmt.Errorf("%s: %d is not a TCP port (0-65535)", v.Name, n))
	}
	return n
}

func (l *loader) bool(v Var) bool {
	s := strings.ToLower(l.str(v))
	switch s {
	case "1", "true", "yes", "on":
		return true
	case "", "0", "false", "no", "off":
		return false
	}
	l.errs = append(l.errs, fmt.Errorf("%s: %q is not a boolean (true/false)", v.Name, s))
	return false
}

// seconds reads a duration given either as whole seconds ("300") or as a Go
// duration ("5m", "1.5s").
func (l *loader) seconds(v Var) time.Duration {
	s := l.str(v)
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second))
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %q is not a duration (seconds or e.g. 30s, 5m)", v.Name, s))
	}
	return d
}

func (l *loader) oneOf(v Var, allowed ...string) string {
	s := strings.ToLower(l.str(v))
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	l.errs = append(l.errs, fmt.Errorf("%s: %q is not one of %s", v.Name, s, strings.Join(allowed, ", ")))
	return s
}

func (l *loader) list(v Var) []string {
	var out []string
	for _, p := range strings.Split(l.str(v), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// err returns every problem found, missing required variables first.
func (l *loader) err() error {
	var all []error
	if len(l.missing) > 0 {
		sort.Strings(l.missing)
		all = append(all, fmt.Errorf("missing required variables: %s", strings.Join(l.missing, ", ")))
	}
	all = append(all, l.errs...)
	return errors.Join(all...)
}

// Settings is the list of resolved variables of one service.
type Settings []Setting

// LogValue prints the settings with every secret redacted.
func (s Settings) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(s))
	for _, st := range s {
		attrs = append(attrs, slog.String(st.Name, st.Redacted()))
	}
	return slog.GroupValue(attrs...)
}

// Redacted returns the value, or a placeholder for a set secret.
func (st Setting) Redacted() string {
	if st.Secret {
		if st.Value == "" {
			return ""
		}
		return "[redacted]"
	}
	return st.Value
}
